//! `timeline.jsonl`'s `fields.*` keep one JSON type per key across every row of every fixture: an OpenSearch
//! index (Timesketch) maps a field by the first document it sees and rejects the documents that disagree, so
//! a key that is a number on one row and a string on another loses events on import. Every key written is
//! the one documented in `coroner_schemas::fields::KEYS`, and README.md's field table is that list.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::{repo_root, BundleBuilder};
use coroner_report::pipeline::{load, LoadOptions};
use coroner_report::render::{jsonl, ReportModel};
use coroner_schemas::fields::{FieldType, KEYS};
use coroner_schemas::manifest::{Category, Format};
use coroner_schemas::FindingsDoc;
use serde_json::Value;

/// How a fixture file goes into a bundle: its bundle path, category, format and the group of files bundled
/// together (files one parser reads side by side: a log and its rotation, a core and the sysctls that name it).
struct Read {
    file: &'static str,
    entry: &'static str,
    category: Category,
    format: Format,
    group: &'static str,
}

const fn r(file: &'static str, entry: &'static str, category: Category, format: Format, group: &'static str) -> Read {
    Read { file, entry, category, format, group }
}

use Category as C;
use Format as F;

/// Every fixture file a parser reads (a test below checks that no other file under fixtures/ is left out).
const READS: &[Read] = &[
    r("audit/aarch64-kills.log", "fs/var/log/audit/audit.log", C::Audit, F::AuditLog, "audit-aarch64"),
    r("audit/claims-kills.log", "fs/var/log/audit/audit.log", C::Audit, F::AuditLog, "audit-claims"),
    r("audit/enriched.log", "fs/var/log/audit/audit.log", C::Audit, F::AuditLog, "audit-enriched"),
    r("audit/passwd", "fs/etc/passwd", C::Accounts, F::Passwd, "audit-enriched"),
    r("audit/group", "fs/etc/group", C::Accounts, F::Group, "audit-enriched"),
    r("audit/i386-kills.log", "fs/var/log/audit/audit.log", C::Audit, F::AuditLog, "audit-i386"),
    r("audit/raw.log", "fs/var/log/audit/audit.log", C::Audit, F::AuditLog, "audit-raw"),
    r("audit/rotation-audit.log", "fs/var/log/audit/audit.log", C::Audit, F::AuditLog, "audit-rotation"),
    r("audit/rotation-audit.log.1", "fs/var/log/audit/audit.log.1", C::Audit, F::AuditLog, "audit-rotation"),
    r("audit/service-records.log", "fs/var/log/audit/audit.log", C::Audit, F::AuditLog, "audit-service"),
    r("audit/stripped.log", "fs/var/log/audit/audit.log", C::Audit, F::AuditLog, "audit-stripped"),
    r("audit/user-records.log", "fs/var/log/audit/audit.log", C::Audit, F::AuditLog, "audit-user"),
    r("cores/core.crash.v2-1.17947.1796178730.head", "fs/tmp/corepat-test/c1/core.crash.v2-1.17947.1796178730", C::Cores, F::CoreElf, "core-head"),
    r("cores/core.crash.v2-1.17947.1796178730.meta.json", "live/cores/tmp/corepat-test/c1/core.crash.v2-1.17947.1796178730.meta.json", C::Cores, F::Other, "core-meta"),
    r("kmsg/kmsg-core-meta.records", "live/kernel/kmsg.txt", C::Kernel, F::Kmsg, "core-meta"),
    r("settings/sysctl-core-pattern.json", "live/settings/sysctl.json", C::Settings, F::SysctlJson, "core-meta"),
    r("cores/f-abrt-by-kill.core", "fs/tmp/x/core", C::Cores, F::CoreElf, "core-abrt"),
    r("cores/f-segv.core", "fs/tmp/x/core", C::Cores, F::CoreElf, "core-segv"),
    r("cores/victim-segv/victim-segv.core", "fs/var/crash/core.victim-segv.28758", C::Cores, F::CoreElf, "core-victim"),
    r("cores/core.segv.78.11.1796398802", "fs/c/core.segv.78.11.1796398802", C::Cores, F::CoreElf, "core-aarch64"),
    r("cores/core.waitq.79.6.1796398803", "fs/c/core.waitq.79.6.1796398803", C::Cores, F::CoreElf, "core-aarch64"),
    r("cores/qemu_segv-s390x_20261204-153754_19859.core.head", "fs/tmp/qemu_segv-s390x_20261204-153754_19859.core", C::Cores, F::CoreElf, "core-s390x"),
    r("cron/anacrontab", "fs/etc/anacrontab", C::Cron, F::Anacrontab, "cron"),
    r("cron/cron.d-anacron", "fs/etc/cron.d/anacron", C::Cron, F::SystemCrontab, "cron"),
    r("cron/cron.d-e2scrub_all", "fs/etc/cron.d/e2scrub_all", C::Cron, F::SystemCrontab, "cron"),
    r("cron/crontab", "fs/etc/crontab", C::Cron, F::SystemCrontab, "cron"),
    r("cron/crontab-alice", "fs/var/spool/cron/crontabs/alice", C::Cron, F::UserCrontab, "cron"),
    r("cron/list-timers-all.txt", "cmd/systemctl-list-timers.txt", C::Cron, F::SystemdTimers, "cron"),
    r("history/bash_history", "fs/root/.bash_history", C::History, F::BashHistory, "history"),
    r("history/fish_history", "fs/root/.local/share/fish/fish_history", C::History, F::FishHistory, "history"),
    r("history/python_history", "fs/root/.python_history", C::History, F::OtherHistory, "history"),
    r("history/tcsh_history", "fs/root/.history", C::History, F::TcshHistory, "history"),
    r("history/zsh_history", "fs/root/.zsh_history", C::History, F::ZshHistory, "history"),
    r("journal/journal.json", "cmd/journalctl.json", C::Journal, F::JournalJson, "journal"),
    r("kmsg/dmesg-T.txt", "fs/var/log/dmesg", C::Kernel, F::DmesgText, "dmesg-T"),
    r("kmsg/dmesg-global-oom.txt", "fs/var/log/dmesg", C::Kernel, F::DmesgText, "dmesg-global"),
    r("kmsg/dmesg-oom-3.10-global.txt", "fs/var/log/dmesg", C::Kernel, F::DmesgText, "dmesg-3.10"),
    r("kmsg/dmesg-oom-4.19-memcg.txt", "fs/var/log/dmesg", C::Kernel, F::DmesgText, "dmesg-4.19"),
    r("kmsg/dmesg.txt", "fs/var/log/dmesg", C::Kernel, F::DmesgText, "dmesg"),
    r("kmsg/kmsg-staged.records", "live/kernel/kmsg.txt", C::Kernel, F::Kmsg, "kmsg"),
    r("kmsg/pstore-dmesg-ramoops-0", "fs/var/lib/systemd/pstore/dmesg-ramoops-0", C::Kernel, F::Pstore, "kmsg"),
    r("history/bash_history_multiline", "fs/home/m/.bash_history", C::History, F::BashHistory, "history"),
    r("history/fish_history_multiline", "fs/home/m/.local/share/fish/fish_history", C::History, F::FishHistory, "history"),
    r("history/tcsh_history_multiline", "fs/home/m/.history", C::History, F::TcshHistory, "history"),
    r("history/zsh_history_multiline", "fs/home/m/.zsh_history", C::History, F::ZshHistory, "history"),
    r("kmsg/dmesg-t-memcg-6.18.txt", "fs/var/log/dmesg", C::Kernel, F::DmesgText, "dmesg-t-6.18"),
    r("kmsg/dmesg-t-oom-3.13.txt", "fs/var/log/dmesg", C::Kernel, F::DmesgText, "dmesg-t-3.13"),
    r("kmsg/dmesg-t-oom-4.8.txt", "fs/var/log/dmesg", C::Kernel, F::DmesgText, "dmesg-t-4.8"),
    r("kmsg/eras-2.6.32-rhel6.txt", "fs/var/log/dmesg", C::Kernel, F::DmesgText, "eras-2.6.32-rhel6"),
    r("kmsg/eras-2.6.32.txt", "fs/var/log/dmesg", C::Kernel, F::DmesgText, "eras-2.6.32"),
    r("kmsg/eras-3.13.txt", "fs/var/log/dmesg", C::Kernel, F::DmesgText, "eras-3.13"),
    r("kmsg/eras-4.8.txt", "fs/var/log/dmesg", C::Kernel, F::DmesgText, "eras-4.8"),
    r("kmsg/eras-5.x.txt", "fs/var/log/dmesg", C::Kernel, F::DmesgText, "eras-5.x"),
    r("kmsg/eras-6.18.txt", "fs/var/log/dmesg", C::Kernel, F::DmesgText, "eras-6.18"),
    r("kmsg/eras-6.2.txt", "fs/var/log/dmesg", C::Kernel, F::DmesgText, "eras-6.2"),
    r("proc/processes-pretty.json", "live/proc/processes.json", C::Proc, F::ProcSnapshotJson, "proc-pretty"),
    r("syslog/busybox-messages", "fs/var/log/messages-busybox", C::Syslog, F::Syslog, "syslog"),
    r("syslog/busybox-messages-S", "fs/var/log/messages-busybox-S", C::Syslog, F::Syslog, "syslog"),
    r("syslog/rsyslog-multiline", "fs/var/log/rsyslog-multiline", C::Syslog, F::Syslog, "syslog"),
    r("syslog/rsyslog-multiline-hiprec", "fs/var/log/rsyslog-multiline-hiprec", C::Syslog, F::Syslog, "syslog"),
    r("syslog/syslog-ng-default", "fs/var/log/syslog-ng-default", C::Syslog, F::Syslog, "syslog"),
    r("syslog/syslog-ng-frac3", "fs/var/log/syslog-ng-frac3", C::Syslog, F::Syslog, "syslog"),
    r("syslog/syslog-ng-iso", "fs/var/log/syslog-ng-iso", C::Syslog, F::Syslog, "syslog"),
    r("utmp/lastlog-aarch64", "fs/var/log/lastlog", C::Logins, F::Lastlog, "utmp-aarch64"),
    r("utmp/wtmp-aarch64", "fs/var/log/wtmp", C::Logins, F::Utmp, "utmp-aarch64"),
    r("utmp/lastlog-aarch64.json", "live/logins/lastlog.json", C::Logins, F::LastlogJson, "utmp-aarch64-extract"),
    r("utmp/lastlog-s390x", "fs/var/log/lastlog", C::Logins, F::Lastlog, "utmp-s390x"),
    r("utmp/wtmp-s390x", "fs/var/log/wtmp", C::Logins, F::Utmp, "utmp-s390x"),
    r("utmp/wtmp-x86_64", "fs/var/log/wtmp", C::Logins, F::Utmp, "utmp-x86_64"),
    r("kmsg/kmsg-pid1-segv.records", "live/kernel/kmsg.txt", C::Kernel, F::Kmsg, "pid1"),
    r("kmsg/pstore-pid1-panic", "fs/var/lib/systemd/pstore/dmesg-ramoops-0", C::Kernel, F::Pstore, "pid1"),
    r("syslog/syslog-pid1-crash-handler", "fs/var/log/syslog", C::Syslog, F::Syslog, "pid1"),
    r("proc/limits-pid1.txt", "live/proc/1/limits", C::Limits, F::ProcLimits, "proc"),
    r("proc/processes.json", "live/proc/processes.json", C::Proc, F::ProcSnapshotJson, "proc"),
    r("settings/auditctl-l-kill.txt", "cmd/auditctl-l.txt", C::Audit, F::AuditRules, "settings"),
    r("settings/auditctl-l-norules.txt", "cmd/auditctl-l.txt", C::Audit, F::AuditRules, "settings-norules"),
    r("settings/auditctl-s.txt", "cmd/auditctl-s.txt", C::Audit, F::AuditStatus, "settings"),
    r("settings/cgroups-memory.json", "live/settings/cgroups.json", C::Cgroups, F::CgroupsJson, "settings"),
    r("settings/limits.conf", "fs/etc/security/limits.conf", C::Limits, F::LimitsConf, "settings"),
    r("settings/limits.d-f-core.conf", "fs/etc/security/limits.d/f-core.conf", C::Limits, F::LimitsConf, "settings"),
    r("settings/sysctl.json", "live/settings/sysctl.json", C::Settings, F::SysctlJson, "settings"),
    r("settings/systemd-show.json", "cmd/systemctl-show.json", C::Systemd, F::SystemdShowJson, "settings"),
    r("syslog/auth.log", "fs/var/log/auth.log", C::Syslog, F::Syslog, "syslog"),
    r("syslog/kern.log", "fs/var/log/kern.log", C::Syslog, F::Syslog, "syslog"),
    r("syslog/messages-rhel7-oom", "fs/var/log/messages", C::Syslog, F::Syslog, "syslog"),
    r("syslog/syslog", "fs/var/log/syslog", C::Syslog, F::Syslog, "syslog"),
    r("syslog/syslog-hiprec", "fs/var/log/syslog-hiprec", C::Syslog, F::Syslog, "syslog"),
    r("syslog/syslog-rfc5424", "fs/var/log/syslog-rfc5424", C::Syslog, F::Syslog, "syslog"),
    r("syslog/syslog.1-newyear", "fs/var/log/syslog.1", C::Syslog, F::Syslog, "syslog-newyear"),
    r("utmp/btmp", "fs/var/log/btmp", C::Logins, F::Utmp, "utmp"),
    r("utmp/host-wtmp-empty", "fs/var/log/wtmp.1", C::Logins, F::Utmp, "utmp"),
    r("utmp/lastlog", "fs/var/log/lastlog", C::Logins, F::Lastlog, "utmp"),
    r("utmp/lastlog.json", "live/logins/lastlog.json", C::Logins, F::LastlogJson, "utmp-json"),
    r("utmp/utmp", "fs/run/utmp", C::Logins, F::Utmp, "utmp"),
    r("utmp/wtmp", "fs/var/log/wtmp", C::Logins, F::Utmp, "utmp"),
    r("utmp/wtmp-torn", "fs/var/log/wtmp", C::Logins, F::Utmp, "utmp-torn"),
    r("utmp/wtmp-zeroed", "fs/var/log/wtmp", C::Logins, F::Utmp, "utmp-zeroed"),
    r("watch/watch-kill.jsonl", "fs/var/lib/coroner/watch/watch-1.jsonl", C::Watch, F::WatchJsonl, "watch-kill"),
    r("watch/watch-oom.jsonl", "fs/var/lib/coroner/watch/watch-1.jsonl", C::Watch, F::WatchJsonl, "watch-oom"),
    r("kmsg/kmsg-staged.records", "live/kernel/kmsg.txt", C::Kernel, F::Kmsg, "watch-oom"),
    // Container runtimes' and the kubelet's records (issue 14). Paths are cut short to fit this test's 100-byte
    // member names; each keeps the container id as a folder, as the parsers read it.
    r("containers/docker/exit3/f2902b6214d0581f5a1473f67c713f156b7c8469b0ee83d7bbf13b66ed7ffc85/config.v2.json", "fs/c/f2902b6214d0581f5a1473f67c713f156b7c8469b0ee83d7bbf13b66ed7ffc85/config.v2.json", C::Containers, F::DockerConfigJson, "containers-docker"),
    r("containers/docker/exit3/f2902b6214d0581f5a1473f67c713f156b7c8469b0ee83d7bbf13b66ed7ffc85/f2902b6214d0581f5a1473f67c713f156b7c8469b0ee83d7bbf13b66ed7ffc85-json.log", "fs/c/f2902b6214d0581f5a1473f67c713f156b7c8469b0ee83d7bbf13b66ed7ffc85/json.log", C::Containers, F::DockerJsonLog, "containers-docker"),
    r("containers/docker/exit3/f2902b6214d0581f5a1473f67c713f156b7c8469b0ee83d7bbf13b66ed7ffc85/hostconfig.json", "fs/c/f2902b6214d0581f5a1473f67c713f156b7c8469b0ee83d7bbf13b66ed7ffc85/hostconfig.json", C::Containers, F::DockerHostConfigJson, "containers-docker"),
    r("containers/docker/flappy/ab0d94b285da11bd7db25a38d35733d0a6a021e5b5f5973f2a821a85b0af1fda/ab0d94b285da11bd7db25a38d35733d0a6a021e5b5f5973f2a821a85b0af1fda-json.log", "fs/c/ab0d94b285da11bd7db25a38d35733d0a6a021e5b5f5973f2a821a85b0af1fda/json.log", C::Containers, F::DockerJsonLog, "containers-docker"),
    r("containers/docker/flappy/ab0d94b285da11bd7db25a38d35733d0a6a021e5b5f5973f2a821a85b0af1fda/config.v2.json", "fs/c/ab0d94b285da11bd7db25a38d35733d0a6a021e5b5f5973f2a821a85b0af1fda/config.v2.json", C::Containers, F::DockerConfigJson, "containers-docker"),
    r("containers/docker/flappy/ab0d94b285da11bd7db25a38d35733d0a6a021e5b5f5973f2a821a85b0af1fda/hostconfig.json", "fs/c/ab0d94b285da11bd7db25a38d35733d0a6a021e5b5f5973f2a821a85b0af1fda/hostconfig.json", C::Containers, F::DockerHostConfigJson, "containers-docker"),
    r("containers/docker/oom/575da7c9803ba895725e27c2b9e31186cff274dc35be146c218088f32434a67a/575da7c9803ba895725e27c2b9e31186cff274dc35be146c218088f32434a67a-json.log", "fs/c/575da7c9803ba895725e27c2b9e31186cff274dc35be146c218088f32434a67a/json.log", C::Containers, F::DockerJsonLog, "containers-docker"),
    r("containers/docker/oom/575da7c9803ba895725e27c2b9e31186cff274dc35be146c218088f32434a67a/config.v2.json", "fs/c/575da7c9803ba895725e27c2b9e31186cff274dc35be146c218088f32434a67a/config.v2.json", C::Containers, F::DockerConfigJson, "containers-docker"),
    r("containers/docker/oom/575da7c9803ba895725e27c2b9e31186cff274dc35be146c218088f32434a67a/hostconfig.json", "fs/c/575da7c9803ba895725e27c2b9e31186cff274dc35be146c218088f32434a67a/hostconfig.json", C::Containers, F::DockerHostConfigJson, "containers-docker"),
    r("containers/docker/stopper/6091bdcc6c0f3040127a7e60e90a78bce03d4e5db443eedba04f1d938f381d01/6091bdcc6c0f3040127a7e60e90a78bce03d4e5db443eedba04f1d938f381d01-json.log", "fs/c/6091bdcc6c0f3040127a7e60e90a78bce03d4e5db443eedba04f1d938f381d01/json.log", C::Containers, F::DockerJsonLog, "containers-docker"),
    r("containers/docker/stopper/6091bdcc6c0f3040127a7e60e90a78bce03d4e5db443eedba04f1d938f381d01/config.v2.json", "fs/c/6091bdcc6c0f3040127a7e60e90a78bce03d4e5db443eedba04f1d938f381d01/config.v2.json", C::Containers, F::DockerConfigJson, "containers-docker"),
    r("containers/docker/stopper/6091bdcc6c0f3040127a7e60e90a78bce03d4e5db443eedba04f1d938f381d01/hostconfig.json", "fs/c/6091bdcc6c0f3040127a7e60e90a78bce03d4e5db443eedba04f1d938f381d01/hostconfig.json", C::Containers, F::DockerHostConfigJson, "containers-docker"),
    r("containers/docker/web/9249295d7c956bcaed7878e9825b9ffa191d4718e07c622ba8ff7f7c0634bd27/9249295d7c956bcaed7878e9825b9ffa191d4718e07c622ba8ff7f7c0634bd27-json.log", "fs/c/9249295d7c956bcaed7878e9825b9ffa191d4718e07c622ba8ff7f7c0634bd27/json.log", C::Containers, F::DockerJsonLog, "containers-docker"),
    r("containers/docker/web/9249295d7c956bcaed7878e9825b9ffa191d4718e07c622ba8ff7f7c0634bd27/config.v2.json", "fs/c/9249295d7c956bcaed7878e9825b9ffa191d4718e07c622ba8ff7f7c0634bd27/config.v2.json", C::Containers, F::DockerConfigJson, "containers-docker"),
    r("containers/docker/web/9249295d7c956bcaed7878e9825b9ffa191d4718e07c622ba8ff7f7c0634bd27/hostconfig.json", "fs/c/9249295d7c956bcaed7878e9825b9ffa191d4718e07c622ba8ff7f7c0634bd27/hostconfig.json", C::Containers, F::DockerHostConfigJson, "containers-docker"),
    r("containers/docker/docker-ps.jsonl", "cmd/docker-ps.jsonl", C::Containers, F::DockerPsJson, "containers-docker"),
    r("containers/docker/docker-inspect.json", "cmd/docker-inspect.json", C::Containers, F::DockerInspectJson, "containers-docker"),
    r("containers/docker/dockerd.log", "fs/var/log/docker.log", C::Containers, F::RuntimeLog, "containers-docker"),
    r("containers/kubelet/kubelet.log", "fs/var/log/kubelet.log", C::Containers, F::KubeletLog, "containers-k8s"),
    r("containers/kubelet/config.yaml", "fs/var/lib/kubelet/config.yaml", C::Containers, F::KubeletConfigYaml, "containers-k8s"),
    r("containers/kubelet/pod-web-2.log", "fs/var/log/pods/default_web-5d9c7b7f4-x2x9q_3f8e9a52-6b1d-4c1e-9a7e-2b5f0c1d4e6a/web/2.log", C::Containers, F::CriLog, "containers-k8s"),
    r("containers/kubelet/containers-links.json", "live/containers/var-log-containers.json", C::Containers, F::ContainerLogLinks, "containers-k8s"),
    r("containers/containerd/containerd.log", "fs/var/log/containerd.log", C::Containers, F::RuntimeLog, "containers-k8s"),
    r("containers/oci/containerd-web-config.json", "fs/k/9f2c4e6a8b0d1f3e5a7c9b1d3f5e7a9c0b2d4f6e8a1c3e5b7d9f0a2c4e6b8d0f/config.json", C::Containers, F::OciConfigJson, "containers-k8s"),
    r("containers/oci/containerd-sandbox-config.json", "fs/k/3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c/config.json", C::Containers, F::OciConfigJson, "containers-k8s"),
    r("containers/oci/crio-config.json", "fs/s/6e1f3a5c7b9d0e2f4a6c8b0d2e4f6a8c0b1d3e5f7a9c1b3d5e7f9a0c2b4d6e8f/userdata/config.json", C::Containers, F::OciConfigJson, "containers-k8s"),
    r("containers/oci/crio-state.json", "fs/s/6e1f3a5c7b9d0e2f4a6c8b0d2e4f6a8c0b1d3e5f7a9c1b3d5e7f9a0c2b4d6e8f/userdata/state.json", C::Containers, F::ContainerStateJson, "containers-k8s"),
    r("containers/podman/events.log", "fs/run/libpod/events/events.log", C::Containers, F::PodmanEventsLog, "containers-podman"),
    r("containers/podman/ps.json", "cmd/podman-ps.json", C::Containers, F::PodmanPsJson, "containers-podman"),
    r("containers/crictl/ps.json", "cmd/crictl-ps.json", C::Containers, F::CrictlPsJson, "containers-k8s"),
    r("containers/conmon/crio-exit-137", "fs/var/run/crio/exits/4c1d9e2f7a3b5c8d0e6f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d", C::Containers, F::ConmonExitFile, "containers-k8s"),
    r("containers/conmon/podman-exit-0", "fs/run/libpod/persist/4c1d9e2f7a3b5c8d0e6f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d/exit", C::Containers, F::ConmonExitFile, "containers-podman"),
    r("containers/conmon/podman-oom", "fs/run/libpod/persist/4c1d9e2f7a3b5c8d0e6f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d/oom", C::Containers, F::ConmonOomFile, "containers-podman"),
    r("containers/crictl/inspect.jsonl", "cmd/crictl-inspect.jsonl", C::Containers, F::CrictlInspectJson, "containers-k8s"),
    // The host trees, as `coroner-collect --root` would list their files.
    r("hosts/debian-incident/etc/anacrontab", "fs/etc/anacrontab", C::Cron, F::Anacrontab, "host"),
    r("hosts/debian-incident/etc/cron.d/x", "fs/etc/cron.d/x", C::Cron, F::SystemCrontab, "host"),
    r("hosts/debian-incident/etc/crontab", "fs/etc/crontab", C::Cron, F::SystemCrontab, "host"),
    r("hosts/debian-incident/etc/group", "fs/etc/group", C::Accounts, F::Group, "host"),
    r("hosts/debian-incident/etc/passwd", "fs/etc/passwd", C::Accounts, F::Passwd, "host"),
    r("hosts/debian-incident/home/alice/.bash_history", "fs/home/alice/.bash_history", C::History, F::BashHistory, "host"),
    r("hosts/debian-incident/home/alice/.lesshst", "fs/home/alice/.lesshst", C::History, F::OtherHistory, "host"),
    r("hosts/debian-incident/home/alice/.python_history", "fs/home/alice/.python_history", C::History, F::OtherHistory, "host"),
    r("hosts/debian-incident/home/bob/.hist/bob_history", "fs/home/bob/.hist/bob_history", C::History, F::BashHistory, "host"),
    r("hosts/debian-incident/home/carol/.config/zsh/.zsh_history", "fs/home/carol/.config/zsh/.zsh_history", C::History, F::ZshHistory, "host"),
    r("hosts/debian-incident/home/dave/.local/share/fish/fish_history", "fs/home/dave/.local/share/fish/fish_history", C::History, F::FishHistory, "host"),
    r("hosts/debian-incident/home/ghost/.bash_history", "fs/home/ghost/.bash_history", C::History, F::BashHistory, "host"),
    r("hosts/debian-incident/home/ghost/.ksh_history", "fs/home/ghost/.ksh_history", C::History, F::ShHistory, "host"),
    r("hosts/debian-incident/home/mallory/.mysql_history", "fs/home/mallory/.mysql_history", C::History, F::OtherHistory, "host"),
    r("hosts/debian-incident/home/mallory/.sh_history", "fs/home/mallory/.sh_history", C::History, F::ShHistory, "host"),
    r("hosts/debian-incident/root/.bash_history", "fs/root/.bash_history", C::History, F::BashHistory, "host"),
    r("hosts/debian-incident/run/utmp", "fs/run/utmp", C::Logins, F::Utmp, "host"),
    r("hosts/debian-incident/var/crash/core.victim-segv.28758", "fs/var/crash/core.victim-segv.28758", C::Cores, F::CoreElf, "host"),
    r("hosts/debian-incident/var/log/audit/audit.log", "fs/var/log/audit/audit.log", C::Audit, F::AuditLog, "host"),
    r("hosts/debian-incident/var/log/audit/audit.log.1", "fs/var/log/audit/audit.log.1", C::Audit, F::AuditLog, "host"),
    r("hosts/debian-incident/var/log/auth.log", "fs/var/log/auth.log", C::Syslog, F::Syslog, "host"),
    r("hosts/debian-incident/var/log/btmp", "fs/var/log/btmp", C::Logins, F::Utmp, "host"),
    r("hosts/debian-incident/var/log/kern.log", "fs/var/log/kern.log", C::Kernel, F::Syslog, "host"),
    r("hosts/debian-incident/var/log/lastlog", "fs/var/log/lastlog", C::Logins, F::Lastlog, "host"),
    r("hosts/debian-incident/var/log/syslog", "fs/var/log/syslog", C::Syslog, F::Syslog, "host"),
    r("hosts/debian-incident/var/log/syslog.1", "fs/var/log/syslog.1", C::Syslog, F::Syslog, "host"),
    r("hosts/debian-incident/var/log/syslog.2.gz", "fs/var/log/syslog.2.gz", C::Syslog, F::Syslog, "host"),
    r("hosts/debian-incident/var/log/wtmp", "fs/var/log/wtmp", C::Logins, F::Utmp, "host"),
    r("hosts/debian-incident/var/spool/cron/crontabs/alice", "fs/var/spool/cron/crontabs/alice", C::Cron, F::UserCrontab, "host"),
    r("hosts/live-min/etc/passwd", "fs/etc/passwd", C::Accounts, F::Passwd, "live-min"),
    r("hosts/live-min/etc/group", "fs/etc/group", C::Accounts, F::Group, "live-min"),
    r("hosts/live-min/etc/security/limits.conf", "fs/etc/security/limits.conf", C::Limits, F::LimitsConf, "live-min"),
    r("hosts/live-min/var/log/dmesg", "fs/var/log/dmesg", C::Kernel, F::DmesgText, "live-min"),
    r("hosts/live-min/var/log/dmesg.1.gz", "fs/var/log/dmesg.1.gz", C::Kernel, F::DmesgText, "live-min"),
];

