//! lune-ffi: the foreign function interface for Lune.

pub mod abi;
pub mod types;

use mlua::prelude::*;

/// Creates the `@lune/ffi` module table.
pub fn module(lua: Lua) -> LuaResult<LuaTable> {
    lua.create_table()
}

/// The Luau type definitions of the module.
pub fn typedefs() -> String {
    include_str!("../types.d.luau").to_string()
}
