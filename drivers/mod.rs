//! Per-device drivers, one module each: a register map (TOML, loaded by the same
//! loader as user files) and, as the device issues land, a typed API.
//!
//! This folder is compiled as the `mmiodrv::drivers` module of the library (see
//! `src/lib.rs`), which keeps it a top-level folder without a crate cycle.

pub mod edu;
pub mod ivshmem;

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::pci::ConfigSpace;
use crate::regmap::{self, RegisterMap};

/// A built-in driver: which devices it claims and its register map.
#[derive(Debug)]
pub struct DriverInfo {
    pub name: &'static str,
    pub vendor: u16,
    pub device: u16,
    regmap_toml: &'static str,
}

impl DriverInfo {
    /// The driver's register map, through the same loader as `--regmap` files.
    pub fn register_map(&self) -> Result<RegisterMap> {
        regmap::parse(self.regmap_toml, &format!("built-in {} map", self.name))
    }
}

/// Every built-in driver.
pub const DRIVERS: &[DriverInfo] = &[
    DriverInfo { name: "edu", vendor: edu::VENDOR_ID, device: edu::DEVICE_ID, regmap_toml: edu::REGMAP_TOML },
    DriverInfo {
        name: "ivshmem",
        vendor: ivshmem::VENDOR_ID,
        device: ivshmem::DEVICE_ID,
        regmap_toml: ivshmem::REGMAP_TOML,
    },
];

/// Read config space and check the device is `driver`'s; the config is returned
/// for further checks. The error names the IDs found and expected.
pub fn expect_device(backend: &dyn Backend, driver: &str, vendor: u16, device: u16) -> Result<ConfigSpace> {
    let config = backend.read_config()?;
    let found = (config.vendor_id().unwrap_or(0), config.device_id().unwrap_or(0));
    if found != (vendor, device) {
        return Err(Error::Unsupported {
            device: backend.address().to_string(),
            message: format!(
                "not an {driver} device (IDs {:04x}:{:04x}, expected {vendor:04x}:{device:04x})",
                found.0, found.1
            ),
        });
    }
    Ok(config)
}

/// The built-in driver for these IDs, if any.
pub fn for_ids(vendor: u16, device: u16) -> Option<&'static DriverInfo> {
    DRIVERS.iter().find(|d| d.vendor == vendor && d.device == device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_maps_load() {
        for d in DRIVERS {
            let map = d.register_map().unwrap_or_else(|e| panic!("{}: {e}", d.name));
            assert_eq!(map.name, d.name);
            assert!(!map.registers.is_empty());
        }
        assert_eq!(for_ids(0x1234, 0x11e8).map(|d| d.name), Some("edu"));
        assert_eq!(for_ids(0x1af4, 0x1110).map(|d| d.name), Some("ivshmem"));
        assert!(for_ids(0x8086, 0x1234).is_none());
    }

    #[test]
    fn edu_map_matches_the_spec() {
        let map = for_ids(0x1234, 0x11e8).unwrap().register_map().unwrap();
        let offsets: Vec<(&str, u64)> = map.registers.iter().map(|r| (r.name.as_str(), r.offset)).collect();
        assert_eq!(
            offsets,
            [
                ("ID", 0x00),
                ("LIVENESS", 0x04),
                ("FACTORIAL", 0x08),
                ("STATUS", 0x20),
                ("IRQ_STATUS", 0x24),
                ("IRQ_RAISE", 0x60),
                ("IRQ_ACK", 0x64),
                ("DMA_SRC", 0x80),
                ("DMA_DST", 0x88),
                ("DMA_COUNT", 0x90),
                ("DMA_CMD", 0x98)
            ]
        );
        // Only 32-bit accesses below 0x80.
        assert!(map.check_raw_access(0x04, crate::mmio::Width::W8).is_err());
        assert!(map.check_raw_access(0x80, crate::mmio::Width::W64).is_ok());
    }

    #[test]
    fn ivshmem_status_is_never_read_by_default() {
        let map = for_ids(0x1af4, 0x1110).unwrap().register_map().unwrap();
        assert!(map.register("INTR_STATUS").unwrap().read_side_effects);
        assert_eq!(map.register("DOORBELL").unwrap().access, regmap::Access::WO);
    }
}
