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
        if self.peek_at(1).kind == Kind::Str {
            // `_Pragma("pack(1)")`: nothing in this FFI's headers needs it; skipped.
            return self.skip_balanced();
        }
        let start = self.pos;
        self.skip_balanced()?;
        let end = self.pos;
        // Parse the inside as a pragma body, then require that it ended at the ')'.
        self.pos = start + 1;
        self.pragma_body(open)?;
        if self.pos + 1 != end {
            // Pragmas other than `pack` are skipped whatever their arguments.
            self.pos = end;
            return Ok(());
        }
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
                let top = self
                    .ns
                    .pack_stack
                    .pop()
                    .ok_or_else(|| self.err_at(d, "#pragma pack(pop) without a push"))?;
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
