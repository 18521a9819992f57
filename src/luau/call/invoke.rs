//! Invocation: Luau arguments into the call frame, the call inside its bracket, the
//! result back to Luau. The general path handles every signature and reports every error;
//! the fast path takes signatures whose scalar arguments convert without error and whose
//! struct arguments are StructViews of their type (copied straight from their memory).

use std::ffi::c_int;
use std::mem::MaybeUninit;
use std::sync::Arc;

use mlua::ffi::{self, lua_State};

use crate::engine::{Buffers, Call, FastPlan, Prototype};
use crate::luau::call::desc::{FnDesc, Param};
use crate::luau::memory::access::{push_result, store_struct_at};
use crate::luau::memory::objects::{
    pointer_value, push_struct_value, RawPtrUd, TypedPtrUd, ViewUd,
};
use crate::luau::values::convert::{
    check_c_string, encode_number, fast_number, number_bits, push_utf16_copy, Lazy, Site,
};
use crate::luau::values::convert::{normalize_bits, push_number_bits};
use crate::luau::values::ctypes::StrArg;
use crate::luau::vm::frame::Frame;
use crate::luau::vm::raw::{describe, get_ud, guard, LResult};
use crate::luau::vm::reentry::{has_pending, Bracket};
use crate::luau::vm::slots::{self, Plain};
use crate::luau::vm::tags::Ud;
use crate::memory::Owner;
use crate::types::{CType, Pointee, Prim, StructType};
use crate::vmlock::VmLock;

/// Names for messages: the API function and the C function. Passed by reference so the
/// hot path does not copy fat pointers through the stack.
pub struct Names<'a> {
    pub api: &'a str,
    pub cfn: &'a str,
    /// What is declared of each parameter and the result (None: the prototype's types,
    /// nothing more).
    pub desc: Option<&'a FnDesc>,
}

impl Names<'_> {
    /// `argument #2`, or `argument #2 (const char *filename)` for a declared function.
    fn arg(&self, argn: usize) -> impl std::fmt::Display + '_ {
        Lazy(move |f: &mut std::fmt::Formatter<'_>| {
            write!(f, "argument #{}", argn)?;
            match self.param(argn - 1).and_then(|p| p.c_decl.as_ref()) {
                Some(decl) => write!(f, " ({})", decl),
                None => Ok(()),
            }
        })
    }

    /// What is declared of parameter `i` (from 0).
    #[inline]
    fn param(&self, i: usize) -> Option<&Param> {
        self.desc.and_then(|d| d.params.get(i))
    }

    /// What a Luau string passed for parameter `i` (from 0) becomes.
    fn str_arg(&self, i: usize) -> StrArg {
        self.param(i).map_or(StrArg::Copy, |p| p.str_arg)
    }

    /// For a `T *` result: T.
    #[inline]
    pub fn ret_pointee(&self) -> Option<&Pointee> {
        self.desc.and_then(|d| d.ret_pointee.as_ref())
    }
}

