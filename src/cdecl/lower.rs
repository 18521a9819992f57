//! What declared types mean to the engine: sizes and alignments, lowering to the engine's
//! `CType` for calls and memory, record layout, and C spellings for messages.

use super::*;
use crate::types::{FieldLabel, Pointee};

impl Namespace {
    /// `sizeof(ty)`; an error for incomplete types, functions and `void`.
    pub fn sizeof(&self, ty: &Type) -> Result<usize, LowerError> {
        self.size_align(ty).map(|(s, _)| s)
    }

    /// `_Alignof(ty)`.
    pub fn alignof(&self, ty: &Type) -> Result<usize, LowerError> {
        self.size_align(ty).map(|(_, a)| a)
    }

    pub fn size_align(&self, ty: &Type) -> Result<(usize, usize), LowerError> {
        let p = &self.platform;
        Ok(match ty {
            Type::Void => return Err(LowerError::SizeofVoid),
            Type::Int(k) => (k.size(p), k.size(p)),
            Type::Float => (4, 4),
            Type::Double => (8, 8),
            Type::Unpassable(u) => u.size_align(p),
            Type::Pointer { .. } => (8, 8),
            Type::Array { of, len } => {
                let (s, a) = self.size_align(of)?;
                // gcc: "alignment of array elements is greater than element size".
                if s % a != 0 {
                    return Err(LowerError::OverAlignedElements {
                        ty: self.type_name(ty),
                        align: a,
                        size: s,
                    });
                }
                let n = len.ok_or_else(|| LowerError::SizeofUnknownLength {
                    ty: self.type_name(ty),
                })?;
                let total = s
                    .checked_mul(n)
                    .filter(|t| *t <= crate::types::MAX_OBJECT_SIZE)
                    .ok_or_else(|| LowerError::TooLarge {
                        ty: self.type_name(ty),
                    })?;
                (total, a)
            }
            Type::Record(id) => match &self.records[id.0].def {
                Some(d) => (d.layout.size, d.layout.align),
                None => {
                    return Err(LowerError::OpaqueRecord {
                        ty: self.type_name(ty),
                    })
                }
            },
            Type::Enum(id) => {
                let e = &self.enums[id.0];
                if e.constants.is_none() {
                    return Err(LowerError::UndefinedEnum {
                        ty: self.type_name(ty),
                    });
                }
                let s = e.underlying.size(p);
                (s, s)
            }
            Type::Aligned { of, align } => (self.sizeof(of)?, *align),
            Type::Unsupported { why, .. } => return Err(LowerError::Unsupported(why.clone())),
            Type::Func(_) => {
                return Err(LowerError::SizeofFunction {
                    ty: self.type_name(ty),
                })
            }
        })
    }

    /// `ty` aligned to at least `align` (an `aligned(n)` attribute outside a typedef,
    /// which cannot lower the alignment); an incomplete record keeps the attribute's.
    pub(super) fn raise_alignment(&self, ty: Type, align: usize) -> Result<Type, LowerError> {
        if align == 0 || !align.is_power_of_two() || align > 1 << 28 {
            return Err(LowerError::BadAlignment(align));
        }
        let natural = self.alignof(&ty).unwrap_or(1);
        Ok(if natural >= align {
            ty
        } else {
            Type::Aligned {
                of: Box::new(ty),
                align,
            }
        })
    }

