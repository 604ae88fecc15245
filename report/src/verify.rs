//! Verification, a check over what the bundle reader read ([`check`]): SSHSIG over the manifest's raw bytes,
//! then every entry's sha256 and size, and that no entry is missing or unlisted.
//!
//! Order matters: the signature is checked over the exact bytes of `manifest.json` *before* those bytes are
//! parsed, so a forged manifest never reaches the JSON parser's types as if it were trusted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use coroner_schemas::manifest::Manifest;
use coroner_schemas::{layout, Utc, SCHEMA_VERSION};
use serde::Serialize;
use ssh_key::{HashAlg, PublicKey, SshSig};

use crate::bundle::{self, BundleError, MemberKind, Scan};

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
    /// Entries the manifest lists, and how many of them it lists without bytes (looked for and not taken: not
    /// found, not applicable, permission denied). The rest are the tar's members besides the three unlisted
    /// ones (manifest, signature, signer key), and are what `entries_checked` counts when all is well.
    pub entries_listed: u64,
    pub entries_absent: u64,
    /// Human-readable failures, in the order found (empty when `ok`).
    pub failures: Vec<String>,
    /// Set when rendering with `--no-verify`: nothing was checked.
    pub skipped: bool,
}

/// Which keys the signature must verify against.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum TrustAnchor {
    /// Only the bundle's own `signer.pub`: proves the bundle is intact, not who made it.
    #[default]
    Embedded,
    /// A file of OpenSSH public key lines (`ssh-ed25519 AAAA… comment`).
    Pubkey(PathBuf),
    /// An `ssh-keygen` allowed_signers file; lines for `coroner-collect` (or `*`) and namespace `coroner`.
    /// A line's `valid-after`/`valid-before` window is checked against the current time, as
    /// `ssh-keygen -Y verify` checks it.
    AllowedSigners(PathBuf),
    /// The same, with the window checked at the given time (as `ssh-keygen -Y verify -Overify-time=…`).
    AllowedSignersAt(PathBuf, Utc),
    /// Keys already read (by [`load_anchor_for`]): `coroner-report fleet` reads its pinned key once for every
    /// bundle.
    Keys(Vec<PinnedKey>),
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("cannot read key file {path}: {error}")]
    KeyFile { path: PathBuf, error: std::io::Error },
    #[error("key file {path} holds no usable key: {detail}")]
    NoKey { path: PathBuf, detail: String },
    #[error(transparent)]
    Bundle(#[from] BundleError),
}

/// A pinned key, with where it came from (for messages).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PinnedKey {
    pub key: PublicKey,
    pub origin: String,
}

/// Reads the analyst's keys for the manifest's namespace. `Ok(None)` for [`TrustAnchor::Embedded`].
pub fn load_anchor(anchor: &TrustAnchor) -> Result<Option<Vec<PinnedKey>>, VerifyError> {
    load_anchor_for(anchor, layout::SIG_NAMESPACE)
}

/// Reads the analyst's keys: those an allowed_signers file allows in `namespace` (a public key file's keys
/// serve any namespace). `Ok(None)` for [`TrustAnchor::Embedded`].
pub fn load_anchor_for(anchor: &TrustAnchor, namespace: &str) -> Result<Option<Vec<PinnedKey>>, VerifyError> {
    let (path, allowed_at) = match anchor {
        TrustAnchor::Embedded => return Ok(None),
        TrustAnchor::Keys(keys) => return Ok(Some(keys.clone())),
        TrustAnchor::Pubkey(p) => (p, None),
        TrustAnchor::AllowedSigners(p) => (p, Some(Utc(time::OffsetDateTime::now_utc()))),
        TrustAnchor::AllowedSignersAt(p, at) => (p, Some(*at)),
    };
    let bytes = std::fs::read(path).map_err(|source| VerifyError::KeyFile {
        path: path.clone(),
        error: source,
    })?;
    let text = String::from_utf8_lossy(&bytes);
    let (keys, skipped) = match allowed_at {
        Some(at) => parse_allowed_signers_for(&text, at, namespace),
        None => parse_pubkeys(&text),
    };
    if keys.is_empty() {
        let detail = if skipped.is_empty() {
            "no key lines".to_owned()
        } else {
            skipped.join("; ")
        };
        return Err(VerifyError::NoKey {
            path: path.clone(),
            detail,
        });
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(Some(
        keys.into_iter()
            .map(|(key, line)| PinnedKey {
                key,
                origin: format!("{name} line {line}"),
            })
            .collect(),
    ))
}

/// OpenSSH public key lines; blank and `#` lines ignored. Returns the keys with their line numbers, and
/// why other lines were skipped.
pub fn parse_pubkeys(text: &str) -> (Vec<(PublicKey, usize)>, Vec<String>) {
    let mut keys = Vec::new();
    let mut skipped = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match PublicKey::from_openssh(line) {
            Ok(k) => keys.push((k, i + 1)),
            Err(e) => skipped.push(format!("line {}: not a public key ({e})", i + 1)),
        }
    }
    (keys, skipped)
}

