//! The report's spine, one way: read the bundle → check it → parse every entry → one sorted timeline; then
//! (for the caller) the findings and the render.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::Context as _;
use bytes::Bytes;
use coroner_schemas::accounts::Accounts;
use coroner_schemas::manifest::{Entry, Format, Manifest};
use coroner_schemas::{layout, Event, FindingsDoc, Timestamp};

use crate::bundle::{self, BundleError, Keep, Limits, MemberBytes, Scan, Source};
use crate::decrypt::Identities;
use crate::direct::DirectFile;
use crate::render::{self, ReportModel};
use crate::sources::core_name::CoreNaming;
use crate::sources::facts::{Fact, HostFacts};
use crate::sources::{self, ParseProblem, Parsed, SourceCtx};
use crate::timeline::{self, CoverageRow};
use crate::verify::{self, PinnedKey, TrustAnchor, VerifyError, VerifyReport};

/// How to load a bundle.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Verify before parsing (refuse a bundle that fails). `false` is `--no-verify`.
    pub verify: bool,
    pub anchor: TrustAnchor,
    pub limits: Limits,
    /// `--identity` keys, for an age-encrypted bundle.
    pub identities: std::sync::Arc<Identities>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            verify: true,
            anchor: TrustAnchor::Embedded,
            limits: Limits::default(),
            identities: std::sync::Arc::new(Identities::none()),
        }
    }
}

/// Returned (inside `anyhow::Error`) when verification fails: the caller exits 1 and may show the report.
#[derive(Debug)]
pub struct VerificationFailed(pub VerifyReport);

impl fmt::Display for VerificationFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bundle does not verify; refusing to parse it (use --no-verify to render it UNVERIFIED)"
        )?;
        for x in &self.0.failures {
            write!(f, "\n  failure: {x}")?;
        }
        Ok(())
    }
}

impl std::error::Error for VerificationFailed {}

