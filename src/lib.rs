//! lune-ffi: the foreign function interface for Lune, the standalone Luau runtime.
//!
//! No libffi: calls go through hand-written trampolines per ABI (`asm/`), a Rust
//! classifier maps each signature onto registers and stack slots (`abi`), and the
//! engine runs the resulting plan (`engine`).

pub mod abi;
pub mod engine;
mod luau;
pub mod memory;
pub mod types;

use mlua::prelude::*;

/// Creates the `@lune/ffi` module table for `lua`.
pub fn module(lua: Lua) -> LuaResult<LuaTable> {
    // SAFETY: `open` uses only the raw API on the state mlua hands us, inside mlua's
    // protected call, and leaves exactly the module table on the stack.
    unsafe { lua.exec_raw::<LuaTable>((), |state| luau::open(state)) }
}

/// What `tostring` gives for a lune-ffi object (`RawPointer(0x…)`, `StructType(…)`…), or
/// None for any other value.
///
/// Lune's value formatter (`print`, `stdio.format`) reads metatables through mlua, which
/// only knows the userdata mlua itself created, so it shows every lune-ffi object as
/// `<userdata>`. A runtime maps values through this first (the `lune-ffi` binary's
/// `print` does); Lune's formatter could call it, or fall back to the raw metatable's
/// `__tostring` the same way, for userdata mlua does not know.
pub fn display_value(lua: &Lua, value: &LuaValue) -> Option<String> {
    let LuaValue::UserData(_) = value else {
        return None;
    };
    // SAFETY: the value is pushed by mlua at index 1; `luau::display` only reads it and
    // pushes one string or nil.
    unsafe { lua.exec_raw::<Option<String>>(value, |state| luau::display(state)) }
        .ok()
        .flatten()
}

/// The Luau type definitions of the module (`types.d.luau`).
pub fn typedefs() -> String {
    include_str!("../types.d.luau").to_string()
}
