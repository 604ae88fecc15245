//! Containers end to end, as issue 14 asks it be proven (root; CI runs it as root). A Docker daemon of this
//! test's own (Debian's `docker.io`, no systemd, vfs storage, its own data root, exec root and socket) runs
//! an image imported from Debian's `busybox-static`, while `coroner-collect watch` records signals. Five
//! deaths are staged for real:
//! - `oom`: a shell that doubles a string under `-m 32m --memory-swap 32m` (the kernel's memcg OOM kill);
//! - `killed`: `docker kill`;
//! - `stopper`: `docker stop -t 2` of a shell that ignores SIGTERM (SIGTERM, then SIGKILL two seconds later);
//! - `exit3`: a main process that exits 3 by itself;
//! - `looper`: `--restart on-failure:3` of a process that always exits 1.
//!
//! Then this host is collected (the collector must find the daemon's non-default data root and socket itself)
//! and rendered, and each death's finding must name its container, image and what ended it.
//!
//! Everything is started by this test and stopped by PID: the containers are removed through the daemon, the
//! daemon is stopped by the pid in its pidfile, its mounts, directories and the cgroups it made are removed,
//! and the recorder's state directory is put back as it was, also on panic.
//! Needs the release collector (`make test` builds it first), or CORONER_COLLECT=path.

#[path = "common/live.rs"]
mod live;
use live::collector;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const STATE: &str = "/var/lib/coroner";

#[derive(Default)]
struct Guard {
    /// The test's directory: the daemon's data and exec roots, the image tree, the bundle.
    dir: Option<PathBuf>,
    /// The daemon's socket, once it answers.
    sock: Option<String>,
    daemon: Option<Child>,
    recorder: Option<Child>,
    /// The recorder's state directory's paths before the test (`None`: it did not exist).
    state_before: Option<Option<BTreeSet<PathBuf>>>,
    /// `docker` cgroups that did not exist before the daemon made them.
    cgroups_made: Vec<PathBuf>,
}

impl Guard {
    fn docker(&self, args: &[&str]) -> Output {
        docker_at(self.sock.as_deref().expect("daemon socket"), args)
    }
}

fn docker_at(sock: &str, args: &[&str]) -> Output {
    // The daemon's own CLI (Debian's), bounded: a hung daemon fails the test instead of hanging it.
    let mut c = Command::new("timeout");
    c.args(["120", "/usr/bin/docker"]).args(args).env("DOCKER_HOST", format!("unix://{sock}")).stdin(Stdio::null());
    c.output().expect("docker")
}

fn ok(o: Output, what: &str) -> String {
    assert!(o.status.success(), "{what}: {}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).trim().to_owned()
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let (Some(sock), Some(_)) = (&self.sock, &self.daemon) {
            // Every container this daemon holds is this test's.
            let ids = docker_at(sock, &["ps", "-aq", "--no-trunc"]);
            let ids: Vec<String> = String::from_utf8_lossy(&ids.stdout).split_whitespace().map(str::to_owned).collect();
            if !ids.is_empty() {
                let mut args = vec!["rm", "-f"];
                args.extend(ids.iter().map(String::as_str));
                let _ = docker_at(sock, &args);
            }
        }
        for c in [&mut self.recorder, &mut self.daemon].into_iter().flatten() {
            if let Ok(None) = c.try_wait() {
                let _ = Command::new("kill").args(["-TERM", &c.id().to_string()]).status();
                live::wait_bounded(c, 30);
            }
        }
        if let Some(d) = &self.dir {
            // Mounts the daemon left under its roots (shm, overlays), deepest first.
            let mounts = fs::read_to_string("/proc/self/mounts").unwrap_or_default();
            let mut under: Vec<&str> = mounts.lines().filter_map(|l| l.split(' ').nth(1)).filter(|m| Path::new(m).starts_with(d)).collect();
            under.sort_unstable_by_key(|m| std::cmp::Reverse(m.len()));
            for m in under {
                let _ = Command::new("umount").args(["-l", m]).status();
            }
            if std::env::var_os("CORONER_KEEP_INCIDENT").is_none() {
                let _ = fs::remove_dir_all(d);
            }
        }
        live::rmdirs(&self.cgroups_made);
        if let Some(before) = &self.state_before {
            live::put_back(Path::new(STATE), before.as_ref());
        }
    }
}

fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "{what}: not within {secs} s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `docker inspect -f FORMAT NAME`.
fn inspect(g: &Guard, name: &str, format: &str) -> String {
    ok(g.docker(&["inspect", "-f", format, name]), "inspect")
}

