//! The `coroner-report` binary: exit codes, what `verify` says about the key, what `render` writes and
//! refuses, determinism, and hostile bundles that must not crash it.

mod common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use common::{pub_line, BundleBuilder};
use coroner_schemas::manifest::{Category, Format};

fn bin() -> Command {
    Command::cargo_bin("coroner-report").expect("binary")
}

fn small(dir: &Path) -> PathBuf {
    let p = dir.join("small.tar.gz");
    common::small_bundle().write(&p);
    p
}

fn tampered(dir: &Path) -> PathBuf {
    let mut b = common::small_bundle();
    b.replace_member(
        "fs/var/log/kern.log",
        b"Nov 27 20:21:02 vm kernel: nothing to see here\n",
    );
    let p = dir.join("tampered.tar.gz");
    b.write(&p);
    p
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn verify_says_which_key_and_that_it_was_not_pinned() {
    let d = tempfile::tempdir().expect("tmp");
    let p = small(d.path());
    let out = bin().arg("verify").arg(&p).output().expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(s.contains("OK: bundle verified"), "{s}");
    assert!(s.contains(&common::fingerprint(&common::key(7))), "{s}");
    assert!(s.contains("NOT origin"), "{s}");

    let pinned = d.path().join("allowed_signers");
    std::fs::write(&pinned, format!("coroner-collect {}\n", pub_line(&common::key(7)))).expect("write");
    let out = bin()
        .arg("verify")
        .arg(&p)
        .arg("--allowed-signers")
        .arg(&pinned)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("pinned by the analyst"));
}

#[test]
fn verify_json_and_exit_codes() {
    let d = tempfile::tempdir().expect("tmp");
    let out = bin()
        .arg("verify")
        .arg("--json")
        .arg(small(d.path()))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["ok"], true);
    assert_eq!(v["key_pinned"], false);
    assert_eq!(v["skipped"], false);
    assert!(v["entries_checked"].as_u64().expect("count") >= 6);

    let out = bin()
        .arg("verify")
        .arg("--json")
        .arg(tampered(d.path()))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["ok"], false);
    assert!(v["failures"].to_string().contains("fs/var/log/kern.log"), "{v}");

    let out = bin()
        .arg("verify")
        .arg(d.path().join("absent.tar.gz"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("absent.tar.gz"));

    let out = bin()
        .args(["verify", "x.tar.gz", "--pubkey", "a", "--allowed-signers", "b"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "the two key options exclude each other");
    for args in [
        &["verify", "x.tar.gz", "--verify-time", "20260101Z"][..],
        &["verify", "x.tar.gz", "--allowed-signers", "b", "--verify-time", "tomorrow"][..],
    ] {
        let out = bin().args(args).output().expect("run");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains("--verify-time"), "{args:?}: {}", text(&out.stderr));
    }
}

fn outputs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    [
        "report.html",
        "report.md",
        "timeline.jsonl",
        "timeline.csv",
        "findings.json",
    ]
    .iter()
    .map(|n| {
        (
            (*n).to_owned(),
            std::fs::read(dir.join(n)).unwrap_or_else(|e| panic!("{n}: {e}")),
        )
    })
    .collect()
}

#[test]
fn render_writes_every_output_and_is_deterministic() {
    let d = tempfile::tempdir().expect("tmp");
    let p = small(d.path());
    let (o1, o2) = (d.path().join("o1"), d.path().join("o2"));
    for o in [&o1, &o2] {
        let out = bin().arg("render").arg(&p).arg("-o").arg(o).output().expect("run");
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{:?} {}",
            out.status,
            text(&out.stderr)
        );
    }
    let (a, b) = (outputs(&o1), outputs(&o2));
    for ((name, x), (_, y)) in a.iter().zip(b.iter()) {
        assert!(x == y, "{name} differs between two renders");
    }
    let findings = text(&a[4].1);
    assert!(findings.ends_with("}\n"));
    let doc: serde_json::Value = serde_json::from_str(&findings).expect("findings json");
    assert_eq!(doc["verified"], true);
    assert_eq!(doc["hostname"], "vm");
    for line in text(&a[2].1).lines() {
        let row: serde_json::Value = serde_json::from_str(line).expect("jsonl row");
        assert_eq!(row["verified"], true);
    }
    let abs = d.path().to_string_lossy().into_owned();
    for (name, bytes) in &a {
        assert!(!text(bytes).contains(&abs), "{name} mentions the analyst's path {abs}");
    }
}

