//! The seed's manual checklist, evaluated against the bundle, and readiness advisories: what to change on
//! the host so the next death leaves a named killer.

use coroner_schemas::finding::{Advisory, Cause, CheckItem, Finding};
use coroner_schemas::manifest::{Category, Format};
use coroner_schemas::{EventKind, Source};

use super::typed::Typed;
use super::{entries_of, entries_of_format, Context};
use crate::sources::facts::CoreLimit;

fn item(step: &str, title: &str, entries: Vec<String>, found: Option<String>, nothing: &str) -> CheckItem {
    let (outcome, summary) = match (entries.is_empty(), found) {
        (true, _) => ("not_available", "no such evidence in the bundle".to_owned()),
        (false, Some(s)) => ("found", s),
        (false, None) => ("nothing_found", nothing.to_owned()),
    };
    CheckItem { step: step.into(), title: title.into(), outcome: outcome.into(), summary, entries }
}

fn count(cx: &Context, kinds: &[EventKind]) -> usize {
    cx.events.iter().filter(|e| kinds.contains(&e.kind)).count()
}

pub fn checklist(cx: &Context, findings: &[Finding]) -> Vec<CheckItem> {
    let m = cx.manifest;
    let mut out = Vec::new();

    let logs = entries_of(m, &[Category::Syslog, Category::Journal, Category::Kernel]);
    let notable = count(cx, &[EventKind::ProcessExit, EventKind::ServiceKilled, EventKind::ServiceFailed, EventKind::WatchdogTimeout]);
    out.push(item(
        "logs",
        "Read the system and service logs",
        logs,
        (notable > 0).then(|| format!("{notable} service exit/kill/failure records")),
        "no service deaths logged",
    ));

    let cores = entries_of_format(m, &[Format::CoreElf, Format::CrashReport]);
    let n_core = count(cx, &[EventKind::CoreDumped]);
    let mut core_item = item(
        "core_dumps",
        "Look for core dumps and check ulimit -c",
        {
            let mut e = cores.clone();
            e.extend(entries_of_format(m, &[Format::SysctlJson, Format::ProcSnapshotJson]));
            e
        },
        (n_core > 0).then(|| format!("{n_core} core dump(s)")),
        "no core dumps",
    );
    core_item.summary.push_str(&format!(
        "; core_pattern: {}; PID 1 core limit: {}; processes with ulimit -c 0 at collection: {}",
        cx.facts.sysctl("kernel.core_pattern").map(|s| format!("'{}'", s.trim())).unwrap_or_else(|| "not collected".into()),
        match cx.facts.pid1_core_limit() {
            CoreLimit::Bytes(n) => n.to_string(),
            CoreLimit::Unlimited => "unlimited".into(),
            CoreLimit::Unknown => "unknown".into(),
        },
        cx.facts.core_limits.iter().filter(|(_, l)| *l == CoreLimit::Bytes(0)).count()
    ));
    out.push(core_item);

    let kern = entries_of(m, &[Category::Kernel, Category::Syslog, Category::Journal]);
    let ooms = count(cx, &[EventKind::OomKill]);
    out.push(item("oom", "Check the kernel log for the OOM killer", kern, (ooms > 0).then(|| format!("{ooms} OOM kill(s)")), "no OOM kills"));

    let logins = entries_of(m, &[Category::Logins]);
    let (li, lf) = (count(cx, &[EventKind::Login]), count(cx, &[EventKind::LoginFailed]));
    out.push(item(
        "logins",
        "Check who was logged in (last, lastb)",
        logins,
        (li + lf > 0).then(|| format!("{li} logins, {lf} failed logins")),
        "no logins recorded",
    ));

    let hist = entries_of(m, &[Category::History]);
    let kills = count(cx, &[EventKind::KillCommand]);
    let cmds = count(cx, &[EventKind::ShellCommand, EventKind::KillCommand]);
    out.push(item(
        "histories",
        "Read shell histories for kill commands",
        hist,
        (kills > 0).then(|| format!("{kills} kill/stop commands among {cmds} history lines")),
        "no kill commands in histories",
    ));

    let cron = entries_of(m, &[Category::Cron]);
    let jobs = count(cx, &[EventKind::CronJob]);
    let runs = count(cx, &[EventKind::CronRun]);
    out.push(item(
        "crontabs",
        "Read crontabs and timers",
        cron,
        (jobs + runs > 0).then(|| format!("{jobs} scheduled jobs, {runs} recorded runs")),
        "no scheduled jobs",
    ));

    let audit = entries_of(m, &[Category::Audit]);
    let sent = cx.events.iter().filter(|e| e.kind == EventKind::SignalSent && e.source == Source::Audit).count();
    let mut a = item("audit", "Search the audit log for kill syscalls", audit, (sent > 0).then(|| format!("{sent} audited signals")), "no audited signals");
    if !cx.has_kill_audit {
        a.summary.push_str(if cx.kill_audit_narrowed.is_empty() {
            "; no audit rule covers kill-family syscalls"
        } else {
            "; the audit rules record kill-family syscalls from some senders only"
        });
    }
    out.push(a);

    out.push(containers_step(cx, findings));

    let named = findings
        .iter()
        .filter(|f| f.killer.is_some() || matches!(f.cause, Cause::OomKill | Cause::Crash) || f.container_reason.is_some())
        .count();
    out.push(CheckItem {
        step: "verdict".into(),
        title: "Deaths explained".into(),
        outcome: if findings.is_empty() { "nothing_found" } else { "found" }.into(),
        summary: format!("{} death(s); {} with a cause and killer or a kernel cause", findings.len(), named),
        entries: Vec::new(),
    });
    out
}

