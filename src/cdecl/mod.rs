//! C declarations: a lexer, a parser of declarations and type names, a constant-expression
//! evaluator and the module-wide [`Namespace`] they declare into. Pure Rust; it accepts
//! what `gcc -E -P` prints for real headers (glibc included), and lowers its types to the
//! engine's [`CType`] for calls and layout.
//!
//! ```
//! use lune_ffi::cdecl::{IntKind, Namespace, Platform, Type};
//! let mut ns = Namespace::with_platform(Platform::SYSV_X64);
//! ns.cdef("typedef struct point { int x, y; } point_t; int draw(const point_t *p, ...);")
//!     .unwrap();
//! let point = ns.parse_type("point_t").unwrap();
//! assert_eq!(ns.sizeof(&point).unwrap(), 8);
//! assert!(ns.function("draw").unwrap().ty.variadic);
//! assert_eq!(ns.parse_type("unsigned long").unwrap(), Type::Int(IntKind::ULong));
//! ```

mod error;
mod lexer;
mod lower;
mod parser;
mod redeclare;
mod suggest;
mod types;

use error::DeclError;
pub use error::{CdefError, ErrorKind, LowerError};
pub use suggest::{edit_distance, nearest};

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::types::{CType, LayoutRules, MemberSpec, Prim, RecordKind, RecordOptions, StructType};

pub use types::{
    enum_underlying, EnumDecl, EnumId, FuncDecl, FuncType, IntKind, Member, Param, Platform,
    RecordDecl, RecordDef, RecordId, Type, Unpassable, VarDecl,
};

/// The constant an object-like `#define` gives.
#[derive(Clone, Debug, PartialEq)]
pub enum MacroValue {
    /// An integer with C's type rules; unsigned 64-bit values keep their bits.
    Int(i128),
    Float(f64),
    /// A string literal (adjacent literals concatenated), its bytes without the NUL.
    Str(Vec<u8>),
}

impl fmt::Display for MacroValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MacroValue::Int(v) => write!(f, "{}", v),
            MacroValue::Float(v) => write!(f, "{:?}", v),
            MacroValue::Str(s) => write!(f, "{:?}", String::from_utf8_lossy(s)),
        }
    }
}

/// A function-like macro: its parameters and body (tokens joined by spaces).
#[derive(Clone, Debug, PartialEq)]
struct FnMacro {
    params: Vec<String>,
    /// `...` after the parameters (`__VA_ARGS__` in the body).
    variadic: bool,
    body: String,
}

/// What one `cdef` call did with its `#define`s.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CdefReport {
    /// Object-like macros that became constants.
    pub constants: usize,
    /// Macros that became aliases of declared functions.
    pub aliases: usize,
    /// Macros that declare nothing, in source order.
    pub skipped: Vec<String>,
    /// Alias macros of this call, counted or skipped at its end.
    pending_aliases: Vec<String>,
}

/// What an ordinary identifier names (C's one namespace for typedefs, functions,
/// variables and enum constants).
#[derive(Clone, Debug, PartialEq)]
pub enum Ordinary {
    /// A typedef: the type and whether it is `const`/`volatile` qualified.
    Typedef(Type, Quals),
    Func(FuncDecl),
    Var(VarDecl),
    /// An enum constant.
    Const(i128),
}

/// `const`/`volatile` on a type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Quals {
    pub is_const: bool,
    pub is_volatile: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tag {
    Record(RecordId),
    Enum(EnumId),
}

/// Everything `ffi.cdef` has declared, module-wide.
#[derive(Clone, Debug)]
pub struct Namespace {
    platform: Platform,
    ordinary: HashMap<String, Ordinary>,
    tags: HashMap<String, Tag>,
    records: Vec<RecordDecl>,
    enums: Vec<EnumDecl>,
    /// Constants of object-like `#define`s.
    defines: Arc<HashMap<String, MacroValue>>,
    /// The body (tokens joined by spaces) of every object-like macro, for expanding the
    /// bodies of later ones.
    macros: Arc<HashMap<String, String>>,
    /// Function-like macros, for expanding their calls in object-like macros' bodies
    /// (`#define INT64_MAX (__INT64_C(9223372036854775807))`).
    fn_macros: Arc<HashMap<String, FnMacro>>,
    /// Macros whose body is one identifier (`#define pcre2_compile pcre2_compile_8`),
    /// resolved when looked up: the function may be declared later.
    aliases: Arc<HashMap<String, String>>,
    /// What the running `cdef` call did with its macros.
    report: CdefReport,
    /// Functions defined in a header (`static inline`): declared nowhere as a symbol, named
    /// so that a lookup says why it finds nothing.
    inline_fns: Arc<std::collections::HashSet<String>>,
    /// `#pragma pack` state: the current value and the pushed ones.
    pack: Option<usize>,
    /// Pushed values with their labels (`#pragma pack(push, r1, 2)`).
    pack_stack: Vec<(Option<String>, Option<usize>)>,
    /// What the running `cdef` call changed (see [`Journal`]).
    journal: Option<Box<Journal>>,
}

