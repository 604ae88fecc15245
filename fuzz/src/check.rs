//! Shared by the fuzz targets and by `report/tests/fuzz_regressions.rs` (which includes this file by path, so
//! a found input is replayed through exactly the target that found it): which parser each target calls, with
//! what context, and the invariants every call must keep beyond not panicking: each event's origin lies
//! inside the input, each time lies inside its stated bounds, and the same bytes give the same result twice.

#![allow(dead_code)]

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use coroner_report::bundle::{self, Keep, Limits};
use coroner_report::sources::container_ids;
use coroner_report::sources::core_name::{CoreNaming, NamePattern};
use coroner_report::sources::{self, Parsed, SourceCtx};
use coroner_report::verify;
use coroner_schemas::accounts::Accounts;
use coroner_schemas::manifest::{Entry, Manifest};
use coroner_schemas::Timestamp;
use serde_json::json;

/// One way a parser is called: the manifest entry's format, bundle path, host path and category.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    pub format: &'static str,
    pub path: &'static str,
    pub source: &'static str,
    pub category: &'static str,
}

/// Shorthand for a [`Spec`] table.
pub const fn spec(format: &'static str, path: &'static str, source: &'static str, category: &'static str) -> Spec {
    Spec { format, path, source, category }
}

/// Every parser target and the ways it calls its parser (the input's first byte picks one when there are
/// several; `fuzz/seed.sh` puts that byte before each fixture it seeds with).
pub const PARSERS: &[(&str, &[Spec])] = &[
    ("kmsg", &[
        spec("kmsg", "live/kernel/kmsg", "/dev/kmsg", "kernel"),
        spec("dmesg_text", "fs/var/log/dmesg", "/var/log/dmesg", "kernel"),
        spec("pstore", "fs/var/lib/systemd/pstore/dmesg-ramoops-0", "/var/lib/systemd/pstore/dmesg-ramoops-0", "kernel"),
    ]),
    ("syslog", &[spec("syslog", "fs/var/log/syslog", "/var/log/syslog", "syslog")]),
    ("journal", &[spec("journal_json", "live/journal/journal.json", "journalctl -o json", "journal")]),
    ("audit", &[spec("audit_log", "fs/var/log/audit/audit.log", "/var/log/audit/audit.log", "audit")]),
    ("utmp", &[
        spec("utmp", "fs/var/log/wtmp", "/var/log/wtmp", "logins"),
        spec("utmp", "fs/var/log/btmp", "/var/log/btmp", "logins"),
        spec("utmp", "fs/run/utmp", "/run/utmp", "logins"),
    ]),
    ("lastlog", &[
        spec("lastlog", "fs/var/log/lastlog", "/var/log/lastlog", "logins"),
        spec("lastlog_json", "live/logins/lastlog.json", "lastlog --json", "logins"),
    ]),
    ("history", &[
        spec("bash_history", "fs/home/alice/.bash_history", "/home/alice/.bash_history", "history"),
        spec("zsh_history", "fs/home/alice/.zsh_history", "/home/alice/.zsh_history", "history"),
        spec("fish_history", "fs/home/alice/.local/share/fish/fish_history", "/home/alice/.local/share/fish/fish_history", "history"),
        spec("sh_history", "fs/home/alice/.sh_history", "/home/alice/.sh_history", "history"),
        spec("tcsh_history", "fs/home/alice/.history", "/home/alice/.history", "history"),
        spec("other_history", "fs/home/alice/.python_history", "/home/alice/.python_history", "history"),
    ]),
    ("cron", &[
        spec("system_crontab", "fs/etc/crontab", "/etc/crontab", "cron"),
        spec("user_crontab", "fs/var/spool/cron/crontabs/alice", "/var/spool/cron/crontabs/alice", "cron"),
        spec("anacrontab", "fs/etc/anacrontab", "/etc/anacrontab", "cron"),
        spec("systemd_timers", "live/systemd/list-timers.txt", "systemctl list-timers --all", "cron"),
    ]),
    ("core_elf", &[spec("core_elf", "fs/var/crash/core.segv.78.11.1796398802", "/var/crash/core.segv.78.11.1796398802", "cores")]),
    ("core_meta", &[spec("other", "live/cores/var/crash/core.segv.78.11.1796398802.meta.json", "/var/crash/core.segv.78.11.1796398802", "cores")]),
    ("proc", &[spec("proc_snapshot_json", "live/proc/processes.json", "/proc", "proc")]),
    ("limits", &[
        spec("proc_limits", "live/proc/1/limits", "/proc/1/limits", "limits"),
        spec("limits_conf", "fs/etc/security/limits.conf", "/etc/security/limits.conf", "limits"),
    ]),
    ("settings", &[
        spec("sysctl_json", "live/settings/sysctl.json", "/proc/sys", "settings"),
        spec("cgroups_json", "live/settings/cgroups.json", "/sys/fs/cgroup", "cgroups"),
        spec("audit_rules", "live/settings/auditctl-l.txt", "auditctl -l", "audit"),
        spec("audit_status", "live/settings/auditctl-s.txt", "auditctl -s", "audit"),
        spec("systemd_show_json", "live/systemd/show.json", "systemctl show", "systemd"),
    ]),
    ("watch", &[spec("watch_jsonl", "fs/var/lib/coroner/watch/watch-1.jsonl", "/var/lib/coroner/watch/watch-1.jsonl", "watch")]),
    ("docker", &[
        spec("docker_config_json", "fs/var/lib/docker/containers/575da7c9803ba895725e27c2b9e31186cff274dc35be146c218088f32434a67a/config.v2.json", "/var/lib/docker/containers/575da7c9803ba895725e27c2b9e31186cff274dc35be146c218088f32434a67a/config.v2.json", "containers"),
        spec("docker_host_config_json", "fs/var/lib/docker/containers/575da7c9803ba895725e27c2b9e31186cff274dc35be146c218088f32434a67a/hostconfig.json", "/var/lib/docker/containers/575da7c9803ba895725e27c2b9e31186cff274dc35be146c218088f32434a67a/hostconfig.json", "containers"),
        spec("docker_json_log", "fs/var/lib/docker/containers/575da7c9803ba895725e27c2b9e31186cff274dc35be146c218088f32434a67a/575da7c9803ba895725e27c2b9e31186cff274dc35be146c218088f32434a67a-json.log", "/var/lib/docker/containers/575da7c9803ba895725e27c2b9e31186cff274dc35be146c218088f32434a67a/575da7c9803ba895725e27c2b9e31186cff274dc35be146c218088f32434a67a-json.log", "containers"),
        spec("docker_ps_json", "live/containers/docker-ps.jsonl", "docker ps -a --no-trunc --format json", "containers"),
        spec("docker_inspect_json", "live/containers/docker-inspect.json", "docker inspect", "containers"),
    ]),
    ("oci", &[
        spec("oci_config_json", "fs/run/containerd/io.containerd.runtime.v2.task/k8s.io/9249295d7c956bcaed7878e9825b9ffa191d4718e07c622ba8ff7f7c0634bd27/config.json", "/run/containerd/io.containerd.runtime.v2.task/k8s.io/9249295d7c956bcaed7878e9825b9ffa191d4718e07c622ba8ff7f7c0634bd27/config.json", "containers"),
        spec("container_state_json", "fs/run/crio/state/9249295d7c956bcaed7878e9825b9ffa191d4718e07c622ba8ff7f7c0634bd27/state.json", "/run/crio/state/9249295d7c956bcaed7878e9825b9ffa191d4718e07c622ba8ff7f7c0634bd27/state.json", "containers"),
    ]),
    ("podman_events", &[
        spec("podman_events_log", "fs/run/libpod/events/events.log", "/run/libpod/events/events.log", "containers"),
        spec("podman_ps_json", "live/containers/podman-ps.json", "podman ps -a --format json", "containers"),
    ]),
    ("crictl", &[
        spec("crictl_ps_json", "live/containers/crictl-ps.json", "crictl ps -a -o json", "containers"),
        spec("crictl_inspect_json", "live/containers/crictl-inspect.jsonl", "crictl inspect", "containers"),
    ]),
    ("kubelet", &[
        spec("kubelet_log", "fs/var/log/kubelet.log", "/var/log/kubelet.log", "containers"),
        spec("kubelet_config_yaml", "fs/var/lib/kubelet/config.yaml", "/var/lib/kubelet/config.yaml", "containers"),
    ]),
    ("runtime_log", &[spec("runtime_log", "fs/var/log/containerd.log", "/var/log/containerd.log", "containers")]),
    ("cri_log", &[
        spec("cri_log", "fs/var/log/pods/default_web-2_1a2b3c4d-0000-4000-8000-000000000001/web/0.log", "/var/log/pods/default_web-2_1a2b3c4d-0000-4000-8000-000000000001/web/0.log", "containers"),
        spec("container_log_links", "live/containers/log-links.json", "/var/log/containers", "containers"),
    ]),
    ("conmon", &[
        spec("conmon_exit_file", "fs/run/libpod/exits/9249295d7c956bcaed7878e9825b9ffa191d4718e07c622ba8ff7f7c0634bd27", "/run/libpod/exits/9249295d7c956bcaed7878e9825b9ffa191d4718e07c622ba8ff7f7c0634bd27", "containers"),
        spec("conmon_oom_file", "fs/var/lib/containers/storage/overlay-containers/9249295d7c956bcaed7878e9825b9ffa191d4718e07c622ba8ff7f7c0634bd27/userdata/oom", "/var/lib/containers/storage/overlay-containers/9249295d7c956bcaed7878e9825b9ffa191d4718e07c622ba8ff7f7c0634bd27/userdata/oom", "containers"),
    ]),
];

