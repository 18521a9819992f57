pub mod asynccall;
pub mod bound;
pub mod desc;
pub mod invoke;
pub mod library;
pub mod printf;
pub mod signature;
