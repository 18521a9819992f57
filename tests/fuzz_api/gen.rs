//! The script generator of `tests/fuzz_api.rs`: seeded random Luau scripts over the public
//! API of `@lune/ffi`, each statement one line wrapped in `pcall` (so the minimizer can drop
//! lines and a Luau error is never a finding).
//!
//! What the generator does NOT do, because the README calls it inherently unsafe: it never
//! dereferences an address it did not get from an arena, a buffer or a struct value. Values
//! live in pools: `V` holds memory with known bounds (arena pointers, views, buffers, and
//! pointers derived from them), `O` holds opaque values (results of reads, `ffi.ptr`,
//! `lib:symbol`, pointers C handed back) that are only compared, printed, moved and passed
//! where nothing reads through them. C functions are called only with arguments C is
//! defined for (strlen gets Luau strings, qsort a bounded array and its own length), and
//! callbacks only through their own signature. Types whose reading dereferences a pointer
//! stored in memory (`string`, `string16`, `const char *`) are used for layouts and
//! signatures but never read from memory the script filled at random.
//!
//! Constructs that reach a known, unfixed issue owned by another worker are behind
//! `KNOWN_ISSUES` (on by default; `LUNE_FFI_FUZZ_KNOWN=none` or a comma list narrows them).

pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    pub fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    pub fn pick<'a, T: ?Sized>(&mut self, xs: &'a [&'a T]) -> &'a T {
        xs[self.below(xs.len())]
    }
}

/// Pool sizes (Luau tables indexed 1..=N).
const NV: usize = 12;
const NO: usize = 8;
const NA: usize = 4;
const NT: usize = 6;
const NCB: usize = 6;
const NF: usize = 6;

/// Callback signatures: (ret, args) as Luau source. Index 0 is the qsort comparator.
const SIGS: &[(&str, &str)] = &[
    ("\"i32\"", "{ \"pointer\", \"pointer\" }"),
    ("\"void\"", "{}"),
    ("\"i32\"", "{ \"i32\" }"),
    ("\"f64\"", "{ \"f64\", \"i32\" }"),
    ("\"i64\"", "{ \"i64\", \"u64\" }"),
    ("\"u8\"", "{ \"u8\", \"bool\" }"),
    ("\"pointer\"", "{ \"pointer\" }"),
    ("\"bool\"", "{ \"i16\", \"u16\", \"i8\" }"),
    ("\"f32\"", "{ \"f32\", \"f32\", \"f32\", \"f32\", \"f32\", \"f32\", \"f32\", \"f32\", \"f32\", \"i32\", \"i32\", \"i32\", \"i32\", \"i32\", \"i32\", \"i32\" }"),
    ("P2", "{ P2, \"i32\" }"),
    ("\"i32\"", "{ \"i32\", \"...\", \"f64\", \"i64\" }"),
    ("\"usize\"", "{ \"usize\", \"isize\" }"),
];

/// Types that may be read from memory the script filled at random.
const MEM_TYPES: &[&str] = &[
    "\"i8\"",
    "\"u8\"",
    "\"i16\"",
    "\"u16\"",
    "\"i32\"",
    "\"u32\"",
    "\"i64\"",
    "\"u64\"",
    "\"f32\"",
    "\"f64\"",
    "\"bool\"",
    "\"usize\"",
    "\"isize\"",
    "\"pointer\"",
    "\"void\"",
    "\"char\"",
    "\"byte\"",
    "\"short\"",
    "\"ushort\"",
    "\"int\"",
    "\"uint\"",
    "\"long\"",
    "\"ulong\"",
    "\"float\"",
    "\"double\"",
    "\"void*\"",
    "\"unsigned long long\"",
    "\"size_t\"",
    "\"int32_t\"",
    "\"uint8_t\"",
    "\"_Bool\"",
    "\"signed char\"",
    "\"int *\"",
    "\"void *\"",
    "\"char *\"",
    "\"struct fz_s1\"",
    "\"struct fz_s2\"",
    "\"union fz_u1\"",
    "\"enum fz_e1\"",
    "\"enum undeclared_e\"",
    "\"fz_t1\"",
    "\"fz_t2\"",
    "\"fz_t1 *\"",
    "\"int[4]\"",
    "\"int[2][3]\"",
    "\"const int\"",
    "\"volatile double\"",
    "\"long double\"",
    "\"__int128\"",
    "\"_Complex double\"",
    "\"int int\"",
    "\"struct\"",
    "\"\"",
    "\"\\0\"",
    "\"i32\\0\"",
    "\"uint23_t\"",
    "\"int (*)(int)\"",
    "\"struct nosuch\"",
    "\"long int\"",
    "\"unsigned\"",
    "\"int ******\"",
    "\"i32*\"",
    "\"P2\"",
    "P2",
    "ffi.types.int",
    "ffi.types.double",
    "T[1]",
    "T[2]",
    "T[3]",
    "T[4]",
    "T[5]",
    "T[6]",
    "\"int[1000000000000]\"",
    "\"char[0]\"",
    "\"int[-1]\"",
    "\"float[3]\"",
];

/// Types for layouts and signatures only: reading them dereferences a stored pointer.
const SIG_ONLY_TYPES: &[&str] = &[
    "\"string\"",
    "\"string16\"",
    "\"char*\"",
    "\"const char *\"",
    "\"void\"",
];

const FIELD_NAMES: &[&str] = &[
    "\"x\"",
    "\"y\"",
    "\"a\"",
    "\"b\"",
    "\"n\"",
    "\"name\"",
    "\"inner\"",
    "\"arr\"",
    "\"f1\"",
    "\"size\"",
    "\"type\"",
    "\"address\"",
    "\"fields\"",
    "\"\"",
    "\"\\0\"",
    "\"x\\0y\"",
    "string.rep(\"f\", 300)",
    "1",
    "true",
    "\"f0\"",
    "\"f2\"",
    "\"f3\"",
    "\"m0\"",
    "\"m1\"",
    "\"m2\"",
    "\"quot\"",
];

