//! Macro expansion inside `#define` bodies (issue 22 item 3): object-like macros and
//! calls of function-like ones (`__INT64_C(9223372036854775807)`,
//! `PCRE2_SUFFIX(pcre2_compile_)` through `a ## b`), with `#` and `##`, as C expands them
//! closely enough for constants and aliases. Names being expanded stay names (C's rule
//! against recursion); the expansion is bounded in tokens and depth.

use super::super::lexer::{lex, Kind};
use super::super::{FnMacro, MacroValue, Namespace};
use super::MAX_NESTING;

/// The most tokens one macro's expansion may produce: `#define A B B` / `#define B C C`
/// ... doubles per level, and a body that long is no constant anyway.
pub(super) const MAX_EXPANSION: usize = 4096;

/// An owned token of an expansion.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct PTok {
    pub kind: Kind,
    pub text: String,
}

/// Tokens of `src` (no end marker), or None if it does not lex.
pub(super) fn tokens(src: &str) -> Option<Vec<PTok>> {
    // A word first: a body's leading `#` (stringizing) is no directive.
    let src = format!("_ {}", src);
    let toks = lex(&src).ok()?;
    Some(
        toks.into_iter()
            .skip(1)
            .filter(|t| t.kind != Kind::Eof)
            .map(|t| PTok {
                kind: t.kind,
                text: t.text.to_string(),
            })
            .collect(),
    )
}

/// Whether the identifier `name` is replaced by an object-like macro's body. An integer
/// constant stays a name (the evaluator reads its value, as for enum constants): chains
/// such as `#define M1 (M0 + M0)` then cost their length, not 2^n.
pub(super) fn expands(ns: &Namespace, name: &str) -> bool {
    ns.macros.contains_key(name) && !matches!(ns.defines.get(name), Some(MacroValue::Int(_)))
}

/// Whether `toks` has anything to expand.
pub(super) fn needs_expansion(ns: &Namespace, self_name: &str, toks: &[PTok]) -> bool {
    toks.iter().enumerate().any(|(i, t)| {
        t.kind == Kind::Ident
            && t.text != self_name
            && (expands(ns, &t.text)
                || (ns.fn_macros.contains_key(&t.text)
                    && toks
                        .get(i + 1)
                        .is_some_and(|n| n.kind == Kind::Punct && n.text == "(")))
    })
}

pub(super) struct Expander<'n> {
    pub ns: &'n Namespace,
    pub guard: Vec<String>,
    pub budget: usize,
    /// Depth of macro arguments being expanded: there integer constants expand too, as
    /// they may be pasted (`PCRE2_GLUE(a, PCRE2_CODE_UNIT_WIDTH)`).
    pub in_args: usize,
}

