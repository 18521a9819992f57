//! Redeclarations: when two declarations of a name agree (C's compatible types, the same
//! definition of a record or enum), and what a conflicting one is told.

use super::*;

impl Namespace {
    /// Whether two types are compatible in C's sense (for redeclarations): equal, or
    /// differing only where C allows (unprototyped functions, arrays of unknown length,
    /// anonymous records or enums with the same definition).
    pub(super) fn compatible(&self, a: &Type, b: &Type) -> bool {
        self.compatible_at(a, b, 0)
    }

    /// `compatible` at `depth` levels of recursion. Types are at most `MAX_NESTING` deep,
    /// but anonymous records compared member by member nest those levels in one another:
    /// past a bound the types count as different (a redeclaration error), not as a stack
    /// overflow.
    fn compatible_at(&self, a: &Type, b: &Type, depth: usize) -> bool {
        if depth > 2 * parser::MAX_NESTING {
            return false;
        }
        let depth = depth + 1;
        match (a, b) {
            (
                Type::Pointer {
                    to: x,
                    is_const: c1,
                    is_volatile: v1,
                },
                Type::Pointer {
                    to: y,
                    is_const: c2,
                    is_volatile: v2,
                },
            ) => c1 == c2 && v1 == v2 && self.compatible_at(x, y, depth),
            (Type::Array { of: x, len: l1 }, Type::Array { of: y, len: l2 }) => {
                (l1 == l2 || l1.is_none() || l2.is_none()) && self.compatible_at(x, y, depth)
            }
            (Type::Func(f), Type::Func(g)) => self.compatible_funcs_at(f, g, depth),
            // `typedef struct {...} __attribute__((aligned(16))) T;` seen twice.
            (Type::Aligned { of: x, align: a1 }, Type::Aligned { of: y, align: a2 }) => {
                a1 == a2 && self.compatible_at(x, y, depth)
            }
            (Type::Record(x), Type::Record(y)) => {
                x == y || self.same_anonymous_record(*x, *y, depth)
            }
            (Type::Enum(x), Type::Enum(y)) => {
                let (e1, e2) = (&self.enums[x.0], &self.enums[y.0]);
                x == y || (e1.tag.is_none() && e2.tag.is_none() && e1.constants == e2.constants)
            }
            _ => a == b,
        }
    }

    pub(super) fn compatible_funcs(&self, f: &FuncType, g: &FuncType) -> bool {
        self.compatible_funcs_at(f, g, 0)
    }

    fn compatible_funcs_at(&self, f: &FuncType, g: &FuncType, depth: usize) -> bool {
        if !self.compatible_at(&f.ret, &g.ret, depth) {
            return false;
        }
        if !f.prototyped || !g.prototyped {
            return true;
        }
        f.variadic == g.variadic
            && f.params.len() == g.params.len()
            && f.params
                .iter()
                .zip(&g.params)
                .all(|(p, q)| self.compatible_at(&p.ty, &q.ty, depth))
    }

    pub(super) fn same_anonymous_record(&self, x: RecordId, y: RecordId, depth: usize) -> bool {
        let (r1, r2) = (&self.records[x.0], &self.records[y.0]);
        if r1.tag.is_some() || r2.tag.is_some() || r1.kind != r2.kind {
            return false;
        }
        match (&r1.def, &r2.def) {
            (Some(d1), Some(d2)) => self.same_definition_at(d1, d2, depth),
            _ => false,
        }
    }

    /// Whether `name` is a function a header defines inline (it has no symbol).
    pub fn is_inline_function(&self, name: &str) -> bool {
        self.inline_fns.contains(name)
    }

    /// What first differs between two definitions of one record, for the redeclaration
    /// error: `field 'fds_bits' here, '__fds_bits' before`.
    pub(super) fn definition_difference(&self, old: &RecordDef, new: &RecordDef) -> String {
        for (i, (m, n)) in old.members.iter().zip(&new.members).enumerate() {
            let name = |x: &Member| x.name.clone().unwrap_or_else(|| format!("#{}", i + 1));
            if m.name != n.name {
                return format!("field '{}' here, '{}' before", name(n), name(m));
            }
            if m.bits != n.bits || !self.compatible(&m.ty, &n.ty) {
                return format!(
                    "field '{}' is {}{} here, {}{} before",
                    name(n),
                    self.type_name(&n.ty),
                    n.bits.map(|b| format!(" : {}", b)).unwrap_or_default(),
                    self.type_name(&m.ty),
                    m.bits.map(|b| format!(" : {}", b)).unwrap_or_default()
                );
            }
        }
        if old.members.len() != new.members.len() {
            return format!(
                "{} fields here, {} before",
                new.members.len(),
                old.members.len()
            );
        }
        format!(
            "its layout differs ({} bytes aligned to {} here, {} and {} before: packing or alignment)",
            new.layout.size, new.layout.align, old.layout.size, old.layout.align
        )
    }

