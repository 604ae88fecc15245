//! The ELF core parser over real cores made on this VM (fixtures/cores/f-*.core), and hostile cuts.

#[path = "parse_history_support.rs"]
mod support;

use coroner_report::sources::core_elf;
use coroner_schemas::{EventKind, Timestamp};
use serde_json::json;
use support::*;

fn core_entry() -> coroner_schemas::Entry {
    entry(
        "core_elf",
        "fs/tmp/x/core",
        "/tmp/x/core",
        None,
        Some("2026-11-27T20:20:05.000000Z"),
    )
}

#[test]
fn real_segv_core() {
    let p = run(&fixture("cores", "f-segv.core"), &core_entry());
    insta::assert_json_snapshot!("f_segv_core", golden(&p));
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    let [e] = p.events.as_slice() else {
        panic!("one event: {:?}", p.events)
    };
    assert_eq!(e.kind, EventKind::CoreDumped);
    assert_eq!(e.pid, Some(13188), "the pid the program printed");
    assert_eq!(e.ppid, Some(13176));
    assert_eq!(
        (e.uid, e.user.as_deref(), e.comm.as_deref()),
        (Some(0), Some("root"), Some("segv"))
    );
    assert_eq!(e.fields["signal"], json!(11));
    assert_eq!(e.fields["signal_name"], json!("SIGSEGV"));
    assert_eq!(e.fields["si_code"], json!(1), "SEGV_MAPERR");
    assert_eq!(e.fields["si_addr"], json!("0x1234"), "the address the program wrote to");
    assert_eq!(e.fields["psargs"], json!("./segv"));
    assert_eq!(e.fields["exe"], json!("/tmp/x/segv"));
    assert_eq!(e.fields["mapped_files"], json!(15));
    assert_eq!(e.fields["truncated"], json!(false));
    assert_eq!(e.fields["core_entry"], json!("fs/tmp/x/core"));
    assert!(matches!(e.timestamp, Timestamp::Inferred { .. }));
}

#[test]
fn real_core_of_a_process_killed_by_another() {
    let p = run(&fixture("cores", "f-abrt-by-kill.core"), &core_entry());
    insta::assert_json_snapshot!("f_abrt_by_kill_core", golden(&p));
    let [e] = p.events.as_slice() else { panic!("one event") };
    assert_eq!((e.pid, e.comm.as_deref()), (Some(6920), Some("waitq")));
    assert_eq!(e.fields["signal_name"], json!("SIGABRT"));
    assert_eq!(e.fields["si_code"], json!(0), "SI_USER: sent by kill(2)");
    assert_eq!(e.fields["si_pid"], json!(7149), "the pid of the /bin/kill that sent it");
    assert_eq!(e.fields["si_uid"], json!(0));
    assert_eq!(e.fields["si_addr"], json!(null));
}

#[test]
fn head_only_core_keeps_its_notes() {
    let raw = fixture("cores", "f-segv.core");
    // The notes end at 0x191c; a 64 KiB head holds them all, but not the LOAD segments.
    let p = run(&raw[..65536], &core_entry());
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    assert_eq!(p.events[0].fields["truncated"], json!(true));
    assert_eq!(p.events[0].fields["si_addr"], json!("0x1234"));
    // Cut inside the notes: PRSTATUS/PRPSINFO survive, a problem says the rest is missing.
    let p = run(&raw[..0x800], &core_entry());
    let said: Vec<&str> = p.problems.iter().map(|q| q.message.as_str()).collect();
    assert_eq!(said, ["PT_NOTE segment ends at 6428 but only 2048 bytes are present", "note type 0x53494749 cut (needs 128 bytes)"]);
    assert_eq!(p.events[0].pid, Some(13188));
    assert_eq!(p.events[0].comm.as_deref(), Some("segv"));
}

#[test]
fn every_cut_and_garbage_never_panics() {
    let raw = fixture("cores", "f-segv.core");
    let e = core_entry();
    for cut in (0..8192).chain((8192..raw.len()).step_by(4093)) {
        let _ = run(&raw[..cut], &e);
    }
    // Flipped bytes in the headers and notes.
    for i in 0..0x1a00 {
        let mut m = raw[..0x2000].to_vec();
        m[i] ^= 0xff;
        let _ = run(&m, &e);
    }
    let p = run(
        b"\x7fELF garbage garbage garbage garbage garbage garbage garbage garbage",
        &e,
    );
    assert!(p.events.is_empty() && !p.problems.is_empty());
    assert!(run(b"", &e).events.is_empty());
}

