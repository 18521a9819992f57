//! Declarations, declarators, type names, attributes, directives and integer constant
//! expressions. A recursive-descent parser over the token vector; it declares straight
//! into the namespace (`Namespace::cdef` restores it on an error).

mod consts;
mod decl;
mod declarators;
mod directives;
mod exprtype;
mod macro_values;
mod macros;
mod records;

pub(super) use macro_values::{arrange_directives, retry_skipped};

use super::lexer::{lex, Kind, Tok};
use super::types::{
    enum_underlying, EnumDecl, EnumId, FuncDecl, FuncType, IntKind, Member, Param, RecordDecl,
    RecordDef, RecordId, Type, Unpassable, VarDecl,
};
use super::{
    record_options, CdefError, DeclError, ErrorKind, FnMacro, MacroValue, Namespace, Ordinary,
    Quals, Tag,
};
use crate::types::{LayoutRules, RecordKind};

pub struct Parser<'a, 'n> {
    toks: Vec<Tok<'a>>,
    pos: usize,
    ns: &'n mut Namespace,
    /// Depth of parameter lists being parsed (array lengths there may be variables).
    in_params: u32,
    /// Nesting levels entered (see [`MAX_NESTING`]).
    depth: usize,
}

pub(super) use crate::types::MAX_NESTING;

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
    /// `vector_size(n)`: the declared type is a vector of `n` bytes of it.
    vector: Option<usize>,
    /// `format(printf, m, n)` with n != 0: parameter m (1-based) is a printf format.
    printf_format: Option<usize>,
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
        if o.vector.is_some() {
            self.vector = o.vector;
        }
        if o.printf_format.is_some() {
            self.printf_format = o.printf_format;
        }
    }
}

/// A struct or union specifier up to its body.
struct RecordHead<'a> {
    kind: RecordKind,
    kind_name: &'a str,
    tag: Option<Tok<'a>>,
    attrs: Attrs,
    id: RecordId,
}

/// An enum specifier up to its body.
struct EnumHead<'a> {
    attrs: Attrs,
    tag: Option<Tok<'a>>,
    existing: Option<EnumId>,
}

/// Declaration specifiers as they are read.
struct SpecWords<'a> {
    storage: Storage,
    quals: Quals,
    attrs: Attrs,
    words: Vec<&'a str>,
    ty: Option<Type>,
}

impl Default for SpecWords<'_> {
    fn default() -> Self {
        SpecWords {
            storage: Storage::None,
            quals: Quals::default(),
            attrs: Attrs::default(),
            words: Vec::new(),
            ty: None,
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
    "_Float16",
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
    // Calling-convention keywords of MinGW's and MSVC's headers. On Win64 there is one
    // convention, and elsewhere gcc and clang accept and ignore them too.
    "__stdcall",
    "_stdcall",
    "__cdecl",
    "_cdecl",
    "__fastcall",
    "_fastcall",
    "__thiscall",
    "__vectorcall",
    "__clrcall",
    "__w64",
    "__ptr32",
    "__ptr64",
    "__unaligned",
];

/// Calling-convention keywords (a subset of [`QUALIFIER_WORDS`]), which may also start a
/// parenthesised declarator: `int (__stdcall *f)(int)`.
fn is_call_conv(w: &str) -> bool {
    matches!(
        w,
        "__stdcall"
            | "_stdcall"
            | "__cdecl"
            | "_cdecl"
            | "__fastcall"
            | "_fastcall"
            | "__thiscall"
            | "__vectorcall"
            | "__clrcall"
    )
}

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
                | "__forceinline"
                | "__pragma"
                | "_Pragma"
                | "__int64"
                | "__int32"
                | "__int16"
                | "__int8"
        )
}

impl<'a, 'n> Parser<'a, 'n> {
    pub fn new(toks: Vec<Tok<'a>>, ns: &'n mut Namespace) -> Self {
        Parser {
            toks,
            pos: 0,
            ns,
            in_params: 0,
            depth: 0,
        }
    }

    /// Runs `f` one nesting level deeper; an error at the current token past [`MAX_NESTING`]
    /// levels, where the recursion would otherwise go on until the stack overflows.
    fn nested<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, CdefError>,
    ) -> Result<T, CdefError> {
        if self.depth >= MAX_NESTING {
            return Err(self.too_deep(self.peek()));
        }
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        r
    }

    fn too_deep(&self, at: Tok<'_>) -> CdefError {
        CdefError {
            kind: ErrorKind::TooDeep,
            ..self.err_at(at, format!("nesting deeper than {}", MAX_NESTING))
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
            kind: ErrorKind::Syntax,
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
                _ if t.kind == Kind::Ident && matches!(t.text, "__pragma" | "_Pragma") => {
                    self.next();
                    self.ms_pragma()?;
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
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum DeclKind {
    Named,
    Abstract,
    Either,
}

fn check_pack(v: usize) -> Result<usize, DeclError> {
    if matches!(v, 1 | 2 | 4 | 8 | 16) {
        Ok(v)
    } else {
        Err(DeclError::BadPack(v))
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
