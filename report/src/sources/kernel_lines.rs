//! Recognisers for kernel log messages, shared by every source that carries them: `/dev/kmsg` records,
//! `dmesg` text, pstore dumps, syslog-wrapped `kernel:` lines and journal messages with `_TRANSPORT=kernel`.
//!
//! The formats are the kernel's own `printk` format strings (mm/oom_kill.c, arch/x86/mm/fault.c,
//! arch/x86/kernel/traps.c, kernel/hung_task.c, kernel/watchdog.c, kernel/panic.c, kernel/signal.c). Text
//! coming from a task's `comm` is attacker-chosen (it may hold `") "`, `]: segfault at`, spaces), so every
//! recogniser anchors on the fixed text *after* the comm and takes the last match.
//!
//! Some facts span several lines of one OOM episode (the `CPU: … PID: … Comm:` line after `invoked
//! oom-killer`, the task dump table, `oom-kill:` then `Killed process`), so a [`KernelTracker`] carries that
//! state from line to line within one entry.
//!
//! The OOM kill is worded differently by kernel version (format strings checked in mm/oom_kill.c and
//! mm/memcontrol.c of Linux 3.10 and 4.19, and in the 2019 patch "mm, oom: remove 'prefer children over
//! parent' heuristic" that ended the old wording in 5.1):
//! - 2.6.32 printed `MESSAGE: kill process N (comm) score S or a child` then `Killed process N (comm) vsz:…kB,
//!   anon-rss:…kB, file-rss:…kB`, and its dump_stack `Pid: N, comm: C` where 3.10 on print `CPU: … PID: … Comm:`.
//! - ≤ 5.0 (RHEL 7 = 3.10, Ubuntu 18.04 = 4.15, RHEL 8 = 4.18, Debian 10 = 4.19) print two lines:
//!   `MESSAGE: Kill process N (comm) score S or sacrifice child` — the task chosen, whose child may be killed
//!   instead — then `Killed process N (comm) total-vm:…kB, anon-rss:…kB, file-rss:…kB[, shmem-rss:…kB]` for
//!   the task actually killed (no shmem-rss in 3.10; RHEL 7 prints `Killed process N (comm), UID U, total-vm:…`
//!   and RHEL 6 `Killed process N, UID U, (comm) total-vm:…`, both seen in logs quoted in public documentation). MESSAGE is
//!   `Out of memory`, `Out of memory (oom_kill_allocating_task)` or `Memory cgroup out of memory`.
//!   3.10 also prints `Kill process N (comm) sharing same memory` for each other process killed with the
//!   victim's memory. A memory-cgroup OOM's header holds `Task in A killed as a result of limit of B`.
//! - ≥ 5.0 print the `oom-kill:constraint=…` line; ≥ 5.1 print one kill line,
//!   `MESSAGE: Killed process N (comm) total-vm:…` (later with `UID:`, `pgtables:` and `oom_score_adj:`).
//!
//! One kill is one `OomKill` event: the `Killed process` line. The lines that chose the task (`oom-kill:`,
//! `Kill process … score`) stay `OomKill` only until their kill line comes; then they become plain lines whose
//! facts (constraint, cgroups, score) move into the kill.


use coroner_schemas::accounts::Accounts;
use coroner_schemas::{Event, EventKind, FieldValue, Fields};
use serde_json::{json, Value};

/// A message summary is capped so a 1 MB line does not become a 1 MB summary (the raw bytes stay whole).
const MAX_MESSAGE_CHARS: usize = 1000;

/// What one recogniser proved about one line.
#[derive(Clone, Debug, PartialEq)]
pub struct Classified {
    pub kind: EventKind,
    pub pid: Option<i64>,
    pub uid: Option<u32>,
    pub user: Option<String>,
    pub comm: Option<String>,
    /// A human summary; `None` keeps the line itself as the message.
    pub summary: Option<String>,
    pub fields: Fields,
    /// For an `OomKill`: which of the OOM killer's lines this is.
    oom: Option<OomLine>,
}

/// The OOM killer's lines that name a task, for [`KernelTracker`] to tie the lines of one kill together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OomLine {
    /// `oom-kill:constraint=…` (≥ 5.0): the chosen task, printed before it is killed.
    Detail,
    /// `MESSAGE: Kill process N (comm) score S or sacrifice child` (≤ 5.0): the chosen task; the kill may fall on
    /// a child of it.
    Chosen,
    /// `MESSAGE: Killed process N (comm) total-vm:…` (≥ 5.1): the kill, its cause in the line.
    Killed,
    /// `Killed process N (comm) total-vm:…` (≤ 5.0): the kill; its cause is in the lines before it.
    KilledBare,
    /// `Kill process N (comm) sharing same memory` (3.10): a process killed along with the victim.
    SharingMemory,
}

impl Classified {
    pub fn new(kind: EventKind) -> Classified {
        Classified {
            kind,
            pid: None,
            uid: None,
            user: None,
            comm: None,
            summary: None,
            fields: Fields::new(),
            oom: None,
        }
    }
    fn field(mut self, key: impl Into<coroner_schemas::fields::Key>, v: Value) -> Classified {
        self.fields.insert(key.into(), v);
        self
    }
    /// Copies everything known onto a base event (kind, process, fields, summary).
    pub fn apply(self, ev: &mut Event, accounts: &Accounts) {
        ev.kind = self.kind;
        if self.pid.is_some() {
            ev.pid = self.pid;
        }
        if self.uid.is_some() {
            ev.uid = self.uid;
        }
        if self.comm.is_some() {
            ev.comm = self.comm;
        }
        if self.user.is_some() {
            ev.user = self.user;
        } else if let Some(uid) = ev.uid {
            if ev.user.is_none() {
                ev.user = accounts.user_name(uid).map(str::to_owned);
            }
        }
        if let Some(s) = self.summary {
            ev.message = cap_message(&s);
        }
        ev.fields.extend(self.fields);
    }
}

