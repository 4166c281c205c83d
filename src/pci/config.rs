//! Decoding of the standard configuration header (PCI Local Bus spec, chapter 6).

use serde::Serialize;

use crate::pci::resource::BarKind;

/// Offsets of the type-0/1 header fields.
pub mod off {
    #![allow(missing_docs)]
    pub const VENDOR: usize = 0x00;
    pub const DEVICE: usize = 0x02;
    pub const COMMAND: usize = 0x04;
    pub const STATUS: usize = 0x06;
    pub const REVISION: usize = 0x08;
    pub const CLASS: usize = 0x09;
    pub const CACHE_LINE: usize = 0x0c;
    pub const LATENCY: usize = 0x0d;
    pub const HEADER_TYPE: usize = 0x0e;
    pub const BAR0: usize = 0x10;
    pub const SUBSYS_VENDOR: usize = 0x2c;
    pub const SUBSYS_ID: usize = 0x2e;
    pub const CAP_PTR: usize = 0x34;
    pub const INT_LINE: usize = 0x3c;
    pub const INT_PIN: usize = 0x3d;
}

/// COMMAND register bits (PCI Local Bus spec 6.2.2).
pub mod command {
    /// I/O space decoding.
    pub const IO: u16 = 1 << 0;
    /// Memory space decoding.
    pub const MEMORY: u16 = 1 << 1;
    /// Bus mastering: DMA and MSI/MSI-X (both are memory writes by the device).
    pub const BUS_MASTER: u16 = 1 << 2;
    /// Special cycles.
    pub const SPECIAL_CYCLES: u16 = 1 << 3;
    /// Memory write and invalidate.
    pub const MWI: u16 = 1 << 4;
    /// VGA palette snoop.
    pub const VGA_SNOOP: u16 = 1 << 5;
    /// Parity error response.
    pub const PARITY: u16 = 1 << 6;
    /// IDSEL stepping.
    pub const STEPPING: u16 = 1 << 7;
    /// SERR# enable.
    pub const SERR: u16 = 1 << 8;
    /// Fast back-to-back enable.
    pub const FAST_B2B: u16 = 1 << 9;
    /// INTx emulation disable.
    pub const INTX_DISABLE: u16 = 1 << 10;
}

/// STATUS bit: a capability list is present.
pub const STATUS_CAP_LIST: u16 = 1 << 4;

/// A snapshot of a function's config space, as many bytes as could be read.
#[derive(Clone, Debug)]
pub struct ConfigSpace {
    bytes: Vec<u8>,
}

