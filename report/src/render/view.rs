//! What the HTML and Markdown renderers share: which events are notable, which rows to show when there are
//! too many, how times, origins, victims and killers read, and the time histogram. Plain strings here;
//! each renderer escapes for its own format.

use std::collections::HashSet;

use coroner_schemas::finding::{Cause, Confidence, ContainerRef, Killer, PodRef, Victim};
use coroner_schemas::{Event, EventKind, FindingsDoc, Origin, Timestamp, Utc};

use crate::render::escape;

/// Kinds that record a death by themselves: an OOM kill, a crash, a kernel panic, a killed service, a core.
pub fn is_death(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::OomKill
            | EventKind::Segfault
            | EventKind::Trap
            | EventKind::KernelPanic
            | EventKind::ProcessCrash
            | EventKind::ServiceKilled
            | EventKind::WatchdogTimeout
            | EventKind::CoreDumped
    )
}

/// Which events are notable: those that record a death, and those a finding cites as evidence (its own or a
/// candidate's). The rest (settings, cron definitions, logins, signals that killed nothing…) is context: on
/// a live host most events are settings rows, and calling them notable buried the deaths.
pub struct Notable {
    /// Per event, in timeline order.
    pub flags: Vec<bool>,
    /// Per event: cited by a finding.
    pub cited: Vec<bool>,
    /// Per event: cited as a finding's own evidence (not only a candidate's) and dated (not only bounded): what
    /// the incidents' time span is drawn from. A candidate's cron definition or a bounded history line can be
    /// years older than the death it is listed beside.
    pub anchors: Vec<bool>,
}

impl Notable {
    pub fn of(events: &[Event], findings: &FindingsDoc) -> Notable {
        let origins: HashSet<&Origin> = findings
            .findings
            .iter()
            .flat_map(|f| f.evidence.iter().chain(f.candidates.iter().flat_map(|c| c.evidence.iter())))
            .map(|r| &r.origin)
            .collect();
        let cited: Vec<bool> = events.iter().map(|e| !origins.is_empty() && origins.contains(&e.origin)).collect();
        let flags = events.iter().zip(&cited).map(|(e, &c)| c || is_death(e.kind)).collect();
        let own: HashSet<&Origin> = findings.findings.iter().flat_map(|f| f.evidence.iter()).map(|r| &r.origin).collect();
        let dated = |e: &Event| !matches!(e.timestamp, Timestamp::Bounded { .. } | Timestamp::Unknown);
        let anchors = events.iter().map(|e| dated(e) && own.contains(&e.origin)).collect();
        Notable { flags, cited, anchors }
    }
    pub fn count(&self) -> usize {
        self.flags.iter().filter(|&&f| f).count()
    }
    pub fn is(&self, i: usize) -> bool {
        self.flags.get(i).copied().unwrap_or(false)
    }
}

/// Fields that name a process an event is about besides its own `pid`: the signalled one, the kill command's
/// targets, the sender a core's siginfo names, the task the OOM killer chose, the pid in a core's file name,
/// the writer of a log line.
const OTHER_PID_FIELDS: [&str; 10] = [
    "target_pid",
    "target_tgid",
    "target_pids",
    "si_pid",
    "chosen_pid",
    "shares_memory_with",
    "name_pid",
    "name_global_pid",
    "program_pid",
    "core_pid",
];

/// Every pid an event involves other than its own `pid`, sorted, without repeats: a pid filter that looks only
/// at `pid` misses the process that died when the event is its killer's (a kill's `pid` is the sender).
pub fn other_pids(e: &Event) -> Vec<i64> {
    let mut out = Vec::new();
    for k in OTHER_PID_FIELDS {
        match e.fields.get(k) {
            Some(v) if v.as_array().is_some() => out.extend(v.as_array().into_iter().flatten().filter_map(|x| x.as_i64())),
            Some(v) => out.extend(v.as_i64()),
            None => {}
        }
    }
    out.sort_unstable();
    out.dedup();
    out.retain(|p| Some(*p) != e.pid);
    out
}

