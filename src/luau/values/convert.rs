//! Luau values ↔ C values. One place decides how every primitive is checked, encoded and
//! pushed, for memory access and for calls alike.

use std::ffi::c_int;
use std::ptr;

use mlua::ffi::{self, lua_State};

use crate::luau::vm::frame::Frame;
use crate::luau::vm::raw::get_ud;
use crate::luau::vm::raw::{fmt_num, get_str, LResult};
use crate::luau::vm::slots::PlainSink;
use crate::luau::vm::tags::{Tag, Ud};
use crate::types::Prim;

/// Largest integer a double holds exactly, and every smaller one.
const EXACT: f64 = 9_007_199_254_740_992.0;

/// Where a value is going, for error messages: `"lib:call: argument #2"`.
#[derive(Clone, Copy)]
pub struct Site<'a> {
    pub func: &'a str,
    pub what: &'a dyn std::fmt::Display,
}

impl Site<'_> {
    pub fn err(&self, expected: &str, got: String) -> String {
        format!(
            "{}: {}: expected {}, got {}",
            self.func, self.what, expected, got
        )
    }
}

/// A message part formatted only if an error needs it: the hot paths never allocate.
pub struct Lazy<F: Fn(&mut std::fmt::Formatter<'_>) -> std::fmt::Result>(pub F);

impl<F: Fn(&mut std::fmt::Formatter<'_>) -> std::fmt::Result> std::fmt::Display for Lazy<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (self.0)(f)
    }
}

fn int_range(p: Prim) -> (i128, i128) {
    match p {
        Prim::I8 => (i8::MIN as i128, i8::MAX as i128),
        Prim::U8 => (0, u8::MAX as i128),
        Prim::I16 => (i16::MIN as i128, i16::MAX as i128),
        Prim::U16 => (0, u16::MAX as i128),
        Prim::I32 => (i32::MIN as i128, i32::MAX as i128),
        Prim::U32 => (0, u32::MAX as i128),
        Prim::I64 | Prim::Isize => (i64::MIN as i128, i64::MAX as i128),
        _ => (0, u64::MAX as i128),
    }
}

fn expected_int(p: Prim) -> String {
    let (lo, hi) = int_range(p);
    format!("an integer from {} to {} ({})", lo, hi, p.name())
}

/// Reads the integer at `idx` for primitive `p`, checked: integral and in range. Luau
/// integers are accepted too; for u64/usize a negative Luau integer is taken as the
/// unsigned value with the same bits (so values read from C round-trip exactly).
#[inline]
pub fn check_int(f: &Frame, idx: c_int, p: Prim, site: Site) -> LResult<u64> {
    if let Some(n) = f.number(idx) {
        let (lo, hi) = int_range(p);
        // Compare in f64: every bound is exact there except i64::MAX/u64::MAX, whose
        // f64 roundings (2^63, 2^64) are excluded with `<`.
        let ok = n.fract() == 0.0 && n >= lo as f64 && n < (hi as f64) + 1.0;
        if !ok {
            let got = if n.is_nan() {
                "NaN".to_string()
            } else {
                fmt_num(n)
            };
            return Err(site.err(&expected_int(p), format!("number {}", got)));
        }
        return Ok(if n < 0.0 { n as i64 as u64 } else { n as u64 });
    }
    if let Some(v) = f.integer(idx) {
        if matches!(p, Prim::U64 | Prim::Usize) {
            return Ok(v as u64);
        }
        let (lo, hi) = int_range(p);
        if (v as i128) < lo || (v as i128) > hi {
            return Err(site.err(&expected_int(p), format!("integer {}", v)));
        }
        return Ok(v as u64);
    }
    match typed_number(f, idx) {
        // `ffi.typed(T, v)` where another integer type is expected: its value,
        // range-checked for this one.
        Some(TypedNum::Int(v)) => {
            let (lo, hi) = int_range(p);
            if matches!(p, Prim::U64 | Prim::Usize) && v < 0 && v >= i64::MIN as i128 {
                return Ok(v as i64 as u64);
            }
            if v < lo || v > hi {
                return Err(site.err(&expected_int(p), f.describe(idx)));
            }
            Ok(v as i64 as u64)
        }
        _ => Err(site.err(&expected_int(p), f.describe(idx))),
    }
}

