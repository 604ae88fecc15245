//! The Coroner bundle contract.
//!
//! Both `coroner-collect` and `coroner-report` depend on this crate and on nothing of each other. It holds
//! only data types and their JSON forms: no host I/O. The `*.schema.json` files under `schemas/json/` are
//! generated from these types (`cargo test -p coroner-schemas` checks that they are current; run it with
//! `UPDATE_SCHEMAS=1` to rewrite them).

#![forbid(unsafe_code)]

pub mod accounts;
pub mod audit_rules;
pub mod event;
pub mod fields;
pub mod fleet;
pub mod finding;
pub mod manifest;
pub mod proc;
pub mod signals;
pub mod size;
pub mod systemd;
pub mod text;
pub mod utc;
pub mod watch;

pub use event::{Event, EventKind, Origin, Source, Timestamp};
pub use fields::{FieldValue, Fields};
pub use finding::{Advisory, CheckItem, Confidence, Finding, FindingsDoc};
pub use manifest::{Category, Entry, Format, Manifest, Status};
pub use text::Text;
pub use utc::Utc;

/// Version of the bundle layout and manifest. Bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// Fixed names inside a bundle.
pub mod layout {
    /// The manifest: the last regular member of the tar, after every entry it lists.
    pub const MANIFEST: &str = "manifest.json";
    /// SSHSIG (armored) over the exact bytes of `manifest.json`, namespace [`SIG_NAMESPACE`].
    pub const SIGNATURE: &str = "manifest.json.sig";
    /// The signer's OpenSSH public key, one line.
    pub const SIGNER_PUB: &str = "signer.pub";
    /// The SSHSIG namespace used for signing manifests (`ssh-keygen -Y verify -n coroner`).
    pub const SIG_NAMESPACE: &str = "coroner";
    /// The identity used in the `allowed_signers` file written beside each bundle.
    pub const SIG_IDENTITY: &str = "coroner-collect";
    /// Raw copies of host files live under this prefix, at their original path (`fs/var/log/syslog`).
    pub const FS_PREFIX: &str = "fs/";
    /// Structured captures the collector made (JSON of volatile state, kmsg records).
    pub const LIVE_PREFIX: &str = "live/";
    /// Output of external commands (`journalctl`, `auditctl`, `systemctl`).
    pub const CMD_PREFIX: &str = "cmd/";
    /// The names that may appear in a bundle without a manifest entry.
    pub const UNLISTED: [&str; 3] = [MANIFEST, SIGNATURE, SIGNER_PUB];

    /// Bundle path of a host file: `/var/log/syslog` → `fs/var/log/syslog`.
    pub fn fs_path(original: &str) -> String {
        format!("{FS_PREFIX}{}", original.trim_start_matches('/'))
    }

    /// The collected sysctls (`kernel.core_pattern`…): one JSON object.
    pub const SYSCTL: &str = "live/settings/sysctl.json";
    /// A core kept without its bytes (`--cores meta`) has `live/cores/<host path>.meta.json`: its size, sha256
    /// and lstat.
    pub const CORE_META_PREFIX: &str = "live/cores/";
    pub const CORE_META_SUFFIX: &str = ".meta.json";

    /// Bundle path of the metadata of a core kept without bytes: `/tmp/core` → `live/cores/tmp/core.meta.json`.
    pub fn core_meta_path(original: &str) -> String {
        format!("{CORE_META_PREFIX}{}{CORE_META_SUFFIX}", original.trim_start_matches('/'))
    }
}

/// JSON Schema documents for the contract, by file name under `schemas/json/`.
pub fn json_schemas() -> Vec<(&'static str, serde_json::Value)> {
    fn doc<T: schemars::JsonSchema>() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(T)).unwrap_or(serde_json::Value::Null)
    }
    vec![
        ("manifest.schema.json", doc::<manifest::Manifest>()),
        ("event.schema.json", doc::<event::Event>()),
        ("timeline.schema.json", doc::<Vec<event::Event>>()),
        ("findings.schema.json", doc::<finding::FindingsDoc>()),
        ("proc-snapshot.schema.json", doc::<proc::ProcSnapshot>()),
        ("watch-record.schema.json", doc::<watch::WatchRecord>()),
        ("fleet-clock.schema.json", doc::<fleet::FleetClock>()),
    ]
}
