//! Indexes over the timeline that findings consult: which process a pid was at a given time (from audit
//! EXECVE/SYSCALL records and the process table), its parent chain, and who was logged in when.

use std::collections::BTreeMap;

use coroner_schemas::{Event, EventKind, Source, Utc};

/// What one record says a pid was.
#[derive(Clone, Debug)]
pub struct ProcInfo {
    /// From when this description holds (exec time, or process start time). `None`: unknown, assumed old.
    pub since: Option<Utc>,
    pub ppid: Option<i64>,
    pub comm: Option<String>,
    pub exe: Option<String>,
    pub argv: Option<String>,
    /// The arguments one by one, from an execve record (argv[0] first).
    pub args: Option<Vec<String>>,
    /// The files an execve record names (PATH records: the file executed as named, a script's interpreter).
    pub paths: Vec<String>,
    pub uid: Option<u32>,
    pub user: Option<String>,
    /// Whether the pid was seen alive at collection (process table).
    pub alive_at_collection: bool,
    /// From an execve record: at equal times it describes the process after the others.
    pub exec: bool,
    /// The event (timeline index) this description was read from, so a finding can cite it.
    pub record: usize,
    /// The other events [`ProcIndex::describe`] filled fields from (empty, and unallocated, in the index).
    pub also: Vec<usize>,
}

impl ProcInfo {
    /// Every event this description was read from, sorted, without repeats.
    pub fn records(&self) -> Vec<usize> {
        let mut v: Vec<usize> = std::iter::once(self.record).chain(self.also.iter().copied()).collect();
        v.sort_unstable();
        v.dedup();
        v
    }
}

/// One pid's descriptions in time order, and for each position the nearest description at or before it that
/// gives each field ([`FILLED`] of them), so [`ProcIndex::describe`] does not walk a busy pid's every record (a
/// sender audited 46,000 times made each finding about it walk all 46,000).
#[derive(Default)]
struct PidRecords {
    recs: Vec<ProcInfo>,
    nearest: Vec<[u32; FILLED]>,
}

/// The fields `describe` fills from other records: ppid, comm, exe, argv, args (with paths), uid, user.
const FILLED: usize = 7;
const NONE: u32 = u32::MAX;

impl PidRecords {
    fn has(i: &ProcInfo) -> [bool; FILLED] {
        [i.ppid.is_some(), i.comm.is_some(), i.exe.is_some(), i.argv.is_some(), i.args.is_some(), i.uid.is_some(), i.user.is_some()]
    }

    fn finish(&mut self) {
        self.recs.sort_by(|a, b| a.since.cmp(&b.since).then(a.exec.cmp(&b.exec)));
        let mut cur = [NONE; FILLED];
        self.nearest = self
            .recs
            .iter()
            .enumerate()
            .map(|(n, i)| {
                for (f, has) in Self::has(i).into_iter().enumerate() {
                    if has {
                        cur[f] = u32::try_from(n).unwrap_or(NONE);
                    }
                }
                cur
            })
            .collect();
    }

    /// How many records begin no later than `t` (undated ones sort first and always count).
    fn upto(&self, t: i64) -> usize {
        self.recs.partition_point(|i| i.since.is_none_or(|s| s.unix_micros() <= t))
    }
}

#[derive(Default)]
pub struct ProcIndex {
    by_pid: BTreeMap<i64, PidRecords>,
    /// uid → user name, as the bundle's parsers resolved them.
    pub user_names: BTreeMap<u32, String>,
}

