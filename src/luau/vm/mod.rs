pub mod raw;
pub mod reentry;
pub mod slots;
