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
    assert!(!p.problems.is_empty());
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
fn elf32_and_big_endian_are_unsupported() {
    let e = core_entry();
    let mut h32 = vec![0u8; 52];
    h32[..7].copy_from_slice(b"\x7fELF\x01\x01\x01");
    h32[16] = 4;
    let p = run(&h32, &e);
    assert!(p.events.is_empty());
    assert!(p.problems[0].message.contains("unsupported: ELF32"), "{:?}", p.problems);
    let mut be = fixture("cores", "f-segv.core")[..64].to_vec();
    be[5] = 2;
    let p = run(&be, &e);
    assert!(p.problems[0].message.contains("big-endian"));
    // Not a core: an ELF executable (e_type 2).
    let mut exe = fixture("cores", "f-segv.core")[..64].to_vec();
    exe[16] = 2;
    let (notes, problems) = core_elf::read_core(&exe);
    assert!(notes.is_none() && problems[0].1.contains("not a core"));
}

// ---- The core file's name, read through kernel.core_pattern (fixtures/cores/PROVENANCE). ----

use coroner_report::sources::core_name::{escaped, NamePattern, Spec};

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
