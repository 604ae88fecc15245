//! The process table at collection time, read directly from `/proc` (never `ps`), as
//! `live/proc/processes.json` ([`ProcSnapshot`]). Each record keeps the raw `stat` line and `limits` text.
//!
//! `/proc` changes under our feet: a process that exits between listing and reading becomes a
//! [`ProcProblem`] and the walk goes on. Unreadable fields (`exe` of another user's process without root)
//! are left empty and counted once per file, not once per process.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use coroner_schemas::manifest::{Category, Format, Status};
use coroner_schemas::proc::{ProcProblem, ProcSnapshot, ProcessRecord};
use coroner_schemas::{Text, Utc};

use super::fsutil::{self, read_capped, readlink};
use super::{host, CaptureItem, Ctx, Item};

pub const BUNDLE_PATH: &str = "live/proc/processes.json";

/// Cap on one `/proc/PID/*` file (cmdline can be up to ARG_MAX; limits and status are small).
const PER_FILE_CAP: u64 = 1 << 20;

/// Fields of `/proc/PID/stat` the snapshot uses (proc(5) numbering in the comments).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stat {
    /// (1) pid.
    pub pid: i64,
    /// (2) comm: the bytes between the first `(` and the *last* `)` (a comm may itself hold `) `).
    pub comm: Vec<u8>,
    /// (3) state.
    pub state: Option<String>,
    /// (4) ppid, (5) pgrp, (6) session, (7) tty_nr.
    pub ppid: Option<i64>,
    pub pgrp: Option<i64>,
    pub session: Option<i64>,
    pub tty_nr: Option<i64>,
    /// (19) nice, (20) num_threads.
    pub nice: Option<i64>,
    pub num_threads: Option<i64>,
    /// (22) starttime, clock ticks after boot.
    pub starttime: Option<u64>,
    /// (23) vsize in bytes, (24) rss in pages.
    pub vsize: Option<u64>,
    pub rss_pages: Option<i64>,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum StatError {
    #[error("no '(' … ')' around comm")]
    NoComm,
    #[error("pid field is not a number")]
    BadPid,
}

/// Parses a `/proc/PID/stat` line. Fields after comm that are missing (truncated line) or not numbers are
/// `None`; only a line without a pid and a parenthesised comm is an error.
pub fn parse_stat(raw: &[u8]) -> Result<Stat, StatError> {
    let open = raw.iter().position(|&b| b == b'(').ok_or(StatError::NoComm)?;
    let close = raw.iter().rposition(|&b| b == b')').ok_or(StatError::NoComm)?;
    if close < open {
        return Err(StatError::NoComm);
    }
    let pid = std::str::from_utf8(raw.get(..open).unwrap_or_default())
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .ok_or(StatError::BadPid)?;
    let comm = raw.get(open + 1..close).unwrap_or_default().to_vec();
    let rest = raw.get(close + 1..).unwrap_or_default();
    let rest = String::from_utf8_lossy(rest);
    // f[0] is field (3) state, f[k] is field (k + 3).
    let f: Vec<&str> = rest.split_ascii_whitespace().collect();
    let int = |field: usize| f.get(field - 3).and_then(|s| s.parse::<i64>().ok());
    let uint = |field: usize| f.get(field - 3).and_then(|s| s.parse::<u64>().ok());
    Ok(Stat {
        pid,
        comm,
        state: f.first().filter(|s| s.len() == 1).map(|s| (*s).to_owned()),
        ppid: int(4),
        pgrp: int(5),
        session: int(6),
        tty_nr: int(7),
        nice: int(19),
        num_threads: int(20),
        starttime: uint(22),
        vsize: uint(23),
        rss_pages: int(24),
    })
}

/// `btime + ticks / clk_tck` exactly, in integers (procfs's f32 arithmetic is off by seconds after a year).
pub fn start_time(btime: u64, ticks: u64, clk_tck: u64) -> Option<Utc> {
    if clk_tck == 0 {
        return None;
    }
    let secs = btime.checked_add(ticks / clk_tck)?;
    let nanos = u128::from(ticks % clk_tck) * 1_000_000_000 / u128::from(clk_tck);
    Utc::from_unix(i64::try_from(secs).ok()?, u32::try_from(nanos).ok()?)
}

