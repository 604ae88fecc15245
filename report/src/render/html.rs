//! `report.html`: one self-contained page, findings first, that opens offline from `file://` and reads with
//! JavaScript off.
//!
//! Every value goes through askama's HTML auto-escaping (`templates/report.html`). The only unescaped
//! inserts are our own CSS and script (constants, hashed into the Content-Security-Policy at render time),
//! the histogram (numbers), and the timeline data island, a JSON text escaped by
//! [`escape::json_for_script`] so it cannot leave its `<script type="application/json">` element.
//!
//! Size limits, so a million-event bundle still opens: the static HTML holds at most [`STATIC_ROWS`]
//! timeline rows (every notable event first, then the routine events nearest to one), and the data island
//! that the filter script reads holds at most [`ISLAND_ROWS`] events, chosen the same way, each with its
//! message and raw text cut to a few KiB. The page says how many were left out; `timeline.jsonl` and
//! `timeline.csv` hold every event.

use askama::Template;
use base64::Engine as _;
use coroner_schemas::{EventKind, Source};
use sha2::{Digest, Sha256};

use crate::render::escape;
use crate::render::view::{self, Histogram};
use crate::render::ReportModel;

/// Timeline rows written into the static HTML.
pub const STATIC_ROWS: usize = 5_000;
/// Events in the JSON data island the filter script works over.
pub const ISLAND_ROWS: usize = 200_000;
/// Rows the script shows per page.
pub const PAGE_ROWS: usize = 500;
/// Problems listed before the list is cut.
const MAX_PROBLEMS: usize = 2_000;
/// Findings listed (summary row and full article) before the list is cut; findings.json holds every one.
pub const MAX_FINDINGS: usize = 1_000;
/// Bytes of message / raw text kept per event in the static rows and the data island.
const MAX_MESSAGE: usize = 2_048;
const MAX_RAW: usize = 4_096;
/// The data island holds up to [`ISLAND_ROWS`] events: keep each small (full text is in timeline.jsonl).
pub const ISLAND_TEXT: usize = 512;

const CSS: &str = include_str!("../../templates/report.css");
const JS: &str = include_str!("../../templates/report.js");

/// `sha256-<base64>` of an inline element's exact text, for a CSP source list.
pub fn csp_hash(text: &str) -> String {
    format!("sha256-{}", base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes())))
}

struct Kv {
    k: String,
    v: String,
}

fn kv(k: &str, v: impl Into<String>) -> Kv {
    Kv { k: k.to_owned(), v: v.into() }
}

struct EvidenceView {
    role: String,
    origin: String,
    raw: String,
}

struct CandidateView {
    description: String,
    evidence: Vec<EvidenceView>,
}

struct FindingView {
    anchor: String,
    id: String,
    victim: String,
    cause: &'static str,
    cause_class: &'static str,
    time: String,
    certainty: &'static str,
    certainty_title: String,
    signal: Option<String>,
    killer: Option<String>,
    killer_lines: Vec<Kv>,
    victim_lines: Vec<Kv>,
    via: Option<String>,
    confidence: &'static str,
    reasoning: String,
    evidence: Vec<EvidenceView>,
    missing: Vec<String>,
    candidates: Vec<CandidateView>,
    details: Vec<Kv>,
}

struct CheckView {
    title: String,
    step: String,
    outcome: String,
    outcome_class: &'static str,
    summary: String,
    entries: Vec<String>,
}

struct AdvisoryView {
    id: String,
    message: String,
    fix: String,
}

struct CoverageView {
    category: String,
    present: u64,
    empty: u64,
    missing: u64,
    problems: u64,
    events: u64,
    class: &'static str,
}

struct ProblemView {
    by: &'static str,
    place: String,
    message: String,
}

struct RowView {
    time: String,
    certainty: &'static str,
    certainty_title: String,
    source: String,
    kind: String,
    notable: bool,
    pid: String,
    user: String,
    comm: String,
    message: String,
    raw: String,
    origin: String,
    fields: String,
}

