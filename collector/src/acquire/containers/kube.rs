//! A Kubernetes node: the kubelet's log and `config.yaml`, the CRI container logs under `/var/log/pods`, the
//! links in `/var/log/containers`, and on a live host `crictl ps -a` / `crictl inspect`.
//!
//! - `/var/log/kubelet.log` and its rotations (tails). The kubelet under systemd logs to the journal, which
//!   `logs.rs` exports whole.
//! - `/var/lib/kubelet/config.yaml` (`KubeletConfiguration`: eviction thresholds, grace periods).
//! - `/var/log/pods/<ns>_<pod>_<uid>/<container>/<restart>.log`: the tail of each, newest first by mtime, at
//!   most [`MAX_POD_LOGS`] of them (a restarted container's previous `<n-1>.log` holds its last words).
//! - `/var/log/containers/*.log` are symlinks to those files: never followed. Their names
//!   (`<pod>_<ns>_<container>-<id>.log`) and targets go into one capture, [`LINKS_JSON`]: a JSON array of
//!   `{"name", "target"}` sorted by name, each a `{"text": …}` or, when not UTF-8, `{"bytes": base64}` value
//!   (the bytes kept exactly, as in the other JSON captures).
//! - `crictl ps -a -o json` and `crictl inspect -o json ID…` of the containers it lists, for each CRI socket
//!   that is there (containerd's, CRI-O's, cri-dockerd's), named on the command line. `crictl inspect` prints
//!   one JSON object per container, one after another.

use serde::Serialize;

use coroner_schemas::manifest::{Category, Format, Kept, Status};
use coroner_schemas::Text;

use super::super::walk::{self, Kind};
use super::super::{command, fsutil, CaptureItem, Ctx, Item};
use super::{
    capture_data, is_container_id, is_dir, is_socket, log_cap, newest, not_here, nth_path, push_if_present,
    push_rotated_logs, subdirs, MAX_CONTAINERS,
};

pub const KUBELET_CONFIG: &str = "/var/lib/kubelet/config.yaml";
pub const PODS_DIR: &str = "/var/log/pods";
pub const LINKS_DIR: &str = "/var/log/containers";
pub const LINKS_JSON: &str = "live/containers/var-log-containers.json";
/// Most pod container logs taken (newest first).
pub const MAX_POD_LOGS: usize = 500;
/// Most `/var/log/containers` links listed.
pub const MAX_LINKS: usize = 10_000;
/// CRI sockets `crictl` may be pointed at: containerd, CRI-O, cri-dockerd.
pub const CRI_SOCKETS: &[&str] = &[
    "/run/containerd/containerd.sock",
    "/run/crio/crio.sock",
    "/var/run/crio/crio.sock",
    "/run/cri-dockerd.sock",
    "/var/run/cri-dockerd.sock",
];

pub fn collect(ctx: &Ctx, out: &mut Vec<Item>) {
    let logs = push_rotated_logs(ctx, out, "/var/log", "kubelet.log", Format::KubeletLog);
    let config = push_if_present(ctx, out, KUBELET_CONFIG, Format::KubeletConfigYaml, None, Kept::Head, None);
    let pods = is_dir(ctx, PODS_DIR);
    if logs == 0 && !config && !pods && !is_dir(ctx, "/var/lib/kubelet") {
        out.push(not_here(
            fsutil::fs_bundle_path(KUBELET_CONFIG),
            KUBELET_CONFIG,
            Format::KubeletConfigYaml,
            "no kubelet here (no /var/lib/kubelet, /var/log/pods or /var/log/kubelet.log)",
        ));
    }
    if pods {
        pod_logs(ctx, out);
    }
    let l = links(ctx, out);
    out.push(l);
    crictl(ctx, out);
}

/// Whether a file name is a CRI log of one container start: `<restart count>.log`.
pub fn is_restart_log(name: &str) -> bool {
    name.strip_suffix(".log")
        .is_some_and(|n| !n.is_empty() && n.len() <= 10 && n.bytes().all(|b| b.is_ascii_digit()))
}

