//! Command line: `coroner-collect [collect] [OPTIONS]`, `coroner-collect keygen -o PATH`, and `arm`, `disarm`, `status`
//! (in `crate::arm`).
//!
//! Exit codes: 0 bundle written and clean, 1 bundle written with problems recorded, 2 no bundle.

use std::ffi::OsString;
use std::io::{self, BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::{Args, Parser, Subcommand, ValueEnum};
use coroner_schemas::accounts::Accounts;
use coroner_schemas::manifest::{CollectOptions, CorePolicy, Problem};
use coroner_schemas::size::parse_size;
use coroner_schemas::Utc;
use rustix::process::{geteuid, getuid};
use rustix::termios::{tcgetattr, tcsetattr, LocalModes, OptionalActions};

use crate::acquire::{self, Ctx};
use crate::bundle::sign::{self, Signer};
use crate::bundle::{self, Request};

#[derive(Parser, Debug)]
#[command(
    name = "coroner-collect",
    version,
    about = "Snapshot the evidence of a process death into one signed, verifiable tar.gz bundle",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub collect: CollectArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Collect this host (or a tree under --root) into a bundle (the default).
    Collect(CollectArgs),
    /// Make an Ed25519 signing key pair: PATH (0600) and PATH.pub.
    Keygen(KeygenArgs),
    /// Record signals, OOM victims and the kernel's death lines as they happen (runs until SIGTERM).
    Watch(crate::watch::WatchArgs),
    /// Prepare this host so the next death leaves evidence (audit rules, cores, history, journal, recorder).
    Arm(crate::arm::ArmArgs),
    /// Undo what `arm` changed, from its state file.
    Disarm(crate::arm::DisarmArgs),
    /// What is armed and what is not (exit 0: all armed, 1: gaps).
    Status(crate::arm::StatusArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Cores {
    /// Whole cores up to --core-cap, the head of larger ones.
    Full,
    /// Only the head holding the ELF headers and notes.
    Head,
    /// No bytes: size, hash and metadata only.
    Meta,
}

#[derive(Args, Debug, Clone)]
pub struct CollectArgs {
    /// Directory the bundle is written to.
    #[arg(short = 'o', long = "output", value_name = "DIR", default_value = ".")]
    pub output: PathBuf,
    /// Collect from a mounted image or copied tree instead of the running host (live sources not applicable).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// OpenSSH Ed25519 private key to sign with; without it a fresh key is made for this bundle.
    #[arg(long, value_name = "PATH")]
    pub key: Option<PathBuf>,
    /// File holding the key's passphrase (else $CORONER_KEY_PASSPHRASE, else a prompt on a terminal).
    #[arg(long, value_name = "FILE")]
    pub key_passphrase_file: Option<PathBuf>,
    /// Encrypt the whole bundle to this analyst (repeatable): an age recipient (age1…), an SSH public key
    /// (ssh-ed25519 …, ssh-rsa …) or a file of them, one a line, as `age -r`/`-R` take them. Writes a standard
    /// age file, BUNDLE.tar.gz.age; the plaintext never reaches the disk.
    #[arg(long, value_name = "RECIPIENT")]
    pub encrypt_to: Vec<String>,
    /// Core dump policy.
    #[arg(long, value_enum, default_value = "full")]
    pub cores: Cores,
    /// Largest core kept whole under --cores full (e.g. 512M, 2G).
    #[arg(long, value_name = "SIZE", default_value = "512M", value_parser = parse_size)]
    pub core_cap: u64,
    /// Per-file cap: larger logs keep their tail, larger cores their head.
    #[arg(long, value_name = "SIZE", default_value = "256M", value_parser = parse_size)]
    pub max_file: u64,
    /// Cap on all bytes taken; later files are skipped once reached.
    #[arg(long, value_name = "SIZE", default_value = "4G", value_parser = parse_size)]
    pub max_total: u64,
    /// How far back the journal export reaches (e.g. 7d, 12h, 90m).
    #[arg(long, value_name = "DURATION", default_value = "7d", value_parser = parse_duration)]
    pub journal_window: u64,
    /// Timeout of each external command, in seconds.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_secs)]
    pub command_timeout: f64,
    /// Extra files to take (repeatable glob over host paths, e.g. '/srv/app/logs/*.log').
    #[arg(long, value_name = "GLOB", value_parser = parse_glob)]
    pub include: Vec<String>,
    /// Files never to take (repeatable glob; without '/' it matches the file name).
    #[arg(long, value_name = "GLOB", value_parser = parse_glob)]
    pub exclude: Vec<String>,
    /// Run at normal CPU and I/O priority (default: nice 10, best-effort I/O priority 7).
    #[arg(long)]
    pub no_gentle: bool,
    /// No progress and no summary on stderr (the bundle path is still printed on stdout).
    #[arg(short, long)]
    pub quiet: bool,
    /// Replace secrets (passwords, tokens, keys) in histories, command lines, syslog and the journal export
    /// before they reach the bundle; compressed logs and binary journal files are then not taken.
    #[arg(long)]
    pub redact: bool,
    /// Print the redaction patterns (name, a tab, what it matches), one a line, and exit.
    #[arg(long)]
    pub list_redactions: bool,
}

#[derive(Args, Debug)]
pub struct KeygenArgs {
    /// Where to write the private key (PATH.pub gets the public key).
    #[arg(short = 'o', long = "output", value_name = "PATH")]
    pub output: PathBuf,
    /// Protect the key with the passphrase in this file.
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
}

/// `7d`, `12h`, `90m`, `30s`, `3600`: seconds.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("not a duration: {s:?} (e.g. 7d, 12h)"))?;
    let mult = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(format!("unknown duration unit in {s:?} (use s, m, h, d, w)")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("duration out of range: {s:?}"))
}

fn parse_glob(s: &str) -> Result<String, String> {
    crate::acquire::glob::checked(s).map(|_| s.to_owned())
}

fn parse_secs(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("not a number of seconds: {s:?}"))?;
    if v.is_finite() && v > 0.0 && v < 86_400.0 {
        Ok(v)
    } else {
        Err(format!("timeout out of range: {s:?}"))
    }
}

