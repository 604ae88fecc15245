//! Container runtimes' and the kubelet's own records (issue 14), category [`Category::Containers`]:
//!
//! - [`docker`]: every data root's `containers/<id>/{config.v2.json,hostconfig.json}` and the tail of the
//!   json-file log, `/etc/docker/daemon.json`, and on a live host `docker ps -a` / `docker inspect`;
//! - [`containerd`]: the OCI bundles of its tasks (`config.json`) and its log file;
//! - [`libpod`]: CRI-O's and Podman's containers/storage (`userdata/config.json`, CRI-O's `state.json`), rootless
//!   Podman per account, Podman's events log, CRI-O's log file, and `podman ps -a`;
//! - [`kube`]: the kubelet's log and `config.yaml`, the tails of `/var/log/pods/…/<n>.log`, the links in
//!   `/var/log/containers`, and `crictl ps -a` / `crictl inspect`.
//!
//! The collector copies bytes: it reads nothing but what it needs to find files (a data-root setting, a
//! daemon's command line, the ids `ps` lists). Bounded: at most [`MAX_CONTAINERS`] containers per runtime and
//! store, newest first by the mtime of their directory (the cut is recorded as skipped), and at most
//! [`LOG_TAIL_CAP`] bytes of each container log (the tail). A runtime that is not on the host is recorded once
//! as not applicable, so the report can tell "no Docker here" from "nothing taken". The journal (units
//! `kubelet`, `containerd`, `crio`, `docker`) needs nothing here: `logs.rs` exports the whole journal over its
//! window, with no unit filter.

use std::fs;
use std::time::SystemTime;

use coroner_schemas::manifest::{Category, Format, Kept, Status};

use super::walk::{self, Found, Kind};
use super::{fsutil, AbsentItem, Ctx, FileItem, Item};

pub mod containerd;
pub mod docker;
pub mod kube;
pub mod libpod;

/// Most containers taken per runtime and store (newest first); the rest are recorded as skipped.
pub const MAX_CONTAINERS: usize = 500;
/// Most bytes kept of one container log (its tail), unless the per-file cap is smaller.
pub const LOG_TAIL_CAP: u64 = 256 * 1024;

pub fn collect(ctx: &Ctx, out: &mut Vec<Item>) {
    docker::collect(ctx, out);
    containerd::collect(ctx, out);
    libpod::collect(ctx, out);
    kube::collect(ctx, out);
}

/// The cap of one container log tail: [`LOG_TAIL_CAP`], or the per-file cap when that is smaller.
pub fn log_cap(ctx: &Ctx) -> u64 {
    LOG_TAIL_CAP.min(ctx.opts.max_file_bytes.max(1))
}

/// A full container id as Docker, containerd under Kubernetes, CRI-O and Podman make them: 64 lowercase hex
/// digits.
pub fn is_container_id(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The mtime of a host path (not following its last component), for newest-first ordering; the epoch when
/// it cannot be read.
fn mtime(ctx: &Ctx, host: &str) -> SystemTime {
    fs::symlink_metadata(ctx.host_path(host))
        .and_then(|m| m.modified())
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

/// `found` newest first by mtime (ties by host path), at most `max`; when more, a skipped record on `dir`
/// says how many older ones were left (`what` names them: "containers", "pod logs").
pub fn newest(ctx: &Ctx, found: Vec<Found>, max: usize, dir: &str, what: &str, format: Format, out: &mut Vec<Item>) -> Vec<Found> {
    let mut dated: Vec<(SystemTime, Found)> = found.into_iter().map(|f| (mtime(ctx, &f.host), f)).collect();
    dated.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.host.cmp(&b.1.host)));
    let total = dated.len();
    if total > max {
        out.push(Item::Absent(AbsentItem {
            bundle_path: fsutil::fs_bundle_path(dir),
            source: dir.to_owned(),
            category: Category::Containers,
            format,
            status: Status::Skipped {
                reason: format!(
                    "{total} {what}; the newest {max} by mtime taken, {} older not taken",
                    total - max
                ),
            },
        }));
    }
    dated.into_iter().take(max).map(|(_, f)| f).collect()
}

/// Subdirectories of `dir` whose names pass `keep` (symlinked directories are not followed).
pub fn subdirs(ctx: &Ctx, dir: &str, format: Format, keep: impl Fn(&str) -> bool, out: &mut Vec<Item>) -> Vec<Found> {
    walk::list(ctx, dir, Category::Containers, format, out)
        .into_iter()
        .filter(|e| e.kind == Kind::Dir && keep(&e.name))
        .collect()
}

/// Whether a host path is a directory (symlinks resolved inside the root).
pub fn is_dir(ctx: &Ctx, host: &str) -> bool {
    walk::resolve(ctx, host, true)
        .ok()
        .and_then(|h| walk::stat(ctx, &h))
        .is_some_and(|f| f.kind == Kind::Dir)
}

