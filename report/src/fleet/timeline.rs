//! The fleet timeline: every accepted host's `timeline.jsonl` row (Timesketch form, `render/jsonl.rs`'s row)
//! with `datetime`/`timestamp` moved onto the controller's clock by the host's skew, plus `host_datetime` (the
//! host clock's own time), `clock_offset_us` and `clock_uncertainty_us`; as JSONL and as Parquet with the same
//! columns.
//!
//! Each worker encodes its host's rows in memory ([`HostEncoder`]) while its render writes the host's own
//! `timeline.jsonl`: the JSONL bytes, copied from the render's row around the parts that differ, and the Parquet
//! column chunks of every column but `hostname`. The hosts are then appended in input order ([`Encoder::append`]),
//! each as soon as the hosts before it are, with its key set: the JSONL is copied around the key and the
//! Parquet chunks are appended as they are, so nothing is written twice and the joining is cheap.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use arrow_array::builder::{BooleanBuilder, Int64Builder, ListBuilder, StringBuilder, TimestampMicrosecondBuilder};
use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use coroner_schemas::Utc;
use parquet::arrow::arrow_writer::{compute_leaves, ArrowColumnChunk, ArrowColumnWriter, ArrowRowGroupWriterFactory};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::ColumnPath;

use crate::direct::DirectFile;
use crate::render::jsonl::{self, Spans, TimesketchRow};

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

    /// One row: `r` as the host's render has it, `us` its time on the controller's clock.
    fn push(&mut self, r: &TimesketchRow, us: i64, off: Offset, fields_json: &str) {
        self.message.append_value(r.message);
        self.datetime.append_value(us);
        self.timestamp_desc.append_value(&r.timestamp_desc);
        self.timestamp.append_value(us);
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
        self.host_datetime.append_value(r.timestamp);
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

/// Where a row's hostname goes, as each worker writes it: an empty value, the key set when the host is joined.
const HOST_PLACEHOLDER: &[u8] = b",\"hostname\":\"\"";

/// One host's rows, made by its worker: the JSONL bytes (the hostname left empty, its key set at each of
/// `host_at` when joined) and the Parquet column chunks of every column but `hostname`, by row group of at most
/// [`ROW_GROUP`] rows. Kept in memory until the hosts before it are written.
pub struct HostRows {
    jsonl: Vec<u8>,
    /// Byte offsets of each row's [`HOST_PLACEHOLDER`] in `jsonl`.
    host_at: Vec<usize>,
    groups: Vec<Group>,
    pub rows: u64,
}

/// One row group's encoded chunks, in column order; `None` at `hostname`'s column.
struct Group {
    rows: usize,
    chunks: Vec<Option<ArrowColumnChunk>>,
}

/// One host's rows being encoded, from the rows its render writes to its own `timeline.jsonl`.
pub struct HostEncoder<'a> {
    enc: &'a Encoder,
    off: Offset,
    out: HostRows,
    writers: Vec<ArrowColumnWriter>,
    batch: Batch,
    in_group: usize,
}

