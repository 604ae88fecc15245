//! The contract between the two tools, end to end: collect this host for real with the release collector,
//! then read the bundle with the report. What the collector writes must parse with zero parse problems; the
//! problems the collector recorded are counted apart (and alike by both tools), and do not alone make the
//! report's exit code 1. Runs as any user (as root it sees more; CI runs it as root).
//!
//! Needs the release collector (`make test` builds it first), or CORONER_COLLECT=path.

#[path = "common/live.rs"]
mod live;
use live::collector;
use std::path::{Path, PathBuf};
use std::process::Command;

use coroner_report::pipeline::{self, LoadOptions};
use coroner_schemas::proc::ProcSnapshot;
use coroner_schemas::{EventKind, Source};

/// The number after `prefix` in `text` (`"… 12 problem(s)"` → 12 for prefix `"coroner-collect: "`).
fn number_after(text: &str, prefix: &str) -> u64 {
    let at = text.find(prefix).unwrap_or_else(|| panic!("{prefix:?} not in {text}")) + prefix.len();
    text[at..].split(|c: char| !c.is_ascii_digit()).next().and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("no number after {prefix:?} in {text}"))
}

#[test]
fn a_live_collection_renders_with_no_parse_problem_and_both_tools_count_alike() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = Command::new(collector())
        .args(["--no-gentle", "-o"])
        .arg(dir.path())
        .output()
        .expect("run the collector");
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(matches!(out.status.code(), Some(0 | 1)), "collector failed: {said}");
    let bundle = PathBuf::from(String::from_utf8_lossy(&out.stdout).lines().last().expect("bundle path").trim());

    // The library's view: every entry parses; the collector's own problems are counted apart.
    let loaded = pipeline::load(&bundle, &LoadOptions::default()).expect("load");
    let parse: Vec<String> = loaded
        .problems
        .iter()
        .filter(|p| p.is_parse())
        .map(|p| format!("{}:{:?}@{:?}: {}", p.entry, p.line, p.offset, p.message))
        .collect();
    assert!(parse.is_empty(), "the report could not read what the collector wrote:\n{}", parse.join("\n"));
    assert!(loaded.verification.ok, "{:?}", loaded.verification.failures);

    // Both tools count the same entries and the same collector problems.
    let listed = number_after(&said, "coroner-collect: ");
    let with_bytes = number_after(&said, "entries (");
    assert_eq!(listed, loaded.verification.entries_listed, "{said}");
    assert_eq!(with_bytes, loaded.verification.entries_checked, "{said}");
    assert_eq!(listed - with_bytes, loaded.verification.entries_absent, "{said}");
    let recorded_line = said.lines().find(|l| l.contains("problem(s): ")).expect("problem line");
    let recorded = number_after(recorded_line, "coroner-collect: ");
    assert_eq!(recorded as usize, loaded.collection_problems(), "{said}");
    assert_eq!(out.status.code() == Some(0), recorded == 0 && loaded.collection_problems() == 0, "{said}");

    // Every capture the collector wrote itself (live/, cmd/) that a parser reads, and that is not empty, yields
    // events: a format the report no longer recognises would otherwise pass as "no problem, nothing there".
    let silent: Vec<&str> = loaded
        .manifest
        .entries
        .iter()
        .filter(|e| (e.path.starts_with("live/") || e.path.starts_with("cmd/")) && e.size > 0 && pipeline::parses(e))
        .filter(|e| !loaded.events.iter().any(|ev| *ev.origin.entry == *e.path))
        // The one capture that may hold nothing to say: the extract of an empty lastlog (no logins ever).
        .filter(|e| !(e.path == "live/logins/lastlog.json" && tar_json(&bundle, &e.path)["records"] == serde_json::json!([])))
        .map(|e| e.path.as_str())
        .collect();
    assert!(silent.is_empty(), "captures that yielded no event: {silent:?}");

    // Each process event points at its own object in the snapshot, as it is written.
    let snap_entry = loaded.manifest.entries.iter().find(|e| e.path == "live/proc/processes.json").expect("snapshot entry");
    assert!(snap_entry.has_data(), "the live host's process table was taken");
    let procs: Vec<_> = loaded.events.iter().filter(|e| e.source == Source::Proc && e.kind == EventKind::ProcessAlive).collect();
    assert!(!procs.is_empty(), "process events");
    let raw = tar_member(&bundle, "live/proc/processes.json");
    let (snap, _) = ProcSnapshot::from_bytes(&raw).expect("the snapshot reads");
    assert_eq!(procs.len(), snap.processes.len());
    for e in &procs {
        let (line, offset) = (e.origin.line.expect("line"), e.origin.offset.expect("offset") as usize);
        let pid = e.pid.expect("pid");
        assert!(raw[offset..].starts_with(format!("{{\"pid\":{pid},").as_bytes()), "pid {pid} at {offset}");
        let nth = raw[..offset].iter().filter(|&&b| b == b'\n').count() as u64 + 1;
        assert_eq!(line, nth, "pid {pid}");
    }

    // The binary: exit 0 unless the report itself found problems; the collector's are reported, not failed on.
    let rendered = Command::new(env!("CARGO_BIN_EXE_coroner-report"))
        .args(["render"])
        .arg(&bundle)
        .arg("-o")
        .arg(dir.path().join("report"))
        .output()
        .expect("run the report");
    let err = String::from_utf8_lossy(&rendered.stderr);
    assert_eq!(rendered.status.code(), Some(0), "{err}");
    if loaded.collection_problems() > 0 {
        assert!(err.contains(&format!("0 parse problem(s), {} collection problem(s)", loaded.collection_problems())), "{err}");
    }
    let md = std::fs::read_to_string(dir.path().join("report/report.md")).expect("report.md");
    assert!(!md.contains("not laid out"), "{md}");
}

