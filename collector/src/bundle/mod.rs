//! Streaming tar + gzip + sha256 writer, caps, atomic rename, manifest and signature.
//!
//! [`write_bundle`] takes the acquisition plan in order and writes one plain `tar.gz`:
//! every item's bytes as they are read (see [`writer`]), then `manifest.json` (entries sorted by path),
//! `manifest.json.sig` (SSHSIG over the manifest's exact bytes) and `signer.pub` as the last members.
//! It writes under a temporary name (`.coroner-*.tmp`, mode 0600) in the output directory, fsyncs, and
//! renames to `coroner-<host>-<YYYYMMDDTHHMMSSZ>.tar.gz` only when complete; on any output error the temp
//! file is removed. Beside the bundle go `<bundle>.sha256` (for `sha256sum -c`) and `<bundle>.allowed_signers`
//! (for `ssh-keygen -Y verify -f … -I coroner-collect -n coroner`).
//!
//! With `--encrypt-to` ([`recipients`]) the gzip stream goes through age encryption on its way to the temp file,
//! which becomes `….tar.gz.age`, a standard age file: no plaintext byte reaches the disk. The side files are
//! then named after the `.age` file and `.sha256` hashes its ciphertext, the bytes that are on disk; the
//! manifest inside keeps the plain name (`bundle_name`), which `age -d` restores.

pub mod capped;
pub mod facts;
pub mod hostfs;
pub mod recipients;
pub mod redact;
pub mod sign;
pub mod writer;

use std::ffi::CString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicPtr, Ordering};

use coroner_schemas::layout;
use coroner_schemas::manifest::{ClockSample, CollectorInfo, HostFacts, Manifest, Problem};
use coroner_schemas::{Utc, SCHEMA_VERSION};
use sha2::{Digest, Sha256};

use crate::acquire::{Ctx, Item};
use recipients::Recipient;
use sign::{SignError, Signer};
use writer::{Counts, Exclusions, Limits, OutputError, TarWriter};

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error(transparent)]
    Sign(#[from] SignError),
    #[error("{context}: {source}")]
    Io { context: String, source: io::Error },
    #[error("serialising the manifest: {0}")]
    Manifest(serde_json::Error),
    #[error("age encryption to the --encrypt-to recipients: {0}")]
    Encrypt(age::EncryptError),
    #[error(transparent)]
    Redact(#[from] redact::PatternError),
}

fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> BundleError {
    let context = context.into();
    move |source| BundleError::Io { context, source }
}

/// Everything about one run that goes into the manifest besides the entries.
pub struct Request<'a> {
    pub ctx: &'a Ctx,
    pub out_dir: PathBuf,
    pub started: Utc,
    pub argv: Vec<String>,
    pub signer: &'a Signer,
    pub host: HostFacts,
    pub clock: Option<ClockSample>,
    /// Problems found before writing (not root, a source not applicable).
    pub problems: Vec<Problem>,
    pub uid: u32,
    pub euid: u32,
    /// `--encrypt-to`: when not empty, the bundle is written age-encrypted to these.
    pub encrypt_to: &'a [Recipient],
}

/// A finished bundle.
pub struct Written {
    /// The file written: the bundle, or with `--encrypt-to` its age encryption (`….tar.gz.age`).
    pub path: PathBuf,
    pub manifest: Manifest,
    /// Size of the file written.
    pub bundle_bytes: u64,
    pub sha256: String,
    /// Side files that could not be written (the bundle itself is complete).
    pub warnings: Vec<String>,
}

