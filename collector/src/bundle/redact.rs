//! `--redact`: secrets are replaced by `[REDACTED:<pattern>]` before the bytes reach the bundle.
//!
//! Each pattern is one byte regex whose group `s` is the secret; only that group is replaced, so a command
//! stays readable and a JSON line stays JSON (no value class takes a `"` or a `\`). Where two patterns' secrets
//! overlap the earlier one wins. [`Stream`] redacts a stream in bounded memory: it scans a window at a time
//! and never emits the last [`HOLD`] bytes of a window (every pattern's part before its secret is shorter),
//! so a secret split across reads is found whole; a match still running at the end of a full window is
//! replaced and the rest of its secret is swallowed from the following reads ([`Tail`]).

use std::collections::BTreeMap;

use regex::bytes::Regex;

/// Secrets replaced, by pattern name.
pub type Counts = BTreeMap<&'static str, u64>;

/// Bytes scanned per round.
const WINDOW: usize = 64 << 10;
/// Bytes at the end of a window never emitted in that round: longer than any pattern's text before its secret.
const HOLD: usize = 4 << 10;
/// Bytes kept before the scan start, so `\b` and `\B` see the byte before it.
const CONTEXT: usize = 64;

/// A secret's value: quoted (plain or JSON-escaped quotes), or a run of bytes that are not blank, quotes,
/// a backslash (except one escaping an ordinary byte) or shell punctuation. It never starts with `-`, so an
/// option that prompts (`--password --verbose`) is left alone.
const VALUE: &str = r#"(?:'[^'\n\x00]{1,512}'|\\?"[^"\\\n\x00]{1,512}\\?"|(?:[^\s\x00"'\\&;|<>`-]|\\[^"'\s\x00\\])(?:[^\s\x00"'\\&;|<>`]|\\[^"'\s\x00\\])*)"#;
/// The unquoted run, for swallowing the rest of a value cut by a window's end.
const VALUE_RUN: &str = r#"\A(?:[^\s\x00"'\\&;|<>`]|\\[^"'\s\x00\\])*"#;
const PEM_END: &str = r#"-----END [A-Z0-9 ]{0,40}PRIVATE KEY-----|""#;

/// One kind of secret.
pub struct Pattern {
    pub name: &'static str,
    /// What it matches, for `--list-redactions`.
    pub what: &'static str,
    regex: fn() -> String,
    tail: TailKind,
}

#[derive(Clone, Copy)]
enum TailKind {
    /// Fixed length: nothing can be left over.
    None,
    /// The rest of a [`VALUE_RUN`].
    Value,
    /// Runs of `[A-Za-z0-9._~+/=-]` (tokens, base64).
    Token,
    /// Up to the END line (or the `"` closing a JSON string).
    PemBody,
}

