//! report.html: escaping of hostile evidence, the CSP and its hashes, no network, the UNVERIFIED banner,
//! bounded size with a million events, and a golden snapshot.

#[path = "common/tools.rs"]
mod tools;
#[path = "render_html_model.rs"]
mod model;

use base64::Engine as _;
use coroner_report::render::html;
use sha2::{Digest, Sha256};

/// The text between the first `open` and the next `</tag>` after it.
fn element_text<'a>(html: &'a str, open: &str, close: &str) -> &'a str {
    let start = html.find(open).map(|i| i + open.len()).expect("element present");
    let len = html[start..].find(close).expect("element closed");
    &html[start..start + len]
}

fn sha256_b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(s.as_bytes()))
}

/// Every real tag of the page (name and attributes), outside our own inline script. Evidence text cannot
/// add any: askama turns its `<` into `&#60;`.
fn tags(html: &str) -> Vec<String> {
    let script = element_text(html, "<script>", "</script>");
    let page = html.replacen(script, "", 1);
    page.split('<').skip(1).map(|t| t.split('>').next().unwrap_or_default().to_owned()).collect()
}

fn csp(html: &str) -> String {
    let tag = element_text(html, "<meta http-equiv=\"Content-Security-Policy\" content=\"", "\">");
    // askama escapes `'` in attributes; undo that to read the policy.
    tag.replace("&#39;", "'").replace("&#x27;", "'")
}

#[test]
fn hostile_evidence_is_escaped() {
    let owned = model::small(true);
    let out = html::render(&owned.model());
    assert!(!out.contains("<script>alert"), "raw script tag from comm leaked");
    assert!(!out.contains("<img src=x"), "raw img tag from a history line leaked");
    assert!(!out.contains("<b>"), "problem message markup leaked");
    assert!(out.contains("&#60;script&#62;alert(1)&#60;/script&#62;"), "comm is shown, escaped");
    // A hostile container name and pod name, on the victim and the killer: shown, escaped.
    assert!(!out.contains("<svg onload"), "raw svg tag from a container name leaked");
    assert!(out.contains("&#60;svg onload=alert(3)&#62;web (1e1755e4a1d0, image busybox:c14, runtime docker, 3 restarts)"), "victim container");
    assert!(out.contains("&#60;svg onload=alert(3)&#62;web (1e1755e4a1d0, runtime unknown)"), "killer container");
    assert!(out.contains("shop/](javascript:alert(4))|`pod`"), "pod, as text");
    assert!(out.contains("<dt>container reason</dt><dd class=\"mono\">memory_limit</dd>"), "container reason");
    // Non-UTF-8 bytes show as escapes, not U+FFFD.
    assert!(out.contains("\\xff\\xfe"));
    // Exactly two script elements: the data island and the filter script.
    assert_eq!(out.matches("<script").count(), 2);
    assert_eq!(out.matches("</script>").count(), 2);
    // The data island cannot be closed early: no `<` inside it.
    let island = element_text(&out, "<script type=\"application/json\" id=\"timeline-data\">", "</script>");
    assert!(!island.contains('<') && !island.contains('>'));
    let data: serde_json::Value = serde_json::from_str(island).expect("island is JSON");
    assert_eq!(data["total"], 8);
    assert_eq!(data["events"].as_array().map(|a| a.len()), Some(8));
    assert!(island.contains("\\u003cscript\\u003ealert(1)"));
}

#[test]
fn csp_hashes_match_the_inline_script_and_style() {
    let owned = model::small(true);
    let out = html::render(&owned.model());
    let policy = csp(&out);
    let script = element_text(&out, "<script>", "</script>");
    let style = element_text(&out, "<style>", "</style>");
    assert!(!script.is_empty() && !style.is_empty());
    assert!(policy.starts_with("default-src 'none';"), "{policy}");
    assert!(policy.contains(&format!("script-src 'sha256-{}'", sha256_b64(script))), "{policy}");
    assert!(policy.contains(&format!("style-src 'sha256-{}'", sha256_b64(style))), "{policy}");
    assert!(policy.contains("base-uri 'none'") && policy.contains("form-action 'none'"));
    assert!(!policy.contains("unsafe-inline") && !policy.contains("unsafe-eval"));
    // Nothing more than those five: the page loads no images, fonts, frames or connections.
    let directives: Vec<&str> = policy.split(';').map(str::trim).filter(|d| !d.is_empty()).collect();
    assert_eq!(directives.len(), 5, "{policy}");
    assert!(!policy.contains("data:"), "{policy}");
    // CSP forbids inline handlers and style attributes; the page must not rely on them.
    for tag in tags(&out) {
        let lower = tag.to_lowercase();
        assert!(!lower.contains(" style=") && !lower.contains("javascript:"), "tag <{tag}>");
        // Attribute names only: drop the quoted values (askama escapes `"` inside them).
        let names: String = lower.split('"').step_by(2).collect::<Vec<_>>().join(" ");
        assert!(!names.split_whitespace().skip(1).any(|a| a.starts_with("on")), "handler in <{tag}>");
    }
}

