//! Login records: glibc `struct utmp` files (wtmp, btmp, utmp) and lastlog (`struct lastlog`, one per uid),
//! raw or as the collector's sparse-aware JSON extract, in the layouts of the architectures that wrote them.
//!
//! `struct utmp` (`utmp(5)`), x86_64 glibc, little-endian, 384 bytes:
//!
//! | offset | field |
//! |---|---|
//! | 0 | `ut_type` i16 (+2 padding) |
//! | 4 | `ut_pid` i32 |
//! | 8 | `ut_line[32]` — device name of the tty, without `/dev/` |
//! | 40 | `ut_id[4]` — terminal name suffix, or inittab id |
//! | 44 | `ut_user[32]` — user name |
//! | 76 | `ut_host[256]` — host name for remote login, or kernel version for run-level messages |
//! | 332 | `ut_exit` {i16 `e_termination`, i16 `e_exit`} — exit status of a process marked DEAD_PROCESS |
//! | 336 | `ut_session` i32 — session ID (getsid(2)), used for windowing |
//! | 340 | `ut_tv` {i32 `tv_sec`, i32 `tv_usec`} — time entry was made |
//! | 348 | `ut_addr_v6[4]` i32 — Internet address of remote host; IPv4 uses just `ut_addr_v6[0]` |
//! | 364 | `__glibc_reserved[20]` |
//!
//! Other architectures ([`UtmpLayout`]): glibc's `bits/utmp.h` keeps `ut_session` and `ut_tv` 32-bit where
//! `bits/wordsize.h` sets `__WORDSIZE_TIME64_COMPAT32` (x86, powerpc, sparc and every 32-bit target), so those
//! records are 384 bytes in the target's byte order. Where it is 0 (aarch64, s390x) `ut_session` is a `long`
//! and `ut_tv` a `struct timeval` of two `long`s: `ut_session` at 336, `ut_tv` at 344 and 352, `ut_addr_v6`
//! at 360, `__glibc_reserved` at 376, 400 bytes (offsets printed by fixtures/utmp/arch/layout.c built with
//! Debian's aarch64 and s390x cross glibc 2.36). The layout is read from the records themselves
//! ([`detect_layout`]); when none fits, nothing is read and a problem says what each layout saw.
//!
//! wtmp is read like `last` does, but forwards: a USER_PROCESS opens a session on its `ut_line`, the next
//! DEAD_PROCESS on that line closes it (the login event gets `session_end`), a shutdown record closes open
//! sessions as `down` and a boot record as `crash`; sessions still open at the end are `still logged in`.
//! Unlike `last`, a torn final record or a zeroed record is a recorded problem and every whole record is read.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::Ipv6Addr;

use base64::Engine as _;
use bytes::Bytes;
use coroner_schemas::manifest::{Format, Kept};
use coroner_schemas::{Event, EventKind, FieldValue, Fields, Origin, Source, Status, Text, Timestamp, Utc};
use rustc_hash::FxBuildHasher;

use super::{ParseProblem, Parsed, SourceCtx};

/// Size of glibc's `struct utmp` on x86_64.
pub const UTMP_SIZE: usize = 384;
/// Size of `struct lastlog` on x86_64 (`int32_t ll_time; char ll_line[32]; char ll_host[256]`).
pub const LASTLOG_SIZE: usize = 292;

/// The `struct utmp` of one family of architectures: its size (384 with a 32-bit `ut_tv`, 400 with a 64-bit
/// one) and byte order. Fields up to `ut_exit` sit at the same offsets in every layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UtmpLayout {
    pub size: usize,
    pub big_endian: bool,
}

impl UtmpLayout {
    /// x86_64, i386, arm, ppc64le: 32-bit `ut_tv`, little-endian.
    pub const X86_64: UtmpLayout = UtmpLayout { size: 384, big_endian: false };
    /// aarch64: 64-bit `ut_session` and `ut_tv`, little-endian.
    pub const TIME64_LE: UtmpLayout = UtmpLayout { size: 400, big_endian: false };
    /// s390x: 64-bit `ut_session` and `ut_tv`, big-endian.
    pub const TIME64_BE: UtmpLayout = UtmpLayout { size: 400, big_endian: true };
    /// ppc64, ppc, s390, sparc: 32-bit `ut_tv`, big-endian.
    pub const TIME32_BE: UtmpLayout = UtmpLayout { size: 384, big_endian: true };
    /// Every layout [`detect_layout`] tries, x86_64's first.
    pub const ALL: [UtmpLayout; 4] =
        [UtmpLayout::X86_64, UtmpLayout::TIME64_LE, UtmpLayout::TIME64_BE, UtmpLayout::TIME32_BE];

    fn time64(self) -> bool {
        self.size == 400
    }
    /// Offset of `ut_tv.tv_sec`.
    fn tv_at(self) -> usize {
        if self.time64() { 344 } else { 340 }
    }
    /// Offset of `ut_addr_v6`.
    fn addr_at(self) -> usize {
        if self.time64() { 360 } else { 348 }
    }
    /// The `record_layout` field's value (at most 22 bytes: it is stored inline).
    pub fn label(self) -> &'static str {
        match (self.size, self.big_endian) {
            (384, false) => "384-byte little-endian",
            (400, false) => "400-byte little-endian",
            (400, true) => "400-byte big-endian",
            _ => "384-byte big-endian",
        }
    }
    /// Which architectures write this layout, for messages.
    pub fn arches(self) -> &'static str {
        match (self.size, self.big_endian) {
            (384, false) => "x86_64, i386, arm, ppc64le",
            (400, false) => "aarch64",
            (400, true) => "s390x",
            _ => "ppc64, ppc, s390, sparc",
        }
    }

    /// The layout the collected host's own architecture writes (the manifest's `uname -m`), when known.
    fn of_host(ctx: &SourceCtx) -> Option<UtmpLayout> {
        let arch = ctx.manifest.host.arch.as_deref()?;
        match arch {
            "aarch64" | "arm64" => Some(UtmpLayout::TIME64_LE),
            "s390x" => Some(UtmpLayout::TIME64_BE),
            "x86_64" | "i386" | "i486" | "i586" | "i686" | "ppc64le" => Some(UtmpLayout::X86_64),
            "ppc64" | "ppc" | "s390" | "sparc" | "sparc64" => Some(UtmpLayout::TIME32_BE),
            a if a.starts_with("armv") => Some(UtmpLayout::X86_64),
            _ => None,
        }
    }

    fn i16_at(self, b: &[u8], o: usize) -> i16 {
        let v = [b[o], b[o + 1]];
        if self.big_endian { i16::from_be_bytes(v) } else { i16::from_le_bytes(v) }
    }
    fn i32_at(self, b: &[u8], o: usize) -> i32 {
        let v = [b[o], b[o + 1], b[o + 2], b[o + 3]];
        if self.big_endian { i32::from_be_bytes(v) } else { i32::from_le_bytes(v) }
    }
    fn i64_at(self, b: &[u8], o: usize) -> i64 {
        let mut v = [0u8; 8];
        v.copy_from_slice(&b[o..o + 8]);
        if self.big_endian { i64::from_be_bytes(v) } else { i64::from_le_bytes(v) }
    }
    /// A `long` of this layout: 32-bit fields widen.
    fn long_at(self, b: &[u8], o: usize) -> i64 {
        if self.time64() { self.i64_at(b, o) } else { i64::from(self.i32_at(b, o)) }
    }

    /// Single fields of a record known to be `size` bytes, for passes that need one or two of them.
    fn rec_type(self, b: &[u8]) -> UtType {
        UtType::from_i16(self.i16_at(b, 0))
    }
    fn rec_secs(self, b: &[u8]) -> i64 {
        self.long_at(b, self.tv_at())
    }
    fn rec_usecs(self, b: &[u8]) -> i64 {
        self.long_at(b, self.tv_at() + if self.time64() { 8 } else { 4 })
    }
}

