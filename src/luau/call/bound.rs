//! Bound functions: `lib:func` and `ffi.fn` give a plain Luau function with its
//! prototype and address bound once, the fast path for repeated calls.

use std::any::Any;
use std::cell::Cell;
use std::ffi::c_int;
use std::rc::Rc;
use std::sync::Arc;

use mlua::ffi::{self, lua_State};

use crate::engine::{FastPlan, Prototype, RegPlan};
use crate::luau::call::desc::FnDesc;
use crate::luau::call::invoke::{call_with, Names};
use crate::luau::call::signature::parse_sig;
use crate::luau::memory::access::push_result;
use crate::luau::memory::objects::{check_ptr, push_struct_value, RawPtrUd, TypedPtrUd, ViewUd};
use crate::luau::values::convert::{normalize_bits, number_bits, push_number_bits};
use crate::luau::vm::frame::{guarded, Frame};
use crate::luau::vm::raw::{get_ud, guard, push_ud, raise, LResult};
use crate::luau::vm::reentry::{has_pending, Bracket};
use crate::luau::vm::slots::{self, Plain};
use crate::luau::vm::state::shared;
use crate::luau::vm::tags::{Tag, Ud};
use crate::memory::Ptr;
use crate::types::{CType, Pointee, Prim, StructType};
use crate::vmlock::VmLock;

/// A prototype bound to an address: the upvalue of a `lib:func` / `ffi.fn` function.
pub struct BoundUd {
    /// The prototype's register-call form, inline: the quickest path (`reg_call`).
    reg: Option<RegPlan>,
    proto: Rc<Prototype>,
    /// What is declared of its parameters and result.
    desc: FnDesc,
    func: usize,
    name: String,
    /// Keeps the library loaded while the function is reachable (its `LibInner`).
    _lib: Option<Rc<dyn Any>>,
    vm_lock: &'static VmLock,
    /// For a `char*` result: calls since the [`STRING_CACHE`] last matched (see
    /// `push_cstring_cached`). None for any other result.
    string_misses: Option<Cell<u32>>,
}

impl Ud for BoundUd {
    const KIND: Tag = Tag::Bound;
}

/// `ffi.fn(ptr, ret, args)` → a plain Luau function calling the pointer.
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn ffi_fn(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guarded(L, |f| {
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
            let desc = parse_sig(f, Some(2), 3, F, 2, 3)?;
            let proto =
                Rc::new(Prototype::host(desc.signature()).map_err(|e| format!("{}: {}", F, e))?);
            // What its errors call it: how it was made, and which function it calls.
            let name = format!("ffi.fn-bound function at 0x{:x}", p.addr);
            push_bound(
                L,
                Bound {
                    proto,
                    desc,
                    func: p.addr,
                    name,
                    lib: None,
                },
            );
            Ok(1)
        })
    }
}

/// For `ffi.gc`: when the value at `idx` is a bound function's upvalue, the function as a
/// C finalizer (prototype, address, library), or why it cannot be one: it must take one
/// pointer and return a scalar or nothing (its result is ignored).
///
/// # Safety
/// `L` must be a live Luau state with a value at `idx`.
#[allow(clippy::type_complexity)]
pub(crate) unsafe fn finalizer_parts(
    L: *mut lua_State,
    idx: c_int,
) -> Option<Result<(Rc<Prototype>, usize, Option<Rc<dyn Any>>), String>> {
    // SAFETY: `idx` holds a value of the live `L` (the caller's contract), and `b` is not
    // used past this function, while that value is still on the stack.
    let b = unsafe { get_ud::<BoundUd>(L, idx) }?;
    let sig = &b.proto.sig;
    let one_pointer = sig.variadic.is_none()
        && sig.fixed.len() == 1
        && matches!(sig.fixed[0], CType::Prim(Prim::Pointer | Prim::String));
    if !one_pointer || !matches!(sig.ret, CType::Prim(_)) || b.func == 0 {
        return Some(Err(format!(
            "'{}' cannot be a finalizer: it must take one pointer and return nothing or a scalar",
            b.name
        )));
    }
    Some(Ok((b.proto.clone(), b.func, b._lib.clone())))
}

