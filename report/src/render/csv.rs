//! TODO(render/csv).
