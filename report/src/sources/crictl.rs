//! `crictl`'s JSON (the CRI API's messages as protobuf JSON, cri-api `runtime/v1` api.proto):
//! - [`Format::CrictlPsJson`]: `crictl ps -a -o json`, `{"containers": [Container…]}`: `id`, `metadata.name`,
//!   `metadata.attempt`, `image.image`, `state` (`CONTAINER_RUNNING`, `CONTAINER_EXITED`…), `createdAt`, and the
//!   kubelet's labels `io.kubernetes.pod.{name,namespace,uid}` and annotation
//!   `io.kubernetes.container.restartCount`. A [`ContainerRecord`] each, no events.
//! - [`Format::CrictlInspectJson`]: `crictl inspect` of containers, one JSON object per line,
//!   `{"status": ContainerStatus, "info": {…, "pid": N}}`: `startedAt`, `finishedAt`, `exitCode`, `reason`
//!   (`OOMKilled`, `Error`, `Completed`), `message`. A record and its start/exit events (`reason` the runtime's
//!   reason and message; `oom_killed` true only when the reason is `OOMKilled`).
//!
//! The runtime is not in the output: it is left empty (unknown), and the id (64 hex) is what joins these records
//! to a runtime's own. Times are int64 nanoseconds, which protobuf JSON writes as a string of digits, or RFC 3339:
//! both are read; 0 is "never".
//!
//! [`Format::CrictlPsJson`]: coroner_schemas::manifest::Format::CrictlPsJson
//! [`Format::CrictlInspectJson`]: coroner_schemas::manifest::Format::CrictlInspectJson

use bytes::Bytes;
use coroner_schemas::manifest::Format;
use coroner_schemas::{Origin, Text, Utc};
use serde_json::Value;

use super::containers::{self, lifecycle, preview, Problems, Reader};
use super::facts::{ContainerRecord, Fact};
use super::{ParseProblem, Parsed, SourceCtx};

pub fn parse(raw: &Bytes, ctx: &SourceCtx) -> Parsed {
    match ctx.entry.format {
        Format::CrictlPsJson => ps(raw, ctx),
        Format::CrictlInspectJson => inspect(raw, ctx),
        _ => Parsed::default(),
    }
}

/// A CRI time: nanoseconds as a number or a string of digits, or RFC 3339. 0 is `None`; anything else a problem.
fn cri_time(r: &mut Reader, v: &Value, key: &str) -> Option<Utc> {
    let x = v.get(key)?;
    let ns: Option<i128> = match x {
        Value::Number(n) => n.as_i64().map(i128::from),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s.parse().ok(),
        Value::String(_) => return r.time(v, &[key]),
        Value::Null => return None,
        _ => None,
    };
    match ns {
        Some(0) => None,
        Some(n) => Utc::from_unix_nanos(n),
        None => {
            r.problems.push(format!("{key} is not a CRI time: {}", preview(x.to_string().as_bytes())));
            None
        }
    }
}

/// What a CRI `Container` or `ContainerStatus` says: name, attempt, image, state, pod labels, restart count.
fn cri_record(r: &mut Reader, v: &Value, origin: Origin) -> Option<ContainerRecord> {
    let id = r.text(v, &["id"])?;
    let mut c = ContainerRecord::new("", &id, origin);
    c.name = r.text(v, &["metadata", "name"]);
    c.image = r.text(v, &["image", "userSpecifiedImage"]).or_else(|| r.text(v, &["image", "image"]));
    c.status = r.text(v, &["state"]);
    if let Some(l) = v.get("labels") {
        c.pod_name = r.text(l, &["io.kubernetes.pod.name"]);
        c.pod_namespace = r.text(l, &["io.kubernetes.pod.namespace"]);
        c.pod_uid = r.text(l, &["io.kubernetes.pod.uid"]);
    }
    c.restart_count = match v.get("annotations").and_then(|a| a.get("io.kubernetes.container.restartCount")).and_then(Value::as_str) {
        Some(n) => n.parse().ok(),
        None => r.u64(v, &["metadata", "attempt"]),
    };
    Some(c)
}

fn ps(raw: &Bytes, ctx: &SourceCtx) -> Parsed {
    let mut out = Parsed::default();
    let list = match serde_json::from_slice::<Value>(raw) {
        Ok(v) => match v.get("containers").and_then(Value::as_array) {
            Some(a) => a.clone(),
            None if v.get("containers").is_none() || v["containers"].is_null() => Vec::new(),
            None => {
                out.problems.push(ParseProblem::at_offset(ctx, 0, "crictl ps output's containers is not an array"));
                return out;
            }
        },
        Err(e) => {
            out.problems.push(ParseProblem::at_offset(ctx, 0, format!("crictl ps output is not whole JSON ({e}): {}", preview(raw))));
            return out;
        }
    };
    for (i, v) in list.iter().enumerate() {
        let mut r = Reader::default();
        let origin = Origin { entry: ctx.path.clone(), line: None, offset: Some(ctx.offset) };
        match cri_record(&mut r, v, origin) {
            Some(c) => out.facts.push(Fact::Container(c)),
            None => r.problems.push("no id: not read".into()),
        }
        for m in r.problems {
            out.problems.push(ParseProblem::at_offset(ctx, 0, format!("crictl ps container {i}: {m}")));
        }
    }
    out
}

