//! Hostile content (fixtures/hostile/payloads.txt) carried by every attacker-controlled source of a bundle the
//! real collector took (common/hostile.rs), rendered, then read back the way a browser and a Markdown viewer
//! read it: report.html parsed with html5ever (scraper) holds exactly the elements, attributes and scripts of
//! the benign twin's report, the payloads only as text, and a data island that parses and round-trips them;
//! report.md rendered by cmark-gfm (raw HTML allowed, so any that got through would show) forms no link, image
//! or HTML from them.

mod common;
#[path = "common/hostile.rs"]
mod hostile;
#[path = "common/live.rs"]
mod live;
#[path = "common/tools.rs"]
mod tools;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::OnceLock;

use coroner_report::pipeline::{self, LoadOptions};
use coroner_report::render::{escape, html::ISLAND_TEXT, view};
use hostile::{Payload, Run};
use scraper::{Html, Node};

/// The hostile run and its benign twin, made once for the whole file.
fn runs() -> &'static (Vec<Payload>, Run, Run) {
    static RUNS: OnceLock<(Vec<Payload>, Run, Run)> = OnceLock::new();
    RUNS.get_or_init(|| {
        let p = hostile::payloads();
        let bad = hostile::run(&p);
        let good = hostile::run(&hostile::benign(&p));
        (p, bad, good)
    })
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// What a parsed document is made of, apart from its text: element names, (element, attribute) names, comment
/// count, the parser's errors, and each script element's attributes.
#[derive(Debug, PartialEq, Eq)]
struct Shape {
    elements: BTreeSet<String>,
    attributes: BTreeSet<(String, String)>,
    comments: usize,
    errors: BTreeSet<String>,
    scripts: Vec<Vec<(String, String)>>,
}

fn shape(doc: &Html) -> Shape {
    let mut s = Shape {
        elements: BTreeSet::new(),
        attributes: BTreeSet::new(),
        comments: 0,
        errors: doc.errors.iter().map(|e| e.to_string()).collect(),
        scripts: Vec::new(),
    };
    for n in doc.tree.nodes() {
        match n.value() {
            Node::Element(e) => {
                s.elements.insert(e.name().to_owned());
                for (k, _) in e.attrs() {
                    s.attributes.insert((e.name().to_owned(), k.to_owned()));
                }
                if e.name() == "script" {
                    s.scripts.push(e.attrs().map(|(k, v)| (k.to_owned(), v.to_owned())).collect());
                }
            }
            Node::Comment(_) => s.comments += 1,
            _ => {}
        }
    }
    s
}

/// Every attribute of the document as (element, name, value).
fn attributes(doc: &Html) -> Vec<(String, String, String)> {
    doc.tree
        .nodes()
        .filter_map(|n| n.value().as_element())
        .flat_map(|e| e.attrs().map(move |(k, v)| (e.name().to_owned(), k.to_owned(), v.to_owned())))
        .collect()
}

/// The text of every element named `name`, in document order.
fn texts(doc: &Html, name: &str) -> Vec<String> {
    let sel = scraper::Selector::parse(name).expect("selector");
    doc.select(&sel).map(|e| e.text().collect::<String>()).collect()
}

/// The document's text nodes outside scripts, joined by newlines (what a reader sees).
fn visible_text(doc: &Html) -> String {
    let mut out = String::new();
    for n in doc.tree.nodes() {
        if let Node::Text(t) = n.value() {
            let in_script = n.parent().and_then(|p| p.value().as_element()).is_some_and(|e| e.name() == "script" || e.name() == "style");
            if !in_script {
                out.push_str(t);
                out.push('\n');
            }
        }
    }
    out
}

/// The checks any report page must pass against its benign twin.
fn check_page(bad_html: &str, good_html: &str, what: &str) {
    let bad = Html::parse_document(bad_html);
    let good = Html::parse_document(good_html);
    let (sb, sg) = (shape(&bad), shape(&good));
    assert_eq!(sb, sg, "{what}: the hostile page's elements, attributes, comments, parse errors or scripts differ from the benign page's");
    assert_eq!(sb.comments, 0, "{what}: a comment in the page");
    for (el, k, v) in attributes(&bad) {
        let v = v.to_ascii_lowercase();
        assert!(!k.starts_with("on"), "{what}: event handler attribute {el}[{k}]");
        assert!(!v.contains("javascript:") && !v.contains("pwned"), "{what}: payload in attribute {el}[{k}]={v:?}");
    }
    // The page's two scripts hold exactly the benign page's code (the island's data aside), and the CSP
    // allows only that code, by hash.
    let scripts_bad = texts(&bad, "script");
    let scripts_good = texts(&good, "script");
    assert_eq!(scripts_bad.len(), 2, "{what}: scripts");
    assert_eq!(scripts_bad[1], scripts_good[1], "{what}: the page's own script changed");
    let csp = |d: &Html| {
        let sel = scraper::Selector::parse("meta[http-equiv=\"Content-Security-Policy\"]").expect("selector");
        d.select(&sel).map(|e| e.value().attr("content").unwrap_or_default().to_owned()).collect::<Vec<_>>()
    };
    assert_eq!(csp(&bad), csp(&good), "{what}: CSP");
    assert_eq!(csp(&bad).len(), 1, "{what}: one CSP");
    let hash = coroner_report::render::html::csp_hash(&scripts_bad[1]);
    assert!(csp(&bad)[0].contains(&format!("script-src '{hash}'")), "{what}: CSP does not pin the script");
    assert_eq!(texts(&bad, "head > title"), texts(&good, "head > title"), "{what}: title");
}