#[test]
fn no_external_resources() {
    let owned = model::small(true);
    let out = html::render(&owned.model());
    // The only URL in the model (a syslog message) is shown as text: never as a link or a source.
    for bad in ["url(", "@import", "<link", "<iframe", "<object", "<embed", "<img", "<base", "<form"] {
        assert!(!out.contains(bad), "page contains {bad}");
    }
    let names: std::collections::BTreeSet<String> = tags(&out)
        .iter()
        .map(|t| t.split_whitespace().next().unwrap_or_default().trim_start_matches('/').to_lowercase())
        .collect();
    let allowed = [
        "!doctype",
        "a",
        "body",
        "br",
        "button",
        "code",
        "dd",
        "details",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "g",
        "h1",
        "h2",
        "h3",
        "h4",
        "head",
        "header",
        "html",
        "input",
        "label",
        "li",
        "main",
        "meta",
        "nav",
        "ol",
        "option",
        "p",
        "pre",
        "rect",
        "script",
        "section",
        "select",
        "span",
        "strong",
        "style",
        "summary",
        "svg",
        "table",
        "tbody",
        "td",
        "th",
        "thead",
        "title",
        "tr",
        "ul",
        "article",
    ];
    for n in &names {
        assert!(allowed.contains(&n.as_str()), "unexpected element <{n}>");
    }
    for tag in tags(&out) {
        assert!(!tag.to_lowercase().contains("src="), "tag <{tag}> loads something");
    }
    for href in out.split(" href=\"").skip(1) {
        assert!(href.starts_with('#'), "non-local link: {}", &href[..href.len().min(40)]);
    }
    let lower = out.to_lowercase();
    let urls = lower.matches("http://").count() + lower.matches("https://").count();
    // Every occurrence is the escaped syslog text (static row message + raw, data island message + raw).
    assert_eq!(urls, lower.matches("http://0.0.0.0:8080").count());
}

#[test]
fn unverified_banner_only_when_unverified() {
    let good = html::render(&model::small(true).model());
    assert!(!good.contains("class=\"banner unverified\""));
    assert!(good.contains("✔ Verified"));
    let bad = html::render(&model::small(false).model());
    assert!(bad.contains("<div class=\"banner unverified\" role=\"alert\"><strong>UNVERIFIED</strong>"));
    assert!(bad.contains("sha256 mismatch"));
    let mut skipped = model::small(true);
    skipped.verification.skipped = true;
    let out = html::render(&skipped.model());
    assert!(out.contains("<strong>UNVERIFIED</strong>"));
    assert!(out.contains("--no-verify"));
}

#[test]
fn findings_come_first_and_are_complete() {
    let out = html::render(&model::small(true).model());
    let f = out.find("id=\"findings\"").expect("findings section");
    for later in ["id=\"checklist\"", "id=\"advisories\"", "id=\"coverage\"", "id=\"problems\"", "id=\"timeline\""] {
        assert!(out.find(later).expect(later) > f, "{later} before findings");
    }
    for must in [
        "OOM kill",
        "killed by a signal",
        "SIGKILL (9)",
        "203.0.113.9",
        "bash ← sshd",
        "live/kmsg:88",
        "audit EXECVE record of the kill command",
        "auditctl -a always,exit -F arch=b64 -S kill -S tkill -S tgkill -k coroner-kill",
        "class=\"conf certain\"",
        "class=\"conf likely\"",
    ] {
        assert!(out.contains(must), "missing {must}");
    }
}

#[test]
fn same_model_same_bytes() {
    let a = html::render(&model::small(true).model());
    let b = html::render(&model::small(true).model());
    assert_eq!(a, b);
}

#[test]
fn golden_small_report() {
    let out = html::render(&model::small(false).model());
    // For a look in a browser: CORONER_HTML_OUT=/tmp/report.html cargo test … golden_small_report.
    if let Some(path) = std::env::var_os("CORONER_HTML_OUT") {
        std::fs::write(path, &out).expect("write the page");
    }
    insta::assert_snapshot!("small_report_html", out);
}