#[test]
#[ignore = "needs root"]
fn container_deaths_name_their_container_and_what_ended_them() {
    for tool in ["/usr/sbin/dockerd", "/usr/bin/docker", "/usr/bin/busybox"] {
        assert!(Path::new(tool).exists(), "{tool} missing: .ci/run installs docker.io and busybox-static");
    }
    let tag = std::process::id() % 100_000;
    let mut g = Guard::default();
    let dir = PathBuf::from(format!("/tmp/coroner-containers-{tag}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("mkdir");
    g.dir = Some(dir.clone());
    let d = dir.display().to_string();
    g.state_before = Some(Path::new(STATE).exists().then(|| live::listing(Path::new(STATE))));
    g.cgroups_made = live::docker_cgroups_absent();

    // The daemon, with roots of its own and no network set-up.
    let sock = format!("{d}/docker.sock");
    let daemon = Command::new("/usr/sbin/dockerd")
        .args(["--iptables=false", "--ip6tables=false", "--bridge=none", "--storage-driver=vfs"])
        .args(["--data-root", &format!("{d}/data"), "--exec-root", &format!("{d}/exec"), "-p", &format!("{d}/docker.pid")])
        .args(["-H", &format!("unix://{sock}")])
        .stdin(Stdio::null())
        .stdout(fs::File::create(dir.join("dockerd.log")).expect("log"))
        .stderr(fs::File::create(dir.join("dockerd.err")).expect("log"))
        .spawn()
        .expect("dockerd");
    g.daemon = Some(daemon);
    g.sock = Some(sock.clone());
    wait_for("the daemon's socket", 60, || Path::new(&sock).exists() && docker_at(&sock, &["version"]).status.success());

    // The image: busybox and the applets the containers use.
    let tree = dir.join("tree");
    fs::create_dir_all(tree.join("bin")).expect("mkdir tree");
    fs::copy("/usr/bin/busybox", tree.join("bin/busybox")).expect("busybox");
    for applet in ["sh", "sleep", "true"] {
        std::os::unix::fs::symlink("busybox", tree.join("bin").join(applet)).expect("link");
    }
    let image = format!("coroner-bb:{tag}");
    let tar = dir.join("tree.tar");
    ok(Command::new("tar").args(["-C", &tree.display().to_string(), "-cf", &tar.display().to_string(), "."]).output().expect("tar"), "tar");
    ok(g.docker(&["import", &tar.display().to_string(), &image]), "import");

    // The recorder, ready once its start record is written.
    let rec = Command::new(collector()).arg("watch").stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("watch");
    let mine = format!("\"pid\":{},", rec.id());
    g.recorder = Some(rec);
    wait_for("the recorder's start record", 30, || {
        live::listing(&Path::new(STATE).join("watch"))
            .iter()
            .any(|p| fs::read_to_string(p).is_ok_and(|s| s.lines().any(|l| l.contains("\"record\":\"start\"") && l.contains(&mine))))
    });

    let run = |g: &Guard, args: &[&str]| ok(g.docker(&[&["run", "--network", "none"][..], args].concat()), "run");
    // 1. The memory limit.
    run(&g, &["-d", "--name", "oom", "-m", "32m", "--memory-swap", "32m", &image, "sh", "-c", "x=a; while :; do x=$x$x; done"]);
    // 2. docker kill.
    run(&g, &["-d", "--name", "killed", &image, "sleep", "300"]);
    // 3. docker stop of a process that ignores SIGTERM.
    run(&g, &["-d", "--name", "stopper", &image, "sh", "-c", "trap '' TERM; while :; do sleep 1; done"]);
    // 4. An exit of its own.
    run(&g, &["-d", "--name", "exit3", &image, "sh", "-c", "sleep 1; exit 3"]);
    // 5. A restart loop.
    run(&g, &["-d", "--name", "looper", "--restart", "on-failure:3", &image, "sh", "-c", "exit 1"]);

    std::thread::sleep(Duration::from_millis(1500));
    // Their main processes' host pids, while they run (Docker zeroes State.Pid at exit).
    let main_pid = |g: &Guard, name: &str| inspect(g, name, "{{.State.Pid}}").parse::<u64>().expect("pid");
    let (killed_pid, stopper_pid) = (main_pid(&g, "killed"), main_pid(&g, "stopper"));
    ok(g.docker(&["kill", "killed"]), "kill");
    ok(g.docker(&["stop", "-t", "2", "stopper"]), "stop");
    let exited = |g: &Guard, name: &str| inspect(g, name, "{{.State.Status}}") == "exited";
    for name in ["oom", "killed", "stopper", "exit3"] {
        wait_for(&format!("{name} to exit"), 60, || exited(&g, name));
    }
    wait_for("looper's third restart to exit", 60, || exited(&g, "looper") && inspect(&g, "looper", "{{.RestartCount}}") == "3");
    assert_eq!(inspect(&g, "oom", "{{.State.OOMKilled}} {{.State.ExitCode}}"), "true 137", "the oom container was not OOM-killed");
    assert_eq!(inspect(&g, "killed", "{{.State.ExitCode}}"), "137");
    assert_eq!(inspect(&g, "stopper", "{{.State.ExitCode}}"), "137");
    assert_eq!(inspect(&g, "exit3", "{{.State.ExitCode}}"), "3");
    let ids: Vec<(String, String)> = ["oom", "killed", "stopper", "exit3", "looper"]
        .iter()
        .map(|n| (n.to_string(), inspect(&g, n, "{{.Id}}")))
        .collect();

    // Let the recorder see the exits, then stop it as its unit would.
    std::thread::sleep(Duration::from_millis(2500));
    let rec = g.recorder.as_mut().expect("recorder");
    let _ = Command::new("kill").args(["-TERM", &rec.id().to_string()]).status();
    assert!(live::wait_bounded(rec, 20).success(), "the recorder did not exit cleanly");

    // Collect this host (the daemon still runs: its data root and socket are found from its command line).
    let (bundle, doc) = live::collect_and_render(&dir);
    let findings = doc["findings"].as_array().expect("findings").clone();

    // The findings of one container, by the id the daemon gave it.
    let of = |name: &str| -> Vec<Value> {
        let id = &ids.iter().find(|(n, _)| n == name).expect("staged").1;
        findings.iter().filter(|f| f["victim"]["container"]["id"].as_str() == Some(id.as_str())).cloned().collect()
    };
    // The finding of a container's main process: by its pid where the test read it, else the container's only
    // finding (when its main process dies, the kernel kills the rest of its pid namespace: other deaths).
    let one_of = |name: &str, pid: Option<u64>| -> Value {
        let v: Vec<Value> = of(name).into_iter().filter(|f| pid.is_none_or(|p| f["victim"]["pid"].as_u64() == Some(p))).collect();
        assert_eq!(v.len(), 1, "{name}: expected one finding, got {v:#?}");
        let f = v[0].clone();
        let c = &f["victim"]["container"];
        assert_eq!((c["runtime"].as_str(), c["name"].as_str(), c["image"].as_str()), (Some("docker"), Some(name), Some(image.as_str())), "{f:#}");
        f
    };
    let one = |name: &str| one_of(name, None);
    let cites = |f: &Value, entry: &str| f["evidence"].as_array().is_some_and(|e| e.iter().any(|x| x["origin"]["entry"].as_str().is_some_and(|p| p.contains(entry))));

    let f = one("oom");
    assert_eq!((f["cause"].as_str(), f["container_reason"].as_str(), f["confidence"].as_str()), (Some("oom_kill"), Some("memory_limit"), Some("certain")), "{f:#}");
    assert!(cites(&f, "config.v2.json"), "the runtime's record is not cited: {f:#}");

    let f = one_of("killed", Some(killed_pid));
    assert_eq!((f["cause"].as_str(), f["signal"]["number"].as_i64(), f["container_reason"].as_str()), (Some("signal"), Some(9), Some("runtime_kill")), "{f:#}");
    assert_eq!(f["confidence"], "certain", "the recorder saw the SIGKILL: {f:#}");
    assert!(cites(&f, "coroner/watch/"), "{f:#}");
    assert!(f["killer"]["comm"].is_string(), "the recorder names the sender: {f:#}");

    let f = one_of("stopper", Some(stopper_pid));
    assert_eq!((f["cause"].as_str(), f["signal"]["number"].as_i64(), f["container_reason"].as_str()), (Some("signal"), Some(9), Some("runtime_stop")), "{f:#}");
    assert!(f["reasoning"].as_str().is_some_and(|r| r.contains("SIGTERM")), "the ignored SIGTERM before the SIGKILL is not told: {f:#}");
    assert!(cites(&f, "config.v2.json"), "the runtime's record of the exit belongs to the main process's death: {f:#}");

    let f = one("exit3");
    assert_eq!((f["cause"].as_str(), f["container_reason"].as_str(), f["confidence"].as_str()), (Some("exit"), Some("own_exit"), Some("certain")), "{f:#}");
    assert!(f["signal"].is_null(), "{f:#}");

    let loops = of("looper");
    assert!(!loops.is_empty(), "no finding for the restart loop");
    assert!(
        loops.iter().any(|f| f["victim"]["container"]["restart_count"].as_u64() == Some(3)),
        "the restart count is not on the victim: {loops:#?}"
    );
    let advised = doc["advisories"].as_array().is_some_and(|a| a.iter().any(|x| x["message"].as_str().is_some_and(|m| m.contains("looper"))));
    assert!(advised, "no advisory names the restart loop: {:#}", doc["advisories"]);

    // `why --container` answers on the terminal.
    let w = Command::new(env!("CARGO_BIN_EXE_coroner-report")).args(["why", &bundle, "--container", "oom"]).output().expect("why");
    let text = String::from_utf8_lossy(&w.stdout);
    assert!(w.status.success() && text.contains("oom") && text.contains("memory"), "why --container oom: {text}");
}
