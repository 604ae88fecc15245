//! bash `~/.bash_history` (with `HISTTIMEFORMAT` set, each command follows a `#EPOCH` line) and tcsh
//! `~/.history` (`#+EPOCH` lines before each command).
//!
//! A dated entry runs from its stamp to the next stamp: bash with `lithist` (or a quoted newline, or a
//! here-doc) writes a multi-line command as several lines after one stamp, and reads them back as one entry
//! (readline's histfile.c joins lines until the next timestamp). tcsh writes a `\`-newline the same way.
//! Undated lines (no stamp before them) are one command each, as bash reads an untimed file.

use coroner_schemas::Fields;

use super::{epoch, lines, HistRecord};
use crate::sources::{ParseProblem, SourceCtx};

/// `stamp` is the timestamp-line prefix: `#` for bash, `#+` for tcsh. A `#`-line that is not a stamp is kept
/// as a command, or as a line of the dated entry it follows (bash itself replays it as a comment).
pub fn parse_records(raw: &[u8], stamp: &[u8], ctx: &SourceCtx, problems: &mut Vec<ParseProblem>) -> Vec<HistRecord> {
    let mut out: Vec<HistRecord> = Vec::new();
    let mut pending: Option<(i64, u64)> = None;
    // The last record is dated and takes every line up to the next stamp.
    let mut open = false;
    // Blank lines seen inside an open entry: kept only if more of the entry follows (bash ends a here-doc
    // entry with an empty line, which is not part of the command).
    let mut blanks: Vec<&[u8]> = Vec::new();
    for (line, offset, l) in lines(raw) {
        let text = l.strip_suffix(b"\r").unwrap_or(l);
        if let Some(t) = text.strip_prefix(stamp).and_then(epoch) {
            if let Some((_, at)) = pending {
                problems.push(ParseProblem::at_line(ctx, at, "timestamp line with no command after it"));
            }
            pending = Some((t, line));
            open = false;
            blanks.clear();
            continue;
        }
        let blank = text.iter().all(u8::is_ascii_whitespace);
        if open {
            if let Some(last) = out.last_mut() {
                if blank {
                    blanks.push(l);
                } else {
                    for b in blanks.drain(..).chain([l]) {
                        last.raw.push(b'\n');
                        last.raw.extend_from_slice(b);
                        last.command.push(b'\n');
                        last.command.extend_from_slice(b.strip_suffix(b"\r").unwrap_or(b));
                    }
                }
                continue;
            }
        }
        if blank {
            continue;
        }
        let when = pending.take().map(|(t, _)| t);
        open = when.is_some();
        out.push(HistRecord {
            line,
            offset,
            raw: l.to_vec(),
            command: text.to_vec(),
            when,
            extra: Fields::new(),
        });
    }
    if let Some((_, at)) = pending {
        problems.push(ParseProblem::at_line(ctx, at, "timestamp line with no command after it"));
    }
    out
}
