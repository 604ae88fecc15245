//! The event fields the findings reason about, read once each: typed, and tolerant of the forms the parsers
//! write (a number or its text, a signal by number or name). `Event.fields` stays the display and export form.

use coroner_schemas::Event;

use crate::sources::signals;

pub trait Typed {
    /// An integer field, from a JSON number or its text.
    fn int(&self, key: &str) -> Option<i64>;
    /// The signal: `signal` (number or name), `signal_name`, or systemd's `status=9/KILL`.
    fn signal(&self) -> Option<i64>;
    /// The process a signal was sent to.
    fn target_pid(&self) -> Option<i64>;
    /// kill(2)'s pid argument as called (≤ 0: a process group or a broadcast).
    fn target_arg(&self) -> Option<i64>;
    /// The pids a kill command names.
    fn target_pids(&self) -> Vec<i64>;
    /// The syscall of an audited signal (`kill`, `tgkill`, …).
    fn syscall(&self) -> Option<&str>;
    /// A command line as typed or run (history, sudo, cron).
    fn command(&self) -> Option<&str>;
    /// The systemd unit an event is about.
    fn unit(&self) -> Option<&str>;
}

impl Typed for Event {
    fn int(&self, key: &str) -> Option<i64> {
        let v = self.fields.get(key)?;
        v.as_i64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
    }

    fn signal(&self) -> Option<i64> {
        if let Some(n) = self.int("signal") {
            return Some(n);
        }
        if let Some(n) = self.field_str("signal").or_else(|| self.field_str("signal_name")).and_then(signals::number) {
            return Some(n);
        }
        let status = self.field_str("status")?;
        let (num, name) = status.split_once('/').unwrap_or((status, ""));
        num.trim().parse().ok().or_else(|| signals::number(name))
    }

    fn target_pid(&self) -> Option<i64> {
        self.int("target_pid")
    }

    fn target_arg(&self) -> Option<i64> {
        self.int("target_arg")
    }

    fn target_pids(&self) -> Vec<i64> {
        let Some(a) = self.fields.get("target_pids").and_then(|v| v.as_array()) else { return Vec::new() };
        a.iter().filter_map(|v| v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok()))).collect()
    }

    fn syscall(&self) -> Option<&str> {
        self.field_str("syscall")
    }

    fn command(&self) -> Option<&str> {
        self.field_str("command")
    }

    fn unit(&self) -> Option<&str> {
        self.field_str("unit")
    }
}