/// `YYYYMMDDTHHMMSSZ`.
pub fn stamp(t: Utc) -> String {
    let t = t.0;
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The temp file's path for the signal handler (a leaked C string; null when there is none).
static TEMP_FOR_SIGNALS: AtomicPtr<libc::c_char> = AtomicPtr::new(std::ptr::null_mut());

extern "C" fn remove_temp_and_die(sig: libc::c_int) {
    let p = TEMP_FOR_SIGNALS.swap(std::ptr::null_mut(), Ordering::SeqCst);
    // SAFETY: unlink, signal and raise are async-signal-safe; p is null or the leaked C string set below.
    unsafe {
        if !p.is_null() {
            libc::unlink(p);
        }
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}

/// Frees a C string taken out of [`TEMP_FOR_SIGNALS`] (null: nothing to free).
fn free_leaked(p: *mut libc::c_char) {
    if !p.is_null() {
        // SAFETY: every non-null value stored there came from CString::into_raw, and the swap that returned p
        // took it out, so the handler can no longer see it and nobody else frees it.
        drop(unsafe { CString::from_raw(p) });
    }
}

/// Removes the temp file unless disarmed: on an error return, a panic that unwinds, or SIGINT/SIGTERM/SIGHUP
/// (SIGKILL cannot be caught: then the temp name is left behind, never the final one).
struct TempGuard {
    path: PathBuf,
    armed: bool,
}

impl TempGuard {
    fn new(path: PathBuf) -> TempGuard {
        if let Ok(c) = CString::new(path.as_os_str().as_bytes()) {
            free_leaked(TEMP_FOR_SIGNALS.swap(c.into_raw(), Ordering::SeqCst));
            let handler = remove_temp_and_die as extern "C" fn(libc::c_int);
            for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                // SAFETY: installs an async-signal-safe handler.
                unsafe { libc::signal(sig, handler as libc::sighandler_t) };
            }
        }
        TempGuard { path, armed: true }
    }

    /// The file was renamed away (or removed): nothing left for the handler to remove.
    fn disarm(&mut self) {
        self.armed = false;
        free_leaked(TEMP_FOR_SIGNALS.swap(std::ptr::null_mut(), Ordering::SeqCst));
    }
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if self.armed {
            let _ = fs::remove_file(&self.path);
            self.disarm();
        }
    }
}

/// Hashes what passes through to the file and counts it.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The bundle file, written with its dirty pages bounded. Every [`DIRTY_WINDOW`] bytes the window just written
/// is handed to writeback and the one before it is waited for and dropped from the page cache. Without this, a
/// collector in a small memory cgroup (v1 charges dirty pages to the group and cannot write them back itself)
/// can be OOM-killed by its own output while the disk is busy; with it, about two windows are dirty at most.
/// Both calls are advice: where a file system does not support them, nothing changes.
struct BoundedDirty {
    file: File,
    written: u64,
    window_start: u64,
    /// The window whose writeback was started last: `(offset, length)`.
    in_flight: Option<(u64, u64)>,
}

const DIRTY_WINDOW: u64 = 8 << 20;

impl BoundedDirty {
    fn new(file: File) -> BoundedDirty {
        BoundedDirty { file, written: 0, window_start: 0, in_flight: None }
    }
}

impl Write for BoundedDirty {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        if self.written - self.window_start >= DIRTY_WINDOW {
            use std::os::unix::io::AsRawFd;
            let fd = self.file.as_raw_fd();
            let window = (self.window_start, self.written - self.window_start);
            let off = |v: u64| libc::off64_t::try_from(v).unwrap_or(libc::off64_t::MAX);
            let previous = self.in_flight.replace(window);
            // SAFETY: sync_file_range has no safe wrapper (not in rustix); it only starts or waits for write-back
            // of a range of a descriptor this struct owns.
            unsafe {
                libc::sync_file_range(fd, off(window.0), off(window.1), libc::SYNC_FILE_RANGE_WRITE);
                if let Some((start, len)) = previous {
                    let all = libc::SYNC_FILE_RANGE_WAIT_BEFORE | libc::SYNC_FILE_RANGE_WRITE | libc::SYNC_FILE_RANGE_WAIT_AFTER;
                    libc::sync_file_range(fd, off(start), off(len), all);
                }
            }
            if let Some((start, len)) = previous {
                let _ = rustix::fs::fadvise(&self.file, start, std::num::NonZeroU64::new(len), rustix::fs::Advice::DontNeed);
            }
            self.window_start = self.written;
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// The bytes of the file written, hashed as they go to disk.
type FileOut = HashingWriter<BufWriter<BoundedDirty>>;

/// Where the `tar.gz` stream goes: to the file as it is, or through age encryption (in memory, a 64 KiB chunk
/// at a time) so that only ciphertext reaches the file.
enum Sink {
    Plain(FileOut),
    Age(age::stream::StreamWriter<FileOut>),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Plain(w) => w.write(buf),
            Sink::Age(w) => w.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Plain(w) => w.flush(),
            Sink::Age(w) => w.flush(),
        }
    }
}

