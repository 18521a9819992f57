//! A printf format string read for the types of a call's variadic arguments: a declared
//! variadic function with `__attribute__((format(printf, m, n)))` (or one of C's printf
//! family by name, which gcc knows as builtins with that attribute) gets each variadic
//! argument's C type from its conversion, when the format is a Luau string.

use std::ffi::c_int;

use mlua::ffi::{self};

use crate::luau::values::convert::TypedValueUd;
use crate::luau::values::convert::{check_float, check_int, Site};
use crate::luau::vm::frame::Frame;
use crate::luau::vm::raw::LResult;
use crate::types::Prim;

/// What one conversion (or a `*` width or precision) takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Want {
    /// An integer of this type (promoted to int by the call when narrower).
    Int(Prim),
    /// A double.
    Float,
    /// A `char *` (`%s`).
    Str,
    /// Any pointer (`%p`, `%ls`).
    Ptr,
}

/// One variadic argument the format asks for, with the conversion text for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    pub want: Want,
    pub spec: String,
}

/// C's printf family, which gcc treats as carrying `format(printf, …)` even where the
/// header does not say so (glibc declares `printf` and `fprintf` without it): the format
/// is their last fixed parameter.
pub const BUILTIN_PRINTF: &[&str] = &[
    "printf", "fprintf", "sprintf", "snprintf", "dprintf", "asprintf",
];

/// The variadic arguments `fmt` consumes, in order. `long` and `ulong` are C's `long`
/// types on this platform. `%n` is refused (it writes through a pointer), and so are
/// positional arguments (`%1$d`), `long double` (`%Lf`) and an unknown conversion.
pub fn parse(fmt: &[u8], long: Prim, ulong: Prim) -> Result<Vec<Slot>, String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < fmt.len() {
        if fmt[i] != b'%' {
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        let spec =
            |end: usize| String::from_utf8_lossy(&fmt[start..end.min(fmt.len())]).into_owned();
        if fmt.get(i) == Some(&b'%') {
            i += 1;
            continue;
        }
        // flags
        while let Some(b'-' | b'+' | b' ' | b'#' | b'0' | b'\'' | b'I') = fmt.get(i) {
            // `I` is glibc's locale-digits flag, but also the start of MSVC's I64/I32.
            if fmt[i] == b'I'
                && matches!(
                    fmt.get(i + 1),
                    Some(b'6' | b'3' | b'd' | b'i' | b'u' | b'x' | b'X' | b'o')
                )
            {
                break;
            }
            i += 1;
        }
        let mut stars = 0;
        // width
        if fmt.get(i) == Some(&b'*') {
            stars += 1;
            i += 1;
        } else {
            let d = i;
            while fmt.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if i > d && fmt.get(i) == Some(&b'$') {
                return Err(format!(
                    "'{}…': positional arguments are not supported",
                    spec(i + 1)
                ));
            }
        }
        // precision
        if fmt.get(i) == Some(&b'.') {
            i += 1;
            if fmt.get(i) == Some(&b'*') {
                stars += 1;
                i += 1;
            } else {
                while fmt.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
            }
        }
        // length
        let len: &[u8] = {
            let rest = &fmt[i..];
            let l: &[u8] = if rest.starts_with(b"hh")
                || rest.starts_with(b"ll")
                || rest.starts_with(b"I64")
                || rest.starts_with(b"I32")
            {
                if rest[0] == b'I' {
                    &rest[..3]
                } else {
                    &rest[..2]
                }
            } else if matches!(
                rest.first(),
                Some(b'h' | b'l' | b'z' | b'j' | b't' | b'L' | b'q' | b'I')
            ) {
                &rest[..1]
            } else {
                &[]
            };
            i += l.len();
            l
        };
        let Some(&conv) = fmt.get(i) else {
            return Err(format!(
                "'{}' at the end of the format has no conversion",
                spec(i)
            ));
        };
        i += 1;
        let text = spec(i);
        for _ in 0..stars {
            out.push(Slot {
                want: Want::Int(Prim::I32),
                spec: format!("{} (the '*')", text),
            });
        }
        let int = |signed: bool| -> Result<Want, String> {
            let p = match (len, signed) {
                (b"" | b"I32", true) => Prim::I32,
                (b"" | b"I32", false) => Prim::U32,
                (b"hh", true) => Prim::I8,
                (b"hh", false) => Prim::U8,
                (b"h", true) => Prim::I16,
                (b"h", false) => Prim::U16,
                (b"l", true) => long,
                (b"l", false) => ulong,
                (b"ll" | b"q" | b"j" | b"I64", true) => Prim::I64,
                (b"ll" | b"q" | b"j" | b"I64", false) => Prim::U64,
                (b"z" | b"t" | b"I", true) => Prim::Isize,
                (b"z" | b"t" | b"I", false) => Prim::Usize,
                _ => {
                    return Err(format!(
                        "'{}': the length modifier does not apply to an integer conversion",
                        text
                    ))
                }
            };
            Ok(Want::Int(p))
        };
        let want = match conv {
            b'd' | b'i' => int(true)?,
            b'o' | b'u' | b'x' | b'X' => int(false)?,
            b'c' if len == b"l" => Want::Int(Prim::U32),
            b'c' if len.is_empty() => Want::Int(Prim::I32),
            b'C' if len.is_empty() => Want::Int(Prim::U32),
            b'e' | b'E' | b'f' | b'F' | b'g' | b'G' | b'a' | b'A'
                if len.is_empty() || len == b"l" =>
            {
                Want::Float
            }
            b'e' | b'E' | b'f' | b'F' | b'g' | b'G' | b'a' | b'A' if len == b"L" => {
                return Err(format!(
                    "'{}': long double cannot be passed by this FFI",
                    text
                ))
            }
            b's' if len.is_empty() => Want::Str,
            b's' if len == b"l" => Want::Ptr,
            b'S' if len.is_empty() => Want::Ptr,
            b'p' if len.is_empty() => Want::Ptr,
            b'm' if len.is_empty() => continue,
            b'n' => {
                return Err(format!(
                    "'{}' is refused: it writes through a pointer argument",
                    text
                ))
            }
            _ => return Err(format!("'{}': unknown or malformed conversion", text)),
        };
        out.push(Slot { want, spec: text });
    }
    Ok(out)
}

