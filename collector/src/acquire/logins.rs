//! Logins: wtmp, btmp and utmp as found (glibc utmp records), and a sparse-aware extract of lastlog.
//!
//! `/var/log/lastlog` is indexed by uid: record N sits at offset N × 292, so one login by uid 4294967294
//! gives a file with an apparent size of ~1.2 TiB made almost entirely of holes. It is never streamed whole:
//! only the data extents (`SEEK_DATA`/`SEEK_HOLE`) are read, record by record, and the non-empty records go
//! into `live/logins/lastlog.json`:
//!
//! ```json
//! {"record_size":292,"file_size":N,"allocated":A,"truncated":false,
//!  "records":[{"uid":1000,"offset":292000,"record_b64":"…"}]}
//! ```
//!
//! Layout of one record on x86_64 (glibc `struct lastlog`, 292 bytes, little-endian):
//! `int32 ll_time` (seconds since the epoch), `char ll_line[32]`, `char ll_host[256]`.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use coroner_schemas::manifest::{Category, Format, Kept, Status};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use rustix::fs as rfs;
use rustix::io::Errno;

use super::walk::{self, Kind};
use super::{AbsentItem, CaptureItem, Ctx, FileItem, Item};

/// Size of one `struct lastlog` on x86_64 (and every 64-bit glibc target with a 32-bit `ll_time`).
pub const LASTLOG_RECORD: u64 = 292;
/// Most non-empty lastlog records kept.
pub const LASTLOG_MAX_RECORDS: usize = 100_000;
/// Most bytes of data extents read from lastlog.
pub const LASTLOG_MAX_READ: u64 = 256 << 20;
/// Bundle path of the extract.
pub const LASTLOG_JSON: &str = "live/logins/lastlog.json";

pub fn collect(ctx: &Ctx, out: &mut Vec<Item>) {
    // logs.rs lists /var/log too and records it when it cannot be listed: one record is enough.
    let mut already_recorded = Vec::new();
    for e in walk::list(ctx, "/var/log", Category::Logins, Format::Utmp, &mut already_recorded) {
        if e.kind == Kind::Dir {
            continue;
        }
        let rot = walk::rotation_of(&e.name, "wtmp").or_else(|| walk::rotation_of(&e.name, "btmp"));
        if let Some(compressed) = rot {
            let mut item = FileItem::new(e.host, Category::Logins, Format::Utmp);
            item.keep = Kept::Tail;
            item.compressed = compressed.map(str::to_owned);
            walk::push_file(ctx, out, item);
        }
    }
    // /var/run is usually a link to /run: resolving it inside the root makes both names one path.
    let mut seen = Vec::new();
    for host in ["/run/utmp", "/var/run/utmp"] {
        let Some(f) = walk::resolve(ctx, host, false).ok().and_then(|h| walk::stat(ctx, &h)) else {
            continue;
        };
        if seen.contains(&f.host) {
            continue;
        }
        seen.push(f.host.clone());
        let mut item = FileItem::new(f.host, Category::Logins, Format::Utmp);
        item.keep = Kept::Tail;
        walk::push_file(ctx, out, item);
    }
    lastlog(ctx, out);
}

fn lastlog(ctx: &Ctx, out: &mut Vec<Item>) {
    let host = "/var/log/lastlog";
    if walk::excluded_by(ctx, host).is_some() {
        let item = FileItem::new(host, Category::Logins, Format::Lastlog);
        walk::push_file(ctx, out, item); // records the exclusion
        return;
    }
    let Some(found) = walk::stat(ctx, host) else { return };
    let absent = |status| {
        Item::Absent(AbsentItem {
            bundle_path: LASTLOG_JSON.to_owned(),
            source: found.host.clone(),
            category: Category::Logins,
            format: Format::LastlogJson,
            status,
        })
    };
    if found.kind != Kind::File {
        out.push(absent(Status::Skipped {
            reason: "not a regular file".into(),
        }));
        return;
    }
    match extract_lastlog(&ctx.host_path(&found.host), LASTLOG_MAX_RECORDS, LASTLOG_MAX_READ) {
        Ok(x) => {
            let status = if x.truncated {
                Status::Truncated {
                    kept: Kept::Head,
                    original_size: x.file_size,
                    reason: format!(
                        "lastlog extract stopped at {LASTLOG_MAX_RECORDS} records or {LASTLOG_MAX_READ} bytes read"
                    ),
                }
            } else {
                Status::Ok
            };
            out.push(Item::Capture(CaptureItem {
                bundle_path: LASTLOG_JSON.to_owned(),
                source: found.host.clone(),
                category: Category::Logins,
                format: Format::LastlogJson,
                account: None,
                data: x.to_json(),
                status,
                command: None,
            }));
        }
        Err(e) => {
            let status = match e.kind() {
                io::ErrorKind::PermissionDenied => Status::PermissionDenied { message: e.to_string() },
                io::ErrorKind::NotFound => Status::Vanished,
                _ => Status::Io { message: e.to_string() },
            };
            out.push(absent(status));
        }
    }
}

