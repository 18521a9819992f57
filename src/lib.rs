//! lune-ffi: the foreign function interface for Lune, the standalone Luau runtime.
//!
//! No libffi: calls go through hand-written trampolines per ABI (`asm/`), a Rust
//! classifier maps each signature onto registers and stack slots (`abi`), and the
//! engine runs the resulting plan (`engine`).

pub mod abi;
pub mod cdecl;
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

/// The Luau type definitions of the module (`types.d.luau`).
pub fn typedefs() -> String {
    include_str!("../types.d.luau").to_string()
}
