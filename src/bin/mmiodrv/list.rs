//! `mmiodrv list`.

use mmiodrv::error::Result;
use mmiodrv::pci::ids::PciIds;
use mmiodrv::pci::{listing, Sysfs};

use crate::args::Global;
use crate::output::print_json;

pub fn run(g: &Global) -> Result<()> {
    let rows = listing::list(&Sysfs::from_env(), &PciIds::load())?;
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
