//! OCI runtime bundles and CRI-O's saved state:
//! - [`Format::OciConfigJson`]: a bundle's `config.json` (runtime-spec `Spec`), whose annotations name the
//!   Kubernetes pod and container, and `linux.cgroupsPath` the container's cgroup. A [`ContainerRecord`], no events.
//! - [`Format::ContainerStateJson`]: CRI-O's `userdata/state.json` (cri-o `internal/oci` `ContainerState`: the
//!   runtime-spec `State` — `id`, `status`, `pid`, `bundle`, `annotations` — plus `created`, `started`,
//!   `finished`, `exitCode`, `oomKilled`, `error`, `initPid`). A record and its start/exit events.
//!
//! The runtime comes from where the file lies: `…/io.containerd.runtime.v2.task/<namespace>/<id>/` is
//! containerd's (namespace `moby`: dockerd's containers, runtime `docker`); `…/containers/storage/…` is CRI-O's
//! when the annotations hold `io.kubernetes.cri-o.*` keys, else Podman's; elsewhere the annotations decide
//! (`io.kubernetes.cri.*` containerd, `io.kubernetes.cri-o.*` CRI-O), else it is left empty (unknown). The id is the
//! path's 64-hex component (state.json's own `id` wins when it has one).
//!
//! Annotations read, by runtime (names as each runtime's source defines them):
//! - containerd CRI (`pkg/cri/annotations/annotations.go`, `internal/cri/annotations` in 2.x):
//!   `io.kubernetes.cri.container-type` (`sandbox`/`container`), `io.kubernetes.cri.container-name`,
//!   `io.kubernetes.cri.sandbox-name`, `io.kubernetes.cri.sandbox-namespace`, `io.kubernetes.cri.sandbox-uid`,
//!   `io.kubernetes.cri.image-name`;
//! - CRI-O (`pkg/annotations`, and the kubelet's own container annotations it copies): `io.kubernetes.cri-o.ContainerType`,
//!   `io.kubernetes.cri-o.ImageName`, `io.kubernetes.container.name`, `io.kubernetes.pod.name`,
//!   `io.kubernetes.pod.namespace`, `io.kubernetes.pod.uid`, `io.kubernetes.container.restartCount`.
//!
//! A pod's sandbox (its `pause` container, container type `sandbox`) is a record too, named `POD` (the name the
//! kubelet gives it), so that its cgroup and exit are told apart from the workload's.
//!
//! `linux.cgroupsPath` in systemd's `slice:prefix:name` form is turned into the path systemd gives it, exactly as
//! runc's systemd driver does: the slice expanded into its parents (`kubepods-burstable-podU.slice` →
//! `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podU.slice`), then the unit `prefix-name.scope`.
//! A path form (`/kubepods/burstable/podU/ID`) is kept as it is.
//!
//! [`Format::OciConfigJson`]: coroner_schemas::manifest::Format::OciConfigJson
//! [`Format::ContainerStateJson`]: coroner_schemas::manifest::Format::ContainerStateJson

use bytes::Bytes;
use coroner_schemas::manifest::Format;
use coroner_schemas::{Origin, Text};
use serde_json::Value;

use super::containers::{entry_path, id_in_path, lifecycle, object, Reader};
use super::facts::{ContainerRecord, Fact};
use super::{ParseProblem, Parsed, SourceCtx};

pub fn parse(raw: &Bytes, ctx: &SourceCtx) -> Parsed {
    match ctx.entry.format {
        Format::OciConfigJson => bundle_config(raw, ctx),
        Format::ContainerStateJson => state(raw, ctx),
        _ => Parsed::default(),
    }
}

/// The runtime that made the container, from the file's place and its annotations.
fn runtime(path: &str, annotations: Option<&Value>) -> &'static str {
    let has = |prefix: &str| annotations.and_then(Value::as_object).is_some_and(|m| m.keys().any(|k| k.starts_with(prefix)));
    if let Some((_, rest)) = path.split_once("/io.containerd.runtime.v2.task/") {
        return if rest.starts_with("moby/") { "docker" } else { "containerd" };
    }
    if path.contains("/containers/storage/") {
        return if has("io.kubernetes.cri-o.") { "cri-o" } else { "podman" };
    }
    if has("io.kubernetes.cri-o.") {
        "cri-o"
    } else if has("io.kubernetes.cri.") {
        "containerd"
    } else {
        ""
    }
}

