//! `report.md`: GitHub-flavoured Markdown for a postmortem, findings first.
//!
//! The template (`templates/report.md`) does no escaping of its own, so every value it prints is built here
//! by [`escape::md_inline`] (text; safe in paragraphs, headings and table cells) or [`escape::md_code`]
//! (literal evidence in a code span), and the view structs below hold nothing else. A history line or a user
//! name cannot open a link, an HTML tag, a table cell or a new line.
//!
//! The timeline holds only the notable events and their nearest neighbours ([`CONTEXT`] either side), at
//! most [`MAX_ROWS`] rows; `timeline.csv` has everything.

use askama::Template;

use crate::render::escape::{self, md_code, md_inline};
use crate::render::view;
use crate::render::ReportModel;

/// Neighbours shown either side of a notable event.
pub const CONTEXT: usize = 3;
/// Timeline rows at most.
pub const MAX_ROWS: usize = 200;
/// Problems listed at most.
const MAX_PROBLEMS: usize = 50;
/// Findings written in full before the list is cut (a postmortem pastes this section); findings.json and
/// report.html list more.
pub const MAX_FINDINGS: usize = 100;
/// Bytes of raw evidence / message kept per line.
const MAX_RAW: usize = 1_000;
const MAX_MESSAGE: usize = 300;

/// A label and a Markdown-safe value.
struct Kv {
    k: &'static str,
    v: String,
}

struct EvidenceMd {
    role: String,
    origin: String,
    raw: String,
}

struct CandidateMd {
    description: String,
    evidence: Vec<EvidenceMd>,
}

struct FindingMd {
    heading: String,
    table: Vec<Kv>,
    reasoning: String,
    evidence: Vec<EvidenceMd>,
    missing: Vec<String>,
    candidates: Vec<CandidateMd>,
}

struct CheckMd {
    title: String,
    outcome: String,
    summary: String,
    entries: String,
}

struct AdvisoryMd {
    id: String,
    message: String,
    fix: String,
}

struct CoverageMd {
    category: String,
    present: u64,
    empty: u64,
    missing: u64,
    problems: u64,
    events: u64,
}

struct ProblemMd {
    by: &'static str,
    place: String,
    message: String,
}

/// A timeline row, or (when `gap > 0`) a marker for events left out between two shown ones.
struct RowMd {
    gap: usize,
    time: String,
    certainty: &'static str,
    source: String,
    kind: String,
    pid: String,
    user: String,
    comm: String,
    message: String,
    origin: String,
}

#[derive(Template)]
#[template(path = "report.md")]
struct Doc {
    host: String,
    verified: bool,
    verification: String,
    failures: Vec<String>,
    facts: Vec<Kv>,
    findings: Vec<FindingMd>,
    findings_total: usize,
    by_cause: Vec<view::CauseCount>,
    checklist: Vec<CheckMd>,
    advisories: Vec<AdvisoryMd>,
    coverage: Vec<CoverageMd>,
    problems: Vec<ProblemMd>,
    problems_total: usize,
    problems_summary: String,
    rows: Vec<RowMd>,
    total_events: usize,
    notable_events: usize,
    context: usize,
    max_rows: usize,
}

fn name_of<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::from("other"),
    }
}

fn evidence(e: &coroner_schemas::finding::EvidenceRef) -> EvidenceMd {
    EvidenceMd {
        role: md_inline(&e.role),
        origin: md_code(&view::origin(&e.origin), false),
        raw: md_code(&escape::truncate(&escape::visible_bytes(&e.raw.to_bytes(), false), MAX_RAW), false),
    }
}

