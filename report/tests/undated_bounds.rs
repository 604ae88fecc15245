//! An event with no time of its own is bounded by its file's mtime (or, for a capture, the collection's end)
//! in the timeline and in every timeline row, instead of being placed at the collection time.

mod common;

use coroner_report::pipeline::{self, LoadOptions, RenderOptions};
use coroner_schemas::manifest::{Category, FileStat, Format};
use coroner_schemas::{Timestamp, Utc};

/// A line of a saved `dmesg` without time prefixes (as `dmesg -t` prints it): no time of its own.
const UNDATED: &[u8] = b"Killed process 1381 (gunpowder-memho) total-vm:1050056kB, anon-rss:1041260kB, file-rss:0kB\n";

fn stat(mtime: Utc) -> FileStat {
    FileStat {
        mode: 0o100644,
        uid: 0,
        gid: 0,
        user: None,
        group: None,
        size: UNDATED.len() as u64,
        allocated: 4096,
        mtime: Some(mtime),
        ctime: Some(mtime),
        atime: Some(mtime),
        ino: 1,
        dev: 1,
        nlink: 1,
    }
}

#[test]
fn undated_lines_are_bounded_by_their_files_mtime_in_every_row() {
    let mtime = Utc::from_unix(1_700_000_000, 0).expect("t");
    let mut b = common::BundleBuilder::new("db1");
    b.file("fs/var/log/dmesg", "/var/log/dmesg", Category::Kernel, Format::DmesgText, UNDATED);
    b.manifest.entries.last_mut().expect("entry").stat = Some(stat(mtime));
    // The same bytes captured by the collector (no stat): bounded by the collection's end.
    b.file("live/kernel/dmesg.txt", "dmesg", Category::Kernel, Format::DmesgText, UNDATED);
    let finished = b.manifest.collector.finished;
    let dir = tempfile::tempdir().expect("tmp");
    let bundle = dir.path().join("b.tar.gz");
    b.write(&bundle);

    let loaded = pipeline::load(&bundle, &LoadOptions::default()).expect("load");
    let of = |entry: &str| loaded.events.iter().find(|e| &*e.origin.entry == entry).expect("event");
    let copied = of("fs/var/log/dmesg");
    assert_eq!(copied.timestamp, Timestamp::Bounded { after: None, before: Some(mtime) });
    assert_eq!(copied.fields.get("time_bound").and_then(|v| v.as_str()), Some("file_mtime"));
    let captured = of("live/kernel/dmesg.txt");
    assert_eq!(captured.timestamp, Timestamp::Bounded { after: None, before: Some(finished) });
    assert_eq!(captured.fields.get("time_bound").and_then(|v| v.as_str()), Some("collection_end"));

    let doc = coroner_report::findings::analyze(&loaded.manifest, &loaded.events, &loaded.facts, true);
    let out = dir.path().join("out");
    pipeline::render_all(&loaded, &doc, &out, &RenderOptions::default()).expect("render");
    let jsonl = std::fs::read_to_string(out.join("timeline.jsonl")).expect("jsonl");
    let row_of = |entry: &str| {
        jsonl
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json"))
            .find(|r| r["entry"] == entry)
            .unwrap_or_else(|| panic!("no row of {entry}"))
    };
    let row = row_of("fs/var/log/dmesg");
    assert_eq!(row["datetime"], mtime.rfc3339().as_str(), "{row}");
    assert!(row["timestamp_desc"].as_str().expect("desc").contains("its file's mtime"), "{row}");
    let tags: Vec<&str> = row["tag"].as_array().expect("tags").iter().filter_map(|t| t.as_str()).collect();
    assert!(tags.contains(&"bounded") && !tags.contains(&"undated"), "{tags:?}");
    let captured_row = row_of("live/kernel/dmesg.txt");
    assert_eq!(captured_row["datetime"], finished.rfc3339().as_str(), "{captured_row}");
    assert!(captured_row["timestamp_desc"].as_str().expect("desc").contains("the collection's end"), "{captured_row}");

    // The CSV rows say the same: time, description, tag and the field.
    let csv = common::parse_csv(&std::fs::read_to_string(out.join("timeline.csv")).expect("csv")).expect("parses");
    let col = |name: &str| csv[0].iter().position(|h| h == name).expect("column");
    for (entry, when, what, basis) in [
        ("fs/var/log/dmesg", mtime, "its file's mtime", "file_mtime"),
        ("live/kernel/dmesg.txt", finished, "the collection's end", "collection_end"),
    ] {
        let row = csv.iter().find(|r| r[col("entry")] == entry).expect("csv row");
        assert_eq!(row[col("datetime")], when.rfc3339(), "{row:?}");
        assert!(row[col("timestamp_desc")].contains(what), "{row:?}");
        assert!(row[col("tag")].contains("bounded") && !row[col("tag")].contains("undated"), "{row:?}");
        assert!(row[col("fields")].contains(&format!("\"time_bound\":\"{basis}\"")), "{row:?}");
    }
}

/// A saved `dmesg -t` (no time prefixes) of a 3.13 kernel's OOM kill: the kill is one death, bounded by the
/// file's mtime, with its cause and victim (the task-dump row `[ 1381]` is no time and swallows nothing).
#[test]
fn an_oom_kill_in_an_undated_dmesg_is_a_finding_bounded_by_the_mtime() {
    let raw = std::fs::read(common::repo_root().join("fixtures/kmsg/dmesg-t-oom-3.13.txt")).expect("fixture");
    let mtime = Utc::from_unix(1_700_000_000, 0).expect("t");
    let mut b = common::BundleBuilder::new("db1");
    b.file("fs/var/log/dmesg", "/var/log/dmesg", Category::Kernel, Format::DmesgText, &raw);
    b.manifest.entries.last_mut().expect("entry").stat = Some(stat(mtime));
    let dir = tempfile::tempdir().expect("tmp");
    let bundle = dir.path().join("b.tar.gz");
    b.write(&bundle);
    let loaded = pipeline::load(&bundle, &LoadOptions::default()).expect("load");
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    let doc = coroner_report::findings::analyze(&loaded.manifest, &loaded.events, &loaded.facts, true);
    let deaths: Vec<_> = doc.findings.iter().filter(|f| f.victim.pid == Some(1381)).collect();
    assert_eq!(deaths.len(), 1, "{:#?}", doc.findings);
    let f = deaths[0];
    assert_eq!(f.victim.comm.as_deref(), Some("gunpowder-memho"));
    assert!(format!("{:?}", f.cause).to_lowercase().contains("oom"), "{:?}", f.cause);
}
