//! conmon's own records of a container's end, for CRI-O and Podman (both start each container under conmon):
//! - [`Format::ConmonExitFile`]: the exit file. conmon (src/conmon.c, after the container is reaped) formats the
//!   exit status with `g_strdup_printf("%d", exit_status)` and writes it, no newline, with `g_file_set_contents`
//!   (a new file renamed into place) to `<persist-dir>/exit` and to `<exit-dir>/<container id>`. The status is
//!   `get_exit_status` of src/ctr_exit.c: the exit code, `128 + signal` for a signal, or `-1`. Where the
//!   runtimes point those options: CRI-O (internal/oci/runtime_oci.go) `--exit-dir` = `container_exits_dir`
//!   (pkg/config/config_unix.go: `/var/run/crio/exits`) and `--persist-dir` = the container's directory in
//!   containers/storage (`<graphroot>/<driver>-containers/<id>/userdata`); Podman (libpod/oci_conmon_common.go)
//!   `--exit-dir` = `<tmpdir>/exits`, `--persist-dir` = `<tmpdir>/persist/<id>`, tmpdir `/run/libpod` for root,
//!   `/run/user/<uid>/libpod/tmp` rootless.
//! - [`Format::ConmonOomFile`]: the `oom` file. conmon (src/cgroup.c `create_oom_files`) creates it empty
//!   (`open(O_CREAT)`, so a later OOM does not change its mtime) in the persist directory and in the bundle
//!   directory when the container's cgroup reports an OOM kill. CRI-O's bundle is the container's run directory
//!   (`<runroot>/…/userdata`) and its persist directory is `userdata` under the graph root; Podman's bundle is
//!   `userdata` under the graph root (libpod `bundlePath`), its persist directory `<tmpdir>/persist/<id>`.
//!
//! The container id is the path's 64-hex component; the runtime comes from the path: `…/crio/exits/` is CRI-O's,
//! `…/libpod/…` Podman's, `userdata/exit` CRI-O's (Podman's persist directory is elsewhere). A `userdata/oom` can
//! be either's (CRI-O's persist directory, Podman's bundle), so it names no runtime.
//!
//! Time: neither file holds one. The event is [`Timestamp::Bounded`] with `before` = the file's mtime: the
//! container ended (or the OOM kill happened) no later than conmon wrote the file, which is also the house's form
//! for "no later than the file's mtime" (the pipeline marks it `time_bound: file_mtime`). conmon writes it right
//! after the fact, but nothing in the bundle says how long after, so it is not an exact time. A file without an
//! mtime gives an undated event, which the pipeline bounds by the collection's end.
//!
//! [`Format::ConmonExitFile`]: coroner_schemas::manifest::Format::ConmonExitFile
//! [`Format::ConmonOomFile`]: coroner_schemas::manifest::Format::ConmonOomFile

use coroner_schemas::manifest::Format;
use coroner_schemas::{Event, EventKind, Origin, Source, Text, Timestamp};

use super::containers::{entry_path, id_in_path, preview};
use super::facts::{ContainerRecord, Fact};
use super::{ParseProblem, Parsed, SourceCtx};

/// Most bytes of an exit file that can be a status conmon wrote (`-1`, or up to 255; an `int` at most).
const MAX_EXIT_FILE: usize = 64;

