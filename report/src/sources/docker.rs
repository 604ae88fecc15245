//! Docker's own records of its containers (moby `container.Container`, saved by the daemon as JSON):
//! - `containers/<id>/config.v2.json` ([`Format::DockerConfigJson`]): one [`ContainerRecord`] (name without the
//!   leading `/`, `Config.Image`, `RestartCount`, `State`: pid, start/finish, exit code, `OOMKilled`, status),
//!   a `container_start` event at `State.StartedAt`, a `container_exit` event at `State.FinishedAt`, and a
//!   `probe_failed` event (`probe_type` `Healthcheck`) for each failed check in `State.Health.Log` (Docker keeps
//!   the last five). Go's zero time (`0001-01-01T00:00:00Z`) is "never": no event.
//! - `containers/<id>/hostconfig.json` ([`Format::DockerHostConfigJson`]): a record with `Memory`, the restart
//!   policy (`on-failure:3`) and the cgroup parent. An empty `CgroupParent` leaves `cgroup` unset: the path then
//!   depends on the cgroup driver (`/docker/<id>` or `system.slice/docker-<id>.scope`), which the file does not
//!   say, and [`container_ids`](super::container_ids) maps both shapes by id anyway.
//! - `<id>-json.log` ([`Format::DockerJsonLog`]): each `{"log","stream","time"}` line a `log` event. The daemon
//!   splits a line longer than 16 KiB into pieces, all but the last without a trailing `\n`: those are joined
//!   into one event (its origin the first piece). When the collector kept only the file's tail, a first line
//!   that is not whole JSON is the cut it made: a problem recorded as the collector's, not bad evidence.
//! - `docker ps -a --no-trunc --format '{{json .}}'` ([`Format::DockerPsJson`]): a record per line (id, name,
//!   image, `State`, the exit code in `Status` `Exited (137) 5 minutes ago`, the `io.kubernetes.pod.*` labels).
//!   `Status`' times are relative to when `ps` ran: no event is made of them.
//! - `docker inspect` ([`Format::DockerInspectJson`]): an array of the same objects as config.v2.json, with
//!   `HostConfig` inside; records and the same start/exit/probe events. These repeat config.v2.json's when both
//!   were collected: the findings merge exits by container id and time.
//!
//! [`Format::DockerConfigJson`]: coroner_schemas::manifest::Format::DockerConfigJson
//! [`Format::DockerHostConfigJson`]: coroner_schemas::manifest::Format::DockerHostConfigJson
//! [`Format::DockerJsonLog`]: coroner_schemas::manifest::Format::DockerJsonLog
//! [`Format::DockerPsJson`]: coroner_schemas::manifest::Format::DockerPsJson
//! [`Format::DockerInspectJson`]: coroner_schemas::manifest::Format::DockerInspectJson

use bytes::Bytes;
use coroner_schemas::manifest::Format;
use coroner_schemas::{Event, EventKind, Origin, Source, Text, Timestamp, Utc};
use serde_json::value::RawValue;
use serde_json::Value;

use super::container_ids::is_id;
use super::containers::{self, entry_path, id_in_path, identity, kept_tail, label, lifecycle, object, preview, Problems, Reader};
use super::facts::{ContainerRecord, Fact};
use super::kernel_lines::cap_message;
use super::{ParseProblem, Parsed, SourceCtx};

pub const RUNTIME: &str = "docker";

pub fn parse(raw: &Bytes, ctx: &SourceCtx) -> Parsed {
    match ctx.entry.format {
        Format::DockerConfigJson => config(raw, ctx),
        Format::DockerHostConfigJson => hostconfig(raw, ctx),
        Format::DockerJsonLog => json_log(raw, ctx),
        Format::DockerPsJson => ps(raw, ctx),
        Format::DockerInspectJson => inspect(raw, ctx),
        _ => Parsed::default(),
    }
}


fn origin(ctx: &SourceCtx, line: Option<u64>, offset: u64) -> Origin {
    Origin { entry: ctx.path.clone(), line, offset: Some(ctx.offset + offset) }
}