impl ProcIndex {
    pub fn build(events: &[Event]) -> ProcIndex {
        let mut idx = ProcIndex::default();
        for (n, e) in events.iter().enumerate() {
            if let (Some(uid), Some(user)) = (e.uid, e.user.as_ref()) {
                idx.user_names.entry(uid).or_insert_with(|| user.clone());
            }
            let Some(pid) = e.pid else { continue };
            // A failed syscall (an execve of a PATH candidate that does not exist) changed nothing.
            if failed(e) {
                continue;
            }
            let info = match (e.source, e.kind) {
                (_, EventKind::ProcessAlive) => ProcInfo {
                    exec: false,
                    since: e.field_str("start_time").and_then(Utc::parse_rfc3339),
                    ppid: e.ppid,
                    comm: e.comm.clone(),
                    exe: e.field_str("exe").map(str::to_owned),
                    // The process table's `cmdline` is an argv array (read as a string it was always absent).
                    argv: e.fields.get("cmdline").and_then(|v| v.as_array()).filter(|a| !a.is_empty()).map(|a| join_args(a)),
                    args: None,
                    paths: Vec::new(),
                    uid: e.uid,
                    user: e.user.clone(),
                    alive_at_collection: true,
                    record: n,
                    also: Vec::new(),
                },
                (Source::Audit, EventKind::Exec) => ProcInfo {
                    exec: true,
                    since: e.timestamp.sort_key(),
                    ppid: e.ppid,
                    comm: e.comm.clone(),
                    exe: e.field_str("exe").map(str::to_owned),
                    argv: argv_text(e),
                    args: e.fields.get("argv").and_then(|v| v.as_array()).map(|a| {
                        a.iter().map(|v| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())).collect()
                    }),
                    paths: e
                        .fields
                        .get("paths")
                        .and_then(|v| v.as_array())
                        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                        .unwrap_or_default(),
                    uid: e.uid,
                    user: e.user.clone(),
                    alive_at_collection: false,
                    record: n,
                    also: Vec::new(),
                },
                (Source::Audit, _) if e.ppid.is_some() => ProcInfo {
                    exec: false,
                    since: e.timestamp.sort_key(),
                    ppid: e.ppid,
                    comm: e.comm.clone(),
                    exe: e.field_str("exe").map(str::to_owned),
                    // Not PROCTITLE: the kernel caches it per task across execve, so it can be stale.
                    argv: None,
                    args: None,
                    paths: Vec::new(),
                    uid: e.uid,
                    user: e.user.clone(),
                    alive_at_collection: false,
                    record: n,
                    also: Vec::new(),
                },
                _ => continue,
            };
            idx.by_pid.entry(pid).or_default().recs.push(info);
        }
        for v in idx.by_pid.values_mut() {
            v.finish();
        }
        idx
    }

    /// What `pid` was at time `at`: the latest description that began at or before `at` (an exec replaces
    /// the image, so the nearest earlier one holds). Without a time, the latest known.
    pub fn at(&self, pid: i64, at: Option<Utc>) -> Option<&ProcInfo> {
        let v = self.by_pid.get(&pid)?;
        match at {
            Some(t) => match v.upto(t.unix_micros()) {
                // Records slightly after `at` (audit's own timestamp is at syscall exit) still describe it.
                0 => v.recs.first().filter(|i| i.since.is_some_and(|s| s.unix_micros() - t.unix_micros() <= 2_000_000)),
                n => v.recs.get(n - 1),
            },
            None => v.recs.last(),
        }
    }

    /// Merged view: fields missing from the best record are filled from other records of the same process
    /// lifetime (same pid, records no later than `at` + 2 s).
    pub fn describe(&self, pid: i64, at: Option<Utc>) -> Option<ProcInfo> {
        let mut d = self.at(pid, at)?.clone();
        let v = self.by_pid.get(&pid)?;
        let end = at.map_or(v.recs.len(), |t| v.upto(t.unix_micros() + 2_000_000));
        let Some(nearest) = end.checked_sub(1).and_then(|n| v.nearest.get(n)) else { return Some(d) };
        let lacks = [d.ppid.is_none(), d.comm.is_none(), d.exe.is_none(), d.argv.is_none(), d.args.is_none(), d.uid.is_none(), d.user.is_none()];
        // Each field the best record lacks, from the nearest earlier record that has it; those records, latest
        // first, are the ones it was read from.
        let mut from: Vec<u32> = lacks.iter().zip(nearest).filter(|(l, &n)| **l && n != NONE).map(|(_, &n)| n).collect();
        from.sort_unstable_by(|a, b| b.cmp(a));
        from.dedup();
        let get = |f: usize| (lacks[f] && nearest[f] != NONE).then(|| &v.recs[nearest[f] as usize]);
        if let Some(i) = get(0) {
            d.ppid = i.ppid;
        }
        if let Some(i) = get(1) {
            d.comm.clone_from(&i.comm);
        }
        if let Some(i) = get(2) {
            d.exe.clone_from(&i.exe);
        }
        if let Some(i) = get(3) {
            d.argv.clone_from(&i.argv);
        }
        if let Some(i) = get(4) {
            d.args.clone_from(&i.args);
            d.paths.clone_from(&i.paths);
        }
        if let Some(i) = get(5) {
            d.uid = i.uid;
        }
        if let Some(i) = get(6) {
            d.user.clone_from(&i.user);
        }
        d.also.extend(from.into_iter().map(|n| v.recs[n as usize].record));
        Some(d)
    }

    /// Whether `pid` was alive at collection as the same process that existed at `at`.
    pub fn survived(&self, pid: i64, at: Option<Utc>) -> bool {
        let Some(v) = self.by_pid.get(&pid) else { return false };
        v.recs.iter().any(|i| i.alive_at_collection && matches!((i.since, at), (Some(s), Some(t)) if s <= t))
    }

    /// Whether `pid`, still named `comm`, made an audited syscall more than a second after `t`: it outlived a
    /// signal sent at `t`.
    pub fn active_after(&self, pid: i64, comm: Option<&str>, t: Option<Utc>) -> bool {
        let (Some(v), Some(t)) = (self.by_pid.get(&pid), t) else { return false };
        v.recs[v.upto(t.unix_micros() + 1_000_000)..].iter().any(|i| {
            !i.exec
                && !i.alive_at_collection
                && i.since.is_some_and(|s| s.unix_micros() > t.unix_micros() + 1_000_000)
                && (comm.is_none() || i.comm.as_deref() == comm)
        })
    }

    /// Parent chain of `pid` at `at`, nearest first, as `(pid, name)`; at most 12 steps, stops at pid 1
    /// (included) or at an unknown parent (included by pid only).
    pub fn parent_chain(&self, pid: i64, at: Option<Utc>) -> Vec<(i64, Option<String>)> {
        self.parent_chain_with_records(pid, at).0
    }

    /// [`ProcIndex::parent_chain`], with the events it was read from (each child's record naming its parent,
    /// each parent's naming it), sorted, without repeats.
    pub fn parent_chain_with_records(&self, pid: i64, at: Option<Utc>) -> (Vec<(i64, Option<String>)>, Vec<usize>) {
        let mut chain: Vec<(i64, Option<String>)> = Vec::new();
        let mut records = Vec::new();
        let first = self.describe(pid, at);
        let mut cur = first.as_ref().and_then(|i| i.ppid);
        if cur.is_some() {
            records.extend(first.iter().flat_map(ProcInfo::records));
        }
        while let Some(p) = cur {
            if p <= 0 || chain.len() >= 12 || chain.iter().any(|(q, _)| *q == p) {
                break;
            }
            let info = self.describe(p, at);
            records.extend(info.iter().flat_map(ProcInfo::records));
            chain.push((p, info.as_ref().and_then(|i| i.comm.clone())));
            if p == 1 {
                break;
            }
            cur = info.and_then(|i| i.ppid);
        }
        records.sort_unstable();
        records.dedup();
        (chain, records)
    }
}

