//! Register maps: one schema for built-in drivers and user files, the loader that
//! checks them, and access to registers and fields by name.

pub mod access;
pub mod loader;
pub mod model;

pub use access::{read_register, resolve, write_field, write_register, Target};
pub use loader::{load_file, parse};
pub use model::{Access, AccessRule, Field, Register, RegisterMap};

#[cfg(test)]
mod tests;
