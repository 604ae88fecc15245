//! Daemons' own log lines, read the same way whether they came through syslog or the journal: systemd's (unit
//! state changes, oomd kills, crash handler steps, coredump summaries), sshd, sudo, su and cron's, the kubelet's
//! klog lines ([`kubelet`](super::kubelet)) and container runtimes' logrus lines
//! ([`runtime_log`](super::runtime_log)).

use coroner_schemas::accounts::Accounts;
use coroner_schemas::EventKind;
use serde_json::json;

use super::kernel_lines::Classified;
use super::signals;

/// `UNIT: rest` → (unit, rest) when the head looks like a unit name (`name.service`, `x.scope`…).
fn unit_prefix(msg: &str) -> Option<(&str, &str)> {
    let (unit, rest) = msg.split_once(": ")?;
    let suffix = unit.rsplit_once('.')?.1;
    matches!(
        suffix,
        "service" | "scope" | "socket" | "mount" | "timer" | "slice" | "target" | "swap" | "path"
    )
    .then_some((unit, rest))
}

/// `9/KILL` → (9, "SIGKILL"); `1/FAILURE` → exit status 1.
pub(super) fn status_fields(c: &mut Classified, code: &str, status: &str) {
    c.fields.insert("code".into(), json!(code));
    c.fields.insert("status".into(), json!(status));
    if code == "killed" || code == "dumped" {
        let name = status.split_once('/').map(|(_, n)| n).unwrap_or(status);
        let num = status
            .split('/')
            .next()
            .and_then(|n| n.parse::<i64>().ok())
            .or_else(|| signals::number(name));
        if let Some(n) = num {
            c.fields.insert("signal".into(), json!(n));
            if let Some(sn) = signals::name(n) {
                c.fields.insert("signal_name".into(), json!(sn));
            }
        }
    }
}

/// systemd (PID 1 or a user manager) and systemd-coredump messages, by their text:
/// - `U: Main process exited, code=killed, status=9/KILL` → `process_exit` (`process_crash` for `dumped`)
/// - `U: Failed with result 'oom-kill'.` → `service_failed`
/// - `U: Watchdog timeout (limit 3s)!` → `watchdog_timeout`
/// - `U: Killing process N (comm) with signal SIGKILL.` → `service_killed` (pid/comm = the process killed)
/// - `U: State 'stop-sigterm' timed out. Killing.` → `service_stop` with `result` `timeout`
/// - `U: A process of this unit has been killed by the OOM killer.` → `service_killed`, `result` `oom-kill`
/// - `Process N (comm) of user U dumped core.` → `core_dumped`
/// - `Started D.` / `Stopped D.` → `service_start` / `service_stop`
pub fn classify_systemd(msg: &str) -> Option<Classified> {
    let msg = msg.trim();
    if let Some(c) = coredump_text(msg) {
        return Some(c);
    }
    if let Some(c) = oomd_kill(msg) {
        return Some(c);
    }
    if let Some(c) = crash_handler(msg) {
        return Some(c);
    }
    let Some((unit, rest)) = unit_prefix(msg) else {
        if let Some(d) = msg.strip_prefix("Started ") {
            return Some(described(EventKind::ServiceStart, d));
        }
        if let Some(d) = msg.strip_prefix("Stopped ") {
            return Some(described(EventKind::ServiceStop, d));
        }
        return None;
    };
    let mut c;
    if let Some(tail) = rest.strip_prefix("Main process exited, ") {
        let code = tail.split(", ").find_map(|p| p.strip_prefix("code=")).unwrap_or("");
        let status = tail
            .split(", ")
            .find_map(|p| p.strip_prefix("status="))
            .unwrap_or("")
            .trim_end_matches('.');
        c = Classified::new(if code == "dumped" {
            EventKind::ProcessCrash
        } else {
            EventKind::ProcessExit
        });
        status_fields(&mut c, code, status);
        c.summary = Some(format!("{unit}: main process exited ({code}, {status})"));
    } else if let Some(tail) = rest.strip_prefix("Failed with result '") {
        let result = tail.split('\'').next().unwrap_or("");
        c = Classified::new(EventKind::ServiceFailed);
        c.fields.insert("result".into(), json!(result));
        c.summary = Some(format!("{unit} failed: {result}"));
    } else if let Some(tail) = rest.strip_prefix("Watchdog timeout (limit ") {
        c = Classified::new(EventKind::WatchdogTimeout);
        c.fields
            .insert("watchdog_limit".into(), json!(tail.split(')').next().unwrap_or("")));
        c.fields.insert("result".into(), json!("watchdog"));
    } else if let Some(tail) = rest.strip_prefix("Killing process ") {
        let (pid, after) = tail.split_once(" (")?;
        let at = after.rfind(") with signal ")?;
        let sig_name = after[at + 14..].trim_end_matches('.');
        c = Classified::new(EventKind::ServiceKilled);
        c.pid = pid.parse().ok();
        c.comm = Some(after[..at].to_owned());
        if let Some(n) = signals::number(sig_name) {
            c.fields.insert("signal".into(), json!(n));
        }
        c.fields.insert("signal_name".into(), json!(sig_name));
    } else if let Some(tail) = rest.strip_prefix("State '") {
        let state = tail.split('\'').next().unwrap_or("");
        if !tail.contains("timed out") {
            return None;
        }
        c = Classified::new(EventKind::ServiceStop);
        c.fields.insert("state".into(), json!(state));
        c.fields.insert("result".into(), json!("timeout"));
    } else if rest.starts_with("A process of this unit has been killed by the OOM killer") {
        c = Classified::new(EventKind::ServiceKilled);
        c.fields.insert("result".into(), json!("oom-kill"));
    } else {
        return None;
    }
    c.fields.insert("unit".into(), json!(unit));
    Some(c)
}

