//! mmiodrv's built-in drivers: one crate per folder here (edu, ivshmem,
//! e1000), each a driver crate as an outside one is (docs/writing-a-driver.md),
//! and [`BUILTIN`], the one list of them. The `mmiodrv` binary is
//! `mmiodrv_cli::run(BUILTIN)` and the Python module installs the same list:
//! adding a device is a folder with its crate, and one entry here.
#![deny(unsafe_code)]

pub use mmiodrv_e1000 as e1000;
pub use mmiodrv_edu as edu;
pub use mmiodrv_ivshmem as ivshmem;

use mmiodrv::drivers::DriverInfo;

/// Every built-in driver, in the order help lists them.
pub static BUILTIN: &[&DriverInfo] = &[&edu::DRIVER, &ivshmem::DRIVER, &e1000::DRIVER];
