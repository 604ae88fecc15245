//! A small fleet made with the real tools, for the `fleet` tests: host trees copied from the incident fixture
//! (each with its own /etc/hostname), bundles written by the built `coroner-collect --root` into a run folder
//! laid out as the Ansible role lays it out, a fleet key from `coroner-collect keygen`, controller attestations
//! from `ssh-keygen -Y sign -n coroner-fleet`, and clock.json samples with a known offset.
//! Include with `#[path = "common/fleet.rs"] mod fleet;` beside `#[path = "common/live.rs"] mod live;`.

#![allow(dead_code)]

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use super::live;

pub struct Lab {
    pub dir: tempfile::TempDir,
}

impl Lab {
    pub fn new() -> Lab {
        let lab = Lab { dir: tempfile::tempdir().expect("tempdir") };
        std::fs::create_dir_all(lab.run()).expect("run folder");
        lab.key("fleet");
        lab
    }

    pub fn p(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The run folder (`<fetch dir>/<run id>/`).
    pub fn run(&self) -> PathBuf {
        self.p("run")
    }

    /// `NAME.key` (made by `coroner-collect keygen` the first time); `NAME.key.pub` beside it.
    pub fn key(&self, name: &str) -> PathBuf {
        let k = self.p(&format!("{name}.key"));
        if !k.exists() {
            let o = Command::new(live::collector()).arg("keygen").arg("-o").arg(&k).output().expect("keygen");
            assert!(o.status.success(), "keygen: {}", String::from_utf8_lossy(&o.stderr));
        }
        k
    }

    pub fn pubkey(&self, name: &str) -> PathBuf {
        let mut p = self.key(name).into_os_string();
        p.push(".pub");
        PathBuf::from(p)
    }

    /// A host tree: the incident fixture with `/etc/hostname` = `hostname`, and `append` lines added to files.
    pub fn root(&self, dir: &str, hostname: &str, append: &[(&str, &str)]) -> PathBuf {
        let root = self.p(&format!("roots/{dir}"));
        std::fs::create_dir_all(root.parent().expect("parent")).expect("mkdir");
        let st = Command::new("cp").arg("-r").arg(super::common::host_root()).arg(&root).status().expect("cp");
        assert!(st.success());
        std::fs::write(root.join("etc/hostname"), format!("{hostname}\n")).expect("hostname");
        for (rel, text) in append {
            let f = root.join(rel);
            let mut old = std::fs::read(&f).unwrap_or_default();
            old.extend_from_slice(text.as_bytes());
            std::fs::write(&f, old).expect("append");
        }
        root
    }

    /// Collects `root` into `run/<inventory>/` (signed with `key`, else an ephemeral key); the bundle's path.
    pub fn collect(&self, root: &Path, inventory: &str, key: Option<&Path>) -> PathBuf {
        let out = self.run().join(inventory);
        let mut c = Command::new(live::collector());
        c.arg("--root").arg(root).arg("-o").arg(&out).args(["-q", "--no-gentle"]);
        if let Some(k) = key {
            c.arg("--key").arg(k);
        }
        let o = c.output().expect("collect");
        assert!(o.status.code().is_some_and(|c| c <= 1), "collector: {}", String::from_utf8_lossy(&o.stderr));
        let path = String::from_utf8_lossy(&o.stdout).lines().last().expect("bundle path").to_owned();
        PathBuf::from(path)
    }

    /// The controller's attestation: `ssh-keygen -Y sign -f KEY -n coroner-fleet BUNDLE.sha256` → `.sha256.sig`.
    pub fn attest(&self, bundle: &Path, key: &Path) {
        let sum = with_suffix(bundle, ".sha256");
        let _ = std::fs::remove_file(with_suffix(bundle, ".sha256.sig"));
        let o = Command::new("ssh-keygen").args(["-q", "-Y", "sign", "-f"]).arg(key).args(["-n", "coroner-fleet"]).arg(&sum).output();
        match o {
            Ok(o) => assert!(o.status.success(), "ssh-keygen: {}", String::from_utf8_lossy(&o.stderr)),
            Err(e) => panic!("ssh-keygen (openssh-client, which .ci/run installs) is needed: {e}"),
        }
    }

    /// Writes `clock.json` beside `bundle` so that the skew comes out as exactly `offset_us` ± `slack_us`: the
    /// controller's wait is the host's collection moved back by the offset and widened by the slack each side.
    pub fn clock(&self, bundle: &Path, inventory: &str, offset_us: i64, slack_us: i64) {
        let m = manifest(bundle);
        let t = |k: &str| coroner_schemas::Utc::parse_rfc3339(m["collector"][k].as_str().expect("time")).expect("rfc3339").unix_micros();
        let at = |us: i64| coroner_schemas::Utc::from_unix_micros(us).expect("time").rfc3339();
        let clock = serde_json::json!({
            "schema_version": 1,
            "inventory_hostname": inventory,
            "bundle": bundle.file_name().expect("name").to_string_lossy(),
            "controller_before": at(t("started") - offset_us - slack_us),
            "controller_after": at(t("finished") - offset_us + slack_us),
        });
        std::fs::write(bundle.parent().expect("folder").join("clock.json"), clock.to_string()).expect("clock.json");
    }

    /// `coroner-report fleet ARGS…`.
    pub fn fleet<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_coroner-report")).arg("fleet").args(args).output().expect("coroner-report fleet")
    }
}

pub fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// The bundle's manifest.json.
pub fn manifest(bundle: &Path) -> Value {
    let f = std::fs::File::open(bundle).expect("bundle");
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(f));
    for e in tar.entries().expect("entries") {
        let mut e = e.expect("entry");
        if e.path().expect("path").to_str() == Some("manifest.json") {
            let mut s = String::new();
            e.read_to_string(&mut s).expect("read");
            return serde_json::from_str(&s).expect("manifest json");
        }
    }
    panic!("no manifest in {}", bundle.display());
}

/// Rewrites a real bundle with one member's bytes changed (same size) and everything else as it was: a bundle
/// that no longer verifies against its own manifest.
pub fn tamper_member(bundle: &Path, member: &str) {
    let f = std::fs::File::open(bundle).expect("bundle");
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(f));
    let mut members: Vec<(tar::Header, Vec<u8>)> = Vec::new();
    let mut hit = false;
    for e in tar.entries().expect("entries") {
        let mut e = e.expect("entry");
        let mut bytes = Vec::new();
        e.read_to_end(&mut bytes).expect("read");
        if e.path().expect("path").to_str() == Some(member) && !bytes.is_empty() {
            bytes[0] ^= 0x20;
            hit = true;
        }
        members.push((e.header().clone(), bytes));
    }
    assert!(hit, "{member} in the bundle");
    let out = std::fs::File::create(bundle).expect("rewrite");
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(out, flate2::Compression::fast()));
    for (h, bytes) in members {
        b.append(&h, &bytes[..]).expect("append");
    }
    b.into_inner().expect("tar").finish().expect("gzip");
}

/// `sha256sum`'s line for a file, as the collector writes `.sha256`.
pub fn write_sha256(bundle: &Path) {
    use sha2::Digest as _;
    let bytes = std::fs::read(bundle).expect("bundle");
    let line = format!("{}  {}\n", hex::encode(sha2::Sha256::digest(&bytes)), bundle.file_name().expect("name").to_string_lossy());
    std::fs::write(with_suffix(bundle, ".sha256"), line).expect("sha256");
}

/// Every row of a JSONL file.
pub fn jsonl(p: &Path) -> Vec<Value> {
    std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .lines()
        .map(|l| serde_json::from_str(l).expect("row"))
        .collect()
}
