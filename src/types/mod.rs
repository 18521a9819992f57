//! C types: primitives, their aliases, and struct layout.
//!
//! Sizes here are those of the 64-bit targets the engine supports (SysV x86-64, Win64,
//! AArch64): pointers, `usize` and `isize` are 8 bytes everywhere.

use std::fmt;
use std::sync::Arc;

/// A primitive C type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Prim {
    Void,
    Bool,
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64,
    F32,
    F64,
    Usize,
    Isize,
    Pointer,
    /// `char*`: a pointer as far as the ABI is concerned, a Luau string to the script.
    String,
    /// A NUL-terminated UTF-16 string (Windows' `LPCWSTR`): a pointer to the ABI, a UTF-8
    /// Luau string to the script.
    String16,
}

/// Every canonical name and alias, in the order `ffi.types` lists them.
pub const TYPE_NAMES: &[(&str, Prim)] = &[
    ("i8", Prim::I8),
    ("u8", Prim::U8),
    ("i16", Prim::I16),
    ("u16", Prim::U16),
    ("i32", Prim::I32),
    ("u32", Prim::U32),
    ("i64", Prim::I64),
    ("u64", Prim::U64),
    ("f32", Prim::F32),
    ("f64", Prim::F64),
    ("bool", Prim::Bool),
    ("usize", Prim::Usize),
    ("isize", Prim::Isize),
    ("pointer", Prim::Pointer),
    ("string", Prim::String),
    ("string16", Prim::String16),
    ("void", Prim::Void),
    // Aliases from the seed's type table. `long` is i64 as the seed says, which matches
    // C's `long` on 64-bit Unix but not on Windows, where C's `long` is 32-bit.
    ("char", Prim::I8),
    ("byte", Prim::U8),
    ("short", Prim::I16),
    ("ushort", Prim::U16),
    ("int", Prim::I32),
    ("uint", Prim::U32),
    ("long", Prim::I64),
    ("ulong", Prim::U64),
    ("float", Prim::F32),
    ("double", Prim::F64),
    ("void*", Prim::Pointer),
    ("char*", Prim::String),
];

impl Prim {
    /// Resolves a canonical name or alias (the same set as `TYPE_NAMES`; a unit test
    /// keeps the two in step). A `match` because calls parse types on every `lib:call`.
    pub fn from_name(name: &str) -> Option<Prim> {
        Prim::from_bytes(name.as_bytes())
    }

    /// `from_name` on raw bytes (Luau strings need no UTF-8 check to be matched).
    pub fn from_bytes(name: &[u8]) -> Option<Prim> {
        Some(match name {
            b"i8" | b"char" => Prim::I8,
            b"u8" | b"byte" => Prim::U8,
            b"i16" | b"short" => Prim::I16,
            b"u16" | b"ushort" => Prim::U16,
            b"i32" | b"int" => Prim::I32,
            b"u32" | b"uint" => Prim::U32,
            b"i64" | b"long" => Prim::I64,
            b"u64" | b"ulong" => Prim::U64,
            b"f32" | b"float" => Prim::F32,
            b"f64" | b"double" => Prim::F64,
            b"bool" => Prim::Bool,
            b"usize" => Prim::Usize,
            b"isize" => Prim::Isize,
            b"pointer" | b"void*" => Prim::Pointer,
            b"string" | b"char*" => Prim::String,
            b"string16" => Prim::String16,
            b"void" => Prim::Void,
            _ => return None,
        })
    }

