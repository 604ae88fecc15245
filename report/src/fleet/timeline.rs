//! The fleet timeline: every accepted host's `timeline.jsonl` row (Timesketch form, `render/jsonl.rs`'s row)
//! with `datetime`/`timestamp` moved onto the controller's clock by the host's skew, plus `host_datetime` (the
//! host clock's own time), `clock_offset_us` and `clock_uncertainty_us`; as JSONL and as Parquet with the same
//! columns.
//!
//! Each host's rows are written by its worker into part files (`.parts/<n>/rows.jsonl`, `rows.parquet`) with
//! an empty `hostname`, since host keys are known only when every bundle is read; [`concat`] then streams the
//! parts in host-key order into the final files, setting `hostname` to each host's key. Memory stays at one
//! batch of rows whatever the number of hosts.

use std::fs::File;
use std::io::{BufRead as _, BufReader, BufWriter, Write as _};
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use arrow_array::builder::{BooleanBuilder, Int64Builder, ListBuilder, StringBuilder, TimestampMicrosecondBuilder};
use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use coroner_schemas::Utc;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;

use crate::render::jsonl::{self, TimesketchRow};
use crate::render::ReportModel;

/// Rows per Arrow batch, and per Parquet row group (bounded memory on write and on read).
const BATCH: usize = 8_192;
const ROW_GROUP: usize = 65_536;

/// The host clock's offset from the controller's, as the rows carry it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Offset {
    /// Host clock minus controller clock, µs (`None`: unknown, times left on the host's clock).
    pub offset_us: Option<i64>,
    pub uncertainty_us: Option<i64>,
}

/// The columns, in order; JSONL rows carry the same keys in this order.
pub fn schema() -> SchemaRef {
    let ts = || DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    let s = |name: &str, null: bool| Field::new(name, DataType::Utf8, null);
    let i = |name: &str, null: bool| Field::new(name, DataType::Int64, null);
    Arc::new(Schema::new(vec![
        s("message", false),
        Field::new("datetime", ts(), false),
        s("timestamp_desc", false),
        i("timestamp", false),
        s("hostname", false),
        s("data_type", false),
        Field::new("tag", DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))), false),
        s("source", false),
        s("kind", false),
        s("certainty", false),
        i("pid", true),
        i("ppid", true),
        i("uid", true),
        s("user", true),
        s("comm", true),
        s("entry", false),
        i("line", true),
        i("offset", true),
        s("raw", false),
        s("raw_base64", true),
        // The event's fields as one JSON object text (Parquet's JSON logical type): see the README for why.
        s("fields", false).with_extension_type(arrow_schema::extension::Json::default()),
        Field::new("verified", DataType::Boolean, false),
        Field::new("host_datetime", ts(), false),
        i("clock_offset_us", true),
        i("clock_uncertainty_us", true),
    ]))
}

/// Column names, for tests and the README.
pub fn columns() -> Vec<String> {
    schema().fields().iter().map(|f| f.name().clone()).collect()
}

/// Snappy, row groups of [`ROW_GROUP`] rows; dictionary encoding only for the columns with few distinct values
/// (hashing every message, raw record and field object into a dictionary that overflows costs time for nothing).
fn props() -> WriterProperties {
    let mut b = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP))
        .set_dictionary_enabled(false);
    for c in ["timestamp_desc", "hostname", "data_type", "tag", "source", "kind", "certainty", "user", "comm", "entry", "verified", "clock_offset_us", "clock_uncertainty_us"] {
        let path = if c == "tag" { ColumnPath::new(vec!["tag".into(), "list".into(), "item".into()]) } else { ColumnPath::from(c) };
        b = b.set_column_dictionary_enabled(path, true);
    }
    b.build()
}

/// Builders of one batch.
struct Batch {
    message: StringBuilder,
    datetime: TimestampMicrosecondBuilder,
    timestamp_desc: StringBuilder,
    timestamp: Int64Builder,
    hostname: StringBuilder,
    data_type: StringBuilder,
    tag: ListBuilder<StringBuilder>,
    source: StringBuilder,
    kind: StringBuilder,
    certainty: StringBuilder,
    pid: Int64Builder,
    ppid: Int64Builder,
    uid: Int64Builder,
    user: StringBuilder,
    comm: StringBuilder,
    entry: StringBuilder,
    line: Int64Builder,
    offset: Int64Builder,
    raw: StringBuilder,
    raw_base64: StringBuilder,
    fields: StringBuilder,
    verified: BooleanBuilder,
    host_datetime: TimestampMicrosecondBuilder,
    clock_offset_us: Int64Builder,
    clock_uncertainty_us: Int64Builder,
    rows: usize,
}

