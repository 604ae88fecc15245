//! The audit trail: `/var/log/audit/audit.log*` as found, the configured rules and daemon settings, and on
//! a live host the rules and status the kernel actually has (`auditctl -l`, `auditctl -s`).

use coroner_schemas::manifest::{Category, Format, Kept};

use super::walk::{self, Kind};
use super::{command, Ctx, FileItem, Item};

pub fn collect(ctx: &Ctx, out: &mut Vec<Item>) {
    for e in walk::list(ctx, "/var/log/audit", Category::Audit, Format::AuditLog, out) {
        if e.kind == Kind::Dir {
            continue;
        }
        if let Some(compressed) = walk::rotation_of(&e.name, "audit.log") {
            let mut item = FileItem::new(e.host, Category::Audit, Format::AuditLog);
            item.keep = Kept::Tail;
            item.compressed = compressed.map(str::to_owned);
            walk::push_file(ctx, out, item);
        }
    }
    for host in ["/etc/audit/audit.rules", "/etc/audit/auditd.conf"] {
        if walk::stat(ctx, host).is_some() {
            walk::push_file(ctx, out, FileItem::new(host, Category::Audit, Format::Other));
        }
    }
    for e in walk::list(ctx, "/etc/audit/rules.d", Category::Audit, Format::Other, out) {
        if e.kind != Kind::Dir && e.name.ends_with(".rules") {
            walk::push_file(ctx, out, FileItem::new(e.host, Category::Audit, Format::Other));
        }
    }
    // What the kernel enforces now, which may differ from the files (rules added by hand, `-e 2`).
    out.push(command::capture(
        ctx,
        &["auditctl", "-l"],
        &[],
        "cmd/auditctl-l.txt",
        Category::Audit,
        Format::AuditRules,
    ));
    out.push(command::capture(
        ctx,
        &["auditctl", "-s"],
        &[],
        "cmd/auditctl-s.txt",
        Category::Audit,
        Format::AuditStatus,
    ));
}
