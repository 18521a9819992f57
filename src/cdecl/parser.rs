//! Declarations, declarators, type names, attributes, directives and integer constant
//! expressions. A recursive-descent parser over the token vector; it declares straight
//! into the namespace (`Namespace::cdef` restores it on an error).

use super::lexer::{lex, Kind, Tok};
use super::types::{
    enum_underlying, EnumDecl, EnumId, FuncDecl, FuncType, IntKind, Member, Param, RecordDecl,
    RecordDef, RecordId, Type, Unpassable, VarDecl,
};
use super::{record_options, CdefError, Namespace, Ordinary, Quals, Tag};
use crate::types::{LayoutRules, RecordKind};

pub struct Parser<'a, 'n> {
    toks: Vec<Tok<'a>>,
    pos: usize,
    ns: &'n mut Namespace,
    /// Depth of parameter lists being parsed (array lengths there may be variables).
    in_params: u32,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Storage {
    None,
    Typedef,
    Extern,
    Static,
}

/// Attributes and `__asm__` names gathered around a declaration.
#[derive(Clone, Default)]
struct Attrs {
    packed: bool,
    align: Option<usize>,
    mode: Option<String>,
    asm: Option<String>,
    rules: Option<LayoutRules>,
}

impl Attrs {
    fn merge(&mut self, o: Attrs) {
        self.packed |= o.packed;
        if let Some(a) = o.align {
            self.align = Some(self.align.map_or(a, |b| b.max(a)));
        }
        if o.mode.is_some() {
            self.mode = o.mode;
        }
        if o.asm.is_some() {
            self.asm = o.asm;
        }
        if o.rules.is_some() {
            self.rules = o.rules;
        }
    }
}

struct Specs {
    storage: Storage,
    ty: Type,
    quals: Quals,
    attrs: Attrs,
}

/// An integer constant with its C type (width in bits and signedness).
#[derive(Clone, Copy, Debug)]
struct Val {
    v: i128,
    bits: u32,
    signed: bool,
}

fn wrap(v: i128, bits: u32, signed: bool) -> i128 {
    let m = v & ((1i128 << bits) - 1);
    if signed && (m >> (bits - 1)) & 1 == 1 {
        m - (1i128 << bits)
    } else {
        m
    }
}

impl Val {
    fn int(v: i128) -> Val {
        Val {
            v,
            bits: 32,
            signed: true,
        }
    }
    fn promote(self) -> Val {
        if self.bits < 32 {
            Val {
                v: self.v,
                bits: 32,
                signed: true,
            }
        } else {
            self
        }
    }
}

/// The usual arithmetic conversions on two promoted integer types.
fn common(a: Val, b: Val) -> (u32, bool) {
    let (a, b) = (a.promote(), b.promote());
    if a.signed == b.signed {
        (a.bits.max(b.bits), a.signed)
    } else {
        let (s, u) = if a.signed { (a, b) } else { (b, a) };
        if u.bits >= s.bits {
            (u.bits, false)
        } else {
            (s.bits, true)
        }
    }
}

const TYPE_WORDS: &[&str] = &[
    "void",
    "char",
    "short",
    "int",
    "long",
    "float",
    "double",
    "signed",
    "__signed",
    "__signed__",
    "unsigned",
    "_Bool",
    "bool",
    "_Complex",
    "__complex__",
    "__int128",
    "__int128_t",
    "__uint128_t",
    "_Float128",
    "__float128",
    "_Float32",
    "_Float64",
    "_Float32x",
    "_Float64x",
];

const QUALIFIER_WORDS: &[&str] = &[
    "const",
    "__const",
    "__const__",
    "volatile",
    "__volatile",
    "__volatile__",
    "restrict",
    "__restrict",
    "__restrict__",
    "_Nonnull",
    "_Nullable",
    "_Null_unspecified",
    "__capability",
];

/// Words that are never a declarator's name.
fn is_reserved(w: &str) -> bool {
    TYPE_WORDS.contains(&w)
        || QUALIFIER_WORDS.contains(&w)
        || matches!(
            w,
            "typedef"
                | "extern"
                | "static"
                | "auto"
                | "register"
                | "inline"
                | "__inline"
                | "__inline__"
                | "_Noreturn"
                | "__extension__"
                | "struct"
                | "union"
                | "enum"
                | "__attribute__"
                | "__attribute"
                | "__asm__"
                | "__asm"
                | "asm"
                | "sizeof"
                | "_Alignas"
                | "alignas"
                | "_Alignof"
                | "__alignof__"
                | "__alignof"
                | "_Atomic"
                | "_Thread_local"
                | "__thread"
                | "__typeof__"
                | "__typeof"
                | "typeof"
                | "__declspec"
                | "_Static_assert"
                | "static_assert"
        )
}

impl<'a, 'n> Parser<'a, 'n> {
    pub fn new(toks: Vec<Tok<'a>>, ns: &'n mut Namespace) -> Self {
        Parser {
            toks,
            pos: 0,
            ns,
            in_params: 0,
        }
    }

