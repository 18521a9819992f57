//! Callback thunks and the reverse direction of a `CallPlan`.
//!
//! Thunks live in pages from `region`, written while read-write and then switched to
//! read-execute (never writable and executable at once). Each thunk is bound forever to
//! one slot record at a stable address; a callback takes a free slot and publishes its
//! state in the record, so pages are written only when created. Pages and records are
//! never unmapped: a stale pointer that C still holds always lands in a mapped thunk whose
//! record says "no callback". Only the slots of per-call callbacks (which C must not
//! keep) are reused; a freed long-lived callback's slot never is, so a stale pointer to it
//! can never reach a newer callback (72 bytes of thunk and record per callback ever
//! created: see `release`).

use std::ffi::c_void;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::Mutex;

use super::frame::CallFrame;
use crate::abi::{Abi, ArgClass, CallPlan, Loc, Piece, RetClass, THUNK_SIZE};

/// Signature of the dispatcher every thunk reaches through the callback entry. The entry
/// hands it a frame whose return registers are zero: a dispatcher that sets none returns 0.
pub type Dispatch = unsafe extern "C" fn(record: *mut SlotRecord, frame: *mut CallFrame);

/// What a thunk loads into its scratch register. `dispatch` must stay the first field:
/// the assembly calls through the record's first word.
#[repr(C)]
pub struct SlotRecord {
    pub dispatch: Dispatch,
    /// The live callback's state, or null when the slot is free.
    pub state: AtomicPtr<c_void>,
    /// Identity of the thread that owns the Lua state (see `thread_token`).
    pub owner: AtomicUsize,
    /// An object of the owner's choosing that must be usable before `state` is read
    /// (the Luau layer keeps its VM lock here). Set with the state, never freed.
    pub gate: AtomicPtr<c_void>,
    pub index: usize,
}

/// Thunks per code page. Pages are the system's: 4 KiB on x86-64 and most AArch64 Linux
/// kernels, 16 KiB on Apple silicon (and some Linux configurations), so the page size is
/// asked for rather than assumed (`region` queries and caches it once).
fn per_page() -> usize {
    region::page::size() / THUNK_SIZE
}

struct Pool {
    /// Record chunks, boxed so their addresses never move.
    records: Vec<Box<[SlotRecord]>>,
    /// Code pages, kept mapped for the life of the process.
    pages: Vec<region::Allocation>,
    /// Slots never used yet.
    free: Vec<usize>,
    /// Freed slots of per-call callbacks, by the thread that owned them, reused only by
    /// per-call callbacks of that thread: a stale pointer that C wrongly kept then reaches,
    /// at worst, a newer per-call callback of the same Lua state, never another state's
    /// and never a long-lived callback.
    freed: Vec<(usize, Vec<usize>)>,
}

// SAFETY: the allocations are plain mappings owned by the pool and only touched under
// its lock; `region::Allocation` is !Send merely because it holds a raw pointer.
unsafe impl Send for Pool {}

static POOL: Mutex<Pool> = Mutex::new(Pool {
    records: Vec::new(),
    pages: Vec::new(),
    free: Vec::new(),
    freed: Vec::new(),
});

#[cfg(lune_ffi_engine)]
extern "C" {
    fn lune_ffi_callback_entry();
}

fn entry_address() -> Option<usize> {
    #[cfg(lune_ffi_engine)]
    {
        Some(lune_ffi_callback_entry as *const () as usize)
    }
    #[cfg(not(lune_ffi_engine))]
    {
        None
    }
}

/// A token unique to the calling thread while it lives.
#[inline]
pub fn thread_token() -> usize {
    thread_local!(static TOKEN: u8 = const { 0 });
    TOKEN.with(|t| t as *const u8 as usize)
}

/// A slot handed out to one callback.
pub struct Slot {
    pub index: usize,
    pub code: usize,
    pub record: *const SlotRecord,
}

