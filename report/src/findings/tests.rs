//! Findings from hand-built timelines shaped as the parsers emit them (field conventions in
//! schemas/src/event.rs). Each test states the death it stages and checks cause, killer and confidence.

use coroner_schemas::finding::{Cause, Confidence};
use coroner_schemas::manifest::{CollectOptions, CollectorInfo, CorePolicy, HostFacts, Manifest};
use coroner_schemas::{Event, EventKind, Origin, Source, Text, Timestamp, Utc};
use serde_json::json;

use super::{analyze, why, WhyQuery};
use crate::sources::cron::Schedule;
use crate::sources::facts::{CoreLimit, CronJob, Fact, HostFacts as Facts, KillAudit};

const T0: i64 = 1_764_270_000; // 2025-11-27T19:00:00Z

fn at(s: i64) -> Utc {
    Utc::from_unix(T0 + s, 0).expect("time")
}

fn manifest() -> Manifest {
    let opts = CollectOptions {
        root: None,
        cores: CorePolicy::Full,
        core_cap_bytes: 1,
        max_file_bytes: 1,
        max_total_bytes: 1,
        journal_window_seconds: 1,
        command_timeout_ms: 1,
        includes: vec![],
        excludes: vec![],
        gentle: true,
        redact: false,
    };
    Manifest {
        schema_version: 1,
        bundle_name: "b.tar.gz".into(),
        host: HostFacts {
            hostname: "web1".into(),
            machine_id: None,
            boot_id: None,
            kernel_release: None,
            kernel_version: None,
            arch: None,
            boot_time: None,
            uptime_seconds: None,
            timezone: None,
            utc_offset_seconds: Some(0),
            os_pretty_name: None,
            systemd: Some(false),
        },
        collector: CollectorInfo {
            name: "coroner-collect".into(),
            version: "0".into(),
            started: at(1000),
            finished: at(1001),
            argv: vec![],
            options: opts,
            uid: 0,
            euid: 0,
            live: true,
            signer_fingerprint: "SHA256:x".into(),
            ephemeral_key: true,
        },
        clock: None,
        entries: vec![],
        problems: vec![],
    }
}

struct Ev(Event);

fn ev(src: Source, kind: EventKind, t: i64, entry: &str, line: u64) -> Ev {
    Ev(Event::new(
        Timestamp::Exact { utc: at(t) },
        src,
        kind,
        format!("{kind:?}"),
        Text::from_str(&format!("raw {entry}:{line}")),
        Origin { entry: entry.into(), line: Some(line), offset: None },
    ))
}

impl Ev {
    fn pid(mut self, p: i64) -> Self {
        self.0.pid = Some(p);
        self
    }
    fn ppid(mut self, p: i64) -> Self {
        self.0.ppid = Some(p);
        self
    }
    fn uid(mut self, u: u32, name: &str) -> Self {
        self.0.uid = Some(u);
        self.0.user = Some(name.into());
        self
    }
    fn comm(mut self, c: &str) -> Self {
        self.0.comm = Some(c.into());
        self
    }
    fn f(mut self, k: &'static str, v: serde_json::Value) -> Self {
        self.0.fields.insert(k.into(), v);
        self
    }
    fn ts(mut self, t: Timestamp) -> Self {
        self.0.timestamp = t;
        self
    }
}

fn run(evs: Vec<Ev>) -> coroner_schemas::FindingsDoc {
    run_with(evs, &Facts::default())
}

fn run_with(evs: Vec<Ev>, facts: &Facts) -> coroner_schemas::FindingsDoc {
    let mut events: Vec<Event> = evs.into_iter().map(|e| e.0).collect();
    events.sort_by(|a, b| a.cmp_timeline(b));
    analyze(&manifest(), &events, facts, true)
}

const AUDIT: &str = "fs/var/log/audit/audit.log";
const KMSG: &str = "live/kernel/kmsg.txt";

#[allow(clippy::too_many_arguments)] // one argument per field of the audit record it stands for
fn audit_kill(t: i64, line: u64, sender: i64, ppid: i64, comm: &str, exe: &str, target: i64, sig: i64) -> Ev {
    ev(Source::Audit, EventKind::SignalSent, t, AUDIT, line)
        .pid(sender)
        .ppid(ppid)
        .comm(comm)
        .uid(0, "root")
        .f("exe", json!(exe))
        .f("target_pid", json!(target))
        .f("target_comm", json!("victim"))
        .f("target_uid", json!(65534))
        .f("signal", json!(sig))
        .f("syscall", json!("kill"))
        .f("auid", json!(1000))
        .f("auser", json!("alice"))
        .f("ses", json!(3))
        .f("success", json!(true))
}

#[test]
fn memcg_oom_kill_is_certain_with_cgroup_and_top_consumers() {
    let doc = run(vec![
        ev(Source::Kmsg, EventKind::OomTaskDump, 10, KMSG, 2).pid(4242).comm("hog").f("rss_pages", json!(20000)).f("name", json!("hog")),
        ev(Source::Kmsg, EventKind::OomTaskDump, 10, KMSG, 3).pid(4000).comm("sh").f("rss_pages", json!(100)).f("name", json!("sh")),
        ev(Source::Kmsg, EventKind::OomKill, 10, KMSG, 4)
            .pid(4242)
            .comm("hog")
            .uid(0, "root")
            .f("global", json!(false))
            .f("oom_memcg", json!("/coroner-t"))
            .f("task_memcg", json!("/coroner-t"))
            .f("anon_rss_kb", json!(80000))
            .f("oom_score_adj", json!(0)),
    ]);
    assert_eq!(doc.findings.len(), 1, "{doc:#?}");
    let f = &doc.findings[0];
    assert_eq!((f.cause, f.confidence), (Cause::OomKill, Confidence::Certain));
    assert_eq!(f.victim.pid, Some(4242));
    assert_eq!(f.victim.cgroup.as_deref(), Some("/coroner-t"));
    assert_eq!(f.signal.as_ref().map(|s| s.number), Some(9));
    assert_eq!(f.details["top_consumers"][0]["pid"], json!(4242));
    assert!(f.reasoning.contains("/coroner-t"), "{}", f.reasoning);
}

#[test]
fn audited_kill_names_sender_chain_and_cron_via() {
    let doc = run(vec![
        ev(Source::Audit, EventKind::Exec, 5, AUDIT, 1).pid(300).ppid(1).comm("cron").f("argv", json!(["/usr/sbin/cron"])),
        ev(Source::Audit, EventKind::Exec, 20, AUDIT, 2).pid(310).ppid(300).comm("sh").f("argv", json!(["/bin/sh", "-c", "pkill -KILL victim"])),
        ev(Source::Audit, EventKind::Exec, 20, AUDIT, 3).pid(311).ppid(310).comm("pkill").f("argv", json!(["pkill", "-KILL", "victim"])),
        audit_kill(21, 4, 311, 310, "pkill", "/usr/bin/pgrep", 4242, 9),
    ]);
    let f = doc.findings.iter().find(|f| f.victim.pid == Some(4242)).expect("finding for 4242");
    assert_eq!((f.cause, f.confidence), (Cause::Signal, Confidence::Certain));
    let k = f.killer.as_ref().expect("killer");
    assert_eq!(k.pid, Some(311));
    assert_eq!(k.parent_chain, vec!["sh".to_string(), "cron".to_string(), "pid 1".to_string()]);
    assert_eq!(k.command.as_deref(), Some("pkill -KILL victim"));
    assert_eq!(k.auser.as_deref(), Some("alice"));
    assert_eq!(f.via.as_deref(), Some("cron"));
    assert_eq!(f.signal.as_ref().map(|s| s.name.as_str()), Some("SIGKILL"));
    // The chain and the command rest on the three exec records, which are cited. Regression: they were not.
    let lines: Vec<Option<u64>> = f.evidence.iter().map(|r| r.origin.line).collect();
    for line in [1, 2, 3, 4] {
        assert!(lines.contains(&Some(line)), "record at line {line} not cited: {:#?}", f.evidence);
    }
}

#[test]
fn masquerading_sender_is_named_by_its_executable() {
    let doc = run(vec![audit_kill(21, 4, 500, 1, "kworker/0:1", "/usr/bin/python3.11", 4242, 15)]);
    let f = &doc.findings[0];
    let k = f.killer.as_ref().expect("killer");
    assert_eq!(k.exe.as_deref(), Some("/usr/bin/python3.11"));
    // A comm with '/' is no file name: proof of a rename after exec.
    assert!(f.reasoning.contains("renamed after exec"), "{}", f.reasoning);
    assert_eq!(f.signal.as_ref().map(|s| s.number), Some(15));
}

/// What a comm unlike the executable's name is said to mean follows the records there are: an exec record whose
/// argv[0] and paths match nothing (a rename), the kill's PROCTITLE naming the script (a #! script), and no
/// record of the arguments at all (not shown either way).
#[test]
fn a_comm_unlike_the_executable_is_explained_only_as_far_as_records_go() {
    let exec = ev(Source::Audit, EventKind::Exec, 20, AUDIT, 1)
        .pid(500)
        .ppid(1)
        .comm("python3")
        .f("exe", json!("/usr/bin/python3.11"))
        .f("argv", json!(["python3", "-c", "..."]))
        .f("paths", json!(["/usr/bin/python3", "/lib64/ld-linux-x86-64.so.2"]));
    let doc = run(vec![exec, audit_kill(21, 4, 500, 1, "sshd", "/usr/bin/python3.11", 4242, 15)]);
    let r = &doc.findings[0].reasoning;
    assert!(r.contains("matches neither its executable /usr/bin/python3.11 nor the argv[0] \"python3\"") && r.contains("renamed after exec"), "{r}");

    let doc = run(vec![audit_kill(21, 4, 501, 1, "backup.sh", "/usr/bin/dash", 4242, 15).f("proctitle", json!("/bin/sh /opt/backup.sh --now"))]);
    let r = &doc.findings[0].reasoning;
    assert!(r.contains("ran the script /opt/backup.sh with the interpreter /usr/bin/dash, as the PROCTITLE"), "{r}");

    let doc = run(vec![audit_kill(21, 4, 502, 1, "backup.sh", "/usr/bin/bash", 4242, 15)]);
    let r = &doc.findings[0].reasoning;
    assert!(r.contains("is not shown") && !r.contains("trust the executable"), "{r}");
    let doc = run(vec![audit_kill(21, 4, 503, 1, "helper", "/opt/tool", 4242, 15)]);
    assert!(doc.findings[0].reasoning.contains("the records do not show why they differ"), "{}", doc.findings[0].reasoning);
}

