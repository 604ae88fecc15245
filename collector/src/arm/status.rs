//! `coroner-collect status`: what is armed and what is not, each gap with the one command that fixes it.
//! Exit 0 when nothing is missing, 1 when something is.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use coroner_schemas::audit_rules::{self, KillCoverage};
use coroner_schemas::watch::{TRACE_INSTANCE, WATCH_SUBDIR};

use super::pieces::*;
use super::state::State;
use super::{command, run, sysctl_path, StatusArgs};

/// Where tracefs may be mounted.
const TRACEFS: &[&str] = &["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];

/// One line of the status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    pub piece: &'static str,
    pub state: Armed,
    pub detail: String,
    /// The one command that closes the gap.
    pub fix: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Armed {
    Yes,
    /// A gap.
    No,
    /// Does not apply on this host (journald not running…).
    NotHere,
}

fn check(piece: &'static str, state: Armed, detail: impl Into<String>, fix: Option<String>) -> Check {
    Check { piece, state, detail: detail.into(), fix }
}

/// Judges the running audit rules and status (`auditctl -l`, `-s`), the way the report judges a bundle's.
pub fn audit_checks(listed: Result<&[u8], String>, status: Option<&[u8]>) -> Vec<Check> {
    let fix = Some("coroner-collect arm --audit".to_owned());
    let listed = match listed {
        Ok(l) => l,
        Err(e) => return vec![check("audit", Armed::No, format!("cannot read the running rules: {e}"), fix)],
    };
    let mut out = Vec::new();
    let (rules, _) = audit_rules::rule_lines(&String::from_utf8_lossy(listed));
    let cov = KillCoverage::of(&rules);
    if cov.covers && cov.gaps.is_empty() {
        out.push(check("audit", Armed::Yes, format!("kill-family syscalls are recorded from every sender on b64 and b32 ({} rule(s))", cov.covering.len()), None));
    } else if cov.covers {
        out.push(check("audit", Armed::No, format!("kill-family syscalls are recorded, but {}", cov.gaps.join("; ")), fix.clone()));
    } else if !cov.covering.is_empty() {
        out.push(check("audit", Armed::No, format!("kill-family syscalls are audited only in part: {}", cov.gaps.join("; ")), fix.clone()));
    } else {
        out.push(check("audit", Armed::No, format!("no loaded rule records kill-family syscalls ({} rule(s) loaded)", rules.len()), fix.clone()));
    }
    match status.and_then(audit_enabled).as_deref() {
        Some("0") => out.push(check("audit", Armed::No, "auditing is off (enabled 0): loaded rules record nothing", fix)),
        Some("1" | "2") | None => {}
        Some(v) => out.push(check("audit", Armed::No, format!("auditctl -s says enabled {v}"), fix)),
    }
    out
}

/// Judges `RLIMIT_CORE` of one process from its `/proc/PID/limits`.
pub fn core_limit_check(who: &str, pid: i32, limits: Option<&[u8]>) -> Check {
    let fix = Some(format!("coroner-collect arm --raise-core-limit {pid}"));
    match limits.and_then(parse_core_limit) {
        None => check("core limit", Armed::No, format!("cannot read the core limit of {who} (pid {pid})"), None),
        Some((Some(0), hard)) => check(
            "core limit",
            Armed::No,
            format!("{who} (pid {pid}) has RLIMIT_CORE 0 (hard {}): it and what it starts leave no core", show_limit(hard)),
            fix,
        ),
        Some((soft, _)) => check("core limit", Armed::Yes, format!("{who} (pid {pid}) may dump cores up to {}", show_limit(soft)), None),
    }
}

fn newest_watch_file(state_dir: &Path) -> Option<(PathBuf, SystemTime)> {
    let rd = std::fs::read_dir(state_dir.join(WATCH_SUBDIR)).ok()?;
    rd.filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".jsonl"))
        .filter_map(|e| Some((e.path(), e.metadata().ok()?.modified().ok()?)))
        .max_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)))
}

