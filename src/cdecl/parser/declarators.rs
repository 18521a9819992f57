//! Declarators: pointers, arrays, functions and parameter lists.

use super::*;

/// An array dimension or a parameter list after a declarator.
enum Suffix {
    Dim(Option<usize>),
    Params(Vec<Param>, bool, bool),
}

impl<'a, 'n> Parser<'a, 'n> {
    /// A declarator. Parenthesised declarators and parameter lists nest declarators in
    /// this one, so this frame repeats per nesting level: it only dispatches, and the work
    /// is in `pointers`, `declarator_name` and `suffixes`' helpers.
    pub(super) fn declarator(
        &mut self,
        base: Type,
        quals: Quals,
        kind: DeclKind,
    ) -> Result<(Option<Tok<'a>>, Type, Attrs), CdefError> {
        let mut attrs = Attrs::default();
        let (ty, q) = self.pointers(base, quals, &mut attrs)?;
        if self.at("(") && self.nested_declarator(kind) {
            let (n, t, a) = self.nested(|p| p.parenthesised(ty, q, kind))?;
            attrs.merge(a);
            return Ok((n, t, attrs));
        }
        let name = self.declarator_name(kind)?;
        let ty = self.suffixes(ty)?;
        Ok((name, ty, attrs))
    }

    /// The `*`s of a declarator with their qualifiers, and attributes after them.
    fn pointers(
        &mut self,
        base: Type,
        quals: Quals,
        attrs: &mut Attrs,
    ) -> Result<(Type, Quals), CdefError> {
        // Each `*` makes the type one level deeper: stop at the limit, before a chain of
        // stars builds a type too deep to walk (or even to drop) recursively.
        let mut depth = base.depth();
        let mut ty = base;
        let mut q = quals;
        // `(__stdcall *f)`, `(__attribute__((noreturn)) *f)`: before the first `*`.
        loop {
            let t = self.peek();
            if t.kind == Kind::Ident && is_call_conv(t.text) {
                self.next();
            } else if t.kind == Kind::Ident
                && matches!(t.text, "__attribute__" | "__attribute" | "__declspec")
            {
                attrs.merge(self.attributes()?);
            } else {
                break;
            }
        }
        loop {
            if self.at("*") {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(self.too_deep(self.peek()));
                }
                self.next();
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
                            // After a `*`, `aligned(n)` is the pointer type's own: it may
                            // lower its alignment (`void * __attribute__((aligned(4))) p`
                            // is 4-aligned with gcc).
                            let mut a = self.attributes()?;
                            if let Some(n) = a.align.take() {
                                ty = Type::Aligned {
                                    of: Box::new(ty.unaligned().clone()),
                                    align: n,
                                };
                            }
                            attrs.merge(a);
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
        Ok((ty, q))
    }

    /// The declared name, if any (and if `kind` allows or requires one).
    fn declarator_name(&mut self, kind: DeclKind) -> Result<Option<Tok<'a>>, CdefError> {
        let t = self.peek();
        if t.kind == Kind::Ident && !is_reserved(t.text) {
            if kind == DeclKind::Abstract {
                return Err(self.err(format!("unexpected name '{}' in a type name", t.text)));
            }
            return Ok(Some(self.next()));
        } else if kind == DeclKind::Named && !self.at(":") {
            return Err(self.err("expected a name"));
        }
        Ok(None)
    }

    /// A parenthesised declarator, at its '(': what follows the ')' applies first
    /// (`(*f)(int)`: f is a pointer to a function).
    fn parenthesised(
        &mut self,
        ty: Type,
        q: Quals,
        kind: DeclKind,
    ) -> Result<(Option<Tok<'a>>, Type, Attrs), CdefError> {
        let open = self.pos;
        self.skip_balanced()?;
        let close_end = self.pos;
        let had_suffix = self.at("(") || self.at("[");
        let ty = self.suffixes(ty)?;
        let end = self.pos;
        self.pos = open + 1;
        let inner_q = if had_suffix { Quals::default() } else { q };
        let r = self.declarator(ty, inner_q, kind)?;
        if self.pos + 1 != close_end {
            return Err(self.err("unexpected token in declarator"));
        }
        self.expect(")")?;
        self.pos = end;
        Ok(r)
    }

    /// At '(': is it a parenthesised declarator rather than a parameter list?
    pub(super) fn nested_declarator(&self, kind: DeclKind) -> bool {
        let t = self.peek_at(1);
        if t.is("*") || t.is("^") || t.is("(") || t.is("__attribute__") || t.is("__attribute") {
            return true;
        }
        // `(__stdcall *f)`: a calling convention starts a declarator, never a parameter list.
        if t.kind == Kind::Ident && is_call_conv(t.text) {
            return true;
        }
        if t.kind == Kind::Ident && !is_reserved(t.text) && !self.is_typedef_name(t) {
            return kind != DeclKind::Abstract;
        }
        // `typedef int (T);` after `typedef int T;` (OpenSSL): a declaration needs a name,
        // so a lone typedef name in parentheses is the name being declared again.
        if kind == DeclKind::Named && t.kind == Kind::Ident && self.is_typedef_name(t) {
            return self.peek_at(2).is(")");
        }
        false
    }

