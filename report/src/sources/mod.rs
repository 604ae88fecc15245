//! One parser per evidence source. Every parser has the same face and is pure:
//! `parse(raw: &[u8], ctx: &SourceCtx) -> Parsed`. The parser is chosen from the manifest entry's
//! [`Format`], never from a file name.

use std::sync::Arc;

use bytes::Bytes;
use coroner_schemas::accounts::Accounts;
use coroner_schemas::manifest::{Entry, Format, Manifest};
use coroner_schemas::{Event, Timestamp, Utc};
use serde::Serialize;

use core_name::CoreNaming;

static NO_CORE_NAMING: CoreNaming = CoreNaming::UNKNOWN;

pub mod audit;
pub mod container_ids;
pub mod conmon;
pub mod containers;
pub mod core_elf;
pub mod core_meta;
pub mod core_name;
pub mod cri_log;
pub mod crictl;
pub mod cron;
pub mod daemon_lines;
pub mod docker;
pub mod facts;
pub mod history;
pub mod journal;
pub mod kernel_lines;
pub mod kmsg;
pub mod kubelet;
pub mod limits;
pub mod oci;
pub mod podman_events;
pub mod proc;
pub mod runtime_log;
pub mod settings;
pub mod signals;
pub mod syslog;
pub mod utmp;
pub mod watch;

/// What a parser may know besides the bytes: what they are and what host they came from.
pub struct SourceCtx<'a> {
    /// The manifest entry being parsed (its path is the events' `origin.entry`).
    pub entry: &'a Entry,
    /// The whole manifest: clock sample, boot time, host zone, collection time.
    pub manifest: &'a Manifest,
    /// The collected host's `/etc/passwd` and `/etc/group` (empty when the bundle has none).
    pub accounts: &'a Accounts,
    /// The entry's bundle path, shared by every event's origin.
    pub path: Arc<str>,
    /// How the collected host named core files (`kernel.core_pattern`), for reading a core's file name.
    pub core_naming: &'a CoreNaming,
    /// Where the bytes begin in the entry: not 0 only for a piece of an entry cut at a [`split_points`] cut.
    pub offset: u64,
}

impl<'a> SourceCtx<'a> {
    pub fn new(entry: &'a Entry, manifest: &'a Manifest, accounts: &'a Accounts) -> SourceCtx<'a> {
        SourceCtx { entry, manifest, accounts, path: Arc::from(entry.path.as_str()), core_naming: &NO_CORE_NAMING, offset: 0 }
    }
    /// Tells the core parsers the host's `kernel.core_pattern` (else only common patterns are tried).
    pub fn with_core_naming(mut self, naming: &'a CoreNaming) -> SourceCtx<'a> {
        self.core_naming = naming;
        self
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

/// A time known only to lie between `after` and `before`. Neighbours that disagree (a clock stepped back
/// between two dated lines, a dated line later than the file's mtime) are ordered, so the bounds span both
/// stamps rather than stating an empty interval.
pub fn bounded(after: Option<Utc>, before: Option<Utc>) -> Timestamp {
    match (after, before) {
        (Some(a), Some(b)) if a > b => Timestamp::Bounded { after: Some(b), before: Some(a) },
        _ => Timestamp::Bounded { after, before },
    }
}

/// Parses one entry's (decompressed) bytes with the parser its format names. Formats with no timeline
/// parser yield nothing. Parsers whose events keep their raw records take the bytes as [`Bytes`], so those
/// records are slices of them, not copies.
pub fn parse(raw: &Bytes, ctx: &SourceCtx) -> Parsed {
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
        Format::WatchJsonl => watch::parse(raw, ctx),
        Format::ProcLimits | Format::LimitsConf => limits::parse(raw, ctx),
        Format::SysctlJson | Format::CgroupsJson | Format::AuditRules | Format::AuditStatus | Format::SystemdShowJson => {
            settings::parse(raw, ctx)
        }
        Format::DockerConfigJson | Format::DockerHostConfigJson | Format::DockerJsonLog | Format::DockerPsJson | Format::DockerInspectJson => {
            docker::parse(raw, ctx)
        }
        Format::KubeletLog | Format::KubeletConfigYaml => kubelet::parse(raw, ctx),
        Format::RuntimeLog => runtime_log::parse(raw, ctx),
        Format::CriLog | Format::ContainerLogLinks => cri_log::parse(raw, ctx),
        Format::OciConfigJson | Format::ContainerStateJson => oci::parse(raw, ctx),
        Format::PodmanEventsLog | Format::PodmanPsJson => podman_events::parse(raw, ctx),
        Format::CrictlPsJson | Format::CrictlInspectJson => crictl::parse(raw, ctx),
        Format::ConmonExitFile | Format::ConmonOomFile => conmon::parse(raw, ctx),
        _ => Parsed::default(),
    }
}

/// [`parse`] over a copy of `raw`.
pub fn parse_entry(raw: &[u8], ctx: &SourceCtx) -> Parsed {
    parse(&Bytes::copy_from_slice(raw), ctx)
}

/// Byte offsets, strictly inside `raw`, where it can be cut into about `parts` pieces that [`parse`] reads
/// on their own (told their [`SourceCtx::offset`]) to the same events and problems as the whole, but for line
/// numbers, which count from each piece's first line. Empty when
/// the format cannot be cut, or these bytes cannot be cut exactly.
pub fn split_points(raw: &[u8], ctx: &SourceCtx, parts: usize) -> Vec<usize> {
    match ctx.entry.format {
        Format::AuditLog => audit::split_points(raw, parts),
        Format::Utmp => utmp::split_points(raw, ctx, parts),
        _ => Vec::new(),
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
        coroner_schemas::Event::new(
            Timestamp::Unknown,
            Source::Syslog,
            EventKind::Log,
            message.to_owned(),
            Text::from_str(message),
            Origin { entry: entry.into(), line: Some(line), offset: None },
        )
    }

    pub fn entry(path: &str, source: &str, category: &str, format: &str) -> Entry {
        serde_json::from_value(serde_json::json!({
            "path": path, "source": source, "category": category, "format": format, "size": 0, "status": {"kind": "ok"}
        }))
        .expect("entry")
    }
}
