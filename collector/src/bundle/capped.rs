//! Reading one file for the archive: exactly the planned number of bytes, whatever the file does meanwhile.
//!
//! The tar header is written before the data, so its size must be known first: it comes from one `fstat`
//! (and the caps). [`Capped`] then yields exactly that many bytes: a file that shrank (or failed to read
//! part-way) is padded with zeros, a file that grew is cut; both are recorded, never passed on to the tar
//! writer as an error or a short read. Every yielded byte is hashed on the way, so the manifest's sha256 is
//! of exactly the stored bytes.
//!
//! [`PosReader`] reads with `pread` from a position and, for sparse files, answers holes with zeros found by
//! `SEEK_DATA`/`SEEK_HOLE` instead of reading them from the file system.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;

use coroner_schemas::manifest::Kept;
use rustix::fs::{seek, SeekFrom};
use rustix::io::Errno;
use sha2::{Digest, Sha256};

/// Which bytes of a file of `size` bytes to store under a cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Offset of the first stored byte.
    pub start: u64,
    /// Number of bytes stored.
    pub len: u64,
    /// Whether the cap cut the file.
    pub truncated: bool,
}

impl Window {
    /// The whole file when it fits `cap`; else its first (`Head`) or last (`Tail`) `cap` bytes.
    pub fn plan(size: u64, cap: u64, keep: Kept) -> Window {
        if size <= cap {
            return Window {
                start: 0,
                len: size,
                truncated: false,
            };
        }
        match keep {
            Kept::Head => Window {
                start: 0,
                len: cap,
                truncated: true,
            },
            Kept::Tail => Window {
                start: size - cap,
                len: cap,
                truncated: true,
            },
        }
    }
}

/// Where the data of a sparse file ends within its first `limit` bytes: the end of its last data extent
/// before `limit` (0 when it is all hole there). `None` when the file system cannot say (no `SEEK_DATA`).
pub fn data_end_within(file: &File, limit: u64) -> Option<u64> {
    let mut pos = 0u64;
    let mut end = 0u64;
    while pos < limit {
        i64::try_from(pos).ok()?;
        let data = match seek(file, SeekFrom::Data(pos)) {
            Ok(d) => d,
            Err(Errno::NXIO) => break,
            Err(_) => return None,
        };
        if data >= limit {
            break;
        }
        let hole = seek(file, SeekFrom::Hole(data)).ok()?;
        end = hole.min(limit);
        if hole <= data {
            return None;
        }
        pos = hole;
    }
    Some(end)
}

/// Reads a file from a position with `pread`, never moving a shared offset. With `sparse`, holes are
/// answered with zeros without reading them (found with `SEEK_DATA`; any error there falls back to reading).
pub struct PosReader<'f> {
    file: &'f File,
    pos: u64,
    sparse: bool,
    /// Known to be data (not a hole) up to this offset.
    data_until: u64,
}

