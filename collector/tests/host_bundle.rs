//! The built `coroner-collect` binary on this live host and on small `--root` trees: the bundle opens with GNU
//! tar and the `tar` crate, every manifest entry's sha256 and size match its member, the manifest validates
//! against `schemas/json/manifest.schema.json` and deserialises into the `deny_unknown_fields` types, and
//! stock `ssh-keygen -Y verify` accepts the signature (and rejects a changed byte). Then the sick-host cases:
//! a FIFO in /var/log, a log appended to while collected, caps, a non-root run, SIGKILL half-way, and 2 GiB of
//! logs under a 64 MiB memory cgroup.
//!
//! These need root (they collect the real host, chown files, run as `nobody`, make cgroups); when not root they
//! print why and return.

mod live_support;

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use coroner_schemas::manifest::{Change, Entry, Manifest, Status};
use live_support::{run, Run};
use sha2::{Digest, Sha256};

const BIN: &str = env!("CARGO_BIN_EXE_coroner-collect");

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

macro_rules! need_root {
    () => {
        assert!(is_root(), "needs root (collects the live host, changes owners, runs as nobody): run it as root (`make test` does, as root)");
    };
}

fn collect(args: &[&str], limit: Duration) -> Run {
    let mut c = Command::new(BIN);
    c.args(args);
    run(&mut c, limit)
}

/// The bundle path: the last line on stdout.
fn bundle_of(r: &Run) -> PathBuf {
    let last = r
        .stdout
        .lines()
        .last()
        .unwrap_or_else(|| panic!("no stdout; stderr: {}", r.stderr));
    PathBuf::from(last)
}

/// Every member of the bundle, in order, via the `tar` crate.
fn members(bundle: &Path) -> Vec<(String, Vec<u8>)> {
    let f = fs::File::open(bundle).expect("open bundle");
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(f));
    let mut out = Vec::new();
    for e in ar.entries().expect("entries") {
        let mut e = e.expect("tar entry");
        let path = e.path().expect("path").to_string_lossy().into_owned();
        let mut data = Vec::new();
        e.read_to_end(&mut data).expect("member data");
        out.push((path, data));
    }
    out
}

fn sha(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

fn schema() -> serde_json::Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/json/manifest.schema.json");
    serde_json::from_slice(&fs::read(p).expect("schema file")).expect("schema json")
}

