//! Findings for deaths this test host cannot stage: systemd journals (code=killed, oom-kill, watchdog,
//! supervisor escalation), systemd-coredump, a global OOM with a task dump, and a reboot. The evidence is
//! the fixtures' real-format files, packed into a signed bundle and rendered by the real binary.

mod common;

use std::process::Command;

use coroner_schemas::manifest::{Category, Format};
use serde_json::Value;

fn fixture(p: &str) -> Vec<u8> {
    std::fs::read(common::repo_root().join("fixtures").join(p)).unwrap_or_else(|e| panic!("fixture {p}: {e}"))
}

fn render() -> (Value, String) {
    let (doc, md, _) = render_all();
    (doc, md)
}

fn render_all() -> (Value, String, String) {
    render_with(&[])
}

/// Writes `b` as a bundle and renders it with `coroner-report render` (plus `extra` options); returns the temporary
/// directory (kept alive) and the output directory in it.
fn render_bundle(b: &common::BundleBuilder, extra: &[&str]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let bundle = dir.path().join("b.tar.gz");
    b.write(&bundle);
    let out = dir.path().join("r");
    let r = Command::new(env!("CARGO_BIN_EXE_coroner-report"))
        .args(["render", &bundle.display().to_string(), "-o", &out.display().to_string()])
        .args(extra)
        .output()
        .expect("run");
    assert!(r.status.code().is_some_and(|c| c <= 1), "{}", String::from_utf8_lossy(&r.stderr));
    (dir, out)
}

fn render_with(extra: &[&str]) -> (Value, String, String) {
    let mut b = common::BundleBuilder::new("db1");
    b.file("cmd/journalctl.json", "journalctl -o json", Category::Journal, Format::JournalJson, &fixture("journal/journal.json"));
    b.file("fs/var/log/dmesg", "/var/log/dmesg", Category::Kernel, Format::DmesgText, &fixture("kmsg/dmesg-global-oom.txt"));
    b.file("fs/var/log/wtmp", "/var/log/wtmp", Category::Logins, Format::Utmp, &fixture("utmp/wtmp"));
    let (_dir, out) = render_bundle(&b, extra);
    let doc: Value = serde_json::from_slice(&std::fs::read(out.join("findings.json")).expect("findings")).expect("json");
    let md = std::fs::read_to_string(out.join("report.md")).expect("md");
    let jsonl = std::fs::read_to_string(out.join("timeline.jsonl")).expect("jsonl");
    (doc, md, jsonl)
}

/// The wtmp rows of a timeline, with the 384-byte record each points at in the fixture.
fn wtmp_rows(jsonl: &str) -> Vec<(Value, Vec<u8>)> {
    let wtmp = fixture("utmp/wtmp");
    let rows: Vec<(Value, Vec<u8>)> = jsonl
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).expect("row"))
        .filter(|row| row["source"] == "wtmp")
        .map(|row| {
            assert_eq!(row["entry"], "fs/var/log/wtmp", "{row}");
            let at = usize::try_from(row["offset"].as_u64().expect("offset")).expect("offset");
            let rec = wtmp.get(at..at + 384).unwrap_or_else(|| panic!("offset {at} is not a record: {row}")).to_vec();
            (row, rec)
        })
        .collect();
    assert!(!rows.is_empty(), "no wtmp rows");
    rows
}

/// Binary records (a 384-byte utmp struct) are not repeated in the timeline: each row names the entry and the
/// offset of its bytes (which hold the login the row describes). Regression: they used to be written as text
/// with every NUL escaped, three times their size.
#[test]
fn binary_records_are_pointed_at_not_repeated() {
    let (_, _, jsonl) = render_all();
    for (row, rec) in wtmp_rows(&jsonl) {
        assert_eq!(row["raw"], "", "{row}");
        assert!(row.get("raw_base64").is_none(), "{row}");
        if let Some(user) = row["user"].as_str().filter(|_| row["kind"] == "login") {
            assert_eq!(&rec[44..44 + user.len()], user.as_bytes(), "ut_user of the record at the row's offset: {row}");
        }
    }
}

