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

/// Linux x86/generic signal numbers and names.
const SIGNALS: &[(i64, &str)] = &[
    (1, "SIGHUP"),
    (2, "SIGINT"),
    (3, "SIGQUIT"),
    (4, "SIGILL"),
    (5, "SIGTRAP"),
    (6, "SIGABRT"),
    (7, "SIGBUS"),
    (8, "SIGFPE"),
    (9, "SIGKILL"),
    (10, "SIGUSR1"),
    (11, "SIGSEGV"),
    (12, "SIGUSR2"),
    (13, "SIGPIPE"),
    (14, "SIGALRM"),
    (15, "SIGTERM"),
    (16, "SIGSTKFLT"),
    (17, "SIGCHLD"),
    (18, "SIGCONT"),
    (19, "SIGSTOP"),
    (20, "SIGTSTP"),
    (21, "SIGTTIN"),
    (22, "SIGTTOU"),
    (23, "SIGURG"),
    (24, "SIGXCPU"),
    (25, "SIGXFSZ"),
    (26, "SIGVTALRM"),
    (27, "SIGPROF"),
    (28, "SIGWINCH"),
    (29, "SIGIO"),
    (30, "SIGPWR"),
    (31, "SIGSYS"),
];

pub fn signal_name(n: i64) -> Option<&'static str> {
    SIGNALS.iter().find(|(k, _)| *k == n).map(|(_, s)| *s)
}

/// `SIGKILL`, `KILL` or `9` → 9.
pub fn signal_number(name: &str) -> Option<i64> {
    if let Ok(n) = name.parse::<i64>() {
        return Some(n);
    }
    let up = name.trim().to_ascii_uppercase();
    let full = if up.starts_with("SIG") { up } else { format!("SIG{up}") };
    SIGNALS.iter().find(|(_, s)| *s == full).map(|(k, _)| *k)
}

fn signal_fields(c: Classified, sig: i64) -> Classified {
    let c = c.field("signal", json!(sig));
    match signal_name(sig) {
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
    let global = constraint != "CONSTRAINT_MEMCG";
    c = c.field("global", json!(global));
    c.summary = Some(oom_summary(global, c.fields.get("oom_memcg"), task, pid));
    Some(c)
}

fn token_between<'a>(s: &'a str, key: &str) -> Option<&'a str> {
    let i = s.find(key)?;
    let v = &s[i + key.len()..];
    Some(v.split(',').next().unwrap_or(v))
}

fn oom_summary(global: bool, memcg: Option<&FieldValue>, comm: &str, pid: i64) -> String {
    match (global, memcg.and_then(FieldValue::as_str)) {
        (false, Some(m)) => format!("OOM killer (memory cgroup {m}) killed {comm} (pid {pid})"),
        (false, None) => format!("OOM killer (memory cgroup) killed {comm} (pid {pid})"),
        (true, _) => format!("OOM killer (system-wide) killed {comm} (pid {pid})"),
    }
}

