//! The process-snapshot parser over a real collector capture (fixtures/proc), and bad JSON.

#[path = "parse_history_support.rs"]
mod support;

use coroner_schemas::{EventKind, Timestamp, Utc};
use serde_json::json;
use support::*;

fn snap_entry() -> coroner_schemas::Entry {
    entry("proc_snapshot_json", "live/proc/processes.json", "/proc", None, None)
}

#[test]
fn real_snapshot_golden() {
    let p = run(&fixture("proc", "processes.json"), &snap_entry());
    insta::assert_json_snapshot!("processes", golden(&p));
    assert_eq!(p.events.len(), 7);
    let init = &p.events[0];
    assert_eq!(
        (init.kind, init.pid, init.ppid, init.uid),
        (EventKind::ProcessAlive, Some(1), Some(0), Some(0))
    );
    assert_eq!(init.comm.as_deref(), Some("process_api"));
    assert_eq!(init.fields["rlimit_core_soft"], json!(0));
    assert_eq!(init.fields["rlimit_core_hard"], json!(null), "unlimited is null");
    assert_eq!(init.fields["cgroup"], json!("/"), "the memory controller's line");
    assert_eq!(init.fields["sig_cgt"], json!("00000000000004e8"));
    assert_eq!(init.fields["signals_caught"], json!(["SIGILL", "SIGABRT", "SIGBUS", "SIGFPE", "SIGSEGV"]));
    assert_eq!(init.fields["signals_ignored"], json!(["SIGPIPE"]));
    // Each event points at the line and byte where its process's object starts.
    let raw = fixture("proc", "processes.json");
    for e in &p.events {
        let at = e.origin.offset.expect("offset") as usize;
        let line = e.origin.line.expect("line") as usize;
        assert_eq!(raw[..at].iter().filter(|&&b| b == b'\n').count() + 1, line);
        let head = String::from_utf8_lossy(&raw[at..(at + 40).min(raw.len())]).into_owned();
        assert!(head.starts_with(&format!("{{\"pid\":{},", e.pid.expect("pid"))), "{head:?}");
    }
    // As the collector writes it: the head on line 1, then one process a line.
    assert_eq!(p.events.iter().map(|e| e.origin.line.expect("line")).collect::<Vec<_>>(), (2..=8).collect::<Vec<u64>>());
    assert_eq!(init.fields["start_time"], json!("2026-12-04T14:11:50.230000Z"));
    let taken = p.events[0].timestamp.clone();
    assert!(matches!(taken, Timestamp::Exact { .. }));
    assert!(p.events.iter().all(|e| e.timestamp == taken));
    let kthreadd = p.events.iter().find(|e| e.pid == Some(2)).expect("kthreadd");
    assert_eq!(kthreadd.fields["cmdline"], json!([]));
    assert!(kthreadd.message.contains("[kthreadd]"));
    // The collector's own problems are carried over.
    assert!(p.problems.iter().any(|q| q.message.contains("permission denied")));
}

/// The snapshot of an earlier collector, pretty-printed: every process is located in it too.
#[test]
fn pretty_snapshot_is_located() {
    let raw = fixture("proc", "processes-pretty.json");
    let p = run(&raw, &snap_entry());
    assert_eq!(p.events.len(), 7);
    assert!(p.problems.iter().all(|q| !q.is_parse()), "{:?}", p.problems);
    for e in &p.events {
        let at = e.origin.offset.expect("offset") as usize;
        let head = String::from_utf8_lossy(&raw[at..(at + 40).min(raw.len())]).into_owned();
        assert!(head.starts_with(&format!("{{\n      \"pid\": {},", e.pid.expect("pid"))), "{head:?}");
    }
}

