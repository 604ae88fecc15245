//! A fleet of staged hosts with shifted clocks, through the real collector and `coroner-report fleet`.
//!
//! Five `--root` trees stand in for five hosts (own /etc/hostname, a passwd with the user `deploy`). Host h's
//! clock reads true time + d_h (0, +180 s, −90 s, +420 s, +60 s): its records are written on that clock, and its
//! collector runs on it under `faketime` (libfaketime, relative offset; FAKETIME_DONT_FAKE_MONOTONIC=1 keeps the
//! monotonic clock real, so only the wall clock is shifted). The test plays the fleet controller: it reads the
//! true clock just before and after each collection and writes clock.json per the fleet contract, beside the
//! bundle the collector signed with the pinned fleet key (`--key`, the contract's host mode); for db-2 it writes
//! none, so that host's skew is unknown and its times stay on its own clock.
//!
//! Staged, in true time from T0: `pkill -TERM -f worker` by deploy on all five hosts at T0+5, +40, +60 (db-2),
//! +75 and +110 s (auditd ENRICHED kill records, in the shape of fixtures/audit), memory-cgroup OOM kills of /app on
//! web-2 and db-1 at T0+300 and +330 s (rsyslog RSYSLOG_FileFormat kernel lines of kernel 6.18, as
//! fixtures/syslog/kern.log), and a boot after a crash on web-3 at T0+600 s (wtmp written by `utmpdump -r`).
//! On the host clocks the pkills lie minutes apart and out of order; on the controller's clock they are one
//! cluster of 105 s (115 s with db-2, whose time stays on its own clock).
//!
//! Needs faketime (`.ci/run` installs it) and the release collector (`make test` builds it, or CORONER_COLLECT).

#[path = "common/live.rs"]
mod live;
#[path = "common/tools.rs"]
mod tools;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use coroner_report::fleet::patterns::{self, HostDeaths, PatternKind};
use coroner_schemas::fleet::{FleetClock, CLOCK_FILE};
use coroner_schemas::{FindingsDoc, Utc};
use serde_json::Value;

/// One staged host: its name, clock offset (s) and its incidents' true times (s after T0).
struct Host {
    name: &'static str,
    d_s: i64,
    pkill_at: i64,
    oom_at: Option<i64>,
    reboot_at: Option<i64>,
    /// Whether the controller wrote clock.json (without it the skew is unknown).
    clock: bool,
}

const HOSTS: [Host; 5] = [
    Host { name: "web-1", d_s: 0, pkill_at: 5, oom_at: None, reboot_at: None, clock: true },
    Host { name: "web-2", d_s: 180, pkill_at: 40, oom_at: Some(300), reboot_at: None, clock: true },
    Host { name: "web-3", d_s: -90, pkill_at: 75, oom_at: None, reboot_at: Some(600), clock: true },
    Host { name: "db-1", d_s: 420, pkill_at: 110, oom_at: Some(330), reboot_at: None, clock: true },
    // No clock sample: its pkill (true T0+60) stays on its clock (T0+120), which still falls in the window.
    Host { name: "db-2", d_s: 60, pkill_at: 60, oom_at: None, reboot_at: None, clock: false },
];

/// Window of the fleet run: wider than the true gaps (35 s), narrower than the host-clock gaps.
const WINDOW_S: i64 = 60;

fn now_us() -> i64 {
    i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_micros()).expect("µs")
}

fn utc(us: i64) -> Utc {
    Utc::from_unix_micros(us).expect("time")
}

