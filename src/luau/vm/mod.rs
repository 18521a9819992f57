pub mod anchor;
pub mod finalizers;
pub mod raw;
pub mod reentry;
pub mod slots;
pub mod slots_probe;
pub mod state;
pub mod tags;
