//! The recorder's files: `<state>/watch/watch-<n>.jsonl`, one [`WatchRecord`] per line. A file is closed at
//! `file_size` and the next number opened; when all files together pass `max_size` the oldest are removed and
//! a `lost` record (`cap`) says how many records went. A restart continues the numbering.
//!
//! Durability: records are written with one `write` each (never half a line in a buffer); the file is
//! `fdatasync`ed at most once a second, at once for OOM and kmsg copies (what a crash must not lose), and on
//! rotation and stop.
//!
//! Faults: a write that fails (disk full) is cut back to the last whole line and counted; the next write that
//! works says how many went (`lost`, `disk`). At most once a second, and before every urgent record, the
//! current file is checked to still be at its path: a state directory removed under the recorder is made again
//! and the records of this run that went with it are counted in a `lost` record, instead of being written on
//! into a deleted file.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use coroner_schemas::watch::{Lost, WatchRecord};
use coroner_schemas::Utc;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("{context}: {source}")]
    Io { context: String, source: io::Error },
}

fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> StoreError {
    let context = context.into();
    move |source| StoreError::Io { context, source }
}

/// The number of a recorder file name (`watch-12.jsonl` → 12).
pub fn file_number(name: &str) -> Option<u64> {
    let n = name.strip_prefix("watch-")?.strip_suffix(".jsonl")?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse().ok()
}

pub struct Store {
    dir: PathBuf,
    file: File,
    /// Number and size of the file being written.
    n: u64,
    size: u64,
    file_size: u64,
    max_size: u64,
    last_sync: Instant,
    dirty: bool,
    /// Records written and lost since this run's start.
    pub records: u64,
    pub lost: u64,
    /// Records that could not be written (disk full…), to be reported once writing works again.
    unwritten: u64,
    unwritten_why: Option<String>,
    /// Records this run wrote into each file, by file number: what is lost if the file is removed under us.
    per_file: BTreeMap<u64, u64>,
    last_check: Instant,
}

impl Store {
    /// Opens `dir` (made if missing), appending to the newest file when it has room.
    pub fn open(dir: &Path, file_size: u64, max_size: u64) -> Result<Store, StoreError> {
        let file_size = file_size.max(4096);
        fs::create_dir_all(dir).map_err(io_err(format!("creating {}", dir.display())))?;
        let files = list(dir).map_err(io_err(format!("listing {}", dir.display())))?;
        let (n, size) = match files.last() {
            Some(&(n, size)) if size < file_size => (n, size),
            Some(&(n, _)) => (n + 1, 0),
            None => (1, 0),
        };
        let file = open_append(dir, n)?;
        Ok(Store {
            dir: dir.to_owned(),
            file,
            n,
            size,
            file_size,
            max_size: max_size.max(2 * file_size),
            last_sync: Instant::now(),
            dirty: false,
            records: 0,
            lost: 0,
            unwritten: 0,
            unwritten_why: None,
            per_file: BTreeMap::new(),
            last_check: Instant::now(),
        })
    }

    /// The file being written.
    pub fn current(&self) -> PathBuf {
        path_of(&self.dir, self.n)
    }

    /// Writes one record; `urgent` syncs it to disk at once. A failed write is counted and reported in a
    /// `lost` record (`disk`) by the next write that succeeds; it never stops the recorder.
    pub fn write(&mut self, rec: &WatchRecord, urgent: bool) {
        if urgent || self.last_check.elapsed() >= Duration::from_secs(1) {
            self.check_in_place();
        }
        if self.unwritten > 0 {
            let lost = WatchRecord::Lost(Lost {
                at: now(),
                what: "disk".to_owned(),
                count: self.unwritten,
                detail: format!("records not written: {}", self.unwritten_why.take().unwrap_or_default()),
            });
            if self.write_line(&lost).is_ok() {
                self.unwritten = 0;
            }
        }
        match self.write_line(rec) {
            Ok(()) => self.records += 1,
            Err(e) => {
                if self.unwritten == 0 {
                    // Once per run of failures: the SRE watching the unit's log learns it now, not at stop.
                    eprintln!(
                        "coroner-collect watch: cannot write to {}: {e}; counting the records lost until writing works again",
                        self.current().display()
                    );
                }
                self.unwritten += 1;
                self.lost += 1;
                self.unwritten_why = Some(e.to_string());
            }
        }
        if urgent || self.last_sync.elapsed() >= Duration::from_secs(1) {
            self.sync();
        }
    }

