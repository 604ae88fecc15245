//! `<state-dir>/arm.json`: every change `arm` made, with the exact value it replaced, so `disarm` can put the
//! host back. Each change is written here *before* it is made (`applied: false`), then marked made; a crash
//! between the two leaves a record `disarm` still checks against the host.

use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// File name of the state file under the state directory.
pub const STATE_FILE: &str = "arm.json";
/// Bumped on an incompatible change of [`State`].
pub const STATE_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{context}: {source}")]
    Io { context: String, source: io::Error },
    #[error("{path}: not a coroner arm state file: {source}")]
    Parse { path: String, source: serde_json::Error },
    #[error("{path}: state version {found}, this coroner-collect reads version {STATE_VERSION}")]
    Version { path: String, found: u32 },
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    pub version: u32,
    /// In the order they were made; `disarm` undoes them last first.
    pub changes: Vec<Recorded>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recorded {
    pub change: Change,
    /// The change was made (false: recorded, then the run stopped or the change failed).
    pub applied: bool,
}

/// One reversible change. Byte values are kept exactly (base64 in the JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// `auditctl -a RULE…`; undone with `auditctl -d RULE…` (the same words).
    AuditRule { rule: Vec<String> },
    /// `auditctl -e 1` where auditing was off; `prior` is the `enabled` value `auditctl -s` printed.
    AuditEnabled { prior: String },
    /// A sysctl written through `/proc/sys`; `prior` is what reading it gave, newline included.
    Sysctl {
        name: String,
        #[serde(with = "b64")]
        prior: Vec<u8>,
        set: String,
    },
    /// A file written whole; `prior` its bytes and mode before (`None`: it did not exist).
    File {
        path: PathBuf,
        #[serde(with = "b64_opt")]
        prior: Option<Vec<u8>>,
        prior_mode: Option<u32>,
        #[serde(with = "b64")]
        written: Vec<u8>,
        mode: u32,
    },
    /// A directory that did not exist and was made.
    Dir { path: PathBuf, mode: u32, why: String },
    /// `RLIMIT_CORE` of a running process (`None` = unlimited). `start_time` (field 22 of `/proc/PID/stat`)
    /// tells the same process from a later one given the same pid.
    CoreLimit {
        pid: i32,
        start_time: u64,
        prior_soft: Option<u64>,
        prior_hard: Option<u64>,
        set_soft: Option<u64>,
        set_hard: Option<u64>,
    },
    /// `systemctl enable --now UNIT`; `prior` is what `systemctl is-enabled` printed before.
    Unit { name: String, prior: String },
}

impl State {
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(STATE_FILE)
    }

    /// The state under `dir`; an empty one when there is no state file.
    pub fn load(dir: &Path) -> Result<State, StateError> {
        let path = State::path(dir);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(State { version: STATE_VERSION, changes: Vec::new() })
            }
            Err(source) => return Err(StateError::Io { context: format!("reading {}", path.display()), source }),
        };
        State::from_json(&bytes, &path.display().to_string())
    }

    pub fn from_json(bytes: &[u8], path: &str) -> Result<State, StateError> {
        let s: State =
            serde_json::from_slice(bytes).map_err(|source| StateError::Parse { path: path.to_owned(), source })?;
        if s.version != STATE_VERSION {
            return Err(StateError::Version { path: path.to_owned(), found: s.version });
        }
        Ok(s)
    }

    /// Writes the state atomically: a temporary file beside it, synced, renamed over it, the folder synced.
    pub fn save(&self, dir: &Path) -> Result<(), StateError> {
        let io_err = |context: String| move |source| StateError::Io { context, source };
        std::fs::create_dir_all(dir).map_err(io_err(format!("creating {}", dir.display())))?;
        let path = State::path(dir);
        let tmp = dir.join(format!(".{STATE_FILE}.tmp"));
        let mut json = serde_json::to_vec_pretty(self).unwrap_or_default();
        json.push(b'\n');
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io_err(format!("writing {}", tmp.display())))?;
        f.write_all(&json)
            .and_then(|()| f.sync_all())
            .map_err(io_err(format!("writing {}", tmp.display())))?;
        std::fs::rename(&tmp, &path).map_err(io_err(format!("renaming {} to {}", tmp.display(), path.display())))?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// Removes the state file (everything was undone).
    pub fn remove(dir: &Path) -> Result<(), StateError> {
        let path = State::path(dir);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(StateError::Io { context: format!("removing {}", path.display()), source }),
        }
    }

    /// A change of the same thing (the same rule, sysctl, file, directory, pid or unit) is recorded already.
    pub fn holds(&self, c: &Change) -> bool {
        self.changes.iter().any(|r| same_target(&r.change, c))
    }
}

