//! The kubelet's log ([`Format::KubeletLog`], klog text) and its config ([`Format::KubeletConfigYaml`]).
//!
//! A klog line is `Lmmdd hh:mm:ss.uuuuuu PID file:line] MSG` (level `I`/`W`/`E`/`F`). A structured line's MSG is a
//! Go-quoted string followed by ` key=value` pairs (klog `internal/serialize` `KVListFormat`): a string, Stringer
//! or error value is Go-quoted (`strconv.Quote`, unquoted here), any other value is `%+v` text (`gracePeriod=30`,
//! `pods=[ns/a]`), and a string holding a newline is written `key=<` then each line tab-indented, then ` >`:
//! those continuation lines belong to the line above. The same classifier reads kubelet lines that came through
//! the journal or syslog ([`classify`], called from [`daemon_lines`](super::daemon_lines)), where MESSAGE holds
//! the klog header.
//!
//! Lines recognised (each shape checked against kubernetes `pkg/kubelet`; see fixtures/containers/kubelet):
//! - `"Probe failed" probeType= pod= podUID= containerName= probeResult= output=` (prober/prober.go `runProbe`…
//!   `probe`) → `probe_failed`;
//! - `"Killing container with a grace period" pod= podUID= containerName= containerID="containerd://ID"
//!   gracePeriod=N` (kuberuntime/kuberuntime_container.go `killContainer`; also its `… grace period override`
//!   form) → `container_stop` (`runtime` from the id's scheme, `grace_period_s`);
//! - `"Evicting pod" pod= podUID= message=` and `"Eviction manager: pod is evicted successfully" pod=`
//!   (eviction/eviction_manager.go `evictPod`) → `pod_evicted` (`reason` the eviction message);
//! - `"SyncLoop DELETE" source= pods=[…]` (kubelet.go `syncLoopIteration`) → one `pod_deleted` per pod named;
//! - `"Preempting pod to free up resources" pod= podUID= insufficientResources=` (preemption/preemption.go
//!   `HandleAdmissionFailure`) → `pod_deleted` with `reason` `preempted`;
//! - `"Generic (PLEG): container finished" podID= containerID= exitCode=` (pleg/generic.go `Relist`) →
//!   `container_exit`;
//! - `"Got sys oom event" event=&{Pid:… ProcessName:… …}` (oom/oom_watcher_linux.go `Start`): the kubelet saw a
//!   kernel OOM kill whose victim was in the root cgroup `/`, i.e. outside any container (that is the only case it
//!   logs, and its `SystemOOM` node event "System OOM encountered" is not written to its log). A `log` event with
//!   the victim's `pid` and `comm`: it is not a container's OOM, and the kernel's own line is the record of the kill.
//!
//! A klog line has no year: it is taken from the entry's mtime (else the collection time), walking back from the
//! last line as syslog does, and the time is read in the host's UTC offset at collection (klog writes local time):
//! both assumptions are stated on each `Timestamp::Inferred`.
//!
//! [`Format::KubeletLog`]: coroner_schemas::manifest::Format::KubeletLog
//! [`Format::KubeletConfigYaml`]: coroner_schemas::manifest::Format::KubeletConfigYaml

use coroner_schemas::manifest::Format;
use coroner_schemas::{Event, EventKind, Origin, Source, Text, Timestamp, Utc};
use serde_json::json;

use super::containers::{self, preview, Problems};
use super::kernel_lines::{cap_message, Classified};
use super::kmsg::fmt_offset;
use super::{ParseProblem, Parsed, SourceCtx};

pub fn parse(raw: &[u8], ctx: &SourceCtx) -> Parsed {
    match ctx.entry.format {
        Format::KubeletLog => log(raw, ctx),
        Format::KubeletConfigYaml => config(raw, ctx),
        _ => Parsed::default(),
    }
}

/// A klog header: severity, month, day, seconds of day, nanoseconds, pid, `file:line`, and the message after `] `.
#[derive(Debug, PartialEq)]
pub struct Header<'a> {
    pub level: char,
    pub month: u8,
    pub day: u8,
    pub secs: u32,
    pub nanos: u32,
    pub pid: i64,
    pub source: &'a str,
    pub msg: &'a str,
}

