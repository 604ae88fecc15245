//! Lines of a tracefs `trace_pipe` with `options/record-tgid` on, as the kernel prints them:
//!
//! ```text
//!             bash-23468   (  23468) [000] d..1.  9469.930756: signal_generate: sig=9 errno=0 code=0 comm=victim-sleep pid=23461 grp=1 res=0
//! ```
//!
//! The header is `COMM-TID (TGID) [CPU] FLAGS SECS.USECS: EVENT: `, then the event's `print fmt`. Pure: a line
//! in, a [`TraceLine`] or a [`TraceError`] out. `comm` is attacker-chosen but at most 15 bytes
//! (TASK_COMM_LEN), so a field pattern longer than that cannot hide inside it; paths (`filename=`) are
//! unbounded, so their fields are read from the right, where the kernel's numeric fields are.

use thiserror::Error;

use super::tracefs::ARGV_SLOTS;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum TraceError {
    #[error("no trace header (COMM-TID (TGID) [CPU] FLAGS TIME: EVENT:)")]
    Header,
    #[error("{event}: fields not as the kernel prints them")]
    Fields { event: String },
}

/// One parsed line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceLine {
    /// The running task's comm, as the trace's saved-cmdlines cache gives it (`<...>` when it has none).
    pub comm: String,
    /// The running task (`common_pid`) and its thread group (`record-tgid`; `None` when printed `-------`).
    pub tid: i64,
    pub tgid: Option<i64>,
    pub cpu: u32,
    /// The trace clock's time in nanoseconds (the kernel prints microseconds: the last three digits are 0).
    pub ts_ns: u64,
    pub event: TraceEvent,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceEvent {
    /// `signal/signal_generate`: the *target's* comm and pid; the sender is the running task.
    SignalGenerate { sig: i32, errno: i32, code: i32, comm: String, pid: i64, group: bool, result: i32 },
    /// `signal/signal_deliver`, in the context of the thread it is delivered to (`sa_handler` 0 is SIG_DFL).
    SignalDeliver { sig: i32, errno: i32, code: i32, sa_handler: u64, sa_flags: u64 },
    /// `sched/sched_process_exec`: `pid` is the thread group after exec, `old_pid` the thread that called it.
    Exec { filename: String, pid: i64, old_pid: i64 },
    /// `sched/sched_process_fork`: also fired for new threads (the child's later events tell its tgid).
    Fork { comm: String, pid: i64, child_comm: String, child_pid: i64 },
    /// `sched/sched_process_exit` (no exit code in this tracepoint).
    Exit { comm: String, pid: i64, prio: i32, group_dead: bool },
    /// `oom/mark_victim` (sizes in kB).
    MarkVictim {
        pid: i64,
        comm: String,
        total_vm_kb: u64,
        anon_rss_kb: u64,
        file_rss_kb: u64,
        shmem_rss_kb: u64,
        uid: u32,
        pgtables_kb: u64,
        oom_score_adj: i64,
    },
    /// The recorder's `coroner/argv` uprobe at the dynamic loader's entry: `argc` and the first
    /// [`ARGV_SLOTS`] arguments (fewer when `argc` is smaller).
    Argv { argc: u64, args: Vec<String> },
    /// Another event: kept by name, not parsed.
    Other { name: String },
}

/// Parses one line (without its `\n`).
pub fn parse(line: &str) -> Result<TraceLine, TraceError> {
    let s = line.trim_start_matches(' ');
    // The comm is at most 15 bytes (more with the kernel's `<...>`), so the dash ending it is near the start;
    // try each candidate and keep the first whose remainder is a whole header.
    for (i, _) in s.match_indices('-').take_while(|(i, _)| *i <= 20) {
        if let Some(h) = header_after(&s[i + 1..]) {
            let event = event(h.name, h.body)?;
            return Ok(TraceLine { comm: s[..i].to_owned(), tid: h.tid, tgid: h.tgid, cpu: h.cpu, ts_ns: h.ts_ns, event });
        }
    }
    Err(TraceError::Header)
}

