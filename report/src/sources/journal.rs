//! `journalctl -o json` export: one JSON object per line (systemd's JSON format, see
//! systemd.journal-fields(7)). `__REALTIME_TIMESTAMP` is µs since the epoch (exact); `MESSAGE` is a string,
//! or an array of byte values when it is not UTF-8 (kept exactly). Kernel messages (`_TRANSPORT=kernel`) go
//! through the kernel recognisers; systemd's own messages through [`classify_systemd`](super::daemon_lines::classify_systemd), shared with syslog;
//! systemd-coredump's structured entries (`MESSAGE_ID` fc2e22bc…) become `core_dumped` events.


use coroner_schemas::{Event, EventKind, FieldValue, Fields, Origin, Source, Text, Timestamp, Utc};
use serde_json::{json, Map, Value};

use super::kernel_lines::{cap_message, Classified, KernelTracker};
use super::signals;
use super::daemon_lines::{classify_program_all, classify_systemd, coredump_text, speaks_of_others, status_fields};
use super::{ParseProblem, Parsed, SourceCtx};

/// systemd-coredump's catalog id for "Process … dumped core".
pub const COREDUMP_MESSAGE_ID: &str = "fc2e22bc6ee647b6b90729ab34a250b1";

fn str_field<'a>(o: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    o.get(k).and_then(Value::as_str)
}

/// A journal field as bytes: a string, or an array of byte values (non-UTF-8 data).
fn bytes_field(o: &Map<String, Value>, k: &str) -> Option<Vec<u8>> {
    match o.get(k)? {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Array(a) => a
            .iter()
            .map(|v| v.as_u64().and_then(|n| u8::try_from(n).ok()))
            .collect(),
        // A field repeated in one entry is exported as an array of strings: take the first.
        _ => None,
    }
}

fn int_field(o: &Map<String, Value>, k: &str) -> Option<i64> {
    str_field(o, k).and_then(|s| s.trim().parse().ok())
}

pub fn parse(raw: &[u8], ctx: &SourceCtx) -> Parsed {
    let mut out = Parsed::default();
    let mut tracker = KernelTracker::default();
    let mut offset = 0usize;
    let mut number = 0u64;
    while offset < raw.len() {
        let rest = &raw[offset..];
        let len = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        let line = &rest[..len];
        number += 1;
        let line_offset = offset as u64;
        offset += len + 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let obj = match serde_json::from_slice::<Value>(line) {
            Ok(Value::Object(o)) => o,
            Ok(_) => {
                out.problems
                    .push(ParseProblem::at_line(ctx, number, "journal line is not a JSON object"));
                continue;
            }
            Err(e) => {
                out.problems
                    .push(ParseProblem::at_line(ctx, number, format!("bad journal JSON: {e}")));
                continue;
            }
        };
        entry(&obj, line, number, line_offset, ctx, &mut tracker, &mut out);
    }
    out
}

