//! The signal recorder's log (`coroner-collect watch`, format `watch_jsonl`): the fixtures are the schema's
//! `WatchRecord` values below written out as JSONL (a test holds the checked-in files to them), with the pids,
//! comms, times and trace line of a kill staged on this machine (fixtures/watch/PROVENANCE). The parser's events,
//! facts and problems, the findings they make alone and beside audit and kmsg evidence of the same deaths, `why`
//! when nothing recorded a sender, and hostile text on every output.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use coroner_report::pipeline::{load, LoadOptions};
use coroner_report::sources::facts::{Fact, HostFacts};
use coroner_report::sources::{parse_entry, SourceCtx};
use coroner_schemas::accounts::Accounts;
use coroner_schemas::manifest::{Category, Format};
use coroner_schemas::watch::{
    Ancestor, Delivery, DeliveryAction, FieldFrom, KmsgCopy, Lost, OomVictim, ProcInfo, SignalOrigin, SignalRecord, TargetFate, WatchRecord, WatchStart, WatchStop,
};
use coroner_schemas::{EventKind, Source, Utc};
use serde_json::Value;

const KILL_FIXTURE: &str = "watch/watch-kill.jsonl";
const OOM_FIXTURE: &str = "watch/watch-oom.jsonl";
const WATCH_ENTRY: &str = "fs/var/lib/coroner/watch/watch-1.jsonl";

/// This VM's boot, and the boot clock's zero on the wall clock at the staging (CLOCK_REALTIME
/// 1796456024.258783016 s when /proc/uptime read 9736.31 s), to the microsecond a record's time keeps.
const BOOT_ID: &str = "d1efcf3e-d0ec-4073-8fbf-b3805b31bf7a";
const CLOCK_ZERO_NS: i128 = 1_796_446_287_948_783_000;
/// The staged kill: `killer.sh` (a bash script, pid 32378) ran `kill -9 32374` at boot-clock 9736.321609 s.
const KILL_NS: u64 = 9_736_321_609_000;
const SENDER: i64 = 32378;
const VICTIM: i64 = 32374;

fn utc(ns: i128) -> Utc {
    Utc::from_unix_nanos(ns).expect("time")
}

