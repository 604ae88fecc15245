//! TODO(acquire/limits): not yet written.

use super::{Ctx, Item};

pub fn collect(_ctx: &Ctx, _out: &mut Vec<Item>) {}
