//! Record layout beyond plain structs: unions, `packed`, `#pragma pack(n)`,
//! `aligned(n)` on the record and on fields, bitfields and flexible array members.
//!
//! Two rule sets, as GCC implements them (`gcc/stor-layout.cc`, `place_field` and
//! `update_alignment_for_field`):
//! - [`LayoutRules::SysV`] and [`LayoutRules::Aapcs64`] (GCC, `PCC_BITFIELD_TYPE_MATTERS`):
//!   a bitfield goes at the next free bit unless it would then span more units of its
//!   type's alignment than the type itself has, in which case it moves to the next such
//!   unit. Named bitfields give the record their type's alignment; unnamed ones do too on
//!   AArch64 only (`TARGET_ALIGN_ANON_BITFIELD`, AAPCS64 §10.1.8: probe
//!   `struct { char a:4; int :0; char b; }` is 8 bytes, 4-aligned there and 5 bytes,
//!   1-aligned on x86-64). A zero-width bitfield aligns the next field to its type
//!   (ignoring `pack` and `packed`). Under `#pragma pack` or `packed` bitfields are not
//!   moved at all.
//! - [`LayoutRules::Msvc`] (what MinGW-w64 GCC uses by default, `-mms-bitfields`):
//!   adjacent bitfields share a storage unit of their declared type only when the types
//!   have the same size and the bits still fit; otherwise the unit is closed and a new
//!   one starts at the type's alignment. A non-bitfield after a bitfield closes the unit.
//!   A zero-width bitfield counts only right after a non-empty bitfield: it closes the
//!   unit, aligns to its type (when the sizes differ) and gives the record its alignment.

use super::{
    round_up, AlignmentOf, CType, Field, FieldLabel, LayoutError, Prim, StructType, MAX_OBJECT_SIZE,
};

mod bitfield;
mod ms;

pub use bitfield::BitField;
use ms::{ms_place, MsState};

/// Struct or union.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum RecordKind {
    #[default]
    Struct,
    Union,
}

/// Which compiler's record layout rules to follow (they differ only for bitfields).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LayoutRules {
    /// GCC/Clang on SysV x86-64.
    SysV,
    /// GCC/Clang on AArch64 (AAPCS64): unnamed bitfields align the record too.
    Aapcs64,
    /// Microsoft's rules, which MinGW-w64 GCC follows by default on Win64.
    Msvc,
}

impl LayoutRules {
    /// The rules of the C compiler of the machine this crate was built for.
    pub fn host() -> LayoutRules {
        if cfg!(windows) {
            LayoutRules::Msvc
        } else if cfg!(target_arch = "aarch64")
            && (cfg!(target_vendor = "apple") || cfg!(lune_ffi_force_apple_arm64))
        {
            // clang's Darwin arm64 layout: zero-width bitfields leave the alignment alone.
            LayoutRules::SysV
        } else if cfg!(target_arch = "aarch64") {
            LayoutRules::Aapcs64
        } else {
            LayoutRules::SysV
        }
    }
}

impl Default for LayoutRules {
    fn default() -> Self {
        LayoutRules::host()
    }
}

/// Options of a record: what C says with `union`, `__attribute__((packed))`,
/// `#pragma pack(n)` and `__attribute__((aligned(n)))` on the record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct RecordOptions {
    pub kind: RecordKind,
    /// `__attribute__((packed))` on the record: every field aligned to 1 byte.
    pub packed: bool,
    /// `#pragma pack(n)`: no field aligned to more than `n` (1, 2, 4, 8 or 16).
    pub pack: Option<usize>,
    /// `__attribute__((aligned(n)))` on the record: at least `n`-byte aligned.
    pub align: Option<usize>,
    pub rules: LayoutRules,
}

/// A member as given to [`StructType::with_options`], before layout.
#[derive(Clone, Debug, PartialEq)]
pub struct MemberSpec {
    /// Empty for an unnamed bitfield or an anonymous struct/union member.
    pub name: String,
    pub ty: CType,
    /// `Some(n)` for an array of `n` (n >= 1).
    pub count: Option<usize>,
    /// `Some(width)` for a bitfield (`type name : width`); the type must be an integer.
    pub bits: Option<u32>,
    /// `__attribute__((aligned(n)))` on the member.
    pub align: Option<usize>,
    /// The alignment of the member's type when it is not `ty`'s natural one: a typedef
    /// with `aligned(n)` (which may lower it) or `T * __attribute__((aligned(n)))`.
    pub type_align: Option<usize>,
    /// `__attribute__((packed))` on the member.
    pub packed: bool,
    /// A flexible array member `T name[]` (the last member of a struct).
    pub flexible: bool,
    /// What a pointer member points to (see [`super::Pointee`]).
    pub pointee: Option<super::Pointee>,
}

