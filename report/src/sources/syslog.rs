//! Syslog text files (syslog, messages, kern.log, auth.log, cron.log…), one message per line:
//! - RFC 3164 / rsyslog's traditional format: `Nov 27 20:03:37 host prog[pid]: msg`. No year and no zone:
//!   the year comes from the entry's own mtime, walking backwards from the last line (which was written at
//!   or before the mtime; a month that goes *up* while walking back is a year boundary); the zone is the
//!   host's UTC offset at collection. Both assumptions are stated in each `Timestamp::Inferred`.
//!   A rotated file's lines were written before its newer rotations' were, so the rotation order bounds it
//!   too: `syslog.2.gz` ends no later than the mtime of `syslog.1` or `syslog`, and `syslog-20261127` no
//!   later than the day its name gives. The earliest of these and the file's own mtime anchors the year (a
//!   file copied without its times, or with none, still gets the year its rotation says).
//! - rsyslog's high-precision format: `2026-11-27T20:03:37.123456+00:00 host prog[pid]: msg` (exact).
//! - RFC 5424: `<PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD…] MSG` (exact).
//!
//! RFC 3164 variants read too: a fraction after the seconds (syslog-ng `frac-digits()`), no hostname (busybox
//! `syslogd -S`: the word after the time is the tag), busybox's `host facility.level tag:`, and tab- or
//! space-indented continuation lines, which belong to the entry above (multi-line messages written unescaped).
//! An optional `<PRI>` before an RFC 3164 header is read too. `kernel:` lines go through the kernel
//! recognisers; sshd, sudo, su, cron, systemd, kubelet and container runtime lines through
//! [`classify_program`](super::daemon_lines::classify_program).

use coroner_schemas::{Event, EventKind, Origin, Source, Timestamp, Utc};
use serde_json::json;

use super::daemon_lines::{classify_program_all, speaks_of_others};
use super::kernel_lines::{cap_message, KernelTracker};
use super::kmsg::{fmt_offset, month_number};
use super::{ParseProblem, Parsed, SourceCtx};

/// When a header says it was written.
enum When {
    Exact(Utc),
    /// RFC 3164: month, day, seconds of day, fraction (ns); the year is filled in later.
    YearLess {
        month: u8,
        day: u8,
        secs: u32,
        nanos: u32,
    },
    Bad,
}

struct Header<'a> {
    when: When,
    pri: Option<u32>,
    host: Option<&'a str>,
    program: Option<&'a str>,
    program_pid: Option<i64>,
    msgid: Option<&'a str>,
    structured: Option<&'a str>,
    msg: &'a str,
}

fn pri_prefix(s: &str) -> (Option<u32>, &str) {
    if let Some(rest) = s.strip_prefix('<') {
        if let Some(close) = rest.find('>') {
            if close <= 3 {
                if let Ok(n) = rest[..close].parse::<u32>() {
                    return (Some(n), &rest[close + 1..]);
                }
            }
        }
    }
    (None, s)
}

/// `prog[pid]: msg` or `prog: msg` (RFC 3164 TAG). Anything else: no program, the whole text is the message.
fn tag(s: &str) -> (Option<&str>, Option<i64>, &str) {
    let Some(colon) = s.find(": ").or_else(|| s.strip_suffix(':').map(|t| t.len())) else {
        return (None, None, s);
    };
    let tag = &s[..colon];
    let msg = s.get(colon + 2..).unwrap_or("");
    if tag.is_empty() || tag.contains(' ') || tag.len() > 64 {
        return (None, None, s);
    }
    if let Some(open) = tag.find('[') {
        if let Some(pid) = tag[open + 1..].strip_suffix(']').and_then(|p| p.parse().ok()) {
            return (Some(&tag[..open]), Some(pid), msg);
        }
    }
    (Some(tag), None, msg)
}

fn split_word(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start_matches(' ');
    let end = s.find(' ')?;
    Some((&s[..end], &s[end + 1..]))
}

fn nil(s: &str) -> Option<&str> {
    (s != "-").then_some(s)
}

