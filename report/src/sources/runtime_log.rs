//! A container runtime daemon's own log ([`Format::RuntimeLog`]): logrus text lines,
//! `time="2026-12-04T10:00:00.123456789Z" level=info msg="…" key=value…` (logrus `TextFormatter`: a value that
//! needs quoting is Go-quoted with `%q`). containerd, dockerd and CRI-O write this form. Every line is a `log`
//! event of source `container` (exact time: logrus writes RFC 3339 with its zone); these are recognised
//! ([`classify`], also used for the journal's and syslog's lines of `containerd`, `dockerd` and `crio`):
//! - containerd's CRI plugin (`internal/cri/server/events.go`, `pkg/cri/server/events.go` before 2.0,
//!   `handleEvent`): `TaskOOM event %+v` → `container_oom`; `TaskExit event %+v` → `container_exit` (`exit_code`
//!   is `ExitStatus`, `pid` the task's). The event prints as gogo protobuf text before containerd 2.0
//!   (`&TaskOOM{ContainerID:ID,XXX_unrecognized:[],}`, `&TaskExit{ContainerID:…,ID:…,Pid:…,ExitStatus:137,…}`)
//!   and as protobuf text from 2.0 (`container_id:"ID"`, `exit_status:137`): both are read. A TaskExit whose `ID`
//!   is not its container's is an exec'd process's exit, not the container's: kept as a `log` event.
//! - containerd's CRI `StopContainer for "ID" with timeout N (s)` (`container_stop.go` `StopContainer`) →
//!   `container_stop` with `grace_period_s`; `Stop container "ID" with signal S` (`stopContainer`) →
//!   `container_stop` with `signal` (Go's signal text, `terminated`, read as its number).
//! - dockerd (moby `daemon/stop.go`): `Container failed to exit within Ns of signal S - using the force`
//!   (field `container=ID`) → `container_stop` with `signal` 9 (the force is SIGKILL), `grace_period_s` N and
//!   `reason` the text.
//!
//! A line that is not logrus (a Go panic's stack, a shim's plain output) is kept as a `log` event placed between
//! the dated lines around it (`Timestamp::Bounded`).
//!
//! [`Format::RuntimeLog`]: coroner_schemas::manifest::Format::RuntimeLog

use coroner_schemas::{Event, EventKind, Origin, Source, Text, Timestamp, Utc};
use serde_json::json;

use super::containers::{self, Problems};
use super::kernel_lines::{cap_message, Classified};
use super::kubelet::go_unquote;
use super::{Parsed, SourceCtx};

/// A logrus line's `key=value` pairs, values unquoted. `None`: not a logrus line (no `level=` and `msg=`).
pub fn fields(line: &str) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut rest = line.trim();
    while !rest.is_empty() {
        let eq = rest.find('=')?;
        let key = &rest[..eq];
        if key.is_empty() || key.contains(' ') {
            return None;
        }
        let after = &rest[eq + 1..];
        let (value, next) = if after.starts_with('"') {
            let (v, n) = go_unquote(after)?;
            (String::from_utf8_lossy(&v).into_owned(), n)
        } else {
            let end = after.find(' ').unwrap_or(after.len());
            (after[..end].to_owned(), &after[end..])
        };
        out.push((key.to_owned(), value));
        rest = next.trim_start_matches(' ');
    }
    let has = |k: &str| out.iter().any(|(key, _)| key == k);
    (has("level") && has("msg")).then_some(out)
}

fn get<'a>(kv: &'a [(String, String)], k: &str) -> Option<&'a str> {
    kv.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str())
}

/// `Name:value` (gogo text, `,` separated) or `name:value` (protobuf text, space separated, strings quoted) in
/// a printed event.
fn proto_field(text: &str, gogo: &str, proto: &str) -> Option<String> {
    // Gogo text: the field starts after `{` or `,` (`ID:` inside `ContainerID:` is not `ID`).
    let mut from = 0;
    while let Some(i) = text[from..].find(&format!("{gogo}:")) {
        let at = from + i;
        if at > 0 && matches!(text.as_bytes()[at - 1], b'{' | b',') {
            let v = &text[at + gogo.len() + 1..];
            let end = v.find([',', '}']).unwrap_or(v.len());
            return Some(v[..end].to_owned()).filter(|s| !s.is_empty());
        }
        from = at + gogo.len() + 1;
    }
    // Protobuf text: the field name must start a token (`id:` inside `container_id:` is not `id`).
    let mut from = 0;
    while let Some(i) = text[from..].find(&format!("{proto}:")) {
        let at = from + i;
        if at == 0 || text.as_bytes()[at - 1] == b' ' {
            let v = text[at + proto.len() + 1..].trim_start();
            return match go_unquote(v) {
                Some((b, _)) => Some(String::from_utf8_lossy(&b).into_owned()),
                None => Some(v.split([' ', '}']).next().unwrap_or("").to_owned()).filter(|s| !s.is_empty()),
            };
        }
        from = at + proto.len() + 1;
    }
    None
}

