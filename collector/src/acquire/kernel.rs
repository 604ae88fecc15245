//! The kernel's own record of deaths: every record still in the ring buffer, read from `/dev/kmsg` exactly
//! as the kernel formats them; saved `dmesg` output in `/var/log/dmesg*`; the previous boot's oops/panic
//! in `/sys/fs/pstore`; and the clock sample that turns kmsg's µs-since-boot into UTC.

use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use coroner_schemas::manifest::{Category, ClockSample, Format, Kept, Status};
use rustix::time::{clock_gettime, ClockId};

use super::fsutil::{self, list_dir};
use super::{CaptureItem, Ctx, FileItem, Item};

pub const KMSG_BUNDLE_PATH: &str = "live/kernel/kmsg.txt";

/// `/dev/kmsg` returns one record per read(2) and needs a buffer of at least 8 KiB (else `EINVAL`).
const KMSG_READ_BUF: usize = 16 * 1024;

fn clock_ns(id: ClockId) -> i128 {
    let ts = clock_gettime(id);
    i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec)
}

/// Reads CLOCK_REALTIME and CLOCK_BOOTTIME between two CLOCK_MONOTONIC reads; `monotonic_ns` is the midpoint
/// and `uncertainty_ns` the window. The narrowest of a few tries is kept (a preemption widens one window).
pub fn clock_sample() -> Option<ClockSample> {
    let mut best: Option<ClockSample> = None;
    for _ in 0..5 {
        let m1 = clock_ns(ClockId::Monotonic);
        let rt = clock_ns(ClockId::Realtime);
        let bt = clock_ns(ClockId::Boottime);
        let m2 = clock_ns(ClockId::Monotonic);
        let s = ClockSample {
            realtime_ns: i64::try_from(rt).ok()?,
            monotonic_ns: u64::try_from(m1 + (m2 - m1) / 2).ok()?,
            boottime_ns: u64::try_from(bt).ok()?,
            uncertainty_ns: u64::try_from(m2 - m1).ok()?,
        };
        if best.as_ref().is_none_or(|b| s.uncertainty_ns < b.uncertainty_ns) {
            best = Some(s);
        }
    }
    best
}

/// What a read of `/dev/kmsg` gave.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KmsgRead {
    /// The records' bytes, concatenated exactly as read (each ends in `\n`; continuation lines start with
    /// a space).
    pub data: Vec<u8>,
    pub records: u64,
    /// Reads that failed with `EPIPE`: records overwritten in the ring between two reads.
    pub lost: u64,
    /// Stopped at the byte cap before reaching the end of the ring.
    pub capped: bool,
    /// An error that ended the read after some records had been read.
    pub error: Option<String>,
}

/// Reads every record from a fresh open of `path` (a fresh open starts at the oldest record in the ring)
/// until `EAGAIN`, never blocking. `Err` only when nothing could be read (open failed, or the first read
/// failed, e.g. `EPERM` under `kernel.dmesg_restrict` without CAP_SYSLOG).
pub fn read_kmsg(path: &Path, cap: u64) -> io::Result<KmsgRead> {
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOFOLLOW)
        .open(path)?;
    let mut out = KmsgRead::default();
    let mut buf = vec![0u8; KMSG_READ_BUF];
    loop {
        if out.data.len() as u64 >= cap {
            out.capped = true;
            break;
        }
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                out.data.extend_from_slice(&buf[..n.min(buf.len())]);
                out.records += 1;
            }
            Err(e) => match e.raw_os_error() {
                Some(libc::EAGAIN) => break,
                Some(libc::EINTR) => {}
                Some(libc::EPIPE) => out.lost += 1,
                _ if out.records == 0 && out.lost == 0 => return Err(e),
                _ => {
                    out.error = Some(e.to_string());
                    break;
                }
            },
        }
    }
    Ok(out)
}

