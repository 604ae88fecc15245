//! `arm --all`, `status`, `disarm` twice on this host, as root: each change takes effect, and afterwards every
//! setting is back byte for byte. A guard puts the settings back even when an assertion fails.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::Duration;

use coroner_schemas::audit_rules::{arm_rule, rule_lines, KillCoverage, ARM_ARCHES};

const BIN: &str = env!("CARGO_BIN_EXE_coroner-collect");
const CORE_PATTERN: &str = "/proc/sys/kernel/core_pattern";
const PROFILE_D: &str = "/etc/profile.d";
const RULES_D: &str = "/etc/audit/rules.d";

/// The tests here read or change host settings: one at a time.
static HOST: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn host_lock() -> std::sync::MutexGuard<'static, ()> {
    HOST.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn auditctl(args: &[&str]) -> Option<Output> {
    ["/usr/sbin/auditctl", "/sbin/auditctl"]
        .iter()
        .find(|p| Path::new(p).exists())
        .and_then(|p| Command::new(p).args(args).output().ok())
}

/// A folder's files and their bytes, in name order (`None`: no such folder).
fn listing(dir: &str) -> Option<Vec<(String, Bytes)>> {
    let rd = std::fs::read_dir(dir).ok()?;
    let mut v: Vec<(String, Bytes)> = rd
        .filter_map(Result::ok)
        .map(|e| (e.file_name().to_string_lossy().into_owned(), Bytes(std::fs::read(e.path()).unwrap_or_default())))
        .collect();
    v.sort();
    Some(v)
}

fn core_line(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/limits"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap_or("")
        .to_owned()
}

/// Bytes compared exactly, shown as (escaped) text when a comparison fails.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Bytes(Vec<u8>);

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(&self.0))
    }
}

/// Everything `arm --all` may touch.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    audit_rules: Option<Bytes>,
    audit_enabled: Option<Bytes>,
    core_pattern: Bytes,
    profile_d: Option<Vec<(String, Bytes)>>,
    rules_d: Option<Vec<(String, Bytes)>>,
    journal_dir: bool,
    child_core: String,
    own_core: String,
}

fn snapshot(child: u32) -> Snapshot {
    let enabled = auditctl(&["-s"]).map(|o| {
        Bytes(String::from_utf8_lossy(&o.stdout).lines().find(|l| l.starts_with("enabled ")).unwrap_or("").as_bytes().to_vec())
    });
    Snapshot {
        audit_rules: auditctl(&["-l"]).map(|o| Bytes(o.stdout)),
        audit_enabled: enabled,
        core_pattern: Bytes(std::fs::read(CORE_PATTERN).expect("core_pattern")),
        profile_d: listing(PROFILE_D),
        rules_d: listing(RULES_D),
        journal_dir: Path::new("/var/log/journal").is_dir(),
        child_core: core_line(child),
        own_core: core_line(std::process::id()),
    }
}

/// Puts back what the snapshot holds, whatever state the test left; kills the child by its pid.
struct Guard {
    before: Snapshot,
    child: Child,
    own_limit: rustix::process::Rlimit,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = std::fs::write(CORE_PATTERN, &self.before.core_pattern.0);
        if self.before.audit_rules.as_ref().is_some_and(|r| !String::from_utf8_lossy(&r.0).contains("coroner_kill")) {
            for arch in ARM_ARCHES {
                let rule = arm_rule(arch);
                let mut args = vec!["-d"];
                args.extend(rule.iter().map(String::as_str));
                let _ = auditctl(&args);
            }
        }
        if self.before.audit_enabled.as_ref().is_some_and(|e| e.0 == b"enabled 0") {
            let _ = auditctl(&["-e", "0"]);
        }
        for (dir, was) in [(PROFILE_D, &self.before.profile_d), (RULES_D, &self.before.rules_d)] {
            let Some(was) = was else { continue };
            for (name, _) in listing(dir).unwrap_or_default() {
                if !was.iter().any(|(n, _)| *n == name) {
                    let _ = std::fs::remove_file(Path::new(dir).join(name));
                }
            }
            for (name, bytes) in was {
                let p = Path::new(dir).join(name);
                if std::fs::read(&p).ok().as_ref() != Some(&bytes.0) {
                    let _ = std::fs::write(p, &bytes.0);
                }
            }
        }
        let _ = rustix::process::setrlimit(rustix::process::Resource::Core, self.own_limit);
        if let Some(pid) = rustix::process::Pid::from_raw(self.child.id() as i32) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
        let _ = self.child.wait();
    }
}

