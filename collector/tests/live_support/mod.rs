//! Shared by the real-host tests: children run with a deadline (killed through their handle, so by their pid,
//! when it passes), polling for a condition, and the recorder's records as its state directory holds them.
#![allow(dead_code)]

use std::fs;
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use coroner_schemas::watch::WatchRecord;

/// How a child ended and what it printed.
pub struct Run {
    /// The exit code; `None` when a signal ended it.
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Waits for a child at most `limit`; on timeout kills it by its pid (through the handle) and panics.
pub fn finish(mut child: Child, limit: Duration, what: &str) -> Run {
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {limit:?} (hung?)");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut o) = child.stdout.take() {
        o.read_to_string(&mut stdout).expect("stdout");
    }
    if let Some(mut e) = child.stderr.take() {
        e.read_to_string(&mut stderr).expect("stderr");
    }
    Run { code: status.code(), signal: status.signal(), stdout, stderr }
}

/// Runs `cmd` with no stdin and its output captured, at most `limit` (see [`finish`]).
pub fn run(cmd: &mut Command, limit: Duration) -> Run {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    finish(child, limit, &format!("{cmd:?}"))
}

/// Polls `ok` every 50 ms for at most `limit`; whether it came true.
pub fn wait_until(limit: Duration, mut ok: impl FnMut() -> bool) -> bool {
    let t = Instant::now();
    while t.elapsed() < limit {
        if ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Every whole record in the recorder's state directory (`watch/watch-N.jsonl`, in N order). A file removed
/// while listed reads as empty: the fault tests remove them on purpose.
pub fn records(state: &Path) -> Vec<WatchRecord> {
    let mut files: Vec<(u64, PathBuf)> = fs::read_dir(state.join("watch"))
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| {
                    let n = e.file_name().to_str()?.strip_prefix("watch-")?.strip_suffix(".jsonl")?.parse().ok()?;
                    Some((n, e.path()))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut out = Vec::new();
    for (_, f) in files {
        // Whole lines only: the recorder may be writing the last one as it is read.
        let text = fs::read_to_string(&f).unwrap_or_default();
        for line in text.split_inclusive('\n').filter_map(|l| l.strip_suffix('\n')) {
            out.push(serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")));
        }
    }
    out
}

/// `len` bytes of xorshift noise: gzip cannot shrink them, so they fill a small file system for real.
pub fn noise(len: usize) -> Vec<u8> {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}
