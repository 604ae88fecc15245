//! The recorder's small process table: what exec and fork events (and the exec program, or `/proc`, at exec
//! time) told it about each process, so a record can name a sender that exited milliseconds after its `kill`.
//! Bounded: exited processes are forgotten first, oldest first.

use std::collections::{HashMap, VecDeque};
use std::path::Path;

use coroner_schemas::watch::{Ancestor, FieldFrom, ProcInfo};

/// Parents named in a record, at most (the contract's bound).
pub const MAX_PARENTS: usize = 8;

/// What the table knows of one thread group.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Entry {
    pub parent: Option<i64>,
    pub comm: Option<String>,
    pub exe: Option<String>,
    pub argv: Option<Vec<String>>,
    pub uid: Option<u32>,
    pub loginuid: Option<u32>,
    pub cgroup: Option<String>,
    /// Trace clock of its group exit, once seen.
    pub exited_ns: Option<u64>,
    /// Whose uid, loginuid and cgroup these are.
    pub ids: Ids,
    generation: u64,
}

/// Where an entry's uid, loginuid and cgroup came from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Ids {
    /// Its own: `/proc` at the scan or at exec.
    #[default]
    Own,
    /// Its parent's, copied at fork; `/proc` not tried yet.
    Inherited,
    /// Its own, read from `/proc` when a record first named it (once: a signal storm's target is not re-read).
    ReadLater,
    /// Its parent's: `/proc` was tried and the process was gone.
    ParentsOnly,
}

/// What `/proc/PID` gave, read at exec time or on demand.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProcRead {
    pub ppid: Option<i64>,
    pub comm: Option<String>,
    pub exe: Option<String>,
    pub argv: Option<Vec<String>>,
    pub uid: Option<u32>,
    pub loginuid: Option<u32>,
    pub cgroup: Option<String>,
    pub tgid: Option<i64>,
}

/// Reads `/proc/PID` (under `proc`): status (PPid, Uid, Tgid, Name), cmdline, exe, loginuid, cgroup. Missing
/// pieces stay `None` (the process may be gone).
pub fn read_proc(proc: &Path, pid: i64) -> ProcRead {
    let Some(d) = PidDir::open(proc, pid) else { return ProcRead::default() };
    let mut buf = Vec::with_capacity(4096);
    // cmdline and exe first: a short-lived process (a `kill` in a script) may be gone a millisecond later,
    // and its status (uid, parent) can still be read while it is a zombie; its argv cannot.
    let argv = cmdline_at(&d, &mut buf);
    let exe = rustix::fs::readlinkat(&d.0, "exe", Vec::new()).ok().map(|p| String::from_utf8_lossy(p.as_bytes()).into_owned());
    ProcRead { argv, exe, ..ids_at(&d, &mut buf) }
}

/// `/proc/PID/cmdline` as argv (`None` when it cannot be read or is empty: a kernel thread or a zombie).
pub fn read_cmdline(proc: &Path, pid: i64) -> Option<Vec<String>> {
    let d = PidDir::open(proc, pid)?;
    cmdline_at(&d, &mut Vec::with_capacity(4096))
}

fn cmdline_at(d: &PidDir, buf: &mut Vec<u8>) -> Option<Vec<String>> {
    if !d.read("cmdline", buf) || buf.is_empty() {
        return None;
    }
    Some(split_argv(buf))
}

