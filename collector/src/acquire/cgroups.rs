//! Memory cgroup state (v1 and v2) as `live/cgroups/memory.json`: for every memory cgroup its limits, usage,
//! failure counters and OOM events — the evidence for "killed by a cgroup limit, not by the global OOM".
//!
//! JSON form (keys sorted):
//! ```json
//! { "hierarchies": [ { "version": 1, "mount": "/sys/fs/cgroup/memory", "memory_controller": true,
//!                      "cgroups": { "/": { "memory.failcnt": "0", … }, "/x": { … } } } ],
//!   "limit": 10000, "walked": 12, "cut": false, "errors": [ { "path": "…", "message": "…" } ] }
//! ```
//! Values are the files' text as the kernel prints them, minus one trailing newline (multi-line files such as
//! `memory.events` keep their inner newlines); `null` when the file exists but could not be read. A file that
//! does not exist in a cgroup is left out. `memory.stat` is not taken (large; not needed to explain a kill).

use std::path::{Path, PathBuf};

use coroner_schemas::manifest::{Category, Format, Status};
use serde_json::{json, Map, Value};

use super::fsutil;
use super::{CaptureItem, Ctx, Item};

pub const BUNDLE_PATH: &str = "live/cgroups/memory.json";

/// Most cgroups visited over all hierarchies; the walk stops there and says so.
pub const MAX_CGROUPS: usize = 10_000;
/// Deepest nesting followed.
const MAX_DEPTH: usize = 64;

const V1_FILES: &[&str] = &[
    "memory.limit_in_bytes",
    "memory.soft_limit_in_bytes",
    "memory.usage_in_bytes",
    "memory.max_usage_in_bytes",
    "memory.failcnt",
    "memory.oom_control",
    "memory.memsw.limit_in_bytes",
    "memory.memsw.usage_in_bytes",
    "memory.memsw.max_usage_in_bytes",
    "memory.memsw.failcnt",
];

const V2_FILES: &[&str] = &[
    "memory.max",
    "memory.high",
    "memory.current",
    "memory.peak",
    "memory.events",
    "memory.events.local",
    "memory.swap.max",
    "memory.swap.current",
    "memory.swap.events",
    "memory.oom.group",
];

/// A cgroup mount found in a mounts table: (version, mount point).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CgroupMount {
    pub version: u8,
    pub mount: PathBuf,
}

