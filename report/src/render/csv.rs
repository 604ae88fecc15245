//! `timeline.csv`: the same rows as `timeline.jsonl`, as RFC 4180 CSV with a header row, for Timesketch.
//!
//! Every field that holds a comma, a double quote, CR or LF is quoted, quotes doubled; records end in CRLF.
//! `tag` is comma-joined; `fields` is its JSON text; absent values are empty cells.

use std::io::{self, Write};

use super::jsonl::{row, TimesketchRow};
use super::ReportModel;

/// The header, in column order.
pub const COLUMNS: [&str; 22] = [
    "message",
    "datetime",
    "timestamp_desc",
    "timestamp",
    "hostname",
    "data_type",
    "tag",
    "source",
    "kind",
    "certainty",
    "pid",
    "ppid",
    "uid",
    "user",
    "comm",
    "entry",
    "line",
    "offset",
    "raw",
    "raw_base64",
    "fields",
    "verified",
];

/// One CSV field, quoted when it must be.
pub fn quote(field: &str) -> String {
    let mut out = Vec::new();
    push_cell(&mut out, field);
    String::from_utf8(out).unwrap_or_default()
}

/// Appends one cell: as it is, or between double quotes with quotes doubled when it holds `,` `"` CR or LF.
fn push_cell(out: &mut Vec<u8>, field: &str) {
    if !field.bytes().any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n')) {
        out.extend_from_slice(field.as_bytes());
        return;
    }
    out.push(b'"');
    for part in field.split('"').enumerate() {
        if part.0 > 0 {
            out.extend_from_slice(b"\"\"");
        }
        out.extend_from_slice(part.1.as_bytes());
    }
    out.push(b'"');
}

/// Appends one record (cells separated by commas, CRLF at the end).
fn push_row(out: &mut Vec<u8>, r: &TimesketchRow) {
    fn num(out: &mut Vec<u8>, v: Option<impl std::fmt::Display>) {
        use std::io::Write as _;
        if let Some(v) = v {
            let _ = write!(out, "{v}");
        }
        out.push(b',');
    }
    let text = |out: &mut Vec<u8>, v: &str| {
        push_cell(out, v);
        out.push(b',');
    };
    text(out, r.message);
    text(out, &r.datetime);
    text(out, &r.timestamp_desc);
    num(out, Some(r.timestamp));
    text(out, r.hostname);
    text(out, r.data_type);
    text(out, &r.tag.join(","));
    text(out, r.source);
    text(out, r.kind);
    text(out, r.certainty);
    num(out, r.pid);
    num(out, r.ppid);
    num(out, r.uid);
    text(out, r.user.unwrap_or(""));
    text(out, r.comm.unwrap_or(""));
    text(out, r.entry);
    num(out, r.line);
    num(out, r.offset);
    text(out, &r.raw);
    text(out, r.raw_base64.as_deref().unwrap_or(""));
    if r.fields.is_empty() {
        out.push(b',');
    } else {
        text(out, &serde_json::to_string(r.fields).unwrap_or_default());
    }
    out.extend_from_slice(if r.verified { b"true\r\n" } else { b"false\r\n" });
}

/// Writes the header and one record per event.
pub fn write(model: &ReportModel, w: &mut dyn Write) -> io::Result<()> {
    let mut line = Vec::with_capacity(4096);
    for (i, c) in COLUMNS.iter().enumerate() {
        if i > 0 {
            line.push(b',');
        }
        push_cell(&mut line, c);
    }
    line.extend_from_slice(b"\r\n");
    w.write_all(&line)?;
    for e in model.events {
        line.clear();
        push_row(&mut line, &row(model, e));
        w.write_all(&line)?;
    }
    Ok(())
}

/// The whole CSV document as a string.
pub fn render(model: &ReportModel) -> String {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail; every cell is a Rust string.
    let _ = write(model, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_follows_rfc4180() {
        assert_eq!(quote("plain"), "plain");
        assert_eq!(quote("a,b"), "\"a,b\"");
        assert_eq!(quote("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(quote("two\nlines"), "\"two\nlines\"");
        assert_eq!(quote("cr\r"), "\"cr\r\"");
        assert_eq!(quote(""), "");
    }
}
