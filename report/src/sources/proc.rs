//! `live/proc/processes.json` ([`ProcSnapshot`]): one `process_alive` event per process, at the time the
//! table was taken. The raw `limits` text is re-read here for the core-file limit.


use coroner_schemas::proc::{ProcSnapshot, ProcessRecord};
use coroner_schemas::{Event, EventKind, Fields, Origin, Source, Text, Timestamp};
use serde_json::json;

use super::history::one_line;
use super::limits::core_limit;
use super::facts::{CoreLimit, Fact};
use super::{ParseProblem, Parsed, SourceCtx};

/// The memory controller's line of `/proc/PID/cgroup` (v1 `N:memory:/path`), else the v2 `0::/path` line.
pub fn memory_cgroup(lines: &[String]) -> Option<String> {
    let v1 = lines.iter().find_map(|l| {
        let mut it = l.splitn(3, ':');
        let (_, ctrls, path) = (it.next()?, it.next()?, it.next()?);
        ctrls.split(',').any(|c| c == "memory").then(|| path.to_owned())
    });
    v1.or_else(|| lines.iter().find_map(|l| l.strip_prefix("0::").map(str::to_owned)))
}

fn text(t: &Option<Text>) -> Option<String> {
    t.as_ref().map(Text::lossy)
}

/// The signals a `/proc/PID/status` mask names (`SigCgt`, `SigIgn`: hex, bit n-1 set for signal n), in number
/// order; `None` when the mask is not hex.
pub fn mask_signals(hex: &str) -> Option<Vec<String>> {
    let bits = u64::from_str_radix(hex.trim(), 16).ok()?;
    Some((1..=64i64).filter(|n| bits >> (n - 1) & 1 == 1).filter_map(super::signals::name).collect())
}

/// Process names of the programs that start others and restart them when they die: init systems, process
/// supervisors and container runtimes' per-container parents.
const SUPERVISORS: &[&str] = &[
    "systemd", "init", "supervisord", "runsv", "runsvdir", "s6-supervise", "supervise", "conmon", "tini",
    "dumb-init", "monit", "circusd", "upstart", "openrc", "runit", "procd", "kubelet",
];
/// The same, for names that carry a version or variant after a common start (`containerd-shim-runc-v2`,
/// `PM2 v5.3.0: God`).
const SUPERVISOR_PREFIXES: &[&str] = &["containerd-shim", "docker-containerd-shim", "PM2 "];

fn is_supervisor(comm: &str) -> bool {
    SUPERVISORS.contains(&comm) || SUPERVISOR_PREFIXES.iter().any(|s| comm.starts_with(s))
}

/// A process's ancestors (parent first) by the snapshot's ppids, as `(pid, comm)`; at most 64, and a loop
/// (impossible in a consistent table, possible in a torn one) ends the chain.
fn ancestors(pid: i64, parents: &std::collections::HashMap<i64, (Option<i64>, String)>) -> Vec<(i64, &str)> {
    let mut chain = Vec::new();
    let mut seen = std::collections::HashSet::from([pid]);
    let mut at = parents.get(&pid).and_then(|p| p.0);
    while let Some(pp) = at.filter(|pp| *pp > 0) {
        let Some((next, comm)) = parents.get(&pp) else { break };
        if !seen.insert(pp) || chain.len() >= 64 {
            break;
        }
        chain.push((pp, comm.as_str()));
        at = *next;
    }
    chain
}

