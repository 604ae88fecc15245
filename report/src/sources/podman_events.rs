//! Podman's records:
//! - [`Format::PodmanEventsLog`]: the events log (`events_logger = "file"`, libpod/events/logfile.go), one JSON
//!   `events.Event` per line (libpod/events/config.go: `ID`, `Image`, `Name`, `Status`, `Time`, `Type`,
//!   `ContainerExitCode`, `PodID`, `HealthStatus`, `Error`, `Attributes`). Container events become:
//!   `start` → `container_start`; `died` → `container_exit` with `exit_code` (`ContainerExitCode`, written with
//!   `omitempty`: a `died` event without it exited 0); `kill` and `stop` → `container_stop` (the events carry no
//!   signal); `health_status` with `HealthStatus` `unhealthy` → `probe_failed` (`probe_type` `Healthcheck`).
//!   Podman writes no OOM event. Every other event is a `log` event. The time is Go's RFC 3339 with the zone
//!   Podman ran in: exact.
//! - [`Format::PodmanPsJson`]: `podman ps -a --format json` (pkg/domain/entities `ListContainer`: `Id`, `Names`,
//!   `Image`, `State`, `ExitCode`, `Exited`, `ExitedAt`/`StartedAt` in Unix seconds, `Pid`, `Restarts`, `PodName`,
//!   `Labels`): a [`ContainerRecord`] per container, no events.
//!
//! [`Format::PodmanEventsLog`]: coroner_schemas::manifest::Format::PodmanEventsLog
//! [`Format::PodmanPsJson`]: coroner_schemas::manifest::Format::PodmanPsJson

use coroner_schemas::manifest::Format;
use coroner_schemas::{Event, EventKind, Origin, Source, Text, Timestamp, Utc};
use serde_json::Value;

use super::containers::{self, kept_tail, label, preview, Problems, Reader};
use super::facts::{ContainerRecord, Fact};
use super::kernel_lines::cap_message;
use super::{ParseProblem, Parsed, SourceCtx};

pub const RUNTIME: &str = "podman";

pub fn parse(raw: &[u8], ctx: &SourceCtx) -> Parsed {
    match ctx.entry.format {
        Format::PodmanEventsLog => events(raw, ctx),
        Format::PodmanPsJson => ps(raw, ctx),
        _ => Parsed::default(),
    }
}

fn events(raw: &[u8], ctx: &SourceCtx) -> Parsed {
    let mut out = Parsed::default();
    let mut problems = Problems::new(ctx);
    let tail = kept_tail(ctx);
    for (n, start, line, complete) in containers::lines(raw) {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let v: Value = match serde_json::from_slice(line) {
            Ok(v @ Value::Object(_)) => v,
            other => {
                let why = match other {
                    Ok(_) => "not a JSON object".to_owned(),
                    Err(e) => format!("not JSON ({e}): {}", preview(line)),
                };
                problems.bad_line(n, tail, complete, why);
                continue;
            }
        };
        let mut r = Reader::default();
        let origin = Origin { entry: ctx.path.clone(), line: Some(n), offset: Some(ctx.offset + start as u64) };
        let status = r.text(&v, &["Status"]).unwrap_or_default();
        let kind_of = r.text(&v, &["Type"]).unwrap_or_default();
        let Some(at) = r.time(&v, &["Time"]) else {
            problems.at_line(n, format!("podman {kind_of} event {status:?} has no readable Time: kept only as this problem"));
            continue;
        };
        let mut c = ContainerRecord::new(RUNTIME, &r.text(&v, &["ID"]).unwrap_or_default(), origin.clone());
        c.name = r.text(&v, &["Name"]);
        c.image = r.text(&v, &["Image"]);
        let kind = match (kind_of.as_str(), status.as_str()) {
            ("container", "start") => EventKind::ContainerStart,
            ("container", "died") => EventKind::ContainerExit,
            ("container", "kill" | "stop") => EventKind::ContainerStop,
            ("container", "health_status") if r.str(&v, &["HealthStatus"]) == Some("unhealthy") => EventKind::ProbeFailed,
            _ => EventKind::Log,
        };
        let what = if kind_of == "container" { label(&c) } else { format!("{kind_of} {}", c.name.as_deref().unwrap_or(&c.id)) };
        let mut e = Event::new(Timestamp::Exact { utc: at }, Source::Container, kind, cap_message(&format!("podman: {what} {status}")), Text::from_bytes(line), origin);
        if kind_of == "container" && !c.id.is_empty() {
            containers::identity(&mut e.fields, &c);
        }
        match kind {
            EventKind::ContainerExit => {
                // Left out when 0 (omitempty); present but unreadable is no code at all.
                let code = if v.get("ContainerExitCode").is_some() { r.i64(&v, &["ContainerExitCode"]) } else { Some(0) };
                if let Some(code) = code {
                    e.fields.insert("exit_code".into(), code);
                    e.message = format!("podman: {what} died with code {code}");
                }
            }
            EventKind::ProbeFailed => _ = e.fields.insert("probe_type".into(), "Healthcheck"),
            // `podman stop` (the stop signal, then SIGKILL after its timeout) or `podman kill`.
            EventKind::ContainerStop => _ = e.fields.insert("action".into(), status.as_str()),
            _ => {}
        }
        if let Some(err) = r.text(&v, &["Error"]) {
            e.fields.insert("reason".into(), err);
        }
        for m in r.problems {
            problems.at_line(n, m);
        }
        out.events.push(e);
    }
    out.problems = problems.done();
    out
}

