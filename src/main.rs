use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    alertscale::cli::run(alertscale::cli::Cli::parse())
}
