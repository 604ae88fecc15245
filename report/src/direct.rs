//! Output files written past the page cache (`O_DIRECT`), each by a thread of its own, for `fleet`.
//!
//! A fleet run writes about 200 MB a host (100 hosts: 20 GB), far more than an analyst's page cache holds and
//! more than anyone reads back at once. Buffered, each byte is copied into a page the kernel first zeroes, and
//! those pages must later be written back and reclaimed; on 2 cores that kernel work was a fifth of the run's
//! CPU (`make bench`'s fleet rows, BENCHMARKS.md). Here the bytes gather in aligned buffers that a writer thread
//! hands to the disk straight from memory while the next buffer fills. The last block is padded, then the file
//! is cut to its true length. A filesystem that refuses `O_DIRECT` gets ordinary buffered writes instead.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::{FileExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::sync::Mutex;
use std::thread::JoinHandle;

use rustix::fs::OFlags;

/// Alignment of buffers, offsets and lengths: the largest logical block size in common use.
const BLOCK: usize = 4096;
/// Bytes a buffer holds; two per file (one filling, one being written).
const SIZE: usize = 4 << 20;
/// Buffers kept for the next files, so that each file does not fault fresh pages in.
const KEEP: usize = 16;

static FREE: Mutex<Vec<Buf>> = Mutex::new(Vec::new());

/// An aligned window of `size` bytes into `mem`, `len` of them filled.
struct Buf {
    mem: Vec<u8>,
    start: usize,
    size: usize,
    len: usize,
}

impl Buf {
    /// A buffer whose window starts `skew` bytes past a [`BLOCK`] boundary (0 but in tests).
    fn new(size: usize, skew: usize) -> Buf {
        if skew == 0 && size == SIZE {
            if let Some(b) = FREE.lock().ok().and_then(|mut f| f.pop()) {
                return b;
            }
        }
        let mem = vec![0u8; size + 2 * BLOCK];
        let start = (BLOCK - mem.as_ptr() as usize % BLOCK) % BLOCK + skew;
        Buf { mem, start, size, len: 0 }
    }

    fn room(&mut self) -> &mut [u8] {
        &mut self.mem[self.start + self.len..self.start + self.size]
    }

    /// The filled bytes, zero-padded to a whole block.
    fn padded(&mut self) -> &[u8] {
        let end = self.len.div_ceil(BLOCK) * BLOCK;
        self.mem[self.start + self.len..self.start + end].fill(0);
        &self.mem[self.start..self.start + end]
    }

    fn recycle(mut self) {
        if self.size == SIZE && (self.mem.as_ptr() as usize + self.start) % BLOCK == 0 {
            self.len = 0;
            if let Ok(mut f) = FREE.lock() {
                if f.len() < KEEP {
                    f.push(self);
                }
            }
        }
    }
}

/// A file being written directly; [`DirectFile::finish`] completes it.
pub struct DirectFile {
    path: PathBuf,
    cur: Option<Buf>,
    spare: Option<Buf>,
    /// Full buffers to the writer thread, and back once written.
    to_disk: Option<SyncSender<Buf>>,
    back: Receiver<Buf>,
    writer: Option<JoinHandle<io::Result<File>>>,
    total: u64,
}

impl DirectFile {
    /// Creates (or truncates) `path`.
    pub fn create(path: &Path) -> io::Result<DirectFile> {
        DirectFile::create_with(path, SIZE, 0)
    }

    fn create_with(path: &Path, size: usize, skew: usize) -> io::Result<DirectFile> {
        let open = |flags: OFlags| std::fs::OpenOptions::new().write(true).create(true).truncate(true).custom_flags(flags.bits() as i32).open(path);
        let file = match open(OFlags::DIRECT) {
            Err(e) if e.kind() == io::ErrorKind::InvalidInput => open(OFlags::empty())?,
            r => r?,
        };
        let (to_disk, jobs) = sync_channel::<Buf>(1);
        let (done, back) = channel::<Buf>();
        let writer = std::thread::Builder::new().name("direct-write".into()).spawn(move || write_out(file, jobs, done))?;
        Ok(DirectFile { path: path.to_owned(), cur: Some(Buf::new(size, skew)), spare: Some(Buf::new(size, skew)), to_disk: Some(to_disk), back, writer: Some(writer), total: 0 })
    }

    /// Hands the current buffer to the writer thread and takes an empty one.
    fn send(&mut self) -> io::Result<()> {
        let full = self.cur.take().ok_or_else(|| io::Error::other("a direct file used after an error"))?;
        let sent = self.to_disk.as_ref().map(|t| t.send(full));
        if !matches!(sent, Some(Ok(()))) {
            return Err(self.stop());
        }
        let next = match self.spare.take() {
            Some(b) => b,
            None => match self.back.recv() {
                Ok(b) => b,
                Err(_) => return Err(self.stop()),
            },
        };
        self.cur = Some(next);
        Ok(())
    }

