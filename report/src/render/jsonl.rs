//! `timeline.jsonl`: one JSON object per event, in Timesketch's import form.
//!
//! Every row has Timesketch's required `message`, `datetime` (RFC 3339, microseconds, `Z`) and
//! `timestamp_desc`, plus an integer `timestamp` in microseconds equal to `datetime`, `hostname`,
//! `data_type` (`coroner:<source>:<kind>`) and `tag` (a list).
//!
//! Time rules (Timesketch needs a time on every row, and no event is dropped):
//! - exact, boot-converted and inferred times are used as they are (`certainty` says which);
//! - a bounded event uses its upper bound (`… (upper bound)`), or its lower bound when it has only that
//!   (`… (lower bound)`), tagged `bounded`;
//! - an event with no time at all is emitted at the collection end time with `timestamp_desc`
//!   `Undated (collection time)` and tag `undated`: it was on the host by then, and no more is known.
//!   Times Timesketch cannot hold are treated the same way and also tagged `time_out_of_range`: its CSV
//!   import turns `datetime` into a pandas `datetime64[ns]` (a signed 64-bit count of nanoseconds since 1970,
//!   1677-09-21 to 2262-04-11) and silently drops the rows it cannot.

use std::borrow::Cow;
use std::io::{self, Write};
use std::ops::Range;

use coroner_schemas::{Event, EventKind, Fields, Source, Timestamp, Utc};
use base64::Engine as _;
use serde::Serialize;

use super::ReportModel;

/// Timesketch's description of what an event's time means, per kind.
pub fn timestamp_desc(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Boot => "Boot",
        EventKind::Shutdown => "Shutdown",
        EventKind::Login => "Login",
        EventKind::Logout => "Logout",
        EventKind::LoginFailed => "Failed Login",
        EventKind::OomInvoked => "OOM Killer Invoked",
        EventKind::OomTaskDump => "OOM Task Dump",
        EventKind::OomKill => "OOM Kill",
        EventKind::OomReaped => "OOM Reaped",
        EventKind::Segfault => "Segfault",
        EventKind::Trap => "Trap",
        EventKind::HungTask => "Hung Task",
        EventKind::SoftLockup => "Soft Lockup",
        EventKind::KernelPanic => "Kernel Panic",
        EventKind::KernelOops => "Kernel Oops",
        EventKind::SignalSent => "Signal Sent",
        EventKind::ProcessCrash => "Process Crash",
        EventKind::ProcessExit => "Process Exit",
        EventKind::ServiceKilled => "Service Killed",
        EventKind::ServiceFailed => "Service Failed",
        EventKind::ServiceStart => "Service Start",
        EventKind::ServiceStop => "Service Stop",
        EventKind::WatchdogTimeout => "Watchdog Timeout",
        EventKind::CoreDumped => "Core Dump",
        EventKind::Exec => "Program Executed",
        EventKind::PrivilegedCommand => "Privileged Command",
        EventKind::ShellCommand => "Shell Command",
        EventKind::KillCommand => "Kill Command",
        EventKind::CronJob => "Cron Job Defined",
        EventKind::CronRun => "Cron Job Run",
        EventKind::ProcessAlive => "Process Alive",
        EventKind::Setting => "Setting",
        EventKind::Audit => "Audit Record",
        EventKind::ContainerStart => "Container Start",
        EventKind::ContainerExit => "Container Exit",
        EventKind::ContainerStop => "Container Stop Requested",
        EventKind::ContainerOom => "Container OOM",
        EventKind::ProbeFailed => "Probe Failed",
        EventKind::PodEvicted => "Pod Evicted",
        EventKind::PodDeleted => "Pod Deleted",
        EventKind::Log => "Log Entry",
    }
}

/// Tags by kind, for Timesketch's tag filter.
fn kind_tag(kind: EventKind) -> Option<&'static str> {
    match kind {
        EventKind::OomInvoked | EventKind::OomTaskDump | EventKind::OomKill | EventKind::OomReaped => Some("oom"),
        EventKind::SignalSent | EventKind::KillCommand => Some("signal"),
        EventKind::Segfault
        | EventKind::Trap
        | EventKind::ProcessCrash
        | EventKind::CoreDumped
        | EventKind::KernelPanic
        | EventKind::KernelOops => Some("crash"),
        EventKind::Login | EventKind::Logout | EventKind::LoginFailed => Some("login"),
        EventKind::Boot | EventKind::Shutdown => Some("boot"),
        EventKind::ProcessExit
        | EventKind::ServiceKilled
        | EventKind::ServiceFailed
        | EventKind::ServiceStop
        | EventKind::WatchdogTimeout => Some("exit"),
        _ => None,
    }
}

