//! Hand-rolled argument parsing: the binary has one real command, so clap is not needed.

use std::ffi::{OsStr, OsString};

const NAME: &str = env!("CARGO_PKG_NAME");
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Print the help text.
    Help,
    /// Print the version.
    Version,
    /// Run a script: a file or module path (`-` reads the script from stdin),
    /// with the arguments that end up in `process.args`.
    Run {
        script: OsString,
        args: Vec<OsString>,
    },
    /// Write a typed Luau module for C headers (`bindgen HEADER... --lib NAME [-o FILE]`).
    Bindgen(Bindgen),
}

/// The arguments of `bindgen`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bindgen {
    pub inputs: Vec<String>,
    pub lib: String,
    pub output: Option<OsString>,
    pub defines: Vec<(String, Option<String>)>,
    pub include: Vec<String>,
}

/// Parses the arguments that follow the program name.
///
/// Everything after the script path belongs to the script, even when it looks like
/// an option (`lune-ffi script.luau --help` passes `--help` to the script).
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Command, String> {
    let mut args = args.into_iter();
    let Some(first) = args.next() else {
        return Err("no script given".to_string());
    };
    match first.to_str() {
        Some("-h" | "--help" | "help") => Ok(Command::Help),
        Some("-V" | "--version" | "version") => Ok(Command::Version),
        Some("bindgen") => bindgen(args),
        Some("run") => match args.next() {
            None => Err("`run` needs a script to run".to_string()),
            Some(arg) if is_help(&arg) => Ok(Command::Help),
            Some(arg) => script_then_args(arg, args),
        },
        _ => script_then_args(first, args),
    }
}

/// `bindgen HEADER... --lib NAME [-o FILE] [-I DIR] [-D NAME[=VALUE]]`.
fn bindgen(args: impl Iterator<Item = OsString>) -> Result<Command, String> {
    let mut b = Bindgen::default();
    let mut lib = None;
    let mut args = args.peekable();
    let text = |a: OsString, what: &str| {
        a.into_string()
            .map_err(|a| format!("bindgen: {} `{}` is not UTF-8", what, a.to_string_lossy()))
    };
    while let Some(arg) = args.next() {
        let s = text(arg, "argument")?;
        // `-oFILE`, `-IDIR`, `-DX=1` glued as a C compiler takes them, or separate.
        let mut value = |flag: &str| -> Result<String, String> {
            match s.strip_prefix(flag).filter(|v| !v.is_empty()) {
                Some(v) => Ok(v.to_string()),
                None => match args.next() {
                    Some(v) => text(v, "value"),
                    None => Err(format!("bindgen: `{}` needs a value", flag)),
                },
            }
        };
        match s.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--lib" => lib = Some(value("--lib")?),
            _ if s.starts_with("--lib=") => lib = Some(s["--lib=".len()..].to_string()),
            _ if s.starts_with("-o") => b.output = Some(value("-o")?.into()),
            _ if s.starts_with("-I") => b.include.push(value("-I")?),
            _ if s.starts_with("-D") => {
                let d = value("-D")?;
                b.defines.push(match d.split_once('=') {
                    Some((n, v)) => (n.to_string(), Some(v.to_string())),
                    None => (d, None),
                });
            }
            _ if s.starts_with('-') && s.len() > 1 => {
                return Err(format!("bindgen: unknown option `{}`", s))
            }
            _ => b.inputs.push(s),
        }
    }
    if b.inputs.is_empty() {
        return Err("bindgen: no header given".to_string());
    }
    b.lib = lib.ok_or("bindgen: `--lib NAME` is required (the library `ffi.load` opens)")?;
    Ok(Command::Bindgen(b))
}

fn is_help(arg: &OsStr) -> bool {
    matches!(arg.to_str(), Some("-h" | "--help"))
}

fn script_then_args(
    script: OsString,
    mut rest: impl Iterator<Item = OsString>,
) -> Result<Command, String> {
    // `--` ends the options: the next argument is the script even if it starts with `-`.
    let script = if script == "--" {
        rest.next()
            .ok_or_else(|| "`--` must be followed by a script".to_string())?
    } else if script.len() > 1 && script.to_string_lossy().starts_with('-') {
        return Err(format!(
            "unknown option `{}` (see `{NAME} --help`)",
            script.to_string_lossy()
        ));
    } else {
        script
    };
    Ok(Command::Run {
        script,
        args: rest.collect(),
    })
}

/// The one-paragraph usage, printed after a usage error.
pub fn usage_text() -> String {
    format!(
        "\
Usage: {NAME} run <SCRIPT> [ARGS]...
       {NAME} <SCRIPT> [ARGS]...
       {NAME} bindgen <HEADER>... --lib <NAME> [-o FILE] [-I DIR] [-D NAME[=VALUE]]
       {NAME} --help | --version
"
    )
}

