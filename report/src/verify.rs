//! Verification: SSHSIG over the manifest bytes, then every entry hash and size, nothing missing or unlisted.
