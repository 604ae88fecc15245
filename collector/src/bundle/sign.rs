//! Signing the manifest: SSHSIG (armored, sha512, namespace `coroner`) with an OpenSSH Ed25519 key, so
//! stock `ssh-keygen -Y verify` checks it.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use coroner_schemas::layout::{SIG_IDENTITY, SIG_NAMESPACE};
use ssh_key::rand_core::OsRng;
use ssh_key::{Algorithm, HashAlg, LineEnding, PrivateKey};

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("reading key {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} is not an OpenSSH private key: {source}")]
    Parse { path: PathBuf, source: ssh_key::Error },
    #[error("{path} is a {algorithm} key; coroner signs with Ed25519 keys only")]
    Algorithm { path: PathBuf, algorithm: String },
    #[error(
        "{path} is passphrase-protected: give --key-passphrase-file, CORONER_KEY_PASSPHRASE, or run on a terminal"
    )]
    NeedPassphrase { path: PathBuf },
    #[error("decrypting {path}: wrong passphrase? ({source})")]
    Decrypt { path: PathBuf, source: ssh_key::Error },
    #[error("making a key: {0}")]
    Generate(ssh_key::Error),
    #[error("signing: {0}")]
    Sign(ssh_key::Error),
    #[error("writing {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

/// The key that signs a bundle.
pub struct Signer {
    key: PrivateKey,
    /// Made for this bundle only (no `--key`).
    pub ephemeral: bool,
}

impl Signer {
    /// A fresh Ed25519 key for one bundle.
    pub fn ephemeral() -> Result<Signer, SignError> {
        let mut key = PrivateKey::random(&mut OsRng, Algorithm::Ed25519).map_err(SignError::Generate)?;
        key.set_comment("coroner-collect ephemeral");
        Ok(Signer { key, ephemeral: true })
    }

    /// Loads an OpenSSH Ed25519 private key. `passphrase` is asked for only when the key is encrypted.
    pub fn load(path: &Path, passphrase: impl FnOnce() -> Option<String>) -> Result<Signer, SignError> {
        let text = fs::read(path).map_err(|source| SignError::Read {
            path: path.to_owned(),
            source,
        })?;
        let key = PrivateKey::from_openssh(&text).map_err(|source| SignError::Parse {
            path: path.to_owned(),
            source,
        })?;
        if key.algorithm() != Algorithm::Ed25519 {
            return Err(SignError::Algorithm {
                path: path.to_owned(),
                algorithm: key.algorithm().to_string(),
            });
        }
        let key = if key.is_encrypted() {
            let pass = passphrase().ok_or_else(|| SignError::NeedPassphrase { path: path.to_owned() })?;
            key.decrypt(pass.as_bytes()).map_err(|source| SignError::Decrypt {
                path: path.to_owned(),
                source,
            })?
        } else {
            key
        };
        Ok(Signer { key, ephemeral: false })
    }

    /// `SHA256:…`, as `ssh-keygen -l` prints it.
    pub fn fingerprint(&self) -> String {
        self.key.fingerprint(HashAlg::Sha256).to_string()
    }

    /// The public key as one OpenSSH line (with a newline).
    pub fn public_line(&self) -> Result<String, SignError> {
        let mut s = self.key.public_key().to_openssh().map_err(SignError::Sign)?;
        s.push('\n');
        Ok(s)
    }

    /// An `allowed_signers` line for `ssh-keygen -Y verify -I coroner-collect -n coroner`.
    pub fn allowed_signers_line(&self) -> Result<String, SignError> {
        let mut pubkey = self.key.public_key().clone();
        pubkey.set_comment("");
        let key = pubkey.to_openssh().map_err(SignError::Sign)?;
        Ok(format!(
            "{SIG_IDENTITY} namespaces=\"{SIG_NAMESPACE}\" {}\n",
            key.trim_end()
        ))
    }

    /// Armored SSHSIG over `msg`'s exact bytes.
    pub fn sign(&self, msg: &[u8]) -> Result<String, SignError> {
        let sig = self
            .key
            .sign(SIG_NAMESPACE, HashAlg::Sha512, msg)
            .map_err(SignError::Sign)?;
        sig.to_pem(LineEnding::LF).map_err(SignError::Sign)
    }
}

/// `coroner-collect keygen`: writes an Ed25519 private key to `path` (mode 0600, passphrase-protected when one
/// is given) and the public key to `path.pub`. Refuses to overwrite.
pub fn keygen(path: &Path, passphrase: Option<&str>) -> Result<String, SignError> {
    let mut key = PrivateKey::random(&mut OsRng, Algorithm::Ed25519).map_err(SignError::Generate)?;
    key.set_comment("coroner-collect");
    let public = key.public_key().to_openssh().map_err(SignError::Sign)?;
    let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
    let stored = match passphrase {
        Some(p) if !p.is_empty() => key.encrypt(&mut OsRng, p.as_bytes()).map_err(SignError::Generate)?,
        _ => key,
    };
    let pem = stored.to_openssh(LineEnding::LF).map_err(SignError::Sign)?;
    let write = |p: &Path, bytes: &[u8], mode: u32| -> Result<(), SignError> {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(p)
            .map_err(|source| SignError::Write {
                path: p.to_owned(),
                source,
            })?;
        f.write_all(bytes)
            .and_then(|()| f.sync_all())
            .map_err(|source| SignError::Write {
                path: p.to_owned(),
                source,
            })
    };
    let mut pub_path = path.as_os_str().to_owned();
    pub_path.push(".pub");
    write(path, pem.as_bytes(), 0o600)?;
    write(Path::new(&pub_path), format!("{public}\n").as_bytes(), 0o644)?;
    Ok(fingerprint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_verifies_with_the_public_key_only_for_the_same_bytes() {
        let s = Signer::ephemeral().expect("key");
        let pem = s.sign(b"{\"a\":1}").expect("sign");
        assert!(pem.starts_with("-----BEGIN SSH SIGNATURE-----"));
        let sig = ssh_key::SshSig::from_pem(&pem).expect("parse");
        let public = s.key.public_key();
        assert!(public.verify(SIG_NAMESPACE, b"{\"a\":1}", &sig).is_ok());
        assert!(public.verify(SIG_NAMESPACE, b"{\"a\":2}", &sig).is_err());
        assert!(s.fingerprint().starts_with("SHA256:"));
        assert!(s
            .allowed_signers_line()
            .expect("line")
            .starts_with("coroner-collect namespaces=\"coroner\" ssh-ed25519 "));
    }

    #[test]
    fn keygen_round_trips_with_and_without_passphrase() {
        let t = tempfile::tempdir().expect("tempdir");
        let plain = t.path().join("plain");
        let fp = keygen(&plain, None).expect("keygen");
        assert_eq!(Signer::load(&plain, || None).expect("load").fingerprint(), fp);
        let locked = t.path().join("locked");
        let fp2 = keygen(&locked, Some("pw")).expect("keygen");
        assert!(matches!(
            Signer::load(&locked, || None),
            Err(SignError::NeedPassphrase { .. })
        ));
        assert!(matches!(
            Signer::load(&locked, || Some("bad".into())),
            Err(SignError::Decrypt { .. })
        ));
        assert_eq!(
            Signer::load(&locked, || Some("pw".into())).expect("load").fingerprint(),
            fp2
        );
        assert!(keygen(&plain, None).is_err(), "never overwrites a key");
    }
}
