use super::*;

#[test]
fn bounds_and_free() {
    let arena = Rc::new(ArenaInner::default());
    let a = arena.alloc(16, 8).unwrap();
    let p = Ptr::bounded(a, 16, Owner::Arena(arena.clone()));
    assert_eq!(p.check(0, 16).unwrap(), a);
    assert_eq!(p.check(12, 4).unwrap(), a + 12);
    assert!(p.check(13, 4).is_err());
    assert!(p.check(-1, 1).is_err());
    assert!(p.with_addr(a + 16).check(0, 1).is_err());
    arena.free_all();
    assert!(p.check(0, 1).unwrap_err().to_string().contains("freed"));
    assert!(arena.alloc(1, 1).is_err());
}

#[test]
fn try_at_agrees_with_check() {
    let arena = Rc::new(ArenaInner::default());
    let a = arena.alloc(16, 8).unwrap();
    let p = Ptr::bounded(a, 16, Owner::Arena(arena.clone()));
    for (off, size) in [
        (0, 16),
        (12, 4),
        (13, 4),
        (-1, 1),
        (16, 0),
        (16, 1),
        (0, 17),
    ] {
        assert_eq!(
            p.try_at(off, size),
            p.check(off, size).ok(),
            "{} {}",
            off,
            size
        );
    }
    assert_eq!(Ptr::foreign(0).try_at(0, 1), None);
    arena.free_all();
    assert_eq!(p.try_at(0, 1), None);
}

#[test]
fn null_is_an_error() {
    assert!(Ptr::foreign(0)
        .check(0, 1)
        .unwrap_err()
        .to_string()
        .contains("NULL"));
    assert!(Ptr::foreign(8)
        .check(-8, 1)
        .unwrap_err()
        .to_string()
        .contains("NULL"));
}

#[test]
fn a_busy_free_waits_for_the_call() {
    let arena = Rc::new(ArenaInner::default());
    let a = arena.alloc(64, 8).unwrap();
    let p = Ptr::bounded(a, 64, Owner::Arena(arena.clone()));
    arena.free(true);
    // Luau-side access is refused at once; the blocks are still there for C.
    assert!(p.check(0, 4).unwrap_err().to_string().contains("freed"));
    assert_eq!(arena.blocks.borrow().len(), 1);
    release_deferred();
    assert_eq!(arena.blocks.borrow().len(), 0);
    // A deferred arena collected meanwhile releases its own blocks.
    let gone = Rc::new(ArenaInner::default());
    gone.alloc(16, 8).unwrap();
    gone.free(true);
    drop(gone);
    release_deferred();
    // Not busy: at once.
    let now = Rc::new(ArenaInner::default());
    now.alloc(16, 8).unwrap();
    now.free(false);
    assert_eq!(now.blocks.borrow().len(), 0);
}

#[test]
fn in_flight_counts_async_calls() {
    assert!(!in_flight());
    let a = InFlight::new();
    let b = InFlight::new();
    assert!(in_flight());
    drop(a);
    assert!(in_flight());
    drop(b);
    assert!(!in_flight());
}

#[test]
fn aligned_blocks_are_aligned_and_zeroed() {
    for align in [1, 8, 16, 32, 64, 4096, 65536] {
        for size in [0, 1, 15, 100, 5000] {
            let (block, layout, addr) = zeroed_block(size, align).unwrap();
            assert_eq!(addr % align, 0, "{} {}", size, align);
            assert!(addr >= block && addr + size.max(1) <= block + layout.size());
            // SAFETY: `size` bytes at `addr` lie inside the block just allocated.
            let bytes = unsafe { std::slice::from_raw_parts(addr as *const u8, size) };
            assert!(bytes.iter().all(|b| *b == 0));
            // SAFETY: allocated just above with this layout.
            unsafe { dealloc(block as *mut u8, layout) };
        }
    }
    assert!(zeroed_block(16, 3).is_err());
}

#[test]
fn a_gc_token_runs_its_finalizer_once_when_the_last_pointer_goes() {
    let runs = Rc::new(Cell::new(0));
    let r = runs.clone();
    let token = GcToken::new(Box::new(move || r.set(r.get() + 1)));
    let p = Ptr {
        owner: Owner::Gc(token),
        ..Ptr::foreign(0x1000)
    };
    let derived = p.with_addr(0x1008);
    // Kept by arena memory it was stored into, as any owner.
    let arena = Rc::new(ArenaInner::default());
    let slot = arena.alloc(8, 8).unwrap();
    Owner::Arena(arena.clone()).keep(slot, &p.owner);
    drop(p);
    drop(derived);
    assert_eq!(runs.get(), 0);
    arena.free_all();
    assert_eq!(runs.get(), 1);
    // Removed: never runs.
    let r = runs.clone();
    let token = GcToken::new(Box::new(move || r.set(r.get() + 1)));
    assert!(token.is_armed());
    token.set(None);
    assert!(!token.is_armed());
    drop(token);
    assert_eq!(runs.get(), 1);
}

#[test]
fn huge_allocations_fail_cleanly() {
    let arena = ArenaInner::default();
    assert!(arena.alloc(1 << 60, 8).is_err());
}
