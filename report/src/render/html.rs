//! TODO(render/html).
