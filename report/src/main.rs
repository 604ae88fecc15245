//! `coroner-report`: parse the command line and dispatch; everything else lives in the library.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;

/// A render makes millions of small allocations on several threads; glibc's per-thread arenas grow by a
/// system call at a time, mimalloc does not.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    coroner_report::cli::run(coroner_report::cli::Cli::parse())
}
