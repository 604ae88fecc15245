//! The signal recorder end to end, as issue 13 asks it be proven (root; CI runs it as root): with no audit
//! rule of this test's, `coroner-collect watch` runs while deaths are staged — a bash script that sends SIGKILL
//! and exits at once, a copy of `kill` named like a system daemon that sends SIGTERM, `timeout(1)` ending its
//! child, and two memory-cgroup OOM kills, the first pushed out of the kernel's ring buffer before collection
//! (the buffer is flooded through /dev/kmsg: `dmesg -C` would not do, the collector reads /dev/kmsg, which a
//! clear does not touch) — then this host is collected and the report must name each real sender (pid, exe,
//! parent chain, this test among the parents) from the recorder's records, and find both OOM kills.
//!
//! Every process is started by this test and waited for or killed by its PID; the recorder's state directory
//! is put back as it was (files it did not hold are removed) and the cgroup removed, also on panic.
//! Needs the release collector (`make test` builds it first), or CORONER_COLLECT=path.

#[path = "common/live.rs"]
mod live;
use live::collector;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const STATE: &str = "/var/lib/coroner";
const DEVKMSG: &str = "/proc/sys/kernel/printk_devkmsg";

/// The records /dev/kmsg holds now, as `(seq, text)`.
fn kmsg_records() -> Vec<(u64, String)> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = fs::OpenOptions::new().read(true).custom_flags(0o4000 /* O_NONBLOCK */).open("/dev/kmsg").expect("open /dev/kmsg");
    let mut out = Vec::new();
    let mut buf = vec![0u8; 8192];
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                let rec = String::from_utf8_lossy(&buf[..n]).into_owned();
                let seq = rec.split(',').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
                out.push((seq, rec));
            }
            // EPIPE: overwritten while read; go on from the next record.
            Err(e) if e.raw_os_error() == Some(32) => continue,
            Err(_) => break,
        }
    }
    out
}


#[derive(Default)]
struct Guard {
    children: Vec<Child>,
    /// The state directory's paths before the test (`None`: it did not exist).
    state_before: Option<Option<BTreeSet<PathBuf>>>,
    cgroup: Option<PathBuf>,
    dir: Option<PathBuf>,
    /// `kernel.printk_devkmsg` before the flood (it rate-limits writes to /dev/kmsg).
    devkmsg_before: Option<String>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        for c in &mut self.children {
            if let Ok(None) = c.try_wait() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
        if let Some(cg) = &self.cgroup {
            let _ = fs::remove_dir(cg);
        }
        if let Some(v) = &self.devkmsg_before {
            let _ = fs::write(DEVKMSG, format!("{v}\n"));
        }
        if let Some(before) = &self.state_before {
            live::put_back(Path::new(STATE), before.as_ref());
        }
        if let Some(d) = &self.dir {
            if std::env::var_os("CORONER_KEEP_INCIDENT").is_none() {
                let _ = fs::remove_dir_all(d);
            }
        }
    }
}

fn spawn(g: &mut Guard, cmd: &mut Command) -> u32 {
    let c = cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn");
    let pid = c.id();
    g.children.push(c);
    pid
}

/// Waits for this test's child `pid` to end, at most `secs` (then kills it by that pid).
fn wait(g: &mut Guard, pid: u32, secs: u64) -> std::process::ExitStatus {
    live::wait_bounded(g.children.iter_mut().find(|c| c.id() == pid).expect("own child"), secs)
}

fn signal_of(st: &std::process::ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    st.signal()
}

fn must(cmd: &str) {
    let o = Command::new("sh").arg("-c").arg(cmd).output().expect("sh");
    assert!(o.status.success(), "`{cmd}` failed: {}", String::from_utf8_lossy(&o.stderr));
}

