//! CRI-O and Podman, which share containers/storage, plus Podman's events log and `podman ps -a`.
//!
//! - Each container's `userdata/` under the store's `<driver>-containers/<id>/` (`overlay-containers`,
//!   `vfs-containers`…): `config.json`, the OCI spec both write there (`OciConfigJson`), and CRI-O's saved
//!   state `state.json` (`ContainerStateJson`: CRI-O's `ContainerStateToDisk` writes it to the container's
//!   directory, `userdata/` under the graph root). Podman keeps its state in its database instead (BoltDB or
//!   SQLite under `libpod/`), which is not taken: `podman ps -a` is. The store is the graph root of
//!   `/etc/containers/storage.conf` (`graphroot = "…"`), else `/var/lib/containers/storage`; rootless Podman's
//!   is `~/.local/share/containers/storage` of every account (`account` set).
//! - Podman's events log with `events_logger = "file"`: `<tmpdir>/events/events.log`, where the tmpdir is
//!   `/run/libpod` for root and `$XDG_RUNTIME_DIR/libpod/tmp` (`/run/user/<uid>/libpod/tmp`) rootless (podman's
//!   `EventsLogFilePath` default). With the journald logger (the default on systemd hosts) the events are in
//!   the journal, which `logs.rs` exports whole.
//! - CRI-O's log file, when it writes one (`/var/log/crio.log` and rotations, `/var/log/crio/*.log`).
//! - conmon's exit and oom files (conmon starts every CRI-O and Podman container; src/conmon.c writes the exit
//!   code to `<exit-dir>/<id>` and `<persist-dir>/exit`, src/cgroup.c creates `oom` in the persist and bundle
//!   directories on an OOM kill): CRI-O's `container_exits_dir` (pkg/config/config_unix.go default
//!   `/var/run/crio/exits`; internal/oci/runtime_oci.go passes it as `--exit-dir` and the container's
//!   `userdata/` directory under the graph root as `--persist-dir`, so `userdata/{exit,oom}` above too); Podman's
//!   `<tmpdir>/exits/<id>` and `<tmpdir>/persist/<id>/{exit,oom}` (libpod/oci_conmon_common.go `exitsDir`,
//!   `persistDir`, `OOMFilePath`), tmpdir `/run/libpod` for root and `/run/user/<uid>/libpod/tmp` rootless (its
//!   bundle, where conmon writes `oom` as well, is `userdata/` under the graph root). Each directory's 500 newest
//!   by mtime. CRI-O's run directory (`/run/containers/storage/…/userdata/oom`, its bundle) is not walked: the
//!   same `oom` is in its persist directory.

use coroner_schemas::manifest::{Category, Format, Kept};

use super::super::history::homes;
use super::super::walk::{self, Kind};
use super::super::{command, fsutil, Ctx, Item};
use super::{
    is_container_id, is_dir, newest, not_here, push_if_present, push_rotated_logs, subdirs, MAX_CONTAINERS,
};

pub const DEFAULT_GRAPH_ROOT: &str = "/var/lib/containers/storage";
pub const STORAGE_CONF: &str = "/etc/containers/storage.conf";
/// Rootless Podman's store, relative to a home.
pub const ROOTLESS_STORE: &str = ".local/share/containers/storage";
pub const ROOT_EVENTS_LOG: &str = "/run/libpod/events/events.log";
/// Most bytes kept of an events log (its tail), unless the per-file cap is smaller.
pub const EVENTS_TAIL_CAP: u64 = 4 << 20;
pub const PODMAN_PS: &str = "cmd/podman-ps.json";
/// CRI-O's default `container_exits_dir` (pkg/config/config_unix.go).
pub const CRIO_EXITS: &str = "/var/run/crio/exits";
/// Root Podman's tmpdir (the rootless one is `/run/user/<uid>/libpod/tmp`).
pub const ROOT_TMPDIR: &str = "/run/libpod";

