//! One parser per evidence source. Every parser has the same face and is pure:
//! `parse(raw: &[u8], ctx: &SourceCtx) -> Parsed`. The parser is chosen from the manifest entry's
//! [`Format`], never from a file name.

use std::sync::Arc;

use bytes::Bytes;
use coroner_schemas::accounts::Accounts;
use coroner_schemas::manifest::{Entry, Format, Manifest};
use coroner_schemas::{Event, Text};
use serde::Serialize;

use core_name::CoreNaming;

static NO_CORE_NAMING: CoreNaming = CoreNaming::UNKNOWN;

pub mod audit;
pub mod core_elf;
pub mod core_meta;
pub mod core_name;
pub mod cron;
pub mod facts;
pub mod history;
pub mod journal;
pub mod kernel_lines;
pub mod kmsg;
pub mod limits;
pub mod proc;
pub mod settings;
pub mod signals;
pub mod syslog;
pub mod utmp;

/// What a parser may know besides the bytes.
pub struct SourceCtx<'a> {
    /// The manifest entry being parsed (its path is the events' `origin.entry`).
    pub entry: &'a Entry,
    /// The whole manifest: clock sample, boot time, host zone, collection time.
    pub manifest: &'a Manifest,
    /// The collected host's `/etc/passwd` and `/etc/group` (empty when the bundle has none).
    pub accounts: &'a Accounts,
    /// The entry's bundle path, shared by every event's origin.
    pub path: Arc<str>,
    /// The buffer the parsed bytes live in, when it can be shared: events then point into it instead of
    /// copying their raw records.
    pub shared: Option<Bytes>,
    /// How many more events the caller means to add to this entry's event vector (the other entries'), so a
    /// parser building one large vector can leave room for them: see [`SourceCtx::events_vec`].
    pub room: usize,
    /// How the collected host named core files (`kernel.core_pattern`), for reading a core's file name.
    pub core_naming: &'a CoreNaming,
}

impl<'a> SourceCtx<'a> {
    pub fn new(entry: &'a Entry, manifest: &'a Manifest, accounts: &'a Accounts) -> SourceCtx<'a> {
        SourceCtx {
            entry,
            manifest,
            accounts,
            path: Arc::from(entry.path.as_str()),
            shared: None,
            room: 0,
            core_naming: &NO_CORE_NAMING,
        }
    }
    /// Tells the core parsers the host's `kernel.core_pattern` (else only common patterns are tried).
    pub fn with_core_naming(mut self, naming: &'a CoreNaming) -> SourceCtx<'a> {
        self.core_naming = naming;
        self
    }
    /// Asks for room for `events` more events in the vector this entry's events come back in.
    pub fn with_room(mut self, events: usize) -> SourceCtx<'a> {
        self.room = events;
        self
    }
    /// An empty vector for `n` events and the room asked for with [`SourceCtx::with_room`]. The room is only
    /// reserved (pages nobody writes cost nothing), and when it cannot be had the vector holds just `n`.
    pub fn events_vec<T>(&self, n: usize) -> Vec<T> {
        let mut v = Vec::new();
        if self.room == 0 || v.try_reserve_exact(n.saturating_add(self.room)).is_err() {
            v.reserve_exact(n);
        }
        v
    }
    /// Lets events borrow their raw bytes from `buf` (the bytes given to the parser must lie in it).
    pub fn with_shared(mut self, buf: Bytes) -> SourceCtx<'a> {
        self.shared = Some(buf);
        self
    }
    /// The same context for a parser thread of its own: the shared buffer behind a reference count of this
    /// thread's. Every event's raw record is a slice of the buffer and each slice counts a reference: threads
    /// counting on one counter take its cache line from each other at every event.
    pub fn for_thread(&self) -> SourceCtx<'a> {
        SourceCtx {
            entry: self.entry,
            manifest: self.manifest,
            accounts: self.accounts,
            path: Arc::from(&*self.path),
            shared: self.shared.as_ref().map(|b| Bytes::from_owner(b.clone())),
            room: 0,
            core_naming: self.core_naming,
        }
    }
    /// A record's raw bytes: a slice of the shared buffer when `sub` lies in it, else a copy.
    pub fn text(&self, sub: &[u8]) -> Text {
        if let Some(b) = &self.shared {
            let (lo, hi) = (b.as_ptr() as usize, b.as_ptr() as usize + b.len());
            let p = sub.as_ptr() as usize;
            if !sub.is_empty() && p >= lo && p + sub.len() <= hi {
                return Text::shared(b.slice(p - lo..p - lo + sub.len()));
            }
        }
        Text::from_bytes(sub)
    }
}

