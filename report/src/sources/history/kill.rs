//! Kill-family commands in a history line: a small hand-written tokenizer (quotes, escapes, `$(…)` and
//! backticks, `;` `&&` `||` `|` `&`), never a shell. It reads what the user typed; it does not expand
//! variables or run anything.

use serde_json::{json, Map, Value};

use crate::sources::signals;

/// One shell token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tok {
    /// A word with quotes removed; `subs` holds the inner text of `$(…)`/backtick substitutions in it.
    Word {
        text: String,
        subs: Vec<String>,
        quoted: bool,
    },
    /// `;`, `&&`, `||`, `|`, `&` or a newline (as `;`).
    Op(&'static str),
}

/// Commands that read a here-doc body as shell input: with one of them on the here-doc's line the body's
/// commands are read too; otherwise the body is data (`cat > f <<EOF`), not commands this shell ran.
const SHELLS: [&str; 9] = ["sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "busybox", "fish"];

/// Splits a command line into words and operators. Unterminated quotes end at the end of the input; a `#`
/// comment ends at the end of its line; `(` and `)` outside words separate commands (subshells, groups,
/// `case` patterns), while a `(` inside or after a command's words is read like fish's `(…)` substitution.
pub fn tokenize(s: &str) -> Vec<Tok> {
    let c: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let mut cur = String::new();
    let mut subs = Vec::new();
    let mut in_word = false;
    let mut quoted = false;
    // Here-docs opened on the current line: (delimiter, `<<-` strips leading tabs); `out` index where the
    // line's tokens start, to see whether a shell reads the body.
    let mut docs: Vec<(String, bool)> = Vec::new();
    let mut doc_word = false;
    let mut line_start = 0usize;
    macro_rules! flush {
        () => {
            if in_word {
                let text = std::mem::take(&mut cur);
                if doc_word {
                    doc_word = false;
                    if let Some(d) = docs.last_mut() {
                        d.0 = text.clone();
                    }
                } else if let Some(rest) = text.strip_prefix("<<").filter(|r| !r.starts_with('<')) {
                    let (strip, d) = match rest.strip_prefix('-') {
                        Some(d) => (true, d),
                        None => (false, rest),
                    };
                    let d: String = d.chars().take_while(|&ch| ch != '<' && ch != '>').collect();
                    doc_word = d.is_empty();
                    docs.push((d, strip));
                }
                out.push(Tok::Word {
                    text,
                    subs: std::mem::take(&mut subs),
                    quoted,
                });
                in_word = false;
                quoted = false;
            }
        };
    }
    while i < c.len() {
        let ch = c[i];
        match ch {
            ' ' | '\t' | '\r' => {
                flush!();
                i += 1;
            }
            '\n' => {
                flush!();
                out.push(Tok::Op(";"));
                i += 1;
                if !docs.is_empty() {
                    let feeds_shell = out[line_start..].iter().any(|t| {
                        matches!(t, Tok::Word { text, .. } if SHELLS.contains(&text.rsplit('/').next().unwrap_or(text)))
                    });
                    let body_start = i;
                    for (delim, strip) in std::mem::take(&mut docs) {
                        while i < c.len() {
                            let end = c[i..].iter().position(|&x| x == '\n').map_or(c.len(), |p| i + p);
                            let line: String = c[i..end].iter().collect();
                            i = end + 1;
                            let line = if strip { line.trim_start_matches('\t') } else { &line };
                            if line.strip_suffix('\r').unwrap_or(line) == delim {
                                break;
                            }
                        }
                    }
                    i = i.min(c.len());
                    if feeds_shell {
                        i = body_start;
                    }
                    doc_word = false;
                }
                line_start = out.len();
            }
            ';' => {
                flush!();
                out.push(Tok::Op(";"));
                i += 1;
            }
            '&' | '|' => {
                flush!();
                let double = c.get(i + 1) == Some(&ch);
                out.push(Tok::Op(match (ch, double) {
                    ('&', true) => "&&",
                    ('&', false) => "&",
                    ('|', true) => "||",
                    _ => "|",
                }));
                i += if double { 2 } else { 1 };
            }
            '#' if !in_word => {
                // A comment runs to the end of its line; the next line of a multi-line entry is read again.
                i = c[i..].iter().position(|&x| x == '\n').map_or(c.len(), |p| i + p);
            }
            '(' if !in_word && matches!(out.last(), None | Some(Tok::Op(_))) => {
                out.push(Tok::Op(";"));
                i += 1;
            }
            '(' => {
                in_word = true;
                i = substitution(&c, i + 1, "(", &mut cur, &mut subs);
            }
            ')' => {
                flush!();
                out.push(Tok::Op(";"));
                i += 1;
            }
            '\\' => {
                in_word = true;
                if let Some(&n) = c.get(i + 1) {
                    if n != '\n' {
                        cur.push(n);
                    }
                }
                i += 2;
            }
            '\'' => {
                in_word = true;
                quoted = true;
                i += 1;
                while i < c.len() && c[i] != '\'' {
                    cur.push(c[i]);
                    i += 1;
                }
                i += 1;
            }
            '"' => {
                in_word = true;
                quoted = true;
                i += 1;
                while i < c.len() && c[i] != '"' {
                    if c[i] == '\\' && matches!(c.get(i + 1), Some('"' | '\\' | '$' | '`')) {
                        cur.push(c[i + 1]);
                        i += 2;
                    } else if c[i] == '$' && c.get(i + 1) == Some(&'(') {
                        i = substitution(&c, i + 2, "$(", &mut cur, &mut subs);
                    } else if c[i] == '`' {
                        i = backtick(&c, i + 1, &mut cur, &mut subs);
                    } else {
                        cur.push(c[i]);
                        i += 1;
                    }
                }
                i += 1;
            }
            '$' if c.get(i + 1) == Some(&'(') => {
                in_word = true;
                i = substitution(&c, i + 2, "$(", &mut cur, &mut subs);
            }
            '`' => {
                in_word = true;
                i = backtick(&c, i + 1, &mut cur, &mut subs);
            }
            _ => {
                in_word = true;
                cur.push(ch);
                i += 1;
            }
        }
    }
    // The last word: no here-doc body can follow it.
    if in_word {
        out.push(Tok::Word {
            text: cur,
            subs,
            quoted,
        });
    }
    out
}

/// Reads `$(…)` (or fish's `(…)`) from just after `open`; appends the whole `open…)` to `cur`, the inner text
/// to `subs`.
fn substitution(c: &[char], mut i: usize, open: &str, cur: &mut String, subs: &mut Vec<String>) -> usize {
    let mut depth = 1usize;
    let mut inner = String::new();
    let mut q: Option<char> = None;
    while i < c.len() {
        let ch = c[i];
        match (q, ch) {
            (Some(qc), _) if ch == qc => q = None,
            (None, '\'' | '"') => q = Some(ch),
            (None, '(') => depth += 1,
            (None, ')') => {
                depth -= 1;
                if depth == 0 {
                    i += 1;
                    break;
                }
            }
            _ => {}
        }
        inner.push(ch);
        i += 1;
    }
    cur.push_str(open);
    cur.push_str(&inner);
    cur.push(')');
    subs.push(inner);
    i
}

fn backtick(c: &[char], mut i: usize, cur: &mut String, subs: &mut Vec<String>) -> usize {
    let mut inner = String::new();
    while i < c.len() && c[i] != '`' {
        inner.push(c[i]);
        i += 1;
    }
    cur.push('`');
    cur.push_str(&inner);
    cur.push('`');
    subs.push(inner);
    i + 1
}

/// A word of a simple command.
#[derive(Clone, Debug)]
struct W {
    text: String,
    subs: Vec<String>,
}

/// Simple commands separated by operators; `piped_from` is the simple command feeding this one through `|`.
fn simple_commands(toks: Vec<Tok>) -> Vec<(Vec<W>, Option<usize>)> {
    let mut out: Vec<(Vec<W>, Option<usize>)> = Vec::new();
    let mut cur: Vec<W> = Vec::new();
    let mut piped: Option<usize> = None;
    for t in toks {
        match t {
            Tok::Word { text, subs, .. } => cur.push(W { text, subs }),
            Tok::Op(op) => {
                let had = !cur.is_empty();
                if had {
                    out.push((std::mem::take(&mut cur), piped));
                }
                piped = if op == "|" && had { Some(out.len() - 1) } else { None };
            }
        }
    }
    if !cur.is_empty() {
        out.push((cur, piped));
    }
    out
}

/// What one kill-family simple command does.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KillCmd {
    pub tool: String,
    pub signal: Option<i64>,
    pub target_pids: Vec<i64>,
    pub target_names: Vec<String>,
    pub target_units: Vec<String>,
    /// Targets that are expressions we do not evaluate (`$PID`, `%1`).
    pub target_exprs: Vec<String>,
    /// `systemctl`/`service`/`docker` verb (`stop`, `kill`, `restart`…).
    pub action: Option<String>,
    /// `pkill -f`: the pattern matches the whole command line.
    pub full_match: bool,
}