/// `coroner:<source>:<kind>`, made once per pair for the whole process.
pub(crate) fn data_type(source: Source, kind: EventKind) -> &'static str {
    static TABLE: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let t = TABLE.get_or_init(|| {
        Source::ALL
            .iter()
            .flat_map(|s| EventKind::ALL.iter().map(move |k| format!("coroner:{}:{}", s.as_str(), k.as_str())))
            .collect()
    });
    t.get(source as usize * EventKind::ALL.len() + kind as usize).map_or("", String::as_str)
}

/// Whether Timesketch keeps a row at this time: it fits a signed 64-bit count of nanoseconds since 1970.
fn in_range(u: &Utc) -> bool {
    i64::try_from(u.0.unix_timestamp_nanos()).is_ok()
}

/// Whole microseconds, floored, so `datetime` and `timestamp` name the same instant even before 1970.
pub(crate) fn floor_micros(u: &Utc) -> (i64, String) {
    let us = i64::try_from(u.0.unix_timestamp_nanos().div_euclid(1000)).unwrap_or(0);
    // The text has whole microseconds already unless the instant carries sub-microsecond nanoseconds.
    let text = if u.0.nanosecond() % 1000 == 0 {
        u.rfc3339()
    } else {
        Utc::from_unix_micros(us).map(|t| t.rfc3339()).unwrap_or_else(|| u.rfc3339())
    };
    (us, text)
}

/// One Timesketch row. Field order is the column order of the CSV.
#[derive(Clone, Debug, Serialize)]
pub struct TimesketchRow<'a> {
    pub message: &'a str,
    pub datetime: String,
    pub timestamp_desc: Cow<'static, str>,
    pub timestamp: i64,
    pub hostname: &'a str,
    pub data_type: &'static str,
    pub tag: Tags,
    pub source: &'static str,
    pub kind: &'static str,
    pub certainty: &'static str,
    pub pid: Option<i64>,
    pub ppid: Option<i64>,
    pub uid: Option<u32>,
    pub user: Option<&'a str>,
    pub comm: Option<&'a str>,
    pub entry: &'a str,
    pub line: Option<u64>,
    pub offset: Option<u64>,
    /// The raw record, lossily decoded for display.
    pub raw: Cow<'a, str>,
    /// The exact raw bytes, base64: for text that is not UTF-8 (`raw` shows it lossily), and for binary records
    /// (`raw` is then empty) only with `render --raw-binary`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw_base64: Option<String>,
    pub fields: &'a Fields,
    pub verified: bool,
}

