//! The command line: `lint`, `fmt`, `plan` and `serve`. Each subcommand is a module with a `run` that
//! returns the process exit code; nothing below `main` calls `std::process::exit`.

pub mod fmt;
pub mod lint;
pub mod plan;
pub mod serve;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit codes shared by the subcommands.
pub mod exit {
    /// Clean.
    pub const OK: u8 = 0;
    /// Findings: errors (or warnings with `--deny-warnings`), files to reformat, bad input.
    pub const FINDINGS: u8 = 1;
    /// Usage or I/O error: the check could not run.
    pub const USAGE: u8 = 2;
}

#[derive(Debug, Parser)]
#[command(
    name = "alertscale",
    version,
    about = "Autoscale Spring Cloud Data Flow streams from Prometheus alerts, by policy"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check policy files and report every error and warning
    Lint(lint::LintArgs),
    /// Rewrite policy files in the canonical layout
    Fmt(fmt::FmtArgs),
    /// Show what a webhook payload would make the engine do, offline
    Plan(plan::PlanArgs),
    /// Receive Alertmanager notifications and scale SCDF apps (dry run without --scdf.url)
    Serve(Box<serve::ServeArgs>),
}

pub fn run(cli: Cli) -> ExitCode {
    let code = match cli.command {
        Command::Lint(args) => lint::run(args),
        Command::Fmt(args) => fmt::run(args),
        Command::Plan(args) => plan::run(args),
        Command::Serve(args) => serve::run(*args),
    };
    ExitCode::from(code)
}

/// Colour only on a terminal, and never when `NO_COLOR` is set to anything but empty.
pub fn use_color(stream_is_terminal: bool) -> bool {
    stream_is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

pub fn stdout_color() -> bool {
    use_color(std::io::stdout().is_terminal())
}

pub fn stderr_color() -> bool {
    use_color(std::io::stderr().is_terminal())
}

/// Paths given on the command line, at least one.
#[derive(Debug, Clone, clap::Args)]
pub struct Paths {
    /// Policy files, or directories searched recursively for `*.policy`
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}
