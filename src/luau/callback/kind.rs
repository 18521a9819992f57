//! The Callback userdata kind and what a live callback needs when C calls it.

use std::cell::{Cell, RefCell};
use std::ffi::c_int;
use std::rc::Rc;

use mlua::ffi::lua_State;

use crate::engine::thunk::Bank;
use crate::engine::Prototype;
use crate::luau::call::desc::FnDesc;
use crate::luau::vm::tags::{Tag, Ud};
use crate::types::Prim;

/// What a live callback needs when C calls it.
pub struct CallbackState {
    pub main: *mut lua_State,
    /// A Luau thread holding the message handler at stack index 1 and the callback's
    /// function at 2, copied onto the calling thread with `lua_xpush`: a plain slot copy,
    /// where a registry lookup costs a table access per value per call.
    pub holder: *mut lua_State,
    /// The registry reference keeping `holder` (and so the function) alive.
    pub holder_ref: c_int,

    pub proto: Prototype,
    /// The last Luau string a `string`-returning callback handed to C, kept alive until
    /// the next call.
    pub last_string_ref: Cell<c_int>,
    pub release_queue: Rc<RefCell<Vec<i32>>>,
    pub invoker_ref: c_int,
    /// What is declared of the arguments: an argument declared `T *` (T an object type)
    /// arrives as a TypedPointer of T; a variadic `bool` C promoted to int, as a boolean
    /// (a fixed `bool` is read by its low byte: its register's upper bits are not
    /// specified on AAPCS64).
    pub desc: Rc<FnDesc>,
    /// When every argument is a number or boolean, few enough to push without growing
    /// the stack: how to push each, directly, without a protected call.
    pub direct: Option<Box<[DirectArg]>>,
    /// When the direct arguments are all of one type that converts without a check, argument
    /// `i` in register `i` of one bank: that type and bank, read as one run of registers.
    pub uniform: Option<(Prim, Bank)>,
    /// A number result (not a boolean) in a return register: its type, bank and register.
    pub number_ret: Option<(Prim, Bank, usize)>,
}

impl Drop for CallbackState {
    fn drop(&mut self) {
        // Destructors run inside the collector: defer registry releases.
        if let Ok(mut q) = self.release_queue.try_borrow_mut() {
            q.push(self.holder_ref);
            let s = self.last_string_ref.get();
            if s != 0 {
                q.push(s);
            }
        }
    }
}

/// How a callback pushes one number or boolean argument.
pub struct DirectArg {
    pub prim: Prim,
    /// Where its 8-byte image is, when it is in one place (else `thunk::arg_bits`).
    pub loc: Option<crate::abi::Loc>,
    /// A variadic `bool`, promoted to int by C: pushed as a boolean.
    pub promoted_bool: bool,
}

/// A Callback: its thunk slot and state. `free` may run while C is inside the callback
/// (a callback freeing itself), so both are cells and the state is reference-counted.
pub struct CallbackUd {
    pub slot: Cell<Option<usize>>,
    pub code: usize,
    /// Made for one ffi call (a Luau function passed for a function-pointer parameter):
    /// its thunk may be reused once it is freed (see `engine::thunk::release`).
    pub per_call: bool,
    pub state: Cell<Option<Rc<CallbackState>>>,
}
impl Ud for CallbackUd {
    const KIND: Tag = Tag::Callback;
}
