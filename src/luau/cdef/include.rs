//! `ffi.include(headers, options?)`: the system C preprocessor's `-E -dD` output of the
//! given headers, declared with `ffi.cdef`, once per Lua state.

use std::ffi::c_int;
use std::io::Write;
use std::process::{Command, Stdio};

use mlua::ffi::{self, lua_State};

use crate::luau::cdef::declared::push_report;
use crate::luau::vm::frame::Frame;
use crate::luau::vm::raw::{describe, get_index, guard, LResult};
use crate::luau::vm::state::shared;

const F: &str = "ffi.include";

/// What one `ffi.include` asks for.
#[derive(Default)]
struct Request {
    headers: Vec<String>,
    /// `-DNAME` (None) or `-DNAME=value`, sorted by name.
    defines: Vec<(String, Option<String>)>,
    include: Vec<String>,
}

impl Request {
    /// The cache key: every input that changes the output.
    fn key(&self) -> String {
        let mut k = String::new();
        for h in &self.headers {
            k.push_str(h);
            k.push('\n');
        }
        k.push('\0');
        for (n, v) in &self.defines {
            k.push_str(&format!("{}={:?}\n", n, v));
        }
        k.push('\0');
        for d in &self.include {
            k.push_str(d);
            k.push('\n');
        }
        k
    }

    /// The source the preprocessor reads: one `#include` per header.
    fn source(&self) -> String {
        let mut s = String::new();
        for h in &self.headers {
            if h.starts_with('<') {
                s.push_str(&format!("#include {}\n", h));
            } else if std::path::Path::new(h).is_file() {
                // A path: absolute, as the preprocessor reads stdin from no directory.
                let abs = std::fs::canonicalize(h)
                    .map_or_else(|_| h.clone(), |p| p.display().to_string());
                s.push_str(&format!("#include \"{}\"\n", abs.replace('\\', "\\\\")));
            } else {
                s.push_str(&format!("#include <{}>\n", h));
            }
        }
        s
    }
}

/// `ffi.include(headers, options?)`.
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn ffi_include(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guard(L, || {
            let req = read_request(L)?;
            let key = req.key();
            let ctypes = &shared(L).ctypes;
            let cached = ctypes.includes.borrow().get(&key).cloned();
            let report = match cached {
                Some(r) => r,
                None => {
                    let out = preprocess(&req).map_err(|e| format!("{}: {}", F, e))?;
                    let r = ctypes.cdef(&out).map_err(|e| {
                        format!("{}: ffi.cdef of the preprocessor's output: {}", F, e)
                    })?;
                    ctypes.includes.borrow_mut().insert(key, r.clone());
                    r
                }
            };
            push_report(L, &report);
            Ok(1)
        })
    }
}

/// Reads `(headers, options?)`.
///
/// # Safety
/// `L` is the state of a running `ffi_include`.
unsafe fn read_request(L: *mut lua_State) -> LResult<Request> {
    // SAFETY: `L` is a running `ffi_include`'s state with its arguments at 1 and 2 (the
    // caller's contract); each value pushed here is popped on every path.
    unsafe {
        // `lua_next`, `lua_rawgeti` and `lua_getfield` on plain tables do not raise (string
        // keys are interned already or allocated: a memory error).
        let mut req = Request::default();
        let bad_header = |got: String| {
            format!(
                "{}: argument #1 (headers): expected a header name or path, or a list of them, got {}",
                F, got
            )
        };
        match ffi::lua_type(L, 1) {
            ffi::LUA_TSTRING => req
                .headers
                .push(header(L, 1).ok_or_else(|| bad_header(describe(L, 1)))?),
            ffi::LUA_TTABLE => {
                let n = ffi::lua_objlen(L, 1) as c_int;
                for i in 1..=n {
                    ffi::lua_rawgeti(L, 1, i as _);
                    let h = header(L, -1);
                    let got = describe(L, -1);
                    ffi::lua_pop(L, 1);
                    req.headers
                        .push(h.ok_or_else(|| bad_header(format!("{} at index {}", got, i)))?);
                }
                if req.headers.is_empty() {
                    return Err(bad_header("an empty list".into()));
                }
            }
            _ => return Err(bad_header(describe(L, 1))),
        }
        match ffi::lua_type(L, 2) {
            ffi::LUA_TNIL | ffi::LUA_TNONE => return Ok(req),
            ffi::LUA_TTABLE => {}
            _ => {
                return Err(format!(
                    "{}: argument #2 (options): expected a table {{ defines = {{...}}, include = {{...}} }} or nil, got {}",
                    F,
                    describe(L, 2)
                ))
            }
        }
        ffi::lua_pushnil(L);
        while ffi::lua_next(L, 2) != 0 {
            let key = Frame::new(L)
                .str(-2)
                .map(|k| String::from_utf8_lossy(k).into_owned());
            let r = match key.as_deref() {
                Some("defines") => read_defines(L, &mut req),
                Some("include") => read_dirs(L, &mut req),
                _ => Err(format!(
                    "{}: argument #2 (options): unknown option {} (expected 'defines', 'include')",
                    F,
                    key.map_or_else(|| describe(L, -2), |k| format!("'{}'", k))
                )),
            };
            if r.is_err() {
                ffi::lua_pop(L, 2);
            } else {
                ffi::lua_pop(L, 1);
            }
            r?;
        }
        req.defines.sort();
        Ok(req)
    }
}

