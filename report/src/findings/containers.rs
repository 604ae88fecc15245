//! Containers: which container and pod a victim (or killer) ran in, and the deaths a runtime or the kubelet
//! records. A container is named only where a record ties it to the death: the victim's cgroup path, a runtime
//! record whose pid was the victim's while it ran, or a runtime event of the death itself.
//!
//! Facts checked against the issue: the kubelet's "Killing container with a grace period" line is the same for
//! every reason, the line before it names the cause; the runtime's `OOMKilled` flag is unreliable on its own
//! (the kernel's OOM line and `memory.events` are authoritative); exit code 137 comes from OOM kills, probe
//! kills and `docker kill` alike.

use coroner_schemas::finding::{Candidate, Cause, Confidence, ContainerReason, ContainerRef, Finding, Killer, PodRef};
use coroner_schemas::{Event, EventKind, Source, Utc};

use super::deaths::{close, evidence, is_crash_signal, signal_of, Group, Obs, ObsKind, SAME_DEATH_US};
use super::typed::Typed;
use super::Context;
use crate::sources::container_ids;
use crate::sources::facts::ContainerRecord;

/// How far before a container's end the kubelet's stop line and the line naming its cause are looked for.
const KUBELET_WINDOW_US: i64 = 600_000_000;
/// How close two records of a container's exit must be to be one exit.
const SAME_EXIT_US: i64 = 2_000_000;
/// How close a runtime record's finish time must be to a death to be that death's, with no exit event in it.
const RECORD_END_US: i64 = 5_000_000;
/// How far before a container's end a `docker stop`/`kill` someone typed is looked for.
const ASKED_WINDOW_US: i64 = 1_800_000_000;
/// Programs that deliver a runtime's stop and kill signals (the shim, the OCI runtime, the daemons).
const RUNTIME_SENDERS: [&str; 12] = [
    "runc", "crun", "containerd-shim", "containerd-shim-runc-v2", "containerd-shim-runc-v1", "containerd", "dockerd", "docker-init",
    "conmon", "crio", "podman", "kubelet",
];

pub fn is_container_obs(k: ObsKind) -> bool {
    matches!(k, ObsKind::ContainerExit | ObsKind::KubeletStop | ObsKind::PodEnd)
}

/// The container id a runtime or kubelet record gives (`container_id`, without the `containerd://` scheme the
/// kubelet writes): 12 or more hex digits, else none.
pub fn event_container_id(e: &Event) -> Option<&str> {
    let id = e.field_str("container_id")?.trim();
    let id = id.rsplit_once("://").map_or(id, |(_, i)| i);
    (id.len() >= 12 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))).then_some(id)
}

/// Whether two ids name one container: one is the other or a prefix of it of 12 or more digits.
pub fn same_id(a: &str, b: &str) -> bool {
    let (long, short) = if a.len() >= b.len() { (a, b) } else { (b, a) };
    short.len() >= 12 && long.starts_with(short)
}

/// A pod as records name it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodKey {
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub uid: Option<String>,
}

impl PodKey {
    fn of_event(e: &Event) -> Option<PodKey> {
        let k = PodKey {
            namespace: e.field_str("pod_namespace").map(str::to_owned),
            name: e.field_str("pod_name").map(str::to_owned),
            uid: e.field_str("pod_uid").map(str::to_owned),
        };
        (k.name.is_some() || k.uid.is_some()).then_some(k)
    }
    fn of_ref(p: &PodRef) -> PodKey {
        PodKey { namespace: p.namespace.clone(), name: p.name.clone(), uid: p.uid.clone() }
    }
    /// Same uid, or same namespace and name.
    pub fn same(&self, o: &PodKey) -> bool {
        matches!((&self.uid, &o.uid), (Some(a), Some(b)) if a == b)
            || matches!((&self.name, &o.name), (Some(a), Some(b)) if a == b) && self.namespace == o.namespace
    }
}

/// What the events of a group say of their container: ids (from `container_id` and cgroup paths), pods and
/// container names.
#[derive(Clone, Debug, Default)]
struct Marks {
    ids: Vec<String>,
    pods: Vec<PodKey>,
    names: Vec<String>,
}

fn marks_of_event(e: &Event, m: &mut Marks) {
    if let Some(id) = event_container_id(e) {
        m.ids.push(id.to_owned());
    }
    for key in ["task_memcg", "target_cgroup", "cgroup"] {
        if let Some(c) = e.field_str(key).and_then(container_ids::parse) {
            m.ids.push(c.id.to_owned());
            if let Some(uid) = c.pod_uid {
                m.pods.push(PodKey { uid: Some(uid), ..PodKey::default() });
            }
        }
    }
    if let Some(p) = PodKey::of_event(e) {
        m.pods.push(p);
    }
    if let Some(n) = e.field_str("container_name") {
        m.names.push(n.to_owned());
    }
}

fn marks(g: &Group, events: &[Event]) -> Marks {
    let mut m = Marks::default();
    for o in &g.obs {
        if let Some(e) = events.get(o.event) {
            marks_of_event(e, &mut m);
        }
    }
    m
}

/// Whether the runtime observation `e` is about the container a group's records name.
fn fits(e: &Event, kind: ObsKind, m: &Marks) -> bool {
    let id = event_container_id(e);
    if let Some(id) = id {
        if m.ids.iter().any(|x| same_id(x, id)) {
            return true;
        }
    }
    let pod = PodKey::of_event(e);
    let same_pod = pod.as_ref().is_some_and(|p| m.pods.iter().any(|q| q.same(p)));
    match kind {
        ObsKind::PodEnd => same_pod,
        // Without an id on one side: the same pod's same container name.
        _ => {
            (id.is_none() || m.ids.is_empty())
                && same_pod
                && e.field_str("container_name").is_some_and(|n| m.names.iter().any(|x| x == n))
        }
    }
}

