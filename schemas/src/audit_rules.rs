//! Reading loaded audit rules (`auditctl -l` lines): do they record the kill-family syscalls, from every sender,
//! on every arch? Pure text logic, shared by the report (which reads a bundle's `auditctl -l`) and by
//! `coroner-collect status` (which reads the running rules), so both judge coverage the same way.
//! Also the rules `coroner-collect arm` loads.

/// Kill-family syscall names (`auditctl -l` prints names for the syscalls it knows).
pub const KILL_NAMES: &[&str] = &["kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "pidfd_send_signal"];
/// Their numbers, by the arch a rule names: x86_64 (`b64`) and i386 (`b32`). A number means a different
/// syscall on each (37 is kill on i386 and alarm on x86_64), so a bare number counts only under its arch.
pub const KILL_B64: &[&str] = &["62", "200", "234", "129", "297", "424"];
pub const KILL_B32: &[&str] = &["37", "238", "270", "178", "335", "424"];
/// The key `coroner-collect arm` gives its rules (and the report's advice names).
pub const ARM_KEY: &str = "coroner_kill";
/// The arches `arm` writes a rule for: a 64-bit kernel runs 32-bit callers too, and a rule covers one arch.
pub const ARM_ARCHES: &[&str] = &["b64", "b32"];

/// The rule `arm` loads for one arch, as given to `auditctl -a` / `auditctl -d` (without the `-a`).
pub fn arm_rule(arch: &str) -> Vec<String> {
    let mut v: Vec<String> = ["always,exit", "-F"].map(str::to_owned).into();
    v.push(format!("arch={arch}"));
    v.push("-S".into());
    v.push(KILL_NAMES.join(","));
    v.push("-k".into());
    v.push(ARM_KEY.into());
    v
}

/// The `auditctl` command that loads [`arm_rule`] for one arch, as advice prints it.
pub fn arm_command(arch: &str) -> String {
    format!("auditctl -a {}", arm_rule(arch).join(" "))
}

/// What one `auditctl -l` rule records of kill-family syscalls, when it records any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KillRule {
    /// `b64`, `b32` or another `-F arch=` value; `None`: every arch.
    pub arch: Option<String>,
    /// The `-F` conditions that narrow which calls are recorded (`auid>=1000`, `a1=9`, `exe=…`); the arch,
    /// the key and `success` do not narrow who is seen killing.
    pub narrowed_by: Vec<String>,
}

impl KillRule {
    /// Records every sender (no narrowing) of `arch` (`b64`, `b32`).
    pub fn whole_for(&self, arch: &str) -> bool {
        self.narrowed_by.is_empty() && self.arch.as_deref().is_none_or(|a| arch_alias(a) == arch)
    }

    /// Records every sender of the main arch (or of every arch): a 32-bit-only rule does not count.
    pub fn whole(&self) -> bool {
        self.narrowed_by.is_empty() && self.arch.as_deref().is_none_or(|a| arch_alias(a) != "b32")
    }
}

fn arch_alias(a: &str) -> &str {
    match a {
        "x86_64" => "b64",
        "i386" | "i686" => "b32",
        other => other,
    }
}

/// Whether one `auditctl -l` rule records kill-family syscalls: an `always` exit rule whose `-S` lists name
/// one of them (numbers under the arch the rule names), or that has no `-S` (every syscall).
pub fn rule_kill_coverage(rule: &str) -> Option<KillRule> {
    let w: Vec<&str> = rule.split_whitespace().collect();
    let a = w.iter().position(|x| *x == "-a" || *x == "-A")?;
    let parts: Vec<&str> = w.get(a + 1)?.split(',').collect();
    if !parts.contains(&"always") || !parts.contains(&"exit") {
        return None;
    }
    let mut arch = None;
    let mut narrowed_by = Vec::new();
    for cond in w.windows(2).filter(|p| p[0] == "-F").map(|p| p[1]) {
        let name = cond.split(['=', '!', '<', '>', '&']).next().unwrap_or("");
        match name {
            "arch" => arch = cond.strip_prefix("arch=").map(str::to_owned),
            "key" | "success" => {}
            _ => narrowed_by.push(cond.to_owned()),
        }
    }
    let numbers: &[&str] = match arch.as_deref().map(arch_alias) {
        Some("b64") => KILL_B64,
        Some("b32") => KILL_B32,
        _ => &[],
    };
    let lists: Vec<&str> = w.windows(2).filter(|p| p[0] == "-S").map(|p| p[1]).collect();
    let covers = lists.is_empty()
        || lists
            .iter()
            .flat_map(|l| l.split(','))
            .any(|s| s == "all" || KILL_NAMES.contains(&s) || numbers.contains(&s));
    covers.then_some(KillRule { arch, narrowed_by })
}