/// What a bound function is made of.
pub struct Bound {
    pub proto: Rc<Prototype>,
    pub desc: FnDesc,
    pub func: usize,
    pub name: String,
    /// The library's `LibInner`, kept loaded while the function is reachable.
    pub lib: Option<Rc<dyn Any>>,
}

/// A bound function returning `char*` keeps the last string it returned in this upvalue:
/// when C returns the same text again (a name, a version, an error message), the call
/// pushes that Luau string after comparing the bytes, instead of Luau hashing and
/// interning them again (`lua_pushlstring` was about 440 of the 760 instructions of such
/// a call). The same string either way: Luau strings are interned.
const STRING_CACHE: c_int = ffi::lua_upvalueindex(2);

/// Longest string the cache keeps: a longer one would stay alive with the function.
const STRING_CACHE_MAX: usize = 256;

/// Pushes a plain Luau function calling `b.func` (upvalue: the `BoundUd`, then for a
/// `char*` result the [`STRING_CACHE`]).
///
/// # Safety
/// `L` must be a live Luau state; may raise (allocation).
pub unsafe fn push_bound(L: *mut lua_State, b: Bound) {
    let caches_string = b.proto.sig.ret == CType::Prim(Prim::String);
    // SAFETY: `L` is live; pushing may raise, and `b` moves into the userdata first.
    unsafe {
        push_ud(
            L,
            BoundUd {
                reg: b.proto.fast.as_ref().and_then(FastPlan::register_form),
                proto: b.proto,
                desc: b.desc,
                func: b.func,
                name: b.name,
                _lib: b.lib,
                vm_lock: shared(L).vm_lock,
                string_misses: caches_string.then(|| Cell::new(0)),
            },
        );
        if caches_string {
            ffi::lua_pushnil(L);
            ffi::lua_pushcclosurek(L, bound_call, c"ffi function".as_ptr(), 2, None);
        } else {
            ffi::lua_pushcclosurek(L, bound_call, c"ffi function".as_ptr(), 1, None);
        }
    }
}

/// The body of every bound function: arguments straight from the stack into the frame.
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
unsafe extern "C-unwind" fn bound_call(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        let b = crate::luau::vm::slots::upvalue_ud(L, BoundUd::TAG) as *const BoundUd;
        // SAFETY: the upvalue is the BoundUd this closure was created with (push_bound).
        if let Some(b) = b.as_ref() {
            let ret = ResultRule {
                pointee: b.desc.ret_pointee.as_ref(),
                string_misses: b.string_misses.as_ref(),
            };
            // The register plan first; the fast plan when there is none or it declined.
            if let Some(reg) = &b.reg {
                match reg_call(L, reg, b.func, ret, b.vm_lock) {
                    Some(Ok(n)) => return n,
                    // A callback failed during the call: no Rust value is alive here.
                    Some(Err(e)) => raise(L, e),
                    None => {}
                }
            }
            if let Some(fast) = &b.proto.fast {
                match fast_call(L, fast, b.func, 1, ret, b.vm_lock) {
                    Some(Ok(n)) => return n,
                    // A callback failed during the call: no Rust value is alive here.
                    Some(Err(e)) => raise(L, e),
                    None => {}
                }
            }
        }
        // The general path: structs, conversions the fast path declines, and every error.
        guard(L, || {
            let b = get_ud::<BoundUd>(L, ffi::lua_upvalueindex(1))
                .ok_or("bound function lost its prototype")?;
            // Luau functions given for function-pointer parameters: temporary callbacks,
            // freed when the call returns (C must not keep them).
            let mut temps = Vec::new();
            for (i, p) in b.desc.params.iter().enumerate() {
                let idx = i as c_int + 1;
                let Some(cb) = &p.callback else { continue };
                if ffi::lua_type(L, idx) == ffi::LUA_TFUNCTION {
                    crate::luau::callback::push_callback(L, idx, cb.clone(), true)
                        .map_err(|e| format!("{}: argument #{}: {}", b.name, idx, e))?;
                    ffi::lua_replace(L, idx);
                    temps.push(idx);
                }
            }
            let r = call_with(
                L,
                &b.proto,
                b.func,
                1,
                &Names {
                    api: &b.name,
                    cfn: &b.name,
                    desc: Some(&b.desc),
                },
                b.vm_lock,
            );
            for idx in temps {
                crate::luau::callback::free_callback(L, idx);
            }
            r
        })
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
    ret: ResultRule,
    lock: &'static VmLock,
) -> Option<LResult<c_int>> {
    // SAFETY: `L` is live and holds the arguments from `first` on (the caller's
    // contract); nothing here raises, errors come back as values.
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
        Some(Ok(push_scalar_result(L, fast.ret(), bits, ret)))
    }
}