#[test]
fn elf32_is_unsupported() {
    let e = core_entry();
    let mut h32 = vec![0u8; 52];
    h32[..7].copy_from_slice(b"\x7fELF\x01\x01\x01");
    h32[16] = 4;
    let p = run(&h32, &e);
    assert!(p.events.is_empty());
    assert!(p.problems[0].message.contains("unsupported: ELF32"), "{:?}", p.problems);
    // Not a core: an ELF executable (e_type 2).
    let mut exe = fixture("cores", "f-segv.core")[..64].to_vec();
    exe[16] = 2;
    let (notes, problems) = core_elf::read_core(&exe);
    assert!(notes.is_none() && problems[0].1.contains("not a core"));
}

// ---- The core file's name, read through kernel.core_pattern (fixtures/cores/PROVENANCE). ----

use coroner_report::sources::core_name::{escaped, CoreNaming, NamePattern, Spec};
use coroner_report::sources::{parse_entry, Parsed, SourceCtx};

/// The real core of pid 17947 written under `/tmp/corepat-test/c1/core.%e.%p.%t`.
const C1: &str = "/tmp/corepat-test/c1/core.crash.v2-1.17947.1796178730";

fn collected_naming() -> CoreNaming {
    CoreNaming::from_sysctl_json(&fixture("settings", "sysctl-core-pattern.json"))
}

fn run_named(raw: &[u8], e: &coroner_schemas::Entry, naming: &CoreNaming) -> Parsed {
    let (m, acc) = (manifest(), accounts());
    parse_entry(raw, &SourceCtx::new(e, &m, &acc).with_core_naming(naming))
}

fn head_entry(source: &str) -> coroner_schemas::Entry {
    let mut e = entry("core_elf", &format!("fs{source}"), source, None, Some("2026-12-02T02:32:10.640433Z"));
    e.status = coroner_schemas::manifest::Status::Truncated {
        kept: coroner_schemas::manifest::Kept::Head,
        original_size: 450_560,
        reason: "core head".into(),
    };
    e
}

fn meta_entry(source: &str) -> coroner_schemas::Entry {
    serde_json::from_value(json!({
        "path": coroner_schemas::layout::core_meta_path(source), "source": source, "category": "cores",
        "format": "other", "size": 433, "sha256": "x", "status": {"kind": "ok"}
    }))
    .expect("entry")
}

/// Every real name in names.tsv reads back, through the pattern that made it, the pid, comm and time the
/// crashing process had.
#[test]
fn real_core_names_read_back_through_their_patterns() {
    let tsv = String::from_utf8(fixture("cores", "names.tsv")).expect("utf-8");
    let mut rows = 0;
    for line in tsv.lines().skip(1) {
        let c: Vec<&str> = line.split('\t').collect();
        let [pattern, uses_pid, name, pid, comm, signal, time] = c[..] else { panic!("row {line:?}") };
        let p = NamePattern::new(pattern, uses_pid == "1").expect("file pattern");
        let m = p.read(name).unwrap_or_else(|| panic!("{name} does not match {pattern}"));
        assert!(m.ambiguous.is_empty(), "{name}: {m:?}");
        assert_eq!(m.pid().map(|p| p.to_string()).as_deref(), Some(pid), "{name}");
        if pattern.contains("%e") {
            assert_eq!(m.text(Spec::Comm), Some(escaped(comm.as_bytes()).as_str()), "{name}");
        }
        if pattern.contains("%t") {
            assert_eq!(m.num(Spec::Time).map(|t| t.to_string()).as_deref(), Some(time), "{name}");
        }
        if pattern.contains("%s") {
            assert_eq!(m.num(Spec::Signal).map(|s| s.to_string()).as_deref(), Some(signal), "{name}");
        }
        rows += 1;
    }
    assert_eq!(rows, 11);
}

