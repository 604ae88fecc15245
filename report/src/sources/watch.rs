//! The signal recorder's log ([`Format::WatchJsonl`], `coroner-collect watch`): one JSON
//! [`WatchRecord`] per line, as `schemas/src/watch.rs` defines them.
//!
//! - `signal`: a `signal_sent` event, keyed as audit's kill events are (`signal`, `target_pid`, `exe`, `auid`…);
//!   the event's `pid`/`comm`/`uid` are the sender's (for a kernel-originated signal, whatever task ran; the
//!   event says `signal_origin: kernel`). `sender_from`/`target_from` say which fields came from the trace
//!   event, the recorder's process table, or `/proc`.
//! - `oom_victim`: an `oom_kill` event about the victim, from `oom/mark_victim`.
//! - `kmsg`: the copied `/dev/kmsg` record, read by the kmsg parser ([`kmsg::parse_record`]), so a copied OOM
//!   kill or segfault gives the events a kmsg capture gives; they are marked as the recorder's (source `watch`).
//! - `start`, `stop`, `lost`: timeline lines, and a [`RecorderRun`] fact per run (since when, until when, boot,
//!   signals filtered, losses).
//!
//! [`Format::WatchJsonl`]: coroner_schemas::manifest::Format::WatchJsonl

use coroner_schemas::watch::{DeliveryAction, FieldFrom, KmsgCopy, OomVictim, ProcInfo, SignalOrigin, SignalRecord, TargetFate, WatchRecord};
use coroner_schemas::{Event, EventKind, FieldValue, Fields, Origin, Source, Text, Timestamp, Utc};
use serde_json::Value;

use super::facts::{Fact, RecorderRun};
use super::kernel_lines::KernelTracker;
use super::{kmsg, signals, ParseProblem, Parsed, SourceCtx};

/// Problems recorded one by one before the rest are only counted.
const MAX_PROBLEMS: usize = 1000;

/// What the parser carries from one line to the next: the run a record belongs to and the kernel context of
/// the copied kmsg records.
struct State<'c, 'a> {
    ctx: &'c SourceCtx<'a>,
    out: Parsed,
    run: Option<RecorderRun>,
    /// The boot of the records being read (the last `start`'s); copies of another boot start a new tracker.
    boot_id: Option<String>,
    tracker: KernelTracker,
    dropped: u64,
}

impl State<'_, '_> {
    fn problem(&mut self, line: u64, msg: impl Into<String>) {
        if self.out.problems.len() < MAX_PROBLEMS {
            self.out.problems.push(ParseProblem::at_line(self.ctx, line, msg));
        } else {
            self.dropped += 1;
        }
    }
    /// The current run, opened without a `start` when the file begins mid-run (a rotated-away start).
    fn run(&mut self, origin: &Origin) -> &mut RecorderRun {
        self.run.get_or_insert_with(|| RecorderRun { entry: origin.entry.to_string(), origin: origin.clone(), ..RecorderRun::default() })
    }
    fn seen(&mut self, origin: &Origin, at: Option<Utc>) {
        let r = self.run(origin);
        r.records += 1;
        if at.is_some() && (r.last_record.is_none() || at > r.last_record) {
            r.last_record = at;
        }
    }
    fn close_run(&mut self) {
        if let Some(r) = self.run.take() {
            self.out.facts.push(Fact::Recorder(r));
        }
    }
}

pub fn parse(raw: &[u8], ctx: &SourceCtx) -> Parsed {
    let mut st = State { ctx, out: Parsed::default(), run: None, boot_id: None, tracker: KernelTracker::default(), dropped: 0 };
    let mut pos = 0usize;
    let mut line_no = 0u64;
    while pos < raw.len() {
        line_no += 1;
        let (line, next, complete) = match memchr::memchr(b'\n', &raw[pos..]) {
            Some(n) => (&raw[pos..pos + n], pos + n + 1, true),
            None => (&raw[pos..], raw.len(), false),
        };
        let start = pos;
        pos = next;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let origin = Origin { entry: ctx.path.clone(), line: Some(line_no), offset: Some(ctx.offset + start as u64) };
        let record = match read_record(line) {
            Ok(r) => r,
            Err(why) if !complete => {
                st.problem(line_no, format!("last line has no newline and is not a whole record ({} bytes, {why}): the file was cut mid-record", line.len()));
                continue;
            }
            Err(why) => {
                st.problem(line_no, why);
                continue;
            }
        };
        if !complete {
            st.problem(line_no, "last line has no newline: the recorder may have been stopped mid-write (the record itself is whole)");
        }
        record_event(&mut st, record, line, origin);
    }
    st.close_run();
    if st.dropped > 0 {
        let n = st.dropped;
        st.out.problems.push(ParseProblem::at_line(ctx, line_no, format!("{n} more malformed lines not listed")));
    }
    st.out
}

