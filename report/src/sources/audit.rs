//! `/var/log/audit/audit.log*` as auditd writes it, RAW or ENRICHED.
//!
//! A record is one line: `[node=HOST ]type=TYPE msg=audit(SECS.MSEC:SERIAL): key=value key=value …`. Values are
//! bare (`pid=42`), double-quoted (`comm="sleep"`), single-quoted user-space payloads (`msg='op=… res=success'`,
//! whose fields are read as if they stood on the line), or hex when an untrusted string holds spaces, quotes or
//! control bytes (`proctitle=736C65657000333030`, `comm=6D7920636F6D6D`). In the ENRICHED format a `\x1d` byte
//! follows the kernel's fields, then auditd's interpretation: `UID="root" AUID="alice" SYSCALL=kill …`.
//!
//! The records of one event share `(SECS.MSEC, SERIAL)` and are grouped back together: a kill-family
//! `SYSCALL` with its `OBJ_PID`s and `PROCTITLE` becomes `signal_sent` events (one per `OBJ_PID`, i.e. one per
//! process the kernel actually signalled), `SYSCALL`+`EXECVE`+`CWD`+`PATH` an `exec` event, `ANOM_ABEND` a
//! `process_crash`, `USER_CMD` a `privileged_command`, `SERVICE_START`/`SERVICE_STOP` service events; every
//! other event (LOGIN, USER_*, CRED_*, CONFIG_CHANGE, DAEMON_*, unknown types) is kept as an `audit` event.
//!
//! User names come from the bundle's own `/etc/passwd` ([`SourceCtx::accounts`]); when it does not know a uid,
//! the name auditd wrote into the ENRICHED tail is used and the event says so (`user_from: "enriched"`).


use bytes::Bytes;
use coroner_schemas::{Event, EventKind, FieldValue, Fields, Origin, Source, Text, Timestamp, Utc};
use serde_json::Value;

use super::{signals, ParseProblem, Parsed, SourceCtx};

/// `auid`/`ses` value meaning "not set" (`(unsigned)-1`).
pub const UNSET: u64 = 4_294_967_295;

/// Problems recorded one by one before the rest are only counted.
const MAX_PROBLEMS: usize = 1000;
/// Events of different serials kept open at once while waiting for more of their records (records of one
/// event are nearly always adjacent; a few can interleave).
const OPEN_GROUPS: usize = 4;

/// Audit architecture identifiers (`AUDIT_ARCH_*`) this parser knows the kill-family syscall numbers of.
pub const ARCH_X86_64: u32 = 0xc000_003e;
pub const ARCH_I386: u32 = 0x4000_0003;
pub const ARCH_AARCH64: u32 = 0xc000_00b7;

/// The syscalls that send signals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KillSyscall {
    /// `kill(pid, sig)`: pid > 0 one process, 0 own group, -1 every process, < -1 process group -pid.
    Kill,
    /// `tkill(tid, sig)`.
    Tkill,
    /// `tgkill(tgid, tid, sig)`.
    Tgkill,
    /// `rt_sigqueueinfo(tgid, sig, info)`.
    RtSigqueueinfo,
    /// `rt_tgsigqueueinfo(tgid, tid, sig, info)`.
    RtTgsigqueueinfo,
    /// `pidfd_send_signal(pidfd, sig, info, flags)`: the target is known only from `OBJ_PID`.
    PidfdSendSignal,
}

impl KillSyscall {
    pub fn name(self) -> &'static str {
        match self {
            KillSyscall::Kill => "kill",
            KillSyscall::Tkill => "tkill",
            KillSyscall::Tgkill => "tgkill",
            KillSyscall::RtSigqueueinfo => "rt_sigqueueinfo",
            KillSyscall::RtTgsigqueueinfo => "rt_tgsigqueueinfo",
            KillSyscall::PidfdSendSignal => "pidfd_send_signal",
        }
    }

    /// Which kill-family syscall `nr` is on audit architecture `arch`.
    pub fn from_arch(arch: u32, nr: u64) -> Option<KillSyscall> {
        use KillSyscall::*;
        match (arch, nr) {
            (ARCH_X86_64, 62) | (ARCH_I386, 37) | (ARCH_AARCH64, 129) => Some(Kill),
            (ARCH_X86_64, 200) | (ARCH_I386, 238) | (ARCH_AARCH64, 130) => Some(Tkill),
            (ARCH_X86_64, 234) | (ARCH_I386, 270) | (ARCH_AARCH64, 131) => Some(Tgkill),
            (ARCH_X86_64, 129) | (ARCH_I386, 178) | (ARCH_AARCH64, 138) => Some(RtSigqueueinfo),
            (ARCH_X86_64, 297) | (ARCH_I386, 335) | (ARCH_AARCH64, 240) => Some(RtTgsigqueueinfo),
            (ARCH_X86_64 | ARCH_I386 | ARCH_AARCH64, 424) => Some(PidfdSendSignal),
            _ => None,
        }
    }
}

fn arch_name(arch: u32) -> Option<&'static str> {
    match arch {
        ARCH_X86_64 => Some("x86_64"),
        ARCH_I386 => Some("i386"),
        ARCH_AARCH64 => Some("aarch64"),
        _ => None,
    }
}