    // ---- token helpers

    fn peek(&self) -> Tok<'a> {
        self.toks[self.pos]
    }

    fn peek_at(&self, n: usize) -> Tok<'a> {
        self.toks[(self.pos + n).min(self.toks.len() - 1)]
    }

    fn next(&mut self) -> Tok<'a> {
        let t = self.toks[self.pos];
        if t.kind != Kind::Eof {
            self.pos += 1;
        }
        t
    }

    fn at(&self, p: &str) -> bool {
        self.peek().is(p)
    }

    fn eat(&mut self, p: &str) -> bool {
        if self.at(p) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn err_at(&self, t: Tok<'_>, msg: impl Into<String>) -> CdefError {
        CdefError {
            line: t.line,
            column: t.col,
            message: msg.into(),
            near: t.text.chars().take(40).collect(),
        }
    }

    fn err(&self, msg: impl Into<String>) -> CdefError {
        self.err_at(self.peek(), msg)
    }

    fn expect(&mut self, p: &str) -> Result<Tok<'a>, CdefError> {
        if self.at(p) {
            Ok(self.next())
        } else {
            Err(self.err(format!("expected '{}'", p)))
        }
    }

    fn ident(&mut self, what: &str) -> Result<Tok<'a>, CdefError> {
        let t = self.peek();
        if t.kind == Kind::Ident && !is_reserved(t.text) {
            Ok(self.next())
        } else {
            Err(self.err(format!("expected {}", what)))
        }
    }

    /// Skips a balanced group starting at the current opening token.
    fn skip_balanced(&mut self) -> Result<(), CdefError> {
        let start = self.peek();
        let mut depth = 0usize;
        loop {
            let t = self.next();
            match t.kind {
                Kind::Eof => return Err(self.err_at(start, format!("unbalanced '{}'", start.text))),
                Kind::Punct => match t.text {
                    "(" | "[" | "{" => depth += 1,
                    ")" | "]" | "}" => {
                        depth -= 1;
                        if depth == 0 {
                            return Ok(());
                        }
                    }
                    _ => {}
                },
                _ => {}
            }
        }
    }

    fn is_typedef_name(&self, t: Tok<'_>) -> bool {
        t.kind == Kind::Ident && matches!(self.ns.ordinary.get(t.text), Some(Ordinary::Typedef(..)))
    }

    /// Whether `t` can start a type name (for casts, `sizeof` and parameter lists).
    fn starts_type(&self, t: Tok<'_>) -> bool {
        t.kind == Kind::Ident
            && (TYPE_WORDS.contains(&t.text)
                || QUALIFIER_WORDS.contains(&t.text)
                || matches!(
                    t.text,
                    "struct"
                        | "union"
                        | "enum"
                        | "__typeof__"
                        | "__typeof"
                        | "typeof"
                        | "_Atomic"
                        | "__extension__"
                        | "__attribute__"
                )
                || self.is_typedef_name(t))
    }

    // ---- top level

    pub fn translation_unit(&mut self) -> Result<(), CdefError> {
        loop {
            let t = self.peek();
            match t.kind {
                Kind::Eof => return Ok(()),
                Kind::Directive => {
                    self.next();
                    self.directive(t)?;
                }
                _ if t.is(";") => {
                    self.next();
                }
                _ if t.is("_Static_assert") || t.is("static_assert") => {
                    self.skip_static_assert()?
                }
                _ if matches!(t.text, "__asm__" | "__asm" | "asm") && t.kind == Kind::Ident => {
                    // A top-level asm statement (`.symver` and the like): no declaration.
                    self.next();
                    while matches!(self.peek().text, "volatile" | "__volatile__") {
                        self.next();
                    }
                    if !self.at("(") {
                        return Err(self.err("expected '(' after asm"));
                    }
                    self.skip_balanced()?;
                    self.expect(";")?;
                }
                _ => self.external_declaration()?,
            }
        }
    }

    /// Parses the whole input as one type name.
    pub fn type_name_only(&mut self) -> Result<Type, CdefError> {
        if self.peek().kind == Kind::Eof {
            return Err(self.err("expected a type name"));
        }
        let ty = self.type_name()?;
        if self.peek().kind != Kind::Eof {
            return Err(self.err("unexpected text after the type name"));
        }
        Ok(ty)
    }

    fn skip_static_assert(&mut self) -> Result<(), CdefError> {
        self.next();
        if !self.at("(") {
            return Err(self.err("expected '(' after _Static_assert"));
        }
        self.skip_balanced()?;
        self.expect(";")?;
        Ok(())
    }

    fn external_declaration(&mut self) -> Result<(), CdefError> {
        let start = self.peek();
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
                return Ok(());
            }
            if self.eat("=") {
                self.skip_initializer()?;
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

    fn skip_initializer(&mut self) -> Result<(), CdefError> {
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

    fn declare(
        &mut self,
        specs: &Specs,
        name: Tok<'a>,
        ty: Type,
        attrs: Attrs,
    ) -> Result<(), String> {
        let ty = self.apply_mode(ty, attrs.mode.as_deref())?;
        let n = name.text.to_string();
        match specs.storage {
            Storage::Typedef => {
                if attrs.packed {
                    return Err(format!(
                        "attribute 'packed' on typedef '{}' is not supported; put it on the struct",
                        n
                    ));
                }
                let mut ty = ty;
                if let Some(a) = attrs.align {
                    // gcc lets a typedef change a type's alignment without changing its
                    // size (glibc's __pthread_unwind_buf_t: 104 bytes, 16-aligned), which
                    // no StructType can say. Declared; an error only when used.
                    if self.ns.alignof(&ty).ok() != Some(a) {
                        ty = Type::Unsupported {
                            name: n.clone(),
                            why: format!(
                                "typedef '{}' has __attribute__((aligned({}))), an alignment this FFI cannot represent",
                                n, a
                            ),
                        };
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
                            ty: *f,
                        }),
                    )
                }
                // A `static` object in a header is not a symbol of the library.
                _ if specs.storage == Storage::Static => Ok(()),
                ty => {
                    if ty.is_void() {
                        return Err(format!("variable '{}' declared void", n));
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
    fn apply_mode(&self, ty: Type, mode: Option<&str>) -> Result<Type, String> {
        let Some(mode) = mode else { return Ok(ty) };
        let p = self.ns.platform;
        let signed = match &ty {
            Type::Int(k) => k.is_signed(&p),
            Type::Float | Type::Double => {
                return Ok(match mode {
                    "SF" => Type::Float,
                    "DF" => Type::Double,
                    "XF" => Type::Unpassable(Unpassable::LongDouble),
                    "TF" => Type::Unpassable(Unpassable::Float128),
                    _ => return Err(format!("unknown floating mode '{}'", mode)),
                })
            }
            _ => return Err(format!("mode '{}' on a non-scalar type", mode)),
        };
        let bytes = match mode {
            "QI" | "byte" => 1,
            "HI" => 2,
            "SI" => 4,
            "DI" | "word" | "pointer" => 8,
            "TI" => 16,
            _ => return Err(format!("unknown integer mode '{}'", mode)),
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

    fn decl_specifiers(&mut self, allow_storage: bool) -> Result<Specs, CdefError> {
        let start = self.peek();
        let mut storage = Storage::None;
        let mut quals = Quals::default();
        let mut attrs = Attrs::default();
        let mut words: Vec<&'a str> = Vec::new();
        let mut ty: Option<Type> = None;
        loop {
            let t = self.peek();
            if t.kind != Kind::Ident {
                break;
            }
            match t.text {
                "typedef" | "extern" | "static" if !allow_storage => {
                    return Err(self.err(format!("'{}' is not allowed here", t.text)))
                }
                "typedef" => storage = Storage::Typedef,
                "extern" => storage = Storage::Extern,
                "static" => storage = Storage::Static,
                "auto" | "register" | "_Thread_local" | "__thread" | "inline" | "__inline"
                | "__inline__" | "_Noreturn" | "__extension__" => {}
                "const" | "__const" | "__const__" => quals.is_const = true,
                "volatile" | "__volatile" | "__volatile__" => quals.is_volatile = true,
                w if QUALIFIER_WORDS.contains(&w) => {}
                "_Atomic" => {
                    if self.peek_at(1).is("(") {
                        return Err(self.err("_Atomic(type) is not supported"));
                    }
                }
                "__attribute__" | "__attribute" | "__declspec" => {
                    attrs.merge(self.attributes()?);
                    continue;
                }
                "_Alignas" | "alignas" => {
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
                    attrs.merge(Attrs {
                        align: Some(a),
                        ..Attrs::default()
                    });
                    continue;
                }
                "struct" | "union" | "enum" if ty.is_none() && words.is_empty() => {
                    ty = Some(if t.text == "enum" {
                        self.enum_specifier()?
                    } else {
                        self.record_specifier()?
                    });
                    continue;
                }
                "__typeof__" | "__typeof" | "typeof" if ty.is_none() && words.is_empty() => {
                    self.next();
                    self.expect("(")?;
                    if !self.starts_type(self.peek()) {
                        return Err(self.err("typeof of an expression is not supported"));
                    }
                    ty = Some(self.type_name()?);
                    self.expect(")")?;
                    continue;
                }
                w if TYPE_WORDS.contains(&w) && ty.is_none() => words.push(w),
                _ if ty.is_none() && words.is_empty() && self.is_typedef_name(t) => {
                    if let Some(Ordinary::Typedef(tt, tq)) = self.ns.ordinary.get(t.text) {
                        ty = Some(tt.clone());
                        quals.is_const |= tq.is_const;
                        quals.is_volatile |= tq.is_volatile;
                    }
                }
                _ => break,
            }
            self.next();
        }
        let ty = match ty {
            Some(t) => t,
            None if !words.is_empty() => self
                .resolve_words(&words)
                .map_err(|m| self.err_at(start, m))?,
            None => {
                let t = self.peek();
                if t.kind == Kind::Ident && !is_reserved(t.text) {
                    let mut msg = format!("unknown type name '{}'", t.text);
                    if let Some(s) = self.ns.suggest_type(t.text) {
                        msg.push_str(&format!(" (did you mean '{}'?)", s));
                    }
                    return Err(self.err(msg));
                }
                return Err(self.err("expected a type"));
            }
        };
        Ok(Specs {
            storage,
            ty,
            quals,
            attrs,
        })
    }

    fn resolve_words(&self, words: &[&str]) -> Result<Type, String> {
        let count = |w: &str| words.iter().filter(|x| **x == w).count();
        let signed = count("signed") + count("__signed") + count("__signed__");
        let unsigned = count("unsigned");
        let complex = count("_Complex") + count("__complex__");
        let longs = count("long");
        let bad = || {
            format!(
                "invalid combination of type specifiers '{}'",
                words.join(" ")
            )
        };
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
                    _ => return Err(bad()),
                }
            }
        };
        Ok(ty)
    }

    fn tag_name(&mut self) -> Result<Option<Tok<'a>>, CdefError> {
        let t = self.peek();
        if t.kind == Kind::Ident && !is_reserved(t.text) {
            self.next();
            Ok(Some(t))
        } else {
            Ok(None)
        }
    }

    fn record_specifier(&mut self) -> Result<Type, CdefError> {
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
                    let id = RecordId(self.ns.records.len());
                    self.ns.records.push(RecordDecl {
                        tag: Some(t.text.to_string()),
                        kind,
                        def: None,
                    });
                    self.ns.tags.insert(t.text.to_string(), Tag::Record(id));
                    id
                }
            },
            None => {
                let id = RecordId(self.ns.records.len());
                self.ns.records.push(RecordDecl {
                    tag: None,
                    kind,
                    def: None,
                });
                id
            }
        };
        if !self.at("{") {
            return Ok(Type::Record(id));
        }
        let open = self.next();
        let members = self.members()?;
        self.expect("}")?;
        attrs.merge(self.attributes()?);
        let rules = attrs.rules.unwrap_or(self.ns.platform.rules);
        let opts = record_options(attrs.packed, self.ns.pack, attrs.align, rules);
        let (layout, cannot_pass) = self.ns.layout_record(kind, &members, opts).map_err(|m| {
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
                            "redefinition of {} {} with a different definition",
                            kind_name,
                            tag.map_or("", |t| t.text)
                        ),
                    ));
                }
            }
            None => self.ns.records[id.0].def = Some(def),
        }
        Ok(Type::Record(id))
    }

    fn members(&mut self) -> Result<Vec<Member>, CdefError> {
        let mut members = Vec::new();
        loop {
            let t = self.peek();
            if t.is("}") || t.kind == Kind::Eof {
                return Ok(members);
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
            let specs = self.decl_specifiers(false)?;
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
                continue;
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
                break;
            }
        }
    }

    fn enum_specifier(&mut self) -> Result<Type, CdefError> {
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
                let id = EnumId(self.ns.enums.len());
                self.ns.enums.push(EnumDecl {
                    tag: tag.map(|t| t.text.to_string()),
                    constants: None,
                    underlying: IntKind::UInt,
                });
                self.ns.tags.insert(
                    tag.map(|t| t.text.to_string()).unwrap_or_default(),
                    Tag::Enum(id),
                );
                id
            });
            return Ok(Type::Enum(id));
        }
        let open = self.next();
        let mut constants = Vec::new();
        let mut next_value: i128 = 0;
        while !self.at("}") {
            let name = self.ident("an enumerator name")?;
            self.attributes()?;
            if self.eat("=") {
                next_value = self.const_expr()?.v;
            }
            self.ns
                .declare(name.text, Ordinary::Const(next_value))
                .map_err(|m| self.err_at(name, m))?;
            constants.push((name.text.to_string(), next_value));
            next_value += 1;
            if !self.eat(",") {
                break;
            }
        }
        self.expect("}")?;
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
                self.ns.enums[id.0] = decl;
                id
            }
            None => {
                let id = EnumId(self.ns.enums.len());
                if let Some(t) = tag {
                    self.ns.tags.insert(t.text.to_string(), Tag::Enum(id));
                }
                self.ns.enums.push(decl);
                id
            }
        };
        Ok(Type::Enum(id))
    }

    // ---- attributes

    /// Zero or more `__attribute__((...))` / `__declspec(...)`.
    fn attributes(&mut self) -> Result<Attrs, CdefError> {
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
                            "vector_size" | "ext_vector_type" => {
                                return Err(self.err_at(a, "vector types are not supported"))
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
                    self.skip_balanced()?;
                }
                _ => return Ok(out),
            }
        }
    }

    /// Attributes and `__asm__("symbol")` after a declarator.
    fn attrs_and_asm(&mut self) -> Result<Attrs, CdefError> {
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

    fn declarator(
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
    fn nested_declarator(&self, kind: DeclKind) -> bool {
        let t = self.peek_at(1);
        if t.is("*") || t.is("^") || t.is("(") || t.is("__attribute__") {
            return true;
        }
        if t.kind == Kind::Ident && !is_reserved(t.text) && !self.is_typedef_name(t) {
            return kind != DeclKind::Abstract;
        }
        false
    }

    fn suffixes(&mut self, base: Type) -> Result<Type, CdefError> {
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

    fn params(&mut self) -> Result<(Vec<Param>, bool, bool), CdefError> {
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

    fn type_name(&mut self) -> Result<Type, CdefError> {
        let specs = self.decl_specifiers(false)?;
        let (_, ty, _) = self.declarator(specs.ty, specs.quals, DeclKind::Abstract)?;
        Ok(ty)
    }

    // ---- directives

    fn directive(&mut self, d: Tok<'a>) -> Result<(), CdefError> {
        let mut toks = lex(d.text).map_err(|mut e| {
            e.line += d.line - 1;
            e
        })?;
        for t in toks.iter_mut() {
            if t.line == 1 {
                t.col += d.col;
            }
            t.line += d.line - 1;
        }
        // Parse the directive's tokens in place of the main stream.
        let saved = (std::mem::replace(&mut self.toks, toks), self.pos);
        self.pos = 0;
        let r = self.directive_body(d);
        self.toks = saved.0;
        self.pos = saved.1;
        r
    }

    fn directive_body(&mut self, d: Tok<'a>) -> Result<(), CdefError> {
        let kw = self.next();
        match kw.text {
            "define" => {
                let name = self.ident("a macro name")?;
                let next = self.peek();
                if next.is("(") && next.col == name.col + name.text.len() as u32 && next.line == name.line {
                    return Err(self.err_at(name, format!("function-like macro '{}' is not supported; only object-like #define NAME <integer constant>", name.text)));
                }
                if next.kind == Kind::Eof {
                    return Err(self.err_at(name, format!("#define {} has no value; only integer constants can be defined", name.text)));
                }
                let v = self.const_expr()?;
                if self.peek().kind != Kind::Eof {
                    return Err(self.err(format!("unexpected text after the value of {}", name.text)));
                }
                match self.ns.defines.get(name.text) {
                    Some(old) if *old != v.v => {
                        return Err(self.err_at(name, format!("'{}' redefined with a different value ({} before, {} now)", name.text, old, v.v)))
                    }
                    _ => {
                        self.ns.defines.insert(name.text.to_string(), v.v);
                    }
                }
                Ok(())
            }
            "pragma" => {
                if !self.at("pack") {
                    // Other pragmas (GCC visibility, diagnostic, ...) change no layout.
                    return Ok(());
                }
                self.next();
                self.expect("(")?;
                if self.eat(")") {
                    self.ns.pack = None;
                    return Ok(());
                }
                if self.at("push") || self.at("pop") {
                    let push = self.next().text == "push";
                    let mut value = None;
                    while self.eat(",") {
                        if self.peek().kind == Kind::Ident {
                            return Err(self.err("named #pragma pack records are not supported"));
                        }
                        value = Some(self.const_usize("a pack value")?);
                    }
                    self.expect(")")?;
                    if push {
                        self.ns.pack_stack.push(self.ns.pack);
                        if let Some(v) = value {
                            self.ns.pack = Some(check_pack(v).map_err(|m| self.err_at(d, m))?);
                        }
                    } else {
                        let top = self.ns.pack_stack.pop().ok_or_else(|| self.err_at(d, "#pragma pack(pop) without a push"))?;
                        self.ns.pack = top;
                        if let Some(v) = value {
                            self.ns.pack = Some(check_pack(v).map_err(|m| self.err_at(d, m))?);
                        }
                    }
                    return Ok(());
                }
                let v = self.const_usize("a pack value")?;
                self.expect(")")?;
                self.ns.pack = Some(check_pack(v).map_err(|m| self.err_at(d, m))?);
                Ok(())
            }
            // Line markers of `gcc -E` without -P.
            _ if kw.kind == Kind::Number => Ok(()),
            "line" => Ok(()),
            other => Err(self.err_at(
                kw,
                format!("preprocessor directive '#{}' is not supported; run the C preprocessor (gcc -E -P) first", other),
            )),
        }
    }

    // ---- constant expressions

    fn const_usize(&mut self, what: &str) -> Result<usize, CdefError> {
        let t = self.peek();
        let v = self.const_expr()?;
        if v.v < 0 || v.v > crate::types::MAX_OBJECT_SIZE as i128 {
            return Err(self.err_at(
                t,
                format!("{} must be a non-negative integer, got {}", what, v.v),
            ));
        }
        Ok(v.v as usize)
    }

    fn const_expr(&mut self) -> Result<Val, CdefError> {
        let c = self.binary(0)?;
        if self.at("?") {
            self.next();
            let a = self.const_expr()?;
            self.expect(":")?;
            let b = self.const_expr()?;
            let (bits, signed) = common(a, b);
            let v = if c.v != 0 { a.v } else { b.v };
            return Ok(Val {
                v: wrap(v, bits, signed),
                bits,
                signed,
            });
        }
        Ok(c)
    }

    fn binary(&mut self, min_prec: u8) -> Result<Val, CdefError> {
        let mut lhs = self.unary()?;
        loop {
            let t = self.peek();
            if t.kind != Kind::Punct {
                return Ok(lhs);
            }
            let prec = match t.text {
                "||" => 1,
                "&&" => 2,
                "|" => 3,
                "^" => 4,
                "&" => 5,
                "==" | "!=" => 6,
                "<" | ">" | "<=" | ">=" => 7,
                "<<" | ">>" => 8,
                "+" | "-" => 9,
                "*" | "/" | "%" => 10,
                _ => return Ok(lhs),
            };
            if prec < min_prec.max(1) {
                return Ok(lhs);
            }
            self.next();
            let rhs = self.binary(prec + 1)?;
            lhs = self.apply(t, lhs, rhs)?;
        }
    }

    fn apply(&self, op: Tok<'_>, a: Val, b: Val) -> Result<Val, CdefError> {
        let truth = |x: bool| Val::int(x as i128);
        let (bits, signed) = common(a, b);
        let (x, y) = (wrap(a.v, bits, signed), wrap(b.v, bits, signed));
        let arith = |v: i128| Val {
            v: wrap(v, bits, signed),
            bits,
            signed,
        };
        Ok(match op.text {
            "||" => truth(a.v != 0 || b.v != 0),
            "&&" => truth(a.v != 0 && b.v != 0),
            "==" => truth(x == y),
            "!=" => truth(x != y),
            "<" => truth(x < y),
            ">" => truth(x > y),
            "<=" => truth(x <= y),
            ">=" => truth(x >= y),
            "|" => arith(x | y),
            "^" => arith(x ^ y),
            "&" => arith(x & y),
            "+" => arith(x + y),
            "-" => arith(x - y),
            "*" => arith(x.wrapping_mul(y)),
            "/" | "%" => {
                if y == 0 {
                    return Err(self.err_at(op, "division by zero in a constant expression"));
                }
                arith(if op.text == "/" { x / y } else { x % y })
            }
            "<<" | ">>" => {
                let l = a.promote();
                if b.v < 0 || b.v >= l.bits as i128 {
                    return Err(self.err_at(op, format!("shift count {} out of range", b.v)));
                }
                let v = if op.text == "<<" {
                    l.v << b.v
                } else {
                    l.v >> b.v
                };
                Val {
                    v: wrap(v, l.bits, l.signed),
                    bits: l.bits,
                    signed: l.signed,
                }
            }
            _ => return Err(self.err_at(op, "unexpected operator")),
        })
    }

    fn unary(&mut self) -> Result<Val, CdefError> {
        let t = self.peek();
        match t.text {
            "-" | "+" | "~" | "!" if t.kind == Kind::Punct => {
                self.next();
                let v = self.unary()?.promote();
                Ok(match t.text {
                    "-" => Val {
                        v: wrap(-v.v, v.bits, v.signed),
                        ..v
                    },
                    "+" => v,
                    "~" => Val {
                        v: wrap(!v.v, v.bits, v.signed),
                        ..v
                    },
                    _ => Val::int((v.v == 0) as i128),
                })
            }
            "sizeof" | "_Alignof" | "__alignof__" | "__alignof" | "alignof"
                if t.kind == Kind::Ident =>
            {
                self.next();
                let size = t.text == "sizeof";
                let ty = if self.at("(") && self.starts_type(self.peek_at(1)) {
                    self.next();
                    let ty = self.type_name()?;
                    self.expect(")")?;
                    ty
                } else {
                    // sizeof of an expression: the size of its integer type.
                    let v = self.unary()?;
                    let n = (v.bits / 8) as i128;
                    return Ok(Val {
                        v: n,
                        bits: 64,
                        signed: false,
                    });
                };
                let r = if size {
                    self.ns.sizeof(&ty)
                } else {
                    self.ns.alignof(&ty)
                };
                let n = r.map_err(|m| self.err_at(t, m))?;
                Ok(Val {
                    v: n as i128,
                    bits: 64,
                    signed: false,
                })
            }
            "(" if t.kind == Kind::Punct => {
                if self.starts_type(self.peek_at(1)) {
                    self.next();
                    let ty = self.type_name()?;
                    self.expect(")")?;
                    let v = self.unary()?;
                    let p = self.ns.platform;
                    return match ty {
                        Type::Int(k) => {
                            let bits = (k.size(&p) * 8) as u32;
                            let signed = k.is_signed(&p);
                            let v = if k == IntKind::Bool {
                                (v.v != 0) as i128
                            } else {
                                wrap(v.v, bits, signed)
                            };
                            Ok(Val { v, bits, signed })
                        }
                        Type::Enum(id) => {
                            let k = self.ns.enums[id.0].underlying;
                            let bits = (k.size(&p) * 8) as u32;
                            Ok(Val {
                                v: wrap(v.v, bits, k.is_signed(&p)),
                                bits,
                                signed: k.is_signed(&p),
                            })
                        }
                        Type::Pointer { .. } => Ok(Val {
                            v: wrap(v.v, 64, false),
                            bits: 64,
                            signed: false,
                        }),
                        _ => Err(self.err_at(
                            t,
                            format!(
                                "cast to {} in a constant expression",
                                self.ns.type_name(&ty)
                            ),
                        )),
                    };
                }
                self.next();
                let v = self.const_expr()?;
                self.expect(")")?;
                Ok(v)
            }
            _ => self.primary(),
        }
    }

    fn primary(&mut self) -> Result<Val, CdefError> {
        let t = self.next();
        match t.kind {
            Kind::Number => self.number(t),
            Kind::Char => {
                let body = t.text.trim_start_matches(['L', 'u', 'U', '8']);
                let s = unquote(body);
                let mut chars = s.chars();
                let c = chars
                    .next()
                    .ok_or_else(|| self.err_at(t, "empty character constant"))?
                    as u32;
                if chars.next().is_some() {
                    return Err(self.err_at(t, "multi-character constants are not supported"));
                }
                // A plain char constant has the value of a `char` converted to int.
                let v = if body.len() == t.text.len() && c < 256 && self.ns.platform.char_signed {
                    wrap(c as i128, 8, true)
                } else {
                    c as i128
                };
                Ok(Val::int(v))
            }
            Kind::Ident => {
                if let Some(v) = self.ns.constant(t.text) {
                    let fits = v >= i32::MIN as i128 && v <= i32::MAX as i128;
                    return Ok(if fits {
                        Val::int(v)
                    } else {
                        Val {
                            v,
                            bits: 64,
                            signed: v < 0 || v <= i64::MAX as i128,
                        }
                    });
                }
                Err(self.err_at(t, format!("'{}' is not an integer constant", t.text)))
            }
            Kind::Eof => Err(self.err_at(t, "expected an expression")),
            _ => Err(self.err_at(t, "expected an integer constant expression")),
        }
    }

    fn number(&self, t: Tok<'_>) -> Result<Val, CdefError> {
        let text = t.text;
        let lower = text.to_ascii_lowercase();
        let is_hex = lower.starts_with("0x");
        let is_bin = lower.starts_with("0b");
        let digits_end = lower.trim_end_matches(['u', 'l']).len();
        let (digits, suffix) = lower.split_at(digits_end);
        let floating = if is_hex {
            digits.contains('p')
        } else {
            digits.contains('.') || digits.contains('e') || digits.ends_with('f')
        };
        if floating {
            return Err(self.err_at(t, "floating constant in an integer constant expression"));
        }
        let (radix, body) = if is_hex {
            (16, &digits[2..])
        } else if is_bin {
            (2, &digits[2..])
        } else if digits.len() > 1 && digits.starts_with('0') {
            (8, &digits[1..])
        } else {
            (10, digits)
        };
        let body = body.replace('\'', "");
        let v = u128::from_str_radix(&body, radix)
            .map_err(|_| self.err_at(t, "invalid integer constant"))?;
        let unsigned = suffix.contains('u');
        let longs = suffix.matches('l').count();
        if suffix.len() != longs + unsigned as usize
            || longs > 2
            || (longs == 2 && !suffix.contains("ll"))
        {
            return Err(self.err_at(t, "invalid integer suffix"));
        }
        let lbits = (self.ns.platform.long_size * 8) as u32;
        let mut cands: Vec<(u32, bool)> = Vec::new();
        let decimal = radix == 10;
        let base_bits = [32, lbits, 64];
        for (i, bits) in base_bits.iter().enumerate() {
            if i < longs {
                continue;
            }
            if !unsigned {
                cands.push((*bits, true));
            }
            if unsigned || !decimal {
                cands.push((*bits, false));
            }
        }
        for (bits, signed) in cands {
            let max = if signed {
                (1u128 << (bits - 1)) - 1
            } else {
                (1u128 << bits) - 1
            };
            if v <= max {
                return Ok(Val {
                    v: v as i128,
                    bits,
                    signed,
                });
            }
        }
        Err(self.err_at(t, "integer constant too large"))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum DeclKind {
    Named,
    Abstract,
    Either,
}

fn check_pack(v: usize) -> Result<usize, String> {
    if matches!(v, 1 | 2 | 4 | 8 | 16) {
        Ok(v)
    } else {
        Err(format!(
            "#pragma pack value must be 1, 2, 4, 8 or 16, got {}",
            v
        ))
    }
}

/// The contents of a string or character literal with the common escapes resolved.
fn unquote(lit: &str) -> String {
    let inner = &lit[1..lit.len().saturating_sub(1).max(1)];
    let mut out = String::new();
    let mut it = inner.chars().peekable();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('a') => out.push('\x07'),
            Some('b') => out.push('\x08'),
            Some('f') => out.push('\x0c'),
            Some('v') => out.push('\x0b'),
            Some('x') => {
                let mut v = 0u32;
                while let Some(d) = it.peek().and_then(|d| d.to_digit(16)) {
                    v = v * 16 + d;
                    it.next();
                }
                out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
            }
            Some(d @ '0'..='7') => {
                let mut v = d.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    if let Some(d) = it.peek().and_then(|d| d.to_digit(8)) {
                        v = v * 8 + d;
                        it.next();
                    }
                }
                out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
            }
            Some(o) => out.push(o),
            None => {}
        }
    }
    out
}