/// What a `cdef` call changed, so that an error undoes it: the old value of every entry
/// the call wrote, in order. Its size follows the call's own text, where a copy of the
/// whole namespace per call cost 4.4 ms a call at 8,000 declarations (release).
#[derive(Clone, Debug, Default)]
struct Journal {
    ordinary: Vec<(String, Option<Ordinary>)>,
    tags: Vec<(String, Option<Tag>)>,
    records_len: usize,
    record_defs: Vec<(usize, Option<RecordDef>)>,
    enums_len: usize,
    enum_decls: Vec<(usize, EnumDecl)>,
    defines: Vec<(String, Option<MacroValue>)>,
    macros: Vec<(String, Option<String>)>,
    fn_macros: Vec<(String, Option<FnMacro>)>,
    aliases: Vec<(String, Option<String>)>,
    inline_fns: Vec<String>,
    pack: Option<usize>,
    pack_stack: Vec<(Option<String>, Option<usize>)>,
}

/// Restores `map` from a journal's entries for it, newest first.
fn restore<V: Clone>(map: &mut HashMap<String, V>, log: Vec<(String, Option<V>)>) {
    for (k, old) in log.into_iter().rev() {
        match old {
            Some(v) => {
                map.insert(k, v);
            }
            None => {
                map.remove(&k);
            }
        }
    }
}

impl Default for Namespace {
    fn default() -> Self {
        Namespace::new()
    }
}

/// Built-in typedef names (what `<stddef.h>`, `<stdint.h>`, `<stdarg.h>` and
/// `<sys/types.h>` would declare), per platform.
fn builtin_typedefs(p: &Platform) -> Vec<(&'static str, Type)> {
    use IntKind::*;
    let (word, uword) = if p.long_size == 8 {
        (Long, ULong)
    } else {
        (LongLong, ULongLong)
    };
    let (i64_, u64_) = (word, uword);
    // wchar_t: 16-bit on Windows, unsigned int on AArch64 Linux, int on x86-64.
    let wchar = if p.wchar16 {
        UShort
    } else if !p.char_signed {
        UInt
    } else {
        Int
    };
    vec![
        ("size_t", Type::Int(uword)),
        ("ssize_t", Type::Int(word)),
        ("ptrdiff_t", Type::Int(word)),
        ("intptr_t", Type::Int(word)),
        ("uintptr_t", Type::Int(uword)),
        ("int8_t", Type::Int(SChar)),
        ("uint8_t", Type::Int(UChar)),
        ("int16_t", Type::Int(Short)),
        ("uint16_t", Type::Int(UShort)),
        ("int32_t", Type::Int(Int)),
        ("uint32_t", Type::Int(UInt)),
        ("int64_t", Type::Int(i64_)),
        ("uint64_t", Type::Int(u64_)),
        ("wchar_t", Type::Int(wchar)),
        ("va_list", Type::Unpassable(Unpassable::VaList)),
        ("__builtin_va_list", Type::Unpassable(Unpassable::VaList)),
    ]
}

impl Namespace {
    /// An empty namespace (built-in typedef names only) for the host platform.
    pub fn new() -> Namespace {
        Namespace::with_platform(Platform::host())
    }

    /// An empty namespace for another platform (tests of every ABI on every host).
    pub fn with_platform(platform: Platform) -> Namespace {
        let mut ordinary = HashMap::new();
        for (name, ty) in builtin_typedefs(&platform) {
            ordinary.insert(name.to_string(), Ordinary::Typedef(ty, Quals::default()));
        }
        Namespace {
            platform,
            ordinary,
            tags: HashMap::new(),
            records: Vec::new(),
            enums: Vec::new(),
            defines: Arc::default(),
            macros: Arc::default(),
            fn_macros: Arc::default(),
            aliases: Arc::default(),
            report: CdefReport::default(),
            inline_fns: Arc::default(),
            pack: None,
            pack_stack: Vec::new(),
            journal: None,
        }
    }

    fn begin(&mut self) {
        self.journal = Some(Box::new(Journal {
            records_len: self.records.len(),
            enums_len: self.enums.len(),
            pack: self.pack,
            pack_stack: self.pack_stack.clone(),
            ..Journal::default()
        }));
    }