/// A row's tags: the kind's, `bounded`, `time_out_of_range`, `undated`, `unverified` (at most all five), held
/// in place; a JSON list.
#[derive(Clone, Debug, Default)]
pub struct Tags {
    list: [&'static str; 5],
    n: usize,
}

impl Tags {
    fn push(&mut self, t: &'static str) {
        if let Some(slot) = self.list.get_mut(self.n) {
            *slot = t;
            self.n += 1;
        }
    }
}

impl std::ops::Deref for Tags {
    type Target = [&'static str];
    fn deref(&self) -> &[&'static str] {
        self.list.get(..self.n).unwrap_or_default()
    }
}

impl Serialize for Tags {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// Builds the row for one event.
pub fn row<'a>(model: &ReportModel<'a>, e: &'a Event) -> TimesketchRow<'a> {
    let verified = model.verification.ok && !model.verification.skipped;
    let mut tags = Tags::default();
    if let Some(t) = kind_tag(e.kind) {
        tags.push(t);
    }
    let desc = timestamp_desc(e.kind);
    let (when, desc) = match &e.timestamp {
        Timestamp::Exact { utc } | Timestamp::FromBoot { utc, .. } | Timestamp::Inferred { utc, .. } => {
            (Some(*utc), Cow::Borrowed(desc))
        }
        Timestamp::Bounded { before: Some(b), .. } => {
            tags.push("bounded");
            // Which bound it is, when the pipeline set it for an event with no time of its own.
            let what = match e.fields.get("time_bound").and_then(|v| v.as_str()) {
                Some("file_mtime") => "upper bound: its file's mtime",
                Some("collection_end") => "upper bound: the collection's end",
                _ => "upper bound",
            };
            (Some(*b), Cow::Owned(format!("{desc} ({what})")))
        }
        Timestamp::Bounded {
            after: Some(a),
            before: None,
        } => {
            tags.push("bounded");
            (Some(*a), Cow::Owned(format!("{desc} (lower bound)")))
        }
        Timestamp::Bounded {
            after: None,
            before: None,
        }
        | Timestamp::Unknown => (None, Cow::Borrowed("")),
    };
    let (when, desc) = match when {
        Some(u) if in_range(&u) => (u, desc),
        other => {
            if other.is_some() {
                tags.push("time_out_of_range");
            }
            tags.push("undated");
            let collected = model.manifest.collector.finished;
            let at = if in_range(&collected) {
                collected
            } else {
                Utc::from_unix(0, 0).unwrap_or(collected)
            };
            (at, Cow::Borrowed("Undated (collection time)"))
        }
    };
    if !verified {
        tags.push("unverified");
    }
    let (timestamp, datetime) = floor_micros(&when);
    // A binary record (a utmp struct, an ELF note) is not repeated: its row names the entry and offset of its
    // bytes in the bundle, as the decoded fields say what it holds; `--raw-binary` puts them in as base64
    // (escaping their NULs as text would triple them). Text that is not UTF-8 travels both lossily, for
    // display, and exactly.
    let bytes = e.raw.as_bytes();
    let binary = model.raw_binary.then_some(bytes);
    let (raw, base64_of) = match e.raw.as_str() {
        Some(t) if !e.raw.is_binary() => (Cow::Borrowed(t), None),
        Some(_) => (Cow::Borrowed(""), binary),
        None if e.raw.is_binary() => (Cow::Borrowed(""), binary),
        None => (e.raw.lossy_cow(), Some(bytes)),
    };
    TimesketchRow {
        message: if e.message.is_empty() { timestamp_desc(e.kind) } else { e.message.as_str() },
        datetime,
        timestamp_desc: desc,
        timestamp,
        hostname: &model.manifest.host.hostname,
        data_type: data_type(e.source, e.kind),
        tag: tags,
        source: e.source.as_str(),
        kind: e.kind.as_str(),
        certainty: e.timestamp.certainty(),
        pid: e.pid,
        ppid: e.ppid,
        uid: e.uid,
        user: e.user.as_deref(),
        comm: e.comm.as_deref(),
        entry: &e.origin.entry,
        line: e.origin.line,
        offset: e.origin.offset,
        raw,
        raw_base64: base64_of.map(|b| base64::engine::general_purpose::STANDARD.encode(b)),
        fields: &e.fields,
        verified,
    }
}

/// Writes every event as one JSON line.
pub fn write(model: &ReportModel, w: &mut dyn Write) -> io::Result<()> {
    write_with(model, w, |_, _, _| Ok(()))
}

/// [`write`], handing each row to `each` as it is written: the row, its bytes (no newline) and where its parts
/// lie in them (`fleet` builds its own rows from these bytes rather than serialising every event again).
pub fn write_with<F>(model: &ReportModel, w: &mut dyn Write, mut each: F) -> io::Result<()>
where
    F: FnMut(&TimesketchRow, &[u8], &Spans) -> io::Result<()>,
{
    let mut out = Vec::with_capacity(CHUNK + 64 * 1024);
    for e in model.events {
        let r = row(model, e);
        let start = out.len();
        let spans = write_row(&mut out, &r)?;
        each(&r, &out[start..], &spans)?;
        out.push(b'\n');
        if out.len() >= CHUNK {
            w.write_all(&out)?;
            out.clear();
        }
    }
    w.write_all(&out)
}

/// Bytes of rows gathered before each write.
const CHUNK: usize = 1 << 20;

/// One row exactly as `serde_json::to_writer` writes [`TimesketchRow`], by hand but for `fields`: through
/// serde_json, `make bench`'s render row was 25% slower, most of it in serde_json's byte-at-a-time string
/// escaping of a million rows' message and raw text (BENCHMARKS.md). `timeline_files_hold_the_row_model`
/// checks the bytes against serde_json's.
pub(crate) fn write_row(out: &mut Vec<u8>, r: &TimesketchRow) -> io::Result<Spans> {
    let start = out.len();
    let at = |out: &Vec<u8>| out.len() - start;
    let mut ints = itoa::Buffer::new();
    let mut int = |out: &mut Vec<u8>, key: &[u8], v: Option<i64>| {
        out.extend_from_slice(key);
        match v {
            Some(v) => out.extend_from_slice(ints.format(v).as_bytes()),
            None => out.extend_from_slice(b"null"),
        }
    };
    let text = |out: &mut Vec<u8>, key: &[u8], v: Option<&str>| {
        out.extend_from_slice(key);
        match v {
            Some(v) => push_json_str(out, v),
            None => out.extend_from_slice(b"null"),
        }
    };
    text(out, b"{\"message\":", Some(r.message));
    out.extend_from_slice(b",\"datetime\":");
    let datetime_from = at(out);
    push_json_str(out, &r.datetime);
    let datetime = datetime_from..at(out);
    text(out, b",\"timestamp_desc\":", Some(&r.timestamp_desc));
    out.extend_from_slice(b",\"timestamp\":");
    let timestamp_from = at(out);
    out.extend_from_slice(itoa::Buffer::new().format(r.timestamp).as_bytes());
    let timestamp = timestamp_from..at(out);
    let hostname_from = at(out);
    text(out, b",\"hostname\":", Some(r.hostname));
    let hostname = hostname_from..at(out);
    text(out, b",\"data_type\":", Some(r.data_type));
    out.extend_from_slice(b",\"tag\":[");
    for (i, t) in r.tag.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_json_str(out, t);
    }
    out.push(b']');
    text(out, b",\"source\":", Some(r.source));
    text(out, b",\"kind\":", Some(r.kind));
    text(out, b",\"certainty\":", Some(r.certainty));
    int(out, b",\"pid\":", r.pid);
    int(out, b",\"ppid\":", r.ppid);
    int(out, b",\"uid\":", r.uid.map(i64::from));
    text(out, b",\"user\":", r.user);
    text(out, b",\"comm\":", r.comm);
    text(out, b",\"entry\":", Some(r.entry));
    // Lines and offsets are u64: past i64::MAX they go through serde_json rather than wrap.
    for (key, v) in [(&b",\"line\":"[..], r.line), (b",\"offset\":", r.offset)] {
        match v.map(i64::try_from) {
            Some(Err(_)) => {
                out.extend_from_slice(key);
                serde_json::to_writer(&mut *out, &v)?;
            }
            other => int(out, key, other.and_then(Result::ok)),
        }
    }
    text(out, b",\"raw\":", Some(&r.raw));
    let after_raw = at(out);
    if r.raw_base64.is_some() {
        text(out, b",\"raw_base64\":", r.raw_base64.as_deref());
    }
    out.extend_from_slice(b",\"fields\":");
    let fields_from = at(out);
    serde_json::to_writer(&mut *out, r.fields)?;
    let fields = fields_from..at(out);
    out.extend_from_slice(if r.verified { b",\"verified\":true}" } else { b",\"verified\":false}" });
    Ok(Spans { datetime, timestamp, hostname, after_raw, fields })
}

/// Where the parts of one row lie in the bytes [`write_row`] wrote, counted from the row's `{`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spans {
    /// `datetime`'s value, quotes included.
    pub datetime: Range<usize>,
    /// `timestamp`'s digits.
    pub timestamp: Range<usize>,
    /// The whole `,"hostname":"…"` member, key included.
    pub hostname: Range<usize>,
    /// Just after `raw`'s value: where `raw_base64` is, or would be.
    pub after_raw: usize,
    /// `fields`' JSON object.
    pub fields: Range<usize>,
}

/// `s` as serde_json writes a string: `\"`, `\\`, `\b \f \n \r \t`, other control characters as `\u00xx`, all
/// else as it is. Plain runs are found eight bytes at a time (the render row of `make bench`, see [`write_row`]).
pub(crate) fn push_json_str(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let b = s.as_bytes();
    out.push(b'"');
    let mut i = 0;
    while i < b.len() {
        let n = plain_run(&b[i..]);
        out.extend_from_slice(&b[i..i + n]);
        i += n;
        let Some(&c) = b.get(i) else { break };
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            c => out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[usize::from(c >> 4)], HEX[usize::from(c & 15)]]),
        }
        i += 1;
    }
    out.push(b'"');
}

