//! cgroup v2 ids to paths, for the exec program's cgroup id ([`super::bpf`]). A cgroup's id is its directory's
//! inode number on the cgroup2 mount (kernfs; `bpf_get_current_cgroup_id`), so one walk of the mount's
//! directories (names and inode numbers from `getdents`, no `stat`) maps every id to the path `/proc/PID/cgroup`
//! shows on its `0::` line. An id not in the map walks again, at most every [`RESCAN`]; until then `/proc`
//! is read instead.

use std::collections::HashMap;
use std::os::unix::fs::{DirEntryExt, MetadataExt};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The least time between two walks.
pub const RESCAN: Duration = Duration::from_millis(100);
/// Directories one walk visits, at most (a host with more cgroups maps the rest from `/proc`).
const MAX_DIRS: usize = 100_000;
/// Nesting one walk follows, at most.
const MAX_DEPTH: usize = 64;

pub struct CgroupPaths {
    root: PathBuf,
    paths: HashMap<u64, String>,
    walked: Option<Instant>,
}

impl CgroupPaths {
    /// The cgroup2 mount named in `mountinfo` (`/proc/self/mountinfo`'s text), if there is one; `None` on a
    /// host with cgroup v1 alone, where the program's id is the unused default hierarchy's.
    pub fn from_mountinfo(mountinfo: &str) -> Option<CgroupPaths> {
        let root = mountinfo.lines().find_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            (post.split(' ').next()? == "cgroup2").then(|| unescape(pre.split(' ').nth(4)?))?
        })?;
        Some(CgroupPaths { root: PathBuf::from(root), paths: HashMap::new(), walked: None })
    }

    /// The path of cgroup `id` (`/` for the root), walking the mount again if `id` is new and the last walk
    /// is older than [`RESCAN`].
    pub fn path(&mut self, id: u64) -> Option<String> {
        if id == 0 {
            return None;
        }
        if let Some(p) = self.paths.get(&id) {
            return Some(p.clone());
        }
        if self.walked.is_some_and(|t| t.elapsed() < RESCAN) {
            return None;
        }
        self.walk();
        self.paths.get(&id).cloned()
    }

    fn walk(&mut self) {
        self.walked = Some(Instant::now());
        self.paths.clear();
        let Ok(meta) = std::fs::metadata(&self.root) else { return };
        self.paths.insert(meta.ino(), "/".to_owned());
        let mut todo = vec![(self.root.clone(), String::new(), 0usize)];
        while let Some((dir, rel, depth)) = todo.pop() {
            // A cgroup removed meanwhile is left out; the next miss walks again.
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for e in entries.flatten() {
                if self.paths.len() >= MAX_DIRS {
                    return;
                }
                if !e.file_type().is_ok_and(|t| t.is_dir()) {
                    continue;
                }
                let path = format!("{rel}/{}", e.file_name().to_string_lossy());
                self.paths.insert(e.ino(), path.clone());
                if depth + 1 < MAX_DEPTH {
                    todo.push((e.path(), path, depth + 1));
                }
            }
        }
    }

    /// A map of the tree at `root`, for tests.
    #[cfg(test)]
    pub(super) fn at(root: &std::path::Path) -> CgroupPaths {
        CgroupPaths { root: root.to_owned(), paths: HashMap::new(), walked: None }
    }
}

/// mountinfo's octal escapes (`\040` for a space, `\011`, `\012`, `\134`) undone.
fn unescape(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let code = b.get(i + 1..i + 4).filter(|d| b[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        if let Some(v) = code.and_then(|d| u8::try_from(d.iter().fold(0u32, |v, c| v * 8 + u32::from(c - b'0'))).ok()) {
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cgroup2_mount_is_found_in_mountinfo() {
        // Lines in /proc/self/mountinfo's layout (proc(5)): the mount point is field 5, the type follows " - ".
        let v1 = "30 25 0:26 / /sys/fs/cgroup/memory rw,nosuid shared:10 - cgroup cgroup rw,memory\n";
        assert!(CgroupPaths::from_mountinfo(v1).is_none(), "cgroup v1 alone: no map");
        let both = format!("{v1}35 25 0:30 / /sys/fs/cgroup/un\\040ified rw,nosuid shared:11 - cgroup2 cgroup2 rw\n");
        let c = CgroupPaths::from_mountinfo(&both).expect("cgroup2");
        assert_eq!(c.root, PathBuf::from("/sys/fs/cgroup/un ified"), "escapes undone");
        assert!(CgroupPaths::from_mountinfo("garbage\n\n - \n").is_none());
        assert_eq!(unescape("a\\777b\\04").as_deref(), Some("a\\777b\\04"), "not a byte, or cut short: kept as it is");
    }

    #[test]
    fn ids_map_to_paths_and_new_ones_walk_again() {
        // A directory tree stands in for the mount: the walk keys on inode numbers, whatever the filesystem.
        let d = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(d.path().join("user.slice/user-0.slice")).expect("mkdir");
        std::fs::write(d.path().join("user.slice/cgroup.procs"), "").expect("a file is no cgroup");
        let ino = |p: &str| std::fs::metadata(d.path().join(p)).expect("stat").ino();
        let mut c = CgroupPaths::at(d.path());
        assert_eq!(c.path(ino("")).as_deref(), Some("/"));
        assert_eq!(c.path(ino("user.slice/user-0.slice")).as_deref(), Some("/user.slice/user-0.slice"));
        assert_eq!(c.path(ino("user.slice/cgroup.procs")), None, "files are not cgroups");
        assert_eq!(c.path(0), None);
        std::fs::create_dir(d.path().join("system.slice")).expect("mkdir");
        let new = ino("system.slice");
        assert_eq!(c.path(new), None, "a new cgroup within RESCAN of the last walk: /proc is read instead");
        c.walked = c.walked.map(|t| t - RESCAN);
        assert_eq!(c.path(new).as_deref(), Some("/system.slice"), "then found by the next walk");
    }

    #[test]
    fn this_hosts_cgroups_match_proc() {
        // Our own cgroup: its id from the mount's inode numbers gives the path /proc/self/cgroup shows.
        let mi = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
        let Some(mut c) = CgroupPaths::from_mountinfo(&mi) else {
            panic!("this machine mounts cgroup2 (memory cgroups are used by the OOM tests)");
        };
        let own = std::fs::read_to_string("/proc/self/cgroup").expect("cgroup");
        let path = super::super::table::pick_cgroup(&own).expect("a 0:: line");
        let ino = std::fs::metadata(c.root.join(path.trim_start_matches('/'))).expect("stat").ino();
        assert_eq!(c.path(ino), Some(path));
    }
}