/// A field value as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Val<'a> {
    /// Unquoted: a number, a word, or hex-encoded bytes.
    Bare(&'a [u8]),
    /// Between double quotes (quotes removed).
    Quoted(&'a [u8]),
}

impl<'a> Val<'a> {
    fn bytes(self) -> &'a [u8] {
        match self {
            Val::Bare(b) | Val::Quoted(b) => b,
        }
    }
}

/// One audit record (one line).
struct Rec<'a> {
    line_no: u64,
    /// Byte offsets of the line (without its newline) in the entry.
    start: usize,
    end: usize,
    rtype: &'a [u8],
    node: Option<&'a [u8]>,
    secs: i64,
    msec: u32,
    serial: u64,
    fields: Vec<(&'a [u8], Val<'a>)>,
    /// ENRICHED interpretation after `\x1d` (`UID` → `root`).
    enriched: Vec<(&'a [u8], &'a [u8])>,
}

impl<'a> Rec<'a> {
    fn get(&self, key: &str) -> Option<Val<'a>> {
        let k = key.as_bytes();
        self.fields.iter().find(|(fk, _)| same_key(fk, k)).map(|&(_, v)| v)
    }
    fn enriched(&self, key: &str) -> Option<&'a [u8]> {
        let k = key.as_bytes();
        self.enriched.iter().find(|(fk, _)| same_key(fk, k)).map(|&(_, v)| v)
    }
    fn dec(&self, key: &str) -> Option<i64> {
        self.get(key).and_then(|v| parse_i64(v.bytes()))
    }
    fn hex(&self, key: &str) -> Option<u64> {
        self.get(key).and_then(|v| parse_hex(v.bytes()))
    }
    /// An untrusted string field: quoted, or hex when bare (`(null)` and `?` are kept as they are).
    fn string(&self, key: &str) -> Option<String> {
        self.get(key).map(|v| lossy(&untrusted(v)))
    }
    /// A plain word or number as text (`res=success`, `tty=pts0`).
    fn word(&self, key: &str) -> Option<String> {
        self.get(key).map(|v| lossy(v.bytes()))
    }
    fn is(&self, t: &str) -> bool {
        same_key(self.rtype, t.as_bytes())
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn parse_i64(b: &[u8]) -> Option<i64> {
    let (neg, digits) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let mut n: i64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(i64::from(c - b'0'))?;
    }
    Some(if neg { -n } else { n })
}

fn parse_u64(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 20 {
        return None;
    }
    let mut n: u64 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(n)
}

/// A bare hex number (`a0=9`, `arch=c000003e`): only hex digits, as `from_str_radix` alone would also take `+`.
fn parse_hex(b: &[u8]) -> Option<u64> {
    if !b.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u64::from_str_radix(std::str::from_utf8(b).ok()?, 16).ok()
}

/// Hex-encoded bytes (`736C656570` → `sleep`), or `None` when `b` is not an even run of hex digits.
fn hex_bytes(b: &[u8]) -> Option<Vec<u8>> {
    if b.is_empty() {
        return None;
    }
    hex::decode(b).ok()
}

/// The bytes of an untrusted string: quoted as is, bare hex decoded, anything else (`(null)`, `?`) as is.
/// Key (or record type) equality, settled by length and first byte before a full comparison: a record's
/// lookups scan some twenty keys each, nearly all different in length or first letter, and a `memcmp` call
/// per key added up.
fn same_key(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.first() == b.first() && a == b
}

fn untrusted(v: Val) -> Vec<u8> {
    match v {
        Val::Quoted(b) => b.to_vec(),
        Val::Bare(b) => hex_bytes(b).unwrap_or_else(|| b.to_vec()),
    }
}

/// Splits `key=value` fields; a single-quoted value (`msg='…'`) is read as more fields.
fn parse_fields<'a>(mut s: &'a [u8], out: &mut Vec<(&'a [u8], Val<'a>)>, depth: u8) -> Result<(), &'static str> {
    let mut bad = Ok(());
    loop {
        while let [b' ' | b'\t', rest @ ..] = s {
            s = rest;
        }
        if s.is_empty() {
            return bad;
        }
        let tok_end = s.iter().position(|&c| c == b' ' || c == b'=').unwrap_or(s.len());
        if tok_end == s.len() || s[tok_end] == b' ' {
            // A word without `=` (some user-space messages carry free text): skip it.
            s = &s[tok_end..];
            continue;
        }
        let key = &s[..tok_end];
        let rest = &s[tok_end + 1..];
        match rest.first() {
            Some(b'"') => {
                let body = &rest[1..];
                match body.iter().position(|&c| c == b'"') {
                    Some(q) => {
                        out.push((key, Val::Quoted(&body[..q])));
                        s = &body[q + 1..];
                    }
                    None => {
                        out.push((key, Val::Quoted(body)));
                        bad = Err("unterminated quoted value");
                        s = &[];
                    }
                }
            }
            Some(b'\'') => {
                let body = &rest[1..];
                let (inner, next, closed) = match body.iter().position(|&c| c == b'\'') {
                    Some(q) => (&body[..q], &body[q + 1..], true),
                    None => (body, &[][..], false),
                };
                if depth == 0 {
                    parse_fields(inner, out, 1)?;
                } else {
                    out.push((key, Val::Quoted(inner)));
                }
                if !closed {
                    bad = Err("unterminated single-quoted value");
                }
                s = next;
            }
            _ => {
                let e = rest.iter().position(|&c| c == b' ').unwrap_or(rest.len());
                out.push((key, Val::Bare(&rest[..e])));
                s = &rest[e..];
            }
        }
    }
}

