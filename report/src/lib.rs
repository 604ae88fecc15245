//! coroner-report: read a Coroner bundle offline, verify it, parse every source into one UTC timeline,
//! and render it (HTML, Markdown, JSONL, CSV) with findings first.
//!
//! Trust nothing read: the bundle is verified before it is parsed, entry names are never used as paths,
//! decompression is capped, and every parser is pure over bytes and turns bad input into problems.

#![forbid(unsafe_code)]

pub mod bundle;
pub mod cli;
pub mod decrypt;
pub mod direct;
pub mod findings;
pub mod fleet;
pub mod pipeline;
pub mod render;
pub mod sources;
pub mod timeline;
pub mod verify;