/// The value of an `ffi.typed` value.
enum TypedNum {
    Int(i128),
    Float(f64),
    Bool(bool),
}

/// The value at `idx` if it is an `ffi.typed` value (checked only where a plain number or
/// boolean was not found, so the common paths never look).
#[cold]
fn typed_number(f: &Frame, idx: c_int) -> Option<TypedNum> {
    let t = f.ud::<TypedValueUd>(idx)?;
    let (p, bits) = (t.prim, normalize_bits(t.prim, t.bits));
    Some(match p {
        Prim::Bool => TypedNum::Bool(bits != 0),
        Prim::F32 => TypedNum::Float(f32::from_bits(bits as u32) as f64),
        Prim::F64 => TypedNum::Float(f64::from_bits(bits)),
        Prim::U8 | Prim::U16 | Prim::U32 | Prim::U64 | Prim::Usize => TypedNum::Int(bits as i128),
        _ => TypedNum::Int(bits as i64 as i128),
    })
}

#[inline]
pub fn check_float(f: &Frame, idx: c_int, p: Prim, site: Site) -> LResult<f64> {
    if let Some(n) = f.number(idx) {
        return Ok(n);
    }
    if let Some(v) = f.integer(idx) {
        return Ok(v as f64);
    }
    match typed_number(f, idx) {
        Some(TypedNum::Int(v)) => Ok(v as f64),
        Some(TypedNum::Float(x)) => Ok(x),
        _ => Err(site.err(&format!("a number ({})", p.name()), f.describe(idx))),
    }
}

#[inline]
pub fn check_bool(f: &Frame, idx: c_int, site: Site) -> LResult<bool> {
    if let Some(b) = f.boolean(idx) {
        Ok(b)
    } else if let Some(TypedNum::Bool(b)) = typed_number(f, idx) {
        Ok(b)
    } else {
        Err(site.err("a boolean", f.describe(idx)))
    }
}

/// Encodes a scalar Luau value as the 8-byte register image of `p`: integers extended to
/// 64 bits by their signedness, f32 in the low 4 bytes, f64 as its bits. Pointer-like
/// primitives are handled by the caller (they need provenance checks).
#[inline]
pub fn encode_number(f: &Frame, idx: c_int, p: Prim, site: Site) -> LResult<u64> {
    match p {
        Prim::Bool => Ok(check_bool(f, idx, site)? as u64),
        Prim::F32 => Ok((check_float(f, idx, p, site)? as f32).to_bits() as u64),
        Prim::F64 => Ok(check_float(f, idx, p, site)?.to_bits()),
        // The bits of a negative value are already sign-extended to 64.
        Prim::I8 | Prim::I16 | Prim::I32 | Prim::I64 | Prim::Isize => check_int(f, idx, p, site),
        Prim::U8 | Prim::U16 | Prim::U32 | Prim::U64 | Prim::Usize => check_int(f, idx, p, site),
        Prim::Void | Prim::Pointer | Prim::String | Prim::String16 => {
            Err(site.err("a value of a storable type", f.describe(idx)))
        }
    }
}

/// Stores the low `p.size()` bytes of a register image at `dst` (unaligned is fine).
///
/// # Safety
/// `dst` must be valid for writes of `p.size()` bytes, and `p` not `Void` (it would
/// write 8).
#[inline]
pub unsafe fn store_bits(dst: usize, p: Prim, bits: u64) {
    // SAFETY: `dst` is writable for `p.size()` bytes (the caller's contract), the width of
    // each write below.
    unsafe {
        let d = dst as *mut u8;
        match p.size() {
            1 => ptr::write_unaligned(d, bits as u8),
            2 => ptr::write_unaligned(d as *mut u16, bits as u16),
            4 => ptr::write_unaligned(d as *mut u32, bits as u32),
            _ => ptr::write_unaligned(d as *mut u64, bits),
        }
    }
}