/// A header's parts after the comm.
struct Header<'a> {
    tid: i64,
    tgid: Option<i64>,
    cpu: u32,
    ts_ns: u64,
    name: &'a str,
    body: &'a str,
}

/// `TID (TGID) [CPU] FLAGS SECS.FRAC: NAME: BODY` after the comm's dash.
fn header_after(s: &str) -> Option<Header<'_>> {
    let (tid, rest) = split_num(s)?;
    let rest = rest.trim_start_matches(' ').strip_prefix('(')?;
    let close = rest.find(')')?;
    let tgid_s = rest[..close].trim();
    let tgid = if tgid_s.bytes().all(|b| b == b'-') { None } else { Some(tgid_s.parse().ok()?) };
    let rest = rest[close + 1..].trim_start_matches(' ').strip_prefix('[')?;
    let close = rest.find(']')?;
    let cpu: u32 = rest[..close].parse().ok()?;
    let rest = rest[close + 1..].trim_start_matches(' ');
    // Flags (`d..1.`, irq-info) are one word; without irq-info there is none, and the time comes next.
    let (word, after) = rest.split_once(' ')?;
    let (time, rest) = if word.ends_with(':') {
        (word, after)
    } else {
        after.trim_start_matches(' ').split_once(' ')?
    };
    let ts_ns = parse_time(time.strip_suffix(':')?)?;
    let (name, body) = rest.split_once(": ").or_else(|| rest.strip_suffix(':').map(|n| (n, "")))?;
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return None;
    }
    Some(Header { tid, tgid, cpu, ts_ns, name, body })
}

/// `9469.930756` → ns. Any number of fraction digits up to 9.
fn parse_time(t: &str) -> Option<u64> {
    let (secs, frac) = t.split_once('.').unwrap_or((t, ""));
    if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: u64 = secs.parse().ok()?;
    let frac_ns: u64 = if frac.is_empty() { 0 } else { frac.parse::<u64>().ok()? * 10u64.pow(9 - frac.len() as u32) };
    secs.checked_mul(1_000_000_000)?.checked_add(frac_ns)
}

fn split_num(s: &str) -> Option<(i64, &str)> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    Some((s[..end].parse().ok()?, &s[end..]))
}

fn event(name: &str, body: &str) -> Result<TraceEvent, TraceError> {
    let bad = || TraceError::Fields { event: name.to_owned() };
    match name {
        "signal_generate" => signal_generate(body).ok_or_else(bad),
        "signal_deliver" => signal_deliver(body).ok_or_else(bad),
        "sched_process_exec" => exec(body).ok_or_else(bad),
        "sched_process_fork" => fork(body).ok_or_else(bad),
        "sched_process_exit" => exit(body).ok_or_else(bad),
        "mark_victim" => mark_victim(body).ok_or_else(bad),
        "argv" => argv(body).ok_or_else(bad),
        _ => Ok(TraceEvent::Other { name: name.to_owned() }),
    }
}

/// `key=VALUE` at the start of `s`, VALUE up to the next space (or the end).
fn field<'a>(s: &'a str, key: &str) -> Option<(&'a str, &'a str)> {
    let rest = s.strip_prefix(key)?.strip_prefix('=')?;
    Some(rest.split_once(' ').unwrap_or((rest, "")))
}

fn num<'a, T: std::str::FromStr>(s: &'a str, key: &str) -> Option<(T, &'a str)> {
    let (v, rest) = field(s, key)?;
    Some((v.parse().ok()?, rest))
}

