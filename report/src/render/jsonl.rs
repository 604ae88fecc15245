//! TODO(render/jsonl).
