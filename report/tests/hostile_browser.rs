//! report.html of the hostile bundles (common/hostile.rs) in a real browser: headless Chromium, driven by
//! tests/hostile_browser.py, loads each page from a file:// URL, types every payload into the page's filter
//! boxes, and fails on a changed title, a console message or dialog, or any Content-Security-Policy violation.
//! Needs Debian's chromium, chromium-driver and python3-selenium (.ci/run installs them); marked "needs root"
//! so CI runs it with the real-host tests.

mod common;
#[path = "common/hostile.rs"]
mod hostile;
#[path = "common/live.rs"]
mod live;
#[path = "common/tools.rs"]
mod tools;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

use coroner_report::render::escape;

/// The `<title>` the page was written with.
fn title(page: &Path) -> String {
    let doc = scraper::Html::parse_document(&std::fs::read_to_string(page).expect("report.html"));
    let sel = scraper::Selector::parse("head > title").expect("selector");
    doc.select(&sel).next().expect("title").text().collect()
}

#[test]
#[ignore = "needs root"]
fn hostile_browser_runs_no_payload_and_reports_no_csp_violation() {
    if !Path::new("/usr/bin/chromium").exists() || !Path::new("/usr/bin/chromedriver").exists() {
        tools::missing("Chromium is not installed (apt-get install chromium chromium-driver)");
        return;
    }
    let Some(python) = tools::python_with("selenium") else {
        tools::missing("python3 with selenium is not installed (apt-get install python3-selenium)");
        return;
    };
    let payloads = hostile::payloads();
    let run = hostile::run(&payloads);
    // Typed as they are (the raw text: controls, bidi, NUL) and as each page shows them, which must find the
    // events that carry them: the collected bundle's records keep invalid bytes (`\xff`); the journal's
    // MESSAGE is a string, so there they show as U+FFFD and the exact bytes stay in its raw record.
    let typed: Vec<String> = payloads.iter().map(|p| String::from_utf8_lossy(&p.bytes).into_owned()).collect();
    let exact: Vec<String> = payloads.iter().map(|p| escape::visible_bytes(&p.bytes, false)).collect();
    let lossy: Vec<String> = typed.iter().map(|t| escape::visible(t, false)).collect();
    let pages: Vec<serde_json::Value> = [(run.report.join("report.html"), exact), (run.journal_report.join("report.html"), lossy)]
        .iter()
        .map(|(p, find)| serde_json::json!({"path": p.canonicalize().expect("path"), "title": title(p), "find": find}))
        .collect();
    let cases = run.dir.path().join("cases.json");
    std::fs::write(&cases, serde_json::to_vec(&serde_json::json!({"pages": pages, "typed": typed})).expect("json")).expect("write cases");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile_browser.py");
    let mut child = Command::new(python).arg(&script).arg(&cases).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("run the browser script");
    let status = live::wait_bounded(&mut child, 300);
    let (mut out, mut err) = (String::new(), String::new());
    child.stdout.take().expect("stdout").read_to_string(&mut out).expect("read stdout");
    child.stderr.take().expect("stderr").read_to_string(&mut err).expect("read stderr");
    eprintln!("{out}");
    assert!(status.success(), "the browser saw evidence act as code, or could not run ({status}):\n{out}\n{err}");
    let report: serde_json::Value = serde_json::from_str(&out).expect("the script's JSON");
    assert_eq!(report["pages"].as_array().map(Vec::len), Some(2), "both pages loaded");
}
