//! bash `~/.bash_history` (with `HISTTIMEFORMAT` set, each command follows a `#EPOCH` line) and tcsh
//! `~/.history` (`#+EPOCH` lines before each command).

use coroner_schemas::Fields;

use super::{epoch, lines, HistRecord};
use crate::sources::{ParseProblem, SourceCtx};

/// `stamp` is the timestamp-line prefix: `#` for bash, `#+` for tcsh. A `#`-line that is not a stamp is kept
/// as a command (bash itself replays it as a comment).
pub fn parse_records(raw: &[u8], stamp: &[u8], ctx: &SourceCtx, problems: &mut Vec<ParseProblem>) -> Vec<HistRecord> {
    let mut out = Vec::new();
    let mut pending: Option<(i64, u64)> = None;
    for (line, offset, l) in lines(raw) {
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        if let Some(t) = l.strip_prefix(stamp).and_then(epoch) {
            if let Some((_, at)) = pending {
                problems.push(ParseProblem::at_line(
                    ctx,
                    at,
                    "timestamp line with no command after it",
                ));
            }
            pending = Some((t, line));
            continue;
        }
        if l.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        out.push(HistRecord {
            line,
            offset,
            raw: l.to_vec(),
            command: l.to_vec(),
            when: pending.take().map(|(t, _)| t),
            extra: Fields::new(),
        });
    }
    if let Some((_, at)) = pending {
        problems.push(ParseProblem::at_line(
            ctx,
            at,
            "timestamp line with no command after it",
        ));
    }
    out
}