/// The parts of `/proc/PID/status` the snapshot uses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcStatus {
    pub uids: Vec<u32>,
    pub gids: Vec<u32>,
    pub threads: Option<i64>,
    pub sig_pnd: Option<String>,
    pub sig_blk: Option<String>,
    pub sig_ign: Option<String>,
    pub sig_cgt: Option<String>,
}

/// Parses `/proc/PID/status` (`Key:\tvalue` lines); unknown or malformed lines are ignored.
pub fn parse_status(raw: &[u8]) -> ProcStatus {
    let mut s = ProcStatus::default();
    for line in raw.split(|&b| b == b'\n') {
        let Ok(line) = std::str::from_utf8(line) else { continue };
        let Some((k, v)) = line.split_once(':') else { continue };
        let v = v.trim();
        let ids = || {
            v.split_ascii_whitespace()
                .filter_map(|x| x.parse::<u32>().ok())
                .collect::<Vec<_>>()
        };
        match k {
            "Uid" => s.uids = ids(),
            "Gid" => s.gids = ids(),
            "Threads" => s.threads = v.parse().ok(),
            "SigPnd" => s.sig_pnd = Some(v.to_owned()),
            "SigBlk" => s.sig_blk = Some(v.to_owned()),
            "SigIgn" => s.sig_ign = Some(v.to_owned()),
            "SigCgt" => s.sig_cgt = Some(v.to_owned()),
            _ => {}
        }
    }
    s
}

/// `pid:[4026531836]` → 4026531836.
pub fn parse_ns_link(target: &[u8]) -> Option<u64> {
    let s = std::str::from_utf8(target).ok()?;
    let inner = s.rsplit_once(":[")?.1.strip_suffix(']')?;
    inner.parse().ok()
}

/// Accumulates what went wrong during the walk.
struct Walk {
    problems: Vec<ProcProblem>,
    /// File name → pids whose read was denied (reported once per file).
    denied: BTreeMap<String, Vec<i64>>,
}

impl Walk {
    /// Handles a failed optional read of `/proc/PID/FILE`: `true` when the process is gone.
    fn failed(&mut self, pid: i64, dir: &Path, file: &str, e: &io::Error) -> bool {
        match e.raw_os_error() {
            Some(libc::EACCES) | Some(libc::EPERM) => {
                self.denied.entry(file.to_owned()).or_default().push(pid);
                false
            }
            Some(libc::ENOENT) | Some(libc::ESRCH) => {
                // Still there: a kernel thread has no exe, which is not a problem. Gone: it exited.
                !dir.exists()
            }
            _ => {
                self.problems.push(ProcProblem {
                    pid: Some(pid),
                    file: file.to_owned(),
                    message: e.to_string(),
                });
                false
            }
        }
    }
}