/// With `--raw-binary` each binary record travels once, as base64 of exactly the bytes at its offset.
#[test]
fn raw_binary_puts_the_exact_record_in_base64() {
    use base64::Engine as _;
    let (_, _, jsonl) = render_with(&["--raw-binary"]);
    for (row, rec) in wtmp_rows(&jsonl) {
        assert_eq!(row["raw"], "", "{row}");
        let b64 = row["raw_base64"].as_str().expect("raw_base64");
        assert_eq!(b64.len(), 512, "one 384-byte record: {row}");
        let bytes = base64::engine::general_purpose::STANDARD.decode(b64).expect("base64");
        assert_eq!(bytes, rec, "{row}");
    }
}

fn find(doc: &Value, pred: impl Fn(&Value) -> bool) -> Vec<&Value> {
    doc["findings"].as_array().expect("findings").iter().filter(|f| pred(f)).collect()
}

#[test]
fn systemd_global_oom_and_reboot_deaths_are_explained() {
    let (doc, md) = render();
    let dump = serde_json::to_string_pretty(&doc["findings"]).unwrap_or_default();

    // systemd: myapp was SIGKILLed and its result was oom-kill → one OOM finding for the unit.
    let myapp = find(&doc, |f| f["victim"]["unit"] == "myapp.service");
    assert_eq!(myapp.len(), 1, "{dump}");
    assert_eq!(myapp[0]["cause"], "oom_kill", "{dump}");

    // systemd watchdog: worker (pid 4242 per the coredump and kill lines) killed with SIGABRT by systemd,
    // dumped core — killer systemd, via systemd, one finding.
    let worker = find(&doc, |f| f["victim"]["unit"] == "worker.service" || f["victim"]["comm"] == "worker");
    assert_eq!(worker.len(), 1, "{dump}");
    assert_eq!(worker[0]["killer"]["comm"], "systemd", "{dump}");
    assert_eq!(worker[0]["via"], "systemd");
    assert_eq!(worker[0]["signal"]["name"], "SIGABRT");

    // Supervisor escalation: slowd killed with SIGKILL by systemd after the stop timed out.
    let slow = find(&doc, |f| f["victim"]["pid"] == 777);
    assert_eq!(slow.len(), 1, "{dump}");
    assert_eq!((slow[0]["cause"].as_str(), slow[0]["confidence"].as_str()), (Some("signal"), Some("certain")));
    assert_eq!(slow[0]["killer"]["pid"], 1);

    // Global OOM with a task dump: postgres, its RSS, and the largest consumers.
    let pg = find(&doc, |f| f["victim"]["comm"] == "postgres" && f["cause"] == "oom_kill");
    assert_eq!(pg.len(), 1, "{dump}");
    assert_eq!(pg[0]["details"]["global"], true, "{dump}");
    assert!(pg[0]["details"]["top_consumers"].as_array().is_some_and(|t| !t.is_empty()), "{dump}");
    assert!(pg[0]["reasoning"].as_str().is_some_and(|r| r.contains("when the whole host ran out of memory")), "{:#}", pg[0]);

    // The memcg OOM from the kernel transport in the journal: certain, with the cgroup.
    let py = find(&doc, |f| f["victim"]["pid"] == 14406);
    assert_eq!(py.len(), 1, "{dump}");
    assert_eq!(py[0]["cause"], "oom_kill");
    assert_eq!(py[0]["victim"]["cgroup"], "/coroner-fixture");

    // No certain finding without a direct record: every certain one cites at least one evidence line.
    for f in doc["findings"].as_array().expect("findings") {
        if f["confidence"] == "certain" {
            assert!(f["evidence"].as_array().is_some_and(|e| !e.is_empty()), "{f:#}");
        }
    }
    // The Markdown leads with findings.
    let fi = md.find("Findings").expect("findings section");
    let tl = md.find("Timeline").unwrap_or(md.len());
    assert!(fi < tl);
}