fn from(fields: &[(&str, FieldFrom)]) -> BTreeMap<String, FieldFrom> {
    fields.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

fn strings(v: &[&str]) -> Option<Vec<String>> {
    Some(v.iter().map(|s| (*s).to_owned()).collect())
}

fn start(at_ns: i128, boot_id: Option<&str>, clock_zero_ns: i128) -> WatchRecord {
    WatchRecord::Start(WatchStart {
        at: utc(at_ns),
        pid: 32300,
        version: "0.1.0".into(),
        boot_id: boot_id.map(str::to_owned),
        instance: "/sys/kernel/tracing/instances/coroner".into(),
        trace_clock: "boot".into(),
        clock_zero: utc(clock_zero_ns),
        events: ["signal/signal_generate", "signal/signal_deliver", "sched/sched_process_exec", "sched/sched_process_fork", "sched/sched_process_exit", "oom/mark_victim"]
            .map(str::to_owned)
            .to_vec(),
        signal_filter: "sig == 9 || sig == 15".into(),
        signals: vec![9, 15],
    })
}

/// The staged kill: a #! bash script killing a renamed copy of sleep, then exiting at once.
fn staged_kill(sender_comm: &str, sender_argv: &[&str], target_comm: &str) -> SignalRecord {
    let at_ns = CLOCK_ZERO_NS + i128::from(KILL_NS);
    SignalRecord {
        at: utc(at_ns),
        clock_ns: KILL_NS,
        sig: 9,
        signal: "SIGKILL".into(),
        code: 0,
        code_name: "SI_USER".into(),
        origin: SignalOrigin::User,
        result: 0,
        result_name: "delivered".into(),
        group: true,
        sender: ProcInfo {
            pid: SENDER,
            tid: None,
            comm: Some(sender_comm.into()),
            exe: Some("/usr/bin/bash".into()),
            argv: strings(sender_argv),
            uid: Some(0),
            loginuid: None,
            cgroup: None,
            parents: vec![
                Ancestor { pid: 32371, comm: Some("bash".into()), exe: Some("/usr/bin/bash".into()) },
                Ancestor { pid: 18389, comm: Some("bash".into()), exe: Some("/usr/bin/bash".into()) },
                Ancestor { pid: 18374, comm: Some("memfd:sealed-91".into()), exe: Some("/memfd:sealed-91173221a7ea (deleted)".into()) },
                Ancestor { pid: 1, comm: Some("process_api".into()), exe: None },
            ],
            from: from(&[("comm", FieldFrom::Trace), ("exe", FieldFrom::Table), ("argv", FieldFrom::Table), ("uid", FieldFrom::Table), ("loginuid", FieldFrom::Table), ("parents", FieldFrom::Table)]),
        },
        target: ProcInfo {
            pid: VICTIM,
            tid: None,
            comm: Some(target_comm.into()),
            exe: Some("/tmp/victim-sleep".into()),
            argv: strings(&["/tmp/victim-sleep", "300"]),
            uid: Some(0),
            loginuid: None,
            cgroup: Some("/".into()),
            parents: vec![],
            from: from(&[("comm", FieldFrom::Trace), ("exe", FieldFrom::Table), ("argv", FieldFrom::Table), ("uid", FieldFrom::Table), ("cgroup", FieldFrom::Proc)]),
        },
        fate: TargetFate::Exited { after_us: 48 },
        delivery: None,
        raw: format!("       {sender_comm}-{SENDER}   [001] d..1.  9736.321609: signal_generate: sig=9 errno=0 code=0 comm={target_comm} pid={VICTIM} grp=1 res=0"),
    }
}

/// fixtures/watch/watch-kill.jsonl: a run of the recorder around the staged kill.
fn kill_layout() -> Vec<WatchRecord> {
    vec![
        start(CLOCK_ZERO_NS + 9_730_000_000_000, Some(BOOT_ID), CLOCK_ZERO_NS),
        WatchRecord::Signal(staged_kill("killer.sh", &["/bin/bash", "/tmp/killer.sh"], "victim-sleep")),
        WatchRecord::Stop(WatchStop { at: utc(CLOCK_ZERO_NS + 9_740_000_000_000), reason: "SIGTERM".into(), records: 1, lost: 0 }),
    ]
}

/// The clock of fixtures/kmsg/kmsg-staged.records (CLOCK_REALTIME 1795810888666408980 − CLOCK_BOOTTIME
/// 1109713703265 ns at its capture), to the microsecond.
const OOM_CLOCK_ZERO_NS: i128 = 1_795_809_778_952_706_000;

/// fixtures/watch/watch-oom.jsonl: the recorder's view of the memory-cgroup OOM kill of python3 14231 in
/// fixtures/kmsg/kmsg-staged.records, with copies of its two last kmsg records, and a counted loss. No stop:
/// still running at collection.
fn oom_layout() -> Vec<WatchRecord> {
    let kill_us: u64 = 1_088_676_491;
    let at = |us: u64| utc(OOM_CLOCK_ZERO_NS + i128::from(us) * 1000);
    let victim = ProcInfo {
        pid: 14231,
        tid: None,
        comm: Some("python3".into()),
        exe: Some("/usr/bin/python3.11".into()),
        argv: strings(&["python3", "-c", "a=[]\nwhile 1: a.append(bytearray(1<<20))"]),
        uid: Some(0),
        loginuid: None,
        cgroup: Some("/coroner-fixture".into()),
        parents: vec![Ancestor { pid: 14229, comm: Some("bash".into()), exe: Some("/usr/bin/bash".into()) }],
        from: from(&[("comm", FieldFrom::Trace), ("exe", FieldFrom::Table), ("argv", FieldFrom::Table), ("cgroup", FieldFrom::Proc), ("parents", FieldFrom::Table)]),
    };
    let copy = |seq: u64, us: u64, body: &str| WatchRecord::Kmsg(KmsgCopy { at: Some(at(us)), seq, raw: format!("{body}\n") });
    vec![
        start(OOM_CLOCK_ZERO_NS + 1_080_000_000_000, None, OOM_CLOCK_ZERO_NS),
        WatchRecord::OomVictim(OomVictim {
            at: at(kill_us - 20),
            clock_ns: (kill_us - 20) * 1000,
            pid: 14231,
            comm: Some("python3".into()),
            uid: Some(0),
            total_vm_kb: Some(221_368),
            anon_rss_kb: Some(50_816),
            file_rss_kb: Some(6_596),
            shmem_rss_kb: Some(0),
            oom_score_adj: Some(0),
            process: victim.clone(),
            raw: "         python3-14231   [001] .....  1088.676471: mark_victim: pid=14231 comm=python3 total_vm=221368 anon_rss=50816 file_rss=6596 shmem_rss=0 uid=0 pgtables=168 oom_score_adj=0".into(),
        }),
        WatchRecord::Signal(SignalRecord {
            at: at(kill_us - 15),
            clock_ns: (kill_us - 15) * 1000,
            sig: 9,
            signal: "SIGKILL".into(),
            code: 128,
            code_name: "SI_KERNEL".into(),
            origin: SignalOrigin::Kernel,
            result: 0,
            result_name: "delivered".into(),
            group: true,
            sender: ProcInfo { pid: 14231, comm: Some("python3".into()), from: from(&[("comm", FieldFrom::Trace)]), ..ProcInfo::default() },
            target: victim,
            fate: TargetFate::Exited { after_us: 3_120 },
            delivery: None,
            raw: "         python3-14231   [001] d..2.  1088.676476: signal_generate: sig=9 errno=0 code=128 comm=python3 pid=14231 grp=1 res=0".into(),
        }),
        copy(442, 1_088_676_465, "6,442,1088676465,-;oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/coroner-fixture,task_memcg=/coroner-fixture,task=python3,pid=14231,uid=0"),
        copy(443, kill_us, "3,443,1088676491,-;Memory cgroup out of memory: Killed process 14231 (python3) total-vm:221368kB, anon-rss:50816kB, file-rss:6596kB, shmem-rss:0kB, UID:0 pgtables:168kB oom_score_adj:0"),
        WatchRecord::Lost(Lost { at: at(kill_us + 500_000), what: "ftrace".into(), count: 3, detail: "instance ring buffer overrun (per_cpu/cpu1/stats overrun: 3)".into() }),
    ]
}

fn jsonl(records: &[WatchRecord]) -> String {
    records.iter().map(|r| serde_json::to_string(r).expect("record") + "\n").collect()
}

fn fixture_path(rel: &str) -> std::path::PathBuf {
    common::repo_root().join("fixtures").join(rel)
}

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(fixture_path(rel)).unwrap_or_else(|e| panic!("fixture {rel}: {e}"))
}