/// argv from the NUL-separated strings the kernel keeps between `mm->arg_start` and `arg_end` (what
/// `cmdline` shows and what the exec argv program copies).
pub fn split_argv(b: &[u8]) -> Vec<String> {
    let body = b.strip_suffix(b"\0").unwrap_or(b);
    body.split(|&c| c == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect()
}

/// What the recorder reads of a process at its exec: status (PPid, Uid, Tgid, Name), loginuid and cgroup,
/// but not the exe (the exec event names it) nor cmdline (the argv probe's line, or [`read_cmdline`] when
/// none came). Two of the five `/proc` reads a process cost the recorder, and the cmdline one takes the new
/// process's mmap lock while its loader maps the libraries.
///
/// `/proc/PID` is looked up once: a process already gone (most of a busy spell's, read up to 10 ms after their
/// exec) costs one failed open instead of three, and a live one's files are opened relative to it.
pub fn read_ids(proc: &Path, pid: i64) -> ProcRead {
    match PidDir::open(proc, pid) {
        Some(d) => ids_at(&d, &mut Vec::with_capacity(4096)),
        None => ProcRead::default(),
    }
}

fn ids_at(d: &PidDir, buf: &mut Vec<u8>) -> ProcRead {
    let mut r = ProcRead::default();
    if d.read("status", buf) {
        for line in String::from_utf8_lossy(buf).lines() {
            let (k, v) = line.split_once(':').unwrap_or((line, ""));
            let v = v.trim();
            match k {
                "Name" => r.comm = Some(v.to_owned()),
                "PPid" => r.ppid = v.parse().ok(),
                "Tgid" => r.tgid = v.parse().ok(),
                "Uid" => r.uid = v.split_whitespace().next().and_then(|u| u.parse().ok()),
                _ => {}
            }
        }
    }
    if d.read("loginuid", buf) {
        r.loginuid = std::str::from_utf8(buf).ok().and_then(|s| s.trim().parse::<u32>().ok()).filter(|&u| u != u32::MAX);
    }
    if d.read("cgroup", buf) {
        r.cgroup = pick_cgroup(&String::from_utf8_lossy(buf));
    }
    r
}

/// `/proc/PID`, opened once (`O_PATH`): its files are opened relative to it, so the pid is looked up once, and
/// every file read is that same process's (were the pid reused meanwhile, the opens fail; they never reach
/// the new process).
struct PidDir(rustix::fd::OwnedFd);

impl PidDir {
    fn open(proc: &Path, pid: i64) -> Option<PidDir> {
        use rustix::fs::{Mode, OFlags};
        rustix::fs::open(proc.join(pid.to_string()), OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()).ok().map(PidDir)
    }

    /// The whole of a small file into `buf` (cleared first); false when it cannot be opened or read. Read in
    /// 4 KiB pieces until a read comes back short: `/proc`'s seq files fill a read as far as they have text,
    /// so a short read is their end (one `read` a file instead of `read_to_string`'s statx, read and read).
    fn read(&self, name: &str, buf: &mut Vec<u8>) -> bool {
        use rustix::fs::{Mode, OFlags};
        buf.clear();
        let Ok(fd) = rustix::fs::openat(&self.0, name, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()) else { return false };
        let mut chunk = [0u8; 4096];
        loop {
            match rustix::io::read(&fd, &mut chunk) {
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n.min(chunk.len())]);
                    if n < chunk.len() {
                        return true;
                    }
                }
                Err(rustix::io::Errno::INTR) => {}
                Err(_) => return false,
            }
        }
    }
}

/// The cgroup path to show: v2's `0::/path`, else v1's memory controller line, else the first line's path.
pub fn pick_cgroup(text: &str) -> Option<String> {
    let (mut memory, mut first) = (None, None);
    for line in text.lines() {
        let mut it = line.splitn(3, ':');
        let (Some(id), Some(ctl), Some(path)) = (it.next(), it.next(), it.next()) else { continue };
        if id == "0" && ctl.is_empty() {
            return Some(path.to_owned());
        }
        if ctl.split(',').any(|c| c == "memory") {
            memory = Some(path.to_owned());
        }
        first.get_or_insert_with(|| path.to_owned());
    }
    memory.or(first)
}

pub struct Table {
    procs: HashMap<i64, Entry>,
    /// Threads seen in trace headers: tid → tgid (bounded like the table).
    threads: HashMap<i64, i64>,
    inserted: VecDeque<(i64, u64)>,
    exited: VecDeque<(i64, u64)>,
    thread_order: VecDeque<i64>,
    next_gen: u64,
    cap: usize,
}