/// Takes a free slot (growing the pool by a page when none is left) and publishes
/// `state` in its record.
/// `owner` is the `thread_token()` of the thread that owns the Lua state. `per_call`: the
/// callback lives for one ffi call only and may take a freed per-call slot.
pub fn acquire(
    plan: &CallPlan,
    dispatch: Dispatch,
    state: *mut c_void,
    gate: *mut c_void,
    owner: usize,
    per_call: bool,
) -> Result<Slot, String> {
    let entry = entry_address()
        .ok_or("callbacks are not supported on this platform (no entry for its ABI)")?;
    let mut pool = POOL.lock().map_err(|_| "callback pool poisoned")?;
    let reused = match per_call {
        true => pool
            .freed
            .iter_mut()
            .find(|(o, _)| *o == owner)
            .and_then(|(_, list)| list.pop()),
        false => None,
    };
    let index = match reused {
        Some(i) => i,
        None => {
            if pool.free.is_empty() {
                grow(&mut pool, plan.abi, dispatch, entry)?;
            }
            pool.free.pop().ok_or("no free callback slot")?
        }
    };
    let per_page = per_page();
    let rec = &pool.records[index / per_page][index % per_page];
    rec.owner.store(owner, Ordering::Release);
    rec.gate.store(gate, Ordering::Release);
    rec.state.store(state, Ordering::Release);
    let code =
        pool.pages[index / per_page].as_ptr::<u8>() as usize + (index % per_page) * THUNK_SIZE;
    Ok(Slot {
        index,
        code,
        record: rec as *const SlotRecord,
    })
}

/// Unpublishes the slot's state (later calls through the thunk see a free slot). A
/// per-call slot returns to its owner's free list; any other is retired for good: C may
/// still hold its address, and that address must never run another callback. Measured
/// (debug build, x86-64): creating and freeing 200,000 callbacks in a loop went from
/// 1.15 s to 1.5 s (a new page every 128 callbacks) and from +0.3 MB to +14.6 MB resident:
/// 72 bytes each (32 of code, 40 of record); their Luau objects are reclaimed as before.
pub fn release(index: usize, per_call: bool) {
    if let Ok(mut pool) = POOL.lock() {
        let rec = &pool.records[index / per_page()][index % per_page()];
        rec.state.store(std::ptr::null_mut(), Ordering::Release);
        if !per_call {
            return;
        }
        let owner = rec.owner.load(Ordering::Relaxed);
        match pool.freed.iter_mut().find(|(o, _)| *o == owner) {
            Some((_, list)) => list.push(index),
            None => pool.freed.push((owner, vec![index])),
        }
    }
}

fn grow(pool: &mut Pool, abi: Abi, dispatch: Dispatch, entry: usize) -> Result<(), String> {
    let per_page = per_page();
    let base = pool.records.len() * per_page;
    let records: Box<[SlotRecord]> = (0..per_page)
        .map(|i| SlotRecord {
            dispatch,
            state: AtomicPtr::new(std::ptr::null_mut()),
            owner: AtomicUsize::new(0),
            gate: AtomicPtr::new(std::ptr::null_mut()),
            index: base + i,
        })
        .collect();
    let len = per_page * THUNK_SIZE;
    let mut page = region::alloc(len, region::Protection::READ_WRITE)
        .map_err(|e| format!("cannot allocate callback memory: {}", e))?;
    let code = page.as_mut_ptr::<u8>();
    for (i, rec) in records.iter().enumerate() {
        let bytes = abi.thunk_code(rec as *const SlotRecord as u64, entry as u64);
        // SAFETY: the page is read-write, per_page() * THUNK_SIZE bytes long, and ours.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), code.add(i * THUNK_SIZE), THUNK_SIZE)
        };
    }
    // SAFETY: we own the allocation; after this no one writes to it again.
    unsafe { region::protect(code, len, region::Protection::READ_EXECUTE) }
        .map_err(|e| format!("cannot make callback memory executable: {}", e))?;
    flush_icache(code, len);
    pool.records.push(records);
    pool.pages.push(page);
    pool.free.extend((base..base + per_page).rev());
    Ok(())
}