/// Old kernels (3.10 to 5.0) print a kill in two lines; the findings explain each death as an OOM kill exactly as
/// for newer kernels: one finding per victim, none for a parent that was chosen but not killed.
#[test]
fn old_kernel_oom_kills_are_explained_once_each() {
    let mut b = common::BundleBuilder::new("old1");
    b.file("fs/var/log/dmesg", "/var/log/dmesg", Category::Kernel, Format::DmesgText, &fixture("kmsg/dmesg-oom-3.10-global.txt"));
    b.file("fs/var/log/dmesg.0", "/var/log/dmesg.0", Category::Kernel, Format::DmesgText, &fixture("kmsg/dmesg-oom-4.19-memcg.txt"));
    b.file("fs/var/log/messages", "/var/log/messages", Category::Syslog, Format::Syslog, &fixture("syslog/messages-rhel7-oom"));
    let (_dir, out) = render_bundle(&b, &[]);
    let doc: Value = serde_json::from_slice(&std::fs::read(out.join("findings.json")).expect("findings")).expect("json");
    let dump = serde_json::to_string_pretty(&doc["findings"]).unwrap_or_default();
    let ooms = find(&doc, |f| f["cause"] == "oom_kill");
    let mut victims: Vec<i64> = ooms.iter().filter_map(|f| f["victim"]["pid"].as_i64()).collect();
    victims.sort_unstable();
    assert_eq!(victims, vec![2101, 8811, 9001, 9002, 21945, 30211], "{dump}");
    for f in &ooms {
        assert_eq!((f["confidence"].as_str(), f["signal"]["name"].as_str()), (Some("certain"), Some("SIGKILL")), "{f:#}");
    }
    assert!(find(&doc, |f| f["victim"]["pid"] == 9000).is_empty(), "the chosen parent did not die: {dump}");

    let java = find(&doc, |f| f["victim"]["pid"] == 8811)[0];
    assert_eq!(java["details"]["global"], true);
    assert_eq!(java["details"]["score"], 912);
    assert_eq!(java["victim"]["uid"], 1000);
    assert_eq!(java["details"]["anon_rss_kb"], 15_279_868);
    // A 3.10 kernel prints no constraint: outside any memory cgroup, but a cpuset or memory policy is not ruled out.
    assert!(
        java["reasoning"].as_str().is_some_and(|r| r.contains("outside any memory cgroup") && r.contains("gives no constraint") && !r.contains("when the whole host ran out")),
        "{java:#}"
    );
    assert!(java["details"]["top_consumers"].as_array().is_some_and(|t| t[0]["pid"] == 8811), "{java:#}");

    let child = find(&doc, |f| f["victim"]["pid"] == 9001)[0];
    assert_eq!(child["details"]["chosen_pid"], 9000);
    assert!(child["reasoning"].as_str().is_some_and(|r| r.contains("celery (pid 9000)") && r.contains("child")), "{child:#}");
    let shared = find(&doc, |f| f["victim"]["pid"] == 9002)[0];
    assert!(shared["reasoning"].as_str().is_some_and(|r| r.contains("pid 9001") && r.contains("shared")), "{shared:#}");

    let py = find(&doc, |f| f["victim"]["pid"] == 2101)[0];
    assert_eq!(py["details"]["global"], false);
    assert_eq!(py["details"]["oom_memcg"], "/lxc/web1");
    assert_eq!(py["victim"]["cgroup"], "/lxc/web1/app");
    assert!(py["reasoning"].as_str().is_some_and(|r| r.contains("memory cgroup /lxc/web1 hit its limit")), "{py:#}");

    let tomcat = find(&doc, |f| f["victim"]["pid"] == 30211)[0];
    assert_eq!(tomcat["victim"]["cgroup"], "/system.slice/tomcat.service");
    assert_eq!(tomcat["victim"]["uid"], 91);
    let db = find(&doc, |f| f["victim"]["pid"] == 21945)[0];
    assert_eq!((db["details"]["global"].as_bool(), db["victim"]["uid"].as_i64()), (Some(true), Some(27)), "{db:#}");

    // The choice line the score and the chosen parent come from is cited beside the kill line.
    let cited = |f: &Value| -> Vec<String> {
        f["evidence"].as_array().expect("evidence").iter().filter_map(|r| r["raw"]["text"].as_str().map(str::to_owned)).collect()
    };
    assert!(cited(java).iter().any(|r| r.contains("Kill process 8811") && r.contains("score 912")), "{java:#}");
    assert!(cited(child).iter().any(|r| r.contains("Kill process 9000") && r.contains("sacrifice child")), "{child:#}");
}

