//! Reading a bundle: stream the tar.gz, never extract, never trust names, cap decompression.
//!
//! The bundle is read as one stream (gzip → tar), never written to disk and never using a member name as a
//! filesystem path:
//! - [`scan`] (pass 1) hashes every member with sha256 as it streams by and keeps the bundle's own files
//!   (`manifest.json`, its signature, `signer.pub`); asked to ([`scan_keeping`]), it also keeps members'
//!   bytes up to a memory budget, and the members the caller names whatever the budget, so a render inflates
//!   the bundle once. It knows no evidence file: which members matter is the caller's business;
//! - [`read_members`] (pass 2) hands chosen members' bytes, one at a time, to a callback: only for what pass 1
//!   did not keep.
//!
//! An age-encrypted bundle ([`crate::decrypt`]) is decrypted as it streams, under the gzip decoder, once per
//! pass: the plaintext is never written anywhere, and everything below applies to it unchanged.
//!
//! Every byte that comes out of the outer gzip is counted: past `max_total` the stream is refused, and a
//! member whose header declares more than `max_entry` bytes is refused before it is read, so a gzip bomb
//! costs a bounded amount of time and memory.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use bytes::{Bytes, BytesMut};
use coroner_schemas::layout;
use flate2::read::MultiGzDecoder;
use sha2::{Digest, Sha256};

use crate::decrypt::{self, Decrypting, Identities, OpenError};

/// Default per-member cap on decompressed bytes.
pub const DEFAULT_MAX_ENTRY: u64 = 2 << 30;
/// Default cap on all decompressed bytes of the bundle stream.
pub const DEFAULT_MAX_TOTAL: u64 = 16 << 30;
/// Cap on `manifest.json`.
pub const DEFAULT_MAX_MANIFEST: u64 = 64 << 20;
/// Cap on the other small members kept in memory by pass 1 (signature, key, and those a caller names).
pub const DEFAULT_MAX_SMALL: u64 = 16 << 20;
/// How many member bytes a render's pass 1 keeps in memory for parsing (the rest are read again in pass 2).
pub const DEFAULT_MAX_KEPT: u64 = 2 << 30;

/// Decompression caps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest member, in bytes (also the cap on inflating a `compressed: gzip` entry).
    pub max_entry: u64,
    /// Largest decompressed bundle stream (tar headers included).
    pub max_total: u64,
    pub max_manifest: u64,
    pub max_small: u64,
    /// Member bytes [`scan_keeping`] may keep in memory.
    pub max_kept: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entry: DEFAULT_MAX_ENTRY,
            max_total: DEFAULT_MAX_TOTAL,
            max_manifest: DEFAULT_MAX_MANIFEST,
            max_small: DEFAULT_MAX_SMALL,
            max_kept: DEFAULT_MAX_KEPT,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// The bundle file itself could not be opened or read.
    #[error("cannot read {path}: {error}")]
    Open { path: PathBuf, error: io::Error },
    /// The bundle is age-encrypted and no `--identity` key opens it.
    #[error("cannot read {path}: {error}")]
    Locked { path: PathBuf, error: OpenError },
    /// The gzip or tar stream (or the age ciphertext around it) is corrupt or truncated.
    #[error("corrupt bundle stream ({context}): {error}")]
    Stream { context: String, error: io::Error },
    /// A cap was reached: the bundle is refused.
    #[error("{0}")]
    Cap(String),
    /// The thread hashing members stopped (it panicked): no hash can be trusted.
    #[error("the thread hashing bundle members stopped")]
    Hashing,
}

/// The type of a tar member, as far as the reader cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberKind {
    Regular,
    Directory,
    Symlink,
    HardLink,
    CharDevice,
    BlockDevice,
    Fifo,
    Other,
}

impl MemberKind {
    fn of(t: tar::EntryType) -> MemberKind {
        if t.is_file() {
            MemberKind::Regular
        } else if t.is_dir() {
            MemberKind::Directory
        } else if t.is_symlink() {
            MemberKind::Symlink
        } else if t.is_hard_link() {
            MemberKind::HardLink
        } else if t.is_character_special() {
            MemberKind::CharDevice
        } else if t.is_block_special() {
            MemberKind::BlockDevice
        } else if t.is_fifo() {
            MemberKind::Fifo
        } else {
            MemberKind::Other
        }
    }
}