impl Table {
    pub fn new(cap: usize) -> Table {
        Table {
            procs: HashMap::new(),
            threads: HashMap::new(),
            inserted: VecDeque::new(),
            exited: VecDeque::new(),
            thread_order: VecDeque::new(),
            next_gen: 0,
            cap: cap.max(16),
        }
    }

    pub fn len(&self) -> usize {
        self.procs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.procs.is_empty()
    }

    pub fn get(&self, pid: i64) -> Option<&Entry> {
        self.procs.get(&pid)
    }

    fn insert(&mut self, pid: i64, mut e: Entry) {
        self.next_gen += 1;
        e.generation = self.next_gen;
        self.procs.insert(pid, e);
        self.inserted.push_back((pid, self.next_gen));
        self.evict();
    }

    /// Forgets exited processes first, then the oldest inserted, until within the cap.
    fn evict(&mut self) {
        while self.procs.len() > self.cap {
            let victim = self.exited.pop_front().or_else(|| self.inserted.pop_front());
            let Some((pid, gen)) = victim else { break };
            if self.procs.get(&pid).is_some_and(|e| e.generation == gen) {
                self.procs.remove(&pid);
            }
        }
        // The queues hold stale generations too; keep them from growing past a few times the cap.
        if self.inserted.len() > 4 * self.cap {
            let procs = &self.procs;
            self.inserted.retain(|(p, g)| procs.get(p).is_some_and(|e| e.generation == *g));
        }
        if self.exited.len() > 4 * self.cap {
            let procs = &self.procs;
            self.exited.retain(|(p, g)| procs.get(p).is_some_and(|e| e.generation == *g));
        }
        while self.thread_order.len() > self.cap {
            if let Some(t) = self.thread_order.pop_front() {
                self.threads.remove(&t);
            }
        }
    }

    /// A process that existed before the recorder started (from a `/proc` scan).
    pub fn seed(&mut self, pid: i64, r: ProcRead) {
        let e = Entry {
            parent: r.ppid,
            comm: r.comm,
            exe: r.exe,
            argv: r.argv,
            uid: r.uid,
            loginuid: r.loginuid,
            cgroup: r.cgroup,
            ..Entry::default()
        };
        self.insert(pid, e);
    }

    /// A trace header showed thread `tid` of group `tgid`.
    pub fn saw_thread(&mut self, tid: i64, tgid: i64) {
        // The trace header's tgid comes from ftrace's pid → tgid cache, which can still hold a reused pid's old
        // group: a process seen exec'ing (and not yet exiting) leads its own group, whatever the header says.
        if self.leads(tid) {
            return;
        }
        if tid != tgid && self.threads.insert(tid, tgid).is_none() {
            self.thread_order.push_back(tid);
            // A fork event made an entry for this thread as if it were a process: drop it.
            if self.procs.get(&tid).is_some_and(|e| e.parent == Some(tgid) && e.exe.is_none()) {
                self.procs.remove(&tid);
            }
            self.evict();
        }
    }

    /// The thread group of `tid`, when known.
    pub fn tgid_of(&self, tid: i64) -> Option<i64> {
        if self.leads(tid) {
            return Some(tid);
        }
        self.threads.get(&tid).copied()
    }

    /// Whether `pid` exec'd and has not exited since: after exec(2) the calling thread leads its group.
    pub fn leads(&self, pid: i64) -> bool {
        self.procs.get(&pid).is_some_and(|e| e.exe.is_some() && e.exited_ns.is_none())
    }

    /// A thread that exited: its id may come back as a process's.
    pub fn thread_exited(&mut self, tid: i64) {
        self.threads.remove(&tid);
    }

    /// `sched_process_fork`: the child starts as a copy of its parent (same exe, argv, ids) until it execs.
    pub fn fork(&mut self, parent: i64, child: i64, child_comm: &str) {
        let p = self.procs.get(&parent).cloned().unwrap_or_default();
        let e = Entry { parent: Some(parent), comm: Some(child_comm.to_owned()), exited_ns: None, ids: Ids::Inherited, ..p };
        self.insert(child, e);
    }

