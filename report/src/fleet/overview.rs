//! The fleet overview: `fleet.json` (its data, [`FleetDoc`]), `fleet.html` (self-contained, CSP as
//! `report.html`, no script) and `fleet.md` (for a ticket). Every string from a bundle (hostnames, comm,
//! users, commands) is escaped by the renderers here, as in the host reports.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use askama::Template;
use coroner_schemas::Utc;
use serde::Serialize;

use super::accept::How;
use super::patterns::{self, HostDeaths, Pattern};
use super::{HostSummary, Refusal};
use crate::render::escape;

/// Deaths listed in fleet.html and fleet.md (a kill storm on many hosts would make pages no browser opens);
/// fleet.json and each host's report hold every one.
pub const MAX_LISTED_DEATHS: usize = 5_000;

/// `fleet.json`.
#[derive(Clone, Debug, Serialize)]
pub struct FleetDoc {
    pub schema_version: u32,
    /// Hosts accepted, by key.
    pub hosts: Vec<HostRow>,
    /// Bundles refused (left out of everything else), by bundle name.
    pub refused: Vec<Refusal>,
    /// Every death on every accepted host, by corrected time (unknown last), then host and finding id.
    pub deaths: Vec<DeathRow>,
    /// Deaths by cause.
    pub by_cause: BTreeMap<String, usize>,
    /// Cross-host patterns (`patterns::find`), deaths closer than `window_s` joining one.
    pub window_s: i64,
    pub patterns: Vec<Pattern>,
    /// Rows of `timeline.jsonl` (= rows of `timeline.parquet`).
    pub timeline_rows: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct HostRow {
    /// The host key: the manifest's hostname made safe for a folder name, `#2`… for later bundles of one name.
    pub host: String,
    /// The manifest's hostname, as the bundle gives it.
    pub hostname: String,
    pub bundle: String,
    pub verified_how: How,
    pub signer: Option<String>,
    pub events: u64,
    pub deaths: usize,
    pub parse_problems: usize,
    pub collection_problems: usize,
    /// Host clock minus the controller's, µs; `null`: unknown (its times are left on the host's clock).
    pub clock_offset_us: Option<i64>,
    pub clock_uncertainty_us: Option<i64>,
    pub clock_inconsistent: bool,
    pub clock_note: Option<String>,
    /// The collection's start and end on the host's clock (the manifest's).
    pub collection_started: Utc,
    pub collection_finished: Utc,
    /// `hosts/<host>/report.html`, relative to the overview.
    pub report: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct DeathRow {
    pub host: String,
    pub id: String,
    pub cause: String,
    pub confidence: String,
    pub victim_comm: Option<String>,
    pub victim_pid: Option<i64>,
    pub killer_user: Option<String>,
    pub killer_comm: Option<String>,
    /// On the controller's clock (the host's when its skew is unknown); `null` when the death has no time.
    pub time: Option<Utc>,
    /// On the host's own clock.
    pub host_time: Option<Utc>,
    pub corrected: bool,
}

impl FleetDoc {
    /// The overview of hosts given in key order.
    pub fn build(hosts: &[(String, HostSummary)], refused: &[Refusal], window_s: i64, timeline_rows: u64) -> FleetDoc {
        let mut rows = Vec::new();
        let mut deaths = Vec::new();
        let mut by_cause: BTreeMap<String, usize> = BTreeMap::new();
        for (key, h) in hosts {
            let off = h.skew.map(|s| s.offset_us);
            for f in &h.findings.findings {
                let host_time = f.time.sort_key();
                let time = match (host_time, off) {
                    (Some(t), Some(d)) => Utc::from_unix_micros(t.unix_micros().saturating_sub(d)).or(Some(t)),
                    (t, _) => t,
                };
                *by_cause.entry(f.cause.as_str().to_owned()).or_default() += 1;
                let killer = f.killer.as_ref();
                deaths.push(DeathRow {
                    host: key.clone(),
                    id: f.id.clone(),
                    cause: f.cause.as_str().to_owned(),
                    confidence: serde_json::to_value(f.confidence).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
                    victim_comm: f.victim.comm.clone(),
                    victim_pid: f.victim.pid,
                    killer_user: killer.and_then(|k| k.user.clone().or_else(|| k.auser.clone())),
                    killer_comm: killer.and_then(|k| k.comm.clone()),
                    time,
                    host_time,
                    corrected: off.is_some(),
                });
            }
            rows.push(HostRow {
                host: key.clone(),
                hostname: h.hostname.clone(),
                bundle: h.bundle.clone(),
                verified_how: h.how,
                signer: h.signer.clone(),
                events: h.events,
                deaths: h.findings.findings.len(),
                parse_problems: h.parse_problems,
                collection_problems: h.collection_problems,
                clock_offset_us: h.skew.map(|s| s.offset_us),
                clock_uncertainty_us: h.skew.map(|s| s.uncertainty_us),
                clock_inconsistent: h.skew.is_some_and(|s| s.inconsistent),
                clock_note: h.clock_note.clone(),
                collection_started: h.started,
                collection_finished: h.finished,
                report: format!("hosts/{key}/report.html"),
            });
        }
        // Unknown times last; ties by host key then finding number.
        let num = |id: &str| id.trim_start_matches('F').parse::<u64>().unwrap_or(u64::MAX);
        deaths.sort_by(|a, b| {
            (a.time.is_none(), a.time, &a.host, num(&a.id), &a.id).cmp(&(b.time.is_none(), b.time, &b.host, num(&b.id), &b.id))
        });
        let for_patterns: Vec<HostDeaths> =
            hosts.iter().map(|(k, h)| HostDeaths { host: k, offset_us: h.skew.map(|s| s.offset_us), findings: &h.findings }).collect();
        let patterns = patterns::find(&for_patterns, window_s);
        FleetDoc { schema_version: 1, hosts: rows, refused: refused.to_vec(), deaths, by_cause, window_s, patterns, timeline_rows }
    }
}

/// `±1.5 s`-style text of a µs duration.
fn secs(us: i64) -> String {
    let s = us as f64 / 1e6;
    if us % 1_000_000 == 0 {
        format!("{} s", us / 1_000_000)
    } else {
        format!("{s:.3} s")
    }
}

/// The clock column: `+180 s ± 1 s`, `unknown`, with `(inconsistent)`.
pub fn clock_text(h: &HostRow) -> String {
    match (h.clock_offset_us, h.clock_uncertainty_us) {
        (Some(d), Some(u)) => format!(
            "{}{} ± {}{}",
            if d >= 0 { "+" } else { "−" },
            secs(d.abs()),
            secs(u),
            if h.clock_inconsistent { " (inconsistent)" } else { "" }
        ),
        _ => "unknown".to_owned(),
    }
}

fn time_text(t: Option<Utc>) -> String {
    t.map_or_else(|| "—".to_owned(), |t| t.rfc3339())
}

/// The folder of a host key in a URL (`#` would start a fragment).
fn href(report: &str) -> String {
    report.replace('%', "%25").replace('#', "%23")
}

/// Writes fleet.json, fleet.md and fleet.html into `out`.
pub fn write_all(doc: &FleetDoc, out: &Path) -> anyhow::Result<()> {
    let write = |name: &str, bytes: &[u8]| -> anyhow::Result<()> {
        let p = out.join(name);
        let mut f = std::fs::File::create(&p).with_context(|| format!("creating {}", p.display()))?;
        f.write_all(bytes).with_context(|| format!("writing {}", p.display()))
    };
    let mut json = serde_json::to_vec_pretty(doc)?;
    json.push(b'\n');
    write("fleet.json", &json)?;
    write("fleet.md", markdown(doc).as_bytes())?;
    write("fleet.html", html(doc)?.as_bytes())?;
    Ok(())
}

fn opt(s: &Option<String>) -> String {
    s.as_deref().unwrap_or("—").to_owned()
}

/// `fleet.md`.
pub fn markdown(doc: &FleetDoc) -> String {
    let md = |s: &str| escape::md_inline(s);
    let mut o = String::new();
    o.push_str("# Coroner fleet report\n\n");
    o.push_str(&format!(
        "{} host(s) accepted, {} bundle(s) refused, {} death(s), {} timeline row(s).\n\n",
        doc.hosts.len(),
        doc.refused.len(),
        doc.deaths.len(),
        doc.timeline_rows
    ));
    o.push_str("Times are on the fleet controller's clock: each host's time minus its clock offset (host − controller); a host whose offset is unknown keeps its own clock.\n\n");
    o.push_str("## Hosts\n\n| Host | Hostname | Bundle | Verified | Events | Deaths | Problems | Clock offset | Report |\n|---|---|---|---|---:|---:|---:|---|---|\n");
    for h in &doc.hosts {
        o.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} parse, {} collection | {}{} | [report]({}) |\n",
            md(&h.host),
            md(&h.hostname),
            md(&h.bundle),
            md(h.verified_how.as_str()),
            h.events,
            h.deaths,
            h.parse_problems,
            h.collection_problems,
            md(&clock_text(h)),
            h.clock_note.as_deref().map(|n| format!(" ({})", md(n))).unwrap_or_default(),
            href(&h.report),
        ));
    }
    o.push_str("\n## Refused bundles\n\n");
    if doc.refused.is_empty() {
        o.push_str("None.\n");
    } else {
        o.push_str("| Bundle | Reason |\n|---|---|\n");
        for r in &doc.refused {
            o.push_str(&format!("| {} | {} |\n", md(&r.bundle), md(&r.reason)));
        }
    }
    o.push_str("\n## Patterns across hosts\n\n");
    if doc.patterns.is_empty() {
        o.push_str(&format!("None found (window {} s).\n", doc.window_s));
    } else {
        for p in &doc.patterns {
            o.push_str(&format!(
                "- {} — hosts: {}; {} – {}\n",
                md(&p.summary),
                md(&p.hosts.join(", ")),
                md(&time_text(p.first)),
                md(&time_text(p.last))
            ));
        }
    }
    o.push_str("\n## Deaths by cause\n\n| Cause | Deaths |\n|---|---:|\n");
    for (c, n) in &doc.by_cause {
        o.push_str(&format!("| {} | {n} |\n", md(c)));
    }
    o.push_str(&format!("\n## Deaths ({})\n\n", doc.deaths.len()));
    if doc.deaths.len() > MAX_LISTED_DEATHS {
        o.push_str(&format!("The first {MAX_LISTED_DEATHS} by time; fleet.json and each host's report hold every one.\n\n"));
    }
    o.push_str("| Time (controller) | Host time | Host | Finding | Cause | Victim | Killer user | Killer comm |\n|---|---|---|---|---|---|---|---|\n");
    for d in doc.deaths.iter().take(MAX_LISTED_DEATHS) {
        o.push_str(&format!(
            "| {}{} | {} | {} | {} | {} | {} | {} | {} |\n",
            md(&time_text(d.time)),
            if d.corrected || d.time.is_none() { "" } else { " (host clock)" },
            md(&time_text(d.host_time)),
            md(&d.host),
            md(&d.id),
            md(&d.cause),
            md(&victim_text(d)),
            md(&opt(&d.killer_user)),
            md(&opt(&d.killer_comm)),
        ));
    }
    o
}

