//! Kernel settings that decide how processes die and what trace they leave (core dumps, OOM policy,
//! kernel log access), read live from `/proc/sys`, plus the sysctl configuration files that set them at boot.
//!
//! `live/settings/sysctl.json` is one JSON object, keys sorted:
//! - `"kernel.core_pattern"` (sysctl name) → the value exactly as `/proc/sys` prints it, minus the one trailing
//!   newline (`"4\t4\t1\t7"` for `kernel.printk`); a JSON string when UTF-8, else `{"bytes": base64}`;
//!   `null` when it could not be read;
//! - `"self.coredump_filter"` → `/proc/self/coredump_filter` of the collector (what children inherit);
//! - `"_errors"` → object of key → error message for every `null` value (absent when none).

use std::path::Path;

use coroner_schemas::manifest::{Category, Format, Status};
use coroner_schemas::Text;
use serde_json::{Map, Value};

use super::fsutil::{self, file_item, list_dir};
use super::{CaptureItem, Ctx, Item};

/// The sysctls taken, by their `sysctl` names.
pub const SYSCTLS: &[&str] = &[
    "kernel.core_pattern",
    "kernel.core_uses_pid",
    "kernel.core_pipe_limit",
    "fs.suid_dumpable",
    "vm.overcommit_memory",
    "vm.overcommit_ratio",
    "vm.panic_on_oom",
    "vm.oom_kill_allocating_task",
    "vm.oom_dump_tasks",
    "kernel.pid_max",
    "kernel.dmesg_restrict",
    "kernel.printk",
    "kernel.printk_devkmsg",
    "kernel.panic",
    "kernel.panic_on_oops",
    "kernel.print-fatal-signals",
    "kernel.sysrq",
];

pub const BUNDLE_PATH: &str = coroner_schemas::layout::SYSCTL;

/// Directories of boot-time sysctl configuration, in systemd-sysctl's precedence order (later wins by name).
const SYSCTL_DIRS: &[&str] = &[
    "/etc/sysctl.d",
    "/run/sysctl.d",
    "/usr/local/lib/sysctl.d",
    "/usr/lib/sysctl.d",
    "/lib/sysctl.d",
];

pub fn collect(ctx: &Ctx, out: &mut Vec<Item>) {
    out.push(sysctl_capture(ctx));
    out.push(file_item(ctx, "/etc/sysctl.conf", Category::Settings, Format::Other));
    for dir in SYSCTL_DIRS {
        if fsutil::is_dir(ctx, dir) && !fsutil::merged_usr_alias(ctx, dir) {
            if let Ok(files) = list_dir(ctx, dir, |n| n.ends_with(".conf")) {
                out.extend(
                    files
                        .iter()
                        .map(|f| file_item(ctx, f, Category::Settings, Format::Other)),
                );
            }
        }
    }
}

/// `/proc/sys` path of a sysctl name (`vm.panic_on_oom` → `/proc/sys/vm/panic_on_oom`).
pub fn sysctl_path(name: &str) -> String {
    format!("/proc/sys/{}", name.replace('.', "/"))
}

fn sysctl_capture(ctx: &Ctx) -> Item {
    if !ctx.live {
        return fsutil::not_live(BUNDLE_PATH, "/proc/sys", Category::Settings, Format::SysctlJson);
    }
    let mut reads: Vec<(String, std::io::Result<Vec<u8>>)> = SYSCTLS
        .iter()
        .map(|n| {
            (
                (*n).to_owned(),
                fsutil::read_capped(Path::new(&sysctl_path(n)), 64 * 1024),
            )
        })
        .collect();
    reads.push((
        "self.coredump_filter".into(),
        fsutil::read_capped(Path::new("/proc/self/coredump_filter"), 4096),
    ));
    let data = sysctl_json(reads);
    Item::Capture(CaptureItem {
        bundle_path: BUNDLE_PATH.into(),
        source: "/proc/sys".into(),
        category: Category::Settings,
        format: Format::SysctlJson,
        account: None,
        data,
        status: Status::Ok,
        command: None,
    })
}

/// The JSON document from (name, read result) pairs.
pub fn sysctl_json(reads: Vec<(String, std::io::Result<Vec<u8>>)>) -> Vec<u8> {
    let mut obj = Map::new();
    let mut errors = Map::new();
    for (name, r) in reads {
        let v = match r {
            Ok(mut b) => {
                if b.last() == Some(&b'\n') {
                    b.pop();
                }
                match String::from_utf8(b) {
                    Ok(s) => Value::String(s),
                    Err(e) => serde_json::to_value(Text::from_bytes(e.as_bytes())).unwrap_or(Value::Null),
                }
            }
            Err(e) => {
                errors.insert(name.clone(), Value::String(e.to_string()));
                Value::Null
            }
        };
        obj.insert(name, v);
    }
    if !errors.is_empty() {
        obj.insert("_errors".into(), Value::Object(errors));
    }
    let mut data = serde_json::to_vec_pretty(&Value::Object(obj)).unwrap_or_default();
    data.push(b'\n');
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_errors_and_bytes() {
        let j = sysctl_json(vec![
            (
                "kernel.core_pattern".into(),
                Ok(b"|/usr/lib/systemd/systemd-coredump %P %u\n".to_vec()),
            ),
            ("kernel.printk".into(), Ok(b"4\t4\t1\t7\n".to_vec())),
            ("vm.x".into(), Err(std::io::Error::from_raw_os_error(libc::ENOENT))),
            ("odd".into(), Ok(b"\xff\n".to_vec())),
        ]);
        let v: Value = serde_json::from_slice(&j).expect("json");
        assert_eq!(v["kernel.core_pattern"], "|/usr/lib/systemd/systemd-coredump %P %u");
        assert_eq!(v["kernel.printk"], "4\t4\t1\t7");
        assert_eq!(v["vm.x"], Value::Null);
        assert!(v["_errors"]["vm.x"]
            .as_str()
            .is_some_and(|s| s.contains("No such file")));
        assert_eq!(v["odd"]["bytes"], "/w==");
        assert_eq!(
            sysctl_path("kernel.print-fatal-signals"),
            "/proc/sys/kernel/print-fatal-signals"
        );
    }
}