/// Caps a summary at [`MAX_MESSAGE_CHARS`] characters, marking the cut.
pub fn cap_message(s: &str) -> String {
    match s.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

fn signal_fields(c: Classified, sig: i64) -> Classified {
    let c = c.field("signal", json!(sig));
    match super::signals::name(sig) {
        Some(n) => c.field("signal_name", json!(n)),
        None => c,
    }
}

/// Decodes `/dev/kmsg`'s `\xNN` escapes (the kernel escapes non-printable bytes and `\` itself that way).
pub fn unescape_kmsg(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && b.get(i + 1) == Some(&b'x') {
            let hex = b.get(i + 2..i + 4).and_then(|h| std::str::from_utf8(h).ok());
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// Splits `NAME[PID]` at the end of `s` (the last `[digits]`), e.g. `a]: segfault at[14221]`.
fn comm_pid_suffix(s: &str) -> Option<(String, i64)> {
    let s = s.strip_suffix(']')?;
    let open = s.rfind('[')?;
    let digits = &s[open + 1..];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((s[..open].to_owned(), digits.parse().ok()?))
}

/// `key:value` or `key value` token after `key` in `s` (up to the next space).
fn token_after<'a>(s: &'a str, key: &str) -> Option<&'a str> {
    let i = s.find(key)?;
    let rest = &s[i + key.len()..];
    Some(rest.split(' ').next().unwrap_or(""))
}

fn kb(v: &str) -> Option<i64> {
    v.trim_end_matches(',').strip_suffix("kB").and_then(|n| n.parse().ok())
}

/// `comm[pid]: segfault at ADDR ip IP sp SP error E in OBJ[…] likely on CPU N (core C, socket S)`.
fn segfault(msg: &str) -> Option<Classified> {
    const KEY: &str = ": segfault at ";
    // The last "[digits]: segfault at " is the kernel's; anything before belongs to comm.
    let mut search_end = msg.len();
    let (head, tail) = loop {
        let i = msg[..search_end].rfind(KEY)?;
        if comm_pid_suffix(&msg[..i]).is_some() {
            break (&msg[..i], &msg[i + KEY.len()..]);
        }
        search_end = i;
    };
    let (comm, pid) = comm_pid_suffix(head)?;
    let mut c = signal_fields(Classified::new(EventKind::Segfault), 11);
    c.pid = Some(pid);
    c.comm = Some(comm.clone());
    let mut parts = tail.splitn(2, ' ');
    let addr = parts.next().unwrap_or("");
    let rest = parts.next().unwrap_or("");
    c = c.field("addr", json!(addr));
    if let Some(ip) = token_after(rest, "ip ") {
        c = c.field("ip", json!(ip));
    }
    if let Some(sp) = token_after(rest, "sp ") {
        c = c.field("sp", json!(sp));
    }
    if let Some(e) = token_after(rest, "error ") {
        c = c.field("error", json!(e));
    }
    if let Some(i) = rest.find(" in ") {
        let obj = &rest[i + 4..];
        let obj = obj.split(" likely on CPU").next().unwrap_or(obj);
        c = c.field("object", json!(obj));
    }
    if let Some(cpu) = token_after(rest, "likely on CPU ").and_then(|v| v.parse::<i64>().ok()) {
        c = c.field("cpu", json!(cpu));
    }
    c.summary = Some(format!("segfault: {comm} (pid {pid}) at {addr}"));
    Some(c)
}

/// `traps: comm[pid] trap int3 ip:… sp:… error:… in OBJ[…]` and the other `do_trap` descriptions.
fn trap(msg: &str) -> Option<Classified> {
    let body = msg.strip_prefix("traps: ")?;
    let ip_at = body.rfind(" ip:")?;
    let before_ip = &body[..ip_at];
    // before_ip = "comm[pid] description"; the description holds no '['.
    let close = before_ip.rfind("] ")?;
    let (comm, pid) = comm_pid_suffix(&before_ip[..close + 1])?;
    let desc = &before_ip[close + 2..];
    let sig = match desc {
        "trap int3" => 5,
        "trap invalid opcode" => 4,
        "trap divide error" => 8,
        "trap stack segment" | "trap alignment check" => 7,
        _ => 11,
    };
    let mut c = signal_fields(Classified::new(EventKind::Trap), sig);
    c.pid = Some(pid);
    c.comm = Some(comm.clone());
    c = c.field("trap", json!(desc.strip_prefix("trap ").unwrap_or(desc)));
    let rest = &body[ip_at + 1..];
    for (key, name) in [("ip:", "ip"), ("sp:", "sp"), ("error:", "error")] {
        if let Some(v) = token_after(rest, key) {
            c = c.field(name, json!(v));
        }
    }
    if let Some(i) = rest.find(" in ") {
        c = c.field("object", json!(&rest[i + 4..]));
    }
    c.summary = Some(format!("trap: {desc} in {comm} (pid {pid})"));
    Some(c)
}

/// `NAME invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0`.
fn oom_invoked(msg: &str) -> Option<Classified> {
    const KEY: &str = " invoked oom-killer: ";
    let i = msg.rfind(KEY)?;
    let comm = &msg[..i];
    let rest = &msg[i + KEY.len()..];
    let mut c = Classified::new(EventKind::OomInvoked);
    c.comm = Some(comm.to_owned());
    for part in rest.split(", ") {
        if let Some((k, v)) = part.split_once('=') {
            let v = v.trim();
            match k {
                "gfp_mask" => c = c.field("gfp_mask", json!(v)),
                "order" | "oom_score_adj" => {
                    c = c.field(k.to_owned(), v.parse::<i64>().map(|n| json!(n)).unwrap_or_else(|_| json!(v)));
                }
                _ => {}
            }
        }
    }
    c.summary = Some(format!("{comm} invoked the OOM killer"));
    Some(c)
}

/// `oom-kill:constraint=…,nodemask=…,cpuset=…,mems_allowed=…,oom_memcg=…,task_memcg=…,task=…,pid=…,uid=…`
/// (older kernels print `global_oom` instead of `oom_memcg=…`).
fn oom_kill_detail(msg: &str) -> Option<Classified> {
    let body = msg.strip_prefix("oom-kill:")?;
    // pid and uid are numbers at the right end; read them from the right so a comm holding ",pid=" can't lie.
    let uid_at = body.rfind(",uid=")?;
    let uid: u32 = body[uid_at + 5..].trim().parse().ok()?;
    let pid_at = body[..uid_at].rfind(",pid=")?;
    let pid: i64 = body[pid_at + 5..uid_at].parse().ok()?;
    let left = &body[..pid_at];
    let constraint = left.strip_prefix("constraint=")?.split(',').next().unwrap_or("");
    let mut c = Classified::new(EventKind::OomKill);
    c.oom = Some(OomLine::Detail);
    c.pid = Some(pid);
    c.uid = Some(uid);
    c = c.field("constraint", json!(constraint));
    // Cgroup paths from the left, in the kernel's order; the task name is what lies between them and pid.
    let mut task_from = None;
    if let Some(i) = left.find(",oom_memcg=") {
        let v = &left[i + 11..];
        let end = v.find(",task_memcg=").unwrap_or(v.len());
        c = c.field("oom_memcg", json!(&v[..end]));
    }
    if let Some(i) = left.find(",task_memcg=") {
        let v = &left[i + 12..];
        if let Some(end) = v.find(",task=") {
            c = c.field("task_memcg", json!(&v[..end]));
            task_from = Some(i + 12 + end + 6);
        }
    }
    let task = match task_from {
        Some(t) => left.get(t..).unwrap_or(""),
        None => left.rfind(",task=").map(|t| &left[t + 6..]).unwrap_or(""),
    };
    c.comm = Some(task.to_owned());
    for key in ["nodemask", "cpuset", "mems_allowed"] {
        if let Some(v) = token_between(left, &format!(",{key}=")) {
            c = c.field(key, json!(v));
        }
    }
    let global = constraint_global(constraint);
    if let Some(g) = global {
        c = c.field("global", json!(g));
    }
    c.summary = Some(oom_summary(global, c.fields.get("oom_memcg"), task, pid));
    Some(c)
}

/// Whether an `oom-kill:` constraint means the whole host ran out: only CONSTRAINT_NONE does. CONSTRAINT_CPUSET
/// and CONSTRAINT_MEMORY_POLICY mean the nodes a cpuset or mempolicy allows ran out; those and codes this
/// parser does not know leave the scope unsaid (`None`).
pub(crate) fn constraint_global(constraint: &str) -> Option<bool> {
    match constraint {
        "CONSTRAINT_NONE" => Some(true),
        "CONSTRAINT_MEMCG" => Some(false),
        _ => None,
    }
}

fn token_between<'a>(s: &'a str, key: &str) -> Option<&'a str> {
    let i = s.find(key)?;
    let v = &s[i + key.len()..];
    Some(v.split(',').next().unwrap_or(v))
}