/// The audit records of deploy's shell starting (naming its parent, sshd 1990) and of its pkill killing the
/// worker, on the host's clock `t` (seconds).
fn audit_log(t: i64) -> String {
    let gs = '\u{1d}';
    let who = |u: &str| {
        format!("AUID=\"{u}\" UID=\"{u}\" GID=\"{u}\" EUID=\"{u}\" SUID=\"{u}\" FSUID=\"{u}\" EGID=\"{u}\" SGID=\"{u}\" FSGID=\"{u}\"")
    };
    let proctitle: String = "pkill\0-TERM\0-f\0worker".bytes().map(|b| format!("{b:02X}")).collect();
    let mut s = String::new();
    s += &format!(
        "type=SYSCALL msg=audit({}.010:100): arch=c000003e syscall=59 success=yes exit=0 a0=55e63f81acb0 a1=55e63f81d7d0 a2=55e63f81a5e0 a3=8 items=2 ppid=1990 pid=2000 auid=1001 uid=1001 gid=1001 euid=1001 suid=1001 fsuid=1001 egid=1001 sgid=1001 fsgid=1001 tty=pts0 ses=3 comm=\"bash\" exe=\"/usr/bin/bash\" key=\"coroner_exec\"{gs}ARCH=x86_64 SYSCALL=execve {}\n",
        t - 30,
        who("deploy")
    );
    s += &format!("type=EXECVE msg=audit({}.010:100): argc=1 a0=\"-bash\"\n", t - 30);
    s += &format!(
        "type=SYSCALL msg=audit({t}.059:101): arch=c000003e syscall=62 success=yes exit=0 a0=835 a1=f a2=0 a3=0 items=0 ppid=2000 pid=2005 auid=1001 uid=1001 gid=1001 euid=1001 suid=1001 fsuid=1001 egid=1001 sgid=1001 fsgid=1001 tty=pts0 ses=3 comm=\"pkill\" exe=\"/usr/bin/pgrep\" key=\"coroner_kill\"{gs}ARCH=x86_64 SYSCALL=kill {}\n",
        who("deploy")
    );
    s += &format!("type=OBJ_PID msg=audit({t}.059:101): opid=2101 oauid=1001 ouid=1001 oses=3 ocomm=\"worker\"{gs}OAUID=\"deploy\" OUID=\"deploy\"\n");
    s += &format!("type=PROCTITLE msg=audit({t}.059:101): proctitle={proctitle}\n");
    s
}

/// The kernel's memory-cgroup OOM kill lines as rsyslog's RSYSLOG_FileFormat writes them, at host time `t`.
fn kern_log(host: &str, t: i64) -> String {
    let stamp = utc(t * 1_000_000).rfc3339().replace('Z', "+00:00");
    format!(
        "{stamp} {host} kernel: [ 1088.676465] oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/app,task_memcg=/app,task=python3,pid=3100,uid=0\n\
         {stamp} {host} kernel: [ 1088.676491] Memory cgroup out of memory: Killed process 3100 (python3) total-vm:221368kB, anon-rss:50816kB, file-rss:6596kB, shmem-rss:0kB, UID:0 pgtables:168kB oom_score_adj:0\n"
    )
}

/// utmpdump text: the previous boot a day before, deploy's login, and the boot at host time `t`.
fn wtmp_text(t: i64) -> String {
    let ts = |s: i64| {
        let r = utc(s * 1_000_000).rfc3339();
        format!("{},000000+00:00", &r[..19])
    };
    format!(
        "[2] [00000] [~~  ] [reboot  ] [~           ] [6.18.44-fc-v782    ] [0.0.0.0        ] [{}]\n\
         [7] [01990] [ts/0] [deploy  ] [pts/0       ] [203.0.113.7         ] [203.0.113.7    ] [{}]\n\
         [2] [00000] [~~  ] [reboot  ] [~           ] [6.18.44-fc-v782    ] [0.0.0.0        ] [{}]\n",
        ts(t - 86_400),
        ts(t - 3_000),
        ts(t)
    )
}

fn write(p: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, bytes).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
}

/// The host's tree, its records on its clock (true time + d).
fn stage(root: &Path, h: &Host, t0: i64) {
    let d = h.d_s;
    write(&root.join("etc/hostname"), format!("{}\n", h.name).as_bytes());
    write(&root.join("etc/passwd"), b"root:x:0:0:root:/root:/bin/bash\ndeploy:x:1001:1001:Deploy,,,:/home/deploy:/bin/bash\n");
    write(&root.join("etc/group"), b"root:x:0:\ndeploy:x:1001:\n");
    write(&root.join("var/log/audit/audit.log"), audit_log(t0 + h.pkill_at + d).as_bytes());
    if let Some(at) = h.oom_at {
        write(&root.join("var/log/kern.log"), kern_log(h.name, t0 + at + d).as_bytes());
    }
    if let Some(at) = h.reboot_at {
        let txt = root.join("wtmp.txt");
        write(&txt, wtmp_text(t0 + at + d).as_bytes());
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("utmpdump -r < '{}' > '{}'", txt.display(), root.join("var/log/wtmp").display()))
            .output()
            .expect("utmpdump");
        assert!(out.status.success(), "utmpdump -r: {}", String::from_utf8_lossy(&out.stderr));
        std::fs::remove_file(&txt).expect("rm wtmp.txt");
    }
}