#[test]
fn render_refuses_a_failing_bundle_unless_no_verify() {
    let d = tempfile::tempdir().expect("tmp");
    let p = tampered(d.path());
    let o = d.path().join("out");
    let out = bin().arg("render").arg(&p).arg("-o").arg(&o).output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("does not verify") && err.contains("fs/var/log/kern.log"),
        "{err}"
    );
    assert!(!o.exists(), "nothing is rendered from a failing bundle");

    let out = bin()
        .arg("render")
        .arg(&p)
        .arg("-o")
        .arg(&o)
        .arg("--no-verify")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1), "unverified is never a clean exit");
    assert!(text(&out.stderr).contains("UNVERIFIED"));
    let files = outputs(&o);
    for line in text(&files[2].1).lines() {
        let row: serde_json::Value = serde_json::from_str(line).expect("row");
        assert_eq!(row["verified"], false);
        assert!(row["tag"].as_array().expect("tags").iter().any(|t| t == "unverified"));
    }
    let csv = text(&files[3].1);
    for line in csv.lines().skip(1).filter(|l| l.contains("coroner:")) {
        assert!(line.contains("unverified"), "{line}");
    }
    let doc: serde_json::Value = serde_json::from_slice(&files[4].1).expect("findings");
    assert_eq!(doc["verified"], false);
}