/// Puts the runtime's and kubelet's observations (no pid) onto the death of the same container (same id, or the
/// same pod's container name; close in time, the nearest), else into deaths of their own; exits first, then
/// the kubelet's stops, then pod ends, so each finds the exit it led to. Then the kill records of one container's
/// main pid that stand alone (`docker stop`'s SIGTERM before its SIGKILL) join that pid's death.
pub fn group(groups: &mut Vec<Group>, mut runtime: Vec<Obs>, events: &[Event]) {
    runtime.sort_by_key(|o| (o.kind, o.event));
    let mut m: Vec<Marks> = groups.iter().map(|g| marks(g, events)).collect();
    for o in runtime {
        let Some(e) = events.get(o.event) else { continue };
        let dist = |g: &Group| {
            g.obs.iter().filter_map(|p| match (p.t, o.t) {
                (Some(a), Some(b)) => Some((a.unix_micros() - b.unix_micros()).abs()),
                _ => None,
            }).min().unwrap_or(0)
        };
        let best = (0..groups.len())
            .filter(|&i| fits(e, o.kind, &m[i]) && groups[i].obs.iter().any(|p| close(p.t, o.t, SAME_DEATH_US)))
            // An exit joins a death that has no exit yet, or another record of the same exit: within 2 s of it (the
            // runtime's state, `inspect`, the kubelet's PLEG line) with no other exit code.
            .filter(|&i| {
                o.kind != ObsKind::ContainerExit
                    || groups[i].obs.iter().filter(|p| p.kind == ObsKind::ContainerExit).all(|p| {
                        let other = &events[p.event];
                        close(p.t, o.t, SAME_EXIT_US) && (other.int("exit_code").is_none() || e.int("exit_code").is_none() || other.int("exit_code") == e.int("exit_code"))
                    })
            })
            // When its init dies the kernel SIGKILLs the rest of the container's pid namespace (SI_KERNEL): those
            // deaths are not the main process's, whose exit the runtime recorded, so they come last.
            .min_by_key(|&i| (groups[i].obs.iter().all(|p| p.kind == ObsKind::KernelSignal), dist(&groups[i]), i));
        match best {
            Some(i) => {
                marks_of_event(e, &mut m[i]);
                groups[i].obs.push(o);
            }
            None => {
                let mut k = Marks::default();
                marks_of_event(e, &mut k);
                m.push(k);
                groups.push(Group { obs: vec![o] });
            }
        }
    }
    absorb_kills(groups, &m);
}

fn is_kill(k: ObsKind) -> bool {
    matches!(k, ObsKind::AuditKill | ObsKind::RecordedKill)
}

/// A container's main pid signalled more than once (SIGTERM, then SIGKILL after the stop timeout) is one death:
/// the kill-only deaths of the same pid and container before a later one join it, and the later kills come
/// first, so the death is read from the signal that ended it.
fn absorb_kills(groups: &mut Vec<Group>, m: &[Marks]) {
    let mut order: Vec<usize> = (0..groups.len()).filter(|&i| groups[i].pid().is_some() && !m[i].ids.is_empty()).collect();
    order.sort_by_key(|&i| (groups[i].pid(), groups[i].time(), i));
    let mut merged = false;
    for w in 0..order.len() {
        let i = order[w];
        if groups[i].obs.is_empty() || !groups[i].obs.iter().all(|o| is_kill(o.kind)) {
            continue;
        }
        let later = order[w + 1..].iter().copied().find(|&j| {
            groups[j].pid() == groups[i].pid()
                && m[j].ids.iter().any(|a| m[i].ids.iter().any(|b| same_id(a, b)))
                && groups[i].obs.iter().any(|p| groups[j].obs.iter().any(|q| close(p.t, q.t, SAME_DEATH_US)))
        });
        if let Some(j) = later {
            let obs = std::mem::take(&mut groups[i].obs);
            groups[j].obs.extend(obs);
            merged = true;
        }
    }
    if merged {
        groups.retain(|g| !g.obs.is_empty());
        for g in groups.iter_mut().filter(|g| g.obs.iter().filter(|o| is_kill(o.kind)).count() > 1) {
            g.obs.sort_by_key(|o| (!is_kill(o.kind), std::cmp::Reverse(o.t), std::cmp::Reverse(o.event)));
        }
    }
}

/// The container (and pod) a death is tied to, and what tied it.
struct Ident<'a> {
    rec: Option<&'a ContainerRecord>,
    cref: ContainerRef,
    pod: Option<PodRef>,
    /// The record that named it, to cite.
    cite: Option<&'a Event>,
    /// How the records tie it, as a clause: "its cgroup … names it".
    how: String,
}

fn cref_of(r: &ContainerRecord) -> ContainerRef {
    // A record that does not say its runtime (crictl's, a log link's) is `unknown`, as a cgroup path alone is.
    let runtime = if r.runtime.is_empty() { "unknown".to_owned() } else { r.runtime.clone() };
    ContainerRef { runtime, id: r.id.clone(), name: r.name.clone(), image: r.image.clone(), restart_count: None }
}

fn pod_of(r: Option<&ContainerRecord>, uid: Option<String>) -> Option<PodRef> {
    let p = PodRef {
        namespace: r.and_then(|r| r.pod_namespace.clone()),
        name: r.and_then(|r| r.pod_name.clone()),
        uid: r.and_then(|r| r.pod_uid.clone()).or(uid),
    };
    (p.namespace.is_some() || p.name.is_some() || p.uid.is_some()).then_some(p)
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// The process table's cgroup of `pid`, where the process it lists was started by `t`.
fn alive_cgroup<'a>(cx: &'a Context, pid: i64, t: Option<Utc>) -> Option<(&'a str, &'a Event)> {
    cx.of_kind(EventKind::ProcessAlive).find_map(|e| {
        let started = e.field_str("start_time").and_then(Utc::parse_rfc3339);
        let fits = e.pid == Some(pid) && matches!((started, t), (Some(s), Some(t)) if s <= t);
        fits.then(|| e.field_str("cgroup").map(|c| (c, e))).flatten()
    })
}

