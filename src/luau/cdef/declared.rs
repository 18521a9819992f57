//! Declarations in use: `ffi.cdef(source)`, and a Library's declared members — `lib.name`
//! (a declared function bound to that library, created once, on the same fast path as
//! `lib:func`), `lib.CONST` (an enum constant or `#define`) and `lib.var` (an `extern`
//! variable, as a TypedPointer to it). `ffi.C` is the Library `ffi.load()` opens.

use std::ffi::c_int;
use std::rc::Rc;

use mlua::ffi::{self, lua_State};

use crate::cdecl::{CdefReport, FuncDecl, MacroValue, Namespace, Ordinary, Type};
use crate::luau::call::bound::{push_bound, Bound};
use crate::luau::call::desc::{FnDesc, Param};
use crate::luau::call::invoke::{call_with, Names};
use crate::luau::call::library::{LibInner, LibraryUd};
use crate::luau::callback::declared_callback;
use crate::luau::memory::objects::push_typed_to;
use crate::luau::values::convert::{push_i64, push_u64};
use crate::luau::values::ctypes::StrArg;
use crate::luau::vm::frame::Frame;
use crate::luau::vm::raw::{describe, get_ud, guard, push_bytes, push_str, push_ud, LResult};
use crate::luau::vm::state::shared;
use crate::luau::vm::tags::{Tag, Ud};
use crate::memory::Ptr;
use crate::types::{CType, Prim};

/// `ffi.cdef(source)`: declares C into the module-wide namespace.
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn ffi_cdef(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guard(L, || {
            let frame = Frame::new(L);
            let src = frame.str(1).ok_or_else(|| {
                format!(
                    "ffi.cdef: argument #1 (source): expected a string of C declarations, got {}",
                    describe(L, 1)
                )
            })?;
            let src = std::str::from_utf8(src)
                .map_err(|_| "ffi.cdef: argument #1 (source): not valid UTF-8".to_string())?;
            let report = shared(L)
                .ctypes
                .cdef(src)
                .map_err(|e| format!("ffi.cdef: {}", e))?;
            push_report(L, &report);
            Ok(1)
        })
    }
}

/// Pushes what `ffi.cdef` returns: `{ constants = n, aliases = n, skipped = { names } }`.
///
/// # Safety
/// `L` must be a live Luau state; may raise (allocation).
pub unsafe fn push_report(L: *mut lua_State, r: &CdefReport) {
    // SAFETY: the caller's contract; each push has its slot (lua_createtable reserves).
    unsafe {
        ffi::lua_createtable(L, 0, 3);
        ffi::lua_pushnumber(L, r.constants as f64);
        ffi::lua_setfield(L, -2, c"constants".as_ptr());
        ffi::lua_pushnumber(L, r.aliases as f64);
        ffi::lua_setfield(L, -2, c"aliases".as_ptr());
        ffi::lua_createtable(L, r.skipped.len().min(1 << 20) as c_int, 0);
        for (i, name) in r.skipped.iter().enumerate() {
            push_str(L, name);
            ffi::lua_rawseti(L, -2, (i + 1) as _);
        }
        ffi::lua_setfield(L, -2, c"skipped".as_ptr());
    }
}

/// A Library's `__index`: its methods (the upvalue), else a declared member.
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn lib_index(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with (library, key) on the stack.
    unsafe {
        ffi::lua_pushvalue(L, 2);
        if ffi::lua_rawget(L, ffi::lua_upvalueindex(1)) != ffi::LUA_TNIL {
            return 1;
        }
        ffi::lua_pop(L, 1);
        guard(L, || member(L))
    }
}

