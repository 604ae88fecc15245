//! Bundle fixture builder for tests: writes real Coroner bundles (tar.gz, manifest.json last, SSHSIG
//! signature, signer.pub) and hostile variants of them (tampered bytes, unlisted or missing members, unsafe
//! names, links and devices, duplicate members, gzip bombs), all deterministic and streamed.
//!
//! Reuse it from any test crate with `mod common;` (put this folder beside your test).

#![allow(dead_code)]

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use coroner_schemas::manifest::{
    Category, CollectOptions, CollectorInfo, CorePolicy, Entry, Format, HostFacts, Manifest, Status,
};
use coroner_schemas::{layout, Utc, SCHEMA_VERSION};
use flate2::write::GzEncoder;
use flate2::Compression;
use sha2::{Digest, Sha256};
use ssh_key::private::Ed25519Keypair;
use ssh_key::{HashAlg, LineEnding, PrivateKey};

/// The repository root (`fixtures/` lives there).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The fake incident host root shared by the collector and report tests.
pub fn host_root() -> PathBuf {
    repo_root().join("fixtures/hosts/debian-incident")
}

/// A deterministic Ed25519 key (the same seed always gives the same key and the same signatures).
pub fn key(seed: u8) -> PrivateKey {
    let mut k = PrivateKey::from(Ed25519Keypair::from_seed(&[seed; 32]));
    k.set_comment(format!("coroner-test-{seed}"));
    k
}

/// `ssh-ed25519 AAAA… comment`.
pub fn pub_line(k: &PrivateKey) -> String {
    k.public_key().to_openssh().expect("encode public key")
}

/// `SHA256:…` as `ssh-keygen -l` prints it.
pub fn fingerprint(k: &PrivateKey) -> String {
    k.public_key().fingerprint(HashAlg::Sha256).to_string()
}

/// Armored SSHSIG over `msg` in the `coroner` namespace.
pub fn sign(k: &PrivateKey, msg: &[u8]) -> Vec<u8> {
    k.sign(layout::SIG_NAMESPACE, HashAlg::Sha512, msg)
        .expect("sign")
        .to_pem(LineEnding::LF)
        .expect("armor")
        .into_bytes()
}

pub fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

fn t(secs: i64) -> Utc {
    Utc::from_unix(secs, 0).expect("time")
}

/// A plausible manifest with no entries (times fixed, so bundles are deterministic).
pub fn base_manifest(hostname: &str) -> Manifest {
    Manifest {
        schema_version: SCHEMA_VERSION,
        bundle_name: format!("coroner-{hostname}-20261127T202200Z.tar.gz"),
        host: HostFacts {
            hostname: hostname.to_owned(),
            machine_id: Some("0123456789abcdef0123456789abcdef".to_owned()),
            boot_id: Some("6f1c2a0e-7d1b-4c38-9a55-2f0d6c1e9b11".to_owned()),
            kernel_release: Some("6.18.44-fc-v782".to_owned()),
            kernel_version: Some("#1 SMP PREEMPT_DYNAMIC".to_owned()),
            arch: Some("x86_64".to_owned()),
            boot_time: Some(t(1_795_809_880)),
            uptime_seconds: Some(1040.5),
            timezone: Some("Etc/UTC".to_owned()),
            utc_offset_seconds: Some(0),
            os_pretty_name: Some("Debian GNU/Linux 12 (bookworm)".to_owned()),
            systemd: Some(false),
        },
        collector: CollectorInfo {
            name: "coroner-collect".to_owned(),
            version: "0.1.0".to_owned(),
            started: t(1_795_810_920),
            finished: t(1_795_810_921),
            argv: vec!["coroner-collect".to_owned(), "-o".to_owned(), "/tmp".to_owned()],
            options: CollectOptions {
                root: None,
                cores: CorePolicy::Head,
                core_cap_bytes: 64 << 20,
                max_file_bytes: 256 << 20,
                max_total_bytes: 2 << 30,
                journal_window_seconds: 7 * 86400,
                command_timeout_ms: 10_000,
                includes: Vec::new(),
                excludes: Vec::new(),
                gentle: false,
                redact: false,
            },
            uid: 0,
            euid: 0,
            live: true,
            // Filled from the signing key when left empty.
            signer_fingerprint: String::new(),
            ephemeral_key: true,
        },
        clock: None,
        entries: Vec::new(),
        problems: Vec::new(),
    }
}

