//! Timesketch import rules for `timeline.jsonl` and `timeline.csv`, on hand-made events covering every time
//! certainty and hostile text (commas, quotes, newlines, non-UTF-8, empty messages, times out of range),
//! plus goldens of both outputs.

#[path = "common/tools.rs"]
mod tools;
mod common;


use common::{base_manifest, is_timesketch_datetime, parse_csv};
use coroner_report::render::{csv, jsonl, ReportModel};
use coroner_report::verify::VerifyReport;
use coroner_schemas::{Event, EventKind, FindingsDoc, Origin, Source, Text, Timestamp, Utc};
use serde_json::json;

fn t(secs: i64, us: u32) -> Utc {
    Utc::from_unix(secs, us * 1000).expect("time")
}

fn ev(ts: Timestamp, source: Source, kind: EventKind, msg: &str, raw: &[u8], line: u64) -> Event {
    Event {
        pid: Some(4242),
        uid: Some(1000),
        user: Some("alice".to_owned()),
        comm: Some("victim".to_owned()),
        ..Event::new(
            ts,
            source,
            kind,
            msg.to_owned(),
            Text::from_bytes(raw),
            Origin {
                entry: "fs/var/log/kern.log".into(),
                line: Some(line),
                offset: None,
            },
        )
    }
}

fn events() -> Vec<Event> {
    let mut oom = ev(
        Timestamp::FromBoot {
            utc: t(1_795_810_900, 123_456),
            since_boot_us: 1_020_123_456,
        },
        Source::Kmsg,
        EventKind::OomKill,
        "OOM killer killed victim (pid 4242)",
        b"<3>[ 1020.123456] Memory cgroup out of memory: Killed process 4242 (victim)",
        1,
    );
    oom.fields.insert("constraint".into(), json!("CONSTRAINT_MEMCG"));
    oom.fields.insert("anon_rss_kb".into(), json!(524288));
    let mut kill = ev(
        Timestamp::Exact {
            utc: t(1_795_810_910, 5),
        },
        Source::Audit,
        EventKind::SignalSent,
        "bash (pid 77) sent SIGKILL to 4242, \"victim\"",
        b"type=SYSCALL msg=audit(1795810910.000:12): syscall=62 a0=1092 a1=9 comm=\"bash\"",
        2,
    );
    kill.fields.insert("signal_name".into(), json!("SIGKILL"));
    kill.fields
        .insert("note".into(), json!("has, commas and \"quotes\"\nand a newline"));
    vec![
        oom,
        kill,
        ev(
            Timestamp::Inferred {
                utc: t(1_795_810_920, 0),
                assumption: "year from mtime".to_owned(),
            },
            Source::Syslog,
            EventKind::Login,
            "Accepted publickey for alice from 10.0.0.5",
            b"Nov 27 20:22:00 vm sshd[900]: Accepted publickey for alice",
            3,
        ),
        ev(
            Timestamp::Bounded {
                after: Some(t(1_795_810_000, 0)),
                before: Some(t(1_795_810_930, 0)),
            },
            Source::History,
            EventKind::KillCommand,
            "kill -9 4242",
            b"kill -9 4242",
            4,
        ),
        ev(
            Timestamp::Bounded {
                after: Some(t(1_795_810_001, 0)),
                before: None,
            },
            Source::History,
            EventKind::ShellCommand,
            "",
            b"",
            5,
        ),
        ev(
            Timestamp::Unknown,
            Source::History,
            EventKind::ShellCommand,
            "rm -rf \u{fffd} /tmp",
            b"rm -rf \xff\xfe /tmp",
            6,
        ),
        ev(
            Timestamp::Bounded {
                after: None,
                before: None,
            },
            Source::Cron,
            EventKind::CronJob,
            "*/5 * * * * root x",
            b"x",
            7,
        ),
        ev(
            Timestamp::Exact {
                utc: Utc::from_unix(-1, 500_000).expect("time"),
            },
            Source::Wtmp,
            EventKind::Boot,
            "before the epoch, half a millisecond in",
            b"reboot",
            8,
        ),
        ev(
            Timestamp::Exact {
                utc: Utc::from_unix(-62_200_000_000, 0).expect("time"),
            },
            Source::Wtmp,
            EventKind::Logout,
            "year -1: out of Timesketch's range",
            b"\r\n,\"",
            9,
        ),
        ev(
            Timestamp::Exact {
                utc: Utc::from_unix(10_413_792_000, 0).expect("time"),
            },
            Source::Audit,
            EventKind::Audit,
            "year 2300: a valid date that pandas cannot hold",
            b"type=X msg=audit(10413792000.000:1): x",
            10,
        ),
    ]
}

struct Fixture {
    manifest: coroner_schemas::Manifest,
    events: Vec<Event>,
    findings: FindingsDoc,
}