fn oom_summary(global: Option<bool>, memcg: Option<&FieldValue>, comm: &str, pid: i64) -> String {
    match (global, memcg.and_then(FieldValue::as_str)) {
        (Some(false), Some(m)) => format!("OOM killer (memory cgroup {m}) killed {comm} (pid {pid})"),
        (Some(false), None) => format!("OOM killer (memory cgroup) killed {comm} (pid {pid})"),
        (Some(true), _) => format!("OOM killer (system-wide) killed {comm} (pid {pid})"),
        (None, _) => format!("OOM killer killed {comm} (pid {pid})"),
    }
}

/// A pid as the kernel prints it with `%d`: 1 to PID_MAX_LIMIT (4194304, include/linux/threads.h). A sign,
/// `-1`, `0` or twenty digits is no pid the kernel printed.
fn kernel_pid(s: &str) -> Option<i64> {
    if s.is_empty() || s.len() > 7 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = s.parse().ok()?;
    (1..=4_194_304).contains(&n).then_some(n)
}

/// The `message` that oom_kill_process() puts before `Kill process`/`Killed process`: `Some(true)` for the
/// whole host, `Some(false)` for a memory cgroup. The second value: the task was the allocating one
/// (`vm.oom_kill_allocating_task`), not the one with the highest score.
fn oom_message(m: &str) -> Option<(bool, bool)> {
    match m {
        "Out of memory" => Some((true, false)),
        "Out of memory (oom_kill_allocating_task)" => Some((true, true)),
        "Memory cgroup out of memory" => Some((false, false)),
        _ => None,
    }
}

/// The OOM's scope as fields.
fn scope_fields(mut c: Classified, global: bool, allocating: bool) -> Classified {
    c = c.field("global", json!(global));
    if allocating {
        c = c.field("oom_kill_allocating_task", json!(true));
    }
    c
}

/// `Out of memory: Kill process N (comm) score S or sacrifice child` (2.6.36 to 5.0; 3.10 prints the score with
/// `%d`, 4.x with `%u`) and its `Memory cgroup out of memory:` and `(oom_kill_allocating_task)` variants; 2.6.32
/// printed `MESSAGE: kill process N (comm) score S or a child`.
fn oom_chosen(msg: &str) -> Option<Classified> {
    let (message, rest) = msg.split_once(": Kill process ").or_else(|| msg.split_once(": kill process "))?;
    let (global, allocating) = oom_message(message)?;
    let rest = rest.trim_end();
    let rest = rest.strip_suffix(" or sacrifice child").or_else(|| rest.strip_suffix(" or a child"))?;
    let (pid_s, after_pid) = rest.split_once(" (")?;
    let pid = kernel_pid(pid_s)?;
    // The comm may hold ") score "; the kernel's is the last.
    let at = after_pid.rfind(") score ")?;
    let score: i64 = after_pid[at + 8..].parse().ok()?;
    let mut c = scope_fields(Classified::new(EventKind::OomKill), global, allocating);
    if !global {
        // What the `oom-kill:` line of later kernels says of every memory-cgroup OOM.
        c = c.field("constraint", json!("CONSTRAINT_MEMCG"));
    }
    c.oom = Some(OomLine::Chosen);
    c.pid = Some(pid);
    c.comm = Some(after_pid[..at].to_owned());
    Some(c.field("score", json!(score)))
}

/// `Kill process N (comm) sharing same memory` (3.10: another process using the victim's memory, killed too).
fn oom_sharing(msg: &str) -> Option<Classified> {
    let rest = msg.strip_prefix("Kill process ")?.trim_end().strip_suffix(") sharing same memory")?;
    let (pid_s, comm) = rest.split_once(" (")?;
    let pid = kernel_pid(pid_s)?;
    let mut c = Classified::new(EventKind::OomKill);
    c.oom = Some(OomLine::SharingMemory);
    c.pid = Some(pid);
    c.comm = Some(comm.to_owned());
    c.summary = Some(format!("OOM killer killed {comm} (pid {pid}), which shared the victim's memory"));
    Some(c)
}

