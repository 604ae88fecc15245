//! `coroner-collect watch`: the signal recorder. It reads the kernel's own tracepoints through a private
//! tracefs instance, keeps a small process table from exec and fork events so that short-lived senders are
//! still named, copies the kernel's death lines from `/dev/kmsg`, and writes [`WatchRecord`]s as JSONL under
//! `<state>/watch/`. The bundle collector later copies those files raw (`acquire::watch`).
//!
//! Signal records are written once the target's fate is known (its group exit, or the wait running out), so
//! they can follow later records by up to `--wait-exit`; their `at` orders them.

pub mod bpf;
pub mod btf;
pub mod cgroups;
pub mod kmsg;
pub mod store;
pub mod table;
pub mod trace;
pub mod tracefs;

use std::collections::{HashMap, VecDeque};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::Args;
use coroner_schemas::signals;
use coroner_schemas::size::parse_size;
use coroner_schemas::watch::{
    Delivery, DeliveryAction, KmsgCopy, Lost, OomVictim, ProcInfo, SignalOrigin, SignalRecord, TargetFate, WatchRecord, WatchStart, WatchStop,
    DEFAULT_STATE_DIR, TRACE_INSTANCE, WATCH_SUBDIR,
};
use coroner_schemas::watch::FieldFrom;
use coroner_schemas::Utc;
use rustix::event::{poll, PollFd, PollFlags};

use store::Store;
use table::Table;
use trace::{TraceEvent, TraceLine};

/// Signals recorded by default: those that end or stop a process by default (`signal(7)` Term, Core and Stop
/// actions), less SIGCHLD-like noise: HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM
/// STOP TSTP XCPU XFSZ SYS. SIGTTIN/SIGTTOU, SIGVTALRM, SIGPROF, SIGIO and SIGPWR are left out: programs send
/// them to themselves routinely.
pub const DEFAULT_SIGNALS: &str = "HUP,INT,QUIT,ILL,TRAP,ABRT,BUS,FPE,KILL,USR1,SEGV,USR2,PIPE,ALRM,TERM,STOP,TSTP,XCPU,XFSZ,SYS";

/// Processes the table remembers.
const TABLE_CAP: usize = 32_768;
/// Signal records waiting for their target's fate, at most (older ones are written with the fate unknown).
const MAX_PENDING: usize = 4096;

#[derive(Args, Debug, Clone)]
pub struct WatchArgs {
    /// Where the recorder keeps its files (they go under DIR/watch/).
    #[arg(long, value_name = "DIR", default_value = DEFAULT_STATE_DIR)]
    pub state_dir: PathBuf,
    /// Signals to record, by name or number, comma-separated (filtered in the kernel).
    #[arg(long, value_name = "LIST", default_value = DEFAULT_SIGNALS, value_parser = parse_signals)]
    pub signals: SignalList,
    /// Cap on all the recorder's files together; the oldest are removed (and the loss recorded) past it.
    #[arg(long, value_name = "SIZE", default_value = "256M", value_parser = parse_size)]
    pub max_size: u64,
    /// Size at which a file is closed and the next one started.
    #[arg(long, value_name = "SIZE", default_value = "16M", value_parser = parse_size)]
    pub file_size: u64,
    /// Stop after this many seconds (default: run until SIGTERM or SIGINT).
    #[arg(long, value_name = "SECS")]
    pub duration: Option<u64>,
    /// How long a signal record waits for its target to exit, in milliseconds.
    #[arg(long, value_name = "MS", default_value = "2000")]
    pub wait_exit: u64,
    /// Ring buffer per CPU of the recorder's trace instance, in KiB.
    #[arg(long, value_name = "KIB", default_value = "4096")]
    pub buffer_kb: u64,
    /// Where a new process's argv comes from: `bpf` (a program on the exec tracepoint, which gives its comm,
    /// uid, login uid and cgroup too), `uprobe` (a probe on the dynamic loader; dearer per process, and blind
    /// to static binaries; ids from `/proc`), `proc` (`/proc` alone, so a process that exits before the
    /// recorder reads may have none), or `auto`: the first of those that works.
    #[arg(long, value_name = "FROM", default_value = "auto", value_parser = ["auto", "bpf", "uprobe", "proc"])]
    pub argv: String,
}

/// Signal numbers, sorted and unique.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignalList(pub Vec<i32>);

pub fn parse_signals(s: &str) -> Result<SignalList, String> {
    let mut v = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match signals::number(part) {
            Some(n) if n > 0 => v.push(n as i32),
            _ => return Err(format!("not a signal: {part:?} (e.g. TERM,KILL,SEGV or 15,9,11)")),
        }
    }
    if v.is_empty() {
        return Err("no signals given".to_owned());
    }
    v.sort_unstable();
    v.dedup();
    Ok(SignalList(v))
}

/// The signal that asked us to stop (0 while none has).
static STOP: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_stop_signal(sig: libc::c_int) {
    STOP.store(sig, Ordering::SeqCst);
}

/// SIGTERM and SIGINT set [`STOP`]; without SA_RESTART, so a `poll` in progress returns at once.
fn catch_stop_signals() {
    for sig in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: the handler only stores to an atomic (async-signal-safe); the struct is zeroed then filled
        // as sigaction(2) describes. Neither std nor rustix wraps sigaction.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_stop_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

fn now_utc() -> Utc {
    Utc(time::OffsetDateTime::now_utc())
}

fn mono_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    u64::try_from(t.tv_sec).unwrap_or(0) * 1_000_000_000 + u64::try_from(t.tv_nsec).unwrap_or(0)
}

/// A signal record waiting for its target's exit.
struct Pending {
    rec: SignalRecord,
    target_tgid: i64,
}