/// A 5.x+ memcg OOM kill cites its `oom-kill:` line (constraint, memcg), which the kill event's facts come from;
/// on this VM's real kernel output.
#[test]
fn an_oom_kill_cites_the_oom_kill_line_it_reads() {
    let mut b = common::BundleBuilder::new("vm");
    b.file("fs/var/log/dmesg", "/var/log/dmesg", Category::Kernel, Format::DmesgText, &fixture("kmsg/dmesg.txt"));
    let doc = render_doc(&b);
    let f = find(&doc, |f| f["victim"]["pid"] == 14231);
    assert_eq!(f.len(), 1, "{doc:#}");
    let roles: Vec<(String, String)> = f[0]["evidence"]
        .as_array()
        .expect("evidence")
        .iter()
        .map(|r| (r["role"].as_str().unwrap_or("").to_owned(), r["raw"]["text"].as_str().unwrap_or("").to_owned()))
        .collect();
    assert!(
        roles.iter().any(|(role, raw)| role == "OOM killer's choice record" && raw.contains("oom-kill:constraint=CONSTRAINT_MEMCG") && raw.contains("pid=14231")),
        "{roles:#?}"
    );
}

fn validator(name: &str) -> jsonschema::Validator {
    let path = common::repo_root().join("schemas/json").join(name);
    let schema: Value = serde_json::from_slice(&std::fs::read(&path).expect("schema file")).expect("schema json");
    jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The JSON contract is enforced on real output: findings.json and every parsed event must validate against
/// the committed schema files and deserialise into the deny_unknown_fields types.
#[test]
fn findings_and_events_match_their_schema_files() {
    let (doc, _) = render();
    let v = validator("findings.schema.json");
    let errors: Vec<String> = v.iter_errors(&doc).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "findings.json does not match findings.schema.json: {errors:#?}");
    let typed: coroner_schemas::FindingsDoc = serde_json::from_value(doc.clone()).expect("strict FindingsDoc");
    assert!(!typed.findings.is_empty() && !typed.checklist.is_empty());
    // The validator is not vacuous: a finding without its cause is refused.
    let mut broken = doc.clone();
    if let Some(f) = broken["findings"].get_mut(0).and_then(|f| f.as_object_mut()) {
        f.remove("cause");
    }
    assert!(!v.is_valid(&broken));

    // Every event of every parser, from the committed sample bundle and the fixtures above.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut b = common::BundleBuilder::new("db1");
    b.file("cmd/journalctl.json", "journalctl -o json", Category::Journal, Format::JournalJson, &fixture("journal/journal.json"));
    b.file("fs/var/log/dmesg", "/var/log/dmesg", Category::Kernel, Format::DmesgText, &fixture("kmsg/dmesg-global-oom.txt"));
    b.file("fs/var/log/wtmp", "/var/log/wtmp", Category::Logins, Format::Utmp, &fixture("utmp/wtmp"));
    b.file("fs/root/.bash_history", "/root/.bash_history", Category::History, Format::BashHistory, &fixture("history/bash_history"));
    b.file("fs/etc/crontab", "/etc/crontab", Category::Cron, Format::SystemCrontab, &fixture("cron/crontab"));
    b.file("live/proc/processes.json", "/proc", Category::Proc, Format::ProcSnapshotJson, &fixture("proc/processes.json"));
    b.file("fs/var/log/audit/audit.log", "/var/log/audit/audit.log", Category::Audit, Format::AuditLog, &fixture("audit/enriched.log"));
    b.file("fs/tmp/core", "/tmp/core", Category::Cores, Format::CoreElf, &fixture("cores/f-segv.core"));
    // And every other parser, so no source's events escape the schema.
    b.file("live/kernel/kmsg.txt", "/dev/kmsg", Category::Kernel, Format::Kmsg, &fixture("kmsg/kmsg-staged.records"));
    b.file("fs/var/lib/systemd/pstore/dmesg-ramoops-0", "/var/lib/systemd/pstore/dmesg-ramoops-0", Category::Kernel, Format::Pstore, &fixture("kmsg/pstore-dmesg-ramoops-0"));
    b.file("fs/var/log/kern.log", "/var/log/kern.log", Category::Syslog, Format::Syslog, &fixture("syslog/kern.log"));
    b.file("fs/var/log/auth.log", "/var/log/auth.log", Category::Syslog, Format::Syslog, &fixture("syslog/auth.log"));
    b.file("fs/var/log/syslog-5424", "/var/log/syslog-5424", Category::Syslog, Format::Syslog, &fixture("syslog/syslog-rfc5424"));
    b.file("fs/var/log/btmp", "/var/log/btmp", Category::Logins, Format::Utmp, &fixture("utmp/btmp"));
    b.file("fs/run/utmp", "/run/utmp", Category::Logins, Format::Utmp, &fixture("utmp/utmp"));
    b.file("fs/var/log/lastlog", "/var/log/lastlog", Category::Logins, Format::Lastlog, &fixture("utmp/lastlog"));
    b.file("fs/root/.zsh_history", "/root/.zsh_history", Category::History, Format::ZshHistory, &fixture("history/zsh_history"));
    b.file("fs/root/.local/share/fish/fish_history", "/root/.local/share/fish/fish_history", Category::History, Format::FishHistory, &fixture("history/fish_history"));
    b.file("fs/root/.history", "/root/.history", Category::History, Format::TcshHistory, &fixture("history/tcsh_history"));
    b.file("fs/var/spool/cron/crontabs/alice", "/var/spool/cron/crontabs/alice", Category::Cron, Format::UserCrontab, &fixture("cron/crontab-alice"));
    b.file("fs/etc/anacrontab", "/etc/anacrontab", Category::Cron, Format::Anacrontab, &fixture("cron/anacrontab"));
    b.file("cmd/systemctl-list-timers.txt", "systemctl list-timers --all", Category::Cron, Format::SystemdTimers, &fixture("cron/list-timers-all.txt"));
    b.file("live/settings/sysctl.json", "/proc/sys", Category::Settings, Format::SysctlJson, &fixture("settings/sysctl.json"));
    b.file("live/settings/cgroups.json", "/sys/fs/cgroup", Category::Cgroups, Format::CgroupsJson, &fixture("settings/cgroups-memory.json"));
    b.file("cmd/auditctl-l.txt", "auditctl -l", Category::Audit, Format::AuditRules, &fixture("settings/auditctl-l-kill.txt"));
    b.file("cmd/auditctl-s.txt", "auditctl -s", Category::Audit, Format::AuditStatus, &fixture("settings/auditctl-s.txt"));
    b.file("cmd/systemctl-show.json", "systemctl show", Category::Systemd, Format::SystemdShowJson, &fixture("settings/systemd-show.json"));
    b.file("fs/etc/security/limits.d/f-core.conf", "/etc/security/limits.d/f-core.conf", Category::Limits, Format::LimitsConf, &fixture("settings/limits.d-f-core.conf"));
    b.file("live/proc/1/limits", "/proc/1/limits", Category::Limits, Format::ProcLimits, &fixture("proc/limits-pid1.txt"));
    let bundle = dir.path().join("b.tar.gz");
    b.write(&bundle);
    let loaded = coroner_report::pipeline::load(&bundle, &coroner_report::pipeline::LoadOptions::default()).expect("load");
    assert!(loaded.events.len() > 50, "only {} events", loaded.events.len());
    let ev = validator("event.schema.json");
    // Each parser above produced events (a file its parser ignored would prove nothing).
    let sources: std::collections::BTreeSet<&str> = loaded.events.iter().map(|e| e.source.as_str()).collect();
    for s in ["kmsg", "pstore", "dmesg", "syslog", "journal", "audit", "wtmp", "btmp", "utmp", "lastlog", "history", "cron", "core", "proc", "settings"] {
        assert!(sources.contains(s), "no {s} events: {sources:?}");
    }
    for entry in ["fs/root/.zsh_history", "fs/root/.local/share/fish/fish_history", "fs/etc/security/limits.d/f-core.conf", "live/proc/1/limits", "cmd/auditctl-l.txt", "cmd/systemctl-show.json"] {
        assert!(loaded.events.iter().any(|e| &*e.origin.entry == entry), "no events from {entry}");
    }
    for e in &loaded.events {
        let j = serde_json::to_value(e).expect("event json");
        let errs: Vec<String> = ev.iter_errors(&j).map(|x| format!("{} at {}", x, x.instance_path())).collect();
        assert!(errs.is_empty(), "event from {} does not match event.schema.json: {errs:?}\n{j:#}", e.origin.entry);
        let _: coroner_schemas::Event = serde_json::from_value(j).expect("strict Event");
    }
    let all = serde_json::to_value(&loaded.events).expect("timeline json");
    assert!(validator("timeline.schema.json").is_valid(&all));
}

