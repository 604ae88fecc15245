//! Docker/Moby: each data root's `containers/<id>/` records, `/etc/docker/daemon.json`, and on a live host
//! `docker ps -a` and `docker inspect` of what it lists.
//!
//! Data roots: every running `dockerd`'s (its `--data-root DIR`, `--data-root=DIR`, or the legacy `-g`/`--graph`;
//! else the `data-root` (or legacy `graph`) key of its `--config-file`, default `/etc/docker/daemon.json`; else
//! `/var/lib/docker`), plus the `data-root` of `/etc/docker/daemon.json` (where a restarted daemon would look);
//! `/var/lib/docker` when neither names one. Under `--root` only the files say where (no process is the
//! image's). Rootless Docker's `~/.local/share/docker` is looked in for every account (`account` set). Only
//! directories named by a full 64-hex id are taken.

use std::collections::BTreeSet;
use std::path::Path;

use coroner_schemas::manifest::{Category, Format, Kept};

use super::super::history::homes;
use super::super::{command, fsutil, Ctx, Item};
use super::{
    capture_data, is_container_id, is_dir, is_socket, log_cap, newest, not_here, nth_path, push_if_present,
    push_rotated_logs, subdirs, MAX_CONTAINERS,
};

pub const DEFAULT_DATA_ROOT: &str = "/var/lib/docker";
pub const DAEMON_JSON: &str = "/etc/docker/daemon.json";
pub const DEFAULT_SOCKET: &str = "/var/run/docker.sock";
/// A rootless daemon's data root, relative to its account's home.
pub const ROOTLESS_DATA_ROOT: &str = ".local/share/docker";
/// Most bytes of a `daemon.json` read to find its data root.
const CONFIG_READ_CAP: u64 = 1 << 20;

/// What a `dockerd` command line says about where its state is and where it listens.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DaemonArgs {
    pub data_root: Option<String>,
    pub config_file: Option<String>,
    /// `-H`/`--host` values in order (`unix:///run/x.sock`, `tcp://…`, `fd://`).
    pub hosts: Vec<String>,
}

impl DaemonArgs {
    /// The first `unix://` socket it listens on; the default socket when it names no host at all; `None` when
    /// it listens only elsewhere (tcp, fd).
    pub fn socket(&self) -> Option<String> {
        if self.hosts.is_empty() {
            return Some(DEFAULT_SOCKET.to_owned());
        }
        self.hosts
            .iter()
            .find_map(|h| h.strip_prefix("unix://"))
            .filter(|p| p.starts_with('/'))
            .map(str::to_owned)
    }
}

/// Reads a `dockerd` command line (`/proc/PID/cmdline`: NUL-separated). Flags take their value as the next
/// argument or after `=` (`-g` also glued: `-g/x`), as Go's flag parsers do; anything else is ignored.
pub fn parse_cmdline(raw: &[u8]) -> DaemonArgs {
    let args: Vec<String> = raw
        .split(|&b| b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let mut d = DaemonArgs::default();
    let mut i = 1; // args[0] is the program
    while i < args.len() {
        let a = args[i].as_str();
        i += 1;
        if a == "--" {
            break;
        }
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with('-') => (f, Some(v.to_owned())),
            _ => (a, None),
        };
        // Single-dash short flags may carry their value glued on: -g/x, -Hunix:///s.
        let (flag, inline) = match (flag.get(..2), flag.get(2..)) {
            (Some(short), Some(rest)) if !flag.starts_with("--") && !rest.is_empty() && inline.is_none() => {
                (short, Some(rest.to_owned()))
            }
            _ => (flag, inline),
        };
        let slot = match flag {
            "--data-root" | "-g" | "--graph" => 0,
            "--config-file" => 1,
            "-H" | "--host" => 2,
            _ => continue,
        };
        let value = match inline {
            Some(v) => v,
            None => match args.get(i) {
                Some(v) => {
                    i += 1;
                    v.clone()
                }
                None => continue,
            },
        };
        match slot {
            0 => d.data_root = Some(value),
            1 => d.config_file = Some(value),
            _ => d.hosts.push(value),
        }
    }
    d
}