/// Files under fixtures/ that no parser reads, and why.
const NOT_READ: &[(&str, &str)] = &[
    ("hostile/payloads.txt", "payloads the hostile_* tests stage into a host tree and collect (common/hostile.rs)"),
    ("fuzz/history/fish-clock-back-undated-between", "a fuzzer's regression input, replayed by fuzz_regressions through its target"),
    ("fuzz/lastlog/json-extract-uid1000", "a fuzzer's regression input, replayed by fuzz_regressions through its target"),
    ("fuzz/runtime_log/logrus-clock-back-undated-between", "a fuzzer's regression input, replayed by fuzz_regressions through its target"),
    ("audit/kill32.c", "source of the i386 program staged"),
    ("audit/stage.sh", "staging script"),
    ("watch/trace_pipe.txt", "tracefs lines the collector's recorder parses (its own unit tests)"),
    ("watch/trace_deliver.txt", "signal_deliver lines the collector's recorder parses (its own unit tests)"),
    ("watch/kmsg.txt", "kmsg records the collector's recorder copies (its own unit tests)"),
    ("watch/argv_uprobe.txt", "argv probe lines the collector's recorder parses (its own unit tests)"),
    ("audit/stage-more.sh", "staging script"),
    ("containers/docker/stage.sh", "script that staged the Docker containers"),
    ("containers/docker/staged.txt", "versions and the kernel's OOM lines noted while staging"),
    ("settings/systemd-show.txt", "`systemctl show` text systemd-show.json is written from (a test checks it)"),
    ("audit/stage-claims.sh", "staging script"),
    ("fleet/stage.sh", "staging script"),
    ("fleet/findings-web-1.json", "rendered findings the fleet pattern finder's unit tests read"),
    ("fleet/findings-web-2.json", "rendered findings the fleet pattern finder's unit tests read"),
    ("fleet/findings-db-1.json", "rendered findings the fleet pattern finder's unit tests read"),
    ("bundles/small.allowed_signers", "trust anchor (the bundle itself is loaded whole)"),
    ("bundles/small.tar.gz", "loaded whole below"),
    ("cores/names.tsv", "core file names for the core_pattern reader's unit tests"),
    ("cores/victim-segv/victim.c", "source of the crashing program"),
    ("utmp/btmp.txt", "utmpdump text the binary file was made from"),
    ("utmp/utmp.txt", "utmpdump text the binary file was made from"),
    ("utmp/wtmp.txt", "utmpdump text the binary file was made from"),
    ("utmp/make.sh", "script that made the binary files"),
    ("cores/aarch64/init.c", "source of the aarch64 initramfs program that made the aarch64 cores"),
    ("cores/aarch64/make.sh", "script that made the aarch64 cores"),
    ("cores/aarch64/segv-qemu-user.c", "source of the s390x program whose core qemu-user wrote"),
    ("utmp/arch/layout.c", "prints each architecture's struct utmp/lastlog layout"),
    ("utmp/arch/make.sh", "script that made the other architectures' files"),
    ("utmp/arch/mkwtmp.c", "source of the program that wrote them"),
];

