//! The recorder's own ftrace instance (`<tracefs>/instances/coroner`): made at start, configured (trace clock,
//! tgid in headers, buffer size, a kernel-side filter on `signal_generate`, events on), and removed at stop.
//! The global instance, which other tools use, is never written.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// Where tracefs is mounted on current kernels.
pub const TRACEFS: &str = "/sys/kernel/tracing";

/// The trace clock: CLOCK_MONOTONIC, the clock printk stamps follow, so both convert to UTC the same way.
pub const TRACE_CLOCK: &str = "mono";

/// Events the recorder enables, when the kernel has them (`signal_deliver` is left off: its `sig` shows 9
/// for a fatal SIGTERM and its fields name no target; the signal sent and the target's exit tell more).
pub const EVENTS: &[&str] = &[
    "signal/signal_generate",
    "sched/sched_process_exec",
    "sched/sched_process_fork",
    "sched/sched_process_exit",
    "oom/mark_victim",
];

#[derive(Debug, Error)]
pub enum TraceFsError {
    #[error("mounting tracefs on {TRACEFS}: {0}")]
    Mount(String),
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("{path} exists and cannot be removed ({source}): is another recorder running?")]
    Busy { path: String, source: io::Error },
    #[error("no event {0} in this kernel")]
    NoEvent(String),
}

fn io_at(p: &Path) -> impl FnOnce(io::Error) -> TraceFsError + '_ {
    move |source| TraceFsError::Io { path: p.display().to_string(), source }
}

/// Mounts tracefs at [`TRACEFS`] unless it is there already; returns its path.
pub fn ensure_mounted() -> Result<PathBuf, TraceFsError> {
    let root = PathBuf::from(TRACEFS);
    if root.join("instances").is_dir() {
        return Ok(root);
    }
    let out = std::process::Command::new("mount")
        .args(["-t", "tracefs", "nodev", TRACEFS])
        .output()
        .map_err(|e| TraceFsError::Mount(e.to_string()))?;
    if !out.status.success() || !root.join("instances").is_dir() {
        return Err(TraceFsError::Mount(String::from_utf8_lossy(&out.stderr).trim().to_owned()));
    }
    Ok(root)
}

/// The instance while the recorder owns it; [`Instance::remove`] (or drop) turns it off and removes it.
pub struct Instance {
    pub dir: PathBuf,
    /// Events enabled, as `group/name`.
    pub events: Vec<String>,
    removed: bool,
}

impl Instance {
    /// Makes `instances/<name>` and configures it. A leftover directory from a recorder that died is removed
    /// first; one in use (its pipe open) is not, and that is an error.
    pub fn create(tracefs: &Path, name: &str, signal_filter: &str, buffer_kb: u64) -> Result<Instance, TraceFsError> {
        let dir = tracefs.join("instances").join(name);
        if dir.exists() {
            fs::remove_dir(&dir).map_err(|source| TraceFsError::Busy { path: dir.display().to_string(), source })?;
        }
        fs::create_dir(&dir).map_err(io_at(&dir))?;
        let mut inst = Instance { dir, events: Vec::new(), removed: false };
        // From here on a failure drops `inst`, which removes the directory again.
        inst.write("tracing_on", "0")?;
        inst.write("trace_clock", TRACE_CLOCK)?;
        inst.write("options/record-tgid", "1")?;
        inst.write("buffer_size_kb", &buffer_kb.to_string())?;
        // poll(2) on trace_pipe waits until the buffer is this full (default 50%): 0 wakes us at the first
        // event, so the `/proc` read at exec time comes while a short-lived process still exists.
        inst.write("buffer_percent", "0")?;
        inst.write("events/signal/signal_generate/filter", signal_filter)?;
        for ev in EVENTS {
            let enable = inst.dir.join("events").join(ev).join("enable");
            if !enable.exists() {
                if *ev == "signal/signal_generate" {
                    return Err(TraceFsError::NoEvent((*ev).to_owned()));
                }
                continue;
            }
            fs::write(&enable, "1").map_err(io_at(&enable))?;
            inst.events.push((*ev).to_owned());
        }
        inst.write("tracing_on", "1")?;
        Ok(inst)
    }

    fn write(&self, rel: &str, value: &str) -> Result<(), TraceFsError> {
        let p = self.dir.join(rel);
        fs::write(&p, value).map_err(io_at(&p))
    }

    pub fn trace_pipe(&self) -> PathBuf {
        self.dir.join("trace_pipe")
    }

    /// Events the ring buffer overwrote (`overrun`) or dropped, summed over CPUs, since the instance was made.
    pub fn overruns(&self) -> u64 {
        let mut total = 0;
        let Ok(cpus) = fs::read_dir(self.dir.join("per_cpu")) else { return 0 };
        for c in cpus.flatten() {
            let Ok(stats) = fs::read_to_string(c.path().join("stats")) else { continue };
            total += overruns_in(&stats);
        }
        total
    }

    /// Events off, filter cleared, directory removed. The trace pipe must be closed first.
    pub fn remove(mut self) -> Result<(), TraceFsError> {
        self.teardown()
    }

    fn teardown(&mut self) -> Result<(), TraceFsError> {
        if self.removed {
            return Ok(());
        }
        self.removed = true;
        let _ = self.write("tracing_on", "0");
        for ev in &self.events {
            let _ = fs::write(self.dir.join("events").join(ev).join("enable"), "0");
        }
        let _ = self.write("events/signal/signal_generate/filter", "0");
        fs::remove_dir(&self.dir).map_err(io_at(&self.dir))
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.teardown();
    }
}

/// `overrun: N` and `dropped events: N` of a `per_cpu/cpuN/stats` file.
pub fn overruns_in(stats: &str) -> u64 {
    stats
        .lines()
        .filter_map(|l| l.strip_prefix("overrun:").or_else(|| l.strip_prefix("dropped events:")))
        .filter_map(|v| v.trim().parse::<u64>().ok())
        .sum()
}

/// The kernel-side filter for `signal_generate`: `sig == 1 || sig == 2 || …`.
pub fn filter_for(signals: &[i32]) -> String {
    signals.iter().map(|s| format!("sig == {s}")).collect::<Vec<_>>().join(" || ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_and_filter() {
        // The shape of per_cpu/cpu0/stats on this kernel.
        let stats = "entries: 12\noverrun: 7\ncommit overrun: 0\nbytes: 812\noldest event ts:  9469.204823\nnow ts:  9500.1\ndropped events: 2\nread events: 40\n";
        assert_eq!(overruns_in(stats), 9);
        assert_eq!(filter_for(&[9, 15]), "sig == 9 || sig == 15");
    }
}