impl Batch {
    fn new() -> Batch {
        let ts = || TimestampMicrosecondBuilder::new().with_timezone("UTC");
        Batch {
            message: StringBuilder::new(),
            datetime: ts(),
            timestamp_desc: StringBuilder::new(),
            timestamp: Int64Builder::new(),
            hostname: StringBuilder::new(),
            data_type: StringBuilder::new(),
            tag: ListBuilder::new(StringBuilder::new()),
            source: StringBuilder::new(),
            kind: StringBuilder::new(),
            certainty: StringBuilder::new(),
            pid: Int64Builder::new(),
            ppid: Int64Builder::new(),
            uid: Int64Builder::new(),
            user: StringBuilder::new(),
            comm: StringBuilder::new(),
            entry: StringBuilder::new(),
            line: Int64Builder::new(),
            offset: Int64Builder::new(),
            raw: StringBuilder::new(),
            raw_base64: StringBuilder::new(),
            fields: StringBuilder::new(),
            verified: BooleanBuilder::new(),
            host_datetime: ts(),
            clock_offset_us: Int64Builder::new(),
            clock_uncertainty_us: Int64Builder::new(),
            rows: 0,
        }
    }

    fn push(&mut self, r: &TimesketchRow, host_us: i64, off: Offset, fields_json: &str) {
        self.message.append_value(r.message);
        self.datetime.append_value(r.timestamp);
        self.timestamp_desc.append_value(&r.timestamp_desc);
        self.timestamp.append_value(r.timestamp);
        self.hostname.append_value("");
        self.data_type.append_value(r.data_type);
        for t in r.tag.iter() {
            self.tag.values().append_value(t);
        }
        self.tag.append(true);
        self.source.append_value(r.source);
        self.kind.append_value(r.kind);
        self.certainty.append_value(r.certainty);
        self.pid.append_option(r.pid);
        self.ppid.append_option(r.ppid);
        self.uid.append_option(r.uid.map(i64::from));
        self.user.append_option(r.user);
        self.comm.append_option(r.comm);
        self.entry.append_value(r.entry);
        self.line.append_option(r.line.and_then(|v| i64::try_from(v).ok()));
        self.offset.append_option(r.offset.and_then(|v| i64::try_from(v).ok()));
        self.raw.append_value(&r.raw);
        self.raw_base64.append_option(r.raw_base64.as_deref());
        self.fields.append_value(fields_json);
        self.verified.append_value(r.verified);
        self.host_datetime.append_value(host_us);
        self.clock_offset_us.append_option(off.offset_us);
        self.clock_uncertainty_us.append_option(off.uncertainty_us);
        self.rows += 1;
    }

    fn finish(&mut self, schema: &SchemaRef) -> anyhow::Result<RecordBatch> {
        self.rows = 0;
        let cols: Vec<ArrayRef> = vec![
            Arc::new(self.message.finish()),
            Arc::new(self.datetime.finish()),
            Arc::new(self.timestamp_desc.finish()),
            Arc::new(self.timestamp.finish()),
            Arc::new(self.hostname.finish()),
            Arc::new(self.data_type.finish()),
            Arc::new(self.tag.finish()),
            Arc::new(self.source.finish()),
            Arc::new(self.kind.finish()),
            Arc::new(self.certainty.finish()),
            Arc::new(self.pid.finish()),
            Arc::new(self.ppid.finish()),
            Arc::new(self.uid.finish()),
            Arc::new(self.user.finish()),
            Arc::new(self.comm.finish()),
            Arc::new(self.entry.finish()),
            Arc::new(self.line.finish()),
            Arc::new(self.offset.finish()),
            Arc::new(self.raw.finish()),
            Arc::new(self.raw_base64.finish()),
            Arc::new(self.fields.finish()),
            Arc::new(self.verified.finish()),
            Arc::new(self.host_datetime.finish()),
            Arc::new(self.clock_offset_us.finish()),
            Arc::new(self.clock_uncertainty_us.finish()),
        ];
        Ok(RecordBatch::try_new(schema.clone(), cols)?)
    }
}

