//! `coroner-report fleet`: many hosts' bundles, verified against one pinned fleet key, analysed host by host,
//! and one overview and timeline across them.
//!
//! A pool of `--jobs` workers takes the bundles one at a time: accept (the fleet rule, [`accept`]) and load →
//! findings → the host's own render (what `render` writes, on its own clock) → its fleet timeline rows into
//! part files → only a small summary is kept. Host keys are given once every bundle is read (duplicate
//! hostnames are numbered by bundle name), then the renders are moved under `hosts/<key>/`, the parts are
//! streamed into `timeline.jsonl` / `timeline.parquet` in key order, and the overview is written. Peak memory
//! is about `jobs` hosts; the outputs are the same bytes whatever `jobs` is.

pub mod accept;
pub mod inputs;
pub mod overview;
pub mod patterns;
pub mod timeline;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context as _;
use coroner_schemas::fleet::Skew;
use coroner_schemas::{FindingsDoc, Utc};

use crate::findings;
use crate::pipeline::{self, LoadOptions};

use self::accept::{FleetKeys, How};
use self::inputs::Input;

/// Folder of the workers' part files inside the output folder, removed at the end.
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
    pub index: usize,
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
    Accepted(Box<HostSummary>),
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

    // The pool: each worker takes the next bundle; results land by input index.
    let next = Mutex::new(0usize);
    let results: Mutex<Vec<Option<anyhow::Result<Outcome>>>> = Mutex::new((0..inputs.len()).map(|_| None).collect());
    let jobs = opts.jobs.clamp(1, inputs.len());
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| loop {
                let i = {
                    let Ok(mut n) = next.lock() else { return };
                    let i = *n;
                    *n += 1;
                    i
                };
                let Some(input) = inputs.get(i) else { return };
                let r = analyse(i, input, &keys, opts, &parts);
                if let Ok(mut all) = results.lock() {
                    all[i] = Some(r);
                }
            });
        }
    });
    let results = results.into_inner().map_err(|_| anyhow::anyhow!("a worker failed"))?;
    let mut hosts = Vec::new();
    let mut refused = Vec::new();
    for (i, r) in results.into_iter().enumerate() {
        match r {
            Some(Ok(Outcome::Accepted(h))) => hosts.push(*h),
            Some(Ok(Outcome::Refused(r))) => refused.push(r),
            Some(Err(e)) => return Err(e),
            None => anyhow::bail!("bundle {} was not analysed (a worker stopped)", inputs[i].bundle.display()),
        }
    }
    refused.sort();

    // Host keys, then the renders moved into place and the timeline parts joined in key order.
    let named: Vec<(String, String)> = hosts.iter().map(|h| (inputs::sanitize(&h.hostname), h.bundle.clone())).collect();
    let keys_of = inputs::host_keys(&named);
    let mut order: Vec<usize> = (0..hosts.len()).collect();
    order.sort_by(|&a, &b| keys_of[a].cmp(&keys_of[b]));
    let host_dir = opts.out.join("hosts");
    std::fs::create_dir_all(&host_dir).with_context(|| format!("creating {}", host_dir.display()))?;
    let mut part_dirs = Vec::new();
    for &i in &order {
        let part = parts.join(hosts[i].index.to_string());
        let to = host_dir.join(&keys_of[i]);
        std::fs::rename(part.join("render"), &to).with_context(|| format!("moving the render to {}", to.display()))?;
        part_dirs.push((keys_of[i].clone(), part));
    }
    let joined: Vec<(String, &Path)> = part_dirs.iter().map(|(k, p)| (k.clone(), p.as_path())).collect();
    let rows = timeline::concat(&joined, &opts.out)?;

    let sorted: Vec<(String, HostSummary)> = order.iter().map(|&i| (keys_of[i].clone(), hosts[i].clone())).collect();
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

/// Creates the output folder. A folder a previous `fleet` wrote (it has `fleet.json`) has its `hosts/` and
/// part files replaced; any other folder must not hold `hosts/` already (nothing of someone else's is removed).
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

/// One worker's job: accept and load one bundle, analyse and render it, write its rows. `Err` only for an
/// output that cannot be written; a bundle that cannot be accepted or read is a refusal.
fn analyse(index: usize, input: &Input, keys: &FleetKeys, opts: &FleetOptions, parts: &Path) -> anyhow::Result<Outcome> {
    let refuse = |reason: String| Refusal { bundle: input.name.clone(), path: input.bundle.display().to_string(), reason };
    let (loaded, how) = match accept::accept_and_load(&input.bundle, &input.name, keys, &opts.load) {
        Ok(x) => x,
        Err(reason) => return Ok(Outcome::Refused(refuse(reason))),
    };
    let mut doc = findings::analyze(&loaded.manifest, &loaded.events, &loaded.facts, true);
    let dir = parts.join(index.to_string());
    pipeline::render_all(&loaded, &doc, &dir.join("render"), &pipeline::RenderOptions::default())?;
    let c = &loaded.manifest.collector;
    let (skew, clock_note) = match &input.clock {
        Ok(clock) => {
            let s = clock.skew(c.started, c.finished);
            (Some(s), s.inconsistent.then(|| "the host's collection took longer than the controller waited: clocks disagree; midpoint used".to_owned()))
        }
        Err(why) => (None, Some(why.clone())),
    };
    let off = timeline::Offset { offset_us: skew.map(|s| s.offset_us), uncertainty_us: skew.map(|s| s.uncertainty_us) };
    let model = loaded.model(&doc, false);
    let events = timeline::write_part(&model, off, &dir)?;
    // The summary outlives the bundle: its evidence must not pin the members it was read from (a 15 MB wtmp,
    // an audit log), or memory grows by those with every host (`make bench`'s fleet rows: ~16 MB a host).
    doc.unshare_evidence();
    Ok(Outcome::Accepted(Box::new(HostSummary {
        index,
        hostname: loaded.manifest.host.hostname.clone(),
        bundle: input.name.clone(),
        how,
        signer: loaded.verification.signer_fingerprint.clone(),
        events,
        parse_problems: loaded.parse_problems(),
        collection_problems: loaded.collection_problems(),
        skew,
        clock_note,
        started: c.started,
        finished: c.finished,
        findings: doc,
    })))
}
