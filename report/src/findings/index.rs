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
    pub uid: Option<u32>,
    pub user: Option<String>,
    /// Whether the pid was seen alive at collection (process table).
    pub alive_at_collection: bool,
    /// From an execve record: at equal times it describes the process after the others.
    pub exec: bool,
}

#[derive(Default)]
pub struct ProcIndex {
    by_pid: BTreeMap<i64, Vec<ProcInfo>>,
    /// uid → user name, as the bundle's parsers resolved them.
    pub user_names: BTreeMap<u32, String>,
}

impl ProcIndex {
    pub fn build(events: &[Event]) -> ProcIndex {
        let mut idx = ProcIndex::default();
        for e in events {
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
                    argv: e.field_str("cmdline").map(str::to_owned),
                    uid: e.uid,
                    user: e.user.clone(),
                    alive_at_collection: true,
                },
                (Source::Audit, EventKind::Exec) => ProcInfo {
                    exec: true,
                    since: e.timestamp.sort_key(),
                    ppid: e.ppid,
                    comm: e.comm.clone(),
                    exe: e.field_str("exe").map(str::to_owned),
                    argv: argv_text(e),
                    uid: e.uid,
                    user: e.user.clone(),
                    alive_at_collection: false,
                },
                (Source::Audit, _) if e.ppid.is_some() => ProcInfo {
                    exec: false,
                    since: e.timestamp.sort_key(),
                    ppid: e.ppid,
                    comm: e.comm.clone(),
                    exe: e.field_str("exe").map(str::to_owned),
                    // Not PROCTITLE: the kernel caches it per task across execve, so it can be stale.
                    argv: None,
                    uid: e.uid,
                    user: e.user.clone(),
                    alive_at_collection: false,
                },
                _ => continue,
            };
            idx.by_pid.entry(pid).or_default().push(info);
        }
        for v in idx.by_pid.values_mut() {
            v.sort_by(|a, b| a.since.cmp(&b.since).then(a.exec.cmp(&b.exec)));
        }
        idx
    }

    /// What `pid` was at time `at`: the latest description that began at or before `at` (an exec replaces
    /// the image, so the nearest earlier one holds). Without a time, the latest known.
    pub fn at(&self, pid: i64, at: Option<Utc>) -> Option<&ProcInfo> {
        let v = self.by_pid.get(&pid)?;
        match at {
            Some(t) => v.iter().rev().find(|i| i.since.is_none_or(|s| s <= t)).or_else(|| {
                // Records slightly after `at` (audit's own timestamp is at syscall exit) still describe it.
                v.iter().find(|i| i.since.is_some_and(|s| s.unix_micros() - t.unix_micros() <= 2_000_000))
            }),
            None => v.last(),
        }
    }

    /// Merged view: fields missing from the best record are filled from other records of the same process
    /// lifetime (same pid, records no later than `at` + 2 s).
    pub fn describe(&self, pid: i64, at: Option<Utc>) -> Option<ProcInfo> {
        let best = self.at(pid, at)?.clone();
        let v = self.by_pid.get(&pid)?;
        let mut d = best;
        for i in v.iter().rev() {
            if let (Some(t), Some(s)) = (at, i.since) {
                if s.unix_micros() - t.unix_micros() > 2_000_000 {
                    continue;
                }
            }
            d.ppid = d.ppid.or(i.ppid);
            d.comm = d.comm.clone().or_else(|| i.comm.clone());
            d.exe = d.exe.clone().or_else(|| i.exe.clone());
            d.argv = d.argv.clone().or_else(|| i.argv.clone());
            d.uid = d.uid.or(i.uid);
            d.user = d.user.clone().or_else(|| i.user.clone());
        }
        Some(d)
    }

    /// Whether `pid` was alive at collection as the same process that existed at `at`.
    pub fn survived(&self, pid: i64, at: Option<Utc>) -> bool {
        let Some(v) = self.by_pid.get(&pid) else { return false };
        v.iter().any(|i| i.alive_at_collection && matches!((i.since, at), (Some(s), Some(t)) if s <= t))
    }

    /// Whether `pid`, still named `comm`, made an audited syscall more than a second after `t`: it outlived a
    /// signal sent at `t`.
    pub fn active_after(&self, pid: i64, comm: Option<&str>, t: Option<Utc>) -> bool {
        let (Some(v), Some(t)) = (self.by_pid.get(&pid), t) else { return false };
        v.iter().any(|i| {
            !i.exec
                && !i.alive_at_collection
                && i.since.is_some_and(|s| s.unix_micros() > t.unix_micros() + 1_000_000)
                && (comm.is_none() || i.comm.as_deref() == comm)
        })
    }

    /// Parent chain of `pid` at `at`, nearest first, as `(pid, name)`; at most 12 steps, stops at pid 1
    /// (included) or at an unknown parent (included by pid only).
    pub fn parent_chain(&self, pid: i64, at: Option<Utc>) -> Vec<(i64, Option<String>)> {
        let mut chain = Vec::new();
        let mut cur = self.describe(pid, at).and_then(|i| i.ppid);
        while let Some(p) = cur {
            if p <= 0 || chain.len() >= 12 || chain.iter().any(|(q, _)| *q == p) {
                break;
            }
            let info = self.describe(p, at);
            chain.push((p, info.as_ref().and_then(|i| i.comm.clone())));
            if p == 1 {
                break;
            }
            cur = info.and_then(|i| i.ppid);
        }
        chain
    }
}

/// An audit record of a syscall that failed (`success=no`).
pub fn failed(e: &Event) -> bool {
    match e.fields.get("success") {
        Some(serde_json::Value::Bool(b)) => !b,
        Some(serde_json::Value::String(s)) => s == "no",
        _ => false,
    }
}

fn argv_text(e: &Event) -> Option<String> {
    match e.fields.get("argv") {
        Some(serde_json::Value::Array(a)) => {
            Some(a.iter().map(|v| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())).collect::<Vec<_>>().join(" "))
        }
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        _ => e.field_str("proctitle").map(str::to_owned),
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
        let end = e.field_str("session_end").and_then(Utc::parse_rfc3339);
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