/// An audit record of a syscall that failed (`success=no`).
pub fn failed(e: &Event) -> bool {
    match e.fields.get("success") {
        Some(v) => v.as_bool().map_or_else(|| v.as_str() == Some("no"), |b| !b),
        None => false,
    }
}

/// Arguments joined by spaces (a non-string item as its JSON text).
fn join_args(a: &[serde_json::Value]) -> String {
    a.iter().map(|v| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())).collect::<Vec<_>>().join(" ")
}

fn argv_text(e: &Event) -> Option<String> {
    let argv = e.fields.get("argv");
    if let Some(a) = argv.and_then(|v| v.as_array()) {
        Some(join_args(a))
    } else if let Some(s) = argv.and_then(|v| v.as_str()) {
        Some(s.to_owned())
    } else {
        e.field_str("proctitle").map(str::to_owned)
    }
}

/// A login session: who, on which tty, from where, between when.
#[derive(Clone, Debug)]
pub struct Session {
    pub user: String,
    pub uid: Option<u32>,
    pub tty: Option<String>,
    pub host: Option<String>,
    pub start: Utc,
    /// `None`: still open at collection (or no logout seen).
    pub end: Option<Utc>,
    pub event: usize,
}

pub fn sessions(events: &[Event]) -> Vec<Session> {
    let mut out = Vec::new();
    for (i, e) in events.iter().enumerate() {
        if e.kind != EventKind::Login || e.fields.get("lastlog").is_some_and(|v| v.as_bool() == Some(true)) {
            continue;
        }
        let (Some(user), Some(start)) = (e.user.clone(), e.timestamp.sort_key()) else { continue };
        // A logout time; or a session closed by a shutdown or a crash (`down`, `crash`) after `session_seconds`;
        // otherwise still open (`still logged in`, or no end recorded).
        let end = e.field_str("session_end").and_then(Utc::parse_rfc3339).or_else(|| {
            let secs = e.field_i64("session_seconds")?;
            Utc::from_unix_micros(start.unix_micros().checked_add(secs.checked_mul(1_000_000)?)?)
        });
        out.push(Session {
            user,
            uid: e.uid,
            tty: e.field_str("tty").map(str::to_owned),
            host: e.field_str("host").filter(|h| !h.is_empty()).map(str::to_owned),
            start,
            end,
            event: i,
        });
    }
    out
}