impl<'f> PosReader<'f> {
    pub fn new(file: &'f File, start: u64, sparse: bool) -> PosReader<'f> {
        PosReader {
            file,
            pos: start,
            sparse,
            data_until: 0,
        }
    }

    /// Zeros to answer at `self.pos` when it lies in a hole: `Some(n)` bytes of hole, `None` for data (or
    /// unknown).
    fn hole_len(&mut self) -> Option<u64> {
        if !self.sparse || self.pos < self.data_until {
            return None;
        }
        i64::try_from(self.pos).ok()?;
        // Seeking moves the file offset, which this reader does not use (it reads with pread).
        let data = match seek(self.file, SeekFrom::Data(self.pos)) {
            Ok(data) => data,
            Err(Errno::NXIO) => {
                // No data at or after pos: a hole up to the end of the file as it is now.
                let size = self.file.metadata().ok()?.len();
                return (size > self.pos).then(|| size - self.pos);
            }
            Err(_) => {
                self.sparse = false;
                return None;
            }
        };
        if data > self.pos {
            return Some(data - self.pos);
        }
        self.data_until = match seek(self.file, SeekFrom::Hole(self.pos)) {
            Ok(hole) if hole > self.pos => hole,
            _ => self.pos.saturating_add(1 << 20),
        };
        None
    }
}

impl Read for PosReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if let Some(hole) = self.hole_len() {
            let n = buf.len().min(usize::try_from(hole).unwrap_or(usize::MAX));
            buf[..n].fill(0);
            self.pos += n as u64;
            return Ok(n);
        }
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// What happened while [`Capped`] read its source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadOutcome {
    /// Bytes yielded (always the planned length once drained).
    pub stored: u64,
    /// Real bytes read from the source (less than `stored` when it shrank or failed).
    pub bytes_read: u64,
    /// The source ended before the planned length.
    pub shrank: bool,
    /// The source had more bytes after the planned length (only checked when asked).
    pub grew: bool,
    /// A read error part-way; the rest was padded with zeros.
    pub error: Option<String>,
    /// sha256 of the yielded bytes, lower-case hex.
    pub sha256: String,
}

/// Yields exactly `len` bytes: the source's, then zeros if it ends early or fails. Never returns an error.
pub struct Capped<R> {
    inner: R,
    len: u64,
    yielded: u64,
    real: u64,
    ended: bool,
    error: Option<io::Error>,
    hasher: Sha256,
}

impl<R: Read> Capped<R> {
    pub fn new(inner: R, len: u64) -> Capped<R> {
        Capped {
            inner,
            len,
            yielded: 0,
            real: 0,
            ended: false,
            error: None,
            hasher: Sha256::new(),
        }
    }

    /// Drains what was not read yet (so the outcome is complete even if the consumer stopped early), then,
    /// with `check_growth`, tries to read one more byte from the source to see whether it grew.
    pub fn finish(mut self, check_growth: bool) -> ReadOutcome {
        let mut sink = [0u8; 8192];
        while self.yielded < self.len {
            match self.read(&mut sink) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        let mut grew = false;
        if check_growth && !self.ended && self.error.is_none() {
            let mut one = [0u8; 1];
            loop {
                match self.inner.read(&mut one) {
                    Ok(n) => {
                        grew = n > 0;
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                }
            }
        }
        ReadOutcome {
            stored: self.yielded,
            bytes_read: self.real,
            shrank: self.ended && self.error.is_none(),
            grew,
            error: self.error.map(|e| e.to_string()),
            sha256: hex::encode(self.hasher.finalize()),
        }
    }
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.len - self.yielded;
        if left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = if self.ended || self.error.is_some() {
            buf[..want].fill(0);
            want
        } else {
            loop {
                match self.inner.read(&mut buf[..want]) {
                    Ok(0) => {
                        self.ended = true;
                        buf[..want].fill(0);
                        break want;
                    }
                    Ok(n) => {
                        self.real += n as u64;
                        break n;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        self.error = Some(e);
                        buf[..want].fill(0);
                        break want;
                    }
                }
            }
        };
        self.hasher.update(&buf[..n]);
        self.yielded += n as u64;
        Ok(n)
    }
}

/// What followed the bytes [`read_pseudo`] kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum After {
    /// The end: the bytes kept are all there was.
    End,
    /// More than the cap: the head was kept.
    OverCap,
    /// The read ended under the cap, then more appeared: the source grew while read (growth not kept).
    Grew,
}