/// Plans `host` when it exists as anything but a directory (the writer records a symlink or a special file
/// without reading it). Returns whether it was planned.
pub fn push_if_present(ctx: &Ctx, out: &mut Vec<Item>, host: &str, format: Format, account: Option<&str>, keep: Kept, cap: Option<u64>) -> bool {
    match walk::stat(ctx, host) {
        Some(f) if f.kind != Kind::Dir => {
            let mut item = FileItem::new(f.host, Category::Containers, format);
            item.account = account.map(str::to_owned);
            item.keep = keep;
            item.cap = cap;
            walk::push_file(ctx, out, item);
            true
        }
        _ => false,
    }
}

/// `/var/log/<base>` and its rotations (as `logs.rs` takes rotated syslogs), tails, stored as found.
pub fn push_rotated_logs(ctx: &Ctx, out: &mut Vec<Item>, dir: &str, base: &str, format: Format) -> usize {
    let mut n = 0;
    for e in walk::list(ctx, dir, Category::Containers, format, out) {
        if e.kind == Kind::Dir {
            continue;
        }
        let Some(compressed) = walk::rotation_of(&e.name, base) else {
            continue;
        };
        let mut item = FileItem::new(e.host, Category::Containers, format);
        item.keep = Kept::Tail;
        item.compressed = compressed.map(str::to_owned);
        walk::push_file(ctx, out, item);
        n += 1;
    }
    n
}

/// "Looked for, not there" for a runtime: one `NotApplicable` record.
pub fn not_here(bundle_path: impl Into<String>, source: impl Into<String>, format: Format, reason: impl Into<String>) -> Item {
    fsutil::absent(
        bundle_path,
        source,
        Category::Containers,
        format,
        Status::NotApplicable { reason: reason.into() },
    )
}

/// Bundle path of the `n`th (0-based) capture of a command run once per daemon: `cmd/docker-ps.json`, then
/// `cmd/docker-ps-2.json`…
pub fn nth_path(base: &str, n: usize) -> String {
    if n == 0 {
        format!("cmd/{base}.json")
    } else {
        format!("cmd/{base}-{}.json", n + 1)
    }
}

/// Whether a live host path is a socket (the daemon a CLI would talk to is listening, or was).
pub fn is_socket(ctx: &Ctx, host: &str) -> bool {
    use std::os::unix::fs::FileTypeExt;
    walk::resolve(ctx, host, true)
        .ok()
        .and_then(|h| fs::symlink_metadata(ctx.host_path(&h)).ok())
        .is_some_and(|m| m.file_type().is_socket())
}

/// The bytes of a capture that ran (status `Ok` or `Truncated`), for reading the ids it lists.
pub fn capture_data(item: &Item) -> Option<&[u8]> {
    match item {
        Item::Capture(c) if matches!(c.status, Status::Ok | Status::Truncated { .. }) => Some(&c.data),
        _ => None,
    }
}

#[cfg(test)]
pub(crate) mod testutil {
    use std::path::Path;

    use coroner_schemas::accounts::Accounts;
    use coroner_schemas::manifest::{CollectOptions, CorePolicy};

    use super::super::{Ctx, Item};

    pub fn opts() -> CollectOptions {
        CollectOptions {
            root: None,
            cores: CorePolicy::Head,
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

    pub fn ctx(root: &Path) -> Ctx {
        let passwd = std::fs::read(root.join("etc/passwd")).unwrap_or_default();
        let group = std::fs::read(root.join("etc/group")).unwrap_or_default();
        Ctx::new(root.to_path_buf(), false, opts(), Accounts::parse(&passwd, &group))
    }

    pub fn write(root: &Path, host: &str, data: &[u8]) {
        let p = root.join(host.trim_start_matches('/'));
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, data).expect("write");
    }

    /// Sets a path's mtime (seconds since the epoch), for newest-first ordering.
    pub fn set_mtime(root: &Path, host: &str, secs: u64) {
        let p = root.join(host.trim_start_matches('/'));
        let f = std::fs::File::open(&p).expect("open");
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
        f.set_modified(t).expect("set mtime");
    }

    /// One line per item: `file PATH FORMAT account=… keep=… cap=…`, `absent BUNDLE FORMAT STATUS`.
    pub fn lines(items: &[Item]) -> Vec<String> {
        items
            .iter()
            .map(|i| match i {
                Item::File(f) => format!(
                    "file {} {:?} {:?} account={} keep={:?} cap={:?}{}",
                    f.path,
                    f.format,
                    f.category,
                    f.account.as_deref().unwrap_or("-"),
                    f.keep,
                    f.cap,
                    f.compressed.as_deref().map(|c| format!(" {c}")).unwrap_or_default()
                ),
                Item::Capture(c) => format!("capture {} {:?} {:?} {:?}", c.bundle_path, c.format, c.category, c.status),
                Item::Absent(a) => format!("absent {} {:?} {:?} {:?}", a.bundle_path, a.format, a.category, a.status),
            })
            .collect()
    }
}
