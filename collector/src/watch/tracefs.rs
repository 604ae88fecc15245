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

/// Events the recorder enables, when the kernel has them. `signal_deliver` runs in the target: it shows how
/// the kernel acted on a signal there (a fatal one as SIGKILL with no handler, a caught one with its handler).
pub const EVENTS: &[&str] = &[
    "signal/signal_generate",
    "signal/signal_deliver",
    "sched/sched_process_exec",
    "sched/sched_process_fork",
    "sched/sched_process_exit",
    "oom/mark_victim",
];

/// The dynamic loader whose entry point the argv probe sits on (x86_64 glibc).
pub const LOADER: &str = "/lib64/ld-linux-x86-64.so.2";
/// The argv probe's event (`uprobes` need a group of their own; this one is the recorder's).
pub const ARGV_EVENT: &str = "coroner/argv";
/// Arguments the probe fetches. At the loader's entry `%sp` points at argc, then argv[0..argc], NULL, then
/// the environment: slots past argc read the NULL (`(fault)`) and then environment strings, which stay in the
/// recorder's own buffer and are dropped by the parser.
pub const ARGV_SLOTS: usize = 12;

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
    pub fn create(tracefs: &Path, name: &str, signals: &[i32], buffer_kb: u64) -> Result<Instance, TraceFsError> {
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
        inst.write("events/signal/signal_generate/filter", &filter_for(signals))?;
        // A fatal signal is delivered as SIGKILL, whichever it was: 9 is always let through.
        let mut delivered = signals.to_vec();
        delivered.push(9);
        delivered.sort_unstable();
        delivered.dedup();
        if inst.dir.join("events/signal/signal_deliver/filter").exists() {
            inst.write("events/signal/signal_deliver/filter", &filter_for(&delivered))?;
        }
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

    /// Enables the argv probe (defined with [`ArgvProbe::define`]) in this instance.
    pub fn enable_argv(&mut self) -> Result<(), TraceFsError> {
        let enable = self.dir.join("events").join(ARGV_EVENT).join("enable");
        fs::write(&enable, "1").map_err(io_at(&enable))?;
        self.events.push(ARGV_EVENT.to_owned());
        Ok(())
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
        let _ = self.write("events/signal/signal_deliver/filter", "0");
        fs::remove_dir(&self.dir).map_err(io_at(&self.dir))
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.teardown();
    }
}

/// A uprobe on the dynamic loader's entry point that prints argv from the new process's stack, so a process
/// that exits a millisecond after exec is still named with its arguments (the exec tracepoint has none, and
/// `/proc/PID/cmdline` is gone with the process). Programs not started through the loader (static binaries)
/// are not seen by it. Uprobe definitions are global (`uprobe_events`): only this one is added, by appending,
/// and it is removed on drop; it is enabled in the recorder's instance only.
pub struct ArgvProbe {
    events_file: PathBuf,
    removed: bool,
}

impl ArgvProbe {
    /// Defines the probe; `None` when the loader or uprobes are not there (the recorder then relies on
    /// `/proc` at exec time alone).
    pub fn define(tracefs: &Path) -> Result<ArgvProbe, TraceFsError> {
        let loader = fs::canonicalize(LOADER).map_err(|source| TraceFsError::Io { path: LOADER.to_owned(), source })?;
        let bytes = fs::read(&loader).map_err(io_at(&loader))?;
        let off = probe_offset(&bytes).ok_or_else(|| TraceFsError::NoEvent(format!("entry point of {}", loader.display())))?;
        let mut def = format!("p:{ARGV_EVENT} {}:0x{off:x} argc=+u0(%sp):u64", loader.display());
        for i in 0..ARGV_SLOTS {
            def.push_str(&format!(" a{i}=+u0(+u{}(%sp)):ustring", 8 + 8 * i));
        }
        let events_file = tracefs.join("uprobe_events");
        // A leftover from a recorder that died goes first.
        Self::remove_leftover(tracefs);
        append(&events_file, &def)?;
        Ok(ArgvProbe { events_file, removed: false })
    }

    /// Removes a definition a killed recorder left (appending a removal never touches other uprobes).
    pub fn remove_leftover(tracefs: &Path) {
        let _ = append(&tracefs.join("uprobe_events"), &format!("-:{ARGV_EVENT}"));
    }

    pub fn remove(mut self) -> Result<(), TraceFsError> {
        self.removed = true;
        append(&self.events_file, &format!("-:{ARGV_EVENT}"))
    }
}

impl Drop for ArgvProbe {
    fn drop(&mut self) {
        if !self.removed {
            let _ = append(&self.events_file, &format!("-:{ARGV_EVENT}"));
        }
    }
}

/// Writes one line to a tracefs command file without truncating it (truncating `uprobe_events` would delete
/// every uprobe on the host).
fn append(p: &Path, line: &str) -> Result<(), TraceFsError> {
    use std::io::Write;
    let mut f = fs::OpenOptions::new().append(true).open(p).map_err(io_at(p))?;
    f.write_all(format!("{line}\n").as_bytes()).map_err(io_at(p))
}

