//! A collected bundle extracted with stock GNU tar as the README says leaves nothing group- or world-readable,
//! as root (GNU tar keeps member modes for root) and as an unprivileged user whose umask is lax.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_coroner-collect");

/// The README's extraction command (keep the two in step).
const EXTRACT: &str = "(umask 077 && mkdir b && tar -xzf bundle.tar.gz -C b --no-same-owner)";

fn open_to_others(dir: &Path) -> Vec<String> {
    let mut bad = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            let md = std::fs::symlink_metadata(&p).expect("lstat");
            if md.permissions().mode() & 0o077 != 0 {
                bad.push(format!("{} {:o}", p.display(), md.permissions().mode() & 0o7777));
            }
            if md.is_dir() {
                todo.push(p);
            }
        }
    }
    bad
}

#[test]
#[ignore = "needs root"]
fn an_extracted_bundle_is_private_for_root_and_for_a_user_with_a_lax_umask() {
    assert!(rustix::process::geteuid().is_root(), "needs root (runs tar as nobody)");
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path().join("root");
    for (p, body, mode) in [
        ("etc/passwd", "root:x:0:0:root:/root:/bin/bash\n", 0o644),
        ("root/.bash_history", "ls\n", 0o600),
        ("var/log/syslog", "Dec  5 10:00:00 h k: x\n", 0o644),
        ("var/log/auth.log", "Dec  5 10:00:00 h sshd[1]: y\n", 0o640),
    ] {
        let f = root.join(p);
        std::fs::create_dir_all(f.parent().expect("parent")).expect("mkdir");
        std::fs::write(&f, body).expect("write");
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }
    let out = t.path().join("out");
    let r = Command::new(BIN).args(["--root"]).arg(&root).arg("-o").arg(&out).arg("--quiet").output().expect("collect");
    assert!(r.status.code().is_some_and(|c| c <= 1), "{}", String::from_utf8_lossy(&r.stderr));
    let bundle = String::from_utf8_lossy(&r.stdout).lines().last().expect("path").to_owned();
    // A directory nobody can enter, holding a copy nobody can read.
    let work = t.path().join("work");
    std::fs::create_dir(&work).expect("mkdir");
    std::fs::copy(&bundle, work.join("bundle.tar.gz")).expect("copy");
    std::fs::set_permissions(&work, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::set_permissions(work.join("bundle.tar.gz"), std::fs::Permissions::from_mode(0o644)).expect("chmod");

    let as_root = Command::new("sh").arg("-c").arg(format!("umask 022; {EXTRACT}")).current_dir(&work).status().expect("sh");
    assert!(as_root.success());
    let b = work.join("b");
    assert!(b.join("fs/var/log/syslog").exists(), "the bundle was extracted");
    assert_eq!(open_to_others(&b), Vec::<String>::new(), "as root");
    std::fs::rename(&b, work.join("b-root")).expect("rename");

    let as_user = Command::new("runuser")
        .args(["-u", "nobody", "--", "sh", "-c"])
        .arg(format!("umask 022; {EXTRACT}"))
        .current_dir(&work)
        .status()
        .expect("runuser");
    assert!(as_user.success());
    assert!(b.join("fs/root/.bash_history").exists());
    assert_eq!(open_to_others(&b), Vec::<String>::new(), "as nobody with umask 022");

    // Even without the README's umask, a lax user's copies of the files are the owner's alone.
    let lax = Command::new("runuser")
        .args(["-u", "nobody", "--", "sh", "-c", "umask 022; mkdir lax && tar -xzf bundle.tar.gz -C lax"])
        .current_dir(&work)
        .status()
        .expect("runuser");
    assert!(lax.success());
    let open = open_to_others(&work.join("lax"));
    let files: Vec<&String> = open.iter().filter(|l| !Path::new(l.split(' ').next().unwrap_or("")).is_dir()).collect();
    assert!(files.is_empty(), "files readable by others: {files:?}");
}