/// Every pattern, in the order `--list-redactions` prints them.
pub const PATTERNS: &[Pattern] = &[
    Pattern {
        name: "private-key",
        what: "the body of a -----BEGIN … PRIVATE KEY----- block, up to its END line (multi-line)",
        regex: || r#"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY-----(?P<s>[^"]+?)(?:-----END [A-Z0-9 ]{0,40}PRIVATE KEY-----|"|\z)"#.to_owned(),
        tail: TailKind::PemBody,
    },
    Pattern {
        name: "gcp-service-account-key",
        what: "the value of \"private_key\" in a Google service-account JSON key",
        regex: || r#"\\?"private_key\\?"\s{0,4}:\s{0,4}\\?"(?P<s>(?:[^"\\]|\\[^"])+?)\\?""#.to_owned(),
        tail: TailKind::PemBody,
    },
    Pattern {
        name: "authorization-header",
        what: "the credentials after Authorization: Bearer/Basic/Token",
        regex: || r#"(?i:authorization)\\?["']?\s{0,4}[:=]\s{0,4}\\?["']?(?i:bearer|basic|token)[ \t]{1,4}(?P<s>[A-Za-z0-9._~+/=-]+)"#.to_owned(),
        tail: TailKind::Token,
    },
    Pattern {
        name: "aws-access-key-id",
        what: "an AWS access key id (AKIA… or ASIA… and 16 more)",
        regex: || r"\b(?P<s>(?:AKIA|ASIA)[A-Z0-9]{16})\b".to_owned(),
        tail: TailKind::None,
    },
    Pattern {
        name: "aws-secret-access-key",
        what: "the value of aws_secret_access_key / AWS_SECRET_ACCESS_KEY",
        regex: || r#"(?i:aws_secret_access_key)\\?["']?\s{0,4}[:=]\s{0,4}\\?["']?(?P<s>[A-Za-z0-9/+=]{16,})"#.to_owned(),
        tail: TailKind::Token,
    },
    Pattern {
        name: "gcp-api-key",
        what: "a Google API key (AIza and 35 more)",
        regex: || r"\b(?P<s>AIza[0-9A-Za-z_-]{35})".to_owned(),
        tail: TailKind::None,
    },
    Pattern {
        name: "env-secret",
        what: "the value of PGPASSWORD=, MYSQL_PWD= and NAME_PASSWORD=/_TOKEN=/_SECRET=/_API_KEY= assignments",
        regex: || {
            format!(
                r"\b(?:[A-Z][A-Z0-9_]{{0,63}}_)?(?:PGPASSWORD|MYSQL_PWD|PASSWORD|PASSWD|TOKEN|SECRET|SECRET_KEY|API_KEY|APIKEY)=(?P<s>{VALUE})"
            )
        },
        tail: TailKind::Value,
    },
    Pattern {
        name: "password-option",
        what: "the value of --password/--passwd (=VALUE or VALUE), not --password-file",
        regex: || format!(r"\B--?(?:password|passwd)(?:=|[ \t\x00]{{1,4}})(?P<s>{VALUE})"),
        tail: TailKind::Value,
    },
    Pattern {
        name: "token-option",
        what: "the value of --token, --secret, --api-key, --access-token, --auth-token, --client-secret",
        regex: || {
            format!(
                r"\B--?(?:token|secret|api[-_]?key|access[-_]token|auth[-_]token|client[-_]secret|secret[-_]key)(?:=|[ \t\x00]{{1,4}})(?P<s>{VALUE})"
            )
        },
        tail: TailKind::Value,
    },
    Pattern {
        name: "mysql-password",
        what: "the password glued to -p in a mysql/mariadb client command (-pSECRET; a bare -p prompts and is kept)",
        regex: || {
            format!(
                r"\b(?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlcheck|mysqlshow|mariadb[a-z-]{{0,16}})\b[^\n;|&]{{0,256}}?[\s\x00]-p(?P<s>{VALUE})"
            )
        },
        tail: TailKind::Value,
    },
    Pattern {
        name: "sshpass",
        what: "the password given to sshpass -p",
        regex: || format!(r"\bsshpass\b[^\n;|&]{{0,64}}?[\s\x00]-p[ \t\x00]{{0,4}}(?P<s>{VALUE})"),
        tail: TailKind::Value,
    },
    Pattern {
        name: "url-credentials",
        what: "the password in scheme://user:PASSWORD@host",
        regex: || r#"[A-Za-z][A-Za-z0-9+.-]{0,20}://[^\s\x00/:@"'\\]{1,128}:(?P<s>[^\s\x00/@"'\\]{1,256})@"#.to_owned(),
        tail: TailKind::None,
    },
];

/// The compiled patterns.
pub struct Redactor {
    res: Vec<(Regex, usize)>,
    value_run: Regex,
    token_run: Regex,
    pem_end: Regex,
}

/// A pattern that could not be compiled (a bug: the patterns are constants, and a test compiles them all).
#[derive(Debug, thiserror::Error)]
#[error("redaction pattern {name}: {source}")]
pub struct PatternError {
    name: &'static str,
    #[source]
    source: regex::Error,
}