/// A core's name under a collected `core.%e.%p.%t` pattern: the dump time becomes the event's exact time (the
/// mtime is kept), the name's pid and comm go in name_* fields and agree with the notes.
#[test]
fn the_name_gives_the_dump_time() {
    let p = run_named(&fixture("cores", "core.crash.v2-1.17947.1796178730.head"), &head_entry(C1), &collected_naming());
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    let [e] = p.events.as_slice() else { panic!("one event: {:?}", p.events) };
    assert_eq!((e.pid, e.comm.as_deref()), (Some(17947), Some("crash.v2-1")), "from the notes");
    assert_eq!(e.fields["name_pid"], json!(17947));
    assert_eq!(e.fields["name_comm"], json!("crash.v2-1"));
    assert_eq!(e.fields["name_time"], json!(1_796_178_730_u64));
    assert_eq!(e.fields["name_pattern"], json!("/tmp/corepat-test/c1/core.%e.%p.%t"));
    assert_eq!(e.fields["name_pattern_from"], json!("kernel.core_pattern"));
    assert_eq!(e.fields["mtime"], json!("2026-12-02T02:32:10.640433Z"));
    assert_eq!(e.timestamp, Timestamp::Exact { utc: coroner_schemas::Utc::from_unix(1_796_178_730, 0).expect("t") });
    // Without the bundle's pattern the common defaults read it the same way, and say so.
    let p = run_named(&fixture("cores", "core.crash.v2-1.17947.1796178730.head"), &head_entry(C1), &CoreNaming::UNKNOWN);
    assert_eq!(p.events[0].fields["name_pattern"], json!("core.%e.%p.%t"));
    assert_eq!(p.events[0].fields["name_pattern_from"], json!("common default"));
    assert_eq!(p.events[0].fields["name_pid"], json!(17947));
}

/// A name the pattern cannot have made gives no name_* field, and the time stays the mtime.
#[test]
fn a_name_that_does_not_match_gives_nothing() {
    let p = run_named(
        &fixture("cores", "core.crash.v2-1.17947.1796178730.head"),
        &head_entry("/tmp/corepat-test/c1/crash-report-17947"),
        &collected_naming(),
    );
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    let e = &p.events[0];
    assert!(e.fields.iter().all(|(k, _)| !k.starts_with("name_")), "{:?}", e.fields);
    assert!(matches!(e.timestamp, Timestamp::Inferred { .. }));
}

/// Regression guard for planted evidence: the segv core (pid 13188, comm segv) under another crash's name.
/// Both readings are kept and the disagreement is a recorded problem.
#[test]
fn a_renamed_core_is_flagged() {
    let p = run_named(&fixture("cores", "f-segv.core"), &head_entry(C1), &collected_naming());
    let [e] = p.events.as_slice() else { panic!("one event") };
    assert_eq!((e.pid, e.comm.as_deref()), (Some(13188), Some("segv")));
    assert_eq!(e.fields["name_pid"], json!(17947));
    assert_eq!(e.fields["name_comm"], json!("crash.v2-1"));
    let msgs: Vec<&str> = p.problems.iter().map(|p| p.message.as_str()).collect();
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    assert!(msgs[0].contains("pid 17947") && msgs[0].contains("13188"), "{msgs:?}");
    assert!(msgs[1].contains("\"crash.v2-1\"") && msgs[1].contains("\"segv\""), "{msgs:?}");
}