/// Makes code just written to `start..start + len` visible to instruction fetch. x86-64
/// keeps its instruction cache coherent with data writes (Intel SDM vol. 3A §11.6), so
/// there is nothing to do there; AArch64 does not (Arm ARM B2.4.4): each data-cache line
/// must be cleaned to the point of unification and the matching instruction-cache lines
/// invalidated, then DSB ISH and ISB, before the code may run.
fn flush_icache(start: *mut u8, len: usize) {
    #[cfg(target_vendor = "apple")]
    {
        extern "C" {
            // libSystem, <libkern/OSCacheControl.h>: Apple's documented way to do the
            // above (a no-op on Intel Macs).
            fn sys_icache_invalidate(start: *mut c_void, len: usize);
        }
        // SAFETY: the range is a mapping we own; the call only maintains caches.
        unsafe { sys_icache_invalidate(start.cast(), len) }
    }
    #[cfg(all(target_arch = "aarch64", not(target_vendor = "apple")))]
    {
        extern "C" {
            // libgcc / compiler-rt implement exactly that sequence, reading CTR_EL0 for
            // the line sizes.
            fn __clear_cache(start: *mut std::ffi::c_char, end: *mut std::ffi::c_char);
        }
        // SAFETY: the range is a mapping we own; __clear_cache only maintains caches.
        unsafe { __clear_cache(start.cast(), start.add(len).cast()) }
    }
    #[cfg(not(any(target_vendor = "apple", target_arch = "aarch64")))]
    let _ = (start, len);
}

/// The register image at `loc` of an incoming call (upper bits unspecified).
#[inline(always)]
pub fn read_loc(frame: &CallFrame, loc: Loc) -> u64 {
    match loc {
        Loc::Gpr(i) => frame.gpr[i as usize],
        Loc::Fpr(i) => frame.fpr[i as usize],
        // SAFETY: the callback entry points `stack` at the caller's stack arguments, and
        // the plan says an argument lives at this offset.
        Loc::Stack(off) => unsafe { ((frame.stack + off as usize) as *const u64).read_unaligned() },
    }
}

/// Where scalar argument `i` of an incoming call is, when it is in one place whose
/// 8-byte image `read_loc` reads (else read it with `arg_bits`).
pub fn scalar_loc(plan: &CallPlan, i: usize) -> Option<Loc> {
    match &plan.args[i] {
        ArgClass::Scalar(locs) if locs.len() == 1 => Some(locs[0]),
        _ => None,
    }
}

/// Register image of scalar argument `i` of an incoming call (upper bits unspecified).
pub fn arg_bits(plan: &CallPlan, frame: &CallFrame, i: usize) -> u64 {
    match &plan.args[i] {
        ArgClass::Scalar(locs) => locs.first().map_or(0, |l| read_loc(frame, *l)),
        // A primitive packed on the stack at its own size (Apple arm64): read exactly its
        // bytes, the rest of the image is zero.
        ArgClass::Pieces(pieces) => {
            let mut image = [0u8; 8];
            for p in pieces
                .iter()
                .filter(|p| p.src as usize + p.size as usize <= 8)
            {
                // SAFETY: the piece lies within the 8-byte image (checked above) and, per
                // the plan, within the caller's stack arguments or a register.
                unsafe { copy_piece_in(frame, p, image.as_mut_ptr()) };
            }
            u64::from_le_bytes(image)
        }
        ArgClass::Indirect(_) => 0,
    }
}

/// Copies struct argument `i` of an incoming call (`size` bytes) to `dst`.
///
/// # Safety
/// `dst` must have room for the struct; the frame must be a live callback frame.
pub unsafe fn read_struct_arg(
    plan: &CallPlan,
    frame: &CallFrame,
    i: usize,
    dst: *mut u8,
    size: usize,
) {
    // SAFETY: this function's own `# Safety` contract, which every caller upholds.
    unsafe {
        match &plan.args[i] {
            ArgClass::Pieces(pieces) => {
                for p in pieces {
                    copy_piece_in(frame, p, dst);
                }
            }
            ArgClass::Indirect(loc) => {
                let src = read_loc(frame, *loc) as *const u8;
                std::ptr::copy_nonoverlapping(src, dst, size);
            }
            ArgClass::Scalar(_) => {}
        }
    }
}

