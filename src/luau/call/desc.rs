//! One descriptor per function, made once when a signature or a declaration is bound:
//! for each parameter and the result, everything the call, the callback and the value
//! conversions need (C type as written, declared pointee, what a string becomes, the C
//! text for messages, a function-pointer parameter's own type, variadic promotion).
//! The engine's [`Signature`] is derived from it, never kept beside it.

use std::rc::Rc;

use crate::abi::Signature;
use crate::engine::promote_variadic;
use crate::luau::values::ctypes::StrArg;
use crate::types::{CType, Pointee, Prim};

/// One parameter.
#[derive(Clone)]
pub struct Param {
    /// The C type as written: what range checks, messages and callbacks use. In the
    /// variadic part C passes its promotion (see [`FnDesc::signature`]).
    pub ty: CType,
    /// For a `T *` parameter: T. A callback receives the argument as a TypedPointer of T.
    pub pointee: Option<Pointee>,
    /// What a Luau string passed here becomes.
    pub str_arg: StrArg,
    /// A declared function's parameter in C (`const char *filename`), named in errors.
    pub c_decl: Option<String>,
    /// A declared function-pointer parameter: the function type a Luau function passed
    /// here is called with (it becomes a callback for the duration of the call).
    pub callback: Option<Rc<FnDesc>>,
    /// In the variadic part.
    pub variadic: bool,
}

impl Param {
    /// A parameter of type `ty` with nothing else declared about it.
    pub fn plain(ty: CType) -> Param {
        Param {
            ty,
            pointee: None,
            str_arg: StrArg::Copy,
            c_decl: None,
            callback: None,
            variadic: false,
        }
    }

    /// The type C passes: a variadic argument's default promotion.
    pub fn passed(&self) -> CType {
        if self.variadic {
            promote_variadic(&self.ty)
        } else {
            self.ty.clone()
        }
    }

    /// A variadic `bool`, which C promotes to int: Luau gets a boolean back.
    pub fn promoted_bool(&self) -> bool {
        self.variadic && self.ty == CType::Prim(Prim::Bool)
    }
}

/// A function's result and parameters.
#[derive(Clone)]
pub struct FnDesc {
    pub ret: CType,
    /// For a `T *` result: T, the element type of the TypedPointer it comes back as.
    pub ret_pointee: Option<Pointee>,
    pub params: Vec<Param>,
    /// Whether the function is variadic (its variadic part may be empty).
    pub variadic: bool,
}

impl FnDesc {
    /// The signature the engine classifies: variadic arguments promoted.
    pub fn signature(&self) -> Signature {
        let fixed = self.params.iter().filter(|p| !p.variadic);
        let variadic = self.params.iter().filter(|p| p.variadic);
        Signature {
            ret: self.ret.clone(),
            fixed: fixed.map(|p| p.ty.clone()).collect(),
            variadic: self.variadic.then(|| variadic.map(Param::passed).collect()),
        }
    }

    /// The rule for text reaching a callback: an argument declared with a C char-pointer
    /// type (`const char *`, a `const XML_Char *` typedef) arrives as a TypedPointer to
    /// `char`, never as a string. C often passes text with a length and no NUL (expat's
    /// character data, curl's write callback): reading it as a C string would run past
    /// its end. `ffi.string(p, len)` makes the string. Only parameters written as C types
    /// change (`from_c`); the short name `string` asked for the conversion.
    pub fn text_args_as_pointers(&mut self, char_prim: Prim, from_c: impl Fn(&Param) -> bool) {
        for p in &mut self.params {
            if p.ty == CType::Prim(Prim::String) && from_c(p) {
                p.ty = CType::Prim(Prim::Pointer);
                p.pointee = Some(Pointee::Prim(char_prim));
            }
        }
    }
}