impl MemberSpec {
    /// A plain member (`count` as in [`super::FieldSpec`]).
    pub fn new(name: impl Into<String>, ty: CType, count: Option<usize>) -> MemberSpec {
        MemberSpec {
            name: name.into(),
            ty,
            count,
            bits: None,
            align: None,
            type_align: None,
            packed: false,
            flexible: false,
            pointee: None,
        }
    }

    /// A bitfield `ty name : width` (`name` empty for an unnamed one).
    pub fn bitfield(name: impl Into<String>, ty: CType, width: u32) -> MemberSpec {
        MemberSpec {
            bits: Some(width),
            ..MemberSpec::new(name, ty, None)
        }
    }

    /// A flexible array member `ty name[]`.
    pub fn flexible(name: impl Into<String>, ty: CType) -> MemberSpec {
        MemberSpec {
            flexible: true,
            ..MemberSpec::new(name, ty, None)
        }
    }
}

fn check_power_of_two(of: AlignmentOf, n: usize, max: usize) -> Result<(), LayoutError> {
    if n == 0 || !n.is_power_of_two() || n > max {
        return Err(LayoutError::NotPowerOfTwo { of, max, got: n });
    }
    Ok(())
}

/// Integer types a bitfield may have: (size in bytes, signed).
fn bitfield_type(ty: &CType) -> Option<(usize, bool)> {
    match ty {
        CType::Prim(p) => match p {
            Prim::Bool | Prim::I8 | Prim::U8 | Prim::I16 | Prim::U16 | Prim::I32 | Prim::U32 => {
                Some((p.size(), p.is_signed()))
            }
            Prim::I64 | Prim::U64 | Prim::Usize | Prim::Isize => Some((8, p.is_signed())),
            _ => None,
        },
        CType::Struct(_) => None,
    }
}

impl StructType {
    /// A union of `specs` (every member at offset 0, C layout rules otherwise).
    pub fn union(specs: Vec<super::FieldSpec>) -> Result<StructType, LayoutError> {
        let members = specs
            .into_iter()
            .map(|s| MemberSpec::new(s.name, s.ty, s.count))
            .collect();
        StructType::with_options(
            members,
            &RecordOptions {
                kind: RecordKind::Union,
                ..RecordOptions::default()
            },
        )
    }