    /// Array and function suffixes after a declarator's name, applied to `base`. Parameter
    /// lists nest declarators in this one, so this frame repeats per nesting level: the
    /// work is in `dim` and `apply_suffixes`.
    pub(super) fn suffixes(&mut self, base: Type) -> Result<Type, CdefError> {
        let mut list = Vec::new();
        let start = self.peek();
        // Each suffix makes the type one level deeper (see `pointers`).
        let base_depth = base.depth();
        loop {
            let nests = self.at("[") || self.at("(");
            if nests && base_depth + list.len() >= MAX_NESTING {
                return Err(self.too_deep(self.peek()));
            }
            if self.at("[") {
                list.push(self.dim()?);
            } else if self.at("(") {
                self.in_params += 1;
                let r = self.nested(|p| p.params());
                self.in_params -= 1;
                let (p, v, proto) = r?;
                list.push(Suffix::Params(p, v, proto));
            } else {
                break;
            }
        }
        self.apply_suffixes(base, base_depth, list, start)
    }

    /// `[n]`, `[]` or `[*]`, at the '['.
    fn dim(&mut self) -> Result<Suffix, CdefError> {
        let open = self.pos;
        self.next();
        while matches!(
            self.peek().text,
            "static" | "const" | "volatile" | "restrict" | "__restrict" | "__restrict__"
        ) {
            self.next();
        }
        if self.eat("]") {
            return Ok(Suffix::Dim(None));
        }
        if self.at("*") && self.peek_at(1).is("]") {
            self.next();
            self.next();
            return Ok(Suffix::Dim(None));
        }
        match self.const_usize("an array length") {
            Ok(n) => {
                self.expect("]")?;
                Ok(Suffix::Dim(Some(n)))
            }
            Err(_) if self.in_params > 0 => {
                // A variable-length array parameter (`regmatch_t m[nmatch]`): a
                // pointer all the same.
                self.pos = open;
                self.skip_balanced()?;
                Ok(Suffix::Dim(None))
            }
            Err(e) => Err(e),
        }
    }

    /// `base` with the suffixes read from `start` (the last one applies first).
    fn apply_suffixes(
        &self,
        base: Type,
        base_depth: usize,
        list: Vec<Suffix>,
        start: Tok<'a>,
    ) -> Result<Type, CdefError> {
        // A function type is as deep as its deepest parameter too.
        let mut depth = base_depth;
        for s in list.iter().rev() {
            depth = 1 + match s {
                Suffix::Dim(_) => depth,
                Suffix::Params(params, ..) => {
                    params.iter().map(|p| p.ty.depth()).fold(depth, usize::max)
                }
            };
        }
        if depth > MAX_NESTING {
            return Err(self.too_deep(start));
        }
        let mut ty = base;
        for s in list.into_iter().rev() {
            ty = match s {
                Suffix::Dim(len) => {
                    if matches!(ty, Type::Func(_) | Type::Void) {
                        return Err(self.err_at(start, "array of functions or of void"));
                    }
                    // `int [10][]`, `int [][]`: the element type is incomplete (gcc: "array
                    // type has incomplete element type").
                    if matches!(ty, Type::Array { len: None, .. }) {
                        return Err(CdefError {
                            kind: ErrorKind::Unsupported,
                            ..self.err_at(
                                start,
                                "an array of arrays of unknown length (only the first dimension may be omitted)",
                            )
                        });
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

    /// A parameter list, at its '(': (parameters, variadic, prototyped).
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
            params.push(self.param()?);
            if !self.eat(",") {
                break;
            }
        }
        self.expect(")")?;
        Ok((params, variadic, true))
    }

    /// One parameter declaration.
    fn param(&mut self) -> Result<Param, CdefError> {
        let start = self.peek();
        let specs = self.decl_specifiers(false)?;
        let (name, ty, _) = self.declarator(specs.ty, specs.quals, DeclKind::Either)?;
        self.attrs_and_asm()?;
        self.param_type(start, specs.quals, name, ty)
    }

    /// A parameter of array or function type is a pointer.
    fn param_type(
        &self,
        start: Tok<'a>,
        quals: Quals,
        name: Option<Tok<'a>>,
        ty: Type,
    ) -> Result<Param, CdefError> {
        let ty = match ty {
            Type::Array { of, .. } => {
                let is_const = !matches!(*of, Type::Pointer { .. }) && quals.is_const;
                Type::Pointer {
                    to: of,
                    is_const,
                    is_volatile: false,
                }
            }
            f @ Type::Func(_) => {
                if f.depth() >= MAX_NESTING {
                    return Err(self.too_deep(start));
                }
                Type::Pointer {
                    to: Box::new(f),
                    is_const: false,
                    is_volatile: false,
                }
            }
            t => t,
        };
        if ty.is_void() {
            return Err(self.err("a parameter cannot have type void"));
        }
        Ok(Param {
            name: name.map(|n| n.text.to_string()),
            ty,
        })
    }

    pub(super) fn type_name(&mut self) -> Result<Type, CdefError> {
        let start = self.peek();
        let specs = self.decl_specifiers(false)?;
        // Layout attributes in a type name change the type (`int
        // __attribute__((mode(QI)))` is a char, `char __attribute__((aligned(8)))` is
        // 1 byte 8-aligned), never silently nothing.
        let mut base = self
            .apply_mode(specs.ty, specs.attrs.mode.as_deref())
            .and_then(|t| self.apply_vector(t, specs.attrs.vector))
            .map_err(|m| self.err_at(start, m))?;
        if let Some(a) = specs.attrs.align {
            base = self
                .ns
                .raise_alignment(base, a)
                .map_err(|m| self.err_at(start, m))?;
        }
        let (_, ty, _) = self.declarator(base, specs.quals, DeclKind::Abstract)?;
        Ok(ty)
    }

    // ---- directives
}