/// Users an event names besides its own `user`: the signalled process's, the audit login user, sudo's and
/// cron's run-as user, a live process's effective user. Shown as one string, `|`-separated, for the user
/// filter (which, like the pid filter, should find events about a user, not only by one).
pub fn other_users(e: &Event) -> String {
    let mut out: Vec<&str> = ["target_user", "auser", "runas", "run_as", "euser"]
        .iter()
        .filter_map(|k| e.field_str(k))
        .filter(|u| !u.is_empty() && Some(*u) != e.user.as_deref())
        .collect();
    out.sort_unstable();
    out.dedup();
    escape::visible(&out.join("|"), false)
}

/// `2026-11-27 20:03:37.000000 UTC`.
pub fn utc(t: &Utc) -> String {
    let s = t.rfc3339();
    // rfc3339() is always `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
    format!("{} UTC", s.trim_end_matches('Z').replacen('T', " ", 1))
}

/// A timestamp for display, with its uncertainty spelled out.
pub fn time(ts: &Timestamp) -> String {
    match ts {
        Timestamp::Exact { utc: t } => utc(t),
        Timestamp::FromBoot { utc: t, .. } => utc(t),
        Timestamp::Inferred { utc: t, .. } => utc(t),
        Timestamp::Bounded { after: Some(a), before: Some(b) } => format!("between {} and {}", utc(a), utc(b)),
        Timestamp::Bounded { after: Some(a), before: None } => format!("after {}", utc(a)),
        Timestamp::Bounded { after: None, before: Some(b) } => format!("before {}", utc(b)),
        Timestamp::Bounded { after: None, before: None } | Timestamp::Unknown => "time unknown".to_owned(),
    }
}

/// A one-word certainty label and what it means.
pub fn certainty(ts: &Timestamp) -> (&'static str, String) {
    match ts {
        Timestamp::Exact { .. } => ("exact", "recorded in UTC by the source".to_owned()),
        Timestamp::FromBoot { since_boot_us, .. } => {
            ("boot", format!("kernel time {since_boot_us} µs since boot, converted with the collection clock sample"))
        }
        Timestamp::Inferred { assumption, .. } => {
            ("inferred", format!("assumed: {}", escape::visible(assumption, false)))
        }
        Timestamp::Bounded { .. } => ("bounded", "no time of its own: only bounds".to_owned()),
        Timestamp::Unknown => ("unknown", "no time".to_owned()),
    }
}

/// `fs/var/log/syslog:12`, `live/kmsg@4096`, or the entry alone.
pub fn origin(o: &Origin) -> String {
    match (o.line, o.offset) {
        (Some(l), _) => format!("{}:{l}", o.entry),
        (None, Some(off)) => format!("{}@{off}", o.entry),
        (None, None) => o.entry.to_string(),
    }
}

pub fn cause_label(c: Cause) -> &'static str {
    match c {
        Cause::OomKill => "OOM kill",
        Cause::Signal => "killed by a signal",
        Cause::Crash => "crash",
        Cause::ResourceLimit => "resource limit",
        Cause::Reboot => "host went down",
        Cause::Exit => "exited",
        Cause::Unknown => "unknown cause",
    }
}

pub fn cause_class(c: Cause) -> &'static str {
    c.as_str()
}

pub fn confidence_label(c: Confidence) -> &'static str {
    c.as_str()
}

/// `web (1e1755e4a1d0, image busybox, runtime docker, 3 restarts)`: name, short id, image, runtime, restarts.
pub fn container(c: &ContainerRef) -> String {
    let vis = |s: &str| escape::visible(s, false);
    let mut parts = Vec::new();
    if !c.id.is_empty() {
        parts.push(vis(c.id.get(..12).unwrap_or(&c.id)));
    }
    if let Some(i) = &c.image {
        parts.push(format!("image {}", vis(i)));
    }
    parts.push(format!("runtime {}", vis(&c.runtime)));
    if let Some(n) = c.restart_count {
        parts.push(format!("{n} restart{}", if n == 1 { "" } else { "s" }));
    }
    format!("{} ({})", c.name.as_deref().map(vis).unwrap_or_else(|| "unnamed".to_owned()), parts.join(", "))
}

