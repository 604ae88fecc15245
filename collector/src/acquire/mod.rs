//! What to collect. Each submodule looks at one evidence source and pushes [`Item`]s; none of them reads
//! a file's contents into the bundle itself (the bundle writer streams files, within the caps).

use std::path::{Path, PathBuf};

use coroner_schemas::accounts::Accounts;
use coroner_schemas::manifest::{Category, CollectOptions, CommandRun, Format, Kept, Status};

pub mod accounts;
pub mod audit;
pub mod cgroups;
pub mod command;
pub mod containers;
pub mod cores;
pub mod cron;
pub mod fsutil;
pub mod glob;
pub mod history;
pub mod host;
pub mod include;
pub mod kernel;
pub mod limits;
pub mod logins;
pub mod logs;
pub mod procs;
pub mod settings;
pub mod systemd;
pub mod walk;
pub mod watch;

/// Everything an acquisition module may consult.
pub struct Ctx {
    /// `/` on a live host, or `--root DIR`.
    pub root: PathBuf,
    /// True on the running host; false under `--root` (live sources are then not applicable).
    pub live: bool,
    pub opts: CollectOptions,
    /// The collected host's own accounts (from `ROOT/etc/passwd` and `ROOT/etc/group`), never NSS.
    pub accounts: Accounts,
    /// `opts.excludes`, compiled.
    pub excludes: glob::Excludes,
}

impl Ctx {
    pub fn new(root: PathBuf, live: bool, opts: CollectOptions, accounts: Accounts) -> Ctx {
        let excludes = glob::Excludes::new(&opts.excludes);
        Ctx { root, live, opts, accounts, excludes }
    }
    /// The real path of a host path: `/var/log/syslog` under root `/mnt/img` is `/mnt/img/var/log/syslog`.
    pub fn host_path(&self, host: &str) -> PathBuf {
        self.root.join(host.trim_start_matches('/'))
    }
    /// The host path of a real path under root (inverse of [`Ctx::host_path`]); `None` outside the root.
    pub fn host_name(&self, real: &Path) -> Option<String> {
        let rel = real.strip_prefix(&self.root).ok()?;
        Some(format!("/{}", rel.to_string_lossy()))
    }
}

/// One thing to put in the bundle.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// A host file to copy; opened, stat'ed and streamed by the bundle writer (within caps).
    File(FileItem),
    /// Bytes the collector produced itself: structured JSON of volatile state, kmsg records, command output.
    Capture(CaptureItem),
    /// Looked for and cannot be taken (not found, not applicable, permission denied on a directory):
    /// recorded in the manifest with its status and no bytes.
    Absent(AbsentItem),
}

#[derive(Clone, Debug, PartialEq)]
pub struct FileItem {
    /// Absolute path as on the collected host (`/var/log/syslog`); the writer joins it to the root.
    pub path: String,
    pub category: Category,
    pub format: Format,
    pub account: Option<String>,
    /// Which end to keep when the file is over its cap: logs the tail, cores the head.
    pub keep: Kept,
    /// Cap for this file instead of `max_file_bytes`.
    pub cap: Option<u64>,
    /// Stored compressed as found (`gzip` for a rotated `.gz`), so the report knows to inflate it.
    pub compressed: Option<String>,
}

impl FileItem {
    pub fn new(path: impl Into<String>, category: Category, format: Format) -> FileItem {
        FileItem { path: path.into(), category, format, account: None, keep: Kept::Tail, cap: None, compressed: None }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct CaptureItem {
    /// Path in the bundle (`live/proc/processes.json`, `cmd/auditctl-l.txt`).
    pub bundle_path: String,
    /// What it was read from (`/dev/kmsg`, `/proc`, `auditctl -l`).
    pub source: String,
    pub category: Category,
    pub format: Format,
    pub account: Option<String>,
    pub data: Vec<u8>,
    pub status: Status,
    pub command: Option<CommandRun>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AbsentItem {
    /// Bundle path it would have had.
    pub bundle_path: String,
    pub source: String,
    pub category: Category,
    pub format: Format,
    pub status: Status,
}

/// The whole plan for a host, in a stable order (accounts and host facts first, so a streaming reader meets
/// `/etc/passwd` before the logs that need it).
pub fn plan(ctx: &Ctx) -> Vec<Item> {
    let mut items = Vec::new();
    accounts::collect(ctx, &mut items);
    host::collect(ctx, &mut items);
    settings::collect(ctx, &mut items);
    kernel::collect(ctx, &mut items);
    logs::collect(ctx, &mut items);
    audit::collect(ctx, &mut items);
    logins::collect(ctx, &mut items);
    history::collect(ctx, &mut items);
    cron::collect(ctx, &mut items);
    cores::collect(ctx, &mut items);
    limits::collect(ctx, &mut items);
    procs::collect(ctx, &mut items);
    cgroups::collect(ctx, &mut items);
    systemd::collect(ctx, &mut items);
    containers::collect(ctx, &mut items);
    watch::collect(ctx, &mut items);
    include::collect(ctx, &mut items);
    items
}