/// One line as a record, or why it is not one: not JSON, no known `record` type, or a record of a known type
/// whose fields do not fit it.
fn read_record(line: &[u8]) -> Result<WatchRecord, String> {
    let v: Value = serde_json::from_slice(line).map_err(|e| format!("not JSON: {e}: {}", preview(line)))?;
    let kind = v.get("record").and_then(Value::as_str).map(str::to_owned);
    const KNOWN: [&str; 6] = ["start", "signal", "oom_victim", "kmsg", "lost", "stop"];
    match kind.as_deref() {
        None => Err(format!("not a recorder record (no \"record\" type): {}", preview(line))),
        Some(k) if !KNOWN.contains(&k) => Err(format!("unknown recorder record type {:?}: kept only as this problem", clip(k))),
        Some(k) => serde_json::from_value(v).map_err(|e| format!("bad {k} record: {e}")),
    }
}

fn clip(s: &str) -> String {
    let mut o: String = s.chars().take(60).collect();
    if s.chars().count() > 60 {
        o.push('…');
    }
    o
}

fn preview(line: &[u8]) -> String {
    let s: String = String::from_utf8_lossy(&line[..line.len().min(80)]).chars().map(|c| if c.is_control() { '.' } else { c }).collect();
    if line.len() > 80 { format!("{s}…") } else { s }
}

fn record_event(st: &mut State, record: WatchRecord, line: &[u8], origin: Origin) {
    let raw = Text::from_bytes(line);
    match record {
        WatchRecord::Start(s) => {
            st.close_run();
            st.boot_id = s.boot_id.clone();
            st.tracker = KernelTracker::default();
            let names: Vec<String> = s.signals.iter().map(|&n| signals::name(i64::from(n)).unwrap_or_else(|| n.to_string())).collect();
            let msg = format!(
                "signal recorder started (pid {}, version {}): records {} (filter {}), trace clock {}",
                s.pid,
                s.version,
                if names.is_empty() { "no signal".to_owned() } else { names.join(", ") },
                s.signal_filter,
                s.trace_clock
            );
            let mut e = Event::new(Timestamp::Exact { utc: s.at }, Source::Watch, EventKind::Log, one_line(msg), raw, origin.clone());
            e.pid = Some(s.pid);
            if let Some(b) = &s.boot_id {
                e.fields.insert("boot_id".into(), b.as_str());
            }
            st.out.events.push(e);
            st.run = Some(RecorderRun {
                entry: origin.entry.to_string(),
                started: Some(s.at),
                boot_id: s.boot_id,
                signals: s.signals,
                signal_filter: Some(s.signal_filter),
                origin,
                ..RecorderRun::default()
            });
        }
        WatchRecord::Stop(s) => {
            let msg = format!("signal recorder stopped ({}): {} records written, {} events lost", s.reason, s.records, s.lost);
            let e = Event::new(Timestamp::Exact { utc: s.at }, Source::Watch, EventKind::Log, one_line(msg), raw, origin.clone());
            st.out.events.push(e);
            let r = st.run(&origin);
            r.stopped = Some(s.at);
            r.stop_reason = Some(s.reason);
            r.lost = r.lost.max(s.lost);
            st.close_run();
        }
        WatchRecord::Lost(l) => {
            let msg = format!("signal recorder lost {} events ({}): {}", l.count, l.what, l.detail);
            let e = Event::new(Timestamp::Exact { utc: l.at }, Source::Watch, EventKind::Log, one_line(msg), raw, origin.clone());
            st.out.events.push(e);
            st.seen(&origin, Some(l.at));
            let r = st.run(&origin);
            r.lost_counted = r.lost_counted.saturating_add(l.count);
            r.lost = r.lost.max(r.lost_counted);
            if !r.lost_what.contains(&l.what) {
                r.lost_what.push(l.what);
            }
        }
        WatchRecord::Signal(s) => {
            st.seen(&origin, Some(s.at));
            let e = signal_event(st.ctx, &s, st.boot_id.as_deref(), raw, origin);
            st.out.events.push(e);
        }
        WatchRecord::OomVictim(o) => {
            st.seen(&origin, Some(o.at));
            let e = oom_event(st.ctx, &o, st.boot_id.as_deref(), raw, origin);
            st.out.events.push(e);
        }
        WatchRecord::Kmsg(k) => {
            st.seen(&origin, k.at);
            kmsg_copy(st, &k, origin);
        }
    }
}