/// The targets that are not a parser's `parse(bytes, ctx)`.
pub const OTHERS: &[&str] = &["bundle", "manifest", "verify_keys", "core_name", "container_ids"];

/// Runs one target over `data` (what each `fuzz_targets/<name>.rs` does).
pub fn run(target: &str, data: &[u8]) {
    match target {
        "bundle" => fuzz_bundle(data),
        "manifest" => fuzz_manifest(data),
        "verify_keys" => fuzz_verify_keys(data),
        "core_name" => fuzz_core_name(data),
        "container_ids" => fuzz_container_ids(data),
        _ => match PARSERS.iter().find(|(n, _)| *n == target) {
            Some((_, specs)) => fuzz_parser(specs, data),
            None => panic!("no fuzz target {target:?}"),
        },
    }
}

/// The host every target parses for: a clock sample and boot time (so kernel times convert), a zone an hour
/// east of UTC (so local times convert), and a collection time.
pub fn manifest() -> Manifest {
    serde_json::from_value(json!({
        "schema_version": 1, "bundle_name": "fuzz.tar.gz",
        "host": {"hostname": "vm", "utc_offset_seconds": 3600, "timezone": "Europe/Berlin",
            "boot_time": "2026-11-27T20:02:58.000000Z"},
        "clock": {"realtime_ns": 1_795_810_888_666_408_980_i64, "monotonic_ns": 1_109_713_702_303_u64,
            "boottime_ns": 1_109_713_703_265_u64, "uncertainty_ns": 1000},
        "collector": {"name": "coroner-collect", "version": "0", "started": "2026-11-27T20:21:28.000000Z",
            "finished": "2026-11-27T20:21:29.000000Z", "argv": [], "uid": 0, "euid": 0, "live": true,
            "signer_fingerprint": "SHA256:x", "ephemeral_key": true,
            "options": {"cores": "meta", "core_cap_bytes": 0, "max_file_bytes": 0, "max_total_bytes": 0,
                "journal_window_seconds": 0, "command_timeout_ms": 0, "includes": [], "excludes": [], "gentle": false}},
        "entries": [], "problems": []
    }))
    .expect("the fuzz manifest is valid")
}