const NAMES: &[&str] = &[
    "\"abs\"",
    "\"strlen\"",
    "\"nosuch_fn\"",
    "\"\"",
    "\"\\0\"",
    "\"abs\\0x\"",
    "string.rep(\"q\", 5000)",
    "\"qsort\"",
    "\"getpid\"",
    "\"fz_f1\"",
    "\"FZ_K1\"",
    "\"FZ_D1\"",
    "\"fz_v1\"",
    "\"call\"",
    "\"func\"",
    "\"__index\"",
    "1",
];

/// Integer sources (sizes, counts, offsets, alignments, bytes).
const INTS: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "4",
    "7",
    "8",
    "15",
    "16",
    "17",
    "31",
    "32",
    "63",
    "64",
    "100",
    "255",
    "256",
    "1000",
    "4096",
    "65536",
    "-1",
    "-2",
    "-8",
    "-4096",
    "2^31",
    "2^31-1",
    "-2^31",
    "2^32",
    "2^32-1",
    "2^40",
    "2^40+1",
    "2^48",
    "2^52",
    "2^53",
    "2^53+2",
    "2^62",
    "2^63",
    "-2^63",
    "2^64",
    "1e300",
    "-1e300",
    "0.5",
    "1.5",
    "-0.5",
    "-0",
    "0/0",
    "math.huge",
    "-math.huge",
    "5e-324",
    "I(\"9223372036854775807\")",
    "I(\"-9223372036854775808\")",
    "I(\"0\")",
    "I(\"4\")",
    "I(\"-1\")",
    "I(\"4294967296\")",
    "nil",
    "true",
    "\"8\"",
    "\"0x10\"",
    "{}",
    "vector.create(1, 2, 3)",
];

const STRINGS: &[&str] = &[
    "\"\"",
    "\"a\"",
    "\"hello\"",
    "\"yyyyyyyy\"",
    "\"\\0\"",
    "\"a\\0b\"",
    "\"\\255\\254\"",
    "string.rep(\"A\", 100000)",
    "string.rep(\"\\0\", 64)",
    "\"%s%s%n\"",
    "\"\\xed\\xa0\\x80\"",
    "\"int\"",
    "\"struct fz_s1\"",
    "tostring(ffi.null)",
];

/// Luau sources of callback bodies; `BODY` is replaced by random statements.
const CB_BODIES: &[&str] = &[
    "function(...) return 0 end",
    "function(a) return a end",
    "function() error(\"cb boom\") end",
    "function() error({}) end",
    "function() error(setmetatable({}, { __tostring = function() error(\"tostring boom\") end })) end",
    "function(...) BODY return ... end",
    "function(...) BODY return 1 end",
    "function() coroutine.yield() end",
    "function() task.wait() end",
    "function() return nil end",
    "function() return \"str\" end",
    "function() return 2^70 end",
    "function() return 0/0 end",
    "function() return { x = 1 } end",
    "function() return V[1] end",
    "function() return ffi.null end",
    "function() return CB[1] end",
];

/// Issues known while the fuzzer was written (all fixed since), each a construct the
/// generator makes only when named in `LUNE_FFI_FUZZ_KNOWN` (a comma list; every one by
/// default, none with `none`):
/// - `cbmem`: a Callback taken as memory by ffi.fill/copy/read/write/cast/view (item 7);
/// - `nullptr`: pointers derived from NULL by arithmetic are unbounded (item 7);
/// - `freecall`: `arena:free()` while a C call (qsort, sync or async) uses its memory (F2);
/// - `eager`: huge over-aligned allocations and table initialisers of huge records (item 8);
/// - `coro`: resuming by hand a coroutine that waits in the scheduler (item 9);
/// - `flex`: flexible and zero-length array members in random `cdef` text (item 1).
/// - `dym`: 100,000-character unknown type names (the did-you-mean search costs seconds,
///   item 8; otherwise such strings are 4,000 characters, and 1,000,000-character strings
///   go only where they are data).
pub const KNOWN_ISSUES: &[&str] = &[
    "cbmem", "nullptr", "freecall", "eager", "coro", "flex", "dym",
];

pub struct Gen {
    pub rng: Rng,
    /// Also generate constructs that reach known issues owned by other workers.
    pub known: Vec<String>,
    depth: usize,
}

impl Gen {
    pub fn new(seed: u64, known: Vec<String>) -> Gen {
        Gen {
            rng: Rng::new(seed),
            known,
            depth: 0,
        }
    }

    /// Whether constructs reaching the known issue `name` are on (see `KNOWN_ISSUES`).
    fn knows(&self, name: &str) -> bool {
        self.known.iter().any(|k| k == name)
    }

    fn known_table(&self) -> String {
        let xs: Vec<String> = self.known.iter().map(|k| format!("{} = true", k)).collect();
        format!("{{ {} }}", xs.join(", "))
    }

    fn p<'a>(&mut self, xs: &'a [&'a str]) -> String {
        self.rng.pick(xs).to_string()
    }

    fn v(&mut self) -> String {
        format!("V[{}]", 1 + self.rng.below(NV))
    }
    fn o(&mut self) -> String {
        format!("O[{}]", 1 + self.rng.below(NO))
    }
    fn a(&mut self) -> String {
        format!("A[{}]", 1 + self.rng.below(NA))
    }
    fn t(&mut self) -> String {
        format!("T[{}]", 1 + self.rng.below(NT))
    }
    fn cb(&mut self) -> String {
        format!("CB[{}]", 1 + self.rng.below(NCB))
    }

    fn int(&mut self) -> String {
        if self.rng.chance(40) {
            let n = if self.rng.chance(50) { 16 } else { 300 };
            format!("{}", self.rng.below(n))
        } else {
            self.p(INTS)
        }
    }
    fn small_int(&mut self) -> String {
        if self.rng.chance(85) {
            format!("{}", self.rng.below(40))
        } else {
            self.int()
        }
    }
    fn mem_type(&mut self) -> String {
        self.p(MEM_TYPES)
    }
    fn any_type(&mut self) -> String {
        if self.rng.chance(15) {
            self.p(SIG_ONLY_TYPES)
        } else if self.rng.chance(5) {
            self.any()
        } else {
            self.mem_type()
        }
    }