/// The process's event and its soft core limit.
fn event_of(r: &ProcessRecord, snap: &ProcSnapshot, ctx: &SourceCtx, at: Option<(u64, u64)>) -> (Event, CoreLimit) {
    let mut f: Fields = Fields::new();
    let argv: Vec<String> = r.cmdline.iter().map(Text::lossy).collect();
    f.insert("cmdline".into(), json!(argv));
    f.insert("exe".into(), json!(text(&r.exe)));
    f.insert("start_time".into(), json!(r.start_time));
    f.insert("cgroup".into(), json!(memory_cgroup(&r.cgroups)));
    f.insert("oom_score_adj".into(), json!(r.oom_score_adj));
    f.insert("oom_score".into(), json!(r.oom_score));
    let core = r.limits.as_ref().and_then(|l| core_limit(&l.lossy()));
    f.insert("rlimit_core_soft".into(), json!(core.and_then(|c| c.0)));
    f.insert("rlimit_core_hard".into(), json!(core.and_then(|c| c.1)));
    if r.limits.is_some() && core.is_none() {
        f.insert("rlimit_core_unread".into(), json!(true));
    }
    f.insert("sig_cgt".into(), json!(r.sig_cgt));
    f.insert("sig_ign".into(), json!(r.sig_ign));
    let caught = r.sig_cgt.as_deref().and_then(mask_signals);
    let ignored = r.sig_ign.as_deref().and_then(mask_signals);
    if let Some(c) = &caught {
        f.insert("signals_caught".into(), json!(c));
    }
    if let Some(i) = &ignored {
        f.insert("signals_ignored".into(), json!(i));
    }
    // What a plain `kill PID` (SIGTERM) would do to it, when that is not "end it".
    let term = |l: &Option<Vec<String>>| l.as_ref().is_some_and(|l| l.iter().any(|n| n == "SIGTERM"));
    let term_note = if term(&ignored) {
        " (ignores SIGTERM)"
    } else if term(&caught) {
        " (catches SIGTERM)"
    } else {
        ""
    };
    f.insert("loginuid".into(), json!(r.loginuid));
    f.insert("sessionid".into(), json!(r.sessionid));
    f.insert("tty_nr".into(), json!(r.tty_nr));
    f.insert("pgid".into(), json!(r.pgid));
    f.insert("sid".into(), json!(r.sid));
    f.insert("state".into(), json!(r.state));
    if let Some(e) = &r.euser {
        f.insert("euser".into(), json!(e));
    }
    let comm = text(&r.comm);
    let uid = r.uids.first().copied();
    let user = r
        .user
        .clone()
        .or_else(|| uid.and_then(|u| ctx.accounts.user_name(u)).map(str::to_owned));
    let shown = if argv.is_empty() {
        format!("[{}]", comm.as_deref().unwrap_or("?"))
    } else {
        argv.join(" ")
    };
    let raw = match &r.stat_raw {
        Some(t) => t.clone(),
        None => Text::from_str(&serde_json::to_string(&r.pid).unwrap_or_default()),
    };
    let soft = core.map_or(CoreLimit::Unknown, |c| c.0.map_or(CoreLimit::Unlimited, CoreLimit::Bytes));
    let e = Event {
        pid: Some(r.pid),
        ppid: r.ppid,
        uid,
        user: user.clone(),
        comm: comm.clone(),
        fields: f,
        ..Event::new(
            Timestamp::Exact { utc: snap.taken },
            Source::Proc,
            EventKind::ProcessAlive,
            format!(
                "alive at collection: pid {} ({}) user {}{term_note}: {}",
                r.pid,
                comm.as_deref().unwrap_or("?"),
                user.as_deref().unwrap_or("?"),
                one_line(&shown, 200)
            ),
            raw,
            // The line and byte offset where the process's object starts in the snapshot.
            Origin {
                entry: ctx.path.clone(),
                line: at.map(|(l, _)| l),
                offset: at.map(|(_, o)| o),
            },
        )
    };
    (e, soft)
}