/// Not parsed into events: start-up files, units, scripts, host facts, text dumps the binaries came from.
fn not_read_in_a_host(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    rel.starts_with("hosts/")
        && (name.starts_with('.') && [".btmp.txt", ".utmp.txt", ".wtmp.txt", ".make.sh", ".syslog.2"].contains(&name)
            || ["PROVENANCE", ".bashrc", ".profile", ".zshrc", ".zshenv", "bash.bashrc", "profile", "histtime.sh", "zshenv"]
                .contains(&name)
            || rel.contains("/etc/audit/")
            || rel.contains("/etc/cron.daily/")
            || rel.contains("/atjobs/")
            || rel.contains("/systemd/")
            || rel.contains("/sysctl")
            || rel.contains("/zoneinfo/")
            || ["hostname", "machine-id", "timezone", "localtime", "os-release", "dpkg.log", "run", "lib"].contains(&name))
}

fn fixtures() -> PathBuf {
    repo_root().join("fixtures")
}

fn walk(dir: &Path, out: &mut Vec<String>) {
    let mut list: Vec<_> = std::fs::read_dir(dir).expect("fixture dir").filter_map(Result::ok).collect();
    list.sort_by_key(|e| e.file_name());
    for e in list {
        let p = e.path();
        let ft = e.file_type().expect("file type");
        if ft.is_dir() {
            walk(&p, out);
        } else {
            out.push(p.strip_prefix(fixtures()).expect("under fixtures").to_string_lossy().into_owned());
        }
    }
}