/// Loads `p` from `src` and returns its register image (extended like `encode_number`).
///
/// # Safety
/// `src` must be valid for reads of `p.size()` bytes.
#[inline]
pub unsafe fn load_bits(src: usize, p: Prim) -> u64 {
    // SAFETY: `src` is readable for `p.size()` bytes (the caller's contract), the width of
    // each read below.
    unsafe {
        let s = src as *const u8;
        match p {
            Prim::Bool | Prim::U8 => ptr::read_unaligned(s) as u64,
            Prim::I8 => ptr::read_unaligned(s as *const i8) as i64 as u64,
            Prim::U16 => ptr::read_unaligned(s as *const u16) as u64,
            Prim::I16 => ptr::read_unaligned(s as *const i16) as i64 as u64,
            Prim::U32 | Prim::F32 => ptr::read_unaligned(s as *const u32) as u64,
            Prim::I32 => ptr::read_unaligned(s as *const i32) as i64 as u64,
            Prim::Void => 0,
            _ => ptr::read_unaligned(s as *const u64),
        }
    }
}

/// Narrows a register image to the primitive's width and re-extends it, so garbage in the
/// upper bits of a return register never reaches Luau.
#[inline(always)]
pub fn normalize_bits(p: Prim, bits: u64) -> u64 {
    match p {
        Prim::Bool => (bits as u8 != 0) as u64,
        Prim::U8 => bits as u8 as u64,
        Prim::I8 => bits as i8 as i64 as u64,
        Prim::U16 => bits as u16 as u64,
        Prim::I16 => bits as i16 as i64 as u64,
        Prim::U32 | Prim::F32 => bits as u32 as u64,
        Prim::I32 => bits as i32 as i64 as u64,
        _ => bits,
    }
}

/// Pushes a 64-bit integer: as a number when a double holds it exactly, else as a Luau
/// integer (never rounded).
///
/// # Safety
/// `L` must be a live Luau state with room for one more value.
#[inline]
pub unsafe fn push_i64(L: *mut lua_State, v: i64) {
    // SAFETY: `L` is a live state (the caller's contract); either branch pushes one value.
    unsafe {
        // One simple rule: every value beyond ±2^53 is an integer, so `typeof` and `tostring`
        // behave the same across that whole range.
        if v.unsigned_abs() <= EXACT as u64 {
            crate::luau::vm::slots::push_number(L, v as f64);
        } else {
            ffi::lua_pushinteger64(L, v);
        }
    }
}

/// # Safety
/// `L` must be a live Luau state with room for one more value.
#[inline]
pub unsafe fn push_u64(L: *mut lua_State, v: u64) {
    // SAFETY: `L` is a live state (the caller's contract); either branch pushes one value.
    unsafe {
        if v <= EXACT as u64 {
            crate::luau::vm::slots::push_number(L, v as f64);
        } else {
            // Luau integers are signed: values from 2^63 up come back with the same bits,
            // which `check_int` accepts back for u64.
            ffi::lua_pushinteger64(L, v as i64);
        }
    }
}