/// One tar member as pass 1 saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// The name, lossily decoded for display; `name_ok` says whether it was valid UTF-8 and safe.
    pub name: String,
    pub kind: MemberKind,
    /// Bytes read (regular files only; 0 otherwise).
    pub size: u64,
    /// Lower-case hex sha256 of the bytes (regular files only).
    pub sha256: Option<String>,
    /// Why the name is unusable, when it is (absolute, `..`, not UTF-8, empty…).
    pub bad_name: Option<String>,
}

/// What pass 1 found.
#[derive(Clone, Debug, Default)]
pub struct Scan {
    /// Every member, in tar order.
    pub members: Vec<Member>,
    /// Bytes of the first `manifest.json`, `manifest.json.sig` and `signer.pub`.
    pub manifest: Option<Vec<u8>>,
    pub signature: Option<Vec<u8>>,
    pub signer_pub: Option<Vec<u8>>,
    /// Problems with the tar itself (unsafe names, duplicates, links, devices, oversize small members).
    pub failures: Vec<String>,
    /// Decompressed bytes of the whole stream.
    pub total_bytes: u64,
    /// Bytes of regular members with safe names, first of each name, kept by [`scan_keeping`] (within its
    /// budget, or named by the caller), by name.
    pub kept: BTreeMap<String, Bytes>,
}

impl Scan {
    /// The first regular member with this (safe) name.
    pub fn member(&self, name: &str) -> Option<&Member> {
        self.members
            .iter()
            .find(|m| m.kind == MemberKind::Regular && m.bad_name.is_none() && m.name == name)
    }
}

/// Why a member name may not be trusted, or `None` when it is a plain relative `/`-separated path.
pub fn name_problem(raw: &[u8]) -> Option<String> {
    let Ok(name) = std::str::from_utf8(raw) else {
        return Some("name is not UTF-8".to_owned());
    };
    if name.is_empty() {
        return Some("empty name".to_owned());
    }
    if name.starts_with('/') {
        return Some("absolute name".to_owned());
    }
    if name.contains('\\') {
        return Some("name contains a backslash".to_owned());
    }
    if name.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Some("name contains a control character".to_owned());
    }
    for comp in name.split('/') {
        match comp {
            ".." => return Some("name contains `..`".to_owned()),
            "" | "." => return Some("name has an empty or `.` component".to_owned()),
            _ => {}
        }
    }
    None
}

/// Counts the bytes coming out of the decompressor and fails past the cap.
struct Counted<R> {
    inner: R,
    count: Rc<Cell<u64>>,
    cap: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let used = self.count.get();
        if used > self.cap {
            return Err(io::Error::other("decompressed-size cap reached"));
        }
        // Never ask for more than one byte past the cap, so the count stays bounded.
        let room = usize::try_from((self.cap - used).saturating_add(1)).unwrap_or(usize::MAX);
        let want = buf.len().min(room);
        let n = self.inner.read(&mut buf[..want])?;
        self.count.set(used + n as u64);
        if self.count.get() > self.cap {
            return Err(io::Error::other("decompressed-size cap reached"));
        }
        Ok(n)
    }
}

/// A bundle file to read, and the keys that open it when it is age-encrypted.
#[derive(Clone, Copy, Debug)]
pub struct Source<'a> {
    pub path: &'a Path,
    pub identities: &'a Identities,
}

impl<'a> From<&'a Path> for Source<'a> {
    /// A bundle read by its path alone: an encrypted one is refused with "pass --identity".
    fn from(path: &'a Path) -> Self {
        Source { path, identities: Identities::none_ref() }
    }
}

impl<'a> From<&'a PathBuf> for Source<'a> {
    fn from(path: &'a PathBuf) -> Self {
        Source::from(path.as_path())
    }
}

/// The bundle file's bytes: as stored, or decrypted as they are read.
enum Input {
    Plain(BufReader<File>),
    Age(Box<Decrypting<BufReader<File>>>),
}

impl Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Input::Plain(r) => r.read(buf),
            Input::Age(r) => r.read(buf),
        }
    }
}