fn header(line: &str) -> Header<'_> {
    let (pri, body) = pri_prefix(line);
    // RFC 5424: VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP SD [SP MSG]
    if let (Some(_), Some(rest)) = (pri, body.strip_prefix("1 ")) {
        if let Some(h) = rfc5424(pri, rest) {
            return h;
        }
    }
    // rsyslog high precision: RFC 3339 time, host, tag.
    if body.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        if let Some((ts, rest)) = split_word(body) {
            if let Some(utc) = Utc::parse_rfc3339(ts) {
                let (host, rest) = split_word(rest).unwrap_or((rest, ""));
                let (program, program_pid, msg) = tag(rest);
                return Header {
                    when: When::Exact(utc),
                    pri,
                    host: Some(host),
                    program,
                    program_pid,
                    msgid: None,
                    structured: None,
                    msg,
                };
            }
        }
    }
    match rfc3164_time(body) {
        Some((when, rest)) => {
            // HOSTNAME, unless the daemon wrote none (busybox `syslogd -S`, some embedded daemons): then the word
            // after the time is already the tag, `prog:` or `prog[pid]:`.
            let (host, rest) = match split_word(rest) {
                Some((word, _)) if looks_like_tag(word) => (None, rest),
                Some((word, after)) => (Some(word), after),
                None if looks_like_tag(rest) => (None, rest),
                None => (Some(rest), ""),
            };
            // busybox syslogd writes the facility and level by name between host and tag: `user.notice`.
            let (pri, rest) = match split_word(rest).and_then(|(w, after)| Some((facility_level(w)?, after))) {
                Some((fl, after)) if host.is_some() => (pri.or(Some(fl)), after),
                _ => (pri, rest),
            };
            let (program, program_pid, msg) = tag(rest);
            Header {
                when,
                pri,
                host,
                program,
                program_pid,
                msgid: None,
                structured: None,
                msg,
            }
        }
        None => Header {
            when: When::Bad,
            pri,
            host: None,
            program: None,
            program_pid: None,
            msgid: None,
            structured: None,
            msg: body,
        },
    }
}

/// RFC 3164's `Mmm dd hh:mm:ss ` (dd space-padded, or not) with an optional fraction of a second after the seconds
/// (syslog-ng's `frac-digits()`: `Mar 23 23:01:18.123 `) → the time and the rest of the line.
fn rfc3164_time(body: &str) -> Option<(When, &str)> {
    let month = month_number(body.get(..3)?)?;
    let rest = body.get(3..)?.strip_prefix(' ')?;
    let rest = rest.strip_prefix(' ').unwrap_or(rest);
    let (day, rest) = rest.split_once(' ')?;
    if day.is_empty() || day.len() > 2 || !day.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let day: u8 = day.parse().ok()?;
    let (time, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    let (hms, frac) = match time.split_once('.') {
        Some((hms, frac)) => (hms, Some(frac)),
        None => (time, None),
    };
    let num = |s: &str| (s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse::<u32>().ok()).flatten();
    let mut parts = hms.split(':');
    let (hh, mm, ss) = (num(parts.next()?)?, num(parts.next()?)?, num(parts.next()?)?);
    if parts.next().is_some() || hh > 23 || mm > 59 || ss > 60 || !(1..=31).contains(&day) {
        return None;
    }
    let nanos = match frac {
        None => 0,
        Some(f) if !f.is_empty() && f.len() <= 9 && f.bytes().all(|b| b.is_ascii_digit()) => format!("{f:0<9}").parse().ok()?,
        Some(_) => return None,
    };
    Some((When::YearLess { month, day, secs: hh * 3600 + mm * 60 + ss, nanos }, rest))
}

/// A word that can only be an RFC 3164 TAG, never a HOSTNAME: `prog:` or `prog[pid]:` (a host name holds no ':'
/// at its end; `prog` holds none at all, so an IPv6 address such as `2001:db8::` is not taken for one).
fn looks_like_tag(word: &str) -> bool {
    let Some(name) = word.strip_suffix(':') else { return false };
    let name = match name.strip_suffix(']').and_then(|n| n.split_once('[')) {
        Some((n, pid)) if !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()) => n,
        Some(_) => return false,
        None => name,
    };
    !name.is_empty() && !name.contains([':', '[', ']'])
}

/// busybox syslogd's `facility.level` word (names of syslog.h's facilitynames/prioritynames) → a PRI value.
fn facility_level(word: &str) -> Option<u32> {
    const FACILITIES: [&str; 12] =
        ["kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp"];
    const LEVELS: [&str; 8] = ["emerg", "alert", "crit", "err", "warn", "notice", "info", "debug"];
    let (f, l) = word.split_once('.')?;
    let facility = match f {
        "security" => 4,
        _ => match FACILITIES.iter().position(|x| *x == f) {
            Some(i) => i as u32,
            None => 16 + f.strip_prefix("local")?.parse::<u32>().ok().filter(|n| *n < 8)?,
        },
    };
    let level = match l {
        "panic" => 0,
        "error" => 3,
        "warning" => 4,
        _ => LEVELS.iter().position(|x| *x == l)? as u32,
    };
    Some(facility * 8 + level)
}