fn ssh_verify(allowed: &Path, sig: &Path, manifest: &[u8]) -> (bool, String) {
    let mut c = Command::new("ssh-keygen");
    c.args(["-Y", "verify", "-f"])
        .arg(allowed)
        .args(["-I", "coroner-collect", "-n", "coroner", "-s"])
        .arg(sig);
    c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().expect("ssh-keygen");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(manifest)
        .expect("feed manifest");
    let out = child.wait_with_output().expect("ssh-keygen output");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// All the checks every bundle must pass; returns its manifest and members.
fn check_bundle(bundle: &Path) -> (Manifest, BTreeMap<String, Vec<u8>>) {
    let name = bundle.file_name().expect("name").to_string_lossy().into_owned();
    assert!(name.starts_with("coroner-") && name.ends_with(".tar.gz"), "{name}");
    let dir = bundle.parent().expect("dir");
    // GNU tar lists it.
    let mut c = Command::new("tar");
    c.arg("tzf").arg(bundle);
    let r = run(&mut c, Duration::from_secs(120));
    assert_eq!(r.code, Some(0), "tar tzf failed: {}", r.stderr);
    let gnu_list: Vec<&str> = r.stdout.lines().collect();
    // sha256sum -c accepts the side file (run in the bundle's directory: it names the bundle relatively).
    let mut c = Command::new("sha256sum");
    c.current_dir(dir).arg("-c").arg(format!("{name}.sha256"));
    let r = run(&mut c, Duration::from_secs(120));
    assert_eq!(r.code, Some(0), "sha256sum -c: {} {}", r.stdout, r.stderr);

    let list = members(bundle);
    assert_eq!(
        gnu_list,
        list.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(),
        "GNU tar and tar crate agree"
    );
    let n = list.len();
    assert!(n >= 3);
    let tail: Vec<&str> = list[n - 3..].iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        tail,
        ["manifest.json", "manifest.json.sig", "signer.pub"],
        "fixed members come last"
    );
    let mut map = BTreeMap::new();
    for (p, d) in list {
        assert!(
            !p.starts_with('/') && !p.split('/').any(|c| c == ".."),
            "unsafe member path {p}"
        );
        assert!(map.insert(p.clone(), d).is_none(), "duplicate member {p}");
    }
    let raw = map["manifest.json"].clone();

    // Schema and the strict types.
    let value: serde_json::Value = serde_json::from_slice(&raw).expect("manifest is JSON");
    let validator = jsonschema::validator_for(&schema()).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "manifest does not validate: {errors:#?}");
    let m: Manifest = serde_json::from_slice(&raw).expect("manifest deserialises into the strict type");
    assert_eq!(m.bundle_name, name);
    assert_eq!(m.schema_version, coroner_schemas::SCHEMA_VERSION);

    // Every entry: sorted, unique, its bytes present with the recorded size and hash; every member listed.
    let paths: Vec<&str> = m.entries.iter().map(|e| e.path.as_str()).collect();
    let mut sorted = paths.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(paths, sorted, "entries sorted by path and unique");
    for e in &m.entries {
        match &e.sha256 {
            Some(h) => {
                let data = map
                    .get(&e.path)
                    .unwrap_or_else(|| panic!("no member for entry {}", e.path));
                assert_eq!(data.len() as u64, e.size, "{}: size", e.path);
                assert_eq!(&sha(data), h, "{}: sha256", e.path);
            }
            None => {
                assert!(!map.contains_key(&e.path), "{}: member without hash", e.path);
                assert_eq!(e.size, 0);
            }
        }
    }
    for p in map.keys() {
        let listed = m.entries.iter().any(|e| &e.path == p);
        assert!(
            listed || coroner_schemas::layout::UNLISTED.contains(&p.as_str()),
            "unlisted member {p}"
        );
    }

    // The signature: good with the side file, and with the key carried inside the bundle.
    let t = tempfile::tempdir().expect("tempdir");
    let sig = t.path().join("manifest.json.sig");
    fs::write(&sig, &map["manifest.json.sig"]).expect("write sig");
    let allowed = PathBuf::from(format!("{}.allowed_signers", bundle.display()));
    let (ok, text) = ssh_verify(&allowed, &sig, &raw);
    assert!(ok && text.contains("Good \"coroner\" signature"), "{text}");
    assert!(
        text.contains(&m.collector.signer_fingerprint),
        "fingerprint in manifest matches: {text}"
    );
    let inner = t.path().join("inner_allowed");
    let key = String::from_utf8(map["signer.pub"].clone()).expect("signer.pub text");
    let key: Vec<&str> = key.split_whitespace().take(2).collect();
    fs::write(
        &inner,
        format!("coroner-collect namespaces=\"coroner\" {}\n", key.join(" ")),
    )
    .expect("write");
    assert!(ssh_verify(&inner, &sig, &raw).0, "signer.pub verifies too");
    // One changed byte fails.
    let mut bad = raw.clone();
    let i = bad.len() / 2;
    bad[i] ^= 0x01;
    let (ok, text) = ssh_verify(&allowed, &sig, &bad);
    assert!(!ok, "a changed manifest must not verify: {text}");
    (m, map)
}

fn entry<'m>(m: &'m Manifest, path: &str) -> &'m Entry {
    m.entries.iter().find(|e| e.path == path).unwrap_or_else(|| {
        let all: Vec<&str> = m.entries.iter().map(|e| e.path.as_str()).collect();
        panic!("no entry {path}; entries: {all:?}")
    })
}

fn write(root: &Path, host: &str, data: &[u8]) -> PathBuf {
    let p = root.join(host.trim_start_matches('/'));
    fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    fs::write(&p, data).expect("write");
    p
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("gzip");
    e.finish().expect("gzip")
}

