//! `/etc/passwd` and `/etc/group` read from bytes: names for uids and gids as the *collected host* knows
//! them. Both sides need it (the collector to name file owners without NSS, the report to name users
//! without asking the analyst's machine), so it lives here, pure and I/O-free.

use std::collections::BTreeMap;

/// One `/etc/passwd` line: `name:password:uid:gid:gecos:home:shell`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasswdEntry {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
    pub shell: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Accounts {
    /// In file order (the first entry for a uid names it, as getpwuid does).
    pub users: Vec<PasswdEntry>,
    by_uid: BTreeMap<u32, usize>,
    groups: BTreeMap<u32, String>,
    /// Lines that did not parse: (1-based line, text).
    pub bad_lines: Vec<(u64, String)>,
}

impl Accounts {
    pub fn parse(passwd: &[u8], group: &[u8]) -> Accounts {
        let mut a = Accounts::default();
        for (i, line) in passwd.split(|&b| b == b'\n').enumerate() {
            let line = String::from_utf8_lossy(line);
            let line = line.trim_end_matches('\r');
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let f: Vec<&str> = line.split(':').collect();
            match (f.len() >= 7, f.get(2).and_then(|s| s.parse::<u32>().ok()), f.get(3).and_then(|s| s.parse::<u32>().ok())) {
                (true, Some(uid), Some(gid)) if !f[0].is_empty() => {
                    let idx = a.users.len();
                    a.users.push(PasswdEntry {
                        name: f[0].to_owned(),
                        uid,
                        gid,
                        home: f[5].to_owned(),
                        shell: f[6].to_owned(),
                    });
                    a.by_uid.entry(uid).or_insert(idx);
                }
                _ => a.bad_lines.push((i as u64 + 1, line.to_owned())),
            }
        }
        for line in group.split(|&b| b == b'\n') {
            let line = String::from_utf8_lossy(line);
            let f: Vec<&str> = line.trim_end_matches('\r').split(':').collect();
            if f.len() >= 3 && !f[0].is_empty() {
                if let Ok(gid) = f[2].parse::<u32>() {
                    a.groups.entry(gid).or_insert_with(|| f[0].to_owned());
                }
            }
        }
        a
    }

    pub fn user_name(&self, uid: u32) -> Option<&str> {
        self.by_uid.get(&uid).map(|&i| self.users[i].name.as_str())
    }
    pub fn group_name(&self, gid: u32) -> Option<&str> {
        self.groups.get(&gid).map(String::as_str)
    }
    pub fn by_name(&self, name: &str) -> Option<&PasswdEntry> {
        self.users.iter().find(|u| u.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_by_uid_first_wins_and_bad_lines_are_kept() {
        let a = Accounts::parse(
            b"root:x:0:0:root:/root:/bin/bash\ntoor:x:0:0::/root:/bin/sh\nbroken line\nalice:x:1000:1000:A:/home/alice:/bin/zsh\n",
            b"root:x:0:\nalice:x:1000:\n",
        );
        assert_eq!(a.user_name(0), Some("root"));
        assert_eq!(a.user_name(1000), Some("alice"));
        assert_eq!(a.user_name(7), None);
        assert_eq!(a.group_name(1000), Some("alice"));
        assert_eq!(a.bad_lines, vec![(3, "broken line".to_owned())]);
        assert_eq!(a.by_name("alice").map(|u| u.home.as_str()), Some("/home/alice"));
    }
}