/// `Out of memory: Killed process N (comm) total-vm:…kB, anon-rss:…kB, file-rss:…kB, shmem-rss:…kB, UID:…
/// pgtables:…kB oom_score_adj:…` and the `Memory cgroup out of memory:` variant.
fn oom_killed_process(msg: &str) -> Option<Classified> {
    const KEY: &str = "Killed process ";
    let at = msg.find(KEY)?;
    let prefix = &msg[..at];
    let global = if prefix.contains("Memory cgroup out of memory") {
        false
    } else if prefix.contains("Out of memory") {
        true
    } else {
        return None;
    };
    let rest = &msg[at + KEY.len()..];
    let (pid_s, after_pid) = rest.split_once(" (")?;
    let pid: i64 = pid_s.parse().ok()?;
    let close = after_pid.rfind(") total-vm:").or_else(|| after_pid.rfind(')'))?;
    let comm = &after_pid[..close];
    let stats = &after_pid[close + 1..];
    let mut c = Classified::new(EventKind::OomKill);
    c.pid = Some(pid);
    c.comm = Some(comm.to_owned());
    c = c.field("global", json!(global));
    for tok in stats.split([' ', ',']).filter(|t| !t.is_empty()) {
        let Some((k, v)) = tok.split_once(':') else { continue };
        match k {
            "total-vm" | "anon-rss" | "file-rss" | "shmem-rss" | "pgtables" => {
                if let Some(n) = kb(v) {
                    c = c.field(format!("{}_kb", k.replace('-', "_")), json!(n));
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
    c.summary = Some(oom_summary(global, None, comm, pid));
    Some(c)
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

/// `CPU: 1 UID: 0 PID: 14231 Comm: python3 Not tainted …` (6.x) or `CPU: 1 PID: 14231 Comm: python3 …`.
fn cpu_line(msg: &str) -> Option<(Option<u32>, i64, String)> {
    let rest = msg.strip_prefix("CPU: ")?;
    let uid = token_after(rest, "UID: ").and_then(|v| v.parse().ok());
    let pid = token_after(rest, "PID: ")?.parse().ok()?;
    let comm_at = rest.find(" Comm: ")? + 7;
    let comm = &rest[comm_at..];
    let end = [" Not tainted", " Tainted: "]
        .iter()
        .filter_map(|m| comm.find(m))
        .min()
        .unwrap_or(comm.len());
    Some((uid, pid, comm[..end].to_owned()))
}

/// `[  pid  ]   uid  tgid total_vm      rss … oom_score_adj name`: the task dump header, as column names.
fn task_dump_header(msg: &str) -> Option<Vec<String>> {
    let rest = msg.strip_prefix("[  pid  ]")?;
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
    if msg.contains("out of memory: Killed process ") || msg.contains("Out of memory: Killed process ") {
        return oom_killed_process(msg);
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
        return Some(Classified::new(EventKind::KernelPanic).field("reason", json!(reason)));
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

/// Carries one entry's multi-line kernel context: the pending OOM episode, the task dump columns, the last
/// `oom-kill:` detail (merged into the `Killed process` line that follows it).
#[derive(Debug, Default)]
pub struct KernelTracker {
    /// Index of an event waiting for its `CPU: … PID: … Comm:` line (OOM invoker, fatal signal).
    awaiting_cpu: Option<usize>,
    /// Offset of the `invoked oom-killer` line of the current episode.
    episode: Option<u64>,
    /// Columns of the task dump table being read.
    dump_cols: Option<Vec<String>>,
    /// Index of the last `oom-kill:` detail event and its pid.
    last_detail: Option<(usize, i64)>,
    /// Pids killed in this episode (for `oom_reaper` lines).
    killed: Vec<i64>,
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
        }
        if let Some(cols) = self.dump_cols.clone() {
            if let Some(c) = task_dump_row(msg, &cols) {
                let mut c = c;
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
            if let Some(ep) = self.episode {
                base.fields.insert("episode".into(), json!(ep));
            }
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
        match c.kind {
            EventKind::OomInvoked => {
                self.episode = Some(offset);
                self.killed.clear();
                self.last_detail = None;
                self.awaiting_cpu = Some(events.len());
                c.fields.insert("episode".into(), json!(offset));
            }
            EventKind::ProcessCrash => self.awaiting_cpu = Some(events.len()),
            EventKind::OomKill if c.fields.contains_key("constraint") => {
                // Keep the kernel's own line as the message: if a `Killed process` line follows, this event
                // becomes its detail (kind `log`) and must not read like a second kill.
                c.summary = None;
                if let Some(ep) = self.episode {
                    c.fields.insert("episode".into(), json!(ep));
                }
                if let Some(pid) = c.pid {
                    self.last_detail = Some((events.len(), pid));
                    self.killed.push(pid);
                }
            }
            EventKind::OomKill => {
                if let Some(ep) = self.episode {
                    c.fields.insert("episode".into(), json!(ep));
                }
                // The `oom-kill:` detail line just before, for the same pid, becomes part of this kill: its
                // cgroup and constraint facts move here and it stays on the timeline as a plain line.
                if let (Some((idx, pid)), Some(this_pid)) = (self.last_detail, c.pid) {
                    if pid == this_pid {
                        if let Some(detail) = events.get_mut(idx) {
                            detail.kind = EventKind::Log;
                            detail.fields.insert("detail_of_oom_kill".into(), json!(offset));
                            for key in [
                                "constraint",
                                "oom_memcg",
                                "task_memcg",
                                "nodemask",
                                "cpuset",
                                "mems_allowed",
                            ] {
                                if let Some(v) = detail.fields.get(key) {
                                    c.fields.insert_if_absent(key.into(), || v.clone());
                                }
                            }
                            if c.uid.is_none() {
                                c.uid = detail.uid;
                            }
                            let global = c.fields.get("global").and_then(FieldValue::as_bool).unwrap_or(true);
                            c.summary = Some(oom_summary(
                                global,
                                c.fields.get("oom_memcg"),
                                c.comm.as_deref().unwrap_or(""),
                                this_pid,
                            ));
                        }
                        self.last_detail = None;
                    }
                }
                if let Some(pid) = c.pid {
                    if !self.killed.contains(&pid) {
                        self.killed.push(pid);
                    }
                }
            }
            EventKind::OomReaped => {
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
    fn kmsg_escapes_decode() {
        assert_eq!(unescape_kmsg(br"a\x0ab\xffc\x"), b"a\nb\xffc\\x".to_vec());
    }
}
