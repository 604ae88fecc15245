//! `coroner-collect arm` / `disarm` / `status`: prepare a host so the next death leaves evidence, undo that
//! exactly, and say what is in place.
//!
//! `arm` plans every change first and shows it, then (with `--yes` or a "y" on the terminal) makes them one
//! by one, each recorded in `<state-dir>/arm.json` before it is made ([`state`]). `disarm` undoes the
//! recorded changes, last first, each only if the host still holds what `arm` set; anything it cannot undo
//! is reported, and the state file stays until everything is undone.

pub mod pieces;
pub mod state;
pub mod status;

use std::io::{self, BufRead, IsTerminal, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use coroner_schemas::audit_rules::{self, KillCoverage};
use coroner_schemas::watch::DEFAULT_STATE_DIR;
use rustix::process::{prlimit, Pid, Resource, Rlimit};

use crate::acquire::command;
use pieces::*;
use state::{Change, Recorded, State};

/// Timeout of each command `arm`, `disarm` and `status` run (`auditctl`, `systemctl`).
const CMD_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Args, Debug, Clone, Default)]
pub struct ArmArgs {
    /// Audit rules for every kill-family syscall on b64 and b32 (key coroner_kill); also written to
    /// /etc/audit/rules.d/coroner.rules where that folder exists.
    #[arg(long)]
    pub audit: bool,
    /// Point kernel.core_pattern at --core-dir with core.%e.%p.%t names, if it is the bare default `core`.
    #[arg(long)]
    pub cores: bool,
    /// HISTTIMEFORMAT for bash in /etc/profile.d/coroner-histtime.sh, unless already set.
    #[arg(long)]
    pub history: bool,
    /// A persistent journal (/var/log/journal) where journald runs.
    #[arg(long)]
    pub journal: bool,
    /// The signal recorder: installs and enables coroner-watch.service under systemd, else says how to run it.
    #[arg(long)]
    pub recorder: bool,
    /// Every piece above.
    #[arg(long)]
    pub all: bool,
    /// Folder for core dumps (made with mode 1733 if missing).
    #[arg(long, value_name = "DIR", default_value = DEFAULT_CORE_DIR)]
    pub core_dir: PathBuf,
    /// Raise RLIMIT_CORE of these running processes to unlimited (a shell's `ulimit -c 0` keeps cores away).
    #[arg(long, value_name = "PID", num_args = 1..)]
    pub raise_core_limit: Vec<i32>,
    /// Replace a core_pattern that is not the default, even a pipe handler (systemd-coredump, apport, abrt).
    #[arg(long)]
    pub force: bool,
    /// Make the changes without asking.
    #[arg(short, long)]
    pub yes: bool,
    /// Show the changes and stop.
    #[arg(long)]
    pub dry_run: bool,
    /// Where arm.json (the record of changes) and the recorder's files live.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_STATE_DIR)]
    pub state_dir: PathBuf,
}

#[derive(Args, Debug, Clone)]
pub struct DisarmArgs {
    /// Where arm.json was written.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_STATE_DIR)]
    pub state_dir: PathBuf,
}

#[derive(Args, Debug, Clone)]
pub struct StatusArgs {
    /// Where arm.json and the recorder's files live.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_STATE_DIR)]
    pub state_dir: PathBuf,
}

/// One planned change, as shown before it is made.
struct Step {
    show: String,
    change: Change,
}

/// Runs a command; `Ok(stdout)` when it exited 0, else `Err(what went wrong)`.
fn run(argv: &[&str]) -> Result<Vec<u8>, String> {
    match command::run(argv, &[], CMD_TIMEOUT, 1 << 20) {
        Ok(o) if o.run.exit_code == Some(0) => Ok(o.stdout),
        Ok(o) => Err(format!(
            "`{}` failed ({}): {}",
            argv.join(" "),
            o.run.exit_code.map_or_else(|| "killed".to_owned(), |c| format!("exit {c}")),
            o.run.stderr.trim()
        )),
        Err(e) => Err(e.to_string()),
    }
}

fn sysctl_path(name: &str) -> PathBuf {
    Path::new("/proc/sys").join(name.replace('.', "/"))
}

fn file_mode(p: &Path) -> Option<u32> {
    std::fs::symlink_metadata(p).ok().map(|m| m.permissions().mode() & 0o7777)
}

