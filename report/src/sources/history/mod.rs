//! Shell and program histories: bash (`#EPOCH` lines), zsh (extended `: EPOCH:DUR;cmd`, metafied bytes,
//! backslash-continued lines), fish (`- cmd:` / `when:`), tcsh (`#+EPOCH`), and plain-line histories.
//!
//! Every command becomes a `shell_command` event, or a `kill_command` when it sends signals or stops
//! services ([`kill`]). Dated commands are [`Timestamp::Exact`]; undated ones are
//! [`Timestamp::Bounded`] by the previous dated command and the next one (or the file's mtime), order kept.

pub mod bash;
pub mod fish;
pub mod kill;
pub mod zsh;


use coroner_schemas::manifest::Format;
use coroner_schemas::{Event, EventKind, Fields, Origin, Source, Text, Timestamp, Utc};
use serde_json::json;

use super::{Parsed, SourceCtx};

/// One command read from a history file, before timestamps are settled.
#[derive(Clone, Debug)]
pub struct HistRecord {
    /// 1-based line of the command's first line.
    pub line: u64,
    /// Byte offset of the record.
    pub offset: u64,
    /// The record exactly as stored (metafied, escaped).
    pub raw: Vec<u8>,
    /// The command as the shell ran it (unmetafied, unescaped).
    pub command: Vec<u8>,
    /// Seconds since the epoch, when the file records it.
    pub when: Option<i64>,
    /// Extra fields (zsh `duration`, fish `paths`).
    pub extra: Fields,
}

/// Lines of `raw` with their 1-based number and byte offset; the trailing newline is not part of a line.
pub(crate) fn lines(raw: &[u8]) -> impl Iterator<Item = (u64, u64, &[u8])> {
    let mut off = 0usize;
    let mut n = 0u64;
    std::iter::from_fn(move || {
        if off >= raw.len() {
            return None;
        }
        let rest = raw.get(off..)?;
        let len = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        let line = rest.get(..len)?;
        let start = off;
        off += len + 1;
        n += 1;
        Some((n, start as u64, line))
    })
}

pub fn parse(raw: &[u8], ctx: &SourceCtx) -> Parsed {
    let mut parsed = Parsed::default();
    let (shell, records) = match ctx.entry.format {
        Format::BashHistory => ("bash", bash::parse_records(raw, b"#", ctx, &mut parsed.problems)),
        Format::TcshHistory => ("tcsh", bash::parse_records(raw, b"#+", ctx, &mut parsed.problems)),
        Format::ZshHistory => ("zsh", zsh::parse_records(raw, ctx, &mut parsed.problems)),
        Format::FishHistory => ("fish", fish::parse_records(raw, ctx, &mut parsed.problems)),
        Format::ShHistory => ("sh", plain_records(raw)),
        _ => ("other", plain_records(raw)),
    };
    parsed.events = to_events(records, shell, ctx);
    parsed
}

/// Plain histories: one command per non-empty line, no times.
pub fn plain_records(raw: &[u8]) -> Vec<HistRecord> {
    lines(raw)
        .filter(|(_, _, l)| !l.iter().all(u8::is_ascii_whitespace))
        .map(|(line, offset, l)| HistRecord {
            line,
            offset,
            raw: l.to_vec(),
            command: l.strip_suffix(b"\r").unwrap_or(l).to_vec(),
            when: None,
            extra: Fields::new(),
        })
        .collect()
}

/// Settles timestamps (dated → Exact; undated → Bounded by dated neighbours and the mtime) and builds events.
pub fn to_events(records: Vec<HistRecord>, shell: &str, ctx: &SourceCtx) -> Vec<Event> {
    let mtime = ctx.entry.stat.as_ref().and_then(|s| s.mtime);
    let times: Vec<Option<Utc>> = records
        .iter()
        // A stamp of 0 (`: 0:0;` lines of converted zsh histories, `#0`) is no time: the command is undated.
        .map(|r| r.when.filter(|&s| s != 0).and_then(|s| Utc::from_unix(s, 0)))
        .collect();
    // next_dated[i]: the first dated time at or after i.
    let mut next_dated: Vec<Option<Utc>> = vec![None; times.len() + 1];
    next_dated[times.len()] = mtime;
    for i in (0..times.len()).rev() {
        next_dated[i] = times[i].or(next_dated[i + 1]);
    }
    let user = ctx.entry.account.clone();
    let uid = user.as_deref().and_then(|u| ctx.accounts.by_name(u)).map(|u| u.uid);
    let mut prev: Option<Utc> = None;
    let mut out = Vec::with_capacity(records.len());
    for (i, r) in records.into_iter().enumerate() {
        let timestamp = match times[i] {
            Some(t) => {
                prev = Some(t);
                Timestamp::Exact { utc: t }
            }
            None => super::bounded(prev, next_dated[i + 1]),
        };
        let command = String::from_utf8_lossy(&r.command).into_owned();
        let kills = kill::find_kills(&command);
        let mut fields: Fields = Fields::new();
        fields.insert("command".into(), json!(command));
        if std::str::from_utf8(&r.command).is_err() {
            // The command text above is lossy for display; the exact bytes are here and in `raw`.
            fields.insert("command_bytes".into(), json!(Text::from_bytes(&r.command)));
        }
        fields.insert("shell".into(), json!(shell));
        fields.insert("history_file".into(), json!(ctx.entry.source));
        fields.extend(r.extra);
        let kind = if kills.is_empty() {
            EventKind::ShellCommand
        } else {
            EventKind::KillCommand
        };
        if let Some(first) = kills.first() {
            fields.extend(first.fields());
            if kills.len() > 1 {
                // Several kill-family commands on one line: targets are the union, each one is listed.
                for key in ["target_pids", "target_names", "target_units"] {
                    let all: Vec<serde_json::Value> = kills
                        .iter()
                        .flat_map(|k| {
                            k.fields()
                                .get(key)
                                .and_then(|v| v.as_array())
                                .cloned()
                                .unwrap_or_default()
                        })
                        .collect();
                    fields.insert(key.into(), serde_json::Value::Array(all));
                }
                fields.insert(
                    "kills".into(),
                    serde_json::Value::Array(kills.iter().map(|k| serde_json::Value::Object(k.fields())).collect()),
                );
            }
        }
        let who = user.as_deref().unwrap_or("?");
        let message = format!("{shell} ({who}): {}", one_line(&command, 300));
        out.push(Event {
            uid,
            user: user.clone(),
            fields,
            ..Event::new(
                timestamp,
                Source::History,
                kind,
                message,
                Text::from_bytes(&r.raw),
                Origin {
                    entry: ctx.path.clone(),
                    line: Some(r.line),
                    offset: Some(r.offset),
                },
            )
        });
    }
    out
}

/// A display line: newlines shown as `⏎`, cut at `max` characters with `…`.
pub(crate) fn one_line(s: &str, max: usize) -> String {
    let mut out: String = s.chars().take(max).map(|c| if c == '\n' { '⏎' } else { c }).collect();
    if s.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

/// Reads a decimal epoch (digits only).
pub(crate) fn epoch(b: &[u8]) -> Option<i64> {
    if b.is_empty() || b.len() > 12 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(b).ok()?.parse().ok()
}
