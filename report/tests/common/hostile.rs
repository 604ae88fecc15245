//! The hostile-content bundle: every payload of `fixtures/hostile/payloads.txt` written into each
//! attacker-controlled source of a staged host tree (shell history, syslog and kern.log lines, an OOM-killed
//! process's comm, audit comm/ocomm/proctitle, btmp user names, Docker container names and log lines), taken
//! by the real collector with `--root`, and the journal (which `--root` copies raw, unparsed) as a signed
//! bundle of `journalctl -o json` lines. A benign twin puts `benign-NN` in the same places, so the two
//! reports have the same shape. Include with `mod common; #[path = "common/hostile.rs"] mod hostile;` beside
//! `#[path = "common/live.rs"] mod live;`.

#![allow(dead_code)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use coroner_schemas::manifest::{Category, Format};

use crate::common::BundleBuilder;
use crate::live;

/// One payload: its name and its exact bytes.
#[derive(Clone, Debug)]
pub struct Payload {
    pub name: String,
    pub bytes: Vec<u8>,
}

impl Payload {
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(&self.bytes).ok()
    }
}

/// Decodes a payload line's escapes: `\xNN` one byte, `\u{HEX}` a character, `\\` a backslash.
fn unescape(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(at) = rest.find('\\') {
        out.extend_from_slice(&rest.as_bytes()[..at]);
        let esc = &rest[at + 1..];
        if let Some(r) = esc.strip_prefix('\\') {
            out.push(b'\\');
            rest = r;
        } else if let Some(r) = esc.strip_prefix('x') {
            let hex = r.get(..2).ok_or("short \\x")?;
            out.push(u8::from_str_radix(hex, 16).map_err(|e| format!("\\x{hex}: {e}"))?);
            rest = &r[2..];
        } else if let Some(r) = esc.strip_prefix("u{") {
            let end = r.find('}').ok_or("unclosed \\u{")?;
            let c = u32::from_str_radix(&r[..end], 16).ok().and_then(char::from_u32).ok_or("bad \\u{}")?;
            out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
            rest = &r[end + 1..];
        } else {
            return Err(format!("unknown escape in {s:?}"));
        }
    }
    out.extend_from_slice(rest.as_bytes());
    Ok(out)
}

/// Every payload of `fixtures/hostile/payloads.txt`, in file order.
pub fn payloads() -> Vec<Payload> {
    let path = crate::common::repo_root().join("fixtures/hostile/payloads.txt");
    let text = std::fs::read_to_string(&path).expect("payloads.txt");
    let out: Vec<Payload> = text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (name, p) = l.split_once('\t').unwrap_or_else(|| panic!("no tab in payload line {l:?}"));
            Payload { name: name.to_owned(), bytes: unescape(p).unwrap_or_else(|e| panic!("{name}: {e}")) }
        })
        .collect();
    assert!(out.len() >= 30, "payloads.txt lost payloads: {}", out.len());
    out
}

/// The benign twin: the same names, each payload `benign-NN`.
pub fn benign(payloads: &[Payload]) -> Vec<Payload> {
    payloads
        .iter()
        .enumerate()
        .map(|(i, p)| Payload { name: p.name.clone(), bytes: format!("benign-{i:02}").into_bytes() })
        .collect()
}

/// Where each payload is staged; `Sources::ALL` lists them for the reach check.
pub const SOURCES: &[&str] = &["history", "syslog", "kern_comm", "audit_comm", "audit_proctitle", "btmp", "container_name", "container_log", "journal"];

/// ut_user is 32 bytes: longer payloads cannot be a btmp user name.
pub const UT_USER: usize = 32;

/// Whether `source` carries payload `p` (JSON sources need UTF-8; btmp fits 32 bytes).
pub fn carries(source: &str, p: &Payload) -> bool {
    match source {
        "btmp" => p.bytes.len() <= UT_USER && !p.bytes.contains(&0),
        "container_name" | "container_log" => p.text().is_some(),
        _ => true,
    }
}

const EPOCH: i64 = 1_795_810_000; // 2026-11-27T20:06:40Z

fn write(root: &Path, rel: &str, data: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, data).expect("write");
}

fn hexup(b: &[u8]) -> String {
    hex::encode_upper(b)
}