    /// The canonical name.
    pub fn name(self) -> &'static str {
        match self {
            Prim::Void => "void",
            Prim::Bool => "bool",
            Prim::I8 => "i8",
            Prim::U8 => "u8",
            Prim::I16 => "i16",
            Prim::U16 => "u16",
            Prim::I32 => "i32",
            Prim::U32 => "u32",
            Prim::I64 => "i64",
            Prim::U64 => "u64",
            Prim::F32 => "f32",
            Prim::F64 => "f64",
            Prim::Usize => "usize",
            Prim::Isize => "isize",
            Prim::Pointer => "pointer",
            Prim::String => "string",
            Prim::String16 => "string16",
        }
    }

    pub fn size(self) -> usize {
        match self {
            Prim::Void => 0,
            Prim::Bool | Prim::I8 | Prim::U8 => 1,
            Prim::I16 | Prim::U16 => 2,
            Prim::I32 | Prim::U32 | Prim::F32 => 4,
            Prim::I64 | Prim::U64 | Prim::F64 => 8,
            Prim::Usize | Prim::Isize | Prim::Pointer | Prim::String | Prim::String16 => 8,
        }
    }

    /// Natural alignment; equal to the size for every primitive on the supported ABIs.
    pub fn align(self) -> usize {
        self.size().max(1)
    }

    pub fn is_float(self) -> bool {
        matches!(self, Prim::F32 | Prim::F64)
    }

    pub fn is_signed(self) -> bool {
        matches!(
            self,
            Prim::I8 | Prim::I16 | Prim::I32 | Prim::I64 | Prim::Isize
        )
    }
}

/// A C type: a primitive or a struct.
#[derive(Clone, Debug, PartialEq)]
pub enum CType {
    Prim(Prim),
    Struct(Arc<StructType>),
}

impl CType {
    pub fn size(&self) -> usize {
        match self {
            CType::Prim(p) => p.size(),
            CType::Struct(s) => s.size,
        }
    }

    pub fn align(&self) -> usize {
        match self {
            CType::Prim(p) => p.align(),
            CType::Struct(s) => s.align,
        }
    }

    pub fn is_void(&self) -> bool {
        matches!(self, CType::Prim(Prim::Void))
    }

    pub fn prim(&self) -> Option<Prim> {
        match self {
            CType::Prim(p) => Some(*p),
            CType::Struct(_) => None,
        }
    }
}

impl fmt::Display for CType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CType::Prim(p) => f.write_str(p.name()),
            CType::Struct(s) => match &s.name.0 {
                Some(name) => f.write_str(name),
                None => write!(f, "struct({} bytes)", s.size),
            },
        }
    }
}

/// One field of a struct. An array field `{ name, type, count }` has `count = Some(n)`.
///
/// A bitfield has `bits = Some(..)`, `count = None`, and `offset` is the byte holding its
/// first bit (see [`BitField`]). A flexible array member has `flexible = true` and
/// `count = Some(0)`: it takes no room in the record and has no known length.
/// An anonymous struct or union member (C11) has an empty `name`; its members are found
/// by [`StructType::lookup`].
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub name: String,
    pub ty: CType,
    pub count: Option<usize>,
    pub offset: usize,
    pub bits: Option<BitField>,
    pub flexible: bool,
    /// The member's own alignment in the record (gcc's DECL_ALIGN: its type's, raised by
    /// `aligned(n)` on the member, lowered by packing): what AAPCS64's argument rules
    /// look at, which ignore `aligned` on the record itself.
    pub align: usize,
    /// For a pointer field (or an array of pointers) declared with `ffi.cdef`: what it
    /// points to, so reading it gives a TypedPointer of that type.
    pub pointee: Option<Pointee>,
}

/// The declared pointee of a pointer (`struct node *next`, `int *`, `char **`), so a value
/// read from it is a TypedPointer of that type. A record is named by its id in the C
/// namespace of the Lua state that declared it and resolved on use, so a record that
/// points to itself (`struct node { struct node *next; }`) needs no cycle of types.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Pointee {
    /// A scalar (`int *`, `double *`, an enum's integer type).
    Prim(Prim),
    /// A struct or union, by its record id in the declaring namespace.
    Record(usize),
    /// A pointer (`T **`): the element is a pointer (`Prim::Pointer`, or `Prim::String`
    /// for `const char **`) whose own pointee is `inner`.
    Pointer {
        prim: Prim,
        inner: Option<Box<Pointee>>,
    },
}

