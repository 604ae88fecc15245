//! coroner-collect: snapshot the evidence of a process death into one signed tar.gz bundle.
//!
//! `acquire` decides *what* to take (a plan of [`acquire::Item`]s); `bundle` takes it: opens each file
//! safely, streams it through sha256 and gzip into the tar within the caps, records what happened in the
//! manifest, and signs the manifest. The collector copies bytes; it never interprets evidence. `watch` is the
//! long-running signal recorder whose files the collector later takes.

pub mod acquire;
pub mod arm;
pub mod bundle;
pub mod cli;
pub mod watch;
