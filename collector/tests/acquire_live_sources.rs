//! The live/volatile acquisition modules: planned items from a `--root` fixture tree (deterministic), and
//! real reads of this host's `/proc`, `/dev/kmsg`, cgroups and clocks. Tests that need root print why they
//! skip when not root.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use coroner_collect::acquire::{self, command, Ctx, Item};
use coroner_schemas::accounts::Accounts;
use coroner_schemas::manifest::{CollectOptions, CorePolicy, Status};
use coroner_schemas::proc::ProcSnapshot;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/hosts/live-min")
}

fn opts() -> CollectOptions {
    CollectOptions {
        root: None,
        cores: CorePolicy::Head,
        core_cap_bytes: 1 << 30,
        max_file_bytes: 256 << 20,
        max_total_bytes: 4 << 30,
        journal_window_seconds: 86_400,
        command_timeout_ms: 20_000,
        includes: Vec::new(),
        excludes: Vec::new(),
        gentle: false,
        redact: false,
    }
}

fn ctx(root: PathBuf, live: bool) -> Ctx {
    let passwd = std::fs::read(root.join("etc/passwd")).unwrap_or_default();
    let group = std::fs::read(root.join("etc/group")).unwrap_or_default();
    Ctx::new(root, live, opts(), Accounts::parse(&passwd, &group))
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// One line per item: kind, bundle path or host path, format, status kind.
fn summary(items: &[Item]) -> Vec<String> {
    items
        .iter()
        .map(|i| match i {
            Item::File(f) => {
                format!(
                    "file {} {:?}{}",
                    f.path,
                    f.format,
                    f.compressed.as_deref().map(|c| format!(" {c}")).unwrap_or_default()
                )
            }
            Item::Capture(c) => format!("capture {} {:?} {}", c.bundle_path, c.format, status_kind(&c.status)),
            Item::Absent(a) => format!("absent {} {:?} {}", a.bundle_path, a.format, status_kind(&a.status)),
        })
        .collect()
}

fn status_kind(s: &Status) -> String {
    match s {
        Status::NotApplicable { reason } => format!("not_applicable({reason})"),
        other => serde_json::to_value(other)
            .ok()
            .and_then(|v| v["kind"].as_str().map(str::to_owned))
            .unwrap_or_default(),
    }
}

#[test]
fn plan_from_root_fixture_takes_files_and_marks_live_sources_not_applicable() {
    let c = ctx(fixture(), false);
    let mut items = Vec::new();
    acquire::accounts::collect(&c, &mut items);
    acquire::host::collect(&c, &mut items);
    acquire::settings::collect(&c, &mut items);
    acquire::kernel::collect(&c, &mut items);
    acquire::limits::collect(&c, &mut items);
    acquire::procs::collect(&c, &mut items);
    acquire::cgroups::collect(&c, &mut items);
    acquire::systemd::collect(&c, &mut items);
    let got = summary(&items);
    let na = "not_applicable(live source under --root)";
    let mut want: Vec<String> = vec![
        "file /etc/passwd Passwd".into(),
        "file /etc/group Group".into(),
        "file /etc/hostname Other".into(),
        "file /etc/machine-id Other".into(),
        "file /etc/os-release Other".into(),
        "file /usr/lib/os-release Other".into(),
        "file /etc/timezone Other".into(),
        "file /etc/localtime Other".into(),
        "file /usr/share/zoneinfo/Etc/UTC Other".into(),
    ];
    for p in [
        "meminfo",
        "pressure/cpu",
        "pressure/memory",
        "pressure/io",
        "vmstat",
        "loadavg",
        "uptime",
        "stat",
        "mounts",
    ] {
        want.push(format!("absent live/proc/{p} ProcText {na}"));
    }
    want.extend([
        format!("absent live/proc/sys/kernel/random/boot_id ProcText {na}"),
        format!("absent live/settings/sysctl.json SysctlJson {na}"),
        "file /etc/sysctl.conf Other".into(),
        "file /etc/sysctl.d/99-sysctl.conf Other".into(),
        // Once: /lib is a link to usr/lib (merged /usr), so /lib/sysctl.d is not listed again.
        "file /usr/lib/sysctl.d/50-pid-max.conf Other".into(),
        format!("absent live/kernel/kmsg.txt Kmsg {na}"),
        "file /var/log/dmesg DmesgText".into(),
        "file /var/log/dmesg.1.gz DmesgText gzip".into(),
        "file /etc/security/limits.conf LimitsConf".into(),
        "file /etc/systemd/system.conf Other".into(),
        format!("absent live/proc/1/limits ProcLimits {na}"),
        format!("absent live/proc/processes.json ProcSnapshotJson {na}"),
        format!("absent live/cgroups/memory.json CgroupsJson {na}"),
        format!("absent cmd/systemctl-list-timers.txt SystemdTimers {na}"),
        format!("absent cmd/systemctl-show.json SystemdShowJson {na}"),
        "file /etc/systemd/system/syslog.service SystemdUnit".into(),
        "file /etc/systemd/system/timers.target.wants/logrotate.timer SystemdUnit".into(),
        "file /usr/lib/systemd/system/apt-daily.service SystemdUnit".into(),
        "file /usr/lib/systemd/system/apt-daily.timer SystemdUnit".into(),
        "file /usr/lib/systemd/system/logrotate.service SystemdUnit".into(),
        "file /usr/lib/systemd/system/logrotate.timer SystemdUnit".into(),
    ]);
    assert_eq!(got, want, "got:\n{}", got.join("\n"));
}

#[test]
fn host_facts_from_root_fixture() {
    let f = acquire::host::host_facts(&ctx(fixture(), false));
    assert_eq!(f.hostname, "vm");
    assert_eq!(f.machine_id.as_deref(), Some("3d1219c7c4c5404aaa1f6d2a48adfda4"));
    assert_eq!(f.timezone.as_deref(), Some("Etc/UTC"));
    assert_eq!(f.os_pretty_name.as_deref(), Some("Debian GNU/Linux 12 (bookworm)"));
    // Nothing live under --root.
    assert_eq!(
        (f.boot_id, f.kernel_release, f.arch, f.boot_time, f.systemd),
        (None, None, None, None, None)
    );
    assert_eq!(f.utc_offset_seconds, None);
}

#[test]
fn command_timeout_kills_the_process_group() {
    // The shell starts a background sleep (a grandchild in the same group), prints its pid, then waits.
    let o = command::run(
        &["sh", "-c", "sleep 30 & echo $!; wait"],
        &[],
        Duration::from_millis(200),
        4096,
    )
    .expect("sh runs");
    assert!(o.run.timed_out);
    assert_eq!(o.run.signal, Some(libc::SIGKILL));
    assert_eq!(o.run.exit_code, None);
    let grandchild: i32 = String::from_utf8_lossy(&o.stdout)
        .trim()
        .parse()
        .expect("pid printed before the kill");
    // The grandchild got SIGKILL with the group: gone (or a zombie awaiting its reaper) within a bounded wait.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{grandchild}/stat")).unwrap_or_default();
        let dead = stat.is_empty() || stat.rsplit_once(") ").is_some_and(|(_, r)| r.starts_with('Z'));
        if dead {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "grandchild {grandchild} survived the group kill: {stat}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let o = command::run(&["sleep", "5"], &[], Duration::from_millis(200), 16).expect("sleep runs");
    assert!(o.run.timed_out && o.run.signal == Some(libc::SIGKILL), "{:?}", o.run);
}

#[test]
fn commands_never_run_under_root_and_missing_tools_are_not_applicable() {
    let fmt = coroner_schemas::Format::Other;
    let cat = coroner_schemas::Category::Systemd;
    let it = command::capture(&ctx(fixture(), false), &["true"], &[], "cmd/true.txt", cat, fmt);
    assert_eq!(
        summary(&[it]),
        vec!["absent cmd/true.txt Other not_applicable(live source under --root)"]
    );
    let live = ctx(PathBuf::from("/"), true);
    let it = command::capture(&live, &["coroner-missing-tool"], &[], "cmd/x.txt", cat, fmt);
    assert_eq!(
        summary(&[it]),
        vec!["absent cmd/x.txt Other not_applicable(coroner-missing-tool not installed)"]
    );
    let it = command::capture(&live, &["sh", "-c", "echo hi; exit 2"], &[], "cmd/sh.txt", cat, fmt);
    let Item::Capture(c) = it else { panic!("a capture") };
    assert_eq!(c.data, b"hi\n");
    assert!(matches!(c.status, Status::Io { ref message } if message.starts_with("exit status 2")));
    assert_eq!(c.command.as_ref().and_then(|r| r.exit_code), Some(2));
}

#[test]
#[ignore = "needs root"]
fn kmsg_reads_every_record_in_kernel_format() {
    assert!(is_root(), "kmsg_reads_every_record_in_kernel_format: needs root (kernel.dmesg_restrict): run it as root (`make test` does, as root)");
    let r = acquire::kernel::read_kmsg(std::path::Path::new("/dev/kmsg"), 64 << 20).expect("readable as root");
    assert!(r.records >= 1, "at least one record in the ring");
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(r.data.last(), Some(&b'\n'));
    let mut headers = 0u64;
    let mut last_seq: Option<u64> = None;
    for line in r.data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        if line.first() == Some(&b' ') {
            continue; // continuation line ` KEY=VALUE`
        }
        headers += 1;
        let semi = line.iter().position(|&b| b == b';').expect("header has ';'");
        let head = std::str::from_utf8(&line[..semi]).expect("ascii header");
        let f: Vec<&str> = head.split(',').collect();
        assert!(f.len() >= 4, "PRI,SEQ,TS,FLAGS: {head}");
        for n in &f[..3] {
            assert!(
                !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()),
                "numeric field in {head}"
            );
        }
        let seq: u64 = f[1].parse().expect("seq");
        assert!(last_seq.is_none_or(|l| seq > l), "sequence numbers increase: {head}");
        last_seq = Some(seq);
    }
    assert_eq!(headers, r.records, "one header line per record read");
}

