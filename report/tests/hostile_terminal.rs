//! `coroner-report why` on the hostile bundles (common/hostile.rs), under a real pseudo-terminal (script(1))
//! and piped: for every death and every pid a payload travels with (OOM victims, killed processes and their
//! killers, failed logins, containers, journal senders), its output holds no byte that a terminal acts on: no
//! ESC, no C1 control (0x9b, U+009B), no BEL, backspace, NUL or bare CR, no bidi override or isolate, no
//! zero-width or line-separator character. Coroner itself writes none (it does not colour `why`).

mod common;
#[path = "common/hostile.rs"]
mod hostile;
#[path = "common/live.rs"]
mod live;
#[path = "common/tools.rs"]
mod tools;

use std::path::Path;
use std::process::{Command, Stdio};

use hostile::{Payload, Run};

/// A shell script that asks `why` about every process and container the payloads were staged with.
fn why_script(run: &Run, payloads: &[Payload]) -> String {
    let bin = env!("CARGO_BIN_EXE_coroner-report");
    let q = |p: &Path| format!("'{}'", p.display());
    let mut s = String::from("#!/bin/sh\n");
    for i in 0..payloads.len() {
        for pid in [5000 + i, 6000 + i, 7000 + i, 2300 + i] {
            s.push_str(&format!("{bin} why {} --pid {pid}\n", q(&run.bundle)));
        }
        s.push_str(&format!("{bin} why {} --container {}\n", q(&run.bundle), &hostile::container_id(i)[..16]));
        s.push_str(&format!("{bin} why {} --pid {}\n", q(&run.journal_bundle), 8000 + i));
    }
    s
}

/// Where `out` holds a byte or character a terminal would act on, described; CR only as the tty's CRLF.
fn terminal_hazards(out: &[u8], tty: bool) -> Vec<String> {
    let mut bad = Vec::new();
    for (i, &b) in out.iter().enumerate() {
        let next = out.get(i + 1).copied();
        match b {
            0x1b => bad.push(format!("ESC at {i}")),
            0x9b => bad.push(format!("C1 CSI byte at {i}")),
            0x07 => bad.push(format!("BEL at {i}")),
            0x08 => bad.push(format!("backspace at {i}")),
            0x00 => bad.push(format!("NUL at {i}")),
            b'\r' if !(tty && next == Some(b'\n')) => bad.push(format!("CR at {i}")),
            _ => {}
        }
    }
    match std::str::from_utf8(out) {
        Err(e) => bad.push(format!("not UTF-8: {e}")),
        Ok(s) => {
            for (i, c) in s.char_indices() {
                let hazard = matches!(c, '\u{80}'..='\u{9f}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}');
                if hazard {
                    bad.push(format!("U+{:04X} at {i}", c as u32));
                }
            }
        }
    }
    bad
}

/// The checks on one run's output: no hazard, and the payloads really were in it (as visible escapes).
fn check(out: &[u8], tty: bool, what: &str) {
    let bad = terminal_hazards(out, tty);
    assert!(bad.is_empty(), "{what}: `why` passed terminal controls through: {:?}", &bad[..bad.len().min(20)]);
    let text = String::from_utf8_lossy(out);
    for needle in ["PWNED", "\\x1b]52;c;", "\\x1b[31mRED", "\\x07", "\\u{202e}", "\\u{2066}", "\\u{200b}"] {
        assert!(text.contains(needle), "{what}: the answers never showed {needle:?}: the payloads did not reach `why`");
    }
}

fn runs() -> (Vec<Payload>, Run) {
    let p = hostile::payloads();
    let run = hostile::run(&p);
    (p, run)
}

#[test]
fn hostile_why_piped_passes_no_terminal_control() {
    let (payloads, run) = runs();
    let script = run.dir.path().join("why.sh");
    std::fs::write(&script, why_script(&run, &payloads)).expect("write script");
    let out = Command::new("sh").arg(&script).stderr(Stdio::inherit()).output().expect("run why");
    check(&out.stdout, false, "piped");
}

#[test]
fn hostile_why_on_a_tty_passes_no_terminal_control() {
    if Command::new("script").arg("--version").output().is_err() {
        tools::missing("script(1) is not installed (util-linux/bsdutils)");
        return;
    }
    let (payloads, run) = runs();
    let script = run.dir.path().join("why.sh");
    std::fs::write(&script, why_script(&run, &payloads)).expect("write script");
    // script(1) runs the commands on a new pseudo-terminal and copies what they write to it to our stdout.
    let mut child = Command::new("script")
        .args(["-q", "-e", "-c", &format!("sh '{}'", script.display()), "/dev/null"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("script");
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut v).map(|_| v)
    });
    let status = live::wait_bounded(&mut child, 300);
    let out = reader.join().expect("reader").expect("read");
    assert!(status.code().is_some(), "script(1) was killed: {status}");
    assert!(out.contains(&b'\r'), "no CRLF: the output did not come through a terminal");
    check(&out, true, "tty");
}
