//! Findings: a death certificate for every process death in a bundle (cause, killer, evidence,
//! confidence), the seed's checklist evaluated, and readiness advisories.
//!
//! The engine reads the sorted timeline, the manifest and the host facts the parsers learned: every claim it
//! makes cites events or the records behind the facts, and those point at raw bytes in the bundle.

use std::collections::BTreeMap;

use coroner_schemas::finding::{Cause, Confidence, Finding, Victim};
use coroner_schemas::manifest::{Category, Format, Manifest};
use coroner_schemas::{Event, EventKind, FindingsDoc, Source, Timestamp};

use crate::sources::facts::{CoreLimit, HostFacts};

mod advice;
mod compose;
mod containers;
mod deaths;
mod index;
mod init;
mod typed;
mod why;

#[cfg(test)]
mod tests;

pub use why::{why, WhyAnswer, WhyQuery};
use typed::Typed;

/// What the finding builders share.
pub struct Context<'a> {
    pub manifest: &'a Manifest,
    pub events: &'a [Event],
    pub facts: &'a HostFacts,
    pub index: index::ProcIndex,
    pub sessions: Vec<index::Session>,
    /// Whether the bundle shows an audit rule (or audit records) covering kill-family syscalls.
    pub has_kill_audit: bool,
    /// When the only kill rules record some senders only: what they are limited to (see `kill_rule_gaps`).
    pub kill_audit_narrowed: Vec<String>,
    /// Indexes built once, so each finding looks up instead of scanning the timeline.
    pub by_kind: BTreeMap<EventKind, Vec<usize>>,
    /// Sessions covering an instant: all of them, and per user name.
    pub sessions_at: index::SessionIndex,
    pub sessions_by_user: BTreeMap<String, index::SessionIndex>,
}

impl Context<'_> {
    /// Events of one kind, in timeline order.
    pub fn of_kind(&self, k: EventKind) -> impl Iterator<Item = &Event> + '_ {
        self.by_kind.get(&k).into_iter().flatten().map(move |&i| &self.events[i])
    }
    /// Events of any of these kinds, in timeline order.
    pub fn of_kinds(&self, kinds: &[EventKind]) -> impl Iterator<Item = &Event> + '_ {
        let mut idx: Vec<usize> = kinds.iter().filter_map(|k| self.by_kind.get(k)).flatten().copied().collect();
        idx.sort_unstable();
        idx.into_iter().map(move |i| &self.events[i])
    }
    /// Why a crash left no core in the bundle, as far as the bundle can tell.
    pub fn no_core_reason(&self) -> String {
        let mut why = Vec::new();
        match self.facts.sysctl("kernel.core_pattern") {
            Some(p) if p.trim().starts_with('|') => why.push(format!("kernel.core_pattern pipes cores to a handler ({})", p.trim())),
            Some(p) if p.trim().is_empty() => why.push("kernel.core_pattern is empty: no core is written".into()),
            Some(p) if !p.trim().starts_with('/') => {
                why.push(format!("kernel.core_pattern is '{}' (relative: written into the crashing process's working directory)", p.trim()))
            }
            Some(p) => why.push(format!("kernel.core_pattern is '{}'", p.trim())),
            None => why.push("kernel.core_pattern was not collected".into()),
        }
        match self.facts.pid1_core_limit() {
            CoreLimit::Bytes(0) => why.push("the core size limit (ulimit -c) of PID 1, which services inherit, is 0".into()),
            CoreLimit::Bytes(_) | CoreLimit::Unlimited => {}
            CoreLimit::Unknown => why.push("the crashing process's core size limit is unknown (it was gone at collection)".into()),
        }
        if let Some(v) = self.facts.sysctl("fs.suid_dumpable") {
            if v.trim() == "0" {
                why.push("fs.suid_dumpable is 0: setuid or credential-changing processes never dump".into());
            }
        }
        why.join("; ")
    }
}