/// systemd-oomd: `Killed /system.slice/app.service due to memory pressure for /system.slice being 74.12% > 50.00%
/// for > 20s with reclaim activity` (or `due to memory used (…) / total (…) and swap used …`). It kills a
/// whole cgroup, so there is no pid: the unit is the cgroup's last `.service`/`.scope` component.
fn oomd_kill(msg: &str) -> Option<Classified> {
    let rest = msg.strip_prefix("Killed ")?;
    let (cgroup, reason) = rest.split_once(" due to ")?;
    if !cgroup.starts_with('/') || cgroup.contains(char::is_whitespace) {
        return None;
    }
    let mut c = Classified::new(EventKind::OomKill);
    c.fields.insert("cgroup".into(), json!(cgroup));
    c.fields.insert("task_memcg".into(), json!(cgroup));
    c.fields.insert("global".into(), json!(false));
    c.fields.insert("constraint".into(), json!("systemd-oomd"));
    c.fields.insert("killer".into(), json!("systemd-oomd"));
    c.fields.insert("reason".into(), json!(reason.trim_end_matches('.')));
    if let Some(unit) = cgroup.rsplit('/').find(|p| p.ends_with(".service") || p.ends_with(".scope")) {
        c.fields.insert("unit".into(), json!(unit));
    }
    c.summary = Some(format!("systemd-oomd killed {cgroup}"));
    Some(c)
}

/// PID 1's own crash handler (systemd src/core/crash-handler.c): `Caught <SEGV>, dumped core as pid N.`, `Caught
/// <SEGV>, core dump failed…`, `Caught <SEGV> from PID N.`, then `Freezing execution.` (or `Exiting PID 1...` in a
/// container). A plain log line whose `crash_handler` says which step it is: `caught`, `core_failed`, `frozen`,
/// `exiting`.
fn crash_handler(msg: &str) -> Option<Classified> {
    let step = match msg {
        "Freezing execution." => "frozen",
        m if m.starts_with("Exiting PID 1") => "exiting",
        _ => {
            let rest = msg.strip_prefix("Caught <")?;
            let (sig, tail) = rest.split_once('>')?;
            let mut c = Classified::new(EventKind::Log);
            if let Some(n) = signals::number(sig) {
                c.fields.insert("signal".into(), json!(n));
                c.fields.insert("signal_name".into(), json!(signals::name(n).unwrap_or_else(|| sig.to_owned())));
            }
            let step = if let Some(pid) = tail.strip_prefix(", dumped core as pid ") {
                if let Ok(p) = pid.trim_end_matches('.').parse::<i64>() {
                    c.fields.insert("core_pid".into(), json!(p));
                }
                "caught"
            } else if tail.starts_with(", core dump failed") {
                "core_failed"
            } else {
                "caught"
            };
            c.fields.insert("crash_handler".into(), json!(step));
            return Some(c);
        }
    };
    let mut c = Classified::new(EventKind::Log);
    c.fields.insert("crash_handler".into(), json!(step));
    Some(c)
}

