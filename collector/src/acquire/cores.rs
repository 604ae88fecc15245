//! Core dumps and crash reports, wherever `kernel.core_pattern` sends them, in the usual crash stores, and
//! among the `--include` paths.
//!
//! - `core_pattern` is read live from `/proc/sys/kernel/core_pattern`; under `--root` from the sysctl files
//!   (`/etc/sysctl.conf`, `sysctl.d`), else the kernel default `core`.
//! - An absolute pattern (`/var/cores/core.%e.%p`) → its folder; a relative one (`core`) → cores land in the
//!   crashing process's working folder: the working folders of live processes, `/`, `/tmp`, `/root` and
//!   `/home/*` are looked at (files named `core` or `core.*` that really are ELF cores); a pipe (`|…`) → the
//!   handler's store. `/var/crash`, `/cores`, `/var/lib/systemd/coredump`, `/var/lib/apport/coredump` and
//!   `/var/spool/abrt` are always looked at.
//! - A file is an ELF core when its first 20 bytes hold the ELF magic and `e_type == ET_CORE` (4).
//! - Policy (`--cores`): `full` keeps cores up to `core_cap_bytes` whole and the head of larger ones; `head`
//!   keeps only the head holding the ELF header, the program headers and the `PT_NOTE` segment (computed
//!   here from the program headers); `meta` keeps no bytes (`cap = 0`) and adds
//!   `live/cores/<path>.meta.json` with the size, sha256 of the whole file and its lstat.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

use coroner_schemas::manifest::{Category, CorePolicy, Format, Kept, Status};
use sha2::{Digest, Sha256};

use super::walk::{self, Bounds, Found, Kind};
use super::{AbsentItem, CaptureItem, Ctx, FileItem, Item};

/// Crash stores always looked at.
pub const STORES: &[&str] = &[
    "/var/crash",
    "/cores",
    "/var/lib/systemd/coredump",
    "/var/lib/apport/coredump",
    "/var/spool/abrt",
];
/// Folders looked at (depth 1) for cores of a relative `core_pattern`.
pub const CWD_GUESSES: &[&str] = &["/", "/tmp", "/root"];
/// Most bytes read to find the program headers of one core.
pub const PHDR_READ_CAP: u64 = 1 << 20;
/// `e_type` of a core file.
const ET_CORE: u16 = 4;
const PT_NOTE: u32 = 4;
/// `e_phnum` value meaning "the real count is in section header 0's `sh_info`".
const PN_XNUM: u16 = 0xffff;

/// Where the kernel writes cores, as configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CorePattern {
    /// `|/usr/lib/systemd/systemd-coredump %P …`: the handler's command line.
    Pipe(String),
    /// An absolute path pattern.
    Path(String),
    /// Relative to the crashing process's working folder.
    Relative(String),
}

impl CorePattern {
    pub fn parse(s: &str) -> CorePattern {
        let s = s.trim_end_matches(['\n', '\0']).trim();
        if let Some(h) = s.strip_prefix('|') {
            CorePattern::Pipe(h.trim().to_owned())
        } else if s.starts_with('/') {
            CorePattern::Path(s.to_owned())
        } else if s.is_empty() {
            CorePattern::Relative("core".to_owned())
        } else {
            CorePattern::Relative(s.to_owned())
        }
    }
}