/// How long one step or one output took, by name (for `render --timings`).
pub type Timing = (&'static str, std::time::Duration);

/// A parsed bundle.
pub struct Loaded {
    pub manifest: Manifest,
    pub verification: VerifyReport,
    pub accounts: Accounts,
    /// Sorted with [`Event::cmp_timeline`]; exact duplicates removed.
    pub events: Vec<Event>,
    /// Sorted.
    pub problems: Vec<ParseProblem>,
    pub coverage: Vec<CoverageRow>,
    /// What the parsers learned of the host's configuration, folded.
    pub facts: HostFacts,
    /// How long each step of loading took (for `render --timings`).
    pub steps: Vec<Timing>,
}

impl Loaded {
    /// What the renderers read of this bundle, with its findings.
    pub fn model<'a>(&'a self, findings: &'a FindingsDoc, raw_binary: bool) -> ReportModel<'a> {
        ReportModel {
            manifest: &self.manifest,
            verification: &self.verification,
            coverage: &self.coverage,
            events: &self.events,
            problems: &self.problems,
            findings,
            raw_binary,
        }
    }

    /// Verified, with no parse problems. Problems the collector recorded (an entry it could not read, a process
    /// it could not see) are evidence that is missing, shown in the report, but do not alone make it unclean.
    pub fn clean(&self) -> bool {
        self.verification.ok && !self.verification.skipped && self.parse_problems() == 0
    }

    /// Problems found reading the bytes.
    pub fn parse_problems(&self) -> usize {
        self.problems.iter().filter(|p| p.is_parse()).count()
    }

    /// Problems the collector recorded: entries it could not take as they were, problems that belong to no
    /// entry, and those it wrote into an entry (processes of the `/proc` table it could not read).
    pub fn collection_problems(&self) -> usize {
        self.manifest.entries.iter().filter(|e| e.status.is_problem()).count()
            + self.manifest.problems.len()
            + self.problems.iter().filter(|p| !p.is_parse()).count()
    }
}

/// Formats [`sources::parse_entry`] reads (the others yield nothing, so their bytes are not read).
pub fn has_parser(f: Format) -> bool {
    !matches!(
        f,
        Format::ShellRc
            | Format::CronScript
            | Format::AtJob
            | Format::SystemdUnit
            | Format::CrashReport
            | Format::ProcText
            | Format::Passwd
            | Format::Group
            | Format::Other
    )
}

/// Entries the pipeline reads: those with bytes and a parser, by format or, for cores kept as metadata only
/// (format `Other`), by bundle path.
pub fn parses(e: &Entry) -> bool {
    e.has_data() && (has_parser(e.format) || sources::core_meta::is_core_meta(e))
}

/// Verifies (unless `opts.verify` is false), then parses every entry.
pub fn load(path: &Path, opts: &LoadOptions) -> anyhow::Result<Loaded> {
    let mut clock = std::time::Instant::now();
    let mut steps = Vec::new();
    let mut step = |name: &'static str| {
        let now = std::time::Instant::now();
        steps.push((name, now - clock));
        clock = now;
    };
    let pinned = if opts.verify { Some(verify::load_anchor(&opts.anchor)?) } else { None };
    // The members the parsers are read with, kept by pass 1 whatever its budget.
    let keep = Keep {
        budget: opts.limits.max_kept,
        always: [PASSWD.to_owned(), GROUP.to_owned(), layout::SYSCTL.to_owned()].into(),
    };
    let src = Source { path, identities: &opts.identities };
    let read = bundle::scan_keeping(src, &opts.limits, &keep);
    step("read");
    let (mut scan, manifest, verification) = match pinned {
        Some(pinned) => {
            let v = check(read, pinned.as_deref()).with_context(|| format!("reading {}", path.display()))?;
            match (v.report.ok, v.scan, v.manifest) {
                (true, Some(scan), Some(m)) => (scan, m, v.report),
                _ => return Err(VerificationFailed(v.report).into()),
            }
        }
        None => {
            let scan = read.with_context(|| format!("reading {}", path.display()))?;
            let bytes = scan
                .manifest
                .as_deref()
                .with_context(|| format!("{} has no {}", path.display(), layout::MANIFEST))?;
            let m: Manifest =
                serde_json::from_slice(bytes).with_context(|| format!("parsing {}", layout::MANIFEST))?;
            (scan, m, VerifyReport { skipped: true, ..Default::default() })
        }
    };
    step(if opts.verify { "verify" } else { "manifest" });
    let kept = std::mem::take(&mut scan.kept);
    let mut problems: Vec<ParseProblem> = Vec::new();
    let accounts = accounts_of(&kept, &manifest, opts.limits.max_small, &mut problems);
    let core_naming = core_naming_of(&kept, &manifest);

    // Entries to parse, by bundle path (the manifest lists each path once when verified).
    let mut wanted: BTreeMap<&str, &Entry> = BTreeMap::new();
    for e in &manifest.entries {
        if parses(e) && bundle::name_problem(e.path.as_bytes()).is_none() {
            wanted.entry(e.path.as_str()).or_insert(e);
        }
    }
    let names: BTreeSet<String> = wanted.keys().map(|k| (*k).to_owned()).collect();
    // Members pass 1 kept are parsed from memory, several at once; the others are read in a second pass.
    let in_memory: Vec<MemberBytes> = kept
        .into_iter()
        .filter(|(name, _)| names.contains(name))
        .filter_map(|(name, bytes)| {
            let sha256 = scan.member(&name)?.sha256.clone()?;
            Some(MemberBytes { name, bytes, sha256 })
        })
        .collect();
    let with = ParseWith {
        manifest: &manifest,
        accounts: &accounts,
        core_naming: &core_naming,
        scan: &scan,
        verified: opts.verify,
        limits: &opts.limits,
        room: room_for_others(&wanted),
    };
    let mut parsed: BTreeMap<String, (Vec<Event>, Vec<Fact>)> = BTreeMap::new();
    for (name, events, mut probs, facts) in parse_members(in_memory, &wanted, &with) {
        problems.append(&mut probs);
        parsed.insert(name, (events, facts));
    }
    let rest: BTreeSet<String> = names.iter().filter(|n| !parsed.contains_key(*n)).cloned().collect();
    if !rest.is_empty() {
        bundle::read_members(src, &opts.limits, &rest, |mb: MemberBytes| {
            let Some(entry) = wanted.get(mb.name.as_str()) else {
                return;
            };
            let (events, mut probs, facts) = parse_member(&mb, entry, &with);
            problems.append(&mut probs);
            parsed.insert(mb.name, (events, facts));
        })
        .with_context(|| format!("reading entries of {}", path.display()))?;
    }
    for name in &names {
        if !parsed.contains_key(name) {
            problems.push(problem(
                name,
                "listed with data but not found in the bundle; not parsed",
            ));
        }
    }
    step("parse");
    let (events, facts): (Vec<Vec<Event>>, Vec<Vec<Fact>>) = parsed.into_values().unzip();
    let facts = HostFacts::fold(facts.into_iter().flatten());
    let mut events = concat_largest_first(events);
    step("gather");
    timeline::sort_dedup(&mut events);
    timeline::drop_recorder_copies(&mut events, manifest.host.boot_id.as_deref());
    timeline::name_containers(&mut events, &facts);
    problems.sort();
    problems.dedup();
    let coverage = timeline::coverage(&manifest, &events, &problems);
    step("sort");
    Ok(Loaded {
        manifest,
        verification,
        accounts,
        events,
        problems,
        coverage,
        facts,
        steps,
    })
}