    fn write_line(&mut self, rec: &WatchRecord) -> io::Result<()> {
        let mut line = serde_json::to_vec(rec).map_err(io::Error::other)?;
        line.push(b'\n');
        if self.size > 0 && self.size + line.len() as u64 > self.file_size {
            self.rotate()?;
        }
        if let Err(e) = self.file.write_all(&line) {
            // A short write (disk full) leaves part of a line: cut it off, so the next record starts a line.
            let _ = self.file.set_len(self.size);
            return Err(e);
        }
        self.size += line.len() as u64;
        self.dirty = true;
        *self.per_file.entry(self.n).or_default() += 1;
        Ok(())
    }

    /// Whether the file being written is still at its path (not removed or replaced under the recorder).
    fn in_place(&self) -> bool {
        let (Ok(at_path), Ok(open)) = (fs::symlink_metadata(self.current()), self.file.metadata()) else {
            return false;
        };
        use std::os::unix::fs::MetadataExt;
        (at_path.dev(), at_path.ino()) == (open.dev(), open.ino())
    }

    /// Makes the directory and file again when they were removed under the recorder, and records what went
    /// with them: this run's records in every file that is gone (earlier runs' records are not counted here).
    /// Called by the recorder once a second and before its stop record, besides the writes' own checks.
    pub fn check_in_place(&mut self) {
        self.last_check = Instant::now();
        if self.in_place() {
            return;
        }
        let gone: Vec<u64> = self.per_file.keys().copied().filter(|&n| !path_of(&self.dir, n).exists()).collect();
        let count: u64 = gone.iter().filter_map(|n| self.per_file.remove(n)).sum();
        let names: Vec<String> = gone.iter().map(|n| format!("watch-{n}.jsonl")).collect();
        let reopened = fs::create_dir_all(&self.dir)
            .map_err(|e| e.to_string())
            .and_then(|()| open_append(&self.dir, self.n).map_err(|e| e.to_string()));
        match reopened {
            Ok(f) => {
                self.file = f;
                self.size = self.file.metadata().map(|m| m.len()).unwrap_or(0);
                self.dirty = false;
                eprintln!(
                    "coroner-collect watch: {} was removed under the recorder ({} records of this run with it); writing to it again",
                    self.dir.display(),
                    count
                );
                self.lost += count;
                let rec = WatchRecord::Lost(Lost {
                    at: now(),
                    what: "disk".to_owned(),
                    count,
                    detail: format!(
                        "the recorder's files were removed under it ({}); made {} again; {} records written and {} lost since this run started",
                        if names.is_empty() { "none of this run's".to_owned() } else { names.join(", ") },
                        self.dir.display(),
                        self.records,
                        self.lost
                    ),
                });
                match self.write_line(&rec) {
                    Ok(()) => self.records += 1,
                    Err(e) => {
                        self.unwritten += 1;
                        self.unwritten_why = Some(format!("after its files were removed: {e}"));
                    }
                }
            }
            // Cannot make it again (its parent is gone too, or read-only): writes fail and are counted.
            Err(e) => {
                eprintln!("coroner-collect watch: {} was removed under the recorder and cannot be made again: {e}", self.dir.display());
                self.lost += count;
                self.unwritten += count;
                self.unwritten_why = Some(format!("the recorder's files were removed under it: {e}"));
            }
        }
    }

    /// Syncs the current file if anything was written since the last sync.
    pub fn sync(&mut self) {
        if self.dirty {
            let _ = self.file.sync_data();
            self.dirty = false;
        }
        self.last_sync = Instant::now();
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.sync();
        let next = open_append(&self.dir, self.n + 1).map_err(|StoreError::Io { source, .. }| source)?;
        self.file = next;
        self.n += 1;
        self.size = 0;
        self.enforce_cap()
    }