fn fixture() -> Fixture {
    let manifest = base_manifest("vm,\"quoted\"");
    let mut events = events();
    coroner_report::timeline::sort_dedup(&mut events);
    let findings = FindingsDoc {
        verified: true,
        hostname: manifest.host.hostname.clone(),
        findings: vec![],
        checklist: vec![],
        advisories: vec![],
    };
    Fixture {
        manifest,
        events,
        findings,
    }
}

fn model<'a>(f: &'a Fixture, v: &'a VerifyReport) -> ReportModel<'a> {
    ReportModel {
        manifest: &f.manifest,
        verification: v,
        coverage: &[],
        events: &f.events,
        problems: &[],
        findings: &f.findings,
        raw_binary: true,
    }
}

fn verified() -> VerifyReport {
    VerifyReport {
        ok: true,
        signature_good: true,
        ..Default::default()
    }
}

fn check_micros(datetime: &str, timestamp: i64) {
    assert!(is_timesketch_datetime(datetime), "bad datetime {datetime:?}");
    let back = Utc::parse_rfc3339(datetime).expect("parses");
    let ns = back.0.unix_timestamp_nanos();
    // Timesketch's CSV import parses datetime with pandas.to_datetime(errors="coerce") and drops the rows that
    // become NaT: anything that is not a signed 64-bit count of nanoseconds since 1970.
    assert!(i64::try_from(ns).is_ok(), "{datetime} is outside pandas' datetime64[ns] and would be dropped");
    assert_eq!(ns.rem_euclid(1000), 0);
    assert_eq!(
        i128::from(timestamp),
        ns.div_euclid(1000),
        "timestamp {timestamp} != datetime {datetime}"
    );
}

#[test]
fn every_jsonl_row_meets_timesketch_rules() {
    let f = fixture();
    let v = verified();
    let out = jsonl::render(&model(&f, &v));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), f.events.len(), "one row per event, none dropped");
    for line in lines {
        let row: serde_json::Value = serde_json::from_str(line).expect("each line is JSON");
        let msg = row["message"].as_str().expect("message string");
        assert!(!msg.is_empty());
        let desc = row["timestamp_desc"].as_str().expect("desc");
        assert!(!desc.is_empty());
        let ts = row["timestamp"].as_i64().expect("integer timestamp");
        check_micros(row["datetime"].as_str().expect("datetime"), ts);
        assert_eq!(row["hostname"], "vm,\"quoted\"");
        assert!(row["data_type"].as_str().expect("data_type").starts_with("coroner:"));
        assert!(row["tag"].is_array());
        assert_eq!(row["verified"], true);
        assert!(!row["tag"].as_array().expect("tags").iter().any(|t| t == "unverified"));
    }
}

#[test]
fn every_csv_row_meets_timesketch_rules_and_parses_back() {
    let f = fixture();
    let v = verified();
    let out = csv::render(&model(&f, &v));
    let rows = parse_csv(&out).expect("valid RFC 4180");
    assert_eq!(rows.len(), f.events.len() + 1);
    let header = &rows[0];
    assert_eq!(
        header.iter().map(String::as_str).collect::<Vec<_>>(),
        csv::COLUMNS.to_vec()
    );
    let col = |name: &str| header.iter().position(|h| h == name).expect("column");
    for row in &rows[1..] {
        assert_eq!(row.len(), header.len(), "same number of columns: {row:?}");
        assert!(!row[col("message")].is_empty());
        assert!(!row[col("timestamp_desc")].is_empty());
        let ts: i64 = row[col("timestamp")].parse().expect("integer timestamp");
        check_micros(&row[col("datetime")], ts);
        assert_eq!(row[col("hostname")], "vm,\"quoted\"");
    }
    // The hostile field survived the round trip exactly.
    let fields: Vec<&String> = rows[1..]
        .iter()
        .map(|r| &r[col("fields")])
        .filter(|s| s.contains("commas"))
        .collect();
    assert_eq!(fields.len(), 1);
    let back: serde_json::Value = serde_json::from_str(fields[0]).expect("fields JSON");
    assert_eq!(back["note"], "has, commas and \"quotes\"\nand a newline");
}

#[test]
fn csv_parses_in_python_csv_module_when_available() {
    let f = fixture();
    let v = verified();
    let out = csv::render(&model(&f, &v));
    let d = tempfile::tempdir().expect("tmp");
    let p = d.path().join("t.csv");
    std::fs::write(&p, &out).expect("write");
    let script = "import csv,sys\nrows=list(csv.reader(open(sys.argv[1],newline='',encoding='utf-8')))\n\
                  print(len(rows), sorted(set(len(r) for r in rows)))";
    match std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&p)
        .output()
    {
        Ok(o) if o.status.success() => {
            let text = String::from_utf8_lossy(&o.stdout);
            assert_eq!(text.trim(), format!("{} [{}]", f.events.len() + 1, csv::COLUMNS.len()));
        }
        _ => tools::missing("python3 with its csv module is not available"),
    }
}