/// The checked-in files are exactly the layouts above written with the schema's types (`CORONER_WRITE_FIXTURES=1`
/// rewrites them), so a change to schemas/src/watch.rs that the fixtures no longer fit fails here.
#[test]
fn fixtures_are_the_schema_types_written_out() {
    for (rel, records) in [(KILL_FIXTURE, kill_layout()), (OOM_FIXTURE, oom_layout())] {
        let want = jsonl(&records);
        if std::env::var_os("CORONER_WRITE_FIXTURES").is_some() {
            std::fs::write(fixture_path(rel), &want).expect("write fixture");
        }
        assert_eq!(String::from_utf8(fixture(rel)).expect("utf-8"), want, "{rel} differs from its layout");
        // And they read back as the same values.
        let back: Vec<WatchRecord> = want.lines().map(|l| serde_json::from_str(l).expect("read back")).collect();
        assert_eq!(back, records);
    }
}

fn parse_text(text: &[u8]) -> coroner_report::sources::Parsed {
    let manifest = common::base_manifest("h");
    let accounts = Accounts::parse(b"root:x:0:0:root:/root:/bin/bash\n", b"");
    let entry: coroner_schemas::manifest::Entry = serde_json::from_value(serde_json::json!({
        "path": WATCH_ENTRY, "source": "/var/lib/coroner/watch/watch-1.jsonl", "category": "watch", "format": "watch_jsonl",
        "size": text.len(), "status": {"kind": "ok"}
    }))
    .expect("entry");
    parse_entry(text, &SourceCtx::new(&entry, &manifest, &accounts))
}

#[test]
fn a_traced_kill_is_a_signal_sent_event_keyed_like_audit() {
    let p = parse_text(&fixture(KILL_FIXTURE));
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    let sent: Vec<_> = p.events.iter().filter(|e| e.kind == EventKind::SignalSent).collect();
    assert_eq!(sent.len(), 1);
    let e = sent[0];
    assert_eq!(e.source, Source::Watch);
    // The event is the sender's, as audit's kill events are.
    assert_eq!((e.pid, e.comm.as_deref(), e.uid, e.user.as_deref(), e.ppid), (Some(SENDER), Some("killer.sh"), Some(0), Some("root"), Some(32371)));
    let f = |k: &str| e.fields.get(k).map(|v| v.to_json()).unwrap_or(Value::Null);
    assert_eq!(f("signal"), 9);
    assert_eq!(f("signal_name"), "SIGKILL");
    assert_eq!(f("target_pid"), VICTIM);
    assert_eq!(f("target_comm"), "victim-sleep");
    assert_eq!(f("exe"), "/usr/bin/bash");
    assert_eq!(f("argv"), serde_json::json!(["/bin/bash", "/tmp/killer.sh"]));
    assert_eq!(f("ancestors"), serde_json::json!(["bash (32371)", "bash (18389)", "memfd:sealed-91 (18374)", "process_api (1)"]));
    assert_eq!(f("si_code_name"), "SI_USER");
    assert_eq!(f("signal_origin"), "user");
    assert_eq!(f("fate"), "exited");
    assert_eq!(f("exited_after_us"), 48);
    assert_eq!(f("sender_from")["exe"], "table");
    assert_eq!(f("sender_from")["comm"], "trace");
    assert_eq!(f("boot_id"), BOOT_ID);
    // No login uid was set (4294967295): no `auid` claimed.
    assert_eq!(f("auid"), Value::Null);
    // Placed by the recorder's own conversion of the trace clock.
    assert_eq!(e.timestamp.sort_key(), Some(utc(CLOCK_ZERO_NS + i128::from(KILL_NS))));
    assert!(e.message.starts_with("SIGKILL (SI_USER) to pid 32374 (victim-sleep) by pid 32378 (killer.sh) as root"), "{}", e.message);
    // Start and stop: on the timeline, and one run as a host fact.
    let runs: Vec<_> = p.facts.iter().filter_map(|f| if let Fact::Recorder(r) = f { Some(r.clone()) } else { None }).collect();
    assert_eq!(runs.len(), 1);
    let r = &runs[0];
    assert_eq!((r.signals.clone(), r.lost, r.records, r.boot_id.as_deref()), (vec![9, 15], 0, 1, Some(BOOT_ID)));
    assert_eq!(r.stop_reason.as_deref(), Some("SIGTERM"));
    assert!(r.covers(utc(CLOCK_ZERO_NS + i128::from(KILL_NS))));
    assert!(!r.covers(utc(CLOCK_ZERO_NS + 9_800_000_000_000)));
}