    /// The writer thread's error, once it has stopped.
    fn stop(&mut self) -> io::Error {
        match self.join() {
            Err(e) => e,
            Ok(_) => io::Error::other(format!("the writer of {} stopped", self.path.display())),
        }
    }

    /// Closes the writer thread's queue and waits for it: the file, or the error that stopped it.
    fn join(&mut self) -> io::Result<File> {
        self.to_disk = None;
        match self.writer.take().map(JoinHandle::join) {
            Some(Ok(Ok(file))) => Ok(file),
            Some(Ok(Err(e))) => Err(io::Error::new(e.kind(), format!("writing {}: {e}", self.path.display()))),
            _ => Err(io::Error::other(format!("the writer of {} failed", self.path.display()))),
        }
    }

    /// Writes what is left, waits for every write and sets the file's length.
    pub fn finish(mut self) -> io::Result<()> {
        // The last, partial buffer goes as it is: no empty one is needed after it.
        if let Some(last) = self.cur.take_if(|b| b.len > 0) {
            if !matches!(self.to_disk.as_ref().map(|t| t.send(last)), Some(Ok(()))) {
                return Err(self.stop());
            }
        }
        let file = self.join()?;
        file.set_len(self.total)?;
        for b in self.back.try_iter().chain(self.cur.take()).chain(self.spare.take()) {
            b.recycle();
        }
        Ok(())
    }
}

impl Write for DirectFile {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let cur = self.cur.as_mut().ok_or_else(|| io::Error::other("a direct file used after an error"))?;
        let room = cur.room();
        let n = room.len().min(data.len());
        room[..n].copy_from_slice(&data[..n]);
        cur.len += n;
        self.total += n as u64;
        if cur.len == cur.size {
            self.send()?;
        }
        Ok(n)
    }

    /// Nothing to do: a partial block cannot be written directly; [`DirectFile::finish`] writes it.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for DirectFile {
    fn drop(&mut self) {
        // Not finished (an error elsewhere): stop the writer; the file is left as far as it got.
        let _ = self.join();
    }
}

/// The writer thread: each buffer, padded to whole blocks, written at its place in turn and sent back. A write
/// refused as invalid (a filesystem that took the `O_DIRECT` open but not the write) is made again buffered.
fn write_out(file: File, jobs: Receiver<Buf>, done: Sender<Buf>) -> io::Result<File> {
    let mut direct = true;
    let mut at = 0u64;
    for mut b in jobs {
        let whole = b.len == b.size;
        let data = b.padded();
        match file.write_all_at(data, at) {
            Err(e) if direct && e.kind() == io::ErrorKind::InvalidInput => {
                direct = false;
                rustix::fs::fcntl_setfl(&file, rustix::fs::fcntl_getfl(&file)? - OFlags::DIRECT)?;
                file.write_all_at(data, at)?;
            }
            r => r?,
        }
        at += data.len() as u64;
        if !whole {
            // A padded last buffer: nothing follows it.
            break;
        }
        b.len = 0;
        let _ = done.send(b);
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes in pieces of many sizes, across buffer boundaries, land exactly: the padding cut off, nothing lost
    /// or doubled, whether a buffer ends full or not.
    fn round_trip(size: usize, skew: usize, total: usize) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("out");
        let want: Vec<u8> = (0..total).map(|i| (i * 7 + i / 251) as u8).collect();
        let mut f = DirectFile::create_with(&path, size, skew).expect("create");
        let mut at = 0;
        let mut step = 1;
        while at < want.len() {
            let n = step.min(want.len() - at);
            f.write_all(&want[at..at + n]).expect("write");
            at += n;
            step = step * 3 % 10_007 + 1;
        }
        f.finish().expect("finish");
        assert_eq!(std::fs::read(&path).expect("read back"), want, "size {size} skew {skew} total {total}");
    }

    #[test]
    fn writes_exactly_what_it_was_given() {
        for total in [0, 1, 4095, 4096, 4097, 3 * 8192, 3 * 8192 + 5, 100_000] {
            round_trip(8192, 0, total);
        }
        round_trip(SIZE, 0, 2 * SIZE + 12_345);
    }

    /// A buffer off the block boundary: the kernel refuses the direct write (EINVAL), and the file is written
    /// buffered from that write on, still exact.
    #[test]
    fn a_refused_direct_write_is_made_buffered() {
        for total in [100, 8192, 3 * 8192 + 5] {
            round_trip(8192, 1, total);
        }
    }

    /// Writing over a longer file leaves none of its old bytes.
    #[test]
    fn an_old_file_is_cut() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("out");
        std::fs::write(&path, vec![b'x'; 50_000]).expect("old file");
        let mut f = DirectFile::create(&path).expect("create");
        f.write_all(b"short").expect("write");
        f.finish().expect("finish");
        assert_eq!(std::fs::read(&path).expect("read back"), b"short");
    }
}