#[derive(Template)]
#[template(path = "report.html")]
struct Page<'a> {
    css: &'a str,
    js: &'a str,
    csp: String,
    host: String,
    facts: Vec<Kv>,
    verified: bool,
    verify_lines: Vec<Kv>,
    verify_failures: Vec<String>,
    verify_headline: String,
    findings: Vec<FindingView>,
    findings_total: usize,
    by_cause: Vec<view::CauseCount>,
    checklist: Vec<CheckView>,
    advisories: Vec<AdvisoryView>,
    coverage: Vec<CoverageView>,
    problems: Vec<ProblemView>,
    problems_total: usize,
    problems_summary: String,
    problems_open: bool,
    hist: Option<Histogram>,
    rows: Vec<RowView>,
    total_events: usize,
    notable_events: usize,
    static_omitted: usize,
    island_count: usize,
    island_omitted: usize,
    static_rows: usize,
    island_rows: usize,
    page_rows: usize,
    data: String,
}

fn vis(s: &str) -> String {
    escape::visible(s, false)
}

/// serde name of a unit enum value (`oom_kill`), for labels and CSS classes.
fn name_of<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::from("other"),
    }
}

fn evidence_view(e: &coroner_schemas::finding::EvidenceRef) -> EvidenceView {
    EvidenceView {
        role: vis(&e.role),
        origin: vis(&view::origin(&e.origin)),
        raw: escape::raw_display(&e.raw, MAX_RAW * 4),
    }
}

fn finding_view(i: usize, f: &coroner_schemas::Finding) -> FindingView {
    let (certainty, certainty_title) = view::certainty(&f.time);
    let mut victim_lines = Vec::new();
    if let Some(c) = &f.victim.cmdline {
        victim_lines.push(kv("command line", vis(c)));
    }
    if let Some(c) = &f.victim.cgroup {
        victim_lines.push(kv("cgroup", vis(c)));
    }
    if let Some(c) = &f.victim.container {
        victim_lines.push(kv("container", view::container(c)));
    }
    if let Some(p) = &f.victim.pod {
        victim_lines.push(kv("pod", view::pod(p)));
    }
    if let Some(r) = f.container_reason {
        victim_lines.push(kv("container reason", r.as_str().to_owned()));
    }
    FindingView {
        anchor: format!("finding-{}", i + 1),
        id: vis(&f.id),
        victim: view::victim(&f.victim),
        cause: view::cause_label(f.cause),
        cause_class: view::cause_class(f.cause),
        time: view::time(&f.time),
        certainty,
        certainty_title,
        signal: f.signal.as_ref().map(|s| format!("{} ({})", vis(&s.name), s.number)),
        killer: f.killer.as_ref().map(view::killer_short),
        killer_lines: f
            .killer
            .as_ref()
            .map(view::killer)
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| kv(k, v))
            .collect(),
        victim_lines,
        via: f.via.as_deref().map(vis),
        confidence: view::confidence_label(f.confidence),
        reasoning: vis(&f.reasoning),
        evidence: f.evidence.iter().map(evidence_view).collect(),
        missing: f.missing.iter().map(|m| vis(m)).collect(),
        candidates: f
            .candidates
            .iter()
            .map(|c| CandidateView {
                description: vis(&c.description),
                evidence: c.evidence.iter().map(evidence_view).collect(),
            })
            .collect(),
        details: f
            .details
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                kv(&vis(k), escape::truncate(&vis(&v), MAX_MESSAGE))
            })
            .collect(),
    }
}

fn row_view(e: &coroner_schemas::Event, notable: bool) -> RowView {
    let (certainty, certainty_title) = view::certainty(&e.timestamp);
    let fields = if e.fields.is_empty() {
        String::new()
    } else {
        escape::truncate(&vis(&serde_json::to_string(&e.fields).unwrap_or_default()), MAX_RAW)
    };
    RowView {
        time: view::time(&e.timestamp),
        certainty,
        certainty_title,
        source: name_of(&e.source),
        kind: name_of(&e.kind),
        notable,
        pid: e.pid.map(|p| p.to_string()).unwrap_or_default(),
        user: view::user(e),
        comm: e.comm.as_deref().map(vis).unwrap_or_default(),
        message: escape::truncate(&vis(&e.message), MAX_MESSAGE),
        raw: escape::raw_display(&e.raw, MAX_RAW),
        origin: vis(&view::origin(&e.origin)),
        fields,
    }
}