fn kmsg_item(ctx: &Ctx) -> Item {
    let (cat, fmt) = (Category::Kernel, Format::Kmsg);
    if !ctx.live {
        return fsutil::not_live(KMSG_BUNDLE_PATH, "/dev/kmsg", cat, fmt);
    }
    let cap = fsutil::LIVE_CAP.min(ctx.opts.max_file_bytes.max(1));
    match read_kmsg(Path::new("/dev/kmsg"), cap) {
        Ok(r) => {
            let status = if let Some(e) = &r.error {
                Status::Io {
                    message: format!("read stopped after {} records: {e}", r.records),
                }
            } else if r.capped {
                Status::Truncated {
                    kept: Kept::Head,
                    original_size: r.data.len() as u64,
                    reason: format!("{} records read; stopped at the {cap}-byte cap", r.records),
                }
            } else if r.lost > 0 {
                Status::Truncated {
                    kept: Kept::Tail,
                    original_size: r.data.len() as u64,
                    reason: format!(
                        "{} times records were overwritten in the ring while it was read",
                        r.lost
                    ),
                }
            } else {
                Status::Ok
            };
            Item::Capture(CaptureItem {
                bundle_path: KMSG_BUNDLE_PATH.into(),
                source: "/dev/kmsg".into(),
                category: cat,
                format: fmt,
                account: None,
                data: r.data,
                status,
                command: None,
            })
        }
        Err(e) => fsutil::absent(KMSG_BUNDLE_PATH, "/dev/kmsg", cat, fmt, fsutil::status_of(&e)),
    }
}

pub fn collect(ctx: &Ctx, out: &mut Vec<Item>) {
    out.push(kmsg_item(ctx));
    // Saved boot-time dmesg (Debian's /var/log/dmesg, dmesg.0, dmesg.1.gz …).
    if let Ok(files) = list_dir(ctx, "/var/log", |n| n == "dmesg" || n.starts_with("dmesg.")) {
        for f in files {
            let mut item = FileItem::new(f.clone(), Category::Kernel, Format::DmesgText);
            if f.ends_with(".gz") {
                item.compressed = Some("gzip".into());
            }
            out.push(Item::File(item));
        }
    }
    // pstore: the previous boot's oops/panic records (dmesg-ramoops-0, dmesg-efi-…).
    match list_dir(ctx, "/sys/fs/pstore", |n| !n.starts_with('.')) {
        Ok(files) => out.extend(
            files
                .into_iter()
                .map(|f| Item::File(FileItem::new(f, Category::Kernel, Format::Pstore))),
        ),
        Err(e) if ctx.live => out.push(fsutil::absent(
            fsutil::fs_bundle_path("/sys/fs/pstore"),
            "/sys/fs/pstore",
            Category::Kernel,
            Format::Pstore,
            fsutil::status_of(&e),
        )),
        Err(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_sample_is_sane() {
        let s = clock_sample().expect("clocks readable");
        assert!(s.realtime_ns > 1_600_000_000_000_000_000, "realtime after 2020");
        assert!(
            s.boottime_ns >= s.monotonic_ns - s.uncertainty_ns,
            "boottime counts suspend too"
        );
        assert!(s.uncertainty_ns < 1_000_000_000);
        // A printk stamp taken "now" converts to about the realtime read.
        let now = s.boot_us_to_utc(s.monotonic_ns / 1000).expect("in range");
        assert!((now.unix_micros() - s.realtime_ns / 1000).abs() <= 1 + (s.uncertainty_ns / 1000) as i64);
    }

    #[test]
    fn kmsg_reader_on_a_regular_file_reads_to_eof() {
        // A regular file returns everything at once; the reader must still stop cleanly at EOF.
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("k");
        std::fs::write(&p, b"6,1,5,-;hello\n").expect("write");
        let r = read_kmsg(&p, 1 << 20).expect("read");
        assert_eq!(r.data, b"6,1,5,-;hello\n");
        assert_eq!((r.records, r.lost, r.capped), (1, 0, false));
    }
}
