//! Verification of bundles made by the fixture builder: the good one passes, each kind of tampering fails
//! and names what failed, pinned keys differ from the embedded one, and ssh-keygen's own files interoperate.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{fingerprint, key, pub_line, BundleBuilder};
use coroner_report::bundle::Limits;
use coroner_report::pipeline::verify as verify_path;
use coroner_report::verify::{TrustAnchor, VerifyReport};
use coroner_schemas::manifest::{Category, Format};

fn verify(path: &Path, anchor: &TrustAnchor) -> VerifyReport {
    verify_path(path, anchor, &Limits::default())
        .expect("readable bundle")
        .report
}

fn built(dir: &Path, name: &str, b: &BundleBuilder) -> PathBuf {
    let p = dir.join(name);
    b.write(&p);
    p
}

fn good() -> BundleBuilder {
    let mut b = BundleBuilder::default();
    b.file(
        "fs/var/log/syslog",
        "/var/log/syslog",
        Category::Syslog,
        Format::Syslog,
        b"Nov 27 20:21:02 vm kernel: hello\n",
    )
    .file(
        "fs/etc/passwd",
        "/etc/passwd",
        Category::Accounts,
        Format::Passwd,
        b"root:x:0:0:root:/root:/bin/bash\n",
    )
    .file("cmd/empty", "true", Category::Host, Format::Other, b"");
    b
}

fn assert_failure(r: &VerifyReport, needle: &str) {
    assert!(!r.ok, "expected failure, got {r:#?}");
    assert!(
        r.failures.iter().any(|f| f.contains(needle)),
        "no failure mentions {needle:?}: {:#?}",
        r.failures
    );
}

#[test]
fn good_bundle_verifies_with_embedded_key_only() {
    let d = tempfile::tempdir().expect("tmp");
    let b = good();
    let r = verify(&built(d.path(), "good.tar.gz", &b), &TrustAnchor::Embedded);
    assert!(r.ok, "{r:#?}");
    assert!(r.signature_good);
    assert!(!r.key_pinned, "the embedded key proves integrity only");
    assert_eq!(r.entries_checked, 3);
    assert_eq!(r.signer_fingerprint.as_deref(), Some(fingerprint(&b.key).as_str()));
    assert!(r.failures.is_empty());
}

#[test]
fn changed_byte_in_an_entry_fails_naming_it() {
    let d = tempfile::tempdir().expect("tmp");
    let mut b = good();
    b.replace_member("fs/var/log/syslog", b"Nov 27 20:21:02 vm kernel: hellO\n");
    let r = verify(&built(d.path(), "t.tar.gz", &b), &TrustAnchor::Embedded);
    assert!(r.signature_good, "the manifest itself is intact");
    assert_failure(&r, "\"fs/var/log/syslog\": sha256 does not match");
    assert_eq!(r.entries_checked, 2);
}

#[test]
fn changed_size_fails_naming_it() {
    let d = tempfile::tempdir().expect("tmp");
    let mut b = good();
    b.replace_member(
        "fs/etc/passwd",
        b"root:x:0:0:root:/root:/bin/bash\nevil:x:0:0::/:/bin/sh\n",
    );
    let r = verify(&built(d.path(), "t.tar.gz", &b), &TrustAnchor::Embedded);
    assert_failure(&r, "\"fs/etc/passwd\": size");
}

#[test]
fn changed_manifest_byte_breaks_the_signature() {
    let d = tempfile::tempdir().expect("tmp");
    let mut b = good();
    b.tamper_manifest = Some(|m: &mut Vec<u8>| {
        let s = String::from_utf8(m.clone())
            .expect("utf8")
            .replacen("fixture-host", "fixture-hosT", 1);
        *m = s.into_bytes();
    });
    let r = verify(&built(d.path(), "t.tar.gz", &b), &TrustAnchor::Embedded);
    assert!(!r.signature_good);
    assert_failure(&r, "signature over manifest.json does not verify");
}

#[test]
fn unlisted_member_fails() {
    let d = tempfile::tempdir().expect("tmp");
    let mut b = good();
    b.unlisted("fs/etc/shadow", b"root:*:19000:0:99999:7:::\n");
    let r = verify(&built(d.path(), "t.tar.gz", &b), &TrustAnchor::Embedded);
    assert!(r.signature_good);
    assert_failure(&r, "member \"fs/etc/shadow\" is not listed");
}

#[test]
fn member_after_the_signer_key_is_unlisted_too() {
    let d = tempfile::tempdir().expect("tmp");
    let mut b = good();
    b.trailing
        .push(common::RawMember::file("live/late.json", b"{}".to_vec()));
    let r = verify(&built(d.path(), "t.tar.gz", &b), &TrustAnchor::Embedded);
    assert_failure(&r, "\"live/late.json\" is not listed");
}

