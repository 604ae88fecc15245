//! File-source planning cases: rotations, HISTFILE/ZDOTDIR, symlinks out of the root, excludes, includes,
//! FIFOs and a sparse lastlog.

mod acquire_files_support;
use acquire_files_support::*;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use coroner_collect::acquire::{history, logins, logs, walk, Item};
use coroner_schemas::manifest::{Format, Status};

fn write(root: &Path, rel: &str, data: &[u8]) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    fs::write(p, data).expect("write");
}

#[test]
fn rotated_and_compressed_logs_are_recognised_and_others_left() {
    let t = tempfile::tempdir().expect("tmp");
    for name in [
        "syslog",
        "syslog.1",
        "syslog.2.gz",
        "syslog-20261101",
        "syslog-20261025.xz",
        "messages.3.bz2",
        "kern.log.4.zst",
        "cron.log",
        "syslog-ng.log",
        "dpkg.log",
        "auth.log.bak",
    ] {
        write(t.path(), &format!("var/log/{name}"), b"x\n");
    }
    let ctx = ctx(t.path(), options());
    let mut out = Vec::new();
    logs::collect(&ctx, &mut out);
    let got: Vec<(String, Option<String>)> = files(&out)
        .iter()
        .map(|f| (f.path.clone(), f.compressed.clone()))
        .collect();
    let want = [
        ("/var/log/cron.log", None),
        ("/var/log/kern.log.4.zst", Some("zstd")),
        ("/var/log/messages.3.bz2", Some("bzip2")),
        ("/var/log/syslog", None),
        ("/var/log/syslog-20261025.xz", Some("xz")),
        ("/var/log/syslog-20261101", None),
        ("/var/log/syslog.1", None),
        ("/var/log/syslog.2.gz", Some("gzip")),
    ];
    let want: Vec<(String, Option<String>)> = want
        .iter()
        .map(|(p, c)| ((*p).to_owned(), c.map(str::to_owned)))
        .collect();
    assert_eq!(got, want);
    assert!(files(&out).iter().all(|f| f.format == Format::Syslog));
}

#[test]
fn histfile_in_bashrc_and_zdotdir_in_zshenv_are_followed() {
    let ctx = ctx(&fixture_root(), options());
    let mut out = Vec::new();
    history::collect(&ctx, &mut out);
    let bob = file(&out, "/home/bob/.hist/bob_history").expect("HISTFILE from .bashrc");
    assert_eq!((bob.format, bob.account.as_deref()), (Format::BashHistory, Some("bob")));
    let carol = file(&out, "/home/carol/.config/zsh/.zsh_history").expect("$ZDOTDIR/.zsh_history");
    assert_eq!(
        (carol.format, carol.account.as_deref()),
        (Format::ZshHistory, Some("carol"))
    );
    assert_eq!(
        file(&out, "/home/carol/.config/zsh/.zshrc").map(|f| f.format),
        Some(Format::ShellRc)
    );
    // Each file once, even when found by several routes (HISTFILE and the default name).
    let mut paths: Vec<&str> = files(&out).iter().map(|f| f.path.as_str()).collect();
    let n = paths.len();
    paths.sort_unstable();
    paths.dedup();
    assert_eq!(paths.len(), n);
}

#[test]
fn relative_home_and_hostile_names_do_not_escape() {
    let ctx = ctx(&fixture_root(), options());
    let mut out = Vec::new();
    history::collect(&ctx, &mut out);
    // `escape` has home `../../../etc`: never used.
    assert!(files(&out).iter().all(|f| f.account.as_deref() != Some("escape")));
    let m = file(&out, "/home/mallory/.sh_history").expect("mallory");
    assert_eq!(m.account.as_deref(), Some("<script>alert(1)</script>;$(id)"));
}

#[test]
fn symlinked_dirs_pointing_outside_the_root_are_not_followed() {
    let outside = tempfile::tempdir().expect("tmp");
    write(outside.path(), "audit.log", b"type=SECRET\n");
    write(outside.path(), ".bash_history", b"secret\n");
    write(outside.path(), "syslog", b"secret\n");
    let t = tempfile::tempdir().expect("tmp");
    let root = t.path();
    fs::create_dir_all(root.join("var/log")).expect("mkdir");
    fs::create_dir_all(root.join("home")).expect("mkdir");
    fs::create_dir_all(root.join("run")).expect("mkdir");
    // Absolute link: inside the root it means ROOT/<that path>, which does not exist.
    symlink(outside.path(), root.join("var/log/audit")).expect("symlink");
    // Relative link climbing far above the root: `..` stops at the root.
    let climb = format!("../../../../../../../../../..{}", outside.path().display());
    symlink(&climb, root.join("home/eve")).expect("symlink");
    symlink(&climb, root.join("root")).expect("symlink");
    write(root, "etc/passwd", b"eve:x:1000:1000::/home/eve:/bin/bash\n");
    // /var/run -> ../run: utmp once, under its real name.
    symlink("../run", root.join("var/run")).expect("symlink");
    write(root, "run/utmp", &[0u8; 384]);
    let ctx = ctx(root, options());
    let items = collect_files(&ctx);
    let text = render(&items);
    assert!(
        !text.contains("SECRET") && !text.contains("/audit.log") && !text.contains(".bash_history"),
        "{text}"
    );
    let utmp: Vec<_> = files(&items)
        .into_iter()
        .filter(|f| f.path.ends_with("/utmp"))
        .collect();
    assert_eq!(utmp.len(), 1, "{text}");
    assert_eq!(utmp[0].path, "/run/utmp");
    // The resolution itself: chroot semantics.
    assert_eq!(
        walk::resolve(&ctx, "/var/run/utmp", true).expect("resolve"),
        "/run/utmp"
    );
    let eve = walk::resolve(&ctx, "/home/eve", true).expect("resolve");
    assert_eq!(eve, outside.path().to_str().expect("utf-8").to_owned());
    assert!(
        !ctx.host_path(&eve).exists(),
        "resolved inside the root, where it does not exist"
    );
}

