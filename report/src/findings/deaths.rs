//! From events to deaths: every record that evidences a process death becomes an observation; observations
//! of the same victim (same pid, close in time) merge into one death, whose cause is decided by the most
//! direct record among them.

use std::collections::BTreeMap;

use coroner_schemas::finding::{Candidate, EvidenceRef, Killer, Signal, Victim};
use coroner_schemas::{Event, EventKind, Source, Timestamp, Utc};

use super::typed::Typed;
use crate::sources::signals;

/// How an event evidences a death.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ObsKind {
    /// Kernel OOM killer line for the pid.
    Oom,
    /// Kernel segfault/trap line for the pid.
    KernelCrash,
    /// The signal recorder's trace of a signal the kernel itself generated for the pid (SI_KERNEL, a fault, a
    /// resource limit).
    KernelSignal,
    /// Audit kill-family syscall with this target.
    AuditKill,
    /// The signal recorder's trace of a signal a process sent to this target (`signal_generate`).
    RecordedKill,
    /// Audit ANOM_ABEND for the pid.
    Abend,
    /// Audit record of a process raising a crash signal against itself (abort(3)).
    SelfSignal,
    /// A core file's notes, or systemd-coredump.
    Core,
    /// A supervisor says it killed the pid (systemd `Killing process N`).
    SupervisorKill,
    /// A human's history line `kill PID`.
    HistoryKill,
    /// systemd says the unit's main process died (code=killed/dumped/exited), or its result.
    UnitDeath,
    /// systemd watchdog timeout for a unit.
    Watchdog,
    /// A container runtime's (or the kubelet's PLEG) record of a container's main process ending: exit code,
    /// `OOMKilled`. Docker's saved state gives no pid after the exit: it is matched by container id.
    ContainerExit,
    /// The kubelet's "Killing container with a grace period": it set out to stop the container.
    KubeletStop,
    /// The kubelet evicted the container's pod, or the API deleted it.
    PodEnd,
}

#[derive(Clone, Debug)]
pub struct Obs {
    pub kind: ObsKind,
    /// Index of the event in the timeline.
    pub event: usize,
    pub pid: Option<i64>,
    pub unit: Option<String>,
    pub t: Option<Utc>,
    pub signal: Option<i64>,
    /// An audited kill whose argument named a process group or every process (kill(0, …), kill(-pgid, …),
    /// kill(-1, …)) rather than this pid.
    pub group_kill: bool,
    /// For an audited kill: the earlier audited kills of the same sender's same signal to this pid that it
    /// stands for (see [`collapse_repeats`]).
    pub repeats: Option<Repeats>,
}

/// A run of audited kills, one sender's same signal to one pid, each within the death window of the one before.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Repeats {
    /// The first record of the run (the observation itself is the last).
    pub first: usize,
    /// Records in the run, the last one included.
    pub count: u64,
}

/// Signals whose default action does not end a process, and 0 (an existence probe).
pub fn is_fatal_by_default(sig: i64) -> bool {
    !matches!(sig, 0 | 17 | 18 | 19 | 20 | 21 | 22 | 23 | 28)
}

pub fn is_crash_signal(sig: i64) -> bool {
    matches!(sig, 4 | 5 | 6 | 7 | 8 | 11 | 31)
}

pub fn signal_of(sig: i64) -> Signal {
    Signal { number: sig as i32, name: signals::name(sig).unwrap_or_else(|| format!("signal {sig}")) }
}

