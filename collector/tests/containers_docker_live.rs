//! A real Docker daemon on this host (root): started with a non-default `--data-root` and its own
//! `-H unix://SOCK`, two containers (one exited with code 3, one running `sleep`), then the real collector
//! binary on the live host. The bundle's manifest must list both containers' `config.v2.json`,
//! `hostconfig.json` and json-file log tail from that data root (found from the daemon's command line), and
//! the `docker ps` / `docker inspect` captures made against that socket must name both ids.
//!
//! Everything it makes is under one `/tmp/c14coll-*` directory; the daemon is stopped by the pid in its
//! pidfile (never by name), and the directory removed, even when an assertion fails.

mod live_support;

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use coroner_schemas::manifest::{Category, Format, Manifest, Status};

const BIN: &str = env!("CARGO_BIN_EXE_coroner-collect");

/// Runs a command with a deadline (killed by its pid at the deadline); returns (exit code, stdout, stderr).
fn run(cmd: &mut Command, limit: Duration) -> (i32, String, String) {
    let r = live_support::run(cmd, limit);
    (r.code.unwrap_or(-1), r.stdout, r.stderr)
}

/// The daemon and its directory; stopped and removed on drop.
struct Daemon {
    /// The `docker` cgroups that did not exist before this daemon made them (removed when it is stopped).
    cgroups_made: Vec<PathBuf>,
    base: PathBuf,
    sock: PathBuf,
    pidfile: PathBuf,
    child: Option<Child>,
}