/// A crash whose core was kept as metadata only (`--cores meta`): the real kmsg records of the segfault of pid
/// 17947, the sysctls and the core's `.meta.json` from the same real bundle (fixtures/cores/PROVENANCE). The
/// core event, made from the file's name alone, is tied to the crash by pid and time.
#[test]
fn a_core_kept_as_metadata_is_tied_to_its_crash() {
    use coroner_schemas::manifest::{ClockSample, Kept, Status};
    const CORE: &str = "/tmp/corepat-test/c1/core.crash.v2-1.17947.1796178730";
    let dir = tempfile::tempdir().expect("tempdir");
    let mut b = common::BundleBuilder::new("vm");
    b.manifest.clock = Some(ClockSample {
        realtime_ns: 1_796_179_751_429_854_389,
        monotonic_ns: 25_146_435_378_173,
        boottime_ns: 25_146_435_378_178,
        uncertainty_ns: 110,
    });
    b.file("live/kernel/kmsg.txt", "/dev/kmsg", Category::Kernel, Format::Kmsg, &fixture("kmsg/kmsg-core-meta.records"));
    b.file("live/settings/sysctl.json", "/proc/sys", Category::Settings, Format::SysctlJson, &fixture("settings/sysctl-core-pattern.json"));
    // What `--cores meta` writes for the core itself: an empty head.
    b.file(&format!("fs{CORE}"), CORE, Category::Cores, Format::CoreElf, b"");
    if let Some(e) = b.manifest.entries.last_mut() {
        e.status = Status::Truncated { kept: Kept::Head, original_size: 450_560, reason: "per-file cap of 0 bytes".into() };
    }
    let meta_path = coroner_schemas::layout::core_meta_path(CORE);
    b.file(&meta_path, CORE, Category::Cores, Format::Other, &fixture("cores/core.crash.v2-1.17947.1796178730.meta.json"));
    let bundle = dir.path().join("b.tar.gz");
    b.write(&bundle);
    let out = dir.path().join("r");
    let r = Command::new(env!("CARGO_BIN_EXE_coroner-report"))
        .args(["render", &bundle.display().to_string(), "-o", &out.display().to_string()])
        .output()
        .expect("run");
    assert_eq!(r.status.code(), Some(0), "no parse problem (the empty head is none): {}", String::from_utf8_lossy(&r.stderr));
    let doc: Value = serde_json::from_slice(&std::fs::read(out.join("findings.json")).expect("findings")).expect("json");
    let dump = serde_json::to_string_pretty(&doc["findings"]).unwrap_or_default();
    let crash = find(&doc, |f| f["victim"]["pid"] == 17947);
    assert_eq!(crash.len(), 1, "{dump}");
    let f = crash[0];
    assert!(
        f["evidence"].as_array().is_some_and(|ev| ev.iter().any(|e| e["origin"]["entry"] == meta_path.as_str())),
        "the core's metadata is evidence: {dump}"
    );
    assert!(f["reasoning"].as_str().is_some_and(|r| r.contains(&format!("stored on the host at {CORE}"))), "{dump}");
    assert!(f["details"].get("core").is_none(), "no 'core missing' note: {dump}");
    // The name was read with the bundle's own core_pattern (kept from the first pass), not a default.
    let jsonl = std::fs::read_to_string(out.join("timeline.jsonl")).expect("jsonl");
    let core: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("row"))
        .filter(|r| r["kind"] == "core_dumped")
        .collect();
    assert_eq!(core.len(), 1, "{core:?}");
    assert_eq!(core[0]["fields"]["name_pattern_from"], "kernel.core_pattern", "{:#}", core[0]);
    assert_eq!(core[0]["fields"]["name_pattern"], "/tmp/corepat-test/c1/core.%e.%p.%t", "{:#}", core[0]);
}