#[test]
fn segfault_abend_and_core_of_one_pid_are_one_crash_finding() {
    let doc = run(vec![
        ev(Source::Kmsg, EventKind::Segfault, 30, KMSG, 9).pid(777).comm("victim-segv").f("signal", json!(11)).f("addr", json!("0")),
        ev(Source::Audit, EventKind::ProcessCrash, 30, AUDIT, 10).pid(777).comm("victim-segv").f("signal", json!(11)),
        ev(Source::Core, EventKind::CoreDumped, 31, "fs/tmp/core", 1).pid(777).comm("victim-segv").f("signal", json!(11)).f("core_entry", json!("fs/tmp/core")),
    ]);
    assert_eq!(doc.findings.len(), 1, "{doc:#?}");
    let f = &doc.findings[0];
    assert_eq!((f.cause, f.confidence), (Cause::Crash, Confidence::Certain));
    assert_eq!(f.evidence.len(), 3);
    assert_eq!(f.details.get("core_entry"), Some(&json!("fs/tmp/core")));
    assert!(f.missing.is_empty(), "{:?}", f.missing);
}

#[test]
fn crash_without_core_says_why() {
    let facts = Facts::fold([
        Fact::Sysctl { name: "kernel.core_pattern".into(), value: "core".into() },
        Fact::CoreLimit { pid: 1, soft: CoreLimit::Bytes(0) },
    ]);
    let doc = run_with(vec![ev(Source::Kmsg, EventKind::Segfault, 30, KMSG, 9).pid(778).comm("victim-nocore").f("signal", json!(11))], &facts);
    let f = doc.findings.iter().find(|f| f.victim.pid == Some(778)).expect("finding");
    assert_eq!(f.cause, Cause::Crash);
    assert!(f.missing.iter().any(|m| m.contains("ulimit -c") && m.contains("core_pattern")), "{:?}", f.missing);
    assert!(doc.advisories.iter().any(|a| a.id == "core_dumps_disabled"));
}

/// systemd's record of api.service's main process killed by SIGKILL, with no sender named.
fn api_service_killed_at_60() -> Ev {
    ev(Source::Journal, EventKind::ProcessExit, 60, "cmd/journalctl.json", 7)
        .pid(1)
        .comm("systemd")
        .f("unit", json!("api.service"))
        .f("code", json!("killed"))
        .f("status", json!("9/KILL"))
}

#[test]
fn systemd_kill_without_sender_is_unknown_with_candidates() {
    let cron = Fact::CronJob(CronJob {
        schedule: Schedule::parse("* * * * *").expect("schedule"),
        run_as: Some("root".into()),
        command: "/usr/local/bin/cleanup".into(),
        utc_offset: 0,
        defined_before: at(0),
        origin: Origin { entry: "fs/etc/crontab".into(), line: Some(3), offset: None },
        raw: Text::from_str("* * * * * root /usr/local/bin/cleanup"),
    });
    let doc = run_with(
        vec![
            ev(Source::Wtmp, EventKind::Login, 0, "fs/var/log/wtmp", 1).uid(1000, "bob").f("tty", json!("pts/1")).f("host", json!("203.0.113.9")),
            api_service_killed_at_60(),
        ],
        &Facts::fold([cron]),
    );
    let f = doc.findings.iter().find(|f| f.victim.unit.as_deref() == Some("api.service")).expect("unit finding");
    assert_eq!(f.cause, Cause::Unknown);
    assert_eq!(f.confidence, Confidence::Possible);
    assert!(f.killer.is_none());
    assert_eq!(f.signal.as_ref().map(|s| s.number), Some(9));
    assert!(f.candidates.iter().any(|c| c.description.contains("bob was logged in")), "{:?}", f.candidates);
    assert!(f.candidates.iter().any(|c| c.description.contains("cleanup")), "{:?}", f.candidates);
    assert!(f.missing.iter().any(|m| m.contains("auditctl")), "{:?}", f.missing);
}

/// Kill rules that record only logged-in users' calls (`-F auid>=1000`, as hardening guides write them) do
/// not cover a daemon's kill: the audited kill of another process does not make this death "audited", and
/// the finding and the advisory say what the rules leave out.
#[test]
fn narrowed_kill_rules_are_named_as_the_gap() {
    let rules = |covers: bool, narrowed: &[&str]| {
        Facts::fold([Fact::KillAudit(KillAudit { covers, narrowed: narrowed.iter().map(|g| (*g).to_owned()).collect() })])
    };
    let narrowed = ["only calls matching auid>=1000 auid!=-1 are recorded (-a always,exit -F arch=b64 -S kill -F auid>=1000 -F auid!=-1)"];
    let doc = run_with(
        vec![
            // A user's kill of some other process was recorded by the narrowed rule.
            audit_kill(30, 7, 900, 1, "bash", "/usr/bin/bash", 5555, 15),
            api_service_killed_at_60(),
        ],
        &rules(false, &narrowed),
    );
    let f = doc.findings.iter().find(|f| f.victim.unit.as_deref() == Some("api.service")).expect("unit finding");
    assert_eq!(f.cause, Cause::Unknown);
    assert!(f.missing.iter().any(|m| m.starts_with("a kill rule for every sender: of the loaded kill rules, only calls matching auid>=1000 auid!=-1 are recorded")), "{:?}", f.missing);
    assert!(doc.advisories.iter().any(|a| a.id == "narrow_kill_audit_rule" && a.message.contains("auid>=1000")), "{:?}", doc.advisories);
    assert!(!doc.advisories.iter().any(|a| a.id == "no_kill_audit_rule"));
    // Rules that record every sender: no such note, and no advisory.
    let doc = run_with(vec![api_service_killed_at_60()], &rules(true, &[]));
    let f = doc.findings.iter().find(|f| f.victim.unit.as_deref() == Some("api.service")).expect("unit finding");
    assert!(!f.missing.iter().any(|m| m.contains("auditctl") || m.contains("every sender")), "{:?}", f.missing);
    assert!(!doc.advisories.iter().any(|a| a.id.contains("kill_audit")), "{:?}", doc.advisories);
}

#[test]
fn history_kill_during_session_is_likely_not_certain() {
    let doc = run(vec![
        ev(Source::Wtmp, EventKind::Login, 0, "fs/var/log/wtmp", 1).uid(1000, "carol").f("tty", json!("pts/2")).f("host", json!("198.51.100.4")),
        ev(Source::History, EventKind::KillCommand, 50, "fs/home/carol/.bash_history", 4)
            .uid(1000, "carol")
            .f("command", json!("kill -9 4321"))
            .f("tool", json!("kill"))
            .f("signal", json!(9))
            .f("target_pids", json!([4321])),
    ]);
    let f = &doc.findings[0];
    assert_eq!((f.cause, f.confidence), (Cause::Signal, Confidence::Likely));
    let k = f.killer.as_ref().expect("killer");
    assert_eq!(k.user.as_deref(), Some("carol"));
    assert_eq!(k.login_from.as_deref(), Some("198.51.100.4"));
}

#[test]
fn history_kill_without_session_is_only_possible() {
    let doc = run(vec![ev(Source::History, EventKind::KillCommand, 50, "fs/root/.bash_history", 4)
        .uid(0, "root")
        .f("command", json!("kill 4321"))
        .f("target_pids", json!([4321]))]);
    assert_eq!(doc.findings[0].confidence, Confidence::Possible);
}

#[test]
fn caught_sigterm_on_a_survivor_is_not_a_death() {
    let doc = run(vec![
        ev(Source::Proc, EventKind::ProcessAlive, 1000, "live/proc/processes.json", 1)
            .pid(4242)
            .comm("daemon")
            .f("start_time", json!(at(-100).rfc3339())),
        audit_kill(21, 4, 311, 1, "kill", "/usr/bin/kill", 4242, 15),
    ]);
    assert!(doc.findings.is_empty(), "{doc:#?}");
}

#[test]
fn probes_and_failed_kills_are_not_deaths() {
    let doc = run(vec![
        audit_kill(21, 4, 311, 1, "kill", "/usr/bin/kill", 4242, 0),
        audit_kill(22, 5, 311, 1, "kill", "/usr/bin/kill", 4243, 9).f("success", json!(false)),
        audit_kill(23, 6, 311, 1, "kill", "/usr/bin/kill", 4244, 18),
    ]);
    assert!(doc.findings.is_empty(), "{doc:#?}");
}

#[test]
fn group_kill_with_targets_gives_one_finding_per_target() {
    let doc = run(vec![audit_kill(21, 4, 311, 1, "bash", "/usr/bin/bash", -900, 15).f("targets", json!([901, 902]))]);
    let pids: Vec<_> = doc.findings.iter().map(|f| f.victim.pid).collect();
    assert_eq!(pids, vec![Some(901), Some(902)]);
    // As the audit parser writes it: one event per OBJ_PID, the argument in target_arg.
    let doc = run(vec![
        audit_kill(21, 4, 311, 1, "bash", "/usr/bin/bash", 903, 15).f("target_arg", json!(-900)),
        audit_kill(21, 4, 311, 1, "bash", "/usr/bin/bash", 904, 15).f("target_arg", json!(-1)),
    ]);
    assert_eq!(doc.findings[0].details.get("process_group"), Some(&json!(900)), "{doc:#?}");
    assert!(doc.findings[0].reasoning.contains("process group 900"));
    assert_eq!(doc.findings[1].details.get("broadcast"), Some(&json!(true)));
}