/// # Safety
/// `L` is the state of a running `lib_index`.
unsafe fn member(L: *mut lua_State) -> LResult<c_int> {
    // SAFETY: `L` is a running `lib_index`'s state (the caller's contract), with the
    // Library at 1 and the key at 2; each path leaves its one result pushed.
    unsafe {
        let lib = get_ud::<LibraryUd>(L, 1)
            .ok_or("Library expected")?
            .lib
            .clone();
        let frame = Frame::new(L);
        let Some(key) = frame.str(2).and_then(|k| std::str::from_utf8(k).ok()) else {
            return Err(format!("Library: no member {}", describe(L, 2)));
        };
        let key = key.to_string();
        if let Some(r) = lib.declared.borrow().get(&key) {
            ffi::lua_rawgeti_(L, ffi::LUA_REGISTRYINDEX, *r);
            return Ok(1);
        }
        let what = format!("Library({}).{}", lib_name(&lib), key);
        let ctypes = &shared(L).ctypes;
        let ns = ctypes.ns.borrow();
        // `#define pcre2_compile pcre2_compile_8`: the function it names.
        let target = ns.alias_target(&key).unwrap_or(&key).to_string();
        if let Some(r) = lib.declared.borrow().get(&target) {
            ffi::lua_rawgeti_(L, ffi::LUA_REGISTRYINDEX, *r);
            return Ok(1);
        }
        match ns.lookup(&target) {
            Some(Ordinary::Func(fd)) => {
                let fd = fd.clone();
                push_declared_function(L, &ns, &lib, &fd, &what)?;
                drop(ns);
                // Created once: later lookups get the same function.
                ffi::lua_pushvalue(L, -1);
                let r = ffi::lua_ref(L, -1);
                ffi::lua_pop(L, 1);
                // Under the function's name: an alias gives the same function.
                lib.declared.borrow_mut().insert(target, r);
                Ok(1)
            }
            Some(Ordinary::Var(v)) => {
                let (elem, ty) = (variable_elem(&ns, &v.ty), v.ty.clone());
                // `extern struct node *head;`: its value reads as a TypedPointer too.
                let mut inner = &v.ty;
                while let Type::Array { of, .. } = inner {
                    inner = of;
                }
                let pointee = ns.pointee_of(inner);
                let symbol = v.symbol.clone();
                drop(ns);
                let elem = elem.map_err(|e| {
                    format!("{}: extern variable of type {}: {}", what, type_name(ctypes, &ty), e)
                })?;
                let addr = lib.lookup(&symbol).map_err(|e| format!("{}: {}", what, e))?;
                push_typed_to(L, Ptr::foreign(addr), elem, pointee);
                Ok(1)
            }
            Some(Ordinary::Typedef(..)) => Err(format!(
                "{}: '{}' is a type, not a function, constant or variable (use it as a type name)",
                what, key
            )),
            // A constant by its name, or through an alias (`#define EWOULDBLOCK EAGAIN`).
            _ => match ns.macro_constant(&target) {
                Some(MacroValue::Float(f)) => {
                    let f = *f;
                    drop(ns);
                    ffi::lua_pushnumber(L, f);
                    Ok(1)
                }
                Some(MacroValue::Str(s)) => {
                    let s = s.clone();
                    drop(ns);
                    push_bytes(L, &s);
                    Ok(1)
                }
                _ => match ns.constant(&target) {
                Some(v) => {
                    drop(ns);
                    // The return rule: a constant has the bits of a 64-bit C integer
                    // (`-1ull` is 2^64 - 1), so beyond 2^53 it is a Luau integer with
                    // those bits, as an i64 or u64 return gives, never a rounded double.
                    if let Ok(v) = i64::try_from(v) {
                        push_i64(L, v);
                    } else if let Ok(v) = u64::try_from(v) {
                        push_u64(L, v);
                    } else {
                        // The parser keeps every constant within 64 bits.
                        return Err(format!("{}: constant {} does not fit in 64 bits", what, v));
                    }
                    Ok(1)
                }
                None if ns.is_inline_function(&target) => Err(format!(
                    "{}: '{}' is an inline function defined in the header: it has no symbol in the library to call (write it in Luau, or call the functions it calls)",
                    what, key
                )),
                None => Err(format!(
                    "{}: no method, and no function, constant or variable '{}' declared with ffi.cdef",
                    what, key
                )),
            },
            },
        }
    }
}

fn lib_name(lib: &LibInner) -> String {
    lib.name().to_string()
}

fn type_name(ctypes: &crate::luau::values::ctypes::CTypes, ty: &Type) -> String {
    ctypes.ns.borrow().type_name(ty)
}

/// The element type of a TypedPointer to an `extern` variable (an array's element type).
fn variable_elem(ns: &Namespace, ty: &Type) -> Result<CType, crate::cdecl::LowerError> {
    match ns.lower_array(ty)? {
        Some((elem, _)) => Ok(elem),
        None => ns.lower(ty),
    }
}