#[test]
fn undated_bounded_and_out_of_range_rows_say_so() {
    let f = fixture();
    let v = verified();
    let m = model(&f, &v);
    let rows: Vec<serde_json::Value> = jsonl::render(&m)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let by_line = |n: u64| rows.iter().find(|r| r["line"] == n).expect("row").clone();
    let collected = f.manifest.collector.finished.rfc3339();
    for n in [6, 7] {
        let r = by_line(n);
        assert_eq!(r["timestamp_desc"], "Undated (collection time)");
        assert_eq!(r["datetime"], collected.as_str());
        assert!(r["tag"].as_array().expect("tags").contains(&json!("undated")));
    }
    let r = by_line(4);
    assert_eq!(r["timestamp_desc"], "Kill Command (upper bound)");
    assert_eq!(r["tag"], json!(["signal", "bounded"]));
    assert_eq!(by_line(5)["timestamp_desc"], "Shell Command (lower bound)");
    assert_eq!(
        by_line(5)["message"],
        "Shell Command",
        "an empty message is replaced for Timesketch"
    );
    for n in [9, 10] {
        let r = by_line(n);
        assert!(r["tag"].as_array().expect("tags").contains(&json!("time_out_of_range")), "line {n}: {r}");
        assert_eq!(r["datetime"], collected.as_str(), "line {n}");
    }
    assert_eq!(by_line(1)["timestamp_desc"], "OOM Kill");
    assert_eq!(by_line(1)["data_type"], "coroner:kmsg:oom_kill");
    assert_eq!(by_line(1)["tag"], json!(["oom"]));
    assert_eq!(by_line(2)["timestamp_desc"], "Signal Sent");
    assert_eq!(by_line(3)["timestamp_desc"], "Login");
    // Non-UTF-8 raw bytes: lossy text for display, exact bytes in raw_base64.
    let r = by_line(6);
    assert_eq!(r["raw_base64"], "cm0gLXJmIP/+IC90bXA=");
    assert!(by_line(1).get("raw_base64").is_none());
}

#[test]
fn unverified_rows_are_tagged() {
    let f = fixture();
    let v = VerifyReport {
        skipped: true,
        ..Default::default()
    };
    let m = model(&f, &v);
    for line in jsonl::render(&m).lines() {
        let row: serde_json::Value = serde_json::from_str(line).expect("json");
        assert_eq!(row["verified"], false);
        assert!(row["tag"].as_array().expect("tags").contains(&json!("unverified")));
    }
    let csv_out = csv::render(&m);
    let rows = parse_csv(&csv_out).expect("csv");
    let tag = csv::COLUMNS.iter().position(|c| *c == "tag").expect("tag column");
    let verified_col = csv::COLUMNS.iter().position(|c| *c == "verified").expect("column");
    for r in &rows[1..] {
        assert!(r[tag].split(',').any(|t| t == "unverified"), "{r:?}");
        assert_eq!(r[verified_col], "false");
    }
}

#[test]
fn rendering_is_deterministic() {
    let v = verified();
    let (f1, f2) = (fixture(), fixture());
    assert_eq!(jsonl::render(&model(&f1, &v)), jsonl::render(&model(&f2, &v)));
    assert_eq!(csv::render(&model(&f1, &v)), csv::render(&model(&f2, &v)));
}

#[test]
fn golden_jsonl() {
    let f = fixture();
    let v = verified();
    insta::assert_snapshot!(jsonl::render(&model(&f, &v)));
}

#[test]
fn golden_csv() {
    let f = fixture();
    let v = verified();
    insta::assert_snapshot!(csv::render(&model(&f, &v)));
}

/// Both timeline files hold exactly the row model: `timeline.jsonl` its JSON, line by line, and `timeline.csv`
/// its cells (read back), for every event of the fixture (every time certainty, hostile text, binary and
/// non-UTF-8 records), verified or not, and for events with fields of every value kind.
#[test]
fn timeline_files_hold_the_row_model() {
    let mut f = fixture();
    let mut extra = f.events[0].clone();
    extra.fields.insert("argv".into(), json!(["kill", "-9", "4242"]));
    extra.fields.insert("ratio".into(), json!(0.25));
    extra.fields.insert("big".into(), json!(u64::MAX));
    extra.fields.insert("neg".into(), json!(-3));
    extra.fields.insert("none".into(), json!(null));
    extra.fields.insert("quote".into(), json!("a \"b\", c\r\nd\u{1}"));
    extra.fields.insert("long".into(), json!("x".repeat(100)));
    extra.origin.line = Some(999);
    f.events.push(extra);
    let mut undated = f.events[0].clone();
    // Bounded by a time before year 1: five tags (kind, bounded, time_out_of_range, undated, unverified).
    undated.timestamp = Timestamp::Bounded { after: None, before: Some(t(-62_200_000_000, 0)) };
    undated.origin.line = Some(1000);
    f.events.push(undated);
    for v in [verified(), VerifyReport { skipped: true, ..Default::default() }] {
        let m = model(&f, &v);
        let mut reference = String::new();
        for e in m.events {
            reference.push_str(&serde_json::to_string(&jsonl::row(&m, e)).expect("row"));
            reference.push('\n');
        }
        assert_eq!(jsonl::render(&m), reference);
        assert_eq!(parse_csv(&csv::render(&m)).expect("valid RFC 4180"), csv_cells(&m));
    }
}