/// The bytes of a tar member.
#[derive(Clone, Debug)]
pub enum Body {
    Bytes(Vec<u8>),
    /// That many zero bytes, streamed (never held in memory).
    Zeros(u64),
}

/// A tar member as written, with a name used byte for byte (so unsafe names can be written).
#[derive(Clone, Debug)]
pub struct RawMember {
    pub name: Vec<u8>,
    pub kind: tar::EntryType,
    pub body: Body,
    pub link: Option<Vec<u8>>,
}

impl RawMember {
    pub fn file(name: impl AsRef<[u8]>, bytes: impl Into<Vec<u8>>) -> RawMember {
        RawMember {
            name: name.as_ref().to_vec(),
            kind: tar::EntryType::Regular,
            body: Body::Bytes(bytes.into()),
            link: None,
        }
    }
}

/// Builds one bundle. Entries are listed in the manifest (sorted by path, as the collector writes them);
/// the members are written in insertion order, then `manifest.json`, `manifest.json.sig`, `signer.pub`.
pub struct BundleBuilder {
    pub manifest: Manifest,
    pub members: Vec<RawMember>,
    pub key: PrivateKey,
    /// `signer.pub` contents; `None` leaves the member out. Defaults to the signing key's line.
    pub signer_pub: Option<String>,
    /// Replaces the signature member's bytes; `Some(None)` leaves it out.
    pub signature: Option<Option<Vec<u8>>>,
    /// Applied to the manifest bytes *after* signing (to tamper with a signed manifest).
    pub tamper_manifest: Option<fn(&mut Vec<u8>)>,
    /// Replaces the manifest bytes before signing (for a manifest made outside serde).
    pub manifest_override: Option<Vec<u8>>,
    /// Members written after the signer key.
    pub trailing: Vec<RawMember>,
}

impl Default for BundleBuilder {
    fn default() -> Self {
        Self::new("fixture-host")
    }
}

impl BundleBuilder {
    pub fn new(hostname: &str) -> BundleBuilder {
        let key = key(7);
        BundleBuilder {
            manifest: base_manifest(hostname),
            members: Vec::new(),
            signer_pub: Some(pub_line(&key)),
            key,
            signature: None,
            tamper_manifest: None,
            manifest_override: None,
            trailing: Vec::new(),
        }
    }

    pub fn with_key(mut self, k: PrivateKey) -> BundleBuilder {
        self.signer_pub = Some(pub_line(&k));
        self.key = k;
        self
    }

    /// A listed entry with its bytes.
    pub fn file(&mut self, path: &str, source: &str, category: Category, format: Format, bytes: &[u8]) -> &mut Self {
        self.manifest.entries.push(Entry {
            size: bytes.len() as u64,
            sha256: Some(sha256_hex(bytes)),
            ..Entry::new(path, source, category, format)
        });
        self.members.push(RawMember::file(path, bytes));
        self
    }

    /// A listed entry copied from the fixture host root: `host_file("/etc/passwd", …)` → `fs/etc/passwd`.
    pub fn host_file(&mut self, original: &str, category: Category, format: Format) -> &mut Self {
        let bytes = std::fs::read(host_root().join(original.trim_start_matches('/'))).expect("fixture host file");
        self.file(&layout::fs_path(original), original, category, format, &bytes)
    }

