//! What `coroner-report fleet` was given: run folders (one level of host folders holding a bundle each, as the
//! Ansible role fetches them) or bundle files, each with the controller's clock sample beside it when there is
//! one; and the host keys the accepted bundles are shown under.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use coroner_schemas::fleet::{FleetClock, CLOCK_FILE};

/// One bundle to analyse.
#[derive(Clone, Debug)]
pub struct Input {
    pub bundle: PathBuf,
    /// The bundle's file name (what `.sha256` and `clock.json` name).
    pub name: String,
    /// The clock sample beside it that names this bundle; `Err` says why there is none to use.
    pub clock: Result<FleetClock, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{0} is neither a bundle (*.tar.gz, *.tar.gz.age) nor a folder")]
    NotABundle(PathBuf),
    #[error("no bundle (*.tar.gz, *.tar.gz.age) found in {0}")]
    Empty(PathBuf),
}

/// A bundle by its file name, as the collector names them.
pub fn is_bundle_name(name: &str) -> bool {
    name.ends_with(".tar.gz") || name.ends_with(".tar.gz.age")
}

/// Every bundle the arguments name, once each, sorted by file name then path.
pub fn discover(args: &[PathBuf]) -> Result<Vec<Input>, InputError> {
    let mut found: BTreeMap<(String, PathBuf), ()> = BTreeMap::new();
    for arg in args {
        let meta = std::fs::metadata(arg).map_err(|source| InputError::Io { path: arg.clone(), source })?;
        let before = found.len();
        if meta.is_dir() {
            // The run folder's own bundles (a folder of bundles), then its host folders' bundles.
            for (path, is_dir) in list(arg)? {
                if is_dir {
                    for (p, d) in list(&path)? {
                        if !d {
                            add(&mut found, p);
                        }
                    }
                } else {
                    add(&mut found, path);
                }
            }
            if found.len() == before {
                return Err(InputError::Empty(arg.clone()));
            }
        } else if file_name(arg).is_some_and(|n| is_bundle_name(&n)) {
            add(&mut found, arg.clone());
        } else {
            return Err(InputError::NotABundle(arg.clone()));
        }
    }
    // The same file named twice (a folder and one of its bundles, or two spellings) is analysed once.
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for ((name, bundle), ()) in found {
        let id = std::fs::canonicalize(&bundle).unwrap_or_else(|_| bundle.clone());
        if !seen.insert(id) {
            continue;
        }
        let clock = clock_beside(&bundle, &name);
        out.push(Input { bundle, name, clock });
    }
    Ok(out)
}

fn file_name(p: &Path) -> Option<String> {
    p.file_name().map(|n| n.to_string_lossy().into_owned())
}

fn add(found: &mut BTreeMap<(String, PathBuf), ()>, path: PathBuf) {
    if let Some(name) = file_name(&path).filter(|n| is_bundle_name(n)) {
        found.insert((name, path), ());
    }
}

/// A folder's entries (path, is a folder), sorted; symbolic links are followed as the shell would.
fn list(dir: &Path) -> Result<Vec<(PathBuf, bool)>, InputError> {
    let io = |source| InputError::Io { path: dir.to_path_buf(), source };
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).map_err(io)? {
        let p = e.map_err(io)?.path();
        let is_dir = std::fs::metadata(&p).map(|m| m.is_dir()).unwrap_or(false);
        out.push((p, is_dir));
    }
    out.sort();
    Ok(out)
}

/// `clock.json` in the bundle's folder, when it is there, parses and names this bundle.
fn clock_beside(bundle: &Path, name: &str) -> Result<FleetClock, String> {
    let path = bundle.parent().unwrap_or(Path::new(".")).join(CLOCK_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(format!("no {CLOCK_FILE} beside the bundle")),
        Err(e) => return Err(format!("cannot read {CLOCK_FILE}: {e}")),
    };
    let clock: FleetClock = serde_json::from_slice(&bytes).map_err(|e| format!("{CLOCK_FILE} does not parse: {e}"))?;
    if clock.schema_version != 1 {
        return Err(format!("{CLOCK_FILE} has schema_version {}, not 1", clock.schema_version));
    }
    if clock.bundle != name {
        return Err(format!("{CLOCK_FILE} is for another bundle ({:?})", clock.bundle));
    }
    if clock.controller_after < clock.controller_before {
        return Err(format!("{CLOCK_FILE} ends before it starts"));
    }
    Ok(clock)
}

/// A host name as a folder name: letters, digits, `.`, `_` and `-` kept, anything else `_`, at most 64
/// characters; never empty, `.` or `..`.
pub fn sanitize(hostname: &str) -> String {
    let mut s: String = hostname
        .chars()
        .take(64)
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' })
        .collect();
    if s.is_empty() || s.chars().all(|c| c == '.') {
        s = format!("_{s}");
    }
    s
}

/// Host keys, given to accepted bundles in input order (bundle name, then path): the hostname, and for the
/// second and later bundles of one hostname `#2`, `#3`…
#[derive(Debug, Default)]
pub struct HostKeys(BTreeMap<String, usize>);

impl HostKeys {
    /// The key of the next accepted bundle with this (sanitized) hostname.
    pub fn next(&mut self, host: String) -> String {
        let n = self.0.entry(host.clone()).or_default();
        *n += 1;
        if *n == 1 { host } else { format!("{host}#{n}") }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_are_safe() {
        assert_eq!(sanitize("web-3.example.com"), "web-3.example.com");
        assert_eq!(sanitize("../etc"), ".._etc");
        assert_eq!(sanitize(".."), "_..");
        assert_eq!(sanitize(""), "_");
        assert_eq!(sanitize("<b>x</b>"), "_b_x__b_");
        assert_eq!(sanitize("é"), "_");
    }

    #[test]
    fn duplicate_hostnames_are_numbered_in_input_order() {
        let mut k = HostKeys::default();
        let keys: Vec<String> = ["web", "db", "web", "web", "db"].into_iter().map(|h| k.next(h.to_owned())).collect();
        assert_eq!(keys, ["web", "db", "web#2", "web#3", "db#2"]);
    }
}
