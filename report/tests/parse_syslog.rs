//! Syslog parser over real rsyslogd output from this VM (fixtures/syslog): goldens for the traditional,
//! high-precision and RFC 5424 formats, the staged OOM kill and RHEL 7's through `kernel:` lines, sshd/sudo/su/cron/systemd
//! lines, the year across New Year, and hostile input.

use std::path::PathBuf;

use coroner_report::sources::{parse_entry, Parsed, SourceCtx};
use coroner_schemas::accounts::Accounts;
use coroner_schemas::manifest::{Entry, Manifest};
use coroner_schemas::{Event, EventKind, Timestamp};
use serde_json::{json, Value};

fn fixture(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/syslog")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn manifest(offset: Option<i32>) -> Manifest {
    serde_json::from_value(json!({
        "schema_version": 1, "bundle_name": "test.tar.gz",
        "host": {"hostname": "vm", "utc_offset_seconds": offset},
        "collector": {"name": "coroner-collect", "version": "0", "started": "2026-11-27T20:21:28.000000Z",
            "finished": "2026-11-27T20:21:29.000000Z", "argv": [], "uid": 0, "euid": 0, "live": true,
            "signer_fingerprint": "SHA256:x", "ephemeral_key": true,
            "options": {"cores": "meta", "core_cap_bytes": 0, "max_file_bytes": 0, "max_total_bytes": 0,
                "journal_window_seconds": 0, "command_timeout_ms": 0, "includes": [], "excludes": [], "gentle": false}},
        "entries": [], "problems": []
    }))
    .expect("manifest")
}

fn entry(name: &str, mtime: &str) -> Entry {
    serde_json::from_value(json!({
        "path": format!("fs/var/log/{name}"), "source": format!("/var/log/{name}"), "category": "syslog",
        "format": "syslog", "size": 0, "status": {"kind": "ok"},
        "stat": {"mode": 33188, "uid": 0, "gid": 0, "size": 0, "allocated": 0, "mtime": mtime, "ino": 1, "dev": 1,
            "nlink": 1}
    }))
    .expect("entry")
}

fn accounts() -> Accounts {
    Accounts::parse(
        b"root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\nbob:x:1001:1001::/home/bob:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
        b"",
    )
}

fn run_at(raw: &[u8], name: &str, mtime: &str, offset: Option<i32>) -> Parsed {
    let e = entry(name, mtime);
    let m = manifest(offset);
    let acc = accounts();
    let ctx = SourceCtx::new(&e, &m, &acc);
    parse_entry(raw, &ctx)
}

/// mtimes as rsyslogd left the files (see PROVENANCE).
fn run(name: &str) -> Parsed {
    let mtime = if name == "kern.log" {
        "2026-11-27T20:21:13.807286Z"
    } else {
        "2026-11-27T20:21:21.255286Z"
    };
    run_at(&fixture(name), name, mtime, Some(0))
}

fn golden(p: &Parsed) -> Value {
    let notable: Vec<&Event> = p.events.iter().filter(|e| e.kind != EventKind::Log).collect();
    json!({ "events_total": p.events.len(), "notable": notable, "problems": p.problems })
}

fn of_kind(p: &Parsed, k: EventKind) -> Vec<&Event> {
    p.events.iter().filter(|e| e.kind == k).collect()
}

#[test]
fn goldens() {
    for (name, snap) in [
        ("kern.log", "kern_log"),
        ("syslog", "syslog"),
        ("syslog-hiprec", "syslog_hiprec"),
        ("syslog-rfc5424", "syslog_rfc5424"),
        ("auth.log", "auth_log"),
    ] {
        insta::assert_json_snapshot!(snap, golden(&run(name)));
    }
}

