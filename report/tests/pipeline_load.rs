//! `pipeline::load` on the committed fixture bundle: verification first, accounts from the bundle's own
//! passwd, a sorted timeline, one coverage row per category; and the fixture itself stays reproducible.

mod common;

use std::path::PathBuf;

use coroner_report::pipeline::{self, LoadOptions};
use coroner_report::verify::TrustAnchor;
use coroner_schemas::manifest::Category;

fn fixture_path() -> PathBuf {
    common::repo_root().join("fixtures/bundles/small.tar.gz")
}

/// `fixtures/bundles/small.tar.gz` is exactly what `common::small_bundle()` writes (run with
/// `UPDATE_FIXTURES=1` to rewrite it after changing the builder or the host fixture files).
#[test]
fn committed_small_bundle_is_reproducible() {
    let d = tempfile::tempdir().expect("tmp");
    let fresh = d.path().join("small.tar.gz");
    common::small_bundle().write(&fresh);
    let new = std::fs::read(&fresh).expect("read");
    if std::env::var_os("UPDATE_FIXTURES").is_some() {
        std::fs::write(fixture_path(), &new).expect("update fixture");
        let allowed = format!("coroner-collect {}\n", common::pub_line(&common::key(7)));
        std::fs::write(
            common::repo_root().join("fixtures/bundles/small.allowed_signers"),
            allowed,
        )
        .expect("write");
    }
    let old = std::fs::read(fixture_path()).expect("fixture present (UPDATE_FIXTURES=1 makes it)");
    assert!(
        old == new,
        "fixtures/bundles/small.tar.gz is stale: rerun with UPDATE_FIXTURES=1"
    );
}

#[test]
fn loads_the_fixture_bundle_verified_against_its_pinned_key() {
    let anchor = TrustAnchor::AllowedSigners(common::repo_root().join("fixtures/bundles/small.allowed_signers"));
    let opts = LoadOptions {
        anchor,
        ..LoadOptions::default()
    };
    let l = pipeline::load(&fixture_path(), &opts).expect("loads");
    assert!(l.verification.ok && l.verification.key_pinned && !l.verification.skipped);
    assert_eq!(l.manifest.host.hostname, "vm");
    assert_eq!(l.accounts.user_name(0), Some("root"));
    assert!(l
        .events
        .windows(2)
        .all(|w| w[0].cmp_timeline(&w[1]) != std::cmp::Ordering::Greater));
    assert!(l.problems.windows(2).all(|w| w[0] <= w[1]));
    let cats: Vec<Category> = l.coverage.iter().map(|r| r.category).collect();
    assert_eq!(
        cats,
        vec![
            Category::Kernel,
            Category::Journal,
            Category::Audit,
            Category::Logins,
            Category::History,
            Category::Accounts
        ]
    );
    let journal = l
        .coverage
        .iter()
        .find(|r| r.category == Category::Journal)
        .expect("row");
    assert_eq!((journal.present, journal.missing, journal.events), (0, 1, 0));
    let accounts = l
        .coverage
        .iter()
        .find(|r| r.category == Category::Accounts)
        .expect("row");
    assert_eq!((accounts.present, accounts.missing), (2, 0));
    let total: u64 = l.coverage.iter().map(|r| r.events).sum();
    assert_eq!(
        total,
        l.events.len() as u64,
        "every event counted in exactly one category"
    );
}

#[test]
fn a_foreign_pinned_key_refuses_to_load() {
    let d = tempfile::tempdir().expect("tmp");
    let k = d.path().join("other.pub");
    std::fs::write(&k, common::pub_line(&common::key(1))).expect("write");
    let opts = LoadOptions {
        anchor: TrustAnchor::Pubkey(k),
        ..LoadOptions::default()
    };
    let e = pipeline::load(&fixture_path(), &opts).err().expect("refused");
    assert!(e.downcast_ref::<pipeline::VerificationFailed>().is_some(), "{e:#}");
}

#[test]
fn no_verify_load_marks_the_report_skipped() {
    let opts = LoadOptions {
        verify: false,
        ..LoadOptions::default()
    };
    let l = pipeline::load(&fixture_path(), &opts).expect("loads");
    assert!(l.verification.skipped && !l.verification.ok);
    assert!(!l.clean());
}

