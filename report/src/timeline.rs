//! One UTC timeline from all parsed entries, and the per-category coverage table.

use std::collections::BTreeMap;

use coroner_schemas::manifest::{Category, Manifest};
use coroner_schemas::{Event, EventKind, Source};
use serde::Serialize;

use crate::sources::container_ids;
use crate::sources::facts::HostFacts;
use crate::sources::ParseProblem;

/// Source coverage: what the bundle holds for one category, and how it went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CoverageRow {
    pub category: Category,
    /// Entries with bytes.
    pub present: u64,
    /// Entries with bytes but size 0.
    pub empty: u64,
    /// Entries looked for and not taken (not found, permission denied, not applicable…).
    pub missing: u64,
    /// Collection problems (status) plus parse problems in this category.
    pub problems: u64,
    /// Timeline events read from this category.
    pub events: u64,
}

/// How many earlier events of a tie run a new event is compared with.
const DEDUP_WINDOW: usize = 256;

/// Sorts with [`Event::cmp_timeline`] (stable, so events that tie keep their input order) and drops events
/// only when they are exactly identical to another event of the same tie run.
///
/// A million events are not moved around by the sort: indexes are sorted by each event's instant in whole
/// microseconds (the full comparison only breaks ties), then the events are put in that order in place.
pub fn sort_dedup(events: &mut Vec<Event>) {
    let keys: Vec<(bool, i64)> = events
        .iter()
        .map(|e| e.timestamp.sort_key().map_or((true, 0), |u| (false, u.unix_micros())))
        .collect();
    let mut order: Vec<usize> = (0..events.len()).collect();
    order.sort_by(|&a, &b| keys[a].cmp(&keys[b]).then_with(|| events[a].cmp_timeline(&events[b])));
    drop(keys);
    apply_order(events, &mut order);

    let mut kept = 0;
    let mut run_start = 0;
    for r in 0..events.len() {
        if kept > 0 && events[kept - 1].cmp_timeline(&events[r]) != std::cmp::Ordering::Equal {
            run_start = kept;
        }
        // Bounded look-back keeps a hostile run of ties from going quadratic.
        let from = run_start.max(kept.saturating_sub(DEDUP_WINDOW));
        if events[from..kept].iter().any(|k| k == &events[r]) {
            continue;
        }
        events.swap(kept, r);
        kept += 1;
    }
    events.truncate(kept);
}

/// Drops the signal recorder's copies of kernel records that the bundle's own kmsg capture also holds: the same
/// sequence number and the same record bytes, of the same boot (a copy naming another boot is kept). One kernel
/// record is one event, so a death the kernel logged stays one death; the capture's event names where the copy
/// was in `also_at`.
pub fn drop_recorder_copies(events: &mut Vec<Event>, collected_boot: Option<&str>) {
    use coroner_schemas::Source;
    let seq = |e: &Event| e.fields.get("seq").and_then(|v| v.as_u64());
    // A capture's record keeps its newline; a copy is the record alone.
    fn record(e: &Event) -> &[u8] {
        let b = e.raw.as_bytes();
        b.strip_suffix(b"\n").unwrap_or(b)
    }
    let mut captured: BTreeMap<(u64, &[u8]), usize> = BTreeMap::new();
    for (i, e) in events.iter().enumerate() {
        if let (Source::Kmsg, Some(s)) = (e.source, seq(e)) {
            captured.entry((s, record(e))).or_insert(i);
        }
    }
    if captured.is_empty() {
        return;
    }
    let mut dropped: Vec<(usize, usize)> = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let Some(s) = seq(e).filter(|_| e.source == Source::Watch) else { continue };
        let other_boot = matches!((e.field_str("boot_id"), collected_boot), (Some(a), Some(b)) if a != b);
        if other_boot {
            continue;
        }
        if let Some(&k) = captured.get(&(s, record(e))) {
            dropped.push((i, k));
        }
    }
    drop(captured);
    if dropped.is_empty() {
        return;
    }
    for &(i, k) in &dropped {
        let at = match events[i].origin.line {
            Some(l) => format!("{}:{l}", events[i].origin.entry),
            None => events[i].origin.entry.to_string(),
        };
        events[k].fields.insert("also_at".into(), at);
    }
    let gone: std::collections::BTreeSet<usize> = dropped.into_iter().map(|(i, _)| i).collect();
    let mut n = 0;
    events.retain(|_| {
        n += 1;
        !gone.contains(&(n - 1))
    });
}

/// Rearranges `v` so that position `k` holds what was at `order[k]`, following each cycle of the permutation
/// with swaps (no second copy of the events). `order` is used up.
fn apply_order<T>(v: &mut [T], order: &mut [usize]) {
    const DONE: usize = usize::MAX;
    for start in 0..order.len() {
        if order[start] == DONE {
            continue;
        }
        let mut j = start;
        loop {
            let next = order[j];
            order[j] = DONE;
            if next == start || next == DONE {
                break;
            }
            v.swap(j, next);
            j = next;
        }
    }
}

/// One row per category present in the manifest, sorted by category.
pub fn coverage(manifest: &Manifest, events: &[Event], problems: &[ParseProblem]) -> Vec<CoverageRow> {
    let mut rows: BTreeMap<Category, CoverageRow> = BTreeMap::new();
    let mut category_of: BTreeMap<&str, Category> = BTreeMap::new();
    for e in &manifest.entries {
        category_of.entry(e.path.as_str()).or_insert(e.category);
        let row = rows.entry(e.category).or_insert_with(|| CoverageRow {
            category: e.category,
            present: 0,
            empty: 0,
            missing: 0,
            problems: 0,
            events: 0,
        });
        match (e.has_data(), e.size) {
            (true, 0) => row.empty += 1,
            (true, _) => row.present += 1,
            (false, _) => row.missing += 1,
        }
        if e.status.is_problem() {
            row.problems += 1;
        }
    }
    for p in problems {
        if let Some(row) = category_of.get(p.entry.as_str()).and_then(|c| rows.get_mut(c)) {
            row.problems += 1;
        }
    }
    for ev in events {
        if let Some(row) = category_of.get(&*ev.origin.entry).and_then(|c| rows.get_mut(c)) {
            row.events += 1;
        }
    }
    rows.into_values().collect()
}

