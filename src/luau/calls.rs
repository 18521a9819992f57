//! Libraries and calls: `ffi.load`, `lib:call` and its fast variants, `lib:func` (a plain
//! Luau function bound once — the fast path), `lib:symbol`, `ffi.fn`, `ffi.errno`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::c_int;
use std::rc::Rc;

use mlua::ffi::{self, lua_State};

use super::access::store_struct_at;
use super::callback::{enter_call, leave_call, Gil};
use super::objects::*;
use super::raw::*;
use super::value::*;
use crate::abi::Signature;
use crate::engine::{promote_variadic, Buffers, Call, FastPlan, Prototype};
use crate::memory::{OwnedBlock, Owner, Ptr};
use crate::types::{CType, Prim};

enum Handle {
    Lib(libloading::Library),
    #[cfg(unix)]
    This(libloading::os::unix::Library),
    #[cfg(windows)]
    This(Vec<libloading::os::windows::Library>),
}

pub struct LibInner {
    name: String,
    handle: Handle,
    symbols: RefCell<HashMap<String, usize, Fnv>>,
    /// Prototypes by function name; each name usually has one signature.
    protos: RefCell<HashMap<String, Vec<Rc<Prototype>>, Fnv>>,
    recent: RefCell<[Option<Recent>; RECENT]>,
    /// The state's VM lock, released while C code runs.
    gil: &'static Gil,
    recent_next: std::cell::Cell<usize>,
}

/// FNV-1a: symbol names are short and trusted, so a fast hash beats SipHash here.
#[derive(Default, Clone, Copy)]
struct Fnv;

struct FnvHasher(u64);