impl Sink {
    /// Ends the age stream (its last chunk is marked, so a cut file never decrypts) and returns the file side.
    fn finish(self) -> io::Result<FileOut> {
        match self {
            Sink::Plain(w) => Ok(w),
            Sink::Age(w) => w.finish(),
        }
    }
}

/// The bundle's name (`….tar.gz`, as the manifest records it) and the file's (the same, or `….tar.gz.age`), the
/// first `-N` variant whose file does not exist yet.
fn unique_name(dir: &Path, host: &str, started: Utc, encrypted: bool) -> (String, String) {
    let base = format!("coroner-{}-{}", facts::file_safe(host), stamp(started));
    let with = |name: String| {
        let file = if encrypted { format!("{name}.age") } else { name.clone() };
        (name, file)
    };
    let mut names = with(format!("{base}.tar.gz"));
    let mut n = 2;
    while dir.join(&names.1).exists() {
        names = with(format!("{base}-{n}.tar.gz"));
        n += 1;
    }
    names
}

/// Renames without replacing an existing file (`renameat2(RENAME_NOREPLACE)`, plain rename where the file
/// system does not support it).
fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    match renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
        Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => fs::rename(from, to),
        r => Ok(r?),
    }
}

/// Host path of the output directory when it lies under the collection root (so it is never collected).
fn out_dir_host_path(ctx: &Ctx, out_dir: &Path) -> Option<String> {
    let root = fs::canonicalize(&ctx.root).ok()?;
    let out = fs::canonicalize(out_dir).ok()?;
    let rel = out.strip_prefix(&root).ok()?;
    Some(format!("/{}", rel.to_string_lossy()))
}

