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
    let p = audit::parse(&bytes::Bytes::new(), &SourceCtx::new(&entry(), &manifest(), &Accounts::default()));
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

/// An entry for one of the audit.log rotations.
fn entry_at(source: &str) -> Entry {
    serde_json::from_value(serde_json::json!({
        "path": format!("fs{source}"), "source": source, "category": "audit",
        "format": "audit_log", "size": 0, "status": {"kind": "ok"}
    }))
    .expect("entry")
}

fn run_at(raw: &[u8], source: &str) -> Parsed {
    let m = manifest();
    let e = entry_at(source);
    let acc = accounts();
    parse_entry(raw, &SourceCtx::new(&e, &m, &acc))
}

/// The staged kill32 run: pid 9778 signalled its child 9779 with each kill-family syscall in turn.
const KILL32: [(&str, i64, &str); 6] = [
    ("kill", 10, "SIGUSR1"),
    ("tkill", 12, "SIGUSR2"),
    ("tgkill", 28, "SIGWINCH"),
    ("rt_sigqueueinfo", 14, "SIGALRM"),
    ("rt_tgsigqueueinfo", 23, "SIGURG"),
    ("pidfd_send_signal", 9, "SIGKILL"),
];

fn assert_kill32(p: &Parsed, arch: &str) {
    assert!(p.problems.is_empty(), "{arch}: {:?}", p.problems);
    let k = kills(p);
    assert_eq!(k.len(), KILL32.len(), "{arch}: {}", summary(p));
    for (e, (name, sig, sig_name)) in k.iter().zip(KILL32) {
        let what = format!("{arch} {name}: {}", e.message);
        assert_eq!(e.field_str("syscall"), Some(name), "{what}");
        assert_eq!(e.field_i64("signal"), Some(sig), "{what}");
        assert_eq!(e.field_str("signal_name"), Some(sig_name), "{what}");
        assert_eq!(e.field_str("arch"), Some(arch), "{what}");
        assert_eq!(e.field_i64("target_pid"), Some(9779), "{what}");
        assert_eq!(e.field_str("target_comm"), Some("k32-victim"), "{what}");
        assert_eq!((e.pid, e.comm.as_deref(), e.user.as_deref()), (Some(9778), Some("kill32"), Some("root")), "{what}");
        // The argument the syscall was given: the pid for all but pidfd_send_signal, whose a0 is a descriptor.
        if name == "pidfd_send_signal" {
            assert_eq!(e.field_i64("pidfd"), Some(4), "{what}");
            assert!(!e.fields.contains_key("target_arg"), "{what}");
        } else {
            assert_eq!(e.field_i64("target_arg"), Some(9779), "{what}");
        }
        if matches!(name, "tgkill" | "rt_tgsigqueueinfo") {
            assert_eq!(e.field_i64("target_tgid"), Some(9779), "{what}");
        }
    }
}

/// Real i386 (arch=40000003) records from a 32-bit static program: the i386 syscall numbers (37, 238, 270,
/// 178, 335, 424) name the syscalls, and the victim's re-exec is an i386 exec event.
#[test]
fn i386_kills_are_signal_sent_with_their_i386_names() {
    let p = run(&fixture("i386-kills.log"), &accounts());
    assert_kill32(&p, "i386");
    let execs: Vec<&Event> = p.events.iter().filter(|e| e.kind == EventKind::Exec).collect();
    assert_eq!(execs.len(), 1);
    assert_eq!(execs[0].field_str("arch"), Some("i386"));
    assert_eq!(execs[0].fields["argv"], serde_json::json!(["kill32", "victim", "4"]));
    assert_eq!(execs[0].pid, Some(9779));
}

/// aarch64 uses the generic syscall table (kill 129, tkill 130, tgkill 131, rt_sigqueueinfo 138,
/// rt_tgsigqueueinfo 240, pidfd_send_signal 424).
#[test]
fn aarch64_kills_use_the_generic_numbers() {
    let p = run(&fixture("aarch64-kills.log"), &accounts());
    assert_kill32(&p, "aarch64");
}