/// A parser's result: the events it read, what it could not read, and the host facts it learned.
#[derive(Debug, Default)]
pub struct Parsed {
    pub events: Vec<Event>,
    pub problems: Vec<ParseProblem>,
    pub facts: Vec<facts::Fact>,
}

/// Who found a problem: the report reading the bytes, or the collector, which wrote it into them (a process
/// it could not read while taking the `/proc` table).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemBy {
    /// Recorded by the collector at collection time: evidence it could not take, not a misreading.
    Collector,
    /// Found while parsing: bytes the report could not read as their format.
    #[default]
    Parser,
}

/// Malformed evidence (or, [`ProblemBy::Collector`], evidence the collector said it could not take):
/// recorded, and parsing goes on.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ParseProblem {
    pub by: ProblemBy,
    pub entry: String,
    pub line: Option<u64>,
    pub offset: Option<u64>,
    pub message: String,
}

impl ParseProblem {
    pub fn at_line(ctx: &SourceCtx, line: u64, message: impl Into<String>) -> ParseProblem {
        ParseProblem::new(&ctx.path, Some(line), None, message)
    }
    pub fn at_offset(ctx: &SourceCtx, offset: u64, message: impl Into<String>) -> ParseProblem {
        ParseProblem::new(&ctx.path, None, Some(offset), message)
    }
    /// A parse problem of `entry` at a line and/or offset.
    pub fn new(entry: &str, line: Option<u64>, offset: Option<u64>, message: impl Into<String>) -> ParseProblem {
        ParseProblem { by: ProblemBy::Parser, entry: entry.to_owned(), line, offset, message: message.into() }
    }
    /// The same problem, as one the collector recorded in the evidence.
    pub fn by_collector(mut self) -> ParseProblem {
        self.by = ProblemBy::Collector;
        self
    }
    /// Whether the report found it reading the bytes (as opposed to the collector having recorded it).
    pub fn is_parse(&self) -> bool {
        self.by == ProblemBy::Parser
    }
}

/// At most about how many events an entry of `format` holding `size` bytes yields: one per 384-byte record
/// for the utmp family, else one per 64 bytes (fewer than a record or log line of any other source takes).
/// Only a sizing hint: a wrong guess costs a reallocation, nothing else.
pub fn events_bound(format: Format, size: u64) -> usize {
    let per = match format {
        Format::Utmp => 384,
        Format::Lastlog => 292,
        _ => 64,
    };
    usize::try_from(size / per + 1).unwrap_or(usize::MAX)
}