/// Converts the arguments at `first..`, calls `func`, and pushes the result. The types
/// as declared (`names.desc`) give the range checks of promoted variadic arguments and
/// the result's pointee.
///
/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
pub unsafe fn call_with(
    L: *mut lua_State,
    proto: &Prototype,
    func: usize,
    first: c_int,
    names: &Names,
    lock: &'static VmLock,
) -> LResult<c_int> {
    // SAFETY: this function's own `# Safety` contract, which every caller upholds.
    unsafe {
        // Before any argument is converted: Luau finalizers of ffi.gc run here.
        if has_pending() {
            crate::luau::vm::state::safe_point(L);
        }
        let expected = check_arg_count(L, proto, first, names)?;
        if func == 0 {
            return Err(format!(
                "{}: attempt to call a NULL function pointer",
                names.api
            ));
        }
        // A struct result is a new struct value, allocated first (allocation may raise, so
        // before anything owned is alive) and filled by the call itself.
        let result = match &proto.sig.ret {
            CType::Struct(st) => {
                let dst = push_struct_value(L, st);
                Some((ffi::lua_gettop(L), dst))
            }
            CType::Prim(_) => None,
        };
        let bits = {
            let mut bufs = MaybeUninit::<Buffers>::uninit();
            let mut call = Call::new(proto, &mut bufs);
            debug_assert_eq!(expected, proto.sig.arg_count());
            for (i, t) in proto.sig.args().enumerate() {
                if let Some(bits) = convert_arg(L, t, i, first, names, || call.struct_slot(i))? {
                    call.set_scalar(i, bits);
                }
            }
            let dst = result.map_or(std::ptr::null_mut(), |(_, dst)| dst);
            Bracket::run(L, lock, || call.invoke(func, dst))??;
            call.ret_bits()
        };
        match (&proto.sig.ret, result) {
            (_, Some((idx, _))) => {
                // Above any temporaries the arguments left (each made room for one more).
                ffi::lua_pushvalue(L, idx);
                Ok(1)
            }
            (CType::Prim(Prim::Void), None) => Ok(0),
            (CType::Prim(p), None) => {
                push_result(L, *p, bits, names.ret_pointee());
                Ok(1)
            }
            (CType::Struct(_), None) => unreachable!("a struct result has its value"),
        }
    }
}

/// The number of arguments `proto` takes, if that many are on the stack from `first`.
///
/// # Safety
/// `L` must be a live Luau state.
pub unsafe fn check_arg_count(
    L: *mut lua_State,
    proto: &Prototype,
    first: c_int,
    names: &Names,
) -> LResult<usize> {
    // SAFETY: reads the stack top.
    unsafe {
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
        Ok(expected)
    }
}

/// Converts argument `i` (at stack index `first + i`, of type `t`): a scalar comes back as
/// its register image; a struct is marshalled into the memory `slot` gives (its size).
///
/// # Safety
/// `L` must be a live Luau state with the argument on its stack; `slot` must return
/// memory of the struct's size.
pub unsafe fn convert_arg(
    L: *mut lua_State,
    t: &CType,
    i: usize,
    first: c_int,
    names: &Names,
    slot: impl FnOnce() -> *mut u8,
) -> LResult<Option<u64>> {
    let idx = first + i as c_int;
    let argn = i + 1;
    // SAFETY: see above.
    unsafe {
        match t {
            CType::Prim(p) => {
                let conv = names.param(i).and_then(|d| d.ty.prim()).unwrap_or(*p);
                encode_arg(L, idx, conv, *p, names, argn).map(Some)
            }
            CType::Struct(st) => {
                let what = names.arg(argn);
                store_struct_at(
                    L,
                    idx,
                    st,
                    slot() as usize,
                    &Owner::Foreign,
                    Site {
                        func: names.api,
                        what: &what,
                    },
                )
                .map(|()| None)
            }
        }
    }
}

/// One scalar argument as its register image. `conv` is the declared type (range checks),
/// `pass` the type passed (after variadic promotion).
///
/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
#[inline]
unsafe fn encode_arg(
    L: *mut lua_State,
    idx: c_int,
    conv: Prim,
    pass: Prim,
    names: &Names,
    argn: usize,
) -> LResult<u64> {
    // SAFETY: this function's own `# Safety` contract, which every caller upholds.
    unsafe {
        if let Some(bits) = fast_number(L, idx, conv, pass) {
            return Ok(bits);
        }
        encode_arg_slow(L, idx, conv, pass, names, argn)
    }
}

