//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod docs;
pub mod fake_sysfs;
pub mod lspci;
pub mod schema;
pub mod sshd;
pub mod vm;