    /// `sched_process_exec` of `pid` running `filename`, with what `/proc` showed right after (when the
    /// process was still there).
    pub fn exec(&mut self, pid: i64, filename: &str, r: ProcRead) {
        self.threads.remove(&pid);
        let old = self.procs.get(&pid).cloned().unwrap_or_default();
        let e = Entry {
            parent: old.parent.or(r.ppid),
            comm: r.comm.or(old.comm),
            exe: Some(filename.to_owned()),
            // argv from before the exec would be the old program's: never keep it.
            argv: r.argv,
            uid: r.uid.or(old.uid),
            loginuid: r.loginuid.or(old.loginuid),
            ids: if r.uid.is_none() && matches!(old.ids, Ids::Inherited | Ids::ParentsOnly) { Ids::Inherited } else { Ids::Own },
            cgroup: r.cgroup.or(old.cgroup),
            exited_ns: None,
            generation: 0,
        };
        self.insert(pid, e);
    }

    /// The argv probe's arguments for `pid` (after its exec): kept unless `/proc` already gave the whole argv.
    pub fn argv(&mut self, pid: i64, args: Vec<String>) {
        if let Some(e) = self.procs.get_mut(&pid) {
            if e.argv.is_none() {
                e.argv = Some(args);
            }
        }
    }

    /// `/proc/PID/cmdline` read after the exec: the whole argv, over a probe's cut-short one.
    pub fn cmdline(&mut self, pid: i64, args: Vec<String>) {
        if let Some(e) = self.procs.get_mut(&pid) {
            e.argv = Some(args);
        }
    }

    /// The group of `pid` died at `ts_ns`: kept for lookups until evicted, before the living.
    pub fn exit(&mut self, pid: i64, ts_ns: u64) {
        if let Some(e) = self.procs.get_mut(&pid) {
            e.exited_ns = Some(ts_ns);
            self.exited.push_back((pid, e.generation));
        }
        self.evict();
    }

    /// A record's view of `pid`: the table's fields marked `Table`, filled from `/proc` (marked `Proc`) where
    /// the table has nothing and the process is still there; parents followed the same way. Ids copied from
    /// the parent give way to the process's own, read once while it is still there, else are marked `Parent`.
    pub fn describe(&mut self, proc: &Path, pid: i64) -> ProcInfo {
        let mut info = ProcInfo { pid, ..ProcInfo::default() };
        let live = if self.procs.get(&pid).is_none_or(|e| e.exe.is_none() || e.argv.is_none() || e.ids == Ids::Inherited) {
            read_proc(proc, pid)
        } else {
            ProcRead::default()
        };
        if let Some(e) = self.procs.get_mut(&pid).filter(|e| e.ids == Ids::Inherited) {
            if live.uid.is_some() {
                (e.uid, e.loginuid, e.cgroup) = (live.uid, live.loginuid, live.cgroup.clone());
                e.ids = Ids::ReadLater;
            } else {
                e.ids = Ids::ParentsOnly;
            }
        }
        let e = self.procs.get(&pid);
        /// The first candidate that has a value, and where it came from.
        fn pick<T, const N: usize>(info: &mut ProcInfo, name: &str, candidates: [(Option<T>, FieldFrom); N]) -> Option<T> {
            let (v, from) = candidates.into_iter().find_map(|(v, f)| v.map(|v| (v, f)))?;
            info.from.insert(name.to_owned(), from);
            Some(v)
        }
        info.comm = pick(&mut info, "comm", [(e.and_then(|e| e.comm.clone()), FieldFrom::Table), (live.comm, FieldFrom::Proc)]);
        info.exe = pick(&mut info, "exe", [(e.and_then(|e| e.exe.clone()), FieldFrom::Table), (live.exe, FieldFrom::Proc)]);
        info.argv = pick(&mut info, "argv", [(e.and_then(|e| e.argv.clone()), FieldFrom::Table), (live.argv, FieldFrom::Proc)]);
        let ids_from = match e.map(|e| e.ids) {
            Some(Ids::ReadLater) => FieldFrom::Proc,
            Some(Ids::Inherited | Ids::ParentsOnly) => FieldFrom::Parent,
            Some(Ids::Own) | None => FieldFrom::Table,
        };
        info.uid = pick(&mut info, "uid", [(e.and_then(|e| e.uid), ids_from), (live.uid, FieldFrom::Proc)]);
        info.loginuid = pick(&mut info, "loginuid", [(e.and_then(|e| e.loginuid), ids_from), (live.loginuid, FieldFrom::Proc)]);
        info.cgroup = pick(&mut info, "cgroup", [(e.and_then(|e| e.cgroup.clone()), ids_from), (live.cgroup, FieldFrom::Proc)]);
        let (parents, from) = self.parents(proc, pid, e.and_then(|e| e.parent).map(|p| (p, FieldFrom::Table)).or(live.ppid.map(|p| (p, FieldFrom::Proc))));
        if !parents.is_empty() {
            info.parents = parents;
            info.from.insert("parents".to_owned(), from);
        }
        info
    }