/// The entry for `s`, owned by alice, with an mtime (histories bound undated lines by it).
pub fn entry(s: &Spec, size: usize) -> Entry {
    serde_json::from_value(json!({
        "path": s.path, "source": s.source, "category": s.category, "format": s.format, "account": "alice",
        "size": size, "sha256": "00", "status": {"kind": "ok"},
        "stat": {"mode": 0o100600, "uid": 1000, "gid": 1000, "size": size, "allocated": size,
            "mtime": "2026-11-27T20:20:00.000000Z", "ino": 1, "dev": 1, "nlink": 1}
    }))
    .expect("the fuzz entry is valid")
}

pub fn accounts() -> Accounts {
    Accounts::parse(
        b"root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000:Alice:/home/alice:/bin/zsh\n",
        b"root:x:0:\nalice:x:1000:\n",
    )
}

/// Picks one of `specs` by the input's first byte (when there is more than one) and returns the rest.
pub fn choose<'a>(specs: &'a [Spec], data: &'a [u8]) -> (&'a Spec, &'a [u8]) {
    match (specs, data.split_first()) {
        ([only], _) => (only, data),
        (_, Some((b, rest))) => (&specs[usize::from(*b) % specs.len()], rest),
        (_, None) => (&specs[0], data),
    }
}