fn rfc5424(pri: Option<u32>, rest: &str) -> Option<Header<'_>> {
    let (ts, rest) = split_word(rest)?;
    let (host, rest) = split_word(rest)?;
    let (app, rest) = split_word(rest)?;
    let (procid, rest) = split_word(rest)?;
    let (msgid, rest) = split_word(rest).unwrap_or((rest, ""));
    let utc = if ts == "-" { None } else { Some(Utc::parse_rfc3339(ts)?) };
    // Structured data: "-" or one or more [id k="v" …] elements (`\]` escapes inside values).
    let (sd, msg) = if let Some(r) = rest.strip_prefix('-') {
        (None, r)
    } else if rest.starts_with('[') {
        let b = rest.as_bytes();
        let mut i = 0;
        let mut in_quote = false;
        while i < b.len() {
            match b[i] {
                b'\\' if in_quote => i += 1,
                b'"' => in_quote = !in_quote,
                b']' if !in_quote && b.get(i + 1) != Some(&b'[') => break,
                _ => {}
            }
            i += 1;
        }
        let end = (i + 1).min(rest.len());
        (rest.get(..end), rest.get(end..).unwrap_or(""))
    } else {
        (None, rest)
    };
    let msg = msg.strip_prefix(' ').unwrap_or(msg);
    let msg = msg.strip_prefix('\u{feff}').unwrap_or(msg);
    Some(Header {
        when: utc.map(When::Exact).unwrap_or(When::Bad),
        pri,
        host: nil(host),
        program: nil(app),
        program_pid: nil(procid).and_then(|p| p.parse().ok()),
        msgid: nil(msgid),
        structured: sd,
        msg,
    })
}

/// `[  959.280000] msg` at the start of a syslog-wrapped kernel line.
fn kernel_time(msg: &str) -> (Option<u64>, &str) {
    let Some(rest) = msg.strip_prefix('[') else {
        return (None, msg);
    };
    let Some(close) = rest.find(']') else {
        return (None, msg);
    };
    let inner = rest[..close].trim();
    let Some((s, f)) = inner.split_once('.') else {
        return (None, msg);
    };
    match (
        s.parse::<u64>(),
        format!("{f:0<6}").get(..6).and_then(|f| f.parse::<u64>().ok()),
    ) {
        (Ok(s), Some(us)) if f.bytes().all(|b| b.is_ascii_digit()) => {
            let after = &rest[close + 1..];
            (
                s.checked_mul(1_000_000).and_then(|v| v.checked_add(us)),
                after.strip_prefix(' ').unwrap_or(after),
            )
        }
        _ => (None, msg),
    }
}

