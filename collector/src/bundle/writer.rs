//! The archive itself: plan items in, tar members and manifest entries out, in one streaming pass
//! (read → sha256 → tar → gzip). Memory stays flat: files are streamed through a fixed buffer; only
//! captures (already in memory) and pseudo-files (stat size 0, read to a cap) are held whole.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use coroner_schemas::accounts::Accounts;
use coroner_schemas::layout;
use coroner_schemas::manifest::{Category, Change, Entry, FileStat, Format, Kept, Problem, Redaction, Status};
use coroner_schemas::proc::ProcSnapshot;
use coroner_schemas::{Text, Utc};
use flate2::write::GzEncoder;
use flate2::Compression;
use rustix::fs::Stat;
use sha2::{Digest, Sha256};

use super::capped::{data_end_within, read_pseudo, After, Capped, PosReader, Window};
use super::hostfs::{decode_path, HostFs, Located};
use super::redact::{self, Redactor};
use crate::acquire::glob::Excludes;
use crate::acquire::{AbsentItem, CaptureItem, FileItem, Item};

/// Largest pseudo-file (stat size 0) held in memory.
pub const PSEUDO_CAP: u64 = 16 << 20;

/// gzip level (zlib-rs). Measured here on 128 MiB of the benchmark's syslog text (CPU MB/s, ratio):
/// L1 152, 2.67; L2 86, 3.63; L3 85, 3.78; L6 54, 3.99 — and on a real dpkg.log L1 262, 7.7; L2 251, 9.6.
/// Level 1 (deflate_quick) gives bundles ~35% larger for little speed on real logs; level 2 keeps within ~10%
/// of level 6's size at 1.6–4.6× its speed, still several times GNU gzip -6 (`tar czf`, ~23 MB/s here).
pub const GZIP_LEVEL: u32 = 2;

/// Mode of every tar member: owner-only, so an extracted bundle (audit logs, btmp, histories, cores) is not
/// readable by others whatever the analyst's umask; the host's own mode stays in the entry's `stat`.
pub const MEMBER_MODE: u32 = 0o600;

/// Writing the archive failed: the bundle cannot be completed.
#[derive(Debug, thiserror::Error)]
#[error("writing the bundle: {context}: {source}")]
pub struct OutputError {
    pub context: String,
    #[source]
    pub source: io::Error,
}

pub struct Limits {
    pub max_file_bytes: u64,
    pub max_total_bytes: u64,
}

/// Real paths (under the root) never to collect: the output directory, the temp file.
pub struct Exclusions {
    /// `--exclude` globs over host paths.
    pub globs: Excludes,
    /// Host paths (as the plan writes them) of directories whose content is never taken.
    pub host_dirs: Vec<String>,
}

/// Counters for the progress line and the summary.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counts {
    pub entries: u64,
    pub stored_bytes: u64,
}

pub struct TarWriter<'a, W: Write> {
    tar: tar::Builder<GzEncoder<W>>,
    fs: HostFs,
    accounts: &'a Accounts,
    limits: Limits,
    excl: Exclusions,
    /// mtime for members that have no file behind them (captures).
    now: u64,
    seen: HashSet<String>,
    pub entries: Vec<Entry>,
    pub problems: Vec<Problem>,
    total: u64,
    total_cap_noted: bool,
    redact: Option<Redact>,
}

/// `--redact`: the patterns, and a scratch file (in the output directory, unlinked) that holds a file's
/// redacted bytes until their size, which the tar header needs first, is known.
struct Redact {
    redactor: Redactor,
    spool_dir: PathBuf,
    spool: Option<File>,
}

/// What `--redact` does with an entry's bytes.
enum Treat {
    /// Stored as read (not redacted, or a source with no secrets in view).
    Raw,
    /// Text: the byte patterns over the whole stream.
    Text,
    /// The process snapshot: the patterns over each command line (NUL-separated arguments), then re-encoded.
    ProcSnapshot,
    /// Cannot be redacted without breaking it: not stored.
    Refuse(&'static str),
}

fn treatment(category: Category, format: Format, compressed: bool) -> Treat {
    let text = match (category, format) {
        (_, Format::ProcSnapshotJson) => return Treat::ProcSnapshot,
        (Category::Journal, Format::JournalJson) => true,
        (Category::Journal, _) => {
            return Treat::Refuse("--redact: a binary journal file cannot be redacted without corrupting it, so it is not taken")
        }
        (Category::History | Category::Syslog, _) | (Category::Audit, Format::AuditLog) => true,
        _ => false,
    };
    match (text, compressed) {
        (false, _) => Treat::Raw,
        (true, false) => Treat::Text,
        (true, true) => Treat::Refuse("--redact: a compressed log cannot be redacted as stored, so it is not taken"),
    }
}

/// An unnamed file in `dir` (O_TMPFILE; where unsupported, a named one removed at once).
fn scratch_file(dir: &Path) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.read(true).write(true).mode(0o600);
    match o.clone().custom_flags(libc::O_TMPFILE | libc::O_CLOEXEC).open(dir) {
        Ok(f) => Ok(f),
        Err(_) => {
            let p = dir.join(format!(".coroner-redact-{}.tmp", std::process::id()));
            let f = o.create_new(true).custom_flags(libc::O_CLOEXEC).open(&p)?;
            std::fs::remove_file(&p)?;
            Ok(f)
        }
    }
}

