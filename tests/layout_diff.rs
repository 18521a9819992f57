//! Differential layout generator (issue 22 item 2): random records with the features whose
//! layout rules have corners (bitfields named, unnamed and zero-width, `aligned(n)` and
//! `packed` on records and members, `#pragma pack` with and without labels, unions,
//! nested records, aligned typedefs, `aligned(n)` after a `*` and after `struct tag`),
//! given as the same C text to each platform's C compiler and to `ffi.cdef` with that
//! platform's rules (`Namespace::with_platform`). The compiler is the oracle: it compiles
//! the text with `-S` (nothing runs, so one host checks every target) into data whose bytes
//! are each record's sizeof, _Alignof and offsetof of every named member, and, for every
//! named bitfield, a record with that field set to 1 (its lowest bit is where the field
//! starts; the width is the declared one). Nothing here computes a layout.
//!
//! Compilers: `gcc` (x86-64 SysV; required), `aarch64-linux-gnu-gcc` (AAPCS64),
//! `x86_64-w64-mingw32-gcc` (Win64, Microsoft's bitfield rules); each is required (a
//! missing one fails the test). `LUNE_FFI_LAYOUT_APPLE=1` adds
//! `clang --target=arm64-apple-macos11` (Apple arm64), which differs today (about 10% of
//! records): clang reads `aligned(n)` after a `*` as the declaration's (it can only raise
//! the alignment), and places bitfields with `aligned(m)` by its own rules.
//! `LUNE_FFI_LAYOUT_SHOW=n` prints the first n differing records (12).
//!
//! Seeded and reproducible: `LUNE_FFI_LAYOUT_SEED` (default 22) and
//! `LUNE_FFI_LAYOUT_COUNT` (records per platform, default 1000); a failure names the
//! platform, the record, what differs, and prints the record's C text.

use std::fmt::Write as _;
use std::process::Command;

use lune_ffi::cdecl::{Namespace, Platform};
use lune_ffi::types::CType;

const DEFAULT_SEED: u64 = 22;
const DEFAULT_COUNT: usize = 1000;

struct Rng(u64);

impl Rng {
    // splitmix64: no dependency, the same sequence everywhere.
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e3779b97f4a7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'x, T>(&mut self, xs: &'x [T]) -> &'x T {
        &xs[self.below(xs.len() as u64) as usize]
    }
}

/// Scalar member types: (C text, may be an array element).
const SCALARS: &[(&str, bool)] = &[
    ("char", true),
    ("signed char", true),
    ("unsigned char", true),
    ("short", true),
    ("unsigned short", true),
    ("int", true),
    ("unsigned", true),
    ("long", true),
    ("long long", true),
    ("unsigned long long", true),
    ("float", true),
    ("double", true),
    ("void *", true),
    ("_Bool", true),
    // Aligned typedefs (declared in PRELUDE): raised, lowered, a pointer lowered.
    ("a8_int", false),
    ("a1_short", true),
    ("a4_llong", true),
    ("a2_ptr", true),
];

/// Bitfield types and their widths in bits (the same on every target).
const BIT_TYPES: &[(&str, u32)] = &[
    ("char", 8),
    ("signed char", 8),
    ("unsigned char", 8),
    ("short", 16),
    ("unsigned short", 16),
    ("int", 32),
    ("unsigned", 32),
    ("long long", 64),
    ("unsigned long long", 64),
    ("_Bool", 1),
];

const PRELUDE: &str = "typedef int a8_int __attribute__((aligned(8)));
typedef short a1_short __attribute__((aligned(1)));
typedef long long a4_llong __attribute__((aligned(4)));
typedef void *a2_ptr __attribute__((aligned(2)));
";

/// One generated record: its C text and what the compiler is asked about it.
struct Rec {
    tag: String,
    text: String,
    /// Named non-bitfield members (offsetof).
    plain: Vec<String>,
    /// Named bitfields.
    bits: Vec<String>,
}

fn aligned(n: u64) -> String {
    format!(" __attribute__((aligned({})))", n)
}