/// `--cores meta`: the empty head of the core entry is no problem, and the metadata entry (format `other`)
/// gives the event through parse_entry, with what the name says.
#[test]
fn a_core_kept_as_metadata_gives_an_event() {
    let mut empty = head_entry(C1);
    empty.size = 0;
    let p = run_named(b"", &empty, &collected_naming());
    assert!(p.events.is_empty() && p.problems.is_empty(), "{p:?}");

    let raw = fixture("cores", "core.crash.v2-1.17947.1796178730.meta.json");
    let e = meta_entry(C1);
    let p = run_named(&raw, &e, &collected_naming());
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    let [ev] = p.events.as_slice() else { panic!("one event: {:?}", p.events) };
    assert_eq!(ev.kind, EventKind::CoreDumped);
    assert_eq!((ev.pid, ev.comm.as_deref()), (Some(17947), Some("crash.v2-1")));
    assert_eq!(&*ev.origin.entry, "live/cores/tmp/corepat-test/c1/core.crash.v2-1.17947.1796178730.meta.json");
    assert_eq!(ev.fields["core_file"], json!(C1));
    assert_eq!(ev.fields["size"], json!(450_560));
    assert_eq!(ev.fields["sha256"], json!("dfca2eb66ec98fb28707fcb7dad475702649c7149dc612287b4c4e7897442926"));
    assert_eq!(ev.fields["mtime"], json!("2026-12-02T02:32:10.000000Z"));
    assert_eq!(ev.fields["name_pattern_from"], json!("kernel.core_pattern"));
    assert_eq!(ev.timestamp, Timestamp::Exact { utc: coroner_schemas::Utc::from_unix(1_796_178_730, 0).expect("t") });
    assert!(ev.fields.get("core_entry").is_none(), "no core bytes in the bundle");

    // A name with the signal (%s) gives the signal.
    let naming = CoreNaming { pattern: Some("/var/crash/core.%e.%s.%p".into()), uses_pid: false };
    let raw2 = String::from_utf8(raw.clone()).expect("utf-8").replace(C1, "/var/crash/core.x.11.42");
    let p = run_named(raw2.as_bytes(), &meta_entry("/var/crash/core.x.11.42"), &naming);
    assert_eq!(p.events[0].fields["signal_name"], json!("SIGSEGV"));
    assert_eq!(p.events[0].pid, Some(42));
    assert!(matches!(p.events[0].timestamp, Timestamp::Inferred { .. }), "no %t: the mtime");
}