/// ENRICHED tail: `KEY="value"` or `KEY=value`, space separated.
fn parse_enriched<'a>(mut s: &'a [u8], out: &mut Vec<(&'a [u8], &'a [u8])>) {
    loop {
        while let [b' ' | b'\x1d', rest @ ..] = s {
            s = rest;
        }
        let Some(eq) = s.iter().position(|&c| c == b'=') else {
            return;
        };
        let key = &s[..eq];
        let rest = &s[eq + 1..];
        if let Some(body) = rest.strip_prefix(b"\"") {
            let q = body.iter().position(|&c| c == b'"').unwrap_or(body.len());
            out.push((key, &body[..q]));
            s = body.get(q + 1..).unwrap_or(&[]);
        } else {
            let e = rest.iter().position(|&c| c == b' ').unwrap_or(rest.len());
            out.push((key, &rest[..e]));
            s = &rest[e..];
        }
    }
}

/// Reads one line into a record, or says why it is not one.
fn parse_line(line: &[u8], line_no: u64, start: usize) -> Result<Rec<'_>, &'static str> {
    let mut s = line;
    if let Some(b'\r') = s.last() {
        s = &s[..s.len() - 1];
    }
    let mut node = None;
    if let Some(rest) = s.strip_prefix(b"node=") {
        let e = rest.iter().position(|&c| c == b' ').ok_or("node= without a record")?;
        node = Some(&rest[..e]);
        s = &rest[e + 1..];
    }
    let rest = s.strip_prefix(b"type=").ok_or("not an audit record (no type=)")?;
    let e = rest
        .iter()
        .position(|&c| c == b' ')
        .ok_or("no msg=audit(…) after type=")?;
    let rtype = &rest[..e];
    let rest = rest[e + 1..]
        .strip_prefix(b"msg=audit(")
        .ok_or("no msg=audit(…) after type=")?;
    let close = rest
        .iter()
        .take(64)
        .position(|&c| c == b')')
        .ok_or("unterminated msg=audit(")?;
    let stamp = &rest[..close];
    let dot = stamp.iter().position(|&c| c == b'.').ok_or("bad audit timestamp")?;
    let colon = stamp.iter().position(|&c| c == b':').ok_or("bad audit timestamp")?;
    if colon < dot {
        return Err("bad audit timestamp");
    }
    let secs = parse_i64(&stamp[..dot]).ok_or("bad audit timestamp")?;
    let frac = &stamp[dot + 1..colon];
    let msec = parse_u64(frac)
        .filter(|_| frac.len() <= 9)
        .ok_or("bad audit timestamp")?;
    // Always three digits as auditd writes them; scale other widths to milliseconds.
    let msec = match frac.len() {
        3 => msec as u32,
        n if n < 3 => (msec * 10u64.pow(3 - n as u32)) as u32,
        n => (msec / 10u64.pow(n as u32 - 3)) as u32,
    };
    let serial = parse_u64(&stamp[colon + 1..]).ok_or("bad audit serial")?;
    let mut body = &rest[close + 1..];
    body = body.strip_prefix(b":").unwrap_or(body);
    let (kernel, enr) = match body.iter().position(|&c| c == 0x1d) {
        Some(p) => (&body[..p], Some(&body[p + 1..])),
        None => (body, None),
    };
    let mut rec = Rec {
        line_no,
        start,
        end: start + line.len(),
        rtype,
        node,
        secs,
        msec,
        serial,
        fields: Vec::with_capacity(24),
        enriched: Vec::new(),
    };
    // A record whose quoting is broken keeps the fields read so far; the caller records the problem.
    let quoting = parse_fields(kernel, &mut rec.fields, 0);
    if let Some(enr) = enr {
        rec.enriched.reserve(12);
        parse_enriched(enr, &mut rec.enriched);
    }
    match quoting {
        Ok(()) => Ok(rec),
        Err(_) if !rec.fields.is_empty() => Ok(rec),
        Err(e) => Err(e),
    }
}

struct Group<'a> {
    key: (i64, u32, u64),
    recs: Vec<Rec<'a>>,
}

struct State<'c, 'a> {
    ctx: &'c SourceCtx<'a>,
    raw: &'c Bytes,
    out: Parsed,
    problems_dropped: u64,
}

impl State<'_, '_> {
    fn problem(&mut self, line: u64, msg: impl Into<String>) {
        if self.out.problems.len() < MAX_PROBLEMS {
            self.out.problems.push(ParseProblem::at_line(self.ctx, line, msg));
        } else {
            self.problems_dropped += 1;
        }
    }
}

/// The `SECS.MSEC:SERIAL` of a line, to avoid splitting one event between two parts.
fn line_key(line: &[u8]) -> Option<&[u8]> {
    let head = &line[..line.len().min(256)];
    let at = head.windows(10).position(|w| w == b"msg=audit(")? + 10;
    let len = head[at..].iter().position(|&c| c == b')')?;
    Some(&head[at..at + len])
}

