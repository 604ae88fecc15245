//! The seed's manual checklist, evaluated against the bundle, and readiness advisories: what to change on
//! the host so the next death leaves a named killer.

use coroner_schemas::finding::{Advisory, Cause, CheckItem, Finding};
use coroner_schemas::manifest::{Category, Format};
use coroner_schemas::{EventKind, Source};

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

    let named = findings.iter().filter(|f| f.killer.is_some() || matches!(f.cause, Cause::OomKill | Cause::Crash)).count();
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
