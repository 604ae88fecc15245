//! Container ids and pod uids in cgroup paths, the one place every runtime leaves its mark on a process the
//! kernel, the recorder and `/proc` all report. Shapes, as each runtime names its cgroups:
//! - Docker, cgroupfs driver: `/docker/<id>`; systemd driver: `/system.slice/docker-<id>.scope`;
//! - containerd (CRI): `/kubepods/burstable/pod<uid>/<id>` (cgroupfs) or
//!   `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_>.slice/cri-containerd-<id>.scope`;
//! - CRI-O: `…/crio-<id>.scope` (and `crio-conmon-<id>.scope` for its monitor);
//! - Podman: `/machine.slice/libpod-<id>.scope` (the workload may sit one level deeper, in `…/container`),
//!   `libpod_parent/libpod-<id>` under cgroupfs.
//!
//! Under systemd a pod uid's dashes are written as underscores (`pod1a2b_…`); it is given back with dashes.

/// A container named by a cgroup path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CgroupContainer<'a> {
    /// `docker`, `containerd`, `cri-o`, `podman`, or `None` where the shape does not say (`kubepods/…/<id>`
    /// under cgroupfs is containerd's or CRI-O's).
    pub runtime: Option<&'static str>,
    /// The 64-hex container id.
    pub id: &'a str,
    /// The pod uid (dashed), when the path passes through a `pod<uid>` cgroup.
    pub pod_uid: Option<String>,
}

/// The container (and pod) a cgroup path names, if it names one: the deepest component that is a container's
/// cgroup wins. Only whole 64-hex ids count, so a path that merely contains hex is not read as a container.
pub fn parse(path: &str) -> Option<CgroupContainer<'_>> {
    let path = path.trim();
    let mut found: Option<CgroupContainer<'_>> = None;
    let mut pod_uid = None;
    for comp in path.split('/') {
        if let Some(uid) = pod_uid_of(comp) {
            pod_uid = Some(uid);
            continue;
        }
        if let Some((runtime, id)) = container_of(comp) {
            found = Some(CgroupContainer { runtime, id, pod_uid: None });
        }
    }
    let mut c = found?;
    c.pod_uid = pod_uid;
    if c.runtime.is_none() && c.pod_uid.is_none() {
        // A bare 64-hex component outside any kubepods tree: say nothing rather than guess.
        if !path.split('/').any(|p| p == "docker" || p.starts_with("kubepods")) {
            return None;
        }
        if path.split('/').any(|p| p == "docker") {
            c.runtime = Some("docker");
        }
    }
    Some(c)
}

/// A cgroup component naming a container: `(runtime, id)`.
fn container_of(comp: &str) -> Option<(Option<&'static str>, &str)> {
    const SCOPES: &[(&str, &str)] = &[
        ("docker-", "docker"),
        ("cri-containerd-", "containerd"),
        ("crio-", "cri-o"),
        ("libpod-", "podman"),
    ];
    let stem = comp.strip_suffix(".scope").unwrap_or(comp);
    for (prefix, runtime) in SCOPES {
        if let Some(id) = stem.strip_prefix(prefix) {
            // `crio-conmon-<id>` is CRI-O's monitor, not the container; `libpod-conmon-<id>` likewise.
            return is_id(id).then_some((Some(*runtime), id));
        }
    }
    is_id(comp).then_some((None, comp))
}

/// `pod<uid>` or `kubepods-<qos>-pod<uid_>.slice`: the uid, dashed.
fn pod_uid_of(comp: &str) -> Option<String> {
    let stem = comp.strip_suffix(".slice").unwrap_or(comp);
    let at = stem.rfind("pod")?;
    if at > 0 && !stem[..at].ends_with('-') {
        return None;
    }
    if at > 0 && !stem.starts_with("kubepods") {
        return None;
    }
    let uid = stem[at + 3..].replace('_', "-");
    let ok = uid.len() == 36
        && uid.char_indices().all(|(i, c)| if matches!(i, 8 | 13 | 18 | 23) { c == '-' } else { c.is_ascii_hexdigit() });
    ok.then_some(uid)
}

/// A full container id: 64 lowercase hex digits.
pub fn is_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "1e1755e4a1d0d8f2b3c4a5b6c7d8e9f00112233445566778899aabbccddeeff0";

    #[test]
    fn each_runtime_shape_names_its_container() {
        let cases: &[(String, Option<&str>, Option<&str>)] = &[
            (format!("/docker/{ID}"), Some("docker"), None),
            (format!("/system.slice/docker-{ID}.scope"), Some("docker"), None),
            (
                format!("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0f1e2d3c_4b5a_6978_8a9b_0c1d2e3f4a5b.slice/cri-containerd-{ID}.scope"),
                Some("containerd"),
                Some("0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"),
            ),
            (format!("/kubepods/burstable/pod0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b/{ID}"), None, Some("0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b")),
            (format!("/kubepods.slice/kubepods-pod0f1e2d3c_4b5a_6978_8a9b_0c1d2e3f4a5b.slice/crio-{ID}.scope"), Some("cri-o"), Some("0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b")),
            (format!("/machine.slice/libpod-{ID}.scope/container"), Some("podman"), None),
            (format!("/libpod_parent/libpod-{ID}"), Some("podman"), None),
        ];
        for (path, runtime, pod) in cases {
            let c = parse(path).unwrap_or_else(|| panic!("{path}"));
            assert_eq!((c.runtime, c.id, c.pod_uid.as_deref()), (*runtime, ID, *pod), "{path}");
        }
    }

    #[test]
    fn paths_naming_no_container_are_not_read_as_one() {
        for path in [
            "/",
            "/user.slice/user-1000.slice/session-3.scope",
            "/system.slice/nginx.service",
            &format!("/system.slice/crio-conmon-{ID}.scope"),
            &format!("/app/{ID}"),
            "/docker/1e1755",
            &format!("/docker/{}", ID.to_uppercase()),
        ] {
            assert_eq!(parse(path), None, "{path}");
        }
    }
}
