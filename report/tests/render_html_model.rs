//! Hand-built report models for the HTML and Markdown renderer tests (included by both with `#[path]`).
//! Evidence strings are hostile on purpose: script tags in `comm`, a Markdown link in a user name, a
//! history line with backticks, pipes, a newline and bytes that are not UTF-8.
#![allow(dead_code)]


use coroner_report::render::ReportModel;
use coroner_report::timeline::CoverageRow;
use coroner_report::sources::ParseProblem;
use coroner_report::verify::VerifyReport;
use coroner_schemas::finding::{
    Advisory, Candidate, Cause, CheckItem, Confidence, ContainerReason, ContainerRef, EvidenceRef, Finding, FindingsDoc, Killer,
    PodRef, Signal, Victim,
};
use coroner_schemas::manifest::{
    Category, CollectOptions, CollectorInfo, CorePolicy, Entry, Format, HostFacts, Manifest, Problem,
};
use coroner_schemas::{Event, EventKind, Origin, Source, Text, Timestamp, Utc};

pub const HOSTILE_COMM: &str = "<script>alert(1)</script>";
pub const HOSTILE_USER: &str = "](javascript:alert(1))";
/// A container name and a pod name as a hostile image or manifest could set them.
pub const HOSTILE_CONTAINER: &str = "<svg onload=alert(3)>web";
pub const HOSTILE_POD: &str = "](javascript:alert(4))|`pod`";
pub const CONTAINER_ID: &str = "1e1755e4a1d0d8f2b3c4a5b6c7d8e9f00112233445566778899aabbccddeeff0";
/// A bash history line: backticks, pipes, a newline, and two bytes that are not UTF-8.
pub const HOSTILE_HISTORY: &[u8] =
    b"echo `id` | tee /tmp/x ``y`` |\nkill -9 4242 \xff\xfe # <img src=x onerror=alert(2)>";

pub struct Owned {
    pub manifest: Manifest,
    pub verification: VerifyReport,
    pub coverage: Vec<CoverageRow>,
    pub events: Vec<Event>,
    pub problems: Vec<ParseProblem>,
    pub findings: FindingsDoc,
}

impl Owned {
    pub fn model(&self) -> ReportModel<'_> {
        ReportModel {
            manifest: &self.manifest,
            verification: &self.verification,
            coverage: &self.coverage,
            events: &self.events,
            problems: &self.problems,
            findings: &self.findings,
            raw_binary: false,
        }
    }
}

pub fn t(secs: i64, micros: u32) -> Utc {
    Utc::from_unix(secs, micros * 1000).expect("time in range")
}

/// 2026-11-27T20:00:00Z.
pub const T0: i64 = 1_795_809_600;

pub fn manifest() -> Manifest {
    Manifest {
        schema_version: 1,
        bundle_name: "coroner-web01-20261127T200500Z.tar.gz".into(),
        host: HostFacts {
            hostname: "web01".into(),
            machine_id: Some("0123456789abcdef0123456789abcdef".into()),
            boot_id: Some("4f1c2d3e-0000-4000-8000-000000000001".into()),
            kernel_release: Some("6.18.0-1-amd64".into()),
            kernel_version: Some("#1 SMP PREEMPT_DYNAMIC Debian 6.18.0-1".into()),
            arch: Some("x86_64".into()),
            boot_time: Some(t(T0 - 3600, 0)),
            uptime_seconds: Some(3900.0),
            timezone: Some("Etc/UTC".into()),
            utc_offset_seconds: Some(0),
            os_pretty_name: Some("Debian GNU/Linux 12 (bookworm)".into()),
            systemd: Some(false),
        },
        collector: CollectorInfo {
            name: "coroner-collect".into(),
            version: "0.1.0".into(),
            started: t(T0 + 300, 0),
            finished: t(T0 + 302, 500_000),
            argv: vec!["coroner-collect".into(), "-o".into(), "/tmp/out".into()],
            options: CollectOptions {
                root: None,
                cores: CorePolicy::Head,
                core_cap_bytes: 1 << 30,
                max_file_bytes: 256 << 20,
                max_total_bytes: 2 << 30,
                journal_window_seconds: 7 * 86400,
                command_timeout_ms: 10_000,
                includes: vec![],
                excludes: vec![],
                gentle: true,
                redact: false,
            },
            uid: 0,
            euid: 0,
            live: true,
            signer_fingerprint: "SHA256:q0Wm8b3xDbZQm0pJm2F5b1c2f3hS9eA1oYh7R0w5fI4".into(),
            ephemeral_key: true,
        },
        clock: None,
        entries: vec![Entry {
            size: 10,
            sha256: Some("00".repeat(32)),
            ..Entry::new("fs/var/log/kern.log", "/var/log/kern.log", Category::Kernel, Format::Syslog)
        }],
        problems: vec![Problem { source: "journal".into(), message: "journalctl not found".into() }],
    }
}

