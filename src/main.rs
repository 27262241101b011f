//! The `alertscale` binary: parses the command line and hands it to `alertscale::cli`.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    alertscale::cli::run(alertscale::cli::Cli::parse())
}
