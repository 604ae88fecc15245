//! The signal recorder's log (`coroner-collect watch`): JSONL files under its state directory
//! (`/var/lib/coroner/watch/watch-*.jsonl`), one [`WatchRecord`] per line, written as the kernel reports
//! signals, OOM victims and death lines. The collector copies the files raw (format `watch_jsonl`); the report
//! parses them.
//!
//! Every record keeps the trace or kmsg text it was made from (`raw`), so the report can show the bytes a
//! claim rests on, and each process field says where it came from ([`FieldFrom`]).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Utc;

/// Where the recorder keeps its files by default.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/coroner";
/// The recorder's JSONL files, under the state directory: `watch/watch-<n>.jsonl`, `<n>` growing.
pub const WATCH_SUBDIR: &str = "watch";
/// The ftrace instance the recorder owns (under `<tracefs>/instances/`).
pub const TRACE_INSTANCE: &str = "coroner";

/// One line of the recorder's log.
// Records are built, written or read, and dropped one at a time (only tests hold vectors of them): boxing the
// signal record would add an allocation per record for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum WatchRecord {
    /// The recorder started (again after a restart): what it records and how its times were converted.
    Start(WatchStart),
    /// A signal the kernel generated (`signal/signal_generate`), with its sender and target as the recorder
    /// knew them, and what became of the target.
    Signal(SignalRecord),
    /// The OOM killer chose a victim (`oom/mark_victim`).
    OomVictim(OomVictim),
    /// A kernel log record of a death (OOM kill, segfault, trap, hung task, panic), copied from `/dev/kmsg`
    /// as it was, so a wrapped ring buffer or a reboot does not lose it.
    Kmsg(KmsgCopy),
    /// Events the recorder lost, counted (ftrace overruns, a full disk, a reader that fell behind).
    Lost(Lost),
    /// The recorder stopped.
    Stop(WatchStop),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WatchStart {
    pub at: Utc,
    /// The recorder's own pid and version.
    pub pid: i64,
    pub version: String,
    /// `/proc/sys/kernel/random/boot_id`: records of another boot are not matched with this boot's pids.
    pub boot_id: Option<String>,
    /// The tracefs instance directory used (`/sys/kernel/tracing/instances/coroner`).
    pub instance: String,
    /// The trace clock (`boot`, `mono`…) and the wall-clock time its zero stands for: `at` of every record is
    /// `clock_zero + clock_ns`.
    pub trace_clock: String,
    pub clock_zero: Utc,
    /// Tracepoints enabled (`signal/signal_generate`, …), and `bpf/coroner_argv` when the exec argv program ran.
    pub events: Vec<String>,
    /// The kernel-side filter on `signal_generate` (`sig == 9 || sig == 15 || …`).
    pub signal_filter: String,
    /// Signals recorded, by number.
    pub signals: Vec<i32>,
}

/// Whether a signal came from a process's system call or from the kernel itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SignalOrigin {
    /// `kill`, `tkill`, `tgkill`, `sigqueue` (si_code SI_USER, SI_TKILL, SI_QUEUE…).
    User,
    /// The kernel: SI_KERNEL (OOM killer, a dying parent's `PR_SET_PDEATHSIG`…), a fault (SIGSEGV, SIGBUS…
    /// with a positive si_code), or a resource limit (SIGXCPU, SIGXFSZ).
    Kernel,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SignalRecord {
    /// `clock_zero + clock_ns` (see [`WatchStart`]).
    pub at: Utc,
    /// The trace clock's timestamp, in nanoseconds, as the kernel gave it.
    pub clock_ns: u64,
    pub sig: i32,
    /// `SIGKILL`, `SIGRTMIN+3`…
    pub signal: String,
    /// `si_code` as the tracepoint gave it, and its name (`SI_USER`, `SI_KERNEL`, `SI_TKILL`, `SEGV_MAPERR`…).
    pub code: i32,
    pub code_name: String,
    pub origin: SignalOrigin,
    /// The tracepoint's `result`: 0 delivered, 1 ignored, 2 already pending, 3 overflow, 4 lost info.
    pub result: i32,
    pub result_name: String,
    /// Sent to the whole thread group (`kill`) rather than one thread (`tgkill`).
    pub group: bool,
    /// The process that was running the call (`common_pid`); for a kernel-originated signal, whatever ran.
    pub sender: ProcInfo,
    pub target: ProcInfo,
    /// What became of the target within the recorder's wait (a few seconds).
    pub fate: TargetFate,
    /// How the kernel then acted on a signal in the target: the first `signal_deliver` its thread group showed
    /// after this signal (absent when none was seen, or from a recorder that did not trace it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<Delivery>,
    /// The trace line exactly as read.
    pub raw: String,
}

