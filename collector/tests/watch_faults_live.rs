//! The fault suite for the signal recorder (`coroner-collect watch`), as root: its state directory's disk
//! filling, its state directory removed under it, and a signal storm past its trace buffer. In each the
//! recorder keeps running, stops cleanly on SIGTERM, and every loss is counted in a `lost` record and in its
//! `stop` record's total. Each test stops the recorder by its pid and leaves no trace instance behind.

mod live_support;

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use live_support::{records, wait_until};
use coroner_schemas::watch::{WatchRecord, TRACE_INSTANCE};

const BIN: &str = env!("CARGO_BIN_EXE_coroner-collect");
const UPROBES: &str = "/sys/kernel/tracing/uprobe_events";

/// One recorder at a time: its trace instance has one name.
static ONE_RECORDER: Mutex<()> = Mutex::new(());

macro_rules! need_root {
    () => {
        assert!(rustix::process::geteuid().is_root(), "needs root (tracefs, mounts): run with --include-ignored as root");
    };
}

fn instance() -> PathBuf {
    Path::new("/sys/kernel/tracing/instances").join(TRACE_INSTANCE)
}

/// A running recorder; on drop it is killed by its pid and what it may have left in tracefs is removed.
struct Recorder {
    child: Child,
    state: PathBuf,
}