    /// The engine's type for a value of `ty` in a call (argument or return) or a typed
    /// pointer's element: pointers become `Prim::Pointer` (`const char *` becomes
    /// `Prim::String`), enums their integer type, records their `StructType`.
    /// An error for what cannot be passed: incomplete records, arrays, functions and
    /// the [`Unpassable`] types (and records holding one).
    pub fn lower(&self, ty: &Type) -> Result<CType, LowerError> {
        let p = &self.platform;
        Ok(match ty {
            Type::Void => CType::Prim(Prim::Void),
            Type::Int(k) => CType::Prim(k.prim(p)),
            Type::Float => CType::Prim(Prim::F32),
            Type::Double => CType::Prim(Prim::F64),
            Type::Pointer { .. } if ty.is_const_char_pointer() => CType::Prim(Prim::String),
            Type::Pointer { .. } => CType::Prim(Prim::Pointer),
            Type::Enum(id) => {
                // An enum only declared (`enum e;`) has no known size, like any
                // incomplete type.
                let e = &self.enums[id.0];
                if e.constants.is_none() {
                    return Err(LowerError::UndefinedEnumByValue {
                        ty: self.type_name(ty),
                    });
                }
                CType::Prim(e.underlying.prim(p))
            }
            Type::Unpassable(u) => return Err(LowerError::Unpassable(u.name())),
            Type::Unsupported { why, .. } => return Err(LowerError::Unsupported(why.clone())),
            // An aligned scalar or pointer is passed as the scalar is; a record whose
            // alignment an attribute changed has no StructType that says so.
            Type::Aligned { of, align } => {
                let c = self.lower(of)?;
                if matches!(c, CType::Struct(_)) && c.align() != *align {
                    return Err(LowerError::AlignedByValue {
                        ty: self.type_name(ty),
                        align: *align,
                    });
                }
                c
            }
            Type::Array { .. } => {
                return Err(LowerError::ArrayByValue {
                    ty: self.type_name(ty),
                })
            }
            Type::Func(_) => {
                return Err(LowerError::FunctionByValue {
                    ty: self.type_name(ty),
                })
            }
            Type::Record(id) => match &self.records[id.0].def {
                None => {
                    return Err(LowerError::OpaqueRecordByValue {
                        ty: self.type_name(ty),
                    })
                }
                Some(d) => {
                    if let Some(why) = &d.cannot_pass {
                        return Err(LowerError::CannotPass {
                            ty: self.type_name(ty),
                            why: why.clone(),
                        });
                    }
                    CType::Struct(d.layout.clone())
                }
            },
        })
    }

    /// What a value of pointer type `ty` points to, so reading it gives a TypedPointer:
    /// None for `void *`, function pointers, `const char *` (read as a string) and
    /// pointees that cannot be an element (arrays, unpassable types). A record is kept
    /// by id and resolved when read ([`Namespace::record_layout`]); pointers to pointers
    /// are followed a few levels deep, beyond which they are plain pointers.
    pub fn pointee_of(&self, ty: &Type) -> Option<Pointee> {
        self.pointee_at(ty, 0)
    }

    fn pointee_at(&self, ty: &Type, depth: usize) -> Option<Pointee> {
        const MAX_LEVELS: usize = 8;
        let Type::Pointer { to, .. } = ty else {
            return None;
        };
        if ty.is_const_char_pointer() || depth >= MAX_LEVELS {
            return None;
        }
        match to.unaligned() {
            Type::Record(id) => Some(Pointee::Record(id.0)),
            Type::Pointer { .. } => match self.lower(to).ok()? {
                CType::Prim(prim) => Some(Pointee::Pointer {
                    prim,
                    inner: self.pointee_at(to, depth + 1).map(Box::new),
                }),
                CType::Struct(_) => None,
            },
            Type::Int(_) | Type::Enum(_) | Type::Float | Type::Double => {
                match self.lower(to).ok()? {
                    CType::Prim(p) => Some(Pointee::Prim(p)),
                    CType::Struct(_) => None,
                }
            }
            _ => None,
        }
    }

    /// The layout of record `id` as an element type, if it is complete and usable.
    pub fn record_layout(&self, id: usize) -> Option<CType> {
        let id = self.records.get(id).map(|_| RecordId(id))?;
        self.lower(&Type::Record(id)).ok()
    }

    /// The engine's element type and count for an array type (`int[4]` -> (i32, 4));
    /// nested arrays are flattened. `None` if `ty` is not an array.
    pub fn lower_array(&self, ty: &Type) -> Result<Option<(CType, Option<usize>)>, LowerError> {
        let Type::Array { .. } = ty else {
            return Ok(None);
        };
        let (elem, count) = self.layout_type(ty)?;
        Ok(Some((elem, count)))
    }

    /// Lowers a function type for the classifier: (return, fixed parameters, variadic?).
    /// Errors name the parameter (1-based) and its C type.
    pub fn lower_func(&self, f: &FuncType) -> Result<(CType, Vec<CType>, bool), LowerError> {
        let ret = self.lower(&f.ret).map_err(|e| LowerError::Return {
            ty: self.type_name(&f.ret),
            error: Box::new(e),
        })?;
        let mut params = Vec::with_capacity(f.params.len());
        for (i, prm) in f.params.iter().enumerate() {
            let c = self.lower(&prm.ty).map_err(|e| LowerError::Parameter {
                index: i + 1,
                name: prm.name.clone(),
                ty: self.type_name(&prm.ty),
                error: Box::new(e),
            })?;
            if c.is_void() {
                return Err(LowerError::VoidParameter(i + 1));
            }
            params.push(c);
        }
        Ok((ret, params, f.variadic))
    }

