//! One timeline event: what a parser read from one record of one bundle entry.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Text, Utc};

/// When something happened, and how sure we are.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "certainty", rename_all = "snake_case", deny_unknown_fields)]
pub enum Timestamp {
    /// The record carries a UTC-based time (audit, utmp `ut_tv`, journal, epoch-stamped history).
    Exact { utc: Utc },
    /// Kernel time since boot, converted with the manifest's clock sample (or a boot time).
    FromBoot { utc: Utc, since_boot_us: u64 },
    /// A local or year-less time turned into UTC with an assumption (syslog's missing year and zone).
    Inferred { utc: Utc, assumption: String },
    /// No time of its own: only bounds (an undated history line between dated neighbours and the file mtime).
    Bounded { after: Option<Utc>, before: Option<Utc> },
    Unknown,
}

impl Timestamp {
    /// The best single instant, for sorting and display: the time itself, or the later bound.
    pub fn sort_key(&self) -> Option<Utc> {
        match self {
            Timestamp::Exact { utc } | Timestamp::FromBoot { utc, .. } | Timestamp::Inferred { utc, .. } => Some(*utc),
            Timestamp::Bounded { after, before } => before.or(*after),
            Timestamp::Unknown => None,
        }
    }
    pub fn certainty(&self) -> &'static str {
        match self {
            Timestamp::Exact { .. } => "exact",
            Timestamp::FromBoot { .. } => "from_boot",
            Timestamp::Inferred { .. } => "inferred",
            Timestamp::Bounded { .. } => "bounded",
            Timestamp::Unknown => "unknown",
        }
    }
}

/// Where an event's raw bytes are in the bundle.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Origin {
    /// Bundle path of the entry (`fs/var/log/audit/audit.log`).
    pub entry: String,
    /// 1-based line number, for line-oriented sources.
    pub line: Option<u64>,
    /// Byte offset of the record in the entry's (decompressed) bytes.
    pub offset: Option<u64>,
}

/// The evidence source family an event came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Kmsg,
    Dmesg,
    Pstore,
    Syslog,
    Journal,
    Audit,
    Wtmp,
    Btmp,
    Utmp,
    Lastlog,
    History,
    Cron,
    Core,
    Proc,
    Settings,
    Systemd,
    Other,
}

/// What an event is. Parsers choose the most specific kind they can prove.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The host booted (wtmp `reboot`, kmsg start, journal boot).
    Boot,
    /// Orderly shutdown or runlevel change recorded.
    Shutdown,
    Login,
    Logout,
    LoginFailed,
    /// A process asked the kernel's OOM killer to run (`invoked oom-killer`).
    OomInvoked,
    /// One line of the OOM task dump table.
    OomTaskDump,
    /// The OOM killer killed a process.
    OomKill,
    /// `oom_reaper: reaped process …`.
    OomReaped,
    /// `segfault at …` from the kernel.
    Segfault,
    /// `traps:` lines: general protection, invalid opcode, divide error, int3.
    Trap,
    HungTask,
    SoftLockup,
    KernelPanic,
    /// A kernel oops/BUG/warning.
    KernelOops,
    /// A signal was sent (audit kill-family syscall, tracefs signal_generate).
    SignalSent,
    /// A process ended abnormally (audit ANOM_ABEND, systemd code=killed/dumped).
    ProcessCrash,
    /// A process exited or was killed, as a supervisor saw it (systemd `Main process exited`).
    ProcessExit,
    /// systemd killed a unit's processes or a unit failed.
    ServiceKilled,
    ServiceFailed,
    ServiceStart,
    ServiceStop,
    WatchdogTimeout,
    /// A core dump was written (systemd-coredump, or a core file's own notes).
    CoreDumped,
    /// A program was executed (audit EXECVE).
    Exec,
    /// sudo/su: a command run as another user.
    PrivilegedCommand,
    /// A line of shell history.
    ShellCommand,
    /// A history line that sends signals or stops services (kill, pkill, systemctl stop…).
    KillCommand,
    /// A scheduled job definition (crontab line, timer).
    CronJob,
    /// A cron daemon ran a job.
    CronRun,
    /// The process table at collection: a process alive then.
    ProcessAlive,
    /// A setting relevant to deaths (core_pattern, ulimit -c, audit rules).
    Setting,
    /// An audit record of another type (LOGIN, USER_*, SERVICE_*, CONFIG_CHANGE…).
    Audit,
    /// Any other log line.
    Log,
}

/// One timeline event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Event {
    pub timestamp: Timestamp,
    pub source: Source,
    pub kind: EventKind,
    /// The process the event is about (the victim of an OOM kill, the sender of a kill syscall).
    pub pid: Option<i64>,
    pub ppid: Option<i64>,
    pub uid: Option<u32>,
    /// User name for `uid`, from the bundle's own `/etc/passwd` (never the analyst's machine).
    pub user: Option<String>,
    pub comm: Option<String>,
    /// One-line human summary.
    pub message: String,
    /// The record exactly as it stands in the entry.
    pub raw: Text,
    pub origin: Origin,
    /// Source-specific fields (signal, target pid, cgroup, rss_kb, auid, ses, exe, cmdline, …).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, serde_json::Value>,
}

impl Event {
    /// A total order for timelines: time (undated last), then origin, so output is deterministic.
    pub fn cmp_timeline(&self, other: &Event) -> std::cmp::Ordering {
        let a = self.timestamp.sort_key();
        let b = other.timestamp.sort_key();
        match (a, b) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        }
        .then_with(|| self.origin.cmp(&other.origin))
        .then_with(|| self.kind.cmp(&other.kind))
        .then_with(|| self.message.cmp(&other.message))
    }

    pub fn field_i64(&self, key: &str) -> Option<i64> {
        self.fields.get(key).and_then(|v| v.as_i64())
    }
    pub fn field_str(&self, key: &str) -> Option<&str> {
        self.fields.get(key).and_then(|v| v.as_str())
    }
}
