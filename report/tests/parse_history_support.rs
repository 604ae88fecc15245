//! Shared helpers for the history, cron, core, proc, limits and settings parser tests (included with
//! `#[path]`; it holds no test, so nothing here runs once per including target).
#![allow(dead_code)]

use std::path::PathBuf;

use coroner_report::sources::{parse_entry, Parsed, SourceCtx};
use coroner_schemas::accounts::Accounts;
use coroner_schemas::manifest::{Entry, Manifest};

/// Collection finished at this instant in every test manifest.
pub const FINISHED: &str = "2026-11-27T21:00:00.000000Z";

pub fn fixture(dir: &str, name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(dir)
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

pub fn manifest() -> Manifest {
    serde_json::from_value(serde_json::json!({
        "schema_version": 1, "bundle_name": "test.tar.gz",
        "host": {"hostname": "test", "utc_offset_seconds": 3600},
        "collector": {"name": "coroner-collect", "version": "0", "started": "2026-11-27T20:59:00.000000Z",
            "finished": FINISHED, "argv": [], "uid": 0, "euid": 0, "live": true,
            "signer_fingerprint": "SHA256:x", "ephemeral_key": true,
            "options": {"cores": "full", "core_cap_bytes": 0, "max_file_bytes": 0, "max_total_bytes": 0,
                "journal_window_seconds": 0, "command_timeout_ms": 0, "includes": [], "excludes": [], "gentle": false}},
        "entries": [], "problems": []
    }))
    .expect("manifest")
}

/// An entry of `format` (snake_case name), at bundle path `path`, from host path `source`.
pub fn entry(format: &str, path: &str, source: &str, account: Option<&str>, mtime: Option<&str>) -> Entry {
    let stat = mtime.map(|m| {
        serde_json::json!({"mode": 33152, "uid": 0, "gid": 0, "size": 0, "allocated": 0, "mtime": m,
            "ino": 1, "dev": 1, "nlink": 1})
    });
    serde_json::from_value(serde_json::json!({
        "path": path, "source": source, "category": "history", "format": format, "account": account,
        "size": 0, "stat": stat, "status": {"kind": "ok"}
    }))
    .expect("entry")
}

pub fn accounts() -> Accounts {
    Accounts::parse(
        b"root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000:Alice:/home/alice:/bin/zsh\n",
        b"root:x:0:\nalice:x:1000:\n",
    )
}

pub fn run(raw: &[u8], e: &Entry) -> Parsed {
    let m = manifest();
    let acc = accounts();
    parse_entry(
        raw,
        &SourceCtx::new(e, &m, &acc),
    )
}

/// Events and problems as one JSON value, for goldens.
pub fn golden(p: &Parsed) -> serde_json::Value {
    serde_json::json!({"events": p.events, "problems": p.problems})
}
