//! Finding and reading the script to run, the way `lune run` does.

use std::{
    ffi::OsStr,
    io::Read,
    path::{Path, PathBuf},
};

use lune_utils::path::{constants::FILE_CHUNK_PREFIX, LuauFilePath, LuauModulePath};
use mlua::prelude::LuaNavigateError;

/// A script ready to be loaded: its chunk name and its source.
pub struct Script {
    /// `@<module path>` for files (Lune's require resolves relative modules from it),
    /// `=stdin` for a script read from stdin.
    pub chunk_name: String,
    /// The source, without a leading shebang line.
    pub source: Vec<u8>,
}

/// Reads the script named on the command line: `-` is stdin, anything else a file
/// or module path (see [`resolve`]).
pub fn load(arg: &OsStr) -> Result<Script, String> {
    if arg == "-" {
        let mut source = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut source)
            .map_err(|e| format!("Failed to read the script from stdin: {e}"))?;
        return Ok(Script {
            chunk_name: "=stdin".to_string(),
            source: strip_shebang(source),
        });
    }
    let (module, file) = resolve(Path::new(arg))?;
    let source = std::fs::read(&file)
        .map_err(|e| format!("Failed to read file at path \"{}\": {e}", file.display()))?;
    Ok(Script {
        chunk_name: format!("{FILE_CHUNK_PREFIX}{}", module.display()),
        source: strip_shebang(source),
    })
}

/// Resolves a script argument to `(module path, file path)`.
///
/// Like Lune: a `.luau` / `.lua` extension and a trailing `init` segment are stripped,
/// then the module path is resolved by the require-by-string rules (`x.luau`, `x.lua`,
/// `x/init.luau`, `x/init.lua`, ambiguity is an error). A relative path that does not
/// resolve is also looked for under `lune/` and `.lune/`.
pub fn resolve(path: &Path) -> Result<(PathBuf, PathBuf), String> {
    let first = resolve_one(path);
    if first.is_ok() || path.is_absolute() {
        return first;
    }
    ["lune", ".lune"]
        .iter()
        .find_map(|dir| resolve_one(&Path::new(dir).join(path)).ok())
        .ok_or_else(|| first.unwrap_err())
}

fn resolve_one(path: &Path) -> Result<(PathBuf, PathBuf), String> {
    let module = LuauModulePath::strip(path);
    let shown = module.display();
    match LuauModulePath::resolve(&module) {
        Ok(resolved) => match resolved.target() {
            LuauFilePath::File(file) => Ok((module.clone(), file.clone())),
            LuauFilePath::Directory(_) => Err(format!(
                "Failed to resolve script at path \"{shown}\": \
                 it is a directory without an init.luau or init.lua file"
            )),
        },
        Err(LuaNavigateError::Ambiguous) => Err(format!(
            "Failed to resolve script at path \"{shown}\": it is ambiguous, \
             more than one of {shown}.luau, {shown}.lua, {shown}/init.luau, \
             {shown}/init.lua exist"
        )),
        Err(LuaNavigateError::NotFound) => Err(format!(
            "Failed to resolve script at path \"{shown}\": none of {shown}.luau, \
             {shown}.lua, {shown}/init.luau, {shown}/init.lua exist"
        )),
        Err(other) => Err(format!(
            "Failed to resolve script at path \"{shown}\": {other:?}"
        )),
    }
}

/// Removes a `#!` line but keeps its newline, so line numbers stay right.
fn strip_shebang(mut source: Vec<u8>) -> Vec<u8> {
    if source.starts_with(b"#!") {
        let end = source
            .iter()
            .position(|&b| b == b'\n')
            .unwrap_or(source.len());
        source.drain(..end);
    }
    source
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebang_is_stripped_keeping_the_line() {
        assert_eq!(
            strip_shebang(b"#!/usr/bin/env x\nprint(1)".to_vec()),
            b"\nprint(1)"
        );
        assert_eq!(strip_shebang(b"#!only".to_vec()), b"");
        assert_eq!(strip_shebang(b"print(1)".to_vec()), b"print(1)");
    }
}