/// Whether two changes are of the same thing on the host.
pub fn same_target(a: &Change, b: &Change) -> bool {
    use Change::*;
    match (a, b) {
        (AuditRule { rule: x }, AuditRule { rule: y }) => x == y,
        (AuditEnabled { .. }, AuditEnabled { .. }) => true,
        (Sysctl { name: x, .. }, Sysctl { name: y, .. }) => x == y,
        (File { path: x, .. }, File { path: y, .. }) | (Dir { path: x, .. }, Dir { path: y, .. }) => x == y,
        (CoreLimit { pid: x, start_time: s, .. }, CoreLimit { pid: y, start_time: t, .. }) => x == y && s == t,
        (Unit { name: x, .. }, Unit { name: y, .. }) => x == y,
        _ => false,
    }
}

mod b64 {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD.decode(s).map_err(serde::de::Error::custom)
    }
}

mod b64_opt {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.serialize_some(&base64::engine::general_purpose::STANDARD.encode(v)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| base64::engine::general_purpose::STANDARD.decode(s).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_kind() -> State {
        let c = |change| Recorded { change, applied: true };
        State {
            version: STATE_VERSION,
            changes: vec![
                c(Change::AuditRule { rule: coroner_schemas::audit_rules::arm_rule("b64") }),
                c(Change::AuditEnabled { prior: "0".into() }),
                // Bytes that are not UTF-8 survive (a pattern is bytes to the kernel).
                c(Change::Sysctl { name: "kernel.core_pattern".into(), prior: b"core\xff\n".to_vec(), set: "/var/crash/core.%e.%p.%t".into() }),
                c(Change::File { path: "/etc/profile.d/x.sh".into(), prior: None, prior_mode: None, written: b"a\n".to_vec(), mode: 0o644 }),
                c(Change::File { path: "/etc/y".into(), prior: Some(vec![0, 1, 2]), prior_mode: Some(0o600), written: vec![], mode: 0o644 }),
                c(Change::Dir { path: "/var/crash".into(), mode: 0o1733, why: "cores".into() }),
                Recorded {
                    change: Change::CoreLimit { pid: 7, start_time: 99, prior_soft: Some(0), prior_hard: None, set_soft: None, set_hard: None },
                    applied: false,
                },
                c(Change::Unit { name: "coroner-watch.service".into(), prior: "disabled".into() }),
            ],
        }
    }

    #[test]
    fn state_round_trips_through_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = every_kind();
        s.save(dir.path()).expect("save");
        assert_eq!(State::load(dir.path()).expect("load"), s);
        // No temporary file is left beside it, and the file is private.
        let names: Vec<_> = std::fs::read_dir(dir.path()).expect("ls").map(|e| e.expect("entry").file_name()).collect();
        assert_eq!(names, [STATE_FILE]);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(State::path(dir.path())).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        State::remove(dir.path()).expect("remove");
        State::remove(dir.path()).expect("remove twice");
        assert_eq!(State::load(dir.path()).expect("load none").changes, []);
    }

    #[test]
    fn bad_state_files_are_errors_not_panics() {
        assert!(matches!(State::from_json(b"{", "x"), Err(StateError::Parse { .. })));
        assert!(matches!(State::from_json(br#"{"version":99,"changes":[]}"#, "x"), Err(StateError::Version { found: 99, .. })));
        let bad_b64 = br#"{"version":1,"changes":[{"change":{"kind":"sysctl","name":"a","prior":"!!","set":"b"},"applied":true}]}"#;
        assert!(matches!(State::from_json(bad_b64, "x"), Err(StateError::Parse { .. })));
    }

    #[test]
    fn same_target_matches_by_what_is_changed() {
        let s = every_kind();
        assert!(s.holds(&Change::Sysctl { name: "kernel.core_pattern".into(), prior: vec![], set: "x".into() }));
        assert!(!s.holds(&Change::Sysctl { name: "fs.suid_dumpable".into(), prior: vec![], set: "x".into() }));
        assert!(s.holds(&Change::AuditRule { rule: coroner_schemas::audit_rules::arm_rule("b64") }));
        assert!(!s.holds(&Change::AuditRule { rule: coroner_schemas::audit_rules::arm_rule("b32") }));
        // The same pid in a later process is another target.
        assert!(!s.holds(&Change::CoreLimit { pid: 7, start_time: 100, prior_soft: None, prior_hard: None, set_soft: None, set_hard: None }));
    }
}