/// Every observation in the timeline, in timeline order.
pub fn observations(events: &[Event]) -> Vec<Obs> {
    let mut out = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let t = e.timestamp.sort_key();
        let unit = e.unit().map(str::to_owned);
        let group_kill = e.kind == EventKind::SignalSent && is_group_kill(e);
        let mut push = |kind, pid: Option<i64>, signal: Option<i64>| {
            out.push(Obs { kind, event: i, pid, unit: unit.clone(), t, signal, group_kill, repeats: None });
        };
        match e.kind {
            EventKind::OomKill => push(ObsKind::Oom, e.pid, Some(9)),
            EventKind::Segfault | EventKind::Trap => push(ObsKind::KernelCrash, e.pid, e.signal().or(Some(11))),
            EventKind::SignalSent if e.source == Source::Watch => {
                let (Some(sig), Some(target)) = (e.signal(), e.target_pid()) else { continue };
                // The recorder watched the target outlive it: no death by this signal.
                if !is_fatal_by_default(sig) || e.field_str("fate") == Some("still_running") {
                    continue;
                }
                if e.field_str("signal_origin") == Some("kernel") {
                    push(ObsKind::KernelSignal, Some(target), Some(sig));
                } else if Some(target) == e.pid {
                    if is_crash_signal(sig) {
                        push(ObsKind::SelfSignal, e.pid, Some(sig));
                    }
                } else {
                    push(ObsKind::RecordedKill, Some(target), Some(sig));
                }
            }
            EventKind::SignalSent => {
                if super::index::failed(e) {
                    continue;
                }
                let Some(sig) = e.signal() else { continue };
                if !is_fatal_by_default(sig) {
                    continue;
                }
                // A process signalling itself (a jobserver's SIGUSR1 to its own thread) is no death, except
                // abort(3) and friends raising a crash signal, which is a crash by its own hand.
                if e.target_pid().is_some() && e.target_pid() == e.pid {
                    if is_crash_signal(sig) {
                        push(ObsKind::SelfSignal, e.pid, Some(sig));
                    }
                    continue;
                }
                let mut targets: Vec<i64> = match e.fields.get("targets").and_then(|v| v.as_array()) {
                    Some(a) => a
                        .iter()
                        .filter_map(|v| v.as_i64().or_else(|| v.get("pid").and_then(|p| p.as_i64())))
                        .collect(),
                    _ => Vec::new(),
                };
                if targets.is_empty() {
                    targets.extend(e.target_pid());
                }
                for p in targets {
                    if p > 0 {
                        push(ObsKind::AuditKill, Some(p), Some(sig));
                    }
                }
            }
            EventKind::ProcessCrash if e.source == Source::Audit => push(ObsKind::Abend, e.pid, e.signal()),
            // The kernel's print-fatal-signals line: a direct record that the pid died of that signal.
            EventKind::ProcessCrash if unit.is_none() && e.pid.is_some() => push(ObsKind::Abend, e.pid, e.signal()),
            EventKind::CoreDumped => push(ObsKind::Core, e.pid, e.signal()),
            EventKind::ServiceKilled if e.pid.is_some() => push(ObsKind::SupervisorKill, e.pid, e.signal()),
            EventKind::KillCommand => {
                let sig = e.signal().unwrap_or(15);
                if !is_fatal_by_default(sig) {
                    continue;
                }
                for p in e.target_pids().into_iter().filter(|&p| p > 1) {
                    push(ObsKind::HistoryKill, Some(p), Some(sig));
                }
            }
            EventKind::ProcessExit | EventKind::ServiceFailed | EventKind::ServiceKilled | EventKind::ProcessCrash
                if unit.is_some() && (e.field_str("code").is_some() || e.field_str("result").is_some()) =>
            {
                // systemd's own lines are about the unit; a pid is the victim's only when it is not systemd's.
                let pid = e.pid.filter(|&p| p > 1 && e.comm.as_deref() != Some("systemd"));
                push(ObsKind::UnitDeath, pid, e.signal())
            }
            EventKind::WatchdogTimeout => push(ObsKind::Watchdog, None, Some(6)),
            EventKind::ContainerExit if matches!(e.source, Source::Container | Source::Kubelet) => {
                push(ObsKind::ContainerExit, e.pid.filter(|&p| p > 1), None)
            }
            EventKind::ContainerStop if e.source == Source::Kubelet => push(ObsKind::KubeletStop, None, None),
            EventKind::PodEvicted | EventKind::PodDeleted => push(ObsKind::PodEnd, None, None),
            _ => {}
        }
    }
    out
}

/// Observations of one death.
#[derive(Clone, Debug, Default)]
pub struct Group {
    pub obs: Vec<Obs>,
}

