//! `--exclude` patterns: shell-style globs over host paths.
//!
//! `*` matches within one path component, `**` across components, `?` one character other than `/`,
//! `[abc]`, `[a-z]` and `[!abc]` one character of (not of) a set. A pattern without `/` is matched against
//! the file name only (`--exclude '*.gz'`); one with `/` against the whole host path
//! (`--exclude '/var/log/**/secret*'`).

/// Whether `pattern` matches the host path `path` (absolute, `/`-separated).
pub fn matches(pattern: &str, path: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    if pattern.contains('/') {
        let t: Vec<char> = path.chars().collect();
        m(&p, &t)
    } else {
        let name = path.rsplit('/').next().unwrap_or(path);
        let t: Vec<char> = name.chars().collect();
        m(&p, &t)
    }
}

fn m(p: &[char], t: &[char]) -> bool {
    // Iterative with memo-free backtracking on the last star; patterns are short, paths bounded.
    match p.first() {
        None => t.is_empty(),
        Some('*') => {
            if p.get(1) == Some(&'*') {
                let mut rest = &p[2..];
                if rest.first() == Some(&'/') {
                    // `**/` also matches zero directories.
                    if m(&rest[1..], t) {
                        return true;
                    }
                    rest = &p[2..];
                }
                (0..=t.len()).any(|i| m(rest, &t[i..]))
            } else {
                let rest = &p[1..];
                for i in 0..=t.len() {
                    if m(rest, &t[i..]) {
                        return true;
                    }
                    if t.get(i) == Some(&'/') {
                        break;
                    }
                }
                false
            }
        }
        Some('?') => matches!(t.first(), Some(c) if *c != '/') && m(&p[1..], &t[1..]),
        Some('[') => match (class(&p[1..]), t.first()) {
            (Some((ok, len)), Some(&c)) if c != '/' => ok(c) && m(&p[1 + len..], &t[1..]),
            (Some(_), _) => false,
            (None, Some(&'[')) => m(&p[1..], &t[1..]),
            (None, _) => false,
        },
        Some(&c) => t.first() == Some(&c) && m(&p[1..], &t[1..]),
    }
}

/// Parses a `[...]` class after its `[`: a predicate and the number of pattern chars used (incl. `]`).
fn class(p: &[char]) -> Option<(impl Fn(char) -> bool, usize)> {
    let negate = matches!(p.first(), Some('!') | Some('^'));
    let start = usize::from(negate);
    let mut i = start;
    let mut ranges = Vec::new();
    while i < p.len() {
        if p[i] == ']' && i > start {
            let ranges2 = ranges;
            return Some((
                move |c: char| ranges2.iter().any(|&(a, b)| a <= c && c <= b) != negate,
                i + 1,
            ));
        }
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            ranges.push((p[i], p[i + 2]));
            i += 3;
        } else {
            ranges.push((p[i], p[i]));
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn globs_match_like_a_shell() {
        assert!(matches("*.gz", "/var/log/syslog.2.gz"));
        assert!(!matches("*.gz", "/var/log/syslog"));
        assert!(matches("/var/log/*.log", "/var/log/kern.log"));
        assert!(!matches("/var/log/*.log", "/var/log/apt/term.log"));
        assert!(matches("/var/log/**/*.log", "/var/log/apt/term.log"));
        assert!(matches("/var/log/**/*.log", "/var/log/kern.log"));
        assert!(matches("/home/**", "/home/a/.bash_history"));
        assert!(matches("syslog.?", "/var/log/syslog.1"));
        assert!(matches("syslog.[0-9]", "/var/log/syslog.7"));
        assert!(!matches("syslog.[!0-9]", "/var/log/syslog.7"));
        assert!(matches("a[b", "/x/a[b"));
        assert!(!matches("", "/x"));
    }
}