fn finding(f: &coroner_schemas::Finding) -> FindingMd {
    let (cert, _) = view::certainty(&f.time);
    let mut table = vec![
        Kv { k: "Time", v: format!("{} ({})", md_inline(&view::time(&f.time)), cert) },
        Kv { k: "Cause", v: md_inline(view::cause_label(f.cause)) },
    ];
    if let Some(s) = &f.signal {
        table.push(Kv { k: "Signal", v: format!("{} \\({}\\)", md_inline(&s.name), s.number) });
    }
    if let Some(k) = &f.killer {
        table.push(Kv { k: "Killer", v: md_inline(&view::killer_short(k)) });
        for (label, value) in view::killer(k) {
            match label {
                "exe" => table.push(Kv { k: "Killer exe", v: md_code(&value, true) }),
                "logged in from" => table.push(Kv { k: "Login from", v: md_inline(&value) }),
                "parent chain" => table.push(Kv { k: "Parent chain", v: md_inline(&value) }),
                "command" => table.push(Kv { k: "Command", v: md_code(&value, true) }),
                "session" => table.push(Kv { k: "Session", v: md_inline(&value) }),
                "tty" => table.push(Kv { k: "TTY", v: md_inline(&value) }),
                "container" => table.push(Kv { k: "Killer container", v: md_inline(&value) }),
                _ => {}
            }
        }
    } else {
        table.push(Kv { k: "Killer", v: "—".to_owned() });
    }
    table.push(Kv { k: "Via", v: f.via.as_deref().map(md_inline).unwrap_or_else(|| "—".to_owned()) });
    table.push(Kv { k: "Confidence", v: format!("**{}**", view::confidence_label(f.confidence)) });
    if let Some(c) = &f.victim.cmdline {
        table.push(Kv { k: "Victim command line", v: md_code(&escape::truncate(c, MAX_RAW), true) });
    }
    if let Some(c) = &f.victim.cgroup {
        table.push(Kv { k: "Victim cgroup", v: md_code(c, true) });
    }
    if let Some(c) = &f.victim.container {
        table.push(Kv { k: "Victim container", v: md_inline(&view::container(c)) });
    }
    if let Some(p) = &f.victim.pod {
        table.push(Kv { k: "Victim pod", v: md_inline(&view::pod(p)) });
    }
    if let Some(r) = f.container_reason {
        table.push(Kv { k: "Container reason", v: md_inline(r.as_str()) });
    }
    FindingMd {
        heading: format!(
            "{} — {}: {}",
            md_inline(&f.id),
            md_inline(&view::victim(&f.victim)),
            md_inline(view::cause_label(f.cause))
        ),
        table,
        reasoning: md_inline(&f.reasoning),
        evidence: f.evidence.iter().map(evidence).collect(),
        missing: f.missing.iter().map(|m| md_inline(m)).collect(),
        candidates: f
            .candidates
            .iter()
            .map(|c| CandidateMd {
                description: md_inline(&c.description),
                evidence: c.evidence.iter().map(evidence).collect(),
            })
            .collect(),
    }
}

fn rows(m: &ReportModel, notable: &view::Notable) -> Vec<RowMd> {
    let idx = view::context_rows(notable, CONTEXT, MAX_ROWS);
    let mut out = Vec::with_capacity(idx.len() + 16);
    let mut prev: Option<usize> = None;
    for &i in &idx {
        let Some(e) = m.events.get(i) else { continue };
        let gap = match prev {
            Some(p) => i - p - 1,
            None => i,
        };
        if gap > 0 {
            out.push(RowMd {
                gap,
                time: String::new(),
                certainty: "",
                source: String::new(),
                kind: String::new(),
                pid: String::new(),
                user: String::new(),
                comm: String::new(),
                message: String::new(),
                origin: String::new(),
            });
        }
        prev = Some(i);
        let (certainty, _) = view::certainty(&e.timestamp);
        let kind = md_inline(&name_of(&e.kind));
        out.push(RowMd {
            gap: 0,
            time: md_inline(&view::time(&e.timestamp)),
            certainty,
            source: md_inline(&name_of(&e.source)),
            kind: if notable.is(i) { format!("**{kind}**") } else { kind },
            pid: e.pid.map(|p| p.to_string()).unwrap_or_default(),
            user: md_inline(&view::user(e)),
            comm: e.comm.as_deref().map(md_inline).unwrap_or_default(),
            message: md_inline(&escape::truncate(&e.message, MAX_MESSAGE)),
            origin: md_code(&view::origin(&e.origin), true),
        });
    }
    if let Some(p) = prev {
        let after = m.events.len() - p - 1;
        if after > 0 {
            out.push(RowMd {
                gap: after,
                time: String::new(),
                certainty: "",
                source: String::new(),
                kind: String::new(),
                pid: String::new(),
                user: String::new(),
                comm: String::new(),
                message: String::new(),
                origin: String::new(),
            });
        }
    }
    out
}

