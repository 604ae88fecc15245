//! `coroner-report`: parse the command line and dispatch; everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    coroner_report::cli::run(coroner_report::cli::Cli::parse())
}