/// The largest entry (by size), and at most about how many events all the others yield: its events are
/// gathered on its parser thread into a vector with room for theirs, so that the serial gathering of every
/// entry's events into one timeline copies only the smaller ones (`make bench`'s render row: its "gather" step).
fn room_for_others<'a>(wanted: &BTreeMap<&'a str, &Entry>) -> Option<(&'a str, usize)> {
    let (&largest, _) = wanted.iter().max_by_key(|(name, e)| (e.size, std::cmp::Reverse(**name)))?;
    let others = wanted
        .iter()
        .filter(|(name, _)| **name != largest)
        .fold(0usize, |n, (_, e)| n.saturating_add(events_bound(e.format, e.size)));
    Some((largest, others))
}

/// At most about how many events an entry of `format` holding `size` bytes yields: one per utmp or lastlog
/// record, else one per 64 bytes (less than any other source's record or line). Only a sizing hint: a low guess
/// costs a copy in the gathering, a high one reserves pages that are never written.
fn events_bound(format: Format, size: u64) -> usize {
    let per = match format {
        Format::Utmp => 384,
        Format::Lastlog => 292,
        _ => 64,
    };
    usize::try_from(size / per + 1).unwrap_or(usize::MAX)
}

/// One member's pieces (in file order) in one vector, with `room` more reserved when that can be had.
fn join_pieces(mut pieces: Vec<Vec<Event>>, room: usize) -> Vec<Event> {
    let n: usize = pieces.iter().map(Vec::len).sum();
    if pieces.len() == 1 && room == 0 {
        return pieces.pop().unwrap_or_default();
    }
    let mut all = Vec::new();
    if room == 0 || all.try_reserve_exact(n.saturating_add(room)).is_err() {
        all.reserve_exact(n);
    }
    for p in pieces {
        all.extend(p);
    }
    all
}

/// Every entry's events in one vector, grown from the one that already has room for all of them, else from the
/// longest (a million-event entry is not copied; the order across entries is restored by the sort that follows).
fn concat_largest_first(mut parts: Vec<Vec<Event>>) -> Vec<Event> {
    let total: usize = parts.iter().map(Vec::len).sum();
    let roomy = (0..parts.len()).find(|&i| parts[i].capacity() >= total);
    let Some(big) = roomy.or_else(|| (0..parts.len()).max_by_key(|&i| (parts[i].len(), std::cmp::Reverse(i)))) else {
        return Vec::new();
    };
    let mut all = std::mem::take(&mut parts[big]);
    all.reserve(parts.iter().map(Vec::len).sum());
    for p in parts {
        all.extend(p);
    }
    all
}

fn problem(entry: &str, message: impl Into<String>) -> ParseProblem {
    ParseProblem::new(entry, None, None, message)
}