/// Reads one process. `None` when it vanished before its stat could be read.
fn read_process(
    ctx: &Ctx,
    proc_root: &Path,
    pid: i64,
    btime: u64,
    clk_tck: u64,
    page: u64,
    w: &mut Walk,
) -> Option<ProcessRecord> {
    let dir = proc_root.join(pid.to_string());
    let stat_raw = match read_capped(&dir.join("stat"), PER_FILE_CAP) {
        Ok(b) => b,
        Err(e) => {
            let gone = matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ESRCH));
            w.problems.push(ProcProblem {
                pid: Some(pid),
                file: "stat".into(),
                message: if gone {
                    "vanished before it could be read".into()
                } else {
                    e.to_string()
                },
            });
            return None;
        }
    };
    let mut rec = ProcessRecord {
        stat_raw: Some(Text::from_bytes(&stat_raw)),
        ..ProcessRecord::new(pid)
    };
    match parse_stat(&stat_raw) {
        Ok(st) => {
            if st.pid != pid {
                w.problems.push(ProcProblem {
                    pid: Some(pid),
                    file: "stat".into(),
                    message: format!("stat says pid {}", st.pid),
                });
            }
            rec.comm = Some(Text::from_bytes(&st.comm));
            rec.state = st.state;
            rec.ppid = st.ppid;
            rec.pgid = st.pgrp;
            rec.sid = st.session;
            rec.tty_nr = st.tty_nr;
            rec.nice = st.nice;
            rec.threads = st.num_threads;
            rec.starttime_ticks = st.starttime;
            rec.start_time = st.starttime.and_then(|t| start_time(btime, t, clk_tck));
            rec.vsize_bytes = st.vsize;
            rec.rss_bytes = st
                .rss_pages
                .and_then(|p| u64::try_from(p).ok())
                .and_then(|p| p.checked_mul(page));
            if st.starttime.is_none() {
                w.problems.push(ProcProblem {
                    pid: Some(pid),
                    file: "stat".into(),
                    message: "truncated stat line".into(),
                });
            }
        }
        Err(e) => w.problems.push(ProcProblem {
            pid: Some(pid),
            file: "stat".into(),
            message: e.to_string(),
        }),
    }
    let mut gone = false;
    macro_rules! read_or {
        ($file:expr, $reader:expr) => {
            match $reader(&dir.join($file)) {
                Ok(v) => Some(v),
                Err(e) => {
                    gone |= w.failed(pid, &dir, $file, &e);
                    None
                }
            }
        };
    }
    let cap = |p: &Path| read_capped(p, PER_FILE_CAP);
    if let Some(b) = read_or!("status", cap) {
        let s = parse_status(&b);
        rec.user = s
            .uids
            .first()
            .and_then(|&u| ctx.accounts.user_name(u))
            .map(str::to_owned);
        rec.euser = s
            .uids
            .get(1)
            .and_then(|&u| ctx.accounts.user_name(u))
            .map(str::to_owned);
        rec.uids = s.uids;
        rec.gids = s.gids;
        rec.threads = s.threads.or(rec.threads);
        rec.sig_pnd = s.sig_pnd;
        rec.sig_blk = s.sig_blk;
        rec.sig_ign = s.sig_ign;
        rec.sig_cgt = s.sig_cgt;
    }
    if let Some(b) = read_or!("cmdline", cap) {
        let b = b.strip_suffix(b"\0").unwrap_or(&b);
        if !b.is_empty() {
            rec.cmdline = b.split(|&c| c == 0).map(Text::from_bytes).collect();
        }
    }
    rec.exe = read_or!("exe", |p: &Path| readlink(p)).map(|b| Text::from_bytes(&b));
    rec.cwd = read_or!("cwd", |p: &Path| readlink(p)).map(|b| Text::from_bytes(&b));
    let num = |b: Vec<u8>| String::from_utf8_lossy(&b).trim().parse::<i64>().ok();
    rec.oom_score = read_or!("oom_score", cap).and_then(num);
    rec.oom_score_adj = read_or!("oom_score_adj", cap).and_then(num);
    rec.loginuid = read_or!("loginuid", cap)
        .and_then(num)
        .and_then(|v| u32::try_from(v).ok());
    rec.sessionid = read_or!("sessionid", cap)
        .and_then(num)
        .and_then(|v| u32::try_from(v).ok());
    if let Some(b) = read_or!("cgroup", cap) {
        if std::str::from_utf8(&b).is_err() {
            w.problems.push(ProcProblem {
                pid: Some(pid),
                file: "cgroup".into(),
                message: "not UTF-8; shown lossily".into(),
            });
        }
        rec.cgroups = String::from_utf8_lossy(&b)
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
    }
    rec.limits = read_or!("limits", cap).map(|b| Text::from_bytes(&b));
    match std::fs::read_dir(dir.join("ns")) {
        Ok(rd) => {
            let mut names: Vec<String> = rd
                .flatten()
                .filter_map(|e| e.file_name().to_str().map(str::to_owned))
                .collect();
            names.sort();
            for n in names {
                let file = format!("ns/{n}");
                if let Some(ino) = read_or!(&file, |p: &Path| readlink(p)).and_then(|t| parse_ns_link(&t)) {
                    rec.namespaces.insert(n, ino);
                }
            }
        }
        Err(e) => gone |= w.failed(pid, &dir, "ns", &e),
    }
    if gone {
        w.problems.push(ProcProblem {
            pid: Some(pid),
            file: String::new(),
            message: "exited while being read; record is partial".into(),
        });
    }
    Some(rec)
}

