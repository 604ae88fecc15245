//! Looking at and opening host files without changing them and without leaving the collection root.
//!
//! A host path is resolved inside the root with `openat2(RESOLVE_IN_ROOT)` for its directory part (so an
//! absolute symlink such as `/var/run -> /run` in a disk image under `--root` stays in the image), then the
//! last component is `lstat`ed and opened relative to that directory with `O_NOFOLLOW` (a symlink is
//! recorded, never followed), `O_NONBLOCK` (a FIFO swapped in after the `lstat` cannot hang the open),
//! `O_NOATIME` where allowed and `O_CLOEXEC`. Kernels without `openat2` fall back to an ordinary `openat`.
//!
//! Host paths travel as `String`s (the acquire plan's [`crate::acquire::FileItem::path`]). A path that is not
//! UTF-8 is written with [`encode_path`]: each byte that is not part of valid UTF-8 becomes `%XX`, and `%`
//! itself becomes `%25` in such a path; [`HostFs::resolve`] tries the literal path first and the decoded bytes
//! only when the literal one does not exist, so ordinary paths containing `%` keep working.

use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fs::{self as rfs, AtFlags, Mode, OFlags, ResolveFlags, Stat};
use rustix::io::Errno;

/// A path as bytes, encoded into a `String` for the plan: UTF-8 paths unchanged; otherwise invalid bytes and
/// `%` are percent-escaped.
pub fn encode_path(p: &OsStr) -> String {
    let b = p.as_bytes();
    if let Ok(s) = std::str::from_utf8(b) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(b.len() + 16);
    let mut rest = b;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                push_escaping_percent(&mut out, s);
                break;
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                push_escaping_percent(&mut out, std::str::from_utf8(good).unwrap_or_default());
                let n = e.error_len().unwrap_or(bad.len()).max(1).min(bad.len());
                for byte in &bad[..n] {
                    out.push_str(&format!("%{byte:02X}"));
                }
                rest = &bad[n..];
            }
        }
    }
    out
}

fn push_escaping_percent(out: &mut String, s: &str) {
    for c in s.chars() {
        if c == '%' {
            out.push_str("%25");
        } else {
            out.push(c);
        }
    }
}

/// Inverse of [`encode_path`] for an escaped path: `%XX` → the byte; anything else as is.
pub fn decode_path(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(v) = hex {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// Lexically normalised components of a host path: `.` and empty parts dropped, `..` pops (never above
/// the root). Returns the components as byte strings.
pub fn components(host: &[u8]) -> Vec<&[u8]> {
    let mut parts: Vec<&[u8]> = Vec::new();
    for c in host.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    parts
}

/// The collection root, held open.
pub struct HostFs {
    root: OwnedFd,
}

/// A host file's directory, held open, and its last component.
pub struct Located {
    dir: OwnedFd,
    name: CString,
}

fn cstring(b: &[u8]) -> io::Result<CString> {
    CString::new(b).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

impl HostFs {
    pub fn open(root: &Path) -> io::Result<HostFs> {
        let root = rfs::open(root, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
        Ok(HostFs { root })
    }

    /// Finds the directory of a host path inside the root. `Ok(None)` for the root itself (nothing to take).
    pub fn locate(&self, host: &[u8]) -> io::Result<Option<Located>> {
        let parts = components(host);
        let Some((name, dirs)) = parts.split_last() else {
            return Ok(None);
        };
        let dir_path = if dirs.is_empty() {
            b".".to_vec()
        } else {
            dirs.join(&b'/')
        };
        let dir = self.open_dir(&dir_path)?;
        Ok(Some(Located {
            dir,
            name: cstring(name)?,
        }))
    }

    fn open_dir(&self, rel: &[u8]) -> io::Result<OwnedFd> {
        let c = cstring(rel)?;
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let resolve = ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS;
        match rfs::openat2(&self.root, c.as_c_str(), flags, Mode::empty(), resolve) {
            Err(Errno::NOSYS) => Ok(rfs::openat(&self.root, c.as_c_str(), flags, Mode::empty())?),
            r => Ok(r?),
        }
    }
}

impl Located {
    /// `lstat` of the last component (a symlink is described, not followed).
    pub fn lstat(&self) -> io::Result<Stat> {
        Ok(rfs::statat(&self.dir, self.name.as_c_str(), AtFlags::SYMLINK_NOFOLLOW)?)
    }

    /// Target of a symlink, as bytes.
    pub fn readlink(&self) -> io::Result<Vec<u8>> {
        Ok(rfs::readlinkat(&self.dir, self.name.as_c_str(), Vec::new())?.into_bytes())
    }

    /// Opens the file read-only without following a symlink, without blocking, and without updating its
    /// access time where the kernel allows it (`O_NOATIME` needs ownership or CAP_FOWNER: retried without).
    pub fn open(&self) -> io::Result<File> {
        let base = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY;
        let try_open = |flags| rfs::openat(&self.dir, self.name.as_c_str(), flags, Mode::empty());
        let fd = match try_open(base | OFlags::NOATIME) {
            Err(Errno::PERM) => try_open(base)?,
            r => r?,
        };
        Ok(File::from(fd))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;

    #[test]
    fn utf8_paths_are_unchanged_and_other_bytes_escaped_reversibly() {
        assert_eq!(encode_path(OsStr::new("/var/log/50%.log")), "/var/log/50%.log");
        let raw = b"/home/a/\xff\xfe%x.txt".to_vec();
        let enc = encode_path(&OsString::from_vec(raw.clone()));
        assert_eq!(enc, "/home/a/%FF%FE%25x.txt");
        assert_eq!(decode_path(&enc), raw);
        assert_eq!(decode_path("/a%2"), b"/a%2");
        assert_eq!(decode_path("/a%zz"), b"/a%zz");
    }

    #[test]
    fn components_never_climb_above_the_root() {
        assert_eq!(components(b"/var/./log//../log/x"), vec![&b"var"[..], b"log", b"x"]);
        assert_eq!(components(b"/../../etc/passwd"), vec![&b"etc"[..], b"passwd"]);
        assert!(components(b"/").is_empty());
    }

    #[test]
    fn absolute_symlinks_resolve_inside_the_root() {
        let t = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(t.path().join("run")).expect("mkdir");
        std::fs::create_dir_all(t.path().join("var")).expect("mkdir");
        std::fs::write(t.path().join("run/utmp"), b"inside").expect("write");
        std::os::unix::fs::symlink("/run", t.path().join("var/run")).expect("symlink");
        let fs = HostFs::open(t.path()).expect("root");
        let loc = fs.locate(b"/var/run/utmp").expect("locate").expect("not root");
        let mut s = String::new();
        io::Read::read_to_string(&mut loc.open().expect("open"), &mut s).expect("read");
        assert_eq!(s, "inside");
    }

    #[test]
    fn a_symlink_is_described_not_opened() {
        let t = tempfile::tempdir().expect("tempdir");
        std::fs::write(t.path().join("real"), b"x").expect("write");
        std::os::unix::fs::symlink("real", t.path().join("link")).expect("symlink");
        let fs = HostFs::open(t.path()).expect("root");
        let loc = fs.locate(b"/link").expect("locate").expect("not root");
        assert_eq!(loc.lstat().expect("lstat").st_mode & libc::S_IFMT, libc::S_IFLNK);
        assert_eq!(loc.readlink().expect("readlink"), b"real");
        assert_eq!(loc.open().err().and_then(|e| e.raw_os_error()), Some(libc::ELOOP));
    }
}
