//! Streaming tar + gzip + sha256 writer, caps, atomic rename, manifest and signature.