fn gen_record(rng: &mut Rng, k: usize, earlier: &[Rec]) -> Rec {
    let tag = format!("r{}", k);
    let kw = if rng.chance(30) { "union" } else { "struct" };
    let mut text = String::new();
    let pack = rng.chance(25).then(|| *rng.pick(&[1u64, 2, 4, 8, 16]));
    let labelled = rng.chance(50);
    if let Some(n) = pack {
        if labelled {
            let _ = writeln!(text, "#pragma pack(push, L{}, {})", k, n);
        } else {
            let _ = writeln!(text, "#pragma pack(push, {})", n);
        }
    }
    let _ = writeln!(text, "{} {} {{", kw, tag);
    let (mut plain, mut bits) = (Vec::new(), Vec::new());
    let n = 1 + rng.below(7) as usize;
    for j in 0..n {
        let name = format!("f{}", j);
        let mut attrs = String::new();
        if rng.chance(15) {
            attrs.push_str(&aligned(*rng.pick(&[1u64, 2, 4, 8, 16])));
        }
        if rng.chance(8) {
            attrs.push_str(" __attribute__((packed))");
        }
        let roll = rng.below(100);
        if roll < 35 {
            let (ty, _) = *rng.pick(SCALARS);
            let _ = writeln!(text, "  {} {}{};", ty, name, attrs);
            plain.push(name);
        } else if roll < 45 {
            let (ty, ok) = *rng.pick(SCALARS);
            let ty = if ok { ty } else { "int" };
            let len = 1 + rng.below(4);
            let _ = writeln!(text, "  {} {}[{}]{};", ty, name, len, attrs);
            plain.push(name);
        } else if roll < 78 {
            let (ty, tbits) = *rng.pick(BIT_TYPES);
            let width = rng.below(tbits as u64 + 1) as u32;
            if width == 0 || rng.chance(20) {
                let _ = writeln!(text, "  {} : {}{};", ty, width, attrs);
            } else {
                let _ = writeln!(text, "  {} {} : {}{};", ty, name, width, attrs);
                bits.push(name);
            }
        } else if roll < 86 {
            let a = *rng.pick(&[2u64, 4, 8, 16]);
            let _ = writeln!(text, "  void *{} {}{};", aligned(a), name, attrs);
            plain.push(name);
        } else if let Some(inner) = (!earlier.is_empty()).then(|| rng.pick(earlier)) {
            let after_tag = if rng.chance(30) {
                aligned(*rng.pick(&[2u64, 4, 8, 16]))
            } else {
                String::new()
            };
            let _ = writeln!(text, "  {}{} {}{};", inner.tag, after_tag, name, attrs);
            plain.push(name);
        } else {
            let _ = writeln!(text, "  int {}{};", name, attrs);
            plain.push(name);
        }
    }
    text.push('}');
    if rng.chance(15) {
        text.push_str(" __attribute__((packed))");
    }
    if rng.chance(15) {
        text.push_str(&aligned(*rng.pick(&[1u64, 2, 4, 8, 16, 32])));
    }
    text.push_str(";\n");
    if pack.is_some() {
        if labelled {
            let _ = writeln!(text, "#pragma pack(pop, L{})", k);
        } else {
            text.push_str("#pragma pack(pop)\n");
        }
    }
    Rec {
        tag: format!("{} {}", kw, tag),
        text,
        plain,
        bits,
    }
}

/// The C file: the declarations, then per record `facts_K` (sizeof, _Alignof, offsetof of
/// each plain member) and per named bitfield `bits_K_J` (the record with that field 1:
/// its lowest bit is the field's first; not -1, whose sign MinGW extends into the padding
/// bits of the unit).
fn c_file(decls: &str, recs: &[Rec]) -> String {
    let mut c = String::from(decls);
    for (k, r) in recs.iter().enumerate() {
        let _ = write!(
            c,
            "long long facts_{k}[] = {{ sizeof({t}), _Alignof({t})",
            t = r.tag
        );
        for f in &r.plain {
            let _ = write!(c, ", __builtin_offsetof({}, {})", r.tag, f);
        }
        c.push_str(" };\n");
        for (j, f) in r.bits.iter().enumerate() {
            let _ = writeln!(
                c,
                "union u_{k}_{j} {{ {t} s; unsigned char b[sizeof({t})]; }} bits_{k}_{j} = {{ .s = {{ .{f} = 1 }} }};",
                t = r.tag
            );
        }
    }
    c
}

