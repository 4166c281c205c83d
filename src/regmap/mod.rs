//! Register maps: one model for built-in drivers and user files, the loader
//! and the checks every map goes through, access to registers and fields by
//! name, and typed registers for drivers.

pub mod access;
pub mod error;
pub mod formats;
pub mod generate;
pub mod loader;
#[doc(hidden)]
pub mod macros;
pub mod model;
pub mod typed;

pub use access::{
    plan_field_write, plan_fresh_write, plan_write, read_register, resolve, write_field, write_masked, write_register,
    FieldWritePlan, Target,
};
pub use formats::{load_file, Format, MapFile, MapSpec};
#[cfg(feature = "toml")]
pub use loader::{parse, parse_file};
pub use loader::{problems_of, validate, Invalid};
pub use model::{
    short_name, Access, AccessRule, BitRange, Block, Field, ReadAction, Register, RegisterMap, Text, WordOrder,
    WriteSemantics,
};

#[cfg(test)]
mod tests;
