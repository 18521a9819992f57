//! Libraries: `ffi.load`, symbol lookup, and the Library methods (`lib:call` and its
//! fixed-return variants, `lib:symbol`; `lib:func` is in `bound`).

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::c_int;
use std::rc::Rc;

use mlua::ffi::{self, lua_State};

use crate::luau::call::bound::{fast_call, push_bound, Bound, ResultRule};
use crate::luau::call::invoke::{call_with, Names};
use crate::luau::call::signature::{parse_sig, Fnv, SigCache};
use crate::luau::memory::objects::push_rawptr;
use crate::luau::vm::frame::{guarded, Frame};
use crate::luau::vm::raw::{
    describe, get_str, get_ud, guard, push_str, push_ud, raise, Entry, LResult,
};
use crate::luau::vm::state::shared;
use crate::luau::vm::tags::{Tag, Ud};
use crate::memory::Ptr;
use crate::types::{CType, Prim};
use crate::vmlock::VmLock;

enum Handle {
    Lib(libloading::Library),
    #[cfg(unix)]
    This(libloading::os::unix::Library),
    #[cfg(windows)]
    This(Vec<libloading::os::windows::Library>),
}

pub struct LibInner {
    name: String,
    /// Unloaded when the library is dropped, unless callbacks exist (see `Drop`).
    handle: std::mem::ManuallyDrop<Handle>,
    symbols: RefCell<HashMap<String, usize, Fnv>>,
    pub sigs: SigCache,
    /// The state's VM lock, released while C code runs.
    pub vm_lock: &'static VmLock,
    /// `lib.name` functions bound from declarations, created once: registry references.
    pub declared: RefCell<HashMap<String, c_int, Fnv>>,
    release_queue: Rc<RefCell<Vec<i32>>>,
}

impl Drop for LibInner {
    fn drop(&mut self) {
        // Destructors run inside the collector: defer registry releases.
        if let Ok(mut q) = self.release_queue.try_borrow_mut() {
            q.extend(self.declared.get_mut().values().copied());
        }
        // Once a callback exists, C code may keep calling it from the library's own
        // threads, up to and past the closing of the Lua state: unmapping that code under
        // them crashes the process (the callback itself is safe, its closed state turns the
        // call away). Such a library stays loaded until the process ends.
        if !crate::vmlock::callbacks_ever_created() {
            // SAFETY: dropped once, here; the field is never used again.
            unsafe { std::mem::ManuallyDrop::drop(&mut self.handle) };
        }
    }
}

pub struct LibraryUd {
    pub lib: Rc<LibInner>,
}

impl Ud for LibraryUd {
    const KIND: Tag = Tag::Library;
}

/// The `lib:call` family, one generic function per return kind.
pub const LIB_CALL: ffi::lua_CFunction = lib_call_as::<CALL>;
pub const LIB_CALL_INT: ffi::lua_CFunction = lib_call_as::<CALL_INT>;
pub const LIB_CALL_DOUBLE: ffi::lua_CFunction = lib_call_as::<CALL_DOUBLE>;
pub const LIB_CALL_VOID: ffi::lua_CFunction = lib_call_as::<CALL_VOID>;
pub const LIB_CALL_STRING: ffi::lua_CFunction = lib_call_as::<CALL_STRING>;

pub(crate) const META: &[Entry] = &[(c"__tostring", lib_tostring)];

/// `ffi.load(path?)`: a shared library, or with no argument the running process and the
/// C library.
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn ffi_load(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe { guard(L, || load_impl(L, "ffi.load")) }
}

/// Legacy `ffi.open(path)`.
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn ffi_open_legacy(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guard(L, || {
            let sh = shared(L);
            if !sh.warned_open.replace(true) {
                eprintln!("[lune-ffi] warning: ffi.open(path) is deprecated; use ffi.load(path)");
            }
            load_impl(L, "ffi.open")
        })
    }
}

