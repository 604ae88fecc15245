//! `findings.json`: a death certificate for each process death, the seed's checklist, and advisories.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Origin, Text, Timestamp};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FindingsDoc {
    /// Verification result of the bundle the findings come from.
    pub verified: bool,
    pub hostname: String,
    pub findings: Vec<Finding>,
    pub checklist: Vec<CheckItem>,
    pub advisories: Vec<Advisory>,
}

impl FindingsDoc {
    /// Copies every evidence record's bytes out of the bundle member they were sliced from (see
    /// [`Text::shared`]): findings kept after their bundle is dropped then hold only those bytes.
    pub fn unshare_evidence(&mut self) {
        for f in &mut self.findings {
            let refs = f.evidence.iter_mut().chain(f.candidates.iter_mut().flat_map(|c| c.evidence.iter_mut()));
            for e in refs {
                e.raw = e.raw.unshared();
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    /// Stable id within the report (`F1`, `F2`, … in time order).
    pub id: String,
    pub victim: Victim,
    pub time: Timestamp,
    pub cause: Cause,
    pub signal: Option<Signal>,
    pub killer: Option<Killer>,
    /// The path the death came by: `kernel`, `cron`, `shell`, `systemd`, `sudo`, `ssh`, `supervisor`, `unknown`.
    pub via: Option<String>,
    /// For a death in a container: what in the container's life ended it, where a record says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_reason: Option<ContainerReason>,
    pub confidence: Confidence,
    /// One or two sentences: why this cause, why this confidence.
    pub reasoning: String,
    pub evidence: Vec<EvidenceRef>,
    /// Evidence that would have settled the question and was not in the bundle.
    pub missing: Vec<String>,
    /// Other senders/causes the evidence allows (for `unknown` and `possible`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<Candidate>,
    /// Cause-specific details (OOM: cgroup, limit, rss, top consumers; crash: address, ip, core file…).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub details: serde_json::Map<String, serde_json::Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Victim {
    pub pid: Option<i64>,
    pub comm: Option<String>,
    pub cmdline: Option<String>,
    pub uid: Option<u32>,
    pub user: Option<String>,
    pub unit: Option<String>,
    pub cgroup: Option<String>,
    /// The container the victim ran in, where a cgroup path, pid or runtime record ties it to one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<ContainerRef>,
    /// The Kubernetes pod of that container, where a runtime record or cgroup path names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<PodRef>,
}

/// A container as its runtime names it. Every field but `runtime` and `id` is `None` where no record says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContainerRef {
    /// `docker`, `containerd`, `cri-o`, `podman`; `unknown` when only a cgroup path names the id.
    pub runtime: String,
    /// The full container id (64 hex digits for every runtime here), or as much of it as the evidence gives.
    pub id: String,
    /// The runtime's name (`web`; Kubernetes' container name under CRI).
    pub name: Option<String>,
    pub image: Option<String>,
    /// Restarts the runtime counted before this death (Docker `RestartCount`, CRI `restartCount`).
    pub restart_count: Option<u64>,
}

/// A Kubernetes pod.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PodRef {
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub uid: Option<String>,
}

/// What in a container's life ended it, where a runtime or orchestrator record says so.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContainerReason {
    /// An OOM kill inside the container's memory limit.
    MemoryLimit,
    /// `docker stop`/`podman stop`: the stop signal, then SIGKILL after the timeout.
    RuntimeStop,
    /// `docker kill`/`podman kill`.
    RuntimeKill,
    /// The kubelet killed it after failed liveness probes.
    LivenessProbe,
    /// The kubelet killed it after failed startup probes.
    StartupProbe,
    /// The kubelet's eviction manager evicted its pod (node pressure).
    Eviction,
    /// Its pod was deleted through the API (`kubectl delete`, a rollout).
    ApiDelete,
    /// Its pod was preempted for a higher-priority pod.
    Preemption,
    /// Its main process exited by itself with a code.
    OwnExit,
}

impl ContainerReason {
    /// The JSON name (`memory_limit`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ContainerReason::MemoryLimit => "memory_limit",
            ContainerReason::RuntimeStop => "runtime_stop",
            ContainerReason::RuntimeKill => "runtime_kill",
            ContainerReason::LivenessProbe => "liveness_probe",
            ContainerReason::StartupProbe => "startup_probe",
            ContainerReason::Eviction => "eviction",
            ContainerReason::ApiDelete => "api_delete",
            ContainerReason::Preemption => "preemption",
            ContainerReason::OwnExit => "own_exit",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    OomKill,
    Signal,
    Crash,
    ResourceLimit,
    Reboot,
    Exit,
    Unknown,
}

impl Cause {
    /// The JSON name (`oom_kill`, `signal`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::OomKill => "oom_kill",
            Cause::Signal => "signal",
            Cause::Crash => "crash",
            Cause::ResourceLimit => "resource_limit",
            Cause::Reboot => "reboot",
            Cause::Exit => "exit",
            Cause::Unknown => "unknown",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Signal {
    pub number: i32,
    /// `SIGKILL`.
    pub name: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Killer {
    pub pid: Option<i64>,
    pub comm: Option<String>,
    pub exe: Option<String>,
    pub uid: Option<u32>,
    pub user: Option<String>,
    /// Audit login uid and its user: who logged in, whatever they became since.
    pub auid: Option<u32>,
    pub auser: Option<String>,
    pub session: Option<i64>,
    pub tty: Option<String>,
    /// Where that login came from (host/IP per wtmp or auth.log).
    pub login_from: Option<String>,
    /// Parent chain, nearest first: `["pkill", "sh", "cron"]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parent_chain: Vec<String>,
    /// The exact command (EXECVE/PROCTITLE, sudo COMMAND=, a history line).
    pub command: Option<String>,
    /// The container the sender ran in, where its cgroup or a runtime record ties it to one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<ContainerRef>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// A direct record names the cause (kernel OOM line for the pid, audit kill with that target, a core note).
    Certain,
    /// Correlated evidence (a matching history `kill -9 PID` by a user logged in at that time).
    Likely,
    /// Circumstantial.
    Possible,
}

impl Confidence {
    /// The JSON name (`certain`, `likely`, `possible`).
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Certain => "certain",
            Confidence::Likely => "likely",
            Confidence::Possible => "possible",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EvidenceRef {
    pub origin: Origin,
    /// What this record shows, in a few words.
    pub role: String,
    pub raw: Text,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Candidate {
    pub description: String,
    pub evidence: Vec<EvidenceRef>,
}

/// One step of the seed's manual checklist, evaluated against the bundle.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckItem {
    /// `logs`, `core_dumps`, `oom`, `logins`, `histories`, `crontabs`, `audit`.
    pub step: String,
    pub title: String,
    /// `found`, `nothing_found`, `not_available`.
    pub outcome: String,
    pub summary: String,
    /// Bundle entries looked at.
    pub entries: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Advisory {
    /// `no_kill_audit_rule`, `narrow_kill_audit_rule`, `core_dumps_disabled`, `kmsg_too_short`, `journal_volatile`,
    /// `history_untimed`, `no_signal_recorder`, `pid1_faulted` (PID 1 faulted and no panic shows it died).
    pub id: String,
    pub message: String,
    /// The one command that fixes it.
    pub fix: String,
}