/// Writes the bundle for `items`. `progress` is called after each item with the counts so far and the item's
/// source.
pub fn write_bundle(
    req: Request<'_>,
    items: &[Item],
    progress: &mut dyn FnMut(Counts, usize, &str),
) -> Result<Written, BundleError> {
    let ctx = req.ctx;
    fs::create_dir_all(&req.out_dir).map_err(io_err(format!("creating {}", req.out_dir.display())))?;
    let encrypted = !req.encrypt_to.is_empty();
    let (name, file_name) = unique_name(&req.out_dir, &req.host.hostname, req.started, encrypted);
    let final_path = req.out_dir.join(&file_name);
    let tmp_path = req.out_dir.join(format!(
        ".coroner-{}-{}.tmp",
        std::process::id(),
        req.started.unix_micros()
    ));
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_CLOEXEC)
        .open(&tmp_path)
        .map_err(io_err(format!("creating {}", tmp_path.display())))?;
    let mut guard = TempGuard::new(tmp_path.clone());

    let file_out = HashingWriter {
        inner: BufWriter::with_capacity(256 * 1024, BoundedDirty::new(file)),
        hasher: Sha256::new(),
        bytes: 0,
    };
    let out = if encrypted {
        let recipients = req.encrypt_to.iter().map(|r| r.as_ref() as &dyn age::Recipient);
        let encryptor = age::Encryptor::with_recipients(recipients).map_err(BundleError::Encrypt)?;
        Sink::Age(encryptor.wrap_output(file_out).map_err(io_err("writing the age header"))?)
    } else {
        Sink::Plain(file_out)
    };
    let mut host_dirs = Vec::new();
    if let Some(d) = out_dir_host_path(ctx, &req.out_dir) {
        host_dirs.push(d);
    }
    let limits = Limits {
        max_file_bytes: ctx.opts.max_file_bytes,
        max_total_bytes: ctx.opts.max_total_bytes,
    };
    let excl = Exclusions {
        globs: ctx.excludes.clone(),
        host_dirs,
    };
    let mut w = TarWriter::new(out, ctx.root.clone(), &ctx.accounts, limits, excl, req.started)
        .map_err(io_err(format!("opening the collection root {}", ctx.root.display())))?;
    if ctx.opts.redact {
        w.redact_with(redact::Redactor::new()?, req.out_dir.clone());
    }
    for (i, item) in items.iter().enumerate() {
        w.add(item)?;
        let src = match item {
            Item::File(f) => f.path.as_str(),
            Item::Capture(c) => c.source.as_str(),
            Item::Absent(a) => a.source.as_str(),
        };
        progress(w.counts(), i + 1, src);
    }

    let mut entries = std::mem::take(&mut w.entries);
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    let mut problems = req.problems;
    problems.append(&mut w.problems);
    let manifest = Manifest {
        schema_version: SCHEMA_VERSION,
        bundle_name: name.clone(),
        host: req.host,
        collector: CollectorInfo {
            name: "coroner-collect".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            started: req.started,
            finished: Utc(time::OffsetDateTime::now_utc()),
            argv: req.argv,
            options: ctx.opts.clone(),
            uid: req.uid,
            euid: req.euid,
            live: ctx.live,
            signer_fingerprint: req.signer.fingerprint(),
            ephemeral_key: req.signer.ephemeral,
        },
        clock: req.clock,
        entries,
        problems,
    };
    let mut json = serde_json::to_vec_pretty(&manifest).map_err(BundleError::Manifest)?;
    json.push(b'\n');
    let sig = req.signer.sign(&json)?;
    let public = req.signer.public_line()?;
    w.add_unlisted(layout::MANIFEST, &json)?;
    w.add_unlisted(layout::SIGNATURE, sig.as_bytes())?;
    w.add_unlisted(layout::SIGNER_PUB, public.as_bytes())?;
    let out = w.finish()?.finish().map_err(io_err("ending the age encryption"))?;
    let sha256 = hex::encode(out.hasher.finalize());
    let bundle_bytes = out.bytes;
    let file = out
        .inner
        .into_inner()
        .map_err(|e| io_err("flushing the bundle")(e.into_error()))?
        .file;
    file.sync_all().map_err(io_err("fsync of the bundle"))?;
    drop(file);
    rename_noreplace(&tmp_path, &final_path).map_err(io_err(format!("renaming to {}", final_path.display())))?;
    guard.disarm();
    if let Ok(d) = File::open(&req.out_dir) {
        let _ = d.sync_all();
    }

    let side = |suffix: &str, text: String| -> Result<(), BundleError> {
        let p = req.out_dir.join(format!("{file_name}{suffix}"));
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o644)
            .open(&p)
            .map_err(io_err(format!("creating {}", p.display())))?;
        f.write_all(text.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(io_err(format!("writing {}", p.display())))
    };
    let mut warnings = Vec::new();
    if let Err(e) = side(".sha256", format!("{sha256}  {file_name}\n")) {
        warnings.push(e.to_string());
    }
    let allowed = req.signer.allowed_signers_line()?;
    if let Err(e) = side(".allowed_signers", allowed) {
        warnings.push(e.to_string());
    }
    Ok(Written {
        path: final_path,
        manifest,
        bundle_bytes,
        sha256,
        warnings,
    })
}
