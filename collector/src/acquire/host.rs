//! Host facts for the manifest (hostname, ids, kernel, boot time, time zone) and the files and live `/proc`
//! state they come from: `/etc/{hostname,machine-id,os-release,timezone,localtime}` as files, and meminfo,
//! PSI, vmstat, loadavg, uptime, stat, mounts and boot_id as live text captures under `live/proc/`.

use std::path::Path;

use coroner_schemas::manifest::{Category, Format, HostFacts};
use coroner_schemas::Utc;

use super::fsutil::{self, file_item, link_chain, live_capture, read_value};
use super::{Ctx, Item};

/// Live `/proc` text captured as is: (source, bundle path).
const PROC_TEXT: &[(&str, &str)] = &[
    ("/proc/meminfo", "live/proc/meminfo"),
    ("/proc/pressure/cpu", "live/proc/pressure/cpu"),
    ("/proc/pressure/memory", "live/proc/pressure/memory"),
    ("/proc/pressure/io", "live/proc/pressure/io"),
    ("/proc/vmstat", "live/proc/vmstat"),
    ("/proc/loadavg", "live/proc/loadavg"),
    ("/proc/uptime", "live/proc/uptime"),
    ("/proc/stat", "live/proc/stat"),
    // `/proc/mounts` is a symlink to `self/mounts`; read the file itself (the collector's mount namespace).
    ("/proc/self/mounts", "live/proc/mounts"),
    ("/proc/sys/kernel/random/boot_id", "live/proc/sys/kernel/random/boot_id"),
];

/// Host files behind the facts.
const HOST_FILES: &[&str] = &[
    "/etc/hostname",
    "/etc/machine-id",
    "/etc/os-release",
    "/etc/timezone",
    "/etc/localtime",
];

pub fn collect(ctx: &Ctx, out: &mut Vec<Item>) {
    for f in HOST_FILES {
        out.push(file_item(ctx, f, Category::Host, Format::Other));
        // `/etc/localtime` and `/etc/os-release` are usually links; the writer records a link, not its
        // bytes, so take what it points at too (the tzfile is what the report needs to read local times).
        for target in link_chain(ctx, f, 4) {
            out.push(file_item(ctx, &target, Category::Host, Format::Other));
        }
    }
    for (src, bundle) in PROC_TEXT {
        out.push(live_capture(ctx, src, bundle, Category::Host, Format::ProcText));
    }
}

/// The facts for the manifest's `host` block. Never fails: unknown facts are `None` (hostname `unknown`).
pub fn host_facts(ctx: &Ctx) -> HostFacts {
    let etc = |p: &str| read_value(&ctx.host_path(p));
    let live = |p: &str| if ctx.live { read_value(Path::new(p)) } else { None };
    let hostname = live("/proc/sys/kernel/hostname")
        .or_else(|| etc("/etc/hostname"))
        .unwrap_or_else(|| "unknown".into());
    let (boot_time, uptime_seconds) = if ctx.live {
        let btime = fsutil::read_capped(Path::new("/proc/stat"), fsutil::LIVE_CAP)
            .ok()
            .and_then(|b| parse_btime(&b));
        let uptime = read_value(Path::new("/proc/uptime"))
            .and_then(|s| s.split_whitespace().next().and_then(|f| f.parse::<f64>().ok()));
        (
            btime
                .and_then(|b| i64::try_from(b).ok())
                .and_then(|b| Utc::from_unix(b, 0)),
            uptime,
        )
    } else {
        (None, None)
    };
    HostFacts {
        hostname,
        machine_id: etc("/etc/machine-id"),
        boot_id: live("/proc/sys/kernel/random/boot_id"),
        kernel_release: live("/proc/sys/kernel/osrelease"),
        kernel_version: live("/proc/sys/kernel/version"),
        arch: if ctx.live {
            live("/proc/sys/kernel/arch").or_else(uname_machine)
        } else {
            None
        },
        boot_time,
        uptime_seconds,
        timezone: timezone(ctx),
        utc_offset_seconds: if ctx.live { local_utc_offset() } else { None },
        os_pretty_name: os_pretty_name(ctx),
        systemd: if ctx.live { Some(pid1_is_systemd()) } else { None },
    }
}