/// One glibc x86_64 utmp record (384 bytes): a failed login (LOGIN_PROCESS, as sshd writes btmp) by `user`.
fn btmp_record(user: &[u8], pid: i32, secs: i32) -> Vec<u8> {
    let mut r = vec![0u8; 384];
    r[0..2].copy_from_slice(&6i16.to_le_bytes());
    r[4..8].copy_from_slice(&pid.to_le_bytes());
    r[8..17].copy_from_slice(b"ssh:notty");
    let n = user.len().min(UT_USER);
    r[44..44 + n].copy_from_slice(&user[..n]);
    r[76..88].copy_from_slice(b"198.51.100.9");
    r[340..344].copy_from_slice(&secs.to_le_bytes());
    r[348..352].copy_from_slice(&[198, 51, 100, 9]);
    r
}

/// A 64-hex container id for payload `i`, distinct in its first 16 digits (`why --container` takes a prefix).
pub fn container_id(i: usize) -> String {
    format!("{:016x}", 0xc0de_0000_0000_0000u64 + i as u64).repeat(4)
}

/// Writes the host tree: each payload in every source that can carry it.
pub fn stage(root: &Path, payloads: &[Payload]) {
    write(root, "etc/passwd", b"root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000:Alice:/home/alice:/bin/bash\n");
    write(root, "etc/group", b"root:x:0:\nalice:x:1000:\n");
    let (mut history, mut syslog, mut kern, mut audit, mut btmp) = (Vec::new(), Vec::new(), Vec::new(), String::new(), Vec::new());
    for (i, p) in payloads.iter().enumerate() {
        let n = i as i64;
        let secs = EPOCH + 10 * n;
        // bash history with HISTTIMEFORMAT: `#EPOCH` then the command line.
        history.extend_from_slice(format!("#{secs}\n").as_bytes());
        history.extend_from_slice(&p.bytes);
        history.push(b'\n');
        let stamp = time::OffsetDateTime::from_unix_timestamp(secs).expect("time");
        let when = format!("Nov 27 {:02}:{:02}:{:02}", stamp.hour(), stamp.minute(), stamp.second());
        syslog.extend_from_slice(format!("{when} vm app[{}]: request from ", 300 + i).as_bytes());
        syslog.extend_from_slice(&p.bytes);
        syslog.push(b'\n');
        // An OOM kill whose victim's comm is the payload.
        kern.extend_from_slice(format!("{when} vm kernel: [ {}.000100] Memory cgroup out of memory: Killed process {} (", 1000 + i, 5000 + i).as_bytes());
        kern.extend_from_slice(&p.bytes);
        kern.extend_from_slice(b") total-vm:221368kB, anon-rss:50816kB, file-rss:6596kB, shmem-rss:0kB, UID:1000 pgtables:168kB oom_score_adj:0\n");
        // An audited kill(2): the sender's comm and the target's ocomm are the payload (auditd writes such
        // strings in hex), its proctitle `kill -9 PAYLOAD`.
        let serial = 100 + i;
        let _ = writeln!(
            audit,
            "type=SYSCALL msg=audit({secs}.100:{serial}): arch=c000003e syscall=62 success=yes exit=0 a0={:x} a1=9 a2=0 a3=0 items=0 ppid=900 pid={} auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 fsuid=1000 egid=1000 sgid=1000 fsgid=1000 tty=pts0 ses=3 comm={} exe=\"/usr/bin/kill\" key=\"coroner_kill\"",
            6000 + i,
            7000 + i,
            hexup(&p.bytes)
        );
        let _ = writeln!(audit, "type=OBJ_PID msg=audit({secs}.100:{serial}): opid={} oauid=1000 ouid=1000 oses=3 ocomm={}", 6000 + i, hexup(&p.bytes));
        let mut title = b"kill\0-9\0".to_vec();
        title.extend_from_slice(&p.bytes);
        let _ = writeln!(audit, "type=PROCTITLE msg=audit({secs}.100:{serial}): proctitle={}", hexup(&title));
        if carries("btmp", p) {
            btmp.extend_from_slice(&btmp_record(&p.bytes, 2300 + i as i32, secs as i32));
        }
        if let Some(t) = p.text().filter(|_| carries("container_name", p)) {
            stage_container(root, i, t, secs);
        }
    }
    write(root, "root/.bash_history", &history);
    write(root, "var/log/syslog", &syslog);
    write(root, "var/log/kern.log", &kern);
    write(root, "var/log/audit/audit.log", audit.as_bytes());
    write(root, "var/log/btmp", &btmp);
}

