//! The signal recorder on this host (root): a `bash -c 'kill -9 …'` that exits at once, a copy of `kill`
//! named like a daemon and a copy of static busybox each signal a victim; the recorder's JSONL must name each
//! sender (pid, exe, argv, parents, this test among them), the target, the signal and its fate; its trace
//! instance must be gone after SIGTERM. The exec argv program alone: it sees static and dynamic execs. Then,
//! without root: the collector takes the recorder's files under `--root` as `watch_jsonl`.

mod live_support;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use coroner_schemas::manifest::{Category, Format, Manifest};
use live_support::{records, wait_until};
use coroner_schemas::watch::{DeliveryAction, FieldFrom, SignalRecord, TargetFate, WatchRecord, TRACE_INSTANCE};

const BIN: &str = env!("CARGO_BIN_EXE_coroner-collect");
const UPROBES: &str = "/sys/kernel/tracing/uprobe_events";

/// Kills (SIGKILL) and reaps a child on drop, by its pid, whatever the test's outcome.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Removes the recorder's trace instance if a failed test left it (the recorder removes it on SIGTERM).
struct InstanceGuard(PathBuf);

impl Drop for InstanceGuard {
    fn drop(&mut self) {
        if self.0.exists() {
            for ev in ["signal/signal_generate", "sched/sched_process_exec", "sched/sched_process_fork", "sched/sched_process_exit", "oom/mark_victim", "coroner/argv"] {
                let _ = fs::write(self.0.join("events").join(ev).join("enable"), "0");
            }
            let _ = fs::remove_dir(&self.0);
        }
        // The argv probe's definition (appended, so no other uprobe is touched).
        if fs::read_to_string(UPROBES).is_ok_and(|s| s.contains("p:coroner/argv ")) {
            if let Ok(mut f) = fs::OpenOptions::new().append(true).open(UPROBES) {
                let _ = std::io::Write::write_all(&mut f, b"-:coroner/argv\n");
            }
        }
    }
}



fn tool(name: &str) -> PathBuf {
    ["/usr/bin", "/bin"].iter().map(|d| Path::new(d).join(name)).find(|p| p.exists()).unwrap_or_else(|| panic!("no {name}"))
}

