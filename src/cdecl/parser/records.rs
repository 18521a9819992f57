//! Struct, union and enum specifiers, and attributes.

use super::*;

impl<'a, 'n> Parser<'a, 'n> {
    pub(super) fn tag_name(&mut self) -> Result<Option<Tok<'a>>, CdefError> {
        let t = self.peek();
        if t.kind == Kind::Ident && !is_reserved(t.text) {
            self.next();
            Ok(Some(t))
        } else {
            Ok(None)
        }
    }

    /// A struct or union specifier. Its body nests declarations in this one, so the frames
    /// repeated per level (this, `members`, `decl_specifiers`) only dispatch; the work is
    /// in `record_head`, `member_declarators` and `finish_record`.
    pub(super) fn record_specifier(&mut self) -> Result<Type, CdefError> {
        let head = self.record_head()?;
        if !self.at("{") {
            // `struct A __attribute__((aligned(8))) m;`: gcc reads the attribute as the
            // declaration's (a member keeps it under `packed`); `decl_specifiers` takes it
            // off this marker into the specifiers' attributes.
            let ty = Type::Record(head.id);
            return Ok(match head.attrs.align {
                Some(align) => Type::Aligned {
                    of: Box::new(ty),
                    align,
                },
                None => ty,
            });
        }
        let open = self.peek();
        let members = self.nested(|p| p.record_body())?;
        self.finish_record(head, open, members)
    }

    /// `struct tag attributes`: the record it names (declared here if new).
    fn record_head(&mut self) -> Result<RecordHead<'a>, CdefError> {
        let kw = self.next();
        let kind = if kw.text == "union" {
            RecordKind::Union
        } else {
            RecordKind::Struct
        };
        let mut attrs = self.attributes()?;
        let tag = self.tag_name()?;
        attrs.merge(self.attributes()?);
        let kind_name = kw.text;
        if tag.is_none() && !self.at("{") {
            return Err(self.err(format!("expected a tag or '{{' after '{}'", kind_name)));
        }
        // The tag is declared before the body so members can point to it.
        let id = match tag {
            Some(t) => match self.ns.tags.get(t.text) {
                Some(Tag::Record(id)) if self.ns.records[id.0].kind == kind => *id,
                Some(_) => {
                    return Err(self.err_at(
                        t,
                        format!("'{}' was declared as a different kind of tag", t.text),
                    ))
                }
                None => {
                    let id = self.ns.push_record(RecordDecl {
                        tag: Some(t.text.to_string()),
                        kind,
                        def: None,
                    });
                    self.ns.set_tag(t.text, Tag::Record(id));
                    id
                }
            },
            None => self.ns.push_record(RecordDecl {
                tag: None,
                kind,
                def: None,
            }),
        };
        Ok(RecordHead {
            kind,
            kind_name,
            tag,
            attrs,
            id,
        })
    }

    /// `{ members }`, at the '{'.
    fn record_body(&mut self) -> Result<Vec<Member>, CdefError> {
        self.next();
        let members = self.members()?;
        self.expect("}")?;
        Ok(members)
    }

    /// Lays out and records the definition whose body opened at `open`.
    fn finish_record(
        &mut self,
        head: RecordHead<'a>,
        open: Tok<'a>,
        members: Vec<Member>,
    ) -> Result<Type, CdefError> {
        let RecordHead {
            kind,
            kind_name,
            tag,
            mut attrs,
            id,
        } = head;
        attrs.merge(self.attributes()?);
        let rules = attrs.rules.unwrap_or(self.ns.platform.rules);
        let opts = record_options(attrs.packed, self.ns.pack, attrs.align, rules);
        let (mut layout, cannot_pass) =
            self.ns.layout_record(kind, &members, opts).map_err(|m| {
                self.err_at(
                    open,
                    format!(
                        "{} {}: {}",
                        kind_name,
                        tag.map_or("<anonymous>", |t| t.text),
                        m
                    ),
                )
            })?;
        if let (Some(t), Some(st)) = (tag, std::sync::Arc::get_mut(&mut layout)) {
            // Values of the record name it (`TypedPointer<struct tm>`).
            st.name = crate::types::TypeName(Some(format!("{} {}", kind_name, t.text).into()));
        }
        let def = RecordDef {
            members,
            packed: attrs.packed,
            pack: self.ns.pack,
            align: attrs.align,
            rules,
            layout,
            cannot_pass,
        };
        match &self.ns.records[id.0].def {
            Some(old) => {
                if !self.ns.same_definition(old, &def) {
                    return Err(self.err_at(
                        open,
                        format!(
                            "redefinition of {} {} with a different definition: {}",
                            kind_name,
                            tag.map_or("", |t| t.text),
                            self.ns.definition_difference(old, &def)
                        ),
                    ));
                }
            }
            None => self.ns.set_record_def(id, def),
        }
        Ok(Type::Record(id))
    }

    /// The members of a record body, up to its '}'.
    pub(super) fn members(&mut self) -> Result<Vec<Member>, CdefError> {
        let mut members = Vec::new();
        while self.member_prelude()? {
            let specs = self.decl_specifiers(false)?;
            self.member_declarators(specs, &mut members)?;
        }
        Ok(members)
    }

    /// Skips what declares no member (`;`, directives, static assertions): false at the
    /// end of the body, true at a member declaration.
    fn member_prelude(&mut self) -> Result<bool, CdefError> {
        loop {
            let t = self.peek();
            if t.is("}") || t.kind == Kind::Eof {
                return Ok(false);
            }
            if t.kind == Kind::Directive {
                self.next();
                self.directive(t)?;
                continue;
            }
            if self.eat(";") {
                continue;
            }
            if t.is("_Static_assert") || t.is("static_assert") {
                self.skip_static_assert()?;
                continue;
            }
            return Ok(true);
        }
    }

    /// The declarators of one member declaration after its specifiers, through its ';'.
    fn member_declarators(
        &mut self,
        specs: Specs,
        members: &mut Vec<Member>,
    ) -> Result<(), CdefError> {
        if self.eat(";") {
            // An anonymous struct/union member; anything else declares nothing.
            if let Type::Record(id) = specs.ty {
                if self.ns.records[id.0].tag.is_none() {
                    members.push(Member {
                        name: None,
                        ty: specs.ty,
                        bits: None,
                        align: specs.attrs.align,
                        packed: specs.attrs.packed,
                    });
                }
            }
            return Ok(());
        }
        loop {
            let (name, ty, mut attrs) = if self.at(":") {
                (None, specs.ty.clone(), Attrs::default())
            } else {
                self.declarator(specs.ty.clone(), specs.quals, DeclKind::Named)?
            };
            let bits = if self.eat(":") {
                Some(self.const_usize("a bitfield width")? as u32)
            } else {
                None
            };
            attrs.merge(self.attrs_and_asm()?);
            let mut all = specs.attrs.clone();
            all.merge(attrs);
            let ty = self
                .apply_mode(ty, all.mode.as_deref())
                .and_then(|t| self.apply_vector(t, all.vector))
                .map_err(|m| self.err(m))?;
            members.push(Member {
                name: name.map(|n| n.text.to_string()),
                ty,
                bits,
                align: all.align,
                packed: all.packed,
            });
            if self.eat(",") {
                continue;
            }
            self.expect(";")?;
            return Ok(());
        }
    }

    /// An enum specifier. Its values may nest declarations (`sizeof(struct { ... })`), so
    /// its body is a nesting level, and the frames repeated per level only dispatch: the
    /// work is in `enum_head`, `enumerator` and `finish_enum`.
    pub(super) fn enum_specifier(&mut self) -> Result<Type, CdefError> {
        let head = match self.enum_head()? {
            Ok(head) => head,
            Err(declared) => return Ok(declared),
        };
        let open = self.peek();
        let constants = self.nested(|p| p.enum_body())?;
        self.finish_enum(head, open, constants)
    }

    /// `enum tag attributes`: the enum it names if there is a body to follow, else the
    /// type (declared here if new).
    fn enum_head(&mut self) -> Result<Result<EnumHead<'a>, Type>, CdefError> {
        self.next();
        let mut attrs = self.attributes()?;
        let tag = self.tag_name()?;
        attrs.merge(self.attributes()?);
        if tag.is_none() && !self.at("{") {
            return Err(self.err("expected a tag or '{' after 'enum'"));
        }
        let existing = match tag {
            Some(t) => match self.ns.tags.get(t.text) {
                Some(Tag::Enum(id)) => Some(*id),
                Some(_) => {
                    return Err(self.err_at(
                        t,
                        format!("'{}' was declared as a different kind of tag", t.text),
                    ))
                }
                None => None,
            },
            None => None,
        };
        if !self.at("{") {
            let id = existing.unwrap_or_else(|| {
                let id = self.ns.push_enum(EnumDecl {
                    tag: tag.map(|t| t.text.to_string()),
                    constants: None,
                    underlying: IntKind::UInt,
                });
                self.ns.set_tag(tag.map_or("", |t| t.text), Tag::Enum(id));
                id
            });
            return Ok(Err(Type::Enum(id)));
        }
        Ok(Ok(EnumHead {
            attrs,
            tag,
            existing,
        }))
    }

    /// `{ A, B = value, ... }`, at the '{'.
    fn enum_body(&mut self) -> Result<Vec<(String, i128)>, CdefError> {
        self.next();
        let mut constants = Vec::new();
        let mut next_value: i128 = 0;
        while !self.at("}") {
            let name = self.ident("an enumerator name")?;
            self.attributes()?;
            if self.eat("=") {
                next_value = self.const_expr()?.v;
            }
            self.enumerator(name, next_value, &mut constants)?;
            next_value += 1;
            if !self.eat(",") {
                break;
            }
        }
        self.expect("}")?;
        Ok(constants)
    }

    /// Declares the enum constant `name`.
    fn enumerator(
        &mut self,
        name: Tok<'a>,
        value: i128,
        constants: &mut Vec<(String, i128)>,
    ) -> Result<(), CdefError> {
        self.ns
            .declare(name.text, Ordinary::Const(value))
            .map_err(|m| self.err_at(name, m))?;
        constants.push((name.text.to_string(), value));
        Ok(())
    }

    /// Records the definition whose body opened at `open`.
    fn finish_enum(
        &mut self,
        head: EnumHead<'a>,
        open: Tok<'a>,
        constants: Vec<(String, i128)>,
    ) -> Result<Type, CdefError> {
        let EnumHead {
            mut attrs,
            tag,
            existing,
        } = head;
        attrs.merge(self.attributes()?);
        let values: Vec<i128> = constants.iter().map(|c| c.1).collect();
        let underlying = enum_underlying(&values, attrs.packed)
            .ok_or_else(|| self.err_at(open, "enum values do not fit in 64 bits"))?;
        let decl = EnumDecl {
            tag: tag.map(|t| t.text.to_string()),
            constants: Some(constants),
            underlying,
        };
        let id = match existing {
            Some(id) => {
                let old = &self.ns.enums[id.0];
                if old.constants.is_some() && *old != decl {
                    return Err(self.err_at(
                        open,
                        format!(
                            "redefinition of enum {} with different constants",
                            decl.tag.as_deref().unwrap_or("")
                        ),
                    ));
                }
                self.ns.set_enum(id, decl);
                id
            }
            None => {
                let id = EnumId(self.ns.enums.len());
                if let Some(t) = tag {
                    self.ns.set_tag(t.text, Tag::Enum(id));
                }
                self.ns.push_enum(decl)
            }
        };
        Ok(Type::Enum(id))
    }

    // ---- attributes

    /// Zero or more `__attribute__((...))` / `__declspec(...)`.
    pub(super) fn attributes(&mut self) -> Result<Attrs, CdefError> {
        let mut out = Attrs::default();
        loop {
            let t = self.peek();
            if t.kind != Kind::Ident {
                return Ok(out);
            }
            match t.text {
                "__attribute__" | "__attribute" => {
                    self.next();
                    self.expect("(")?;
                    self.expect("(")?;
                    while !self.at(")") {
                        if self.eat(",") {
                            continue;
                        }
                        let a = self.next();
                        if a.kind != Kind::Ident {
                            return Err(self.err_at(a, "expected an attribute name"));
                        }
                        let name = a.text.trim_start_matches("__").trim_end_matches("__");
                        match name {
                            "packed" => out.packed = true,
                            "aligned" => {
                                let n = if self.eat("(") {
                                    let n = self.const_usize("an alignment")?;
                                    self.expect(")")?;
                                    n
                                } else {
                                    // The target's biggest alignment (x86-64 and AArch64).
                                    16
                                };
                                if !n.is_power_of_two() {
                                    return Err(self.err_at(
                                        a,
                                        format!("alignment {} is not a power of two", n),
                                    ));
                                }
                                out.merge(Attrs {
                                    align: Some(n),
                                    ..Attrs::default()
                                });
                            }
                            "mode" => {
                                self.expect("(")?;
                                let m = self.next();
                                out.mode = Some(
                                    m.text
                                        .trim_start_matches("__")
                                        .trim_end_matches("__")
                                        .to_string(),
                                );
                                self.expect(")")?;
                            }
                            "ms_struct" => out.rules = Some(LayoutRules::Msvc),
                            "gcc_struct" => {
                                // GCC's own rules for this target (SysV's on x86-64 Windows).
                                out.rules = Some(match self.ns.platform.rules {
                                    LayoutRules::Msvc => LayoutRules::SysV,
                                    r => r,
                                })
                            }
                            "format" if self.at("(") => {
                                // `format(printf, m, n)`: the variadic arguments of a call
                                // are typed by the format string (glibc's snprintf).
                                self.expect("(")?;
                                let kind = self.next();
                                let printf = matches!(
                                    kind.text.trim_start_matches("__").trim_end_matches("__"),
                                    "printf" | "gnu_printf"
                                );
                                self.expect(",")?;
                                let m = self.const_usize("a format parameter index")?;
                                self.expect(",")?;
                                let n = self.const_usize("a first-argument index")?;
                                self.expect(")")?;
                                if printf && m > 0 && n > 0 {
                                    out.printf_format = Some(m);
                                }
                            }
                            "vector_size" => {
                                self.expect("(")?;
                                let n = self.const_usize("a vector size")?;
                                self.expect(")")?;
                                if !n.is_power_of_two() || n > 1 << 16 {
                                    return Err(self.err_at(
                                        a,
                                        format!(
                                            "vector size {} is not a power of two up to 65536",
                                            n
                                        ),
                                    ));
                                }
                                out.vector = Some(n);
                            }
                            "ext_vector_type" => {
                                return Err(
                                    self.err_at(a, "clang's ext_vector_type is not supported")
                                )
                            }
                            _ => {
                                // Attributes that change neither layout nor calls (nothrow,
                                // nonnull, format, access, deprecated, visibility, ...).
                                if self.at("(") {
                                    self.skip_balanced()?;
                                }
                            }
                        }
                    }
                    self.expect(")")?;
                    self.expect(")")?;
                }
                "__declspec" => {
                    self.next();
                    if !self.at("(") {
                        return Err(self.err("expected '(' after __declspec"));
                    }
                    // `align(n)` is honoured as `aligned(n)`; the rest (dllimport,
                    // dllexport, noreturn, selectany, deprecated(...), ...) changes no
                    // layout and no call on Win64.
                    self.next();
                    while !self.at(")") {
                        let a = self.next();
                        if a.kind == Kind::Eof {
                            return Err(self.err("unterminated __declspec"));
                        }
                        if a.kind == Kind::Ident && a.text == "align" && self.eat("(") {
                            let n = self.const_usize("an alignment")?;
                            self.expect(")")?;
                            if !n.is_power_of_two() {
                                return Err(self
                                    .err_at(a, format!("alignment {} is not a power of two", n)));
                            }
                            out.merge(Attrs {
                                align: Some(n),
                                ..Attrs::default()
                            });
                        } else if self.at("(") {
                            self.skip_balanced()?;
                        }
                    }
                    self.expect(")")?;
                }
                _ => return Ok(out),
            }
        }
    }

    /// Attributes and `__asm__("symbol")` after a declarator.
    pub(super) fn attrs_and_asm(&mut self) -> Result<Attrs, CdefError> {
        let mut out = Attrs::default();
        loop {
            let t = self.peek();
            if t.kind == Kind::Ident && matches!(t.text, "__asm__" | "__asm" | "asm") {
                self.next();
                self.expect("(")?;
                let mut sym = String::new();
                while self.peek().kind == Kind::Str {
                    let s = self.next();
                    sym.push_str(&unquote(s.text));
                }
                self.expect(")")?;
                out.asm = Some(sym);
                continue;
            }
            out.merge(self.attributes()?);
            if !(self.peek().kind == Kind::Ident
                && matches!(
                    self.peek().text,
                    "__asm__" | "__asm" | "asm" | "__attribute__" | "__attribute"
                ))
            {
                return Ok(out);
            }
        }
    }

    // ---- declarators
}
