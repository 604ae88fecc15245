//! Renderers. Each takes the same [`ReportModel`] and writes bytes; none reads the bundle or the clock, so
//! the same bundle renders to the same bytes.

use coroner_schemas::manifest::{Category, Manifest};
use coroner_schemas::{Event, FindingsDoc};
use serde::Serialize;

use crate::sources::ParseProblem;
use crate::verify::VerifyReport;

pub mod csv;
pub mod escape;
pub mod html;
pub mod json_out;
pub mod jsonl;
pub mod markdown;
pub mod view;

/// Everything a renderer may show.
pub struct ReportModel<'a> {
    pub manifest: &'a Manifest,
    pub verification: &'a VerifyReport,
    /// One row per evidence source, in a stable order.
    pub coverage: &'a [CoverageRow],
    /// The timeline, sorted with [`Event::cmp_timeline`].
    pub events: &'a [Event],
    pub problems: &'a [ParseProblem],
    pub findings: &'a FindingsDoc,
    /// Timeline rows carry binary records' bytes as `raw_base64` (`render --raw-binary`). Off, a binary
    /// record's row points at its bytes (`entry`, `offset`) instead of repeating them.
    pub raw_binary: bool,
}

/// Source coverage: what the bundle holds for one category, and how it went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CoverageRow {
    pub category: Category,
    /// Entries with bytes.
    pub present: u64,
    /// Entries with bytes but size 0.
    pub empty: u64,
    /// Entries looked for and not taken (not found, permission denied, not applicable…).
    pub missing: u64,
    /// Collection problems (status) plus parse problems in this category.
    pub problems: u64,
    /// Timeline events read from this category.
    pub events: u64,
}
