//! Tokens of C declarations (after preprocessing, plus `#define` and `#pragma` lines).

use super::{CdefError, ErrorKind};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Ident,
    /// An integer or floating literal (pp-number), text as written.
    Number,
    /// A character constant, text with its quotes.
    Char,
    /// A string literal, text with its quotes.
    Str,
    Punct,
    /// A preprocessing directive line (`#...` up to the end of the logical line), the
    /// text after the `#`.
    Directive,
    Eof,
}

#[derive(Clone, Copy, Debug)]
pub struct Tok<'a> {
    pub kind: Kind,
    pub text: &'a str,
    pub line: u32,
    pub col: u32,
}

impl Tok<'_> {
    pub fn is(&self, p: &str) -> bool {
        matches!(self.kind, Kind::Punct | Kind::Ident) && self.text == p
    }
}

const PUNCTS3: &[&str] = &["...", "<<=", ">>="];
const PUNCTS2: &[&str] = &[
    "->", "++", "--", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "*=", "/=", "%=", "+=", "-=",
    "&=", "^=", "|=", "##",
];

/// Splits `src` into tokens; comments are skipped, directive lines become one token.
pub fn lex(src: &str) -> Result<Vec<Tok<'_>>, CdefError> {
    let b = src.as_bytes();
    let mut toks = Vec::with_capacity(src.len() / 4);
    let (mut i, mut line, mut line_start) = (0usize, 1u32, 0usize);
    let mut at_line_start = true;
    let err = |line: u32, col: usize, msg: &str, near: &str| CdefError {
        line,
        column: col as u32,
        message: msg.to_string(),
        near: near.to_string(),
        kind: ErrorKind::Syntax,
    };
    while i < b.len() {
        let c = b[i];
        let col = i - line_start + 1;
        match c {
            b'\n' => {
                i += 1;
                line += 1;
                line_start = i;
                at_line_start = true;
                continue;
            }
            b' ' | b'\t' | b'\r' | 0x0c | 0x0b => {
                i += 1;
                continue;
            }
            b'\\' if b.get(i + 1) == Some(&b'\n') => {
                i += 2;
                line += 1;
                line_start = i;
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let (l0, c0) = (line, col);
                i += 2;
                loop {
                    if i + 1 >= b.len() {
                        return Err(err(l0, c0, "unterminated comment", "/*"));
                    }
                    if b[i] == b'*' && b[i + 1] == b'/' {
                        i += 2;
                        break;
                    }
                    if b[i] == b'\n' {
                        line += 1;
                        line_start = i + 1;
                    }
                    i += 1;
                }
                continue;
            }
            b'#' if at_line_start => {
                // A directive: the rest of the logical line (backslash-newlines joined
                // by the parser, which re-lexes the text).
                let (l0, start) = (line, i + 1);
                i += 1;
                while i < b.len() && b[i] != b'\n' {
                    if b[i] == b'\\' && b.get(i + 1) == Some(&b'\n') {
                        i += 2;
                        line += 1;
                        line_start = i;
                        continue;
                    }
                    i += 1;
                }
                toks.push(Tok {
                    kind: Kind::Directive,
                    text: &src[start..i],
                    line: l0,
                    col: col as u32,
                });
                continue;
            }
            _ => {}
        }
        at_line_start = false;
        let start = i;
        let kind = if c.is_ascii_alphabetic() || c == b'_' || c == b'$' {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$') {
                i += 1;
            }
            // A wide/unicode prefix on a string or character literal.
            if i < b.len()
                && (b[i] == b'"' || b[i] == b'\'')
                && matches!(&src[start..i], "L" | "u" | "U" | "u8")
            {
                let q = b[i];
                i = quoted(b, i, q)
                    .ok_or_else(|| err(line, col, "unterminated literal", &src[start..]))?;
                if q == b'"' {
                    Kind::Str
                } else {
                    Kind::Char
                }
            } else {
                Kind::Ident
            }
        } else if c.is_ascii_digit()
            || (c == b'.' && b.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            // pp-number: digits, letters, dots, and exponent signs.
            i += 1;
            while i < b.len() {
                let d = b[i];
                if ((d == b'+' || d == b'-') && matches!(b[i - 1], b'e' | b'E' | b'p' | b'P'))
                    || d.is_ascii_alphanumeric()
                    || d == b'.'
                    || d == b'_'
                {
                    i += 1;
                } else {
                    break;
                }
            }
            Kind::Number
        } else if c == b'"' || c == b'\'' {
            i = quoted(b, i, c).ok_or_else(|| {
                err(
                    line,
                    col,
                    "unterminated literal",
                    &src[start..(start + 10).min(src.len())],
                )
            })?;
            if c == b'"' {
                Kind::Str
            } else {
                Kind::Char
            }
        } else {
            let rest = &src[i..];
            let n = if PUNCTS3.iter().any(|p| rest.starts_with(p)) {
                3
            } else if PUNCTS2.iter().any(|p| rest.starts_with(p)) {
                2
            } else if c.is_ascii_punctuation() {
                1
            } else {
                let ch = rest.chars().next().unwrap_or('?');
                return Err(err(line, col, "unexpected character", &ch.to_string()));
            };
            i += n;
            Kind::Punct
        };
        toks.push(Tok {
            kind,
            text: &src[start..i],
            line,
            col: col as u32,
        });
    }
    toks.push(Tok {
        kind: Kind::Eof,
        text: "",
        line,
        col: (i - line_start + 1) as u32,
    });
    Ok(toks)
}

/// End (exclusive) of the literal quoted by `q` starting at `i`, or `None` if it is not
/// closed on its line.
fn quoted(b: &[u8], mut i: usize, q: u8) -> Option<usize> {
    i += 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'\n' => return None,
            c if c == q => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_lines_and_columns() {
        let t = lex("int x; /* c\n */ unsigned long\n#define A (1 << \\\n 3)\n y ... 'a' \"s\" 0x1fULL 1.5e-3").unwrap();
        let texts: Vec<&str> = t.iter().map(|t| t.text).collect();
        assert_eq!(
            texts,
            vec![
                "int",
                "x",
                ";",
                "unsigned",
                "long",
                "define A (1 << \\\n 3)",
                "y",
                "...",
                "'a'",
                "\"s\"",
                "0x1fULL",
                "1.5e-3",
                ""
            ]
        );
        assert_eq!((t[3].line, t[3].col), (2, 5));
        assert_eq!(t[5].kind, Kind::Directive);
        assert_eq!((t[6].line, t[6].col), (5, 2));
        assert!(lex("int \u{e9}")
            .unwrap_err()
            .to_string()
            .contains("line 1, column 5: unexpected character near '\u{e9}'"));
    }
}
