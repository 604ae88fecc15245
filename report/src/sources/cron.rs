//! Scheduled jobs: system crontabs (`/etc/crontab`, `/etc/cron.d/*`: a user column), user crontabs (no user
//! column; the user is the entry's `account`), `/etc/anacrontab`, and `systemctl list-timers --all` output.
//!
//! A crontab line is a *definition*, not a time-point: its event is [`Timestamp::Bounded`] with
//! `before` = the file's mtime (the line was written no later than that) and no `after`; [`Timestamp::Unknown`]
//! when the entry has no mtime. [`Schedule`] answers "was this job due at minute T?" for the findings.

use std::collections::BTreeMap;

use coroner_schemas::manifest::Format;
use coroner_schemas::{Event, EventKind, Fields, Origin, Source, Text, Timestamp, Utc};
use serde_json::json;
use time::OffsetDateTime;

use super::history::{lines, one_line};
use super::facts::{CronJob, Fact};
use super::{ParseProblem, Parsed, SourceCtx};

/// Why a schedule did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("expected 5 fields, found {0}")]
    FieldCount(usize),
    #[error("unknown @-schedule {0:?}")]
    UnknownSpecial(String),
    #[error("bad {field} value {value:?}")]
    BadValue { field: &'static str, value: String },
}

/// A parsed cron schedule (vixie/cronie semantics).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// Bit n set = minute n (0–59).
    minutes: u64,
    /// Bit n = hour n (0–23).
    hours: u32,
    /// Bit n = day of month n (1–31).
    dom: u32,
    /// Bit n = month n (1–12).
    months: u16,
    /// Bit n = weekday n (0 = Sunday … 6; 7 is folded into 0).
    dow: u8,
    /// The day-of-month field began with `*` (cron's DOM_STAR).
    dom_star: bool,
    /// The day-of-week field began with `*` (cron's DOW_STAR).
    dow_star: bool,
    /// `@reboot`: runs at daemon start, never on a clock minute.
    pub reboot: bool,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// Reads one field into a bit set over `lo..=hi`. Names (`jan`, `mon`) map to 1-based months / 0-based days.
fn field(
    spec: &str,
    lo: u32,
    hi: u32,
    names: &[&str],
    name_base: u32,
    what: &'static str,
) -> Result<u64, ScheduleError> {
    let bad = || ScheduleError::BadValue {
        field: what,
        value: spec.to_owned(),
    };
    let num = |s: &str| -> Result<u32, ScheduleError> {
        if let Ok(n) = s.parse::<u32>() {
            return Ok(n);
        }
        let l = s.to_ascii_lowercase();
        names
            .iter()
            .position(|n| *n == l)
            .map(|p| p as u32 + name_base)
            .ok_or_else(bad)
    };
    let mut bits = 0u64;
    for part in spec.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().map_err(|_| bad())?),
            None => (part, 1),
        };
        if step == 0 {
            return Err(bad());
        }
        let (a, b) = if range == "*" {
            (lo, hi)
        } else if let Some((x, y)) = range.split_once('-') {
            (num(x)?, num(y)?)
        } else {
            let a = num(range)?;
            // `5/15` means 5-max/15 (cronie); a bare number is just itself.
            (a, if part.contains('/') { hi } else { a })
        };
        if a < lo || b > hi || a > b {
            return Err(bad());
        }
        let mut v = a;
        while v <= b {
            bits |= 1u64 << v;
            match v.checked_add(step) {
                Some(n) => v = n,
                None => break,
            }
        }
    }
    Ok(bits)
}