/// Each payload really reaches the timeline from each source that can carry it: its exact bytes in an event's
/// raw record, or its text in a field the report renders (comm, user, message, a field). Otherwise the page
/// checks below would prove nothing.
#[test]
fn hostile_payloads_reach_every_source() {
    let (payloads, bad, _) = runs();
    // The events as the pipeline gives them (timeline.jsonl leaves a binary-looking record's bytes out).
    let events: Vec<(Vec<u8>, serde_json::Value)> = [&bad.bundle, &bad.journal_bundle]
        .into_iter()
        .flat_map(|b| pipeline::load(b, &LoadOptions::default()).expect("load").events)
        .map(|e| (e.raw.as_bytes().to_vec(), serde_json::to_value(&e).expect("event json")))
        .collect();
    let strings = |r: &serde_json::Value| -> Vec<String> {
        let mut out = Vec::new();
        for k in ["message", "comm", "user"] {
            if let Some(s) = r.get(k).and_then(|v| v.as_str()) {
                out.push(s.to_owned());
            }
        }
        if let Some(f) = r.get("fields").and_then(|v| v.as_object()) {
            out.extend(f.values().filter_map(|v| v.as_str()).map(str::to_owned));
        }
        out
    };
    let mut missing = Vec::new();
    let mut reached = 0usize;
    for p in payloads {
        let text = String::from_utf8_lossy(&p.bytes).into_owned();
        let spaced = text.replace('\0', " ");
        for source in hostile::SOURCES {
            if !hostile::carries(source, p) {
                continue;
            }
            let (src, kind) = match *source {
                "history" => ("history", None),
                "syslog" => ("syslog", Some("log")),
                "kern_comm" => ("syslog", Some("oom_kill")),
                "audit_comm" | "audit_proctitle" => ("audit", Some("signal_sent")),
                "btmp" => ("btmp", None),
                "container_name" => ("container", Some("container_exit")),
                "container_log" => ("container", Some("log")),
                "journal" => ("journal", None),
                other => panic!("unknown source {other}"),
            };
            let hit = events.iter().filter(|(_, r)| r["source"] == src && kind.is_none_or(|k| r["kind"] == k)).any(|(raw, r)| {
                let in_raw = memchr::memmem::find(raw, &p.bytes).is_some();
                let in_field = match *source {
                    "kern_comm" | "audit_comm" => r["comm"].as_str() == Some(&text),
                    "audit_proctitle" => r["fields"]["proctitle"].as_str() == Some(&format!("kill -9 {spaced}")),
                    "btmp" => r["user"].as_str() == Some(&text),
                    _ => strings(r).iter().any(|s| s.contains(&text)),
                };
                // Raw bytes alone prove it for the line sources; the field sources must carry it decoded.
                match *source {
                    "history" | "syslog" => in_raw,
                    _ => in_field,
                }
            });
            if hit {
                reached += 1;
            } else {
                missing.push(format!("{} via {source}", p.name));
            }
        }
    }
    assert!(missing.is_empty(), "payloads that never reached the timeline: {missing:#?}");
    eprintln!("{} payloads reached the timeline {reached} times", payloads.len());
}

/// report.html (both bundles) has the benign twin's elements, attributes, scripts and CSP, no comment, no
/// event handler, no `javascript:` URL, no payload in any attribute.
#[test]
fn hostile_html_has_no_element_or_attribute_from_evidence() {
    let (_, bad, good) = runs();
    check_page(&read(&bad.report.join("report.html")), &read(&good.report.join("report.html")), "collected bundle");
    check_page(&read(&bad.journal_report.join("report.html")), &read(&good.journal_report.join("report.html")), "journal bundle");
}

/// Every payload shows as text on the page, in its visible form (controls and invisible characters spelled
/// out), in the raw record of its history line and of its journal message.
#[test]
fn hostile_html_shows_each_payload_as_text() {
    let (payloads, bad, _) = runs();
    let page = visible_text(&Html::parse_document(&read(&bad.report.join("report.html"))));
    let journal = visible_text(&Html::parse_document(&read(&bad.journal_report.join("report.html"))));
    for p in payloads {
        let shown = escape::visible_bytes(&p.bytes, true);
        assert!(page.contains(&shown), "{}: {shown:?} not shown as text in report.html", p.name);
        let message = escape::visible(&String::from_utf8_lossy(&p.bytes), false);
        assert!(journal.contains(&message), "{}: {message:?} not shown in the journal report", p.name);
    }
    // Nothing that changes how text is drawn stays raw on the page.
    let hidden = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200b}'..='\u{200f}' | '\u{feff}')
    };
    if let Some(c) = page.chars().chain(journal.chars()).find(|&c| hidden(c)) {
        panic!("raw {c:?} in the page text");
    }
}

