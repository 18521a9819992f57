//! `ffi.include` (issue 22 item 4) with the host's C compiler: `tests/cdef/include.luau`
//! includes sqlite3.h, zlib.h and a header of its own and uses what they declare. Host
//! only: the cross lanes run their binaries under qemu or Wine, where the compiler found
//! would preprocess the host's headers, not the target's.
//!
//! Needs a C compiler and the Debian packages zlib1g-dev and libsqlite3-dev, and for the
//! header rows (`header_rows`) libxml2-dev, libsdl2-dev, libssl-dev, libpng-dev,
//! libcurl4-openssl-dev, libyaml-dev, libjpeg-dev, libarchive-dev, libpcre2-dev,
//! libglib2.0-dev and libfreetype-dev (.ci/run installs them); a missing header is a
//! failure, not a skip.

/// check_eq and check_error for the scripts under tests/cdef.
const PRELUDE: &str = include_str!("cdef/prelude.luau");

#[test]
fn include_sqlite3_zlib_and_an_alias_header() {
    let lua = mlua::Lua::new();
    let ffi = lune_ffi::module(lua.clone()).unwrap();
    lua.register_module("@lune/ffi", ffi).unwrap();
    let g = lua.globals();
    g.set("TESTLIB", lune_ffi_testkit::TESTLIB).unwrap();
    lua.load(PRELUDE).exec().unwrap();
    let src = std::fs::read_to_string("tests/cdef/include.luau").unwrap();
    if let Err(e) = lua.load(&src).set_name("@tests/cdef/include.luau").exec() {
        panic!("tests/cdef/include.luau failed:\n{}", e);
    }
}

#[test]
/// Wall time of the first include (the compiler's run and the parse) and of the second
/// (the cached report), printed, not asserted beyond "the second is cheaper".
fn include_twice_costs_once() {
    let lua = mlua::Lua::new();
    let ffi = lune_ffi::module(lua.clone()).unwrap();
    lua.register_module("@lune/ffi", ffi).unwrap();
    let f: mlua::Function = lua
        .load("return function() return require('@lune/ffi').include('sqlite3.h').constants end")
        .eval()
        .unwrap();
    let t = std::time::Instant::now();
    let n1: f64 = f.call(()).unwrap();
    let first = t.elapsed();
    let t = std::time::Instant::now();
    let n2: f64 = f.call(()).unwrap();
    let second = t.elapsed();
    assert_eq!(n1, n2);
    assert!(second < first, "{:?} then {:?}", first, second);
    println!(
        "ffi.include(\"sqlite3.h\"): {:.1} ms (compiler and cdef), again: {:.3} ms (cached), {} constants",
        first.as_secs_f64() * 1000.0,
        second.as_secs_f64() * 1000.0,
        n1
    );
}

#[test]
/// gcc's and clang's `-E -dD` output of real headers parse unchanged, with their
/// constants. clang is optional (the test says so and passes without it); gcc is not.
fn dd_output_of_gcc_and_clang() {
    use lune_ffi::cdecl::{MacroValue, Namespace};
    let headers = [
        "sqlite3.h",
        "zlib.h",
        "expat.h",
        "stdio.h",
        "stdint.h",
        "errno.h",
        "fcntl.h",
        "sys/stat.h",
        "netinet/in.h",
        "math.h",
    ];
    // clang: glibc's <bits/floatn-common.h> (from stdio.h, math.h) declares
    // `typedef float _Float32;` for it, which ffi.cdef refuses today (issue 22 item 1).
    let clang_headers = ["sqlite3.h", "zlib.h", "errno.h", "fcntl.h", "netinet/in.h"];
    for (compiler, headers) in [("gcc", &headers[..]), ("clang", &clang_headers[..])] {
        let Some(text) = dd_output(compiler, headers) else {
            assert_ne!(compiler, "gcc", "gcc must be installed to run this test");
            println!("{} not found: its -dD output is not tested", compiler);
            continue;
        };
        let mut ns = Namespace::new();
        let t = std::time::Instant::now();
        let r = ns
            .cdef_report(&text)
            .unwrap_or_else(|e| panic!("{} -E -dD: {}", compiler, e));
        println!(
            "cdef of {} -E -dD ({} bytes): {:.1} ms, {} constants, {} aliases, {} skipped",
            compiler,
            text.len(),
            t.elapsed().as_secs_f64() * 1000.0,
            r.constants,
            r.aliases,
            r.skipped.len()
        );
        assert_eq!(ns.constant("SQLITE_ROW"), Some(100), "{}", compiler);
        assert_eq!(ns.constant("SQLITE_IOERR_READ"), Some(266), "{}", compiler);
        assert_eq!(ns.constant("EINVAL"), Some(22), "{}", compiler);
        assert_eq!(ns.constant("O_CREAT"), Some(0o100), "{}", compiler);
        assert_eq!(ns.constant("IPPROTO_TCP"), Some(6), "{}", compiler);
        assert!(
            matches!(ns.macro_constant("ZLIB_VERSION"), Some(MacroValue::Str(_))),
            "{}",
            compiler
        );
        if compiler == "clang" {
            continue;
        }
        assert_eq!(ns.constant("S_IFREG"), Some(0o100000), "{}", compiler);
        assert_eq!(
            ns.constant("INT64_MAX"),
            Some(i64::MAX as i128),
            "{}",
            compiler
        );
        assert_eq!(
            ns.constant("UINT64_MAX"),
            Some(u64::MAX as i128),
            "{}",
            compiler
        );
        assert_eq!(
            ns.macro_constant("M_PI"),
            Some(&MacroValue::Float(std::f64::consts::PI)),
            "{}",
            compiler
        );
        // glibc: `#define stat64 stat` style aliases; `#define EOF (-1)`.
        assert_eq!(ns.constant("EOF"), Some(-1), "{}", compiler);
        assert!(
            r.skipped.iter().any(|s| s == "__attribute_pure__"),
            "{}",
            compiler
        );
    }
}

