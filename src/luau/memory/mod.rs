pub mod access;
pub mod functions;
pub mod gc;
pub mod objects;
pub mod pointers;
pub mod records;
