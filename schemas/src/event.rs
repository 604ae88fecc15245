//! One timeline event: what a parser read from one record of one bundle entry.
//!
//! # Field conventions
//! Top-level `pid`/`ppid`/`uid`/`user`/`comm` describe the process the event is *about* (the victim of an
//! OOM kill, the crashing process, the *sender* of a kill syscall, the user of a login). Everything else goes
//! in `fields`, under these names (parsers and findings rely on them; add new names, do not rename). Every key,
//! with its one JSON type, is in [`crate::fields::KEYS`] (README.md's field table):
//!
//! | kind | fields |
//! |---|---|
//! | `oom_kill` | `constraint` (`CONSTRAINT_MEMCG`/`CONSTRAINT_NONE`…), `global` (bool), `oom_memcg`, `task_memcg`, `total_vm_kb`, `anon_rss_kb`, `file_rss_kb`, `shmem_rss_kb`, `pgtables_kb`, `oom_score_adj`, `oom_kill_allocating_task` (bool); kernels ≤ 5.0: `score` (badness), `chosen_pid`/`chosen_comm`/`chosen_score` (the task chosen, when a child of it was killed instead), `shares_memory_with` (pid of the victim whose memory this process shared) |
//! | `oom_invoked` | `gfp_mask`, `order`, `oom_score_adj` (pid/comm = the invoking task) |
//! | `oom_task_dump` | `tgid`, `total_vm_pages`, `rss_pages`, `pgtables_bytes`, `swapents`, `oom_score_adj`, `name` |
//! | `oom_reaped` | `anon_rss_kb`, `file_rss_kb`, `shmem_rss_kb` |
//! | `segfault` / `trap` | `signal` (11, 4, 8, 5, 7), `signal_name`, `trap` (e.g. `general protection fault`), `addr`, `ip`, `sp`, `error`, `object` (the `in BIN[...]` part) |
//! | `signal_sent` | `target_pid` (decimal; `-1` = every process, `< -1` = process group), `target_comm`, `target_uid`, `target_auid`, `signal`, `signal_name`, `syscall`, `exe`, `auid`, `auser`, `ses`, `tty`, `proctitle`, `serial`, `success`; from the signal recorder also `si_code`, `si_code_name`, `signal_origin` (`kernel`: the kernel generated it, `pid` is whatever ran), `signal_result`, `signal_group`, `fate`, `exited_after_us`, `waited_ms`, `argv`, `ancestors`, `tid`, `target_exe`, `target_argv`, `target_cgroup`, `target_user`, `sender_from`/`target_from` (field → `trace`/`table`/`proc`), `boot_id` |
//! | `process_crash` | `signal`, `signal_name`, `exe`, `auid`, `ses`, `reason` |
//! | `exec` | `argv` (array of strings), `exe`, `cwd`, `auid`, `auser`, `ses`, `serial` |
//! | `login` / `logout` / `login_failed` | `tty`, `host` (where from), `addr`, `session_end` (login: when paired), `method`, `ut_type` |
//! | `boot` / `shutdown` | `kernel`, `boot_id` |
//! | `shell_command` / `kill_command` | `command`, `shell`, `history_file`; kill: `tool` (`kill`, `pkill`, `systemctl`…), `signal`, `signal_name`, `target_pids` (array), `target_names` (array), `target_units` (array) |
//! | `privileged_command` | `runas`, `command`, `tty`, `pwd` |
//! | `cron_job` | `schedule`, `command`, `file`, `run_as` |
//! | `cron_run` | `command`, `run_as` |
//! | `process_alive` | `cmdline`, `exe`, `start_time`, `cgroup`, `oom_score_adj`, `oom_score`, `rlimit_core_soft`, `rlimit_core_hard` (`null` = unlimited), `sig_cgt`, `sig_ign` (hex masks) and `signals_caught`, `signals_ignored` (their names), `ancestors` (parent first, by the table), `supervisor`, `supervisor_pid` (the nearest ancestor that restarts what dies: an init, a supervisor, a container shim), `loginuid`, `sessionid`, `tty_nr`, `pgid`, `sid`, `state` |
//! | `process_exit` / `service_killed` / `service_failed` / `watchdog_timeout` / `service_stop` | `unit`, `code` (`killed`, `dumped`, `exited`), `status` (`9/KILL`), `signal`, `signal_name`, `result` (`oom-kill`, `signal`, `watchdog`, `core-dump`, `timeout`) |
//! | `core_dumped` | `signal`, `signal_name`, `si_code`, `si_addr`, `fname`, `psargs`, `exe`, `core_entry` (bundle path of the core), `truncated` (bool), `unit`; a core kept as metadata only (`--cores meta`): `core_file` (host path), `size`, `sha256`. What the core file's name says through `kernel.core_pattern`: `name_pid` (`%p`), `name_global_pid` (`%P`), `name_tid`, `name_global_tid`, `name_uid`, `name_gid`, `name_signal` (`%s`), `name_time` (`%t`, UNIX seconds: then the event's exact time, and `mtime` holds the file's), `name_comm` (`%e`, `/` shown as `!`), `name_hostname`, `name_exe` (`%E`), `name_exe_name`, `name_core_limit`, `name_dumpable`, `name_cpu`, `name_pidfd`, `name_pattern` (the pattern(s) matched), `name_pattern_from` (`kernel.core_pattern` or `common default`), `name_ambiguous` (specifiers the name fits more than one way) |
//! | `setting` | `name`, `value` |
//! | `cron_run`, `log` from syslog | `program`, `program_pid`, `facility`, `severity` |
//! | `log` from PID 1's crash handler | `crash_handler` (`caught`, `core_failed`, `frozen`, `exiting`), `signal`, `signal_name`, `core_pid` (the child that dumped PID 1's core) |
//! | `kernel_panic` | `reason`; `Attempted to kill init!`: `init_died` (bool), `init_exitcode` (init's exit code: signal in the low 7 bits) |