impl Schedule {
    /// Parses `m h dom mon dow` or an `@` nickname (`@hourly`, `@daily`/`@midnight`, `@weekly`, `@monthly`,
    /// `@yearly`/`@annually`, `@reboot`).
    pub fn parse(spec: &str) -> Result<Schedule, ScheduleError> {
        let spec = spec.trim();
        if let Some(nick) = spec.strip_prefix('@') {
            let expanded = match nick.to_ascii_lowercase().as_str() {
                "reboot" => {
                    return Ok(Schedule {
                        minutes: 0,
                        hours: 0,
                        dom: 0,
                        months: 0,
                        dow: 0,
                        dom_star: false,
                        dow_star: false,
                        reboot: true,
                    })
                }
                "hourly" => "0 * * * *",
                "daily" | "midnight" => "0 0 * * *",
                "weekly" => "0 0 * * 0",
                "monthly" => "0 0 1 * *",
                "yearly" | "annually" => "0 0 1 1 *",
                _ => return Err(ScheduleError::UnknownSpecial(spec.to_owned())),
            };
            return Schedule::parse(expanded);
        }
        let f: Vec<&str> = spec.split_ascii_whitespace().collect();
        if f.len() != 5 {
            return Err(ScheduleError::FieldCount(f.len()));
        }
        let mut dow = field(f[4], 0, 7, &DAYS, 0, "day-of-week")?;
        if dow & (1 << 7) != 0 {
            dow = (dow | 1) & 0x7f;
        }
        Ok(Schedule {
            minutes: field(f[0], 0, 59, &[], 0, "minute")?,
            hours: field(f[1], 0, 23, &[], 0, "hour")? as u32,
            dom: field(f[2], 1, 31, &[], 0, "day-of-month")? as u32,
            months: field(f[3], 1, 12, &MONTHS, 1, "month")? as u16,
            dow: dow as u8,
            dom_star: f[2].starts_with('*'),
            dow_star: f[4].starts_with('*'),
            reboot: false,
        })
    }

    /// Whether the job runs at the minute of `t`, read in `t`'s own offset (pass the time in the cron
    /// daemon's zone, or `CRON_TZ`). When both day fields are restricted, either matching is enough (cron's
    /// OR rule); when one starts with `*`, both must match.
    pub fn is_due(&self, t: OffsetDateTime) -> bool {
        if self.reboot {
            return false;
        }
        let dom_ok = self.dom & (1 << t.day()) != 0;
        let dow_ok = self.dow & (1 << t.weekday().number_days_from_sunday()) != 0;
        let day_ok = if self.dom_star || self.dow_star {
            dom_ok && dow_ok
        } else {
            dom_ok || dow_ok
        };
        self.minutes & (1 << t.minute()) != 0
            && self.hours & (1 << t.hour()) != 0
            && self.months & (1 << u8::from(t.month())) != 0
            && day_ok
    }
}