/// The bytes of each labelled datum in the compiler's assembly (little-endian targets).
fn data_of(asm: &str) -> std::collections::HashMap<String, Vec<u8>> {
    let mut out: std::collections::HashMap<String, Vec<u8>> = Default::default();
    let mut cur: Option<String> = None;
    for line in asm.lines() {
        let l = line.trim();
        if let Some(label) = l.strip_suffix(':') {
            if !label.contains(' ') {
                let label = label.trim_start_matches('_').to_string();
                cur = Some(label.clone());
                out.entry(label).or_default();
            }
            continue;
        }
        let Some(c) = &cur else { continue };
        let (dir, arg) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
        let size = match dir {
            ".byte" => 1,
            ".value" | ".short" | ".hword" | ".2byte" => 2,
            ".long" | ".word" | ".4byte" | ".int" => 4,
            ".quad" | ".xword" | ".8byte" | ".dword" => 8,
            ".zero" | ".space" => {
                let n: usize = arg.trim().parse().unwrap();
                out.get_mut(c).unwrap().extend(std::iter::repeat_n(0, n));
                continue;
            }
            ".ascii" | ".string" | ".asciz" => {
                let bytes = unescape(arg.trim().trim_matches('"'));
                let v = out.get_mut(c).unwrap();
                v.extend(bytes);
                if dir != ".ascii" {
                    v.push(0);
                }
                continue;
            }
            _ => continue,
        };
        // Comments: `; 0x8` (clang for Darwin), `// ...`.
        let arg = arg.split([';', '#']).next().unwrap_or("");
        let arg = arg.split("//").next().unwrap_or("");
        for item in arg.split(',') {
            let item = item.trim();
            let v: i128 = if let Some(h) = item.strip_prefix("0x") {
                i128::from_str_radix(h, 16).unwrap()
            } else {
                item.parse()
                    .unwrap_or_else(|_| panic!("data item '{}' in: {}", item, line))
            };
            let bytes = (v as u128).to_le_bytes();
            out.get_mut(c).unwrap().extend(&bytes[..size]);
        }
    }
    out
}

fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            let mut j = i + 1;
            let mut v = 0u32;
            while j < b.len() && j < i + 4 && (b'0'..=b'7').contains(&b[j]) {
                v = v * 8 + (b[j] - b'0') as u32;
                j += 1;
            }
            if j > i + 1 {
                out.push(v as u8);
                i = j;
                continue;
            }
            out.push(match b[i + 1] {
                b'n' => b'\n',
                b't' => b'\t',
                b'r' => b'\r',
                c => c,
            });
            i += 2;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// `-S` of `src` with `cc args`: None when the compiler is not installed.
fn assemble(cc: &str, args: &[&str], src: &str, dir: &std::path::Path) -> Option<String> {
    let name = format!("{}{}", cc, args.join("")).replace(['/', '=', '-', '.'], "_");
    let c = dir.join(format!("{}.c", name));
    let s = dir.join(format!("{}.s", name));
    std::fs::write(&c, src).unwrap();
    let out = match Command::new(cc)
        .args(args)
        .args(["-S", "-w", "-O0", "-o"])
        .arg(&s)
        .arg(&c)
        .output()
    {
        Ok(o) => o,
        Err(_) => return None,
    };
    assert!(
        out.status.success(),
        "{} {:?} failed on the generated C:\n{}",
        cc,
        args,
        String::from_utf8_lossy(&out.stderr)
    );
    Some(std::fs::read_to_string(&s).unwrap())
}

fn le_i64(b: &[u8]) -> i64 {
    i64::from_le_bytes(b.try_into().unwrap())
}

