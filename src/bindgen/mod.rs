//! `lune-ffi bindgen`: a typed Luau module from C headers.
//!
//! The headers are preprocessed as `ffi.include` does (`-E -dD`) and declared into a
//! [`Namespace`] one file at a time, following the preprocessor's line markers, so that
//! what the named headers themselves declare (and not every system header they include)
//! becomes the module's typed surface: functions, `extern` variables, enum constants and
//! `#define` constants, with view types for the structs and unions those reach.
//!
//! The Luau types follow the README's conversion rules: numbers, booleans, `const char *`
//! results and fields as `string?` (the text rule), other pointers as `TypedPointer`s or
//! `RawPointer`s that may be `nil`, records as view types whose fields are known, so that a
//! misspelt field or a call with too many arguments is a type error in the analyzer.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;

use crate::cdecl::{FuncDecl, FuncType, IntKind, MacroValue, Namespace, Ordinary, RecordId, Type};
use crate::types::RecordKind;

mod declared;

use declared::{declare_preprocessed, is_name, key, Declared, KEYWORDS, RESERVED_TYPES};

/// What to generate bindings for.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Header names or paths (as `ffi.include` takes them), or files of preprocessed text
    /// (`.i`), in order.
    pub inputs: Vec<String>,
    /// The library to load (`ffi.load`'s argument).
    pub lib: String,
    /// `-DNAME` (None) or `-DNAME=value`.
    pub defines: Vec<(String, Option<String>)>,
    /// `-I` directories.
    pub include: Vec<String>,
    /// The command line that made the module, for its header comment.
    pub command: String,
}

/// Whether `input` names a file of preprocessed text rather than a header.
pub fn is_preprocessed(input: &str) -> bool {
    input.ends_with(".i")
}

/// Preprocesses and declares the inputs, then writes the module's text.
pub fn generate(opts: &Options) -> Result<String, String> {
    let mut texts = Vec::new();
    let mut headers = Vec::new();
    for input in &opts.inputs {
        if is_preprocessed(input) {
            let text = std::fs::read_to_string(input)
                .map_err(|e| format!("cannot read {}: {}", input, e))?;
            texts.push((input.clone(), text));
        } else {
            headers.push(input.clone());
        }
    }
    let mut decls = Declared::default();
    let mut ns = Namespace::new();
    for (name, text) in &texts {
        decls
            .declare(&mut ns, text, true)
            .map_err(|e| format!("{}: {}", name, e))?;
    }
    if !headers.is_empty() {
        let out =
            crate::luau::cdef::include::preprocess_headers(&headers, &opts.defines, &opts.include)?;
        declare_preprocessed(&mut ns, &mut decls, &out, &headers)?;
    }
    Ok(Writer::new(&ns, &decls).module(opts, &texts, &headers))
}

/// What a record's types are called in the module.
struct RecordNames {
    /// The view type (a complete record only).
    view: Option<String>,
    /// The pointer type.
    ptr: String,
}

struct Writer<'a> {
    ns: &'a Namespace,
    decls: &'a Declared,
    names: BTreeMap<usize, RecordNames>,
    /// Typedef names of records (`true`, id) and enums (`false`, id), for prototypes.
    typedef_names: HashMap<(bool, usize), String>,
}

/// Where a type appears: results and fields read as the README's return conversion
/// says, parameters accept what its argument conversion says.
#[derive(Clone, Copy, PartialEq)]
enum Pos {
    Param,
    Result,
    Field,
}

