//! The fault suite (issue 15, "Faults on the host"): the collector on a sick host. Each case ends with a bundle
//! that `coroner-report verify` accepts against the collector's key, with what happened recorded in its
//! manifest, or with no file at the final path. Every test needs root (mounts, cgroups, device nodes, the real
//! `/proc`), is bounded in time, and cleans up by PID and by the paths it made.
//!
//! `coroner-report` is run as a binary: `$CORONER_REPORT`, else the one beside this test's target directory
//! (`make test` builds the release binaries first; `cargo build -p coroner-report` gives the debug one).

mod live_support;

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use coroner_schemas::manifest::{Change, Entry, Manifest, Status};
use live_support::{finish, Run};

const BIN: &str = env!("CARGO_BIN_EXE_coroner-collect");

macro_rules! need_root {
    () => {
        assert!(rustix::process::geteuid().is_root(), "needs root: run with --include-ignored as root");
    };
}

/// The report binary: `$CORONER_REPORT`, else target/{debug,release}/coroner-report next to this test.
fn report_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("CORONER_REPORT") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test exe");
    // target/<profile>/deps/faults_live-… → target/
    let target = exe.parent().and_then(Path::parent).and_then(Path::parent).expect("target dir");
    let found = ["debug", "release"].iter().map(|p| target.join(p).join("coroner-report")).find(|p| p.exists());
    found.unwrap_or_else(|| {
        panic!("no coroner-report under {}: build it (cargo build -p coroner-report) or set CORONER_REPORT", target.display())
    })
}

/// A work area: a signing key, a host tree (`root`) and an output directory.
struct Area {
    dir: tempfile::TempDir,
}

impl Area {
    fn new() -> Area {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = Area { dir };
        fs::create_dir_all(a.root()).expect("root");
        fs::create_dir_all(a.out()).expect("out");
        let r = finish(
            Command::new(BIN).arg("keygen").arg("-o").arg(a.key()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("keygen"),
            Duration::from_secs(30),
            "keygen",
        );
        assert_eq!(r.code, Some(0), "keygen: {}", r.stderr);
        a.write("/etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n");
        a.write("/etc/group", b"root:x:0:\n");
        a.write("/etc/hostname", b"faulthost\n");
        a.write("/var/log/syslog", b"Nov 27 20:03:37 faulthost kernel: Out of memory: Killed process 4242 (victim)\n");
        a
    }
    fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }
    fn out(&self) -> PathBuf {
        self.dir.path().join("out")
    }
    fn key(&self) -> PathBuf {
        self.dir.path().join("key")
    }
    fn host(&self, host: &str) -> PathBuf {
        self.root().join(host.trim_start_matches('/'))
    }
    fn write(&self, host: &str, data: &[u8]) -> PathBuf {
        let p = self.host(host);
        fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        fs::write(&p, data).expect("write");
        p
    }
    /// The collector over this tree into `out` (or the live host when `live`), with the test's key.
    fn spawn(&self, out: &Path, live: bool, extra: &[&str]) -> Child {
        let mut c = Command::new(BIN);
        if !live {
            c.arg("--root").arg(self.root());
        }
        c.arg("-o").arg(out).arg("--key").arg(self.key()).arg("--quiet").args(extra);
        c.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        c.spawn().expect("spawn collector")
    }
    fn collect(&self, extra: &[&str], limit: Duration) -> Run {
        finish(self.spawn(&self.out(), false, extra), limit, "coroner-collect")
    }
}

/// The bundle a run printed; asserts the run wrote one (exit 0 or 1).
fn bundle_of(r: &Run) -> PathBuf {
    assert!(matches!(r.code, Some(0 | 1)), "collector exit {:?} signal {:?}: {}", r.code, r.signal, r.stderr);
    PathBuf::from(r.stdout.lines().last().unwrap_or_else(|| panic!("no bundle path printed: {}", r.stderr)))
}

/// `coroner-report verify --pubkey KEY.pub BUNDLE` must accept it; returns the manifest.
fn verified(a: &Area, bundle: &Path) -> Manifest {
    let mut c = Command::new(report_bin());
    c.arg("verify").arg("--pubkey").arg(a.key().with_extension("pub")).arg(bundle);
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let r = finish(c.spawn().expect("coroner-report"), Duration::from_secs(120), "coroner-report verify");
    assert_eq!(r.code, Some(0), "verify refused {}: {}{}", bundle.display(), r.stdout, r.stderr);
    manifest(bundle)
}