/// The one rule for what a numeric or boolean primitive becomes in Luau, from its register
/// image (bits beyond the type's width ignored): hands `sink` the number or boolean and
/// returns true, or returns false for a 64-bit integer beyond 2^53, which becomes a Luau
/// integer (`push_i64`, `push_u64`), and for what is not a number.
///
/// # Safety
/// `sink` has room for one more value.
#[inline(always)]
pub unsafe fn emit_bits(p: Prim, bits: u64, sink: &mut impl PlainSink) -> bool {
    let n = match p {
        Prim::Bool => {
            // SAFETY: `sink` has room for this one value (the caller's contract).
            unsafe { sink.boolean(bits as u8 != 0) };
            return true;
        }
        Prim::F32 => f32::from_bits(bits as u32) as f64,
        Prim::F64 => f64::from_bits(bits),
        Prim::I8 => bits as i8 as f64,
        Prim::U8 => bits as u8 as f64,
        Prim::I16 => bits as i16 as f64,
        Prim::U16 => bits as u16 as f64,
        Prim::I32 => bits as i32 as f64,
        Prim::U32 => bits as u32 as f64,
        Prim::I64 | Prim::Isize if (bits as i64).unsigned_abs() <= EXACT as u64 => {
            bits as i64 as f64
        }
        Prim::U64 | Prim::Usize if bits <= EXACT as u64 => bits as f64,
        _ => return false,
    };
    // SAFETY: `sink` has room for this one value (the caller's contract).
    unsafe { sink.number(n) };
    true
}

/// [`push_number_bits`] through a frame.
pub fn push_number_bits_to(f: &mut Frame, p: Prim, bits: u64) {
    f.reserve(1);
    // SAFETY: the frame's live state, with room for the value.
    unsafe { push_number_bits(f.state(), p, bits) }
}

/// Pushes a numeric or boolean primitive from its register image.
///
/// # Safety
/// `L` must be a live Luau state with room for one more value.
#[inline(always)]
pub unsafe fn push_number_bits(L: *mut lua_State, p: Prim, bits: u64) {
    struct Stack(*mut lua_State);
    impl PlainSink for Stack {
        #[inline(always)]
        unsafe fn number(&mut self, n: f64) {
            // SAFETY: `push_number_bits`'s contract: a live state, and this is its one push.
            unsafe { crate::luau::vm::slots::push_number(self.0, n) }
        }
        #[inline(always)]
        unsafe fn boolean(&mut self, b: bool) {
            // SAFETY: `push_number_bits`'s contract: a live state, and this is its one push.
            unsafe { crate::luau::vm::slots::push_bool(self.0, b) }
        }
    }
    // SAFETY: `L` is a live state (the caller's contract), and one value is pushed: by
    // `emit_bits` or else by the fallback.
    unsafe {
        if !emit_bits(p, bits, &mut Stack(L)) {
            match p {
                Prim::I64 | Prim::Isize => push_i64(L, bits as i64),
                Prim::U64 | Prim::Usize => push_u64(L, bits),
                _ => ffi::lua_pushnil(L),
            }
        }
    }
}

/// A Luau string as NUL-terminated UTF-16, in a new Luau buffer pushed on the stack (so
/// it lives as long as that stack slot, or a reference to it): its address. Invalid
/// UTF-8 is an error.
///
/// # Safety
/// `L` must be a live Luau state with a string at `idx`; may raise (allocation).
pub unsafe fn push_utf16_copy(L: *mut lua_State, idx: c_int, site: Site) -> LResult<usize> {
    // SAFETY: `L` is a live state with a string at `idx` (the caller's contract); the
    // frame only reads it, before anything is pushed.
    let frame = unsafe { Frame::new(L) };
    let s = frame.str(idx).unwrap_or_default();
    let text = std::str::from_utf8(s).map_err(|e| {
        site.err(
            "valid UTF-8 (string16 converts it to UTF-16)",
            format!("invalid UTF-8 at byte {}", e.valid_up_to()),
        )
    })?;
    let units: Vec<u16> = text.encode_utf16().chain(std::iter::once(0)).collect();
    // SAFETY: `L` is a live state (the caller's contract); the buffer is its one push.
    let p = unsafe { ffi::lua_newbuffer(L, units.len() * 2) } as *mut u16;
    // SAFETY: the new buffer holds exactly `units.len()` u16s (Luau aligns its data to 8).
    unsafe { std::ptr::copy_nonoverlapping(units.as_ptr(), p, units.len()) };
    Ok(p as usize)
}

