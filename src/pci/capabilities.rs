//! Walking the capability lists: standard (from 0x34) and extended (from 0x100).
//!
//! Both walks stop at a loop, a pointer outside what was read, or a header that is
//! all-ones/zero, so a broken or hostile device cannot make them spin or panic.

use serde::Serialize;

use crate::pci::config::ConfigSpace;

/// One entry of either capability list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Capability {
    pub offset: u16,
    pub id: u16,
    pub extended: bool,
    /// Version of an extended capability (0 for standard ones).
    pub version: u8,
    /// lspci's name for it.
    pub name: String,
    /// The decoded essentials, in lspci's words ("Enable+ Count=1/1 Maskable- 64bit+").
    pub detail: String,
}

/// At most this many entries: 48 standard capabilities fit in 192 bytes; extended ones
/// are at least 4 bytes each in 3840.
const MAX_STANDARD: usize = 48;
const MAX_EXTENDED: usize = 960;

pub fn standard(config: &ConfigSpace) -> Vec<Capability> {
    let mut out = Vec::new();
    let mut seen = [false; 256];
    let mut ptr = config.capabilities_pointer().unwrap_or(0) as usize;
    while ptr >= 0x40 && out.len() < MAX_STANDARD && !seen[ptr] {
        seen[ptr] = true;
        let (Some(id), Some(next)) = (config.u8(ptr), config.u8(ptr + 1)) else { break };
        if id == 0xff {
            break;
        }
        let (name, detail) = describe_standard(config, ptr, id);
        out.push(Capability { offset: ptr as u16, id: u16::from(id), extended: false, version: 0, name, detail });
        ptr = (next & 0xfc) as usize;
    }
    out
}

pub fn extended(config: &ConfigSpace) -> Vec<Capability> {
    let mut out = Vec::new();
    if config.len() < 0x104 {
        return out;
    }
    let mut ptr = 0x100usize;
    let mut seen = vec![false; 4096];
    while (0x100..4096).contains(&ptr) && out.len() < MAX_EXTENDED && !seen[ptr] {
        seen[ptr] = true;
        let Some(header) = config.u32(ptr) else { break };
        if header == 0 || header == 0xffff_ffff {
            break;
        }
        let id = (header & 0xffff) as u16;
        let version = ((header >> 16) & 0xf) as u8;
        if id != 0 {
            out.push(Capability {
                offset: ptr as u16,
                id,
                extended: true,
                version,
                name: extended_name(id).to_string(),
                detail: String::new(),
            });
        }
        ptr = ((header >> 20) & 0xffc) as usize;
    }
    out
}

fn pm(flag: bool) -> char {
    if flag {
        '+'
    } else {
        '-'
    }
}

fn describe_standard(c: &ConfigSpace, at: usize, id: u8) -> (String, String) {
    let ctrl = c.u16(at + 2).unwrap_or(0);
    match id {
        0x01 => (format!("Power Management version {}", ctrl & 7), String::new()),
        0x05 => {
            let capable = 1u32 << ((ctrl >> 1) & 7);
            let enabled = 1u32 << ((ctrl >> 4) & 7);
            (
                "MSI".into(),
                format!(
                    "Enable{} Count={enabled}/{capable} Maskable{} 64bit{}",
                    pm(ctrl & 1 != 0),
                    pm(ctrl & 0x100 != 0),
                    pm(ctrl & 0x80 != 0)
                ),
            )
        }
        0x11 => {
            let table = c.u32(at + 4).unwrap_or(0);
            let pba = c.u32(at + 8).unwrap_or(0);
            (
                "MSI-X".into(),
                format!(
                    "Enable{} Count={} Masked{}; vector table BAR={} offset={:08x}; PBA BAR={} offset={:08x}",
                    pm(ctrl & 0x8000 != 0),
                    (ctrl & 0x7ff) + 1,
                    pm(ctrl & 0x4000 != 0),
                    table & 7,
                    table & !7,
                    pba & 7,
                    pba & !7
                ),
            )
        }
        0x10 => {
            let kind = match (ctrl >> 4) & 0xf {
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
            (format!("Express (v{}) {kind}", ctrl & 0xf), String::new())
        }
        0x09 => ("Vendor Specific Information".into(), format!("Len={:02x}", c.u8(at + 2).unwrap_or(0))),
        other => (standard_name(other).to_string(), String::new()),
    }
}

fn standard_name(id: u8) -> &'static str {
    match id {
        0x02 => "AGP",
        0x03 => "Vital Product Data",
        0x04 => "Slot ID",
        0x06 => "CompactPCI hot-swap",
        0x07 => "PCI-X",
        0x08 => "HyperTransport",
        0x0a => "Debug port",
        0x0b => "CompactPCI central resource control",
        0x0c => "Hot-plug capable",
        0x0d => "Subsystem",
        0x0e => "AGP3",
        0x0f => "Secure device",
        0x12 => "SATA HBA",
        0x13 => "PCI Advanced Features",
        0x14 => "Enhanced Allocation",
        0x15 => "Flattening Portal Bridge",
        _ => "Unknown capability",
    }
}