/// The container a cgroup path names: a runtime's record of it, else (the path alone) only its id.
fn by_cgroup<'a>(cx: &'a Context, path: &str, what: &str) -> Option<Ident<'a>> {
    let parsed = container_ids::parse(path);
    let rec = cx.facts.container_for_cgroup(path);
    match (rec, parsed) {
        (Some(r), p) => Some(Ident {
            rec: Some(r),
            cref: cref_of(r),
            pod: pod_of(Some(r), p.and_then(|p| p.pod_uid)),
            cite: None,
            how: format!("{what} {path} is its cgroup"),
        }),
        (None, Some(p)) => Some(Ident {
            rec: None,
            cref: ContainerRef { runtime: "unknown".into(), id: p.id.to_owned(), name: None, image: None, restart_count: None },
            pod: pod_of(None, p.pod_uid),
            cite: None,
            how: format!("{what} {path} names the container id (no runtime record of it is in the bundle)"),
        }),
        (None, None) => None,
    }
}

/// What ties this death to a container, in order: a runtime event of the death naming it, the victim's cgroup
/// (the kernel's `task_memcg`, the recorder's `target_cgroup`), a runtime record whose main pid was the victim's
/// while it ran, the process table's cgroup of the pid.
fn identify<'a>(f: &Finding, g: Option<&Group>, cx: &'a Context) -> Option<Ident<'a>> {
    let ev = cx.events;
    let t = f.time.sort_key();
    if let Some(g) = g {
        let mut rt: Vec<&Obs> = g.obs.iter().filter(|o| is_container_obs(o.kind)).collect();
        rt.sort_by_key(|o| (o.kind, o.event));
        for o in &rt {
            let e = &ev[o.event];
            let rec = match event_container_id(e) {
                Some(id) => {
                    let runtime = e.field_str("runtime");
                    cx.facts.containers.iter().find(|k| k.has_id(id) && runtime.is_none_or(|r| r == k.runtime)).or_else(|| cx.facts.container_by_id(id))
                }
                None => {
                    let pod = PodKey::of_event(e);
                    let name = e.field_str("container_name");
                    cx.facts.containers.iter().find(|k| {
                        name.is_some() && k.name.as_deref() == name
                            && pod.as_ref().is_some_and(|p| p.same(&PodKey { namespace: k.pod_namespace.clone(), name: k.pod_name.clone(), uid: k.pod_uid.clone() }))
                    })
                }
            };
            let what = if e.source == Source::Kubelet { "the kubelet's record" } else { "the runtime's record" };
            if let Some(r) = rec {
                return Some(Ident { rec: Some(r), cref: cref_of(r), pod: pod_of(Some(r), None), cite: Some(e), how: format!("{what} of its end names it") });
            }
            if o.kind == ObsKind::PodEnd {
                continue;
            }
            // What this record leaves out, from the group's other records of the same container: a PLEG exit names
            // the pod by uid only, the kill line before it names the pod and the container.
            let same = |x: &Event| match (event_container_id(x), event_container_id(e)) {
                (Some(a), Some(b)) => same_id(a, b),
                _ => PodKey::of_event(x).zip(PodKey::of_event(e)).is_some_and(|(a, b)| a.same(&b)),
            };
            let peers: Vec<&Event> = std::iter::once(e).chain(rt.iter().map(|p| &ev[p.event]).filter(|x| same(x))).collect();
            let pick = |k: &str| peers.iter().find_map(|x| x.field_str(k)).map(str::to_owned);
            let id = peers.iter().find_map(|x| event_container_id(x)).map(str::to_owned);
            let name = pick("container_name");
            if id.is_none() && name.is_none() {
                continue;
            }
            let pod = Some(PodRef { namespace: pick("pod_namespace"), name: pick("pod_name"), uid: pick("pod_uid") })
                .filter(|p| p.name.is_some() || p.uid.is_some());
            // The runtime, where this record or another of the same death names it (the kubelet's kill line does).
            let runtime = e.field_str("runtime").or_else(|| rt.iter().find_map(|p| ev[p.event].field_str("runtime"))).unwrap_or("unknown");
            return Some(Ident {
                rec: None,
                cref: ContainerRef {
                    runtime: runtime.to_owned(),
                    id: id.unwrap_or_default(),
                    name,
                    image: pick("image"),
                    restart_count: None,
                },
                pod,
                cite: Some(e),
                how: format!("{what} of its end names it"),
            });
        }
    }
    let cgroups: Vec<String> = f.victim.cgroup.iter().cloned().chain(g.into_iter().flat_map(|g| {
        g.obs.iter().filter_map(|o| {
            let e = &ev[o.event];
            e.field_str("task_memcg").or_else(|| e.field_str("target_cgroup")).or_else(|| e.field_str("cgroup")).map(str::to_owned)
        })
    })).collect();
    for c in &cgroups {
        if let Some(i) = by_cgroup(cx, c, "the victim's cgroup") {
            return Some(i);
        }
    }
    if let (Some(pid), Some(t)) = (f.victim.pid, t) {
        let ran = |r: &&ContainerRecord| {
            r.pid == Some(pid) && r.started.is_some_and(|s| s <= t) && r.finished.is_none_or(|e| t.unix_micros() <= e.unix_micros() + SAME_DEATH_US)
        };
        if let Some(r) = cx.facts.containers.iter().find(ran) {
            return Some(Ident {
                rec: Some(r),
                cref: cref_of(r),
                pod: pod_of(Some(r), None),
                cite: None,
                how: format!("the runtime's record ({}) gives pid {pid} as its main process while it ran", r.origin.entry),
            });
        }
        if let Some((c, _)) = alive_cgroup(cx, pid, Some(t)) {
            return by_cgroup(cx, c, "the process table's cgroup");
        }
    }
    None
}

