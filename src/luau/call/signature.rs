//! Signatures: parsing `ret` and `args` into a [`Signature`], and the per-library caches
//! that let `lib:call` reuse compiled prototypes without parsing again.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ffi::c_int;
use std::rc::Rc;

use mlua::ffi::{self, lua_State};

use crate::abi::Signature;
use crate::engine::Prototype;
use crate::luau::call::desc::{FnDesc, Param};
use crate::luau::memory::types::check_param;
use crate::luau::vm::frame::Frame;
use crate::luau::vm::raw::{get_str, LResult};
use crate::types::{CType, Prim};

/// FNV-1a: symbol names are short and trusted, so a fast hash beats SipHash here.
#[derive(Default, Clone, Copy)]
pub struct Fnv;

pub struct FnvHasher(u64);

impl std::hash::BuildHasher for Fnv {
    type Hasher = FnvHasher;
    fn build_hasher(&self) -> FnvHasher {
        FnvHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for FnvHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ *b as u64).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

const RECENT: usize = 4;

/// A signature `lib:call` resolved lately, matched by content (never by identity, which
/// the garbage collector could recycle).
struct Recent {
    name: Box<[u8]>,
    ret: Prim,
    prims: [Prim; 16],
    n: usize,
    proto: Rc<Prototype>,
    func: usize,
}

/// The prototypes a library compiled, by function name (each name usually has one), and
/// the few `lib:call` signatures used most recently.
#[derive(Default)]
pub struct SigCache {
    protos: RefCell<HashMap<String, Vec<Rc<Prototype>>, Fnv>>,
    recent: RefCell<[Option<Recent>; RECENT]>,
    recent_next: Cell<usize>,
}

impl SigCache {
    /// The prototype of `name` with `sig`, compiled once.
    pub fn prototype_for(&self, name: &str, sig: Signature) -> LResult<Rc<Prototype>> {
        if let Some(list) = self.protos.borrow().get(name) {
            if let Some(p) = list.iter().find(|p| p.sig == sig) {
                return Ok(p.clone());
            }
        }
        let p = Rc::new(Prototype::host(sig)?);
        self.protos
            .borrow_mut()
            .entry(name.to_string())
            .or_default()
            .push(p.clone());
        Ok(p)
    }