/// Splits on whitespace outside double quotes.
fn tokens(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut quoted = false;
    for (i, c) in line.char_indices() {
        if c == '"' {
            quoted = !quoted;
            start.get_or_insert(i);
        } else if c.is_whitespace() && !quoted {
            if let Some(s) = start.take() {
                out.push(&line[s..i]);
            }
        } else {
            start.get_or_insert(i);
        }
    }
    if let Some(s) = start {
        out.push(&line[s..]);
    }
    out
}

/// Splits on commas outside double quotes.
fn split_commas(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut quoted = false;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// `ssh-keygen` pattern matching: `*` any run, `?` one character.
fn glob(pattern: &str, s: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = s.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// A comma-separated pattern list as `ssh-keygen` reads principals and namespaces (a leading `!` negates).
fn pattern_list_matches(list: &str, s: &str) -> bool {
    let mut hit = false;
    for pat in split_commas(list.trim_matches('"')) {
        let pat = pat.trim();
        if let Some(neg) = pat.strip_prefix('!') {
            if glob(neg, s) {
                return false;
            }
        } else if glob(pat, s) {
            hit = true;
        }
    }
    hit
}

/// An allowed_signers time, as `ssh-keygen` writes them: `YYYYMMDD[Z]` or `YYYYMMDDHHMM[SS][Z]`. `ssh-keygen`
/// reads a time without `Z` in the verifying machine's zone; here it is read as UTC (a verification should
/// not depend on the laptop's zone), and the caller says so.
pub fn parse_ssh_time(s: &str) -> Option<(Utc, bool)> {
    let (digits, zulu) = match s.strip_suffix(['Z', 'z']) {
        Some(d) => (d, true),
        None => (s, false),
    };
    if !matches!(digits.len(), 8 | 12 | 14) || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| digits.get(r).and_then(|d| d.parse::<u8>().ok()).unwrap_or(0);
    let year: i32 = digits[..4].parse().ok()?;
    let month = time::Month::try_from(num(4..6)).ok()?;
    let date = time::Date::from_calendar_date(year, month, num(6..8)).ok()?;
    let t = time::Time::from_hms(num(8..10), num(10..12), num(12..14)).ok()?;
    Some((Utc(time::PrimitiveDateTime::new(date, t).assume_utc()), zulu))
}

/// The lines of an allowed_signers file (`principals [options] keytype base64 [comment]`) that allow
/// [`layout::SIG_IDENTITY`] to sign in namespace [`layout::SIG_NAMESPACE`] at time `at`. `cert-authority`
/// lines are skipped (certificates are not supported), and so are lines whose `valid-after`/`valid-before`
/// window does not hold `at` or cannot be read.
pub fn parse_allowed_signers(text: &str, at: Utc) -> (Vec<(PublicKey, usize)>, Vec<String>) {
    parse_allowed_signers_for(text, at, layout::SIG_NAMESPACE)
}

/// [`parse_allowed_signers`] for signatures in `namespace` (the fleet controller's attestations use
/// `coroner-fleet`).
pub fn parse_allowed_signers_for(text: &str, at: Utc, namespace: &str) -> (Vec<(PublicKey, usize)>, Vec<String>) {
    let mut keys = Vec::new();
    let mut skipped = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let toks = tokens(line);
        if toks.len() < 3 {
            skipped.push(format!("line {n}: too few fields"));
            continue;
        }
        if !pattern_list_matches(toks[0], layout::SIG_IDENTITY) {
            skipped.push(format!("line {n}: principals do not include {}", layout::SIG_IDENTITY));
            continue;
        }
        // The key starts at token 1, or at token 2 when token 1 holds options.
        let (options, key) = match PublicKey::from_openssh(&toks[1..].join(" ")) {
            Ok(k) => (None, Some(k)),
            Err(_) => (Some(toks[1]), PublicKey::from_openssh(&toks[2..].join(" ")).ok()),
        };
        let Some(key) = key else {
            skipped.push(format!("line {n}: no public key"));
            continue;
        };
        let mut allowed = true;
        for opt in options.map(split_commas).unwrap_or_default() {
            let (name, value) = opt.split_once('=').unwrap_or((opt, ""));
            match name.to_ascii_lowercase().as_str() {
                "namespaces" if !pattern_list_matches(value, namespace) => {
                    skipped.push(format!("line {n}: namespaces do not include {namespace}"));
                    allowed = false;
                }
                "cert-authority" => {
                    skipped.push(format!("line {n}: cert-authority keys are not supported"));
                    allowed = false;
                }
                "valid-after" | "valid-before" => {
                    let after = name.eq_ignore_ascii_case("valid-after");
                    let value = value.trim_matches('"');
                    let zone = |zulu: bool| if zulu { "" } else { " (no Z: read as UTC)" };
                    match parse_ssh_time(value) {
                        None => {
                            skipped.push(format!("line {n}: {name}={value:?} is not a time ssh-keygen writes"));
                            allowed = false;
                        }
                        Some((t, zulu)) if after && at < t => {
                            skipped.push(format!(
                                "line {n}: not valid until {}{} (checked at {})",
                                t.rfc3339(),
                                zone(zulu),
                                at.rfc3339()
                            ));
                            allowed = false;
                        }
                        Some((t, zulu)) if !after && at > t => {
                            skipped.push(format!(
                                "line {n}: not valid after {}{} (checked at {})",
                                t.rfc3339(),
                                zone(zulu),
                                at.rfc3339()
                            ));
                            allowed = false;
                        }
                        Some(_) => {}
                    }
                }
                _ => {}
            }
        }
        if allowed {
            keys.push((key, n));
        }
    }
    (keys, skipped)
}

/// An armored SSHSIG (`ssh-keygen -Y sign` output) over `msg` in `namespace`: the pinned key that made it, or
/// why none did.
pub fn verify_detached<'k>(keys: &'k [PinnedKey], namespace: &str, msg: &[u8], armored: &[u8]) -> Result<&'k PinnedKey, String> {
    let sig = SshSig::from_pem(armored).map_err(|e| format!("not an SSH signature: {e}"))?;
    if let Some(k) = keys.iter().find(|k| k.key.verify(namespace, msg, &sig).is_ok()) {
        return Ok(k);
    }
    let fp = sig.public_key().fingerprint(HashAlg::Sha256);
    Err(if keys.iter().any(|k| k.key.key_data() == sig.public_key()) {
        format!("made by the pinned key {fp} but bad for these bytes in namespace {namespace} (file changed, or another namespace)")
    } else {
        format!("made by {fp}, which is not pinned")
    })
}