/// `ut_type` values (`<utmp.h>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UtType {
    /// Record does not contain valid info.
    Empty,
    /// Change in system run-level (`shutdown`, `runlevel`).
    RunLvl,
    /// Time of system boot (user `reboot`, line `~`).
    BootTime,
    /// Time after system clock change.
    NewTime,
    /// Time before system clock change.
    OldTime,
    /// Process spawned by init.
    InitProcess,
    /// Session leader process for user login (getty).
    LoginProcess,
    /// Normal process (a login session).
    UserProcess,
    /// Terminated process.
    DeadProcess,
    Accounting,
    /// A code this parser does not know, kept.
    Unknown(i16),
}

impl UtType {
    pub fn from_i16(v: i16) -> UtType {
        match v {
            0 => UtType::Empty,
            1 => UtType::RunLvl,
            2 => UtType::BootTime,
            3 => UtType::NewTime,
            4 => UtType::OldTime,
            5 => UtType::InitProcess,
            6 => UtType::LoginProcess,
            7 => UtType::UserProcess,
            8 => UtType::DeadProcess,
            9 => UtType::Accounting,
            n => UtType::Unknown(n),
        }
    }
    pub fn name(self) -> std::borrow::Cow<'static, str> {
        match self {
            UtType::Empty => "EMPTY".into(),
            UtType::RunLvl => "RUN_LVL".into(),
            UtType::BootTime => "BOOT_TIME".into(),
            UtType::NewTime => "NEW_TIME".into(),
            UtType::OldTime => "OLD_TIME".into(),
            UtType::InitProcess => "INIT_PROCESS".into(),
            UtType::LoginProcess => "LOGIN_PROCESS".into(),
            UtType::UserProcess => "USER_PROCESS".into(),
            UtType::DeadProcess => "DEAD_PROCESS".into(),
            UtType::Accounting => "ACCOUNTING".into(),
            UtType::Unknown(n) => format!("UNKNOWN({n})").into(),
        }
    }
}

/// One `struct utmp` record, fields borrowed from the input; the `long`s of 400-byte layouts are `i64`.
#[derive(Clone, Debug)]
pub struct UtmpRecord<'a> {
    pub ut_type: UtType,
    pub ut_pid: i32,
    pub ut_line: &'a [u8],
    pub ut_id: &'a [u8],
    pub ut_user: &'a [u8],
    pub ut_host: &'a [u8],
    pub e_termination: i16,
    pub e_exit: i16,
    pub ut_session: i64,
    pub tv_sec: i64,
    pub tv_usec: i64,
    pub ut_addr_v6: [u8; 16],
}

/// A NUL-padded char array: the bytes before the first NUL.
fn cstr(b: &[u8]) -> &[u8] {
    let n = memchr::memchr(0, b).unwrap_or(b.len());
    &b[..n]
}
/// A char array as C writers leave it: text, then NULs to the end (strncpy pads; garbage or a record read at
/// the wrong offset does not).
fn nul_padded(b: &[u8]) -> bool {
    let n = memchr::memchr(0, b).unwrap_or(b.len());
    b[n..].iter().all(|&c| c == 0)
}

fn rec_line(b: &[u8]) -> &[u8] {
    cstr(&b[8..40])
}
fn rec_user(b: &[u8]) -> &[u8] {
    cstr(&b[44..76])
}
/// A record's time; `None` when `tv_sec` is 0 (no time was written: 1970 is not a time any login happened)
/// or out of range. A `tv_usec` outside 0..1e6 counts as 0 (the decoder records a problem for it).
fn record_time(tv_sec: i64, tv_usec: i64) -> Option<Utc> {
    if tv_sec == 0 {
        return None;
    }
    let usec = u32::try_from(tv_usec).ok().filter(|u| *u < 1_000_000).unwrap_or(0);
    Utc::from_unix(tv_sec, usec * 1000)
}
/// How many records ahead [`touch_ahead`] reads.
const AHEAD: usize = 8;

/// Reads the time word of the record `AHEAD` records on, so that its cache line is on its way by the time the
/// pass gets there. The passes read a record's first line and then its times at byte 340, five lines further;
/// the hardware prefetcher follows the first lines from record to record but not the far ones, and waiting
/// for those was 40% of the pairing pass and a tenth of decoding.
fn touch_ahead(raw: &[u8], lay: UtmpLayout, index: usize) {
    std::hint::black_box(raw.get((index + AHEAD) * lay.size + lay.tv_at()).copied());
}

/// A zeroed record: its type is 0 (checked first, as almost no record is) and every byte is.
fn is_zeroed(b: &[u8]) -> bool {
    b[..2] == [0, 0] && b.iter().all(|&c| c == 0)
}