    /// `lib:call`'s common case, without building a signature: a name already called,
    /// primitive types only, no `"..."`. `addr` looks up a symbol already resolved. None
    /// sends the call down the general path.
    ///
    /// # Safety
    /// `L` must be a live Luau state whose stack holds the indices passed; Luau
    /// errors raised inside unwind through here (see `raw`).
    pub unsafe fn quick(
        &self,
        L: *mut lua_State,
        name: &[u8],
        ret: Result<c_int, Prim>,
        args_idx: c_int,
        addr: impl FnOnce(&str) -> Option<usize>,
    ) -> Option<(Rc<Prototype>, usize)> {
        // SAFETY: the return type's index and `args_idx` are on the stack of the live `L`
        // (the caller's contract); each type name is read before it is popped. (Raw reads,
        // not `Frame`: this is lib:call's hot path, one check a name.)
        let (ret, n, prims) = unsafe {
            // The return type: from the stack (`lib:call`) or fixed by the method (`callInt`…).
            let ret = match ret {
                Ok(i) => Prim::from_bytes(get_str(L, i)?)?,
                Err(p) => p,
            };
            if ffi::lua_type(L, args_idx) != ffi::LUA_TTABLE {
                return None;
            }
            let n = ffi::lua_objlen(L, args_idx);
            let mut prims = [Prim::Void; 16];
            if n > prims.len() {
                return None;
            }
            for (i, slot) in prims.iter_mut().enumerate().take(n) {
                ffi::lua_rawgeti_(L, args_idx, i as c_int + 1);
                let p = get_str(L, -1).and_then(Prim::from_bytes);
                ffi::lua_pop(L, 1);
                match p {
                    Some(p) if p != Prim::Void => *slot = p,
                    _ => return None,
                }
            }
            (ret, n, prims)
        };
        // Recently used signatures first: no hashing, no UTF-8 check.
        {
            let recent = self.recent.borrow();
            if let Some(r) = recent.iter().flatten().find(|r| {
                r.ret == ret && r.n == n && r.prims[..n] == prims[..n] && *r.name == *name
            }) {
                return Some((r.proto.clone(), r.func));
            }
        }
        let name_str = std::str::from_utf8(name).ok()?;
        let proto = {
            let protos = self.protos.borrow();
            protos
                .get(name_str)?
                .iter()
                .find(|p| {
                    !p.sig.is_variadic()
                        && p.sig.ret == CType::Prim(ret)
                        && p.sig.fixed.len() == n
                        && p.sig
                            .fixed
                            .iter()
                            .zip(&prims)
                            .all(|(t, q)| *t == CType::Prim(*q))
                })?
                .clone()
        };
        let func = addr(name_str)?;
        let slot = self.recent_next.get();
        self.recent_next.set((slot + 1) % RECENT);
        self.recent.borrow_mut()[slot] = Some(Recent {
            name: name.into(),
            ret,
            prims,
            n,
            proto: proto.clone(),
            func,
        });
        Some((proto, func))
    }
}

/// Parses `ret` and the `args` table into a function descriptor. `"..."` in `args` ends
/// the fixed part; the types after it describe this call's variadic arguments.
pub fn parse_sig(
    f: &mut Frame,
    ret: Option<c_int>,
    args_idx: c_int,
    F: &str,
    ret_argn: c_int,
    args_argn: c_int,
) -> LResult<FnDesc> {
    let (ret, ret_pointee) = match ret {
        Some(i) => match f
            .str(i)
            .and_then(|s| std::str::from_utf8(s).ok())
            .and_then(Prim::from_name)
        {
            Some(p) => (CType::Prim(p), None),
            None => {
                let what = format!("argument #{} (return type)", ret_argn);
                let r = check_param(f, i, F, &what)?;
                (r.ty, r.elem_pointee)
            }
        },
        None => (CType::Prim(Prim::Void), None),
    };
    if f.type_of(args_idx) != ffi::LUA_TTABLE {
        return Err(format!(
            "{}: argument #{} (argument types): expected a table of type names, got {}",
            F,
            args_argn,
            f.describe(args_idx)
        ));
    }
    let n = f.len(args_idx);
    let mut params = Vec::with_capacity(n);
    let mut variadic = false;
    for i in 1..=n {
        f.push_index(args_idx, i as c_int);
        if f.str(-1) == Some(b"...") {
            f.pop(1);
            if variadic {
                return Err(format!(
                    "{}: argument #{} (argument types): \"...\" (the start of the variadic part) may appear only once",
                    F, args_argn
                ));
            }
            variadic = true;
            continue;
        }
        // Fast path: a canonical name or alias, with no message formatted.
        let fast = f
            .str(-1)
            .and_then(|s| std::str::from_utf8(s).ok())
            .and_then(Prim::from_name)
            .filter(|p| *p != Prim::Void);
        let param = match fast {
            Some(p) => Param::plain(CType::Prim(p)),
            None => {
                let what = format!("argument #{} (argument types), entry {}", args_argn, i);
                let r = check_param(f, -1, F, &what);
                let r = match r {
                    Ok(r) if r.ty.is_void() => Err(format!(
                        "{}: {}: void is only valid as a return type",
                        F, what
                    )),
                    r => r,
                };
                let r = r.inspect_err(|_| f.pop(1))?;
                Param {
                    pointee: r.elem_pointee,
                    str_arg: r.str_arg,
                    ..Param::plain(r.ty)
                }
            }
        };
        f.pop(1);
        params.push(Param { variadic, ..param });
    }
    Ok(FnDesc {
        ret,
        ret_pointee,
        params,
        variadic,
    })
}
