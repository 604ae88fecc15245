//! `coroner-collect --encrypt-to` and `coroner-report --identity` against the stock age CLI (Debian's `age`,
//! 1.1): bundles the collector encrypts decrypt with `age -d` and still verify (with the report and with
//! `ssh-keygen -Y verify`); bundles `age -r` encrypts are read by the report; no, a wrong, or an unusable
//! identity, a cut and a changed ciphertext each fail clearly with nothing rendered; and no plaintext reaches the
//! collector's output directory or either program's temp directory.
//!
//! The collector runs with `--root` over a small tree made here, so nothing needs root or touches the host.

mod common;
#[path = "common/live.rs"]
mod live;
#[path = "common/tools.rs"]
mod tools;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

const REPORT: &str = env!("CARGO_BIN_EXE_coroner-report");
/// In the tree's syslog; its bytes must never be found in the clear outside the decrypted bundle.
const MARKER: &str = "CORONER-PLAINTEXT-MARKER-5f1e";

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs a command with stdout and stderr in files (no pipe to fill), at most 120 s, with TMPDIR set.
fn run(cmd: &mut Command, tmp: &Path) -> Out {
    run_with(cmd, tmp, Stdio::null())
}

fn run_with(cmd: &mut Command, tmp: &Path, stdin: Stdio) -> Out {
    let logs = tempfile::tempdir().expect("tempdir");
    let (o, e) = (logs.path().join("out"), logs.path().join("err"));
    cmd.env("TMPDIR", tmp)
        .stdin(stdin)
        .stdout(fs::File::create(&o).expect("out"))
        .stderr(fs::File::create(&e).expect("err"));
    let mut child = cmd.spawn().unwrap_or_else(|err| panic!("spawn {cmd:?}: {err}"));
    let status = live::wait_bounded(&mut child, 120);
    Out {
        code: status.code().unwrap_or(-1),
        stdout: fs::read_to_string(o).unwrap_or_default(),
        stderr: fs::read_to_string(e).unwrap_or_default(),
    }
}

/// Whether `age` and `age-keygen` are here; otherwise says so (a failure under CI, which installs them).
fn have_age() -> bool {
    let ok = ["age", "age-keygen"].iter().all(|t| {
        Command::new(t).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
    });
    if !ok {
        tools::missing("the age CLI is not installed (apt-get install age)");
    }
    ok
}