impl<'a> UtmpRecord<'a> {
    /// Decodes exactly [`UTMP_SIZE`] bytes of the x86_64 layout; `None` for any other length.
    pub fn from_bytes(b: &'a [u8]) -> Option<UtmpRecord<'a>> {
        UtmpRecord::from_layout(b, UtmpLayout::X86_64)
    }

    /// Decodes exactly `lay.size` bytes in layout `lay`; `None` for any other length.
    pub fn from_layout(b: &'a [u8], lay: UtmpLayout) -> Option<UtmpRecord<'a>> {
        if b.len() != lay.size {
            return None;
        }
        let mut addr = [0u8; 16];
        addr.copy_from_slice(&b[lay.addr_at()..lay.addr_at() + 16]);
        Some(UtmpRecord {
            ut_type: lay.rec_type(b),
            ut_pid: lay.i32_at(b, 4),
            ut_line: rec_line(b),
            ut_id: cstr(&b[40..44]),
            ut_user: rec_user(b),
            ut_host: cstr(&b[76..332]),
            e_termination: lay.i16_at(b, 332),
            e_exit: lay.i16_at(b, 334),
            ut_session: lay.long_at(b, 336),
            tv_sec: lay.rec_secs(b),
            tv_usec: lay.rec_usecs(b),
            ut_addr_v6: addr,
        })
    }

    /// The remote address as text: IPv4 when only the first word is set, IPv6 otherwise, `None` when zero.
    pub fn addr(&self) -> Option<String> {
        let mut s = String::new();
        self.write_addr(&mut s).then_some(s)
    }

    /// Appends [`Self::addr`] to `out` (IPv4 digit by digit, as `Ipv4Addr` displays it); false when zero.
    fn write_addr(&self, out: &mut String) -> bool {
        let a = &self.ut_addr_v6;
        if a.iter().all(|&c| c == 0) {
            false
        } else if a[4..].iter().all(|&c| c == 0) {
            for (i, &n) in a[..4].iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                if n >= 100 {
                    out.push(char::from(b'0' + n / 100));
                }
                if n >= 10 {
                    out.push(char::from(b'0' + n / 10 % 10));
                }
                out.push(char::from(b'0' + n % 10));
            }
            true
        } else {
            let _ = write!(out, "{}", Ipv6Addr::from(*a));
            true
        }
    }

    /// When the entry was made; `None` when no time was written (`tv_sec` 0) or it is out of range.
    pub fn time(&self) -> Option<Utc> {
        record_time(self.tv_sec, self.tv_usec)
    }
}

/// Highest pid Linux hands out (`PID_MAX_LIMIT`, 2^22); run-level records keep two characters in `ut_pid`.
const PID_MAX_LIMIT: i32 = 1 << 22;
/// Latest `tv_sec` taken as a time a record could hold (2^33 s: year 2242); a 400-byte layout read as another
/// gives far larger or negative values.
const SECS_MAX: i64 = 1 << 33;

/// Why a whole, non-zeroed record does not read as a record of `lay`; `None` when it does: a known `ut_type`,
/// a pid in range, a time in range with `tv_usec` under a million, and NUL-padded line, user and host.
fn implausible(b: &[u8], lay: UtmpLayout) -> Option<String> {
    let t = lay.i16_at(b, 0);
    if let UtType::Unknown(n) = UtType::from_i16(t) {
        return Some(format!("ut_type {n}"));
    }
    let pid = lay.i32_at(b, 4);
    if !(0..=PID_MAX_LIMIT).contains(&pid) {
        return Some(format!("ut_pid {pid}"));
    }
    let (sec, usec) = (lay.rec_secs(b), lay.rec_usecs(b));
    if !(0..SECS_MAX).contains(&sec) || !(0..1_000_000).contains(&usec) {
        return Some(format!("ut_tv {sec}.{usec}"));
    }
    for (name, r) in [("ut_line", 8..40), ("ut_user", 44..76), ("ut_host", 76..332)] {
        if !nul_padded(&b[r]) {
            return Some(format!("{name} not NUL-padded"));
        }
    }
    None
}

/// How the records fit one layout: how many of those looked at read as records, and the first that did not.
#[derive(Clone, Debug)]
struct Fit {
    lay: UtmpLayout,
    /// Bytes before the first whole record (a tail kept from a cut file; see [`leading_partial`]).
    lead: usize,
    sound: usize,
    seen: usize,
    first_bad: Option<(usize, String)>,
}

/// Records looked at per layout: spread over the whole file, so that a file that changes layout part way
/// (two hosts' wtmp joined) is not judged by its head alone.
const SAMPLE: usize = 256;

fn fit(raw: &[u8], lay: UtmpLayout, ctx: &SourceCtx) -> Fit {
    let lead = leading_partial(raw, lay, ctx);
    let recs = &raw[lead..];
    let whole = recs.len() / lay.size;
    let step = whole.div_ceil(SAMPLE).max(1);
    let mut f = Fit { lay, lead, sound: 0, seen: 0, first_bad: None };
    for i in (0..whole).step_by(step) {
        let b = &recs[i * lay.size..(i + 1) * lay.size];
        if is_zeroed(b) {
            continue;
        }
        f.seen += 1;
        match implausible(b, lay) {
            None => f.sound += 1,
            Some(why) if f.first_bad.is_none() => f.first_bad = Some((lead + i * lay.size, why)),
            Some(_) => {}
        }
    }
    f
}

/// The layout the records were written in: the one under which most of the records looked at read as records
/// (more than half, and strictly more than under any other; an equal share goes to the layout whose size
/// divides the file, then to the collected host's own). `Err` names what each layout saw when none is clearly
/// right. A file with no non-zeroed whole record in any layout is read as x86_64 (there is nothing to misread).
pub fn detect_layout(raw: &[u8], ctx: &SourceCtx) -> Result<(UtmpLayout, usize), String> {
    let fits: Vec<Fit> = UtmpLayout::ALL.iter().map(|&l| fit(raw, l, ctx)).collect();
    if fits.iter().all(|f| f.seen == 0) {
        let f = fits.iter().find(|f| (raw.len() - f.lead) % f.lay.size == 0).unwrap_or(&fits[0]);
        return Ok((f.lay, f.lead));
    }
    // Shares compared exactly: a/b against c/d as a·d against c·b.
    let share = |f: &Fit| (f.sound, f.seen.max(1));
    let divides = |f: &Fit| (raw.len() - f.lead) % f.lay.size == 0;
    let host = UtmpLayout::of_host(ctx);
    let better = |a: &Fit, b: &Fit| {
        let ((sa, na), (sb, nb)) = (share(a), share(b));
        (sa * nb).cmp(&(sb * na)).then(divides(a).cmp(&divides(b))).then((host == Some(a.lay)).cmp(&(host == Some(b.lay))))
    };
    let best = fits.iter().max_by(|a, b| better(a, b)).unwrap_or(&fits[0]);
    let tied = fits.iter().filter(|f| better(f, best).is_eq()).count() > 1;
    if best.sound * 2 > best.seen && !tied {
        return Ok((best.lay, best.lead));
    }
    let seen: Vec<String> = fits
        .iter()
        .map(|f| {
            let bad = f.first_bad.as_ref().map(|(o, why)| format!(", offset {o}: {why}")).unwrap_or_default();
            format!("{} ({}): {} of {} records plausible{bad}", f.lay.label(), f.lay.arches(), f.sound, f.seen)
        })
        .collect();
    Err(format!(
        "no struct utmp layout fits these records{}; records not read. {}",
        if tied { " (two fit equally)" } else { "" },
        seen.join("; ")
    ))
}

fn lossy(b: &[u8]) -> String {
    lossy_cow(b).into_owned()
}

/// The bytes as text, borrowed when they are UTF-8 (checked by the fast validator first).
fn lossy_cow(b: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => s.into(),
        Err(_) => String::from_utf8_lossy(b),
    }
}

/// Appends `s` quoted exactly as `{s:?}` writes it; plain printable ASCII (nearly every name) is copied whole.
fn push_quoted(m: &mut String, s: &str) {
    if s.bytes().all(|c| (0x20..0x7f).contains(&c) && c != b'"' && c != b'\\') {
        m.push('"');
        m.push_str(s);
        m.push('"');
    } else {
        let _ = write!(m, "{s:?}");
    }
}

/// Which login file an entry is, from where the collector found it (the manifest's `source`).
fn file_kind(ctx: &SourceCtx) -> Source {
    match ctx.entry.format {
        Format::Lastlog | Format::LastlogJson => return Source::Lastlog,
        _ => {}
    }
    let name = ctx.entry.source.rsplit('/').next().unwrap_or("");
    if name.starts_with("btmp") {
        Source::Btmp
    } else if name.starts_with("utmp") {
        Source::Utmp
    } else {
        Source::Wtmp
    }
}

/// Events keep their records as slices of `raw`.
pub fn parse(raw: &Bytes, ctx: &SourceCtx) -> Parsed {
    match ctx.entry.format {
        Format::Lastlog => parse_lastlog(raw, ctx),
        Format::LastlogJson => parse_lastlog_json(raw, ctx),
        _ => parse_utmp(raw, ctx),
    }
}

/// How a login session ended, as `last` says it, with the `tv_sec` of the record that ended it: the pairing
/// pass has just read it, while that record may lie far ahead of the login's decoder. The session lasted that
/// less the login's own `tv_sec`, in whole seconds, as `last` counts them.
#[derive(Clone, Copy, Debug)]
enum SessionEnd {
    /// A logout on its tty, at that DEAD_PROCESS record's time.
    At { tv_sec: i64, tv_usec: i32 },
    /// Closed by a shutdown record (`down`), or by a boot after one.
    Down { at: i64 },
    /// Closed by a boot with no shutdown before it (`crash`).
    Crash { at: i64 },
    /// Its tty was taken by a later login (`gone - no logout`).
    Gone { at: i64 },
    /// Still open at the end of the file (`still logged in`).
    Still,
}