/// One row of the header tests: a script under tests/cdef/headers that includes a real
/// library's headers with `ffi.include` (so `-E -dD` output, unchanged) and calls the
/// library through them, and types whose size and alignment must be gcc's.
struct Row {
    script: &'static str,
    /// The `#include`s and compiler flags of the same headers, for the C facts.
    includes: &'static [&'static str],
    cflags: &'static [&'static str],
    types: &'static [&'static str],
}

const ROWS: &[Row] = &[
    Row {
        script: "libxml2",
        includes: &["libxml/parser.h"],
        cflags: &["-I/usr/include/libxml2"],
        types: &[
            "xmlNode",
            "xmlDoc",
            "xmlParserCtxt",
            "xmlSAXHandler",
            "xmlError",
        ],
    },
    Row {
        script: "sdl2",
        includes: &["SDL2/SDL.h"],
        cflags: &[],
        types: &[
            "SDL_Event",
            "SDL_version",
            "SDL_Surface",
            "SDL_AudioSpec",
            "SDL_PixelFormat",
            "SDL_GameControllerButtonBind",
        ],
    },
    Row {
        script: "complex",
        includes: &["complex.h"],
        cflags: &[],
        types: &[
            "double _Complex",
            "float _Complex",
            "long double _Complex",
            "_Complex _Float32",
            "_Complex _Float64x",
        ],
    },
    Row {
        script: "tgmath",
        includes: &["tgmath.h"],
        cflags: &[],
        types: &["double_t", "float_t", "_Float32x", "_Float64"],
    },
    Row {
        script: "openssl",
        includes: &["openssl/evp.h", "openssl/ssl.h"],
        cflags: &[],
        types: &["OSSL_PARAM", "OSSL_DISPATCH", "OSSL_ITEM", "SHA256_CTX"],
    },
    Row {
        script: "libpng",
        includes: &["png.h"],
        cflags: &[],
        types: &[
            "png_color",
            "png_text",
            "png_time",
            "png_sPLT_t",
            "png_image",
        ],
    },
    Row {
        script: "curl",
        includes: &["curl/curl.h"],
        cflags: &[],
        types: &[
            "curl_version_info_data",
            "struct curl_slist",
            "CURLMsg",
            "struct curl_fileinfo",
            "struct curl_httppost",
        ],
    },
    Row {
        script: "libyaml",
        includes: &["yaml.h"],
        cflags: &[],
        types: &[
            "yaml_event_t",
            "yaml_parser_t",
            "yaml_emitter_t",
            "yaml_token_t",
            "yaml_node_t",
        ],
    },
    Row {
        script: "libjpeg",
        includes: &["stdio.h", "jpeglib.h"],
        cflags: &[],
        types: &[
            "struct jpeg_compress_struct",
            "struct jpeg_decompress_struct",
            "struct jpeg_error_mgr",
            "jpeg_component_info",
        ],
    },
    Row {
        script: "libarchive",
        includes: &["archive.h", "archive_entry.h"],
        cflags: &[],
        types: &["la_int64_t", "la_ssize_t"],
    },
    Row {
        script: "pcre2",
        includes: &["pcre2.h"],
        cflags: &["-DPCRE2_CODE_UNIT_WIDTH=8"],
        // The 8-bit names: `#define pcre2_callout_block pcre2_callout_block_8` names a
        // type, and macros are aliases of functions only.
        types: &[
            "pcre2_callout_block_8",
            "pcre2_callout_enumerate_block_8",
            "pcre2_substitute_callout_block_8",
        ],
    },
    Row {
        script: "glib",
        includes: &["glib.h"],
        cflags: &[
            "-I/usr/include/glib-2.0",
            "-I/usr/lib/x86_64-linux-gnu/glib-2.0/include",
        ],
        types: &[
            "GList",
            "GString",
            "GError",
            "GMutex",
            "GDate",
            "GHashTableIter",
            "GTimeVal",
            "GSourceFuncs",
            "GScannerConfig",
        ],
    },
    Row {
        script: "freetype",
        includes: &["ft2build.h", "freetype/freetype.h"],
        cflags: &["-I/usr/include/freetype2"],
        types: &[
            "FT_FaceRec",
            "FT_GlyphSlotRec",
            "FT_Bitmap",
            "FT_Outline",
            "FT_Vector",
        ],
    },
];