impl std::hash::BuildHasher for Fnv {
    type Hasher = FnvHasher;
    fn build_hasher(&self) -> FnvHasher {
        FnvHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for FnvHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ *b as u64).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

pub struct LibraryUd {
    lib: Rc<LibInner>,
}

/// A prototype bound to an address: the upvalue of a `lib:func` / `ffi.fn` function.
pub struct BoundUd {
    proto: Rc<Prototype>,
    func: usize,
    name: String,
    /// Keeps the library loaded while the function is reachable.
    _lib: Option<Rc<LibInner>>,
    gil: &'static Gil,
}

pub unsafe fn register_dtors(L: *mut lua_State) {
    ffi::lua_setuserdatadtor(L, TAG_LIBRARY, Some(drop_ud::<LibraryUd>));
    ffi::lua_setuserdatadtor(L, TAG_PROTO, Some(drop_ud::<BoundUd>));
}

pub unsafe fn register_metatables(L: *mut lua_State) {
    super::new_metatable(L, c"Library", &[(c"__tostring", lib_tostring)]);
    super::set_methods(
        L,
        &[
            (c"call", lib_call),
            (c"callInt", lib_call_int),
            (c"callDouble", lib_call_double),
            (c"callVoid", lib_call_void),
            (c"callString", lib_call_string),
            (c"func", lib_func),
            (c"symbol", lib_symbol),
        ],
    );
    ffi::lua_setuserdatametatable(L, TAG_LIBRARY);

    ffi::lua_createtable(L, 0, 1);
    ffi::lua_setuserdatametatable(L, TAG_PROTO);
}

/// `ffi.load(path?)`: a shared library, or with no argument the running process and the
/// C library.
pub unsafe extern "C-unwind" fn ffi_load(L: *mut lua_State) -> c_int {
    guard(L, || load_impl(L, "ffi.load"))
}

/// Legacy `ffi.open(path)`.
pub unsafe extern "C-unwind" fn ffi_open_legacy(L: *mut lua_State) -> c_int {
    guard(L, || {
        let sh = shared(L);
        if !sh.warned_open.replace(true) {
            eprintln!("[lune-ffi] warning: ffi.open(path) is deprecated; use ffi.load(path)");
        }
        load_impl(L, "ffi.open")
    })
}

unsafe fn load_impl(L: *mut lua_State, F: &str) -> LResult<c_int> {
    let (name, handle) = if ffi::lua_isnoneornil(L, 1) != 0 {
        ("(process)".to_string(), this_process()?)
    } else {
        let path = get_str(L, 1).ok_or_else(|| {
            format!(
                "{}: argument #1 (path): expected a library path or name, got {}",
                F,
                describe(L, 1)
            )
        })?;
        let path = String::from_utf8_lossy(path).into_owned();
        // SAFETY: loading a library runs its initialisers; the seed documents FFI as
        // inherently unsafe and the script chose the library.
        let lib = libloading::Library::new(&path)
            .map_err(|e| format!("{}: cannot load '{}': {}", F, path, e))?;
        (path, Handle::Lib(lib))
    };
    push_ud(
        L,
        TAG_LIBRARY,
        LibraryUd {
            lib: Rc::new(LibInner {
                name,
                handle,
                symbols: RefCell::new(HashMap::default()),
                protos: RefCell::new(HashMap::default()),
                recent: RefCell::new(Default::default()),
                gil: shared(L).gil,
                recent_next: std::cell::Cell::new(0),
            }),
        },
    );
    Ok(1)
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
    fn lookup(&self, name: &str) -> LResult<usize> {
        if let Some(a) = self.symbols.borrow().get(name) {
            return Ok(*a);
        }
        let cname = std::ffi::CString::new(name)
            .map_err(|_| format!("symbol name '{}' contains a NUL byte", name))?;
        let bytes = cname.as_bytes_with_nul();
        // SAFETY: we only read the symbol's address; calling it is the caller's business.
        let addr = unsafe {
            match &self.handle {
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

unsafe fn lib_self<'a>(L: *mut lua_State, F: &str) -> LResult<&'a LibraryUd> {
    get_ud::<LibraryUd>(L, 1, TAG_LIBRARY)
        .map(|l| &*l)
        .ok_or_else(|| {
            format!(
                "{}: expected a Library as self (call it with ':'), got {}",
                F,
                describe(L, 1)
            )
        })
}

unsafe fn check_name<'a>(L: *mut lua_State, idx: c_int, F: &str) -> LResult<&'a str> {
    get_str(L, idx)
        .and_then(|s| std::str::from_utf8(s).ok())
        .ok_or_else(|| {
            format!(
                "{}: argument #1 (name): expected a function name, got {}",
                F,
                describe(L, idx)
            )
        })
}

/// Parses `ret` and the `args` table into a signature. `"..."` in `args` ends the fixed
/// part; the types after it describe this call's variadic arguments.
unsafe fn parse_sig(
    L: *mut lua_State,
    ret: Option<c_int>,
    args_idx: c_int,
    F: &str,
    ret_argn: c_int,
    args_argn: c_int,
) -> LResult<(Signature, Vec<CType>)> {
    let ret = match ret {
        Some(i) => match get_str(L, i)
            .and_then(|s| std::str::from_utf8(s).ok())
            .and_then(Prim::from_name)
        {
            Some(p) => CType::Prim(p),
            None => check_type(L, i, F, &format!("argument #{} (return type)", ret_argn))?,
        },
        None => CType::Prim(Prim::Void),
    };
    if ffi::lua_type(L, args_idx) != ffi::LUA_TTABLE {
        return Err(format!(
            "{}: argument #{} (argument types): expected a table of type names, got {}",
            F,
            args_argn,
            describe(L, args_idx)
        ));
    }
    let n = ffi::lua_objlen(L, args_idx);
    let mut fixed = Vec::with_capacity(n);
    let mut declared = Vec::with_capacity(n);
    let mut variadic: Option<Vec<CType>> = None;
    for i in 1..=n {
        ffi::lua_rawgeti_(L, args_idx, i as c_int);
        if get_str(L, -1) == Some(b"...") {
            ffi::lua_pop(L, 1);
            if variadic.is_some() {
                return Err(format!(
                    "{}: argument #{} (argument types): \"...\" (the start of the variadic part) may appear only once",
                    F, args_argn
                ));
            }
            variadic = Some(Vec::new());
            continue;
        }
        // Fast path: a canonical name or alias, with no message formatted.
        let fast = get_str(L, -1)
            .and_then(|s| std::str::from_utf8(s).ok())
            .and_then(Prim::from_name)
            .filter(|p| *p != Prim::Void);
        let t = match fast {
            Some(p) => CType::Prim(p),
            None => {
                let what = format!("argument #{} (argument types), entry {}", args_argn, i);
                let t = check_type(L, -1, F, &what);
                if let Ok(t) = &t {
                    if t.is_void() {
                        ffi::lua_pop(L, 1);
                        return Err(format!(
                            "{}: {}: void is only valid as a return type",
                            F, what
                        ));
                    }
                }
                t.inspect_err(|_| ffi::lua_pop(L, 1))?
            }
        };
        ffi::lua_pop(L, 1);
        declared.push(t.clone());
        match &mut variadic {
            Some(v) => v.push(promote_variadic(&t)),
            None => fixed.push(t),
        }
    }
    Ok((
        Signature {
            ret,
            fixed,
            variadic,
        },
        declared,
    ))
}

fn prototype_for(lib: &LibInner, name: &str, sig: Signature) -> LResult<Rc<Prototype>> {
    if let Some(list) = lib.protos.borrow().get(name) {
        if let Some(p) = list.iter().find(|p| p.sig == sig) {
            return Ok(p.clone());
        }
    }
    let p = Rc::new(Prototype::host(sig)?);
    lib.protos
        .borrow_mut()
        .entry(name.to_string())
        .or_default()
        .push(p.clone());
    Ok(p)
}

/// Converts the arguments at `first..first+n`, calls, and pushes the result.
/// `declared` are the types as the script wrote them (for range checks of promoted
/// variadic arguments).
/// Names for messages: the API function and the C function. Passed by reference so the
/// hot path does not copy fat pointers through the stack.
struct Names<'a> {
    api: &'a str,
    cfn: &'a str,
}

unsafe fn call_with(
    L: *mut lua_State,
    proto: &Prototype,
    declared: Option<&[CType]>,
    func: usize,
    first: c_int,
    names: &Names,
    gil: &Gil,
) -> LResult<c_int> {
    let nargs = ffi::lua_gettop(L) - first + 1;
    let expected = proto.sig.arg_count();
    if nargs.max(0) as usize != expected {
        if proto.sig.is_variadic() && nargs.max(0) as usize > expected {
            return Err(format!(
                "{}: '{}' got {} arguments but its types list {}: give the type of every variadic argument after \"...\" (e.g. {{\"string\", \"...\", \"i32\", \"f64\"}})",
                names.api,
                names.cfn,
                nargs.max(0),
                expected
            ));
        }
        return Err(format!(
            "{}: '{}' expects {} argument{}, got {}",
            names.api,
            names.cfn,
            expected,
            if expected == 1 { "" } else { "s" },
            nargs.max(0)
        ));
    }
    if func == 0 {
        return Err(format!(
            "{}: attempt to call a NULL function pointer",
            names.api
        ));
    }
    let mut bufs = std::mem::MaybeUninit::<Buffers>::uninit();
    let mut call = Call::new(proto, &mut bufs);
    for (i, t) in proto.sig.args().enumerate() {
        let idx = first + i as c_int;
        let argn = i + 1;
        match t {
            CType::Prim(p) => {
                let conv = declared.map(|d| d[i].clone()).unwrap_or_else(|| t.clone());
                let conv = conv.prim().unwrap_or(*p);
                let bits = encode_arg(L, idx, conv, *p, names, argn)?;
                call.set_scalar(i, bits);
            }
            CType::Struct(st) => {
                let slot = call.struct_slot(i);
                let what = Lazy(|f: &mut std::fmt::Formatter<'_>| write!(f, "argument #{}", argn));
                store_struct_at(
                    L,
                    idx,
                    st,
                    slot as usize,
                    Site {
                        func: names.api,
                        what: &what,
                    },
                )?;
            }
        }
    }
    match &proto.sig.ret {
        CType::Struct(st) => {
            let block =
                OwnedBlock::new(st.size, st.align).map_err(|e| format!("{}: {}", names.api, e))?;
            let prev = enter_call(L);
            let released = gil.release_for_call();
            let r = call.invoke(func, block.addr() as *mut u8);
            gil.reacquire(released);
            leave_call(prev);
            r?;
            check_callback_error()?;
            push_view(
                L,
                Ptr::bounded(block.addr(), st.size, Owner::Owned(block)),
                st.clone(),
            );
            Ok(1)
        }
        CType::Prim(p) => {
            let prev = enter_call(L);
            let released = gil.release_for_call();
            let r = call.invoke(func, std::ptr::null_mut());
            gil.reacquire(released);
            leave_call(prev);
            r?;
            check_callback_error()?;
            let bits = call.ret_bits();
            push_ret(L, *p, bits)
        }
    }
}

#[inline]
unsafe fn push_ret(L: *mut lua_State, p: Prim, bits: u64) -> LResult<c_int> {
    match p {
        Prim::Void => Ok(0),
        Prim::Pointer => {
            push_foreign_ptr(L, bits as usize);
            Ok(1)
        }
        Prim::String => {
            push_cstring(L, bits as usize);
            Ok(1)
        }
        _ => {
            push_number_bits(L, p, normalize_bits(p, bits));
            Ok(1)
        }
    }
}

/// Raises a callback error that happened during the call that just returned.
fn check_callback_error() -> LResult<()> {
    match super::callback::take_pending_error() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// One scalar argument as its register image. `conv` is the declared type (range checks),
/// `pass` the type passed (after variadic promotion).
#[inline]
unsafe fn encode_arg(
    L: *mut lua_State,
    idx: c_int,
    conv: Prim,
    pass: Prim,
    names: &Names,
    argn: usize,
) -> LResult<u64> {
    if let Some(bits) = fast_number(L, idx, conv, pass) {
        return Ok(bits);
    }
    encode_arg_slow(L, idx, conv, pass, names.api, argn)
}

#[inline(never)]
unsafe fn encode_arg_slow(
    L: *mut lua_State,
    idx: c_int,
    conv: Prim,
    pass: Prim,
    F: &str,
    argn: usize,
) -> LResult<u64> {
    let what = Lazy(|f: &mut std::fmt::Formatter<'_>| write!(f, "argument #{}", argn));
    let site = Site {
        func: F,
        what: &what,
    };
    match conv {
        Prim::Pointer => match ffi::lua_type(L, idx) {
            ffi::LUA_TNIL => Ok(0),
            _ => match to_ptr(L, idx, false)? {
                Some(p) => {
                    if p.is_dead() {
                        return Err(
                            site.err("a live pointer", "a pointer into a freed arena".into())
                        );
                    }
                    Ok(p.addr as u64)
                }
                None => Err(site.err(
                    "a pointer (RawPointer, TypedPointer, StructView, Callback, buffer) or nil",
                    describe(L, idx),
                )),
            },
        },
        Prim::String => {
            if ffi::lua_type(L, idx) == ffi::LUA_TNIL {
                return Ok(0);
            }
            if let Some(s) = check_c_string(L, idx, site)? {
                // Luau strings are NUL-terminated and stay alive on the stack for the
                // whole call, so C can read them in place.
                return Ok(s.as_ptr() as u64);
            }
            match to_ptr(L, idx, false)? {
                Some(p) => Ok(p.addr as u64),
                None => Err(site.err("a string, a pointer or nil", describe(L, idx))),
            }
        }
        _ => {
            let bits = encode_number(L, idx, conv, site)?;
            // A variadic f32 was promoted to f64: re-encode the value as a double.
            if conv == Prim::F32 && pass == Prim::F64 {
                return Ok((f32::from_bits(bits as u32) as f64).to_bits());
            }
            Ok(bits)
        }
    }
}

/// `lib:call`'s common case, without building a signature: a name already called,
/// primitive types only, no `"..."`. None sends the call down the general path.
unsafe fn quick_proto(
    L: *mut lua_State,
    lib: &LibInner,
    name: &[u8],
    ret: Result<c_int, Prim>,
    args_idx: c_int,
) -> Option<(Rc<Prototype>, usize)> {
    // The return type: from the stack (`lib:call`) or fixed by the method (`callInt`…).
    let ret = match ret {
        Ok(i) => Prim::from_bytes(get_str(L, i)?)?,
        Err(p) => p,
    };
    if ffi::lua_type(L, args_idx) != ffi::LUA_TTABLE {
        return None;
    }
    let n = ffi::lua_objlen(L, args_idx);
    let mut prims = [Prim::Void; 16];
    if n > prims.len() {
        return None;
    }
    for (i, slot) in prims.iter_mut().enumerate().take(n) {
        ffi::lua_rawgeti_(L, args_idx, i as c_int + 1);
        let p = get_str(L, -1).and_then(Prim::from_bytes);
        ffi::lua_pop(L, 1);
        match p {
            Some(p) if p != Prim::Void => *slot = p,
            _ => return None,
        }
    }
    // Recently used signatures first: no hashing, no UTF-8 check.
    {
        let recent = lib.recent.borrow();
        if let Some(r) = recent
            .iter()
            .flatten()
            .find(|r| r.ret == ret && r.n == n && r.prims[..n] == prims[..n] && *r.name == *name)
        {
            return Some((r.proto.clone(), r.func));
        }
    }
    let name_str = std::str::from_utf8(name).ok()?;
    let protos = lib.protos.borrow();
    let proto = protos.get(name_str)?.iter().find(|p| {
        !p.sig.is_variadic()
            && p.sig.ret == CType::Prim(ret)
            && p.sig.fixed.len() == n
            && p.sig
                .fixed
                .iter()
                .zip(&prims)
                .all(|(t, q)| *t == CType::Prim(*q))
    })?;
    let addr = *lib.symbols.borrow().get(name_str)?;
    let mut recent = lib.recent.borrow_mut();
    let slot = lib.recent_next.get();
    lib.recent_next.set((slot + 1) % RECENT);
    recent[slot] = Some(Recent {
        name: name.into(),
        ret,
        prims,
        n,
        proto: proto.clone(),
        func: addr,
    });
    Some((proto.clone(), addr))
}

const RECENT: usize = 4;

/// A signature `lib:call` resolved lately, matched by content (never by identity, which
/// the garbage collector could recycle).
struct Recent {
    name: Box<[u8]>,
    ret: Prim,
    prims: [Prim; 16],
    n: usize,
    proto: Rc<Prototype>,
    func: usize,
}

/// `lib:call(name, ret, args, ...)`.
pub unsafe extern "C-unwind" fn lib_call(L: *mut lua_State) -> c_int {
    match quick_call(L, Ok(3)) {
        Some(Ok(n)) => n,
        // A callback failed during the call; nothing with a destructor is alive here.
        Some(Err(e)) => raise(L, e),
        None => guard(L, || call_named(L, "lib:call", Ok(3))),
    }
}

/// The common case of `lib:call` and its variants, outside `guard`: a signature used
/// lately, all scalars, arguments that convert without error. None means "take the
/// general path" and nothing has been done; values with destructors are dropped before
/// this returns, so the caller may raise.
#[inline(always)]
unsafe fn quick_call(L: *mut lua_State, ret: Result<c_int, Prim>) -> Option<LResult<c_int>> {
    let lib = get_ud::<LibraryUd>(L, 1, TAG_LIBRARY)?;
    let args_idx = if ret.is_ok() { 4 } else { 3 };
    let (proto, func) = quick_proto(L, &lib.lib, get_str(L, 2)?, ret, args_idx)?;
    let fast = proto.fast.as_ref()?;
    fast_call(L, fast, func, args_idx + 1, lib.lib.gil)
}

/// Shared by `lib:call` (return type at stack index 3, `Ok(3)`) and its fixed-return
/// variants (`Err(prim)`, the types table one slot earlier).
unsafe fn call_named(L: *mut lua_State, F: &str, ret: Result<c_int, Prim>) -> LResult<c_int> {
    let lib = lib_self(L, F)?.lib.clone();
    let args_idx = if ret.is_ok() { 4 } else { 3 };
    let first = args_idx + 1;
    if let Some((proto, func)) = get_str(L, 2).and_then(|n| quick_proto(L, &lib, n, ret, args_idx))
    {
        if let Some(r) = proto
            .fast
            .as_ref()
            .and_then(|f| fast_call(L, f, func, first, lib.gil))
        {
            return r;
        }
        let name = check_name(L, 2, F)?;
        return call_with(
            L,
            &proto,
            None,
            func,
            first,
            &Names { api: F, cfn: name },
            lib.gil,
        );
    }
    let name = check_name(L, 2, F)?;
    let (sig, declared) = match ret {
        Ok(i) => parse_sig(L, Some(i), args_idx, F, 2, 3)?,
        Err(p) => {
            let (mut sig, declared) = parse_sig(L, None, args_idx, F, 0, 2)?;
            sig.ret = CType::Prim(p);
            (sig, declared)
        }
    };
    let func = lib.lookup(name).map_err(|e| format!("{}: {}", F, e))?;
    let proto = prototype_for(&lib, name, sig).map_err(|e| format!("{}: '{}': {}", F, name, e))?;
    if let Some(r) = proto
        .fast
        .as_ref()
        .and_then(|f| fast_call(L, f, func, first, lib.gil))
    {
        return r;
    }
    call_with(
        L,
        &proto,
        Some(&declared),
        func,
        first,
        &Names { api: F, cfn: name },
        lib.gil,
    )
}

/// `lib:callInt(name, args, ...)`: returns i32.
pub unsafe extern "C-unwind" fn lib_call_int(L: *mut lua_State) -> c_int {
    match quick_call(L, Err(Prim::I32)) {
        Some(Ok(n)) => n,
        // A callback failed during the call; nothing with a destructor is alive here.
        Some(Err(e)) => raise(L, e),
        None => guard(L, || call_named(L, "lib:callInt", Err(Prim::I32))),
    }
}

/// `lib:callDouble(name, args, ...)`: returns f64.
pub unsafe extern "C-unwind" fn lib_call_double(L: *mut lua_State) -> c_int {
    match quick_call(L, Err(Prim::F64)) {
        Some(Ok(n)) => n,
        // A callback failed during the call; nothing with a destructor is alive here.
        Some(Err(e)) => raise(L, e),
        None => guard(L, || call_named(L, "lib:callDouble", Err(Prim::F64))),
    }
}

/// `lib:callVoid(name, args, ...)`.
pub unsafe extern "C-unwind" fn lib_call_void(L: *mut lua_State) -> c_int {
    match quick_call(L, Err(Prim::Void)) {
        Some(Ok(n)) => n,
        // A callback failed during the call; nothing with a destructor is alive here.
        Some(Err(e)) => raise(L, e),
        None => guard(L, || call_named(L, "lib:callVoid", Err(Prim::Void))),
    }
}

/// `lib:callString(name, args, ...)`: returns a C string as a Luau string (nil for NULL).
pub unsafe extern "C-unwind" fn lib_call_string(L: *mut lua_State) -> c_int {
    match quick_call(L, Err(Prim::String)) {
        Some(Ok(n)) => n,
        // A callback failed during the call; nothing with a destructor is alive here.
        Some(Err(e)) => raise(L, e),
        None => guard(L, || call_named(L, "lib:callString", Err(Prim::String))),
    }
}

/// `lib:symbol(name)` → RawPointer.
pub unsafe extern "C-unwind" fn lib_symbol(L: *mut lua_State) -> c_int {
    guard(L, || {
        const F: &str = "lib:symbol";
        let lib = lib_self(L, F)?.lib.clone();
        let name = check_name(L, 2, F)?;
        let addr = lib.lookup(name).map_err(|e| format!("{}: {}", F, e))?;
        push_rawptr(L, Ptr::foreign(addr));
        Ok(1)
    })
}

pub unsafe extern "C-unwind" fn lib_tostring(L: *mut lua_State) -> c_int {
    guard(L, || {
        let lib = lib_self(L, "tostring")?;
        push_str(L, &format!("Library({})", lib.lib.name));
        Ok(1)
    })
}

/// `lib:func(name, ret, args)` → a plain Luau function bound once.
pub unsafe extern "C-unwind" fn lib_func(L: *mut lua_State) -> c_int {
    guard(L, || {
        const F: &str = "lib:func";
        let lib = lib_self(L, F)?.lib.clone();
        let name = check_name(L, 2, F)?.to_string();
        let (sig, _) = parse_sig(L, Some(3), 4, F, 2, 3)?;
        if sig.is_variadic() {
            return Err(format!(
                "{}: '{}': variadic functions cannot be bound once (their variadic types change per call); use lib:call",
                F, name
            ));
        }
        let func = lib.lookup(&name).map_err(|e| format!("{}: {}", F, e))?;
        let proto =
            prototype_for(&lib, &name, sig).map_err(|e| format!("{}: '{}': {}", F, name, e))?;
        push_bound(L, proto, func, name, Some(lib));
        Ok(1)
    })
}

/// `ffi.fn(ptr, ret, args)` → a plain Luau function calling the pointer.
pub unsafe extern "C-unwind" fn ffi_fn(L: *mut lua_State) -> c_int {
    guard(L, || {
        const F: &str = "ffi.fn";
        let p = match ffi::lua_type(L, 1) {
            ffi::LUA_TNIL => Ptr::foreign(0),
            _ => check_ptr(L, 1, false, F, "argument #1 (ptr)")?,
        };
        if p.is_null() {
            return Err(format!(
                "{}: argument #1 (ptr): expected a function pointer, got NULL",
                F
            ));
        }
        let (sig, _) = parse_sig(L, Some(2), 3, F, 2, 3)?;
        if sig.is_variadic() {
            return Err(format!(
                "{}: variadic function pointers cannot be bound once; their variadic types change per call",
                F
            ));
        }
        let proto = Rc::new(Prototype::host(sig).map_err(|e| format!("{}: {}", F, e))?);
        let name = format!("function at 0x{:x}", p.addr);
        push_bound(L, proto, p.addr, name, None);
        Ok(1)
    })
}

unsafe fn push_bound(
    L: *mut lua_State,
    proto: Rc<Prototype>,
    func: usize,
    name: String,
    lib: Option<Rc<LibInner>>,
) {
    push_ud(
        L,
        TAG_PROTO,
        BoundUd {
            proto,
            func,
            name,
            _lib: lib,
            gil: shared(L).gil,
        },
    );
    ffi::lua_pushcclosurek(L, bound_call, c"ffi function".as_ptr(), 1, None);
}

/// The body of every bound function: arguments straight from the stack into the frame.
unsafe extern "C-unwind" fn bound_call(L: *mut lua_State) -> c_int {
    let b = ffi::lua_touserdatatagged(L, ffi::lua_upvalueindex(1), TAG_PROTO) as *const BoundUd;
    // SAFETY: the upvalue is the BoundUd this closure was created with (push_bound).
    if let Some(b) = b.as_ref() {
        if let Some(fast) = &b.proto.fast {
            match fast_call(L, fast, b.func, 1, b.gil) {
                Some(Ok(n)) => return n,
                // A callback failed during the call: no Rust value is alive here.
                Some(Err(e)) => raise(L, e),
                None => {}
            }
        }
    }
    // The general path: structs, conversions the fast path declines, and every error.
    guard(L, || {
        let b = get_ud::<BoundUd>(L, ffi::lua_upvalueindex(1), TAG_PROTO)
            .ok_or("bound function lost its prototype")?;
        let b: &BoundUd = b;
        call_with(
            L,
            &b.proto,
            None,
            b.func,
            1,
            &Names {
                api: &b.name,
                cfn: &b.name,
            },
            b.gil,
        )
    })
}

/// Scalar arguments that convert without any check failing, a scalar result. Returns
/// None, having done nothing, whenever the general path is needed. Nothing here allocates
/// or can panic; a callback error found after the call is raised directly (no Rust value
/// with a destructor is alive at that point).
#[inline(always)]
unsafe fn fast_call(
    L: *mut lua_State,
    fast: &FastPlan,
    func: usize,
    first: c_int,
    gil: &Gil,
) -> Option<LResult<c_int>> {
    if (ffi::lua_gettop(L) - first + 1) as usize != fast.arg_count() || func == 0 {
        return None;
    }
    let prev = enter_call(L);
    let released = std::cell::Cell::new(0);
    let r = fast.call(
        func,
        |i, p| fast_arg(L, i as c_int + first, p),
        |before| {
            if before {
                released.set(gil.release_for_call());
            } else {
                gil.reacquire(released.get());
            }
        },
    );
    leave_call(prev);
    let bits = r?;
    if let Some(e) = super::callback::take_pending_error() {
        return Some(Err(e));
    }
    let p = fast.ret();
    Some(Ok(match p {
        Prim::Void => 0,
        Prim::Pointer => {
            push_foreign_ptr(L, bits as usize);
            1
        }
        Prim::String => {
            push_cstring(L, bits as usize);
            1
        }
        _ => {
            push_number_bits(L, p, normalize_bits(p, bits));
            1
        }
    }))
}

#[inline(always)]
unsafe fn fast_arg(L: *mut lua_State, idx: c_int, p: Prim) -> Option<u64> {
    match p {
        Prim::Pointer => match ffi::lua_type(L, idx) {
            ffi::LUA_TNIL => Some(0),
            ffi::LUA_TUSERDATA => {
                let ptr = match ffi::lua_userdatatag(L, idx) {
                    TAG_RAWPTR => &get_ud::<RawPtrUd>(L, idx, TAG_RAWPTR)?.ptr,
                    TAG_TYPEDPTR => &get_ud::<TypedPtrUd>(L, idx, TAG_TYPEDPTR)?.ptr,
                    TAG_VIEW => &get_ud::<ViewUd>(L, idx, TAG_VIEW)?.ptr,
                    _ => return None,
                };
                (!ptr.is_dead()).then_some(ptr.addr as u64)
            }
            _ => None,
        },
        Prim::String => {
            let s = get_str(L, idx)?;
            // Luau strings are NUL-terminated and live on the stack for the whole call.
            (!s.contains(&0)).then_some(s.as_ptr() as u64)
        }
        Prim::Bool => (ffi::lua_type(L, idx) == ffi::LUA_TBOOLEAN)
            .then(|| (ffi::lua_toboolean(L, idx) != 0) as u64),
        _ => fast_number(L, idx, p, p),
    }
}

/// `ffi.errno()`: errno saved right after the last call.
pub unsafe extern "C-unwind" fn ffi_errno(L: *mut lua_State) -> c_int {
    guard(L, || {
        ffi::lua_pushnumber(L, crate::engine::saved_errno() as f64);
        Ok(1)
    })
}

/// `ffi.lastError()`: Windows `GetLastError()` saved right after the last call (0 elsewhere).
pub unsafe extern "C-unwind" fn ffi_last_error(L: *mut lua_State) -> c_int {
    guard(L, || {
        ffi::lua_pushnumber(L, crate::engine::saved_last_error() as f64);
        Ok(1)
    })
}
