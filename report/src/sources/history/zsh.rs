//! zsh `~/.zsh_history`. With `EXTENDED_HISTORY` a record is `: START:ELAPSED;COMMAND`; without it, the bare
//! command. A command holding newlines is stored with each inner newline preceded by a backslash, so a line
//! ending in `\` continues on the next. Bytes 0x83–0x9f and NUL are "metafied": written as 0x83 followed by
//! the byte XOR 0x20 (zsh's `Meta`).

use coroner_schemas::Fields;

use serde_json::json;

use super::{epoch, lines, HistRecord};
use crate::sources::{ParseProblem, SourceCtx};

const META: u8 = 0x83;

/// Undoes zsh's metafication.
pub fn unmetafy(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == META {
            if let Some(&n) = b.get(i + 1) {
                out.push(n ^ 0x20);
                i += 2;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// Whether a raw line ends in an unescaped backslash (so the record continues). An even run of backslashes
/// is escaped backslashes.
fn continues(l: &[u8]) -> bool {
    l.iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 1
}

pub fn parse_records(raw: &[u8], ctx: &SourceCtx, problems: &mut Vec<ParseProblem>) -> Vec<HistRecord> {
    let mut out: Vec<HistRecord> = Vec::new();
    let mut open = false;
    for (line, offset, l) in lines(raw) {
        if open {
            if let Some(last) = out.last_mut() {
                last.raw.push(b'\n');
                last.raw.extend_from_slice(l);
                // The continuation backslash stands for the newline.
                last.command.pop();
                last.command.push(b'\n');
                last.command.extend_from_slice(l);
                open = continues(l);
                continue;
            }
        }
        if l.is_empty() {
            continue;
        }
        let mut rec = HistRecord {
            line,
            offset,
            raw: l.to_vec(),
            command: l.to_vec(),
            when: None,
            extra: Fields::new(),
        };
        if let Some(rest) = l.strip_prefix(b": ") {
            match rest.iter().position(|&b| b == b';') {
                Some(semi) => {
                    let head = &rest[..semi];
                    let (start, elapsed) = match head.iter().position(|&b| b == b':') {
                        Some(c) => (&head[..c], Some(&head[c + 1..])),
                        None => (head, None),
                    };
                    match epoch(start) {
                        Some(t) => {
                            rec.when = Some(t);
                            rec.command = rest[semi + 1..].to_vec();
                            if let Some(d) = elapsed.and_then(epoch) {
                                rec.extra.insert("duration_s".into(), json!(d));
                            }
                        }
                        None => problems.push(ParseProblem::at_line(
                            ctx,
                            line,
                            "zsh extended-history header without a valid start time",
                        )),
                    }
                }
                None => problems.push(ParseProblem::at_line(
                    ctx,
                    line,
                    "zsh extended-history header without `;`",
                )),
            }
        }
        open = continues(l);
        out.push(rec);
    }
    for r in &mut out {
        r.command = unmetafy(&r.command);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmetafy_undoes_meta() {
        // 'é' is C3 A9; zsh writes A9 unchanged but 0x83..0x9f and NUL get escaped.
        assert_eq!(unmetafy(&[b'a', 0x83, 0xa3, b'b']), vec![b'a', 0x83, b'b']);
        assert_eq!(unmetafy(&[0x83, 0x20]), vec![0]);
        assert_eq!(unmetafy(&[b'x', 0x83]), vec![b'x', 0x83]);
        assert!(continues(b"a \\"));
        assert!(!continues(b"a \\\\"));
    }
}