    /// Memory that may be read and written: bounded pointers, views, buffers, and wrong
    /// kinds that must be refused.
    fn mem(&mut self) -> String {
        match self.rng.below(20) {
            0 => "ffi.null".into(),
            1 => "nil".into(),
            2 => format!("buffer.create({})", self.small_int()),
            3 => "B".into(),
            4 => self.t(),
            5 => self.a(),
            6 => self.p(STRINGS),
            7 => self.p(INTS),
            8 => "{}".into(),
            // A Callback taken as memory is item 7 (the lead's); CBX[i] is nil.
            9 if self.knows("cbmem") => self.cb(),
            9 => "CBX[1]".into(),
            _ => self.v(),
        }
    }

    /// Any value: edge cases of every Luau type, and every kind of lune-ffi object.
    fn any(&mut self) -> String {
        match self.rng.below(24) {
            0..=4 => self.int(),
            5 | 6 => self.p(STRINGS),
            7 => "nil".into(),
            8 => "function() end".into(),
            9 => "coroutine.create(function() end)".into(),
            10 => format!("buffer.create({})", self.small_int()),
            11 => self.t(),
            12 => self.a(),
            13 => self.cb(),
            14 => self.o(),
            15 => "ffi.null".into(),
            16 => "ffi.C".into(),
            17 => "ffi".into(),
            18 => self.table_init(),
            19 => "newproxy(true)".into(),
            20 => "ffi.types".into(),
            21 => "LIB".into(),
            _ => self.v(),
        }
    }

    fn table_init(&mut self) -> String {
        let n = self.rng.below(4);
        let mut parts = Vec::new();
        for _ in 0..n {
            let v = match self.rng.below(6) {
                0 => self.table_init_shallow(),
                1 => self.p(STRINGS),
                2 => self.v(),
                _ => self.int(),
            };
            if self.rng.chance(70) {
                let k = self.p(FIELD_NAMES);
                parts.push(format!("[{}] = {}", k, v));
            } else {
                parts.push(v);
            }
        }
        format!("{{ {} }}", parts.join(", "))
    }
    fn table_init_shallow(&mut self) -> String {
        let n = self.rng.below(4);
        let xs: Vec<String> = (0..n).map(|_| self.int()).collect();
        format!("{{ {} }}", xs.join(", "))
    }

    fn field_spec(&mut self) -> String {
        let name = if self.rng.chance(90) {
            format!("\"f{}\"", self.rng.below(6))
        } else {
            self.p(FIELD_NAMES)
        };
        let ty = if self.rng.chance(10) {
            self.any()
        } else {
            self.mem_type()
        };
        match self.rng.below(10) {
            0 => format!("{{ {}, {}, {} }}", name, ty, self.int()),
            1 => format!("{{ {}, {}, {} }}", name, ty, self.small_int()),
            2 => format!("{{ {}, {}, bits = {} }}", name, ty, self.small_int()),
            3 => format!("{{ {}, {}, align = {} }}", name, ty, self.small_int()),
            4 => format!("{{ {}, {}, bogus = 1 }}", name, ty),
            5 => format!("{{ {} }}", name),
            6 => self.any(),
            _ => format!("{{ {}, {} }}", name, ty),
        }
    }

    fn struct_opts(&mut self) -> String {
        match self.rng.below(8) {
            0 => "{ packed = true }".into(),
            1 => format!("{{ pack = {} }}", self.small_int()),
            2 => format!("{{ align = {} }}", self.small_int()),
            3 => "{ bogus = true }".into(),
            4 => self.any(),
            _ => "nil".into(),
        }
    }

    fn sig(&mut self) -> usize {
        self.rng.below(SIGS.len())
    }

    /// Arguments for a call of signature `s`: usually well-typed values, sometimes wrong.
    fn sig_args(&mut self, s: usize) -> String {
        let args = SIGS[s].1;
        let n = args.matches('"').count() / 2 + args.matches("P2").count();
        let n = if self.rng.chance(10) {
            self.rng.below(5)
        } else {
            n
        };
        let mut xs = Vec::new();
        for _ in 0..n {
            xs.push(if self.rng.chance(60) {
                self.small_int()
            } else {
                self.any_arg()
            });
        }
        xs.join(", ")
    }
    /// An argument for a call: never an opaque pointer where C or a callback could read it.
    fn any_arg(&mut self) -> String {
        let s = self.any();
        if s.starts_with("O[") {
            "V[1]".into()
        } else {
            s
        }
    }

    fn cb_body(&mut self) -> String {
        let b = self.p(CB_BODIES);
        if b.contains("BODY") {
            let mut body = String::new();
            if self.depth < 2 {
                self.depth += 1;
                for _ in 0..1 + self.rng.below(3) {
                    body.push_str(&format!("S(function() {} end) ", self.stmt()));
                }
                self.depth -= 1;
            }
            b.replace("BODY", &body)
        } else {
            b
        }
    }

    /// Random C declarations: structs (nested, bitfields, arrays, attributes), unions,
    /// enums with expressions, typedefs, defines, prototypes (names that no library
    /// exports), externs.
    pub fn cdef_text(&mut self) -> String {
        let mut out = String::new();
        for _ in 0..1 + self.rng.below(4) {
            out.push_str(&self.cdecl());
            out.push('\n');
        }
        out
    }

    fn ctype(&mut self) -> String {
        let base = [
            "int",
            "char",
            "unsigned char",
            "short",
            "long",
            "long long",
            "unsigned",
            "float",
            "double",
            "size_t",
            "uint8_t",
            "int64_t",
            "_Bool",
            "void *",
            "int *",
            "struct fz_s1",
            "struct fz_s2",
            "union fz_u1",
            "enum fz_e1",
            "fz_t1",
            "fz_t2",
            "struct fz_s1 *",
            "long double",
            "__int128",
            "unsigned long int",
            "const int",
            "signed",
            "void",
            "struct fz_new",
            "int (*)(int)",
        ];
        base[self.rng.below(base.len())].to_string()
    }