/// Pushes the reader's problems as the entry's, at `line`.
fn flush(r: &mut Reader, ctx: &SourceCtx, line: Option<u64>, out: &mut Parsed) {
    for m in r.problems.drain(..) {
        out.problems.push(ParseProblem::new(&ctx.path, line, None, m));
    }
}

/// The id a record gives, checked against the one in its entry's path; the record's wins (it is the daemon's).
fn record_id(r: &mut Reader, v: &Value, ctx: &SourceCtx) -> Option<String> {
    let own = r.str(v, &["ID"]).or_else(|| r.str(v, &["Id"])).map(str::to_owned);
    let path = id_in_path(entry_path(ctx));
    match (own, path) {
        (Some(o), Some(p)) if o != p => {
            r.problems.push(format!("the record's ID {o:?} is not the one its path names ({p}): the record's is used"));
            Some(o)
        }
        (Some(o), _) if o.is_empty() => path.map(str::to_owned),
        (Some(o), _) => Some(o),
        (None, p) => p.map(str::to_owned),
    }
}

/// Docker's status word, as moby's `State.StateString` (container/state.go) derives it from the flags, or the
/// `Status` that `docker inspect` writes.
fn status(r: &mut Reader, state: &Value) -> Option<String> {
    if let Some(s) = r.text(state, &["Status"]) {
        return Some(s);
    }
    let running = r.bool(state, &["Running"])?;
    Some(
        if running {
            if r.bool(state, &["Paused"]) == Some(true) {
                "paused"
            } else if r.bool(state, &["Restarting"]) == Some(true) {
                "restarting"
            } else {
                "running"
            }
        } else if r.bool(state, &["RemovalInProgress"]) == Some(true) {
            "removing"
        } else if r.bool(state, &["Dead"]) == Some(true) {
            "dead"
        } else if r.time(state, &["StartedAt"]).is_none() {
            "created"
        } else {
            "exited"
        }
        .to_owned(),
    )
}

/// The pod labels Kubernetes (dockershim, cri-dockerd) puts on its containers.
fn pod_labels(r: &mut Reader, c: &mut ContainerRecord, labels: &Value) {
    c.pod_name = r.text(labels, &["io.kubernetes.pod.name"]);
    c.pod_namespace = r.text(labels, &["io.kubernetes.pod.namespace"]);
    c.pod_uid = r.text(labels, &["io.kubernetes.pod.uid"]);
}

/// HostConfig's memory limit, restart policy and cgroup parent onto a record.
fn host_config(r: &mut Reader, c: &mut ContainerRecord, hc: &Value) {
    c.memory_limit = r.u64(hc, &["Memory"]).filter(|m| *m > 0);
    if let Some(name) = r.text(hc, &["RestartPolicy", "Name"]) {
        let max = r.i64(hc, &["RestartPolicy", "MaximumRetryCount"]).unwrap_or(0);
        c.restart_policy = Some(if name == "on-failure" && max > 0 { format!("{name}:{max}") } else { name });
    }
    if let (Some(parent), Some(id)) = (r.text(hc, &["CgroupParent"]), is_id(&c.id).then_some(c.id.clone())) {
        // A parent set by the user or by Kubernetes: the daemon puts the container right under it (cgroupfs) or
        // names a `docker-<id>.scope` in it (systemd, when the parent is a `.slice`).
        c.cgroup = Some(if parent.ends_with(".slice") { format!("{}/docker-{id}.scope", parent.trim_end_matches('/')) } else { format!("{}/{id}", parent.trim_end_matches('/')) });
    }
}