/// The process snapshot with every command line redacted (arguments joined by NUL, the way the kernel keeps
/// them, so `--token VALUE` across two arguments is seen).
fn redact_proc(r: &Redactor, data: &[u8]) -> Result<(Vec<u8>, redact::Counts), serde_json::Error> {
    let (mut snap, _) = ProcSnapshot::from_bytes(data)?;
    let mut counts = redact::Counts::new();
    for p in &mut snap.processes {
        if p.cmdline.is_empty() {
            continue;
        }
        let joined = p.cmdline.iter().map(Text::as_bytes).collect::<Vec<_>>().join(&0u8);
        let (out, c) = r.redact_all(&joined);
        if !c.is_empty() {
            p.cmdline = out.split(|&b| b == 0).map(Text::from_bytes).collect();
            for (k, v) in c {
                *counts.entry(k).or_default() += v;
            }
        }
    }
    Ok((snap.to_bytes()?, counts))
}

fn redaction(c: redact::Counts) -> Option<Redaction> {
    Some(Redaction {
        matches: c.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
    })
}

fn out_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> OutputError {
    let context = context.into();
    move |source| OutputError { context, source }
}

/// A bundle path must be relative, `/`-separated, without empty, `.` or `..` parts, and not a reserved name.
fn valid_bundle_path(p: &str) -> bool {
    !p.is_empty()
        && !p.starts_with('/')
        && !p.ends_with('/')
        && p.split('/').all(|c| !c.is_empty() && c != "." && c != "..")
        && !layout::UNLISTED.contains(&p)
        && !p.contains('\0')
}

fn utc(secs: i64, nsec: u64) -> Option<Utc> {
    Utc::from_unix(secs, u32::try_from(nsec).unwrap_or(0))
}

/// The status of a file stat'ed at size 0 and read to `cap`: `read` bytes read, `stored` kept (after
/// redaction), what followed them, and its stat size once read.
fn pseudo_status(read: u64, stored: u64, after: After, size_now: u64, cap: u64, keep: Kept) -> Status {
    match after {
        After::OverCap if size_now > 0 => Status::Truncated {
            kept: Kept::Head,
            original_size: size_now.max(stored + 1),
            reason: format!(
                "stat size 0 at open and {size_now} bytes once read: it grew while read, past the cap of {cap} \
                 bytes; the head was kept"
            ),
        },
        After::OverCap => Status::Truncated {
            kept: Kept::Head,
            original_size: stored + 1,
            reason: format!(
                "stat size 0 (pseudo-file) and more than {cap} bytes: the head was kept, the real size is \
                 unknown{}",
                if keep == Kept::Tail {
                    " (a tail cannot be found without reading it all)"
                } else {
                    ""
                }
            ),
        },
        After::End if size_now == 0 => Status::Ok,
        // Empty at its stat, then written: what the read found is stored, and the change is recorded.
        After::End | After::Grew => Status::ChangedWhileRead { change: Change::Grew, stat_size: 0, bytes_read: read },
    }
}

fn status_from_io(e: &io::Error, vanished_ok: bool) -> Status {
    match e.raw_os_error() {
        Some(libc::EACCES) | Some(libc::EPERM) => Status::PermissionDenied { message: e.to_string() },
        Some(libc::ENOENT) | Some(libc::ENOTDIR) if vanished_ok => Status::Vanished,
        _ => Status::Io { message: e.to_string() },
    }
}