    /// A C spelling of `ty` for messages (`const char *`, `struct timespec *`, `int [4]`).
    pub fn type_name(&self, ty: &Type) -> String {
        let mut s = String::new();
        self.write_type(ty, "", &mut s);
        s
    }

    /// A C declaration of `name` with type `ty` (`const char *name`, `int (*cb)(void *)`,
    /// `int name[4]`); an empty `name` gives the type name.
    pub fn declaration(&self, ty: &Type, name: &str) -> String {
        let mut s = String::new();
        self.write_type(ty, name, &mut s);
        s
    }

    /// Writes `ty` around the declarator text `inner`; `quals` are `ty`'s own
    /// qualifiers ("const ", "volatile ", or empty), which go before a base type and
    /// after the `*` of a pointer (`int *const *`).
    pub(super) fn write_type(&self, ty: &Type, inner: &str, out: &mut String) {
        self.write_qualified(ty, "", inner, out)
    }

    pub(super) fn write_qualified(&self, ty: &Type, quals: &str, inner: &str, out: &mut String) {
        let sep = |s: &str| {
            if s.is_empty() {
                String::new()
            } else {
                format!(" {}", s)
            }
        };
        let base = |name: &str| format!("{}{}{}", quals, name, sep(inner));
        match ty {
            Type::Void => out.push_str(&base("void")),
            Type::Int(k) => out.push_str(&base(k.name())),
            Type::Float => out.push_str(&base("float")),
            Type::Double => out.push_str(&base("double")),
            Type::Unpassable(u) => out.push_str(&base(u.name())),
            Type::Unsupported { name, .. } => out.push_str(&base(name)),
            Type::Aligned { of, align } => {
                let attr = format!("__attribute__((aligned({})))", align);
                let inner2 = if inner.is_empty() {
                    attr
                } else {
                    format!("{} {}", attr, inner)
                };
                self.write_qualified(of, quals, &inner2, out)
            }
            Type::Record(id) => {
                let r = &self.records[id.0];
                let kw = if r.kind == RecordKind::Union {
                    "union"
                } else {
                    "struct"
                };
                let tag = r.tag.as_deref().unwrap_or("<anonymous>");
                out.push_str(&base(&format!("{} {}", kw, tag)))
            }
            Type::Enum(id) => {
                let tag = self.enums[id.0].tag.as_deref().unwrap_or("<anonymous>");
                out.push_str(&base(&format!("enum {}", tag)))
            }
            Type::Pointer {
                to,
                is_const,
                is_volatile,
            } => {
                let mut star = String::from("*");
                star.push_str(quals.trim_end());
                if !quals.is_empty() && !inner.is_empty() {
                    star.push(' ');
                }
                star.push_str(inner);
                let inner2 = if matches!(**to, Type::Array { .. } | Type::Func(_)) {
                    format!("({})", star)
                } else {
                    star
                };
                let pointee_quals = match (is_const, is_volatile) {
                    (true, true) => "const volatile ",
                    (true, false) => "const ",
                    (false, true) => "volatile ",
                    (false, false) => "",
                };
                self.write_qualified(to, pointee_quals, &inner2, out)
            }
            Type::Array { of, len } => {
                let dim = match len {
                    Some(n) => format!("{}[{}]", inner, n),
                    None => format!("{}[]", inner),
                };
                self.write_qualified(of, quals, &dim, out)
            }
            Type::Func(f) => {
                let mut params: Vec<String> =
                    f.params.iter().map(|p| self.type_name(&p.ty)).collect();
                if f.variadic {
                    params.push("...".into());
                }
                if params.is_empty() && f.prototyped {
                    params.push("void".into());
                }
                let decl = format!("{}({})", inner, params.join(", "));
                self.write_qualified(&f.ret, "", &decl, out)
            }
        }
    }

    /// Layout view of a type, for memory rather than calls (`arena:new`, `ffi.cast`,
    /// struct fields): the element type and count (`None` for a scalar; arrays are
    /// flattened). Unlike [`Namespace::lower`] it accepts records holding unpassable
    /// members, and unpassable types themselves become opaque byte blobs of their size
    /// and alignment. Errors for incomplete records, functions and `void`.
    pub fn lower_layout(&self, ty: &Type) -> Result<(CType, Option<usize>), LowerError> {
        self.layout_type(ty)
    }