/// A runtime event about record `r` (its start or exit) nearest `t`, to cite for the name.
fn record_event<'a>(cx: &'a Context, r: &ContainerRecord, t: Option<Utc>) -> Option<&'a Event> {
    cx.of_kinds(&[EventKind::ContainerStart, EventKind::ContainerExit])
        .filter(|e| event_container_id(e).is_some_and(|id| r.has_id(id)))
        .min_by_key(|e| match (e.timestamp.sort_key(), t) {
            (Some(a), Some(b)) => (a.unix_micros() - b.unix_micros()).abs(),
            _ => i64::MAX,
        })
}

fn cite(f: &mut Finding, e: &Event, role: &str) {
    if !f.evidence.iter().any(|x| x.origin == e.origin) {
        f.evidence.push(evidence(e, role));
    }
}

fn name_text(c: &ContainerRef) -> String {
    match &c.name {
        Some(n) if c.id.is_empty() => n.clone(),
        Some(n) => format!("{n} ({})", short(&c.id)),
        None => short(&c.id).to_owned(),
    }
}

/// Fills the victim's container and pod (and the killer's, where its cgroup is known), cites what named them,
/// and refines a death composed from kernel, audit or recorder records with what it was in the container's life.
pub fn refine(f: &mut Finding, g: &Group, cx: &Context) {
    let t = f.time.sort_key();
    if let Some(k) = f.killer.as_mut() {
        killer_container(k, cx, t);
    }
    let Some(id) = identify(f, Some(g), cx) else { return };
    let exits: Vec<&Event> = g.obs.iter().filter(|o| o.kind == ObsKind::ContainerExit).map(|o| &cx.events[o.event]).collect();
    let mut c = id.cref.clone();
    c.restart_count = exits.iter().find_map(|e| e.int("restart_count")).and_then(|n| u64::try_from(n).ok()).or_else(|| {
        // The record's count is at its save: this death's only when the record's end is this death (its exit is in
        // this group, or, with no exit record, the record's finish time is within seconds of it). A restart loop's
        // earlier deaths get none: the count then was lower.
        let ends_here = !exits.is_empty() || id.rec.and_then(|r| r.finished).is_some_and(|e| close(Some(e), t, RECORD_END_US));
        id.rec.filter(|_| ends_here).and_then(|r| r.restart_count)
    });
    f.victim.container = Some(c.clone());
    f.victim.pod = id.pod.clone();
    if f.victim.cgroup.is_none() {
        f.victim.cgroup = id.rec.and_then(|r| r.cgroup.clone());
    }
    match id.cite.or_else(|| id.rec.and_then(|r| record_event(cx, r, t))) {
        Some(e) => cite(f, e, "runtime record naming the container"),
        None => {
            if let Some(r) = id.rec {
                let mut entries: Vec<&str> = std::iter::once(&*r.origin.entry).chain(r.also.iter().map(|o| &*o.entry)).collect();
                entries.dedup();
                f.details.insert("container_records".into(), serde_json::json!(entries));
            }
        }
    }
    let named = match (&c.name, &c.image) {
        (Some(_), Some(img)) => format!("{}, image {img}", name_text(&c)),
        _ => name_text(&c),
    };
    let runtime = if c.runtime == "unknown" { String::new() } else { format!("{} ", c.runtime) };
    let pod = id.pod.as_ref().and_then(|p| match (&p.namespace, &p.name) {
        (Some(ns), Some(n)) => Some(format!(" of pod {ns}/{n}")),
        (None, Some(n)) => Some(format!(" of pod {n}")),
        _ => p.uid.as_ref().map(|u| format!(" of pod uid {u}")),
    });
    let record_note = match (id.cite, id.rec) {
        (None, Some(r)) if record_event(cx, r, t).is_none() => format!(" ({} names it)", r.origin.entry),
        _ => String::new(),
    };
    f.reasoning.push_str(&format!(" It ran in {runtime}container {named}{}: {}{record_note}.", pod.unwrap_or_default(), id.how));
    if let Some(r) = id.rec {
        if let Some(l) = r.memory_limit {
            f.details.insert("container_memory_limit".into(), serde_json::json!(l));
        }
        if let Some(p) = &r.restart_policy {
            f.details.insert("container_restart_policy".into(), serde_json::json!(p));
        }
    }
    if let Some(code) = exits.iter().find_map(|e| e.int("exit_code")) {
        f.details.insert("exit_code".into(), serde_json::json!(code));
    }
    if g.obs.iter().all(|o| is_container_obs(o.kind)) {
        return;
    }
    // Kernel, audit or recorder records decided the death: what it was in the container's life.
    match f.cause {
        Cause::OomKill if f.via.as_deref() == Some("kernel") => {
            let memcg = f.details.get("oom_memcg").and_then(|v| v.as_str()).map(str::to_owned)
                .or_else(|| f.details.get("task_memcg").and_then(|v| v.as_str()).map(str::to_owned));
            if let Some(scope) = memcg.as_deref().and_then(|m| cgroup_scope(m, &id)) {
                f.container_reason = Some(ContainerReason::MemoryLimit);
                f.reasoning.push_str(&format!(" The memory cgroup whose limit was hit is the {scope}'s: the container's memory limit ended it."));
                if exits.iter().any(|e| e.fields.get("oom_killed").and_then(|v| v.as_bool()) == Some(true)) {
                    f.reasoning.push_str(" The runtime's OOMKilled flag agrees.");
                }
            }
        }
        Cause::Signal if f.killer.is_some() => runtime_kill(f, g, cx, &id, &exits),
        _ => {}
    }
}

