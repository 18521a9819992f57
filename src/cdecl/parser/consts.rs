//! Constant expressions: integer and floating arithmetic as C evaluates it in `#if`-free
//! contexts (array lengths, enum values, bitfield widths, `aligned(n)`, macro values).

use super::*;

impl<'a, 'n> Parser<'a, 'n> {
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
    pub(super) fn conditional(&mut self, c: Val) -> Result<Val, CdefError> {
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
    pub(super) fn prefix(&mut self, t: Tok<'a>) -> Result<Val, CdefError> {
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
    pub(super) fn parenthesised_expr(&mut self) -> Result<Val, CdefError> {
        self.next();
        let v = self.const_expr()?;
        self.expect(")")?;
        Ok(v)
    }

    /// `sizeof(type)`, `sizeof expr`, `_Alignof(type)`, at the keyword `t`.
    pub(super) fn size_of(&mut self, t: Tok<'a>) -> Result<Val, CdefError> {
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
    pub(super) fn cast(&mut self, t: Tok<'a>) -> Result<Val, CdefError> {
        self.next();
        let ty = self.type_name()?;
        self.expect(")")?;
        let v = self.unary()?;
        self.convert(t, &ty, v)
    }

    /// A cast's conversion of `v` to `ty`.
    pub(super) fn convert(&self, t: Tok<'a>, ty: &Type, v: Val) -> Result<Val, CdefError> {
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
