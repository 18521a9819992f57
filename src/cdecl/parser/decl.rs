//! Declarations: external declarations, declaration specifiers and the base types they name.

use super::*;

impl<'a, 'n> Parser<'a, 'n> {
    pub(super) fn external_declaration(&mut self) -> Result<(), CdefError> {
        let start = self.peek();
        if self.builtin_float_typedef() {
            return Ok(());
        }
        let specs = self.decl_specifiers(true)?;
        if self.eat(";") {
            return Ok(());
        }
        loop {
            let name_tok = self.peek();
            let (name, ty, mut attrs) =
                self.declarator(specs.ty.clone(), specs.quals, DeclKind::Named)?;
            attrs.merge(self.attrs_and_asm()?);
            let Some(name) = name else {
                return Err(self.err_at(name_tok, "expected a name in the declaration"));
            };
            if self.at("{") {
                // A function definition (an inline function in a header): its body is
                // skipped and it declares nothing callable.
                if !matches!(ty, Type::Func(_)) {
                    return Err(self.err("unexpected '{'"));
                }
                self.skip_balanced()?;
                self.ns.add_inline_fn(name.text);
                return Ok(());
            }
            if self.eat("=") {
                // `static const int K = 42;` in a header is a constant, as an enum
                // constant is: it has no symbol in the library.
                let integer = matches!(ty, Type::Int(_) | Type::Enum(_));
                let value = if specs.storage == Storage::Static && specs.quals.is_const && integer {
                    self.static_const_value()
                } else {
                    None
                };
                match value {
                    Some(v) => self
                        .ns
                        .set_constant(name.text, v)
                        .map_err(|m| self.err_at(name, m))?,
                    None => self.skip_initializer()?,
                }
            }
            let mut all = specs.attrs.clone();
            all.merge(attrs);
            self.declare(&specs, name, ty, all)
                .map_err(|m| self.err_at(start, m))?;
            if self.eat(",") {
                continue;
            }
            self.expect(";")?;
            return Ok(());
        }
    }

    /// The value of a `static const` integer's initializer when it is a constant
    /// expression ending the declarator; None (nothing consumed) otherwise.
    fn static_const_value(&mut self) -> Option<i128> {
        let start = self.pos;
        let depth = self.depth;
        match self.const_expr() {
            Ok(v) if self.at(",") || self.at(";") => Some(v.v),
            _ => {
                self.pos = start;
                self.depth = depth;
                None
            }
        }
    }

    /// `typedef float _Float32;`: glibc declares the `_FloatN` types so for compilers
    /// without them (clang's `-E` output has it), while they are built in here. Such a
    /// typedef, of plain type words, is consumed and declares nothing.
    fn builtin_float_typedef(&mut self) -> bool {
        if !self.at("typedef") {
            return false;
        }
        let mut n = 1;
        while n < 6 && TYPE_WORDS.contains(&self.peek_at(n).text) {
            n += 1;
        }
        let name = self.peek_at(n - 1).text;
        let is_float_n = matches!(
            name,
            "_Float16" | "_Float32" | "_Float64" | "_Float32x" | "_Float64x" | "_Float128"
        );
        if n < 3 || !is_float_n || !self.peek_at(n).is(";") {
            return false;
        }
        self.pos += n + 1;
        true
    }

    pub(super) fn skip_initializer(&mut self) -> Result<(), CdefError> {
        loop {
            let t = self.peek();
            match t.text {
                _ if t.kind == Kind::Eof => return Err(self.err("unterminated initializer")),
                "," | ";" if t.kind == Kind::Punct => return Ok(()),
                "(" | "[" | "{" if t.kind == Kind::Punct => self.skip_balanced()?,
                _ => {
                    self.next();
                }
            }
        }
    }

