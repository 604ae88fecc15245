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
    /// What one runtime record says of a container (several records of one container are merged).
    Container(ContainerRecord),
    /// A memory cgroup's OOM counters at collection (v2 `memory.events`, v1 `memory.oom_control`).
    CgroupOom(CgroupOom),
}

/// A memory cgroup's OOM counters at collection. Under cgroup v2 `oom` is counted where the limit was hit
/// (a pod's cgroup, for a pod limit) and `oom_kill` on every ancestor of the killed task's cgroup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CgroupOom {
    /// The cgroup's path in its hierarchy, without a trailing `/`.
    pub cgroup: String,
    /// Times the limit was hit and reclaim failed (v2 `oom`, v1 `under_oom` is a state, not a count: `None`).
    pub oom: Option<u64>,
    /// Processes the OOM killer killed in it or below it (v2 `oom_kill`, v1 `oom_kill` of `memory.oom_control`).
    pub oom_kill: Option<u64>,
    /// Whether these are the cgroup's own (`memory.events.local`) rather than its subtree's counts.
    pub local: bool,
    pub origin: Origin,
}

/// What a runtime's record (saved state, `inspect`, an OCI bundle's annotations, `ps`) says of one container.
/// `None` and empty fields: that record does not say. Records of the same `(runtime, id)` are merged by
/// [`HostFacts::fold`], the first record in entry-name order winning each field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerRecord {
    /// `docker`, `containerd`, `cri-o`, `podman`; empty where the record does not say (crictl's output, a
    /// `/var/log/containers` link name).
    pub runtime: String,
    /// The full id (64 hex), or the longest prefix the record gives.
    pub id: String,
    /// The runtime's name, without Docker's leading `/` (under CRI: Kubernetes' container name).
    pub name: Option<String>,
    pub image: Option<String>,
    pub restart_count: Option<u64>,
    /// The Kubernetes pod (from CRI annotations or labels `io.kubernetes.pod.*`).
    pub pod_namespace: Option<String>,
    pub pod_name: Option<String>,
    pub pod_uid: Option<String>,
    /// The container's cgroup path as the runtime set it (OCI `linux.cgroupsPath`; Docker's cgroup parent
    /// joined with the id), when the record gives it.
    pub cgroup: Option<String>,
    /// The main process's host pid while it ran (Docker `State.Pid`, OCI state `pid`); 0 is `None`.
    pub pid: Option<i64>,
    pub started: Option<coroner_schemas::Utc>,
    pub finished: Option<coroner_schemas::Utc>,
    /// `State.ExitCode` (only meaningful with `finished`).
    pub exit_code: Option<i64>,
    /// The runtime's `OOMKilled` flag: unreliable on its own (see the facts); the kernel's line and
    /// `memory.events` are authoritative.
    pub oom_killed: Option<bool>,
    /// `running`, `exited`, `created`, `dead`… as the runtime wrote it.
    pub status: Option<String>,
    /// Memory limit in bytes (0/none: `None`).
    pub memory_limit: Option<u64>,
    /// `no`, `always`, `on-failure:3`, `unless-stopped`.
    pub restart_policy: Option<String>,
    /// The stop signal and timeout the runtime uses for `stop` (`SIGTERM`, 10 s by default).
    pub stop_signal: Option<String>,
    pub stop_timeout_s: Option<i64>,
    /// The record it came from (first record when merged).
    pub origin: Origin,
    /// Every record merged into this one, in entry-name order.
    pub also: Vec<Origin>,
}

impl ContainerRecord {
    /// An empty record of `runtime`/`id` from `origin`.
    pub fn new(runtime: &str, id: &str, origin: Origin) -> ContainerRecord {
        ContainerRecord {
            runtime: runtime.to_owned(),
            id: id.to_owned(),
            name: None,
            image: None,
            restart_count: None,
            pod_namespace: None,
            pod_name: None,
            pod_uid: None,
            cgroup: None,
            pid: None,
            started: None,
            finished: None,
            exit_code: None,
            oom_killed: None,
            status: None,
            memory_limit: None,
            restart_policy: None,
            stop_signal: None,
            stop_timeout_s: None,
            origin,
            also: Vec::new(),
        }
    }

    /// Fills this record's unknown fields from `other`, a later record of the same container.
    fn merge(&mut self, other: ContainerRecord) {
        macro_rules! fill {
            ($($f:ident),*) => { $( if self.$f.is_none() { self.$f = other.$f; } )* };
        }
        fill!(name, image, restart_count, pod_namespace, pod_name, pod_uid, cgroup, pid, started, finished, exit_code, oom_killed, status, memory_limit, restart_policy, stop_signal, stop_timeout_s);
        if other.id.len() > self.id.len() {
            self.id = other.id;
        }
        self.also.push(other.origin);
        self.also.extend(other.also);
    }

