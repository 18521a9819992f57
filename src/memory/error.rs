//! Why memory cannot be had or touched. The Luau layer turns these into the text of a
//! Luau error (`Display`, or `?` into its message strings), often prefixed with the
//! function that was asked.

use std::fmt;

/// What allocating module memory and checking an access report; `Display` gives the text
/// scripts see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemoryError {
    /// `alloc` on an arena after `arena:free()`.
    ArenaFreed,
    /// More than `MAX_OBJECT_SIZE` bytes asked for.
    TooLarge(usize),
    /// A size and alignment no allocation layout can have.
    BadLayout { size: usize, align: usize },
    /// The allocator refused `size` bytes.
    OutOfMemory(usize),
    /// An access through NULL (or an unbounded pointer that lands on address 0).
    Null,
    /// An access through a pointer into an arena that has been freed.
    FreedArena,
    /// An access outside the bounds of a pointer derived from NULL, at address `at`.
    NullDerived { at: usize },
    /// `size` bytes at `offset` from the start of a `len`-byte allocation do not fit.
    OutOfBounds {
        size: usize,
        offset: isize,
        len: usize,
    },
}

impl fmt::Display for MemoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MemoryError::ArenaFreed => f.write_str("the arena has been freed"),
            MemoryError::TooLarge(size) => write!(f, "{size} bytes is too large"),
            MemoryError::BadLayout { size, align } => {
                write!(f, "bad size/alignment ({size} bytes, align {align})")
            }
            MemoryError::OutOfMemory(size) => write!(f, "out of memory allocating {size} bytes"),
            MemoryError::Null => f.write_str("attempt to access memory through a NULL pointer"),
            MemoryError::FreedArena => f.write_str("attempt to access memory of a freed arena"),
            MemoryError::NullDerived { at } => write!(
                f,
                "attempt to access memory through a pointer derived from NULL (address {at:#x})"
            ),
            MemoryError::OutOfBounds { size, offset, len } => write!(
                f,
                "out of bounds: {size} bytes at offset {offset} of a {len}-byte allocation"
            ),
        }
    }
}

impl std::error::Error for MemoryError {}

/// The Luau layer's errors are message strings: `?` turns a memory error into its
/// message there.
impl From<MemoryError> for String {
    fn from(e: MemoryError) -> String {
        e.to_string()
    }
}