fn pod_logs(ctx: &Ctx, out: &mut Vec<Item>) {
    let mut files = Vec::new();
    // <ns>_<pod>_<uid>: namespace and pod names cannot hold '_', so a pod folder has exactly two.
    for pod in subdirs(ctx, PODS_DIR, Format::CriLog, |n| n.matches('_').count() == 2, out) {
        for c in subdirs(ctx, &pod.host, Format::CriLog, |n| !n.starts_with('.'), out) {
            files.extend(
                walk::list(ctx, &c.host, Category::Containers, Format::CriLog, out)
                    .into_iter()
                    .filter(|e| e.kind == Kind::File && is_restart_log(&e.name)),
            );
        }
    }
    let cap = Some(log_cap(ctx));
    let mut keep = newest(ctx, files, MAX_POD_LOGS, PODS_DIR, "pod container logs", Format::CriLog, out);
    keep.sort_by(|a, b| a.host.cmp(&b.host));
    for f in keep {
        push_if_present(ctx, out, &f.host, Format::CriLog, None, Kept::Tail, cap);
    }
}

#[derive(Serialize)]
struct Link {
    name: Text,
    target: Text,
}

/// The `/var/log/containers` capture (works under `--root` too: it reads links, not live state).
fn links(ctx: &Ctx, out: &mut Vec<Item>) -> Item {
    let (cat, fmt) = (Category::Containers, Format::ContainerLogLinks);
    if !is_dir(ctx, LINKS_DIR) {
        return not_here(LINKS_JSON, LINKS_DIR, fmt, format!("no {LINKS_DIR} here"));
    }
    let found = walk::list(ctx, LINKS_DIR, cat, fmt, out);
    let symlinks: Vec<_> = found.into_iter().filter(|e| e.kind == Kind::Symlink).collect();
    let total = symlinks.len();
    let mut list = Vec::new();
    let mut errors = Vec::new();
    for e in symlinks.into_iter().take(MAX_LINKS) {
        match fsutil::readlink(&ctx.host_path(&e.host)) {
            Ok(t) => list.push(Link {
                name: Text::from_str(&e.name),
                target: Text::from_vec(t),
            }),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {} // removed since listed
            Err(err) => errors.push(format!("{}: {err}", e.host)),
        }
    }
    let mut data = serde_json::to_vec_pretty(&list).unwrap_or_default();
    data.push(b'\n');
    let status = if total > MAX_LINKS {
        Status::Truncated {
            kept: Kept::Head,
            original_size: data.len() as u64,
            reason: format!("{total} links; the first {MAX_LINKS} by name listed"),
        }
    } else if let Some(first) = errors.first() {
        Status::Io {
            message: format!("{} link(s) could not be read; first: {first}", errors.len()),
        }
    } else {
        Status::Ok
    };
    Item::Capture(CaptureItem {
        bundle_path: LINKS_JSON.to_owned(),
        source: LINKS_DIR.to_owned(),
        category: cat,
        format: fmt,
        account: None,
        data,
        status,
        command: None,
    })
}

/// The ids in `crictl ps -o json` output (`{"containers": [{"id": …}]}`), in order, at most `max`.
pub fn crictl_ids(raw: &[u8], max: usize) -> Vec<String> {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(raw) else {
        return Vec::new();
    };
    let mut ids: Vec<String> = Vec::new();
    for c in v.get("containers").and_then(|c| c.as_array()).into_iter().flatten() {
        if let Some(id) = c.get("id").and_then(|x| x.as_str()).filter(|id| is_container_id(id)) {
            if !ids.iter().any(|x| x == id) && ids.len() < max {
                ids.push(id.to_owned());
            }
        }
    }
    ids
}

