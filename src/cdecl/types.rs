//! The C type model of declarations: what a header can say, including types this FFI can
//! lay out but not pass (long double, `__int128`, `_Complex`, `va_list`).

use crate::types::{LayoutRules, Prim, RecordKind};

/// The target a namespace describes: the sizes C leaves to the platform.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Platform {
    /// `sizeof(long)`: 4 on Windows, 8 on LP64 Unix.
    pub long_size: usize,
    /// Whether plain `char` is signed (not on AArch64 Linux).
    pub char_signed: bool,
    /// Bitfield layout rules.
    pub rules: LayoutRules,
    /// Size and alignment of `long double`.
    pub long_double: (usize, usize),
    /// Size and alignment of `__builtin_va_list`.
    pub va_list: (usize, usize),
    /// Whether `wchar_t` is 16-bit unsigned (Windows) rather than 32-bit signed.
    pub wchar16: bool,
}

impl Platform {
    /// x86-64 System V (Linux, the BSDs).
    pub const SYSV_X64: Platform = Platform {
        long_size: 8,
        char_signed: true,
        rules: LayoutRules::SysV,
        long_double: (16, 16),
        va_list: (24, 8),
        wchar16: false,
    };
    /// AArch64 Linux (AAPCS64): unsigned `char`, 32-byte `va_list`.
    pub const AAPCS64: Platform = Platform {
        long_size: 8,
        char_signed: false,
        rules: LayoutRules::Aapcs64,
        long_double: (16, 16),
        va_list: (32, 8),
        wchar16: false,
    };
    /// x86-64 Windows as MinGW-w64 GCC sees it (LLP64, MSVC bitfields, `va_list` a
    /// `char *`; MinGW's `long double` is the x87 one, 16 bytes).
    pub const WIN64: Platform = Platform {
        long_size: 4,
        char_signed: true,
        rules: LayoutRules::Msvc,
        long_double: (16, 16),
        va_list: (8, 8),
        wchar16: true,
    };

    /// Apple arm64 (macOS): signed `char`, `long double` is `double`, `va_list` a
    /// `char *`, and clang's Darwin bitfield layout, where a zero-width bitfield does not
    /// raise the record's alignment (as on x86-64; the probe
    /// `struct { char a:4; int :0; char b; }` is 5 bytes there, 8 on AArch64 Linux).
    pub const APPLE_ARM64: Platform = Platform {
        long_size: 8,
        char_signed: true,
        rules: LayoutRules::SysV,
        long_double: (8, 8),
        va_list: (8, 8),
        wchar16: false,
    };

    /// The platform this crate was compiled for.
    pub fn host() -> Platform {
        if cfg!(windows) {
            Platform::WIN64
        } else if cfg!(target_arch = "aarch64")
            && (cfg!(target_vendor = "apple") || cfg!(lune_ffi_force_apple_arm64))
        {
            // The forced lane runs Apple's convention on Linux: its C library is compiled
            // for Apple (see testkit/build_clib.rs), so the layout rules are Apple's too.
            Platform::APPLE_ARM64
        } else if cfg!(target_arch = "aarch64") {
            Platform::AAPCS64
        } else {
            Platform::SYSV_X64
        }
    }
}

/// C integer types (plain `char` is distinct from `signed char` and `unsigned char`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IntKind {
    Bool,
    Char,
    SChar,
    UChar,
    Short,
    UShort,
    Int,
    UInt,
    Long,
    ULong,
    LongLong,
    ULongLong,
}

impl IntKind {
    pub fn size(self, p: &Platform) -> usize {
        match self {
            IntKind::Bool | IntKind::Char | IntKind::SChar | IntKind::UChar => 1,
            IntKind::Short | IntKind::UShort => 2,
            IntKind::Int | IntKind::UInt => 4,
            IntKind::Long | IntKind::ULong => p.long_size,
            IntKind::LongLong | IntKind::ULongLong => 8,
        }
    }

    pub fn is_signed(self, p: &Platform) -> bool {
        match self {
            IntKind::Char => p.char_signed,
            IntKind::SChar | IntKind::Short | IntKind::Int | IntKind::Long | IntKind::LongLong => {
                true
            }
            _ => false,
        }
    }

    /// The engine's primitive of the same size and signedness.
    pub fn prim(self, p: &Platform) -> Prim {
        if self == IntKind::Bool {
            return Prim::Bool;
        }
        match (self.size(p), self.is_signed(p)) {
            (1, true) => Prim::I8,
            (1, false) => Prim::U8,
            (2, true) => Prim::I16,
            (2, false) => Prim::U16,
            (4, true) => Prim::I32,
            (4, false) => Prim::U32,
            (_, true) => Prim::I64,
            (_, false) => Prim::U64,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            IntKind::Bool => "_Bool",
            IntKind::Char => "char",
            IntKind::SChar => "signed char",
            IntKind::UChar => "unsigned char",
            IntKind::Short => "short",
            IntKind::UShort => "unsigned short",
            IntKind::Int => "int",
            IntKind::UInt => "unsigned int",
            IntKind::Long => "long",
            IntKind::ULong => "unsigned long",
            IntKind::LongLong => "long long",
            IntKind::ULongLong => "unsigned long long",
        }
    }
}

