//! The kernel ring buffer in its three stored forms:
//! - [`Format::Kmsg`]: records read from `/dev/kmsg`, `PRI,SEQ,TS_US,FLAGS[,…];MESSAGE\n`, then
//!   ` KEY=VALUE\n` dictionary lines (`SUBSYSTEM=`, `DEVICE=`) that belong to the record. The message escapes
//!   non-printable bytes as `\xNN`: the raw record is kept as is, the decoded text is what is matched.
//! - [`Format::DmesgText`]: `dmesg` output, `[  959.280000] msg` (seconds since boot) or the `-T` form
//!   `[Fri Nov 27 20:03:37 2026] msg` (local time); an optional `<N>` level prefix (`dmesg -r`). A line with
//!   no prefix continues the record before it, unless the file has no prefixes at all (`dmesg -t`, a log saved
//!   without times): then each line is a record of its own, undated.
//! - [`Format::Pstore`]: a previous boot's log saved by pstore (`Oops#1 Part1` headers, `<4>[  12.34] …`).
//!   Its times count from *that* boot, so they are only bounded by this boot's start.
//!
//! Kernel timestamps (µs since boot, CLOCK_MONOTONIC) become UTC through the manifest's clock sample, else
//! through the host's boot time; without either they stay unknown with `since_boot_us` kept in `fields`.

use coroner_schemas::manifest::Format;
use coroner_schemas::{Event, EventKind, Origin, Source, Timestamp, Utc};
use serde_json::json;

use super::kernel_lines::{cap_message, unescape_kmsg, KernelTracker};
use super::{ParseProblem, Parsed, SourceCtx};

pub fn parse(raw: &[u8], ctx: &SourceCtx) -> Parsed {
    match ctx.entry.format {
        Format::DmesgText => parse_dmesg(raw, ctx, Source::Dmesg),
        Format::Pstore => parse_dmesg(raw, ctx, Source::Pstore),
        _ => parse_kmsg(raw, ctx),
    }
}

/// One line of the entry: its bytes (without `\n`), 1-based number and byte offset.
struct Line<'a> {
    bytes: &'a [u8],
    number: u64,
    offset: u64,
}

fn lines(raw: &[u8]) -> impl Iterator<Item = Line<'_>> {
    let mut offset = 0usize;
    let mut number = 0u64;
    std::iter::from_fn(move || {
        if offset >= raw.len() {
            return None;
        }
        let rest = &raw[offset..];
        let len = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        let line = Line {
            bytes: &rest[..len],
            number: number + 1,
            offset: offset as u64,
        };
        number += 1;
        offset += len + 1;
        Some(line)
    })
}

/// Kernel time since boot → timestamp, as the module doc says.
pub fn boot_timestamp(ctx: &SourceCtx, since_boot_us: u64) -> Timestamp {
    if let Some(utc) = ctx
        .manifest
        .clock
        .as_ref()
        .and_then(|c| c.boot_us_to_utc(since_boot_us))
    {
        return Timestamp::FromBoot { utc, since_boot_us };
    }
    if let Some(boot) = ctx.manifest.host.boot_time {
        let us = boot
            .unix_micros()
            .saturating_add(i64::try_from(since_boot_us).unwrap_or(i64::MAX));
        if let Some(utc) = Utc::from_unix_micros(us) {
            return Timestamp::FromBoot { utc, since_boot_us };
        }
    }
    Timestamp::Unknown
}

fn base_event(ctx: &SourceCtx, source: Source, ts: Timestamp, msg: &str, raw: &[u8], line: u64, offset: u64) -> Event {
    Event::new(
        ts,
        source,
        EventKind::Log,
        cap_message(msg),
        coroner_schemas::Text::from_bytes(raw),
        Origin {
            entry: ctx.path.clone(),
            line: Some(line),
            offset: Some(offset),
        },
    )
}

/// A `/dev/kmsg` record being assembled (header line plus its ` KEY=VALUE` lines).
struct Record {
    line: u64,
    offset: u64,
    end: usize,
    prefix: Vec<u8>,
    message: Vec<u8>,
    dict: Vec<(String, String)>,
}