impl<'a> Writer<'a> {
    fn new(ns: &'a Namespace, decls: &'a Declared) -> Writer<'a> {
        let mut w = Writer {
            ns,
            decls,
            names: BTreeMap::new(),
            typedef_names: HashMap::new(),
        };
        w.name_records();
        w
    }

    /// The records the module's functions, variables and target records reach, each
    /// named after its typedef (`z_stream`), else its tag (`struct tm` is `tm`).
    fn name_records(&mut self) {
        let mut reached = BTreeSet::new();
        let mut todo: Vec<&Type> = Vec::new();
        for name in &self.decls.ordinary {
            match self.ns.lookup(name) {
                Some(Ordinary::Func(f)) => {
                    todo.push(&f.ty.ret);
                    todo.extend(f.ty.params.iter().map(|p| &p.ty));
                }
                Some(Ordinary::Var(v)) => todo.push(&v.ty),
                Some(Ordinary::Typedef(t, _)) => todo.push(t),
                _ => {}
            }
        }
        for &id in &self.decls.records {
            if self.ns.record(RecordId(id)).tag.is_some() {
                reached.insert(id);
                self.members(id, &mut todo);
            }
        }
        while let Some(t) = todo.pop() {
            match t {
                Type::Pointer { to, .. } => todo.push(to),
                Type::Array { of, .. } => todo.push(of),
                Type::Func(f) => {
                    todo.push(&f.ret);
                    todo.extend(f.params.iter().map(|p| &p.ty));
                }
                Type::Record(id) if reached.insert(id.0) => self.members(id.0, &mut todo),
                _ => {}
            }
        }
        // Typedef names of records, shortest first then alphabetical, for naming.
        let mut typedefs: HashMap<usize, &str> = HashMap::new();
        let records = typedefs_by_length(self.ns, |t| match t {
            Type::Record(id) => Some(id.0),
            _ => None,
        });
        for &(name, id) in &records {
            typedefs.entry(id).or_insert(name);
        }
        let enums = typedefs_by_length(self.ns, |t| match t {
            Type::Enum(id) => Some(id.0),
            _ => None,
        });
        for (name, id) in enums {
            self.typedef_names
                .entry((false, id))
                .or_insert(name.to_string());
        }
        for (&id, name) in &typedefs {
            self.typedef_names.insert((true, id), name.to_string());
        }
        let mut taken: HashSet<String> = RESERVED_TYPES.iter().map(|s| s.to_string()).collect();
        let mut unique = |base: String| {
            let mut n = base;
            while !is_name(&n) || !taken.insert(n.clone()) {
                n.push('_');
            }
            n
        };
        // A record with neither tag nor typedef is named after the first field of that
        // type in a named record (`yaml_event_t_data` for `yaml_event_t`'s `union { ... }
        // data`), in passes as such records nest.
        let mut bases: BTreeMap<usize, String> = BTreeMap::new();
        for &id in &reached {
            let r = self.ns.record(RecordId(id));
            if let Some(b) = typedefs.get(&id).map(|t| t.to_string()).or(r.tag.clone()) {
                bases.insert(id, b);
            }
        }
        for _ in 0..8 {
            let mut found = Vec::new();
            for (&id, parent) in &bases {
                let mut fields = Vec::new();
                self.named_members(id, &mut fields);
                for (field, ty) in fields {
                    let mut t = ty;
                    while let Type::Array { of, .. } = t {
                        t = of;
                    }
                    if let Type::Record(inner) = t {
                        if reached.contains(&inner.0) && !bases.contains_key(&inner.0) {
                            found.push((inner.0, format!("{}_{}", parent, field)));
                        }
                    }
                }
            }
            if found.is_empty() {
                break;
            }
            for (id, base) in found {
                bases.entry(id).or_insert(base);
            }
        }
        for id in reached {
            let r = self.ns.record(RecordId(id));
            let base = bases
                .get(&id)
                .cloned()
                .unwrap_or_else(|| format!("anon{}", id));
            let view = r.def.as_ref().map(|_| unique(base.clone()));
            let ptr = unique(format!("{}_ptr", base));
            self.names.insert(id, RecordNames { view, ptr });
        }
    }

    /// Record `id`'s named fields and their types, those of anonymous members included.
    fn named_members(&self, id: usize, out: &mut Vec<(&'a str, &'a Type)>) {
        let ns: &'a Namespace = self.ns;
        let mut records = vec![id];
        while let Some(id) = records.pop() {
            if let Some(def) = &ns.record(RecordId(id)).def {
                for m in &def.members {
                    match (&m.name, &m.ty) {
                        (None, Type::Record(inner)) => records.push(inner.0),
                        (Some(n), t) => out.push((n, t)),
                        _ => {}
                    }
                }
            }
        }
    }

    /// Pushes the types of record `id`'s fields; an anonymous member's fields are the
    /// record's own (its record needs no type of its own).
    fn members(&self, id: usize, todo: &mut Vec<&'a Type>) {
        let ns: &'a Namespace = self.ns;
        let mut records = vec![id];
        // Bounded: anonymous members nest as deep as the parser allows, no deeper.
        while let Some(id) = records.pop() {
            if let Some(def) = &ns.record(RecordId(id)).def {
                for m in &def.members {
                    match (&m.name, &m.ty) {
                        (None, Type::Record(inner)) => records.push(inner.0),
                        _ => todo.push(&m.ty),
                    }
                }
            }
        }
    }

    /// The Luau type of `ty` at `pos`.
    fn luau(&self, ty: &Type, pos: Pos) -> String {
        match ty {
            // An aligned typedef is its type to Luau.
            Type::Aligned { of, .. } => self.luau(of, pos),
            Type::Void => "()".into(),
            Type::Int(IntKind::Bool) => "boolean".into(),
            Type::Int(_) | Type::Enum(_) | Type::Float | Type::Double => "number".into(),
            Type::Unpassable(_) | Type::Unsupported { .. } => "any".into(),
            Type::Record(id) => {
                let view = self.names.get(&id.0).and_then(|n| n.view.clone());
                let view = view.unwrap_or_else(|| "ffi.StructView".into());
                match pos {
                    // A StructView is copied by value, or a table of field values.
                    Pos::Param => format!("{} | {{ [string]: any }}", view),
                    _ => view,
                }
            }
            Type::Array { of, .. } => match pos {
                // An array parameter is a pointer.
                Pos::Param => "ffi.Pointer?".into(),
                // A string is copied into a char array field.
                _ if matches!(
                    **of,
                    Type::Int(IntKind::Char | IntKind::SChar | IntKind::UChar)
                ) =>
                {
                    "any".into()
                }
                _ => "ffi.TypedPointer".into(),
            },
            Type::Func(_) => "ffi.RawPointer?".into(),
            Type::Pointer { to, is_const, .. } => match pos {
                Pos::Param => self.pointer_param(to, *is_const),
                _ => self.pointer_result(ty, to),
            },
        }
    }

    /// What a pointer parameter accepts: any pointer, `nil` for NULL, a Luau string for a
    /// `const` pointer to bytes, a Luau function for a function pointer, and the module's
    /// view and pointer types of its pointee.
    fn pointer_param(&self, to: &Type, is_const: bool) -> String {
        let mut alts: Vec<String> = Vec::new();
        match to {
            Type::Func(_) => {
                alts.push("((...any) -> ...any)".into());
                alts.push("ffi.Callback".into());
            }
            Type::Void | Type::Int(IntKind::Char | IntKind::SChar | IntKind::UChar) if is_const => {
                alts.push("string".into())
            }
            Type::Record(id) => {
                if let Some(n) = self.names.get(&id.0) {
                    // An incomplete record's pointer type is `ffi.RawPointer`, named for
                    // the reader (`sqlite3_ptr`).
                    alts.push(n.ptr.clone());
                    if let Some(v) = &n.view {
                        alts.push(v.clone());
                    }
                }
            }
            _ => {}
        }
        alts.push("ffi.Pointer".into());
        if alts.len() == 1 {
            "ffi.Pointer?".into()
        } else {
            format!("({})?", alts.join(" | "))
        }
    }

    /// A pointer read back (a result, field or element): NULL is `nil`.
    fn pointer_result(&self, ty: &Type, to: &Type) -> String {
        if ty.is_const_char_pointer() {
            return "string?".into();
        }
        match to {
            Type::Record(id) => match self.names.get(&id.0) {
                Some(n) => format!("{}?", n.ptr),
                None => "ffi.RawPointer?".into(),
            },
            Type::Int(_) | Type::Enum(_) | Type::Float | Type::Double | Type::Pointer { .. } => {
                "ffi.TypedPointer?".into()
            }
            _ => "ffi.RawPointer?".into(),
        }
    }

    /// The fields of record `id`, members of anonymous members included (they read as
    /// fields of the enclosing record).
    fn fields(&self, id: usize, out: &mut Vec<(String, String, String)>, depth: usize) {
        let Some(def) = &self.ns.record(RecordId(id)).def else {
            return;
        };
        for m in &def.members {
            match (&m.name, &m.ty) {
                (None, Type::Record(inner)) if depth < 32 => self.fields(inner.0, out, depth + 1),
                (None, _) => {}
                (Some(name), ty) => {
                    let c = self.c_decl(ty, name);
                    let c = match m.bits {
                        Some(b) => format!("{} : {}", c, b),
                        None => c,
                    };
                    out.push((name.clone(), self.luau(ty, Pos::Field), c));
                }
            }
        }
    }

    /// The C prototype of `f` named `name`, with its parameter names.
    fn prototype(&self, name: &str, f: &FuncType) -> String {
        let mut params: Vec<String> = f
            .params
            .iter()
            .map(|p| self.c_decl(&p.ty, p.name.as_deref().unwrap_or("")))
            .collect();
        if f.variadic {
            params.push("...".into());
        }
        if params.is_empty() && f.prototyped {
            params.push("void".into());
        }
        self.c_decl(&f.ret, &format!("{}({})", name, params.join(", ")))
    }

    /// A C declaration of `name` with type `ty`, as [`Namespace::declaration`] writes it
    /// but with the typedef name of a record or enum that has one (`sqlite3 *`, `CURLcode`:
    /// the parsed types keep no typedef names, and `enum <anonymous>` says nothing).
    fn c_decl(&self, ty: &Type, name: &str) -> String {
        let named = |t: &Type| match t {
            Type::Record(id) => self.typedef_names.get(&(true, id.0)),
            Type::Enum(id) => self.typedef_names.get(&(false, id.0)),
            _ => None,
        };
        // Peel pointers and arrays down to the base type; a named base is written as the
        // typedef, keeping the declarator the namespace writes around it.
        let mut base = ty;
        while let Type::Pointer { to: t, .. } | Type::Array { of: t, .. } = base {
            base = t;
        }
        let text = self.ns.declaration(ty, name);
        match named(base) {
            Some(tn) => {
                let c = self.ns.declaration(base, "");
                match text.find(&c) {
                    Some(at) => format!("{}{}{}", &text[..at], tn, &text[at + c.len()..]),
                    None => text,
                }
            }
            None => text,
        }
    }

    /// The Luau function type of `f`.
    fn function_type(&self, f: &FuncType) -> String {
        let mut seen = HashSet::new();
        let mut params: Vec<String> = f
            .params
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut n = match &p.name {
                    Some(n) if KEYWORDS.contains(&n.as_str()) => format!("{}_", n),
                    Some(n) if is_name(n) => n.clone(),
                    _ => format!("arg{}", i + 1),
                };
                while !seen.insert(n.clone()) {
                    n.push('_');
                }
                format!("{}: {}", n, self.luau(&p.ty, Pos::Param))
            })
            .collect();
        if f.variadic {
            params.push("...any".into());
        }
        let ret = self.luau(&f.ret, Pos::Result);
        format!("({}) -> {}", params.join(", "), ret)
    }

    fn module(&self, opts: &Options, texts: &[(String, String)], headers: &[String]) -> String {
        let mut s = String::new();
        s.push_str("--!strict\n");
        let _ = writeln!(
            s,
            "-- Generated by `{}`: do not edit; generate it again instead.",
            opts.command
        );
        s.push_str("-- Types of the declarations of ");
        s.push_str(&opts.inputs.join(", "));
        let _ = writeln!(s, ", loaded from {:?}.", opts.lib);
        s.push_str("local ffi = require(\"@lune/ffi\")\n\n");
        self.record_types(&mut s);
        self.library_type(&mut s);
        for (name, text) in texts {
            let _ = writeln!(s, "-- {}", name);
            let _ = writeln!(s, "ffi.cdef({})", long_string(text));
        }
        if !headers.is_empty() {
            let list: Vec<String> = headers.iter().map(|h| format!("{:?}", h)).collect();
            let mut options = Vec::new();
            if !opts.defines.is_empty() {
                let d: Vec<String> = opts
                    .defines
                    .iter()
                    .map(|(n, v)| match v {
                        Some(v) => format!("{} = {:?}", key(n), v),
                        None => format!("{} = true", key(n)),
                    })
                    .collect();
                options.push(format!("defines = {{ {} }}", d.join(", ")));
            }
            if !opts.include.is_empty() {
                let d: Vec<String> = opts.include.iter().map(|d| format!("{:?}", d)).collect();
                options.push(format!("include = {{ {} }}", d.join(", ")));
            }
            if options.is_empty() {
                let _ = writeln!(s, "ffi.include({{ {} }})", list.join(", "));
            } else {
                let _ = writeln!(
                    s,
                    "ffi.include({{ {} }}, {{ {} }})",
                    list.join(", "),
                    options.join(", ")
                );
            }
        }
        let _ = writeln!(s, "return (ffi.load({:?}) :: any) :: Library", opts.lib);
        s
    }

    fn record_types(&self, s: &mut String) {
        for (&id, n) in &self.names {
            let r = self.ns.record(RecordId(id));
            let kw = if r.kind == RecordKind::Union {
                "union"
            } else {
                "struct"
            };
            let c = format!("{} {}", kw, r.tag.as_deref().unwrap_or("<anonymous>"));
            let Some(view) = &n.view else {
                let _ = writeln!(s, "--- A pointer to `{}` (incomplete: a handle).", c);
                let _ = writeln!(s, "export type {} = ffi.RawPointer\n", n.ptr);
                continue;
            };
            let mut fields = Vec::new();
            self.fields(id, &mut fields, 0);
            let _ = writeln!(s, "--- A view of `{}`.", c);
            let _ = writeln!(s, "export type {} = {{", view);
            for (name, ty, c) in &fields {
                let _ = writeln!(s, "\t--- `{}`", c);
                let _ = writeln!(s, "\t{}: {},", key(name), ty);
            }
            let has = |k: &str| fields.iter().any(|f| f.0 == k);
            if !has("address") {
                s.push_str("\taddress: number,\n");
            }
            s.push_str("}\n");
            let _ = writeln!(
                s,
                "--- A `{} *`: `p.field` reads `p[0].field`, `p[i]` is a view of element `i`.",
                c
            );
            let _ = writeln!(s, "export type {} = {{", n.ptr);
            for (name, ty, c) in &fields {
                let _ = writeln!(s, "\t--- `{}`", c);
                let _ = writeln!(s, "\t{}: {},", key(name), ty);
            }
            let _ = writeln!(s, "\t[number]: {},", view);
            if !has("address") {
                s.push_str("\taddress: number,\n");
            }
            if !has("isNull") {
                let _ = writeln!(s, "\tisNull: (self: {}) -> boolean,", n.ptr);
            }
            s.push_str("}\n\n");
        }
    }

    fn library_type(&self, s: &mut String) {
        s.push_str("--- The library, with the declarations of its headers.\n");
        s.push_str("export type Library = {\n");
        let mut entries: BTreeMap<&str, (String, String)> = BTreeMap::new();
        for name in &self.decls.ordinary {
            match self.ns.lookup(name) {
                Some(Ordinary::Func(f)) if !self.ns.is_inline_function(name) => {
                    entries.insert(name, self.function_entry(name, f));
                }
                Some(Ordinary::Var(v)) => {
                    let doc = format!("extern {};` (a pointer to it)", self.c_decl(&v.ty, name));
                    entries.insert(name, (format!("`{}", doc), "ffi.TypedPointer".into()));
                }
                Some(Ordinary::Const(v)) => {
                    entries.insert(
                        name,
                        (format!("enum constant `{} = {}`", name, v), "number".into()),
                    );
                }
                _ => {}
            }
        }
        for name in &self.decls.defines {
            if entries.contains_key(name.as_str()) {
                continue;
            }
            let Some(v) = self.ns.macro_constant(name) else {
                continue;
            };
            let ty = match v {
                MacroValue::Str(_) => "string",
                _ => "number",
            };
            entries.insert(name, (format!("`#define {} {}`", name, v), ty.into()));
        }
        for name in &self.decls.aliases {
            if entries.contains_key(name.as_str()) {
                continue;
            }
            let target = self.ns.alias_target(name);
            if let Some(f) = target.and_then(|t| self.ns.function(t)) {
                let (doc, ty) = self.function_entry(&f.name, f);
                entries.insert(
                    name,
                    (format!("{} (`#define {} {}`)", doc, name, f.name), ty),
                );
            }
        }
        for (name, (doc, ty)) in entries {
            let _ = writeln!(s, "\t--- {}", doc);
            let _ = writeln!(s, "\t{}: {},", key(name), ty);
        }
        s.push_str("}\n\n");
    }

    fn function_entry(&self, name: &str, f: &FuncDecl) -> (String, String) {
        (
            format!("`{};`", self.prototype(name, &f.ty)),
            self.function_type(&f.ty),
        )
    }
}

/// `text` as a Luau long string whose level no `]==]` inside it closes.
fn long_string(text: &str) -> String {
    let mut level = 0;
    while text.contains(&format!("]{}]", "=".repeat(level))) {
        level += 1;
    }
    let eq = "=".repeat(level);
    // A long string drops a first newline: keep the text's own.
    format!("[{eq}[\n{text}]{eq}]")
}

#[cfg(test)]
mod tests;

/// The typedefs whose type `pick` maps to a record or enum id, shortest name first, then
/// alphabetical: the order in which a type's Luau name is chosen.
fn typedefs_by_length(ns: &Namespace, pick: impl Fn(&Type) -> Option<usize>) -> Vec<(&str, usize)> {
    let mut all: Vec<(&str, usize)> = ns
        .ordinaries()
        .filter_map(|(k, o)| match o {
            Ordinary::Typedef(t, _) => pick(t).map(|id| (k, id)),
            _ => None,
        })
        .collect();
    all.sort_by(|a, b| (a.0.len(), a.0).cmp(&(b.0.len(), b.0)));
    all
}
