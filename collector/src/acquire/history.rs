//! Shell and program histories of every account, and the start-up files that decide what they record
//! (`HISTTIMEFORMAT`, `setopt extended_history`, `HISTFILE`).
//!
//! Homes come from the collected host's `/etc/passwd`, plus `/root` and every `/home/*` folder (an account
//! may have been deleted, or live in LDAP). A history moved with `HISTFILE=` in a bash start-up file or put
//! under `$ZDOTDIR` by `.zshenv` is followed: those few small files are read (at most [`RC_READ_CAP`] bytes)
//! for the simple `HISTFILE=path` / `export HISTFILE=path` / `ZDOTDIR=path` forms, with `~`, `$HOME` and
//! `$ZDOTDIR` expanded. Anything more dynamic is not guessed at.

use std::collections::BTreeSet;

use coroner_schemas::manifest::{Category, Format, Kept};

use super::walk::{self, Kind};
use super::{Ctx, FileItem, Item};

/// Most bytes of one start-up file read to find `HISTFILE`/`ZDOTDIR`.
pub const RC_READ_CAP: u64 = 64 * 1024;

/// History files relative to a home, and how to read them.
pub const HISTORIES: &[(&str, Format)] = &[
    (".bash_history", Format::BashHistory),
    (".zsh_history", Format::ZshHistory),
    (".histfile", Format::ZshHistory),
    (".local/share/fish/fish_history", Format::FishHistory),
    (".sh_history", Format::ShHistory),
    (".ksh_history", Format::ShHistory),
    (".mksh_history", Format::ShHistory),
    (".history", Format::TcshHistory),
    (".python_history", Format::OtherHistory),
    (".mysql_history", Format::OtherHistory),
    (".psql_history", Format::OtherHistory),
    (".sqlite_history", Format::OtherHistory),
    (".rediscli_history", Format::OtherHistory),
    (".lesshst", Format::OtherHistory),
    (".node_repl_history", Format::OtherHistory),
];

/// A user's shell start-up files.
pub const USER_RC: &[&str] = &[
    ".bashrc",
    ".bash_profile",
    ".bash_login",
    ".profile",
    ".zshrc",
    ".zshenv",
    ".zprofile",
    ".zlogin",
];
/// bash start-up files that may set `HISTFILE`, per user then system-wide.
const BASH_RC: &[&str] = &[".bashrc", ".bash_profile", ".bash_login", ".profile"];
const BASH_GLOBAL_RC: &[&str] = &["/etc/bash.bashrc", "/etc/profile"];
/// zsh files that may set `ZDOTDIR` (only the `zshenv`s are read before it is used).
const ZSH_GLOBAL_ENV: &[&str] = &["/etc/zsh/zshenv", "/etc/zshenv"];
const ZSH_GLOBAL_RC: &[&str] = &["/etc/zsh/zshrc", "/etc/zshrc"];
/// System-wide start-up files, collected as `ShellRc`.
pub const GLOBAL_RC: &[&str] = &[
    "/etc/bash.bashrc",
    "/etc/profile",
    "/etc/zsh/zshrc",
    "/etc/zsh/zshenv",
    "/etc/zshrc",
    "/etc/zshenv",
];

/// A home folder and the account it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Home {
    /// Host path, resolved inside the root.
    pub host: String,
    pub account: Option<String>,
}

pub fn collect(ctx: &Ctx, out: &mut Vec<Item>) {
    let mut seen = BTreeSet::new();
    for home in homes(ctx, out) {
        user_files(ctx, &home, &mut seen, out);
    }
    for host in GLOBAL_RC {
        push_if_file(ctx, host, Format::ShellRc, None, &mut seen, out);
    }
    for e in walk::list(ctx, "/etc/profile.d", Category::History, Format::ShellRc, out) {
        if e.kind != Kind::Dir && e.name.ends_with(".sh") {
            push_if_file(ctx, &e.host, Format::ShellRc, None, &mut seen, out);
        }
    }
}

