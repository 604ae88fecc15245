//! report.md: hostile evidence cannot inject Markdown or HTML, tables keep their shape, findings lead,
//! the UNVERIFIED banner, the bounded timeline, and a golden snapshot.

#[path = "common/tools.rs"]
mod tools;
#[path = "render_html_model.rs"]
mod model;

use coroner_report::render::{escape, markdown};

/// The text outside code spans (CommonMark: a run of N backticks closes only at a run of exactly N).
fn outside_code(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            out.push_str(&s[i..i + 2]);
            i += 2;
            continue;
        }
        if b[i] == b'`' {
            let start = i;
            while i < b.len() && b[i] == b'`' {
                i += 1;
            }
            let n = i - start;
            // Find the closing run of exactly n backticks.
            let mut j = i;
            let mut closed = None;
            while j < b.len() {
                if b[j] == b'`' {
                    let rs = j;
                    while j < b.len() && b[j] == b'`' {
                        j += 1;
                    }
                    if j - rs == n {
                        closed = Some(j);
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            match closed {
                Some(end) => {
                    out.push_str(" CODE ");
                    i = end;
                }
                None => out.push_str(&s[start..i]),
            }
            continue;
        }
        let c = s[i..].chars().next().expect("char");
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// Pipes that split a GFM table row: not preceded by a backslash.
fn cell_pipes(row: &str) -> usize {
    let b = row.as_bytes();
    (0..b.len()).filter(|&i| b[i] == b'|' && (i == 0 || b[i - 1] != b'\\')).count()
}

#[test]
fn hostile_evidence_cannot_inject() {
    let out = markdown::render(&model::small(true).model());
    let prose = outside_code(&out);
    let lower = prose.to_lowercase();
    assert!(!lower.contains("<script"), "raw script outside code spans");
    assert!(!lower.contains("<img"), "raw img outside code spans");
    assert!(!lower.contains('<'), "no HTML tag can start outside code spans");
    assert!(!prose.contains("](javascript:"), "link injection outside code");
    assert!(!prose.contains("]("), "no link at all outside code");
    assert!(!lower.contains("http://") && !lower.contains("www."), "no autolink");
    // Inside code spans, evidence is literal; the fence is longer than any backtick run in it.
    assert!(
        out.contains("``` echo `id` | tee /tmp/x ``y`` |\\nkill -9 4242 \\xff\\xfe # <img src=x onerror=alert(2)> ```")
    );
    // The hostile comm is shown, escaped as text.
    assert!(out.contains("&lt;script&gt;alert\\(1\\)&lt;/script&gt;"));
    assert!(out.contains("\\]\\(javascript:alert\\(1\\)\\)"));
    // A hostile container name and pod name: shown as escaped text (the checks above cover injection).
    assert!(out.contains("&lt;svg onload=alert\\(3\\)&gt;web"), "container name");
    assert!(out.contains("\\]\\(javascript:alert\\(4\\)\\)"), "pod name");
    assert!(out.contains("| Container reason | memory\\_limit |") || out.contains("| Container reason | memory_limit |"), "container reason");
    // No control characters at all.
    assert!(!out.chars().any(|c| c.is_control() && c != '\n'));
}

#[test]
fn tables_keep_their_shape() {
    let out = markdown::render(&model::small(true).model());
    let mut in_table: Option<usize> = None;
    let mut tables = 0;
    for line in out.lines() {
        if line.starts_with('|') {
            let n = cell_pipes(line);
            match in_table {
                None => {
                    in_table = Some(n);
                    tables += 1;
                }
                Some(expected) => assert_eq!(n, expected, "row breaks its table: {line}"),
            }
            assert!(line.ends_with('|'), "row does not end with a pipe: {line}");
        } else {
            in_table = None;
        }
    }
    // facts, 2 findings, checklist, coverage, timeline
    assert_eq!(tables, 6);
}

#[test]
fn findings_lead_and_are_complete() {
    let out = markdown::render(&model::small(true).model());
    let f = out.find("## Findings").expect("findings");
    for later in ["## Checklist", "## Advisories", "## Source coverage", "## Problems", "## Timeline"] {
        assert!(out.find(later).expect(later) > f);
    }
    for must in [
        "### F1 — ",
        ": OOM kill\n",
        "| Signal | SIGKILL \\(9\\) |",
        "| Confidence | **certain** |",
        "| Confidence | **likely** |",
        "| Via | kernel |",
        "` live/kmsg:88 `",
        "` auditctl -a always,exit -F arch=b64 -S kill -S tkill -S tgkill -k coroner-kill `",
        "- audit EXECVE record of the kill command",
        "| Parent chain | bash ← sshd |",
    ] {
        assert!(out.contains(must), "missing {must:?}");
    }
}

#[test]
fn unverified_banner_only_when_unverified() {
    let good = markdown::render(&model::small(true).model());
    assert!(!good.contains("UNVERIFIED"));
    assert!(good.contains("**Verification:** verified"));
    let bad = markdown::render(&model::small(false).model());
    assert!(bad.contains("> **UNVERIFIED** — verification **failed**"));
    let mut skipped = model::small(true);
    skipped.verification.skipped = true;
    assert!(markdown::render(&skipped.model()).contains("> **UNVERIFIED** — rendered with `--no-verify`"));
}

#[test]
fn timeline_is_bounded_around_notable_events() {
    let owned = model::big(1_000_000);
    let out = markdown::render(&owned.model());
    let rows = out.lines().filter(|l| l.starts_with("| ") && l.contains("` fs/var/log/syslog:")).count();
    // 10 notable events, each with 3 neighbours either side.
    assert_eq!(rows, 70);
    assert!(rows <= markdown::MAX_ROWS);
    assert!(out.contains("*49997 event(s) not shown*"));
    assert!(out.len() < 64 * 1024, "markdown is {} bytes", out.len());
}

#[test]
fn same_model_same_bytes() {
    assert_eq!(markdown::render(&model::small(false).model()), markdown::render(&model::small(false).model()));
}

#[test]
fn golden_small_report() {
    insta::assert_snapshot!("small_report_md", markdown::render(&model::small(false).model()));
}

/// The Markdown a postmortem pastes holds the first MAX_FINDINGS findings in full, and an overview that counts
/// every finding by cause and confidence.
#[test]
fn findings_over_the_cap_are_counted_not_listed() {
    let cap = markdown::MAX_FINDINGS;
    let md = markdown::render(&model::many_findings(cap).model());
    let section = |md: &str| md[md.find("## Findings").expect("findings")..md.find("## Checklist").expect("checklist")].to_owned();
    assert_eq!(section(&md).matches("\n### ").count(), cap);
    assert!(!md.contains("holds every one"));

    let md = markdown::render(&model::many_findings(cap + 3).model());
    let s = section(&md);
    assert_eq!(s.matches("\n### ").count(), cap);
    assert!(s.contains(&format!("**{} findings: the first {cap} (in time order) follow in full", cap + 3)));
    let table = &s[s.find("| Cause | Confidence | Findings |").expect("overview")..];
    let total: usize = table
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| l.trim_end_matches(" |").rsplit("| ").next()?.parse::<usize>().ok())
        .sum();
    assert_eq!(total, cap + 3);
}

/// GitHub's renderer (cmark-gfm with its autolink and table extensions), when installed: the `cmark-gfm`
/// program (Debian `cmark-gfm`) or Python's `cmarkgfm`. `None` when neither is.
fn gfm(md: &str) -> Option<String> {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let run = |mut c: Command| -> Option<String> {
        let mut child = c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().ok()?;
        child.stdin.take()?.write_all(md.as_bytes()).ok()?;
        let o = child.wait_with_output().ok()?;
        o.status.success().then(|| String::from_utf8_lossy(&o.stdout).into_owned())
    };
    let mut bin = Command::new("cmark-gfm");
    bin.args(["-e", "autolink", "-e", "table", "-e", "strikethrough"]);
    run(bin).or_else(|| {
        let mut py = Command::new("python3");
        py.args(["-c", "import sys, cmarkgfm; sys.stdout.write(cmarkgfm.github_flavored_markdown_to_html(sys.stdin.read()))"]);
        run(py)
    })
}

/// Regression: an email address in evidence became a mailto: link on GitHub (`\@` does not stop GFM's email
/// autolink), and `://`/`www.` were defanged into other text (`[:]`). Under the real renderer no evidence
/// string links, in a paragraph or a table cell, and each shows exactly as written.
#[test]
fn evidence_never_autolinks_under_gfm_and_shows_as_written() {
    let hostile = [
        "mail alice@example.com now",
        "mailto:bob@evil.example",
        "xmpp:eve@chat.example",
        "http://evil.example/x?a=1",
        "HTTPS://EVIL.EXAMPLE",
        "ftp://files.example/p",
        "see www.evil.example.",
        "user:pw@host.example",
        "@mallory please",
        "a.b-c+d_e@f-g.example.org",
    ];
    let mut md = String::new();
    for h in hostile {
        md.push_str(&format!("{}\n\n| x |\n|---|\n| {} |\n\n", escape::md_inline(h), escape::md_inline(h)));
    }
    let Some(html) = gfm(&md) else {
        tools::missing("neither cmark-gfm nor python3's cmarkgfm is installed");
        return;
    };
    assert!(!html.contains("<a "), "a link was made:\n{html}");
    let text = html.replace('\u{2060}', "").replace("&amp;", "&").replace("&quot;", "\"");
    for h in hostile {
        assert_eq!(text.matches(&format!("<p>{h}</p>")).count(), 1, "{h:?} not shown as written:\n{html}");
        assert_eq!(text.matches(&format!("<td>{h}</td>")).count(), 1, "{h:?} not shown as written in a cell:\n{html}");
    }
    // The whole hostile sample report renders without a link either.
    let report = gfm(&markdown::render(&model::small(true).model())).unwrap_or_default();
    assert!(report.contains("<table>") && !report.contains("<a "), "{report}");
}
