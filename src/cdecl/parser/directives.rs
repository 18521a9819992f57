//! Preprocessor lines that survive `gcc -E` (`#define`, `#undef`, `#pragma pack`, line
//! markers) and what each does to the namespace.

use super::macro_values::Macro;
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
}