/// `timeline.csv`'s cells made from the row model, header first.
fn csv_cells(m: &ReportModel) -> Vec<Vec<String>> {
    let mut out = vec![csv::COLUMNS.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>()];
    let opt = |v: Option<String>| v.unwrap_or_default();
    for e in m.events {
        let r = jsonl::row(m, e);
        out.push(vec![
            r.message.to_owned(),
            r.datetime.clone(),
            r.timestamp_desc.to_string(),
            r.timestamp.to_string(),
            r.hostname.to_owned(),
            r.data_type.to_owned(),
            r.tag.join(","),
            r.source.to_owned(),
            r.kind.to_owned(),
            r.certainty.to_owned(),
            opt(r.pid.map(|x| x.to_string())),
            opt(r.ppid.map(|x| x.to_string())),
            opt(r.uid.map(|x| x.to_string())),
            r.user.unwrap_or("").to_owned(),
            r.comm.unwrap_or("").to_owned(),
            r.entry.to_owned(),
            opt(r.line.map(|x| x.to_string())),
            opt(r.offset.map(|x| x.to_string())),
            r.raw.to_string(),
            r.raw_base64.clone().unwrap_or_default(),
            if r.fields.is_empty() { String::new() } else { serde_json::to_string(r.fields).expect("fields") },
            r.verified.to_string(),
        ]);
    }
    out
}

/// Timesketch's CSV import (`read_and_validate_csv`: `pandas.read_csv` in chunks of 10,000 rows, then each
/// row's NaN cells dropped and the rest sent as they are): every row arrives, the datetime parses, and every
/// number is the one the JSONL holds, exactly (an absent one stays absent). Pandas turns a chunk's column with
/// an empty cell into floats (pid 4242 arrives as 4242.0), which is why the README names JSONL as the import.
#[test]
fn csv_survives_timesketchs_pandas_reader_when_available() {
    let mut f = fixture();
    // Absent and large numbers side by side: a pid-less row, an offset past float32's and a uid past i32's range.
    f.events[1].pid = None;
    f.events[1].uid = Some(u32::MAX);
    f.events[2].origin.offset = Some((1 << 53) - 1);
    let v = verified();
    let m = model(&f, &v);
    let d = tempfile::tempdir().expect("tmp");
    let p = d.path().join("t.csv");
    std::fs::write(&p, csv::render(&m)).expect("write");
    let script = r#"
import json, sys
import pandas
out = []
for chunk in pandas.read_csv(sys.argv[1], sep=",", chunksize=10000):
    chunk["datetime"] = pandas.to_datetime(chunk["datetime"], errors="coerce")
    if chunk["datetime"].isnull().any():
        sys.exit("a datetime did not parse")
    for _, row in chunk.iterrows():
        row = row.dropna()
        out.append({k: (v.item() if hasattr(v, "item") else v) for k, v in row.to_dict().items() if k != "datetime"})
print(json.dumps(out))
"#;
    let Some(py) = tools::python_with("pandas") else {
        tools::missing("no python3 with pandas (Debian: python3-pandas)");
        return;
    };
    let o = std::process::Command::new(py).args(["-c", script]).arg(&p).output().expect("run python3");
    assert!(o.status.success(), "pandas reader failed: {}", String::from_utf8_lossy(&o.stderr));
    let got: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).expect("rows");
    let want: Vec<serde_json::Value> =
        jsonl::render(&m).lines().map(|l| serde_json::from_str(l).expect("json")).collect();
    assert_eq!(got.len(), want.len(), "every row arrives");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g["message"], w["message"]);
        for k in ["pid", "ppid", "uid", "line", "offset", "timestamp"] {
            // Integers and floats compared as numbers: 4242.0 is 4242, and every value is below 2^53.
            let (gn, wn) = (g.get(k).and_then(|x| x.as_f64()), w[k].as_i64());
            assert_eq!(gn, wn.map(|n| n as f64), "{k} in {w}");
            assert!(wn.is_none_or(|n| n.unsigned_abs() < 1 << 53), "{k} would not survive a float: {w}");
        }
    }
}