    fn cexpr(&mut self, d: usize) -> String {
        if d > 3 || self.rng.chance(40) {
            let atoms = [
                "0",
                "1",
                "-1",
                "42",
                "0x7fffffff",
                "0xffffffff",
                "0xffffffffffffffffull",
                "-1ull",
                "1ULL << 63",
                "(0ULL - 2)",
                "~(size_t)0",
                "9223372036854775807",
                "18446744073709551615",
                "FZ_K1",
                "FZ_D1",
                "'a'",
                "'\\0'",
                "sizeof(int)",
                "sizeof(struct fz_s1)",
                "1 << 31",
                "1 << 64",
                "1 / 0",
                "1 % 0",
                "(-2147483647 - 1) / -1",
                "0x",
                "1e3",
                "077",
                "08",
                "\"s\"",
            ];
            return atoms[self.rng.below(atoms.len())].to_string();
        }
        let ops = [
            "+", "-", "*", "/", "%", "<<", ">>", "&", "|", "^", "&&", "||", "==", "<",
        ];
        match self.rng.below(5) {
            0 => format!("-({})", self.cexpr(d + 1)),
            1 => format!("~{}", self.cexpr(d + 1)),
            2 => format!(
                "({}) ? ({}) : ({})",
                self.cexpr(d + 1),
                self.cexpr(d + 1),
                self.cexpr(d + 1)
            ),
            _ => {
                let op = ops[self.rng.below(ops.len())];
                format!("({} {} {})", self.cexpr(d + 1), op, self.cexpr(d + 1))
            }
        }
    }

    fn cfield(&mut self, d: usize) -> String {
        let name = format!("m{}", self.rng.below(5));
        match self.rng.below(12) {
            0 if d < 3 => format!("struct {{ {} }} {};", self.cfields(d + 1), name),
            1 if d < 3 => format!("union {{ {} }};", self.cfields(d + 1)),
            2 => format!("unsigned {} : {};", name, self.rng.below(40)),
            3 => format!("int : {};", self.rng.below(33)),
            4 => format!("{} {}[{}];", self.ctype(), name, 1 + self.rng.below(8)),
            5 => format!(
                "{} {}[{}][{}];",
                self.ctype(),
                name,
                1 + self.rng.below(4),
                self.cexpr(2)
            ),
            6 => format!(
                "{} {} __attribute__((aligned({})));",
                self.ctype(),
                name,
                1 << self.rng.below(8)
            ),
            7 => format!(
                "{} (*{})({}, {});",
                self.ctype(),
                name,
                self.ctype(),
                self.ctype()
            ),
            8 if self.knows("flex") => format!("int {}[];", name),
            _ => format!("{} {};", self.ctype(), name),
        }
    }
    fn cfields(&mut self, d: usize) -> String {
        let n = 1 + self.rng.below(4);
        (0..n).map(|_| self.cfield(d)).collect::<Vec<_>>().join(" ")
    }

    fn cdecl(&mut self) -> String {
        let s = self.rng.below(4);
        match self.rng.below(14) {
            0 | 1 => format!("struct fz_s{} {{ {} }};", s, self.cfields(0)),
            2 => format!("union fz_u{} {{ {} }};", s, self.cfields(0)),
            3 => format!(
                "struct __attribute__((packed)) fz_s{} {{ {} }};",
                s,
                self.cfields(0)
            ),
            4 => format!(
                "enum fz_e{} {{ FZ_K{} = {}, FZ_K{}, FZ_K{} = {} }};",
                s,
                s,
                self.cexpr(0),
                s + 10,
                s + 20,
                self.cexpr(0)
            ),
            5 => format!("#define FZ_D{} {}", s, self.cexpr(0)),
            6 => format!("typedef {} fz_t{};", self.ctype(), s),
            7 => format!("typedef struct fz_s{} fz_t{};", s, s),
            8 => format!(
                "{} fz_f{}({}, {});",
                self.ctype(),
                s,
                self.ctype(),
                self.ctype()
            ),
            9 => format!("int fz_f{}(const char *, ...);", s),
            10 => format!("extern {} fz_v{};", self.ctype(), s),
            11 => format!("typedef {} fz_t{}[{}];", self.ctype(), s, self.cexpr(1)),
            12 => format!(
                "#pragma pack({})\nstruct fz_s{} {{ {} }};\n#pragma pack()",
                1 << self.rng.below(6),
                s,
                self.cfields(0)
            ),
            _ => format!("struct fz_s{};", s),
        }
    }

    /// Byte-level mutations of declaration text (never creating a flexible array, which
    /// is item 1, unless `known`).
    fn mutate(&mut self, text: &str) -> String {
        let mut b: Vec<u8> = text.as_bytes().to_vec();
        let junk: &[&[u8]] = &[
            b"(",
            b")",
            b"{",
            b"}",
            b"[",
            b"]",
            b"*",
            b";",
            b",",
            b"struct ",
            b"int ",
            b"\0",
            b"\n#define ",
            b"...",
            b"/*",
            b"\"",
            b"'",
            b"0x",
            b"__attribute__((",
            b"999999999999",
            b"\\",
            b"#",
            b"typedef ",
            b"enum { ",
            b":",
            b"=",
            b"~",
            b"\xff",
        ];
        for _ in 0..1 + self.rng.below(4) {
            if b.is_empty() {
                break;
            }
            let i = self.rng.below(b.len());
            match self.rng.below(5) {
                0 => {
                    let n = self.rng.below(8).min(b.len() - i);
                    b.drain(i..i + n);
                }
                1 | 2 => {
                    let j = junk[self.rng.below(junk.len())];
                    b.splice(i..i, j.iter().copied());
                }
                3 => {
                    let j = self.rng.below(b.len());
                    // Duplicate a piece of at most 200 bytes.
                    let lo = i.min(j);
                    let hi = i.max(j).min(lo + 200);
                    let piece: Vec<u8> = b[lo..hi].to_vec();
                    b.splice(i..i, piece);
                }
                _ => b.truncate(i),
            }
        }
        let s: String = b.iter().map(|&c| lua_byte(c)).collect();
        if !self.knows("flex") && (s.contains("[]") || s.contains("[0]") || s.contains("[ ]")) {
            return s
                .replace("[]", "[1]")
                .replace("[0]", "[1]")
                .replace("[ ]", "[1]");
        }
        s
    }