/// Whether kill-family syscalls were audited, and, when the loaded rules record only some senders, what they
/// are limited to. A collected rule that records every sender says so; so do audited signals in the log
/// (some rule was there when they were sent), unless the collected rules are known to record only some
/// senders, which explains those records without covering every sender.
fn kill_audit_covered(events: &[Event], facts: &HostFacts) -> (bool, Vec<String>) {
    let rules = facts.kill_audit.as_ref();
    if rules.is_some_and(|r| r.covers) {
        return (true, Vec::new());
    }
    let narrowed = rules.map(|r| r.narrowed.clone()).unwrap_or_default();
    let audited = events.iter().any(|e| e.kind == EventKind::SignalSent && e.source == Source::Audit);
    (narrowed.is_empty() && audited, narrowed)
}

/// The one command that arms a host so the next signal's sender is named.
pub const ARM: &str = "coroner-collect arm";

/// What was in place to name a signal's sender at `t` (a death whose sender no record names), one line each:
/// the audit rules the bundle holds, whether the signal recorder ran then (since when, what it recorded, what
/// it lost), and the one command that would have named the sender.
pub fn in_place(facts: &HostFacts, has_kill_audit: bool, narrowed: &[String], t: Option<coroner_schemas::Utc>, sig: Option<i64>) -> Vec<String> {
    let mut out = Vec::new();
    let audit = match &facts.kill_audit {
        _ if has_kill_audit => {
            "a rule recording kill-family syscalls was loaded (or audited signals are in the log), yet no audit record of this signal is in the bundle".to_owned()
        }
        _ if !narrowed.is_empty() => format!("the loaded kill rules record some senders only: {}", narrowed.join("; ")),
        Some(_) => "none of the loaded audit rules (auditctl -l in the bundle) records kill-family syscalls".to_owned(),
        None => "the bundle holds no audit rules (auditctl -l was not collected) and no audited signal".to_owned(),
    };
    out.push(format!("what was in place: audit: {audit}"));
    let runs = &facts.recorder_runs;
    let time = |u: Option<coroner_schemas::Utc>| u.map(|u| u.rfc3339()).unwrap_or_else(|| "?".into());
    let describe = |r: &crate::sources::facts::RecorderRun| {
        let names: Vec<String> =
            r.signals.iter().map(|&n| crate::sources::signals::name(i64::from(n)).unwrap_or_else(|| n.to_string())).collect();
        let from = r.started.map_or_else(|| "ran (its start is not in the log)".to_owned(), |s| format!("ran from {}", s.rfc3339()));
        let until = match r.stopped {
            Some(s) => format!("{} ({})", s.rfc3339(), r.stop_reason.as_deref().unwrap_or("stopped")),
            None => format!("the collection (no stop record; its last record {})", time(r.last_record)),
        };
        format!(
            "{from} to {until}{}, recording {}; {} events lost{} ({})",
            r.boot_id.as_deref().map(|b| format!(" on boot {b}")).unwrap_or_default(),
            if names.is_empty() { "signals its log does not list".to_owned() } else { names.join(", ") },
            r.lost,
            if r.lost_what.is_empty() { String::new() } else { format!(" ({})", r.lost_what.join(", ")) },
            r.entry
        )
    };
    let recorder = if runs.is_empty() {
        "no signal recorder ran (the bundle holds no coroner-collect watch log)".to_owned()
    } else {
        let covering: Vec<_> = t.map(|t| runs.iter().filter(|r| r.covers(t)).collect()).unwrap_or_default();
        match covering.first() {
            Some(r) if sig.is_some_and(|s| !r.records_signal(s)) => format!(
                "the signal recorder was running then but does not record {}: it {}",
                sig.and_then(crate::sources::signals::name).unwrap_or_else(|| "this signal".into()),
                describe(r)
            ),
            Some(r) if r.lost > 0 => format!(
                "the signal recorder was running then and holds no record of this signal, but it lost {} events, which may include it: it {}",
                r.lost,
                describe(r)
            ),
            Some(r) => format!("the signal recorder was running then and holds no record of this signal: it {}", describe(r)),
            None => {
                let all: Vec<String> = runs.iter().map(describe).collect();
                let when = if t.is_some() { "was not running at that time: it " } else { "" };
                format!("the signal recorder {when}{}", all.join("; it "))
            }
        }
    };
    out.push(format!("what was in place: signal recorder: {recorder}"));
    out.push(format!("what would have named the sender: `{ARM}` (a signal recorder, kill-syscall audit rules, core dumps) before the death"));
    out
}