/// Everything the loop carries.
struct Recorder {
    store: Store,
    table: Table,
    pending: VecDeque<Pending>,
    proc: PathBuf,
    clock_zero_ns: i128,
    wait_ns: u64,
    /// Lines of the trace that did not parse, not yet reported.
    unparsed: u64,
    unparsed_example: Option<String>,
    /// An argv probe is on (the exec program or the loader uprobe): an exec's argv comes from it, and
    /// cmdline is read only when none came.
    argv_probe: bool,
    /// Processes exec'd in the lines read so far whose whole argv has not come from the probe: their cmdline
    /// is read once those lines are handled ([`Recorder::cmdlines`]).
    argv_due: Vec<i64>,
    /// The exec argv program, when the kernel took it.
    exec_argv: Option<bpf::ArgvProgram>,
    /// Its records not yet matched to an exec line, by tgid, oldest first.
    exec_argv_queue: HashMap<i64, VecDeque<bpf::ExecArgv>>,
    /// The program's cgroup ids as paths (`None` without a cgroup2 mount: `/proc` gives the cgroup then).
    cgroups: Option<cgroups::CgroupPaths>,
}

impl Recorder {
    fn at(&self, ts_ns: u64) -> Utc {
        Utc::from_unix_nanos(self.clock_zero_ns + i128::from(ts_ns)).unwrap_or_else(now_utc)
    }

    fn line(&mut self, raw: &str) {
        let t = match trace::parse(raw) {
            Ok(t) => t,
            // An argv probe line that does not read back loses no event: argv then comes from /proc.
            Err(trace::TraceError::Fields { event }) if event == "argv" => return,
            Err(e) => {
                self.unparsed += 1;
                let shown: String = raw.chars().take(200).collect();
                self.unparsed_example.get_or_insert_with(|| format!("{e}: {shown:?}"));
                return;
            }
        };
        if let Some(g) = t.tgid {
            self.table.saw_thread(t.tid, g);
        }
        let tgid = self.table.tgid_of(t.tid).or(t.tgid).unwrap_or(t.tid);
        match &t.event {
            TraceEvent::Fork { child_pid, child_comm, .. } => self.table.fork(tgid, *child_pid, child_comm),
            TraceEvent::Exec { filename, pid, .. } => {
                if !self.argv_probe {
                    self.table.exec(*pid, filename, table::read_proc(&self.proc, *pid));
                    return;
                }
                let Some(seen) = self.exec_argv_for(*pid, t.ts_ns) else {
                    self.table.exec(*pid, filename, table::read_ids(&self.proc, *pid));
                    // The uprobe's line follows the exec's, and takes it off this list when it has it all.
                    self.argv_due.push(*pid);
                    return;
                };
                // The program's ids, taken at the exec itself; `/proc` only for a cgroup id the mount's walk
                // does not know (yet).
                let cgroup = match self.cgroups.as_mut().and_then(|c| c.path(seen.cgroup_id)) {
                    Some(c) => Some(c),
                    None => table::read_ids(&self.proc, *pid).cgroup,
                };
                let ids = table::ProcRead { comm: Some(seen.comm), uid: Some(seen.uid), loginuid: seen.loginuid, cgroup, ..Default::default() };
                self.table.exec(*pid, filename, ids);
                match seen.argv {
                    Some(args) => self.table.argv(*pid, args),
                    None => self.argv_due.push(*pid),
                }
            }
            TraceEvent::Exit { group_dead: true, .. } => {
                self.table.exit(tgid, t.ts_ns);
                self.target_exited(tgid, t.ts_ns);
            }
            TraceEvent::Exit { group_dead: false, pid, .. } => self.table.thread_exited(*pid),
            TraceEvent::SignalGenerate { .. } => self.signal(&t, raw),
            TraceEvent::SignalDeliver { sig, sa_handler, .. } => self.delivered(tgid, &t, *sig, *sa_handler, raw),
            TraceEvent::MarkVictim { .. } => self.victim(&t, raw),
            TraceEvent::Argv { argc, args } => {
                // Every argument fitted in the probe's slots: no cmdline read for this exec.
                if usize::try_from(*argc).is_ok_and(|n| n <= args.len()) {
                    self.argv_due.retain(|&p| p != tgid);
                }
                self.table.argv(tgid, args.clone());
            }
            TraceEvent::Other { .. } => {}
        }
    }

    /// Moves the exec program's new records into the queue (before the lines of a read are handled: the
    /// program runs at the exec tracepoint, ahead of the line the instance writes for it there).
    fn drain_exec_argv(&mut self) {
        if let Some(p) = self.exec_argv.as_mut() {
            let q = &mut self.exec_argv_queue;
            p.drain(|a| q.entry(a.tgid).or_default().push_back(a));
        }
    }

    /// The exec program's record for `pid`'s exec line at `ts_ns`: the newest of its records up to that line
    /// (printed in whole microseconds, so up to 1 us after it); a record after it is the pid's next exec's.
    /// One more than 1 ms before the line is not taken (its own record may be missing); `/proc` is read then.
    fn exec_argv_for(&mut self, pid: i64, ts_ns: u64) -> Option<bpf::ExecArgv> {
        let q = self.exec_argv_queue.get_mut(&pid)?;
        let mut last = None;
        while q.front().is_some_and(|a| a.mono_ns < ts_ns + 1_000) {
            last = q.pop_front();
        }
        if q.is_empty() {
            self.exec_argv_queue.remove(&pid);
        }
        last.filter(|a| ts_ns.saturating_sub(a.mono_ns) < 1_000_000)
    }

    /// Drops queued records older than 10 s (their exec lines were lost, or came before the queue did).
    fn prune_exec_argv(&mut self, now_ns: u64) {
        self.exec_argv_queue.retain(|_, q| {
            q.retain(|a| a.mono_ns + 10_000_000_000 > now_ns);
            !q.is_empty()
        });
    }