/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
unsafe fn load_impl(L: *mut lua_State, F: &str) -> LResult<c_int> {
    // SAFETY: `L` is a live state (the caller's contract), only read through the frame
    // until the push below.
    let frame = unsafe { Frame::new(L) };
    // None or nil, as `lua_isnoneornil` tests.
    let (name, handle) = if frame.type_of(1) <= ffi::LUA_TNIL {
        ("(process)".to_string(), this_process()?)
    } else {
        let path = frame.str(1).ok_or_else(|| {
            format!(
                "{}: argument #1 (path): expected a library path or name, got {}",
                F,
                frame.describe(1)
            )
        })?;
        // An empty name would open the main program and a NUL would cut the name
        // short at the C boundary: neither is what the script meant.
        if path.is_empty() {
            return Err(format!(
                "{}: argument #1 (path): expected a library path or name, got an empty string (call ffi.load() with no argument for the running process)",
                F
            ));
        }
        if let Some(at) = path.iter().position(|b| *b == 0) {
            return Err(format!(
                "{}: argument #1 (path): expected a library path or name without NUL bytes, got a string with a NUL at byte {}",
                F,
                at + 1
            ));
        }
        let path = String::from_utf8_lossy(path).into_owned();
        let (found, lib) = crate::lib_search::open(&path).map_err(|e| format!("{}: {}", F, e))?;
        (found, Handle::Lib(lib))
    };
    // SAFETY: `L` is a live state (the caller's contract); the Library is its one push.
    unsafe { push_library(L, name, handle) };
    Ok(1)
}

/// `ffi.C`: the running process and its C library, as `ffi.load()` opens them.
///
/// # Safety
/// `L` must be a live Luau state; may raise (allocation).
pub unsafe fn push_process_library(L: *mut lua_State) -> LResult<()> {
    // SAFETY: `L` is a live state (the caller's contract); the Library is its one push.
    unsafe { push_library(L, "(process)".into(), this_process()?) };
    Ok(())
}

/// # Safety
/// `L` must be a live Luau state; may raise (allocation).
unsafe fn push_library(L: *mut lua_State, name: String, handle: Handle) {
    // SAFETY: `L` is a live state (the caller's contract) in which the module is open.
    let sh = unsafe { shared(L) };
    let lib = LibraryUd {
        lib: Rc::new(LibInner {
            name,
            handle: std::mem::ManuallyDrop::new(handle),
            symbols: RefCell::new(HashMap::default()),
            sigs: SigCache::default(),
            vm_lock: sh.vm_lock,
            declared: RefCell::new(HashMap::default()),
            release_queue: sh.release_queue.clone(),
        }),
    };
    // SAFETY: `L` is a live state (the caller's contract); the Library is its one push.
    unsafe { push_ud(L, lib) };
}

#[cfg(unix)]
fn this_process() -> LResult<Handle> {
    Ok(Handle::This(libloading::os::unix::Library::this()))
}

#[cfg(windows)]
fn this_process() -> LResult<Handle> {
    let mut libs = vec![libloading::os::windows::Library::this()
        .map_err(|e| format!("ffi.load: cannot open the running process: {}", e))?];
    // The process image rarely exports the C library: add the C runtimes' DLLs.
    for name in ["msvcrt.dll", "ucrtbase.dll", "kernel32.dll"] {
        // SAFETY: system DLLs with no unusual initialisation.
        if let Ok(l) = unsafe { libloading::os::windows::Library::new(name) } {
            libs.push(l);
        }
    }
    Ok(Handle::This(libs))
}

impl LibInner {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The address of a symbol already looked up.
    fn cached(&self, name: &str) -> Option<usize> {
        self.symbols.borrow().get(name).copied()
    }

    pub fn lookup(&self, name: &str) -> LResult<usize> {
        if let Some(a) = self.symbols.borrow().get(name) {
            return Ok(*a);
        }
        let cname = std::ffi::CString::new(name)
            .map_err(|_| format!("symbol name '{}' contains a NUL byte", name))?;
        let bytes = cname.as_bytes_with_nul();
        // SAFETY: we only read the symbol's address; calling it is the caller's business.
        let addr = unsafe {
            match &*self.handle {
                Handle::Lib(l) => l
                    .get::<*mut std::ffi::c_void>(bytes)
                    .map(|s| *s as usize)
                    .map_err(|e| e.to_string()),
                #[cfg(unix)]
                Handle::This(l) => l
                    .get::<*mut std::ffi::c_void>(bytes)
                    .map(|s| *s as usize)
                    .map_err(|e| e.to_string()),
                #[cfg(windows)]
                Handle::This(libs) => {
                    let mut last = String::from("not found");
                    let mut found = None;
                    for l in libs {
                        match l.get::<*mut std::ffi::c_void>(bytes) {
                            Ok(s) => {
                                found = Some(*s as usize);
                                break;
                            }
                            Err(e) => last = e.to_string(),
                        }
                    }
                    found.ok_or(last)
                }
            }
        }
        .map_err(|e| format!("symbol '{}' not found in {}: {}", name, self.name, e))?;
        if addr == 0 {
            return Err(format!(
                "symbol '{}' in {} has a NULL address",
                name, self.name
            ));
        }
        self.symbols.borrow_mut().insert(name.to_string(), addr);
        Ok(addr)
    }
}

