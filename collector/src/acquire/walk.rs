//! Directory listing for the file sources: sorted, bounded, never following a symlink out of the root.
//!
//! Every host path is resolved inside [`Ctx::root`] the way a chroot would: an absolute symlink target is
//! taken relative to the root and `..` stops at the root, so nothing outside the collection root is ever
//! listed. Symlinked *directories* met while walking are not descended into; symlinks themselves are handed
//! to the bundle writer, which records them (and their targets) without following them.
//!
//! A directory that cannot be listed becomes an [`AbsentItem`] with its status (permission denied, I/O
//! error), so the report can say which evidence was missing. A directory that does not exist is simply
//! empty: most hosts lack most of the places looked at.

use std::collections::VecDeque;
use std::fs;
use std::io;

use coroner_schemas::layout;
use coroner_schemas::manifest::{Category, Format, Status};

use super::{glob, AbsentItem, Ctx, FileItem, Item};

/// Most entries read from one directory; the rest are reported as skipped.
pub const MAX_DIR_ENTRIES: usize = 100_000;
/// Symlinks followed while resolving one path (the kernel's own limit is 40).
const MAX_LINK_HOPS: usize = 40;

/// What a directory entry is, from `lstat` (never following a symlink).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    /// FIFO, socket or device: listed so the writer can record it as skipped; never read.
    Special,
}

/// One listed entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// File name within its directory.
    pub name: String,
    /// Host path (`/var/log/syslog`), with every directory component already resolved inside the root.
    pub host: String,
    pub kind: Kind,
    /// `st_size` from lstat.
    pub size: u64,
}

fn kind_of(ft: &fs::FileType) -> Kind {
    if ft.is_symlink() {
        Kind::Symlink
    } else if ft.is_dir() {
        Kind::Dir
    } else if ft.is_file() {
        Kind::File
    } else {
        // FIFO, socket, block or character device (or anything newer): never read.
        Kind::Special
    }
}

/// Join a host directory and a name: `/` + `x` → `/x`, `/a` + `x` → `/a/x`.
pub fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

fn components(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|c| !c.is_empty() && *c != ".")
}

/// Resolve every symlink in `host` inside the root (chroot semantics) and return the resulting host path.
/// With `follow_last` false the last component is left as is (a symlinked file is recorded, not followed).
/// A component that does not exist ends the resolution: the rest is appended unchanged.
pub fn resolve(ctx: &Ctx, host: &str, follow_last: bool) -> io::Result<String> {
    let mut queue: VecDeque<String> = components(host).map(str::to_owned).collect();
    let mut done: Vec<String> = Vec::new();
    let mut hops = 0usize;
    while let Some(c) = queue.pop_front() {
        if c == ".." {
            done.pop();
            continue;
        }
        done.push(c);
        if queue.is_empty() && !follow_last {
            break;
        }
        let here = format!("/{}", done.join("/"));
        let real = ctx.host_path(&here);
        match fs::symlink_metadata(&real) {
            Ok(m) if m.file_type().is_symlink() => {
                hops += 1;
                if hops > MAX_LINK_HOPS {
                    return Err(io::Error::other(format!("too many levels of symbolic links at {here}")));
                }
                let target = fs::read_link(&real)?;
                let Some(target) = target.to_str() else {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("non-UTF-8 link target at {here}"),
                    ));
                };
                done.pop();
                if target.starts_with('/') {
                    done.clear();
                }
                for (i, t) in components(target).enumerate() {
                    queue.insert(i, t.to_owned());
                }
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                done.extend(queue.drain(..));
                break;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(format!("/{}", done.join("/")))
}

/// The manifest record of a directory that could not be listed, or `None` when the error just means "not
/// there" (missing, or not a directory).
pub fn dir_error_item(dir: &str, category: Category, format: Format, err: &io::Error) -> Option<Item> {
    let status = match err.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => return None,
        io::ErrorKind::PermissionDenied => Status::PermissionDenied {
            message: format!("cannot list {dir}: {err}"),
        },
        _ => Status::Io {
            message: format!("cannot list {dir}: {err}"),
        },
    };
    Some(Item::Absent(AbsentItem {
        bundle_path: layout::fs_path(dir),
        source: dir.to_owned(),
        category,
        format,
        status,
    }))
}

