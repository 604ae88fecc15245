//! TODO(sources/cron): not yet written.

use super::{Parsed, SourceCtx};

pub fn parse(_raw: &[u8], _ctx: &SourceCtx) -> Parsed {
    Parsed::default()
}
