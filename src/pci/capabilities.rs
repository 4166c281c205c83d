//! The capability lists as libpci walks them (what setpci's `CAP_x@N`
//! counts, and what the config register map names): the standard list from
//! the pointer at 0x34, then the extended list from 0x100 when the function
//! has a PCI Express capability. Both walks stop at a loop, at ID 0xff
//! (standard) or at a header of 0 or all-ones (extended), so a broken or
//! hostile device cannot make them spin or panic.
//!
//! Decoding is `pci::lspci`'s (lspci's words) and `pci::config_map`'s
//! (registers and fields by name).

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
    /// Bridge subsystem IDs.
    pub const SSVID: u8 = 0x0d;
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

/// Which list a capability is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum List {
    /// The standard list (8-bit IDs).
    Standard,
    /// The PCI Express extended list (16-bit IDs).
    Extended,
}

/// One capability found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Found {
    /// Its list.
    pub list: List,
    /// Its ID.
    pub id: u16,
    /// Its offset in config space.
    pub offset: u16,
    /// Which one of that ID it is in its list, counted from 0 (setpci's `@N`).
    pub instance: usize,
}

/// setpci's names of standard capabilities (`CAP_MSI` is `MSI` here).
pub const STANDARD_NAMES: &[(&str, u8)] = &[
    ("PM", 0x01),
    ("AGP", 0x02),
    ("VPD", 0x03),
    ("SLOTID", 0x04),
    ("MSI", 0x05),
    ("CHSWP", 0x06),
    ("PCIX", 0x07),
    ("HT", 0x08),
    ("VNDR", 0x09),
    ("DBG", 0x0a),
    ("CCRC", 0x0b),
    ("HOTPLUG", 0x0c),
    ("SSVID", 0x0d),
    ("AGP3", 0x0e),
    ("SECURE", 0x0f),
    ("EXP", 0x10),
    ("MSIX", 0x11),
    ("SATA", 0x12),
    ("AF", 0x13),
    ("EA", 0x14),
];

/// setpci's names of extended capabilities (`ECAP_AER` is `AER` here).
pub const EXTENDED_NAMES: &[(&str, u16)] = &[
    ("AER", 0x01),
    ("VC", 0x02),
    ("DSN", 0x03),
    ("PB", 0x04),
    ("RCLINK", 0x05),
    ("RCILINK", 0x06),
    ("RCEC", 0x07),
    ("MFVC", 0x08),
    ("VC2", 0x09),
    ("RBCB", 0x0a),
    ("VNDR", 0x0b),
    ("ACS", 0x0d),
    ("ARI", 0x0e),
    ("ATS", 0x0f),
    ("SRIOV", 0x10),
    ("MRIOV", 0x11),
    ("MCAST", 0x12),
    ("PRI", 0x13),
    ("REBAR", 0x15),
    ("DPA", 0x16),
    ("TPH", 0x17),
    ("LTR", 0x18),
    ("SECPCI", 0x19),
    ("PMUX", 0x1a),
    ("PASID", 0x1b),
    ("LNR", 0x1c),
    ("DPC", 0x1d),
    ("L1PM", 0x1e),
    ("PTM", 0x1f),
    ("M_PCIE", 0x20),
    ("FRS", 0x21),
    ("RTR", 0x22),
    ("DVSEC", 0x23),
    ("VF_REBAR", 0x24),
    ("DLNK", 0x25),
    ("16GT", 0x26),
    ("LMR", 0x27),
    ("HIER_ID", 0x28),
    ("NPEM", 0x29),
];

/// Every capability of `config` in libpci's order: the standard list, then
/// the extended one (walked only when a PCI Express capability exists).
/// Bytes that were not read end a walk (libpci reads them as all-ones).
pub fn walk(config: &ConfigSpace) -> Vec<Found> {
    walk_from(config, 0x34)
}

/// [`walk`], starting the standard list where the header says: 0x14 for a
/// CardBus bridge (libpci, and so setpci, reads 0x34 for every header; lspci
/// and the config register map read the CardBus pointer).
pub fn walk_by_header(config: &ConfigSpace) -> Vec<Found> {
    walk_from(config, if config.header_layout() == Some(2) { 0x14 } else { 0x34 })
}

fn walk_from(config: &ConfigSpace, pointer: usize) -> Vec<Found> {
    let mut out: Vec<Found> = Vec::new();
    let b = |at: usize| config.u8(at).unwrap_or(0xff);
    let add = |out: &mut Vec<Found>, list: List, id: u16, offset: usize| {
        let instance = out.iter().filter(|f| f.list == list && f.id == id).count();
        out.push(Found { list, id, offset: offset as u16, instance });
    };
    if config.status().unwrap_or(0) & crate::pci::config::STATUS_CAP_LIST != 0 {
        let mut seen = [false; 256];
        let mut at = usize::from(b(pointer) & !3);
        while at != 0 {
            let (cap_id, next) = (b(at), b(at + 1) & !3);
            if std::mem::replace(&mut seen[at], true) || cap_id == 0xff {
                break;
            }
            add(&mut out, List::Standard, u16::from(cap_id), at);
            at = usize::from(next);
        }
    }
    if out.iter().any(|f| f.list == List::Standard && f.id == u16::from(id::EXP)) {
        let mut seen = vec![false; 0x1000];
        let mut at = 0x100usize;
        loop {
            let header = config.u32(at).unwrap_or(0xffff_ffff);
            if header == 0 || header == 0xffff_ffff || std::mem::replace(&mut seen[at], true) {
                break;
            }
            add(&mut out, List::Extended, (header & 0xffff) as u16, at);
            at = ((header >> 20) & !3) as usize;
            if at == 0 {
                break;
            }
        }
    }
    out
}