impl SessionEnd {
    /// The `tv_sec` of the record that closed the session.
    fn closed_at(self) -> Option<i64> {
        match self {
            SessionEnd::At { tv_sec: at, .. }
            | SessionEnd::Down { at }
            | SessionEnd::Crash { at }
            | SessionEnd::Gone { at } => Some(at),
            SessionEnd::Still => None,
        }
    }
}

/// What session pairing says of one record.
#[derive(Clone, Copy, Debug, Default)]
enum Pair {
    #[default]
    None,
    /// A login, with how its session ended.
    Login { end: SessionEnd },
    /// A logout, closing the login at this record index.
    Logout { login: usize },
}

// One per record, laid out before decoding starts: 16 bytes each is 16 MB of fresh memory for a million.
const _: () = assert!(std::mem::size_of::<Pair>() <= 16);

/// Bytes before the first whole record. The collector keeps the *tail* of a file over its cap, cut at any byte,
/// so the first kept bytes may be the end of a record: records start where the original offset is a multiple
/// of the record size.
fn leading_partial(raw: &[u8], lay: UtmpLayout, ctx: &SourceCtx) -> usize {
    match &ctx.entry.status {
        coroner_schemas::Status::Truncated { kept: coroner_schemas::manifest::Kept::Tail, original_size, .. } => {
            let start = original_size.saturating_sub(raw.len() as u64);
            let size = lay.size as u64;
            let lead = (size - start % size) % size;
            (lead as usize).min(raw.len())
        }
        _ => 0,
    }
}

fn parse_utmp(raw: &Bytes, ctx: &SourceCtx) -> Parsed {
    let (lay, lead) = match detect_layout(raw, ctx) {
        Ok(found) => found,
        Err(why) => {
            let mut out = Parsed::default();
            out.problems.push(ParseProblem::at_offset(ctx, 0, why));
            return out;
        }
    };
    if lead == 0 {
        return parse_aligned(raw, lay, ctx);
    }
    let mut out = parse_aligned(&raw.slice(lead..), lay, ctx);
    for e in &mut out.events {
        e.origin.offset = e.origin.offset.map(|o| o + lead as u64);
    }
    for p in &mut out.problems {
        p.offset = p.offset.map(|o| o + lead as u64);
    }
    out.problems.insert(
        0,
        ParseProblem::at_offset(
            ctx,
            0,
            format!("the collector kept this file's tail: the first {lead} bytes are the end of a cut record, skipped"),
        ),
    );
    out
}

fn parse_aligned(raw: &Bytes, lay: UtmpLayout, ctx: &SourceCtx) -> Parsed {
    let kind = file_kind(ctx);
    let size = lay.size;
    let whole = raw.len() / size;
    // Sessions are paired first, in one ordered pass over the records alone; the events are then built
    // complete, without a second pass over them.
    let pairs = if kind == Source::Wtmp { pair_sessions(raw, lay, whole) } else { Vec::new() };
    let mut out = decode(raw, lay, ctx, kind, &pairs);
    let tail = raw.len() % size;
    if tail != 0 {
        let off = whole * size;
        out.problems.push(ParseProblem::at_offset(
            ctx,
            off as u64,
            format!("torn final record at offset {off}: {tail} of {size} bytes (the {whole} whole records before it were read)"),
        ));
    }
    out
}

/// Record boundaries cutting the records into about `parts` runs that each parse as they do in the whole: in a
/// wtmp, just after a boot record (which closes every session, so no pairing crosses the cut). None for a
/// tail-kept or torn file, or when a run would not read in the whole's layout.
pub fn split_points(raw: &[u8], ctx: &SourceCtx, parts: usize) -> Vec<usize> {
    let tail_kept = matches!(ctx.entry.status, Status::Truncated { kept: Kept::Tail, .. });
    let lay = match detect_layout(raw, ctx) {
        Ok((lay, 0)) if !tail_kept && raw.len() % lay.size == 0 => lay,
        _ => return Vec::new(),
    };
    let whole = raw.len() / lay.size;
    let wtmp = file_kind(ctx) == Source::Wtmp;
    let mut cuts: Vec<usize> = Vec::new();
    for i in 1..parts {
        let mut r = whole * i / parts;
        if wtmp {
            match (r..whole).find(|&j| matches!(lay.rec_type(&raw[j * lay.size..]), UtType::BootTime)) {
                Some(boot) => r = boot + 1,
                None => break,
            }
        }
        let at = r * lay.size;
        if at < raw.len() && at > cuts.last().copied().unwrap_or(0) {
            cuts.push(at);
        }
    }
    let mut from = 0;
    for &to in cuts.iter().chain([raw.len()].iter()) {
        if detect_layout(&raw[from..to], ctx) != Ok((lay, 0)) {
            return Vec::new();
        }
        from = to;
    }
    cuts
}

