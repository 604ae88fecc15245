//! The pure decisions of `arm` and `status`: what to do with a core pattern, the profile.d snippet, reading
//! `/proc/PID/limits`, `/proc/PID/stat` and `auditctl -s`. Bytes in, decisions out; no host I/O.

use std::path::Path;

/// Where `arm --cores` sends cores by default: a crash store the collector always searches, so cores made
/// while armed are still collected after `disarm`.
pub const DEFAULT_CORE_DIR: &str = "/var/crash";
/// Core file names: program (`%e`, `/` shown as `!` by the kernel), pid and UNIX time, so no core overwrites
/// another and each names its process.
pub const CORE_NAME: &str = "core.%e.%p.%t";
/// Mode of a core directory `arm` makes: any uid's crashing process can write its core there (the kernel
/// writes it with the process's own credentials), no one but root can list it (core names reveal programs)
/// and the sticky bit stops users removing each other's cores. The kernel makes each core 0600.
pub const CORE_DIR_MODE: u32 = 0o1733;
/// The bash-history snippet `arm --history` installs.
pub const HISTTIME_SNIPPET_PATH: &str = "/etc/profile.d/coroner-histtime.sh";
/// Files bash reads at login or start that may set `HISTTIMEFORMAT` already.
pub const HISTTIME_PLACES: &[&str] = &["/etc/profile", "/etc/bash.bashrc"];
pub const PROFILE_D: &str = "/etc/profile.d";
/// Persistent journal directory (journald keeps logs only in `/run` without it, under `Storage=auto`).
pub const JOURNAL_DIR: &str = "/var/log/journal";
/// journald's runtime directory: present while journald runs.
pub const JOURNALD_RUNNING: &str = "/run/systemd/journal";
/// Present when systemd is PID 1.
pub const SYSTEMD_RUNNING: &str = "/run/systemd/system";
/// The recorder's unit, installed by `arm --recorder` under systemd.
pub const UNIT_NAME: &str = "coroner-watch.service";
pub const UNIT_DIR: &str = "/etc/systemd/system";
/// auditd's rules folder: `augenrules` loads `*.rules` from it at boot.
pub const AUDIT_RULES_D: &str = "/etc/audit/rules.d";
pub const AUDIT_RULES_FILE: &str = "coroner.rules";
pub const CORE_PATTERN: &str = "kernel.core_pattern";

/// The snippet's bytes: sets `HISTTIMEFORMAT` for bash sessions that have none, so each history line gets a
/// `#<epoch>` line before it and the report can date commands.
pub fn histtime_snippet() -> Vec<u8> {
    b"# Installed by `coroner-collect arm --history`; removed by `coroner-collect disarm`.\n\
# Timestamps in bash history (a '#<epoch>' line before each command), so commands can be dated.\n\
if [ -n \"${BASH_VERSION-}\" ] && [ -z \"${HISTTIMEFORMAT-}\" ]; then\n    HISTTIMEFORMAT='%F %T '\n    export HISTTIMEFORMAT\nfi\n"
        .to_vec()
}

/// Whether a shell startup file sets `HISTTIMEFORMAT` (an assignment or export not commented out).
pub fn sets_histtimeformat(text: &[u8]) -> bool {
    String::from_utf8_lossy(text).lines().any(|l| {
        let l = l.trim_start();
        !l.starts_with('#') && l.split(|c: char| c.is_whitespace() || c == ';').any(|w| w.starts_with("HISTTIMEFORMAT="))
    })
}

/// The rules file `arm --audit` writes where auditd keeps its rules, so the rules come back after a reboot.
pub fn audit_rules_file(rules: &[Vec<String>]) -> Vec<u8> {
    let mut s = String::from("# Installed by `coroner-collect arm --audit`; removed by `coroner-collect disarm`.\n\
# Every kill-family syscall, every sender, both arches: the sender of a signal is named in the audit log.\n");
    for r in rules {
        s.push_str("-a ");
        s.push_str(&r.join(" "));
        s.push('\n');
    }
    s.into_bytes()
}

/// Who receives cores when `core_pattern` pipes them to a program.
pub fn pipe_handler(pattern: &str) -> &'static str {
    let p = pattern.trim();
    let prog = p.trim_start_matches('|').split_whitespace().next().unwrap_or("");
    if prog.ends_with("/false") || prog.ends_with("/true") {
        "nothing (the handler discards cores)"
    } else if p.contains("systemd-coredump") {
        "systemd-coredump"
    } else if p.contains("apport") {
        "apport"
    } else if p.contains("abrt") {
        "abrt"
    } else {
        "a program"
    }
}

/// What `arm --cores` does with `kernel.core_pattern`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PatternPlan {
    /// Write this pattern.
    Set { pattern: String, over: String },
    /// It is the pattern `arm` would write.
    AlreadySet,
    /// Left alone: a pipe handler (systemd-coredump, apport, abrt) or a pattern someone chose; `--force`
    /// replaces it.
    Keep { reason: String },
}