#[test]
fn boot_without_shutdown_is_an_unclean_reboot() {
    let doc = run(vec![
        ev(Source::Wtmp, EventKind::Boot, 0, "fs/var/log/wtmp", 1),
        ev(Source::Wtmp, EventKind::Login, 10, "fs/var/log/wtmp", 2).uid(0, "root"),
        ev(Source::Wtmp, EventKind::Boot, 500, "fs/var/log/wtmp", 3),
    ]);
    let f = doc.findings.iter().find(|f| f.cause == Cause::Reboot).expect("reboot");
    assert_eq!(f.via.as_deref(), Some("crash"));
    assert!(matches!(f.time, Timestamp::Bounded { .. }));
}

/// Reboot findings through several boots: the shutdown is looked for only since the previous boot, the
/// crash's lower bound is the last dated wtmp record before the boot, and the command that asked for a
/// shutdown is the earliest in the half hour before it (older, later and undated ones do not count).
#[test]
fn reboots_pair_shutdowns_bounds_and_commands_boot_by_boot() {
    const W: &str = "fs/var/log/wtmp";
    const AUTH: &str = "fs/var/log/auth.log";
    let sudo = |t: i64, line: u64, cmd: &str| {
        ev(Source::Syslog, EventKind::PrivilegedCommand, t, AUTH, line).uid(0, "root").f("command", json!(cmd))
    };
    let mut undated = ev(Source::Wtmp, EventKind::Login, 0, W, 99).uid(0, "root");
    undated.0.timestamp = Timestamp::Unknown;
    let mut undated_cmd = sudo(0, 98, "/sbin/reboot");
    undated_cmd.0.timestamp = Timestamp::Unknown;
    let doc = run(vec![
        sudo(-2000, 1, "/sbin/reboot"),
        ev(Source::Wtmp, EventKind::Boot, 0, W, 1),
        ev(Source::Wtmp, EventKind::Login, 10, W, 2).uid(0, "root"),
        sudo(90, 2, "/sbin/reboot"),
        ev(Source::Wtmp, EventKind::Shutdown, 100, W, 3),
        ev(Source::Wtmp, EventKind::Boot, 120, W, 4),
        ev(Source::Wtmp, EventKind::Login, 200, W, 5).uid(0, "root"),
        sudo(300, 3, "/sbin/poweroff"),
        ev(Source::Wtmp, EventKind::Boot, 400, W, 6),
        sudo(1990, 4, "/sbin/reboot"),
        ev(Source::Wtmp, EventKind::Shutdown, 2000, W, 7),
        sudo(2050, 5, "/sbin/shutdown -r now"),
        ev(Source::Wtmp, EventKind::Boot, 2100, W, 8),
        undated,
        undated_cmd,
    ]);
    let reboots: Vec<_> = doc.findings.iter().filter(|f| f.cause == Cause::Reboot).collect();
    assert_eq!(reboots.len(), 3, "{doc:#?}");
    let line_of = |f: &coroner_schemas::Finding, role: &str| {
        f.evidence.iter().find(|e| e.role == role).and_then(|e| e.origin.line)
    };
    // Boot at 120: shut down at 100, asked for by the sudo at 90 (the one at -2000 is too old).
    assert_eq!(reboots[0].via.as_deref(), Some("shutdown"));
    assert_eq!(line_of(reboots[0], "shutdown record"), Some(3));
    assert_eq!(line_of(reboots[0], "shutdown command run before it"), Some(2));
    // The reasoning says what the record shows (who ran what, when), not that the command caused the shutdown.
    assert!(reboots[0].reasoning.ends_with(" root ran `/sbin/reboot` 10 s before it."), "{}", reboots[0].reasoning);
    // Boot at 400: no shutdown since the boot at 120 (the one at 100 belongs to the boot before).
    assert_eq!(reboots[1].via.as_deref(), Some("crash"));
    assert_eq!(reboots[1].time, Timestamp::Bounded { after: Some(at(200)), before: Some(at(400)) });
    // Boot at 2100: shut down at 2000; the earliest command within the half hour before it is at 300.
    assert_eq!(line_of(reboots[2], "shutdown record"), Some(7));
    assert_eq!(line_of(reboots[2], "shutdown command run before it"), Some(3));
}

#[test]
fn why_prints_killer_and_escapes_control_characters() {
    let doc = run(vec![audit_kill(21, 4, 311, 1, "evil\u{1b}[2J", "/tmp/evil", 4242, 9)]);
    let text = why(&doc, &[], &Facts::default(), &WhyQuery { pid: Some(4242), ..Default::default() }).text;
    assert!(text.contains("cause:    signal, SIGKILL (9) [certain]"), "{text}");
    assert!(text.contains("evil\\x1b[2J"), "{text}");
    assert!(!text.contains('\u{1b}'));
    let none = why(&doc, &[], &Facts::default(), &WhyQuery { pid: Some(1), ..Default::default() }).text;
    assert!(none.starts_with("No death matching pid 1"), "{none}");
}

#[test]
fn self_signals_are_not_deaths_but_self_abort_is_a_crash() {
    let doc = run(vec![
        audit_kill(21, 4, 700, 1, "cargo", "/usr/bin/cargo", 700, 10),
        audit_kill(22, 5, 701, 1, "app", "/usr/bin/app", 701, 6),
    ]);
    assert_eq!(doc.findings.len(), 1, "{doc:#?}");
    assert_eq!(doc.findings[0].victim.pid, Some(701));
    assert_eq!(doc.findings[0].cause, Cause::Crash);
}

#[test]
fn failed_exec_attempts_do_not_rename_the_sender() {
    let doc = run(vec![
        ev(Source::Audit, EventKind::Audit, 20, AUDIT, 1).pid(311).ppid(300).comm("tester").f("exe", json!("/work/tester")).f("success", json!(false)),
        ev(Source::Audit, EventKind::Exec, 20, AUDIT, 2).pid(311).ppid(300).comm("bash").f("exe", json!("/usr/bin/bash")).f("argv", json!(["bash", "-c", "kill -9 4242"])),
        // The stale proctitle the kernel cached before the exec (seen on a real host).
        audit_kill(21, 3, 311, 300, "bash", "/usr/bin/bash", 4242, 9).f("proctitle", json!("/work/tester --long-stale-title")),
    ]);
    let k = doc.findings[0].killer.as_ref().expect("killer");
    assert_eq!(k.command.as_deref(), Some("bash -c kill -9 4242"));
}

#[test]
fn a_target_seen_acting_after_a_catchable_signal_survived_it() {
    let doc = run(vec![
        audit_kill(21, 3, 311, 1, "kill", "/usr/bin/kill", 4242, 15),
        ev(Source::Audit, EventKind::Audit, 40, AUDIT, 9).pid(4242).ppid(1).comm("victim"),
    ]);
    assert!(doc.findings.is_empty(), "{doc:#?}");
}

/// An old kernel's bare `Killed process` line, the lines before it lost: an OOM kill, certain, whose scope the
/// reasoning does not make up (it used to read as a memory-cgroup OOM of cgroup "?").
#[test]
fn old_kernel_kill_line_alone_does_not_claim_a_scope() {
    let doc = run(vec![ev(Source::Kmsg, EventKind::OomKill, 10, KMSG, 4).pid(77).comm("x").f("anon_rss_kb", json!(4096))]);
    assert_eq!(doc.findings.len(), 1, "{doc:#?}");
    let f = &doc.findings[0];
    assert_eq!((f.cause, f.confidence), (Cause::OomKill, Confidence::Certain));
    assert!(f.reasoning.contains("does not say whether"), "{}", f.reasoning);
    assert!(!f.reasoning.contains('?'), "{}", f.reasoning);
}

#[test]
fn systemd_oomd_kill_of_a_unit_is_an_oom_finding_with_oomd_as_killer() {
    let doc = run(vec![
        ev(Source::Journal, EventKind::OomKill, 30, "cmd/journalctl.json", 2)
            .f("cgroup", json!("/system.slice/app.service"))
            .f("unit", json!("app.service"))
            .f("killer", json!("systemd-oomd"))
            .f("program_pid", json!(612))
            .f("reason", json!("memory pressure for /system.slice being 74.12% > 50.00% for > 20s with reclaim activity")),
        ev(Source::Journal, EventKind::ServiceFailed, 31, "cmd/journalctl.json", 3).f("unit", json!("app.service")).f("result", json!("oom-kill")),
    ]);
    assert_eq!(doc.findings.len(), 1, "{doc:#?}");
    let f = &doc.findings[0];
    assert_eq!((f.cause, f.confidence), (Cause::OomKill, Confidence::Certain));
    assert_eq!(f.via.as_deref(), Some("systemd-oomd"));
    assert_eq!(f.killer.as_ref().and_then(|k| k.pid), Some(612));
    assert!(f.reasoning.contains("memory pressure"), "{}", f.reasoning);
}

#[test]
fn journal_code_dumped_is_a_unit_crash() {
    let doc = run(vec![ev(Source::Journal, EventKind::ProcessCrash, 30, "cmd/journalctl.json", 2)
        .f("unit", json!("api.service"))
        .f("code", json!("dumped"))
        .f("status", json!("11/SEGV"))]);
    assert_eq!(doc.findings.len(), 1, "{doc:#?}");
    assert_eq!(doc.findings[0].cause, Cause::Crash);
}

/// Regression: a session wtmp closed with a shutdown or crash (`session_end: "down"`, with `session_seconds`)
/// was taken as open forever, so every later death listed its user as logged in (and each lookup scanned them all).
#[test]
fn session_closed_by_a_crash_is_no_candidate_after_it() {
    let doc = run(vec![
        ev(Source::Wtmp, EventKind::Login, 0, "fs/var/log/wtmp", 1)
            .uid(1000, "bob")
            .f("tty", json!("pts/1"))
            .f("session_end", json!("crash"))
            .f("session_seconds", json!(30)),
        ev(Source::Wtmp, EventKind::Login, 10, "fs/var/log/wtmp", 2)
            .uid(1001, "dave")
            .f("tty", json!("pts/2"))
            .f("session_end", json!("still logged in")),
        api_service_killed_at_60(),
    ]);
    let f = doc.findings.iter().find(|f| f.victim.unit.as_deref() == Some("api.service")).expect("unit finding");
    assert!(f.candidates.iter().any(|c| c.description.contains("dave was logged in")), "{:?}", f.candidates);
    assert!(!f.candidates.iter().any(|c| c.description.contains("bob")), "{:?}", f.candidates);
}