/// Whether a memory cgroup path is the container's own or its pod's: `container`/`pod`.
fn cgroup_scope(path: &str, id: &Ident) -> Option<&'static str> {
    let path = path.trim_end_matches('/');
    if let Some(p) = container_ids::parse(path) {
        return same_id(p.id, &id.cref.id).then_some("container");
    }
    if id.rec.and_then(|r| r.cgroup.as_deref()).is_some_and(|c| c.trim_end_matches('/') == path) {
        return Some("container");
    }
    let uid = id.pod.as_ref().and_then(|p| p.uid.as_deref())?;
    let last = path.rsplit('/').next().unwrap_or(path);
    (last.contains(uid) || last.contains(&uid.replace('-', "_"))).then_some("pod")
}

/// A kill of the container's main process composed from kill records: a runtime's stop (its stop signal, then
/// SIGKILL after the timeout) or kill (one signal), when a runtime program sent it or someone asked for it.
fn runtime_kill(f: &mut Finding, g: &Group, cx: &Context, id: &Ident, exits: &[&Event]) {
    let ev = cx.events;
    let mut kills: Vec<&Obs> = g.obs.iter().filter(|o| is_kill(o.kind)).collect();
    kills.sort_by_key(|o| (o.t, o.event));
    kills.dedup_by_key(|o| (o.signal, ev[o.event].pid));
    let sender = |o: &Obs| ev[o.event].comm.clone().unwrap_or_default();
    let by_runtime = kills.iter().all(|o| {
        let s = sender(o);
        RUNTIME_SENDERS.iter().any(|r| s == *r || (s.len() == 15 && r.starts_with(s.as_str())))
    });
    let t = f.time.sort_key();
    let asked = who_asked(cx, &id.cref, id.pod.as_ref(), t);
    let verb = asked.as_ref().map(|a| a.verb.clone());
    if !by_runtime && verb.is_none() {
        return;
    }
    let stop_sig = id.rec.and_then(|r| r.stop_signal.as_deref()).and_then(crate::sources::signals::number).unwrap_or(15);
    let seq: Vec<i64> = kills.iter().filter_map(|o| o.signal).collect();
    let stopped = seq.len() >= 2 && seq.last() == Some(&9) && seq[..seq.len() - 1].contains(&stop_sig);
    f.container_reason = Some(match verb.as_deref() {
        Some("stop" | "restart") => ContainerReason::RuntimeStop,
        Some("kill") => ContainerReason::RuntimeKill,
        _ if stopped => ContainerReason::RuntimeStop,
        _ => ContainerReason::RuntimeKill,
    });
    if stopped {
        let first = kills.first().and_then(|o| o.t);
        let last = kills.last().and_then(|o| o.t);
        let gap = match (first, last) {
            (Some(a), Some(b)) => format!(" {:.1} s later", (b.unix_micros() - a.unix_micros()) as f64 / 1e6),
            _ => String::new(),
        };
        f.reasoning.push_str(&format!(
            " The records show a runtime stop: {} to its main process, then SIGKILL{gap}{}.",
            signal_of(stop_sig).name,
            id.rec.and_then(|r| r.stop_timeout_s).map(|s| format!(" (its stop timeout is {s} s)")).unwrap_or_default()
        ));
    } else if by_runtime {
        f.reasoning.push_str(&format!(" The sender is the container runtime's ({}): a runtime kill of its main process.", kills.first().map(|o| sender(o)).unwrap_or_default()));
    }
    if let Some(code) = exits.iter().find_map(|e| e.int("exit_code")) {
        f.reasoning.push_str(&format!(" The runtime recorded exit code {code}."));
    }
    if let Some(a) = asked {
        f.candidates.push(a.candidate);
        f.reasoning.push_str(&format!(" Who asked: {}.", a.sentence));
    }
}

/// A `docker stop NAME`-style command someone ran before the death.
struct Asked {
    verb: String,
    sentence: String,
    candidate: Candidate,
    logged_in: bool,
    event_user: Option<String>,
    command: Option<String>,
    tool: Option<String>,
}

/// A history line (or an audited exec of the runtime's CLI) that stops, kills or deletes this container or its
/// pod, in the half hour before `t` (undated lines whose bounds allow it).
fn who_asked(cx: &Context, c: &ContainerRef, pod: Option<&PodRef>, t: Option<Utc>) -> Option<Asked> {
    let t = t?;
    let names_it = |n: &str| {
        c.name.as_deref() == Some(n) || same_id(n, &c.id)
            || pod.and_then(|p| p.name.as_deref()).is_some_and(|p| n == p || n.rsplit_once('/').is_some_and(|(k, x)| x == p && matches!(k, "pod" | "pods" | "po")))
    };
    let before = |e: &Event| match &e.timestamp {
        coroner_schemas::Timestamp::Bounded { after, before } => {
            after.is_none_or(|a| a.unix_micros() <= t.unix_micros()) && before.is_none_or(|b| b.unix_micros() >= t.unix_micros() - ASKED_WINDOW_US)
        }
        other => other.sort_key().is_some_and(|x| x.unix_micros() <= t.unix_micros() + 5_000_000 && t.unix_micros() - x.unix_micros() <= ASKED_WINDOW_US),
    };
    let hist = cx.of_kind(EventKind::KillCommand).filter(|e| {
        matches!(e.field_str("tool"), Some("docker" | "podman" | "nerdctl" | "kubectl" | "oc"))
            && e.fields.get("target_names").and_then(|v| v.as_array()).is_some_and(|a| a.iter().filter_map(|x| x.as_str()).any(names_it))
            && before(e)
    });
    let audited = cx.of_kind(EventKind::Exec).filter(|e| {
        let argv: Vec<&str> = e.fields.get("argv").and_then(|v| v.as_array()).map(|a| a.iter().filter_map(|x| x.as_str()).collect()).unwrap_or_default();
        let tool = argv.first().map(|a| a.rsplit('/').next().unwrap_or(a));
        matches!(tool, Some("docker" | "podman" | "nerdctl" | "kubectl"))
            && argv.iter().any(|a| matches!(*a, "stop" | "kill" | "delete" | "restart"))
            && argv.iter().skip(2).any(|a| names_it(a))
            && before(e)
    });
    let e = hist.chain(audited).last()?;
    let verb = e.field_str("action").map(str::to_owned).or_else(|| {
        e.fields.get("argv").and_then(|v| v.as_array()).and_then(|a| {
            a.iter().filter_map(|x| x.as_str()).find(|a| matches!(*a, "stop" | "kill" | "delete" | "restart")).map(str::to_owned)
        })
    })?;
    let user = e.user.clone().or_else(|| e.uid.and_then(|u| cx.index.user_names.get(&u).cloned()));
    let logged_in = user.as_deref().and_then(|u| cx.sessions_by_user.get(u)).is_some_and(|s| !s.covering(t).is_empty());
    let command = e.command().map(str::to_owned).or_else(|| super::deaths::args_text(e, "argv"));
    let sentence = format!(
        "{} ran `{}` ({}{})",
        user.as_deref().unwrap_or("a user"),
        command.as_deref().unwrap_or("?"),
        if e.source == Source::History { "shell history" } else { "audited exec" },
        if logged_in { "; that user was logged in then" } else { "; no login session of that user covers the time" }
    );
    Some(Asked {
        verb,
        candidate: super::deaths::candidate(sentence.clone(), Some(e)),
        sentence,
        logged_in,
        event_user: user,
        command,
        tool: e.field_str("tool").map(str::to_owned).or_else(|| Some("docker".into())),
    })
}

