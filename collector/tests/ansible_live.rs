//! `deploy/ansible/collect.yml` for real: ansible-playbook pushes this build's collector to three hosts (one by
//! local connection, two by SSH to `sshd` instances this test starts on 127.0.0.2 and 127.0.0.3 with their own
//! host keys, a client key made here and a known_hosts file, so host keys are checked), each collecting its own
//! `--root` tree. Then: the fetched bundles verify, a second run with the same run id changes nothing, an
//! unreachable host is summarised as such without failing the others, host key mode leaves no key behind, and a
//! collector that hangs is killed by the time box and reported failed. Also: `ansible-lint` passes.
//!
//! Needs root (sshd, root logins over SSH), ansible-core and ansible-lint (pip; `.ci/run` installs them) and
//! OpenSSH's sshd and ssh-keygen. Outside CI a missing tool skips with a reason; under `CI` it fails.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use coroner_schemas::fleet::FleetClock;
use rustix::process::{kill_process_group, Pid, Signal};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_coroner-collect");
const SSHD: &str = "/usr/sbin/sshd";
/// The longest one playbook run may take before the test kills it.
const PLAY_SECS: u64 = 240;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Says why the test is skipped, or fails under CI, where `.ci/run` installs the tool.
fn missing(why: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{why}: .ci/run installs it, so under CI its absence is a failure");
    }
    eprintln!("skipped: {why}");
}