/// Parses `argv` and runs; returns the process exit code. Errors are fatal (exit 2).
pub fn run(argv: Vec<OsString>) -> anyhow::Result<i32> {
    let cli = match Cli::try_parse_from(&argv) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return Ok(code);
        }
    };
    let argv: Vec<String> = argv.iter().map(|a| a.to_string_lossy().into_owned()).collect();
    match cli.command {
        Some(Command::Keygen(k)) => keygen(&k),
        Some(Command::Watch(w)) => crate::watch::run(&w),
        Some(Command::Arm(a)) => Ok(crate::arm::exit_code(crate::arm::arm(&a))),
        Some(Command::Disarm(a)) => Ok(crate::arm::exit_code(crate::arm::disarm(&a))),
        Some(Command::Status(a)) => Ok(crate::arm::exit_code(crate::arm::status(&a))),
        Some(Command::Collect(c)) => collect(&c, argv),
        None => collect(&cli.collect, argv),
    }
}

fn read_passphrase_file(p: &Path) -> anyhow::Result<String> {
    let s = std::fs::read_to_string(p).with_context(|| format!("reading passphrase file {}", p.display()))?;
    Ok(s.strip_suffix('\n')
        .map(|s| s.strip_suffix('\r').unwrap_or(s))
        .unwrap_or(&s)
        .to_owned())
}

fn keygen(k: &KeygenArgs) -> anyhow::Result<i32> {
    let pass = k.passphrase_file.as_deref().map(read_passphrase_file).transpose()?;
    let fp = sign::keygen(&k.output, pass.as_deref())?;
    eprintln!("wrote {} and {}.pub ({fp})", k.output.display(), k.output.display());
    println!("{fp}");
    Ok(0)
}

/// Reads a line from the terminal with echo off.
fn prompt_passphrase(key: &Path) -> Option<String> {
    if !io::stdin().is_terminal() {
        return None;
    }
    eprint!("Passphrase for {}: ", key.display());
    let _ = io::stderr().flush();
    let stdin = io::stdin();
    let old = tcgetattr(&stdin).ok();
    if let Some(old) = &old {
        let mut quiet = old.clone();
        quiet.local_modes.remove(LocalModes::ECHO);
        let _ = tcsetattr(&stdin, OptionalActions::Now, &quiet);
    }
    let mut line = String::new();
    let r = stdin.lock().read_line(&mut line);
    if let Some(old) = &old {
        let _ = tcsetattr(&stdin, OptionalActions::Now, old);
    }
    eprintln!();
    r.ok()?;
    Some(line.trim_end_matches(['\n', '\r']).to_owned())
}