/// The records into events, in file order, with what `pairs` (indexed by record) says of their sessions.
fn decode(raw: &Bytes, lay: UtmpLayout, ctx: &SourceCtx, kind: Source, pairs: &[Pair]) -> Parsed {
    let mut out = Parsed { events: Vec::with_capacity(raw.len() / lay.size), ..Parsed::default() };
    let problems = &mut out.problems;
    let size = lay.size;
    let path = &ctx.path;
    // User names repeat: look each up in the bundle's passwd once.
    let mut uids: HashMap<Box<str>, Option<u32>, FxBuildHasher> = HashMap::default();
    let mut addr_buf = String::with_capacity(40);
    for (i, rec_bytes) in raw.chunks_exact(size).enumerate() {
        touch_ahead(raw, lay, i);
        let offset = ctx.offset + (i * size) as u64;
        if is_zeroed(rec_bytes) {
            problems.push(ParseProblem::at_offset(ctx, offset, format!("zeroed record at offset {offset}")));
            continue;
        }
        let Some(r) = UtmpRecord::from_layout(rec_bytes, lay) else {
            continue;
        };
        // A record with no time (tv_sec 0) or an unknown type is kept, with what is wrong with it said.
        let ts = match r.time() {
            Some(utc) => Timestamp::Exact { utc },
            None => Timestamp::Unknown,
        };
        if let UtType::Unknown(n) = r.ut_type {
            problems.push(ParseProblem::at_offset(
                ctx,
                offset,
                format!("record at offset {offset}: unknown ut_type {n}, kept as UNKNOWN({n})"),
            ));
        }
        if r.tv_sec == 0 {
            problems.push(ParseProblem::at_offset(
                ctx,
                offset,
                format!("record at offset {offset}: ut_tv is zero (no time written); its time is unknown"),
            ));
        } else if !(0..1_000_000).contains(&r.tv_usec) {
            problems.push(ParseProblem::at_offset(
                ctx,
                offset,
                format!("record at offset {offset}: tv_usec {} is not under a million; read as .000000", r.tv_usec),
            ));
        }
        let user = lossy_cow(r.ut_user);
        let line = lossy_cow(r.ut_line);
        let host = lossy_cow(r.ut_host);
        addr_buf.clear();
        let addr = r.write_addr(&mut addr_buf).then_some(addr_buf.as_str());
        let pair = pairs.get(i).copied().unwrap_or_default();
        // Fields are added in name order where that is cheap (`Fields` appends those without a search); the
        // last two, `tty` and `ut_type`, sort after every other name here.
        // Room for what this record's fields and message will hold (a million of them: a logout's two fields
        // in a four-field allocation, or its 30-byte message in 64, add up); anything more grows as usual.
        let n_fields = match (r.ut_type, pair) {
            (_, Pair::Login { .. }) => 6,
            (UtType::DeadProcess, _) if r.e_termination == 0 && r.e_exit == 0 => 2,
            _ => 4,
        };
        let mut f = Fields::with_capacity(n_fields);
        // Attacker-chosen names (user, tty, host) are quoted as `{:?}` quotes them, so they cannot pass for
        // message text.
        let mut message = String::with_capacity(32 + user.len() + line.len() + host.len() + addr.map_or(0, str::len));
        // A logout names the user of the login it closes.
        let mut logout_of: Option<std::borrow::Cow<str>> = None;
        let ev_kind = if kind == Source::Btmp {
            put_remote(&mut f, &host, addr);
            message.push_str("failed login ");
            push_quoted(&mut message, &user);
            message.push_str(" on ");
            push_quoted(&mut message, &line);
            push_from(&mut message, &host, addr);
            EventKind::LoginFailed
        } else {
            match r.ut_type {
                UtType::UserProcess => {
                    put_remote(&mut f, &host, addr);
                    if kind == Source::Utmp {
                        f.insert("current".into(), true);
                    }
                    message.push_str("login ");
                    push_quoted(&mut message, &user);
                    message.push_str(" on ");
                    push_quoted(&mut message, &line);
                    push_from(&mut message, &host, addr);
                    if let Pair::Login { end } = pair {
                        let text = match end {
                            SessionEnd::At { tv_sec, tv_usec } => {
                                // The logout record has no time of its own (tv_sec 0): it says so.
                                record_time(tv_sec, i64::from(tv_usec))
                                    .map_or(FieldValue::from("logout, time unknown"), |t| FieldValue::from(t.rfc3339()))
                            }
                            SessionEnd::Down { .. } => FieldValue::from("down"),
                            SessionEnd::Crash { .. } => FieldValue::from("crash"),
                            SessionEnd::Gone { .. } => FieldValue::from("gone - no logout"),
                            SessionEnd::Still => FieldValue::from("still logged in"),
                        };
                        f.insert("session_end".into(), text);
                        // A length needs both times: a zero one was never written.
                        if let Some(at) = end.closed_at().filter(|&at| at != 0 && r.tv_sec != 0) {
                            f.insert("session_seconds".into(), at - r.tv_sec);
                        }
                    }
                    EventKind::Login
                }
                UtType::DeadProcess => {
                    match login_user(raw, size, pair) {
                        Some(u) => {
                            message.push_str("logout ");
                            push_quoted(&mut message, &u);
                            message.push_str(" from ");
                            push_quoted(&mut message, &line);
                            logout_of = Some(u);
                        }
                        None => {
                            message.push_str("logout from ");
                            push_quoted(&mut message, &line);
                            message.push_str(" (no login seen)");
                        }
                    }
                    if r.e_termination != 0 || r.e_exit != 0 {
                        f.insert("e_exit".into(), r.e_exit);
                        f.insert("e_termination".into(), r.e_termination);
                    }
                    EventKind::Logout
                }
                UtType::BootTime => {
                    message.push_str("system boot");
                    if !host.is_empty() {
                        f.insert("kernel".into(), &*host);
                        let _ = write!(message, " ({host})");
                    }
                    EventKind::Boot
                }
                UtType::RunLvl if r.ut_user == b"shutdown" => {
                    message.push_str("system shutdown");
                    EventKind::Shutdown
                }
                UtType::RunLvl => {
                    // sysvinit stores the new run level in the low byte of ut_pid and the previous in the next.
                    let new = (r.ut_pid & 0xff) as u8;
                    let prev = ((r.ut_pid >> 8) & 0xff) as u8;
                    let show = |c: u8| {
                        if c.is_ascii_graphic() {
                            (c as char).to_string()
                        } else {
                            format!("{c}")
                        }
                    };
                    f.insert("runlevel".into(), show(new));
                    let _ = write!(message, "run level {} (was {})", show(new), show(prev));
                    EventKind::Log
                }
                other => {
                    if !host.is_empty() {
                        f.insert("host".into(), &*host);
                    }
                    let _ = write!(message, "{} {user:?} on {line:?}", other.name());
                    EventKind::Log
                }
            }
        };
        // Records of another architecture's layout say which (x86_64's, by far the most common, carry none).
        if lay != UtmpLayout::X86_64 {
            f.insert("record_layout".into(), lay.label());
        }
        if !line.is_empty() {
            f.insert("tty".into(), &*line);
        }
        f.insert("ut_type".into(), r.ut_type.name());
        // `reboot`, `shutdown` and `runlevel` in ut_user are markers, not accounts.
        let pseudo = kind != Source::Btmp && matches!(r.ut_type, UtType::BootTime | UtType::RunLvl);
        let account = !user.is_empty() && !pseudo;
        let mut uid_of = |name: &str| match uids.get(name) {
            Some(u) => *u,
            None => *uids.entry(name.into()).or_insert(ctx.accounts.by_name(name).map(|u| u.uid)),
        };
        let (uid, user) = match logout_of {
            // A logout record without a user of its own takes its login's.
            Some(u) if !account => (uid_of(&u), Some(u.into_owned())),
            _ if account => (uid_of(&user), Some(user.into_owned())),
            _ => (None, None),
        };
        out.events.push(Event {
            pid: Some(i64::from(r.ut_pid)).filter(|p| *p != 0),
            uid,
            user,
            fields: f,
            ..Event::new(
                ts,
                kind,
                ev_kind,
                message,
                Text::shared(raw.slice(i * size..(i + 1) * size)),
                Origin {
                    entry: path.clone(),
                    line: None,
                    offset: Some(offset),
                },
            )
        });
    }
    out
}

/// Session pairing, as `last` does it, over the records in file order: a USER_PROCESS opens a session on its
/// `ut_line`, the next DEAD_PROCESS on that line closes it, a shutdown record closes every open session as
/// `down` and a boot as `crash` (or `down` after a shutdown), a later login on the same line as `gone - no
/// logout`; sessions open at the end are `still logged in`. Zeroed records are skipped.
fn pair_sessions(raw: &[u8], lay: UtmpLayout, whole: usize) -> Vec<Pair> {
    let mut pairs = vec![Pair::None; whole];
    // Open sessions by tty: the login's record index.
    let mut open: HashMap<&[u8], usize, FxBuildHasher> = HashMap::default();
    let mut shutdown_seen = false;
    // Only the type, and for some types the line, user or time, is read (a zeroed record's type is EMPTY).
    for (idx, b) in raw.chunks_exact(lay.size).take(whole).enumerate() {
        touch_ahead(raw, lay, idx);
        match lay.rec_type(b) {
            UtType::UserProcess => {
                if let Some(prev) = open.insert(rec_line(b), idx) {
                    // The tty's next login ends it, at the latest.
                    pairs[prev] = Pair::Login { end: SessionEnd::Gone { at: lay.rec_secs(b) } };
                }
            }
            UtType::DeadProcess => {
                if let Some(login) = open.remove(rec_line(b)) {
                    // An out-of-range tv_usec (the decoder says so) counts as 0.
                    let tv_usec = i32::try_from(lay.rec_usecs(b)).unwrap_or(-1);
                    let end = SessionEnd::At { tv_sec: lay.rec_secs(b), tv_usec };
                    pairs[login] = Pair::Login { end };
                    pairs[idx] = Pair::Logout { login };
                }
            }
            UtType::RunLvl if rec_user(b) == b"shutdown" => {
                let end = SessionEnd::Down { at: lay.rec_secs(b) };
                shutdown_seen = true;
                for (_, login) in open.drain() {
                    pairs[login] = Pair::Login { end };
                }
            }
            UtType::BootTime => {
                let at = lay.rec_secs(b);
                let end = if shutdown_seen { SessionEnd::Down { at } } else { SessionEnd::Crash { at } };
                for (_, login) in open.drain() {
                    pairs[login] = Pair::Login { end };
                }
                shutdown_seen = false;
            }
            _ => {}
        }
    }
    for (_, login) in open {
        pairs[login] = Pair::Login { end: SessionEnd::Still };
    }
    pairs
}