/// Undoes the octal escapes `/proc/mounts` uses for space, tab, newline and backslash (`\040`).
pub fn unescape_mount(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        if let (b'\\', Some(oct)) = (field[i], field.get(i + 1..i + 4)) {
            if oct.iter().all(|d| (b'0'..=b'7').contains(d)) {
                let v = u32::from(oct[0] - b'0') * 64 + u32::from(oct[1] - b'0') * 8 + u32::from(oct[2] - b'0');
                if let Ok(b) = u8::try_from(v) {
                    out.push(b);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(field[i]);
        i += 1;
    }
    out
}

/// Memory cgroup mounts in `/proc/mounts` text: v1 `cgroup` mounts whose options hold `memory`, and every
/// `cgroup2` mount. Sorted, duplicates (bind mounts of the same point) removed.
pub fn memory_mounts(mounts: &[u8]) -> Vec<CgroupMount> {
    let mut v = Vec::new();
    for line in mounts.split(|&b| b == b'\n') {
        let f: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
        let (Some(mp), Some(fstype), Some(opts)) = (f.get(1), f.get(2), f.get(3)) else {
            continue;
        };
        let version = match *fstype {
            b"cgroup" if opts.split(|&b| b == b',').any(|o| o == b"memory") => 1,
            b"cgroup2" => 2,
            _ => continue,
        };
        v.push(CgroupMount {
            version,
            mount: fsutil::path_from_bytes(&unescape_mount(mp)),
        });
    }
    v.sort_by(|a, b| (a.version, &a.mount).cmp(&(b.version, &b.mount)));
    v.dedup();
    v
}

fn raw_value(b: Vec<u8>) -> Value {
    let b = b.strip_suffix(b"\n").map(<[u8]>::to_vec).unwrap_or(b);
    match String::from_utf8(b) {
        Ok(s) => Value::String(s),
        Err(e) => serde_json::to_value(coroner_schemas::Text::from_bytes(e.as_bytes())).unwrap_or(Value::Null),
    }
}

struct State {
    /// Most cgroups visited ([`MAX_CGROUPS`]; smaller in tests).
    limit: usize,
    walked: usize,
    cut: bool,
    errors: Vec<Value>,
}

fn err(st: &mut State, path: &Path, message: String) {
    st.errors
        .push(json!({ "path": path.to_string_lossy(), "message": message }));
}

/// Walks one hierarchy depth-first (children sorted), recording each cgroup that has any of `files`.
fn walk(root: &Path, files: &[&str], st: &mut State) -> Map<String, Value> {
    let mut cgroups = Map::new();
    let mut stack: Vec<(PathBuf, usize)> = vec![(root.to_path_buf(), 0)];
    while let Some((dir, depth)) = stack.pop() {
        if st.walked >= st.limit {
            st.cut = true;
            break;
        }
        st.walked += 1;
        let rel = dir
            .strip_prefix(root)
            .map(|r| format!("/{}", r.to_string_lossy()))
            .unwrap_or_else(|_| "/".into());
        let mut vals = Map::new();
        for f in files {
            let p = dir.join(f);
            match fsutil::read_capped(&p, 64 * 1024) {
                Ok(b) => {
                    vals.insert((*f).to_owned(), raw_value(b));
                }
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
                Err(e) => {
                    vals.insert((*f).to_owned(), Value::Null);
                    err(st, &p, e.to_string());
                }
            }
        }
        if !vals.is_empty() {
            cgroups.insert(rel, Value::Object(vals));
        }
        if depth >= MAX_DEPTH {
            err(st, &dir, format!("deeper than {MAX_DEPTH} levels; not followed"));
            continue;
        }
        match std::fs::read_dir(&dir) {
            Ok(rd) => {
                let mut kids: Vec<PathBuf> = rd
                    .flatten()
                    .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
                    .map(|e| e.path())
                    .collect();
                // Container subtrees first, then by name: should the walk be cut at the limit, what it
                // leaves out is never a container's or pod's cgroup while others were taken.
                kids.sort_by(|a, b| (container_rank(a), a).cmp(&(container_rank(b), b)));
                // Reverse so the stack pops them in that order.
                stack.extend(kids.into_iter().rev().map(|k| (k, depth + 1)));
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {} // removed while walked
            Err(e) => err(st, &dir, e.to_string()),
        }
    }
    cgroups
}

/// 0 for a cgroup that is or may hold a container's (`docker`, `kubepods*`, `system.slice` with its
/// `docker-<id>.scope`, `machine.slice` with `libpod-<id>.scope`, `crio-…`, `cri-containerd-…`, a pod's
/// `pod<uid>`, a bare 64-hex id), 1 for any other: the order the walk visits siblings in.
pub fn container_rank(dir: &Path) -> u8 {
    let name = dir.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    const MARKS: &[&str] = &["docker", "kubepods", "containerd", "crio", "libpod", "podman", "machine", "system.slice"];
    let hex64 = name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit());
    if hex64 || name.starts_with("pod") || MARKS.iter().any(|m| name.contains(m)) {
        0
    } else {
        1
    }
}

/// The whole document for the given mounts.
pub fn memory_json(mounts: &[CgroupMount]) -> Value {
    memory_json_limited(mounts, MAX_CGROUPS)
}

/// [`memory_json`] with another limit on the cgroups visited.
pub fn memory_json_limited(mounts: &[CgroupMount], limit: usize) -> Value {
    let mut st = State {
        limit,
        walked: 0,
        cut: false,
        errors: Vec::new(),
    };
    let mut hierarchies = Vec::new();
    for m in mounts {
        let (files, has_memory) = if m.version == 1 {
            (V1_FILES, true)
        } else {
            // In v2 the memory files exist only where the controller is enabled.
            let ctl = fsutil::read_capped(&m.mount.join("cgroup.controllers"), 4096).unwrap_or_default();
            (
                V2_FILES,
                String::from_utf8_lossy(&ctl).split_whitespace().any(|c| c == "memory"),
            )
        };
        let cgroups = if has_memory {
            walk(&m.mount, files, &mut st)
        } else {
            Map::new()
        };
        hierarchies.push(json!({
            "version": m.version,
            "mount": m.mount.to_string_lossy(),
            "memory_controller": has_memory,
            "cgroups": cgroups,
        }));
    }
    json!({
        "hierarchies": hierarchies,
        "limit": limit,
        "walked": st.walked,
        "cut": st.cut,
        "errors": st.errors,
    })
}

pub fn collect(ctx: &Ctx, out: &mut Vec<Item>) {
    let (cat, fmt) = (Category::Cgroups, Format::CgroupsJson);
    if !ctx.live {
        out.push(fsutil::not_live(BUNDLE_PATH, "/sys/fs/cgroup", cat, fmt));
        return;
    }
    let mounts = match fsutil::read_capped(Path::new("/proc/self/mounts"), fsutil::LIVE_CAP) {
        Ok(b) => memory_mounts(&b),
        Err(e) => {
            out.push(fsutil::absent(
                BUNDLE_PATH,
                "/proc/self/mounts",
                cat,
                fmt,
                fsutil::status_of(&e),
            ));
            return;
        }
    };
    let doc = memory_json(&mounts);
    let mut data = serde_json::to_vec_pretty(&doc).unwrap_or_default();
    data.push(b'\n');
    let status = if doc["cut"] == Value::Bool(true) {
        Status::Truncated {
            kept: coroner_schemas::manifest::Kept::Head,
            original_size: data.len() as u64,
            reason: format!("more than {MAX_CGROUPS} cgroups; the walk stopped there"),
        }
    } else {
        Status::Ok
    };
    out.push(Item::Capture(CaptureItem {
        bundle_path: BUNDLE_PATH.into(),
        source: "/sys/fs/cgroup".into(),
        category: cat,
        format: fmt,
        account: None,
        data,
        status,
        command: None,
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_memory_mounts_in_this_hosts_mount_table() {
        // Lines as this host's /proc/self/mounts prints them (v1 memory + cgroup2 unified), plus an escaped path.
        let m = memory_mounts(
            b"cgroup2 /sys/fs/cgroup/unified cgroup2 rw,nosuid,nodev,noexec,relatime 0 0\n\
cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,nosuid,nodev,noexec,relatime,cpu,cpuacct 0 0\n\
cgroup /sys/fs/cgroup/memory cgroup rw,nosuid,nodev,noexec,relatime,memory 0 0\n\
cgroup /mnt/my\\040mem cgroup rw,memory 0 0\n\
garbage\n",
        );
        assert_eq!(
            m,
            vec![
                CgroupMount {
                    version: 1,
                    mount: PathBuf::from("/mnt/my mem")
                },
                CgroupMount {
                    version: 1,
                    mount: PathBuf::from("/sys/fs/cgroup/memory")
                },
                CgroupMount {
                    version: 2,
                    mount: PathBuf::from("/sys/fs/cgroup/unified")
                },
            ]
        );
        assert_eq!(unescape_mount(b"a\\134b\\04"), b"a\\b\\04");
    }

    #[test]
    fn walks_a_tree_and_keeps_raw_values() {
        let d = tempfile::tempdir().expect("tempdir");
        let root = d.path();
        std::fs::write(root.join("memory.failcnt"), "0\n").expect("w");
        std::fs::create_dir_all(root.join("x/y")).expect("mkdir");
        std::fs::write(root.join("x/memory.limit_in_bytes"), "10485760\n").expect("w");
        std::fs::write(
            root.join("x/memory.oom_control"),
            "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n",
        )
        .expect("w");
        let v = memory_json(&[CgroupMount {
            version: 1,
            mount: root.to_path_buf(),
        }]);
        let cg = &v["hierarchies"][0]["cgroups"];
        assert_eq!(cg["/"]["memory.failcnt"], "0");
        assert_eq!(cg["/x"]["memory.limit_in_bytes"], "10485760");
        assert_eq!(
            cg["/x"]["memory.oom_control"],
            "oom_kill_disable 0\nunder_oom 0\noom_kill 1"
        );
        assert!(cg.get("/x/y").is_none(), "no memory files there");
        assert_eq!(v["walked"], 3);
        assert_eq!(v["cut"], false);
    }

    /// A cgroup v1 memory tree as Docker (cgroupfs driver, `/docker/<id>`) and the kubelet (`kubepods/burstable/
    /// pod<uid>/<id>`, the systemd driver's `kubepods.slice/…`) lay it out, beside many ordinary cgroups that
    /// sort before and after them.
    fn container_tree(root: &Path) -> Vec<String> {
        let id = "ab".repeat(32);
        let nested = vec![
            format!("docker/{id}"),
            format!("kubepods/burstable/pod0f1e2d3c-aaaa-bbbb-cccc-000000000001/{id}"),
            format!("kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0f1e.slice/cri-containerd-{id}.scope"),
            format!("system.slice/docker-{id}.scope"),
        ];
        for d in &nested {
            std::fs::create_dir_all(root.join(d)).expect("mkdir");
            std::fs::write(root.join(d).join("memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n").expect("w");
        }
        for i in 0..40 {
            // "aaa-…" sorts before every container cgroup, "zzz-…" after.
            for p in ["aaa", "zzz"] {
                let d = root.join(format!("{p}-{i:02}"));
                std::fs::create_dir_all(&d).expect("mkdir");
                std::fs::write(d.join("memory.failcnt"), "0\n").expect("w");
            }
        }
        nested.into_iter().map(|d| format!("/{d}")).collect()
    }

    #[test]
    fn nested_container_cgroups_are_walked() {
        let d = tempfile::tempdir().expect("tempdir");
        let want = container_tree(d.path());
        let v = memory_json(&[CgroupMount { version: 1, mount: d.path().to_path_buf() }]);
        let cg = &v["hierarchies"][0]["cgroups"];
        for w in &want {
            assert_eq!(cg[w.as_str()]["memory.oom_control"], "oom_kill_disable 0\nunder_oom 0\noom_kill 1", "{w}");
        }
        assert_eq!(v["cut"], false);
    }

    #[test]
    fn the_cut_at_the_limit_never_drops_container_cgroups_first() {
        // Regression: the walk went in name order, so on a host with more cgroups than the limit everything
        // after the cut point (kubepods, system.slice/docker-*.scope) was dropped while "aaa-*" was kept.
        let d = tempfile::tempdir().expect("tempdir");
        let want = container_tree(d.path());
        // Root + docker(2) + kubepods(4) + kubepods.slice(4) + system.slice(2) = 13 container-side cgroups.
        let v = memory_json_limited(&[CgroupMount { version: 1, mount: d.path().to_path_buf() }], 20);
        assert_eq!(v["cut"], true);
        assert_eq!(v["limit"], 20);
        let cg = v["hierarchies"][0]["cgroups"].as_object().expect("map");
        for w in &want {
            assert!(cg.contains_key(w), "{w} dropped by the cut: {:?}", cg.keys().collect::<Vec<_>>());
        }
        assert!(!cg.keys().any(|k| k.starts_with("/zzz")), "ordinary cgroups come after");
    }
}