impl<'a, W: Write> TarWriter<'a, W> {
    pub fn new(
        out: W,
        root: PathBuf,
        accounts: &'a Accounts,
        limits: Limits,
        excl: Exclusions,
        now: Utc,
    ) -> io::Result<TarWriter<'a, W>> {
        let fs = HostFs::open(&root)?;
        let mut tar = tar::Builder::new(GzEncoder::new(out, Compression::new(GZIP_LEVEL)));
        tar.mode(tar::HeaderMode::Deterministic);
        Ok(TarWriter {
            tar,
            fs,
            accounts,
            limits,
            excl,
            now: u64::try_from(now.unix_seconds()).unwrap_or(0),
            seen: HashSet::new(),
            entries: Vec::new(),
            problems: Vec::new(),
            total: 0,
            total_cap_noted: false,
            redact: None,
        })
    }

    /// Turns on `--redact`; `spool_dir` (the output directory) holds the scratch file.
    pub fn redact_with(&mut self, redactor: Redactor, spool_dir: PathBuf) {
        self.redact = Some(Redact { redactor, spool_dir, spool: None });
    }

    fn treat(&self, category: Category, format: Format, compressed: bool) -> Treat {
        match self.redact {
            None => Treat::Raw,
            Some(_) => treatment(category, format, compressed),
        }
    }

    /// Bytes held whole, as `--redact` stores them: the bytes, and the redaction record (None: as read).
    /// `Err` holds why nothing can be stored.
    fn redact_held(&self, category: Category, format: Format, data: &[u8]) -> Result<(Option<Vec<u8>>, Option<Redaction>), String> {
        let Some(r) = &self.redact else { return Ok((None, None)) };
        match treatment(category, format, false) {
            Treat::Raw => Ok((None, None)),
            Treat::Text => {
                let (out, c) = r.redactor.redact_all(data);
                Ok((Some(out), redaction(c)))
            }
            Treat::ProcSnapshot => match redact_proc(&r.redactor, data) {
                Ok((out, c)) => Ok((Some(out), redaction(c))),
                Err(e) => Err(format!("--redact: the process snapshot could not be re-read to redact it ({e}), so it is not taken")),
            },
            Treat::Refuse(why) => Err(why.to_owned()),
        }
    }

    pub fn counts(&self) -> Counts {
        Counts {
            entries: self.entries.len() as u64,
            stored_bytes: self.total,
        }
    }

    /// Adds one plan item. `Err` only when the output cannot be written (the bundle is lost).
    pub fn add(&mut self, item: &Item) -> Result<(), OutputError> {
        match item {
            Item::File(f) => self.add_file(f),
            Item::Capture(c) => self.add_capture(c),
            Item::Absent(a) => {
                self.add_absent(a);
                Ok(())
            }
        }
    }

    /// Claims a bundle path; false (and nothing recorded) when it is taken or not a valid path.
    fn claim(&mut self, path: &str, source: &str) -> bool {
        if !valid_bundle_path(path) {
            self.problems.push(Problem {
                source: source.to_owned(),
                message: format!("not collected: invalid bundle path {path:?}"),
            });
            return false;
        }
        self.seen.insert(path.to_owned())
    }

    fn member(&mut self, path: &str, mtime: u64, data: impl io::Read, size: u64) -> Result<(), OutputError> {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(MEMBER_MODE);
        h.set_mtime(mtime);
        h.set_uid(0);
        h.set_gid(0);
        h.set_size(size);
        self.tar
            .append_data(&mut h, path, data)
            .map_err(out_err(format!("adding {path}")))
    }

    /// A fixed, small member that is not a manifest entry (manifest.json, its signature, signer.pub).
    pub fn add_unlisted(&mut self, name: &str, data: &[u8]) -> Result<(), OutputError> {
        self.member(name, self.now, data, data.len() as u64)
    }

    fn add_absent(&mut self, a: &AbsentItem) {
        if !self.claim(&a.bundle_path, &a.source) {
            return;
        }
        self.entries.push(Entry {
            status: a.status.clone(),
            ..Entry::new(&a.bundle_path, &a.source, a.category, a.format)
        });
    }

    fn add_capture(&mut self, c: &CaptureItem) -> Result<(), OutputError> {
        if !self.claim(&c.bundle_path, &c.source) {
            return Ok(());
        }
        let mut e = Entry {
            account: c.account.clone(),
            status: c.status.clone(),
            command: c.command.clone(),
            ..Entry::new(&c.bundle_path, &c.source, c.category, c.format)
        };
        let redacted = match self.redact_held(c.category, c.format, &c.data) {
            Ok((bytes, r)) => {
                e.redaction = r;
                bytes
            }
            Err(reason) => {
                e.status = Status::Skipped { reason };
                self.entries.push(e);
                return Ok(());
            }
        };
        let data = redacted.as_deref().unwrap_or(&c.data);
        let size = data.len() as u64;
        self.member(&c.bundle_path.clone(), self.now, data, size)?;
        self.total += size;
        e.size = size;
        e.sha256 = Some(hex::encode(Sha256::digest(data)));
        self.entries.push(e);
        Ok(())
    }

    fn file_stat(&self, st: &Stat) -> FileStat {
        FileStat {
            mode: st.st_mode,
            uid: st.st_uid,
            gid: st.st_gid,
            user: self.accounts.user_name(st.st_uid).map(str::to_owned),
            group: self.accounts.group_name(st.st_gid).map(str::to_owned),
            size: u64::try_from(st.st_size).unwrap_or(0),
            allocated: u64::try_from(st.st_blocks).unwrap_or(0).saturating_mul(512),
            mtime: utc(st.st_mtime, st.st_mtime_nsec),
            ctime: utc(st.st_ctime, st.st_ctime_nsec),
            atime: utc(st.st_atime, st.st_atime_nsec),
            ino: st.st_ino,
            dev: st.st_dev,
            nlink: st.st_nlink,
        }
    }

    fn excluded(&self, host: &str) -> Option<String> {
        for d in &self.excl.host_dirs {
            let d = d.trim_end_matches('/');
            if host.strip_prefix(d).is_some_and(|rest| rest.starts_with('/')) {
                return Some("the collector's own output directory".to_owned());
            }
        }
        self.excl.globs.find(host).map(|g| format!("excluded by --exclude {g}"))
    }

    /// Finds the file: the literal path, or (when that does not exist and it holds `%`) the percent-decoded one.
    fn locate(&self, host: &str) -> io::Result<Option<(Located, Stat)>> {
        let literal = self.fs.locate(host.as_bytes()).and_then(|l| match l {
            Some(l) => l.lstat().map(|st| Some((l, st))),
            None => Ok(None),
        });
        match literal {
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) && host.contains('%') => {
                let raw = decode_path(host);
                match self.fs.locate(&raw)? {
                    Some(l) => l.lstat().map(|st| Some((l, st))),
                    None => Ok(None),
                }
            }
            r => r,
        }
    }

    fn add_file(&mut self, f: &FileItem) -> Result<(), OutputError> {
        let bundle_path = layout::fs_path(&normalise(&f.path));
        if !self.claim(&bundle_path, &f.path) {
            return Ok(());
        }
        let mut e = Entry {
            account: f.account.clone(),
            compressed: f.compressed.clone(),
            ..Entry::new(&bundle_path, &f.path, f.category, f.format)
        };
        if let Some(reason) = self.excluded(&f.path) {
            e.status = Status::Skipped { reason };
            self.entries.push(e);
            return Ok(());
        }
        let treat = self.treat(f.category, f.format, f.compressed.is_some());
        let (loc, st) = match self.locate(&f.path) {
            Ok(Some(x)) => x,
            Ok(None) => {
                self.seen.remove(&bundle_path);
                return Ok(());
            }
            Err(err) => {
                // The plan lists only files it found, so a file missing now has vanished since.
                e.status = status_from_io(&err, true);
                self.entries.push(e);
                return Ok(());
            }
        };
        e.stat = Some(self.file_stat(&st));
        let kind = st.st_mode & libc::S_IFMT;
        match kind {
            libc::S_IFREG => {}
            libc::S_IFDIR => {
                // Directories are containers, not evidence: nothing recorded.
                self.seen.remove(&bundle_path);
                return Ok(());
            }
            libc::S_IFLNK => {
                let target = loc.readlink().map(|t| String::from_utf8_lossy(&t).into_owned());
                e.link_target = target.ok();
                e.status = Status::Skipped {
                    reason: "symlink: recorded, not followed".to_owned(),
                };
                self.entries.push(e);
                return Ok(());
            }
            _ => {
                let what = match kind {
                    libc::S_IFIFO => "FIFO",
                    libc::S_IFSOCK => "socket",
                    libc::S_IFCHR => "character device",
                    libc::S_IFBLK => "block device",
                    _ => "not a regular file",
                };
                e.status = Status::Skipped {
                    reason: format!("{what}: never opened"),
                };
                self.entries.push(e);
                return Ok(());
            }
        }
        if let Treat::Refuse(why) = treat {
            e.status = Status::Skipped { reason: why.to_owned() };
            self.entries.push(e);
            return Ok(());
        }
        let remaining = self.limits.max_total_bytes.saturating_sub(self.total);
        if remaining == 0 {
            e.status = Status::Skipped {
                reason: "total cap reached".to_owned(),
            };
            self.note_total_cap();
            self.entries.push(e);
            return Ok(());
        }
        let file = match loc.open() {
            Ok(file) => file,
            Err(err) => {
                e.status = status_from_io(&err, true);
                self.entries.push(e);
                return Ok(());
            }
        };
        let fst = match rustix::fs::fstat(&file).map_err(io::Error::from) {
            Ok(s) => s,
            Err(err) => {
                e.status = status_from_io(&err, true);
                self.entries.push(e);
                return Ok(());
            }
        };
        if fst.st_mode & libc::S_IFMT != libc::S_IFREG {
            e.status = Status::Skipped {
                reason: "changed into a non-regular file before it was opened".to_owned(),
            };
            self.entries.push(e);
            return Ok(());
        }
        // From here on the open file's own stat describes what is stored.
        e.stat = Some(self.file_stat(&fst));
        let file_cap = f.cap.unwrap_or(self.limits.max_file_bytes);
        let cap = file_cap.min(remaining);
        let cap_reason = if cap < file_cap { "total cap" } else { "per-file cap" };
        let size = u64::try_from(fst.st_size).unwrap_or(0);
        if size == 0 {
            return self.add_pseudo(e, &file, cap.min(PSEUDO_CAP), f.keep);
        }
        let mut w = Window::plan(size, cap, f.keep);
        let sparse = u64::try_from(fst.st_blocks).unwrap_or(0).saturating_mul(512) < size;
        // A sparse file already cut to its head (a 100 GiB core of holes) keeps its head only up to its last
        // data: the holes after it would be megabytes of zeros in the bundle and use up the total cap.
        let mut holes_cut = false;
        if sparse && w.truncated && f.keep == Kept::Head {
            if let Some(end) = data_end_within(&file, w.len).filter(|&e| e < w.len) {
                w.len = end;
                holes_cut = true;
            }
        }
        let mtime = u64::try_from(fst.st_mtime).unwrap_or(0);
        let mut reader = Capped::new(PosReader::new(&file, w.start, sparse), w.len);
        let stored = if let Treat::Text = treat {
            let (n, sha, counts) = self.redact_to_spool(&mut reader)?;
            self.member_from_spool(&bundle_path, mtime, n)?;
            e.redaction = redaction(counts);
            Some((n, sha))
        } else {
            self.member(&bundle_path, mtime, &mut reader, w.len)?;
            None
        };
        // Growth is meaningful when the stored window ends at the stat'ed end (whole file or tail).
        let o = reader.finish(!(w.truncated && f.keep == Kept::Head));
        let (stored_size, sha256) = stored.unwrap_or((o.stored, o.sha256.clone()));
        self.total += stored_size;
        if cap < file_cap && w.truncated {
            self.note_total_cap();
        }
        e.size = stored_size;
        e.sha256 = Some(sha256);
        e.status = if let Some(message) = o.error {
            Status::Io {
                message: format!("read failed after {} bytes, rest zero-padded: {message}", o.bytes_read),
            }
        } else if o.shrank {
            Status::ChangedWhileRead {
                change: Change::Shrank,
                stat_size: size,
                bytes_read: o.bytes_read,
            }
        } else if w.truncated {
            let grew = if o.grew {
                "; it grew while read (growth not kept)"
            } else {
                ""
            };
            let holes = if holes_cut {
                "; only holes (zeros) followed its last data within the cap, so it is stored up to that data"
            } else {
                ""
            };
            Status::Truncated {
                kept: f.keep,
                original_size: size,
                reason: format!("{cap_reason} of {cap} bytes{grew}{holes}"),
            }
        } else if o.grew {
            Status::ChangedWhileRead {
                change: Change::Grew,
                stat_size: size,
                bytes_read: o.bytes_read,
            }
        } else {
            Status::Ok
        };
        self.entries.push(e);
        Ok(())
    }

    /// A file whose stat size is 0: maybe empty, maybe a pseudo-file with content (`/proc`, `/sys`), maybe a
    /// regular file written between its stat and its read.
    fn add_pseudo(&mut self, mut e: Entry, file: &File, cap: u64, keep: Kept) -> Result<(), OutputError> {
        let (data, after) = match read_pseudo(file, cap) {
            Ok(x) => x,
            Err(err) => {
                e.status = status_from_io(&err, true);
                self.entries.push(e);
                return Ok(());
            }
        };
        // A pseudo-file still stats 0 once read; a regular file that was written meanwhile has a size now.
        let size_now = rustix::fs::fstat(file).map_or(0, |st| u64::try_from(st.st_size).unwrap_or(0));
        let read = data.len() as u64;
        let data = match self.redact_held(e.category, e.format, &data) {
            Ok((bytes, r)) => {
                e.redaction = r;
                bytes.unwrap_or(data)
            }
            Err(reason) => {
                e.status = Status::Skipped { reason };
                self.entries.push(e);
                return Ok(());
            }
        };
        let size = data.len() as u64;
        let path = e.path.clone();
        self.member(&path, self.now, &data[..], size)?;
        self.total += size;
        e.size = size;
        e.sha256 = Some(hex::encode(Sha256::digest(&data)));
        e.status = pseudo_status(read, size, after, size_now, cap, keep);
        self.entries.push(e);
        Ok(())
    }

    /// Streams `reader` through the redactor into the scratch file: (bytes, their sha256, matches).
    fn redact_to_spool(&mut self, reader: &mut impl Read) -> Result<(u64, String, redact::Counts), OutputError> {
        let Some(r) = &mut self.redact else {
            return Err(OutputError { context: "redacting".into(), source: io::Error::other("no redactor") });
        };
        if r.spool.is_none() {
            let f = scratch_file(&r.spool_dir).map_err(out_err(format!("creating a scratch file in {}", r.spool_dir.display())))?;
            r.spool = Some(f);
        }
        let (Some(spool), redactor) = (&mut r.spool, &r.redactor) else {
            return Err(OutputError { context: "redacting".into(), source: io::Error::other("no scratch file") });
        };
        let err = out_err("writing the redaction scratch file");
        spool.set_len(0).and_then(|()| spool.rewind()).map_err(out_err("resetting the redaction scratch file"))?;
        let mut w = io::BufWriter::with_capacity(256 << 10, &*spool);
        let mut stream = redactor.stream();
        let mut hasher = Sha256::new();
        let mut n = 0u64;
        let mut buf = vec![0u8; 64 << 10];
        let mut out = Vec::new();
        let mut emit = |out: &mut Vec<u8>, w: &mut io::BufWriter<&File>| -> io::Result<()> {
            hasher.update(&out[..]);
            n += out.len() as u64;
            w.write_all(out)?;
            out.clear();
            Ok(())
        };
        loop {
            // Capped never fails: a read error becomes zero padding recorded in its outcome.
            let k = reader.read(&mut buf).unwrap_or(0);
            if k == 0 {
                break;
            }
            stream.push(&buf[..k], &mut out);
            emit(&mut out, &mut w).map_err(out_err("writing the redaction scratch file"))?;
        }
        let counts = stream.finish(&mut out);
        emit(&mut out, &mut w).map_err(err)?;
        w.flush().map_err(out_err("writing the redaction scratch file"))?;
        drop(w);
        Ok((n, hex::encode(hasher.finalize()), counts))
    }

    /// A member of the scratch file's first `n` bytes (zero-padded should it be shorter: the tar stays whole).
    fn member_from_spool(&mut self, path: &str, mtime: u64, n: u64) -> Result<(), OutputError> {
        let spool = match self.redact.as_mut().and_then(|r| r.spool.take()) {
            Some(s) => s,
            None => return Err(OutputError { context: "redacting".into(), source: io::Error::other("no scratch file") }),
        };
        let r = (&spool).rewind().map_err(out_err("rewinding the redaction scratch file")).and_then(|()| {
            let data = (&spool).take(n).chain(io::repeat(0)).take(n);
            self.member(path, mtime, data, n)
        });
        if let Some(red) = self.redact.as_mut() {
            red.spool = Some(spool);
        }
        r
    }

    fn note_total_cap(&mut self) {
        if !self.total_cap_noted {
            self.total_cap_noted = true;
            self.problems.push(Problem {
                source: "total-cap".to_owned(),
                message: format!(
                    "the total cap of {} bytes was reached: later files were cut or skipped (--max-total)",
                    self.limits.max_total_bytes
                ),
            });
        }
    }

    /// Ends the tar and the gzip stream, returning the output.
    pub fn finish(self) -> Result<W, OutputError> {
        let gz = self.tar.into_inner().map_err(out_err("ending the tar"))?;
        gz.finish().map_err(out_err("ending the gzip stream"))
    }
}

