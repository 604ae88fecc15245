//! `coroner-report fleet`: many hosts' bundles, verified against one pinned fleet key, analysed host by host,
//! and one overview and timeline across them.
//!
//! A pool of `--jobs` workers takes the bundles one at a time: accept (the fleet rule, [`accept`]) and load →
//! findings → the host's own render (what `render` writes, on its own clock), its fleet timeline rows encoded in
//! memory from the render's rows as they are written → only a small summary is kept. Hosts are joined in input
//! order (bundle name, then path) as soon as the ones before them are: each gets its key (its hostname; a later
//! bundle of the same hostname `#2`, `#3`…), its render is moved under `hosts/<key>/` and its rows are appended
//! to `timeline.jsonl` / `timeline.parquet`. The overview is written last. Peak memory is about `2 × jobs`
//! hosts; the outputs are the same bytes whatever `jobs` is.

pub mod accept;
pub mod inputs;
pub mod overview;
pub mod patterns;
pub mod timeline;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

use anyhow::Context as _;
use coroner_schemas::fleet::Skew;
use coroner_schemas::{FindingsDoc, Utc};

use crate::findings;
use crate::pipeline::{self, LoadOptions};

use self::accept::{FleetKeys, How};
use self::inputs::Input;

/// Folder inside the output folder where each worker renders its host until the host is joined; removed at
/// the end.
const PARTS: &str = ".parts";

/// What `fleet` was asked.
#[derive(Clone, Debug)]
pub struct FleetOptions {
    pub inputs: Vec<PathBuf>,
    pub out: PathBuf,
    /// Verification, caps and identities; `anchor` is the pinned fleet key.
    pub load: LoadOptions,
    pub jobs: usize,
    /// Deaths closer than this (seconds) form one cross-host pattern.
    pub window_s: i64,
}

/// One accepted host, as kept once its worker is done.
#[derive(Clone, Debug)]
pub struct HostSummary {
    pub hostname: String,
    pub bundle: String,
    pub how: How,
    pub signer: Option<String>,
    pub events: u64,
    pub parse_problems: usize,
    pub collection_problems: usize,
    pub skew: Option<Skew>,
    /// Why the skew is unknown, when it is.
    pub clock_note: Option<String>,
    pub started: Utc,
    pub finished: Utc,
    pub findings: FindingsDoc,
}

/// A bundle left out of every output, and why.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Refusal {
    pub bundle: String,
    /// The path as it was found from the arguments.
    pub path: String,
    pub reason: String,
}

enum Outcome {
    Accepted(Box<HostSummary>, Box<timeline::HostRows>),
    Refused(Refusal),
}

/// What a run came to, for the exit code and the terminal.
#[derive(Debug)]
pub struct FleetResult {
    pub accepted: usize,
    pub refused: Vec<Refusal>,
    /// Hosts with parse problems, by key.
    pub with_problems: Vec<String>,
    pub rows: u64,
}

impl FleetResult {
    /// Every bundle accepted, no host with parse problems.
    pub fn clean(&self) -> bool {
        self.refused.is_empty() && self.with_problems.is_empty()
    }
}