/// `I1204 10:00:00.123456    1234 prober.go:107] msg`.
pub fn header(line: &str) -> Option<Header<'_>> {
    let b = line.as_bytes();
    let level = *b.first()? as char;
    if !matches!(level, 'I' | 'W' | 'E' | 'F') {
        return None;
    }
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    let date = line.get(1..5).filter(|d| digits(d))?;
    let (month, day): (u8, u8) = (date[..2].parse().ok()?, date[2..].parse().ok()?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let rest = line.get(5..)?.strip_prefix(' ')?;
    let (clock, rest) = rest.split_once(' ')?;
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
    let mut parts = hms.split(':');
    let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || ![h, m, s].iter().all(|p| p.len() == 2 && digits(p)) || !(frac.is_empty() || (digits(frac) && frac.len() <= 9)) {
        return None;
    }
    let (h, m, s): (u32, u32, u32) = (h.parse().ok()?, m.parse().ok()?, s.parse().ok()?);
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    let nanos = if frac.is_empty() { 0 } else { format!("{frac:0<9}").parse().ok()? };
    let rest = rest.trim_start_matches(' ');
    let (pid, rest) = rest.split_once(' ')?;
    let pid = pid.parse().ok().filter(|p: &i64| *p >= 0)?;
    let (source, msg) = rest.split_once("] ").or_else(|| rest.strip_suffix(']').map(|s| (s, "")))?;
    if source.contains(' ') {
        return None;
    }
    Some(Header { level, month, day, secs: h * 3600 + m * 60 + s, nanos, pid, source, msg })
}

/// Go's `strconv.Unquote` of a double-quoted string at the start of `s`: the bytes and the rest after the
/// closing quote. `None`: not a whole quoted string.
pub fn go_unquote(s: &str) -> Option<(Vec<u8>, &str)> {
    let body = s.strip_prefix('"')?;
    let mut out = Vec::with_capacity(body.len());
    let b = body.as_bytes();
    let mut i = 0;
    let hex = |t: &[u8]| -> Option<u32> { u32::from_str_radix(std::str::from_utf8(t).ok()?, 16).ok() };
    while i < b.len() {
        match b[i] {
            b'"' => return Some((out, &body[i + 1..])),
            b'\\' => {
                let c = *b.get(i + 1)?;
                i += 2;
                match c {
                    b'a' => out.push(7),
                    b'b' => out.push(8),
                    b'f' => out.push(12),
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'v' => out.push(11),
                    b'\\' => out.push(b'\\'),
                    b'"' => out.push(b'"'),
                    b'\'' => out.push(b'\''),
                    b'x' => {
                        out.push(u8::try_from(hex(b.get(i..i + 2)?)?).ok()?);
                        i += 2;
                    }
                    b'u' | b'U' => {
                        let n = if c == b'u' { 4 } else { 8 };
                        let ch = char::from_u32(hex(b.get(i..i + n)?)?)?;
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        i += n;
                    }
                    b'0'..=b'7' => {
                        let o = std::str::from_utf8(b.get(i - 1..i + 2)?).ok()?;
                        out.push(u8::from_str_radix(o, 8).ok()?);
                        i += 2;
                    }
                    _ => return None,
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    None
}

/// A klog structured message: the Go-quoted message and its `key=value` pairs (values unquoted; `%+v` values as
/// written; a multi-line `key=<` value joined). `None`: the message is not a quoted string (a printf-style line).
pub fn structured(msg: &str) -> Option<(String, Vec<(String, String)>)> {
    let (m, mut rest) = go_unquote(msg)?;
    let mut kv = Vec::new();
    loop {
        rest = rest.trim_start_matches(' ');
        if rest.is_empty() {
            break;
        }
        let Some(eq) = rest.find('=') else { break };
        let key = &rest[..eq];
        if key.is_empty() || !key.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c == b'-') {
            break;
        }
        let after = &rest[eq + 1..];
        let (value, next) = if after.starts_with('"') {
            match go_unquote(after) {
                Some((v, n)) => (String::from_utf8_lossy(&v).into_owned(), n),
                None => (after.to_owned(), ""),
            }
        } else if let Some(body) = after.strip_prefix("<\n") {
            // Each line tab-indented, then `\n >` (or ` >` right after a line that ended in a newline).
            let end = body.find("\n >").map(|e| (e, e + 3)).or_else(|| body.strip_suffix(" >").map(|b| (b.len(), body.len()))).unwrap_or((body.len(), body.len()));
            let text: Vec<&str> = body[..end.0].split('\n').map(|l| l.strip_prefix('\t').unwrap_or(l)).collect();
            (text.join("\n"), &body[end.1..])
        } else {
            let end = unquoted_end(after);
            (after[..end].to_owned(), &after[end..])
        };
        kv.push((key.to_owned(), value));
        rest = next;
    }
    Some((String::from_utf8_lossy(&m).into_owned(), kv))
}

/// Where a `%+v` value ends: at the next ` key=` outside brackets (it may hold spaces: `&{Pid:1 Name:x}`, `[a b]`).
fn unquoted_end(s: &str) -> usize {
    let b = s.as_bytes();
    let mut depth = 0i32;
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'[' | b'{' | b'(' => depth += 1,
            b']' | b'}' | b')' => depth -= 1,
            b' ' if depth <= 0 => {
                // A key is a word of letters, digits and `_` right before `=`: look at the next word only, so a
                // long value of many words stays linear.
                let next = &b[i + 1..];
                let word = next.iter().take_while(|c| c.is_ascii_alphanumeric() || **c == b'_').count();
                if word > 0 && next.get(word) == Some(&b'=') {
                    return i;
                }
            }
            _ => {}
        }
    }
    s.len()
}

fn get<'a>(kv: &'a [(String, String)], k: &str) -> Option<&'a str> {
    kv.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
}