#[test]
fn hostile_core_metadata() {
    let naming = collected_naming();
    let e = meta_entry(C1);
    for bad in [&b""[..], b"[]", b"{", b"\xff\xfe", b"null"] {
        let p = run_named(bad, &e, &naming);
        assert!(p.events.is_empty() && !p.problems.is_empty(), "{bad:?}");
    }
    // Fields of the wrong type are left out, not a panic.
    let p = run_named(br#"{"size": "big", "stat": {"mtime": "x"}, "sha256": 5}"#, &e, &naming);
    assert_eq!(p.events.len(), 1);
    assert_eq!(p.events[0].fields["size"], json!(null));
    // A crash handler's file is not a bare core: no event.
    let p = run_named(br#"{"format": "crash_report", "path": "/tmp/corepat-test/c1/core.crash.v2-1.17947.1796178730"}"#, &e, &naming);
    assert!(p.events.is_empty() && p.problems.is_empty());
    // A document naming another file than the manifest: the manifest wins, the difference is a problem.
    let p = run_named(br#"{"path": "/etc/shadow"}"#, &e, &naming);
    assert_eq!(p.events[0].fields["core_file"], json!(C1));
    assert!(p.problems[0].message.contains("/etc/shadow"));
    // A name of 10,000 bytes: no match, no panic.
    let long = format!("/var/crash/core.{}.1.2", "a".repeat(10_000));
    let p = run_named(b"{}", &meta_entry(&long), &naming);
    assert!(p.events[0].pid.is_none());
}

// ---- Cores of other architectures (fixtures/cores/PROVENANCE). ----

/// Real aarch64 cores written by Debian's arm64 kernel read like x86_64's: pid, comm, signal, fault address,
/// sender and exe. Regression: only x86_64 cores were checked; the machine is now named and others refused.
#[test]
fn real_aarch64_cores() {
    let p = run(&fixture("cores", "core.segv.78.11.1796398802"), &core_entry());
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    let [e] = p.events.as_slice() else { panic!("one event: {:?}", p.events) };
    assert_eq!((e.pid, e.ppid, e.uid), (Some(78), Some(1), Some(0)), "the pid the program printed; /init its parent");
    assert_eq!(e.comm.as_deref(), Some("segv"));
    assert_eq!(e.fields["machine"], json!("aarch64"));
    assert_eq!(e.fields["signal_name"], json!("SIGSEGV"));
    assert_eq!(e.fields["si_code"], json!(1), "SEGV_MAPERR");
    assert_eq!(e.fields["si_addr"], json!("0x1234"));
    assert_eq!(e.fields["exe"], json!("/segv"));
    assert_eq!(e.fields["psargs"], json!("./segv segv"));
    assert_eq!(e.fields["truncated"], json!(false));
    let p = run(&fixture("cores", "core.waitq.79.6.1796398803"), &core_entry());
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    let e = &p.events[0];
    assert_eq!((e.pid, e.comm.as_deref()), (Some(79), Some("waitq")));
    assert_eq!(e.fields["signal_name"], json!("SIGABRT"));
    assert_eq!(e.fields["si_code"], json!(0), "SI_USER: sent by kill(2)");
    assert_eq!(e.fields["si_pid"], json!(1), "/init sent it");
    assert_eq!(e.fields["exe"], json!("/waitq"));
    // x86_64 cores name their machine too.
    let p = run(&fixture("cores", "f-segv.core"), &core_entry());
    assert_eq!(p.events[0].fields["machine"], json!("x86_64"));
}

/// A big-endian core (s390x, written by qemu-user, head only) is read in its byte order.
#[test]
fn big_endian_s390x_core_head() {
    let p = run(&fixture("cores", "qemu_segv-s390x_20261204-153754_19859.core.head"), &core_entry());
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    let [e] = p.events.as_slice() else { panic!("one event: {:?}", p.events) };
    assert_eq!((e.pid, e.ppid, e.comm.as_deref()), (Some(19859), Some(19853), Some("segv-s390x")));
    assert_eq!(e.fields["machine"], json!("s390x"));
    assert_eq!(e.fields["signal_name"], json!("SIGSEGV"));
    assert_eq!(e.fields["truncated"], json!(true), "the LOAD segments are not in the head");
}

/// A core of a machine whose note layouts are not checked is refused, naming it, not read as x86_64's.
#[test]
fn a_core_of_an_unchecked_machine_is_refused() {
    let mut raw = fixture("cores", "core.segv.78.11.1796398802");
    raw[18..20].copy_from_slice(&243u16.to_le_bytes()); // EM_RISCV
    let p = run(&raw, &core_entry());
    assert!(p.events.is_empty(), "{:?}", p.events);
    assert!(p.problems[0].message.contains("little-endian core of e_machine 243"), "{:?}", p.problems);
    // An x86_64 core marked big-endian reads as no core at all (its words swapped), not as an s390x one.
    let mut be = fixture("cores", "f-segv.core")[..64].to_vec();
    be[5] = 2;
    let p = run(&be, &core_entry());
    assert!(p.events.is_empty());
    assert_eq!(p.problems[0].message, "not a core file (e_type 1024)");
    be[16..18].copy_from_slice(&[0, 4]); // ET_CORE, big-endian; e_machine stays 62 little-endian: 15872
    let p = run(&be, &core_entry());
    assert!(p.problems[0].message.starts_with("unsupported: ELF64 big-endian core of e_machine 15872"), "{:?}", p.problems);
}

/// A core whose mtime is the epoch (reset by a copy or an archive) and whose name gives no dump time has an
/// unknown time, not 1970-01-01.
#[test]
fn an_epoch_mtime_is_no_dump_time() {
    let e = entry("core_elf", "fs/tmp/x/core", "/tmp/x/core", None, Some("1970-01-01T00:00:00.000000Z"));
    let p = run(&fixture("cores", "f-segv.core"), &e);
    assert_eq!(p.events[0].timestamp, Timestamp::Unknown);
}

/// A name whose `%t` is 0 gives no dump time: the time stays the mtime, not 1970-01-01 "exact".
#[test]
fn a_zero_dump_time_in_the_name_is_no_time() {
    let naming = CoreNaming { pattern: Some("/tmp/x/core.%e.%p.%t".into()), uses_pid: false };
    let p = run_named(&fixture("cores", "f-segv.core"), &head_entry("/tmp/x/core.segv.13188.0"), &naming);
    let e = &p.events[0];
    assert_eq!(e.fields["name_pid"], json!(13188), "the name was read");
    assert!(matches!(e.timestamp, Timestamp::Inferred { .. }), "{:?}", e.timestamp);
}