/// The data root a `daemon.json` sets (`data-root`, or the legacy `graph`), when it is an absolute path.
pub fn data_root_of_config(raw: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(raw).ok()?;
    ["data-root", "graph"]
        .iter()
        .find_map(|k| v.get(*k).and_then(|x| x.as_str()))
        .filter(|p| p.starts_with('/'))
        .map(|p| p.trim_end_matches('/').to_owned())
        .map(|p| if p.is_empty() { "/".to_owned() } else { p })
}

fn config_root(ctx: &Ctx, host: &str) -> Option<String> {
    super::super::walk::read_head(ctx, host, CONFIG_READ_CAP)
        .ok()
        .and_then(|b| data_root_of_config(&b))
}

/// Every running `dockerd` (comm `dockerd`) on the live host, in pid order.
fn running_daemons() -> Vec<DaemonArgs> {
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut pids: Vec<u32> = rd
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .collect();
    pids.sort_unstable();
    pids.into_iter()
        .filter(|pid| {
            fsutil::read_capped(Path::new(&format!("/proc/{pid}/comm")), 64)
                .is_ok_and(|c| c.strip_suffix(b"\n").unwrap_or(&c) == b"dockerd")
        })
        .filter_map(|pid| fsutil::read_capped(Path::new(&format!("/proc/{pid}/cmdline")), 1 << 20).ok())
        .map(|raw| parse_cmdline(&raw))
        .collect()
}

/// The data roots to look in and the sockets to ask, for these running daemons.
pub fn roots_and_sockets(ctx: &Ctx, daemons: &[DaemonArgs]) -> (Vec<String>, Vec<String>) {
    let mut roots: Vec<String> = Vec::new();
    let mut sockets: Vec<String> = Vec::new();
    let add = |v: &mut Vec<String>, s: String| {
        if !v.contains(&s) {
            v.push(s);
        }
    };
    for d in daemons {
        let root = d
            .data_root
            .clone()
            .or_else(|| config_root(ctx, d.config_file.as_deref().unwrap_or(DAEMON_JSON)))
            .unwrap_or_else(|| DEFAULT_DATA_ROOT.to_owned());
        add(&mut roots, root);
        if let Some(s) = d.socket() {
            add(&mut sockets, s);
        }
    }
    if let Some(r) = config_root(ctx, DAEMON_JSON) {
        add(&mut roots, r);
    }
    if roots.is_empty() {
        roots.push(DEFAULT_DATA_ROOT.to_owned());
    }
    if daemons.is_empty() {
        // No dockerd seen (another pid namespace, or it is down): the default socket, if it is there.
        sockets.push(DEFAULT_SOCKET.to_owned());
    }
    (roots, sockets)
}

pub fn collect(ctx: &Ctx, out: &mut Vec<Item>) {
    let daemons = if ctx.live { running_daemons() } else { Vec::new() };
    let (roots, sockets) = roots_and_sockets(ctx, &daemons);
    let mut configs: BTreeSet<&str> = BTreeSet::from([DAEMON_JSON]);
    configs.extend(daemons.iter().filter_map(|d| d.config_file.as_deref()));
    for c in configs {
        push_if_present(ctx, out, c, Format::Other, None, Kept::Head, None);
    }
    for root in &roots {
        if is_dir(ctx, &format!("{}/containers", root.trim_end_matches('/'))) {
            containers(ctx, root, None, out);
        } else {
            let dir = format!("{}/containers", root.trim_end_matches('/'));
            out.push(not_here(
                fsutil::fs_bundle_path(&dir),
                dir.clone(),
                Format::DockerConfigJson,
                format!("no Docker containers directory {dir} (data root {root})"),
            ));
        }
    }
    // Rootless Docker keeps its data root in the account's home (`$XDG_DATA_HOME/docker`).
    let mut scratch = Vec::new(); // /home listing problems are recorded by history.rs already
    for h in homes(ctx, &mut scratch) {
        let root = format!("{}/{ROOTLESS_DATA_ROOT}", h.host.trim_end_matches('/'));
        if is_dir(ctx, &format!("{root}/containers")) {
            containers(ctx, &root, h.account.as_deref(), out);
        }
    }
    // dockerd's own log when an init script sends it to a file (sysvinit's /var/log/docker.log).
    push_rotated_logs(ctx, out, "/var/log", "docker.log", Format::RuntimeLog);
    live(ctx, &sockets, out);
}