/// # Safety
/// `dst` must have room for the piece (`p.src + p.size` bytes) and `frame` must be the
/// frame of the callback the piece belongs to.
unsafe fn copy_piece_in(frame: &CallFrame, p: &Piece, dst: *mut u8) {
    // SAFETY: this function's own `# Safety` contract, which every caller upholds.
    unsafe {
        let size = p.size as usize;
        match p.dst {
            Loc::Stack(off) => std::ptr::copy_nonoverlapping(
                (frame.stack + off as usize) as *const u8,
                dst.add(p.src as usize),
                size,
            ),
            reg => {
                let b = read_loc(frame, reg).to_le_bytes();
                std::ptr::copy_nonoverlapping(b.as_ptr(), dst.add(p.src as usize), size);
            }
        }
    }
}

/// Sets a scalar return value.
#[inline(always)]
pub fn set_ret_bits(plan: &CallPlan, frame: &mut CallFrame, bits: u64) {
    match plan.ret {
        RetClass::Scalar(Loc::Gpr(r)) => frame.ret_gpr[r as usize] = bits,
        RetClass::Scalar(Loc::Fpr(r)) => frame.ret_fpr[r as usize] = bits,
        _ => {}
    }
}

/// Where a struct return must be written: the hidden result pointer for an indirect
/// return (handed back where the plan says the ABI wants it), else None.
pub fn ret_pointer(plan: &CallPlan, frame: &mut CallFrame) -> Option<*mut u8> {
    if let RetClass::Indirect(loc) = plan.ret {
        let p = read_loc(frame, loc);
        if let Some(Loc::Gpr(r)) = plan.indirect_echo {
            frame.ret_gpr[r as usize] = p;
        }
        return Some(p as *mut u8);
    }
    None
}

/// Sets a struct return carried in registers from `src`.
///
/// # Safety
/// `src` must hold the whole struct.
pub unsafe fn set_ret_struct(plan: &CallPlan, frame: &mut CallFrame, src: *const u8) {
    // SAFETY: this function's own `# Safety` contract, which every caller upholds.
    unsafe {
        if let RetClass::Pieces(pieces) = &plan.ret {
            for p in pieces {
                let mut b = [0u8; 8];
                std::ptr::copy_nonoverlapping(
                    src.add(p.src as usize),
                    b.as_mut_ptr(),
                    p.size as usize,
                );
                let bits = u64::from_le_bytes(b);
                match p.dst {
                    Loc::Gpr(r) => frame.ret_gpr[r as usize] = bits,
                    Loc::Fpr(r) => frame.ret_fpr[r as usize] = bits,
                    Loc::Stack(_) => {}
                }
            }
        }
    }
}

#[cfg(all(test, lune_ffi_engine))]
mod tests {
    //! Runs real thunks on the host: the page must be executable after `region::protect`
    //! (QEMU user mode enforces no-exec pages), the instruction cache flushed (AArch64),
    //! the record reached through the thunk's scratch register, and the callback entry
    //! must see the caller's SP 16-byte aligned (the asm checks it on AArch64 too).
    use super::*;
    use crate::abi::Signature;
    use crate::types::{CType, Prim};

    struct Probe {
        plan: CallPlan,
        seen: Vec<u64>,
        stack_mod16: usize,
        record_index: usize,
    }

    unsafe extern "C" fn probe_dispatch(record: *mut SlotRecord, frame: *mut CallFrame) {
        // SAFETY: the entry passes the thunk's record (published with a live Probe) and a
        // frame on its own stack.
        let (rec, probe, frame) = unsafe {
            let rec = &*record;
            (
                rec,
                &mut *(rec.state.load(Ordering::Acquire) as *mut Probe),
                &mut *frame,
            )
        };
        probe.record_index = rec.index;
        probe.stack_mod16 = frame.stack % 16;
        probe.seen = (0..probe.plan.args.len())
            .map(|i| arg_bits(&probe.plan, frame, i))
            .collect();
        let sum = probe.seen[..10]
            .iter()
            .fold(0u64, |a, b| a.wrapping_add(*b));
        set_ret_bits(&probe.plan, frame, sum);
    }