/// Names the container (and pod) of the process an event is about, where the event's cgroup names one: a
/// kernel OOM kill's `task_memcg` (or the recorder's `cgroup` of its victim), a signal's `target_cgroup`, a
/// live process's `cgroup`. Adds `container_id` from the path, and `runtime`, `container_name`,
/// `pod_namespace`, `pod_name` from the runtime record that has that id; nothing when no cgroup names a
/// container. Runtime and kubelet events already carry their own.
pub fn name_containers(events: &mut [Event], facts: &HostFacts) {
    for e in events.iter_mut() {
        let key = match e.kind {
            EventKind::OomKill => ["task_memcg", "cgroup"].into_iter().find(|k| e.fields.contains_key(k)),
            EventKind::SignalSent => Some("target_cgroup"),
            EventKind::ProcessAlive => Some("cgroup"),
            _ => None,
        };
        let Some(cgroup) = key.and_then(|k| e.field_str(k)) else { continue };
        if matches!(e.source, Source::Container | Source::Kubelet) || e.fields.contains_key("container_id") {
            continue;
        }
        let Some(c) = container_ids::parse(cgroup) else { continue };
        let record = facts.container_for_cgroup(cgroup);
        let id = record.map_or(c.id, |r| r.id.as_str()).to_owned();
        let runtime = record.map(|r| r.runtime.clone()).or(c.runtime.map(str::to_owned));
        let name = record.and_then(|r| r.name.clone());
        let pod = record.map(|r| (r.pod_namespace.clone(), r.pod_name.clone())).unwrap_or_default();
        e.fields.insert("container_id".into(), id);
        if let Some(r) = runtime {
            e.fields.insert("runtime".into(), r);
        }
        if let Some(n) = name {
            e.fields.insert("container_name".into(), n);
        }
        if let (Some(ns), Some(p)) = pod {
            e.fields.insert("pod_namespace".into(), ns);
            e.fields.insert("pod_name".into(), p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_order_is_the_permutation() {
        let mut x: u64 = 99;
        for n in [0usize, 1, 2, 7, 100] {
            let mut order: Vec<usize> = (0..n).collect();
            for i in (1..n).rev() {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                order.swap(i, (x >> 33) as usize % (i + 1));
            }
            let want: Vec<usize> = order.iter().map(|&i| i * 10).collect();
            let mut v: Vec<usize> = (0..n).map(|i| i * 10).collect();
            apply_order(&mut v, &mut order.clone());
            assert_eq!(v, want, "n={n}");
        }
    }
    use coroner_schemas::{Timestamp, Utc};

    fn ev(secs: i64, entry: &str, msg: &str) -> Event {
        let mut e = crate::sources::testing::event(entry, 1, msg);
        e.timestamp = Timestamp::Exact { utc: Utc::from_unix(secs, 0).expect("time") };
        e
    }

    #[test]
    fn sorted_and_only_exact_duplicates_dropped() {
        let a = ev(10, "fs/a", "x");
        let mut a2 = a.clone();
        a2.pid = Some(4); // ties with `a` on every sort key but differs: kept
        let b = ev(5, "fs/a", "y");
        let mut v = vec![a.clone(), a2.clone(), b.clone(), a.clone()];
        sort_dedup(&mut v);
        assert_eq!(v, vec![b, a, a2]);
    }

    #[test]
    fn events_about_a_containers_process_name_it() {
        use crate::sources::facts::{ContainerRecord, Fact};
        let id = "5f".repeat(32);
        let mut rec = ContainerRecord::new("docker", &id, coroner_schemas::Origin { entry: "c".into(), line: None, offset: None });
        rec.name = Some("web".into());
        let facts = HostFacts::fold([Fact::Container(rec)]);
        let mut oom = ev(1, "k", "oom");
        oom.kind = EventKind::OomKill;
        oom.fields.insert("task_memcg".into(), format!("/docker/{id}"));
        let mut unknown = ev(2, "k", "oom");
        unknown.kind = EventKind::OomKill;
        unknown.fields.insert("task_memcg".into(), format!("/system.slice/docker-{}.scope", "7a".repeat(32)));
        let mut host = ev(3, "k", "oom");
        host.kind = EventKind::OomKill;
        host.fields.insert("task_memcg".into(), "/user.slice".to_owned());
        let mut log = ev(4, "k", "log");
        log.fields.insert("cgroup".into(), format!("/docker/{id}"));
        let mut v = vec![oom, unknown, host.clone(), log.clone()];
        name_containers(&mut v, &facts);
        assert_eq!((v[0].field_str("container_id"), v[0].field_str("container_name"), v[0].field_str("runtime")), (Some(id.as_str()), Some("web"), Some("docker")));
        // A container no record names: its id and the runtime its cgroup shape says, no name.
        let other = "7a".repeat(32);
        assert_eq!((v[1].field_str("container_id"), v[1].field_str("container_name"), v[1].field_str("runtime")), (Some(other.as_str()), None, Some("docker")));
        // No container in the path, and a kind that is not about a process: left as they were.
        assert_eq!((&v[2], &v[3]), (&host, &log));
    }
}