/// 129 is kill on aarch64 but rt_sigqueueinfo on x86_64 (and delete_module on i386): the number alone names
/// nothing, the record's arch decides.
#[test]
fn the_same_syscall_number_is_a_different_syscall_by_arch() {
    let aarch64 = fixture("aarch64-kills.log");
    let first_event: Vec<u8> = aarch64.split_inclusive(|&c| c == b'\n').take(3).flatten().copied().collect();
    assert!(first_event.windows(12).any(|w| w == b" syscall=129"));
    let as_arch = |arch: &[u8]| -> Vec<u8> {
        let s = String::from_utf8_lossy(&first_event).replace("arch=c00000b7", &String::from_utf8_lossy(arch));
        s.into_bytes()
    };
    let p = run(&first_event, &accounts());
    assert_eq!(kills(&p).len(), 1);
    assert_eq!(kills(&p)[0].field_str("syscall"), Some("kill"));
    let p = run(&as_arch(b"arch=c000003e"), &accounts());
    assert_eq!(kills(&p).len(), 1);
    assert_eq!(kills(&p)[0].field_str("syscall"), Some("rt_sigqueueinfo"));
    assert_eq!(kills(&p)[0].field_str("arch"), Some("x86_64"));
    // i386 129 is delete_module: no signal at all, the event is kept as a plain audit event.
    let p = run(&as_arch(b"arch=40000003"), &accounts());
    assert!(kills(&p).is_empty(), "{}", summary(&p));
    assert_eq!(p.events.len(), 1);
    assert_eq!(p.events[0].kind, EventKind::Audit);
    // And the real x86_64 record: util-linux kill -q is syscall=129 there.
    let p = run(&fixture("enriched.log"), &accounts());
    let q = find_kill(&p, 15840);
    let raw = String::from_utf8_lossy(q.raw.as_bytes());
    assert!(raw.contains("arch=c000003e syscall=129 "), "{raw}");
    assert_eq!(q.field_str("syscall"), Some("rt_sigqueueinfo"));
}

fn of_type<'a>(p: &'a Parsed, t: &str) -> Vec<&'a Event> {
    p.events.iter().filter(|e| e.field_str("record_type") == Some(t)).collect()
}

/// sudo's USER_CMD: a privileged_command whose command and cwd are decoded from hex when libaudit encoded
/// them (a space in either), with sudo's terminal, exe and result.
#[test]
fn user_cmd_is_a_privileged_command_with_decoded_cmd_and_cwd() {
    let p = run(&fixture("user-records.log"), &accounts());
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    let cmds: Vec<&Event> = p.events.iter().filter(|e| e.kind == EventKind::PrivilegedCommand).collect();
    assert_eq!(cmds.len(), 3, "{}", summary(&p));
    let work = "/tmp/coroner-audit.rBrBFt/work dir";
    let want = [
        // (command, pwd, tty, res, uid, user)
        ("/usr/bin/true", work, "pts/0", "success", 0, "root"),
        ("/bin/sh -c echo \"hi there\"", work, "pts/0", "success", 0, "root"),
        ("/usr/bin/id", "/tmp/coroner-audit.rBrBFt", "?", "failed", 65534, "nobody"),
    ];
    for (e, (cmd, pwd, tty, res, uid, user)) in cmds.iter().zip(want) {
        assert_eq!(e.field_str("command"), Some(cmd), "{}", e.message);
        assert_eq!(e.field_str("pwd"), Some(pwd), "{}", e.message);
        assert_eq!(e.field_str("tty"), Some(tty), "{}", e.message);
        assert_eq!(e.field_str("exe"), Some("/usr/bin/sudo"), "{}", e.message);
        assert_eq!(e.field_str("res"), Some(res), "{}", e.message);
        assert_eq!((e.uid, e.user.as_deref()), (Some(uid), Some(user)), "{}", e.message);
        assert_eq!(e.field_i64("auid"), Some(0), "{}", e.message);
        assert!(e.message.ends_with(&format!("ran privileged command: {cmd}")), "{}", e.message);
    }
}

