//! PCI: addresses, sysfs discovery, config-space decoding, capabilities and names.

pub mod address;
pub mod binding;
pub mod capabilities;
pub mod config;
pub mod config_map;
pub mod config_target;
pub mod error;
pub mod filter;
pub mod ids;
pub mod in_use;
pub mod listing;
pub mod lspci;
pub mod report;
pub mod resource;
pub mod setpci;
pub mod space;
pub mod sysfs;

pub use address::{DeviceSelector, PciAddress};
pub use config::ConfigSpace;
pub use resource::{BarKind, Resource};
pub use sysfs::{Sysfs, SysfsDevice};
