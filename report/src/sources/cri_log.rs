//! Kubernetes' container logs on a node:
//! - [`Format::CriLog`]: `/var/log/pods/<namespace>_<pod>_<uid>/<container>/<restart>.log` (and its rotations,
//!   `<restart>.log.<time>`), written by the runtime in the CRI log format (kubelet `kuberuntime/logs`
//!   `parseCRILog`): `TIME STREAM TAG MESSAGE`, TIME RFC 3339 with nanoseconds, STREAM `stdout`/`stderr`, TAG `F`
//!   (full line) or `P` (partial: a long line cut by the runtime, continued by the next `P`/`F` line of that
//!   stream). Each full line is a `log` event of source `container` with the pod, container and restart count the
//!   path gives (namespaces and pod names cannot hold `_`, so the folder splits exactly). When the collector kept
//!   only the tail, a first line that does not parse is its cut: a problem recorded as the collector's.
//! - [`Format::ContainerLogLinks`]: `/var/log/containers/<pod>_<namespace>_<container>-<id>.log` link names and
//!   targets, as a JSON array of `{"name","target"}`: a [`ContainerRecord`] per link (pod, namespace, container
//!   name, the 64-hex id; the pod uid and restart count from a `/var/log/pods/…` target). The name does not say
//!   which runtime: `runtime` is `docker` when the target is Docker's json-file log, else empty (unknown). No
//!   events: a link is not an event in time.
//!
//! [`Format::CriLog`]: coroner_schemas::manifest::Format::CriLog
//! [`Format::ContainerLogLinks`]: coroner_schemas::manifest::Format::ContainerLogLinks

use bytes::Bytes;
use coroner_schemas::manifest::Format;
use coroner_schemas::{Event, EventKind, Origin, Source, Text, Timestamp, Utc};
use serde_json::Value;

use super::container_ids::is_id;
use super::containers::{self, entry_path, kept_tail, preview, Problems};
use super::facts::{ContainerRecord, Fact};
use super::kernel_lines::cap_message;
use super::{ParseProblem, Parsed, SourceCtx};

pub fn parse(raw: &Bytes, ctx: &SourceCtx) -> Parsed {
    match ctx.entry.format {
        Format::CriLog => cri_log(raw, ctx),
        Format::ContainerLogLinks => links(raw, ctx),
        _ => Parsed::default(),
    }
}

/// Who a pod log's path names: namespace, pod, uid, container, restart count.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PodLogPath {
    pub namespace: String,
    pub pod: String,
    pub uid: String,
    pub container: String,
    pub restart: Option<u64>,
}

/// `…/pods/<ns>_<pod>_<uid>/<container>/<n>.log[.<rotation>]`.
pub fn pod_log_path(path: &str) -> Option<PodLogPath> {
    let mut parts = path.rsplit('/');
    let file = parts.next()?;
    let container = parts.next()?;
    let folder = parts.next()?;
    let mut f = folder.splitn(3, '_');
    let (namespace, pod, uid) = (f.next()?, f.next()?, f.next()?);
    if namespace.is_empty() || pod.is_empty() || uid.is_empty() || container.is_empty() {
        return None;
    }
    let restart = file.split_once(".log").and_then(|(n, _)| n.parse().ok());
    Some(PodLogPath { namespace: namespace.into(), pod: pod.into(), uid: uid.into(), container: container.into(), restart })
}

/// One CRI log line: time, stream, whether it is a whole line (`F`) or a piece (`P`), the message.
fn cri_line(line: &[u8]) -> Result<(Utc, &str, bool, &[u8]), String> {
    let mut it = line.splitn(4, |&b| b == b' ');
    let (t, stream, tag) = (it.next().unwrap_or(&[]), it.next(), it.next());
    let msg = it.next().unwrap_or(&[]);
    let t = std::str::from_utf8(t).ok().and_then(Utc::parse_rfc3339).ok_or_else(|| format!("no RFC 3339 time at the start: {}", preview(line)))?;
    let stream = stream.and_then(|s| std::str::from_utf8(s).ok()).filter(|s| matches!(*s, "stdout" | "stderr")).ok_or_else(|| format!("no stdout/stderr stream: {}", preview(line)))?;
    // The tag is `F` or `P`, possibly with more tags after `:` (none defined yet).
    let tag = tag.and_then(|t| std::str::from_utf8(t).ok()).map(|t| t.split(':').next().unwrap_or(""));
    let full = match tag {
        Some("F") => true,
        Some("P") => false,
        _ => return Err(format!("no F/P tag: {}", preview(line))),
    };
    Ok((t, stream, full, msg))
}

