//! History parsers over real bash/zsh/fish/tcsh/readline files (fixtures/history), plus hostile input.

#[path = "parse_history_support.rs"]
mod support;

use coroner_schemas::{EventKind, Text, Timestamp, Utc};
use serde_json::json;
use support::*;

const MTIME: &str = "2026-11-27T20:40:00.000000Z";

fn hist(format: &str, name: &str) -> coroner_report::sources::Parsed {
    let e = entry(
        format,
        &format!("fs/root/.{name}"),
        &format!("/root/.{name}"),
        Some("root"),
        Some(MTIME),
    );
    run(&fixture("history", name), &e)
}

fn utc(s: &str) -> Utc {
    Utc::parse_rfc3339(s).expect("time")
}

#[test]
fn bash_golden_and_times() {
    let p = hist("bash_history", "bash_history");
    insta::assert_json_snapshot!("bash_history", golden(&p));
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    // Six undated lines first: bounded by the first dated line (1795811602), not by the mtime.
    let first_dated = Utc::from_unix(1_795_811_602, 0);
    assert_eq!(
        p.events[0].timestamp,
        Timestamp::Bounded {
            after: None,
            before: first_dated
        }
    );
    assert_eq!(
        p.events[6].timestamp,
        Timestamp::Exact {
            utc: first_dated.expect("t")
        }
    );
    let kill = p
        .events
        .iter()
        .find(|e| e.field_str("command") == Some("kill -9 $(pgrep victim)"))
        .expect("kill");
    assert_eq!(kill.kind, EventKind::KillCommand);
    assert_eq!(kill.fields["tool"], json!("kill"));
    assert_eq!(kill.fields["signal"], json!(9));
    assert_eq!(kill.fields["signal_name"], json!("SIGKILL"));
    assert_eq!(kill.fields["target_names"], json!(["victim"]));
    assert_eq!((kill.user.as_deref(), kill.uid), (Some("root"), Some(0)));
    let stop = p
        .events
        .iter()
        .find(|e| e.field_str("command") == Some("sudo systemctl stop nginx"))
        .expect("stop");
    assert_eq!(
        (stop.fields["tool"].to_json(), stop.fields["target_units"].to_json()),
        (json!("systemctl"), json!(["nginx"]))
    );
    let pg = p
        .events
        .iter()
        .find(|e| e.field_str("command") == Some("kill -s KILL -- -1234"))
        .expect("pgrp");
    assert_eq!(
        (pg.fields["signal"].to_json(), pg.fields["target_pids"].to_json()),
        (json!(9), json!([-1234]))
    );
    // Non-UTF-8 bytes survive exactly in raw.
    let odd = p.events.iter().find(|e| !e.raw.is_exact_text()).expect("non-utf8 line");
    assert_eq!(odd.raw.to_bytes(), b"echo caf\xe9 \xff\xfe");
    assert_eq!(p.events.iter().filter(|e| e.kind == EventKind::KillCommand).count(), 4);
}

#[test]
fn zsh_golden_multiline_and_metafied() {
    let p = hist("zsh_history", "zsh_history");
    insta::assert_json_snapshot!("zsh_history", golden(&p));
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    let multi = p
        .events
        .iter()
        .find(|e| e.field_str("command").is_some_and(|c| c.starts_with("for p")))
        .expect("for");
    assert_eq!(
        multi.field_str("command"),
        Some("for p in $(pgrep -f victim); do\n  kill -9 $p\ndone")
    );
    assert_eq!(multi.kind, EventKind::KillCommand);
    assert_eq!(multi.fields["target_exprs"], json!(["$p"]));
    assert_eq!(multi.origin.line, Some(12));
    assert_eq!(
        multi.timestamp,
        Timestamp::Exact {
            utc: utc("2026-11-27T20:33:25.000000Z")
        }
    );
    // Metafied ő (C5 83 B1) is unmetafied in the command; raw keeps the file's bytes. zsh saved the command's
    // final backslash as `\ ` and reads it back without the space.
    let meta = p
        .events
        .iter()
        .find(|e| e.field_str("command") == Some("echo ő and a backslash \\"))
        .expect("ő");
    assert!(meta.raw.to_bytes().windows(3).any(|w| w == [0xc5, 0x83, 0xb1]));
    let two = p
        .events
        .iter()
        .find(|e| e.field_str("command") == Some("docker kill web && killall -HUP rsyslogd"))
        .expect("two");
    assert_eq!(two.fields["tool"], json!("docker"));
    assert_eq!(two.fields["target_names"], json!(["web", "rsyslogd"]));
    assert_eq!(two.fields["kills"].as_array().map(Vec::len), Some(2));
}

