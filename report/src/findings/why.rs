//! `coroner-report why`: the answer for one process, on the terminal.

use std::fmt::Write as _;

use coroner_schemas::finding::{ContainerRef, Finding, PodRef};
use coroner_schemas::{Event, FindingsDoc, Utc};

use crate::sources::facts::HostFacts;


/// What `coroner-report why` asks about.
#[derive(Clone, Debug, Default)]
pub struct WhyQuery {
    pub pid: Option<i64>,
    pub comm: Option<String>,
    pub unit: Option<String>,
    /// A container's name, or an id prefix of 12 or more hex digits.
    pub container: Option<String>,
    /// A pod as `NAMESPACE/NAME` (or `NAME`, any namespace).
    pub pod: Option<String>,
    /// Pick the death nearest this time when several match.
    pub at: Option<Utc>,
}

fn matches(f: &Finding, q: &WhyQuery) -> bool {
    q.pid.is_none_or(|p| f.victim.pid == Some(p))
        && q.comm.as_deref().is_none_or(|c| f.victim.comm.as_deref().is_some_and(|v| v == c || (c.len() > 15 && c.starts_with(v)) || v.starts_with(c)))
        && q.unit.as_deref().is_none_or(|u| {
            f.victim.unit.as_deref().is_some_and(|v| v == u || v == format!("{u}.service"))
                || f.victim.cgroup.as_deref().is_some_and(|c| c.contains(u))
        })
        && q.container.as_deref().is_none_or(|c| f.victim.container.as_ref().is_some_and(|k| container_matches(c, k.name.as_deref(), &k.id)))
        && q.pod.as_deref().is_none_or(|p| {
            f.victim.pod.as_ref().is_some_and(|k| pod_matches(p, k.namespace.as_deref(), k.name.as_deref()))
        })
}

/// A `--container` argument names a container: its name (Docker's leading `/` optional), or an id prefix of 12 or
/// more hex digits.
fn container_matches(q: &str, name: Option<&str>, id: &str) -> bool {
    let q = q.trim();
    let hex = q.len() >= 12 && q.bytes().all(|b| b.is_ascii_hexdigit());
    name == Some(q.trim_start_matches('/')) || hex && !id.is_empty() && super::containers::same_id(&q.to_ascii_lowercase(), id)
}

/// A `--pod` argument names a pod: `NAMESPACE/NAME`, or `NAME` in any namespace.
fn pod_matches(q: &str, ns: Option<&str>, name: Option<&str>) -> bool {
    match q.split_once('/') {
        Some((qns, qn)) => ns == Some(qns) && name == Some(qn),
        None => name == Some(q),
    }
}

/// `why`'s answer: the text, and how many deaths matched (none: the command exits non-zero).
#[derive(Clone, Debug)]
pub struct WhyAnswer {
    pub text: String,
    pub matched: usize,
}

/// Terminal text for the findings matching `q`, nearest `q.at` first; when none match, what the timeline
/// holds for that pid or name, what was in place to record a sender, and the command that would have.
pub fn why(doc: &FindingsDoc, events: &[Event], facts: &HostFacts, q: &WhyQuery) -> WhyAnswer {
    let mut hits: Vec<&Finding> = doc.findings.iter().filter(|f| matches(f, q)).collect();
    if let Some(at) = q.at {
        hits.sort_by_key(|f| f.time.sort_key().map(|t| (t.unix_micros() - at.unix_micros()).abs()).unwrap_or(i64::MAX));
    }
    let mut out = String::new();
    if !doc.verified {
        out.push_str("UNVERIFIED BUNDLE: the evidence below was not checked against its signature.\n\n");
    }
    if hits.is_empty() {
        let _ = writeln!(out, "No death matching {} is evidenced in this bundle.", describe(q));
        let related: Vec<&Event> = events
            .iter()
            .filter(|e| {
                q.pid.is_some_and(|p| e.pid == Some(p))
                    || q.comm.as_deref().is_some_and(|c| e.comm.as_deref() == Some(c))
                    || q.container.as_deref().is_some_and(|c| {
                        let id = super::containers::event_container_id(e).unwrap_or("");
                        container_matches(c, e.field_str("container_name"), id)
                    })
                    || q.pod.as_deref().is_some_and(|p| pod_matches(p, e.field_str("pod_namespace"), e.field_str("pod_name")))
            })
            .take(20)
            .collect();
        container_records(&mut out, facts, q);
        if related.is_empty() {
            out.push_str("Nothing in the timeline mentions it either.\n");
        } else {
            out.push_str("The timeline mentions it here:\n");
            for e in related {
                let _ = writeln!(out, "  {}  {:?}  {}", time_text(e.timestamp.sort_key()), e.kind, clean(&e.message));
            }
        }
        // Nothing recorded a sender for it: say what could have, and what was there.
        let (audited, narrowed) = super::kill_audit_state(events, facts);
        out.push_str("Nothing in the bundle names who or what ended it. What was in place:\n");
        for line in super::in_place(facts, audited, &narrowed, q.at, None) {
            let line = line.strip_prefix("what was in place: ").unwrap_or(&line);
            let _ = writeln!(out, "  {}", clean(line));
        }
        return WhyAnswer { text: out, matched: 0 };
    }
    let matched = hits.len();
    for f in hits {
        write_finding(&mut out, f);
    }
    WhyAnswer { text: out, matched }
}

