//! What the container parsers share: reading a runtime's JSON without trusting its types, the container id in an
//! entry's path, a record's identity on its events, and the start/exit events a runtime's saved state gives.

use coroner_schemas::manifest::{Kept, Status};
use coroner_schemas::{Event, EventKind, Fields, Origin, Source, Text, Timestamp, Utc};
use serde_json::Value;

use super::container_ids::is_id;
use super::facts::ContainerRecord;
use super::{ParseProblem, Parsed, SourceCtx};

/// Problems recorded one by one before the rest are only counted.
pub const MAX_PROBLEMS: usize = 1000;

/// Reads fields of a runtime's JSON: a field of the wrong type is a problem (named by its path), never a
/// misreading; a missing field is `None` (runtimes' versions differ in what they write).
#[derive(Default)]
pub struct Reader {
    pub problems: Vec<String>,
}

impl Reader {
    fn get<'v>(v: &'v Value, path: &[&str]) -> Option<&'v Value> {
        let mut at = v;
        for k in path {
            at = at.get(k)?;
        }
        (!at.is_null()).then_some(at)
    }
    fn wrong(&mut self, path: &[&str], want: &str, got: &Value) {
        let mut shown = got.to_string();
        if shown.len() > 60 {
            let cut = (0..=60).rev().find(|&i| shown.is_char_boundary(i)).unwrap_or(0);
            shown.truncate(cut);
            shown.push('…');
        }
        self.problems.push(format!("{} is not {want}: {shown}", path.join(".")));
    }
    pub fn str<'v>(&mut self, v: &'v Value, path: &[&str]) -> Option<&'v str> {
        let x = Self::get(v, path)?;
        match x.as_str() {
            Some(s) => Some(s),
            None => {
                self.wrong(path, "a string", x);
                None
            }
        }
    }
    /// A non-empty string.
    pub fn text(&mut self, v: &Value, path: &[&str]) -> Option<String> {
        self.str(v, path).filter(|s| !s.is_empty()).map(str::to_owned)
    }
    pub fn i64(&mut self, v: &Value, path: &[&str]) -> Option<i64> {
        let x = Self::get(v, path)?;
        match x.as_i64() {
            Some(n) => Some(n),
            None => {
                self.wrong(path, "an integer in range", x);
                None
            }
        }
    }
    pub fn u64(&mut self, v: &Value, path: &[&str]) -> Option<u64> {
        let x = Self::get(v, path)?;
        match x.as_u64() {
            Some(n) => Some(n),
            None => {
                self.wrong(path, "a non-negative integer in range", x);
                None
            }
        }
    }
    pub fn bool(&mut self, v: &Value, path: &[&str]) -> Option<bool> {
        let x = Self::get(v, path)?;
        match x.as_bool() {
            Some(b) => Some(b),
            None => {
                self.wrong(path, "true or false", x);
                None
            }
        }
    }
    /// An RFC 3339 time. Go's zero time (`0001-01-01T00:00:00Z`, what Docker and CRI-O write for "never") is
    /// `None`, as is an empty string.
    pub fn time(&mut self, v: &Value, path: &[&str]) -> Option<Utc> {
        let s = self.str(v, path)?;
        if s.is_empty() || s.starts_with("0001-01-01T00:00:00") {
            return None;
        }
        match Utc::parse_rfc3339(s) {
            Some(t) => Some(t),
            None => {
                self.wrong(path, "an RFC 3339 time", &Value::String(s.to_owned()));
                None
            }
        }
    }
}

/// The last 64-hex component of a path (`…/containers/<id>/config.v2.json`), the container's id.
pub fn id_in_path(path: &str) -> Option<&str> {
    path.split('/').rev().find(|c| is_id(c))
}

/// The entry's host path (its `source`), else its bundle path: where the runtime's layout names the container.
pub fn entry_path<'a>(ctx: &'a SourceCtx) -> &'a str {
    if ctx.entry.source.starts_with('/') {
        &ctx.entry.source
    } else {
        &ctx.entry.path
    }
}

/// Whether the collector kept only this entry's tail, so its first line may begin before the kept bytes.
pub fn kept_tail(ctx: &SourceCtx) -> Option<u64> {
    match &ctx.entry.status {
        Status::Truncated { kept: Kept::Tail, original_size, .. } => Some(*original_size),
        _ => None,
    }
}

/// A problem for a first line cut by the collector's tail cap: recorded as the collector's (the cut is its own,
/// not bad evidence).
pub fn cut_first_line(ctx: &SourceCtx, original: u64) -> ParseProblem {
    ParseProblem::at_line(
        ctx,
        1,
        format!(
            "first line is not a whole record: the collector kept the last {} of {original} bytes, so the line's start was cut",
            ctx.entry.size
        ),
    )
    .by_collector()
}

/// A record's identity on one of its events: runtime, id, name, image, restart count, pod.
pub fn identity(fields: &mut Fields, c: &ContainerRecord) {
    fields.insert("runtime".into(), c.runtime.as_str());
    fields.insert("container_id".into(), c.id.as_str());
    if let Some(n) = &c.name {
        fields.insert("container_name".into(), n.as_str());
    }
    if let Some(i) = &c.image {
        fields.insert("image".into(), i.as_str());
    }
    if let Some(r) = c.restart_count {
        fields.insert("restart_count".into(), r);
    }
    if let Some(p) = &c.pod_namespace {
        fields.insert("pod_namespace".into(), p.as_str());
    }
    if let Some(p) = &c.pod_name {
        fields.insert("pod_name".into(), p.as_str());
    }
    if let Some(p) = &c.pod_uid {
        fields.insert("pod_uid".into(), p.as_str());
    }
}