/// Everything one test uses: the tree, the collector's output directory, a temp directory for each program.
struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    fn new() -> Case {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("root");
        for d in ["etc", "var/log", "out", "tmp-collect", "tmp-report", "keys"] {
            let p = if d.starts_with("etc") || d.starts_with("var") { root.join(d) } else { dir.path().join(d) };
            fs::create_dir_all(p).expect("mkdir");
        }
        fs::write(root.join("etc/passwd"), "root:x:0:0:root:/root:/bin/bash\n").expect("write");
        fs::write(root.join("etc/hostname"), "agehost\n").expect("write");
        let mut log = String::new();
        for i in 0..2000 {
            log.push_str(&format!("Nov 27 20:00:{:02} agehost app[{i}]: {MARKER} line {i}\n", i % 60));
        }
        fs::write(root.join("var/log/syslog"), log).expect("write");
        Case { dir }
    }

    /// A syslog of `lines` lines that do not compress well (xorshift noise), so the bundle is that big.
    fn noisy_syslog(&self, lines: u64) {
        let mut big = Vec::new();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for i in 0..lines {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            big.extend_from_slice(format!("Nov 27 20:00:00 agehost app[{i}]: {MARKER} {x:016x}\n").as_bytes());
        }
        fs::write(self.p("root/var/log/syslog"), big).expect("write");
    }

    fn p(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Collects the tree with these extra arguments; the file written (the last line on stdout).
    fn collect(&self, extra: &[&str]) -> PathBuf {
        let mut c = Command::new(live::collector());
        c.arg("--root").arg(self.p("root")).arg("-o").arg(self.p("out")).args(["-q", "--no-gentle"]).args(extra);
        let r = run(&mut c, &self.p("tmp-collect"));
        assert!(r.code == 0 || r.code == 1, "collect failed ({}): {}", r.code, r.stderr);
        PathBuf::from(r.stdout.lines().last().expect("bundle path on stdout"))
    }

    fn report(&self, args: &[&str]) -> Out {
        run(Command::new(REPORT).args(args), &self.p("tmp-report"))
    }

    /// `age-keygen -o keys/NAME`; the recipient it prints.
    fn age_key(&self, name: &str) -> (PathBuf, String) {
        let key = self.p("keys").join(name);
        let r = run(Command::new("age-keygen").arg("-o").arg(&key), &self.p("tmp-report"));
        assert_eq!(r.code, 0, "age-keygen: {}", r.stderr);
        let r = run(Command::new("age-keygen").arg("-y").arg(&key), &self.p("tmp-report"));
        (key, r.stdout.trim().to_owned())
    }

    /// `age -d -i KEY -o keys/plain.tar.gz FILE`: the decrypted bundle.
    fn age_decrypt(&self, key: &Path, file: &Path) -> PathBuf {
        let plain = self.p("keys/plain.tar.gz");
        let r = run(Command::new("age").arg("-d").arg("-i").arg(key).arg("-o").arg(&plain).arg(file), &self.p("tmp-report"));
        assert_eq!(r.code, 0, "age -d: {}", r.stderr);
        plain
    }
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// The collector's output directory after an encrypted run: the `.age` file and its two side files, nothing else;
/// `.sha256` names and matches the `.age` file (as `sha256sum -c` checks it).
fn assert_encrypted_output(case: &Case, file: &Path) {
    let name = file.file_name().and_then(|n| n.to_str()).expect("name");
    assert!(name.ends_with(".tar.gz.age"), "{name}");
    let mut listed: Vec<String> =
        fs::read_dir(case.p("out")).expect("ls").map(|e| e.expect("entry").file_name().to_string_lossy().into_owned()).collect();
    listed.sort();
    assert_eq!(listed, [name.to_owned(), format!("{name}.allowed_signers"), format!("{name}.sha256")]);
    let r = run(Command::new("sha256sum").arg("-c").arg(format!("{name}.sha256")).current_dir(case.p("out")), &case.p("tmp-report"));
    assert_eq!(r.code, 0, "sha256sum -c: {}{}", r.stdout, r.stderr);
    let head = fs::read(file).expect("read");
    assert!(head.starts_with(b"age-encryption.org/v1\n"), "not an age file");
}

/// The decrypted bundle verifies with coroner-report and its manifest with stock `ssh-keygen -Y verify`, using the
/// `.allowed_signers` written beside the encrypted file.
fn assert_plain_verifies(case: &Case, plain: &Path, file: &Path) {
    let r = case.report(&["verify", s(plain)]);
    assert_eq!(r.code, 0, "verify: {}{}", r.stdout, r.stderr);
    let x = case.p("x");
    fs::create_dir_all(&x).expect("mkdir");
    let t = run(Command::new("tar").arg("xzf").arg(plain).arg("-C").arg(&x).args(["manifest.json", "manifest.json.sig"]), &case.p("tmp-report"));
    assert_eq!(t.code, 0, "tar: {}", t.stderr);
    let allowed = format!("{}.allowed_signers", s(file));
    let v = run_with(
        Command::new("ssh-keygen")
            .args(["-Y", "verify", "-f", &allowed, "-I", "coroner-collect", "-n", "coroner", "-s"])
            .arg(x.join("manifest.json.sig")),
        &case.p("tmp-report"),
        fs::File::open(x.join("manifest.json")).expect("manifest").into(),
    );
    assert!(v.code == 0 && v.stdout.contains("Good \"coroner\" signature"), "ssh-keygen -Y verify: {}{}", v.stdout, v.stderr);
    let m: serde_json::Value = serde_json::from_slice(&fs::read(x.join("manifest.json")).expect("manifest")).expect("json");
    let plain_name = file.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".age")).expect("name");
    assert_eq!(m["bundle_name"], plain_name, "the manifest keeps the plain bundle's name");
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    live::listing(dir).into_iter().filter(|p| p.is_file()).collect()
}

