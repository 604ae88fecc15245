//! Host facts and the clock sample for the manifest.
//!
//! TODO(B1): `acquire::host::host_facts` and `acquire::kernel::clock_sample` are the intended sources; until
//! they exist this is a small local fallback, read without NSS: files under the root for the host's identity
//! and `/proc` (live only) for the running kernel.

use std::path::Path;

use coroner_schemas::manifest::{ClockSample, HostFacts};
use coroner_schemas::Utc;

use crate::acquire::Ctx;

fn read_small(p: &Path) -> Option<String> {
    use std::io::Read;
    let f = std::fs::File::open(p).ok()?;
    let mut s = String::new();
    f.take(64 * 1024).read_to_string(&mut s).ok()?;
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// The host's name: `/etc/hostname` under `--root`, the kernel's on a live host.
pub fn hostname(ctx: &Ctx) -> String {
    let live = ctx
        .live
        .then(|| read_small(Path::new("/proc/sys/kernel/hostname")))
        .flatten();
    live.or_else(|| read_small(&ctx.host_path("/etc/hostname")))
        .and_then(|h| h.lines().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// A host name fit for a file name: `[A-Za-z0-9._-]`, other characters as `_`, at most 64.
pub fn file_safe(name: &str) -> String {
    let s: String = name
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with('.') {
        format!("h{s}")
    } else {
        s
    }
}

fn os_pretty_name(ctx: &Ctx) -> Option<String> {
    let text = read_small(&ctx.host_path("/etc/os-release"))?;
    text.lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_owned())
}

fn timezone(ctx: &Ctx) -> Option<String> {
    if let Some(tz) = read_small(&ctx.host_path("/etc/timezone")) {
        return Some(tz);
    }
    let link = std::fs::read_link(ctx.host_path("/etc/localtime")).ok()?;
    let s = link.to_string_lossy();
    s.split_once("zoneinfo/").map(|(_, z)| z.to_owned())
}

pub fn host_facts(ctx: &Ctx) -> HostFacts {
    let live = |p: &str| if ctx.live { read_small(Path::new(p)) } else { None };
    let btime = live("/proc/stat").and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("btime ").and_then(|v| v.trim().parse::<i64>().ok()))
    });
    HostFacts {
        hostname: hostname(ctx),
        machine_id: read_small(&ctx.host_path("/etc/machine-id")),
        boot_id: live("/proc/sys/kernel/random/boot_id"),
        kernel_release: live("/proc/sys/kernel/osrelease"),
        kernel_version: live("/proc/sys/kernel/version"),
        arch: ctx.live.then(|| std::env::consts::ARCH.to_owned()),
        boot_time: btime.and_then(|b| Utc::from_unix(b, 0)),
        uptime_seconds: live("/proc/uptime").and_then(|u| u.split_whitespace().next()?.parse().ok()),
        timezone: timezone(ctx),
        utc_offset_seconds: None,
        os_pretty_name: os_pretty_name(ctx),
        systemd: ctx
            .live
            .then(|| {
                std::fs::read_link("/proc/1/exe")
                    .ok()
                    .map(|p| p.to_string_lossy().contains("systemd"))
            })
            .flatten(),
    }
}

fn clock(id: libc::clockid_t) -> Option<i128> {
    // SAFETY: timespec is plain old data; clock_gettime fills it on success.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: valid clock id and out pointer.
    if unsafe { libc::clock_gettime(id, &mut ts) } != 0 {
        return None;
    }
    Some(i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec))
}

/// Realtime, monotonic and boottime read back to back; the narrowest of a few tries.
pub fn clock_sample() -> Option<ClockSample> {
    let mut best: Option<ClockSample> = None;
    for _ in 0..5 {
        let m0 = clock(libc::CLOCK_MONOTONIC)?;
        let rt = clock(libc::CLOCK_REALTIME)?;
        let bt = clock(libc::CLOCK_BOOTTIME)?;
        let m1 = clock(libc::CLOCK_MONOTONIC)?;
        let s = ClockSample {
            realtime_ns: i64::try_from(rt).ok()?,
            monotonic_ns: u64::try_from((m0 + m1) / 2).ok()?,
            boottime_ns: u64::try_from(bt).ok()?,
            uncertainty_ns: u64::try_from(m1 - m0).ok()?,
        };
        if best.as_ref().is_none_or(|b| s.uncertainty_ns < b.uncertainty_ns) {
            best = Some(s);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_become_safe_file_names() {
        assert_eq!(file_safe("web-01.example"), "web-01.example");
        assert_eq!(file_safe("a/b c"), "a_b_c");
        assert_eq!(file_safe(""), "h");
        assert_eq!(file_safe("..x"), "h..x");
    }

    #[test]
    fn clock_sample_is_consistent() {
        let s = clock_sample().expect("clocks");
        assert!(s.realtime_ns > 1_600_000_000_000_000_000);
        assert!(s.boottime_ns >= s.monotonic_ns.saturating_sub(s.uncertainty_ns));
    }
}