/// Runs the collector on host clock true + `d_s` (faketime), signing with the fleet key, into `dir`; returns
/// the bundle path and the controller's true times around it (µs).
fn collect(root: &Path, dir: &Path, key: &Path, d_s: i64) -> (PathBuf, i64, i64) {
    std::fs::create_dir_all(dir).expect("mkdir");
    let before = now_us();
    let mut child = Command::new("faketime")
        .arg("-f")
        .arg(format!("{d_s:+}s"))
        .arg(live::collector())
        .args(["--root", &root.display().to_string(), "-o", &dir.display().to_string(), "--key", &key.display().to_string(), "--quiet"])
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("faketime coroner-collect");
    let st = live::wait_bounded(&mut child, 60);
    let after = now_us();
    let mut out = String::new();
    let mut err = String::new();
    child.stdout.take().expect("stdout").read_to_string(&mut out).expect("stdout");
    child.stderr.take().expect("stderr").read_to_string(&mut err).expect("stderr");
    assert!(st.code().is_some_and(|c| c <= 1), "collector under faketime: {st:?} {err}");
    let bundle = PathBuf::from(out.lines().last().expect("bundle path").trim());
    (bundle, before, after)
}

/// `manifest.json` of a bundle.
fn manifest(bundle: &Path) -> Value {
    let f = std::fs::File::open(bundle).expect("bundle");
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(f));
    for e in ar.entries().expect("tar") {
        let mut e = e.expect("member");
        if e.path().expect("path").as_os_str() == "manifest.json" {
            let mut s = String::new();
            e.read_to_string(&mut s).expect("read manifest");
            return serde_json::from_str(&s).expect("manifest json");
        }
    }
    panic!("no manifest.json in {}", bundle.display());
}

fn t_us(v: &Value) -> i64 {
    Utc::parse_rfc3339(v.as_str().unwrap_or_else(|| panic!("time: {v}"))).expect("rfc3339").unix_micros()
}

