//! The host's own account databases, `/etc/passwd` and `/etc/group` (never `/etc/shadow`): the report names
//! uids and gids as the collected host knew them.

use coroner_schemas::manifest::{Category, Format};

use super::fsutil::file_item;
use super::{Ctx, Item};

pub fn collect(ctx: &Ctx, out: &mut Vec<Item>) {
    out.push(file_item(ctx, "/etc/passwd", Category::Accounts, Format::Passwd));
    out.push(file_item(ctx, "/etc/group", Category::Accounts, Format::Group));
}