#[test]
fn clock_sample_matches_the_system_clock() {
    let s = acquire::kernel::clock_sample().expect("clocks");
    let now_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after epoch")
        .as_nanos() as i64;
    assert!(
        s.realtime_ns <= now_ns && now_ns - s.realtime_ns < 60_000_000_000,
        "{s:?}"
    );
    assert!(s.boottime_ns + s.uncertainty_ns >= s.monotonic_ns, "{s:?}");
}

#[test]
fn process_table_reads_a_hostile_comm_and_our_own_process() {
    // A shell renames itself `a) (b` (via /proc/self/comm) and then waits on a child sleep.
    let mut child = Command::new("sh")
        .args([
            "-c",
            "printf 'a) (b' > /proc/self/comm; echo ready; exec 1>&-; sleep 30",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn sh");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().expect("stdout")),
        &mut line,
    )
    .expect("ready line");
    assert_eq!(line, "ready\n");
    let c = ctx(PathBuf::from("/"), true);
    let snap = acquire::procs::snapshot(&c, std::path::Path::new("/proc"));
    let _ = child.kill(); // by our own child's pid
    let _ = child.wait();
    let snap: ProcSnapshot = snap.expect("snapshot");
    assert!(snap.processes.windows(2).all(|w| w[0].pid < w[1].pid), "sorted by pid");
    let sh = snap
        .processes
        .iter()
        .find(|p| p.pid == i64::from(child.id()))
        .expect("the shell is listed");
    assert_eq!(sh.comm.as_ref().map(|t| t.to_bytes()), Some(b"a) (b".to_vec()));
    assert_eq!(sh.ppid, Some(i64::from(std::process::id())));
    assert!(sh.state.is_some() && sh.starttime_ticks.is_some());
    let me = snap
        .processes
        .iter()
        .find(|p| p.pid == i64::from(std::process::id()))
        .expect("we are listed");
    let exe = std::fs::read_link("/proc/self/exe").expect("own exe");
    assert_eq!(
        me.exe.as_ref().map(|t| t.to_bytes()),
        Some(exe.as_os_str().as_encoded_bytes().to_vec())
    );
    let args: Vec<Vec<u8>> = std::env::args_os().map(|a| a.into_encoded_bytes()).collect();
    assert_eq!(me.cmdline.iter().map(|t| t.to_bytes()).collect::<Vec<_>>(), args);
    let cgroups = std::fs::read_to_string("/proc/self/cgroup").expect("own cgroups");
    assert_eq!(me.cgroups, cgroups.lines().collect::<Vec<_>>());
    let pid_ns = std::fs::read_link("/proc/self/ns/pid").expect("own pid namespace");
    let pid_ns = acquire::procs::parse_ns_link(pid_ns.as_os_str().as_encoded_bytes());
    assert_eq!(me.namespaces.get("pid").copied(), pid_ns);
    assert!(me
        .limits
        .as_ref()
        .is_some_and(|l| l.lossy().contains("Max core file size")));
    // Start time lies between boot and now, and is exactly btime + ticks / clk_tck.
    let st = me.start_time.expect("start time");
    let ticks = me.starttime_ticks.expect("ticks");
    assert_eq!(
        st.unix_micros(),
        ((snap.btime * snap.clk_tck + ticks) * 1_000_000 / snap.clk_tck) as i64
    );
    let boot = coroner_schemas::Utc::from_unix(snap.btime as i64, 0).expect("btime");
    assert!(
        st >= boot && st <= snap.taken,
        "started after boot and before the snapshot"
    );
    assert!(me.rss_bytes.is_some_and(|r| r > 0 && r % snap.page_size == 0));
    let uid = rustix::process::getuid().as_raw();
    assert_eq!(me.uids.first().copied(), Some(uid));
    if uid == 0 {
        assert_eq!(me.user.as_deref(), Some("root"));
    }
}

#[test]
fn live_settings_cgroups_and_host_facts() {
    let c = ctx(PathBuf::from("/"), true);
    let mut items = Vec::new();
    acquire::settings::collect(&c, &mut items);
    let Some(Item::Capture(sysctl)) = items.first() else {
        panic!("sysctl capture first")
    };
    let v: serde_json::Value = serde_json::from_slice(&sysctl.data).expect("json");
    let core = std::fs::read_to_string("/proc/sys/kernel/core_pattern").expect("core_pattern");
    assert_eq!(v["kernel.core_pattern"], core.strip_suffix('\n').unwrap_or(&core));
    let filter = std::fs::read_to_string("/proc/self/coredump_filter").expect("coredump_filter");
    assert_eq!(v["self.coredump_filter"], filter.trim_end_matches('\n'));

    let mut items = Vec::new();
    acquire::cgroups::collect(&c, &mut items);
    let Some(Item::Capture(cg)) = items.first() else {
        panic!("cgroups capture")
    };
    let v: serde_json::Value = serde_json::from_slice(&cg.data).expect("json");
    let mounts = std::fs::read_to_string("/proc/self/mounts").expect("mounts");
    if mounts.lines().any(|l| l.contains(" cgroup ") && l.contains("memory")) {
        let v1 = v["hierarchies"]
            .as_array()
            .and_then(|h| h.iter().find(|h| h["version"] == 1))
            .expect("v1 listed");
        assert!(v1["cgroups"]["/"]["memory.usage_in_bytes"]
            .as_str()
            .is_some_and(|s| s.parse::<u64>().is_ok()));
    }
    assert_eq!(v["cut"], false);

    let f = acquire::host::host_facts(&c);
    assert_eq!(f.arch.as_deref(), Some(std::env::consts::ARCH));
    assert_eq!(f.boot_id.as_ref().map(String::len), Some(36));
    assert!(f.boot_time.is_some() && f.uptime_seconds.is_some_and(|u| u > 0.0));
    let pid1 = std::fs::read_to_string("/proc/1/comm").unwrap_or_default();
    if pid1.trim() != "systemd" && !std::path::Path::new("/run/systemd/system").is_dir() {
        assert_eq!(f.systemd, Some(false));
        let mut items = Vec::new();
        acquire::systemd::collect(&c, &mut items);
        let s = summary(&items[..2]);
        assert_eq!(
            s,
            vec![
                "absent cmd/systemctl-list-timers.txt SystemdTimers not_applicable(PID 1 is not systemd)",
                "absent cmd/systemctl-show.json SystemdShowJson not_applicable(PID 1 is not systemd)",
            ]
        );
    }
    // The live /proc text captures exist and are non-empty.
    let mut items = Vec::new();
    acquire::host::collect(&c, &mut items);
    let meminfo = items.iter().find_map(|i| match i {
        Item::Capture(c) if c.bundle_path == "live/proc/meminfo" => Some(c),
        _ => None,
    });
    assert!(meminfo.is_some_and(|m| m.data.starts_with(b"MemTotal:") && m.status == Status::Ok));
}