fn runs(cmd: &str, arg: &str) -> bool {
    Command::new(cmd).arg(arg).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

/// Runs a command with a time bound; (exit code, stdout, stderr).
fn run_bounded(cmd: &mut Command, secs: u64) -> (i32, String, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (o, e) = (dir.path().join("out"), dir.path().join("err"));
    cmd.stdin(Stdio::null())
        .stdout(fs::File::create(&o).expect("out"))
        .stderr(fs::File::create(&e).expect("err"));
    // Its own process group, so a timeout stops ansible-playbook's forks too, not only their parent.
    cmd.process_group(0);
    let mut child = cmd.spawn().unwrap_or_else(|err| panic!("spawn {cmd:?}: {err}"));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let status = loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = kill_process_group(Pid::from_child(&child), Signal::KILL);
            let _ = child.wait();
            panic!("timed out after {secs} s: {cmd:?}\n{}", fs::read_to_string(&o).unwrap_or_default());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (status.code().unwrap_or(-1), fs::read_to_string(&o).unwrap_or_default(), fs::read_to_string(&e).unwrap_or_default())
}

fn ssh_keygen(args: &[&str]) {
    let (rc, out, err) = run_bounded(Command::new("ssh-keygen").args(args), 30);
    assert_eq!(rc, 0, "ssh-keygen {args:?}: {out}{err}");
}

/// A port nobody listens on at `ip` right now (the kernel's pick; sshd binds it a moment later).
fn free_port(ip: &str) -> u16 {
    TcpListener::bind((ip, 0)).expect("bind").local_addr().expect("addr").port()
}

/// `/run/sshd` (sshd's privilege separation folder) made for the test and removed after, if it was missing.
struct PrivsepDir(bool);

impl PrivsepDir {
    fn ensure() -> Self {
        let p = Path::new("/run/sshd");
        if p.exists() {
            return PrivsepDir(false);
        }
        fs::create_dir(p).expect("mkdir /run/sshd");
        fs::set_permissions(p, fs::Permissions::from_mode(0o755)).expect("chmod /run/sshd");
        PrivsepDir(true)
    }
}

impl Drop for PrivsepDir {
    fn drop(&mut self) {
        if self.0 {
            let _ = fs::remove_dir("/run/sshd");
        }
    }
}

/// One `sshd -D` this test started, stopped by its PID when dropped.
struct Sshd {
    child: Child,
    ip: String,
    port: u16,
    host_pub: String,
}

impl Sshd {
    fn start(dir: &Path, ip: &str, authorized: &Path) -> Sshd {
        fs::create_dir_all(dir).expect("sshd dir");
        let key = dir.join("host_key");
        ssh_keygen(&["-q", "-t", "ed25519", "-N", "", "-C", "coroner-test-host", "-f", key.to_str().expect("utf-8")]);
        let port = free_port(ip);
        let conf = dir.join("sshd_config");
        fs::write(
            &conf,
            format!(
                "ListenAddress {ip}:{port}\nHostKey {}\nAuthorizedKeysFile {}\nPidFile none\n\
                 PermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                 UsePAM no\nStrictModes no\nSubsystem sftp internal-sftp\nLogLevel ERROR\n",
                key.display(),
                authorized.display()
            ),
        )
        .expect("sshd_config");
        let log = fs::File::create(dir.join("sshd.log")).expect("sshd.log");
        let child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start sshd");
        let mut me = Sshd {
            child,
            ip: ip.to_owned(),
            port,
            host_pub: fs::read_to_string(dir.join("host_key.pub")).expect("host_key.pub"),
        };
        let addr: SocketAddr = format!("{ip}:{port}").parse().expect("addr");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if let Ok(Some(st)) = me.child.try_wait() {
                panic!("sshd exited {st}: {}", fs::read_to_string(dir.join("sshd.log")).unwrap_or_default());
            }
            assert!(Instant::now() < deadline, "sshd on {addr} did not listen within 10 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        me
    }

    /// The known_hosts line for this server.
    fn known_host(&self) -> String {
        let mut f = self.host_pub.split_whitespace();
        let (t, k) = (f.next().expect("key type"), f.next().expect("key"));
        format!("[{}]:{} {t} {k}\n", self.ip, self.port)
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fixture tree standing in for one host: its name, a syslog and an auth.log naming it.
/// Provenance: written by this test, in the line formats of Debian 12's rsyslog (RFC 3164 style).
fn host_tree(root: &Path, name: &str) {
    fs::create_dir_all(root.join("etc")).expect("etc");
    fs::create_dir_all(root.join("var/log")).expect("var/log");
    fs::write(root.join("etc/hostname"), format!("{name}\n")).expect("hostname");
    fs::write(
        root.join("var/log/syslog"),
        format!("Dec  6 14:02:00 {name} CRON[4242]: (deploy) CMD (/usr/local/bin/rotate --host {name})\n"),
    )
    .expect("syslog");
    fs::write(
        root.join("var/log/auth.log"),
        format!("Dec  6 14:01:58 {name} sshd[4100]: Accepted publickey for deploy from 10.0.0.9 port 50022 ssh2\n"),
    )
    .expect("auth.log");
}

/// The test's world: keys, three fixture hosts, two sshds and an inventory.
struct Fleet {
    dir: tempfile::TempDir,
    // Dropped after the sshds (fields drop in order).
    sshds: Vec<Sshd>,
    _privsep: PrivsepDir,
}

impl Fleet {
    fn start() -> Fleet {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let privsep = PrivsepDir::ensure();
        let client = d.join("client_key");
        ssh_keygen(&["-q", "-t", "ed25519", "-N", "", "-C", "coroner-test-client", "-f", client.to_str().expect("utf-8")]);
        fs::copy(d.join("client_key.pub"), d.join("authorized_keys")).expect("authorized_keys");
        let (rc, out, err) = run_bounded(Command::new(BIN).arg("keygen").arg("-o").arg(d.join("fleet.key")), 30);
        assert_eq!(rc, 0, "keygen: {out}{err}");
        let sshds = vec![
            Sshd::start(&d.join("sshd-web-2"), "127.0.0.2", &d.join("authorized_keys")),
            Sshd::start(&d.join("sshd-web-3"), "127.0.0.3", &d.join("authorized_keys")),
        ];
        let known: String = sshds.iter().map(Sshd::known_host).collect();
        fs::write(d.join("known_hosts"), known).expect("known_hosts");
        for h in ["web-1", "web-2", "web-3"] {
            host_tree(&d.join("roots").join(h), h);
        }
        Fleet { dir, sshds, _privsep: privsep }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The inventory: web-1 local, web-2/web-3 over SSH, plus `extra` lines.
    fn inventory(&self, name: &str, extra: &str) -> PathBuf {
        let d = self.dir.path();
        let host = |h: &str| format!("coroner_root={} coroner_remote_dir={}", d.join("roots").join(h).display(), d.join("remote").join(h).display());
        let mut inv = format!("web-1 ansible_connection=local {}\n", host("web-1"));
        for (s, h) in self.sshds.iter().zip(["web-2", "web-3"]) {
            inv += &format!("{h} ansible_host={} ansible_port={} {}\n", s.ip, s.port, host(h));
        }
        inv += extra;
        inv += &format!(
            "\n[all:vars]\nansible_user=root\nansible_python_interpreter=/usr/bin/python3\n\
             ansible_ssh_private_key_file={}\n\
             ansible_ssh_common_args='-o UserKnownHostsFile={} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -o ConnectTimeout=5'\n",
            d.join("client_key").display(),
            d.join("known_hosts").display()
        );
        let p = d.join(name);
        fs::write(&p, inv).expect("inventory");
        p
    }

    /// `ansible-playbook -i INV deploy/ansible/collect.yml -e …` from the repository root, with more arguments
    /// `extra`: (rc, stdout and stderr).
    fn play(&self, inv: &Path, run_id: &str, extra: &[&str]) -> (i32, String) {
        let mut args = vec!["-e".to_owned(), format!("coroner_run_id={run_id}")];
        args.extend(extra.iter().map(|s| s.to_string()));
        self.playbook("collect.yml", inv, &args)
    }

    /// `ansible-playbook -i INV deploy/ansible/BOOK` with this fleet's key, fetch folder and collector.
    fn playbook(&self, book: &str, inv: &Path, extra: &[String]) -> (i32, String) {
        let d = self.dir.path();
        let mut cmd = Command::new("ansible-playbook");
        cmd.current_dir(repo())
            .arg("-i")
            .arg(inv)
            .arg(format!("deploy/ansible/{book}"))
            .arg("-e")
            .arg(format!("coroner_fetch_dir={}", d.join("runs").display()))
            .arg("-e")
            .arg(format!("coroner_key={}", d.join("fleet.key").display()))
            .arg("-e")
            .arg(format!("coroner_collect_bin={BIN}"));
        cmd.args(extra);
        // No ControlPersist master left running after the test; the shipped ansible.cfg; nothing in ~/.ansible.
        cmd.env("ANSIBLE_CONFIG", repo().join("deploy/ansible/ansible.cfg"))
            .env("ANSIBLE_SSH_ARGS", "-o ControlMaster=no")
            .env("ANSIBLE_HOME", d.join("ansible-home"))
            .env("ANSIBLE_LOCAL_TEMP", d.join("ansible-home/tmp"))
            .env("ANSIBLE_NOCOLOR", "1")
            .env_remove("ANSIBLE_FORCE_COLOR");
        let (rc, out, err) = run_bounded(&mut cmd, PLAY_SECS);
        (rc, format!("{out}\n--- stderr ---\n{err}"))
    }

    fn summary(&self, run_id: &str) -> Value {
        let p = self.path(&format!("runs/{run_id}/summary.json"));
        serde_json::from_slice(&fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).expect("summary.json")
    }
}

/// The PLAY RECAP: host → (counter → value).
fn recap(out: &str) -> BTreeMap<String, BTreeMap<String, u64>> {
    let at = out.find("PLAY RECAP").unwrap_or_else(|| panic!("no PLAY RECAP in:\n{out}"));
    let mut m = BTreeMap::new();
    for line in out[at..].lines().skip(1) {
        let Some((host, counts)) = line.split_once(" : ") else { break };
        let c = counts
            .split_whitespace()
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.parse().expect("count")))
            .collect();
        m.insert(host.trim().to_owned(), c);
    }
    m
}

/// Each host's status in summary.json.
fn statuses(summary: &Value) -> BTreeMap<String, String> {
    summary["hosts"]
        .as_array()
        .expect("hosts")
        .iter()
        .map(|h| (h["host"].as_str().expect("host").to_owned(), h["status"].as_str().expect("status").to_owned()))
        .collect()
}

/// The files of a host's folder in a run.
fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn bundle_in(dir: &Path) -> PathBuf {
    let names: Vec<String> = files(dir).into_iter().filter(|n| n.ends_with(".tar.gz")).collect();
    assert_eq!(names.len(), 1, "{}: {names:?}", dir.display());
    dir.join(&names[0])
}

fn sha256_hex(p: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(fs::read(p).expect("bundle")))
}

/// `coroner-report`, built beside this collector (`make test` builds every binary), or $CORONER_REPORT.
fn report_bin() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CORONER_REPORT") {
        return Some(PathBuf::from(p));
    }
    let here = Path::new(BIN).parent()?;
    [here.join("coroner-report"), here.join("../release/coroner-report")].into_iter().find(|p| p.exists())
}