/// The user name of the login a logout closes.
fn login_user(raw: &[u8], size: usize, pair: Pair) -> Option<std::borrow::Cow<'_, str>> {
    let Pair::Logout { login } = pair else { return None };
    let rec = raw.get(login * size..(login + 1) * size)?;
    Some(lossy_cow(rec_user(rec)))
}

fn put_remote(f: &mut Fields, host: &str, addr: Option<&str>) {
    if let Some(a) = addr {
        f.insert("addr".into(), a);
    }
    if !host.is_empty() {
        f.insert("host".into(), host);
    }
}

/// Appends where a login came from: the host (quoted) and its address when it says more.
fn push_from(m: &mut String, host: &str, addr: Option<&str>) {
    match (host.is_empty(), addr) {
        (false, Some(a)) if a != host => {
            m.push_str(" from ");
            push_quoted(m, host);
            m.push_str(" (");
            m.push_str(a);
            m.push(')');
        }
        (false, _) => {
            m.push_str(" from ");
            push_quoted(m, host);
        }
        (true, Some(a)) => {
            m.push_str(" from ");
            m.push_str(a);
        }
        (true, None) => {}
    }
}

/// A `struct lastlog` layout. glibc's `bits/utmp.h` makes `ll_time` an `int32_t` where
/// `__WORDSIZE_TIME64_COMPAT32` is set (x86_64 and 32-bit targets: 292 bytes, `ll_line` at 4, `ll_host` at
/// 36) and a 64-bit `__time_t` elsewhere (aarch64, s390x: 296 bytes, `ll_line` at 8, `ll_host` at 40, as
/// fixtures/utmp/arch/layout.c prints them). Record N is uid N's, at N × size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LastlogLayout {
    pub size: usize,
    pub big_endian: bool,
}

impl LastlogLayout {
    pub const X86_64: LastlogLayout = LastlogLayout { size: 292, big_endian: false };
    pub const TIME64_LE: LastlogLayout = LastlogLayout { size: 296, big_endian: false };
    pub const TIME64_BE: LastlogLayout = LastlogLayout { size: 296, big_endian: true };
    pub const TIME32_BE: LastlogLayout = LastlogLayout { size: 292, big_endian: true };
    pub const ALL: [LastlogLayout; 4] =
        [LastlogLayout::X86_64, LastlogLayout::TIME64_LE, LastlogLayout::TIME64_BE, LastlogLayout::TIME32_BE];

    /// The same architectures' `struct utmp`, whose label and list of architectures this one shares.
    fn utmp(self) -> UtmpLayout {
        UtmpLayout { size: if self.size == 296 { 400 } else { 384 }, big_endian: self.big_endian }
    }
    /// The `record_layout` field's value.
    pub fn label(self) -> &'static str {
        match (self.size, self.big_endian) {
            (292, false) => "292-byte little-endian",
            (296, false) => "296-byte little-endian",
            (296, true) => "296-byte big-endian",
            _ => "292-byte big-endian",
        }
    }
    fn text_at(self) -> usize {
        self.size - 288
    }
    fn ll_time(self, rec: &[u8]) -> i64 {
        let u = self.utmp();
        if self.size == 296 { u.i64_at(rec, 0) } else { i64::from(u.i32_at(rec, 0)) }
    }
    fn ll_line(self, rec: &[u8]) -> &[u8] {
        &rec[self.text_at()..self.text_at() + 32]
    }
    fn ll_host(self, rec: &[u8]) -> &[u8] {
        &rec[self.text_at() + 32..self.size]
    }
    /// Why a used record does not read as one of this layout; `None` when it does. A record holds nothing
    /// else to tell the byte order by, so its time must be 0 or fall from 2000 to `latest` (a year past the
    /// collection): a 292-byte record's time read in the other byte order is a number spread over 0..2^32.
    fn implausible(self, rec: &[u8], latest: i64) -> Option<String> {
        let t = self.ll_time(rec);
        if t != 0 && !(LASTLOG_EARLIEST..=latest).contains(&t) {
            return Some(format!("ll_time {t}"));
        }
        if !nul_padded(self.ll_line(rec)) {
            return Some("ll_line not NUL-padded".into());
        }
        if !nul_padded(self.ll_host(rec)) {
            return Some("ll_host not NUL-padded".into());
        }
        None
    }
}

/// 2000-01-01: the earliest `ll_time` taken as a time when finding the layout.
const LASTLOG_EARLIEST: i64 = 946_684_800;

/// The used (non-zero) records of `lay` in pieces of a lastlog file, `(file offset, bytes)`: bytes in no
/// piece are holes, zero. A record may span two pieces (the collector's extract cuts the file at multiples of
/// 292, whatever the record size). Returned by uid, each with its record's bytes; with `limit`, the first
/// `limit` records of pieces sorted by offset (the last of them may still lack a part in a later piece).
fn lastlog_records(
    pieces: &[(u64, &[u8])],
    lay: LastlogLayout,
    limit: Option<usize>,
) -> std::collections::BTreeMap<u64, Vec<u8>> {
    let size = lay.size as u64;
    let mut recs: std::collections::BTreeMap<u64, Vec<u8>> = std::collections::BTreeMap::new();
    for &(off, bytes) in pieces {
        if limit.is_some_and(|n| recs.len() >= n) {
            break;
        }
        let end = off.saturating_add(bytes.len() as u64);
        let mut k = off / size;
        while k.saturating_mul(size) < end {
            // Offsets come from the extract: a record past u64::MAX ends there.
            let (r0, r1) = (k * size, k.saturating_add(1).saturating_mul(size));
            let (a, b) = (r0.max(off), r1.min(end));
            let part = &bytes[(a - off) as usize..(b - off) as usize];
            if part.iter().any(|&c| c != 0) {
                if limit.is_some_and(|n| recs.len() >= n) && !recs.contains_key(&k) {
                    return recs;
                }
                let rec = recs.entry(k).or_insert_with(|| vec![0; lay.size]);
                rec[(a - r0) as usize..(b - r0) as usize].copy_from_slice(part);
            }
            k += 1;
        }
    }
    recs
}