/// The data island: `{"total":N,"sources":[…],"kinds":[…],"certainties":[…],"events":[[…],…]}`; each event is
/// `[time_us|null, time, certainty, source, kind, notable, pid|null, user, comm, message, raw, origin, [other
/// pids], other users]` with source/kind/certainty as indexes into the name lists; the other pids and users
/// ([`view::other_pids`], [`view::other_users`]: a kill's target, a core's sender…) let the pid and user
/// filters find every event about a process or a user.
fn island(m: &ReportModel, notable: &view::Notable, idx: &[usize]) -> String {
    let mut kinds: Vec<EventKind> = idx.iter().filter_map(|&i| m.events.get(i)).map(|e| e.kind).collect();
    kinds.sort();
    kinds.dedup();
    let certainties = ["exact", "boot", "inferred", "bounded", "unknown"];
    let events = IslandEvents { m, notable, idx, kinds: &kinds, certainties: &certainties };
    // serde_json writes a struct's fields in their order: these are sorted, as the island has always been.
    #[derive(serde::Serialize)]
    struct Island<'a> {
        certainties: &'a [&'a str],
        events: IslandEvents<'a>,
        kinds: Vec<String>,
        sources: Vec<String>,
        total: usize,
    }
    let island = Island {
        certainties: &certainties,
        events,
        kinds: kinds.iter().map(name_of).collect(),
        sources: Source::ALL.iter().map(name_of).collect(),
        total: m.events.len(),
    };
    // About 320 bytes an event: the island is written once into a buffer of its size.
    escape::json_for_script(&island, idx.len() * 320 + 4096)
}

/// The island's events, each written as its list when the island is.
struct IslandEvents<'a> {
    m: &'a ReportModel<'a>,
    notable: &'a view::Notable,
    idx: &'a [usize],
    kinds: &'a [EventKind],
    certainties: &'a [&'a str],
}

impl serde::Serialize for IslandEvents<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let last = self.certainties.len().saturating_sub(1);
        s.collect_seq(self.idx.iter().filter_map(|&i| Some((i, self.m.events.get(i)?))).map(|(i, e)| {
            let (cert, _) = view::certainty(&e.timestamp);
            (
                e.timestamp.sort_key().map(|t| t.unix_micros()),
                view::time(&e.timestamp),
                self.certainties.iter().position(|c| *c == cert).unwrap_or(last),
                Source::ALL.iter().position(|s| *s == e.source).unwrap_or(Source::ALL.len() - 1),
                self.kinds.binary_search(&e.kind).unwrap_or(0),
                u8::from(self.notable.is(i)),
                e.pid,
                view::user(e),
                e.comm.as_deref().map(vis).unwrap_or_default(),
                escape::visible_cut(&e.message, false, ISLAND_TEXT),
                escape::raw_display(&e.raw, ISLAND_TEXT),
                vis(&view::origin(&e.origin)),
                view::other_pids(e),
                view::other_users(e),
            )
        }))
    }
}

fn facts(m: &ReportModel) -> Vec<Kv> {
    let h = &m.manifest.host;
    let c = &m.manifest.collector;
    let mut out = vec![kv("host", vis(&h.hostname))];
    if let Some(k) = &h.kernel_release {
        out.push(kv("kernel", vis(k)));
    }
    if let Some(o) = &h.os_pretty_name {
        out.push(kv("os", vis(o)));
    }
    if let Some(a) = &h.arch {
        out.push(kv("arch", vis(a)));
    }
    out.push(kv("collected", format!("{} → {}", view::utc(&c.started), view::utc(&c.finished))));
    if let Some(b) = &h.boot_time {
        out.push(kv("booted", view::utc(b)));
    }
    if let Some(z) = &h.timezone {
        out.push(kv("host zone", vis(z)));
    }
    out.push(kv("collector", format!("{} {}", vis(&c.name), vis(&c.version))));
    out.push(kv("mode", if c.live { "live host".to_owned() } else { "offline root".to_owned() }));
    out.push(kv("collector uid", format!("{} (euid {})", c.uid, c.euid)));
    out.push(kv("bundle", vis(&m.manifest.bundle_name)));
    out
}

/// Renders the whole page.
pub fn render(m: &ReportModel) -> String {
    // Rendering into a String only fails if a Display impl fails; ours do not. Say so rather than panic.
    page(m).render().unwrap_or_else(|e| {
        format!("<!doctype html><title>render error</title><p>{}</p>", e.to_string().replace('<', "&lt;"))
    })
}

/// The same page as [`render`], written straight to `w` (a 60 MB page is not built as a string first).
pub fn write(m: &ReportModel, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    page(m).write_into(w)
}