#[test]
fn staged_oom_through_kernel_lines_in_every_format() {
    for name in ["kern.log", "syslog", "syslog-hiprec", "syslog-rfc5424"] {
        let p = run(name);
        let kills = of_kind(&p, EventKind::OomKill);
        assert_eq!(kills.len(), 2, "{name}");
        let k = kills[1];
        assert_eq!(
            (k.pid, k.uid, k.comm.as_deref(), k.user.as_deref()),
            (Some(14406), Some(65534), Some("python3"), Some("nobody")),
            "{name}"
        );
        assert_eq!(k.fields["oom_memcg"], json!("/coroner-fixture"), "{name}");
        assert_eq!(k.fields["global"], json!(false), "{name}");
        assert_eq!(k.fields["since_boot_us"], json!(1_094_855_105_u64), "{name}");
        assert_eq!(k.source, coroner_schemas::Source::Syslog);
        let segv: Vec<_> = of_kind(&p, EventKind::Segfault)
            .iter()
            .map(|e| (e.pid, e.comm.clone()))
            .collect();
        assert!(
            segv.contains(&(Some(14221), Some("a]: segfault at".into()))),
            "{name}: {segv:?}"
        );
        assert_eq!(of_kind(&p, EventKind::Trap).len(), 4, "{name}");
        assert!(p.problems.is_empty(), "{name}: {:?}", p.problems);
    }
}

/// RHEL 7 (3.10) through rsyslog: `Kill process … score … or sacrifice child` then `Killed process N (comm),
/// UID U, total-vm:…`; one oom_kill per kill, the memory-cgroup one flagged with its cgroup.
#[test]
fn rhel7_oom_kills_through_kernel_lines() {
    let p = run_at(&fixture("messages-rhel7-oom"), "messages", "2026-03-14T17:20:45Z", Some(0));
    let kills = of_kind(&p, EventKind::OomKill);
    let who: Vec<_> = kills.iter().map(|e| (e.pid, e.uid, e.comm.as_deref())).collect();
    assert_eq!(who, vec![(Some(21945), Some(27), Some("mysqld")), (Some(30211), Some(91), Some("java"))]);
    let (db, web) = (kills[0], kills[1]);
    assert_eq!(db.fields["global"], json!(true));
    assert_eq!(db.fields["score"], json!(956));
    assert_eq!(db.fields["anon_rss_kb"], json!(31_303_276));
    assert_eq!(db.fields["shmem_rss_kb"], json!(0));
    assert_eq!(web.fields["global"], json!(false));
    assert_eq!(web.fields["constraint"], json!("CONSTRAINT_MEMCG"));
    assert_eq!(web.fields["oom_memcg"], json!("/system.slice/tomcat.service"));
    assert_eq!(web.fields["task_memcg"], json!("/system.slice/tomcat.service"));
    assert_eq!(web.fields["score"], json!(998));
    assert_eq!(web.fields["total_vm_kb"], json!(4_757_288));
    assert_eq!(web.source, coroner_schemas::Source::Syslog);
    // 3.10's cpuset line comes between `invoked oom-killer` and the CPU line, whose pid (a thread) is the invoker's.
    let invoked = of_kind(&p, EventKind::OomInvoked);
    assert_eq!(invoked.iter().map(|e| (e.pid, e.comm.as_deref())).collect::<Vec<_>>(), vec![(Some(21950), Some("mysqld")), (Some(30211), Some("java"))]);
    assert!(p.problems.is_empty(), "{:?}", p.problems);
}