#[test]
fn missing_member_fails() {
    let d = tempfile::tempdir().expect("tmp");
    let mut b = good();
    b.drop_member("fs/etc/passwd");
    let r = verify(&built(d.path(), "t.tar.gz", &b), &TrustAnchor::Embedded);
    assert_failure(&r, "entry \"fs/etc/passwd\" is listed with data but missing");
}

#[test]
fn duplicate_member_fails() {
    let d = tempfile::tempdir().expect("tmp");
    let mut b = good();
    b.unlisted("fs/etc/passwd", b"second copy\n");
    let r = verify(&built(d.path(), "t.tar.gz", &b), &TrustAnchor::Embedded);
    assert_failure(&r, "\"fs/etc/passwd\" appears more than once");
}

#[test]
fn missing_signature_and_missing_key_fail() {
    let d = tempfile::tempdir().expect("tmp");
    let mut b = good();
    b.signature = Some(None);
    let r = verify(&built(d.path(), "nosig.tar.gz", &b), &TrustAnchor::Embedded);
    assert_failure(&r, "manifest.json.sig is missing");

    let mut b = good();
    b.signer_pub = None;
    let r = verify(&built(d.path(), "nopub.tar.gz", &b), &TrustAnchor::Embedded);
    assert_failure(&r, "signer.pub is missing");
}

#[test]
fn unknown_manifest_field_fails_even_when_signed() {
    let d = tempfile::tempdir().expect("tmp");
    let mut b = good();
    let mut v: serde_json::Value = serde_json::from_slice(&b.manifest_bytes()).expect("json");
    v["surprise"] = serde_json::json!(1);
    b.manifest_override = Some(serde_json::to_vec(&v).expect("json"));
    let r = verify(&built(d.path(), "t.tar.gz", &b), &TrustAnchor::Embedded);
    assert!(r.signature_good);
    assert_failure(&r, "manifest.json does not parse");
}

#[test]
fn pinned_key_verifies_and_a_foreign_key_does_not() {
    let d = tempfile::tempdir().expect("tmp");
    let b = good();
    let bundle = built(d.path(), "good.tar.gz", &b);

    let right = d.path().join("right.pub");
    std::fs::write(&right, format!("{}\n", pub_line(&b.key))).expect("write");
    let r = verify(&bundle, &TrustAnchor::Pubkey(right));
    assert!(r.ok, "{r:#?}");
    assert!(r.key_pinned);

    let wrong = d.path().join("wrong.pub");
    std::fs::write(&wrong, format!("# someone else\n{}\n", pub_line(&key(99)))).expect("write");
    let r = verify(&bundle, &TrustAnchor::Pubkey(wrong));
    assert!(r.key_pinned);
    assert!(!r.signature_good);
    assert_failure(&r, "made by a key that is not pinned");
}

#[test]
fn attacker_resigned_bundle_passes_embedded_but_fails_pinned() {
    // Someone who rewrites the bundle can re-sign it with their own key and embed that key: integrity
    // checks pass, which is exactly why the output must say the key was not pinned.
    let d = tempfile::tempdir().expect("tmp");
    let genuine = key(7);
    let forged = good().with_key(key(66));
    let bundle = built(d.path(), "forged.tar.gz", &forged);
    let r = verify(&bundle, &TrustAnchor::Embedded);
    assert!(r.ok && !r.key_pinned);
    let pinned = d.path().join("genuine.pub");
    std::fs::write(&pinned, pub_line(&genuine)).expect("write");
    let r = verify(&bundle, &TrustAnchor::Pubkey(pinned));
    assert!(!r.ok);
}

