//! Goldens and exact assertions for the audit.log parser over real auditd output (fixtures/audit).

use std::path::PathBuf;

use coroner_report::sources::{audit, parse_entry, Parsed, SourceCtx};
use coroner_schemas::accounts::Accounts;
use coroner_schemas::manifest::{Entry, Manifest};
use coroner_schemas::{Event, EventKind};

fn fixture(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/audit").join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn manifest() -> Manifest {
    serde_json::from_value(serde_json::json!({
        "schema_version": 1, "bundle_name": "test.tar.gz",
        "host": {"hostname": "test"},
        "collector": {"name": "coroner-collect", "version": "0", "started": "2026-11-27T20:00:00.000000Z",
            "finished": "2026-11-27T20:00:01.000000Z", "argv": [], "uid": 0, "euid": 0, "live": true,
            "signer_fingerprint": "SHA256:x", "ephemeral_key": true,
            "options": {"cores": "meta", "core_cap_bytes": 0, "max_file_bytes": 0, "max_total_bytes": 0,
                "journal_window_seconds": 0, "command_timeout_ms": 0, "includes": [], "excludes": [], "gentle": false}},
        "entries": [], "problems": []
    }))
    .expect("manifest")
}

fn entry() -> Entry {
    serde_json::from_value(serde_json::json!({
        "path": "fs/var/log/audit/audit.log", "source": "/var/log/audit/audit.log", "category": "audit",
        "format": "audit_log", "size": 0, "status": {"kind": "ok"}
    }))
    .expect("entry")
}

fn accounts() -> Accounts {
    Accounts::parse(&fixture("passwd"), &fixture("group"))
}

fn run(raw: &[u8], acc: &Accounts) -> Parsed {
    let m = manifest();
    let e = entry();
    let ctx = SourceCtx::new(&e, &m, acc);
    parse_entry(raw, &ctx)
}

/// One line per event: what a reviewer needs to see in a golden without the raw bytes.
fn summary(p: &Parsed) -> String {
    let mut s = String::new();
    for e in &p.events {
        let mut f: Vec<String> = Vec::new();
        for k in [
            "syscall", "signal", "signal_name", "target_pid", "target_arg", "target_comm", "target_uid", "target_count",
            "auid", "auser", "ses", "exe", "argv", "cwd", "command", "unit", "record_type", "user_from", "success",
        ] {
            if let Some(v) = e.fields.get(k) {
                f.push(format!("{k}={v}"));
            }
        }
        s.push_str(&format!(
            "{} {:?} {:?} pid={:?} ppid={:?} uid={:?} user={:?} comm={:?} | {} | {}\n",
            e.origin.line.unwrap_or(0),
            e.timestamp.sort_key().map(|t| t.rfc3339()).unwrap_or_default(),
            e.kind,
            e.pid,
            e.ppid,
            e.uid,
            e.user,
            e.comm,
            e.message,
            f.join(" ")
        ));
    }
    for pr in &p.problems {
        s.push_str(&format!("PROBLEM line {:?}: {}\n", pr.line, pr.message));
    }
    s
}

fn kills(p: &Parsed) -> Vec<&Event> {
    p.events.iter().filter(|e| e.kind == EventKind::SignalSent).collect()
}

fn find_kill(p: &Parsed, target: i64) -> &Event {
    kills(p)
        .into_iter()
        .find(|e| e.field_i64("target_pid") == Some(target))
        .unwrap_or_else(|| panic!("no signal_sent to {target}"))
}

#[test]
fn enriched_golden() {
    let p = run(&fixture("enriched.log"), &accounts());
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    insta::assert_snapshot!("enriched_summary", summary(&p));
}

#[test]
fn raw_golden() {
    let p = run(&fixture("raw.log"), &accounts());
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    insta::assert_snapshot!("raw_summary", summary(&p));
}