fn manifest(bundle: &Path) -> Manifest {
    let f = fs::File::open(bundle).expect("open bundle");
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(f));
    for e in ar.entries().expect("entries") {
        let mut e = e.expect("entry");
        if e.path().expect("path").to_str() == Some("manifest.json") {
            let mut b = Vec::new();
            e.read_to_end(&mut b).expect("read manifest");
            return serde_json::from_slice(&b).expect("manifest");
        }
    }
    panic!("no manifest in {}", bundle.display());
}

/// One member's bytes.
fn member(bundle: &Path, path: &str) -> Option<Vec<u8>> {
    let f = fs::File::open(bundle).expect("open bundle");
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(f));
    for e in ar.entries().expect("entries") {
        let mut e = e.expect("entry");
        if e.path().expect("path").to_str() == Some(path) {
            let mut b = Vec::new();
            e.read_to_end(&mut b).expect("read member");
            return Some(b);
        }
    }
    None
}

fn entry<'m>(m: &'m Manifest, path: &str) -> &'m Entry {
    m.entries.iter().find(|e| e.path == path).unwrap_or_else(|| {
        let all: Vec<&str> = m.entries.iter().map(|e| e.path.as_str()).collect();
        panic!("no entry {path}; entries: {all:?}")
    })
}

/// Names in a directory.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir).expect("ls").flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

/// Nothing at a final bundle name (`coroner-*.tar.gz`) in `dir`.
/// Log-like text of about `bytes`, each line different (so gzip cannot make it vanish).
fn log_text(bytes: usize, tag: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(bytes + 128);
    let mut i = 0u64;
    while v.len() < bytes {
        let line = format!("Nov 27 20:{:02}:{:02} faulthost {tag}[{}]: request {:016x} status={}\n", i % 60, (i / 60) % 60, 100 + i % 900, i.wrapping_mul(0x9e37_79b9_7f4a_7c15), 200 + i % 300);
        v.extend_from_slice(line.as_bytes());
        i += 1;
    }
    v
}

/// Waits until a `.coroner-*.tmp` in `dir` holds more than `bytes`; panics if the child ends first.
fn wait_for_temp(dir: &Path, bytes: u64, child: &mut Child) -> PathBuf {
    let start = Instant::now();
    loop {
        let found = fs::read_dir(dir).expect("ls").flatten().find(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.starts_with(".coroner-") && n.ends_with(".tmp") && e.metadata().is_ok_and(|m| m.len() > bytes)
        });
        if let Some(f) = found {
            return f.path();
        }
        assert!(child.try_wait().expect("wait").is_none(), "the collector finished before the fault could be made");
        assert!(start.elapsed() < Duration::from_secs(60), "no temp file grew past {bytes} bytes");
        std::thread::sleep(Duration::from_millis(5));
    }
}

// --- Files vanishing between listing and opening -------------------------------------------------------------