pub fn advisories(cx: &Context, findings: &[Finding]) -> Vec<Advisory> {
    let m = cx.manifest;
    let mut out = Vec::new();
    if !cx.has_kill_audit && !cx.kill_audit_narrowed.is_empty() {
        out.push(Advisory {
            id: "narrow_kill_audit_rule".into(),
            message: format!(
                "The audit rules record kill-family syscalls from some senders only ({}): a signal from any other sender (a daemon, cron, a process without a login uid) cannot be named for certain.",
                cx.kill_audit_narrowed.join("; ")
            ),
            fix: coroner_schemas::audit_rules::arm_command("b64"),
        });
    } else if !cx.has_kill_audit {
        out.push(Advisory {
            id: "no_kill_audit_rule".into(),
            message: "No audit rule records kill-family syscalls, so a signal's sender cannot be named for certain.".into(),
            fix: coroner_schemas::audit_rules::arm_command("b64"),
        });
    }
    let pattern = cx.facts.sysctl("kernel.core_pattern");
    let pipe_nowhere = pattern.is_some_and(|p| {
        let p = p.trim();
        p.is_empty() || p.starts_with("|/bin/false") || p.starts_with("|/usr/bin/false") || p == "|/bin/true"
    });
    if pipe_nowhere || cx.facts.pid1_core_limit() == CoreLimit::Bytes(0) {
        out.push(Advisory {
            id: "core_dumps_disabled".into(),
            message: format!(
                "Crashes leave no core: {}.",
                if pipe_nowhere { format!("core_pattern is '{}'", pattern.unwrap_or("").trim()) } else { "the core size limit of PID 1 (inherited by services) is 0".into() }
            ),
            fix: "sysctl -w kernel.core_pattern=/var/crash/core.%e.%p.%t && mkdir -p /var/crash && echo '* soft core unlimited' > /etc/security/limits.d/coroner-core.conf".into(),
        });
    }
    // The ring buffer no longer reaches back to boot, or to the earliest death.
    let kmsg: Vec<_> = cx.events.iter().filter(|e| e.source == Source::Kmsg).collect();
    if let Some(first) = kmsg.first() {
        let since = match &first.timestamp {
            coroner_schemas::Timestamp::FromBoot { since_boot_us, .. } => Some(*since_boot_us),
            _ => None,
        };
        let earliest_death = findings.iter().filter_map(|f| f.time.sort_key()).min();
        let late = matches!((first.timestamp.sort_key(), earliest_death), (Some(k), Some(d)) if k > d);
        if since.is_some_and(|s| s > 60_000_000) || late {
            out.push(Advisory {
                id: "kmsg_too_short".into(),
                message: "The kernel ring buffer no longer reaches back to boot (or to the earliest death): older kernel records are lost unless a syslog daemon keeps them.".into(),
                fix: "apt-get install -y rsyslog  # keeps kern.log; or boot with log_buf_len=16M".into(),
            });
        }
    }
    if m.host.systemd == Some(true) && !m.entries.iter().any(|e| e.source.starts_with("/var/log/journal")) {
        out.push(Advisory {
            id: "journal_volatile".into(),
            message: "The journal is not persistent: it is lost at every reboot.".into(),
            fix: "mkdir -p /var/log/journal && systemd-tmpfiles --create --prefix /var/log/journal && systemctl restart systemd-journald".into(),
        });
    }
    let untimed: Vec<&str> = m
        .entries
        .iter()
        .filter(|e| e.format == Format::BashHistory && e.size > 0)
        .filter(|e| {
            !cx.events.iter().any(|ev| *ev.origin.entry == *e.path && ev.timestamp.certainty() == "exact")
        })
        .map(|e| e.path.as_str())
        .collect();
    if !untimed.is_empty() {
        out.push(Advisory {
            id: "history_untimed".into(),
            message: format!("{} bash histor{} without timestamps (HISTTIMEFORMAT unset): a kill command cannot be placed in time.", untimed.len(), if untimed.len() == 1 { "y" } else { "ies" }),
            fix: "echo 'export HISTTIMEFORMAT=\"%F %T \"; shopt -s histappend; PROMPT_COMMAND=\"history -a;$PROMPT_COMMAND\"' > /etc/profile.d/coroner-history.sh".into(),
        });
    }
    out.extend(container_advisories(cx, findings));
    // A recorder's log in the bundle (a run of `coroner-collect watch`), or its signal records.
    let recorder = !cx.facts.recorder_runs.is_empty() || cx.events.iter().any(|e| e.kind == EventKind::SignalSent && e.source == Source::Watch);
    if !recorder {
        out.push(Advisory {
            id: "no_signal_recorder".into(),
            message: "No signal recorder ran: a signal sent without an audit rule leaves no trace of its sender.".into(),
            fix: super::ARM.into(),
        });
    }
    out
}