/// Writes one host's rows into `dir/rows.jsonl` and `dir/rows.parquet`; returns how many.
pub fn write_part(model: &ReportModel, off: Offset, dir: &Path) -> anyhow::Result<u64> {
    let jsonl_path = dir.join("rows.jsonl");
    let pq_path = dir.join("rows.parquet");
    let mut jsonl = BufWriter::with_capacity(1 << 20, File::create(&jsonl_path).with_context(|| format!("creating {}", jsonl_path.display()))?);
    let pq_file = File::create(&pq_path).with_context(|| format!("creating {}", pq_path.display()))?;
    let schema = schema();
    let mut pq = ArrowWriter::try_new(pq_file, schema.clone(), Some(props()))?;
    let mut batch = Batch::new();
    let mut line = Vec::with_capacity(4096);
    let mut fields = Vec::with_capacity(1024);
    let mut n = 0u64;
    for e in model.events {
        let mut r = jsonl::row(model, e);
        let host_us = r.timestamp;
        let host_datetime = std::mem::take(&mut r.datetime);
        if let Some(d) = off.offset_us {
            // The controller's time = the host's minus the host's lead.
            let (us, text) = Utc::from_unix_micros(host_us.saturating_sub(d))
                .map(|u| jsonl::floor_micros(&u))
                .unwrap_or((host_us, host_datetime.clone()));
            r.timestamp = us;
            r.datetime = text;
        } else {
            r.datetime.clone_from(&host_datetime);
        }
        // `hostname` is left empty here: concat() sets each host's key.
        r.hostname = "";
        line.clear();
        jsonl::write_row(&mut line, &r, true)?;
        line.pop(); // the closing brace: the clock columns follow
        line.extend_from_slice(b",\"host_datetime\":");
        jsonl::push_json_str(&mut line, &host_datetime);
        let num = |line: &mut Vec<u8>, key: &[u8], v: Option<i64>| {
            line.extend_from_slice(key);
            match v {
                Some(v) => line.extend_from_slice(itoa::Buffer::new().format(v).as_bytes()),
                None => line.extend_from_slice(b"null"),
            }
        };
        num(&mut line, b",\"clock_offset_us\":", off.offset_us);
        num(&mut line, b",\"clock_uncertainty_us\":", off.uncertainty_us);
        line.extend_from_slice(b"}\n");
        jsonl.write_all(&line)?;
        fields.clear();
        serde_json::to_writer(&mut fields, r.fields)?;
        batch.push(&r, host_us, off, std::str::from_utf8(&fields).unwrap_or("{}"));
        if batch.rows >= BATCH {
            pq.write(&batch.finish(&schema)?)?;
        }
        n += 1;
    }
    if batch.rows > 0 {
        pq.write(&batch.finish(&schema)?)?;
    }
    pq.close().with_context(|| format!("writing {}", pq_path.display()))?;
    jsonl.flush().with_context(|| format!("writing {}", jsonl_path.display()))?;
    Ok(n)
}

/// The empty `hostname` every part row carries (see [`write_part`]).
const HOST_PLACEHOLDER: &[u8] = b",\"hostname\":\"\"";

/// Streams the parts, in the order given with each host's key, into `out/timeline.jsonl` and
/// `out/timeline.parquet`; returns the number of rows.
pub fn concat(parts: &[(String, &Path)], out: &Path) -> anyhow::Result<u64> {
    let jsonl_path = out.join("timeline.jsonl");
    let mut jsonl = BufWriter::with_capacity(1 << 20, File::create(&jsonl_path).with_context(|| format!("creating {}", jsonl_path.display()))?);
    let pq_path = out.join("timeline.parquet");
    let schema = schema();
    let mut pq = ArrowWriter::try_new(File::create(&pq_path).with_context(|| format!("creating {}", pq_path.display()))?, schema.clone(), Some(props()))?;
    let host_col = schema.index_of("hostname")?;
    let finder = memchr::memmem::Finder::new(HOST_PLACEHOLDER);
    let (mut rows_j, mut rows_p) = (0u64, 0u64);
    for (key, dir) in parts {
        // JSONL: the first `,"hostname":` of a row is its key (no string value can hold an unescaped `"`).
        let mut with_key = b",\"hostname\":".to_vec();
        jsonl::push_json_str(&mut with_key, key);
        let src = dir.join("rows.jsonl");
        let mut r = BufReader::with_capacity(1 << 20, File::open(&src).with_context(|| format!("opening {}", src.display()))?);
        let mut line = Vec::new();
        loop {
            line.clear();
            if r.read_until(b'\n', &mut line)? == 0 {
                break;
            }
            match finder.find(&line) {
                Some(at) => {
                    jsonl.write_all(&line[..at])?;
                    jsonl.write_all(&with_key)?;
                    jsonl.write_all(&line[at + HOST_PLACEHOLDER.len()..])?;
                }
                None => anyhow::bail!("{}: a row without its hostname placeholder", src.display()),
            }
            rows_j += 1;
        }
        // Parquet: batch by batch, the hostname column replaced.
        let src = dir.join("rows.parquet");
        let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&src).with_context(|| format!("opening {}", src.display()))?)?
            .with_batch_size(BATCH)
            .build()?;
        for batch in reader {
            let batch = batch?;
            let mut cols = batch.columns().to_vec();
            cols[host_col] = Arc::new(StringArray::from(vec![key.as_str(); batch.num_rows()]));
            rows_p += batch.num_rows() as u64;
            pq.write(&RecordBatch::try_new(schema.clone(), cols)?)?;
        }
    }
    pq.close().with_context(|| format!("writing {}", pq_path.display()))?;
    jsonl.flush().with_context(|| format!("writing {}", jsonl_path.display()))?;
    anyhow::ensure!(rows_j == rows_p, "timeline.jsonl has {rows_j} rows but timeline.parquet {rows_p}");
    Ok(rows_j)
}
