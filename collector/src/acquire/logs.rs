//! System logs: `/var/log/{syslog,messages,kern.log,…}` with their rotations (stored as found, `.gz` and all),
//! and the journal — exported with `journalctl -o json` on a live host, copied raw under `--root`.

use coroner_schemas::manifest::{Category, Format, Kept, Status};

use super::walk::{self, Bounds, Kind};
use super::{command, AbsentItem, Ctx, FileItem, Item};

/// Syslog files (and their rotations) looked for in `/var/log`.
pub const SYSLOG_BASES: &[&str] = &[
    "syslog",
    "messages",
    "kern.log",
    "daemon.log",
    "auth.log",
    "secure",
    "cron",
    "cron.log",
    "user.log",
];

/// Where journald keeps its files: persistent, then volatile.
pub const JOURNAL_DIRS: &[&str] = &["/var/log/journal", "/run/log/journal"];

/// Bundle path of the journal export.
pub const JOURNAL_EXPORT: &str = "cmd/journalctl.json";

pub fn collect(ctx: &Ctx, out: &mut Vec<Item>) {
    syslog_files(ctx, out);
    journal(ctx, out);
}

fn syslog_files(ctx: &Ctx, out: &mut Vec<Item>) {
    for e in walk::list(ctx, "/var/log", Category::Syslog, Format::Syslog, out) {
        if e.kind == Kind::Dir {
            continue;
        }
        let Some(compressed) = SYSLOG_BASES.iter().find_map(|b| walk::rotation_of(&e.name, b)) else {
            continue;
        };
        let mut item = FileItem::new(e.host, Category::Syslog, Format::Syslog);
        item.keep = Kept::Tail;
        item.compressed = compressed.map(str::to_owned);
        walk::push_file(ctx, out, item);
    }
}

fn journal(ctx: &Ctx, out: &mut Vec<Item>) {
    let present: Vec<&str> = JOURNAL_DIRS.iter().copied().filter(|d| is_dir(ctx, d)).collect();
    if ctx.live {
        let runtime = is_dir(ctx, "/run/systemd/journal");
        if !runtime && present.is_empty() {
            out.push(not_applicable(
                "no journald on this host (no /run/systemd/journal, no journal directory)",
            ));
            return;
        }
        let since = format!("--since=-{}s", ctx.opts.journal_window_seconds);
        out.push(command::capture(
            ctx,
            &["journalctl", "-o", "json", "--no-pager", "--all", &since],
            &[],
            JOURNAL_EXPORT,
            Category::Journal,
            Format::JournalJson,
        ));
        return;
    }
    // Under --root: nothing to run; the journal files themselves are copied raw (offline journals are read
    // with `journalctl --directory DIR` by whoever has journalctl; the report records that).
    out.push(not_applicable("not a live host: journal files under /var/log/journal and /run/log/journal, when present, are copied raw (read them with journalctl --directory DIR)"));
    for dir in present {
        let b = Bounds {
            max_depth: 3,
            max_count: 10_000,
        };
        for e in walk::walk(ctx, dir, b, Category::Journal, Format::Other, out) {
            let mut item = FileItem::new(e.host, Category::Journal, Format::Other);
            item.keep = Kept::Tail;
            walk::push_file(ctx, out, item);
        }
    }
}

fn is_dir(ctx: &Ctx, host: &str) -> bool {
    walk::resolve(ctx, host, true)
        .ok()
        .and_then(|h| walk::stat(ctx, &h))
        .is_some_and(|f| f.kind == Kind::Dir)
}

fn not_applicable(reason: &str) -> Item {
    Item::Absent(AbsentItem {
        bundle_path: JOURNAL_EXPORT.to_owned(),
        source: "journalctl -o json".to_owned(),
        category: Category::Journal,
        format: Format::JournalJson,
        status: Status::NotApplicable {
            reason: reason.to_owned(),
        },
    })
}