fn describe(q: &WhyQuery) -> String {
    let mut parts = Vec::new();
    if let Some(p) = q.pid {
        parts.push(format!("pid {p}"));
    }
    if let Some(c) = &q.comm {
        parts.push(format!("comm {}", clean(c)));
    }
    if let Some(u) = &q.unit {
        parts.push(format!("unit {}", clean(u)));
    }
    if let Some(c) = &q.container {
        parts.push(format!("container {}", clean(c)));
    }
    if let Some(p) = &q.pod {
        parts.push(format!("pod {}", clean(p)));
    }
    if parts.is_empty() { "the query".into() } else { parts.join(", ") }
}

/// What the runtimes' records say of the asked-for container or pod, when no death of it matched.
fn container_records(out: &mut String, facts: &HostFacts, q: &WhyQuery) {
    if q.container.is_none() && q.pod.is_none() {
        return;
    }
    let recs: Vec<_> = facts
        .containers
        .iter()
        .filter(|r| {
            q.container.as_deref().is_some_and(|c| container_matches(c, r.name.as_deref(), &r.id))
                || q.pod.as_deref().is_some_and(|p| pod_matches(p, r.pod_namespace.as_deref(), r.pod_name.as_deref()))
        })
        .collect();
    if recs.is_empty() {
        let _ = writeln!(out, "No runtime record in the bundle names it ({} container record(s) in all).", facts.containers.len());
        return;
    }
    out.push_str("The runtimes' records of it:\n");
    for r in recs {
        let mut parts = vec![format!("{} {}", clean(&r.runtime), clean(r.id.get(..12).unwrap_or(&r.id)))];
        if let Some(n) = &r.name {
            parts.push(format!("name {}", clean(n)));
        }
        if let Some(i) = &r.image {
            parts.push(format!("image {}", clean(i)));
        }
        if let (Some(ns), Some(n)) = (&r.pod_namespace, &r.pod_name) {
            parts.push(format!("pod {}/{}", clean(ns), clean(n)));
        }
        if let Some(s) = &r.status {
            parts.push(format!("status {}", clean(s)));
        }
        if let Some(s) = r.started {
            parts.push(format!("started {}", s.rfc3339()));
        }
        if let Some(s) = r.finished {
            parts.push(format!("finished {}", s.rfc3339()));
        }
        if let Some(c) = r.exit_code {
            parts.push(format!("exit code {c}"));
        }
        if let Some(o) = r.oom_killed {
            parts.push(format!("OOMKilled {o}"));
        }
        if let Some(n) = r.restart_count {
            parts.push(format!("restart count {n}"));
        }
        let _ = writeln!(out, "  {} ({})", parts.join(", "), clean(&r.origin.entry));
    }
}

/// `web (1e1755e4a1d0, image busybox, runtime docker, 3 restarts)`.
fn container_text(c: &ContainerRef) -> String {
    let mut parts = Vec::new();
    if !c.id.is_empty() {
        parts.push(c.id.get(..12).unwrap_or(&c.id).to_owned());
    }
    if let Some(i) = &c.image {
        parts.push(format!("image {i}"));
    }
    parts.push(format!("runtime {}", c.runtime));
    if let Some(n) = c.restart_count {
        parts.push(format!("{n} restart{}", if n == 1 { "" } else { "s" }));
    }
    format!("{} ({})", c.name.as_deref().unwrap_or("unnamed"), parts.join(", "))
}

/// `NAMESPACE/NAME (uid …)`.
fn pod_text(p: &PodRef) -> String {
    let name = match (&p.namespace, &p.name) {
        (Some(ns), Some(n)) => format!("{ns}/{n}"),
        (None, Some(n)) => n.clone(),
        _ => "unnamed".into(),
    };
    match &p.uid {
        Some(u) => format!("{name} (uid {u})"),
        None => name,
    }
}

fn time_text(t: Option<Utc>) -> String {
    t.map(|t| t.rfc3339()).unwrap_or_else(|| "(undated)".into())
}

/// Terminal-safe: control characters (escape sequences from hostile comm/cmdline) shown as \xNN.
pub fn clean(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            let _ = write!(o, "\\x{:02x}", c as u32);
        } else {
            o.push(c);
        }
    }
    o
}