fn cri_log(raw: &Bytes, ctx: &SourceCtx) -> Parsed {
    let mut out = Parsed::default();
    let mut problems = Problems::new(ctx);
    let who = pod_log_path(entry_path(ctx));
    if who.is_none() {
        problems.push(ParseProblem::at_offset(ctx, 0, "the log's path is not /var/log/pods/<namespace>_<pod>_<uid>/<container>/<n>.log: its lines are kept without a pod"));
    }
    let tail = kept_tail(ctx);
    // Pieces of a partial line, per stream: (first line's number, its offset, time, text so far).
    let mut open: Vec<(String, u64, usize, Utc, Vec<u8>)> = Vec::new();
    let emit = |out: &mut Parsed, line: u64, start: usize, end: usize, t: Utc, stream: &str, msg: &[u8]| {
        let text = String::from_utf8_lossy(msg);
        let origin = Origin { entry: ctx.path.clone(), line: Some(line), offset: Some(ctx.offset + start as u64) };
        let mut e = Event::new(Timestamp::Exact { utc: t }, Source::Container, EventKind::Log, cap_message(&text), Text::shared(raw.slice(start..end)), origin);
        e.fields.insert("stream".into(), stream);
        if let Some(w) = &who {
            e.fields.insert("pod_namespace".into(), w.namespace.as_str());
            e.fields.insert("pod_name".into(), w.pod.as_str());
            e.fields.insert("pod_uid".into(), w.uid.as_str());
            e.fields.insert("container_name".into(), w.container.as_str());
            if let Some(r) = w.restart {
                e.fields.insert("restart_count".into(), r);
            }
        }
        out.events.push(e);
    };
    for (n, start, line, complete) in containers::lines(raw) {
        if line.is_empty() {
            continue;
        }
        let (t, stream, full, msg) = match cri_line(line) {
            Ok(x) => x,
            Err(why) => {
                problems.bad_line(n, tail, complete, why);
                continue;
            }
        };
        let end = start + line.len();
        match open.iter().position(|(s, ..)| s == stream) {
            Some(i) => {
                open[i].4.extend_from_slice(msg);
                if full {
                    let (s, first, at, t0, text) = open.remove(i);
                    emit(&mut out, first, at, end, t0, &s, &text);
                }
            }
            None if full => emit(&mut out, n, start, end, t, stream, msg),
            None => open.push((stream.to_owned(), n, start, t, msg.to_vec())),
        }
    }
    // Pieces never finished (the file ends mid-line): kept, as what was written.
    for (s, first, at, t0, text) in std::mem::take(&mut open) {
        problems.at_line(first, "a partial (P) line has no final (F) piece: kept as written");
        emit(&mut out, first, at, raw.len(), t0, &s, &text);
    }
    out.problems = problems.done();
    out
}

/// `<pod>_<namespace>_<container>-<id>.log` → (pod, namespace, container, id).
fn link_name(name: &str) -> Option<(&str, &str, &str, &str)> {
    let stem = name.rsplit('/').next()?.strip_suffix(".log")?;
    let (rest, id) = stem.rsplit_once('-')?;
    if !is_id(id) {
        return None;
    }
    let mut f = rest.splitn(3, '_');
    let (pod, ns, container) = (f.next()?, f.next()?, f.next()?);
    (!pod.is_empty() && !ns.is_empty() && !container.is_empty()).then_some((pod, ns, container, id))
}