/// The containers step: which runtimes' records the bundle holds, and what they show.
fn containers_step(cx: &Context, findings: &[Finding]) -> CheckItem {
    // The runtimes' own entries, and any other entry their records came from (the kubelet's journal unit).
    let mut entries = entries_of(cx.manifest, &[Category::Containers]);
    entries.extend(cx.facts.containers.iter().map(|c| c.origin.entry.to_string()));
    entries.extend(cx.events.iter().filter(|e| matches!(e.source, Source::Container | Source::Kubelet)).map(|e| e.origin.entry.to_string()));
    entries.sort();
    entries.dedup();
    let mut runtimes: Vec<&str> = cx.facts.containers.iter().map(|c| c.runtime.as_str()).collect();
    runtimes.sort_unstable();
    runtimes.dedup();
    let exits = count(cx, &[EventKind::ContainerExit]);
    let kubelet = cx.events.iter().filter(|e| e.source == Source::Kubelet).count();
    let deaths = findings.iter().filter(|f| f.victim.container.is_some() || f.victim.pod.is_some()).count();
    let any = !cx.facts.containers.is_empty() || exits > 0 || kubelet > 0;
    let mut c = item(
        "containers",
        "Check the container runtimes' and the kubelet's records",
        entries,
        any.then(|| {
            format!(
                "{} container record(s){}; {exits} container exit(s); {kubelet} kubelet record(s); {deaths} death(s) in containers",
                cx.facts.containers.len(),
                if runtimes.is_empty() { String::new() } else { format!(" ({})", runtimes.join(", ")) }
            )
        }),
        "no container runtime or kubelet records",
    );
    if c.outcome == "not_available" {
        c.summary = "no container runtime or kubelet records in the bundle (no runtime on the host, or none collected)".into();
    }
    c
}