/// Checks the value at `idx` against `slot` and returns the C type to pass it as (before
/// the default promotions): an error names the argument and the conversion.
pub fn type_for(f: &Frame, idx: c_int, slot: &Slot, func: &str, argn: usize) -> LResult<Prim> {
    let what = format!("argument #{} (for {})", argn, slot.spec);
    let site = Site { func, what: &what };
    let t = f.type_of(idx);
    if let Some(p) = f.ud::<TypedValueUd>(idx).map(|t| t.prim) {
        let fits = match slot.want {
            Want::Int(w) => {
                !matches!(p, Prim::Bool | Prim::F32 | Prim::F64)
                    && promoted_size(p) == promoted_size(w)
            }
            Want::Float => matches!(p, Prim::F32 | Prim::F64),
            Want::Str | Want::Ptr => false,
        };
        if !fits {
            return Err(site.err(&expected(slot.want), format!("TypedValue<{}>", p.name())));
        }
        return Ok(p);
    }
    match slot.want {
        Want::Int(p) => match t {
            ffi::LUA_TBOOLEAN if p == Prim::I32 => Ok(Prim::Bool),
            ffi::LUA_TNUMBER | ffi::LUA_TINTEGER => {
                check_int(f, idx, p, site)?;
                Ok(p)
            }
            _ => Err(site.err(&expected(slot.want), f.describe(idx))),
        },
        Want::Float => match t {
            ffi::LUA_TNUMBER | ffi::LUA_TINTEGER => {
                check_float(f, idx, Prim::F64, site)?;
                Ok(Prim::F64)
            }
            _ => Err(site.err(&expected(slot.want), f.describe(idx))),
        },
        Want::Str => match t {
            ffi::LUA_TSTRING => Ok(Prim::String),
            ffi::LUA_TNIL | ffi::LUA_TUSERDATA | ffi::LUA_TBUFFER => Ok(Prim::Pointer),
            _ => Err(site.err(&expected(slot.want), f.describe(idx))),
        },
        Want::Ptr => match t {
            ffi::LUA_TNIL | ffi::LUA_TUSERDATA | ffi::LUA_TBUFFER | ffi::LUA_TSTRING => {
                Ok(Prim::Pointer)
            }
            _ => Err(site.err(&expected(slot.want), f.describe(idx))),
        },
    }
}