/// Messages are one line: control characters from the evidence (a comm with a newline) are escaped.
fn one_line(m: String) -> String {
    if !m.chars().any(char::is_control) {
        return m;
    }
    m.chars().flat_map(|c| if c.is_control() { c.escape_default().collect::<Vec<_>>() } else { vec![c] }).collect()
}

fn from_name(f: FieldFrom) -> &'static str {
    match f {
        FieldFrom::Trace => "trace",
        FieldFrom::Table => "table",
        FieldFrom::Proc => "proc",
        FieldFrom::Parent => "parent",
    }
}

/// `{field: trace|table|proc}` for the fields a process record gives.
fn from_map(p: &ProcInfo) -> Value {
    Value::Object(p.from.iter().map(|(k, v)| (k.clone(), Value::from(from_name(*v)))).collect())
}

/// A parent chain as the process table's `ancestors` holds it: `comm (pid)`, parent first.
fn ancestors(p: &ProcInfo) -> Value {
    Value::Array(p.parents.iter().map(|a| Value::from(format!("{} ({})", a.comm.as_deref().unwrap_or("?"), a.pid))).collect())
}

fn ins(f: &mut Fields, k: &'static str, v: impl Into<FieldValue>) {
    f.insert(k.into(), v.into());
}

fn ins_opt<T: Into<FieldValue>>(f: &mut Fields, k: &'static str, v: Option<T>) {
    if let Some(v) = v {
        f.insert(k.into(), v.into());
    }
}

fn user_of(ctx: &SourceCtx, uid: Option<u32>) -> Option<String> {
    uid.and_then(|u| ctx.accounts.user_name(u)).map(str::to_owned)
}

/// The recorder's time for a trace event: its own conversion of the trace clock (`clock_zero + clock_ns`).
fn trace_time(at: Utc, clock_ns: u64) -> Timestamp {
    Timestamp::FromBoot { utc: at, since_boot_us: clock_ns / 1000 }
}

fn who(pid: i64, comm: Option<&str>, user: Option<&str>, uid: Option<u32>) -> String {
    let mut w = format!("pid {pid}");
    if let Some(c) = comm {
        w.push_str(&format!(" ({c})"));
    }
    match (user, uid) {
        (Some(u), _) => w.push_str(&format!(" as {u}")),
        (None, Some(u)) => w.push_str(&format!(" as uid {u}")),
        _ => {}
    }
    w
}