    /// Removes the oldest files (never the current one) until the total is within `max_size`, then records
    /// what went.
    fn enforce_cap(&mut self) -> io::Result<()> {
        let files = list(&self.dir)?;
        let mut total: u64 = files.iter().map(|f| f.1).sum();
        let (mut removed, mut records, mut names) = (0u64, 0u64, Vec::new());
        for &(n, size) in &files {
            if total <= self.max_size || n >= self.n {
                break;
            }
            let p = path_of(&self.dir, n);
            let lines = fs::read(&p).map(|b| b.iter().filter(|&&c| c == b'\n').count() as u64).unwrap_or(0);
            fs::remove_file(&p)?;
            self.per_file.remove(&n);
            total -= size;
            removed += size;
            records += lines;
            names.push(format!("watch-{n}.jsonl"));
        }
        if !names.is_empty() {
            self.lost += records;
            // The removed files may have held earlier `lost` records: the run's total is said here again.
            let rec = WatchRecord::Lost(Lost {
                at: now(),
                what: "cap".to_owned(),
                count: records,
                detail: format!(
                    "removed {} ({removed} bytes) to stay within {} bytes; {} records written and {} lost since this run started",
                    names.join(", "),
                    self.max_size,
                    self.records,
                    self.lost
                ),
            });
            self.write_line(&rec)?;
            self.records += 1;
        }
        Ok(())
    }
}

fn path_of(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("watch-{n}.jsonl"))
}

fn open_append(dir: &Path, n: u64) -> Result<File, StoreError> {
    use std::os::unix::fs::OpenOptionsExt;
    let p = path_of(dir, n);
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&p)
        .map_err(io_err(format!("opening {}", p.display())))
}

/// The recorder's files, by number: (n, size).
fn list(dir: &Path) -> io::Result<Vec<(u64, u64)>> {
    let mut v = Vec::new();
    for e in fs::read_dir(dir)? {
        let e = e?;
        let Some(n) = e.file_name().to_str().and_then(file_number) else { continue };
        let md = e.metadata()?;
        if md.is_file() {
            v.push((n, md.len()));
        }
    }
    v.sort_unstable();
    Ok(v)
}

fn now() -> Utc {
    Utc(time::OffsetDateTime::now_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use coroner_schemas::watch::WatchStop;

    fn stop(i: u64) -> WatchRecord {
        WatchRecord::Stop(WatchStop { at: now(), reason: format!("test {i}"), records: i, lost: 0 })
    }

    fn records_in(dir: &Path) -> Vec<WatchRecord> {
        let mut out = Vec::new();
        for (n, _) in list(dir).expect("list") {
            for l in fs::read_to_string(path_of(dir, n)).expect("read").lines() {
                out.push(serde_json::from_str(l).expect("a whole record per line"));
            }
        }
        out
    }

    #[test]
    fn rotates_caps_and_says_what_the_cap_removed() {
        let d = tempfile::tempdir().expect("tempdir");
        let mut s = Store::open(d.path(), 4096, 3 * 4096).expect("open");
        for i in 0..400 {
            s.write(&stop(i), false);
        }
        let files = list(d.path()).expect("list");
        let total: u64 = files.iter().map(|f| f.1).sum();
        assert!(files.len() >= 2 && files[0].0 > 1, "old files removed: {files:?}");
        assert!(total <= 3 * 4096 + 4096, "within the cap: {total}");
        let recs = records_in(d.path());
        let lost: u64 = recs.iter().filter_map(|r| match r { WatchRecord::Lost(l) if l.what == "cap" => Some(l.count), _ => None }).sum();
        assert!(lost > 0 && s.lost >= lost);
        // Every record written is still there or counted as removed (`lost` records too, once removed).
        assert_eq!(s.records, recs.len() as u64 + s.lost);
    }

    #[test]
    fn a_restart_continues_the_numbering() {
        let d = tempfile::tempdir().expect("tempdir");
        {
            let mut s = Store::open(d.path(), 4096, 1 << 20).expect("open");
            for i in 0..100 {
                s.write(&stop(i), false);
            }
            assert!(s.n > 1);
        }
        let before = list(d.path()).expect("list");
        let s = Store::open(d.path(), 4096, 1 << 20).expect("reopen");
        let last = before.last().expect("files").0;
        assert!(s.n == last || s.n == last + 1);
        assert!(list(d.path()).expect("list").iter().all(|f| before.iter().any(|b| b.0 == f.0) || f.0 == last + 1));
    }

    #[test]
    fn names() {
        assert_eq!(file_number("watch-7.jsonl"), Some(7));
        assert_eq!(file_number("watch-.jsonl"), None);
        assert_eq!(file_number("watch-7.jsonl.bak"), None);
    }
}