#[test]
fn fish_golden() {
    let p = hist("fish_history", "fish_history");
    insta::assert_json_snapshot!("fish_history", golden(&p));
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    assert_eq!(p.events.len(), 6);
    assert_eq!(p.events[3].field_str("command"), Some("echo 'a\\b'"));
    assert_eq!(p.events[4].fields["paths"], json!(["/tmp/fh"]));
    assert_eq!(p.events[1].fields["target_pids"], json!([999_999]));
    assert_eq!(p.events[2].fields["target_names"], json!(["victim-nonexistent-xyz"]));
    assert_eq!(p.events[2].fields["full_match"], json!(true));
}

#[test]
fn tcsh_and_plain_goldens() {
    let t = hist("tcsh_history", "tcsh_history");
    insta::assert_json_snapshot!("tcsh_history", golden(&t));
    assert_eq!(t.events.len(), 5);
    assert!(t.events.iter().all(|e| matches!(e.timestamp, Timestamp::Exact { .. })));
    assert_eq!(t.events[3].fields["signal"], json!(9));
    let py = hist("other_history", "python_history");
    insta::assert_json_snapshot!("python_history", golden(&py));
    assert_eq!(
        py.events[1].timestamp,
        Timestamp::Bounded {
            after: None,
            before: Some(utc(MTIME))
        }
    );
    assert_eq!(
        py.events[1].kind,
        EventKind::ShellCommand,
        "os.kill(…) in python is not a shell kill"
    );
}

#[test]
fn hostile_lines() {
    let e = entry(
        "bash_history",
        "fs/home/alice/.bash_history",
        "/home/alice/.bash_history",
        Some("alice"),
        None,
    );
    // A 1 MB line, non-UTF-8 bytes, a dangling timestamp, an empty file.
    let mut raw = b"kill -9 \xff\xfe 77\n#1700000000\n".to_vec();
    raw.extend(std::iter::repeat_n(b'a', 1 << 20));
    raw.extend_from_slice(b"\n#1700000100\n");
    let p = run(&raw, &e);
    assert_eq!(p.events.len(), 2);
    assert_eq!(p.events[1].field_str("command").map(str::len), Some(1 << 20));
    assert!(p.events[1].message.chars().count() < 400);
    assert_eq!(p.events[0].raw, Text::from_bytes(b"kill -9 \xff\xfe 77"));
    assert_eq!(p.events[0].fields["target_pids"], json!([77]));
    assert_eq!(
        p.events[0].timestamp,
        Timestamp::Bounded {
            after: None,
            before: Utc::from_unix(1_700_000_000, 0)
        }
    );
    assert_eq!(p.events[0].uid, Some(1000));
    assert_eq!(p.problems.len(), 1, "dangling #1700000100");
    assert!(run(b"", &e).events.is_empty());
    for fmt in ["zsh_history", "fish_history", "tcsh_history", "sh_history"] {
        let e = entry(fmt, "fs/x", "/x", None, None);
        for raw in [
            &b": 12:0"[..],
            b": x;y\\",
            b"- cmd:",
            b"  when: 1",
            b"\x83",
            b"\\\n\\\n",
            b"- cmd: a\\",
        ] {
            let _ = run(raw, &e);
        }
    }
}

