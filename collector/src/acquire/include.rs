//! `--include GLOB`: the operator's own evidence (application logs, a service's state folder). Absolute host
//! globs (`*`, `?`, `**`); a matched folder brings the files under it. Files that are ELF cores are left to
//! `cores.rs`, which applies the core policy to them.

use coroner_schemas::manifest::{Category, Format, Kept};

use super::cores;
use super::walk::{self, Kind};
use super::{Ctx, FileItem, Item};

pub fn collect(ctx: &Ctx, out: &mut Vec<Item>) {
    // A file another module already planned (with its own format) is not taken twice.
    let mut seen = cores::planned_files(out);
    for pat in &ctx.opts.includes {
        for e in cores::included(ctx, pat, out) {
            if e.kind == Kind::Dir || !seen.insert(e.host.clone()) {
                continue;
            }
            if e.kind == Kind::File && cores::is_elf_core(&ctx.host_path(&e.host)) {
                continue;
            }
            let mut item = FileItem::new(e.host, Category::Include, Format::Other);
            item.keep = Kept::Tail;
            walk::push_file(ctx, out, item);
        }
    }
}