/// Types a declaration may use but a call cannot pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Unpassable {
    LongDouble,
    Float128,
    Int128,
    UInt128,
    ComplexFloat,
    ComplexDouble,
    ComplexLongDouble,
    VaList,
    /// `_Float16` (IEEE binary16).
    Float16,
    /// `_Complex _Float16`.
    ComplexFloat16,
    /// `_Complex _Float128`.
    ComplexFloat128,
    /// A GCC vector type (`__attribute__((vector_size(n)))`, `mode(V4SI)`) of that many
    /// bytes.
    Vector(u32),
}

impl Unpassable {
    pub fn name(self) -> &'static str {
        match self {
            Unpassable::LongDouble => "long double",
            Unpassable::Float128 => "_Float128",
            Unpassable::Int128 => "__int128",
            Unpassable::UInt128 => "unsigned __int128",
            Unpassable::ComplexFloat => "_Complex float",
            Unpassable::ComplexDouble => "_Complex double",
            Unpassable::ComplexLongDouble => "_Complex long double",
            Unpassable::VaList => "__builtin_va_list",
            Unpassable::Float16 => "_Float16",
            Unpassable::ComplexFloat16 => "_Complex _Float16",
            Unpassable::ComplexFloat128 => "_Complex _Float128",
            Unpassable::Vector(_) => "a vector type",
        }
    }

    pub fn size_align(self, p: &Platform) -> (usize, usize) {
        match self {
            Unpassable::LongDouble => p.long_double,
            Unpassable::Float128 | Unpassable::Int128 | Unpassable::UInt128 => (16, 16),
            Unpassable::ComplexFloat => (8, 4),
            Unpassable::ComplexDouble => (16, 8),
            Unpassable::ComplexLongDouble => (p.long_double.0 * 2, p.long_double.1),
            Unpassable::VaList => p.va_list,
            Unpassable::Float16 => (2, 2),
            Unpassable::ComplexFloat16 => (4, 2),
            Unpassable::ComplexFloat128 => (32, 16),
            // gcc aligns a vector to its size, up to the target's biggest alignment (16
            // on x86-64 without AVX and on AArch64: `vector_size(32)` is 32/16).
            Unpassable::Vector(n) => (n as usize, (n as usize).min(16)),
        }
    }
}

/// Index of a struct/union in its [`super::Namespace`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RecordId(pub usize);
/// Index of an enum in its [`super::Namespace`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EnumId(pub usize);

/// A C type. Top-level qualifiers are dropped (they change neither layout nor calls);
/// a pointer keeps its pointee's `const`/`volatile`.
#[derive(Clone, Debug, PartialEq)]
pub enum Type {
    Void,
    Int(IntKind),
    Float,
    Double,
    Unpassable(Unpassable),
    Pointer {
        to: Box<Type>,
        is_const: bool,
        is_volatile: bool,
    },
    /// `len: None` for `T x[]` (incomplete; a flexible array member at the end of a struct).
    Array {
        of: Box<Type>,
        len: Option<usize>,
    },
    Record(RecordId),
    Enum(EnumId),
    Func(Box<FuncType>),
    /// `of` with the alignment `align` that an `aligned(n)` attribute gives the type
    /// itself: on a typedef (which may lower it too: `typedef int T
    /// __attribute__((aligned(2)))`), after a `*` (`void * __attribute__((aligned(4)))
    /// p` is a 4-aligned pointer), in a type name or after `struct tag`. The size is
    /// `of`'s; values are passed and read as `of`'s.
    Aligned {
        of: Box<Type>,
        align: usize,
    },
    /// A declared type this FFI cannot represent: declaring it is fine, using it is the
    /// error `why`.
    Unsupported {
        name: String,
        why: String,
    },
}

impl Type {
    pub fn pointer_to(to: Type, is_const: bool) -> Type {
        Type::Pointer {
            to: Box::new(to),
            is_const,
            is_volatile: false,
        }
    }

    /// The pointee of a pointer type.
    pub fn pointee(&self) -> Option<&Type> {
        match self {
            Type::Pointer { to, .. } => Some(to),
            _ => None,
        }
    }

    /// The function type of a function pointer (`int (*)(void *, int)`): a parameter
    /// declared so may take a Luau function as a callback for the call.
    pub fn func_pointee(&self) -> Option<&FuncType> {
        match self.pointee() {
            Some(Type::Func(f)) => Some(f),
            _ => None,
        }
    }

    /// `const char *` (the engine's `string`).
    /// `const char *` or `const unsigned char *` (the engine's `string`): issue 21's rule for
    /// text reads both as Luau strings (sqlite3_column_text, libxml2's `const xmlChar *`).
    pub fn is_const_char_pointer(&self) -> bool {
        matches!(self, Type::Pointer { to, is_const: true, .. }
            if matches!(**to, Type::Int(IntKind::Char | IntKind::UChar)))
    }

    pub fn is_void(&self) -> bool {
        *self == Type::Void
    }