/// The killer's container: the process table's cgroup of its pid.
fn killer_container(k: &mut Killer, cx: &Context, t: Option<Utc>) {
    let Some(pid) = k.pid else { return };
    if let Some((c, _)) = alive_cgroup(cx, pid, t) {
        if let Some(i) = by_cgroup(cx, c, "the sender's cgroup") {
            k.container = Some(i.cref);
        }
    }
}

/// The kubelet's part in a container's end: its stop line, and the line before it naming why.
struct Kube<'a> {
    stop: Option<&'a Event>,
    why: Option<(&'a Event, ContainerReason)>,
}

fn about(e: &Event, c: &ContainerRef, pod: Option<&PodKey>, whole_pod: bool) -> bool {
    if event_container_id(e).is_some_and(|i| !c.id.is_empty() && same_id(i, &c.id)) {
        return true;
    }
    let same_pod = PodKey::of_event(e).is_some_and(|p| pod.is_some_and(|q| q.same(&p)));
    same_pod && (whole_pod || e.field_str("container_name").is_some_and(|n| c.name.as_deref() == Some(n)))
}

fn kube<'a>(g: &Group, cx: &'a Context, c: &ContainerRef, pod: Option<&PodKey>, t: Option<Utc>) -> Kube<'a> {
    let ev = cx.events;
    let in_window = |e: &Event, end: Option<Utc>| match (e.timestamp.sort_key(), end) {
        (Some(x), Some(y)) => x.unix_micros() <= y.unix_micros() + 1_000_000 && y.unix_micros() - x.unix_micros() <= KUBELET_WINDOW_US,
        _ => false,
    };
    let stop = g.obs.iter().find(|o| o.kind == ObsKind::KubeletStop).map(|o| &ev[o.event]).or_else(|| {
        cx.of_kind(EventKind::ContainerStop).filter(|e| e.source == Source::Kubelet && about(e, c, pod, false) && in_window(e, t)).last()
    });
    let anchor = stop.and_then(|s| s.timestamp.sort_key()).or(t);
    let why = cx
        .of_kinds(&[EventKind::ProbeFailed, EventKind::PodEvicted, EventKind::PodDeleted])
        .filter(|e| e.source == Source::Kubelet && in_window(e, anchor))
        .filter_map(|e| {
            let r = match e.kind {
                EventKind::ProbeFailed if about(e, c, pod, false) => match e.field_str("probe_type") {
                    Some(p) if p.eq_ignore_ascii_case("liveness") => ContainerReason::LivenessProbe,
                    Some(p) if p.eq_ignore_ascii_case("startup") => ContainerReason::StartupProbe,
                    _ => return None,
                },
                EventKind::PodEvicted if about(e, c, pod, true) => ContainerReason::Eviction,
                EventKind::PodDeleted if about(e, c, pod, true) => {
                    if e.field_str("reason").is_some_and(|r| r.eq_ignore_ascii_case("preempted") || r.eq_ignore_ascii_case("preemption")) {
                        ContainerReason::Preemption
                    } else {
                        ContainerReason::ApiDelete
                    }
                }
                _ => return None,
            };
            Some((e, r))
        })
        .last()
        .or_else(|| {
            g.obs.iter().find(|o| o.kind == ObsKind::PodEnd).map(|o| &ev[o.event]).map(|e| {
                let r = if e.kind == EventKind::PodEvicted {
                    ContainerReason::Eviction
                } else if e.field_str("reason").is_some_and(|r| r.eq_ignore_ascii_case("preempted")) {
                    ContainerReason::Preemption
                } else {
                    ContainerReason::ApiDelete
                };
                (e, r)
            })
        });
    Kube { stop, why }
}

fn kubelet_killer(e: Option<&Event>) -> Killer {
    Killer { pid: e.and_then(|e| e.pid), comm: Some("kubelet".into()), ..Killer::default() }
}

fn reason_text(r: ContainerReason) -> &'static str {
    match r {
        ContainerReason::LivenessProbe => "its liveness probe failed",
        ContainerReason::StartupProbe => "its startup probe failed",
        ContainerReason::Eviction => "the kubelet's eviction manager evicted its pod",
        ContainerReason::ApiDelete => "its pod was deleted through the API",
        ContainerReason::Preemption => "its pod was preempted",
        ContainerReason::MemoryLimit => "it hit its memory limit",
        ContainerReason::RuntimeStop => "the runtime stopped it",
        ContainerReason::RuntimeKill => "the runtime killed it",
        ContainerReason::OwnExit => "it exited by itself",
    }
}