/// One non-empty lastlog record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastlogRecord {
    pub uid: u64,
    pub offset: u64,
    pub raw: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastlogExtract {
    pub file_size: u64,
    /// st_blocks × 512.
    pub allocated: u64,
    pub records: Vec<LastlogRecord>,
    /// A cap stopped the extract early.
    pub truncated: bool,
}

impl LastlogExtract {
    pub fn to_json(&self) -> Vec<u8> {
        let records: Vec<serde_json::Value> = self
            .records
            .iter()
            .map(|r| serde_json::json!({"uid": r.uid, "offset": r.offset, "record_b64": STANDARD.encode(&r.raw)}))
            .collect();
        let doc = serde_json::json!({
            "record_size": LASTLOG_RECORD,
            "file_size": self.file_size,
            "allocated": self.allocated,
            "truncated": self.truncated,
            "records": records,
        });
        serde_json::to_vec_pretty(&doc).unwrap_or_default()
    }
}

/// Reads the non-empty records of a lastlog file, visiting only its data extents. Memory use is one record;
/// bytes read are bounded by `max_read` whatever the apparent size.
pub fn extract_lastlog(path: &Path, max_records: usize, max_read: u64) -> io::Result<LastlogExtract> {
    use std::os::unix::fs::MetadataExt;
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)?;
    let md = f.metadata()?;
    let size = md.len();
    let mut x = LastlogExtract {
        file_size: size,
        allocated: md.blocks() * 512,
        records: Vec::new(),
        truncated: false,
    };
    let mut read_total = 0u64;
    let mut pos = 0u64;
    let mut rec = vec![0u8; LASTLOG_RECORD as usize];
    while pos < size {
        let (start, end) = match data_extent(&f, pos, size)? {
            Some(ext) => ext,
            None => break,
        };
        // Records overlapping this extent, from the record holding `start`.
        let mut r = start / LASTLOG_RECORD;
        while r * LASTLOG_RECORD < end {
            let off = r * LASTLOG_RECORD;
            if read_total >= max_read || x.records.len() >= max_records {
                x.truncated = true;
                return Ok(x);
            }
            f.seek(SeekFrom::Start(off))?;
            let n = read_full(&mut f, &mut rec)?;
            read_total += n as u64;
            if n > 0 && rec[..n].iter().any(|&b| b != 0) {
                x.records.push(LastlogRecord {
                    uid: r,
                    offset: off,
                    raw: rec[..n].to_vec(),
                });
            }
            if n < rec.len() {
                return Ok(x); // torn last record (kept as read) or the file shrank
            }
            r += 1;
        }
        pos = (r * LASTLOG_RECORD).max(end);
    }
    Ok(x)
}

/// The next data extent at or after `pos`: `[start, end)`. Falls back to "all data" where the file system
/// does not support `SEEK_DATA` (the per-record zero check then still skips empty records).
fn data_extent(f: &File, pos: u64, size: u64) -> io::Result<Option<(u64, u64)>> {
    if i64::try_from(pos).is_err() {
        return Ok(None);
    }
    let start = match rfs::seek(f, rfs::SeekFrom::Data(pos)) {
        Ok(start) => start,
        Err(Errno::NXIO) => return Ok(None), // no data after pos
        Err(Errno::INVAL | Errno::OPNOTSUPP) => return Ok(Some((pos, size))),
        Err(e) => return Err(e.into()),
    };
    match rfs::seek(f, rfs::SeekFrom::Hole(start)) {
        Ok(end) => Ok(Some((start, end.min(size)))),
        Err(_) => Ok(Some((start, size))),
    }
}

fn read_full(f: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