fn write_finding(out: &mut String, f: &Finding) {
    let v = &f.victim;
    let _ = writeln!(
        out,
        "{}  {}{}{}",
        f.id,
        v.pid.map(|p| format!("pid {p} ")).unwrap_or_default(),
        match (v.comm.as_deref(), &v.container) {
            (Some(c), _) => format!("({})", clean(c)),
            (None, Some(c)) => format!("(main process of container {})", clean(c.name.as_deref().unwrap_or(c.id.get(..12).unwrap_or(&c.id)))),
            (None, None) => String::new(),
        },
        v.user.as_deref().map(|u| format!(" user {}", clean(u))).unwrap_or_default()
    );
    if let Some(c) = &v.cmdline {
        let _ = writeln!(out, "    cmdline:  {}", clean(c));
    }
    if let Some(u) = v.unit.as_deref().or(v.cgroup.as_deref()) {
        let _ = writeln!(out, "    unit:     {}", clean(u));
    }
    if let Some(c) = &v.container {
        let _ = writeln!(out, "    container: {}", clean(&container_text(c)));
    }
    if let Some(p) = &v.pod {
        let _ = writeln!(out, "    pod:      {}", clean(&pod_text(p)));
    }
    let _ = writeln!(out, "    died:     {} ({})", time_text(f.time.sort_key()), f.time.certainty());
    let _ = writeln!(
        out,
        "    cause:    {}{} [{}]",
        f.cause.as_str(),
        f.signal.as_ref().map(|s| format!(", {} ({})", s.name, s.number)).unwrap_or_default(),
        f.confidence.as_str()
    );
    if let Some(r) = f.container_reason {
        let _ = writeln!(out, "    reason:   {}", r.as_str());
    }
    if let Some(k) = &f.killer {
        let _ = writeln!(
            out,
            "    killer:   {}{}{}{}",
            k.pid.map(|p| format!("pid {p} ")).unwrap_or_default(),
            k.comm.as_deref().map(|c| format!("({})", clean(c))).unwrap_or_default(),
            k.exe.as_deref().map(|e| format!(" exe {}", clean(e))).unwrap_or_default(),
            match (&k.user, k.uid) {
                (Some(u), Some(id)) => format!(" uid {id} ({})", clean(u)),
                (None, Some(id)) => format!(" uid {id}"),
                (Some(u), None) => format!(" user {}", clean(u)),
                _ => String::new(),
            }
        );
        if k.auid.is_some() || k.auser.is_some() {
            let _ = writeln!(
                out,
                "    login:    {}{}{}{}",
                k.auser.as_deref().map(clean).unwrap_or_else(|| k.auid.map(|a| a.to_string()).unwrap_or_default()),
                k.session.map(|s| format!(" session {s}")).unwrap_or_default(),
                k.tty.as_deref().map(|t| format!(" on {}", clean(t))).unwrap_or_default(),
                k.login_from.as_deref().map(|h| format!(" from {}", clean(h))).unwrap_or_default()
            );
        }
        if !k.parent_chain.is_empty() {
            let _ = writeln!(
                out,
                "    chain:    {} <- {}",
                k.comm.as_deref().map(clean).unwrap_or_else(|| "?".into()),
                k.parent_chain.iter().map(|c| clean(c)).collect::<Vec<_>>().join(" <- ")
            );
        }
        if let Some(c) = &k.command {
            let _ = writeln!(out, "    command:  {}", clean(c));
        }
        if let Some(c) = &k.container {
            let _ = writeln!(out, "    killer container: {}", clean(&container_text(c)));
        }
    }
    if let Some(via) = &f.via {
        let _ = writeln!(out, "    via:      {}", clean(via));
    }
    let _ = writeln!(out, "    why:      {}", clean(&f.reasoning));
    if !f.evidence.is_empty() {
        out.push_str("    evidence:\n");
        for e in &f.evidence {
            let loc = match (e.origin.line, e.origin.offset) {
                (Some(l), _) => format!("{}:{}", e.origin.entry, l),
                (None, Some(o)) => format!("{}@{}", e.origin.entry, o),
                _ => e.origin.entry.to_string(),
            };
            let raw = e.raw.lossy();
            let raw = raw.trim_end();
            let short: String = raw.chars().take(300).collect();
            let _ = writeln!(out, "      {} ({}): {}{}", clean(&loc), clean(&e.role), clean(&short), if raw.chars().count() > 300 { "…" } else { "" });
        }
    }
    for m in &f.missing {
        let _ = writeln!(out, "    missing:  {}", clean(m));
    }
    for c in &f.candidates {
        let _ = writeln!(out, "    candidate: {}", clean(&c.description));
    }
    out.push('\n');
}
