//! `mmiodrv list`.

use serde::Serialize;

use mmiodrv::drivers;
use mmiodrv::error::Result;
use mmiodrv::pci::ids::PciIds;
use mmiodrv::pci::{PciAddress, Sysfs};

use crate::args::Global;
use crate::output::print_json;

#[derive(Serialize)]
struct Row {
    address: PciAddress,
    vendor_id: String,
    device_id: String,
    class: String,
    class_name: String,
    description: String,
    kernel_driver: Option<String>,
    iommu_group: Option<u32>,
    mmiodrv_driver: Option<&'static str>,
}

pub fn run(g: &Global) -> Result<()> {
    let sysfs = Sysfs::from_env();
    let ids = PciIds::load();
    let mut rows = Vec::new();
    for address in sysfs.addresses()? {
        let dev = sysfs.device(address);
        // A device whose IDs cannot be read is still listed, with zeros, rather
        // than hiding it or failing the whole listing.
        let vendor = dev.vendor_id().unwrap_or(0);
        let device = dev.device_id().unwrap_or(0);
        let class = dev.class_code().unwrap_or(0);
        rows.push(Row {
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
    if g.json {
        print_json(&serde_json::json!({ "devices": rows }));
        return Ok(());
    }
    outln!("{:<13} {:<10} {:<28} {:<16} {:<6} MMIODRV", "ADDRESS", "ID", "CLASS", "KERNEL DRIVER", "IOMMU");
    for r in &rows {
        outln!(
            "{:<13} {:<10} {:<28} {:<16} {:<6} {}",
            r.address.to_string(),
            format!("{}:{}", r.vendor_id, r.device_id),
            truncate(&r.class_name, 28),
            r.kernel_driver.as_deref().unwrap_or("-"),
            r.iommu_group.map(|g| g.to_string()).unwrap_or_else(|| "-".into()),
            r.mmiodrv_driver.unwrap_or("-")
        );
    }
    Ok(())
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let cut: String = s.chars().take(max - 1).collect();
        format!("{cut}…")
    }
}
