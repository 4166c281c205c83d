//! Every PCI function sysfs shows, with what `mmiodrv list` prints (and the
//! Python module's `mmiodrv.list()` returns): IDs, class, kernel driver, IOMMU
//! group and the built-in driver that knows it.

use serde::Serialize;

use crate::drivers;
use crate::error::Result;
use crate::pci::ids::PciIds;
use crate::pci::{PciAddress, Sysfs};

/// One PCI function as listed (the fields of `mmiodrv list --json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Listed {
    /// Its address.
    pub address: PciAddress,
    /// Vendor ID, 4 hex digits.
    pub vendor_id: String,
    /// Device ID, 4 hex digits.
    pub device_id: String,
    /// Class code (class, subclass, programming interface), 6 hex digits.
    pub class: String,
    /// The class's name from pci.ids.
    pub class_name: String,
    /// Vendor and device names from pci.ids.
    pub description: String,
    /// The kernel driver bound to it.
    pub kernel_driver: Option<String>,
    /// Its IOMMU group.
    pub iommu_group: Option<u32>,
    /// The built-in mmiodrv driver for its IDs.
    pub mmiodrv_driver: Option<&'static str>,
}

/// Every function under `sysfs`, in address order, named with `ids`. Reads
/// sysfs attributes only. A function whose IDs cannot be read is still
/// listed, with zeros, rather than hidden or failing the whole listing.
pub fn list(sysfs: &Sysfs, ids: &PciIds) -> Result<Vec<Listed>> {
    let mut rows = Vec::new();
    for address in sysfs.addresses()? {
        let dev = sysfs.device(address);
        let vendor = dev.vendor_id().unwrap_or(0);
        let device = dev.device_id().unwrap_or(0);
        let class = dev.class_code().unwrap_or(0);
        rows.push(Listed {
            address,
            vendor_id: format!("{vendor:04x}"),
            device_id: format!("{device:04x}"),
            class: format!("{class:06x}"),
            class_name: ids.class_name(class),
            description: ids.describe(vendor, device),
            kernel_driver: dev.driver(),
            iommu_group: dev.iommu_group(),
            mmiodrv_driver: drivers::for_ids(vendor, device).map(|d| d.name),
        });
    }
    Ok(rows)
}