impl HostEncoder<'_> {
    /// Adds one row: `r` and its bytes `row` as the host's render wrote them (`render::jsonl::write_with`). The
    /// fleet row is those bytes with `datetime`/`timestamp` on the controller's clock, the hostname left empty
    /// (the key is set when the host is joined), `raw_base64` always present, and the clock columns after.
    pub fn push(&mut self, r: &TimesketchRow, row: &[u8], at: &Spans) -> anyhow::Result<()> {
        let out = &mut self.out;
        // The controller's time = the host's minus the host's lead; with no known lead, the host's own.
        let moved = self.off.offset_us.and_then(|d| Utc::from_unix_micros(r.timestamp.saturating_sub(d))).map(|u| jsonl::floor_micros(&u));
        let part = |range: std::ops::Range<usize>| row.get(range).context("a timeline row's parts are not where its writer said");
        let us = match &moved {
            Some((us, datetime)) => {
                out.jsonl.extend_from_slice(part(0..at.datetime.start)?);
                jsonl::push_json_str(&mut out.jsonl, datetime);
                out.jsonl.extend_from_slice(part(at.datetime.end..at.timestamp.start)?);
                out.jsonl.extend_from_slice(itoa::Buffer::new().format(*us).as_bytes());
                *us
            }
            None => {
                out.jsonl.extend_from_slice(part(0..at.timestamp.end)?);
                r.timestamp
            }
        };
        out.jsonl.extend_from_slice(part(at.timestamp.end..at.hostname.start)?);
        out.host_at.push(out.jsonl.len());
        out.jsonl.extend_from_slice(HOST_PLACEHOLDER);
        out.jsonl.extend_from_slice(part(at.hostname.end..at.after_raw)?);
        if r.raw_base64.is_none() {
            out.jsonl.extend_from_slice(b",\"raw_base64\":null");
        }
        // Up to the closing brace: the clock columns follow.
        out.jsonl.extend_from_slice(part(at.after_raw..row.len().saturating_sub(1))?);
        out.jsonl.extend_from_slice(b",\"host_datetime\":");
        out.jsonl.extend_from_slice(part(at.datetime.clone())?);
        let num = |line: &mut Vec<u8>, key: &[u8], v: Option<i64>| {
            line.extend_from_slice(key);
            match v {
                Some(v) => line.extend_from_slice(itoa::Buffer::new().format(v).as_bytes()),
                None => line.extend_from_slice(b"null"),
            }
        };
        num(&mut out.jsonl, b",\"clock_offset_us\":", self.off.offset_us);
        num(&mut out.jsonl, b",\"clock_uncertainty_us\":", self.off.uncertainty_us);
        out.jsonl.extend_from_slice(b"}\n");
        let fields = std::str::from_utf8(part(at.fields.clone())?).context("a timeline row's fields are not UTF-8")?;
        self.batch.push(r, us, self.off, fields);
        self.in_group += 1;
        out.rows += 1;
        if self.batch.rows >= BATCH || self.in_group == ROW_GROUP {
            self.enc.encode(&mut self.batch, &mut self.writers)?;
        }
        if self.in_group == ROW_GROUP {
            let full = std::mem::replace(&mut self.writers, self.enc.writers()?);
            out.groups.push(self.enc.close(full, self.in_group)?);
            self.in_group = 0;
        }
        Ok(())
    }

    /// The host's rows, ready to be joined.
    pub fn finish(mut self) -> anyhow::Result<HostRows> {
        if self.in_group > 0 {
            self.enc.encode(&mut self.batch, &mut self.writers)?;
            self.out.groups.push(self.enc.close(self.writers, self.in_group)?);
        }
        Ok(self.out)
    }
}

/// What the workers encode with: the schema and the final file's column writer factory (same properties).
pub struct Encoder {
    schema: SchemaRef,
    factory: ArrowRowGroupWriterFactory,
    host_col: usize,
    /// JSONL buffers of hosts already joined, for the next hosts: a host's 70 MB grown afresh each time cost
    /// its copies and the kernel's zeroing of new pages (`make bench`'s fleet row, BENCHMARKS.md).
    spare: Mutex<Vec<Vec<u8>>>,
}

/// The fleet timeline being written: `timeline.jsonl` and `timeline.parquet`, one host after another.
pub struct FleetTimeline {
    jsonl_path: PathBuf,
    jsonl: DirectFile,
    pq_path: PathBuf,
    pq: SerializedFileWriter<DirectFile>,
    rows: u64,
}

/// Creates `out/timeline.jsonl` and `out/timeline.parquet`, and the encoder the workers share.
pub fn create(out: &Path) -> anyhow::Result<(FleetTimeline, Encoder)> {
    let jsonl_path = out.join("timeline.jsonl");
    let jsonl = DirectFile::create(&jsonl_path).with_context(|| format!("creating {}", jsonl_path.display()))?;
    let pq_path = out.join("timeline.parquet");
    let schema = schema();
    let file = DirectFile::create(&pq_path).with_context(|| format!("creating {}", pq_path.display()))?;
    // ArrowWriter sets up what readers need (the Parquet schema, the Arrow schema in the file's metadata); its
    // low-level halves let each worker encode its own host's chunks and the joiner only append them.
    let (pq, factory) = ArrowWriter::try_new(file, schema.clone(), Some(props()))?.into_serialized_writer()?;
    let host_col = schema.index_of("hostname")?;
    Ok((FleetTimeline { jsonl_path, jsonl, pq_path, pq, rows: 0 }, Encoder { schema, factory, host_col, spare: Mutex::new(Vec::new()) }))
}