/// A host path in normal form (`/a/b`) for its bundle path: no `.`, `..` or repeated `/` (non-UTF-8 stays
/// percent-escaped as the plan gave it).
fn normalise(host: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in host.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}


#[cfg(test)]
mod tests {
    use super::*;
    use crate::acquire::CaptureItem;
    use coroner_schemas::manifest::{Category, Format};
    use std::io::Read;

    fn writer<'a>(root: &std::path::Path, accounts: &'a Accounts, max_total: u64) -> TarWriter<'a, Vec<u8>> {
        let limits = Limits {
            max_file_bytes: 1 << 20,
            max_total_bytes: max_total,
        };
        let excl = Exclusions {
            globs: Excludes::new(&["*.secret".into()]),
            host_dirs: vec!["/out".into()],
        };
        let now = Utc::from_unix(1_764_000_000, 0).expect("time");
        TarWriter::new(Vec::new(), root.to_owned(), accounts, limits, excl, now).expect("writer")
    }

    fn untar(gz: Vec<u8>) -> Vec<(String, Vec<u8>)> {
        let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(&gz[..]));
        let mut out = Vec::new();
        for e in ar.entries().expect("entries") {
            let mut e = e.expect("entry");
            let p = e.path().expect("path").to_string_lossy().into_owned();
            let mut d = Vec::new();
            e.read_to_end(&mut d).expect("data");
            out.push((p, d));
        }
        out
    }

    fn file(p: &str) -> Item {
        Item::File(FileItem::new(p, Category::Include, Format::Other))
    }

    #[test]
    fn same_path_twice_is_taken_once_and_exclusions_are_recorded() {
        let t = tempfile::tempdir().expect("tempdir");
        std::fs::write(t.path().join("a.log"), b"first\n").expect("write");
        std::fs::write(t.path().join("k.secret"), b"no\n").expect("write");
        std::fs::create_dir(t.path().join("out")).expect("mkdir");
        std::fs::write(t.path().join("out/old.tar.gz"), b"x").expect("write");
        let acc = Accounts::default();
        let mut w = writer(t.path(), &acc, u64::MAX);
        for it in [
            file("/a.log"),
            file("//a.log"),
            file("/./a.log"),
            file("/k.secret"),
            file("/out/old.tar.gz"),
            file("/"),
        ] {
            w.add(&it).expect("add");
        }
        let cap = CaptureItem {
            bundle_path: "live/x.json".into(),
            source: "/proc".into(),
            category: Category::Proc,
            format: Format::Other,
            account: None,
            data: b"{}".to_vec(),
            status: Status::Ok,
            command: None,
        };
        w.add(&Item::Capture(cap.clone())).expect("add");
        w.add(&Item::Capture(cap)).expect("add");
        let entries = std::mem::take(&mut w.entries);
        let members = untar(w.finish().expect("finish"));
        let names: Vec<&str> = members.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(names, ["fs/a.log", "live/x.json"]);
        assert_eq!(members[0].1, b"first\n");
        let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["fs/a.log", "fs/k.secret", "fs/out/old.tar.gz", "live/x.json"]);
        assert!(matches!(&entries[1].status, Status::Skipped { reason } if reason.contains("--exclude")));
        assert!(matches!(&entries[2].status, Status::Skipped { reason } if reason.contains("output directory")));
    }

    #[test]
    fn long_paths_survive_as_gnu_long_names() {
        let t = tempfile::tempdir().expect("tempdir");
        let dir: String = (0..12).map(|i| format!("/directory-level-{i:02}")).collect();
        std::fs::create_dir_all(t.path().join(dir.trim_start_matches('/'))).expect("mkdir");
        let host = format!("{dir}/a-file-with-a-rather-long-name-too.log");
        assert!(host.len() > 255);
        std::fs::write(t.path().join(host.trim_start_matches('/')), b"deep\n").expect("write");
        let acc = Accounts::default();
        let mut w = writer(t.path(), &acc, u64::MAX);
        w.add(&file(&host)).expect("add");
        let members = untar(w.finish().expect("finish"));
        assert_eq!(members, vec![(format!("fs{host}"), b"deep\n".to_vec())]);
    }

    #[test]
    fn non_utf8_names_are_found_through_their_escaped_form() {
        use std::os::unix::ffi::OsStringExt;
        let t = tempfile::tempdir().expect("tempdir");
        let raw = std::ffi::OsString::from_vec(b"hist\xff.txt".to_vec());
        std::fs::write(t.path().join(&raw), b"bytes\n").expect("write");
        let acc = Accounts::default();
        let mut w = writer(t.path(), &acc, u64::MAX);
        let host = super::super::hostfs::encode_path(std::path::Path::new("/").join(&raw).as_os_str());
        assert_eq!(host, "/hist%FF.txt");
        w.add(&file(&host)).expect("add");
        let entries = std::mem::take(&mut w.entries);
        assert_eq!(entries[0].path, "fs/hist%FF.txt");
        assert_eq!(entries[0].status, Status::Ok);
        assert_eq!(untar(w.finish().expect("finish"))[0].1, b"bytes\n");
    }

    #[test]
    fn files_gone_since_planning_are_vanished_and_the_total_cap_cuts_then_skips() {
        let t = tempfile::tempdir().expect("tempdir");
        std::fs::write(t.path().join("one"), b"0123456789").expect("write");
        std::fs::write(t.path().join("two"), b"abcdef").expect("write");
        let acc = Accounts::default();
        let mut w = writer(t.path(), &acc, 12);
        for it in [file("/gone"), file("/one"), file("/two"), file("/one2")] {
            w.add(&it).expect("add");
        }
        std::fs::write(t.path().join("one2"), b"z").expect("write");
        let entries = std::mem::take(&mut w.entries);
        assert_eq!(entries[0].status, Status::Vanished);
        assert_eq!((entries[1].size, &entries[1].status), (10, &Status::Ok));
        assert!(
            matches!(&entries[2].status, Status::Truncated { original_size: 6, .. }),
            "{:?}",
            entries[2].status
        );
        assert_eq!(entries[2].size, 2, "what was left of the total");
        assert_eq!(entries[3].status, Status::Vanished);
        assert!(w.problems.iter().any(|p| p.source == "total-cap"));
        let members = untar(w.finish().expect("finish"));
        assert_eq!(members[1].1, b"ef", "a log cut by the total cap keeps its tail");
    }

    #[test]
    fn members_are_owner_only_and_the_host_mode_stays_in_the_manifest() {
        use std::os::unix::fs::PermissionsExt;
        let t = tempfile::tempdir().expect("tempdir");
        let p = t.path().join("world.log");
        std::fs::write(&p, b"readable by all on the host\n").expect("write");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o664)).expect("chmod");
        let acc = Accounts::default();
        let mut w = writer(t.path(), &acc, u64::MAX);
        w.add(&file("/world.log")).expect("add");
        w.add_unlisted(layout::MANIFEST, b"{}\n").expect("add");
        let entries = std::mem::take(&mut w.entries);
        assert_eq!(entries[0].stat.as_ref().map(|s| s.mode & 0o7777), Some(0o664), "host mode kept");
        let gz = w.finish().expect("finish");
        let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(&gz[..]));
        let modes: Vec<u32> = ar
            .entries()
            .expect("entries")
            .map(|e| e.expect("entry").header().mode().expect("mode"))
            .collect();
        assert_eq!(modes, [0o600, 0o600]);
    }

    /// The churn race seen once in CI: a log stat'ed at size 0 (created, not yet written), then written before
    /// its read. What the read found is stored and the growth recorded; it is not a pseudo-file over the cap.
    #[test]
    fn a_file_empty_at_its_stat_and_written_before_its_read_grew() {
        let t = tempfile::tempdir().expect("tempdir");
        let p = t.path().join("app.log");
        std::fs::write(&p, b"written after the stat\n").expect("write");
        let acc = Accounts::default();
        let mut w = writer(t.path(), &acc, u64::MAX);
        let f = File::open(&p).expect("open");
        w.add_pseudo(Entry::new("fs/app.log", "/app.log", Category::Include, Format::Other), &f, PSEUDO_CAP, Kept::Tail).expect("add");
        let entries = std::mem::take(&mut w.entries);
        assert_eq!(
            entries[0].status,
            Status::ChangedWhileRead { change: Change::Grew, stat_size: 0, bytes_read: 23 }
        );
        assert_eq!(entries[0].size, 23);
        assert_eq!(untar(w.finish().expect("finish"))[0].1, b"written after the stat\n");
    }

    /// A real pseudo-file (stat size 0 before and after its read) is stored whole and Ok under the cap, and cut
    /// with its size unknown over it.
    #[test]
    fn pseudo_files_stay_ok_under_the_cap_and_are_cut_over_it() {
        let acc = Accounts::default();
        let mut w = writer(std::path::Path::new("/"), &acc, u64::MAX);
        let f = File::open("/proc/self/status").expect("open");
        assert_eq!(rustix::fs::fstat(&f).expect("fstat").st_size, 0, "procfs stats 0");
        w.add_pseudo(Entry::new("fs/proc/self/status", "/proc/self/status", Category::Include, Format::Other), &f, PSEUDO_CAP, Kept::Head).expect("add");
        let f = File::open("/proc/self/status").expect("open");
        w.add_pseudo(Entry::new("fs/proc/self/status2", "/proc/self/status", Category::Include, Format::Other), &f, 8, Kept::Tail).expect("add");
        let entries = std::mem::take(&mut w.entries);
        assert_eq!(entries[0].status, Status::Ok);
        assert!(entries[0].size > 8, "{}", entries[0].size);
        assert!(
            matches!(&entries[1].status, Status::Truncated { kept: Kept::Head, original_size: 9, reason }
                if reason.contains("pseudo-file") && reason.contains("a tail cannot be found")),
            "{:?}",
            entries[1].status
        );
        let members = untar(w.finish().expect("finish"));
        assert_eq!(members[1].1.len(), 8);
        assert!(members[0].1.starts_with(&members[1].1) && members[1].1.starts_with(b"Name:\t"));
    }

    #[test]
    fn a_stat_size_0_file_is_judged_by_what_followed_its_read_and_its_size_after() {
        let grew = Status::ChangedWhileRead { change: Change::Grew, stat_size: 0, bytes_read: 4 };
        assert_eq!(pseudo_status(4, 4, After::End, 0, 10, Kept::Tail), Status::Ok);
        assert_eq!(pseudo_status(4, 4, After::End, 4, 10, Kept::Tail), grew);
        assert_eq!(pseudo_status(4, 4, After::Grew, 0, 10, Kept::Tail), grew);
        assert_eq!(pseudo_status(4, 4, After::Grew, 9, 10, Kept::Tail), grew);
        let Status::Truncated { original_size, reason, .. } = pseudo_status(10, 10, After::OverCap, 0, 10, Kept::Head)
        else {
            panic!("over the cap is truncated")
        };
        assert_eq!(original_size, 11);
        assert!(reason.contains("real size is unknown") && !reason.contains("tail"), "{reason}");
        let Status::Truncated { original_size, reason, .. } = pseudo_status(10, 10, After::OverCap, 50, 10, Kept::Head)
        else {
            panic!("over the cap is truncated")
        };
        assert_eq!(original_size, 50);
        assert!(reason.contains("grew while read") && reason.contains("50 bytes once read"), "{reason}");
    }

    #[test]
    fn bundle_paths_are_relative_and_clean() {
        assert!(valid_bundle_path("fs/var/log/syslog"));
        assert!(!valid_bundle_path("/etc/passwd"));
        assert!(!valid_bundle_path("fs/../x"));
        assert!(!valid_bundle_path("fs//x"));
        assert!(!valid_bundle_path("manifest.json"));
        assert_eq!(normalise("/var/./log/../log//syslog"), "/var/log/syslog");
        assert_eq!(normalise("/../etc/passwd"), "/etc/passwd");
    }
}