impl Redactor {
    pub fn new() -> Result<Redactor, PatternError> {
        let compile = |name: &'static str, re: &str| {
            // Byte semantics everywhere: classes match any byte, `\s` and `\b` are ASCII.
            Regex::new(&format!("(?-u){re}")).map_err(|source| PatternError { name, source })
        };
        let mut res = Vec::new();
        for p in PATTERNS {
            let re = compile(p.name, &(p.regex)())?;
            let s = re.capture_names().position(|n| n == Some("s")).unwrap_or(0);
            res.push((re, s));
        }
        Ok(Redactor {
            res,
            value_run: compile("value-run", VALUE_RUN)?,
            token_run: compile("token-run", r"\A[A-Za-z0-9._~+/=-]*")?,
            pem_end: compile("pem-end", PEM_END)?,
        })
    }

    /// A stream redactor over these patterns.
    pub fn stream(&self) -> Stream<'_> {
        Stream { r: self, buf: Vec::new(), pos: 0, tail: None, counts: Counts::new() }
    }

    /// Redacts bytes held whole.
    pub fn redact_all(&self, input: &[u8]) -> (Vec<u8>, Counts) {
        let mut s = self.stream();
        let mut out = Vec::with_capacity(input.len());
        for chunk in input.chunks(WINDOW) {
            s.push(chunk, &mut out);
        }
        let counts = s.finish(&mut out);
        (out, counts)
    }

    /// Secret spans in `hay` at or after `from`, sorted, overlapping ones dropped (the earlier start wins).
    fn spans(&self, hay: &[u8], from: usize) -> Vec<Span> {
        let mut all = Vec::new();
        for (i, (re, g)) in self.res.iter().enumerate() {
            let mut at = from;
            while at <= hay.len() {
                let Some(c) = re.captures_at(hay, at) else { break };
                let (Some(m), Some(s)) = (c.get(0), c.get(*g)) else { break };
                if !s.is_empty() {
                    all.push(Span { m_start: m.start(), s_start: s.start(), s_end: s.end(), m_end: m.end(), pattern: i });
                }
                at = if m.end() > m.start() { m.end() } else { m.end() + 1 };
            }
        }
        all.sort_by_key(|s| (s.s_start, std::cmp::Reverse(s.s_end), s.pattern));
        let mut kept: Vec<Span> = Vec::new();
        for sp in all {
            if kept.last().is_none_or(|k| sp.s_start >= k.s_end) {
                kept.push(sp);
            }
        }
        kept
    }
}

#[derive(Clone, Copy, Debug)]
struct Span {
    m_start: usize,
    s_start: usize,
    s_end: usize,
    m_end: usize,
    pattern: usize,
}

/// The rest of a secret cut by a window's end, still to be dropped from what follows.
#[derive(Clone, Copy, Debug)]
enum Tail {
    Value,
    Token,
    PemBody,
}

/// Redacts a stream pushed in pieces of any size; memory stays within about two windows.
pub struct Stream<'r> {
    r: &'r Redactor,
    /// Unemitted bytes from `pos` on, after up to [`CONTEXT`] emitted ones.
    buf: Vec<u8>,
    pos: usize,
    tail: Option<Tail>,
    counts: Counts,
}