/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
#[inline(never)]
unsafe fn encode_arg_slow(
    L: *mut lua_State,
    idx: c_int,
    conv: Prim,
    pass: Prim,
    names: &Names,
    argn: usize,
) -> LResult<u64> {
    // SAFETY: this function's own `# Safety` contract, which every caller upholds.
    unsafe {
        let what = names.arg(argn);
        let site = Site {
            func: names.api,
            what: &what,
        };
        if let Some((p, bits)) = crate::luau::values::convert::get_typed(L, idx) {
            // `ffi.typed(T, v)` for a parameter of type T: its image as made; for another
            // type, the value converts as its number would.
            if p == conv {
                if conv == Prim::F32 && pass == Prim::F64 {
                    return Ok((f32::from_bits(bits as u32) as f64).to_bits());
                }
                return Ok(bits);
            }
            if ffi::lua_checkstack(L, 1) == 0 {
                return Err(site.err("fewer arguments", "a Luau stack overflow".into()));
            }
            crate::luau::values::typed::untype_in_place(L, idx);
        }
        match conv {
            Prim::Pointer => match pointer_value(L, idx, false, site)? {
                Some(p) => Ok(p.addr as u64),
                None => match Frame::new(L).str(idx) {
                    Some(s) => match names.str_arg(argn - 1) {
                        // Read-only bytes, embedded NULs and all, alive on the stack for
                        // the whole call: C promised not to write.
                        StrArg::InPlace => Ok(s.as_ptr() as u64),
                        StrArg::Copy => {
                            if ffi::lua_checkstack(L, 2) == 0 {
                                return Err(site.err(
                                    "fewer string arguments",
                                    "a Luau stack overflow".into(),
                                ));
                            }
                            Ok(push_private_copy(L, s) as u64)
                        }
                        StrArg::Refuse => Err(site.err(
                            "a pointer (RawPointer, TypedPointer, StructView, Callback, buffer) or nil; a Luau string is read-only and C may write through this parameter (declare it const, or pass arena:string(s) or a buffer)",
                            describe(L, idx),
                        )),
                    },
                    None => Err(site.err(
                        "a pointer (RawPointer, TypedPointer, StructView, Callback, buffer), a string or nil",
                        describe(L, idx),
                    )),
                },
            },
            Prim::String16 => {
                if ffi::lua_type(L, idx) == ffi::LUA_TSTRING {
                    // The UTF-16 copy stays on the stack, above the arguments, until
                    // the call returns.
                    if ffi::lua_checkstack(L, 2) == 0 {
                        return Err(site.err("fewer string16 arguments", "a Luau stack overflow".into()));
                    }
                    return push_utf16_copy(L, idx, site).map(|a| a as u64);
                }
                match pointer_value(L, idx, false, site)? {
                    Some(p) => Ok(p.addr as u64),
                    None => Err(site.err("a string, a pointer or nil", describe(L, idx))),
                }
            }
            Prim::String => {
                // A declared `const char *` takes bytes (LZ4, zstd, sodium pass binary data
                // through it), NULs and all; the short name `string` promises a C string,
                // where an embedded NUL would silently shorten the text.
                if names.str_arg(argn - 1) == StrArg::InPlace {
                    if let Some(s) = Frame::new(L).str(idx) {
                        return Ok(s.as_ptr() as u64);
                    }
                } else if let Some(s) = check_c_string(L, idx, site)? {
                    // Luau strings are NUL-terminated and stay alive on the stack for the
                    // whole call, so C can read them in place.
                    return Ok(s.as_ptr() as u64);
                }
                match pointer_value(L, idx, false, site)? {
                    Some(p) => Ok(p.addr as u64),
                    None => Err(site.err("a string, a pointer or nil", describe(L, idx))),
                }
            }
            _ => {
                let bits = encode_number(&Frame::new(L), idx, conv, site)?;
                // A variadic f32 was promoted to f64: re-encode the value as a double.
                if conv == Prim::F32 && pass == Prim::F64 {
                    return Ok((f32::from_bits(bits as u32) as f64).to_bits());
                }
                Ok(bits)
            }
        }
    }
}

/// A NUL-terminated copy of `s` in a new Luau buffer on top of the stack (it stays there,
/// above the arguments, until the call returns): C may write to it, never to the string.
///
/// # Safety
/// `L` must be a live Luau state with room for one more value; `s` must stay alive (it is
/// a string on the stack) while the buffer is allocated.
unsafe fn push_private_copy(L: *mut lua_State, s: &[u8]) -> usize {
    // SAFETY: the buffer has `s.len() + 1` bytes; `s` is a string held by the stack.
    unsafe {
        let data = ffi::lua_newbuffer(L, s.len() + 1) as *mut u8;
        std::ptr::copy_nonoverlapping(s.as_ptr(), data, s.len());
        *data.add(s.len()) = 0;
        data as usize
    }
}