impl KillCmd {
    fn new(tool: &str) -> KillCmd {
        KillCmd {
            tool: tool.to_owned(),
            ..KillCmd::default()
        }
    }
    /// The event fields (FIELD CONVENTIONS: `tool`, `signal`, `signal_name`, `target_*`).
    pub fn fields(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("tool".into(), json!(self.tool));
        m.insert("signal".into(), json!(self.signal));
        m.insert("signal_name".into(), json!(self.signal.and_then(signals::name)));
        m.insert("target_pids".into(), json!(self.target_pids));
        m.insert("target_names".into(), json!(self.target_names));
        m.insert("target_units".into(), json!(self.target_units));
        if !self.target_exprs.is_empty() {
            m.insert("target_exprs".into(), json!(self.target_exprs));
        }
        if let Some(a) = &self.action {
            m.insert("action".into(), json!(a));
        }
        if self.full_match {
            m.insert("full_match".into(), json!(true));
        }
        m
    }
}

/// Every kill-family command in a history line, in order.
pub fn find_kills(line: &str) -> Vec<KillCmd> {
    let cmds = simple_commands(tokenize(line));
    let mut out = Vec::new();
    for (words, piped) in &cmds {
        let words = strip_prefixes(words);
        let feeder = piped.and_then(|p| cmds.get(p)).map(|(w, _)| strip_prefixes(w));
        // `pgrep x | xargs kill`: the kill's targets come from the pipe.
        let (words, from_pipe) = match words.first().map(|w| base(&w.text)) {
            Some("xargs") => (strip_xargs(&words[1..]), true),
            _ => (words, false),
        };
        if let Some(mut k) = classify(&words) {
            if from_pipe {
                if let Some(f) = feeder {
                    k.target_names.extend(pgrep_names(&f));
                }
            }
            out.push(k);
        }
    }
    out
}