#[test]
fn staged_root_kill9_is_exact() {
    let p = run(&fixture("enriched.log"), &accounts());
    let e = find_kill(&p, 15830);
    assert_eq!(e.pid, Some(15829));
    assert_eq!(e.uid, Some(0));
    assert_eq!(e.user.as_deref(), Some("root"));
    assert_eq!(e.field_i64("auid"), Some(0));
    assert_eq!(e.field_i64("signal"), Some(9));
    assert_eq!(e.field_str("signal_name"), Some("SIGKILL"));
    assert_eq!(e.field_str("syscall"), Some("kill"));
    // Killed right after the fork, before it exec'd sleep: the kernel still saw the parent's comm.
    assert_eq!(e.field_str("target_comm"), Some("bash"));
    assert_eq!(e.field_str("exe"), Some("/usr/bin/bash"));
    insta::assert_json_snapshot!("root_kill9_event", e);
}

#[test]
fn staged_nobody_kill9_names_the_user_from_passwd() {
    let p = run(&fixture("enriched.log"), &accounts());
    let e = find_kill(&p, 15832);
    assert_eq!(e.pid, Some(15831));
    assert_eq!(e.uid, Some(65534));
    assert_eq!(e.user.as_deref(), Some("nobody"));
    assert_eq!(e.field_i64("auid"), Some(0));
    assert_eq!(e.field_str("auser"), Some("root"));
    assert_eq!(e.field_i64("signal"), Some(9));
    assert!(!e.fields.contains_key("user_from"));
}

#[test]
fn enriched_names_are_the_fallback_when_passwd_is_missing() {
    let p = run(&fixture("enriched.log"), &Accounts::default());
    let e = find_kill(&p, 15832);
    assert_eq!(e.user.as_deref(), Some("nobody"));
    assert_eq!(e.field_str("user_from"), Some("enriched"));
    // RAW has no names to fall back on: none are invented.
    let p = run(&fixture("raw.log"), &Accounts::default());
    let e = find_kill(&p, 15919);
    assert_eq!(e.user, None);
    assert_eq!(e.uid, Some(65534));
}

#[test]
fn group_kill_keeps_the_negative_argument_and_names_each_target() {
    let p = run(&fixture("enriched.log"), &accounts());
    let group: Vec<&Event> = kills(&p).into_iter().filter(|e| e.field_i64("target_arg") == Some(-15836)).collect();
    assert_eq!(group.len(), 3, "setsid sh + two sleeps");
    let mut targets: Vec<i64> = group.iter().filter_map(|e| e.field_i64("target_pid")).collect();
    targets.sort_unstable();
    assert_eq!(targets[0], 15836);
    assert!(group.iter().all(|e| e.field_i64("signal") == Some(15) && e.field_i64("target_count") == Some(3)));
    assert!(group[0].message.contains("process group"), "{}", group[0].message);
}

#[test]
fn pidfd_target_comes_from_obj_pid_only() {
    let p = run(&fixture("enriched.log"), &accounts());
    let e = find_kill(&p, 15843);
    assert_eq!(e.field_str("syscall"), Some("pidfd_send_signal"));
    assert_eq!(e.field_i64("signal"), Some(9));
    assert_eq!(e.field_i64("pidfd"), Some(3));
    assert!(!e.fields.contains_key("target_arg"));
}

#[test]
fn broadcast_and_failed_kills() {
    let p = run(&fixture("enriched.log"), &accounts());
    let all: Vec<&Event> = kills(&p).into_iter().filter(|e| e.field_i64("target_arg") == Some(-1)).collect();
    assert!(all.len() > 10, "kill(-1, 0) reaches every process: {}", all.len());
    assert!(all.iter().all(|e| e.field_i64("signal") == Some(0) && e.uid == Some(65534)));
    let failed = find_kill(&p, 4_194_000);
    assert_eq!(failed.fields.get("success").map(|v| v.to_json()), Some(serde_json::json!(false)));
    assert_eq!(failed.field_i64("exit"), Some(-3));
    let q = find_kill(&p, 15840);
    assert_eq!((q.field_str("syscall"), q.field_i64("signal")), (Some("rt_sigqueueinfo"), Some(10)));
}

#[test]
fn crash_and_exec() {
    let p = run(&fixture("enriched.log"), &accounts());
    let crash: Vec<&Event> = p.events.iter().filter(|e| e.kind == EventKind::ProcessCrash).collect();
    assert_eq!(crash.len(), 1);
    assert_eq!(crash[0].field_i64("signal"), Some(11));
    assert_eq!(crash[0].field_str("signal_name"), Some("SIGSEGV"));
    let execs: Vec<&Event> = p.events.iter().filter(|e| e.kind == EventKind::Exec).collect();
    let sleep = execs.iter().find(|e| e.fields["argv"] == serde_json::json!(["sleep", "300"])).expect("sleep 300 exec");
    assert_eq!(sleep.field_str("exe"), Some("/usr/bin/sleep"));
    assert!(sleep.field_str("cwd").is_some());
}

