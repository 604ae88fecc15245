//! `coroner-collect --redact` end to end: secrets staged in shell histories (bash, zsh extended), syslog/auth
//! logs, a journal file, and a live process's command line never appear in the decompressed bundle; the
//! manifest counts them per entry, the bundle verifies, and the report says it was redacted.

#[path = "common/live.rs"]
mod live;

use std::io::Read;
use std::path::Path;
use std::process::Command;

use coroner_schemas::manifest::{Manifest, Status};

const SECRETS: &[&str] = &[
    "HISTSECRET1",
    "ZSHSECRET2",
    "AUTHSECRET3",
    "KEYBODYSECRET4",
    "JOURNALSECRET5",
    "LIVETOKENSECRET6",
    "AKIAIOSFODNN7SECRET7",
];

/// Every byte of the bundle, decompressed (members and headers alike), and its manifest.
fn inflate(bundle: &str) -> (Vec<u8>, Manifest) {
    let mut all = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(bundle).expect("open")).read_to_end(&mut all).expect("gunzip");
    let mut ar = tar::Archive::new(&all[..]);
    let mut manifest = None;
    for e in ar.entries().expect("entries") {
        let mut e = e.expect("entry");
        if e.path().expect("path").to_string_lossy() == "manifest.json" {
            let mut b = Vec::new();
            e.read_to_end(&mut b).expect("read");
            manifest = Some(serde_json::from_slice(&b).expect("manifest"));
        }
    }
    (all, manifest.expect("manifest.json"))
}

fn leaked(all: &[u8]) -> Vec<&'static str> {
    SECRETS.iter().copied().filter(|s| all.windows(s.len()).any(|w| w == s.as_bytes())).collect()
}

fn collect(args: &[&str], out: &Path) -> String {
    let r = Command::new(live::collector()).args(args).arg("-o").arg(out).arg("--quiet").arg("--redact").output().expect("collect");
    assert!(r.status.code().is_some_and(|c| c <= 1), "collector failed: {}", String::from_utf8_lossy(&r.stderr));
    String::from_utf8_lossy(&r.stdout).lines().last().expect("bundle path").to_owned()
}

fn verify_and_render(bundle: &str, dir: &Path) -> String {
    let v = Command::new(env!("CARGO_BIN_EXE_coroner-report")).args(["verify", bundle]).output().expect("verify");
    assert_eq!(v.status.code(), Some(0), "verify: {}", String::from_utf8_lossy(&v.stdout));
    let r = Command::new(env!("CARGO_BIN_EXE_coroner-report")).args(["render", bundle, "-o"]).arg(dir).output().expect("render");
    assert!(r.status.code().is_some_and(|c| c <= 1), "render: {}", String::from_utf8_lossy(&r.stderr));
    std::fs::read_to_string(dir.join("report.md")).expect("report.md")
}

#[test]
#[ignore = "needs root"]
fn redacted_bundles_hold_no_staged_secret_and_say_so() {
    let uid = Command::new("id").arg("-u").output().expect("id").stdout;
    assert_eq!(uid, b"0\n", "needs root (collects the live host)");
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path().join("root");
    for (p, body) in [
        ("etc/passwd", "root:x:0:0:root:/root:/bin/bash\n".to_owned()),
        ("root/.bash_history", "ls\nmysql -u root -pHISTSECRET1 shop\nmysql -u root -p shop\n".to_owned()),
        (
            "root/.zsh_history",
            ": 1764900000:0;curl -H 'Authorization: Bearer ZSHSECRET2' https://api\n: 1764900005:3;aws s3 ls # AKIAIOSFODNN7SECRET7\n".to_owned(),
        ),
        ("var/log/auth.log", "Dec  5 10:00:00 h sudo: root : COMMAND=/usr/bin/env PGPASSWORD=AUTHSECRET3 psql\n".to_owned()),
        (
            "var/log/syslog",
            "Dec  5 10:00:01 h app[7]: loaded\n-----BEGIN RSA PRIVATE KEY-----\nKEYBODYSECRET4\nAAAA\n-----END RSA PRIVATE KEY-----\nDec  5 10:00:02 h app[7]: ok\n".to_owned(),
        ),
        ("var/log/journal/0123/system.journal", "LPKSHHRH\0MESSAGE=--token=JOURNALSECRET5\n".to_owned()),
    ] {
        let f = root.join(p);
        std::fs::create_dir_all(f.parent().expect("parent")).expect("mkdir");
        std::fs::write(&f, body).expect("write");
    }
    let bundle = collect(&["--root", &root.display().to_string()], &t.path().join("out"));
    let (all, m) = inflate(&bundle);
    assert_eq!(leaked(&all), Vec::<&str>::new(), "secrets in the --root bundle");
    let count = |path: &str, pattern: &str| {
        let e = m.entries.iter().find(|e| e.path == path).unwrap_or_else(|| panic!("{path} listed"));
        e.redaction.as_ref().and_then(|r| r.matches.get(pattern).copied()).unwrap_or(0)
    };
    assert!(m.collector.options.redact);
    assert_eq!(count("fs/root/.bash_history", "mysql-password"), 1, "the bare -p that prompts is kept");
    assert_eq!(count("fs/root/.zsh_history", "authorization-header"), 1);
    assert_eq!(count("fs/root/.zsh_history", "aws-access-key-id"), 1);
    assert_eq!(count("fs/var/log/auth.log", "env-secret"), 1);
    assert_eq!(count("fs/var/log/syslog", "private-key"), 1);
    let journal = m.entries.iter().find(|e| e.path == "fs/var/log/journal/0123/system.journal").expect("journal listed");
    assert!(matches!(&journal.status, Status::Skipped { reason } if reason.contains("--redact")), "{:?}", journal.status);
    let md = verify_and_render(&bundle, &t.path().join("report"));
    assert!(md.contains("| Redacted |") && md.contains("5 secret"), "the report says the bundle was redacted: {md}");

    // A live process whose command line carries a token, read from /proc by the live collection.
    let mut child = Command::new("sh")
        .args(["-c", "sleep 60; true", "coroner-redact-test", "--token", "LIVETOKENSECRET6"])
        .spawn()
        .expect("spawn");
    let pid = child.id();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let live_out = t.path().join("live");
    let bundle = collect(&["--max-total", "64M", "--cores", "meta"], &live_out);
    let _ = child.kill();
    let _ = child.wait();
    let (all, m) = inflate(&bundle);
    let snap = m.entries.iter().find(|e| e.path == "live/proc/processes.json").expect("process snapshot");
    assert!(snap.redaction.as_ref().is_some_and(|r| r.matches.get("token-option").copied().unwrap_or(0) >= 1), "{snap:?} (pid {pid})");
    assert!(all.windows(b"coroner-redact-test".len()).any(|w| w == b"coroner-redact-test"), "the process was seen");
    assert_eq!(leaked(&all), Vec::<&str>::new(), "secrets in the live bundle");
    verify_and_render(&bundle, &live_out.join("report"));
}
