//! The command line interface of the `lune-ffi` binary (not part of the library).

mod args;
mod bindgen;
mod runtime;
mod script;

use std::{io::Write, process::ExitCode};

use lune_utils::fmt::Label;

use self::args::Command;

/// Exit code for command line usage errors (the convention clap and Lune follow).
const EXIT_USAGE: u8 = 2;

/// Parses the command line, runs what it asks for and returns the process exit code.
pub fn main() -> ExitCode {
    match args::parse(std::env::args_os().skip(1)) {
        Ok(Command::Help) => {
            print_stdout(&args::help_text());
            ExitCode::SUCCESS
        }
        Ok(Command::Version) => {
            print_stdout(&args::version_text());
            ExitCode::SUCCESS
        }
        Ok(Command::Run { script, args }) => runtime::run_script(&script, args),
        Ok(Command::Bindgen(b)) => bindgen::run(b),
        Err(message) => {
            eprintln!(
                "{}\n{message}\n\n{}",
                Label::Error,
                args::usage_text().trim_end()
            );
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// Writes to stdout, ignoring a closed pipe (`lune-ffi --help | head -1`).
fn print_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}