/// The staged kills of fixtures/audit/claims-kills.log (stage-claims.sh), rendered by the real binary.
fn claims_findings() -> Value {
    let mut b = common::BundleBuilder::new("stage");
    b.file("fs/var/log/audit/audit.log", "/var/log/audit/audit.log", Category::Audit, Format::AuditLog, &fixture("audit/claims-kills.log"));
    let (_dir, out) = render_bundle(&b, &[]);
    serde_json::from_slice(&std::fs::read(out.join("findings.json")).expect("findings")).expect("json")
}

/// `timeout 1 sleep 30` sends SIGTERM to sleep 17311 and then kill(0, SIGTERM) to its own process group: one
/// death, whose finding cites both records and calls the second a group kill. Regression: two certain findings.
/// Likely, not certain: SIGTERM can be caught and the audit log holds no record of sleep's end.
#[test]
fn timeout_direct_and_group_kill_are_one_death() {
    let doc = claims_findings();
    let dump = serde_json::to_string_pretty(&doc["findings"]).unwrap_or_default();
    let sleep = find(&doc, |f| f["victim"]["pid"] == 17311);
    assert_eq!(sleep.len(), 1, "{dump}");
    let f = sleep[0];
    assert_eq!((f["cause"].as_str(), f["confidence"].as_str()), (Some("signal"), Some("likely")), "{f:#}");
    assert_eq!(f["killer"]["pid"], 17310, "{f:#}");
    let kills: Vec<&Value> = f["evidence"].as_array().expect("evidence").iter().filter(|e| e["role"].as_str().is_some_and(|r| r.contains("kill"))).collect();
    assert_eq!(kills.len(), 2, "both kill records are evidence: {f:#}");
    let r = f["reasoning"].as_str().unwrap_or("");
    assert!(r.contains("its own process group") && r.contains("kill(0, SIGTERM)"), "{r}");
    // timeout signalled itself too (kill(0) reaches the sender): no death of its own.
    assert!(find(&doc, |f| f["victim"]["pid"] == 17310).is_empty(), "{dump}");
}