fn signal_event(ctx: &SourceCtx, s: &SignalRecord, boot: Option<&str>, raw: Text, origin: Origin) -> Event {
    let (snd, tgt) = (&s.sender, &s.target);
    let user = user_of(ctx, snd.uid);
    let mut f = Fields::with_capacity(32);
    ins_opt(&mut f, "ancestors", (!snd.parents.is_empty()).then(|| ancestors(snd)));
    ins_opt(&mut f, "argv", snd.argv.clone().map(Value::from));
    ins_opt(&mut f, "auid", snd.loginuid);
    ins_opt(&mut f, "auser", user_of(ctx, snd.loginuid));
    ins_opt(&mut f, "boot_id", boot);
    ins_opt(&mut f, "exe", snd.exe.as_deref());
    let (fate, note) = match &s.fate {
        TargetFate::Exited { after_us } => {
            ins(&mut f, "exited_after_us", *after_us);
            ("exited", format!("; it exited {} later", micros(*after_us)))
        }
        TargetFate::StillRunning { waited_ms } => {
            ins(&mut f, "waited_ms", *waited_ms);
            ("still_running", format!("; it was still running {waited_ms} ms later"))
        }
        TargetFate::Unknown => ("unknown", String::new()),
    };
    ins(&mut f, "fate", fate);
    let mut delivered = String::new();
    if let Some(d) = &s.delivery {
        let action = match d.action {
            DeliveryAction::Default => "default",
            DeliveryAction::Ignore => "ignore",
            DeliveryAction::Handler => "handler",
        };
        ins(&mut f, "delivered_action", action);
        ins(&mut f, "delivered_after_us", d.after_us);
        ins(&mut f, "delivered_sig", d.sig);
        ins(&mut f, "delivered_tid", d.tid);
        let name = signals::name(i64::from(d.sig)).unwrap_or_else(|| format!("signal {}", d.sig));
        delivered = match d.action {
            DeliveryAction::Handler => format!("; delivered to its handler {} later", micros(d.after_us)),
            _ => format!("; delivered as {name} ({action} action) {} later", micros(d.after_us)),
        };
    }
    if !snd.from.is_empty() {
        ins(&mut f, "sender_from", from_map(snd));
    }
    ins(&mut f, "si_code", s.code);
    ins(&mut f, "si_code_name", s.code_name.as_str());
    ins(&mut f, "signal", s.sig);
    ins(&mut f, "signal_group", s.group);
    ins(&mut f, "signal_name", s.signal.as_str());
    let origin_name = match s.origin {
        SignalOrigin::User => "user",
        SignalOrigin::Kernel => "kernel",
    };
    ins(&mut f, "signal_origin", origin_name);
    ins(&mut f, "signal_result", s.result_name.as_str());
    ins_opt(&mut f, "target_argv", tgt.argv.clone().map(Value::from));
    ins_opt(&mut f, "target_auid", tgt.loginuid);
    ins_opt(&mut f, "target_cgroup", tgt.cgroup.as_deref());
    ins_opt(&mut f, "target_comm", tgt.comm.as_deref());
    ins_opt(&mut f, "target_exe", tgt.exe.as_deref());
    if !tgt.from.is_empty() {
        ins(&mut f, "target_from", from_map(tgt));
    }
    ins(&mut f, "target_pid", tgt.pid);
    ins_opt(&mut f, "target_uid", tgt.uid);
    ins_opt(&mut f, "target_user", user_of(ctx, tgt.uid));
    ins_opt(&mut f, "tid", snd.tid);
    f.shrink_to_fit();
    let target = who(tgt.pid, tgt.comm.as_deref(), None, None);
    let result = if s.result == 0 { String::new() } else { format!(" ({})", s.result_name) };
    let msg = match s.origin {
        SignalOrigin::Kernel => format!(
            "the kernel sent {} ({}) to {target}{result}{note} [while {} ran]",
            s.signal,
            s.code_name,
            who(snd.pid, snd.comm.as_deref(), None, None)
        ),
        SignalOrigin::User => format!(
            "{} ({}) to {target} by {}{result}{delivered}{note}",
            s.signal,
            s.code_name,
            who(snd.pid, snd.comm.as_deref(), user.as_deref(), snd.uid)
        ),
    };
    Event {
        pid: Some(snd.pid),
        ppid: snd.parents.first().map(|a| a.pid),
        uid: snd.uid,
        user,
        comm: snd.comm.clone(),
        fields: f,
        ..Event::new(trace_time(s.at, s.clock_ns), Source::Watch, EventKind::SignalSent, one_line(msg), raw, origin)
    }
}

/// `48 µs`, `1.2 ms`, `3.0 s`.
pub(crate) fn micros(us: u64) -> String {
    if us < 1000 {
        format!("{us} µs")
    } else if us < 1_000_000 {
        format!("{:.1} ms", us as f64 / 1000.0)
    } else {
        format!("{:.1} s", us as f64 / 1_000_000.0)
    }
}

fn oom_event(ctx: &SourceCtx, o: &OomVictim, boot: Option<&str>, raw: Text, origin: Origin) -> Event {
    let p = &o.process;
    let comm = o.comm.clone().or_else(|| p.comm.clone());
    let uid = o.uid.or(p.uid);
    let mut f = Fields::with_capacity(16);
    ins_opt(&mut f, "ancestors", (!p.parents.is_empty()).then(|| ancestors(p)));
    ins_opt(&mut f, "anon_rss_kb", o.anon_rss_kb);
    ins_opt(&mut f, "argv", p.argv.clone().map(Value::from));
    ins_opt(&mut f, "boot_id", boot);
    ins_opt(&mut f, "cgroup", p.cgroup.as_deref());
    ins_opt(&mut f, "exe", p.exe.as_deref());
    ins_opt(&mut f, "file_rss_kb", o.file_rss_kb);
    ins_opt(&mut f, "oom_score_adj", o.oom_score_adj);
    ins_opt(&mut f, "shmem_rss_kb", o.shmem_rss_kb);
    if !p.from.is_empty() {
        ins(&mut f, "target_from", from_map(p));
    }
    ins_opt(&mut f, "total_vm_kb", o.total_vm_kb);
    f.shrink_to_fit();
    let msg = format!(
        "the OOM killer chose {} as its victim (oom/mark_victim){}",
        who(o.pid, comm.as_deref(), None, None),
        o.anon_rss_kb.map(|k| format!(", anon-rss {k} kB")).unwrap_or_default()
    );
    Event {
        pid: Some(o.pid),
        ppid: p.parents.first().map(|a| a.pid),
        uid,
        user: user_of(ctx, uid),
        comm,
        fields: f,
        ..Event::new(trace_time(o.at, o.clock_ns), Source::Watch, EventKind::OomKill, one_line(msg), raw, origin)
    }
}