/// A container object (config.v2.json, or one `docker inspect` element): its record, its error text and its
/// health-check log entries.
fn container(r: &mut Reader, v: &Value, id: String, origin: Origin) -> (ContainerRecord, Option<String>) {
    let mut c = ContainerRecord::new(RUNTIME, &id, origin);
    c.name = r.text(v, &["Name"]).map(|n| n.trim_start_matches('/').to_owned()).filter(|n| !n.is_empty());
    c.image = r.text(v, &["Config", "Image"]);
    c.restart_count = r.u64(v, &["RestartCount"]);
    let empty = Value::Null;
    let state = v.get("State").unwrap_or(&empty);
    c.pid = r.i64(state, &["Pid"]).filter(|p| *p > 0);
    c.started = r.time(state, &["StartedAt"]);
    c.finished = r.time(state, &["FinishedAt"]);
    c.exit_code = r.i64(state, &["ExitCode"]);
    c.oom_killed = r.bool(state, &["OOMKilled"]);
    c.status = status(r, state);
    c.stop_signal = r.text(v, &["Config", "StopSignal"]);
    c.stop_timeout_s = r.i64(v, &["Config", "StopTimeout"]);
    if let Some(labels) = v.get("Config").and_then(|c| c.get("Labels")) {
        pod_labels(r, &mut c, labels);
    }
    if let Some(hc) = v.get("HostConfig") {
        host_config(r, &mut c, hc);
    }
    let error = r.text(state, &["Error"]);
    (c, error)
}

/// `probe_failed` events for the failed checks of `State.Health.Log` (`ExitCode` not 0), at each check's end.
fn health(r: &mut Reader, v: &Value, c: &ContainerRecord, raw: &Text, origin: &Origin, out: &mut Vec<Event>) {
    let Some(log) = v.get("State").and_then(|s| s.get("Health")).and_then(|h| h.get("Log")) else { return };
    let Some(items) = log.as_array() else {
        if !log.is_null() {
            r.problems.push("State.Health.Log is not an array".into());
        }
        return;
    };
    for item in items {
        let Some(code) = r.i64(item, &["ExitCode"]) else { continue };
        if code == 0 {
            continue;
        }
        let Some(at) = r.time(item, &["End"]).or_else(|| r.time(item, &["Start"])) else {
            r.problems.push(format!("a failed health check of {} has no time: kept only as this problem", label(c)));
            continue;
        };
        let output = r.str(item, &["Output"]).unwrap_or("").trim_end();
        let mut e = Event::new(
            Timestamp::Exact { utc: at },
            Source::Container,
            EventKind::ProbeFailed,
            cap_message(&format!("health check of container {} failed (exit {code}): {output}", label(c))),
            raw.clone(),
            origin.clone(),
        );
        identity(&mut e.fields, c);
        e.fields.insert("probe_type".into(), "Healthcheck");
        out.push(e);
    }
}

fn config(raw: &Bytes, ctx: &SourceCtx) -> Parsed {
    let mut out = Parsed::default();
    let Some(v) = object(raw, ctx, "config.v2.json", &mut out) else { return out };
    let mut r = Reader::default();
    let Some(id) = record_id(&mut r, &v, ctx) else {
        out.problems.push(ParseProblem::at_offset(ctx, 0, "config.v2.json names no container id, nor does its path: not read"));
        return out;
    };
    let at = origin(ctx, Some(1), 0);
    let text = Text::shared(raw.clone());
    let (c, error) = container(&mut r, &v, id, at.clone());
    out.events.extend(lifecycle(&c, error.as_deref(), &text, &at));
    health(&mut r, &v, &c, &text, &at, &mut out.events);
    out.facts.push(Fact::Container(c));
    flush(&mut r, ctx, Some(1), &mut out);
    out
}

fn hostconfig(raw: &Bytes, ctx: &SourceCtx) -> Parsed {
    let mut out = Parsed::default();
    let Some(v) = object(raw, ctx, "hostconfig.json", &mut out) else { return out };
    let Some(id) = id_in_path(entry_path(ctx)) else {
        out.problems.push(ParseProblem::at_offset(ctx, 0, "hostconfig.json is not in a folder named by a container id: not read"));
        return out;
    };
    let mut r = Reader::default();
    let mut c = ContainerRecord::new(RUNTIME, id, origin(ctx, Some(1), 0));
    host_config(&mut r, &mut c, &v);
    out.facts.push(Fact::Container(c));
    flush(&mut r, ctx, Some(1), &mut out);
    out
}

