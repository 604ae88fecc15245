//! `live/proc/processes.json`: the process table at collection, read directly from `/proc`.
//!
//! Structured because `/proc` is volatile, but each record also keeps the raw `stat` line and the raw
//! `limits` text so the report can re-derive anything.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Text, Utc};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcSnapshot {
    /// When the table was read (start of the walk).
    pub taken: Utc,
    /// `btime` from `/proc/stat`, seconds since the epoch.
    pub btime: u64,
    /// sysconf(_SC_CLK_TCK).
    pub clk_tck: u64,
    /// Page size in bytes.
    pub page_size: u64,
    /// Sorted by pid.
    pub processes: Vec<ProcessRecord>,
    /// Processes that vanished while read, or fields that could not be read.
    pub problems: Vec<ProcProblem>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcProblem {
    pub pid: Option<i64>,
    pub file: String,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcessRecord {
    pub pid: i64,
    pub ppid: Option<i64>,
    pub pgid: Option<i64>,
    pub sid: Option<i64>,
    /// `tty_nr` from stat (device number; 0 = none).
    pub tty_nr: Option<i64>,
    /// Real, effective, saved, filesystem uids (status `Uid:`).
    pub uids: Vec<u32>,
    pub gids: Vec<u32>,
    /// Name of the real uid and of the effective uid, from the host's `/etc/passwd`.
    pub user: Option<String>,
    pub euser: Option<String>,
    /// `comm` (≤ 15 bytes; may hold any bytes but NUL and newline).
    pub comm: Option<Text>,
    /// readlink of `/proc/PID/exe`.
    pub exe: Option<Text>,
    /// `/proc/PID/cmdline` split at NUL.
    pub cmdline: Vec<Text>,
    /// readlink of `/proc/PID/cwd`.
    pub cwd: Option<Text>,
    /// One-letter state (`R`, `S`, `D`, `Z`, …).
    pub state: Option<String>,
    /// Start time in clock ticks since boot (stat field 22).
    pub starttime_ticks: Option<u64>,
    /// `btime + starttime_ticks / clk_tck`, computed in integers.
    pub start_time: Option<Utc>,
    pub vsize_bytes: Option<u64>,
    pub rss_bytes: Option<u64>,
    pub threads: Option<i64>,
    pub nice: Option<i64>,
    pub oom_score: Option<i64>,
    pub oom_score_adj: Option<i64>,
    /// `/proc/PID/cgroup` lines.
    pub cgroups: Vec<String>,
    /// Namespace name → inode (`pid` → 4026531836).
    pub namespaces: std::collections::BTreeMap<String, u64>,
    /// `/proc/PID/loginuid` (4294967295 = unset).
    pub loginuid: Option<u32>,
    pub sessionid: Option<u32>,
    /// Signal masks from status, hex as the kernel prints them.
    pub sig_pnd: Option<String>,
    pub sig_blk: Option<String>,
    pub sig_ign: Option<String>,
    pub sig_cgt: Option<String>,
    /// `/proc/PID/limits`, raw.
    pub limits: Option<Text>,
    /// `/proc/PID/stat`, raw.
    pub stat_raw: Option<Text>,
}