/// `ns/name` (klog `KObj`) → (namespace, name); a bare `name` has no namespace.
fn pod_ref(c: &mut Classified, pod: &str) {
    match pod.split_once('/') {
        Some((ns, name)) => {
            c.fields.insert("pod_namespace".into(), json!(ns));
            c.fields.insert("pod_name".into(), json!(name));
        }
        None => _ = c.fields.insert("pod_name".into(), json!(pod)),
    }
}

fn pod_fields(c: &mut Classified, kv: &[(String, String)]) {
    if let Some(p) = get(kv, "pod") {
        pod_ref(c, p);
    }
    if let Some(u) = get(kv, "podUID").or_else(|| get(kv, "podID")) {
        c.fields.insert("pod_uid".into(), json!(u));
    }
    if let Some(n) = get(kv, "containerName") {
        c.fields.insert("container_name".into(), json!(n));
    }
}

/// `containerd://<id>` → (`containerd`, id); `cri-o://`, `docker://` likewise. A bare id has no runtime.
fn container_id(c: &mut Classified, v: &str) {
    let (runtime, id) = match v.split_once("://") {
        Some(("containerd", id)) => (Some("containerd"), id),
        Some(("cri-o", id)) => (Some("cri-o"), id),
        Some(("docker", id)) => (Some("docker"), id),
        Some((_, id)) => (None, id),
        None => (None, v),
    };
    if let Some(r) = runtime {
        c.fields.insert("runtime".into(), json!(r));
    }
    if !id.is_empty() {
        c.fields.insert("container_id".into(), json!(id));
    }
}

/// `[ns/a ns/b]`, `["ns/a","ns/b"]` or the same inside a quoted string (klog versions differ) → the pods.
fn pod_list(v: &str) -> Vec<String> {
    let inner = v.trim().trim_start_matches('[').trim_end_matches(']');
    let mut out = Vec::new();
    for item in inner.split([' ', ',']).filter(|s| !s.is_empty()) {
        let item = match go_unquote(item) {
            Some((b, "")) => String::from_utf8_lossy(&b).into_owned(),
            _ => item.to_owned(),
        };
        out.push(item);
    }
    out
}

/// `&{Pid:1234 ProcessName:stress TimeOfDeath:… ContainerName:/ VictimContainerName:/ Constraint:…}` → a field.
fn go_struct_field<'a>(v: &'a str, name: &str) -> Option<&'a str> {
    let at = v.find(&format!("{name}:"))?;
    let rest = &v[at + name.len() + 1..];
    let end = rest.find([' ', '}']).unwrap_or(rest.len());
    Some(&rest[..end]).filter(|s| !s.is_empty())
}

