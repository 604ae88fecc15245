//! Real deaths, staged for real on this host, then collected, rendered and checked against what was staged.
//!
//! As root only (skipped with a printed reason otherwise; CI runs as root). Every staged process is
//! started by this test and waited for or killed by its PID; every host setting changed (audit rules,
//! auditd, a memory cgroup, wtmp, a test user) is restored by a guard, also on panic. Names of victims carry
//! this test's pid so `pgrep`/`pkill` in the scenarios can only match processes this test started.
//!
//! Needs the release collector (`make test` builds it first), or CORONER_COLLECT=path.

#[path = "common/live.rs"]
mod live;
use live::collector;
use live::wait_bounded;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(2) == Some("0")))
        .unwrap_or(false)
}

fn sh(cmd: &str) -> (bool, String) {
    let out = Command::new("sh").arg("-c").arg(cmd).output().expect("run sh");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

fn must(cmd: &str) -> String {
    let (ok, out) = sh(cmd);
    assert!(ok, "`{cmd}` failed: {out}");
    out
}


fn signal_of(st: &std::process::ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    st.signal()
}

/// Restores everything the scenarios change, in reverse order, even when an assertion panics.
#[derive(Default)]
struct Guard {
    children: Vec<Child>,
    audit_rules_added: Vec<String>,
    started_auditd: Option<u32>,
    /// The kernel's audit `enabled` flag before the test (auditd sets it to 1 when it starts).
    audit_enabled_before: Option<String>,
    cgroup: Option<PathBuf>,
    wtmp_backup: Option<(PathBuf, Option<Vec<u8>>)>,
    user: Option<String>,
    dir: Option<PathBuf>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for r in self.audit_rules_added.iter().rev() {
            let _ = sh(&format!("auditctl -d {r}"));
        }
        if !self.audit_rules_added.is_empty() && sh("auditctl -l").1.contains("coroner_incident") {
            eprintln!("warning: audit rules with key coroner_incident remain");
        }
        if let Some(pid) = self.started_auditd {
            let _ = sh(&format!("kill -TERM {pid}"));
        }
        if let Some(e) = &self.audit_enabled_before {
            let _ = sh(&format!("auditctl -e {e}"));
        }
        if let Some(cg) = &self.cgroup {
            let _ = fs::remove_dir(cg);
        }
        if let Some((path, old)) = &self.wtmp_backup {
            match old {
                Some(bytes) => {
                    let _ = fs::write(path, bytes);
                }
                None => {
                    let _ = fs::remove_file(path);
                }
            }
        }
        if let Some(u) = &self.user {
            let _ = sh(&format!("userdel -r {u} 2>/dev/null"));
        }
        if let Some(d) = &self.dir {
            // CORONER_KEEP_INCIDENT=1 keeps the bundle and report for a look.
            if std::env::var_os("CORONER_KEEP_INCIDENT").is_none() {
                let _ = fs::remove_dir_all(d);
            }
        }
    }
}

fn auditd_pid() -> Option<u32> {
    let (_, s) = sh("auditctl -s");
    s.lines().find_map(|l| l.strip_prefix("pid ")).and_then(|p| p.trim().parse().ok()).filter(|&p| p != 0)
}

fn spawn(g: &mut Guard, cmd: &mut Command) -> u32 {
    let c = cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn");
    let pid = c.id();
    g.children.push(c);
    pid
}