/// Every home to look in, first claim wins: passwd accounts in file order, then `/root`, then `/home/*`.
pub fn homes(ctx: &Ctx, out: &mut Vec<Item>) -> Vec<Home> {
    let mut homes: Vec<Home> = Vec::new();
    let mut add = |host: &str, account: Option<String>| {
        if !host.starts_with('/') {
            return; // a relative home in passwd has no meaning
        }
        let Ok(resolved) = walk::resolve(ctx, host, true) else {
            return;
        };
        if walk::stat(ctx, &resolved).is_none_or(|f| f.kind != Kind::Dir) {
            return;
        }
        if homes.iter().any(|h| h.host == resolved) {
            return;
        }
        homes.push(Home {
            host: resolved,
            account,
        });
    };
    for u in &ctx.accounts.users {
        add(&u.home, Some(u.name.clone()));
    }
    add("/root", ctx.accounts.user_name(0).map(str::to_owned));
    for e in walk::list(ctx, "/home", Category::History, Format::Other, out) {
        if e.kind == Kind::Dir {
            add(&e.host, None);
        }
    }
    homes
}

fn user_files(ctx: &Ctx, home: &Home, seen: &mut BTreeSet<String>, out: &mut Vec<Item>) {
    let acct = home.account.as_deref();
    for (rel, format) in HISTORIES {
        push_if_file(ctx, &walk::join(&home.host, rel), *format, acct, seen, out);
    }
    for rel in USER_RC {
        push_if_file(ctx, &walk::join(&home.host, rel), Format::ShellRc, acct, seen, out);
    }
    // bash: HISTFILE moved in a start-up file.
    let user_bash = BASH_RC.iter().map(|r| walk::join(&home.host, r));
    for rc in user_bash.chain(BASH_GLOBAL_RC.iter().map(|s| (*s).to_owned())) {
        for value in assignments(&read_rc(ctx, &rc), "HISTFILE") {
            if let Some(p) = expand(&value, &home.host, None) {
                push_if_file(ctx, &p, Format::BashHistory, acct, seen, out);
            }
        }
    }
    // zsh: ZDOTDIR from a zshenv moves .zshrc and the usual .zsh_history.
    let mut zdot: Option<String> = None;
    let user_env = walk::join(&home.host, ".zshenv");
    for rc in ZSH_GLOBAL_ENV.iter().map(|s| (*s).to_owned()).chain([user_env]) {
        for value in assignments(&read_rc(ctx, &rc), "ZDOTDIR") {
            if let Some(p) = expand(&value, &home.host, zdot.as_deref()) {
                zdot = Some(p);
            }
        }
    }
    let zdir = zdot.clone().unwrap_or_else(|| home.host.clone());
    if let Some(z) = &zdot {
        for rel in [".zshrc", ".zshenv", ".zprofile", ".zlogin"] {
            push_if_file(ctx, &walk::join(z, rel), Format::ShellRc, acct, seen, out);
        }
        for rel in [".zsh_history", ".histfile"] {
            push_if_file(ctx, &walk::join(z, rel), Format::ZshHistory, acct, seen, out);
        }
    }
    let zshrcs = [walk::join(&zdir, ".zshrc"), walk::join(&home.host, ".zshrc")];
    for rc in zshrcs.into_iter().chain(ZSH_GLOBAL_RC.iter().map(|s| (*s).to_owned())) {
        for value in assignments(&read_rc(ctx, &rc), "HISTFILE") {
            if let Some(p) = expand(&value, &home.host, Some(&zdir)) {
                push_if_file(ctx, &p, Format::ZshHistory, acct, seen, out);
            }
        }
    }
}

fn read_rc(ctx: &Ctx, host: &str) -> Vec<u8> {
    walk::read_head(ctx, host, RC_READ_CAP).unwrap_or_default()
}