/// How the fast paths push a scalar result: a pointer as a TypedPointer of `pointee` when
/// declared, and a `char*` through the [`STRING_CACHE`] when `string_misses` is given
/// (only by a bound function returning `char*`, whose closure has that upvalue).
#[derive(Clone, Copy, Default)]
pub struct ResultRule<'a> {
    pub pointee: Option<&'a Pointee>,
    pub string_misses: Option<&'a Cell<u32>>,
}

/// Pushes a scalar result from its register image; the number of results (0 for void).
///
/// # Safety
/// `L` must be the live state of the running call; with `ret.string_misses`, of a bound
/// function returning `char*`; may raise (allocation).
#[inline(always)]
unsafe fn push_scalar_result(L: *mut lua_State, p: Prim, bits: u64, ret: ResultRule) -> c_int {
    // SAFETY: `L` is the running call's live state (the caller's contract), with room for
    // two values (a C function may push LUA_MINSTACK).
    unsafe {
        match (p, ret.string_misses) {
            (Prim::Void, _) => return 0,
            (Prim::String, Some(misses)) => push_cstring_cached(L, bits as usize, misses),
            (Prim::Pointer | Prim::String | Prim::String16, _) => {
                push_result(L, p, bits, ret.pointee)
            }
            _ => push_number_bits(L, p, normalize_bits(p, bits)),
        }
    }
    1
}

/// Pushes the `char*` result `addr` (nil for NULL) through the [`STRING_CACHE`]: the cached
/// string when the bytes match, else a new string, which replaces the cached one after the
/// first two misses in a row and then every 16th, so a function whose text changes on
/// every call pays for the replacement rarely.
///
/// # Safety
/// `L` must be the live state of a running bound function returning `char*` (two
/// upvalues), with room for two values; `addr` is NULL or a NUL-terminated string; may
/// raise (allocation).
#[inline(never)]
unsafe fn push_cstring_cached(L: *mut lua_State, addr: usize, misses: &Cell<u32>) {
    if addr == 0 {
        // SAFETY: `L` is live with room for a value (the caller's contract).
        unsafe { ffi::lua_pushnil(L) };
        return;
    }
    // SAFETY: a non-null `char*` result is a NUL-terminated string (the caller's
    // contract); the bytes are only read before C runs again.
    let bytes = unsafe { std::ffi::CStr::from_ptr(addr as *const std::ffi::c_char) }.to_bytes();
    // SAFETY: `L` is the running closure's live state (the caller's contract); the cached
    // bytes are compared before anything changes the upvalue. None when the direct reads
    // are off: then nothing is cached.
    let hit = unsafe { slots::upvalue_string(L, 2) } == Some(bytes);
    // SAFETY: `L` is live with room for two values (the caller's contract); the upvalue
    // written is the closure's second, which `push_bound` made.
    unsafe {
        if hit && slots::push_upvalue(L, 2) {
            misses.set(0);
            return;
        }
        crate::luau::vm::raw::push_bytes(L, bytes);
        let n = misses.get().saturating_add(1);
        misses.set(n);
        if bytes.len() <= STRING_CACHE_MAX && (n <= 2 || n.is_multiple_of(16)) {
            ffi::lua_pushvalue(L, -1);
            ffi::lua_replace(L, STRING_CACHE);
        }
    }
}