/// sizeof and _Alignof of each of `row.types`, as gcc compiles them with the row's headers.
fn gcc_sizes(row: &Row) -> Vec<(u64, u64)> {
    use std::process::Command;
    let dir = std::env::temp_dir().join(format!(
        "lune-ffi-header-rows-{}-{}",
        std::process::id(),
        row.script
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let mut c = String::from("#include <stdio.h>\n");
    for h in row.includes {
        c.push_str(&format!("#include <{}>\n", h));
    }
    c.push_str("int main(void) {\n");
    for t in row.types {
        c.push_str(&format!(
            "    printf(\"%zu %zu\\n\", sizeof({t}), _Alignof({t}));\n"
        ));
    }
    c.push_str("    return 0;\n}\n");
    let src = dir.join("sizes.c");
    let exe = dir.join("sizes");
    std::fs::write(&src, c).unwrap();
    let out = Command::new("gcc")
        .args(row.cflags)
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("gcc must be installed to run this test");
    assert!(
        out.status.success(),
        "{}: compiling the size program failed (is its -dev package installed? .ci/run installs it):\n{}",
        row.script,
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(&exe).output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (s, a) = l.split_once(' ').unwrap();
            (s.parse().unwrap(), a.parse().unwrap())
        })
        .collect()
}

#[test]
/// Issue 22's header rows: libxml2, SDL2, `<complex.h>`, `<tgmath.h>`, OpenSSL's evp.h
/// then ssl.h, libpng, libcurl, libyaml, libjpeg, libarchive, PCRE2, GLib and FreeType,
/// each in a fresh Lua state: `ffi.include` of the headers (gcc's `-E -dD` output, parsed
/// unchanged), calls through the declarations (tests/cdef/headers/<row>.luau), and the
/// sizes and alignments of some of their types as gcc gives them. Every row runs; the
/// failures are reported together.
fn header_rows() {
    let mut failures = Vec::new();
    for row in ROWS {
        let lua = mlua::Lua::new();
        let ffi = lune_ffi::module(lua.clone()).unwrap();
        lua.register_module("@lune/ffi", ffi).unwrap();
        lua.load(PRELUDE).exec().unwrap();
        let path = format!("tests/cdef/headers/{}.luau", row.script);
        let src = std::fs::read_to_string(&path).unwrap();
        let t = std::time::Instant::now();
        if let Err(e) = lua.load(&src).set_name(format!("@{}", path)).exec() {
            failures.push(format!("{}: {}", path, e));
            continue;
        }
        let elapsed = t.elapsed();
        let size: mlua::Function = lua
            .load("local ffi = require('@lune/ffi') return function(t) return ffi.sizeof(t), ffi.alignof(t) end")
            .eval()
            .unwrap();
        for (ty, want) in row.types.iter().zip(gcc_sizes(row)) {
            match size.call::<(u64, u64)>(*ty) {
                Ok(got) if got == want => {}
                Ok(got) => failures.push(format!(
                    "{}: {}: size/align {}/{}, gcc says {}/{}",
                    row.script, ty, got.0, got.1, want.0, want.1
                )),
                Err(e) => failures.push(format!("{}: {}: {}", row.script, ty, e)),
            }
        }
        println!(
            "{}: included and called in {:.1} ms; {} types as gcc lays them out",
            row.script,
            elapsed.as_secs_f64() * 1000.0,
            row.types.len()
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `<compiler> -E -dD` of `#include`s of `headers`, or None when the compiler is absent.
fn dd_output(compiler: &str, headers: &[&str]) -> Option<String> {
    let src: String = headers
        .iter()
        .map(|h| format!("#include <{}>\n", h))
        .collect();
    lune_ffi_testkit::dd_of(compiler, &src)
}
