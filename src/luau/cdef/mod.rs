pub mod declared;
pub mod include;