/// Byte offsets `0 < c1 < … < len` cutting `raw` into about `parts` pieces: each cut starts a line whose event
/// differs from the line before's.
pub fn split_points(raw: &[u8], parts: usize) -> Vec<usize> {
    let mut cuts: Vec<usize> = Vec::new();
    let next_line = |p: usize| raw[p..].iter().position(|&c| c == b'\n').map(|n| p + n + 1);
    for i in 1..parts.max(1) {
        let Some(mut p) = next_line(raw.len() / parts * i) else {
            break;
        };
        for _ in 0..256 {
            let prev_start = raw[..p - 1].iter().rposition(|&c| c == b'\n').map_or(0, |n| n + 1);
            let end = next_line(p).unwrap_or(raw.len());
            let same = match (line_key(&raw[prev_start..p - 1]), line_key(&raw[p..end])) {
                (Some(a), Some(b)) => a == b,
                _ => false,
            };
            if !same || end >= raw.len() {
                break;
            }
            p = end;
        }
        if p < raw.len() && p > cuts.last().copied().unwrap_or(0) {
            cuts.push(p);
        }
    }
    cuts
}

/// Events are the records grouped by `msg=audit(…)`; each keeps its lines as a slice of `raw`.
pub fn parse(raw: &Bytes, ctx: &SourceCtx) -> Parsed {
    let mut st = State {
        ctx,
        raw,
        out: Parsed { events: Vec::with_capacity(raw.len() / 1024 + 16), ..Parsed::default() },
        problems_dropped: 0,
    };
    let mut open: Vec<Group> = Vec::with_capacity(OPEN_GROUPS + 1);
    let to = raw.len();
    let mut pos = 0;
    let mut line_no = 0u64;
    while pos < to {
        line_no += 1;
        let (line, next, complete) = match memchr::memchr(b'\n', &raw[pos..to]) {
            Some(n) => (&raw[pos..pos + n], pos + n + 1, true),
            None => (&raw[pos..to], to, false),
        };
        let start = pos;
        pos = next;
        if !complete {
            st.problem(
                line_no,
                format!(
                    "last line has no newline ({} bytes): the file may be cut mid-record",
                    line.len()
                ),
            );
        }
        if line.iter().all(|c| c.is_ascii_whitespace()) {
            continue;
        }
        let rec = match parse_line(line, line_no, start) {
            Ok(r) => r,
            Err(why) => {
                st.problem(line_no, format!("{why}: {}", preview(line)));
                continue;
            }
        };
        if rec.fields.is_empty() && !rec.is("EOE") {
            // Kept as an event anyway: the record type and time are evidence.
        }
        let key = (rec.secs, rec.msec, rec.serial);
        let is_eoe = rec.is("EOE");
        match open.iter().rposition(|g| g.key == key) {
            Some(i) => {
                if is_eoe {
                    let g = open.remove(i);
                    emit(&mut st, g);
                } else {
                    open[i].recs.push(rec);
                }
            }
            None => {
                if is_eoe {
                    // An end-of-event marker whose records were already flushed (or never written).
                    continue;
                }
                if open.len() >= OPEN_GROUPS {
                    let g = open.remove(0);
                    emit(&mut st, g);
                }
                let mut recs = Vec::with_capacity(6);
                recs.push(rec);
                open.push(Group { key, recs });
            }
        }
    }
    for g in std::mem::take(&mut open) {
        emit(&mut st, g);
    }
    if st.problems_dropped > 0 {
        let n = st.problems_dropped;
        st.out.problems.push(ParseProblem::at_line(
            ctx,
            line_no,
            format!("{n} more malformed lines not listed"),
        ));
    }
    // Groups are flushed nearly in file order; make it exact (stable: one group's events keep their order).
    st.out.events.sort_by_key(|e| e.origin.offset);
    st.out
}

fn preview(line: &[u8]) -> String {
    let cut = &line[..line.len().min(80)];
    let mut s: String = String::from_utf8_lossy(cut)
        .chars()
        .map(|c| if c.is_control() { '.' } else { c })
        .collect();
    if line.len() > 80 {
        s.push('…');
    }
    s
}

/// Builds the shared parts of an event from a group.
struct Common {
    timestamp: Timestamp,
    raw: Text,
    origin: Origin,
    serial: u64,
}

fn common(st: &mut State, g: &Group) -> Common {
    let first = &g.recs[0];
    let last = &g.recs[g.recs.len() - 1];
    let contiguous = g.recs.windows(2).all(|w| w[1].start == w[0].end + 1);
    let raw = if contiguous {
        Text::shared(st.raw.slice(first.start..last.end))
    } else {
        let mut v = Vec::new();
        for (i, r) in g.recs.iter().enumerate() {
            if i > 0 {
                v.push(b'\n');
            }
            v.extend_from_slice(&st.raw[r.start..r.end]);
        }
        Text::from_vec(v)
    };
    // A zero time is no time: the kernel stamps records from its clock, which is never at the epoch.
    let time = Utc::from_unix(first.secs, first.msec.saturating_mul(1_000_000));
    let timestamp = match time.filter(|_| first.secs != 0 || first.msec != 0) {
        Some(utc) => Timestamp::Exact { utc },
        None if time.is_some() => {
            st.problem(first.line_no, "audit time 0.000 (the epoch): no time, kept undated".to_owned());
            Timestamp::Unknown
        }
        None => {
            st.problem(
                first.line_no,
                format!("audit time {}.{:03} out of range", first.secs, first.msec),
            );
            Timestamp::Unknown
        }
    };
    Common {
        timestamp,
        raw,
        origin: Origin {
            entry: st.ctx.path.clone(),
            line: Some(first.line_no),
            offset: Some(st.ctx.offset + first.start as u64),
        },
        serial: first.serial,
    }
}