    fn cdef_stmt(&mut self) -> String {
        let text = self.cdef_text();
        let lit: String = text.bytes().map(lua_byte).collect();
        match self.rng.below(10) {
            0..=4 => format!("ffi.cdef(\"{}\")", lit),
            5..=7 => format!("ffi.cdef(\"{}\")", self.mutate(&text)),
            8 => format!(
                "ffi.cdef(string.rep(\"{}\", {}))",
                lit,
                [1, 2, 10, 100][self.rng.below(4)]
            ),
            _ => format!("ffi.cdef({})", self.any()),
        }
    }

    /// One statement (without the pcall wrapper).
    pub fn stmt(&mut self) -> String {
        let k = self.rng.below(100);
        match k {
            // Arenas.
            0..=2 => format!("{} = ffi.arena()", self.a()),
            3..=7 => {
                let align = if self.rng.chance(50) {
                    String::new()
                } else {
                    format!(", {}", self.small_int_or_align())
                };
                format!(
                    "{} = ALLOC({}, {}{})",
                    self.v(),
                    self.a(),
                    self.alloc_size(),
                    align
                )
            }
            8..=10 => format!(
                "{} = {}:allocArray({}, {})",
                self.v(),
                self.a(),
                self.mem_type(),
                self.alloc_count()
            ),
            11..=13 => format!(
                "{} = NEW({}, {}, {})",
                self.v(),
                self.a(),
                self.struct_ty(),
                if self.rng.chance(60) {
                    self.table_init()
                } else {
                    "nil".into()
                }
            ),
            14 if self.rng.chance(20) => format!(
                "{} = {}:string(string.rep(\"B\", 1000000))",
                self.v(),
                self.a()
            ),
            14 => format!(
                "{} = {}:string({})",
                self.v(),
                self.a(),
                if self.rng.chance(80) {
                    self.p(STRINGS)
                } else {
                    self.any()
                }
            ),
            15 => format!("{}:free()", self.a()),
            16 => format!(
                "{}.{}({}, {})",
                self.a(),
                ["alloc", "allocArray", "new", "string", "free"][self.rng.below(5)],
                self.any(),
                self.any()
            ),
            // Records.
            17..=20 => {
                let n = self.rng.below(5);
                let fs: Vec<String> = (0..n).map(|_| self.field_spec()).collect();
                let which = if self.rng.chance(75) {
                    "struct"
                } else {
                    "union"
                };
                format!(
                    "{} = ffi.{}({{ {} }}, {})",
                    self.t(),
                    which,
                    fs.join(", "),
                    self.struct_opts()
                )
            }
            21 => format!(
                "O[1] = {}.{}",
                self.t(),
                ["size", "alignment", "fields", "nosuch", "offsetof"][self.rng.below(5)]
            ),
            22 => format!("O[2] = {}:offsetof({})", self.t(), self.p(FIELD_NAMES)),
            // Views and casts.
            23..=25 => format!(
                "{} = ffi.view({}, {})",
                self.v(),
                self.mem(),
                self.struct_ty()
            ),
            26..=29 => format!(
                "{} = K(ffi.cast({}, {}))",
                self.v(),
                self.mem(),
                self.mem_type()
            ),
            30 => format!("O[3] = ffi.sizeof({})", self.any_type()),
            31 => format!("O[4] = ffi.alignof({})", self.any_type()),
            // Bulk memory.
            32..=34 => format!(
                "ffi.fill({}, {}, {})",
                self.mem(),
                self.mem_len(),
                self.int()
            ),
            35..=37 => format!(
                "ffi.copy({}, {}, {})",
                self.mem(),
                self.mem(),
                self.mem_len()
            ),
            38 => format!(
                "{} = ffi.string({}{})",
                self.o(),
                self.mem(),
                if self.rng.chance(50) {
                    format!(", {}", self.mem_len())
                } else {
                    String::new()
                }
            ),
            39..=42 => {
                let ty = if self.rng.chance(30) {
                    String::new()
                } else {
                    format!(", {}", self.mem_type())
                };
                format!(
                    "{} = K(ffi.read({}, {}{}))",
                    self.v(),
                    self.mem(),
                    self.small_int(),
                    ty
                )
            }
            43..=46 => {
                let ty = if self.rng.chance(30) {
                    String::new()
                } else {
                    format!(", {}", self.mem_type())
                };
                format!(
                    "ffi.write({}, {}, {}{})",
                    self.mem(),
                    self.small_int(),
                    self.any_arg(),
                    ty
                )
            }
            // Pointer metamethods and properties.
            47..=49 => format!("{} = ADD({}, {})", self.v(), self.v(), self.small_int()),
            50 => format!("{} = ADD({}, -({}))", self.v(), self.v(), self.small_int()),
            51 => format!(
                "{} = {} - {}",
                self.o(),
                self.v(),
                if self.rng.chance(50) {
                    self.v()
                } else {
                    self.any()
                }
            ),
            52 => format!("{} = {} + {}", self.o(), self.any(), self.any()),
            53 => format!("{} = #{}", self.o(), self.v()),
            54..=56 => format!("{} = K({}[{}])", self.v(), self.v(), self.small_int()),
            57..=59 => format!("{}[{}] = {}", self.v(), self.small_int(), self.any_arg()),
            60..=61 => format!("{} = K({}[{}])", self.v(), self.v(), self.p(FIELD_NAMES)),
            62..=63 => format!("{}[{}] = {}", self.v(), self.p(FIELD_NAMES), self.any_arg()),
            64 => format!(
                "O[5] = ({} {} {})",
                self.any(),
                ["==", "<", "<=", ">", "~="][self.rng.below(5)],
                self.any()
            ),
            65 => format!("O[6] = tostring({})", self.any()),
            66 => format!(
                "O[7] = ({}).{}",
                self.any(),
                ["address", "type", "isNull", "ptr", "size"][self.rng.below(5)]
            ),
            67 => format!("O[8] = ({}):isNull()", self.any()),
            68 => format!("{} = ffi.ptr({})", self.o(), self.int()),
            69 => format!(
                "{} = {}",
                self.o(),
                [
                    "-V[1]",
                    "V[1] * 2",
                    "V[1] .. \"\"",
                    "V[1]()",
                    "#V[2]",
                    "V[1] // 1",
                    "getmetatable(V[1])",
                    "T[1]()",
                    "A[1][1]",
                    "A[1].x",
                    "rawequal(V[1], V[1])"
                ][self.rng.below(11)]
            ),
            // Calls into C, with arguments C is defined for.
            70..=72 => self.c_call(),
            // Callbacks.
            73 => {
                // A signature of random records by value (packed, unions, bitfields, arrays,
                // over-aligned): the ABI classification and the trampolines' struct paths.
                let pick = |g: &mut Gen| -> String {
                    let xs = [
                        "T[1]",
                        "T[2]",
                        "T[3]",
                        "T[4]",
                        "T[5]",
                        "T[6]",
                        "P2",
                        "\"i32\"",
                        "\"f32\"",
                        "\"f64\"",
                        "\"i64\"",
                        "\"u8\"",
                        "\"pointer\"",
                    ];
                    xs[g.rng.below(xs.len())].to_string()
                };
                let ret = if self.rng.chance(20) {
                    "\"void\"".to_string()
                } else {
                    pick(self)
                };
                let n = self.rng.below(5);
                let args: Vec<String> = (0..n).map(|_| pick(self)).collect();
                let body = if self.rng.chance(50) {
                    "function(a) return a end".to_string()
                } else {
                    self.cb_body()
                };
                let i = 1 + self.rng.below(NCB);
                format!(
                    "local sg = #SIGS + 1 SIGS[sg] = {{ {}, {{ {} }} }} CB[{}], CBS[{}] = ffi.callback({}, SIGS[sg][1], SIGS[sg][2]), sg",
                    ret,
                    args.join(", "),
                    i,
                    i,
                    body
                )
            }
            74..=75 => {
                let s = self.sig();
                let body = self.cb_body();
                let (ret, args) = SIGS[s];
                let i = 1 + self.rng.below(NCB);
                format!(
                    "CB[{}], CBS[{}] = ffi.callback({}, {}, {}), {}",
                    i,
                    i,
                    body,
                    ret,
                    args,
                    s + 1
                )
            }
            76 => format!("{}:free()", self.cb()),
            77 => format!("O[1] = {}.ptr", self.cb()),
            78..=80 => {
                let i = 1 + self.rng.below(NCB);
                // FK keeps the Callback alive as long as the bound function: a collected
                // callback's thunk going to another signature is item 6.
                let k = 1 + self.rng.below(NF);
                format!(
                    "F[{}] = ffi.fn(CB[{}], SIGS[CBS[{}]][1], SIGS[CBS[{}]][2]) FK[{}] = CB[{}]",
                    k, i, i, i, k, i
                )
            }
            81..=83 => {
                let i = 1 + self.rng.below(NF);
                let s = self.sig();
                format!("O[2] = F[{}]({})", i, self.sig_args(s))
            }
            84 => format!(
                "O[3] = ffi.callback({}, {}, {})",
                self.any(),
                self.any_type(),
                if self.rng.chance(50) {
                    format!("{{ {} }}", self.any_type())
                } else {
                    self.any()
                }
            ),
            85 => format!(
                "O[4] = ffi.fn({}, {}, {})",
                self.any_arg().replace("V[", "CB["),
                self.any_type(),
                self.any()
            ),
            86 => self.qsort(),
            // Declarations.
            87..=91 => self.cdef_stmt(),
            92 => format!("O[5] = ffi.C[{}]", self.p(NAMES)),
            // Libraries.
            93 => format!(
                "O[6] = ffi.load({})",
                if self.rng.chance(70) {
                    self.p(STRINGS)
                } else {
                    self.any()
                }
            ),
            94 => format!("O[7] = LIB:symbol({})", self.p(NAMES)),
            95 => format!(
                "O[8] = LIB:{}({}, {}, {{ {} }})",
                ["func", "async"][self.rng.below(2)],
                self.p(NAMES),
                self.any_type(),
                self.any_type()
            ),
            96 => self.async_call(),
            // Scheduling and garbage.
            97 => "CHURN()".into(),
            98 => {
                // Resuming by hand a coroutine that waits in the scheduler is item 9 (the
                // callbacks/runtime worker's): coroutine.wrap only with `known`.
                let how = match self.rng.below(if self.knows("coro") { 4 } else { 3 }) {
                    0 => "task.spawn(function() S(function() {} end) end)",
                    1 => "task.defer(function() S(function() {} end) end)",
                    2 => "task.delay(0, function() S(function() {} end) end)",
                    _ => "coroutine.wrap(function() S(function() {} end) end)()",
                };
                how.replace("{}", &self.stmt_nested())
            }
            _ => match self.rng.below(5) {
                0 => format!("O[1] = ffi.{}()", ["errno", "lastError"][self.rng.below(2)]),
                1 => format!("{} = ffi.buffer({})", self.v(), self.alloc_size()),
                2 => format!("O[2] = ffi.open({})", self.p(STRINGS)),
                3 => format!("O[3] = ABS_FUNC({})", self.any_arg()),
                _ => format!("O[4] = STRLEN_FUNC({})", self.safe_str()),
            },
        }
    }