/// The file offset of a 64-bit little-endian ELF's entry point (the segment holding `e_entry`).
pub fn elf_entry_offset(b: &[u8]) -> Option<u64> {
    let u16_at = |o: usize| b.get(o..o + 2).map(|s| u16::from_le_bytes([s[0], s[1]]));
    let u64_at = |o: usize| b.get(o..o + 8).and_then(|s| s.try_into().ok()).map(u64::from_le_bytes);
    let u32_at = |o: usize| b.get(o..o + 4).and_then(|s| s.try_into().ok()).map(u32::from_le_bytes);
    if b.get(..4)? != b"\x7fELF" || *b.get(4)? != 2 || *b.get(5)? != 1 {
        return None;
    }
    let entry = u64_at(24)?;
    let phoff = usize::try_from(u64_at(32)?).ok()?;
    let phentsize = usize::from(u16_at(54)?);
    let phnum = usize::from(u16_at(56)?);
    for i in 0..phnum {
        let ph = phoff.checked_add(i.checked_mul(phentsize)?)?;
        // PT_LOAD with the entry inside [p_vaddr, p_vaddr + p_filesz).
        if u32_at(ph)? != 1 {
            continue;
        }
        let (offset, vaddr, filesz) = (u64_at(ph + 8)?, u64_at(ph + 16)?, u64_at(ph + 32)?);
        if entry >= vaddr && entry - vaddr < filesz {
            return offset.checked_add(entry - vaddr);
        }
    }
    None
}

/// Where the argv probe goes: x86_64 glibc's `_start` is `mov %rsp,%rdi; call _dl_start`, and a uprobe on the
/// `call` (emulated by the kernel, `%sp` unchanged) cost a spawn 18 us here against 51 us on the `mov` (stepped
/// out of line); any other entry gets the probe on its first instruction.
pub fn probe_offset(b: &[u8]) -> Option<u64> {
    let entry = elf_entry_offset(b)?;
    let at = usize::try_from(entry).ok()?;
    Some(if b.get(at..at + 4) == Some(&[0x48, 0x89, 0xe7, 0xe8][..]) { entry + 3 } else { entry })
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

    #[test]
    fn the_loaders_entry_offset() {
        // This host's loader: its entry is in the executable PT_LOAD, at the same file offset (readelf -h/-l).
        let Ok(b) = fs::read(LOADER) else { return };
        let off = elf_entry_offset(&b).expect("an entry");
        assert!(off > 0 && (off as usize) < b.len());
        assert_eq!(elf_entry_offset(&b[..40]), None, "a torn header is no entry");
        assert_eq!(elf_entry_offset(b"not an elf at all, long enough to index into....................."), None);
    }

    /// A minimal ELF64 (header, one PT_LOAD at file offset 0x100 for vaddr 0x1000) whose entry holds `code`.
    fn tiny_elf(code: &[u8]) -> Vec<u8> {
        let mut b = vec![0u8; 0x100];
        b[..6].copy_from_slice(b"\x7fELF\x02\x01");
        b[24..32].copy_from_slice(&0x1000u64.to_le_bytes()); // e_entry
        b[32..40].copy_from_slice(&64u64.to_le_bytes()); // e_phoff
        b[54..56].copy_from_slice(&56u16.to_le_bytes()); // e_phentsize
        b[56..58].copy_from_slice(&1u16.to_le_bytes()); // e_phnum
        b[64..68].copy_from_slice(&1u32.to_le_bytes()); // PT_LOAD
        b[72..80].copy_from_slice(&0x100u64.to_le_bytes()); // p_offset
        b[80..88].copy_from_slice(&0x1000u64.to_le_bytes()); // p_vaddr
        b[96..104].copy_from_slice(&(code.len() as u64).to_le_bytes()); // p_filesz
        b.extend_from_slice(code);
        b
    }

    #[test]
    fn the_probe_sits_on_the_call_when_start_is_mov_then_call() {
        // x86_64 glibc's _start: mov %rsp,%rdi; call rel32 — the probe goes on the call, 3 bytes in.
        assert_eq!(probe_offset(&tiny_elf(&[0x48, 0x89, 0xe7, 0xe8, 0xf8, 0x0b, 0, 0])), Some(0x103));
        // Anything else (here endbr64 first): the entry itself.
        assert_eq!(probe_offset(&tiny_elf(&[0xf3, 0x0f, 0x1e, 0xfa, 0x48, 0x89, 0xe7])), Some(0x100));
        // The entry's bytes cut short: still the entry, never a read past the end.
        assert_eq!(probe_offset(&tiny_elf(&[0x48, 0x89])), Some(0x100));
        // This host's loader has that shape.
        if let Ok(b) = fs::read(LOADER) {
            let e = elf_entry_offset(&b).expect("this loader has an entry");
            assert_eq!(probe_offset(&b), Some(e + 3), "this machine's loader starts with mov %rsp,%rdi; call");
        }
    }
}