/// `pipeline::has_parser` skips reading entries whose format `sources::parse_entry` ignores; if a parser is
/// added for one of those formats, this fails so the skip list is updated (else its bytes would never be read).
#[test]
fn formats_skipped_by_the_pipeline_really_have_no_parser() {
    use coroner_report::sources::{parse_entry, SourceCtx};
    use coroner_schemas::accounts::Accounts;
    use coroner_schemas::manifest::{Entry, Format};
    let manifest = common::base_manifest("vm");
    let accounts = Accounts::default();
    let samples: [&[u8]; 3] = [
        b"Nov 27 20:21:02 vm kernel: [ 1057.184566] segv[13188]: segfault at 1234 ip 0 sp 0 error 6\n",
        b"#1795810000\nkill -9 4242\n* * * * * root /bin/true\n",
        b"{\"a\":1}\n",
    ];
    let skipped = [
        Format::ShellRc,
        Format::CronScript,
        Format::AtJob,
        Format::SystemdUnit,
        Format::CrashReport,
        Format::ProcText,
        Format::Passwd,
        Format::Group,
        Format::Other,
    ];
    for f in skipped {
        assert!(!pipeline::has_parser(f), "{f:?}");
        let entry = Entry { account: Some("root".to_owned()), ..Entry::new("fs/x", "/x", Category::Include, f) };
        let ctx = SourceCtx::new(&entry, &manifest, &accounts);
        for s in samples {
            let p = parse_entry(s, &ctx);
            assert!(
                p.events.is_empty() && p.problems.is_empty(),
                "{f:?} now has a parser: update has_parser"
            );
        }
    }
    assert!(pipeline::has_parser(Format::AuditLog) && pipeline::has_parser(Format::Utmp));
    // A core kept as metadata only is `Other` too, and is read: by its bundle path and category.
    let meta = |path: &str, category: Category| Entry {
        size: 2,
        sha256: Some("x".to_owned()),
        ..Entry::new(path, "/var/crash/core.1", category, Format::Other)
    };
    assert!(pipeline::parses(&meta("live/cores/var/crash/core.1.meta.json", Category::Cores)));
    assert!(!pipeline::parses(&meta("live/cores/var/crash/core.1.meta.json", Category::Include)));
    assert!(!pipeline::parses(&meta("fs/var/crash/core.1.meta.json", Category::Cores)));
    assert!(!pipeline::parses(&meta("live/cores/var/crash/core.1", Category::Cores)));
}

/// One inflation (members kept from the verifying pass, parsed on several threads) must load exactly what two
/// passes (nothing kept) and a budget that keeps only some members load.
#[test]
fn kept_members_load_the_same_as_a_second_pass() {
    let load = |max_kept: u64| {
        let opts = LoadOptions {
            limits: coroner_report::bundle::Limits { max_kept, ..Default::default() },
            ..LoadOptions::default()
        };
        pipeline::load(&fixture_path(), &opts).expect("loads")
    };
    let all = coroner_report::bundle::scan(&fixture_path(), &Default::default()).expect("scan");
    // Half of what the members hold: some are kept, the others read again.
    let half = all.members.iter().map(|m| m.size).sum::<u64>() / 2;
    let one = load(coroner_report::bundle::DEFAULT_MAX_KEPT);
    let two = load(0);
    let some = load(half);
    assert!(one.events.len() > 10, "{}", one.events.len());
    for other in [&two, &some] {
        assert_eq!(one.events.len(), other.events.len());
        assert!(one.events == other.events);
        assert_eq!(one.problems, other.problems);
    }
    let keep = coroner_report::bundle::Keep { budget: half, ..Default::default() };
    let kept = coroner_report::bundle::scan_keeping(&fixture_path(), &Default::default(), &keep).expect("scan");
    assert!(!kept.kept.is_empty() && kept.kept.values().map(|b| b.len() as u64).sum::<u64>() <= half);
    assert!(kept.kept.len() < kept.members.len(), "a small budget keeps only some members");
}

/// The bundle reader keeps what its caller names whatever the budget, and nothing else past it.
#[test]
fn named_members_are_kept_whatever_the_budget() {
    let named = ["fs/etc/group", "fs/etc/passwd"];
    let keep = coroner_report::bundle::Keep { budget: 0, always: named.iter().map(|s| s.to_string()).collect() };
    let scan = coroner_report::bundle::scan_keeping(&fixture_path(), &Default::default(), &keep).expect("scan");
    assert_eq!(scan.kept.keys().map(String::as_str).collect::<Vec<_>>(), named);
    for (name, bytes) in &scan.kept {
        assert_eq!(bytes.len() as u64, scan.member(name).expect("a member").size, "{name} whole");
    }
    let tight = coroner_report::bundle::Limits { max_small: 10, ..Default::default() };
    let scan = coroner_report::bundle::scan_keeping(&fixture_path(), &tight, &keep).expect("scan");
    assert!(scan.kept.is_empty(), "members over the small cap are not kept: {:?}", scan.kept.keys());
}

/// An account file that neither the memory budget nor the small-member cap let pass 1 keep is not read, and
/// the load says so rather than resolving nothing in silence.
#[test]
fn an_account_file_over_the_cap_is_a_recorded_problem() {
    let opts = LoadOptions {
        verify: false,
        limits: coroner_report::bundle::Limits { max_small: 10, max_kept: 0, ..Default::default() },
        ..LoadOptions::default()
    };
    let loaded = pipeline::load(&fixture_path(), &opts).expect("loads");
    let over: Vec<(&str, &str)> = loaded
        .problems
        .iter()
        .filter(|p| p.message.contains("cap on account files"))
        .map(|p| (p.entry.as_str(), p.message.as_str()))
        .collect();
    let want = "not read: past the memory budget (--max-kept) and the 10-byte cap on account files; no name is resolved from it";
    assert_eq!(over, [("fs/etc/group", want), ("fs/etc/passwd", want)]);
    assert!(loaded.accounts.user_name(0).is_none());
}
