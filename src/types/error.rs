//! Why a record cannot be laid out, or a bitfield written. The Luau layer (and `cdecl`,
//! which lays out declared records) turns these into the text of an error (`Display`, or
//! `?` into its message strings), prefixed with what was asked.

use std::fmt;

use super::{CType, RecordKind, MAX_NESTING};

/// How a message names a member: by name, or by its 1-based position when unnamed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldLabel {
    Named(String),
    Index(usize),
}

impl fmt::Display for FieldLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldLabel::Named(n) => write!(f, "field '{n}'"),
            FieldLabel::Index(i) => write!(f, "field {i}"),
        }
    }
}

/// Which alignment an [`LayoutError::NotPowerOfTwo`] is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AlignmentOf {
    /// `#pragma pack(n)`.
    Pack,
    /// `aligned(n)` on the record.
    Record,
    /// `aligned(n)` on a member.
    Member(FieldLabel),
    /// The alignment of a member's type (an aligned typedef).
    MemberType(FieldLabel),
}

impl fmt::Display for AlignmentOf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AlignmentOf::Pack => f.write_str("pack"),
            AlignmentOf::Record => f.write_str("align"),
            AlignmentOf::Member(l) => write!(f, "the alignment of {l}"),
            AlignmentOf::MemberType(l) => write!(f, "the type alignment of {l}"),
        }
    }
}

/// What `StructType::new`, `StructType::with_options` and `BitField::insert` report;
/// `Display` gives the text scripts see.
#[derive(Clone, Debug, PartialEq)]
pub enum LayoutError {
    /// A struct or union without members (where one is not allowed).
    NoFields(RecordKind),
    /// An alignment that is not a power of two from 1 to `max`.
    NotPowerOfTwo {
        of: AlignmentOf,
        max: usize,
        got: usize,
    },
    /// `ffi.struct` got an empty field name.
    EmptyFieldName,
    DuplicateField(String),
    VoidField(FieldLabel),
    /// An unnamed member that is neither a bitfield nor an anonymous struct/union.
    Unnamed(FieldLabel),
    BitfieldArray(FieldLabel),
    /// A bitfield of a type that is not an integer.
    BitfieldType {
        field: FieldLabel,
        ty: CType,
    },
    /// A bitfield wider than its type (`max` bits; 1 for `bool`).
    BitfieldTooWide {
        field: FieldLabel,
        width: u32,
        ty: CType,
        max: usize,
    },
    NamedZeroWidth(FieldLabel),
    FlexibleInUnion(FieldLabel),
    FlexibleNotLast(FieldLabel),
    FlexibleOnly(FieldLabel),
    FlexibleWithCount(FieldLabel),
    ZeroLengthArray(FieldLabel),
    ZeroSizedType(FieldLabel),
    /// A member beyond `MAX_OBJECT_SIZE`.
    FieldTooLarge(FieldLabel),
    /// The record beyond `MAX_OBJECT_SIZE`.
    RecordTooLarge(RecordKind),
    /// Records nested deeper than [`MAX_NESTING`].
    TooDeep,
    /// A value outside the bitfield's range (`min..=max`).
    BitfieldValue {
        value: i128,
        width: u32,
        signed: bool,
        min: i128,
        max: i128,
    },
    /// Fewer bytes than the bitfield spans.
    BitfieldBytes {
        need: usize,
        have: usize,
    },
}

fn kind_name(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::Struct => "struct",
        RecordKind::Union => "union",
    }
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayoutError::NoFields(k) => write!(f, "a {} needs at least one field", kind_name(*k)),
            LayoutError::NotPowerOfTwo { of, max, got } => {
                write!(f, "{of} must be a power of two from 1 to {max}, got {got}")
            }
            LayoutError::EmptyFieldName => f.write_str("field names must be non-empty strings"),
            LayoutError::DuplicateField(n) => write!(f, "duplicate field '{n}'"),
            LayoutError::VoidField(l) => write!(f, "{l} cannot have type void"),
            LayoutError::Unnamed(l) => write!(f, "{l} needs a name"),
            LayoutError::BitfieldArray(l) => write!(f, "{l} is a bitfield and cannot be an array"),
            LayoutError::BitfieldType { field, ty } => write!(
                f,
                "{field} is a bitfield of type {ty}; a bitfield needs an integer type"
            ),
            LayoutError::BitfieldTooWide {
                field,
                width,
                ty,
                max,
            } => write!(
                f,
                "{field} is {width} bits wide; its type {ty} holds at most {max}"
            ),
            LayoutError::NamedZeroWidth(l) => {
                write!(f, "{l} is a zero-width bitfield, which must be unnamed")
            }
            LayoutError::FlexibleInUnion(l) => write!(
                f,
                "{l} is a flexible array member, which a union cannot have"
            ),
            LayoutError::FlexibleNotLast(l) => {
                write!(f, "{l} is a flexible array member but not the last field")
            }
            LayoutError::FlexibleOnly(l) => write!(
                f,
                "{l} is a flexible array member and the struct has no other field"
            ),
            LayoutError::FlexibleWithCount(l) => {
                write!(f, "{l} cannot be both flexible and have a count")
            }
            LayoutError::ZeroLengthArray(l) => {
                write!(f, "{l} is a zero-length array (count must be at least 1)")
            }
            LayoutError::ZeroSizedType(l) => write!(f, "{l} has a zero-sized type"),
            LayoutError::FieldTooLarge(l) => write!(f, "{l} is too large"),
            LayoutError::RecordTooLarge(k) => write!(f, "{} is too large", kind_name(*k)),
            LayoutError::TooDeep => write!(f, "nesting deeper than {MAX_NESTING}"),
            LayoutError::BitfieldValue {
                value,
                width,
                signed,
                min,
                max,
            } => write!(
                f,
                "{value} does not fit in a {width}-bit {} bitfield ({min}..={max})",
                if *signed { "signed" } else { "unsigned" }
            ),
            LayoutError::BitfieldBytes { need, have } => {
                write!(f, "bitfield needs {need} bytes, {have} given")
            }
        }
    }
}

impl std::error::Error for LayoutError {}

/// The Luau layer's errors are message strings: `?` turns a layout error into its
/// message there.
impl From<LayoutError> for String {
    fn from(e: LayoutError) -> String {
        e.to_string()
    }
}