/// Pushes the NUL-terminated UTF-16 string at `addr` as UTF-8 (nil for NULL); an
/// unpaired surrogate raises an error.
///
/// # Safety
/// `L` must be a live Luau state, and `addr` NULL or a pointer to a NUL-terminated UTF-16
/// string (from C: reading through C-provided pointers is inherently unsafe, as the seed
/// says).
pub unsafe fn push_utf16(L: *mut lua_State, addr: usize) {
    if addr == 0 {
        // SAFETY: `L` is a live state (the caller's contract); nil is its one push.
        unsafe { ffi::lua_pushnil(L) };
        return;
    }
    let p = addr as *const u16;
    let mut n = 0;
    // SAFETY: `addr` points at a NUL-terminated UTF-16 string (the caller's contract), so
    // every unit up to and including the NUL is readable.
    let units: Vec<u16> = unsafe {
        while p.add(n).read_unaligned() != 0 {
            n += 1;
        }
        (0..n).map(|i| p.add(i).read_unaligned()).collect()
    };
    match String::from_utf16(&units) {
        // SAFETY: `L` is a live state (the caller's contract); the string is its one push.
        Ok(s) => unsafe { crate::luau::vm::raw::push_str(L, &s) },
        Err(_) => {
            let at = char::decode_utf16(units.iter().copied())
                .position(|c| c.is_err())
                .unwrap_or(0);
            drop(units);
            // SAFETY: `L` is a live state, and `units` is gone before the raise.
            unsafe {
                crate::luau::vm::raw::raise(
                    L,
                    format!(
                        "string16: invalid UTF-16 from C (an unpaired surrogate at unit {})",
                        at
                    ),
                )
            }
        }
    }
}

/// Pushes the C string at `addr` (nil for NULL).
///
/// # Safety
/// `L` must be a live Luau state with room for one more value, and `addr` NULL or a
/// pointer to a NUL-terminated C string (as C gave it); Luau errors raised inside
/// unwind through here (see `raw`).
pub unsafe fn push_cstring(L: *mut lua_State, addr: usize) {
    if addr == 0 {
        // SAFETY: `L` is a live state (the caller's contract); nil is its one push.
        unsafe { ffi::lua_pushnil(L) };
    } else {
        // SAFETY: the caller got `addr` from C as a `char*`; the seed calls reading
        // through C-provided pointers inherently unsafe.
        let s = unsafe { std::ffi::CStr::from_ptr(addr as *const std::ffi::c_char) };
        // SAFETY: `L` is a live state (the caller's contract); the string is its one push.
        unsafe { crate::luau::vm::raw::push_bytes(L, s.to_bytes()) };
    }
}

/// A Luau string argument for a `char*`: its bytes, rejected if it contains a NUL
/// (C would silently see a shorter string).
///
/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
/// The caller must not keep the slice past the value's life on the stack.
pub unsafe fn check_c_string<'a>(
    L: *mut lua_State,
    idx: c_int,
    site: Site,
) -> LResult<Option<&'a [u8]>> {
    // SAFETY: `idx` is on the stack of the live `L`, and the caller keeps the slice no
    // longer than the value stays there (the caller's contract).
    match unsafe { get_str(L, idx) } {
        Some(s) => {
            if s.contains(&0) {
                return Err(site.err(
                    "a string without embedded NUL bytes",
                    "a string containing a NUL byte".into(),
                ));
            }
            Ok(Some(s))
        }
        None => Ok(None),
    }
}

