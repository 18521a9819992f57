//! Every userdata kind the module creates, in one place: its tag and its `__type` name.
//! Tags are chosen away from 0 (untagged userdata, used by mlua) in case other libraries
//! use low tags. `kinds` registers one metatable and destructor per tag.

use std::ffi::{c_int, CStr};

#[repr(i32)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Tag {
    RawPointer = 90,
    TypedPointer = 91,
    StructView = 92,
    Arena = 93,
    StructType = 94,
    Library = 95,
    Callback = 96,
    Bound = 97,
    /// The per-state data (`vm::state::Shared`), never handed to scripts.
    Shared = 98,
    DeclaredVariadic = 99,
    TypedValue = 110,
}

impl Tag {
    pub const ALL: [Tag; 11] = [
        Tag::RawPointer,
        Tag::TypedPointer,
        Tag::StructView,
        Tag::Arena,
        Tag::StructType,
        Tag::Library,
        Tag::Callback,
        Tag::Bound,
        Tag::Shared,
        Tag::DeclaredVariadic,
        Tag::TypedValue,
    ];

    /// The kind a userdata tag names, if it is one of ours.
    pub fn of(tag: c_int) -> Option<Tag> {
        Tag::ALL.into_iter().find(|t| *t as c_int == tag)
    }

    /// The `__type` name scripts see.
    pub const fn name(self) -> &'static CStr {
        match self {
            Tag::RawPointer => c"RawPointer",
            Tag::TypedPointer => c"TypedPointer",
            Tag::StructView => c"StructView",
            Tag::Arena => c"Arena",
            Tag::StructType => c"StructType",
            Tag::Library => c"Library",
            Tag::Callback => c"Callback",
            Tag::Bound => c"ffi function",
            Tag::Shared => c"lune-ffi state",
            Tag::DeclaredVariadic => c"ffi variadic function",
            Tag::TypedValue => c"TypedValue",
        }
    }
}

/// A userdata kind: the Rust type a tagged block holds. Only `raw::push_ud` creates
/// userdata with the tag, so a block with the tag always holds a live `Self`.
pub trait Ud: Sized {
    const KIND: Tag;
    const TAG: c_int = Self::KIND as c_int;
    const NAME: &'static CStr = Self::KIND.name();
}

#[cfg(test)]
mod tests {
    use super::Tag;

    #[test]
    fn tags_are_distinct_and_round_trip() {
        for (i, t) in Tag::ALL.iter().enumerate() {
            assert_eq!(Tag::of(*t as i32), Some(*t));
            assert!(Tag::ALL[..i].iter().all(|u| u != t), "{t:?} listed twice");
        }
        assert_eq!(Tag::of(0), None);
        assert_eq!(Tag::of(100), None);
    }
}