    /// Reads cmdline for the execs whose argv the probe did not give whole (a static binary, an unreadable or
    /// cut-short probe line), right after the lines that named them: within the same read of the pipe.
    fn cmdlines(&mut self) {
        for pid in std::mem::take(&mut self.argv_due) {
            if let Some(args) = table::read_cmdline(&self.proc, pid) {
                self.table.cmdline(pid, args);
            }
        }
    }

    fn signal(&mut self, t: &TraceLine, raw: &str) {
        let TraceEvent::SignalGenerate { sig, code, ref comm, pid, group, result, .. } = t.event else { return };
        let sender_tgid = self.table.tgid_of(t.tid).or(t.tgid).unwrap_or(t.tid);
        let mut sender = self.table.describe(&self.proc, sender_tgid);
        if t.tid != sender_tgid {
            sender.tid = Some(t.tid);
        }
        if t.comm != "<...>" {
            sender.comm = Some(t.comm.clone());
            sender.from.insert("comm".to_owned(), FieldFrom::Trace);
        }
        // A signal to a group (kill(2)) names the group's leader: its pid is the tgid.
        let target_tgid = if group {
            pid
        } else {
            self.table.tgid_of(pid).or_else(|| table::read_proc(&self.proc, pid).tgid).unwrap_or(pid)
        };
        let mut target = self.table.describe(&self.proc, target_tgid);
        if pid != target_tgid {
            target.tid = Some(pid);
        }
        target.comm = Some(comm.clone());
        target.from.insert("comm".to_owned(), FieldFrom::Trace);
        let rec = SignalRecord {
            at: self.at(t.ts_ns),
            clock_ns: t.ts_ns,
            sig,
            signal: signals::name(i64::from(sig)).unwrap_or_else(|| format!("signal {sig}")),
            code,
            code_name: trace::code_name(sig, code),
            origin: if trace::kernel_originated(sig, code) { SignalOrigin::Kernel } else { SignalOrigin::User },
            result,
            result_name: trace::result_name(result),
            group,
            sender,
            target,
            fate: TargetFate::Unknown,
            delivery: None,
            raw: raw.to_owned(),
        };
        if self.pending.len() >= MAX_PENDING {
            if let Some(old) = self.pending.pop_front() {
                self.store.write(&WatchRecord::Signal(old.rec), false);
            }
        }
        self.pending.push_back(Pending { rec, target_tgid });
    }

    /// The first delivery in the target's thread group after each signal still waiting for its fate: of that
    /// signal itself, or the SIGKILL with no handler that any fatal signal becomes.
    fn delivered(&mut self, tgid: i64, t: &TraceLine, sig: i32, sa_handler: u64, raw: &str) {
        let group_exit = sig == 9 && sa_handler == 0;
        for p in self.pending.iter_mut().filter(|p| {
            p.target_tgid == tgid && p.rec.clock_ns <= t.ts_ns && p.rec.delivery.is_none() && (p.rec.sig == sig || group_exit)
        }) {
            p.rec.delivery = Some(Delivery {
                tid: t.tid,
                sig,
                action: match sa_handler {
                    0 => DeliveryAction::Default,
                    1 => DeliveryAction::Ignore,
                    _ => DeliveryAction::Handler,
                },
                after_us: (t.ts_ns - p.rec.clock_ns) / 1000,
                raw: raw.to_owned(),
            });
        }
    }

    fn target_exited(&mut self, tgid: i64, ts_ns: u64) {
        let mut i = 0;
        while i < self.pending.len() {
            if self.pending[i].target_tgid == tgid && self.pending[i].rec.clock_ns <= ts_ns {
                if let Some(mut p) = self.pending.remove(i) {
                    p.rec.fate = TargetFate::Exited { after_us: (ts_ns - p.rec.clock_ns) / 1000 };
                    self.store.write(&WatchRecord::Signal(p.rec), false);
                }
            } else {
                i += 1;
            }
        }
    }

    /// Writes the records whose wait is over (`now` on the trace clock); at stop (`None`) all of them.
    fn flush_pending(&mut self, now: Option<u64>) {
        while let Some(p) = self.pending.front() {
            let waited = now.map(|n| n.saturating_sub(p.rec.clock_ns));
            if waited.is_some_and(|w| w < self.wait_ns + 100_000_000) {
                break;
            }
            let Some(mut p) = self.pending.pop_front() else { break };
            let waited = waited.unwrap_or_else(|| mono_ns().saturating_sub(p.rec.clock_ns));
            p.rec.fate = if waited >= self.wait_ns {
                TargetFate::StillRunning { waited_ms: waited / 1_000_000 }
            } else {
                TargetFate::Unknown
            };
            self.store.write(&WatchRecord::Signal(p.rec), false);
        }
    }

    fn victim(&mut self, t: &TraceLine, raw: &str) {
        let TraceEvent::MarkVictim { pid, ref comm, total_vm_kb, anon_rss_kb, file_rss_kb, shmem_rss_kb, uid, oom_score_adj, .. } =
            t.event
        else {
            return;
        };
        let process: ProcInfo = self.table.describe(&self.proc, pid);
        let rec = OomVictim {
            at: self.at(t.ts_ns),
            clock_ns: t.ts_ns,
            pid,
            comm: Some(comm.clone()),
            uid: Some(uid),
            total_vm_kb: Some(total_vm_kb),
            anon_rss_kb: Some(anon_rss_kb),
            file_rss_kb: Some(file_rss_kb),
            shmem_rss_kb: Some(shmem_rss_kb),
            oom_score_adj: Some(oom_score_adj),
            process,
            raw: raw.to_owned(),
        };
        self.store.write(&WatchRecord::OomVictim(rec), true);
    }

    fn lost(&mut self, what: &str, count: u64, detail: String) {
        self.store.lost += count;
        self.store.write(&WatchRecord::Lost(Lost { at: now_utc(), what: what.to_owned(), count, detail }), true);
    }

