//! A core file's name read back through `kernel.core_pattern`. The kernel builds the name from the pattern
//! (fs/coredump.c `format_corename`), so a name that matches the pattern gives the pid, the signal, the dump
//! time… even when the bundle holds none of the core's bytes (`--cores meta`).
//!
//! How the kernel writes a file pattern (checked on kernel 6.18 with the names in `fixtures/cores/names.tsv`):
//! - `%p %P %i %I %u %g %s %t %c %d %C %F` are numbers printed with `%d`/`%u`/`%lu`/`%lld`: digits, no sign, no
//!   leading zero. A pid or tid is at most `PID_MAX_LIMIT` (4194304), a signal at most 64 (`SIGRTMAX`), `%d`
//!   (dumpable) 0, 1 or 2;
//! - `%e %h %E %f` (comm, hostname, executable path, executable name) go through `cn_esc_printf`: every `/`
//!   becomes `!`, a value that is `.` or `..` starts with `!`, and an empty one is written `!`. They are never
//!   empty and may hold dots, dashes and digits (`crash.v2-1`, `9.8-7`);
//! - `%%` is one `%`; a `%` ending the pattern is dropped; any other `%x` prints nothing (6.18), but a later
//!   kernel may give it a meaning, so here it matches any text, even none;
//! - with `kernel.core_uses_pid = 1` and no `%p` anywhere in a file pattern, `.PID` is appended.
//!
//! The matcher works on the pattern's last path component (a name has no `/`). It is a memoised backtracking
//! search: one table says which (specifier, position) pairs can still finish the name, another which can be
//! reached from its start. A specifier's value is kept only when every way of matching the whole name gives
//! it the same text (with the rules above, `core.%e.%p` on `core.a.1.2` is `%e` = `a.1`, `%p` = 2: `%p` cannot
//! be `1.2`); when two readings survive (`core.%e%p` on `core.x12`), the specifier is listed as ambiguous
//! and given no value. A name that does not match gives nothing.

use std::collections::{BTreeMap, BTreeSet};

use coroner_schemas::Fields;
use serde_json::{json, Value};

/// Patterns tried when the bundle's `core_pattern` is a pipe, was not collected, or does not match the name:
/// `core` is the kernel default (Debian, this VM); `core.%p` is what it becomes under `kernel.core_uses_pid =
/// 1` (set by older Red Hat `/etc/sysctl.conf`); the others are what administrators commonly set (Coroner's
/// own advice suggests `/var/crash/core.%e.%p.%t`). Distributions with systemd-coredump, apport or abrt ship
/// pipes, whose stores name files their own way.
pub const COMMON_PATTERNS: &[&str] = &["core", "core.%p", "core.%e.%p.%t", "core.%e.%p", "core-%e-%p-%t"];

/// `PID_MAX_LIMIT` on 64-bit kernels: no pid or tid is larger.
pub const PID_MAX_LIMIT: u64 = 4 * 1024 * 1024;
/// Longest file name (`NAME_MAX`): longer names are not a kernel's.
pub const NAME_MAX: usize = 255;
/// Most tokens a pattern may have (the kernel's patterns are at most 128 bytes: `CORENAME_MAX_SIZE`).
const MAX_TOKENS: usize = 256;

/// A `%` specifier of `core_pattern` (core(5)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Spec {
    /// `%p`: PID of the dumped process, as seen in its own PID namespace.
    Pid,
    /// `%P`: PID in the initial PID namespace.
    GlobalPid,
    /// `%i`: TID of the thread that triggered the dump, in its own namespace.
    Tid,
    /// `%I`: TID in the initial PID namespace.
    GlobalTid,
    /// `%u`: real UID of the dumped process.
    Uid,
    /// `%g`: real GID of the dumped process.
    Gid,
    /// `%s`: number of the signal causing the dump.
    Signal,
    /// `%t`: time of dump, seconds since the Epoch.
    Time,
    /// `%c`: core file size soft resource limit of the crashing process.
    CoreLimit,
    /// `%d`: dump mode, the value `prctl(PR_GET_DUMPABLE)` returns.
    Dumpable,
    /// `%C`: CPU the task ran on.
    Cpu,
    /// `%F`: pidfd number (meaningful for pipes).
    Pidfd,
    /// `%e`: the process or thread's `comm` value.
    Comm,
    /// `%h`: hostname (`nodename` from uname(2)).
    Hostname,
    /// `%E`: pathname of the executable, slashes replaced by `!`.
    ExePath,
    /// `%f`: executable file name.
    ExeName,
    /// A letter the kernel does not know (or this reader does not).
    Unknown(u8),
}