    fn stmt_nested(&mut self) -> String {
        if self.depth >= 2 {
            return "CHURN()".into();
        }
        self.depth += 1;
        let s = self.stmt();
        self.depth -= 1;
        s
    }

    fn small_int_or_align(&mut self) -> String {
        if self.rng.chance(60) {
            format!("{}", 1usize << self.rng.below(13))
        } else {
            self.int()
        }
    }
    fn alloc_size(&mut self) -> String {
        if self.rng.chance(80) {
            format!("{}", 1 + self.rng.below(256))
        } else {
            self.int()
        }
    }
    fn alloc_count(&mut self) -> String {
        if self.rng.chance(80) {
            format!("{}", 1 + self.rng.below(32))
        } else {
            self.int()
        }
    }
    fn mem_len(&mut self) -> String {
        if self.rng.chance(70) {
            format!("{}", self.rng.below(300))
        } else {
            self.int()
        }
    }
    fn struct_ty(&mut self) -> String {
        match self.rng.below(6) {
            0 => "P2".into(),
            1 => self.mem_type(),
            2 => self.any(),
            _ => self.t(),
        }
    }

    /// Calls of C functions with arguments they are defined for (or refused by the
    /// conversion before C runs).
    fn c_call(&mut self) -> String {
        let s = self.safe_str();
        let i = self.int();
        match self.rng.below(12) {
            0 => format!("O[1] = ffi.C.abs({})", i),
            1 => format!("O[1] = ffi.C.strlen({})", s),
            2 => format!(
                "O[1] = LIB:call(\"strlen\", \"usize\", {{ \"string\" }}, {})",
                s
            ),
            3 => format!("O[1] = LIB:callInt(\"abs\", {{ \"i32\" }}, {})", i),
            4 => format!("O[1] = LIB:callDouble(\"fabs\", {{ \"f64\" }}, {})", i),
            5 => format!("O[1] = LIB:callString(\"getenv\", {{ \"string\" }}, {})", s),
            6 => format!("LIB:callVoid(\"srand\", {{ \"u32\" }}, {})", i),
            7 => format!(
                "{} = LIB:call(\"div\", DIV, {{ \"i32\", \"i32\" }}, {}, {})",
                self.v(),
                i,
                {
                    // Never 0 or -1: C's division traps on them (SIGFPE is C's, not ours).
                    self.p(&["7", "-3", "2", "nil", "\"x\"", "1.5", "2^40", "0/0", "V[1]"])
                }
            ),
            8 => format!("O[1] = SNPRINTF({}, {}, {})", self.v(), i, s),
            9 => format!("O[1] = ffi.C.atoi({})", s),
            10 => format!(
                "O[1] = LIB:call({}, {}, {{ {} }}, {})",
                self.p(&[
                    "\"nosuch_fn\"",
                    "\"\"",
                    "\"\\0\"",
                    "string.rep(\"x\", 10000)"
                ]),
                self.any_type(),
                self.any_type(),
                self.any_arg()
            ),
            _ => format!("O[1] = ffi.C.labs({})", i),
        }
    }
    /// A string argument C reads (never nil or a pointer: strlen(NULL) is C's crash).
    fn safe_str(&mut self) -> String {
        match self.rng.below(5) {
            0 => self.int().replace("nil", "0"),
            1 if self.rng.chance(50) => "{}".into(),
            1 => "string.rep(\"B\", 1000000)".into(),
            _ => self.p(STRINGS),
        }
    }