fn ps(raw: &[u8], ctx: &SourceCtx) -> Parsed {
    let mut out = Parsed::default();
    let items = match serde_json::from_slice::<Value>(raw) {
        Ok(Value::Array(a)) => a,
        Ok(_) => {
            out.problems.push(ParseProblem::at_offset(ctx, 0, "podman ps output is not a JSON array"));
            return out;
        }
        Err(e) => {
            out.problems.push(ParseProblem::at_offset(ctx, 0, format!("podman ps output is not whole JSON ({e}): {}", preview(raw))));
            return out;
        }
    };
    let unix = |r: &mut Reader, v: &Value, k: &str| r.i64(v, &[k]).filter(|s| *s > 0).and_then(|s| Utc::from_unix(s, 0));
    for (i, v) in items.iter().enumerate() {
        let mut r = Reader::default();
        let Some(id) = r.text(v, &["Id"]).or_else(|| r.text(v, &["ID"])) else {
            out.problems.push(ParseProblem::at_offset(ctx, 0, format!("podman ps element {i} has no Id: not read")));
            continue;
        };
        let mut c = ContainerRecord::new(RUNTIME, &id, Origin { entry: ctx.path.clone(), line: None, offset: Some(ctx.offset) });
        c.name = v.get("Names").and_then(Value::as_array).and_then(|a| a.first()).and_then(Value::as_str).map(str::to_owned);
        c.image = r.text(v, &["Image"]);
        c.status = r.text(v, &["State"]);
        c.pid = r.i64(v, &["Pid"]).filter(|p| *p > 0);
        c.restart_count = r.u64(v, &["Restarts"]);
        c.started = unix(&mut r, v, "StartedAt");
        if r.bool(v, &["Exited"]) == Some(true) {
            c.exit_code = r.i64(v, &["ExitCode"]);
            c.finished = unix(&mut r, v, "ExitedAt");
        }
        if let Some(labels) = v.get("Labels") {
            c.pod_name = r.text(labels, &["io.kubernetes.pod.name"]);
            c.pod_namespace = r.text(labels, &["io.kubernetes.pod.namespace"]);
            c.pod_uid = r.text(labels, &["io.kubernetes.pod.uid"]);
        }
        for m in r.problems {
            out.problems.push(ParseProblem::at_offset(ctx, 0, format!("podman ps element {i}: {m}")));
        }
        out.facts.push(Fact::Container(c));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::testing::{entry, manifest};
    use coroner_schemas::accounts::Accounts;
    use std::path::PathBuf;

    fn run(format: &str, raw: &[u8]) -> Parsed {
        let m = manifest();
        let a = Accounts::default();
        let e = entry("fs/run/libpod/events/events.log", "/run/libpod/events/events.log", "containers", format);
        parse(raw, &SourceCtx::new(&e, &m, &a))
    }

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/containers/podman").join(name)).expect("fixture")
    }

    #[test]
    fn podman_events_give_start_stop_exit_and_health() {
        let p = run("podman_events_log", &fixture("events.log"));
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        let got: Vec<(&str, Option<i64>)> = p.events.iter().map(|e| (e.kind.as_str(), e.fields.get("exit_code").and_then(|v| v.as_i64()))).collect();
        assert_eq!(
            got,
            [("log", None), ("log", None), ("container_start", None), ("probe_failed", None), ("container_stop", None), ("container_exit", Some(137)), ("log", None), ("container_start", None), ("container_exit", Some(0)), ("log", None)]
        );
        let exit = &p.events[5];
        assert_eq!(exit.fields.get("container_name").and_then(|v| v.as_str()), Some("api"));
        assert_eq!(exit.timestamp.sort_key().map(|t| t.rfc3339()).as_deref(), Some("2026-11-27T09:12:04.501188Z"), "+01:00 read as UTC");
        // A kill is told from a stop, which the findings read as different runtime hands.
        assert_eq!(p.events[4].field_str("action"), Some("kill"));
    }

    #[test]
    fn podman_ps_gives_records() {
        let p = run("podman_ps_json", &fixture("ps.json"));
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        let recs: Vec<&ContainerRecord> = p.facts.iter().filter_map(|f| match f { Fact::Container(c) => Some(c), _ => None }).collect();
        assert_eq!(recs.len(), 2);
        assert_eq!((recs[0].name.as_deref(), recs[0].exit_code, recs[0].restart_count, recs[0].finished.map(|t| t.rfc3339())), (Some("api"), Some(137), Some(0), Some("2026-11-27T09:12:04.000000Z".into())));
        assert_eq!((recs[1].status.as_deref(), recs[1].exit_code, recs[1].pid), (Some("running"), None, Some(7781)));
    }

    #[test]
    fn bad_lines_are_problems() {
        let p = run("podman_events_log", b"{\"Status\":\"died\",\"Type\":\"container\"}\nnot json\n[1]\n{\"Time\":\"2026-11-27T10:00:00Z\",\"Type\":\"container\",\"Status\":\"died\",\"ID\":\"ab\",\"ContainerExitCode\":\"x\"}\n{\"Time\":");
        assert_eq!(p.problems.len(), 5, "{:?}", p.problems);
        assert_eq!(p.events.len(), 1);
        assert!(!run("podman_ps_json", b"{").problems.is_empty());
        assert_eq!(run("podman_ps_json", b"[{}]").problems.len(), 1);
    }
}