/// Runs the whole fleet analysis. `Err` is fatal (no pinned key, no input, an output that cannot be written).
pub fn run(opts: &FleetOptions) -> anyhow::Result<FleetResult> {
    let keys = FleetKeys::load(&opts.load.anchor)?;
    let inputs = inputs::discover(&opts.inputs)?;
    anyhow::ensure!(!inputs.is_empty(), "no bundle to analyse");
    prepare_out(&opts.out)?;
    let parts = opts.out.join(PARTS);
    let host_dir = opts.out.join("hosts");
    std::fs::create_dir_all(&host_dir).with_context(|| format!("creating {}", host_dir.display()))?;
    let (timeline, encoder) = timeline::create(&opts.out)?;
    let timeline = Mutex::new(timeline);

    // The pool: each worker takes the next bundle, and hands in what it made; whoever hands in the next host in
    // input order joins it (and any after it already waiting). At most `jobs` hosts wait to be joined.
    let jobs = opts.jobs.clamp(1, inputs.len());
    let join = Mutex::new(Join::default());
    let room = Condvar::new();
    let ctx = Pool { inputs: &inputs, keys: &keys, opts, parts: &parts, host_dir: &host_dir, encoder: &encoder, timeline: &timeline, join: &join, room: &room, jobs };
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| ctx.work());
        }
    });
    let join = join.into_inner().map_err(|_| anyhow::anyhow!("a worker failed"))?;
    if let Some(e) = join.failed {
        return Err(e);
    }
    anyhow::ensure!(join.next_write == inputs.len(), "bundle {} was not analysed (a worker stopped)", inputs[join.next_write].bundle.display());
    let rows = timeline.into_inner().map_err(|_| anyhow::anyhow!("a worker failed"))?.finish()?;
    let mut refused = join.refused;
    refused.sort();
    let mut sorted = join.hosts;
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let doc = overview::FleetDoc::build(&sorted, &refused, opts.window_s, rows);
    overview::write_all(&doc, &opts.out)?;
    std::fs::remove_dir_all(&parts).with_context(|| format!("removing {}", parts.display()))?;

    Ok(FleetResult {
        accepted: sorted.len(),
        with_problems: sorted.iter().filter(|(_, h)| h.parse_problems > 0).map(|(k, _)| k.clone()).collect(),
        refused,
        rows,
    })
}

/// The joining's state, behind one lock.
#[derive(Default)]
struct Join {
    /// The next input to hand to a worker, and the next to join.
    next_input: usize,
    next_write: usize,
    /// Hosts done and waiting for the ones before them.
    pending: BTreeMap<usize, anyhow::Result<Outcome>>,
    /// A worker is joining (one at a time, so the order holds).
    draining: bool,
    /// The first fatal error, in input order; no new bundle is started after it.
    failed: Option<anyhow::Error>,
    keys: inputs::HostKeys,
    hosts: Vec<(String, HostSummary)>,
    refused: Vec<Refusal>,
}

/// What every worker shares.
struct Pool<'a> {
    inputs: &'a [Input],
    keys: &'a FleetKeys,
    opts: &'a FleetOptions,
    parts: &'a Path,
    host_dir: &'a Path,
    encoder: &'a timeline::Encoder,
    timeline: &'a Mutex<timeline::FleetTimeline>,
    join: &'a Mutex<Join>,
    room: &'a Condvar,
    jobs: usize,
}

impl Pool<'_> {
    fn work(&self) {
        loop {
            let i = {
                let Ok(mut j) = self.join.lock() else { return };
                while j.failed.is_none() && j.pending.len() >= self.jobs {
                    j = match self.room.wait(j) {
                        Ok(j) => j,
                        Err(_) => return,
                    };
                }
                if j.failed.is_some() || j.next_input >= self.inputs.len() {
                    return;
                }
                j.next_input += 1;
                j.next_input - 1
            };
            let r = analyse(i, &self.inputs[i], self.keys, self.opts, self.parts, self.encoder);
            if self.hand_in(i, r).is_err() {
                return;
            }
        }
    }

    /// Hands in input `i`'s outcome, then joins every host that is next in order, unless another worker is.
    fn hand_in(&self, i: usize, r: anyhow::Result<Outcome>) -> Result<(), ()> {
        let mut j = self.join.lock().map_err(drop)?;
        j.pending.insert(i, r);
        if j.draining {
            return Ok(());
        }
        j.draining = true;
        loop {
            let at = j.next_write;
            let Some(item) = j.pending.remove(&at) else { break };
            j.next_write += 1;
            self.room.notify_all();
            match item {
                Ok(Outcome::Refused(r)) => j.refused.push(r),
                Ok(Outcome::Accepted(h, rows)) => {
                    let key = j.keys.next(inputs::sanitize(&h.hostname));
                    drop(j);
                    let written = self.place(at, &key, *rows);
                    j = self.join.lock().map_err(drop)?;
                    match written {
                        Ok(()) => j.hosts.push((key, *h)),
                        Err(e) => {
                            j.failed = Some(e);
                            break;
                        }
                    }
                }
                Err(e) => {
                    j.failed = Some(e);
                    break;
                }
            }
        }
        j.draining = false;
        self.room.notify_all();
        Ok(())
    }

    /// Moves input `at`'s render under `hosts/<key>/` and appends its rows to the fleet timeline.
    fn place(&self, at: usize, key: &str, rows: timeline::HostRows) -> anyhow::Result<()> {
        let to = self.host_dir.join(key);
        std::fs::rename(self.parts.join(at.to_string()).join("render"), &to).with_context(|| format!("moving the render to {}", to.display()))?;
        let mut t = self.timeline.lock().map_err(|_| anyhow::anyhow!("a worker failed while writing the timeline"))?;
        self.encoder.append(&mut t, key, rows)
    }
}