/// Scalar arguments that convert without any check failing, struct arguments given as
/// views of their type (`fast_struct_arg`), a scalar or struct result. Returns
/// None, having done nothing, whenever the general path is needed. Nothing here can
/// panic; a callback error found after the call comes back as `Some(Err)`, to be raised
/// by the caller once nothing with a destructor is alive.
///
/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
#[inline(always)]
pub unsafe fn fast_call(
    L: *mut lua_State,
    fast: &FastPlan,
    func: usize,
    first: c_int,
    ret_pointee: Option<&Pointee>,
    lock: &'static VmLock,
) -> Option<LResult<c_int>> {
    // SAFETY: this function's own `# Safety` contract, which every caller upholds.
    unsafe {
        // Before any argument is converted: Luau finalizers of ffi.gc run here.
        if has_pending() {
            crate::luau::vm::state::safe_point(L);
        }
        let top = slots::count(L);
        if (top - first + 1) as usize != fast.arg_count() || func == 0 {
            return None;
        }
        if fast.struct_ret().is_some() {
            return fast_struct_call(L, fast, func, first, top, lock);
        }
        let bracket = Bracket::enter(L, lock);
        let r = fast.call(
            func,
            StackArgs { L, first },
            |i, st| fast_struct_arg(L, i as c_int + first, st),
            bracket.around(),
        );
        // Declined (an argument needs the general path): nothing ran, so no callback
        // error can belong to this call; leave any for the call it belongs to.
        let Some(bits) = r else {
            bracket.abandon();
            return None;
        };
        if let Err(e) = bracket.finish() {
            return Some(Err(e));
        }
        let p = fast.ret();
        if p == Prim::Void {
            return Some(Ok(0));
        }
        match p {
            Prim::Pointer | Prim::String | Prim::String16 => push_result(L, p, bits, ret_pointee),
            _ => push_number_bits(L, p, normalize_bits(p, bits)),
        }
        Some(Ok(1))
    }
}

/// `fast_call` for a struct result: the arguments as in `fast_call`, the struct straight
/// into a new struct value (from the return registers or through the hidden result
/// pointer).
///
/// `top` is the stack top on entry (the arguments), restored if the fast path declines.
///
/// # Safety
/// As `fast_call`.
#[inline(never)]
unsafe fn fast_struct_call(
    L: *mut lua_State,
    fast: &FastPlan,
    func: usize,
    first: c_int,
    top: c_int,
    lock: &'static VmLock,
) -> Option<LResult<c_int>> {
    let st = fast.struct_ret()?;
    // SAFETY: the caller's contract; `dst` holds the struct and outlives the call (the
    // value is on the stack).
    unsafe {
        // The result is a new struct value, filled by the call. Allocated first: it may
        // raise, and nothing owned is alive yet.
        let dst = push_struct_value(L, st);
        let bracket = Bracket::enter(L, lock);
        let r = fast.call_struct(
            func,
            StackArgs { L, first },
            |i, st| fast_struct_arg(L, i as c_int + first, st),
            bracket.around(),
            dst,
        );
        if r.is_none() {
            bracket.abandon();
            // Declined: the general path starts from the arguments alone.
            slots::truncate(L, top);
            return None;
        }
        if let Err(e) = bracket.finish() {
            return Some(Err(e));
        }
        Some(Ok(1))
    }
}

/// The fast path's arguments: Luau's stack slots from `first` on.
struct StackArgs {
    L: *mut lua_State,
    first: c_int,
}

impl crate::engine::ArgSource for StackArgs {
    #[inline(always)]
    fn arg(&mut self, i: usize, p: Prim) -> Option<u64> {
        // SAFETY: made only by `fast_call` and `fast_struct_call` for the state of the
        // running bound call, whose arguments start at `first`.
        unsafe { fast_arg(self.L, i as c_int + self.first, p) }
    }
}

