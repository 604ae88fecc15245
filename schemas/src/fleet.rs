//! `clock.json`: the fleet controller's clock sample for one host's collection, written by the Ansible role
//! beside each fetched bundle, so `coroner-report fleet` can put every host on the controller's clock.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Utc;

/// File name of the sample in a host's folder of a fleet run.
pub const CLOCK_FILE: &str = "clock.json";

/// Namespace of the controller's SSHSIG over a fetched bundle's `.sha256` file (distinct from the manifest's
/// `coroner`, so neither signature can stand for the other).
pub const ATTEST_NAMESPACE: &str = "coroner-fleet";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FleetClock {
    /// 1.
    pub schema_version: u32,
    /// The host's name in the Ansible inventory.
    pub inventory_hostname: String,
    /// File name of the bundle this sample belongs to.
    pub bundle: String,
    /// The controller's UTC clock just before it started the collector on the host.
    pub controller_before: Utc,
    /// The controller's UTC clock just after the collector task returned.
    pub controller_after: Utc,
}

/// How far a host's clock was ahead of the controller's (`offset_us`, negative: behind), within
/// ±`uncertainty_us`. A host time minus `offset_us` is the controller's time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Skew {
    pub offset_us: i64,
    pub uncertainty_us: i64,
    /// The host's collection took longer than the controller's wait around it: the clocks ran at different
    /// rates or a clock was stepped. The midpoint is used and the uncertainty covers the disagreement.
    pub inconsistent: bool,
}

impl FleetClock {
    /// The skew, from the host's own collection start `started` and end `finished` (the manifest's): the host
    /// interval lies inside the controller's, so the offset d satisfies `finished − after ≤ d ≤ started − before`.
    pub fn skew(&self, started: Utc, finished: Utc) -> Skew {
        let (b, a) = (self.controller_before.unix_micros(), self.controller_after.unix_micros());
        let (s, f) = (started.unix_micros(), finished.unix_micros());
        let lo = f.saturating_sub(a);
        let hi = s.saturating_sub(b);
        let mid = lo / 2 + hi / 2 + (lo % 2 + hi % 2) / 2;
        Skew {
            offset_us: mid,
            uncertainty_us: (hi.saturating_sub(lo) / 2).abs(),
            inconsistent: lo > hi,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Utc {
        Utc::parse_rfc3339(s).expect("time")
    }

    fn sample(before: &str, after: &str) -> FleetClock {
        FleetClock {
            schema_version: 1,
            inventory_hostname: "h".into(),
            bundle: "b".into(),
            controller_before: t(before),
            controller_after: t(after),
        }
    }

    /// A host 180 s ahead, collecting 2 s inside a 4 s wait: offset 180 s, ±1 s.
    #[test]
    fn a_host_ahead_inside_the_wait() {
        let c = sample("2026-12-06T14:00:00Z", "2026-12-06T14:00:04Z");
        let s = c.skew(t("2026-12-06T14:03:01Z"), t("2026-12-06T14:03:03Z"));
        assert_eq!(s, Skew { offset_us: 180_000_000, uncertainty_us: 1_000_000, inconsistent: false });
    }

    #[test]
    fn a_host_behind() {
        let c = sample("2026-12-06T14:00:00Z", "2026-12-06T14:00:10Z");
        let s = c.skew(t("2026-12-06T13:58:34Z"), t("2026-12-06T13:58:36Z"));
        assert_eq!(s.offset_us, -90_000_000);
        assert_eq!(s.uncertainty_us, 4_000_000);
        assert!(!s.inconsistent);
    }

    /// A collection that took longer on the host's clock than the controller waited cannot be placed exactly.
    #[test]
    fn a_longer_host_interval_is_inconsistent() {
        let c = sample("2026-12-06T14:00:00Z", "2026-12-06T14:00:02Z");
        let s = c.skew(t("2026-12-06T14:00:00Z"), t("2026-12-06T14:00:06Z"));
        assert!(s.inconsistent);
        assert_eq!(s.offset_us, 2_000_000);
        assert_eq!(s.uncertainty_us, 2_000_000);
    }

    #[test]
    fn the_json_form_is_the_contract() {
        let j = r#"{"schema_version":1,"inventory_hostname":"web-3","bundle":"coroner-web3-20261206T140200Z.tar.gz",
            "controller_before":"2026-12-06T14:02:00.123456Z","controller_after":"2026-12-06T14:02:07.654321Z"}"#;
        let c: FleetClock = serde_json::from_str(j).expect("parse");
        assert_eq!(c.controller_before.unix_micros() % 1_000_000, 123_456);
        assert!(serde_json::from_str::<FleetClock>(&j.replace("\"bundle\"", "\"extra\":1,\"bundle\"")).is_err());
    }
}
