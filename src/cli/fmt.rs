//! `alertscale fmt PATH...`: rewrite policy files in the canonical layout; `--check` only lists
//! the files that would change; `-` formats standard input to standard output.

use std::io::{Read, Write};
use std::path::PathBuf;

use clap::Args;

use super::{exit, stderr_color, Paths};
use crate::policy::{self, format, Diagnostic, SourceFile};

#[derive(Debug, Args)]
pub struct FmtArgs {
    #[command(flatten)]
    pub paths: Paths,
    /// Change nothing; list the files that would change and exit 1 if any
    #[arg(long)]
    pub check: bool,
}

pub fn run(args: FmtArgs) -> u8 {
    if args.paths.paths == [PathBuf::from("-")] {
        return stdin();
    }
    let paths = match policy::discover(&args.paths.paths) {
        Ok(paths) => paths,
        Err(error) => {
            eprintln!("error: {error}");
            return exit::USAGE;
        }
    };
    let mut code = exit::OK;
    for path in paths {
        let file = match policy::read_source(&path) {
            Ok(file) => file,
            Err(error) => {
                eprintln!("error: {error}");
                return exit::USAGE;
            }
        };
        let formatted = match format::format_source(&file) {
            Ok(formatted) => formatted,
            Err(diagnostics) => {
                print_diagnostics(&diagnostics);
                code = exit::FINDINGS;
                continue;
            }
        };
        if formatted == file.text {
            continue;
        }
        if args.check {
            println!("{}", path.display());
            code = exit::FINDINGS;
        } else if let Err(error) = std::fs::write(&path, formatted) {
            eprintln!("error: cannot write `{}`: {error}", path.display());
            return exit::USAGE;
        }
    }
    code
}

fn stdin() -> u8 {
    let mut text = String::new();
    if let Err(error) = std::io::stdin().read_to_string(&mut text) {
        eprintln!("error: cannot read standard input: {error}");
        return exit::USAGE;
    }
    match format::format_source(&SourceFile::new("<stdin>", text)) {
        Ok(formatted) => {
            let _ = std::io::stdout().write_all(formatted.as_bytes());
            exit::OK
        }
        Err(diagnostics) => {
            print_diagnostics(&diagnostics);
            exit::FINDINGS
        }
    }
}

fn print_diagnostics(diagnostics: &[Diagnostic]) {
    let color = stderr_color();
    for d in diagnostics {
        eprintln!("{}", d.render_human(color));
    }
}
