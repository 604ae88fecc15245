//! Gzip bombs are refused by the caps, reading a bounded number of bytes (no timing assertions: the bound
//! is checked through the bytes the reader reports, and the test itself writes only ~10 MB).

mod common;

use coroner_report::bundle::{self, BundleError, Limits};
use coroner_report::pipeline::{self, LoadOptions};
use coroner_report::pipeline::verify as verify_path;
use coroner_report::verify::TrustAnchor;

#[test]
fn ten_gib_member_is_refused_by_the_entry_cap_before_reading() {
    let d = tempfile::tempdir().expect("tmp");
    let p = d.path().join("bomb.tar.gz");
    common::write_gzip_bomb(&p, "fs/var/log/syslog", 10 << 10).expect("bomb");
    assert!(
        std::fs::metadata(&p).expect("stat").len() < 64 << 20,
        "the bomb file stays small"
    );
    let err = bundle::scan(&p, &Limits::default()).expect_err("refused");
    let msg = err.to_string();
    assert!(matches!(err, BundleError::Cap(_)), "{msg}");
    assert!(
        msg.contains("--max-entry cap") && msg.contains(&(2u64 << 30).to_string()),
        "{msg}"
    );

    // verify reports it as a failure naming the cap; render refuses it even with --no-verify.
    let r = verify_path(&p, &TrustAnchor::Embedded, &Limits::default())
        .expect("readable")
        .report;
    assert!(
        !r.ok && r.failures.iter().any(|f| f.contains("--max-entry cap")),
        "{r:#?}"
    );
    let opts = LoadOptions {
        verify: false,
        ..LoadOptions::default()
    };
    let e = pipeline::load(&p, &opts).err().expect("refused");
    assert!(format!("{e:#}").contains("--max-entry cap"), "{e:#}");
}

#[test]
fn total_cap_stops_the_stream_after_a_bounded_number_of_bytes() {
    let d = tempfile::tempdir().expect("tmp");
    let p = d.path().join("bomb.tar.gz");
    common::write_gzip_bomb(&p, "fs/var/log/syslog", 256).expect("bomb");
    let limits = Limits {
        max_entry: 1 << 40,
        max_total: 8 << 20,
        ..Limits::default()
    };
    let err = bundle::scan(&p, &limits).expect_err("refused");
    let msg = err.to_string();
    assert!(
        msg.contains("--max-total cap") && msg.contains(&(8u64 << 20).to_string()),
        "{msg}"
    );
}

#[test]
fn many_small_members_add_up_to_the_total_cap() {
    let d = tempfile::tempdir().expect("tmp");
    let p = d.path().join("many.tar.gz");
    let members: Vec<common::RawMember> = (0..40)
        .map(|i| common::RawMember {
            name: format!("fs/z{i}").into_bytes(),
            kind: tar::EntryType::Regular,
            body: common::Body::Zeros(1 << 20),
            link: None,
        })
        .collect();
    common::write_tar_gz(&p, &members).expect("write");
    let limits = Limits {
        max_entry: 2 << 20,
        max_total: 16 << 20,
        ..Limits::default()
    };
    let msg = bundle::scan(&p, &limits).expect_err("refused").to_string();
    assert!(msg.contains("--max-total cap"), "{msg}");
    // Under a larger cap the same bundle reads, and the count covers every member.
    let ok = bundle::scan(
        &p,
        &Limits {
            max_entry: 2 << 20,
            max_total: 64 << 20,
            ..Limits::default()
        },
    )
    .expect("ok");
    assert!(ok.total_bytes >= 40 << 20);
    assert_eq!(ok.members.len(), 40);
}

#[test]
fn gzip_entry_inside_a_bundle_inflates_under_the_cap_with_a_problem() {
    use std::io::Write;
    // A rotated log stored compressed that inflates past --max-entry: parsed up to the cap, problem recorded.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let line = b"Nov 27 20:21:02 vm kernel: filler line\n";
    for _ in 0..(2 << 20) / line.len() {
        enc.write_all(line).expect("write");
    }
    let gz = enc.finish().expect("gz");
    let mut b = common::BundleBuilder::default();
    b.file(
        "fs/var/log/syslog.2.gz",
        "/var/log/syslog.2.gz",
        coroner_schemas::Category::Syslog,
        coroner_schemas::Format::Syslog,
        &gz,
    );
    b.manifest.entries[0].compressed = Some("gzip".to_owned());
    let d = tempfile::tempdir().expect("tmp");
    let p = d.path().join("b.tar.gz");
    b.write(&p);
    let opts = LoadOptions {
        limits: Limits {
            max_entry: 1 << 20,
            ..Limits::default()
        },
        ..LoadOptions::default()
    };
    let loaded = pipeline::load(&p, &opts).expect("loads");
    assert!(
        loaded
            .problems
            .iter()
            .any(|pr| pr.entry == "fs/var/log/syslog.2.gz" && pr.message.contains("--max-entry cap")),
        "{:#?}",
        loaded.problems
    );
}