    /// Whether `id` (a full id or a prefix of at least 12 hex digits) names this container.
    pub fn has_id(&self, id: &str) -> bool {
        let (long, short) = if self.id.len() >= id.len() { (&self.id, id) } else { (&id.to_owned(), self.id.as_str()) };
        short.len() >= 12 && long.starts_with(short)
    }
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
    /// Containers the runtimes' records name, merged per `(runtime, id)`, sorted by runtime then id.
    pub containers: Vec<ContainerRecord>,
    /// Memory cgroups' OOM counters, by path (subtree counts; `.local` ones where only those were read).
    pub cgroup_ooms: BTreeMap<String, CgroupOom>,
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
                Fact::CgroupOom(c) => {
                    let key = c.cgroup.trim_end_matches('/').to_owned();
                    match h.cgroup_ooms.get(&key) {
                        Some(k) if !k.local || c.local => {}
                        _ => _ = h.cgroup_ooms.insert(key, c),
                    }
                }
                // A record that does not say its runtime (`runtime` empty: crictl, a /var/log/containers link) is
                // the same container as a runtime's record of that id, and gives it nothing to disagree on.
                Fact::Container(c) => match h
                    .containers
                    .iter_mut()
                    .find(|k| (k.runtime == c.runtime || k.runtime.is_empty() || c.runtime.is_empty()) && k.has_id(&c.id))
                {
                    Some(k) => {
                        if k.runtime.is_empty() {
                            k.runtime.clone_from(&c.runtime);
                        }
                        k.merge(c)
                    }
                    None => h.containers.push(c),
                },
            }
        }
        h.containers.sort_by(|a, b| (&a.runtime, &a.id, &a.origin).cmp(&(&b.runtime, &b.id, &b.origin)));
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

    /// The container a cgroup path names, as the runtimes' records know it: by the id in the path (see
    /// [`super::container_ids`]), else by a record's own cgroup path. `None` where no record names it.
    pub fn container_for_cgroup(&self, cgroup: &str) -> Option<&ContainerRecord> {
        let cgroup = cgroup.trim_end_matches('/');
        if let Some(c) = super::container_ids::parse(cgroup) {
            let rt = c.runtime;
            return self.containers.iter().find(|k| k.has_id(c.id) && rt.is_none_or(|r| r == k.runtime));
        }
        self.containers.iter().find(|k| k.cgroup.as_deref().is_some_and(|p| p.trim_end_matches('/') == cgroup))
    }

    /// The container whose id is or begins with `id` (12 or more hex digits).
    pub fn container_by_id(&self, id: &str) -> Option<&ContainerRecord> {
        self.containers.iter().find(|k| k.has_id(id))
    }

    /// Containers of this name (Docker's `web`, or CRI's container name), any runtime.
    pub fn containers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a ContainerRecord> + 'a {
        let name = name.trim_start_matches('/');
        self.containers.iter().filter(move |k| k.name.as_deref() == Some(name))
    }

    /// PID 1's soft core limit, which services inherit.
    pub fn pid1_core_limit(&self) -> CoreLimit {
        self.core_limits.iter().find(|(p, _)| *p == 1).map_or(CoreLimit::Unknown, |(_, l)| *l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(entry: &str) -> Origin {
        Origin { entry: entry.into(), line: None, offset: None }
    }

    #[test]
    fn records_of_one_container_merge_and_are_found_by_cgroup_id_and_name() {
        let id = "ab".repeat(32);
        let mut config = ContainerRecord::new("docker", &id, origin("a/config.v2.json"));
        config.name = Some("web".into());
        config.exit_code = Some(137);
        let mut host = ContainerRecord::new("docker", &id[..12], origin("b/hostconfig.json"));
        host.memory_limit = Some(33_554_432);
        host.exit_code = Some(0);
        let other = ContainerRecord::new("podman", &id, origin("c/config.json"));
        let h = HostFacts::fold([Fact::Container(host), Fact::Container(config), Fact::Container(other)]);
        assert_eq!(h.containers.len(), 2, "{:?}", h.containers);
        let d = h.container_for_cgroup(&format!("/docker/{id}/")).expect("by cgroup");
        // Facts fold in the order given; the first record of the container keeps its fields.
        assert_eq!((d.runtime.as_str(), d.id.as_str(), d.memory_limit, d.exit_code), ("docker", id.as_str(), Some(33_554_432), Some(0)));
        assert_eq!(d.name.as_deref(), Some("web"));
        assert_eq!(d.also, vec![origin("a/config.v2.json")]);
        assert_eq!(h.container_for_cgroup(&format!("/machine.slice/libpod-{id}.scope")).map(|c| c.runtime.as_str()), Some("podman"));
        assert_eq!(h.containers_named("/web").count(), 1);
        assert!(h.container_by_id(&id[..11]).is_none(), "an 11-digit prefix is too short to name a container");
        assert!(h.container_for_cgroup("/system.slice/cron.service").is_none());
    }

    #[test]
    fn a_record_without_a_runtime_merges_into_the_runtimes_record_of_its_id() {
        let id = "cd".repeat(32);
        let mut link = ContainerRecord::new("", &id, origin("a/links.json"));
        link.pod_uid = Some("u".into());
        let mut oci = ContainerRecord::new("containerd", &id, origin("b/config.json"));
        oci.name = Some("web".into());
        let h = HostFacts::fold([Fact::Container(link), Fact::Container(oci)]);
        assert_eq!(h.containers.len(), 1, "{:?}", h.containers);
        let c = &h.containers[0];
        assert_eq!((c.runtime.as_str(), c.name.as_deref(), c.pod_uid.as_deref()), ("containerd", Some("web"), Some("u")));
        assert_eq!(h.container_for_cgroup(&format!("/kubepods.slice/cri-containerd-{id}.scope")).map(|c| c.runtime.as_str()), Some("containerd"));
    }
}