/// Walks `proc_root` (`/proc`) and builds the snapshot.
pub fn snapshot(ctx: &Ctx, proc_root: &Path) -> io::Result<ProcSnapshot> {
    let taken = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| Utc::from_unix(i64::try_from(d.as_secs()).ok()?, d.subsec_nanos()))
        .unwrap_or(Utc(time::OffsetDateTime::UNIX_EPOCH));
    let mut w = Walk {
        problems: Vec::new(),
        denied: BTreeMap::new(),
    };
    let btime = match read_capped(&proc_root.join("stat"), fsutil::LIVE_CAP)
        .ok()
        .and_then(|b| host::parse_btime(&b))
    {
        Some(b) => b,
        None => {
            w.problems.push(ProcProblem {
                pid: None,
                file: "stat".into(),
                message: "no btime in /proc/stat; start times unknown".into(),
            });
            0
        }
    };
    let clk_tck = Some(rustix::param::clock_ticks_per_second()).filter(|&v| v > 0).unwrap_or(100);
    let page = rustix::param::page_size() as u64;
    let mut pids: Vec<i64> = std::fs::read_dir(proc_root)?
        .flatten()
        .filter_map(|e| {
            let n = e.file_name();
            let n = n.to_str()?;
            if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            n.parse().ok()
        })
        .collect();
    pids.sort_unstable();
    let mut processes = Vec::with_capacity(pids.len());
    for pid in pids {
        if let Some(mut rec) = read_process(ctx, proc_root, pid, btime, clk_tck, page, &mut w) {
            if btime == 0 {
                rec.start_time = None;
            }
            processes.push(rec);
        }
    }
    for (file, pids) in &w.denied {
        let shown: Vec<String> = pids.iter().take(10).map(i64::to_string).collect();
        let more = if pids.len() > shown.len() { ", …" } else { "" };
        w.problems.push(ProcProblem {
            pid: None,
            file: file.clone(),
            message: format!(
                "permission denied for {} processes (pids {}{more})",
                pids.len(),
                shown.join(", ")
            ),
        });
    }
    Ok(ProcSnapshot {
        taken,
        btime,
        clk_tck,
        page_size: page,
        processes,
        problems: w.problems,
    })
}

/// How many problems the process snapshot among `items` records inside itself (processes or fields that could
/// not be read), so the summary counts what the report will list as the collector's. It reads back only the
/// snapshot this collector wrote.
pub fn recorded_problems(items: &[Item]) -> usize {
    items
        .iter()
        .filter_map(|i| match i {
            Item::Capture(c) if c.bundle_path == BUNDLE_PATH => ProcSnapshot::from_bytes(&c.data).ok(),
            _ => None,
        })
        .map(|(s, _)| s.problems.len())
        .sum()
}

pub fn collect(ctx: &Ctx, out: &mut Vec<Item>) {
    let (cat, fmt) = (Category::Proc, Format::ProcSnapshotJson);
    if !ctx.live {
        out.push(fsutil::not_live(BUNDLE_PATH, "/proc", cat, fmt));
        return;
    }
    let item = match snapshot(ctx, &PathBuf::from("/proc")) {
        Ok(s) => match s.to_bytes() {
            Ok(data) => {
                Item::Capture(CaptureItem {
                    bundle_path: BUNDLE_PATH.into(),
                    source: "/proc".into(),
                    category: cat,
                    format: fmt,
                    account: None,
                    data,
                    status: Status::Ok,
                    command: None,
                })
            }
            Err(e) => fsutil::absent(BUNDLE_PATH, "/proc", cat, fmt, Status::Io { message: e.to_string() }),
        },
        Err(e) => fsutil::absent(BUNDLE_PATH, "/proc", cat, fmt, fsutil::status_of(&e)),
    };
    out.push(item);
}

#[cfg(test)]
mod tests {
    use super::*;

    // A real stat line of this host (bash, pid 1234), then hostile variants.
    const BASH: &[u8] = b"1234 (bash) S 1200 1234 1234 34816 1300 4194560 1200 3000 0 1 2 3 4 5 20 0 1 0 45678 8409088 1250 18446744073709551615 1 1 0 0 0 0 65536 3686404 1266761467 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n";

