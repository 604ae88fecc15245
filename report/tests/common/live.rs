//! For the tests that run the real collector on this host: where its release binary is, and a bounded wait.
//! Include with `#[path = "common/live.rs"] mod live;`.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

/// The release collector (`make test` builds it first), or CORONER_COLLECT.
pub fn collector() -> PathBuf {
    if let Some(p) = std::env::var_os("CORONER_COLLECT") {
        return PathBuf::from(p);
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/coroner-collect");
    assert!(p.exists(), "{} missing: run `make test` (it builds the release binaries first) or set CORONER_COLLECT", p.display());
    p
}

/// Waits for a child to end, at most `secs`; kills it (by its pid, through the handle) if it does not.
pub fn wait_bounded(c: &mut Child, secs: u64) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(st) = c.try_wait().expect("try_wait") {
            return st;
        }
        if Instant::now() > deadline {
            let _ = c.kill();
            return c.wait().expect("wait after kill");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every path under `dir` (none if it is missing), for putting a directory back as it was after a test.
pub fn listing(dir: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() && !p.is_symlink() {
                todo.push(p.clone());
            }
            out.insert(p);
        }
    }
    out
}

/// Puts `dir` back as [`listing`] saw it: every path it did not hold is removed (deepest first, so a directory
/// a test made is empty when it is removed); `None`: it did not exist, and is removed whole.
pub fn put_back(dir: &Path, before: Option<&BTreeSet<PathBuf>>) {
    let Some(before) = before else {
        let _ = std::fs::remove_dir_all(dir);
        return;
    };
    for p in listing(dir).into_iter().rev() {
        if !before.contains(&p) {
            let _ = if p.is_dir() { std::fs::remove_dir(&p) } else { std::fs::remove_file(&p) };
        }
    }
}

/// The `docker` cgroups (under each v1 controller, or v2's root) that do not exist now. A Docker daemon makes them
/// at its first container and leaves them behind: a test that starts one removes those it made with [`rmdirs`].
pub fn docker_cgroups_absent() -> Vec<PathBuf> {
    let root = Path::new("/sys/fs/cgroup");
    let mut out: Vec<PathBuf> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir() && !p.is_symlink())
        .map(|p| p.join("docker"))
        .filter(|p| !p.exists())
        .collect();
    if root.join("cgroup.controllers").exists() && !root.join("docker").exists() {
        out.push(root.join("docker"));
    }
    out
}

/// Removes these (empty) directories, ignoring those that are gone or not empty.
pub fn rmdirs(dirs: &[PathBuf]) {
    for d in dirs {
        let _ = std::fs::remove_dir(d);
    }
}

/// Collects this host with the release collector into `dir/out` and renders it into `dir/report`, both bounded by
/// their exit codes (1: problems recorded, still a bundle and a report); returns the bundle's path and
/// findings.json.
pub fn collect_and_render(dir: &Path) -> (String, serde_json::Value) {
    use std::process::Command;
    let out = dir.join("out");
    let res = Command::new(collector()).args(["-o", &out.display().to_string(), "--quiet"]).output().expect("collect");
    assert!(res.status.code().is_some_and(|c| c <= 1), "collector failed: {}", String::from_utf8_lossy(&res.stderr));
    let bundle = String::from_utf8_lossy(&res.stdout).lines().last().expect("bundle path").to_owned();
    let report = dir.join("report");
    let r = Command::new(env!("CARGO_BIN_EXE_coroner-report")).args(["render", &bundle, "-o", &report.display().to_string()]).output().expect("render");
    assert!(r.status.code().is_some_and(|c| c <= 1), "render failed: {}", String::from_utf8_lossy(&r.stderr));
    let doc = serde_json::from_slice(&std::fs::read(report.join("findings.json")).expect("findings.json")).expect("json");
    (bundle, doc)
}