    pub(super) fn declare(
        &mut self,
        specs: &Specs,
        name: Tok<'a>,
        ty: Type,
        attrs: Attrs,
    ) -> Result<(), DeclError> {
        let ty = self.apply_mode(ty, attrs.mode.as_deref())?;
        let ty = self.apply_vector(ty, attrs.vector)?;
        let n = name.text.to_string();
        match specs.storage {
            Storage::Typedef => {
                if attrs.packed {
                    return Err(DeclError::PackedTypedef { name: n });
                }
                let mut ty = ty;
                if let Some(a) = attrs.align {
                    // gcc lets a typedef change a type's alignment, up or down, without
                    // changing its size (glibc's __pthread_unwind_buf_t: 104 bytes,
                    // 16-aligned; `typedef int T __attribute__((aligned(2)))`).
                    if self.ns.alignof(&ty).ok() != Some(a) {
                        ty = Type::Aligned {
                            of: Box::new(ty),
                            align: a,
                        };
                    }
                }
                // `typedef struct { … } name;`: the anonymous record is known by that name.
                if let Type::Record(id) = &ty {
                    if let Some(def) = self.ns.records[id.0].def.as_mut() {
                        if def.layout.name.0.is_none() {
                            let mut st = (*def.layout).clone();
                            st.name = crate::types::TypeName(Some(n.as_str().into()));
                            def.layout = std::sync::Arc::new(st);
                        }
                    }
                }
                self.ns.declare(&n, Ordinary::Typedef(ty, specs.quals))
            }
            _ => match ty {
                Type::Func(f) => {
                    let symbol = attrs.asm.unwrap_or_else(|| n.clone());
                    self.ns.declare(
                        name.text,
                        Ordinary::Func(FuncDecl {
                            name: n,
                            symbol,
                            printf_format: attrs.printf_format.map(|m| m - 1),
                            ty: *f,
                        }),
                    )
                }
                // A `static` object in a header is not a symbol of the library.
                _ if specs.storage == Storage::Static => Ok(()),
                ty => {
                    if ty.is_void() {
                        return Err(DeclError::VoidVariable { name: n });
                    }
                    let symbol = attrs.asm.unwrap_or_else(|| n.clone());
                    self.ns.declare(
                        name.text,
                        Ordinary::Var(VarDecl {
                            name: n,
                            symbol,
                            ty,
                        }),
                    )
                }
            },
        }
    }

    /// `__attribute__((__mode__(X)))`: the integer or float type of that machine mode.
    /// `vector_size(n)`: a vector of `n` bytes of the scalar type `ty` (declared with its
    /// size and alignment; refused in calls and field access, as `long double` is).
    pub(super) fn apply_vector(&self, ty: Type, bytes: Option<usize>) -> Result<Type, DeclError> {
        let Some(n) = bytes else { return Ok(ty) };
        let elem = self.ns.sizeof(&ty)?;
        // Scalars of the unpassable kinds too: gcc's headers make vectors of _Float16.
        let scalar = matches!(
            ty,
            Type::Int(_)
                | Type::Float
                | Type::Double
                | Type::Unpassable(
                    Unpassable::Float16
                        | Unpassable::Int128
                        | Unpassable::UInt128
                        | Unpassable::Float128
                )
        );
        if !scalar || elem == 0 || n % elem != 0 {
            return Err(DeclError::BadVectorSize {
                bytes: n,
                ty: self.ns.type_name(&ty),
            });
        }
        Ok(Type::Unpassable(Unpassable::Vector(n as u32)))
    }