impl Group {
    pub fn pid(&self) -> Option<i64> {
        self.obs.iter().find_map(|o| o.pid)
    }
    pub fn unit(&self) -> Option<&str> {
        self.obs.iter().find_map(|o| o.unit.as_deref())
    }
    pub fn time(&self) -> Option<Utc> {
        // The most direct record's time.
        let mut o: Vec<&Obs> = self.obs.iter().filter(|o| o.t.is_some()).collect();
        o.sort_by_key(|o| o.kind);
        o.first().and_then(|o| o.t)
    }
    pub fn first(&self, k: ObsKind) -> Option<&Obs> {
        self.obs.iter().find(|o| o.kind == k)
    }
}

/// Window within which records of the same pid are taken to be the same death (boot-time conversions and
/// history timestamps are not exact; pids are not reused that fast on a normal host).
pub(super) const SAME_DEATH_US: i64 = 120_000_000;
/// A history kill is a human typing: allow more slack between the line's time and the death.
const HISTORY_SLACK_US: i64 = 600_000_000;

pub(super) fn close(a: Option<Utc>, b: Option<Utc>, window: i64) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => (x.unix_micros() - y.unix_micros()).abs() <= window,
        _ => true,
    }
}

/// Merges observations into deaths: by pid and time first, then unit-only observations onto a pid group of
/// the same unit, then the rest alone. History kills only join a death evidenced otherwise, or stand alone.
pub fn group(obs: Vec<Obs>, events: &[Event]) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    // Groups by the pid they were opened with (a group's pid is its first observation's), in creation order,
    // so each observation looks at its own pid's groups instead of every group.
    let mut by_pid: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
    let (runtime, obs): (Vec<Obs>, Vec<Obs>) =
        obs.into_iter().partition(|o| o.pid.is_none() && super::containers::is_container_obs(o.kind));
    let (with_pid, without): (Vec<Obs>, Vec<Obs>) = obs.into_iter().partition(|o| o.pid.is_some());
    let (history, direct): (Vec<Obs>, Vec<Obs>) = with_pid.into_iter().partition(|o| o.kind == ObsKind::HistoryKill);
    let direct = collapse_repeats(direct, events);
    let mut join = |groups: &mut Vec<Group>, o: Obs, fits: &dyn Fn(&Group, &Obs) -> bool| {
        let pid = o.pid.unwrap_or_default();
        let mine = by_pid.entry(pid).or_default();
        match mine.iter().copied().find(|&i| fits(&groups[i], &o)) {
            Some(i) => groups[i].obs.push(o),
            None => {
                mine.push(groups.len());
                groups.push(Group { obs: vec![o] });
            }
        }
    };
    for o in direct {
        join(&mut groups, o, &|g, o| g.obs.iter().any(|p| close(p.t, o.t, SAME_DEATH_US)) && !conflicting(g, o, events));
    }
    for o in history {
        join(&mut groups, o, &|g, o| g.obs.iter().any(|p| close(p.t, o.t, HISTORY_SLACK_US)));
    }
    // The unit (or cgroup) of each group, worked out once and again only when the group changes.
    let mut units: Vec<Option<String>> = groups
        .iter()
        .map(|g| g.unit().map(str::to_owned).or_else(|| group_cgroup(g, events)))
        .collect();
    for o in without {
        let unit = o.unit.clone();
        let found = (0..groups.len()).find(|&i| {
            matches!((&unit, &units[i]), (Some(u), Some(gu)) if gu.contains(u.as_str()))
                && groups[i].obs.iter().any(|p| close(p.t, o.t, SAME_DEATH_US))
        });
        let target = found.or_else(|| {
            // Several systemd lines of one unit death (exited, failed, watchdog) are one death.
            (0..groups.len()).find(|&i| {
                let g = &groups[i];
                g.pid().is_none() && g.unit() == unit.as_deref() && g.obs.iter().any(|p| close(p.t, o.t, SAME_DEATH_US))
            })
        });
        match target {
            Some(i) => {
                groups[i].obs.push(o);
                units[i] = groups[i].unit().map(str::to_owned).or_else(|| group_cgroup(&groups[i], events));
            }
            None => {
                groups.push(Group { obs: vec![o] });
                let g = &groups[groups.len() - 1];
                units.push(g.unit().map(str::to_owned).or_else(|| group_cgroup(g, events)));
            }
        }
    }
    super::containers::group(&mut groups, runtime, events);
    groups
}