    fn qsort(&mut self) -> String {
        let n = self.rng.below(40);
        let cmp = match self.rng.below(4) {
            0 => format!("CB[{}]", 1 + self.rng.below(NCB)),
            1 => "CMP".into(),
            _ => self
                .cb_body()
                .replace("function(...)", "function(pa, pb, ...)")
                .replace(" return ... end", " return CMPF(pa, pb) end"),
        };
        // CB[i] is passed only when it has the comparator's signature; otherwise the call
        // is refused or runs a different signature through qsort (inherently unsafe).
        let guard = if cmp.starts_with("CB[") {
            format!("if CBS[{}] ~= 1 then return end ", &cmp[3..cmp.len() - 1])
        } else {
            String::new()
        };
        let f = if self.rng.chance(20) {
            "QSORT_ASYNC"
        } else {
            "ffi.C.qsort"
        };
        // Freeing the arena under a call in progress is finding F2 (the lead's): QA is
        // never freed.
        let arena = if self.knows("freecall") {
            self.a()
        } else {
            "QA".to_string()
        };
        if f == "QSORT_ASYNC" {
            format!("{}local arr = {}:allocArray(\"i32\", {}) for i = 0, #arr - 1 do arr[i] = (i * 7919) % 101 end task.spawn(function() S(function() QSORT_ASYNC(arr, #arr, 4, {}) end) end)", guard, arena, n.max(1), cmp)
        } else {
            format!("{}local arr = {}:allocArray(\"i32\", {}) for i = 0, #arr - 1 do arr[i] = (i * 7919) % 101 end {}(arr, #arr, 4, {})", guard, arena, n.max(1), f, cmp)
        }
    }

    fn async_call(&mut self) -> String {
        let arg = [
            "0", "1", "100", "1000", "-1", "0.5", "nil", "\"x\"", "2^40", "V[1]",
        ][self.rng.below(10)];
        match self.rng.below(3) {
            0 => format!(
                "task.spawn(function() S(function() O[1] = USLEEP({}) end) end)",
                arg
            ),
            1 => format!(
                "task.spawn(function() S(function() O[1] = ABS_ASYNC({}) end) end)",
                self.int()
            ),
            _ => format!("O[1] = ABS_ASYNC({})", self.int()),
        }
    }

    /// A whole script: the prelude, then `n` statements, one per line.
    pub fn script(&mut self, n: usize) -> String {
        let mut s = String::from(PRELUDE).replace("KNOWN_FLAG", &self.known_table());
        s.push_str(&format!(
            "-- statements: {}, known issues: {}\n",
            n,
            self.known.join(",")
        ));
        for _ in 0..n {
            let st = self.stmt();
            s.push_str("S(function() ");
            s.push_str(&st);
            s.push_str(" end)\n");
        }
        s.push_str(EPILOGUE);
        if !self.knows("dym") {
            s = s.replace("string.rep(\"A\", 100000)", "string.rep(\"A\", 4000)");
        }
        s
    }
}

