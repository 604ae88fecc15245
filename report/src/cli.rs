//! Command line: `verify`, `render`, `why`, `fleet`. Exit codes: 0 clean (problems the collector recorded are
//! shown but are not the report's), 1 verification failed, rendered unverified, with parse problems, (`why`) no
//! death matched, or (`fleet`) a bundle refused or a host with parse problems, 2 fatal (unreadable input, bad
//! arguments, no pinned key for `fleet`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use coroner_schemas::size::parse_size;
use coroner_schemas::Utc;

use crate::bundle::{Limits, Source, DEFAULT_MAX_ENTRY, DEFAULT_MAX_KEPT, DEFAULT_MAX_TOTAL};
use crate::decrypt::Identities;
use crate::findings::{self, WhyQuery};
use crate::pipeline::{self, LoadOptions, VerificationFailed};
use crate::verify::{self, TrustAnchor};

#[derive(Debug, Parser)]
#[command(
    name = "coroner-report",
    version,
    about = "Verify a Coroner bundle offline, build one UTC timeline and say who killed each process"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the manifest's SSHSIG signature, then every entry's size and sha256, and that nothing is missing
    /// or unlisted. Exit 0 only when everything holds.
    Verify {
        bundle: PathBuf,
        #[command(flatten)]
        keys: KeyArgs,
        #[command(flatten)]
        caps: CapArgs,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Verify, parse every source and write report.html, report.md, timeline.jsonl, timeline.csv and
    /// findings.json into DIR.
    Render {
        bundle: PathBuf,
        /// Output directory (created if needed).
        #[arg(short = 'o', long = "out")]
        out: PathBuf,
        /// Render even if the bundle does not verify; every output is marked UNVERIFIED.
        #[arg(long)]
        no_verify: bool,
        /// Print how long each step took (load = verify + parse, findings, outputs) to stderr.
        #[arg(long)]
        timings: bool,
        /// Repeat binary records (wtmp/btmp/utmp structs, ELF notes) in timeline.jsonl and timeline.csv as
        /// base64 in `raw_base64`. By default their rows point at the bytes (`entry`, `offset`) instead.
        #[arg(long)]
        raw_binary: bool,
        #[command(flatten)]
        keys: KeyArgs,
        #[command(flatten)]
        caps: CapArgs,
    },
    /// Explain one process death: who or what killed it.
    Why {
        bundle: PathBuf,
        #[arg(long, required_unless_present_any = ["comm", "unit", "container", "pod"])]
        pid: Option<i64>,
        #[arg(long)]
        comm: Option<String>,
        #[arg(long)]
        unit: Option<String>,
        /// A container: its name, or an id prefix of 12 or more hex digits.
        #[arg(long)]
        container: Option<String>,
        /// A Kubernetes pod: NAMESPACE/NAME (or NAME, in any namespace).
        #[arg(long)]
        pod: Option<String>,
        /// Pick the death nearest this time (ISO 8601; without a zone, UTC) when several match.
        #[arg(long, value_parser = parse_time)]
        at: Option<Utc>,
        /// Answer even if the bundle does not verify (the answer says UNVERIFIED).
        #[arg(long)]
        no_verify: bool,
        #[command(flatten)]
        keys: KeyArgs,
        #[command(flatten)]
        caps: CapArgs,
    },
    /// Many hosts' bundles at once: accept each against the pinned fleet key (its manifest signed by it, or
    /// the controller's `.sha256.sig` attestation plus the bundle's own key), render each host into
    /// OUT/hosts/HOST/, and write fleet.html, fleet.md, fleet.json and one timeline on the controller's clock
    /// (timeline.jsonl, timeline.parquet).
    Fleet {
        /// Run folders (as the Ansible role fetches them: one folder per host) or bundle files.
        #[arg(required = true, value_name = "DIR|BUNDLE")]
        inputs: Vec<PathBuf>,
        /// Output directory (created if needed).
        #[arg(short = 'o', long = "out")]
        out: PathBuf,
        /// Hosts analysed at once (default: the number of CPUs). Memory grows with it, not with the fleet.
        #[arg(long, value_name = "N")]
        jobs: Option<std::num::NonZeroUsize>,
        /// Deaths on several hosts within this many seconds of each other form one pattern.
        #[arg(long, value_name = "SECS", default_value_t = 600, value_parser = clap::value_parser!(i64).range(0..))]
        window: i64,
        #[command(flatten)]
        keys: KeyArgs,
        #[command(flatten)]
        caps: CapArgs,
    },
}

