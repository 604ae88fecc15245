//! `/proc/PID/limits` (real, from a collector bundle) and limits.conf lines.

#[path = "parse_history_support.rs"]
mod support;

use coroner_report::sources::limits::{parse_limits, Limit};
use serde_json::json;
use support::*;

#[test]
fn proc_limits_golden() {
    let raw = fixture("proc", "limits-pid1.txt");
    let p = run(
        &raw,
        &entry("proc_limits", "live/proc/1/limits", "/proc/1/limits", None, None),
    );
    insta::assert_json_snapshot!("limits_pid1", golden(&p));
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    assert_eq!(p.events.len(), 16);
    let core = p
        .events
        .iter()
        .find(|e| e.fields["name"] == json!("rlimit:Max core file size"))
        .expect("core");
    assert_eq!(
        (core.pid, core.fields["soft"].to_json(), core.fields["hard"].to_json()),
        (Some(1), json!(0), json!(null))
    );
    let text = String::from_utf8(raw).expect("utf8");
    let l = parse_limits(&text);
    assert_eq!(l.len(), 16);
    assert!(l.contains(&Limit {
        name: "Max core file size".into(),
        soft: Some(0),
        hard: None,
        units: "bytes".into()
    }));
}

#[test]
fn limits_conf() {
    let e = entry(
        "limits_conf",
        "fs/etc/security/limits.conf",
        "/etc/security/limits.conf",
        None,
        None,
    );
    let stock = run(&fixture("settings", "limits.conf"), &e);
    assert!(
        stock.events.is_empty() && stock.problems.is_empty(),
        "Debian's file is all comments"
    );
    let p = run(&fixture("settings", "limits.d-f-core.conf"), &e);
    insta::assert_json_snapshot!("limits_d_core", golden(&p));
    assert_eq!(p.events.len(), 3);
    assert_eq!(p.events[0].fields["name"], json!("limits.conf:*:hard:core"));
    assert_eq!(p.events[0].fields["value"], json!("0"));
    assert_eq!(p.problems.len(), 1);
}