/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
/// The caller must not keep the reference past the value's life on the stack.
pub(crate) unsafe fn lib_self<'a>(L: *mut lua_State, F: &str) -> LResult<&'a LibraryUd> {
    // SAFETY: index 1 is on the stack of the live `L`, and the caller keeps the reference
    // no longer than the value stays there (the caller's contract).
    unsafe { get_ud::<LibraryUd>(L, 1) }.ok_or_else(|| {
        format!(
            "{}: expected a Library as self (call it with ':'), got {}",
            F,
            // SAFETY: index 1 is on the stack; `describe` pops what it pushes.
            unsafe { describe(L, 1) }
        )
    })
}

/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
/// The caller must not keep the name past the value's life on the stack.
pub(crate) unsafe fn check_name<'a>(L: *mut lua_State, idx: c_int, F: &str) -> LResult<&'a str> {
    // SAFETY: `idx` is on the stack of the live `L`, and the caller keeps the name no
    // longer than the value stays there (the caller's contract).
    unsafe { get_str(L, idx) }
        .and_then(|s| std::str::from_utf8(s).ok())
        .ok_or_else(|| {
            format!(
                "{}: argument #1 (name): expected a function name, got {}",
                F,
                // SAFETY: `idx` is on the stack; `describe` pops what it pushes.
                unsafe { describe(L, idx) }
            )
        })
}

/// `lib:call` and its fixed-return variants, by the return they take.
const CALL: u8 = 0;
const CALL_INT: u8 = 1;
const CALL_DOUBLE: u8 = 2;
const CALL_VOID: u8 = 3;
const CALL_STRING: u8 = 4;

/// The method name and where the return type comes from: the stack (`lib:call`, at index
/// 3: `Ok(3)`) or the method (`Err(prim)`; the types table then comes one slot earlier).
const fn call_kind(kind: u8) -> (&'static str, Result<c_int, Prim>) {
    match kind {
        CALL_INT => ("lib:callInt", Err(Prim::I32)),
        CALL_DOUBLE => ("lib:callDouble", Err(Prim::F64)),
        CALL_VOID => ("lib:callVoid", Err(Prim::Void)),
        CALL_STRING => ("lib:callString", Err(Prim::String)),
        _ => ("lib:call", Ok(3)),
    }
}

/// `lib:call(name, ret, args, ...)`, `lib:callInt(name, args, ...)` (i32),
/// `lib:callDouble` (f64), `lib:callVoid`, `lib:callString` (a C string as a Luau string,
/// nil for NULL).
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
unsafe extern "C-unwind" fn lib_call_as<const KIND: u8>(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        let (api, ret) = call_kind(KIND);
        match quick_call(L, ret) {
            Some(Ok(n)) => n,
            // A callback failed during the call; nothing with a destructor is alive here.
            Some(Err(e)) => raise(L, e),
            None => guard(L, || call_named(L, api, ret)),
        }
    }
}

/// The common case of `lib:call` and its variants, outside `guard`: a signature used
/// lately, all scalars, arguments that convert without error. None means "take the
/// general path" and nothing has been done; values with destructors are dropped before
/// this returns, so the caller may raise.
///
/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
#[inline(always)]
unsafe fn quick_call(L: *mut lua_State, ret: Result<c_int, Prim>) -> Option<LResult<c_int>> {
    // SAFETY: the arguments of the running `lib:call` are on the stack of the live `L`
    // (the caller's contract); `lib` and the name borrow values that stay there meanwhile.
    unsafe {
        let lib = &get_ud::<LibraryUd>(L, 1)?.lib;
        let args_idx = if ret.is_ok() { 4 } else { 3 };
        let (proto, func) = lib
            .sigs
            .quick(L, get_str(L, 2)?, ret, args_idx, |n| lib.cached(n))?;
        let fast = proto.fast.as_ref()?;
        fast_call(
            L,
            fast,
            func,
            args_idx + 1,
            ResultRule::default(),
            lib.vm_lock,
        )
    }
}