/// `ROOT/containers/<id>/`: `config.v2.json`, `hostconfig.json`, and the tails of `<id>-json.log` and of its
/// last rotation `<id>-json.log.1`; `account` for a rootless daemon's.
pub fn containers(ctx: &Ctx, root: &str, account: Option<&str>, out: &mut Vec<Item>) {
    let dir = format!("{}/containers", root.trim_end_matches('/'));
    let ids = subdirs(ctx, &dir, Format::DockerConfigJson, is_container_id, out);
    let cap = Some(log_cap(ctx));
    for e in newest(ctx, ids, MAX_CONTAINERS, &dir, "Docker containers", Format::DockerConfigJson, out) {
        let d = e.host;
        push_if_present(ctx, out, &format!("{d}/config.v2.json"), Format::DockerConfigJson, account, Kept::Head, None);
        push_if_present(ctx, out, &format!("{d}/hostconfig.json"), Format::DockerHostConfigJson, account, Kept::Head, None);
        let log = format!("{d}/{}-json.log", e.name);
        push_if_present(ctx, out, &log, Format::DockerJsonLog, account, Kept::Tail, cap);
        push_if_present(ctx, out, &format!("{log}.1"), Format::DockerJsonLog, account, Kept::Tail, cap);
    }
}

/// The full ids in `docker ps --format '{{json .}}'` output (one object per line, key `ID`), in order, at most
/// `max`.
pub fn ps_ids(raw: &[u8], max: usize) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for line in raw.split(|&b| b == b'\n') {
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(line) else {
            continue;
        };
        if let Some(id) = v.get("ID").and_then(|x| x.as_str()).filter(|id| is_container_id(id)) {
            if !ids.iter().any(|x| x == id) && ids.len() < max {
                ids.push(id.to_owned());
            }
        }
    }
    ids
}