impl Field {
    /// Number of elements: 1 for a scalar field.
    pub fn len(&self) -> usize {
        self.count.unwrap_or(1)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn byte_size(&self) -> usize {
        self.ty.size() * self.len()
    }
}

/// A C struct or union laid out as the platform's C compiler does (see `layout.rs`):
/// for a plain struct each field at the next multiple of its alignment, the struct's
/// alignment the largest of its fields', its size rounded up to it.
#[derive(Clone, Debug, PartialEq)]
pub struct StructType {
    pub fields: Vec<Field>,
    pub size: usize,
    pub align: usize,
    /// Struct or union.
    pub kind: RecordKind,
    /// 1, plus the depth of the deepest record among the fields: how deep every walk of
    /// the fields recurses; at most [`MAX_NESTING`].
    depth: usize,
    /// The C name it was declared with (`struct tm`, a typedef name), for messages.
    pub name: TypeName,
    /// Unnamed bitfields that are not zero-width, as (first bit, width): no field a
    /// script can reach, but integer data to the argument classifiers, as to gcc
    /// (`struct { uint16_t : 16; long f1; }` goes in rdi:rsi on x86-64; `union { double
    /// f; uint8_t : 7; }` is no HFA on AArch64).
    unnamed_bits: Vec<(usize, usize)>,
}

/// A record's declared name. Names are for people: two records with the same layout are
/// the same type to the engine whatever they are called, so this always compares equal.
#[derive(Clone, Debug, Default)]
pub struct TypeName(pub Option<std::sync::Arc<str>>);

impl PartialEq for TypeName {
    fn eq(&self, _: &TypeName) -> bool {
        true
    }
}

/// A field as given to [`StructType::new`], before layout.
pub struct FieldSpec {
    pub name: String,
    pub ty: CType,
    pub count: Option<usize>,
}

/// Largest struct (or array) the module accepts, so sizes never overflow.
pub const MAX_OBJECT_SIZE: usize = 1 << 40;

/// How deep records may nest in records, and in `ffi.cdef`'s C: declarators, parameter
/// lists, records, `typeof` and constant expressions in one another, and a type's chain of
/// pointers, arrays and functions (`cdecl::Type::depth`). Every walk of these (the
/// recursive parser, layout, flattening for the ABI classifiers, member lookup, printing,
/// `Clone`, `Drop`) recurses once per level: far beyond what real headers use, shallow
/// enough that the deepest fits a 1 MiB stack (Windows' main thread) in a debug build,
/// with room to spare for the caller. Past it: "nesting deeper than 64".
pub const MAX_NESTING: usize = 64;

impl StructType {
    /// Lays out the fields. Errors are phrased for `ffi.struct`'s caller.
    pub fn new(specs: Vec<FieldSpec>) -> Result<StructType, LayoutError> {
        if specs.is_empty() {
            return Err(LayoutError::NoFields(RecordKind::Struct));
        }
        let mut fields: Vec<Field> = Vec::with_capacity(specs.len());
        // Duplicates by a set, not by scanning the fields before (quadratic).
        let mut names = std::collections::HashSet::new();
        let mut offset = 0usize;
        let mut align = 1usize;
        for spec in specs {
            if spec.name.is_empty() {
                return Err(LayoutError::EmptyFieldName);
            }
            if !names.insert(spec.name.clone()) {
                return Err(LayoutError::DuplicateField(spec.name));
            }
            if spec.ty.is_void() {
                return Err(LayoutError::VoidField(FieldLabel::Named(spec.name)));
            }
            if spec.count == Some(0) {
                return Err(LayoutError::ZeroLengthArray(FieldLabel::Named(spec.name)));
            }
            let fa = spec.ty.align();
            let n = spec.count.unwrap_or(1);
            let bytes = spec
                .ty
                .size()
                .checked_mul(n)
                .filter(|b| *b <= MAX_OBJECT_SIZE)
                .ok_or_else(|| LayoutError::FieldTooLarge(FieldLabel::Named(spec.name.clone())))?;
            offset = round_up(offset, fa);
            fields.push(Field {
                name: spec.name,
                ty: spec.ty,
                count: spec.count,
                offset,
                bits: None,
                flexible: false,
                align: fa,
                pointee: None,
            });
            offset += bytes;
            if offset > MAX_OBJECT_SIZE {
                return Err(LayoutError::RecordTooLarge(RecordKind::Struct));
            }
            align = align.max(fa);
        }
        let size = round_up(offset, align);
        Ok(StructType {
            depth: nesting_depth(&fields)?,
            fields,
            size,
            align,
            kind: RecordKind::Struct,
            name: TypeName::default(),
            unnamed_bits: Vec::new(),
        })
    }