fn inspect(raw: &Bytes, ctx: &SourceCtx) -> Parsed {
    let mut out = Parsed::default();
    let items: Vec<&RawValue> = match serde_json::from_slice(raw) {
        Ok(a) => a,
        Err(e) => {
            out.problems.push(ParseProblem::at_offset(ctx, 0, format!("docker inspect output is not a whole JSON array ({e}): {}", preview(raw))));
            return out;
        }
    };
    for item in items {
        // The element's own bytes, sliced from the entry's (a `RawValue` borrows them).
        let start = (item.get().as_ptr() as usize).saturating_sub(raw.as_ptr() as usize).min(raw.len());
        let end = (start + item.get().len()).min(raw.len());
        let line = 1 + memchr::memchr_iter(b'\n', &raw[..start]).count() as u64;
        let v: Value = match serde_json::from_str(item.get()) {
            Ok(v @ Value::Object(_)) => v,
            _ => {
                out.problems.push(ParseProblem::new(&ctx.path, Some(line), Some(ctx.offset + start as u64), "a docker inspect element is not an object"));
                continue;
            }
        };
        let mut r = Reader::default();
        let own = r.text(&v, &["Id"]).or_else(|| r.text(&v, &["ID"]));
        let Some(id) = own else {
            out.problems.push(ParseProblem::new(&ctx.path, Some(line), Some(ctx.offset + start as u64), "a docker inspect element has no Id: not read"));
            continue;
        };
        let at = origin(ctx, Some(line), start as u64);
        let text = Text::shared(raw.slice(start..end));
        let (c, error) = container(&mut r, &v, id, at.clone());
        out.events.extend(lifecycle(&c, error.as_deref(), &text, &at));
        health(&mut r, &v, &c, &text, &at, &mut out.events);
        out.facts.push(Fact::Container(c));
        flush(&mut r, ctx, Some(line), &mut out);
    }
    out
}

/// `Exited (137) 5 minutes ago` → 137.
fn ps_exit_code(status: &str) -> Option<i64> {
    let rest = status.strip_prefix("Exited (").or_else(|| status.strip_prefix("Restarting ("))?;
    rest.split_once(')')?.0.parse().ok()
}

/// `docker ps` `Labels`: `k=v,k=v` (a value holding `,` cannot be told apart; Kubernetes' pod labels hold none).
fn ps_label<'a>(labels: &'a str, key: &str) -> Option<&'a str> {
    labels.split(',').find_map(|kv| kv.strip_prefix(key)?.strip_prefix('=')).filter(|v| !v.is_empty())
}

fn ps(raw: &Bytes, ctx: &SourceCtx) -> Parsed {
    let mut out = Parsed::default();
    let mut problems = Problems::new(ctx);
    for (n, start, line, _) in containers::lines(raw) {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let v: Value = match serde_json::from_slice(line) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) => {
                problems.at_line(n, "docker ps line is not a JSON object");
                continue;
            }
            Err(e) => {
                problems.at_line(n, format!("docker ps line is not JSON ({e}): {}", preview(line)));
                continue;
            }
        };
        let mut r = Reader::default();
        let Some(id) = r.text(&v, &["ID"]) else {
            problems.at_line(n, "docker ps line has no ID: not read");
            continue;
        };
        let mut c = ContainerRecord::new(RUNTIME, &id, origin(ctx, Some(n), start as u64));
        // `Names` lists every name, comma-separated (links add `other/alias`): the first is the container's own.
        c.name = r.str(&v, &["Names"]).and_then(|s| s.split(',').next()).filter(|s| !s.is_empty()).map(str::to_owned);
        c.image = r.text(&v, &["Image"]);
        c.status = r.text(&v, &["State"]);
        if let Some(s) = r.str(&v, &["Status"]) {
            c.exit_code = ps_exit_code(s);
        }
        if let Some(l) = r.str(&v, &["Labels"]) {
            c.pod_name = ps_label(l, "io.kubernetes.pod.name").map(str::to_owned);
            c.pod_namespace = ps_label(l, "io.kubernetes.pod.namespace").map(str::to_owned);
            c.pod_uid = ps_label(l, "io.kubernetes.pod.uid").map(str::to_owned);
        }
        for m in r.problems {
            problems.at_line(n, m);
        }
        out.facts.push(Fact::Container(c));
    }
    out.problems = problems.done();
    out
}

/// A json-file log line: `{"log":"…","stream":"stdout","time":"…"}` (moby daemon/logger/jsonfilelog).
struct LogLine {
    log: String,
    stream: String,
    time: Utc,
}