/// Through the library, deterministically: after each item is written the next planned file is removed, so
/// every one of them vanishes between the plan's listing and the writer's open.
#[test]
#[ignore = "needs root"]
fn fault_files_removed_after_listing_are_recorded_vanished() {
    need_root!();
    use coroner_collect::acquire::{self, Ctx, Item};
    use coroner_collect::bundle::{self, sign::Signer, Request};
    use coroner_schemas::manifest::{CollectOptions, CorePolicy};
    let a = Area::new();
    for i in 0..40 {
        a.write(&format!("/srv/app/app-{i:03}.log"), format!("line {i}\n").as_bytes());
    }
    let opts = CollectOptions {
        root: Some(a.root().display().to_string()),
        cores: CorePolicy::Head,
        core_cap_bytes: 1 << 20,
        max_file_bytes: 1 << 20,
        max_total_bytes: 1 << 30,
        journal_window_seconds: 3600,
        command_timeout_ms: 5000,
        includes: vec!["/srv/app/*.log".into()],
        excludes: Vec::new(),
        gentle: false,
        redact: false,
    };
    let ctx = Ctx::new(a.root(), false, opts, Default::default());
    let items = acquire::plan(&ctx);
    let planned: Vec<String> = items
        .iter()
        .filter_map(|i| match i {
            Item::File(f) if f.path.starts_with("/srv/app/") => Some(f.path.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(planned.len(), 40, "the plan lists them all");
    // Keep every other one, remove the rest just before the writer reaches them.
    let root = a.root();
    let mut progress = |_: bundle::writer::Counts, _: usize, src: &str| {
        if let Some(i) = planned.iter().position(|p| p == src) {
            if let Some(next) = planned.get(i + 1).filter(|_| i % 2 == 0) {
                fs::remove_file(root.join(next.trim_start_matches('/'))).expect("remove");
            }
        }
    };
    let signer = Signer::load(&a.key(), || None).expect("key");
    let req = Request {
        ctx: &ctx,
        out_dir: a.out(),
        started: coroner_schemas::Utc(time::OffsetDateTime::now_utc()),
        argv: vec!["faults_live".into()],
        signer: &signer,
        host: acquire::host::host_facts(&ctx),
        clock: None,
        problems: Vec::new(),
        uid: 0,
        euid: 0,
        encrypt_to: &[],
    };
    // A first item that is one of ours triggers nothing; remove the very first one now for symmetry.
    let w = bundle::write_bundle(req, &items, &mut progress).expect("bundle written");
    let m = verified(&a, &w.path);
    for (i, p) in planned.iter().enumerate() {
        let e = entry(&m, &format!("fs{p}"));
        if i % 2 == 1 {
            assert_eq!(e.status, Status::Vanished, "{p}");
            assert!(e.sha256.is_none());
        } else {
            assert_eq!(e.status, Status::Ok, "{p}");
            assert_eq!(member(&w.path, &e.path).as_deref(), Some(format!("line {i}\n").as_bytes()));
        }
    }
}

/// For real, with the binary: a thread removes and recreates hundreds of files in a loop while the collector
/// lists and reads them. Each is either taken (and its bytes are one of the versions written) or recorded as
/// vanished or not found; never an error exit or a bad archive.
#[test]
#[ignore = "needs root"]
fn fault_files_churned_during_collection_are_taken_or_recorded() {
    need_root!();
    let a = Area::new();
    let n = 600;
    let content = |i: usize| format!("Nov 27 20:00:00 faulthost app[{i}]: {}\n", "x".repeat(2000)).into_bytes();
    for i in 0..n {
        a.write(&format!("/srv/app/app-{i:04}.log"), &content(i));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let removed = Arc::new(AtomicU64::new(0));
    let churn = {
        let (stop, removed, dir) = (Arc::clone(&stop), Arc::clone(&removed), a.host("/srv/app"));
        std::thread::spawn(move || {
            let mut k = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let i = (k * 7) % n;
                let p = dir.join(format!("app-{i:04}.log"));
                if fs::remove_file(&p).is_ok() {
                    removed.fetch_add(1, Ordering::Relaxed);
                }
                if k % 3 != 0 {
                    let _ = fs::write(&p, content(i));
                }
                k += 1;
            }
        })
    };
    let r = a.collect(&["--include", "/srv/app/*.log"], Duration::from_secs(60));
    stop.store(true, Ordering::Relaxed);
    churn.join().expect("churn thread");
    assert!(removed.load(Ordering::Relaxed) > 0);
    let bundle = bundle_of(&r);
    let m = verified(&a, &bundle);
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for e in m.entries.iter().filter(|e| e.path.starts_with("fs/srv/app/")) {
        let kind = match &e.status {
            Status::Ok => {
                let i: usize = e.path["fs/srv/app/app-".len()..][..4].parse().expect("index");
                let got = member(&bundle, &e.path).expect("member");
                // Opened between the churn's create and its write, a file is empty at open and at read: stored
                // as the empty file it was then, with its stat size 0 saying so. Any other bytes are a defect.
                if got.is_empty() {
                    assert_eq!(e.stat.as_ref().map(|s| s.size), Some(0), "{}: empty but stat'ed larger", e.path);
                    "empty"
                } else {
                    assert_eq!(got, content(i), "{}: bytes are the file's", e.path);
                    assert_eq!(e.stat.as_ref().map(|s| s.size), Some(got.len() as u64), "{}: stat size", e.path);
                    "ok"
                }
            }
            // Stat'ed at size 0 between the churn's create and its write, then written before (or while) it
            // was read: what the read found is stored, a prefix of the file, and the growth is recorded.
            Status::ChangedWhileRead { change: Change::Grew, stat_size: 0, bytes_read } => {
                let i: usize = e.path["fs/srv/app/app-".len()..][..4].parse().expect("index");
                let got = member(&bundle, &e.path).expect("member");
                assert_eq!(e.stat.as_ref().map(|s| s.size), Some(0), "{}: grew from its stat size", e.path);
                assert_eq!(got.len() as u64, *bytes_read, "{}: stored what was read", e.path);
                assert!(content(i).starts_with(&got), "{}: bytes are the file's", e.path);
                "grew"
            }
            Status::Vanished | Status::NotFound => "gone",
            // Removed and recreated between the plan and the open: empty for a moment, stored as found.
            Status::ChangedWhileRead { change: Change::Shrank, .. } => "shrank",
            other => panic!("{}: {other:?}", e.path),
        };
        *seen.entry(kind.to_owned()).or_default() += 1;
    }
    eprintln!("churned files: {seen:?}, {} removals", removed.load(Ordering::Relaxed));
    assert!(seen.get("ok").copied().unwrap_or(0) > 0, "{seen:?}");
}

// --- Logs rotated, truncated or growing while read -------------------------------------------------------------

/// Which change to make to `/var/log/syslog` once the collector is reading it.
#[derive(Clone, Copy, Debug)]
enum Mid {
    Rotate,
    Truncate,
    Grow,
}

fn log_changed_mid_read(mid: Mid) -> (Manifest, Entry, Vec<u8>, u64) {
    let a = Area::new();
    let text = log_text(96 << 20, "app");
    let log = a.write("/var/log/syslog", &text);
    let mut child = a.spawn(&a.out(), false, &["--max-file", "1G"]);
    wait_for_temp(&a.out(), 256 << 10, &mut child);
    let stop = Arc::new(AtomicBool::new(false));
    let grower = match mid {
        Mid::Rotate => {
            fs::rename(&log, a.host("/var/log/syslog.1")).expect("rotate");
            fs::write(&log, b"Nov 27 20:59:59 faulthost app[1]: the new file\n").expect("recreate");
            None
        }
        Mid::Truncate => {
            fs::OpenOptions::new().write(true).open(&log).expect("open").set_len(0).expect("truncate");
            None
        }
        Mid::Grow => {
            let (stop, log) = (Arc::clone(&stop), log.clone());
            Some(std::thread::spawn(move || {
                let mut f = fs::OpenOptions::new().append(true).open(&log).expect("append");
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let _ = f.write_all(format!("Nov 27 21:00:00 faulthost app[2]: appended {n}\n").as_bytes());
                    n += 1;
                }
                n
            }))
        }
    };
    let r = finish(child, Duration::from_secs(90), "coroner-collect");
    stop.store(true, Ordering::Relaxed);
    if let Some(g) = grower {
        assert!(g.join().expect("grower") > 0);
    }
    let bundle = bundle_of(&r);
    // GNU tar reads it to the end too (a member longer than its header would make it skip or fail).
    let t = finish(
        Command::new("tar").arg("tzf").arg(&bundle).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("tar"),
        Duration::from_secs(60),
        "tar",
    );
    assert_eq!(t.code, Some(0), "GNU tar: {}", t.stderr);
    let m = verified(&a, &bundle);
    let e = entry(&m, "fs/var/log/syslog").clone();
    let bytes = member(&bundle, &e.path).expect("member");
    (m, e, bytes, text.len() as u64)
}

/// Renamed away and recreated: the open descriptor still reads the old file whole, stored as found.
#[test]
#[ignore = "needs root"]
fn fault_log_rotated_mid_read_is_stored_whole() {
    need_root!();
    let (_, e, bytes, size) = log_changed_mid_read(Mid::Rotate);
    assert_eq!(e.status, Status::Ok);
    assert_eq!((e.size, bytes.len() as u64), (size, size));
    assert_eq!(bytes, log_text(96 << 20, "app"), "the rotated file's bytes, not the new file's");
}

/// Truncated to 0 while read: the member keeps its header's size (zero-padded) and the entry says it shrank.
#[test]
#[ignore = "needs root"]
fn fault_log_truncated_mid_read_is_recorded_as_shrunk() {
    need_root!();
    let (_, e, bytes, size) = log_changed_mid_read(Mid::Truncate);
    match e.status {
        Status::ChangedWhileRead { change: Change::Shrank, stat_size, bytes_read } => {
            assert_eq!(stat_size, size);
            assert!(bytes_read < size, "{bytes_read}");
            assert!(bytes[usize::try_from(bytes_read).expect("fits")..].iter().all(|&b| b == 0), "padded with zeros");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(bytes.len() as u64, size, "member as long as the stat said");
}

/// Appended to while read: exactly the stat'ed size is stored (tar's own copy to EOF would corrupt the archive).
#[test]
#[ignore = "needs root"]
fn fault_log_growing_while_read_stores_the_stat_size() {
    need_root!();
    let (_, e, bytes, size) = log_changed_mid_read(Mid::Grow);
    assert_eq!((e.size, bytes.len() as u64), (size, size));
    assert!(matches!(e.status, Status::ChangedWhileRead { change: Change::Grew, .. } | Status::Ok), "{:?}", e.status);
    assert_eq!(bytes, log_text(96 << 20, "app"));
}

// --- FIFOs, sockets, devices; symlink loops and links out of the root ---------------------------------------

#[test]
#[ignore = "needs root"]
fn fault_special_files_among_logs_are_skipped_with_their_type() {
    need_root!();
    use rustix::fs::{mknodat, makedev, FileType, CWD};
    let a = Area::new();
    let log = a.host("/var/log");
    mknodat(CWD, log.join("kern.log"), FileType::Fifo, 0o644.into(), 0).expect("mkfifo");
    mknodat(CWD, log.join("messages"), FileType::CharacterDevice, 0o644.into(), makedev(1, 5)).expect("mknod zero");
    mknodat(CWD, log.join("daemon.log"), FileType::BlockDevice, 0o644.into(), makedev(7, 0)).expect("mknod loop");
    let sock = std::os::unix::net::UnixListener::bind(log.join("auth.log")).expect("socket");
    // A FIFO with a writer would block a reader's open no more than one without: neither is opened at all.
    let r = a.collect(&[], Duration::from_secs(30));
    drop(sock);
    let m = verified(&a, &bundle_of(&r));
    for (path, what, ty) in [
        ("fs/var/log/kern.log", "FIFO", libc::S_IFIFO),
        ("fs/var/log/messages", "character device", libc::S_IFCHR),
        ("fs/var/log/daemon.log", "block device", libc::S_IFBLK),
        ("fs/var/log/auth.log", "socket", libc::S_IFSOCK),
    ] {
        let e = entry(&m, path);
        assert!(matches!(&e.status, Status::Skipped { reason } if reason.contains(what)), "{path}: {:?}", e.status);
        assert!(e.sha256.is_none(), "{path}: no bytes");
        assert_eq!(e.stat.as_ref().map(|s| s.mode & libc::S_IFMT), Some(ty), "{path}");
    }
}

#[test]
#[ignore = "needs root"]
fn fault_symlink_loops_and_links_out_of_the_root_are_recorded_not_followed() {
    need_root!();
    let a = Area::new();
    let outside = tempfile::tempdir().expect("outside");
    fs::write(outside.path().join("secret.log"), b"OUTSIDE THE ROOT\n").expect("write");
    fs::create_dir(outside.path().join("dir")).expect("mkdir");
    fs::write(outside.path().join("dir/syslog"), b"OUTSIDE THE ROOT\n").expect("write");
    let log = a.host("/var/log");
    let link = |t: &Path, l: &str| std::os::unix::fs::symlink(t, log.join(l)).expect("symlink");
    // A loop of two, a link to itself, an absolute link out of the root, and a relative one climbing out.
    link(Path::new("syslog.2"), "syslog.1");
    link(Path::new("syslog.1"), "syslog.2");
    link(Path::new("kern.log"), "kern.log");
    link(&outside.path().join("secret.log"), "auth.log");
    let up = "../".repeat(outside.path().components().count() + 4);
    link(Path::new(&format!("{up}{}", outside.path().join("secret.log").display())), "messages");
    // A directory of the root itself replaced by a link out: /var/log/journal → outside/dir.
    link(&outside.path().join("dir"), "journal");
    // And a directory loop an include walks into.
    fs::create_dir_all(a.host("/srv/app")).expect("mkdir");
    std::os::unix::fs::symlink("../app", a.host("/srv/app/again")).expect("symlink");
    a.write("/srv/app/x.log", b"inside\n");
    let r = a.collect(&["--include", "/srv/app/**"], Duration::from_secs(30));
    let bundle = bundle_of(&r);
    let m = verified(&a, &bundle);
    for p in ["fs/var/log/syslog.1", "fs/var/log/syslog.2", "fs/var/log/kern.log", "fs/var/log/auth.log", "fs/var/log/messages"] {
        let e = entry(&m, p);
        assert!(matches!(&e.status, Status::Skipped { reason } if reason.contains("symlink")), "{p}: {:?}", e.status);
        assert!(e.link_target.is_some() && e.sha256.is_none(), "{p}: target recorded, no bytes");
    }
    // Nothing from outside the root is in any member.
    let f = fs::File::open(&bundle).expect("open");
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(f));
    for e in ar.entries().expect("entries") {
        let mut e = e.expect("entry");
        let mut b = Vec::new();
        e.read_to_end(&mut b).expect("read");
        let name = e.path().expect("path").display().to_string();
        assert!(!b.windows(16).any(|w| w == b"OUTSIDE THE ROOT"), "{name} holds a file from outside the root");
    }
    assert_eq!(entry(&m, "fs/srv/app/x.log").status, Status::Ok);
}

// --- Sparse files ------------------------------------------------------------------------------------------------

#[test]
#[ignore = "needs root"]
fn fault_sparse_core_and_lastlog_keep_the_bundle_small() {
    need_root!();
    let a = Area::new();
    // A real core's head (ELF, notes) stretched to 100 GiB of holes.
    let head = fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/cores/f-segv.core")).expect("fixture core");
    let core = a.write("/var/crash/core.victim.4242", &head);
    fs::OpenOptions::new().write(true).open(&core).expect("open").set_len(100 << 30).expect("set_len");
    // lastlog with one login by uid 4000000000: ~1.1 TiB apparent.
    let mut rec = vec![0u8; 292];
    rec[..4].copy_from_slice(&1_795_810_881i32.to_le_bytes());
    rec[4..9].copy_from_slice(b"pts/1");
    let ll = a.write("/var/log/lastlog", b"");
    {
        use std::os::unix::fs::FileExt;
        let f = fs::OpenOptions::new().write(true).open(&ll).expect("open");
        f.write_all_at(&rec, 4_000_000_000 * 292).expect("write record");
    }
    let t0 = Instant::now();
    let r = a.collect(&[], Duration::from_secs(60));
    let took = t0.elapsed();
    let bundle = bundle_of(&r);
    let size = fs::metadata(&bundle).expect("stat").len();
    let m = verified(&a, &bundle);
    let c = entry(&m, "fs/var/crash/core.victim.4242");
    // lastlog is taken as an extract of its records (read over its data extents only), not as raw bytes.
    let l = entry(&m, "live/logins/lastlog.json");
    eprintln!("sparse: bundle {size} bytes in {took:?}; core {:?} size {}; lastlog {:?} size {}", c.status, c.size, l.status, l.size);
    assert!(size < 8 << 20, "bundle of {size} bytes for a few KiB of real data");
    assert_eq!(c.stat.as_ref().map(|s| s.size), Some(100 << 30), "the core's real size is recorded");
    assert!(matches!(&c.status, Status::Truncated { original_size, .. } if *original_size == 100 << 30), "{:?}", c.status);
    // Only the head's real data is stored, not the cap's worth of zeros after it (512 MiB to compress).
    assert_eq!(c.size, head.len() as u64, "stored bytes of the core: {:?}", c.status);
    assert_eq!(l.status, Status::Ok, "every record read: {:?}", l.status);
    let x = member(&bundle, "live/logins/lastlog.json").expect("lastlog extract");
    let doc: serde_json::Value = serde_json::from_slice(&x).expect("json");
    assert_eq!(doc["records"][0]["uid"], 4_000_000_000u64, "the one login is in the extract: {doc}");
    assert_eq!(doc["file_size"], 4_000_000_001u64 * 292, "the apparent size is recorded: {doc}");
}

// --- /proc churn -------------------------------------------------------------------------------------------------

/// A fork loop keeping up to 64 children that live about 2 ms each (python3: fork without exec is quick).
const CHURN: &str = "import os, time
live = 0
while True:
    if os.fork() == 0:
        time.sleep(0.002)
        os._exit(0)
    live += 1
    while live >= 64 or (live and os.waitpid(-1, os.WNOHANG)[0]):
        if live >= 64:
            os.waitpid(-1, 0)
        live -= 1
";

/// Churn processes, killed by their pids when dropped.
struct Churn(Vec<Child>);
impl Drop for Churn {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = rustix::process::kill_process(rustix::process::Pid::from_child(c), rustix::process::Signal::KILL);
            let _ = c.wait();
        }
    }
}

/// Forks since boot (`processes` in /proc/stat): counts every process started, whatever pid it got.
fn forks() -> u64 {
    let s = fs::read_to_string("/proc/stat").unwrap_or_default();
    s.lines().find_map(|l| l.strip_prefix("processes ")).and_then(|n| n.trim().parse::<u64>().ok()).unwrap_or(0)
}

#[test]
#[ignore = "needs root"]
fn fault_process_churn_during_the_proc_snapshot() {
    need_root!();
    let a = Area::new();
    let churn = Churn(
        (0..3)
            .map(|_| Command::new("python3").args(["-c", CHURN]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("python3"))
            .collect(),
    );
    std::thread::sleep(Duration::from_millis(300));
    // Collect the live host until thousands of processes have started and exited during collections (a
    // collection here takes about a second), each bundle checked: verified, and processes.json read by the
    // report with no parse problem.
    let (mut during, mut runs) = (0u64, 0);
    while during < 2000 && runs < 6 {
        runs += 1;
        let out = a.dir.path().join(format!("out-{runs}"));
        fs::create_dir(&out).expect("mkdir");
        let before = forks();
        let r = finish(a.spawn(&out, true, &["--max-file", "16M", "--max-total", "256M"]), Duration::from_secs(60), "live collect");
        during += forks() - before;
        let bundle = bundle_of(&r);
        verified(&a, &bundle);
        let rep = a.dir.path().join(format!("report-{runs}"));
        let mut c = Command::new(report_bin());
        c.arg("render").arg(&bundle).arg("--pubkey").arg(a.key().with_extension("pub")).arg("-o").arg(&rep);
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        let rr = finish(c.spawn().expect("render"), Duration::from_secs(120), "coroner-report render");
        assert!(matches!(rr.code, Some(0 | 1)), "render: {}", rr.stderr);
        // report.md lists each problem as `- collector: …` or `- parser: PLACE: …`.
        let md = fs::read_to_string(rep.join("report.md")).expect("report.md");
        let parse: Vec<&str> = md.lines().filter(|l| l.starts_with("- parser:") && l.contains("processes.json")).collect();
        assert!(parse.is_empty(), "parse problems for processes.json: {parse:?}");
        let raw = member(&bundle, "live/proc/processes.json").expect("snapshot");
        let (snap, _) = coroner_schemas::proc::ProcSnapshot::from_bytes(&raw).expect("the snapshot reads");
        eprintln!("run {runs}: {} processes, {} gone while read", snap.processes.len(), snap.problems.len());
        assert!(snap.processes.len() > 5);
    }
    drop(churn);
    eprintln!("{during} processes started during {runs} collections");
    assert!(during >= 2000, "the churn started only {during} processes during {runs} collections");
}

// --- Output disk full ----------------------------------------------------------------------------------------------

struct Mount(PathBuf);
impl Mount {
    fn tmpfs(dir: &Path, size: &str) -> Option<Mount> {
        let ok = Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "coroner-fault"]).arg(dir).status().is_ok_and(|s| s.success());
        ok.then(|| Mount(dir.to_owned()))
    }
}
impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
#[ignore = "needs root"]
fn fault_output_disk_full_leaves_nothing_and_says_why() {
    need_root!();
    let a = Area::new();
    // 4 MiB that gzip cannot shrink into a 2 MiB file system.
    let noise = live_support::noise(4 << 20);
    a.write("/var/log/syslog.1", &noise);
    let mnt = a.dir.path().join("small");
    fs::create_dir(&mnt).expect("mkdir");
    let _m = Mount::tmpfs(&mnt, "2m").expect("mount a tmpfs (needs root)");
    let r = finish(a.spawn(&mnt, false, &[]), Duration::from_secs(60), "collect to a full disk");
    assert_eq!(r.code, Some(2), "stdout {} stderr {}", r.stdout, r.stderr);
    assert!(r.stderr.contains("No space left on device") && r.stderr.contains("no bundle was written"), "{}", r.stderr);
    assert!(r.stdout.is_empty(), "no bundle path printed: {}", r.stdout);
    assert!(names(&mnt).is_empty(), "left on the full disk: {:?}", names(&mnt));
}