/// PAM's USER_*/CRED_* records from sudo and su: audit events carrying acct, exe, terminal and res.
#[test]
fn pam_user_records_carry_acct_exe_terminal_res() {
    let p = run(&fixture("user-records.log"), &accounts());
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    assert_eq!(p.events.len(), 21, "one event per record: {}", summary(&p));
    let mut counts = std::collections::BTreeMap::new();
    for e in p.events.iter().filter(|e| e.kind != EventKind::PrivilegedCommand) {
        let t = e.field_str("record_type").unwrap_or("?");
        *counts.entry(t).or_insert(0) += 1;
        assert_eq!(e.kind, EventKind::Audit, "{}", e.message);
        for k in ["op", "acct", "exe", "terminal", "res"] {
            assert!(e.field_str(k).is_some(), "{t} without {k}: {}", e.message);
        }
    }
    let want: std::collections::BTreeMap<&str, i32> = [
        ("CRED_ACQ", 1),
        ("CRED_DISP", 3),
        ("CRED_REFR", 2),
        ("USER_ACCT", 3),
        ("USER_AUTH", 2),
        ("USER_END", 3),
        ("USER_ERR", 1),
        ("USER_START", 3),
    ]
    .into_iter()
    .collect();
    assert_eq!(counts, want);
    // su root -> nobody: pam_rootok lets root in.
    let auth = of_type(&p, "USER_AUTH");
    assert_eq!(auth[0].field_str("acct"), Some("nobody"));
    assert_eq!(auth[0].field_str("exe"), Some("/usr/bin/su"));
    assert_eq!(auth[0].field_str("res"), Some("success"));
    assert_eq!(auth[0].user.as_deref(), Some("root"));
    // nobody -> root with no password: refused.
    assert_eq!(auth[1].field_str("acct"), Some("root"));
    assert_eq!(auth[1].field_str("res"), Some("failed"));
    assert_eq!((auth[1].uid, auth[1].user.as_deref()), (Some(65534), Some("nobody")));
    assert_eq!(auth[1].field_str("op"), Some("PAM:authentication"));
    assert!(auth[1].message.contains("acct=root") && auth[1].message.contains("res=failed"), "{}", auth[1].message);
    // sudo's sessions name the target account and the pty.
    let start = of_type(&p, "USER_START");
    assert_eq!(start[1].field_str("acct"), Some("nobody"));
    assert_eq!(start[1].field_str("exe"), Some("/usr/bin/sudo"));
    assert_eq!(start[1].field_str("terminal"), Some("/dev/pts/0"));
}

/// systemd's SERVICE_START/SERVICE_STOP (hand-written in systemd's format: no systemd PID 1 here).
#[test]
fn systemd_service_records() {
    let p = run(&fixture("service-records.log"), &accounts());
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    assert_eq!(p.events.len(), 2);
    let (start, stop) = (&p.events[0], &p.events[1]);
    assert_eq!(start.kind, EventKind::ServiceStart);
    assert_eq!(start.field_str("unit"), Some("ssh"));
    assert_eq!(start.field_str("res"), Some("success"));
    assert_eq!(start.message, "service ssh started (res=success)");
    assert_eq!(stop.kind, EventKind::ServiceStop);
    assert_eq!(stop.field_str("unit"), Some("user@0"));
    assert_eq!(stop.field_str("res"), Some("failed"));
    assert_eq!((stop.pid, stop.uid), (Some(1), Some(0)));
    assert!(!stop.fields.contains_key("auid") || stop.field_i64("auid") == Some(4294967295));
}

