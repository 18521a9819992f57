//! The `CallFrame` offsets: the one definition the Rust side and every assembly file use.
//!
//! Compiled three times: by `frame.rs` (which asserts every value against `offset_of!`
//! and `size_of`), by `build.rs` (which renders it as `$OUT_DIR/include/lune_ffi_frame.h`
//! for `asm/*.S` and `lune_ffi_frame.inc` for `asm/win64.asm`), and by the ci scripts that
//! assemble the files outside cargo. So it uses nothing but `core`, and a frame change
//! that the assembly does not follow fails the build instead of breaking a lane.

/// Integer argument registers, `[u64; 9]`.
pub const OFF_GPR: usize = 0;
/// Vector argument registers (low 8 bytes each), `[u64; 8]`.
pub const OFF_FPR: usize = 80;
/// The function to call.
pub const OFF_FUNC: usize = 144;
/// Start of the outgoing (or, in a callback, incoming) stack-argument bytes.
pub const OFF_STACK: usize = 152;
/// Their length, a multiple of 16.
pub const OFF_STACK_SIZE: usize = 160;
/// SysV: the value for %al.
pub const OFF_VECTOR_COUNT: usize = 168;
/// The two integer return registers.
pub const OFF_RET_GPR: usize = 176;
/// The four vector return registers (low 8 bytes each).
pub const OFF_RET_FPR: usize = 192;
/// `size_of::<CallFrame>()`, a multiple of 16 (the callback entries allocate it on a
/// 16-byte aligned stack).
pub const FRAME_SIZE: usize = 224;

/// Every constant, by the name the assembly uses.
pub const ALL: [(&str, usize); 9] = [
    ("OFF_GPR", OFF_GPR),
    ("OFF_FPR", OFF_FPR),
    ("OFF_FUNC", OFF_FUNC),
    ("OFF_STACK", OFF_STACK),
    ("OFF_STACK_SIZE", OFF_STACK_SIZE),
    ("OFF_VECTOR_COUNT", OFF_VECTOR_COUNT),
    ("OFF_RET_GPR", OFF_RET_GPR),
    ("OFF_RET_FPR", OFF_RET_FPR),
    ("FRAME_SIZE", FRAME_SIZE),
];

const GENERATED: &str = "generated from src/engine/frame_layout.rs; do not edit";

/// The C-preprocessor header the `.S` files include.
pub fn c_header() -> String {
    let mut s = format!(
        "/* lune_ffi_frame.h: CallFrame offsets, {} */\n\
         #ifndef LUNE_FFI_FRAME_H\n#define LUNE_FFI_FRAME_H\n",
        GENERATED
    );
    for (name, value) in ALL {
        s.push_str(&format!("#define {:<17} {}\n", name, value));
    }
    s.push_str("#endif\n");
    s
}

/// The MASM include file `asm/win64.asm` includes (ml64 has no C preprocessor).
pub fn masm_include() -> String {
    let mut s = format!("; lune_ffi_frame.inc: CallFrame offsets, {}\n", GENERATED);
    for (name, value) in ALL {
        s.push_str(&format!("{:<17} EQU {}\n", name, value));
    }
    s
}