    pub(super) fn apply_mode(&self, ty: Type, mode: Option<&str>) -> Result<Type, DeclError> {
        let Some(mode) = mode else { return Ok(ty) };
        let p = self.ns.platform;
        // Vector modes: `V4SI` is 4 x SI, `V2DF` 2 x DF.
        if let Some(rest) = mode.strip_prefix('V') {
            let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
            if digits > 0 {
                let count: usize = rest[..digits]
                    .parse()
                    .map_err(|_| DeclError::UnknownMode(mode.to_string()))?;
                let elem = match &rest[digits..] {
                    "QI" => 1,
                    "HI" | "HF" => 2,
                    "SI" | "SF" => 4,
                    "DI" | "DF" => 8,
                    "TI" | "TF" => 16,
                    _ => return Err(DeclError::UnknownVectorMode(mode.to_string())),
                };
                let n = count * elem;
                if !n.is_power_of_two() {
                    return Err(DeclError::VectorModeSize(mode.to_string()));
                }
                return Ok(Type::Unpassable(Unpassable::Vector(n as u32)));
            }
        }
        let signed = match &ty {
            Type::Int(k) => k.is_signed(&p),
            Type::Float | Type::Double => {
                return Ok(match mode {
                    "SF" => Type::Float,
                    "DF" => Type::Double,
                    "XF" => Type::Unpassable(Unpassable::LongDouble),
                    "TF" => Type::Unpassable(Unpassable::Float128),
                    _ => return Err(DeclError::UnknownFloatMode(mode.to_string())),
                })
            }
            _ => return Err(DeclError::NonScalarMode(mode.to_string())),
        };
        let bytes = match mode {
            "QI" | "byte" => 1,
            "HI" => 2,
            "SI" => 4,
            "DI" | "word" | "pointer" => 8,
            "TI" => 16,
            _ => return Err(DeclError::UnknownIntegerMode(mode.to_string())),
        };
        use IntKind::*;
        let (long64s, long64u) = if p.long_size == 8 {
            (Long, ULong)
        } else {
            (LongLong, ULongLong)
        };
        Ok(match (bytes, signed) {
            (1, true) => Type::Int(SChar),
            (1, false) => Type::Int(UChar),
            (2, true) => Type::Int(Short),
            (2, false) => Type::Int(UShort),
            (4, true) => Type::Int(Int),
            (4, false) => Type::Int(UInt),
            (8, true) => Type::Int(long64s),
            (8, false) => Type::Int(long64u),
            (_, true) => Type::Unpassable(Unpassable::Int128),
            (_, false) => Type::Unpassable(Unpassable::UInt128),
        })
    }

    // ---- specifiers

    /// Declaration specifiers. Records, enums, `typeof` and `_Alignas` nest declarations
    /// in this one, so this frame repeats per nesting level: it only dispatches, and the
    /// work is in `specifier_word` and `finish_specifiers`, whose frames are gone by then.
    pub(super) fn decl_specifiers(&mut self, allow_storage: bool) -> Result<Specs, CdefError> {
        let start = self.peek();
        let mut s = SpecWords::default();
        loop {
            let t = self.peek();
            if t.kind != Kind::Ident {
                break;
            }
            match t.text {
                "_Alignas" | "alignas" => {
                    let a = self.nested(|p| p.alignas())?;
                    s.attrs.merge(Attrs {
                        align: Some(a),
                        ..Attrs::default()
                    });
                }
                "struct" | "union" | "enum" if s.ty.is_none() && s.words.is_empty() => {
                    let ty = if t.text == "enum" {
                        self.enum_specifier()?
                    } else {
                        self.record_specifier()?
                    };
                    s.ty = Some(match ty {
                        // `struct A __attribute__((aligned(n)))` without a body.
                        Type::Aligned { of, align } => {
                            s.attrs.merge(Attrs {
                                align: Some(align),
                                ..Attrs::default()
                            });
                            *of
                        }
                        ty => ty,
                    });
                }
                "__typeof__" | "__typeof" | "typeof" if s.ty.is_none() && s.words.is_empty() => {
                    s.ty = Some(self.nested(|p| p.typeof_type())?);
                }
                _ => {
                    if !self.specifier_word(t, allow_storage, &mut s)? {
                        break;
                    }
                }
            }
        }
        self.finish_specifiers(start, s)
    }