    /// What a callback entry saw: every argument register it spills, and the caller's
    /// first `stack_len` stack bytes.
    #[derive(Default)]
    struct Seen {
        gpr: [u64; 9],
        fpr: [u64; 8],
        stack_len: usize,
        stack: Vec<u8>,
    }

    /// A private pool whose first thunk records into `seen` what it is called with; the
    /// pool (keep it until `stop_recording`) and the thunk's address.
    fn recording_thunk(abi: Abi, seen: &mut Seen) -> (Pool, usize) {
        let mut pool = Pool {
            records: Vec::new(),
            pages: Vec::new(),
            free: Vec::new(),
            freed: Vec::new(),
        };
        grow(&mut pool, abi, record_dispatch, entry_address().unwrap()).unwrap();
        pool.records[0][0]
            .state
            .store(seen as *mut Seen as *mut c_void, Ordering::Release);
        let func = pool.pages[0].as_ptr::<u8>() as usize;
        (pool, func)
    }

    /// Unpublishes the `Seen` a `recording_thunk` writes to.
    fn stop_recording(pool: &Pool) {
        pool.records[0][0]
            .state
            .store(std::ptr::null_mut(), Ordering::Release);
    }

    unsafe extern "C" fn record_dispatch(record: *mut SlotRecord, frame: *mut CallFrame) {
        // SAFETY: the entry passes the thunk's record (published with a live Seen) and a
        // frame on its own stack.
        let (seen, frame) = unsafe {
            (
                &mut *((*record).state.load(Ordering::Acquire) as *mut Seen),
                &*frame,
            )
        };
        seen.gpr = frame.gpr;
        seen.fpr = frame.fpr;
        // SAFETY: the caller's stack argument area holds at least `stack_len` bytes.
        seen.stack =
            unsafe { std::slice::from_raw_parts(frame.stack as *const u8, seen.stack_len) }
                .to_vec();
    }

    /// A fast-path call of `proto` at `func` with nonzero argument images. Not inlined,
    /// so consecutive calls put their uninitialised frame and stack buffer at the same
    /// address: a call that zeroed nothing would hand the next one the previous values.
    #[inline(never)]
    fn call_fast(proto: &crate::engine::Prototype, func: usize) {
        let fast = proto
            .fast
            .as_ref()
            .expect("an all-scalar prototype has a fast plan");
        let arg = |i: usize, p: Prim| {
            Some(match p {
                Prim::F64 => (i as f64 + 1.5).to_bits(),
                _ => 0x5A5A_0000 + i as u64,
            })
        };
        // SAFETY: the thunk leads to record_dispatch, which reads any argument list.
        unsafe { fast.call(func, arg, |_, _| None, |_| {}) }.expect("the host has an engine");
    }

    /// Asserts that every register `plan` leaves unused arrived as 0, and every stack
    /// byte no argument covers (padding up to `stack_size`) too.
    fn assert_unused_zero(plan: &CallPlan, seen: &Seen, what: &str) {
        let (mut gpr_used, mut fpr_used) = ([false; 9], [false; 8]);
        let mut stack_used = vec![false; plan.stack_size as usize];
        for class in &plan.args {
            for (l, width) in scalar_locs(class, what) {
                match l {
                    Loc::Gpr(r) => gpr_used[r as usize] = true,
                    Loc::Fpr(r) => fpr_used[r as usize] = true,
                    Loc::Stack(off) => stack_used[off as usize..off as usize + width].fill(true),
                }
            }
        }
        for (r, used) in gpr_used.iter().enumerate() {
            if !used {
                assert_eq!(seen.gpr[r], 0, "{what}: unused gpr[{r}] not zero");
            }
        }
        for (r, used) in fpr_used.iter().enumerate() {
            if !used {
                assert_eq!(seen.fpr[r], 0, "{what}: unused fpr[{r}] not zero");
            }
        }
        for (b, used) in stack_used.iter().enumerate() {
            if !used {
                assert_eq!(seen.stack[b], 0, "{what}: stack padding byte {b} not zero");
            }
        }
    }