#[test]
#[ignore = "needs root"]
fn the_recorder_names_the_real_senders() {
    let me = std::process::id();
    let tag = me % 100_000;
    let mut g = Guard::default();
    let dir = std::env::temp_dir().join(format!("coroner-recorder-{tag}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("mkdir");
    g.dir = Some(dir.clone());
    let d = dir.display().to_string();
    g.state_before = Some(Path::new(STATE).exists().then(|| live::listing(Path::new(STATE))));

    // Victims are copies of sleep under names of their own; the daemon-named sender is a copy of procps kill.
    for name in ["va", "vb", "vc"] {
        must(&format!("cp /bin/sleep {d}/{name}{tag}"));
    }
    must(&format!("cp /usr/bin/kill {d}/systemd-journald"));
    fs::write(dir.join("killer.sh"), "kill -9 \"$1\"\n").expect("script");
    fs::write(dir.join("hog.c"), "#include <stdlib.h>\n#include <string.h>\nint main(void){for(;;){char*p=malloc(1<<20); if(p) memset(p,7,1<<20);}}\n").expect("hog");
    must(&format!("gcc -O0 -o {d}/vhog{tag} {d}/hog.c"));

    let rec = spawn(&mut g, Command::new(collector()).arg("watch"));
    // Ready once this recorder's start record is written.
    let deadline = Instant::now() + Duration::from_secs(30);
    let started = "\"record\":\"start\"";
    let mine = format!("\"pid\":{rec},");
    while !live::listing(&Path::new(STATE).join("watch")).iter().any(|p| {
        fs::read_to_string(p).is_ok_and(|s| s.lines().any(|l| l.contains(started) && l.contains(&mine)))
    }) {
        assert!(Instant::now() < deadline, "the recorder did not start");
        std::thread::sleep(Duration::from_millis(100));
    }

    // 1. A bash script sends SIGKILL and exits at once.
    let va = spawn(&mut g, Command::new(format!("{d}/va{tag}")).arg("300"));
    std::thread::sleep(Duration::from_millis(200));
    let script = spawn(&mut g, Command::new("bash").arg(format!("{d}/killer.sh")).arg(va.to_string()));
    wait(&mut g, script, 10);
    assert_eq!(signal_of(&wait(&mut g, va, 10)), Some(9));

    // 2. A copy of kill named like a system daemon sends SIGTERM.
    let vb = spawn(&mut g, Command::new(format!("{d}/vb{tag}")).arg("300"));
    std::thread::sleep(Duration::from_millis(200));
    let daemon = spawn(&mut g, Command::new(format!("{d}/systemd-journald")).args(["-TERM", &vb.to_string()]));
    wait(&mut g, daemon, 10);
    assert_eq!(signal_of(&wait(&mut g, vb, 10)), Some(15));

    // 3. timeout(1) ends its child (timeout's own pid is the sender; the child's pid is read from the trace).
    let to = spawn(&mut g, Command::new("timeout").args(["0.5", &format!("{d}/vc{tag}"), "300"]));
    assert_eq!(wait(&mut g, to, 20).code(), Some(124), "timeout did not end its child");

    // 4. A memory-cgroup OOM kill (cgroup v1 here; v2 where the host has it): the kernel's.
    let v1 = Path::new("/sys/fs/cgroup/memory");
    let (cg, limit) = if v1.join("memory.limit_in_bytes").exists() {
        (v1.join(format!("coroner-recorder-{tag}")), "memory.limit_in_bytes")
    } else {
        (PathBuf::from(format!("/sys/fs/cgroup/coroner-recorder-{tag}")), "memory.max")
    };
    fs::create_dir(&cg).expect("mkdir cgroup");
    g.cgroup = Some(cg.clone());
    fs::write(cg.join(limit), "48M").expect("limit");
    let hog_in = |g: &mut Guard| {
        let hog = spawn(g, Command::new("sh").arg("-c").arg(format!("echo $$ > {}/cgroup.procs && exec {d}/vhog{tag}", cg.display())));
        assert_eq!(signal_of(&wait(g, hog, 60)), Some(9), "the hog was not OOM-killed");
        hog
    };
    let early_hog = hog_in(&mut g);

    // 5. The ring buffer wraps: the first OOM kill's lines are pushed out by writes to /dev/kmsg (at most
    // 64 MiB of them) until the first record it still holds comes after that kill's.
    let killed = format!("Killed process {early_hog} ");
    let (oom_seq, _) = kmsg_records().into_iter().find(|(_, r)| r.contains(&killed)).expect("the first OOM kill in /dev/kmsg");
    g.devkmsg_before = Some(fs::read_to_string(DEVKMSG).expect("printk_devkmsg").trim().to_owned());
    // The sysctl takes its word with a newline only.
    fs::write(DEVKMSG, "on\n").expect("printk_devkmsg on");
    {
        use std::io::Write;
        let mut k = fs::OpenOptions::new().write(true).open("/dev/kmsg").expect("open /dev/kmsg for writing");
        let line = format!("<7>coroner-recorder-test-{tag}: filler {}\n", "x".repeat(900));
        let mut written = 0usize;
        while kmsg_records().first().is_none_or(|(seq, _)| *seq <= oom_seq) {
            for _ in 0..1024 {
                k.write_all(line.as_bytes()).expect("write /dev/kmsg");
            }
            written += 1024 * line.len();
            assert!(written < 64 << 20, "64 MiB written and the ring buffer still holds seq {oom_seq}");
        }
    }
    if let Some(v) = g.devkmsg_before.take() {
        fs::write(DEVKMSG, format!("{v}\n")).expect("printk_devkmsg back");
    }
    assert!(!kmsg_records().iter().any(|(_, r)| r.contains(&killed)), "the first OOM kill is still in the ring buffer");
    // A second OOM kill after the wrap: in the ring buffer and in the recorder's copy alike.
    let hog = hog_in(&mut g);

    // Let the recorder see each target's exit (its wait is 2 s), then stop it as its unit would.
    std::thread::sleep(Duration::from_millis(2500));
    must(&format!("kill -TERM {rec}"));
    assert!(wait(&mut g, rec, 20).success(), "the recorder did not exit cleanly on SIGTERM");
    assert!(!Path::new("/sys/kernel/tracing/instances/coroner").exists(), "the recorder left its trace instance");

    // Collect this host and render.
    let (_, doc) = live::collect_and_render(&dir);
    let findings = doc["findings"].as_array().expect("findings").clone();
    let one = |pid: u32, what: &str| -> Value {
        // Earlier boots' logs may hold deaths of the same pid: this run's carry the recorder's record.
        let v: Vec<&Value> = findings
            .iter()
            .filter(|f| f["victim"]["pid"].as_u64() == Some(u64::from(pid)))
            .filter(|f| f["evidence"].as_array().is_some_and(|e| e.iter().any(|x| x["origin"]["entry"].as_str().is_some_and(|p| p.contains("coroner/watch/")))))
            .collect();
        assert_eq!(v.len(), 1, "{what}: expected one finding for pid {pid} resting on the recorder, got {v:#?}");
        v[0].clone()
    };
    let chain_has_me = |f: &Value| f["killer"]["parent_chain"].as_array().is_some_and(|c| c.iter().any(|p| p.as_str().is_some_and(|s| s.contains(&me.to_string()))));

    let f = one(va, "SIGKILL from a short-lived bash script");
    assert_eq!((f["cause"].as_str(), f["signal"]["number"].as_i64(), f["confidence"].as_str()), (Some("signal"), Some(9), Some("certain")), "{f:#}");
    assert_eq!(f["killer"]["pid"].as_u64(), Some(u64::from(script)), "{f:#}");
    assert_eq!(f["killer"]["exe"], "/usr/bin/bash", "{f:#}");
    assert!(f["killer"]["command"].as_str().is_some_and(|c| c.contains("killer.sh")), "{f:#}");
    assert!(chain_has_me(&f), "this test is not in the sender's parent chain: {f:#}");

    // SIGTERM can be caught: the trace of its delivery (SIGKILL, no handler) shows the default action ended it.
    let f = one(vb, "SIGTERM from a copy of kill named like a daemon");
    assert_eq!((f["cause"].as_str(), f["signal"]["number"].as_i64(), f["confidence"].as_str()), (Some("signal"), Some(15), Some("certain")), "{f:#}");
    assert_eq!(f["details"]["delivered_action"], "default", "{f:#}");
    assert_eq!(f["killer"]["pid"].as_u64(), Some(u64::from(daemon)), "{f:#}");
    assert_eq!(f["killer"]["exe"].as_str(), Some(format!("{d}/systemd-journald").as_str()), "{f:#}");
    assert!(chain_has_me(&f), "{f:#}");

    let vc: Vec<&Value> = findings
        .iter()
        .filter(|f| f["killer"]["pid"].as_u64() == Some(u64::from(to)))
        .filter(|f| f["victim"]["comm"].as_str().is_some_and(|c| c.starts_with(&format!("vc{tag}"))))
        .collect();
    assert_eq!(vc.len(), 1, "timeout's child: {vc:#?}");
    assert_eq!(vc[0]["signal"]["number"].as_i64(), Some(15), "{:#}", vc[0]);
    assert_eq!(vc[0]["confidence"], "certain", "{:#}", vc[0]);
    assert!(vc[0]["killer"]["exe"].as_str().is_some_and(|e| e.ends_with("/timeout")), "{:#}", vc[0]);

    let f = one(hog, "memory-cgroup OOM kill");
    assert_eq!((f["cause"].as_str(), f["confidence"].as_str()), (Some("oom_kill"), Some("certain")), "{f:#}");
    let from = |f: &Value, entry: &str| f["evidence"].as_array().is_some_and(|e| e.iter().any(|x| x["origin"]["entry"].as_str().is_some_and(|p| p.contains(entry))));
    assert!(from(&f, "kernel/kmsg"), "the later OOM kill cites the kernel's own record too: {f:#}");
    let f = one(early_hog, "OOM kill whose kernel lines left the ring buffer");
    assert_eq!((f["cause"].as_str(), f["confidence"].as_str()), (Some("oom_kill"), Some("certain")), "{f:#}");
    assert!(!from(&f, "kernel/kmsg"), "the bundle's kmsg capture cannot hold it: {f:#}");
}