/// A `signal/signal_deliver` line of the target, read in its own context. A signal whose default action ends
/// the process shows as `sig=9` with no handler in every thread (the kernel turns a fatal signal into SIGKILL
/// for the whole group); a caught one shows as itself with its handler's address.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Delivery {
    /// The thread it was delivered in.
    pub tid: i64,
    pub sig: i32,
    /// `sa_handler`: the default action (0, SIG_DFL), ignored (1, SIG_IGN), or a handler in the process.
    pub action: DeliveryAction,
    /// This long after the signal was generated.
    pub after_us: u64,
    /// The trace line exactly as read.
    pub raw: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryAction {
    Default,
    Ignore,
    Handler,
}

/// What the recorder saw of the target after the signal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "seen", rename_all = "snake_case")]
pub enum TargetFate {
    /// Its thread group exited (`sched_process_exit` with `group_dead`) this long after the signal.
    Exited { after_us: u64 },
    /// No exit within the wait.
    StillRunning { waited_ms: u64 },
    /// The recorder stopped (or lost events) before it could tell.
    Unknown,
}

/// A process as the recorder knew it. `from` says, for each field given, where it came from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProcInfo {
    pub pid: i64,
    /// The thread, when it is not the thread-group leader.
    pub tid: Option<i64>,
    pub comm: Option<String>,
    pub exe: Option<String>,
    pub argv: Option<Vec<String>>,
    pub uid: Option<u32>,
    /// `/proc/PID/loginuid` (audit's auid); absent when unset (4294967295).
    pub loginuid: Option<u32>,
    pub cgroup: Option<String>,
    /// Parent, grandparent… as far as known (at most 8).
    pub parents: Vec<Ancestor>,
    /// Field name (`comm`, `exe`, `argv`, `uid`, `loginuid`, `cgroup`, `parents`) → where it came from.
    pub from: BTreeMap<String, FieldFrom>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Ancestor {
    pub pid: i64,
    pub comm: Option<String>,
    pub exe: Option<String>,
}

/// Where a process field in a record came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldFrom {
    /// The trace event itself.
    Trace,
    /// The recorder's process table, fed by exec and fork events (and the exec program, or `/proc`, at exec time).
    Table,
    /// `/proc` read when the signal was recorded.
    Proc,
    /// Copied from its parent at fork: the process was gone before the recorder could read its own from `/proc`,
    /// so a change of ids after the fork (su, sudo, setuid, a login's loginuid) is not seen. Only uid, loginuid,
    /// cgroup.
    Parent,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OomVictim {
    pub at: Utc,
    pub clock_ns: u64,
    pub pid: i64,
    pub comm: Option<String>,
    pub uid: Option<u32>,
    pub total_vm_kb: Option<u64>,
    pub anon_rss_kb: Option<u64>,
    pub file_rss_kb: Option<u64>,
    pub shmem_rss_kb: Option<u64>,
    pub oom_score_adj: Option<i64>,
    /// The victim as the recorder knew it (exe, argv, cgroup, parents).
    pub process: ProcInfo,
    pub raw: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct KmsgCopy {
    /// From the record's microseconds since boot and the boot time the recorder read.
    pub at: Option<Utc>,
    /// The record's sequence number, and the record as `/dev/kmsg` gave it (header, message, continuation lines).
    pub seq: u64,
    pub raw: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Lost {
    pub at: Utc,
    /// `ftrace` (ring buffer overrun), `kmsg` (records overwritten before read), `disk` (a write failed),
    /// `cap` (the size cap removed old files).
    pub what: String,
    pub count: u64,
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WatchStop {
    pub at: Utc,
    /// `SIGTERM`, `SIGINT`, or the error that stopped it.
    pub reason: String,
    /// Records written and events lost since this run's start.
    pub records: u64,
    pub lost: u64,
}