pub fn parse(raw: &[u8], ctx: &SourceCtx) -> Parsed {
    let mut out = Parsed::default();
    let path = entry_path(ctx);
    let Some(id) = id_in_path(path) else {
        out.problems.push(ParseProblem::at_offset(ctx, 0, format!("no 64-hex container id in the path {path:?}")));
        return out;
    };
    let rt = runtime(path, ctx.entry.format);
    let origin = Origin { entry: ctx.path.clone(), line: Some(1), offset: Some(ctx.offset) };
    let timestamp = match ctx.entry.stat.as_ref().and_then(|s| s.mtime) {
        Some(before) => Timestamp::Bounded { after: None, before: Some(before) },
        None => Timestamp::Unknown,
    };
    let short = id.get(..12).unwrap_or(id);
    let who = if rt.is_empty() { format!("container {short}") } else { format!("{rt} container {short}") };
    match ctx.entry.format {
        Format::ConmonExitFile => {
            let code = match exit_code(raw) {
                Ok(c) => c,
                Err(why) => {
                    out.problems.push(ParseProblem::at_offset(ctx, 0, format!("conmon exit file {why}")));
                    return out;
                }
            };
            let text = Text::from_bytes(raw);
            let mut e = Event::new(timestamp, Source::Container, EventKind::ContainerExit, format!("{who} exited with code {code} (conmon's exit file)"), text, origin.clone());
            e.fields.insert("container_id".into(), id);
            if !rt.is_empty() {
                e.fields.insert("runtime".into(), rt);
            }
            e.fields.insert("exit_code".into(), code);
            out.events.push(e);
            let mut c = ContainerRecord::new(rt, id, origin);
            c.exit_code = Some(code);
            out.facts.push(Fact::Container(c));
        }
        Format::ConmonOomFile => {
            // Its presence is the record; conmon creates it empty, and any bytes in it say nothing more.
            let mut e = Event::new(timestamp, Source::Container, EventKind::ContainerOom, format!("{who}: conmon saw an OOM kill in its cgroup (oom file)"), Text::from_bytes(raw.get(..raw.len().min(MAX_EXIT_FILE)).unwrap_or(&[])), origin);
            e.fields.insert("container_id".into(), id);
            if !rt.is_empty() {
                e.fields.insert("runtime".into(), rt);
            }
            out.events.push(e);
        }
        _ => {}
    }
    out
}

/// The runtime whose conmon wrote the file at `path`, or "" when the place does not tell.
fn runtime(path: &str, format: Format) -> &'static str {
    if path.contains("/crio/exits/") {
        "cri-o"
    } else if path.contains("/libpod/") {
        "podman"
    } else if format == Format::ConmonExitFile && path.ends_with("/userdata/exit") {
        "cri-o"
    } else {
        ""
    }
}

