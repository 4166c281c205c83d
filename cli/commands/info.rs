//! `mmiodrv info` (decoded config header, BARs, capabilities, binding, in
//! lspci's words) and `mmiodrv config` (raw config space as `lspci -xxx`).

use mmiodrv::backend::BarInfo;
use mmiodrv::error::Result;
use mmiodrv::pci::capabilities::{virtio_structure_name, Capability, Decoded};
use mmiodrv::pci::config::{command, flag_string, status_string, COMMAND_FLAGS};
use mmiodrv::pci::ids::PciIds;
use mmiodrv::pci::report::DeviceReport;
use mmiodrv::pci::BarKind;
use mmiodrv::text::size_string;

use mmiodrv::command::Call;

use crate::cli::Global;
use crate::context::open_for_inspection;
use crate::output::print_json;

fn pm(flag: bool) -> char {
    if flag {
        '+'
    } else {
        '-'
    }
}

/// A capability as lspci -vvv shows it: its line and the lines under it
/// (one more tab), for what mmiodrv decodes.
fn capability_lines(c: &Capability, r: &DeviceReport, ids: &PciIds) -> Vec<String> {
    let at = if c.extended { format!("[{:x} v{}]", c.offset, c.version) } else { format!("[{:02x}]", c.offset) };
    let mut more = Vec::new();
    let text = match c.decoded {
        Decoded::PowerManagement { version } => format!("{} version {version}", c.name),
        Decoded::Msi { enabled, vectors_enabled, vectors_capable, maskable, is_64bit } => format!(
            "{}: Enable{} Count={vectors_enabled}/{vectors_capable} Maskable{} 64bit{}",
            c.name,
            pm(enabled),
            pm(maskable),
            pm(is_64bit)
        ),
        Decoded::MsiX { enabled, masked, table_size, table_bar, table_offset, pba_bar, pba_offset } => {
            more.push(format!("Vector table: BAR={table_bar} offset={table_offset:08x}"));
            more.push(format!("PBA: BAR={pba_bar} offset={pba_offset:08x}"));
            format!("{}: Enable{} Count={table_size} Masked{}", c.name, pm(enabled), pm(masked))
        }
        Decoded::Express { version, port_type, slot, interrupt_message } => {
            let slot = pm(slot);
            let kind = match port_type {
                0 => "Endpoint".to_string(),
                1 => "Legacy Endpoint".to_string(),
                4 => format!("Root Port (Slot{slot})"),
                5 => "Upstream Port".to_string(),
                6 => format!("Downstream Port (Slot{slot})"),
                7 => "PCI-Express to PCI/PCI-X Bridge".to_string(),
                8 => "PCI/PCI-X to PCI-Express Bridge".to_string(),
                9 => "Root Complex Integrated Endpoint".to_string(),
                10 => "Root Complex Event Collector".to_string(),
                t => format!("Unknown type {t}"),
            };
            format!("{} (v{version}) {kind}, MSI {interrupt_message:02x}", c.name)
        }
        Decoded::Vendor { len } => format!("{}: Len={len:02x} <?>", c.name),
        Decoded::Virtio { cfg_type, bar, offset, length, multiplier } => {
            let mult = multiplier.map(|m| format!(" multiplier={m:08x}")).unwrap_or_default();
            more.push(format!("BAR={bar} offset={offset:08x} size={length:08x}{mult}"));
            format!("{}: VirtIO: {}", c.name, virtio_structure_name(cfg_type))
        }
        Decoded::Subsystem { vendor, device } => {
            format!("{}: {}", c.name, ids.describe_subsystem(r.vendor_id, r.device_id, vendor, device))
        }
        Decoded::None => c.name.to_string(),
    };
    std::iter::once(format!("Capabilities: {at} {text}")).chain(more.into_iter().map(|l| format!("\t{l}"))).collect()
}

