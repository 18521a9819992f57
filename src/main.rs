//! `lune-ffi`: a Lune runtime with `@lune/ffi` registered beside the standard libraries.
//!
//! Usage mirrors `lune run`: `lune-ffi run <script> [args...]` or `lune-ffi <script> [args...]`.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
