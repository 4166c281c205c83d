//! `mmiodrv info` (decoded config header, BARs, capabilities, binding) and
//! `mmiodrv config` (raw config space in `lspci -xxx` layout).

use serde::Serialize;

use mmiodrv::backend::BarInfo;
use mmiodrv::error::{Error, Result};
use mmiodrv::pci::capabilities::{self, Capability};
use mmiodrv::pci::config::{flag_string, status_string, COMMAND_FLAGS};
use mmiodrv::pci::ids::PciIds;
use mmiodrv::pci::{BarKind, ConfigSpace, PciAddress};

use crate::args::Cli;
use crate::context::{open_device_for_inspection, Device};
use crate::output::{config_hex_lines, print_json, size_string};

#[derive(Serialize)]
struct Report {
    address: PciAddress,
    title: String,
    vendor_id: u16,
    device_id: u16,
    subsystem_vendor_id: Option<u16>,
    subsystem_id: Option<u16>,
    revision: u8,
    class: u32,
    class_name: String,
    header_type: u8,
    multi_function: bool,
    command: u16,
    command_flags: String,
    status: u16,
    status_flags: String,
    interrupt_pin: Option<u8>,
    interrupt_line: Option<u8>,
    bars: Vec<BarInfo>,
    capabilities: Vec<Capability>,
    config_bytes_readable: usize,
    kernel_driver: Option<String>,
    iommu_group: Option<u32>,
    iommu_group_members: Vec<PciAddress>,
    mmiodrv_driver: Option<&'static str>,
}

/// The line lspci prints first: `Unclassified device [00ff]: Device 1234:11e8 (rev 10)`.
fn title(ids: &PciIds, config: &ConfigSpace) -> String {
    let vendor = config.vendor_id().unwrap_or(0);
    let device = config.device_id().unwrap_or(0);
    let class = config.class_code().unwrap_or(0);
    let mut t = format!("{} [{:04x}]: {}", ids.class_name(class), class >> 8, ids.describe(vendor, device));
    if let Some(rev) = config.revision().filter(|r| *r != 0) {
        t.push_str(&format!(" (rev {rev:02x})"));
    }
    t
}

fn build(dev: &Device, ids: &PciIds) -> Result<Report> {
    let config = dev.backend.read_config()?;
    if config.len() < 64 {
        return Err(Error::Unsupported {
            device: dev.name(),
            message: format!("only {} bytes of config space are readable; the header needs 64", config.len()),
        });
    }
    let mut caps = capabilities::standard(&config);
    caps.extend(capabilities::extended(&config));
    let subsystem = config.subsystem();
    let command = config.command().unwrap_or(0);
    let status = config.status().unwrap_or(0);
    Ok(Report {
        address: dev.sysfs.address,
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
        command,
        command_flags: flag_string(command, COMMAND_FLAGS),
        status,
        status_flags: status_string(status),
        interrupt_pin: config.interrupt_pin().filter(|p| *p != 0),
        interrupt_line: config.interrupt_line(),
        bars: dev.backend.bars()?,
        capabilities: caps,
        config_bytes_readable: config.len(),
        kernel_driver: dev.sysfs.driver(),
        iommu_group: dev.sysfs.iommu_group(),
        iommu_group_members: dev.sysfs.iommu_group_members(),
        mmiodrv_driver: dev.driver.map(|d| d.name),
    })
}

pub fn run_info(cli: &Cli) -> Result<()> {
    let dev = open_device_for_inspection(cli)?;
    let ids = PciIds::load();
    let r = build(&dev, &ids)?;
    if cli.json {
        print_json(&r);
        return Ok(());
    }
    outln!("{} {}", r.address, r.title);
    if let (Some(v), Some(d)) = (r.subsystem_vendor_id, r.subsystem_id) {
        outln!("\tSubsystem: {}", ids.describe(v, d));
    }
    outln!(
        "\tIDs: vendor {:04x} device {:04x}, revision {:02x}, class {:06x}",
        r.vendor_id,
        r.device_id,
        r.revision,
        r.class
    );
    let layout = match r.header_type {
        0 => "endpoint",
        1 => "PCI bridge",
        2 => "CardBus bridge",
        _ => "unknown",
    };
    outln!("\tHeader type: {} ({layout}){}", r.header_type, if r.multi_function { ", multi-function" } else { "" });
    outln!("\tControl: {}", r.command_flags);
    outln!("\tStatus: {}", r.status_flags);
    if let Some(pin) = r.interrupt_pin {
        let pin_name = (b'A' + pin.saturating_sub(1).min(25)) as char;
        outln!("\tInterrupt: pin {pin_name} routed to IRQ {}", r.interrupt_line.unwrap_or(0));
    }
    for b in &r.bars {
        outln!("\t{}", bar_line(b));
    }
    for c in &r.capabilities {
        let at = if c.extended { format!("[{:x} v{}]", c.offset, c.version) } else { format!("[{:02x}]", c.offset) };
        let detail = if c.detail.is_empty() { String::new() } else { format!(": {}", c.detail) };
        outln!("\tCapabilities: {at} {}{detail}", c.name);
    }
    if r.config_bytes_readable < 256 {
        outln!("\t(only {} bytes of config space readable: capabilities need root)", r.config_bytes_readable);
    }
    match &r.kernel_driver {
        Some(d) => outln!("\tKernel driver in use: {d}"),
        None => outln!("\tKernel driver in use: none"),
    }
    match r.iommu_group {
        Some(g) => {
            let others: Vec<String> =
                r.iommu_group_members.iter().filter(|a| **a != r.address).map(|a| a.to_string()).collect();
            let others = if others.is_empty() { "none".to_string() } else { others.join(", ") };
            outln!("\tIOMMU group: {g} (other members: {others})");
        }
        None => outln!("\tIOMMU group: none"),
    }
    outln!("\tmmiodrv driver: {}", r.mmiodrv_driver.unwrap_or("none"));
    Ok(())
}

/// `Region 0: Memory at fea00000 (32-bit, non-prefetchable) [size=1M]`, as lspci -v.
pub fn bar_line(b: &BarInfo) -> String {
    match b.kind {
        BarKind::Io => format!("Region {}: I/O ports at {:04x} [size={}]", b.index, b.address, size_string(b.size)),
        BarKind::Memory => format!(
            "Region {}: Memory at {:08x} ({}, {}) [size={}]",
            b.index,
            b.address,
            if b.is_64bit { "64-bit" } else { "32-bit" },
            if b.prefetchable { "prefetchable" } else { "non-prefetchable" },
            size_string(b.size)
        ),
    }
}

pub fn run_config(cli: &Cli) -> Result<()> {
    let dev = open_device_for_inspection(cli)?;
    let config = dev.backend.read_config()?;
    if cli.json {
        print_json(&serde_json::json!({
            "address": dev.sysfs.address,
            "length": config.len(),
            "hex": config.bytes().iter().map(|b| format!("{b:02x}")).collect::<String>(),
        }));
        return Ok(());
    }
    let ids = PciIds::load();
    outln!("{} {}", dev.sysfs.address, title(&ids, &config));
    for line in config_hex_lines(config.bytes()) {
        outln!("{line}");
    }
    outln!();
    Ok(())
}
