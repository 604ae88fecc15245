//! Resource limits that decide whether a crash leaves a core (`RLIMIT_CORE`) or a process is stopped by a
//! limit: pam_limits' `/etc/security/limits.conf` and `limits.d/*`, systemd's `DefaultLimitCORE=` in
//! `system.conf` and its drop-ins, and PID 1's own `/proc/1/limits` (what services inherit without systemd).
//! Every other process's limits are inside `live/proc/processes.json`.

use coroner_schemas::manifest::{Category, Format};

use super::fsutil::{self, file_item, list_dir, live_capture};
use super::{Ctx, Item};

pub fn collect(ctx: &Ctx, out: &mut Vec<Item>) {
    out.push(file_item(
        ctx,
        "/etc/security/limits.conf",
        Category::Limits,
        Format::LimitsConf,
    ));
    if let Ok(files) = list_dir(ctx, "/etc/security/limits.d", |n| !n.starts_with('.')) {
        out.extend(
            files
                .iter()
                .map(|f| file_item(ctx, f, Category::Limits, Format::LimitsConf)),
        );
    }
    out.push(file_item(
        ctx,
        "/etc/systemd/system.conf",
        Category::Limits,
        Format::Other,
    ));
    for dir in [
        "/etc/systemd/system.conf.d",
        "/run/systemd/system.conf.d",
        "/usr/lib/systemd/system.conf.d",
    ] {
        if fsutil::is_dir(ctx, dir) {
            if let Ok(files) = list_dir(ctx, dir, |n| n.ends_with(".conf")) {
                out.extend(files.iter().map(|f| file_item(ctx, f, Category::Limits, Format::Other)));
            }
        }
    }
    out.push(live_capture(
        ctx,
        "/proc/1/limits",
        "live/proc/1/limits",
        Category::Limits,
        Format::ProcLimits,
    ));
}