/// Reads a file; `Ok(None)` when it does not exist.
fn read_opt(p: &Path) -> io::Result<Option<Vec<u8>>> {
    match std::fs::read(p) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Writes a whole file atomically (temporary beside it, renamed over it) with `mode`.
fn write_file(p: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = p.with_file_name(format!(".{name}.coroner-tmp"));
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(mode).open(&tmp)?;
    f.write_all(bytes)?;
    f.set_permissions(std::fs::Permissions::from_mode(mode))?;
    f.sync_all()?;
    std::fs::rename(&tmp, p)
}

/// A file `arm` writes whole: a step unless it already holds exactly these bytes.
fn file_step(path: &Path, bytes: Vec<u8>, mode: u32, what: &str) -> Result<Option<Step>, String> {
    let prior = read_opt(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    if prior.as_deref() == Some(&bytes[..]) {
        return Ok(None);
    }
    let show = match &prior {
        None => format!("write {} ({what}, {} bytes, mode {mode:o})", path.display(), bytes.len()),
        Some(p) => format!("replace {} ({what}; its {} bytes are kept in arm.json)", path.display(), p.len()),
    };
    Ok(Some(Step {
        show,
        change: Change::File { path: path.to_owned(), prior_mode: prior.as_ref().and(file_mode(path)), prior, written: bytes, mode },
    }))
}

/// What `arm` plans, and what it says about the pieces it leaves alone.
#[derive(Default)]
struct Plan {
    steps: Vec<Step>,
    notes: Vec<String>,
}

impl Plan {
    fn note(&mut self, s: impl Into<String>) {
        self.notes.push(s.into());
    }
}

fn plan_audit(p: &mut Plan) {
    if command::find_program("auditctl").is_none() {
        p.note("audit: auditctl is not installed; skipped (install auditd: apt-get install auditd / dnf install audit)");
        return;
    }
    let status = match run(&["auditctl", "-s"]) {
        Ok(s) => s,
        Err(e) => return p.note(format!("audit: skipped: {e}")),
    };
    match audit_enabled(&status).as_deref() {
        Some("2") => return p.note("audit: the rules are locked (enabled 2) until reboot; skipped"),
        Some("0") => p.steps.push(Step {
            show: "auditctl -e 1   (auditing is off: rules record nothing until it is on)".into(),
            change: Change::AuditEnabled { prior: "0".into() },
        }),
        _ => {}
    }
    let listed = match run(&["auditctl", "-l"]) {
        Ok(l) => l,
        Err(e) => return p.note(format!("audit: skipped: {e}")),
    };
    let (rules, _) = audit_rules::rule_lines(&String::from_utf8_lossy(&listed));
    let cov = KillCoverage::of(&rules);
    let mut want = Vec::new();
    for arch in audit_rules::ARM_ARCHES {
        let rule = audit_rules::arm_rule(arch);
        if cov.covers_arch(arch) {
            p.note(format!("audit: kill-family syscalls of arch {arch} are recorded already by a loaded rule"));
        } else {
            p.steps.push(Step { show: format!("auditctl -a {}", rule.join(" ")), change: Change::AuditRule { rule: rule.clone() } });
        }
        want.push(rule);
    }
    if Path::new(AUDIT_RULES_D).is_dir() {
        let path = Path::new(AUDIT_RULES_D).join(AUDIT_RULES_FILE);
        match file_step(&path, audit_rules_file(&want), 0o640, "the same rules, loaded again at boot") {
            Ok(Some(s)) => p.steps.push(s),
            Ok(None) => {}
            Err(e) => p.note(format!("audit: {e}")),
        }
    }
}

fn plan_cores(p: &mut Plan, a: &ArmArgs) {
    let path = sysctl_path(CORE_PATTERN);
    let cur = match std::fs::read(&path) {
        Ok(c) => c,
        Err(e) => return p.note(format!("cores: cannot read {}: {e}; skipped", path.display())),
    };
    let dir = if a.core_dir.is_absolute() { a.core_dir.clone() } else { Path::new("/").join(&a.core_dir) };
    match plan_core_pattern(&cur, &dir, a.force) {
        PatternPlan::AlreadySet => p.note(format!("cores: core_pattern already sends cores to {}", dir.display())),
        PatternPlan::Keep { reason } => p.note(format!("cores: core_pattern left alone: {reason}")),
        PatternPlan::Set { pattern, over } => {
            if !dir.is_dir() {
                p.steps.push(Step {
                    show: format!("mkdir -m {CORE_DIR_MODE:o} {}   (any process may write its core there; only root may list it)", dir.display()),
                    change: Change::Dir { path: dir.clone(), mode: CORE_DIR_MODE, why: "core dumps".into() },
                });
            }
            p.steps.push(Step {
                show: format!("sysctl -w {CORE_PATTERN}='{pattern}'   (was '{over}')"),
                change: Change::Sysctl { name: CORE_PATTERN.into(), prior: cur, set: pattern },
            });
        }
    }
}

fn plan_core_limits(p: &mut Plan, pids: &[i32]) {
    for &pid in pids {
        let limits = std::fs::read(format!("/proc/{pid}/limits"));
        let stat = std::fs::read(format!("/proc/{pid}/stat"));
        let (Ok(limits), Ok(stat)) = (limits, stat) else {
            p.note(format!("core limit: no process {pid}; skipped"));
            continue;
        };
        let (Some((soft, hard)), Some(start_time)) = (parse_core_limit(&limits), parse_start_time(&stat)) else {
            p.note(format!("core limit: cannot read the limits of process {pid}; skipped"));
            continue;
        };
        if soft.is_none() && hard.is_none() {
            p.note(format!("core limit: process {pid} has no core size limit already"));
            continue;
        }
        p.steps.push(Step {
            show: format!("prlimit --pid {pid} --core=unlimited:unlimited   (was {}:{})", show_limit(soft), show_limit(hard)),
            change: Change::CoreLimit { pid, start_time, prior_soft: soft, prior_hard: hard, set_soft: None, set_hard: None },
        });
    }
}

fn plan_history(p: &mut Plan) {
    if !Path::new(PROFILE_D).is_dir() {
        return p.note(format!("history: no {PROFILE_D} here; skipped"));
    }
    let snippet = Path::new(HISTTIME_SNIPPET_PATH);
    let mut places: Vec<PathBuf> = HISTTIME_PLACES.iter().map(PathBuf::from).collect();
    if let Ok(rd) = std::fs::read_dir(PROFILE_D) {
        let mut more: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.as_path() != snippet).collect();
        more.sort();
        places.extend(more);
    }
    if let Some(by) = places.iter().find(|f| std::fs::read(f).is_ok_and(|b| sets_histtimeformat(&b))) {
        return p.note(format!("history: HISTTIMEFORMAT is set already in {}", by.display()));
    }
    match file_step(snippet, histtime_snippet(), 0o644, "HISTTIMEFORMAT for bash login shells") {
        Ok(Some(s)) => p.steps.push(s),
        Ok(None) => p.note(format!("history: {HISTTIME_SNIPPET_PATH} is in place already")),
        Err(e) => p.note(format!("history: {e}")),
    }
}

fn plan_journal(p: &mut Plan) {
    if !Path::new(JOURNALD_RUNNING).is_dir() {
        return p.note(format!("journal: journald is not running here ({JOURNALD_RUNNING} is missing); nothing to do"));
    }
    if Path::new(JOURNAL_DIR).is_dir() {
        return p.note(format!("journal: {JOURNAL_DIR} exists; the journal is persistent (unless journald.conf says Storage=volatile)"));
    }
    p.steps.push(Step {
        show: format!("mkdir -m 2755 {JOURNAL_DIR}; journalctl --flush   (journald then keeps logs across reboots)"),
        change: Change::Dir { path: JOURNAL_DIR.into(), mode: 0o2755, why: "persistent journal".into() },
    });
}

/// Where the recorder's unit file is found: installed beside the binary's share folder, or in the source tree
/// this binary was built from.
fn unit_source() -> Option<PathBuf> {
    let mut c = vec![PathBuf::from("/usr/local/share/coroner").join(UNIT_NAME), PathBuf::from("/usr/share/coroner").join(UNIT_NAME)];
    c.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/systemd").join(UNIT_NAME));
    c.into_iter().find(|p| p.is_file())
}

fn plan_recorder(p: &mut Plan, a: &ArmArgs) {
    let fg = format!("coroner-collect watch --state-dir {}", a.state_dir.display());
    if !Path::new(SYSTEMD_RUNNING).is_dir() {
        let pid1 = std::fs::read_to_string("/proc/1/comm").unwrap_or_default();
        return p.note(format!(
            "recorder: systemd is not PID 1 here (PID 1 is {:?}), so no unit is installed; run it in the foreground (or under your init): {fg}",
            pid1.trim()
        ));
    }
    let Some(src) = unit_source() else {
        return p.note(format!("recorder: {UNIT_NAME} not found (looked in /usr/local/share/coroner, /usr/share/coroner and the source tree); run: {fg}"));
    };
    let bytes = match std::fs::read(&src) {
        Ok(b) => b,
        Err(e) => return p.note(format!("recorder: reading {}: {e}", src.display())),
    };
    match file_step(&Path::new(UNIT_DIR).join(UNIT_NAME), bytes, 0o644, "the recorder's unit") {
        Ok(Some(s)) => p.steps.push(s),
        Ok(None) => {}
        Err(e) => return p.note(format!("recorder: {e}")),
    }
    let prior = command::run(&["systemctl", "is-enabled", UNIT_NAME], &[], CMD_TIMEOUT, 4096)
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    if prior == "enabled" {
        return p.note(format!("recorder: {UNIT_NAME} is enabled already"));
    }
    p.steps.push(Step {
        show: format!("systemctl daemon-reload; systemctl enable --now {UNIT_NAME}"),
        change: Change::Unit { name: UNIT_NAME.into(), prior: if prior.is_empty() { "not-found".into() } else { prior } },
    });
}

fn confirm(n: usize) -> anyhow::Result<bool> {
    if !io::stdin().is_terminal() {
        anyhow::bail!("not on a terminal: pass --yes to make these {n} change(s), or --dry-run to only show them");
    }
    eprint!("Make these {n} change(s)? [y/N] ");
    let _ = io::stderr().flush();
    let mut line = String::new();
    io::stdin().lock().read_line(&mut line)?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes"))
}

/// Makes one change.
fn apply(c: &Change) -> Result<(), String> {
    match c {
        Change::AuditRule { rule } => {
            let mut argv = vec!["auditctl", "-a"];
            argv.extend(rule.iter().map(String::as_str));
            run(&argv).map(drop)
        }
        Change::AuditEnabled { .. } => run(&["auditctl", "-e", "1"]).map(drop),
        Change::Sysctl { name, set, .. } => {
            std::fs::write(sysctl_path(name), set.as_bytes()).map_err(|e| format!("writing {name}: {e}"))
        }
        Change::File { path, written, mode, .. } => {
            write_file(path, written, *mode).map_err(|e| format!("writing {}: {e}", path.display()))
        }
        Change::Dir { path, mode, .. } => {
            std::fs::create_dir(path)
                .and_then(|()| std::fs::set_permissions(path, std::fs::Permissions::from_mode(*mode)))
                .map_err(|e| format!("making {}: {e}", path.display()))?;
            if path.as_path() == Path::new(JOURNAL_DIR) {
                // Ownership as journald expects it, then move the runtime journal over; both best effort.
                let _ = run(&["systemd-tmpfiles", "--create", "--prefix", JOURNAL_DIR]);
                let _ = run(&["journalctl", "--flush"]);
            }
            Ok(())
        }
        Change::CoreLimit { pid, set_soft, set_hard, .. } => {
            let p = Pid::from_raw(*pid).ok_or_else(|| format!("bad pid {pid}"))?;
            prlimit(Some(p), Resource::Core, Rlimit { current: *set_soft, maximum: *set_hard })
                .map(drop)
                .map_err(|e| format!("prlimit of process {pid}: {e}"))
        }
        Change::Unit { name, .. } => {
            run(&["systemctl", "daemon-reload"])?;
            run(&["systemctl", "enable", "--now", name]).map(drop)
        }
    }
}

pub fn arm(a: &ArmArgs) -> anyhow::Result<i32> {
    let all = a.all;
    if !(all || a.audit || a.cores || a.history || a.journal || a.recorder) && a.raise_core_limit.is_empty() {
        anyhow::bail!("nothing chosen: pass --all, or one or more of --audit --cores --history --journal --recorder --raise-core-limit PID");
    }
    let mut st = State::load(&a.state_dir)?;
    let mut plan = Plan::default();
    if all || a.audit {
        plan_audit(&mut plan);
    }
    if all || a.cores {
        plan_cores(&mut plan, a);
    }
    plan_core_limits(&mut plan, &a.raise_core_limit);
    if all || a.history {
        plan_history(&mut plan);
    }
    if all || a.journal {
        plan_journal(&mut plan);
    }
    if all || a.recorder {
        plan_recorder(&mut plan, a);
    }
    for n in &plan.notes {
        println!("  - {n}");
    }
    if plan.steps.is_empty() {
        println!("Nothing to change.");
        return Ok(0);
    }
    println!("Changes ({} recorded in {} before each is made; `coroner-collect disarm` undoes them):", plan.steps.len(), State::path(&a.state_dir).display());
    for (i, s) in plan.steps.iter().enumerate() {
        println!("  {}. {}", i + 1, s.show);
    }
    if a.dry_run {
        println!("Dry run: nothing changed.");
        return Ok(0);
    }
    if !a.yes && !confirm(plan.steps.len())? {
        println!("Nothing changed.");
        return Ok(0);
    }
    let mut failed = 0;
    for (i, s) in plan.steps.iter().enumerate() {
        // A change of something arm changed before keeps the first record: it holds the value to go back to.
        let fresh = !st.holds(&s.change);
        if fresh {
            st.changes.push(Recorded { change: s.change.clone(), applied: false });
            st.save(&a.state_dir)?;
        }
        match apply(&s.change) {
            Ok(()) => {
                if fresh {
                    if let Some(r) = st.changes.last_mut() {
                        r.applied = true;
                    }
                    st.save(&a.state_dir)?;
                }
                println!("  {}. done", i + 1);
            }
            Err(e) => {
                failed += 1;
                println!("  {}. FAILED: {e}", i + 1);
            }
        }
    }
    Ok(if failed > 0 { 1 } else { 0 })
}

/// What undoing one change came to.
enum Undo {
    Done(String),
    /// Nothing to undo: it was never made, is gone already, or the process exited.
    Moot(String),
    /// Could not be undone; the record stays.
    Failed(String),
}

fn undo(c: &Change) -> Undo {
    match c {
        Change::AuditRule { rule } => {
            let mut argv = vec!["auditctl", "-d"];
            argv.extend(rule.iter().map(String::as_str));
            let shown = argv.join(" ");
            match run(&argv) {
                Ok(_) => Undo::Done(shown),
                Err(e) if e.contains("No such file") || e.contains("not installed") => Undo::Moot(format!("audit rule not loaded (any more): {}", rule.join(" "))),
                Err(e) => Undo::Failed(e),
            }
        }
        Change::AuditEnabled { prior } => match run(&["auditctl", "-s"]).map(|s| audit_enabled(&s)) {
            Ok(Some(v)) if v == "1" => match run(&["auditctl", "-e", prior]) {
                Ok(_) => Undo::Done(format!("auditctl -e {prior}")),
                Err(e) => Undo::Failed(e),
            },
            Ok(v) => Undo::Moot(format!("auditing is at enabled {} now, not what arm set; left as is", v.unwrap_or_default())),
            Err(e) => Undo::Failed(e),
        },
        Change::Sysctl { name, prior, set } => {
            let path = sysctl_path(name);
            let cur = match std::fs::read(&path) {
                Ok(c) => c,
                Err(e) => return Undo::Failed(format!("reading {name}: {e}")),
            };
            if cur == *prior {
                return Undo::Moot(format!("{name} holds its old value already"));
            }
            if String::from_utf8_lossy(&cur).trim_end_matches('\n') != set {
                let now = String::from_utf8_lossy(&cur).trim_end().to_owned();
                return Undo::Failed(format!("{name} was changed since arm (now {now:?}); left as is (old value: {:?})", String::from_utf8_lossy(prior).trim_end()));
            }
            match std::fs::write(&path, prior) {
                Ok(()) => Undo::Done(format!("sysctl -w {name}='{}'", String::from_utf8_lossy(prior).trim_end())),
                Err(e) => Undo::Failed(format!("writing {name}: {e}")),
            }
        }
        Change::File { path, prior, prior_mode, written, .. } => {
            let cur = match read_opt(path) {
                Ok(c) => c,
                Err(e) => return Undo::Failed(format!("reading {}: {e}", path.display())),
            };
            if cur.as_deref() != Some(&written[..]) {
                return if cur == *prior {
                    Undo::Moot(format!("{} is as it was", path.display()))
                } else {
                    Undo::Failed(format!("{} was changed since arm; left as is", path.display()))
                };
            }
            let r = match prior {
                Some(b) => write_file(path, b, prior_mode.unwrap_or(0o644)).map(|()| format!("restored {}", path.display())),
                None => std::fs::remove_file(path).map(|()| format!("removed {}", path.display())),
            };
            r.map_or_else(|e| Undo::Failed(format!("{}: {e}", path.display())), Undo::Done)
        }
        Change::Dir { path, why, .. } => match std::fs::remove_dir(path) {
            Ok(()) => Undo::Done(format!("removed {} (empty)", path.display())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Undo::Moot(format!("{} is gone already", path.display())),
            Err(e) if e.kind() == io::ErrorKind::DirectoryNotEmpty => Undo::Failed(format!(
                "{} ({why}) is not empty, so it is left in place: its files may be evidence; remove it by hand when done",
                path.display()
            )),
            Err(e) => Undo::Failed(format!("removing {}: {e}", path.display())),
        },
        Change::CoreLimit { pid, start_time, prior_soft, prior_hard, set_soft, set_hard } => {
            let same = std::fs::read(format!("/proc/{pid}/stat")).ok().and_then(|s| parse_start_time(&s)) == Some(*start_time);
            if !same {
                return Undo::Moot(format!("process {pid} has exited; its core limit went with it"));
            }
            let cur = std::fs::read(format!("/proc/{pid}/limits")).ok().and_then(|l| parse_core_limit(&l));
            if cur == Some((*prior_soft, *prior_hard)) {
                return Undo::Moot(format!("process {pid}'s core limit is as it was"));
            }
            if cur != Some((*set_soft, *set_hard)) {
                return Undo::Failed(format!("process {pid}'s core limit was changed since arm; left as is"));
            }
            let r = Pid::from_raw(*pid)
                .ok_or(rustix::io::Errno::SRCH)
                .and_then(|p| prlimit(Some(p), Resource::Core, Rlimit { current: *prior_soft, maximum: *prior_hard }));
            match r {
                Ok(_) => Undo::Done(format!("prlimit --pid {pid} --core={}:{}", show_limit(*prior_soft), show_limit(*prior_hard))),
                Err(rustix::io::Errno::SRCH) => Undo::Moot(format!("process {pid} has exited")),
                Err(e) => Undo::Failed(format!("prlimit of process {pid}: {e}")),
            }
        }
        Change::Unit { name, prior } => {
            if prior == "enabled" {
                return Undo::Moot(format!("{name} was enabled before arm"));
            }
            let r = run(&["systemctl", "disable", "--now", name]);
            // The unit file (a File change undone next) goes after this; reload so systemd forgets it.
            let _ = run(&["systemctl", "daemon-reload"]);
            r.map_or_else(Undo::Failed, |_| Undo::Done(format!("systemctl disable --now {name}")))
        }
    }
}

pub fn disarm(a: &DisarmArgs) -> anyhow::Result<i32> {
    let st = State::load(&a.state_dir)?;
    if st.changes.is_empty() {
        println!("Nothing to undo: no changes recorded in {}.", State::path(&a.state_dir).display());
        return Ok(0);
    }
    let mut left = Vec::new();
    for r in st.changes.iter().rev() {
        match undo(&r.change) {
            Undo::Done(s) => println!("  undone: {s}"),
            Undo::Moot(s) => println!("  nothing to undo: {s}"),
            Undo::Failed(s) => {
                println!("  NOT undone: {s}");
                left.push(r.clone());
            }
        }
    }
    if left.is_empty() {
        State::remove(&a.state_dir)?;
        println!("Everything arm changed is back as it was; {} removed.", State::path(&a.state_dir).display());
        Ok(0)
    } else {
        left.reverse();
        let n = left.len();
        State { changes: left, ..st }.save(&a.state_dir)?;
        println!("{n} change(s) not undone are kept in {} (run disarm again once fixed, or remove it).", State::path(&a.state_dir).display());
        Ok(1)
    }
}

pub use status::status;

/// A fatal error of `arm`, `disarm` or `status`: printed, exit code 2 (main's message speaks of bundles).
pub fn exit_code(r: anyhow::Result<i32>) -> i32 {
    r.unwrap_or_else(|e| {
        eprintln!("coroner-collect: error: {e:#}");
        2
    })
}
