//! `timeline.csv`: the same rows as `timeline.jsonl`, as RFC 4180 CSV with a header row, for Timesketch.
//!
//! Every field that holds a comma, a double quote, CR or LF is quoted, quotes doubled; records end in CRLF.
//! `tag` is comma-joined; `fields` is its JSON text; absent values are empty cells. Timesketch reads CSV with
//! pandas, which makes a column with an empty cell floating-point (`5147.0`): `timeline.jsonl` is the import
//! that keeps every type.

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

/// Writes the header and one record per event.
pub fn write(model: &ReportModel, w: &mut dyn Write) -> io::Result<()> {
    let mut out = csv::WriterBuilder::new()
        .has_headers(false)
        .terminator(csv::Terminator::CRLF)
        .buffer_capacity(1 << 20)
        .from_writer(w);
    out.write_record(COLUMNS)?;
    let mut buf = Vec::with_capacity(1024);
    for e in model.events {
        write_row(&mut out, &mut buf, &row(model, e))?;
    }
    out.flush()
}

/// One record. `buf` is reused for the fields' JSON text.
fn write_row<W: Write>(out: &mut csv::Writer<W>, buf: &mut Vec<u8>, r: &TimesketchRow) -> csv::Result<()> {
    out.write_field(r.message)?;
    out.write_field(&r.datetime)?;
    out.write_field(r.timestamp_desc.as_ref())?;
    int(out, Some(r.timestamp))?;
    out.write_field(r.hostname)?;
    out.write_field(r.data_type)?;
    out.write_field(r.tag.join(","))?;
    out.write_field(r.source)?;
    out.write_field(r.kind)?;
    out.write_field(r.certainty)?;
    int(out, r.pid)?;
    int(out, r.ppid)?;
    int(out, r.uid)?;
    out.write_field(r.user.unwrap_or_default())?;
    out.write_field(r.comm.unwrap_or_default())?;
    out.write_field(r.entry)?;
    int(out, r.line)?;
    int(out, r.offset)?;
    out.write_field(r.raw.as_ref())?;
    out.write_field(r.raw_base64.as_deref().unwrap_or_default())?;
    buf.clear();
    if !r.fields.is_empty() {
        serde_json::to_writer(&mut *buf, r.fields).map_err(io::Error::from)?;
    }
    out.write_field(&*buf)?;
    out.write_field(if r.verified { "true" } else { "false" })?;
    out.write_record(None::<&[u8]>)
}

/// An integer cell, or an empty one.
fn int<W: Write>(out: &mut csv::Writer<W>, v: Option<impl itoa::Integer>) -> csv::Result<()> {
    match v {
        Some(v) => out.write_field(itoa::Buffer::new().format(v)),
        None => out.write_field(""),
    }
}

/// The whole CSV document as a string.
pub fn render(model: &ReportModel) -> String {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail; every cell is a Rust string.
    let _ = write(model, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}
