//! systemd's view of services and timers: unit files (always, also under `--root`), and where systemd is
//! PID 1 on the live host, `systemctl list-timers --all` and `systemctl show --all '*.service'` (Result,
//! ExecMainCode/Status, NRestarts, WatchdogUSec, LimitCORE… for every service).
//!
//! `cmd/systemctl-show.json` is the `show` output turned into one JSON object: unit `Id` → { property →
//! value string }, keys sorted; a block without `Id=` is keyed `#N` (its position). The output is read as
//! UTF-8; if it was not, invalid sequences are replaced and the object gets `"_lossy": true`.

use std::collections::BTreeSet;

use coroner_schemas::manifest::{Category, Format, Status};

use super::command;
use super::fsutil::{self, list_dir};
use super::{Ctx, Item};

pub const TIMERS_PATH: &str = "cmd/systemctl-list-timers.txt";
pub const SHOW_PATH: &str = "cmd/systemctl-show.json";

/// Most unit-file entries planned from `/etc/systemd/system/**`.
const MAX_ETC_ENTRIES: usize = 5000;

/// Directories where systemd looks up units, highest precedence first.
const UNIT_DIRS: &[&str] = &[
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
];

pub fn collect(ctx: &Ctx, out: &mut Vec<Item>) {
    live_commands(ctx, out);
    unit_files(ctx, out);
}

fn live_commands(ctx: &Ctx, out: &mut Vec<Item>) {
    let cat = Category::Systemd;
    if !ctx.live {
        out.push(fsutil::not_live(
            TIMERS_PATH,
            "systemctl list-timers --all --no-pager",
            cat,
            Format::SystemdTimers,
        ));
        out.push(fsutil::not_live(
            SHOW_PATH,
            "systemctl show --all --no-pager *.service",
            cat,
            Format::SystemdShowJson,
        ));
        return;
    }
    if !super::host::pid1_is_systemd() {
        let na = || Status::NotApplicable {
            reason: "PID 1 is not systemd".into(),
        };
        out.push(fsutil::absent(
            TIMERS_PATH,
            "systemctl list-timers --all --no-pager",
            cat,
            Format::SystemdTimers,
            na(),
        ));
        out.push(fsutil::absent(
            SHOW_PATH,
            "systemctl show --all --no-pager *.service",
            cat,
            Format::SystemdShowJson,
            na(),
        ));
        return;
    }
    let env: &[(&str, &str)] = &[("SYSTEMD_PAGER", ""), ("SYSTEMD_COLORS", "0")];
    out.push(command::capture(
        ctx,
        &["systemctl", "list-timers", "--all", "--no-pager"],
        env,
        TIMERS_PATH,
        cat,
        Format::SystemdTimers,
    ));
    let mut show = command::capture(
        ctx,
        &["systemctl", "show", "--all", "--no-pager", "*.service"],
        env,
        SHOW_PATH,
        cat,
        Format::SystemdShowJson,
    );
    if let Item::Capture(c) = &mut show {
        c.data = show_to_json(&c.data);
    }
    out.push(show);
}

pub use coroner_schemas::systemd::show_to_json;

/// The unit a timer starts: `Unit=` of its `[Timer]` section, else the timer's name with `.service`.
pub fn timer_unit(timer_name: &str, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut in_timer = false;
    let mut unit = None;
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with('[') {
            in_timer = l == "[Timer]";
        } else if in_timer {
            if let Some(v) = l.strip_prefix("Unit=") {
                let v = v.trim();
                if !v.is_empty() {
                    unit = Some(v.to_owned());
                }
            }
        }
    }
    unit.unwrap_or_else(|| format!("{}.service", timer_name.strip_suffix(".timer").unwrap_or(timer_name)))
}

fn unit_files(ctx: &Ctx, out: &mut Vec<Item>) {
    let (cat, fmt) = (Category::Systemd, Format::SystemdUnit);
    let mut planned: BTreeSet<String> = BTreeSet::new();
    // Everything under /etc/systemd/system: local units, overrides, drop-ins, enablement links.
    let mut stack = vec!["/etc/systemd/system".to_owned()];
    let mut count = 0usize;
    while let Some(dir) = stack.pop() {
        let Ok(entries) = list_dir(ctx, &dir, |_| true) else {
            continue;
        };
        for e in entries {
            if count >= MAX_ETC_ENTRIES {
                out.push(fsutil::absent(
                    fsutil::fs_bundle_path(&dir),
                    dir.clone(),
                    cat,
                    fmt,
                    Status::Skipped {
                        reason: format!("more than {MAX_ETC_ENTRIES} entries under /etc/systemd/system"),
                    },
                ));
                stack.clear();
                break;
            }
            count += 1;
            if fsutil::is_dir(ctx, &e) {
                stack.push(e);
            } else {
                planned.insert(e);
            }
        }
    }
    // Timers shipped by packages, and the services they start.
    let mut wanted: BTreeSet<String> = BTreeSet::new();
    let mut timers: Vec<String> = Vec::new();
    for dir in UNIT_DIRS {
        if fsutil::merged_usr_alias(ctx, dir) {
            continue; // merged /usr: the same files as /usr/lib
        }
        if let Ok(files) = list_dir(ctx, dir, |n| n.ends_with(".timer")) {
            timers.extend(files);
        }
    }
    timers.extend(planned.iter().filter(|p| p.ends_with(".timer")).cloned());
    for t in &timers {
        let name = t.rsplit('/').next().unwrap_or(t);
        let body = fsutil::read_capped(&ctx.host_path(t), 256 * 1024).unwrap_or_default();
        wanted.insert(timer_unit(name, &body));
        if !t.starts_with("/etc/systemd/system/") {
            planned.insert(t.clone());
        }
    }
    for unit in &wanted {
        if unit.contains('/') {
            continue;
        }
        for dir in UNIT_DIRS {
            if fsutil::merged_usr_alias(ctx, dir) {
                continue;
            }
            let p = format!("{dir}/{unit}");
            if std::fs::symlink_metadata(ctx.host_path(&p)).is_ok() {
                planned.insert(p);
            }
        }
    }
    out.extend(
        planned
            .into_iter()
            .map(|p| Item::File(super::FileItem::new(p, cat, fmt))),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timer_names_its_unit() {
        assert_eq!(
            timer_unit(
                "apt-daily.timer",
                b"[Unit]\nDescription=x\n[Timer]\nOnCalendar=*-*-* 6,18:00\n"
            ),
            "apt-daily.service"
        );
        assert_eq!(
            timer_unit("x.timer", b"[Timer]\nUnit=other.service\n[Install]\nUnit=no.service\n"),
            "other.service"
        );
        assert_eq!(timer_unit("y.timer", b"\xff\xfe"), "y.service");
    }
}