fn load_signer(c: &CollectArgs) -> anyhow::Result<Signer> {
    let Some(key) = &c.key else {
        return Ok(Signer::ephemeral()?);
    };
    let file_pass = c.key_passphrase_file.as_deref().map(read_passphrase_file).transpose()?;
    let signer = Signer::load(key, || {
        file_pass
            .or_else(|| std::env::var("CORONER_KEY_PASSPHRASE").ok())
            .or_else(|| prompt_passphrase(key))
    })?;
    Ok(signer)
}

/// nice 10 and best-effort I/O priority 7 for this process (and the commands it starts).
pub(crate) fn be_gentle() {
    // Failures are harmless: the priority stays as it was.
    let _ = rustix::process::setpriority_process(None, 10);
    const IOPRIO_WHO_PROCESS: libc::c_long = 1;
    const IOPRIO_CLASS_BE: libc::c_long = 2;
    // SAFETY: ioprio_set has no wrapper in libc or rustix; it takes three integers and only changes the
    // calling process's I/O priority.
    unsafe {
        libc::syscall(
            libc::SYS_ioprio_set,
            IOPRIO_WHO_PROCESS,
            0 as libc::c_long,
            (IOPRIO_CLASS_BE << 13) | 7,
        );
    }
}

fn read_capped(p: &Path) -> Vec<u8> {
    use std::io::Read;
    let mut v = Vec::new();
    if let Ok(f) = std::fs::File::open(p) {
        let _ = f.take(64 << 20).read_to_end(&mut v);
    }
    v
}

fn human(n: u64) -> String {
    const U: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i < U.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", U[i])
    }
}

fn list_redactions() -> anyhow::Result<i32> {
    let mut out = io::stdout().lock();
    for p in bundle::redact::PATTERNS {
        writeln!(out, "{}\t{}", p.name, p.what)?;
    }
    Ok(0)
}