/// Go's `syscall.Signal.String()` texts (strsignal's) for the signals a stop sends, as numbers.
fn go_signal(s: &str) -> Option<i64> {
    Some(match s {
        "hangup" => 1,
        "interrupt" => 2,
        "quit" => 3,
        "killed" => 9,
        "user defined signal 1" => 10,
        "user defined signal 2" => 12,
        "terminated" => 15,
        _ => return s.strip_prefix("signal ").and_then(|n| n.parse().ok()),
    })
}

fn signal(c: &mut Classified, n: i64) {
    c.fields.insert("signal".into(), json!(n));
    if let Some(name) = super::signals::name(n) {
        c.fields.insert("signal_name".into(), json!(name));
    }
}

/// A logrus message (and the line's other fields) → what it says, when it is one of the lines in the module doc.
pub fn classify(msg: &str, kv: &[(String, String)]) -> Option<Classified> {
    if let Some(ev) = msg.strip_prefix("TaskOOM event ") {
        let id = proto_field(ev, "ContainerID", "container_id")?;
        let mut c = Classified::new(EventKind::ContainerOom);
        c.fields.insert("runtime".into(), json!("containerd"));
        c.fields.insert("container_id".into(), json!(id));
        c.summary = Some(format!("containerd: OOM event for container {id}"));
        return Some(c);
    }
    if let Some(ev) = msg.strip_prefix("TaskExit event ") {
        let cid = proto_field(ev, "ContainerID", "container_id")?;
        let id = proto_field(ev, "ID", "id");
        if id.as_deref().is_some_and(|i| i != cid) {
            return None;
        }
        let mut c = Classified::new(EventKind::ContainerExit);
        c.fields.insert("runtime".into(), json!("containerd"));
        c.fields.insert("container_id".into(), json!(cid));
        c.pid = proto_field(ev, "Pid", "pid").and_then(|p| p.parse().ok()).filter(|p: &i64| *p > 0);
        let code = proto_field(ev, "ExitStatus", "exit_status").and_then(|p| p.parse::<i64>().ok()).unwrap_or(0);
        // Both printers leave out a zero exit status (protobuf text omits default values).
        c.fields.insert("exit_code".into(), json!(code));
        c.summary = Some(format!("containerd: task of container {cid} exited with status {code}"));
        return Some(c);
    }
    if let Some(rest) = msg.strip_prefix("StopContainer for ") {
        let (id, tail) = go_unquote(rest)?;
        let id = String::from_utf8_lossy(&id).into_owned();
        let secs: i64 = tail.strip_prefix(" with timeout ")?.strip_suffix(" (s)")?.parse().ok()?;
        let mut c = Classified::new(EventKind::ContainerStop);
        c.fields.insert("runtime".into(), json!("containerd"));
        c.fields.insert("container_id".into(), json!(id));
        c.fields.insert("grace_period_s".into(), json!(secs));
        c.summary = Some(format!("containerd: StopContainer {id} with timeout {secs} s"));
        return Some(c);
    }
    if let Some(rest) = msg.strip_prefix("Stop container ") {
        let (id, tail) = go_unquote(rest)?;
        let id = String::from_utf8_lossy(&id).into_owned();
        let sig = tail.strip_prefix(" with signal ")?;
        let mut c = Classified::new(EventKind::ContainerStop);
        c.fields.insert("runtime".into(), json!("containerd"));
        c.fields.insert("container_id".into(), json!(id));
        if let Some(n) = go_signal(sig) {
            signal(&mut c, n);
        }
        c.summary = Some(format!("containerd: stop container {id} with signal {sig}"));
        return Some(c);
    }
    if let Some(rest) = msg.strip_prefix("Container failed to exit within ") {
        let (within, tail) = rest.split_once(" of signal ")?;
        let sent: i64 = tail.strip_suffix(" - using the force")?.parse().ok()?;
        let mut c = Classified::new(EventKind::ContainerStop);
        c.fields.insert("runtime".into(), json!("docker"));
        if let Some(id) = get(kv, "container") {
            c.fields.insert("container_id".into(), json!(id));
        }
        if let Some(s) = within.strip_suffix('s').and_then(|s| s.parse::<i64>().ok()).or_else(|| within.strip_suffix(" seconds").and_then(|s| s.parse().ok())) {
            c.fields.insert("grace_period_s".into(), json!(s));
        }
        signal(&mut c, 9);
        c.fields.insert("reason".into(), json!(format!("failed to exit within {within} of signal {sent}")));
        c.summary = Some(format!("dockerd: container {} did not exit within {within} of signal {sent}: killed (SIGKILL)", get(kv, "container").unwrap_or("?")));
        return Some(c);
    }
    None
}