/// `sig=%d errno=%d code=%d comm=%s pid=%d grp=%d res=%d`
fn signal_generate(b: &str) -> Option<TraceEvent> {
    let (sig, r) = num(b, "sig")?;
    let (errno, r) = num(r, "errno")?;
    let (code, r) = num(r, "code")?;
    let r = r.strip_prefix("comm=")?;
    // The numeric tail has no spaces in it, so the last " pid=" is the kernel's.
    let at = r.rfind(" pid=")?;
    let comm = &r[..at];
    let (pid, t) = num(&r[at + 1..], "pid")?;
    let (grp, t) = num::<i32>(t, "grp")?;
    let (result, t) = num(t, "res")?;
    t.is_empty().then(|| TraceEvent::SignalGenerate { sig, errno, code, comm: comm.to_owned(), pid, group: grp != 0, result })
}

/// `sig=%d errno=%d code=%d sa_handler=%lx sa_flags=%lx`
fn signal_deliver(b: &str) -> Option<TraceEvent> {
    let (sig, r) = num(b, "sig")?;
    let (errno, r) = num(r, "errno")?;
    let (code, r) = num(r, "code")?;
    let (h, r) = field(r, "sa_handler")?;
    let (f, t) = field(r, "sa_flags")?;
    let (sa_handler, sa_flags) = (u64::from_str_radix(h, 16).ok()?, u64::from_str_radix(f, 16).ok()?);
    t.is_empty().then_some(TraceEvent::SignalDeliver { sig, errno, code, sa_handler, sa_flags })
}

/// `filename=%s pid=%d old_pid=%d`: the path may hold anything, so read from the right.
fn exec(b: &str) -> Option<TraceEvent> {
    let at = b.rfind(" old_pid=")?;
    let old_pid = b[at + 9..].parse().ok()?;
    let head = &b[..at];
    let at = head.rfind(" pid=")?;
    let pid = head[at + 5..].parse().ok()?;
    let filename = head[..at].strip_prefix("filename=")?;
    Some(TraceEvent::Exec { filename: filename.to_owned(), pid, old_pid })
}

/// `comm=%s pid=%d child_comm=%s child_pid=%d`: " pid=N child_comm=" is longer than any comm.
fn fork(b: &str) -> Option<TraceEvent> {
    let r = b.strip_prefix("comm=")?;
    for (at, _) in r.match_indices(" pid=") {
        let after = &r[at + 5..];
        let Some((pid, rest)) = split_num(after) else { continue };
        let Some(rest) = rest.strip_prefix(" child_comm=") else { continue };
        let cp = rest.rfind(" child_pid=")?;
        let child_pid = rest[cp + 11..].parse().ok()?;
        return Some(TraceEvent::Fork {
            comm: r[..at].to_owned(),
            pid,
            child_comm: rest[..cp].to_owned(),
            child_pid,
        });
    }
    None
}

/// `comm=%s pid=%d prio=%d group_dead=%s`
fn exit(b: &str) -> Option<TraceEvent> {
    let r = b.strip_prefix("comm=")?;
    let at = r.rfind(" pid=")?;
    let (pid, t) = num(&r[at + 1..], "pid")?;
    let (prio, t) = num(t, "prio")?;
    let (dead, t) = field(t, "group_dead")?;
    let group_dead = match dead {
        "true" | "1" => true,
        "false" | "0" => false,
        _ => return None,
    };
    t.is_empty().then(|| TraceEvent::Exit { comm: r[..at].to_owned(), pid, prio, group_dead })
}

