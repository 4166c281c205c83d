//! mmiodrv: a userspace driver toolkit for PCI devices through MMIO.
//!
//! Layers, bottom up:
//! - [`pci`]: addresses, sysfs discovery, config-space and capability decoding;
//! - [`mmio`]: mappings and checked volatile register access (one access of the
//!   declared width per call) plus barriers;
//! - [`backend`]: how a device is reached (sysfs `resourceN` today; VFIO and UIO
//!   behind the same trait);
//! - [`regmap`]: register maps with fields, loaded from TOML;
//! - [`drivers`]: per-device modules (the top-level `drivers/` folder).
#![deny(clippy::undocumented_unsafe_blocks)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod backend;
pub mod error;
pub mod mmio;
pub mod pci;
pub mod regmap;
pub mod value;

#[path = "../drivers/mod.rs"]
pub mod drivers;

pub use error::{Error, Result};
