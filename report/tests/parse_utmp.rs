//! Goldens and assertions for wtmp/btmp/utmp/lastlog over records built with util-linux `utmpdump -r`
//! (fixtures/utmp/make.sh).

use std::path::PathBuf;

use coroner_report::sources::{parse_entry, Parsed, SourceCtx};
use coroner_schemas::accounts::Accounts;
use coroner_schemas::manifest::{Entry, Manifest};
use coroner_schemas::{EventKind, Source};

fn fixture(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/utmp").join(name);
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

fn entry(source: &str, format: &str) -> Entry {
    let path = if source.starts_with("/var") { format!("fs{source}") } else { format!("live/logins/{source}") };
    serde_json::from_value(serde_json::json!({
        "path": path, "source": source, "category": "logins", "format": format, "size": 0, "status": {"kind": "ok"}
    }))
    .expect("entry")
}

fn accounts() -> Accounts {
    Accounts::parse(
        b"root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\nbob:x:1001:1001::/home/bob:/bin/sh\n",
        b"",
    )
}

fn run(file: &str, source: &str, format: &str) -> Parsed {
    let m = manifest();
    let e = entry(source, format);
    let acc = accounts();
    let ctx = SourceCtx::new(&e, &m, &acc);
    parse_entry(&fixture(file), &ctx)
}

fn summary(p: &Parsed) -> String {
    let mut s = String::new();
    for e in &p.events {
        let f: Vec<String> = e.fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
        s.push_str(&format!(
            "@{} {} {:?} {:?} pid={:?} uid={:?} user={:?} | {} | {}\n",
            e.origin.offset.unwrap_or(0),
            e.timestamp.sort_key().map(|t| t.rfc3339()).unwrap_or_default(),
            e.source,
            e.kind,
            e.pid,
            e.uid,
            e.user,
            e.message,
            f.join(" ")
        ));
    }
    for pr in &p.problems {
        s.push_str(&format!("PROBLEM offset {:?}: {}\n", pr.offset, pr.message));
    }
    s
}

#[test]
fn wtmp_golden_and_sessions() {
    let p = run("wtmp", "/var/log/wtmp", "utmp");
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    insta::assert_snapshot!("wtmp", summary(&p));
    let logins: Vec<_> = p.events.iter().filter(|e| e.kind == EventKind::Login).collect();
    let ends: Vec<(&str, Option<&str>)> =
        logins.iter().map(|e| (e.user.as_deref().unwrap_or(""), e.field_str("session_end"))).collect();
    assert_eq!(
        ends,
        vec![
            ("alice", Some("2026-11-25T09:30:00.654321Z")),
            ("bob", Some("down")),
            ("root", Some("crash")),
            ("alice", Some("still logged in")),
        ]
    );
    assert_eq!(logins[0].field_str("addr"), Some("203.0.113.7"));
    assert_eq!(logins[1].field_str("addr"), Some("2001:db8::1"));
    assert_eq!(logins[0].uid, Some(1000));
    assert_eq!(logins[0].field_i64("session_seconds"), Some(1800));
    let logout = p.events.iter().find(|e| e.kind == EventKind::Logout).expect("logout");
    assert_eq!(logout.user.as_deref(), Some("alice"), "logout named from its login");
    assert_eq!(p.events.iter().filter(|e| e.kind == EventKind::Boot).count(), 3);
    assert_eq!(p.events.iter().filter(|e| e.kind == EventKind::Shutdown).count(), 1);
    assert!(p.events.iter().all(|e| e.source == Source::Wtmp));
    assert!(p.events.iter().any(|e| e.field_str("ut_type") == Some("UNKNOWN(42)")));
}

/// `last` prints nothing at all for a wtmp whose final record is torn; every whole record must still be read.
#[test]
fn torn_final_record_is_a_problem_not_silence() {
    let whole = run("wtmp", "/var/log/wtmp", "utmp");
    let p = run("wtmp-torn", "/var/log/wtmp", "utmp");
    assert_eq!(p.events, whole.events);
    assert_eq!(p.problems.len(), 1);
    assert_eq!(p.problems[0].offset, Some(5376));
    assert!(p.problems[0].message.contains("100 of 384 bytes"), "{}", p.problems[0].message);
}

#[test]
fn zeroed_record_is_skipped_with_a_problem() {
    let p = run("wtmp-zeroed", "/var/log/wtmp", "utmp");
    assert_eq!(p.problems.len(), 1);
    assert_eq!(p.problems[0].message, "zeroed record at offset 1536");
    assert_eq!(p.events.len(), run("wtmp", "/var/log/wtmp", "utmp").events.len());
    insta::assert_snapshot!("wtmp_zeroed", summary(&p));
}

#[test]
fn btmp_hostile_names_are_kept() {
    let p = run("btmp", "/var/log/btmp", "utmp");
    insta::assert_snapshot!("btmp", summary(&p));
    assert!(p.events.iter().all(|e| e.kind == EventKind::LoginFailed && e.source == Source::Btmp));
    let users: Vec<&str> = p.events.iter().filter_map(|e| e.user.as_deref()).collect();
    assert!(users.contains(&"<script>alert(1)</script>"), "{users:?}");
    assert!(users.contains(&"](x)"), "{users:?}");
    let bad = p.events.iter().find(|e| e.user.as_deref().is_some_and(|u| u.contains("evil"))).expect("non-UTF-8 user");
    assert!(!bad.raw.is_exact_text(), "raw keeps the exact non-UTF-8 bytes");
    assert_eq!(&bad.raw.to_bytes()[44..50], b"\xff\xfeevil");
    assert_eq!(bad.field_str("addr"), Some("2001:db8::66"));
}

#[test]
fn utmp_current_sessions() {
    let p = run("utmp", "/var/run/utmp", "utmp");
    insta::assert_snapshot!("utmp", summary(&p));
    let login = p.events.iter().find(|e| e.kind == EventKind::Login).expect("login");
    assert_eq!(login.source, Source::Utmp);
    assert_eq!(login.fields.get("current").map(|v| v.to_json()), Some(serde_json::json!(true)));
}

#[test]
fn lastlog_raw_and_json_agree() {
    let raw = run("lastlog", "/var/log/lastlog", "lastlog");
    let json = run("lastlog.json", "lastlog.json", "lastlog_json");
    assert!(raw.problems.is_empty() && json.problems.is_empty());
    insta::assert_snapshot!("lastlog", summary(&raw));
    assert_eq!(raw.events.len(), 2);
    let strip = |p: &Parsed| p.events.iter().map(|e| (e.uid, e.timestamp.clone(), e.message.clone())).collect::<Vec<_>>();
    assert_eq!(strip(&raw), strip(&json));
    assert_eq!(raw.events[0].user.as_deref(), Some("root"));
    assert_eq!(raw.events[1].uid, Some(1000));
    assert_eq!(raw.events[1].fields.get("lastlog").map(|v| v.to_json()), Some(serde_json::json!(true)));
}

#[test]
fn empty_and_garbage_inputs() {
    let p = run("host-wtmp-empty", "/var/log/wtmp", "utmp");
    assert!(p.events.is_empty() && p.problems.is_empty());
    let m = manifest();
    let acc = accounts();
    let e = entry("lastlog.json", "lastlog_json");
    let ctx = SourceCtx::new(&e, &m, &acc);
    let p = parse_entry(b"{not json", &ctx);
    assert_eq!(p.problems.len(), 1);
    let p = parse_entry(br#"{"record_size":292,"records":[{"uid":1,"record_b64":"!!"},{"uid":2,"record_b64":"AAAA"}]}"#, &ctx);
    assert_eq!(p.problems.len(), 2);
    let e = entry("/var/log/wtmp", "utmp");
    let ctx = SourceCtx::new(&e, &m, &acc);
    let garbage: Vec<u8> = (0..384 * 3 + 7).map(|i| (i * 131 % 251) as u8).collect();
    let p = parse_entry(&garbage, &ctx);
    assert_eq!(p.events.len(), 3);
    assert_eq!(p.problems.len(), 1);
}