/// The first standard capability with this ID, if any.
pub fn find(config: &ConfigSpace, cap: u8) -> Option<Found> {
    walk(config).into_iter().find(|f| f.list == List::Standard && f.id == u16::from(cap))
}

/// The MSI-X table size (vectors) of the function, if it has MSI-X.
pub fn msix_vectors(config: &ConfigSpace) -> Option<u32> {
    let at = usize::from(find(config, id::MSIX)?.offset);
    Some(u32::from(config.u16(at + 2)? & 0x7ff) + 1)
}

/// The name the register map and setpci give a capability: setpci's
/// (`MSI`, `AER`), an extended one whose name a standard one has with an
/// `E` (`EVNDR`), names starting with a digit with `PL` (`PL16GT`), and
/// unknown IDs as setpci numbers them (`CAP2a`, `ECAP002e`).
pub fn name(list: List, cap: u16) -> String {
    match list {
        List::Standard => STANDARD_NAMES
            .iter()
            .find(|(_, i)| u16::from(*i) == cap)
            .map_or_else(|| format!("CAP{cap:02x}"), |(n, _)| n.to_string()),
        List::Extended => match EXTENDED_NAMES.iter().find(|(_, i)| *i == cap) {
            Some(("VNDR", _)) => "EVNDR".to_string(),
            Some((n, _)) if n.starts_with(|c: char| c.is_ascii_digit()) => format!("PL{n}"),
            Some((n, _)) => n.to_string(),
            None => match cap {
                0x2a => "PL32GT".to_string(),
                0x2e => "DOE".to_string(),
                _ => format!("ECAP{cap:04x}"),
            },
        },
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
        b[0x50..0x54].copy_from_slice(&[0x05, 0x60, 0x81, 0x00]);
        b[0x60..0x64].copy_from_slice(&[0x11, 0x70, 0x01, 0x80]); // 2 vectors
        b[0x70..0x74].copy_from_slice(&[0x10, 0x00, 0x02, 0x00]);
        // AER v1 at 0x100 -> ACS at 0x148 -> end
        b[0x100..0x104].copy_from_slice(&(0x0001u32 | (1 << 16) | (0x148 << 20)).to_le_bytes());
        b[0x148..0x14c].copy_from_slice(&(0x000du32 | (1 << 16)).to_le_bytes());
        b
    }

    #[test]
    fn walks_both_lists_as_libpci() {
        let found = walk(&ConfigSpace::new(with_caps()));
        let shown: Vec<(List, u16, u16)> = found.iter().map(|f| (f.list, f.id, f.offset)).collect();
        assert_eq!(
            shown,
            [
                (List::Standard, 1, 0x40),
                (List::Standard, 5, 0x50),
                (List::Standard, 0x11, 0x60),
                (List::Standard, 0x10, 0x70),
                (List::Extended, 1, 0x100),
                (List::Extended, 0xd, 0x148)
            ]
        );
        assert_eq!(msix_vectors(&ConfigSpace::new(with_caps())), Some(2));
        // 256 bytes: no extended list.
        assert_eq!(walk(&ConfigSpace::new(with_caps()[..256].to_vec())).len(), 4);
    }

    #[test]
    fn loops_truncation_and_instances() {
        let mut b = with_caps();
        b[0x71] = 0x40; // PCIe points back to PM
        assert_eq!(walk(&ConfigSpace::new(b.clone())).iter().filter(|f| f.list == List::Standard).count(), 4);
        b[0x148..0x14c].copy_from_slice(&(0x000du32 | (0x100 << 20)).to_le_bytes()); // back to AER
        assert_eq!(walk(&ConfigSpace::new(b.clone())).len(), 6);
        assert!(walk(&ConfigSpace::new(b[..64].to_vec())).is_empty());
        b[0x60] = 0x05; // a second MSI
        let second = walk(&ConfigSpace::new(b)).into_iter().find(|f| f.offset == 0x60).map(|f| f.instance);
        assert_eq!(second, Some(1));
    }

    #[test]
    fn names() {
        assert_eq!(name(List::Standard, 0x10), "EXP");
        assert_eq!(name(List::Standard, 0x2a), "CAP2a");
        assert_eq!(name(List::Extended, 0x0b), "EVNDR");
        assert_eq!(name(List::Extended, 0x26), "PL16GT");
        assert_eq!(name(List::Extended, 0x2e), "DOE");
        assert_eq!(name(List::Extended, 0x99), "ECAP0099");
    }
}