    /// One specifier that does not nest, at `t`: false if `t` is not a specifier.
    fn specifier_word(
        &mut self,
        t: Tok<'a>,
        allow_storage: bool,
        s: &mut SpecWords<'a>,
    ) -> Result<bool, CdefError> {
        match t.text {
            "typedef" | "extern" | "static" if !allow_storage => {
                return Err(self.err(format!("'{}' is not allowed here", t.text)))
            }
            "typedef" => s.storage = Storage::Typedef,
            "extern" => s.storage = Storage::Extern,
            "static" => s.storage = Storage::Static,
            "auto" | "register" | "_Thread_local" | "__thread" | "inline" | "__inline"
            | "__inline__" | "_Noreturn" | "__extension__" | "__forceinline" => {}
            // MSVC's sized integer keywords, as the C types they are on Win64.
            "__int64" | "__int32" | "__int16" | "__int8" if s.ty.is_none() => {
                s.words.extend_from_slice(match t.text {
                    "__int64" => &["long", "long"][..],
                    "__int32" => &["int"][..],
                    "__int16" => &["short"][..],
                    _ => &["char"][..],
                });
            }
            "__pragma" | "_Pragma" => {
                self.next();
                self.ms_pragma()?;
                return Ok(true);
            }
            "const" | "__const" | "__const__" => s.quals.is_const = true,
            "volatile" | "__volatile" | "__volatile__" => s.quals.is_volatile = true,
            w if QUALIFIER_WORDS.contains(&w) => {}
            "_Atomic" => {
                if self.peek_at(1).is("(") {
                    return Err(self.err("_Atomic(type) is not supported"));
                }
            }
            "__attribute__" | "__attribute" | "__declspec" => {
                let a = self.attributes()?;
                s.attrs.merge(a);
                return Ok(true);
            }
            w if TYPE_WORDS.contains(&w) && s.ty.is_none() => s.words.push(w),
            _ if s.ty.is_none() && s.words.is_empty() && self.is_typedef_name(t) => {
                if let Some(Ordinary::Typedef(tt, tq)) = self.ns.ordinary.get(t.text) {
                    s.ty = Some(tt.clone());
                    s.quals.is_const |= tq.is_const;
                    s.quals.is_volatile |= tq.is_volatile;
                }
            }
            _ => return Ok(false),
        }
        self.next();
        Ok(true)
    }

    /// The type the specifiers from `start` name.
    fn finish_specifiers(&mut self, start: Tok<'a>, s: SpecWords<'a>) -> Result<Specs, CdefError> {
        let ty = match s.ty {
            Some(t) => t,
            None if !s.words.is_empty() => self
                .resolve_words(&s.words)
                .map_err(|m| self.err_at(start, m))?,
            None => {
                let t = self.peek();
                if t.kind == Kind::Ident && !is_reserved(t.text) {
                    let mut msg = format!("unknown type name '{}'", t.text);
                    let suggestion = self.ns.suggest_type(t.text);
                    if let Some(s) = &suggestion {
                        msg.push_str(&format!(" (did you mean '{}'?)", s));
                    }
                    return Err(CdefError {
                        kind: ErrorKind::UnknownType { suggestion },
                        ..self.err(msg)
                    });
                }
                return Err(self.err("expected a type"));
            }
        };
        Ok(Specs {
            storage: s.storage,
            ty,
            quals: s.quals,
            attrs: s.attrs,
        })
    }

    /// `_Alignas(type or constant)`, at `_Alignas`.
    fn alignas(&mut self) -> Result<usize, CdefError> {
        self.next();
        self.expect("(")?;
        let a = if self.starts_type(self.peek()) {
            let t0 = self.peek();
            let tn = self.type_name()?;
            self.ns.alignof(&tn).map_err(|m| self.err_at(t0, m))?
        } else {
            self.const_usize("an alignment")?
        };
        self.expect(")")?;
        Ok(a)
    }

    /// `__typeof__(type)`, at `__typeof__`.
    fn typeof_type(&mut self) -> Result<Type, CdefError> {
        self.next();
        self.expect("(")?;
        let ty = if self.starts_type(self.peek()) {
            self.type_name()?
        } else {
            self.expr_type()?
        };
        self.expect(")")?;
        Ok(ty)
    }