    fn report_unparsed(&mut self) {
        if self.unparsed > 0 {
            let n = std::mem::take(&mut self.unparsed);
            let ex = self.unparsed_example.take().unwrap_or_default();
            self.lost("ftrace", n, format!("trace lines that did not parse, e.g. {ex}"));
        }
    }
}

/// `/dev/kmsg`, read without blocking; death lines become `kmsg` records.
struct KmsgTail {
    file: File,
    boot_id: Option<String>,
    state: PathBuf,
    /// Records up to this sequence number were seen (copied if they were death lines).
    last_seq: Option<u64>,
    saved_seq: Option<u64>,
    clock: Option<coroner_schemas::manifest::ClockSample>,
}

impl KmsgTail {
    fn open(state: PathBuf, boot_id: Option<String>) -> io::Result<KmsgTail> {
        let file = OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC).open("/dev/kmsg")?;
        let resume = fs::read_to_string(&state).ok().and_then(|s| kmsg::parse_resume(&s, boot_id.as_deref()));
        Ok(KmsgTail {
            file,
            boot_id,
            state,
            last_seq: resume,
            saved_seq: resume,
            clock: crate::acquire::kernel::clock_sample(),
        })
    }

    /// Reads every record available now.
    fn drain(&mut self, rec: &mut Recorder) {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match self.file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => match e.raw_os_error() {
                    // EPIPE: the ring overwrote records; the sequence gap below counts them.
                    Some(libc::EPIPE) | Some(libc::EINTR) => continue,
                    _ => break,
                },
            };
            let text = String::from_utf8_lossy(&buf[..n.min(buf.len())]).into_owned();
            let Some(h) = kmsg::header(&text) else { continue };
            if self.last_seq.is_some_and(|l| h.seq <= l) {
                continue;
            }
            if let Some(l) = self.last_seq {
                if h.seq > l + 1 {
                    rec.lost(
                        "kmsg",
                        h.seq - l - 1,
                        format!("kmsg records {}..{} were overwritten before they were read (any kind, not only death lines)", l + 1, h.seq - 1),
                    );
                }
            }
            self.last_seq = Some(h.seq);
            if kmsg::is_death(h.message) {
                let at = self.clock.as_ref().and_then(|c| c.boot_us_to_utc(h.ts_us));
                rec.store.write(&WatchRecord::Kmsg(KmsgCopy { at, seq: h.seq, raw: text }), true);
            }
        }
    }

    /// Remembers how far we read (at most once a second, and at stop).
    fn save(&mut self) {
        if self.last_seq != self.saved_seq {
            if let (Some(b), Some(s)) = (&self.boot_id, self.last_seq) {
                let tmp = self.state.with_extension("tmp");
                let written = OpenOptions::new()
                    .create(true)
                    .write(true)
                    .truncate(true)
                    .mode(0o600)
                    .open(&tmp)
                    .and_then(|mut f| io::Write::write_all(&mut f, format!("{b} {s}\n").as_bytes()));
                if written.and_then(|()| fs::rename(&tmp, &self.state)).is_ok() {
                    self.saved_seq = self.last_seq;
                }
            }
        }
    }
}

/// Seeds the table with the processes running now, so long-lived parents are named with their exe.
fn seed_table(table: &mut Table, proc: &Path) {
    let Ok(rd) = fs::read_dir(proc) else { return };
    for e in rd.flatten() {
        if table.len() >= TABLE_CAP / 2 {
            break;
        }
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<i64>().ok()) else { continue };
        table.seed(pid, table::read_proc(proc, pid));
    }
}