#[test]
fn header_forms_give_their_times() {
    // Traditional: inferred from mtime year and the host offset.
    let p = run("kern.log");
    match &p.events[0].timestamp {
        Timestamp::Inferred { utc, assumption } => {
            assert_eq!(utc.rfc3339(), "2026-11-27T20:21:02.000000Z");
            assert!(
                assumption.contains("mtime") && assumption.contains("UTC+00:00"),
                "{assumption}"
            );
        }
        other => panic!("{other:?}"),
    }
    // The same line with the host at UTC+01:00 is an hour earlier in UTC.
    let p1 = run_at(
        &fixture("kern.log"),
        "kern.log",
        "2026-11-27T20:21:13.807286Z",
        Some(3600),
    );
    assert_eq!(
        p1.events[0].timestamp.sort_key().map(|u| u.rfc3339()),
        Some("2026-11-27T19:21:02.000000Z".into())
    );
    // High precision and RFC 5424 are exact.
    for name in ["syslog-hiprec", "syslog-rfc5424"] {
        let p = run(name);
        assert_eq!(
            p.events[0].timestamp,
            Timestamp::Exact {
                utc: coroner_schemas::Utc::parse_rfc3339("2026-11-27T20:21:02.848762Z").expect("t")
            },
            "{name}"
        );
    }
    let p = run("syslog-rfc5424");
    let accepted = of_kind(&p, EventKind::Login);
    assert_eq!(accepted[0].fields["facility"], json!(4));
    assert_eq!(accepted[0].fields["severity"], json!(6));
    assert_eq!(accepted[0].fields["program_pid"], json!(2201));
}