    /// Checks that the dirtying call's arguments did reach the callee nonzero (so the
    /// zeros a later call checks for are the engine's doing).
    fn assert_all_nonzero(plan: &CallPlan, seen: &Seen) {
        for class in &plan.args {
            let (loc, width) = scalar_locs(class, "dirtying call")[0];
            let got = match loc {
                Loc::Gpr(r) => seen.gpr[r as usize],
                Loc::Fpr(r) => seen.fpr[r as usize],
                Loc::Stack(off) => {
                    let mut b = [0u8; 8];
                    b[..width].copy_from_slice(&seen.stack[off as usize..off as usize + width]);
                    u64::from_le_bytes(b)
                }
            };
            assert_ne!(got, 0, "dirtying argument at {:?} arrived as 0", loc);
        }
    }

    /// Where a scalar argument goes, with the width stored there: a register or an
    /// 8-byte slot, or (Apple arm64's packed stack) one piece of the scalar's own size.
    fn scalar_locs(class: &ArgClass, what: &str) -> Vec<(Loc, usize)> {
        match class {
            ArgClass::Scalar(locs) => locs.iter().map(|l| (*l, 8)).collect(),
            ArgClass::Pieces(pieces) => pieces.iter().map(|p| (p.dst, p.size as usize)).collect(),
            _ => panic!("{what}: scalar arguments only"),
        }
    }

    #[test]
    fn callee_never_sees_stale_registers_or_stack_bytes() {
        use crate::engine::{Buffers, Call, Prototype};
        let abi = Abi::host().unwrap();
        let (i, d) = (CType::Prim(Prim::I64), CType::Prim(Prim::F64));
        let sig = |fixed: Vec<CType>, variadic: Option<Vec<CType>>| Signature {
            ret: CType::Prim(Prim::I64),
            fixed,
            variadic,
        };
        let proto = |s: Signature| Prototype::new(abi, s).unwrap();
        // Fill every register slot and some stack bytes with nonzero images first:
        // integers then doubles, and doubles in the first positions (Win64 assigns
        // registers by position), with arguments spilling to the stack.
        let mut many = vec![i.clone(); 8];
        many.extend(vec![d.clone(); 8]);
        many.extend(vec![i.clone(); 4]);
        let dirty = [
            proto(sig(many, None)),
            proto(sig(vec![d.clone(), i.clone(), d.clone(), i.clone()], None)),
        ];
        // Then calls that leave register holes, and an odd number of stack words (the
        // area is rounded up to 16 bytes, so its last 8 bytes are padding on all three
        // conventions: SysV 3 words, AAPCS64 1, Win64 5).
        let probes = [
            proto(sig(vec![i.clone(), d.clone()], None)),
            proto(sig(vec![i.clone(); 9], None)),
        ];

        let mut seen = Seen::default();
        let (pool, func) = recording_thunk(abi, &mut seen);
        for probe in &probes {
            // One call site for all, so every call's frame and stack buffer are at the
            // same address as the previous one's.
            for (k, p) in dirty.iter().chain([probe]).enumerate() {
                seen.stack_len = p.plan.stack_size as usize;
                call_fast(p, func);
                if k < dirty.len() {
                    assert_all_nonzero(&p.plan, &seen);
                }
            }
            assert_unused_zero(&probe.plan, &seen, "fast path");
        }

        // The general path (a variadic prototype has no fast plan), with its buffers
        // full of leftovers as an earlier call could leave them.
        // Two doubles and nine integers: an odd number of stack words again (SysV 3,
        // AAPCS64 1, Win64 7), so the area ends in 8 bytes of padding.
        let mut varargs = vec![d.clone(), d.clone()];
        varargs.extend(vec![i.clone(); 8]);
        let v = proto(sig(vec![i.clone()], Some(varargs)));
        assert!(v.fast.is_none());
        let mut bufs = std::mem::MaybeUninit::<Buffers>::uninit();
        // SAFETY: writes within `bufs`.
        unsafe { std::ptr::write_bytes(bufs.as_mut_ptr(), 0xA5, 1) };
        seen.stack_len = v.plan.stack_size as usize;
        let mut call = Call::new(&v, &mut bufs);
        for k in 0..11 {
            let bits = match k {
                1 | 2 => (k as f64 + 0.5).to_bits(),
                _ => 100 + k as u64,
            };
            call.set_scalar(k, bits);
        }
        // SAFETY: the thunk leads to record_dispatch, which reads any argument list.
        unsafe { call.invoke(func, std::ptr::null_mut()) }.unwrap();
        assert_unused_zero(&v.plan, &seen, "general path");
        stop_recording(&pool);
    }