impl ConfigSpace {
    /// A snapshot of these bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        ConfigSpace { bytes }
    }

    /// The raw bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// How many bytes were read.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether nothing was read.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// A byte at `offset`, if read.
    pub fn u8(&self, offset: usize) -> Option<u8> {
        self.bytes.get(offset).copied()
    }

    /// A little-endian 16-bit value at `offset`, if read.
    pub fn u16(&self, offset: usize) -> Option<u16> {
        let b = self.bytes.get(offset..offset.checked_add(2)?)?;
        Some(u16::from_le_bytes([b[0], b[1]]))
    }

    /// A little-endian 32-bit value at `offset`, if read.
    pub fn u32(&self, offset: usize) -> Option<u32> {
        let b = self.bytes.get(offset..offset.checked_add(4)?)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Vendor ID.
    pub fn vendor_id(&self) -> Option<u16> {
        self.u16(off::VENDOR)
    }
    /// Device ID.
    pub fn device_id(&self) -> Option<u16> {
        self.u16(off::DEVICE)
    }
    /// COMMAND register.
    pub fn command(&self) -> Option<u16> {
        self.u16(off::COMMAND)
    }
    /// STATUS register.
    pub fn status(&self) -> Option<u16> {
        self.u16(off::STATUS)
    }
    /// Revision ID.
    pub fn revision(&self) -> Option<u8> {
        self.u8(off::REVISION)
    }
    /// 24-bit class code: base class << 16 | subclass << 8 | prog-if.
    pub fn class_code(&self) -> Option<u32> {
        Some(self.u32(off::REVISION)? >> 8).filter(|_| self.len() > off::CLASS + 2)
    }
    /// Header layout (0 = endpoint, 1 = PCI bridge, 2 = CardBus), without the multi-function bit.
    pub fn header_layout(&self) -> Option<u8> {
        self.u8(off::HEADER_TYPE).map(|h| h & 0x7f)
    }
    /// Whether the device has several functions.
    pub fn multi_function(&self) -> Option<bool> {
        self.u8(off::HEADER_TYPE).map(|h| h & 0x80 != 0)
    }
    /// Subsystem vendor and ID (type-0 headers).
    pub fn subsystem(&self) -> Option<(u16, u16)> {
        if self.header_layout()? != 0 {
            return None;
        }
        Some((self.u16(off::SUBSYS_VENDOR)?, self.u16(off::SUBSYS_ID)?))
    }
    /// Interrupt pin (0 none, 1 INTA...).
    pub fn interrupt_pin(&self) -> Option<u8> {
        self.u8(off::INT_PIN)
    }
    /// Interrupt line.
    pub fn interrupt_line(&self) -> Option<u8> {
        self.u8(off::INT_LINE)
    }
    /// First capability, if the list exists.
    pub fn capabilities_pointer(&self) -> Option<u8> {
        if self.status()? & STATUS_CAP_LIST == 0 {
            return None;
        }
        self.u8(off::CAP_PTR).map(|p| p & 0xfc)
    }

    /// Number of BAR slots the header layout has.
    pub fn bar_slots(&self) -> usize {
        match self.header_layout() {
            Some(0) => 6,
            Some(1) => 2,
            _ => 0,
        }
    }

    /// The BARs as the config header describes them (a 64-bit BAR takes two slots).
    pub fn bars(&self) -> Vec<ConfigBar> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.bar_slots() {
            let Some(raw) = self.u32(off::BAR0 + 4 * i) else { break };
            let index = i as u8;
            if raw == 0 {
                // Unimplemented (or unassigned) slot.
                i += 1;
                continue;
            }
            if raw & 1 == 1 {
                out.push(ConfigBar {
                    index,
                    kind: BarKind::Io,
                    address: u64::from(raw & !0x3),
                    is_64bit: false,
                    prefetchable: false,
                });
                i += 1;
                continue;
            }
            let is_64bit = (raw >> 1) & 0x3 == 0x2;
            let mut address = u64::from(raw & !0xf);
            if is_64bit {
                let high = self.u32(off::BAR0 + 4 * (i + 1)).unwrap_or(0);
                address |= u64::from(high) << 32;
                i += 1;
            }
            out.push(ConfigBar { index, kind: BarKind::Memory, address, is_64bit, prefetchable: raw & 0x8 != 0 });
            i += 1;
        }
        out
    }

    /// Cache line size register.
    pub fn cache_line_size(&self) -> Option<u8> {
        self.u8(off::CACHE_LINE)
    }
    /// Latency timer register.
    pub fn latency_timer(&self) -> Option<u8> {
        self.u8(off::LATENCY)
    }
}

/// A BAR as read from config space (its size needs sysfs, VFIO or a sizing write).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ConfigBar {
    /// BAR index.
    pub index: u8,
    /// Memory or I/O.
    pub kind: BarKind,
    /// Bus address.
    pub address: u64,
    /// A 64-bit memory BAR (takes two slots).
    pub is_64bit: bool,
    /// Prefetchable.
    pub prefetchable: bool,
}

/// COMMAND bits in lspci's order and spelling.
pub const COMMAND_FLAGS: &[(&str, u16)] = &[
    ("I/O", command::IO),
    ("Mem", command::MEMORY),
    ("BusMaster", command::BUS_MASTER),
    ("SpecCycle", command::SPECIAL_CYCLES),
    ("MemWINV", command::MWI),
    ("VGASnoop", command::VGA_SNOOP),
    ("ParErr", command::PARITY),
    ("Stepping", command::STEPPING),
    ("SERR", command::SERR),
    ("FastB2B", command::FAST_B2B),
    ("DisINTx", command::INTX_DISABLE),
];

/// STATUS bits before the DEVSEL field, in lspci's order and spelling.
const STATUS_FLAGS_BEFORE_DEVSEL: &[(&str, u16)] =
    &[("Cap", 1 << 4), ("66MHz", 1 << 5), ("UDF", 1 << 6), ("FastB2B", 1 << 7), ("ParErr", 1 << 8)];
/// STATUS bits after the DEVSEL field.
const STATUS_FLAGS_AFTER_DEVSEL: &[(&str, u16)] = &[
    (">TAbort", 1 << 11),
    ("<TAbort", 1 << 12),
    ("<MAbort", 1 << 13),
    (">SERR", 1 << 14),
    ("<PERR", 1 << 15),
    ("INTx", 1 << 3),
];