/// A death only the runtime or the kubelet recorded (no kernel, audit or recorder record of it): what their
/// records show, with the confidence they allow.
pub fn death(f: &mut Finding, g: &Group, cx: &Context) {
    let ev = cx.events;
    let t = g.time();
    let id = identify(f, Some(g), cx);
    let exits: Vec<&Event> = g.obs.iter().filter(|o| o.kind == ObsKind::ContainerExit).map(|o| &ev[o.event]).collect();
    let code = exits.iter().find_map(|e| e.int("exit_code"));
    let rec = id.as_ref().and_then(|i| i.rec);
    let rec_now = rec.filter(|r| r.finished.is_some_and(|e| close(Some(e), t, SAME_DEATH_US)));
    let code = code.or_else(|| rec_now.and_then(|r| r.exit_code));
    let flag = exits.iter().any(|e| e.fields.get("oom_killed").and_then(|v| v.as_bool()) == Some(true))
        || rec_now.and_then(|r| r.oom_killed) == Some(true);
    let runtime_reason = exits.iter().find_map(|e| e.field_str("reason")).filter(|r| !r.trim().is_empty());
    let empty = ContainerRef { runtime: "unknown".into(), id: String::new(), name: None, image: None, restart_count: None };
    let c = id.as_ref().map_or(&empty, |i| &i.cref);
    let podkey = id.as_ref().and_then(|i| i.pod.as_ref()).map(PodKey::of_ref).or_else(|| {
        g.obs.iter().find_map(|o| PodKey::of_event(&ev[o.event]))
    });
    if f.victim.comm.is_none() && exits.is_empty() && g.obs.iter().all(|o| o.kind == ObsKind::PodEnd) {
        f.victim.comm = Some("(the pod's containers)".into());
        f.victim.pod = podkey.as_ref().map(|p| PodRef { namespace: p.namespace.clone(), name: p.name.clone(), uid: p.uid.clone() });
    }
    let code_text = code.map(|c| format!(" with exit code {c}")).unwrap_or_default();
    let k = kube(g, cx, c, podkey.as_ref(), t);
    let ended = match exits.first() {
        None => "No record of its end is in the bundle.".to_owned(),
        Some(e) if e.source == Source::Kubelet => format!("The kubelet recorded its end{code_text}."),
        Some(_) => format!("The runtime recorded its end{code_text}."),
    };
    if k.stop.is_some() || k.why.is_some() {
        f.via = Some("kubelet".into());
        f.cause = Cause::Signal;
        f.killer = Some(kubelet_killer(k.stop));
        if let Some(s) = k.stop {
            cite(f, s, "kubelet's record of killing the container");
        }
        if let Some((w, _)) = k.why {
            let role = match w.kind {
                EventKind::ProbeFailed => "kubelet's record of the failed probe",
                EventKind::PodEvicted => "kubelet's record of the eviction",
                _ => "kubelet's record of the pod's deletion",
            };
            cite(f, w, role);
        }
        let grace = k.stop.and_then(|s| s.int("grace_period_s")).map(|g| format!(" with a grace period of {g} s")).unwrap_or_default();
        match (k.stop, k.why) {
            (Some(_), Some((_, r))) => {
                f.container_reason = Some(r);
                f.confidence = Confidence::Certain;
                f.reasoning = format!("The kubelet logged that {} and then that it was killing the container{grace}. {ended}", reason_text(r));
            }
            (Some(_), None) => {
                f.confidence = if exits.is_empty() { Confidence::Likely } else { Confidence::Certain };
                f.reasoning = format!(
                    "The kubelet logged that it was killing the container{grace}; the line before it, which names why (a failed probe, an eviction, a deletion), is not in the bundle. {ended}"
                );
                f.missing.push("the kubelet's line naming why it killed the container (its log before the kill)".into());
            }
            (None, Some((_, r))) => {
                f.container_reason = Some(r);
                f.confidence = if r == ContainerReason::Eviction { Confidence::Certain } else { Confidence::Likely };
                f.reasoning = format!(
                    "The kubelet logged that {} before the container ended; its \"Killing container\" line, which would show the kill itself, is not in the bundle. {ended}",
                    reason_text(r)
                );
                f.missing.push("the kubelet's \"Killing container with a grace period\" line".into());
            }
            (None, None) => {}
        }
        if let Some(c) = code {
            f.details.insert("exit_code".into(), serde_json::json!(c));
            if (129..=192).contains(&c) {
                f.signal = Some(signal_of(c - 128));
            }
        }
        return;
    }
    // The runtime's own OOM event for it (containerd TaskOOM, Podman `oom`): the same kind of runtime record as
    // the flag, no more authoritative.
    let oom_event = runtime_event(cx, &[EventKind::ContainerOom], c, podkey.as_ref(), t);
    if let Some(e) = oom_event {
        cite(f, e, "runtime's record of an OOM in the container");
    }
    if flag || oom_event.is_some() {
        f.cause = Cause::OomKill;
        f.signal = Some(signal_of(9));
        f.container_reason = Some(ContainerReason::MemoryLimit);
        f.confidence = Confidence::Likely;
        f.via = Some("kernel".into());
        let what = if flag { format!("recorded OOMKilled{code_text}") } else { format!("logged an OOM event in the container, and its end{code_text}") };
        f.reasoning = format!(
            "The runtime {what}, but that flag alone is unreliable (lost TaskOOM events, a container killed right after start shows an error instead), and the kernel's OOM line is not in the bundle."
        );
        f.missing.push("the kernel's OOM-killer line for it (kmsg, kern.log, the journal)".into());
        if let Some(s) = cgroup_support(cx, id.as_ref()) {
            f.reasoning.push_str(&format!(" {s} supports it."));
        }
        return;
    }
    match code {
        Some(code) if (129..=192).contains(&code) => {
            let sig = code - 128;
            let name = signal_of(sig).name;
            f.signal = Some(signal_of(sig));
            f.cause = match sig {
                24 | 25 => Cause::ResourceLimit,
                s if is_crash_signal(s) => Cause::Crash,
                _ => Cause::Signal,
            };
            f.confidence = Confidence::Likely;
            f.reasoning = format!(
                "The runtime recorded exit code {code} = 128+{sig}, which is how a process ended by {name} is reported; a process can also exit with that code itself, so the code alone does not prove the signal.{}",
                if sig == 9 { " Exit code 137 comes from the OOM killer, the kubelet's probe kills and docker kill alike." } else { "" }
            );
            if let Some(r) = runtime_reason {
                f.reasoning.push_str(&format!(" The runtime's own text: {r}."));
            }
            if let Some(stop) = runtime_event(cx, &[EventKind::ContainerStop], c, podkey.as_ref(), t).filter(|e| e.source == Source::Container) {
                // The runtime's own record of stopping or killing it, then an end on a signal: its hand, certain.
                let stopping = e_is_stop(stop);
                f.container_reason = Some(if stopping { ContainerReason::RuntimeStop } else { ContainerReason::RuntimeKill });
                f.confidence = Confidence::Certain;
                f.via = Some("runtime".into());
                cite(f, stop, "runtime's record of stopping the container");
                f.reasoning.push_str(&format!(
                    " The runtime recorded {} it before that ({}), so the signal was its.",
                    if stopping { "stopping" } else { "killing" },
                    stop.message
                ));
            }
            if let Some(a) = who_asked(cx, c, id.as_ref().and_then(|i| i.pod.as_ref()), t).filter(|_| f.confidence != Confidence::Certain) {
                f.container_reason = match a.verb.as_str() {
                    "stop" | "restart" => Some(ContainerReason::RuntimeStop),
                    "kill" => Some(ContainerReason::RuntimeKill),
                    "delete" => Some(ContainerReason::ApiDelete),
                    _ => None,
                };
                f.reasoning.push_str(&format!(" Who may have asked: {}.", a.sentence));
                if !a.logged_in {
                    f.confidence = Confidence::Possible;
                }
                f.via = Some(if a.tool.as_deref() == Some("kubectl") { "kubectl".into() } else { "runtime".into() });
                if a.logged_in {
                    f.killer = Some(Killer {
                        pid: None,
                        comm: a.tool.clone(),
                        exe: None,
                        uid: None,
                        user: a.event_user.clone(),
                        auid: None,
                        auser: None,
                        session: None,
                        tty: None,
                        login_from: None,
                        parent_chain: Vec::new(),
                        command: a.command.clone(),
                        container: None,
                    });
                }
                f.candidates.push(a.candidate);
            }
        }
        Some(code) => {
            f.cause = Cause::Exit;
            f.container_reason = Some(ContainerReason::OwnExit);
            f.confidence = Confidence::Certain;
            f.reasoning = format!("The runtime recorded that the container's main process exited by itself with code {code} (not 128+N, so not a signal's).");
            if let Some(r) = runtime_reason {
                f.reasoning.push_str(&format!(" The runtime's own text: {r}."));
            }
            // A stop it answered by exiting (a SIGTERM handler): the runtime's record of the stop says why it exited.
            if let Some(stop) = runtime_event(cx, &[EventKind::ContainerStop], c, podkey.as_ref(), t).filter(|e| e.source == Source::Container) {
                let stopping = e_is_stop(stop);
                f.container_reason = Some(if stopping { ContainerReason::RuntimeStop } else { ContainerReason::RuntimeKill });
                f.via = Some("runtime".into());
                cite(f, stop, "runtime's record of stopping the container");
                f.reasoning.push_str(&format!(
                    " The runtime recorded {} it just before ({}): it exited in answer to that.",
                    if stopping { "stopping" } else { "signalling" },
                    stop.message
                ));
            } else if let Some(a) = who_asked(cx, c, id.as_ref().and_then(|i| i.pod.as_ref()), t) {
                f.reasoning.push_str(&format!(" Before it, {}: a stop it may have answered by exiting.", a.sentence));
                f.candidates.push(a.candidate);
            }
        }
        None => {
            f.cause = Cause::Unknown;
            f.confidence = Confidence::Possible;
            f.reasoning = "A runtime record shows the container ended, with no exit code.".into();
        }
    }
}