/// Reads a pseudo-file (stat size 0: `/proc`, `/sys`, or a regular file still empty at open) into memory, at
/// most `cap` bytes. Returns the bytes and what followed them.
pub fn read_pseudo(mut r: impl Read, cap: u64) -> io::Result<(Vec<u8>, After)> {
    let mut data = Vec::new();
    (&mut r).take(cap).read_to_end(&mut data)?;
    let mut one = [0u8; 1];
    let more = loop {
        match r.read(&mut one) {
            Ok(n) => break n > 0,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    };
    // Only a read that filled the cap can have stopped short of the end; under it, a later byte is growth.
    let after = match (more, data.len() as u64 >= cap) {
        (false, _) => After::End,
        (true, true) => After::OverCap,
        (true, false) => After::Grew,
    };
    Ok((data, after))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_with(bytes: &[u8]) -> (tempfile::NamedTempFile, File) {
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        f.write_all(bytes).expect("write");
        f.flush().expect("flush");
        let r = File::open(f.path()).expect("open");
        (f, r)
    }

    fn sha(b: &[u8]) -> String {
        hex::encode(Sha256::digest(b))
    }

    fn drain<R: Read>(mut c: Capped<R>) -> (Vec<u8>, Capped<R>) {
        let mut out = Vec::new();
        c.read_to_end(&mut out).expect("Capped never fails");
        (out, c)
    }

    #[test]
    fn window_keeps_tail_for_logs_and_head_for_cores() {
        assert_eq!(
            Window::plan(10, 100, Kept::Tail),
            Window {
                start: 0,
                len: 10,
                truncated: false
            }
        );
        assert_eq!(
            Window::plan(100, 100, Kept::Tail),
            Window {
                start: 0,
                len: 100,
                truncated: false
            }
        );
        assert_eq!(
            Window::plan(250, 100, Kept::Tail),
            Window {
                start: 150,
                len: 100,
                truncated: true
            }
        );
        assert_eq!(
            Window::plan(250, 100, Kept::Head),
            Window {
                start: 0,
                len: 100,
                truncated: true
            }
        );
        assert_eq!(
            Window::plan(5, 0, Kept::Head),
            Window {
                start: 0,
                len: 0,
                truncated: true
            }
        );
    }

    #[test]
    fn whole_file_is_copied_and_hashed() {
        let (_t, f) = file_with(b"line one\nline two\n");
        let (out, c) = drain(Capped::new(PosReader::new(&f, 0, false), 18));
        assert_eq!(out, b"line one\nline two\n");
        let o = c.finish(true);
        assert_eq!(
            o,
            ReadOutcome {
                stored: 18,
                bytes_read: 18,
                shrank: false,
                grew: false,
                error: None,
                sha256: sha(b"line one\nline two\n")
            }
        );
    }

    #[test]
    fn tail_window_reads_the_recent_end() {
        let (_t, f) = file_with(b"old old old\nnew\n");
        let w = Window::plan(16, 4, Kept::Tail);
        let (out, c) = drain(Capped::new(PosReader::new(&f, w.start, false), w.len));
        assert_eq!(out, b"new\n");
        let o = c.finish(true);
        assert!(!o.grew && !o.shrank);
    }

    #[test]
    fn head_window_does_not_report_the_rest_as_growth() {
        let (_t, f) = file_with(b"\x7fELF....rest of core");
        let w = Window::plan(20, 8, Kept::Head);
        let (out, c) = drain(Capped::new(PosReader::new(&f, w.start, false), w.len));
        assert_eq!(out, b"\x7fELF....");
        // The writer does not check growth for a head cut; with the check the rest would read as growth.
        assert!(!c.finish(false).grew);
    }

    #[test]
    fn a_file_that_shrank_is_padded_with_zeros_and_marked() {
        // Stat said 10 bytes; only 4 are left when it is read.
        let (_t, f) = file_with(b"abcd");
        let (out, c) = drain(Capped::new(PosReader::new(&f, 0, false), 10));
        assert_eq!(out, b"abcd\0\0\0\0\0\0");
        let o = c.finish(true);
        assert_eq!((o.stored, o.bytes_read, o.shrank, o.grew), (10, 4, true, false));
        assert_eq!(o.sha256, sha(b"abcd\0\0\0\0\0\0"));
    }

    #[test]
    fn a_file_that_grew_is_cut_at_the_stat_size_and_marked() {
        // Stat said 4 bytes; the writer appended more before the read.
        let (_t, f) = file_with(b"abcdEFGH");
        let (out, c) = drain(Capped::new(PosReader::new(&f, 0, false), 4));
        assert_eq!(out, b"abcd");
        let o = c.finish(true);
        assert_eq!((o.stored, o.bytes_read, o.shrank, o.grew), (4, 4, false, true));
    }

    struct FailAfter(usize);
    impl Read for FailAfter {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0 == 0 {
                return Err(io::Error::from_raw_os_error(libc::EIO));
            }
            let n = buf.len().min(self.0);
            buf[..n].fill(b'x');
            self.0 -= n;
            Ok(n)
        }
    }

    #[test]
    fn a_read_error_is_padded_recorded_and_never_returned() {
        let (out, c) = drain(Capped::new(FailAfter(3), 6));
        assert_eq!(out, b"xxx\0\0\0");
        let o = c.finish(true);
        assert_eq!(o.bytes_read, 3);
        assert!(!o.shrank, "an error is not a shrink");
        assert!(
            o.error.as_deref().unwrap_or_default().contains("Input/output error"),
            "{o:?}"
        );
    }

    #[test]
    fn finish_drains_what_the_consumer_left() {
        let (_t, f) = file_with(b"0123456789");
        let mut c = Capped::new(PosReader::new(&f, 0, false), 10);
        let mut two = [0u8; 2];
        c.read_exact(&mut two).expect("read");
        let o = c.finish(true);
        assert_eq!(o.stored, 10);
        assert_eq!(o.sha256, sha(b"0123456789"));
    }

    #[test]
    fn sparse_file_holes_read_as_zeros_with_the_same_hash() {
        let t = tempfile::NamedTempFile::new().expect("temp");
        let f = t.as_file();
        f.write_all_at(b"head", 0).expect("write");
        f.write_all_at(b"tail", 8 << 20).expect("write");
        let size = (8 << 20) + 4;
        let mut expect = vec![0u8; size as usize];
        expect[..4].copy_from_slice(b"head");
        expect[(8 << 20)..].copy_from_slice(b"tail");
        let r = File::open(t.path()).expect("open");
        for sparse in [true, false] {
            let (out, c) = drain(Capped::new(PosReader::new(&r, 0, sparse), size));
            assert!(out == expect, "sparse={sparse}: bytes differ");
            let o = c.finish(true);
            assert_eq!(o.sha256, sha(&expect));
            assert!(!o.grew && !o.shrank);
        }
    }

    #[test]
    fn pseudo_files_are_read_to_a_cap() {
        assert_eq!(read_pseudo(&b"12345"[..], 10).expect("read"), (b"12345".to_vec(), After::End));
        assert_eq!(read_pseudo(&b"12345"[..], 5).expect("read"), (b"12345".to_vec(), After::End));
        assert_eq!(read_pseudo(&b"12345"[..], 3).expect("read"), (b"123".to_vec(), After::OverCap));
    }

    /// A file written between the read's end and the probe (seen once in CI on a churned log) grew; it is not
    /// a pseudo-file over the cap.
    #[test]
    fn bytes_after_the_end_under_the_cap_are_growth() {
        struct Late(Vec<&'static [u8]>);
        impl Read for Late {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let Some(next) = self.0.pop() else { return Ok(0) };
                buf[..next.len()].copy_from_slice(next);
                Ok(next.len())
            }
        }
        // Served last first: "ab", end of file, then "c" appears.
        assert_eq!(read_pseudo(Late(vec![b"c", b"", b"ab"]), 10).expect("read"), (b"ab".to_vec(), After::Grew));
        assert_eq!(read_pseudo(Late(vec![b"x", b""]), 1 << 24).expect("read"), (Vec::new(), After::Grew));
    }
}