/// `pid=%d comm=%s total-vm=%lukB anon-rss=%lukB file-rss:%lukB shmem-rss:%lukB uid=%u pgtables=%lukB
/// oom_score_adj=%hd` (the kernel's mix of `=` and `:`).
fn mark_victim(b: &str) -> Option<TraceEvent> {
    let (pid, r) = num(b, "pid")?;
    let r = r.strip_prefix("comm=")?;
    let at = r.rfind(" total-vm=")?;
    let comm = &r[..at];
    let kb = |t: &str, key: &str| -> Option<(u64, String)> {
        let rest = t.strip_prefix(key)?;
        let (v, rest) = rest.split_once(' ').unwrap_or((rest, ""));
        Some((v.strip_suffix("kB")?.parse().ok()?, rest.to_owned()))
    };
    let (total_vm_kb, t) = kb(&r[at + 1..], "total-vm=")?;
    let (anon_rss_kb, t) = kb(&t, "anon-rss=")?;
    let (file_rss_kb, t) = kb(&t, "file-rss:")?;
    let (shmem_rss_kb, t) = kb(&t, "shmem-rss:")?;
    let (uid, t) = num(&t, "uid")?;
    let (pgtables_kb, t) = kb(t, "pgtables=")?;
    let (oom_score_adj, t) = num(&t, "oom_score_adj")?;
    t.is_empty().then(|| TraceEvent::MarkVictim {
        pid,
        comm: comm.to_owned(),
        total_vm_kb,
        anon_rss_kb,
        file_rss_kb,
        shmem_rss_kb,
        uid,
        pgtables_kb,
        oom_score_adj,
    })
}

/// `(0xIP) argc=%llu a0="…" a1="…" …`: the kernel prints the strings between quotes without escaping them,
/// so an argument holding `" a3=` could end early. Each split is tried until the whole line reads back: the
/// slot after the last argument must be the NULL (`(fault)`) that ends argv. A line that never reads back
/// (or an argument the probe could not read) is an error, and argv then comes from `/proc` alone.
fn argv(b: &str) -> Option<TraceEvent> {
    let r = b.strip_prefix('(')?;
    let r = &r[r.find(") ")? + 2..];
    let (argc, r) = num::<u64>(r, "argc")?;
    let n = usize::try_from(argc).ok()?.min(ARGV_SLOTS);
    let mut args = Vec::with_capacity(n);
    let mut budget = 10_000u32;
    split_args(r, 0, n, &mut args, &mut budget).then_some(TraceEvent::Argv { argc, args })
}

/// Reads `a{i}="…"` for i in `i..n` from `r` into `out`, backtracking over the possible ends of each value.
fn split_args(r: &str, i: usize, n: usize, out: &mut Vec<String>, budget: &mut u32) -> bool {
    *budget = budget.saturating_sub(1);
    if *budget == 0 {
        return false;
    }
    if i == n {
        // argv's NULL follows the last argument, unless every slot held one.
        return if n < ARGV_SLOTS { r.starts_with(&format!("a{n}=(fault)")) } else { r.is_empty() };
    }
    let Some(v) = r.strip_prefix(&format!("a{i}=\"")) else { return false };
    if i + 1 == ARGV_SLOTS {
        return match v.strip_suffix('"') {
            Some(last) if i + 1 == n => {
                out.push(last.to_owned());
                true
            }
            _ => false,
        };
    }
    let sep = format!("\" a{}=", i + 1);
    for (end, _) in v.match_indices(&sep) {
        out.push(v[..end].to_owned());
        if split_args(&v[end + 2..], i + 1, n, out, budget) {
            return true;
        }
        out.pop();
    }
    false
}