/// `Out of memory: Killed process N (comm) total-vm:…kB, anon-rss:…kB, file-rss:…kB, shmem-rss:…kB, UID:…
/// pgtables:…kB oom_score_adj:…` and its `Memory cgroup out of memory:` variant (≥ 5.1); without a message,
/// `Killed process N (comm) total-vm:…kB, anon-rss:…kB, file-rss:…kB[, shmem-rss:…kB]` (≤ 5.0), RHEL 7's
/// `Killed process N (comm), UID U, total-vm:…` and RHEL 6's `Killed process N, UID U, (comm) total-vm:…`.
fn oom_killed_process(msg: &str) -> Option<Classified> {
    const KEY: &str = "Killed process ";
    let (scope, rest) = match msg.strip_prefix(KEY) {
        Some(rest) => (None, rest),
        None => {
            let (message, rest) = msg.split_once(": Killed process ")?;
            (Some(oom_message(message)?), rest)
        }
    };
    // The comm may hold " total-vm:"; the kernel's is the last (2.6.32 printed it as `vsz:`). A line with a message
    // may be cut short of it.
    let (head, stats) = match rest.rfind(" total-vm:").max(rest.rfind(" vsz:")) {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None if scope.is_some() => (rest.trim_end(), ""),
        None => return None,
    };
    let (pid, uid, comm) = killed_head(head)?;
    let mut c = Classified::new(EventKind::OomKill);
    c.pid = Some(pid);
    c.uid = uid;
    c.comm = Some(comm.to_owned());
    c.oom = Some(OomLine::KilledBare);
    if let Some((global, allocating)) = scope {
        c = scope_fields(c, global, allocating);
        c.oom = Some(OomLine::Killed);
    }
    for tok in stats.split([' ', ',']).filter(|t| !t.is_empty()) {
        let Some((k, v)) = tok.split_once(':') else { continue };
        match k {
            "total-vm" | "anon-rss" | "file-rss" | "shmem-rss" | "pgtables" => {
                if let Some(n) = kb(v) {
                    c = c.field(format!("{}_kb", k.replace('-', "_")), json!(n));
                }
            }
            // 2.6.32's name for the same K(mm->total_vm).
            "vsz" => {
                if let Some(n) = kb(v) {
                    c = c.field("total_vm_kb", json!(n));
                }
            }
            "UID" => c.uid = v.parse().ok(),
            "oom_score_adj" => {
                if let Ok(n) = v.parse::<i64>() {
                    c = c.field("oom_score_adj", json!(n));
                }
            }
            _ => {}
        }
    }
    c.summary = Some(oom_summary(scope.map(|s| s.0), None, comm, pid));
    Some(c)
}

/// The pid, uid and comm before the statistics of a `Killed process` line: `N (comm)`, `N (comm), UID U,` or
/// `N, UID U, (comm)`.
fn killed_head(head: &str) -> Option<(i64, Option<u32>, &str)> {
    let (comm_part, uid) = match head.strip_suffix(',').and_then(|h| h.rsplit_once("), UID ")) {
        Some((h, u)) if !u.is_empty() && u.bytes().all(|b| b.is_ascii_digit()) => (h, Some(u)),
        _ => (head.strip_suffix(')')?, None),
    };
    let (pid_s, comm) = comm_part.split_once(" (")?;
    let (pid_s, uid) = match (pid_s.strip_suffix(',').and_then(|p| p.split_once(", UID ")), uid) {
        (Some((p, u)), None) => (p, Some(u)),
        (_, u) => (pid_s, u),
    };
    let uid = match uid {
        Some(u) => Some(u.parse().ok()?),
        None => None,
    };
    Some((kernel_pid(pid_s)?, uid, comm))
}

/// `oom_reaper: reaped process N (comm), now anon-rss:…kB, file-rss:…kB, shmem-rss:…kB`.
fn oom_reaped(msg: &str) -> Option<Classified> {
    let rest = msg.strip_prefix("oom_reaper: reaped process ")?;
    let (pid_s, after) = rest.split_once(" (")?;
    let pid: i64 = pid_s.parse().ok()?;
    let close = after.rfind("), now ")?;
    let comm = &after[..close];
    let mut c = Classified::new(EventKind::OomReaped);
    c.pid = Some(pid);
    c.comm = Some(comm.to_owned());
    for tok in after[close + 7..].split(", ") {
        if let Some((k, v)) = tok.split_once(':') {
            if let Some(n) = kb(v) {
                c = c.field(format!("{}_kb", k.replace('-', "_")), json!(n));
            }
        }
    }
    c.summary = Some(format!("oom_reaper reaped {comm} (pid {pid})"));
    Some(c)
}

/// `INFO: task comm:pid blocked for more than N seconds.`
fn hung_task(msg: &str) -> Option<Classified> {
    let rest = msg.strip_prefix("INFO: task ")?;
    let at = rest.rfind(" blocked for more than ")?;
    let (comm, pid) = rest[..at].rsplit_once(':')?;
    let pid: i64 = pid.parse().ok()?;
    let secs = rest[at + 23..].split(' ').next().and_then(|s| s.parse::<i64>().ok());
    let mut c = Classified::new(EventKind::HungTask);
    c.pid = Some(pid);
    c.comm = Some(comm.to_owned());
    if let Some(s) = secs {
        c = c.field("blocked_seconds", json!(s));
    }
    Some(c)
}

/// `watchdog: BUG: soft lockup - CPU#3 stuck for 22s! [comm:pid]`.
fn soft_lockup(msg: &str) -> Option<Classified> {
    let at = msg.find("BUG: soft lockup - CPU#")?;
    let rest = &msg[at + 23..];
    let cpu = rest.split(' ').next().and_then(|s| s.parse::<i64>().ok());
    let mut c = Classified::new(EventKind::SoftLockup);
    if let Some(cpu) = cpu {
        c = c.field("cpu", json!(cpu));
    }
    if let Some(s) = token_after(rest, "stuck for ").and_then(|s| s.trim_end_matches('!').strip_suffix('s')) {
        if let Ok(n) = s.parse::<i64>() {
            c = c.field("stuck_seconds", json!(n));
        }
    }
    if let Some(open) = rest.find("! [") {
        let inner = rest[open + 3..].strip_suffix(']').unwrap_or(&rest[open + 3..]);
        if let Some((comm, pid)) = inner.rsplit_once(':') {
            c.pid = pid.parse().ok();
            c.comm = Some(comm.to_owned());
        }
    }
    Some(c)
}

/// `CPU: 1 UID: 0 PID: 14231 Comm: python3 Not tainted …` (6.x) or `CPU: 1 PID: 14231 Comm: python3 …` (3.10 on);
/// before 3.10 x86's dump_stack printed `Pid: 4711, comm: java Not tainted 2.6.32-5-amd64 #1`.
fn cpu_line(msg: &str) -> Option<(Option<u32>, i64, String)> {
    if let Some(rest) = msg.strip_prefix("Pid: ") {
        let (pid, rest) = rest.split_once(", comm: ")?;
        let pid = kernel_pid(pid)?;
        let end = [" Not tainted", " Tainted: "].iter().filter_map(|m| rest.rfind(m)).max()?;
        return Some((None, pid, rest[..end].to_owned()));
    }
    let rest = msg.strip_prefix("CPU: ")?;
    let uid = token_after(rest, "UID: ").and_then(|v| v.parse().ok());
    let pid = token_after(rest, "PID: ")?.parse().ok()?;
    let comm_at = rest.find(" Comm: ")? + 7;
    let comm = &rest[comm_at..];
    // RHEL kernels print ` Kdump: loaded` before the taint.
    let end = [" Not tainted", " Tainted: ", " Kdump: "]
        .iter()
        .filter_map(|m| comm.find(m))
        .min()
        .unwrap_or(comm.len());
    Some((uid, pid, comm[..end].to_owned()))
}