/// What verifying a bundle produced besides the report.
pub struct Verified {
    pub report: VerifyReport,
    /// The parsed manifest, when the bytes were there and parsed (even if other checks failed).
    pub manifest: Option<Manifest>,
    /// The pass-1 scan, when the stream could be read.
    pub scan: Option<Scan>,
}

/// Reads the bundle once and checks it (`coroner-report verify`). `Err` only when the input cannot be read at
/// all (the bundle file, a key file, an encrypted bundle no identity opens); a corrupt stream (or ciphertext), a
/// cap, a bad signature or a bad entry are failures in the report.
pub fn verify<'a>(src: impl Into<Source<'a>>, anchor: &TrustAnchor, limits: &Limits) -> Result<Verified, VerifyError> {
    let pinned = verify::load_anchor(anchor)?;
    Ok(check(bundle::scan(src, limits), pinned.as_deref())?)
}

/// Checks what pass 1 read: a stream that could not be read to its end is a failure in the report, a bundle
/// file that could not be opened (or an encrypted one that no `--identity` opens) an error.
fn check(read: Result<Scan, BundleError>, pinned: Option<&[PinnedKey]>) -> Result<Verified, BundleError> {
    match read {
        Ok(scan) => {
            let (report, manifest) = verify::check(&scan, pinned);
            Ok(Verified { report, manifest, scan: Some(scan) })
        }
        Err(e @ (BundleError::Open { .. } | BundleError::Locked { .. })) => Err(e),
        Err(e) => {
            let report = VerifyReport { failures: vec![e.to_string()], key_pinned: pinned.is_some(), ..Default::default() };
            Ok(Verified { report, manifest: None, scan: None })
        }
    }
}

/// Bundle paths of the account files every parser resolves user names with.
const PASSWD: &str = "fs/etc/passwd";
const GROUP: &str = "fs/etc/group";

/// The bytes pass 1 kept of `path`, when the manifest lists them with data, uncompressed, as `format`: only
/// then are they vouched for.
fn listed<'a>(kept: &'a BTreeMap<String, Bytes>, m: &Manifest, path: &str, format: Format) -> Option<&'a [u8]> {
    m.entries
        .iter()
        .any(|e| e.path == path && e.format == format && e.has_data() && e.compressed.is_none())
        .then(|| kept.get(path).map(|b| &b[..]))
        .flatten()
}

/// `/etc/passwd` and `/etc/group` as the manifest lists them. One listed but not kept (past both the budget and
/// the small-member cap) is a problem: names are then not resolved from it.
fn accounts_of(kept: &BTreeMap<String, Bytes>, m: &Manifest, cap: u64, problems: &mut Vec<ParseProblem>) -> Accounts {
    let mut read = |path: &str, format: Format| {
        let bytes = listed(kept, m, path, format);
        if bytes.is_none() && m.entries.iter().any(|e| e.path == path && e.has_data()) {
            problems.push(problem(
                path,
                format!("not read: past the memory budget (--max-kept) and the {cap}-byte cap on account files; no name is resolved from it"),
            ));
        }
        bytes.unwrap_or_default()
    };
    let passwd = read(PASSWD, Format::Passwd);
    let group = read(GROUP, Format::Group);
    Accounts::parse(passwd, group)
}

/// `kernel.core_pattern` and `kernel.core_uses_pid` from the sysctls, when the manifest vouches for them.
fn core_naming_of(kept: &BTreeMap<String, Bytes>, m: &Manifest) -> CoreNaming {
    listed(kept, m, layout::SYSCTL, Format::SysctlJson).map_or(CoreNaming::UNKNOWN, CoreNaming::from_sysctl_json)
}

type ParsedMember = (String, Vec<Event>, Vec<ParseProblem>, Vec<Fact>);

/// What every member is parsed with.
struct ParseWith<'a> {
    manifest: &'a Manifest,
    accounts: &'a Accounts,
    core_naming: &'a CoreNaming,
    scan: &'a Scan,
    verified: bool,
    limits: &'a Limits,
    /// The entry whose events get room for the others', and how many (see [`room_for_others`]).
    room: Option<(&'a str, usize)>,
}