/// Whether kill-family syscalls were audited, and what narrows them: [`kill_audit_covered`] for a caller with
/// only the events and facts (`why` when nothing matched).
pub fn kill_audit_state(events: &[Event], facts: &HostFacts) -> (bool, Vec<String>) {
    kill_audit_covered(events, facts)
}

/// A scoped thread's result; its panic goes on in this thread.
fn joined<T>(r: std::thread::Result<T>) -> T {
    r.unwrap_or_else(|e| std::panic::resume_unwind(e))
}

/// Every finding, checklist step and advisory for a parsed bundle. `events` is the sorted timeline.
/// Deaths past this many are composed on two threads.
const PARALLEL_MIN_GROUPS: usize = 2_000;

pub fn analyze(manifest: &Manifest, events: &[Event], facts: &HostFacts, verified: bool) -> FindingsDoc {
    // The indexes read the timeline independently of each other: sessions and observations are built on
    // threads of their own while this one builds the kind and process indexes.
    let (by_kind, (sessions, sessions_by_user, sessions_at), index, observations) = std::thread::scope(|s| {
        let sess = s.spawn(|| {
            let sessions = index::sessions(events);
            let mut per_user: BTreeMap<String, Vec<usize>> = BTreeMap::new();
            for (i, s) in sessions.iter().enumerate() {
                per_user.entry(s.user.clone()).or_default().push(i);
            }
            let by_user: BTreeMap<String, index::SessionIndex> =
                per_user.into_iter().map(|(u, v)| (u, index::SessionIndex::build(&sessions, v))).collect();
            let at = index::SessionIndex::build(&sessions, 0..sessions.len());
            (sessions, by_user, at)
        });
        let obs = s.spawn(|| deaths::observations(events));
        let mut by_kind: BTreeMap<EventKind, Vec<usize>> = BTreeMap::new();
        for (i, e) in events.iter().enumerate() {
            by_kind.entry(e.kind).or_default().push(i);
        }
        let index = index::ProcIndex::build(events);
        (by_kind, joined(sess.join()), index, joined(obs.join()))
    });
    let kill_audit = kill_audit_covered(events, facts);
    let cx = Context {
        manifest,
        events,
        facts,
        index,
        sessions,
        has_kill_audit: kill_audit.0,
        kill_audit_narrowed: kill_audit.1,
        by_kind,
        sessions_at,
        sessions_by_user,
    };
    let groups = deaths::group(observations, events);
    // Faults of PID 1 with no panic after them are no death (see init.rs): they become an advisory.
    let (init_faults, groups): (Vec<deaths::Group>, Vec<deaths::Group>) =
        groups.into_iter().partition(|g| init::is_init_fault(g) && init::init_panic(&cx, g).is_none());
    // A kill that the process survived (alive at collection, started before the signal) is no death.
    let death = |f: &Finding| {
        let Some(p) = f.victim.pid else { return true };
        let t = f.time.sort_key();
        let catchable = f.signal.as_ref().is_some_and(|s| s.number != 9);
        let raised = f.details.contains_key("self_signal");
        !(f.cause == Cause::Signal && (cx.index.survived(p, t) || catchable && cx.index.active_after(p, f.victim.comm.as_deref(), t))
            || raised && (cx.index.survived(p, t) || cx.index.active_after(p, f.victim.comm.as_deref(), t)))
    };
    let compose_all = |gs: &[deaths::Group]| -> Vec<Finding> {
        gs.iter().map(|g| compose::compose(g, &cx)).filter(|f| death(f)).collect()
    };
    // Groups are composed independently: a kill storm's tens of thousands are split over two threads.
    let mut findings: Vec<Finding> = if groups.len() >= PARALLEL_MIN_GROUPS {
        let (a, b) = groups.split_at(groups.len() / 2);
        std::thread::scope(|s| {
            let second = s.spawn(|| compose_all(b));
            let mut first = compose_all(a);
            first.extend(joined(second.join()));
            first
        })
    } else {
        compose_all(&groups)
    };
    init::note_core_children(&cx, &mut findings);
    findings.extend(reboots(&cx));
    findings.sort_by(|a, b| {
        let (ta, tb) = (a.time.sort_key(), b.time.sort_key());
        ta.is_none().cmp(&tb.is_none()).then(ta.cmp(&tb)).then(a.victim.pid.cmp(&b.victim.pid)).then(a.reasoning.cmp(&b.reasoning))
    });
    for (i, f) in findings.iter_mut().enumerate() {
        f.id = format!("F{}", i + 1);
    }
    FindingsDoc {
        verified,
        hostname: manifest.host.hostname.clone(),
        checklist: advice::checklist(&cx, &findings),
        advisories: {
            let mut a = advice::advisories(&cx, &findings);
            a.extend(init::advisory(&cx, &init_faults.iter().collect::<Vec<_>>()));
            a
        },
        findings,
    }
}

