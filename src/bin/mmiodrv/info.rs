//! `mmiodrv info` (decoded config header, BARs, capabilities, binding, in
//! lspci's words) and `mmiodrv config` (raw config space as `lspci -xxx`).

use mmiodrv::backend::BarInfo;
use mmiodrv::error::Result;
use mmiodrv::pci::capabilities::{Capability, Decoded};
use mmiodrv::pci::config::{flag_string, status_string, COMMAND_FLAGS};
use mmiodrv::pci::ids::PciIds;
use mmiodrv::pci::report::DeviceReport;
use mmiodrv::pci::BarKind;
use mmiodrv::text::size_string;

use crate::args::Global;
use crate::context::open_for_inspection;
use crate::output::print_json;

fn pm(flag: bool) -> char {
    if flag {
        '+'
    } else {
        '-'
    }
}

/// A capability as lspci -v names it, with what it decodes.
fn capability_line(c: &Capability) -> String {
    let at = if c.extended { format!("[{:x} v{}]", c.offset, c.version) } else { format!("[{:02x}]", c.offset) };
    let text = match c.decoded {
        Decoded::PowerManagement { version } => format!("{} version {version}", c.name),
        Decoded::Msi { enabled, vectors_enabled, vectors_capable, maskable, is_64bit } => format!(
            "{}: Enable{} Count={vectors_enabled}/{vectors_capable} Maskable{} 64bit{}",
            c.name,
            pm(enabled),
            pm(maskable),
            pm(is_64bit)
        ),
        Decoded::MsiX { enabled, masked, table_size, table_bar, table_offset, pba_bar, pba_offset } => format!(
            "{}: Enable{} Count={table_size} Masked{}; vector table BAR={table_bar} offset={table_offset:08x}; PBA BAR={pba_bar} offset={pba_offset:08x}",
            c.name,
            pm(enabled),
            pm(masked)
        ),
        Decoded::Express { version, port_type } => {
            let kind = match port_type {
                0 => "Endpoint",
                1 => "Legacy Endpoint",
                4 => "Root Port (Slot-)",
                5 => "Upstream Port",
                6 => "Downstream Port (Slot-)",
                7 => "PCI-Express to PCI/PCI-X Bridge",
                8 => "PCI/PCI-X to PCI-Express Bridge",
                9 => "Root Complex Integrated Endpoint",
                10 => "Root Complex Event Collector",
                _ => "Unknown type",
            };
            format!("{} (v{version}) {kind}", c.name)
        }
        Decoded::Vendor { len } => format!("{}: Len={len:02x}", c.name),
        Decoded::None => c.name.to_string(),
    };
    format!("Capabilities: {at} {text}")
}

pub fn run_info(g: &Global) -> Result<()> {
    let (sysfs, dev) = open_for_inspection(g)?;
    let ids = PciIds::load();
    let r = DeviceReport::build(&sysfs, dev.backend(), &ids)?;
    if g.json {
        print_json(&r);
        return Ok(());
    }
    outln!("{} {}", r.device, r.title);
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
    outln!("\tControl: {}", flag_string(r.command, COMMAND_FLAGS));
    outln!("\tStatus: {}", status_string(r.status));
    if let Some(pin) = r.interrupt_pin {
        let pin_name = (b'A' + pin.saturating_sub(1).min(25)) as char;
        outln!("\tInterrupt: pin {pin_name} routed to IRQ {}", r.interrupt_line.unwrap_or(0));
    }
    for b in &r.bars {
        outln!("\t{}", bar_line(b));
    }
    for c in &r.capabilities {
        outln!("\t{}", capability_line(c));
    }
    if r.config_bytes_readable < 256 {
        outln!("\t(only {} bytes of config space readable: capabilities need root)", r.config_bytes_readable);
    }
    match &r.kernel_driver {
        Some(d) => outln!("\tKernel driver in use: {d}"),
        None => outln!("\tKernel driver in use: none"),
    }
    match r.iommu_group {
        Some(group) => {
            let others: Vec<String> =
                r.iommu_group_members.iter().filter(|a| **a != r.device).map(|a| a.to_string()).collect();
            let others = if others.is_empty() { "none".to_string() } else { others.join(", ") };
            outln!("\tIOMMU group: {group} (other members: {others})");
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