/// Runs the recorder until SIGTERM/SIGINT or `--duration`. Exit 0 after a clean stop.
pub fn run(a: &WatchArgs) -> anyhow::Result<i32> {
    crate::cli::be_gentle();
    catch_stop_signals();
    let dir = a.state_dir.join(WATCH_SUBDIR);
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(dir.join(".lock"))
        .with_context(|| format!("opening {}/.lock", dir.display()))?;
    if rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_err() {
        bail!("another recorder is writing to {}", dir.display());
    }
    let store = Store::open(&dir, a.file_size, a.max_size)?;
    let boot_id = fs::read_to_string("/proc/sys/kernel/random/boot_id").ok().map(|s| s.trim().to_owned());
    let signals = a.signals.0.clone();
    let filter = tracefs::filter_for(&signals);

    let tracefs_root = tracefs::ensure_mounted()?;
    let clock = crate::acquire::kernel::clock_sample().context("reading the clocks")?;
    let clock_zero_ns = i128::from(clock.realtime_ns) - i128::from(clock.monotonic_ns);
    // argv at exec is a help, not a need. The exec program first: attached before the instance enables the
    // exec tracepoint, it runs ahead of the instance's line at each exec (a tracepoint calls its probes in the
    // order they came, unless another tracer had the event on already; a record read after its line leaves
    // that exec to /proc). Where the kernel refuses it, the loader uprobe; without either, /proc alone.
    let exec_argv = match a.argv.as_str() {
        "auto" | "bpf" => match bpf::ArgvProgram::load() {
            Ok(p) => Some(p),
            Err(e) if a.argv == "bpf" => bail!("the exec argv program: {e}"),
            Err(e) => {
                eprintln!("coroner-collect watch: no exec argv program ({e}); trying the loader uprobe");
                None
            }
        },
        _ => None,
    };
    // Making the instance removes one a killed recorder left, which may still enable an old uprobe.
    let mut instance = tracefs::Instance::create(&tracefs_root, TRACE_INSTANCE, &signals, a.buffer_kb)?;
    let probe = if exec_argv.is_some() || a.argv == "proc" {
        tracefs::ArgvProbe::remove_leftover(&tracefs_root);
        None
    } else {
        match tracefs::ArgvProbe::define(&tracefs_root) {
            Ok(p) => Some(p),
            Err(e) if a.argv == "uprobe" => bail!("the loader uprobe: {e}"),
            Err(e) => {
                eprintln!("coroner-collect watch: no argv probe ({e}): argv of short-lived processes is read from /proc at exec time only");
                None
            }
        }
    };
    if probe.is_some() {
        if let Err(e) = instance.enable_argv() {
            eprintln!("coroner-collect watch: argv probe not enabled: {e}");
        }
    }
    let mut events = instance.events.clone();
    if exec_argv.is_some() {
        events.push(bpf::EVENT.to_owned());
    }
    let pipe = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(instance.trace_pipe())
        .with_context(|| format!("opening {}", instance.trace_pipe().display()))?;

    // The exec program's cgroup ids are read against the cgroup2 mount; without one, `/proc` gives cgroups.
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let cgroups = exec_argv.as_ref().and_then(|_| cgroups::CgroupPaths::from_mountinfo(&mountinfo));
    let proc = PathBuf::from("/proc");
    let mut table = Table::new(TABLE_CAP);
    seed_table(&mut table, &proc);
    let mut rec = Recorder {
        store,
        table,
        pending: VecDeque::new(),
        proc,
        clock_zero_ns,
        wait_ns: a.wait_exit.saturating_mul(1_000_000),
        unparsed: 0,
        unparsed_example: None,
        argv_probe: exec_argv.is_some() || instance.events.iter().any(|e| e == tracefs::ARGV_EVENT),
        argv_due: Vec::new(),
        cgroups,
        exec_argv,
        exec_argv_queue: HashMap::new(),
    };
    let start = WatchStart {
        at: now_utc(),
        pid: i64::from(std::process::id()),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        boot_id: boot_id.clone(),
        instance: instance.dir.display().to_string(),
        trace_clock: tracefs::TRACE_CLOCK.to_owned(),
        clock_zero: Utc::from_unix_nanos(clock_zero_ns).unwrap_or_else(now_utc),
        events,
        signal_filter: filter,
        signals,
    };
    rec.store.write(&WatchRecord::Start(start), true);
    let mut kmsg = match KmsgTail::open(dir.join("kmsg-seq"), boot_id) {
        Ok(k) => Some(k),
        Err(e) => {
            let detail = format!("cannot read /dev/kmsg ({e}): the kernel's death lines are not copied by this run");
            rec.lost("kmsg", 0, detail);
            None
        }
    };

    let reason = pump(&mut rec, &pipe, &instance, kmsg.as_mut(), a.duration.map(Duration::from_secs));
    rec.report_unparsed();
    rec.flush_pending(None);
    if let Some(k) = kmsg.as_mut() {
        k.save();
    }
    drop(pipe);
    let removed = instance.remove();
    if let Some(p) = probe {
        if let Err(e) = p.remove() {
            eprintln!("coroner-collect watch: removing the argv probe: {e}");
        }
    }
    let reason = match &removed {
        Ok(()) => reason,
        Err(e) => format!("{reason}; the trace instance could not be removed: {e}"),
    };
    // Files removed since the last check are counted before the totals are taken.
    rec.store.check_in_place();
    let stop = WatchStop { at: now_utc(), reason, records: rec.store.records + 1, lost: rec.store.lost };
    rec.store.write(&WatchRecord::Stop(stop), true);
    rec.store.sync();
    Ok(if removed.is_ok() { 0 } else { 1 })
}

/// The loop: trace lines, kmsg records, pending fates, overrun counts. Returns why it stopped.
fn pump(rec: &mut Recorder, pipe: &File, instance: &tracefs::Instance, mut kmsg: Option<&mut KmsgTail>, duration: Option<Duration>) -> String {
    let started = Instant::now();
    let mut buf = vec![0u8; 64 * 1024];
    let mut partial: Vec<u8> = Vec::new();
    let mut overruns = 0u64;
    let mut last_tick = Instant::now();
    let mut pipe_r = pipe;
    let mut busy = false;
    // Events the ring buffer overwrote or dropped since the last look, as a `lost` record.
    let account = |rec: &mut Recorder, overruns: &mut u64| {
        let o = instance.overruns();
        if o > *overruns {
            rec.lost("ftrace", o - *overruns, format!("the trace ring buffer overwrote or dropped {} events (all CPUs, total {o} since start)", o - *overruns));
            *overruns = o;
        }
    };
    loop {
        let sig = STOP.load(Ordering::SeqCst);
        let stop = if sig != 0 {
            Some(signals::name(i64::from(sig)).unwrap_or_else(|| format!("signal {sig}")))
        } else {
            duration.is_some_and(|d| started.elapsed() >= d).then(|| "duration".to_owned())
        };
        if let Some(reason) = stop {
            // Read what is already in the buffer, and count what it lost since the last tick, before stopping.
            read_pipe(rec, &mut pipe_r, &mut buf, &mut partial);
            account(rec, &mut overruns);
            return reason;
        }
        {
            // Busy: sleep BATCH without waiting on the pipe: each event a waiting reader is woken for costs the
            // traced task an interrupt and a wakeup (1.3x a fork/exec/exit storm on this VM). Idle, without the
            // exec program: wait on the pipe, so a new process is read from /proc at once. With it, nothing
            // needs reading at once, and the idle wait is IDLE without waiting on the pipe either: no event
            // wakes the recorder. kmsg still ends any sleep.
            let mut fds = Vec::with_capacity(2);
            if !busy && rec.exec_argv.is_none() {
                fds.push(PollFd::new(pipe, PollFlags::IN));
            }
            if let Some(k) = kmsg.as_deref() {
                fds.push(PollFd::new(&k.file, PollFlags::IN));
            }
            let _ = poll(&mut fds, Some(if busy { &BATCH } else { &IDLE }));
        }
        let read = read_pipe(rec, &mut pipe_r, &mut buf, &mut partial);
        busy = stays_busy(read, rec.exec_argv.is_some());
        if let Some(k) = kmsg.as_deref_mut() {
            k.drain(rec);
        }
        rec.flush_pending(Some(mono_ns()));
        if last_tick.elapsed() >= Duration::from_secs(1) {
            last_tick = Instant::now();
            account(rec, &mut overruns);
            // Files removed under us are found within a second even when nothing is being written.
            rec.store.check_in_place();
            rec.prune_exec_argv(mono_ns());
            rec.report_unparsed();
            if let Some(k) = kmsg.as_deref_mut() {
                k.save();
            }
            rec.store.sync();
        }
    }
}

