//! Faults of PID 1. The kernel logs every fault of the global init, caught or not (kernel/signal.c
//! unhandled_signal() answers yes for it), and when init dies it panics, "Attempted to kill init!"
//! (kernel/exit.c find_child_reaper). So a fault of PID 1 is a death only with that panic record, and then it
//! is the whole host's death. Without one, init caught the signal (systemd's crash handler has a child dump
//! core, logs "Caught <SEGV>, dumped core as pid N." and "Freezing execution.") or the panic went unrecorded.

use coroner_schemas::finding::{Advisory, Finding};
use coroner_schemas::{Event, EventKind, Source};

use super::deaths::{evidence, Group, ObsKind};
use super::Context;

/// A death group made only of PID 1's own fault records.
pub fn is_init_fault(g: &Group) -> bool {
    g.pid() == Some(1) && g.obs.iter().all(|o| matches!(o.kind, ObsKind::KernelCrash | ObsKind::Abend | ObsKind::Core | ObsKind::SelfSignal))
}

/// Whether a timestamp places the record at a known instant (not a bound or a guess).
fn dated(e: &Event) -> bool {
    matches!(e.timestamp.certainty(), "exact" | "from_boot")
}

/// The "Attempted to kill init!" panic that followed this fault, if the bundle holds one: its exit code's
/// signal (low 7 bits) is the fault's when both are known, and it is not dated before the fault.
pub fn init_panic<'a>(cx: &'a Context, g: &Group) -> Option<&'a Event> {
    let sig = g.obs.iter().find_map(|o| o.signal);
    let fault = g.obs.first().map(|o| &cx.events[o.event]);
    cx.of_kind(EventKind::KernelPanic).find(|p| {
        let same_signal = match (p.field_i64("init_exitcode"), sig) {
            (Some(code), Some(s)) => code & 0x7f == s,
            _ => true,
        };
        let after = match (fault, p.timestamp.sort_key()) {
            (Some(f), Some(pt)) if dated(f) && dated(p) => f.timestamp.sort_key().is_none_or(|ft| pt.unix_micros() >= ft.unix_micros() - 1_000_000),
            _ => true,
        };
        p.fields.get("init_died").and_then(|v| v.as_bool()) == Some(true) && same_signal && after
    })
}

/// A fault of PID 1 followed by the kernel's panic: init died, and the host with it.
pub fn init_death(f: &mut Finding, panic: &Event) {
    let reason = panic.field_str("reason").unwrap_or("Attempted to kill init!");
    f.reasoning = format!(
        "The kernel logged {} in PID 1 ({}) and then panicked: \"{reason}\". The kernel panics only when init dies, so PID 1 died of it and took the whole host down.",
        f.signal.as_ref().map(|s| format!("a fault ({})", s.name)).unwrap_or_else(|| "a fault".into()),
        f.victim.comm.as_deref().unwrap_or("init"),
    );
    f.details.insert("panic".into(), serde_json::json!(reason));
    f.details.insert("host_down".into(), serde_json::json!(true));
    f.evidence.push(evidence(panic, "kernel panic record (init died)"));
}

/// PID 1's crash-handler lines (systemd), in timeline order. systemd's own pid is the logging program's
/// (`program_pid`), as syslog and the journal keep it for systemd.
fn handler_lines<'a>(cx: &'a Context) -> impl Iterator<Item = &'a Event> + 'a {
    cx.of_kind(EventKind::Log)
        .filter(|e| (e.pid == Some(1) || e.field_i64("program_pid") == Some(1)) && e.field_str("crash_handler").is_some())
}

/// What the bundle shows of PID 1's faults that no panic followed: not a death; said as an advisory.
pub fn advisory(cx: &Context, groups: &[&Group]) -> Option<Advisory> {
    let faults: Vec<&Event> = groups
        .iter()
        .flat_map(|g| g.obs.iter())
        .filter(|o| matches!(o.kind, ObsKind::KernelCrash | ObsKind::Abend))
        .map(|o| &cx.events[o.event])
        .collect();
    let first = faults.first()?;
    let mut sigs: Vec<String> = groups.iter().flat_map(|g| g.obs.iter()).filter_map(|o| o.signal).map(|s| super::deaths::signal_of(s).name).collect();
    sigs.sort();
    sigs.dedup();
    let mut message = format!(
        "The bundle holds {} record{} of PID 1 ({}) faulting ({}), the first at {}. It holds no \"Attempted to kill init!\" kernel panic, which the kernel prints when init dies, so these records show no death.",
        // Records, not faults: one fault can leave a kernel line and an audit ANOM_ABEND both.
        faults.len(),
        if faults.len() == 1 { "" } else { "s" },
        first.comm.as_deref().unwrap_or("init"),
        sigs.join(", "),
        first.timestamp.sort_key().map(|t| t.rfc3339()).unwrap_or_else(|| "an unknown time".into())
    );
    // The handler's lines from the first fault to an hour after the last (undated ones count).
    let (lo, hi) = (first.timestamp.sort_key(), faults.last().and_then(|e| e.timestamp.sort_key()));
    let lines: Vec<&Event> = handler_lines(cx)
        .filter(|e| match (e.timestamp.sort_key(), lo, hi) {
            (Some(t), Some(lo), Some(hi)) => t.unix_micros() >= lo.unix_micros() - 1_000_000 && t.unix_micros() <= hi.unix_micros() + 3_600_000_000,
            _ => true,
        })
        .collect();
    let frozen = lines.iter().any(|e| e.field_str("crash_handler") == Some("frozen"));
    if !lines.is_empty() {
        let quoted: Vec<String> = lines.iter().map(|e| format!("\"{}\"", e.message)).collect();
        message.push_str(&format!(" PID 1 logged {}", quoted.join(", ")));
        message.push_str(if frozen {
            ": its crash handler caught the signal and froze it; a frozen PID 1 no longer starts, stops or restarts services until the host reboots."
        } else {
            ": its crash handler caught the signal."
        });
    } else if faults.iter().all(|e| e.source == Source::Kmsg) {
        message.push_str(" They are in the running boot's kernel ring buffer, so the host, and PID 1 with it, was still up at collection.");
    } else {
        message.push_str(" A panic is seldom written to disk logs: pstore (/sys/fs/pstore) or a serial console would hold one.");
    }
    let fix = if frozen {
        "systemctl --force --force reboot".to_owned()
    } else {
        "grep -E '^(State|SigCgt)' /proc/1/status".to_owned()
    };
    Some(Advisory { id: "pid1_faulted".into(), message, fix })
}

/// The child systemd's crash handler forks to dump PID 1's core dies of the signal by design: a finding for
/// it says so, citing the handler's line.
pub fn note_core_children(cx: &Context, findings: &mut [Finding]) {
    for h in handler_lines(cx) {
        let Some(child) = h.field_i64("core_pid") else { continue };
        for f in findings.iter_mut().filter(|f| f.victim.pid == Some(child)) {
            f.reasoning.push_str(&format!(
                " PID 1 logged \"{}\": this is the child its crash handler forks to write PID 1's core, and it dies of the signal by design; PID 1 itself did not die of it.",
                h.message
            ));
            f.evidence.push(evidence(h, "PID 1's crash handler record"));
        }
    }
}