    /// Lays out a struct or union with the options and member attributes C allows.
    /// Errors are phrased for `ffi.struct`/`ffi.union`/`ffi.cdef` callers.
    pub fn with_options(
        specs: Vec<MemberSpec>,
        opts: &RecordOptions,
    ) -> Result<StructType, LayoutError> {
        if specs.is_empty() {
            return Err(LayoutError::NoFields(opts.kind));
        }
        if let Some(p) = opts.pack {
            check_power_of_two(AlignmentOf::Pack, p, 16)?;
        }
        if let Some(a) = opts.align {
            check_power_of_two(AlignmentOf::Record, a, 1 << 28)?;
        }
        let union = opts.kind == RecordKind::Union;
        let ms = opts.rules == LayoutRules::Msvc;
        // Whether unnamed bitfields count for the record's alignment.
        let anon_align = opts.rules == LayoutRules::Aapcs64;
        let last = specs.len() - 1;
        let mut fields: Vec<Field> = Vec::with_capacity(specs.len());
        // A set: a record may have 100,000 fields, and checking each against a list of
        // the ones before was quadratic (over 10 s).
        let mut names: std::collections::HashSet<String> = std::collections::HashSet::new();
        // Position in bits (structs) and the union's size in bits.
        let mut bitpos = 0usize;
        let mut union_bits = 0usize;
        let mut align = 1usize;
        let mut ms_state = MsState::default();
        let mut unnamed_bits = Vec::new();

        for (index, spec) in specs.into_iter().enumerate() {
            // Made only for an error: a record may have 100,000 fields.
            let label = || {
                if spec.name.is_empty() {
                    FieldLabel::Index(index + 1)
                } else {
                    FieldLabel::Named(spec.name.clone())
                }
            };
            if spec.ty.is_void() {
                return Err(LayoutError::VoidField(label()));
            }
            if let Some(a) = spec.align {
                check_power_of_two(AlignmentOf::Member(label()), a, 1 << 28)?;
            }
            if let Some(a) = spec.type_align {
                check_power_of_two(AlignmentOf::MemberType(label()), a, 1 << 28)?;
            }
            // The member type's alignment (an attribute on a typedef may lower it).
            let ty_align = spec.type_align.unwrap_or_else(|| spec.ty.align());
            // `aligned(m)` on the member, capped by `#pragma pack` (which caps it on
            // bitfields too: `#pragma pack(1) struct { short f : 15
            // __attribute__((aligned(16))); }` is 2 bytes, 1-aligned).
            let member_align = spec.align.map(|m| opts.pack.map_or(m, |p| m.min(p)));
            // Names: a named member, or the members of an anonymous struct/union.
            let mut new_names = Vec::new();
            if spec.name.is_empty() {
                match (&spec.ty, spec.bits) {
                    (_, Some(_)) => {}
                    (CType::Struct(s), None) if spec.count.is_none() && !spec.flexible => {
                        s.collect_names(&mut new_names)
                    }
                    _ => return Err(LayoutError::Unnamed(label())),
                }
            } else {
                new_names.push(spec.name.clone());
            }
            for n in new_names {
                if names.contains(&n) {
                    return Err(LayoutError::DuplicateField(n));
                }
                names.insert(n);
            }
            let field_packed = opts.packed || spec.packed;

            if let Some(width) = spec.bits {
                if spec.count.is_some() || spec.flexible {
                    return Err(LayoutError::BitfieldArray(label()));
                }
                let (tsize, signed) =
                    bitfield_type(&spec.ty).ok_or_else(|| LayoutError::BitfieldType {
                        field: label(),
                        ty: spec.ty.clone(),
                    })?;
                let tbits = tsize * 8;
                let max = if spec.ty == CType::Prim(Prim::Bool) {
                    1
                } else {
                    tbits
                };
                if width as usize > max {
                    return Err(LayoutError::BitfieldTooWide {
                        field: label(),
                        width,
                        ty: spec.ty.clone(),
                        max,
                    });
                }
                if width == 0 && !spec.name.is_empty() {
                    return Err(LayoutError::NamedZeroWidth(label()));
                }
                let talign = ty_align;
                let width = width as usize;
                let start;
                if union {
                    // Every member starts at bit 0. MSVC gives a bitfield its whole unit.
                    start = 0;
                    if width > 0 && ms {
                        // Packed or under `pack`, MinGW gives the member its bits
                        // (`union { int f : 30; } __attribute__((packed))` is 4/1,
                        // `#pragma pack(1) union { uint64_t f : 12; }` 2/1), else its unit;
                        // `packed` wins over `pack` and over `aligned` on the member.
                        let loose = field_packed || opts.pack.is_some();
                        union_bits = union_bits.max(if loose { width } else { tbits });
                        let mut a = if field_packed {
                            1
                        } else {
                            talign.max(member_align.unwrap_or(1))
                        };
                        if let Some(p) = opts.pack {
                            a = a.min(p);
                        }
                        align = align.max(a);
                    } else if width > 0 {
                        union_bits = union_bits.max(width);
                        if anon_align || !spec.name.is_empty() {
                            // gcc: `#pragma pack(n)` wins over `packed` for a bitfield
                            // (`#pragma pack(2) union { int f : 1; }
                            // __attribute__((packed))` is 2/2).
                            let a = match opts.pack {
                                Some(p) => talign.min(p),
                                None if field_packed => 1,
                                None => talign,
                            };
                            align = align.max(a.max(member_align.unwrap_or(1)));
                        }
                    } else if anon_align && !ms {
                        // AArch64: a zero-width bitfield gives a union its type's alignment
                        // (`union { int f5; uint64_t : 0; }` is 8/8 there, 4/4 elsewhere),
                        // or its own `aligned(m)`, `pack` or not.
                        align = align.max(talign.max(spec.align.unwrap_or(1)));
                    }
                } else if ms {
                    // DECL_ALIGN: the member's `aligned(m)`; a bitfield as wide as an
                    // integer mode, starting where that mode is aligned, gets the mode's
                    // alignment (gcc's layout_decl), unless packed and wider than a byte.
                    let known = if bitpos == 0 {
                        usize::MAX
                    } else {
                        1 << bitpos.trailing_zeros()
                    };
                    let mut desired = spec.align.map_or(1, |m| m * 8);
                    if matches!(width, 8 | 16 | 32 | 64)
                        && !(width > 8 && field_packed)
                        && known >= width
                    {
                        desired = desired.max(width);
                    }
                    if let Some(p) = opts.pack {
                        desired = desired.min(p * 8);
                    }
                    // The record's alignment: a zero-width bitfield counts only after a
                    // non-empty one, a packed bitfield not at all.
                    let counts = if width == 0 {
                        matches!(ms_state.prev, Some((_, w)) if w != 0)
                    } else {
                        !field_packed
                    };
                    if counts {
                        let mut a = talign.max(desired / 8);
                        if let Some(p) = opts.pack {
                            a = a.min(p);
                        }
                        align = align.max(a);
                    }
                    let mut unit_align = if field_packed { 1 } else { talign };
                    if let Some(p) = opts.pack {
                        unit_align = unit_align.min(p);
                    }
                    start = ms_place(
                        &mut ms_state,
                        &mut bitpos,
                        true,
                        width,
                        tbits,
                        desired,
                        unit_align * 8,
                    );
                    if width == 0 {
                        continue;
                    }
                } else {
                    if width == 0 {
                        // Aligns the next member to its type, or to its own `aligned(m)`,
                        // whatever #pragma pack or packed say (gcc: `#pragma pack(2)
                        // struct { char f0 : 1; _Bool : 0 __attribute__((aligned(16))); }`
                        // is 16 bytes); being unnamed, it aligns the record only on AArch64.
                        let za = talign.max(spec.align.unwrap_or(1));
                        bitpos = round_up(bitpos, za * 8);
                        if anon_align {
                            align = align.max(za);
                        }
                        continue;
                    }
                    if let Some(a) = member_align {
                        // Placed there; an unnamed one does not align the record on
                        // x86-64 (`struct { int : 1 __attribute__((aligned(16))); }` is
                        // 1/1 there, 16/16 on AArch64).
                        bitpos = round_up(bitpos, a * 8);
                        if anon_align || !spec.name.is_empty() {
                            align = align.max(a);
                        }
                    }
                    if !field_packed && opts.pack.is_none() {
                        // May not span more units of its type's alignment than the type.
                        let ab = talign * 8;
                        let o = bitpos % ab;
                        if (o + width).div_ceil(ab) > tbits / ab {
                            bitpos = round_up(bitpos, ab);
                        }
                    }
                    if anon_align || !spec.name.is_empty() {
                        let mut a = talign;
                        if let Some(p) = opts.pack {
                            a = a.min(p);
                        } else if field_packed {
                            a = 1;
                        }
                        align = align.max(a);
                    }
                    start = bitpos;
                }
                if !union && !ms {
                    bitpos = start + width;
                }
                if width > 0 && spec.name.is_empty() {
                    unnamed_bits.push((start, width));
                } else if width > 0 {
                    fields.push(Field {
                        name: spec.name,
                        ty: spec.ty,
                        count: None,
                        offset: start / 8,
                        bits: Some(BitField {
                            bit_offset: (start % 8) as u32,
                            width: width as u32,
                            signed,
                            unit_size: tsize,
                        }),
                        flexible: false,
                        align: tsize.max(1),
                        pointee: None,
                    });
                }
                continue;
            }

            if spec.flexible {
                if union {
                    return Err(LayoutError::FlexibleInUnion(label()));
                }
                if index != last {
                    return Err(LayoutError::FlexibleNotLast(label()));
                }
                if index == 0 {
                    return Err(LayoutError::FlexibleOnly(label()));
                }
                if spec.count.is_some() {
                    return Err(LayoutError::FlexibleWithCount(label()));
                }
            } else if spec.count == Some(0) {
                return Err(LayoutError::ZeroLengthArray(label()));
            }
            // An empty record (gcc's extension) is the one type of size 0 a field may have.
            if spec.ty.size() == 0 && !matches!(spec.ty, CType::Struct(_)) {
                return Err(LayoutError::ZeroSizedType(label()));
            }
            let n = if spec.flexible {
                0
            } else {
                spec.count.unwrap_or(1)
            };
            let bytes = spec
                .ty
                .size()
                .checked_mul(n)
                .filter(|b| *b <= MAX_OBJECT_SIZE)
                .ok_or_else(|| LayoutError::FieldTooLarge(label()))?;
            // gcc: packing wins over the type's alignment, not over an `aligned` on the
            // member itself; `#pragma pack` caps both.
            let mut fa = match (field_packed, spec.align) {
                (true, Some(a)) => a,
                (true, None) => 1,
                (false, Some(a)) => a.max(ty_align),
                (false, None) => ty_align,
            };
            if let Some(p) = opts.pack {
                fa = fa.min(p);
            }
            align = align.max(fa);
            let offset = if union {
                union_bits = union_bits.max(bytes * 8);
                0
            } else if ms {
                let mut unit_align = if field_packed { 1 } else { ty_align };
                if let Some(p) = opts.pack {
                    unit_align = unit_align.min(p);
                }
                let at = ms_place(
                    &mut ms_state,
                    &mut bitpos,
                    false,
                    bytes * 8,
                    bytes * 8,
                    fa * 8,
                    unit_align * 8,
                );
                at / 8
            } else {
                let off = round_up(bitpos.div_ceil(8), fa);
                bitpos = (off + bytes) * 8;
                off
            };
            if bitpos / 8 > MAX_OBJECT_SIZE {
                return Err(LayoutError::RecordTooLarge(opts.kind));
            }
            fields.push(Field {
                name: spec.name,
                ty: spec.ty,
                count: if spec.flexible { Some(0) } else { spec.count },
                offset,
                bits: None,
                flexible: spec.flexible,
                align: fa,
                pointee: spec.pointee,
            });
        }
        // gcc: a struct ending in a bitfield run uses up the run's unit.
        if matches!(ms_state.prev, Some((_, w)) if w != 0) && !union {
            bitpos += ms_state.remaining;
        }
        if let Some(a) = opts.align {
            align = align.max(a);
        }
        let bits = if union { union_bits } else { bitpos };
        let size = round_up(bits.div_ceil(8), align);
        if size > MAX_OBJECT_SIZE {
            return Err(LayoutError::RecordTooLarge(opts.kind));
        }
        Ok(StructType {
            depth: super::nesting_depth(&fields)?,
            fields,
            size,
            align,
            kind: opts.kind,
            name: super::TypeName::default(),
            unnamed_bits,
        })
    }