/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
#[inline(always)]
unsafe fn fast_arg(L: *mut lua_State, idx: c_int, p: Prim) -> Option<u64> {
    // SAFETY: this function's own `# Safety` contract, which every caller upholds.
    unsafe {
        // Numbers and booleans inline; pointers and strings out of line, so this stays
        // small enough to inline into the per-argument loop.
        match (p, slots::get(L, idx)) {
            (Prim::Bool, Plain::Bool(b)) => Some(b as u64),
            (Prim::Bool, _) => None,
            (Prim::Pointer | Prim::String | Prim::String16, v) => fast_ref_arg(L, idx, p, v),
            (_, Plain::Number(n)) => number_bits(n, p, p),
            _ => None,
        }
    }
}

/// `fast_arg` for a pointer or string parameter.
///
/// # Safety
/// As `fast_arg`; `v` is the value at `idx`.
#[inline(never)]
unsafe fn fast_ref_arg(L: *mut lua_State, idx: c_int, p: Prim, v: Plain) -> Option<u64> {
    // SAFETY: the caller's contract.
    unsafe {
        match (p, v) {
            (Prim::Pointer, Plain::Nil) => Some(0),
            (Prim::Pointer, Plain::Other(ffi::LUA_TUSERDATA)) => {
                let ptr = match ffi::lua_userdatatag(L, idx) {
                    RawPtrUd::TAG => &get_ud::<RawPtrUd>(L, idx)?.ptr,
                    TypedPtrUd::TAG => &get_ud::<TypedPtrUd>(L, idx)?.ptr,
                    ViewUd::TAG => &get_ud::<ViewUd>(L, idx)?.ptr,
                    _ => return None,
                };
                (!ptr.is_dead()).then_some(ptr.addr as u64)
            }
            // A string for a `pointer`: in place, a copy or an error depending on the
            // parameter's declaration, which the general path knows.
            (Prim::String, Plain::Other(ffi::LUA_TSTRING)) => {
                let frame = Frame::new(L);
                let s = frame.str(idx)?;
                // Luau strings are NUL-terminated and live on the stack for the whole call.
                (!s.contains(&0)).then_some(s.as_ptr() as u64)
            }
            // Anything else, and String16 (it needs a UTF-16 copy): the general path.
            _ => None,
        }
    }
}

/// A struct argument's bytes, when the value at `idx` is a StructView of the same struct
/// type (the same `Arc`, or an equal type) over memory that is alive and holds the whole
/// struct: exactly what `store_struct_at` accepts from a view. Anything else (a table of
/// fields, a view of another type or of freed memory, any other value) is None, and the
/// general path raises its error.
///
/// # Safety
/// `L` must be a live Luau state with `idx` on its stack. The address is valid until
/// Luau code runs again (the fast path copies it before the call).
#[inline(always)]
unsafe fn fast_struct_arg(
    L: *mut lua_State,
    idx: c_int,
    st: &Arc<StructType>,
) -> Option<*const u8> {
    // SAFETY: this function's own `# Safety` contract, which every caller upholds.
    unsafe {
        let v = get_ud::<ViewUd>(L, idx)?;
        if !Arc::ptr_eq(&v.st, st) && *v.st != **st {
            return None;
        }
        v.ptr.check(0, st.size).ok().map(|a| a as *const u8)
    }
}

/// `ffi.errno()`: errno saved right after the last call.
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn ffi_errno(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guard(L, || {
            ffi::lua_pushnumber(L, crate::engine::saved_errno() as f64);
            Ok(1)
        })
    }
}

/// `ffi.lastError()`: Windows `GetLastError()` saved right after the last call (0 elsewhere).
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn ffi_last_error(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guard(L, || {
            ffi::lua_pushnumber(L, crate::engine::saved_last_error() as f64);
            Ok(1)
        })
    }
}