/// A sender whose comm differs from its executable's name is described by what its records show. Regression:
/// every such sender was said to have "renamed itself, so trust the executable" — a #! script (pointing the
/// analyst at /usr/bin/bash instead of the script) and pkill (a link to pgrep) alike.
#[test]
fn senders_named_unlike_their_executable_are_told_apart() {
    let doc = claims_findings();
    let reason = |victim: i64| -> String {
        let f = find(&doc, |f| f["victim"]["pid"] == victim);
        assert_eq!(f.len(), 1, "{doc:#}");
        f[0]["reasoning"].as_str().unwrap_or("").to_owned()
    };
    let script = reason(17362);
    assert!(script.contains("ran the script /tmp/coroner-claims.HUhe7G/watchdog.sh with the interpreter /usr/bin/bash"), "{script}");
    let pkill = reason(17364);
    assert!(pkill.contains("started as /usr/bin/pkill, a link to or another name of its executable /usr/bin/pgrep"), "{pkill}");
    let renamed = reason(17382);
    assert!(renamed.contains("\"kworker/0:2\"") && renamed.contains("renamed after exec"), "{renamed}");
    for r in [&script, &pkill] {
        assert!(!r.contains("renamed") && !r.contains("trust the executable"), "{r}");
    }
    // What those sentences rest on is cited: the sender's EXECVE record (its argv) and the records naming its
    // parents. Regression: only the kill's own SYSCALL/OBJ_PID records were cited.
    let f = find(&doc, |f| f["victim"]["pid"] == 17362)[0];
    let cited: Vec<(&str, &str)> = f["evidence"]
        .as_array()
        .expect("evidence")
        .iter()
        .map(|r| (r["role"].as_str().unwrap_or(""), r["raw"]["text"].as_str().unwrap_or("")))
        .collect();
    assert!(
        cited.iter().any(|(role, raw)| *role == "record describing the sender" && raw.contains("type=EXECVE") && raw.contains("watchdog.sh")),
        "{cited:#?}"
    );
    // Its parent chain (pid 17308, known only as its parent) rests on a cited record naming that ppid.
    assert_eq!(f["killer"]["parent_chain"], serde_json::json!(["pid 17308"]), "{f:#}");
    assert!(cited.iter().any(|(_, raw)| raw.contains("ppid=17308 pid=17363")), "{cited:#?}");
}