fn signal_to(recs: &[WatchRecord], target: i64, sig: i32) -> &SignalRecord {
    recs.iter()
        .find_map(|r| match r {
            WatchRecord::Signal(s) if s.target.pid == target && s.sig == sig => Some(s),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no signal {sig} to {target} in {recs:#?}"))
}

#[test]
#[ignore = "needs root"]
fn short_lived_senders_are_named_after_they_exited() {
    assert!(rustix::process::geteuid().is_root(), "run as root (tracefs)");
    let tmp = tempfile::tempdir().expect("tempdir");
    let state = tmp.path().join("state");
    let victim_bin = tmp.path().join("coroner-victim");
    let daemon_bin = tmp.path().join("reaperd");
    let static_bin = tmp.path().join("bbkill");
    fs::copy("/bin/busybox", &static_bin).expect("copy busybox (busybox-static)");
    fs::copy(tool("sleep"), &victim_bin).expect("copy sleep");
    fs::copy(tool("kill"), &daemon_bin).expect("copy kill");
    let instance = Path::new("/sys/kernel/tracing/instances").join(TRACE_INSTANCE);
    // A leftover of a recorder that was killed (SIGKILL leaves it) is removed, as the recorder itself does;
    // one in use by a running recorder cannot be (EBUSY), and this test must not run beside it.
    if instance.exists() {
        if let Err(e) = fs::remove_dir(&instance) {
            panic!("{} is in use ({e}): another recorder is running", instance.display());
        }
    }
    let _guard = InstanceGuard(instance.clone());

    let mut rec = Reaped(
        Command::new(BIN)
            .args(["watch", "--state-dir"])
            .arg(&state)
            .args(["--duration", "60", "--wait-exit", "1000"])
            .stderr(Stdio::piped())
            .spawn()
            .expect("start recorder"),
    );
    let started = wait_until(Duration::from_secs(15), || records(&state).iter().any(|r| matches!(r, WatchRecord::Start(_))));
    assert!(started, "no start record");

    // A script that kills and exits at once.
    let mut v1 = Reaped(Command::new(&victim_bin).arg("100").spawn().expect("victim 1"));
    std::thread::sleep(Duration::from_millis(200));
    let v1_pid = i64::from(v1.0.id());
    let killer = format!("kill -9 {v1_pid}");
    assert!(Command::new("bash").args(["-c", &killer]).status().expect("bash").success());
    let st = v1.0.wait().expect("wait victim 1");
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&st), Some(9));

    // A copy of `kill` named like a daemon.
    let mut v2 = Reaped(Command::new(&victim_bin).arg("100").spawn().expect("victim 2"));
    std::thread::sleep(Duration::from_millis(200));
    let v2_pid = i64::from(v2.0.id());
    assert!(Command::new(&daemon_bin).args(["-TERM", &v2_pid.to_string()]).status().expect("reaperd").success());
    let st = v2.0.wait().expect("wait victim 2");
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&st), Some(15));

    // A static binary (busybox, which the loader uprobe never saw) sends SIGTERM.
    let mut v3 = Reaped(Command::new(&victim_bin).arg("100").spawn().expect("victim 3"));
    std::thread::sleep(Duration::from_millis(200));
    let v3_pid = i64::from(v3.0.id());
    // busybox picks its applet from argv[0] or, when that is `busybox`, from argv[1].
    let bb = std::os::unix::process::CommandExt::arg0(&mut Command::new(&static_bin), "busybox").args(["kill", "-TERM", &v3_pid.to_string()]).status();
    assert!(bb.expect("busybox").success());
    let st = v3.0.wait().expect("wait victim 3");
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&st), Some(15));

    // The records are written once their targets' exits are seen; then stop the recorder.
    let seen = wait_until(Duration::from_secs(10), || {
        let r = records(&state);
        [v1_pid, v2_pid, v3_pid].iter().all(|p| r.iter().any(|x| matches!(x, WatchRecord::Signal(s) if s.target.pid == *p)))
    });
    let pid = rustix::process::Pid::from_raw(rec.0.id() as i32).expect("pid");
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("SIGTERM the recorder");
    let stopped = wait_until(Duration::from_secs(10), || matches!(rec.0.try_wait(), Ok(Some(_))));
    let mut err = String::new();
    if let Some(e) = rec.0.stderr.as_mut() {
        let _ = e.read_to_string(&mut err);
    }
    assert!(stopped, "recorder did not stop on SIGTERM; stderr: {err}");
    assert!(rec.0.wait().expect("status").success(), "recorder failed: {err}");
    assert!(seen, "signal records to {v1_pid}, {v2_pid}, or {v3_pid} missing; stderr: {err}; records: {:#?}", records(&state));
    assert!(!instance.exists(), "the trace instance was left behind");
    assert!(!fs::read_to_string(UPROBES).unwrap_or_default().contains("coroner/argv"), "the argv probe was left behind");

    let recs = records(&state);
    let me = i64::from(std::process::id());

    let s = signal_to(&recs, v1_pid, 9);
    assert_eq!(s.signal, "SIGKILL");
    assert_eq!(s.code_name, "SI_USER");
    assert!(s.group);
    assert!(matches!(s.fate, TargetFate::Exited { .. }), "{:?}", s.fate);
    assert_eq!(s.target.comm.as_deref(), Some("coroner-victim"));
    assert_ne!(s.sender.pid, me, "the bash child, not the test, sent it");
    assert!(s.sender.exe.as_deref().is_some_and(|e| e.ends_with("/bash")), "{:?}", s.sender);
    assert_eq!(s.sender.from.get("exe"), Some(&FieldFrom::Table), "{:?}", s.sender.from);
    assert_eq!(s.sender.argv.as_deref(), Some(&["bash".to_owned(), "-c".to_owned(), killer][..]));
    assert_eq!(s.sender.parents.first().map(|p| p.pid), Some(me), "{:?}", s.sender.parents);
    assert!(s.raw.contains("signal_generate: sig=9"));

    let s = signal_to(&recs, v2_pid, 15);
    assert_eq!(s.signal, "SIGTERM");
    assert!(matches!(s.fate, TargetFate::Exited { .. }), "{:?}", s.fate);
    // sleep has no SIGTERM handler: the kernel delivers it as SIGKILL to the group, with the default action.
    let d = s.delivery.as_ref().unwrap_or_else(|| panic!("no delivery traced: {s:?}"));
    assert_eq!((d.tid, d.sig, d.action), (v2_pid, 9, DeliveryAction::Default), "{d:?}");
    assert_eq!(s.sender.comm.as_deref(), Some("reaperd"));
    assert_eq!(s.sender.exe.as_deref(), Some(daemon_bin.to_str().expect("utf-8")));
    assert!(s.sender.parents.iter().any(|p| p.pid == me), "{:?}", s.sender.parents);
    // From the loader probe (or /proc at exec time): this `kill` ran for about a millisecond.
    let argv = s.sender.argv.as_ref().unwrap_or_else(|| panic!("no argv: {:?}", s.sender));
    assert_eq!(argv[1..], ["-TERM".to_owned(), v2_pid.to_string()]);

    let s = signal_to(&recs, v3_pid, 15);
    assert_eq!(s.sender.exe.as_deref(), Some(static_bin.to_str().expect("utf-8")));
    let argv = s.sender.argv.as_ref().unwrap_or_else(|| panic!("no argv: {:?}", s.sender));
    assert_eq!(argv[..], ["busybox".to_owned(), "kill".to_owned(), "-TERM".to_owned(), v3_pid.to_string()]);

    match recs.first() {
        // This kernel takes the exec argv program (BPF, BTF): the start record lists it.
        Some(WatchRecord::Start(st)) => assert!(st.events.iter().any(|e| e == "bpf/coroner_argv"), "{:?}; stderr: {err}", st.events),
        other => panic!("first record is not a start: {other:?}"),
    }
    match recs.last() {
        Some(WatchRecord::Stop(st)) => assert_eq!(st.reason, "SIGTERM"),
        other => panic!("last record is not a stop: {other:?}"),
    }
}

