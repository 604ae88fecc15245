//! Verification: SSHSIG over the manifest's raw bytes, then every entry's sha256 and size, and that no
//! entry is missing or unlisted.

use serde::Serialize;

/// The outcome of verifying one bundle. `ok` only when every check holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub ok: bool,
    /// Whether the SSHSIG signature over `manifest.json` is good for the key it was checked against.
    pub signature_good: bool,
    /// `SHA256:…` fingerprint of the key that signed.
    pub signer_fingerprint: Option<String>,
    /// True when the key was given by the analyst (`--allowed-signers`/`--pubkey`); false when only the
    /// key embedded in the bundle was used (proves integrity, not origin).
    pub key_pinned: bool,
    /// Entries whose bytes were hashed and matched.
    pub entries_checked: u64,
    /// Human-readable failures, in the order found (empty when `ok`).
    pub failures: Vec<String>,
    /// Set when rendering with `--no-verify`: nothing was checked.
    pub skipped: bool,
}