/// Renders the whole document.
pub fn render(m: &ReportModel) -> String {
    let notable = view::Notable::of(m.events, m.findings);
    let v = m.verification;
    let verified = v.ok && !v.skipped;
    let fp = v.signer_fingerprint.as_deref().map(|f| md_code(f, false)).unwrap_or_else(|| "unknown key".to_owned());
    let verification = if v.skipped {
        "rendered with `--no-verify`: neither the signature nor the entries were checked.".to_owned()
    } else if !v.ok {
        format!(
            "verification **failed** (signature {}, signer {fp}); do not trust this bundle.",
            if v.signature_good { "good" } else { "bad" }
        )
    } else if v.key_pinned {
        format!(
            "verified: signature good for the analyst's pinned key {fp}; {} entries match their sha256.",
            v.entries_checked
        )
    } else {
        format!(
            "verified with the key embedded in the bundle only ({fp}): this proves integrity, not who collected it; {} entries match their sha256.",
            v.entries_checked
        )
    };
    let h = &m.manifest.host;
    let c = &m.manifest.collector;
    let mut facts = vec![Kv { k: "Host", v: md_inline(&h.hostname) }];
    if let Some(k) = &h.kernel_release {
        facts.push(Kv { k: "Kernel", v: md_inline(k) });
    }
    if let Some(o) = &h.os_pretty_name {
        facts.push(Kv { k: "OS", v: md_inline(o) });
    }
    facts.push(Kv {
        k: "Collected", v: md_inline(&format!("{} → {}", view::utc(&c.started), view::utc(&c.finished)))
    });
    facts.push(Kv { k: "Collector", v: md_inline(&format!("{} {}", c.name, c.version)) });
    facts.push(Kv { k: "Bundle", v: md_code(&m.manifest.bundle_name, true) });
    if let Some(r) = super::redaction_summary(m.manifest) {
        facts.push(Kv { k: "Redacted", v: md_inline(&r) });
    }

    let (problem_list, by_collector, by_parser) = super::problem_rows(m);
    let mut problems: Vec<ProblemMd> = problem_list
        .into_iter()
        .map(|p| ProblemMd {
            by: p.by,
            place: md_code(&p.place, false),
            message: md_inline(&escape::truncate(&p.message, MAX_MESSAGE)),
        })
        .collect();
    let problems_total = problems.len();
    problems.truncate(MAX_PROBLEMS);

    let doc = Doc {
        host: md_inline(&h.hostname),
        verified,
        verification,
        failures: v.failures.iter().map(|f| md_inline(f)).collect(),
        facts,
        findings: m.findings.findings.iter().take(MAX_FINDINGS).map(finding).collect(),
        findings_total: m.findings.findings.len(),
        by_cause: view::findings_by_cause(&m.findings.findings, MAX_FINDINGS),
        checklist: m
            .findings
            .checklist
            .iter()
            .map(|c| CheckMd {
                title: md_inline(&c.title),
                outcome: md_inline(&c.outcome.replace('_', " ")),
                summary: md_inline(&c.summary),
                entries: c.entries.iter().map(|e| md_code(e, true)).collect::<Vec<_>>().join(" "),
            })
            .collect(),
        advisories: m
            .findings
            .advisories
            .iter()
            .map(|a| AdvisoryMd { id: md_inline(&a.id), message: md_inline(&a.message), fix: md_code(&a.fix, false) })
            .collect(),
        coverage: m
            .coverage
            .iter()
            .map(|c| CoverageMd {
                category: md_inline(&name_of(&c.category)),
                present: c.present,
                empty: c.empty,
                missing: c.missing,
                problems: c.problems,
                events: c.events,
            })
            .collect(),
        problems,
        problems_total,
        problems_summary: super::problems_summary(problems_total, by_collector, by_parser),
        rows: rows(m, &notable),
        total_events: m.events.len(),
        notable_events: notable.count(),
        context: CONTEXT,
        max_rows: MAX_ROWS,
    };
    doc.render().unwrap_or_else(|e| format!("render error: {}\n", md_inline(&e.to_string())))
}