#[test]
fn oom_records_and_kmsg_copies_become_the_kernel_events() {
    let p = parse_text(&fixture(OOM_FIXTURE));
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    let ooms: Vec<_> = p.events.iter().filter(|e| e.kind == EventKind::OomKill).collect();
    // mark_victim, and the kmsg parser's reading of the copied `Killed process` line; the `oom-kill:` copy is
    // folded into that kill as a kmsg capture's is.
    assert_eq!(ooms.len(), 2, "{ooms:#?}");
    assert!(ooms.iter().all(|e| e.source == Source::Watch && e.pid == Some(14231)));
    let copied = ooms.iter().find(|e| e.fields.contains_key("seq")).expect("copied kill line");
    assert_eq!(copied.field_str("task_memcg"), Some("/coroner-fixture"));
    assert_eq!(copied.field_str("constraint"), Some("CONSTRAINT_MEMCG"));
    assert_eq!(copied.origin.line, Some(5));
    assert!(copied.raw.lossy().starts_with("3,443,1088676491,-;Memory cgroup out of memory"));
    let kernel = p.events.iter().find(|e| e.kind == EventKind::SignalSent).expect("signal");
    assert_eq!(kernel.field_str("signal_origin"), Some("kernel"));
    assert!(kernel.message.starts_with("the kernel sent SIGKILL (SI_KERNEL) to pid 14231"), "{}", kernel.message);
    let run = p.facts.iter().find_map(|f| if let Fact::Recorder(r) = f { Some(r.clone()) } else { None }).expect("run");
    assert_eq!((run.lost, run.lost_what.clone(), run.stopped), (3, vec!["ftrace".to_owned()], None));
    let folded = HostFacts::fold(p.facts);
    assert_eq!(folded.recorder_runs.len(), 1);
}