use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Fields, Text, Utc};

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
    pub entry: Arc<str>,
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
    /// The signal recorder (`coroner-collect watch`).
    Watch,
    /// A container runtime's records (Docker, containerd, CRI-O, Podman): saved state, events, its log.
    Container,
    /// The kubelet's log (file or journal unit `kubelet`).
    Kubelet,
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
    /// A core dump was written (systemd-coredump, a core file's own notes, or the name of a core kept as
    /// metadata only).
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
    /// A container's main process started (runtime state `StartedAt`, a runtime `start` event).
    ContainerStart,
    /// A container's main process ended, as its runtime recorded it (exit code, `OOMKilled`, finish time).
    ContainerExit,
    /// A runtime or the kubelet set out to stop or kill a container (`docker stop`/`kill`, Podman `kill`/`stop`
    /// events, the kubelet's "Killing container with a grace period").
    ContainerStop,
    /// A runtime's or cgroup's record of an OOM kill inside a container (Podman `oom`, `memory.events`).
    ContainerOom,
    /// A kubelet liveness, readiness or startup probe failed.
    ProbeFailed,
    /// The kubelet's eviction manager evicted a pod.
    PodEvicted,
    /// A pod was deleted through the API (`SyncLoop DELETE`) or preempted.
    PodDeleted,
    /// Any other log line.
    Log,
}


impl Source {
    /// The JSON name (`snake_case`), without serialising.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Kmsg => "kmsg",
            Source::Dmesg => "dmesg",
            Source::Pstore => "pstore",
            Source::Syslog => "syslog",
            Source::Journal => "journal",
            Source::Audit => "audit",
            Source::Wtmp => "wtmp",
            Source::Btmp => "btmp",
            Source::Utmp => "utmp",
            Source::Lastlog => "lastlog",
            Source::History => "history",
            Source::Cron => "cron",
            Source::Core => "core",
            Source::Proc => "proc",
            Source::Settings => "settings",
            Source::Systemd => "systemd",
            Source::Watch => "watch",
            Source::Container => "container",
            Source::Kubelet => "kubelet",
            Source::Other => "other",
        }
    }
    /// Every value, in declaration order.
    pub const ALL: [Source; 20] = [Source::Kmsg, Source::Dmesg, Source::Pstore, Source::Syslog, Source::Journal, Source::Audit, Source::Wtmp, Source::Btmp, Source::Utmp, Source::Lastlog, Source::History, Source::Cron, Source::Core, Source::Proc, Source::Settings, Source::Systemd, Source::Watch, Source::Container, Source::Kubelet, Source::Other];
}

