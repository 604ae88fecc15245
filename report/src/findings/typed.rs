//! The event fields the findings reason about, each read in one place: typed, and tolerant of the forms the
//! parsers write (a number or its text, a signal by number or name). `Event.fields` stays for display and export.

use coroner_schemas::Event;

use crate::sources::signals;

pub trait Typed {
    fn event(&self) -> &Event;

    /// An integer field, from a JSON number or its text.
    fn int(&self, key: &str) -> Option<i64> {
        let v = self.event().fields.get(key)?;
        v.as_i64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
    }
    /// The signal: `signal` (number or name), `signal_name`, or systemd's `status=9/KILL`.
    fn signal(&self) -> Option<i64> {
        let e = self.event();
        let named = || e.field_str("signal").or_else(|| e.field_str("signal_name")).and_then(signals::number);
        if let Some(n) = self.int("signal").or_else(named) {
            return Some(n);
        }
        let status = e.field_str("status")?;
        let (num, name) = status.split_once('/').unwrap_or((status, ""));
        num.trim().parse().ok().or_else(|| signals::number(name))
    }
    /// The process a signal was sent to.
    fn target_pid(&self) -> Option<i64> {
        self.int("target_pid")
    }
    /// kill(2)'s pid argument as called (≤ 0: a process group or a broadcast).
    fn target_arg(&self) -> Option<i64> {
        self.int("target_arg")
    }
    /// The pids a kill command names.
    fn target_pids(&self) -> Vec<i64> {
        let pids = self.event().fields.get("target_pids").and_then(|v| v.as_array());
        pids.into_iter().flatten().filter_map(|v| v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok()))).collect()
    }
    /// The syscall of an audited signal (`kill`, `tgkill`, …).
    fn syscall(&self) -> Option<&str> {
        self.event().field_str("syscall")
    }
    /// A command line as typed or run (history, sudo, cron).
    fn command(&self) -> Option<&str> {
        self.event().field_str("command")
    }
    /// The systemd unit an event is about.
    fn unit(&self) -> Option<&str> {
        self.event().field_str("unit")
    }
}

impl Typed for Event {
    fn event(&self) -> &Event {
        self
    }
}