/// Deterministic pseudo-random bytes biased towards each format's syntax: no parser of this family may panic.
#[test]
fn no_parser_panics_on_random_bytes() {
    let formats = [
        "bash_history",
        "zsh_history",
        "fish_history",
        "sh_history",
        "tcsh_history",
        "other_history",
        "system_crontab",
        "user_crontab",
        "anacrontab",
        "systemd_timers",
        "core_elf",
        "proc_snapshot_json",
        "proc_limits",
        "limits_conf",
        "sysctl_json",
        "cgroups_json",
        "audit_rules",
        "audit_status",
        "systemd_show_json",
    ];
    let alphabet: &[u8] = b"#:;-\\\n\n $()`'\"|&0123456789*/,@=kill -9 pgrep cmd: when: paths:\x83\xff{}[]\x7fELF";
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for fmt in formats {
        let e = entry(fmt, "fs/x", "/proc/7/limits", Some("alice"), Some(MTIME));
        for len in [0usize, 1, 2, 7, 64, 500, 4000] {
            let mut raw = Vec::with_capacity(len);
            for _ in 0..len {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                raw.push(if x % 4 == 0 {
                    (x >> 8) as u8
                } else {
                    alphabet[(x >> 16) as usize % alphabet.len()]
                });
            }
            let _ = run(&raw, &e);
        }
    }
}

/// Regression: with HISTTIMEFORMAT and lithist, bash writes a multi-line command as several lines after one
/// `#EPOCH`; each line used to become its own command, all but the first dated only by the file's mtime.
#[test]
fn bash_multiline_entries_stay_whole() {
    let p = hist("bash_history", "bash_history_multiline");
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    assert_eq!(p.events.len(), 13, "one event per `#EPOCH` entry");
    let stamp = Timestamp::Exact {
        utc: Utc::from_unix(1_796_399_014, 0).expect("t"),
    };
    assert!(p.events.iter().all(|e| e.timestamp == stamp), "every entry keeps its own stamp");
    let raw = fixture("history", "bash_history_multiline");
    let lp = p
        .events
        .iter()
        .find(|e| e.field_str("command").is_some_and(|c| c.starts_with("for pid in $(pgrep -f coroner-hist-victim);")))
        .expect("loop");
    let body = "for pid in $(pgrep -f coroner-hist-victim); do # reap the victims\n  # one comment line inside the loop\n  echo \"killing $pid\"\n  kill -9 $pid\ndone";
    assert_eq!(lp.field_str("command"), Some(body));
    assert_eq!(lp.raw.to_bytes(), body.as_bytes());
    assert_eq!(lp.origin.line, Some(8));
    assert_eq!(raw.get(lp.origin.offset.expect("offset") as usize..).map(|r| r.starts_with(b"for pid")), Some(true));
    assert!(lp.message.contains("do # reap the victims⏎  # one comment"), "{}", lp.message);
    // The here-doc keeps its inner empty line; the empty line bash writes after `EOF` is not part of it.
    let doc = p
        .events
        .iter()
        .find(|e| e.field_str("command").is_some_and(|c| c.starts_with("cat > /tmp/hs/notes.txt")))
        .expect("here-doc");
    assert_eq!(
        doc.field_str("command"),
        Some("cat > /tmp/hs/notes.txt <<'EOF'\nkill -9 1 is only text in a here-doc\n\nafter an empty line\nEOF")
    );
    assert!(p.events.iter().any(|e| e.field_str("command") == Some("echo \"line one\nline two\"")));
    // The kill inside the loop is found despite the comment lines before it, with the loop's time; the
    // here-doc's `kill -9 1` is text written to a file; cmdhist's one-line loop (`do   kill`) is a kill.
    assert_eq!(lp.kind, EventKind::KillCommand);
    assert_eq!(
        (lp.fields["signal"].to_json(), lp.fields["target_exprs"].to_json()),
        (json!(9), json!(["$pid"]))
    );
    assert_eq!(doc.kind, EventKind::ShellCommand);
    let one_line = p
        .events
        .iter()
        .find(|e| e.field_str("command").is_some_and(|c| c.ends_with("do   kill -TERM $pid; done")))
        .expect("cmdhist loop");
    assert_eq!((one_line.kind, one_line.fields["signal"].to_json()), (EventKind::KillCommand, json!(15)));
    assert_eq!(p.events.iter().filter(|e| e.kind == EventKind::KillCommand).count(), 3);
    // Non-UTF-8 bytes in a two-line entry: raw is exact, the kill on its second line is found.
    let odd = p
        .events
        .iter()
        .find(|e| e.raw.to_bytes().starts_with(b"echo \"caf\xe9\n"))
        .expect("non-UTF-8 entry");
    assert_eq!(odd.raw.to_bytes(), b"echo \"caf\xe9\n\" && kill -HUP 999999");
    assert_eq!(odd.kind, EventKind::KillCommand);
    assert_eq!(
        (odd.fields["signal"].to_json(), odd.fields["target_pids"].to_json()),
        (json!(1), json!([999_999]))
    );
    assert_eq!(odd.fields["command_bytes"], json!(Text::from_bytes(b"echo \"caf\xe9\n\" && kill -HUP 999999")));
    insta::assert_json_snapshot!("bash_history_multiline", golden(&p));
}

