//! Journal JSON export parser (fixtures/journal): golden, kernel OOM lines through the kernel recognisers,
//! systemd unit results, the structured coredump entry, a non-UTF-8 MESSAGE byte array, a bad line.

use std::path::PathBuf;

use coroner_report::sources::{parse_entry, Parsed, SourceCtx};
use coroner_schemas::accounts::Accounts;
use coroner_schemas::manifest::{Entry, Manifest};
use coroner_schemas::{Event, EventKind, Source, Text, Timestamp};
use serde_json::{json, Value};

fn fixture(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/journal")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn run(raw: &[u8]) -> Parsed {
    let m: Manifest = serde_json::from_value(json!({
        "schema_version": 1, "bundle_name": "test.tar.gz",
        "host": {"hostname": "vm", "utc_offset_seconds": 0},
        "collector": {"name": "coroner-collect", "version": "0", "started": "2026-11-27T20:21:28.000000Z",
            "finished": "2026-11-27T20:21:29.000000Z", "argv": [], "uid": 0, "euid": 0, "live": true,
            "signer_fingerprint": "SHA256:x", "ephemeral_key": true,
            "options": {"cores": "meta", "core_cap_bytes": 0, "max_file_bytes": 0, "max_total_bytes": 0,
                "journal_window_seconds": 0, "command_timeout_ms": 0, "includes": [], "excludes": [], "gentle": false}},
        "entries": [], "problems": []
    }))
    .expect("manifest");
    let e: Entry = serde_json::from_value(json!({
        "path": "cmd/journalctl.json", "source": "journalctl -o json", "category": "journal",
        "format": "journal_json", "size": 0, "status": {"kind": "ok"}
    }))
    .expect("entry");
    let acc = Accounts::parse(
        b"root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\nnobody:x:65534:65534::/:/usr/sbin/nologin\n",
        b"",
    );
    let ctx = SourceCtx::new(&e, &m, &acc);
    parse_entry(raw, &ctx)
}

fn of_kind(p: &Parsed, k: EventKind) -> Vec<&Event> {
    p.events.iter().filter(|e| e.kind == k).collect()
}

#[test]
fn golden_journal() {
    let p = run(&fixture("journal.json"));
    let v: Value = json!({ "events": p.events, "problems": p.problems });
    insta::assert_json_snapshot!("journal", v);
}

#[test]
fn kernel_transport_oom_and_exact_times() {
    let p = run(&fixture("journal.json"));
    let kills = of_kind(&p, EventKind::OomKill);
    assert_eq!(kills.len(), 1);
    let k = kills[0];
    assert_eq!(
        (k.pid, k.uid, k.user.as_deref(), k.comm.as_deref()),
        (Some(14406), Some(65534), Some("nobody"), Some("python3"))
    );
    assert_eq!(k.fields["oom_memcg"], json!("/coroner-fixture"));
    assert_eq!(k.fields["global"], json!(false));
    assert_eq!(k.source, Source::Journal);
    assert_eq!(
        k.timestamp,
        Timestamp::Exact {
            utc: coroner_schemas::Utc::from_unix_micros(1_795_810_000_000_614).expect("t")
        }
    );
    let inv = of_kind(&p, EventKind::OomInvoked);
    assert_eq!((inv[0].pid, inv[0].uid), (Some(14406), Some(65534)));
}

#[test]
fn systemd_unit_results_and_coredump() {
    let p = run(&fixture("journal.json"));
    let exit = of_kind(&p, EventKind::ProcessExit);
    assert_eq!(exit.len(), 1);
    assert_eq!(exit[0].pid, None, "systemd's own pid is not the process that exited");
    assert_eq!(exit[0].fields["program_pid"], json!(1));
    assert_eq!(exit[0].fields["unit"], json!("myapp.service"));
    assert_eq!(exit[0].fields["signal"], json!(9));
    assert_eq!(exit[0].fields["code"], json!("killed"));
    let failed: Vec<_> = of_kind(&p, EventKind::ServiceFailed)
        .iter()
        .map(|e| e.fields["result"].to_json())
        .collect();
    assert_eq!(failed, vec![json!("oom-kill"), json!("watchdog")]);
    assert_eq!(
        of_kind(&p, EventKind::WatchdogTimeout)[0].fields["unit"],
        json!("worker.service")
    );
    let killed: Vec<_> = of_kind(&p, EventKind::ServiceKilled)
        .iter()
        .map(|e| (e.pid, e.field_i64("signal")))
        .collect();
    assert_eq!(killed, vec![(Some(4242), Some(6)), (Some(777), Some(9))]);
    let core = of_kind(&p, EventKind::CoreDumped);
    assert_eq!(core.len(), 1);
    let c = core[0];
    assert_eq!(
        (c.pid, c.uid, c.user.as_deref(), c.comm.as_deref()),
        (Some(4242), Some(1000), Some("alice"), Some("worker"))
    );
    assert_eq!(c.fields["signal"], json!(6));
    assert_eq!(c.fields["signal_name"], json!("SIGABRT"));
    assert_eq!(c.fields["exe"], json!("/opt/worker/bin/worker"));
    assert_eq!(c.fields["unit"], json!("worker.service"));
    assert!(c
        .field_str("core_file")
        .is_some_and(|f| f.starts_with("/var/lib/systemd/coredump/core.worker.")));
    let login = of_kind(&p, EventKind::Login);
    assert_eq!((login[0].user.as_deref(), login[0].pid), (Some("alice"), Some(2201)));
    let sudo = of_kind(&p, EventKind::PrivilegedCommand);
    assert_eq!(
        sudo[0].fields["command"],
        json!("/usr/bin/systemctl kill -s KILL myapp.service")
    );
    let cron = of_kind(&p, EventKind::CronRun);
    assert_eq!(
        (cron[0].pid, cron[0].fields["run_as"].to_json()),
        (Some(3100), json!("root"))
    );
}