impl Session {
    pub fn covers(&self, t: Utc) -> bool {
        self.start <= t && self.end.is_none_or(|e| t <= e)
    }
}

/// Which sessions cover an instant, without scanning them all: the sessions sorted by start, and a segment
/// tree holding the latest end of each span of them (open sessions end never). A query visits only the spans
/// that can hold an answer, so it costs O((answers + 1) · log n) however long or short the sessions are.
#[derive(Debug, Default)]
pub struct SessionIndex {
    /// Session indexes, sorted by (start, index).
    order: Vec<usize>,
    starts: Vec<i64>,
    /// `max_end[node]` for a complete binary tree over `order` (leaves at `size..size + n`).
    max_end: Vec<i64>,
    size: usize,
}

impl SessionIndex {
    /// Indexes `which` (indexes into `sessions`).
    pub fn build(sessions: &[Session], which: impl IntoIterator<Item = usize>) -> SessionIndex {
        let mut order: Vec<usize> = which.into_iter().collect();
        order.sort_by_key(|&i| (sessions[i].start, i));
        let starts: Vec<i64> = order.iter().map(|&i| sessions[i].start.unix_micros()).collect();
        let size = order.len().next_power_of_two().max(1);
        let mut max_end = vec![i64::MIN; 2 * size];
        for (k, &i) in order.iter().enumerate() {
            max_end[size + k] = sessions[i].end.map_or(i64::MAX, |e| e.unix_micros());
        }
        for n in (1..size).rev() {
            max_end[n] = max_end[2 * n].max(max_end[2 * n + 1]);
        }
        SessionIndex { order, starts, max_end, size }
    }

    /// The sessions covering `t` (start ≤ t ≤ end, open sessions never end), in (start, index) order.
    pub fn covering(&self, t: Utc) -> Vec<usize> {
        let t = t.unix_micros();
        // Sessions that started by `t` are a prefix of `order`.
        let upto = self.starts.partition_point(|&s| s <= t);
        let mut out = Vec::new();
        if upto > 0 {
            self.collect(1, 0, self.size, upto, t, &mut out);
        }
        out
    }

    fn collect(&self, node: usize, lo: usize, hi: usize, upto: usize, t: i64, out: &mut Vec<usize>) {
        if lo >= upto || self.max_end[node] < t {
            return;
        }
        if hi - lo == 1 {
            out.push(self.order[lo]);
            return;
        }
        let mid = (lo + hi) / 2;
        self.collect(2 * node, lo, mid, upto, t, out);
        self.collect(2 * node + 1, mid, hi, upto, t, out);
    }
}

#[cfg(test)]
mod proc_index_tests {
    use super::*;
    use coroner_schemas::{Origin, Text, Timestamp};

    /// Regression: the process table's `cmdline` is an array, and reading it as a string lost every live
    /// process's command line (a killer or victim alive at collection had none).
    #[test]
    fn a_live_process_has_its_command_line() {
        let at = Utc::from_unix(1_795_810_921, 0).expect("time");
        let mut fields = coroner_schemas::Fields::new();
        fields.insert("cmdline".into(), serde_json::json!(["/usr/sbin/sshd", "-D"]));
        fields.insert("start_time".into(), serde_json::json!("2026-11-27T20:00:00.000000Z"));
        let e = Event {
            pid: Some(700),
            ppid: Some(1),
            uid: Some(0),
            user: Some("root".into()),
            comm: Some("sshd".into()),
            fields,
            ..Event::new(
                Timestamp::Exact { utc: at },
                Source::Proc,
                EventKind::ProcessAlive,
                String::new(),
                Text::from_bytes(b""),
                Origin { entry: "live/proc/processes.json".into(), line: Some(1), offset: None },
            )
        };
        let idx = ProcIndex::build(&[e]);
        let d = idx.describe(700, Some(at)).expect("pid 700");
        assert_eq!(d.argv.as_deref(), Some("/usr/sbin/sshd -D"));
    }