/// A kubelet message (the text after the klog header) → what it says: see the module doc. One entry per event
/// (`SyncLoop DELETE` names several pods); empty when it is none of the lines recognised.
pub fn classify(msg: &str) -> Vec<Classified> {
    let Some((m, kv)) = structured(msg.trim_end_matches(['\n', '\r'])) else { return Vec::new() };
    let mut c;
    match m.as_str() {
        "Probe failed" => {
            c = Classified::new(EventKind::ProbeFailed);
            pod_fields(&mut c, &kv);
            let probe = get(&kv, "probeType").unwrap_or("?");
            c.fields.insert("probe_type".into(), json!(probe));
            let who = format!("{}/{}", get(&kv, "pod").unwrap_or("?"), get(&kv, "containerName").unwrap_or("?"));
            c.summary = Some(format!("kubelet: {probe} probe of {who} failed: {}", get(&kv, "output").unwrap_or("").trim_end()));
        }
        "Killing container with a grace period" | "Killing container with a grace period override" => {
            c = Classified::new(EventKind::ContainerStop);
            pod_fields(&mut c, &kv);
            if let Some(id) = get(&kv, "containerID") {
                container_id(&mut c, id);
            }
            let grace = get(&kv, "gracePeriod").and_then(|g| g.parse::<i64>().ok());
            if let Some(g) = grace {
                c.fields.insert("grace_period_s".into(), json!(g));
            }
            let who = format!("{}/{}", get(&kv, "pod").unwrap_or("?"), get(&kv, "containerName").unwrap_or("?"));
            c.summary = Some(match grace {
                Some(g) => format!("kubelet: killing container {who} with a grace period of {g} s"),
                None => format!("kubelet: killing container {who}"),
            });
        }
        "Evicting pod" | "Eviction manager: pod is evicted successfully" => {
            c = Classified::new(EventKind::PodEvicted);
            pod_fields(&mut c, &kv);
            if let Some(r) = get(&kv, "message") {
                c.fields.insert("reason".into(), json!(r));
            }
            let pod = get(&kv, "pod").unwrap_or("?");
            c.summary = Some(if m == "Evicting pod" {
                format!("kubelet eviction manager: evicting pod {pod}: {}", get(&kv, "message").unwrap_or(""))
            } else {
                format!("kubelet eviction manager: pod {pod} evicted")
            });
        }
        "SyncLoop DELETE" => {
            let source = get(&kv, "source").unwrap_or("?").to_owned();
            return pod_list(get(&kv, "pods").unwrap_or(""))
                .into_iter()
                .map(|pod| {
                    let mut c = Classified::new(EventKind::PodDeleted);
                    pod_ref(&mut c, &pod);
                    c.fields.insert("reason".into(), json!(format!("deleted (source {source})")));
                    c.summary = Some(format!("kubelet: pod {pod} deleted (SyncLoop DELETE, source {source})"));
                    c
                })
                .collect();
        }
        "Preempting pod to free up resources" => {
            c = Classified::new(EventKind::PodDeleted);
            pod_fields(&mut c, &kv);
            c.fields.insert("reason".into(), json!("preempted"));
            c.summary = Some(format!(
                "kubelet: preempting pod {} to free up resources ({})",
                get(&kv, "pod").unwrap_or("?"),
                get(&kv, "insufficientResources").unwrap_or("?")
            ));
        }
        "Generic (PLEG): container finished" => {
            c = Classified::new(EventKind::ContainerExit);
            pod_fields(&mut c, &kv);
            if let Some(id) = get(&kv, "containerID") {
                container_id(&mut c, id);
            }
            let code = get(&kv, "exitCode").and_then(|g| g.parse::<i64>().ok());
            if let Some(code) = code {
                c.fields.insert("exit_code".into(), json!(code));
            }
            c.summary = Some(format!(
                "kubelet: container {} of pod {} finished with code {}",
                get(&kv, "containerID").unwrap_or("?"),
                get(&kv, "podID").unwrap_or("?"),
                code.map_or("?".to_owned(), |c| c.to_string())
            ));
        }
        "Got sys oom event" => {
            c = Classified::new(EventKind::Log);
            let ev = get(&kv, "event").unwrap_or("");
            c.pid = go_struct_field(ev, "Pid").and_then(|p| p.parse().ok()).filter(|p| *p > 0);
            c.comm = go_struct_field(ev, "ProcessName").map(str::to_owned);
            if let Some(cg) = go_struct_field(ev, "ContainerName") {
                c.fields.insert("cgroup".into(), json!(cg));
            }
            c.summary = Some(format!(
                "kubelet saw a system OOM kill of {} (pid {}), outside any container",
                c.comm.as_deref().unwrap_or("?"),
                c.pid.map_or("?".to_owned(), |p| p.to_string())
            ));
        }
        _ => return Vec::new(),
    }
    vec![c]
}

/// A kubelet line from the journal or syslog: its klog header stripped when it has one.
pub fn classify_line(msg: &str) -> Vec<Classified> {
    match header(msg.trim_start()) {
        Some(h) => classify(h.msg),
        None => classify(msg.trim()),
    }
}

/// A klog line and the continuation lines of its multi-line values: where its bytes are, and its text (lossy
/// where the bytes are not UTF-8, which klog never writes).
struct Record {
    line: u64,
    offset: usize,
    end: usize,
    text: String,
    /// (month, day, seconds of day, nanoseconds, pid) of its header; `None`: not a klog line.
    when: Option<(u8, u8, u32, u32, i64, char)>,
}

