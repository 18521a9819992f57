//! `lune-ffi bindgen`: writes the typed module of `lune_ffi::bindgen` to a file or stdout.

use std::process::ExitCode;

use lune_utils::fmt::Label;

use super::args::Bindgen;

pub fn run(b: Bindgen) -> ExitCode {
    // The command as a user would type it again, for the module's header comment.
    let mut command = vec!["lune-ffi".to_string(), "bindgen".to_string()];
    command.extend(b.inputs.iter().cloned());
    command.push("--lib".into());
    command.push(b.lib.clone());
    command.extend(b.include.iter().map(|d| format!("-I{}", d)));
    command.extend(b.defines.iter().map(|(n, v)| match v {
        Some(v) => format!("-D{}={}", n, v),
        None => format!("-D{}", n),
    }));
    let opts = lune_ffi::bindgen::Options {
        inputs: b.inputs,
        lib: b.lib,
        defines: b.defines,
        include: b.include,
        command: command.join(" "),
    };
    let text = match lune_ffi::bindgen::generate(&opts) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{}\nbindgen: {}", Label::Error, e);
            return ExitCode::FAILURE;
        }
    };
    match &b.output {
        Some(path) => {
            if let Err(e) = std::fs::write(path, text) {
                eprintln!(
                    "{}\nbindgen: cannot write {}: {}",
                    Label::Error,
                    path.to_string_lossy(),
                    e
                );
                return ExitCode::FAILURE;
            }
        }
        None => super::print_stdout(&text),
    }
    ExitCode::SUCCESS
}
