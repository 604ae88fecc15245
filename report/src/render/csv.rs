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
    if field.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

fn cells(r: &TimesketchRow) -> [String; 22] {
    [
        r.message.to_owned(),
        r.datetime.clone(),
        r.timestamp_desc.clone(),
        r.timestamp.to_string(),
        r.hostname.to_owned(),
        r.data_type.clone(),
        r.tag.join(","),
        r.source.clone(),
        r.kind.clone(),
        r.certainty.to_owned(),
        opt(r.pid),
        opt(r.ppid),
        opt(r.uid),
        opt(r.user),
        opt(r.comm),
        r.entry.to_owned(),
        opt(r.line),
        opt(r.offset),
        r.raw.to_string(),
        r.raw_base64.clone().unwrap_or_default(),
        if r.fields.is_empty() {
            String::new()
        } else {
            serde_json::to_string(r.fields).unwrap_or_default()
        },
        r.verified.to_string(),
    ]
}

fn write_record(w: &mut dyn Write, fields: &[String]) -> io::Result<()> {
    let line: Vec<String> = fields.iter().map(|f| quote(f)).collect();
    w.write_all(line.join(",").as_bytes())?;
    w.write_all(b"\r\n")
}

/// Writes the header and one record per event.
pub fn write(model: &ReportModel, w: &mut dyn Write) -> io::Result<()> {
    let header: Vec<String> = COLUMNS.iter().map(|c| (*c).to_owned()).collect();
    write_record(w, &header)?;
    for e in model.events {
        write_record(w, &cells(&row(model, e)))?;
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