    pub(super) fn resolve_words(&self, words: &[&str]) -> Result<Type, DeclError> {
        let count = |w: &str| words.iter().filter(|x| **x == w).count();
        let signed = count("signed") + count("__signed") + count("__signed__");
        let unsigned = count("unsigned");
        let complex = count("_Complex") + count("__complex__");
        let longs = count("long");
        let bad = || DeclError::BadSpecifiers(words.join(" "));
        if signed + unsigned > 1 || complex > 1 {
            return Err(bad());
        }
        let sign_ok = |ok: bool| if ok { Ok(()) } else { Err(bad()) };
        let others: Vec<&str> = words
            .iter()
            .copied()
            .filter(|w| {
                !matches!(
                    *w,
                    "signed"
                        | "__signed"
                        | "__signed__"
                        | "unsigned"
                        | "_Complex"
                        | "__complex__"
                        | "long"
                        | "int"
                )
            })
            .collect();
        let ints = count("int");
        if ints > 1 || others.len() > 1 {
            return Err(bad());
        }
        use IntKind::*;
        let u = unsigned == 1;
        let main = others.first().copied();
        let ty = match main {
            None => {
                // int, short (no: short is in `others`), long, long long, signed, unsigned.
                let kind = match (longs, u) {
                    (0, false) => Int,
                    (0, true) => UInt,
                    (1, false) => Long,
                    (1, true) => ULong,
                    (2, false) => LongLong,
                    (2, true) => ULongLong,
                    _ => return Err(bad()),
                };
                if complex == 1 {
                    return Err(bad());
                }
                Type::Int(kind)
            }
            Some("short") => {
                sign_ok(longs == 0 && complex == 0)?;
                Type::Int(if u { UShort } else { Short })
            }
            Some("char") => {
                sign_ok(longs == 0 && ints == 0 && complex == 0)?;
                Type::Int(if u {
                    UChar
                } else if signed == 1 {
                    SChar
                } else {
                    Char
                })
            }
            Some("__int128") => {
                sign_ok(longs == 0 && ints == 0)?;
                Type::Unpassable(if u {
                    Unpassable::UInt128
                } else {
                    Unpassable::Int128
                })
            }
            Some("__int128_t") if words.len() == 1 => Type::Unpassable(Unpassable::Int128),
            Some("__uint128_t") if words.len() == 1 => Type::Unpassable(Unpassable::UInt128),
            Some(w) => {
                sign_ok(signed + unsigned + ints == 0)?;
                match (w, longs, complex) {
                    ("void", 0, 0) => Type::Void,
                    ("_Bool" | "bool", 0, 0) => Type::Int(Bool),
                    ("float" | "_Float32", 0, 0) => Type::Float,
                    ("float", 0, 1) => Type::Unpassable(Unpassable::ComplexFloat),
                    ("double" | "_Float64" | "_Float32x", 0, 0) => Type::Double,
                    ("double", 0, 1) => Type::Unpassable(Unpassable::ComplexDouble),
                    ("double", 1, 0) | ("_Float64x", 0, 0) => {
                        Type::Unpassable(Unpassable::LongDouble)
                    }
                    ("double", 1, 1) => Type::Unpassable(Unpassable::ComplexLongDouble),
                    ("_Float128" | "__float128", 0, 0) => Type::Unpassable(Unpassable::Float128),
                    ("_Float16", 0, 0) => Type::Unpassable(Unpassable::Float16),
                    ("_Float16", 0, 1) => Type::Unpassable(Unpassable::ComplexFloat16),
                    ("_Float32", 0, 1) => Type::Unpassable(Unpassable::ComplexFloat),
                    ("_Float64" | "_Float32x", 0, 1) => Type::Unpassable(Unpassable::ComplexDouble),
                    ("_Float64x", 0, 1) => Type::Unpassable(Unpassable::ComplexLongDouble),
                    ("_Float128" | "__float128", 0, 1) => {
                        Type::Unpassable(Unpassable::ComplexFloat128)
                    }
                    _ => return Err(bad()),
                }
            }
        };
        Ok(ty)
    }
}