/// The common case: a Luau number for a numeric parameter, in range. Anything else
/// (integers, booleans, pointers, errors) takes the general path, which builds messages.
///
/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
#[inline(always)]
pub unsafe fn fast_number(L: *mut lua_State, idx: c_int, conv: Prim, pass: Prim) -> Option<u64> {
    // SAFETY: `idx` is on the stack of the running function's live `L` (the caller's
    // contract): a positive one for `get`, -1 (so a value exists) for `top`, any other
    // through the API.
    let v = unsafe {
        if idx > 0 {
            crate::luau::vm::slots::get(L, idx)
        } else if idx == -1 {
            crate::luau::vm::slots::top(L)
        } else if ffi::lua_type(L, idx) == ffi::LUA_TNUMBER {
            crate::luau::vm::slots::Plain::Number(ffi::lua_tonumberx(L, idx, std::ptr::null_mut()))
        } else {
            return None;
        }
    };
    match v {
        crate::luau::vm::slots::Plain::Number(n) => number_bits(n, conv, pass),
        _ => None,
    }
}

/// A number's image as `conv` (passed as `pass`), if it converts exactly and in range.
#[inline(always)]
pub fn number_bits(n: f64, conv: Prim, pass: Prim) -> Option<u64> {
    // `as` saturates and maps NaN to 0, so the round trip rejects fractions, NaN and
    // out-of-range values, which then get their error from the general path.
    // Range first (NaN fails it), then a plain truncation: `as` would add saturation and
    // NaN fix-ups, a chain of compares on every call. The round trip rejects fractions.
    #[inline(always)]
    fn int(n: f64, lo: i64, hi: i64) -> Option<u64> {
        if !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&n) {
            return None;
        }
        // SAFETY: `n` is finite and truncates into i64's range (checked above).
        let v: i64 = unsafe { n.to_int_unchecked() };
        (v as f64 == n && v >= lo && v <= hi).then_some(v as u64)
    }
    // Up to 32 bits: through an i32.
    #[inline(always)]
    fn small(n: f64, lo: i32, hi: i32) -> Option<u64> {
        if !(n > -2_147_483_649.0 && n < 2_147_483_648.0) {
            return None;
        }
        // SAFETY: `n` is finite and truncates into i32's range (checked above).
        let v: i32 = unsafe { n.to_int_unchecked() };
        (v as f64 == n && v >= lo && v <= hi).then_some(v as i64 as u64)
    }
    match conv {
        Prim::F64 => Some(n.to_bits()),
        Prim::F32 if pass == Prim::F64 => Some(((n as f32) as f64).to_bits()),
        Prim::F32 => Some((n as f32).to_bits() as u64),
        Prim::I8 => small(n, i8::MIN as i32, i8::MAX as i32),
        Prim::U8 => small(n, 0, u8::MAX as i32),
        Prim::I16 => small(n, i16::MIN as i32, i16::MAX as i32),
        Prim::U16 => small(n, 0, u16::MAX as i32),
        Prim::I32 => small(n, i32::MIN, i32::MAX),
        Prim::U32 => {
            if !(n > -1.0 && n < 4_294_967_296.0) {
                return None;
            }
            // SAFETY: `n` is finite and truncates into u32's range (checked above).
            let v: u32 = unsafe { n.to_int_unchecked() };
            (v as f64 == n).then_some(v as u64)
        }
        Prim::I64 | Prim::Isize => int(n, i64::MIN, i64::MAX),
        Prim::U64 | Prim::Usize if (0.0..9.007_199_254_740_992e15).contains(&n) => {
            int(n, 0, i64::MAX)
        }
        _ => None,
    }
}

/// The value's C type and its register image (as `encode_number` makes it).
pub struct TypedValueUd {
    pub prim: Prim,
    pub bits: u64,
}

impl Ud for TypedValueUd {
    const KIND: Tag = Tag::TypedValue;
}

/// The typed value at `idx`, if it is one.
///
/// # Safety
/// `L` must be a live Luau state with `idx` on its stack.
pub unsafe fn get_typed(L: *mut lua_State, idx: c_int) -> Option<(Prim, u64)> {
    // SAFETY: `idx` is on the live `L`'s stack (the caller's contract), and the typed
    // value's fields are copied out at once, not kept.
    unsafe { get_ud::<TypedValueUd>(L, idx).map(|t| (t.prim, t.bits)) }
}

#[cfg(test)]
#[path = "convert_tests.rs"]
mod tests;