fn run(args: &[&str]) -> (i32, String) {
    let o = Command::new(BIN).args(args).output().expect("run coroner-collect");
    let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    (o.status.code().unwrap_or(-1), text)
}

#[test]
#[ignore = "needs root"]
fn arm_then_disarm_twice_puts_every_setting_back() {
    let _host = host_lock();
    let tmp = tempfile::tempdir().expect("tmp");
    let state: PathBuf = tmp.path().join("state");
    let cores: PathBuf = tmp.path().join("cores");
    // A process with the seed's `ulimit -c 0`, whose limit arm raises.
    let child = Command::new("/bin/sh").args(["-c", "ulimit -S -c 0; exec sleep 120"]).spawn().expect("spawn");
    let pid = child.id();
    std::thread::sleep(Duration::from_millis(200));
    let before = snapshot(pid);
    let guard = Guard { before, child, own_limit: rustix::process::getrlimit(rustix::process::Resource::Core) };
    let before = &guard.before;
    assert!(before.child_core.split_whitespace().nth(4) == Some("0"), "child soft limit 0: {}", before.child_core);

    let (s, st, c, me) = (state.to_str().expect("utf8"), state.display().to_string(), cores.to_str().expect("utf8"), std::process::id().to_string());
    let pid_s = pid.to_string();
    let arm_args = ["arm", "--all", "--yes", "--state-dir", s, "--core-dir", c, "--raise-core-limit", &pid_s, &me];

    // A dry run shows and changes nothing.
    let mut dry = arm_args.to_vec();
    dry[2] = "--dry-run";
    let (code, out) = run(&dry);
    assert_eq!(code, 0, "{out}");
    assert_eq!(&snapshot(pid), before, "dry run changed something:\n{out}");
    assert!(!state.join("arm.json").exists());

    let (code, out) = run(&arm_args);
    assert_eq!(code, 0, "arm:\n{out}");
    assert!(state.join("arm.json").is_file(), "{out}");
    let after = snapshot(pid);
    // Cores: only the bare default is replaced, and the folder is made 1733.
    if before.core_pattern.0 == b"core\n" {
        assert_eq!(after.core_pattern.0, format!("{c}/core.%e.%p.%t\n").into_bytes());
        let mode = std::fs::metadata(&cores).expect("core dir").permissions().mode();
        assert_eq!(mode & 0o7777, 0o1733);
    } else {
        assert_eq!(after.core_pattern, before.core_pattern, "a non-default pattern was replaced");
    }
    assert!(after.child_core.contains("unlimited") && after.child_core.split_whitespace().nth(4) == Some("unlimited"), "{}", after.child_core);
    assert_eq!(after.own_core.split_whitespace().nth(4), Some("unlimited"));
    if let Some(rules) = &after.audit_rules {
        let rules = String::from_utf8_lossy(&rules.0);
        let (listed, _) = rule_lines(&rules);
        let cov = KillCoverage::of(&listed);
        for arch in ARM_ARCHES {
            assert!(cov.covers_arch(arch), "arch {arch} not covered:\n{rules}");
        }
        assert_eq!(after.audit_enabled, Some(Bytes(b"enabled 1".to_vec())));
        if before.rules_d.is_some() {
            let f = std::fs::read_to_string(Path::new(RULES_D).join("coroner.rules")).expect("coroner.rules");
            assert!(f.contains("-a always,exit -F arch=b32"), "{f}");
        }
    }
    let snippet = Path::new(PROFILE_D).join("coroner-histtime.sh");
    let set_elsewhere = before.profile_d.iter().flatten().any(|(_, b)| String::from_utf8_lossy(&b.0).contains("HISTTIMEFORMAT="));
    assert_eq!(snippet.is_file(), !set_elsewhere, "{out}");
    assert_eq!(after.journal_dir, before.journal_dir, "no journald here: the journal is left alone");

    // A second arm finds everything in place and changes nothing.
    let (code, out2) = run(&arm_args);
    assert_eq!(code, 0, "{out2}");
    assert!(out2.contains("Nothing to change"), "{out2}");

    // Status: armed, apart from what this machine cannot do here (no recorder in this test; PID 1's limit).
    let (code, sout) = run(&["status", "--state-dir", s]);
    assert!(code == 0 || code == 1, "{sout}");
    let gaps: Vec<&str> = sout.lines().filter(|l| l.starts_with("GAP")).collect();
    for g in &gaps {
        assert!(g.contains("recorder") || g.contains("PID 1"), "unexpected gap: {g}\n{sout}");
    }
    assert_eq!(code == 1, !gaps.is_empty());
    assert!(sout.lines().any(|l| l.starts_with("armed") && l.contains("cores")) || before.core_pattern.0 != b"core\n", "{sout}");
    if after.audit_rules.is_some() {
        assert!(sout.lines().any(|l| l.starts_with("armed") && l.contains("audit")), "{sout}");
    }
    // What each way of recording costs is said once, under audit's first line and under the recorder's.
    let lines: Vec<&str> = sout.lines().collect();
    let costs: Vec<usize> = (0..lines.len()).filter(|&i| lines[i].trim_start().starts_with("cost:")).collect();
    assert_eq!(costs.len(), 2, "{sout}");
    let piece_above = |i: usize| lines[..i].iter().rev().find(|l| !l.starts_with(' ')).map(|l| l.split_whitespace().nth(1).unwrap_or(""));
    assert_eq!(costs.iter().map(|&i| piece_above(i)).collect::<Vec<_>>(), [Some("audit"), Some("recorder")], "{sout}");

    let (code, d1) = run(&["disarm", "--state-dir", s]);
    assert_eq!(code, 0, "disarm:\n{d1}");
    assert!(d1.contains("undone:"), "{d1}");
    let (code, d2) = run(&["disarm", "--state-dir", s]);
    assert_eq!(code, 0, "second disarm:\n{d2}");
    assert!(d2.contains("Nothing to undo"), "{d2}");
    assert!(!state.join("arm.json").exists(), "{st}");
    assert!(!cores.exists(), "the empty core folder arm made is removed");
    assert_eq!(&snapshot(pid), before, "not every setting is back");
}