/// The pattern `arm` writes for cores in `dir`.
pub fn core_pattern_for(dir: &Path) -> String {
    format!("{}/{CORE_NAME}", dir.display().to_string().trim_end_matches('/'))
}

/// Decides about `core_pattern` (as read, newline and all): replace only the bare default `core`, never a
/// pipe handler or a chosen pattern unless forced.
pub fn plan_core_pattern(current: &[u8], dir: &Path, force: bool) -> PatternPlan {
    let cur = String::from_utf8_lossy(current);
    let cur = cur.trim_end_matches(['\n', '\0']);
    let want = core_pattern_for(dir);
    if cur == want {
        return PatternPlan::AlreadySet;
    }
    let set = PatternPlan::Set { pattern: want, over: cur.to_owned() };
    if cur == "core" || force {
        return set;
    }
    let reason = if cur.starts_with('|') {
        format!("cores go to {} ({cur}); --force replaces it", pipe_handler(cur))
    } else {
        format!("it is set to {cur:?}, not the default 'core'; --force replaces it")
    };
    PatternPlan::Keep { reason }
}

/// How `status` judges a `core_pattern`: `Ok(where cores go)` or `Err(why none are kept)`.
pub fn judge_core_pattern(current: &[u8], dir_exists: impl Fn(&Path) -> bool) -> Result<String, String> {
    let cur = String::from_utf8_lossy(current);
    let cur = cur.trim_end_matches(['\n', '\0']).trim();
    if let Some(h) = cur.strip_prefix('|') {
        let who = pipe_handler(cur);
        return if who.starts_with("nothing") {
            Err(format!("core_pattern pipes cores to {h:?}, which discards them"))
        } else {
            Ok(format!("cores are piped to {who} ({cur})"))
        };
    }
    if cur.is_empty() {
        return Err("core_pattern is empty: no core is written".into());
    }
    if cur.starts_with('/') {
        let dir = Path::new(cur).parent().unwrap_or(Path::new("/"));
        // A pattern with %-specifiers in its folder part names folders made at dump time; trust it.
        return if dir_exists(dir) || dir.to_string_lossy().contains('%') {
            Ok(format!("cores go to {cur}"))
        } else {
            Err(format!("core_pattern {cur} names a folder that does not exist"))
        };
    }
    Err(format!("core_pattern is {cur:?}: cores land in each process's working folder, wherever that is, and overwrite each other"))
}

/// `RLIMIT_CORE` from `/proc/PID/limits`: (soft, hard), `None` = unlimited.
pub fn parse_core_limit(limits: &[u8]) -> Option<(Option<u64>, Option<u64>)> {
    let text = String::from_utf8_lossy(limits);
    let line = text.lines().find(|l| l.starts_with("Max core file size"))?;
    let rest = line.strip_prefix("Max core file size")?;
    let mut w = rest.split_whitespace();
    let val = |s: Option<&str>| match s? {
        "unlimited" => Some(None),
        n => n.parse::<u64>().ok().map(Some),
    };
    Some((val(w.next())?, val(w.next())?))
}

/// `starttime` (field 22) of `/proc/PID/stat`, read after the last `)` since `comm` may hold `) `.
pub fn parse_start_time(stat: &[u8]) -> Option<u64> {
    let close = stat.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(stat.get(close + 1..)?).ok()?;
    // Fields after comm start at 3 (state); starttime is field 22.
    rest.split_whitespace().nth(22 - 3)?.parse().ok()
}

/// The `enabled` value of `auditctl -s` (`0` off, `1` on, `2` locked).
pub fn audit_enabled(status: &[u8]) -> Option<String> {
    String::from_utf8_lossy(status)
        .lines()
        .find_map(|l| l.strip_prefix("enabled ").map(|v| v.trim().to_owned()))
}