/// A small host tree with accounts, logs (current, rotated, gzipped) and a history.
fn small_tree() -> tempfile::TempDir {
    let t = tempfile::tempdir().expect("tempdir");
    let r = t.path();
    write(
        r,
        "/etc/passwd",
        b"root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000:Alice:/home/alice:/bin/bash\n",
    );
    write(r, "/etc/group", b"root:x:0:\nalice:x:1000:\n");
    write(r, "/etc/hostname", b"testhost\n");
    write(
        r,
        "/var/log/syslog",
        b"Nov 27 20:03:37 testhost kernel: [  959.280000] Out of memory: Killed process 4242 (victim)\n",
    );
    write(
        r,
        "/var/log/syslog.1",
        b"Nov 26 10:00:00 testhost cron[1]: (root) CMD (true)\n",
    );
    write(
        r,
        "/var/log/syslog.2.gz",
        &gzip(b"Nov 25 10:00:00 testhost sshd[2]: Accepted publickey for alice\n"),
    );
    let auth = write(
        r,
        "/var/log/auth.log",
        b"Nov 27 20:00:00 testhost sudo: alice : COMMAND=/bin/kill -9 4242\n",
    );
    std::os::unix::fs::chown(&auth, Some(1000), Some(1000)).ok();
    write(r, "/home/alice/.bash_history", b"#1764273817\nkill -9 4242\n");
    t
}