/// The STATUS register as lspci prints it, DEVSEL timing (bits 10:9) included.
pub fn status_string(status: u16) -> String {
    let devsel = ["fast", "medium", "slow", "??"][usize::from((status >> 9) & 3)];
    format!(
        "{} DEVSEL={devsel} {}",
        flag_string(status, STATUS_FLAGS_BEFORE_DEVSEL),
        flag_string(status, STATUS_FLAGS_AFTER_DEVSEL)
    )
}

/// `Name+ Other-` rendering of a flag register, as lspci prints it.
pub fn flag_string(value: u16, flags: &[(&str, u16)]) -> String {
    flags
        .iter()
        .map(|(name, bit)| format!("{name}{}", if value & bit != 0 { '+' } else { '-' }))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A type-0 header like QEMU's edu device with one 32-bit memory BAR and a 64-bit
    /// prefetchable BAR2/3.
    pub(crate) fn sample() -> ConfigSpace {
        let mut b = vec![0u8; 256];
        b[0..2].copy_from_slice(&0x1234u16.to_le_bytes());
        b[2..4].copy_from_slice(&0x11e8u16.to_le_bytes());
        b[4..6].copy_from_slice(&0x0403u16.to_le_bytes());
        b[6..8].copy_from_slice(&0x0010u16.to_le_bytes());
        b[8] = 0x10;
        b[9..12].copy_from_slice(&[0x00, 0xff, 0x00]);
        b[0x10..0x14].copy_from_slice(&0xfea0_0000u32.to_le_bytes());
        b[0x18..0x1c].copy_from_slice(&0x0000_000cu32.to_le_bytes());
        b[0x1c..0x20].copy_from_slice(&0x0000_0080u32.to_le_bytes());
        b[0x20..0x24].copy_from_slice(&0x0000_c001u32.to_le_bytes());
        b[0x2c..0x30].copy_from_slice(&0x1100_1af4u32.to_le_bytes());
        b[0x34] = 0x40;
        b[0x3c] = 11;
        b[0x3d] = 1;
        ConfigSpace::new(b)
    }

    #[test]
    fn decodes_header() {
        let c = sample();
        assert_eq!(c.vendor_id(), Some(0x1234));
        assert_eq!(c.device_id(), Some(0x11e8));
        assert_eq!(c.revision(), Some(0x10));
        assert_eq!(c.class_code(), Some(0x00ff00));
        assert_eq!(c.header_layout(), Some(0));
        assert_eq!(c.subsystem(), Some((0x1af4, 0x1100)));
        assert_eq!(c.interrupt_pin(), Some(1));
        assert_eq!(c.capabilities_pointer(), Some(0x40));
        assert_eq!(
            flag_string(c.command().unwrap(), COMMAND_FLAGS),
            "I/O+ Mem+ BusMaster- SpecCycle- MemWINV- VGASnoop- ParErr- Stepping- SERR- FastB2B- DisINTx+"
        );
        assert_eq!(
            status_string(c.status().unwrap()),
            "Cap+ 66MHz- UDF- FastB2B- ParErr- DEVSEL=fast >TAbort- <TAbort- <MAbort- >SERR- <PERR- INTx-"
        );
    }

    #[test]
    fn decodes_bars() {
        let bars = sample().bars();
        assert_eq!(bars.len(), 3);
        assert_eq!(
            bars[0],
            ConfigBar { index: 0, kind: BarKind::Memory, address: 0xfea0_0000, is_64bit: false, prefetchable: false }
        );
        assert_eq!(
            bars[1],
            ConfigBar { index: 2, kind: BarKind::Memory, address: 0x80_0000_0000, is_64bit: true, prefetchable: true }
        );
        assert_eq!(
            bars[2],
            ConfigBar { index: 4, kind: BarKind::Io, address: 0xc000, is_64bit: false, prefetchable: false }
        );
    }

    #[test]
    fn short_config_is_not_a_panic() {
        let c = ConfigSpace::new(vec![0xf4, 0x1a, 0x10]);
        assert_eq!(c.vendor_id(), Some(0x1af4));
        assert_eq!(c.device_id(), None);
        assert_eq!(c.class_code(), None);
        assert!(c.bars().is_empty());
        assert_eq!(c.capabilities_pointer(), None);
        assert_eq!(c.u16(usize::MAX), None);
    }
}
