//! Settings parsers over real captures (sysctl.json, cgroups, auditctl -l/-s) and a systemctl show document.

#[path = "parse_history_support.rs"]
mod support;

use serde_json::json;
use support::*;

fn set(format: &str, name: &str) -> coroner_report::sources::Parsed {
    run(
        &fixture("settings", name),
        &entry(format, &format!("live/settings/{name}"), name, None, None),
    )
}

#[test]
fn sysctl_golden() {
    let p = set("sysctl_json", "sysctl.json");
    insta::assert_json_snapshot!("sysctl", golden(&p));
    assert_eq!(p.events.len(), 18, "every key but _errors");
    let cp = p
        .events
        .iter()
        .find(|e| e.fields["name"] == json!("kernel.core_pattern"))
        .expect("core_pattern");
    assert_eq!(cp.fields["value"], json!("core"));
    let sysrq = p
        .events
        .iter()
        .find(|e| e.fields["name"] == json!("kernel.sysrq"))
        .expect("sysrq");
    assert_eq!(sysrq.fields["value"], json!(null));
    assert!(sysrq.fields["error"]
        .as_str()
        .is_some_and(|s| s.contains("No such file")));
    assert_eq!(
        cp.timestamp,
        coroner_schemas::Timestamp::Exact {
            utc: coroner_schemas::Utc::parse_rfc3339(FINISHED).expect("t")
        }
    );
}

#[test]
fn cgroups_golden() {
    let p = set("cgroups_json", "cgroups-memory.json");
    insta::assert_json_snapshot!("cgroups", golden(&p));
    let inc = p
        .events
        .iter()
        .find(|e| e.fields["cgroup"] == json!("/coroner-incident-19789"))
        .expect("incident cgroup");
    assert_eq!(inc.fields["oom_kill"], json!(1));
    assert_eq!(inc.fields["failcnt"], json!(96));
    assert_eq!(inc.fields["limit"], json!(67_108_864));
    assert_eq!(inc.fields["usage"], json!(184_320));
    assert_eq!(p.events.len(), 12);
}

#[test]
fn audit_rules_and_status() {
    let none = set("audit_rules", "auditctl-l-norules.txt");
    assert_eq!(none.events[0].fields["covers_kill"], json!(false));
    assert_eq!(none.events[0].fields["rules"], json!([]));
    let k = set("audit_rules", "auditctl-l-kill.txt");
    insta::assert_json_snapshot!("audit_rules_kill", golden(&k));
    assert_eq!(k.events[0].fields["covers_kill"], json!(true));
    assert_eq!(k.events[0].fields["kill_rules"].as_array().map(Vec::len), Some(2));
    assert_eq!(k.events[0].fields["rules"].as_array().map(Vec::len), Some(4));
    let s = set("audit_status", "auditctl-s.txt");
    insta::assert_json_snapshot!("audit_status", golden(&s));
    assert_eq!(s.events[0].fields["enabled"], json!(1));
    assert_eq!(s.events[0].fields["pid"], json!(0));
    assert_eq!(s.events[0].fields["loginuid_immutable"], json!("0 unlocked"));
}

#[test]
fn systemd_show_golden() {
    let p = set("systemd_show_json", "systemd-show.json");
    insta::assert_json_snapshot!("systemd_show", golden(&p));
    let v = p
        .events
        .iter()
        .find(|e| e.fields["unit"] == json!("victim.service"))
        .expect("victim");
    assert_eq!(
        (v.fields["result"].to_json(), v.fields["exec_main_status"].to_json()),
        (json!("signal"), json!("9"))
    );
    assert_eq!(v.fields["n_restarts"], json!(3));
    assert_eq!(v.fields["limit_core"], json!("0"));
}

#[test]
fn hostile_settings() {
    for fmt in ["sysctl_json", "cgroups_json", "systemd_show_json"] {
        let e = entry(fmt, "live/x", "x", None, None);
        assert_eq!(run(b"{not json", &e).problems.len(), 1, "{fmt}");
        let _ = run(b"[1,2,{\"memory.events\": 5}]", &e);
    }
    let lossy = run(
        br#"{"_lossy": true, "a.service": {"Result": "success"}}"#,
        &entry(
            "systemd_show_json",
            "cmd/systemctl-show.json",
            "systemctl show",
            None,
            None,
        ),
    );
    assert_eq!((lossy.events.len(), lossy.problems.len()), (1, 1));
    let e = entry("audit_rules", "cmd/auditctl-l.txt", "auditctl -l", None, None);
    let p = run(b"Error sending rule list request (Operation not permitted)\n", &e);
    assert_eq!(
        (p.problems.len(), p.events[0].fields["covers_kill"].to_json()),
        (1, json!(false))
    );
}

/// Every setting's `value` is text (or null), whatever the source: a field that is a number in some rows and
/// a string in others breaks a timeline tool's index mapping.
#[test]
fn setting_values_are_always_text() {
    let all = [
        ("sysctl_json", "sysctl.json"),
        ("cgroups_json", "cgroups-memory.json"),
        ("audit_rules", "auditctl-l-kill.txt"),
        ("audit_rules", "auditctl-l-norules.txt"),
        ("audit_status", "auditctl-s.txt"),
        ("systemd_show_json", "systemd-show.json"),
    ];
    let mut seen = 0;
    for (format, name) in all {
        for e in set(format, name).events {
            let v = e.fields.get("value").expect("value");
            assert!(v.is_null() || v.as_str().is_some(), "{name}: {:?} = {v:?}", e.field_str("name"));
            seen += 1;
        }
    }
    assert!(seen > 20, "{seen}");
}

/// The JSON fixture is byte for byte what the collector writes from the `systemctl show` text beside it (the
/// same schemas code turns the one into the other), so the reader is tested on the collector's real output
/// form although no systemd runs here to produce the text.
#[test]
fn systemd_show_fixture_is_the_collectors_output() {
    let text = fixture("settings", "systemd-show.txt");
    let written = coroner_schemas::systemd::show_to_json(&text);
    assert_eq!(String::from_utf8_lossy(&written), String::from_utf8_lossy(&fixture("settings", "systemd-show.json")));
}