/// `NAMESPACE/NAME (uid …)`.
pub fn pod(p: &PodRef) -> String {
    let vis = |s: &str| escape::visible(s, false);
    let name = match (&p.namespace, &p.name) {
        (Some(ns), Some(n)) => format!("{}/{}", vis(ns), vis(n)),
        (None, Some(n)) => vis(n),
        _ => "unnamed".to_owned(),
    };
    match &p.uid {
        Some(u) => format!("{name} (uid {})", vis(u)),
        None => name,
    }
}

/// `nginx (pid 4242, user www-data, unit nginx.service)`; a process in a container: `…, container web`.
pub fn victim(v: &Victim) -> String {
    let unnamed = if v.container.is_some() && v.pid.is_none() { "main process" } else { "unknown process" };
    let name = v.comm.as_deref().map(|c| escape::visible(c, false)).unwrap_or_else(|| unnamed.to_owned());
    let mut parts = Vec::new();
    if let Some(p) = v.pid {
        parts.push(format!("pid {p}"));
    }
    match (&v.user, v.uid) {
        (Some(u), Some(id)) => parts.push(format!("user {} ({id})", escape::visible(u, false))),
        (Some(u), None) => parts.push(format!("user {}", escape::visible(u, false))),
        (None, Some(id)) => parts.push(format!("uid {id}")),
        (None, None) => {}
    }
    if let Some(u) = &v.unit {
        parts.push(format!("unit {}", escape::visible(u, false)));
    }
    if let Some(c) = &v.container {
        parts.push(format!("container {}", c.name.as_deref().map(|n| escape::visible(n, false)).unwrap_or_else(|| escape::visible(c.id.get(..12).unwrap_or(&c.id), false))));
    }
    if let Some(p) = v.pod.as_ref().filter(|p| p.name.is_some()) {
        parts.push(format!("pod {}", pod(&PodRef { uid: None, ..p.clone() })));
    }
    if parts.is_empty() {
        name
    } else {
        format!("{name} ({})", parts.join(", "))
    }
}

/// The killer as label/value lines, only what is known.
pub fn killer(k: &Killer) -> Vec<(&'static str, String)> {
    let vis = |s: &str| escape::visible(s, false);
    let mut out = Vec::new();
    let mut who = Vec::new();
    if let Some(c) = &k.comm {
        who.push(vis(c));
    }
    if let Some(p) = k.pid {
        who.push(format!("pid {p}"));
    }
    if !who.is_empty() {
        out.push(("process", who.join(", ")));
    }
    if let Some(e) = &k.exe {
        out.push(("exe", vis(e)));
    }
    match (&k.user, k.uid) {
        (Some(u), Some(id)) => out.push(("user", format!("{} ({id})", vis(u)))),
        (Some(u), None) => out.push(("user", vis(u))),
        (None, Some(id)) => out.push(("user", format!("uid {id}"))),
        (None, None) => {}
    }
    match (&k.auser, k.auid) {
        (Some(u), Some(id)) => out.push(("login user", format!("{} ({id})", vis(u)))),
        (Some(u), None) => out.push(("login user", vis(u))),
        (None, Some(id)) => out.push(("login user", format!("auid {id}"))),
        (None, None) => {}
    }
    if let Some(s) = k.session {
        out.push(("session", s.to_string()));
    }
    if let Some(t) = &k.tty {
        out.push(("tty", vis(t)));
    }
    if let Some(f) = &k.login_from {
        out.push(("logged in from", vis(f)));
    }
    if !k.parent_chain.is_empty() {
        out.push(("parent chain", k.parent_chain.iter().map(|p| vis(p)).collect::<Vec<_>>().join(" ← ")));
    }
    if let Some(c) = &k.command {
        out.push(("command", vis(c)));
    }
    if let Some(c) = &k.container {
        out.push(("container", container(c)));
    }
    out
}