fn push_if_file(
    ctx: &Ctx,
    host: &str,
    format: Format,
    account: Option<&str>,
    seen: &mut BTreeSet<String>,
    out: &mut Vec<Item>,
) {
    let Some(f) = walk::stat(ctx, host) else { return };
    if f.kind == Kind::Dir || !seen.insert(f.host.clone()) {
        return;
    }
    let mut item = FileItem::new(f.host, Category::History, format);
    item.account = account.map(str::to_owned);
    item.keep = Kept::Tail;
    walk::push_file(ctx, out, item);
}

/// Values assigned to `var` by simple shell lines: `VAR=v`, `export VAR=v`, `typeset`/`declare -x`/
/// `readonly`/`local` forms, `'v'` and `"v"` quoting, a trailing `# comment` or `;`. In file order.
pub fn assignments(text: &[u8], var: &str) -> Vec<String> {
    let text = String::from_utf8_lossy(text);
    let mut values = Vec::new();
    for line in text.lines() {
        let mut l = line.trim();
        for prefix in [
            "export ",
            "typeset -x ",
            "typeset ",
            "declare -x ",
            "declare ",
            "readonly ",
            "local ",
        ] {
            if let Some(rest) = l.strip_prefix(prefix) {
                l = rest.trim_start();
            }
        }
        let Some(rest) = l.strip_prefix(var).and_then(|r| r.strip_prefix('=')) else {
            continue;
        };
        let value = if let Some(r) = rest.strip_prefix('"') {
            r.split('"').next().unwrap_or("")
        } else if let Some(r) = rest.strip_prefix('\'') {
            r.split('\'').next().unwrap_or("")
        } else {
            rest.split(|c: char| c.is_whitespace() || c == ';').next().unwrap_or("")
        };
        if !value.is_empty() {
            values.push(value.to_owned());
        }
    }
    values
}

/// Expand `~`, `$HOME`/`${HOME}` and `$ZDOTDIR`/`${ZDOTDIR}` (zsh's default is the home) in a path value; a
/// relative result is taken from the home (the login shell's first directory). Other `$` forms give `None`.
pub fn expand(value: &str, home: &str, zdotdir: Option<&str>) -> Option<String> {
    let zdot = zdotdir.unwrap_or(home);
    let mut v = value.to_owned();
    if v == "~" || v.starts_with("~/") {
        v = format!("{home}{}", &v[1..]);
    }
    for (name, with) in [
        ("${HOME}", home),
        ("$HOME", home),
        ("${ZDOTDIR}", zdot),
        ("$ZDOTDIR", zdot),
    ] {
        v = v.replace(name, with);
    }
    if v.contains('$') || v.contains('`') || v.starts_with('~') {
        return None;
    }
    if v.starts_with('/') {
        Some(v)
    } else {
        Some(walk::join(home, &v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignment_forms() {
        let rc = b"# HISTFILE=/nope\nexport HISTFILE=~/.hist_a # moved\nHISTFILE=\"$HOME/.hist b\"\n  declare -x HISTFILE='x'\nHISTFILESIZE=1\nexport HISTFILE\n";
        assert_eq!(assignments(rc, "HISTFILE"), vec!["~/.hist_a", "$HOME/.hist b", "x"]);
    }

    #[test]
    fn expansion() {
        assert_eq!(expand("~/.h", "/home/a", None).as_deref(), Some("/home/a/.h"));
        assert_eq!(expand("${HOME}/.h", "/home/a", None).as_deref(), Some("/home/a/.h"));
        assert_eq!(
            expand("$ZDOTDIR/.zsh_history", "/home/a", Some("/home/a/.config/zsh")).as_deref(),
            Some("/home/a/.config/zsh/.zsh_history")
        );
        assert_eq!(expand(".h", "/home/a", None).as_deref(), Some("/home/a/.h"));
        assert_eq!(expand("$XDG_STATE_HOME/h", "/home/a", None), None);
        assert_eq!(expand("~bob/h", "/home/a", None), None);
    }
}