    /// A listed entry with no bytes (not found, permission denied…).
    pub fn absent(&mut self, path: &str, category: Category, format: Format, status: Status) -> &mut Self {
        self.manifest.entries.push(Entry { status, ..Entry::new(path, path.trim_start_matches("fs"), category, format) });
        self
    }

    /// A member with no manifest entry.
    pub fn unlisted(&mut self, name: impl AsRef<[u8]>, bytes: &[u8]) -> &mut Self {
        self.members.push(RawMember::file(name, bytes));
        self
    }

    /// A member of another tar type (symlink, hard link, device, FIFO) with no entry.
    pub fn special(&mut self, name: &str, kind: tar::EntryType, link: Option<&str>) -> &mut Self {
        self.members.push(RawMember {
            name: name.as_bytes().to_vec(),
            kind,
            body: Body::Bytes(Vec::new()),
            link: link.map(|l| l.as_bytes().to_vec()),
        });
        self
    }

    /// Replaces the bytes of the member named `name` (its entry keeps the old size and sha256).
    pub fn replace_member(&mut self, name: &str, bytes: &[u8]) -> &mut Self {
        let m = self
            .members
            .iter_mut()
            .find(|m| m.name == name.as_bytes())
            .expect("member to replace");
        m.body = Body::Bytes(bytes.to_vec());
        self
    }

    /// Drops the member named `name` (its entry stays listed).
    pub fn drop_member(&mut self, name: &str) -> &mut Self {
        self.members.retain(|m| m.name != name.as_bytes());
        self
    }

    /// The manifest bytes as signed.
    pub fn manifest_bytes(&self) -> Vec<u8> {
        if let Some(b) = &self.manifest_override {
            return b.clone();
        }
        let mut m = self.manifest.clone();
        m.entries.sort_by(|a, b| a.path.cmp(&b.path));
        if m.collector.signer_fingerprint.is_empty() {
            m.collector.signer_fingerprint = fingerprint(&self.key);
        }
        let mut b = serde_json::to_vec_pretty(&m).expect("manifest json");
        b.push(b'\n');
        b
    }

    /// Writes the bundle to `path`.
    pub fn write(&self, path: &Path) {
        let signed = self.manifest_bytes();
        let sig = match &self.signature {
            Some(over) => over.clone(),
            None => Some(sign(&self.key, &signed)),
        };
        let mut manifest = signed;
        if let Some(f) = self.tamper_manifest {
            f(&mut manifest);
        }
        let mut all: Vec<RawMember> = self.members.clone();
        all.push(RawMember::file(layout::MANIFEST, manifest));
        if let Some(s) = sig {
            all.push(RawMember::file(layout::SIGNATURE, s));
        }
        if let Some(p) = &self.signer_pub {
            all.push(RawMember::file(layout::SIGNER_PUB, format!("{p}\n")));
        }
        all.extend(self.trailing.iter().cloned());
        write_tar_gz(path, &all).expect("write bundle");
    }
}

/// A header for `m`, with the name copied byte for byte (no validation: hostile names are the point).
fn header(m: &RawMember, size: u64) -> io::Result<tar::Header> {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(m.kind);
    h.set_size(size);
    h.set_mode(if m.kind.is_dir() { 0o755 } else { 0o644 });
    h.set_mtime(1_795_810_921);
    h.set_uid(0);
    h.set_gid(0);
    {
        let old = h.as_old_mut();
        if m.name.len() > old.name.len() {
            return Err(io::Error::other("test member names are limited to 100 bytes"));
        }
        old.name.fill(0);
        old.name[..m.name.len()].copy_from_slice(&m.name);
        if let Some(l) = &m.link {
            old.linkname.fill(0);
            let n = l.len().min(old.linkname.len());
            old.linkname[..n].copy_from_slice(&l[..n]);
        }
    }
    h.set_cksum();
    Ok(h)
}