/// A kill storm past the point where deaths are composed on two threads: every kill is one finding, in time
/// order, naming its own victim and sender (the halves are put back in order, none lost or doubled).
#[test]
fn a_kill_storm_composed_on_two_threads_keeps_every_death_in_order() {
    let n = super::PARALLEL_MIN_GROUPS as i64 + 501;
    let evs: Vec<Ev> = (0..n).map(|i| audit_kill(i, i as u64 + 1, 100_000 + i, 1, "kill", "/usr/bin/kill", 10 + i, 9)).collect();
    let doc = run(evs);
    let kills: Vec<_> = doc.findings.iter().filter(|f| f.cause == Cause::Signal).collect();
    assert_eq!(kills.len() as i64, n);
    for (i, f) in kills.iter().enumerate() {
        let i = i as i64;
        assert_eq!(f.victim.pid, Some(10 + i), "{f:?}");
        assert_eq!(f.killer.as_ref().and_then(|k| k.pid), Some(100_000 + i), "{f:?}");
    }
    let ids: Vec<&str> = doc.findings.iter().map(|f| f.id.as_str()).collect();
    let expected: Vec<String> = (1..=doc.findings.len()).map(|k| format!("F{k}")).collect();
    assert_eq!(ids, expected.iter().map(String::as_str).collect::<Vec<_>>());
}

fn oom_kill_of(pid: i64, comm: &str) -> Ev {
    ev(Source::Kmsg, EventKind::OomKill, 10, KMSG, 9).pid(pid).comm(comm).f("anon_rss_kb", json!(80000)).f("oom_score_adj", json!(0))
}

/// The OOM reasoning claims "largest" only from a task dump that shows it, never a cgroup "?". Regression:
/// "it was the largest task there" was written with no task dump at all, for a task the kernel scored 0, and
/// as "memory cgroup ?" when the log did not name the cgroup.
#[test]
fn oom_reasoning_says_only_what_the_task_dump_shows() {
    // No dump, a memory-cgroup OOM whose cgroup is not named, a score of 0 (old kernels' `Kill process … score 0`).
    let doc = run(vec![oom_kill_of(4242, "hog").f("global", json!(false)).f("score", json!(0))]);
    let r = &doc.findings[0].reasoning;
    assert!(r.contains("a memory cgroup the log does not name") && r.contains("No task dump"), "{r}");
    assert!(r.contains("badness score as 0"), "{r}");
    assert!(!r.contains('?') && !r.contains("largest") && !r.contains("highest"), "{r}");

    // A dump where another task had more memory: the victim was not the largest, and the reasoning says so.
    let row = |line: u64, pid: i64, name: &str, rss: i64, adj: i64| {
        ev(Source::Kmsg, EventKind::OomTaskDump, 10, KMSG, line)
            .pid(pid)
            .comm(name)
            .f("name", json!(name))
            .f("rss_pages", json!(rss))
            .f("swapents", json!(0))
            .f("pgtables_bytes", json!(40960))
            .f("oom_score_adj", json!(adj))
    };
    let doc = run(vec![
        row(2, 100, "db", 9000, -900),
        row(3, 4242, "hog", 5000, 500),
        row(4, 1, "init", 20000, -1000),
        oom_kill_of(4242, "hog").f("global", json!(true)),
    ]);
    let f = &doc.findings[0];
    let r = &f.reasoning;
    assert!(r.contains("lists 3 tasks; it had 5010 pages of rss + swap + page tables, fewer than pid 100 (db, 9010 pages)"), "{r}");
    assert!(r.contains("oom_score_adj values differ"), "{r}");
    assert!(!r.contains("highest") && !r.contains("largest"), "{r}");
    // The rows compared are cited (init, unkillable at -1000, is not the one compared).
    assert!(f.evidence.iter().any(|e| e.role == "OOM task dump row" && e.origin.line == Some(2)), "{:?}", f.evidence);

    // The dump shows it the largest: then, and only then, it says so.
    let doc = run(vec![row(2, 100, "db", 900, 0), row(3, 4242, "hog", 5000, 0), oom_kill_of(4242, "hog").f("global", json!(true))]);
    let r = &doc.findings[0].reasoning;
    assert!(r.contains("lists 2 tasks; it had the most rss + swap + page tables (5010 pages)."), "{r}");
}

/// A record of a process signalling itself is of the sending, not of the end (a handler may catch it):
/// likely, not certain, and no death when the process is seen acting afterwards. Regression: "An audit record
/// of the process signalling itself shows this process ended on SIGABRT", certain.
#[test]
fn a_self_raised_signal_is_a_likely_crash_unless_the_process_went_on() {
    let doc = run(vec![audit_kill(22, 5, 701, 1, "app", "/usr/bin/app", 701, 6)]);
    let f = &doc.findings[0];
    assert_eq!((f.cause, f.confidence), (Cause::Crash, Confidence::Likely), "{f:#?}");
    assert!(f.reasoning.contains("sending itself SIGABRT") && f.reasoning.contains("no record of its end"), "{}", f.reasoning);
    assert!(!f.reasoning.contains("ended on"), "{}", f.reasoning);
    let doc = run(vec![
        audit_kill(22, 5, 701, 1, "app", "/usr/bin/app", 701, 11),
        ev(Source::Audit, EventKind::Audit, 40, AUDIT, 9).pid(701).ppid(1).comm("app"),
    ]);
    assert!(doc.findings.is_empty(), "{doc:#?}");
}

/// systemd's result 'oom-kill' follows the kernel's OOM kills and systemd-oomd's alike: the reasoning names
/// both and claims neither. Regression: "the kernel OOM killer killed a process in its cgroup".
#[test]
fn a_unit_oom_kill_result_does_not_name_the_kernel_alone() {
    let doc = run(vec![ev(Source::Journal, EventKind::ServiceFailed, 31, "cmd/journalctl.json", 3).f("unit", json!("app.service")).f("result", json!("oom-kill"))]);
    let f = &doc.findings[0];
    assert_eq!((f.cause, f.confidence), (Cause::OomKill, Confidence::Certain));
    assert!(f.reasoning.contains("the kernel's OOM killer or by systemd-oomd"), "{}", f.reasoning);
    assert_ne!(f.via.as_deref(), Some("kernel"));
}

/// A user manager's `systemd[1234]: Killing process …` line was reported as PID 1, comm systemd, uid 0 killing
/// it: the killer is the writer the record names (its tag's program and pid), with no uid it does not show.
#[test]
fn a_user_managers_kill_names_that_manager_not_pid_1() {
    let doc = run(vec![
        ev(Source::Syslog, EventKind::ServiceKilled, 40, "fs/var/log/syslog", 12)
            .pid(4321)
            .comm("sleep")
            .f("unit", json!("app.service"))
            .f("signal", json!(15))
            .f("program", json!("systemd"))
            .f("program_pid", json!(1234)),
        ev(Source::Syslog, EventKind::WatchdogTimeout, 50, "fs/var/log/syslog", 13)
            .f("unit", json!("dog.service"))
            .f("program", json!("systemd"))
            .f("program_pid", json!(1234)),
    ]);
    let f = doc.findings.iter().find(|f| f.victim.pid == Some(4321)).expect("kill finding");
    let k = f.killer.as_ref().expect("killer");
    assert_eq!((k.pid, k.comm.as_deref(), k.uid), (Some(1234), Some("systemd"), None), "{k:?}");
    assert!(f.reasoning.starts_with("systemd[1234] logged"), "{}", f.reasoning);
    let w = doc.findings.iter().find(|f| f.victim.unit.as_deref() == Some("dog.service")).expect("watchdog finding");
    let k = w.killer.as_ref().expect("watchdog killer");
    assert_eq!((k.pid, k.uid), (Some(1234), None), "{k:?}");
    assert!(w.reasoning.starts_with("systemd[1234] logged"), "{}", w.reasoning);
}

/// The OOM's scope comes from its constraint: CONSTRAINT_CPUSET and CONSTRAINT_MEMORY_POLICY mean the allowed
/// nodes ran out, an unknown constraint says nothing. Regression: all three read "the whole host ran out".
#[test]
fn oom_scope_follows_the_constraint() {
    let scoped = |constraint: &str, global: Option<bool>| {
        let mut e = oom_kill_of(4242, "hog").f("constraint", json!(constraint)).f("mems_allowed", json!("1")).f("nodemask", json!("(null)"));
        if let Some(g) = global {
            e = e.f("global", json!(g));
        }
        run(vec![e]).findings[0].reasoning.clone()
    };
    let r = scoped("CONSTRAINT_NONE", Some(true));
    assert!(r.contains("the whole host ran out"), "{r}");
    // The kill line's "Out of memory" may still carry global=true; the constraint wins.
    let r = scoped("CONSTRAINT_CPUSET", Some(true));
    assert!(r.contains("memory nodes its cpuset allows ran out (mems_allowed=1)") && !r.contains("whole host ran out"), "{r}");
    let r = scoped("CONSTRAINT_MEMORY_POLICY", None);
    assert!(r.contains("memory nodes its memory policy allows ran out, not") && !r.contains("whole host ran out"), "{r}");
    let r = scoped("CONSTRAINT_WHATEVER", None);
    assert!(r.contains("constraint CONSTRAINT_WHATEVER, which does not say"), "{r}");
}