impl Daemon {
    fn docker(&self, args: &[&str], limit: Duration) -> (i32, String, String) {
        let host = format!("unix://{}", self.sock.display());
        run(Command::new("docker").arg("-H").arg(&host).args(args), limit)
    }
    fn data_root(&self) -> PathBuf {
        self.base.join("data-root")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // Containers first (by their docker names, which are the daemon's, not process names), then the daemon
        // by the pid it wrote, then our own child handle.
        let _ = self.docker(&["rm", "-f", "c14coll-exit3", "c14coll-sleeper"], Duration::from_secs(30));
        let pid = fs::read_to_string(&self.pidfile)
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
            .or_else(|| self.child.as_ref().and_then(|c| i32::try_from(c.id()).ok()));
        if let Some(pid) = pid {
            let p = rustix::process::Pid::from_raw(pid);
            if let Some(p) = p {
                let _ = rustix::process::kill_process(p, rustix::process::Signal::TERM);
            }
        }
        if let Some(mut c) = self.child.take() {
            let start = Instant::now();
            loop {
                if matches!(c.try_wait(), Ok(Some(_))) {
                    break;
                }
                if start.elapsed() > Duration::from_secs(20) {
                    let _ = c.kill();
                    let _ = c.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let _ = fs::remove_dir_all(&self.base);
        for d in &self.cgroups_made {
            let _ = fs::remove_dir(d);
        }
    }
}

fn start_daemon() -> Daemon {
    let base = tempfile::Builder::new()
        .prefix("c14coll-")
        .tempdir_in("/tmp")
        .expect("tmp")
        .keep();
    // A daemon makes a `docker` cgroup under each v1 controller (or v2's root) at its first container.
    let root = PathBuf::from("/sys/fs/cgroup");
    let mut cgroups_made: Vec<PathBuf> =
        fs::read_dir(&root).into_iter().flatten().flatten().map(|e| e.path()).filter(|p| p.is_dir() && !p.is_symlink()).map(|p| p.join("docker")).collect();
    cgroups_made.push(root.join("docker"));
    cgroups_made.retain(|p| !p.exists());
    let d = Daemon {
        cgroups_made,
        sock: base.join("d.sock"),
        pidfile: base.join("d.pid"),
        base,
        child: None,
    };
    let log = fs::File::create(d.base.join("dockerd.log")).expect("log");
    let child = Command::new("dockerd")
        .args(["--iptables=false", "--ip6tables=false", "--bridge=none", "--storage-driver=vfs"])
        .arg("--data-root")
        .arg(d.data_root())
        .arg("--exec-root")
        .arg(d.base.join("exec"))
        .arg("-p")
        .arg(&d.pidfile)
        .arg("-H")
        .arg(format!("unix://{}", d.sock.display()))
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("dockerd");
    let mut d = d;
    d.child = Some(child);
    let start = Instant::now();
    loop {
        if d.sock.exists() && d.docker(&["version"], Duration::from_secs(10)).0 == 0 {
            break;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let log = fs::read_to_string(d.base.join("dockerd.log")).unwrap_or_default();
            panic!("dockerd did not answer within 30 s:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    d
}

/// An image holding only Debian's static busybox and the two applets used.
fn import_image(d: &Daemon) {
    let img = d.base.join("img");
    fs::create_dir_all(img.join("bin")).expect("mkdir");
    fs::copy("/bin/busybox", img.join("bin/busybox")).expect("busybox-static at /bin/busybox");
    for applet in ["sh", "sleep", "echo"] {
        std::os::unix::fs::symlink("busybox", img.join("bin").join(applet)).expect("link");
    }
    let tar = d.base.join("img.tar");
    let (c, _, e) = run(Command::new("tar").arg("-C").arg(&img).arg("-cf").arg(&tar).arg("."), Duration::from_secs(30));
    assert_eq!(c, 0, "tar: {e}");
    let (c, _, e) = d.docker(&["import", tar.to_str().expect("utf8"), "c14coll:latest"], Duration::from_secs(60));
    assert_eq!(c, 0, "docker import: {e}");
}

fn members(bundle: &Path) -> BTreeMap<String, Vec<u8>> {
    let f = fs::File::open(bundle).expect("open bundle");
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(f));
    let mut out = BTreeMap::new();
    for e in ar.entries().expect("entries") {
        let mut e = e.expect("tar entry");
        let path = e.path().expect("path").to_string_lossy().into_owned();
        let mut data = Vec::new();
        e.read_to_end(&mut data).expect("member data");
        out.insert(path, data);
    }
    out
}

#[test]
#[ignore = "needs root"]
fn docker_containers_records_and_live_captures_from_a_non_default_data_root() {
    assert!(rustix::process::geteuid().is_root(), "needs root (runs dockerd): run it as root");
    let started = Instant::now();
    let d = start_daemon();
    import_image(&d);
    let (c, _, e) = d.docker(
        &["run", "--name", "c14coll-exit3", "--network", "none", "c14coll", "/bin/sh", "-c", "echo last words; exit 3"],
        Duration::from_secs(60),
    );
    assert_eq!(c, 3, "the container's own exit code comes back: {e}");
    let (c, _, e) = d.docker(
        &["run", "-d", "--name", "c14coll-sleeper", "--network", "none", "c14coll", "/bin/sleep", "300"],
        Duration::from_secs(60),
    );
    assert_eq!(c, 0, "docker run -d: {e}");
    let (c, out, e) = d.docker(
        &["inspect", "-f", "{{.Id}}", "c14coll-exit3", "c14coll-sleeper"],
        Duration::from_secs(30),
    );
    assert_eq!(c, 0, "inspect: {e}");
    let ids: Vec<String> = out.lines().map(str::to_owned).collect();
    assert_eq!(ids.len(), 2, "{out}");

    let bundles = d.base.join("out");
    fs::create_dir_all(&bundles).expect("mkdir");
    let (code, stdout, stderr) = run(
        Command::new(BIN)
            .arg("-o")
            .arg(&bundles)
            .args(["--quiet", "--cores", "meta", "--journal-window", "1h", "--command-timeout", "20"]),
        Duration::from_secs(120),
    );
    assert!(code == 0 || code == 1, "collector exit {code}: {stderr}");
    let bundle = PathBuf::from(stdout.lines().last().expect("bundle path"));
    let files = members(&bundle);
    let m: Manifest = serde_json::from_slice(files.get("manifest.json").expect("manifest")).expect("manifest reads");

    let root = d.data_root();
    let root = root.to_str().expect("utf8").trim_start_matches('/');
    for id in &ids {
        let dir = format!("fs/{root}/containers/{id}");
        for (name, format) in [
            ("config.v2.json", Format::DockerConfigJson),
            ("hostconfig.json", Format::DockerHostConfigJson),
            (&format!("{id}-json.log") as &str, Format::DockerJsonLog),
        ] {
            let path = format!("{dir}/{name}");
            let e = m
                .entries
                .iter()
                .find(|e| e.path == path)
                .unwrap_or_else(|| panic!("{path} not in the manifest"));
            assert_eq!(e.category, Category::Containers, "{path}");
            assert_eq!(e.format, format, "{path}");
            assert_eq!(e.status, Status::Ok, "{path}");
            assert!(e.has_data() && files.contains_key(&path), "{path} has its bytes");
        }
    }
    // The exited container's record and its last words, as the daemon wrote them.
    let exit3 = &ids[0];
    let cfg = String::from_utf8_lossy(&files[&format!("fs/{root}/containers/{exit3}/config.v2.json")]).into_owned();
    assert!(cfg.contains("\"ExitCode\":3"), "{cfg}");
    let log = String::from_utf8_lossy(&files[&format!("fs/{root}/containers/{exit3}/{exit3}-json.log")]).into_owned();
    assert!(log.contains("last words"), "{log}");

    // The live captures made against this daemon's socket (another daemon on the host gets its own).
    let host = format!("unix://{}", d.sock.display());
    for (what, format) in [("ps", Format::DockerPsJson), ("inspect", Format::DockerInspectJson)] {
        let e = m
            .entries
            .iter()
            .find(|e| e.format == format && e.command.as_ref().is_some_and(|c| c.argv.contains(&host)))
            .unwrap_or_else(|| panic!("no docker {what} capture against {host}"));
        assert_eq!(e.category, Category::Containers);
        assert_eq!(e.status, Status::Ok, "docker {what}");
        let cmd = e.command.as_ref().expect("command");
        assert!(cmd.argv.iter().any(|a| a == what));
        let data = String::from_utf8_lossy(&files[&e.path]).into_owned();
        for id in &ids {
            assert!(data.contains(id.as_str()), "docker {what} output names {id}");
        }
    }
    eprintln!(
        "containers {ids:?}; bundle of {} entries ({} in Containers); {:?} so far",
        m.entries.len(),
        m.entries.iter().filter(|e| e.category == Category::Containers).count(),
        started.elapsed()
    );
    drop(d);
    assert!(started.elapsed() < Duration::from_secs(90), "took {:?}", started.elapsed());
}
