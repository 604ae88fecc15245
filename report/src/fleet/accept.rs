//! The fleet's acceptance rule (docs: the fleet contract). A bundle is accepted when EITHER its manifest is
//! signed by the pinned fleet key (host mode), OR the controller's `BUNDLE.sha256.sig` (namespace
//! `coroner-fleet`) is by the pinned key, the `.sha256` names this bundle's file and its hash, AND the bundle
//! verifies against its own embedded key (controller mode). Anything else is refused, with why.

use std::io::Read as _;
use std::path::Path;

use coroner_schemas::fleet::ATTEST_NAMESPACE;
use coroner_schemas::layout;
use serde::Serialize;
use sha2::{Digest, Sha256};
use ssh_key::HashAlg;

use crate::pipeline::{self, LoadOptions, Loaded, VerificationFailed};
use crate::verify::{self, PinnedKey, TrustAnchor, VerifyError};

/// The pinned fleet key(s), per namespace (an allowed_signers file may allow a key in one only).
#[derive(Clone, Debug)]
pub struct FleetKeys {
    /// May sign manifests (`coroner`).
    pub manifest: Vec<PinnedKey>,
    /// May sign the controller's attestations (`coroner-fleet`).
    pub attest: Vec<PinnedKey>,
}

impl FleetKeys {
    /// Reads the pinned key(s). `TrustAnchor::Embedded` is refused: a fleet needs a key of its own.
    pub fn load(anchor: &TrustAnchor) -> Result<FleetKeys, KeyError> {
        if *anchor == TrustAnchor::Embedded {
            return Err(KeyError::NotPinned);
        }
        let one = |ns: &str| match verify::load_anchor_for(anchor, ns) {
            Ok(k) => Ok(k.unwrap_or_default()),
            Err(VerifyError::NoKey { .. }) => Ok(Vec::new()),
            Err(e) => Err(KeyError::Read(e)),
        };
        let keys = FleetKeys { manifest: one(layout::SIG_NAMESPACE)?, attest: one(ATTEST_NAMESPACE)? };
        if keys.manifest.is_empty() && keys.attest.is_empty() {
            // Say why, from the reader's own message.
            return Err(match verify::load_anchor_for(anchor, ATTEST_NAMESPACE) {
                Err(e) => KeyError::Read(e),
                Ok(_) => KeyError::NotPinned,
            });
        }
        Ok(keys)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("a pinned fleet key is required: pass --pubkey FLEET.pub or --allowed-signers FILE (the key whose private half signs the manifests or the controller's .sha256.sig attestations)")]
    NotPinned,
    #[error(transparent)]
    Read(VerifyError),
}

/// How a bundle was accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum How {
    /// Its manifest is signed by the fleet key (the collector ran with `--key`).
    Manifest,
    /// The controller's attestation over its `.sha256` is by the fleet key, and the bundle verifies against its
    /// embedded (per-bundle) key.
    Attestation,
    /// Both hold.
    Both,
}

impl How {
    pub fn as_str(self) -> &'static str {
        match self {
            How::Manifest => "manifest signed by the fleet key",
            How::Attestation => "controller attestation (.sha256.sig) + embedded key",
            How::Both => "manifest signed by the fleet key + controller attestation",
        }
    }
}

/// Checks the controller's attestation of `bundle`: `BUNDLE.sha256.sig` by a pinned key in namespace
/// `coroner-fleet` over the exact bytes of `BUNDLE.sha256`, which names this file (`HEX  NAME`) with this
/// file's sha256. Returns the signing key's fingerprint.
pub fn attestation(bundle: &Path, name: &str, keys: &[PinnedKey]) -> Result<String, String> {
    let mut sum_path = bundle.as_os_str().to_owned();
    sum_path.push(".sha256");
    let mut sig_path = sum_path.clone();
    sig_path.push(".sig");
    let sig = match std::fs::read(&sig_path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err("no .sha256.sig beside it".into()),
        Err(e) => return Err(format!("cannot read its .sha256.sig: {e}")),
    };
    let sum = std::fs::read(&sum_path).map_err(|e| format!("cannot read its .sha256: {e}"))?;
    if keys.is_empty() {
        return Err(format!("no pinned key is allowed in namespace {ATTEST_NAMESPACE}"));
    }
    let key = verify::verify_detached(keys, ATTEST_NAMESPACE, &sum, &sig).map_err(|e| format!(".sha256.sig: {e}"))?;
    // `sha256sum` form: one line, the hex digest, two spaces (or space and `*`), the file name.
    let text = std::str::from_utf8(&sum).map_err(|_| ".sha256 is not UTF-8 text".to_owned())?;
    let line = text.strip_suffix('\n').unwrap_or(text);
    let (hex, listed) = line
        .split_once("  ")
        .or_else(|| line.split_once(" *"))
        .ok_or_else(|| ".sha256 is not one `HEX  NAME` line".to_owned())?;
    if line.contains('\n') {
        return Err(".sha256 holds more than one line".into());
    }
    if listed != name {
        return Err(format!(".sha256 names another file ({listed:?}), not {name:?}"));
    }
    let actual = file_sha256(bundle).map_err(|e| format!("cannot hash the bundle: {e}"))?;
    if !hex.eq_ignore_ascii_case(&actual) {
        return Err(format!("the bundle's sha256 is {actual}, the attested .sha256 says {hex}"));
    }
    Ok(key.key.fingerprint(HashAlg::Sha256).to_string())
}

fn file_sha256(p: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(p)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(hex::encode(h.finalize()));
        }
        h.update(&buf[..n]);
    }
}

/// A bundle accepted and loaded (verified, parsed), or refused with the reason.
pub fn accept_and_load(bundle: &Path, name: &str, keys: &FleetKeys, base: &LoadOptions) -> Result<(Loaded, How), String> {
    let load = |anchor: TrustAnchor| pipeline::load(bundle, &LoadOptions { verify: true, anchor, ..base.clone() });
    let failed = |e: anyhow::Error| match e.downcast_ref::<VerificationFailed>() {
        Some(v) if v.0.failures.is_empty() => "it does not verify".to_owned(),
        Some(v) => v.0.failures.join("; "),
        None => format!("{e:#}"),
    };
    // The attestation first: it costs one read of the compressed file, and a controller-mode bundle's
    // manifest is signed by a per-bundle key, which the pinned key would refuse after a whole verifying pass.
    match attestation(bundle, name, &keys.attest) {
        Ok(_) => {
            let loaded = load(TrustAnchor::Embedded).map_err(|e| match e.downcast_ref::<VerificationFailed>() {
                Some(_) => format!("attested by the fleet key, but the bundle does not verify against its embedded key: {}", failed(e)),
                None => format!("attested by the fleet key, but it cannot be read: {}", failed(e)),
            })?;
            let signer = loaded.verification.signer_fingerprint.as_deref();
            let fleet_signed = keys.manifest.iter().any(|k| Some(k.key.fingerprint(HashAlg::Sha256).to_string().as_str()) == signer);
            Ok((loaded, if fleet_signed { How::Both } else { How::Attestation }))
        }
        Err(why_not_attested) => {
            if keys.manifest.is_empty() {
                return Err(format!("controller attestation: {why_not_attested}; and no pinned key is allowed to sign manifests (namespace {})", layout::SIG_NAMESPACE));
            }
            match load(TrustAnchor::Keys(keys.manifest.clone())) {
                Ok(loaded) => Ok((loaded, How::Manifest)),
                Err(e) => Err(format!("manifest: {}; controller attestation: {why_not_attested}", failed(e))),
            }
        }
    }
}