/// One line summary of a killer: `pkill (pid 77, user alice)`.
pub fn killer_short(k: &Killer) -> String {
    let mut s = k.comm.as_deref().map(|c| escape::visible(c, false)).unwrap_or_else(|| "unknown".to_owned());
    let mut parts = Vec::new();
    if let Some(p) = k.pid {
        parts.push(format!("pid {p}"));
    }
    if let Some(u) = &k.user {
        parts.push(format!("user {}", escape::visible(u, false)));
    } else if let Some(id) = k.uid {
        parts.push(format!("uid {id}"));
    }
    if let Some(u) = &k.auser {
        parts.push(format!("login {}", escape::visible(u, false)));
    }
    if !parts.is_empty() {
        s = format!("{s} ({})", parts.join(", "));
    }
    s
}

/// `user` column: name, else uid.
pub fn user(e: &Event) -> String {
    match (&e.user, e.uid) {
        (Some(u), _) => escape::visible(u, false),
        (None, Some(id)) => id.to_string(),
        (None, None) => String::new(),
    }
}

/// Which events to show when at most `cap` rows fit: every notable event (earliest first if even those do
/// not fit), then the routine events nearest (in timeline position) to a notable one, so each notable
/// event keeps its context. Returned in timeline order. Deterministic: ties go to the earlier event.
pub fn select_rows(notable: &Notable, cap: usize) -> Vec<usize> {
    if notable.flags.len() <= cap {
        return (0..notable.flags.len()).collect();
    }
    nearest_to_notable(&notable.flags, cap, usize::MAX)
}

/// The notable events and their neighbours at most `radius` positions away, at most `cap` of them (nearest
/// first, ties to the earlier), in timeline order. No notable event: nothing.
pub fn context_rows(notable: &Notable, radius: usize, cap: usize) -> Vec<usize> {
    nearest_to_notable(&notable.flags, cap, radius)
}

fn nearest_to_notable(notable: &[bool], cap: usize, radius: usize) -> Vec<usize> {
    let n = notable.len();
    // Distance to the nearest notable event, both directions: two linear passes.
    let mut dist = vec![usize::MAX; n];
    let mut last: Option<usize> = None;
    for i in 0..n {
        if notable[i] {
            last = Some(i);
        }
        if let Some(l) = last {
            dist[i] = i - l;
        }
    }
    let mut next: Option<usize> = None;
    for i in (0..n).rev() {
        if notable[i] {
            next = Some(i);
        }
        if let Some(nx) = next {
            dist[i] = dist[i].min(nx - i);
        }
    }
    let mut order: Vec<usize> = (0..n).filter(|&i| dist[i] <= radius).collect();
    order.sort_by_key(|&i| (dist[i], i));
    order.truncate(cap);
    order.sort_unstable();
    order
}

/// A bar of the time histogram, in SVG user units (numbers only).
pub struct Bar {
    pub x: u32,
    pub y: u32,
    pub h: u32,
    /// Height of the notable part, drawn over the bar from the bottom.
    pub ny: u32,
    pub nh: u32,
    pub count: u64,
    pub notable: u64,
    pub from: String,
    pub to: String,
    /// Bucket bounds in µs since the epoch, for the filter script.
    pub from_us: i64,
    pub to_us: i64,
}

pub struct Histogram {
    pub width: u32,
    pub height: u32,
    pub bar_width: u32,
    pub bars: Vec<Bar>,
    pub start: String,
    pub end: String,
    pub max: u64,
    /// Events with no usable time (not drawn).
    pub undated: u64,
    /// Dated events before and after the drawn range, counted in the first and last bars.
    pub before: u64,
    pub after: u64,
}

pub const HIST_BUCKETS: usize = 96;
const HIST_BAR_W: u32 = 10;
const HIST_H: u32 = 120;

