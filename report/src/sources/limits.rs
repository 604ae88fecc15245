//! Resource limits: `/proc/PID/limits` text (one `setting` event per limit of that process) and
//! `/etc/security/limits.conf` / `limits.d/*` (`domain type item value` lines). A core-file limit of 0 means a
//! crash leaves no core. Settings are observed at collection: [`Timestamp::Exact`] at `collector.finished`.


use coroner_schemas::manifest::Format;
use coroner_schemas::{Event, Fields};
use serde_json::json;

use super::history::lines;
use super::{ParseProblem, Parsed, SourceCtx};

/// One row of `/proc/PID/limits`. `None` means `unlimited`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limit {
    /// The kernel's name: `Max core file size`.
    pub name: String,
    pub soft: Option<u64>,
    pub hard: Option<u64>,
    /// `bytes`, `seconds`, `processes`, `files`, `signals`, `us`; empty for the nice/rtprio limits.
    pub units: String,
}

fn value(s: &str) -> Option<Option<u64>> {
    if s == "unlimited" {
        Some(None)
    } else {
        s.parse::<u64>().ok().map(Some)
    }
}

/// The kernel prints each row as `%-25s %-20s %-20s %-10s`; names hold spaces, values do not. Rows that do
/// not read (and the header) are skipped.
fn limit_row(l: &str) -> Option<Limit> {
    let l = l.trim_end();
    let toks: Vec<&str> = l.split_whitespace().collect();
    // The first value token: a number or `unlimited` after the name words.
    let first_val = toks.iter().position(|t| value(t).is_some())?;
    if first_val == 0 {
        return None;
    }
    let soft = value(toks.get(first_val)?)?;
    let hard = value(toks.get(first_val + 1)?)?;
    Some(Limit {
        name: toks[..first_val].join(" "),
        soft,
        hard,
        units: toks.get(first_val + 2..).map(|u| u.join(" ")).unwrap_or_default(),
    })
}

/// Every limit in a `/proc/PID/limits` text, in order.
pub fn parse_limits(text: &str) -> Vec<Limit> {
    text.lines().filter_map(limit_row).collect()
}

/// The core-file limit of a `/proc/PID/limits` text: `(soft, hard)`, `None` = unlimited.
pub fn core_limit(text: &str) -> Option<(Option<u64>, Option<u64>)> {
    parse_limits(text)
        .into_iter()
        .find(|l| l.name == "Max core file size")
        .map(|l| (l.soft, l.hard))
}

/// The pid in `/proc/PID/limits`.
fn pid_of(source: &str) -> Option<i64> {
    source.strip_prefix("/proc/")?.split('/').next()?.parse().ok()
}

fn setting(ctx: &SourceCtx, line: u64, offset: u64, raw: &[u8], pid: Option<i64>, message: String, fields: Fields) -> Event {
    Event { pid, ..super::settings::observed(ctx, Some(line), Some(offset), raw, message, fields) }
}

fn show(v: Option<u64>) -> String {
    v.map_or("unlimited".into(), |n| n.to_string())
}

pub fn parse(raw: &[u8], ctx: &SourceCtx) -> Parsed {
    let mut p = Parsed::default();
    let conf = ctx.entry.format == Format::LimitsConf;
    let pid = pid_of(&ctx.entry.source);
    for (line, offset, bytes) in lines(raw) {
        let text = String::from_utf8_lossy(bytes);
        let l = text.trim_end_matches('\r').trim();
        if l.is_empty() || l.starts_with('#') || (!conf && l.starts_with("Limit ")) {
            continue;
        }
        let mut f: Fields = Fields::new();
        f.insert("file".into(), json!(ctx.entry.source));
        if conf {
            let w: Vec<&str> = l.split_whitespace().collect();
            if w.len() < 4 {
                p.problems.push(ParseProblem::at_line(
                    ctx,
                    line,
                    "limits.conf line needs domain, type, item and value",
                ));
                continue;
            }
            let name = format!("limits.conf:{}:{}:{}", w[0], w[1], w[2]);
            let value = w[3..].join(" ");
            f.insert("name".into(), json!(name));
            f.insert("value".into(), json!(value));
            f.insert("domain".into(), json!(w[0]));
            f.insert("type".into(), json!(w[1]));
            f.insert("item".into(), json!(w[2]));
            let msg = format!("{name} = {value}");
            p.events.push(setting(ctx, line, offset, bytes, None, msg, f));
        } else {
            let Some(lim) = limit_row(l) else {
                p.problems
                    .push(ParseProblem::at_line(ctx, line, "unreadable limits row"));
                continue;
            };
            let name = format!("rlimit:{}", lim.name);
            f.insert("name".into(), json!(name));
            f.insert("value".into(), json!(show(lim.soft)));
            f.insert("soft".into(), json!(lim.soft));
            f.insert("hard".into(), json!(lim.hard));
            f.insert("units".into(), json!(lim.units));
            let who = pid.map_or(String::new(), |p| format!("pid {p} "));
            let msg = format!(
                "{who}{}: soft {} hard {} {}",
                lim.name,
                show(lim.soft),
                show(lim.hard),
                lim.units
            );
            p.events
                .push(setting(ctx, line, offset, bytes, pid, msg.trim_end().to_owned(), f));
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `cat /proc/self/limits` on this Debian 12 / 6.18 VM (head).
    const REAL: &str = "Limit                     Soft Limit           Hard Limit           Units     \n\
Max cpu time              unlimited            unlimited            seconds   \n\
Max core file size        0                    unlimited            bytes     \n\
Max open files            1024                 1048576              files     \n\
Max nice priority         0                    0                    \n\
Max realtime timeout      unlimited            unlimited            us        \n";

    #[test]
    fn parses_proc_limits() {
        let l = parse_limits(REAL);
        assert_eq!(l.len(), 5);
        assert_eq!(
            l[1],
            Limit {
                name: "Max core file size".into(),
                soft: Some(0),
                hard: None,
                units: "bytes".into()
            }
        );
        assert_eq!(l[2].hard, Some(1_048_576));
        assert_eq!(l[3].units, "");
        assert_eq!(core_limit(REAL), Some((Some(0), None)));
        assert!(parse_limits("garbage\n\u{0}\nMax x\n").is_empty());
    }
}