pub fn verified(ok: bool) -> VerifyReport {
    VerifyReport {
        ok,
        signature_good: ok,
        signer_fingerprint: Some("SHA256:q0Wm8b3xDbZQm0pJm2F5b1c2f3hS9eA1oYh7R0w5fI4".into()),
        key_pinned: ok,
        entries_checked: 42,
        entries_listed: 50,
        entries_absent: 8,
        failures: if ok { vec![] } else { vec!["fs/var/log/kern.log: sha256 mismatch".into()] },
        skipped: false,
    }
}

pub fn event(ts: Timestamp, source: Source, kind: EventKind, entry: &str, line: u64, msg: &str, raw: &[u8]) -> Event {
    Event::new(
        ts,
        source,
        kind,
        msg.into(),
        Text::from_bytes(raw),
        Origin { entry: entry.into(), line: Some(line), offset: None },
    )
}

pub fn events() -> Vec<Event> {
    let mut v = Vec::new();
    let mut boot = event(
        Timestamp::Exact { utc: t(T0 - 3600, 0) },
        Source::Wtmp,
        EventKind::Boot,
        "fs/var/log/wtmp",
        0,
        "system boot 6.18.0-1-amd64",
        b"reboot",
    );
    boot.origin = Origin { entry: "fs/var/log/wtmp".into(), line: None, offset: Some(0) };
    v.push(boot);
    let mut login = event(
        Timestamp::Exact { utc: t(T0 + 10, 250) },
        Source::Wtmp,
        EventKind::Login,
        "fs/var/log/wtmp",
        0,
        "login on pts/0 from 203.0.113.9",
        b"user pts/0 203.0.113.9",
    );
    login.origin = Origin { entry: "fs/var/log/wtmp".into(), line: None, offset: Some(384) };
    login.user = Some(HOSTILE_USER.into());
    login.uid = Some(1001);
    login.pid = Some(3100);
    v.push(login);
    let mut hist = event(
        Timestamp::Bounded { after: Some(t(T0 + 10, 250)), before: Some(t(T0 + 200, 0)) },
        Source::History,
        EventKind::ShellCommand,
        "fs/home/mallory/.bash_history",
        3,
        &String::from_utf8_lossy(HOSTILE_HISTORY),
        HOSTILE_HISTORY,
    );
    hist.user = Some(HOSTILE_USER.into());
    v.push(hist);
    let mut log = event(
        Timestamp::Inferred { utc: t(T0 + 100, 0), assumption: "year from file mtime".into() },
        Source::Syslog,
        EventKind::Log,
        "fs/var/log/syslog",
        17,
        "web01 app[4242]: ready | listening on http://0.0.0.0:8080 www.example.com",
        b"Nov 27 20:01:40 web01 app[4242]: ready | listening on http://0.0.0.0:8080 www.example.com",
    );
    log.comm = Some("app".into());
    log.pid = Some(4242);
    v.push(log);
    let mut oom = event(
        Timestamp::FromBoot { utc: t(T0 + 240, 123_456), since_boot_us: 3_840_123_456 },
        Source::Kmsg,
        EventKind::OomKill,
        "live/kmsg",
        88,
        "Memory cgroup out of memory: Killed process 4242",
        b"Memory cgroup out of memory: Killed process 4242 (<script>alert(1)</script>) total-vm:1048576kB, anon-rss:524288kB, file-rss:0kB, shmem-rss:0kB, UID:1001 pgtables:1100kB oom_score_adj:0",
    );
    oom.pid = Some(4242);
    oom.uid = Some(1001);
    oom.user = Some(HOSTILE_USER.into());
    oom.comm = Some(HOSTILE_COMM.into());
    oom.fields.insert("constraint".into(), "CONSTRAINT_MEMCG");
    oom.fields.insert("anon_rss_kb".into(), 524_288);
    v.push(oom);
    let mut kill = event(
        Timestamp::Exact { utc: t(T0 + 250, 0) },
        Source::Audit,
        EventKind::SignalSent,
        "fs/var/log/audit/audit.log",
        5,
        "kill(4243, SIGKILL) by bash",
        b"type=SYSCALL msg=audit(1795896250.000:812): arch=c000003e syscall=62 success=yes exit=0 a0=10c3 a1=9 a2=0 a3=0 items=0 ppid=3100 pid=3120 auid=1001 uid=1001 comm=\"bash\" exe=\"/usr/bin/bash\" key=\"coroner-kill\"\x1dAUID=\"mallory\"",
    );
    kill.pid = Some(3120);
    kill.comm = Some("bash".into());
    kill.uid = Some(1001);
    kill.user = Some("mallory".into());
    kill.fields.insert("target_pid".into(), 4243);
    kill.fields.insert("target_user".into(), "victimuser");
    v.push(kill);
    let mut alive = event(
        Timestamp::Exact { utc: t(T0 + 300, 0) },
        Source::Proc,
        EventKind::ProcessAlive,
        "live/proc/processes.json",
        0,
        "sshd alive",
        b"{\"pid\":1}",
    );
    alive.origin = Origin { entry: "live/proc/processes.json".into(), line: None, offset: None };
    alive.pid = Some(1);
    v.push(alive);
    v.push(event(
        Timestamp::Unknown,
        Source::Cron,
        EventKind::CronJob,
        "fs/etc/crontab",
        9,
        "*/5 * * * * root /usr/local/bin/rotate",
        b"*/5 * * * * root /usr/local/bin/rotate",
    ));
    v.sort_by(|a, b| a.cmp_timeline(b));
    v
}