/// The host went down: every process died. One finding per boot that follows earlier records in wtmp.
fn reboots(cx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    let wtmp_of = |k: EventKind| -> Vec<usize> {
        cx.by_kind.get(&k).into_iter().flatten().copied().filter(|&i| cx.events[i].source == Source::Wtmp).collect()
    };
    let boots = wtmp_of(EventKind::Boot);
    let shutdowns = wtmp_of(EventKind::Shutdown);
    // Commands that ask for a reboot, in timeline (and so time) order.
    let asked: Vec<&Event> = cx
        .of_kinds(&[EventKind::KillCommand, EventKind::PrivilegedCommand])
        .filter(|e| e.command().is_some_and(asks_for_reboot))
        .collect();
    // The first wtmp record of all is not preceded by anything a boot could end.
    let first_wtmp = cx.events.iter().position(|e| e.source == Source::Wtmp);
    let mut prev_boot: Option<usize> = None;
    for &bi in &boots {
        let b = &cx.events[bi];
        let since = prev_boot.replace(bi);
        if Some(bi) == first_wtmp {
            continue;
        }
        // The latest time of a wtmp record before this boot. Undated events sort last, so the walk back stops
        // at the previous wtmp record.
        let prev_t = cx.events[..bi].iter().rev().filter(|e| e.source == Source::Wtmp).find_map(|e| e.timestamp.sort_key());
        // The last shutdown record since the previous boot.
        let lo = since.map_or(0, |p| p + 1);
        let at = shutdowns.partition_point(|&j| j < bi);
        let shutdown = shutdowns[..at].last().filter(|&&j| j >= lo).map(|&j| &cx.events[j]);
        let bt = b.timestamp.sort_key();
        let mut f = Finding {
            id: String::new(),
            victim: Victim { pid: None, comm: Some("(every process on the host)".into()), cmdline: None, uid: None, user: None, unit: None, cgroup: None, container: None, pod: None },
            time: shutdown.map(|s| s.timestamp.clone()).unwrap_or_else(|| Timestamp::Bounded { after: prev_t, before: bt }),
            cause: Cause::Reboot,
            signal: None,
            killer: None,
            via: None,
            container_reason: None,
            confidence: Confidence::Certain,
            reasoning: String::new(),
            evidence: vec![deaths::evidence(b, "boot record")],
            missing: Vec::new(),
            candidates: Vec::new(),
            details: serde_json::Map::new(),
        };
        match shutdown {
            Some(s) => {
                f.evidence.push(deaths::evidence(s, "shutdown record"));
                f.reasoning = format!("wtmp records an orderly shutdown at {} and a boot at {}.", s.timestamp.sort_key().map(|t| t.rfc3339()).unwrap_or_default(), bt.map(|t| t.rfc3339()).unwrap_or_default());
                f.via = Some("shutdown".into());
                // Who asked for it: a reboot/shutdown command or sudo shortly before.
                let st = s.timestamp.sort_key();
                // The earliest such command in the half hour before the shutdown.
                let from = st.map_or(asked.len(), |y| {
                    // Too old: a prefix of the timeline (undated events sort last, and never match).
                    asked.partition_point(|e| e.timestamp.sort_key().is_some_and(|x| y.unix_micros() - x.unix_micros() > 1_800_000_000))
                });
                if let Some(cmd) = asked[from..].iter().copied().find(|e| {
                    matches!((e.timestamp.sort_key(), st), (Some(x), Some(y)) if x <= y && y.unix_micros() - x.unix_micros() <= 1_800_000_000)
                }) {
                    f.killer = Some(coroner_schemas::finding::Killer {
                        pid: cmd.pid,
                        comm: None,
                        exe: None,
                        uid: cmd.uid,
                        user: cmd.user.clone(),
                        auid: None,
                        auser: None,
                        session: None,
                        tty: cmd.field_str("tty").map(str::to_owned),
                        login_from: None,
                        parent_chain: Vec::new(),
                        command: cmd.command().map(str::to_owned),
                        container: None,
                    });
                    f.evidence.push(deaths::evidence(cmd, "shutdown command run before it"));
                    // What the record shows: who ran which command how long before; not that it caused the shutdown.
                    let secs = match (cmd.timestamp.sort_key(), st) {
                        (Some(x), Some(y)) => (y.unix_micros() - x.unix_micros()) / 1_000_000,
                        _ => 0,
                    };
                    f.reasoning.push_str(&format!(
                        " {} ran `{}` {} before it.",
                        cmd.user.as_deref().unwrap_or("a user"),
                        cmd.command().unwrap_or("?"),
                        if secs < 120 { format!("{secs} s") } else { format!("{} min", secs / 60) }
                    ));
                }
            }
            None => {
                f.reasoning = format!(
                    "wtmp records a boot at {} and no shutdown record precedes it since the previous record: a crash, power loss or reset, or a shutdown record that was not kept (wtmp rotated or truncated).",
                    bt.map(|t| t.rfc3339()).unwrap_or_default()
                );
                f.via = Some("crash".into());
                if let Some(p) = cx.of_kinds(&[EventKind::KernelPanic, EventKind::KernelOops]).find(|e| e.source == Source::Pstore) {
                    f.evidence.push(deaths::evidence(p, "previous boot's panic log (pstore)"));
                    f.details.insert("panic".into(), serde_json::json!(p.message));
                    f.reasoning.push_str(" pstore holds the previous boot's panic log.");
                } else {
                    f.missing.push("pstore / kdump records of the previous boot".into());
                }
            }
        }
        out.push(f);
    }
    out
}