pub fn collect(ctx: &Ctx, out: &mut Vec<Item>) {
    let pattern = CorePattern::parse(&core_pattern(ctx));
    // Files an earlier module already planned (a core under --include that is also a log, say) stay theirs.
    let mut seen: BTreeSet<String> = planned_files(out);
    let store_bounds = Bounds {
        max_depth: 3,
        max_count: 10_000,
    };
    let mut stores: Vec<String> = STORES.iter().map(|s| (*s).to_owned()).collect();
    match &pattern {
        CorePattern::Pipe(handler) => {
            // The usual handlers keep their stores at fixed places, all in STORES already; an unknown
            // handler's store cannot be guessed.
            let _ = handler;
        }
        CorePattern::Path(p) => {
            let (dir, prefix, deep) = pattern_dir(p);
            let bounds = Bounds {
                max_depth: if deep { 2 } else { 0 },
                max_count: 10_000,
            };
            for e in walk::walk(ctx, &dir, bounds, Category::Cores, Format::CoreElf, out) {
                let is_core = sniff(ctx, &e);
                if is_core || (!prefix.is_empty() && e.name.starts_with(&prefix)) {
                    push_core(ctx, e, is_core, &mut seen, out);
                }
            }
            stores.retain(|s| *s != dir);
        }
        CorePattern::Relative(p) => {
            let prefix = p
                .split('%')
                .next()
                .unwrap_or("core")
                .rsplit('/')
                .next()
                .unwrap_or("core")
                .to_owned();
            let prefix = if prefix.is_empty() { "core".to_owned() } else { prefix };
            for dir in cwd_guesses(ctx) {
                for e in walk::list(ctx, &dir, Category::Cores, Format::CoreElf, out) {
                    let named = e.name == prefix || e.name.starts_with(&format!("{prefix}."));
                    if named && e.kind == Kind::File && sniff(ctx, &e) {
                        push_core(ctx, e, true, &mut seen, out);
                    }
                }
            }
        }
    }
    for store in &stores {
        for e in walk::walk(ctx, store, store_bounds, Category::Cores, Format::CrashReport, out) {
            let is_core = sniff(ctx, &e);
            push_core(ctx, e, is_core, &mut seen, out);
        }
    }
    // --include paths that are cores are taken here, with the core policy (include.rs takes the rest).
    for pat in &ctx.opts.includes {
        // include.rs records the folders these patterns could not list.
        let mut already_recorded = Vec::new();
        for e in included(ctx, pat, &mut already_recorded) {
            if sniff(ctx, &e) {
                push_core(ctx, e, true, &mut seen, out);
            }
        }
    }
}

/// Host paths of the files already in the plan.
pub fn planned_files(out: &[Item]) -> BTreeSet<String> {
    out.iter()
        .filter_map(|i| {
            if let Item::File(f) = i {
                Some(f.path.clone())
            } else {
                None
            }
        })
        .collect()
}

/// Files an `--include` pattern names: matched files, and the files under matched folders.
pub fn included(ctx: &Ctx, pattern: &str, out: &mut Vec<Item>) -> Vec<Found> {
    let bounds = Bounds {
        max_depth: 16,
        max_count: 10_000,
    };
    let mut files = Vec::new();
    for e in walk::expand(ctx, pattern, bounds, Category::Include, Format::Other, out) {
        if e.kind == Kind::Dir {
            let b = Bounds {
                max_depth: 8,
                max_count: 10_000,
            };
            files.extend(walk::walk(ctx, &e.host, b, Category::Include, Format::Other, out));
        } else {
            files.push(e);
        }
    }
    files
}

/// The literal folder of an absolute pattern, the literal start of its file name, and whether the folder
/// part itself has `%` specifiers (then it is walked two levels deep).
fn pattern_dir(p: &str) -> (String, String, bool) {
    let literal = p.split('%').next().unwrap_or(p);
    let (dir, prefix) = literal.rsplit_once('/').unwrap_or(("", literal));
    let deep = p[literal.len()..].contains('/');
    let dir = if dir.is_empty() { "/".to_owned() } else { dir.to_owned() };
    (dir, prefix.to_owned(), deep)
}

/// Folders where a relative-pattern core may be: live processes' working folders, then the usual ones.
fn cwd_guesses(ctx: &Ctx) -> Vec<String> {
    let mut dirs: Vec<String> = Vec::new();
    if ctx.live {
        let proc_dir = ctx.host_path("/proc");
        if let Ok(rd) = std::fs::read_dir(&proc_dir) {
            let mut pids: Vec<u32> = rd
                .flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect();
            pids.sort_unstable();
            for pid in pids.into_iter().take(65_536) {
                let Ok(t) = std::fs::read_link(proc_dir.join(pid.to_string()).join("cwd")) else {
                    continue;
                };
                if let Some(t) = t.to_str() {
                    if t.starts_with('/') && !t.ends_with(" (deleted)") {
                        dirs.push(t.to_owned());
                    }
                }
            }
        }
    }
    dirs.extend(CWD_GUESSES.iter().map(|s| (*s).to_owned()));
    // history.rs records /home when it cannot be listed.
    let mut already_recorded = Vec::new();
    for e in walk::list(ctx, "/home", Category::Cores, Format::CoreElf, &mut already_recorded) {
        if e.kind == Kind::Dir {
            dirs.push(e.host);
        }
    }
    dirs.sort();
    dirs.dedup();
    dirs
}