impl Spec {
    fn of(c: u8) -> Spec {
        match c {
            b'p' => Spec::Pid,
            b'P' => Spec::GlobalPid,
            b'i' => Spec::Tid,
            b'I' => Spec::GlobalTid,
            b'u' => Spec::Uid,
            b'g' => Spec::Gid,
            b's' => Spec::Signal,
            b't' => Spec::Time,
            b'c' => Spec::CoreLimit,
            b'd' => Spec::Dumpable,
            b'C' => Spec::Cpu,
            b'F' => Spec::Pidfd,
            b'e' => Spec::Comm,
            b'h' => Spec::Hostname,
            b'E' => Spec::ExePath,
            b'f' => Spec::ExeName,
            other => Spec::Unknown(other),
        }
    }

    /// The specifier as written in a pattern (`%p`).
    pub fn text(self) -> String {
        let c = match self {
            Spec::Pid => 'p',
            Spec::GlobalPid => 'P',
            Spec::Tid => 'i',
            Spec::GlobalTid => 'I',
            Spec::Uid => 'u',
            Spec::Gid => 'g',
            Spec::Signal => 's',
            Spec::Time => 't',
            Spec::CoreLimit => 'c',
            Spec::Dumpable => 'd',
            Spec::Cpu => 'C',
            Spec::Pidfd => 'F',
            Spec::Comm => 'e',
            Spec::Hostname => 'h',
            Spec::ExePath => 'E',
            Spec::ExeName => 'f',
            Spec::Unknown(b) => return format!("%{}", String::from_utf8_lossy(&[b])),
        };
        format!("%{c}")
    }

    /// The event field the value goes in.
    pub fn field(self) -> Option<&'static str> {
        Some(match self {
            Spec::Pid => "name_pid",
            Spec::GlobalPid => "name_global_pid",
            Spec::Tid => "name_tid",
            Spec::GlobalTid => "name_global_tid",
            Spec::Uid => "name_uid",
            Spec::Gid => "name_gid",
            Spec::Signal => "name_signal",
            Spec::Time => "name_time",
            Spec::CoreLimit => "name_core_limit",
            Spec::Dumpable => "name_dumpable",
            Spec::Cpu => "name_cpu",
            Spec::Pidfd => "name_pidfd",
            Spec::Comm => "name_comm",
            Spec::Hostname => "name_hostname",
            Spec::ExePath => "name_exe",
            Spec::ExeName => "name_exe_name",
            Spec::Unknown(_) => return None,
        })
    }

    /// The largest value a numeric specifier can print; `None` for text and unknown specifiers.
    fn largest(self) -> Option<u64> {
        Some(match self {
            Spec::Pid | Spec::GlobalPid | Spec::Tid | Spec::GlobalTid => PID_MAX_LIMIT,
            Spec::Uid | Spec::Gid | Spec::Cpu => u64::from(u32::MAX),
            Spec::Signal => 64,
            Spec::Dumpable => 2,
            Spec::Pidfd => i32::MAX as u64,
            Spec::Time => i64::MAX as u64,
            Spec::CoreLimit => u64::MAX,
            Spec::Comm | Spec::Hostname | Spec::ExePath | Spec::ExeName | Spec::Unknown(_) => return None,
        })
    }

    fn is_text(self) -> bool {
        matches!(self, Spec::Comm | Spec::Hostname | Spec::ExePath | Spec::ExeName)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Lit(Vec<u8>),
    Spec(Spec),
}

/// The tokens of a whole pattern, read as `format_corename` reads it (byte by byte).
fn tokenize(p: &[u8]) -> Vec<Token> {
    let mut out: Vec<Token> = Vec::new();
    let lit = |out: &mut Vec<Token>, b: u8| match out.last_mut() {
        Some(Token::Lit(l)) => l.push(b),
        _ => out.push(Token::Lit(vec![b])),
    };
    let mut i = 0;
    while i < p.len() {
        if p[i] != b'%' {
            lit(&mut out, p[i]);
            i += 1;
            continue;
        }
        match p.get(i + 1) {
            // A single `%` at the end is dropped.
            None => break,
            Some(b'%') => lit(&mut out, b'%'),
            Some(&c) => out.push(Token::Spec(Spec::of(c))),
        }
        i += 2;
    }
    out
}