impl Input {
    /// Opens the file and, when it begins as an age file does, its decryption.
    fn open(src: Source<'_>) -> Result<Input, BundleError> {
        let open_err = |error| BundleError::Open { path: src.path.to_owned(), error };
        let mut file = BufReader::with_capacity(1 << 16, File::open(src.path).map_err(open_err)?);
        if !decrypt::is_age(file.fill_buf().map_err(open_err)?) {
            return Ok(Input::Plain(file));
        }
        match decrypt::decrypt(file, src.identities) {
            Ok(r) => Ok(Input::Age(Box::new(r))),
            Err(e @ OpenError::Corrupt(_)) => Err(BundleError::Stream {
                context: "age header".to_owned(),
                error: io::Error::new(io::ErrorKind::InvalidData, e.to_string()),
            }),
            Err(error) => Err(BundleError::Locked { path: src.path.to_owned(), error }),
        }
    }
}

struct Stream {
    archive: tar::Archive<Counted<MultiGzDecoder<Input>>>,
    count: Rc<Cell<u64>>,
    cap: u64,
}

impl Stream {
    fn open(src: Source<'_>, limits: &Limits) -> Result<Stream, BundleError> {
        let input = Input::open(src)?;
        let count = Rc::new(Cell::new(0));
        let counted = Counted {
            inner: MultiGzDecoder::new(input),
            count: Rc::clone(&count),
            cap: limits.max_total,
        };
        let mut archive = tar::Archive::new(counted);
        archive.set_ignore_zeros(false);
        Ok(Stream {
            archive,
            count,
            cap: limits.max_total,
        })
    }
}

fn entry_cap_error(name: &str, declared: u64, cap: u64) -> BundleError {
    BundleError::Cap(format!(
        "bundle refused: member {name:?} declares {declared} bytes, more than the {cap}-byte --max-entry cap"
    ))
}

/// Reads at most `cap + 1` bytes of `r` into memory; `Ok(None)` when there were more than `cap`.
fn read_capped(r: &mut impl Read, cap: u64) -> io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    r.take(cap.saturating_add(1)).read_to_end(&mut buf)?;
    if buf.len() as u64 > cap {
        Ok(None)
    } else {
        Ok(Some(buf))
    }
}

/// Pass 1: hash every member, keep the bundle's own small files.
pub fn scan<'a>(src: impl Into<Source<'a>>, limits: &Limits) -> Result<Scan, BundleError> {
    scan_keeping(src, limits, &Keep::default())
}

/// Which members' bytes pass 1 keeps besides the bundle's own files.
#[derive(Clone, Debug, Default)]
pub struct Keep {
    /// Members are kept whole while their total stays within this many bytes.
    pub budget: u64,
    /// Members kept whole whatever the budget, each up to [`Limits::max_small`] bytes.
    pub always: BTreeSet<String>,
}

/// Appends the bytes just read (the member is now `size` bytes long) to one of the bundle's own files, or
/// gives it up once it passes its cap, a failure of the bundle.
fn keep_small(kept: &mut Option<Vec<u8>>, cap: Option<u64>, size: u64, bytes: &[u8], name: &str, failures: &mut Vec<String>) {
    if let (Some(k), Some(cap)) = (kept.as_mut(), cap) {
        if size <= cap {
            k.extend_from_slice(bytes);
        } else {
            *kept = None;
            failures.push(format!("member {name:?} is larger than its {cap}-byte cap; not read"));
        }
    }
}

/// Bytes handed to the hashing thread at a time.
const HASH_CHUNK: usize = 1 << 20;

/// Work for the hashing thread, in stream order.
enum HashJob {
    /// The next bytes of the current member. `whole`: a piece of the member's own buffer, to be joined back
    /// to the pieces before it (they are views of one allocation, so that copies nothing).
    Chunk { bytes: BytesMut, whole: bool },
    /// The member is done; `keep`: hand its joined bytes back.
    End { keep: bool },
}

/// One finished member from the hashing thread: its sha256 (hex) and, when asked, its bytes.
type Hashed = (String, Option<Bytes>);