fn described(kind: EventKind, d: &str) -> Classified {
    let mut c = Classified::new(kind);
    let d = d.trim_end_matches('.');
    // Newer systemd: `Started foo.service - Description.`
    let unit = d.split_once(" - ").map(|(u, _)| u).unwrap_or(d);
    if unit_prefix(&format!("{unit}: x")).is_some() {
        c.fields.insert("unit".into(), json!(unit));
    } else {
        c.fields.insert("description".into(), json!(d));
    }
    c
}

/// `Process 4242 (worker) of user 1000 dumped core.` (comm may hold `") "`: the last `) of user ` counts).
pub(super) fn coredump_text(msg: &str) -> Option<Classified> {
    let rest = msg.strip_prefix("Process ")?;
    let (pid, after) = rest.split_once(" (")?;
    let at = after.rfind(") of user ")?;
    let tail = &after[at + 10..];
    let (uid, tail) = tail.split_once(' ')?;
    if !tail.starts_with("dumped core") {
        return None;
    }
    let mut c = Classified::new(EventKind::CoreDumped);
    c.pid = Some(pid.parse().ok()?);
    c.comm = Some(after[..at].to_owned());
    c.uid = uid.parse().ok();
    Some(c)
}

/// sshd, sudo, su and cron messages (systemd's go to [`classify_systemd`]). Shared with the journal.
pub fn classify_program(program: &str, msg: &str, accounts: &Accounts) -> Option<Classified> {
    let msg = msg.trim();
    let user = |c: &mut Classified, name: &str| {
        c.user = Some(name.to_owned());
        c.uid = accounts.by_name(name).map(|u| u.uid);
    };
    match program {
        "sshd" | "sshd-session" => {
            if let Some(rest) = msg.strip_prefix("Accepted ") {
                let (method, rest) = rest.split_once(" for ")?;
                let (name, rest) = rest.rsplit_once(" from ")?;
                let mut c = Classified::new(EventKind::Login);
                user(&mut c, name);
                from_addr(&mut c, rest);
                c.fields.insert("method".into(), json!(method));
                c.fields.insert("service".into(), json!("sshd"));
                return Some(c);
            }
            if let Some(rest) = msg.strip_prefix("Failed ") {
                let (method, rest) = rest.split_once(" for ")?;
                let (name, rest) = rest.rsplit_once(" from ")?;
                let mut c = Classified::new(EventKind::LoginFailed);
                let invalid = name.strip_prefix("invalid user ");
                user(&mut c, invalid.unwrap_or(name));
                if invalid.is_some() {
                    c.uid = None;
                    c.fields.insert("invalid_user".into(), json!(true));
                }
                from_addr(&mut c, rest);
                c.fields.insert("method".into(), json!(method));
                c.fields.insert("service".into(), json!("sshd"));
                return Some(c);
            }
            if let Some(name) = msg.strip_prefix("pam_unix(sshd:session): session closed for user ") {
                let mut c = Classified::new(EventKind::Logout);
                user(&mut c, name.trim());
                c.fields.insert("service".into(), json!("sshd"));
                return Some(c);
            }
            if let Some(rest) = msg.strip_prefix("Disconnected from user ") {
                let (name, rest) = rest.split_once(' ')?;
                let mut c = Classified::new(EventKind::Log);
                user(&mut c, name);
                let (addr, port) = rest.split_once(" port ").unwrap_or((rest, ""));
                c.fields.insert("host".into(), json!(addr));
                c.fields.insert("addr".into(), json!(addr));
                if let Ok(p) = port.trim().parse::<i64>() {
                    c.fields.insert("port".into(), json!(p));
                }
                return Some(c);
            }
            None
        }
        "sudo" => {
            // `alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/kill -9 1234`
            let (name, rest) = msg.split_once(" : ")?;
            let mut c = Classified::new(EventKind::Log);
            user(&mut c, name.trim());
            let mut parts = rest.split(" ; ");
            for p in parts.by_ref() {
                match p.split_once('=') {
                    Some(("TTY", v)) => _ = c.fields.insert("tty".into(), json!(v)),
                    Some(("PWD", v)) => _ = c.fields.insert("pwd".into(), json!(v)),
                    Some(("USER", v)) => _ = c.fields.insert("runas".into(), json!(v)),
                    Some(("COMMAND", _)) => {
                        // The command is the rest of the line: it may itself contain " ; ".
                        let at = rest.find("COMMAND=").unwrap_or(0);
                        c.fields.insert("command".into(), json!(&rest[at + 8..]));
                        c.kind = EventKind::PrivilegedCommand;
                        break;
                    }
                    _ => _ = c.fields.insert("sudo_note".into(), json!(p)),
                }
            }
            Some(c)
        }
        "su" => {
            // `(to nobody) root on pts/0`, `FAILED SU (to root) alice on pts/0`
            let (failed, rest) = match msg.strip_prefix("FAILED SU ") {
                Some(r) => (true, r),
                None => (false, msg),
            };
            let rest = rest.strip_prefix("(to ")?;
            let (runas, rest) = rest.split_once(") ")?;
            let (name, tty) = rest.rsplit_once(" on ")?;
            let mut c = Classified::new(if failed {
                EventKind::LoginFailed
            } else {
                EventKind::PrivilegedCommand
            });
            user(&mut c, name);
            c.fields.insert("runas".into(), json!(runas));
            c.fields.insert("tty".into(), json!(tty));
            c.fields.insert("method".into(), json!("su"));
            Some(c)
        }
        "CRON" | "cron" | "crond" => {
            // `(user) CMD (command)`
            let rest = msg.strip_prefix('(')?;
            let (run_as, rest) = rest.split_once(") CMD (")?;
            let command = rest.strip_suffix(')').unwrap_or(rest);
            let mut c = Classified::new(EventKind::CronRun);
            c.fields.insert("run_as".into(), json!(run_as));
            c.fields.insert("command".into(), json!(command));
            c.uid = accounts.by_name(run_as).map(|u| u.uid);
            c.user = Some(run_as.to_owned());
            Some(c)
        }
        "systemd" | "systemd-coredump" | "systemd-oomd" => classify_systemd(msg),
        p if is_kubelet(p) => super::kubelet::classify_line(msg).into_iter().next(),
        p if is_runtime(p) => super::runtime_log::classify_line(msg),
        _ => None,
    }
}

