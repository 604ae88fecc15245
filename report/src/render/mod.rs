//! Renderers. Each takes the same [`ReportModel`] and writes bytes; none reads the bundle or the clock, so
//! the same bundle renders to the same bytes.

use coroner_schemas::manifest::Manifest;
use coroner_schemas::{Event, FindingsDoc};

use crate::sources::ParseProblem;
use crate::timeline::CoverageRow;
use crate::verify::VerifyReport;

pub mod csv;
pub mod escape;
pub mod html;
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

/// One problem as the reports list it: who found it, where, what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProblemRow {
    /// `collector` (recorded at collection: evidence it could not take) or `parser` (found reading the bytes).
    pub by: &'static str,
    pub place: String,
    pub message: String,
}

/// What `--redact` replaced, in one line; None when the bundle was collected without it.
pub fn redaction_summary(m: &coroner_schemas::Manifest) -> Option<String> {
    if !m.collector.options.redact {
        return None;
    }
    let mut by: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
    let (mut scanned, mut with) = (0, 0);
    for r in m.entries.iter().filter_map(|e| e.redaction.as_ref()) {
        scanned += 1;
        with += usize::from(r.total() > 0);
        for (k, v) in &r.matches {
            *by.entry(k.as_str()).or_default() += v;
        }
    }
    let total: u64 = by.values().sum();
    let list: Vec<String> = by.iter().map(|(k, v)| format!("{k} {v}")).collect();
    Some(format!(
        "collected with --redact: {total} secret(s) replaced in {with} of {scanned} scanned entries{}; those entries hold redacted bytes, not the host's",
        if list.is_empty() { String::new() } else { format!(" ({})", list.join(", ")) }
    ))
}

/// Every problem of the bundle, the collector's first (the manifest's own, entries it could not take as they
/// were, then those it wrote into entries), then the parsers'; with the two counts for the summary line.
pub fn problem_rows(model: &ReportModel) -> (Vec<ProblemRow>, usize, usize) {
    let place = |p: &ParseProblem| match (p.line, p.offset) {
        (Some(l), _) => format!("{}:{l}", p.entry),
        (None, Some(o)) => format!("{}@{o}", p.entry),
        (None, None) => p.entry.clone(),
    };
    let from_parse = |collector: bool| {
        model.problems.iter().filter(move |p| p.is_parse() != collector).map(move |p| ProblemRow {
            by: if collector { "collector" } else { "parser" },
            place: place(p),
            message: p.message.clone(),
        })
    };
    let rows: Vec<ProblemRow> = model
        .manifest
        .problems
        .iter()
        .map(|p| ProblemRow { by: "collector", place: p.source.clone(), message: p.message.clone() })
        .chain(model.manifest.entries.iter().filter(|e| e.status.is_problem()).map(|e| ProblemRow {
            by: "collector",
            place: e.path.clone(),
            message: status_problem(&e.status),
        }))
        .chain(from_parse(true))
        .chain(from_parse(false))
        .collect();
    let parse = model.problems.iter().filter(|p| p.is_parse()).count();
    let collector = rows.len() - parse;
    (rows, collector, parse)
}

/// What an entry's problem status says, in words.
fn status_problem(s: &coroner_schemas::manifest::Status) -> String {
    use coroner_schemas::manifest::Status;
    match s {
        Status::ChangedWhileRead { change, stat_size, bytes_read } => {
            let how = match change {
                coroner_schemas::manifest::Change::Grew => "grew",
                coroner_schemas::manifest::Change::Shrank => "shrank",
            };
            format!("{how} while read: {bytes_read} bytes read of {stat_size} at stat")
        }
        Status::PermissionDenied { message } => format!("permission denied: {message}"),
        Status::Vanished => "vanished before it could be read".to_owned(),
        Status::Io { message } => format!("I/O error: {message}"),
        other => format!("{other:?}"),
    }
}

/// The problems section's summary line: the total and how many each side found.
pub fn problems_summary(total: usize, collector: usize, parse: usize) -> String {
    format!(
        "{total} problem(s): {collector} recorded by the collector (evidence it could not take), {parse} found parsing"
    )
}