/// The time range the histogram draws: the span of the dated events the findings cite as their own evidence
/// (else of the notable events,
/// else of every event), widened by an eighth of it on each side (at least a minute) but never past the
/// events. A cron definition bounded years before the incident then no longer squeezes the incident into
/// one bar; it is counted in the first bar instead.
fn focus_range(events: &[Event], notable: &Notable) -> Option<(i64, i64)> {
    let span_of = |pick: &dyn Fn(usize) -> bool| {
        let times = events.iter().enumerate().filter(|(i, _)| pick(*i)).filter_map(|(_, e)| e.timestamp.sort_key());
        times.map(|t| t.unix_micros()).fold(None, |acc: Option<(i64, i64)>, us| {
            Some(acc.map_or((us, us), |(lo, hi)| (lo.min(us), hi.max(us))))
        })
    };
    let all = span_of(&|_| true)?;
    let (lo, hi) = span_of(&|i| notable.anchors.get(i).copied().unwrap_or(false))
        .or_else(|| span_of(&|i| notable.is(i)))
        .unwrap_or(all);
    let margin = ((hi - lo) / 8).max(60_000_000);
    Some((lo.saturating_sub(margin).max(all.0), hi.saturating_add(margin).min(all.1)))
}

/// Counts per equal time bucket over every dated event (all of them, not only the shown rows), over the
/// range the incidents span ([`focus_range`]); events outside it are counted in the edge bars, whose filter
/// range then reaches to the first or last event.
pub fn histogram(events: &[Event], notable_events: &Notable) -> Option<Histogram> {
    let (min, max) = focus_range(events, notable_events)?;
    let undated = events.iter().filter(|e| e.timestamp.sort_key().is_none()).count() as u64;
    let (mut before, mut after) = (0u64, 0u64);
    for e in events {
        if let Some(t) = e.timestamp.sort_key() {
            let us = t.unix_micros();
            before += u64::from(us < min);
            after += u64::from(us > max);
        }
    }
    let span = i128::from(max) - i128::from(min) + 1;
    let buckets = HIST_BUCKETS as i128;
    let width_us = ((span + buckets - 1) / buckets).max(1);
    let mut counts = vec![0u64; HIST_BUCKETS];
    let mut notable = vec![0u64; HIST_BUCKETS];
    for (i, e) in events.iter().enumerate() {
        if let Some(t) = e.timestamp.sort_key() {
            let b = ((i128::from(t.unix_micros()) - i128::from(min)) / width_us).clamp(0, buckets - 1) as usize;
            if let Some(c) = counts.get_mut(b) {
                *c += 1;
            }
            if notable_events.is(i) {
                if let Some(c) = notable.get_mut(b) {
                    *c += 1;
                }
            }
        }
    }
    let top = counts.iter().copied().max().unwrap_or(0).max(1);
    let scale = |c: u64| -> u32 {
        if c == 0 {
            0
        } else {
            // At least 2 units so a single event is visible.
            ((u128::from(c) * u128::from(HIST_H) / u128::from(top)) as u32).max(2)
        }
    };
    let fmt = |us: i128| i64::try_from(us).ok().and_then(Utc::from_unix_micros).map(|t| utc(&t)).unwrap_or_default();
    let last = HIST_BUCKETS - 1;
    let bars = (0..HIST_BUCKETS)
        .map(|b| {
            let mut from = i128::from(min) + width_us * b as i128;
            let mut to = from + width_us;
            // The edge bars hold the events outside the range: their filter range reaches to them.
            if b == 0 && before > 0 {
                from = i128::from(i64::MIN);
            }
            if b == last && after > 0 {
                to = i128::from(i64::MAX);
            }
            let count = counts.get(b).copied().unwrap_or(0);
            let nb = notable.get(b).copied().unwrap_or(0);
            let h = scale(count);
            let nh = scale(nb).min(h);
            Bar {
                x: b as u32 * HIST_BAR_W,
                y: HIST_H - h,
                h,
                ny: HIST_H - nh,
                nh,
                count,
                notable: nb,
                from: if from < i128::from(min) { format!("earlier events and {}", fmt(i128::from(min))) } else { fmt(from) },
                to: if to > i128::from(max) + width_us { format!("{} and later events", fmt(i128::from(max))) } else { fmt(to) },
                from_us: i64::try_from(from).unwrap_or(i64::MAX),
                to_us: i64::try_from(to).unwrap_or(i64::MAX),
            }
        })
        .collect();
    Some(Histogram {
        width: HIST_BUCKETS as u32 * HIST_BAR_W,
        height: HIST_H,
        bar_width: HIST_BAR_W - 1,
        bars,
        start: fmt(i128::from(min)),
        end: fmt(i128::from(max)),
        max: top,
        undated,
        before,
        after,
    })
}