pub fn parse(raw: &[u8], ctx: &SourceCtx) -> Parsed {
    let mut p = Parsed::default();
    let (snap, starts) = match ProcSnapshot::from_bytes(raw) {
        Ok(s) => s,
        Err(e) => {
            p.problems.push(ParseProblem::at_offset(
                ctx,
                0,
                format!("process snapshot is not valid JSON: {e}"),
            ));
            return p;
        }
    };
    let parents: std::collections::HashMap<i64, (Option<i64>, String)> = snap
        .processes
        .iter()
        .map(|r| (r.pid, (r.ppid, text(&r.comm).unwrap_or_default())))
        .collect();
    for (i, r) in snap.processes.iter().enumerate() {
        let at = starts.get(i).map(|s| (s.line, s.offset));
        let (mut e, soft) = event_of(r, &snap, ctx, at);
        p.facts.push(Fact::CoreLimit { pid: r.pid, soft });
        // Who started it, up to pid 1, and the nearest of them that would restart it.
        let chain = ancestors(r.pid, &parents);
        if !chain.is_empty() {
            let names: Vec<String> = chain.iter().map(|(pid, comm)| format!("{comm} ({pid})")).collect();
            e.fields.insert("ancestors".into(), json!(names));
        }
        if let Some((pid, comm)) = chain.iter().find(|(_, comm)| is_supervisor(comm)) {
            e.fields.insert("supervisor".into(), json!(comm));
            e.fields.insert("supervisor_pid".into(), json!(pid));
        }
        p.events.push(e);
    }
    for pr in &snap.problems {
        let who = pr.pid.map_or(String::new(), |p| format!("pid {p} "));
        // The collector wrote these into the snapshot: processes it could not read, not bytes misread here.
        p.problems.push(ParseProblem::at_offset(ctx, 0, format!("{who}{}: {}", pr.file, pr.message)).by_collector());
    }
    p.events
        .sort_by(|a, b| a.pid.cmp(&b.pid).then_with(|| a.origin.cmp(&b.origin)));
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ancestors_and_the_nearest_supervisor() {
        let table: std::collections::HashMap<i64, (Option<i64>, String)> = [
            (1, (Some(0), "systemd")),
            (100, (Some(1), "containerd-shim-runc-v2")),
            (200, (Some(100), "gunicorn")),
            (300, (Some(200), "gunicorn")),
            (7, (Some(8), "a")),
            (8, (Some(7), "b")),
            (9, (Some(4242), "orphan")),
        ]
        .into_iter()
        .map(|(p, (pp, c))| (p, (pp, c.to_owned())))
        .collect();
        let chain = ancestors(300, &table);
        assert_eq!(chain, vec![(200, "gunicorn"), (100, "containerd-shim-runc-v2"), (1, "systemd")]);
        assert_eq!(chain.iter().find(|(_, c)| is_supervisor(c)).map(|(p, _)| *p), Some(100));
        assert_eq!(ancestors(1, &table), vec![], "pid 1's parent is 0: no one");
        assert_eq!(ancestors(7, &table), vec![(8, "b")], "a loop ends the chain");
        assert_eq!(ancestors(9, &table), vec![], "a parent not in the table ends it");
        assert!(!is_supervisor("bash") && is_supervisor("systemd") && is_supervisor("runsv"));
        assert!(!is_supervisor("systemd-journal") && !is_supervisor("initrd"), "exact names");
    }

    #[test]
    fn signal_masks_name_their_signals() {
        assert_eq!(mask_signals("0000000000000000"), Some(vec![]));
        assert_eq!(
            mask_signals("00000000000004e8").expect("hex"),
            ["SIGILL", "SIGABRT", "SIGBUS", "SIGFPE", "SIGSEGV"].map(String::from)
        );
        assert_eq!(mask_signals("0000000000004002").expect("hex"), ["SIGINT", "SIGTERM"].map(String::from));
        let all = mask_signals("ffffffffffffffff").expect("hex");
        assert_eq!((all.len(), all[0].as_str(), all[63].as_str()), (64, "SIGHUP", "SIGRTMAX"));
        assert_eq!(mask_signals("not hex"), None);
        assert_eq!(mask_signals("1ffffffffffffffff"), None, "more than 64 bits");
    }

    #[test]
    fn memory_cgroup_v1_then_v2() {
        let v1 = vec![
            "12:pids:/a".to_owned(),
            "9:memory:/victim".to_owned(),
            "0::/".to_owned(),
        ];
        assert_eq!(memory_cgroup(&v1).as_deref(), Some("/victim"));
        assert_eq!(
            memory_cgroup(&["0::/system.slice/x.service".to_owned()]).as_deref(),
            Some("/system.slice/x.service")
        );
        assert_eq!(memory_cgroup(&["garbage".to_owned()]), None);
    }
}