/// The hashing thread: sha256 of each member, and kept members joined back together.
fn hash_members(jobs: std::sync::mpsc::Receiver<HashJob>) -> Vec<Hashed> {
    let mut done = Vec::new();
    let mut hasher = Sha256::new();
    let mut whole: Option<BytesMut> = None;
    for job in jobs {
        match job {
            HashJob::Chunk { bytes, whole: part } => {
                hasher.update(&bytes[..]);
                if part {
                    match whole.as_mut() {
                        Some(w) => w.unsplit(bytes),
                        None => whole = Some(bytes),
                    }
                }
            }
            HashJob::End { keep } => {
                let bytes = whole.take().filter(|_| keep).map(BytesMut::freeze);
                done.push((hex::encode(hasher.finalize_reset()), bytes));
            }
        }
    }
    done
}

/// Fills `buf` from `r` as far as it goes; the number of bytes read (short only at the end of `r`).
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Pass 1, keeping every member's bytes (first of each safe name) while their total stays within the budget,
/// and those `keep` names up to the small-member cap: any other member is only hashed, and later read again by
/// [`read_members`].
///
/// The stream is inflated on the calling thread and hashed on another, a chunk at a time, so the two overlap.
pub fn scan_keeping<'a>(src: impl Into<Source<'a>>, limits: &Limits, keep: &Keep) -> Result<Scan, BundleError> {
    let src = src.into();
    std::thread::scope(|s| {
        let (jobs, queue) = std::sync::mpsc::sync_channel::<HashJob>(4);
        let hashing = s.spawn(move || hash_members(queue));
        let mut hashed: Vec<usize> = Vec::new();
        let mut out = scan_stream(src, limits, keep, &jobs, &mut hashed)?;
        drop(jobs);
        let done = hashing
            .join()
            .map_err(|_| BundleError::Hashing)?;
        if done.len() != hashed.len() {
            return Err(BundleError::Hashing);
        }
        for (i, (sha256, bytes)) in hashed.into_iter().zip(done) {
            if let Some(m) = out.members.get_mut(i) {
                if let Some(b) = bytes {
                    out.kept.insert(m.name.clone(), b);
                }
                m.sha256 = Some(sha256);
            }
        }
        Ok(out)
    })
}