impl EventKind {
    /// The JSON name (`snake_case`), without serialising.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Boot => "boot",
            EventKind::Shutdown => "shutdown",
            EventKind::Login => "login",
            EventKind::Logout => "logout",
            EventKind::LoginFailed => "login_failed",
            EventKind::OomInvoked => "oom_invoked",
            EventKind::OomTaskDump => "oom_task_dump",
            EventKind::OomKill => "oom_kill",
            EventKind::OomReaped => "oom_reaped",
            EventKind::Segfault => "segfault",
            EventKind::Trap => "trap",
            EventKind::HungTask => "hung_task",
            EventKind::SoftLockup => "soft_lockup",
            EventKind::KernelPanic => "kernel_panic",
            EventKind::KernelOops => "kernel_oops",
            EventKind::SignalSent => "signal_sent",
            EventKind::ProcessCrash => "process_crash",
            EventKind::ProcessExit => "process_exit",
            EventKind::ServiceKilled => "service_killed",
            EventKind::ServiceFailed => "service_failed",
            EventKind::ServiceStart => "service_start",
            EventKind::ServiceStop => "service_stop",
            EventKind::WatchdogTimeout => "watchdog_timeout",
            EventKind::CoreDumped => "core_dumped",
            EventKind::Exec => "exec",
            EventKind::PrivilegedCommand => "privileged_command",
            EventKind::ShellCommand => "shell_command",
            EventKind::KillCommand => "kill_command",
            EventKind::CronJob => "cron_job",
            EventKind::CronRun => "cron_run",
            EventKind::ProcessAlive => "process_alive",
            EventKind::Setting => "setting",
            EventKind::Audit => "audit",
            EventKind::ContainerStart => "container_start",
            EventKind::ContainerExit => "container_exit",
            EventKind::ContainerStop => "container_stop",
            EventKind::ContainerOom => "container_oom",
            EventKind::ProbeFailed => "probe_failed",
            EventKind::PodEvicted => "pod_evicted",
            EventKind::PodDeleted => "pod_deleted",
            EventKind::Log => "log",
        }
    }
    /// Every value, in declaration order.
    pub const ALL: [EventKind; 41] = [EventKind::Boot, EventKind::Shutdown, EventKind::Login, EventKind::Logout, EventKind::LoginFailed, EventKind::OomInvoked, EventKind::OomTaskDump, EventKind::OomKill, EventKind::OomReaped, EventKind::Segfault, EventKind::Trap, EventKind::HungTask, EventKind::SoftLockup, EventKind::KernelPanic, EventKind::KernelOops, EventKind::SignalSent, EventKind::ProcessCrash, EventKind::ProcessExit, EventKind::ServiceKilled, EventKind::ServiceFailed, EventKind::ServiceStart, EventKind::ServiceStop, EventKind::WatchdogTimeout, EventKind::CoreDumped, EventKind::Exec, EventKind::PrivilegedCommand, EventKind::ShellCommand, EventKind::KillCommand, EventKind::CronJob, EventKind::CronRun, EventKind::ProcessAlive, EventKind::Setting, EventKind::Audit, EventKind::ContainerStart, EventKind::ContainerExit, EventKind::ContainerStop, EventKind::ContainerOom, EventKind::ProbeFailed, EventKind::PodEvicted, EventKind::PodDeleted, EventKind::Log];
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
    #[serde(default, skip_serializing_if = "Fields::is_empty")]
    pub fields: Fields,
}

impl Event {
    /// An event with what every record has: when, from which source, of what kind, its summary, its bytes and
    /// where they are. Who it is about (`pid`, `uid`, …) and its `fields` start empty; set those the record gives.
    pub fn new(timestamp: Timestamp, source: Source, kind: EventKind, message: String, raw: Text, origin: Origin) -> Event {
        Event {
            timestamp,
            source,
            kind,
            pid: None,
            ppid: None,
            uid: None,
            user: None,
            comm: None,
            message,
            raw,
            origin,
            fields: Fields::default(),
        }
    }

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

#[cfg(test)]
mod name_tests {
    use super::*;

    /// `as_str` must be the serde name of every value (timelines write it without serialising).
    #[test]
    fn names_are_the_json_names() {
        for s in Source::ALL {
            assert_eq!(serde_json::to_value(s).expect("ser"), serde_json::Value::from(s.as_str()));
        }
        for k in EventKind::ALL {
            assert_eq!(serde_json::to_value(k).expect("ser"), serde_json::Value::from(k.as_str()));
        }
    }
}