fn log(raw: &[u8], ctx: &SourceCtx) -> Parsed {
    let mut out = Parsed::default();
    let mut problems = Problems::new(ctx);
    let mut records: Vec<Record> = Vec::new();
    for (n, start, line, _) in containers::lines(raw) {
        let text = String::from_utf8_lossy(line);
        if text.trim().is_empty() {
            continue;
        }
        let end = start + line.len();
        if std::str::from_utf8(line).is_err() {
            problems.at_line(n, "line is not UTF-8: its invalid bytes were replaced to read it");
        }
        // A multi-line value's lines (tab-indented) and its end (` >`) belong to the record above.
        if text.starts_with('\t') || text == " >" {
            if let Some(r) = records.last_mut() {
                r.end = end;
                r.text.push('\n');
                r.text.push_str(&text);
                continue;
            }
        }
        let when = header(&text).map(|h| (h.month, h.day, h.secs, h.nanos, h.pid, h.level));
        if when.is_none() {
            problems.at_line(n, format!("not a klog line: {}", preview(line)));
        }
        records.push(Record { line: n, offset: start, end, text: text.into_owned(), when });
    }
    let stamps = years(&records, ctx);
    for (r, ts) in records.iter().zip(stamps) {
        let Some((_, _, _, _, pid, level)) = r.when else { continue };
        let msg = r.text.split_once("] ").map_or("", |(_, m)| m);
        let origin = Origin { entry: ctx.path.clone(), line: Some(r.line), offset: Some(ctx.offset + r.offset as u64) };
        let bytes = raw.get(r.offset..r.end).unwrap_or(&[]);
        let mut base = Event::new(ts, Source::Kubelet, EventKind::Log, cap_message(msg.trim()), Text::from_bytes(bytes), origin);
        base.fields.insert("program_pid".into(), pid);
        // klog's severities as syslog's: F → crit, E → err, W → warning, I → info.
        base.fields.insert("severity".into(), match level { 'F' => 2i64, 'E' => 3, 'W' => 4, _ => 6 });
        let found = classify(msg);
        if found.is_empty() {
            out.events.push(base);
            continue;
        }
        for c in found {
            let mut e = base.clone();
            c.apply(&mut e, ctx.accounts);
            out.events.push(e);
        }
    }
    out.problems = problems.done();
    out
}

/// Years for year-less klog times, walking back from the anchor (the entry's mtime, else the collection's end):
/// the last line was written at or before it, and a month that goes up while walking back is the year before.
fn years(records: &[Record], ctx: &SourceCtx) -> Vec<Timestamp> {
    let offset = ctx.manifest.host.utc_offset_seconds;
    let (anchor, note) = match ctx.entry.stat.as_ref().and_then(|s| s.mtime) {
        Some(m) => (m, "year from the file's mtime"),
        None => (ctx.manifest.collector.finished, "year from the collection time (no file mtime)"),
    };
    let zone = match offset {
        Some(s) => format!("local time at the host's UTC offset at collection ({})", fmt_offset(s)),
        None => "host UTC offset unknown, UTC assumed".to_owned(),
    };
    let off = time::UtcOffset::from_whole_seconds(offset.unwrap_or(0)).unwrap_or(time::UtcOffset::UTC);
    let local = anchor.0.to_offset(off);
    let mut year = local.year();
    let mut later = u8::from(local.month());
    let mut out = vec![Timestamp::Unknown; records.len()];
    for (i, r) in records.iter().enumerate().rev() {
        let Some((month, day, secs, nanos, _, _)) = r.when else { continue };
        if month > later {
            year -= 1;
        }
        later = month;
        let utc = time::Month::try_from(month)
            .ok()
            .and_then(|m| time::Date::from_calendar_date(year, m, day).ok())
            .and_then(|d| Utc::from_unix(d.midnight().assume_utc().unix_timestamp() + i64::from(secs) - i64::from(offset.unwrap_or(0)), nanos));
        out[i] = match utc {
            Some(utc) => Timestamp::Inferred { utc, assumption: format!("klog writes no year: {note}; {zone}") },
            None => Timestamp::Unknown,
        };
    }
    out
}

