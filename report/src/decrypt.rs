//! age-encrypted bundles (`coroner-collect --encrypt-to`): the `--identity` keys, and a reader that decrypts a
//! bundle file as it streams, so no plaintext copy is ever written to disk.
//!
//! An encrypted bundle is a standard age file (binary, or ASCII-armored as `age -a` writes it) whose plaintext
//! is the signed `tar.gz`: the bundle reader puts this reader under the gzip decoder and everything above it
//! (caps, hashes, the signature check) is the same as for a plain bundle. age authenticates every 64 KiB chunk
//! before releasing it and marks the last one, so a changed chunk or a cut file is an error, never bytes.

use std::fmt;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use age::armor::ArmoredReader;
use age::stream::StreamReader;

/// The first bytes of a binary age file.
pub const AGE_MAGIC: &[u8] = b"age-encryption.org/";
/// The first line of an ASCII-armored age file.
pub const AGE_ARMOR: &[u8] = b"-----BEGIN AGE ENCRYPTED FILE-----";

/// Whether a file beginning with `head` is an age file (binary or armored). A plain bundle begins with gzip's
/// `1f 8b`, so the two cannot be confused.
pub fn is_age(head: &[u8]) -> bool {
    head.starts_with(AGE_MAGIC) || head.starts_with(AGE_ARMOR)
}

/// Largest identity file read: keys are a few KiB, so anything near this is not one.
const MAX_IDENTITY_FILE: u64 = 1 << 20;

/// The private keys of `--identity` files: age X25519 identities and unencrypted OpenSSH Ed25519/RSA keys.
#[derive(Default)]
pub struct Identities {
    keys: Vec<Box<dyn age::Identity + Send + Sync>>,
}

impl fmt::Debug for Identities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Identities({} keys)", self.keys.len())
    }
}

/// Why an `--identity` file gave no key. Messages never repeat the file's contents (it holds secrets).
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("cannot read identity file {path}: {error}")]
    Read { path: PathBuf, error: io::Error },
    #[error("identity file {path}: {detail}")]
    Unusable { path: PathBuf, detail: String },
}

/// Why an age file could not be opened for reading.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("this bundle is age-encrypted; pass --identity FILE (the age identity or SSH private key it was encrypted to)")]
    NoIdentity,
    #[error("none of the {0} --identity key(s) can decrypt this bundle: it was encrypted to other recipients")]
    NoMatchingIdentity(usize),
    /// The age header is malformed or fails its MAC: a damaged or changed file.
    #[error("{0}: the encrypted file is damaged or was changed")]
    Corrupt(String),
}

impl Identities {
    /// No keys: an encrypted bundle is then refused with [`OpenError::NoIdentity`].
    pub const fn none() -> Identities {
        Identities { keys: Vec::new() }
    }

    /// A shared empty set, for reading a bundle by its path alone.
    pub fn none_ref() -> &'static Identities {
        static NONE: Identities = Identities::none();
        &NONE
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Reads every file, each an age identity file (`AGE-SECRET-KEY-1…` lines, `#` comments) or an OpenSSH
    /// private key, as `age -i` takes them.
    pub fn load(paths: &[PathBuf]) -> Result<Identities, IdentityError> {
        let mut keys = Vec::new();
        for path in paths {
            keys.append(&mut read_identity_file(path)?);
        }
        Ok(Identities { keys })
    }
}