/// A header name at `idx`: a string without a line break or a quote that would end the
/// `#include` line early.
///
/// # Safety
/// `idx` is a valid index of `L`.
unsafe fn header(L: *mut lua_State, idx: c_int) -> Option<String> {
    // SAFETY: the caller's contract: `L` is the running C function's state.
    let frame = unsafe { Frame::new(L) };
    let s = frame.str(idx)?;
    let s = std::str::from_utf8(s).ok()?;
    let ok = !s.is_empty()
        && !s.contains(['\n', '\r', '"', '\0'])
        && (!s.starts_with('<') || (s.ends_with('>') && s.len() > 2));
    ok.then(|| s.to_string())
}

/// `defines = { NAME = value | true }`, the value at the top of the stack.
///
/// # Safety
/// `L` is the state of a running `ffi_include` inside its `lua_next` loop.
unsafe fn read_defines(L: *mut lua_State, req: &mut Request) -> LResult<()> {
    // SAFETY: the defines table is on top of the running `ffi_include`'s `L` (the caller's
    // contract); each key and value it pushes is popped on every path.
    unsafe {
        if ffi::lua_type(L, -1) != ffi::LUA_TTABLE {
            return Err(format!(
                "{}: option 'defines': expected a table {{ NAME = value | true }}, got {}",
                F,
                describe(L, -1)
            ));
        }
        let t = ffi::lua_gettop(L);
        ffi::lua_pushnil(L);
        while ffi::lua_next(L, t) != 0 {
            let name = Frame::new(L)
                .str(-2)
                .and_then(|k| std::str::from_utf8(k).ok())
                .filter(|k| {
                    k.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                })
                .map(str::to_string);
            let value = match ffi::lua_type(L, -1) {
                ffi::LUA_TBOOLEAN if ffi::lua_toboolean(L, -1) != 0 => Some(None),
                ffi::LUA_TSTRING => Frame::new(L)
                    .str(-1)
                    .and_then(|v| std::str::from_utf8(v).ok())
                    .filter(|v| !v.contains(['\n', '\r', '\0']))
                    .map(|v| Some(v.to_string())),
                ffi::LUA_TNUMBER | ffi::LUA_TINTEGER => Some(Some(match get_index(L, -1) {
                    Some(i) => i.to_string(),
                    None => format!("{:?}", ffi::lua_tonumberx(L, -1, std::ptr::null_mut())),
                })),
                _ => None,
            };
            let (Some(name), Some(value)) = (name, value) else {
                let msg = format!(
                    "{}: option 'defines': expected NAME = value (a string, a number or true), got {} = {}",
                    F,
                    describe(L, -2),
                    describe(L, -1)
                );
                ffi::lua_pop(L, 2);
                return Err(msg);
            };
            req.defines.push((name, value));
            ffi::lua_pop(L, 1);
        }
        Ok(())
    }
}

/// `include = { dirs... }`, the value at the top of the stack.
///
/// # Safety
/// `L` is the state of a running `ffi_include` inside its `lua_next` loop.
unsafe fn read_dirs(L: *mut lua_State, req: &mut Request) -> LResult<()> {
    // SAFETY: the include list is on top of the running `ffi_include`'s `L` (the caller's
    // contract); each element pushed is popped before the next.
    unsafe {
        let bad = |got: String| {
            format!(
                "{}: option 'include': expected a list of directories, got {}",
                F, got
            )
        };
        if ffi::lua_type(L, -1) != ffi::LUA_TTABLE {
            return Err(bad(describe(L, -1)));
        }
        let n = ffi::lua_objlen(L, -1) as c_int;
        for i in 1..=n {
            ffi::lua_rawgeti(L, -1, i as _);
            let d = Frame::new(L)
                .str(-1)
                .and_then(|d| std::str::from_utf8(d).ok())
                .map(str::to_string);
            let got = describe(L, -1);
            ffi::lua_pop(L, 1);
            req.include
                .push(d.ok_or_else(|| bad(format!("{} at index {}", got, i)))?);
        }
        Ok(())
    }
}