/// A runtime's (or the kubelet's) event of `kinds` about this container in the window before its end `t`.
fn runtime_event<'a>(cx: &'a Context, kinds: &[EventKind], c: &ContainerRef, pod: Option<&PodKey>, t: Option<Utc>) -> Option<&'a Event> {
    let t = t?;
    cx.of_kinds(kinds)
        .filter(|e| about(e, c, pod, false))
        .filter(|e| e.timestamp.sort_key().is_some_and(|x| x.unix_micros() <= t.unix_micros() + 1_000_000 && t.unix_micros() - x.unix_micros() <= KUBELET_WINDOW_US))
        .last()
}

/// Whether a runtime's stop record is a stop (a grace period, Podman's `stop`) rather than a kill.
fn e_is_stop(e: &Event) -> bool {
    e.fields.contains_key("grace_period_s")
        || matches!(e.field_str("status").or_else(|| e.field_str("action")), Some(a) if a.eq_ignore_ascii_case("stop"))
}

/// `memory.events`' `oom_kill` count on the container's or its pod's cgroup, as a sentence, where above 0.
fn cgroup_support(cx: &Context, id: Option<&Ident>) -> Option<String> {
    let id = id?;
    cx.facts.cgroup_ooms.iter().find_map(|(path, c)| {
        let n = c.oom_kill.filter(|&n| n > 0)?;
        cgroup_scope(path, id).map(|scope| format!("The {scope}'s memory cgroup {path} counts oom_kill {n} ({})", c.origin.entry))
    })
}