// --- Signals mid-run -------------------------------------------------------------------------------------------------

/// A tree slow enough to interrupt: 256 MiB of log text.
fn slow_area() -> Area {
    let a = Area::new();
    a.write("/var/log/syslog.1", &log_text(256 << 20, "slow"));
    a
}

fn interrupted(sig: rustix::process::Signal) -> (Run, Vec<String>) {
    let a = slow_area();
    let mut child = a.spawn(&a.out(), false, &["--max-file", "1G"]);
    wait_for_temp(&a.out(), 1 << 20, &mut child);
    rustix::process::kill_process(rustix::process::Pid::from_child(&child), sig).expect("signal our own child");
    let r = finish(child, Duration::from_secs(30), "interrupted collector");
    let left = names(&a.out());
    (r, left)
}

#[test]
#[ignore = "needs root"]
fn fault_sigint_and_sigterm_mid_run_remove_the_temp_file() {
    need_root!();
    for (sig, n) in [(rustix::process::Signal::INT, libc::SIGINT), (rustix::process::Signal::TERM, libc::SIGTERM)] {
        let (r, left) = interrupted(sig);
        assert_eq!(r.signal, Some(n), "dies of signal {n}: {:?} {}", r.code, r.stderr);
        assert!(left.is_empty(), "left behind after signal {n}: {left:?}");
    }
}