#[test]
#[ignore = "needs root"]
fn live_host_bundle_is_complete_verifiable_and_tamper_evident() {
    need_root!();
    let out = tempfile::tempdir().expect("out");
    let r = collect(
        &["-o", out.path().to_str().expect("utf8"), "--quiet"],
        Duration::from_secs(180),
    );
    assert!(r.code == Some(0) || r.code == Some(1), "exit {:?}: {}", r.code, r.stderr);
    let bundle = bundle_of(&r);
    assert!(bundle.starts_with(out.path()));
    let (m, _) = check_bundle(&bundle);
    assert!(m.collector.live);
    assert!(m.clock.is_some(), "a live collection carries a clock sample");
    assert!(m.collector.ephemeral_key);
    assert_eq!(m.collector.euid, 0);
    assert!(m.host.kernel_release.is_some());
    assert!(
        m.entries.iter().any(|e| e.path.starts_with("fs/")),
        "some host files were taken"
    );
    // Exit code follows the problems recorded: the manifest's, and the process snapshot's own (processes it
    // could not read), which the report lists as the collector's.
    let in_snapshot = members(&bundle)
        .into_iter()
        .find(|(n, _)| n == "live/proc/processes.json")
        .map(|(_, b)| coroner_schemas::proc::ProcSnapshot::from_bytes(&b).expect("snapshot reads").0.problems.len())
        .unwrap_or(0);
    let problems = m.entries.iter().any(|e| e.status.is_problem()) || !m.problems.is_empty() || in_snapshot > 0;
    assert_eq!(
        r.code,
        Some(i32::from(problems)),
        "exit code 1 exactly when problems are recorded"
    );
    // The bundle is private, and nothing was left behind under a temp name.
    let mode = fs::metadata(&bundle).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let leftovers: Vec<_> = fs::read_dir(out.path())
        .expect("ls")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
#[ignore = "needs root"]
fn root_tree_bundle_holds_exact_bytes_and_metadata() {
    need_root!();
    let tree = small_tree();
    let root = tree.path();
    let out = tempfile::tempdir().expect("out");
    let r = collect(
        &[
            "--root",
            root.to_str().expect("utf8"),
            "-o",
            out.path().to_str().expect("utf8"),
            "--quiet",
        ],
        Duration::from_secs(60),
    );
    assert!(r.code == Some(0) || r.code == Some(1), "exit {:?}: {}", r.code, r.stderr);
    let bundle = bundle_of(&r);
    assert!(bundle
        .file_name()
        .expect("name")
        .to_string_lossy()
        .starts_with("coroner-testhost-"));
    let (m, files) = check_bundle(&bundle);
    assert!(!m.collector.live);
    assert!(m.clock.is_none(), "no clock sample for a disk image");
    assert_eq!(m.host.hostname, "testhost");
    for host in [
        "/var/log/syslog",
        "/var/log/syslog.1",
        "/var/log/syslog.2.gz",
        "/var/log/auth.log",
    ] {
        let e = entry(&m, &format!("fs{host}"));
        let want = fs::read(root.join(host.trim_start_matches('/'))).expect("source");
        assert_eq!(files[&e.path], want, "{host}: exact bytes");
        assert_eq!(e.status, Status::Ok, "{host}");
        assert_eq!(e.source, host);
        let st = e.stat.as_ref().expect("stat");
        assert_eq!(st.size, want.len() as u64);
        assert!(st.mtime.is_some() && st.ino > 0 && st.nlink >= 1);
    }
    assert_eq!(entry(&m, "fs/var/log/syslog.2.gz").compressed.as_deref(), Some("gzip"));
    let auth = entry(&m, "fs/var/log/auth.log").stat.as_ref().expect("stat");
    assert_eq!(
        (auth.uid, auth.user.as_deref(), auth.group.as_deref()),
        (1000, Some("alice"), Some("alice"))
    );
    assert_eq!(
        m.collector.options.root.as_deref(),
        fs::canonicalize(root).ok().as_deref().and_then(Path::to_str)
    );
}

#[test]
#[ignore = "needs root"]
fn fifo_in_a_log_folder_is_recorded_skipped_and_does_not_hang() {
    need_root!();
    let tree = small_tree();
    let fifo = tree.path().join("var/log/kern.log");
    rustix::fs::mknodat(rustix::fs::CWD, &fifo, rustix::fs::FileType::Fifo, 0o644.into(), 0).expect("mkfifo");
    let out = tempfile::tempdir().expect("out");
    let r = collect(
        &[
            "--root",
            tree.path().to_str().expect("utf8"),
            "-o",
            out.path().to_str().expect("utf8"),
            "--quiet",
        ],
        Duration::from_secs(60),
    );
    assert!(r.code == Some(0) || r.code == Some(1), "exit {:?}: {}", r.code, r.stderr);
    let (m, files) = check_bundle(&bundle_of(&r));
    let e = entry(&m, "fs/var/log/kern.log");
    assert!(
        matches!(&e.status, Status::Skipped { reason } if reason.contains("FIFO")),
        "{:?}",
        e.status
    );
    assert!(e.sha256.is_none() && !files.contains_key("fs/var/log/kern.log"));
    assert_eq!(e.stat.as_ref().map(|s| s.mode & libc::S_IFMT), Some(libc::S_IFIFO));
}

#[test]
#[ignore = "needs root"]
fn symlinks_are_recorded_not_followed() {
    need_root!();
    let tree = small_tree();
    std::os::unix::fs::symlink("/etc/shadow", tree.path().join("var/log/syslog.3")).expect("symlink");
    let out = tempfile::tempdir().expect("out");
    let r = collect(
        &[
            "--root",
            tree.path().to_str().expect("utf8"),
            "-o",
            out.path().to_str().expect("utf8"),
            "--quiet",
        ],
        Duration::from_secs(60),
    );
    let (m, files) = check_bundle(&bundle_of(&r));
    let e = entry(&m, "fs/var/log/syslog.3");
    assert_eq!(e.link_target.as_deref(), Some("/etc/shadow"));
    assert!(matches!(e.status, Status::Skipped { .. }), "{:?}", e.status);
    assert!(!files.contains_key("fs/var/log/syslog.3"));
}

#[test]
#[ignore = "needs root"]
fn caps_keep_the_tail_of_a_log_and_the_total_cap_skips_the_rest() {
    need_root!();
    let tree = small_tree();
    let mut big = Vec::new();
    for i in 0..2000 {
        big.extend_from_slice(format!("Nov 27 20:{:02}:00 testhost app[9]: line {i}\n", i % 60).as_bytes());
    }
    write(tree.path(), "/var/log/syslog", &big);
    let out = tempfile::tempdir().expect("out");
    let root = tree.path().to_str().expect("utf8");
    let r = collect(
        &[
            "--root",
            root,
            "-o",
            out.path().to_str().expect("utf8"),
            "--quiet",
            "--max-file",
            "1K",
        ],
        Duration::from_secs(60),
    );
    let (m, files) = check_bundle(&bundle_of(&r));
    let e = entry(&m, "fs/var/log/syslog");
    assert_eq!(files[&e.path], big[big.len() - 1024..], "the recent end is kept");
    assert!(
        matches!(&e.status, Status::Truncated { kept: coroner_schemas::manifest::Kept::Tail, original_size, .. }
            if *original_size == big.len() as u64),
        "{:?}",
        e.status
    );

    let out2 = tempfile::tempdir().expect("out");
    let r = collect(
        &[
            "--root",
            root,
            "-o",
            out2.path().to_str().expect("utf8"),
            "--quiet",
            "--max-total",
            "100",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(r.code, Some(1), "a total cap is a recorded problem: {}", r.stderr);
    let (m, _) = check_bundle(&bundle_of(&r));
    let stored: u64 = m
        .entries
        .iter()
        .filter(|e| e.path.starts_with("fs/"))
        .map(|e| e.size)
        .sum();
    assert!(stored <= 100, "stored {stored}");
    assert!(m
        .entries
        .iter()
        .any(|e| matches!(&e.status, Status::Skipped { reason } if reason == "total cap reached")));
    assert!(m.problems.iter().any(|p| p.source == "total-cap"));
}

#[test]
#[ignore = "needs root"]
fn a_log_appended_to_during_collection_still_gives_a_valid_archive() {
    need_root!();
    let tree = small_tree();
    let log = tree.path().join("var/log/syslog");
    {
        let mut f = fs::File::create(&log).expect("create");
        let line = b"Nov 27 20:03:37 testhost app[7]: steady background noise for the growth test\n";
        for _ in 0..(96 << 20) / line.len() {
            f.write_all(line).expect("fill");
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = Arc::clone(&stop);
        let log = log.clone();
        std::thread::spawn(move || {
            let mut f = fs::OpenOptions::new().append(true).open(&log).expect("append");
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let _ = f.write_all(format!("Nov 27 20:03:38 testhost app[7]: appended {n}\n").as_bytes());
                n += 1;
            }
            n
        })
    };
    let out = tempfile::tempdir().expect("out");
    let r = collect(
        &[
            "--root",
            tree.path().to_str().expect("utf8"),
            "-o",
            out.path().to_str().expect("utf8"),
            "--quiet",
        ],
        Duration::from_secs(120),
    );
    stop.store(true, Ordering::Relaxed);
    let appended = writer.join().expect("writer thread");
    assert!(appended > 0);
    assert!(r.code == Some(0) || r.code == Some(1), "exit {:?}: {}", r.code, r.stderr);
    // check_bundle reads it with GNU tar and the tar crate and checks every hash.
    let (m, files) = check_bundle(&bundle_of(&r));
    let e = entry(&m, "fs/var/log/syslog");
    let st = e.stat.as_ref().expect("stat");
    assert_eq!(e.size, st.size, "stored exactly the stat'ed size");
    assert_eq!(files[&e.path].len() as u64, st.size);
    assert!(
        matches!(
            e.status,
            Status::Ok
                | Status::ChangedWhileRead {
                    change: Change::Grew,
                    ..
                }
        ),
        "{:?}",
        e.status
    );
    let now = fs::metadata(&log).expect("stat").len();
    assert!(now > st.size, "the file did grow after its stat");
}

#[test]
#[ignore = "needs root"]
fn a_non_root_run_records_permission_denied_and_exits_1() {
    need_root!();
    let tree = small_tree();
    let root = tree.path();
    let secret = write(root, "/var/log/auth.log", b"root only\n");
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o600)).expect("chmod");
    std::os::unix::fs::chown(&secret, Some(0), Some(0)).expect("chown");
    fs::set_permissions(root, fs::Permissions::from_mode(0o755)).expect("chmod root");
    // nobody must reach the binary and write the output.
    let work = tempfile::tempdir().expect("work");
    fs::set_permissions(work.path(), fs::Permissions::from_mode(0o777)).expect("chmod");
    let bin = work.path().join("coroner-collect");
    fs::copy(BIN, &bin).expect("copy binary");
    fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).expect("chmod");
    let out = work.path().join("out");
    fs::create_dir(&out).expect("mkdir");
    fs::set_permissions(&out, fs::Permissions::from_mode(0o777)).expect("chmod");
    let mut c = Command::new("setpriv");
    c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(&bin);
    c.args([
        "--root",
        root.to_str().expect("utf8"),
        "-o",
        out.to_str().expect("utf8"),
    ]);
    let r = run(&mut c, Duration::from_secs(60));
    assert_eq!(r.code, Some(1), "stderr: {}", r.stderr);
    assert!(r.stderr.contains("root gives the full picture"), "{}", r.stderr);
    let (m, _) = check_bundle(&bundle_of(&r));
    assert_eq!((m.collector.uid, m.collector.euid), (65534, 65534));
    assert!(m.problems.iter().any(|p| p.source == "privileges"));
    let e = entry(&m, "fs/var/log/auth.log");
    assert!(matches!(e.status, Status::PermissionDenied { .. }), "{:?}", e.status);
    assert!(e.sha256.is_none());
    assert_eq!(
        entry(&m, "fs/var/log/syslog").status,
        Status::Ok,
        "readable files are still taken"
    );
}