fn tar_json(bundle: &Path, name: &str) -> serde_json::Value {
    serde_json::from_slice(&tar_member(bundle, name)).expect("json")
}

fn tar_member(bundle: &Path, name: &str) -> Vec<u8> {
    let f = std::fs::File::open(bundle).expect("bundle");
    let mut a = tar::Archive::new(flate2::read::GzDecoder::new(f));
    for m in a.entries().expect("entries") {
        let mut m = m.expect("member");
        if m.path_bytes().as_ref() == name.as_bytes() {
            let mut v = Vec::new();
            std::io::Read::read_to_end(&mut m, &mut v).expect("read");
            return v;
        }
    }
    panic!("{name} not in the bundle");
}

/// The collector's lastlog extract (it keeps the non-zero 292-byte pieces of a sparse file), as the real
/// collector writes it under `--root` from real lastlog files (x86_64's, and aarch64's 296-byte records written
/// by aarch64 glibc: fixtures/utmp/PROVENANCE), reads back as the same two logins with no problem.
#[test]
fn the_collectors_lastlog_extract_reads_back_for_each_architecture() {
    for fixture in ["lastlog", "lastlog-aarch64"] {
        let root = tempfile::tempdir().expect("root");
        std::fs::create_dir_all(root.path().join("var/log")).expect("mkdir");
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/utmp").join(fixture);
        std::fs::copy(&src, root.path().join("var/log/lastlog")).expect("copy");
        let out = tempfile::tempdir().expect("out");
        let run = Command::new(collector())
            .args(["--no-gentle", "--quiet", "--root"])
            .arg(root.path())
            .arg("-o")
            .arg(out.path())
            .output()
            .expect("run the collector");
        assert!(matches!(run.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&run.stderr));
        let bundle = PathBuf::from(String::from_utf8_lossy(&run.stdout).lines().last().expect("bundle path").trim());
        let loaded = pipeline::load(&bundle, &LoadOptions::default()).expect("load");
        let lastlog: Vec<String> = loaded
            .problems
            .iter()
            .filter(|p| p.entry.contains("lastlog"))
            .map(|p| p.message.clone())
            .collect();
        assert!(lastlog.is_empty(), "{fixture}: {lastlog:?}");
        let mut logins: Vec<(Option<u32>, String)> = loaded
            .events
            .iter()
            .filter(|e| e.source == Source::Lastlog)
            .map(|e| (e.uid, e.message.clone()))
            .collect();
        logins.sort();
        assert_eq!(
            logins,
            [
                (Some(0), "last login of uid 0 on \"tty1\"".to_owned()),
                (Some(1000), "last login of uid 1000 on \"pts/0\" from \"203.0.113.7\"".to_owned()),
            ],
            "{fixture}"
        );
    }
}