#[test]
#[ignore = "needs root"]
fn fault_sigkill_mid_run_leaves_no_final_file() {
    need_root!();
    let (r, left) = interrupted(rustix::process::Signal::KILL);
    assert_eq!(r.signal, Some(libc::SIGKILL));
    assert!(!left.iter().any(|n| n.starts_with("coroner-")), "a file at a final path: {left:?}");
    // SIGKILL cannot be caught: the temp file stays, under a name the README tells the operator to remove.
    assert!(left.iter().all(|n| n.starts_with(".coroner-") && n.ends_with(".tmp")), "{left:?}");
    let readme = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")).expect("README");
    assert!(readme.contains(".coroner-") && readme.contains("SIGKILL"), "the README says what a SIGKILL leaves");
}

// --- A 64 MiB memory cgroup with gigabytes of evidence -------------------------------------------------------------

struct Cgroup(PathBuf);
impl Drop for Cgroup {
    fn drop(&mut self) {
        // Move anything left back to the root group, then remove ours.
        if let Ok(pids) = fs::read_to_string(self.0.join("cgroup.procs")) {
            for p in pids.lines() {
                let _ = fs::write("/sys/fs/cgroup/memory/cgroup.procs", p);
            }
        }
        let _ = fs::remove_dir(&self.0);
    }
}