#[test]
fn excludes_skip_files_and_folders_with_a_record() {
    let mut opts = options();
    opts.excludes = vec!["/home/alice/**".into(), "/var/log/syslog.*".into(), "/var/crash".into()];
    let ctx = ctx(&fixture_root(), opts);
    let items = collect_files(&ctx);
    assert!(file(&items, "/var/log/syslog").is_some());
    assert!(file(&items, "/var/log/syslog.1").is_none());
    assert!(files(&items)
        .iter()
        .all(|f| !f.path.starts_with("/home/alice/") && !f.path.starts_with("/var/crash/")));
    let skipped: Vec<&str> = items
        .iter()
        .filter_map(|i| match i {
            Item::Absent(a) if matches!(&a.status, Status::Skipped { reason } if reason.starts_with("excluded by")) => {
                Some(a.source.as_str())
            }
            _ => None,
        })
        .collect();
    for want in ["/home/alice/.bash_history", "/var/log/syslog.1", "/var/log/syslog.2.gz"] {
        assert!(skipped.contains(&want), "{want} not recorded as excluded: {skipped:?}");
    }
    assert!(skipped.iter().any(|s| s.starts_with("/var/crash")), "{skipped:?}");
}

#[test]
fn includes_take_globbed_files_and_folders() {
    let t = tempfile::tempdir().expect("tmp");
    write(t.path(), "srv/app/logs/app.log", b"a\n");
    write(t.path(), "srv/app/logs/old/app.log.1", b"b\n");
    write(t.path(), "srv/app/logs/app.txt", b"c\n");
    write(t.path(), "srv/app/logs/old/deep.log", b"d\n");
    write(t.path(), "srv/other/state/x.json", b"{}\n");
    let mut opts = options();
    opts.includes = vec!["/srv/app/**/*.log".into(), "/srv/other/state".into(), "/nope/*".into()];
    let ctx = ctx(t.path(), opts);
    let mut out = Vec::new();
    coroner_collect::acquire::include::collect(&ctx, &mut out);
    insta::assert_snapshot!(render(&out));
}

#[test]
fn fifos_are_planned_not_opened() {
    let t = tempfile::tempdir().expect("tmp");
    let root = t.path();
    fs::create_dir_all(root.join("var/log")).expect("mkdir");
    fs::create_dir_all(root.join("var/crash")).expect("mkdir");
    for p in ["var/log/syslog", "var/crash/core", "var/log/lastlog"] {
        rustix::fs::mknodat(rustix::fs::CWD, root.join(p), rustix::fs::FileType::Fifo, 0o600.into(), 0).expect("mkfifo");
    }
    let ctx = ctx(root, options());
    // Would hang on a blocking open of a FIFO with no writer.
    let items = collect_files(&ctx);
    let text = render(&items);
    assert!(file(&items, "/var/log/syslog").is_some(), "{text}");
    assert_eq!(
        file(&items, "/var/crash/core").map(|f| f.format),
        Some(Format::CrashReport),
        "{text}"
    );
    assert!(
        text.contains("absent live/logins/lastlog.json source=/var/log/lastlog"),
        "{text}"
    );
}

#[test]
fn sparse_lastlog_reads_only_its_data() {
    use std::io::{Seek, SeekFrom, Write};
    let t = tempfile::tempdir().expect("tmp");
    let path = t.path().join("lastlog");
    let mut f = fs::File::create(&path).expect("create");
    let mut rec = vec![0u8; 292];
    rec[..4].copy_from_slice(&1_795_810_881i32.to_le_bytes());
    rec[4..9].copy_from_slice(b"pts/1");
    rec[36..47].copy_from_slice(b"203.0.113.7");
    f.seek(SeekFrom::Start(1000 * 292)).expect("seek");
    f.write_all(&rec).expect("write");
    // A uid near 2^32 makes lastlog about 1.2 TiB of holes.
    f.set_len(4_294_967_294 * 292).expect("set_len");
    drop(f);
    // Caps far below the apparent size: the extract must finish untruncated by visiting data extents only.
    let x = logins::extract_lastlog(&path, 10, 1 << 20).expect("extract");
    assert_eq!(x.file_size, 4_294_967_294 * 292);
    assert!(!x.truncated, "holes were read");
    assert_eq!(x.records.len(), 1);
    assert_eq!((x.records[0].uid, x.records[0].offset), (1000, 292_000));
    assert_eq!(x.records[0].raw, rec);
    let doc: serde_json::Value = serde_json::from_slice(&x.to_json()).expect("json");
    assert_eq!(doc["record_size"], 292);
    assert_eq!(doc["records"].as_array().map(Vec::len), Some(1));
    assert_eq!(doc["records"][0]["uid"], 1000);
    let b64 = doc["records"][0]["record_b64"].as_str().expect("record_b64");
    let decoded = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b64).expect("standard base64");
    assert_eq!(decoded, rec);
}