    fn rollback(&mut self) {
        let Some(j) = self.journal.take() else { return };
        let j = *j;
        restore(&mut self.ordinary, j.ordinary);
        restore(&mut self.tags, j.tags);
        for (id, old) in j.record_defs.into_iter().rev() {
            if let Some(r) = self.records.get_mut(id) {
                r.def = old;
            }
        }
        self.records.truncate(j.records_len);
        for (id, old) in j.enum_decls.into_iter().rev() {
            if let Some(e) = self.enums.get_mut(id) {
                *e = old;
            }
        }
        self.enums.truncate(j.enums_len);
        restore(Arc::make_mut(&mut self.defines), j.defines);
        restore(Arc::make_mut(&mut self.macros), j.macros);
        restore(Arc::make_mut(&mut self.fn_macros), j.fn_macros);
        restore(Arc::make_mut(&mut self.aliases), j.aliases);
        let inline = Arc::make_mut(&mut self.inline_fns);
        for n in j.inline_fns {
            inline.remove(&n);
        }
        self.pack = j.pack;
        self.pack_stack = j.pack_stack;
    }

    // ---- the only writers of the namespace's tables, each journalled

    fn set_ordinary(&mut self, name: &str, v: Ordinary) {
        let old = self.ordinary.insert(name.to_string(), v);
        if let Some(j) = &mut self.journal {
            j.ordinary.push((name.to_string(), old));
        }
    }

    fn set_tag(&mut self, name: &str, t: Tag) {
        let old = self.tags.insert(name.to_string(), t);
        if let Some(j) = &mut self.journal {
            j.tags.push((name.to_string(), old));
        }
    }

    fn push_record(&mut self, r: RecordDecl) -> RecordId {
        self.records.push(r);
        RecordId(self.records.len() - 1)
    }

    fn set_record_def(&mut self, id: RecordId, def: RecordDef) {
        let old = self.records[id.0].def.replace(def);
        if let Some(j) = &mut self.journal {
            j.record_defs.push((id.0, old));
        }
    }

    fn push_enum(&mut self, e: EnumDecl) -> EnumId {
        self.enums.push(e);
        EnumId(self.enums.len() - 1)
    }

    fn set_enum(&mut self, id: EnumId, e: EnumDecl) {
        let old = std::mem::replace(&mut self.enums[id.0], e);
        if let Some(j) = &mut self.journal {
            j.enum_decls.push((id.0, old));
        }
    }

    fn set_define(&mut self, name: &str, v: MacroValue) {
        let old = Arc::make_mut(&mut self.defines).insert(name.to_string(), v);
        if let Some(j) = &mut self.journal {
            j.defines.push((name.to_string(), old));
        }
    }

    fn set_macro(&mut self, name: &str, text: String) {
        let old = Arc::make_mut(&mut self.macros).insert(name.to_string(), text);
        if let Some(j) = &mut self.journal {
            j.macros.push((name.to_string(), old));
        }
    }

    fn set_fn_macro(&mut self, name: &str, m: FnMacro) {
        let old = Arc::make_mut(&mut self.fn_macros).insert(name.to_string(), m);
        if let Some(j) = &mut self.journal {
            j.fn_macros.push((name.to_string(), old));
        }
    }

    fn set_alias(&mut self, name: &str, target: String) {
        let old = Arc::make_mut(&mut self.aliases).insert(name.to_string(), target);
        if let Some(j) = &mut self.journal {
            j.aliases.push((name.to_string(), old));
        }
    }

    fn add_inline_fn(&mut self, name: &str) {
        if Arc::make_mut(&mut self.inline_fns).insert(name.to_string()) {
            if let Some(j) = &mut self.journal {
                j.inline_fns.push(name.to_string());
            }
        }
    }

    pub fn platform(&self) -> &Platform {
        &self.platform
    }

    /// Declares everything in `source` (C declarations, `#define NAME <integer constant
    /// expression>`, `#pragma pack`). All or nothing: on an error the namespace is as
    /// it was before the call.
    pub fn cdef(&mut self, source: &str) -> Result<(), CdefError> {
        self.cdef_report(source).map(|_| ())
    }

