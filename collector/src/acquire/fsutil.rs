//! Safe, read-only file access helpers shared by the acquisition modules.
//!
//! - [`open_ro`] opens with `O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC`: a symlink as the last component
//!   fails (`ELOOP`) instead of being followed, and a FIFO never blocks the open.
//! - [`read_capped`] reads a `/proc` or `/sys` file (they stat as size 0) into memory, at most `cap` bytes.
//! - [`readlink`] returns a link target as raw bytes (targets need not be UTF-8).
//! - [`status_of`] maps an I/O error to the manifest [`Status`].
//! - [`file_item`] / [`list_dir`] plan host files relative to the collection root.
//!
//! Nothing here writes, and nothing follows a symlink out of the root on its own.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use coroner_schemas::layout::FS_PREFIX;
use coroner_schemas::manifest::{Category, Format, Kept, Status};

use super::{AbsentItem, CaptureItem, Ctx, FileItem, Item};

/// Opens `path` read-only without following a final symlink and without blocking on a FIFO.
pub fn open_ro(path: &Path) -> io::Result<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
}

/// Reads at most `cap` bytes of `path` (meant for `/proc` and `/sys` files, whose stat size is 0).
/// Returns the bytes read; a file longer than `cap` is cut at `cap` (see [`read_capped_flag`] to know).
pub fn read_capped(path: &Path, cap: u64) -> io::Result<Vec<u8>> {
    read_capped_flag(path, cap).map(|(b, _)| b)
}

