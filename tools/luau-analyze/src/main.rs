//! `luau-analyze FFI_TYPES SCRIPT`: type-checks SCRIPT as Luau's analyzer does (its mode
//! line, `--!strict`, decides how strict) and prints one line per error of SCRIPT itself;
//! exits 1 if there is any.
//!
//! `require("@lune/ffi")` resolves to FFI_TYPES (the repository's types.d.luau), and
//! `require("./name")` to `name.luau` beside the requiring module.

use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_uint, c_void, CStr, CString};
use std::path::Path;

// Linked for the compiled Luau Analysis library that src/check.cpp calls.
use luau_analyzer_sys as _;

type ReadSource = unsafe extern "C" fn(*mut c_void, *const c_char) -> *const c_char;
type Resolve = unsafe extern "C" fn(*mut c_void, *const c_char, *const c_char) -> *const c_char;
type Report = unsafe extern "C" fn(*mut c_void, c_uint, c_uint, *const c_char);

extern "C" {
    fn luau_analyze_check(
        module: *const c_char,
        read: ReadSource,
        resolve: Resolve,
        report: Report,
        ctx: *mut c_void,
    ) -> c_int;
}

struct Ctx {
    types: String,
    /// Strings handed to C++, alive until the check ends.
    keep: HashMap<String, CString>,
    errors: Vec<String>,
}

impl Ctx {
    fn keep(&mut self, key: String, value: String) -> *const c_char {
        let c = CString::new(value).unwrap_or_default();
        self.keep.entry(key).or_insert(c).as_ptr()
    }
}

unsafe extern "C" fn read(ctx: *mut c_void, module: *const c_char) -> *const c_char {
    // SAFETY: ctx is the Ctx main passes; module a NUL-terminated string from C++.
    let (ctx, module) = unsafe { (&mut *(ctx as *mut Ctx), CStr::from_ptr(module)) };
    let name = module.to_string_lossy().into_owned();
    match std::fs::read_to_string(&name) {
        Ok(src) => ctx.keep(format!("src:{name}"), src),
        Err(_) => std::ptr::null(),
    }
}

unsafe extern "C" fn resolve(
    ctx: *mut c_void,
    current: *const c_char,
    required: *const c_char,
) -> *const c_char {
    // SAFETY: as for `read`.
    let (ctx, current, required) = unsafe {
        (
            &mut *(ctx as *mut Ctx),
            CStr::from_ptr(current).to_string_lossy(),
            CStr::from_ptr(required).to_string_lossy(),
        )
    };
    let name = if required == "@lune/ffi" {
        ctx.types.clone()
    } else if let Some(rel) = required.strip_prefix("./") {
        let dir = Path::new(current.as_ref())
            .parent()
            .unwrap_or(Path::new("."));
        dir.join(format!("{rel}.luau")).display().to_string()
    } else {
        return std::ptr::null();
    };
    ctx.keep(format!("name:{name}"), name.clone())
}

unsafe extern "C" fn report(ctx: *mut c_void, line: c_uint, col: c_uint, message: *const c_char) {
    // SAFETY: as for `read`.
    let (ctx, message) = unsafe { (&mut *(ctx as *mut Ctx), CStr::from_ptr(message)) };
    ctx.errors.push(format!(
        "{}:{}: {}",
        line + 1,
        col + 1,
        message.to_string_lossy()
    ));
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [types, script] = &args[..] else {
        eprintln!("usage: luau-analyze FFI_TYPES SCRIPT");
        std::process::exit(2);
    };
    let mut ctx = Ctx {
        types: types.clone(),
        keep: HashMap::new(),
        errors: Vec::new(),
    };
    let module = CString::new(script.as_str()).expect("a script path without NUL");
    // SAFETY: the callbacks match check.cpp's types and ctx outlives the call.
    unsafe {
        luau_analyze_check(
            module.as_ptr(),
            read,
            resolve,
            report,
            &mut ctx as *mut Ctx as *mut c_void,
        );
    }
    for e in &ctx.errors {
        println!("{script}:{e}");
    }
    std::process::exit(i32::from(!ctx.errors.is_empty()));
}