fn skipped(host: &str, category: Category, format: Format, reason: String) -> Item {
    Item::Absent(AbsentItem {
        bundle_path: layout::fs_path(host),
        source: host.to_owned(),
        category,
        format,
        status: Status::Skipped { reason },
    })
}

/// The entries of a directory, sorted by name. Errors other than "not there" are pushed to `out` as an
/// [`AbsentItem`] of `category`/`format`, and give an empty list.
pub fn list(ctx: &Ctx, dir: &str, category: Category, format: Format, out: &mut Vec<Item>) -> Vec<Found> {
    match list_dir(ctx, dir, category, format, out) {
        Ok(v) => v,
        Err(e) => {
            out.extend(dir_error_item(dir, category, format, &e));
            Vec::new()
        }
    }
}

fn list_dir(ctx: &Ctx, dir: &str, category: Category, format: Format, out: &mut Vec<Item>) -> io::Result<Vec<Found>> {
    let dir = resolve(ctx, dir, true)?;
    let real = ctx.host_path(&dir);
    let mut found = Vec::new();
    let mut dropped = 0usize;
    for entry in fs::read_dir(&real)? {
        let entry = entry?;
        if found.len() >= MAX_DIR_ENTRIES {
            dropped += 1;
            continue;
        }
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            let host = join(&dir, &name.to_string_lossy());
            out.push(skipped(
                &host,
                category,
                format,
                "file name is not UTF-8; not representable".into(),
            ));
            continue;
        };
        let host = join(&dir, name);
        let md = match fs::symlink_metadata(entry.path()) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(_) => {
                // Still listed: the writer will record what went wrong when it opens it.
                found.push(Found {
                    name: name.to_owned(),
                    host,
                    kind: Kind::File,
                    size: 0,
                });
                continue;
            }
        };
        found.push(Found {
            name: name.to_owned(),
            host,
            kind: kind_of(&md.file_type()),
            size: md.len(),
        });
    }
    if dropped > 0 {
        out.push(skipped(
            &dir,
            category,
            format,
            format!("directory has more than {MAX_DIR_ENTRIES} entries; {dropped} not listed"),
        ));
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

/// Bounds of a recursive walk.
#[derive(Clone, Copy, Debug)]
pub struct Bounds {
    /// 0 lists only `dir` itself.
    pub max_depth: usize,
    /// Most non-directory entries returned.
    pub max_count: usize,
}

/// Every non-directory entry under `dir` (files, symlinks, specials), depth first in name order. Symlinked
/// directories are returned as symlinks, never descended into; excluded directories are recorded and skipped.
pub fn walk(
    ctx: &Ctx,
    dir: &str,
    bounds: Bounds,
    category: Category,
    format: Format,
    out: &mut Vec<Item>,
) -> Vec<Found> {
    let mut found = Vec::new();
    walk_into(ctx, dir, 0, bounds, category, format, out, &mut found);
    found
}

#[allow(clippy::too_many_arguments)]
fn walk_into(
    ctx: &Ctx,
    dir: &str,
    depth: usize,
    bounds: Bounds,
    category: Category,
    format: Format,
    out: &mut Vec<Item>,
    found: &mut Vec<Found>,
) {
    for e in list(ctx, dir, category, format, out) {
        if found.len() >= bounds.max_count {
            out.push(skipped(
                dir,
                category,
                format,
                format!("walk stopped after {} entries", bounds.max_count),
            ));
            return;
        }
        match e.kind {
            Kind::Dir => {
                if let Some(pat) = excluded_by(ctx, &e.host) {
                    out.push(skipped(
                        &e.host,
                        category,
                        format,
                        format!("excluded by --exclude {pat}"),
                    ));
                } else if depth < bounds.max_depth {
                    walk_into(ctx, &e.host, depth + 1, bounds, category, format, out, found);
                }
            }
            _ => found.push(e),
        }
    }
}

/// Compression of a file as found, from its name (`.gz` → `gzip`). Rotated logs are stored as they are; the
/// report inflates them.
pub fn compression_of(name: &str) -> Option<&'static str> {
    let (_, ext) = name.rsplit_once('.')?;
    match ext {
        "gz" => Some("gzip"),
        "xz" => Some("xz"),
        "bz2" => Some("bzip2"),
        "zst" => Some("zstd"),
        "lz4" => Some("lz4"),
        _ => None,
    }
}

