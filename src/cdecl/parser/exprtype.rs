//! The types of expressions, where C asks for one in a declaration: `__typeof__(expr)`,
//! `sizeof expr` (`sizeof(((struct q *)0)->x)`) and `__builtin_offsetof(type, a.b[2])`.
//! Only what headers write: names of declared variables and functions, casts, `*`, `&`,
//! member access, subscripts, calls, and integer constant expressions.

use super::*;

impl<'a, 'n> Parser<'a, 'n> {
    /// The type of the unary expression at the cursor. An integer constant expression
    /// has the type of its value (`int`, `unsigned long`, ...).
    pub(super) fn expr_type(&mut self) -> Result<Type, CdefError> {
        let t = self.peek();
        if t.kind == Kind::Punct {
            match t.text {
                "*" => {
                    self.next();
                    let inner = self.nested(|p| p.expr_type())?;
                    return self.deref(t, &inner);
                }
                "&" => {
                    self.next();
                    let inner = self.nested(|p| p.expr_type())?;
                    return Ok(Type::pointer_to(inner, false));
                }
                "(" if self.starts_type(self.peek_at(1)) => {
                    self.next();
                    let ty = self.type_name()?;
                    self.expect(")")?;
                    // The operand is read for its tokens only: the cast gives the type.
                    self.nested(|p| p.expr_type())?;
                    return Ok(ty);
                }
                "(" => {
                    // A typed operand in parentheses, else a constant expression
                    // (`sizeof(1 + 2)`), read again from the '('.
                    let (start, depth) = (self.pos, self.depth);
                    self.next();
                    if let Ok(inner) = self.nested(|p| p.expr_type()) {
                        if self.eat(")") {
                            return self.postfix(inner);
                        }
                    }
                    self.pos = start;
                    self.depth = depth;
                }
                _ => {}
            }
        }
        if t.kind == Kind::Ident {
            let ty = match self.ns.ordinary.get(t.text) {
                Some(Ordinary::Var(v)) => Some(v.ty.clone()),
                Some(Ordinary::Func(f)) => Some(Type::Func(Box::new(f.ty.clone()))),
                _ => None,
            };
            if let Some(ty) = ty {
                self.next();
                return self.postfix(ty);
            }
        }
        let v = self.unary()?;
        Ok(self.type_of_value(v))
    }

    /// The integer type of a constant's value.
    fn type_of_value(&self, v: Val) -> Type {
        use IntKind::*;
        let long64 = self.ns.platform.long_size == 8;
        Type::Int(match (v.bits, v.signed) {
            (b, true) if b <= 32 => Int,
            (b, false) if b <= 32 => UInt,
            (_, true) if long64 => Long,
            (_, false) if long64 => ULong,
            (_, true) => LongLong,
            (_, false) => ULongLong,
        })
    }

    /// `->m`, `.m`, `[i]` and `(args)` after an operand of type `ty`.
    fn postfix(&mut self, mut ty: Type) -> Result<Type, CdefError> {
        loop {
            let t = self.peek();
            if t.kind != Kind::Punct {
                return Ok(ty);
            }
            match t.text {
                "->" | "." => {
                    self.next();
                    let base = if t.text == "->" {
                        self.deref(t, &ty)?
                    } else {
                        ty
                    };
                    let name = self.next();
                    let (_, m) = self.member_at(name, &base)?;
                    ty = m;
                }
                "[" => {
                    self.skip_balanced()?;
                    ty = self.deref(t, &ty)?;
                }
                "(" => {
                    self.skip_balanced()?;
                    ty = match ty.unaligned() {
                        Type::Func(f) => f.ret.clone(),
                        Type::Pointer { to, .. } => match to.unaligned() {
                            Type::Func(f) => f.ret.clone(),
                            _ => return Err(self.err_at(t, "call of something not a function")),
                        },
                        _ => return Err(self.err_at(t, "call of something not a function")),
                    };
                }
                _ => return Ok(ty),
            }
        }
    }

    /// The type `*e` has when `e` has type `ty` (a pointer or an array).
    fn deref(&self, at: Tok<'_>, ty: &Type) -> Result<Type, CdefError> {
        match ty.unaligned() {
            Type::Pointer { to, .. } => Ok((**to).clone()),
            Type::Array { of, .. } => Ok((**of).clone()),
            _ => Err(self.err_at(
                at,
                format!("{} is not a pointer or an array", self.ns.type_name(ty)),
            )),
        }
    }

    /// Member `name` of record type `ty` (anonymous members' own included): its offset
    /// and type. A bitfield has no address, so no offset: an error.
    fn member_at(&self, name: Tok<'_>, ty: &Type) -> Result<(usize, Type), CdefError> {
        let Type::Record(id) = ty.unaligned() else {
            return Err(self.err_at(
                name,
                format!(
                    "member '{}' of {}, which is not a struct or union",
                    name.text,
                    self.ns.type_name(ty)
                ),
            ));
        };
        let found = self.ns.records[id.0].def.as_ref().and_then(|d| {
            let m = self.ns.find_member(&d.members, name.text, 0)?;
            Some((d.layout.lookup(name.text)?.offset, m))
        });
        let Some((offset, m)) = found else {
            return Err(self.err_at(
                name,
                format!("{} has no member '{}'", self.ns.type_name(ty), name.text),
            ));
        };
        if m.bits.is_some() {
            return Err(self.err_at(
                name,
                format!("member '{}' is a bitfield, which has no offset", name.text),
            ));
        }
        Ok((offset, m.ty.clone()))
    }

    /// `__builtin_offsetof(type, member designator)`, at the keyword.
    pub(super) fn builtin_offsetof(&mut self) -> Result<Val, CdefError> {
        self.next();
        self.expect("(")?;
        let ty = self.type_name()?;
        self.expect(",")?;
        let name = self.next();
        let (mut offset, mut cur) = self.member_at(name, &ty)?;
        loop {
            let t = self.peek();
            if self.eat(".") {
                let name = self.next();
                let (o, m) = self.member_at(name, &cur)?;
                offset += o;
                cur = m;
            } else if self.eat("[") {
                let i = self.const_usize("an array index")?;
                self.expect("]")?;
                let elem = self.deref(t, &cur)?;
                let size = self.ns.sizeof(&elem).map_err(|m| self.err_at(t, m))?;
                offset = i
                    .checked_mul(size)
                    .and_then(|b| b.checked_add(offset))
                    .ok_or_else(|| self.err_at(t, "offset too large"))?;
                cur = elem;
            } else {
                break;
            }
        }
        self.expect(")")?;
        Ok(Val {
            v: offset as i128,
            bits: 64,
            signed: false,
        })
    }
}

impl Namespace {
    /// The member declaration named `name`, looking inside anonymous struct/union members.
    fn find_member(&self, members: &[Member], name: &str, depth: usize) -> Option<Member> {
        if depth > MAX_NESTING {
            return None;
        }
        for m in members {
            match (&m.name, &m.ty) {
                (Some(n), _) if n == name => return Some(m.clone()),
                (None, Type::Record(id)) => {
                    let inner = self.records[id.0].def.as_ref()?;
                    if let Some(found) = self.find_member(&inner.members, name, depth + 1) {
                        return Some(found);
                    }
                }
                _ => {}
            }
        }
        None
    }
}