/// The stream side of [`scan_keeping`]: every regular member's bytes go to `jobs`, and `hashed` gets the index
/// (in `members`) of each member whose hash will come back.
fn scan_stream(
    src: Source<'_>,
    limits: &Limits,
    keep: &Keep,
    jobs: &std::sync::mpsc::SyncSender<HashJob>,
    hashed: &mut Vec<usize>,
) -> Result<Scan, BundleError> {
    let send = |job: HashJob| {
        jobs.send(job).map_err(|_| BundleError::Hashing)
    };
    let mut kept_total: u64 = 0;
    let mut stream = Stream::open(src, limits)?;
    let mut out = Scan::default();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    // `entries` borrows the archive; the shared counter tells a cap refusal from a corrupt stream.
    let count = Rc::clone(&stream.count);
    let cap = stream.cap;
    let classify = |context: String, source: io::Error| -> BundleError {
        if count.get() > cap {
            BundleError::Cap(format!(
                "bundle refused: more than {cap} decompressed bytes (--max-total cap); a gzip bomb or a bigger \
                 bundle than allowed"
            ))
        } else {
            BundleError::Stream { context, error: source }
        }
    };
    let entries = stream
        .archive
        .entries()
        .map_err(|e| classify("reading tar".to_owned(), e))?;
    for (index, item) in entries.enumerate() {
        let mut entry = item.map_err(|e| classify(format!("tar member #{}", index + 1), e))?;
        let raw_name = entry.path_bytes().into_owned();
        let name = String::from_utf8_lossy(&raw_name).into_owned();
        let bad_name = name_problem(&raw_name);
        let kind = MemberKind::of(entry.header().entry_type());
        if let Some(why) = &bad_name {
            out.failures
                .push(format!("member {name:?}: unsafe name ({why}); not used"));
        }
        if kind != MemberKind::Regular {
            out.failures.push(format!(
                "member {name:?} is a {kind:?} member, not a regular file; not read"
            ));
            out.members.push(Member {
                name,
                kind,
                size: 0,
                sha256: None,
                bad_name,
            });
            continue;
        }
        let declared = entry.size();
        if declared > limits.max_entry {
            return Err(entry_cap_error(&name, declared, limits.max_entry));
        }
        if bad_name.is_none() {
            if let Some(first) = seen.get(&name) {
                out.failures.push(format!(
                    "member {name:?} appears more than once (first as member #{})",
                    first + 1
                ));
            } else {
                seen.insert(name.clone(), index);
            }
        }
        let first_of_name = bad_name.is_none() && seen.get(&name) == Some(&index);
        let keep_cap = match name.as_str() {
            _ if !first_of_name => None,
            layout::MANIFEST => Some(limits.max_manifest),
            layout::SIGNATURE | layout::SIGNER_PUB => Some(limits.max_small),
            _ => None,
        };
        let mut kept: Option<Vec<u8>> = keep_cap.map(|_| Vec::new());
        // The whole member, for parsing, when the budget allows or the caller names it (its declared size is
        // what it holds).
        let mut whole = first_of_name
            && (kept_total.saturating_add(declared) <= keep.budget
                || (declared <= limits.max_small && keep.always.contains(&name)));
        let mut size: u64 = 0;
        if whole {
            // Inflated straight into the member's own buffer, a chunk at a time; each chunk goes to the hashing
            // thread, which joins them back. Anything past the declared size goes through the loop below, which
            // gives the whole copy up.
            let want = usize::try_from(declared).unwrap_or(usize::MAX);
            let mut rest = BytesMut::with_capacity(want);
            let mut limited = (&mut entry).take(declared);
            while (size as usize) < want {
                let room = (want - size as usize).min(HASH_CHUNK);
                rest.resize(room, 0);
                let n = read_full(&mut limited, &mut rest[..])
                    .map_err(|e| classify(format!("reading member {name:?}"), e))?;
                rest.truncate(n);
                if n == 0 {
                    break;
                }
                let chunk = rest.split_to(n);
                size += n as u64;
                keep_small(&mut kept, keep_cap, size, &chunk, &name, &mut out.failures);
                send(HashJob::Chunk { bytes: chunk, whole: true })?;
                if n < room {
                    break;
                }
            }
        }
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = match entry.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(classify(format!("reading member {name:?}"), e)),
            };
            let chunk = &buf[..n];
            size += n as u64;
            if size > limits.max_entry {
                return Err(entry_cap_error(&name, size, limits.max_entry));
            }
            whole &= size <= declared;
            keep_small(&mut kept, keep_cap, size, chunk, &name, &mut out.failures);
            send(HashJob::Chunk { bytes: BytesMut::from(chunk), whole: false })?;
        }
        send(HashJob::End { keep: whole })?;
        if whole {
            kept_total += size;
        }
        hashed.push(out.members.len());
        if let Some(k) = kept {
            match name.as_str() {
                layout::MANIFEST => out.manifest = Some(k),
                layout::SIGNATURE => out.signature = Some(k),
                _ => out.signer_pub = Some(k),
            }
        }
        out.members.push(Member {
            name,
            kind,
            size,
            // Filled in by `scan_keeping` from the hashing thread.
            sha256: None,
            bad_name,
        });
    }
    // Read on to the end of the gzip stream: only then are its CRC-32 and length checked, so a changed
    // byte in tar padding or in the gzip trailer is caught. Past the end-of-archive blocks only zeros belong.
    let mut rest = stream.archive.into_inner();
    let mut buf = vec![0u8; 1 << 16];
    let mut trailing_data = false;
    loop {
        match rest.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => trailing_data |= buf[..n].iter().any(|&b| b != 0),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(classify("reading past the end of the tar archive".to_owned(), e)),
        }
    }
    if trailing_data {
        out.failures
            .push("non-zero data after the end of the tar archive".to_owned());
    }
    out.total_bytes = count.get();
    Ok(out)
}

/// A member's bytes as pass 2 read them.
pub struct MemberBytes {
    pub name: String,
    pub bytes: Bytes,
    pub sha256: String,
}