/// `kernel.core_pattern` of the collected host.
pub fn core_pattern(ctx: &Ctx) -> String {
    if ctx.live {
        if let Ok(b) = std::fs::read(ctx.host_path("/proc/sys/kernel/core_pattern")) {
            return String::from_utf8_lossy(&b).trim_end().to_owned();
        }
    }
    sysctl_value(ctx, "kernel.core_pattern").unwrap_or_else(|| "core".to_owned())
}

/// A value set in the sysctl files, in the order systemd-sysctl applies them (files by name across the
/// `sysctl.d` folders, `/etc` overriding same-named ones, then `/etc/sysctl.conf`); the last setting wins.
pub fn sysctl_value(ctx: &Ctx, key: &str) -> Option<String> {
    let mut by_name = std::collections::BTreeMap::new();
    let mut sink = Vec::new();
    for dir in ["/usr/lib/sysctl.d", "/lib/sysctl.d", "/run/sysctl.d", "/etc/sysctl.d"] {
        for e in walk::list(ctx, dir, Category::Settings, Format::Other, &mut sink) {
            if e.name.ends_with(".conf") && e.kind != Kind::Dir {
                by_name.insert(e.name.clone(), e.host);
            }
        }
    }
    let files = by_name.into_values().chain(["/etc/sysctl.conf".to_owned()]);
    let slash_key = key.replace('.', "/");
    let mut value = None;
    for f in files {
        let text = walk::read_head(ctx, &f, 1 << 20).unwrap_or_default();
        for line in String::from_utf8_lossy(&text).lines() {
            let line = line.trim();
            if line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            let Some((k, v)) = line.split_once('=') else { continue };
            let k = k.trim().trim_start_matches('-');
            if k == key || k == slash_key {
                value = Some(v.trim().to_owned());
            }
        }
    }
    value
}

fn open(path: &Path) -> io::Result<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
}

fn sniff(ctx: &Ctx, e: &Found) -> bool {
    e.kind == Kind::File && is_elf_core(&ctx.host_path(&e.host))
}

