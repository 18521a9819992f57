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

use super::error::EngineError;
use super::frame::{self, CallFrame};
use super::place::{self, Locs};
use crate::abi::{Abi, ArgClass, CallPlan, Loc, RetClass, THUNK_SIZE};

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
) -> Result<Slot, EngineError> {
    let entry = entry_address().ok_or(EngineError::CallbacksUnsupported)?;
    let mut pool = POOL.lock().map_err(|_| EngineError::PoolPoisoned)?;
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
            pool.free.pop().ok_or(EngineError::NoFreeSlot)?
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

fn grow(pool: &mut Pool, abi: Abi, dispatch: Dispatch, entry: usize) -> Result<(), EngineError> {
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
    let mut page =
        region::alloc(len, region::Protection::READ_WRITE).map_err(EngineError::CallbackMemory)?;
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
        .map_err(EngineError::CallbackProtect)?;
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

// The incoming side of a plan: a callback reads its arguments from the frame the
// callback entry spilled, and writes its result into the frame's return registers,
// through the same placement primitive as calls (`place`). Every function below takes
// the plan of a prototype (`Prototype::new` checked that its locations lie in the frame)
// and the live frame of a callback of that prototype.

/// The register image at `loc` of an incoming call (upper bits unspecified).
///
/// # Safety
/// `loc` is a location of the plan of the callback whose live frame `frame` is.
#[inline(always)]
pub unsafe fn read_loc(frame: &CallFrame, loc: Loc) -> u64 {
    // SAFETY: the location lies in the frame, whose `stack` the callback entry points at
    // the caller's stack arguments (the caller's contract).
    unsafe { Locs::incoming(frame).load(loc, 8) }
}

/// One bank of an incoming frame's argument registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bank {
    Gpr,
    Fpr,
}

/// The bank whose register `i` holds argument `i` of an incoming call, for every argument,
/// when there is one: a few integers, or a few doubles, on every ABI here. Such a callback
/// reads its arguments as one run of registers ([`bank_regs`]), with no location to match.
pub fn register_run(plan: &CallPlan) -> Option<Bank> {
    run_bank((0..plan.args.len()).map(|i| scalar_loc(plan, i)))
}

/// The bank whose register `i` holds argument `i`, for every one of a non-empty list of
/// argument locations (None: not in one place). Incoming callbacks ([`register_run`]) and
/// outgoing register plans (`RegPlan`'s run) both ask it.
pub fn run_bank(locs: impl Iterator<Item = Option<Loc>> + Clone) -> Option<Bank> {
    let fills = |bank: Bank| {
        locs.clone().enumerate().all(|(i, loc)| match (loc, bank) {
            (Some(Loc::Gpr(r)), Bank::Gpr) | (Some(Loc::Fpr(r)), Bank::Fpr) => usize::from(r) == i,
            _ => false,
        })
    };
    locs.clone().next()?;
    [Bank::Gpr, Bank::Fpr].into_iter().find(|&bank| fills(bank))
}

/// The argument registers of `bank` in an incoming call's frame (upper bits as the
/// registers held them).
#[inline(always)]
pub fn bank_regs(frame: &CallFrame, bank: Bank) -> &[u64] {
    match bank {
        Bank::Gpr => &frame.gpr,
        Bank::Fpr => &frame.fpr,
    }
}

/// The return register of an incoming call's scalar result, when it is in one: its bank
/// and index, for [`set_bank_ret`].
pub fn ret_register(plan: &CallPlan) -> Option<(Bank, usize)> {
    match plan.ret {
        RetClass::Scalar(Loc::Gpr(r)) if usize::from(r) < frame::RET_GPR_SLOTS => {
            Some((Bank::Gpr, usize::from(r)))
        }
        RetClass::Scalar(Loc::Fpr(r)) if usize::from(r) < frame::RET_FPR_SLOTS => {
            Some((Bank::Fpr, usize::from(r)))
        }
        _ => None,
    }
}

/// Writes a scalar result's image into return register `r` of `bank` ([`ret_register`]).
#[inline(always)]
pub fn set_bank_ret(frame: &mut CallFrame, bank: Bank, r: usize, bits: u64) {
    match bank {
        Bank::Gpr => frame.ret_gpr[r] = bits,
        Bank::Fpr => frame.ret_fpr[r] = bits,
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
///
/// # Safety
/// `plan` is a prototype's plan and `frame` the live frame of a callback of it.
pub unsafe fn arg_bits(plan: &CallPlan, frame: &CallFrame, i: usize) -> u64 {
    let locs = Locs::incoming(frame);
    match &plan.args[i] {
        // SAFETY: the location lies in the frame (the caller's contract).
        ArgClass::Scalar(at) => at.first().map_or(0, |l| unsafe { locs.load(*l, 8) }),
        // A primitive packed on the stack at its own size (Apple arm64): read exactly its
        // bytes, the rest of the image is zero.
        ArgClass::Pieces(pieces) => {
            let mut image = [0u8; 8];
            for p in pieces {
                // SAFETY: the piece lies in the frame and within the 8-byte image
                // (`Prototype::new` checked both).
                unsafe { place::get(locs, p, image.as_mut_ptr()) };
            }
            u64::from_le_bytes(image)
        }
        ArgClass::Indirect(_) => 0,
    }
}

/// Copies struct argument `i` of an incoming call (`size` bytes) to `dst`.
///
/// # Safety
/// As `arg_bits`; `dst` must have room for the struct.
pub unsafe fn read_struct_arg(
    plan: &CallPlan,
    frame: &CallFrame,
    i: usize,
    dst: *mut u8,
    size: usize,
) {
    let locs = Locs::incoming(frame);
    match &plan.args[i] {
        ArgClass::Pieces(pieces) => {
            for p in pieces {
                // SAFETY: the piece lies in the frame and in the struct, which `dst`
                // holds (the caller's contract).
                unsafe { place::get(locs, p, dst) };
            }
        }
        ArgClass::Indirect(loc) => {
            // SAFETY: the location lies in the frame; the caller passed the address of
            // its copy of the struct there, readable for `size` bytes.
            unsafe {
                let src = locs.load(*loc, 8) as *const u8;
                std::ptr::copy_nonoverlapping(src, dst, size);
            }
        }
        ArgClass::Scalar(_) => {}
    }
}

/// Sets a scalar return value.
///
/// # Safety
/// As `arg_bits`.
#[inline(always)]
pub unsafe fn set_ret_bits(plan: &CallPlan, frame: &mut CallFrame, bits: u64) {
    if let RetClass::Scalar(loc) = plan.ret {
        // SAFETY: a scalar result is in a return register (the caller's contract).
        unsafe { Locs::rets(frame).store(loc, bits, 8) };
    }
}

/// Where a struct return must be written: the hidden result pointer for an indirect
/// return (handed back where the plan says the ABI wants it), else None.
///
/// # Safety
/// As `arg_bits`.
pub unsafe fn ret_pointer(plan: &CallPlan, frame: &mut CallFrame) -> Option<*mut u8> {
    let RetClass::Indirect(loc) = plan.ret else {
        return None;
    };
    // SAFETY: the address is in an argument location of the frame (the caller's
    // contract).
    let p = unsafe { Locs::incoming(frame).load(loc, 8) };
    if let Some(echo) = plan.indirect_echo {
        // SAFETY: the echo is a return register (`Prototype::new` checked).
        unsafe { Locs::rets(frame).store(echo, p, 8) };
    }
    Some(p as *mut u8)
}

/// Sets a struct return carried in registers from `src`.
///
/// # Safety
/// As `arg_bits`; `src` must hold the whole struct.
pub unsafe fn set_ret_struct(plan: &CallPlan, frame: &mut CallFrame, src: *const u8) {
    if let RetClass::Pieces(pieces) = &plan.ret {
        let rets = Locs::rets(frame);
        for p in pieces {
            // SAFETY: the piece is a return register and lies in the struct, which `src`
            // holds (the caller's contract).
            unsafe { place::put(rets, src, p) };
        }
    }
}

#[cfg(all(test, lune_ffi_engine))]
mod tests;