/// Pass 2: streams the bundle again and calls `f` with the bytes of each wanted member (the first regular
/// member of each wanted safe name), one at a time. A member over `max_entry` is refused as in [`scan`].
pub fn read_members<'a>(
    src: impl Into<Source<'a>>,
    limits: &Limits,
    wanted: &BTreeSet<String>,
    mut f: impl FnMut(MemberBytes),
) -> Result<(), BundleError> {
    let mut stream = Stream::open(src.into(), limits)?;
    let count = Rc::clone(&stream.count);
    let cap = stream.cap;
    let classify = |context: String, source: io::Error| -> BundleError {
        if count.get() > cap {
            BundleError::Cap(format!(
                "bundle refused: more than {cap} decompressed bytes (--max-total cap)"
            ))
        } else {
            BundleError::Stream { context, error: source }
        }
    };
    let mut done: BTreeSet<String> = BTreeSet::new();
    let entries = stream
        .archive
        .entries()
        .map_err(|e| classify("reading tar".to_owned(), e))?;
    for (index, item) in entries.enumerate() {
        if done.len() == wanted.len() {
            break;
        }
        let mut entry = item.map_err(|e| classify(format!("tar member #{}", index + 1), e))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let raw_name = entry.path_bytes().into_owned();
        if name_problem(&raw_name).is_some() {
            continue;
        }
        let name = String::from_utf8_lossy(&raw_name).into_owned();
        if !wanted.contains(&name) || done.contains(&name) {
            continue;
        }
        if entry.size() > limits.max_entry {
            return Err(entry_cap_error(&name, entry.size(), limits.max_entry));
        }
        let bytes = match read_capped(&mut entry, limits.max_entry) {
            Ok(Some(b)) => b,
            Ok(None) => return Err(entry_cap_error(&name, limits.max_entry + 1, limits.max_entry)),
            Err(e) => return Err(classify(format!("reading member {name:?}"), e)),
        };
        let sha256 = hex::encode(Sha256::digest(&bytes));
        done.insert(name.clone());
        f(MemberBytes { name, bytes: Bytes::from(bytes), sha256 });
    }
    Ok(())
}

/// Why inflating a `compressed: gzip` entry stopped early.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InflateError {
    #[error("inflated size exceeds the {cap}-byte --max-entry cap; only the first {cap} bytes are used")]
    Cap { cap: u64 },
    #[error("corrupt gzip after {inflated} inflated bytes: {message}")]
    Corrupt { inflated: u64, message: String },
}

/// Inflates a gzip entry (several gzip members are read as one stream) into at most `cap` bytes. On error,
/// returns the bytes inflated so far with the reason, so a torn rotated log still yields its head.
pub fn inflate_gzip(data: &[u8], cap: u64) -> (Vec<u8>, Option<InflateError>) {
    let mut out = Vec::new();
    let mut dec = MultiGzDecoder::new(data).take(cap.saturating_add(1));
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match dec.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let inflated = out.len() as u64;
                return (
                    out,
                    Some(InflateError::Corrupt {
                        inflated,
                        message: e.to_string(),
                    }),
                );
            }
        }
    }
    if out.len() as u64 > cap {
        out.truncate(usize::try_from(cap).unwrap_or(usize::MAX));
        return (out, Some(InflateError::Cap { cap }));
    }
    (out, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_names_are_named() {
        assert_eq!(name_problem(b"fs/var/log/syslog"), None);
        assert!(name_problem(b"../x").is_some());
        assert!(name_problem(b"fs/../../x").is_some());
        assert!(name_problem(b"/etc/passwd").is_some());
        assert!(name_problem(b"fs//x").is_some());
        assert!(name_problem(b"./fs/x").is_some());
        assert!(name_problem(b"fs/\xff").is_some());
        assert!(name_problem(b"").is_some());
        assert!(name_problem(b"fs/a\nb").is_some());
    }

    #[test]
    fn inflate_caps_and_keeps_head_of_corrupt_gzip() {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&[b'a'; 1000]).expect("write");
        let gz = enc.finish().expect("finish");
        assert_eq!(inflate_gzip(&gz, 5000), (vec![b'a'; 1000], None));
        let (head, err) = inflate_gzip(&gz, 10);
        assert_eq!(head.len(), 10);
        assert_eq!(err, Some(InflateError::Cap { cap: 10 }));
        let (_, err) = inflate_gzip(&gz[..gz.len() / 2], 5000);
        assert!(matches!(err, Some(InflateError::Corrupt { .. })), "{err:?}");
        let (none, err) = inflate_gzip(b"not gzip at all", 5000);
        assert!(none.is_empty());
        assert!(err.is_some());
    }
}