/// `si_code` names (`siginfo.h`): the generic ones, then the per-signal fault codes.
pub fn code_name(sig: i32, code: i32) -> String {
    let generic = match code {
        0 => Some("SI_USER"),
        0x80 => Some("SI_KERNEL"),
        -1 => Some("SI_QUEUE"),
        -2 => Some("SI_TIMER"),
        -3 => Some("SI_MESGQ"),
        -4 => Some("SI_ASYNCIO"),
        -5 => Some("SI_SIGIO"),
        -6 => Some("SI_TKILL"),
        -7 => Some("SI_DETHREAD"),
        -60 => Some("SI_ASYNCNL"),
        _ => None,
    };
    if let Some(g) = generic {
        return g.to_owned();
    }
    let table: &[&str] = match sig {
        4 => &["ILL_ILLOPC", "ILL_ILLOPN", "ILL_ILLADR", "ILL_ILLTRP", "ILL_PRVOPC", "ILL_PRVREG", "ILL_COPROC", "ILL_BADSTK", "ILL_BADIADDR"],
        5 => &["TRAP_BRKPT", "TRAP_TRACE", "TRAP_BRANCH", "TRAP_HWBKPT", "TRAP_UNK", "TRAP_PERF"],
        7 => &["BUS_ADRALN", "BUS_ADRERR", "BUS_OBJERR", "BUS_MCEERR_AR", "BUS_MCEERR_AO"],
        8 => &["FPE_INTDIV", "FPE_INTOVF", "FPE_FLTDIV", "FPE_FLTOVF", "FPE_FLTUND", "FPE_FLTRES", "FPE_FLTINV", "FPE_FLTSUB", "FPE_FLTUNK", "FPE_CONDTRAP"],
        11 => &["SEGV_MAPERR", "SEGV_ACCERR", "SEGV_BNDERR", "SEGV_PKUERR", "SEGV_ACCADI", "SEGV_ADIDERR", "SEGV_ADIPERR", "SEGV_MTEAERR", "SEGV_MTESERR", "SEGV_CPERR"],
        17 => &["CLD_EXITED", "CLD_KILLED", "CLD_DUMPED", "CLD_TRAPPED", "CLD_STOPPED", "CLD_CONTINUED"],
        29 => &["POLL_IN", "POLL_OUT", "POLL_MSG", "POLL_ERR", "POLL_PRI", "POLL_HUP"],
        31 => &["SYS_SECCOMP", "SYS_USER_DISPATCH"],
        _ => &[],
    };
    usize::try_from(code)
        .ok()
        .and_then(|c| c.checked_sub(1))
        .and_then(|i| table.get(i))
        .map_or_else(|| format!("code {code}"), |s| (*s).to_owned())
}

/// The kernel made this signal itself: SI_KERNEL (OOM killer, `PR_SET_PDEATHSIG`, a timer's SIGALRM…), a
/// fault's positive si_code, or a resource limit (SIGXCPU 24, SIGXFSZ 25).
pub fn kernel_originated(sig: i32, code: i32) -> bool {
    code > 0 || matches!(sig, 24 | 25)
}