    pub fn is_integer(&self) -> bool {
        matches!(self.unaligned(), Type::Int(_) | Type::Enum(_))
    }

    /// The type without the alignment an `aligned` attribute gave it.
    pub fn unaligned(&self) -> &Type {
        let mut t = self;
        while let Type::Aligned { of, .. } = t {
            t = of;
        }
        t
    }

    /// The longest chain of pointers, arrays, functions and parameters down to a base type
    /// (1 for a base type): how deep every recursive walk of the type (printing, sizes,
    /// comparison, `Clone` and `Drop`) goes. Iterative, so it is safe on any type.
    pub fn depth(&self) -> usize {
        if !matches!(
            self,
            Type::Pointer { .. } | Type::Array { .. } | Type::Func(_) | Type::Aligned { .. }
        ) {
            return 1;
        }
        let mut deepest = 0;
        let mut stack = vec![(self, 1usize)];
        while let Some((t, d)) = stack.pop() {
            deepest = deepest.max(d);
            match t {
                Type::Pointer { to, .. } => stack.push((to, d + 1)),
                Type::Array { of, .. } => stack.push((of, d + 1)),
                Type::Aligned { of, .. } => stack.push((of, d + 1)),
                Type::Func(f) => {
                    stack.push((&f.ret, d + 1));
                    stack.extend(f.params.iter().map(|p| (&p.ty, d + 1)));
                }
                _ => {}
            }
        }
        deepest
    }
}

/// A function type.
#[derive(Clone, Debug, PartialEq)]
pub struct FuncType {
    pub ret: Type,
    pub params: Vec<Param>,
    pub variadic: bool,
    /// `false` for a declaration without a parameter list, `int f()`.
    pub prototyped: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: Option<String>,
    pub ty: Type,
}

/// A declared function.
#[derive(Clone, Debug, PartialEq)]
pub struct FuncDecl {
    pub name: String,
    /// The symbol to look up: the name, or what `__asm__("...")` renames it to.
    pub symbol: String,
    pub ty: FuncType,
    /// `__attribute__((format(printf, m, n)))` on a variadic function: the parameter
    /// (0-based) holding the format string, which types the variadic arguments.
    pub printf_format: Option<usize>,
}

/// A declared `extern` variable.
#[derive(Clone, Debug, PartialEq)]
pub struct VarDecl {
    pub name: String,
    pub symbol: String,
    pub ty: Type,
}

/// One member of a struct or union definition.
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    /// `None` for an unnamed bitfield or an anonymous struct/union member.
    pub name: Option<String>,
    pub ty: Type,
    pub bits: Option<u32>,
    /// `__attribute__((aligned(n)))` or `_Alignas(n)` on the member.
    pub align: Option<usize>,
    /// `__attribute__((packed))` on the member.
    pub packed: bool,
}

/// A struct or union: `def` is `None` while it is incomplete (opaque).
#[derive(Clone, Debug, PartialEq)]
pub struct RecordDecl {
    pub tag: Option<String>,
    pub kind: RecordKind,
    pub def: Option<RecordDef>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RecordDef {
    pub members: Vec<Member>,
    pub packed: bool,
    pub pack: Option<usize>,
    pub align: Option<usize>,
    pub rules: LayoutRules,
    /// The layout, computed when the definition is complete.
    pub layout: std::sync::Arc<crate::types::StructType>,
    /// Why a value of this record cannot be passed (a member of an unpassable type).
    pub cannot_pass: Option<String>,
}

/// An enum: its constants and the integer type gcc gives it.
#[derive(Clone, Debug, PartialEq)]
pub struct EnumDecl {
    pub tag: Option<String>,
    /// `None` while only forward-declared (`enum E;`).
    pub constants: Option<Vec<(String, i128)>>,
    pub underlying: IntKind,
}

/// The integer type gcc chooses for an enum with these values: `unsigned int` when none
/// is negative and all fit, `int` when some are, else the 64-bit types; `packed` picks the
/// smallest that holds them all.
pub fn enum_underlying(values: &[i128], packed: bool) -> Option<IntKind> {
    let (lo, hi) = (
        values.iter().copied().min().unwrap_or(0),
        values.iter().copied().max().unwrap_or(0),
    );
    let unsigned = lo >= 0;
    let candidates: &[(IntKind, IntKind, u32)] = if packed {
        &[
            (IntKind::SChar, IntKind::UChar, 8),
            (IntKind::Short, IntKind::UShort, 16),
            (IntKind::Int, IntKind::UInt, 32),
            (IntKind::LongLong, IntKind::ULongLong, 64),
        ]
    } else {
        &[
            (IntKind::Int, IntKind::UInt, 32),
            (IntKind::LongLong, IntKind::ULongLong, 64),
        ]
    };
    for (s, u, bits) in candidates {
        if unsigned && hi < (1i128 << bits) {
            return Some(*u);
        }
        if !unsigned && lo >= -(1i128 << (bits - 1)) && hi < (1i128 << (bits - 1)) {
            return Some(*s);
        }
    }
    None
}