    #[test]
    fn stat_of_a_normal_process() {
        let s = parse_stat(BASH).expect("parses");
        assert_eq!(
            (s.pid, s.comm.as_slice(), s.state.as_deref()),
            (1234, &b"bash"[..], Some("S"))
        );
        assert_eq!(
            (s.ppid, s.pgrp, s.session, s.tty_nr),
            (Some(1200), Some(1234), Some(1234), Some(34816))
        );
        assert_eq!((s.nice, s.num_threads, s.starttime), (Some(0), Some(1), Some(45678)));
        assert_eq!((s.vsize, s.rss_pages), (Some(8_409_088), Some(1250)));
    }

    #[test]
    fn hostile_comm_with_paren_space() {
        // comm `a) (b` — a naive split at the first ')' would read "(b" as the state.
        let s = parse_stat(b"77 (a) (b) R 1 77 77 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 999 100 2 0\n").expect("parses");
        assert_eq!(s.comm, b"a) (b");
        assert_eq!(s.state.as_deref(), Some("R"));
        assert_eq!(s.ppid, Some(1));
        assert_eq!(s.starttime, Some(999));
        // comm holding a newline-free but non-UTF-8 byte and spaces.
        let s = parse_stat(b"8 ( \xff x ) S 2 0 0 0 -1\n").expect("parses");
        assert_eq!(s.comm, b" \xff x ");
        assert_eq!(s.ppid, Some(2));
        assert_eq!(s.starttime, None);
    }

    #[test]
    fn truncated_and_garbage_stat() {
        let s = parse_stat(b"1234 (bash) S 1200 12").expect("partial is fine");
        assert_eq!(
            (s.ppid, s.pgrp, s.session, s.starttime),
            (Some(1200), Some(12), None, None)
        );
        assert_eq!(parse_stat(b"1234 (bash"), Err(StatError::NoComm));
        assert_eq!(parse_stat(b""), Err(StatError::NoComm));
        assert_eq!(parse_stat(b")( x"), Err(StatError::NoComm));
        assert_eq!(parse_stat(b"abc (x) S 1"), Err(StatError::BadPid));
        assert_eq!(parse_stat(b"\xff\xfe(\x00)"), Err(StatError::BadPid));
        let s = parse_stat(b"5 (x) SS notanumber -3").expect("parses");
        assert_eq!((s.state, s.ppid, s.pgrp), (None, None, Some(-3)));
    }

    #[test]
    fn start_time_is_exact_integer_arithmetic() {
        // btime 1764201600 (2025-11-27T00:00:00Z), 3 years of uptime at 100 Hz plus 0.37 s: f32 would be ~7 s off.
        let ticks = 3 * 365 * 86_400 * 100 + 37;
        let t = start_time(1_764_201_600, ticks, 100).expect("in range");
        assert_eq!(t.unix_seconds(), 1_764_201_600 + 3 * 365 * 86_400);
        assert_eq!(t.rfc3339(), "2028-11-26T00:00:00.370000Z");
        assert_eq!(
            start_time(1_700_000_000, 1, 3).map(|t| t.rfc3339()).as_deref(),
            Some("2023-11-14T22:13:20.333333Z")
        );
        assert_eq!(start_time(1, 1, 0), None);
        assert_eq!(start_time(u64::MAX, 100, 100), None);
    }

    #[test]
    fn status_and_ns() {
        let s = parse_status(
            b"Name:\tbash\nUid:\t1000\t1000\t1000\t1000\nGid:\t100\t100\t100\t100\nThreads:\t3\nSigPnd:\t0000000000000000\nSigBlk:\t0000000000010000\nSigIgn:\t0000000000380004\nSigCgt:\t000000004b817efb\n\xff\n",
        );
        assert_eq!(s.uids, vec![1000; 4]);
        assert_eq!(s.gids, vec![100; 4]);
        assert_eq!(s.threads, Some(3));
        assert_eq!(s.sig_cgt.as_deref(), Some("000000004b817efb"));
        assert_eq!(parse_ns_link(b"pid:[4026531836]"), Some(4_026_531_836));
        assert_eq!(parse_ns_link(b"pid_for_children:[4026531836]"), Some(4_026_531_836));
        assert_eq!(parse_ns_link(b"garbage"), None);
    }
}
