//! Invocation: Luau arguments into the call frame, the call inside its bracket, the
//! result back to Luau. The general path handles every signature and reports every error;
//! the fast path takes signatures whose scalar arguments convert without error and whose
//! struct arguments are StructViews of their type (copied straight from their memory).

use std::ffi::c_int;
use std::mem::MaybeUninit;

use mlua::ffi::{self, lua_State};

use crate::engine::{Buffers, Call, Prototype};
use crate::luau::call::desc::{FnDesc, Param};
use crate::luau::memory::access::{push_result, store_struct_at};
use crate::luau::memory::objects::{pointer_value, push_struct_value};
use crate::luau::values::convert::{
    check_c_string, encode_number, fast_number, push_utf16_copy, Lazy, Site,
};
use crate::luau::values::ctypes::StrArg;
use crate::luau::vm::frame::Frame;
use crate::luau::vm::raw::{describe, guard, LResult};
use crate::luau::vm::reentry::Bracket;
use crate::memory::Owner;
use crate::types::{CType, Pointee, Prim};
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
    // SAFETY: `L` is live and holds the call's arguments from `first` on (the caller's
    // contract); `Bracket` keeps `proto`'s buffers unmoved while C runs.
    unsafe {
        // Before any argument is converted: Luau finalizers of ffi.gc run here.
        crate::luau::vm::state::safe_point(L);
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
    // SAFETY: `L` holds the argument at `idx` and `slot` gives memory of the struct's
    // size (the caller's contract).
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
    // SAFETY: `L` is live with the argument at `idx` (the caller's contract).
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
    // SAFETY: `L` is live with the argument at `idx` (the caller's contract).
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
