//! TODO(acquire/procs): not yet written.

use super::{Ctx, Item};

pub fn collect(_ctx: &Ctx, _out: &mut Vec<Item>) {}
