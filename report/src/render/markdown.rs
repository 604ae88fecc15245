//! TODO(render/markdown).