/// One sender's same signal to one pid, audited again and again (a supervisor's SIGUSR1 every few ms): each
/// later kill syscall succeeded, so a process with that pid was there to receive it, and only the last can have
/// been a death. The run becomes one observation, the last record, that names the first and the count; without
/// this, every record was a death of its own and grouping them went quadratic (46,000 kills: minutes).
fn collapse_repeats(direct: Vec<Obs>, events: &[Event]) -> Vec<Obs> {
    let mut out: Vec<Obs> = Vec::with_capacity(direct.len());
    let mut runs: BTreeMap<(i64, i64, i64), usize> = BTreeMap::new();
    for o in direct {
        let sender = events.get(o.event).and_then(|e| e.pid);
        let key = match (o.kind, o.pid, sender, o.signal) {
            (ObsKind::AuditKill, Some(p), Some(s), Some(sig)) if !o.group_kill && o.t.is_some() => Some((p, s, sig)),
            _ => None,
        };
        if let Some(k) = key {
            if let Some(&i) = runs.get(&k) {
                if close(out[i].t, o.t, SAME_DEATH_US) {
                    let prev = &out[i];
                    let repeats = Repeats {
                        first: prev.repeats.map_or(prev.event, |r| r.first),
                        count: prev.repeats.map_or(1, |r| r.count) + 1,
                    };
                    out[i] = Obs { repeats: Some(repeats), ..o };
                    continue;
                }
            }
            runs.insert(k, out.len());
        }
        out.push(o);
    }
    out
}

/// Two kill records for one pid are separate attempts when both name it (the first may have been caught):
/// keep them apart so each sender is named. A later group or broadcast kill that reaches an already-signalled
/// pid is not a second death (timeout(1) signals its child, then its own process group): it joins the first.
/// The recorder's trace and audit's record of one kill (same sender, same signal) are one kill, as are two
/// traces of one sender's same signal to the pid (timeout(1) again, which the trace sees per process).
fn conflicting(g: &Group, o: &Obs, events: &[Event]) -> bool {
    let kill = |k: ObsKind| matches!(k, ObsKind::AuditKill | ObsKind::RecordedKill);
    kill(o.kind) && !o.group_kill && g.obs.iter().any(|p| kill(p.kind) && !same_kill(p, o, events))
}

/// Whether two kill observations of one pid, one of them the recorder's, are the same sender sending the same
/// signal: within 2 s of an audit record (its time is the syscall's exit, in ms), or within the death window of
/// another trace.
fn same_kill(a: &Obs, b: &Obs, events: &[Event]) -> bool {
    let traced = |o: &Obs| o.kind == ObsKind::RecordedKill;
    if !traced(a) && !traced(b) {
        return false;
    }
    let window = if traced(a) && traced(b) { SAME_DEATH_US } else { 2_000_000 };
    let sender = |o: &Obs| events.get(o.event).and_then(|e| e.pid);
    sender(a).is_some() && sender(a) == sender(b) && a.signal == b.signal && close(a.t, b.t, window)
}

/// Whether an audited kill's argument was a process group or a broadcast: kill(2)'s pid ≤ 0 (0 = the sender's
/// own group, -1 = every process it may signal, < -1 = group -pid), or a `targets` list.
pub fn is_group_kill(e: &Event) -> bool {
    let kill = e.syscall().is_none_or(|s| s == "kill");
    (kill && e.target_arg().is_some_and(|a| a <= 0)) || e.fields.get("targets").is_some_and(|v| v.as_array().is_some())
}

fn group_cgroup(g: &Group, events: &[Event]) -> Option<String> {
    g.obs.iter().find_map(|o| {
        let e = &events[o.event];
        e.field_str("task_memcg").or_else(|| e.field_str("cgroup")).map(str::to_owned)
    })
}