#[test]
#[ignore = "needs root"]
fn the_exec_argv_program_sees_static_and_dynamic_execs() {
    use coroner_collect::watch::bpf::{ArgvProgram, ExecArgv};
    use coroner_collect::watch::cgroups::CgroupPaths;
    use coroner_collect::watch::table::pick_cgroup;
    use std::os::unix::process::CommandExt;
    assert!(rustix::process::geteuid().is_root(), "run as root (bpf)");
    let mut p = ArgvProgram::load().expect("this kernel takes the exec argv program");
    // The dynamic one runs as uid 65534 with login uid 4242, set in the child (root may set it while it is
    // unset or not made immutable), so neither can be read back from the test's own.
    let run = |prog: &Path, args: &[&str], as_nobody: bool| {
        let mut cmd = Command::new(prog);
        cmd.args(args);
        if as_nobody {
            // SAFETY: between fork and exec only open(2), write(2), close(2) and setuid(2) on static bytes (no
            // allocation). The uid is changed here, after the login uid (Command::uid would come first).
            unsafe {
                cmd.pre_exec(|| {
                    let fd = libc::open(c"/proc/self/loginuid".as_ptr(), libc::O_WRONLY);
                    if fd < 0 || libc::write(fd, b"4242".as_ptr().cast(), 4) != 4 {
                        return Err(std::io::Error::last_os_error());
                    }
                    libc::close(fd);
                    if libc::setuid(65534) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let mut c = Reaped(cmd.spawn().expect("spawn"));
        assert!(c.0.wait().expect("wait").success());
        i64::from(c.0.id())
    };
    let drained = |p: &mut ArgvProgram| {
        let mut v: Vec<ExecArgv> = Vec::new();
        p.drain(|a| v.push(a));
        v
    };
    let true_bin = tool("true");
    let st = run(Path::new("/bin/busybox"), &["true", "static", "ünï code"], false);
    let dy = run(&true_bin, &["dynamic", "two words", ""], true);
    let got = drained(&mut p);
    let of = |pid: i64| got.iter().find(|a| a.tgid == pid).unwrap_or_else(|| panic!("no record of {pid}: {got:?}")).clone();
    assert_eq!(of(st).argv, Some(vec!["/bin/busybox".to_owned(), "true".into(), "static".into(), "ünï code".into()]));
    assert_eq!(of(dy).argv, Some(vec![true_bin.display().to_string(), "dynamic".into(), "two words".into(), String::new()]));
    assert_eq!((of(st).comm.as_str(), of(dy).comm.as_str()), ("busybox", "true"));
    assert_eq!((of(dy).uid, of(dy).loginuid), (65534, Some(4242)));
    let own_login = fs::read_to_string("/proc/self/loginuid").expect("loginuid").trim().parse::<u32>().ok().filter(|&u| u != u32::MAX);
    assert_eq!((of(st).uid, of(st).loginuid), (0, own_login), "the static one's are the test's own");
    // Both run in the test's cgroup: the id maps, through the cgroup2 mount's directories, to the path
    // /proc/self/cgroup shows.
    let mi = fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    let mut paths = CgroupPaths::from_mountinfo(&mi).expect("a cgroup2 mount");
    let own = pick_cgroup(&fs::read_to_string("/proc/self/cgroup").expect("cgroup"));
    assert!(own.is_some());
    assert_eq!(of(st).cgroup_id, of(dy).cgroup_id);
    assert_eq!(paths.path(of(st).cgroup_id), own);
    let mono = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    let now = u64::try_from(mono.tv_sec).expect("secs") * 1_000_000_000 + u64::try_from(mono.tv_nsec).expect("ns");
    assert!(got.iter().all(|a| a.mono_ns <= now && now - a.mono_ns < 60_000_000_000), "times on CLOCK_MONOTONIC: {got:?}");
}

#[test]
fn the_collector_takes_the_recorders_files() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("root");
    let dir = root.join("var/lib/coroner/watch");
    fs::create_dir_all(&dir).expect("mkdir");
    fs::write(root.join("var/lib/coroner/watch/.lock"), b"").expect("lock");
    let line = r#"{"record":"stop","at":"2026-12-05T07:00:00Z","reason":"SIGTERM","records":1,"lost":0}"#;
    fs::write(dir.join("watch-1.jsonl"), format!("{line}\n")).expect("write");
    let out = tmp.path().join("out");
    fs::create_dir_all(&out).expect("mkdir");
    let o = Command::new(BIN)
        .args(["--quiet", "--root"])
        .arg(&root)
        .arg("-o")
        .arg(&out)
        .output()
        .expect("run collector");
    let stdout = String::from_utf8_lossy(&o.stdout);
    let bundle = stdout.lines().last().unwrap_or_else(|| panic!("no bundle: {}", String::from_utf8_lossy(&o.stderr)));
    let f = fs::File::open(bundle).expect("open bundle");
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(f));
    let mut manifest = None;
    for e in ar.entries().expect("entries") {
        let mut e = e.expect("entry");
        if e.path().expect("path").to_string_lossy() == "manifest.json" {
            let mut v = Vec::new();
            e.read_to_end(&mut v).expect("read");
            manifest = Some(serde_json::from_slice::<Manifest>(&v).expect("manifest"));
        }
    }
    let m = manifest.expect("manifest in bundle");
    let watch: Vec<_> = m.entries.iter().filter(|e| e.category == Category::Watch).collect();
    assert_eq!(watch.len(), 1, "{watch:#?}");
    assert_eq!(watch[0].source, "/var/lib/coroner/watch/watch-1.jsonl");
    assert_eq!(watch[0].format, Format::WatchJsonl);
    assert_eq!(watch[0].size, line.len() as u64 + 1);
    let v = serde_json::to_value(watch[0].format).expect("json");
    assert_eq!(v, "watch_jsonl");
}