fn entry(
    o: &Map<String, Value>,
    line: &[u8],
    number: u64,
    offset: u64,
    ctx: &SourceCtx,
    tracker: &mut KernelTracker,
    out: &mut Parsed,
) {
    let realtime = int_field(o, "__REALTIME_TIMESTAMP");
    let timestamp = match realtime.filter(|&us| us != 0).and_then(Utc::from_unix_micros) {
        Some(utc) => Timestamp::Exact { utc },
        // A zero time is no time (journald stamps entries from the realtime clock, never at the epoch).
        None if realtime == Some(0) => {
            out.problems.push(ParseProblem::at_line(ctx, number, "journal entry with __REALTIME_TIMESTAMP 0 (the epoch): kept undated"));
            Timestamp::Unknown
        }
        None => {
            out.problems.push(ParseProblem::at_line(
                ctx,
                number,
                "journal entry without __REALTIME_TIMESTAMP",
            ));
            Timestamp::Unknown
        }
    };
    let message_bytes = bytes_field(o, "MESSAGE").unwrap_or_default();
    let message = String::from_utf8_lossy(&message_bytes).into_owned();
    let mut fields: Fields = Fields::new();
    if std::str::from_utf8(&message_bytes).is_err() {
        // The exact bytes, since the summary had to replace invalid sequences.
        if let Ok(v) = serde_json::to_value(Text::from_bytes(&message_bytes)) {
            fields.insert("message_raw".into(), v);
        }
    }
    let copy = [
        ("_SYSTEMD_UNIT", "systemd_unit"),
        ("SYSLOG_IDENTIFIER", "program"),
        ("_BOOT_ID", "boot_id"),
        ("_TRANSPORT", "transport"),
        ("_EXE", "exe"),
        // Not `cmdline`: that is a live process's argv array, and a key keeps one type.
        ("_CMDLINE", "cmdline_text"),
        ("_HOSTNAME", "hostname"),
        ("MESSAGE_ID", "message_id"),
    ];
    for (k, name) in copy {
        if let Some(v) = str_field(o, k) {
            fields.insert(name.into(), json!(v));
        }
    }
    if let Some(p) = int_field(o, "PRIORITY") {
        fields.insert("severity".into(), json!(p));
    }
    if let Some(p) = int_field(o, "SYSLOG_FACILITY") {
        fields.insert("facility".into(), json!(p));
    }
    let pid = int_field(o, "_PID");
    let uid = int_field(o, "_UID").and_then(|u| u32::try_from(u).ok());
    let mut ev = Event {
        pid,
        uid,
        user: uid.and_then(|u| ctx.accounts.user_name(u)).map(str::to_owned),
        comm: str_field(o, "_COMM").map(str::to_owned),
        fields,
        ..Event::new(
            timestamp,
            Source::Journal,
            EventKind::Log,
            cap_message(message.trim_start()),
            Text::from_bytes(line),
            Origin {
                entry: ctx.path.clone(),
                line: Some(number),
                offset: Some(offset),
            },
        )
    };
    if let Some(p) = pid {
        ev.fields.insert("program_pid".into(), json!(p));
    }

    if str_field(o, "_TRANSPORT") == Some("kernel") {
        // The kernel's record: the process facts come from the message, not from the journal's trusted fields.
        ev.pid = None;
        ev.uid = None;
        ev.user = None;
        ev.comm = None;
        ev.fields.remove("program_pid");
        tracker.push(&message, ev, offset, &mut out.events, ctx.accounts);
        return;
    }

    if str_field(o, "MESSAGE_ID") == Some(COREDUMP_MESSAGE_ID) {
        coredump_entry(o, &mut ev, ctx);
        out.events.push(ev);
        return;
    }

    let ident = str_field(o, "SYSLOG_IDENTIFIER")
        .or_else(|| str_field(o, "_COMM"))
        .unwrap_or("");
    let from_systemd = ident == "systemd" || ident == "systemd-coredump" || ident == "systemd-oomd" || pid == Some(1);
    let (classified, more) = if from_systemd {
        (classify_systemd(&message), Vec::new())
    } else {
        classify_program_all(ident, &message, ctx.accounts)
    };
    // The entry as read, before a recognised message fills it: the base of the further events one message gives.
    let base = (!more.is_empty()).then(|| ev.clone());
    if let Some(c) = classified {
        // pid/comm of a systemd message are the process it talks about (or unknown), never systemd itself,
        // whose pid stays in `program_pid`; likewise the kubelet's and container runtimes'.
        if from_systemd || speaks_of_others(ident, c.kind) {
            ev.pid = None;
            ev.comm = None;
            ev.uid = None;
            ev.user = None;
        }
        c.apply(&mut ev, ctx.accounts);
    }
    let mut further = Vec::new();
    for c in more {
        if let Some(mut e) = base.clone() {
            if speaks_of_others(ident, c.kind) {
                (e.pid, e.comm, e.uid, e.user) = (None, None, None, None);
            }
            c.apply(&mut e, ctx.accounts);
            further.push(e);
        }
    }
    // systemd's structured unit facts (present on newer versions) fill what the text did not say.
    if let Some(unit) = str_field(o, "UNIT").or_else(|| str_field(o, "USER_UNIT")) {
        ev.fields.insert_if_absent("unit".into(), || json!(unit));
    }
    if let (Some(code), Some(status)) = (str_field(o, "EXIT_CODE"), str_field(o, "EXIT_STATUS")) {
        let mut c = Classified::new(ev.kind);
        status_fields(&mut c, code, status);
        for (k, v) in c.fields {
            ev.fields.insert_if_absent(k, || v);
        }
    }
    out.events.push(ev);
    out.events.extend(further);
}

/// systemd-coredump's structured entry: COREDUMP_PID, COREDUMP_UID, COREDUMP_SIGNAL, COREDUMP_COMM,
/// COREDUMP_EXE, COREDUMP_UNIT, COREDUMP_FILENAME.
fn coredump_entry(o: &Map<String, Value>, ev: &mut Event, ctx: &SourceCtx) {
    ev.kind = EventKind::CoreDumped;
    ev.pid = int_field(o, "COREDUMP_PID");
    ev.uid = int_field(o, "COREDUMP_UID").and_then(|u| u32::try_from(u).ok());
    ev.user = ev.uid.and_then(|u| ctx.accounts.user_name(u)).map(str::to_owned);
    ev.comm = str_field(o, "COREDUMP_COMM").map(str::to_owned);
    if let Some(sig) = int_field(o, "COREDUMP_SIGNAL") {
        ev.fields.insert("signal".into(), json!(sig));
        if let Some(n) = str_field(o, "COREDUMP_SIGNAL_NAME").map(str::to_owned).or_else(|| signals::name(sig)) {
            ev.fields.insert("signal_name".into(), json!(n));
        }
    }
    for (k, name) in [
        ("COREDUMP_EXE", "exe"),
        ("COREDUMP_UNIT", "unit"),
        ("COREDUMP_FILENAME", "core_file"),
    ] {
        if let Some(v) = str_field(o, k) {
            ev.fields.insert(name.into(), json!(v));
        }
    }
    if let Some(c) = coredump_text(ev.message.lines().next().unwrap_or("")) {
        if ev.pid.is_none() {
            ev.pid = c.pid;
        }
        if ev.comm.is_none() {
            ev.comm = c.comm;
        }
    }
    let who = ev.comm.clone().unwrap_or_default();
    let sig = ev
        .fields
        .get("signal_name")
        .and_then(FieldValue::as_str)
        .unwrap_or("?")
        .to_owned();
    ev.message = match ev.pid {
        Some(p) => format!("core dumped: {who} (pid {p}) on {sig}"),
        None => format!("core dumped: {who} on {sig}"),
    };
}