fn live(ctx: &Ctx, sockets: &[String], out: &mut Vec<Item>) {
    let (ps_fmt, inspect_fmt) = (Format::DockerPsJson, Format::DockerInspectJson);
    let ps_argv = "docker ps -a --no-trunc --format '{{json .}}'";
    let inspect_argv = "docker inspect ID…";
    if !ctx.live {
        out.push(fsutil::not_live(nth_path("docker-ps", 0), ps_argv, Category::Containers, ps_fmt));
        out.push(fsutil::not_live(nth_path("docker-inspect", 0), inspect_argv, Category::Containers, inspect_fmt));
        return;
    }
    let both_absent = |out: &mut Vec<Item>, n: usize, reason: String| {
        out.push(not_here(nth_path("docker-ps", n), ps_argv, ps_fmt, reason.clone()));
        out.push(not_here(nth_path("docker-inspect", n), inspect_argv, inspect_fmt, reason));
    };
    if command::find_program("docker").is_none() {
        both_absent(out, 0, "docker not installed".into());
        return;
    }
    let live: Vec<&String> = sockets.iter().filter(|s| is_socket(ctx, s)).collect();
    if live.is_empty() {
        both_absent(out, 0, format!("no Docker daemon socket ({} not there)", sockets.join(", ")));
        return;
    }
    for (n, sock) in live.into_iter().enumerate() {
        // The socket is named on the command line (not through DOCKER_HOST): the record says which daemon
        // answered, and a DOCKER_HOST or context in the collector's own environment cannot redirect it.
        let host = format!("unix://{sock}");
        let ps = command::capture(
            ctx,
            &["docker", "-H", &host, "ps", "-a", "--no-trunc", "--format", "{{json .}}"],
            &[],
            &nth_path("docker-ps", n),
            Category::Containers,
            ps_fmt,
        );
        let ids = capture_data(&ps).map(|d| ps_ids(d, MAX_CONTAINERS));
        out.push(ps);
        match ids {
            None => out.push(not_here(nth_path("docker-inspect", n), inspect_argv, inspect_fmt, "docker ps did not answer")),
            Some(ids) if ids.is_empty() => out.push(not_here(
                nth_path("docker-inspect", n),
                inspect_argv,
                inspect_fmt,
                "docker ps listed no containers",
            )),
            Some(ids) => {
                let mut argv: Vec<&str> = vec!["docker", "-H", &host, "inspect"];
                argv.extend(ids.iter().map(String::as_str));
                out.push(command::capture(
                    ctx,
                    &argv,
                    &[],
                    &nth_path("docker-inspect", n),
                    Category::Containers,
                    inspect_fmt,
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{ctx, lines, set_mtime, write};
    use super::*;

    fn id(n: u8) -> String {
        format!("{:064x}", u64::from(n) + 0xabc0)
    }

    #[test]
    fn cmdline_flags_in_every_form() {
        let d = parse_cmdline(b"/usr/sbin/dockerd\0--data-root\0/srv/docker\0-H\0unix:///tmp/d.sock\0--iptables=false\0");
        assert_eq!(d.data_root.as_deref(), Some("/srv/docker"));
        assert_eq!(d.hosts, vec!["unix:///tmp/d.sock"]);
        assert_eq!(d.socket().as_deref(), Some("/tmp/d.sock"));
        let d = parse_cmdline(b"dockerd\0--data-root=/a\0--host=tcp://0.0.0.0:2375\0--host=unix:///b.sock\0--config-file=/c.json\0");
        assert_eq!(d.data_root.as_deref(), Some("/a"));
        assert_eq!(d.config_file.as_deref(), Some("/c.json"));
        assert_eq!(d.socket().as_deref(), Some("/b.sock"));
        assert_eq!(parse_cmdline(b"dockerd\0-g\0/legacy\0").data_root.as_deref(), Some("/legacy"));
        assert_eq!(parse_cmdline(b"dockerd\0--graph=/legacy2\0").data_root.as_deref(), Some("/legacy2"));
        assert_eq!(parse_cmdline(b"dockerd\0-g/glued\0").data_root.as_deref(), Some("/glued"));
        // No host: the default socket; only tcp: none; a flag without its value: nothing.
        assert_eq!(parse_cmdline(b"dockerd\0").socket().as_deref(), Some(DEFAULT_SOCKET));
        assert_eq!(parse_cmdline(b"dockerd\0-H\0tcp://1.2.3.4:2375\0").socket(), None);
        assert_eq!(parse_cmdline(b"dockerd\0--data-root\0"), DaemonArgs::default());
        assert_eq!(parse_cmdline(b"\xff\xfe\0\0\0"), DaemonArgs::default());
        // A multi-byte character right after the dash is not a glued flag (and no panic on a char boundary).
        assert_eq!(parse_cmdline("dockerd\0-é/x\0-gé\0".as_bytes()).data_root.as_deref(), Some("é"));
    }

    #[test]
    fn daemon_json_data_root_and_legacy_graph() {
        assert_eq!(data_root_of_config(br#"{"data-root": "/srv/d/"}"#).as_deref(), Some("/srv/d"));
        assert_eq!(data_root_of_config(br#"{"graph": "/old"}"#).as_deref(), Some("/old"));
        assert_eq!(data_root_of_config(br#"{"data-root": "relative"}"#), None);
        assert_eq!(data_root_of_config(br#"{"data-root": 5}"#), None);
        assert_eq!(data_root_of_config(b"{ not json"), None);
    }

    #[test]
    fn ps_ids_takes_full_ids_once_and_caps() {
        let raw = format!(
            "{{\"ID\":\"{}\",\"Names\":\"a\"}}\n{{\"ID\":\"{}\"}}\nnot json\n{{\"ID\":\"abc123\"}}\n{{\"ID\":\"{}\"}}\n",
            id(1),
            id(2),
            id(1)
        );
        assert_eq!(ps_ids(raw.as_bytes(), 10), vec![id(1), id(2)]);
        assert_eq!(ps_ids(raw.as_bytes(), 1), vec![id(1)]);
    }

    #[test]
    fn root_tree_takes_each_containers_records_from_the_daemon_json_data_root() {
        let t = tempfile::tempdir().expect("tmp");
        let r = t.path();
        write(r, DAEMON_JSON, br#"{"data-root": "/srv/docker"}"#);
        let a = id(1);
        let dir = format!("/srv/docker/containers/{a}");
        write(r, &format!("{dir}/config.v2.json"), b"{}");
        write(r, &format!("{dir}/hostconfig.json"), b"{}");
        write(r, &format!("{dir}/{a}-json.log"), b"{\"log\":\"x\\n\"}\n");
        write(r, &format!("{dir}/{a}-json.log.1"), b"{\"log\":\"y\\n\"}\n");
        write(r, &format!("{dir}/{a}-json.log.2"), b"old\n");
        // Not ids: ignored. The default data root is not looked in: daemon.json names another.
        write(r, "/srv/docker/containers/not-an-id/config.v2.json", b"{}");
        write(r, &format!("/srv/docker/containers/{}/config.v2.json", a.to_uppercase()), b"{}");
        write(r, &format!("/var/lib/docker/containers/{}/config.v2.json", id(9)), b"{}");
        let mut out = Vec::new();
        collect(&ctx(r), &mut out);
        let cap = LOG_CAP_TEXT;
        assert_eq!(
            lines(&out),
            vec![
                "file /etc/docker/daemon.json Other Containers account=- keep=Head cap=None".to_owned(),
                format!("file {dir}/config.v2.json DockerConfigJson Containers account=- keep=Head cap=None"),
                format!("file {dir}/hostconfig.json DockerHostConfigJson Containers account=- keep=Head cap=None"),
                format!("file {dir}/{a}-json.log DockerJsonLog Containers account=- keep=Tail cap={cap}"),
                format!("file {dir}/{a}-json.log.1 DockerJsonLog Containers account=- keep=Tail cap={cap}"),
                "absent cmd/docker-ps.json DockerPsJson Containers NotApplicable { reason: \"live source under --root\" }".to_owned(),
                "absent cmd/docker-inspect.json DockerInspectJson Containers NotApplicable { reason: \"live source under --root\" }".to_owned(),
            ]
        );
    }

    const LOG_CAP_TEXT: &str = "Some(262144)";

    #[test]
    fn each_daemon_gives_its_data_root_and_socket() {
        let t = tempfile::tempdir().expect("tmp");
        let r = t.path();
        write(r, "/etc/dockerd-b.json", br#"{"data-root": "/b"}"#);
        write(r, DAEMON_JSON, br#"{"graph": "/static"}"#);
        let daemons = [
            parse_cmdline(b"dockerd\0--data-root=/a\0-H\0unix:///run/a.sock\0"),
            parse_cmdline(b"dockerd\0--config-file\0/etc/dockerd-b.json\0-H\0fd://\0"),
            parse_cmdline(b"dockerd\0--config-file=/etc/missing.json\0"),
            parse_cmdline(b"dockerd\0--data-root\0/a\0"),
        ];
        let (roots, sockets) = roots_and_sockets(&ctx(r), &daemons);
        assert_eq!(roots, vec!["/a", "/b", DEFAULT_DATA_ROOT, "/static"]);
        assert_eq!(sockets, vec!["/run/a.sock".to_owned(), DEFAULT_SOCKET.to_owned()]);
        // No daemon running and no daemon.json: the default root, and the default socket to try.
        let (roots, sockets) = roots_and_sockets(&ctx(tempfile::tempdir().expect("tmp").path()), &[]);
        assert_eq!((roots, sockets), (vec![DEFAULT_DATA_ROOT.to_owned()], vec![DEFAULT_SOCKET.to_owned()]));
    }

    #[test]
    fn a_live_host_without_the_daemons_socket_runs_nothing() {
        // The CLI may be installed (it is here) but no daemon listens: recorded as not applicable at once,
        // never a command waiting out its time-out.
        let c = Ctx::new("/".into(), true, super::super::testutil::opts(), Default::default());
        let start = std::time::Instant::now();
        let mut out = Vec::new();
        live(&c, &["/nonexistent/c14coll/docker.sock".to_owned()], &mut out);
        assert!(start.elapsed() < std::time::Duration::from_secs(1));
        let l = lines(&out);
        assert_eq!(l.len(), 2, "{l:#?}");
        for x in &l {
            assert!(x.starts_with("absent cmd/docker-"), "{x}");
            assert!(
                x.contains("no Docker daemon socket (/nonexistent/c14coll/docker.sock not there)") || x.contains("docker not installed"),
                "{x}"
            );
        }
    }

    #[test]
    fn rootless_data_root_per_account_and_symlinked_container_dirs_not_followed() {
        let t = tempfile::tempdir().expect("tmp");
        let r = t.path();
        write(r, "/etc/passwd", b"bob:x:1001:1001::/home/bob:/bin/sh\n");
        let a = id(3);
        write(r, &format!("/home/bob/.local/share/docker/containers/{a}/config.v2.json"), b"{}");
        // A container directory that is a symlink (here to a tree outside the containers folder): not entered.
        write(r, "/elsewhere/config.v2.json", b"{}");
        std::fs::create_dir_all(r.join("var/lib/docker/containers")).expect("mkdir");
        std::os::unix::fs::symlink("/elsewhere", r.join(format!("var/lib/docker/containers/{}", id(4)))).expect("link");
        let mut out = Vec::new();
        collect(&ctx(r), &mut out);
        let l = lines(&out);
        assert!(l.contains(&format!(
            "file /home/bob/.local/share/docker/containers/{a}/config.v2.json DockerConfigJson Containers account=bob keep=Head cap=None"
        )), "{l:#?}");
        assert!(!l.iter().any(|x| x.contains("elsewhere") || x.contains(&id(4))), "{l:#?}");
    }

    #[test]
    fn no_docker_is_recorded_once_as_not_applicable() {
        let t = tempfile::tempdir().expect("tmp");
        let mut out = Vec::new();
        collect(&ctx(t.path()), &mut out);
        assert_eq!(
            lines(&out)[0],
            "absent fs/var/lib/docker/containers DockerConfigJson Containers NotApplicable { reason: \"no Docker containers directory /var/lib/docker/containers (data root /var/lib/docker)\" }"
        );
        assert_eq!(out.len(), 3, "{:#?}", lines(&out));
    }

    #[test]
    fn more_containers_than_the_cap_keeps_the_newest_and_records_the_cut() {
        let t = tempfile::tempdir().expect("tmp");
        let r = t.path();
        let n = MAX_CONTAINERS + 3;
        for i in 0..n {
            let c = format!("{:064x}", i);
            let d = format!("/var/lib/docker/containers/{c}");
            write(r, &format!("{d}/config.v2.json"), b"{}");
            // Container i is i seconds newer than container 0: the three oldest (0, 1, 2) are cut.
            set_mtime(r, &d, 1_700_000_000 + i as u64);
        }
        let mut out = Vec::new();
        containers(&ctx(r), "/var/lib/docker", None, &mut out);
        let l = lines(&out);
        assert_eq!(
            l[0],
            format!("absent fs/var/lib/docker/containers DockerConfigJson Containers Skipped {{ reason: \"{n} Docker containers; the newest {MAX_CONTAINERS} by mtime taken, 3 older not taken\" }}")
        );
        assert_eq!(l.len(), 1 + MAX_CONTAINERS);
        // Newest first.
        assert!(l[1].contains(&format!("{:064x}/config.v2.json", n - 1)), "{}", l[1]);
        for old in 0..3 {
            let c = format!("{old:064x}/");
            assert!(!l.iter().any(|x| x.contains(&c)), "container {old} should be cut");
        }
        assert!(l.iter().any(|x| x.contains(&format!("{:064x}/", 3))));
    }
}
