//! fish `~/.local/share/fish/fish_history`: a YAML-like list.
//! ```text
//! - cmd: kill -9 1234
//!   when: 1700000000
//!   paths:
//!     - /tmp
//! ```
//! fish escapes a newline in a command as `\n` and a backslash as `\\`.

use coroner_schemas::Fields;

use serde_json::json;

use super::{epoch, lines, HistRecord};
use crate::sources::{ParseProblem, SourceCtx};

/// Undoes fish's history escaping (`\n` → newline, `\\` → backslash; anything else is kept).
pub fn unescape(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match (b[i], b.get(i + 1)) {
            (b'\\', Some(b'n')) => {
                out.push(b'\n');
                i += 2;
            }
            (b'\\', Some(b'\\')) => {
                out.push(b'\\');
                i += 2;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

pub fn parse_records(raw: &[u8], ctx: &SourceCtx, problems: &mut Vec<ParseProblem>) -> Vec<HistRecord> {
    let mut out: Vec<HistRecord> = Vec::new();
    let mut paths: Vec<String> = Vec::new();
    let mut in_paths = false;
    let finish = |out: &mut Vec<HistRecord>, paths: &mut Vec<String>| {
        if let Some(last) = out.last_mut() {
            if !paths.is_empty() {
                last.extra.insert("paths".into(), json!(std::mem::take(paths)));
            }
        }
    };
    for (line, offset, l) in lines(raw) {
        if let Some(cmd) = l
            .strip_prefix(b"- cmd: ")
            .or_else(|| (l == b"- cmd:").then_some(&b""[..]))
        {
            finish(&mut out, &mut paths);
            in_paths = false;
            out.push(HistRecord {
                line,
                offset,
                raw: l.to_vec(),
                command: unescape(cmd),
                when: None,
                extra: Fields::new(),
            });
            continue;
        }
        let Some(last) = out.last_mut() else {
            if !l.is_empty() {
                problems.push(ParseProblem::at_line(
                    ctx,
                    line,
                    "fish history line before any `- cmd:`",
                ));
            }
            continue;
        };
        last.raw.push(b'\n');
        last.raw.extend_from_slice(l);
        if let Some(w) = l.strip_prefix(b"  when: ") {
            in_paths = false;
            match epoch(w) {
                Some(t) => last.when = Some(t),
                None => problems.push(ParseProblem::at_line(ctx, line, "fish `when:` is not an epoch")),
            }
        } else if l == b"  paths:" {
            in_paths = true;
        } else if let (true, Some(p)) = (in_paths, l.strip_prefix(b"    - ")) {
            paths.push(String::from_utf8_lossy(&unescape(p)).into_owned());
        } else if !l.is_empty() {
            problems.push(ParseProblem::at_line(ctx, line, "unrecognised fish history line"));
        }
    }
    finish(&mut out, &mut paths);
    out
}