fn victim_text(d: &DeathRow) -> String {
    match (&d.victim_comm, d.victim_pid) {
        (Some(c), Some(p)) => format!("{c} ({p})"),
        (Some(c), None) => c.clone(),
        (None, Some(p)) => format!("pid {p}"),
        (None, None) => "—".to_owned(),
    }
}

const CSS: &str = include_str!("../../templates/fleet.css");

struct HostView {
    host: String,
    hostname: String,
    bundle: String,
    how: &'static str,
    events: u64,
    deaths: usize,
    problems: String,
    clock: String,
    clock_note: String,
    href: String,
}

struct DeathView {
    time: String,
    host_time: String,
    host: String,
    id: String,
    cause: String,
    victim: String,
    killer_user: String,
    killer_comm: String,
}

struct PatternView {
    summary: String,
    hosts: String,
    span: String,
}

#[derive(Template)]
#[template(path = "fleet.html")]
struct Page {
    css: &'static str,
    csp: String,
    hosts: Vec<HostView>,
    refused: Vec<(String, String)>,
    deaths: Vec<DeathView>,
    deaths_total: usize,
    deaths_cap: usize,
    by_cause: Vec<(String, usize)>,
    patterns: Vec<PatternView>,
    window_s: i64,
    rows: u64,
}