    /// [`Namespace::cdef`], with what became of the source's object-like and
    /// function-like `#define`s (what `gcc -E -dD` prints): constants taken, aliases of
    /// functions, and the names of the macros skipped (function-like, empty, keywords,
    /// anything that is not a constant expression).
    pub fn cdef_report(&mut self, source: &str) -> Result<CdefReport, CdefError> {
        self.begin();
        self.report = CdefReport::default();
        let result = lexer::lex(source)
            .map(parser::arrange_directives)
            .and_then(|toks| parser::Parser::new(toks, self).translation_unit());
        if let Err(e) = result {
            self.rollback();
            return Err(e);
        }
        self.journal = None;
        self.reevaluate_unresolved_aliases();
        // Macros that use macros defined after them, once more at the end.
        let skipped = std::mem::take(&mut self.report.skipped);
        let taken = parser::retry_skipped(self, &skipped);
        // Listed once, and not when a later definition of the name was taken.
        let mut seen = std::collections::HashSet::new();
        self.report.skipped = skipped
            .into_iter()
            .zip(taken)
            .filter_map(|(n, t)| {
                let now_taken = t || self.defines.contains_key(&n) || self.aliases.contains_key(&n);
                (!now_taken && seen.insert(n.clone())).then_some(n)
            })
            .collect();
        let mut report = std::mem::take(&mut self.report);
        // An alias counts once its function is declared (later in the source is fine);
        // the others stay (a later cdef may declare the function) but are reported.
        let mut taken = 0;
        for name in std::mem::take(&mut report.pending_aliases) {
            match self.alias_target(&name) {
                Some(t) if self.function(t).is_some() => taken += 1,
                // `#define EWOULDBLOCK EAGAIN` before `#define EAGAIN 11`: a constant.
                Some(t) if self.constant(t).is_some() || self.defines.contains_key(t) => {
                    report.constants += 1
                }
                _ => report.skipped.push(name),
            }
        }
        report.aliases = taken;
        Ok(report)
    }

    /// Aliases of this call whose target is declared nowhere, evaluated again with the
    /// macros as they are at its end, as C expands a name where it is used, after the
    /// header: pcre2.h defines `pcre2_compile` through a `PCRE2_SUFFIX` that it redefines
    /// at its end (a later cdef may still declare what an alias names).
    fn reevaluate_unresolved_aliases(&mut self) {
        let resolved = |ns: &Namespace, t: &str| {
            ns.function(t).is_some() || ns.constant(t).is_some() || ns.defines.contains_key(t)
        };
        let stale: Vec<(String, String)> = self
            .report
            .pending_aliases
            .iter()
            .filter_map(|n| {
                let t = self.aliases.get(n)?;
                (!resolved(self, t)).then(|| (n.clone(), t.clone()))
            })
            .collect();
        if stale.is_empty() {
            return;
        }
        let names: Vec<String> = stale.iter().map(|(n, _)| n.clone()).collect();
        let set: std::collections::HashSet<&String> = names.iter().collect();
        self.report.pending_aliases.retain(|n| !set.contains(n));
        for n in &names {
            Arc::make_mut(&mut self.aliases).remove(n);
        }
        let taken = parser::retry_skipped(self, &names);
        for ((name, old), taken) in stale.into_iter().zip(taken) {
            if !taken {
                // No longer a name: the first target stays (a later cdef may declare it).
                Arc::make_mut(&mut self.aliases).insert(name.clone(), old);
                if !self.report.pending_aliases.contains(&name) {
                    self.report.pending_aliases.push(name);
                }
            }
        }
    }

    /// Forgets the macro `name` (`#undef`, or before its redefinition).
    fn undefine(&mut self, name: &str) {
        fn remove<V: Clone>(
            map: &mut Arc<HashMap<String, V>>,
            log: Option<&mut Vec<(String, Option<V>)>>,
            name: &str,
        ) {
            if map.contains_key(name) {
                let old = Arc::make_mut(map).remove(name);
                if let Some(log) = log {
                    log.push((name.to_string(), old));
                }
            }
        }
        let j = self.journal.as_deref_mut();
        let (jd, jm, jf, ja) = match j {
            Some(j) => (
                Some(&mut j.defines),
                Some(&mut j.macros),
                Some(&mut j.fn_macros),
                Some(&mut j.aliases),
            ),
            None => (None, None, None, None),
        };
        remove(&mut self.defines, jd, name);
        remove(&mut self.macros, jm, name);
        remove(&mut self.fn_macros, jf, name);
        remove(&mut self.aliases, ja, name);
    }

    /// The name an alias macro stands for, through chains of aliases (`None` if `name`
    /// is no alias).
    pub fn alias_target(&self, name: &str) -> Option<&str> {
        let mut cur = self.aliases.get(name)?.as_str();
        // Bounded: `#define a b` / `#define b a` is a cycle C would not expand either.
        for _ in 0..16 {
            match self.aliases.get(cur) {
                Some(next) if next != name => cur = next,
                Some(_) => return None,
                None => return Some(cur),
            }
        }
        None
    }