/// An audited SIGTERM proves the signal was sent, not that the process died of it (it can be caught): likely,
/// unless a record of the same death shows the end on that signal. SIGKILL cannot be caught: certain.
/// Regression: every audited kill of a process with no record of its end was certain.
#[test]
fn a_catchable_audited_kill_is_certain_only_with_a_record_of_the_end() {
    let doc = run(vec![audit_kill(20, 5, 900, 1, "killer", "/usr/bin/killer", 4000, 15)]);
    let f = doc.findings.iter().find(|f| f.victim.pid == Some(4000)).expect("finding");
    assert_eq!((f.cause, f.confidence), (Cause::Signal, Confidence::Likely), "{}", f.reasoning);
    assert!(f.reasoning.contains("SIGTERM can be caught or ignored"), "{}", f.reasoning);
    assert!(f.missing.iter().any(|m| m.starts_with("a record of its end")), "{:?}", f.missing);

    let doc = run(vec![
        audit_kill(20, 5, 900, 1, "killer", "/usr/bin/killer", 4000, 15),
        ev(Source::Kmsg, EventKind::ProcessCrash, 20, KMSG, 6).pid(4000).comm("victim").f("signal", json!(15)),
    ]);
    let f = doc.findings.iter().find(|f| f.victim.pid == Some(4000)).expect("finding");
    assert_eq!(f.confidence, Confidence::Certain, "{}", f.reasoning);
    assert!(f.reasoning.contains("shows it ended on SIGTERM"), "{}", f.reasoning);
    assert!(f.evidence.iter().any(|e| &*e.origin.entry == KMSG), "{:?}", f.evidence);

    let doc = run(vec![audit_kill(20, 5, 900, 1, "killer", "/usr/bin/killer", 4000, 9)]);
    let f = doc.findings.iter().find(|f| f.victim.pid == Some(4000)).expect("finding");
    assert_eq!(f.confidence, Confidence::Certain);
    assert!(!f.reasoning.contains("can be caught"), "{}", f.reasoning);
}

/// An undated history line bounded only by a file mtime after the death is not "near that time": the candidate
/// says what its time is. Regression: "alice ran `kill 1` near that time".
#[test]
fn an_undated_history_candidate_says_what_bounds_it() {
    let doc = run(vec![
        api_service_killed_at_60(),
        ev(Source::History, EventKind::KillCommand, 0, "fs/home/alice/.bash_history", 2)
            .ts(Timestamp::Bounded { after: None, before: Some(at(300)) })
            .uid(1000, "alice")
            .f("command", json!("kill 1")),
    ]);
    let f = doc.findings.iter().find(|f| f.victim.unit.as_deref() == Some("api.service")).expect("unit finding");
    let c = f.candidates.iter().find(|c| c.description.contains("kill 1")).expect("history candidate");
    assert!(!c.description.contains("near that time"), "{}", c.description);
    assert!(c.description.contains(&format!("(undated: before {})", at(300).rfc3339())), "{}", c.description);
}

/// A reboot cites a command only when its command word is a shutdown command (after sudo/env), and a boot with
/// no shutdown record does not rule out a lost record. Regression: `grep reboot …` was "the command that asked
/// for it", and a missing shutdown record was stated as a crash, power loss or reset.
#[test]
fn reboot_commands_are_matched_by_their_command_word() {
    const W: &str = "fs/var/log/wtmp";
    let sudo = |t: i64, line: u64, cmd: &str| {
        ev(Source::Syslog, EventKind::PrivilegedCommand, t, "fs/var/log/auth.log", line).uid(0, "root").f("command", json!(cmd))
    };
    let shut = |cmds: Vec<Ev>| {
        let mut v = vec![ev(Source::Wtmp, EventKind::Boot, 0, W, 1)];
        v.extend(cmds);
        v.push(ev(Source::Wtmp, EventKind::Shutdown, 100, W, 2));
        v.push(ev(Source::Wtmp, EventKind::Boot, 120, W, 3));
        let doc = run(v);
        doc.findings.into_iter().find(|f| f.cause == Cause::Reboot).expect("reboot")
    };
    let f = shut(vec![sudo(50, 7, "/usr/bin/grep reboot /var/log/syslog"), sudo(60, 8, "/usr/bin/less /etc/halt.conf")]);
    assert!(f.killer.is_none() && f.evidence.len() == 2, "{f:#?}");
    let f = shut(vec![sudo(60, 8, "env LANG=C /usr/bin/systemctl --no-wall reboot")]);
    assert_eq!(f.killer.as_ref().and_then(|k| k.command.as_deref()), Some("env LANG=C /usr/bin/systemctl --no-wall reboot"));
    let f = shut(vec![sudo(60, 8, "/sbin/init 6")]);
    assert!(f.killer.is_some(), "{f:#?}");

    let doc = run(vec![ev(Source::Wtmp, EventKind::Boot, 0, W, 1), ev(Source::Wtmp, EventKind::Boot, 500, W, 2)]);
    let f = doc.findings.iter().find(|f| f.cause == Cause::Reboot).expect("reboot");
    assert!(f.reasoning.contains("no shutdown record precedes it") && f.reasoning.contains("a shutdown record that was not kept"), "{}", f.reasoning);
    assert!(!f.reasoning.contains("the host crashed"), "{}", f.reasoning);
}

/// `kill -0 PID` sends no signal (it only asks whether the process exists): it is no sender candidate, even when
/// it names the victim; a `kill PID` beside it still is.
#[test]
fn kill_zero_is_no_candidate() {
    let doc = run(vec![
        api_service_killed_at_60(),
        ev(Source::History, EventKind::KillCommand, 55, "fs/home/alice/.bash_history", 2)
            .uid(1000, "alice")
            .f("command", json!("kill -0 1"))
            .f("signal", json!(0)),
        ev(Source::History, EventKind::KillCommand, 56, "fs/home/alice/.bash_history", 4)
            .uid(1000, "alice")
            .f("command", json!("kill 1"))
            .f("signal", json!(15)),
    ]);
    let f = doc.findings.iter().find(|f| f.victim.unit.as_deref() == Some("api.service")).expect("unit finding");
    assert!(f.candidates.iter().all(|c| !c.description.contains("kill -0")), "{:#?}", f.candidates);
    assert!(f.candidates.iter().any(|c| c.description.contains("`kill 1`")), "{:#?}", f.candidates);
}

/// One sender's SIGUSR1 audited again and again to one pid is one finding at the last record, citing the first,
/// and a different sender's kill in the run stays a finding of its own.
/// Pids are reused: an audited exec of an earlier process that had the sender's pid (another program) does not
/// describe the sender the recorder saw. Regression: a test run's `sh -c ausearch …` became the command of a
/// later bash script that reused its pid.
#[test]
fn an_earlier_process_with_the_senders_pid_does_not_describe_it() {
    let old = ev(Source::Audit, EventKind::Exec, 100, AUDIT, 1)
        .pid(500)
        .ppid(400)
        .comm("sh")
        .f("exe", json!("/usr/bin/dash"))
        .f("argv", json!(["sh", "-c", "ausearch -k x"]));
    let traced = ev(Source::Watch, EventKind::SignalSent, 200, "fs/var/lib/coroner/watch/watch-1.jsonl", 1)
        .pid(500)
        .comm("bash")
        .f("exe", json!("/usr/bin/bash"))
        .f("argv", json!(["bash", "/tmp/killer.sh", "600"]))
        .f("signal", json!(9))
        .f("target_pid", json!(600))
        .f("signal_origin", json!("user"))
        .f("si_code_name", json!("SI_USER"))
        .f("fate", json!("exited"));
    let doc = run(vec![old, traced]);
    let f = doc.findings.iter().find(|f| f.victim.pid == Some(600)).expect("finding");
    let k = f.killer.as_ref().expect("killer");
    assert_eq!((k.exe.as_deref(), k.command.as_deref()), (Some("/usr/bin/bash"), Some("bash /tmp/killer.sh 600")), "{f:#?}");
    assert!(!f.evidence.iter().any(|e| e.origin.entry.as_ref() == AUDIT), "the earlier process's exec is cited: {:#?}", f.evidence);
}

#[test]
fn a_run_of_one_senders_kills_is_one_finding_at_its_last_record() {
    let mut evs: Vec<Ev> = (0..500).map(|n| audit_kill(10 + n / 10, 100 + n as u64, 311, 1, "storm", "/opt/storm", 4242, 10)).collect();
    evs.push(audit_kill(30, 5, 312, 1, "kill", "/usr/bin/kill", 4242, 9));
    // 200 s later the same sender again: past the death window, a run of its own.
    evs.push(audit_kill(260, 900, 311, 1, "storm", "/opt/storm", 4242, 10));
    let doc = run(evs);
    let usr1: Vec<_> = doc.findings.iter().filter(|f| f.signal.as_ref().is_some_and(|s| s.number == 10)).collect();
    assert_eq!(usr1.len(), 2, "{doc:#?}");
    let run = usr1.iter().find(|f| f.details.get("kill_records") == Some(&json!(500))).expect("the run");
    let lines: Vec<Option<u64>> = run.evidence.iter().map(|e| e.origin.line).collect();
    assert!(lines.contains(&Some(599)) && lines.contains(&Some(100)), "last and first records cited: {lines:?}");
    assert!(run.reasoning.contains("500 times"), "{}", run.reasoning);
    let lone = usr1.iter().find(|f| f.details.get("kill_records").is_none()).expect("the later one");
    assert_eq!(lone.evidence[0].origin.line, Some(900));
    assert_eq!(doc.findings.iter().filter(|f| f.signal.as_ref().is_some_and(|s| s.number == 9)).count(), 1, "{doc:#?}");
}

// ---- Containers (issue 14). Events and records shaped as the container parsers emit them (field keys in
// schemas/src/fields.rs: container_id, container_name, image, runtime, pod_*, exit_code, oom_killed, …).

mod containers {
    use super::*;
    use coroner_schemas::finding::ContainerReason;
    use crate::sources::facts::{CgroupOom, ContainerRecord};

    const ID: &str = "1e1755e4a1d0d8f2b3c4a5b6c7d8e9f00112233445566778899aabbccddeeff0";
    const CFG: &str = "fs/var/lib/docker/containers/1e17/config.v2.json";
    const KUBELET: &str = "fs/var/log/kubelet.log";
    const POD_UID: &str = "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b";