    pub(super) fn layout_type(&self, ty: &Type) -> Result<(CType, Option<usize>), LowerError> {
        Ok(match ty {
            Type::Array { of, len } => {
                let (elem, inner) = self.layout_type(of)?;
                let n = len.unwrap_or(0);
                // The bytes, not only the element count, must stay within the largest
                // object: `int[2]` nested 39 times has 2^39 elements but 2^41 bytes.
                let too_large = || LowerError::TooLarge {
                    ty: self.type_name(ty),
                };
                let total = inner.unwrap_or(1).checked_mul(n).ok_or_else(too_large)?;
                match total.checked_mul(elem.size()) {
                    Some(bytes) if bytes <= crate::types::MAX_OBJECT_SIZE => {}
                    _ => return Err(too_large()),
                }
                (elem, Some(total))
            }
            Type::Unpassable(u) => {
                let (size, align) = u.size_align(&self.platform);
                let blob = StructType::with_options(
                    vec![MemberSpec::new("bytes", CType::Prim(Prim::U8), Some(size))],
                    &RecordOptions {
                        align: Some(align),
                        ..RecordOptions::default()
                    },
                )?;
                (CType::Struct(Arc::new(blob)), None)
            }
            Type::Record(id) => match &self.records[id.0].def {
                Some(d) => (CType::Struct(d.layout.clone()), None),
                None => {
                    return Err(LowerError::OpaqueLayout {
                        ty: self.type_name(ty),
                    })
                }
            },
            // The element's own alignment is the record member's business
            // (`MemberSpec::type_align`); memory holds `of`.
            Type::Aligned { of, .. } => self.layout_type(of)?,
            Type::Void => return Err(LowerError::VoidLayout),
            _ => (self.lower(ty)?, None),
        })
    }

    /// Lays out a struct/union definition (called by the parser at the closing brace).
    pub(super) fn layout_record(
        &self,
        kind: RecordKind,
        members: &[Member],
        opts: RecordOptions,
    ) -> Result<(Arc<StructType>, Option<String>), LowerError> {
        let mut specs = Vec::with_capacity(members.len());
        let mut cannot_pass = None;
        let last = members.len().saturating_sub(1);
        for (i, m) in members.iter().enumerate() {
            let name = m.name.clone().unwrap_or_default();
            let label = match &m.name {
                Some(n) => FieldLabel::Named(n.clone()),
                None => FieldLabel::Index(i + 1),
            };
            let mut ty = &m.ty;
            // `T x[]` (and GNU `T x[0]`) at the end: a flexible array member.
            let flexible = match ty {
                Type::Array { of, len: None } => {
                    ty = of;
                    true
                }
                Type::Array { of, len: Some(0) } if i == last && kind == RecordKind::Struct => {
                    ty = of;
                    true
                }
                _ => false,
            };
            let mut elem = ty;
            while let Type::Array { of, .. } = elem {
                elem = of;
            }
            if let (Type::Unpassable(u), None) = (elem, &cannot_pass) {
                cannot_pass = Some(format!("{} has type {}", label, u.name()));
            }
            if let Type::Record(id) = elem {
                if let Some(Some(why)) = self.records[id.0]
                    .def
                    .as_ref()
                    .map(|d| d.cannot_pass.clone())
                {
                    cannot_pass.get_or_insert(why);
                }
            }
            let in_field = |e| LowerError::Field {
                field: label.clone(),
                error: Box::new(e),
            };
            let (cty, count) = self.layout_type(ty).map_err(in_field)?;
            if m.bits.is_some() && !ty.is_integer() {
                return Err(LowerError::BitfieldType {
                    field: label,
                    ty: self.type_name(ty),
                });
            }
            // The alignment of the member's type when an attribute set it (a typedef, `*
            // __attribute__((aligned(4)))`), which may be below the natural one.
            let (_, talign) = self.size_align(ty).map_err(in_field)?;
            let natural = cty.align();
            specs.push(MemberSpec {
                type_align: (talign != natural).then_some(talign),
                name,
                ty: cty,
                count: if flexible { None } else { count },
                bits: m.bits,
                align: m.align,
                packed: m.packed,
                flexible,
                pointee: self.pointee_of(elem),
            });
        }
        let what = if kind == RecordKind::Union {
            "union"
        } else {
            "struct"
        };
        if specs.is_empty() {
            // gcc's extension: an empty struct or union has size 0 (aligned as asked).
            // Declared and usable through pointers; its by-value passing differs between
            // compilers, so calls refuse it as they refuse `long double`.
            let st = StructType::empty(kind, opts.align.unwrap_or(1));
            let why = format!("it is an empty {} (a gcc extension)", what);
            return Ok((Arc::new(st), cannot_pass.or(Some(why))));
        }
        let st = StructType::with_options(specs, &RecordOptions { kind, ..opts })?;
        Ok((Arc::new(st), cannot_pass))
    }
}