/// A file `core_pattern`, ready to match base names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamePattern {
    /// The pattern as shown in events (with ` + .%p` when `core_uses_pid` appends the pid).
    pub text: String,
    /// Tokens of the last path component.
    tokens: Vec<Token>,
}

impl NamePattern {
    /// A file pattern (absolute or relative); `None` for a pipe (`|…`) or an empty pattern, which name no file.
    /// `uses_pid` is `kernel.core_uses_pid`.
    pub fn new(pattern: &str, uses_pid: bool) -> Option<NamePattern> {
        let p = pattern.trim_end_matches('\n');
        if p.is_empty() || p.starts_with('|') {
            return None;
        }
        let all = tokenize(p.as_bytes());
        let pid_in_pattern = all.contains(&Token::Spec(Spec::Pid));
        // The last component: what follows the last `/` of the literal text (no specifier prints a `/`).
        let cut = all.iter().rposition(|t| matches!(t, Token::Lit(l) if l.contains(&b'/')));
        let mut tokens: Vec<Token> = match cut {
            Some(i) => {
                let mut v = Vec::new();
                if let Token::Lit(l) = &all[i] {
                    let tail = l.rsplit(|&b| b == b'/').next().unwrap_or_default();
                    if !tail.is_empty() {
                        v.push(Token::Lit(tail.to_vec()));
                    }
                }
                v.extend(all[i + 1..].iter().cloned());
                v
            }
            None => all,
        };
        let mut text = p.to_owned();
        if uses_pid && !pid_in_pattern {
            match tokens.last_mut() {
                Some(Token::Lit(l)) => l.push(b'.'),
                _ => tokens.push(Token::Lit(b".".to_vec())),
            }
            tokens.push(Token::Spec(Spec::Pid));
            text.push_str(" + .%p (kernel.core_uses_pid)");
        }
        if tokens.is_empty() || tokens.len() > MAX_TOKENS {
            return None;
        }
        Some(NamePattern { text, tokens })
    }

    /// Reads `name` (a base name) through the pattern; `None` when the kernel could not have written it.
    pub fn read(&self, name: &str) -> Option<NameMatch> {
        let n = name.as_bytes();
        if n.is_empty() || n.len() > NAME_MAX || n.contains(&b'/') {
            return None;
        }
        let (t, len) = (&self.tokens, n.len());
        let w = len + 1;
        // can[i * w + j]: tokens i.. can match n[j..]. Filled from the end (the backtracking's memo).
        let mut can = vec![false; (t.len() + 1) * w];
        can[t.len() * w + len] = true;
        for i in (0..t.len()).rev() {
            for j in 0..=len {
                can[i * w + j] = spans(&t[i], n, j).any(|k| can[(i + 1) * w + k]);
            }
        }
        if !can[0] {
            return None;
        }
        // reach[i * w + j]: tokens ..i can match n[..j].
        let mut reach = vec![false; (t.len() + 1) * w];
        reach[0] = true;
        for i in 0..t.len() {
            for j in 0..=len {
                if reach[i * w + j] {
                    for k in spans(&t[i], n, j) {
                        reach[(i + 1) * w + k] = true;
                    }
                }
            }
        }
        // Each specifier's values over every whole match: one, or more than one (then no need to look further).
        let mut seen: BTreeMap<Spec, Option<&[u8]>> = BTreeMap::new();
        let mut many: BTreeSet<Spec> = BTreeSet::new();
        for (i, tok) in t.iter().enumerate() {
            let Token::Spec(s) = tok else { continue };
            if matches!(s, Spec::Unknown(_)) || many.contains(s) {
                continue;
            }
            'token: for j in (0..=len).filter(|&j| reach[i * w + j]) {
                for k in spans(tok, n, j).filter(|&k| can[(i + 1) * w + k]) {
                    let v = &n[j..k];
                    let slot = seen.entry(*s).or_insert(None);
                    match *slot {
                        None => *slot = Some(v),
                        Some(first) if first != v => {
                            many.insert(*s);
                            break 'token;
                        }
                        Some(_) => {}
                    }
                }
            }
        }
        let mut m = NameMatch { patterns: vec![self.text.clone()], values: BTreeMap::new(), ambiguous: BTreeSet::new() };
        for (s, v) in seen {
            match v {
                Some(v) if !many.contains(&s) => {
                    m.values.insert(s, String::from_utf8_lossy(v).into_owned());
                }
                _ => {
                    m.ambiguous.insert(s);
                }
            }
        }
        Some(m)
    }
}