/// Whether one rule records kill-family syscalls at all (see [`rule_kill_coverage`]).
pub fn rule_covers_kill(rule: &str) -> bool {
    rule_kill_coverage(rule).is_some()
}

/// The loaded rules, as `auditctl -l` prints them: one per line; blank lines and `No rules` skipped.
/// Lines that are not rules (do not start with `-`) come back apart, by 1-based line number.
pub fn rule_lines(text: &str) -> (Vec<String>, Vec<usize>) {
    let mut rules = Vec::new();
    let mut bad = Vec::new();
    for (i, l) in text.lines().enumerate() {
        let l = l.trim();
        if l.is_empty() || l == "No rules" {
            continue;
        }
        if l.starts_with('-') {
            rules.push(l.to_owned());
        } else {
            bad.push(i + 1);
        }
    }
    (rules, bad)
}

/// What a set of loaded rules records of kill-family syscalls.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KillCoverage {
    /// A rule records them from every sender of the main arch (or every arch).
    pub covers: bool,
    /// The rules that record some of them, with what each records.
    pub covering: Vec<(String, KillRule)>,
    /// When none covers: the rules that record some senders only, "only calls matching … are recorded (rule)".
    pub narrowed: Vec<String>,
    /// Everything short of every sender on both arches: the narrowed rules, a missing 32-bit rule.
    pub gaps: Vec<String>,
}

impl KillCoverage {
    /// Kills are audited when a rule records them from every sender of the main arch (or every arch); rules
    /// that only record some senders (`-F auid>=1000` leaves out daemons, cron and anything without a login
    /// uid) are gaps, and so is a missing 32-bit rule beside a 64-bit one.
    pub fn of(rules: &[String]) -> KillCoverage {
        let covering: Vec<(String, KillRule)> =
            rules.iter().filter_map(|r| rule_kill_coverage(r).map(|c| (r.clone(), c))).collect();
        let covers = covering.iter().any(|(_, c)| c.whole());
        let narrowed: Vec<String> = if covers {
            Vec::new()
        } else {
            covering
                .iter()
                .filter(|(_, c)| !c.narrowed_by.is_empty())
                .map(|(r, c)| format!("only calls matching {} are recorded ({r})", c.narrowed_by.join(" ")))
                .collect()
        };
        let mut gaps = narrowed.clone();
        if covers && !covering.iter().any(|(_, c)| c.whole_for("b32")) {
            gaps.push("no rule records 32-bit (-F arch=b32) callers".to_owned());
        }
        KillCoverage { covers, covering, narrowed, gaps }
    }

