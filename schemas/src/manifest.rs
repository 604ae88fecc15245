//! `manifest.json`: what the collector took, from where, and what happened while it took it.
//!
//! The collector copies bytes and does not interpret them; the manifest is the only place it says anything
//! about them. Every member of the bundle's tar except [`crate::layout::UNLISTED`] has exactly one entry here
//! with its size and sha256; entries that could not be taken (permission denied, not found, a FIFO) are
//! listed too, with no bytes, so the report can say what evidence was missing.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Utc;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`crate::SCHEMA_VERSION`] of the writer.
    pub schema_version: u32,
    /// File name of the bundle as written (`coroner-HOST-YYYYMMDDTHHMMSSZ.tar.gz`).
    pub bundle_name: String,
    pub host: HostFacts,
    pub collector: CollectorInfo,
    /// Clock sample taken at collection, to convert kernel boot-relative times to wall clock.
    pub clock: Option<ClockSample>,
    /// Every acquired item, sorted by `path`.
    pub entries: Vec<Entry>,
    /// Problems that belong to no single entry (not root, a cap reached, a source not applicable).
    pub problems: Vec<Problem>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HostFacts {
    pub hostname: String,
    /// `/etc/machine-id`.
    pub machine_id: Option<String>,
    /// `/proc/sys/kernel/random/boot_id` (live only): changes at every boot.
    pub boot_id: Option<String>,
    /// `uname -r` (`/proc/sys/kernel/osrelease`).
    pub kernel_release: Option<String>,
    /// `/proc/sys/kernel/version`.
    pub kernel_version: Option<String>,
    /// Machine architecture (`x86_64`, `aarch64`).
    pub arch: Option<String>,
    /// Boot time, from `btime` in `/proc/stat`.
    pub boot_time: Option<Utc>,
    /// Seconds since boot (`/proc/uptime`, first field).
    pub uptime_seconds: Option<f64>,
    /// The host's zone name (`/etc/timezone` or the `/etc/localtime` link), for reading local-time logs.
    pub timezone: Option<String>,
    /// UTC offset of the host's local time at collection, in seconds (east positive), when known.
    pub utc_offset_seconds: Option<i32>,
    /// Kernel/OS name from `/etc/os-release` `PRETTY_NAME`.
    pub os_pretty_name: Option<String>,
    /// Whether PID 1 is systemd.
    pub systemd: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectorInfo {
    /// `coroner-collect`.
    pub name: String,
    pub version: String,
    pub started: Utc,
    pub finished: Utc,
    /// The command line, as given.
    pub argv: Vec<String>,
    pub options: CollectOptions,
    /// Real and effective uid of the collector.
    pub uid: u32,
    pub euid: u32,
    /// True when collecting the running host; false with `--root` (live sources not applicable).
    pub live: bool,
    /// SHA256 fingerprint (`SHA256:…`) of the signing key, as `ssh-keygen -l` prints it.
    pub signer_fingerprint: String,
    /// Whether the signing key was made for this bundle only (no `--key`).
    pub ephemeral_key: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectOptions {
    /// `--root DIR`, when given.
    pub root: Option<String>,
    /// Core file policy.
    pub cores: CorePolicy,
    /// Largest core file kept whole under `full`; larger ones keep their head.
    pub core_cap_bytes: u64,
    /// Per-file cap: a larger log keeps its tail, a larger core its head.
    pub max_file_bytes: u64,
    /// Cap on all bytes taken; once reached, further entries are recorded as skipped.
    pub max_total_bytes: u64,
    /// How far back the journal export reaches, in seconds.
    pub journal_window_seconds: u64,
    /// Timeout of each external command, in milliseconds.
    pub command_timeout_ms: u64,
    pub includes: Vec<String>,
    pub excludes: Vec<String>,
    /// Low CPU and I/O priority.
    pub gentle: bool,
    /// `--redact`: secrets in histories, command lines, syslog and the journal export were replaced before
    /// they reached the bundle (each such entry says so in its `redaction`). Absent in older bundles: false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub redact: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CorePolicy {
    /// Whole cores up to `core_cap_bytes`, the head of larger ones.
    Full,
    /// Only the head that holds the ELF headers, program headers and PT_NOTE segment.
    Head,
    /// No bytes: size, sha256 and metadata only.
    Meta,
}

/// Realtime and boot-relative clocks read back to back, so kernel timestamps (µs since boot) convert to UTC:
/// `utc = realtime - monotonic + since_boot`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClockSample {
    /// CLOCK_REALTIME, ns since the Unix epoch.
    pub realtime_ns: i64,
    /// CLOCK_MONOTONIC, ns (what printk timestamps follow; stops during suspend).
    pub monotonic_ns: u64,
    /// CLOCK_BOOTTIME, ns (counts suspend).
    pub boottime_ns: u64,
    /// Width of the window in which the three were read, ns: the offset's uncertainty.
    pub uncertainty_ns: u64,
}

impl ClockSample {
    /// UTC of a kernel timestamp given in microseconds since boot (CLOCK_MONOTONIC based, as printk's).
    pub fn boot_us_to_utc(&self, since_boot_us: u64) -> Option<Utc> {
        let ns = i128::from(self.realtime_ns) - i128::from(self.monotonic_ns) + i128::from(since_boot_us) * 1000;
        Utc::from_unix_nanos(ns)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Path inside the bundle (`fs/var/log/syslog`, `live/proc/processes.json`). Relative, `/`-separated,
    /// no `..`; unique.
    pub path: String,
    /// Where it came from: the host path (relative to `--root`, written absolute), `/dev/kmsg`, or the
    /// command line of an external command.
    pub source: String,
    pub category: Category,
    /// How the report should read it. Chosen by the collector from where the file was found; the report never
    /// guesses from a file extension.
    pub format: Format,
    /// Account the item belongs to (user crontab, shell history), when the location says so.
    pub account: Option<String>,
    /// Bytes of this entry in the bundle (0 when nothing was stored).
    pub size: u64,
    /// sha256 of exactly the stored bytes; absent when nothing was stored.
    pub sha256: Option<String>,
    /// Stored compressed as found (a rotated `.gz` log is stored as is, not inflated).
    pub compressed: Option<String>,
    /// lstat of the source at collection, when it had one.
    pub stat: Option<FileStat>,
    /// Target of a symlink (recorded, not followed).
    pub link_target: Option<String>,
    pub status: Status,
    /// For command output: how the command ran.
    pub command: Option<CommandRun>,
    /// Present when the bytes went through `--redact`'s redactor: they are not the host's bytes (`size` and
    /// `sha256` are of the redacted bytes stored). Absent when stored as read, and in older bundles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redaction: Option<Redaction>,
}

/// What `--redact` replaced in one entry: each secret became `[REDACTED:<pattern>]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Redaction {
    /// Secrets replaced, by pattern name (`coroner-collect --list-redactions`); only patterns that matched, so
    /// an empty map means the entry was scanned and held none.
    pub matches: BTreeMap<String, u64>,
}

impl Redaction {
    /// All secrets replaced in the entry.
    pub fn total(&self) -> u64 {
        self.matches.values().sum()
    }
}

impl Entry {
    /// An entry with nothing read yet: no account, size, hash, stat or command, status `Ok`. The collector
    /// fills in what it reads; tests set the fields they need with `..Entry::new(..)`.
    pub fn new(path: &str, source: &str, category: Category, format: Format) -> Entry {
        Entry {
            path: path.to_owned(),
            source: source.to_owned(),
            category,
            format,
            account: None,
            size: 0,
            sha256: None,
            compressed: None,
            stat: None,
            link_target: None,
            status: Status::Ok,
            command: None,
            redaction: None,
        }
    }

    /// Whether the bundle holds bytes for this entry.
    pub fn has_data(&self) -> bool {
        self.sha256.is_some()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileStat {
    /// st_mode, including the file type bits.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Owner and group names from the collected host's `/etc/passwd` and `/etc/group`.
    pub user: Option<String>,
    pub group: Option<String>,
    /// st_size.
    pub size: u64,
    /// st_blocks × 512: smaller than `size` for sparse files.
    pub allocated: u64,
    pub mtime: Option<Utc>,
    pub ctime: Option<Utc>,
    pub atime: Option<Utc>,
    pub ino: u64,
    pub dev: u64,
    pub nlink: u64,
}

/// What happened when the collector took an item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Status {
    /// Taken whole.
    Ok,
    /// Larger than a cap: only part was kept.
    Truncated { kept: Kept, original_size: u64, reason: String },
    /// The file changed size between stat and read. The stored size is the stat'ed size: growth past it is
    /// cut; when it shrank, the bytes after `bytes_read` are zero padding.
    ChangedWhileRead { change: Change, stat_size: u64, bytes_read: u64 },
    /// Exists but the collector may not read it.
    PermissionDenied { message: String },
    /// Looked for and absent.
    NotFound,
    /// Listed, then gone before it could be read.
    Vanished,
    /// An I/O error.
    Io { message: String },
    /// Deliberately not read: a FIFO, socket or device; excluded; a cap reached; a symlink leaving the root.
    Skipped { reason: String },
    /// A live source under `--root` (nothing to read from a disk image), or a tool not on the host.
    NotApplicable { reason: String },
}

impl Status {
    /// Whether this status is a problem worth an exit code of 1 (missing files and caps are not).
    pub fn is_problem(&self) -> bool {
        matches!(
            self,
            Status::ChangedWhileRead { .. } | Status::PermissionDenied { .. } | Status::Vanished | Status::Io { .. }
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kept {
    /// The first bytes (cores: headers and notes).
    Head,
    /// The last bytes (logs: the recent end).
    Tail,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Grew,
    Shrank,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandRun {
    pub argv: Vec<String>,
    /// Exit code, when it exited.
    pub exit_code: Option<i32>,
    /// Signal that ended it (a timeout kills with SIGKILL).
    pub signal: Option<i32>,
    pub duration_ms: u64,
    pub timed_out: bool,
    /// The first KiB of its standard error.
    pub stderr: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Problem {
    /// What it concerns (`privileges`, `journal`, `total-cap`, a path).
    pub source: String,
    pub message: String,
}

/// Coarse grouping, for coverage tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Kernel,
    Syslog,
    Journal,
    Audit,
    Logins,
    History,
    Cron,
    Cores,
    Limits,
    Proc,
    Settings,
    Cgroups,
    Systemd,
    Host,
    Accounts,
    Include,
    /// The signal recorder's files (`coroner-collect watch`).
    Watch,
    /// Container runtimes' and orchestrators' records: Docker, containerd, CRI-O, Podman, the kubelet.
    Containers,
}

/// How an entry's bytes are to be read. The report picks its parser from this alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Records read from `/dev/kmsg`: `PRI,SEQ,TS_US,FLAGS[,…];MESSAGE\n` then ` KEY=VALUE\n` continuation lines.
    Kmsg,
    /// `dmesg` text output (`[  959.280000] …` or `-T` form), e.g. `/var/log/dmesg`.
    DmesgText,
    /// A file from `/sys/fs/pstore` (previous boot's oops/panic log).
    Pstore,
    /// Syslog text (RFC 3164 or 5424): syslog, messages, kern.log, auth.log, cron.log….
    Syslog,
    /// `journalctl -o json` export, one JSON object per line.
    JournalJson,
    /// `/var/log/audit/audit.log*` (RAW or ENRICHED).
    AuditLog,
    /// `auditctl -l` output.
    AuditRules,
    /// `auditctl -s` output.
    AuditStatus,
    /// glibc utmp records (384 bytes each on x86_64): wtmp, btmp, utmp.
    Utmp,
    /// `/var/log/lastlog`, indexed by uid (292 bytes per record on x86_64).
    Lastlog,
    /// Sparse-aware extract of lastlog: JSON list of the non-empty records and their uid.
    LastlogJson,
    BashHistory,
    ZshHistory,
    FishHistory,
    /// sh/ksh/mksh history (plain lines).
    ShHistory,
    TcshHistory,
    /// Other programs' histories (python, mysql, psql, sqlite, redis-cli, less): plain lines.
    OtherHistory,
    /// Shell start-up files that decide history behaviour (`.bashrc`, `.zshrc`, `/etc/profile`…).
    ShellRc,
    /// System crontab with a user column (`/etc/crontab`, `/etc/cron.d/*`).
    SystemCrontab,
    /// A user's crontab (no user column; the user is `account`).
    UserCrontab,
    Anacrontab,
    /// A script in `/etc/cron.{hourly,daily,weekly,monthly}`.
    CronScript,
    AtJob,
    /// A systemd unit file (timers and the services they start).
    SystemdUnit,
    /// `systemctl list-timers --all` output.
    SystemdTimers,
    /// `systemctl show` of every service unit (JSON object of unit → properties).
    SystemdShowJson,
    /// An ELF core file (maybe only its head).
    CoreElf,
    /// A file in a crash handler's store that is not a bare ELF core (apport `.crash`, systemd-coredump
    /// compressed cores).
    CrashReport,
    /// `/proc/PID/limits` text.
    ProcLimits,
    /// `/etc/security/limits.conf` and `limits.d/*`.
    LimitsConf,
    /// The collector's process table (see `proc-snapshot.schema.json`).
    ProcSnapshotJson,
    /// Sysctls and other one-value kernel settings: JSON object of name → value.
    SysctlJson,
    /// Memory cgroup state, v1 and v2: JSON.
    CgroupsJson,
    /// Host facts captured live (meminfo, PSI, vmstat, loadavg, uptime, mounts) as raw text files.
    ProcText,
    /// `/etc/passwd`.
    Passwd,
    /// `/etc/group`.
    Group,
    /// The signal recorder's log (`coroner-collect watch`): JSONL, one `watch-record.schema.json` per line.
    WatchJsonl,
    /// Docker's `containers/<id>/config.v2.json`: the container's config, name and `State` (exit code,
    /// `OOMKilled`, `FinishedAt`, health-check log) as the daemon last saved them.
    DockerConfigJson,
    /// Docker's `containers/<id>/hostconfig.json`: memory limit, restart policy, cgroup parent.
    DockerHostConfigJson,
    /// The tail of a Docker json-file log (`<id>-json.log`): one `{"log","stream","time"}` object per line.
    DockerJsonLog,
    /// `docker ps -a --no-trunc --format '{{json .}}'`: one JSON object per line.
    DockerPsJson,
    /// `docker inspect` of containers: a JSON array of container objects.
    DockerInspectJson,
    /// An OCI runtime bundle's `config.json` (containerd task bundles, CRI-O and Podman `userdata/`): the
    /// spec with its annotations (Kubernetes names, image) and `linux.cgroupsPath`.
    OciConfigJson,
    /// A runtime's saved container state beside its OCI bundle (CRI-O/Podman `userdata/state.json`).
    ContainerStateJson,
    /// Podman's events log (`events.log`, `events_logger = "file"`): one JSON event per line.
    PodmanEventsLog,
    /// `podman ps -a --format json`: a JSON array.
    PodmanPsJson,
    /// `crictl ps -a -o json` (`{"containers": […]}`).
    CrictlPsJson,
    /// `crictl inspect -o json` of containers: JSON values one after another as crictl prints them (an indented
    /// object per container; read them with a streaming JSON reader, which also takes one per line).
    CrictlInspectJson,
    /// A container runtime daemon's own log file in logrus text form (`time="…" level=… msg="…"`):
    /// containerd, CRI-O, dockerd when not under the journal.
    RuntimeLog,
    /// The kubelet's log file (klog text: `I1204 10:00:00.000000    1234 file.go:12] "msg" key=value`).
    KubeletLog,
    /// The kubelet's `config.yaml` (`KubeletConfiguration`: eviction thresholds, grace periods).
    KubeletConfigYaml,
    /// The links in `/var/log/containers` (`<pod>_<namespace>_<container>-<id>.log` → the pod's log file), as a
    /// JSON array of `{"name", "target"}` (a link's target is read, never followed).
    ContainerLogLinks,
    /// A CRI container log (`/var/log/pods/<ns>_<pod>_<uid>/<container>/<restart>.log`): `TIME STREAM TAG MSG`.
    CriLog,
    /// conmon's exit file (CRI-O's `container_exits_dir/<id>`, Podman's `<tmpdir>/exits/<id>` and
    /// `<tmpdir>/persist/<id>/exit`, CRI-O's `userdata/exit`): the container's exit code as decimal text, no
    /// newline; its mtime is when conmon wrote it, right after the container's exit.
    ConmonExitFile,
    /// conmon's `oom` marker file (Podman's `<tmpdir>/persist/<id>/oom`, the container's `userdata/oom`): created
    /// empty when conmon saw an OOM kill in the container's cgroup; its presence is the record, its mtime when.
    ConmonOomFile,
    /// Anything else (`--include` files, unknown text).
    Other,
}