pub fn findings(verified: bool) -> FindingsDoc {
    let ev_oom = EvidenceRef {
        origin: Origin { entry: "live/kmsg".into(), line: Some(88), offset: None },
        role: "kernel OOM kill line for pid 4242".into(),
        raw: Text::from_str(
            "Memory cgroup out of memory: Killed process 4242 (<script>alert(1)</script>) total-vm:1048576kB",
        ),
    };
    let ev_hist = EvidenceRef {
        origin: Origin { entry: "fs/home/mallory/.bash_history".into(), line: Some(3), offset: None },
        role: "history line".into(),
        raw: Text::from_bytes(HOSTILE_HISTORY),
    };
    let oom = Finding {
        id: "F1".into(),
        victim: Victim {
            pid: Some(4242),
            comm: Some(HOSTILE_COMM.into()),
            cmdline: Some("/opt/app/bin/app --listen 0.0.0.0:8080 | tee `log`".into()),
            uid: Some(1001),
            user: Some(HOSTILE_USER.into()),
            unit: None,
            cgroup: Some("/app".into()),
            container: Some(ContainerRef {
                runtime: "docker".into(),
                id: CONTAINER_ID.into(),
                name: Some(HOSTILE_CONTAINER.into()),
                image: Some("busybox:c14".into()),
                restart_count: Some(3),
            }),
            pod: Some(PodRef { namespace: Some("shop".into()), name: Some(HOSTILE_POD.into()), uid: None }),
        },
        time: Timestamp::FromBoot { utc: t(T0 + 240, 123_456), since_boot_us: 3_840_123_456 },
        cause: Cause::OomKill,
        signal: Some(Signal { number: 9, name: "SIGKILL".into() }),
        killer: None,
        via: Some("kernel".into()),
        container_reason: Some(ContainerReason::MemoryLimit),
        confidence: Confidence::Certain,
        reasoning: "The kernel logged a memory-cgroup OOM kill naming pid 4242; anon-rss 512 MiB hit the /app limit."
            .into(),
        evidence: vec![ev_oom],
        missing: vec![],
        candidates: vec![],
        details: serde_json::Map::from_iter([
            ("oom_memcg".to_owned(), serde_json::Value::from("/app")),
            ("anon_rss_kb".to_owned(), serde_json::Value::from(524_288)),
        ]),
    };
    let sig = Finding {
        id: "F2".into(),
        victim: Victim {
            pid: Some(4243),
            comm: Some("worker".into()),
            cmdline: None,
            uid: Some(0),
            user: Some("root".into()),
            unit: Some("worker.service".into()),
            cgroup: None,
            container: None,
            pod: None,
        },
        time: Timestamp::Exact { utc: t(T0 + 250, 0) },
        cause: Cause::Signal,
        signal: Some(Signal { number: 9, name: "SIGKILL".into() }),
        killer: Some(Killer {
            pid: Some(3120),
            comm: Some("bash".into()),
            exe: Some("/usr/bin/bash".into()),
            uid: Some(1001),
            user: Some(HOSTILE_USER.into()),
            auid: Some(1001),
            auser: Some("mallory".into()),
            session: Some(7),
            tty: Some("pts/0".into()),
            login_from: Some("203.0.113.9".into()),
            parent_chain: vec!["bash".into(), "sshd".into()],
            command: Some("kill -9 4243 | `x`".into()),
            container: Some(ContainerRef { runtime: "unknown".into(), id: CONTAINER_ID.into(), name: Some(HOSTILE_CONTAINER.into()), image: None, restart_count: None }),
        }),
        via: Some("shell".into()),
        container_reason: None,
        confidence: Confidence::Likely,
        reasoning: "An audited kill(2) with target 4243 and SIGKILL; the sender's session matches a login.".into(),
        evidence: vec![ev_hist.clone()],
        missing: vec!["audit EXECVE record of the kill command".into()],
        candidates: vec![Candidate {
            description: "cron job */5 rotate (due at 20:04)".into(),
            evidence: vec![ev_hist],
        }],
        details: serde_json::Map::new(),
    };
    FindingsDoc {
        verified,
        hostname: "web01".into(),
        findings: vec![oom, sig],
        checklist: vec![
            CheckItem {
                step: "oom".into(),
                title: "OOM in the kernel log".into(),
                outcome: "found".into(),
                summary: "1 OOM kill (pid 4242)".into(),
                entries: vec!["live/kmsg".into()],
            },
            CheckItem {
                step: "core_dumps".into(),
                title: "Core dumps and ulimit -c".into(),
                outcome: "not_available".into(),
                summary: "no core in the bundle; RLIMIT_CORE 0 | pipes `here`".into(),
                entries: vec![],
            },
        ],
        advisories: vec![Advisory {
            id: "no_kill_audit_rule".into(),
            message: "No audit rule records kill-family syscalls.".into(),
            fix: "auditctl -a always,exit -F arch=b64 -S kill -S tkill -S tgkill -k coroner-kill".into(),
        }],
    }
}