/// A file holds plaintext of the bundle when it is gzip (the bundle itself, or a copy) or its bytes, inflated
/// or not, hold the tree's marker.
fn holds_plaintext(p: &Path) -> bool {
    let bytes = fs::read(p).unwrap_or_default();
    if bytes.starts_with(&[0x1f, 0x8b]) || memchr::memmem::find(&bytes, MARKER.as_bytes()).is_some() {
        return true;
    }
    let mut inflated = Vec::new();
    let _ = flate2::read::MultiGzDecoder::new(&bytes[..]).take(64 << 20).read_to_end(&mut inflated);
    memchr::memmem::find(&inflated, MARKER.as_bytes()).is_some()
}

#[test]
fn collected_to_an_age_recipient_decrypts_with_stock_age_and_verifies() {
    if !have_age() {
        return;
    }
    let case = Case::new();
    let (key, recipient) = case.age_key("analyst.txt");
    let file = case.collect(&["--encrypt-to", &recipient]);
    assert_encrypted_output(&case, &file);
    let plain = case.age_decrypt(&key, &file);
    assert_plain_verifies(&case, &plain, &file);

    // The report reads the .age file directly, with the same verification as for the decrypted copy.
    let direct = case.report(&["verify", "--json", "--identity", s(&key), s(&file)]);
    let copy = case.report(&["verify", "--json", s(&plain)]);
    assert_eq!(direct.code, 0, "{}", direct.stderr);
    assert_eq!(direct.stdout, copy.stdout);
}