/// Whether `name` is `base` or a rotation of it: `base.1`, `base.2.gz`, `base-20261101`, `base-20261101.xz`,
/// `base.old`, `base.gz`. Returns the compression (`Some(None)` when stored plain).
pub fn rotation_of(name: &str, base: &str) -> Option<Option<&'static str>> {
    let rest = name.strip_prefix(base)?;
    let comp = compression_of(name);
    let rest = match comp {
        Some(_) => rest.rsplit_once('.').map_or("", |(r, _)| r),
        None => rest,
    };
    let ok = if rest.is_empty() {
        true
    } else if let Some(n) = rest.strip_prefix('.') {
        n == "old" || (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    } else if let Some(d) = rest.strip_prefix('-') {
        d.len() >= 8 && d.bytes().all(|b| b.is_ascii_digit() || b == b'-') && d.as_bytes()[0].is_ascii_digit()
    } else {
        false
    };
    ok.then_some(comp)
}

/// The `--exclude` pattern that excludes a host path (the path itself or one of its directories).
pub fn excluded_by<'a>(ctx: &'a Ctx, host: &str) -> Option<&'a str> {
    ctx.excludes.find(host)
}

/// Push a file to the plan unless `--exclude` matches it (then it is recorded as skipped, with no bytes).
pub fn push_file(ctx: &Ctx, out: &mut Vec<Item>, item: FileItem) {
    match excluded_by(ctx, &item.path) {
        Some(pat) => out.push(skipped(
            &item.path,
            item.category,
            item.format,
            format!("excluded by --exclude {pat}"),
        )),
        None => out.push(Item::File(item)),
    }
}

/// An lstat of one host path (not following its last component): `None` when it does not exist.
pub fn stat(ctx: &Ctx, host: &str) -> Option<Found> {
    let host = resolve(ctx, host, false).ok()?;
    let md = fs::symlink_metadata(ctx.host_path(&host)).ok()?;
    let name = host.rsplit('/').next().unwrap_or_default().to_owned();
    Some(Found {
        name,
        host,
        kind: kind_of(&md.file_type()),
        size: md.len(),
    })
}

/// Expand an absolute host glob (`/opt/app/**/*.log`) to the entries it names, in path order. Directories
/// are returned too (the caller decides whether to walk them). `**` does not descend through symlinks.
pub fn expand(
    ctx: &Ctx,
    pattern: &str,
    bounds: Bounds,
    category: Category,
    format: Format,
    out: &mut Vec<Item>,
) -> Vec<Found> {
    let comps: Vec<&str> = components(pattern).collect();
    let mut found = Vec::new();
    expand_into(ctx, "/", &comps, 0, bounds, category, format, out, &mut found);
    found.sort_by(|a, b| a.host.cmp(&b.host));
    found.dedup_by(|a, b| a.host == b.host);
    found
}