/// `signal_generate`'s `res` (`TRACE_SIGNAL_*` in `include/trace/events/signal.h`).
pub fn result_name(res: i32) -> String {
    match res {
        0 => "delivered".to_owned(),
        1 => "ignored".to_owned(),
        2 => "already_pending".to_owned(),
        3 => "overflow_fail".to_owned(),
        4 => "lose_info".to_owned(),
        n => format!("result {n}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = include_str!("../../../fixtures/watch/trace_pipe.txt");

    fn lines() -> impl Iterator<Item = &'static str> {
        FIXTURE.lines().filter(|l| !l.starts_with('#'))
    }

    #[test]
    fn every_line_of_the_real_capture_parses() {
        let mut kinds = std::collections::BTreeMap::new();
        for l in lines() {
            let t = parse(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            let k = match t.event {
                TraceEvent::SignalGenerate { .. } => "generate",
                TraceEvent::SignalDeliver { .. } => "deliver",
                TraceEvent::Exec { .. } => "exec",
                TraceEvent::Fork { .. } => "fork",
                TraceEvent::Exit { .. } => "exit",
                TraceEvent::MarkVictim { .. } => "victim",
                TraceEvent::Argv { .. } => "argv",
                TraceEvent::Other { .. } => "other",
            };
            *kinds.entry(k).or_insert(0) += 1;
        }
        for k in ["generate", "deliver", "exec", "fork", "exit", "victim"] {
            assert!(kinds.get(k).copied().unwrap_or(0) > 0, "no {k} line parsed: {kinds:?}");
        }
    }

    #[test]
    fn kill_from_a_short_lived_bash() {
        let l = lines().find(|l| l.contains("signal_generate: sig=9 errno=0 code=0 comm=victim-sleep")).expect("in fixture");
        let t = parse(l).expect("parses");
        assert_eq!((t.comm.as_str(), t.tid, t.tgid, t.cpu), ("bash", 23468, Some(23468), 0));
        assert_eq!(t.ts_ns, 9_469_930_756_000);
        assert_eq!(
            t.event,
            TraceEvent::SignalGenerate { sig: 9, errno: 0, code: 0, comm: "victim-sleep".into(), pid: 23461, group: true, result: 0 }
        );
    }

    #[test]
    fn a_thread_shows_its_group() {
        let l = lines().find(|l| l.contains("coordinator-23456") && l.contains("signal_generate")).expect("in fixture");
        let t = parse(l).expect("parses");
        assert_eq!((t.tid, t.tgid), (23456, Some(23440)));
        assert!(matches!(t.event, TraceEvent::SignalGenerate { code: -6, group: false, .. }));
        assert_eq!(code_name(10, -6), "SI_TKILL");
    }

    #[test]
    fn exec_fork_exit_and_oom_victim() {
        let find = |pat: &str| parse(lines().find(|l| l.contains(pat)).expect(pat)).expect(pat).event;
        assert_eq!(
            find("sched_process_exec: filename=/tmp/fake-daemond"),
            TraceEvent::Exec { filename: "/tmp/fake-daemond".into(), pid: 23471, old_pid: 23471 }
        );
        assert_eq!(
            find("child_pid=23468"),
            TraceEvent::Fork { comm: "bash".into(), pid: 23449, child_comm: "bash".into(), child_pid: 23468 }
        );
        assert_eq!(
            find("sched_process_exit: comm=victim-sleep pid=23461"),
            TraceEvent::Exit { comm: "victim-sleep".into(), pid: 23461, prio: 120, group_dead: true }
        );
        let TraceEvent::MarkVictim { pid, comm, anon_rss_kb, uid, oom_score_adj, .. } = find("mark_victim:") else {
            panic!("not a victim")
        };
        assert_eq!((pid, comm.as_str(), anon_rss_kb, uid, oom_score_adj), (23896, "python3", 32512, 0, 0));
        // The OOM killer's SIGKILL is SI_KERNEL (128): kernel-originated.
        let TraceEvent::SignalGenerate { sig, code, .. } = find("code=128 comm=python3") else { panic!() };
        assert!(kernel_originated(sig, code));
        assert_eq!(code_name(sig, code), "SI_KERNEL");
    }

    #[test]
    fn argv_from_the_loader_probe() {
        let fx = include_str!("../../../fixtures/watch/argv_uprobe.txt");
        let all: Vec<TraceLine> = fx.lines().filter(|l| !l.starts_with('#')).map(|l| parse(l).expect(l)).collect();
        let args = |i: usize| match &all[i].event {
            TraceEvent::Argv { argc, args } => (*argc, args.clone()),
            e => panic!("{e:?}"),
        };
        let (argc, a) = args(0);
        assert_eq!(argc, 3);
        assert_eq!(a[..2], ["bash", "-c"]);
        assert!(a[2].starts_with("kill -0 $$; /bin/true") && a[2].ends_with(">/dev/null"), "{a:?}");
        // An argument holding `" a3="` of its own: split at `" a4=` it stays whole.
        assert_eq!(args(1), (4, vec!["/bin/true".into(), "a".into(), "b c".into(), "x\" a3=\"y".into()]));
        // More arguments than slots: the first ARGV_SLOTS, and argc says how many there were.
        let (argc, a) = args(2);
        assert_eq!((argc, a.len(), a[11].as_str()), (15, ARGV_SLOTS, "11"));
        assert_eq!(all[3].tgid, Some(19752));
        // Environment strings past argc are never taken.
        assert!(all.iter().all(|t| !matches!(&t.event, TraceEvent::Argv { args, .. } if args.iter().any(|a| a.contains("PATH=")))));
        // A fault within argc is no argv.
        assert!(parse("  x-1 (    1) [000] DBZff 1.000000: argv: (0x1) argc=2 a0=\"x\" a1=(fault) a2=(fault)").is_err());
    }

    #[test]
    fn a_segfault_is_the_kernels_and_a_self_kill_is_not() {
        assert!(kernel_originated(11, 1));
        assert_eq!(code_name(11, 1), "SEGV_MAPERR");
        assert!(!kernel_originated(11, 0));
        assert!(kernel_originated(24, 0));
        assert_eq!(code_name(11, 99), "code 99");
        assert_eq!(result_name(2), "already_pending");
    }

    #[test]
    fn hostile_comms_and_paths_do_not_shift_fields() {
        // A comm holding " pid=" and a dash, and a path holding the exec's own field names.
        let l = "   a pid=1-x-77 (   77) [001] d..1.  5.000001: signal_generate: sig=15 errno=0 code=0 comm=b pid=2 grp=1 pid=3 grp=0 res=0";
        let t = parse(l).expect("parses");
        assert_eq!((t.comm.as_str(), t.tid), ("a pid=1-x", 77));
        assert!(matches!(t.event, TraceEvent::SignalGenerate { pid: 3, group: false, ref comm, .. } if comm == "b pid=2 grp=1"));
        let l = "  sh-9 (    9) [000] .....  1.5: sched_process_exec: filename=/tmp/x pid=1 old_pid=2 pid=9 old_pid=9";
        let TraceEvent::Exec { filename, pid, .. } = parse(l).expect("parses").event else { panic!() };
        assert_eq!((filename.as_str(), pid), ("/tmp/x pid=1 old_pid=2", 9));
        assert_eq!(parse(l).expect("parses").ts_ns, 1_500_000_000);
    }

    #[test]
    fn bad_lines_are_errors_not_panics() {
        for l in ["", "-", "garbage", "  x-1 (1) [0] . 1.0: signal_generate: sig=x", "  x-1 (1) [0] . 1.0: mark_victim: pid=1", "é-1 (é) [0]"] {
            assert!(parse(l).is_err(), "{l:?}");
        }
        // An event we do not know is kept by name.
        let t = parse("  x-1 (   1) [000] ..... 1.000000: signal_clear: sig=17").expect("parses");
        assert_eq!(t.event, TraceEvent::Other { name: "signal_clear".into() });
        let l = "  x-1 (   1) [000] d..1. 1.000000: signal_deliver: sig=15 errno=0 code=0 sa_handler=zz sa_flags=0";
        assert!(parse(l).is_err());
    }

    /// The staged deliveries (fixtures/watch/trace_deliver.txt): a fatal SIGTERM shows as SIGKILL with no handler
    /// in every thread of the group; a caught one as itself, with its handler's address.
    #[test]
    fn deliveries_read_as_the_kernel_wrote_them() {
        let lines: Vec<TraceLine> = include_str!("../../../fixtures/watch/trace_deliver.txt")
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| parse(l).expect(l))
            .collect();
        let d: Vec<(i64, Option<i64>, &TraceEvent)> =
            lines.iter().filter(|t| matches!(t.event, TraceEvent::SignalDeliver { .. })).map(|t| (t.tid, t.tgid, &t.event)).collect();
        assert_eq!(d.len(), 6);
        assert_eq!(d[0], (4510, Some(4510), &TraceEvent::SignalDeliver { sig: 9, errno: 0, code: 0, sa_handler: 0, sa_flags: 0 }));
        assert_eq!(
            d[1],
            (4512, Some(4512), &TraceEvent::SignalDeliver { sig: 15, errno: 0, code: 0, sa_handler: 0x556f_7874_77c0, sa_flags: 0x400_0000 })
        );
        assert!(d[2..].iter().all(|(_, g, e)| *g == Some(4515) && matches!(e, TraceEvent::SignalDeliver { sig: 9, sa_handler: 0, .. })));
    }
}