/// Every check over what pass 1 read: nothing is read here. `pinned` is `None` to use only the embedded
/// `signer.pub`. Returns the manifest when its bytes were there and parsed (even if other checks failed).
pub fn check(scan: &Scan, pinned: Option<&[PinnedKey]>) -> (VerifyReport, Option<Manifest>) {
    let mut r = VerifyReport {
        key_pinned: pinned.is_some(),
        ..Default::default()
    };
    r.failures.extend(scan.failures.iter().cloned());

    // 1. The signature, over the raw bytes, before anything is parsed.
    let embedded = scan
        .signer_pub
        .as_deref()
        .map(|b| PublicKey::from_openssh(String::from_utf8_lossy(b).trim()));
    match (&scan.manifest, &scan.signature) {
        (None, _) => r.failures.push(format!("{} is missing", layout::MANIFEST)),
        (Some(_), None) => r.failures.push(format!("{} is missing", layout::SIGNATURE)),
        (Some(msg), Some(sig_bytes)) => match SshSig::from_pem(sig_bytes) {
            Err(e) => r
                .failures
                .push(format!("{} is not an SSH signature: {e}", layout::SIGNATURE)),
            Ok(sig) => {
                let sig_fp = sig.public_key().fingerprint(HashAlg::Sha256).to_string();
                match pinned {
                    Some(keys) => {
                        let good = keys
                            .iter()
                            .find(|k| k.key.verify(layout::SIG_NAMESPACE, msg, &sig).is_ok());
                        match good {
                            Some(k) => {
                                r.signature_good = true;
                                r.signer_fingerprint = Some(k.key.fingerprint(HashAlg::Sha256).to_string());
                            }
                            None => {
                                r.signer_fingerprint = Some(sig_fp.clone());
                                let why = if keys.iter().any(|k| k.key.key_data() == sig.public_key()) {
                                    "the pinned key matches the signer but the signature is bad (manifest changed, \
                                     or wrong namespace)"
                                } else {
                                    "it was made by a key that is not pinned"
                                };
                                r.failures.push(format!(
                                    "signature over {} does not verify against any pinned key: {why} (signer \
                                     {sig_fp})",
                                    layout::MANIFEST
                                ));
                            }
                        }
                        if let Some(Ok(emb)) = &embedded {
                            if emb.key_data() != sig.public_key() {
                                r.failures.push(format!(
                                    "{} ({}) is not the key that signed ({sig_fp})",
                                    layout::SIGNER_PUB,
                                    emb.fingerprint(HashAlg::Sha256)
                                ));
                            }
                        }
                    }
                    None => match &embedded {
                        None => r.failures.push(format!(
                            "{} is missing and no key was given (--pubkey/--allowed-signers)",
                            layout::SIGNER_PUB
                        )),
                        Some(Err(e)) => r
                            .failures
                            .push(format!("{} is not a public key: {e}", layout::SIGNER_PUB)),
                        Some(Ok(emb)) => {
                            r.signer_fingerprint = Some(emb.fingerprint(HashAlg::Sha256).to_string());
                            match emb.verify(layout::SIG_NAMESPACE, msg, &sig) {
                                Ok(()) => r.signature_good = true,
                                Err(e) => r.failures.push(format!(
                                    "signature over {} does not verify against {} ({e})",
                                    layout::MANIFEST,
                                    layout::SIGNER_PUB
                                )),
                            }
                        }
                    },
                }
            }
        },
    }

    // 2. Only now parse the manifest (strict types: unknown fields are errors).
    let manifest = match scan.manifest.as_deref().map(serde_json::from_slice::<Manifest>) {
        None => None,
        Some(Err(e)) => {
            r.failures.push(format!("{} does not parse: {e}", layout::MANIFEST));
            None
        }
        Some(Ok(m)) => Some(m),
    };
    if let Some(m) = &manifest {
        check_entries(m, scan, &mut r);
        if r.signature_good {
            if let Some(fp) = &r.signer_fingerprint {
                if &m.collector.signer_fingerprint != fp {
                    r.failures.push(format!(
                        "manifest names signer {} but {fp} signed it",
                        m.collector.signer_fingerprint
                    ));
                }
            }
        }
    }
    r.ok = r.signature_good && manifest.is_some() && r.failures.is_empty();
    (r, manifest)
}