/// A user name for `uid`: the bundle's passwd first, then the ENRICHED name; `(name, from_enriched)`.
fn name_for(ctx: &SourceCtx, uid: u64, enriched: Option<&[u8]>) -> Option<(String, bool)> {
    if uid == UNSET {
        return None;
    }
    if let Some(n) = u32::try_from(uid).ok().and_then(|u| ctx.accounts.user_name(u)) {
        return Some((n.to_owned(), false));
    }
    match enriched {
        Some(b) if !b.is_empty() && b != b"unset" && b != b"?" && !b.starts_with(b"unknown(") => Some((lossy(b), true)),
        _ => None,
    }
}

/// `-1` (as some records write an unset id) → [`UNSET`].
fn id_field(r: &Rec, key: &str) -> Option<u64> {
    let v = r.dec(key)?;
    if v == -1 {
        Some(UNSET)
    } else {
        u64::try_from(v).ok()
    }
}

fn ins(f: &mut Fields, k: &'static str, v: impl Into<FieldValue>) {
    f.insert(k.into(), v.into());
}

fn ins_opt<T: Into<FieldValue>>(f: &mut Fields, k: &'static str, v: Option<T>) {
    if let Some(v) = v {
        f.insert(k.into(), v.into());
    }
}

/// The subject of a record (`pid`, `ppid`, `uid`, `comm`) and the usual identity fields.
struct Subject {
    pid: Option<i64>,
    ppid: Option<i64>,
    uid: Option<u32>,
    user: Option<String>,
    comm: Option<String>,
}

fn subject(ctx: &SourceCtx, r: &Rec, f: &mut Fields) -> Subject {
    let uid = id_field(r, "uid");
    let mut user = None;
    if let Some(u) = uid {
        if let Some((n, enr)) = name_for(ctx, u, r.enriched("UID")) {
            if enr {
                ins(f, "user_from", "enriched");
            }
            user = Some(n);
        }
    }
    if let Some(a) = id_field(r, "auid") {
        ins(f, "auid", a);
        if let Some((n, enr)) = name_for(ctx, a, r.enriched("AUID")) {
            ins(f, "auser", n);
            if enr {
                ins(f, "auser_from", "enriched");
            }
        }
    }
    ins_opt(f, "ses", id_field(r, "ses"));
    if let Some(n) = r.node {
        ins(f, "node", lossy(n));
    }
    Subject {
        pid: r.dec("pid"),
        ppid: r.dec("ppid"),
        uid: uid.and_then(|u| u32::try_from(u).ok()),
        user,
        comm: r.string("comm"),
    }
}

fn event(c: &Common, source_kind: EventKind, s: Subject, message: String, mut fields: Fields) -> Event {
    // Built with room to spare (no regrowing while fields are added); kept at their size (a kill event's
    // 25 fields would otherwise hold room for 32).
    fields.shrink_to_fit();
    Event {
        pid: s.pid,
        ppid: s.ppid,
        uid: s.uid,
        user: s.user,
        comm: s.comm,
        fields,
        ..Event::new(
            c.timestamp.clone(),
            Source::Audit,
            source_kind,
            one_line(message),
            c.raw.clone(),
            c.origin.clone(),
        )
    }
}