    /// A struct or union without members (gcc's extension): size 0.
    pub fn empty(kind: RecordKind, align: usize) -> StructType {
        StructType {
            fields: Vec::new(),
            size: 0,
            align,
            kind,
            depth: 1,
            name: TypeName::default(),
            unnamed_bits: Vec::new(),
        }
    }

    /// 1 for a record of scalars, else 1 plus the depth of the deepest record field.
    pub fn depth(&self) -> usize {
        self.depth
    }

    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    pub fn is_union(&self) -> bool {
        self.kind == RecordKind::Union
    }

    /// Every primitive leaf with its byte offset, arrays expanded and nested structs
    /// flattened, in field order (memory order for a struct; a union's members overlap
    /// and each contributes its leaves). A bitfield contributes one `U8` per byte it
    /// touches; a flexible array member contributes nothing. The ABI classifiers work on
    /// this view.
    pub fn flatten(&self) -> Vec<(usize, Prim)> {
        let mut out = Vec::new();
        self.flatten_into(0, &mut out);
        out
    }

    fn flatten_into(&self, base: usize, out: &mut Vec<(usize, Prim)>) {
        for f in &self.fields {
            if let Some(b) = &f.bits {
                // A bitfield is integer data in the bytes it touches; the classifiers
                // only need to know which bytes hold integer bits.
                for k in 0..b.span() {
                    out.push((base + f.offset + k, Prim::U8));
                }
                continue;
            }
            for i in 0..f.len() {
                let off = base + f.offset + i * f.ty.size();
                match &f.ty {
                    CType::Prim(p) => out.push((off, *p)),
                    CType::Struct(s) => s.flatten_into(off, out),
                }
            }
        }
        for &(bit, width) in &self.unnamed_bits {
            for byte in bit / 8..(bit + width).div_ceil(8) {
                out.push((base + byte, Prim::U8));
            }
        }
    }
}

mod error;
mod layout;
pub use error::{AlignmentOf, FieldLabel, LayoutError};
pub use layout::{BitField, LayoutRules, MemberSpec, RecordKind, RecordOptions};

/// A record's depth from its fields' (see [`StructType::depth`]); an error past
/// [`MAX_NESTING`], before any recursive walk of a too deep record can overflow the stack.
fn nesting_depth(fields: &[Field]) -> Result<usize, LayoutError> {
    let depth = 1 + fields
        .iter()
        .map(|f| match &f.ty {
            CType::Struct(s) => s.depth,
            CType::Prim(_) => 0,
        })
        .max()
        .unwrap_or(0);
    if depth > MAX_NESTING {
        return Err(LayoutError::TooDeep);
    }
    Ok(depth)
}

pub fn round_up(n: usize, align: usize) -> usize {
    n.div_ceil(align) * align
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(fields: &[(&str, CType, Option<usize>)]) -> StructType {
        StructType::new(
            fields
                .iter()
                .map(|(n, t, c)| FieldSpec {
                    name: n.to_string(),
                    ty: t.clone(),
                    count: *c,
                })
                .collect(),
        )
        .unwrap()
    }

    fn p(p: Prim) -> CType {
        CType::Prim(p)
    }

    #[test]
    fn from_name_matches_the_table() {
        // Table -> parser: every listed name resolves to its primitive.
        for (n, p) in TYPE_NAMES {
            assert_eq!(Prim::from_name(n), Some(*p), "{}", n);
        }
        // Parser -> table: every primitive's canonical name is listed, and no name the
        // parser accepts is missing. The parser's names are the canonical names plus
        // the aliases; probe every string the table could hold plus near misses.
        for p in TYPE_NAMES.iter().map(|(_, p)| *p) {
            assert!(
                TYPE_NAMES.iter().any(|(n, q)| *n == p.name() && *q == p),
                "{}",
                p.name()
            );
        }
        let mut probes: Vec<String> = TYPE_NAMES.iter().map(|(n, _)| n.to_string()).collect();
        for base in ["i", "u", "f"] {
            for bits in ["8", "16", "32", "64", "128"] {
                probes.push(format!("{}{}", base, bits));
            }
        }
        for extra in [
            "ushort", "uint", "ulong", "uchar", "longlong", "size", "ssize", "ptr", "str", "void*",
            "char*", "int*", "bool", "boolean",
        ] {
            probes.push(extra.to_string());
        }
        for name in &probes {
            if let Some(p) = Prim::from_name(name) {
                assert!(
                    TYPE_NAMES.iter().any(|(n, q)| n == name && *q == p),
                    "Prim::from_name accepts '{}' but TYPE_NAMES does not list it",
                    name
                );
            }
        }
    }

    #[test]
    fn types_d_luau_lists_every_name() {
        // ffi.types in types.d.luau must list exactly TYPE_NAMES.
        let d = include_str!("../../types.d.luau");
        let start = d.find("ffi.types = {").expect("ffi.types in types.d.luau");
        let body = &d[start..start + d[start..].find('}').unwrap()];
        for (n, p) in TYPE_NAMES {
            let entry = if n.contains('*') {
                format!("[\"{}\"] = \"{}\"", n, p.name())
            } else {
                format!("{} = \"{}\"", n, p.name())
            };
            assert!(body.contains(&entry), "types.d.luau lacks `{}`", entry);
        }
        assert_eq!(
            body.matches(" = \"").count(),
            TYPE_NAMES.len(),
            "types.d.luau lists extra names"
        );
    }

    #[test]
    fn aliases_resolve() {
        assert_eq!(Prim::from_name("long"), Some(Prim::I64));
        assert_eq!(Prim::from_name("char*"), Some(Prim::String));
        assert_eq!(Prim::from_name("nope"), None);
    }

    #[test]
    fn flatten_expands_arrays_and_nesting() {
        let inner = Arc::new(st(&[("a", p(Prim::F32), None), ("b", p(Prim::F32), None)]));
        let outer = st(&[
            ("x", p(Prim::F32), None),
            ("v", CType::Struct(inner), Some(2)),
        ]);
        assert_eq!(outer.size, 20);
        assert_eq!(
            outer.flatten(),
            vec![
                (0, Prim::F32),
                (4, Prim::F32),
                (8, Prim::F32),
                (12, Prim::F32),
                (16, Prim::F32)
            ]
        );
    }

    #[test]
    fn rejects_bad_fields() {
        let dup = StructType::new(vec![
            FieldSpec {
                name: "a".into(),
                ty: p(Prim::I32),
                count: None,
            },
            FieldSpec {
                name: "a".into(),
                ty: p(Prim::I32),
                count: None,
            },
        ]);
        assert!(dup.unwrap_err().to_string().contains("duplicate field 'a'"));
        let zero = StructType::new(vec![FieldSpec {
            name: "a".into(),
            ty: p(Prim::I32),
            count: Some(0),
        }]);
        assert!(zero.unwrap_err().to_string().contains("zero-length"));
    }
}
