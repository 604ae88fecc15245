//! containerd: the OCI bundle (`config.json`) of each task, from its runtime state directories, and its log
//! file when it writes one.
//!
//! Task bundles live under the state directory (`/run/containerd`): the v2 shims'
//! `io.containerd.runtime.v2.task/<namespace>/<id>/` (namespace `k8s.io` for the CRI, `moby` for Docker,
//! `default` for `ctr`) and the old v1 `io.containerd.runtime.v1.linux/<namespace>/<id>/`. A bundle exists
//! while its task does, so these are the running (or not yet cleaned up) containers. Ids are any directory
//! name (`ctr run IMAGE web` makes a task `web`), not only 64-hex ids.
//!
//! Not taken: the metadata store `/var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db`. It is a bbolt
//! database (binary pages, no text record), often hundreds of MB with the image and snapshot metadata of
//! every namespace, kept open and rewritten by the running daemon (a copy read while it writes can be torn),
//! and the report has no reader for it; the container facts it holds for live tasks are in their bundles, and
//! the CRI's view is taken with `crictl` (see `kube.rs`).

use coroner_schemas::manifest::{Format, Kept};

use super::super::{fsutil, Ctx, Item};
use super::{is_dir, newest, not_here, push_if_present, push_rotated_logs, subdirs, MAX_CONTAINERS};

/// containerd's task state directories (v2 shims, then the v1 runtime).
pub const TASK_DIRS: &[&str] = &[
    "/run/containerd/io.containerd.runtime.v2.task",
    "/run/containerd/io.containerd.runtime.v1.linux",
];

/// A namespace or task directory name containerd could have made (no hidden or odd names).
fn plain_name(n: &str) -> bool {
    !n.starts_with('.') && !n.is_empty()
}

pub fn collect(ctx: &Ctx, out: &mut Vec<Item>) {
    let present: Vec<&str> = TASK_DIRS.iter().copied().filter(|d| is_dir(ctx, d)).collect();
    if present.is_empty() {
        out.push(not_here(
            fsutil::fs_bundle_path(TASK_DIRS[0]),
            TASK_DIRS[0],
            Format::OciConfigJson,
            "no containerd task state here (no /run/containerd/io.containerd.runtime.{v2.task,v1.linux})",
        ));
    }
    for dir in present {
        let mut tasks = Vec::new();
        for ns in subdirs(ctx, dir, Format::OciConfigJson, plain_name, out) {
            tasks.extend(subdirs(ctx, &ns.host, Format::OciConfigJson, plain_name, out));
        }
        for t in newest(ctx, tasks, MAX_CONTAINERS, dir, "containerd tasks", Format::OciConfigJson, out) {
            push_if_present(ctx, out, &format!("{}/config.json", t.host), Format::OciConfigJson, None, Kept::Head, None);
        }
    }
    push_rotated_logs(ctx, out, "/var/log", "containerd.log", Format::RuntimeLog);
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{ctx, lines, write};
    use super::*;

    #[test]
    fn task_bundles_of_every_namespace_and_both_runtimes() {
        let t = tempfile::tempdir().expect("tmp");
        let r = t.path();
        let id = "4f".repeat(32);
        write(r, &format!("{}/k8s.io/{id}/config.json", TASK_DIRS[0]), b"{}");
        write(r, &format!("{}/k8s.io/{id}/init.pid", TASK_DIRS[0]), b"42");
        write(r, &format!("{}/default/web/config.json", TASK_DIRS[0]), b"{}");
        write(r, &format!("{}/moby/.hidden/config.json", TASK_DIRS[0]), b"{}");
        write(r, &format!("{}/moby/{id}/config.json", TASK_DIRS[1]), b"{}");
        write(r, "/var/log/containerd.log", b"time=\"2026-12-01T00:00:00Z\" level=info msg=x\n");
        write(r, "/var/log/containerd.log.1", b"older\n");
        let mut out = Vec::new();
        collect(&ctx(r), &mut out);
        let mut l = lines(&out);
        l.sort();
        assert_eq!(
            l,
            vec![
                "file /run/containerd/io.containerd.runtime.v1.linux/moby/4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f/config.json OciConfigJson Containers account=- keep=Head cap=None",
                "file /run/containerd/io.containerd.runtime.v2.task/default/web/config.json OciConfigJson Containers account=- keep=Head cap=None",
                "file /run/containerd/io.containerd.runtime.v2.task/k8s.io/4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f/config.json OciConfigJson Containers account=- keep=Head cap=None",
                "file /var/log/containerd.log RuntimeLog Containers account=- keep=Tail cap=None",
                "file /var/log/containerd.log.1 RuntimeLog Containers account=- keep=Tail cap=None",
            ]
        );
    }

    #[test]
    fn no_containerd_is_recorded_as_not_applicable() {
        let t = tempfile::tempdir().expect("tmp");
        let mut out = Vec::new();
        collect(&ctx(t.path()), &mut out);
        assert_eq!(lines(&out), vec!["absent fs/run/containerd/io.containerd.runtime.v2.task OciConfigJson Containers NotApplicable { reason: \"no containerd task state here (no /run/containerd/io.containerd.runtime.{v2.task,v1.linux})\" }"]);
    }
}