/// Pushes the function `fd` declares, bound to `lib`.
///
/// # Safety
/// `L` must be a live Luau state; may raise (allocation).
unsafe fn push_declared_function(
    L: *mut lua_State,
    ns: &Namespace,
    lib: &Rc<LibInner>,
    fd: &FuncDecl,
    what: &str,
) -> LResult<()> {
    let (ret, params, variadic) = ns.lower_func(&fd.ty).map_err(|e| {
        format!(
            "{}: declared as {}: {}",
            what,
            ns.type_name(&Type::Func(Box::new(fd.ty.clone()))),
            e
        )
    })?;
    let func = lib
        .lookup(&fd.symbol)
        .map_err(|e| format!("{}: {}", what, e))?;
    let desc = FnDesc {
        ret,
        ret_pointee: ns.pointee_of(&fd.ty.ret),
        params: params
            .into_iter()
            .zip(&fd.ty.params)
            .map(|(ty, p)| declared_param(ns, ty, p))
            .collect(),
        variadic,
    };
    if variadic {
        // A printf format types the variadic part: the attribute's parameter, or the
        // last fixed one of C's printf family (gcc's builtins carry the attribute).
        let format = fd
            .printf_format
            .or_else(|| {
                crate::luau::call::printf::BUILTIN_PRINTF
                    .contains(&fd.name.as_str())
                    .then(|| fd.ty.params.len().checked_sub(1))
                    .flatten()
            })
            .filter(|&m| {
                fd.ty.params.get(m).is_some_and(|p| {
                    matches!(
                        p.ty.pointee(),
                        Some(Type::Int(
                            crate::cdecl::IntKind::Char
                                | crate::cdecl::IntKind::SChar
                                | crate::cdecl::IntKind::UChar
                        ))
                    )
                })
            });
        let int_of = |k| match ns.lower(&Type::Int(k)) {
            Ok(CType::Prim(p)) => p,
            _ => Prim::I64,
        };
        let long = (
            int_of(crate::cdecl::IntKind::Long),
            int_of(crate::cdecl::IntKind::ULong),
        );
        // Per-call variadic types: inferred from the values (see `declared_variadic`).
        // SAFETY: `L` is a live state (the caller's contract); the DeclaredVariadic pushed
        // becomes the closure's one upvalue.
        unsafe {
            push_ud(
                L,
                DeclaredVariadic {
                    lib: lib.clone(),
                    desc,
                    func,
                    symbol: fd.symbol.clone(),
                    name: fd.name.clone(),
                    format,
                    long,
                },
            );
            ffi::lua_pushcclosurek(L, declared_variadic, c"ffi function".as_ptr(), 1, None);
        }
        return Ok(());
    }
    let proto = lib
        .sigs
        .prototype_for(&fd.symbol, desc.signature())
        .map_err(|e| format!("{}: {}", what, e))?;
    // SAFETY: `L` is a live state (the caller's contract); the bound function is its one
    // push.
    unsafe {
        push_bound(
            L,
            Bound {
                proto,
                desc,
                func,
                name: fd.name.clone(),
                lib: Some(lib.clone()),
            },
        );
    }
    Ok(())
}

/// A declared function's parameter: its lowered type `ty`, declared pointee, what a Luau
/// string becomes (in place only where the declaration promises C will not write), its C
/// text for messages (`const char *filename`), and for a function pointer, the callback
/// type a Luau function passed there is called with (for the duration of the call).
fn declared_param(ns: &Namespace, ty: CType, p: &crate::cdecl::Param) -> Param {
    let str_arg = match &p.ty {
        Type::Pointer { is_const: true, .. } => StrArg::InPlace,
        _ => StrArg::Refuse,
    };
    let t = ns.type_name(&p.ty);
    let c_decl = match &p.name {
        Some(n) if t.ends_with('*') => format!("{}{}", t, n),
        Some(n) => format!("{} {}", t, n),
        None => t,
    };
    let callback = match &p.ty {
        Type::Pointer { to, .. } => match &**to {
            Type::Func(f) => declared_callback(ns, f).ok().map(Rc::new),
            _ => None,
        },
        _ => None,
    };
    Param {
        pointee: ns.pointee_of(&p.ty),
        str_arg,
        c_decl: Some(c_decl),
        callback,
        ..Param::plain(ty)
    }
}