/// `btime` (boot time, seconds since the epoch) from `/proc/stat` bytes.
pub fn parse_btime(stat: &[u8]) -> Option<u64> {
    stat.split(|&b| b == b'\n').find_map(|l| {
        let rest = l.strip_prefix(b"btime ")?;
        std::str::from_utf8(rest).ok()?.trim().parse().ok()
    })
}

/// Zone name from `ROOT/etc/timezone`, else from the `/etc/localtime` link target (`…/zoneinfo/Europe/Paris`).
pub fn timezone(ctx: &Ctx) -> Option<String> {
    if let Some(tz) = read_value(&ctx.host_path("/etc/timezone")) {
        return Some(tz);
    }
    let target = std::fs::read_link(ctx.host_path("/etc/localtime")).ok()?;
    let t = target.to_str()?;
    t.split_once("zoneinfo/")
        .map(|(_, z)| z.trim_start_matches("posix/").trim_start_matches("right/").to_owned())
}

/// `PRETTY_NAME` from `ROOT/etc/os-release`, else `ROOT/usr/lib/os-release`.
pub fn os_pretty_name(ctx: &Ctx) -> Option<String> {
    // /etc/os-release is normally a relative link to ../usr/lib/os-release, which read_value will not follow.
    ["/etc/os-release", "/usr/lib/os-release"].iter().find_map(|p| {
        let b = fsutil::read_capped(&ctx.host_path(p), 64 * 1024).ok()?;
        parse_os_release_pretty(&b)
    })
}

/// The `PRETTY_NAME=` value of os-release bytes, quotes removed.
pub fn parse_os_release_pretty(b: &[u8]) -> Option<String> {
    let s = String::from_utf8_lossy(b);
    s.lines().find_map(|l| {
        let v = l.trim().strip_prefix("PRETTY_NAME=")?;
        let v = v.trim();
        let v = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(v);
        let v = v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')).unwrap_or(v);
        (!v.is_empty()).then(|| v.to_owned())
    })
}

/// Whether PID 1 is systemd: its `comm`, or `/run/systemd/system` (what `sd_booted()` checks).
pub fn pid1_is_systemd() -> bool {
    read_value(Path::new("/proc/1/comm")).as_deref() == Some("systemd")
        || std::fs::symlink_metadata("/run/systemd/system")
            .map(|m| m.is_dir())
            .unwrap_or(false)
}

/// `uname -m` via uname(2).
fn uname_machine() -> Option<String> {
    let s = rustix::system::uname().machine().to_str().ok()?.to_owned();
    (!s.is_empty()).then_some(s)
}

/// The collector process's local UTC offset now (east positive), from localtime_r's `tm_gmtoff`: on the
/// live host that is the host's zone (`TZ` or `/etc/localtime`).
fn local_utc_offset() -> Option<i32> {
    // SAFETY: time(NULL) and localtime_r with valid pointers to stack values. No safe wrapper: rustix has no
    // localtime, and the time crate refuses local offsets in a process with more than one thread.
    unsafe {
        let now = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&now, &mut tm).is_null() {
            return None;
        }
        i32::try_from(tm.tm_gmtoff).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn btime_and_pretty_name() {
        assert_eq!(
            parse_btime(b"cpu  1 2 3\nintr 5\nbtime 1764270000\nprocesses 9\n"),
            Some(1_764_270_000)
        );
        assert_eq!(parse_btime(b"cpu 1\nbtime x\n"), None);
        assert_eq!(parse_btime(b""), None);
        assert_eq!(
            parse_os_release_pretty(b"NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n")
                .as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
        assert_eq!(
            parse_os_release_pretty(b"PRETTY_NAME=Plain\n").as_deref(),
            Some("Plain")
        );
        assert_eq!(parse_os_release_pretty(b"\xff\xfe\n"), None);
    }
}