    /// `describe` by the nearest-record table answers what a walk back over every record answers: each field
    /// the best record lacks from the latest record (no later than `at` + 2 s) that has it.
    #[test]
    fn describe_equals_a_walk_over_every_record() {
        let mut x: u64 = 99;
        let mut next = |m: u64| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (x >> 33) % m
        };
        let mut recs = Vec::new();
        for n in 0..400 {
            let opt = |v: u64, s: String| (v % 3 == 0).then_some(s);
            recs.push(ProcInfo {
                since: (next(20) != 0).then(|| Utc::from_unix(1_000 + next(300) as i64, 0).expect("t")),
                ppid: (next(3) == 0).then_some(n as i64),
                comm: opt(next(9), format!("c{n}")),
                exe: opt(next(9), format!("e{n}")),
                argv: opt(next(9), format!("a{n}")),
                args: (next(5) == 0).then(|| vec![format!("x{n}")]),
                paths: vec![format!("p{n}")],
                uid: (next(4) == 0).then_some(n),
                user: opt(next(9), format!("u{n}")),
                alive_at_collection: false,
                exec: next(4) == 0,
                record: n as usize,
                also: Vec::new(),
            });
        }
        let mut pr = PidRecords { recs, nearest: Vec::new() };
        pr.finish();
        let sorted = pr.recs.clone();
        let walk = |at: Option<Utc>| -> Option<ProcInfo> {
            let v = &sorted;
            let mut d = match at {
                Some(t) => v.iter().rev().find(|i| i.since.is_none_or(|s| s <= t)).or_else(|| {
                    v.iter().find(|i| i.since.is_some_and(|s| s.unix_micros() - t.unix_micros() <= 2_000_000))
                }),
                None => v.last(),
            }
            .cloned()?;
            let mut args_done = d.args.is_some();
            for i in v.iter().rev() {
                if let (Some(t), Some(s)) = (at, i.since) {
                    if s.unix_micros() - t.unix_micros() > 2_000_000 {
                        continue;
                    }
                }
                let fills = (d.ppid.is_none() && i.ppid.is_some())
                    || (d.comm.is_none() && i.comm.is_some())
                    || (d.exe.is_none() && i.exe.is_some())
                    || (d.argv.is_none() && i.argv.is_some())
                    || (!args_done && i.args.is_some())
                    || (d.uid.is_none() && i.uid.is_some())
                    || (d.user.is_none() && i.user.is_some());
                if fills {
                    d.also.push(i.record);
                }
                d.ppid = d.ppid.or(i.ppid);
                d.comm = d.comm.clone().or_else(|| i.comm.clone());
                d.exe = d.exe.clone().or_else(|| i.exe.clone());
                d.argv = d.argv.clone().or_else(|| i.argv.clone());
                if !args_done && i.args.is_some() {
                    d.args = i.args.clone();
                    d.paths = i.paths.clone();
                    args_done = true;
                }
                d.uid = d.uid.or(i.uid);
                d.user = d.user.clone().or_else(|| i.user.clone());
            }
            Some(d)
        };
        let idx = ProcIndex { by_pid: [(0, pr)].into_iter().collect(), user_names: BTreeMap::new() };
        let key = |d: &ProcInfo| {
            (d.record, d.ppid, d.comm.clone(), d.exe.clone(), d.argv.clone(), d.args.clone(), d.paths.clone(), d.uid, d.user.clone(), d.also.clone())
        };
        for t in std::iter::once(None).chain((990..1_310).step_by(3).map(|s| Some(Utc::from_unix(s, 0).expect("t")))) {
            let (got, want) = (idx.describe(0, t), walk(t));
            assert_eq!(got.as_ref().map(key), want.as_ref().map(key), "at {t:?}");
        }
    }
}

#[cfg(test)]
mod session_index_tests {
    use super::*;

    fn s(start: i64, end: Option<i64>) -> Session {
        let at = |x: i64| Utc::from_unix(x, 0).expect("time");
        Session { user: "u".into(), uid: None, tty: None, host: None, start: at(start), end: end.map(at), event: 0 }
    }

    /// The index must answer exactly what a scan of every session answers, for long, short and open sessions.
    #[test]
    fn covering_equals_a_full_scan() {
        let mut v = Vec::new();
        let mut x: u64 = 12345;
        for _ in 0..500 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let start = (x >> 33) as i64 % 10_000;
            let len = (x >> 13) as i64 % 300;
            v.push(s(start, if x % 17 == 0 { None } else { Some(start + len) }));
        }
        v.push(s(0, Some(20_000)));
        let idx = SessionIndex::build(&v, 0..v.len());
        for t in (-5..10_400).step_by(7) {
            let at = Utc::from_unix(t, 0).expect("time");
            let mut want: Vec<usize> = (0..v.len()).filter(|&i| v[i].covers(at)).collect();
            want.sort_by_key(|&i| (v[i].start, i));
            assert_eq!(idx.covering(at), want, "t={t}");
        }
        assert!(SessionIndex::build(&v, std::iter::empty()).covering(Utc::from_unix(5, 0).expect("time")).is_empty());
    }
}