/// The lastlog layout the used records were written in, by the rule of [`detect_layout`] (a size that divides
/// the file's, then the host's own, breaks an equal share), judged on the first [`SAMPLE`] used records;
/// `Err` says what each layout saw.
fn detect_lastlog(pieces: &[(u64, &[u8])], file_size: Option<u64>, ctx: &SourceCtx) -> Result<LastlogLayout, String> {
    let latest = ctx.manifest.collector.started.unix_seconds().saturating_add(366 * 86_400);
    let host = UtmpLayout::of_host(ctx);
    struct LFit {
        lay: LastlogLayout,
        sound: usize,
        seen: usize,
        first_bad: Option<(u64, String)>,
    }
    let fits: Vec<LFit> = LastlogLayout::ALL
        .iter()
        .map(|&lay| {
            let mut f = LFit { lay, sound: 0, seen: 0, first_bad: None };
            for (&uid, rec) in &lastlog_records(pieces, lay, Some(SAMPLE)) {
                f.seen += 1;
                match lay.implausible(rec, latest) {
                    None => f.sound += 1,
                    Some(why) if f.first_bad.is_none() => f.first_bad = Some((uid * lay.size as u64, why)),
                    Some(_) => {}
                }
            }
            f
        })
        .collect();
    if fits.iter().all(|f| f.seen == 0) {
        return Ok(LastlogLayout::X86_64);
    }
    let divides = |f: &LFit| file_size.is_some_and(|n| n % f.lay.size as u64 == 0);
    let mine = |f: &LFit| host == Some(f.lay.utmp());
    let better = |a: &LFit, b: &LFit| {
        (a.sound * b.seen.max(1))
            .cmp(&(b.sound * a.seen.max(1)))
            .then(divides(a).cmp(&divides(b)))
            .then(mine(a).cmp(&mine(b)))
    };
    let best = (0..fits.len()).max_by(|&a, &b| better(&fits[a], &fits[b])).unwrap_or(0);
    let tied = fits.iter().filter(|f| better(f, &fits[best]).is_eq()).count() > 1;
    if fits[best].sound * 2 > fits[best].seen && !tied {
        return Ok(fits[best].lay);
    }
    let seen: Vec<String> = fits
        .iter()
        .map(|f| {
            let bad = f.first_bad.as_ref().map(|(o, why)| format!(", offset {o}: {why}")).unwrap_or_default();
            format!("{} ({}): {} of {} records plausible{bad}", f.lay.label(), f.lay.utmp().arches(), f.sound, f.seen)
        })
        .collect();
    Err(format!(
        "no struct lastlog layout fits these records{}; records not read. {}",
        if tied { " (two fit equally)" } else { "" },
        seen.join("; ")
    ))
}

/// Events for the used records of a lastlog file given as pieces (see [`lastlog_records`]).
fn read_lastlog(pieces: &mut [(u64, &[u8])], file_size: Option<u64>, ctx: &SourceCtx, out: &mut Parsed) {
    pieces.sort_by_key(|p| p.0);
    match detect_lastlog(pieces, file_size, ctx) {
        Ok(lay) => {
            if let Some(n) = file_size.filter(|n| n % lay.size as u64 != 0) {
                let off = n - n % lay.size as u64;
                out.problems.push(ParseProblem::at_offset(
                    ctx,
                    off,
                    format!("torn final lastlog record at offset {off}: {} of {} bytes", n % lay.size as u64, lay.size),
                ));
            }
            for (uid, rec) in lastlog_records(pieces, lay, None) {
                lastlog_record(&rec, lay, uid, ctx, out);
            }
        }
        Err(why) => out.problems.push(ParseProblem::at_offset(ctx, 0, why)),
    }
}

/// Raw lastlog: record `i` belongs to uid `i`. Records with no time, line or host are unused (sparse).
fn parse_lastlog(raw: &[u8], ctx: &SourceCtx) -> Parsed {
    let mut out = Parsed::default();
    read_lastlog(&mut [(0, raw)], Some(raw.len() as u64), ctx, &mut out);
    out
}

fn lastlog_record(rec: &[u8], lay: LastlogLayout, uid: u64, ctx: &SourceCtx, out: &mut Parsed) {
    if rec.len() != lay.size {
        return;
    }
    let offset = uid.saturating_mul(lay.size as u64);
    let t = lay.ll_time(rec);
    let line = lossy(cstr(lay.ll_line(rec)));
    let host = lossy(cstr(lay.ll_host(rec)));
    if t == 0 && line.is_empty() && host.is_empty() {
        return;
    }
    // A used record with no time (ll_time 0) is of unknown time, not 1970.
    let timestamp = match Utc::from_unix(t, 0).filter(|_| t != 0) {
        Some(utc) => Timestamp::Exact { utc },
        None => {
            out.problems.push(ParseProblem::at_offset(
                ctx,
                offset,
                format!("lastlog record of uid {uid} at offset {offset}: ll_time {t} is no time; its time is unknown"),
            ));
            Timestamp::Unknown
        }
    };
    let uid32 = u32::try_from(uid).ok();
    let user = uid32.and_then(|u| ctx.accounts.user_name(u)).map(str::to_owned);
    let mut f = Fields::new();
    f.insert("lastlog".into(), true);
    if lay != LastlogLayout::X86_64 {
        f.insert("record_layout".into(), lay.label());
    }
    if !line.is_empty() {
        f.insert("tty".into(), line.as_str());
    }
    if !host.is_empty() {
        f.insert("host".into(), host.as_str());
    }
    out.events.push(Event {
        uid: uid32,
        user,
        fields: f,
        ..Event::new(
            timestamp,
            Source::Lastlog,
            EventKind::Login,
            {
                let mut m = format!("last login of uid {uid} on {line:?}");
                push_from(&mut m, &host, None);
                m
            },
            Text::from_bytes(rec),
            Origin {
                entry: ctx.path.clone(),
                line: None,
                offset: Some(offset),
            },
        )
    });
}

#[derive(serde::Deserialize)]
struct LastlogJson {
    /// The size of the pieces the collector cut the file into (292, x86_64's record size, whatever the
    /// file's own); the report finds the record size from the bytes.
    record_size: Option<u64>,
    file_size: Option<u64>,
    /// The collector stopped early at a cap.
    #[serde(default)]
    truncated: bool,
    records: Vec<LastlogJsonRecord>,
}

#[derive(serde::Deserialize)]
struct LastlogJsonRecord {
    uid: u64,
    offset: Option<u64>,
    record_b64: String,
}