/// Creates the output folder. A folder a previous `fleet` wrote (it has `fleet.json`) has its `hosts/` and
/// unjoined renders replaced; any other folder must not hold `hosts/` already (nothing of someone else's is removed).
fn prepare_out(out: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let hosts = out.join("hosts");
    if hosts.exists() {
        anyhow::ensure!(
            out.join("fleet.json").is_file(),
            "{} already holds hosts/ but no fleet.json: not a fleet output; choose another -o",
            out.display()
        );
        std::fs::remove_dir_all(&hosts).with_context(|| format!("removing the previous {}", hosts.display()))?;
    }
    let parts = out.join(PARTS);
    if parts.exists() {
        std::fs::remove_dir_all(&parts).with_context(|| format!("removing {}", parts.display()))?;
    }
    std::fs::create_dir_all(&parts).with_context(|| format!("creating {}", parts.display()))?;
    Ok(())
}

/// One worker's job: accept and load one bundle, analyse and render it, encode its timeline rows. `Err` only
/// for an output that cannot be written; a bundle that cannot be accepted or read is a refusal.
fn analyse(index: usize, input: &Input, keys: &FleetKeys, opts: &FleetOptions, parts: &Path, encoder: &timeline::Encoder) -> anyhow::Result<Outcome> {
    let refuse = |reason: String| Refusal { bundle: input.name.clone(), path: input.bundle.display().to_string(), reason };
    let (loaded, how) = match accept::accept_and_load(&input.bundle, &input.name, keys, &opts.load) {
        Ok(x) => x,
        Err(reason) => return Ok(Outcome::Refused(refuse(reason))),
    };
    let mut doc = findings::analyze(&loaded.manifest, &loaded.events, &loaded.facts, true);
    let c = &loaded.manifest.collector;
    let (skew, clock_note) = match &input.clock {
        Ok(clock) => {
            let s = clock.skew(c.started, c.finished);
            (Some(s), s.inconsistent.then(|| "the host's collection took longer than the controller waited: clocks disagree; midpoint used".to_owned()))
        }
        Err(why) => (None, Some(why.clone())),
    };
    let off = timeline::Offset { offset_us: skew.map(|s| s.offset_us), uncertainty_us: skew.map(|s| s.uncertainty_us) };
    // The host's render, its fleet rows made from its own timeline rows as they are written.
    let mut host = encoder.host(off)?;
    let dir = parts.join(index.to_string());
    pipeline::render_all_with(&loaded, &doc, &dir.join("render"), &pipeline::RenderOptions { direct: true, ..Default::default() }, |r, row, at| {
        host.push(r, row, at).map_err(|e| std::io::Error::other(format!("encoding the fleet timeline: {e:#}")))
    })?;
    let rows = host.finish()?;
    // The summary outlives the bundle: its evidence must not pin the members it was read from (a 15 MB wtmp,
    // an audit log), or memory grows by those with every host (`make bench`'s fleet rows: ~16 MB a host).
    doc.unshare_evidence();
    Ok(Outcome::Accepted(
        Box::new(HostSummary {
            hostname: loaded.manifest.host.hostname.clone(),
            bundle: input.name.clone(),
            how,
            signer: loaded.verification.signer_fingerprint.clone(),
            events: rows.rows,
            parse_problems: loaded.parse_problems(),
            collection_problems: loaded.collection_problems(),
            skew,
            clock_note,
            started: c.started,
            finished: c.finished,
            findings: doc,
        }),
        Box::new(rows),
    ))
}
