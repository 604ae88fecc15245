//! Cron parsers over Debian's real crontabs and anacrontab, a user crontab, a list-timers table, and the
//! typed cron jobs (parsed schedules) the findings use.

#[path = "parse_history_support.rs"]
mod support;

use coroner_report::sources::facts::{CronJob, Fact};
use coroner_schemas::{EventKind, Timestamp, Utc};
use serde_json::json;
use support::*;
use time::macros::datetime;

const MTIME: &str = "2026-11-27T20:10:02.000000Z";

/// The cron jobs a parse learned, in line order.
fn jobs(p: &coroner_report::sources::Parsed) -> Vec<&CronJob> {
    p.facts.iter().filter_map(|f| if let Fact::CronJob(j) = f { Some(j) } else { None }).collect()
}

fn cron(format: &str, name: &str, source: &str, account: Option<&str>) -> coroner_report::sources::Parsed {
    run(
        &fixture("cron", name),
        &entry(format, &format!("fs{source}"), source, account, Some(MTIME)),
    )
}

#[test]
fn system_crontab_golden() {
    let p = cron("system_crontab", "crontab", "/etc/crontab", None);
    insta::assert_json_snapshot!("etc_crontab", golden(&p));
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    assert_eq!(p.events.len(), 4);
    let weekly = &p.events[2];
    assert_eq!(weekly.kind, EventKind::CronJob);
    assert_eq!(weekly.fields["schedule"], json!("47 6 * * 7"));
    assert_eq!(weekly.fields["run_as"], json!("root"));
    assert_eq!(
        weekly.fields["command"],
        json!("test -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.weekly; }")
    );
    assert_eq!(weekly.fields["file"], json!("/etc/crontab"));
    assert_eq!(
        weekly.timestamp,
        Timestamp::Bounded {
            after: None,
            before: Utc::parse_rfc3339(MTIME)
        }
    );
    let s = &jobs(&p)[2];
    assert_eq!((s.origin.line, s.command.as_str()), (weekly.origin.line, weekly.fields["command"].as_str().unwrap_or("")));
    assert!(s.schedule.is_due(datetime!(2026-11-29 06:47 UTC)), "Sunday 06:47");
    assert!(!s.schedule.is_due(datetime!(2026-11-28 06:47 UTC)));
}

#[test]
fn cron_d_and_user_crontab() {
    let a = cron("system_crontab", "cron.d-anacron", "/etc/cron.d/anacron", None);
    assert_eq!(a.events.len(), 1);
    assert_eq!(a.events[0].fields["schedule"], json!("30 7-23 * * *"));
    let e = cron("system_crontab", "cron.d-e2scrub_all", "/etc/cron.d/e2scrub_all", None);
    assert_eq!(e.events.len(), 2);
    assert_eq!(
        e.events[1].fields["command"],
        json!("test -e /run/systemd/system || SERVICE_MODE=1 /sbin/e2scrub_all -A -r")
    );
    let u = cron(
        "user_crontab",
        "crontab-alice",
        "/var/spool/cron/crontabs/alice",
        Some("alice"),
    );
    insta::assert_json_snapshot!("crontab_alice", golden(&u));
    let [job] = u.events.as_slice() else { panic!("one job") };
    assert_eq!((job.fields["run_as"].to_json(), job.uid), (json!("alice"), Some(1000)));
    assert_eq!(job.fields["schedule"], json!("*/5 * * * *"));
    assert!(jobs(&u)[0].schedule.is_due(datetime!(2026-11-27 20:15 UTC)));
}

#[test]
fn anacrontab_golden() {
    let p = cron("anacrontab", "anacrontab", "/etc/anacrontab", None);
    insta::assert_json_snapshot!("anacrontab", golden(&p));
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    assert_eq!(p.events.len(), 3);
    assert_eq!(p.events[0].fields["period_days"], json!(1));
    assert_eq!(p.events[0].fields["delay_minutes"], json!(5));
    assert_eq!(p.events[2].fields["schedule"], json!("@monthly"));
    assert_eq!(p.events[2].fields["job_id"], json!("cron.monthly"));
    assert!(jobs(&p).is_empty(), "anacron periods are not cron minutes");
}

#[test]
fn list_timers_golden() {
    let p = cron(
        "systemd_timers",
        "list-timers-all.txt",
        "systemctl list-timers --all",
        None,
    );
    insta::assert_json_snapshot!("list_timers", golden(&p));
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    let jobs: Vec<_> = p.events.iter().filter(|e| e.kind == EventKind::CronJob).collect();
    let runs: Vec<_> = p.events.iter().filter(|e| e.kind == EventKind::CronRun).collect();
    assert_eq!((jobs.len(), runs.len()), (5, 4), "fstrim never ran");
    assert_eq!(jobs[4].fields["unit"], json!("fstrim.timer"));
    assert_eq!(runs[0].fields["unit"], json!("phpsessionclean.service"));
    assert_eq!(
        runs[0].timestamp,
        Timestamp::Exact {
            utc: Utc::parse_rfc3339("2026-11-27T21:09:01Z").expect("t")
        }
    );
}

#[test]
fn hostile_crontabs() {
    let e = entry("system_crontab", "fs/etc/cron.d/bad", "/etc/cron.d/bad", None, None);
    let p = run(
        b"CRON_TZ=Europe/Berlin\n61 * * * * root x\n* * *\n@often root y\n\xff\xfe garbage\n0 1 * * * root ok\n",
        &e,
    );
    assert_eq!(p.events.len(), 3, "bad schedules still show their line: {:?}", p.events);
    assert_eq!(p.problems.len(), 4, "{:?}", p.problems);
    assert_eq!(p.events[2].fields["cron_tz"], json!("Europe/Berlin"));
    assert_eq!(p.events[2].timestamp, Timestamp::Unknown);
    let t = entry("systemd_timers", "cmd/x", "x", None, None);
    assert_eq!(run(b"no header here\n", &t).problems.len(), 1);
    let _ = run(&[b'N'; 100_000], &t);
}
