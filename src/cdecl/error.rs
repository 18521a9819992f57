//! What `cdef` reports when it cannot declare: where, what, and of which kind.

use std::fmt;

use super::MacroValue;
use crate::types::{FieldLabel, LayoutError};

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

/// Why a declared type has no size, no layout, or cannot be passed: what
/// [`Namespace::sizeof`](super::Namespace::sizeof), `lower`, `lower_func` and
/// `lower_layout` report. Types are carried as their C spelling, made when the error is.
#[derive(Clone, Debug, PartialEq)]
pub enum LowerError {
    SizeofVoid,
    /// gcc: "alignment of array elements is greater than element size".
    OverAlignedElements {
        ty: String,
        align: usize,
        size: usize,
    },
    SizeofUnknownLength {
        ty: String,
    },
    /// Beyond `MAX_OBJECT_SIZE`.
    TooLarge {
        ty: String,
    },
    /// The size of a record declared and never defined.
    OpaqueRecord {
        ty: String,
    },
    /// The size of an enum declared and never defined.
    UndefinedEnum {
        ty: String,
    },
    /// A record declared and never defined, by value.
    OpaqueRecordByValue {
        ty: String,
    },
    /// An enum declared and never defined, by value.
    UndefinedEnumByValue {
        ty: String,
    },
    /// The layout of a record declared and never defined.
    OpaqueLayout {
        ty: String,
    },
    SizeofFunction {
        ty: String,
    },
    /// A type this FFI declines, with why (`Type::Unsupported`).
    Unsupported(String),
    /// `aligned(n)` outside a typedef with `n` no power of two from 1 to 2^28.
    BadAlignment(usize),
    /// One of the `Unpassable` types, by its name.
    Unpassable(&'static str),
    /// A record whose `aligned(n)` attribute changes its alignment, by value.
    AlignedByValue {
        ty: String,
        align: usize,
    },
    ArrayByValue {
        ty: String,
    },
    FunctionByValue {
        ty: String,
    },
    /// A record no call can pass (a `long double` member, empty), with why.
    CannotPass {
        ty: String,
        why: String,
    },
    /// The return type of a function type.
    Return {
        ty: String,
        error: Box<LowerError>,
    },
    /// Parameter `index` (1-based) of a function type.
    Parameter {
        index: usize,
        name: Option<String>,
        ty: String,
        error: Box<LowerError>,
    },
    /// Parameter `index` (1-based) has type void.
    VoidParameter(usize),
    VoidLayout,
    /// A member of a record being laid out.
    Field {
        field: FieldLabel,
        error: Box<LowerError>,
    },
    /// A bitfield declared with a type that is not an integer (its C spelling).
    BitfieldType {
        field: FieldLabel,
        ty: String,
    },
    /// The record's members do not lay out.
    Layout(LayoutError),
}

impl fmt::Display for LowerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LowerError::SizeofVoid => f.write_str("sizeof of void"),
            LowerError::OverAlignedElements { ty, align, size } => write!(
                f,
                "{ty}: the alignment of the array's elements ({align}) is greater than their size ({size})"
            ),
            LowerError::SizeofUnknownLength { ty } => {
                write!(f, "sizeof of an array of unknown length ({ty})")
            }
            LowerError::TooLarge { ty } => write!(f, "{ty} is too large"),
            LowerError::OpaqueRecord { ty } => write!(
                f,
                "{ty} is incomplete (opaque): only pointers to it can be used"
            ),
            LowerError::UndefinedEnum { ty } => write!(
                f,
                "{ty} is incomplete (declared, not defined): only pointers to it can be used"
            ),
            LowerError::OpaqueRecordByValue { ty } => write!(
                f,
                "{ty} is incomplete (opaque): it cannot be used by value, only through a pointer"
            ),
            LowerError::UndefinedEnumByValue { ty } => write!(
                f,
                "{ty} is incomplete (declared, not defined): it cannot be used by value, only through a pointer"
            ),
            LowerError::OpaqueLayout { ty } => write!(f, "{ty} is incomplete (opaque)"),
            LowerError::SizeofFunction { ty } => write!(f, "sizeof of a function type ({ty})"),
            LowerError::Unsupported(why) => f.write_str(why),
            LowerError::BadAlignment(align) => write!(
                f,
                "aligned({align}) must be a power of two from 1 to {}",
                1 << 28
            ),
            LowerError::Unpassable(name) => {
                write!(f, "type '{name}' cannot be passed by this FFI")
            }
            LowerError::AlignedByValue { ty, align } => write!(
                f,
                "{ty} cannot be passed by value: its aligned({align}) attribute changes its alignment"
            ),
            LowerError::ArrayByValue { ty } => write!(
                f,
                "an array ({ty}) cannot be passed by value; use a pointer"
            ),
            LowerError::FunctionByValue { ty } => write!(
                f,
                "a function type ({ty}) cannot be passed by value; use a pointer to it"
            ),
            LowerError::CannotPass { ty, why } => {
                write!(f, "{ty} cannot be passed by value: {why}")
            }
            LowerError::Return { ty, error } => write!(f, "return type {ty}: {error}"),
            LowerError::Parameter {
                index,
                name,
                ty,
                error,
            } => {
                write!(f, "parameter {index}")?;
                if let Some(n) = name {
                    write!(f, " '{n}'")?;
                }
                write!(f, " ({ty}): {error}")
            }
            LowerError::VoidParameter(index) => write!(f, "parameter {index} has type void"),
            LowerError::VoidLayout => f.write_str("void has no layout"),
            LowerError::Field { field, error } => write!(f, "{field}: {error}"),
            LowerError::BitfieldType { field, ty } => write!(
                f,
                "{field} is a bitfield of type {ty}; a bitfield needs an integer type"
            ),
            LowerError::Layout(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for LowerError {}

impl From<LayoutError> for LowerError {
    fn from(e: LayoutError) -> LowerError {
        LowerError::Layout(e)
    }
}

/// The parser's [`CdefError`] and the Luau layer's errors hold message strings: `?` and
/// `err_at` turn a lowering error into its message there.
impl From<LowerError> for String {
    fn from(e: LowerError) -> String {
        e.to_string()
    }
}

/// Why a declaration, attribute or directive is refused, before the parser gives it a
/// position (a [`CdefError`]).
#[derive(Clone, Debug, PartialEq)]
pub enum DeclError {
    /// `packed` on a typedef.
    PackedTypedef {
        name: String,
    },
    VoidVariable {
        name: String,
    },
    /// `vector_size(bytes)` on a type (its C spelling) that is no scalar dividing it.
    BadVectorSize {
        bytes: usize,
        ty: String,
    },
    /// A vector mode whose count does not parse.
    UnknownMode(String),
    UnknownVectorMode(String),
    VectorModeSize(String),
    UnknownFloatMode(String),
    NonScalarMode(String),
    UnknownIntegerMode(String),
    /// Type specifiers that make no type (the words as written).
    BadSpecifiers(String),
    /// An identifier declared again as something else (both described).
    Redeclared {
        name: String,
        now: String,
        before: String,
    },
    /// A typedef of an anonymous record declared again with another record: what differs.
    RecordRedeclared {
        name: String,
        difference: String,
    },
    /// A constant declared again with another value.
    ConstantRedefined {
        name: String,
        before: MacroValue,
        now: MacroValue,
    },
    /// `#pragma pack(n)` with `n` not 1, 2, 4, 8 or 16.
    BadPack(usize),
    /// A type involved has no size (`vector_size` of an incomplete type).
    Lower(LowerError),
}

impl fmt::Display for DeclError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeclError::PackedTypedef { name } => write!(
                f,
                "attribute 'packed' on typedef '{name}' is not supported; put it on the struct"
            ),
            DeclError::VoidVariable { name } => write!(f, "variable '{name}' declared void"),
            DeclError::BadVectorSize { bytes, ty } => write!(
                f,
                "vector_size({bytes}) needs a scalar type whose size divides it, got {ty}"
            ),
            DeclError::UnknownMode(m) => write!(f, "unknown mode '{m}'"),
            DeclError::UnknownVectorMode(m) => write!(f, "unknown vector mode '{m}'"),
            DeclError::VectorModeSize(m) => {
                write!(f, "vector mode '{m}' is not a power of two in size")
            }
            DeclError::UnknownFloatMode(m) => write!(f, "unknown floating mode '{m}'"),
            DeclError::NonScalarMode(m) => write!(f, "mode '{m}' on a non-scalar type"),
            DeclError::UnknownIntegerMode(m) => write!(f, "unknown integer mode '{m}'"),
            DeclError::BadSpecifiers(words) => {
                write!(f, "invalid combination of type specifiers '{words}'")
            }
            DeclError::Redeclared { name, now, before } => {
                write!(f, "'{name}' redeclared as {now} (it was {before})")
            }
            DeclError::RecordRedeclared { name, difference } => {
                write!(f, "'{name}' redeclared: {difference}")
            }
            DeclError::ConstantRedefined { name, before, now } => write!(
                f,
                "'{name}' redefined with a different value ({before} before, {now} now)"
            ),
            DeclError::BadPack(v) => {
                write!(f, "#pragma pack value must be 1, 2, 4, 8 or 16, got {v}")
            }
            DeclError::Lower(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for DeclError {}

impl From<LowerError> for DeclError {
    fn from(e: LowerError) -> DeclError {
        DeclError::Lower(e)
    }
}

/// `err_at` turns a declaration error into the message of a [`CdefError`].
impl From<DeclError> for String {
    fn from(e: DeclError) -> String {
        e.to_string()
    }
}