/// The compilers tried, in order: `$CC` (may carry arguments), `cc`, `gcc`, `clang`.
fn compilers() -> Vec<Vec<String>> {
    let mut list = Vec::new();
    if let Ok(cc) = std::env::var("CC") {
        let words: Vec<String> = cc.split_whitespace().map(str::to_string).collect();
        if !words.is_empty() {
            list.push(words);
        }
    }
    for c in ["cc", "gcc", "clang"] {
        list.push(vec![c.to_string()]);
    }
    list
}

/// Runs the first compiler found with `-E -dD` on the request's source (on stdin).
fn preprocess(req: &Request) -> Result<String, String> {
    preprocess_with(req, compilers())
}

/// `ffi.include`'s preprocessing for `lune-ffi bindgen`: the `-E -dD` output (line markers
/// kept) of `#include`s of `headers`, with `-D` `defines` and `-I` `include` directories.
pub(crate) fn preprocess_headers(
    headers: &[String],
    defines: &[(String, Option<String>)],
    include: &[String],
) -> Result<String, String> {
    let mut defines = defines.to_vec();
    defines.sort();
    preprocess(&Request {
        headers: headers.to_vec(),
        defines,
        include: include.to_vec(),
    })
}

/// Whether `program` names an existing file (a path) or one found on `PATH`.
fn program_exists(program: &str) -> bool {
    let path = std::path::Path::new(program);
    if path.components().count() > 1 {
        return path.is_file();
    }
    let Some(dirs) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&dirs).any(|d| {
        let p = d.join(program);
        p.is_file() || (cfg!(windows) && p.with_extension("exe").is_file())
    })
}

fn preprocess_with(req: &Request, compilers: Vec<Vec<String>>) -> Result<String, String> {
    let source = req.source();
    for cc in compilers {
        // Looked up before spawning: under emulation (qemu-user) a program that does not
        // exist can come back as a child that exited 127 rather than as NotFound.
        if !program_exists(&cc[0]) {
            continue;
        }
        let mut cmd = Command::new(&cc[0]);
        cmd.args(&cc[1..]).args(["-E", "-dD", "-x", "c"]);
        for (n, v) in &req.defines {
            match v {
                Some(v) => cmd.arg(format!("-D{}={}", n, v)),
                None => cmd.arg(format!("-D{}", n)),
            };
        }
        for d in &req.include {
            cmd.arg(format!("-I{}", d));
        }
        cmd.arg("-")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(format!("cannot run {}: {}", cc.join(" "), e)),
        };
        // The source is small (one line per header): it fits the pipe, no deadlock.
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(source.as_bytes())
                .map_err(|e| format!("cannot write to {}: {}", cc.join(" "), e))?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| format!("cannot run {}: {}", cc.join(" "), e))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let first: Vec<&str> = stderr.lines().take(5).collect();
            return Err(format!(
                "{} -E failed ({}) on {}:\n{}",
                cc.join(" "),
                out.status,
                req.headers.join(", "),
                first.join("\n")
            ));
        }
        return String::from_utf8(out.stdout)
            .map_err(|_| format!("{} -E printed text that is not UTF-8", cc.join(" ")));
    }
    Err("no C compiler found (tried $CC, cc, gcc, clang): install one (Debian/Ubuntu: apt-get install gcc; macOS: xcode-select --install) or set CC".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(h: &str) -> Request {
        Request {
            headers: vec![h.to_string()],
            ..Default::default()
        }
    }

    #[test]
    fn no_compiler_says_what_to_install() {
        let e = preprocess_with(
            &request("zlib.h"),
            vec![vec!["/nonexistent/lune-ffi-cc".to_string()]],
        )
        .unwrap_err();
        assert_eq!(e, "no C compiler found (tried $CC, cc, gcc, clang): install one (Debian/Ubuntu: apt-get install gcc; macOS: xcode-select --install) or set CC");
    }

    #[test]
    fn sources_and_cache_keys() {
        let mut r = request("<sys/stat.h>");
        r.headers.push("zlib.h".into());
        assert_eq!(r.source(), "#include <sys/stat.h>\n#include <zlib.h>\n");
        let k1 = r.key();
        r.defines.push(("X".into(), None));
        assert_ne!(r.key(), k1);
        let k2 = r.key();
        r.defines[0].1 = Some("1".into());
        assert_ne!(r.key(), k2);
    }
}