fn parse_kmsg(raw: &[u8], ctx: &SourceCtx) -> Parsed {
    let mut out = Parsed::default();
    let mut tracker = KernelTracker::default();
    let mut current: Option<Record> = None;
    for line in lines(raw) {
        if line.bytes.first() == Some(&b' ') {
            match current.as_mut() {
                Some(rec) => {
                    rec.end = (line.offset as usize + line.bytes.len() + 1).min(raw.len());
                    let kv = String::from_utf8_lossy(&line.bytes[1..]);
                    if let Some((k, v)) = kv.split_once('=') {
                        rec.dict.push((k.to_owned(), v.to_owned()));
                    }
                }
                None => out.problems.push(ParseProblem::at_line(
                    ctx,
                    line.number,
                    "continuation line with no record",
                )),
            }
            continue;
        }
        if let Some(rec) = current.take() {
            let bytes = raw.get(rec.offset as usize..rec.end).unwrap_or(&[]);
            emit_kmsg(rec, bytes, ctx, &mut tracker, &mut out);
        }
        if line.bytes.is_empty() {
            continue;
        }
        let Some(semi) = line.bytes.iter().position(|&b| b == b';') else {
            out.problems.push(ParseProblem::at_line(
                ctx,
                line.number,
                "kmsg record without ';' (truncated?)",
            ));
            continue;
        };
        current = Some(Record {
            line: line.number,
            offset: line.offset,
            end: (line.offset as usize + line.bytes.len() + 1).min(raw.len()),
            prefix: line.bytes[..semi].to_vec(),
            message: line.bytes[semi + 1..].to_vec(),
            dict: Vec::new(),
        });
    }
    if let Some(rec) = current.take() {
        let bytes = raw.get(rec.offset as usize..rec.end).unwrap_or(&[]);
        emit_kmsg(rec, bytes, ctx, &mut tracker, &mut out);
    }
    out
}