/// The eviction settings of a `KubeletConfiguration` (kubelet/config/v1beta1 types.go): `evictionHard`,
/// `evictionSoft`, `evictionSoftGracePeriod` (maps of signal → threshold or duration), and
/// `evictionPressureTransitionPeriod`, `evictionMaxPodGracePeriod`. Each a `setting` event.
fn config(raw: &[u8], ctx: &SourceCtx) -> Parsed {
    let mut out = Parsed::default();
    let doc: serde_norway::Value = match serde_norway::from_slice(raw) {
        Ok(v) => v,
        Err(e) => {
            out.problems.push(ParseProblem::at_offset(ctx, 0, format!("kubelet config is not YAML: {e}")));
            return out;
        }
    };
    let scalar = |v: &serde_norway::Value| -> Option<String> {
        match v {
            serde_norway::Value::String(s) => Some(s.clone()),
            serde_norway::Value::Number(n) => Some(n.to_string()),
            serde_norway::Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    };
    let mut settings: Vec<(String, String)> = Vec::new();
    for key in ["evictionHard", "evictionSoft", "evictionSoftGracePeriod", "evictionMinimumReclaim"] {
        let Some(v) = doc.get(key) else { continue };
        match v {
            serde_norway::Value::Mapping(m) => {
                for (k, val) in m {
                    match (scalar(k), scalar(val)) {
                        (Some(k), Some(val)) => settings.push((format!("{key}.{k}"), val)),
                        _ => out.problems.push(ParseProblem::at_offset(ctx, 0, format!("kubelet config {key} holds a value that is not a scalar"))),
                    }
                }
            }
            serde_norway::Value::Null => {}
            _ => out.problems.push(ParseProblem::at_offset(ctx, 0, format!("kubelet config {key} is not a map"))),
        }
    }
    for key in ["evictionPressureTransitionPeriod", "evictionMaxPodGracePeriod"] {
        if let Some(v) = doc.get(key) {
            match scalar(v) {
                Some(s) => settings.push((key.to_owned(), s)),
                None => out.problems.push(ParseProblem::at_offset(ctx, 0, format!("kubelet config {key} is not a scalar"))),
            }
        }
    }
    settings.sort();
    for (name, value) in settings {
        let mut fields = coroner_schemas::Fields::new();
        fields.insert("name".into(), format!("kubelet.{name}"));
        fields.insert("value".into(), value.as_str());
        // Observed at collection, like every setting; the raw is the config's first 4 KiB (it is one document).
        let head = raw.get(..raw.len().min(4096)).unwrap_or(&[]);
        out.events.push(super::settings::observed(ctx, None, Some(ctx.offset), head, format!("kubelet {name} = {value}"), fields));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::testing::{entry, manifest};
    use coroner_schemas::accounts::Accounts;
    use std::path::PathBuf;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/containers/kubelet").join(name)).expect("fixture")
    }

    fn run(raw: &[u8], format: &str) -> Parsed {
        let m = manifest();
        let a = Accounts::default();
        let e = entry("fs/var/log/kubelet.log", "/var/log/kubelet.log", "containers", format);
        parse(raw, &SourceCtx::new(&e, &m, &a))
    }

    fn f<'a>(e: &'a Event, k: &str) -> Option<&'a str> {
        e.fields.get(k).and_then(|v| v.as_str())
    }

    #[test]
    fn go_quoted_values_are_unquoted() {
        assert_eq!(go_unquote(r#""a\"b\n\tc\\d\x41\u00e9\U0001F600" rest"#), Some(("a\"b\n\tc\\dAé😀".as_bytes().to_vec(), " rest")));
        assert_eq!(go_unquote(r#""cut"#), None);
        assert_eq!(go_unquote(r#""bad \q""#), None);
        assert_eq!(go_unquote(r#""\xff""#).map(|(b, _)| b), Some(vec![0xff]));
    }

    #[test]
    fn structured_pairs_read_quoted_plain_bracketed_and_multiline_values() {
        let (m, kv) = structured("\"SyncLoop (PLEG): event for pod\" pod=\"default/nginx\" event=&{ID:27af Type:ContainerDied Data:4296} n=3 pods=[a/b c/d] out=<\n\tline 1\n\tline 2\n >").expect("structured");
        assert_eq!(m, "SyncLoop (PLEG): event for pod");
        let want: Vec<(String, String)> = [("pod", "default/nginx"), ("event", "&{ID:27af Type:ContainerDied Data:4296}"), ("n", "3"), ("pods", "[a/b c/d]"), ("out", "line 1\nline 2")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(kv, want);
        assert_eq!(structured("Liveness probe for x failed"), None, "a printf-style line");
    }

    #[test]
    fn the_fixture_lines_give_their_kinds_and_fields() {
        let p = run(&fixture("kubelet.log"), "kubelet_log");
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        let kinds: Vec<&str> = p.events.iter().filter(|e| e.kind != EventKind::Log).map(|e| e.kind.as_str()).collect();
        assert_eq!(
            kinds,
            ["probe_failed", "probe_failed", "probe_failed", "container_stop", "container_exit", "pod_evicted", "container_stop", "pod_evicted", "pod_deleted", "container_stop", "pod_deleted", "container_stop", "container_exit"],
        );
        let probe = p.events.iter().find(|e| e.kind == EventKind::ProbeFailed).expect("probe");
        assert_eq!((f(probe, "probe_type"), f(probe, "pod_namespace"), f(probe, "pod_name"), f(probe, "container_name")), (Some("Liveness"), Some("default"), Some("web-5d9c7b7f4-x2x9q"), Some("web")));
        assert_eq!(f(probe, "pod_uid"), Some("3f8e9a52-6b1d-4c1e-9a7e-2b5f0c1d4e6a"));
        assert_eq!(probe.source, Source::Kubelet);
        assert_eq!(probe.pid, None, "the klog pid is the kubelet's, kept as program_pid");
        assert_eq!(probe.fields.get("program_pid").and_then(|v| v.as_i64()), Some(1234));
        let Timestamp::Inferred { utc, assumption } = &probe.timestamp else { panic!("{:?}", probe.timestamp) };
        assert_eq!(utc.rfc3339(), "2026-11-27T10:00:12.345678Z");
        assert!(assumption.contains("year from the collection time"), "{assumption}");
        let stop = p.events.iter().find(|e| e.kind == EventKind::ContainerStop).expect("stop");
        assert_eq!((f(stop, "runtime"), f(stop, "container_id").map(str::len)), (Some("containerd"), Some(64)));
        assert_eq!(stop.fields.get("grace_period_s").and_then(|v| v.as_i64()), Some(30));
        let deleted: Vec<&Event> = p.events.iter().filter(|e| e.kind == EventKind::PodDeleted).collect();
        assert_eq!(f(deleted[0], "pod_name"), Some("api-7c9d8f6b5-4kq2m"));
        assert_eq!(f(deleted[1], "reason"), Some("preempted"));
        let exit = p.events.iter().find(|e| e.kind == EventKind::ContainerExit).expect("exit");
        assert_eq!(exit.fields.get("exit_code").and_then(|v| v.as_i64()), Some(137));
        let oom = p.events.iter().find(|e| e.message.starts_with("kubelet saw a system OOM")).expect("sys oom");
        assert_eq!((oom.kind, oom.pid, oom.comm.as_deref()), (EventKind::Log, Some(4242), Some("stress")));
        // The probe's multi-line output is one record with its continuation lines.
        let multi = p.events.iter().filter(|e| e.kind == EventKind::ProbeFailed).nth(1).expect("second probe");
        assert_eq!(f(multi, "probe_type"), Some("Startup"));
        assert!(multi.message.ends_with("failed: cat: can't open '/tmp/ready': No such file or directory\nretrying"), "{}", multi.message);
        assert!(multi.raw.as_bytes().ends_with(b" >"), "{:?}", multi.raw.lossy());
    }

    #[test]
    fn delete_of_several_pods_is_one_event_each() {
        let got = classify_line("I1127 10:00:00.000000    1234 kubelet.go:2457] \"SyncLoop DELETE\" source=\"api\" pods=[\"ns/a\",\"ns/b\"]");
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].fields.get("pod_name").and_then(|v| v.as_str()), Some("b"));
        assert_eq!(classify_line("\"SyncLoop DELETE\" source=\"api\" pods=[ns/a ns/b ns/c]").len(), 3);
    }

    #[test]
    fn a_year_boundary_walking_back_takes_the_year_before() {
        let raw = b"I1231 23:59:59.000000    1 a.go:1] \"x\"\nI0101 00:00:01.000000    1 a.go:1] \"y\"\n";
        let m = manifest();
        let a = Accounts::default();
        let mut e = entry("fs/var/log/kubelet.log", "/var/log/kubelet.log", "containers", "kubelet_log");
        e.stat = serde_json::from_value(serde_json::json!({"mode": 33188, "uid": 0, "gid": 0, "size": 1, "allocated": 0, "ino": 1, "dev": 1, "nlink": 1, "mtime": "2027-01-02T00:00:00Z"})).expect("stat");
        let p = parse(raw, &SourceCtx::new(&e, &m, &a));
        let t: Vec<String> = p.events.iter().map(|e| e.timestamp.sort_key().map(|t| t.rfc3339()).unwrap_or_default()).collect();
        assert_eq!(t, ["2026-12-31T23:59:59.000000Z", "2027-01-01T00:00:01.000000Z"]);
    }

    #[test]
    fn garbage_and_hostile_lines_are_problems_not_panics() {
        let raw = b"not klog\nI9999 10:00:00.0 1 a.go:1] x\n\xff\xfe\x00\nI1127 10:00:00.000000    1 prober.go:1] \"Probe failed\" probeType=\"Liveness\" pod=\"\\\"evil\\\"/x\\ny\" output=\"cut\n\tdangling\nI1127 25:00:00.000000 1 a.go:1] \"x\"\n";
        let p = run(raw, "kubelet_log");
        assert!(p.problems.iter().all(|q| q.is_parse()));
        assert!(p.problems.len() >= 4, "{:?}", p.problems);
        assert!(p.problems.iter().any(|q| q.message.contains("not UTF-8")));
        let probe = p.events.iter().find(|e| e.kind == EventKind::ProbeFailed).expect("probe");
        assert_eq!(f(probe, "pod_namespace"), Some("\"evil\""));
        assert_eq!(f(probe, "pod_name"), Some("x\ny"));
        assert_eq!(run(b"", "kubelet_log").events.len(), 0);
    }

    #[test]
    fn the_config_gives_its_eviction_settings() {
        let p = run(&fixture("config.yaml"), "kubelet_config_yaml");
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        let got: Vec<String> = p.events.iter().map(|e| e.message.clone()).collect();
        assert_eq!(
            got,
            [
                "kubelet evictionHard.imagefs.available = 15%",
                "kubelet evictionHard.memory.available = 100Mi",
                "kubelet evictionHard.nodefs.available = 10%",
                "kubelet evictionPressureTransitionPeriod = 5m0s",
                "kubelet evictionSoft.memory.available = 300Mi",
                "kubelet evictionSoftGracePeriod.memory.available = 1m30s",
            ]
        );
        assert!(!run(b"evictionHard: [1, 2\n", "kubelet_config_yaml").problems.is_empty());
        assert!(!run(b"evictionHard: 3\n", "kubelet_config_yaml").problems.is_empty());
    }

    #[test]
    fn kubelet_and_runtime_lines_read_from_the_journal_and_syslog_get_the_same_kinds() {
        let m = manifest();
        let a = Accounts::default();
        let probe = r#"I1127 10:00:12.345678    1234 prober.go:107] \"Probe failed\" probeType=\"Liveness\" pod=\"default/web\" podUID=\"u\" containerName=\"web\" probeResult=\"failure\" output=\"x\""#;
        let delete = r#"I1127 10:10:00.000100    1234 kubelet.go:2457] \"SyncLoop DELETE\" source=\"api\" pods=[\"ns/a\",\"other/b\"]"#;
        let oom = r#"time=\"2026-11-27T10:04:40.900554120Z\" level=info msg=\"TaskOOM event &TaskOOM{ContainerID:6e1f,XXX_unrecognized:[],}\""#;
        let journal = format!(
            "{{\"__REALTIME_TIMESTAMP\":\"1796378412345678\",\"_PID\":\"1234\",\"_COMM\":\"kubelet\",\"SYSLOG_IDENTIFIER\":\"kubelet\",\"MESSAGE\":\"{probe}\"}}\n{{\"__REALTIME_TIMESTAMP\":\"1796378412345679\",\"_PID\":\"1234\",\"SYSLOG_IDENTIFIER\":\"kubelet\",\"MESSAGE\":\"{delete}\"}}\n{{\"__REALTIME_TIMESTAMP\":\"1796378412345680\",\"_PID\":\"77\",\"SYSLOG_IDENTIFIER\":\"containerd\",\"MESSAGE\":\"{oom}\"}}\n"
        );
        let e = entry("cmd/journalctl.json", "journalctl", "journal", "journal_json");
        let p = crate::sources::journal::parse(journal.as_bytes(), &SourceCtx::new(&e, &m, &a));
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        let got: Vec<(&str, Option<i64>, Option<&str>)> = p.events.iter().map(|e| (e.kind.as_str(), e.pid, f(e, "pod_name").or(f(e, "container_id")))).collect();
        assert_eq!(got, [("probe_failed", None, Some("web")), ("pod_deleted", None, Some("a")), ("pod_deleted", None, Some("b")), ("container_oom", None, Some("6e1f"))]);
        assert_eq!(p.events[0].fields.get("program_pid").and_then(|v| v.as_i64()), Some(1234));
        assert_eq!(f(&p.events[2], "pod_namespace"), Some("other"));
        assert_eq!(p.events[0].source, Source::Journal);
        let syslog = "Nov 27 10:00:22 node1 kubelet[1234]: I1127 10:00:22.346987    1234 kuberuntime_container.go:808] \"Killing container with a grace period\" pod=\"default/web\" podUID=\"u\" containerName=\"web\" containerID=\"containerd://9f2c\" gracePeriod=30\nNov 27 10:00:23 node1 kubelet[1234]: I1127 10:00:23.000000    1234 kubelet.go:1] \"Something else\"\n";
        let e = entry("fs/var/log/syslog", "/var/log/syslog", "syslog", "syslog");
        let p = crate::sources::syslog::parse(syslog.as_bytes(), &SourceCtx::new(&e, &m, &a));
        assert_eq!(p.events[0].kind, EventKind::ContainerStop);
        assert_eq!((p.events[0].pid, f(&p.events[0], "runtime"), p.events[0].fields.get("grace_period_s").and_then(|v| v.as_i64())), (None, Some("containerd"), Some(30)));
        assert_eq!((p.events[1].kind, p.events[1].pid), (EventKind::Log, Some(1234)), "an unrecognised line keeps its writer");
    }

    /// Regression guard: a hostile 1 MB line of many words is read in linear time, not quadratic.
    #[test]
    fn a_one_megabyte_line_is_read_quickly() {
        let mut line = String::from("I1127 10:00:00.000000    1 a.go:1] \"Probe failed\" probeType=\"Liveness\" output=");
        line.push_str(&"word ".repeat(200_000));
        line.push('\n');
        let t = std::time::Instant::now();
        let p = run(line.as_bytes(), "kubelet_log");
        assert_eq!(p.events.len(), 1);
        assert!(t.elapsed() < std::time::Duration::from_secs(2), "{:?}", t.elapsed());
    }
}