/// Parses one entry's (decompressed) bytes with the parser its format names. Formats with no timeline
/// parser yield nothing.
pub fn parse_entry(raw: &[u8], ctx: &SourceCtx) -> Parsed {
    match ctx.entry.format {
        Format::Kmsg | Format::DmesgText | Format::Pstore => kmsg::parse(raw, ctx),
        Format::Syslog => syslog::parse(raw, ctx),
        Format::JournalJson => journal::parse(raw, ctx),
        Format::AuditLog => audit::parse(raw, ctx),
        Format::Utmp | Format::Lastlog | Format::LastlogJson => utmp::parse(raw, ctx),
        Format::BashHistory
        | Format::ZshHistory
        | Format::FishHistory
        | Format::ShHistory
        | Format::TcshHistory
        | Format::OtherHistory => history::parse(raw, ctx),
        Format::SystemCrontab | Format::UserCrontab | Format::Anacrontab | Format::SystemdTimers => cron::parse(raw, ctx),
        Format::CoreElf => core_elf::parse(raw, ctx),
        Format::Other if core_meta::is_core_meta(ctx.entry) => core_meta::parse(raw, ctx),
        Format::ProcSnapshotJson => proc::parse(raw, ctx),
        Format::ProcLimits | Format::LimitsConf => limits::parse(raw, ctx),
        Format::SysctlJson | Format::CgroupsJson | Format::AuditRules | Format::AuditStatus | Format::SystemdShowJson => {
            settings::parse(raw, ctx)
        }
        _ => Parsed::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_vec_reserves_the_room_or_just_what_is_needed() {
        let m = testing::manifest();
        let e = testing::entry("fs/var/log/syslog", "/var/log/syslog", "syslog", "syslog");
        let acc = Accounts::default();
        let plain: Vec<Event> = SourceCtx::new(&e, &m, &acc).events_vec(10);
        assert_eq!(plain.capacity(), 10);
        let roomy: Vec<Event> = SourceCtx::new(&e, &m, &acc).with_room(1000).events_vec(10);
        assert!(roomy.capacity() >= 1010, "{}", roomy.capacity());
        // Room that cannot be had (more than the address space) is given up, not a panic or an abort.
        let greedy: Vec<Event> = SourceCtx::new(&e, &m, &acc).with_room(usize::MAX / 2).events_vec(10);
        assert_eq!(greedy.capacity(), 10);
        assert_eq!(events_bound(Format::Utmp, 384 * 1000), 1001);
        assert_eq!(events_bound(Format::AuditLog, 6400), 101);
    }
}

/// A minimal manifest and one entry, for parser unit tests that need a [`SourceCtx`].
#[cfg(test)]
pub(crate) mod testing {
    use coroner_schemas::manifest::{Entry, Manifest};

    pub fn manifest() -> Manifest {
        serde_json::from_value(serde_json::json!({
            "schema_version": 1, "bundle_name": "t", "host": {"hostname": "t"},
            "collector": {"name": "c", "version": "0", "started": "2026-11-27T20:00:00.000000Z",
                "finished": "2026-11-27T20:00:01.000000Z", "argv": [], "uid": 0, "euid": 0, "live": true,
                "signer_fingerprint": "x", "ephemeral_key": true,
                "options": {"cores": "meta", "core_cap_bytes": 0, "max_file_bytes": 0, "max_total_bytes": 0,
                    "journal_window_seconds": 0, "command_timeout_ms": 0, "includes": [], "excludes": [], "gentle": false}},
            "entries": [], "problems": []
        }))
        .expect("manifest")
    }

    /// A plain syslog line event at `entry` line `line`, undated, its raw text the message.
    pub fn event(entry: &str, line: u64, message: &str) -> coroner_schemas::Event {
        use coroner_schemas::{EventKind, Origin, Source, Text, Timestamp};
        coroner_schemas::Event {
            timestamp: Timestamp::Unknown,
            source: Source::Syslog,
            kind: EventKind::Log,
            pid: None,
            ppid: None,
            uid: None,
            user: None,
            comm: None,
            message: message.to_owned(),
            raw: Text::from_str(message),
            origin: Origin { entry: entry.into(), line: Some(line), offset: None },
            fields: Default::default(),
        }
    }

    pub fn entry(path: &str, source: &str, category: &str, format: &str) -> Entry {
        serde_json::from_value(serde_json::json!({
            "path": path, "source": source, "category": category, "format": format, "size": 0, "status": {"kind": "ok"}
        }))
        .expect("entry")
    }
}