pub fn parse(raw: &[u8], ctx: &SourceCtx) -> Parsed {
    match ctx.entry.format {
        Format::SystemdTimers => parse_timers(raw, ctx),
        Format::Anacrontab => parse_crontab(raw, ctx, Kind::Anacron),
        Format::UserCrontab => parse_crontab(raw, ctx, Kind::User),
        _ => parse_crontab(raw, ctx, Kind::System),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    System,
    User,
    Anacron,
}

fn definition_time(ctx: &SourceCtx) -> Timestamp {
    match ctx.entry.stat.as_ref().and_then(|s| s.mtime) {
        Some(m) => Timestamp::Bounded {
            after: None,
            before: Some(m),
        },
        None => Timestamp::Unknown,
    }
}

/// Splits off `n` whitespace-separated words; returns them and the rest of the line (inner spacing kept).
fn words_then_rest(s: &str, n: usize) -> Option<(Vec<&str>, &str)> {
    let mut out = Vec::with_capacity(n);
    let mut rest = s.trim_start();
    for _ in 0..n {
        let end = rest.find([' ', '\t']).unwrap_or(rest.len());
        if end == 0 {
            return None;
        }
        out.push(&rest[..end]);
        rest = rest[end..].trim_start_matches([' ', '\t']);
    }
    Some((out, rest))
}

/// `NAME=value` / `NAME = "value"` environment lines.
fn env_line(s: &str) -> Option<(String, String)> {
    let (k, v) = s.split_once('=')?;
    let k = k.trim();
    if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    let v = v.trim();
    let v = v.strip_prefix('"').and_then(|x| x.strip_suffix('"')).unwrap_or(v);
    let v = v.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')).unwrap_or(v);
    Some((k.to_owned(), v.to_owned()))
}

fn parse_crontab(raw: &[u8], ctx: &SourceCtx, kind: Kind) -> Parsed {
    let mut p = Parsed::default();
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    for (line, offset, bytes) in lines(raw) {
        let text = String::from_utf8_lossy(bytes);
        let l = text.trim_end_matches('\r').trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let starts_sched = l.starts_with(|c: char| c.is_ascii_digit() || c == '*' || c == '@');
        if !starts_sched || (kind != Kind::Anacron && l.split_whitespace().next().is_some_and(|w| w.contains('='))) {
            match env_line(l) {
                Some((k, v)) => {
                    env.insert(k, v);
                }
                None => p.problems.push(ParseProblem::at_line(
                    ctx,
                    line,
                    "neither a job nor an environment line",
                )),
            }
            continue;
        }
        let mut fields: Fields = Fields::new();
        let mut clock = None;
        let (schedule, run_as, command) = match kind {
            Kind::Anacron => {
                let Some((w, rest)) = words_then_rest(l, 3).filter(|(_, r)| !r.is_empty()) else {
                    p.problems.push(ParseProblem::at_line(
                        ctx,
                        line,
                        "anacrontab line needs period, delay, job-id and command",
                    ));
                    continue;
                };
                fields.insert("schedule_kind".into(), json!("anacron"));
                fields.insert("delay_minutes".into(), json!(w[1].parse::<u64>().ok()));
                fields.insert("job_id".into(), json!(w[2]));
                if let Ok(d) = w[0].parse::<u64>() {
                    fields.insert("period_days".into(), json!(d));
                }
                (w[0].to_owned(), Some("root".to_owned()), rest.to_owned())
            }
            _ => {
                let nsched = if l.starts_with('@') { 1 } else { 5 };
                let nwords = nsched + usize::from(kind == Kind::System);
                let Some((w, rest)) = words_then_rest(l, nwords).filter(|(_, r)| !r.is_empty()) else {
                    p.problems
                        .push(ParseProblem::at_line(ctx, line, "crontab line too short"));
                    continue;
                };
                let sched = w[..nsched].join(" ");
                match Schedule::parse(&sched) {
                    Ok(s) => clock = Some(s),
                    Err(e) => {
                        p.problems.push(ParseProblem::at_line(ctx, line, format!("schedule {sched:?}: {e}")));
                        fields.insert("schedule_error".into(), json!(e.to_string()));
                    }
                }
                fields.insert("schedule_kind".into(), json!("cron"));
                let run_as = if kind == Kind::System {
                    w.get(nsched).map(|s| (*s).to_owned())
                } else {
                    ctx.entry.account.clone()
                };
                (sched, run_as, rest.to_owned())
            }
        };
        fields.insert("schedule".into(), json!(schedule));
        fields.insert("command".into(), json!(command));
        fields.insert("run_as".into(), json!(run_as));
        fields.insert("file".into(), json!(ctx.entry.source));
        if let Some(tz) = env.get("CRON_TZ").or_else(|| env.get("TZ")) {
            fields.insert("cron_tz".into(), json!(tz));
        }
        let uid = run_as.as_deref().and_then(|u| ctx.accounts.by_name(u)).map(|u| u.uid);
        if let Some(schedule) = clock {
            p.facts.push(Fact::CronJob(CronJob {
                schedule,
                run_as: run_as.clone(),
                command: command.clone(),
                utc_offset: ctx.manifest.host.utc_offset_seconds.unwrap_or(0),
                defined_before: ctx.entry.stat.as_ref().and_then(|s| s.mtime).unwrap_or(ctx.manifest.collector.finished),
                origin: Origin { entry: ctx.path.clone(), line: Some(line), offset: Some(offset) },
                raw: Text::from_bytes(bytes),
            }));
        }
        p.events.push(Event {
            uid,
            user: run_as.clone(),
            fields,
            ..Event::new(
                definition_time(ctx),
                Source::Cron,
                EventKind::CronJob,
                format!(
                    "cron job [{schedule}] as {}: {}",
                    run_as.as_deref().unwrap_or("?"),
                    one_line(&command, 200)
                ),
                coroner_schemas::Text::from_bytes(bytes),
                Origin {
                    entry: ctx.path.clone(),
                    line: Some(line),
                    offset: Some(offset),
                },
            )
        });
    }
    p
}

/// Reads `Sat 2026-11-28 00:00:00 UTC` (weekday optional). UTC (or `GMT`) is exact; another zone name is
/// read with the host's offset at collection (an assumption: it may have changed since, e.g. DST).
fn timer_time(s: &str, ctx: &SourceCtx) -> Option<Timestamp> {
    let w: Vec<&str> = s.split_whitespace().collect();
    let i = w
        .iter()
        .position(|x| x.len() == 10 && x.as_bytes().get(4) == Some(&b'-'))?;
    let (date, clock, zone) = (w.get(i)?, w.get(i + 1)?, w.get(i + 2).copied().unwrap_or(""));
    let num = |s: &str| s.parse::<i64>().ok();
    let d: Vec<i64> = date.split('-').filter_map(num).collect();
    let c: Vec<i64> = clock.split(':').filter_map(num).collect();
    if d.len() != 3 || c.len() != 3 {
        return None;
    }
    let month = time::Month::try_from(u8::try_from(d[1]).ok()?).ok()?;
    let date = time::Date::from_calendar_date(i32::try_from(d[0]).ok()?, month, u8::try_from(d[2]).ok()?).ok()?;
    let t = date
        .with_hms(
            u8::try_from(c[0]).ok()?,
            u8::try_from(c[1]).ok()?,
            u8::try_from(c[2]).ok()?,
        )
        .ok()?;
    let secs = t.assume_utc().unix_timestamp();
    if zone == "UTC" || zone == "GMT" {
        return Some(Timestamp::Exact {
            utc: Utc::from_unix(secs, 0)?,
        });
    }
    let off = ctx.manifest.host.utc_offset_seconds?;
    Some(Timestamp::Inferred {
        utc: Utc::from_unix(secs - i64::from(off), 0)?,
        assumption: format!("zone {zone} read as the host's UTC offset at collection ({off} s)"),
    })
}

fn parse_timers(raw: &[u8], ctx: &SourceCtx) -> Parsed {
    let mut p = Parsed::default();
    let mut cols: Option<[usize; 6]> = None;
    for (line, offset, bytes) in lines(raw) {
        let text = String::from_utf8_lossy(bytes);
        let l = text.trim_end_matches('\r');
        if cols.is_none() {
            let find = |h: &str| l.find(h);
            if let (Some(a), Some(b), Some(c), Some(d), Some(e), Some(f)) = (
                find("NEXT"),
                find("LEFT"),
                find("LAST"),
                find("PASSED"),
                find("UNIT"),
                find("ACTIVATES"),
            ) {
                cols = Some([a, b, c, d, e, f]);
            }
            continue;
        }
        let Some(cols) = cols else { continue };
        if l.trim().is_empty() || l.contains("timers listed") || l.starts_with("Pass --all") {
            continue;
        }
        let cell = |k: usize| -> &str {
            let start = cols[k];
            let end = cols.get(k + 1).copied().unwrap_or(l.len());
            l.get(start..end.min(l.len()))
                .or_else(|| l.get(start..))
                .unwrap_or("")
                .trim()
        };
        let (next, last, unit, activates) = (cell(0), cell(2), cell(4), cell(5));
        if unit.is_empty() {
            p.problems
                .push(ParseProblem::at_line(ctx, line, "list-timers row without a unit"));
            continue;
        }
        let mut fields: Fields = Fields::new();
        fields.insert("schedule_kind".into(), json!("systemd_timer"));
        fields.insert("unit".into(), json!(unit));
        fields.insert("activates".into(), json!(activates));
        fields.insert("command".into(), json!(activates));
        fields.insert("next".into(), json!(next));
        fields.insert("last".into(), json!(last));
        fields.insert("file".into(), json!(ctx.entry.source));
        let origin = Origin {
            entry: ctx.path.clone(),
            line: Some(line),
            offset: Some(offset),
        };
        p.events.push(Event {
            fields,
            ..Event::new(
                Timestamp::Exact {
                    utc: ctx.manifest.collector.finished,
                },
                Source::Cron,
                EventKind::CronJob,
                format!("timer {unit} activates {activates} (next {next}, last {last})"),
                coroner_schemas::Text::from_bytes(bytes),
                origin.clone(),
            )
        });
        if let Some(ts) = timer_time(last, ctx) {
            let mut f = Fields::new();
            f.insert("unit".into(), json!(activates));
            f.insert("timer".into(), json!(unit));
            f.insert("command".into(), json!(activates));
            f.insert("run_as".into(), serde_json::Value::Null);
            p.events.push(Event {
                fields: f,
                ..Event::new(
                    ts,
                    Source::Cron,
                    EventKind::CronRun,
                    format!("timer {unit} last ran {activates}"),
                    coroner_schemas::Text::from_bytes(bytes),
                    origin,
                )
            });
        }
    }
    if cols.is_none() && !raw.iter().all(u8::is_ascii_whitespace) {
        p.problems.push(ParseProblem::at_offset(
            ctx,
            0,
            "no `NEXT LEFT LAST PASSED UNIT ACTIVATES` header",
        ));
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn due(spec: &str, t: OffsetDateTime) -> bool {
        Schedule::parse(spec).expect(spec).is_due(t)
    }

    #[test]
    fn is_due_table() {
        // 2026-11-27 is a Friday.
        let fri_0915 = datetime!(2026-11-27 09:15 UTC);
        let cases: &[(&str, OffsetDateTime, bool)] = &[
            ("* * * * *", fri_0915, true),
            ("*/15 * * * *", fri_0915, true),
            ("*/15 * * * *", datetime!(2026-11-27 09:16 UTC), false),
            ("*/15 * * * *", datetime!(2026-11-27 09:45 UTC), true),
            ("15 9 * * 1-5", fri_0915, true),
            ("15 9 * * 1-5", datetime!(2026-11-28 09:15 UTC), false), // Saturday
            ("15 9 * * MON-FRI", fri_0915, true),
            ("15 9 * * mon-fri", datetime!(2026-11-29 09:15 UTC), false), // Sunday
            ("15 9 * * 7", datetime!(2026-11-29 09:15 UTC), true),        // 7 = Sunday
            ("15 9 * * 0", datetime!(2026-11-29 09:15 UTC), true),
            ("15 9 * * 5-7", datetime!(2026-11-29 09:15 UTC), true),
            ("@hourly", datetime!(2026-11-27 10:00 UTC), true),
            ("@hourly", fri_0915, false),
            ("@daily", datetime!(2026-11-27 00:00 UTC), true),
            ("@midnight", datetime!(2026-11-27 00:01 UTC), false),
            ("@weekly", datetime!(2026-11-29 00:00 UTC), true),
            ("@monthly", datetime!(2026-12-01 00:00 UTC), true),
            ("@yearly", datetime!(2027-01-01 00:00 UTC), true),
            ("@annually", datetime!(2026-12-01 00:00 UTC), false),
            ("@reboot", fri_0915, false),
            ("0,15,30 8-10 * * *", fri_0915, true),
            ("0-30/15 9 * * *", fri_0915, true),
            ("5/10 9 * * *", fri_0915, true),
            ("5/10 9 * * *", datetime!(2026-11-27 09:20 UTC), false),
            ("15 9 * nov *", fri_0915, true),
            ("15 9 * dec *", fri_0915, false),
            ("15 9 1 JAN-DEC/2 *", datetime!(2026-11-01 09:15 UTC), true),
            // OR rule: both day fields restricted → either matches.
            ("15 9 1 * 5", fri_0915, true),  // dow matches, dom doesn't
            ("15 9 27 * 1", fri_0915, true), // dom matches, dow doesn't
            ("15 9 2 * 1", fri_0915, false), // neither
            // One starts with `*` → both must match (AND).
            ("15 9 1 * *", fri_0915, false),
            ("15 9 */2 * 5", fri_0915, true), // 27 is odd: */2 from 1 → 1,3,…,27 match; star → AND
            ("15 9 */2 * 1", fri_0915, false),
            ("15 9 * * */2", fri_0915, false), // Friday = 5 not in 0,2,4,6
        ];
        for (spec, t, want) in cases {
            assert_eq!(due(spec, *t), *want, "{spec} at {t}");
        }
        // In the cron's zone: 09:15 UTC is 10:15 at +01:00.
        assert!(due("15 10 * * *", datetime!(2026-11-27 10:15 +1)));
    }

    #[test]
    fn bad_schedules() {
        for bad in [
            "",
            "* * * *",
            "60 * * * *",
            "* 24 * * *",
            "* * 0 * *",
            "* * * 13 *",
            "* * * * 8",
            "*/0 * * * *",
            "@often",
            "5-1 * * * *",
            "x * * * *",
        ] {
            assert!(Schedule::parse(bad).is_err(), "{bad:?}");
        }
    }
}