fn child(g: &mut Guard, pid: u32) -> &mut Child {
    g.children.iter_mut().find(|c| c.id() == pid).expect("own child")
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

struct Staged {
    oom: u32,
    kill9: (u32, u32),
    masq: (u32, u32),
    segv_core: u32,
    segv_nocore: u32,
    cron: (u32, u32),
    human: (u32, String),
    mass: Vec<u32>,
    tag: u32,
}

#[test]
#[ignore = "needs root"]
fn staged_deaths_get_the_right_cause_and_killer() {
    assert!(is_root(), "staged_deaths_get_the_right_cause_and_killer: needs root (memory cgroups, audit rules, other users' processes): run it as root (`make test` does, as root)");
    let collect = collector();
    let started = now();
    let tag = std::process::id() % 100_000;
    let mut g = Guard::default();
    let dir = std::env::temp_dir().join(format!("coroner-incident-{tag}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("cores")).expect("mkdir");
    g.dir = Some(dir.clone());
    let d = dir.display().to_string();
    must(&format!("chmod 755 {d} {d}/cores"));

    // Programs: victims are copies of sleep under names of their own; two crashers and a memory hog in C.
    for name in ["vk9", "vterm", "vcron", "vhuman", "vmass"] {
        must(&format!("cp /bin/sleep {d}/{name}{tag}"));
    }
    fs::write(dir.join("segv.c"), "int main(void){volatile int *p=(int*)0; *p=42; return 0;}\n").expect("write");
    fs::write(
        dir.join("hog.c"),
        "#include <stdlib.h>\n#include <string.h>\nint main(void){for(;;){char*p=malloc(1<<20); if(p) memset(p,7,1<<20);}}\n",
    )
    .expect("write");
    must(&format!("gcc -O0 -o {d}/vsegv{tag} {d}/segv.c && gcc -O0 -o {d}/vnocore{tag} {d}/segv.c && gcc -O0 -o {d}/vhog{tag} {d}/hog.c"));
    must(&format!("cp /bin/sh {d}/cron"));

    // Audit: kill-family and execve rules under a key of this test; auditd started if it was not running.
    if auditd_pid().is_none() {
        g.audit_enabled_before = sh("auditctl -s").1.lines().find_map(|l| l.strip_prefix("enabled ")).map(|e| e.trim().to_owned());
        let (ok, out) = sh("auditd");
        assert!(ok, "cannot start auditd: {out}");
        std::thread::sleep(Duration::from_millis(500));
        g.started_auditd = auditd_pid();
        assert!(g.started_auditd.is_some(), "auditd did not start");
    }
    for rule in [
        "always,exit -F arch=b64 -S kill,tkill,tgkill,rt_sigqueueinfo,rt_tgsigqueueinfo,pidfd_send_signal -k coroner_incident",
        "always,exit -F arch=b64 -S execve -k coroner_incident",
    ] {
        let (ok, out) = sh(&format!("auditctl -a {rule}"));
        if ok {
            g.audit_rules_added.push(rule.to_owned());
        } else {
            // Left by an earlier run that could not clean up: it is the same rule, so use it, then remove it.
            assert!(out.contains("Rule exists"), "auditctl -a {rule}: {out}");
            g.audit_rules_added.push(rule.to_owned());
        }
    }

    let st = stage(&mut g, &dir, tag);

    // Collect this host (cores written into the test's folder are named with --include, as an operator
    // would for a service's working directory), then render.
    let out = dir.join("out");
    let res = Command::new(&collect)
        .args(["-o", &out.display().to_string(), "--quiet", "--include", &format!("{d}/cores/*")])
        .output()
        .expect("run collector");
    assert!(res.status.code().is_some_and(|c| c <= 1), "collector failed: {}", String::from_utf8_lossy(&res.stderr));
    let bundle = String::from_utf8_lossy(&res.stdout).lines().last().expect("bundle path").to_owned();
    let report = dir.join("report");
    let r = Command::new(env!("CARGO_BIN_EXE_coroner-report"))
        .args(["render", &bundle, "-o", &report.display().to_string()])
        .output()
        .expect("run report");
    assert!(r.status.code().is_some_and(|c| c <= 1), "render failed: {}", String::from_utf8_lossy(&r.stderr));
    let doc: Value = serde_json::from_slice(&fs::read(report.join("findings.json")).expect("findings.json")).expect("json");
    // This VM keeps its logs across boots and hands out the same low PIDs after each, so the host's older audit
    // logs hold deaths of earlier processes with this test's PIDs: only findings from this run are its own.
    let since = coroner_schemas::Utc::from_unix(i64::try_from(started).unwrap_or(0) - 2, 0).expect("time").rfc3339();
    let findings: Vec<Value> = doc["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .filter(|f| f["time"]["utc"].as_str().is_none_or(|t| t >= since.as_str()))
        .cloned()
        .collect();
    let by_pid = |pid: u32| -> Vec<&Value> { findings.iter().filter(|f| f["victim"]["pid"].as_u64() == Some(u64::from(pid))).collect() };
    let one = |pid: u32, what: &str| -> Value {
        let v = by_pid(pid);
        assert_eq!(v.len(), 1, "{what}: expected exactly one finding for pid {pid}, got {v:#?}");
        v[0].clone()
    };

    let f = one(st.oom, "memcg OOM");
    assert_eq!(f["cause"], "oom_kill", "{f:#}");
    assert_eq!(f["confidence"], "certain");
    assert!(f["victim"]["cgroup"].as_str().is_some_and(|c| c.contains(&format!("coroner-incident-{tag}"))), "{f:#}");

    let f = one(st.kill9.0, "SIGKILL from another user's process");
    assert_eq!((f["cause"].as_str(), f["signal"]["number"].as_i64()), (Some("signal"), Some(9)), "{f:#}");
    assert_eq!(f["confidence"], "certain");
    assert_eq!(f["killer"]["pid"].as_u64(), Some(u64::from(st.kill9.1)), "{f:#}");
    assert_eq!(f["killer"]["uid"].as_u64(), Some(0));
    assert_eq!(f["victim"]["user"], "nobody", "{f:#}");

    let f = one(st.masq.0, "SIGTERM from a masquerading process");
    assert_eq!((f["cause"].as_str(), f["signal"]["number"].as_i64()), (Some("signal"), Some(15)), "{f:#}");
    assert_eq!(f["killer"]["pid"].as_u64(), Some(u64::from(st.masq.1)), "{f:#}");
    assert_eq!(f["killer"]["comm"], "kworker/0:1");
    assert!(f["killer"]["exe"].as_str().is_some_and(|e| e.contains("python")), "{f:#}");
    assert!(f["reasoning"].as_str().is_some_and(|r| r.contains("renamed after exec")), "{f:#}");

    let f = one(st.segv_core, "SIGSEGV with a core");
    assert_eq!((f["cause"].as_str(), f["signal"]["number"].as_i64()), (Some("crash"), Some(11)), "{f:#}");
    assert_eq!(f["confidence"], "certain");
    assert!(f["details"]["core_entry"].as_str().is_some_and(|c| c.contains("cores/")), "core not tied to the crash: {f:#}");

    let f = one(st.segv_nocore, "SIGSEGV with ulimit -c 0");
    assert_eq!(f["cause"], "crash", "{f:#}");
    assert!(f["missing"].as_array().is_some_and(|m| m.iter().any(|x| x.as_str().is_some_and(|s| s.starts_with("a core file")))), "{f:#}");

    let f = one(st.cron.0, "pkill run by a cron-like parent");
    assert_eq!(f["cause"], "signal", "{f:#}");
    assert_eq!(f["killer"]["pid"].as_u64(), Some(u64::from(st.cron.1)), "{f:#}");
    assert_eq!(f["killer"]["parent_chain"][0], "cron", "{f:#}");
    assert_eq!(f["via"], "cron", "{f:#}");

    let f = one(st.human.0, "human kill -9 at a shell");
    assert_eq!((f["cause"].as_str(), f["signal"]["number"].as_i64()), (Some("signal"), Some(9)), "{f:#}");
    assert_eq!(f["killer"]["user"], st.human.1.as_str(), "{f:#}");
    assert_eq!(f["killer"]["command"], format!("kill -9 {}", st.human.0), "history line not tied to the kill: {f:#}");
    assert_eq!(f["killer"]["login_from"], "192.0.2.10", "{f:#}");
    assert!(f["evidence"].as_array().is_some_and(|e| e.iter().any(|x| x["origin"]["entry"].as_str().is_some_and(|p| p.ends_with(".bash_history")))));

    let f = one(st.masq.0, "masquerade command");
    assert!(f["killer"]["command"].as_str().is_some_and(|c| c.contains("python3") && c.contains("prctl")), "{f:#}");

    let tag = st.tag;
    let mut mass_killers = BTreeMap::new();
    for &p in &st.mass {
        let f = one(p, "mass kill");
        assert_eq!((f["cause"].as_str(), f["signal"]["number"].as_i64()), (Some("signal"), Some(9)), "{f:#}");
        assert_eq!(f["killer"]["command"], format!("bash -c kill -9 $(pgrep -x vmass{tag})"), "{f:#}");
        *mass_killers.entry(f["killer"]["pid"].as_u64()).or_insert(0) += 1;
    }
    assert_eq!(mass_killers.len(), 1, "one shell killed all three: {mass_killers:?}");

    // No finding about a process this test started may name a killer it did not stage as certain.
    let ours: BTreeMap<u32, Option<u32>> = [
        (st.oom, None),
        (st.kill9.0, Some(st.kill9.1)),
        (st.masq.0, Some(st.masq.1)),
        (st.segv_core, None),
        (st.segv_nocore, None),
        (st.cron.0, Some(st.cron.1)),
    ]
    .into_iter()
    .collect();
    for f in &findings {
        let Some(pid) = f["victim"]["pid"].as_u64().and_then(|p| u32::try_from(p).ok()) else { continue };
        if let Some(expected) = ours.get(&pid) {
            if f["confidence"] == "certain" && !f["killer"].is_null() {
                assert_eq!(f["killer"]["pid"].as_u64(), expected.map(u64::from), "wrong certain killer: {f:#}");
            }
        }
    }

    // `why` answers on the terminal for a staged death.
    let w = Command::new(env!("CARGO_BIN_EXE_coroner-report"))
        .args(["why", &bundle, "--pid", &st.kill9.0.to_string()])
        .output()
        .expect("why");
    let text = String::from_utf8_lossy(&w.stdout);
    assert!(text.contains("SIGKILL") && text.contains(&format!("pid {}", st.kill9.1)), "{text}");
}

fn stage(g: &mut Guard, dir: &Path, tag: u32) -> Staged {
    let d = dir.display().to_string();

    // 1. A memory-cgroup OOM kill (cgroup v1 here; v2 where the host has it).
    let v1 = Path::new("/sys/fs/cgroup/memory");
    let (cg, limit_file) = if v1.join("memory.limit_in_bytes").exists() {
        (v1.join(format!("coroner-incident-{tag}")), "memory.limit_in_bytes")
    } else {
        (PathBuf::from(format!("/sys/fs/cgroup/coroner-incident-{tag}")), "memory.max")
    };
    fs::create_dir(&cg).expect("mkdir cgroup");
    g.cgroup = Some(cg.clone());
    fs::write(cg.join(limit_file), "64M").expect("set limit");
    let oom = spawn(
        g,
        Command::new("sh").arg("-c").arg(format!("echo $$ > {}/cgroup.procs && exec {d}/vhog{tag}", cg.display())),
    );
    let st = wait_bounded(child(g, oom), 60);
    assert_eq!(signal_of(&st), Some(9), "the hog was not OOM-killed: {st:?}");

    // 2. SIGKILL sent by root's kill(1) to a process of user nobody.
    let victim = spawn(g, Command::new("setpriv").args(["--reuid=65534", "--regid=65534", "--clear-groups"]).arg(format!("{d}/vk9{tag}")).arg("300"));
    std::thread::sleep(Duration::from_millis(200));
    let killer = spawn(g, Command::new("/bin/kill").args(["-9", &victim.to_string()]));
    wait_bounded(child(g, killer), 10);
    assert_eq!(signal_of(&wait_bounded(child(g, victim), 10)), Some(9));
    let kill9 = (victim, killer);

    // 3. SIGTERM from a process that renamed itself to look like a kernel thread.
    let victim = spawn(g, Command::new(format!("{d}/vterm{tag}")).arg("300"));
    std::thread::sleep(Duration::from_millis(200));
    let killer = spawn(
        g,
        Command::new("python3").arg("-c").arg(
            "import ctypes,os,signal,sys,time\nctypes.CDLL(None).prctl(15, b'kworker/0:1', 0, 0, 0)\nos.kill(int(sys.argv[1]), signal.SIGTERM)",
        ).arg(victim.to_string()),
    );
    wait_bounded(child(g, killer), 20);
    assert_eq!(signal_of(&wait_bounded(child(g, victim), 10)), Some(15));
    let masq = (victim, killer);

    // 4. A segfault that leaves a core (core_pattern is left as it is: `core` lands in the working
    //    directory, which the collection names with --include), and 5. one under ulimit -c 0.
    let segv_core = spawn(g, Command::new("sh").arg("-c").arg(format!("ulimit -c unlimited; cd {d}/cores && exec {d}/vsegv{tag}")));
    let st = wait_bounded(child(g, segv_core), 20);
    let segv_core = {
        // `sh -c` execs the program, so the shell's pid is the crasher's.
        assert!(st.code().is_some_and(|c| c == 139) || signal_of(&st) == Some(11), "{st:?}");
        segv_core
    };
    let pattern = fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap_or_default();
    if pattern.trim_start().starts_with('|') || pattern.trim_start().starts_with('/') {
        println!("note: core_pattern is {pattern:?}; the core may not land in the working directory");
    }
    let segv_nocore = spawn(g, Command::new("sh").arg("-c").arg(format!("ulimit -c 0; cd {d} && exec {d}/vnocore{tag}")));
    wait_bounded(child(g, segv_nocore), 20);

    // 6. A cron-like parent runs a job that pkills the victim.
    let victim = spawn(g, Command::new(format!("{d}/vcron{tag}")).arg("300"));
    std::thread::sleep(Duration::from_millis(200));
    let cron = spawn(g, Command::new(format!("{d}/cron")).arg("-c").arg(format!("pkill -KILL -x vcron{tag}; true")));
    wait_bounded(child(g, cron), 20);
    assert_eq!(signal_of(&wait_bounded(child(g, victim), 10)), Some(9));
    let pkill_pid = audit_sender_of(victim).expect("audit record of the pkill");
    let cron_staged = (victim, pkill_pid);

    // 7. A human at a shell: a wtmp session from 192.0.2.10, a timestamped history line, and the kill -9
    //    from that user's bash.
    let user = format!("coroner-h{tag}");
    must(&format!("useradd -m -s /bin/bash {user}"));
    g.user = Some(user.clone());
    let wtmp = PathBuf::from("/var/log/wtmp");
    g.wtmp_backup = Some((wtmp.clone(), fs::read(&wtmp).ok()));
    let login_at = now() - 60;
    let victim = spawn(g, Command::new("setpriv").args([&format!("--reuid={user}"), &format!("--regid={user}"), "--init-groups"]).arg(format!("{d}/vhuman{tag}")).arg("300"));
    std::thread::sleep(Duration::from_millis(200));
    let stamp = |t: u64| must(&format!("date -u -d @{t} +%Y-%m-%dT%H:%M:%S,000000+00:00")).trim().to_owned();
    let rec = format!("[7] [{:05}] [ts/9] [{user}] [pts/9       ] [192.0.2.10          ] [192.0.2.10     ] [{}]\n", 4000 + tag % 1000, stamp(login_at));
    fs::write(dir.join("wtmp.txt"), rec).expect("wtmp text");
    must(&format!("utmpdump -r < {d}/wtmp.txt >> /var/log/wtmp"));
    let kill_at = now();
    let home = format!("/home/{user}");
    fs::write(format!("{home}/.bash_history"), format!("ls\n#{kill_at}\nkill -9 {victim}\n")).expect("history");
    must(&format!("chown {user}: {home}/.bash_history"));
    let k = spawn(g, Command::new("setpriv").args([&format!("--reuid={user}"), &format!("--regid={user}"), "--init-groups", "bash", "-c"]).arg(format!("kill -9 {victim}")));
    wait_bounded(child(g, k), 10);
    assert_eq!(signal_of(&wait_bounded(child(g, victim), 10)), Some(9));
    let human = (victim, user.clone());

    // 8. A mass kill: kill -9 $(pgrep NAME) over three victims.
    let mut mass = Vec::new();
    for _ in 0..3 {
        mass.push(spawn(g, Command::new(format!("{d}/vmass{tag}")).arg("300")));
    }
    std::thread::sleep(Duration::from_millis(200));
    let k = spawn(g, Command::new("bash").arg("-c").arg(format!("kill -9 $(pgrep -x vmass{tag})")));
    wait_bounded(child(g, k), 10);
    for &p in &mass {
        assert_eq!(signal_of(&wait_bounded(child(g, p), 10)), Some(9));
    }
    // Let auditd flush.
    std::thread::sleep(Duration::from_millis(1500));

    Staged { oom, kill9, masq, segv_core, segv_nocore, cron: cron_staged, human, mass, tag }
}

/// The pid that sent a signal to `target`, from the live audit log (to know pkill's pid, which the test
/// did not spawn itself).
fn audit_sender_of(target: u32) -> Option<u32> {
    std::thread::sleep(Duration::from_millis(1000));
    let (_, out) = sh(&format!("ausearch -k coroner_incident --raw 2>/dev/null | grep -B1 'opid={target} ' | grep -o ' pid=[0-9]*' | tail -1"));
    out.trim().trim_start_matches("pid=").trim().parse().ok()
}