/// A limit as `ulimit -c` shows it.
pub fn show_limit(v: Option<u64>) -> String {
    v.map_or_else(|| "unlimited".to_owned(), |n| n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_bare_default_pattern_is_replaced() {
        let dir = Path::new("/var/crash/");
        let want = "/var/crash/core.%e.%p.%t".to_owned();
        // As read from /proc/sys/kernel/core_pattern on this machine: "core\n".
        assert_eq!(plan_core_pattern(b"core\n", dir, false), PatternPlan::Set { pattern: want.clone(), over: "core".into() });
        assert_eq!(plan_core_pattern(b"/var/crash/core.%e.%p.%t\n", dir, false), PatternPlan::AlreadySet);
        let systemd = b"|/usr/lib/systemd/systemd-coredump %P %u %g %s %t %c %h\n";
        let PatternPlan::Keep { reason } = plan_core_pattern(systemd, dir, false) else { panic!("pipe replaced") };
        assert!(reason.contains("systemd-coredump") && reason.contains("--force"), "{reason}");
        let apport = b"|/usr/share/apport/apport -p%p -s%s -c%c -d%d -P%P -u%u -g%g -- %E\n";
        assert!(matches!(plan_core_pattern(apport, dir, false), PatternPlan::Keep { reason } if reason.contains("apport")));
        assert!(matches!(plan_core_pattern(b"|/usr/libexec/abrt-hook-ccpp %s %c %p %u %g %t e\n", dir, false),
            PatternPlan::Keep { reason } if reason.contains("abrt")));
        // A pattern someone chose is theirs too.
        assert!(matches!(plan_core_pattern(b"/cores/core.%p\n", dir, false), PatternPlan::Keep { .. }));
        assert!(matches!(plan_core_pattern(b"core.%p\n", dir, false), PatternPlan::Keep { .. }));
        // --force replaces either, and says what it replaced.
        assert_eq!(plan_core_pattern(systemd, dir, true),
            PatternPlan::Set { pattern: want, over: String::from_utf8_lossy(&systemd[..systemd.len() - 1]).into_owned() });
    }

    #[test]
    fn status_judges_patterns() {
        let yes = |_: &Path| true;
        let no = |_: &Path| false;
        assert!(judge_core_pattern(b"core\n", yes).is_err());
        assert!(judge_core_pattern(b"|/bin/false\n", yes).is_err());
        assert!(judge_core_pattern(b"|/usr/lib/systemd/systemd-coredump %P\n", no).is_ok_and(|s| s.contains("systemd-coredump")));
        assert!(judge_core_pattern(b"/var/crash/core.%e\n", yes).is_ok());
        assert!(judge_core_pattern(b"/gone/core.%e\n", no).is_err());
        assert!(judge_core_pattern(b"\n", yes).is_err());
    }

    #[test]
    fn histtimeformat_detection() {
        assert!(sets_histtimeformat(b"export HISTTIMEFORMAT='%F %T '\n"));
        assert!(sets_histtimeformat(b"  HISTTIMEFORMAT=\"%s \"; export HISTTIMEFORMAT\n"));
        assert!(!sets_histtimeformat(b"# HISTTIMEFORMAT='%F'\n"));
        assert!(!sets_histtimeformat(b"echo $HISTTIMEFORMAT\nHISTSIZE=1000\n"));
        assert!(!sets_histtimeformat(b"\xff\xfe\n"));
        // The snippet counts as setting it (so a second arm finds it), and only for shells without one.
        let s = histtime_snippet();
        assert!(sets_histtimeformat(&s));
        assert!(String::from_utf8_lossy(&s).contains("[ -z \"${HISTTIMEFORMAT-}\" ]"));
    }

    #[test]
    fn limits_and_stat_parse() {
        // /proc/self/limits on this machine (the seed's `ulimit -c 0`).
        let limits = b"Limit                     Soft Limit           Hard Limit           Units     \n\
Max cpu time              unlimited            unlimited            seconds   \n\
Max core file size        0                    unlimited            bytes     \n";
        assert_eq!(parse_core_limit(limits), Some((Some(0), None)));
        assert_eq!(parse_core_limit(b"Max core file size  x y bytes\n"), None);
        assert_eq!(parse_core_limit(b""), None);
        let stat = b"42 (a) b) ) S 1 42 42 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 123456 1000 10\n";
        assert_eq!(parse_start_time(stat), Some(123_456));
        assert_eq!(parse_start_time(b"42 (x"), None);
        assert_eq!(audit_enabled(b"enabled 0\nfailure 1\npid 0\n").as_deref(), Some("0"));
        assert_eq!(audit_enabled(b"nothing"), None);
    }

    #[test]
    fn real_limits_of_this_process() {
        let own = std::fs::read("/proc/self/limits").expect("limits");
        let (soft, hard) = parse_core_limit(&own).expect("core line");
        let r = rustix::process::getrlimit(rustix::process::Resource::Core);
        assert_eq!((soft, hard), (r.current, r.maximum));
        let stat = std::fs::read("/proc/self/stat").expect("stat");
        assert!(parse_start_time(&stat).is_some_and(|t| t > 0));
    }

    #[test]
    fn rules_file_holds_each_rule() {
        let rules: Vec<_> = coroner_schemas::audit_rules::ARM_ARCHES.iter().map(|a| coroner_schemas::audit_rules::arm_rule(a)).collect();
        let text = String::from_utf8(audit_rules_file(&rules)).expect("utf8");
        let listed: Vec<&str> = text.lines().filter(|l| l.starts_with("-a")).collect();
        assert_eq!(listed.len(), 2);
        let cov = coroner_schemas::audit_rules::KillCoverage::of(&listed.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert!(cov.covers && cov.gaps.is_empty());
    }
}