pub fn evidence(e: &Event, role: &str) -> EvidenceRef {
    EvidenceRef { origin: e.origin.clone(), role: role.to_owned(), raw: e.raw.clone() }
}

pub fn victim_from(g: &Group, events: &[Event]) -> Victim {
    let mut v = Victim { pid: g.pid(), comm: None, cmdline: None, uid: None, user: None, unit: g.unit().map(str::to_owned), container: None, pod: None, cgroup: None };
    let mut order: Vec<&Obs> = g.obs.iter().collect();
    order.sort_by_key(|o| o.kind);
    for o in order {
        let e = &events[o.event];
        match o.kind {
            ObsKind::AuditKill | ObsKind::RecordedKill | ObsKind::KernelSignal => {
                v.comm = v.comm.take().or_else(|| e.field_str("target_comm").map(str::to_owned));
                v.uid = v.uid.or_else(|| e.int("target_uid").and_then(|u| u32::try_from(u).ok()));
                v.user = v.user.take().or_else(|| e.field_str("target_user").map(str::to_owned));
                v.cmdline = v.cmdline.take().or_else(|| args_text(e, "target_argv"));
                v.cgroup = v.cgroup.take().or_else(|| e.field_str("target_cgroup").map(str::to_owned));
            }
            ObsKind::HistoryKill | ObsKind::UnitDeath | ObsKind::Watchdog => {}
            ObsKind::ContainerExit | ObsKind::KubeletStop | ObsKind::PodEnd => continue,
            _ => {
                v.comm = v.comm.take().or_else(|| e.comm.clone()).or_else(|| e.field_str("fname").map(str::to_owned));
                v.uid = v.uid.or(e.uid);
                v.user = v.user.take().or_else(|| e.user.clone());
                v.cmdline = v.cmdline.take().or_else(|| e.field_str("psargs").map(str::to_owned));
                // The recorder's OOM victim record: the victim's argv and cgroup as its table knew them.
                if e.source == Source::Watch {
                    v.cmdline = v.cmdline.take().or_else(|| args_text(e, "argv"));
                    v.cgroup = v.cgroup.take().or_else(|| e.field_str("cgroup").map(str::to_owned));
                }
            }
        }
        v.cgroup = v.cgroup.take().or_else(|| e.field_str("task_memcg").map(str::to_owned));
    }
    v
}

/// An argv field (array of strings) as one line, arguments joined by spaces.
pub fn args_text(e: &Event, key: &str) -> Option<String> {
    let a = e.fields.get(key)?.as_array()?;
    (!a.is_empty()).then(|| a.iter().map(|v| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())).collect::<Vec<_>>().join(" "))
}

/// The sender a kill record names: audit's SYSCALL subject, or the recorder's sender (whose command line is its
/// argv, audit's the PROCTITLE).
pub fn killer_from_audit(e: &Event) -> Killer {
    Killer {
        pid: e.pid,
        comm: e.comm.clone(),
        exe: e.field_str("exe").map(str::to_owned),
        uid: e.uid,
        user: e.user.clone(),
        auid: e.int("auid").and_then(|a| u32::try_from(a).ok()).filter(|&a| a != u32::MAX),
        auser: e.field_str("auser").map(str::to_owned),
        session: e.int("ses").filter(|&s| s != i64::from(u32::MAX) && s >= 0),
        tty: e.field_str("tty").filter(|t| *t != "(none)").map(str::to_owned),
        login_from: None,
        parent_chain: Vec::new(),
        command: e.field_str("proctitle").map(str::to_owned).or_else(|| args_text(e, "argv")),
        container: None,
    }
}

pub fn candidate(description: String, e: Option<&Event>) -> Candidate {
    Candidate { description, evidence: e.map(|e| vec![evidence(e, "candidate")]).unwrap_or_default() }
}

pub fn time_of(g: &Group, events: &[Event]) -> Timestamp {
    let mut order: Vec<&Obs> = g.obs.iter().collect();
    order.sort_by_key(|o| o.kind);
    order
        .iter()
        .map(|o| &events[o.event].timestamp)
        .find(|t| t.sort_key().is_some())
        .cloned()
        .unwrap_or(Timestamp::Unknown)
}