impl Expander<'_> {
    /// The expansion of `toks`; None past the bounds or on what does not lex or paste.
    pub fn expand(&mut self, toks: &[PTok]) -> Option<Vec<PTok>> {
        if self.guard.len() > MAX_NESTING {
            return None;
        }
        let mut out = Vec::new();
        let mut i = 0;
        while i < toks.len() {
            let t = &toks[i];
            self.budget = self.budget.checked_sub(1)?;
            if t.kind == Kind::Ident && !self.guard.contains(&t.text) {
                let object_like = if self.in_args > 0 {
                    self.ns.macros.contains_key(&t.text)
                } else {
                    expands(self.ns, &t.text)
                };
                if object_like {
                    let body = tokens(&self.ns.macros[&t.text])?;
                    self.guard.push(t.text.clone());
                    let e = self.expand(&body);
                    self.guard.pop();
                    out.extend(e?);
                    i += 1;
                    continue;
                }
                if let Some(m) = self.ns.fn_macros.get(&t.text) {
                    if toks
                        .get(i + 1)
                        .is_some_and(|n| n.text == "(" && n.kind == Kind::Punct)
                    {
                        let (args, next) = arguments(toks, i + 2)?;
                        let body = self.substitute(m, args)?;
                        self.guard.push(t.text.clone());
                        let e = self.expand(&body);
                        self.guard.pop();
                        out.extend(e?);
                        i = next;
                        continue;
                    }
                }
            }
            out.push(t.clone());
            i += 1;
        }
        Some(out)
    }

    /// The body of `m` with `args` in place of its parameters (`#p` stringized, `p`
    /// next to `##` unexpanded, others expanded first), `##` pasted.
    fn substitute(&mut self, m: &FnMacro, mut args: Vec<Vec<PTok>>) -> Option<Vec<PTok>> {
        if args.len() == 1 && args[0].is_empty() && m.params.is_empty() {
            args.clear();
        }
        if m.variadic {
            if args.len() < m.params.len() {
                args.resize(m.params.len() + 1, Vec::new());
            }
            let rest: Vec<Vec<PTok>> = args.split_off(m.params.len());
            let mut joined = Vec::new();
            for (k, a) in rest.into_iter().enumerate() {
                if k > 0 {
                    joined.push(PTok {
                        kind: Kind::Punct,
                        text: ",".into(),
                    });
                }
                joined.extend(a);
            }
            args.push(joined);
        } else if args.len() != m.params.len() {
            return None;
        }
        let param = |name: &str| -> Option<usize> {
            if m.variadic && name == "__VA_ARGS__" {
                return Some(m.params.len());
            }
            m.params.iter().position(|p| p == name)
        };
        let body = tokens(&m.body)?;
        let is_paste =
            |t: Option<&PTok>| t.is_some_and(|t| t.kind == Kind::Punct && t.text == "##");
        let mut out: Vec<PTok> = Vec::new();
        let mut k = 0;
        while k < body.len() {
            let t = &body[k];
            if t.kind == Kind::Punct && t.text == "#" {
                if let Some(p) = body.get(k + 1).and_then(|n| param(&n.text)) {
                    let text: Vec<&str> = args[p].iter().map(|a| a.text.as_str()).collect();
                    let s = text.join(" ").replace('\\', "\\\\").replace('"', "\\\"");
                    out.push(PTok {
                        kind: Kind::Str,
                        text: format!("\"{}\"", s),
                    });
                    k += 2;
                    continue;
                }
            }
            if is_paste(Some(t)) {
                // Paste the last token with the first of what follows.
                let next = body.get(k + 1)?;
                let mut right = match param(&next.text).filter(|_| next.kind == Kind::Ident) {
                    Some(p) => args[p].clone(),
                    None => vec![next.clone()],
                };
                k += 2;
                if right.is_empty() {
                    continue;
                }
                let first = right.remove(0);
                match out.pop() {
                    Some(left) => {
                        let pasted = tokens(&format!("{}{}", left.text, first.text))?;
                        if pasted.len() != 1 {
                            return None;
                        }
                        out.extend(pasted);
                    }
                    None => out.push(first),
                }
                out.extend(right);
                continue;
            }
            if t.kind == Kind::Ident {
                if let Some(p) = param(&t.text) {
                    if is_paste(body.get(k + 1)) || (k > 0 && is_paste(body.get(k - 1))) {
                        out.extend(args[p].iter().cloned());
                    } else {
                        self.in_args += 1;
                        let e = self.expand(&args[p]);
                        self.in_args -= 1;
                        out.extend(e?);
                    }
                    k += 1;
                    continue;
                }
            }
            out.push(t.clone());
            k += 1;
        }
        Some(out)
    }
}

/// The arguments of a call whose '(' is before `toks[from]`, and the index after its ')'.
fn arguments(toks: &[PTok], from: usize) -> Option<(Vec<Vec<PTok>>, usize)> {
    let mut args = vec![Vec::new()];
    let mut depth = 0usize;
    let mut i = from;
    while i < toks.len() {
        let t = &toks[i];
        if t.kind == Kind::Punct {
            match t.text.as_str() {
                "(" => depth += 1,
                ")" if depth == 0 => return Some((args, i + 1)),
                ")" => depth -= 1,
                "," if depth == 0 => {
                    args.push(Vec::new());
                    i += 1;
                    continue;
                }
                _ => {}
            }
        }
        args.last_mut()?.push(t.clone());
        i += 1;
    }
    None
}