fn links(raw: &Bytes, ctx: &SourceCtx) -> Parsed {
    let mut out = Parsed::default();
    let items: Vec<Value> = match serde_json::from_slice(raw) {
        Ok(Value::Array(a)) => a,
        Ok(_) => {
            out.problems.push(ParseProblem::at_offset(ctx, 0, "the container log links are not a JSON array"));
            return out;
        }
        Err(e) => {
            out.problems.push(ParseProblem::at_offset(ctx, 0, format!("the container log links are not whole JSON ({e}): {}", preview(raw))));
            return out;
        }
    };
    for (i, item) in items.iter().enumerate() {
        let name = item.get("name").and_then(Value::as_str);
        let target = item.get("target").and_then(Value::as_str);
        let Some((pod, ns, container, id)) = name.and_then(link_name) else {
            out.problems.push(ParseProblem::at_offset(ctx, 0, format!("link {i} is not named <pod>_<namespace>_<container>-<id>.log: {}", preview(item.to_string().as_bytes()))));
            continue;
        };
        let runtime = match target {
            Some(t) if t.contains("/containers/") && t.ends_with("-json.log") => "docker",
            _ => "",
        };
        let mut c = ContainerRecord::new(runtime, id, Origin { entry: ctx.path.clone(), line: None, offset: Some(ctx.offset) });
        c.name = Some(container.to_owned());
        c.pod_name = Some(pod.to_owned());
        c.pod_namespace = Some(ns.to_owned());
        if let Some(p) = target.and_then(pod_log_path).filter(|p| p.namespace == ns && p.pod == pod) {
            c.pod_uid = Some(p.uid);
            c.restart_count = p.restart;
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

    const UID: &str = "3f8e9a52-6b1d-4c1e-9a7e-2b5f0c1d4e6a";

    fn run(path: &str, format: &str, raw: &[u8]) -> Parsed {
        let m = manifest();
        let a = Accounts::default();
        let e = entry(&format!("fs{path}"), path, "containers", format);
        parse(&Bytes::copy_from_slice(raw), &SourceCtx::new(&e, &m, &a))
    }

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/containers/kubelet").join(name)).expect("fixture")
    }

    #[test]
    fn pod_log_lines_carry_their_pod_and_partial_lines_are_joined() {
        let path = format!("/var/log/pods/default_web-5d9c7b7f4-x2x9q_{UID}/web/2.log");
        let p = run(&path, "cri_log", &fixture("pod-web-2.log"));
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        let msgs: Vec<&str> = p.events.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(msgs, ["listening on :8080", "GET /healthz took 4.2s: upstream cache slow, retrying with a longer deadline", "fatal: heap exhausted"]);
        let e = &p.events[1];
        assert_eq!((e.fields.get("pod_name").and_then(|v| v.as_str()), e.fields.get("container_name").and_then(|v| v.as_str())), (Some("web-5d9c7b7f4-x2x9q"), Some("web")));
        assert_eq!((e.fields.get("restart_count").and_then(|v| v.as_i64()), e.fields.get("pod_uid").and_then(|v| v.as_str())), (Some(2), Some(UID)));
        assert_eq!(e.origin.line, Some(2), "a joined line points at its first piece");
        assert_eq!(p.events[2].fields.get("stream").and_then(|v| v.as_str()), Some("stderr"));
    }

    #[test]
    fn bad_cri_lines_are_problems() {
        let path = format!("/var/log/pods/default_web_{UID}/web/0.log");
        let p = run(&path, "cri_log", b"garbage\n2026-11-27T10:00:00Z stdin F x\n2026-11-27T10:00:00Z stdout Q x\n2026-11-27T10:00:01Z stdout P never ended\n\xff\xfe\n");
        assert_eq!(p.problems.len(), 5, "{:?}", p.problems);
        assert_eq!(p.events.len(), 1, "the unfinished partial line is kept");
        let p = run("/var/log/odd.log", "cri_log", b"2026-11-27T10:00:00Z stdout F x\n");
        assert_eq!((p.events.len(), p.problems.len()), (1, 1));
    }

    #[test]
    fn links_give_container_records() {
        let p = run("/var/log/containers", "container_log_links", &fixture("containers-links.json"));
        assert_eq!(p.problems.len(), 1, "{:?}", p.problems);
        let recs: Vec<&ContainerRecord> = p.facts.iter().filter_map(|f| match f { Fact::Container(c) => Some(c), _ => None }).collect();
        assert_eq!(recs.len(), 2);
        let web = recs[0];
        assert_eq!((web.name.as_deref(), web.pod_name.as_deref(), web.pod_namespace.as_deref(), web.pod_uid.as_deref(), web.restart_count), (Some("web"), Some("web-5d9c7b7f4-x2x9q"), Some("default"), Some(UID), Some(2)));
        assert_eq!((web.runtime.as_str(), web.id.len()), ("", 64));
        assert!(p.events.is_empty());
        assert!(!run("/x", "container_log_links", b"{").problems.is_empty());
    }
}