#[test]
fn allowed_signers_lines_as_ssh_keygen_reads_them() {
    let d = tempfile::tempdir().expect("tmp");
    let b = good();
    let bundle = built(d.path(), "good.tar.gz", &b);
    let line = pub_line(&b.key);
    let cases = [
        (format!("coroner-collect {line}\n"), true),
        (format!("# comment\n\n* {line}\n"), true),
        (
            format!("alice@example.com,coroner-collect namespaces=\"git,coroner\" {line}\n"),
            true,
        ),
        (format!("coroner-collect namespaces=\"git\" {line}\n"), false),
        (format!("alice@example.com {line}\n"), false),
        (format!("coroner-collect cert-authority {line}\n"), false),
        // Validity windows, checked now (2026 or later) as ssh-keygen checks them.
        (format!("coroner-collect valid-after=\"20000101\" {line}\n"), true),
        (format!("coroner-collect valid-before=\"20000101\" {line}\n"), false),
        (format!("coroner-collect valid-after=\"299912312359Z\" {line}\n"), false),
        (format!("coroner-collect valid-after=\"20000101\",valid-before=\"29990101000000Z\" {line}\n"), true),
        (format!("coroner-collect valid-before=\"next year\" {line}\n"), false),
    ];
    for (i, (text, ok)) in cases.iter().enumerate() {
        let f = d.path().join(format!("allowed{i}"));
        std::fs::write(&f, text).expect("write");
        match verify_path(&bundle, &TrustAnchor::AllowedSigners(f), &Limits::default()) {
            Ok(v) => assert_eq!(v.report.ok, *ok, "case {i}: {text:?}: {:#?}", v.report),
            // A file with no usable line for coroner-collect is an unusable key file (exit 2).
            Err(e) => assert!(!ok, "case {i}: {text:?}: {e}"),
        }
    }
    // Checked at a given time instead of now (ssh-keygen's -Overify-time).
    let f = d.path().join("window");
    std::fs::write(&f, format!("coroner-collect valid-after=\"20200101\",valid-before=\"20210101Z\" {line}\n")).expect("write");
    let at = |s: &str| coroner_schemas::Utc::parse_rfc3339(s).expect("time");
    let inside = verify_path(&bundle, &TrustAnchor::AllowedSignersAt(f.clone(), at("2020-06-01T00:00:00Z")), &Limits::default());
    assert!(inside.is_ok_and(|v| v.report.ok));
    for outside in ["2019-12-31T23:59:59Z", "2021-01-01T00:00:01Z"] {
        match verify_path(&bundle, &TrustAnchor::AllowedSignersAt(f.clone(), at(outside)), &Limits::default()) {
            Ok(v) => panic!("{outside}: accepted: {:#?}", v.report),
            Err(e) => assert!(e.to_string().contains("not valid"), "{outside}: {e}"),
        }
    }
}

fn have(tool: &str) -> bool {
    Command::new(tool).arg("-?").output().is_ok()
}

#[test]
fn ssh_keygen_signature_verifies_and_ours_verifies_in_ssh_keygen() {
    if !have("ssh-keygen") {
        eprintln!("skipped: ssh-keygen not installed");
        return;
    }
    let d = tempfile::tempdir().expect("tmp");
    let keyfile = d.path().join("id");
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "interop", "-f"])
        .arg(&keyfile)
        .status()
        .expect("ssh-keygen");
    assert!(st.success());
    let pubtext = std::fs::read_to_string(d.path().join("id.pub")).expect("pub");
    let pubkey = ssh_key::PublicKey::from_openssh(pubtext.trim()).expect("pub parses");

    let mut b = good();
    b.manifest.collector.signer_fingerprint = pubkey.fingerprint(ssh_key::HashAlg::Sha256).to_string();
    let manifest = d.path().join("manifest.json");
    std::fs::write(&manifest, b.manifest_bytes()).expect("write");
    let st = Command::new("ssh-keygen")
        .args(["-Y", "sign", "-n", "coroner", "-f"])
        .arg(&keyfile)
        .arg(&manifest)
        .output()
        .expect("sign");
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    b.signature = Some(Some(std::fs::read(d.path().join("manifest.json.sig")).expect("sig")));
    b.signer_pub = Some(pubtext.trim().to_owned());
    let bundle = built(d.path(), "interop.tar.gz", &b);

    let allowed = d.path().join("allowed_signers");
    std::fs::write(&allowed, format!("coroner-collect {}", pubtext)).expect("write");
    let r = verify(&bundle, &TrustAnchor::AllowedSigners(allowed.clone()));
    assert!(r.ok, "{r:#?}");
    assert!(r.key_pinned);

    // And the other way: a signature our builder makes (same code path as ssh-key's verifier) passes
    // stock `ssh-keygen -Y verify`.
    let ours = good();
    let msg = ours.manifest_bytes();
    std::fs::write(&manifest, &msg).expect("write");
    std::fs::write(d.path().join("ours.sig"), common::sign(&ours.key, &msg)).expect("write");
    std::fs::write(&allowed, format!("coroner-collect {}\n", pub_line(&ours.key))).expect("write");
    let out = Command::new("ssh-keygen")
        .args(["-Y", "verify", "-I", "coroner-collect", "-n", "coroner", "-f"])
        .arg(&allowed)
        .arg("-s")
        .arg(d.path().join("ours.sig"))
        .stdin(std::fs::File::open(&manifest).expect("open"))
        .output()
        .expect("verify");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // Validity windows: ssh-keygen and ours agree, at the current time and at a given one.
    let ours_bundle = built(d.path(), "ours.tar.gz", &ours);
    let at_2019 = coroner_schemas::Utc::parse_rfc3339("2019-06-01T00:00:00Z").expect("time");
    for (options, verify_time) in [
        ("valid-after=\"20000101\"", None),
        ("valid-before=\"20000101\"", None),
        ("valid-after=\"20200101Z\"", Some(("20190601Z", at_2019))),
        ("valid-before=\"20200101Z\"", Some(("20190601Z", at_2019))),
    ] {
        std::fs::write(&allowed, format!("coroner-collect {options} {}\n", pub_line(&ours.key))).expect("write");
        let mut cmd = Command::new("ssh-keygen");
        cmd.args(["-Y", "verify", "-I", "coroner-collect", "-n", "coroner", "-f"]).arg(&allowed);
        if let Some((t, _)) = verify_time {
            cmd.arg(format!("-Overify-time={t}"));
        }
        let theirs = cmd
            .arg("-s")
            .arg(d.path().join("ours.sig"))
            .stdin(std::fs::File::open(&manifest).expect("open"))
            .output()
            .expect("verify")
            .status
            .success();
        let anchor = match verify_time {
            Some((_, at)) => TrustAnchor::AllowedSignersAt(allowed.clone(), at),
            None => TrustAnchor::AllowedSigners(allowed.clone()),
        };
        let mine = verify_path(&ours_bundle, &anchor, &Limits::default()).is_ok_and(|v| v.report.ok);
        assert_eq!(mine, theirs, "{options} at {verify_time:?}");
    }
}

