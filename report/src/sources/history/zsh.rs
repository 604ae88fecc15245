//! zsh `~/.zsh_history`. With `EXTENDED_HISTORY` a record is `: START:ELAPSED;COMMAND`; without it, the bare
//! command. A command holding newlines is stored with each inner newline preceded by a backslash, so a line
//! ending in `\` continues on the next; a command that itself ends in `\` is saved with one space after it,
//! which zsh drops on reading (Src/hist.c `readhistline`). NUL and bytes 0x83–0xa2 (`Meta`, the tokens,
//! `Marker`) are "metafied": written as 0x83 followed by the byte XOR 0x20.

use coroner_schemas::Fields;

use serde_json::json;

use super::{epoch, lines, HistRecord};
use crate::sources::{ParseProblem, SourceCtx};

const META: u8 = 0x83;

/// Whether zsh metafies byte `b` (NUL, `Meta` 0x83, tokens `Pound` 0x84 to `Nularg` 0xa1, `Marker` 0xa2).
fn is_meta(b: u8) -> bool {
    b == 0 || (META..=0xa2).contains(&b)
}

/// Undoes zsh's metafication. Returns the bytes and whether some 0x83 was not followed by a metafied byte
/// (such a pair is kept as it is: the file was not metafied by zsh there, and XORing would misread it).
pub fn unmetafy(b: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::with_capacity(b.len());
    let mut odd = false;
    let mut i = 0;
    while i < b.len() {
        if b[i] == META {
            match b.get(i + 1).map(|&n| n ^ 0x20) {
                Some(m) if is_meta(m) => {
                    out.push(m);
                    i += 2;
                    continue;
                }
                _ => odd = true,
            }
        }
        out.push(b[i]);
        i += 1;
    }
    (out, odd)
}

/// Whether a stored line continues on the next: zsh reads any line ending in `\` as continued, however many
/// backslashes come before it (its writer pads a command ending in `\` with a space, so no command ends so).
fn continues(l: &[u8]) -> bool {
    l.last() == Some(&b'\\')
}

/// Drops the space zsh's writer put after a command's final backslash (`echo \ ` reads as `echo \`): if the
/// command ends in a backslash and one or more spaces, one space goes, as in zsh's `readhistline`.
fn drop_pad(cmd: &mut Vec<u8>) {
    let spaces = cmd.iter().rev().take_while(|&&b| b == b' ').count();
    if spaces > 0 && cmd.len() > spaces && cmd[cmd.len() - spaces - 1] == b'\\' {
        cmd.pop();
    }
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
        drop_pad(&mut r.command);
        let (command, odd) = unmetafy(&r.command);
        if odd {
            problems.push(ParseProblem::at_line(
                ctx,
                r.line,
                "zsh history byte 0x83 (Meta) not followed by a metafied byte; kept as is",
            ));
        }
        r.command = command;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmetafy_undoes_meta() {
        // 'é' is C3 A9; zsh writes A9 unchanged but NUL and 0x83..0xa2 get escaped.
        assert_eq!(unmetafy(&[b'a', 0x83, 0xa3, b'b']), (vec![b'a', 0x83, b'b'], false));
        assert_eq!(unmetafy(&[0x83, 0x20]), (vec![0], false));
        assert_eq!(unmetafy(&[0x83, 0x82]), (vec![0xa2], false));
        // A lone or unmetafied 0x83 (UTF-8 'σ' is CF 83) is kept and flagged, not XORed into another byte.
        assert_eq!(unmetafy(&[b'x', 0x83]), (vec![b'x', 0x83], true));
        assert_eq!(unmetafy(&[0xcf, 0x83, b'x']), (vec![0xcf, 0x83, b'x'], true));
    }

    #[test]
    fn continuation_and_pad_follow_readhistline() {
        assert!(continues(b"a \\"));
        // `kill -9 \` + newline: the command's own backslash, then the one standing for the newline.
        assert!(continues(b"a \\\\"));
        assert!(!continues(b"a \\ "));
        let mut c = b"echo \\ ".to_vec();
        drop_pad(&mut c);
        assert_eq!(c, b"echo \\");
        let mut c = b"echo \\  ".to_vec();
        drop_pad(&mut c);
        assert_eq!(c, b"echo \\ ");
        let mut c = b"echo a ".to_vec();
        drop_pad(&mut c);
        assert_eq!(c, b"echo a ");
    }
}