/// Whether a file starts like an ELF core (magic, then `e_type == ET_CORE` in the file's byte order).
pub fn is_elf_core(path: &Path) -> bool {
    let Ok(f) = open(path) else { return false };
    if !f.metadata().is_ok_and(|m| m.is_file()) {
        return false;
    }
    let mut head = [0u8; 20];
    let mut n = 0;
    while n < head.len() {
        match f.read_at(&mut head[n..], n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    n >= 18 && is_elf_core_head(&head[..n])
}

/// [`is_elf_core`] on bytes.
pub fn is_elf_core_head(b: &[u8]) -> bool {
    if b.len() < 18 || &b[..4] != b"\x7fELF" {
        return false;
    }
    let e_type = match b[5] {
        1 => u16::from_le_bytes([b[16], b[17]]),
        2 => u16::from_be_bytes([b[16], b[17]]),
        _ => return false,
    };
    e_type == ET_CORE
}

/// Byte order and width of an ELF file, from `e_ident`.
#[derive(Clone, Copy)]
struct Elf {
    le: bool,
    wide: bool,
}

impl Elf {
    fn u16(self, b: &[u8], at: usize) -> Option<u16> {
        let s: [u8; 2] = b.get(at..at + 2)?.try_into().ok()?;
        Some(if self.le {
            u16::from_le_bytes(s)
        } else {
            u16::from_be_bytes(s)
        })
    }
    fn u32(self, b: &[u8], at: usize) -> Option<u32> {
        let s: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
        Some(if self.le {
            u32::from_le_bytes(s)
        } else {
            u32::from_be_bytes(s)
        })
    }
    fn u64(self, b: &[u8], at: usize) -> Option<u64> {
        let s: [u8; 8] = b.get(at..at + 8)?.try_into().ok()?;
        Some(if self.le {
            u64::from_le_bytes(s)
        } else {
            u64::from_be_bytes(s)
        })
    }
    /// An address-sized field: u64 in ELF64, u32 in ELF32.
    fn addr(self, b: &[u8], at64: usize, at32: usize) -> Option<u64> {
        if self.wide {
            self.u64(b, at64)
        } else {
            self.u32(b, at32).map(u64::from)
        }
    }
}

/// How many head bytes of an ELF core hold its ELF header, program headers and every `PT_NOTE` segment
/// (the register sets, signal info, auxv and file mappings the report reads). `read_at(offset, len)` reads
/// the file; at most [`PHDR_READ_CAP`] bytes of program headers are read. `None` when it is not an ELF
/// file this understands.
pub fn head_cap_with(read_at: &mut dyn FnMut(u64, usize) -> io::Result<Vec<u8>>) -> Option<u64> {
    let eh = read_at(0, 64).ok()?;
    if eh.len() < 52 || &eh[..4] != b"\x7fELF" {
        return None;
    }
    let elf = Elf {
        wide: match eh[4] {
            1 => false,
            2 => true,
            _ => return None,
        },
        le: match eh[5] {
            1 => true,
            2 => false,
            _ => return None,
        },
    };
    let ehsize = if elf.wide { 64u64 } else { 52 };
    let phoff = elf.addr(&eh, 32, 28)?;
    let shoff = elf.addr(&eh, 40, 32)?;
    let (phentsize, phnum) = if elf.wide {
        (elf.u16(&eh, 54)?, elf.u16(&eh, 56)?)
    } else {
        (elf.u16(&eh, 42)?, elf.u16(&eh, 44)?)
    };
    let mut count = u64::from(phnum);
    if phnum == PN_XNUM {
        // The real count is sh_info of section header 0.
        let sh = read_at(shoff, 64).ok()?;
        count = u64::from(elf.u32(&sh, if elf.wide { 44 } else { 28 })?);
    }
    let entsize = u64::from(phentsize);
    let min_ent = if elf.wide { 56 } else { 32 };
    if count == 0 || entsize < min_ent {
        return Some(ehsize);
    }
    let table_end = phoff.checked_add(entsize.checked_mul(count)?)?;
    let want = (entsize * count).min(PHDR_READ_CAP);
    let table = read_at(phoff, usize::try_from(want).ok()?).ok()?;
    let mut end = table_end.max(ehsize);
    for ph in table.chunks_exact(usize::try_from(entsize).ok()?) {
        let p_type = elf.u32(ph, 0)?;
        if p_type != PT_NOTE {
            continue;
        }
        let (off, filesz) = if elf.wide {
            (elf.u64(ph, 8)?, elf.u64(ph, 32)?)
        } else {
            (u64::from(elf.u32(ph, 4)?), u64::from(elf.u32(ph, 16)?))
        };
        if let Some(e) = off.checked_add(filesz) {
            end = end.max(e);
        }
    }
    Some(end)
}

/// [`head_cap_with`] on a file.
pub fn head_cap(path: &Path) -> Option<u64> {
    let f = open(path).ok()?;
    let mut read_at = |off: u64, len: usize| -> io::Result<Vec<u8>> {
        let mut buf = vec![0u8; len];
        let mut n = 0;
        while n < len {
            match f.read_at(&mut buf[n..], off + n as u64) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        buf.truncate(n);
        Ok(buf)
    };
    head_cap_with(&mut read_at)
}

fn push_core(ctx: &Ctx, e: Found, is_core: bool, seen: &mut BTreeSet<String>, out: &mut Vec<Item>) {
    if !seen.insert(e.host.clone()) {
        return;
    }
    let format = if is_core { Format::CoreElf } else { Format::CrashReport };
    let mut item = FileItem::new(e.host.clone(), Category::Cores, format);
    item.keep = Kept::Head;
    if !is_core {
        item.compressed = walk::compression_of(&e.name).map(str::to_owned);
    }
    let real = ctx.host_path(&e.host);
    let head = || if is_core { head_cap(&real) } else { None };
    item.cap = Some(match ctx.opts.cores {
        CorePolicy::Full if e.size <= ctx.opts.core_cap_bytes => ctx.opts.core_cap_bytes,
        // Over the cap: the head, and at least the part holding the notes even when that is over the cap.
        CorePolicy::Full => head().unwrap_or(0).max(ctx.opts.core_cap_bytes),
        CorePolicy::Head => head().unwrap_or(ctx.opts.max_file_bytes),
        CorePolicy::Meta => 0,
    });
    let excluded = walk::excluded_by(ctx, &e.host).is_some();
    walk::push_file(ctx, out, item);
    if ctx.opts.cores == CorePolicy::Meta && !excluded && e.kind == Kind::File {
        out.push(meta_item(ctx, &e.host, format));
    }
}

/// `live/cores/<host path>.meta.json`: size, whole-file sha256 and lstat of a core kept without bytes.
fn meta_item(ctx: &Ctx, host: &str, format: Format) -> Item {
    let bundle_path = coroner_schemas::layout::core_meta_path(host);
    match meta(&ctx.host_path(host), host, format) {
        Ok(data) => Item::Capture(CaptureItem {
            bundle_path,
            source: host.to_owned(),
            category: Category::Cores,
            format: Format::Other,
            account: None,
            data,
            status: Status::Ok,
            command: None,
        }),
        Err(e) => Item::Absent(AbsentItem {
            bundle_path,
            source: host.to_owned(),
            category: Category::Cores,
            format: Format::Other,
            status: match e.kind() {
                io::ErrorKind::PermissionDenied => Status::PermissionDenied { message: e.to_string() },
                io::ErrorKind::NotFound => Status::Vanished,
                _ => Status::Io { message: e.to_string() },
            },
        }),
    }
}

fn meta(real: &Path, host: &str, format: Format) -> io::Result<Vec<u8>> {
    let mut f = open(real)?;
    let md = f.metadata()?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut hashed = 0u64;
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                h.update(&buf[..n]);
                hashed += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let doc = serde_json::json!({
        "path": host,
        "format": format,
        "size": md.len(),
        "allocated": md.blocks() * 512,
        "sha256": hex::encode(h.finalize()),
        "sha256_bytes": hashed,
        "stat": {
            "mode": md.mode(), "uid": md.uid(), "gid": md.gid(), "ino": md.ino(), "dev": md.dev(),
            "nlink": md.nlink(), "mtime": md.mtime(), "ctime": md.ctime(), "atime": md.atime(),
        },
    });
    Ok(serde_json::to_vec_pretty(&doc).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert_eq!(CorePattern::parse("core\n"), CorePattern::Relative("core".into()));
        assert_eq!(
            CorePattern::parse("|/usr/share/apport/apport %p"),
            CorePattern::Pipe("/usr/share/apport/apport %p".into())
        );
        assert_eq!(
            CorePattern::parse("/var/cores/core.%e.%p"),
            CorePattern::Path("/var/cores/core.%e.%p".into())
        );
        assert_eq!(
            pattern_dir("/var/cores/core.%e.%p"),
            ("/var/cores".into(), "core.".into(), false)
        );
        assert_eq!(
            pattern_dir("/var/cores/%u/core"),
            ("/var/cores".into(), "".into(), true)
        );
    }

    #[test]
    fn elf_core_magic() {
        let mut h = [0u8; 20];
        h[..4].copy_from_slice(b"\x7fELF");
        h[4] = 2;
        h[5] = 1;
        h[16] = 4;
        assert!(is_elf_core_head(&h));
        h[16] = 2; // ET_EXEC
        assert!(!is_elf_core_head(&h));
        assert!(!is_elf_core_head(b"\x7fELF"));
    }

    #[test]
    fn head_cap_of_truncated_header_is_none() {
        let mut r = |_o: u64, _l: usize| Ok(b"\x7fELF\x02\x01".to_vec());
        assert_eq!(head_cap_with(&mut r), None);
    }
}