/// A million events must not become a million DOM rows or an unbounded page.
#[test]
fn million_events_render_bounded() {
    let owned = model::big(1_000_000);
    let out = html::render(&owned.model());
    if let Some(path) = std::env::var_os("CORONER_BIG_HTML_OUT") {
        std::fs::write(path, &out).expect("write the page");
    }
    assert!(out.len() < 80 * 1024 * 1024, "page is {} bytes", out.len());
    let static_view = element_text(&out, "<div id=\"static-view\">", "</div>\n</section>");
    assert_eq!(static_view.matches("<tr").count() - 1, html::STATIC_ROWS, "static rows capped (minus header)");
    // Every notable event is among the static rows.
    assert_eq!(static_view.matches("<tr class=\"notable\">").count(), 10);
    let island = element_text(&out, "<script type=\"application/json\" id=\"timeline-data\">", "</script>");
    let data: serde_json::Value = serde_json::from_str(island).expect("island is JSON");
    assert_eq!(data["total"], 1_000_000);
    assert_eq!(data["events"].as_array().map(|a| a.len()), Some(html::ISLAND_ROWS));
    assert!(out.contains("995000 events are not listed here"));
    assert!(out.contains("800000 left out"));
    // The histogram counts all of them.
    assert!(out.contains("events per bucket"));
}

/// A kill storm leaves tens of thousands of findings: the page lists the first MAX_FINDINGS, says how many
/// there are and where all of them are, and counts every one by cause and confidence.
#[test]
fn findings_over_the_cap_are_counted_not_listed() {
    let cap = coroner_report::render::html::MAX_FINDINGS;
    let under = model::many_findings(cap);
    let out = html::render(&under.model());
    assert_eq!(out.matches("<article class=\"finding").count(), cap);
    assert!(!out.contains("holds every one"));

    let o = model::many_findings(cap + 7);
    let out = html::render(&o.model());
    assert_eq!(out.matches("<article class=\"finding").count(), cap);
    assert!(out.contains(&format!("Findings ({})", cap + 7)));
    assert!(out.contains(&format!("{} findings: the first {cap} (in time order) are listed here", cap + 7)));
    // The overview counts all of them: its counts add up to the total.
    let overview = element_text(&out, "<th>findings</th></tr></thead>\n<tbody>", "</tbody>");
    let total: usize = overview
        .lines()
        .filter_map(|l| l.rsplit("<td>").next()?.strip_suffix("</td></tr>")?.parse::<usize>().ok())
        .sum();
    assert_eq!(total, cap + 7);
}

/// Regression: the page's pid filter compared only each event's own pid, and a kill's pid is its sender's, so
/// filtering for the pid that died (4243) did not show the kill. The data island carries the pids each event
/// names, and the page's own filter function (run under node when installed) finds the kill by its target.
#[test]
fn pid_filter_finds_the_kill_of_the_pid_that_died() {
    let owned = model::small(true);
    let out = html::render(&owned.model());
    let island = element_text(&out, "<script type=\"application/json\" id=\"timeline-data\">", "</script>");
    let data: serde_json::Value = serde_json::from_str(island).expect("island is JSON");
    let events = data["events"].as_array().expect("events");
    let kill = events.iter().find(|e| e[9].as_str().is_some_and(|m| m.starts_with("kill(4243"))).expect("kill row");
    assert_eq!((kill[6].as_i64(), kill[12].clone()), (Some(3120), serde_json::json!([4243])), "{kill}");
    assert!(events.iter().all(|e| e[12].is_array() && e[13].is_string()), "every row has its other pids and users");
    // The user filter likewise sees the signalled process's user, not only the sender's.
    let kill = events.iter().find(|e| e[9].as_str().is_some_and(|m| m.starts_with("kill(4243"))).expect("kill row");
    assert_eq!((kill[7].as_str(), kill[13].as_str()), (Some("mallory"), Some("victimuser")), "{kill}");

    let script = element_text(&out, "<script>", "</script>");
    let d = tempfile::tempdir().expect("tmp");
    let (js, isl) = (d.path().join("report.js"), d.path().join("island.json"));
    std::fs::write(&js, script).expect("write");
    std::fs::write(&isl, island).expect("write");
    // The page's script with no page: its filter function is defined, the rest returns at once.
    let runner = r#"
const fs = require("fs"), vm = require("vm");
globalThis.document = { getElementById: () => null };
vm.runInThisContext(fs.readFileSync(process.argv[1], "utf8"));
const ev = JSON.parse(fs.readFileSync(process.argv[2], "utf8")).events;
const out = {};
for (const pid of [4243, 3120, 4242]) { out[pid] = ev.filter((e) => coronerPidMatches(e, pid)).map((e) => e[9]); }
console.log(JSON.stringify(out));
"#;
    match std::process::Command::new("node").args(["-e", runner]).arg(&js).arg(&isl).output() {
        Ok(o) if o.status.success() => {
            let m: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
            assert_eq!(m["4243"], serde_json::json!(["kill(4243, SIGKILL) by bash"]), "{m}");
            assert_eq!(m["3120"], serde_json::json!(["kill(4243, SIGKILL) by bash"]), "the sender too: {m}");
            assert_eq!(m["4242"].as_array().map(Vec::len), Some(2), "the log line and the OOM kill: {m}");
        }
        Ok(o) => panic!("node: {}", String::from_utf8_lossy(&o.stderr)),
        Err(e) => tools::missing(&format!("the script half: no node ({e})")),
    }
}