/// No fixture escapes the check: each file under fixtures/ is either bundled above or named as not read.
#[test]
fn every_fixture_file_is_read_or_named_as_not_read() {
    let mut all = Vec::new();
    walk(&fixtures(), &mut all);
    let read: BTreeSet<&str> = READS.iter().map(|r| r.file).collect();
    let named: BTreeSet<&str> = NOT_READ.iter().map(|(f, _)| *f).collect();
    let missing: Vec<&String> = all
        .iter()
        .filter(|f| !f.ends_with("PROVENANCE") && !read.contains(f.as_str()) && !named.contains(f.as_str()))
        .filter(|f| !not_read_in_a_host(f))
        .collect();
    assert!(missing.is_empty(), "fixtures neither read by this test nor named as not read: {missing:#?}");
    for f in read.iter().chain(&named) {
        assert!(all.iter().any(|a| a == f), "{f} is listed here but not under fixtures/");
    }
}

/// Each group of fixture files as one signed bundle, loaded and written as `timeline.jsonl`; plus the committed
/// sample bundle. Returns every row with the group it came from.
fn all_rows() -> Vec<(String, Value)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut groups: BTreeMap<&str, Vec<&Read>> = BTreeMap::new();
    for r in READS {
        groups.entry(r.group).or_default().push(r);
    }
    let mut bundles: Vec<(String, PathBuf)> = Vec::new();
    for (g, reads) in &groups {
        let mut b = BundleBuilder::new("fixture-host");
        for r in reads {
            let bytes = std::fs::read(fixtures().join(r.file)).unwrap_or_else(|e| panic!("{}: {e}", r.file));
            let source = r.entry.strip_prefix("fs").unwrap_or(r.entry);
            b.file(r.entry, source, r.category, r.format, &bytes);
            if r.entry.ends_with(".gz") {
                if let Some(e) = b.manifest.entries.last_mut() {
                    e.compressed = Some("gzip".into());
                }
            }
        }
        let p = dir.path().join(format!("{g}.tar.gz"));
        b.write(&p);
        bundles.push((g.to_string(), p));
    }
    bundles.push(("bundles/small.tar.gz".into(), fixtures().join("bundles/small.tar.gz")));
    let mut rows = Vec::new();
    for (g, p) in &bundles {
        let loaded = load(p, &LoadOptions::default()).unwrap_or_else(|e| panic!("{g}: {e:#}"));
        assert!(!loaded.events.is_empty(), "{g}: no events");
        let findings = FindingsDoc {
            verified: true,
            hostname: loaded.manifest.host.hostname.clone(),
            findings: vec![],
            checklist: vec![],
            advisories: vec![],
        };
        let m = ReportModel {
            manifest: &loaded.manifest,
            verification: &loaded.verification,
            coverage: &[],
            events: &loaded.events,
            problems: &loaded.problems,
            findings: &findings,
            raw_binary: false,
        };
        for line in jsonl::render(&m).lines() {
            rows.push((g.clone(), serde_json::from_str(line).expect("row")));
        }
    }
    rows
}

