//! Signal numbers and names as the x86_64 Linux kernel and glibc define them (`signal(7)`), including the
//! real-time range. Parsers and findings use these to name the numbers they read from evidence.

/// glibc's `SIGRTMIN` as programs see it (the kernel's is 32; glibc keeps 32 and 33 for itself).
pub const SIGRTMIN: i64 = 34;
/// `SIGRTMAX` on x86_64.
pub const SIGRTMAX: i64 = 64;

/// Standard signals 1..=31 on x86_64, indexed by number (index 0 is unused).
const STANDARD: [&str; 32] = [
    "",
    "SIGHUP",
    "SIGINT",
    "SIGQUIT",
    "SIGILL",
    "SIGTRAP",
    "SIGABRT",
    "SIGBUS",
    "SIGFPE",
    "SIGKILL",
    "SIGUSR1",
    "SIGSEGV",
    "SIGUSR2",
    "SIGPIPE",
    "SIGALRM",
    "SIGTERM",
    "SIGSTKFLT",
    "SIGCHLD",
    "SIGCONT",
    "SIGSTOP",
    "SIGTSTP",
    "SIGTTIN",
    "SIGTTOU",
    "SIGURG",
    "SIGXCPU",
    "SIGXFSZ",
    "SIGVTALRM",
    "SIGPROF",
    "SIGWINCH",
    "SIGIO",
    "SIGPWR",
    "SIGSYS",
];

/// Other names the kernel headers give to the same numbers.
const ALIASES: [(&str, i64); 5] = [
    ("SIGIOT", 6),
    ("SIGPOLL", 29),
    ("SIGCLD", 17),
    ("SIGUNUSED", 31),
    ("SIGLOST", 29),
];

/// The name of signal `n`: `SIGKILL` for 9, `SIGRTMIN+2` for 36, `SIGRTMAX` for 64. Signal 0 (a permission or
/// existence probe, `kill -0`) is named `0`. 32 and 33 (reserved by glibc) are `SIG32`/`SIG33`.
/// `None` outside 0..=64.
pub fn name(n: i64) -> Option<String> {
    match n {
        0 => Some("0".to_owned()),
        1..=31 => STANDARD.get(n as usize).map(|s| (*s).to_owned()),
        32 | 33 => Some(format!("SIG{n}")),
        SIGRTMIN => Some("SIGRTMIN".to_owned()),
        SIGRTMAX => Some("SIGRTMAX".to_owned()),
        35..=48 => Some(format!("SIGRTMIN+{}", n - SIGRTMIN)),
        49..=63 => Some(format!("SIGRTMAX-{}", SIGRTMAX - n)),
        _ => None,
    }
}

/// A static name for the standard signals (no allocation), `None` for others.
pub fn standard_name(n: i64) -> Option<&'static str> {
    if (1..=31).contains(&n) {
        STANDARD.get(n as usize).copied()
    } else {
        None
    }
}

/// The number of a signal given as `SIGKILL`, `KILL`, `kill`, `9`, `SIGRTMIN+3`, `RTMIN+3`, `SIGRTMAX-1`, or an
/// alias (`SIGIOT`, `SIGPOLL`, `SIGCLD`).
pub fn number(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(n) = s.parse::<i64>() {
        return (0..=SIGRTMAX).contains(&n).then_some(n);
    }
    let up = s.to_ascii_uppercase();
    let bare = up.strip_prefix("SIG").unwrap_or(&up);
    if let Some(rest) = bare.strip_prefix("RTMIN") {
        return rt_offset(rest, SIGRTMIN, 1);
    }
    if let Some(rest) = bare.strip_prefix("RTMAX") {
        return rt_offset(rest, SIGRTMAX, -1);
    }
    if let Some(i) = STANDARD.iter().position(|n| !n.is_empty() && &n[3..] == bare) {
        return Some(i as i64);
    }
    ALIASES.iter().find(|(a, _)| &a[3..] == bare).map(|&(_, n)| n)
}

fn rt_offset(rest: &str, base: i64, sign: i64) -> Option<i64> {
    let n = if rest.is_empty() {
        base
    } else {
        let (op, num) = rest.split_at(1);
        let k: i64 = num.parse().ok()?;
        match op {
            "+" if sign > 0 => base + k,
            "-" if sign < 0 => base - k,
            _ => return None,
        }
    };
    (SIGRTMIN..=SIGRTMAX).contains(&n).then_some(n)
}

/// Signals whose default action ends the process with a core dump (`signal(7)` "Core").
pub fn dumps_core(n: i64) -> bool {
    matches!(n, 3 | 4 | 5 | 6 | 7 | 8 | 11 | 24 | 25 | 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_names_agree_both_ways() {
        assert_eq!(name(9).as_deref(), Some("SIGKILL"));
        assert_eq!(name(15).as_deref(), Some("SIGTERM"));
        assert_eq!(name(10).as_deref(), Some("SIGUSR1"));
        assert_eq!(name(34).as_deref(), Some("SIGRTMIN"));
        assert_eq!(name(36).as_deref(), Some("SIGRTMIN+2"));
        assert_eq!(name(63).as_deref(), Some("SIGRTMAX-1"));
        assert_eq!(name(64).as_deref(), Some("SIGRTMAX"));
        assert_eq!(name(0).as_deref(), Some("0"));
        assert_eq!(name(65), None);
        assert_eq!(name(-1), None);
        for n in 0..=64 {
            let nm = name(n).expect("named");
            if n != 32 && n != 33 {
                assert_eq!(number(&nm), Some(n), "{nm}");
            }
        }
        assert_eq!(number("kill"), Some(9));
        assert_eq!(number("TERM"), Some(15));
        assert_eq!(number("SIGIOT"), Some(6));
        assert_eq!(number("RTMIN+3"), Some(37));
        assert_eq!(number("SIGRTMIN-1"), None);
        assert_eq!(number("SIGRTMIN+40"), None);
        assert_eq!(number("nonsense"), None);
        assert_eq!(number("99"), None);
        assert!(dumps_core(11) && !dumps_core(9));
    }
}