#[test]
fn collected_to_an_ssh_key_decrypts_with_stock_age_and_the_ssh_private_key() {
    if !have_age() {
        return;
    }
    let case = Case::new();
    let id = case.p("keys/id_ed25519");
    let k = run(Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-C", "analyst", "-f"]).arg(&id), &case.p("tmp-report"));
    assert_eq!(k.code, 0, "ssh-keygen: {}", k.stderr);
    let public = fs::read_to_string(id.with_extension("pub")).expect("pub");
    // Once as the key's line, once as a file of recipients (age -R): two stanzas, both analysts can open it.
    let (second, _) = case.age_key("second.txt");
    let second_pub = case.p("keys/second.pub");
    let r = run(Command::new("age-keygen").arg("-y").arg(&second), &case.p("tmp-report"));
    fs::write(&second_pub, format!("# the second analyst\n{}", r.stdout)).expect("write");
    let file = case.collect(&["--encrypt-to", public.trim(), "--encrypt-to", s(&second_pub)]);
    assert_encrypted_output(&case, &file);
    let plain = case.age_decrypt(&id, &file);
    assert_plain_verifies(&case, &plain, &file);
    fs::remove_file(&plain).expect("rm");
    case.age_decrypt(&second, &file);
    let r = case.report(&["verify", "--identity", s(&id), s(&file)]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
}

#[test]
fn render_with_identity_reads_the_encrypted_bundle_as_its_decrypted_copy() {
    if !have_age() {
        return;
    }
    let case = Case::new();
    let (key, recipient) = case.age_key("analyst.txt");
    let file = case.collect(&["--encrypt-to", &recipient]);
    let plain = case.age_decrypt(&key, &file);
    let (a, b) = (case.p("render-age"), case.p("render-plain"));
    let r = case.report(&["render", "--identity", s(&key), s(&file), "-o", s(&a)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Two passes (--max-kept 0): the bundle is decrypted again for the second, with the same result.
    let two = case.p("render-two-passes");
    let r2 = case.report(&["render", "--max-kept", "0", "--identity", s(&key), s(&file), "-o", s(&two)]);
    assert_eq!(r2.code, 0, "{}", r2.stderr);
    let r = case.report(&["render", s(&plain), "-o", s(&b)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for name in ["report.html", "report.md", "findings.json", "timeline.jsonl", "timeline.csv"] {
        let plain_out = fs::read(b.join(name)).expect(name);
        assert!(plain_out == fs::read(a.join(name)).expect(name), "{name} differs from the plain bundle's");
        assert!(plain_out == fs::read(two.join(name)).expect(name), "{name} differs with two passes");
    }
    let timeline = fs::read_to_string(a.join("timeline.jsonl")).expect("timeline");
    assert!(timeline.contains(MARKER), "the syslog lines were parsed");
    let why = case.report(&["why", "--identity", s(&key), s(&file), "--comm", "app"]);
    assert!(why.code == 0 || why.code == 1, "why: {}", why.stderr);
    assert!(!why.stderr.contains("age-encrypted"), "{}", why.stderr);
}

#[test]
fn bundles_encrypted_by_stock_age_are_read_with_identity_binary_and_armored() {
    if !have_age() {
        return;
    }
    let case = Case::new();
    let (key, recipient) = case.age_key("analyst.txt");
    let plain = case.collect(&[]);
    for (name, armor) in [("stock.tar.gz.age", false), ("stock.tar.gz.age.asc", true)] {
        let enc = case.p(name);
        let mut c = Command::new("age");
        c.arg("-r").arg(&recipient);
        if armor {
            c.arg("-a");
        }
        let r = run(c.arg("-o").arg(&enc).arg(&plain), &case.p("tmp-report"));
        assert_eq!(r.code, 0, "age -r: {}", r.stderr);
        let r = case.report(&["verify", "--identity", s(&key), s(&enc)]);
        assert_eq!(r.code, 0, "{name}: {}{}", r.stdout, r.stderr);
        let out = case.p(&format!("render-{name}"));
        let r = case.report(&["render", "--identity", s(&key), s(&enc), "-o", s(&out)]);
        assert_eq!(r.code, 0, "{name}: {}", r.stderr);
    }
}

/// Runs verify and render on a bad input; both must fail with `code` and `says`, and render must write nothing.
fn refused(case: &Case, args: &[&str], code: i32, says: &str) {
    let r = case.report(&[&["verify"], args].concat());
    assert_eq!(r.code, code, "verify {args:?}: {}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains(says) || r.stderr.contains(says), "verify {args:?} should say {says:?}: {}{}", r.stdout, r.stderr);
    let out = case.p("render-refused");
    let r = case.report(&[&["render", "-o", s(&out)], args].concat());
    assert_eq!(r.code, code, "render {args:?}: {}", r.stderr);
    assert!(r.stderr.contains(says), "render {args:?} should say {says:?}: {}", r.stderr);
    assert!(!out.exists() || files_under(&out).is_empty(), "render {args:?} wrote {:?}", files_under(&out));
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}

#[test]
fn no_wrong_or_unusable_identity_and_cut_or_changed_ciphertext_fail_clearly() {
    if !have_age() {
        return;
    }
    let case = Case::new();
    case.noisy_syslog(30_000);
    let (key, recipient) = case.age_key("analyst.txt");
    let (other, _) = case.age_key("other.txt");
    let file = case.collect(&["--encrypt-to", &recipient]);
    let f = s(&file);

    refused(&case, &[f], 2, "this bundle is age-encrypted; pass --identity");
    refused(&case, &["--identity", s(&other), f], 2, "none of the 1 --identity key(s) can decrypt this bundle");
    let pubfile = case.p("keys/recipient.pub");
    fs::write(&pubfile, format!("{recipient}\n")).expect("write");
    refused(&case, &["--identity", s(&pubfile), f], 2, "holds a public key (a recipient)");

    let bytes = fs::read(&file).expect("read");
    assert!(bytes.len() > 3 * 65_552, "the bundle spans several age chunks ({} bytes)", bytes.len());
    // Cut at a chunk boundary (the last chunk missing) and inside one.
    let header = memchr::memmem::find(&bytes, b"\n---").expect("header end");
    let payload = header + bytes[header + 1..].iter().position(|&b| b == b'\n').expect("mac line") + 2 + 16;
    let cut_at_chunk = case.p("cut-chunk.age");
    fs::write(&cut_at_chunk, &bytes[..payload + 65_552]).expect("write");
    refused(&case, &["--identity", s(&key), s(&cut_at_chunk)], 1, "age ciphertext is truncated");
    let cut_inside = case.p("cut-inside.age");
    fs::write(&cut_inside, &bytes[..bytes.len() - 5000]).expect("write");
    refused(&case, &["--identity", s(&key), s(&cut_inside)], 1, "age ciphertext does not decrypt");

    // One byte changed in the second chunk, and one in the header's MAC.
    let mut changed = bytes.clone();
    changed[payload + 65_552 + 100] ^= 0x01;
    let tampered = case.p("tampered-chunk.age");
    fs::write(&tampered, &changed).expect("write");
    refused(&case, &["--identity", s(&key), s(&tampered)], 1, "a chunk was changed");
    let mut changed = bytes.clone();
    changed[header + 5] ^= 0x01;
    let bad_header = case.p("tampered-header.age");
    fs::write(&bad_header, &changed).expect("write");
    refused(&case, &["--identity", s(&key), s(&bad_header)], 1, "the encrypted file is damaged or was changed");
}

#[test]
fn the_caps_hold_on_decrypted_data() {
    if !have_age() {
        return;
    }
    let case = Case::new();
    let (key, recipient) = case.age_key("analyst.txt");
    let bomb = case.p("bomb.tar.gz");
    common::write_gzip_bomb(&bomb, "fs/var/log/syslog", 64).expect("bomb");
    let enc = case.p("bomb.tar.gz.age");
    let r = run(Command::new("age").arg("-r").arg(&recipient).arg("-o").arg(&enc).arg(&bomb), &case.p("tmp-report"));
    assert_eq!(r.code, 0, "age -r: {}", r.stderr);
    let r = case.report(&["verify", "--max-entry", "16M", "--identity", s(&key), s(&enc)]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("--max-entry cap"), "{}", r.stdout);
    let r = case.report(&["verify", "--max-total", "8M", "--identity", s(&key), s(&enc)]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("--max-total cap"), "{}", r.stdout);
}

#[test]
fn no_plaintext_in_the_output_or_temp_directories() {
    if !have_age() {
        return;
    }
    let case = Case::new();
    // Enough evidence that the collector is seen writing its temp file.
    case.noisy_syslog(400_000);
    let (key, recipient) = case.age_key("analyst.txt");

    // Watch the output directory while the collector writes: no file there may ever hold plaintext.
    let stop = Arc::new(AtomicBool::new(false));
    let out_dir = case.p("out");
    let watcher = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let (mut seen, mut leaked) = (0usize, Vec::new());
            while !stop.load(Ordering::SeqCst) {
                for p in files_under(&out_dir) {
                    let mut head = [0u8; 22];
                    let n = fs::File::open(&p).and_then(|mut f| f.read(&mut head)).unwrap_or(0);
                    if n > 0 {
                        seen += 1;
                        if head[..n].starts_with(&[0x1f, 0x8b]) {
                            leaked.push(p);
                        }
                    }
                }
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            (seen, leaked)
        })
    };
    let file = case.collect(&["--encrypt-to", &recipient]);
    stop.store(true, Ordering::SeqCst);
    let (seen, leaked) = watcher.join().expect("watcher");
    assert!(leaked.is_empty(), "gzip plaintext seen in the output directory: {leaked:?}");
    eprintln!("output directory sampled {seen} times with a file in it");

    let r = case.report(&["render", "--max-kept", "0", "--identity", s(&key), s(&file), "-o", s(&case.p("render"))]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let timeline = fs::read_to_string(case.p("render/timeline.jsonl")).expect("timeline");
    assert!(timeline.contains(MARKER), "the marker is in the evidence, so the search below can find it");
    for dir in ["out", "tmp-collect", "tmp-report"] {
        let with_plain: Vec<PathBuf> = files_under(&case.p(dir)).into_iter().filter(|p| holds_plaintext(p)).collect();
        assert!(with_plain.is_empty(), "plaintext in {dir}: {with_plain:?}");
    }
    assert!(files_under(&case.p("tmp-collect")).is_empty() && files_under(&case.p("tmp-report")).is_empty());
    // The search does find plaintext where it is: the decrypted bundle.
    assert!(holds_plaintext(&case.age_decrypt(&key, &file)));
}