/// A byte as it appears inside a Luau double-quoted string literal.
fn lua_byte(c: u8) -> String {
    match c {
        b'"' => "\\\"".into(),
        b'\\' => "\\\\".into(),
        b'\n' => "\\n".into(),
        0x20..=0x7e => (c as char).to_string(),
        _ => format!("\\{}", c),
    }
}

/// Runs before the statements: pools, helpers and the safe declarations (declared first,
/// so a random `cdef` redeclaring them differently is a conflict, never a new prototype).
pub const PRELUDE: &str = r#"--!nocheck
local ffi = require("@lune/ffi")
local task = require("@lune/task")
local I = integer.fromstring
local KNOWN = KNOWN_FLAG
local OKS, ERRS = 0, 0
local function S(f) if pcall(f) then OKS += 1 else ERRS += 1 end end
ffi.cdef([[
typedef unsigned long size_t;
int abs(int);
long labs(long);
size_t strlen(const char *s);
int atoi(const char *s);
void qsort(void *base, size_t nmemb, size_t size, int (*compar)(const void *, const void *));
int snprintf(char *str, size_t size, const char *format, ...);
]])
local LIB = ffi.load()
local P2 = ffi.struct({ { "x", "i32" }, { "y", "f64" } })
local DIV = ffi.struct({ { "quot", "i32" }, { "rem", "i32" } })
local SIGS = {
	{ "i32", { "pointer", "pointer" } },
	{ "void", {} },
	{ "i32", { "i32" } },
	{ "f64", { "f64", "i32" } },
	{ "i64", { "i64", "u64" } },
	{ "u8", { "u8", "bool" } },
	{ "pointer", { "pointer" } },
	{ "bool", { "i16", "u16", "i8" } },
	{ "f32", { "f32", "f32", "f32", "f32", "f32", "f32", "f32", "f32", "f32", "i32", "i32", "i32", "i32", "i32", "i32", "i32" } },
	{ P2, { P2, "i32" } },
	{ "i32", { "i32", "...", "f64", "i64" } },
	{ "usize", { "usize", "isize" } },
}
local A, V, O, T, CB, CBS, F, FK, CBX = {}, {}, {}, {}, {}, {}, {}, {}, {}
for i = 1, 4 do A[i] = ffi.arena() end
local QA = ffi.arena()
local B = buffer.create(64)
V[1] = A[1]:alloc(64)
V[2] = A[2]:allocArray("i32", 16)
V[3] = A[1]:new(P2, { x = 1, y = 2 })
V[4] = ffi.cast(B, "u8")
V[5] = ffi.view(B, P2)
V[6] = A[3]:string("hello")
V[7] = A[4]:allocArray(P2, 4)
do local dead = ffi.arena(); V[8] = dead:alloc(32); V[9] = ffi.cast(dead:alloc(8), "i64"); dead:free() end
V[10] = ffi.null
V[11] = LIB:call("div", DIV, { "i32", "i32" }, 17, 5)
V[12] = ffi.cast(V[1], "f64") + 2
for i = 1, 6 do T[i] = ffi.struct({ { "f0", "i32" }, { "f1", "u8", i }, { "f2", P2 } }) end
T[6] = ffi.union({ { "f0", "f64" }, { "f1", "u8", 3 } })
local function K(x)
	-- Keeps a read result in V only when its bounds are known (a view of inline memory,
	-- a typed pointer whose length is known); anything else may hold any address.
	local t = typeof(x)
	if t == "userdata" then
		local s = tostring(x)
		if string.find(s, "^StructView") then return x end
		if string.find(s, "^TypedPointer") and pcall(function() return #x end) and x.address ~= 0 then return x end
	elseif t == "buffer" then
		return x
	end
	O[1] = x
	return nil
end
local function ADD(p, n)
	-- Pointers derived from NULL are unbounded (item 7, the lead's): not dereferenced.
	local q = p + n
	if p.address == 0 and not KNOWN.nullptr then O[2] = q return nil end
	return q
end
-- Eager zeroing of huge over-aligned allocations and element-by-element table
-- initialisers of huge arrays are item 8 (the lead's): seconds to minutes, not crashes.
local function ALLOC(a, size, ...)
	local align = ...
	if not KNOWN.eager and type(size) == "number" and size > 2^24 and type(align) == "number" and align > 16 then
		return a:alloc(size)
	end
	return a:alloc(size, ...)
end
local function NEW(a, ty, init)
	if not KNOWN.eager and (pcall(function() return ffi.sizeof(ty) > 2^24 end) and ffi.sizeof(ty) > 2^24) then
		if init ~= nil or ffi.alignof(ty) > 16 then error("skipped: item 8") end
	end
	return a:new(ty, init)
end
local function CHURN()
	local t = {}
	for i = 1, 2000 do t[i] = { i, tostring(i) } end
	local s = string.rep("x", 100000)
	return #t + #s
end
local CMPF = function(pa, pb)
	local a, b = ffi.cast(pa, "i32")[0], ffi.cast(pb, "i32")[0]
	return if a < b then -1 elseif a > b then 1 else 0
end
local CMP = ffi.callback(CMPF, "i32", { "pointer", "pointer" })
local USLEEP = LIB:async("usleep", "i32", { "u32" })
local ABS_FUNC = LIB:func("abs", "i32", { "i32" })
local STRLEN_FUNC = LIB:func("strlen", "usize", { "string" })
local ABS_ASYNC = LIB:async("abs", "i32", { "i32" })
local QSORT_ASYNC = LIB:async("qsort", "void", { "pointer", "usize", "usize", "pointer" })
local function SNPRINTF(p, n, s)
	-- Within the buffer's known length; the format's conversions match their arguments.
	local len = math.min(#ffi.cast(p, "u8"), 32)
	if type(s) ~= "string" then s = tostring(s) end
	return ffi.C.snprintf(p, len, "%d:%s", n, s)
end
"#;

pub const EPILOGUE: &str = r#"task.wait()
if "yyyyyyyy" ~= string.rep("y", 8) then print("FUZZ-CORRUPT interned string") end
print("FUZZ-END", OKS, ERRS)
"#;