/// Parses members on as many threads as there are cores, largest first; results in name order.
fn parse_members(
    members: Vec<MemberBytes>,
    wanted: &BTreeMap<&str, &Entry>,
    with: &ParseWith,
) -> Vec<ParsedMember> {
    let mut members = members;
    members.sort_by(|a, b| b.bytes.len().cmp(&a.bytes.len()).then_with(|| a.name.cmp(&b.name)));
    let queue = std::sync::Mutex::new(members.into_iter());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8);
    let mut out: Vec<ParsedMember> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let next = queue.lock().map(|mut q| q.next()).unwrap_or(None);
                        let Some(mb) = next else { break };
                        let Some(entry) = wanted.get(mb.name.as_str()) else { continue };
                        let (events, probs, facts) = parse_member(&mb, entry, with);
                        done.push((mb.name, events, probs, facts));
                    }
                    done
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap_or_default()).collect()
    });
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn parse_member(mb: &MemberBytes, entry: &Entry, with: &ParseWith) -> (Vec<Event>, Vec<ParseProblem>, Vec<Fact>) {
    let mut probs = Vec::new();
    if with.verified && with.scan.member(&mb.name).and_then(|m| m.sha256.as_deref()) != Some(mb.sha256.as_str()) {
        probs.push(problem(
            &mb.name,
            "bytes changed between verification and parsing; not parsed",
        ));
        return (Vec::new(), probs, Vec::new());
    }
    let raw: Bytes = match entry.compressed.as_deref() {
        None => mb.bytes.clone(),
        Some("gzip") => {
            let (bytes, err) = bundle::inflate_gzip(&mb.bytes, with.limits.max_entry);
            if let Some(e) = err {
                probs.push(problem(&mb.name, format!("gzip: {e}")));
            }
            Bytes::from(bytes)
        }
        Some(other) => {
            probs.push(problem(
                &mb.name,
                format!("compression {other:?} is not supported; not parsed"),
            ));
            return (Vec::new(), probs, Vec::new());
        }
    };
    let ctx = SourceCtx::new(entry, with.manifest, with.accounts).with_core_naming(with.core_naming);
    let (mut pieces, mut facts) = (Vec::new(), Vec::new());
    for mut part in parse_bytes(&raw, &ctx) {
        probs.append(&mut part.problems);
        facts.append(&mut part.facts);
        bound_undated(&mut part.events, entry, with.manifest);
        pieces.push(part.events);
    }
    let room = match with.room {
        Some((largest, n)) if largest == mb.name => n,
        _ => 0,
    };
    (join_pieces(pieces, room), probs, facts)
}

/// Members at least this large are cut where their parser says they can be, and the pieces parsed at once.
const SPLIT_MIN_BYTES: usize = 4 << 20;

