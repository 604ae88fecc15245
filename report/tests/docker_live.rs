//! Root test: the Docker scenarios staged again on this host (fixtures/containers/docker/stage.sh, into a temp
//! dir), and the parsers read what this dockerd writes today: the committed fixtures are not the only proof.
//! The script runs its own dockerd on its own data root, exec root and socket under /tmp, stops it by the pid in
//! its pidfile and removes its dir (also when killed: it traps TERM). Bounded: the script is given 280 s, the
//! test kills it (by its pid) at 300 s. Needs root, Debian's docker.io and busybox-static.

#[path = "common/live.rs"]
mod live;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use bytes::Bytes;
use coroner_report::sources::facts::{ContainerRecord, Fact};
use coroner_report::sources::{parse, Parsed, SourceCtx};
use coroner_schemas::accounts::Accounts;
use coroner_schemas::manifest::{Entry, Manifest};
use coroner_schemas::EventKind;

fn manifest() -> Manifest {
    serde_json::from_value(serde_json::json!({
        "schema_version": 1, "bundle_name": "t", "host": {"hostname": "t"},
        "collector": {"name": "c", "version": "0", "started": "2026-11-27T20:00:00.000000Z",
            "finished": "2026-11-27T20:00:01.000000Z", "argv": [], "uid": 0, "euid": 0, "live": true,
            "signer_fingerprint": "x", "ephemeral_key": true,
            "options": {"cores": "meta", "core_cap_bytes": 0, "max_file_bytes": 0, "max_total_bytes": 0,
                "journal_window_seconds": 0, "command_timeout_ms": 0, "includes": [], "excludes": [], "gentle": false}},
        "entries": [], "problems": []
    }))
    .expect("manifest")
}

fn parse_file(path: &Path, host_path: &str, format: &str) -> Parsed {
    let e: Entry = serde_json::from_value(serde_json::json!({
        "path": format!("fs{host_path}"), "source": host_path, "category": "containers", "format": format, "size": 0, "status": {"kind": "ok"}
    }))
    .expect("entry");
    let m = manifest();
    let a = Accounts::default();
    let raw = Bytes::from(std::fs::read(path).expect("staged file"));
    parse(&raw, &SourceCtx::new(&e, &m, &a))
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(2) == Some("0")))
        .unwrap_or(false)
}

/// The one `<scenario>/<id>/` folder the script made.
fn container_dir(out: &Path, scenario: &str) -> (String, PathBuf) {
    let d = std::fs::read_dir(out.join(scenario)).expect("scenario dir").filter_map(Result::ok).next().expect("id dir");
    (d.file_name().to_string_lossy().into_owned(), d.path())
}

#[test]
#[ignore = "needs root"]
fn freshly_staged_docker_containers_parse_to_what_was_staged() {
    // Run as root only (`make test` as root, `.ci/run`), where .ci/run has installed these: a missing one fails.
    assert!(is_root(), "needs root");
    assert!(
        Command::new("dockerd").arg("--version").output().is_ok() && Path::new("/bin/busybox").exists(),
        "needs dockerd (Debian docker.io) and /bin/busybox (busybox-static): .ci/run installs them"
    );
    // The cgroups the daemon makes and leaves, removed at the end (also on panic).
    struct Cgroups(Vec<std::path::PathBuf>);
    impl Drop for Cgroups {
        fn drop(&mut self) {
            live::rmdirs(&self.0);
        }
    }
    let _cgroups = Cgroups(live::docker_cgroups_absent());
    let out = tempfile::Builder::new().prefix("coroner-pars-live-").tempdir_in("/tmp").expect("tempdir");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/containers/docker/stage.sh");
    let mut child = Command::new("timeout")
        .args(["-s", "TERM", "280", "bash"])
        .arg(&script)
        .env("OUT", out.path())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run stage.sh");
    let status = live::wait_bounded(&mut child, 300);
    assert!(status.success(), "stage.sh: {status}");
    let record = |p: &Parsed| -> ContainerRecord {
        match p.facts.as_slice() {
            [Fact::Container(c)] => c.clone(),
            other => panic!("{other:?}"),
        }
    };
    let config = |scenario: &str| {
        let (id, dir) = container_dir(out.path(), scenario);
        let p = parse_file(&dir.join("config.v2.json"), &format!("/var/lib/docker/containers/{id}/config.v2.json"), "docker_config_json");
        assert!(p.problems.is_empty(), "{scenario}: {:?}", p.problems);
        (record(&p), p)
    };
    let (oom, _) = config("oom");
    assert_eq!((oom.oom_killed, oom.exit_code, oom.name.as_deref()), (Some(true), Some(137), Some("oom")));
    let (web, p) = config("web");
    assert_eq!((web.oom_killed, web.exit_code), (Some(false), Some(137)));
    assert!(p.events.iter().any(|e| e.kind == EventKind::ProbeFailed), "the failing health check");
    let (stopper, _) = config("stopper");
    assert_eq!(stopper.exit_code, Some(137));
    let (exit3, _) = config("exit3");
    assert_eq!((exit3.exit_code, exit3.oom_killed), (Some(3), Some(false)));
    let (flappy, _) = config("flappy");
    assert_eq!((flappy.restart_count, flappy.exit_code), (Some(3), Some(1)));
    let (id, dir) = container_dir(out.path(), "flappy");
    let h = record(&parse_file(&dir.join("hostconfig.json"), &format!("/var/lib/docker/containers/{id}/hostconfig.json"), "docker_host_config_json"));
    assert_eq!(h.restart_policy.as_deref(), Some("on-failure:3"));
    let (id, dir) = container_dir(out.path(), "oom");
    assert_eq!(record(&parse_file(&dir.join("hostconfig.json"), &format!("/var/lib/docker/containers/{id}/hostconfig.json"), "docker_host_config_json")).memory_limit, Some(32 << 20));
    // The daemon's own log names the forced stop of the stopper.
    let log = parse_file(&out.path().join("dockerd.log"), "/var/log/docker.log", "runtime_log");
    let forced: Vec<_> = log.events.iter().filter(|e| e.kind == EventKind::ContainerStop).collect();
    assert_eq!(forced.len(), 1, "{forced:?}");
    assert_eq!(forced[0].fields.get("container_id").and_then(|v| v.as_str()), Some(stopper.id.as_str()));
    assert_eq!(forced[0].fields.get("grace_period_s").and_then(|v| v.as_i64()), Some(2), "docker stop -t 2");
    // No dockerd of this test is left, nor its dir.
    let left = std::fs::read_dir("/tmp").expect("/tmp").filter_map(Result::ok).any(|e| e.file_name().to_string_lossy().starts_with("coroner-pars-docker."));
    assert!(!left, "stage.sh left its temp dir");
}