/// Lines before the first stamp and a CRLF file: undated lines stay one command each; `\r` is not command text.
#[test]
fn bash_undated_lines_and_crlf() {
    let e = entry("bash_history", "fs/root/.bash_history", "/root/.bash_history", Some("root"), Some(MTIME));
    let p = run(b"ls\r\nkill 5\r\n#1700000000\r\nfor i in 1; do\r\n  kill -9 $i\r\ndone\r\n\r\n#1700000060\r\npwd\r\n", &e);
    let cmds: Vec<_> = p.events.iter().map(|e| e.field_str("command").unwrap_or("")).collect();
    assert_eq!(cmds, ["ls", "kill 5", "for i in 1; do\n  kill -9 $i\ndone", "pwd"]);
    assert_eq!(p.events[2].raw.to_bytes(), b"for i in 1; do\r\n  kill -9 $i\r\ndone\r");
    assert!(matches!(p.events[1].timestamp, Timestamp::Bounded { .. }));
    assert_eq!(p.events[2].kind, EventKind::KillCommand);
    assert!(p.problems.is_empty(), "{:?}", p.problems);
}

/// Regression: a command typed as `kill -HUP \` + newline + `  999999` is saved by zsh as `kill -HUP \\` +
/// newline; counting backslashes (even = escaped) split it in two and lost the kill's target. Checked against
/// what zsh 5.9 itself reads back from this file (`fc -R`, then `$history`).
#[test]
fn zsh_multiline_entries_as_zsh_reads_them() {
    let p = hist("zsh_history", "zsh_history_multiline");
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    let cmds: Vec<&str> = p.events.iter().map(|e| e.field_str("command").unwrap_or("")).collect();
    assert_eq!(p.events.len(), 17, "{cmds:#?}");
    let stamp = Timestamp::Exact {
        utc: Utc::from_unix(1_796_399_077, 0).expect("t"),
    };
    assert!(p.events.iter().all(|e| e.timestamp == stamp));
    let hup = p
        .events
        .iter()
        .find(|e| e.field_str("command") == Some("kill -HUP \\\n  999999"))
        .expect("continued kill");
    assert_eq!(hup.kind, EventKind::KillCommand);
    assert_eq!(
        (hup.fields["signal"].to_json(), hup.fields["target_pids"].to_json()),
        (json!(1), json!([999_999]))
    );
    assert_eq!(hup.raw.to_bytes(), b": 1796399077:0;kill -HUP \\\\\n  999999");
    assert!(cmds.contains(&"echo \"two backslashes then newline \\\\\\\\\nnext\""), "{cmds:#?}");
    assert!(cmds.contains(&"echo \"trailing backslash\" \\\\"), "{cmds:#?}");
    let lp = p
        .events
        .iter()
        .find(|e| e.field_str("command").is_some_and(|c| c.starts_with("for p in")))
        .expect("loop");
    assert_eq!(
        lp.field_str("command"),
        Some("for p in $(pgrep -f coroner-zsh-victim); do\n  echo \"killing $p\"\n  kill -9 $p\ndone")
    );
    assert_eq!(lp.kind, EventKind::KillCommand);
    assert_eq!(lp.origin.line, Some(7));
    let doc = p
        .events
        .iter()
        .find(|e| e.field_str("command").is_some_and(|c| c.starts_with("cat > /tmp/hs/znotes.txt")))
        .expect("here-doc");
    assert_eq!(doc.kind, EventKind::ShellCommand, "a here-doc body is data, not a command");
    // Metafied UTF-8 (▒ is E2 96 92, both continuation bytes metafied) comes back whole.
    assert!(cmds.contains(&"echo ő ▒ 日本"), "{cmds:#?}");
    let raw = p.events.iter().find(|e| e.raw.to_bytes().ends_with(b"raw \xe9\xff bytes")).expect("raw bytes");
    assert_eq!(raw.fields["command_bytes"], json!(Text::from_bytes(b"echo raw \xe9\xff bytes")));
    insta::assert_json_snapshot!("zsh_history_multiline", golden(&p));
}