/// Messages are one line: control characters in evidence (a `bash -c` script's newlines) are escaped.
fn one_line(m: String) -> String {
    if !m.chars().any(char::is_control) {
        return m;
    }
    m.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

fn who(s: &Subject) -> String {
    let mut w = String::new();
    if let Some(p) = s.pid {
        w.push_str(&format!("pid {p}"));
    }
    if let Some(c) = &s.comm {
        w.push_str(&format!(" ({c})"));
    }
    match (&s.user, s.uid) {
        (Some(u), _) => w.push_str(&format!(" as {u}")),
        (None, Some(u)) => w.push_str(&format!(" as uid {u}")),
        _ => {}
    }
    w
}

fn emit(st: &mut State, g: Group) {
    let ctx = st.ctx;
    let c = common(st, &g);
    let syscall = g.recs.iter().find(|r| r.is("SYSCALL"));
    if let Some(sc) = syscall {
        let arch = sc.hex("arch");
        let nr = sc.dec("syscall").and_then(|n| u64::try_from(n).ok());
        if let Some(kind) = arch.zip(nr).and_then(|(a, n)| KillSyscall::from_arch(a as u32, n)) {
            emit_kill(st, &g, sc, kind, &c);
            return;
        }
        if g.recs.iter().any(|r| r.is("EXECVE")) {
            emit_exec(st, &g, sc, &c);
            return;
        }
    }
    // The subject (pid, ppid, comm, exe) comes from the SYSCALL record when there is one; what the event is
    // comes from the record it was written for: a LOGIN record travels with the SYSCALL of the write to
    // /proc/self/loginuid that caused it, and that syscall is not the news.
    let first = syscall.unwrap_or(&g.recs[0]);
    let main = g.recs.iter().find(|r| r.is("LOGIN")).unwrap_or(first);
    let mut f = Fields::with_capacity(16);
    let s = subject(ctx, first, &mut f);
    ins(&mut f, "serial", c.serial);
    let rtype = lossy(main.rtype);
    ins(&mut f, "record_type", rtype.as_str());
    let res = main.word("res");
    let first = main;
    let (kind, message) = match first.rtype {
        b"ANOM_ABEND" => {
            let sig = first.dec("sig");
            let name = sig.and_then(signals::name);
            ins_opt(&mut f, "signal", sig);
            ins_opt(&mut f, "signal_name", name.clone());
            ins_opt(&mut f, "exe", first.string("exe"));
            ins(&mut f, "reason", "ANOM_ABEND");
            let m = format!(
                "process {} ended abnormally with {}",
                who(&s),
                name.unwrap_or_else(|| sig.map_or("an unknown signal".to_owned(), |n| format!("signal {n}")))
            );
            (EventKind::ProcessCrash, m)
        }
        b"USER_CMD" => {
            let cmd = first.string("cmd");
            ins_opt(&mut f, "command", cmd.clone());
            ins_opt(&mut f, "pwd", first.string("cwd"));
            ins_opt(&mut f, "tty", first.word("terminal"));
            ins_opt(&mut f, "exe", first.string("exe"));
            ins_opt(&mut f, "res", res.clone());
            let m = format!("{} ran privileged command: {}", who(&s), cmd.as_deref().unwrap_or("?"));
            (EventKind::PrivilegedCommand, m)
        }
        b"SERVICE_START" | b"SERVICE_STOP" => {
            // systemd writes the unit's name as is (unit names cannot hold spaces or quotes): never hex.
            let unit = first.word("unit");
            ins_opt(&mut f, "unit", unit.clone());
            ins_opt(&mut f, "res", res.clone());
            let start = first.is("SERVICE_START");
            let m = format!(
                "service {} {}{}",
                unit.as_deref().unwrap_or("?"),
                if start { "started" } else { "stopped" },
                res.as_deref().map(|r| format!(" (res={r})")).unwrap_or_default()
            );
            (
                if start {
                    EventKind::ServiceStart
                } else {
                    EventKind::ServiceStop
                },
                m,
            )
        }
        b"LOGIN" => {
            ins_opt(&mut f, "exe", syscall.and_then(|sc| sc.string("exe")));
            ins_opt(&mut f, "old_auid", id_field(first, "old-auid"));
            ins_opt(&mut f, "old_ses", id_field(first, "old-ses"));
            ins_opt(&mut f, "tty", first.word("tty"));
            ins_opt(&mut f, "res", res.clone());
            let m = format!(
                "login uid set: auid {} ses {} for {}",
                f.get("auser").and_then(|v| v.as_str()).map_or_else(
                    || f.get("auid").map_or("?".to_owned(), |v| v.to_string()),
                    str::to_owned
                ),
                f.get("ses").map_or("?".to_owned(), |v| v.to_string()),
                who(&s)
            );
            (EventKind::Audit, m)
        }
        _ => {
            for k in ["op", "acct", "hostname", "addr", "terminal", "exe", "unit", "key"] {
                if let Some(v) = first.get(k) {
                    let text = if matches!(k, "acct" | "exe" | "key") {
                        lossy(&untrusted(v))
                    } else {
                        lossy(v.bytes())
                    };
                    ins(&mut f, k, text);
                }
            }
            if let Some(sc) = syscall {
                // The number; kill-family events carry the name in `syscall` (one type per key).
                ins_opt(&mut f, "syscall_nr", sc.dec("syscall"));
                ins_opt(&mut f, "success", sc.word("success").map(|s| s == "yes"));
            }
            ins_opt(&mut f, "res", res.clone());
            let mut m = rtype.clone();
            for k in ["op", "acct", "exe", "key"] {
                if let Some(v) = f.get(k).and_then(|v| v.as_str()) {
                    m.push_str(&format!(" {k}={v}"));
                }
            }
            if let Some(sc) = syscall {
                // The number, not the ENRICHED name, so RAW and ENRICHED logs read the same.
                if let Some(n) = sc.word("syscall") {
                    m.push_str(&format!(" syscall={n}"));
                }
            }
            if let Some(r) = &res {
                m.push_str(&format!(" res={r}"));
            }
            if s.pid.is_some() {
                m.push_str(&format!(" by {}", who(&s)));
            }
            (EventKind::Audit, m)
        }
    };
    let e = event(&c, kind, s, message, f);
    st.out.events.push(e);
}

fn proctitle(g: &Group) -> Option<String> {
    let r = g.recs.iter().find(|r| r.is("PROCTITLE"))?;
    let b = untrusted(r.get("proctitle")?);
    let mut s = String::from_utf8_lossy(&b).into_owned().replace('\0', " ");
    while s.ends_with(' ') {
        s.pop();
    }
    Some(s)
}

/// Sender fields shared by signal and exec events.
fn syscall_fields(sc: &Rec, f: &mut Fields, serial: u64) {
    ins(f, "serial", serial);
    ins_opt(f, "exe", sc.string("exe"));
    ins_opt(f, "tty", sc.word("tty"));
    ins_opt(f, "key", sc.string("key"));
    ins_opt(f, "success", sc.word("success").map(|s| s == "yes"));
    ins_opt(f, "exit", sc.dec("exit"));
    ins_opt(f, "arch", sc.hex("arch").and_then(|a| arch_name(a as u32)));
}

fn emit_kill(st: &mut State, g: &Group, sc: &Rec, kind: KillSyscall, c: &Common) {
    let ctx = st.ctx;
    let a = |k: &str| sc.hex(k);
    // Syscall arguments are logged as unsigned hex of the register; pids and signals are C ints.
    let as_int = |v: u64| i64::from(v as u32 as i32);
    let (target_arg, sig, tgid) = match kind {
        KillSyscall::Kill | KillSyscall::Tkill | KillSyscall::RtSigqueueinfo => (a("a0").map(as_int), a("a1"), None),
        KillSyscall::Tgkill | KillSyscall::RtTgsigqueueinfo => (a("a1").map(as_int), a("a2"), a("a0").map(as_int)),
        KillSyscall::PidfdSendSignal => (None, a("a1"), None),
    };
    let sig = sig.map(as_int);
    let sig_name = sig.and_then(signals::name);
    let mut base = Fields::with_capacity(32);
    let s = subject(ctx, sc, &mut base);
    syscall_fields(sc, &mut base, c.serial);
    ins(&mut base, "syscall", kind.name());
    ins_opt(&mut base, "signal", sig);
    ins_opt(&mut base, "signal_name", sig_name.clone());
    ins_opt(&mut base, "target_arg", target_arg);
    ins_opt(&mut base, "target_tgid", tgid);
    if kind == KillSyscall::PidfdSendSignal {
        ins_opt(&mut base, "pidfd", a("a0").map(as_int));
    }
    ins_opt(&mut base, "proctitle", proctitle(g));
    let objs: Vec<&Rec> = g.recs.iter().filter(|r| r.is("OBJ_PID")).collect();
    if !objs.is_empty() {
        ins(&mut base, "target_count", objs.len());
    }
    let signame = sig_name
        .clone()
        .unwrap_or_else(|| sig.map_or("?".to_owned(), |n| format!("signal {n}")));
    let arg_text = target_arg.map_or_else(
        || match kind {
            KillSyscall::PidfdSendSignal => format!("pidfd {}", a("a0").map(as_int).unwrap_or(-1)),
            _ => "?".to_owned(),
        },
        |t| t.to_string(),
    );
    let failed = sc.word("success").is_some_and(|s| s == "no");
    let scope = match target_arg {
        Some(-1) if matches!(kind, KillSyscall::Kill) => " (every process)",
        Some(0) if matches!(kind, KillSyscall::Kill) => " (own process group)",
        Some(t) if t < -1 && matches!(kind, KillSyscall::Kill) => " (process group)",
        _ => "",
    };
    let head = format!("{}({arg_text}, {signame}){scope} by {}", kind.name(), who(&s));
    let fail = if failed {
        format!(" failed (exit={})", sc.dec("exit").unwrap_or(0))
    } else {
        String::new()
    };
    if objs.is_empty() {
        let mut f = base;
        ins_opt(&mut f, "target_pid", target_arg);
        let e = event(c, EventKind::SignalSent, s, format!("{head}{fail}"), f);
        st.out.events.push(e);
        return;
    }
    let last = objs.len() - 1;
    let mut base = Some(base);
    let mut subj = Some(s);
    for (i, o) in objs.iter().enumerate() {
        // The last target takes the originals; earlier ones clone (most kills have exactly one target).
        let (mut f, s) = if i == last {
            (base.take().unwrap_or_default(), subj.take())
        } else {
            (
                base.clone().unwrap_or_default(),
                subj.as_ref().map(|s| Subject {
                    pid: s.pid,
                    ppid: s.ppid,
                    uid: s.uid,
                    user: s.user.clone(),
                    comm: s.comm.clone(),
                }),
            )
        };
        let Some(s) = s else { continue };
        let opid = o.dec("opid");
        let ocomm = o.string("ocomm");
        ins_opt(&mut f, "target_pid", opid);
        ins_opt(&mut f, "target_comm", ocomm.clone());
        if let Some(u) = id_field(o, "ouid") {
            ins(&mut f, "target_uid", u);
            if let Some((n, enr)) = name_for(ctx, u, o.enriched("OUID")) {
                ins(&mut f, "target_user", n);
                if enr {
                    ins(&mut f, "target_user_from", "enriched");
                }
            }
        }
        ins_opt(&mut f, "target_auid", id_field(o, "oauid"));
        ins_opt(&mut f, "target_ses", id_field(o, "oses"));
        let m = format!(
            "{head} → pid {}{}{fail}",
            opid.map_or("?".to_owned(), |p| p.to_string()),
            ocomm.map(|c| format!(" ({c})")).unwrap_or_default()
        );
        let e = event(c, EventKind::SignalSent, s, m, f);
        st.out.events.push(e);
    }
}

/// Index of an EXECVE argument key: `a3` → (3, whole), `a3[1]` → (3, piece), `a3_len` → None.
fn arg_index(k: &[u8]) -> Option<usize> {
    let rest = k.strip_prefix(b"a")?;
    let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    let tail = &rest[digits..];
    if !(tail.is_empty() || (tail.first() == Some(&b'[') && tail.last() == Some(&b']'))) {
        return None;
    }
    parse_u64(&rest[..digits]).and_then(|n| usize::try_from(n).ok())
}

fn emit_exec(st: &mut State, g: &Group, sc: &Rec, c: &Common) {
    let ctx = st.ctx;
    let mut f = Fields::with_capacity(24);
    let s = subject(ctx, sc, &mut f);
    syscall_fields(sc, &mut f, c.serial);
    let mut argv: Vec<Vec<u8>> = Vec::new();
    let mut argc = None;
    for r in g.recs.iter().filter(|r| r.is("EXECVE")) {
        if argc.is_none() {
            argc = r.dec("argc");
        }
        for &(k, v) in &r.fields {
            let Some(i) = arg_index(k) else { continue };
            // Arguments past argc or absurdly far are not real: a hostile record must not allocate gigabytes.
            if i > 1_000_000 || argc.is_some_and(|n| i as i64 >= n) {
                continue;
            }
            if argv.len() <= i {
                argv.resize(i + 1, Vec::new());
            }
            argv[i].extend_from_slice(&untrusted(v));
        }
    }
    let argv: Vec<String> = argv.iter().map(|a| lossy(a)).collect();
    let cwd = g.recs.iter().find(|r| r.is("CWD")).and_then(|r| r.string("cwd"));
    let paths: Vec<Value> = g
        .recs
        .iter()
        .filter(|r| r.is("PATH"))
        .filter_map(|r| r.string("name"))
        .map(Value::String)
        .collect();
    let cmdline = argv.join(" ");
    ins_opt(&mut f, "cwd", cwd);
    ins_opt(&mut f, "argc", argc);
    if !paths.is_empty() {
        ins(&mut f, "paths", Value::from(paths));
    }
    ins_opt(&mut f, "proctitle", proctitle(g));
    let m = format!("exec {cmdline} by {}", who(&s));
    ins(&mut f, "argv", Value::from(argv));
    let e = event(c, EventKind::Exec, s, m, f);
    st.out.events.push(e);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_quoted_hex_and_nested() {
        let line = b"type=USER_CMD msg=audit(1700000000.123:42): pid=5 uid=1000 auid=1000 ses=3 msg='cwd=\"/root\" cmd=6B696C6C202D39203132 exe=\"/usr/bin/sudo\" terminal=pts/0 res=success'\x1dUID=\"alice\" AUID=\"alice\"";
        let r = parse_line(line, 1, 0).expect("record");
        assert_eq!(r.rtype, b"USER_CMD");
        assert_eq!((r.secs, r.msec, r.serial), (1_700_000_000, 123, 42));
        assert_eq!(r.string("cmd").as_deref(), Some("kill -9 12"));
        assert_eq!(r.string("cwd").as_deref(), Some("/root"));
        assert_eq!(r.word("res").as_deref(), Some("success"));
        assert_eq!(r.enriched("AUID"), Some(&b"alice"[..]));
    }

    #[test]
    fn kill_numbers_by_arch() {
        assert_eq!(KillSyscall::from_arch(ARCH_X86_64, 62), Some(KillSyscall::Kill));
        assert_eq!(KillSyscall::from_arch(ARCH_I386, 37), Some(KillSyscall::Kill));
        assert_eq!(KillSyscall::from_arch(ARCH_AARCH64, 129), Some(KillSyscall::Kill));
        assert_eq!(
            KillSyscall::from_arch(ARCH_X86_64, 129),
            Some(KillSyscall::RtSigqueueinfo)
        );
        assert_eq!(KillSyscall::from_arch(ARCH_I386, 270), Some(KillSyscall::Tgkill));
        assert_eq!(
            KillSyscall::from_arch(ARCH_AARCH64, 240),
            Some(KillSyscall::RtTgsigqueueinfo)
        );
        assert_eq!(
            KillSyscall::from_arch(ARCH_X86_64, 424),
            Some(KillSyscall::PidfdSendSignal)
        );
        assert_eq!(KillSyscall::from_arch(ARCH_X86_64, 59), None);
    }

    #[test]
    fn malformed_lines_do_not_panic() {
        for l in [
            &b"type="[..],
            b"type=X msg=audit(",
            b"type=X msg=audit(1.2:3",
            b"type=X msg=audit(1:3): a=b",
            b"type=X msg=audit(99999999999999999999.1:3): a=b",
            b"node=",
            b"type=X msg=audit(1.1:1): a=\"unterminated",
            b"type=X msg=audit(1.1:1): msg='a=b",
            b"\xff\xfe",
        ] {
            let _ = parse_line(l, 1, 0);
        }
        assert_eq!(arg_index(b"a12"), Some(12));
        assert_eq!(arg_index(b"a1[0]"), Some(1));
        assert_eq!(arg_index(b"a1_len"), None);
        assert_eq!(arg_index(b"arch"), None);
    }
}