#[test]
fn unsafe_names_links_and_devices_are_flagged_and_nothing_is_written() {
    let d = tempfile::tempdir().expect("tmp");
    let work = tempfile::tempdir().expect("tmp");
    let mut b = good();
    b.unlisted("../coroner-escape-7f3a", b"escaped\n")
        .unlisted("/etc/passwd-coroner-test", b"absolute\n")
        .unlisted("fs/../../y", b"escaped\n")
        .special("fs/link", tar::EntryType::Symlink, Some("/etc/shadow"))
        .special("fs/hard", tar::EntryType::Link, Some("fs/etc/passwd"))
        .special("fs/dev", tar::EntryType::Char, None)
        .special("fs/fifo", tar::EntryType::Fifo, None);
    let bundle = built(d.path(), "hostile.tar.gz", &b);
    let before: Vec<_> = std::fs::read_dir(work.path()).expect("dir").collect();
    let r = verify(&bundle, &TrustAnchor::Embedded);
    for needle in [
        "\"../coroner-escape-7f3a\": unsafe name",
        "\"/etc/passwd-coroner-test\": unsafe name (absolute",
        "\"fs/../../y\": unsafe name",
        "\"fs/link\" is a Symlink member",
        "\"fs/hard\" is a HardLink member",
        "\"fs/dev\" is a CharDevice member",
        "\"fs/fifo\" is a Fifo member",
    ] {
        assert_failure(&r, needle);
    }
    assert!(!Path::new("/etc/passwd-coroner-test").exists());
    let parent = d.path().parent().expect("tmp has a parent");
    assert!(!parent.join("coroner-escape-7f3a").exists());
    assert_eq!(std::fs::read_dir(work.path()).expect("dir").count(), before.len());
    assert_eq!(
        std::fs::read_dir(d.path()).expect("dir").count(),
        1,
        "only the bundle itself"
    );
}

#[test]
fn not_a_bundle_is_a_failure_and_a_missing_file_an_error() {
    let d = tempfile::tempdir().expect("tmp");
    let junk = d.path().join("junk.tar.gz");
    std::fs::write(&junk, b"this is not gzip").expect("write");
    let r = verify(&junk, &TrustAnchor::Embedded);
    assert_failure(&r, "corrupt bundle stream");
    assert!(verify_path(
        &d.path().join("absent.tar.gz"),
        &TrustAnchor::Embedded,
        &Limits::default()
    )
    .is_err());
}

#[test]
fn truncated_bundle_fails() {
    let d = tempfile::tempdir().expect("tmp");
    let p = built(d.path(), "good.tar.gz", &good());
    let bytes = std::fs::read(&p).expect("read");
    let cut = d.path().join("cut.tar.gz");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write");
    let r = verify(&cut, &TrustAnchor::Embedded);
    assert!(!r.ok);
    assert_eq!(r.failures.len(), 1, "{:?}", r.failures);
    assert_failure(&r, "corrupt bundle stream");
}

#[test]
fn data_smuggled_after_the_end_of_the_tar_fails() {
    use std::io::{Read, Write};
    let d = tempfile::tempdir().expect("tmp");
    let p = built(d.path(), "good.tar.gz", &good());
    let mut tar = Vec::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(&p).expect("open"))
        .read_to_end(&mut tar)
        .expect("inflate");
    tar.extend_from_slice(b"hidden payload after the end-of-archive blocks");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&tar).expect("write");
    let smuggled = d.path().join("smuggled.tar.gz");
    std::fs::write(&smuggled, enc.finish().expect("gz")).expect("write");
    let r = verify(&smuggled, &TrustAnchor::Embedded);
    assert_failure(&r, "non-zero data after the end of the tar archive");
}
