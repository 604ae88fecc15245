//! Inputs the fuzz targets found (fixtures/fuzz/<target>/, see its PROVENANCE), replayed through the very code
//! the targets run (fuzz/src/check.rs, included by path): each must parse without a panic and keep every
//! invariant (origins inside the input, times inside their bounds, the same result twice).

#[path = "../../fuzz/src/check.rs"]
mod check;

use std::path::PathBuf;

use coroner_schemas::Timestamp;

fn found(target: &str, name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/fuzz").join(target).join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Parses a found input as its target does (its first byte picks the format) and returns the events.
fn events(target: &str, data: &[u8]) -> Vec<coroner_schemas::Event> {
    let specs = check::PARSERS.iter().find(|(n, _)| *n == target).expect("a parser target").1;
    let (s, raw) = check::choose(specs, data);
    let (m, acc) = (check::manifest(), check::accounts());
    let e = check::entry(s, raw.len());
    let ctx = coroner_report::sources::SourceCtx::new(&e, &m, &acc);
    coroner_report::sources::parse_entry(raw, &ctx).events
}

/// Every bounded event states an interval that holds something.
fn assert_ordered_bounds(evs: &[coroner_schemas::Event]) {
    let mut bounded = 0;
    for e in evs {
        if let Timestamp::Bounded { after: Some(a), before: Some(b) } = &e.timestamp {
            bounded += 1;
            assert!(a <= b, "line {:?}: after {a:?} is later than before {b:?}", e.origin.line);
        }
    }
    assert!(bounded > 0, "the input no longer has an undated line between two dated ones");
}

#[test]
fn every_found_input_keeps_the_invariants() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/fuzz");
    let mut n = 0;
    for dir in std::fs::read_dir(&root).expect("fixtures/fuzz") {
        let dir = dir.expect("dir entry").path();
        if !dir.is_dir() {
            continue;
        }
        let target = dir.file_name().and_then(|s| s.to_str()).expect("a target name").to_owned();
        for f in std::fs::read_dir(&dir).expect("target dir") {
            let f = f.expect("file").path();
            check::run(&target, &std::fs::read(&f).expect("read found input"));
            n += 1;
        }
    }
    assert!(n >= 3, "only {n} found inputs");
}

// A fish history whose dated commands step back in time gave the undated command between them `after` later
// than `before`: an interval holding no instant.
#[test]
fn history_clock_back_gives_ordered_bounds() {
    let data = found("history", "fish-clock-back-undated-between");
    check::run("history", &data);
    assert_ordered_bounds(&events("history", &data));
}

// A containerd log whose `time=` steps back (a line stamped at a whole second after nanosecond-stamped ones) gave
// an unparsable-time line between them `after` later than `before`.
#[test]
fn runtime_log_clock_back_gives_ordered_bounds() {
    let data = found("runtime_log", "logrus-clock-back-undated-between");
    check::run("runtime_log", &data);
    assert_ordered_bounds(&events("runtime_log", &data));
}

// The lastlog JSON extract gave each login the offset of its record in the host's lastlog (uid × 292), which is
// no place in the entry: an origin past the end of the bytes it cites. It now cites the record's base64 text.
#[test]
fn lastlog_json_origin_is_inside_the_extract() {
    let data = found("lastlog", "json-extract-uid1000");
    check::run("lastlog", &data);
    let raw = &data[1..];
    let evs = events("lastlog", &data);
    let alice = evs.iter().find(|e| e.uid == Some(1000)).expect("uid 1000's login");
    let at = alice.origin.offset.expect("an offset") as usize;
    assert!(raw[at..].starts_with(b"EA4Ia3B0cy8w"), "offset {at} is not uid 1000's record_b64");
}