/// The kubelet's program names: its own, and k3s's, whose one binary runs the kubelet.
fn is_kubelet(program: &str) -> bool {
    matches!(program, "kubelet" | "k3s" | "k3s-agent" | "k3s-server")
}

/// Container runtime daemons that log logrus text ([`runtime_log`](super::runtime_log)).
fn is_runtime(program: &str) -> bool {
    matches!(program, "containerd" | "dockerd" | "crio")
}

/// Every event a daemon's message gives: [`classify_program`]'s, or for a kubelet `SyncLoop DELETE` naming several
/// pods, one per pod; the first apart, so the common line (one event or none) allocates nothing.
pub fn classify_program_all(program: &str, msg: &str, accounts: &Accounts) -> (Option<Classified>, Vec<Classified>) {
    if is_kubelet(program) {
        let mut all = super::kubelet::classify_line(msg);
        let first = (!all.is_empty()).then(|| all.remove(0));
        return (first, all);
    }
    (classify_program(program, msg, accounts), Vec::new())
}

/// Whether a recognised message of this program is about another process or a container (the kubelet's and the
/// runtimes' are), so the writer's pid stays in `program_pid` and is not the event's.
pub fn speaks_of_others(program: &str, kind: EventKind) -> bool {
    kind != EventKind::Log && (is_kubelet(program) || is_runtime(program))
}

/// `IP port N ssh2…` after ` from `.
fn from_addr(c: &mut Classified, rest: &str) {
    let (addr, after) = rest.split_once(" port ").unwrap_or((rest, ""));
    c.fields.insert("host".into(), json!(addr));
    c.fields.insert("addr".into(), json!(addr));
    if let Some(p) = after.split(' ').next().and_then(|p| p.parse::<i64>().ok()) {
        c.fields.insert("port".into(), json!(p));
    }
}