#[derive(Debug, Args)]
pub struct KeyArgs {
    /// ssh-keygen allowed_signers file; lines for `coroner-collect` (or `*`) are used. A line's
    /// valid-after/valid-before window must hold the current time (or --verify-time), as for ssh-keygen.
    #[arg(long, value_name = "FILE", conflicts_with = "pubkey")]
    pub allowed_signers: Option<PathBuf>,
    /// OpenSSH public key file of the collector's signing key.
    #[arg(long, value_name = "FILE")]
    pub pubkey: Option<PathBuf>,
    /// Check allowed_signers validity windows at this time instead of now, as ssh-keygen's
    /// `-Overify-time`: YYYYMMDD[Z], YYYYMMDDHHMM[SS][Z] or ISO 8601 (a time without a zone is read as UTC).
    #[arg(long, value_name = "TIME", requires = "allowed_signers", value_parser = parse_verify_time)]
    pub verify_time: Option<Utc>,
    /// For an age-encrypted bundle (`coroner-collect --encrypt-to`): an age identity file or an unencrypted
    /// OpenSSH private key, as `age -i` takes them (repeatable). The bundle is decrypted as it is read, never
    /// written out.
    #[arg(long, value_name = "FILE")]
    pub identity: Vec<PathBuf>,
}

impl KeyArgs {
    /// The `--identity` keys (none: an encrypted bundle is refused with "pass --identity").
    pub fn identities(&self) -> anyhow::Result<Identities> {
        Ok(Identities::load(&self.identity)?)
    }

    pub fn anchor(&self) -> TrustAnchor {
        match (&self.allowed_signers, &self.pubkey, self.verify_time) {
            (Some(p), _, Some(at)) => TrustAnchor::AllowedSignersAt(p.clone(), at),
            (Some(p), _, None) => TrustAnchor::AllowedSigners(p.clone()),
            (None, Some(p), _) => TrustAnchor::Pubkey(p.clone()),
            (None, None, _) => TrustAnchor::Embedded,
        }
    }
}

fn parse_verify_time(s: &str) -> Result<Utc, String> {
    verify::parse_ssh_time(s)
        .map(|(t, _)| t)
        .or_else(|| parse_iso_utc(s))
        .ok_or_else(|| format!("{s:?} is not YYYYMMDD[Z], YYYYMMDDHHMM[SS][Z] or an ISO 8601 / RFC 3339 time"))
}

/// RFC 3339, or an ISO 8601 date and time without a zone (`2026-11-27T20:03:37`, `T` or a space), which is
/// read as UTC as the README says: the answer should not depend on the analyst's zone.
fn parse_iso_utc(s: &str) -> Option<Utc> {
    Utc::parse_rfc3339(s).or_else(|| Utc::parse_rfc3339(&format!("{}Z", s.replacen(' ', "T", 1))))
}

#[derive(Debug, Args)]
pub struct CapArgs {
    /// Largest member or inflated entry (bytes; K, M, G, T suffixes are powers of 1024).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value_t = DEFAULT_MAX_ENTRY)]
    pub max_entry: u64,
    /// Largest decompressed bundle (bytes; K, M, G, T suffixes).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value_t = DEFAULT_MAX_TOTAL)]
    pub max_total: u64,
    /// Member bytes a render keeps in memory from its verifying pass, so the bundle is inflated once; members
    /// past this budget are read again in a second pass (bytes; K, M, G, T suffixes; 0: always two passes).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value_t = DEFAULT_MAX_KEPT)]
    pub max_kept: u64,
}

impl CapArgs {
    pub fn limits(&self) -> Limits {
        Limits {
            max_entry: self.max_entry,
            max_total: self.max_total,
            max_kept: self.max_kept,
            ..Limits::default()
        }
    }
}

fn parse_time(s: &str) -> Result<Utc, String> {
    parse_iso_utc(s).ok_or_else(|| format!("not an ISO 8601 / RFC 3339 time: {s:?}"))
}