/// A journal or syslog line of a runtime daemon: its MESSAGE is a whole logrus line.
pub fn classify_line(message: &str) -> Option<Classified> {
    let kv = fields(message)?;
    classify(get(&kv, "msg")?, &kv)
}

pub fn parse(raw: &[u8], ctx: &SourceCtx) -> Parsed {
    let mut out = Parsed::default();
    let mut problems = Problems::new(ctx);
    // Events of lines with no time of their own, waiting for the next dated line to bound them.
    let mut undated: Vec<usize> = Vec::new();
    let mut last: Option<Utc> = None;
    for (n, start, line, _) in containers::lines(raw) {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let text = String::from_utf8_lossy(line);
        let origin = Origin { entry: ctx.path.clone(), line: Some(n), offset: Some(ctx.offset + start as u64) };
        let kv = fields(&text);
        let when = kv.as_ref().and_then(|kv| get(kv, "time")).map(|t| (t, Utc::parse_rfc3339(t)));
        let ts = match when {
            Some((_, Some(t))) => {
                for i in undated.drain(..) {
                    if let Some(ts) = out.events.get_mut(i).map(|e| &mut e.timestamp) {
                        if let Timestamp::Bounded { after, .. } = *ts {
                            *ts = super::bounded(after, Some(t));
                        }
                    }
                }
                last = Some(t);
                Timestamp::Exact { utc: t }
            }
            Some((bad, None)) => {
                problems.at_line(n, format!("logrus time {bad:?} is not an RFC 3339 time: the line is placed between its neighbours"));
                undated.push(out.events.len());
                Timestamp::Bounded { after: last, before: None }
            }
            None => {
                undated.push(out.events.len());
                Timestamp::Bounded { after: last, before: None }
            }
        };
        let msg = kv.as_ref().and_then(|kv| get(kv, "msg")).unwrap_or(&text).to_owned();
        let mut e = Event::new(ts, Source::Container, EventKind::Log, cap_message(msg.trim_end()), Text::from_bytes(line), origin);
        if let Some(kv) = &kv {
            if let Some(level) = get(kv, "level") {
                let sev = match level {
                    "panic" | "fatal" => 2,
                    "error" => 3,
                    "warning" | "warn" => 4,
                    "info" => 6,
                    _ => 7,
                };
                e.fields.insert("severity".into(), sev);
            }
            if let Some(c) = classify(&msg, kv) {
                c.apply(&mut e, ctx.accounts);
            }
        }
        out.events.push(e);
    }
    out.problems = problems.done();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::testing::{entry, manifest};
    use coroner_schemas::accounts::Accounts;
    use std::path::PathBuf;

    fn run(raw: &[u8]) -> Parsed {
        let m = manifest();
        let a = Accounts::default();
        let e = entry("fs/var/log/containerd.log", "/var/log/containerd.log", "containers", "runtime_log");
        parse(raw, &SourceCtx::new(&e, &m, &a))
    }

    fn fixture(path: &str) -> Vec<u8> {
        std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/containers").join(path)).expect("fixture")
    }

    fn f<'a>(e: &'a Event, k: &str) -> Option<&'a str> {
        e.fields.get(k).and_then(|v| v.as_str())
    }

    #[test]
    fn the_real_dockerd_log_gives_the_forced_stop_of_the_stopper() {
        let p = run(&fixture("docker/dockerd.log"));
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        assert!(p.events.len() > 100);
        let stops: Vec<&Event> = p.events.iter().filter(|e| e.kind == EventKind::ContainerStop).collect();
        let [stop] = stops.as_slice() else { panic!("{stops:?}") };
        assert_eq!(f(stop, "container_id"), Some("6091bdcc6c0f3040127a7e60e90a78bce03d4e5db443eedba04f1d938f381d01"));
        assert_eq!((stop.fields.get("signal").and_then(|v| v.as_i64()), stop.fields.get("grace_period_s").and_then(|v| v.as_i64())), (Some(9), Some(2)));
        assert_eq!(f(stop, "reason"), Some("failed to exit within 2s of signal 15"));
        assert_eq!(stop.timestamp.sort_key().map(|t| t.rfc3339()).as_deref(), Some("2026-12-05T21:26:24.341569Z"));
        assert_eq!(stop.source, Source::Container);
    }

    #[test]
    fn containerd_cri_lines_in_both_printers_shapes() {
        let p = run(&fixture("containerd/containerd.log"));
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        let got: Vec<(&str, Option<&str>, Option<i64>)> = p
            .events
            .iter()
            .filter(|e| e.kind != EventKind::Log)
            .map(|e| (e.kind.as_str(), f(e, "container_id").map(|i| &i[..12]), e.fields.get("exit_code").or(e.fields.get("grace_period_s")).or(e.fields.get("signal")).and_then(|v| v.as_i64())))
            .collect();
        assert_eq!(
            got,
            [
                ("container_stop", Some("9f2c4e6a8b0d"), Some(30)),
                ("container_stop", Some("9f2c4e6a8b0d"), Some(15)),
                ("container_exit", Some("9f2c4e6a8b0d"), Some(137)),
                ("container_oom", Some("6e1f3a5c7b9d"), None),
                ("container_exit", Some("6e1f3a5c7b9d"), Some(137)),
                ("container_oom", Some("1b3d5f7a9c2e"), None),
                ("container_exit", Some("1b3d5f7a9c2e"), Some(137)),
            ]
        );
        let exit = p.events.iter().find(|e| e.kind == EventKind::ContainerExit).expect("exit");
        assert_eq!(exit.pid, Some(48213));
        // An exec'd process's exit (ID is not the container's) is not the container's exit.
        assert!(p.events.iter().any(|e| e.kind == EventKind::Log && e.message.starts_with("TaskExit event")));
    }

    #[test]
    fn lines_that_are_not_logrus_are_placed_between_their_neighbours_and_bad_times_are_problems() {
        let raw = b"time=\"2026-12-04T10:00:00Z\" level=info msg=a\npanic: boom\n\ngoroutine 1 [running]:\ntime=\"yesterday\" level=info msg=b\ntime=\"2026-12-04T10:00:02+01:00\" level=error msg=\"c \\\"q\\\"\"\n\xff\xfe\ntime=\"2026-12-04T10:00:0";
        let p = run(raw);
        assert_eq!(p.events.len(), 7);
        assert_eq!(p.problems.len(), 1, "{:?}", p.problems);
        let Timestamp::Bounded { after, before } = &p.events[1].timestamp else { panic!("{:?}", p.events[1].timestamp) };
        // The neighbours step back (10:00:00Z, then 10:00:02+01:00): the bounds are ordered, spanning both.
        assert_eq!((after.map(|t| t.rfc3339()), before.map(|t| t.rfc3339())), (Some("2026-12-04T09:00:02.000000Z".into()), Some("2026-12-04T10:00:00.000000Z".into())));
        assert_eq!(p.events[4].message, "c \"q\"");
        assert_eq!(p.events[4].fields.get("severity").and_then(|v| v.as_i64()), Some(3));
        assert_eq!(run(b"").events.len(), 0);
    }

    #[test]
    fn a_one_megabyte_line_is_read_quickly() {
        let mut line = String::from("time=\"2026-12-04T10:00:00Z\" level=info msg=\"");
        line.push_str(&"a \\\" ".repeat(150_000));
        line.push_str("\" x=1\n");
        let t = std::time::Instant::now();
        let p = run(line.as_bytes());
        assert_eq!((p.events.len(), p.problems.len()), (1, 0));
        assert!(t.elapsed() < std::time::Duration::from_secs(2), "{:?}", t.elapsed());
    }
}
