//! Declarators: pointers, arrays, functions and parameter lists.

use super::*;

impl<'a, 'n> Parser<'a, 'n> {
    pub(super) fn declarator(
        &mut self,
        base: Type,
        quals: Quals,
        kind: DeclKind,
    ) -> Result<(Option<Tok<'a>>, Type, Attrs), CdefError> {
        let mut ty = base;
        let mut q = quals;
        let mut attrs = Attrs::default();
        loop {
            if self.eat("*") {
                ty = Type::Pointer {
                    to: Box::new(ty),
                    is_const: q.is_const,
                    is_volatile: q.is_volatile,
                };
                q = Quals::default();
                loop {
                    let t = self.peek();
                    match t.text {
                        "const" | "__const" | "__const__" if t.kind == Kind::Ident => {
                            q.is_const = true
                        }
                        "volatile" | "__volatile" | "__volatile__" if t.kind == Kind::Ident => {
                            q.is_volatile = true
                        }
                        w if t.kind == Kind::Ident
                            && (QUALIFIER_WORDS.contains(&w) || w == "_Atomic") => {}
                        "__attribute__" | "__attribute" if t.kind == Kind::Ident => {
                            attrs.merge(self.attributes()?);
                            continue;
                        }
                        _ => break,
                    }
                    self.next();
                }
            } else if self.at("^") {
                return Err(self.err("block pointers are not supported"));
            } else {
                break;
            }
        }
        attrs.merge(self.attributes()?);
        let mut name = None;
        if self.at("(") && self.nested_declarator(kind) {
            let open = self.pos;
            self.skip_balanced()?;
            let close_end = self.pos;
            let had_suffix = self.at("(") || self.at("[");
            ty = self.suffixes(ty)?;
            let end = self.pos;
            self.pos = open + 1;
            let inner_q = if had_suffix { Quals::default() } else { q };
            let (n, t, a) = self.declarator(ty, inner_q, kind)?;
            if self.pos + 1 != close_end {
                return Err(self.err("unexpected token in declarator"));
            }
            self.expect(")")?;
            self.pos = end;
            attrs.merge(a);
            return Ok((n, t, attrs));
        }
        let t = self.peek();
        if t.kind == Kind::Ident && !is_reserved(t.text) {
            if kind == DeclKind::Abstract {
                return Err(self.err(format!("unexpected name '{}' in a type name", t.text)));
            }
            name = Some(self.next());
        } else if kind == DeclKind::Named && !self.at(":") {
            return Err(self.err("expected a name"));
        }
        ty = self.suffixes(ty)?;
        Ok((name, ty, attrs))
    }

    /// At '(': is it a parenthesised declarator rather than a parameter list?
    pub(super) fn nested_declarator(&self, kind: DeclKind) -> bool {
        let t = self.peek_at(1);
        if t.is("*") || t.is("^") || t.is("(") || t.is("__attribute__") {
            return true;
        }
        if t.kind == Kind::Ident && !is_reserved(t.text) && !self.is_typedef_name(t) {
            return kind != DeclKind::Abstract;
        }
        false
    }

    pub(super) fn suffixes(&mut self, base: Type) -> Result<Type, CdefError> {
        enum Suffix {
            Dim(Option<usize>),
            Params(Vec<Param>, bool, bool),
        }
        let mut list = Vec::new();
        let start = self.peek();
        loop {
            let open = self.pos;
            if self.eat("[") {
                while matches!(
                    self.peek().text,
                    "static" | "const" | "volatile" | "restrict" | "__restrict" | "__restrict__"
                ) {
                    self.next();
                }
                if self.eat("]") {
                    list.push(Suffix::Dim(None));
                    continue;
                }
                if self.at("*") && self.peek_at(1).is("]") {
                    self.next();
                    self.next();
                    list.push(Suffix::Dim(None));
                    continue;
                }
                match self.const_usize("an array length") {
                    Ok(n) => {
                        self.expect("]")?;
                        list.push(Suffix::Dim(Some(n)));
                    }
                    Err(_) if self.in_params > 0 => {
                        // A variable-length array parameter (`regmatch_t m[nmatch]`): a
                        // pointer all the same.
                        self.pos = open;
                        self.skip_balanced()?;
                        list.push(Suffix::Dim(None));
                    }
                    Err(e) => return Err(e),
                }
            } else if self.at("(") {
                self.in_params += 1;
                let r = self.params();
                self.in_params -= 1;
                let (p, v, proto) = r?;
                list.push(Suffix::Params(p, v, proto));
            } else {
                break;
            }
        }
        let mut ty = base;
        for s in list.into_iter().rev() {
            ty = match s {
                Suffix::Dim(len) => {
                    if matches!(ty, Type::Func(_) | Type::Void) {
                        return Err(self.err_at(start, "array of functions or of void"));
                    }
                    Type::Array {
                        of: Box::new(ty),
                        len,
                    }
                }
                Suffix::Params(params, variadic, prototyped) => {
                    if matches!(ty, Type::Func(_) | Type::Array { .. }) {
                        return Err(
                            self.err_at(start, "a function cannot return a function or an array")
                        );
                    }
                    Type::Func(Box::new(FuncType {
                        ret: ty,
                        params,
                        variadic,
                        prototyped,
                    }))
                }
            };
        }
        Ok(ty)
    }

    pub(super) fn params(&mut self) -> Result<(Vec<Param>, bool, bool), CdefError> {
        self.expect("(")?;
        if self.eat(")") {
            return Ok((Vec::new(), false, false));
        }
        if self.at("void") && self.peek_at(1).is(")") {
            self.next();
            self.next();
            return Ok((Vec::new(), false, true));
        }
        let mut params = Vec::new();
        let mut variadic = false;
        loop {
            if self.eat("...") {
                variadic = true;
                break;
            }
            let specs = self.decl_specifiers(false)?;
            let (name, ty, _) = self.declarator(specs.ty.clone(), specs.quals, DeclKind::Either)?;
            self.attrs_and_asm()?;
            // Parameters of array and function type are pointers.
            let ty = match ty {
                Type::Array { of, .. } => {
                    let is_const = !matches!(*of, Type::Pointer { .. }) && specs.quals.is_const;
                    Type::Pointer {
                        to: of,
                        is_const,
                        is_volatile: false,
                    }
                }
                f @ Type::Func(_) => Type::Pointer {
                    to: Box::new(f),
                    is_const: false,
                    is_volatile: false,
                },
                t => t,
            };
            if ty.is_void() {
                return Err(self.err("a parameter cannot have type void"));
            }
            params.push(Param {
                name: name.map(|n| n.text.to_string()),
                ty,
            });
            if !self.eat(",") {
                break;
            }
        }
        self.expect(")")?;
        Ok((params, variadic, true))
    }

    pub(super) fn type_name(&mut self) -> Result<Type, CdefError> {
        let specs = self.decl_specifiers(false)?;
        let (_, ty, _) = self.declarator(specs.ty, specs.quals, DeclKind::Abstract)?;
        Ok(ty)
    }

    // ---- directives
}