/// A systemd slice name's path: `a-b-c.slice` → `/a.slice/a-b.slice/a-b-c.slice` (`-.slice` is the root).
fn expand_slice(slice: &str) -> Option<String> {
    let stem = slice.strip_suffix(".slice")?;
    if stem == "-" {
        return Some(String::new());
    }
    if stem.is_empty() || stem.starts_with('-') || stem.ends_with('-') || stem.contains("--") || stem.contains('/') {
        return None;
    }
    let mut path = String::new();
    let mut prefix = String::new();
    for part in stem.split('-') {
        if !prefix.is_empty() {
            prefix.push('-');
        }
        prefix.push_str(part);
        path.push('/');
        path.push_str(&prefix);
        path.push_str(".slice");
    }
    Some(path)
}

/// `linux.cgroupsPath` → the cgroup path, when it can be given exactly.
pub fn cgroup_path(p: &str) -> Option<String> {
    if p.starts_with('/') {
        return Some(p.trim_end_matches('/').to_owned());
    }
    let mut parts = p.split(':');
    let (slice, prefix, name) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || slice.is_empty() || name.is_empty() {
        return None;
    }
    let unit = if name.ends_with(".slice") {
        name.to_owned()
    } else if prefix.is_empty() {
        format!("{name}.scope")
    } else {
        format!("{prefix}-{name}.scope")
    };
    Some(format!("{}/{unit}", expand_slice(slice)?))
}

/// The pod, container name, image and sandbox flag the annotations give.
fn annotated(r: &mut Reader, c: &mut ContainerRecord, a: &Value) {
    let pick = |r: &mut Reader, keys: &[&str]| keys.iter().find_map(|k| r.text(a, &[k]));
    c.pod_name = pick(r, &["io.kubernetes.cri.sandbox-name", "io.kubernetes.pod.name"]);
    c.pod_namespace = pick(r, &["io.kubernetes.cri.sandbox-namespace", "io.kubernetes.pod.namespace"]);
    c.pod_uid = pick(r, &["io.kubernetes.cri.sandbox-uid", "io.kubernetes.pod.uid"]);
    c.image = pick(r, &["io.kubernetes.cri.image-name", "io.kubernetes.cri-o.ImageName"]);
    c.name = pick(r, &["io.kubernetes.cri.container-name", "io.kubernetes.container.name"]);
    if let Some(n) = pick(r, &["io.kubernetes.container.restartCount"]) {
        match n.parse() {
            Ok(n) => c.restart_count = Some(n),
            Err(_) => r.problems.push(format!("annotation io.kubernetes.container.restartCount is not a count: {n:?}")),
        }
    }
    let kind = pick(r, &["io.kubernetes.cri.container-type", "io.kubernetes.cri-o.ContainerType"]);
    if kind.as_deref() == Some("sandbox") {
        c.name = Some("POD".into());
    }
}


fn bundle_config(raw: &Bytes, ctx: &SourceCtx) -> Parsed {
    let mut out = Parsed::default();
    let Some(v) = object(raw, ctx, "OCI config.json", &mut out) else { return out };
    let path = entry_path(ctx);
    let Some(id) = id_in_path(path) else {
        out.problems.push(ParseProblem::at_offset(ctx, 0, "OCI config.json is not in a folder named by a container id: not read"));
        return out;
    };
    let mut r = Reader::default();
    let annotations = v.get("annotations");
    let mut c = ContainerRecord::new(runtime(path, annotations), id, Origin { entry: ctx.path.clone(), line: Some(1), offset: Some(ctx.offset) });
    if let Some(a) = annotations {
        annotated(&mut r, &mut c, a);
    }
    if let Some(p) = r.text(&v, &["linux", "cgroupsPath"]) {
        c.cgroup = cgroup_path(&p);
        if c.cgroup.is_none() {
            r.problems.push(format!("linux.cgroupsPath {p:?} is neither a path nor systemd's slice:prefix:name"));
        }
    }
    out.facts.push(Fact::Container(c));
    for m in r.problems {
        out.problems.push(ParseProblem::new(&ctx.path, Some(1), None, m));
    }
    out
}