/// Like [`read_capped`], also saying whether the file had more than `cap` bytes.
pub fn read_capped_flag(path: &Path, cap: u64) -> io::Result<(Vec<u8>, bool)> {
    let f = open_ro(path)?;
    let mut buf = Vec::new();
    // One byte more than the cap tells whether there was more.
    let mut limited = f.take(cap.saturating_add(1));
    loop {
        match limited.read_to_end(&mut buf) {
            Ok(_) => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    let cut = buf.len() as u64 > cap;
    if cut {
        buf.truncate(usize::try_from(cap).unwrap_or(usize::MAX));
    }
    Ok((buf, cut))
}

/// A small one-value file (`/proc/sys/...`, `/etc/hostname`), whitespace-trimmed, lossy UTF-8.
/// `None` when unreadable or empty. For facts only; evidence keeps bytes.
pub fn read_value(path: &Path) -> Option<String> {
    let b = read_capped(path, 64 * 1024).ok()?;
    let s = String::from_utf8_lossy(&b).trim().to_owned();
    (!s.is_empty()).then_some(s)
}

/// The target of a symlink, as raw bytes.
pub fn readlink(path: &Path) -> io::Result<Vec<u8>> {
    std::fs::read_link(path).map(|p| p.into_os_string().as_bytes().to_vec())
}

/// Maps an I/O error to a manifest status: `EACCES`/`EPERM` → `PermissionDenied`, `ENOENT` → `NotFound`,
/// `ESRCH` (a `/proc/PID` that exited) → `Vanished`, anything else → `Io` with the message.
pub fn status_of(err: &io::Error) -> Status {
    match err.raw_os_error() {
        Some(libc::EACCES) | Some(libc::EPERM) => Status::PermissionDenied {
            message: err.to_string(),
        },
        Some(libc::ENOENT) => Status::NotFound,
        Some(libc::ESRCH) => Status::Vanished,
        _ => match err.kind() {
            io::ErrorKind::PermissionDenied => Status::PermissionDenied {
                message: err.to_string(),
            },
            io::ErrorKind::NotFound => Status::NotFound,
            _ => Status::Io {
                message: err.to_string(),
            },
        },
    }
}

/// Bundle path of a host file: `/etc/passwd` → `fs/etc/passwd`.
pub fn fs_bundle_path(host: &str) -> String {
    format!("{FS_PREFIX}{}", host.trim_start_matches('/'))
}

/// A [`FileItem`] for `host` when it exists under the root (as anything: the bundle writer records
/// symlinks and special files), else an [`AbsentItem`] with the lstat error's status.
pub fn file_item(ctx: &Ctx, host: &str, category: Category, format: Format) -> Item {
    match std::fs::symlink_metadata(ctx.host_path(host)) {
        Ok(_) => Item::File(FileItem::new(host, category, format)),
        Err(e) => absent(fs_bundle_path(host), host, category, format, status_of(&e)),
    }
}

/// An [`AbsentItem`].
pub fn absent(
    bundle_path: impl Into<String>,
    source: impl Into<String>,
    category: Category,
    format: Format,
    status: Status,
) -> Item {
    Item::Absent(AbsentItem {
        bundle_path: bundle_path.into(),
        source: source.into(),
        category,
        format,
        status,
    })
}

/// `NotApplicable` for a live source under `--root`.
pub fn not_live(bundle_path: impl Into<String>, source: impl Into<String>, category: Category, format: Format) -> Item {
    absent(
        bundle_path,
        source,
        category,
        format,
        Status::NotApplicable {
            reason: "live source under --root".into(),
        },
    )
}

/// Cap for one live `/proc`/`/sys` capture (they are small; this only guards against a hostile or broken file).
pub const LIVE_CAP: u64 = 64 << 20;

/// A live capture of a `/proc` or `/sys` text file read now into memory (at most [`LIVE_CAP`] and the
/// per-file cap): a [`CaptureItem`] on success, an [`AbsentItem`] with the error's status otherwise, and
/// `NotApplicable` under `--root`.
pub fn live_capture(ctx: &Ctx, source: &str, bundle_path: &str, category: Category, format: Format) -> Item {
    if !ctx.live {
        return not_live(bundle_path, source, category, format);
    }
    let cap = LIVE_CAP.min(ctx.opts.max_file_bytes.max(1));
    match read_capped_flag(Path::new(source), cap) {
        Ok((data, cut)) => {
            let status = if cut {
                Status::Truncated {
                    kept: Kept::Head,
                    original_size: data.len() as u64,
                    reason: format!("more than {cap} bytes; read stopped at the cap (real size unknown)"),
                }
            } else {
                Status::Ok
            };
            Item::Capture(CaptureItem {
                bundle_path: bundle_path.to_owned(),
                source: source.to_owned(),
                category,
                format,
                account: None,
                data,
                status,
                command: None,
            })
        }
        Err(e) => absent(bundle_path, source, category, format, status_of(&e)),
    }
}

/// The chain of symlinks starting at host path `host`, resolved inside the root: the host paths of each
/// target in turn (not including `host`), at most `max` hops. Stops at a non-link, a missing target or a
/// non-UTF-8 target. Relative targets resolve against the link's directory; `..` never climbs above `/`.
pub fn link_chain(ctx: &Ctx, host: &str, max: usize) -> Vec<String> {
    let mut chain = Vec::new();
    let mut cur = host.to_owned();
    for _ in 0..max {
        let Ok(t) = std::fs::read_link(ctx.host_path(&cur)) else {
            break;
        };
        let Some(t) = t.to_str() else { break };
        let joined = if t.starts_with('/') {
            t.to_owned()
        } else {
            let dir = cur.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
            format!("{dir}/{t}")
        };
        let mut parts: Vec<&str> = Vec::new();
        for c in joined.split('/') {
            match c {
                "" | "." => {}
                ".." => {
                    parts.pop();
                }
                c => parts.push(c),
            }
        }
        let next = format!("/{}", parts.join("/"));
        if chain.contains(&next) || next == host {
            break;
        }
        chain.push(next.clone());
        if std::fs::symlink_metadata(ctx.host_path(&next)).is_err() {
            break;
        }
        cur = next;
    }
    chain
}

/// Host paths of the entries of host directory `dir` (not recursive), sorted bytewise, filtered by `keep`
/// on the file name. Entries whose names are not UTF-8 are skipped (host paths are strings in the plan).
/// `Err` when the directory cannot be listed.
pub fn list_dir(ctx: &Ctx, dir: &str, keep: impl Fn(&str) -> bool) -> io::Result<Vec<String>> {
    let real = ctx.host_path(dir);
    let mut names: Vec<String> = Vec::new();
    for ent in std::fs::read_dir(&real)? {
        let Ok(ent) = ent else { continue };
        let name = ent.file_name();
        let Some(name) = name.to_str() else { continue };
        if keep(name) {
            names.push(name.to_owned());
        }
    }
    names.sort();
    let base = dir.trim_end_matches('/');
    Ok(names.into_iter().map(|n| format!("{base}/{n}")).collect())
}

/// Whether an lstat of the host path says it is a directory (not a link to one).
pub fn is_dir(ctx: &Ctx, host: &str) -> bool {
    std::fs::symlink_metadata(ctx.host_path(host))
        .map(|m| m.is_dir())
        .unwrap_or(false)
}

/// Whether an lstat of the host path says it is a symlink.
pub fn is_symlink(ctx: &Ctx, host: &str) -> bool {
    std::fs::symlink_metadata(ctx.host_path(host))
        .map(|m| m.file_type().is_symlink())
        .unwrap_or(false)
}

/// Whether host directory `dir` under `/lib/` is only an alias of `/usr/lib/` (merged /usr: `/lib` → `usr/lib`),
/// so listing both would plan every file twice.
pub fn merged_usr_alias(ctx: &Ctx, dir: &str) -> bool {
    dir.starts_with("/lib/") && is_symlink(ctx, "/lib")
}

/// Raw bytes of a path (for building `Text`).
pub fn path_bytes(p: &Path) -> &[u8] {
    p.as_os_str().as_bytes()
}

/// A path from raw bytes.
pub fn path_from_bytes(b: &[u8]) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_read_cuts_and_says_so() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("f");
        std::fs::write(&p, b"0123456789").expect("write");
        assert_eq!(read_capped_flag(&p, 4).expect("read"), (b"0123".to_vec(), true));
        assert_eq!(read_capped_flag(&p, 10).expect("read"), (b"0123456789".to_vec(), false));
    }

    #[test]
    fn symlink_is_not_followed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("f");
        std::fs::write(&p, b"x").expect("write");
        let l = dir.path().join("l");
        std::os::unix::fs::symlink(&p, &l).expect("symlink");
        let err = read_capped(&l, 10).expect_err("must not follow");
        assert_eq!(err.raw_os_error(), Some(libc::ELOOP));
        assert_eq!(readlink(&l).expect("readlink"), path_bytes(&p).to_vec());
    }

    #[test]
    fn errors_map_to_statuses() {
        assert_eq!(status_of(&io::Error::from_raw_os_error(libc::ENOENT)), Status::NotFound);
        assert!(matches!(
            status_of(&io::Error::from_raw_os_error(libc::EACCES)),
            Status::PermissionDenied { .. }
        ));
        assert!(matches!(
            status_of(&io::Error::from_raw_os_error(libc::EPERM)),
            Status::PermissionDenied { .. }
        ));
        assert!(matches!(
            status_of(&io::Error::from_raw_os_error(libc::EIO)),
            Status::Io { .. }
        ));
    }
}