fn parse_lastlog_json(raw: &[u8], ctx: &SourceCtx) -> Parsed {
    let mut out = Parsed::default();
    let doc: LastlogJson = match serde_json::from_slice(raw) {
        Ok(d) => d,
        Err(e) => {
            out.problems.push(ParseProblem::at_offset(
                ctx,
                0,
                format!("lastlog extract is not valid JSON: {e}"),
            ));
            return out;
        }
    };
    let piece_size = doc.record_size.unwrap_or(LASTLOG_SIZE as u64);
    if piece_size == 0 || piece_size > 1 << 20 {
        out.problems.push(ParseProblem::at_offset(ctx, 0, format!("lastlog extract piece size {piece_size}; records not read")));
        return out;
    }
    if doc.truncated {
        out.problems.push(ParseProblem::at_offset(
            ctx,
            0,
            "lastlog extract was cut at a cap: later uids are missing",
        ));
    }
    let mut decoded: Vec<(u64, Vec<u8>)> = Vec::with_capacity(doc.records.len());
    // Where each decoded record's base64 text stands in the extract, by its host-file offset: the events point
    // there, into this entry's bytes, not at the host lastlog's offset, which is no place in the entry.
    let mut at_in_extract: Vec<(u64, u64, Option<u64>)> = Vec::with_capacity(doc.records.len());
    let mut cursor = 0usize;
    for (i, r) in doc.records.iter().enumerate() {
        let at = raw.get(cursor..).and_then(|rest| memchr::memmem::find(rest, r.record_b64.as_bytes())).map(|p| cursor + p);
        if let Some(p) = at {
            cursor = p + r.record_b64.len();
        }
        let bytes = match base64::engine::general_purpose::STANDARD.decode(r.record_b64.as_bytes()) {
            Ok(b) => b,
            Err(e) => {
                out.problems.push(ParseProblem::at_line(
                    ctx,
                    i as u64 + 1,
                    format!("record {i}: bad base64: {e}"),
                ));
                continue;
            }
        };
        let offset = r.offset.unwrap_or(r.uid.saturating_mul(piece_size));
        // A piece is whole, or the last one, cut by the end of the file.
        let at_eof = doc.file_size == Some(offset.saturating_add(bytes.len() as u64));
        if bytes.len() as u64 > piece_size || (bytes.len() as u64) < piece_size && !at_eof {
            out.problems.push(ParseProblem::at_line(
                ctx,
                i as u64 + 1,
                format!("record {i} (uid {}): {} bytes, not {piece_size}", r.uid, bytes.len()),
            ));
            continue;
        }
        at_in_extract.push((offset, offset.saturating_add(bytes.len() as u64), at.map(|p| p as u64)));
        decoded.push((offset, bytes));
    }
    let mut pieces: Vec<(u64, &[u8])> = decoded.iter().map(|(o, b)| (*o, b.as_slice())).collect();
    read_lastlog(&mut pieces, doc.file_size, ctx, &mut out);
    for e in &mut out.events {
        if let Some(host) = e.origin.offset {
            e.origin.offset = at_in_extract.iter().find(|(from, to, _)| (*from..*to).contains(&host)).and_then(|p| p.2);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_layout_offsets() {
        let mut b = vec![0u8; UTMP_SIZE];
        b[0] = 7;
        b[4..8].copy_from_slice(&1234i32.to_le_bytes());
        b[8..13].copy_from_slice(b"pts/1");
        b[44..49].copy_from_slice(b"alice");
        b[76..85].copy_from_slice(b"10.0.0.42");
        b[340..344].copy_from_slice(&1_700_000_000i32.to_le_bytes());
        b[348..352].copy_from_slice(&[10, 0, 0, 42]);
        let r = UtmpRecord::from_bytes(&b).expect("384 bytes");
        assert_eq!(r.ut_type, UtType::UserProcess);
        assert_eq!(r.ut_pid, 1234);
        assert_eq!(r.ut_line, b"pts/1");
        assert_eq!(r.ut_user, b"alice");
        assert_eq!(r.addr().as_deref(), Some("10.0.0.42"));
        // Every IPv4 address is written as `Ipv4Addr` displays it.
        let mut b = vec![0u8; UTMP_SIZE];
        for quad in [[0u8, 0, 0, 1], [1, 2, 3, 4], [9, 10, 99, 100], [255, 254, 200, 109], [100, 0, 7, 0]] {
            b[348..352].copy_from_slice(&quad);
            let r = UtmpRecord::from_bytes(&b).expect("record");
            assert_eq!(r.addr(), Some(std::net::Ipv4Addr::from(quad).to_string()));
        }
        assert_eq!(r.time().map(|t| t.unix_seconds()), Some(1_700_000_000));
        assert!(UtmpRecord::from_bytes(&b[..383]).is_none());
        assert_eq!(UtType::from_i16(42), UtType::Unknown(42));
    }

    fn login_rec(ut_type: u8, line: &[u8], user: &[u8], secs: i32) -> Vec<u8> {
        let mut b = vec![0u8; UTMP_SIZE];
        b[0] = ut_type;
        b[4..8].copy_from_slice(&4242i32.to_le_bytes());
        b[8..8 + line.len()].copy_from_slice(line);
        b[44..44 + user.len()].copy_from_slice(user);
        b[340..344].copy_from_slice(&secs.to_le_bytes());
        b
    }

    /// A login whose tty is taken by the next login ended by then: it gets that length, so findings do not
    /// take it as open forever.
    #[test]
    fn login_replaced_on_its_tty_ends_at_the_next_login() {
        let mut raw = login_rec(7, b"pts/3", b"alice", 1_700_000_000);
        raw.extend(login_rec(7, b"pts/3", b"bob", 1_700_000_090));
        let m = crate::sources::testing::manifest();
        let e = crate::sources::testing::entry("fs/var/log/wtmp", "/var/log/wtmp", "logins", "utmp");
        let acc = coroner_schemas::accounts::Accounts::default();
        let p = parse(&Bytes::from(raw), &SourceCtx::new(&e, &m, &acc));
        assert_eq!(p.events.len(), 2);
        assert_eq!(p.events[0].field_str("session_end"), Some("gone - no logout"));
        assert_eq!(p.events[0].field_i64("session_seconds"), Some(90));
        assert_eq!(p.events[1].field_str("session_end"), Some("still logged in"));
        assert_eq!(p.events[1].message, "login \"bob\" on \"pts/3\"");
    }

    /// Regression: a wtmp over the collector's cap keeps its tail from an arbitrary byte; every record after the
    /// cut was read 100 bytes out of step.
    #[test]
    fn tail_kept_wtmp_is_realigned_to_whole_records() {
        let one = include_bytes!("../../../fixtures/utmp/wtmp");
        assert!(one.len() >= 4 * UTMP_SIZE);
        let original = &one[..4 * UTMP_SIZE];
        let kept = &original[100..];
        let m = crate::sources::testing::manifest();
        let mut e = crate::sources::testing::entry("fs/var/log/wtmp", "/var/log/wtmp", "logins", "utmp");
        e.size = kept.len() as u64;
        e.status = coroner_schemas::Status::Truncated {
            kept: coroner_schemas::manifest::Kept::Tail,
            original_size: original.len() as u64,
            reason: "cap".into(),
        };
        let acc = coroner_schemas::accounts::Accounts::default();
        let ctx = SourceCtx::new(&e, &m, &acc);
        let got = parse(&Bytes::from_static(kept), &ctx);
        // Whole records 2..4 of the original, at their true offsets in the kept bytes.
        let mut whole_e = crate::sources::testing::entry("fs/var/log/wtmp", "/var/log/wtmp", "logins", "utmp");
        whole_e.size = (3 * UTMP_SIZE) as u64;
        let ctx2 = SourceCtx::new(&whole_e, &m, &acc);
        let want = parse(&Bytes::from_static(&original[UTMP_SIZE..]), &ctx2);
        let msgs = |p: &Parsed| p.events.iter().map(|e| e.message.clone()).collect::<Vec<_>>();
        assert_eq!(msgs(&got), msgs(&want));
        assert_eq!(got.events.first().and_then(|e| e.origin.offset), Some((UTMP_SIZE - 100) as u64));
        assert!(got.problems[0].message.contains("first 284 bytes"), "{:?}", got.problems);
    }

    /// Names in messages are quoted as `{:?}` quotes them, on the fast path and off it.
    #[test]
    fn quoting_matches_debug() {
        for s in ["alice", "", "pts/0", "a b", "quo\"te", "back\\slash", "tab\there", "new\nline", "bell\u{7}",
            "caf\u{e9}", "\u{202e}rtl", "zero\u{200b}width", "\u{7f}del", "it's", "\u{1b}[31mred"] {
            let mut m = String::new();
            push_quoted(&mut m, s);
            assert_eq!(m, format!("{s:?}"), "{s:?}");
        }
    }
}