/// The JSON type of a value as an index maps it (`null` is absence and has none).
fn type_of(v: &Value) -> Option<FieldType> {
    Some(match v {
        Value::Null => return None,
        Value::Bool(_) => FieldType::Bool,
        Value::Number(n) if n.is_f64() => FieldType::Float,
        Value::Number(_) => FieldType::Integer,
        Value::String(_) => FieldType::String,
        Value::Array(_) => FieldType::Array,
        Value::Object(_) => FieldType::Object,
    })
}

/// Leaves of a value as an index sees them: an array's items under the array's own path, an object's members
/// under `path.member`.
fn leaves(path: &str, v: &Value, out: &mut Vec<(String, FieldType)>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| leaves(path, i, out)),
        Value::Object(m) => m.iter().for_each(|(k, i)| leaves(&format!("{path}.{k}"), i, out)),
        other => out.extend(type_of(other).map(|t| (path.to_owned(), t))),
    }
}

/// Key → type → where it was seen (source/kind, group), for every `fields.*` key and leaf path.
type Seen = BTreeMap<String, BTreeMap<FieldType, BTreeSet<String>>>;

fn seen(rows: &[(String, Value)]) -> (Seen, Seen) {
    let (mut top, mut leaf) = (Seen::new(), Seen::new());
    for (g, row) in rows {
        let at = format!("{}:{} ({g})", row["source"].as_str().unwrap_or("?"), row["kind"].as_str().unwrap_or("?"));
        let Some(fields) = row["fields"].as_object() else { continue };
        for (k, v) in fields {
            if let Some(t) = type_of(v) {
                top.entry(k.clone()).or_default().entry(t).or_default().insert(at.clone());
            }
            let mut l = Vec::new();
            leaves(k, v, &mut l);
            for (p, t) in l {
                leaf.entry(p).or_default().entry(t).or_default().insert(at.clone());
            }
        }
    }
    (top, leaf)
}