pub fn parse(raw: &[u8], ctx: &SourceCtx) -> Parsed {
    let mut out = Parsed::default();
    // First pass: lines and headers (year-less times get their year in the backwards pass).
    struct Item<'a> {
        number: u64,
        offset: u64,
        bytes: &'a [u8],
        text: String,
    }
    let mut items = Vec::new();
    let mut offset = 0usize;
    let mut number = 0u64;
    while offset < raw.len() {
        let rest = &raw[offset..];
        let len = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        let bytes = &rest[..len];
        number += 1;
        let text = String::from_utf8_lossy(bytes);
        let text = text.strip_suffix('\r').unwrap_or(&text).to_owned();
        if !text.trim().is_empty() {
            items.push(Item {
                number,
                offset: offset as u64,
                bytes,
                text,
            });
        }
        offset += len + 1;
    }
    let headers: Vec<Header> = items.iter().map(|i| header(&i.text)).collect();
    let stamps = assign_years(&headers, ctx);
    let mut tracker = KernelTracker::default();
    // The last entry: its event's index and where its bytes begin and (with its continuation lines) end. Its raw
    // is taken once, when the next entry begins, so a long run of continuation lines stays linear.
    let mut last: Option<(usize, usize, usize)> = None;
    let set_raw = |last: Option<(usize, usize, usize)>, events: &mut Vec<Event>| {
        if let Some((idx, start, end)) = last {
            if let Some(ev) = events.get_mut(idx) {
                ev.raw = coroner_schemas::Text::from_bytes(raw.get(start..end).unwrap_or(&[]));
            }
        }
    };
    for ((item, h), ts) in items.iter().zip(&headers).zip(stamps) {
        // A line that begins with a tab or space has no header: it continues the entry above (a multi-line
        // message written with control characters unescaped). Its bytes join that entry's.
        if matches!(h.when, When::Bad) && item.text.starts_with(['\t', ' ']) {
            if let Some((idx, _, end)) = last.as_mut() {
                *end = item.offset as usize + item.bytes.len();
                if let Some(ev) = out.events.get_mut(*idx) {
                    // A recognised event's message is its summary; a plain line's is its text, which grows.
                    if ev.kind == EventKind::Log && ev.message.chars().count() < 1000 {
                        ev.message.push('\n');
                        ev.message.push_str(&item.text);
                        ev.message = cap_message(&ev.message);
                    }
                }
                continue;
            }
        }
        set_raw(last.take(), &mut out.events);
        if matches!(h.when, When::Bad) {
            out.problems
                .push(ParseProblem::at_line(ctx, item.number, "no syslog header"));
        }
        let mut ev = Event::new(
            ts,
            Source::Syslog,
            EventKind::Log,
            cap_message(h.msg.trim_start()),
            coroner_schemas::Text::from_bytes(item.bytes),
            Origin {
                entry: ctx.path.clone(),
                line: Some(item.number),
                offset: Some(item.offset),
            },
        );
        if let Some(p) = h.program {
            ev.fields.insert("program".into(), json!(p));
        }
        if let Some(p) = h.program_pid {
            ev.fields.insert("program_pid".into(), json!(p));
        }
        if let Some(host) = h.host {
            ev.fields.insert("hostname".into(), json!(host));
        }
        if let Some(pri) = h.pri {
            ev.fields.insert("facility".into(), json!(pri >> 3));
            ev.fields.insert("severity".into(), json!(pri & 7));
        }
        if let Some(m) = h.msgid {
            ev.fields.insert("msgid".into(), json!(m));
        }
        if let Some(sd) = h.structured {
            ev.fields.insert("structured_data".into(), json!(sd));
        }
        let program = h.program.unwrap_or("");
        if program == "kernel" {
            let (since_boot, msg) = kernel_time(h.msg.trim_start_matches(' '));
            if let Some(us) = since_boot {
                ev.fields.insert("since_boot_us".into(), json!(us));
            }
            ev.message = cap_message(msg);
            tracker.push(msg, ev, item.offset, &mut out.events, ctx.accounts);
            last = Some((out.events.len() - 1, item.offset as usize, item.offset as usize + item.bytes.len()));
            continue;
        }
        let (first, more) = classify_program_all(program, h.msg, ctx.accounts);
        // The line as read, before a recognised message fills it: the base of the further events it gives.
        let base = (!more.is_empty()).then(|| ev.clone());
        // The kubelet's and the runtimes' recognised lines are about pods and containers, not about the writer.
        let other = first.as_ref().is_some_and(|c| speaks_of_others(program, c.kind));
        if let Some(c) = first {
            c.apply(&mut ev, ctx.accounts);
        }
        // The logging program's pid is the event's pid unless the message named another process.
        // systemd and systemd-coredump speak about other processes: their own pid stays in `program_pid`.
        let about_other = matches!(program, "systemd" | "systemd-coredump") || other;
        if ev.pid.is_none() && !about_other {
            ev.pid = h.program_pid;
            if ev.comm.is_none() {
                ev.comm = h.program.map(str::to_owned);
            }
        }
        out.events.push(ev);
        last = Some((out.events.len() - 1, item.offset as usize, item.offset as usize + item.bytes.len()));
        for c in more {
            if let Some(mut e) = base.clone() {
                c.apply(&mut e, ctx.accounts);
                out.events.push(e);
            }
        }
    }
    set_raw(last, &mut out.events);
    out
}