fn log_line(line: &[u8]) -> Result<LogLine, String> {
    let v: Value = serde_json::from_slice(line).map_err(|e| format!("not JSON ({e}): {}", preview(line)))?;
    let mut r = Reader::default();
    let log = r.str(&v, &["log"]).map(str::to_owned);
    let stream = r.text(&v, &["stream"]);
    let time = r.time(&v, &["time"]);
    if let Some(p) = r.problems.into_iter().next() {
        return Err(p);
    }
    match (log, stream, time) {
        (Some(log), Some(stream), Some(time)) => Ok(LogLine { log, stream, time }),
        _ => Err(format!("not a json-file log record (needs log, stream and time): {}", preview(line))),
    }
}

fn json_log(raw: &Bytes, ctx: &SourceCtx) -> Parsed {
    let mut out = Parsed::default();
    let mut problems = Problems::new(ctx);
    let id = id_in_path(entry_path(ctx)).map(str::to_owned);
    if id.is_none() {
        problems.push(ParseProblem::at_offset(ctx, 0, "the log's path names no container id: its lines are kept without one"));
    }
    let tail = kept_tail(ctx);
    // A piece of a long line waiting for its end: (event, stream).
    let mut open: Option<(Event, String)> = None;
    let finish = |open: &mut Option<(Event, String)>, out: &mut Parsed| {
        if let Some((mut e, _)) = open.take() {
            e.message = cap_message(e.message.strip_suffix('\n').unwrap_or(&e.message));
            out.events.push(e);
        }
    };
    for (n, start, line, complete) in containers::lines(raw) {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let rec = match log_line(line) {
            Ok(r) => r,
            Err(why) => {
                problems.bad_line(n, tail, complete, why);
                continue;
            }
        };
        let raw_line = Text::shared(raw.slice(start..start + line.len()));
        if let Some((e, stream)) = open.as_mut() {
            if *stream == rec.stream {
                e.message.push_str(&rec.log);
                let first = e.origin.offset.unwrap_or(0).saturating_sub(ctx.offset) as usize;
                e.raw = Text::shared(raw.slice(first..start + line.len()));
                if rec.log.ends_with('\n') {
                    finish(&mut open, &mut out);
                }
                continue;
            }
            finish(&mut open, &mut out);
        }
        let mut e = Event::new(Timestamp::Exact { utc: rec.time }, Source::Container, EventKind::Log, rec.log.clone(), raw_line, origin(ctx, Some(n), start as u64));
        e.fields.insert("runtime".into(), RUNTIME);
        if let Some(id) = &id {
            e.fields.insert("container_id".into(), id.as_str());
        }
        e.fields.insert("stream".into(), rec.stream.as_str());
        if rec.log.ends_with('\n') {
            open = Some((e, rec.stream));
            finish(&mut open, &mut out);
        } else {
            open = Some((e, rec.stream));
        }
    }
    finish(&mut open, &mut out);
    out.problems = problems.done();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::testing::{entry, manifest};
    use coroner_schemas::accounts::Accounts;
    use std::path::PathBuf;

    fn fixtures() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/containers/docker")
    }

    /// The one file under `fixtures/containers/docker/<scenario>/<id>/` named `name`, with its bundle path.
    fn file(scenario: &str, name: &str) -> (String, Bytes) {
        let dir = std::fs::read_dir(fixtures().join(scenario)).expect("scenario").filter_map(Result::ok).next().expect("id dir");
        let id = dir.file_name().to_string_lossy().into_owned();
        let name = name.replace("ID", &id);
        let bytes = std::fs::read(dir.path().join(&name)).expect("fixture");
        (format!("fs/var/lib/docker/containers/{id}/{name}"), Bytes::from(bytes))
    }

    fn run(path: &str, format: &str, raw: &Bytes) -> Parsed {
        let m = manifest();
        let a = Accounts::default();
        let e = entry(path, path.strip_prefix("fs").unwrap_or(path), "containers", format);
        parse(raw, &SourceCtx::new(&e, &m, &a))
    }

    fn record(p: &Parsed) -> &ContainerRecord {
        match p.facts.as_slice() {
            [Fact::Container(c)] => c,
            other => panic!("one container fact expected: {other:?}"),
        }
    }

    fn kinds(p: &Parsed) -> Vec<(&'static str, String)> {
        p.events.iter().map(|e| (e.kind.as_str(), e.timestamp.sort_key().map(|t| t.rfc3339()).unwrap_or_default())).collect()
    }

    #[test]
    fn a_real_oom_killed_container_gives_its_record_and_an_exit_marked_oom_killed() {
        let (path, raw) = file("oom", "config.v2.json");
        let p = run(&path, "docker_config_json", &raw);
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        let c = record(&p);
        assert_eq!((c.runtime.as_str(), c.name.as_deref(), c.image.as_deref()), ("docker", Some("oom"), Some("coroner/busybox:1")));
        assert_eq!((c.exit_code, c.oom_killed, c.pid, c.restart_count, c.status.as_deref()), (Some(137), Some(true), None, Some(0), Some("exited")));
        assert_eq!(c.id, "575da7c9803ba895725e27c2b9e31186cff274dc35be146c218088f32434a67a");
        assert_eq!(kinds(&p), [("container_start", "2026-12-05T21:26:15.855416Z".into()), ("container_exit", "2026-12-05T21:26:15.972619Z".into())]);
        let exit = &p.events[1];
        assert_eq!(exit.fields.get("exit_code").and_then(|v| v.as_i64()), Some(137));
        assert_eq!(exit.fields.get("oom_killed").and_then(|v| v.as_bool()), Some(true));
        assert_eq!(exit.fields.get("container_name").and_then(|v| v.as_str()), Some("oom"));
        assert_eq!(exit.fields.get("image").and_then(|v| v.as_str()), Some("coroner/busybox:1"));
        assert_eq!(exit.fields.get("reason"), None, "State.Error is empty");
        assert_eq!(exit.pid, None, "Docker zeroes State.Pid once the process has ended");
        assert_eq!(exit.message, "container oom (docker 575da7c9803b) exited with code 137, marked OOMKilled by its runtime");
    }

    #[test]
    fn failed_health_checks_become_probe_failures_and_the_kill_an_exit_137() {
        let (path, raw) = file("web", "config.v2.json");
        let p = run(&path, "docker_config_json", &raw);
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        let k = kinds(&p);
        assert_eq!(k.iter().filter(|(k, _)| *k == "probe_failed").count(), 5, "{k:?}");
        let probe = p.events.iter().find(|e| e.kind == EventKind::ProbeFailed).expect("probe");
        assert_eq!(probe.fields.get("probe_type").and_then(|v| v.as_str()), Some("Healthcheck"));
        assert!(probe.message.ends_with("failed (exit 1): cat: can't open '/healthy': No such file or directory"), "{}", probe.message);
        assert_eq!(probe.timestamp.sort_key().map(|t| t.rfc3339()).as_deref(), Some("2026-12-05T21:26:17.341732Z"), "at the check's End");
        let exit = p.events.iter().find(|e| e.kind == EventKind::ContainerExit).expect("exit");
        assert_eq!((exit.fields.get("exit_code").and_then(|v| v.as_i64()), exit.fields.get("oom_killed").and_then(|v| v.as_bool())), (Some(137), Some(false)));
    }

    #[test]
    fn the_restart_loop_its_count_and_policy_and_the_exit_3() {
        let (path, raw) = file("flappy", "config.v2.json");
        let c = record(&run(&path, "docker_config_json", &raw)).clone();
        assert_eq!((c.restart_count, c.exit_code), (Some(3), Some(1)));
        let (path, raw) = file("flappy", "hostconfig.json");
        let p = run(&path, "docker_host_config_json", &raw);
        assert!(p.problems.is_empty() && p.events.is_empty(), "{p:?}");
        let h = record(&p);
        assert_eq!((h.id.as_str(), h.restart_policy.as_deref(), h.memory_limit, h.cgroup.as_deref()), (c.id.as_str(), Some("on-failure:3"), None, None));
        let (path, raw) = file("oom", "hostconfig.json");
        assert_eq!(record(&run(&path, "docker_host_config_json", &raw)).memory_limit, Some(32 * 1024 * 1024));
        let (path, raw) = file("exit3", "config.v2.json");
        let p = run(&path, "docker_config_json", &raw);
        assert_eq!(p.events.iter().find(|e| e.kind == EventKind::ContainerExit).and_then(|e| e.fields.get("exit_code")).and_then(|v| v.as_i64()), Some(3));
    }

    #[test]
    fn json_file_log_lines_are_log_events_of_their_container() {
        let (path, raw) = file("exit3", "ID-json.log");
        let p = run(&path, "docker_json_log", &raw);
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        let [e] = p.events.as_slice() else { panic!("{:?}", p.events) };
        assert_eq!((e.kind, e.source, e.message.as_str()), (EventKind::Log, Source::Container, "about to fail"));
        assert_eq!(e.fields.get("stream").and_then(|v| v.as_str()), Some("stderr"));
        assert_eq!(e.fields.get("container_id").and_then(|v| v.as_str()), Some("f2902b6214d0581f5a1473f67c713f156b7c8469b0ee83d7bbf13b66ed7ffc85"));
        let (path, raw) = file("flappy", "ID-json.log");
        assert_eq!(run(&path, "docker_json_log", &raw).events.len(), 4, "one line per try: the first run and three restarts");
    }

    #[test]
    fn long_lines_split_by_the_daemon_are_joined_and_bad_lines_are_problems() {
        let id = "ab".repeat(32);
        let path = format!("fs/var/lib/docker/containers/{id}/{id}-json.log");
        let raw = Bytes::from_static(
            b"{\"log\":\"part one \",\"stream\":\"stdout\",\"time\":\"2026-12-05T21:16:09.1Z\"}\n{\"log\":\"and two\\n\",\"stream\":\"stdout\",\"time\":\"2026-12-05T21:16:09.1Z\"}\nnot json\n{\"log\":\"x\\n\",\"stream\":\"stdout\",\"time\":\"yesterday\"}\n\xff\xfe\x00garbage\n{\"log\":\"cut",
        );
        let p = run(&path, "docker_json_log", &raw);
        assert_eq!(p.events.len(), 1, "{:?}", p.events);
        assert_eq!(p.events[0].message, "part one and two");
        assert!(p.events[0].raw.as_bytes().starts_with(b"{\"log\":\"part one "), "the raw spans both pieces");
        assert!(p.events[0].raw.as_bytes().ends_with(b"09.1Z\"}"));
        let lines: Vec<u64> = p.problems.iter().filter_map(|p| p.line).collect();
        assert_eq!(lines, [3, 4, 5, 6], "{:?}", p.problems);
        assert!(p.problems[1].message.contains("time is not an RFC 3339 time"), "{:?}", p.problems[1]);
        assert!(p.problems[3].message.contains("the log was being written"), "{:?}", p.problems[3]);
    }

    #[test]
    fn a_tail_cut_first_line_is_the_collectors_cut() {
        let id = "ab".repeat(32);
        let path = format!("fs/var/lib/docker/containers/{id}/{id}-json.log");
        let m = manifest();
        let a = Accounts::default();
        let mut e = entry(&path, &path[2..], "containers", "docker_json_log");
        e.status = serde_json::from_value(serde_json::json!({"kind": "truncated", "kept": "tail", "original_size": 9000, "reason": "cap"})).expect("status");
        let raw = Bytes::from_static(b"m\",\"stream\":\"stdout\",\"time\":\"2026-12-05T21:16:09Z\"}\n{\"log\":\"ok\\n\",\"stream\":\"stdout\",\"time\":\"2026-12-05T21:16:10Z\"}\n");
        let p = parse(&raw, &SourceCtx::new(&e, &m, &a));
        assert_eq!(p.events.len(), 1);
        assert_eq!(p.problems.len(), 1);
        assert!(!p.problems[0].is_parse(), "the collector's cut: {:?}", p.problems[0]);
    }

    #[test]
    fn ps_and_inspect_give_records_and_inspect_the_same_exits() {
        let raw = Bytes::from(std::fs::read(fixtures().join("docker-ps.jsonl")).expect("ps"));
        let p = run("cmd/docker-ps.jsonl", "docker_ps_json", &raw);
        assert!(p.problems.is_empty() && p.events.is_empty(), "{p:?}");
        let mut got: Vec<(String, Option<i64>)> = p.facts.iter().filter_map(|f| match f { Fact::Container(c) => Some((c.name.clone().unwrap_or_default(), c.exit_code)), _ => None }).collect();
        got.sort();
        assert_eq!(got, [("exit3".into(), Some(3)), ("flappy".into(), Some(1)), ("oom".into(), Some(137)), ("stopper".into(), Some(137)), ("web".into(), Some(137))]);
        let raw = Bytes::from(std::fs::read(fixtures().join("docker-inspect.json")).expect("inspect"));
        let p = run("cmd/docker-inspect.json", "docker_inspect_json", &raw);
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        assert_eq!(p.facts.len(), 5);
        assert_eq!(p.events.iter().filter(|e| e.kind == EventKind::ContainerExit).count(), 5);
        let oom = p.facts.iter().find_map(|f| match f { Fact::Container(c) if c.name.as_deref() == Some("oom") => Some(c), _ => None }).expect("oom");
        assert_eq!((oom.memory_limit, oom.oom_killed, oom.restart_policy.as_deref()), (Some(33_554_432), Some(true), Some("no")));
        // Each element's events point at its own bytes.
        let exit = p.events.iter().find(|e| e.kind == EventKind::ContainerExit && e.fields.get("container_name").and_then(|v| v.as_str()) == Some("oom")).expect("exit");
        assert!(exit.raw.as_bytes().starts_with(b"{") && exit.raw.as_bytes().ends_with(b"}"));
        assert!(exit.origin.line.unwrap_or(0) > 1);
    }

    #[test]
    fn hostile_and_garbage_records_are_problems_not_panics() {
        let id = "cd".repeat(32);
        let path = format!("fs/var/lib/docker/containers/{id}/config.v2.json");
        for (raw, want) in [
            (&b""[..], "not whole JSON"),
            (b"{\"State\":{\"Running\":fa", "not whole JSON"),
            (b"[1,2]", "not a JSON object"),
            (b"\x00\x01\xff", "not whole JSON"),
            (b"{\"ID\":\"x\",\"State\":{\"ExitCode\":99999999999999999999999,\"Pid\":\"12\",\"StartedAt\":\"not a time\"},\"RestartCount\":-1}", "is not"),
        ] {
            let p = run(&path, "docker_config_json", &Bytes::copy_from_slice(raw));
            assert!(p.problems.iter().any(|q| q.message.contains(want)), "{raw:?}: {:?}", p.problems);
            assert!(p.events.is_empty(), "{raw:?}: {:?}", p.events);
        }
        let p = run(&path, "docker_config_json", &Bytes::from_static(b"{\"ID\":\"x\",\"State\":{\"ExitCode\":99999999999999999999999,\"Pid\":\"12\"},\"RestartCount\":-1}"));
        let msgs: Vec<&str> = p.problems.iter().map(|q| q.message.as_str()).collect();
        assert_eq!(msgs.len(), 4, "{msgs:?}");
        assert!(msgs[0].contains("is not the one its path names"), "{msgs:?}");
        let c = record(&p);
        assert_eq!((c.exit_code, c.pid, c.restart_count), (None, None, None), "absurd values are not read as numbers");
        let p = run("cmd/docker-inspect.json", "docker_inspect_json", &Bytes::from_static(b"[{\"Id\":\"a\"},3,{}]"));
        assert_eq!((p.facts.len(), p.problems.len()), (1, 2), "{:?}", p.problems);
    }

    #[test]
    fn parsing_is_deterministic() {
        let raw = Bytes::from(std::fs::read(fixtures().join("docker-inspect.json")).expect("inspect"));
        let a = run("cmd/docker-inspect.json", "docker_inspect_json", &raw);
        let b = run("cmd/docker-inspect.json", "docker_inspect_json", &raw);
        assert_eq!(format!("{:?}", a.events), format!("{:?}", b.events));
    }
}
