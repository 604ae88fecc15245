//! Cores kept without their bytes (`--cores meta`): the collector writes `live/cores/<host path>.meta.json`
//! (format `Other`, category `Cores`) with the core's size, the sha256 of the whole file and its lstat:
//!
//! ```json
//! {"path": "/var/crash/core.crash.v2-1.17947.1796178730", "format": "core_elf", "size": 450560,
//!  "allocated": 151552, "sha256": "…", "sha256_bytes": 450560,
//!  "stat": {"mode": 33152, "uid": 0, "gid": 0, "ino": …, "dev": …, "nlink": 1, "mtime": 1796178730, …}}
//! ```
//!
//! With no notes to read, the file name is all there is: read through `kernel.core_pattern`
//! ([`core_name`]), it gives the pid, comm, signal and dump time. One `core_dumped` event per core (files of
//! crash handlers' stores, `"format": "crash_report"`, are not bare cores and give none).

use coroner_schemas::manifest::{Category, Entry, Format};
use coroner_schemas::{layout, Event, EventKind, Fields, Origin, Source, Utc};
use serde_json::{json, Value};

use super::core_elf::dump_time;
use super::core_name::{self, Spec};
use super::signals;
use super::{ParseProblem, Parsed, SourceCtx};

/// Whether an entry is a core's metadata (recognised by bundle path, since its format is `Other`).
pub fn is_core_meta(e: &Entry) -> bool {
    e.format == Format::Other
        && e.category == Category::Cores
        && e.path.starts_with(layout::CORE_META_PREFIX)
        && e.path.ends_with(layout::CORE_META_SUFFIX)
}

pub fn parse(raw: &[u8], ctx: &SourceCtx) -> Parsed {
    let mut p = Parsed::default();
    let doc = match serde_json::from_slice::<Value>(raw) {
        Ok(Value::Object(o)) => o,
        Ok(_) => {
            p.problems.push(ParseProblem::at_offset(ctx, 0, "core metadata: expected a JSON object"));
            return p;
        }
        Err(e) => {
            p.problems.push(ParseProblem::at_offset(ctx, 0, format!("core metadata: not valid JSON: {e}")));
            return p;
        }
    };
    if doc.get("format").and_then(Value::as_str).is_some_and(|f| f != "core_elf") {
        return p;
    }
    // The manifest's source is the host path; the document repeats it.
    let path = ctx.entry.source.as_str();
    if let Some(other) = doc.get("path").and_then(Value::as_str).filter(|d| *d != path) {
        p.problems.push(ParseProblem::at_offset(
            ctx,
            0,
            format!("core metadata names {other:?} but the manifest names {path:?}; the manifest's is used"),
        ));
    }
    let u64_of = |v: Option<&Value>| v.and_then(Value::as_u64);
    let stat = doc.get("stat");
    let mtime = stat.and_then(|s| s.get("mtime")).and_then(Value::as_i64).and_then(|t| Utc::from_unix(t, 0));
    let size = u64_of(doc.get("size"));
    let name = core_name::base_name(path);
    let read = ctx.core_naming.read(name);
    let m = read.as_ref().map(|(m, _)| m);

    let mut f = Fields::new();
    f.insert("core_file".into(), json!(path));
    f.insert("size".into(), json!(size));
    f.insert("sha256".into(), json!(doc.get("sha256").and_then(Value::as_str)));
    let signal = m.and_then(|m| m.num(Spec::Signal)).and_then(|s| i64::try_from(s).ok());
    f.insert("signal".into(), json!(signal));
    f.insert("signal_name".into(), json!(signal.and_then(signals::name)));
    if let Some((m, from)) = &read {
        m.fields(from, &mut f);
    }
    let timestamp = dump_time(m, mtime, &mut f);
    if f.get("mtime").is_none() {
        f.insert("mtime".into(), json!(mtime));
    }
    let pid = m.and_then(|m| m.pid());
    let uid = m.and_then(|m| m.num(Spec::Uid)).and_then(|u| u32::try_from(u).ok());
    let comm = m.and_then(|m| m.text(Spec::Comm)).map(str::to_owned);
    let message = format!(
        "core dumped (kept as metadata only): {} at {}{}{}",
        match (&comm, pid) {
            (Some(c), Some(p)) => format!("{c} (pid {p})"),
            (Some(c), None) => c.clone(),
            (None, Some(p)) => format!("pid {p}"),
            (None, None) => "?".into(),
        },
        path,
        signal.and_then(signals::name).map(|s| format!(" on {s}")).unwrap_or_default(),
        size.map(|s| format!(", {s} bytes")).unwrap_or_default(),
    );
    p.events.push(Event {
        pid,
        uid,
        user: uid.and_then(|u| ctx.accounts.user_name(u)).map(str::to_owned),
        comm,
        fields: f,
        ..Event::new(
            timestamp,
            Source::Core,
            EventKind::CoreDumped,
            message,
            coroner_schemas::Text::from_bytes(raw),
            Origin { entry: ctx.path.clone(), line: None, offset: Some(0) },
        )
    });
    p
}