fn read_identity_file(path: &Path) -> Result<Vec<Box<dyn age::Identity + Send + Sync>>, IdentityError> {
    let unusable = |detail: &str| IdentityError::Unusable { path: path.to_owned(), detail: detail.to_owned() };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_IDENTITY_FILE + 1).read_to_end(&mut bytes))
        .map_err(|error| IdentityError::Read { path: path.to_owned(), error })?;
    if bytes.len() as u64 > MAX_IDENTITY_FILE {
        return Err(unusable("larger than 1 MiB: not a key file"));
    }
    let text = String::from_utf8_lossy(&bytes);
    let first = text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#')).unwrap_or("");
    if is_age(first.as_bytes()) {
        return Err(unusable(
            "is a passphrase-encrypted age identity; decrypt it first (age -d -o KEYFILE FILE) and pass that",
        ));
    }
    if first.starts_with("-----BEGIN ") {
        return match age::ssh::Identity::from_buffer(&bytes[..], Some(path.display().to_string())) {
            Ok(id @ age::ssh::Identity::Unencrypted(_)) => Ok(vec![Box::new(id)]),
            Ok(age::ssh::Identity::Encrypted(_)) => Err(unusable(
                "is a passphrase-protected SSH key, and coroner-report does not prompt: decrypt the bundle with \
                 `age -d -i FILE`, or pass a copy without a passphrase (ssh-keygen -p -N '' -f COPY)",
            )),
            Ok(age::ssh::Identity::Unsupported(k)) => Err(unusable(&match k {
                age::ssh::UnsupportedKey::Hardware(t) | age::ssh::UnsupportedKey::Type(t) => {
                    format!("SSH key type {t} cannot decrypt age files (ssh-ed25519 and ssh-rsa can)")
                }
                age::ssh::UnsupportedKey::EncryptedPem => {
                    "is a passphrase-protected PEM key; convert a copy with ssh-keygen -p -N '' -f COPY".to_owned()
                }
                age::ssh::UnsupportedKey::EncryptedSsh(c) => format!("is encrypted with an unsupported cipher ({c})"),
            })),
            Err(_) => Err(unusable("is not an OpenSSH private key age can use (ssh-ed25519 or ssh-rsa)")),
        };
    }
    if first.starts_with("age1") || first.starts_with("ssh-") {
        return Err(unusable("holds a public key (a recipient); --identity needs the private key"));
    }
    let ids = age::IdentityFile::from_buffer(&bytes[..])
        .map_err(|e| unusable(&format!("not an age identity file ({e})")))?
        .into_identities()
        .map_err(|e| unusable(&format!("{e}")))?;
    if ids.is_empty() {
        return Err(unusable("holds no key (no AGE-SECRET-KEY-1… line)"));
    }
    Ok(ids)
}

/// The plaintext of an age file, chunk by chunk as it is read.
pub struct Decrypting<R: Read> {
    inner: StreamReader<ArmoredReader<BufReader<R>>>,
}

/// Opens the age file `input` (binary or armored) with the first of `ids` that unwraps its file key.
pub fn decrypt<R: Read>(input: R, ids: &Identities) -> Result<Decrypting<R>, OpenError> {
    if ids.is_empty() {
        return Err(OpenError::NoIdentity);
    }
    let corrupt = |e: age::DecryptError| OpenError::Corrupt(describe(&e));
    let decryptor = age::Decryptor::new_buffered(ArmoredReader::new(input)).map_err(corrupt)?;
    let keys = ids.keys.iter().map(|k| k.as_ref() as &dyn age::Identity);
    match decryptor.decrypt(keys) {
        Ok(inner) => Ok(Decrypting { inner }),
        Err(age::DecryptError::NoMatchingKeys) => Err(OpenError::NoMatchingIdentity(ids.keys.len())),
        Err(e) => Err(corrupt(e)),
    }
}

/// Our words for age's errors (its own come through a localiser).
fn describe(e: &age::DecryptError) -> String {
    match e {
        age::DecryptError::InvalidHeader => "invalid header".to_owned(),
        age::DecryptError::InvalidMac => "header MAC mismatch".to_owned(),
        age::DecryptError::UnknownFormat => "unknown age format version".to_owned(),
        age::DecryptError::DecryptionFailed | age::DecryptError::KeyDecryptionFailed => {
            "a recipient stanza does not decrypt".to_owned()
        }
        age::DecryptError::Io(io) => format!("reading the header: {io}"),
        other => format!("{other:?}"),
    }
}

impl<R: Read> Read for Decrypting<R> {
    /// Errors name age, so a bundle refused for a changed or cut ciphertext says so.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| match e.kind() {
            io::ErrorKind::Interrupted => e,
            io::ErrorKind::UnexpectedEof => {
                io::Error::new(e.kind(), "age ciphertext is truncated (its last chunk is missing)")
            }
            _ => io::Error::new(
                e.kind(),
                format!("age ciphertext does not decrypt ({e}): a chunk was changed, or the file is damaged or cut short"),
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_files_are_told_from_gzip() {
        assert!(is_age(b"age-encryption.org/v1\n-> X25519 abc\n"));
        assert!(is_age(b"-----BEGIN AGE ENCRYPTED FILE-----\nYWdl"));
        assert!(!is_age(&[0x1f, 0x8b, 8, 0]));
        assert!(!is_age(b""));
    }

    #[test]
    fn no_identity_says_pass_identity() {
        let err = decrypt(&b"age-encryption.org/v1\n"[..], &Identities::none()).err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("this bundle is age-encrypted; pass --identity FILE (the age identity or SSH private key it was encrypted to)")
        );
    }
}