#[allow(clippy::too_many_arguments)]
fn expand_into(
    ctx: &Ctx,
    dir: &str,
    comps: &[&str],
    depth: usize,
    bounds: Bounds,
    category: Category,
    format: Format,
    out: &mut Vec<Item>,
    found: &mut Vec<Found>,
) {
    if found.len() >= bounds.max_count || depth > bounds.max_depth {
        return;
    }
    let Some((first, rest)) = comps.split_first() else {
        if let Some(f) = stat(ctx, dir) {
            found.push(f);
        }
        return;
    };
    if *first == ".." {
        return; // a pattern that climbs is not a pattern we expand
    }
    if *first == "**" {
        // Zero segments, then every real (non-symlink) subdirectory.
        expand_into(ctx, dir, rest, depth, bounds, category, format, out, found);
        for e in list(ctx, dir, category, format, out) {
            if e.kind == Kind::Dir {
                expand_into(ctx, &e.host, comps, depth + 1, bounds, category, format, out, found);
            } else if !rest.is_empty() {
                // `**/x` also matches a file directly here: handled by the zero-segment call above.
            }
        }
        return;
    }
    if !glob::has_wildcard(first) {
        let next = match resolve(ctx, &join(dir, first), !rest.is_empty()) {
            Ok(p) => p,
            Err(e) => {
                out.extend(dir_error_item(&join(dir, first), category, format, &e));
                return;
            }
        };
        expand_into(ctx, &next, rest, depth, bounds, category, format, out, found);
        return;
    }
    let Some(m) = glob::component(first) else {
        return;
    };
    for e in list(ctx, dir, category, format, out) {
        if !m.is_match(&e.name) {
            continue;
        }
        if rest.is_empty() {
            found.push(e);
        } else if e.kind == Kind::Dir {
            expand_into(ctx, &e.host, rest, depth + 1, bounds, category, format, out, found);
        }
    }
}

/// Read at most `cap` bytes from the start of a host file (not following a symlink as its last component):
/// for the small files the planner itself must look at (rc files for `HISTFILE`, sysctl files).
pub fn read_head(ctx: &Ctx, host: &str, cap: u64) -> io::Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let host = resolve(ctx, host, false)?;
    let f = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(ctx.host_path(&host))?;
    if !f.metadata()?.is_file() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a regular file"));
    }
    let mut buf = Vec::new();
    f.take(cap).read_to_end(&mut buf)?;
    Ok(buf)
}

/// Whether a program exists on the collected host (regular file or link in the usual bin directories).
pub fn find_tool(ctx: &Ctx, name: &str) -> Option<String> {
    [
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
        "/usr/local/sbin",
        "/usr/local/bin",
    ]
    .iter()
    .map(|d| join(d, name))
    .find(|p| fs::metadata(ctx.host_path(p)).map(|m| m.is_file()).unwrap_or(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotations() {
        assert_eq!(rotation_of("syslog", "syslog"), Some(None));
        assert_eq!(rotation_of("syslog.1", "syslog"), Some(None));
        assert_eq!(rotation_of("syslog.2.gz", "syslog"), Some(Some("gzip")));
        assert_eq!(rotation_of("syslog-20261101", "syslog"), Some(None));
        assert_eq!(rotation_of("syslog-20261101.xz", "syslog"), Some(Some("xz")));
        assert_eq!(rotation_of("syslog.3.bz2", "syslog"), Some(Some("bzip2")));
        assert_eq!(rotation_of("syslog.4.zst", "syslog"), Some(Some("zstd")));
        assert_eq!(rotation_of("syslog-ng.log", "syslog"), None);
        assert_eq!(rotation_of("cron.log", "cron"), None);
        assert_eq!(rotation_of("syslog.", "syslog"), None);
        assert_eq!(rotation_of("syslog.x", "syslog"), None);
    }

    #[test]
    fn dir_errors_map_to_statuses() {
        let denied = io::Error::from(io::ErrorKind::PermissionDenied);
        match dir_error_item("/var/log/audit", Category::Audit, Format::AuditLog, &denied) {
            Some(Item::Absent(a)) => {
                assert_eq!(a.bundle_path, "fs/var/log/audit");
                assert!(matches!(a.status, Status::PermissionDenied { .. }));
            }
            other => panic!("unexpected {other:?}"),
        }
        let missing = io::Error::from(io::ErrorKind::NotFound);
        assert_eq!(dir_error_item("/x", Category::Audit, Format::AuditLog, &missing), None);
        let eio = io::Error::from_raw_os_error(libc::EIO);
        assert!(matches!(
            dir_error_item("/x", Category::Audit, Format::AuditLog, &eio),
            Some(Item::Absent(AbsentItem {
                status: Status::Io { .. },
                ..
            }))
        ));
    }
}