/// A Docker container named by the payload that exited 137, with one log line carrying it.
fn stage_container(root: &Path, i: usize, name: &str, secs: i64) {
    let id = container_id(i);
    let at = |s: i64| time::OffsetDateTime::from_unix_timestamp(s).expect("time").format(&time::format_description::well_known::Rfc3339).expect("rfc3339");
    let config = serde_json::json!({
        "State": {"Running": false, "Paused": false, "Restarting": false, "OOMKilled": false, "Dead": false, "Pid": 0,
                  "ExitCode": 137, "Error": "", "StartedAt": at(secs - 5), "FinishedAt": at(secs), "Health": null},
        "ID": id, "Created": at(secs - 6), "Path": "sh", "Args": ["-c", "sleep 100"],
        "Config": {"Hostname": &id[..12], "Image": "coroner/busybox:1", "Cmd": ["sh", "-c", "sleep 100"], "Labels": {}},
        "Image": "sha256:92912d96fe2fc5af0b0bf0336b75265df73284d8f085e864b2f5f08a387b1c7a",
        "Name": format!("/{name}"), "Driver": "vfs", "RestartCount": 0,
    });
    let dir = format!("var/lib/docker/containers/{id}");
    write(root, &format!("{dir}/config.v2.json"), serde_json::to_string(&config).expect("json").as_bytes());
    let line = serde_json::json!({"log": format!("{name}\n"), "stream": "stderr", "time": at(secs - 1)});
    write(root, &format!("{dir}/{id}-json.log"), format!("{line}\n").as_bytes());
}

/// `journalctl -o json` lines: each payload as MESSAGE, _COMM and SYSLOG_IDENTIFIER (non-UTF-8 values as
/// journalctl exports them, arrays of byte values).
pub fn journal_lines(payloads: &[Payload]) -> Vec<u8> {
    let field = |b: &[u8]| match std::str::from_utf8(b) {
        Ok(s) => serde_json::Value::from(s),
        Err(_) => serde_json::Value::from(b.to_vec()),
    };
    let mut out = Vec::new();
    for (i, p) in payloads.iter().enumerate() {
        let us = (EPOCH + 10 * i as i64) * 1_000_000 + 500;
        let v = serde_json::json!({
            "__REALTIME_TIMESTAMP": us.to_string(), "_HOSTNAME": "vm", "_TRANSPORT": "syslog", "PRIORITY": "4",
            "_PID": (8000 + i).to_string(), "_UID": "1000", "_COMM": field(&p.bytes),
            "SYSLOG_IDENTIFIER": field(&p.bytes), "MESSAGE": field(&p.bytes),
        });
        out.extend_from_slice(serde_json::to_string(&v).expect("json").as_bytes());
        out.push(b'\n');
    }
    out
}

/// The outputs of one hostile (or benign) run: the collected bundle, the journal bundle, and their reports.
pub struct Run {
    pub dir: tempfile::TempDir,
    pub bundle: PathBuf,
    pub journal_bundle: PathBuf,
    pub report: PathBuf,
    pub journal_report: PathBuf,
}

/// Renders `bundle` into `out` with the real `coroner-report render` (exit 0 or 1: problems recorded).
pub fn render(bundle: &Path, out: &Path) {
    let r = Command::new(env!("CARGO_BIN_EXE_coroner-report")).arg("render").arg(bundle).arg("-o").arg(out).output().expect("render");
    assert!(matches!(r.status.code(), Some(0 | 1)), "render failed: {}", String::from_utf8_lossy(&r.stderr));
}

/// Stages `payloads`, collects with the real collector under `--root`, builds the journal bundle, renders both.
pub fn run(payloads: &[Payload]) -> Run {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("root");
    stage(&root, payloads);
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).expect("mkdir");
    let c = Command::new(live::collector()).args(["--no-gentle", "--quiet", "--root"]).arg(&root).arg("-o").arg(&out).output().expect("run the collector");
    assert!(matches!(c.status.code(), Some(0 | 1)), "collector failed: {}", String::from_utf8_lossy(&c.stderr));
    let bundle = PathBuf::from(String::from_utf8_lossy(&c.stdout).lines().last().expect("bundle path").trim());
    let mut b = BundleBuilder::new("vm");
    b.file(
        "cmd/journalctl.json",
        "journalctl -o json --no-pager --all",
        Category::Journal,
        Format::JournalJson,
        &journal_lines(payloads),
    );
    let journal_bundle = dir.path().join("journal.tar.gz");
    b.write(&journal_bundle);
    let report = dir.path().join("report");
    let journal_report = dir.path().join("journal-report");
    render(&bundle, &report);
    render(&journal_bundle, &journal_report);
    Run { dir, bundle, journal_bundle, report, journal_report }
}

/// Every event of a `timeline.jsonl`.
pub fn timeline(report: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(report.join("timeline.jsonl")).expect("timeline.jsonl");
    text.lines().map(|l| serde_json::from_str(l).expect("timeline row")).collect()
}