/// Parses `data` as one of `specs` (see [`choose`]) twice and checks the invariants.
pub fn fuzz_parser(specs: &[Spec], data: &[u8]) {
    let (s, raw) = choose(specs, data);
    let m = manifest();
    let acc = accounts();
    let e = entry(s, raw.len());
    let ctx = SourceCtx::new(&e, &m, &acc);
    let bytes = Bytes::copy_from_slice(raw);
    let first = sources::parse(&bytes, &ctx);
    check_parsed(raw, &ctx, &first);
    let again = sources::parse(&bytes, &ctx);
    assert_same(&first, &again);
}

/// Same bytes, same events, problems and facts.
pub fn assert_same(a: &Parsed, b: &Parsed) {
    let (da, db) = (format!("{:?}", (&a.events, &a.problems, &a.facts)), format!("{:?}", (&b.events, &b.problems, &b.facts)));
    assert!(da == db, "two parses of the same bytes differ:\n{da}\n---\n{db}");
}

/// Lines in `raw` (a last line without its newline counts).
fn line_count(raw: &[u8]) -> u64 {
    let nl = raw.iter().filter(|&&b| b == b'\n').count() as u64;
    if raw.last() == Some(&b'\n') {
        nl
    } else {
        nl + 1
    }
}

/// The invariants over one parse of `raw`.
pub fn check_parsed(raw: &[u8], ctx: &SourceCtx, p: &Parsed) {
    let len = raw.len() as u64;
    let lines = line_count(raw);
    for e in &p.events {
        assert_eq!(&*e.origin.entry, &*ctx.path, "event names another entry: {e:?}");
        if let Some(o) = e.origin.offset {
            assert!(o < len.max(1), "event offset {o} is past the {len}-byte input: {e:?}");
        }
        if let Some(l) = e.origin.line {
            assert!((1..=lines).contains(&l), "event line {l} is outside the input's {lines} lines: {e:?}");
        }
        check_time(&e.timestamp, ctx);
        if let Err(err) = serde_json::to_string(e) {
            panic!("event does not serialize ({err}): {e:?}");
        }
    }
    // A problem's offset may name bytes that are missing (a note segment past a cut core's end); its line not.
    for pr in &p.problems {
        if let Some(l) = pr.line {
            assert!(l <= lines.max(1), "problem line {l} is past the input's {lines} lines: {pr:?}");
        }
    }
}