fn extended_name(id: u16) -> &'static str {
    match id {
        0x01 => "Advanced Error Reporting",
        0x02 | 0x09 => "Virtual Channel",
        0x03 => "Device Serial Number",
        0x04 => "Power Budgeting",
        0x05 => "Root Complex Link",
        0x06 => "Root Complex Internal Link",
        0x07 => "Root Complex Event Collector",
        0x08 => "Multi-Function Virtual Channel",
        0x0a => "Root Complex Register Block",
        0x0b => "Vendor Specific Information",
        0x0c => "Configuration Access Correlation",
        0x0d => "Access Control Services",
        0x0e => "Alternative Routing-ID Interpretation (ARI)",
        0x0f => "Address Translation Service (ATS)",
        0x10 => "Single Root I/O Virtualization (SR-IOV)",
        0x11 => "Multi-Root I/O Virtualization (MR-IOV)",
        0x12 => "Multicast",
        0x13 => "Page Request Interface (PRI)",
        0x15 => "Resizable BAR",
        0x16 => "Dynamic Power Allocation",
        0x17 => "Transaction Processing Hints",
        0x18 => "Latency Tolerance Reporting",
        0x19 => "Secondary PCI Express",
        0x1a => "Protocol Multiplexing",
        0x1b => "Process Address Space ID (PASID)",
        0x1c => "LN Requester",
        0x1d => "Downstream Port Containment",
        0x1e => "L1 PM Substates",
        0x1f => "Precision Time Measurement",
        0x23 => "Designated Vendor-Specific",
        0x24 => "VF Resizable BAR",
        0x25 => "Data Link Feature",
        0x26 => "Physical Layer 16.0 GT/s",
        0x27 => "Lane Margining at the Receiver",
        _ => "Unknown extended capability",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_caps() -> Vec<u8> {
        let mut b = vec![0u8; 4096];
        b[0x06] = 0x10; // capability list present
        b[0x34] = 0x40;
        // PM v3 at 0x40 -> MSI at 0x50 -> MSI-X at 0x60 -> PCIe at 0x70 -> end
        b[0x40..0x44].copy_from_slice(&[0x01, 0x50, 0x03, 0x00]);
        b[0x50..0x54].copy_from_slice(&[0x05, 0x60, 0x81, 0x00]); // enable, 64bit, 1/1
        b[0x60..0x64].copy_from_slice(&[0x11, 0x70, 0x01, 0x80]); // enable, 2 vectors
        b[0x64..0x68].copy_from_slice(&0x0000_0001u32.to_le_bytes());
        b[0x68..0x6c].copy_from_slice(&0x0000_0801u32.to_le_bytes());
        b[0x70..0x74].copy_from_slice(&[0x10, 0x00, 0x02, 0x00]); // v2 endpoint
                                                                  // AER v1 at 0x100 -> ACS at 0x148 -> end
        b[0x100..0x104].copy_from_slice(&(0x0001u32 | (1 << 16) | (0x148 << 20)).to_le_bytes());
        b[0x148..0x14c].copy_from_slice(&(0x000du32 | (1 << 16)).to_le_bytes());
        b
    }

    #[test]
    fn walks_standard_list() {
        let caps = standard(&ConfigSpace::new(with_caps()));
        let names: Vec<_> = caps.iter().map(|c| (c.offset, c.name.as_str())).collect();
        assert_eq!(
            names,
            [(0x40, "Power Management version 3"), (0x50, "MSI"), (0x60, "MSI-X"), (0x70, "Express (v2) Endpoint")]
        );
        assert_eq!(caps[1].detail, "Enable+ Count=1/1 Maskable- 64bit+");
        assert!(caps[2]
            .detail
            .starts_with("Enable+ Count=2 Masked-; vector table BAR=1 offset=00000000; PBA BAR=1 offset=00000800"));
    }

    #[test]
    fn walks_extended_list() {
        let caps = extended(&ConfigSpace::new(with_caps()));
        assert_eq!(caps.len(), 2);
        assert_eq!((caps[0].offset, caps[0].name.as_str(), caps[0].version), (0x100, "Advanced Error Reporting", 1));
        assert_eq!((caps[1].offset, caps[1].name.as_str()), (0x148, "Access Control Services"));
        // 256 bytes readable: no extended list.
        assert!(extended(&ConfigSpace::new(with_caps()[..256].to_vec())).is_empty());
    }

    #[test]
    fn loops_and_truncation_terminate() {
        let mut b = with_caps();
        b[0x71] = 0x40; // PCIe points back to PM
        assert_eq!(standard(&ConfigSpace::new(b.clone())).len(), 4);
        b[0x148..0x14c].copy_from_slice(&(0x000du32 | (0x100 << 20)).to_le_bytes()); // back to AER
        assert_eq!(extended(&ConfigSpace::new(b.clone())).len(), 2);
        // Pointer past what was read (64-byte unprivileged read).
        assert!(standard(&ConfigSpace::new(b[..64].to_vec())).is_empty());
    }
}