/// A declared variadic function: the fixed part from its declaration, the variadic part
/// from each call's values, as LuaJIT does: a number is passed as a `double`, a Luau
/// integer as a `long long`, a string as `const char *`, a boolean as an `int`, nil and
/// pointers as pointers.
pub struct DeclaredVariadic {
    lib: Rc<LibInner>,
    /// The fixed part; each call adds its variadic arguments (strings as `const char *`).
    desc: FnDesc,
    func: usize,
    symbol: String,
    name: String,
    /// The fixed parameter holding a printf format (see `printf`), if any.
    format: Option<usize>,
    /// C's `long` and `unsigned long` here, for `%ld`.
    long: (Prim, Prim),
}

impl Ud for DeclaredVariadic {
    const KIND: Tag = Tag::DeclaredVariadic;
}

/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
unsafe extern "C-unwind" fn declared_variadic(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`; the upvalue is its DeclaredVariadic.
    unsafe {
        guard(L, || {
            let d = get_ud::<DeclaredVariadic>(L, ffi::lua_upvalueindex(1))
                .ok_or("declared function lost its declaration")?;
            let n = ffi::lua_gettop(L).max(0) as usize;
            let nfixed = d.desc.params.len();
            if n < nfixed {
                return Err(format!(
                    "{}: expects at least {} argument{}, got {}",
                    d.name,
                    nfixed,
                    if nfixed == 1 { "" } else { "s" },
                    n
                ));
            }
            // The types as the values or the format say, before promotion: the range
            // checks (`%hhd` is a signed char) and booleans (passed as int) need them.
            let mut desc = d.desc.clone();
            let frame = Frame::new(L);
            let slots = match d.format.map(|m| (m, frame.str(m as c_int + 1))) {
                Some((_, Some(fmt))) => Some(
                    crate::luau::call::printf::parse(fmt, d.long.0, d.long.1).map_err(|e| {
                        format!(
                            "{}: argument #{} (format): {}",
                            d.name,
                            d.format.unwrap_or(0) + 1,
                            e
                        )
                    })?,
                ),
                _ => None,
            };
            if let Some(slots) = &slots {
                if slots.len() != n - nfixed {
                    return Err(format!(
                        "{}: the format takes {} variadic argument{}, got {}",
                        d.name,
                        slots.len(),
                        if slots.len() == 1 { "" } else { "s" },
                        n - nfixed
                    ));
                }
            }
            for i in nfixed..n {
                let idx = i as c_int + 1;
                let t = if let Some(slots) = &slots {
                    crate::luau::call::printf::type_for(
                        &Frame::new(L),
                        idx,
                        &slots[i - nfixed],
                        &d.name,
                        i + 1,
                    )?
                } else if let Some((p, _)) = crate::luau::values::convert::get_typed(L, idx) {
                    p
                } else {
                    match ffi::lua_type(L, idx) {
                        ffi::LUA_TNUMBER => Prim::F64,
                        ffi::LUA_TINTEGER => Prim::I64,
                        ffi::LUA_TSTRING => Prim::String,
                        ffi::LUA_TBOOLEAN => Prim::Bool,
                        ffi::LUA_TNIL | ffi::LUA_TUSERDATA | ffi::LUA_TBUFFER => Prim::Pointer,
                        _ => {
                            return Err(format!(
                                "{}: argument #{}: cannot pass {} as a variadic argument (use lib:call with its type)",
                                d.name,
                                i + 1,
                                describe(L, idx)
                            ))
                        }
                    }
                };
                desc.params.push(Param {
                    variadic: true,
                    ..Param::plain(CType::Prim(t))
                });
            }
            let proto = d
                .lib
                .sigs
                .prototype_for(&d.symbol, desc.signature())
                .map_err(|e| format!("{}: {}", d.name, e))?;
            call_with(
                L,
                &proto,
                d.func,
                1,
                &Names {
                    api: &d.name,
                    cfn: &d.name,
                    desc: Some(&desc),
                },
                d.lib.vm_lock,
            )
        })
    }
}