/// Compares every record's layout on one platform; returns (records checked, mismatches).
fn check_platform(
    pname: &str,
    platform: Platform,
    decls: &str,
    recs: &[Rec],
    data: &std::collections::HashMap<String, Vec<u8>>,
) -> (usize, Vec<String>) {
    let mut ns = Namespace::with_platform(platform);
    if let Err(e) = ns.cdef(decls) {
        let line = decls.lines().nth(e.line as usize - 1).unwrap_or("");
        return (
            0,
            vec![format!("{}: ffi.cdef failed: {}\n  {}", pname, e, line)],
        );
    }
    let mut bad = Vec::new();
    for (k, r) in recs.iter().enumerate() {
        let facts: Vec<i64> = data[&format!("facts_{}", k)]
            .chunks(8)
            .map(le_i64)
            .collect();
        let mut ours = Vec::new();
        let ty = ns.parse_type(&r.tag).unwrap();
        let (size, align) = ns.size_align(&ty).unwrap();
        ours.push(size as i64);
        ours.push(align as i64);
        let st = match ns.lower_layout(&ty) {
            Ok((CType::Struct(st), None)) => st,
            other => panic!("{}: {} lowers to {:?}", pname, r.tag, other),
        };
        for f in &r.plain {
            ours.push(st.lookup(f).map_or(-1, |x| x.offset as i64));
        }
        let mut what = Vec::new();
        if ours != facts {
            what.push(format!(
                "sizeof, _Alignof, offsetof({}): C {:?}, ffi {:?}",
                r.plain.join(", "),
                facts,
                ours
            ));
        }
        for (j, f) in r.bits.iter().enumerate() {
            let bytes = &data[&format!("bits_{}_{}", k, j)];
            let set: Vec<usize> = (0..bytes.len() * 8)
                .filter(|i| bytes[i / 8] >> (i % 8) & 1 == 1)
                .collect();
            let c = set.first().copied();
            let ours = st
                .lookup(f)
                .and_then(|x| x.bits.map(|b| x.offset * 8 + b.bit_offset as usize));
            if ours != c {
                what.push(format!(
                    "bitfield {} (first bit): C {:?}, ffi {:?}",
                    f, c, ours
                ));
            }
        }
        if !what.is_empty() {
            bad.push(format!(
                "{}: {}: {}\n{}",
                pname,
                r.tag,
                what.join("; "),
                r.text
            ));
        }
    }
    (recs.len(), bad)
}

#[test]
fn random_records_are_laid_out_as_each_compiler_does() {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let seed = env("LUNE_FFI_LAYOUT_SEED").map_or(DEFAULT_SEED, |s| {
        let s = s.trim_start_matches("0x");
        u64::from_str_radix(s, 16)
            .or_else(|_| s.parse())
            .expect("LUNE_FFI_LAYOUT_SEED: a number")
    });
    let count = env("LUNE_FFI_LAYOUT_COUNT").map_or(DEFAULT_COUNT, |c| c.parse().unwrap());
    let mut rng = Rng(seed);
    let mut recs: Vec<Rec> = Vec::with_capacity(count);
    for k in 0..count {
        // Nest only in the last few records, so a record's text stays short.
        let from = recs.len().saturating_sub(8);
        let r = gen_record(&mut rng, k, &recs[from..]);
        recs.push(r);
    }
    let mut decls = String::from(PRELUDE);
    for r in &recs {
        decls.push_str(&r.text);
    }
    let src = c_file(&decls, &recs);
    let dir = std::env::temp_dir().join(format!("lune-ffi-layout-diff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    let targets: [(&str, &str, &[&str], Platform); 4] = [
        ("x86-64 SysV", "gcc", &[], Platform::SYSV_X64),
        ("AArch64", "aarch64-linux-gnu-gcc", &[], Platform::AAPCS64),
        ("Win64", "x86_64-w64-mingw32-gcc", &[], Platform::WIN64),
        (
            "Apple arm64",
            "clang",
            &["--target=arm64-apple-macos11"],
            Platform::APPLE_ARM64,
        ),
    ];
    let mut checked = 0;
    let mut bad = Vec::new();
    // Apple arm64 (clang) is opt-in: see the module comment for what differs there.
    let apple = env("LUNE_FFI_LAYOUT_APPLE").is_some();
    for (pname, cc, args, platform) in targets {
        if platform == Platform::APPLE_ARM64 && !apple {
            continue;
        }
        // The compilers are the oracle: a missing one is a failure, not a skipped platform
        // (.ci/run installs them; README, "Quick start").
        let Some(asm) = assemble(cc, args, &src, &dir) else {
            panic!(
                "{}: {} is not installed, so its layouts cannot be checked (Debian: apt-get install gcc gcc-aarch64-linux-gnu mingw-w64)",
                pname, cc
            );
        };
        let data = data_of(&asm);
        let (n, b) = check_platform(pname, platform, &decls, &recs, &data);
        println!(
            "{}: {} records (seed {}), {} differ",
            pname,
            n,
            seed,
            b.len()
        );
        checked += n;
        bad.extend(b);
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!("{} records checked in all", checked);
    assert!(
        bad.is_empty(),
        "{} records differ from the C compiler (seed {}, count {}); the first ones:\n{}",
        bad.len(),
        seed,
        count,
        bad.iter()
            .take(
                std::env::var("LUNE_FFI_LAYOUT_SHOW")
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(12)
            )
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
