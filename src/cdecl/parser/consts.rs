//! Preprocessor lines that survive `gcc -E -P` (`#define`, `#pragma pack`) and constant expressions.

use super::*;

impl<'a, 'n> Parser<'a, 'n> {
    pub(super) fn directive(&mut self, d: Tok<'a>) -> Result<(), CdefError> {
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

    pub(super) fn directive_body(&mut self, d: Tok<'a>) -> Result<(), CdefError> {
        let kw = self.next();
        match kw.text {
            // A macro named after a keyword (`#define bool _Bool` in gcc's <stdbool.h> before
            // C23, MinGW's gcc predefining `__stdcall` as an attribute, `#define inline`)
            // declares nothing this parser would read differently: skipped, and the parser
            // keeps reading the word as the keyword it knows.
            "define" | "undef" if self.peek().kind == Kind::Ident && is_reserved(self.peek().text) => {
                let name = self.next();
                if kw.text == "define" {
                    self.ns.report.skipped.push(name.text.to_string());
                }
                Ok(())
            }
            "define" => {
                let name = self.ident("a macro name")?;
                let next = self.peek();
                let function_like = next.is("(")
                    && next.col == name.col + name.text.len() as u32
                    && next.line == name.line;
                if function_like || next.kind == Kind::Eof {
                    // A macro is no declaration: skipping it ignores nothing of the C.
                    self.ns.undefine(name.text);
                    if function_like {
                        if let Some(m) = self.function_like_macro() {
                            self.ns.set_fn_macro(name.text, m);
                        }
                    }
                    self.ns.report.skipped.push(name.text.to_string());
                    return Ok(());
                }
                let body: Vec<Tok<'a>> = self.toks[self.pos..]
                    .iter()
                    .filter(|t| t.kind != Kind::Eof)
                    .copied()
                    .collect();
                let value = self.macro_value(name, &body)?;
                let text = body.iter().map(|t| t.text).collect::<Vec<_>>().join(" ");
                let n = name.text.to_string();
                match value {
                    Some(Macro::Value(v)) => {
                        if let Some(old) = self.ns.defines.get(name.text) {
                            if *old != v {
                                return Err(self.err_at(
                                    name,
                                    format!("'{}' redefined with a different value ({} before, {} now)", name.text, old, v),
                                ));
                            }
                        }
                        self.ns.undefine(name.text);
                        self.ns.set_define(&n, v);
                        self.ns.report.constants += 1;
                    }
                    Some(Macro::Alias(target)) => {
                        self.ns.undefine(name.text);
                        self.ns.set_alias(&n, target);
                        self.ns.report.pending_aliases.push(n.clone());
                    }
                    None => {
                        self.ns.undefine(name.text);
                        self.ns.report.skipped.push(n.clone());
                    }
                }
                self.ns.set_macro(&n, text);
                Ok(())
            }
            "undef" => {
                let name = self.ident("a macro name")?;
                self.ns.undefine(name.text);
                Ok(())
            }
            // `#ident "..."` (in some headers' -dD output) declares nothing.
            "ident" | "sccs" => Ok(()),
            "pragma" => self.pragma_body(d),
            // Line markers of `gcc -E` without -P.
            _ if kw.kind == Kind::Number => Ok(()),
            "line" => Ok(()),
            other => Err(self.err_at(
                kw,
                format!("preprocessor directive '#{}' is not supported; run the C preprocessor (gcc -E -P) first", other),
            )),
        }
    }

    /// MSVC's `__pragma(...)` and C99's `_Pragma("...")`, after the keyword: the same as a
    /// `#pragma` line (`__pragma(pack(push, 8))` packs as `#pragma pack(push, 8)` does).
    pub(super) fn ms_pragma(&mut self) -> Result<(), CdefError> {
        let open = self.peek();
        if !self.at("(") {
            return Err(self.err("expected '(' after __pragma"));
        }
        let inner = self.peek_at(1);
        if inner.kind == Kind::Str {
            // `_Pragma("...")`: pragmas change no layout but `pack`, which is refused here
            // rather than dropped.
            if unquote(inner.text).trim_start().starts_with("pack") {
                return Err(self.err_at(
                    inner,
                    "_Pragma(\"pack(...)\") is not supported; write #pragma pack(...) or __pragma(pack(...))",
                ));
            }
            return self.skip_balanced();
        }
        let start = self.pos;
        self.skip_balanced()?;
        let end = self.pos;
        // The inside is a pragma body; pragmas other than `pack` stop at their name and
        // are skipped whatever their arguments.
        self.pos = start + 1;
        self.pragma_body(open)?;
        self.pos = end;
        Ok(())
    }

    /// A pragma's words after `pragma`: only `pack` changes layout.
    pub(super) fn pragma_body(&mut self, d: Tok<'a>) -> Result<(), CdefError> {
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
        if self.eat("show") {
            // gcc prints the current value as a warning; nothing changes.
            self.expect(")")?;
            return Ok(());
        }
        if self.at("push") || self.at("pop") {
            // As gcc reads them: `push[, label][, n]` and `pop[, label]`. gcc ignores a
            // `pop` with a value (with a warning: `#pragma pack(pop, 2)` leaves the packing
            // as it was), where MSVC and clang pop and then set it.
            let push = self.next().text == "push";
            let mut label = None;
            let mut value = None;
            let mut ignored = false;
            while self.eat(",") {
                // gcc expands macros here: `pack(push,_CRT_PACKING)` (MinGW) is a value; any
                // other name is a label.
                let t = self.peek();
                let named_value = t.kind == Kind::Ident && self.ns.defines.contains_key(t.text);
                if t.kind == Kind::Ident && !named_value && label.is_none() && value.is_none() {
                    label = Some(self.next().text.to_string());
                } else if push && value.is_none() {
                    value = Some(self.const_usize("a pack value")?);
                } else if !push && value.is_none() && t.kind == Kind::Number {
                    self.next();
                    value = Some(0);
                    ignored = true;
                } else {
                    return Err(self.err("malformed #pragma pack(push/pop, ...)"));
                }
            }
            self.expect(")")?;
            if ignored {
                return Ok(());
            }
            if push {
                self.ns.pack_stack.push((label, self.ns.pack));
                if let Some(v) = value {
                    self.ns.pack = Some(check_pack(v).map_err(|m| self.err_at(d, m))?);
                }
                return Ok(());
            }
            let at = match &label {
                None => self.ns.pack_stack.len().checked_sub(1),
                Some(l) => self
                    .ns
                    .pack_stack
                    .iter()
                    .rposition(|(name, _)| name.as_deref() == Some(l.as_str())),
            };
            let Some(at) = at else {
                return Err(self.err_at(
                    d,
                    match label {
                        None => "#pragma pack(pop) without a push".to_string(),
                        Some(l) => format!("#pragma pack(pop, {}) without a matching push", l),
                    },
                ));
            };
            self.ns.pack = self.ns.pack_stack[at].1;
            self.ns.pack_stack.truncate(at);
            return Ok(());
        }
        let v = self.const_usize("a pack value")?;
        self.expect(")")?;
        self.ns.pack = Some(check_pack(v).map_err(|m| self.err_at(d, m))?);
        Ok(())
    }

    // ---- constant expressions

    pub(super) fn const_usize(&mut self, what: &str) -> Result<usize, CdefError> {
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

    pub(super) fn const_expr(&mut self) -> Result<Val, CdefError> {
        let c = self.binary()?;
        if self.at("?") {
            return self.nested(|p| p.conditional(c));
        }
        Ok(c)
    }

    /// `c ? a : b`, at the '?'.
    fn conditional(&mut self, c: Val) -> Result<Val, CdefError> {
        self.next();
        let a = self.const_expr()?;
        self.expect(":")?;
        let b = self.const_expr()?;
        let (bits, signed) = common(a, b);
        let v = if c.v != 0 { a.v } else { b.v };
        Ok(Val {
            v: wrap(v, bits, signed),
            bits,
            signed,
        })
    }

    /// Binary operators by precedence climbing over explicit stacks rather than one
    /// recursive call per precedence level, so only parentheses, unary operators and
    /// `?:` nest (and count towards [`MAX_NESTING`]).
    pub(super) fn binary(&mut self) -> Result<Val, CdefError> {
        fn precedence(t: Tok<'_>) -> Option<u8> {
            if t.kind != Kind::Punct {
                return None;
            }
            Some(match t.text {
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
                _ => return None,
            })
        }
        let mut values = vec![self.unary()?];
        let mut ops: Vec<(Tok<'a>, u8)> = Vec::new();
        loop {
            let t = self.peek();
            let prec = precedence(t);
            // Left associative: apply every pending operator that binds at least as
            // tightly as the next one (all of them at the end).
            while let Some(&(op, p)) = ops.last() {
                if prec.is_some_and(|n| n > p) {
                    break;
                }
                ops.pop();
                let (b, a) = (values.pop(), values.pop());
                let (Some(a), Some(b)) = (a, b) else {
                    unreachable!("one more value than operators")
                };
                values.push(self.apply(op, a, b)?);
            }
            let Some(prec) = prec else {
                break;
            };
            self.next();
            ops.push((t, prec));
            values.push(self.unary()?);
        }
        Ok(values[0])
    }

    pub(super) fn apply(&self, op: Tok<'_>, a: Val, b: Val) -> Result<Val, CdefError> {
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

    /// A unary expression. Each branch that recurses goes one nesting level deeper, and
    /// its work is in a function of its own so that the frame repeated per level stays
    /// small (debug builds give every local of a function its own stack slot).
    pub(super) fn unary(&mut self) -> Result<Val, CdefError> {
        let t = self.peek();
        match t.text {
            "-" | "+" | "~" | "!" if t.kind == Kind::Punct => self.nested(|p| p.prefix(t)),
            "sizeof" | "_Alignof" | "__alignof__" | "__alignof" | "alignof"
                if t.kind == Kind::Ident =>
            {
                self.nested(|p| p.size_of(t))
            }
            "__builtin_offsetof" if t.kind == Kind::Ident => self.nested(|p| p.builtin_offsetof()),
            "(" if t.kind == Kind::Punct => {
                if self.starts_type(self.peek_at(1)) {
                    self.nested(|p| p.cast(t))
                } else {
                    self.nested(|p| p.parenthesised_expr())
                }
            }
            _ => self.primary(),
        }
    }

    /// `-x`, `+x`, `~x`, `!x`, at the operator `t`.
    fn prefix(&mut self, t: Tok<'a>) -> Result<Val, CdefError> {
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

    /// `(expr)`, at the '('.
    fn parenthesised_expr(&mut self) -> Result<Val, CdefError> {
        self.next();
        let v = self.const_expr()?;
        self.expect(")")?;
        Ok(v)
    }

    /// `sizeof(type)`, `sizeof expr`, `_Alignof(type)`, at the keyword `t`.
    fn size_of(&mut self, t: Tok<'a>) -> Result<Val, CdefError> {
        self.next();
        let size = t.text == "sizeof";
        let ty = if self.at("(") && self.starts_type(self.peek_at(1)) {
            self.next();
            let ty = self.type_name()?;
            self.expect(")")?;
            ty
        } else {
            // sizeof of an expression: the size of its type (`sizeof(((struct q *)0)->x)`,
            // `sizeof v` of a declared variable, `sizeof 1L`).
            self.expr_type()?
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

    /// `(type) expr`, at the '(' `t`.
    fn cast(&mut self, t: Tok<'a>) -> Result<Val, CdefError> {
        self.next();
        let ty = self.type_name()?;
        self.expect(")")?;
        let v = self.unary()?;
        self.convert(t, &ty, v)
    }

    /// A cast's conversion of `v` to `ty`.
    fn convert(&self, t: Tok<'a>, ty: &Type, v: Val) -> Result<Val, CdefError> {
        let p = self.ns.platform;
        match ty {
            Type::Int(k) => {
                let bits = (k.size(&p) * 8) as u32;
                let signed = k.is_signed(&p);
                let v = if *k == IntKind::Bool {
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
                format!("cast to {} in a constant expression", self.ns.type_name(ty)),
            )),
        }
    }

    pub(super) fn primary(&mut self) -> Result<Val, CdefError> {
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

    pub(super) fn number(&self, t: Tok<'_>) -> Result<Val, CdefError> {
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

/// What an object-like macro's body means.
pub(super) enum Macro {
    Value(MacroValue),
    /// The body is one identifier that may name a function.
    Alias(String),
}

/// An integer or floating value of a constant expression.
#[derive(Clone, Copy)]
enum Num {
    I(Val),
    F(f64),
}

impl Num {
    fn float(self) -> f64 {
        match self {
            Num::I(v) => v.v as f64,
            Num::F(f) => f,
        }
    }
}

/// Words that make a one-identifier body no alias (`#define __inline inline`).
const KEYWORDS: &[&str] = &[
    "auto",
    "break",
    "case",
    "continue",
    "default",
    "do",
    "else",
    "enum",
    "extern",
    "for",
    "goto",
    "if",
    "inline",
    "__inline",
    "__inline__",
    "register",
    "return",
    "sizeof",
    "static",
    "struct",
    "switch",
    "typedef",
    "union",
    "while",
    "_Noreturn",
    "__extension__",
    "__attribute__",
    "__attribute",
    "_Thread_local",
    "__thread",
    "asm",
    "__asm",
    "__asm__",
    "_Alignas",
    "alignas",
    "_Static_assert",
    "static_assert",
    "__typeof__",
    "__typeof",
    "typeof",
    "__declspec",
    "__builtin_va_list",
    "__label__",
];

impl<'a, 'n> Parser<'a, 'n> {
    /// The parameters and body of a function-like macro, at its '('; None for a form
    /// this does not expand (GNU named variadic parameters).
    fn function_like_macro(&mut self) -> Option<FnMacro> {
        self.next();
        let mut params = Vec::new();
        let mut variadic = false;
        if !self.eat(")") {
            loop {
                let t = self.next();
                if t.is("...") {
                    variadic = true;
                } else if t.kind == Kind::Ident {
                    params.push(t.text.to_string());
                } else {
                    return None;
                }
                if self.eat(")") {
                    break;
                }
                if variadic || !self.eat(",") {
                    return None;
                }
            }
        }
        let body: Vec<&str> = self.toks[self.pos..]
            .iter()
            .filter(|t| t.kind != Kind::Eof)
            .map(|t| t.text)
            .collect();
        Some(FnMacro {
            params,
            variadic,
            body: body.join(" "),
        })
    }

    /// The meaning of the object-like macro `name` with `body` (not empty): its body
    /// expanded with the object-like macros defined so far, then evaluated. `Ok(None)`
    /// for a body that is no constant; an error only past the nesting limit.
    fn macro_value(&mut self, name: Tok<'a>, body: &[Tok<'a>]) -> Result<Option<Macro>, CdefError> {
        let owned: Vec<macros::PTok> = body
            .iter()
            .map(|t| macros::PTok {
                kind: t.kind,
                text: t.text.to_string(),
            })
            .collect();
        if !macros::needs_expansion(self.ns, name.text, &owned) {
            // In place, so that errors point into the source.
            return self.evaluate_macro(name.text);
        }
        let mut ex = macros::Expander {
            ns: self.ns,
            guard: vec![name.text.to_string()],
            budget: macros::MAX_EXPANSION,
            in_args: 0,
        };
        let Some(expanded) = ex.expand(&owned) else {
            return Ok(None);
        };
        let out = expanded
            .iter()
            .map(|t| t.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let Ok(mut toks) = lex(&out) else {
            return Ok(None);
        };
        // Positions of the expansion are those of the macro's name.
        for t in toks.iter_mut() {
            t.line = name.line;
            t.col = name.col;
        }
        let mut sub = Parser::new(toks, &mut *self.ns);
        sub.depth = self.depth;
        sub.evaluate_macro(name.text)
    }

    /// Evaluates the rest of the tokens as a macro body.
    fn evaluate_macro(&mut self, name: &str) -> Result<Option<Macro>, CdefError> {
        let start = self.pos;
        let rest: Vec<Tok<'a>> = self.toks[start..]
            .iter()
            .filter(|t| t.kind != Kind::Eof)
            .copied()
            .collect();
        // String literals, adjacent ones concatenated, perhaps in parentheses.
        let mut inner = &rest[..];
        while inner.len() >= 2 && inner[0].is("(") && inner[inner.len() - 1].is(")") {
            inner = &inner[1..inner.len() - 1];
        }
        if !inner.is_empty() && inner.iter().all(|t| t.kind == Kind::Str) {
            let mut bytes = Vec::new();
            for t in inner {
                let Some(lit) = t
                    .text
                    .strip_prefix("u8")
                    .or(Some(t.text))
                    .filter(|l| l.starts_with('"'))
                else {
                    // Wide and UTF-16/32 literals have no Luau string.
                    return Ok(None);
                };
                unescape(lit, &mut bytes);
            }
            return Ok(Some(Macro::Value(MacroValue::Str(bytes))));
        }
        if let [t] = rest[..] {
            if t.kind == Kind::Ident && self.ns.constant(t.text).is_none() {
                if t.text == name || KEYWORDS.contains(&t.text) || self.starts_type(t) {
                    return Ok(None);
                }
                return Ok(Some(Macro::Alias(t.text.to_string())));
            }
        }
        match self.const_expr() {
            Ok(v) if self.peek().kind == Kind::Eof => {
                return Ok(Some(Macro::Value(MacroValue::Int(v.v))))
            }
            Err(e) if e.kind == ErrorKind::TooDeep => return Err(e),
            _ => {}
        }
        if !rest
            .iter()
            .any(|t| t.kind == Kind::Number && is_floating(t.text))
        {
            return Ok(None);
        }
        self.pos = start;
        match self.num_sum() {
            Ok(n) if self.peek().kind == Kind::Eof => Ok(Some(Macro::Value(match n {
                Num::I(v) => MacroValue::Int(v.v),
                Num::F(f) => MacroValue::Float(f),
            }))),
            Err(e) if e.kind == ErrorKind::TooDeep => Err(e),
            _ => Ok(None),
        }
    }

    // ---- arithmetic with floating constants (macro bodies only): + - * / and casts

    fn num_sum(&mut self) -> Result<Num, CdefError> {
        let mut a = self.num_product()?;
        while self.at("+") || self.at("-") {
            let op = self.next();
            let b = self.num_product()?;
            a = self.num_apply(op, a, b)?;
        }
        Ok(a)
    }

    fn num_product(&mut self) -> Result<Num, CdefError> {
        let mut a = self.num_unary()?;
        while self.at("*") || self.at("/") || self.at("%") {
            let op = self.next();
            let b = self.num_unary()?;
            a = self.num_apply(op, a, b)?;
        }
        Ok(a)
    }

    fn num_apply(&self, op: Tok<'_>, a: Num, b: Num) -> Result<Num, CdefError> {
        if let (Num::I(x), Num::I(y)) = (a, b) {
            return self.apply(op, x, y).map(Num::I);
        }
        let (x, y) = (a.float(), b.float());
        Ok(Num::F(match op.text {
            "+" => x + y,
            "-" => x - y,
            "*" => x * y,
            "/" => x / y,
            _ => return Err(self.err_at(op, "invalid operands to a floating operator")),
        }))
    }

    fn num_unary(&mut self) -> Result<Num, CdefError> {
        let t = self.peek();
        if t.kind == Kind::Punct && (t.is("-") || t.is("+")) {
            return self.nested(|p| {
                p.next();
                Ok(match p.num_unary()? {
                    Num::F(f) if t.is("-") => Num::F(-f),
                    Num::F(f) => Num::F(f),
                    Num::I(v) => {
                        let v = v.promote();
                        let n = if t.is("-") {
                            wrap(-v.v, v.bits, v.signed)
                        } else {
                            v.v
                        };
                        Num::I(Val { v: n, ..v })
                    }
                })
            });
        }
        if t.is("(") {
            if self.starts_type(self.peek_at(1)) {
                return self.nested(|p| {
                    p.next();
                    let ty = p.type_name()?;
                    p.expect(")")?;
                    let v = p.num_unary()?;
                    match (&ty, v) {
                        (Type::Float, v) => Ok(Num::F(v.float() as f32 as f64)),
                        (Type::Double, v) => Ok(Num::F(v.float())),
                        (_, Num::I(v)) => p.convert(t, &ty, v).map(Num::I),
                        (_, Num::F(f)) if f.is_finite() => p
                            .convert(
                                t,
                                &ty,
                                Val {
                                    v: f.trunc() as i128,
                                    bits: 128,
                                    signed: true,
                                },
                            )
                            .map(Num::I),
                        _ => Err(p.err_at(t, "cast of a floating constant")),
                    }
                });
            }
            return self.nested(|p| {
                p.next();
                let v = p.num_sum()?;
                p.expect(")")?;
                Ok(v)
            });
        }
        if t.kind == Kind::Number && is_floating(t.text) {
            self.next();
            return parse_float(t.text)
                .map(Num::F)
                .ok_or_else(|| self.err_at(t, "floating constant out of range"));
        }
        self.primary().map(Num::I)
    }
}

/// Evaluates the skipped object-like macros of a `cdef` call again at its end, in their
/// order: `#define A (B + 1)` before `#define B 2` is 3 where C uses it. True for each
/// macro that became a constant or an alias.
pub fn retry_skipped(ns: &mut Namespace, names: &[String]) -> Vec<bool> {
    names
        .iter()
        .map(|name| {
            let Some(body) = ns.macros.get(name).cloned() else {
                return false;
            };
            if ns.defines.contains_key(name) || ns.aliases.contains_key(name) {
                return false;
            }
            let Ok(toks) = lex(&body) else {
                return false;
            };
            let body_toks: Vec<Tok<'_>> = toks
                .iter()
                .copied()
                .filter(|t| t.kind != Kind::Eof)
                .collect();
            let name_tok = Tok {
                kind: Kind::Ident,
                text: name.as_str(),
                line: 1,
                col: 1,
            };
            let value = Parser::new(toks.clone(), ns).macro_value(name_tok, &body_toks);
            match value {
                Ok(Some(Macro::Value(v))) => {
                    ns.set_define(name, v);
                    ns.report.constants += 1;
                    true
                }
                Ok(Some(Macro::Alias(t))) => {
                    ns.set_alias(name, t);
                    ns.report.pending_aliases.push(name.clone());
                    true
                }
                _ => false,
            }
        })
        .collect()
}

/// Whether a pp-number is a floating constant.
fn is_floating(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    if lower.starts_with("0x") {
        lower.contains('p')
    } else {
        lower.contains('.')
            || lower.contains('e')
            || lower.trim_end_matches(['u', 'l']).ends_with('f')
    }
}

/// The value of a floating constant (`1.5`, `-2.5e3f` without the sign, `0x1p-3`,
/// `1.0F32`); `None` for what a double cannot hold (a `long double` beyond its range)
/// and for decimal floating types.
fn parse_float(text: &str) -> Option<f64> {
    let lower = text.to_ascii_lowercase().replace('\'', "");
    let hex = lower.starts_with("0x");
    let search_from = if hex { lower.find('p')? } else { 0 };
    let end = lower[search_from..]
        .find(['f', 'l', 'b', 'd'])
        .map_or(lower.len(), |i| i + search_from);
    let (digits, suffix) = lower.split_at(end);
    if !matches!(
        suffix,
        "" | "f" | "l" | "f16" | "f32" | "f64" | "f128" | "f32x" | "f64x" | "bf16"
    ) {
        return None;
    }
    let v = if hex {
        let (mant, exp) = digits[2..].split_once('p')?;
        let exp: i32 = exp.parse().ok()?;
        let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
        let mut m = 0f64;
        for c in int.chars().chain(frac.chars()) {
            m = m * 16.0 + c.to_digit(16)? as f64;
        }
        m * 2f64.powi(exp.saturating_sub(4 * frac.len().min(1 << 20) as i32))
    } else {
        digits.parse::<f64>().ok()?
    };
    let mantissa = digits.split(['e', 'p']).next().unwrap_or("");
    let nonzero = mantissa
        .trim_start_matches("0x")
        .chars()
        .any(|c| c.is_ascii_hexdigit() && c != '0');
    // Out of a double's range: not rounded to infinity or zero.
    if !v.is_finite() || (v == 0.0 && nonzero) {
        return None;
    }
    Some(v)
}

/// Appends the bytes of the string literal `lit` (with its quotes) to `out`.
fn unescape(lit: &str, out: &mut Vec<u8>) {
    let inner = lit.as_bytes();
    let inner = &inner[1..inner.len().saturating_sub(1).max(1)];
    let mut i = 0;
    while i < inner.len() {
        let c = inner[i];
        i += 1;
        if c != b'\\' || i >= inner.len() {
            out.push(c);
            continue;
        }
        let e = inner[i];
        i += 1;
        match e {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'v' => out.push(11),
            b'e' => out.push(27),
            b'x' => {
                let mut v = 0u32;
                while i < inner.len() && (inner[i] as char).is_ascii_hexdigit() {
                    v = v
                        .wrapping_mul(16)
                        .wrapping_add((inner[i] as char).to_digit(16).unwrap_or(0));
                    i += 1;
                }
                out.push(v as u8);
            }
            b'0'..=b'7' => {
                let mut v = (e - b'0') as u32;
                for _ in 0..2 {
                    if i < inner.len() && (b'0'..=b'7').contains(&inner[i]) {
                        v = v * 8 + (inner[i] - b'0') as u32;
                        i += 1;
                    }
                }
                out.push(v as u8);
            }
            other => out.push(other),
        }
    }
}

/// Drops line markers (`# 12 "file.h" 2` of `gcc -E` without -P, which may fall inside a
/// declaration) and moves a `#define`/`#undef` that `gcc -dD` printed inside a
/// declaration (an enum body, a struct, a parameter list) to just after it: macros are
/// read between declarations, in their order.
pub fn arrange_directives(toks: Vec<Tok<'_>>) -> Vec<Tok<'_>> {
    let mut out = Vec::with_capacity(toks.len());
    let mut held: Vec<Tok<'_>> = Vec::new();
    let mut depth = 0usize;
    let mut at_boundary = true;
    for t in toks {
        if t.kind == Kind::Directive {
            let word = t.text.trim_start();
            if word.starts_with(|c: char| c.is_ascii_digit()) || word.starts_with("line") {
                continue;
            }
            let is_macro = word.starts_with("define") || word.starts_with("undef");
            if is_macro && !(depth == 0 && at_boundary) {
                held.push(t);
                continue;
            }
            out.push(t);
            continue;
        }
        if t.kind == Kind::Eof {
            out.append(&mut held);
            out.push(t);
            continue;
        }
        match t.text {
            "(" | "{" | "[" if t.kind == Kind::Punct => depth += 1,
            ")" | "}" | "]" if t.kind == Kind::Punct => depth = depth.saturating_sub(1),
            _ => {}
        }
        at_boundary = depth == 0 && t.is(";");
        out.push(t);
        if at_boundary {
            out.append(&mut held);
        }
    }
    out
}