/// `[  pid  ]   uid  tgid total_vm      rss … oom_score_adj name`: the task dump header, as column names
/// (3.10 prints `[ pid ]`, and columns such as `nr_ptes`).
fn task_dump_header(msg: &str) -> Option<Vec<String>> {
    let rest = msg.strip_prefix("[  pid  ]").or_else(|| msg.strip_prefix("[ pid ]"))?;
    let cols: Vec<String> = rest.split_whitespace().map(str::to_owned).collect();
    (cols.last().map(String::as_str) == Some("name")).then_some(cols)
}

/// A task dump row under the columns of its header.
fn task_dump_row(msg: &str, cols: &[String]) -> Option<Classified> {
    let rest = msg.strip_prefix('[')?;
    let close = rest.find(']')?;
    let pid: i64 = rest[..close].trim().parse().ok()?;
    let mut s = &rest[close + 1..];
    let mut c = Classified::new(EventKind::OomTaskDump);
    c.pid = Some(pid);
    for col in cols.iter().take(cols.len().saturating_sub(1)) {
        s = s.trim_start_matches(' ');
        let end = s.find(' ').unwrap_or(s.len());
        let n: i64 = s[..end].parse().ok()?;
        s = &s[end..];
        match col.as_str() {
            "uid" => c.uid = u32::try_from(n).ok(),
            "total_vm" | "rss" | "rss_anon" | "rss_file" | "rss_shmem" => {
                c = c.field(format!("{col}_pages"), json!(n));
            }
            other => c = c.field(other.to_owned(), json!(n)),
        }
    }
    // The name is the rest: %s of comm, which may hold spaces.
    let name = s.strip_prefix(' ').unwrap_or(s).trim_start_matches(' ');
    c.comm = Some(name.to_owned());
    c = c.field("name", json!(name));
    c.summary = Some(format!("OOM task dump: {name} (pid {pid})"));
    Some(c)
}

/// `crash: fatal-demo: potentially unexpected fatal signal 11.` (print-fatal-signals; 6.x prints
/// `exe: comm:`, older kernels `comm/pid:`).
fn fatal_signal(msg: &str) -> Option<Classified> {
    const KEY: &str = ": potentially unexpected fatal signal ";
    let at = msg.rfind(KEY)?;
    let sig: i64 = msg[at + KEY.len()..].trim_end_matches('.').parse().ok()?;
    let who = &msg[..at];
    let mut c = signal_fields(Classified::new(EventKind::ProcessCrash), sig);
    c = c.field("reason", json!("potentially unexpected fatal signal"));
    if let Some((comm, pid)) = who
        .rsplit_once('/')
        .and_then(|(c, p)| p.parse::<i64>().ok().map(|p| (c, p)))
    {
        c.comm = Some(comm.to_owned());
        c.pid = Some(pid);
    } else if let Some((exe, comm)) = who.split_once(": ") {
        c.comm = Some(comm.to_owned());
        c = c.field("exe", json!(exe));
    }
    Some(c)
}

/// Recognises one kernel message on its own (no multi-line context). `None`: an ordinary log line.
pub fn classify(msg: &str) -> Option<Classified> {
    if let Some(c) = segfault(msg) {
        return Some(c);
    }
    if msg.starts_with("traps: ") {
        return trap(msg);
    }
    if msg.contains(" invoked oom-killer: ") {
        return oom_invoked(msg);
    }
    if msg.starts_with("oom-kill:") {
        return oom_kill_detail(msg);
    }
    if msg.contains("Killed process ") {
        if let Some(c) = oom_killed_process(msg) {
            return Some(c);
        }
    }
    if msg.trim_end().ends_with(" or sacrifice child") || msg.trim_end().ends_with(" or a child") {
        return oom_chosen(msg);
    }
    if msg.starts_with("Kill process ") {
        return oom_sharing(msg);
    }
    if msg.starts_with("oom_reaper: reaped process ") {
        return oom_reaped(msg);
    }
    if msg.starts_with("INFO: task ") {
        return hung_task(msg);
    }
    if msg.contains("BUG: soft lockup - CPU#") {
        return soft_lockup(msg);
    }
    if let Some(reason) = msg.strip_prefix("Kernel panic - not syncing: ") {
        let mut c = Classified::new(EventKind::KernelPanic).field("reason", json!(reason));
        // kernel/exit.c find_child_reaper(): init exited (or died of a signal), `exitcode=0x%08x` since 3.x.
        if let Some(rest) = reason.strip_prefix("Attempted to kill init!") {
            c = c.field("init_died", json!(true));
            if let Some(code) = rest.trim().strip_prefix("exitcode=0x").and_then(|h| i64::from_str_radix(h.trim(), 16).ok()) {
                c = c.field("init_exitcode", json!(code));
            }
        }
        return Some(c);
    }
    if msg.contains(": potentially unexpected fatal signal ") {
        return fatal_signal(msg);
    }
    if let Some(rest) = msg.strip_prefix("WARNING: CPU: ") {
        let mut c = Classified::new(EventKind::KernelOops).field("oops", json!("WARNING"));
        c.pid = token_after(rest, "PID: ").and_then(|v| v.parse().ok());
        return Some(c);
    }
    for (prefix, what) in [
        ("BUG: ", "BUG"),
        ("Oops: ", "Oops"),
        ("general protection fault", "general protection fault"),
        ("kernel BUG at ", "BUG"),
        ("Watchdog detected hard LOCKUP", "hard lockup"),
    ] {
        if msg.starts_with(prefix) {
            return Some(Classified::new(EventKind::KernelOops).field("oops", json!(what)));
        }
    }
    None
}

/// `Task in /a/b killed as a result of limit of /a` (mm/memcontrol.c mem_cgroup_print_oom_info, 3.10 to 4.19,
/// in the header of a memory-cgroup OOM): the chosen task's memory cgroup and the one whose limit was hit.
/// Cgroup names may hold the separator text: the split taken is one where the limit's cgroup holds the task's
/// (as it always does), else the first.
fn memcg_task_in(msg: &str) -> Option<(&str, &str)> {
    const SEP: &str = " killed as a result of limit of ";
    let rest = msg.strip_prefix("Task in ")?.trim_end();
    let mut first = None;
    for (i, _) in rest.match_indices(SEP) {
        let (task, limit) = (&rest[..i], &rest[i + SEP.len()..]);
        if task.is_empty() || limit.is_empty() {
            continue;
        }
        let inside = limit == "/" || task == limit || task.strip_prefix(limit).is_some_and(|t| t.starts_with('/'));
        if inside {
            return Some((task, limit));
        }
        first.get_or_insert((task, limit));
    }
    first
}

