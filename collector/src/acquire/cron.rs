//! Scheduled jobs: system and user crontabs, anacron, the `cron.{hourly,…}` script folders and at jobs.
//! (systemd timers are `systemd.rs`'s.)

use coroner_schemas::manifest::{Category, Format, Kept};

use super::walk::{self, Kind};
use super::{Ctx, FileItem, Item};

/// Run-parts folders whose scripts cron starts.
pub const SCRIPT_DIRS: &[&str] = &[
    "/etc/cron.hourly",
    "/etc/cron.daily",
    "/etc/cron.weekly",
    "/etc/cron.monthly",
];

/// Where at(1) keeps its queued jobs (Debian, then Red Hat and others).
pub const AT_DIRS: &[&str] = &["/var/spool/cron/atjobs", "/var/spool/at"];

pub fn collect(ctx: &Ctx, out: &mut Vec<Item>) {
    let push = |out: &mut Vec<Item>, host: String, format: Format, account: Option<String>| {
        let mut item = FileItem::new(host, Category::Cron, format);
        item.account = account;
        item.keep = Kept::Head;
        walk::push_file(ctx, out, item);
    };
    for host in ["/etc/crontab"] {
        if walk::stat(ctx, host).is_some() {
            push(out, host.to_owned(), Format::SystemCrontab, None);
        }
    }
    for e in files(ctx, "/etc/cron.d", Format::SystemCrontab, out) {
        push(out, e.host, Format::SystemCrontab, None);
    }
    if walk::stat(ctx, "/etc/anacrontab").is_some() {
        push(out, "/etc/anacrontab".to_owned(), Format::Anacrontab, None);
    }
    for dir in SCRIPT_DIRS {
        for e in files(ctx, dir, Format::CronScript, out) {
            push(out, e.host, Format::CronScript, None);
        }
    }
    // User crontabs: Debian's /var/spool/cron/crontabs/USER, Red Hat's /var/spool/cron/USER. The file name
    // is the account (cron itself trusts it).
    for dir in ["/var/spool/cron/crontabs", "/var/spool/cron"] {
        for e in files(ctx, dir, Format::UserCrontab, out) {
            // Debian keeps at's bookkeeping beside the crontabs folder.
            if dir == "/var/spool/cron" && e.name.starts_with('.') {
                continue;
            }
            let account = Some(e.name.clone());
            push(out, e.host, Format::UserCrontab, account);
        }
    }
    for dir in AT_DIRS {
        for e in files(ctx, dir, Format::AtJob, out) {
            if e.name == ".SEQ" {
                continue; // at's job counter, not a job
            }
            push(out, e.host, Format::AtJob, None);
        }
    }
}

/// The non-directory entries of one folder (directories there are other spools, listed on their own).
fn files(ctx: &Ctx, dir: &str, format: Format, out: &mut Vec<Item>) -> Vec<walk::Found> {
    walk::list(ctx, dir, Category::Cron, format, out)
        .into_iter()
        .filter(|e| e.kind != Kind::Dir)
        .collect()
}
