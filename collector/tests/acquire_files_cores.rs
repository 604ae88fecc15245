//! Cores: ELF core detection and the head cap on a core the kernel writes during the test, and the
//! `--cores meta` and `--include` paths on the committed fixture core.

mod acquire_files_support;
use acquire_files_support::*;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use coroner_collect::acquire::{cores, include, Item};
use coroner_schemas::manifest::{CorePolicy, Format};
use sha2::{Digest, Sha256};

/// End of the program headers and of every PT_NOTE segment, as binutils' `readelf -lW` reports them: an
/// independent reading of the same core. `None` when readelf is not installed.
fn readelf_head(core: &Path) -> Option<u64> {
    let hdr = Command::new("readelf").arg("-hW").arg(core).output().ok()?;
    let hdr = String::from_utf8_lossy(&hdr.stdout).into_owned();
    let field = |name: &str| -> Option<u64> {
        let l = hdr.lines().find(|l| l.trim_start().starts_with(name))?;
        l.split(':').nth(1)?.split_whitespace().next()?.parse().ok()
    };
    let mut end =
        field("Start of program headers")? + field("Size of program headers")? * field("Number of program headers")?;
    let ph = Command::new("readelf").arg("-lW").arg(core).output().ok()?;
    for l in String::from_utf8_lossy(&ph.stdout).lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.first() == Some(&"NOTE") && f.len() >= 5 {
            let off = u64::from_str_radix(f[1].trim_start_matches("0x"), 16).ok()?;
            let filesz = u64::from_str_radix(f[4].trim_start_matches("0x"), 16).ok()?;
            end = end.max(off + filesz);
        }
    }
    Some(end)
}

fn sha256_file(p: &Path) -> String {
    hex::encode(Sha256::digest(fs::read(p).expect("read core")))
}

/// Makes the kernel write a real core of `sleep` into `dir` (core_pattern here is the relative `core`).
fn real_core(dir: &Path) -> Option<PathBuf> {
    let script = format!("ulimit -c unlimited && cd '{}' && exec sleep 100", dir.display());
    let mut child = Command::new("sh").arg("-c").arg(&script).spawn().ok()?;
    let pid = child.id();
    // Wait (bounded) until the shell has exec'ed sleep in `dir`, so the core is sleep's and lands there.
    let t0 = Instant::now();
    let comm = format!("/proc/{pid}/comm");
    while fs::read_to_string(&comm).map(|c| c.trim() != "sleep").unwrap_or(true) {
        if t0.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = rustix::process::kill_process(rustix::process::Pid::from_child(&child), rustix::process::Signal::SEGV);
    let _ = child.wait();
    let found = fs::read_dir(dir).ok()?.flatten().map(|e| e.path()).find(|p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n == "core" || n.starts_with("core."))
    });
    found
}

#[test]
#[ignore = "needs root"]
fn real_core_is_detected_and_its_head_cap_covers_the_notes() {
    assert!(is_root(), "needs root (core files of a test process in a private folder): run it as root (`make test` does, as root)");
    let pattern = fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap_or_default();
    if pattern.trim() != "core" && !pattern.trim().starts_with("core") {
        eprintln!("skipped: core_pattern is {pattern:?}, not the relative `core` this test expects (left unchanged)");
        return;
    }
    let t = tempfile::tempdir().expect("tmp");
    let Some(core) = real_core(t.path()) else {
        eprintln!("skipped: no core appeared (core dumps disabled for this process?)");
        return;
    };
    assert!(cores::is_elf_core(&core));
    let size = fs::metadata(&core).expect("stat").len();
    let cap = cores::head_cap(&core).expect("head cap");
    assert!(cap > 64 && cap <= size, "cap {cap} of {size}");
    if let Some(want) = readelf_head(&core) {
        assert_eq!(cap, want, "head cap differs from readelf's program headers");
    } else {
        eprintln!("note: readelf not installed; head cap not cross-checked");
    }
    // The planner finds it where a relative pattern puts it (the root folder of this fake host) and caps it.
    let name = format!("/{}", core.file_name().and_then(|n| n.to_str()).expect("name"));
    let mut opts = options();
    opts.cores = CorePolicy::Head;
    let ctx = ctx(t.path(), opts);
    let mut out = Vec::new();
    cores::collect(&ctx, &mut out);
    let item = file(&out, &name).unwrap_or_else(|| panic!("{name} not planned: {}", render(&out)));
    assert_eq!((item.format, item.cap), (Format::CoreElf, Some(cap)));
    // Not an ELF core: a file named `core` with other bytes is left alone.
    fs::write(t.path().join("core.txt"), b"not a core").expect("write");
    assert!(!cores::is_elf_core(&t.path().join("core.txt")));
}

#[test]
fn fixture_core_head_cap_matches_readelf() {
    let core = fixture_root().join("var/crash/core.victim-segv.28758");
    assert!(cores::is_elf_core(&core));
    let cap = cores::head_cap(&core).expect("cap");
    // 24 program headers from offset 64 end at 0x580; the PT_NOTE segment is 0x580 + 0x13ac.
    assert_eq!(cap, 0x580 + 0x13ac);
    if let Some(want) = readelf_head(&core) {
        assert_eq!(cap, want);
    }
}

#[test]
fn meta_policy_keeps_no_bytes_but_the_whole_file_sha256() {
    let root = fixture_root();
    let mut opts = options();
    opts.cores = CorePolicy::Meta;
    let ctx = ctx(&root, opts);
    let mut out = Vec::new();
    cores::collect(&ctx, &mut out);
    let host = "/var/crash/core.victim-segv.28758";
    assert_eq!(file(&out, host).map(|f| f.cap), Some(Some(0)));
    let meta = out
        .iter()
        .find_map(|i| match i {
            Item::Capture(c) if c.bundle_path == "live/cores/var/crash/core.victim-segv.28758.meta.json" => Some(c),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no meta capture: {}", render(&out)));
    let doc: serde_json::Value = serde_json::from_slice(&meta.data).expect("json");
    let real = root.join("var/crash/core.victim-segv.28758");
    assert_eq!(doc["sha256"], sha256_file(&real));
    assert_eq!(doc["size"], fs::metadata(&real).expect("stat").len());
    assert_eq!(doc["path"], host);
}

#[test]
fn included_cores_get_the_core_policy_and_other_included_files_do_not() {
    let t = tempfile::tempdir().expect("tmp");
    fs::create_dir_all(t.path().join("data")).expect("mkdir");
    fs::copy(
        fixture_root().join("var/crash/core.victim-segv.28758"),
        t.path().join("data/dump.bin"),
    )
    .expect("copy");
    fs::write(t.path().join("data/app.log"), b"x\n").expect("write");
    let mut opts = options();
    opts.cores = CorePolicy::Head;
    opts.includes = vec!["/data/*".into()];
    let ctx = ctx(t.path(), opts);
    let mut out = Vec::new();
    cores::collect(&ctx, &mut out);
    include::collect(&ctx, &mut out);
    insta::assert_snapshot!(render(&out));
}
