//! What `info` reports about a device: its config header decoded, BARs,
//! capabilities, binding and IOMMU group, gathered in one value.

use serde::Serialize;

use crate::backend::{Backend, BarInfo};
use crate::error::{Error, ErrorKind, Result};
use crate::pci::capabilities::{self, Capability};
use crate::pci::ids::PciIds;
use crate::pci::{ConfigSpace, PciAddress, SysfsDevice};

/// Everything `info` shows.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DeviceReport {
    /// The device.
    pub device: PciAddress,
    /// `vendor:device` in hex (`1234:11e8`), as in `list`.
    pub ids: String,
    /// lspci's first line after the address.
    pub title: String,
    /// Vendor ID.
    pub vendor_id: u16,
    /// Device ID.
    pub device_id: u16,
    /// Subsystem vendor ID (type-0 headers).
    pub subsystem_vendor_id: Option<u16>,
    /// Subsystem ID (type-0 headers).
    pub subsystem_id: Option<u16>,
    /// Revision.
    pub revision: u8,
    /// 24-bit class code.
    pub class: u32,
    /// Class name from pci.ids.
    pub class_name: String,
    /// Header layout (0 endpoint, 1 bridge, 2 CardBus).
    pub header_type: u8,
    /// Multi-function device.
    pub multi_function: bool,
    /// COMMAND register.
    pub command: u16,
    /// STATUS register.
    pub status: u16,
    /// Latency timer.
    pub latency_timer: Option<u8>,
    /// Cache line size (in 32-bit words).
    pub cache_line_size: Option<u8>,
    /// Minimum grant (type-0 headers; units of 250 ns).
    pub min_gnt: Option<u8>,
    /// Maximum latency (type-0 headers; units of 250 ns).
    pub max_lat: Option<u8>,
    /// Interrupt pin (1 = INTA), if any.
    pub interrupt_pin: Option<u8>,
    /// Interrupt line.
    pub interrupt_line: Option<u8>,
    /// The IRQ the kernel routed it to (sysfs `irq`, what lspci shows).
    pub irq: Option<u32>,
    /// BARs.
    pub bars: Vec<BarInfo>,
    /// Standard then extended capabilities.
    pub capabilities: Vec<Capability>,
    /// How much config space could be read, in bytes (in JSON: `config_len`).
    #[serde(rename = "config_len")]
    pub config_bytes_readable: usize,
    /// The bound kernel driver.
    pub kernel_driver: Option<String>,
    /// IOMMU group.
    pub iommu_group: Option<u32>,
    /// Its members, the device included.
    pub iommu_group_members: Vec<PciAddress>,
    /// The built-in mmiodrv driver for it.
    pub mmiodrv_driver: Option<&'static str>,
}

/// lspci's first line after the address, exactly as lspci words it:
/// `Unclassified device [00ff]: Device 1234:11e8 (rev 10)`,
/// `Ethernet controller: Intel Corporation 82540EM Gigabit Ethernet Controller (rev 03)`.
pub fn title(ids: &PciIds, config: &ConfigSpace) -> String {
    let vendor = config.vendor_id().unwrap_or(0);
    let device = config.device_id().unwrap_or(0);
    let class = config.class_code().unwrap_or(0);
    let mut t = format!("{}: {}", ids.lspci_class(class), ids.describe(vendor, device));
    if let Some(rev) = config.revision().filter(|r| *r != 0) {
        t.push_str(&format!(" (rev {rev:02x})"));
    }
    t
}

impl DeviceReport {
    /// Gather the report for `dev` through `backend`.
    pub fn build(dev: &SysfsDevice, backend: &dyn Backend, ids: &PciIds) -> Result<DeviceReport> {
        let config = backend.read_config()?;
        if config.len() < 64 {
            return Err(Error::on(dev.address, ErrorKind::ConfigTooShort { len: config.len(), need: 64 }));
        }
        let mut caps = capabilities::standard(&config);
        caps.extend(capabilities::extended(&config));
        // A bridge's subsystem is in its SSVID capability.
        let subsystem = config.subsystem().or_else(|| {
            caps.iter().find_map(|c| match c.decoded {
                capabilities::Decoded::Subsystem { vendor, device } => Some((vendor, device)),
                _ => None,
            })
        });
        Ok(DeviceReport {
            device: dev.address,
            ids: format!("{:04x}:{:04x}", config.vendor_id().unwrap_or(0), config.device_id().unwrap_or(0)),
            title: title(ids, &config),
            vendor_id: config.vendor_id().unwrap_or(0),
            device_id: config.device_id().unwrap_or(0),
            subsystem_vendor_id: subsystem.map(|s| s.0),
            subsystem_id: subsystem.map(|s| s.1),
            revision: config.revision().unwrap_or(0),
            class: config.class_code().unwrap_or(0),
            class_name: ids.class_name(config.class_code().unwrap_or(0)),
            header_type: config.header_layout().unwrap_or(0),
            multi_function: config.multi_function().unwrap_or(false),
            command: config.command().unwrap_or(0),
            status: config.status().unwrap_or(0),
            latency_timer: config.latency_timer(),
            cache_line_size: config.cache_line_size(),
            min_gnt: config.u8(0x3e).filter(|_| config.header_layout() == Some(0)),
            max_lat: config.u8(0x3f).filter(|_| config.header_layout() == Some(0)),
            interrupt_pin: config.interrupt_pin().filter(|p| *p != 0),
            interrupt_line: config.interrupt_line(),
            irq: dev.irq(),
            bars: backend.bars()?,
            capabilities: caps,
            config_bytes_readable: config.len(),
            kernel_driver: dev.driver(),
            iommu_group: dev.iommu_group(),
            iommu_group_members: dev.iommu_group_members(),
            mmiodrv_driver: crate::drivers::for_device(dev).map(|d| d.name()),
        })
    }
}