    /// A rule records every sender of `arch`.
    pub fn covers_arch(&self, arch: &str) -> bool {
        self.covering.iter().any(|(_, c)| c.whole_for(arch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kill_coverage_by_arch_and_filters() {
        let c = |r: &str| rule_kill_coverage(r);
        assert_eq!(c("-a always,exit -F arch=b64 -S kill -F key=k"), Some(KillRule { arch: Some("b64".into()), narrowed_by: vec![] }));
        assert_eq!(
            c("-a always,exit -F arch=b64 -S kill,tkill -F auid>=1000 -F auid!=-1 -F key=k"),
            Some(KillRule { arch: Some("b64".into()), narrowed_by: vec!["auid>=1000".into(), "auid!=-1".into()] })
        );
        assert_eq!(c("-a always,exit -S kill -F a1=9 -F success=1"), Some(KillRule { arch: None, narrowed_by: vec!["a1=9".into()] }));
        // Numbers count only under their own arch: 37 is kill on i386, alarm on x86_64.
        assert!(c("-a always,exit -F arch=b32 -S 37").is_some());
        assert!(c("-a always,exit -F arch=b64 -S 37").is_none());
        assert!(c("-a always,exit -F arch=b64 -S 129").is_some(), "rt_sigqueueinfo on x86_64");
        assert!(c("-a always,exit -F arch=b32 -S 129").is_none(), "delete_module on i386");
        assert!(c("-a always,exit -S 62").is_none(), "no arch: a number says nothing");
    }

    #[test]
    fn kill_coverage() {
        assert!(rule_covers_kill("-a always,exit -F arch=b64 -S kill,tkill,tgkill -F key=k"));
        assert!(rule_covers_kill("-a exit,always -F arch=b64 -S 62"));
        assert!(rule_covers_kill("-a always,exit -F arch=b64 -F auid>=1000"));
        assert!(!rule_covers_kill("-a never,exit -F arch=b64 -S kill"));
        assert!(!rule_covers_kill("-a always,exit -F arch=b64 -S openat -F key=x"));
        assert!(!rule_covers_kill("-w /etc/passwd -p wa -k passwd"));
        assert!(!rule_covers_kill("-a always,user"));
    }

    /// What `auditctl -l` printed on this machine (Debian 12, auditctl 3.0.9) after `arm`'s two rules: it
    /// reorders the syscall list and prints `-k` as `-F key=`.
    #[test]
    fn arm_rules_as_listed_cover_both_arches() {
        let listed = "-a always,exit -F arch=b64 -S kill,rt_sigqueueinfo,tkill,tgkill,rt_tgsigqueueinfo,pidfd_send_signal -F key=coroner_kill\n\
                      -a always,exit -F arch=b32 -S kill,rt_sigqueueinfo,tkill,tgkill,rt_tgsigqueueinfo,pidfd_send_signal -F key=coroner_kill\n";
        let (rules, bad) = rule_lines(listed);
        assert!(bad.is_empty());
        let cov = KillCoverage::of(&rules);
        assert!(cov.covers && cov.covers_arch("b64") && cov.covers_arch("b32"), "{cov:?}");
        assert!(cov.gaps.is_empty(), "{:?}", cov.gaps);
        // Only the 64-bit one: covered, with the 32-bit gap named.
        let cov = KillCoverage::of(&rules[..1]);
        assert!(cov.covers && !cov.covers_arch("b32"));
        assert_eq!(cov.gaps, ["no rule records 32-bit (-F arch=b32) callers"]);
        // The generated rule is the one that was listed, syscall order aside.
        let arm = format!("-a {}", arm_rule("b64").join(" "));
        assert_eq!(rule_kill_coverage(&arm), rule_kill_coverage(&rules[0]));
        assert_eq!(arm, "-a always,exit -F arch=b64 -S kill,tkill,tgkill,rt_sigqueueinfo,rt_tgsigqueueinfo,pidfd_send_signal -k coroner_kill");
        assert_eq!(rule_lines("No rules\n"), (vec![], vec![]));
        assert_eq!(rule_lines("-w /x -p wa\nError\n").1, [2]);
    }

    #[test]
    fn narrowed_rules_are_not_coverage() {
        let rules = vec!["-a always,exit -F arch=b64 -S kill -F auid>=1000 -F auid!=-1 -F key=k".to_owned()];
        let cov = KillCoverage::of(&rules);
        assert!(!cov.covers && !cov.covers_arch("b64"));
        assert_eq!(cov.narrowed, [format!("only calls matching auid>=1000 auid!=-1 are recorded ({})", rules[0])]);
        assert_eq!(cov.gaps, cov.narrowed);
        // A 32-bit-only rule is not coverage of the main arch.
        let cov = KillCoverage::of(&["-a always,exit -F arch=b32 -S kill".to_owned()]);
        assert!(!cov.covers && cov.covers_arch("b32"));
    }
}