/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
unsafe fn call_named(L: *mut lua_State, F: &str, ret: Result<c_int, Prim>) -> LResult<c_int> {
    // SAFETY: the arguments of the running `lib:call` are on the stack of the live `L`
    // (the caller's contract); `name` borrows argument #2, which stays there meanwhile.
    unsafe {
        let lib = lib_self(L, F)?.lib.clone();
        let args_idx = if ret.is_ok() { 4 } else { 3 };
        let first = args_idx + 1;
        let quick = Frame::new(L)
            .str(2)
            .and_then(|n| lib.sigs.quick(L, n, ret, args_idx, |n| lib.cached(n)));
        let (proto, func, desc) = match quick {
            // Short names only: a string for a `pointer` is copied (the default), no
            // result has a declared pointee.
            Some((proto, func)) => (proto, func, None),
            None => {
                let name = check_name(L, 2, F)?;
                let desc = match ret {
                    Ok(i) => parse_sig(&mut Frame::new(L), Some(i), args_idx, F, 2, 3)?,
                    Err(p) => {
                        let mut desc = parse_sig(&mut Frame::new(L), None, args_idx, F, 0, 2)?;
                        desc.ret = CType::Prim(p);
                        desc
                    }
                };
                let func = lib.lookup(name).map_err(|e| format!("{}: {}", F, e))?;
                let proto = lib
                    .sigs
                    .prototype_for(name, desc.signature())
                    .map_err(|e| format!("{}: '{}': {}", F, name, e))?;
                (proto, func, Some(desc))
            }
        };
        // A C `T *` return type gives a TypedPointer of T.
        let ret_pointee = desc.as_ref().and_then(|d| d.ret_pointee.as_ref());
        match proto.fast.as_ref().and_then(|f| {
            let ret = ResultRule {
                pointee: ret_pointee,
                string_misses: None,
            };
            fast_call(L, f, func, first, ret, lib.vm_lock)
        }) {
            Some(r) => r,
            None => {
                let name = check_name(L, 2, F)?;
                call_with(
                    L,
                    &proto,
                    func,
                    first,
                    &Names {
                        api: F,
                        cfn: name,
                        desc: desc.as_ref(),
                    },
                    lib.vm_lock,
                )
            }
        }
    }
}

/// `lib:symbol(name)` → RawPointer.
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub(crate) unsafe extern "C-unwind" fn lib_symbol(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guard(L, || {
            const F: &str = "lib:symbol";
            let lib = lib_self(L, F)?.lib.clone();
            let name = check_name(L, 2, F)?;
            let addr = lib.lookup(name).map_err(|e| format!("{}: {}", F, e))?;
            push_rawptr(L, Ptr::foreign(addr));
            Ok(1)
        })
    }
}

/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
unsafe extern "C-unwind" fn lib_tostring(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guard(L, || {
            let lib = lib_self(L, "tostring")?;
            push_str(L, &format!("Library({})", lib.lib.name));
            Ok(1)
        })
    }
}

/// `lib:func(name, ret, args)` → a plain Luau function bound once.
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub(crate) unsafe extern "C-unwind" fn lib_func(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guarded(L, |f| {
            const F: &str = "lib:func";
            let lib = lib_self(L, F)?.lib.clone();
            let name = check_name(L, 2, F)?.to_string();
            // A variadic function binds its variadic types once, `{ fixed..., "...",
            // variadic... }`; lib:call keeps per-call types.
            let desc = parse_sig(f, Some(3), 4, F, 2, 3)?;
            let func = lib.lookup(&name).map_err(|e| format!("{}: {}", F, e))?;
            let proto = lib
                .sigs
                .prototype_for(&name, desc.signature())
                .map_err(|e| format!("{}: '{}': {}", F, name, e))?;
            push_bound(
                L,
                Bound {
                    proto,
                    desc,
                    func,
                    name,
                    lib: Some(lib as Rc<dyn std::any::Any>),
                },
            );
            Ok(1)
        })
    }
}