#[test]
#[ignore = "needs root"]
fn staged_fleet_with_shifted_clocks() {
    if Command::new("faketime").arg("--version").output().is_err() {
        tools::missing("faketime (Debian package faketime) is not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("fleet.key");
    let kg = Command::new(live::collector()).args(["keygen", "-o", &key.display().to_string()]).output().expect("keygen");
    assert!(kg.status.success(), "keygen: {}", String::from_utf8_lossy(&kg.stderr));
    let pubkey = dir.path().join("fleet.key.pub");
    assert!(pubkey.exists(), "keygen wrote no .pub");

    // True T0: a whole minute an hour ago, so every record lies before every host's collection.
    let t0 = (now_us() / 1_000_000 - 3600) / 60 * 60;
    let run = dir.path().join("run");
    for h in &HOSTS {
        let root = dir.path().join("trees").join(h.name);
        stage(&root, h, t0);
        let hdir = run.join(h.name);
        let (bundle, before, after) = collect(&root, &hdir, &key, h.d_s);
        // faketime really moved the collector's wall clock: its start lies d after the controller's wait began
        // (within the wait), so the shift is measured here, not assumed.
        let m = manifest(&bundle);
        let started = t_us(&m["collector"]["started"]);
        let finished = t_us(&m["collector"]["finished"]);
        let (lo, hi) = (before + h.d_s * 1_000_000, after + h.d_s * 1_000_000);
        assert!(lo <= started && finished <= hi, "{}: collector {started}..{finished} not within the shifted wait {lo}..{hi}", h.name);
        let clock = FleetClock {
            schema_version: 1,
            inventory_hostname: h.name.to_owned(),
            bundle: bundle.file_name().expect("name").to_string_lossy().into_owned(),
            controller_before: utc(before),
            controller_after: utc(after),
        };
        if h.clock {
            write(&hdir.join(CLOCK_FILE), &serde_json::to_vec_pretty(&clock).expect("clock json"));
        }
    }

    let out = dir.path().join("out");
    let r = Command::new(env!("CARGO_BIN_EXE_coroner-report"))
        .args(["fleet", &run.display().to_string(), "-o", &out.display().to_string()])
        .args(["--pubkey", &pubkey.display().to_string(), "--window", &WINDOW_S.to_string()])
        .output()
        .expect("fleet");
    assert!(r.status.code().is_some_and(|c| c <= 1), "fleet: {:?} {}", r.status, String::from_utf8_lossy(&r.stderr));
    let doc: Value = serde_json::from_slice(&std::fs::read(out.join("fleet.json")).expect("fleet.json")).expect("json");
    let md = std::fs::read_to_string(out.join("fleet.md")).expect("fleet.md");
    let dump = serde_json::to_string_pretty(&doc).unwrap_or_default();

    // Every host accepted, none refused; each host's skew is d within the uncertainty fleet states.
    assert_eq!(doc["refused"].as_array().map(Vec::len), Some(0), "{dump}");
    let rows: BTreeMap<&str, &Value> =
        doc["hosts"].as_array().expect("hosts").iter().map(|h| (h["host"].as_str().expect("host key"), h)).collect();
    assert_eq!(rows.keys().copied().collect::<BTreeSet<_>>(), HOSTS.iter().map(|h| h.name).collect(), "{dump}");
    for h in HOSTS.iter().filter(|h| !h.clock) {
        let row = rows[h.name];
        assert_eq!((&row["clock_offset_us"], &row["clock_uncertainty_us"]), (&Value::Null, &Value::Null), "{row}");
        let line = md.lines().find(|l| l.starts_with(&format!("| {} |", h.name))).unwrap_or_else(|| panic!("no row for {}:\n{md}", h.name));
        assert!(line.contains("| unknown"), "{line}");
    }
    for h in HOSTS.iter().filter(|h| h.clock) {
        let row = rows[h.name];
        let off = row["clock_offset_us"].as_i64().unwrap_or_else(|| panic!("{}: no offset: {row}", h.name));
        let unc = row["clock_uncertainty_us"].as_i64().expect("uncertainty");
        assert!(unc < 5_000_000, "{}: uncertainty {unc} µs for a collection of a moment", h.name);
        assert!((off - h.d_s * 1_000_000).abs() <= unc + 1_000, "{}: offset {off} µs, staged {} s ± {unc} µs", h.name, h.d_s);
        assert_eq!(row["clock_inconsistent"], false, "{row}");
        // fleet.md shows it: `+180.0xx s ± 0.0xx s` in the host's row.
        let line = md.lines().find(|l| l.starts_with(&format!("| {} |", h.name)));
        let line = line.unwrap_or_else(|| panic!("no row for {} in fleet.md:\n{md}", h.name));
        let cell = line.split(" | ").find(|c| c.contains('±')).unwrap_or_else(|| panic!("no clock cell: {line}"));
        let (shown, _) = cell.split_once(" s ±").expect("offset s");
        let shown: f64 = shown.replace('−', "-").replace('\\', "").parse().unwrap_or_else(|e| panic!("{cell}: {e}"));
        assert!((shown - h.d_s as f64).abs() <= unc as f64 / 1e6 + 0.001, "{}: fleet.md shows {shown} s for {} s", h.name, h.d_s);
    }

    // Each staged death once: 5 pkills, 2 OOM kills, 1 reboot; no (host, finding) twice.
    let deaths = doc["deaths"].as_array().expect("deaths");
    let keys: BTreeSet<(&str, &str)> = deaths.iter().map(|d| (d["host"].as_str().expect("host"), d["id"].as_str().expect("id"))).collect();
    assert_eq!(keys.len(), deaths.len(), "a death listed twice: {dump}");
    let mut per_host: BTreeMap<&str, usize> = BTreeMap::new();
    for d in deaths {
        *per_host.entry(d["host"].as_str().expect("host")).or_default() += 1;
    }
    let staged: BTreeMap<&str, usize> =
        HOSTS.iter().map(|h| (h.name, 1 + usize::from(h.oom_at.is_some()) + usize::from(h.reboot_at.is_some()))).collect();
    assert_eq!(per_host, staged, "{dump}");
    assert_eq!(doc["by_cause"], serde_json::json!({"oom_kill": 2, "reboot": 1, "signal": 5}), "{dump}");
    for h in &HOSTS {
        assert_eq!(rows[h.name]["deaths"], staged[h.name], "{}", rows[h.name]);
    }

    // The pkill by deploy: one pattern on all five hosts, its corrected first and last within the true
    // times (± each host's stated uncertainty), though the host clocks put them 9 minutes apart; db-2's time
    // is its own clock's, and the sentence says so.
    let max_unc = rows.values().map(|r| r["clock_uncertainty_us"].as_i64().unwrap_or(0)).max().unwrap_or(0) + 1_000;
    let pats = doc["patterns"].as_array().expect("patterns");
    let pk: Vec<&Value> = pats.iter().filter(|p| p["kind"] == "killer_command" && p["key"] == "user deploy, command pkill").collect();
    assert_eq!(pk.len(), 1, "{}", serde_json::to_string_pretty(pats).unwrap_or_default());
    let pk = pk[0];
    assert_eq!(pk["hosts"], serde_json::json!(["db-1", "db-2", "web-1", "web-2", "web-3"]), "{pk}");
    assert_eq!(pk["deaths"].as_array().map(Vec::len), Some(5), "{pk}");
    let (first, last) = (t_us(&pk["first"]), t_us(&pk["last"]));
    let true_first = (t0 + 5) * 1_000_000 + 59_000;
    // The last is db-2's, uncorrected: its host time T0+120 exactly.
    let true_last = (t0 + 120) * 1_000_000 + 59_000;
    assert!((first - true_first).abs() <= max_unc, "first {first} vs true {true_first} ± {max_unc}");
    assert!((last - true_last).abs() <= max_unc, "last {last} vs true {true_last} ± {max_unc}");
    let summary = pk["summary"].as_str().expect("summary");
    assert!(summary.starts_with("pkill by user deploy: 5 deaths on 5 hosts (db-1, db-2, web-1, web-2, web-3)"), "{summary}");
    assert!(summary.ends_with("(uncorrected host clock for db-2: its skew is unknown)."), "{summary}");
    assert!(md.contains("pkill by user deploy"), "{md}");
    let host_times: Vec<i64> = deaths.iter().filter(|d| d["cause"] == "signal" && d["host"] != "db-2").map(|d| t_us(&d["host_time"])).collect();
    let spread = host_times.iter().max().expect("max") - host_times.iter().min().expect("min");
    assert!(spread > 8 * 60 * 1_000_000, "the host clocks put the pkills {spread} µs apart");

    // Uncorrected, with the same window, the same findings do not make that pattern: the host clocks split it.
    let docs: Vec<(String, FindingsDoc)> = HOSTS
        .iter()
        .map(|h| {
            let p = out.join("hosts").join(h.name).join("findings.json");
            (h.name.to_owned(), serde_json::from_slice(&std::fs::read(&p).expect("host findings")).expect("findings"))
        })
        .collect();
    let raw: Vec<HostDeaths<'_>> = docs.iter().map(|(h, f)| HostDeaths { host: h, offset_us: None, findings: f }).collect();
    let uncorrected = patterns::find(&raw, WINDOW_S);
    assert!(
        !uncorrected.iter().any(|p| p.kind == PatternKind::KillerCommand && p.hosts.len() == HOSTS.len()),
        "uncorrected clocks should not join all five pkills: {uncorrected:#?}"
    );
    assert!(!uncorrected.iter().any(|p| p.kind == PatternKind::OomStorm), "uncorrected OOM kills are 7.5 min apart: {uncorrected:#?}");

    // The OOM storm and the shared memory cgroup on web-2 and db-1, 30 s apart in true time.
    for (kind, key) in [("oom_storm", "oom kills"), ("cgroup_oom", "memory cgroup /app")] {
        let p: Vec<&Value> = pats.iter().filter(|p| p["kind"] == kind).collect();
        assert_eq!(p.len(), 1, "{kind}: {}", serde_json::to_string_pretty(pats).unwrap_or_default());
        assert_eq!(p[0]["key"], key);
        assert_eq!(p[0]["hosts"], serde_json::json!(["db-1", "web-2"]), "{}", p[0]);
        let span = t_us(&p[0]["last"]) - t_us(&p[0]["first"]);
        assert!((span - 30_000_000).abs() <= 2 * max_unc, "{kind}: {span} µs apart, staged 30 s: {}", p[0]);
    }

    // The reboot: one death on web-3, and no reboot pattern (one host is no pattern).
    let reboots: Vec<&Value> = deaths.iter().filter(|d| d["cause"] == "reboot").collect();
    assert_eq!(reboots.len(), 1, "{dump}");
    assert_eq!(reboots[0]["host"], "web-3");
    let rb = t_us(&reboots[0]["time"]);
    assert!((rb - (t0 + 600) * 1_000_000).abs() <= max_unc, "reboot at {rb}, staged {}", (t0 + 600) * 1_000_000);
    assert!(!pats.iter().any(|p| p["kind"] == "reboot"), "{dump}");
    // Nothing else was staged that spans hosts.
    let kinds: BTreeSet<&str> = pats.iter().map(|p| p["kind"].as_str().expect("kind")).collect();
    assert_eq!(kinds, BTreeSet::from(["cgroup_oom", "killer_command", "oom_storm"]), "{dump}");
}