/// One `/dev/kmsg` record on its own (its header line, then its ` KEY=VALUE` lines), as another source keeps a
/// copy of it (the signal recorder): its events cite `line` and `offset` of that copy in its entry, and
/// `tracker` carries an OOM episode from one copied record to the next.
pub fn parse_record(record: &[u8], line: u64, offset: u64, ctx: &SourceCtx, tracker: &mut KernelTracker, out: &mut Parsed) {
    let record = record.strip_suffix(b"\n").unwrap_or(record);
    let mut lines = record.split(|&b| b == b'\n');
    let head = lines.next().unwrap_or_default();
    let Some(semi) = head.iter().position(|&b| b == b';') else {
        out.problems.push(ParseProblem::at_line(ctx, line, "kmsg record without ';' (truncated?)"));
        return;
    };
    let dict = lines
        .filter_map(|l| l.strip_prefix(b" "))
        .filter_map(|kv| String::from_utf8_lossy(kv).split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
        .collect();
    let rec = Record { line, offset, end: record.len(), prefix: head[..semi].to_vec(), message: head[semi + 1..].to_vec(), dict };
    emit_kmsg(rec, record, ctx, tracker, out);
}

/// Builds the event of one record; `record_raw` is the record's bytes.
fn emit_kmsg(rec: Record, record_raw: &[u8], ctx: &SourceCtx, tracker: &mut KernelTracker, out: &mut Parsed) {
    let prefix = String::from_utf8_lossy(&rec.prefix);
    let mut parts = prefix.split(',');
    let pri = parts.next().and_then(|p| p.trim().parse::<u32>().ok());
    let seq = parts.next().and_then(|p| p.parse::<u64>().ok());
    let ts = parts.next().and_then(|p| p.parse::<u64>().ok());
    let flags = parts.next().unwrap_or("");
    let (Some(pri), Some(seq), Some(since_boot_us)) = (pri, seq, ts) else {
        out.problems.push(ParseProblem::at_line(
            ctx,
            rec.line,
            format!("bad kmsg record header {prefix:?}"),
        ));
        return;
    };
    let decoded = unescape_kmsg(&rec.message);
    let msg = String::from_utf8_lossy(&decoded);
    let timestamp = boot_timestamp(ctx, since_boot_us);
    let mut ev = base_event(
        ctx,
        Source::Kmsg,
        timestamp.clone(),
        &msg,
        record_raw,
        rec.line,
        rec.offset,
    );
    if timestamp == Timestamp::Unknown {
        ev.fields.insert("since_boot_us".into(), json!(since_boot_us));
    }
    ev.fields.insert("seq".into(), json!(seq));
    ev.fields.insert("facility".into(), json!(pri >> 3));
    ev.fields.insert("severity".into(), json!(pri & 7));
    if flags != "-" && !flags.is_empty() {
        ev.fields.insert("flags".into(), json!(flags));
    }
    for extra in parts {
        if let Some((k, v)) = extra.split_once('=') {
            ev.fields.insert(k.to_owned().into(), json!(v));
        }
    }
    for (k, v) in rec.dict {
        ev.fields.insert(k.to_ascii_lowercase().into(), json!(v));
    }
    if decoded.starts_with(b"Linux version ") {
        ev.kind = EventKind::Boot;
        ev.fields
            .insert("kernel".into(), json!(msg.trim_start_matches("Linux version ")));
        out.events.push(ev);
        return;
    }
    tracker.push(&msg, ev, rec.offset, &mut out.events, ctx.accounts);
}

/// `[  959.280000] ` → µs since boot and the rest of the line. printk prints `%5lu.%06lu`: a bracket with no
/// fraction, such as an OOM task dump row's `[ 1381]` (a pid) in `dmesg -t` output, is no time.
fn mono_prefix(s: &str) -> Option<(u64, &str)> {
    let inner_end = s.find(']')?;
    let inner = s.strip_prefix('[')?.get(..inner_end - 1)?.trim();
    let (secs, frac) = inner.split_once('.')?;
    if secs.is_empty() || !secs.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: u64 = secs.parse().ok()?;
    if frac.is_empty() || frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let micros: u64 = format!("{frac:0<6}").get(..6)?.parse().ok()?;
    let rest = &s[inner_end + 1..];
    Some((
        secs.checked_mul(1_000_000)?.checked_add(micros)?,
        rest.strip_prefix(' ').unwrap_or(rest),
    ))
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

pub fn month_number(m: &str) -> Option<u8> {
    MONTHS.iter().position(|x| *x == m).map(|i| i as u8 + 1)
}

/// `[Fri Nov 27 20:03:37 2026] ` → local time fields and the rest of the line.
fn ctime_prefix(s: &str) -> Option<(time::PrimitiveDateTime, &str)> {
    let close = s.find(']')?;
    let inner = s.strip_prefix('[')?.get(..close - 1)?;
    let f: Vec<&str> = inner.split_whitespace().collect();
    if f.len() != 5 {
        return None;
    }
    let month = time::Month::try_from(month_number(f[1])?).ok()?;
    let day: u8 = f[2].parse().ok()?;
    let year: i32 = f[4].parse().ok()?;
    let hms: Vec<u8> = f[3].split(':').filter_map(|x| x.parse().ok()).collect();
    let [h, m, sec] = hms.as_slice() else { return None };
    let date = time::Date::from_calendar_date(year, month, day).ok()?;
    let t = time::Time::from_hms(*h, *m, *sec).ok()?;
    let rest = &s[close + 1..];
    Some((
        time::PrimitiveDateTime::new(date, t),
        rest.strip_prefix(' ').unwrap_or(rest),
    ))
}

/// A local wall-clock time → UTC with the host's offset at collection (stated in the assumption).
pub fn local_to_utc(ctx: &SourceCtx, local: time::PrimitiveDateTime, what: &str) -> Timestamp {
    let (offset, note) = match ctx.manifest.host.utc_offset_seconds {
        Some(s) => (
            s,
            format!("{what}; host UTC offset at collection ({}) assumed", fmt_offset(s)),
        ),
        None => (0, format!("{what}; host UTC offset unknown, UTC assumed")),
    };
    let secs = local.assume_utc().unix_timestamp() - i64::from(offset);
    match Utc::from_unix(secs, local.nanosecond()) {
        Some(utc) => Timestamp::Inferred { utc, assumption: note },
        None => Timestamp::Unknown,
    }
}

pub fn fmt_offset(s: i32) -> String {
    let sign = if s < 0 { '-' } else { '+' };
    let a = s.unsigned_abs();
    format!("UTC{sign}{:02}:{:02}", a / 3600, (a % 3600) / 60)
}

/// An optional `<N>` syslog level prefix (`dmesg -r`, pstore).
fn level_prefix(s: &str) -> (Option<u32>, &str) {
    if let Some(rest) = s.strip_prefix('<') {
        if let Some(close) = rest.find('>') {
            if let Ok(n) = rest[..close].parse::<u32>() {
                return (Some(n), &rest[close + 1..]);
            }
        }
    }
    (None, s)
}

/// Why a dmesg text file holds an earlier boot's messages, when it does: it was last written before the
/// collected boot began (`/var/log/dmesg` is written at boot and rotated to `dmesg.0`, `dmesg.1.gz`… at the
/// next), or, with no mtime or boot time to compare, its name is such a rotation. A command's output
/// (`dmesg` run at collection) is this boot's.
fn earlier_boot(ctx: &SourceCtx) -> Option<String> {
    if ctx.entry.command.is_some() {
        return None;
    }
    let mtime = ctx.entry.stat.as_ref().and_then(|s| s.mtime);
    if let (Some(m), Some(boot)) = (mtime, ctx.manifest.host.boot_time) {
        return (m < boot).then(|| format!("the file was last written ({}) before this boot ({})", m.rfc3339(), boot.rfc3339()));
    }
    let name = ctx.entry.source.rsplit('/').next().unwrap_or("");
    let rotation = name.strip_prefix("dmesg.").map(|n| n.strip_suffix(".gz").unwrap_or(n));
    rotation
        .filter(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()))
        .map(|_| format!("{name} is a rotation of /var/log/dmesg, written at an earlier boot"))
}

fn parse_dmesg(raw: &[u8], ctx: &SourceCtx, source: Source) -> Parsed {
    let mut out = Parsed::default();
    let mut tracker = KernelTracker::default();
    let pstore = source == Source::Pstore;
    // An earlier boot's `[seconds]` count from that boot, whose start is not known: converting them with
    // this boot's clock would place them at false times. They are bounded by this boot (and by the file's
    // mtime, when earlier) instead; `dmesg -T` times carry their own wall clock and are kept, except pstore's.
    let earlier = if pstore { None } else { earlier_boot(ctx) };
    let previous_boot = pstore || earlier.is_some();
    let before = {
        let mtime = ctx.entry.stat.as_ref().and_then(|s| s.mtime).filter(|_| earlier.is_some());
        match (ctx.manifest.host.boot_time, mtime) {
            (Some(b), Some(m)) => Some(b.min(m)),
            (b, m) => b.or(m),
        }
    };
    let bounded = || match before {
        Some(b) => Timestamp::Bounded { after: None, before: Some(b) },
        None => Timestamp::Unknown,
    };
    // The record being built: its own text (what is matched), the event, and where its bytes start and end;
    // continuation lines extend the bytes and the summary, never the matched text.
    let mut pending: Option<(String, Event, u64, usize)> = None;
    let flush = |p: Option<(String, Event, u64, usize)>, tracker: &mut KernelTracker, out: &mut Parsed| {
        if let Some((msg, mut ev, offset, end)) = p {
            // Taken from the entry once, so a long run of continuation lines stays linear.
            ev.raw = coroner_schemas::Text::from_bytes(raw.get(offset as usize..end).unwrap_or(&[]));
            if ev.kind == EventKind::Boot {
                out.events.push(ev);
            } else {
                tracker.push(&msg, ev, offset, &mut out.events, ctx.accounts);
            }
        }
    };
    // A file without time prefixes is not malformed (`dmesg -t` writes it): its lines are undated, and the
    // pipeline bounds each by the file's mtime and says so in the event.
    let timed = has_time_prefixes(raw);
    for line in lines(raw) {
        let text = String::from_utf8_lossy(line.bytes);
        let text = text.strip_suffix('\r').unwrap_or(&text);
        let (level, body) = level_prefix(text);
        let (timestamp, msg, since_boot) = if let Some((us, rest)) = mono_prefix(body) {
            let ts = if previous_boot { bounded() } else { boot_timestamp(ctx, us) };
            (ts, rest, Some(us))
        } else if let Some((local, rest)) = ctime_prefix(body) {
            let ts = if pstore {
                bounded()
            } else {
                local_to_utc(
                    ctx,
                    local,
                    "dmesg -T local time (itself derived from boot time, drifts after suspend)",
                )
            };
            (ts, rest, None)
        } else if pstore && is_pstore_header(body) {
            flush(pending.take(), &mut tracker, &mut out);
            let mut ev = base_event(ctx, source, bounded(), body, line.bytes, line.number, line.offset);
            ev.fields.insert("pstore_header".into(), json!(body));
            if body.starts_with("Panic#") {
                ev.kind = EventKind::KernelPanic;
            } else if body.starts_with("Oops#") {
                ev.kind = EventKind::KernelOops;
            }
            out.events.push(ev);
            continue;
        } else if !timed && !body.trim().is_empty() {
            // A file without time prefixes: every line is a record of its own, undated.
            (if previous_boot { bounded() } else { Timestamp::Unknown }, body, None)
        } else {
            // No prefix in a file with them: a continuation of the record before it.
            match pending.as_mut() {
                Some((_, ev, _, end)) => {
                    *end = line.offset as usize + line.bytes.len();
                    if ev.message.chars().count() < 1000 {
                        ev.message.push('\n');
                        ev.message.push_str(text);
                        ev.message = cap_message(&ev.message);
                    }
                }
                None if line.bytes.is_empty() => {}
                None => {
                    let mut ev = base_event(
                        ctx,
                        source,
                        Timestamp::Unknown,
                        text,
                        line.bytes,
                        line.number,
                        line.offset,
                    );
                    if previous_boot {
                        ev.timestamp = bounded();
                    } else {
                        out.problems.push(ParseProblem::at_line(
                            ctx,
                            line.number,
                            "dmesg line without a time prefix",
                        ));
                    }
                    pending = Some((
                        text.to_owned(),
                        ev,
                        line.offset,
                        line.offset as usize + line.bytes.len(),
                    ));
                }
            }
            continue;
        };
        flush(pending.take(), &mut tracker, &mut out);
        let mut ev = base_event(
            ctx,
            source,
            timestamp.clone(),
            msg,
            line.bytes,
            line.number,
            line.offset,
        );
        if let Some(us) = since_boot {
            if timestamp == Timestamp::Unknown || previous_boot {
                ev.fields.insert("since_boot_us".into(), json!(us));
            }
        }
        if let Some(l) = level {
            ev.fields.insert("facility".into(), json!(l >> 3));
            ev.fields.insert("severity".into(), json!(l & 7));
        }
        if previous_boot {
            ev.fields.insert("previous_boot".into(), json!(true));
        }
        if let Some(why) = &earlier {
            ev.fields.insert("earlier_boot".into(), json!(why));
        }
        if let Some(k) = msg.strip_prefix("Linux version ") {
            ev.kind = EventKind::Boot;
            ev.fields.insert("kernel".into(), json!(k));
        }
        pending = Some((msg.to_owned(), ev, line.offset, line.offset as usize + line.bytes.len()));
    }
    flush(pending.take(), &mut tracker, &mut out);
    out
}

/// Whether the file's records carry time prefixes (`dmesg`, `dmesg -T`, pstore) or not (`dmesg -t`, a log saved
/// without times). Decided by the count of lines of each kind, so one message that happens to begin like a time
/// does not turn an untimed file's lines into continuations, nor a few continuation lines a timed file's records.
fn has_time_prefixes(raw: &[u8]) -> bool {
    let (mut timed, mut bare) = (0usize, 0usize);
    for line in lines(raw) {
        if line.bytes.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let text = String::from_utf8_lossy(line.bytes);
        let (_, body) = level_prefix(&text);
        if mono_prefix(body).is_some() || ctime_prefix(body).is_some() {
            timed += 1;
        } else {
            bare += 1;
        }
    }
    timed > 0 && timed >= bare
}

/// pstore's `Oops#1 Part1`, `Panic#2 Part3`, `Emergency#1 Part1`… record headers.
fn is_pstore_header(s: &str) -> bool {
    let Some((reason, rest)) = s.split_once('#') else {
        return false;
    };
    !reason.is_empty() && reason.bytes().all(|b| b.is_ascii_alphabetic()) && rest.contains(" Part")
}