/// auditd rotated its log between a kill's SYSCALL (serial 20652, audit.log.1's last line) and that event's
/// OBJ_PID and PROCTITLE (audit.log's first lines). Each file is parsed on its own: each part becomes an event
/// pointing at its own file and line, no record is dropped, and the timeline keeps both parts.
#[test]
fn an_event_split_by_rotation_is_two_events_each_in_its_own_file() {
    let old = run_at(&fixture("rotation-audit.log.1"), "/var/log/audit/audit.log.1");
    let new = run_at(&fixture("rotation-audit.log"), "/var/log/audit/audit.log");
    assert!(old.problems.is_empty(), "{:?}", old.problems);
    assert!(new.problems.is_empty(), "{:?}", new.problems);
    let serial = |e: &Event| e.field_i64("serial");
    // audit.log.1: two whole kills, then the SYSCALL alone: still a kill, its target from the argument.
    assert_eq!(old.events.len(), 3, "{}", summary(&old));
    assert!(old.events.iter().all(|e| &*e.origin.entry == "fs/var/log/audit/audit.log.1"));
    let head = &old.events[2];
    assert_eq!((head.kind, serial(head), head.origin.line), (EventKind::SignalSent, Some(20652), Some(7)));
    assert_eq!(head.field_i64("target_pid"), Some(12815));
    assert_eq!(head.field_i64("signal"), Some(9));
    assert_eq!((head.pid, head.comm.as_deref()), (Some(11149), Some("bash")));
    assert!(!head.fields.contains_key("target_comm") && !head.fields.contains_key("target_count"));
    // audit.log: the OBJ_PID and PROCTITLE of 20652 with no SYSCALL are kept as an audit event of their own,
    // then a whole kill.
    assert_eq!(new.events.len(), 2, "{}", summary(&new));
    assert!(new.events.iter().all(|e| &*e.origin.entry == "fs/var/log/audit/audit.log"));
    let tail = &new.events[0];
    assert_eq!((tail.kind, serial(tail), tail.origin.line), (EventKind::Audit, Some(20652), Some(1)));
    assert_eq!(tail.field_str("record_type"), Some("OBJ_PID"));
    let raw = String::from_utf8_lossy(tail.raw.as_bytes());
    assert!(raw.contains("opid=12815") && raw.contains("type=PROCTITLE"), "{raw}");
    assert_eq!(new.events[1].field_i64("target_pid"), Some(12816));
    // Same instant, different files: the timeline keeps every part.
    let mut all: Vec<Event> = old.events.iter().chain(&new.events).cloned().collect();
    coroner_report::timeline::sort_dedup(&mut all);
    assert_eq!(all.len(), 5);
    assert_eq!(all.iter().filter(|e| serial(e) == Some(20652)).count(), 2);
}

/// Regression: systemd writes unit= as the unit's name and never hex-encodes it (auparse does not decode it
/// either), but the parser read it as an untrusted string, so a unit whose name is an even run of hex digits
/// (`cafe.service`) was decoded into two bytes of garbage.
#[test]
fn a_hex_looking_unit_name_is_kept_as_written() {
    let raw = String::from_utf8_lossy(&fixture("service-records.log")).replace("unit=ssh ", "unit=cafe ");
    let p = run(raw.as_bytes(), &accounts());
    assert_eq!(p.events[0].kind, EventKind::ServiceStart);
    assert_eq!(p.events[0].field_str("unit"), Some("cafe"));
    assert_eq!(p.events[0].message, "service cafe started (res=success)");
    // The same in a record the parser keeps as a plain audit event.
    let raw = raw.replace("type=SERVICE_START", "type=USER_START");
    let p = run(raw.as_bytes(), &accounts());
    assert_eq!(p.events[0].kind, EventKind::Audit);
    assert_eq!(p.events[0].field_str("unit"), Some("cafe"));
}

/// An audit record stamped `audit(0.000:…)` has no time: kept undated with a problem, never an exact 1970.
#[test]
fn a_zero_audit_time_is_undated() {
    let log = b"type=USER_START msg=audit(0.000:5): pid=1 uid=0 auid=0 ses=1 msg='op=PAM:session_open acct=\"root\" exe=\"/usr/sbin/sshd\" hostname=? addr=? terminal=ssh res=success'\ntype=USER_END msg=audit(1795800000.123:6): pid=1 uid=0 auid=0 ses=1 msg='op=PAM:session_close acct=\"root\" exe=\"/usr/sbin/sshd\" hostname=? addr=? terminal=ssh res=success'\n";
    let p = run(log, &accounts());
    assert_eq!(p.events.len(), 2, "{:?}", p.problems);
    assert_eq!(p.events.iter().filter(|e| e.timestamp == coroner_schemas::Timestamp::Unknown).count(), 1);
    assert!(p.problems.iter().any(|q| q.message.contains("audit time 0.000")), "{:?}", p.problems);
}
