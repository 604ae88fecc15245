//! `timeline.csv`: the same rows as `timeline.jsonl`, as RFC 4180 CSV with a header row, for Timesketch.
//!
//! Every field that holds a comma, a double quote, CR or LF is quoted, quotes doubled; records end in CRLF.
//! `tag` is comma-joined; `fields` is its JSON text; absent values are empty cells. Timesketch reads CSV with
//! pandas, which makes a column with an empty cell floating-point (`5147.0`): `timeline.jsonl` is the import
//! that keeps every type.

use std::io::{self, Write};

use coroner_schemas::Event;

use super::json_out::push_fields;
use super::jsonl::{data_type, parts, push_base64};
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
    push_cell(&mut out, field.as_bytes());
    String::from_utf8(out).unwrap_or_default()
}

/// Appends one cell: as it is, or between double quotes with quotes doubled when it holds `,` `"` CR or LF.
fn push_cell(out: &mut Vec<u8>, b: &[u8]) {
    if memchr::memchr3(b',', b'"', b'\n', b).is_none() && memchr::memchr(b'\r', b).is_none() {
        out.extend_from_slice(b);
        return;
    }
    out.push(b'"');
    let mut from = 0;
    for q in memchr::memchr_iter(b'"', b) {
        out.extend_from_slice(&b[from..=q]);
        out.push(b'"');
        from = q + 1;
    }
    out.extend_from_slice(&b[from..]);
    out.push(b'"');
}

/// Appends one record (cells separated by commas, CRLF at the end). `scratch` is reused for the fields'
/// JSON text.
fn push_row(out: &mut Vec<u8>, scratch: &mut Vec<u8>, model: &ReportModel, e: &Event) {
    use super::json_out::push_int;
    let p = parts(model, e);
    fn num(out: &mut Vec<u8>, v: Option<impl Into<i128>>) {
        if let Some(v) = v {
            push_int(out, v);
        }
        out.push(b',');
    }
    let text = |out: &mut Vec<u8>, v: &str| {
        push_cell(out, v.as_bytes());
        out.push(b',');
    };
    text(out, p.message);
    text(out, &p.datetime);
    text(out, &p.timestamp_desc);
    num(out, Some(p.timestamp));
    text(out, &model.manifest.host.hostname);
    text(out, data_type(e.source, e.kind));
    scratch.clear();
    for (i, t) in p.tags().iter().enumerate() {
        if i > 0 {
            scratch.push(b',');
        }
        scratch.extend_from_slice(t.as_bytes());
    }
    push_cell(out, scratch);
    out.push(b',');
    text(out, e.source.as_str());
    text(out, e.kind.as_str());
    text(out, e.timestamp.certainty());
    num(out, e.pid);
    num(out, e.ppid);
    num(out, e.uid);
    text(out, e.user.as_deref().unwrap_or(""));
    text(out, e.comm.as_deref().unwrap_or(""));
    text(out, &e.origin.entry);
    num(out, e.origin.line);
    num(out, e.origin.offset);
    text(out, &p.raw);
    // Base64 holds no character that needs quoting.
    if let Some(b) = p.base64_of {
        push_base64(out, b);
    }
    out.push(b',');
    if e.fields.is_empty() {
        out.push(b',');
    } else {
        scratch.clear();
        push_fields(scratch, &e.fields);
        push_cell(out, scratch);
        out.push(b',');
    }
    out.extend_from_slice(if p.verified { b"true\r\n" } else { b"false\r\n" });
}

/// Writes the header and one record per event.
pub fn write(model: &ReportModel, w: &mut dyn Write) -> io::Result<()> {
    let mut line = Vec::with_capacity(super::json_out::CHUNK + (64 << 10));
    for (i, c) in COLUMNS.iter().enumerate() {
        if i > 0 {
            line.push(b',');
        }
        push_cell(&mut line, c.as_bytes());
    }
    line.extend_from_slice(b"\r\n");
    let mut scratch = Vec::with_capacity(1024);
    for e in model.events {
        push_row(&mut line, &mut scratch, model, e);
        super::json_out::flush_full(&mut line, w)?;
    }
    w.write_all(&line)
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