fn page<'a>(m: &ReportModel) -> Page<'a> {
    let v = m.verification;
    let verified = v.ok && !v.skipped;
    let verify_headline = if v.skipped {
        "UNVERIFIED — rendered with --no-verify: neither the signature nor the entries were checked".to_owned()
    } else if !v.ok {
        "UNVERIFIED — verification FAILED: do not trust this bundle".to_owned()
    } else if v.key_pinned {
        "Verified: signature good for the pinned key, every entry matches its sha256".to_owned()
    } else {
        "Verified with the key embedded in the bundle only: proves integrity, not who collected it".to_owned()
    };
    let mut verify_lines = vec![
        kv(
            "signature",
            if v.skipped {
                "not checked"
            } else if v.signature_good {
                "good"
            } else {
                "BAD"
            },
        ),
        kv("signer", v.signer_fingerprint.as_deref().map(vis).unwrap_or_else(|| "unknown".to_owned())),
        kv("key", if v.key_pinned { "pinned by the analyst" } else { "embedded in the bundle only" }),
        kv("entries checked", v.entries_checked.to_string()),
    ];
    if let Some(r) = super::redaction_summary(m.manifest) {
        verify_lines.push(kv("redacted", vis(&r)));
    }
    if v.signer_fingerprint.as_deref() != Some(m.manifest.collector.signer_fingerprint.as_str()) {
        verify_lines.push(kv("manifest says signer", vis(&m.manifest.collector.signer_fingerprint)));
    }

    let (rows, by_collector, by_parser) = super::problem_rows(m);
    let mut problems: Vec<ProblemView> = rows
        .into_iter()
        .map(|p| ProblemView {
            by: p.by,
            place: vis(&p.place),
            message: escape::truncate(&vis(&p.message), MAX_MESSAGE),
        })
        .collect();
    let problems_total = problems.len();
    problems.truncate(MAX_PROBLEMS);

    let notable = view::Notable::of(m.events, m.findings);
    let static_idx = view::select_rows(&notable, STATIC_ROWS);
    let island_idx = view::select_rows(&notable, ISLAND_ROWS);

    Page {
        css: CSS,
        js: JS,
        csp: format!(
            "default-src 'none'; script-src '{}'; style-src '{}'; base-uri 'none'; form-action 'none'",
            csp_hash(JS),
            csp_hash(CSS)
        ),
        host: vis(&m.manifest.host.hostname),
        facts: facts(m),
        verified,
        verify_lines,
        verify_failures: v.failures.iter().map(|f| vis(f)).collect(),
        verify_headline,
        findings: m.findings.findings.iter().take(MAX_FINDINGS).enumerate().map(|(i, f)| finding_view(i, f)).collect(),
        findings_total: m.findings.findings.len(),
        by_cause: view::findings_by_cause(&m.findings.findings, MAX_FINDINGS),
        checklist: m
            .findings
            .checklist
            .iter()
            .map(|c| CheckView {
                title: vis(&c.title),
                step: vis(&c.step),
                outcome: vis(&c.outcome.replace('_', " ")),
                outcome_class: match c.outcome.as_str() {
                    "found" => "found",
                    "nothing_found" => "nothing_found",
                    "not_available" => "not_available",
                    _ => "other",
                },
                summary: vis(&c.summary),
                entries: c.entries.iter().map(|e| vis(e)).collect(),
            })
            .collect(),
        advisories: m
            .findings
            .advisories
            .iter()
            .map(|a| AdvisoryView { id: vis(&a.id), message: vis(&a.message), fix: vis(&a.fix) })
            .collect(),
        coverage: m
            .coverage
            .iter()
            .map(|c| CoverageView {
                category: name_of(&c.category),
                present: c.present,
                empty: c.empty,
                missing: c.missing,
                problems: c.problems,
                events: c.events,
                class: if c.problems > 0 {
                    "warn"
                } else if c.present == 0 {
                    "absent"
                } else {
                    "ok"
                },
            })
            .collect(),
        problems_open: problems_total <= 10,
        problems,
        problems_total,
        problems_summary: super::problems_summary(problems_total, by_collector, by_parser),
        hist: view::histogram(m.events, &notable),
        rows: static_idx.iter().filter_map(|&i| Some(row_view(m.events.get(i)?, notable.is(i)))).collect(),
        total_events: m.events.len(),
        notable_events: notable.count(),
        static_omitted: m.events.len() - static_idx.len(),
        island_count: island_idx.len(),
        island_omitted: m.events.len() - island_idx.len(),
        static_rows: STATIC_ROWS,
        island_rows: ISLAND_ROWS,
        page_rows: PAGE_ROWS,
        data: island(m, &notable, &island_idx),
    }
}