fn promoted_size(p: Prim) -> usize {
    p.size().max(4)
}

fn expected(w: Want) -> String {
    match w {
        Want::Int(p) => format!("an integer ({})", p.name()),
        Want::Float => "a number (double)".into(),
        Want::Str => "a string or a char pointer".into(),
        Want::Ptr => "a pointer".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wants(f: &str) -> Vec<Want> {
        parse(f.as_bytes(), Prim::I64, Prim::U64)
            .unwrap()
            .into_iter()
            .map(|s| s.want)
            .collect()
    }

    #[test]
    fn conversions_flags_widths_and_lengths() {
        use Want::*;
        assert_eq!(wants("%d %s %.3f\n"), vec![Int(Prim::I32), Str, Float]);
        assert_eq!(
            wants("100%% %-+ #05d|%'d"),
            vec![Int(Prim::I32), Int(Prim::I32)]
        );
        assert_eq!(wants("%*.*f"), vec![Int(Prim::I32), Int(Prim::I32), Float]);
        assert_eq!(wants("%-*d"), vec![Int(Prim::I32), Int(Prim::I32)]);
        assert_eq!(
            wants("%hhd %hhu %hd %hu %ld %lu %lld %llu %zd %zu %jd %ju %td %tx %qd"),
            vec![
                Int(Prim::I8),
                Int(Prim::U8),
                Int(Prim::I16),
                Int(Prim::U16),
                Int(Prim::I64),
                Int(Prim::U64),
                Int(Prim::I64),
                Int(Prim::U64),
                Int(Prim::Isize),
                Int(Prim::Usize),
                Int(Prim::I64),
                Int(Prim::U64),
                Int(Prim::Isize),
                Int(Prim::Usize),
                Int(Prim::I64),
            ]
        );
        assert_eq!(
            wants("%I64d %I32u %Iu"),
            vec![Int(Prim::I64), Int(Prim::U32), Int(Prim::Usize)]
        );
        assert_eq!(
            wants("%c %lc %p %ls %e %G %a %lf %m"),
            vec![
                Int(Prim::I32),
                Int(Prim::U32),
                Ptr,
                Ptr,
                Float,
                Float,
                Float,
                Float
            ]
        );
        assert_eq!(
            wants("%o %X %x %i %u"),
            vec![
                Int(Prim::U32),
                Int(Prim::U32),
                Int(Prim::U32),
                Int(Prim::I32),
                Int(Prim::U32)
            ]
        );
        assert_eq!(wants("no conversions"), vec![]);
        // Windows' long is 32 bits.
        let w: Vec<Want> = parse(b"%ld %lu", Prim::I32, Prim::U32)
            .unwrap()
            .into_iter()
            .map(|s| s.want)
            .collect();
        assert_eq!(w, vec![Int(Prim::I32), Int(Prim::U32)]);
    }

    #[test]
    fn refusals() {
        let e = |f: &str| parse(f.as_bytes(), Prim::I64, Prim::U64).unwrap_err();
        assert!(e("%n").contains("'%n' is refused"), "{}", e("%n"));
        assert!(e("%lln").contains("'%lln' is refused"));
        assert!(e("%Lf").contains("long double"));
        assert!(e("%1$d").contains("positional"));
        assert!(e("abc %").contains("no conversion"));
        assert!(e("%5.2").contains("no conversion"));
        assert!(e("%k").contains("'%k': unknown"));
        assert!(e("%hs").contains("unknown"));
        assert!(e("%Ld").contains("does not apply"));
    }
}