#[test]
#[ignore = "needs root"]
fn fault_64m_memory_cgroup_with_gigabytes_of_logs() {
    need_root!();
    let base = Path::new("/sys/fs/cgroup/memory");
    assert!(base.join("memory.limit_in_bytes").exists(), "no cgroup v1 memory controller at {}", base.display());
    let a = Area::new();
    // 2 GiB of logs made in seconds: one 1 MiB block of distinct lines, repeated with a changing prefix.
    let mut block = log_text(1 << 20, "big");
    block.truncate(1 << 20);
    for n in 0..4u32 {
        let name = if n == 0 { "/var/log/syslog".to_owned() } else { format!("/var/log/syslog.{n}") };
        let p = a.host(&name);
        let mut f = std::io::BufWriter::new(fs::File::create(&p).expect("create"));
        for k in 0..512u32 {
            let mut b = block.clone();
            b[..8].copy_from_slice(&(k + 512 * n).to_le_bytes().repeat(2));
            f.write_all(&b).expect("write");
        }
        f.flush().expect("flush");
    }
    let cg = Cgroup(base.join(format!("coroner-fault-{}", std::process::id())));
    fs::create_dir(&cg.0).expect("mkdir cgroup");
    fs::write(cg.0.join("memory.limit_in_bytes"), "67108864").expect("limit");
    // The child puts itself in the group before exec, so nothing of the collector runs outside it.
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg("echo $$ > \"$1/cgroup.procs\" && shift && exec \"$@\"")
        .arg("sh")
        .arg(&cg.0)
        .arg(BIN)
        .arg("--root")
        .arg(a.root())
        .arg("-o")
        .arg(a.out())
        .arg("--key")
        .arg(a.key())
        .args(["--quiet", "--max-file", "1G", "--no-gentle"]);
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let t0 = Instant::now();
    let r = finish(c.spawn().expect("spawn"), Duration::from_secs(120), "collector in a 64 MiB cgroup");
    let oom = fs::read_to_string(cg.0.join("memory.oom_control")).unwrap_or_default();
    let peak = fs::read_to_string(cg.0.join("memory.max_usage_in_bytes")).unwrap_or_default();
    eprintln!("64 MiB cgroup: exit {:?} signal {:?} in {:?}, peak {} bytes", r.code, r.signal, t0.elapsed(), peak.trim());
    assert!(oom.lines().any(|l| l == "oom_kill 0"), "OOM kills in the group: {oom}");
    // The output's dirty pages are bounded (bundle::BoundedDirty): the peak stays well under the limit.
    let peak: u64 = peak.trim().parse().unwrap_or(u64::MAX);
    assert!(peak < 48 << 20, "peak {peak} bytes in a 64 MiB group");
    let bundle = bundle_of(&r);
    let m = verified(&a, &bundle);
    let whole = m.entries.iter().filter(|e| e.path.starts_with("fs/var/log/syslog") && e.size == 512 << 20 && e.status == Status::Ok).count();
    assert_eq!(whole, 4, "four 512 MiB logs stored whole");
}
