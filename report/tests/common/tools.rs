//! Tests that check an output with a real outside reader (python's csv, pandas, node, cmark-gfm) skip with a
//! printed reason where the reader is missing, but not under CI (`CI` set), where `.ci/run` installs them: a
//! missing install step there must fail, not pass silently.

/// Says why the check is skipped, or fails under CI.
pub fn missing(why: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{why}: .ci/run installs it, so under CI its absence is a failure");
    }
    eprintln!("skipped: {why}");
}

/// The first Python 3 on this machine that imports `module`: `python3` on PATH, then Debian's own, which a
/// version manager's `python3` (pyenv here) shadows while the distribution's packages live only in the latter.
#[allow(dead_code)]
pub fn python_with(module: &str) -> Option<&'static str> {
    ["python3", "/usr/bin/python3"].into_iter().find(|py| {
        std::process::Command::new(py)
            .args(["-c", &format!("import {module}")])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}