impl Recorder {
    fn start(state: &Path, extra: &[&str]) -> Recorder {
        // A leftover of a killed recorder is removed, as the recorder itself does; one in use cannot be.
        if instance().exists() {
            if let Err(e) = fs::remove_dir(instance()) {
                panic!("{} is in use ({e}): another recorder is running", instance().display());
            }
        }
        let child = Command::new(BIN)
            .args(["watch", "--state-dir"])
            .arg(state)
            .args(["--duration", "60", "--wait-exit", "100"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start recorder");
        let r = Recorder { child, state: state.to_owned() };
        let started = wait_until(Duration::from_secs(15), || records(&r.state).iter().any(|x| matches!(x, WatchRecord::Start(_))));
        assert!(started, "no start record");
        r
    }

    fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM by pid; waits (bounded) for a clean exit and returns its stderr.
    fn stop(mut self) -> String {
        let pid = rustix::process::Pid::from_child(&self.child);
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("SIGTERM the recorder");
        let stopped = wait_until(Duration::from_secs(20), || matches!(self.child.try_wait(), Ok(Some(_))));
        let mut err = String::new();
        if let Some(e) = self.child.stderr.as_mut() {
            let _ = e.read_to_string(&mut err);
        }
        assert!(stopped, "the recorder did not stop on SIGTERM: {err}");
        let st = self.child.wait().expect("status");
        assert!(st.success(), "recorder exit {st:?}: {err}");
        assert!(!instance().exists(), "the trace instance was left behind");
        err
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let inst = instance();
        if inst.exists() {
            for ev in ["signal/signal_generate", "signal/signal_deliver", "sched/sched_process_exec", "sched/sched_process_fork", "sched/sched_process_exit", "oom/mark_victim", "coroner/argv"] {
                let _ = fs::write(inst.join("events").join(ev).join("enable"), "0");
            }
            let _ = fs::remove_dir(&inst);
        }
        if fs::read_to_string(UPROBES).is_ok_and(|s| s.contains("p:coroner/argv ")) {
            if let Ok(mut f) = fs::OpenOptions::new().append(true).open(UPROBES) {
                let _ = f.write_all(b"-:coroner/argv\n");
            }
        }
    }
}



/// A process that ignores SIGUSR1 and sends itself `n` of them as fast as it can; returns its pid once done.
fn storm(n: u64) -> i64 {
    let script = "import os, signal, sys
signal.signal(signal.SIGUSR1, signal.SIG_IGN)
p = os.getpid()
for _ in range(int(sys.argv[1])):
    os.kill(p, signal.SIGUSR1)
";
    let mut c = Command::new("python3").args(["-c", script, &n.to_string()]).spawn().expect("python3");
    let pid = i64::from(c.id());
    let st = c.wait().expect("storm");
    assert!(st.success());
    pid
}

/// Signals to `pid` recorded, and the losses counted by kind.
fn tally(recs: &[WatchRecord], pid: i64) -> (u64, u64, u64, Option<u64>) {
    let (mut signals, mut disk, mut ftrace, mut stop) = (0, 0, 0, None);
    for r in recs {
        match r {
            WatchRecord::Signal(s) if s.target.pid == pid && s.sig == libc::SIGUSR1 => signals += 1,
            WatchRecord::Lost(l) if l.what == "disk" => disk += l.count,
            WatchRecord::Lost(l) if l.what == "ftrace" => ftrace += l.count,
            WatchRecord::Stop(s) => stop = Some(s.lost),
            _ => {}
        }
    }
    (signals, disk, ftrace, stop)
}

struct Mount(PathBuf);
impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
#[ignore = "needs root"]
fn fault_watch_state_disk_full_counts_what_it_could_not_write() {
    need_root!();
    let _one = ONE_RECORDER.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().expect("tempdir");
    let state = tmp.path().join("state");
    fs::create_dir(&state).expect("mkdir");
    let ok = Command::new("mount").args(["-t", "tmpfs", "-o", "size=1m,mode=0700", "coroner-fault"]).arg(&state).status();
    assert!(ok.is_ok_and(|s| s.success()), "mount a tmpfs");
    let _m = Mount(state.clone());
    let mut rec = Recorder::start(&state, &["--signals", "USR1"]);
    // Fill what is left of the disk.
    let filler = state.join("filler");
    {
        let mut f = fs::File::create(&filler).expect("filler");
        let block = vec![0x55u8; 4096];
        while f.write_all(&block).is_ok() {}
    }
    let sent = 2000;
    let pid = storm(sent);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(rec.running(), "the recorder kept running on a full disk");
    // Room again: the next record written says how many were not.
    fs::remove_file(&filler).expect("free the disk");
    storm(5);
    std::thread::sleep(Duration::from_millis(1500));
    let err = rec.stop();
    let recs = records(&state);
    let (signals, disk, ftrace, stop) = tally(&recs, pid);
    eprintln!("disk full: {sent} sent, {signals} recorded, {disk} lost to the disk, {ftrace} lost in ftrace; stop says lost {stop:?}");
    assert!(disk > 0, "no `lost` (disk) record: {recs:?}");
    assert!(signals + disk + ftrace >= sent, "every signal is recorded or counted lost");
    assert!(stop.is_some_and(|l| l >= disk + ftrace), "the stop record totals the losses: {stop:?}");
    assert!(err.contains("No space left on device"), "the recorder says why on stderr: {err}");
}

#[test]
#[ignore = "needs root"]
fn fault_watch_state_dir_removed_is_remade_and_the_loss_recorded() {
    need_root!();
    let _one = ONE_RECORDER.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().expect("tempdir");
    let state = tmp.path().join("state");
    let rec = Recorder::start(&state, &["--signals", "USR1"]);
    let before = storm(50);
    assert!(wait_until(Duration::from_secs(5), || tally(&records(&state), before).0 == 50), "the first 50 recorded");
    fs::remove_dir_all(&state).expect("remove the state directory");
    let pid = storm(50);
    std::thread::sleep(Duration::from_millis(2500));
    let err = rec.stop();
    let recs = records(&state);
    let (signals, disk, _, stop) = tally(&recs, pid);
    eprintln!("state dir removed: {signals} of 50 recorded in the new directory, {disk} counted lost; stop says lost {stop:?}; stderr: {err}");
    assert!(!recs.is_empty(), "nothing written after the state directory was removed: the recorder wrote into a deleted file");
    let lost: Vec<_> = recs.iter().filter(|r| matches!(r, WatchRecord::Lost(l) if l.what == "disk" && l.detail.contains("removed"))).collect();
    assert!(!lost.is_empty(), "no `lost` record says the files were removed: {recs:?}");
    assert!(signals + disk >= 50, "every signal after the removal is in the new files or counted lost");
    assert!(stop.is_some_and(|l| l >= disk), "{stop:?}");
    assert!(matches!(recs.last(), Some(WatchRecord::Stop(_))), "the stop record is in the new files");
}

#[test]
#[ignore = "needs root"]
fn fault_watch_signal_storm_past_the_buffer_is_counted() {
    need_root!();
    let _one = ONE_RECORDER.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().expect("tempdir");
    let state = tmp.path().join("state");
    // The smallest ring buffer ftrace gives (a page or so per CPU): a storm must overrun it.
    let mut rec = Recorder::start(&state, &["--signals", "USR1", "--buffer-kb", "4"]);
    let sent = 200_000;
    let pid = storm(sent);
    assert!(rec.running(), "the recorder survived the storm");
    std::thread::sleep(Duration::from_millis(1500));
    rec.stop();
    let recs = records(&state);
    let (signals, disk, ftrace, stop) = tally(&recs, pid);
    eprintln!("storm: {sent} sent, {signals} recorded, {ftrace} lost in ftrace, {disk} to the disk; stop says lost {stop:?}");
    assert!(ftrace > 0, "a storm of {sent} into a 4 KiB buffer lost nothing?");
    assert!(signals + ftrace + disk >= sent, "every signal is recorded or counted lost ({signals} + {ftrace} + {disk} < {sent})");
    assert!(stop.is_some_and(|l| l >= ftrace + disk), "the stop record totals the losses: {stop:?}");
}