/// RAW and ENRICHED forms of the same records must read the same, except the names taken from the tail.
#[test]
fn raw_and_enriched_agree() {
    let acc = accounts();
    let a = run(&fixture("enriched.log"), &acc);
    let b = run(&fixture("stripped.log"), &acc);
    assert_eq!(a.events.len(), b.events.len());
    for (x, y) in a.events.iter().zip(&b.events) {
        let mut x = x.clone();
        let mut y = y.clone();
        x.raw = Default::default();
        y.raw = Default::default();
        x.origin.offset = None;
        y.origin.offset = None;
        assert_eq!(x, y);
    }
}

#[test]
fn hostile_lines_become_problems() {
    let mut raw = fixture("enriched.log");
    raw.extend_from_slice(b"garbage line \xff\xfe\n");
    raw.extend_from_slice(b"type=SYSCALL msg=audit(17958.1:1\n");
    raw.extend_from_slice(b"node=web01 type=SYSCALL msg=audit(1795810000.000:9): arch=c000003e syscall=62 success=yes exit=0 a0=fffffffe a1=40 a2=0 a3=0 items=0 ppid=1 pid=2 auid=4294967295 uid=0 gid=0 comm=6D7920636F6D6D20292028 exe=\"/x\" key=(null)\n");
    raw.extend_from_slice(&[b'x'; 1 << 20]);
    raw.extend_from_slice(b"\n");
    raw.extend_from_slice(b"type=EXECVE msg=audit(1795810000.000:10): argc=99999999999 a99999999=41 a0=\"ok\"\n");
    raw.extend_from_slice(b"type=SYSCALL msg=audit(1795810000.000:11): arch=c000003e syscall=59 success=yes");
    let p = run(&raw, &accounts());
    let lines: Vec<u64> = p.problems.iter().filter_map(|x| x.line).collect();
    assert_eq!(lines, vec![426, 427, 429, 431], "{:?}", p.problems);
    assert!(p.problems[3].message.contains("no newline"));
    let e = p.events.iter().find(|e| e.field_str("node") == Some("web01")).expect("node event");
    assert_eq!(e.field_i64("target_pid"), Some(-2));
    assert_eq!(e.field_str("signal_name"), Some("SIGRTMAX"));
    assert_eq!(e.comm.as_deref(), Some("my comm ) ("));
    assert!(p.events.iter().any(|e| e.origin.line == Some(431)));
}

#[test]
fn empty_input() {
    let p = audit::parse(b"", &SourceCtx::new(&entry(), &manifest(), &Accounts::default()));
    assert!(p.events.is_empty() && p.problems.is_empty());
}

/// A LOGIN record travels with the SYSCALL of the write to /proc/self/loginuid: the event is the login uid
/// change (old and new auid and session), with the writing process as its subject.
#[test]
fn login_records_are_login_events_not_their_syscall() {
    for name in ["raw.log", "enriched.log"] {
        let p = run(&fixture(name), &accounts());
        let logins: Vec<&Event> = p.events.iter().filter(|e| e.field_str("record_type") == Some("LOGIN")).collect();
        assert_eq!(logins.len(), 1, "{name}");
        let e = logins[0];
        assert!(e.message.starts_with("login uid set: auid root ses "), "{name}: {}", e.message);
        assert_eq!(e.comm.as_deref(), Some("bash"), "{name}: subject from the SYSCALL record");
        assert!(e.ppid.is_some(), "{name}");
        assert_eq!(e.field_i64("old_auid"), Some(4294967295), "{name}: {:?}", e.fields);
        assert_eq!(e.field_i64("old_ses"), Some(4294967295), "{name}");
        assert_eq!(e.field_i64("auid"), Some(0), "{name}");
        assert_eq!(e.field_str("tty"), Some("(none)"), "{name}");
        assert_eq!(e.field_str("res"), Some("1"), "{name}");
        assert_eq!(e.field_str("exe"), Some("/usr/bin/bash"), "{name}");
    }
}