/// How long a busy recorder sleeps between reads (a process that exits sooner after its exec is not read
/// from `/proc`; the argv probe and the table still name it). A fork/exec/exit storm cost 1.12x at 2 ms, 1.10x
/// at 10 ms and 1.09x at 20 ms here, against 1.31x waking at every event.
const BATCH: rustix::time::Timespec = rustix::time::Timespec { tv_sec: 0, tv_nsec: 10_000_000 };
/// With the exec program, a read of at least this much keeps the recorder on BATCH; a smaller one sends it
/// back to IDLE. Builds (about 5 KiB of trace text in 100 ms) then wake it 10 times a second, not 100, while
/// storms are still read every BATCH. Under it, 100 ms hold fewer than about 140 execs' lines, well inside
/// the exec program's ring (512 records).
const BUSY_BYTES: usize = 16 * 1024;
/// Whether the next sleep is BATCH after a read of `read` bytes: with the exec program only a storm's
/// read (BUSY_BYTES or more) keeps it; without it, any line does, since a new process is read from `/proc`.
fn stays_busy(read: usize, exec_program: bool) -> bool {
    if exec_program { read >= BUSY_BYTES } else { read > 0 }
}

/// How long an idle recorder waits for an event (or, with the exec program, sleeps between reads).
const IDLE: rustix::time::Timespec = rustix::time::Timespec { tv_sec: 0, tv_nsec: 100_000_000 };