#[test]
fn arm_without_a_piece_changes_nothing_and_says_so() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (code, out) = run(&["arm", "--state-dir", tmp.path().to_str().expect("utf8")]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("nothing chosen") && !out.contains("bundle"), "{out}");
    assert!(!tmp.path().join("arm.json").exists());
    // disarm with no state: nothing to do, exit 0.
    let (code, out) = run(&["disarm", "--state-dir", tmp.path().to_str().expect("utf8")]);
    assert_eq!((code, out.contains("Nothing to undo")), (0, true), "{out}");
}

/// A run that stopped between recording a change and making it (or a process that exited since) leaves records
/// whose host state is as it was: disarm says there is nothing to undo for each, exits 0 and drops the file.
#[test]
fn disarm_after_an_interrupted_arm_touches_nothing() {
    let _host = host_lock();
    use coroner_collect::arm::state::{Change, Recorded, State, STATE_VERSION};
    let tmp = tempfile::tempdir().expect("tmp");
    let pattern = std::fs::read(CORE_PATTERN).expect("core_pattern");
    let rec = |change| Recorded { change, applied: false };
    let st = State {
        version: STATE_VERSION,
        changes: vec![
            rec(Change::Sysctl { name: "kernel.core_pattern".into(), prior: pattern.clone(), set: "/nonexistent/core.%p".into() }),
            rec(Change::File { path: tmp.path().join("never-written"), prior: None, prior_mode: None, written: b"x".to_vec(), mode: 0o644 }),
            Recorded {
                // A pid no process has (above pid_max), as if the process had exited.
                change: Change::CoreLimit { pid: 1 << 30, start_time: 1, prior_soft: Some(0), prior_hard: None, set_soft: None, set_hard: None },
                applied: true,
            },
        ],
    };
    st.save(tmp.path()).expect("save");
    let (code, out) = run(&["disarm", "--state-dir", tmp.path().to_str().expect("utf8")]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.matches("nothing to undo:").count(), 3, "{out}");
    assert!(out.contains("has exited"), "{out}");
    assert!(!tmp.path().join("arm.json").exists());
    assert!(!tmp.path().join("never-written").exists());
    assert_eq!(std::fs::read(CORE_PATTERN).expect("core_pattern"), pattern);
}