/// Ends `k` such that `tok` can print `n[j..k]`.
fn spans<'a>(tok: &'a Token, n: &'a [u8], j: usize) -> Box<dyn Iterator<Item = usize> + 'a> {
    match tok {
        Token::Lit(l) => Box::new(n.get(j..).filter(|rest| rest.starts_with(l)).map(|_| j + l.len()).into_iter()),
        Token::Spec(s) => match s.largest() {
            Some(max) => {
                let digits = n.get(j..).map_or(0, |r| r.iter().take_while(|b| b.is_ascii_digit()).count());
                // `%d` prints no leading zero: "0" alone, or a non-zero first digit.
                let digits = if n.get(j) == Some(&b'0') { digits.min(1) } else { digits };
                Box::new((j + 1..=j + digits.min(20)).filter(move |&k| {
                    std::str::from_utf8(&n[j..k]).ok().and_then(|d| d.parse::<u64>().ok()).is_some_and(|v| v <= max)
                }))
            }
            None if s.is_text() => Box::new(j + 1..=n.len()),
            None => Box::new(j..=n.len()),
        },
    }
}

/// What a core file's name says, read through one pattern or several that agree.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NameMatch {
    /// The pattern(s) the name matched.
    pub patterns: Vec<String>,
    /// Specifier values every reading agrees on, as written in the name.
    pub values: BTreeMap<Spec, String>,
    /// Specifiers whose value differs between readings: not given.
    pub ambiguous: BTreeSet<Spec>,
}

impl NameMatch {
    pub fn num(&self, s: Spec) -> Option<u64> {
        self.values.get(&s).and_then(|v| v.parse().ok())
    }
    pub fn text(&self, s: Spec) -> Option<&str> {
        self.values.get(&s).map(String::as_str)
    }
    /// The pid to put on the event: `%P` (as the kernel's log lines and audit show it), else `%p`.
    pub fn pid(&self) -> Option<i64> {
        self.num(Spec::GlobalPid).or(self.num(Spec::Pid)).and_then(|p| i64::try_from(p).ok())
    }

    /// Several patterns' readings of one name: only values all of them give, the same.
    fn agree(ms: Vec<NameMatch>) -> Option<NameMatch> {
        let mut it = ms.into_iter();
        let mut acc = it.next()?;
        for m in it {
            acc.patterns.extend(m.patterns);
            acc.ambiguous.extend(m.ambiguous);
            let keys: BTreeSet<Spec> = acc.values.keys().chain(m.values.keys()).copied().collect();
            for k in keys {
                if acc.values.get(&k) != m.values.get(&k) {
                    acc.values.remove(&k);
                    acc.ambiguous.insert(k);
                }
            }
        }
        Some(acc)
    }

    /// The `name_*` fields: one per known value (numbers as numbers; `%E` with `!` read back as `/`), the
    /// pattern(s), where they came from, and the ambiguous specifiers.
    pub fn fields(&self, from: &str, f: &mut Fields) {
        for (s, v) in &self.values {
            let Some(k) = s.field() else { continue };
            let value: Value = match s {
                _ if s.largest().is_some() => v.parse::<u64>().map(|n| json!(n)).unwrap_or_else(|_| json!(v)),
                Spec::ExePath => json!(v.replace('!', "/")),
                _ => json!(v),
            };
            f.insert(k.into(), value);
        }
        f.insert("name_pattern".into(), json!(self.patterns.join(" | ")));
        f.insert("name_pattern_from".into(), json!(from));
        if !self.ambiguous.is_empty() {
            f.insert("name_ambiguous".into(), json!(self.ambiguous.iter().map(|s| s.text()).collect::<Vec<_>>()));
        }
    }
}

/// How the collected host named cores: `kernel.core_pattern` and `kernel.core_uses_pid` from
/// `live/settings/sysctl.json`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CoreNaming {
    pub pattern: Option<String>,
    pub uses_pid: bool,
}

impl CoreNaming {
    /// Nothing collected: only [`COMMON_PATTERNS`] are tried.
    pub const UNKNOWN: CoreNaming = CoreNaming { pattern: None, uses_pid: false };