#[test]
fn bad_snapshots_are_problems() {
    let e = snap_entry();
    for raw in [&b""[..], b"{", b"[]", b"{\"taken\": 1}", b"\xff\xfe"] {
        let p = run(raw, &e);
        assert!(p.events.is_empty() && p.problems.len() == 1, "{raw:?}");
    }
    // A record with an unreadable limits text and a v2-only cgroup.
    let doc = json!({"taken": "2026-11-27T20:00:00Z", "btime": 0, "clk_tck": 100, "page_size": 4096, "problems": [],
        "processes": [{"pid": 5, "ppid": null, "pgid": null, "sid": null, "tty_nr": null, "uids": [], "gids": [],
        "user": null, "euser": null, "comm": {"bytes": "/w=="}, "exe": null, "cmdline": [], "cwd": null,
        "state": null, "starttime_ticks": null, "start_time": null, "vsize_bytes": null, "rss_bytes": null,
        "threads": null, "nice": null, "oom_score": null, "oom_score_adj": null, "cgroups": ["0::/user.slice"],
        "namespaces": {}, "loginuid": null, "sessionid": null, "sig_pnd": null, "sig_blk": null, "sig_ign": null,
        "sig_cgt": null, "limits": {"text": "garbage"}, "stat_raw": null}]});
    let raw = serde_json::to_vec(&doc).expect("json");
    let p = run(&raw, &e);
    // Compact JSON on one line, not the collector's layout: each process is still located, with no problem.
    let at = p.events[0].origin.offset.expect("offset") as usize;
    assert_eq!(p.events[0].origin.line, Some(1));
    assert!(raw[at..].starts_with(b"{\"cgroups\""), "{:?}", String::from_utf8_lossy(&raw[at..]));
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    assert_eq!(p.events[0].fields.get("signals_caught"), None, "no mask, no list");
    assert_eq!(p.events[0].fields["cgroup"], json!("/user.slice"));
    assert_eq!(p.events[0].fields["rlimit_core_unread"], json!(true));
    assert_eq!(
        p.events[0].timestamp,
        Timestamp::Exact {
            utc: Utc::from_unix(1_795_809_600, 0).expect("t")
        }
    );
}

/// Each process names its ancestors by the table's ppids, and the nearest of them that restarts what dies.
#[test]
fn ancestors_and_supervisor_from_the_table() {
    let rec = |pid: i64, ppid: i64, comm: &str| {
        json!({"pid": pid, "ppid": ppid, "pgid": null, "sid": null, "tty_nr": null, "uids": [0, 0, 0, 0], "gids": [],
            "user": null, "euser": null, "comm": {"text": comm}, "exe": null, "cmdline": [], "cwd": null,
            "state": null, "starttime_ticks": null, "start_time": null, "vsize_bytes": null, "rss_bytes": null,
            "threads": null, "nice": null, "oom_score": null, "oom_score_adj": null, "cgroups": [],
            "namespaces": {}, "loginuid": null, "sessionid": null, "sig_pnd": null, "sig_blk": null, "sig_ign": null,
            "sig_cgt": null, "limits": null, "stat_raw": null})
    };
    let doc = json!({"taken": "2026-11-27T20:00:00Z", "btime": 0, "clk_tck": 100, "page_size": 4096, "problems": [],
        "processes": [rec(1, 0, "systemd"), rec(50, 1, "sshd"), rec(60, 50, "bash"), rec(70, 60, "python3")]});
    let p = run(&serde_json::to_vec_pretty(&doc).expect("json"), &snap_entry());
    let of = |pid: i64| p.events.iter().find(|e| e.pid == Some(pid)).expect("event");
    assert_eq!(of(70).fields["ancestors"], json!(["bash (60)", "sshd (50)", "systemd (1)"]));
    assert_eq!(of(70).fields["supervisor"], json!("systemd"));
    assert_eq!(of(70).fields["supervisor_pid"], json!(1));
    assert_eq!(of(1).fields.get("ancestors"), None, "pid 1 has none");
    assert_eq!(of(1).fields.get("supervisor"), None);
}