/// One line of the findings overview: how many findings of a cause, at a confidence.
pub struct CauseCount {
    pub cause: &'static str,
    pub confidence: &'static str,
    pub count: usize,
}

/// How many findings there are of each cause and confidence, most first (ties in cause, then confidence,
/// order): the overview shown when a report lists only the first `listed` findings in full (none otherwise).
pub fn findings_by_cause(findings: &[coroner_schemas::Finding], listed: usize) -> Vec<CauseCount> {
    if findings.len() <= listed {
        return Vec::new();
    }
    let mut counts: std::collections::BTreeMap<(Cause, Confidence), usize> = std::collections::BTreeMap::new();
    for f in findings {
        *counts.entry((f.cause, f.confidence)).or_default() += 1;
    }
    let mut out: Vec<_> = counts.into_iter().collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    out.into_iter()
        .map(|((c, k), count)| CauseCount { cause: cause_label(c), confidence: confidence_label(k), count })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use coroner_schemas::{Source, Text};

    fn ev(kind: EventKind, secs: i64) -> Event {
        Event::new(
            Timestamp::Exact { utc: Utc::from_unix(secs, 0).expect("time") },
            Source::Syslog,
            kind,
            String::new(),
            Text::default(),
            Origin { entry: "fs/x".into(), line: Some(secs as u64), offset: None },
        )
    }

    fn no_findings() -> FindingsDoc {
        FindingsDoc { verified: true, hostname: String::new(), findings: vec![], checklist: vec![], advisories: vec![] }
    }

    /// A finding citing `cited` (and a candidate citing `candidate`).
    fn citing(cited: &[&Event], candidate: &[&Event]) -> FindingsDoc {
        let refs = |evs: &[&Event]| -> Vec<serde_json::Value> {
            evs.iter()
                .map(|e| {
                    let r = coroner_schemas::finding::EvidenceRef { origin: e.origin.clone(), role: "r".into(), raw: Text::default() };
                    serde_json::to_value(r).expect("ref")
                })
                .collect()
        };
        let f = serde_json::json!({
            "id": "F1", "victim": {}, "time": {"certainty": "unknown"}, "cause": "oom_kill", "confidence": "certain",
            "reasoning": "", "evidence": refs(cited), "missing": [],
            "candidates": [{"description": "c", "evidence": refs(candidate)}],
        });
        let mut doc = no_findings();
        doc.findings.push(serde_json::from_value(f).expect("finding"));
        doc
    }

    /// Regression: on a live host most "notable" events were settings rows, cron definitions and logins.
    /// Notable is now a record of a death or an event a finding cites (as evidence or a candidate's).
    #[test]
    fn notable_means_a_death_or_cited_evidence() {
        let mut evs: Vec<Event> =
            [EventKind::Setting, EventKind::CronJob, EventKind::Login, EventKind::SignalSent, EventKind::OomKill, EventKind::Setting]
                .iter()
                .enumerate()
                .map(|(i, k)| ev(*k, 1_700_000_000 + i as i64))
                .collect();
        evs.push(ev(EventKind::Login, 1_700_000_010));
        let n = Notable::of(&evs, &no_findings());
        assert_eq!(n.flags, vec![false, false, false, false, true, false, false]);
        let doc = citing(&[&evs[3], &evs[5]], &[&evs[6]]);
        let n = Notable::of(&evs, &doc);
        assert_eq!(n.flags, vec![false, false, false, true, true, true, true]);
        assert_eq!((n.count(), n.cited.iter().filter(|&&c| c).count()), (4, 3));
    }

    /// Regression: cron definitions bounded years before the incident stretched the histogram, and the whole
    /// incident fell in one bar of 96. The range now follows the cited evidence (with a margin); the old
    /// events are counted in the first bar, whose filter range reaches back to them.
    #[test]
    fn histogram_range_follows_the_incident() {
        let t0 = 1_795_800_000;
        let mut evs: Vec<Event> = (0..5).map(|i| ev(EventKind::CronJob, 1_650_000_000 + i)).collect();
        evs.extend((0..600).map(|i| ev(EventKind::Log, t0 + i)));
        evs.push(ev(EventKind::OomKill, t0 + 100));
        evs.push(ev(EventKind::SignalSent, t0 + 400));
        for e in &mut evs[605..] {
            e.origin.entry = "fs/var/log/kern.log".into();
        }
        let doc = citing(&[&evs[605], &evs[606]], &[]);
        let h = histogram(&evs, &Notable::of(&evs, &doc)).expect("dated");
        assert_eq!(h.bars.iter().map(|b| b.count).sum::<u64>(), evs.len() as u64, "every dated event is counted");
        // Cited span t0+100..t0+400, a minute either side: the cron lines and 40 log lines before, 139 after.
        assert_eq!((h.before, h.after), (45, 139));
        assert_eq!(h.bars[0].from_us, i64::MIN, "the first bar's filter reaches the old events");
        let bar_of = |secs: i64| h.bars.iter().position(|b| b.from_us <= secs * 1_000_000 && secs * 1_000_000 < b.to_us);
        let (oom, kill) = (bar_of(t0 + 100).expect("oom bar"), bar_of(t0 + 400).expect("kill bar"));
        assert!(kill - oom > 50, "the two deaths 5 minutes apart are far apart: bars {oom} and {kill}");
        assert_eq!(h.bars.iter().map(|b| b.notable).sum::<u64>(), 2);
        // Regression: a candidate's cron definition (bounded years before) and a finding's own bounded record
        // stretched the range back to them; only dated evidence of the findings themselves draws it.
        let mut bounded = ev(EventKind::KillCommand, t0 + 200);
        bounded.timestamp = Timestamp::Bounded { after: None, before: Utc::from_unix(1_600_000_000, 0) };
        bounded.origin.entry = "fs/root/.bash_history".into();
        evs.push(bounded);
        let doc = citing(&[&evs[605], &evs[606], &evs[607]], &[&evs[0]]);
        let h = histogram(&evs, &Notable::of(&evs, &doc)).expect("dated");
        assert_eq!((h.before, h.after), (46, 139), "the same range as without them");
    }

    #[test]
    fn select_rows_keeps_notable_and_their_neighbours() {
        let mut evs: Vec<Event> = (0..100).map(|i| ev(EventKind::Log, i)).collect();
        evs[50] = ev(EventKind::OomKill, 50);
        let n = Notable::of(&evs, &no_findings());
        let rows = select_rows(&n, 5);
        assert_eq!(rows, vec![48, 49, 50, 51, 52]);
        assert_eq!(select_rows(&Notable::of(&evs[..3], &no_findings()), 5), vec![0, 1, 2]);
        assert_eq!(context_rows(&n, 1, 200), vec![49, 50, 51]);
        assert_eq!(context_rows(&Notable::of(&evs[..10], &no_findings()), 3, 200), Vec::<usize>::new());
    }

    #[test]
    fn histogram_counts_every_dated_event() {
        let evs: Vec<Event> = (0..1000).map(|i| ev(EventKind::Log, 1_700_000_000 + i)).collect();
        let h = histogram(&evs, &Notable::of(&evs, &no_findings())).expect("dated");
        assert_eq!(h.bars.iter().map(|b| b.count).sum::<u64>(), 1000);
        assert_eq!(h.bars.len(), HIST_BUCKETS);
        assert!(h.bars.iter().all(|b| b.h <= h.height));
    }
}