#[test]
fn auth_lines() {
    let p = run("auth.log");
    let logins = of_kind(&p, EventKind::Login);
    let l: Vec<_> = logins
        .iter()
        .map(|e| {
            (
                e.user.clone(),
                e.uid,
                e.field_str("host").map(str::to_owned),
                e.field_str("method").map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(
        l,
        vec![
            (
                Some("alice".into()),
                Some(1000),
                Some("203.0.113.7".into()),
                Some("publickey".into())
            ),
            (
                Some("bob".into()),
                Some(1001),
                Some("192.0.2.44".into()),
                Some("password".into())
            ),
        ]
    );
    let failed = of_kind(&p, EventKind::LoginFailed);
    assert_eq!(failed.len(), 2);
    assert_eq!((failed[0].user.as_deref(), failed[0].uid), (Some("admin"), None));
    assert_eq!(failed[0].fields["invalid_user"], json!(true));
    assert_eq!((failed[1].user.as_deref(), failed[1].uid), (Some("root"), Some(0)));
    let sudo = of_kind(&p, EventKind::PrivilegedCommand);
    assert_eq!(sudo.len(), 2, "sudo and su");
    assert_eq!(sudo[0].user.as_deref(), Some("alice"));
    assert_eq!(sudo[0].fields["runas"], json!("root"));
    assert_eq!(sudo[0].fields["command"], json!("/usr/bin/kill -9 14406"));
    assert_eq!(sudo[0].fields["tty"], json!("pts/0"));
    assert_eq!(sudo[0].fields["pwd"], json!("/home/alice"));
    assert_eq!((sudo[1].user.as_deref(), sudo[1].pid), (Some("root"), Some(14450)));
    assert_eq!(sudo[1].fields["runas"], json!("nobody"));
    let logout = of_kind(&p, EventKind::Logout);
    assert_eq!(logout.len(), 1);
    assert_eq!((logout[0].user.as_deref(), logout[0].pid), (Some("alice"), Some(2201)));
}

#[test]
fn cron_and_systemd_lines() {
    let p = run("syslog");
    let cron = of_kind(&p, EventKind::CronRun);
    assert_eq!(cron.len(), 1);
    assert_eq!(cron[0].pid, Some(3100));
    assert_eq!(cron[0].fields["run_as"], json!("root"));
    assert_eq!(
        cron[0].fields["command"],
        json!("/usr/local/bin/reap-python.sh >/dev/null 2>&1")
    );
    let exits = of_kind(&p, EventKind::ProcessExit);
    assert_eq!(exits[0].fields["unit"], json!("myapp.service"));
    assert_eq!(exits[0].fields["signal"], json!(9));
    assert_eq!(exits[0].fields["signal_name"], json!("SIGKILL"));
    assert_eq!(exits[0].fields["code"], json!("killed"));
    let dumped: Vec<_> = of_kind(&p, EventKind::ProcessCrash)
        .into_iter()
        .filter(|e| e.fields.contains_key("unit"))
        .collect();
    assert_eq!(dumped[0].fields["signal"], json!(6));
    assert_eq!(dumped[0].fields["code"], json!("dumped"));
    let failed: Vec<_> = of_kind(&p, EventKind::ServiceFailed)
        .iter()
        .map(|e| e.fields["result"].to_json())
        .collect();
    assert_eq!(failed, vec![json!("oom-kill"), json!("watchdog")]);
    assert_eq!(of_kind(&p, EventKind::WatchdogTimeout)[0].fields["watchdog_limit"], json!("3s"));
    let killed: Vec<_> = of_kind(&p, EventKind::ServiceKilled)
        .iter()
        .map(|e| (e.pid, e.comm.clone(), e.field_i64("signal")))
        .collect();
    assert_eq!(
        killed,
        vec![
            (Some(4242), Some("worker".into()), Some(6)),
            (Some(777), Some("slowd".into()), Some(9))
        ]
    );
    let stop = of_kind(&p, EventKind::ServiceStop);
    assert_eq!(stop[0].fields["result"], json!("timeout"));
    let core = of_kind(&p, EventKind::CoreDumped);
    assert_eq!(
        (core[0].pid, core[0].uid, core[0].comm.as_deref()),
        (Some(4242), Some(1000), Some("worker"))
    );
    assert_eq!(core[0].fields["program_pid"], json!(4250));
}

#[test]
fn year_walks_back_across_new_year() {
    let p = run_at(
        &fixture("syslog.1-newyear"),
        "syslog.1",
        "2027-01-01T00:05:00.000000Z",
        Some(0),
    );
    let times: Vec<_> = p
        .events
        .iter()
        .map(|e| e.timestamp.sort_key().map(|u| u.rfc3339()))
        .collect();
    assert_eq!(
        times,
        vec![
            Some("2026-12-31T23:59:58.000000Z".into()),
            Some("2026-12-31T23:59:59.000000Z".into()),
            Some("2027-01-01T00:00:01.000000Z".into()),
            Some("2027-01-01T00:00:02.000000Z".into()),
        ]
    );
    // A file last written on Dec 31 but only stat'ed in January keeps its December year.
    let p = run_at(
        b"Dec 31 10:00:00 vm x: y\n",
        "syslog.2",
        "2027-01-03T00:00:00.000000Z",
        Some(0),
    );
    assert_eq!(
        p.events[0].timestamp.sort_key().map(|u| u.rfc3339()),
        Some("2026-12-31T10:00:00.000000Z".into())
    );
}

#[test]
fn hostile_syslog_input() {
    assert!(run_at(b"", "e", "2026-11-27T00:00:00Z", Some(0)).events.is_empty());
    // Garbage: lines without a header are kept as undated log lines and reported.
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let p = run_at(&garbage, "g", "2026-11-27T00:00:00Z", Some(0));
    assert!(p.events.iter().all(|e| e.kind == EventKind::Log));
    assert_eq!(p.events.len(), p.problems.len());
    // 1 MB message: raw whole, summary capped.
    let mut big = b"Nov 27 20:21:21 vm app[1]: ".to_vec();
    big.extend(std::iter::repeat_n(b'x', 1 << 20));
    let p = run_at(&big, "b", "2026-11-27T21:00:00Z", Some(0));
    assert_eq!(p.events[0].raw.to_bytes(), big);
    assert!(p.events[0].message.chars().count() <= 1001);
    // Non-UTF-8 bytes survive exactly; a hostile comm in a kernel line still yields the right pid.
    let raw = b"Nov 27 20:21:21 vm kernel: [ 1.000000] \xff) (x[42]: segfault at 0 ip 1 sp 2 error 4 in a[1+2]\n";
    let p = run_at(raw, "k", "2026-11-27T21:00:00Z", Some(0));
    assert_eq!(p.events[0].raw.to_bytes(), raw[..raw.len() - 1].to_vec());
    assert_eq!((p.events[0].kind, p.events[0].pid), (EventKind::Segfault, Some(42)));
    // Feb 30 and a bad RFC 5424 line do not panic.
    let p = run_at(
        b"Feb 30 00:00:00 vm a: b\n<13>1 nonsense\n<999999>x\n",
        "f",
        "2026-03-01T00:00:00Z",
        None,
    );
    assert_eq!(p.events.len(), 3);
}

/// The RFC 5424 and RFC 3164 documents' own examples: structured data, BOM, `<PRI>` before a 3164 header.
#[test]
fn rfc_examples() {
    let raw = "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"][examplePriority@32473 class=\"high\"] \u{feff}An application event log entry...\n<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8\n";
    let p = run_at(raw.as_bytes(), "m", "2003-10-12T00:00:00Z", Some(0));
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    let a = &p.events[0];
    assert_eq!(
        a.timestamp.sort_key().map(|u| u.rfc3339()),
        Some("2003-10-11T22:14:15.003000Z".into())
    );
    assert_eq!(a.message, "An application event log entry...");
    assert_eq!(a.fields["msgid"], json!("ID47"));
    assert_eq!(a.fields["program"], json!("evntslog"));
    assert_eq!(
        (a.fields["facility"].to_json(), a.fields["severity"].to_json()),
        (json!(20), json!(5))
    );
    assert!(a
        .field_str("structured_data")
        .is_some_and(|s| s.ends_with("class=\"high\"]")));
    let b = &p.events[1];
    assert_eq!(
        b.timestamp.sort_key().map(|u| u.rfc3339()),
        Some("2003-10-11T22:14:15.000000Z".into())
    );
    assert_eq!(
        (b.fields["program"].to_json(), b.fields["facility"].to_json()),
        (json!("su"), json!(4))
    );
}

/// An entry at `/var/log/{name}` with the given mtime (`None`: the collector could not read one).
fn entry_with(name: &str, mtime: Option<&str>) -> Entry {
    let mut e = entry(name, "2026-01-01T00:00:00Z");
    if let Some(st) = e.stat.as_mut() {
        st.mtime = mtime.map(|m| coroner_schemas::Utc::parse_rfc3339(m).expect("mtime"));
    }
    e
}

/// Parses `raw` as `/var/log/{name}` in a bundle that also holds `siblings` (name, mtime).
fn run_among(raw: &[u8], name: &str, mtime: Option<&str>, siblings: &[(&str, Option<&str>)]) -> Parsed {
    let e = entry_with(name, mtime);
    let mut m = manifest(Some(0));
    m.entries = siblings.iter().map(|(n, t)| entry_with(n, *t)).collect();
    m.entries.push(e.clone());
    let acc = accounts();
    parse_entry(raw, &SourceCtx::new(&e, &m, &acc))
}

fn first_time_and_note(p: &Parsed) -> (String, String) {
    match &p.events[0].timestamp {
        Timestamp::Inferred { utc, assumption } => (utc.rfc3339(), assumption.clone()),
        other => panic!("not inferred: {other:?}"),
    }
}

/// The rotation order bounds a rotated file's year: its lines were written before its newer rotations'.
#[test]
fn rotation_order_bounds_the_year() {
    let line = b"Dec 31 10:00:00 vm app[1]: written on New Year's Eve\n";
    // Copied without its times (mtime a year late): the newer rotations' mtimes still place it.
    let p = run_among(
        line,
        "syslog.2.gz",
        Some("2028-02-01T00:00:00Z"),
        &[("syslog.1", Some("2027-01-03T00:00:00Z")), ("syslog", Some("2027-01-10T00:00:00Z")), ("syslog.3.gz", Some("2026-12-01T00:00:00Z"))],
    );
    let (t, note) = first_time_and_note(&p);
    assert_eq!(t, "2026-12-31T10:00:00.000000Z", "{note}");
    assert!(note.contains("\"/var/log/syslog.1\", a newer rotation") && note.contains("own mtime"), "{note}");
    // No mtime of its own: the newer rotation's, not the collection time (which would say 2025).
    let p = run_among(line, "syslog.1", None, &[("syslog", Some("2027-01-03T00:00:00Z"))]);
    let (t, note) = first_time_and_note(&p);
    assert_eq!(t, "2026-12-31T10:00:00.000000Z", "{note}");
    assert!(note.contains("no mtime"), "{note}");
    let p = run_among(line, "syslog.1", None, &[]);
    assert_eq!(first_time_and_note(&p).0, "2025-12-31T10:00:00.000000Z", "collection time (2026-11-27) alone");
    // logrotate dateext: the name gives the rotation day.
    let p = run_among(line, "auth.log-20270102.gz", None, &[]);
    let (t, note) = first_time_and_note(&p);
    assert_eq!(t, "2026-12-31T10:00:00.000000Z", "{note}");
    assert!(note.contains("rotated on 2027-01-02"), "{note}");
    // A file whose own mtime is earlier than every bound keeps it.
    let p = run_among(line, "syslog.1", Some("2027-01-02T00:00:00Z"), &[("syslog", Some("2027-06-01T00:00:00Z"))]);
    let (t, note) = first_time_and_note(&p);
    assert_eq!(t, "2026-12-31T10:00:00.000000Z");
    assert!(note.starts_with("year from the file's mtime;"), "{note}");
    // Older rotations, other files and names that only look like rotations do not bound it.
    for (name, sib) in [
        ("syslog.1", "syslog.2"),
        ("syslog.1", "messages"),
        ("syslog.1", "syslog.1x"),
        ("php7.4-fpm.log", "php7.4-fpm"),
        ("syslog.99999999999", "syslog"),
        ("app-20271399", "app"),
        ("-20270102", "x"),
    ] {
        let p = run_among(line, name, Some("2027-01-02T00:00:00Z"), &[(sib, Some("2026-06-01T00:00:00Z"))]);
        let (t, note) = first_time_and_note(&p);
        assert_eq!(t, "2026-12-31T10:00:00.000000Z", "{name} beside {sib}: {note}");
        assert!(note.starts_with("year from the file's mtime;"), "{name} beside {sib}: {note}");
    }
}

/// Real output of other syslog daemons run here (fixtures/syslog/PROVENANCE): busybox syslogd (`host facility.level
/// tag:`, and `-S` with no hostname), rsyslog with control characters kept (tab-indented continuation lines),
/// syslog-ng's default, `frac-digits(3)` (`Dec  4 15:58:36.699 host tag:`) and ISO forms. Each line gets its host,
/// program, pid and time; a continuation line belongs to the entry above it.
#[test]
fn other_daemons_shapes() {
    for (name, host, level) in [
        ("busybox-messages", Some("vm"), true),
        ("busybox-messages-S", None, false),
        ("rsyslog-multiline", Some("vm"), false),
        ("rsyslog-multiline-hiprec", Some("vm"), false),
        ("syslog-ng-default", Some("vm"), false),
        ("syslog-ng-frac3", Some("vm"), false),
        ("syslog-ng-iso", Some("vm"), false),
    ] {
        let p = run_at(&fixture(name), name, "2026-12-04T15:58:40Z", Some(0));
        assert!(p.problems.is_empty(), "{name}: {:?}", p.problems);
        let login = of_kind(&p, EventKind::Login);
        assert_eq!(login.len(), 1, "{name}");
        let l = login[0];
        assert_eq!((l.user.as_deref(), l.pid), (Some("alice"), Some(2201)), "{name}");
        assert_eq!(l.field_str("program"), Some("sshd"), "{name}");
        assert_eq!(l.field_str("hostname"), host, "{name}");
        assert!(l.timestamp.sort_key().is_some_and(|t| t.rfc3339().starts_with("2026-12-04T15:58:")), "{name}: {:?}", l.timestamp);
        if level {
            // busybox's `auth.info`: facility 4, severity 6, as a <PRI> would say.
            assert_eq!((l.field_i64("facility"), l.field_i64("severity")), (Some(4), Some(6)), "{name}");
        }
        assert_eq!(of_kind(&p, EventKind::CronRun).len(), 1, "{name}");
        let segv = of_kind(&p, EventKind::Segfault);
        assert_eq!(segv.iter().map(|e| (e.pid, e.comm.as_deref())).collect::<Vec<_>>(), vec![(Some(3120), Some("crashy"))], "{name}");
        assert_eq!(segv[0].field_i64("since_boot_us"), Some(997_390_602), "{name}");
        let su = of_kind(&p, EventKind::PrivilegedCommand);
        assert_eq!(su.iter().map(|e| e.pid).collect::<Vec<_>>(), vec![Some(4450)], "{name}");
        // The traceback is one entry: its tab-indented lines are in its message and its raw bytes.
        let app = p.events.iter().find(|e| e.field_str("program") == Some("app")).expect("app");
        assert_eq!(app.pid, Some(4404), "{name}");
        assert!(app.message.ends_with("ValueError: bad"), "{name}: {:?}", app.message);
        let raw = app.raw.to_bytes();
        let off = app.origin.offset.expect("offset") as usize;
        assert_eq!(fixture(name).get(off..off + raw.len()), Some(raw.as_slice()), "{name}: raw is the file's bytes");
        assert!(p.events.iter().all(|e| !e.message.starts_with('\t')), "{name}");
    }
    // syslog-ng's frac-digits(3): the fraction is part of the time, not a hostname.
    let p = run_at(&fixture("syslog-ng-frac3"), "syslog-ng-frac3", "2026-12-04T15:58:40Z", Some(0));
    assert_eq!(p.events[0].timestamp.sort_key().map(|t| t.rfc3339()), Some("2026-12-04T15:58:36.699000Z".into()));
    assert_eq!((p.events[0].field_str("program"), p.events[0].field_i64("program_pid")), (Some("syslog-ng"), Some(31350)));
}

/// The edge forms of issue 11 by themselves: a fraction after RFC 3164 seconds, a line with no hostname, a
/// continuation with no entry above it (kept, reported).
#[test]
fn rfc3164_edge_forms() {
    let p = run_at(b"Mar 23 23:01:18.123 host prog[19]: hello\n", "m", "2026-03-24T00:00:00Z", Some(0));
    let e = &p.events[0];
    assert_eq!((e.field_str("hostname"), e.field_str("program"), e.pid), (Some("host"), Some("prog"), Some(19)));
    assert_eq!(e.timestamp.sort_key().map(|t| t.rfc3339()), Some("2026-03-23T23:01:18.123000Z".into()));
    let p = run_at(b"Nov 18 08:30:20 kernel: [997.390602] crashy[3120]: segfault at 0 ip 1 sp 2 error 6 in crashy[1+2]\n", "k", "2026-11-18T09:00:00Z", Some(0));
    let e = &p.events[0];
    assert_eq!((e.kind, e.pid, e.field_str("hostname")), (EventKind::Segfault, Some(3120), None));
    // A hostname is still a hostname; a bad fraction is no header.
    let p = run_at(b"Nov 18 08:30:20 web1 sshd[5]: x\nNov 18 08:30:20.12x3 h p: y\n", "h", "2026-11-18T09:00:00Z", Some(0));
    assert_eq!(p.events[0].field_str("hostname"), Some("web1"));
    assert_eq!(p.problems.len(), 1, "{:?}", p.problems);
    let p = run_at(b"\tno entry above\nNov 18 08:30:20 web1 a: b\n", "c", "2026-11-18T09:00:00Z", Some(0));
    assert_eq!((p.events.len(), p.problems.len()), (2, 1));
}