/// Gives every RFC 3164 line a year, walking backwards from the end of the entry: the last dated line is
/// at or before the entry's mtime; a month that goes up while walking back (Jan → Dec) means the year before.
fn assign_years(headers: &[Header], ctx: &SourceCtx) -> Vec<Timestamp> {
    let offset = ctx.manifest.host.utc_offset_seconds;
    let own = ctx.entry.stat.as_ref().and_then(|s| s.mtime);
    let (anchor, anchor_note) = match (own, rotation_bound(ctx, offset)) {
        (Some(m), Some((b, from))) if b < m => (
            b,
            format!("year from {from}, earlier than this file's own mtime ({})", m.rfc3339()),
        ),
        (Some(m), _) => (m, "year from the file's mtime".to_owned()),
        (None, Some((b, from))) => (b, format!("year from {from} (this file has no mtime)")),
        (None, None) => (
            ctx.manifest.collector.finished,
            "year from the collection time (no file mtime)".to_owned(),
        ),
    };
    let zone_note = match offset {
        Some(s) => format!("local time at the host's UTC offset at collection ({})", fmt_offset(s)),
        None => "host UTC offset unknown, UTC assumed".to_owned(),
    };
    let local_anchor = anchor
        .0
        .to_offset(time::UtcOffset::from_whole_seconds(offset.unwrap_or(0)).unwrap_or(time::UtcOffset::UTC));
    let mut year = local_anchor.year();
    let mut later: Option<(u8, u8, u32)> = Some((u8::from(local_anchor.month()), local_anchor.day(), u32::MAX));
    let mut out = vec![Timestamp::Unknown; headers.len()];
    for (i, h) in headers.iter().enumerate().rev() {
        match h.when {
            When::Exact(utc) => out[i] = Timestamp::Exact { utc },
            When::Bad => {}
            When::YearLess { month, day, secs, nanos } => {
                if let Some((lm, _, _)) = later {
                    // Walking back, time should not increase by more than a day's slack; a higher month
                    // (Dec after Jan) means we crossed New Year.
                    if month > lm {
                        year -= 1;
                    }
                }
                later = Some((month, day, secs));
                out[i] = year_less_utc(year, month, day, secs, nanos, offset)
                    .map(|utc| Timestamp::Inferred {
                        utc,
                        assumption: format!("{anchor_note}; {zone_note}"),
                    })
                    .unwrap_or(Timestamp::Unknown);
            }
        }
    }
    out
}

/// A time an entry's lines cannot be later than, by where it stands among its rotations, and what says so:
/// - `NAME.N` or `NAME.N.gz` (logrotate's numbered rotations): the earliest mtime of a newer one in the
///   bundle (`NAME` itself, or `NAME.M[.gz]` with M < N);
/// - `NAME-YYYYMMDD[HH…][.gz]` (logrotate's `dateext`): the end of the day after the one its name gives, at
///   the host's offset (a day's slack for `dateyesterday`, a rotation just after midnight, or a late flush).
fn rotation_bound(ctx: &SourceCtx, offset: Option<i32>) -> Option<(Utc, String)> {
    let source = ctx.entry.source.as_str();
    let name = source.strip_suffix(".gz").unwrap_or(source);
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    if let Some((base, n)) = name.rsplit_once('.').filter(|(b, n)| !b.is_empty() && digits(n) && n.len() <= 6) {
        let n: u32 = n.parse().ok()?;
        let newer = |other: &str| {
            let other = other.strip_suffix(".gz").unwrap_or(other);
            other == base
                || other
                    .strip_prefix(base)
                    .and_then(|r| r.strip_prefix('.'))
                    .filter(|m| digits(m) && m.len() <= 6)
                    .and_then(|m| m.parse::<u32>().ok())
                    .is_some_and(|m| m < n)
        };
        let mut best: Option<(Utc, &str)> = None;
        for e in ctx.manifest.entries.iter().filter(|e| newer(&e.source)) {
            if let Some(m) = e.stat.as_ref().and_then(|st| st.mtime) {
                if best.is_none_or(|(b, _)| m < b) {
                    best = Some((m, e.source.as_str()));
                }
            }
        }
        return best.map(|(m, from)| (m, format!("the mtime of {from:?}, a newer rotation ({})", m.rfc3339())));
    }
    let (_, stamp) = name.rsplit_once('-')?;
    if !(digits(stamp) && matches!(stamp.len(), 8 | 10 | 12 | 14)) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| stamp.get(r).and_then(|d| d.parse::<u32>().ok());
    let (year, month, day) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let month = time::Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date = time::Date::from_calendar_date(i32::try_from(year).ok()?, month, u8::try_from(day).ok()?).ok()?;
    let bound = date.next_day()?.next_day()?.midnight().assume_utc().unix_timestamp() - i64::from(offset.unwrap_or(0));
    Some((Utc::from_unix(bound, 0)?, format!("its name (rotated on {date}, logrotate dateext)")))
}

fn year_less_utc(year: i32, month: u8, day: u8, secs: u32, nanos: u32, offset: Option<i32>) -> Option<Utc> {
    let m = time::Month::try_from(month).ok()?;
    // Feb 29 in a year without it: keep the line, say nothing false — it cannot be placed.
    let date = time::Date::from_calendar_date(year, m, day).ok()?;
    let local = date.midnight().assume_utc().unix_timestamp() + i64::from(secs);
    Utc::from_unix(local - i64::from(offset.unwrap_or(0)), nanos)
}