/// Bad lines are problems with their line numbers; good lines around them are read.
#[test]
fn bad_lines_are_recorded_not_skipped() {
    let good = jsonl(&kill_layout());
    let mut lines: Vec<&str> = good.lines().collect();
    lines.insert(1, "<html>not json</html>");
    lines.insert(2, r#"{"record":"signal_v2","at":"2026-12-05T00:00:00Z"}"#);
    let mut text = lines.join("\n");
    text.push_str("\n{\"record\":\"signal\",\"at\":\"2026-12");
    let p = parse_text(text.as_bytes());
    let got: Vec<(Option<u64>, bool)> = p.problems.iter().map(|x| (x.line, x.is_parse())).collect();
    assert_eq!(got, vec![(Some(2), true), (Some(3), true), (Some(6), true)], "{:?}", p.problems);
    assert!(p.problems[1].message.contains("\"signal_v2\""), "{}", p.problems[1].message);
    assert!(p.problems[2].message.contains("cut mid-record"), "{}", p.problems[2].message);
    assert_eq!(p.events.iter().filter(|e| e.kind == EventKind::SignalSent).count(), 1);
}

fn bundle_with(files: &[(&str, &str, Category, Format, Vec<u8>)]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut b = common::BundleBuilder::new("h");
    // The boot of kmsg-staged.records, so its kernel times and the recorder's agree.
    b.manifest.host.boot_time = Some(utc(OOM_CLOCK_ZERO_NS));
    b.manifest.host.boot_id = None;
    for (path, source, c, f, bytes) in files {
        b.file(path, source, *c, *f, bytes);
    }
    let p = dir.path().join("b.tar.gz");
    b.write(&p);
    (dir, p)
}

fn watch_file(bytes: Vec<u8>) -> (&'static str, &'static str, Category, Format, Vec<u8>) {
    (WATCH_ENTRY, "/var/lib/coroner/watch/watch-1.jsonl", Category::Watch, Format::WatchJsonl, bytes)
}

fn analyze(p: &std::path::Path) -> (coroner_report::pipeline::Loaded, coroner_schemas::FindingsDoc) {
    let loaded = load(p, &LoadOptions::default()).expect("load");
    let doc = coroner_report::findings::analyze(&loaded.manifest, &loaded.events, &loaded.facts, true);
    (loaded, doc)
}

/// The audit records of the same kill as the recorder traced it (the same sender, target and signal), as auditd
/// writes them: what a host with both audit rules and the recorder holds.
fn audit_of_the_kill() -> Vec<u8> {
    let secs = (CLOCK_ZERO_NS + i128::from(KILL_NS)) / 1_000_000_000;
    format!(
        "type=SYSCALL msg=audit({secs}.270:901): arch=c000003e syscall=62 success=yes exit=0 a0=7e56 a1=9 a2=0 a3=0 items=0 ppid=32371 pid={SENDER} auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm=\"killer.sh\" exe=\"/usr/bin/bash\" key=\"coroner_kill\"\n\
         type=OBJ_PID msg=audit({secs}.270:901): opid={VICTIM} oauid=-1 ouid=0 oses=-1 ocomm=\"victim-sleep\"\n\
         type=PROCTITLE msg=audit({secs}.270:901): proctitle=2F62696E2F62617368002F746D702F6B696C6C65722E7368\n"
    )
    .into_bytes()
}

#[test]
fn ids_the_recorder_copied_from_the_parent_are_said_to_be_the_parents() {
    // The same record as if the sender had exited before the recorder could read /proc after its exec.
    let text = String::from_utf8(fixture(KILL_FIXTURE)).expect("utf8");
    let sender_from = r#""from":{"argv":"table","comm":"trace","exe":"table","loginuid":"table","parents":"table","uid":"table"}"#;
    assert!(text.contains(sender_from), "the fixture's sender provenance changed");
    let edited = text.replacen(sender_from, &sender_from.replace(r#""loginuid":"table""#, r#""loginuid":"parent""#).replace(r#""uid":"table""#, r#""uid":"parent""#), 1);
    let (_d, p) = bundle_with(&[watch_file(edited.into_bytes())]);
    let (_, doc) = analyze(&p);
    let f = doc.findings.iter().find(|f| f.victim.pid == Some(VICTIM)).expect("the death");
    assert!(f.reasoning.contains("The sender's argv, exe, parents come from the recorder's process table"), "{}", f.reasoning);
    assert!(f.reasoning.contains("Its loginuid, uid are its parent's, copied at fork"), "{}", f.reasoning);
    assert_eq!(f.details["recorder"]["sender_from"]["uid"], "parent");
}

#[test]
fn a_recorded_sender_is_the_certain_killer_and_one_death_with_audit() {
    let (_d, p) = bundle_with(&[watch_file(fixture(KILL_FIXTURE))]);
    let (_, doc) = analyze(&p);
    let deaths: Vec<_> = doc.findings.iter().filter(|f| f.victim.pid == Some(VICTIM)).collect();
    assert_eq!(deaths.len(), 1, "{doc:#?}");
    let f = deaths[0];
    assert_eq!(f.confidence, coroner_schemas::finding::Confidence::Certain);
    let k = f.killer.as_ref().expect("killer");
    assert_eq!((k.pid, k.comm.as_deref(), k.exe.as_deref(), k.uid), (Some(SENDER), Some("killer.sh"), Some("/usr/bin/bash"), Some(0)));
    assert_eq!(k.command.as_deref(), Some("/bin/bash /tmp/killer.sh"));
    assert_eq!(k.parent_chain, ["bash (32371)", "bash (18389)", "memfd:sealed-91 (18374)", "process_api (1)"]);
    assert_eq!(k.auid, None, "no login uid was set");
    assert_eq!(f.victim.comm.as_deref(), Some("victim-sleep"));
    assert_eq!(f.victim.cmdline.as_deref(), Some("/tmp/victim-sleep 300"));
    // The record is cited, and the finding says which sender fields came from the recorder's table.
    assert!(f.evidence.iter().any(|e| &*e.origin.entry == WATCH_ENTRY && e.origin.line == Some(2)), "{:#?}", f.evidence);
    assert!(f.reasoning.contains("sending SIGKILL (SI_USER) to pid 32374; pid 32374 exited 48 µs later."), "{}", f.reasoning);
    assert!(f.reasoning.contains("The sender's argv, exe, loginuid, parents, uid come from the recorder's process table"), "{}", f.reasoning);
    assert!(f.reasoning.contains("It ran the script /tmp/killer.sh with the interpreter /usr/bin/bash"), "{}", f.reasoning);
    assert_eq!(f.details["recorder"]["sender_from"]["exe"], "table");
    // Nothing missing that would name the sender: it is named.
    assert!(!f.missing.iter().any(|m| m.contains("coroner-collect arm")), "{:?}", f.missing);
    assert!(!doc.advisories.iter().any(|a| a.id == "no_signal_recorder"), "a recorder ran");

    // The same kill in the audit log too: still one death, audit's record first, the trace beside it.
    let audit = ("fs/var/log/audit/audit.log", "/var/log/audit/audit.log", Category::Audit, Format::AuditLog, audit_of_the_kill());
    let (_d2, p2) = bundle_with(&[watch_file(fixture(KILL_FIXTURE)), audit]);
    let (loaded, doc2) = analyze(&p2);
    assert!(loaded.events.iter().any(|e| e.source == Source::Audit && e.kind == EventKind::SignalSent), "the audit record parsed");
    let deaths: Vec<_> = doc2.findings.iter().filter(|f| f.victim.pid == Some(VICTIM)).collect();
    assert_eq!(deaths.len(), 1, "{doc2:#?}");
    let f = deaths[0];
    assert_eq!(f.confidence, coroner_schemas::finding::Confidence::Certain);
    assert_eq!(f.killer.as_ref().and_then(|k| k.pid), Some(SENDER));
    let roles: Vec<&str> = f.evidence.iter().map(|e| e.role.as_str()).collect();
    assert!(roles.contains(&"audit record of the kill syscall"), "{roles:?}");
    assert!(roles.contains(&"signal recorder's trace of the signal sent (signal_generate)"), "{roles:?}");
    assert!(f.reasoning.starts_with("An audit record of the kill syscall shows pid 32378 (killer.sh) sending SIGKILL to pid 32374."), "{}", f.reasoning);
    assert!(f.reasoning.contains("The signal recorder traced the same kill (signal_generate, SI_USER); pid 32374 exited 48 µs later."), "{}", f.reasoning);
    // The recorder's parent chain, which audit alone does not give.
    assert_eq!(f.killer.as_ref().map(|k| k.parent_chain.len()), Some(4));
}

/// Two senders of one pid are two attempts, each named, as with two audit records.
#[test]
fn a_different_sender_in_audit_is_a_second_attempt() {
    let other = String::from_utf8(audit_of_the_kill()).expect("utf-8").replace(&format!("pid={SENDER} "), "pid=777 ");
    let audit = ("fs/var/log/audit/audit.log", "/var/log/audit/audit.log", Category::Audit, Format::AuditLog, other.into_bytes());
    let (_d, p) = bundle_with(&[watch_file(fixture(KILL_FIXTURE)), audit]);
    let (_, doc) = analyze(&p);
    let killers: Vec<Option<i64>> =
        doc.findings.iter().filter(|f| f.victim.pid == Some(VICTIM)).map(|f| f.killer.as_ref().and_then(|k| k.pid)).collect();
    assert_eq!(killers.len(), 2, "{doc:#?}");
    assert!(killers.contains(&Some(SENDER)) && killers.contains(&Some(777)), "{killers:?}");
}

/// The kmsg capture and the recorder's copy of the same OOM kill: one kernel record is one event, and one death.
#[test]
fn an_oom_kill_in_kmsg_and_in_the_recorder_is_one_finding() {
    let kmsg = ("live/kernel/kmsg.txt", "/dev/kmsg", Category::Kernel, Format::Kmsg, fixture("kmsg/kmsg-staged.records"));
    let (_d, p) = bundle_with(&[kmsg, watch_file(fixture(OOM_FIXTURE))]);
    let (loaded, doc) = analyze(&p);
    let kill_lines: Vec<_> =
        loaded.events.iter().filter(|e| e.kind == EventKind::OomKill && e.fields.get("seq").and_then(|v| v.as_u64()) == Some(443)).collect();
    assert_eq!(kill_lines.len(), 1, "{kill_lines:#?}");
    assert_eq!(kill_lines[0].source, Source::Kmsg);
    assert_eq!(kill_lines[0].field_str("also_at"), Some(&*format!("{WATCH_ENTRY}:5")));
    let deaths: Vec<_> = doc.findings.iter().filter(|f| f.victim.pid == Some(14231)).collect();
    assert_eq!(deaths.len(), 1, "{doc:#?}");
    assert_eq!(deaths[0].cause, coroner_schemas::finding::Cause::OomKill);
    assert_eq!(deaths[0].details["task_memcg"], "/coroner-fixture");
    assert!(deaths[0].evidence.iter().any(|e| e.role.starts_with("signal recorder's trace of the OOM killer choosing it")), "{:#?}", deaths[0].evidence);

    // Only the recorder's copy (the ring buffer wrapped, or `dmesg -C`): the same death, from the copy.
    let (_d2, p2) = bundle_with(&[watch_file(fixture(OOM_FIXTURE))]);
    let (_, doc2) = analyze(&p2);
    let deaths: Vec<_> = doc2.findings.iter().filter(|f| f.victim.pid == Some(14231)).collect();
    assert_eq!(deaths.len(), 1, "{doc2:#?}");
    assert_eq!(deaths[0].cause, coroner_schemas::finding::Cause::OomKill);
    assert_eq!(deaths[0].details["task_memcg"], "/coroner-fixture");
    assert!(deaths[0].reasoning.contains("because memory cgroup /coroner-fixture hit its limit"), "{}", deaths[0].reasoning);
    assert!(deaths[0].reasoning.ends_with("The kernel's record is the signal recorder's copy of it."), "{}", deaths[0].reasoning);
}

fn why_cmd(bundle: &std::path::Path, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_coroner-report")).arg("why").arg(bundle).args(args).output().expect("why");
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Nothing recorded a sender: `why` says what was in place and the one command that would have, and exits 1.
#[test]
fn why_says_what_was_in_place_when_nothing_matched() {
    let rules = ("cmd/auditctl-l.txt", "auditctl -l", Category::Audit, Format::AuditRules, fixture("settings/auditctl-l-norules.txt"));
    let (_d, p) = bundle_with(&[watch_file(fixture(OOM_FIXTURE)), rules]);
    let (code, text) = why_cmd(&p, &["--comm", "sleep"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.starts_with("No death matching comm sleep is evidenced in this bundle.\n"), "{text}");
    assert!(text.contains("  audit: none of the loaded audit rules (auditctl -l in the bundle) records kill-family syscalls\n"), "{text}");
    assert!(
        text.contains("  signal recorder: the signal recorder ran from 2026-11-27T20:20:58.952706Z to the collection (no stop record; its last record 2026-11-27T20:21:08.129197Z), recording SIGKILL, SIGTERM; 3 events lost (ftrace) (fs/var/lib/coroner/watch/watch-1.jsonl)\n"),
        "{text}"
    );
    assert!(text.contains("coroner-collect arm"), "{text}");
    // And a death that did match exits 0.
    let (code, text) = why_cmd(&p, &["--pid", "14231"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("cause:    oom_kill, SIGKILL (9) [certain]"), "{text}");

    // No recorder and no rules at all.
    let (_d2, p2) = bundle_with(&[("fs/var/log/dmesg", "/var/log/dmesg", Category::Kernel, Format::DmesgText, b"[    1.000000] hello\n".to_vec())]);
    let (code, text) = why_cmd(&p2, &["--pid", "4242"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("  audit: the bundle holds no audit rules (auditctl -l was not collected) and no audited signal\n"), "{text}");
    assert!(text.contains("  signal recorder: no signal recorder ran (the bundle holds no coroner-collect watch log)\n"), "{text}");
    assert!(text.contains("`coroner-collect arm`"), "{text}");
}

/// A death with no named sender while the recorder ran: its finding says the recorder was running and what it
/// lost, and names the command.
#[test]
fn a_death_the_recorder_did_not_catch_says_so() {
    // systemd's view of a unit killed by a signal, while the OOM fixture's recorder (3 events lost) ran.
    let t = utc(OOM_CLOCK_ZERO_NS + 1_090_000_000_000);
    let journal = format!(
        "{{\"__REALTIME_TIMESTAMP\":\"{}\",\"_PID\":\"1\",\"_COMM\":\"systemd\",\"SYSLOG_IDENTIFIER\":\"systemd\",\"UNIT\":\"web.service\",\"MESSAGE\":\"web.service: Main process exited, code=killed, status=15/TERM\",\"PRIORITY\":\"6\",\"_BOOT_ID\":\"x\"}}\n",
        t.unix_micros()
    );
    let j = ("cmd/journalctl.json", "journalctl -o json", Category::Journal, Format::JournalJson, journal.into_bytes());
    let (_d, p) = bundle_with(&[watch_file(fixture(OOM_FIXTURE)), j]);
    let (_, doc) = analyze(&p);
    let f = doc.findings.iter().find(|f| f.victim.unit.as_deref() == Some("web.service")).unwrap_or_else(|| panic!("{doc:#?}"));
    assert!(f.killer.is_none());
    let m = f.missing.join("\n");
    assert!(m.contains("what was in place: signal recorder: the signal recorder was running then and holds no record of this signal, but it lost 3 events, which may include it"), "{m}");
    assert!(m.contains("what would have named the sender: `coroner-collect arm`"), "{m}");
}

/// Attacker-chosen comm and argv (HTML, a newline, an ANSI escape) are escaped in every output.
#[test]
fn hostile_comm_and_argv_are_escaped_everywhere() {
    let evil_comm = "<b>x</b>\u{1b}[2J";
    let evil_argv = ["<script>alert(1)</script>", "a\nb", "\u{1b}]0;pwned\u{7}"];
    let mut records = kill_layout();
    records[1] = WatchRecord::Signal(staged_kill(evil_comm, &evil_argv, "vic<i>tim"));
    let (d, p) = bundle_with(&[watch_file(jsonl(&records).into_bytes())]);
    let (code, text) = why_cmd(&p, &["--pid", &VICTIM.to_string()]);
    assert_eq!(code, Some(0), "{text}");
    assert!(!text.contains('\u{1b}') && !text.contains('\u{7}'), "{text:?}");
    assert!(text.contains("<b>x</b>\\x1b[2J"), "{text}");
    let out = d.path().join("r");
    let r = Command::new(env!("CARGO_BIN_EXE_coroner-report")).args(["render", &p.display().to_string(), "-o", &out.display().to_string()]).output().expect("render");
    assert_eq!(r.status.code(), Some(0), "{}", String::from_utf8_lossy(&r.stderr));
    let html = std::fs::read_to_string(out.join("report.html")).expect("html");
    assert!(!html.contains("<script>alert(1)</script>") && !html.contains("<b>x</b>") && !html.contains("vic<i>tim"), "raw HTML in report.html");
    assert!(!html.contains('\u{1b}'), "an escape byte in report.html");
    let md = std::fs::read_to_string(out.join("report.md")).expect("md");
    assert!(!md.contains('\u{1b}') && !md.contains('\u{7}'), "a control byte in report.md");
    // Outside code spans (which Markdown shows as text), no markup from the evidence survives.
    for line in md.lines() {
        let prose: String = line.split('`').step_by(2).collect();
        assert!(!prose.contains("<script>") && !prose.contains("<b>") && !prose.contains("<i>"), "raw HTML in report.md: {line}");
    }
    // The killer's command is one line in Markdown: its newline did not start a new block.
    assert!(md.lines().all(|l| !l.starts_with("b ")), "a newline from argv broke a Markdown line");
    let doc: Value = serde_json::from_slice(&std::fs::read(out.join("findings.json")).expect("findings")).expect("json");
    let f = doc["findings"].as_array().and_then(|a| a.iter().find(|f| f["victim"]["pid"] == VICTIM)).expect("finding");
    // JSON keeps the exact text (its readers escape for themselves).
    assert_eq!(f["killer"]["comm"], evil_comm);
}

/// A catchable signal the recorder traced: its sender is named, but the trace of the exit has no status, so the
/// death by it is likely, not certain, and nothing asks for what already named the sender.
#[test]
fn a_traced_sigterm_names_the_sender_and_stays_likely() {
    let mut records = kill_layout();
    let mut s = staged_kill("systemd-journal", &["systemd-journald", "-s", "TERM", "32374"], "victim-sleep");
    s.sig = 15;
    s.signal = "SIGTERM".into();
    s.sender.exe = Some("/tmp/systemd-journald".into());
    records[1] = WatchRecord::Signal(s);
    let (_d, p) = bundle_with(&[watch_file(jsonl(&records).into_bytes())]);
    let (_, doc) = analyze(&p);
    let f = doc.findings.iter().find(|f| f.victim.pid == Some(VICTIM)).unwrap_or_else(|| panic!("{doc:#?}"));
    assert_eq!(f.confidence, coroner_schemas::finding::Confidence::Likely);
    let k = f.killer.as_ref().expect("killer");
    assert_eq!((k.pid, k.exe.as_deref()), (Some(SENDER), Some("/tmp/systemd-journald")));
    assert_eq!(f.via.as_deref(), Some("shell"), "a bash parent chain");
    assert!(f.reasoning.contains("its trace of the exit carries no exit status"), "{}", f.reasoning);
    assert!(!f.missing.iter().any(|m| m.contains("coroner-collect arm") || m.contains("auditctl")), "{:?}", f.missing);
}

/// The staged SIGTERM of fixtures/watch/trace_deliver.txt as the recorder writes it: delivered in the target
/// as SIGKILL with no handler (the default action), or to a handler.
fn traced_sigterm(action: DeliveryAction, sig: i32) -> Vec<WatchRecord> {
    let mut records = kill_layout();
    let mut s = staged_kill("systemd-journal", &["systemd-journald", "-s", "TERM", "32374"], "victim-sleep");
    s.sig = 15;
    s.signal = "SIGTERM".into();
    s.sender.exe = Some("/tmp/systemd-journald".into());
    s.delivery = Some(Delivery {
        tid: VICTIM,
        sig,
        action,
        after_us: 25,
        raw: format!("    victim-sleep-{VICTIM}    ({VICTIM:>7}) [000] d..1. 9736.321634: signal_deliver: sig={sig} errno=0 code=0 sa_handler=0 sa_flags=0"),
    });
    records[1] = WatchRecord::Signal(s);
    records
}

#[test]
fn a_traced_sigterm_the_kernel_acted_on_by_default_is_certain() {
    let (_d, p) = bundle_with(&[watch_file(jsonl(&traced_sigterm(DeliveryAction::Default, 9)).into_bytes())]);
    let (_, doc) = analyze(&p);
    let f = doc.findings.iter().find(|f| f.victim.pid == Some(VICTIM)).unwrap_or_else(|| panic!("{doc:#?}"));
    assert_eq!(f.confidence, coroner_schemas::finding::Confidence::Certain, "{}", f.reasoning);
    assert_eq!(f.signal.as_ref().map(|s| s.number), Some(15));
    assert_eq!(f.killer.as_ref().and_then(|k| k.exe.as_deref()), Some("/tmp/systemd-journald"));
    assert!(f.reasoning.contains("with the default action: SIGKILL with no handler in the process 25 µs later"), "{}", f.reasoning);
    assert_eq!(f.details.get("delivered_sig"), Some(&serde_json::json!(9)));
    assert!(f.missing.is_empty(), "{:?}", f.missing);
}

#[test]
fn a_traced_sigterm_caught_by_a_handler_stays_likely_and_says_so() {
    let (_d, p) = bundle_with(&[watch_file(jsonl(&traced_sigterm(DeliveryAction::Handler, 15)).into_bytes())]);
    let (_, doc) = analyze(&p);
    let f = doc.findings.iter().find(|f| f.victim.pid == Some(VICTIM)).unwrap_or_else(|| panic!("{doc:#?}"));
    assert_eq!(f.confidence, coroner_schemas::finding::Confidence::Likely);
    assert!(f.reasoning.contains("delivered to a handler in the process 25 µs later: it caught the signal"), "{}", f.reasoning);
}

/// A signal the kernel generated (a CPU-time limit), with no kernel log line: the kernel's, no killer.
#[test]
fn a_kernel_signal_has_no_killer() {
    let mut records = kill_layout();
    let mut s = staged_kill("victim-sleep", &["/tmp/victim-sleep", "300"], "victim-sleep");
    s.sender.pid = VICTIM;
    s.sig = 24;
    s.signal = "SIGXCPU".into();
    s.code = 128;
    s.code_name = "SI_KERNEL".into();
    s.origin = SignalOrigin::Kernel;
    records[1] = WatchRecord::Signal(s);
    let (_d, p) = bundle_with(&[watch_file(jsonl(&records).into_bytes())]);
    let (_, doc) = analyze(&p);
    let f = doc.findings.iter().find(|f| f.victim.pid == Some(VICTIM)).unwrap_or_else(|| panic!("{doc:#?}"));
    assert_eq!(f.cause, coroner_schemas::finding::Cause::ResourceLimit);
    assert!(f.killer.is_none());
    assert_eq!(f.via.as_deref(), Some("kernel"));
    assert!(f.reasoning.starts_with("The signal recorder's trace of signal_generate shows the kernel itself generating SIGXCPU (SI_KERNEL)"), "{}", f.reasoning);
}