#[test]
fn byte_array_message_is_kept_exactly() {
    let p = run(&fixture("journal.json"));
    let ev = p
        .events
        .iter()
        .find(|e| e.fields.contains_key("message_raw"))
        .expect("byte message");
    let t: Text = serde_json::from_value(ev.fields["message_raw"].to_json()).expect("text");
    assert_eq!(t.to_bytes(), b"payload \xff\xfe not utf-8".to_vec());
    assert_eq!(
        (ev.pid, ev.uid, ev.comm.as_deref()),
        (Some(9001), Some(1000), Some("myapp"))
    );
}

#[test]
fn bad_lines_are_problems_and_parsing_goes_on() {
    let p = run(&fixture("journal.json"));
    assert_eq!(p.problems.len(), 1);
    assert_eq!(p.problems[0].line, Some(17));
    assert_eq!(p.events.last().map(|e| e.origin.line), Some(Some(18)));
    assert!(run(b"").events.is_empty());
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let p = run(&garbage);
    assert!(p.events.is_empty());
    // One problem per line of garbage, each naming its line; none is read as an event.
    let lines = garbage.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count();
    assert_eq!(p.problems.len(), lines);
    assert!(p.problems.iter().all(|q| q.message.starts_with("bad journal JSON") && q.line.is_some()), "{:?}", p.problems);
    let p = run(b"[1,2]\n{\"MESSAGE\":[300,1]}\n{\"__REALTIME_TIMESTAMP\":\"x\",\"MESSAGE\":\"hi\"}\n");
    assert_eq!(p.events.len(), 2);
    assert_eq!(p.events[1].timestamp, Timestamp::Unknown);
    // 1 MB message: raw line whole, summary capped.
    let big = format!(
        "{{\"__REALTIME_TIMESTAMP\":\"1\",\"MESSAGE\":\"{}\"}}",
        "y".repeat(1 << 20)
    );
    let p = run(big.as_bytes());
    assert_eq!(p.events[0].raw.to_bytes(), big.as_bytes());
    assert!(p.events[0].message.chars().count() <= 1001);
}

/// systemd-oomd's kill line (format string of systemd's oomd-util.c) becomes an OOM kill of the cgroup.
#[test]
fn systemd_oomd_kill_line() {
    let c = coroner_report::sources::daemon_lines::classify_systemd(
        "Killed /system.slice/app.service due to memory pressure for /system.slice being 74.12% > 50.00% for > 20s with reclaim activity",
    )
    .expect("classified");
    assert_eq!(c.kind, coroner_schemas::EventKind::OomKill);
    assert_eq!(c.fields["unit"], "app.service");
    assert_eq!(c.fields["cgroup"], "/system.slice/app.service");
    assert!(coroner_report::sources::daemon_lines::classify_systemd("Killed it due to boredom").is_none());
}

/// A `__REALTIME_TIMESTAMP` of 0 is no time: kept undated with a problem, never an exact 1970 (the class of the
/// utmp zero-time fix).
#[test]
fn a_zero_realtime_is_undated() {
    let p = run(b"{\"__REALTIME_TIMESTAMP\":\"0\",\"MESSAGE\":\"hello\",\"_PID\":\"7\"}\n{\"__REALTIME_TIMESTAMP\":\"1795800000000000\",\"MESSAGE\":\"later\"}\n");
    assert_eq!(p.events.len(), 2, "{:?}", p.problems);
    let zero = p.events.iter().find(|e| e.message.contains("hello")).expect("event");
    assert_eq!(zero.timestamp, coroner_schemas::Timestamp::Unknown);
    assert!(p.problems.iter().any(|q| q.message.contains("__REALTIME_TIMESTAMP 0")), "{:?}", p.problems);
    let later = p.events.iter().find(|e| e.message.contains("later")).expect("event");
    assert!(matches!(later.timestamp, coroner_schemas::Timestamp::Exact { .. }));
}