/// A copied kernel record, through the kmsg parser: its events are the recorder's (source `watch`), placed at
/// the time the recorder gave the record (its boot, not necessarily the collected one), and name the boot.
fn kmsg_copy(st: &mut State, k: &KmsgCopy, origin: Origin) {
    let line = origin.line.unwrap_or(0);
    let offset = origin.offset.unwrap_or(0);
    let from = st.out.events.len();
    let collected_boot = st.ctx.manifest.host.boot_id.as_deref();
    // Without the recorder's time, the kmsg parser's conversion holds only for the collected boot.
    let other_boot = match (st.boot_id.as_deref(), collected_boot) {
        (Some(a), Some(b)) => a != b,
        (Some(_), None) => true,
        _ => false,
    };
    kmsg::parse_record(k.raw.as_bytes(), line, offset, st.ctx, &mut st.tracker, &mut st.out);
    if st.out.events.len() == from {
        return;
    }
    for e in &mut st.out.events[from..] {
        e.source = Source::Watch;
        let since = match &e.timestamp {
            Timestamp::FromBoot { since_boot_us, .. } => Some(*since_boot_us),
            _ => e.fields.get("since_boot_us").and_then(FieldValue::as_u64),
        };
        match (k.at, since) {
            (Some(at), Some(us)) => {
                e.timestamp = Timestamp::FromBoot { utc: at, since_boot_us: us };
                e.fields.remove("since_boot_us");
            }
            (Some(at), None) => e.timestamp = Timestamp::Exact { utc: at },
            (None, Some(us)) if other_boot => {
                e.timestamp = Timestamp::Unknown;
                e.fields.insert("since_boot_us".into(), us);
            }
            _ => {}
        }
        if let Some(b) = &st.boot_id {
            e.fields.insert("boot_id".into(), b.as_str());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::testing;

    fn run(text: &str) -> Parsed {
        let m = testing::manifest();
        let a = coroner_schemas::accounts::Accounts::default();
        let e = testing::entry("fs/var/lib/coroner/watch/watch-1.jsonl", "/var/lib/coroner/watch/watch-1.jsonl", "watch", "watch_jsonl");
        parse(text.as_bytes(), &SourceCtx::new(&e, &m, &a))
    }

    #[test]
    fn bad_lines_are_problems_with_their_line_numbers() {
        let p = run("not json\n{\"record\":\"bogus\",\"x\":1}\n{\"no_record\":1}\n{\"record\":\"stop\",\"at\":5}\n\n{\"record\":\"lost\"");
        let lines: Vec<(Option<u64>, &str)> = p.problems.iter().map(|p| (p.line, p.message.as_str())).collect();
        assert_eq!(lines.len(), 5, "{lines:#?}");
        assert!(lines[0].1.starts_with("not JSON"), "{lines:?}");
        assert_eq!(lines[0].0, Some(1));
        assert!(lines[1].1.contains("unknown recorder record type \"bogus\""), "{lines:?}");
        assert!(lines[2].1.contains("no \"record\" type"), "{lines:?}");
        assert!(lines[3].1.starts_with("bad stop record"), "{lines:?}");
        assert_eq!(lines[4].0, Some(6));
        assert!(lines[4].1.contains("cut mid-record"), "{lines:?}");
        assert!(p.events.is_empty());
    }

    #[test]
    fn hostile_bytes_do_not_panic() {
        for s in ["\u{0}", "{", "[]", "{\"record\":7}", "{\"record\":\"signal\"}", "\"record\"", "{\"record\":\"kmsg\",\"seq\":1,\"raw\":\"\",\"at\":null}"] {
            let _ = run(s);
        }
        // A copied record without its ';' is the kmsg parser's problem, at the copy's line.
        let p = run("{\"record\":\"kmsg\",\"seq\":1,\"raw\":\"6,1,2,-\",\"at\":null}\n");
        assert_eq!(p.problems.len(), 1, "{:?}", p.problems);
        assert_eq!(p.problems[0].line, Some(1));
    }
}