    /// The chain of ancestors from `first`; `from` is `Proc` if any link came from `/proc`.
    fn parents(&self, proc: &Path, pid: i64, mut next: Option<(i64, FieldFrom)>) -> (Vec<Ancestor>, FieldFrom) {
        let mut out: Vec<Ancestor> = Vec::new();
        let mut from = FieldFrom::Table;
        let mut seen = vec![pid];
        while let Some((p, f)) = next {
            if p <= 0 || out.len() >= MAX_PARENTS || seen.contains(&p) {
                break;
            }
            seen.push(p);
            if f == FieldFrom::Proc {
                from = FieldFrom::Proc;
            }
            match self.procs.get(&p) {
                Some(e) => {
                    out.push(Ancestor { pid: p, comm: e.comm.clone(), exe: e.exe.clone() });
                    next = e.parent.map(|q| (q, FieldFrom::Table));
                }
                None => {
                    let r = read_proc(proc, p);
                    if r.comm.is_some() || r.exe.is_some() {
                        from = FieldFrom::Proc;
                    }
                    out.push(Ancestor { pid: p, comm: r.comm, exe: r.exe });
                    next = r.ppid.map(|q| (q, FieldFrom::Proc));
                }
            }
        }
        (out, from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nowhere() -> &'static Path {
        Path::new("/nonexistent-proc")
    }

    #[test]
    fn a_sender_that_exited_is_still_named_with_its_chain() {
        let mut t = Table::new(100);
        t.seed(100, ProcRead { ppid: Some(1), comm: Some("tester".into()), exe: Some("/usr/bin/tester".into()), argv: Some(vec!["tester".into()]), uid: Some(0), loginuid: Some(1000), ..ProcRead::default() });
        t.fork(100, 200, "tester");
        t.exec(200, "/usr/bin/bash", ProcRead { argv: Some(vec!["bash".into(), "-c".into(), "kill -9 5".into()]), comm: Some("bash".into()), uid: Some(0), loginuid: Some(1000), ..ProcRead::default() });
        t.exit(200, 5);
        let i = t.describe(nowhere(), 200);
        assert_eq!(i.exe.as_deref(), Some("/usr/bin/bash"));
        assert_eq!(i.argv.as_ref().map(|a| a.join(" ")), Some("bash -c kill -9 5".into()));
        assert_eq!(i.loginuid, Some(1000));
        // pid 1 is known only as 100's parent (this test's /proc has nothing): named by pid alone.
        assert_eq!(i.parents.iter().map(|a| a.pid).collect::<Vec<_>>(), vec![100, 1]);
        assert_eq!(i.parents[0].exe.as_deref(), Some("/usr/bin/tester"));
        assert_eq!(i.from.get("exe"), Some(&FieldFrom::Table));
        assert_eq!(i.from.get("parents"), Some(&FieldFrom::Table));
    }

    #[test]
    fn ids_copied_at_fork_say_so_unless_the_process_was_read() {
        let mut t = Table::new(100);
        t.seed(10, ProcRead { exe: Some("/usr/bin/sudo".into()), uid: Some(0), loginuid: Some(1000), cgroup: Some("/user.slice".into()), ..ProcRead::default() });
        // sudo's child became uid 1001 and ran kill, gone before /proc was read after its exec.
        t.fork(10, 11, "sudo");
        t.exec(11, "/usr/bin/kill", ProcRead::default());
        t.exit(11, 7);
        let i = t.describe(nowhere(), 11);
        assert_eq!((i.uid, i.loginuid, i.cgroup.as_deref()), (Some(0), Some(1000), Some("/user.slice")));
        for k in ["uid", "loginuid", "cgroup"] {
            assert_eq!(i.from.get(k), Some(&FieldFrom::Parent), "{k}: {:?}", i.from);
        }
        assert_eq!(i.from.get("exe"), Some(&FieldFrom::Table));
        // Read after its exec: its own ids, from the table.
        t.fork(10, 12, "sudo");
        t.exec(12, "/usr/bin/kill", ProcRead { uid: Some(1001), loginuid: Some(1000), ..ProcRead::default() });
        let i = t.describe(nowhere(), 12);
        assert_eq!(i.uid, Some(1001));
        assert_eq!(i.from.get("uid"), Some(&FieldFrom::Table));
        // Still running when described: /proc's own ids win over the copied ones (this test process stands in).
        let me = i64::from(std::process::id());
        t.fork(10, me, "sudo");
        let i = t.describe(Path::new("/proc"), me);
        assert_eq!(i.from.get("uid"), Some(&FieldFrom::Proc), "{:?}", i.from);
        assert_eq!(i.uid, Some(rustix::process::getuid().as_raw()));
    }

    #[test]
    fn a_forked_childs_own_ids_are_read_once_not_at_every_record() {
        // A fake /proc with pid 21's status; it vanishes after the first record names 21.
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::create_dir(dir.path().join("21")).expect("mkdir");
        std::fs::write(dir.path().join("21/status"), "Name:\tworker\nTgid:\t21\nPPid:\t20\nUid:\t33\t33\t33\t33\n").expect("status");
        let mut t = Table::new(100);
        t.seed(20, ProcRead { exe: Some("/usr/sbin/nginx".into()), argv: Some(vec!["nginx".into()]), uid: Some(0), ..ProcRead::default() });
        t.fork(20, 21, "nginx");
        let first = t.describe(dir.path(), 21);
        assert_eq!((first.uid, first.from.get("uid")), (Some(33), Some(&FieldFrom::Proc)));
        std::fs::remove_dir_all(dir.path().join("21")).expect("rm");
        // Kept from the first read: a storm's target is not read again for each signal.
        let again = t.describe(dir.path(), 21);
        assert_eq!((again.uid, again.from.get("uid")), (Some(33), Some(&FieldFrom::Proc)));
    }

    #[test]
    fn a_forked_child_inherits_but_not_the_old_argv_after_exec() {
        let mut t = Table::new(100);
        t.seed(10, ProcRead { exe: Some("/bin/a".into()), argv: Some(vec!["a".into()]), ..ProcRead::default() });
        t.fork(10, 11, "a");
        assert_eq!(t.get(11).and_then(|e| e.exe.clone()).as_deref(), Some("/bin/a"));
        t.exec(11, "/bin/b", ProcRead::default());
        assert_eq!(t.get(11).and_then(|e| e.argv.clone()), None);
        assert_eq!(t.get(11).and_then(|e| e.parent), Some(10));
    }

    #[test]
    fn the_table_stays_within_its_cap_forgetting_the_exited_first() {
        let mut t = Table::new(16);
        t.seed(1, ProcRead::default());
        for p in 2..10_000 {
            t.fork(1, p, "x");
            if p % 2 == 0 {
                t.exit(p, p as u64);
            }
            assert!(t.len() <= 16);
        }
        assert!(t.inserted.len() <= 4 * 16 + 1);
        assert!(t.get(9_999).is_some(), "the newest living process is kept");
    }

    /// Seen flaking the live test: ftrace's header gave a new process the group of an old thread with its pid.
    /// A pid that exec'd leads its own group until it exits; a thread's id is forgotten when the thread exits.
    #[test]
    fn a_stale_header_tgid_does_not_make_a_process_a_thread() {
        let mut t = Table::new(100);
        t.saw_thread(13180, 13178);
        assert_eq!(t.tgid_of(13180), Some(13178));
        t.exec(13180, "/tmp/coroner-victim", ProcRead::default());
        assert_eq!(t.tgid_of(13180), Some(13180));
        t.saw_thread(13180, 13178);
        assert_eq!(t.tgid_of(13180), Some(13180), "a stale header after the exec");
        t.exit(13180, 5);
        t.saw_thread(13180, 13178);
        assert_eq!(t.tgid_of(13180), Some(13178), "after its exit the id may be a thread's again");
        t.thread_exited(13180);
        assert_eq!(t.tgid_of(13180), None);
    }

    #[test]
    fn parent_loops_end() {
        let mut t = Table::new(100);
        t.fork(2, 1, "a");
        t.fork(1, 2, "b");
        let i = t.describe(nowhere(), 1);
        assert_eq!(i.parents.len(), 1);
    }

    #[test]
    fn cgroup_lines() {
        assert_eq!(pick_cgroup("0::/user.slice/x.scope\n").as_deref(), Some("/user.slice/x.scope"));
        assert_eq!(pick_cgroup("5:cpu,cpuacct:/a\n4:memory:/docker/1\n").as_deref(), Some("/docker/1"));
        assert_eq!(pick_cgroup("garbage"), None);
    }

    /// The reads through one `/proc/PID` handle: a gone process gives nothing, a file longer than one 4 KiB
    /// read is read whole, and a comm that is not UTF-8 no longer costs the uid (read_to_string dropped the
    /// whole status).
    #[test]
    fn ids_are_read_through_one_pid_dir_and_whole() {
        let d = tempfile::tempdir().expect("tempdir");
        let dir = d.path().join("77");
        std::fs::create_dir(&dir).expect("mkdir");
        let mut status = b"Name:\tk\xffll\nTgid:\t77\nPPid:\t7\n".to_vec();
        status.extend_from_slice(b"Uid:\t1001\t1001\t1001\t1001\n");
        std::fs::write(dir.join("status"), status).expect("status");
        std::fs::write(dir.join("loginuid"), "1000").expect("loginuid");
        // The memory controller's line only after 4 KiB of others: found only if the file is read whole.
        let mut cgroup: String = (0..400).map(|i| format!("{}:ctl{i}:/other\n", 100 + i)).collect();
        assert!(cgroup.len() > 4096);
        cgroup.push_str("4:memory:/docker/abc\n");
        std::fs::write(dir.join("cgroup"), cgroup).expect("cgroup");
        std::fs::write(dir.join("cmdline"), b"kill\0-9\0").expect("cmdline");
        let r = read_ids(d.path(), 77);
        assert_eq!((r.uid, r.loginuid, r.ppid, r.tgid), (Some(1001), Some(1000), Some(7), Some(77)));
        assert_eq!(r.comm.as_deref(), Some("k\u{fffd}ll"));
        assert_eq!(r.cgroup.as_deref(), Some("/docker/abc"));
        assert_eq!(r.argv, None, "cmdline is not read at exec");
        assert_eq!(read_cmdline(d.path(), 77), Some(vec!["kill".to_owned(), "-9".to_owned()]));
        assert_eq!(read_proc(d.path(), 77).argv.map(|a| a.len()), Some(2));
        assert_eq!(read_ids(d.path(), 78), ProcRead::default(), "a pid with no directory");
        assert_eq!(read_cmdline(d.path(), 78), None);
    }
}