fn recorder_check(state_dir: &Path) -> Check {
    let instance = TRACEFS.iter().map(|t| Path::new(t).join("instances").join(TRACE_INSTANCE)).find(|p| p.is_dir());
    let newest = newest_watch_file(state_dir).map(|(p, t)| {
        let age = SystemTime::now().duration_since(t).map_or(0, |d| d.as_secs());
        format!("newest record file {} written {age} s ago", p.display())
    });
    let fix = if Path::new(SYSTEMD_RUNNING).is_dir() {
        format!("systemctl enable --now {UNIT_NAME}")
    } else {
        format!("coroner-collect watch --state-dir {}", state_dir.display())
    };
    match instance {
        Some(i) => check("recorder", Armed::Yes, format!("running (ftrace instance {}); {}", i.display(), newest.unwrap_or_else(|| "no record file yet".into())), None),
        None => check(
            "recorder",
            Armed::No,
            format!("not running (no ftrace instance {TRACE_INSTANCE}); {}", newest.unwrap_or_else(|| format!("no record files under {}", state_dir.join(WATCH_SUBDIR).display()))),
            Some(fix),
        ),
    }
}

fn history_check() -> Check {
    let mut places: Vec<PathBuf> = HISTTIME_PLACES.iter().map(PathBuf::from).collect();
    if let Ok(rd) = std::fs::read_dir(PROFILE_D) {
        let mut more: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        more.sort();
        places.extend(more);
    }
    match places.iter().find(|f| std::fs::read(f).is_ok_and(|b| sets_histtimeformat(&b))) {
        Some(by) => check("history", Armed::Yes, format!("HISTTIMEFORMAT is set in {}: bash history lines are dated", by.display()), None),
        None => check("history", Armed::No, "no HISTTIMEFORMAT in /etc/profile, /etc/bash.bashrc or /etc/profile.d: bash history is undated", Some("coroner-collect arm --history".into())),
    }
}

fn journal_check() -> Check {
    if !Path::new(JOURNALD_RUNNING).is_dir() {
        return check("journal", Armed::NotHere, "journald is not running here", None);
    }
    if Path::new(JOURNAL_DIR).is_dir() {
        check("journal", Armed::Yes, format!("{JOURNAL_DIR} exists: the journal outlives a reboot"), None)
    } else {
        check("journal", Armed::No, "the journal is kept in /run only and is lost at reboot", Some("coroner-collect arm --journal".into()))
    }
}

/// What recording costs, as bench/watch.sh measured it on this project's VM (BENCHMARKS.md), printed once
/// under the piece's first line so the choice between the two is made knowing it.
pub fn cost(piece: &str) -> Option<&'static str> {
    match piece {
        "audit" => Some(AUDIT_COST),
        "recorder" => Some(RECORDER_COST),
        _ => None,
    }
}
const AUDIT_COST: &str = "measured here: every syscall of every process 1.8-1.9x (getppid 274 -> 503 ns), each kill(2) 16-18x, each process start 0.97-1.04x, gcc builds 1.02-1.03x";
const RECORDER_COST: &str = "measured here: other syscalls 1.00-1.02x (getppid), each kill(2) 1.3-1.4x, each process start about 1.02-1.03x (15-24 us of a 760 us spawn, in short paired rounds), gcc builds about 1.010x (14,000 short paired rounds over five runs pooled: interval 1.008-1.012); 0.3% of a core under builds, 85% under 100k signals/s (losses counted)";

/// Every check, in a fixed order.
pub fn checks(state_dir: &Path) -> Vec<Check> {
    let mut out = Vec::new();
    if command::find_program("auditctl").is_none() {
        out.push(check("audit", Armed::No, "auditctl is not installed: no audit rule can record a kill", Some("apt-get install auditd && coroner-collect arm --audit".into())));
    } else {
        let listed = run(&["auditctl", "-l"]);
        let status = run(&["auditctl", "-s"]).ok();
        out.extend(audit_checks(listed.as_deref().map_err(Clone::clone), status.as_deref()));
    }
    match std::fs::read(sysctl_path(CORE_PATTERN)) {
        Ok(p) => out.push(match judge_core_pattern(&p, Path::is_dir) {
            Ok(s) => check("cores", Armed::Yes, s, None),
            Err(s) => check("cores", Armed::No, s, Some("coroner-collect arm --cores".into())),
        }),
        Err(e) => out.push(check("cores", Armed::No, format!("cannot read {CORE_PATTERN}: {e}"), None)),
    }
    let ppid = rustix::process::getppid().map_or(0, |p| p.as_raw_nonzero().get());
    out.push(core_limit_check("PID 1", 1, std::fs::read("/proc/1/limits").ok().as_deref()));
    if ppid > 1 {
        out.push(core_limit_check("the calling shell", ppid, std::fs::read(format!("/proc/{ppid}/limits")).ok().as_deref()));
    }
    out.push(history_check());
    out.push(journal_check());
    out.push(recorder_check(state_dir));
    out
}