    /// The constant of an object-like `#define` (integer, floating or string).
    pub fn macro_constant(&self, name: &str) -> Option<&MacroValue> {
        self.defines.get(name)
    }

    /// Parses one C type name (`"unsigned long long"`, `"const char *"`, `"int[4]"`,
    /// `"struct timespec *"`, `"int (*)(void *, int)"`, a typedef name).
    ///
    /// Mentioning an undeclared `struct X` declares it incomplete, as in C.
    pub fn parse_type(&mut self, source: &str) -> Result<Type, CdefError> {
        let toks = lexer::lex(source)?;
        parser::Parser::new(toks, self).type_name_only()
    }

    /// What an ordinary identifier names.
    pub fn lookup(&self, name: &str) -> Option<&Ordinary> {
        self.ordinary.get(name)
    }

    pub fn typedef(&self, name: &str) -> Option<&Type> {
        match self.ordinary.get(name) {
            Some(Ordinary::Typedef(t, _)) => Some(t),
            _ => None,
        }
    }

    pub fn function(&self, name: &str) -> Option<&FuncDecl> {
        match self.ordinary.get(name) {
            Some(Ordinary::Func(f)) => Some(f),
            _ => None,
        }
    }

    pub fn variable(&self, name: &str) -> Option<&VarDecl> {
        match self.ordinary.get(name) {
            Some(Ordinary::Var(v)) => Some(v),
            _ => None,
        }
    }

    /// Declares the constant `name` (a `static const` integer), like an object-like
    /// `#define`: the same value again is fine, another is a conflict.
    pub(crate) fn set_constant(&mut self, name: &str, v: i128) -> Result<(), DeclError> {
        let v = MacroValue::Int(v);
        match self.defines.get(name) {
            Some(old) if *old != v => Err(DeclError::ConstantRedefined {
                name: name.to_string(),
                before: old.clone(),
                now: v,
            }),
            Some(_) => Ok(()),
            None => {
                self.set_define(name, v);
                Ok(())
            }
        }
    }

    /// An enum constant or an object-like `#define`.
    pub fn constant(&self, name: &str) -> Option<i128> {
        match self.ordinary.get(name) {
            Some(Ordinary::Const(v)) => Some(*v),
            _ => match self.defines.get(name) {
                Some(MacroValue::Int(v)) => Some(*v),
                _ => None,
            },
        }
    }

    /// Names of every declared function (for listings).
    pub fn functions(&self) -> impl Iterator<Item = &FuncDecl> {
        self.ordinary.values().filter_map(|o| match o {
            Ordinary::Func(f) => Some(f),
            _ => None,
        })
    }

    /// Every ordinary identifier and what it names (for listings, in no order).
    pub fn ordinaries(&self) -> impl Iterator<Item = (&str, &Ordinary)> {
        self.ordinary.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Every object-like `#define` constant (in no order).
    pub fn macro_constants(&self) -> impl Iterator<Item = (&str, &MacroValue)> {
        self.defines.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Every alias macro's name (in no order); [`Namespace::alias_target`] resolves it.
    pub fn alias_names(&self) -> impl Iterator<Item = &str> {
        self.aliases.keys().map(String::as_str)
    }

    /// How many structs and unions are declared: their ids are `0..record_count()`.
    pub fn record_count(&self) -> usize {
        self.records.len()
    }

    pub fn record(&self, id: RecordId) -> &RecordDecl {
        &self.records[id.0]
    }

    pub fn enum_decl(&self, id: EnumId) -> &EnumDecl {
        &self.enums[id.0]
    }

    /// The struct or union declared with this tag.
    pub fn record_by_tag(&self, tag: &str) -> Option<RecordId> {
        match self.tags.get(tag) {
            Some(Tag::Record(id)) => Some(*id),
            _ => None,
        }
    }
}

/// The layout rules and options of a record being defined.
pub(crate) fn record_options(
    packed: bool,
    pack: Option<usize>,
    align: Option<usize>,
    rules: LayoutRules,
) -> RecordOptions {
    RecordOptions {
        kind: RecordKind::Struct,
        packed,
        pack,
        align,
        rules,
    }
}

#[cfg(test)]
mod corner_tests;
#[cfg(test)]
mod gap_tests;
#[cfg(test)]
mod limit_tests;
#[cfg(test)]
mod test_util;
#[cfg(test)]
mod tests;

#[cfg(test)]
mod macro_tests;
