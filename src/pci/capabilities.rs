//! Walking the capability lists: standard (from 0x34) and extended (from 0x100).
//!
//! Both walks stop at a loop, a pointer outside what was read, or a header that is
//! all-ones/zero, so a broken or hostile device cannot make them spin or panic.

use serde::Serialize;

use crate::pci::config::ConfigSpace;

/// Standard capability IDs (PCI Code and ID Assignment spec).
pub mod id {
    /// Power Management.
    pub const PM: u8 = 0x01;
    /// MSI.
    pub const MSI: u8 = 0x05;
    /// Vendor Specific.
    pub const VENDOR: u8 = 0x09;
    /// PCI Express.
    pub const EXP: u8 = 0x10;
    /// MSI-X.
    pub const MSIX: u8 = 0x11;
}

/// Extended capability IDs.
pub mod ext_id {
    /// Advanced Error Reporting.
    pub const AER: u16 = 0x01;
    /// Access Control Services.
    pub const ACS: u16 = 0x0d;
}

/// One entry of either capability list, decoded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Capability {
    /// Offset in config space.
    pub offset: u16,
    /// Capability ID (standard: 8 bits; extended: 16 bits).
    pub id: u16,
    /// Whether it is in the extended list.
    pub extended: bool,
    /// Version of an extended capability (0 for standard ones).
    pub version: u8,
    /// lspci's name for it.
    pub name: &'static str,
    /// Its decoded contents, for the kinds mmiodrv decodes.
    pub decoded: Decoded,
}

/// The decoded contents of a capability.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Decoded {
    /// Nothing decoded beyond the ID.
    None,
    /// Power Management.
    PowerManagement {
        /// PM spec version.
        version: u8,
    },
    /// MSI.
    Msi {
        /// MSI enabled.
        enabled: bool,
        /// Vectors enabled.
        vectors_enabled: u32,
        /// Vectors the device can use.
        vectors_capable: u32,
        /// Per-vector masking.
        maskable: bool,
        /// 64-bit addresses.
        is_64bit: bool,
    },
    /// MSI-X.
    MsiX {
        /// MSI-X enabled.
        enabled: bool,
        /// Function mask set.
        masked: bool,
        /// Table size (vectors).
        table_size: u32,
        /// BAR holding the vector table.
        table_bar: u8,
        /// Its offset in that BAR.
        table_offset: u32,
        /// BAR holding the pending-bit array.
        pba_bar: u8,
        /// Its offset in that BAR.
        pba_offset: u32,
    },
    /// PCI Express.
    Express {
        /// Capability version.
        version: u8,
        /// Device/port type.
        port_type: u8,
        /// A slot is implemented (root and downstream ports).
        slot: bool,
        /// The MSI/MSI-X vector its own interrupts use.
        interrupt_message: u8,
    },
    /// Vendor specific.
    Vendor {
        /// Length byte.
        len: u8,
    },
    /// Subsystem vendor and ID of a bridge (type-1 headers have no fields for them).
    Subsystem {
        /// Subsystem vendor ID.
        vendor: u16,
        /// Subsystem ID.
        device: u16,
    },
    /// A virtio structure (vendor-specific capability of a virtio device,
    /// 1af4:1000..107f), as lspci decodes it.
    Virtio {
        /// The structure: 1 common config, 2 notify, 3 ISR, 4 device config...
        cfg_type: u8,
        /// The BAR it is in.
        bar: u8,
        /// Its offset in that BAR.
        offset: u32,
        /// Its length in bytes (in JSON: `len`).
        #[serde(rename = "len")]
        length: u32,
        /// Notify offset multiplier (notify structures only).
        multiplier: Option<u32>,
    },
}

/// lspci's names of virtio structures (`VirtIO: CommonCfg`).
pub fn virtio_structure_name(cfg_type: u8) -> &'static str {
    match cfg_type {
        1 => "CommonCfg",
        2 => "Notify",
        3 => "ISR",
        4 => "DeviceCfg",
        _ => "<unknown>",
    }
}

impl Capability {
    /// MSI-X table size (vectors), if this is an MSI-X capability.
    pub fn msix_vectors(&self) -> Option<u32> {
        match self.decoded {
            Decoded::MsiX { table_size, .. } => Some(table_size),
            _ => None,
        }
    }
}

/// At most this many entries: 48 standard capabilities fit in 192 bytes; extended ones
/// are at least 4 bytes each in 3840.
const MAX_STANDARD: usize = 48;
const MAX_EXTENDED: usize = 960;

/// The standard capability list, from the pointer at 0x34.
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
        out.push(Capability {
            offset: ptr as u16,
            id: u16::from(id),
            extended: false,
            version: 0,
            name: standard_name(id),
            decoded: decode_standard(config, ptr, id),
        });
        ptr = (next & 0xfc) as usize;
    }
    out
}