/// One manifest entry's bytes from a bundle.
fn member(bundle: &Path, name: &str) -> Vec<u8> {
    let gz = flate2::read::GzDecoder::new(fs::File::open(bundle).expect("bundle"));
    let mut ar = tar::Archive::new(gz);
    for e in ar.entries().expect("entries") {
        let mut e = e.expect("entry");
        if e.path().expect("path").to_str() == Some(name) {
            let mut v = Vec::new();
            e.read_to_end(&mut v).expect("read");
            return v;
        }
    }
    panic!("{name} not in {}", bundle.display())
}

/// `ssh-keygen -Y verify` of `sig` over `file` against the fleet public key, as identity coroner-collect.
fn sshsig_ok(fleet: &Fleet, namespace: &str, file: &[u8], sig: &Path) -> bool {
    let allowed = fleet.path("allowed_signers");
    let pubkey = fs::read_to_string(fleet.path("fleet.key.pub")).expect("fleet.key.pub");
    fs::write(&allowed, format!("coroner-collect {pubkey}")).expect("allowed_signers");
    let data = fleet.path("verify-input");
    fs::write(&data, file).expect("verify input");
    let mut cmd = Command::new("ssh-keygen");
    cmd.args(["-Y", "verify", "-n", namespace, "-I", "coroner-collect", "-f"]).arg(&allowed).arg("-s").arg(sig);
    cmd.stdin(fs::File::open(&data).expect("input"));
    let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("ssh-keygen");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(s) = child.try_wait().expect("wait") {
            return s.success();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("ssh-keygen -Y verify hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What every collected host's folder must hold and prove: the bundle named after its own host, its .sha256
/// matching the bytes, a consistent clock.json, and (controller mode) the fleet signature over the .sha256.
fn check_host_folder(fleet: &Fleet, run_id: &str, host: &str, controller_mode: bool) -> PathBuf {
    let dir = fleet.path(&format!("runs/{run_id}/{host}"));
    let bundle = bundle_in(&dir);
    let name = bundle.file_name().expect("name").to_str().expect("utf-8").to_owned();
    assert!(name.starts_with(&format!("coroner-{host}-")), "{host}'s bundle is named after another host: {name}");
    let sum = fs::read_to_string(dir.join(format!("{name}.sha256"))).expect(".sha256");
    assert_eq!(sum, format!("{}  {name}\n", sha256_hex(&bundle)), "{host}: .sha256 does not match the bundle");
    let clock: FleetClock = serde_json::from_slice(&fs::read(dir.join("clock.json")).expect("clock.json")).expect("clock.json type");
    assert_eq!((clock.schema_version, clock.inventory_hostname.as_str(), clock.bundle.as_str()), (1, host, name.as_str()));
    assert!(clock.controller_before <= clock.controller_after, "{host}: before after after: {clock:?}");
    let manifest: Value = serde_json::from_slice(&member(&bundle, "manifest.json")).expect("manifest");
    let started: coroner_schemas::Utc = serde_json::from_value(manifest["collector"]["started"].clone()).expect("started");
    let finished: coroner_schemas::Utc = serde_json::from_value(manifest["collector"]["finished"].clone()).expect("finished");
    // Same machine, one clock: the collection lies inside the controller's wait around it.
    assert!(clock.controller_before <= started && finished <= clock.controller_after, "{host}: {clock:?} vs {started:?}..{finished:?}");
    let sig = dir.join(format!("{name}.sha256.sig"));
    if controller_mode {
        assert!(sshsig_ok(fleet, "coroner-fleet", sum.as_bytes(), &sig), "{host}: the .sha256.sig does not verify with the fleet key");
        assert!(!sshsig_ok(fleet, "coroner", sum.as_bytes(), &sig), "{host}: the fleet signature verified in the manifest's namespace");
    } else {
        assert!(!sig.exists(), "{host}: host mode wrote a controller signature");
    }
    let syslog = member(&bundle, "fs/var/log/syslog");
    assert!(String::from_utf8_lossy(&syslog).contains(&format!(" {host} CRON[")), "{host}: the bundle holds another host's syslog");
    bundle
}

/// `coroner-report verify BUNDLE [--pubkey fleet.key.pub]`: exit code and output.
fn report_verify(report: &Path, bundle: &Path, pinned: Option<&Path>) -> (i32, String) {
    let mut cmd = Command::new(report);
    cmd.arg("verify").arg(bundle);
    if let Some(p) = pinned {
        cmd.arg("--pubkey").arg(p);
    }
    let (rc, out, err) = run_bounded(&mut cmd, 60);
    (rc, out + &err)
}

fn tools_present() -> bool {
    if !runs("ansible-playbook", "--version") {
        missing("ansible-playbook not found (pip install -r deploy/ansible/requirements.txt)");
        return false;
    }
    if Command::new("ssh-keygen").arg("-?").stdout(Stdio::null()).stderr(Stdio::null()).status().is_err() {
        missing("ssh-keygen not found (Debian openssh-client)");
        return false;
    }
    if !Path::new(SSHD).exists() {
        missing("/usr/sbin/sshd not found (Debian openssh-server)");
        return false;
    }
    true
}

/// The tests here share /run/sshd and the CPU: one at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[test]
#[ignore = "needs root"]
fn the_playbook_collects_three_hosts_over_ssh_verifiably_and_idempotently() {
    let _one = one_at_a_time();
    if !tools_present() {
        return;
    }
    let fleet = Fleet::start();
    let hosts = ["web-1", "web-2", "web-3"];
    let inv = fleet.inventory("inventory.ini", "");

    // First run: every host collected, fetched, checked and signed by the controller.
    let (rc, out) = fleet.play(&inv, "t1", &[]);
    assert_eq!(rc, 0, "first run failed:\n{out}");
    let summary = fleet.summary("t1");
    assert_eq!(statuses(&summary), hosts.iter().map(|h| (h.to_string(), "collected".to_owned())).collect());
    assert_eq!((summary["collected"].as_u64(), summary["failed"].as_u64(), summary["unreachable"].as_u64()), (Some(3), Some(0), Some(0)));
    let mut bundles = Vec::new();
    for (h, row) in hosts.iter().zip(summary["hosts"].as_array().expect("hosts")) {
        let b = check_host_folder(&fleet, "t1", h, true);
        assert_eq!(row["bundle_bytes"].as_u64(), Some(fs::metadata(&b).expect("size").len()), "{h}: size in summary.json");
        assert!(matches!(row["rc"].as_u64(), Some(0 | 1)), "{h}: collector exit in summary.json: {row}");
        bundles.push(b);
    }
    let md = fs::read_to_string(fleet.path("runs/t1/summary.md")).expect("summary.md");
    assert!(md.contains("3 collected, 0 failed, 0 unreachable"), "{md}");
    match report_bin() {
        Some(report) => {
            for b in &bundles {
                let (rc, said) = report_verify(&report, b, None);
                assert_eq!(rc, 0, "{}: {said}", b.display());
                // Controller mode: the manifest is signed by a per-bundle key, not the fleet key.
                let (rc, said) = report_verify(&report, b, Some(&fleet.path("fleet.key.pub")));
                assert_ne!(rc, 0, "a controller-mode bundle verified against the fleet key: {said}");
            }
        }
        None => missing("coroner-report not built beside the collector (make test builds it; or set CORONER_REPORT)"),
    }

    // Second run, same run id: nothing changes on any host or on the controller, nothing is collected again
    // (every fetched file of the run keeps its mtime).
    let stamps = || -> Vec<(String, std::time::SystemTime)> {
        hosts
            .iter()
            .flat_map(|h| {
                let d = fleet.path(&format!("runs/t1/{h}"));
                files(&d).into_iter().map(move |n| {
                    let m = fs::metadata(d.join(&n)).expect("meta").modified().expect("mtime");
                    (format!("{h}/{n}"), m)
                })
            })
            .collect()
    };
    let before = stamps();
    let (rc, out) = fleet.play(&inv, "t1", &[]);
    assert_eq!(rc, 0, "second run failed:\n{out}");
    let rec = recap(&out);
    for h in hosts.iter().copied().chain(["localhost"]) {
        assert_eq!(rec.get(h).and_then(|c| c.get("changed")), Some(&0), "{h} changed on the second run:\n{out}");
    }
    let after = stamps();
    assert_eq!(before, after, "the second run rewrote the run folder");
    for h in hosts {
        let remote = fleet.path(&format!("remote/{h}/runs/t1"));
        let made = files(&remote).into_iter().filter(|n| n.ends_with(".tar.gz")).count();
        assert_eq!(made, 1, "{h} collected again: {:?}", files(&remote));
    }
    assert_eq!(fleet.summary("t1"), summary, "summary.json changed on the second run");

    // Check mode on a new run id: it runs through, and nothing is collected or written anywhere.
    let (rc, out) = fleet.play(&inv, "t-check", &["--check"]);
    assert_eq!(rc, 0, "check mode failed:\n{out}");
    assert!(!fleet.path("runs/t-check").exists(), "check mode wrote on the controller");
    for h in hosts {
        assert!(!fleet.path(&format!("remote/{h}/runs/t-check")).exists(), "check mode made {h}'s run folder");
    }
}

#[test]
#[ignore = "needs root"]
fn an_unreachable_host_is_summarised_host_mode_leaves_no_key_and_a_hung_collector_is_killed() {
    let _one = one_at_a_time();
    if !tools_present() {
        return;
    }
    let fleet = Fleet::start();
    let hosts = ["web-1", "web-2", "web-3"];

    // A fourth host on a port nobody listens on: listed unreachable, the other three still collected.
    let dead_port = free_port("127.0.0.4");
    let inv = fleet.inventory(
        "inventory-dead.ini",
        &format!("gone ansible_host=127.0.0.4 ansible_port={dead_port} coroner_remote_dir={}\n", fleet.path("remote/gone").display()),
    );
    let (rc, out) = fleet.play(&inv, "t2", &[]);
    assert_ne!(rc, 0, "a run with a host missing passed:\n{out}");
    let summary = fleet.summary("t2");
    let mut want: BTreeMap<String, String> = hosts.iter().map(|h| (h.to_string(), "collected".to_owned())).collect();
    want.insert("gone".into(), "unreachable".into());
    assert_eq!(statuses(&summary), want, "{out}");
    assert_eq!((summary["collected"].as_u64(), summary["unreachable"].as_u64()), (Some(3), Some(1)));
    let rec = recap(&out);
    for h in hosts {
        assert_eq!(rec[h].get("failed"), Some(&0), "{h} failed beside the unreachable host:\n{out}");
        check_host_folder(&fleet, "t2", h, true);
    }
    assert!(!fleet.path("runs/t2/gone").exists());
    let md = fs::read_to_string(fleet.path("runs/t2/summary.md")).expect("summary.md");
    assert!(md.lines().any(|l| l.starts_with("| gone | unreachable |")), "{md}");

    // Host mode: the collector signs with the fleet key, which is removed from every host afterwards.
    let inv = fleet.inventory("inventory.ini", "");
    let (rc, out) = fleet.play(&inv, "t3", &["-e", "coroner_key_mode=host"]);
    assert_eq!(rc, 0, "host mode run failed:\n{out}");
    assert!(!out.contains(&fs::read_to_string(fleet.path("fleet.key")).expect("key").lines().nth(1).expect("key line").to_owned()), "the key was logged");
    for h in hosts {
        let bundle = check_host_folder(&fleet, "t3", h, false);
        let remote = fleet.path(&format!("remote/{h}"));
        assert!(!remote.join("fleet.key").exists(), "{h}: the fleet key is still on the host: {:?}", files(&remote));
        let sig = fleet.path("manifest.sig");
        fs::write(&sig, member(&bundle, "manifest.json.sig")).expect("sig");
        assert!(sshsig_ok(&fleet, "coroner", &member(&bundle, "manifest.json"), &sig), "{h}: the manifest is not signed by the fleet key");
        match report_bin() {
            Some(report) => {
                let (rc, said) = report_verify(&report, &bundle, Some(&fleet.path("fleet.key.pub")));
                assert_eq!(rc, 0, "{h}: host-mode bundle does not verify against the pinned fleet key: {said}");
            }
            None => missing("coroner-report not built beside the collector (make test builds it; or set CORONER_REPORT)"),
        }
    }

    // A collector that hangs: the time box kills it and the host is reported failed, the run in bounded time.
    let hang = fleet.path("hang.sh");
    fs::write(&hang, "#!/bin/sh\n# stands in for a collector that never returns\nexec sleep 300\n").expect("hang.sh");
    fs::set_permissions(&hang, fs::Permissions::from_mode(0o755)).expect("chmod");
    let started = Instant::now();
    let (rc, out) = fleet.play(
        &inv,
        "t4",
        &["-e", &format!("coroner_collect_bin={}", hang.display()), "-e", "coroner_timeout=3", "-e", "coroner_hosts=web-2"],
    );
    assert!(started.elapsed() < Duration::from_secs(120), "the time box did not hold: {:?}", started.elapsed());
    assert_ne!(rc, 0, "a run whose only host timed out passed:\n{out}");
    let summary = fleet.summary("t4");
    assert_eq!(statuses(&summary), [("web-2".to_owned(), "failed".to_owned())].into_iter().collect(), "{out}");
    assert_eq!(summary["hosts"][0]["rc"].as_u64(), Some(124), "timeout(1)'s exit code: {}", summary["hosts"][0]);
    assert!(!fleet.path("runs/t4/web-2").join("clock.json").exists());

    // Every host unreachable: the summary is still written (the collect play ends with no host left).
    let dead_inv = fleet.path("inventory-dead.ini");
    let (rc, out) = fleet.play(&dead_inv, "t5", &["-e", "coroner_hosts=gone"]);
    assert_ne!(rc, 0, "{out}");
    assert_eq!(statuses(&fleet.summary("t5")), [("gone".to_owned(), "unreachable".to_owned())].into_iter().collect(), "{out}");

    // status.yml: each host's `status`, exit 1 (gaps) reported, not failed. The three hosts are this machine,
    // so each must be listed as `status` here says.
    let (here, said, _) = run_bounded(Command::new(BIN).arg("status"), 60);
    assert!(matches!(here, 0 | 1), "status here: {said}");
    let (rc, out) = fleet.playbook("status.yml", &inv, &[]);
    assert_eq!(rc, 0, "status.yml failed:\n{out}");
    let listed = if here == 0 { "armed: web-1, web-2, web-3; gaps: none" } else { "armed: none; gaps: web-1, web-2, web-3" };
    assert!(out.contains(listed), "status.yml did not say {listed:?}:\n{out}");
    let rec = recap(&out);
    assert!(hosts.iter().all(|h| rec[*h].get("failed") == Some(&0)), "{out}");

    // arm.yml in check mode: `arm --dry-run` on every host, nothing changed.
    let (rc, out) = fleet.playbook("arm.yml", &inv, &["--check".to_owned()]);
    assert_eq!(rc, 0, "arm.yml --check failed:\n{out}");
    assert!(out.contains("Dry run: nothing changed.") || out.contains("Nothing to change."), "{out}");
    let rec = recap(&out);
    assert!(hosts.iter().all(|h| rec[*h].get("changed") == Some(&0)), "arm --check changed something:\n{out}");
}

#[test]
fn the_ansible_role_is_lint_clean_in_the_production_profile() {
    if !runs("ansible-lint", "--version") {
        return missing("ansible-lint not found (pip install -r deploy/ansible/requirements.txt)");
    }
    let home = tempfile::tempdir().expect("tempdir");
    let (rc, out, err) = run_bounded(
        Command::new("ansible-lint")
            .args(["--profile", "production", "--offline", "--nocolor"])
            .current_dir(repo().join("deploy/ansible"))
            .env("ANSIBLE_HOME", home.path()),
        300,
    );
    assert_eq!(rc, 0, "ansible-lint:\n{out}\n{err}");
}
