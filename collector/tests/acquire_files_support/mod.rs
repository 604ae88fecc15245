//! Shared by the `acquire_files_*` tests: a `Ctx` over a host root and a stable, path-free rendering of a
//! plan.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use coroner_collect::acquire::{Ctx, Item};
use coroner_schemas::accounts::Accounts;
use coroner_schemas::manifest::{CollectOptions, CorePolicy};

pub fn fixture_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/hosts/debian-incident")
}

pub fn options() -> CollectOptions {
    CollectOptions {
        root: None,
        cores: CorePolicy::Full,
        core_cap_bytes: 1 << 30,
        max_file_bytes: 64 << 20,
        max_total_bytes: 4 << 30,
        journal_window_seconds: 86_400,
        command_timeout_ms: 10_000,
        includes: Vec::new(),
        excludes: Vec::new(),
        gentle: false,
        redact: false,
    }
}

pub fn ctx(root: &Path, opts: CollectOptions) -> Ctx {
    let passwd = std::fs::read(root.join("etc/passwd")).unwrap_or_default();
    let group = std::fs::read(root.join("etc/group")).unwrap_or_default();
    Ctx::new(root.to_path_buf(), false, opts, Accounts::parse(&passwd, &group))
}

/// Every file-source module of issue 2, in plan order.
pub fn collect_files(ctx: &Ctx) -> Vec<Item> {
    use coroner_collect::acquire::{audit, cores, cron, history, include, logins, logs};
    let mut out = Vec::new();
    logs::collect(ctx, &mut out);
    audit::collect(ctx, &mut out);
    logins::collect(ctx, &mut out);
    history::collect(ctx, &mut out);
    cron::collect(ctx, &mut out);
    cores::collect(ctx, &mut out);
    include::collect(ctx, &mut out);
    out
}

/// One line per item, sorted: host paths only (never the real root).
pub fn render(items: &[Item]) -> String {
    let mut lines: Vec<String> = items.iter().map(line).collect();
    lines.sort();
    lines.join("\n") + "\n"
}

pub fn line(item: &Item) -> String {
    match item {
        Item::File(f) => format!(
            "file {} {:?} {:?} account={:?} keep={:?} cap={:?} compressed={:?}",
            f.path, f.format, f.category, f.account, f.keep, f.cap, f.compressed
        ),
        Item::Capture(c) => format!(
            "capture {} source={} {:?} {:?} status={:?} bytes={}",
            c.bundle_path,
            c.source,
            c.format,
            c.category,
            c.status,
            // The lastlog extract records st_blocks ("allocated"), which depends on how sparse the checkout
            // wrote the fixture; its exact content is checked in debian_incident_lastlog_extract instead.
            if c.format == coroner_schemas::manifest::Format::LastlogJson { "(fs-dependent)".to_owned() } else { c.data.len().to_string() }
        ),
        Item::Absent(a) => format!(
            "absent {} source={} {:?} {:?} status={:?}",
            a.bundle_path, a.source, a.format, a.category, a.status
        ),
    }
}

pub fn files(items: &[Item]) -> Vec<&coroner_collect::acquire::FileItem> {
    items
        .iter()
        .filter_map(|i| if let Item::File(f) = i { Some(f) } else { None })
        .collect()
}

pub fn file<'a>(items: &'a [Item], path: &str) -> Option<&'a coroner_collect::acquire::FileItem> {
    files(items).into_iter().find(|f| f.path == path)
}

pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}