/// Whether a command line runs a shutdown command: its command word (after `sudo`/`env` and their options and
/// VAR=value settings) is reboot, shutdown, poweroff or halt, `init 0`/`init 6`, or `systemctl` of one of them.
/// A word elsewhere in the line (`grep reboot log`) is not the command.
fn asks_for_reboot(cmd: &str) -> bool {
    let mut words = cmd.split_whitespace().skip_while(|w| matches!(*w, "sudo" | "env") || w.starts_with('-') || w.contains('='));
    let Some(first) = words.next() else { return false };
    let name = first.rsplit('/').next().unwrap_or(first);
    const DOWN: [&str; 4] = ["reboot", "shutdown", "poweroff", "halt"];
    match name {
        n if DOWN.contains(&n) => true,
        "init" | "telinit" => words.next().is_some_and(|a| a == "0" || a == "6"),
        "systemctl" => words.find(|w| !w.starts_with('-')).is_some_and(|a| DOWN.contains(&a) || a == "kexec"),
        _ => false,
    }
}

/// Entries of a category that hold bytes.
pub(crate) fn entries_of(m: &Manifest, cats: &[Category]) -> Vec<String> {
    m.entries.iter().filter(|e| cats.contains(&e.category) && e.has_data()).map(|e| e.path.clone()).collect()
}

pub(crate) fn entries_of_format(m: &Manifest, formats: &[Format]) -> Vec<String> {
    m.entries.iter().filter(|e| formats.contains(&e.format) && e.has_data()).map(|e| e.path.clone()).collect()
}
