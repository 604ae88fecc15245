//! `--encrypt-to`: whom a bundle is encrypted to. Each argument is an age X25519 recipient (`age1…`), an OpenSSH
//! public key (`ssh-ed25519 …`, `ssh-rsa …`), or a file of them, one a line with `#` comments, as `age -r` and
//! `age -R` take them.

use std::io::{self, Read};
use std::path::Path;

/// One recipient the bundle's file key is wrapped to.
pub type Recipient = Box<dyn age::Recipient + Send>;

/// Largest recipients file read: a line is under 1 KiB (a 16384-bit RSA key), so this holds hundreds.
const MAX_RECIPIENTS_FILE: u64 = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum RecipientError {
    #[error("--encrypt-to {arg:?}: {detail}")]
    Bad { arg: String, detail: String },
    #[error("--encrypt-to {arg:?}: cannot read it as a recipients file: {error}")]
    Read { arg: String, error: io::Error },
}

/// Parses every `--encrypt-to` argument (an empty list: no encryption).
pub fn parse(args: &[String]) -> Result<Vec<Recipient>, RecipientError> {
    let mut out = Vec::new();
    for arg in args {
        let bad = |detail: String| RecipientError::Bad { arg: arg.clone(), detail };
        let text = arg.trim();
        if looks_like_key(text) {
            out.push(parse_one(text).map_err(bad)?);
            continue;
        }
        let path = Path::new(arg);
        if !path.exists() {
            return Err(bad(
                "not an age recipient (age1…), an SSH public key (ssh-ed25519 …, ssh-rsa …) or a file of them".to_owned(),
            ));
        }
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_RECIPIENTS_FILE + 1).read_to_end(&mut bytes))
            .map_err(|error| RecipientError::Read { arg: arg.clone(), error })?;
        if bytes.len() as u64 > MAX_RECIPIENTS_FILE {
            return Err(bad("larger than 1 MiB: not a recipients file".to_owned()));
        }
        let text = std::str::from_utf8(&bytes).map_err(|_| bad("recipients file is not UTF-8".to_owned()))?;
        let before = out.len();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            out.push(parse_one(line).map_err(|e| bad(format!("line {}: {e}", n + 1)))?);
        }
        if out.len() == before {
            return Err(bad("recipients file holds no recipient".to_owned()));
        }
    }
    Ok(out)
}

fn looks_like_key(s: &str) -> bool {
    s.starts_with("age1") || s.starts_with("ssh-")
}

/// One recipient; the error says why it is not one (never echoing more than its type).
fn parse_one(s: &str) -> Result<Recipient, String> {
    if s.starts_with("age1") {
        return match s.parse::<age::x25519::Recipient>() {
            Ok(r) => Ok(Box::new(r)),
            // Bech32 puts its separator at the last '1': past "age" it is a plugin's recipient.
            Err(_) if s.rfind('1') != Some(3) => Err(
                "not an X25519 age recipient (plugin recipients such as age1yubikey1… are not supported)".to_owned(),
            ),
            Err(e) => Err(format!("not a valid age recipient ({e})")),
        };
    }
    if s.starts_with("ssh-") {
        use age::ssh::ParseRecipientKeyError as E;
        return match s.parse::<age::ssh::Recipient>() {
            Ok(r) => Ok(Box::new(r)),
            Err(E::RsaModulusTooSmall) => Err("ssh-rsa key shorter than 2048 bits: refused as weak".to_owned()),
            Err(E::RsaModulusTooLarge) => Err("ssh-rsa key longer than age supports".to_owned()),
            Err(E::Unsupported(t)) => Err(format!("SSH key type {t} cannot be an age recipient (ssh-ed25519 and ssh-rsa can)")),
            Err(_) => Err("not a valid SSH public key line (ssh-ed25519 AAAA… or ssh-rsa AAAA…)".to_owned()),
        };
    }
    Err("not an age recipient (age1…) or an SSH public key (ssh-ed25519 …, ssh-rsa …)".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Made here with `age-keygen` (age 1.1.1); the secret half was discarded.
    const AGE: &str = "age1jt4k9fr8mqul80tqrs5khy90yyj2frfc3anskz6tkxmjq20c2s3sxf6nfz";

    #[test]
    fn arguments_and_files_parse() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("recipients.txt");
        std::fs::write(&f, format!("# analysts\n\n{AGE}\n")).expect("write");
        let all = parse(&[AGE.to_owned(), f.display().to_string()]).expect("parses");
        assert_eq!(all.len(), 2);
        assert!(parse(&[]).expect("empty").is_empty());
    }

    #[test]
    fn bad_recipients_say_why() {
        let err = |s: &str| parse(&[s.to_owned()]).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err("age1qnotakey").contains("not a valid age recipient"), "{}", err("age1qnotakey"));
        assert!(err("age1yubikey1qxyz").contains("plugin recipients"), "{}", err("age1yubikey1qxyz"));
        assert!(err("ssh-ed25519 AAAAnot").contains("not a valid SSH public key"), "{}", err("ssh-ed25519 AAAAnot"));
        assert!(err("/nonexistent/recipients").contains("or a file of them"));
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("empty");
        std::fs::write(&f, "# nobody\n").expect("write");
        assert!(err(&f.display().to_string()).contains("holds no recipient"));
        std::fs::write(&f, format!("{AGE}\nbogus line\n")).expect("write");
        assert!(err(&f.display().to_string()).contains("line 2"), "{}", err(&f.display().to_string()));
    }
}