fn collect(c: &CollectArgs, argv: Vec<String>) -> anyhow::Result<i32> {
    if c.list_redactions {
        return list_redactions();
    }
    let started = Utc(time::OffsetDateTime::now_utc());
    let t0 = Instant::now();
    if !c.no_gentle {
        be_gentle();
    }
    let (uid, euid) = (getuid().as_raw(), geteuid().as_raw());
    let root = match &c.root {
        Some(r) => {
            if !r.is_dir() {
                bail!("--root {}: not a directory", r.display());
            }
            std::fs::canonicalize(r).with_context(|| format!("--root {}", r.display()))?
        }
        None => PathBuf::from("/"),
    };
    let live = c.root.is_none();
    let accounts = Accounts::parse(
        &read_capped(&root.join("etc/passwd")),
        &read_capped(&root.join("etc/group")),
    );
    let opts = CollectOptions {
        root: c.root.as_ref().map(|_| root.to_string_lossy().into_owned()),
        cores: match c.cores {
            Cores::Full => CorePolicy::Full,
            Cores::Head => CorePolicy::Head,
            Cores::Meta => CorePolicy::Meta,
        },
        core_cap_bytes: c.core_cap,
        max_file_bytes: c.max_file,
        max_total_bytes: c.max_total,
        journal_window_seconds: c.journal_window,
        command_timeout_ms: (c.command_timeout * 1000.0) as u64,
        includes: c.include.clone(),
        excludes: c.exclude.clone(),
        gentle: !c.no_gentle,
        redact: c.redact,
    };
    // The keys first: a wrong passphrase or recipient should stop us before any work.
    let signer = load_signer(c)?;
    let encrypt_to = bundle::recipients::parse(&c.encrypt_to)?;
    let ctx = Ctx::new(root, live, opts, accounts);

    let mut problems = Vec::new();
    if euid != 0 {
        if !c.quiet {
            eprintln!("coroner-collect: not running as root: unreadable evidence is recorded as permission denied; root gives the full picture");
        }
        problems.push(Problem {
            source: "privileges".to_owned(),
            message: format!("collected as uid {uid} (euid {euid}), not root: some evidence could not be read"),
        });
    }
    let host = acquire::host::host_facts(&ctx);
    let clock = if live { acquire::kernel::clock_sample() } else { None };

    let items = acquire::plan(&ctx);

    let show_progress = !c.quiet && io::stderr().is_terminal();
    let mut last = Instant::now();
    let total_items = items.len();
    let mut progress = |counts: bundle::writer::Counts, done: usize, src: &str| {
        if show_progress && (last.elapsed() >= Duration::from_millis(200) || done == total_items) {
            last = Instant::now();
            let src: String = src.chars().take(60).collect();
            eprint!("\r\x1b[K[{done}/{total_items}] {} {src}", human(counts.stored_bytes));
            let _ = io::stderr().flush();
        }
    };
    let req = Request {
        ctx: &ctx,
        out_dir: c.output.clone(),
        started,
        argv,
        signer: &signer,
        host,
        clock,
        problems,
        uid,
        euid,
        encrypt_to: &encrypt_to,
    };
    let in_entries = acquire::procs::recorded_problems(&items);
    let written = bundle::write_bundle(req, &items, &mut progress);
    if show_progress {
        eprint!("\r\x1b[K");
    }
    let written = written?;
    let m = &written.manifest;
    let entry_problems = m.entries.iter().filter(|e| e.status.is_problem()).count();
    let stored: u64 = m.entries.iter().map(|e| e.size).sum();
    let with_bytes = m.entries.iter().filter(|e| e.has_data()).count();
    if !c.quiet {
        // The same counts `coroner-report verify` and the report give: entries listed, those with bytes (each a
        // tar member, checked by sha256), those recorded absent; problems by where the collector recorded them.
        eprintln!(
            "coroner-collect: {} entries ({} with bytes, {} recorded absent), {} stored, {} compressed, {:.1} s",
            m.entries.len(),
            with_bytes,
            m.entries.len() - with_bytes,
            human(stored),
            human(written.bundle_bytes),
            t0.elapsed().as_secs_f64()
        );
        eprintln!(
            "coroner-collect: {} problem(s): {} entries not taken whole, {} inside {}, {} other",
            entry_problems + in_entries + m.problems.len(),
            entry_problems,
            in_entries,
            acquire::procs::BUNDLE_PATH,
            m.problems.len(),
        );
        let kind = if signer.ephemeral {
            "fresh key made for this bundle"
        } else {
            "key"
        };
        eprintln!("coroner-collect: signed with {kind} {}", m.collector.signer_fingerprint);
        if !encrypt_to.is_empty() {
            eprintln!(
                "coroner-collect: age-encrypted to {} recipient(s); open with coroner-report --identity KEY, or age -d -i KEY -o {} FILE",
                encrypt_to.len(),
                m.bundle_name
            );
        }
        for w in &written.warnings {
            eprintln!("coroner-collect: warning: {w}");
        }
    }
    println!("{}", written.path.display());
    Ok(if entry_problems > 0 || in_entries > 0 || !m.problems.is_empty() {
        1
    } else {
        0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("7d"), Ok(604_800));
        assert_eq!(parse_duration("90m"), Ok(5400));
        assert!(parse_duration("1y").is_err());
    }

    #[test]
    fn collect_is_the_default_subcommand() {
        let c = Cli::try_parse_from(["coroner-collect", "-o", "/tmp/x", "--max-file", "1M"]).expect("parse");
        assert!(c.command.is_none());
        assert_eq!(c.collect.max_file, 1 << 20);
        let c =
            Cli::try_parse_from(["coroner-collect", "collect", "--exclude", "*.gz", "--exclude", "x"]).expect("parse");
        assert!(matches!(c.command, Some(Command::Collect(a)) if a.exclude == ["*.gz", "x"]));
        // A pattern globset cannot compile is refused, not dropped (the files it meant to keep out would go in).
        for bad in [["--exclude", "/x/{a"], ["--include", "/srv/{a,b"]] {
            let e = Cli::try_parse_from(["coroner-collect", "collect", bad[0], bad[1]]).expect_err("refused");
            assert!(e.to_string().contains("not a glob"), "{e}");
        }
        let c = Cli::try_parse_from(["coroner-collect", "keygen", "-o", "k"]).expect("parse");
        assert!(matches!(c.command, Some(Command::Keygen(_))));
    }
}
