//! Every PCI function sysfs shows, with what `mmiodrv list` prints (and the
//! Python module's `mmiodrv.list()` returns): IDs, class, kernel driver, IOMMU
//! group and the built-in driver that knows it.

use serde::Serialize;

use crate::drivers;
use crate::error::Result;
use crate::pci::filter::Filter;
use crate::pci::ids::PciIds;
use crate::pci::{PciAddress, Sysfs};

/// One PCI function as listed (the fields of `mmiodrv list --json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Listed {
    /// Its address.
    pub device: PciAddress,
    /// `vendor:device` in hex, as lspci -n prints them (`1234:11e8`).
    pub ids: String,
    /// Vendor ID.
    pub vendor_id: u16,
    /// Device ID.
    pub device_id: u16,
    /// Class code (base class << 16 | subclass << 8 | programming interface).
    pub class: u32,
    /// The class's name from pci.ids (the subclass's, else the base class's).
    pub class_name: String,
    /// The vendor's name from pci.ids.
    pub vendor_name: Option<String>,
    /// The device's name from pci.ids.
    pub device_name: Option<String>,
    /// Vendor and device names as lspci words them (`Red Hat, Inc. Virtio
    /// block device`, `Device 1234:11e8` when unknown).
    pub description: String,
    /// The kernel driver bound to it.
    pub kernel_driver: Option<String>,
    /// Its IOMMU group.
    pub iommu_group: Option<u32>,
    /// The built-in mmiodrv driver for its IDs.
    pub mmiodrv_driver: Option<&'static str>,
    /// The bridge it is behind (none for devices on a root bus).
    pub parent: Option<PciAddress>,
}

/// Every function under `sysfs`, in address order, named with `ids`. Reads
/// sysfs attributes only. A function whose IDs cannot be read is still
/// listed, with zeros, rather than hidden or failing the whole listing.
pub fn list(sysfs: &Sysfs, ids: &PciIds) -> Result<Vec<Listed>> {
    list_filtered(sysfs, ids, &Filter::default())
}

/// The functions `filter` selects (see [`list`]).
pub fn list_filtered(sysfs: &Sysfs, ids: &PciIds, filter: &Filter) -> Result<Vec<Listed>> {
    let mut rows = Vec::new();
    for dev in filter.select(sysfs)? {
        let vendor = dev.vendor_id().unwrap_or(0);
        let device = dev.device_id().unwrap_or(0);
        let class = dev.class_code().unwrap_or(0);
        rows.push(Listed {
            device: dev.address,
            ids: format!("{vendor:04x}:{device:04x}"),
            vendor_id: vendor,
            device_id: device,
            class,
            class_name: ids.class_name(class),
            vendor_name: ids.vendor(vendor).map(str::to_string),
            device_name: ids.device(vendor, device).map(str::to_string),
            description: ids.describe(vendor, device),
            kernel_driver: dev.driver(),
            iommu_group: dev.iommu_group(),
            mmiodrv_driver: drivers::for_ids(vendor, device).map(|d| d.name()),
            parent: dev.parent_bridge(),
        });
    }
    Ok(rows)
}
