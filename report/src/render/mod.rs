//! Renderers: HTML, Markdown, JSONL, CSV.
