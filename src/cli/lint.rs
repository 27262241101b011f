//! `alertscale lint PATH...`: every error and warning of every file, in one run.

use clap::{Args, ValueEnum};

use super::{exit, stdout_color, Paths};
use crate::policy::{self, diagnostic, CompileOptions};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LintFormat {
    /// `file:line:col: error[CODE]: message`, the line, a caret, and help
    Human,
    /// A JSON array of diagnostics
    Json,
    /// GitHub Actions annotations
    Github,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    #[command(flatten)]
    pub paths: Paths,
    /// Output format
    #[arg(long, value_enum, default_value = "human")]
    pub format: LintFormat,
    /// Exit 1 on warnings too
    #[arg(long)]
    pub deny_warnings: bool,
    /// The server-wide instance cap the policies will run under
    #[arg(long = "scale.max-instances", value_name = "N", default_value_t = policy::DEFAULT_MAX_INSTANCES)]
    pub max_instances: u32,
}

pub fn run(args: LintArgs) -> u8 {
    let options = CompileOptions {
        max_instances: args.max_instances,
    };
    let (files, checked) = match policy::load(&args.paths.paths, options) {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("error: {error}");
            return exit::USAGE;
        }
    };
    let diagnostics = &checked.diagnostics;
    match args.format {
        LintFormat::Human => {
            let color = stdout_color();
            for d in diagnostics {
                println!("{}", d.render_human(color));
            }
            println!("{}", diagnostic::summary(diagnostics, files.len()));
        }
        LintFormat::Json => {
            println!(
                "{}",
                serde_json::to_string_pretty(diagnostics).expect("diagnostics serialize")
            );
        }
        LintFormat::Github => {
            for d in diagnostics {
                println!("{}", d.render_github());
            }
        }
    }
    let errors = checked.has_errors();
    let warnings = diagnostics.iter().any(|d| !d.is_error());
    if errors || (args.deny_warnings && warnings) {
        exit::FINDINGS
    } else {
        exit::OK
    }
}
