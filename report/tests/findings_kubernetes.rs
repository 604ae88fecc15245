//! Container deaths on a Kubernetes node, which this machine cannot run: the kubelet's, containerd's and
//! crictl's records in `fixtures/containers/` (written in the exact shapes their sources print, see each
//! folder's PROVENANCE) are packed into a signed bundle at the paths the collector takes them from, rendered by
//! the real binary, and each death must name its pod, container and what ended it, with the confidence its
//! records allow: a liveness-probe kill, an eviction, an API delete, a preemption, and a container OOM kill that
//! only the runtime reports (no kernel line in the bundle).

mod common;

use std::process::Command;

use coroner_schemas::manifest::{Category, Format};
use serde_json::Value;

const WEB: &str = "9f2c4e6a8b0d1f3e5a7c9b1d3f5e7a9c0b2d4f6e8a1c3e5b7d9f0a2c4e6b8d0f";
const SANDBOX: &str = "3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c";

fn fixture(p: &str) -> Vec<u8> {
    std::fs::read(common::repo_root().join("fixtures/containers").join(p)).unwrap_or_else(|e| panic!("fixture {p}: {e}"))
}

fn render() -> (Value, String) {
    let mut b = common::BundleBuilder::new("node1");
    let c = Category::Containers;
    b.file("fs/var/log/kubelet.log", "/var/log/kubelet.log", c, Format::KubeletLog, &fixture("kubelet/kubelet.log"));
    b.file("fs/var/log/containerd.log", "/var/log/containerd.log", c, Format::RuntimeLog, &fixture("containerd/containerd.log"));
    b.file("cmd/crictl-ps.json", "crictl ps -a -o json", c, Format::CrictlPsJson, &fixture("crictl/ps.json"));
    b.file("cmd/crictl-inspect.json", "crictl inspect", c, Format::CrictlInspectJson, &fixture("crictl/inspect.jsonl"));
    b.file("live/containers/var-log-containers.json", "/var/log/containers", c, Format::ContainerLogLinks, &fixture("kubelet/containers-links.json"));
    for (id, file) in [(WEB, "containerd-web-config.json"), (SANDBOX, "containerd-sandbox-config.json")] {
        let host = format!("/run/containerd/io.containerd.runtime.v2.task/k8s.io/{id}/config.json");
        // The parser reads the runtime and id from the source path; the member name is short (the test
        // bundle writer keeps names within tar's 100 bytes).
        b.file(&format!("fs/run/containerd/{file}"), &host, c, Format::OciConfigJson, &fixture(&format!("oci/{file}")));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let bundle = dir.path().join("b.tar.gz");
    b.write(&bundle);
    let out = dir.path().join("r");
    let r = Command::new(env!("CARGO_BIN_EXE_coroner-report")).args(["render", &bundle.display().to_string(), "-o", &out.display().to_string()]).output().expect("run");
    assert!(r.status.code().is_some_and(|c| c <= 1), "{}", String::from_utf8_lossy(&r.stderr));
    let doc: Value = serde_json::from_slice(&std::fs::read(out.join("findings.json")).expect("findings")).expect("json");
    (doc, std::fs::read_to_string(out.join("report.md")).expect("md"))
}

/// The one finding of the pod's container `name`.
fn of<'a>(doc: &'a Value, pod: &str, name: &str) -> &'a Value {
    let v: Vec<&Value> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["victim"]["pod"]["name"] == pod && f["victim"]["container"]["name"] == name)
        .collect();
    assert_eq!(v.len(), 1, "{pod}/{name}: {v:#?}");
    v[0]
}

/// The one finding of the pod's container `name` that `reason` ended.
fn of_reason<'a>(doc: &'a Value, pod: &str, name: &str, reason: &str) -> &'a Value {
    let v: Vec<&Value> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["victim"]["pod"]["name"] == pod && f["victim"]["container"]["name"] == name && f["container_reason"] == reason)
        .collect();
    assert_eq!(v.len(), 1, "{pod}/{name} {reason}: {v:#?}");
    v[0]
}

#[test]
fn each_kubelet_and_runtime_hand_is_named_with_its_pod() {
    let (doc, md) = render();
    let web = of(&doc, "web-5d9c7b7f4-x2x9q", "web");
    assert_eq!((web["container_reason"].as_str(), web["confidence"].as_str(), web["via"].as_str()), (Some("liveness_probe"), Some("certain"), Some("kubelet")), "{web:#}");
    assert_eq!((web["victim"]["pod"]["namespace"].as_str(), web["victim"]["pod"]["uid"].as_str()), (Some("default"), Some("3f8e9a52-6b1d-4c1e-9a7e-2b5f0c1d4e6a")), "{web:#}");
    assert_eq!((web["victim"]["container"]["id"].as_str(), web["victim"]["container"]["image"].as_str()), (Some(WEB), Some("registry.example/web:1.4.2")), "{web:#}");
    assert_eq!(web["killer"]["comm"], "kubelet", "{web:#}");
    let roles: Vec<&str> = web["evidence"].as_array().expect("evidence").iter().filter_map(|e| e["role"].as_str()).collect();
    assert!(roles.iter().any(|r| r.contains("failed probe")) && roles.iter().any(|r| r.contains("killing the container")), "{roles:?}");

    // cache was OOM-killed (containerd's TaskOOM), restarted as a new container, and that one evicted.
    let cache = of_reason(&doc, "cache-7b8c9d6f5-m3n4p", "cache", "eviction");
    assert_eq!((cache["confidence"].as_str(), cache["victim"]["container"]["id"].as_str().map(|i| &i[..12])), (Some("certain"), Some("2e4a6c8e0b1d")), "{cache:#}");
    let oom = of_reason(&doc, "cache-7b8c9d6f5-m3n4p", "cache", "memory_limit");
    assert_eq!((oom["confidence"].as_str(), oom["victim"]["container"]["image"].as_str()), (Some("likely"), Some("docker.io/library/redis:7.2")), "{oom:#}");
    assert!(!oom["reasoning"].as_str().unwrap_or("").contains("  "), "a runtime no record names leaves a gap: {oom:#}");
    let api = of(&doc, "api-7c9d8f6b5-4kq2m", "api");
    assert_eq!(api["container_reason"], "api_delete", "{api:#}");
    let batch = of(&doc, "batch-6f7d8c9b5-q8w2e", "batch");
    assert_eq!(batch["container_reason"], "preemption", "{batch:#}");
    // Its exit (PLEG) names the pod by uid only; the kill line before it names the pod and the container.
    assert_eq!((batch["victim"]["pod"]["namespace"].as_str(), batch["victim"]["pod"]["uid"].as_str()), (Some("default"), Some("5b9f3e1d-7c2a-4d86-a0e4-91c8b7d6f3a2")), "{batch:#}");

    // The Markdown a postmortem pastes names the pod and the reason.
    assert!(md.contains("web-5d9c7b7f4-x2x9q") && md.contains("liveness\\_probe"), "{md}");
}

#[test]
fn a_runtime_oom_report_alone_is_not_certain() {
    let (doc, _) = render();
    let ooms: Vec<&Value> = doc["findings"].as_array().expect("findings").iter().filter(|f| f["container_reason"] == "memory_limit").collect();
    assert!(!ooms.is_empty(), "containerd's TaskOOM and crictl's OOMKilled make no finding: {:#}", doc["findings"]);
    for f in ooms {
        // No kernel OOM line is in this bundle: the runtime's word is likely at most.
        assert_ne!(f["confidence"], "certain", "{f:#}");
        assert!(f["victim"]["container"]["id"].is_string(), "{f:#}");
    }
}
