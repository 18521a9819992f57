//! Macros: what an object-like macro's body means (a constant, an alias of a function, or
//! nothing this FFI keeps), function-like macros expanded inside other macros' bodies, and
//! the macros retried at the end of a `cdef`.

use super::*;

/// What an object-like macro's body means.
pub(super) enum Macro {
    Value(MacroValue),
    /// The body is one identifier that may name a function.
    Alias(String),
}

/// An integer or floating value of a constant expression.
#[derive(Clone, Copy)]
pub(super) enum Num {
    I(Val),
    F(f64),
}

impl Num {
    pub(super) fn float(self) -> f64 {
        match self {
            Num::I(v) => v.v as f64,
            Num::F(f) => f,
        }
    }
}

/// Words that make a one-identifier body no alias (`#define __inline inline`).
pub(super) const KEYWORDS: &[&str] = &[
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
    pub(super) fn function_like_macro(&mut self) -> Option<FnMacro> {
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
    pub(super) fn macro_value(
        &mut self,
        name: Tok<'a>,
        body: &[Tok<'a>],
    ) -> Result<Option<Macro>, CdefError> {
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
    pub(super) fn evaluate_macro(&mut self, name: &str) -> Result<Option<Macro>, CdefError> {
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

    pub(super) fn num_sum(&mut self) -> Result<Num, CdefError> {
        let mut a = self.num_product()?;
        while self.at("+") || self.at("-") {
            let op = self.next();
            let b = self.num_product()?;
            a = self.num_apply(op, a, b)?;
        }
        Ok(a)
    }

    pub(super) fn num_product(&mut self) -> Result<Num, CdefError> {
        let mut a = self.num_unary()?;
        while self.at("*") || self.at("/") || self.at("%") {
            let op = self.next();
            let b = self.num_unary()?;
            a = self.num_apply(op, a, b)?;
        }
        Ok(a)
    }

    pub(super) fn num_apply(&self, op: Tok<'_>, a: Num, b: Num) -> Result<Num, CdefError> {
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

    pub(super) fn num_unary(&mut self) -> Result<Num, CdefError> {
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
pub(super) fn is_floating(text: &str) -> bool {
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
pub(super) fn parse_float(text: &str) -> Option<f64> {
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
pub(super) fn unescape(lit: &str, out: &mut Vec<u8>) {
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
