//! Hostile bytes anywhere in a bundle: flipping a single bit of the committed fixture bundle never panics
//! the reader, and a flipped bundle still verifies only when the tar it carries is byte-identical (deflate
//! has redundant bits, e.g. the padding after the last block) or the bit is in the gzip header's mtime,
//! extra-flags or OS bytes (4–9), which carry no evidence.

mod common;

use std::io::Read;

use coroner_report::bundle::Limits;
use coroner_report::pipeline::verify as verify_path;
use coroner_report::verify::TrustAnchor;

#[test]
fn single_bit_flips_never_panic_and_are_detected() {
    let original = std::fs::read(common::repo_root().join("fixtures/bundles/small.tar.gz")).expect("fixture");
    let d = tempfile::tempdir().expect("tmp");
    let p = d.path().join("flipped.tar.gz");
    // Deterministic spread of positions: every byte of the first 64 and the last 64, then a stride.
    let mut positions: Vec<usize> = (0..64.min(original.len())).collect();
    positions.extend(original.len().saturating_sub(64)..original.len());
    positions.extend((64..original.len()).step_by(7));
    positions.sort_unstable();
    positions.dedup();
    let inflate = |b: &[u8]| -> Option<Vec<u8>> {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(b)
            .read_to_end(&mut out)
            .ok()
            .map(|_| out)
    };
    let tar = inflate(&original).expect("fixture inflates");
    let mut still_ok = Vec::new();
    let mut refused = 0usize;
    for (i, &pos) in positions.iter().enumerate() {
        let mut bytes = original.clone();
        bytes[pos] ^= 1 << (i % 8);
        std::fs::write(&p, &bytes).expect("write");
        let v = verify_path(&p, &TrustAnchor::Embedded, &Limits::default()).expect("the file is readable");
        refused += usize::from(!v.report.ok);
        if v.report.ok && !(4..10).contains(&pos) && inflate(&bytes).as_deref() != Some(tar.as_slice()) {
            still_ok.push(pos);
        }
    }
    // Read by scripts/reliability.sh for RELIABILITY.md.
    println!("bitflips: {} flipped bundles, {refused} refused, the rest carry the same tar or flip gzip header bytes 4-9", positions.len());
    assert!(
        still_ok.iter().all(|&pos| (4..10).contains(&pos)),
        "flips that change the tar and still verify: {still_ok:?}"
    );
}