/// A time lies inside its stated bounds: bounds are ordered, and a kernel time converted with the
/// manifest's clock is that clock's boot plus the time since boot.
pub fn check_time(t: &Timestamp, ctx: &SourceCtx) {
    match t {
        Timestamp::Bounded { after: Some(a), before: Some(b) } => {
            assert!(a <= b, "bounds out of order: after {a:?} > before {b:?}");
        }
        Timestamp::FromBoot { utc, since_boot_us } if matches!(ctx.entry.category, coroner_schemas::manifest::Category::Kernel) => {
            let want = ctx.manifest.clock.as_ref().and_then(|c| c.boot_us_to_utc(*since_boot_us));
            assert_eq!(Some(*utc), want, "a kernel time is not the clock's boot plus {since_boot_us} µs");
        }
        _ => {}
    }
}

/// Caps small enough that a fuzzed bundle cannot exhaust memory, large enough for the seed bundle.
fn bundle_limits() -> Limits {
    Limits { max_entry: 4 << 20, max_total: 16 << 20, max_manifest: 1 << 20, max_small: 1 << 20, max_kept: 8 << 20 }
}

/// A private file for one bundle (the reader takes a path).
fn temp_bundle(gz: &[u8]) -> std::path::PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = if std::path::Path::new("/dev/shm").is_dir() { std::path::PathBuf::from("/dev/shm") } else { std::env::temp_dir() };
    let p = dir.join(format!("coroner-fuzz-{}-{}.tar.gz", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
    std::fs::write(&p, gz).expect("write the fuzzed bundle");
    p
}

/// Bundle reading and verification. The input is a gzip stream when it starts with gzip's magic, else a tar
/// that is gzipped here (so the fuzzer mutates tar headers, not deflate blocks). Invariants: both passes agree
/// on every member's bytes, kept bytes hash to the member's sha256, caps hold, a scan and a verification of the
/// same bytes repeat, and a bundle verifies only with a good signature and no failure.
pub fn fuzz_bundle(data: &[u8]) {
    let gz = if data.starts_with(&[0x1f, 0x8b]) {
        data.to_vec()
    } else {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(data).expect("gzip into memory");
        enc.finish().expect("gzip into memory")
    };
    let path = temp_bundle(&gz);
    let limits = bundle_limits();
    let keep = Keep { budget: 8 << 20, always: Default::default() };
    let first = bundle::scan_keeping(&path, &limits, &keep);
    let again = bundle::scan_keeping(&path, &limits, &keep);
    let mut pass2 = Vec::new();
    let wanted: std::collections::BTreeSet<String> = match &first {
        Ok(s) => s.members.iter().filter(|m| m.bad_name.is_none()).map(|m| m.name.clone()).collect(),
        Err(_) => Default::default(),
    };
    let read = bundle::read_members(&path, &limits, &wanted, |m| pass2.push((m.name, m.sha256, m.bytes.len())));
    let _ = std::fs::remove_file(&path);
    let (da, db) = (format!("{first:?}"), format!("{again:?}"));
    assert!(da == db, "two scans of the same bundle differ:\n{da}\n---\n{db}");
    let Ok(scan) = first else { return };
    assert!(scan.total_bytes <= limits.max_total, "scan read past the total cap");
    let mut sum = 0u64;
    for m in &scan.members {
        assert!(m.size <= limits.max_entry, "member {:?} past the entry cap", m.name);
        sum += m.size;
        if m.kind == bundle::MemberKind::Regular {
            assert!(m.sha256.is_some(), "regular member {:?} without a hash", m.name);
        }
    }
    assert!(sum <= scan.total_bytes, "members hold more bytes than the stream");
    for (name, bytes) in &scan.kept {
        let m = scan.member(name).unwrap_or_else(|| panic!("kept {name:?} is no safe regular member"));
        assert_eq!(bytes.len() as u64, m.size, "kept {name:?} is not the member's size");
        let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes));
        assert_eq!(Some(&sha), m.sha256.as_ref(), "kept {name:?} does not hash to the member's sha256");
    }
    if read.is_ok() {
        for (name, sha, len) in &pass2 {
            let m = scan.member(name).unwrap_or_else(|| panic!("pass 2 read {name:?}, which pass 1 did not find"));
            assert_eq!((Some(sha), *len as u64), (m.sha256.as_ref(), m.size), "the two passes disagree on {name:?}");
        }
    }
    let (r, manifest) = verify::check(&scan, None);
    let (r2, manifest2) = verify::check(&scan, None);
    assert_eq!(r, r2, "two verifications of one scan differ");
    assert_eq!(manifest, manifest2, "two verifications of one scan read different manifests");
    assert!(!r.ok || (r.signature_good && r.failures.is_empty()), "verified without a good signature: {r:?}");
}