    /// From the bytes of `live/settings/sysctl.json` (values the collector could not read are `null`; a
    /// non-UTF-8 pattern is `{"bytes": …}` and is not used).
    pub fn from_sysctl_json(raw: &[u8]) -> CoreNaming {
        let Ok(Value::Object(o)) = serde_json::from_slice::<Value>(raw) else {
            return CoreNaming::UNKNOWN;
        };
        CoreNaming {
            pattern: o.get("kernel.core_pattern").and_then(Value::as_str).map(str::to_owned),
            uses_pid: o.get("kernel.core_uses_pid").and_then(Value::as_str).is_some_and(|v| v.trim() != "0"),
        }
    }

    /// Reads a core's base name: through the collected pattern when it is a file pattern and the name
    /// matches it, else through [`COMMON_PATTERNS`] (the readings of every default that matches must agree).
    /// Returns the match and where its pattern came from.
    pub fn read(&self, name: &str) -> Option<(NameMatch, &'static str)> {
        if let Some(m) = self.pattern.as_deref().and_then(|p| NamePattern::new(p, self.uses_pid)).and_then(|p| p.read(name)) {
            return Some((m, "kernel.core_pattern"));
        }
        let ms: Vec<NameMatch> = COMMON_PATTERNS
            .iter()
            .filter_map(|p| NamePattern::new(p, false)?.read(name))
            .collect();
        NameMatch::agree(ms).map(|m| (m, "common default"))
    }
}

/// A value as `cn_esc_printf` writes it into a core name (`/` → `!`, `.`/`..` → `!`/`!.`, empty → `!`): what
/// `%e` shows for a `comm` read from the notes.
pub fn escaped(v: &[u8]) -> String {
    let mut s: String = String::from_utf8_lossy(v).replace('/', "!");
    if s.is_empty() {
        s.push('!');
    } else if s == "." || s == ".." {
        s.replace_range(0..1, "!");
    }
    s
}

