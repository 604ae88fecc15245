//! Shell-style globs over host paths (`--include`, `--exclude`), compiled with globset: `*` and `?` stay within
//! one path component, `**` spans components, `[a-z]` and `[!a-z]` are classes, and a `[` without its `]` is
//! a literal. A backslash is an ordinary character (it can be part of a Linux file name).

use globset::{Glob, GlobBuilder, GlobMatcher, GlobSet, GlobSetBuilder};

fn glob(pattern: &str) -> Option<Glob> {
    checked(pattern).ok()
}

/// Compiles `pattern` as `--include` and `--exclude` read it; the command line refuses one that fails here,
/// so no pattern a user gave is silently dropped.
pub fn checked(pattern: &str) -> Result<Glob, String> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(false)
        .allow_unclosed_class(true)
        .build()
        .map_err(|e| format!("not a glob: {e}"))
}

/// A pattern for one path component (a step of an `--include` glob); `None` when it does not compile.
pub fn component(pattern: &str) -> Option<GlobMatcher> {
    glob(pattern).map(|g| g.compile_matcher())
}

/// Whether `s` holds a wildcard that makes a component a pattern rather than a name.
pub fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?'])
}

/// The `--exclude` patterns, compiled once. A pattern with `/` names whole host paths (`/var/log/**/secret*`;
/// a trailing `/**` also names the folder itself); one without names files and folders by their name
/// (`*.gz`). A path is excluded when it or one of its folders is named.
#[derive(Clone, Debug, Default)]
pub struct Excludes {
    patterns: Vec<String>,
    paths: GlobSet,
    names: GlobSet,
    /// For each glob in `paths`, then in `names`: the index of its pattern.
    path_owner: Vec<usize>,
    name_owner: Vec<usize>,
}

impl Excludes {
    pub fn new(patterns: &[String]) -> Excludes {
        let (mut paths, mut names) = (GlobSetBuilder::new(), GlobSetBuilder::new());
        let (mut path_owner, mut name_owner) = (Vec::new(), Vec::new());
        for (i, p) in patterns.iter().enumerate() {
            if !p.contains('/') {
                if let Some(g) = glob(p) {
                    names.add(g);
                    name_owner.push(i);
                }
                continue;
            }
            let norm = format!("/{}", components(p).collect::<Vec<_>>().join("/"));
            let folder = norm.strip_suffix("/**").map(str::to_owned);
            for q in [Some(norm), folder].into_iter().flatten() {
                if let Some(g) = glob(&q) {
                    paths.add(g);
                    path_owner.push(i);
                }
            }
        }
        Excludes {
            patterns: patterns.to_vec(),
            paths: paths.build().unwrap_or_default(),
            names: names.build().unwrap_or_default(),
            path_owner,
            name_owner,
        }
    }

    /// The first pattern (in the order given) that excludes the host path `host`.
    pub fn find(&self, host: &str) -> Option<&str> {
        if self.patterns.is_empty() {
            return None;
        }
        let mut path = String::with_capacity(host.len() + 1);
        let mut first: Option<usize> = None;
        for c in components(host) {
            path.push('/');
            path.push_str(c);
            let hits = self.paths.matches(&path).into_iter().map(|g| self.path_owner[g]);
            let name_hits = self.names.matches(c).into_iter().map(|g| self.name_owner[g]);
            first = hits.chain(name_hits).chain(first).min();
        }
        first.map(|i| self.patterns[i].as_str())
    }
}

fn components(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|c| !c.is_empty() && *c != ".")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn excluded(pattern: &str, path: &str) -> bool {
        Excludes::new(&[pattern.to_owned()]).find(path).is_some()
    }

    fn matches(pattern: &str, path: &str) -> bool {
        glob(pattern).is_some_and(|g| g.compile_matcher().is_match(path))
    }

    #[test]
    fn globs_match_like_a_shell() {
        assert!(matches("/var/log/*.log", "/var/log/kern.log"));
        assert!(!matches("/var/log/*.log", "/var/log/apt/term.log"));
        assert!(matches("/var/log/**/*.log", "/var/log/x/y/kern.log"));
        assert!(matches("/var/log/**/*.log", "/var/log/kern.log"));
        assert!(matches("/home/*/.bash_histor?", "/home/alice/.bash_history"));
        assert!(!matches("/home/*", "/home"));
        assert!(matches("/**", "/anything/at/all"));
        assert!(matches("/a*b*c", "/aXXbYYbZc"));
        assert!(!matches("/a*b*c", "/aXXbYYbZ"));
        assert!(matches("syslog.[0-9]", "syslog.7"));
        assert!(!matches("syslog.[!0-9]", "syslog.7"));
        assert!(matches("a[b", "a[b"));
        assert!(matches("a\\b", "a\\b"));
    }

    #[test]
    fn excludes_name_a_path_or_one_of_its_folders() {
        assert!(excluded("*.gz", "/var/log/syslog.2.gz"));
        assert!(!excluded("*.gz", "/var/log/syslog"));
        assert!(excluded("syslog.?", "/var/log/syslog.1"));
        assert!(excluded("/var/log/*.log", "/var/log/kern.log"));
        assert!(!excluded("/var/log/*.log", "/var/log/apt/term.log"));
        assert!(excluded("/var/log/**/*.log", "/var/log/apt/term.log"));
        assert!(excluded("/home/**", "/home/a/.bash_history"));
        assert!(excluded("/home/alice/**", "/home/alice"));
        assert!(excluded("/var/crash", "/var/crash/core.1"));
        assert!(excluded("/var/crash/", "/var/crash/core.1"));
        assert!(!excluded("/var/crash", "/var/crashes"));
        assert!(!excluded("", "/x"));
        let e = Excludes::new(&["/var/**".to_owned(), "*.log".to_owned(), "/var/log".to_owned()]);
        assert_eq!(e.find("/var/log/kern.log"), Some("/var/**"));
        assert_eq!(Excludes::new(&["*.log".to_owned(), "/var/log".to_owned()]).find("/var/log/x.log"), Some("*.log"));
        assert_eq!(e.find("/etc/passwd"), None);
    }
}
