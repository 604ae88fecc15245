//! Signing keys from the command line: a passphrase-protected key made by stock `ssh-keygen`, `keygen`
//! output that `ssh-keygen` reads, a wrong passphrase (no bundle, exit 2), and bad arguments (exit 2).

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use coroner_schemas::manifest::Manifest;

const BIN: &str = env!("CARGO_BIN_EXE_coroner-collect");

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(mut cmd: Command) -> Run {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("timed out: {cmd:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (mut stdout, mut stderr) = (String::new(), String::new());
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut stdout)
        .expect("stdout");
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("stderr");
    Run {
        code: status.code().unwrap_or(-1),
        stdout,
        stderr,
    }
}

fn have_ssh_keygen() -> bool {
    let ok = Command::new("ssh-keygen")
        .arg("-?")
        .stderr(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .is_ok();
    if !ok {
        eprintln!("skipped: ssh-keygen is not installed (apt-get install openssh-client)");
    }
    ok
}

/// A tiny tree to collect, so these tests do not depend on the host.
fn tree() -> tempfile::TempDir {
    let t = tempfile::tempdir().expect("tempdir");
    fs::create_dir_all(t.path().join("etc")).expect("mkdir");
    fs::create_dir_all(t.path().join("var/log")).expect("mkdir");
    fs::write(t.path().join("etc/passwd"), "root:x:0:0:root:/root:/bin/bash\n").expect("write");
    fs::write(t.path().join("etc/hostname"), "keyhost\n").expect("write");
    fs::write(t.path().join("var/log/syslog"), "Nov 27 20:00:00 keyhost app: hello\n").expect("write");
    t
}

fn collect_with(root: &Path, out: &Path, extra: &[&str], env: Option<(&str, &str)>) -> Run {
    let mut c = Command::new(BIN);
    c.args([
        "--root",
        root.to_str().expect("utf8"),
        "-o",
        out.to_str().expect("utf8"),
        "--quiet",
    ])
    .args(extra);
    c.env_remove("CORONER_KEY_PASSPHRASE");
    if let Some((k, v)) = env {
        c.env(k, v);
    }
    run(c)
}

/// Extracts manifest.json and its signature and verifies them with ssh-keygen and the side allowed_signers.
fn verify(bundle: &Path) -> (Manifest, String) {
    let dir = tempfile::tempdir().expect("x");
    let st = Command::new("tar")
        .arg("xzf")
        .arg(bundle)
        .arg("-C")
        .arg(dir.path())
        .status()
        .expect("tar");
    assert!(st.success());
    let manifest = fs::read(dir.path().join("manifest.json")).expect("manifest");
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg("ssh-keygen -Y verify -f \"$1\" -I coroner-collect -n coroner -s \"$2\" < \"$3\"")
        .arg("sh")
        .arg(format!("{}.allowed_signers", bundle.display()))
        .arg(dir.path().join("manifest.json.sig"))
        .arg(dir.path().join("manifest.json"));
    let r = run(c);
    assert_eq!(r.code, 0, "verify: {} {}", r.stdout, r.stderr);
    let m: Manifest = serde_json::from_slice(&manifest).expect("manifest");
    (m, format!("{}{}", r.stdout, r.stderr))
}

fn fingerprint_of(pubkey: &Path) -> String {
    let out = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(pubkey)
        .output()
        .expect("ssh-keygen -l");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.split_whitespace().nth(1).unwrap_or_default().to_owned()
}

fn last_line(s: &str) -> PathBuf {
    PathBuf::from(s.lines().last().unwrap_or_default())
}

#[test]
fn a_passphrase_protected_ssh_keygen_key_signs_the_bundle() {
    if !have_ssh_keygen() {
        return;
    }
    let t = tree();
    let keys = tempfile::tempdir().expect("keys");
    let key = keys.path().join("id_ed25519");
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "pass", "-C", "incident-42", "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen");
    assert!(st.success());
    let want = fingerprint_of(&PathBuf::from(format!("{}.pub", key.display())));
    assert!(want.starts_with("SHA256:"));
    let pass_file = keys.path().join("pass");
    fs::write(&pass_file, "pass\n").expect("write");
    let key_s = key.to_str().expect("utf8");

    // From a passphrase file.
    let out = tempfile::tempdir().expect("out");
    let r = collect_with(
        t.path(),
        out.path(),
        &[
            "--key",
            key_s,
            "--key-passphrase-file",
            pass_file.to_str().expect("utf8"),
        ],
        None,
    );
    assert!(r.code == 0 || r.code == 1, "exit {}: {}", r.code, r.stderr);
    let (m, text) = verify(&last_line(&r.stdout));
    assert_eq!(m.collector.signer_fingerprint, want);
    assert!(!m.collector.ephemeral_key);
    assert!(text.contains(&want), "{text}");

    // From the environment.
    let out = tempfile::tempdir().expect("out");
    let r = collect_with(
        t.path(),
        out.path(),
        &["--key", key_s],
        Some(("CORONER_KEY_PASSPHRASE", "pass")),
    );
    assert!(r.code == 0 || r.code == 1, "exit {}: {}", r.code, r.stderr);
    assert_eq!(verify(&last_line(&r.stdout)).0.collector.signer_fingerprint, want);

    // Wrong passphrase, and none at all with no terminal: exit 2 and no bundle.
    for env in [Some(("CORONER_KEY_PASSPHRASE", "wrong")), None] {
        let out = tempfile::tempdir().expect("out");
        let r = collect_with(t.path(), out.path(), &["--key", key_s], env);
        assert_eq!(r.code, 2, "{env:?}: {}", r.stderr);
        assert!(r.stderr.contains("no bundle"), "{}", r.stderr);
        assert_eq!(fs::read_dir(out.path()).expect("ls").count(), 0, "nothing written");
    }
}