/// 2 GiB of log text in eight rotations, written quickly but not trivially compressible.
fn big_tree() -> tempfile::TempDir {
    let t = small_tree();
    let mut block = Vec::with_capacity(1 << 20);
    let mut i = 0u64;
    while block.len() < (1 << 20) - 200 {
        let line = format!(
            "Nov 27 {:02}:{:02}:{:02} testhost app[{}]: request id={:016x} status={} bytes={}\n",
            i % 24,
            i % 60,
            (i * 7) % 60,
            1000 + i % 97,
            i.wrapping_mul(0x9e37_79b9_7f4a_7c15),
            200 + (i % 5) * 100,
            i * 31 % 65_536
        );
        block.extend_from_slice(line.as_bytes());
        i += 1;
    }
    block.resize(1 << 20, b'\n');
    for n in 0..8 {
        let name = if n == 0 {
            "syslog".to_owned()
        } else {
            format!("syslog.{n}")
        };
        let mut f = std::io::BufWriter::new(fs::File::create(t.path().join("var/log").join(name)).expect("create"));
        for k in 0..256u32 {
            // Vary each MiB a little so no two are identical.
            let mut b = block.clone();
            b[..8].copy_from_slice(&(k + 256 * n).to_le_bytes().repeat(2));
            f.write_all(&b).expect("write");
        }
        f.flush().expect("flush");
    }
    t
}