/// Writes members into a deterministic tar.gz (gzip mtime 0, fixed tar metadata).
pub fn write_tar_gz(path: &Path, members: &[RawMember]) -> io::Result<()> {
    let file = BufWriter::new(File::create(path)?);
    let gz = GzEncoder::new(file, Compression::fast());
    let mut tar = tar::Builder::new(gz);
    for m in members {
        match &m.body {
            Body::Bytes(b) => tar.append(&header(m, b.len() as u64)?, b.as_slice())?,
            Body::Zeros(n) => tar.append(&header(m, *n)?, io::repeat(0).take(*n))?,
        }
    }
    let gz = tar.into_inner()?;
    gz.finish()?.flush()
}

/// A gzip bomb bundle: one tar member named `name` declaring `declared` bytes of zeros, written as
/// concatenated gzip members (MultiGzDecoder reads them as one stream) so a 10 GiB member costs ~10 MB on
/// disk and about a second to write. No manifest follows: the reader must stop long before.
pub fn write_gzip_bomb(path: &Path, name: &str, declared_mib: u64) -> io::Result<()> {
    let mut out = BufWriter::new(File::create(path)?);
    let gz = |bytes: &[u8]| -> io::Result<Vec<u8>> {
        let mut e = GzEncoder::new(Vec::new(), Compression::best());
        e.write_all(bytes)?;
        e.finish()
    };
    let m = RawMember::file(name, Vec::new());
    let h = header(&m, declared_mib << 20)?;
    out.write_all(&gz(h.as_bytes())?)?;
    let one_mib = gz(&vec![0u8; 1 << 20])?;
    for _ in 0..declared_mib {
        out.write_all(&one_mib)?;
    }
    // End of archive: two zero blocks.
    out.write_all(&gz(&[0u8; 1024])?)?;
    out.flush()
}

/// The small fixture bundle committed as `fixtures/bundles/small.tar.gz` (see its PROVENANCE): real-format
/// files of the fixture host, one absent entry, signed with `key(7)`.
pub fn small_bundle() -> BundleBuilder {
    let mut b = BundleBuilder::new("vm");
    b.host_file("/etc/passwd", Category::Accounts, Format::Passwd)
        .host_file("/etc/group", Category::Accounts, Format::Group)
        .host_file("/var/log/kern.log", Category::Kernel, Format::Syslog)
        .host_file("/var/log/audit/audit.log", Category::Audit, Format::AuditLog)
        .host_file("/var/log/wtmp", Category::Logins, Format::Utmp)
        .host_file("/root/.bash_history", Category::History, Format::BashHistory)
        .absent(
            "fs/var/log/journal",
            Category::Journal,
            Format::JournalJson,
            Status::NotApplicable {
                reason: "no systemd".to_owned(),
            },
        );
    b
}

/// A minimal RFC 4180 reader, written separately from the writer under test: records of fields, quoted
/// fields may hold commas, quotes (doubled) and line breaks; records end in CRLF or LF.
pub fn parse_csv(s: &str) -> Result<Vec<Vec<String>>, String> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut chars = s.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                    match chars.peek() {
                        None | Some(',') | Some('\r') | Some('\n') => {}
                        Some(other) => return Err(format!("character {other:?} after a closing quote")),
                    }
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' if at_start => {
                quoted = true;
                at_start = false;
            }
            '"' => return Err("quote inside an unquoted field".to_owned()),
            ',' => {
                row.push(std::mem::take(&mut field));
                at_start = true;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
                at_start = true;
            }
            '\r' => return Err("bare CR outside quotes".to_owned()),
            _ => {
                field.push(c);
                at_start = false;
            }
        }
    }
    if quoted {
        return Err("unterminated quoted field".to_owned());
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    Ok(rows)
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ` exactly (the regex `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`).
pub fn is_timesketch_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    let shape = b"dddd-dd-ddTdd:dd:dd.ddddddZ";
    b.len() == shape.len()
        && b.iter()
            .zip(shape.iter())
            .all(|(&c, &p)| if p == b'd' { c.is_ascii_digit() } else { c == p })
}