/// Reads what the pipe has now and handles each whole line; returns the bytes read.
fn read_pipe(rec: &mut Recorder, pipe: &mut &File, buf: &mut [u8], partial: &mut Vec<u8>) -> usize {
    let mut total = 0;
    loop {
        let n = match pipe.read(buf) {
            Ok(0) => return total,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return total,
        };
        total += n;
        rec.drain_exec_argv();
        partial.extend_from_slice(&buf[..n.min(buf.len())]);
        let mut start = 0;
        while let Some(nl) = partial[start..].iter().position(|&b| b == b'\n') {
            let line = String::from_utf8_lossy(&partial[start..start + nl]).into_owned();
            rec.line(&line);
            start += nl + 1;
        }
        rec.cmdlines();
        partial.drain(..start);
        // A line longer than any the kernel prints: keep it from growing without bound.
        if partial.len() > 1 << 20 {
            rec.unparsed += 1;
            partial.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tracefs::ARGV_SLOTS;
    use super::*;

    /// The read cadence: with the exec program a build's trickle of lines (a few KiB a read) sends the recorder
    /// back to its 100 ms sleep and only a storm's read keeps it on 10 ms; without it any line keeps it busy.
    #[test]
    fn cadence_follows_the_read() {
        let exec_line = "            kill-4242    (   4242) [000] .....   10.000001: sched_process_exec: filename=/bin/busybox pid=4242 old_pid=4242\n";
        let build_read = exec_line.len() * 45; // about 100 ms of a build's execs here
        assert!(!stays_busy(build_read, true));
        assert!(stays_busy(BUSY_BYTES, true));
        assert!(stays_busy(64 * 1024, true));
        assert!(!stays_busy(0, true));
        assert!(stays_busy(1, false));
        assert!(stays_busy(build_read, false));
        assert!(!stays_busy(0, false));
        // Execs whose lines fit under the threshold in one IDLE sleep stay well inside the program's ring.
        assert!(BUSY_BYTES / exec_line.len() < bpf::RING_RECORDS / 2);
    }

    /// A recorder with no trace instance or program, fed lines by the test.
    fn test_recorder(store: Store, proc: PathBuf, clock_zero_ns: i128, argv_probe: bool) -> Recorder {
        Recorder {
            store,
            table: Table::new(TABLE_CAP),
            pending: VecDeque::new(),
            proc,
            clock_zero_ns,
            wait_ns: 2_000_000_000,
            unparsed: 0,
            unparsed_example: None,
            argv_probe,
            argv_due: Vec::new(),
            exec_argv: None,
            exec_argv_queue: HashMap::new(),
            cgroups: None,
        }
    }

    #[test]
    fn the_staged_deliveries_say_how_the_kernel_acted() {
        let d = tempfile::tempdir().expect("tempdir");
        let mut rec = test_recorder(Store::open(d.path(), 1 << 20, 1 << 30).expect("store"), PathBuf::from("/nonexistent-proc"), 0, false);
        for l in include_str!("../../../fixtures/watch/trace_deliver.txt").lines().filter(|l| !l.starts_with('#')) {
            rec.line(l);
        }
        rec.flush_pending(None);
        assert_eq!(rec.unparsed, 0);
        let text = fs::read_to_string(rec.store.current()).expect("read");
        let delivery = |target: i64| {
            text.lines()
                .map(|l| serde_json::from_str::<WatchRecord>(l).expect("record"))
                .find_map(|r| match r {
                    WatchRecord::Signal(s) if s.target.pid == target => Some((s.delivery, s.fate)),
                    _ => None,
                })
                .unwrap_or_else(|| panic!("no signal to {target}"))
        };
        let (d1, f1) = delivery(4510);
        let d1 = d1.expect("delivered");
        assert_eq!((d1.tid, d1.sig, d1.action, d1.after_us), (4510, 9, DeliveryAction::Default, 25));
        assert_eq!(f1, TargetFate::Exited { after_us: 31 });
        let d2 = delivery(4512).0.expect("delivered");
        assert_eq!((d2.sig, d2.action), (15, DeliveryAction::Handler));
        // The first thread the group's SIGKILL reached, not the leader.
        let (d3, f3) = delivery(4515);
        let d3 = d3.expect("delivered");
        assert_eq!((d3.tid, d3.sig, d3.action, d3.after_us), (4558, 9, DeliveryAction::Default, 6));
        assert_eq!(f3, TargetFate::Exited { after_us: 53 });
    }

    /// The real capture through the recorder's logic: senders named from the table after they exited, fates
    /// from the exit events, the OOM killer's SIGKILL labelled as the kernel's.
    #[test]
    fn the_real_capture_makes_named_signal_records_with_fates() {
        let d = tempfile::tempdir().expect("tempdir");
        let mut rec = test_recorder(Store::open(d.path(), 1 << 20, 1 << 30).expect("store"), PathBuf::from("/nonexistent-proc"), 1_000_000_000_000_000_000, false);
        for l in include_str!("../../../fixtures/watch/trace_pipe.txt").lines().filter(|l| !l.starts_with('#')) {
            rec.line(l);
        }
        rec.flush_pending(None);
        assert_eq!(rec.unparsed, 0);
        let text = fs::read_to_string(rec.store.current()).expect("read");
        let recs: Vec<WatchRecord> = text.lines().map(|l| serde_json::from_str(l).expect("record")).collect();
        let sig = |target: i64, sig: i32| {
            recs.iter()
                .find_map(|r| match r {
                    WatchRecord::Signal(s) if s.target.pid == target && s.sig == sig => Some(s.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| panic!("no {sig} to {target}"))
        };
        // bash -c 'kill -9 $V': forked by 23449, exec'd bash; the victim's group died 43 µs after the kill.
        let s = sig(23461, 9);
        assert_eq!((s.sender.pid, s.sender.exe.as_deref()), (23468, Some("/usr/bin/bash")));
        assert_eq!(s.sender.from.get("exe"), Some(&FieldFrom::Table));
        assert_eq!(s.sender.from.get("comm"), Some(&FieldFrom::Trace));
        assert_eq!(s.sender.parents.first().map(|p| p.pid), Some(23449));
        assert_eq!(s.target.comm.as_deref(), Some("victim-sleep"));
        assert_eq!(s.target.exe.as_deref(), Some("/tmp/victim-sleep"));
        assert_eq!(s.fate, TargetFate::Exited { after_us: 43 });
        assert_eq!(s.origin, SignalOrigin::User);
        assert_eq!(s.at.unix_micros(), 1_000_000_000_000_000 + 9_469_930_756);
        // The renamed kill: SIGTERM, target gone 176 µs later.
        let s = sig(23469, 15);
        assert_eq!(s.sender.exe.as_deref(), Some("/tmp/fake-daemond"));
        assert_eq!(s.fate, TargetFate::Exited { after_us: 176 });
        // The memcg OOM kill: SI_KERNEL, and the victim record.
        let s = sig(23896, 9);
        assert_eq!((s.origin, s.code_name.as_str()), (SignalOrigin::Kernel, "SI_KERNEL"));
        assert!(recs.iter().any(|r| matches!(r, WatchRecord::OomVictim(v) if v.pid == 23896 && v.anon_rss_kb == Some(32512))));
        // A thread's tkill names the thread and its group.
        let s = sig(23455, 10);
        assert_eq!((s.sender.pid, s.sender.tid, s.code_name.as_str()), (23440, Some(23456), "SI_TKILL"));
    }

    /// With the argv probe on, an exec's argv comes from the probe's line, and cmdline is read only for an
    /// exec the probe did not give whole (here a static binary with no probe line, and an argc over the slots).
    #[test]
    fn cmdline_is_read_only_where_the_probe_gave_no_whole_argv() {
        let d = tempfile::tempdir().expect("tempdir");
        let proc = d.path().join("proc");
        for (pid, cmdline) in [(4242, &b"kill\0-9\x00123\0"[..]), (4243, b"from-proc\0"), (4244, b"long\0cmd\0")] {
            let dir = proc.join(pid.to_string());
            fs::create_dir_all(&dir).expect("mkdir");
            fs::write(dir.join("cmdline"), cmdline).expect("cmdline");
            fs::write(dir.join("status"), format!("Name:\tx\nTgid:\t{pid}\nPPid:\t1\nUid:\t1000\t1000\t1000\t1000\n")).expect("status");
        }
        let mut rec = test_recorder(Store::open(&d.path().join("w"), 1 << 20, 1 << 30).expect("store"), proc, 0, true);
        let slots: String = (2..ARGV_SLOTS).map(|i| format!(" a{i}=\"x\"")).collect();
        for l in [
            "            kill-4242    (   4242) [000] .....   10.000001: sched_process_exec: filename=/bin/busybox pid=4242 old_pid=4242".to_owned(),
            "            true-4243    (   4243) [000] .....   10.000002: sched_process_exec: filename=/bin/true pid=4243 old_pid=4243".to_owned(),
            "            true-4243    (   4243) [000] DBZff   10.000003: argv: (0x7fad0d26fb70) argc=2 a0=\"/bin/true\" a1=\"probe\" a2=(fault) a3=(fault) a4=(fault) a5=(fault) a6=(fault) a7=(fault) a8=(fault) a9=(fault) a10=(fault) a11=(fault)".to_owned(),
            "            long-4244    (   4244) [000] .....   10.000004: sched_process_exec: filename=/bin/long pid=4244 old_pid=4244".to_owned(),
            format!("            long-4244    (   4244) [000] DBZff   10.000005: argv: (0x7fad0d26fb70) argc=20 a0=\"long\" a1=\"cut\"{slots}"),
        ] {
            rec.line(&l);
        }
        assert_eq!(rec.unparsed, 0);
        assert_eq!(rec.argv_due, vec![4242, 4244]);
        rec.cmdlines();
        let argv = |pid: i64| rec.table.get(pid).and_then(|e| e.argv.clone()).unwrap_or_default();
        assert_eq!(argv(4242), ["kill", "-9", "123"]);
        assert_eq!(argv(4243), ["/bin/true", "probe"], "the probe's whole argv; cmdline not read");
        assert_eq!(argv(4244), ["long", "cmd"], "cut short by the probe's slots: cmdline read");
        assert_eq!(rec.table.get(4242).and_then(|e| e.uid), Some(1000));
        assert!(rec.argv_due.is_empty());
    }

    /// The exec program's records, queued before a read's lines are handled, each go to their own exec's line:
    /// a pid that execs twice in one read gets each argv and ids in turn; a cut record leaves argv to `/proc`,
    /// one too old to be its own leaves the whole exec to it.
    #[test]
    fn exec_program_records_go_to_their_own_exec_lines() {
        use std::os::unix::fs::MetadataExt;
        let d = tempfile::tempdir().expect("tempdir");
        let mut rec = test_recorder(Store::open(d.path(), 1 << 20, 1 << 30).expect("store"), d.path().join("no-proc"), 0, true);
        let cg = d.path().join("cg");
        fs::create_dir_all(cg.join("user.slice")).expect("mkdir");
        rec.cgroups = Some(cgroups::CgroupPaths::at(&cg));
        let user_slice = fs::metadata(cg.join("user.slice")).expect("stat").ino();
        let mut push = |tgid: i64, mono_ns: u64, argv: Option<&[&str]>| {
            let argv: Option<Vec<String>> = argv.map(|a| a.iter().map(|s| (*s).to_owned()).collect());
            let comm = argv.as_ref().and_then(|a| a.first().cloned()).unwrap_or_default();
            // Each record's uid is its time's last digits, so which record gave an entry's ids shows.
            let a = bpf::ExecArgv { tgid, mono_ns, argv, uid: (mono_ns % 1000) as u32, loginuid: Some(1000), cgroup_id: user_slice, comm };
            rec.exec_argv_queue.entry(tgid).or_default().push_back(a);
        };
        push(500, 10_000_000_400, Some(&["sh", "-c", "exec kill -9 7"]));
        push(500, 10_000_900_100, Some(&["kill", "-9", "7"]));
        push(501, 10_001_000_000, None);
        push(502, 8_000_000_000, Some(&["stale"]));
        let exec = |pid: i64, at: &str, file: &str| {
            format!("            x-{pid}    (   {pid}) [000] .....   {at}: sched_process_exec: filename={file} pid={pid} old_pid={pid}")
        };
        let argv = |rec: &Recorder, pid: i64| rec.table.get(pid).and_then(|e| e.argv.clone());
        rec.line(&exec(500, "10.000001", "/bin/sh"));
        assert_eq!(argv(&rec, 500), Some(vec!["sh".into(), "-c".into(), "exec kill -9 7".into()]));
        assert_eq!(rec.exec_argv_queue.get(&500).map(VecDeque::len), Some(1), "the next exec's record waits for its line");
        rec.line(&exec(500, "10.000901", "/bin/kill"));
        assert_eq!(argv(&rec, 500), Some(vec!["kill".into(), "-9".into(), "7".into()]));
        let ids = |rec: &Recorder, pid: i64| rec.table.get(pid).map(|e| (e.uid, e.loginuid, e.cgroup.clone(), e.comm.clone()));
        assert_eq!(ids(&rec, 500), Some((Some(100), Some(1000), Some("/user.slice".into()), Some("kill".into()))), "the second record's ids");
        rec.line(&exec(501, "10.001001", "/bin/long"));
        assert_eq!(ids(&rec, 501).and_then(|i| i.0), Some(0), "a cut argv's record still gives the ids");
        rec.line(&exec(502, "10.002000", "/bin/late"));
        assert_eq!(argv(&rec, 502), None, "a record 2 s older than the line is not this exec's");
        assert_eq!(ids(&rec, 502), Some((None, None, None, None)), "nor are its ids: /proc is read (gone here)");
        assert_eq!(rec.argv_due, vec![501, 502], "cmdline is read for those two");
        assert!(rec.exec_argv_queue.is_empty());
        assert_eq!(rec.unparsed, 0);
        // Records whose lines never came are dropped after 10 s.
        rec.exec_argv_queue.entry(9).or_default().push_back(bpf::ExecArgv { tgid: 9, mono_ns: 1, argv: None, uid: 0, loginuid: None, cgroup_id: 0, comm: String::new() });
        rec.prune_exec_argv(5_000_000_000);
        assert_eq!(rec.exec_argv_queue.len(), 1);
        rec.prune_exec_argv(20_000_000_000);
        assert!(rec.exec_argv_queue.is_empty());
    }

    #[test]
    fn signal_lists() {
        assert_eq!(parse_signals("TERM, kill,9,SIGSEGV").expect("ok").0, vec![9, 11, 15]);
        assert!(parse_signals("TERM,NOPE").is_err());
        assert!(parse_signals("0").is_err());
        assert!(parse_signals("").is_err());
        let d = parse_signals(DEFAULT_SIGNALS).expect("default parses").0;
        assert_eq!(d.len(), 20);
        assert!(d.contains(&9) && d.contains(&19) && !d.contains(&17));
    }
}