    #[test]
    fn register_calls_fill_every_argument_register_exactly() {
        use crate::engine::Prototype;
        let abi = Abi::host().unwrap();
        let gprs = match abi {
            Abi::SysV64 => 6,
            // No register call (Win64: positional registers; AAPCS64: x8 must be zeroed):
            // the trampoline path is tested above.
            Abi::Win64 | Abi::Aapcs64 | Abi::AppleArm64 => {
                let p = Prototype::new(
                    abi,
                    Signature {
                        ret: CType::Prim(Prim::I64),
                        fixed: vec![CType::Prim(Prim::I64), CType::Prim(Prim::F64)],
                        variadic: None,
                    },
                )
                .unwrap();
                assert!(p.plan.register_call().is_none());
                return;
            }
        };
        let mut fixed = vec![CType::Prim(Prim::I64); gprs];
        fixed.extend(vec![CType::Prim(Prim::F64); 8]);
        let proto = Prototype::new(
            abi,
            Signature {
                ret: CType::Prim(Prim::I64),
                fixed: fixed.clone(),
                variadic: None,
            },
        )
        .unwrap();
        assert!(proto.plan.register_call().is_some(), "all in registers");
        // One more argument goes on the stack: the trampoline again.
        fixed.push(CType::Prim(Prim::I64));
        let spill = Prototype::new(
            abi,
            Signature {
                ret: CType::Prim(Prim::I64),
                fixed,
                variadic: None,
            },
        )
        .unwrap();
        assert!(spill.plan.register_call().is_none(), "a stack argument");

        let mut seen = Seen::default();
        let (pool, func) = recording_thunk(abi, &mut seen);
        call_fast(&proto, func);
        for r in 0..gprs {
            assert_eq!(seen.gpr[r], 0x5A5A_0000 + r as u64, "gpr[{r}]");
        }
        for r in 0..8 {
            assert_eq!(seen.fpr[r], ((gprs + r) as f64 + 1.5).to_bits(), "fpr[{r}]");
        }
        stop_recording(&pool);
    }