impl Encoder {
    /// Column writers for one row group; one per column (every column is one Parquet leaf).
    fn writers(&self) -> anyhow::Result<Vec<ArrowColumnWriter>> {
        let w = self.factory.create_column_writers(0)?;
        anyhow::ensure!(w.len() == self.schema.fields().len(), "a timeline column is not one Parquet leaf");
        Ok(w)
    }

    /// Starts one host's rows, its times to be moved onto the controller's clock by `off`.
    pub fn host(&self, off: Offset) -> anyhow::Result<HostEncoder<'_>> {
        Ok(HostEncoder {
            enc: self,
            off,
            out: HostRows { jsonl: self.spare.lock().ok().and_then(|mut s| s.pop()).unwrap_or_default(), host_at: Vec::new(), groups: Vec::new(), rows: 0 },
            writers: self.writers()?,
            batch: Batch::new(),
            in_group: 0,
        })
    }

    fn encode(&self, batch: &mut Batch, writers: &mut [ArrowColumnWriter]) -> anyhow::Result<()> {
        let b = batch.finish(&self.schema)?;
        for (i, (w, field)) in writers.iter_mut().zip(self.schema.fields()).enumerate() {
            if i == self.host_col {
                continue;
            }
            for leaf in compute_leaves(field, b.column(i))? {
                w.write(&leaf)?;
            }
        }
        Ok(())
    }

    fn close(&self, writers: Vec<ArrowColumnWriter>, rows: usize) -> anyhow::Result<Group> {
        let mut chunks = Vec::with_capacity(writers.len());
        for (i, w) in writers.into_iter().enumerate() {
            chunks.push(if i == self.host_col { None } else { Some(w.close()?) });
        }
        Ok(Group { rows, chunks })
    }

    /// Appends one host's rows under its key, after the hosts before it.
    pub fn append(&self, t: &mut FleetTimeline, key: &str, rows: HostRows) -> anyhow::Result<()> {
        let mut with_key = b",\"hostname\":".to_vec();
        jsonl::push_json_str(&mut with_key, key);
        let mut from = 0;
        for &at in &rows.host_at {
            t.jsonl.write_all(&rows.jsonl[from..at])?;
            t.jsonl.write_all(&with_key)?;
            from = at + HOST_PLACEHOLDER.len();
        }
        t.jsonl.write_all(&rows.jsonl[from..]).with_context(|| format!("writing {}", t.jsonl_path.display()))?;
        let field = self.schema.field(self.host_col);
        for g in rows.groups {
            // The hostname column of this group: one value, dictionary-encoded to almost nothing.
            let mut w = self.writers()?.swap_remove(self.host_col);
            let hosts: ArrayRef = Arc::new(StringArray::from_iter_values(std::iter::repeat_n(key, g.rows)));
            for leaf in compute_leaves(field, &hosts)? {
                w.write(&leaf)?;
            }
            let mut host_chunk = Some(w.close()?);
            let mut rg = t.pq.next_row_group()?;
            for c in g.chunks {
                match c.or_else(|| host_chunk.take()) {
                    Some(c) => c.append_to_row_group(&mut rg)?,
                    None => anyhow::bail!("a row group with two hostname columns"),
                }
            }
            rg.close().with_context(|| format!("writing {}", t.pq_path.display()))?;
        }
        t.rows += rows.rows;
        let mut jsonl = rows.jsonl;
        jsonl.clear();
        if let Ok(mut spare) = self.spare.lock() {
            // A buffer is made only when none is spare: keeping them adds nothing to the peak of hosts in flight.
            if spare.len() < SPARE {
                spare.push(jsonl);
            }
        }
        Ok(())
    }
}

/// JSONL buffers kept for reuse.
const SPARE: usize = 4;

impl FleetTimeline {
    /// Finishes both files; returns the number of rows.
    pub fn finish(self) -> anyhow::Result<u64> {
        let pq = self.pq.into_inner().with_context(|| format!("writing {}", self.pq_path.display()))?;
        pq.finish().with_context(|| format!("writing {}", self.pq_path.display()))?;
        self.jsonl.finish().with_context(|| format!("writing {}", self.jsonl_path.display()))?;
        Ok(self.rows)
    }
}