/// `manifest.json`: read as verification reads it, checked against an empty bundle; a manifest that parses
/// serializes back to one that parses to the same.
pub fn fuzz_manifest(data: &[u8]) {
    if let Ok(m) = serde_json::from_slice::<Manifest>(data) {
        let out = serde_json::to_vec(&m).expect("a parsed manifest serializes");
        let back: Manifest = serde_json::from_slice(&out).expect("a serialized manifest parses");
        assert_eq!(m, back, "manifest does not survive a round trip");
    }
    let scan = bundle::Scan { manifest: Some(data.to_vec()), ..Default::default() };
    let (r, _) = verify::check(&scan, None);
    assert!(!r.ok, "a bundle of only a manifest verified");
    let (r2, _) = verify::check(&scan, None);
    assert_eq!(r, r2, "two verifications of one manifest differ");
}

/// The analyst's key files: public key lines and allowed_signers (and its times). Every key names a line of
/// the input, and the same text gives the same keys.
pub fn fuzz_verify_keys(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let lines = text.lines().count();
    let at = coroner_schemas::Utc::from_unix(1_795_810_888, 0).expect("a valid time");
    let (keys, skipped) = verify::parse_pubkeys(&text);
    let (signers, skipped2) = verify::parse_allowed_signers(&text, at);
    for (_, line) in keys.iter().chain(&signers) {
        assert!(*line <= lines, "key at line {line} of {lines}");
    }
    assert_eq!(format!("{:?}", (&keys, &skipped)), format!("{:?}", verify::parse_pubkeys(&text)));
    assert_eq!(format!("{:?}", (&signers, &skipped2)), format!("{:?}", verify::parse_allowed_signers(&text, at)));
    for word in text.split_whitespace() {
        let _ = verify::parse_ssh_time(word);
    }
}

/// Core file names read through `kernel.core_pattern`: the input is a pattern, a newline, and a name. Every
/// value read from the name is written in the name.
pub fn fuzz_core_name(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (pattern, name) = text.split_once('\n').unwrap_or((&text, ""));
    let uses_pid = pattern.len() % 2 == 1;
    let found = NamePattern::new(pattern, uses_pid).and_then(|p| p.read(name));
    let naming = CoreNaming { pattern: Some(pattern.to_owned()), uses_pid };
    let through = naming.read(name);
    for m in found.iter().chain(through.as_ref().map(|(m, _)| m)) {
        for (s, v) in &m.values {
            assert!(name.contains(v.as_str()), "{s:?} = {v:?} is not in the name {name:?}");
        }
    }
    assert_eq!(format!("{through:?}"), format!("{:?}", naming.read(name)));
    let _ = CoreNaming::from_sysctl_json(data);
}

/// Container ids in cgroup paths: an id found is a whole 64-hex component of the path.
pub fn fuzz_container_ids(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Some(c) = container_ids::parse(&text) {
        assert!(container_ids::is_id(c.id), "{:?} is not an id", c.id);
        assert!(text.contains(c.id), "id {:?} is not in the path", c.id);
    }
}