/// The quickest path, for a prototype with a register call ([`RegPlan`]): the arguments
/// read from their slots with `L->base` read once, straight into the argument registers.
/// None, having done nothing, whenever `fast_call` or the general path is needed; a
/// callback error found after the call comes back as `Some(Err)`, as from `fast_call`.
///
/// # Safety
/// `L` must be the live state of the running bound call, whose arguments start at 1;
/// `func` must have the C type `reg` was planned for.
#[inline(always)]
unsafe fn reg_call(
    L: *mut lua_State,
    reg: &RegPlan,
    func: usize,
    ret: ResultRule,
    lock: &'static VmLock,
) -> Option<LResult<c_int>> {
    // SAFETY: `L` is the running call's live state (the caller's contract); nothing here
    // raises before the result is pushed, and the argument slots are read before anything
    // is pushed or called.
    unsafe {
        // Before any argument is converted: Luau finalizers of ffi.gc run here.
        if has_pending() {
            crate::luau::vm::state::safe_point(L);
        }
        let args = slots::args(L)?;
        if args.count() != reg.arg_count() || func == 0 {
            return None;
        }
        let bracket = Bracket::enter(L, lock);
        let Some(bits) = reg.call(func, SlotArgs { L, args }, bracket.around()) else {
            bracket.abandon();
            return None;
        };
        if let Err(e) = bracket.finish() {
            return Some(Err(e));
        }
        Some(Ok(push_scalar_result(L, reg.ret(), bits, ret)))
    }
}

/// `reg_call`'s arguments: the slots as `slots::args` read them.
struct SlotArgs {
    L: *mut lua_State,
    args: slots::Args,
}

impl crate::engine::ArgSource for SlotArgs {
    #[inline(always)]
    fn arg(&mut self, i: usize, p: Prim) -> Option<u64> {
        // SAFETY: made only by `reg_call` for the running bound call's state, which pushes
        // and calls nothing until every argument is read.
        unsafe {
            // A number: converted at once (a non-number type declines in `number_bits`,
            // and the general path converts or reports it). Anything else by its kind.
            if let Some(n) = self.args.number(i) {
                return number_bits(n, p, p);
            }
            fast_value(self.L, i as c_int + 1, p, self.args.get(i))
        }
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
/// `L` must be the state of the running bound call (a `lua_CFunction`, in which the module
/// is open) and `idx >= 1` an index of its arguments.
#[inline(always)]
unsafe fn fast_arg(L: *mut lua_State, idx: c_int, p: Prim) -> Option<u64> {
    // SAFETY: `idx` is an argument slot of the live state `L` (the caller's contract).
    unsafe { fast_value(L, idx, p, slots::get(L, idx)) }
}

/// `fast_arg` for the value `v` read from the slot at `idx`.
///
/// # Safety
/// As `fast_arg`; `v` is the value at `idx`.
#[inline(always)]
unsafe fn fast_value(L: *mut lua_State, idx: c_int, p: Prim, v: Plain) -> Option<u64> {
    // SAFETY: `idx` is the argument slot holding `v` in the running bound call's state `L`
    // (the caller's contract), as `fast_ref_arg` needs.
    unsafe {
        // Numbers and booleans inline; pointers and strings out of line, so this stays
        // small enough to inline into the per-argument loop.
        match (p, v) {
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
    // SAFETY: `idx` is the argument slot holding `v` in the running bound call's state `L`
    // (the caller's contract), as the tag reads, `get_ud` and `Frame::new` need.
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
    // SAFETY: `idx` is on the live state's stack (the caller's contract); `get_ud`
    // checks the tag before the view is read.
    unsafe {
        let v = get_ud::<ViewUd>(L, idx)?;
        if !Arc::ptr_eq(&v.st, st) && *v.st != **st {
            return None;
        }
        v.ptr.check(0, st.size).ok().map(|a| a as *const u8)
    }
}