/// The full `--help` text.
pub fn help_text() -> String {
    format!(
        "\
{NAME} {VERSION}
A Lune runtime (Luau) with the foreign function interface `@lune/ffi`.

{usage}
Arguments:
  <SCRIPT>   Script to run: a file path, or a module path without the
             `.luau` / `.lua` extension (`examples/hello` runs
             `examples/hello.luau`, a directory runs its `init.luau`).
             Scripts are also looked for in `lune/` and `.lune/`.
             `-` reads the script from stdin.
  [ARGS]...  Arguments for the script, available as `process.args`.

bindgen writes a typed Luau module for C headers (names as `ffi.include`
takes them, or `.i` files of preprocessed text): it declares them, loads
the library <NAME> and returns it with Luau types for the functions,
constants, structs and unions the headers declare (to stdout without -o).

Options:
  -h, --help     Print this help
  -V, --version  Print the version

{libraries}
the Luau `integer` library is enabled. Set LUNE_LUAU_JIT=0 to turn off
native code generation.

The exit code is the one passed to `process.exit`, else 1 if any thread
errored, else 0.
",
        usage = usage_text(),
        libraries = libraries_text(),
    )
}

/// The `Libraries:` paragraph: `@lune/ffi` and the standard libraries this binary was
/// built with (from lune-std's own list, so it cannot drift from what `require` finds),
/// then the one Lune documents that a cargo feature left out.
fn libraries_text() -> String {
    let mut names = vec!["@lune/ffi".to_string()];
    names.extend(
        lune_std::LuneStandardLibrary::ALL
            .iter()
            .map(|lib| format!("@lune/{}", lib.name())),
    );
    let mut text = format!("Libraries: {};", names.join(", "));
    if !cfg!(feature = "roblox") {
        text.push_str(" @lune/roblox is not built in (cargo feature `roblox`);");
    }
    wrap(&text, 72)
}

/// Breaks `text` at spaces into lines of at most `width` characters.
fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(&line);
    out
}

/// The `--version` text.
pub fn version_text() -> String {
    format!("{NAME} {VERSION}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_strs(args: &[&str]) -> Result<Command, String> {
        parse(args.iter().map(OsString::from))
    }

    fn run(script: &str, args: &[&str]) -> Command {
        Command::Run {
            script: script.into(),
            args: args.iter().map(OsString::from).collect(),
        }
    }

    #[test]
    fn help_and_version() {
        assert_eq!(parse_strs(&["--help"]), Ok(Command::Help));
        assert_eq!(parse_strs(&["-h"]), Ok(Command::Help));
        assert_eq!(parse_strs(&["run", "--help"]), Ok(Command::Help));
        assert_eq!(parse_strs(&["--version"]), Ok(Command::Version));
        assert_eq!(parse_strs(&["-V"]), Ok(Command::Version));
    }

    #[test]
    fn run_forms() {
        assert_eq!(parse_strs(&["run", "a.luau"]), Ok(run("a.luau", &[])));
        assert_eq!(
            parse_strs(&["run", "a", "x", "--help"]),
            Ok(run("a", &["x", "--help"]))
        );
        assert_eq!(parse_strs(&["a", "-v", "y"]), Ok(run("a", &["-v", "y"])));
        assert_eq!(parse_strs(&["-"]), Ok(run("-", &[])));
        assert_eq!(parse_strs(&["--", "-odd"]), Ok(run("-odd", &[])));
        assert_eq!(
            parse_strs(&["run", "--", "-odd", "z"]),
            Ok(run("-odd", &["z"]))
        );
    }

    #[test]
    fn bindgen_forms() {
        let b = |inputs: &[&str], lib: &str| Bindgen {
            inputs: inputs.iter().map(|s| s.to_string()).collect(),
            lib: lib.into(),
            ..Default::default()
        };
        assert_eq!(
            parse_strs(&["bindgen", "sqlite3.h", "--lib", "sqlite3"]),
            Ok(Command::Bindgen(b(&["sqlite3.h"], "sqlite3")))
        );
        let mut full = b(&["a.h", "b.i"], "z");
        full.output = Some("out.luau".into());
        full.include = vec!["inc".into(), "inc2".into()];
        full.defines = vec![("X".into(), None), ("Y".into(), Some("2".into()))];
        assert_eq!(
            parse_strs(&[
                "bindgen", "a.h", "--lib=z", "-o", "out.luau", "-Iinc", "-I", "inc2", "-DX", "-D",
                "Y=2", "b.i"
            ]),
            Ok(Command::Bindgen(full))
        );
        assert_eq!(
            parse_strs(&["bindgen", "a.h"]),
            Err("bindgen: `--lib NAME` is required (the library `ffi.load` opens)".into())
        );
        assert_eq!(
            parse_strs(&["bindgen", "--lib", "z"]),
            Err("bindgen: no header given".into())
        );
        assert_eq!(
            parse_strs(&["bindgen", "a.h", "--lib", "z", "-q"]),
            Err("bindgen: unknown option `-q`".into())
        );
        assert_eq!(
            parse_strs(&["bindgen", "a.h", "--lib"]),
            Err("bindgen: `--lib` needs a value".into())
        );
    }

    #[test]
    fn libraries_paragraph_is_wrapped() {
        let text = libraries_text();
        assert!(text.starts_with("Libraries: @lune/ffi, "), "{text}");
        assert!(text.lines().all(|l| l.len() <= 72), "{text}");
        assert_eq!(wrap("a bb ccc", 4), "a bb\nccc");
    }

    #[test]
    fn usage_errors() {
        assert!(parse_strs(&[]).is_err());
        assert!(parse_strs(&["run"]).is_err());
        assert!(parse_strs(&["--bogus"]).is_err());
        assert!(parse_strs(&["run", "--bogus"]).is_err());
        assert!(parse_strs(&["--"]).is_err());
    }
}