/// Containers: a restart loop, a memory limit close to the peak usage the bundle shows, liveness probes failing
/// with timeouts.
fn container_advisories(cx: &Context, findings: &[Finding]) -> Vec<Advisory> {
    use std::collections::BTreeMap;
    let mut out = Vec::new();
    // Restart loops: a runtime's restart count of 3 or more, or 3 or more deaths of one container here.
    let mut deaths: BTreeMap<String, usize> = BTreeMap::new();
    for f in findings {
        if let Some(c) = f.victim.container.as_ref().filter(|c| !c.id.is_empty()) {
            *deaths.entry(c.id.clone()).or_default() += 1;
        }
    }
    let mut looping: Vec<String> = Vec::new();
    for r in &cx.facts.containers {
        let died = deaths.iter().filter(|(id, _)| r.has_id(id)).map(|(_, n)| *n).sum::<usize>();
        let restarts = r.restart_count.unwrap_or(0);
        if restarts >= 3 || died >= 3 {
            looping.push(format!(
                "{} ({} {}): restart count {restarts}, {died} death(s) in this bundle{}",
                r.name.as_deref().unwrap_or("unnamed"),
                r.runtime,
                r.id.get(..12).unwrap_or(&r.id),
                r.restart_policy.as_deref().map(|p| format!(", restart policy {p}")).unwrap_or_default()
            ));
        }
    }
    for (id, n) in &deaths {
        if *n >= 3 && !cx.facts.containers.iter().any(|r| r.has_id(id)) {
            looping.push(format!("{} (no runtime record): {n} deaths in this bundle", id.get(..12).unwrap_or(id)));
        }
    }
    if !looping.is_empty() {
        out.push(Advisory {
            id: "container_restart_loop".into(),
            message: format!("Containers in a restart loop: {}. Each restart hides the last death unless its records are kept.", looping.join("; ")),
            fix: "docker logs --tail 100 NAME; docker inspect --format '{{.State.ExitCode}} {{.State.OOMKilled}} {{.RestartCount}}' NAME  # find why the main process dies before raising the restart limit".into(),
        });
    }
    // A memory limit close to the peak usage the cgroup's counters show.
    let mut tight: Vec<String> = Vec::new();
    for e in cx.of_kind(EventKind::Setting) {
        let Some(cg) = e.field_str("cgroup") else { continue };
        let (Some(limit), Some(peak)) = (e.int("limit"), e.int("max_usage")) else { continue };
        if limit <= 0 || peak < 0 || limit >= i64::MAX / 2 {
            continue;
        }
        let named = cx.facts.container_for_cgroup(cg).map(|r| r.name.clone().unwrap_or_else(|| r.id.get(..12).unwrap_or(&r.id).to_owned()));
        let Some(name) = named.or_else(|| crate::sources::container_ids::parse(cg).map(|c| c.id.get(..12).unwrap_or(c.id).to_owned())) else {
            continue;
        };
        // 90% of the limit or more: i128 so absurd counters cannot overflow.
        if i128::from(peak) * 10 >= i128::from(limit) * 9 {
            tight.push(format!("{name}: peak {} MiB of a {} MiB limit ({cg})", peak / 1_048_576, limit / 1_048_576));
        }
    }
    tight.sort();
    tight.dedup();
    if !tight.is_empty() {
        out.push(Advisory {
            id: "container_memory_limit_tight".into(),
            message: format!("Container memory limits close to their peak usage (90% or more): {}.", tight.join("; ")),
            fix: "docker update --memory NEW --memory-swap NEW NAME  # or raise resources.limits.memory in the pod spec, after measuring the working set".into(),
        });
    }
    // Liveness probes failing on timeouts.
    let mut slow: Vec<String> = cx
        .of_kind(EventKind::ProbeFailed)
        .filter(|e| e.field_str("probe_type").is_some_and(|p| p.eq_ignore_ascii_case("liveness")))
        .filter(|e| {
            let text = format!("{} {}", e.message, e.field_str("output").unwrap_or("")).to_ascii_lowercase();
            text.contains("context deadline exceeded") || text.contains("timeout") || text.contains("timed out")
        })
        .map(|e| {
            let pod = match (e.field_str("pod_namespace"), e.field_str("pod_name")) {
                (Some(ns), Some(n)) => format!("{ns}/{n}"),
                (_, Some(n)) => n.to_owned(),
                _ => "?".into(),
            };
            format!("{pod} {}", e.field_str("container_name").unwrap_or("?"))
        })
        .collect();
    slow.sort();
    slow.dedup();
    if !slow.is_empty() {
        out.push(Advisory {
            id: "liveness_probe_timeout".into(),
            message: format!(
                "Liveness probes failed by timing out ({}): a probe timeout shorter than the service's latency under load gets healthy containers killed.",
                slow.join("; ")
            ),
            fix: "raise livenessProbe.timeoutSeconds (and failureThreshold) above the latencies observed, or probe a cheaper endpoint".into(),
        });
    }
    out
}
