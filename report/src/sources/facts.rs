//! Host facts: what a parser learns about the host's configuration (as opposed to events in time), returned
//! typed beside its events so the findings never read them back out of display fields.

use std::collections::BTreeMap;

use coroner_schemas::{Origin, Text, Utc};

use super::cron::Schedule;

/// One fact a parser learned.
#[derive(Clone, Debug)]
pub enum Fact {
    CronJob(CronJob),
    KillAudit(KillAudit),
    /// A sysctl and its value as text (`kernel.core_pattern`, `fs.suid_dumpable`).
    Sysctl { name: String, value: String },
    /// A live process's soft core-file limit (`ulimit -c`).
    CoreLimit { pid: i64, soft: CoreLimit },
    /// A memory cgroup's limit as collected: bytes, the kernel's text (`max`), or `null` when absent.
    CgroupLimit { cgroup: String, limit: serde_json::Value },
}

/// A crontab line with a clock schedule (not anacron, not a timer, not one whose schedule did not parse).
#[derive(Clone, Debug)]
pub struct CronJob {
    pub schedule: Schedule,
    pub run_as: Option<String>,
    pub command: String,
    /// The host's UTC offset the schedule is read in (cron runs in local time).
    pub utc_offset: i32,
    /// The line was written no later than this (its file's mtime, else the collection's end): the
    /// `cron_job` event's place in the timeline.
    pub defined_before: Utc,
    /// The line, as its `cron_job` event cites it.
    pub origin: Origin,
    pub raw: Text,
}

impl CronJob {
    /// Whether the job was due at the minute of `t` (read in the host's local time).
    pub fn due_at(&self, t: Utc) -> bool {
        time::UtcOffset::from_whole_seconds(self.utc_offset).is_ok_and(|off| self.schedule.is_due(t.0.to_offset(off)))
    }
}

/// What the loaded audit rules (`auditctl -l`) record of kill-family syscalls.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KillAudit {
    /// A rule records them from every sender of the main arch.
    pub covers: bool,
    /// When none does: the rules that record only some senders, as "only calls matching … are recorded (rule)".
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

impl CoreLimit {
    /// From `/proc/PID/limits`' soft value (`None` = unlimited).
    pub fn from_soft(soft: Option<u64>) -> CoreLimit {
        soft.map_or(CoreLimit::Unlimited, CoreLimit::Bytes)
    }
}

/// Every entry's facts, folded into one.
#[derive(Clone, Debug, Default)]
pub struct HostFacts {
    /// In timeline order (as their `cron_job` events sort).
    pub cron_jobs: Vec<CronJob>,
    /// `None` when no audit rules were collected.
    pub kill_audit: Option<KillAudit>,
    /// Readable sysctls by name.
    pub sysctls: BTreeMap<String, String>,
    /// Soft core limits of the processes alive at collection, by pid, in the snapshot's order.
    pub core_limits: Vec<(i64, CoreLimit)>,
    /// Memory cgroups' limits, by path without a trailing `/`.
    pub cgroup_limits: BTreeMap<String, serde_json::Value>,
}

impl HostFacts {
    /// Folds facts gathered in entry-name order; the first of a kind wins where there can be one.
    pub fn fold(facts: impl IntoIterator<Item = Fact>) -> HostFacts {
        let mut h = HostFacts::default();
        for f in facts {
            match f {
                Fact::CronJob(j) => h.cron_jobs.push(j),
                Fact::KillAudit(k) => {
                    h.kill_audit.get_or_insert(k);
                }
                Fact::Sysctl { name, value } => {
                    h.sysctls.entry(name).or_insert(value);
                }
                Fact::CoreLimit { pid, soft } => h.core_limits.push((pid, soft)),
                Fact::CgroupLimit { cgroup, limit } => {
                    h.cgroup_limits.entry(cgroup.trim_end_matches('/').to_owned()).or_insert(limit);
                }
            }
        }
        h.cron_jobs.sort_by(|a, b| a.defined_before.cmp(&b.defined_before).then_with(|| a.origin.cmp(&b.origin)));
        h
    }

    pub fn sysctl(&self, name: &str) -> Option<&str> {
        self.sysctls.get(name).map(String::as_str)
    }

    /// A memory cgroup's limit (`/x` and `/x/` are one cgroup).
    pub fn cgroup_limit(&self, cgroup: &str) -> Option<&serde_json::Value> {
        self.cgroup_limits.get(cgroup.trim_end_matches('/'))
    }

    /// PID 1's soft core limit, which services inherit.
    pub fn pid1_core_limit(&self) -> CoreLimit {
        self.core_limits.iter().find(|(p, _)| *p == 1).map_or(CoreLimit::Unknown, |(_, l)| *l)
    }
}