/// Runs a parsed command line; errors are fatal (exit 2) unless they say verification failed (exit 1).
pub fn run(cli: Cli) -> ExitCode {
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            if let Some(v) = e.downcast_ref::<VerificationFailed>() {
                eprintln!("coroner-report: {v}");
                return ExitCode::from(1);
            }
            eprintln!("coroner-report: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Loads a bundle (verifying unless `no_verify`) and analyses it: what `render` and `why` both start from.
/// Returns the findings, whether the bundle was verified, and how long loading and analysing took.
fn load_and_analyze(
    bundle: &std::path::Path,
    no_verify: bool,
    keys: &KeyArgs,
    caps: &CapArgs,
) -> anyhow::Result<(pipeline::Loaded, coroner_schemas::FindingsDoc, bool, [std::time::Duration; 2])> {
    let t0 = std::time::Instant::now();
    let identities = std::sync::Arc::new(keys.identities()?);
    let opts = LoadOptions { verify: !no_verify, anchor: keys.anchor(), limits: caps.limits(), identities };
    let loaded = pipeline::load(bundle, &opts)?;
    let verified = loaded.verification.ok && !loaded.verification.skipped;
    let t1 = std::time::Instant::now();
    let doc = findings::analyze(&loaded.manifest, &loaded.events, &loaded.facts, verified);
    Ok((loaded, doc, verified, [t1 - t0, t1.elapsed()]))
}

/// Writes to standard output. A reader that closed the pipe (`why … | head`) ends the output quietly, as for
/// any filter; `print!` would panic.
fn out(s: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    match std::io::stdout().lock().write_all(s.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e).context("writing to standard output"),
        _ => Ok(()),
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Verify {
            bundle,
            keys,
            caps,
            json,
        } => {
            let identities = keys.identities()?;
            let v = pipeline::verify(Source { path: &bundle, identities: &identities }, &keys.anchor(), &caps.limits())
                .with_context(|| format!("verifying {}", bundle.display()))?;
            if json {
                let mut s = serde_json::to_string_pretty(&v.report).context("serialising the report")?;
                s.push('\n');
                out(&s)?;
            } else {
                out(&verify::render_text(&v.report))?;
            }
            Ok(ExitCode::from(if v.report.ok { 0 } else { 1 }))
        }
        Command::Render {
            bundle,
            out,
            no_verify,
            timings,
            raw_binary,
            keys,
            caps,
        } => {
            let (loaded, doc, verified, [load, analyse]) = load_and_analyze(&bundle, no_verify, &keys, &caps)?;
            let t = std::time::Instant::now();
            let files = pipeline::render_all(&loaded, &doc, &out, &pipeline::RenderOptions { raw_binary, direct: false })?;
            if timings {
                let each = |list: &[pipeline::Timing]| {
                    let v: Vec<String> = list.iter().map(|(name, d)| format!("{name} {:.2}", d.as_secs_f64())).collect();
                    v.join(", ")
                };
                eprintln!(
                    "coroner-report: timings: load (verify + parse) {:.2} s ({}), findings {:.2} s, outputs {:.2} s ({}); {} events, {} findings",
                    load.as_secs_f64(),
                    each(&loaded.steps),
                    analyse.as_secs_f64(),
                    t.elapsed().as_secs_f64(),
                    each(&files),
                    loaded.events.len(),
                    doc.findings.len()
                );
            }
            if !verified {
                eprintln!("coroner-report: rendered UNVERIFIED (--no-verify)");
            }
            let (parse, collection) = (loaded.parse_problems(), loaded.collection_problems());
            if parse + collection > 0 {
                eprintln!(
                    "coroner-report: {parse} parse problem(s), {collection} collection problem(s) recorded by the collector; see the report"
                );
            }
            Ok(ExitCode::from(if loaded.clean() { 0 } else { 1 }))
        }
        Command::Fleet {
            inputs,
            out,
            jobs,
            window,
            keys,
            caps,
        } => {
            let identities = std::sync::Arc::new(keys.identities()?);
            let opts = crate::fleet::FleetOptions {
                inputs,
                out,
                load: LoadOptions { verify: true, anchor: keys.anchor(), limits: caps.limits(), identities },
                jobs: jobs.map_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()), |n| n.get()),
                window_s: window,
            };
            let r = crate::fleet::run(&opts)?;
            for x in &r.refused {
                eprintln!(
                    "coroner-report: refused {}: {}",
                    crate::render::escape::visible(&x.path, false),
                    crate::render::escape::visible(&x.reason, false)
                );
            }
            for h in &r.with_problems {
                eprintln!("coroner-report: host {h}: parse problems; see hosts/{h}/report.html");
            }
            eprintln!(
                "coroner-report: fleet: {} host(s) accepted, {} refused, {} timeline row(s) in {}",
                r.accepted,
                r.refused.len(),
                r.rows,
                opts.out.display()
            );
            Ok(ExitCode::from(if r.clean() { 0 } else { 1 }))
        }
        Command::Why {
            bundle,
            pid,
            comm,
            unit,
            container,
            pod,
            at,
            no_verify,
            keys,
            caps,
        } => {
            let (loaded, doc, verified, _) = load_and_analyze(&bundle, no_verify, &keys, &caps)?;
            let q = WhyQuery { pid, comm, unit, container, pod, at };
            if !verified {
                out("UNVERIFIED bundle (--no-verify): the answer below rests on unchecked evidence\n")?;
            }
            let answer = findings::why(&doc, &loaded.events, &loaded.facts, &q);
            // The answer's evidence strings have their control characters spelled out (why::clean); bidi
            // overrides, zero-width and line-separator characters (which reorder or hide text on a terminal)
            // are spelled out here, for the whole answer, as the HTML and Markdown reports show them.
            out(&crate::render::escape::visible(&answer.text, true))?;
            // Non-zero when the bundle is unverified or no death matched (as grep does when nothing matches).
            Ok(ExitCode::from(if verified && answer.matched > 0 { 0 } else { 1 }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_shape() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