/// `web (docker 1e1755e4a1d0)`, or the short id alone.
pub fn label(c: &ContainerRecord) -> String {
    let short = c.id.get(..12).unwrap_or(&c.id);
    match &c.name {
        Some(n) => format!("{n} ({} {short})", c.runtime),
        None => format!("{} container {short}", c.runtime),
    }
}

/// The start and exit events a runtime's saved state gives: `container_start` at its start time, and
/// `container_exit` at its finish time with the exit code and `OOMKilled` flag (and `reason`, the runtime's
/// error text, when it wrote one). A record with no such time gives no such event.
pub fn lifecycle(c: &ContainerRecord, error: Option<&str>, raw: &Text, origin: &Origin) -> Vec<Event> {
    let mut out = Vec::new();
    if let Some(t) = c.started {
        let mut e = Event::new(Timestamp::Exact { utc: t }, Source::Container, EventKind::ContainerStart, format!("container {} started", label(c)), raw.clone(), origin.clone());
        identity(&mut e.fields, c);
        // The pid is the running process's: the runtime clears it when the process ends.
        e.pid = c.pid;
        out.push(e);
    }
    if let Some(t) = c.finished {
        let mut msg = format!("container {} exited", label(c));
        if let Some(code) = c.exit_code {
            msg.push_str(&format!(" with code {code}"));
        }
        if c.oom_killed == Some(true) {
            msg.push_str(", marked OOMKilled by its runtime");
        }
        let mut e = Event::new(Timestamp::Exact { utc: t }, Source::Container, EventKind::ContainerExit, msg, raw.clone(), origin.clone());
        identity(&mut e.fields, c);
        if let Some(code) = c.exit_code {
            e.fields.insert("exit_code".into(), code);
        }
        if let Some(o) = c.oom_killed {
            e.fields.insert("oom_killed".into(), o);
        }
        if let Some(r) = error.filter(|r| !r.is_empty()) {
            e.fields.insert("reason".into(), r);
        }
        // Only when the record still holds it (Docker zeroes `State.Pid` once the process has ended).
        // A running (or restarting, paused) container's pid is its current process's, not the one that exited.
        if !matches!(c.status.as_deref(), Some("running" | "restarting" | "paused")) {
            e.pid = c.pid;
        }
        out.push(e);
    }
    out
}

/// One line of a short preview of bytes, for problem messages (control characters shown as `.`).
/// One JSON object of a whole-file entry, or the problem it is not one.
pub fn object(raw: &[u8], ctx: &SourceCtx, what: &str, out: &mut Parsed) -> Option<Value> {
    match serde_json::from_slice::<Value>(raw) {
        Ok(v @ Value::Object(_)) => Some(v),
        Ok(_) => {
            out.problems.push(ParseProblem::at_offset(ctx, 0, format!("{what} is not a JSON object")));
            None
        }
        Err(e) => {
            out.problems.push(ParseProblem::at_offset(ctx, 0, format!("{what} is not whole JSON ({e}): {}", preview(raw))));
            None
        }
    }
}

pub fn preview(line: &[u8]) -> String {
    let s: String = String::from_utf8_lossy(&line[..line.len().min(80)]).chars().map(|c| if c.is_control() { '.' } else { c }).collect();
    if line.len() > 80 {
        format!("{s}…")
    } else {
        s
    }
}

/// Lines of `raw`: (1-based number, byte offset, bytes without the `\n` or `\r\n`, whether a newline ended it).
pub fn lines(raw: &[u8]) -> impl Iterator<Item = (u64, usize, &[u8], bool)> + '_ {
    let mut pos = 0usize;
    let mut n = 0u64;
    std::iter::from_fn(move || {
        if pos >= raw.len() {
            return None;
        }
        n += 1;
        let start = pos;
        let (line, complete) = match memchr::memchr(b'\n', &raw[pos..]) {
            Some(i) => {
                pos += i + 1;
                (&raw[start..start + i], true)
            }
            None => {
                pos = raw.len();
                (&raw[start..], false)
            }
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        Some((n, start, line, complete))
    })
}

/// Collects problems up to [`MAX_PROBLEMS`], then counts the rest.
pub struct Problems<'c, 'a> {
    ctx: &'c SourceCtx<'a>,
    pub list: Vec<ParseProblem>,
    dropped: u64,
}

impl<'c, 'a> Problems<'c, 'a> {
    pub fn new(ctx: &'c SourceCtx<'a>) -> Self {
        Problems { ctx, list: Vec::new(), dropped: 0 }
    }
    pub fn push(&mut self, p: ParseProblem) {
        if self.list.len() < MAX_PROBLEMS {
            self.list.push(p);
        } else {
            self.dropped += 1;
        }
    }
    pub fn at_line(&mut self, line: u64, msg: impl Into<String>) {
        let p = ParseProblem::at_line(self.ctx, line, msg);
        self.push(p);
    }
    /// Line `n` of a log is not a record (`why`): the first line of a kept tail cut by the collector (`tail`, the
    /// file's original size: its problem), a last line still being written (`complete` false), or a bad line.
    pub fn bad_line(&mut self, n: u64, tail: Option<u64>, complete: bool, why: String) {
        match (n, tail) {
            (1, Some(original)) => self.push(cut_first_line(self.ctx, original)),
            _ if !complete => self.at_line(n, format!("last line has no newline and is not a whole record: the log was being written ({why})")),
            _ => self.at_line(n, why),
        }
    }
    pub fn done(mut self) -> Vec<ParseProblem> {
        if self.dropped > 0 {
            let n = self.dropped;
            self.list.push(ParseProblem::new(&self.ctx.path, None, None, format!("{n} more problems not listed")));
        }
        self.list
    }
}