pub fn status(a: &StatusArgs) -> anyhow::Result<i32> {
    let all = checks(&a.state_dir);
    let mut previous = "";
    for c in &all {
        let tag = match c.state {
            Armed::Yes => "armed",
            Armed::No => "GAP",
            Armed::NotHere => "n/a",
        };
        println!("{tag:<6} {:<11} {}", c.piece, c.detail);
        if let Some(f) = &c.fix {
            println!("{:<6} {:<11} fix: {f}", "", "");
        }
        // A piece's checks are listed together: its cost goes under the first.
        if let Some(cost) = cost(c.piece).filter(|_| c.piece != previous) {
            println!("{:<6} {:<11} cost: {cost}", "", "");
        }
        previous = c.piece;
    }
    match State::load(&a.state_dir) {
        Ok(s) if !s.changes.is_empty() => println!(
            "{} change(s) made by arm are recorded in {} (undo: coroner-collect disarm --state-dir {})",
            s.changes.len(),
            State::path(&a.state_dir).display(),
            a.state_dir.display()
        ),
        Ok(_) => {}
        Err(e) => println!("{e}"),
    }
    Ok(if all.iter().any(|c| c.state == Armed::No) { 1 } else { 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_status_reads_rules_like_the_report() {
        let none = audit_checks(Ok(b"No rules\n"), Some(b"enabled 1\n"));
        assert_eq!(none.len(), 1);
        assert_eq!(none[0].state, Armed::No);
        assert_eq!(none[0].fix.as_deref(), Some("coroner-collect arm --audit"));
        // A narrowed rule (the CIS benchmark's `auid>=1000`) is a gap, named.
        let cis = audit_checks(Ok(b"-a always,exit -F arch=b64 -S kill -F auid>=1000 -F auid!=-1 -F key=k\n"), None);
        assert!(cis[0].state == Armed::No && cis[0].detail.contains("auid>=1000"), "{cis:?}");
        let both = "-a always,exit -F arch=b64 -S kill,rt_sigqueueinfo,tkill,tgkill,rt_tgsigqueueinfo,pidfd_send_signal -F key=coroner_kill\n\
                    -a always,exit -F arch=b32 -S kill,rt_sigqueueinfo,tkill,tgkill,rt_tgsigqueueinfo,pidfd_send_signal -F key=coroner_kill\n";
        let ok = audit_checks(Ok(both.as_bytes()), Some(b"enabled 1\nfailure 1\n"));
        assert_eq!(ok.iter().map(|c| c.state).collect::<Vec<_>>(), [Armed::Yes]);
        // Rules loaded while auditing is off record nothing.
        let off = audit_checks(Ok(both.as_bytes()), Some(b"enabled 0\n"));
        assert_eq!(off.iter().map(|c| c.state).collect::<Vec<_>>(), [Armed::Yes, Armed::No]);
        let b64_only = audit_checks(Ok(both.lines().next().unwrap_or("").as_bytes()), None);
        assert!(b64_only[0].state == Armed::No && b64_only[0].detail.contains("arch=b32"));
        assert_eq!(audit_checks(Err("exit 1".into()), None)[0].state, Armed::No);
    }

    #[test]
    fn core_limit_zero_is_a_gap_with_its_fix() {
        let c = core_limit_check("PID 1", 1, Some(b"Max core file size        0                    unlimited            bytes\n"));
        assert_eq!((c.state, c.fix.as_deref()), (Armed::No, Some("coroner-collect arm --raise-core-limit 1")));
        let c = core_limit_check("x", 5, Some(b"Max core file size        unlimited            unlimited            bytes\n"));
        assert_eq!(c.state, Armed::Yes);
        assert_eq!(core_limit_check("x", 5, None).state, Armed::No);
    }
}
