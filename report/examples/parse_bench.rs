//! Benchmark driver: runs one source parser over a file as the report would (through `pipeline::parse_bytes`,
//! which cuts a large file into pieces parsed at once, with a synthetic manifest entry), and prints what it
//! read. Used by bench/report.sh.
//!
//!     parse_bench FORMAT SOURCE_PATH FILE [PASSWD]
//!     parse_bench audit_log /var/log/audit/audit.log audit.log /etc/passwd
//!     parse_bench utmp /var/log/wtmp wtmp

use std::collections::BTreeMap;
use std::process::ExitCode;

use coroner_report::pipeline::parse_bytes;
use coroner_report::sources::SourceCtx;
use coroner_schemas::accounts::Accounts;
use coroner_schemas::manifest::{Entry, Manifest};
use coroner_schemas::EventKind;

/// The allocator the `coroner-report` binary uses.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: parse_bench FORMAT SOURCE_PATH FILE [PASSWD]");
        return ExitCode::from(2);
    }
    match run(&args[1], &args[2], &args[3], args.get(4)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("parse_bench: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(format: &str, source: &str, file: &str, passwd: Option<&String>) -> anyhow::Result<()> {
    // The file is mapped (and populated: the report parses members it has already inflated into memory), not
    // read into a fresh buffer, and events slice their raw records out of it (as the report slices them out of
    // the bundle member it inflated).
    // SAFETY: the benchmark's input file is not modified while it is mapped.
    let map = unsafe { memmap2::MmapOptions::new().populate().map(&std::fs::File::open(file)?)? };
    let raw = bytes::Bytes::from_owner(map);
    let accounts = match passwd {
        Some(p) => Accounts::parse(&std::fs::read(p)?, b""),
        None => Accounts::default(),
    };
    let manifest: Manifest = serde_json::from_value(serde_json::json!({
        "schema_version": 1, "bundle_name": "bench.tar.gz", "host": {"hostname": "bench"},
        "collector": {"name": "coroner-collect", "version": "0", "started": "2026-11-27T20:00:00.000000Z",
            "finished": "2026-11-27T20:00:01.000000Z", "argv": [], "uid": 0, "euid": 0, "live": false,
            "signer_fingerprint": "SHA256:bench", "ephemeral_key": true,
            "options": {"cores": "meta", "core_cap_bytes": 0, "max_file_bytes": 0, "max_total_bytes": 0,
                "journal_window_seconds": 0, "command_timeout_ms": 0, "includes": [], "excludes": [], "gentle": false}},
        "entries": [], "problems": []
    }))?;
    let entry: Entry = serde_json::from_value(serde_json::json!({
        "path": format!("fs{source}"), "source": source, "category": "logins", "format": format,
        "size": raw.len(), "status": {"kind": "ok"}
    }))?;
    let ctx = SourceCtx::new(&entry, &manifest, &accounts);
    let parts = parse_bytes(&raw, &ctx);
    // Counted by kind, one array slot per kind (the tally itself should cost next to nothing: a map keyed by
    // the kind's name compared strings for every event), then listed by name.
    let mut counts = [0usize; EventKind::ALL.len()];
    for e in parts.iter().flat_map(|p| &p.events) {
        counts[e.kind as usize] += 1;
    }
    let kinds: BTreeMap<&str, usize> = EventKind::ALL
        .iter()
        .filter(|k| counts[**k as usize] > 0)
        .map(|k| (k.as_str(), counts[*k as usize]))
        .collect();
    println!(
        "bytes={} events={} problems={}",
        raw.len(),
        parts.iter().map(|p| p.events.len()).sum::<usize>(),
        parts.iter().map(|p| p.problems.len()).sum::<usize>()
    );
    for (k, n) in kinds {
        println!("  {k}: {n}");
    }
    // The process ends here: leave the freeing of a million events to the kernel, as the peers do.
    std::mem::forget(parts);
    Ok(())
}