fn state(raw: &Bytes, ctx: &SourceCtx) -> Parsed {
    let mut out = Parsed::default();
    let Some(v) = object(raw, ctx, "container state.json", &mut out) else { return out };
    let path = entry_path(ctx);
    let mut r = Reader::default();
    let Some(id) = r.text(&v, &["id"]).or_else(|| id_in_path(path).map(str::to_owned)) else {
        out.problems.push(ParseProblem::at_offset(ctx, 0, "container state.json names no id, nor does its path: not read"));
        return out;
    };
    let annotations = v.get("annotations");
    let rt = match runtime(path, annotations) {
        // state.json is CRI-O's file (Podman keeps its state in its database).
        "" | "podman" => "cri-o",
        other => other,
    };
    let at = Origin { entry: ctx.path.clone(), line: Some(1), offset: Some(ctx.offset) };
    let mut c = ContainerRecord::new(rt, &id, at.clone());
    if let Some(a) = annotations {
        annotated(&mut r, &mut c, a);
    }
    c.status = r.text(&v, &["status"]);
    c.pid = r.i64(&v, &["pid"]).filter(|p| *p > 0).or_else(|| r.i64(&v, &["initPid"]).filter(|p| *p > 0));
    c.started = r.time(&v, &["started"]);
    c.finished = r.time(&v, &["finished"]);
    c.exit_code = r.i64(&v, &["exitCode"]);
    c.oom_killed = r.bool(&v, &["oomKilled"]);
    // `exitCode` is left out when 0 (omitempty): a finished container without one exited 0.
    if c.finished.is_some() && c.exit_code.is_none() && v.get("exitCode").is_none() {
        c.exit_code = Some(0);
    }
    let error = r.text(&v, &["error"]);
    out.events.extend(lifecycle(&c, error.as_deref(), &Text::shared(raw.clone()), &at));
    out.facts.push(Fact::Container(c));
    for m in r.problems {
        out.problems.push(ParseProblem::new(&ctx.path, Some(1), None, m));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::testing::{entry, manifest};
    use coroner_schemas::accounts::Accounts;
    use coroner_schemas::EventKind;
    use std::path::PathBuf;

    fn run(host_path: &str, format: &str, raw: &[u8]) -> Parsed {
        let m = manifest();
        let a = Accounts::default();
        let e = entry(&format!("fs{host_path}"), host_path, "containers", format);
        parse(&Bytes::copy_from_slice(raw), &SourceCtx::new(&e, &m, &a))
    }

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/containers/oci").join(name)).expect("fixture")
    }

    fn record(p: &Parsed) -> &ContainerRecord {
        match p.facts.as_slice() {
            [Fact::Container(c)] => c,
            other => panic!("{other:?}"),
        }
    }

    const WID: &str = "9f2c4e6a8b0d1f3e5a7c9b1d3f5e7a9c0b2d4f6e8a1c3e5b7d9f0a2c4e6b8d0f";

    #[test]
    fn systemd_cgroups_paths_expand_as_systemd_names_them() {
        assert_eq!(
            cgroup_path(&format!("kubepods-burstable-pod3f8e9a52_6b1d_4c1e_9a7e_2b5f0c1d4e6a.slice:cri-containerd:{WID}")).as_deref(),
            Some(format!("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod3f8e9a52_6b1d_4c1e_9a7e_2b5f0c1d4e6a.slice/cri-containerd-{WID}.scope").as_str())
        );
        assert_eq!(cgroup_path("/kubepods/burstable/podx/y/").as_deref(), Some("/kubepods/burstable/podx/y"));
        assert_eq!(cgroup_path("system.slice:crio:abc").as_deref(), Some("/system.slice/crio-abc.scope"));
        for bad in ["", "a:b", "x.slice:p:", "a--b.slice:p:n", "no-slice:p:n", "a:b:c:d"] {
            assert_eq!(cgroup_path(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_containerd_bundle_names_its_pod_container_image_and_cgroup() {
        let p = run(&format!("/run/containerd/io.containerd.runtime.v2.task/k8s.io/{WID}/config.json"), "oci_config_json", &fixture("containerd-web-config.json"));
        assert!(p.problems.is_empty() && p.events.is_empty(), "{p:?}");
        let c = record(&p);
        assert_eq!((c.runtime.as_str(), c.id.as_str(), c.name.as_deref(), c.image.as_deref()), ("containerd", WID, Some("web"), Some("registry.example/web:1.4.2")));
        assert_eq!((c.pod_namespace.as_deref(), c.pod_name.as_deref(), c.pod_uid.as_deref()), (Some("default"), Some("web-5d9c7b7f4-x2x9q"), Some("3f8e9a52-6b1d-4c1e-9a7e-2b5f0c1d4e6a")));
        let cg = c.cgroup.clone().expect("cgroup");
        let parsed = crate::sources::container_ids::parse(&cg).expect("a container cgroup");
        assert_eq!((parsed.runtime, parsed.id, parsed.pod_uid.as_deref()), (Some("containerd"), WID, Some("3f8e9a52-6b1d-4c1e-9a7e-2b5f0c1d4e6a")));
        let sandbox = run(&format!("/run/containerd/io.containerd.runtime.v2.task/k8s.io/{}/config.json", "3c".repeat(32)), "oci_config_json", &fixture("containerd-sandbox-config.json"));
        assert_eq!(record(&sandbox).name.as_deref(), Some("POD"));
    }

    #[test]
    fn crio_state_gives_the_oom_killed_exit() {
        let id = "6e1f3a5c7b9d0e2f4a6c8b0d2e4f6a8c0b1d3e5f7a9c1b3d5e7f9a0c2b4d6e8f";
        let p = run(&format!("/var/lib/containers/storage/overlay-containers/{id}/userdata/state.json"), "container_state_json", &fixture("crio-state.json"));
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        let c = record(&p);
        assert_eq!((c.runtime.as_str(), c.name.as_deref(), c.restart_count, c.oom_killed, c.exit_code, c.status.as_deref()), ("cri-o", Some("cache"), Some(4), Some(true), Some(137), Some("stopped")));
        let kinds: Vec<EventKind> = p.events.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [EventKind::ContainerStart, EventKind::ContainerExit]);
        assert_eq!(p.events[1].pid, Some(50321), "CRI-O keeps the pid after the exit");
        let p = run(&format!("/var/lib/containers/storage/overlay-containers/{id}/userdata/config.json"), "oci_config_json", &fixture("crio-config.json"));
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        let c = record(&p);
        assert_eq!((c.runtime.as_str(), c.name.as_deref(), c.restart_count, c.pod_name.as_deref()), ("cri-o", Some("cache"), Some(4), Some("cache-7b8c9d6f5-m3n4p")));
    }

    #[test]
    fn garbage_is_a_problem() {
        let at = format!("/run/containerd/io.containerd.runtime.v2.task/k8s.io/{WID}/config.json");
        for raw in [&b""[..], b"{", b"[]", b"\xff", b"{\"annotations\":{\"io.kubernetes.container.restartCount\":\"many\"},\"linux\":{\"cgroupsPath\":\"weird\"}}"] {
            assert!(!run(&at, "oci_config_json", raw).problems.is_empty(), "{raw:?}");
        }
        assert!(!run("/nowhere/config.json", "oci_config_json", b"{}").problems.is_empty());
        assert!(!run("/x/state.json", "container_state_json", b"{\"id\":\"a\",\"pid\":\"x\",\"finished\":\"never\"}").problems.is_empty());
    }
}