struct Cgroup(PathBuf);
impl Drop for Cgroup {
    fn drop(&mut self) {
        let _ = fs::remove_dir(&self.0);
    }
}

#[test]
#[ignore = "needs root"]
fn big_tree_killed_mid_run_leaves_nothing_and_runs_in_64m_memory_cgroup() {
    need_root!();
    let tree = big_tree();
    let root = tree.path().to_str().expect("utf8").to_owned();

    // 1. SIGKILL half-way: nothing at the final name.
    let out = tempfile::tempdir().expect("out");
    let mut child = Command::new(BIN)
        .args([
            "--root",
            &root,
            "-o",
            out.path().to_str().expect("utf8"),
            "--quiet",
            "--max-file",
            "1G",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let start = Instant::now();
    let tmp = loop {
        let found = fs::read_dir(out.path()).expect("ls").filter_map(Result::ok).find(|e| {
            e.file_name().to_string_lossy().starts_with(".coroner-")
                && e.metadata().map(|m| m.len() > (4 << 20)).unwrap_or(false)
        });
        if let Some(f) = found {
            break f.path();
        }
        assert!(
            child.try_wait().expect("wait").is_none(),
            "finished before it could be killed"
        );
        assert!(start.elapsed() < Duration::from_secs(60), "no temp file grew");
        std::thread::sleep(Duration::from_millis(10));
    };
    let mode = fs::metadata(&tmp).expect("stat tmp").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the temp file is private from the start");
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    let names: Vec<String> = fs::read_dir(out.path())
        .expect("ls")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names.iter().any(|n| n.starts_with("coroner-")),
        "something at a final name: {names:?}"
    );
    fs::remove_file(&tmp).expect("clean the temp file");

    // 1b. SIGTERM half-way: the collector removes its temp file and dies of the signal.
    let mut child = Command::new(BIN)
        .args([
            "--root",
            &root,
            "-o",
            out.path().to_str().expect("utf8"),
            "--quiet",
            "--max-file",
            "1G",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let start = Instant::now();
    loop {
        let grown = fs::read_dir(out.path()).expect("ls").filter_map(Result::ok).any(|e| {
            e.file_name().to_string_lossy().starts_with(".coroner-")
                && e.metadata().map(|m| m.len() > (4 << 20)).unwrap_or(false)
        });
        if grown {
            break;
        }
        assert!(
            child.try_wait().expect("wait").is_none(),
            "finished before it could be stopped"
        );
        assert!(start.elapsed() < Duration::from_secs(60), "no temp file grew");
        std::thread::sleep(Duration::from_millis(10));
    }
    let pid = rustix::process::Pid::from_child(&child);
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("SIGTERM our own child");
    let status = child.wait().expect("reap");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");
    let names: Vec<String> = fs::read_dir(out.path())
        .expect("ls")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.is_empty(), "left behind after SIGTERM: {names:?}");

    // 2. 2 GiB of logs under a 64 MiB memory cgroup (v1): completes, not OOM-killed.
    let base = Path::new("/sys/fs/cgroup/memory");
    if !base.join("memory.limit_in_bytes").exists() {
        eprintln!(
            "skipped the cgroup part: no cgroup v1 memory controller at {}",
            base.display()
        );
        return;
    }
    let cg = Cgroup(base.join(format!("coroner-test-{}", std::process::id())));
    fs::create_dir(&cg.0).expect("mkdir cgroup");
    fs::write(cg.0.join("memory.limit_in_bytes"), "67108864").expect("limit");
    let out = tempfile::tempdir().expect("out");
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg("echo $$ > \"$1/cgroup.procs\" && shift && exec \"$@\"")
        .arg("sh")
        .arg(&cg.0)
        .arg(BIN)
        .args([
            "--root",
            &root,
            "-o",
            out.path().to_str().expect("utf8"),
            "--quiet",
            "--max-file",
            "1G",
        ]);
    let r = run(&mut c, Duration::from_secs(300));
    let oom = fs::read_to_string(cg.0.join("memory.oom_control")).unwrap_or_default();
    let peak = fs::read_to_string(cg.0.join("memory.max_usage_in_bytes")).unwrap_or_default();
    eprintln!("cgroup: exit {:?}, max_usage_in_bytes {} ({oom:?})", r.code, peak.trim());
    assert!(
        r.code == Some(0) || r.code == Some(1),
        "exit {:?} (137 would be an OOM kill): {}",
        r.code,
        r.stderr
    );
    assert!(oom.lines().any(|l| l == "oom_kill 0"), "OOM kills in the cgroup: {oom}");
    // The bundle's dirty pages are bounded (two 8 MiB windows): the group's peak stays well under its limit,
    // where before it reached the limit whenever the disk was slow to write back (and was OOM-killed once).
    let peak_bytes: u64 = peak.trim().parse().unwrap_or(u64::MAX);
    assert!(peak_bytes < 48 << 20, "peak {peak_bytes} bytes in a 64 MiB group: is the output's dirty data bounded?");
    let bundle = bundle_of(&r);
    // Stream through it: every big log whole and hashed correctly.
    let f = fs::File::open(&bundle).expect("open");
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(f));
    let mut hashes = BTreeMap::new();
    let mut manifest = Vec::new();
    for e in ar.entries().expect("entries") {
        let mut e = e.expect("entry");
        let p = e.path().expect("path").to_string_lossy().into_owned();
        if p == "manifest.json" {
            e.read_to_end(&mut manifest).expect("manifest");
        } else {
            let mut h = Sha256::new();
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let n = e.read(&mut buf).expect("member");
                if n == 0 {
                    break;
                }
                h.update(&buf[..n]);
            }
            hashes.insert(p, hex::encode(h.finalize()));
        }
    }
    let m: Manifest = serde_json::from_slice(&manifest).expect("manifest");
    let logs: Vec<&Entry> = m
        .entries
        .iter()
        .filter(|e| e.path.starts_with("fs/var/log/syslog"))
        .collect();
    assert_eq!(
        logs.iter().filter(|e| e.size == 256 << 20).count(),
        8,
        "eight 256 MiB logs stored whole"
    );
    for e in logs {
        assert_eq!(e.sha256.as_ref(), hashes.get(&e.path), "{}", e.path);
    }
    drop(cg);
}

#[test]
#[ignore = "needs root"]
fn a_full_disk_gives_exit_2_a_clear_message_and_no_partial_bundle() {
    need_root!();
    let tree = small_tree();
    // 2 MiB that gzip cannot shrink, into a 512 KiB file system.
    let noise = live_support::noise(2 << 20);
    write(tree.path(), "/var/log/syslog.1", &noise);
    let mnt = tempfile::tempdir().expect("mountpoint");
    let st = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=512k", "coroner-test"])
        .arg(mnt.path())
        .status()
        .expect("mount");
    if !st.success() {
        eprintln!("skipped: cannot mount a tmpfs here");
        return;
    }
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _guard = Unmount(mnt.path().to_owned());
    let r = collect(
        &[
            "--root",
            tree.path().to_str().expect("utf8"),
            "-o",
            mnt.path().to_str().expect("utf8"),
            "--quiet",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(r.code, Some(2), "stdout {} stderr {}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("No space left on device") && r.stderr.contains("no bundle"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.is_empty(), "no bundle path printed");
    let left: Vec<_> = fs::read_dir(mnt.path())
        .expect("ls")
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