fn inspect(raw: &Bytes, ctx: &SourceCtx) -> Parsed {
    let mut out = Parsed::default();
    let mut problems = Problems::new(ctx);
    // One object per line; a pretty-printed single object (crictl's default) is read whole.
    let whole = serde_json::from_slice::<Value>(raw).ok().filter(Value::is_object);
    let items: Vec<(u64, usize, Result<Value, String>)> = match whole {
        Some(v) => vec![(1, 0, Ok(v))],
        None => containers::lines(raw)
            .filter(|(_, _, l, _)| !l.iter().all(u8::is_ascii_whitespace))
            .map(|(n, start, l, _)| (n, start, serde_json::from_slice::<Value>(l).map_err(|e| format!("not JSON ({e}): {}", preview(l)))))
            .collect(),
    };
    for (n, start, item) in items {
        let v = match item {
            Ok(v) if v.get("status").is_some_and(Value::is_object) => v,
            Ok(_) => {
                problems.at_line(n, "crictl inspect object has no status");
                continue;
            }
            Err(why) => {
                problems.at_line(n, why);
                continue;
            }
        };
        let st = &v["status"];
        let mut r = Reader::default();
        let origin = Origin { entry: ctx.path.clone(), line: Some(n), offset: Some(ctx.offset + start as u64) };
        let Some(mut c) = cri_record(&mut r, st, origin.clone()) else {
            problems.at_line(n, "crictl inspect status has no id: not read");
            continue;
        };
        c.started = cri_time(&mut r, st, "startedAt");
        c.finished = cri_time(&mut r, st, "finishedAt");
        if c.finished.is_some() {
            c.exit_code = r.i64(st, &["exitCode"]).or(Some(0));
        }
        let reason = r.text(st, &["reason"]);
        if let Some(why) = &reason {
            c.oom_killed = Some(why == "OOMKilled");
        }
        c.pid = r.i64(&v, &["info", "pid"]).filter(|p| *p > 0);
        let error = match (reason, r.text(st, &["message"])) {
            (Some(a), Some(b)) => Some(format!("{a}: {b}")),
            (a, b) => a.or(b),
        };
        out.events.extend(lifecycle(&c, error.as_deref(), &Text::from_bytes(raw.get(start..).map_or(&[][..], |s| &s[..s.len().min(4096)])), &origin));
        out.facts.push(Fact::Container(c));
        for m in r.problems {
            problems.at_line(n, m);
        }
    }
    out.problems = problems.done();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::testing::{entry, manifest};
    use coroner_schemas::accounts::Accounts;
    use coroner_schemas::EventKind;
    use std::path::PathBuf;

    fn run(format: &str, raw: &[u8]) -> Parsed {
        let m = manifest();
        let a = Accounts::default();
        let e = entry("cmd/crictl.json", "crictl", "containers", format);
        parse(&Bytes::copy_from_slice(raw), &SourceCtx::new(&e, &m, &a))
    }

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/containers/crictl").join(name)).expect("fixture")
    }

    #[test]
    fn crictl_ps_and_inspect() {
        let p = run("crictl_ps_json", &fixture("ps.json"));
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        let recs: Vec<&ContainerRecord> = p.facts.iter().filter_map(|f| match f { Fact::Container(c) => Some(c), _ => None }).collect();
        assert_eq!(recs.len(), 2);
        assert_eq!((recs[0].name.as_deref(), recs[0].restart_count, recs[0].pod_name.as_deref(), recs[0].status.as_deref()), (Some("web"), Some(2), Some("web-5d9c7b7f4-x2x9q"), Some("CONTAINER_EXITED")));
        let p = run("crictl_inspect_json", &fixture("inspect.jsonl"));
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        let kinds: Vec<EventKind> = p.events.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [EventKind::ContainerStart, EventKind::ContainerExit, EventKind::ContainerStart, EventKind::ContainerExit]);
        let oom = &p.events[3];
        assert_eq!(oom.fields.get("oom_killed").and_then(|v| v.as_bool()), Some(true));
        assert_eq!(oom.fields.get("exit_code").and_then(|v| v.as_i64()), Some(137));
        assert_eq!(oom.fields.get("reason").and_then(|v| v.as_str()), Some("OOMKilled"));
        assert_eq!(p.events[1].timestamp.sort_key().map(|t| t.rfc3339()).as_deref(), Some("2026-11-27T10:00:52.506131Z"), "nanoseconds as a string");
    }

    #[test]
    fn bad_crictl_output_is_a_problem() {
        assert!(!run("crictl_ps_json", b"{").problems.is_empty());
        assert!(!run("crictl_ps_json", b"{\"containers\":3}").problems.is_empty());
        assert_eq!(run("crictl_ps_json", b"{\"containers\":[{}]}").problems.len(), 1);
        let p = run("crictl_inspect_json", b"{\"status\":{\"id\":\"a\",\"finishedAt\":\"soon\"}}\nnot json\n{\"info\":{}}\n");
        assert_eq!(p.problems.len(), 3, "{:?}", p.problems);
    }
}
