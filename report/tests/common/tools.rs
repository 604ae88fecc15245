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