/// Parses one member's bytes to what one pass over them gives, in pieces on threads of their own when the
/// member is large and its parser says where it can be cut ([`sources::split_points`]). The pieces' results
/// come back in file order, their line numbers counted from the member's first line.
pub fn parse_bytes(raw: &Bytes, ctx: &SourceCtx) -> Vec<Parsed> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    let cuts = if raw.len() >= SPLIT_MIN_BYTES && threads > 1 { sources::split_points(raw, ctx, threads) } else { Vec::new() };
    if cuts.is_empty() {
        return vec![sources::parse(raw, ctx)];
    }
    let starts = std::iter::once(0).chain(cuts.iter().copied());
    let bounds: Vec<(usize, usize)> = starts.zip(cuts.iter().copied().chain([raw.len()])).collect();
    let last = bounds.len() - 1;
    let has_lines = |p: &Parsed| p.events.iter().any(|e| e.origin.line.is_some()) || p.problems.iter().any(|q| q.line.is_some());
    let newlines = |b: &[u8]| memchr::memchr_iter(b'\n', b).count() as u64;
    let parts: Vec<Option<(Parsed, Option<u64>)>> = std::thread::scope(|s| {
        let handles: Vec<_> = bounds
            .iter()
            .enumerate()
            .map(|(i, &(a, b))| {
                s.spawn(move || {
                    // The piece's own handles on the member and the entry path: every event counts a reference
                    // on both, and threads counting on one counter take its cache line from each other.
                    let piece = Bytes::from_owner(raw.clone()).slice(a..b);
                    let mut own = SourceCtx::new(ctx.entry, ctx.manifest, ctx.accounts).with_core_naming(ctx.core_naming);
                    own.offset = a as u64;
                    let p = sources::parse(&piece, &own);
                    let lines = (i < last && has_lines(&p)).then(|| newlines(&piece));
                    (p, lines)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().ok()).collect()
    });
    let lined: Vec<bool> = parts.iter().map(|p| p.as_ref().is_some_and(|(p, _)| has_lines(p))).collect();
    let mut out = Vec::with_capacity(parts.len());
    let mut lines_before = 0u64;
    for (i, (&(a, b), part)) in bounds.iter().zip(parts).enumerate() {
        let (mut p, lines) = part.unwrap_or_else(|| {
            let failed = ParseProblem::at_offset(ctx, a as u64, "a parser thread failed on this part");
            (Parsed { problems: vec![failed], ..Parsed::default() }, None)
        });
        if lines_before > 0 {
            for e in &mut p.events {
                e.origin.line = e.origin.line.map(|l| l + lines_before);
            }
            for q in &mut p.problems {
                q.line = q.line.map(|l| l + lines_before);
            }
        }
        if lined[i + 1..].contains(&true) {
            lines_before += lines.unwrap_or_else(|| newlines(&raw[a..b]));
        }
        out.push(p);
    }
    out
}

/// An event with no time of its own was on the host no later than its file was last written (or, for what the
/// collector captured rather than copied, than the collection ended): that bound replaces "unknown", and the
/// event's `time_bound` field says which it is.
fn bound_undated(events: &mut [Event], entry: &Entry, manifest: &Manifest) {
    let (before, basis) = match entry.stat.as_ref().and_then(|s| s.mtime) {
        Some(mtime) => (mtime, "file_mtime"),
        None => (manifest.collector.finished, "collection_end"),
    };
    let mtime = entry.stat.as_ref().and_then(|s| s.mtime);
    for e in events.iter_mut() {
        let after = match e.timestamp {
            Timestamp::Unknown => None,
            Timestamp::Bounded { after, before: None } => after,
            // A parser that bounded it by the mtime already: say so too.
            Timestamp::Bounded { before: Some(b), .. } if Some(b) == mtime => {
                e.fields.insert_if_absent("time_bound".into(), || "file_mtime");
                continue;
            }
            _ => continue,
        };
        e.timestamp = Timestamp::Bounded { after, before: Some(before) };
        e.fields.insert("time_bound".into(), serde_json::json!(basis));
    }
}

/// Writes one output file (past the page cache when `direct`, see [`crate::direct`]); returns how long that
/// took.
fn write_file(
    dir: &Path,
    name: &'static str,
    direct: bool,
    f: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> anyhow::Result<Timing> {
    let t = std::time::Instant::now();
    let path = dir.join(name);
    let written = if direct {
        let mut w = DirectFile::create(&path).with_context(|| format!("creating {}", path.display()))?;
        f(&mut w).and_then(|()| w.finish())
    } else {
        let file = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        f(&mut w).and_then(|()| w.flush())
    };
    written.with_context(|| format!("writing {}", path.display()))?;
    Ok((name, t.elapsed()))
}

/// Choices for the outputs.
#[derive(Clone, Debug, Default)]
pub struct RenderOptions {
    /// Timeline rows carry binary records' bytes as base64 (see [`ReportModel::raw_binary`]).
    pub raw_binary: bool,
    /// Files written past the page cache (`fleet`'s hosts, see [`crate::direct`]).
    pub direct: bool,
}

/// Writes `report.html`, `report.md`, `timeline.jsonl`, `timeline.csv` and `findings.json` into `out_dir`
/// (created if needed); returns how long each file took, in that order.
pub fn render_all(
    loaded: &Loaded,
    findings: &FindingsDoc,
    out_dir: &Path,
    opts: &RenderOptions,
) -> anyhow::Result<Vec<Timing>> {
    render_all_with(loaded, findings, out_dir, opts, |_, _, _| Ok(()))
}

/// [`render_all`], handing each `timeline.jsonl` row to `rows` as it is written (see
/// [`render::jsonl::write_with`]), on the thread that writes that file.
pub fn render_all_with<F>(
    loaded: &Loaded,
    findings: &FindingsDoc,
    out_dir: &Path,
    opts: &RenderOptions,
    rows: F,
) -> anyhow::Result<Vec<Timing>>
where
    F: FnMut(&render::jsonl::TimesketchRow, &[u8], &render::jsonl::Spans) -> std::io::Result<()> + Send,
{
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let model = loaded.model(findings, opts.raw_binary);
    let direct = opts.direct;
    // The two timelines are the largest outputs: each is written on a thread of its own.
    std::thread::scope(|s| {
        let jsonl = s.spawn(|| write_file(out_dir, "timeline.jsonl", direct, |w| render::jsonl::write_with(&model, w, rows)));
        let csv = s.spawn(|| write_file(out_dir, "timeline.csv", direct, |w| render::csv::write(&model, w)));
        let rest = (|| -> anyhow::Result<[Timing; 3]> {
            Ok([
                write_file(out_dir, "report.html", direct, |w| render::html::write(&model, w))?,
                write_file(out_dir, "report.md", direct, |w| {
                    w.write_all(render::markdown::render(&model).as_bytes())
                })?,
                write_file(out_dir, "findings.json", direct, |w| {
                    serde_json::to_writer_pretty(&mut *w, findings)?;
                    w.write_all(b"\n")
                })?,
            ])
        })();
        let joined = |h: std::thread::ScopedJoinHandle<'_, anyhow::Result<Timing>>| {
            h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("a writer thread failed")))
        };
        let (a, b) = (joined(jsonl), joined(csv));
        let [html, md, json] = rest?;
        Ok(vec![html, md, a?, b?, json])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(entry: &str, n: u64) -> Event {
        crate::sources::testing::event(entry, n, &format!("{entry} {n}"))
    }

    /// The vector with room for everyone's events is grown in place (not copied), even when another is longer;
    /// without room anywhere, the longest is.
    #[test]
    fn gathering_grows_the_vector_that_has_room() {
        let long: Vec<Event> = (0..50).map(|n| ev("a", n)).collect();
        let roomy = join_pieces(vec![(0..20).map(|n| ev("b", n)).collect(), (20..30).map(|n| ev("b", n)).collect()], 60);
        let small: Vec<Event> = (0..5).map(|n| ev("c", n)).collect();
        assert!(roomy.capacity() >= 90);
        let want: Vec<String> = roomy.iter().chain(&long).chain(&small).map(|e| e.message.clone()).collect();
        let at = roomy.as_ptr();
        let all = concat_largest_first(vec![long, roomy, small]);
        assert_eq!(all.as_ptr(), at, "gathered into the vector that had room");
        let got: Vec<String> = all.iter().map(|e| e.message.clone()).collect();
        assert_eq!(got, want, "the pieces in file order, then the others");
    }

    #[test]
    fn the_largest_entry_gets_room_for_the_others() {
        let e = |path: &str, format, size| Entry { format, size, ..crate::sources::testing::entry(path, "/x", "syslog", "syslog") };
        let (a, b, c) = (e("a", Format::AuditLog, 64_000), e("b", Format::Utmp, 3_840), e("c", Format::Syslog, 640));
        let wanted: BTreeMap<&str, &Entry> = [("a", &a), ("b", &b), ("c", &c)].into_iter().collect();
        assert_eq!(room_for_others(&wanted), Some(("a", 11 + 11)));
    }

    /// Without room anywhere, the longest vector is grown in place, and every event is gathered once.
    #[test]
    fn gathering_grows_the_longest_vector() {
        let long: Vec<Event> = (0..50).map(|n| ev("a", n)).collect();
        let short: Vec<Event> = (0..5).map(|n| ev("b", n)).collect();
        let mut want: Vec<String> = long.iter().chain(&short).map(|e| e.message.clone()).collect();
        let at = long.as_ptr();
        let all = concat_largest_first(vec![short, long]);
        let mut got: Vec<String> = all.iter().map(|e| e.message.clone()).collect();
        got.sort();
        want.sort();
        assert_eq!(got, want);
        assert!(all.capacity() > 50 || all.as_ptr() == at);
    }

    fn whole_and_split(raw: Vec<u8>, entry: &Entry) -> (Parsed, Vec<Parsed>) {
        let m = crate::sources::testing::manifest();
        let acc = Accounts::default();
        let ctx = SourceCtx::new(entry, &m, &acc);
        let raw = Bytes::from(raw);
        let cuts = sources::split_points(&raw, &ctx, 3);
        assert_eq!(cuts.len(), 2, "{cuts:?}");
        (sources::parse(&raw, &ctx), parse_bytes(&raw, &ctx))
    }

    fn assert_same(whole: Parsed, parts: Vec<Parsed>) {
        assert!(parts.len() >= 2, "split");
        let events: Vec<Event> = parts.iter().flat_map(|p| p.events.iter().cloned()).collect();
        let problems: Vec<ParseProblem> = parts.into_iter().flat_map(|p| p.problems).collect();
        assert_eq!(problems.len(), whole.problems.len());
        if let Some(i) = (0..problems.len()).find(|&i| problems[i] != whole.problems[i]) {
            panic!("problem {i}: {:?} != {:?}", problems[i], whole.problems[i]);
        }
        assert_eq!(events.len(), whole.events.len());
        assert!(events == whole.events);
    }

    /// An audit log parsed in pieces gives every event, line number and problem of one pass.
    #[test]
    fn audit_pieces_equal_one_pass() {
        let one = include_bytes!("../../fixtures/audit/enriched.log");
        let mut raw = Vec::new();
        while raw.len() < 3 * SPLIT_MIN_BYTES {
            raw.extend_from_slice(one);
            raw.extend_from_slice(b"garbage\n");
        }
        let e = crate::sources::testing::entry("fs/var/log/audit/audit.log", "/var/log/audit/audit.log", "audit", "audit_log");
        let (whole, parts) = whole_and_split(raw, &e);
        assert!(whole.problems.iter().any(|p| p.line.is_some_and(|l| l > 1000)));
        assert_same(whole, parts);
    }

    /// A wtmp parsed in pieces (cut after boot records) pairs every session as one pass does; zeroed records
    /// and records' own problems keep their offsets.
    #[test]
    fn wtmp_pieces_equal_one_pass() {
        let one = include_bytes!("../../fixtures/utmp/wtmp-zeroed");
        let whole_recs = &one[..one.len() / 384 * 384];
        let mut raw = Vec::new();
        while raw.len() < 3 * SPLIT_MIN_BYTES {
            raw.extend_from_slice(whole_recs);
        }
        let e = crate::sources::testing::entry("fs/var/log/wtmp", "/var/log/wtmp", "logins", "utmp");
        let (whole, parts) = whole_and_split(raw, &e);
        assert!(whole.problems.iter().any(|p| p.message.starts_with("zeroed record")));
        assert!(whole.events.iter().any(|e| e.field_str("session_end").is_some_and(|s| s.starts_with("20"))));
        assert_same(whole, parts);
    }

    /// A 400-byte big-endian wtmp is cut at its own record size.
    #[test]
    fn s390x_wtmp_pieces_equal_one_pass() {
        let one = include_bytes!("../../fixtures/utmp/wtmp-s390x");
        let raw: Vec<u8> = one.iter().copied().cycle().take(one.len() * (3 * SPLIT_MIN_BYTES / one.len() + 1)).collect();
        let e = crate::sources::testing::entry("fs/var/log/wtmp", "/var/log/wtmp", "logins", "utmp");
        let (whole, parts) = whole_and_split(raw, &e);
        assert_same(whole, parts);
    }

}