    /// For a conflicting redeclaration of a record (or a typedef of an anonymous one):
    /// what differs, if both are defined.
    pub(crate) fn record_difference(&self, old: RecordId, new: RecordId) -> Option<String> {
        match (&self.records[old.0].def, &self.records[new.0].def) {
            (Some(a), Some(b)) => Some(self.definition_difference(a, b)),
            _ => None,
        }
    }

    pub(super) fn same_definition(&self, d1: &RecordDef, d2: &RecordDef) -> bool {
        self.same_definition_at(d1, d2, 0)
    }

    fn same_definition_at(&self, d1: &RecordDef, d2: &RecordDef, depth: usize) -> bool {
        d1.layout == d2.layout
            && d1.members.len() == d2.members.len()
            && d1.members.iter().zip(&d2.members).all(|(m, n)| {
                m.name == n.name && m.bits == n.bits && self.compatible_at(&m.ty, &n.ty, depth)
            })
    }

    /// Declares an ordinary identifier, accepting a compatible redeclaration.
    pub(super) fn declare(&mut self, name: &str, what: Ordinary) -> Result<(), DeclError> {
        if let Some(old) = self.ordinary.get(name).cloned() {
            let ok = match (&old, &what) {
                (Ordinary::Typedef(t1, q1), Ordinary::Typedef(t2, q2)) => {
                    q1 == q2 && self.compatible(t1, t2)
                }
                // An `__asm__` rename may come with a later declaration (glibc declares
                // fscanf, then redirects it to __isoc99_fscanf); two different renames
                // conflict.
                (Ordinary::Func(f1), Ordinary::Func(f2)) => {
                    self.compatible_funcs(&f1.ty, &f2.ty)
                        && (f1.symbol == f2.symbol || f1.symbol == f1.name || f2.symbol == f2.name)
                }
                (Ordinary::Var(v1), Ordinary::Var(v2))
                    if !(v1.symbol == v2.symbol
                        || v1.symbol == v1.name
                        || v2.symbol == v2.name) =>
                {
                    false
                }
                (Ordinary::Var(v1), Ordinary::Var(v2)) => self.compatible(&v1.ty, &v2.ty),
                (Ordinary::Const(a), Ordinary::Const(b)) => a == b,
                _ => false,
            };
            if !ok {
                // Two typedefs of anonymous records: say which field differs.
                if let (
                    Ordinary::Typedef(Type::Record(r1), _),
                    Ordinary::Typedef(Type::Record(r2), _),
                ) = (&old, &what)
                {
                    if let Some(d) = self.record_difference(*r1, *r2) {
                        return Err(DeclError::RecordRedeclared {
                            name: name.to_string(),
                            difference: d,
                        });
                    }
                }
                return Err(DeclError::Redeclared {
                    name: name.to_string(),
                    now: self.describe(&what),
                    before: self.describe(&old),
                });
            }
            // Keep the first declaration unless the new one adds a prototype or a rename.
            match (old, what) {
                (Ordinary::Func(f1), Ordinary::Func(mut f2)) => {
                    if f2.symbol == f2.name {
                        f2.symbol = f1.symbol.clone();
                    }
                    if f1.ty.prototyped || !f2.ty.prototyped {
                        f2.ty = f1.ty.clone();
                    }
                    // The format attribute may come with either declaration.
                    f2.printf_format = f2.printf_format.or(f1.printf_format);
                    self.set_ordinary(name, Ordinary::Func(f2));
                }
                (Ordinary::Var(v1), Ordinary::Var(mut v2)) => {
                    if v2.symbol == v2.name {
                        v2.symbol = v1.symbol.clone();
                    }
                    // Keep a known array length.
                    if matches!(v2.ty, Type::Array { len: None, .. }) {
                        v2.ty = v1.ty.clone();
                    }
                    self.set_ordinary(name, Ordinary::Var(v2));
                }
                _ => {}
            }
            return Ok(());
        }
        self.set_ordinary(name, what);
        Ok(())
    }

    pub(super) fn describe(&self, o: &Ordinary) -> String {
        match o {
            Ordinary::Typedef(t, _) => format!("a typedef of {}", self.type_name(t)),
            Ordinary::Func(f) => format!(
                "a function {}",
                self.type_name(&Type::Func(Box::new(f.ty.clone())))
            ),
            Ordinary::Var(v) => format!("a variable of type {}", self.type_name(&v.ty)),
            Ordinary::Const(c) => format!("a constant {}", c),
        }
    }

    /// The known type name nearest to `name` (edit distance), for "unknown type" errors.
    pub(super) fn suggest_type(&self, name: &str) -> Option<String> {
        const KEYWORDS: &[&str] = &[
            "void", "char", "short", "int", "long", "float", "double", "signed", "unsigned",
            "_Bool", "bool", "struct", "union", "enum", "const", "volatile",
        ];
        let typedefs = self.ordinary.iter().filter_map(|(n, o)| match o {
            Ordinary::Typedef(..) => Some(n.as_str()),
            _ => None,
        });
        let max = (name.chars().count() / 3).max(2);
        nearest(name, KEYWORDS.iter().copied().chain(typedefs), max).map(str::to_string)
    }
}