fn render_doc(b: &common::BundleBuilder) -> Value {
    let (_dir, out) = render_bundle(b, &[]);
    serde_json::from_slice(&std::fs::read(out.join("findings.json")).expect("findings")).expect("json")
}

fn advisory<'a>(doc: &'a Value, id: &str) -> Option<&'a Value> {
    doc["advisories"].as_array().expect("advisories").iter().find(|a| a["id"] == id)
}

/// PID 1's faults are a death only with the kernel's "Attempted to kill init!" panic (which is the host's
/// death); without it they are said as an advisory. Regression: three logged segfaults of PID 1 became one death.
#[test]
fn pid1_faults_are_no_death_without_the_init_panic() {
    use coroner_schemas::manifest::ClockSample;
    // systemd caught its SEGV, had pid 2871 dump its core, and froze.
    let mut b = common::BundleBuilder::new("web1");
    b.file("fs/var/log/syslog", "/var/log/syslog", Category::Syslog, Format::Syslog, &fixture("syslog/syslog-pid1-crash-handler"));
    let doc = render_doc(&b);
    let dump = serde_json::to_string_pretty(&doc).unwrap_or_default();
    assert!(find(&doc, |f| f["victim"]["pid"] == 1).is_empty(), "{dump}");
    let a = advisory(&doc, "pid1_faulted").unwrap_or_else(|| panic!("no advisory: {dump}"));
    let m = a["message"].as_str().unwrap_or("");
    assert!(m.contains("1 record of PID 1 (systemd) faulting (SIGSEGV)") && m.contains("Freezing execution.") && m.contains("froze it"), "{m}");
    let child = find(&doc, |f| f["victim"]["pid"] == 2871);
    assert_eq!(child.len(), 1, "{dump}");
    assert!(child[0]["reasoning"].as_str().is_some_and(|r| r.contains("the child its crash handler forks")), "{:#}", child[0]);

    // Three segfaults of PID 1 in the live ring buffer, no panic: the host was up at collection.
    let mut b = common::BundleBuilder::new("vm");
    b.manifest.clock = Some(ClockSample { realtime_ns: 1_796_000_000_000_000_000, monotonic_ns: 8_000_000_000_000, boottime_ns: 8_000_000_000_000, uncertainty_ns: 100 });
    b.file("live/kernel/kmsg.txt", "/dev/kmsg", Category::Kernel, Format::Kmsg, &fixture("kmsg/kmsg-pid1-segv.records"));
    let doc = render_doc(&b);
    let dump = serde_json::to_string_pretty(&doc).unwrap_or_default();
    assert!(find(&doc, |f| f["victim"]["pid"] == 1).is_empty(), "{dump}");
    let m = advisory(&doc, "pid1_faulted").and_then(|a| a["message"].as_str()).unwrap_or("");
    assert!(m.contains("my-init") && m.contains("3 records of PID 1 (my-init) faulting") && m.contains("still up at collection"), "{dump}");

    // With the panic, PID 1's fault is its death, and the host's: one certain finding citing the panic.
    let mut b = common::BundleBuilder::new("web2");
    b.file("fs/var/lib/systemd/pstore/dmesg-ramoops-0", "/var/lib/systemd/pstore/dmesg-ramoops-0", Category::Kernel, Format::Pstore, &fixture("kmsg/pstore-pid1-panic"));
    let doc = render_doc(&b);
    let dump = serde_json::to_string_pretty(&doc).unwrap_or_default();
    let init = find(&doc, |f| f["victim"]["pid"] == 1);
    assert_eq!(init.len(), 1, "{dump}");
    let f = init[0];
    assert_eq!((f["cause"].as_str(), f["confidence"].as_str(), f["signal"]["number"].as_i64()), (Some("crash"), Some("certain"), Some(11)), "{f:#}");
    assert_eq!(f["details"]["host_down"], true, "{f:#}");
    assert!(f["reasoning"].as_str().is_some_and(|r| r.contains("Attempted to kill init! exitcode=0x0000000b") && r.contains("whole host")), "{f:#}");
    assert!(f["evidence"].as_array().is_some_and(|e| e.iter().any(|x| x["role"] == "kernel panic record (init died)")), "{f:#}");
    assert!(advisory(&doc, "pid1_faulted").is_none(), "{dump}");
}
