//! Host facts: what a parser learns of the host's configuration (not an event in time), returned typed beside
//! its events so that the findings never read it back out of display fields.

use std::collections::BTreeMap;

use coroner_schemas::{Origin, Text, Utc};
use serde_json::Value;

use super::cron::Schedule;

#[derive(Clone, Debug)]
pub enum Fact {
    CronJob(CronJob),
    KillAudit(KillAudit),
    /// A readable sysctl, its value as text.
    Sysctl { name: String, value: String },
    /// A live process's soft core-file limit (`ulimit -c`).
    CoreLimit { pid: i64, soft: CoreLimit },
    /// A memory cgroup's limit as collected: bytes, the kernel's text (`max`), or `null`.
    CgroupLimit { cgroup: String, limit: Value },
    /// A run of the signal recorder (`coroner-collect watch`), as its log shows it.
    Recorder(RecorderRun),
}

/// One run of the signal recorder, from its `start` record (or the first record of a file that begins
/// mid-run) to its `stop` record (or its last record: it was still running at collection, or was killed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecorderRun {
    /// Bundle path of the log.
    pub entry: String,
    /// `None`: the file begins mid-run (its start was rotated away).
    pub started: Option<Utc>,
    pub stopped: Option<Utc>,
    pub stop_reason: Option<String>,
    /// The latest time of a record of the run.
    pub last_record: Option<Utc>,
    pub boot_id: Option<String>,
    /// Signals recorded, by number, and the kernel-side filter.
    pub signals: Vec<i32>,
    pub signal_filter: Option<String>,
    /// Records read of the run (signals, OOM victims, kernel records, losses).
    pub records: u64,
    /// Events lost: the `stop` record's count, or the `lost` records' sum when larger.
    pub lost: u64,
    /// The `lost` records' sum, and what was lost (`ftrace`, `kmsg`, `disk`, `cap`).
    pub lost_counted: u64,
    pub lost_what: Vec<String>,
    /// The `start` record (or the run's first record).
    pub origin: Origin,
}

impl Default for RecorderRun {
    fn default() -> RecorderRun {
        RecorderRun {
            entry: String::new(),
            started: None,
            stopped: None,
            stop_reason: None,
            last_record: None,
            boot_id: None,
            signals: Vec::new(),
            signal_filter: None,
            records: 0,
            lost: 0,
            lost_counted: 0,
            lost_what: Vec::new(),
            origin: Origin { entry: "".into(), line: None, offset: None },
        }
    }
}

impl RecorderRun {
    /// Whether the run was recording at `t`: after its start (when known) and before its stop. A run with no
    /// `stop` record is taken to have run on to the collection (the collector copies a running recorder's log).
    pub fn covers(&self, t: Utc) -> bool {
        self.started.is_none_or(|s| s <= t) && self.stopped.is_none_or(|u| t <= u)
    }
    /// Whether it recorded signal `sig` (an empty list: the filter is not known, assumed to).
    pub fn records_signal(&self, sig: i64) -> bool {
        self.signals.is_empty() || self.signals.iter().any(|&s| i64::from(s) == sig)
    }
}

/// A crontab line with a clock schedule (not anacron, not a timer, not a schedule that did not parse).
#[derive(Clone, Debug)]
pub struct CronJob {
    pub schedule: Schedule,
    pub run_as: Option<String>,
    pub command: String,
    /// The host's UTC offset: cron reads schedules in local time.
    pub utc_offset: i32,
    /// Its file's mtime, else the collection's end: where its `cron_job` event sorts in the timeline.
    pub defined_before: Utc,
    /// The line, as its `cron_job` event cites it.
    pub origin: Origin,
    pub raw: Text,
}

impl CronJob {
    /// Whether the job was due at the minute of `t`.
    pub fn due_at(&self, t: Utc) -> bool {
        time::UtcOffset::from_whole_seconds(self.utc_offset).is_ok_and(|off| self.schedule.is_due(t.0.to_offset(off)))
    }
}

/// What the loaded audit rules (`auditctl -l`) record of kill-family syscalls.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KillAudit {
    /// A rule records them from every sender of the main arch.
    pub covers: bool,
    /// When none does, the rules that record some senders only: "only calls matching … are recorded (rule)".
    pub narrowed: Vec<String>,
}

/// A soft `RLIMIT_CORE`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CoreLimit {
    /// No process record, or its limits could not be read.
    #[default]
    Unknown,
    Unlimited,
    Bytes(u64),
}

/// Every entry's facts, folded; where there can be one, the first in entry-name order wins.
#[derive(Clone, Debug, Default)]
pub struct HostFacts {
    /// In their events' timeline order.
    pub cron_jobs: Vec<CronJob>,
    /// `None`: no audit rules were collected.
    pub kill_audit: Option<KillAudit>,
    pub sysctls: BTreeMap<String, String>,
    /// Processes alive at collection, in the snapshot's order.
    pub core_limits: Vec<(i64, CoreLimit)>,
    /// By path without a trailing `/`.
    pub cgroup_limits: BTreeMap<String, Value>,
    /// Runs of the signal recorder, by start (a run whose start is unknown first).
    pub recorder_runs: Vec<RecorderRun>,
}

impl HostFacts {
    pub fn fold(facts: impl IntoIterator<Item = Fact>) -> HostFacts {
        let mut h = HostFacts::default();
        for f in facts {
            match f {
                Fact::CronJob(j) => h.cron_jobs.push(j),
                Fact::KillAudit(k) => _ = h.kill_audit.get_or_insert(k),
                Fact::Sysctl { name, value } => _ = h.sysctls.entry(name).or_insert(value),
                Fact::CoreLimit { pid, soft } => h.core_limits.push((pid, soft)),
                Fact::CgroupLimit { cgroup, limit } => _ = h.cgroup_limits.entry(cgroup.trim_end_matches('/').to_owned()).or_insert(limit),
                Fact::Recorder(r) => h.recorder_runs.push(r),
            }
        }
        h.recorder_runs.sort_by(|a, b| (a.started, a.last_record, &a.origin).cmp(&(b.started, b.last_record, &b.origin)));
        h.cron_jobs.sort_by(|a, b| (a.defined_before, &a.origin).cmp(&(b.defined_before, &b.origin)));
        h
    }

    pub fn sysctl(&self, name: &str) -> Option<&str> {
        self.sysctls.get(name).map(String::as_str)
    }

    /// A memory cgroup's limit (`/x` and `/x/` are one cgroup).
    pub fn cgroup_limit(&self, cgroup: &str) -> Option<&Value> {
        self.cgroup_limits.get(cgroup.trim_end_matches('/'))
    }

    /// PID 1's soft core limit, which services inherit.
    pub fn pid1_core_limit(&self) -> CoreLimit {
        self.core_limits.iter().find(|(p, _)| *p == 1).map_or(CoreLimit::Unknown, |(_, l)| *l)
    }
}