/// The data island parses as JSON, and each event in it round-trips: its comm, message and raw record are
/// exactly the visible forms of the event the bundle gives (as the static table shows them).
#[test]
fn hostile_data_island_round_trips() {
    let (_, bad, _) = runs();
    for (bundle, report) in [(&bad.bundle, &bad.report), (&bad.journal_bundle, &bad.journal_report)] {
        let doc = Html::parse_document(&read(&report.join("report.html")));
        let sel = scraper::Selector::parse("script#timeline-data").expect("selector");
        let island: String = doc.select(&sel).next().expect("island").text().collect();
        let data: serde_json::Value = serde_json::from_str(&island).expect("the island parses as JSON");
        let loaded = pipeline::load(bundle, &LoadOptions::default()).expect("load");
        let by_origin: BTreeMap<String, Vec<&coroner_schemas::Event>> = loaded.events.iter().fold(BTreeMap::new(), |mut m, e| {
            m.entry(escape::visible(&view::origin(&e.origin), false)).or_insert_with(Vec::new).push(e);
            m
        });
        let events = data["events"].as_array().expect("events");
        assert_eq!(events.len(), loaded.events.len(), "every event is in the island");
        for e in events {
            let origin = e[11].as_str().expect("origin");
            let candidates = by_origin.get(origin).unwrap_or_else(|| panic!("island origin {origin:?} not in the bundle"));
            let found = candidates.iter().any(|ev| {
                e[8].as_str() == Some(&ev.comm.as_deref().map(|c| escape::visible(c, false)).unwrap_or_default())
                    && e[9].as_str() == Some(&escape::visible_cut(&ev.message, false, ISLAND_TEXT))
                    && e[10].as_str() == Some(&escape::raw_display(&ev.raw, ISLAND_TEXT))
            });
            assert!(found, "island event at {origin} does not round-trip: {e}");
        }
    }
}

/// report.md, rendered by cmark-gfm with GFM's extensions and raw HTML let through (`--unsafe`), has the
/// benign twin's elements and attributes: no payload became a link, an image, an autolink or HTML.
#[test]
fn hostile_markdown_forms_no_link_image_or_html() {
    let (_, bad, good) = runs();
    let render = |md: &Path| -> Option<String> {
        let out = std::process::Command::new("cmark-gfm")
            .args(["--unsafe", "-e", "table", "-e", "strikethrough", "-e", "autolink", "-e", "tasklist"])
            .arg(md)
            .output()
            .ok()?;
        assert!(out.status.success(), "cmark-gfm failed");
        Some(String::from_utf8(out.stdout).expect("utf8"))
    };
    for (b, g, what) in [(&bad.report, &good.report, "collected"), (&bad.journal_report, &good.journal_report, "journal")] {
        let (Some(bh), Some(gh)) = (render(&b.join("report.md")), render(&g.join("report.md"))) else {
            tools::missing("cmark-gfm is not installed");
            return;
        };
        let (bd, gd) = (Html::parse_fragment(&bh), Html::parse_fragment(&gh));
        let (sb, sg) = (shape(&bd), shape(&gd));
        assert_eq!(sb.elements, sg.elements, "{what}: report.md's elements differ from the benign one's");
        assert_eq!(sb.attributes, sg.attributes, "{what}: report.md's attributes differ from the benign one's");
        assert_eq!((sb.comments, sb.scripts.len()), (0, 0), "{what}: comment or script in report.md");
        for (el, k, v) in attributes(&bd) {
            let v = v.to_ascii_lowercase();
            assert!(!v.contains("javascript:") && !v.contains("pwned") && !v.contains("203.0.113.9"), "{what}: payload in {el}[{k}]={v:?}");
        }
        // The payloads did reach report.md (the collected bundle's findings; the journal's messages make none,
        // and report.md lists no routine events), and show there as the text they are.
        let text = visible_text(&bd);
        for needle in if what == "journal" { &[][..] } else { &["<script>document.title='PWNED'", "[click](javascript:console.log('PWNED'))", "![x](http://203.0.113.9/pwned.png)", "<http://203.0.113.9/pwned>", "\\x1b]8;;http://"][..] } {
            assert!(text.contains(needle), "{what}: {needle:?} not shown as text in report.md");
        }
        let links = |d: &Html| texts(d, "a").len() + texts(d, "img").len();
        assert_eq!(links(&bd), links(&gd), "{what}: a payload made a link or an image in report.md");
    }
}
