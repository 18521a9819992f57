//! What `cdef` reports when it cannot declare: where, what, and of which kind.

use std::fmt;

/// A parse or declaration error at a position of the source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CdefError {
    pub line: u32,
    pub column: u32,
    pub message: String,
    /// The offending token (empty at the end of the input).
    pub near: String,
    /// What kind of error, for code that must tell them apart (never by the text).
    pub kind: ErrorKind,
}

/// The kinds of [`CdefError`] callers treat differently.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ErrorKind {
    /// Not C this parser reads (or not C at all).
    #[default]
    Syntax,
    /// A name that is no declared type; with the nearest declared one, if any is close.
    UnknownType { suggestion: Option<String> },
    /// Nesting beyond the parser's limit: C, but more than this FFI takes.
    TooDeep,
    /// C that this FFI declines in that place (an array of arrays of unknown length,
    /// `aligned(n)` in a type name).
    Unsupported,
}

impl fmt::Display for CdefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )?;
        if self.near.is_empty() {
            write!(f, " at the end of the input")
        } else {
            write!(f, " near '{}'", self.near)
        }
    }
}

impl std::error::Error for CdefError {}
