//! `coroner-report fleet`: many hosts' bundles, verified against one pinned fleet key, analysed host by host,
//! and one overview and timeline across them.

pub mod patterns;