/// `fleet.html`: askama escapes every value; control and invisible characters are made visible first.
pub fn html(doc: &FleetDoc) -> anyhow::Result<String> {
    let vis = |s: &str| escape::visible(s, false);
    let page = Page {
        css: CSS,
        csp: format!(
            "default-src 'none'; style-src '{}'; base-uri 'none'; form-action 'none'",
            crate::render::html::csp_hash(CSS)
        ),
        hosts: doc
            .hosts
            .iter()
            .map(|h| HostView {
                host: vis(&h.host),
                hostname: vis(&h.hostname),
                bundle: vis(&h.bundle),
                how: h.verified_how.as_str(),
                events: h.events,
                deaths: h.deaths,
                problems: format!("{} parse, {} collection", h.parse_problems, h.collection_problems),
                clock: clock_text(h),
                clock_note: h.clock_note.as_deref().map(vis).unwrap_or_default(),
                href: href(&h.report),
            })
            .collect(),
        refused: doc.refused.iter().map(|r| (vis(&r.bundle), vis(&r.reason))).collect(),
        deaths_total: doc.deaths.len(),
        deaths_cap: MAX_LISTED_DEATHS,
        deaths: doc
            .deaths
            .iter()
            .take(MAX_LISTED_DEATHS)
            .map(|d| DeathView {
                time: format!("{}{}", time_text(d.time), if d.corrected || d.time.is_none() { "" } else { " (host clock)" }),
                host_time: time_text(d.host_time),
                host: vis(&d.host),
                id: vis(&d.id),
                cause: d.cause.clone(),
                victim: vis(&victim_text(d)),
                killer_user: vis(&opt(&d.killer_user)),
                killer_comm: vis(&opt(&d.killer_comm)),
            })
            .collect(),
        by_cause: doc.by_cause.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        patterns: doc
            .patterns
            .iter()
            .map(|p| PatternView {
                summary: vis(&p.summary),
                hosts: vis(&p.hosts.join(", ")),
                span: format!("{} – {}", time_text(p.first), time_text(p.last)),
            })
            .collect(),
        window_s: doc.window_s,
        rows: doc.timeline_rows,
    };
    Ok(page.render()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(offset: Option<i64>, unc: Option<i64>, inconsistent: bool) -> HostRow {
        HostRow {
            host: "h".into(),
            hostname: "h".into(),
            bundle: "b".into(),
            verified_how: How::Manifest,
            signer: None,
            events: 0,
            deaths: 0,
            parse_problems: 0,
            collection_problems: 0,
            clock_offset_us: offset,
            clock_uncertainty_us: unc,
            clock_inconsistent: inconsistent,
            clock_note: None,
            collection_started: Utc::from_unix(0, 0).expect("t"),
            collection_finished: Utc::from_unix(0, 0).expect("t"),
            report: "hosts/h/report.html".into(),
        }
    }

    #[test]
    fn clock_offsets_read_as_signed_seconds() {
        assert_eq!(clock_text(&row(Some(180_000_000), Some(1_000_000), false)), "+180 s ± 1 s");
        assert_eq!(clock_text(&row(Some(-1_500), Some(250_000), false)), "−0.002 s ± 0.250 s");
        assert_eq!(clock_text(&row(Some(2_000_000), Some(2_000_000), true)), "+2 s ± 2 s (inconsistent)");
        assert_eq!(clock_text(&row(None, None, false)), "unknown");
    }

    #[test]
    fn host_links_escape_the_fragment_sign() {
        assert_eq!(href("hosts/web-1#2/report.html"), "hosts/web-1%232/report.html");
    }
}