fn check_entries(m: &Manifest, scan: &Scan, r: &mut VerifyReport) {
    if m.schema_version != SCHEMA_VERSION {
        r.failures.push(format!(
            "manifest schema_version {} is not the supported {SCHEMA_VERSION}",
            m.schema_version
        ));
    }
    let mut listed: BTreeSet<&str> = BTreeSet::new();
    for e in &m.entries {
        if !listed.insert(e.path.as_str()) {
            r.failures.push(format!("entry {:?} is listed more than once", e.path));
        }
        if let Some(why) = bundle::name_problem(e.path.as_bytes()) {
            r.failures.push(format!("entry {:?}: unsafe path ({why})", e.path));
        }
        if layout::UNLISTED.contains(&e.path.as_str()) {
            r.failures.push(format!("entry {:?} uses a reserved name", e.path));
        }
    }
    // Regular, safely named members by name (the first of duplicates; duplicates are already failures).
    let mut members: BTreeMap<&str, &bundle::Member> = BTreeMap::new();
    for mem in &scan.members {
        if mem.kind == MemberKind::Regular && mem.bad_name.is_none() {
            members.entry(mem.name.as_str()).or_insert(mem);
        }
    }
    r.entries_listed = m.entries.len() as u64;
    r.entries_absent = m.entries.iter().filter(|e| e.sha256.is_none()).count() as u64;
    for e in &m.entries {
        let member = members.get(e.path.as_str());
        match (&e.sha256, member) {
            (Some(want), Some(mem)) => {
                let mut good = true;
                if mem.size != e.size {
                    r.failures.push(format!(
                        "entry {:?}: size {} in the bundle, {} in the manifest",
                        e.path, mem.size, e.size
                    ));
                    good = false;
                }
                if mem.sha256.as_deref().map(str::to_ascii_lowercase) != Some(want.to_ascii_lowercase()) {
                    r.failures
                        .push(format!("entry {:?}: sha256 does not match the manifest", e.path));
                    good = false;
                }
                if good {
                    r.entries_checked += 1;
                }
            }
            (Some(_), None) => r.failures.push(format!(
                "entry {:?} is listed with data but missing from the bundle",
                e.path
            )),
            (None, Some(_)) => r.failures.push(format!(
                "entry {:?} is listed without data but the bundle holds a member of that name",
                e.path
            )),
            (None, None) => {}
        }
    }
    for name in members.keys() {
        if !listed.contains(name) && !layout::UNLISTED.contains(name) {
            r.failures
                .push(format!("member {name:?} is not listed in the manifest"));
        }
    }
}