fn mixed(s: &Seen) -> Vec<String> {
    s.iter()
        .filter(|(_, types)| types.len() > 1)
        .map(|(k, types)| {
            let detail: Vec<String> = types
                .iter()
                .map(|(t, at)| format!("{} in {}", t.as_str(), at.iter().take(4).cloned().collect::<Vec<_>>().join(", ")))
                .collect();
            format!("{k}: {}", detail.join("; "))
        })
        .collect()
}

/// Regression: `fields.syscall` was a number on audit kill rows and the string "kill" on others, so a
/// Timesketch import dropped whichever came second. No key (nor any member of an array or object) mixes types.
#[test]
fn every_field_key_keeps_one_json_type_across_all_fixtures() {
    let rows = all_rows();
    assert!(rows.len() > 1000, "only {} rows", rows.len());
    let (top, leaf) = seen(&rows);
    // A scalar key is its own leaf: the set keeps it once.
    let bad: BTreeSet<String> = mixed(&top).into_iter().chain(mixed(&leaf)).collect();
    let bad: Vec<String> = bad.into_iter().collect();
    assert!(bad.is_empty(), "fields with more than one JSON type:\n{}", bad.join("\n"));
}

/// Every key a row carries is documented in `fields::KEYS` with the type it has and the sources it comes
/// from (keys no fixture row holds are documented from the parsers that write them).
#[test]
fn every_field_key_is_documented_with_its_type_and_sources() {
    let rows = all_rows();
    let (top, _) = seen(&rows);
    let doc: BTreeMap<&str, _> = KEYS.iter().map(|k| (k.name, k)).collect();
    assert_eq!(doc.len(), KEYS.len(), "a key documented twice");
    let mut bad = Vec::new();
    for (k, types) in &top {
        let Some(d) = doc.get(k.as_str()) else {
            bad.push(format!("{k} ({:?}) is not in fields::KEYS", types.keys().collect::<Vec<_>>()));
            continue;
        };
        if types.len() > 1 || !types.contains_key(&d.ty) {
            bad.push(format!("{k} is documented as {} but rows hold {:?}", d.ty.as_str(), types.keys().collect::<Vec<_>>()));
        }
        let documented: BTreeSet<&str> = d.sources.split(',').collect();
        // A key the pipeline sets on any source's events (`time_bound`) is documented as from `any`.
        for at in types.values().flatten().filter(|_| d.sources != "any") {
            let source = at.split(':').next().unwrap_or("");
            if !documented.contains(source) {
                bad.push(format!("{k} comes from {source} ({at}), not among its documented sources {}", d.sources));
            }
        }
    }
    let names: Vec<&str> = KEYS.iter().map(|k| k.name).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted, "fields::KEYS is kept in name order");
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// The README's field table, as `fields::KEYS` renders it.
fn readme_table() -> String {
    let mut t = String::from("| key | type | sources | meaning |\n|---|---|---|---|\n");
    for k in KEYS {
        t.push_str(&format!("| `{}` | {} | {} | {} |\n", k.name, k.ty.as_str(), k.sources.replace(',', ", "), k.meaning.replace('|', "\\|")));
    }
    t
}

/// README.md's field table is `fields::KEYS`, key for key: the documentation cannot drift from the list the
/// rows are checked against.
#[test]
fn readme_field_table_is_the_documented_list() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README.md");
    let table = readme.find("| key | type | sources | meaning |").map(|start| {
        let end = readme[start..].find("\n\n").map_or(readme.len(), |e| start + e + 1);
        &readme[start..end]
    });
    if table != Some(readme_table().as_str()) {
        let path = std::env::temp_dir().join("coroner-readme-field-table.md");
        let _ = std::fs::write(&path, readme_table());
        panic!("README.md's field table differs from fields::KEYS; the table as it should be is in {}", path.display());
    }
}