/// A 0x83 that zsh did not write as Meta (here UTF-8 'σ', CF 83, then `x`, in a file another tool wrote) is
/// kept and reported, not XORed into a different byte.
#[test]
fn zsh_unmetafied_0x83_is_kept_and_reported() {
    let e = entry("zsh_history", "fs/x", "/x", None, None);
    let p = run(b": 1700000000:0;echo \xcf\x83x\n", &e);
    assert_eq!(p.events[0].field_str("command"), Some("echo σx"));
    assert_eq!(p.problems.len(), 1, "{:?}", p.problems);
}

/// fish writes a multi-line command on one `- cmd:` line with `\n` escapes (real fish 3.6 output): one event,
/// its kill found with the entry's `when:`.
#[test]
fn fish_multiline_entry() {
    let p = hist("fish_history", "fish_history_multiline");
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    assert_eq!(p.events.len(), 6);
    let lp = &p.events[2];
    assert_eq!(
        lp.field_str("command"),
        Some("for p in (pgrep -f coroner-fish-victim)\n  echo \"killing $p\"\n  kill -9 $p\nend")
    );
    assert_eq!((lp.kind, lp.fields["signal"].to_json()), (EventKind::KillCommand, json!(9)));
    assert_eq!(lp.timestamp, Timestamp::Exact { utc: Utc::from_unix(1_796_399_065, 0).expect("t") });
    assert_eq!(p.events[3].field_str("command"), Some("echo \"one\ntwo\" 'a\\\\b'"));
    insta::assert_json_snapshot!("fish_history_multiline", golden(&p));
}

/// tcsh (real 6.24 `history -S`) dates each line of a `foreach` on its own, and writes a quoted `\`-newline as
/// two lines after one `#+` stamp: that is one command.
#[test]
fn tcsh_multiline_entry() {
    let p = hist("tcsh_history", "tcsh_history_multiline");
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    let cmds: Vec<&str> = p.events.iter().map(|e| e.field_str("command").unwrap_or("")).collect();
    assert_eq!(p.events.len(), 10, "{cmds:#?}");
    assert!(cmds.contains(&"echo \"one\\\ntwo\""), "{cmds:#?}");
    assert!(p.events.iter().all(|e| matches!(e.timestamp, Timestamp::Exact { .. })));
    let hup = p.events.iter().find(|e| e.field_str("command") == Some("echo done ; kill -HUP 999999")).expect("hup");
    assert_eq!(hup.fields["target_pids"], json!([999_999]));
    insta::assert_json_snapshot!("tcsh_history_multiline", golden(&p));
}

/// Regression: a zsh stamp of 0 (`: 0:0;`, as histories converted from bash carry) was an exact time of
/// 1970-01-01; the command is undated, bounded by its dated neighbours.
#[test]
fn a_zero_stamp_is_undated() {
    let e = entry("zsh_history", "fs/root/.zsh_history", "/root/.zsh_history", Some("root"), Some(MTIME));
    let p = run(b": 0:0;ls\n: 1795811602:0;id\n", &e);
    assert_eq!(p.events.len(), 2);
    assert_eq!(p.events[0].timestamp, Timestamp::Bounded { after: None, before: Utc::from_unix(1_795_811_602, 0) });
}

#[test]
fn support_builds_a_context() {
    let p = run(
        b"",
        &entry(
            "bash_history",
            "fs/root/.bash_history",
            "/root/.bash_history",
            Some("root"),
            None,
        ),
    );
    assert!(p.events.is_empty() && p.problems.is_empty());
}