    /// Struct arguments through the fast path and the real trampoline: the callee sees
    /// the registers and stack bytes the general path would give it (engine tests:
    /// `placed_by_general`), and each struct passed by reference as the address of a
    /// copy, not of the caller's memory.
    #[test]
    fn fast_struct_arguments_reach_the_callee() {
        use crate::engine::tests::{big, placed_by_general, regs, spill, Val};
        let abi = Abi::host().unwrap();
        let mut seen = Seen::default();
        let (pool, func) = recording_thunk(abi, &mut seen);
        for (name, (proto, vals)) in [
            ("regs", regs(abi)),
            ("spill", spill(abi)),
            ("big", big(abi)),
        ] {
            let fast = proto.fast.as_ref().expect("a fast plan");
            seen.stack_len = proto.plan.stack_size as usize;
            let arg = |i: usize, _: Prim| match &vals[i] {
                Val::Scalar(bits) => Some(*bits),
                Val::Bytes(_) => None,
            };
            let src = |i: usize, _: &std::sync::Arc<crate::types::StructType>| match &vals[i] {
                Val::Bytes(b) => Some(b.as_ptr()),
                Val::Scalar(_) => None,
            };
            let mut ret = [0u8; 16];
            // SAFETY: the thunk leads to record_dispatch, which reads any argument list
            // and writes no result; `ret` holds any of these results.
            let done = unsafe {
                if fast.struct_ret().is_some() {
                    fast.call_struct(func, arg, src, |_| {}, ret.as_mut_ptr())
                } else {
                    fast.call(func, arg, src, |_| {}).map(|_| ())
                }
            };
            assert_eq!(done, Some(()), "{name}: the fast path ran");
            let want = placed_by_general(&proto, &vals);
            // The general path's by-reference addresses are already 0 in `want`.
            let (mut gpr, mut fpr, mut stack) = (seen.gpr, seen.fpr, seen.stack.clone());
            for (i, class) in proto.plan.args.iter().enumerate() {
                let (ArgClass::Indirect(loc), Val::Bytes(b)) = (class, &vals[i]) else {
                    continue;
                };
                let addr = match *loc {
                    Loc::Gpr(r) => std::mem::take(&mut gpr[r as usize]),
                    Loc::Fpr(r) => std::mem::take(&mut fpr[r as usize]),
                    Loc::Stack(off) => {
                        let slot = &mut stack[off as usize..off as usize + 8];
                        let a = u64::from_le_bytes(slot.try_into().unwrap());
                        slot.fill(0);
                        a
                    }
                };
                assert!(
                    addr != 0 && addr != b.as_ptr() as u64,
                    "{name}: argument {i}"
                );
            }
            // Win64 and the struct results: the hidden result pointer is in rcx or x8,
            // which `placed_by_general` does not set.
            if let crate::abi::RetClass::Indirect(Loc::Gpr(r)) = proto.plan.ret {
                assert_eq!(
                    gpr[r as usize],
                    ret.as_ptr() as u64,
                    "{name}: result address"
                );
                gpr[r as usize] = 0;
            }
            // The general path's padding bytes are 0xEE where the fast path's are 0.
            let want_stack: Vec<u8> = want
                .stack
                .iter()
                .map(|&b| if b == 0xEE { 0 } else { b })
                .collect();
            assert_eq!(gpr, want.gpr, "{name}: gpr");
            assert_eq!(fpr, want.fpr, "{name}: fpr");
            assert_eq!(stack, want_stack, "{name}: stack");
        }
        stop_recording(&pool);
    }

    type Fn11 = extern "C" fn(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, f64) -> i64;

    #[test]
    fn thunk_runs_and_callback_entry_sees_aligned_stack() {
        let abi = Abi::host().unwrap();
        let i64t = CType::Prim(Prim::I64);
        let mut fixed = vec![i64t.clone(); 10];
        fixed.push(CType::Prim(Prim::F64));
        let sig = Signature {
            ret: i64t,
            fixed,
            variadic: None,
        };
        let mut probe = Probe {
            plan: abi.classify(&sig).unwrap(),
            seen: Vec::new(),
            stack_mod16: 99,
            record_index: usize::MAX,
        };
        // A private pool (the global one's records carry whatever dispatcher grew them),
        // two pages so a grown pool's later page runs too.
        let entry = entry_address().unwrap();
        let mut pool = Pool {
            records: Vec::new(),
            pages: Vec::new(),
            free: Vec::new(),
            freed: Vec::new(),
        };
        grow(&mut pool, abi, probe_dispatch, entry).unwrap();
        grow(&mut pool, abi, probe_dispatch, entry).unwrap();
        let per_page = per_page();
        for index in [0, per_page - 1, per_page + 2] {
            let rec = &pool.records[index / per_page][index % per_page];
            rec.state
                .store(&mut probe as *mut Probe as *mut c_void, Ordering::Release);
            let code = pool.pages[index / per_page].as_ptr::<u8>() as usize
                + (index % per_page) * THUNK_SIZE;
            // SAFETY: the thunk leads to probe_dispatch, which implements this type.
            let f: Fn11 = unsafe { std::mem::transmute::<usize, Fn11>(code) };
            let r = f(1, 2, 3, 4, 5, 6, 7, 8, 9, -10, 2.5);
            assert_eq!(probe.record_index, index);
            assert_eq!(probe.stack_mod16, 0, "stack arguments not 16-byte aligned");
            assert_eq!(
                &probe.seen[..10],
                &[1, 2, 3, 4, 5, 6, 7, 8, 9, (-10i64) as u64]
            );
            assert_eq!(f64::from_bits(probe.seen[10]), 2.5);
            assert_eq!(r, 35);
            rec.state.store(std::ptr::null_mut(), Ordering::Release);
        }
    }
}