    /// Every member name a script can use, anonymous members' own members included.
    pub fn member_names(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect_names(&mut out);
        out
    }

    fn collect_names(&self, out: &mut Vec<String>) {
        for f in &self.fields {
            match (&f.ty, f.name.is_empty()) {
                (CType::Struct(s), true) => s.collect_names(out),
                _ => out.push(f.name.clone()),
            }
        }
    }

    /// Finds a member by name, looking inside anonymous struct/union members (C11), with
    /// its offset from the start of this record.
    pub fn lookup(&self, name: &str) -> Option<Field> {
        for f in &self.fields {
            if f.name == name {
                return Some(f.clone());
            }
            if f.name.is_empty() {
                if let CType::Struct(s) = &f.ty {
                    if let Some(mut inner) = s.lookup(name) {
                        inner.offset += f.offset;
                        return Some(inner);
                    }
                }
            }
        }
        None
    }

    /// Whether any field (at any depth) is not at a multiple of its type's alignment,
    /// as `packed` or `pack(n)` can make it.
    pub fn has_unaligned_fields(&self) -> bool {
        self.fields.iter().any(|f| {
            f.bits.is_none()
                && (f.offset % f.ty.align() != 0
                    || matches!(&f.ty, CType::Struct(s) if s.has_unaligned_fields()))
        })
    }

    /// Whether any field (at any depth) is a bitfield.
    pub fn has_bitfields(&self) -> bool {
        self.fields
            .iter()
            .any(|f| f.bits.is_some() || matches!(&f.ty, CType::Struct(s) if s.has_bitfields()))
    }
}

#[cfg(test)]
mod tests;