    fn origin(entry: &str) -> Origin {
        Origin { entry: entry.into(), line: None, offset: None }
    }

    fn web(pid: Option<i64>) -> ContainerRecord {
        let mut r = ContainerRecord::new("docker", ID, origin(CFG));
        r.name = Some("web".into());
        r.image = Some("busybox:c14".into());
        r.pid = pid;
        r.started = Some(at(0));
        r.finished = Some(at(100));
        r.exit_code = Some(137);
        r.restart_count = Some(0);
        r.stop_timeout_s = Some(2);
        r.memory_limit = Some(33_554_432);
        r
    }

    fn facts(recs: Vec<ContainerRecord>) -> Facts {
        Facts::fold(recs.into_iter().map(Fact::Container))
    }

    /// Docker's saved State of the exit: no pid after the exit, only the container id.
    fn docker_exit(t: i64, code: i64, oom: bool) -> Ev {
        ev(Source::Container, EventKind::ContainerExit, t, CFG, 1)
            .f("container_id", json!(ID))
            .f("container_name", json!("web"))
            .f("runtime", json!("docker"))
            .f("image", json!("busybox:c14"))
            .f("exit_code", json!(code))
            .f("oom_killed", json!(oom))
    }

    fn kernel_oom(t: i64, line: u64, pid: i64) -> Ev {
        ev(Source::Kmsg, EventKind::OomKill, t, KMSG, line)
            .pid(pid)
            .comm("sh")
            .f("global", json!(false))
            .f("constraint", json!("CONSTRAINT_MEMCG"))
            .f("oom_memcg", json!(format!("/docker/{ID}")))
            .f("task_memcg", json!(format!("/docker/{ID}")))
            .f("anon_rss_kb", json!(32000))
    }

    /// The recorder's trace of a signal to the container's main pid.
    fn traced(t: i64, line: u64, sender: i64, comm: &str, target: i64, sig: i64) -> Ev {
        ev(Source::Watch, EventKind::SignalSent, t, "fs/var/log/coroner/watch.jsonl", line)
            .pid(sender)
            .comm(comm)
            .f("signal", json!(sig))
            .f("target_pid", json!(target))
            .f("target_cgroup", json!(format!("/docker/{ID}")))
            .f("signal_origin", json!("user"))
            .f("si_code_name", json!("SI_USER"))
            .f("fate", json!(if sig == 9 { "exited" } else { "unknown" }))
    }

    fn kubelet(kind: EventKind, t: i64, line: u64) -> Ev {
        ev(Source::Kubelet, kind, t, KUBELET, line)
            .f("pod_namespace", json!("shop"))
            .f("pod_name", json!("web-7d9f"))
            .f("pod_uid", json!(POD_UID))
            .f("container_name", json!("app"))
    }

    fn kube_stop(t: i64, line: u64) -> Ev {
        kubelet(EventKind::ContainerStop, t, line)
            .pid(1234)
            .f("container_id", json!(format!("containerd://{ID}")))
            .f("runtime", json!("containerd"))
            .f("grace_period_s", json!(30))
    }

    fn kube_exit(t: i64, line: u64, code: i64) -> Ev {
        kubelet(EventKind::ContainerExit, t, line).f("container_id", json!(ID)).f("exit_code", json!(code))
    }

    #[test]
    fn kernel_oom_in_the_containers_cgroup_is_a_certain_memory_limit_death_naming_the_container() {
        let doc = run_with(vec![kernel_oom(100, 4, 4242), docker_exit(100, 137, true)], &facts(vec![web(None)]));
        assert_eq!(doc.findings.len(), 1, "the runtime's exit and the kernel's line are one death: {doc:#?}");
        let f = &doc.findings[0];
        assert_eq!((f.cause, f.confidence, f.container_reason), (Cause::OomKill, Confidence::Certain, Some(ContainerReason::MemoryLimit)));
        let c = f.victim.container.as_ref().expect("container");
        assert_eq!((c.runtime.as_str(), c.id.as_str(), c.name.as_deref(), c.image.as_deref()), ("docker", ID, Some("web"), Some("busybox:c14")));
        assert_eq!(c.restart_count, Some(0));
        assert!(f.evidence.iter().any(|e| &*e.origin.entry == CFG), "the runtime record is cited: {:?}", f.evidence);
        assert!(f.reasoning.contains("container web"), "{}", f.reasoning);
        assert_eq!(f.details["exit_code"], json!(137));
    }

    #[test]
    fn the_runtimes_oomkilled_flag_alone_is_likely_not_certain() {
        let doc = run_with(vec![docker_exit(100, 137, true)], &facts(vec![web(None)]));
        let f = &doc.findings[0];
        assert_eq!((f.cause, f.confidence, f.container_reason), (Cause::OomKill, Confidence::Likely, Some(ContainerReason::MemoryLimit)));
        assert!(f.reasoning.contains("unreliable"), "{}", f.reasoning);
        assert_eq!(f.victim.container.as_ref().and_then(|c| c.name.as_deref()), Some("web"));
        // memory.events' oom_kill on the container's cgroup supports it (cited), but is no record of this death.
        let mut h = facts(vec![web(None)]);
        let cg = format!("/system.slice/docker-{ID}.scope");
        h.cgroup_ooms.insert(cg.clone(), CgroupOom { cgroup: cg, oom: Some(1), oom_kill: Some(1), local: false, origin: origin("live/cgroup/memory.events.json") });
        let f = &run_with(vec![docker_exit(100, 137, true)], &h).findings[0];
        assert_eq!(f.confidence, Confidence::Likely);
        assert!(f.reasoning.contains("oom_kill 1") && f.reasoning.contains("memory.events.json"), "{}", f.reasoning);
    }

    #[test]
    fn exit_137_without_a_signal_record_is_likely_and_says_what_would_have_named_the_sender() {
        let doc = run_with(vec![docker_exit(100, 137, false)], &facts(vec![web(None)]));
        let f = &doc.findings[0];
        assert_eq!((f.cause, f.confidence), (Cause::Signal, Confidence::Likely));
        assert_eq!(f.signal.as_ref().map(|s| s.number), Some(9));
        assert!(f.reasoning.contains("128+9"), "{}", f.reasoning);
        assert!(f.missing.iter().any(|m| m.starts_with("what was in place")), "{:?}", f.missing);
        assert_eq!(f.container_reason, None, "nothing says who or what sent it");
        // 139 = SIGSEGV: a crash, still only likely.
        let f = &run_with(vec![docker_exit(100, 139, false)], &facts(vec![web(None)])).findings[0];
        assert_eq!((f.cause, f.confidence, f.signal.as_ref().map(|s| s.number)), (Cause::Crash, Confidence::Likely, Some(11)));
    }

    #[test]
    fn the_runtimes_own_stop_or_kill_record_before_a_signal_exit_makes_it_certain() {
        let kill = ev(Source::Container, EventKind::ContainerStop, 99, "fs/run/libpod/events/events.log", 7)
            .f("container_id", json!(ID))
            .f("runtime", json!("podman"))
            .f("signal", json!(9));
        let f = &run_with(vec![kill, docker_exit(100, 137, false)], &facts(vec![web(None)])).findings[0];
        assert_eq!((f.confidence, f.container_reason, f.via.as_deref()), (Confidence::Certain, Some(ContainerReason::RuntimeKill), Some("runtime")));
        let stop = ev(Source::Container, EventKind::ContainerStop, 90, "fs/var/log/containerd.log", 3)
            .f("container_id", json!(ID))
            .f("runtime", json!("containerd"))
            .f("grace_period_s", json!(10));
        let f = &run_with(vec![stop, docker_exit(100, 137, false)], &facts(vec![web(None)])).findings[0];
        assert_eq!((f.confidence, f.container_reason), (Confidence::Certain, Some(ContainerReason::RuntimeStop)));
        // containerd's TaskOOM for it: a runtime record like the flag, so likely only.
        let oom = ev(Source::Container, EventKind::ContainerOom, 100, "fs/var/log/containerd.log", 4).f("container_id", json!(ID));
        let f = &run_with(vec![oom, docker_exit(100, 137, false)], &facts(vec![web(None)])).findings[0];
        assert_eq!((f.cause, f.confidence, f.container_reason), (Cause::OomKill, Confidence::Likely, Some(ContainerReason::MemoryLimit)));
    }

