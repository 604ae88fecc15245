//! The signal recorder's own log (`coroner-collect watch`): `/var/lib/coroner/watch/watch-*.jsonl`, copied
//! raw like any log (the tail kept when over the cap); the report parses them.

use coroner_schemas::manifest::{Category, Format, Kept};
use coroner_schemas::watch::{DEFAULT_STATE_DIR, WATCH_SUBDIR};

use super::walk::{self, Kind};
use super::{Ctx, FileItem, Item};

/// The recorder's directory on the collected host.
pub fn dir() -> String {
    format!("{DEFAULT_STATE_DIR}/{WATCH_SUBDIR}")
}

/// `watch-<n>.jsonl`, the only names the recorder writes.
pub fn is_watch_file(name: &str) -> bool {
    name.strip_prefix("watch-")
        .and_then(|r| r.strip_suffix(".jsonl"))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

pub fn collect(ctx: &Ctx, out: &mut Vec<Item>) {
    for e in walk::list(ctx, &dir(), Category::Watch, Format::WatchJsonl, out) {
        if e.kind != Kind::File || !is_watch_file(&e.name) {
            continue;
        }
        let mut item = FileItem::new(e.host, Category::Watch, Format::WatchJsonl);
        item.keep = Kept::Tail;
        walk::push_file(ctx, out, item);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_recorders_names_are_taken() {
        assert!(is_watch_file("watch-1.jsonl"));
        assert!(is_watch_file("watch-20.jsonl"));
        for n in ["watch-.jsonl", "watch-1.jsonl.tmp", "watch-x.jsonl", "kmsg-seq", "watch-1.json"] {
            assert!(!is_watch_file(n), "{n}");
        }
    }
}
