//! One UTC timeline from all parsed entries, and the per-category coverage table.

use std::collections::BTreeMap;

use coroner_schemas::manifest::{Category, Manifest};
use coroner_schemas::Event;

use crate::render::CoverageRow;
use crate::sources::ParseProblem;

/// How many earlier events of a tie run a new event is compared with.
const DEDUP_WINDOW: usize = 256;

/// Sorts with [`Event::cmp_timeline`] (stable, so events that tie keep their input order) and drops events
/// only when they are exactly identical to another event of the same tie run.
pub fn sort_dedup(events: &mut Vec<Event>) {
    events.sort_by(Event::cmp_timeline);
    let mut out: Vec<Event> = Vec::with_capacity(events.len());
    let mut run_start = 0;
    for e in events.drain(..) {
        if out
            .last()
            .is_some_and(|last| last.cmp_timeline(&e) != std::cmp::Ordering::Equal)
        {
            run_start = out.len();
        }
        // Bounded look-back keeps a hostile run of ties from going quadratic.
        let from = run_start.max(out.len().saturating_sub(DEDUP_WINDOW));
        if out[from..].iter().any(|kept| kept == &e) {
            continue;
        }
        out.push(e);
    }
    *events = out;
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

#[cfg(test)]
mod tests {
    use super::*;
    use coroner_schemas::{EventKind, Origin, Source, Text, Timestamp, Utc};

    fn ev(secs: i64, entry: &str, msg: &str) -> Event {
        Event {
            timestamp: Timestamp::Exact {
                utc: Utc::from_unix(secs, 0).expect("time"),
            },
            source: Source::Syslog,
            kind: EventKind::Log,
            pid: None,
            ppid: None,
            uid: None,
            user: None,
            comm: None,
            message: msg.to_owned(),
            raw: Text::from_str(msg),
            origin: Origin {
                entry: entry.into(),
                line: Some(1),
                offset: None,
            },
            fields: Default::default(),
        }
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
}