#[test]
#[ignore = "needs root"]
fn unreadable_directory_is_recorded_as_permission_denied() {
    if let Some(root) = std::env::var_os(CHILD_ROOT) {
        // The child half: this same test, run again by the parent half below as nobody.
        assert!(!is_root(), "the child must run as nobody");
        let ctx = ctx(Path::new(&root), options());
        let mut out = Vec::new();
        coroner_collect::acquire::audit::collect(&ctx, &mut out);
        let plan = render(&out);
        assert!(
            plan.contains("absent fs/var/log/audit source=/var/log/audit AuditLog Audit status=PermissionDenied"),
            "{plan}"
        );
        return;
    }
    // As root every directory is readable, so the planner runs in a child of this test binary as nobody.
    assert!(is_root(), "needs root to run the planner as nobody (the mapping is unit-tested in walk.rs): run it as root (`make test` does, as root)");
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let t = tempfile::tempdir().expect("tmp");
    let root = t.path();
    write(root, "var/log/audit/audit.log", b"type=X\n");
    fs::set_permissions(root, fs::Permissions::from_mode(0o755)).expect("chmod");
    fs::set_permissions(root.join("var/log/audit"), fs::Permissions::from_mode(0o000)).expect("chmod");
    // A copy of this test binary in a folder nobody can reach: the checkout itself may sit under a 0700
    // directory (a mktemp -d clone), where nobody could not exec the original.
    let bin_dir = tempfile::tempdir().expect("tmp");
    fs::set_permissions(bin_dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    let exe = bin_dir.path().join("planner-as-nobody");
    fs::copy(std::env::current_exe().expect("exe"), &exe).expect("copy test binary");
    fs::set_permissions(&exe, fs::Permissions::from_mode(0o755)).expect("chmod");
    let out = std::process::Command::new(&exe)
        .args([
            "--exact",
            "unreadable_directory_is_recorded_as_permission_denied",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ROOT, root)
        .uid(65534)
        .gid(65534)
        .output()
        .expect("run child");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed: {text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("test result: ok. 1 passed"), "the child ran no test: {text}");
}

const CHILD_ROOT: &str = "CORONER_TEST_DENIED_ROOT";

/// The planner on this very host (live): it must finish, list each host file once, and give host paths only.
#[test]
fn live_host_plan_lists_each_file_once() {
    let mut opts = options();
    opts.command_timeout_ms = 5_000;
    opts.journal_window_seconds = 60;
    let mut ctx = ctx(Path::new("/"), opts);
    ctx.live = true;
    let items = collect_files(&ctx);
    let mut paths: Vec<&str> = files(&items).iter().map(|f| f.path.as_str()).collect();
    assert!(
        paths
            .iter()
            .all(|p| p.starts_with('/') && !p.contains("/../") && !p.contains("//")),
        "{paths:?}"
    );
    let n = paths.len();
    paths.sort_unstable();
    paths.dedup();
    assert_eq!(paths.len(), n, "a host file planned twice");
    if std::env::var_os("SHOW_LIVE_PLAN").is_some() {
        eprintln!("{}", render(&items));
    }
    // The audit commands are either run (auditctl installed) or recorded as not applicable: never missing.
    for b in ["cmd/auditctl-l.txt", "cmd/auditctl-s.txt", "cmd/journalctl.json"] {
        assert!(
            items.iter().any(|i| match i {
                Item::Capture(c) => c.bundle_path == b,
                Item::Absent(a) => a.bundle_path == b,
                Item::File(_) => false,
            }),
            "{b} not in the plan"
        );
    }
}

/// An `--include` that names a file another source already takes must not plan it twice (manifest paths are
/// unique) and must not change how it is read.
#[test]
fn include_overlapping_a_known_source_keeps_one_entry() {
    let mut opts = options();
    opts.includes = vec!["/var/log/syslog*".into(), "/var/crash/*".into()];
    let ctx = ctx(&fixture_root(), opts);
    let items = collect_files(&ctx);
    let syslog: Vec<_> = files(&items).into_iter().filter(|f| f.path == "/var/log/syslog").collect();
    assert_eq!(syslog.len(), 1);
    assert_eq!(syslog[0].format, Format::Syslog);
    let core: Vec<_> = files(&items).into_iter().filter(|f| f.path.starts_with("/var/crash/")).collect();
    assert_eq!(core.len(), 1);
    assert_eq!(core[0].format, Format::CoreElf);
}