impl Stream<'_> {
    /// Takes the next piece; appends what can be emitted to `out`.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        for piece in chunk.chunks(WINDOW) {
            self.buf.extend_from_slice(piece);
            while self.buf.len() - self.pos >= WINDOW {
                self.round(false, out);
            }
        }
    }

    /// Ends the stream: emits the rest and returns the counts.
    pub fn finish(mut self, out: &mut Vec<u8>) -> Counts {
        while self.pos < self.buf.len() {
            self.round(true, out);
        }
        self.counts
    }

    /// Drops the leftover of a cut secret; false when it may go on past what is buffered.
    fn swallow(&mut self, eof: bool) -> bool {
        let Some(t) = self.tail else { return true };
        let rest = &self.buf[self.pos..];
        let (n, done) = match t {
            Tail::Value | Tail::Token => {
                let re = if matches!(t, Tail::Value) { &self.r.value_run } else { &self.r.token_run };
                let n = re.find(rest).map_or(0, |m| m.end());
                (n, n < rest.len())
            }
            Tail::PemBody => match self.r.pem_end.find(rest) {
                Some(m) => (m.start(), true),
                // Keep enough to find an END line split across reads.
                None => (rest.len().saturating_sub(80), false),
            },
        };
        self.pos += n;
        if done || eof {
            self.tail = None;
            if eof && !done {
                self.pos = self.buf.len();
            }
            return true;
        }
        false
    }

    fn round(&mut self, eof: bool, out: &mut Vec<u8>) {
        if !self.swallow(eof) {
            self.compact();
            return;
        }
        let end = self.buf.len().min(self.pos + WINDOW);
        let at_end = eof && end == self.buf.len();
        let hay = &self.buf[..end];
        let limit = if at_end { end } else { end.saturating_sub(HOLD).max(self.pos) };
        let mut cursor = self.pos;
        let mut emit_to = limit;
        for sp in self.r.spans(hay, self.pos) {
            if sp.m_start >= emit_to {
                continue;
            }
            let complete = at_end || sp.m_end < end;
            if !complete {
                let hold = sp.m_start.max(cursor);
                if hold > self.pos {
                    // Wait for more bytes: the next round starts at this match.
                    emit_to = hold;
                    break;
                }
                // A full window of one match: replace what is here, swallow the rest as it comes.
                self.tail = match PATTERNS[sp.pattern].tail {
                    TailKind::None => None,
                    TailKind::Value => Some(Tail::Value),
                    TailKind::Token => Some(Tail::Token),
                    TailKind::PemBody => Some(Tail::PemBody),
                };
            }
            out.extend_from_slice(&hay[cursor..sp.s_start]);
            out.extend_from_slice(b"[REDACTED:");
            out.extend_from_slice(PATTERNS[sp.pattern].name.as_bytes());
            out.push(b']');
            *self.counts.entry(PATTERNS[sp.pattern].name).or_default() += 1;
            cursor = sp.s_end;
            emit_to = emit_to.max(sp.s_end);
            if !complete {
                emit_to = end;
                break;
            }
        }
        if emit_to > cursor {
            out.extend_from_slice(&hay[cursor..emit_to]);
        }
        self.pos = emit_to.max(cursor);
        self.compact();
    }

    /// Drops emitted bytes but the last [`CONTEXT`].
    fn compact(&mut self) {
        let drop = self.pos.saturating_sub(CONTEXT);
        if drop > 0 {
            self.buf.drain(..drop);
            self.pos -= drop;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn red(s: &str) -> (String, Counts) {
        let r = Redactor::new().expect("patterns compile");
        let (out, c) = r.redact_all(s.as_bytes());
        (String::from_utf8(out).expect("utf8"), c)
    }

    fn one(s: &str, want: &str, pattern: &str) {
        let (out, c) = red(s);
        assert_eq!(out, want, "input {s:?}");
        assert_eq!(c.get(pattern), Some(&1), "{s:?}: {c:?}");
        assert_eq!(c.values().sum::<u64>(), 1, "{s:?}: {c:?}");
    }

    fn none(s: &str) {
        let (out, c) = red(s);
        assert_eq!(out, s);
        assert!(c.is_empty(), "{s:?}: {c:?}");
    }

    #[test]
    fn every_pattern_compiles_and_names_are_unique() {
        Redactor::new().expect("compile");
        let mut names: Vec<&str> = PATTERNS.iter().map(|p| p.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), PATTERNS.len());
    }

    #[test]
    fn mysql_password_glued_to_p() {
        one("mysql -u root -pS3cret db\n", "mysql -u root -p[REDACTED:mysql-password] db\n", "mysql-password");
        one("mysqldump -h db -p'two words' x\n", "mysqldump -h db -p[REDACTED:mysql-password] x\n", "mysql-password");
        // A bare -p prompts for the password: nothing to hide. -P is the port.
        none("mysql -u root -p db\n");
        none("mysql -P 3306 -u root -p\n");
        none("ls -pa /tmp\n");
    }

    #[test]
    fn password_and_token_options() {
        one("mysql --password=hunter2 db\n", "mysql --password=[REDACTED:password-option] db\n", "password-option");
        one("tool --password hunter2\n", "tool --password [REDACTED:password-option]\n", "password-option");
        one("curl --token=abc.def x\n", "curl --token=[REDACTED:token-option] x\n", "token-option");
        one("app --api-key K123 run\n", "app --api-key [REDACTED:token-option] run\n", "token-option");
        one("vault --secret \"a b\"\n", "vault --secret [REDACTED:token-option]\n", "token-option");
        // A file holding the password is not the password; an option that prompts has no value.
        none("tool --password-file /etc/pw\n");
        none("tool --token-file=/run/t\n");
        none("tool --password --verbose\n");
        none("tool --password\n");
    }

    #[test]
    fn env_assignments_and_sshpass() {
        one("PGPASSWORD=pw psql -h db\n", "PGPASSWORD=[REDACTED:env-secret] psql -h db\n", "env-secret");
        one("export GITHUB_TOKEN=ghp_abc\n", "export GITHUB_TOKEN=[REDACTED:env-secret]\n", "env-secret");
        none("export PASSWORD_FILE=/etc/pw OLDPWD=/root\n");
        one("sshpass -p 'pw' ssh host\n", "sshpass -p [REDACTED:sshpass] ssh host\n", "sshpass");
        one("sshpass -pPW ssh host\n", "sshpass -p[REDACTED:sshpass] ssh host\n", "sshpass");
        none("sshpass -f /etc/pw ssh host\n");
    }

    #[test]
    fn authorization_headers() {
        one(
            "curl -H 'Authorization: Bearer eyJhbGciOi.x-y_z' https://api\n",
            "curl -H 'Authorization: Bearer [REDACTED:authorization-header]' https://api\n",
            "authorization-header",
        );
        one("authorization: basic dXNlcjpwYXNz\n", "authorization: basic [REDACTED:authorization-header]\n", "authorization-header");
        none("the Authorization header was missing\n");
    }

    #[test]
    fn cloud_keys() {
        one("id AKIAIOSFODNN7EXAMPLE x\n", "id [REDACTED:aws-access-key-id] x\n", "aws-access-key-id");
        one(
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
            "aws_secret_access_key = [REDACTED:aws-secret-access-key]\n",
            "aws-secret-access-key",
        );
        one(
            "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY aws s3 ls\n",
            "AWS_SECRET_ACCESS_KEY=[REDACTED:aws-secret-access-key] aws s3 ls\n",
            "aws-secret-access-key",
        );
        one(
            "key=AIzaSyA1234567890abcdefghijklmnopqrstuv\n",
            "key=[REDACTED:gcp-api-key]\n",
            "gcp-api-key",
        );
        none("AKIA is a prefix; AKIASHORT is not a key\n");
        one(
            r#"{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\nMIIEv\n-----END PRIVATE KEY-----\n", "x": 1}"#,
            r#"{"type": "service_account", "private_key": "[REDACTED:gcp-service-account-key]", "x": 1}"#,
            "gcp-service-account-key",
        );
    }

    #[test]
    fn private_key_blocks_span_lines() {
        one(
            "a\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\nAAAA\n-----END OPENSSH PRIVATE KEY-----\nz\n",
            "a\n-----BEGIN OPENSSH PRIVATE KEY-----[REDACTED:private-key]-----END OPENSSH PRIVATE KEY-----\nz\n",
            "private-key",
        );
        none("-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n");
    }

    #[test]
    fn json_lines_stay_json() {
        let line = r#"{"MESSAGE":"run --password=\"p w\" --token=t0k AKIAIOSFODNN7EXAMPLE","_PID":"7"}"#;
        let (out, c) = red(line);
        let v: serde_json::Value = serde_json::from_str(&out).expect("still JSON");
        assert_eq!(
            v["MESSAGE"],
            "run --password=[REDACTED:password-option] --token=[REDACTED:token-option] [REDACTED:aws-access-key-id]"
        );
        assert_eq!(c.values().sum::<u64>(), 3);
    }

    #[test]
    fn non_utf8_bytes_pass_and_are_redacted_around() {
        let r = Redactor::new().expect("compile");
        let (out, _) = r.redact_all(b"\xff\xfe --token=\xffsecret\xfe x");
        assert_eq!(out, b"\xff\xfe --token=[REDACTED:token-option] x");
    }

    /// Feeds `input` in pieces of `n` bytes.
    fn in_pieces(input: &[u8], n: usize) -> (Vec<u8>, Counts) {
        let r = Redactor::new().expect("compile");
        let mut s = r.stream();
        let mut out = Vec::new();
        for c in input.chunks(n) {
            s.push(c, &mut out);
        }
        let counts = s.finish(&mut out);
        (out, counts)
    }

    #[test]
    fn secrets_split_across_reads_are_found_at_every_cut() {
        // Each secret lands across a window boundary at some offset: every split point is tried.
        let secrets = "x --token=SPLITSECRET1 y\n-----BEGIN RSA PRIVATE KEY-----\nSPLITSECRET2\n-----END RSA PRIVATE KEY-----\nAuthorization: Bearer SPLITSECRET3\n";
        for pad in [0usize, 1, 7, 63, 64, 65, 100, 4095, 4096, 4097] {
            let mut input = vec![b'.'; WINDOW - 20 - pad];
            input.extend_from_slice(secrets.as_bytes());
            input.extend(std::iter::repeat_n(b'.', 5000));
            let head = input.len() - secrets.len() - 5000;
            let mut expect = input[..head].to_vec();
            expect.extend_from_slice(
                b"x --token=[REDACTED:token-option] y\n-----BEGIN RSA PRIVATE KEY-----[REDACTED:private-key]-----END RSA \
                  PRIVATE KEY-----\nAuthorization: Bearer [REDACTED:authorization-header]\n",
            );
            expect.extend(std::iter::repeat_n(b'.', 5000));
            for n in [1, 3, 4096, 65_536, 100_000] {
                let (out, c) = in_pieces(&input, n);
                let text = String::from_utf8(out).expect("utf8");
                assert!(!text.contains("SPLITSECRET"), "pad {pad} piece {n}: a secret leaked");
                assert_eq!(c.values().sum::<u64>(), 3, "pad {pad} piece {n}: {c:?}");
                assert_eq!(text.as_bytes(), &expect[..], "pad {pad} piece {n}");
            }
        }
    }

    #[test]
    fn a_secret_longer_than_a_window_is_swallowed_whole() {
        let mut input = b"a --token=".to_vec();
        input.extend(std::iter::repeat_n(b'S', 3 * WINDOW + 5));
        input.extend_from_slice(b" tail\n-----BEGIN PRIVATE KEY-----\n");
        input.extend(std::iter::repeat_n(b'K', 2 * WINDOW));
        input.extend_from_slice(b"\n-----END PRIVATE KEY-----\nend\n");
        for n in [1000, WINDOW, 10 * WINDOW] {
            let (out, c) = in_pieces(&input, n);
            let text = String::from_utf8(out).expect("utf8");
            assert_eq!(
                text,
                "a --token=[REDACTED:token-option] tail\n-----BEGIN PRIVATE KEY-----[REDACTED:private-key]-----END PRIVATE KEY-----\nend\n"
            );
            assert_eq!(c.values().sum::<u64>(), 2);
        }
    }

    #[test]
    fn memory_stays_bounded_on_a_long_stream() {
        let r = Redactor::new().expect("compile");
        let mut s = r.stream();
        let mut out = Vec::new();
        let line = b"ordinary log line with nothing secret in it at all\n".repeat(2000);
        let mut peak = 0;
        for _ in 0..50 {
            s.push(&line, &mut out);
            peak = peak.max(s.buf.capacity());
            out.clear();
        }
        s.finish(&mut out);
        assert!(peak <= 4 * WINDOW, "buffer grew to {peak}");
    }
}