/// The first standard capability with this ID.
pub fn find(config: &ConfigSpace, cap: u8) -> Option<Capability> {
    standard(config).into_iter().find(|c| c.id == u16::from(cap))
}

/// The extended capability list, from 0x100 (needs 4 KiB of config space).
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
                name: extended_name(id),
                decoded: Decoded::None,
            });
        }
        ptr = ((header >> 20) & 0xffc) as usize;
    }
    out
}

fn decode_standard(c: &ConfigSpace, at: usize, cap: u8) -> Decoded {
    let ctrl = c.u16(at + 2).unwrap_or(0);
    match cap {
        id::PM => Decoded::PowerManagement { version: (ctrl & 7) as u8 },
        id::MSI => Decoded::Msi {
            enabled: ctrl & 1 != 0,
            vectors_capable: 1u32 << ((ctrl >> 1) & 7),
            vectors_enabled: 1u32 << ((ctrl >> 4) & 7),
            maskable: ctrl & 0x100 != 0,
            is_64bit: ctrl & 0x80 != 0,
        },
        id::MSIX => {
            let table = c.u32(at + 4).unwrap_or(0);
            let pba = c.u32(at + 8).unwrap_or(0);
            Decoded::MsiX {
                enabled: ctrl & 0x8000 != 0,
                masked: ctrl & 0x4000 != 0,
                table_size: u32::from(ctrl & 0x7ff) + 1,
                table_bar: (table & 7) as u8,
                table_offset: table & !7,
                pba_bar: (pba & 7) as u8,
                pba_offset: pba & !7,
            }
        }
        id::EXP => Decoded::Express {
            version: (ctrl & 0xf) as u8,
            port_type: ((ctrl >> 4) & 0xf) as u8,
            slot: ctrl & 0x100 != 0,
            interrupt_message: ((ctrl >> 9) & 0x1f) as u8,
        },
        0x0d => Decoded::Subsystem { vendor: c.u16(at + 4).unwrap_or(0), device: c.u16(at + 6).unwrap_or(0) },
        id::VENDOR => {
            let len = c.u8(at + 2).unwrap_or(0);
            let virtio = c.vendor_id() == Some(0x1af4) && c.device_id().is_some_and(|d| (0x1000..=0x107f).contains(&d));
            match (virtio && len >= 16, c.u8(at + 3), c.u8(at + 4), c.u32(at + 8), c.u32(at + 12)) {
                (true, Some(cfg_type), Some(bar), Some(offset), Some(length)) => Decoded::Virtio {
                    cfg_type,
                    bar,
                    offset,
                    length,
                    multiplier: if cfg_type == 2 && len >= 20 { c.u32(at + 16) } else { None },
                },
                _ => Decoded::Vendor { len },
            }
        }
        _ => Decoded::None,
    }
}

fn standard_name(cap: u8) -> &'static str {
    match cap {
        id::PM => "Power Management",
        id::MSI => "MSI",
        id::VENDOR => "Vendor Specific Information",
        id::EXP => "Express",
        id::MSIX => "MSI-X",
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

fn extended_name(cap: u16) -> &'static str {
    match cap {
        ext_id::AER => "Advanced Error Reporting",
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
        ext_id::ACS => "Access Control Services",
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
        let names: Vec<_> = caps.iter().map(|c| (c.offset, c.name)).collect();
        assert_eq!(names, [(0x40, "Power Management"), (0x50, "MSI"), (0x60, "MSI-X"), (0x70, "Express")]);
        assert_eq!(caps[0].decoded, Decoded::PowerManagement { version: 3 });
        assert_eq!(
            caps[1].decoded,
            Decoded::Msi { enabled: true, vectors_enabled: 1, vectors_capable: 1, maskable: false, is_64bit: true }
        );
        assert_eq!(
            caps[2].decoded,
            Decoded::MsiX {
                enabled: true,
                masked: false,
                table_size: 2,
                table_bar: 1,
                table_offset: 0,
                pba_bar: 1,
                pba_offset: 0x800
            }
        );
        assert_eq!(caps[2].msix_vectors(), Some(2));
        assert_eq!(caps[3].decoded, Decoded::Express { version: 2, port_type: 0, slot: false, interrupt_message: 0 });
    }

    #[test]
    fn walks_extended_list() {
        let caps = extended(&ConfigSpace::new(with_caps()));
        assert_eq!(caps.len(), 2);
        assert_eq!((caps[0].offset, caps[0].name, caps[0].version), (0x100, "Advanced Error Reporting", 1));
        assert_eq!((caps[1].offset, caps[1].name), (0x148, "Access Control Services"));
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