fn crictl(ctx: &Ctx, out: &mut Vec<Item>) {
    let (ps_fmt, in_fmt) = (Format::CrictlPsJson, Format::CrictlInspectJson);
    let ps_argv = "crictl ps -a -o json";
    let in_argv = "crictl inspect -o json ID…";
    let both = |out: &mut Vec<Item>, reason: String| {
        out.push(not_here(nth_path("crictl-ps", 0), ps_argv, ps_fmt, reason.clone()));
        out.push(not_here(nth_path("crictl-inspect", 0), in_argv, in_fmt, reason));
    };
    if !ctx.live {
        out.push(fsutil::not_live(nth_path("crictl-ps", 0), ps_argv, Category::Containers, ps_fmt));
        out.push(fsutil::not_live(nth_path("crictl-inspect", 0), in_argv, Category::Containers, in_fmt));
        return;
    }
    if command::find_program("crictl").is_none() {
        both(out, "crictl not installed".into());
        return;
    }
    // /var/run is usually a link to /run: one socket, asked once.
    let mut sockets: Vec<String> = Vec::new();
    for s in CRI_SOCKETS {
        if let Ok(real) = walk::resolve(ctx, s, true) {
            if is_socket(ctx, &real) && !sockets.contains(&real) {
                sockets.push(real);
            }
        }
    }
    if sockets.is_empty() {
        both(out, format!("no CRI socket ({} not there)", CRI_SOCKETS.join(", ")));
        return;
    }
    for (n, sock) in sockets.iter().enumerate() {
        let ep = format!("unix://{sock}");
        let ps = command::capture(
            ctx,
            &["crictl", "--runtime-endpoint", &ep, "ps", "-a", "-o", "json"],
            &[],
            &nth_path("crictl-ps", n),
            Category::Containers,
            ps_fmt,
        );
        let ids = capture_data(&ps).map(|d| crictl_ids(d, MAX_CONTAINERS));
        out.push(ps);
        let path = nth_path("crictl-inspect", n);
        match ids {
            None => out.push(not_here(path, in_argv, in_fmt, "crictl ps did not answer")),
            Some(ids) if ids.is_empty() => out.push(not_here(path, in_argv, in_fmt, "crictl ps listed no containers")),
            Some(ids) => {
                let mut argv: Vec<&str> = vec!["crictl", "--runtime-endpoint", &ep, "inspect", "-o", "json"];
                argv.extend(ids.iter().map(String::as_str));
                out.push(command::capture(ctx, &argv, &[], &path, Category::Containers, in_fmt));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::ffi::OsStrExt;

    use super::super::testutil::{ctx, lines, set_mtime, write};
    use super::*;

    #[test]
    fn restart_logs() {
        assert!(is_restart_log("0.log"));
        assert!(is_restart_log("12.log"));
        for n in [".log", "0.log.20261204-101010", "0.log.gz", "x.log", "0.txt", "99999999999.log"] {
            assert!(!is_restart_log(n), "{n}");
        }
    }

    #[test]
    fn crictl_ids_reads_the_container_list() {
        let a = "c3".repeat(32);
        let raw = format!("{{\"containers\":[{{\"id\":\"{a}\",\"metadata\":{{\"name\":\"web\"}}}},{{\"id\":\"short\"}},{{\"id\":\"{a}\"}}]}}");
        assert_eq!(crictl_ids(raw.as_bytes(), 10), vec![a]);
        assert!(crictl_ids(b"{\"containers\": 5}", 10).is_empty());
        assert!(crictl_ids(b"\xff garbage", 10).is_empty());
    }

    #[test]
    fn node_files_pod_log_tails_and_links() {
        let t = tempfile::tempdir().expect("tmp");
        let r = t.path();
        write(r, "/var/log/kubelet.log", b"I1204 10:00:00.000000    1 x.go:1] \"a\"\n");
        write(r, "/var/log/kubelet.log.1", b"older\n");
        write(r, "/var/log/kubelet.log-20261201.gz", b"x");
        write(r, KUBELET_CONFIG, b"kind: KubeletConfiguration\n");
        let pod = "/var/log/pods/default_web-0_0f1e2d3c-aaaa-bbbb-cccc-000000000001";
        write(r, &format!("{pod}/app/0.log"), b"2026-12-04T10:00:00.000000000Z stdout F hi\n");
        write(r, &format!("{pod}/app/1.log"), b"2026-12-04T10:01:00.000000000Z stderr F bye\n");
        write(r, &format!("{pod}/app/0.log.20261204-100000.gz"), b"x");
        write(r, "/var/log/pods/not-a-pod/app/0.log", b"x\n");
        std::fs::create_dir_all(r.join("var/log/containers")).expect("mkdir");
        let id = "d4".repeat(32);
        std::os::unix::fs::symlink(
            format!("{pod}/app/1.log"),
            r.join(format!("var/log/containers/web-0_default_app-{id}.log")),
        )
        .expect("link");
        // A hostile target: not UTF-8; kept as bytes. And a plain file: not a link, not listed.
        std::os::unix::fs::symlink(
            std::ffi::OsStr::from_bytes(b"/var/log/pods/\xff/0.log"),
            r.join("var/log/containers/a-odd.log"),
        )
        .expect("link");
        write(r, "/var/log/containers/plain.log", b"x");
        let mut out = Vec::new();
        collect(&ctx(r), &mut out);
        let l = lines(&out);
        let cap = "Some(262144)";
        let expect_files = [
            "file /var/log/kubelet.log KubeletLog Containers account=- keep=Tail cap=None".to_owned(),
            "file /var/log/kubelet.log-20261201.gz KubeletLog Containers account=- keep=Tail cap=None gzip".to_owned(),
            "file /var/log/kubelet.log.1 KubeletLog Containers account=- keep=Tail cap=None".to_owned(),
            format!("file {KUBELET_CONFIG} KubeletConfigYaml Containers account=- keep=Head cap=None"),
            format!("file {pod}/app/0.log CriLog Containers account=- keep=Tail cap={cap}"),
            format!("file {pod}/app/1.log CriLog Containers account=- keep=Tail cap={cap}"),
        ];
        for f in &expect_files {
            assert!(l.contains(f), "missing {f} in {l:#?}");
        }
        assert!(!l.iter().any(|x| x.contains("not-a-pod") || x.contains(".gz CriLog")), "{l:#?}");
        let cap_json = out
            .iter()
            .find_map(|i| match i {
                Item::Capture(c) if c.bundle_path == LINKS_JSON => Some(c),
                _ => None,
            })
            .expect("links capture");
        assert_eq!(cap_json.status, Status::Ok);
        assert_eq!(cap_json.format, Format::ContainerLogLinks);
        let v: serde_json::Value = serde_json::from_slice(&cap_json.data).expect("json");
        assert_eq!(
            v,
            serde_json::json!([
                { "name": { "text": "a-odd.log" }, "target": { "bytes": "L3Zhci9sb2cvcG9kcy//LzAubG9n" } },
                { "name": { "text": format!("web-0_default_app-{id}.log") }, "target": { "text": format!("{pod}/app/1.log") } },
            ])
        );
        // The live captures are not applicable under --root.
        assert!(l.contains(&"absent cmd/crictl-ps.json CrictlPsJson Containers NotApplicable { reason: \"live source under --root\" }".to_owned()));
    }

    #[test]
    fn pod_logs_are_capped_newest_first() {
        let t = tempfile::tempdir().expect("tmp");
        let r = t.path();
        let pod = "/var/log/pods/ns_p_u";
        let n = MAX_POD_LOGS + 2;
        for i in 0..n {
            let f = format!("{pod}/c/{i}.log");
            write(r, &f, b"x\n");
            set_mtime(r, &f, 1_700_000_000 + i as u64);
        }
        let mut out = Vec::new();
        pod_logs(&ctx(r), &mut out);
        let l = lines(&out);
        assert_eq!(l.len(), 1 + MAX_POD_LOGS);
        assert!(l[0].starts_with("absent fs/var/log/pods CriLog Containers Skipped"), "{}", l[0]);
        assert!(!l.iter().any(|x| x.contains("/c/0.log ") || x.contains("/c/1.log ")), "oldest two cut");
        assert!(l.iter().any(|x| x.contains(&format!("/c/{}.log ", n - 1))));
    }

    #[test]
    fn no_kubelet_is_recorded_as_not_applicable() {
        let t = tempfile::tempdir().expect("tmp");
        let mut out = Vec::new();
        collect(&ctx(t.path()), &mut out);
        let l = lines(&out);
        assert!(l[0].starts_with("absent fs/var/lib/kubelet/config.yaml KubeletConfigYaml Containers NotApplicable"), "{l:#?}");
        assert!(l[1].starts_with("absent live/containers/var-log-containers.json ContainerLogLinks Containers NotApplicable"), "{l:#?}");
        assert_eq!(l.len(), 4);
    }
}