/// lspci's `Latency:` line (shown when bus mastering is on): the latency
/// timer, MIN_GNT/MAX_LAT in ns, and the cache line size.
fn latency_line(r: &DeviceReport) -> Option<String> {
    if r.command & mmiodrv::pci::config::command::BUS_MASTER == 0 {
        return None;
    }
    let mut line = format!("Latency: {}", r.latency_timer.unwrap_or(0));
    let (min, max) = (u32::from(r.min_gnt.unwrap_or(0)), u32::from(r.max_lat.unwrap_or(0)));
    if min != 0 || max != 0 {
        let parts: Vec<String> = [(min, "min"), (max, "max")]
            .iter()
            .filter(|(v, _)| *v != 0)
            .map(|(v, what)| format!("{}ns {what}", v * 250))
            .collect();
        line.push_str(&format!(" ({})", parts.join(", ")));
    }
    if let Some(c) = r.cache_line_size.filter(|c| *c != 0) {
        line.push_str(&format!(", Cache Line Size: {} bytes", u32::from(c) * 4));
    }
    Some(line)
}

pub fn run(call: &mut Call<'_>) -> Result<()> {
    let g = Global::from_args(call.args)?;
    let (sysfs, dev) = open_for_inspection(&g)?;
    let ids = PciIds::load();
    let r = DeviceReport::build(&sysfs, dev.backend(), &ids)?;
    if g.json {
        print_json(call.path, &r);
        return Ok(());
    }
    outln!("{} {}", r.device, r.title);
    // As lspci: no Subsystem line for a subsystem vendor of 0 or ffff.
    if let (Some(v), Some(d)) = (r.subsystem_vendor_id.filter(|v| *v != 0 && *v != 0xffff), r.subsystem_id) {
        outln!("\tSubsystem: {}", ids.describe_subsystem(r.vendor_id, r.device_id, v, d));
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
    if let Some(line) = latency_line(&r) {
        outln!("\t{line}");
    }
    // As lspci: the IRQ the kernel routed (sysfs), shown when there is a pin or an IRQ.
    let irq = r.irq.unwrap_or_else(|| u32::from(r.interrupt_line.unwrap_or(0)));
    if r.interrupt_pin.is_some() || irq != 0 {
        let pin_name = r.interrupt_pin.map_or('?', |pin| (b'A' + pin.saturating_sub(1).min(25)) as char);
        outln!("\tInterrupt: pin {pin_name} routed to IRQ {irq}");
    }
    for b in &r.bars {
        outln!("\t{}", bar_line(b, r.command));
    }
    for c in &r.capabilities {
        for line in capability_lines(c, &r, &ids) {
            outln!("\t{line}");
        }
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

/// `Region 0: Memory at fea00000 (32-bit, non-prefetchable) [size=1M]`, as
/// lspci -v, with lspci's ` [disabled]` when COMMAND has the BAR's decoding off.
pub fn bar_line(b: &BarInfo, command: u16) -> String {
    let decodes = |bit: u16| if command & bit == 0 { " [disabled]" } else { "" };
    match b.kind {
        BarKind::Io => format!(
            "Region {}: I/O ports at {:04x}{} [size={}]",
            b.index,
            b.address,
            decodes(command::IO),
            size_string(b.size)
        ),
        BarKind::Memory => format!(
            "Region {}: Memory at {:08x} ({}, {}){} [size={}]",
            b.index,
            b.address,
            if b.is_64bit { "64-bit" } else { "32-bit" },
            if b.prefetchable { "prefetchable" } else { "non-prefetchable" },
            decodes(command::MEMORY),
            size_string(b.size)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// lspci's `[disabled]` follows COMMAND's decoding bit for the BAR's kind.
    #[test]
    fn bar_lines_say_when_decoding_is_off() {
        let mem = BarInfo {
            index: 0,
            kind: BarKind::Memory,
            address: 0xfe20_0000,
            size: 1 << 20,
            is_64bit: false,
            prefetchable: false,
        };
        let io = BarInfo { index: 1, kind: BarKind::Io, address: 0xc000, size: 32, ..mem };
        assert_eq!(bar_line(&mem, 0x2), "Region 0: Memory at fe200000 (32-bit, non-prefetchable) [size=1M]");
        assert_eq!(bar_line(&mem, 0x1), "Region 0: Memory at fe200000 (32-bit, non-prefetchable) [disabled] [size=1M]");
        assert_eq!(bar_line(&io, 0x1), "Region 1: I/O ports at c000 [size=32]");
        assert_eq!(bar_line(&io, 0x2), "Region 1: I/O ports at c000 [disabled] [size=32]");
    }
}