/// The `graphroot` a `storage.conf` sets (`graphroot = "/path"`, TOML), when it is an absolute path.
pub fn graph_root_of_conf(raw: &[u8]) -> Option<String> {
    String::from_utf8_lossy(raw).lines().find_map(|line| {
        let (k, v) = line.trim().split_once('=')?;
        if k.trim() != "graphroot" {
            return None;
        }
        let v = v.trim();
        let v = v.split_once('#').map_or(v, |(a, _)| a).trim();
        let v = v.strip_prefix('"').and_then(|x| x.strip_suffix('"')).or_else(|| v.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')))?;
        (v.starts_with('/')).then(|| v.trim_end_matches('/').to_owned()).filter(|p| !p.is_empty())
    })
}

fn graph_root(ctx: &Ctx) -> String {
    walk::read_head(ctx, STORAGE_CONF, 1 << 20)
        .ok()
        .and_then(|b| graph_root_of_conf(&b))
        .unwrap_or_else(|| DEFAULT_GRAPH_ROOT.to_owned())
}

pub fn collect(ctx: &Ctx, out: &mut Vec<Item>) {
    let graph = graph_root(ctx);
    let root_store = is_dir(ctx, &graph);
    store(ctx, &graph, None, out);
    let mut scratch = Vec::new(); // /home listing problems are recorded by history.rs already
    for h in homes(ctx, &mut scratch) {
        let s = format!("{}/{ROOTLESS_STORE}", h.host.trim_end_matches('/'));
        store(ctx, &s, h.account.as_deref(), out);
    }
    let cap = Some(EVENTS_TAIL_CAP.min(ctx.opts.max_file_bytes.max(1)));
    let root_events = push_if_present(ctx, out, ROOT_EVENTS_LOG, Format::PodmanEventsLog, None, Kept::Tail, cap);
    let crio_exits = is_dir(ctx, CRIO_EXITS);
    if crio_exits {
        exit_files(ctx, CRIO_EXITS, None, out);
    }
    let root_tmp = conmon_tmpdir(ctx, ROOT_TMPDIR, None, out);
    for e in walk::list(ctx, "/run/user", Category::Containers, Format::PodmanEventsLog, out) {
        let Ok(uid) = e.name.parse::<u32>() else { continue };
        if e.kind != Kind::Dir {
            continue;
        }
        let account = ctx.accounts.user_name(uid).map(str::to_owned).unwrap_or_else(|| uid.to_string());
        let log = format!("{}/libpod/tmp/events/events.log", e.host);
        push_if_present(ctx, out, &log, Format::PodmanEventsLog, Some(&account), Kept::Tail, cap);
        conmon_tmpdir(ctx, &format!("{}/libpod/tmp", e.host), Some(&account), out);
    }
    if !root_store && !root_events && !crio_exits && !root_tmp {
        out.push(not_here(
            fsutil::fs_bundle_path(&graph),
            graph.clone(),
            Format::OciConfigJson,
            format!("no containers/storage graph root {graph}, no {ROOT_TMPDIR} and no {CRIO_EXITS} (no CRI-O, no root Podman)"),
        ));
    }
    push_rotated_logs(ctx, out, "/var/log", "crio.log", Format::RuntimeLog);
    for e in walk::list(ctx, "/var/log/crio", Category::Containers, Format::RuntimeLog, out) {
        if e.kind != Kind::Dir && e.name.contains(".log") {
            let mut item = super::super::FileItem::new(e.host, Category::Containers, Format::RuntimeLog);
            item.compressed = walk::compression_of(&e.name).map(str::to_owned);
            walk::push_file(ctx, out, item);
        }
    }
    podman_ps(ctx, &graph, out);
}

/// One store's containers: `<store>/<driver>-containers/<id>/userdata/{config.json,state.json}`.
pub fn store(ctx: &Ctx, store: &str, account: Option<&str>, out: &mut Vec<Item>) {
    for drv in subdirs(ctx, store, Format::OciConfigJson, |n| n.ends_with("-containers"), out) {
        let ids = subdirs(ctx, &drv.host, Format::OciConfigJson, is_container_id, out);
        for c in newest(ctx, ids, MAX_CONTAINERS, &drv.host, "containers", Format::OciConfigJson, out) {
            let u = format!("{}/userdata", c.host);
            push_if_present(ctx, out, &format!("{u}/config.json"), Format::OciConfigJson, account, Kept::Head, None);
            push_if_present(ctx, out, &format!("{u}/state.json"), Format::ContainerStateJson, account, Kept::Head, None);
            // CRI-O's conmon persist directory; conmon's `oom` also lands here as Podman's bundle directory.
            push_if_present(ctx, out, &format!("{u}/exit"), Format::ConmonExitFile, account, Kept::Head, None);
            push_if_present(ctx, out, &format!("{u}/oom"), Format::ConmonOomFile, account, Kept::Head, None);
        }
    }
}

/// conmon's exit files in an exits directory: files named by a container id, the newest [`MAX_CONTAINERS`].
fn exit_files(ctx: &Ctx, dir: &str, account: Option<&str>, out: &mut Vec<Item>) {
    let files: Vec<_> = walk::list(ctx, dir, Category::Containers, Format::ConmonExitFile, out)
        .into_iter()
        .filter(|e| e.kind != Kind::Dir && is_container_id(&e.name))
        .collect();
    for f in newest(ctx, files, MAX_CONTAINERS, dir, "exit files", Format::ConmonExitFile, out) {
        push_if_present(ctx, out, &f.host, Format::ConmonExitFile, account, Kept::Head, None);
    }
}

/// A Podman tmpdir's conmon files: `exits/<id>` and `persist/<id>/{exit,oom}`. Returns whether the tmpdir is there.
fn conmon_tmpdir(ctx: &Ctx, tmp: &str, account: Option<&str>, out: &mut Vec<Item>) -> bool {
    if !is_dir(ctx, tmp) {
        return false;
    }
    let exits = format!("{tmp}/exits");
    if is_dir(ctx, &exits) {
        exit_files(ctx, &exits, account, out);
    }
    let persist = format!("{tmp}/persist");
    if is_dir(ctx, &persist) {
        let ids = subdirs(ctx, &persist, Format::ConmonExitFile, is_container_id, out);
        for c in newest(ctx, ids, MAX_CONTAINERS, &persist, "persist directories", Format::ConmonExitFile, out) {
            push_if_present(ctx, out, &format!("{}/exit", c.host), Format::ConmonExitFile, account, Kept::Head, None);
            push_if_present(ctx, out, &format!("{}/oom", c.host), Format::ConmonOomFile, account, Kept::Head, None);
        }
    }
    true
}

fn podman_ps(ctx: &Ctx, graph: &str, out: &mut Vec<Item>) {
    let argv = ["podman", "ps", "-a", "--format", "json"];
    if !ctx.live {
        out.push(fsutil::not_live(PODMAN_PS, argv.join(" "), Category::Containers, Format::PodmanPsJson));
        return;
    }
    if command::find_program("podman").is_none() {
        out.push(not_here(PODMAN_PS, argv.join(" "), Format::PodmanPsJson, "podman not installed"));
        return;
    }
    // Podman has no daemon: its database directory stands in for the socket. Without it, running podman
    // would create a store on the host, which a read-only collector must not.
    let db = format!("{graph}/libpod");
    if !is_dir(ctx, &db) {
        out.push(not_here(PODMAN_PS, argv.join(" "), Format::PodmanPsJson, format!("no Podman state ({db} not there)")));
        return;
    }
    out.push(command::capture(ctx, &argv, &[], PODMAN_PS, Category::Containers, Format::PodmanPsJson));
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{ctx, lines, write};
    use super::*;

    #[test]
    fn storage_conf_graphroot() {
        let conf = b"[storage]\ndriver = \"overlay\"\nrunroot = \"/run/containers/storage\"\ngraphroot = \"/data/containers/\" # moved\n";
        assert_eq!(graph_root_of_conf(conf).as_deref(), Some("/data/containers"));
        assert_eq!(graph_root_of_conf(b"graphroot = 'relative'\n"), None);
        assert_eq!(graph_root_of_conf(b"graphroot = \"\"\n"), None);
        assert_eq!(graph_root_of_conf(b"rootless_storage_path = \"/x\"\n"), None);
    }

    #[test]
    fn crio_and_rootless_podman_stores_events_and_logs() {
        let t = tempfile::tempdir().expect("tmp");
        let r = t.path();
        write(r, "/etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n");
        let a = "a1".repeat(32);
        let b = "b2".repeat(32);
        let crio = format!("/var/lib/containers/storage/overlay-containers/{a}/userdata");
        write(r, &format!("{crio}/config.json"), b"{}");
        write(r, &format!("{crio}/state.json"), b"{}");
        write(r, &format!("{crio}/pidfile"), b"1");
        write(r, "/var/lib/containers/storage/overlay-containers/short/userdata/config.json", b"{}");
        let rootless = format!("/home/alice/.local/share/containers/storage/vfs-containers/{b}/userdata");
        write(r, &format!("{rootless}/config.json"), b"{}");
        write(r, ROOT_EVENTS_LOG, b"{}\n");
        write(r, "/run/user/1000/libpod/tmp/events/events.log", b"{}\n");
        write(r, "/run/user/1001/libpod/tmp/events/events.log", b"{}\n");
        write(r, "/var/log/crio.log", b"x\n");
        write(r, "/var/log/crio/crio.log.1.gz", b"x");
        let mut out = Vec::new();
        collect(&ctx(r), &mut out);
        let mut l = lines(&out);
        l.sort();
        let ev = "Some(4194304)";
        assert_eq!(
            l,
            vec![
                format!("absent {PODMAN_PS} PodmanPsJson Containers NotApplicable {{ reason: \"live source under --root\" }}"),
                format!("file /home/alice/.local/share/containers/storage/vfs-containers/{b}/userdata/config.json OciConfigJson Containers account=alice keep=Head cap=None"),
                format!("file /run/libpod/events/events.log PodmanEventsLog Containers account=- keep=Tail cap={ev}"),
                format!("file /run/user/1000/libpod/tmp/events/events.log PodmanEventsLog Containers account=alice keep=Tail cap={ev}"),
                format!("file /run/user/1001/libpod/tmp/events/events.log PodmanEventsLog Containers account=1001 keep=Tail cap={ev}"),
                format!("file {crio}/config.json OciConfigJson Containers account=- keep=Head cap=None"),
                format!("file {crio}/state.json ContainerStateJson Containers account=- keep=Head cap=None"),
                "file /var/log/crio.log RuntimeLog Containers account=- keep=Tail cap=None".to_owned(),
                "file /var/log/crio/crio.log.1.gz RuntimeLog Containers account=- keep=Tail cap=None gzip".to_owned(),
            ]
        );
    }

    #[test]
    fn conmon_exit_and_oom_files_of_crio_and_root_and_rootless_podman() {
        let t = tempfile::tempdir().expect("tmp");
        let r = t.path();
        write(r, "/etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n");
        let (a, b, c) = ("a1".repeat(32), "b2".repeat(32), "c3".repeat(32));
        // /var/run is a link to /run, as on every systemd host: CRI-O's default exits dir is found through it.
        write(r, &format!("/run/crio/exits/{a}"), b"137");
        write(r, "/run/crio/exits/not-an-id", b"0");
        std::fs::create_dir_all(r.join("var")).expect("mkdir");
        std::os::unix::fs::symlink("../run", r.join("var/run")).expect("symlink");
        let u = format!("/var/lib/containers/storage/overlay-containers/{a}/userdata");
        write(r, &format!("{u}/exit"), b"137");
        write(r, &format!("{u}/oom"), b"");
        write(r, &format!("/run/libpod/exits/{b}"), b"0");
        write(r, &format!("/run/libpod/persist/{b}/exit"), b"0");
        write(r, "/run/libpod/persist/short/exit", b"0");
        write(r, &format!("/run/user/1000/libpod/tmp/persist/{c}/oom"), b"");
        write(r, &format!("/run/user/1000/libpod/tmp/exits/{c}"), b"137");
        let mut out = Vec::new();
        collect(&ctx(r), &mut out);
        let mut l: Vec<String> = lines(&out).into_iter().filter(|x| x.contains("Conmon")).collect();
        l.sort();
        assert_eq!(
            l,
            vec![
                format!("file /run/crio/exits/{a} ConmonExitFile Containers account=- keep=Head cap=None"),
                format!("file /run/libpod/exits/{b} ConmonExitFile Containers account=- keep=Head cap=None"),
                format!("file /run/libpod/persist/{b}/exit ConmonExitFile Containers account=- keep=Head cap=None"),
                format!("file /run/user/1000/libpod/tmp/exits/{c} ConmonExitFile Containers account=alice keep=Head cap=None"),
                format!("file /run/user/1000/libpod/tmp/persist/{c}/oom ConmonOomFile Containers account=alice keep=Head cap=None"),
                format!("file {u}/exit ConmonExitFile Containers account=- keep=Head cap=None"),
                format!("file {u}/oom ConmonOomFile Containers account=- keep=Head cap=None"),
            ]
        );
        // The exits directory alone says CRI-O is here: no "not applicable" record.
        assert!(!lines(&out).iter().any(|x| x.contains("NotApplicable") && x.contains("no CRI-O")), "{:#?}", lines(&out));
    }

    #[test]
    fn exit_files_beyond_the_cap_are_recorded_as_skipped() {
        let t = tempfile::tempdir().expect("tmp");
        let r = t.path();
        for i in 0..=MAX_CONTAINERS {
            write(r, &format!("/var/run/crio/exits/{i:064x}"), b"0");
        }
        let mut out = Vec::new();
        collect(&ctx(r), &mut out);
        let l = lines(&out);
        assert_eq!(l.iter().filter(|x| x.contains("ConmonExitFile Containers account")).count(), MAX_CONTAINERS);
        assert!(l.iter().any(|x| x.starts_with("absent fs/var/run/crio/exits ConmonExitFile Containers Skipped") && x.contains("501 exit files")), "{l:#?}");
    }

    #[test]
    fn no_store_is_recorded_as_not_applicable() {
        let t = tempfile::tempdir().expect("tmp");
        let mut out = Vec::new();
        collect(&ctx(t.path()), &mut out);
        assert_eq!(
            lines(&out)[0],
            "absent fs/var/lib/containers/storage OciConfigJson Containers NotApplicable { reason: \"no containers/storage graph root /var/lib/containers/storage, no /run/libpod and no /var/run/crio/exits (no CRI-O, no root Podman)\" }"
        );
        assert_eq!(out.len(), 2);
    }
}