/// The status conmon wrote: `%d` of `get_exit_status` (`-1`, or 0–255). A trailing newline (a hand-written file)
/// is allowed; anything else is refused, never guessed at.
fn exit_code(raw: &[u8]) -> Result<i64, String> {
    if raw.is_empty() {
        return Err("is empty (conmon writes the code whole, so it was cut or is not conmon's)".into());
    }
    if raw.len() > MAX_EXIT_FILE {
        return Err(format!("holds {} bytes, more than a status: {}", raw.len(), preview(raw)));
    }
    let s = raw.strip_suffix(b"\n").unwrap_or(raw);
    let digits = s.strip_prefix(b"-").unwrap_or(s);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(format!("is not a decimal number: {}", preview(raw)));
    }
    // Only ASCII digits and a sign: valid UTF-8.
    let n: i64 = std::str::from_utf8(s)
        .ok()
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| format!("holds a number out of range: {}", preview(raw)))?;
    if !(-1..=255).contains(&n) {
        return Err(format!("holds {n}, not a status conmon writes (-1, or 0 to 255)"));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::testing::{entry, manifest};
    use coroner_schemas::accounts::Accounts;
    use coroner_schemas::Utc;
    use std::path::PathBuf;

    const ID: &str = "4c1d9e2f7a3b5c8d0e6f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d";

    fn run_at(host_path: &str, format: &str, raw: &[u8], mtime: Option<&str>) -> Parsed {
        let m = manifest();
        let a = Accounts::default();
        let mut e = entry(&format!("fs{host_path}"), host_path, "containers", format);
        if let Some(t) = mtime {
            e.stat = serde_json::from_value(serde_json::json!({"mode": 33188, "uid": 0, "gid": 0, "size": raw.len(), "allocated": 0, "ino": 1, "dev": 1, "nlink": 1, "mtime": t})).expect("stat");
        }
        parse(raw, &SourceCtx::new(&e, &m, &a))
    }

    fn run(host_path: &str, format: &str, raw: &[u8]) -> Parsed {
        run_at(host_path, format, raw, Some("2026-11-27T19:58:03.250000Z"))
    }

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/containers/conmon").join(name)).expect("fixture")
    }

    fn at() -> Timestamp {
        Timestamp::Bounded { after: None, before: Utc::parse_rfc3339("2026-11-27T19:58:03.250000Z") }
    }

    #[test]
    fn a_crio_exit_file_is_an_exit_bounded_by_its_mtime() {
        let p = run(&format!("/var/run/crio/exits/{ID}"), "conmon_exit_file", &fixture("crio-exit-137"));
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        assert_eq!(p.events.len(), 1);
        let e = &p.events[0];
        assert_eq!((e.kind, e.source, &e.timestamp), (EventKind::ContainerExit, Source::Container, &at()));
        assert_eq!(e.message, "cri-o container 4c1d9e2f7a3b exited with code 137 (conmon's exit file)");
        assert_eq!(
            serde_json::to_value(&e.fields).expect("json"),
            serde_json::json!({"container_id": ID, "runtime": "cri-o", "exit_code": 137})
        );
        match p.facts.as_slice() {
            [Fact::Container(c)] => assert_eq!((c.runtime.as_str(), c.id.as_str(), c.exit_code), ("cri-o", ID, Some(137))),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn podman_persist_exit_and_oom_name_podman() {
        let p = run(&format!("/run/libpod/persist/{ID}/exit"), "conmon_exit_file", &fixture("podman-exit-0"));
        assert_eq!((p.events[0].fields.get("exit_code").and_then(|v| v.as_i64()), p.events[0].field_str("runtime")), (Some(0), Some("podman")));
        let p = run(&format!("/run/user/1000/libpod/tmp/persist/{ID}/oom"), "conmon_oom_file", &fixture("podman-oom"));
        assert!(p.problems.is_empty() && p.facts.is_empty(), "{p:?}");
        let e = &p.events[0];
        assert_eq!((e.kind, e.source, &e.timestamp), (EventKind::ContainerOom, Source::Container, &at()));
        assert_eq!(e.message, "podman container 4c1d9e2f7a3b: conmon saw an OOM kill in its cgroup (oom file)");
        assert_eq!(serde_json::to_value(&e.fields).expect("json"), serde_json::json!({"container_id": ID, "runtime": "podman"}));
    }

    #[test]
    fn a_userdata_oom_names_no_runtime_and_an_undated_one_stays_unknown() {
        let path = format!("/var/lib/containers/storage/overlay-containers/{ID}/userdata/oom");
        let p = run_at(&path, "conmon_oom_file", b"", None);
        let e = &p.events[0];
        assert_eq!(e.timestamp, Timestamp::Unknown);
        assert_eq!(serde_json::to_value(&e.fields).expect("json"), serde_json::json!({"container_id": ID}));
        let exit = run(&format!("/var/lib/containers/storage/overlay-containers/{ID}/userdata/exit"), "conmon_exit_file", b"-1");
        assert_eq!((exit.events[0].fields.get("exit_code").and_then(|v| v.as_i64()), exit.events[0].field_str("runtime")), (Some(-1), Some("cri-o")));
    }

    #[test]
    fn bad_exit_files_are_problems_not_events() {
        let at = format!("/run/libpod/exits/{ID}");
        for (raw, want) in [
            (&b""[..], "conmon exit file is empty"),
            (b"abc", "conmon exit file is not a decimal number: abc"),
            (b"-", "conmon exit file is not a decimal number: -"),
            (b"13 7", "conmon exit file is not a decimal number: 13 7"),
            (b"\x00\xff\x01", "conmon exit file is not a decimal number: .\u{fffd}."),
            (b"99999999999999999999999", "conmon exit file holds a number out of range: 99999999999999999999999"),
            (b"256", "conmon exit file holds 256, not a status conmon writes (-1, or 0 to 255)"),
            (b"-9", "conmon exit file holds -9, not a status conmon writes (-1, or 0 to 255)"),
        ] {
            let p = run(&at, "conmon_exit_file", raw);
            assert!(p.events.is_empty() && p.facts.is_empty(), "{raw:?}: {p:?}");
            assert_eq!(p.problems.len(), 1, "{raw:?}");
            assert!(p.problems[0].message.starts_with(want), "{raw:?}: {}", p.problems[0].message);
        }
        let big = vec![b'1'; 100_000];
        let p = run(&at, "conmon_exit_file", &big);
        assert!(p.events.is_empty() && p.problems[0].message.starts_with("conmon exit file holds 100000 bytes"), "{:?}", p.problems);
        let p = run("/run/libpod/exits/not-an-id", "conmon_exit_file", b"0");
        assert_eq!(p.problems[0].message, "no 64-hex container id in the path \"/run/libpod/exits/not-an-id\"");
        assert!(p.events.is_empty());
    }
}