/// The last component of a host path.
pub fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pattern: &str, name: &str) -> Option<NameMatch> {
        NamePattern::new(pattern, false).expect("file pattern").read(name)
    }
    fn vals(m: &NameMatch) -> Vec<(String, String)> {
        m.values.iter().map(|(s, v)| (s.text(), v.clone())).collect()
    }
    fn v(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect()
    }

    #[test]
    fn comm_with_dots_dashes_and_digits() {
        let m = read("/var/crash/core.%e.%p.%t", "core.crash.v2-1.17947.1796178730").expect("match");
        assert_eq!(vals(&m), v(&[("%p", "17947"), ("%t", "1796178730"), ("%e", "crash.v2-1")]));
        assert!(m.ambiguous.is_empty());
        // A comm that looks like the numbers after it: only the reading with digit-only numbers survives.
        let m = read("core.%e.%p.%t", "core.9.8-7.18097.1796178734").expect("match");
        assert_eq!(m.text(Spec::Comm), Some("9.8-7"));
        assert_eq!((m.num(Spec::Pid), m.num(Spec::Time)), (Some(18097), Some(1796178734)));
        let m = read("core.%e.%p", "core.a.1.2").expect("match");
        assert_eq!((m.text(Spec::Comm), m.num(Spec::Pid)), (Some("a.1"), Some(2)));
        let m = read("core-%e-%p-%t", "core-crash.v2-1-17968-1796178731").expect("match");
        assert_eq!((m.text(Spec::Comm), m.num(Spec::Pid)), (Some("crash.v2-1"), Some(17968)));
    }

    #[test]
    fn numbers_must_be_what_the_kernel_prints() {
        // A pid over PID_MAX_LIMIT, a leading zero, a signal over 64, a sign: not a kernel's name.
        assert!(read("core.%p", "core.4194305").is_none());
        assert!(read("core.%p", "core.4194304").is_some());
        assert!(read("core.%p", "core.0123").is_none());
        assert!(read("core.%p", "core.0").is_some());
        assert!(read("core.%s", "core.65").is_none());
        assert!(read("core.%p", "core.-1").is_none());
        assert!(read("core.%p", "core.").is_none());
        assert!(read("core.%t", "core.99999999999999999999999").is_none(), "past u64");
        assert_eq!(read("core.%c", "core.18446744073709551615").and_then(|m| m.num(Spec::CoreLimit)), Some(u64::MAX));
        // With a pid that cannot be a time, `%e.%p` cannot swallow a time either.
        assert!(read("core.%e.%p", "core.sleep.1234.1796178730").is_none());
    }

    #[test]
    fn ambiguous_readings_give_no_value() {
        let m = read("core.%e%p", "core.x12").expect("match");
        assert_eq!((m.text(Spec::Comm), m.num(Spec::Pid)), (None, None));
        assert_eq!(m.ambiguous.iter().copied().collect::<Vec<_>>(), vec![Spec::Pid, Spec::Comm]);
        // Two numbers side by side.
        let m = read("%p%t", "1231796178730").expect("match");
        assert!(m.values.is_empty() && m.ambiguous.len() == 2, "{m:?}");
        // An unknown specifier is a wildcard (6.18 prints nothing for `%z`): the pid still reads.
        let m = read("core.%z.%p", "core..18073").expect("match");
        assert_eq!(vals(&m), v(&[("%p", "18073")]));
        let m = read("core.%z.%p", "core.what.ever.7").expect("match");
        assert_eq!(m.num(Spec::Pid), Some(7));
    }

    #[test]
    fn no_match_extracts_nothing() {
        assert!(read("core.%e.%p.%t", "core.sleep.1234").is_none());
        assert!(read("core.%e.%p", "vmcore").is_none());
        assert!(read("core", "core.1234").is_none());
        assert!(read("core.%e.%p", "core..5").is_none(), "%e is never empty");
        assert!(read("core", "").is_none());
    }

    #[test]
    fn percent_edge_cases() {
        // `%%` is a literal percent; a trailing `%` is dropped; `%` then a multi-byte character is an
        // unknown specifier on its first byte, the rest literal (the kernel reads bytes).
        let m = read("%h-%u-%g-%s-%i-%I-%P-%c-%d-%%-%t", "vm-0-0-11-18049-18049-18049-18446744073709551615-1-%-1796178732")
            .expect("match");
        assert_eq!(m.text(Spec::Hostname), Some("vm"));
        assert_eq!((m.num(Spec::Signal), m.num(Spec::Tid), m.num(Spec::GlobalPid)), (Some(11), Some(18049), Some(18049)));
        assert_eq!((m.num(Spec::Dumpable), m.num(Spec::Time)), (Some(1), Some(1796178732)));
        assert_eq!(read("core.%p%", "core.18061").and_then(|m| m.num(Spec::Pid)), Some(18061));
        assert!(read("core.%%", "core.%").is_some_and(|m| m.values.is_empty()));
        assert!(read("core.%%p", "core.%p").is_some(), "%%p is a percent then a p");
        assert!(read("core.%%p", "core.5").is_none());
        assert!(read("core.%é", "core.é").is_some(), "the wildcard takes the first byte of é, the literal the second");
        assert!(read("%é", "any").is_none(), "the second byte of é stays a literal");
        assert!(NamePattern::new("%", false).is_none(), "a lone % prints nothing: no file name");
        assert!(NamePattern::new("", false).is_none());
        assert!(NamePattern::new("|/usr/lib/systemd/systemd-coredump %P %u %g %s %t %c %h", false).is_none());
        assert!(NamePattern::new("/var/cores/", false).is_none(), "no file name after the last slash");
    }

    #[test]
    fn only_the_last_component_is_matched() {
        let m = read("/var/cores/%u/%e/core.%p", "core.77").expect("match");
        assert_eq!(vals(&m), v(&[("%p", "77")]));
        // `%/` is an unknown specifier that swallows the slash: the kernel writes `/tmp/core`.
        assert!(read("/tmp/%/core", "core").is_some());
        // Literal-only patterns match only themselves.
        assert!(read("/srv/dumps/crash", "crash").is_some_and(|m| m.values.is_empty() && m.ambiguous.is_empty()));
        assert!(read("/srv/dumps/crash", "crash2").is_none());
    }

    #[test]
    fn core_uses_pid_appends_the_pid() {
        let p = NamePattern::new("core", true).expect("pattern");
        assert_eq!(p.read("core.18000").and_then(|m| m.num(Spec::Pid)), Some(18000));
        assert!(p.read("core").is_none());
        assert!(p.text.contains("core_uses_pid"));
        // Not when %p is already in the pattern (even in a folder), and not for %P.
        let p = NamePattern::new("/c/%p/core", true).expect("pattern");
        assert!(p.read("core").is_some());
        let p = NamePattern::new("core.%P", true).expect("pattern");
        assert_eq!(p.read("core.5.5").and_then(|m| m.num(Spec::GlobalPid)), Some(5));
    }

    #[test]
    fn escaped_values() {
        let m = read("core.%e.%p", "core.a!b...18010").expect("match");
        assert_eq!(m.text(Spec::Comm), Some("a!b.."));
        assert_eq!(escaped(b"a/b.."), "a!b..");
        assert_eq!(read("core.%e.%p", "core.!.18023").and_then(|m| m.text(Spec::Comm).map(str::to_owned)), Some("!".into()));
        assert_eq!((escaped(b"."), escaped(b".."), escaped(b"")), ("!".into(), "!.".into(), "!".into()));
        let m = read("core.%E.%p", "core.!tmp!corepat-test!bin!crash.v2-1.18034").expect("match");
        let mut f = Fields::new();
        m.fields("kernel.core_pattern", &mut f);
        assert_eq!(f.get("name_exe").and_then(|v| v.as_str()), Some("/tmp/corepat-test/bin/crash.v2-1"));
        assert_eq!(f.get("name_pid").and_then(|v| v.as_i64()), Some(18034));
    }

    #[test]
    fn defaults_must_agree() {
        let none = CoreNaming::UNKNOWN;
        let (m, from) = none.read("core.crash.v2-1.17947.1796178730").expect("match");
        assert_eq!(from, "common default");
        assert_eq!(m.patterns, vec!["core.%e.%p.%t".to_owned()]);
        assert_eq!(m.pid(), Some(17947));
        // core.%e.%p.%t reads a.1 / 2 / 3; core.%e.%p reads a.1.2 / 3: they agree on nothing.
        let (m, _) = none.read("core.a.1.2").expect("match");
        assert_eq!(m.patterns.len(), 2, "{m:?}");
        assert!(m.pid().is_none() && m.text(Spec::Comm).is_none(), "{m:?}");
        assert_eq!(none.read("core.18000").map(|(m, _)| m.pid()), Some(Some(18000)));
        assert!(none.read("vmlinuz").is_none());
        // A collected file pattern wins; a pipe falls back to the defaults.
        let set = CoreNaming { pattern: Some("/var/crash/%e-%p".into()), uses_pid: false };
        let (m, from) = set.read("sleep-42").expect("match");
        assert_eq!((from, m.pid()), ("kernel.core_pattern", Some(42)));
        let pipe = CoreNaming { pattern: Some("|/usr/share/apport/apport -p%p".into()), uses_pid: true };
        assert_eq!(pipe.read("core.42").map(|(m, f)| (m.pid(), f)), Some((Some(42), "common default")));
    }

    #[test]
    fn sysctl_json_is_read() {
        let n = CoreNaming::from_sysctl_json(br#"{"kernel.core_pattern": "core", "kernel.core_uses_pid": "1"}"#);
        assert_eq!(n, CoreNaming { pattern: Some("core".into()), uses_pid: true });
        let n = CoreNaming::from_sysctl_json(br#"{"kernel.core_pattern": {"bytes": "/w=="}, "kernel.core_uses_pid": null}"#);
        assert_eq!(n, CoreNaming::UNKNOWN);
        assert_eq!(CoreNaming::from_sysctl_json(b"[1]"), CoreNaming::UNKNOWN);
        assert_eq!(CoreNaming::from_sysctl_json(b"\xff"), CoreNaming::UNKNOWN);
    }

    #[test]
    fn hostile_names_and_patterns_stay_bounded() {
        let long = "a".repeat(NAME_MAX + 1);
        assert!(read("%e", &long).is_none(), "longer than NAME_MAX");
        let max = "1".repeat(NAME_MAX);
        // 128 wildcards and text specifiers over a 255-byte name: every reading counted, quickly.
        let many = "%e%z".repeat(64);
        let t = std::time::Instant::now();
        let m = read(&many, &max).expect("match");
        assert!(m.values.is_empty() && m.ambiguous.contains(&Spec::Comm));
        assert!(t.elapsed() < std::time::Duration::from_secs(20));
        assert!(NamePattern::new(&"%p".repeat(300), false).is_none(), "too many tokens");
        assert!(read("core.%p", "a/core.5").is_none(), "a base name has no slash");
        assert_eq!(base_name("/var/crash/core.1"), "core.1");
        assert_eq!(base_name("core"), "core");
    }
}