/// Facts of an OOM as a whole, shared by every kill it makes.
const OOM_FACTS: [&str; 7] = [
    "global",
    "constraint",
    "oom_memcg",
    "nodemask",
    "cpuset",
    "mems_allowed",
    "oom_kill_allocating_task",
];

fn copy_absent(from: &Event, to: &mut Classified, keys: &[&'static str]) {
    for key in keys {
        if let Some(v) = from.fields.get(key) {
            to.fields.insert_if_absent((*key).into(), || v.clone());
        }
    }
}

/// Makes a record of the choice (`oom-kill:`, `Kill process … score`) part of the kill line at `kill_offset`: it
/// stays on the timeline as a plain line that points at the kill, and its facts move into the kill — those of
/// the chosen task only when the kill fell on that task, not on a child of it.
fn absorb(choice: &mut Event, kill: &mut Classified, kill_offset: u64) {
    choice.kind = EventKind::Log;
    choice.fields.insert("detail_of_oom_kill".into(), json!(kill_offset));
    copy_absent(choice, kill, &OOM_FACTS);
    // The kill line's "Out of memory" says only that no memory cgroup ran out; the constraint says more.
    if let Some(con) = choice.field_str("constraint") {
        match constraint_global(con) {
            Some(g) => {
                kill.fields.insert("global".into(), json!(g));
            }
            None => {
                kill.fields.remove("global");
            }
        }
    }
    if choice.pid == kill.pid {
        copy_absent(choice, kill, &["task_memcg", "score"]);
        if kill.uid.is_none() {
            kill.uid = choice.uid;
        }
    } else {
        if let Some(p) = choice.pid {
            kill.fields.insert_if_absent("chosen_pid".into(), || json!(p));
        }
        if let Some(c) = &choice.comm {
            kill.fields.insert_if_absent("chosen_comm".into(), || json!(c));
        }
        if let Some(v) = choice.fields.get("score") {
            kill.fields.insert_if_absent("chosen_score".into(), || v.clone());
        }
    }
}

fn kill_summary(c: &Classified) -> Option<String> {
    let global = c.fields.get("global").and_then(FieldValue::as_bool);
    Some(oom_summary(global, c.fields.get("oom_memcg"), c.comm.as_deref().unwrap_or(""), c.pid?))
}

/// Carries one entry's multi-line kernel context: the pending OOM episode, the task dump columns, the records of
/// the OOM killer's choice (merged into the `Killed process` line that follows them).
#[derive(Debug, Default)]
pub struct KernelTracker {
    /// Index of an event waiting for its `CPU: … PID: … Comm:` line (OOM invoker, fatal signal).
    awaiting_cpu: Option<usize>,
    /// Offset of the `invoked oom-killer` line of the current episode.
    episode: Option<u64>,
    /// Columns of the task dump table being read.
    dump_cols: Option<Vec<String>>,
    /// The records of the choice of the next victim, each event index with the chosen pid: the `oom-kill:`
    /// detail (≥ 5.0), the `Kill process … score` line (≤ 5.0). They wait for the kill line.
    selection: Vec<(usize, i64)>,
    /// The cgroups of a `Task in A killed as a result of limit of B` line (≤ 4.19), for the choice that follows.
    task_in: Option<(String, String)>,
    /// Index of the last kill of the episode, whose OOM facts hold for kills with no choice of their own
    /// (processes sharing its memory; a memory.oom.group's members).
    last_kill: Option<usize>,
    /// Pids killed in this episode (for `oom_reaper` lines).
    killed: Vec<i64>,
    /// Pid and uid of each row of the episode's task dump, for kill lines that print no uid (≤ 5.8).
    dump_uids: Vec<(i64, u32)>,
}

impl KernelTracker {
    /// Classifies one kernel message and pushes the event built on `base` (whose `message`, `raw`, `origin`,
    /// `timestamp` and `source` are already set) — or amends an earlier event of the same episode.
    pub fn push(&mut self, msg: &str, mut base: Event, offset: u64, events: &mut Vec<Event>, accounts: &Accounts) {
        let awaiting = self.awaiting_cpu.take();
        if let Some(idx) = awaiting {
            if let Some((uid, pid, comm)) = cpu_line(msg) {
                if let Some(ev) = events.get_mut(idx) {
                    if ev.pid.is_none() || ev.pid == Some(pid) {
                        ev.pid = Some(pid);
                        if ev.uid.is_none() {
                            ev.uid = uid;
                            ev.user = uid.and_then(|u| accounts.user_name(u)).map(str::to_owned);
                        }
                        if ev.comm.is_none() {
                            ev.comm = Some(comm);
                        }
                    }
                }
                events.push(base);
                return;
            }
            // Up to 4.19 `comm cpuset=/ mems_allowed=0` comes between `invoked oom-killer` and the CPU line.
            if msg.contains(" cpuset=") && msg.contains(" mems_allowed=") {
                self.awaiting_cpu = Some(idx);
                events.push(base);
                return;
            }
        }
        if let Some(cols) = self.dump_cols.clone() {
            if let Some(c) = task_dump_row(msg, &cols) {
                let mut c = c;
                if let (Some(pid), Some(uid)) = (c.pid, c.uid) {
                    self.dump_uids.push((pid, uid));
                }
                if let Some(ep) = self.episode {
                    c.fields.insert("episode".into(), json!(ep));
                }
                c.apply(&mut base, accounts);
                events.push(base);
                return;
            }
            self.dump_cols = None;
        }
        if let Some(cols) = task_dump_header(msg) {
            self.dump_cols = Some(cols);
            self.dump_uids.clear();
            if let Some(ep) = self.episode {
                base.fields.insert("episode".into(), json!(ep));
            }
            events.push(base);
            return;
        }
        if let Some((task, limit)) = memcg_task_in(msg) {
            base.fields.insert("oom_memcg".into(), json!(limit));
            base.fields.insert("task_memcg".into(), json!(task));
            if let Some(ep) = self.episode {
                base.fields.insert("episode".into(), json!(ep));
            }
            self.task_in = Some((task.to_owned(), limit.to_owned()));
            events.push(base);
            return;
        }
        let Some(mut c) = classify(msg) else {
            if msg.starts_with("Tasks state (memory values in pages)") {
                if let Some(ep) = self.episode {
                    base.fields.insert("episode".into(), json!(ep));
                }
            }
            events.push(base);
            return;
        };
        if let (EventKind::OomKill, Some(ep)) = (c.kind, self.episode) {
            c.fields.insert("episode".into(), json!(ep));
        }
        if c.kind == EventKind::OomKill && c.uid.is_none() {
            c.uid = self.dump_uids.iter().find(|(p, _)| Some(*p) == c.pid).map(|(_, u)| *u);
        }
        match (c.kind, c.oom) {
            (EventKind::OomInvoked, _) => {
                self.episode = Some(offset);
                self.killed.clear();
                self.dump_uids.clear();
                self.selection.clear();
                self.task_in = None;
                self.last_kill = None;
                self.awaiting_cpu = Some(events.len());
                c.fields.insert("episode".into(), json!(offset));
            }
            (EventKind::ProcessCrash, _) => self.awaiting_cpu = Some(events.len()),
            (EventKind::OomKill, Some(OomLine::Detail)) => {
                // Keep the kernel's own line as the message: if a `Killed process` line follows, this event
                // becomes its detail (kind `log`) and must not read like a second kill.
                c.summary = None;
                self.selection.clear();
                self.last_kill = None;
                if let Some(pid) = c.pid {
                    self.selection.push((events.len(), pid));
                    self.killed.push(pid);
                }
            }
            (EventKind::OomKill, Some(OomLine::Chosen)) => {
                // The kernel's own line says what it is (a choice, "or sacrifice child"); if the kill line
                // follows, this event becomes part of it.
                c.summary = None;
                let global = c.fields.get("global").and_then(FieldValue::as_bool);
                if let Some((task, limit)) = self.task_in.take().filter(|_| global == Some(false)) {
                    c.fields.insert_if_absent("oom_memcg".into(), || json!(limit));
                    c.fields.insert_if_absent("task_memcg".into(), || json!(task));
                }
                // 5.0 prints the `oom-kill:` line of the same choice before this one: it becomes part of it
                // now, and of the kill when that comes.
                self.selection.retain(|&(idx, pid)| {
                    if Some(pid) != c.pid {
                        return false;
                    }
                    if let Some(detail) = events.get_mut(idx) {
                        absorb(detail, &mut c, offset);
                    }
                    true
                });
                self.last_kill = None;
                if let Some(pid) = c.pid {
                    self.selection.push((events.len(), pid));
                }
            }
            (EventKind::OomKill, Some(OomLine::Killed)) => {
                // The `oom-kill:` detail line just before, for the same pid, becomes part of this kill: its
                // cgroup and constraint facts move here and it stays on the timeline as a plain line.
                let before = self.selection.len();
                let this_pid = c.pid;
                self.selection.retain(|&(idx, pid)| {
                    if Some(pid) != this_pid {
                        return true;
                    }
                    if let Some(detail) = events.get_mut(idx) {
                        absorb(detail, &mut c, offset);
                    }
                    false
                });
                if self.selection.len() != before {
                    c.summary = kill_summary(&c);
                }
                self.record_kill(&c, events.len());
            }
            (EventKind::OomKill, Some(OomLine::KilledBare)) => {
                // Every record of the choice leads to this kill, whose pid may be a child of the chosen task.
                for (idx, _) in std::mem::take(&mut self.selection) {
                    if let Some(choice) = events.get_mut(idx) {
                        absorb(choice, &mut c, offset);
                    }
                }
                if !c.fields.contains_key("global") {
                    if let Some((task, limit)) = self.task_in.take() {
                        c.fields.insert("global".into(), json!(false));
                        c.fields.insert("constraint".into(), json!("CONSTRAINT_MEMCG"));
                        c.fields.insert("oom_memcg".into(), json!(limit));
                        c.fields.insert("task_memcg".into(), json!(task));
                    } else if let Some(prev) = self.last_kill.and_then(|i| events.get(i)) {
                        copy_absent(prev, &mut c, &OOM_FACTS);
                    }
                }
                c.summary = kill_summary(&c);
                self.record_kill(&c, events.len());
            }
            (EventKind::OomKill, Some(OomLine::SharingMemory)) => {
                if let Some(victim) = self.last_kill.and_then(|i| events.get(i)) {
                    copy_absent(victim, &mut c, &OOM_FACTS);
                    if let Some(p) = victim.pid {
                        c.fields.insert("shares_memory_with".into(), json!(p));
                    }
                }
                if let Some(pid) = c.pid {
                    if !self.killed.contains(&pid) {
                        self.killed.push(pid);
                    }
                }
            }
            (EventKind::OomReaped, _) => {
                if let (Some(ep), Some(pid)) = (self.episode, c.pid) {
                    if self.killed.contains(&pid) {
                        c.fields.insert("episode".into(), json!(ep));
                    }
                }
            }
            _ => {}
        }
        c.apply(&mut base, accounts);
        events.push(base);
    }

    /// Notes a kill line about to be pushed at `index`.
    fn record_kill(&mut self, c: &Classified, index: usize) {
        if let Some(pid) = c.pid {
            if !self.killed.contains(&pid) {
                self.killed.push(pid);
            }
        }
        self.last_kill = Some(index);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segfault_comm_with_the_marker_inside_takes_the_last_pid() {
        let c = segfault("a]: segfault at[14221]: segfault at 0 ip 00005646a26961dd sp 00007fff53ca81b0 error 6 in crash[11dd,5646a2696000+1000] likely on CPU 1 (core 1, socket 0)").expect("segfault");
        assert_eq!(c.pid, Some(14221));
        assert_eq!(c.comm.as_deref(), Some("a]: segfault at"));
        assert_eq!(c.fields["object"], json!("crash[11dd,5646a2696000+1000]"));
        assert_eq!(c.fields["cpu"], json!(1));
    }

    #[test]
    fn trap_kinds_map_to_signals() {
        for (line, sig) in [
            ("traps: crash[14223] trap int3 ip:55ae44c051fe sp:7fffc06e9200 error:0 in crash[11fe,55ae44c05000+1000]", 5),
            ("traps: crash[1] trap invalid opcode ip:1 sp:2 error:0 in crash[1218,55ce4ef4a000+1000]", 4),
            ("traps: crash[1] trap divide error ip:1 sp:2 error:0", 8),
            ("traps: x] y[2] general protection fault ip:1 sp:2 error:0 in crash[1]", 11),
        ] {
            let c = trap(line).expect(line);
            assert_eq!(c.fields["signal"], json!(sig), "{line}");
        }
        assert_eq!(
            trap("traps: x] y[2] general protection fault ip:1 sp:2 error:0").and_then(|c| c.comm),
            Some("x] y".into())
        );
    }

    #[test]
    fn killed_process_comm_with_paren_space() {
        let c = oom_killed_process("Out of memory: Killed process 77 (a) (b) total-vm:10kB, anon-rss:5kB, file-rss:0kB, shmem-rss:0kB, UID:1000 pgtables:4kB oom_score_adj:-1000").expect("kill");
        assert_eq!(c.comm.as_deref(), Some("a) (b"));
        assert_eq!(c.uid, Some(1000));
        assert_eq!(c.fields["oom_score_adj"], json!(-1000));
        assert_eq!(c.fields["global"], json!(true));
    }

    #[test]
    fn old_kill_lines_in_every_wording() {
        let c = oom_chosen("Memory cgroup out of memory: Kill process 2101 (a) score 9 (b) score 993 or sacrifice child")
            .expect("chosen");
        assert_eq!((c.pid, c.comm.as_deref(), c.oom), (Some(2101), Some("a) score 9 (b"), Some(OomLine::Chosen)));
        assert_eq!((c.fields["score"].to_json(), c.fields["global"].to_json()), (json!(993), json!(false)));
        assert_eq!(c.fields["constraint"], json!("CONSTRAINT_MEMCG"));
        let c = oom_chosen("Out of memory: kill process 4711 (java) score 1012345 or a child").expect("2.6.32");
        assert_eq!((c.pid, c.comm.as_deref(), c.fields["score"].to_json()), (Some(4711), Some("java"), json!(1012345)));
        assert_eq!(cpu_line("Pid: 4711, comm: a Not tainted b Not tainted 2.6.32-5-amd64 #1"), Some((None, 4711, "a Not tainted b".into())));
        assert_eq!(cpu_line("Pid: -1, comm: x Not tainted 2.6.32"), None);
        let c = oom_chosen("Out of memory (oom_kill_allocating_task): Kill process 7 (x) score 0 or sacrifice child")
            .expect("allocating");
        assert_eq!((c.fields["global"].to_json(), c.fields["oom_kill_allocating_task"].to_json()), (json!(true), json!(true)));
        for (line, pid, uid, comm, shmem) in [
            ("Killed process 8811 (java) total-vm:16049380kB, anon-rss:15280000kB, file-rss:132kB", 8811, None, "java", None),
            ("Killed process 21945 (tidb-server), UID 1000, total-vm:33027492kB, anon-rss:31303276kB, file-rss:0kB, shmem-rss:0kB", 21945, Some(1000), "tidb-server", Some(0)),
            ("Killed process 215701, UID 679, (java) total-vm:11017300kB, anon-rss:7152432kB, file-rss:1232kB", 215701, Some(679), "java", None),
            ("Killed process 4711 (a vsz:1kB) vsz:4049380kB, anon-rss:3960048kB, file-rss:0kB", 4711, None, "a vsz:1kB", None),
            ("Killed process 4711 (a total-vm:1kB) vsz:4049380kB, anon-rss:3960048kB, file-rss:0kB", 4711, None, "a total-vm:1kB", None),
            ("Killed process 5 (a) total-vm:1kB) total-vm:10kB, anon-rss:5kB, file-rss:0kB, shmem-rss:3kB", 5, None, "a) total-vm:1kB", Some(3)),
        ] {
            let c = oom_killed_process(line).expect(line);
            assert_eq!((c.pid, c.uid, c.comm.as_deref(), c.oom), (Some(pid), uid, Some(comm), Some(OomLine::KilledBare)), "{line}");
            assert_eq!(c.fields.get("shmem_rss_kb").map(|v| v.to_json()), shmem.map(|n| json!(n)), "{line}");
            assert!(c.fields.get("global").is_none(), "the line alone does not say: {line}");
        }
        let c = oom_sharing("Kill process 9002 (stress) sharing same memory").expect("sharing");
        assert_eq!((c.pid, c.comm.as_deref()), (Some(9002), Some("stress")));
        assert_eq!(
            memcg_task_in("Task in /lim/x killed as a result of limit of y killed as a result of limit of /lim"),
            Some(("/lim/x killed as a result of limit of y", "/lim")),
            "a cgroup named with the separator: the split where the limit's cgroup holds the task's"
        );
        assert_eq!(memcg_task_in("Task in /lxc/web1/app killed as a result of limit of /lxc/web1"), Some(("/lxc/web1/app", "/lxc/web1")));
    }

    /// Hostile or cut lines give no kill, and never a pid the kernel could not have printed.
    #[test]
    fn old_kill_lines_hostile() {
        for line in [
            "Killed process -1 ()",
            "Killed process -1 () total-vm:1kB, anon-rss:1kB, file-rss:0kB",
            "Killed process 99999999999999999999 (x) total-vm:1kB, anon-rss:1kB, file-rss:0kB",
            "Killed process 0 (x) total-vm:1kB",
            "Killed process +5 (x) total-vm:1kB",
            "Killed process 12",
            "Killed process 12 (java",
            "Killed process 12 (java) total-vm",
            "Killed process 12, UID x, (java) total-vm:1kB",
            "Killed process",
            "Out of memory: Killed process 99999999999999999999 (x)",
            "Out of memory: Killed process -1 ()",
            "Out of memory: Kill process -1 () score 1 or sacrifice child",
            "Out of memory: Kill process 5 (x) score or sacrifice child",
            "Out of memory: Kill process 5 (x) or sacrifice child",
            "Kill process 5 (x) sharing same",
            "Kill process 99999999 (x) sharing same memory",
            "Nonsense: Kill process 5 (x) score 1 or sacrifice child",
            "Task in ",
            "Task in  killed as a result of limit of ",
        ] {
            let c = classify(line);
            assert!(c.as_ref().is_none_or(|c| c.kind != EventKind::OomKill), "{line}: {c:?}");
            assert!(memcg_task_in(line).is_none(), "{line}");
        }
        // Every cut of a real-format line: no panic, no pid but the line's.
        let line = "Memory cgroup out of memory: Kill process 2101 (python3) score 993 or sacrifice child";
        let killed = "Killed process 2101 (python3), UID 0, total-vm:221368kB, anon-rss:50816kB, file-rss:6596kB, shmem-rss:0kB";
        for l in [line, killed] {
            for cut in (0..=l.len()).filter(|&i| l.is_char_boundary(i)) {
                if let Some(c) = classify(&l[..cut]) {
                    assert!(c.pid.is_none_or(|p| p == 2101), "{}", &l[..cut]);
                }
            }
        }
    }

    #[test]
    fn rhel_kdump_mark_is_not_part_of_the_comm() {
        let line = "CPU: 2 PID: 21950 Comm: mysqld Kdump: loaded Not tainted 3.10.0-1160.el7.x86_64 #1";
        assert_eq!(cpu_line(line), Some((None, 21950, "mysqld".to_owned())));
    }

    #[test]
    fn kmsg_escapes_decode() {
        assert_eq!(unescape_kmsg(br"a\x0ab\xffc\x"), b"a\nb\xffc\\x".to_vec());
    }
}