#[test]
fn keygen_output_is_read_by_ssh_keygen_and_signs() {
    if !have_ssh_keygen() {
        return;
    }
    let keys = tempfile::tempdir().expect("keys");
    let key = keys.path().join("coroner.key");
    let mut c = Command::new(BIN);
    c.args(["keygen", "-o"]).arg(&key);
    let r = run(c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(fs::metadata(&key).expect("key").permissions().mode() & 0o777, 0o600);
    // ssh-keygen derives the same public key from the private one.
    let derived = Command::new("ssh-keygen")
        .arg("-y")
        .arg("-f")
        .arg(&key)
        .output()
        .expect("ssh-keygen -y");
    assert!(derived.status.success(), "{}", String::from_utf8_lossy(&derived.stderr));
    let pub_text = fs::read_to_string(format!("{}.pub", key.display())).expect("pub");
    let first2 = |s: &str| s.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
    assert_eq!(first2(&String::from_utf8_lossy(&derived.stdout)), first2(&pub_text));
    let fp = fingerprint_of(&PathBuf::from(format!("{}.pub", key.display())));
    assert_eq!(r.stdout.trim(), fp, "keygen prints the fingerprint");

    let t = tree();
    let out = tempfile::tempdir().expect("out");
    let r = collect_with(t.path(), out.path(), &["--key", key.to_str().expect("utf8")], None);
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    assert_eq!(verify(&last_line(&r.stdout)).0.collector.signer_fingerprint, fp);

    // A passphrase-protected keygen: ssh-keygen opens it with that passphrase.
    let locked = keys.path().join("locked.key");
    let pass = keys.path().join("pass");
    fs::write(&pass, "s3cret\n").expect("write");
    let mut c = Command::new(BIN);
    c.args(["keygen", "-o"])
        .arg(&locked)
        .arg("--passphrase-file")
        .arg(&pass);
    assert_eq!(run(c).code, 0);
    let ok = Command::new("ssh-keygen")
        .args(["-y", "-P", "s3cret", "-f"])
        .arg(&locked)
        .output()
        .expect("ssh-keygen");
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let bad = Command::new("ssh-keygen")
        .args(["-y", "-P", "nope", "-f"])
        .arg(&locked)
        .output()
        .expect("ssh-keygen");
    assert!(!bad.status.success());
    // keygen never overwrites.
    let mut c = Command::new(BIN);
    c.args(["keygen", "-o"]).arg(&key);
    assert_eq!(run(c).code, 2);
}

#[test]
fn bad_arguments_exit_2_without_a_bundle() {
    let out = tempfile::tempdir().expect("out");
    for args in [
        &["--max-file", "12X"][..],
        &["--cores", "sometimes"],
        &["--root", "/nonexistent/coroner-root"],
    ] {
        let mut c = Command::new(BIN);
        c.args(["-o", out.path().to_str().expect("utf8")]).args(args);
        let r = run(c);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
    }
    assert_eq!(fs::read_dir(out.path()).expect("ls").count(), 0);
}
