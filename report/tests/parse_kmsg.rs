//! kmsg / dmesg / pstore parser over real records staged on this VM (fixtures/kmsg): goldens, the staged
//! memory-cgroup OOM kills, old kernels' two-line OOM kills (hand-written fixtures), segfaults and traps, and
//! hostile input.

use std::path::PathBuf;

use coroner_report::sources::{parse_entry, Parsed, SourceCtx};
use coroner_schemas::accounts::Accounts;
use coroner_schemas::manifest::{Entry, Manifest};
use coroner_schemas::{Event, EventKind, Timestamp};
use serde_json::{json, Value};

fn fixture(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/kmsg")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The manifest of the staging run: the clock sample taken right after the capture (see PROVENANCE).
fn manifest(with_clock: bool, with_boot: bool) -> Manifest {
    let mut m = json!({
        "schema_version": 1, "bundle_name": "test.tar.gz",
        "host": {"hostname": "vm", "utc_offset_seconds": 0, "timezone": "Etc/UTC"},
        "collector": {"name": "coroner-collect", "version": "0", "started": "2026-11-27T20:21:28.000000Z",
            "finished": "2026-11-27T20:21:29.000000Z", "argv": [], "uid": 0, "euid": 0, "live": true,
            "signer_fingerprint": "SHA256:x", "ephemeral_key": true,
            "options": {"cores": "meta", "core_cap_bytes": 0, "max_file_bytes": 0, "max_total_bytes": 0,
                "journal_window_seconds": 0, "command_timeout_ms": 0, "includes": [], "excludes": [], "gentle": false}},
        "entries": [], "problems": []
    });
    if with_clock {
        m["clock"] = json!({"realtime_ns": 1_795_810_888_666_408_980_i64, "monotonic_ns": 1_109_713_702_303_u64,
            "boottime_ns": 1_109_713_703_265_u64, "uncertainty_ns": 1000});
    }
    if with_boot {
        m["host"]["boot_time"] = json!("2026-11-27T20:02:58.000000Z");
    }
    serde_json::from_value(m).expect("manifest")
}

fn entry(format: &str) -> Entry {
    serde_json::from_value(json!({
        "path": format!("test/{format}"), "source": "/dev/kmsg", "category": "kernel",
        "format": format, "size": 0, "status": {"kind": "ok"}
    }))
    .expect("entry")
}

fn accounts() -> Accounts {
    Accounts::parse(
        b"root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
        b"",
    )
}

fn run_with(raw: &[u8], format: &str, m: &Manifest) -> Parsed {
    let e = entry(format);
    let acc = accounts();
    let ctx = SourceCtx::new(&e, m, &acc);
    parse_entry(raw, &ctx)
}

fn run(raw: &[u8], format: &str) -> Parsed {
    run_with(raw, format, &manifest(true, true))
}

/// The golden: every event that is not a plain log line, as JSON, plus problems and a count of the rest.
fn golden(p: &Parsed) -> Value {
    let notable: Vec<&Event> = p
        .events
        .iter()
        .filter(|e| e.kind != EventKind::Log || !e.fields.is_empty())
        .collect();
    let notable: Vec<&Event> = notable.into_iter().filter(|e| e.kind != EventKind::Log).collect();
    json!({
        "events_total": p.events.len(),
        "notable": notable,
        "problems": p.problems,
    })
}

fn of_kind(p: &Parsed, k: EventKind) -> Vec<&Event> {
    p.events.iter().filter(|e| e.kind == k).collect()
}

#[test]
fn golden_kmsg_records() {
    insta::assert_json_snapshot!("kmsg_staged", golden(&run(&fixture("kmsg-staged.records"), "kmsg")));
}

#[test]
fn golden_dmesg_text() {
    insta::assert_json_snapshot!("dmesg_text", golden(&run(&fixture("dmesg.txt"), "dmesg_text")));
}

#[test]
fn golden_dmesg_ctime() {
    insta::assert_json_snapshot!("dmesg_ctime", golden(&run(&fixture("dmesg-T.txt"), "dmesg_text")));
}

#[test]
fn golden_dmesg_global_oom() {
    insta::assert_json_snapshot!(
        "dmesg_global_oom",
        golden(&run(&fixture("dmesg-global-oom.txt"), "dmesg_text"))
    );
}

#[test]
fn golden_dmesg_old_kernels() {
    for (name, snap) in [("dmesg-oom-3.10-global.txt", "dmesg_oom_3_10_global"), ("dmesg-oom-4.19-memcg.txt", "dmesg_oom_4_19_memcg")] {
        insta::assert_json_snapshot!(snap, golden(&run(&fixture(name), "dmesg_text")));
    }
}

#[test]
fn golden_pstore() {
    insta::assert_json_snapshot!("pstore", golden(&run(&fixture("pstore-dmesg-ramoops-0"), "pstore")));
}

/// The staged kills: python3 pid 14231 as root, then pid 14406 as uid 65534, both in /coroner-fixture.
fn assert_staged_oom(p: &Parsed) {
    let kills = of_kind(p, EventKind::OomKill);
    assert_eq!(kills.len(), 2, "one oom_kill per kill: {kills:#?}");
    for (ev, pid, uid, user) in [(kills[0], 14231, 0, "root"), (kills[1], 14406, 65534, "nobody")] {
        assert_eq!(ev.pid, Some(pid));
        assert_eq!(ev.uid, Some(uid));
        assert_eq!(ev.user.as_deref(), Some(user));
        assert_eq!(ev.comm.as_deref(), Some("python3"));
        assert_eq!(ev.fields["oom_memcg"], json!("/coroner-fixture"));
        assert_eq!(ev.fields["task_memcg"], json!("/coroner-fixture"));
        assert_eq!(ev.fields["constraint"], json!("CONSTRAINT_MEMCG"));
        assert_eq!(ev.fields["global"], json!(false));
        assert_eq!(ev.fields["anon_rss_kb"], json!(50816));
        assert_eq!(ev.fields["oom_score_adj"], json!(0));
    }
    let invoked = of_kind(p, EventKind::OomInvoked);
    assert_eq!(invoked.len(), 2);
    assert_eq!(
        (invoked[1].pid, invoked[1].uid),
        (Some(14406), Some(65534)),
        "from the CPU: line"
    );
    assert_eq!(invoked[1].fields["gfp_mask"], json!("0xcc0(GFP_KERNEL)"));
    // The task dump of the second episode names the sh parent and the victim, tied to the invoking line.
    let episode = invoked[1].fields["episode"].to_json();
    assert_eq!(Some(episode.clone()), invoked[1].origin.offset.map(|o| json!(o)));
    let rows: Vec<_> = of_kind(p, EventKind::OomTaskDump)
        .into_iter()
        .filter(|e| e.fields.get("episode").is_some_and(|v| *v == episode))
        .collect();
    let names: Vec<_> = rows.iter().map(|e| (e.pid, e.uid, e.comm.clone())).collect();
    assert_eq!(
        names,
        vec![
            (Some(14405), Some(0), Some("sh".into())),
            (Some(14406), Some(65534), Some("python3".into()))
        ]
    );
    assert_eq!(rows[1].fields["rss_pages"], json!(13304));
    assert_eq!(kills[1].fields["episode"], episode);
}

#[test]
fn staged_memcg_oom_from_kmsg_and_dmesg() {
    let p = run(&fixture("kmsg-staged.records"), "kmsg");
    assert_staged_oom(&p);
    // printk time 1094.855105 s + (realtime - monotonic) at capture.
    let kill = of_kind(&p, EventKind::OomKill)[1];
    match &kill.timestamp {
        Timestamp::FromBoot { utc, since_boot_us } => {
            assert_eq!(*since_boot_us, 1_094_855_105);
            assert_eq!(utc.rfc3339(), "2026-11-27T20:21:13.807811Z");
        }
        other => panic!("{other:?}"),
    }
    assert_staged_oom(&run(&fixture("dmesg.txt"), "dmesg_text"));
    assert_staged_oom(&run(&fixture("dmesg-T.txt"), "dmesg_text"));
}

#[test]
fn staged_crashes_segfaults_and_traps() {
    let p = run(&fixture("kmsg-staged.records"), "kmsg");
    let segv: Vec<_> = of_kind(&p, EventKind::Segfault)
        .iter()
        .map(|e| (e.pid, e.comm.clone()))
        .collect();
    assert!(
        segv.contains(&(Some(14221), Some("a]: segfault at".into()))),
        "{segv:?}"
    );
    assert!(segv.contains(&(Some(14222), Some("x) (y".into()))), "{segv:?}");
    assert!(segv.contains(&(Some(14220), Some("crash".into()))), "{segv:?}");
    let traps: Vec<_> = of_kind(&p, EventKind::Trap)
        .iter()
        .map(|e| {
            (
                e.pid.unwrap_or(0),
                e.field_i64("signal").unwrap_or(0),
                e.field_str("trap").unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        traps,
        vec![
            (14223, 5, "int3".to_owned()),
            (14224, 4, "invalid opcode".to_owned()),
            (14225, 8, "divide error".to_owned()),
            (14226, 11, "general protection fault".to_owned())
        ]
    );
    let fatal = of_kind(&p, EventKind::ProcessCrash);
    assert_eq!(fatal.len(), 1);
    assert_eq!(
        (fatal[0].pid, fatal[0].comm.as_deref()),
        (Some(14227), Some("fatal-demo"))
    );
    assert_eq!(fatal[0].field_i64("signal"), Some(11));
}

#[test]
fn continuation_lines_belong_to_their_record() {
    let p = run(&fixture("kmsg-staged.records"), "kmsg");
    let acpi = p
        .events
        .iter()
        .find(|e| e.field_i64("seq") == Some(190))
        .expect("seq 190");
    assert_eq!(acpi.fields["subsystem"], json!("acpi"));
    assert_eq!(acpi.fields["device"], json!("+acpi:PNP0A08:00"));
    let raw = acpi.raw.to_bytes();
    assert!(
        raw.ends_with(b" SUBSYSTEM=acpi\n DEVICE=+acpi:PNP0A08:00\n"),
        "{:?}",
        String::from_utf8_lossy(&raw)
    );
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    let boot = of_kind(&p, EventKind::Boot);
    assert_eq!(boot.len(), 1);
}

#[test]
fn global_oom_reaper_hung_lockup_panic() {
    let p = run(&fixture("dmesg-global-oom.txt"), "dmesg_text");
    let kill = of_kind(&p, EventKind::OomKill);
    assert_eq!(kill.len(), 1);
    assert_eq!(
        (kill[0].pid, kill[0].uid, kill[0].comm.as_deref()),
        (Some(4242), Some(999), Some("postgres"))
    );
    assert_eq!(kill[0].fields["global"], json!(true));
    assert_eq!(kill[0].fields["constraint"], json!("CONSTRAINT_NONE"));
    assert_eq!(kill[0].fields["task_memcg"], json!("/system.slice/postgresql.service"));
    let rows = of_kind(&p, EventKind::OomTaskDump);
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[2].comm.as_deref(), Some("my worker) x"), "names keep their spaces");
    assert_eq!(rows[0].fields["oom_score_adj"], json!(-250));
    let reaped = of_kind(&p, EventKind::OomReaped);
    assert_eq!(reaped[0].pid, Some(4242));
    assert_eq!(reaped[0].fields["episode"], kill[0].fields["episode"]);
    let hung = of_kind(&p, EventKind::HungTask);
    assert_eq!(
        (hung[0].pid, hung[0].comm.as_deref()),
        (Some(1234), Some("kworker/u8:2"))
    );
    let lock = of_kind(&p, EventKind::SoftLockup);
    assert_eq!((lock[0].pid, lock[0].comm.as_deref()), (Some(7777), Some("spin:loop")));
    assert_eq!(of_kind(&p, EventKind::KernelPanic).len(), 1);
    assert_eq!(of_kind(&p, EventKind::KernelOops)[0].pid, Some(31337));
    // A line with no time prefix continues the record before it: its bytes join that record's raw.
    let p = run(
        b"[    1.000000] INFO: task a:b:5 blocked for more than 9 seconds.\nno prefix here\n",
        "dmesg_text",
    );
    assert_eq!(p.events.len(), 1);
    assert_eq!((p.events[0].kind, p.events[0].pid), (EventKind::HungTask, Some(5)));
    assert!(p.events[0].raw.to_bytes().ends_with(b"seconds.\nno prefix here"));
}

/// Linux 3.10 to 5.0 print a kill in two lines, `Out of memory: Kill process … score … or sacrifice child` (the
/// choice) then `Killed process …` (the kill): one kill is one oom_kill event, on the task actually killed.
#[test]
fn old_kernel_global_oom_is_one_kill_per_victim() {
    let p = run(&fixture("dmesg-oom-3.10-global.txt"), "dmesg_text");
    let kills = of_kind(&p, EventKind::OomKill);
    let who: Vec<_> = kills.iter().map(|e| (e.pid, e.comm.as_deref())).collect();
    assert_eq!(who, vec![(Some(8811), Some("java")), (Some(9001), Some("celery")), (Some(9002), Some("celery"))]);
    let java = kills[0];
    assert_eq!(java.fields["global"], json!(true));
    assert_eq!(java.fields["score"], json!(912));
    assert_eq!(java.fields["total_vm_kb"], json!(16_049_380));
    assert_eq!(java.fields["anon_rss_kb"], json!(15_279_868));
    assert_eq!(java.fields["file_rss_kb"], json!(132));
    assert!(java.fields.get("shmem_rss_kb").is_none(), "3.10 prints no shmem-rss");
    assert_eq!(java.message, "OOM killer (system-wide) killed java (pid 8811)");
    assert_eq!(java.uid, Some(1000), "the line prints no uid: the task dump row's");
    // The choice stays on the timeline as a plain line that points at its kill.
    let choice = p.events.iter().find(|e| e.message.starts_with("Out of memory: Kill process 8811 ")).expect("choice");
    assert_eq!(choice.kind, EventKind::Log);
    assert_eq!(choice.fields["detail_of_oom_kill"], json!(java.origin.offset));
    // The parent was chosen and its child killed: the kill is the child's and names the parent.
    let child = kills[1];
    assert_eq!(child.fields["chosen_pid"], json!(9000));
    assert_eq!(child.fields["chosen_score"], json!(455));
    assert!(child.fields.get("score").is_none(), "the score is the parent's");
    assert_eq!(child.fields["anon_rss_kb"], json!(5_085_700));
    // A process sharing the child's memory is killed too: a kill of its own, by the same OOM.
    assert_eq!(kills[2].fields["shares_memory_with"], json!(9001));
    assert_eq!(kills[2].fields["global"], json!(true));
    assert_eq!(kills[2].fields["episode"], child.fields["episode"]);
    // 3.10 prints a cpuset line between `invoked oom-killer` and the CPU line, and `[ pid ]` task dumps.
    let invoked = of_kind(&p, EventKind::OomInvoked);
    assert_eq!(invoked.iter().map(|e| e.pid).collect::<Vec<_>>(), vec![Some(8811), Some(9001)]);
    assert_eq!(java.fields["episode"], invoked[0].fields["episode"]);
    let rows = of_kind(&p, EventKind::OomTaskDump);
    assert_eq!(rows.len(), 8);
    assert_eq!((rows[2].pid, rows[2].uid), (Some(8811), Some(1000)));
    assert_eq!(rows[2].fields["rss_pages"], json!(3_820_000));
    assert_eq!(rows[2].fields["episode"], java.fields["episode"]);
}

/// A memory-cgroup OOM of 4.19 (Debian 10): flagged as such, with the cgroups of its `Task in … killed as a
/// result of limit of …` line.
#[test]
fn old_kernel_memcg_oom_is_flagged_with_its_cgroups() {
    let p = run(&fixture("dmesg-oom-4.19-memcg.txt"), "dmesg_text");
    let kills = of_kind(&p, EventKind::OomKill);
    assert_eq!(kills.len(), 1, "{kills:#?}");
    let k = kills[0];
    assert_eq!((k.pid, k.comm.as_deref()), (Some(2101), Some("python3")));
    assert_eq!(k.fields["global"], json!(false));
    assert_eq!(k.fields["constraint"], json!("CONSTRAINT_MEMCG"));
    assert_eq!(k.fields["oom_memcg"], json!("/lxc/web1"));
    assert_eq!(k.fields["task_memcg"], json!("/lxc/web1/app"));
    assert_eq!(k.fields["score"], json!(968));
    assert_eq!(k.fields["anon_rss_kb"], json!(49536));
    assert_eq!(k.fields["shmem_rss_kb"], json!(0));
    assert_eq!(k.message, "OOM killer (memory cgroup /lxc/web1) killed python3 (pid 2101)");
    assert_eq!(of_kind(&p, EventKind::OomReaped)[0].fields["episode"], k.fields["episode"]);
    let rows = of_kind(&p, EventKind::OomTaskDump);
    assert_eq!(rows.iter().map(|e| (e.pid, e.uid)).collect::<Vec<_>>(), vec![(Some(2080), Some(33)), (Some(2101), Some(33))]);
}

/// 5.0 prints both the `oom-kill:` line and the two old lines; a kill may fall on a child of the chosen task;
/// a bare `Killed process` line with nothing before it says nothing of the OOM's scope.
#[test]
fn old_kernel_kill_lines_in_context() {
    let head = "[  100.000001] stress invoked oom-killer: gfp_mask=0x6200ca(GFP_HIGHUSER_MOVABLE), nodemask=(null), order=0, oom_score_adj=0\n\
        [  100.000002] CPU: 0 PID: 301 Comm: stress Not tainted 5.0.0 #1\n\
        [  100.000003] oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/user.slice,task=stress,pid=301,uid=1000\n\
        [  100.000004] Out of memory: Kill process 301 (stress) score 801 or sacrifice child\n";
    for (victim, same) in [(301, true), (302, false)] {
        let text = format!("{head}[  100.000005] Killed process {victim} (stress) total-vm:8kB, anon-rss:4kB, file-rss:0kB, shmem-rss:0kB\n");
        let p = run(text.as_bytes(), "dmesg_text");
        let kills = of_kind(&p, EventKind::OomKill);
        assert_eq!(kills.len(), 1, "{kills:#?}");
        let k = kills[0];
        assert_eq!(k.pid, Some(victim));
        assert_eq!(k.fields["constraint"], json!("CONSTRAINT_NONE"));
        assert_eq!(k.fields["global"], json!(true));
        assert_eq!(k.fields.get("task_memcg").is_some(), same, "the chosen task's cgroup only for that task");
        assert_eq!(k.uid, same.then_some(1000));
        assert_eq!(k.fields.get("chosen_pid").is_some(), !same);
        let details: Vec<_> = p.events.iter().filter(|e| e.fields.get("detail_of_oom_kill").is_some()).collect();
        assert_eq!(details.len(), 2, "the oom-kill: line and the choice");
        assert!(details.iter().all(|e| e.kind == EventKind::Log && e.fields["detail_of_oom_kill"] == json!(k.origin.offset)));
    }
    let p = run(b"[  5.000000] Killed process 77 (x) total-vm:8kB, anon-rss:4kB, file-rss:0kB\n", "dmesg_text");
    let k = of_kind(&p, EventKind::OomKill);
    assert_eq!((k.len(), k[0].pid), (1, Some(77)));
    assert!(k[0].fields.get("global").is_none());
    assert_eq!(k[0].message, "OOM killer killed x (pid 77)");
    // Hostile or cut lines: no kill, no bogus pid.
    let p = run(
        b"[  5.000000] Killed process -1 ()\n[  5.000001] Killed process 99999999999999999999 (x) total-vm:1kB\n\
          [  5.000002] Out of memory: Kill process 0 (x) score 1 or sacrifice child\n[  5.000003] Killed process 12 (ja\n",
        "dmesg_text",
    );
    assert!(of_kind(&p, EventKind::OomKill).is_empty(), "{:#?}", p.events);
    assert!(p.events.iter().all(|e| e.pid.is_none()));
}

#[test]
fn pstore_times_are_bounded_by_this_boot() {
    let p = run(&fixture("pstore-dmesg-ramoops-0"), "pstore");
    let panic = of_kind(&p, EventKind::KernelPanic);
    assert_eq!(panic.len(), 2, "header and the panic line");
    for e in &p.events {
        assert_eq!(e.source, coroner_schemas::Source::Pstore);
        match &e.timestamp {
            Timestamp::Bounded {
                after: None,
                before: Some(b),
            } => assert_eq!(b.rfc3339(), "2026-11-27T20:02:58.000000Z"),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn without_clock_falls_back_to_boot_time_then_unknown() {
    let raw = b"6,1,1000000,-;hello\n";
    let p = run_with(raw, "kmsg", &manifest(false, true));
    assert_eq!(
        p.events[0].timestamp.sort_key().map(|u| u.rfc3339()),
        Some("2026-11-27T20:02:59.000000Z".into())
    );
    let p = run_with(raw, "kmsg", &manifest(false, false));
    assert_eq!(p.events[0].timestamp, Timestamp::Unknown);
    assert_eq!(p.events[0].fields["since_boot_us"], json!(1_000_000));
}

#[test]
fn hostile_kmsg_input() {
    assert!(run(b"", "kmsg").events.is_empty());
    // Truncated record: no ';'.
    let p = run(b"6,1,100,-;ok\n6,2,2\n", "kmsg");
    assert_eq!(p.events.len(), 1);
    assert_eq!(p.problems.len(), 1);
    assert_eq!(p.problems[0].line, Some(2));
    // Binary garbage does not panic and does not invent events of a kind.
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    for fmt in ["kmsg", "dmesg_text", "pstore"] {
        let p = run(&garbage, fmt);
        assert!(p.events.iter().all(|e| e.kind == EventKind::Log), "{fmt}");
    }
    // A 1 MB line: kept whole in raw, the summary capped.
    let mut big = b"4,9,5,-;".to_vec();
    big.extend(std::iter::repeat_n(b'A', 1 << 20));
    big.push(b'\n');
    let p = run(&big, "kmsg");
    assert_eq!(p.events[0].raw.to_bytes(), big);
    assert!(p.events[0].message.chars().count() <= 1001);
    // Non-UTF-8 bytes, escaped by the kernel and raw: the record round-trips exactly.
    let raw = b"6,3,7,-;evil\\xff[77]: segfault at 0 ip 1 sp 2 error 4 in x[1,2+3] \xfe\n";
    let p = run(raw, "kmsg");
    assert_eq!(p.events[0].raw.to_bytes(), raw.to_vec());
    assert_eq!(p.events[0].kind, EventKind::Segfault);
    assert_eq!(p.events[0].pid, Some(77));
    // A continuation line with no record before it is a problem, not a crash.
    let p = run(b" SUBSYSTEM=x\n", "kmsg");
    assert_eq!((p.events.len(), p.problems.len()), (0, 1));
}

/// Every cut of every fixture, with a multi-byte character and invalid bytes spliced in, through every format
/// this file's parsers read: no panic (slicing on a char boundary, indexes past a length), raw kept.
#[test]
fn no_panic_on_cut_or_spliced_fixtures() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let mut inputs = Vec::new();
    for dir in ["kmsg", "syslog", "journal"] {
        let mut names: Vec<_> = std::fs::read_dir(root.join(dir))
            .expect("dir")
            .flatten()
            .map(|e| e.path())
            .collect();
        names.sort();
        for p in names {
            inputs.push(std::fs::read(&p).expect("read"));
        }
    }
    let m = manifest(true, true);
    for raw in &inputs {
        let step = (raw.len() / 23).max(1);
        for cut in (0..raw.len()).step_by(step) {
            let mut spliced = raw[..cut].to_vec();
            spliced.extend_from_slice("é]\u{2028}\\x".as_bytes());
            spliced.push(0xff);
            spliced.extend_from_slice(&raw[cut..]);
            for fmt in ["kmsg", "dmesg_text", "pstore", "syslog", "journal_json"] {
                let p = run_with(&raw[..cut], fmt, &m);
                for e in &p.events {
                    // Each event's raw bytes are exactly the bytes at its origin offset.
                    let b = e.raw.to_bytes();
                    let off = e.origin.offset.expect("offset") as usize;
                    assert_eq!(raw[..cut].get(off..off + b.len()), Some(b.as_slice()), "{fmt} at {off}");
                }
                let _ = run_with(&spliced, fmt, &m);
            }
        }
    }
}

/// A dmesg text file from an earlier boot (`/var/log/dmesg.0`, or any dmesg file last written before this
/// boot) keeps its `[seconds]` as `since_boot_us` but is not converted with this boot's clock: its times are
/// bounded by this boot and the file's mtime. This boot's `/var/log/dmesg` and a command's output convert.
#[test]
fn earlier_boot_dmesg_files_are_bounded_not_converted() {
    let raw = fixture("dmesg.txt");
    let m = manifest(true, true);
    let acc = accounts();
    let parse = |source: &str, mtime: Option<&str>, command: bool| -> Parsed {
        let mut e: Entry = serde_json::from_value(json!({
            "path": format!("fs{source}"), "source": source, "category": "kernel",
            "format": "dmesg_text", "size": 0, "status": {"kind": "ok"},
            "stat": {"mode": 33188, "uid": 0, "gid": 0, "size": 0, "allocated": 0, "mtime": mtime, "ino": 1, "dev": 1, "nlink": 1}
        }))
        .expect("entry");
        if command {
            e.command = serde_json::from_value(json!({"argv": ["dmesg"], "exit_code": 0, "signal": null, "duration_ms": 1, "timed_out": false, "stderr": ""})).ok();
            assert!(e.command.is_some(), "command record shape");
        }
        parse_entry(&raw, &SourceCtx::new(&e, &m, &acc))
    };
    let segfault_time = |p: &Parsed| of_kind(p, EventKind::Segfault)[0].timestamp.clone();
    // Earlier: by mtime (before the 2026-11-27T20:02:58Z boot), or by a rotation's name when there is no mtime.
    for (source, mtime, before) in [
        ("/var/log/dmesg", Some("2026-11-20T08:00:05Z"), "2026-11-20T08:00:05.000000Z"),
        ("/var/log/dmesg.0", Some("2026-11-20T08:00:05Z"), "2026-11-20T08:00:05.000000Z"),
        ("/var/log/dmesg.1.gz", None, "2026-11-27T20:02:58.000000Z"),
    ] {
        let p = parse(source, mtime, false);
        match segfault_time(&p) {
            Timestamp::Bounded { after: None, before: Some(b) } => assert_eq!(b.rfc3339(), before, "{source}"),
            other => panic!("{source}: {other:?}"),
        }
        let e = of_kind(&p, EventKind::Segfault)[0];
        assert_eq!(e.field_i64("since_boot_us"), Some(1_057_184_566), "{source}");
        assert!(e.field_str("earlier_boot").is_some_and(|w| !w.is_empty()), "{source}");
        assert!(p.events.iter().all(|e| !matches!(e.timestamp, Timestamp::FromBoot { .. })), "{source}");
    }
    // This boot's: written after the boot, or a command's output, or a name that is not a rotation.
    for (source, mtime, command) in [
        ("/var/log/dmesg", Some("2026-11-27T20:03:10Z"), false),
        ("/var/log/dmesg.0", Some("2026-11-27T20:03:10Z"), false),
        ("/var/log/dmesg", None, false),
        ("/var/log/dmesg.0x", None, false),
        ("dmesg", Some("2026-11-20T08:00:05Z"), true),
    ] {
        let p = parse(source, mtime, command);
        assert!(matches!(segfault_time(&p), Timestamp::FromBoot { .. }), "{source} {mtime:?}: {:?}", segfault_time(&p));
        assert_eq!(of_kind(&p, EventKind::Segfault)[0].field_str("earlier_boot"), None, "{source}");
    }
}

/// `dmesg -t` output (and a `/var/log/dmesg` saved without times) has no time prefixes: a task dump row such as
/// `[ 1381]     0  1381 …` is not a printk time of 1381 s, and each line is its own undated record, so the kill
/// after the dump is its own oom_kill event (it was read as a time and the kill folded into the row).
#[test]
fn timestamp_free_dmesg_keeps_each_line_and_the_kill() {
    for (name, pid, rows) in [
        ("dmesg-t-oom-3.13.txt", 1381, vec![366, 370, 904, 1203, 1381]),
        ("dmesg-t-oom-4.8.txt", 1381, vec![312, 370, 904, 1203, 1381]),
        ("dmesg-t-memcg-6.18.txt", 17820, vec![17819, 17820]),
    ] {
        let raw = fixture(name);
        let p = run(&raw, "dmesg_text");
        let lines = raw.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count();
        assert_eq!(p.events.len(), lines, "{name}: one event per line");
        let kills = of_kind(&p, EventKind::OomKill);
        assert_eq!(kills.len(), 1, "{name}: {kills:#?}");
        assert_eq!((kills[0].pid, kills[0].comm.as_deref()), (Some(pid), Some("gunpowder-memho")), "{name}");
        assert_eq!(kills[0].uid, Some(0), "{name}");
        let dump: Vec<_> = of_kind(&p, EventKind::OomTaskDump).iter().filter_map(|e| e.pid).collect();
        assert_eq!(dump, rows, "{name}");
        // No line carries a time: none may get one from a `[ pid]` column.
        for e in &p.events {
            assert_eq!(e.timestamp, Timestamp::Unknown, "{name}: {e:?}");
            assert!(e.fields.get("since_boot_us").is_none(), "{name}: {e:?}");
        }
        assert!(p.problems.is_empty(), "{name}: an undated file is not a malformed one: {:?}", p.problems);
    }
    // One message that begins like a time does not make the other lines its continuations.
    let mut raw = b"[    5.000000] looks like a time\n".to_vec();
    raw.extend(fixture("dmesg-t-oom-3.13.txt"));
    let p = run(&raw, "dmesg_text");
    assert_eq!(of_kind(&p, EventKind::OomKill).iter().map(|e| e.pid).collect::<Vec<_>>(), vec![Some(1381)]);
    let p = run(&fixture("dmesg-t-memcg-6.18.txt"), "dmesg_text");
    let k = of_kind(&p, EventKind::OomKill)[0];
    assert_eq!((k.fields["global"].to_json(), k.fields["oom_memcg"].to_json()), (json!(false), json!("/ks-fixture")));
    assert_eq!(of_kind(&p, EventKind::OomInvoked)[0].pid, Some(17820), "from the CPU: line");
}

/// The OOM kill and segfault as each kernel era printed them (fixtures/kmsg/eras-*, see PROVENANCE): each kill is
/// one oom_kill event on the right pid, comm and uid, and the invoking task is named (2.6.32 prints `Pid: N, comm:`
/// where later kernels print `CPU: … PID: … Comm:`); each segfault is one segfault event.
#[test]
fn oom_and_segfault_wording_of_every_era() {
    type Who = (i64, &'static str, Option<u32>);
    /// File, its kills, the pid of the task that invoked the OOM killer, its segfaults.
    type Case = (&'static str, Vec<Who>, Option<i64>, Vec<(i64, &'static str)>);
    let cases: [Case; 7] = [
        ("eras-2.6.32.txt", vec![(4711, "java", Some(1000))], Some(4711), vec![(5120, "crashy"), (5188, "worker")]),
        ("eras-2.6.32-rhel6.txt", vec![(4711, "java", Some(1000))], Some(4711), vec![(5120, "crashy")]),
        ("eras-3.13.txt", vec![(1381, "gunpowder-memho", Some(0))], Some(1381), vec![(2044, "crashy")]),
        ("eras-4.8.txt", vec![(1381, "gunpowder-memho", Some(0))], Some(1381), vec![(3412, "crashy")]),
        ("eras-5.x.txt", vec![(2893, "stress", Some(1000))], Some(2893), vec![(3120, "crashy")]),
        ("eras-6.2.txt", vec![], None, vec![(1502, "crashy")]),
        ("eras-6.18.txt", vec![(17820, "gunpowder-memho", Some(0))], Some(17820), vec![(9734, "crashy")]),
    ];
    for (name, kills, invoker, segv) in cases {
        let p = run(&fixture(name), "dmesg_text");
        let got: Vec<_> = of_kind(&p, EventKind::OomKill).iter().map(|e| (e.pid, e.comm.clone(), e.uid)).collect();
        let want: Vec<_> = kills.iter().map(|(p, c, u)| (Some(*p), Some((*c).to_owned()), *u)).collect();
        assert_eq!(got, want, "{name}: {:#?}", of_kind(&p, EventKind::OomKill));
        for k in of_kind(&p, EventKind::OomKill) {
            assert!(k.fields.get("total_vm_kb").is_some_and(|v| v.to_json().as_i64() > Some(0)), "{name}: {k:?}");
            assert!(k.message.starts_with("OOM killer"), "{name}: {}", k.message);
        }
        assert_eq!(of_kind(&p, EventKind::OomInvoked).first().and_then(|e| e.pid), invoker, "{name}");
        let got: Vec<_> = of_kind(&p, EventKind::Segfault).iter().map(|e| (e.pid.unwrap_or(0), e.comm.clone().unwrap_or_default())).collect();
        let want: Vec<_> = segv.iter().map(|(p, c)| (*p, (*c).to_owned())).collect();
        assert_eq!(got, want, "{name}");
        assert!(p.problems.is_empty(), "{name}: {:?}", p.problems);
    }
}

/// A cpuset- or mempolicy-constrained OOM prints "Out of memory: Killed process" like a host-wide one; only the
/// `oom-kill:` constraint tells them apart. Regression: every constraint but CONSTRAINT_MEMCG was `global`.
#[test]
fn only_constraint_none_is_a_global_oom() {
    for (constraint, global) in [
        ("CONSTRAINT_NONE", Some(true)),
        ("CONSTRAINT_CPUSET", None),
        ("CONSTRAINT_MEMORY_POLICY", None),
        ("CONSTRAINT_SOMETHING_NEW", None),
    ] {
        let text = format!(
            "[  100.000003] oom-kill:constraint={constraint},nodemask=1,cpuset=pinned,mems_allowed=1,global_oom,task_memcg=/user.slice,task=stress,pid=301,uid=1000\n\
             [  100.000004] Out of memory: Killed process 301 (stress) total-vm:8kB, anon-rss:4kB, file-rss:0kB, shmem-rss:0kB, UID:1000 pgtables:4kB oom_score_adj:0\n"
        );
        let p = run(text.as_bytes(), "dmesg_text");
        let k = of_kind(&p, EventKind::OomKill);
        assert_eq!(k.len(), 1, "{k:#?}");
        assert_eq!(k[0].fields["constraint"], json!(constraint));
        assert_eq!(k[0].fields.get("global").map(|v| v.to_json()), global.map(|g| json!(g)), "{constraint}");
        if global.is_none() {
            assert!(!k[0].message.contains("system-wide"), "{}", k[0].message);
        }
    }
}