#[test]
fn why_answers_and_rejects_bad_queries() {
    let d = tempfile::tempdir().expect("tmp");
    let p = small(d.path());
    let out = bin().arg("why").arg(&p).args(["--pid", "13188"]).output().expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(said.starts_with("F2  pid 13188 (segv)\n"), "{said}");
    assert!(said.contains("cause:    crash, SIGSEGV (11) [certain]"), "{said}");
    let out = bin().arg("why").arg(&p).output().expect("run");
    assert_eq!(out.status.code(), Some(2), "a query needs --pid, --comm or --unit");
    let out = bin()
        .arg("why")
        .arg(&p)
        .args(["--comm", "x", "--at", "yesterday"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let out = bin()
        .arg("why")
        .arg(tampered(d.path()))
        .args(["--pid", "1"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
}

/// Regression: a failed verify still printed "pinned … origin and integrity" (with a pinned key that did not
/// sign, or entries that did not match), and "proves integrity" with the embedded key on a tampered bundle.
/// Each outcome now says only what held.
#[test]
fn failed_verify_claims_only_what_held() {
    let d = tempfile::tempdir().expect("tmp");
    let (good, bad) = (small(d.path()), tampered(d.path()));
    let signers = |name: &str, seed: u8| {
        let p = d.path().join(name);
        std::fs::write(&p, format!("coroner-collect {}\n", pub_line(&common::key(seed)))).expect("write");
        p
    };
    let (ours, other) = (signers("ours", 7), signers("other", 8));
    let run = |bundle: &Path, pinned: Option<&Path>| {
        let mut c = bin();
        c.arg("verify").arg(bundle);
        if let Some(p) = pinned {
            c.arg("--allowed-signers").arg(p);
        }
        let out = c.output().expect("run");
        (out.status.code(), text(&out.stdout))
    };
    let (code, s) = run(&good, Some(&ours));
    assert_eq!(code, Some(0), "{s}");
    assert!(s.contains("origin and integrity hold"), "{s}");
    let (code, s) = run(&good, Some(&other));
    assert_eq!(code, Some(1), "{s}");
    assert!(s.contains("did NOT sign") && !s.contains("origin and integrity hold"), "{s}");
    let (code, s) = run(&bad, Some(&ours));
    assert_eq!(code, Some(1), "{s}");
    assert!(s.contains("integrity does NOT hold") && !s.contains("origin and integrity hold"), "{s}");
    let (code, s) = run(&bad, None);
    assert_eq!(code, Some(1), "{s}");
    assert!(s.contains("integrity does NOT hold") && !s.contains("proves integrity"), "{s}");
}

/// Regression: `--verify-time 2026-11-27T20:03:37` (no zone) was refused, though the README says such a time
/// is read as UTC; `why --at` likewise. The validity window below ends at 21:00 UTC, so 20:03:37 read as UTC
/// passes and 21:30:00 leaves no usable key (a fatal error that names the time it checked, in UTC).
#[test]
fn times_without_a_zone_are_read_as_utc() {
    let d = tempfile::tempdir().expect("tmp");
    let p = small(d.path());
    let signers = d.path().join("allowed_signers");
    let line = format!("coroner-collect valid-before=\"20261127210000Z\" {}\n", pub_line(&common::key(7)));
    std::fs::write(&signers, line).expect("write");
    for (at, want) in [("2026-11-27T20:03:37", 0), ("2026-11-27 20:03:37", 0), ("2026-11-27T21:30:00", 2)] {
        let out = bin().arg("verify").arg(&p).arg("--allowed-signers").arg(&signers).args(["--verify-time", at]).output().expect("run");
        assert_eq!(out.status.code(), Some(want), "{at}: {}{}", text(&out.stdout), text(&out.stderr));
        if want == 2 {
            assert!(text(&out.stderr).contains("checked at 2026-11-27T21:30:00.000000Z"), "{}", text(&out.stderr));
        }
    }
    let out = bin().arg("why").arg(&p).args(["--pid", "13188", "--at", "2026-11-27T20:03:37"]).output().expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// Garbage of every kind, in an entry of every parsed format.
fn hostile_bundle(dir: &Path) -> PathBuf {
    let mut payload: Vec<u8> = Vec::new();
    payload.extend_from_slice(b"\x00\xff\xfe garbage ) ( \") \" comm=\"a) b\" \n");
    payload.extend_from_slice(&[b'A'; 1 << 20]);
    payload.extend_from_slice(b"\n: 99999999999999999999:0;x\n#-1\nkill -9 -1\n[ 99999999999.999999] oom-kill:\n");
    payload.extend_from_slice(b"type=SYSCALL msg=audit(9999999999999.999:1): syscall=62 a0=ffffffff a1=\n");
    payload.extend_from_slice(b"{\"__REALTIME_TIMESTAMP\":\"-5\",\"MESSAGE\":[1,2,300]}\n{broken json\n");
    payload.extend_from_slice(&[0u8; 385]);
    let formats = [
        Format::Kmsg,
        Format::DmesgText,
        Format::Pstore,
        Format::Syslog,
        Format::JournalJson,
        Format::AuditLog,
        Format::AuditRules,
        Format::AuditStatus,
        Format::Utmp,
        Format::Lastlog,
        Format::LastlogJson,
        Format::BashHistory,
        Format::ZshHistory,
        Format::FishHistory,
        Format::ShHistory,
        Format::TcshHistory,
        Format::OtherHistory,
        Format::SystemCrontab,
        Format::UserCrontab,
        Format::Anacrontab,
        Format::SystemdTimers,
        Format::SystemdShowJson,
        Format::CoreElf,
        Format::ProcLimits,
        Format::LimitsConf,
        Format::ProcSnapshotJson,
        Format::SysctlJson,
        Format::CgroupsJson,
    ];
    let mut b = BundleBuilder::new("<script>alert(1)</script>|`$(id)`");
    b.file(
        "fs/etc/passwd",
        "/etc/passwd",
        Category::Accounts,
        Format::Passwd,
        b"<b>root</b>:x:0:0::/:/bin/sh\n\xff:x:1:1\n",
    );
    for (i, f) in formats.iter().enumerate() {
        let name = format!(
            "fs/hostile/{i:02}-{}",
            serde_json::to_string(f).expect("name").trim_matches('"')
        );
        b.file(&name, &name[2..], Category::Include, *f, &payload);
        let empty = format!("{name}.empty");
        b.file(&empty, &empty[2..], Category::Include, *f, b"");
    }
    let p = dir.join("hostile.tar.gz");
    b.write(&p);
    p
}

#[test]
fn render_on_hostile_content_does_not_crash() {
    let d = tempfile::tempdir().expect("tmp");
    let p = hostile_bundle(d.path());
    let o = d.path().join("out");
    let out = bin().arg("render").arg(&p).arg("-o").arg(&o).output().expect("run");
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{:?}\n{}",
        out.status,
        text(&out.stderr)
    );
    let files = outputs(&o);
    let rows = common::parse_csv(&text(&files[3].1)).expect("csv still valid");
    assert!(rows.iter().all(|r| r.len() == rows[0].len()));
    for line in text(&files[2].1).lines() {
        let row: serde_json::Value = serde_json::from_str(line).expect("jsonl row");
        assert!(common::is_timesketch_datetime(
            row["datetime"].as_str().expect("datetime")
        ));
    }
}