/// Human-readable verification result (the `verify` command's output).
pub fn render_text(r: &VerifyReport) -> String {
    let mut s = String::new();
    if r.skipped {
        s.push_str("UNVERIFIED: verification was skipped (--no-verify)\n");
        return s;
    }
    s.push_str(if r.ok {
        "OK: bundle verified\n"
    } else {
        "FAILED: bundle does not verify\n"
    });
    let sig = if r.signature_good { "good" } else { "NOT good" };
    match &r.signer_fingerprint {
        Some(fp) => s.push_str(&format!("signature: {sig}, key {fp}\n")),
        None => s.push_str(&format!("signature: {sig}\n")),
    }
    // Say only what held: a pinned key proves origin only if it signed, and nothing proves integrity when an
    // entry failed.
    const PIN: &str = "pin the key with --pubkey or --allowed-signers";
    s.push_str(&match (r.key_pinned, r.signature_good, r.ok) {
        (true, true, true) => "key: pinned by the analyst (--pubkey/--allowed-signers): origin and integrity hold\n".to_owned(),
        (true, true, false) => "key: pinned by the analyst and the manifest's signature is good for it (origin), but integrity does NOT hold (see the failures)\n".to_owned(),
        (true, false, _) => "key: pinned by the analyst, but it did NOT sign this manifest: neither origin nor integrity is shown\n".to_owned(),
        (false, true, true) => format!("key: only the bundle's own signer.pub: proves integrity, NOT origin ({PIN})\n"),
        (false, true, false) => format!("key: only the bundle's own signer.pub, and integrity does NOT hold (see the failures); origin is not shown either ({PIN})\n"),
        (false, false, _) => format!("key: only the bundle's own signer.pub, and the signature is NOT good: neither integrity nor origin is shown ({PIN})\n"),
    });
    s.push_str(&format!(
        "entries: {} listed: {} with bytes ({} matched their sha256), {} recorded absent (no bytes)\n",
        r.entries_listed,
        r.entries_listed - r.entries_absent,
        r.entries_checked,
        r.entries_absent
    ));
    for f in &r.failures {
        s.push_str(&format!("failure: {f}\n"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_and_pattern_lists() {
        assert!(glob("*", "coroner-collect"));
        assert!(glob("coroner-*", "coroner-collect"));
        assert!(glob("c?roner-collect", "coroner-collect"));
        assert!(!glob("alice", "coroner-collect"));
        assert!(pattern_list_matches("alice,coroner-collect", "coroner-collect"));
        assert!(!pattern_list_matches("*,!coroner-collect", "coroner-collect"));
        assert!(pattern_list_matches("\"git,coroner\"", "coroner"));
    }

    #[test]
    fn ssh_times_as_ssh_keygen_writes_them() {
        let t = |s: &str| parse_ssh_time(s).map(|(u, z)| (u.rfc3339(), z));
        assert_eq!(t("20260102"), Some(("2026-01-02T00:00:00.000000Z".into(), false)));
        assert_eq!(t("20260102Z"), Some(("2026-01-02T00:00:00.000000Z".into(), true)));
        assert_eq!(t("202601021530"), Some(("2026-01-02T15:30:00.000000Z".into(), false)));
        assert_eq!(t("20260102153059z"), Some(("2026-01-02T15:30:59.000000Z".into(), true)));
        for bad in ["", "2026010", "2026-01-02", "20261302", "20260230", "202601022460", "2026010215", "+0260102", "20260102ZZ"] {
            assert_eq!(t(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn tokens_respect_quotes() {
        assert_eq!(
            tokens("a,b namespaces=\"x y,z\" ssh-ed25519 AAAA c"),
            vec!["a,b", "namespaces=\"x y,z\"", "ssh-ed25519", "AAAA", "c"]
        );
    }
}
