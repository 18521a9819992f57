pub mod convert;
pub mod ctypes;
pub mod typed;