fn base(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

fn is_assignment(s: &str) -> bool {
    match s.split_once('=') {
        Some((k, _)) => {
            !k.is_empty()
                && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !k.starts_with(|c: char| c.is_ascii_digit())
        }
        None => false,
    }
}

/// Drops `sudo`/`doas`/`nohup`/`env X=y`/`timeout N`/`nice`/`exec`/`command`/`time` prefixes, assignments and
/// the reserved words that can start a command.
fn strip_prefixes(words: &[W]) -> Vec<W> {
    let mut i = 0;
    while let Some(w) = words.get(i) {
        let b = base(&w.text);
        if is_assignment(&w.text) {
            i += 1;
            continue;
        }
        match b {
            // Reserved words and fish's combiners before a command: `do kill -9 $p` (a loop cmdhist saved on
            // one line), `then`, `! kill`, `{ kill 1; }`, fish `and kill $p`.
            "do" | "then" | "else" | "elif" | "if" | "while" | "until" | "!" | "{" | "and" | "or" | "not" | "begin" => {
                i += 1;
            }
            "sudo" | "doas" => {
                i += 1;
                while let Some(o) = words.get(i) {
                    let t = o.text.as_str();
                    if t == "--" {
                        i += 1;
                        break;
                    }
                    if !t.starts_with('-') || t == "-" {
                        break;
                    }
                    // Options that take a separate argument.
                    let takes = ["-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-c", "-a"];
                    i += if takes.contains(&t) { 2 } else { 1 };
                }
            }
            "nohup" | "exec" | "command" | "builtin" | "time" | "setsid" | "stdbuf" | "chronic" => {
                i += 1;
                while words.get(i).is_some_and(|o| o.text.starts_with('-')) {
                    i += 1;
                }
            }
            "env" => {
                i += 1;
                while let Some(o) = words.get(i) {
                    let t = o.text.as_str();
                    if t == "-u" || t == "-C" || t == "-S" {
                        i += 2;
                    } else if t.starts_with('-') || is_assignment(t) {
                        i += 1;
                    } else {
                        break;
                    }
                }
            }
            "nice" | "ionice" => {
                i += 1;
                while let Some(o) = words.get(i) {
                    let t = o.text.as_str();
                    if t == "-n" || t == "-c" || t == "-p" {
                        i += 2;
                    } else if t.starts_with('-') {
                        i += 1;
                    } else {
                        break;
                    }
                }
            }
            "timeout" => {
                i += 1;
                while let Some(o) = words.get(i) {
                    let t = o.text.as_str();
                    if t == "-s" || t == "-k" || t == "--signal" || t == "--kill-after" {
                        i += 2;
                    } else if t.starts_with('-') {
                        i += 1;
                    } else {
                        break;
                    }
                }
                i += 1; // the duration
            }
            _ => break,
        }
    }
    words.get(i..).map(<[W]>::to_vec).unwrap_or_default()
}

fn strip_xargs(words: &[W]) -> Vec<W> {
    let mut i = 0;
    while let Some(o) = words.get(i) {
        let t = o.text.as_str();
        if ["-n", "-I", "-P", "-L", "-d", "-E", "-s", "-a"].contains(&t) {
            i += 2;
        } else if t.starts_with('-') {
            i += 1;
        } else {
            break;
        }
    }
    words.get(i..).map(<[W]>::to_vec).unwrap_or_default()
}

/// Patterns of `pgrep [-f] pat` / `pidof name…` (after prefixes), for `$(pgrep x)` and `pgrep x | xargs kill`.
fn pgrep_names(words: &[W]) -> Vec<String> {
    let Some(first) = words.first() else { return Vec::new() };
    match base(&first.text) {
        "pgrep" => pattern_args(&words[1..]).0,
        "pidof" => words[1..]
            .iter()
            .filter(|w| !w.text.starts_with('-'))
            .map(|w| w.text.clone())
            .collect(),
        _ => Vec::new(),
    }
}

/// pgrep/pkill options: returns (patterns, full_match, signal).
fn pattern_args(args: &[W]) -> (Vec<String>, bool, Option<i64>) {
    let takes = [
        "-u",
        "-U",
        "-g",
        "-G",
        "-P",
        "-s",
        "-t",
        "-d",
        "-F",
        "--ns",
        "--nslist",
        "--signal",
        "-q",
        "--queue",
        "--euid",
        "--uid",
        "--pgroup",
        "--group",
        "--parent",
        "--session",
        "--terminal",
        "--pidfile",
        "--delimiter",
        "--older",
        "--cgroup",
        "-O",
    ];
    let mut names = Vec::new();
    let mut full = false;
    let mut sig = None;
    let mut i = 0;
    let mut opts_done = false;
    while let Some(w) = args.get(i) {
        let t = w.text.as_str();
        if !opts_done && t == "--" {
            opts_done = true;
        } else if !opts_done && t.starts_with("--signal=") {
            sig = signals::number(&t["--signal=".len()..]);
        } else if !opts_done && t == "--signal" {
            sig = args.get(i + 1).and_then(|a| signals::number(&a.text));
            i += 1;
        } else if !opts_done && takes.contains(&t) {
            i += 1;
        } else if !opts_done && t.starts_with('-') && t.len() > 1 {
            if i == 0 && sig.is_none() {
                if let Some(s) = signals::number(&t[1..]) {
                    sig = Some(s);
                    i += 1;
                    continue;
                }
            }
            if t == "--full" || (!t.starts_with("--") && t[1..].contains('f')) {
                full = true;
            }
        } else {
            names.push(t.to_owned());
        }
        i += 1;
    }
    (names, full, sig)
}

/// Targets of `kill`: pids, process groups (`-1234` after the signal or `--`), `$(pgrep x)`.
fn kill_targets(k: &mut KillCmd, w: &W) {
    let t = w.text.as_str();
    if let Ok(n) = t.parse::<i64>() {
        k.target_pids.push(n);
        return;
    }
    let mut found = false;
    for s in &w.subs {
        let names = pgrep_names_of(s);
        found |= !names.is_empty();
        k.target_names.extend(names);
    }
    if !found && !t.is_empty() {
        k.target_exprs.push(t.to_owned());
    }
}

/// `pgrep` patterns anywhere in a substitution's text (`pgrep -f victim`, `sudo pgrep x | head -1`).
fn pgrep_names_of(inner: &str) -> Vec<String> {
    simple_commands(tokenize(inner))
        .iter()
        .flat_map(|(w, _)| pgrep_names(&strip_prefixes(w)))
        .collect()
}

fn classify(words: &[W]) -> Option<KillCmd> {
    let first = words.first()?;
    let tool = base(&first.text);
    let args = &words[1..];
    match tool {
        "kill" => {
            let mut k = KillCmd::new("kill");
            let mut i = 0;
            let mut sig_seen = false;
            while let Some(w) = args.get(i) {
                let t = w.text.as_str();
                if t == "-l" || t == "-L" || t == "--list" || t == "--table" {
                    return None; // lists signals, sends none
                } else if t == "-s" || t == "-n" || t == "--signal" {
                    k.signal = args.get(i + 1).and_then(|a| signals::number(&a.text));
                    sig_seen = true;
                    i += 2;
                } else if t == "--" {
                    i += 1;
                    break;
                } else if t.starts_with('-') && t.len() > 1 && !sig_seen {
                    k.signal = signals::number(&t[1..]);
                    sig_seen = true;
                    i += 1;
                } else if t.starts_with('-') && t.len() > 1 && t[1..].parse::<i64>().is_err() {
                    i += 1; // another option (`-q`, `--verbose`)
                } else {
                    break;
                }
            }
            for w in args.get(i..).unwrap_or_default() {
                kill_targets(&mut k, w);
            }
            if k.signal.is_none() && !sig_seen {
                k.signal = Some(15);
            }
            Some(k)
        }
        "pkill" => {
            let (names, full, sig) = pattern_args(args);
            let mut k = KillCmd::new("pkill");
            k.signal = sig.or(Some(15));
            k.target_names = names;
            k.full_match = full;
            Some(k)
        }
        "killall" | "killall5" => {
            let mut k = KillCmd::new(tool);
            let takes = [
                "-u",
                "--user",
                "-o",
                "--older-than",
                "-y",
                "--younger-than",
                "-n",
                "--ns",
                "-Z",
                "--context",
            ];
            let mut i = 0;
            let mut opts_done = false;
            while let Some(w) = args.get(i) {
                let t = w.text.as_str();
                if !opts_done && t == "--" {
                    opts_done = true;
                } else if !opts_done && (t == "-s" || t == "--signal") {
                    k.signal = args.get(i + 1).and_then(|a| signals::number(&a.text));
                    i += 1;
                } else if !opts_done && takes.contains(&t) {
                    i += 1;
                } else if !opts_done && t.starts_with('-') && t.len() > 1 {
                    if let Some(s) = signals::number(&t[1..]) {
                        k.signal = Some(s);
                    }
                } else if tool == "killall5" {
                    if let Ok(n) = t.parse::<i64>() {
                        k.target_pids.push(n); // omitted pids (-o)
                    }
                } else {
                    k.target_names.push(t.to_owned());
                }
                i += 1;
            }
            if k.signal.is_none() {
                k.signal = Some(15);
            }
            if tool == "killall5" {
                k.target_pids = vec![-1];
            }
            Some(k)
        }
        "skill" | "snice" => {
            let mut k = KillCmd::new(tool);
            let mut i = 0;
            while let Some(w) = args.get(i) {
                let t = w.text.as_str();
                let next = args.get(i + 1).map(|a| a.text.clone());
                match t {
                    "-p" | "--pid" => {
                        if let Some(n) = next.as_deref().and_then(|s| s.parse().ok()) {
                            k.target_pids.push(n);
                        }
                        i += 1;
                    }
                    "-c" | "--command" => {
                        k.target_names.extend(next);
                        i += 1;
                    }
                    "-u" | "--user" | "-t" | "--tty" | "--ns" | "--nslist" => i += 1,
                    _ if t.starts_with('-') && t.len() > 1 => {
                        if let Some(s) = signals::number(&t[1..]) {
                            k.signal = Some(s);
                        }
                    }
                    _ => match t.parse::<i64>() {
                        Ok(n) => k.target_pids.push(n),
                        Err(_) => k.target_names.push(t.to_owned()),
                    },
                }
                i += 1;
            }
            if tool == "skill" && k.signal.is_none() {
                k.signal = Some(15);
            }
            Some(k)
        }
        "top" | "htop" | "btop" | "atop" | "xkill" => Some(KillCmd::new(tool)),
        "systemctl" => {
            let mut k = KillCmd::new("systemctl");
            let takes = [
                "-s",
                "--signal",
                "-H",
                "--host",
                "-M",
                "--machine",
                "--kill-whom",
                "--kill-value",
                "-p",
                "--property",
                "--job-mode",
            ];
            let mut pos = Vec::new();
            let mut i = 0;
            while let Some(w) = args.get(i) {
                let t = w.text.as_str();
                if t == "-s" || t == "--signal" {
                    k.signal = args.get(i + 1).and_then(|a| signals::number(&a.text));
                    i += 1;
                } else if let Some(v) = t.strip_prefix("--signal=") {
                    k.signal = signals::number(v);
                } else if takes.contains(&t) {
                    i += 1;
                } else if !t.starts_with('-') {
                    pos.push(t.to_owned());
                }
                i += 1;
            }
            let verb = pos.first()?.clone();
            let killing = [
                "stop",
                "kill",
                "restart",
                "try-restart",
                "reload-or-restart",
                "try-reload-or-restart",
                "isolate",
                "condrestart",
                "force-reload",
                "reboot",
                "poweroff",
                "halt",
                "kexec",
                "emergency",
                "rescue",
                "soft-reboot",
                "clean",
            ];
            if !killing.contains(&verb.as_str()) {
                return None;
            }
            if verb == "kill" && k.signal.is_none() {
                k.signal = Some(15);
            }
            k.target_units = pos[1..].to_vec();
            k.action = Some(verb);
            Some(k)
        }
        "service" => {
            let pos: Vec<&str> = args
                .iter()
                .map(|w| w.text.as_str())
                .filter(|t| !t.starts_with('-'))
                .collect();
            let (unit, verb) = (pos.first()?, pos.get(1)?);
            if ![
                "stop",
                "restart",
                "force-stop",
                "force-reload",
                "kill",
                "try-restart",
                "condrestart",
            ]
            .contains(verb)
            {
                return None;
            }
            let mut k = KillCmd::new("service");
            k.target_units = vec![(*unit).to_owned()];
            k.action = Some((*verb).to_owned());
            Some(k)
        }
        _ if first.text.starts_with("/etc/init.d/") || first.text.starts_with("/etc/rc.d/init.d/") => {
            let verb = args.first()?.text.as_str();
            if !["stop", "restart", "force-stop", "force-reload"].contains(&verb) {
                return None;
            }
            let mut k = KillCmd::new("init.d");
            k.target_units = vec![tool.to_owned()];
            k.action = Some(verb.to_owned());
            Some(k)
        }
        "docker" | "podman" | "nerdctl" => {
            let mut rest: Vec<&W> = args.iter().collect();
            // Global options before the verb (`docker -H host kill x`, `podman --remote stop x`).
            while rest.first().is_some_and(|w| w.text.starts_with('-')) {
                let t = rest[0].text.as_str();
                let skip = if [
                    "-H",
                    "--host",
                    "-c",
                    "--context",
                    "--config",
                    "-l",
                    "--log-level",
                    "--url",
                    "--connection",
                ]
                .contains(&t)
                {
                    2
                } else {
                    1
                };
                rest.drain(..skip.min(rest.len()));
            }
            if rest.first().is_some_and(|w| w.text == "container") {
                rest.remove(0);
            }
            let verb = rest.first()?.text.clone();
            let mut k = KillCmd::new(tool);
            let mut forced = false;
            let mut i = 1;
            while let Some(w) = rest.get(i) {
                let t = w.text.as_str();
                if t == "-s" || t == "--signal" {
                    k.signal = rest.get(i + 1).and_then(|a| signals::number(&a.text));
                    i += 1;
                } else if let Some(v) = t.strip_prefix("--signal=") {
                    k.signal = signals::number(v);
                } else if t == "-t" || t == "--time" || t == "--timeout" {
                    i += 1;
                } else if t == "-f" || t == "--force" || (t.starts_with('-') && !t.starts_with("--") && t.contains('f'))
                {
                    forced = true;
                } else if !t.starts_with('-') {
                    k.target_names.push(t.to_owned());
                }
                i += 1;
            }
            match verb.as_str() {
                "kill" => {
                    if k.signal.is_none() {
                        k.signal = Some(9);
                    }
                }
                "stop" | "restart" => {}
                "rm" if forced => k.signal = Some(9),
                _ => return None,
            }
            k.action = Some(verb);
            Some(k)
        }
        "kubectl" | "oc" => {
            let mut pos: Vec<String> = Vec::new();
            let takes = [
                "-n",
                "--namespace",
                "-l",
                "--selector",
                "-f",
                "--filename",
                "--context",
                "--cluster",
                "-o",
                "--output",
                "--grace-period",
                "--timeout",
                "--kubeconfig",
                "-c",
                "--container",
            ];
            let mut i = 0;
            while let Some(w) = args.get(i) {
                let t = w.text.as_str();
                if takes.contains(&t) {
                    i += 1;
                } else if !t.starts_with('-') {
                    pos.push(t.to_owned());
                }
                i += 1;
            }
            if pos.first().map(String::as_str) != Some("delete") {
                return None;
            }
            let mut k = KillCmd::new(tool);
            k.action = Some("delete".into());
            let objs = &pos[1..];
            match objs.first() {
                Some(kind) if !kind.contains('/') => {
                    k.target_names = objs[1..].iter().map(|n| format!("{kind}/{n}")).collect();
                    if k.target_names.is_empty() {
                        k.target_names.push(kind.clone());
                    }
                }
                Some(_) => k.target_names = objs.to_vec(),
                None => {}
            }
            Some(k)
        }
        "reboot" | "poweroff" | "halt" => Some(KillCmd::new(tool)),
        "shutdown" => {
            if args
                .iter()
                .any(|w| w.text == "-c" || w.text == "--cancel" || w.text == "--show")
            {
                return None;
            }
            Some(KillCmd::new(tool))
        }
        "init" | "telinit" => {
            let lvl = args.first()?.text.as_str();
            let accepted = if tool == "init" {
                ["0", "6", "1", "s", "S"].contains(&lvl)
            } else {
                !lvl.starts_with('-')
            };
            if !accepted {
                return None;
            }
            let mut k = KillCmd::new(tool);
            k.action = Some(lvl.to_owned());
            Some(k)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> KillCmd {
        let mut v = find_kills(s);
        assert_eq!(v.len(), 1, "{s}: {v:?}");
        v.remove(0)
    }

    #[test]
    fn kill_forms() {
        let k = one("kill -9 1234");
        assert_eq!(
            (k.tool.as_str(), k.signal, k.target_pids.clone()),
            ("kill", Some(9), vec![1234])
        );
        assert_eq!(one("kill 1 2").signal, Some(15));
        assert_eq!(one("kill -KILL 5").signal, Some(9));
        assert_eq!(one("kill -SIGTERM 5").signal, Some(15));
        assert_eq!(one("kill -s TERM 5").signal, Some(15));
        assert_eq!(one("kill -n 9 5").signal, Some(9));
        let k = one("kill -s KILL -- -1234");
        assert_eq!((k.signal, k.target_pids), (Some(9), vec![-1234]));
        let k = one("kill -9 -1");
        assert_eq!((k.signal, k.target_pids), (Some(9), vec![-1]));
        let k = one("kill -9 -1234 77");
        assert_eq!(k.target_pids, vec![-1234, 77]);
        assert!(find_kills("kill -l").is_empty());
        let k = one("kill -9 $(pgrep victim)");
        assert_eq!((k.signal, k.target_names.clone()), (Some(9), vec!["victim".to_owned()]));
        let k = one("kill `pgrep -f 'python app.py'`");
        assert_eq!(k.target_names, vec!["python app.py".to_owned()]);
        let k = one("kill -HUP \"$(cat /run/nginx.pid)\"");
        assert_eq!(k.signal, Some(1));
        assert_eq!(k.target_exprs, vec!["$(cat /run/nginx.pid)".to_owned()]);
        let k = one("kill %1");
        assert_eq!(k.target_exprs, vec!["%1".to_owned()]);
    }

    #[test]
    fn prefixes_and_separators() {
        let k = one("sudo systemctl stop nginx");
        assert_eq!(
            (k.tool.as_str(), k.target_units.clone(), k.action.as_deref()),
            ("systemctl", vec!["nginx".to_owned()], Some("stop"))
        );
        let k = one("sudo -u www-data env A=b timeout 5 nohup kill -TERM 42");
        assert_eq!((k.signal, k.target_pids), (Some(15), vec![42]));
        let v = find_kills("cd /tmp && make; pkill -f 'worker --x' || killall -9 java | cat");
        assert_eq!(v.len(), 2);
        assert_eq!(
            (v[0].tool.as_str(), v[0].target_names.clone(), v[0].full_match),
            ("pkill", vec!["worker --x".to_owned()], true)
        );
        assert_eq!(
            (v[1].tool.as_str(), v[1].signal, v[1].target_names.clone()),
            ("killall", Some(9), vec!["java".to_owned()])
        );
        let k = one("pgrep -f victim | xargs -r kill -9");
        assert_eq!((k.signal, k.target_names), (Some(9), vec!["victim".to_owned()]));
        assert!(find_kills("echo kill -9 1").is_empty());
        assert!(find_kills("# kill 1").is_empty());
        assert!(find_kills("systemctl status nginx").is_empty());
        assert_eq!(one("doas /usr/bin/kill -9 3").target_pids, vec![3]);
    }

    #[test]
    fn other_tools() {
        assert_eq!(one("pkill -9 -u bob firefox").target_names, vec!["firefox".to_owned()]);
        assert_eq!(one("pkill -KILL x").signal, Some(9));
        assert_eq!(one("pkill --signal HUP x").signal, Some(1));
        assert_eq!(one("systemctl kill -s KILL foo.service").signal, Some(9));
        assert_eq!(
            one("systemctl --user restart a b").target_units,
            vec!["a".to_owned(), "b".to_owned()]
        );
        assert_eq!(one("service nginx stop").target_units, vec!["nginx".to_owned()]);
        assert!(find_kills("service nginx status").is_empty());
        let k = one("docker kill web");
        assert_eq!((k.signal, k.target_names), (Some(9), vec!["web".to_owned()]));
        assert_eq!(one("docker container rm -f db").target_names, vec!["db".to_owned()]);
        assert!(find_kills("docker rm db").is_empty());
        assert_eq!(one("podman stop -t 3 app").target_names, vec!["app".to_owned()]);
        assert_eq!(
            one("kubectl delete pod api-0 -n prod").target_names,
            vec!["pod/api-0".to_owned()]
        );
        assert_eq!(one("top").tool, "top");
        assert_eq!(one("sudo reboot").tool, "reboot");
        assert_eq!(one("shutdown -h now").tool, "shutdown");
        assert!(find_kills("shutdown -c").is_empty());
        assert_eq!(one("init 6").action.as_deref(), Some("6"));
        assert!(find_kills("init 3").is_empty());
        assert_eq!(one("skill -KILL -u bob").signal, Some(9));
        assert_eq!(one("xkill").tool, "xkill");
        assert_eq!(one("/etc/init.d/ssh stop").target_units, vec!["ssh".to_owned()]);
    }

    /// Regression: a `#` comment ended the whole entry, so a multi-line loop's `kill` after a commented line
    /// was lost; reserved words (`do kill`, as cmdhist saves a loop on one line) hid the command after them.
    #[test]
    fn multi_line_entries_comments_and_reserved_words() {
        let k = one("for p in $(pgrep -f v); do # reap\n  # note\n  kill -9 $p\ndone");
        assert_eq!((k.signal, k.target_exprs), (Some(9), vec!["$p".to_owned()]));
        assert_eq!(one("for p in $(pgrep v); do   kill -TERM $p; done").signal, Some(15));
        assert_eq!(one("if true; then kill 5; fi").target_pids, vec![5]);
        assert_eq!(one("while :; do kill -HUP 7; done").signal, Some(1));
        assert_eq!(one("{ kill 5; }").target_pids, vec![5]);
        assert_eq!(one("(kill -9 6)").target_pids, vec![6]);
        assert_eq!(one("! kill 5").target_pids, vec![5]);
        assert_eq!(one("test -n $p; and kill -9 $p").signal, Some(9));
        assert_eq!(one("case $x in a) kill 8;; esac").target_pids, vec![8]);
        // fish's `(…)` substitution names the pgrep pattern like `$(…)`.
        assert_eq!(one("kill -9 (pgrep -f victim)").target_names, vec!["victim".to_owned()]);
        assert!(find_kills("echo done # kill 1").is_empty());
    }

    /// A here-doc body is data for its command (`cat > f <<EOF`), not commands this shell ran; fed to a shell
    /// (`bash <<EOF`, `sudo sh -s <<-X`), its commands are read.
    #[test]
    fn here_doc_bodies() {
        assert!(find_kills("cat > /tmp/n <<'EOF'\nkill -9 1\n\nEOF").is_empty());
        assert!(find_kills("cat <<EOF >x\nkill -9 1\nEOF").is_empty());
        assert!(find_kills("cat << \"END\"\nkill 1\nEND").is_empty());
        let v = find_kills("cat <<-EOF\n\tkill -9 1\n\tEOF\nkill -HUP 2");
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(v[0].target_pids, vec![2]);
        assert_eq!(one("sudo bash <<EOF\nkill -9 42\nEOF").target_pids, vec![42]);
        assert_eq!(one("sh -s <<-X\n\tkill 3\n\tX").target_pids, vec![3]);
        // `<<<` is a here-string, not a here-doc; an unterminated here-doc takes the rest.
        assert_eq!(one("cat <<< x\nkill 4").target_pids, vec![4]);
        assert!(find_kills("cat <<EOF\nkill 1").is_empty());
    }

    #[test]
    fn tokenizer_never_panics_on_odd_input() {
        for s in [
            "'",
            "\"",
            "$(",
            "`",
            "\\",
            "kill -",
            "kill -s",
            "a |",
            "| b",
            "$((1+2))",
            "kill \"$(pgrep 'x)\"",
            "<<",
            "<<-",
            "<<\n",
            "a <<\n",
            "<<EOF\n",
            "(",
            ")",
            "((",
            "# x\n",
            "kill (",
        ] {
            let _ = find_kills(s);
        }
        assert_eq!(signals::number("sigkill"), Some(9));
        assert_eq!(signals::name(9).as_deref(), Some("SIGKILL"));
        assert_eq!(signals::name(35).as_deref(), Some("SIGRTMIN+1"));
    }
}