/// Length of the leading run of `b` that needs no escape in a JSON string: a word at a time, with the usual
/// "has a zero byte" test on the word xor `"`, xor `\`, and minus 0x20 (the lowest flagged byte is a true match).
fn plain_run(b: &[u8]) -> usize {
    const fn splat(x: u8) -> u64 {
        u64::from_ne_bytes([x; 8])
    }
    let zero = |v: u64| v.wrapping_sub(splat(1)) & !v & splat(0x80);
    let mut i = 0;
    while let Some(chunk) = b.get(i..i + 8).and_then(|c| <[u8; 8]>::try_from(c).ok()) {
        let w = u64::from_le_bytes(chunk);
        let m = zero(w ^ splat(b'"')) | zero(w ^ splat(b'\\')) | (w.wrapping_sub(splat(0x20)) & !w & splat(0x80));
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i + b[i..].iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20).unwrap_or(b.len() - i)
}

/// The whole JSONL document as a string.
pub fn render(model: &ReportModel) -> String {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail, and serde_json emits UTF-8.
    let _ = write(model, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use coroner_schemas::Fields;

    use super::{push_json_str, write_row, Tags, TimesketchRow};

    /// The spans `write_row` returns name exactly the parts `fleet` rebuilds rows from, with hostile strings
    /// around them and `raw_base64` present or left out.
    #[test]
    fn spans_name_the_parts_they_say() {
        let mut fields = Fields::new();
        fields.insert("note".into(), "\",\"hostname\":\"x\"}");
        for base64 in [None, Some("AAEC".to_owned())] {
            let r = TimesketchRow {
                message: "a \"quoted\" \\ message,\"datetime\":\"1\"",
                datetime: "2023-11-14T22:14:07.895627Z".into(),
                timestamp_desc: Cow::Borrowed("Login"),
                timestamp: -1_700_000_047_895_627,
                hostname: "web\"1\n",
                data_type: "coroner:wtmp:login",
                tag: Tags::default(),
                source: "wtmp",
                kind: "login",
                certainty: "exact",
                pid: Some(1),
                ppid: None,
                uid: Some(0),
                user: Some("root"),
                comm: None,
                entry: "fs/var/log/wtmp",
                line: None,
                offset: Some(384),
                raw: Cow::Borrowed(",\"raw_base64\":null"),
                raw_base64: base64.clone(),
                fields: &fields,
                verified: true,
            };
            let mut out = b"earlier row\n".to_vec();
            let start = out.len();
            let at = write_row(&mut out, &r).expect("row");
            let row = &out[start..];
            assert_eq!(row, serde_json::to_vec(&r).expect("json"), "the row is serde_json's");
            let json = |v: &str| serde_json::to_vec(v).expect("json");
            assert_eq!(&row[at.datetime.clone()], json(&r.datetime));
            assert_eq!(&row[at.timestamp.clone()], b"-1700000047895627");
            assert_eq!(&row[at.hostname.clone()], [&b",\"hostname\":"[..], &json(r.hostname)].concat());
            let next: &[u8] = if base64.is_some() { b",\"raw_base64\":\"AAEC\"" } else { b",\"fields\":" };
            assert!(row[at.after_raw..].starts_with(next), "{}", String::from_utf8_lossy(&row[at.after_raw..]));
            assert_eq!(&row[at.fields.clone()], serde_json::to_vec(&fields).expect("json"));
        }
    }

    /// Every ASCII byte, at every place in a word, and multi-byte text, come out as serde_json writes them.
    #[test]
    fn strings_as_serde_json_writes_them() {
        let mut samples: Vec<String> =
            vec![String::new(), "plain".into(), "é\u{2028}😀\"\\".into(), "a\u{7f}\u{80}\u{ff}".into()];
        for c in 0u8..0x80 {
            for at in 0..17 {
                let mut s = "x".repeat(at);
                s.push(char::from(c));
                s.push_str("tail after the byte");
                samples.push(s);
            }
        }
        for s in &samples {
            let mut out = Vec::new();
            push_json_str(&mut out, s);
            assert_eq!(String::from_utf8(out).expect("utf-8"), serde_json::to_string(s).expect("json"), "{s:?}");
        }
    }
}
