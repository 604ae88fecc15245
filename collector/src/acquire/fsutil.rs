//! Safe, read-only file access helpers (O_NOFOLLOW, O_NOATIME, O_NONBLOCK; lstat; directory walks).