pub fn coverage() -> Vec<CoverageRow> {
    vec![
        CoverageRow { category: Category::Kernel, present: 1, empty: 0, missing: 0, problems: 0, events: 2 },
        CoverageRow { category: Category::Journal, present: 0, empty: 0, missing: 1, problems: 1, events: 0 },
        CoverageRow { category: Category::History, present: 1, empty: 0, missing: 0, problems: 0, events: 1 },
    ]
}

pub fn small(ok: bool) -> Owned {
    Owned {
        manifest: manifest(),
        verification: verified(ok),
        coverage: coverage(),
        events: events(),
        problems: vec![ParseProblem::new("fs/var/log/wtmp", None, Some(768), "torn record: 100 of 384 bytes <b>")],
        findings: findings(ok),
    }
}

/// `n` routine log events one second apart and a notable one every 100 000, small enough to build fast.
pub fn big(n: usize) -> Owned {
    let mut events = Vec::with_capacity(n);
    for i in 0..n {
        let kind = if i % 100_000 == 50_000 { EventKind::OomKill } else { EventKind::Log };
        let mut e = event(
            Timestamp::Exact { utc: t(T0 + i as i64, 0) },
            Source::Syslog,
            kind,
            "fs/var/log/syslog",
            i as u64 + 1,
            "x",
            b"x",
        );
        e.pid = Some((i % 30_000) as i64);
        events.push(e);
    }
    Owned {
        manifest: manifest(),
        verification: verified(true),
        coverage: coverage(),
        events,
        problems: vec![],
        findings: findings(true),
    }
}

/// The small model with its findings repeated until there are `n` (ids `F1`…, anchors unique), for the
/// renderers' caps on how many findings they list in full.
pub fn many_findings(n: usize) -> Owned {
    let mut o = small(true);
    let base = o.findings.findings.clone();
    o.findings.findings = (0..n)
        .map(|i| {
            let mut f = base[i % base.len()].clone();
            f.id = format!("F{}", i + 1);
            f
        })
        .collect();
    o
}