    /// The conmon parser's output on its fixtures (a CRI-O exit file with 137, a Podman-shaped oom file for the
    /// same id), dated by mtimes a second apart, as the pipeline hands them over.
    fn conmon_parsed(file: &str, host: &str, format: &str, mtime: &str) -> crate::sources::Parsed {
        use crate::sources::testing::{entry, manifest};
        let raw = std::fs::read(std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/containers/conmon").join(file)).expect("fixture");
        let m = manifest();
        let a = coroner_schemas::accounts::Accounts::default();
        let mut e = entry(&format!("fs{host}"), host, "containers", format);
        e.stat = serde_json::from_value(json!({"mode": 33188, "uid": 0, "gid": 0, "size": raw.len(), "allocated": 0, "ino": 1, "dev": 1, "nlink": 1, "mtime": mtime})).expect("stat");
        crate::sources::conmon::parse(&raw, &crate::sources::SourceCtx::new(&e, &m, &a))
    }

    #[test]
    fn conmon_exit_137_and_oom_file_are_a_likely_memory_limit_death_of_that_container() {
        const CID: &str = "4c1d9e2f7a3b5c8d0e6f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d";
        let exit = conmon_parsed("crio-exit-137", &format!("/run/crio/exits/{CID}"), "conmon_exit_file", "2026-11-27T19:58:04Z");
        let oom = conmon_parsed("podman-oom", &format!("/var/lib/containers/storage/overlay-containers/{CID}/userdata/oom"), "conmon_oom_file", "2026-11-27T19:58:03Z");
        let h = Facts::fold(exit.facts);
        let evs: Vec<Ev> = exit.events.into_iter().chain(oom.events).map(Ev).collect();
        let doc = run_with(evs, &h);
        assert_eq!(doc.findings.len(), 1, "{doc:#?}");
        let f = &doc.findings[0];
        assert_eq!((f.cause, f.confidence, f.container_reason), (Cause::OomKill, Confidence::Likely, Some(ContainerReason::MemoryLimit)));
        assert_ne!(f.confidence, Confidence::Certain, "no kernel OOM line: the runtime's marker alone");
        let c = f.victim.container.as_ref().expect("the container");
        assert_eq!((c.id.as_str(), c.runtime.as_str()), (CID, "cri-o"));
        assert!(f.missing.iter().any(|m| m.starts_with("the kernel's OOM-killer line")), "{:?}", f.missing);
        assert!(f.evidence.iter().any(|e| e.origin.entry.ends_with("/userdata/oom")), "the oom file is cited: {:?}", f.evidence);
        // Without the oom file the same exit is a likely SIGKILL, not an OOM.
        let exit = conmon_parsed("crio-exit-137", &format!("/run/crio/exits/{CID}"), "conmon_exit_file", "2026-11-27T19:58:04Z");
        let h = Facts::fold(exit.facts);
        let f = &run_with(exit.events.into_iter().map(Ev).collect(), &h).findings[0];
        assert_eq!((f.cause, f.confidence, f.container_reason), (Cause::Signal, Confidence::Likely, None));
    }

    #[test]
    fn a_main_process_exiting_with_its_own_code_is_a_certain_own_exit() {
        let doc = run_with(vec![docker_exit(100, 3, false)], &facts(vec![web(None)]));
        let f = &doc.findings[0];
        assert_eq!((f.cause, f.confidence, f.container_reason), (Cause::Exit, Confidence::Certain, Some(ContainerReason::OwnExit)));
        assert!(f.reasoning.contains("code 3"), "{}", f.reasoning);
        assert!(f.signal.is_none());
        // The same exit in config.v2.json and a `docker inspect` capture, and the kubelet's PLEG line a second
        // later: one death. A second exit with another code is a second death (a restart).
        let again = || docker_exit(100, 3, false).f("restart_count", json!(1));
        let doc = run_with(vec![docker_exit(100, 3, false), again(), ev(Source::Kubelet, EventKind::ContainerExit, 101, KUBELET, 9).f("container_id", json!(ID)).f("exit_code", json!(3))], &facts(vec![web(None)]));
        assert_eq!(doc.findings.len(), 1, "{doc:#?}");
        let doc = run_with(vec![docker_exit(40, 1, false), docker_exit(100, 3, false)], &facts(vec![web(None)]));
        assert_eq!(doc.findings.len(), 2, "{doc:#?}");
        // A process that answers a stop by exiting 0: the runtime's stop record says why.
        let stop = ev(Source::Container, EventKind::ContainerStop, 99, "fs/run/libpod/events/events.log", 7).f("container_id", json!(ID)).f("status", json!("stop"));
        let f = &run_with(vec![stop, docker_exit(100, 0, false)], &facts(vec![web(None)])).findings[0];
        assert_eq!((f.cause, f.confidence, f.container_reason), (Cause::Exit, Confidence::Certain, Some(ContainerReason::RuntimeStop)));
    }

    #[test]
    fn docker_stop_is_sigterm_then_sigkill_from_the_runtime_one_death_and_history_says_who_asked() {
        let doc = run_with(
            vec![
                ev(Source::Wtmp, EventKind::Login, 0, "fs/var/log/wtmp", 1).uid(1000, "alice").f("tty", json!("pts/0")),
                ev(Source::History, EventKind::KillCommand, 97, "fs/home/alice/.bash_history", 3)
                    .uid(1000, "alice")
                    .f("command", json!("docker stop -t 2 web"))
                    .f("tool", json!("docker"))
                    .f("action", json!("stop"))
                    .f("target_names", json!(["web"])),
                // As measured here (Docker 20.10, `docker stop -t 2` of a process ignoring SIGTERM, tracefs
                // signal_generate): one runc process sends SIGTERM, another SIGKILL 2.01 s later.
                traced(98, 1, 31221, "runc", 500, 15),
                traced(100, 2, 31244, "runc", 500, 9),
                docker_exit(100, 137, false),
            ],
            &facts(vec![web(None)]),
        );
        let deaths: Vec<_> = doc.findings.iter().filter(|f| f.victim.pid == Some(500) || f.victim.container.is_some()).collect();
        assert_eq!(deaths.len(), 1, "SIGTERM, SIGKILL and the exit are one death: {doc:#?}");
        let f = deaths[0];
        assert_eq!((f.cause, f.confidence, f.container_reason), (Cause::Signal, Confidence::Certain, Some(ContainerReason::RuntimeStop)));
        assert_eq!(f.signal.as_ref().map(|s| s.number), Some(9));
        assert_eq!(f.killer.as_ref().and_then(|k| k.comm.as_deref()), Some("runc"));
        assert_eq!(f.evidence.iter().filter(|e| e.role.contains("signal recorder")).count(), 2, "both signals cited: {:?}", f.evidence);
        assert!(f.reasoning.contains("SIGTERM") && f.reasoning.contains("2.0 s later"), "{}", f.reasoning);
        assert!(f.candidates.iter().any(|c| c.description.contains("docker stop -t 2 web")), "{:?}", f.candidates);
        assert_eq!(f.victim.container.as_ref().and_then(|c| c.name.as_deref()), Some("web"));
    }

    #[test]
    fn the_exit_goes_to_the_main_process_not_to_the_namespace_members_the_kernel_killed_after_it() {
        // As traced here: runc's SIGKILL to the container's sh, then the kernel's SIGKILL (SI_KERNEL) to its child
        // sleep 0.1 ms later, when the namespace's init died.
        let kernel = traced(100, 3, 500, "sh", 510, 9).f("signal_origin", json!("kernel")).f("si_code_name", json!("SI_KERNEL"));
        let doc = run_with(vec![traced(99, 2, 31277, "runc", 500, 9), kernel, docker_exit(100, 137, false)], &facts(vec![web(None)]));
        let main = doc.findings.iter().find(|f| f.victim.pid == Some(500)).expect("main");
        assert_eq!(main.details.get("exit_code"), Some(&json!(137)), "{doc:#?}");
        assert_eq!(main.container_reason, Some(ContainerReason::RuntimeKill));
        let child = doc.findings.iter().find(|f| f.victim.pid == Some(510)).expect("child");
        assert_eq!((child.details.get("exit_code"), child.container_reason), (None, None));
        assert_eq!(child.victim.container.as_ref().map(|c| c.id.as_str()), Some(ID), "the child ran in the container too");
    }

    #[test]
    fn a_lone_sigkill_from_the_runtime_is_a_runtime_kill() {
        let doc = run_with(vec![traced(100, 1, 701, "runc", 500, 9), docker_exit(100, 137, false)], &facts(vec![web(None)]));
        assert_eq!(doc.findings.len(), 1, "{doc:#?}");
        let f = &doc.findings[0];
        assert_eq!((f.confidence, f.container_reason), (Confidence::Certain, Some(ContainerReason::RuntimeKill)));
        // The same kill from a shell inside nothing the runtime runs: no runtime reason claimed.
        let f = &run_with(vec![traced(100, 1, 702, "bash", 500, 9), docker_exit(100, 137, false)], &facts(vec![web(None)])).findings[0];
        assert_eq!(f.container_reason, None, "{f:#?}");
        assert_eq!(f.killer.as_ref().and_then(|k| k.comm.as_deref()), Some("bash"));
    }

    #[test]
    fn a_liveness_probe_kill_is_certain_only_with_the_probe_and_the_kill_lines() {
        let probe = || kubelet(EventKind::ProbeFailed, 90, 1).f("probe_type", json!("Liveness"));
        let doc = run(vec![probe(), kube_stop(91, 2), kube_exit(95, 3, 137)]);
        assert_eq!(doc.findings.len(), 1, "{doc:#?}");
        let f = &doc.findings[0];
        assert_eq!((f.cause, f.confidence, f.container_reason), (Cause::Signal, Confidence::Certain, Some(ContainerReason::LivenessProbe)));
        assert_eq!((f.via.as_deref(), f.killer.as_ref().and_then(|k| k.comm.as_deref())), (Some("kubelet"), Some("kubelet")));
        assert_eq!(f.killer.as_ref().and_then(|k| k.pid), Some(1234));
        // The runtime from the kubelet's kill line (containerID="containerd://…"), the name from its records.
        let c = f.victim.container.as_ref().expect("container");
        assert_eq!((c.runtime.as_str(), c.name.as_deref()), ("containerd", Some("app")));
        assert!(f.reasoning.contains("The kubelet recorded its end with exit code 137"), "{}", f.reasoning);
        let pod = f.victim.pod.as_ref().expect("pod");
        assert_eq!((pod.namespace.as_deref(), pod.name.as_deref()), (Some("shop"), Some("web-7d9f")));
        assert_eq!(f.evidence.iter().filter(|e| &*e.origin.entry == KUBELET).count(), 3, "{:?}", f.evidence);
        // Without the kill line: the probe and an exit 137 make it likely only.
        let f = &run(vec![probe(), kube_exit(95, 3, 137)]).findings[0];
        assert_eq!((f.confidence, f.container_reason), (Confidence::Likely, Some(ContainerReason::LivenessProbe)));
        // A readiness probe never kills.
        let f = &run(vec![kubelet(EventKind::ProbeFailed, 90, 1).f("probe_type", json!("Readiness")), kube_exit(95, 3, 137)]).findings[0];
        assert_eq!(f.container_reason, None);
        // The kill line alone: the kubelet killed it, why is not in the bundle.
        let f = &run(vec![kube_stop(91, 2), kube_exit(95, 3, 137)]).findings[0];
        assert_eq!((f.container_reason, f.via.as_deref()), (None, Some("kubelet")));
        assert!(f.missing.iter().any(|m| m.contains("naming why")), "{:?}", f.missing);
    }

    #[test]
    fn eviction_deletion_and_preemption_come_from_the_line_before_the_kill() {
        let evicted = run(vec![kubelet(EventKind::PodEvicted, 90, 1), kube_stop(91, 2), kube_exit(95, 3, 137)]);
        assert_eq!(evicted.findings.len(), 1, "{evicted:#?}");
        assert_eq!((evicted.findings[0].container_reason, evicted.findings[0].confidence), (Some(ContainerReason::Eviction), Confidence::Certain));
        let deleted = run(vec![kubelet(EventKind::PodDeleted, 90, 1).f("reason", json!("api")), kube_stop(91, 2), kube_exit(95, 3, 143)]);
        assert_eq!(deleted.findings[0].container_reason, Some(ContainerReason::ApiDelete));
        assert_eq!(deleted.findings[0].signal.as_ref().map(|s| s.number), Some(15));
        let preempted = run(vec![kubelet(EventKind::PodDeleted, 90, 1).f("reason", json!("preempted")), kube_stop(91, 2), kube_exit(95, 3, 137)]);
        assert_eq!(preempted.findings[0].container_reason, Some(ContainerReason::Preemption));
        // The eviction line alone (the node's journal is the durable record): one finding for the pod.
        let alone = run(vec![kubelet(EventKind::PodEvicted, 90, 1)]);
        assert_eq!(alone.findings.len(), 1, "{alone:#?}");
        let f = &alone.findings[0];
        assert_eq!((f.container_reason, f.confidence, f.victim.comm.as_deref()), (Some(ContainerReason::Eviction), Confidence::Certain, Some("(the pod's containers)")));
        assert_eq!(f.victim.pod.as_ref().and_then(|p| p.name.as_deref()), Some("web-7d9f"));
        assert!(f.reasoning.contains("No record of its end"), "{}", f.reasoning);
    }

    #[test]
    fn a_finding_never_names_a_container_no_record_ties_it_to() {
        // A kill of pid 42 on the host; the only container record is of another pid.
        let kill = || audit_kill(50, 1, 311, 310, "kill", "/usr/bin/kill", 42, 9);
        let f = &run_with(vec![kill()], &facts(vec![web(Some(99))])).findings[0];
        assert_eq!((f.victim.container.as_ref(), f.victim.pod.as_ref()), (None, None), "{f:#?}");
        // A record whose main pid was 42 while it ran (started before, finished after) names it.
        let f = &run_with(vec![kill()], &facts(vec![web(Some(42))])).findings[0];
        assert_eq!(f.victim.container.as_ref().and_then(|c| c.name.as_deref()), Some("web"));
        assert!(f.reasoning.contains("gives pid 42"), "{}", f.reasoning);
        // …but not one that started after the death (pid reuse).
        let mut later = web(Some(42));
        later.started = Some(at(60));
        let f = &run_with(vec![kill()], &facts(vec![later])).findings[0];
        assert_eq!(f.victim.container, None);
        // A cgroup path alone gives the id, with runtime `unknown` and nothing else.
        let f = &run(vec![kernel_oom(100, 4, 4242)]).findings[0];
        let c = f.victim.container.as_ref().expect("container from the cgroup path");
        assert_eq!((c.runtime.as_str(), c.id.as_str(), c.name.as_ref(), c.image.as_ref()), ("unknown", ID, None, None));
        assert_eq!(f.container_reason, Some(ContainerReason::MemoryLimit));
    }

    #[test]
    fn an_oom_at_the_pods_limit_is_the_containers_memory_limit_and_names_the_pod() {
        let pod_cg = format!("/kubepods/burstable/pod{POD_UID}");
        let doc = run(vec![
            ev(Source::Kmsg, EventKind::OomKill, 100, KMSG, 4)
                .pid(4242)
                .comm("java")
                .f("global", json!(false))
                .f("constraint", json!("CONSTRAINT_MEMCG"))
                .f("oom_memcg", json!(pod_cg.clone()))
                .f("task_memcg", json!(format!("{pod_cg}/{ID}"))),
            kube_exit(101, 3, 137),
        ]);
        assert_eq!(doc.findings.len(), 1, "the kubelet's exit joins the kernel's kill: {doc:#?}");
        let f = &doc.findings[0];
        assert_eq!((f.cause, f.confidence, f.container_reason), (Cause::OomKill, Confidence::Certain, Some(ContainerReason::MemoryLimit)));
        assert!(f.reasoning.contains("is the pod's"), "{}", f.reasoning);
        let pod = f.victim.pod.as_ref().expect("pod");
        assert_eq!((pod.namespace.as_deref(), pod.name.as_deref(), pod.uid.as_deref()), (Some("shop"), Some("web-7d9f"), Some(POD_UID)));
        assert_eq!(f.victim.container.as_ref().and_then(|c| c.name.as_deref()), Some("app"));
        // The node's allocatable cgroup above the pods is no container's limit.
        let f = &run(vec![ev(Source::Kmsg, EventKind::OomKill, 100, KMSG, 4)
            .pid(4242)
            .f("global", json!(false))
            .f("oom_memcg", json!("/kubepods"))
            .f("task_memcg", json!(format!("{pod_cg}/{ID}")))])
        .findings[0];
        assert_eq!(f.container_reason, None);
        assert_eq!(f.victim.pod.as_ref().and_then(|p| p.uid.as_deref()), Some(POD_UID));
    }

    #[test]
    fn a_restart_loop_gives_one_finding_per_death_and_an_advisory() {
        let mut r = web(None);
        r.restart_count = Some(3);
        r.restart_policy = Some("on-failure:3".into());
        let doc = run_with(
            vec![kernel_oom(10, 1, 501), kernel_oom(20, 2, 502), kernel_oom(30, 3, 503), kernel_oom(100, 4, 504), docker_exit(100, 137, true)],
            &facts(vec![r]),
        );
        assert_eq!(doc.findings.len(), 4, "{doc:#?}");
        assert!(doc.findings.iter().all(|f| f.victim.container.as_ref().and_then(|c| c.name.as_deref()) == Some("web")));
        // Only the death the runtime's saved state describes gets its restart count.
        let counts: Vec<Option<u64>> = doc.findings.iter().map(|f| f.victim.container.as_ref().and_then(|c| c.restart_count)).collect();
        assert_eq!(counts, vec![None, None, None, Some(3)]);
        let a = doc.advisories.iter().find(|a| a.id == "container_restart_loop").expect("advisory");
        assert!(a.message.contains("web") && a.message.contains("on-failure:3"), "{}", a.message);
        let step = doc.checklist.iter().find(|c| c.step == "containers").expect("step");
        assert!(step.summary.contains("1 container record(s) (docker)"), "{}", step.summary);
    }

    #[test]
    fn a_liveness_probe_timing_out_and_a_tight_memory_limit_are_advised() {
        let doc = run_with(
            vec![
                kubelet(EventKind::ProbeFailed, 90, 1).f("probe_type", json!("Liveness")).f("output", json!("Get \"http://10.0.0.5:8080/healthz\": context deadline exceeded")),
                ev(Source::Settings, EventKind::Setting, 1, "live/cgroup/memory.json", 1)
                    .f("cgroup", json!(format!("/docker/{ID}")))
                    .f("limit", json!(33_554_432))
                    .f("max_usage", json!(32_000_000)),
            ],
            &facts(vec![web(None)]),
        );
        let ids: Vec<&str> = doc.advisories.iter().map(|a| a.id.as_str()).collect();
        assert!(ids.contains(&"liveness_probe_timeout") && ids.contains(&"container_memory_limit_tight"), "{ids:?}");
        assert!(doc.advisories.iter().any(|a| a.message.contains("shop/web-7d9f app")));
    }

    #[test]
    fn why_finds_a_container_by_name_id_prefix_and_pod_and_says_what_the_records_hold_otherwise() {
        let mut events: Vec<Event> = vec![docker_exit(100, 3, false).0];
        let h = facts(vec![web(None)]);
        let doc = analyze(&manifest(), &events, &h, true);
        for q in [
            WhyQuery { container: Some("web".into()), ..Default::default() },
            WhyQuery { container: Some(ID[..12].into()), ..Default::default() },
        ] {
            let a = why(&doc, &events, &h, &q);
            assert_eq!(a.matched, 1, "{}", a.text);
            assert!(a.text.contains("container: web (1e1755e4a1d0, image busybox:c14, runtime docker") && a.text.contains("reason:   own_exit"), "{}", a.text);
            assert!(a.text.starts_with("F1  (main process of container web)"), "{}", a.text);
        }
        // 11 digits are too few to name a container.
        assert_eq!(why(&doc, &events, &h, &WhyQuery { container: Some(ID[..11].into()), ..Default::default() }).matched, 0);
        // A pod.
        events = vec![kubelet(EventKind::PodEvicted, 90, 1).0, kube_stop(91, 2).0, kube_exit(95, 3, 137).0];
        let doc = analyze(&manifest(), &events, &Facts::default(), true);
        let a = why(&doc, &events, &Facts::default(), &WhyQuery { pod: Some("shop/web-7d9f".into()), ..Default::default() });
        assert_eq!(a.matched, 1, "{}", a.text);
        assert!(a.text.contains("pod:      shop/web-7d9f") && a.text.contains("reason:   eviction"), "{}", a.text);
        assert_eq!(why(&doc, &events, &Facts::default(), &WhyQuery { pod: Some("other/web-7d9f".into()), ..Default::default() }).matched, 0);
        // No death of it: what the runtimes' records hold, and what was in place.
        let a = why(&analyze(&manifest(), &[], &h, true), &[], &h, &WhyQuery { container: Some("web".into()), ..Default::default() });
        assert_eq!(a.matched, 0);
        assert!(a.text.contains("The runtimes' records of it:") && a.text.contains("name web") && a.text.contains(CFG), "{}", a.text);
        assert!(a.text.contains("signal recorder"), "{}", a.text);
        let a = why(&analyze(&manifest(), &[], &h, true), &[], &h, &WhyQuery { container: Some("db".into()), ..Default::default() });
        assert!(a.text.contains("No runtime record in the bundle names it"), "{}", a.text);
    }
}
