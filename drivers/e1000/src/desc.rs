//! The 8254x's legacy descriptors (SDM 3.2.3 and 3.3.3), 16 bytes each,
//! written and read as two 64-bit volatile accesses through the library's
//! ring slots ([`mmiodrv::ring::Slot`]); the bits are declared here once.
//!
//! ```text
//! receive:  0..8 buffer address | 8..10 length | 10..12 checksum | 12 status | 13 errors | 14..16 special
//! transmit: 0..8 buffer address | 8..10 length | 10 CSO | 11 command | 12 status | 13 CSS | 14..16 special
//! ```
//!
//! The device writes a receive descriptor's length, status and errors back
//! (DD last); a transmit descriptor's status only when the command asked
//! for it (RS), setting DD.

use mmiodrv::error::Result;
use mmiodrv::ring::{Descriptor, Slot};

/// Bits of a receive descriptor's status byte.
pub mod rx_status {
    /// Descriptor done: the device wrote this descriptor back.
    pub const DD: u8 = 1 << 0;
    /// End of packet: the last descriptor of a frame.
    pub const EOP: u8 = 1 << 1;
}

/// Bits of a receive descriptor's errors byte (any set: a bad frame).
pub mod rx_errors {
    /// CRC or alignment error.
    pub const CE: u8 = 1 << 0;
    /// Receive data error.
    pub const RXE: u8 = 1 << 7;
}

/// Bits of a transmit descriptor's command byte.
pub mod tx_cmd {
    /// End of packet: the last descriptor of a frame.
    pub const EOP: u8 = 1 << 0;
    /// Insert FCS: the device appends the Ethernet CRC.
    pub const IFCS: u8 = 1 << 1;
    /// Report status: write DD back when done.
    pub const RS: u8 = 1 << 3;
}

/// Bits of a transmit descriptor's status nibble.
pub mod tx_status {
    /// Descriptor done.
    pub const DD: u8 = 1 << 0;
}

/// A legacy receive descriptor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RxDesc {
    /// IOVA of the buffer the device writes the frame into.
    pub addr: u64,
    /// Bytes written (the frame without its CRC: RCTL.SECRC is set).
    pub length: u16,
    /// Status ([`rx_status`]).
    pub status: u8,
    /// Errors ([`rx_errors`]).
    pub errors: u8,
}

impl RxDesc {
    /// A descriptor handed to the device: a buffer, and the written-back
    /// fields zeroed (so a stale DD is never mistaken for a new frame).
    pub fn empty(addr: u64) -> Self {
        RxDesc { addr, ..RxDesc::default() }
    }

    /// Decode the second word (length, checksum, status, errors, special).
    #[inline]
    pub fn from_words(addr: u64, word1: u64) -> Self {
        RxDesc { addr, length: word1 as u16, status: (word1 >> 32) as u8, errors: (word1 >> 40) as u8 }
    }

    /// Read only the written-back word of descriptor `slot`: one 64-bit load
    /// that holds length, status and errors together (so a length read with
    /// DD set is the length the device wrote with it).
    #[inline]
    pub fn load_writeback(slot: Slot<'_>) -> Result<Self> {
        Ok(Self::from_words(0, slot.read_u64(8)?))
    }

    /// Written back by the device.
    #[inline]
    pub fn done(&self) -> bool {
        self.status & rx_status::DD != 0
    }
}

impl Descriptor for RxDesc {
    const SIZE: u64 = 16;

    fn store(&self, slot: Slot<'_>) -> Result<()> {
        slot.write_u64(0, self.addr)?;
        let word1 = u64::from(self.length) | u64::from(self.status) << 32 | u64::from(self.errors) << 40;
        slot.write_u64(8, word1)
    }

    fn load(slot: Slot<'_>) -> Result<Self> {
        Ok(Self::from_words(slot.read_u64(0)?, slot.read_u64(8)?))
    }
}

/// A legacy transmit descriptor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TxDesc {
    /// IOVA of the frame.
    pub addr: u64,
    /// Its length in bytes (without CRC: IFCS has the device add it).
    pub length: u16,
    /// Command ([`tx_cmd`]).
    pub cmd: u8,
    /// Status ([`tx_status`]), written back by the device.
    pub status: u8,
}

impl TxDesc {
    /// One whole frame in one buffer: EOP, the device adds the CRC, and
    /// reports DD when it is sent.
    pub fn frame(addr: u64, length: u16) -> Self {
        TxDesc { addr, length, cmd: tx_cmd::EOP | tx_cmd::IFCS | tx_cmd::RS, status: 0 }
    }

    /// The device's status nibble of descriptor `slot` (one 8-bit load).
    #[inline]
    pub fn load_status(slot: Slot<'_>) -> Result<u8> {
        Ok(slot.read_u8(12)? & 0x0f)
    }
}

impl Descriptor for TxDesc {
    const SIZE: u64 = 16;

    fn store(&self, slot: Slot<'_>) -> Result<()> {
        slot.write_u64(0, self.addr)?;
        slot.write_u64(8, u64::from(self.length) | u64::from(self.cmd) << 24 | u64::from(self.status) << 32)
    }

    fn load(slot: Slot<'_>) -> Result<Self> {
        let word1 = slot.read_u64(8)?;
        Ok(TxDesc {
            addr: slot.read_u64(0)?,
            length: word1 as u16,
            cmd: (word1 >> 24) as u8,
            status: (word1 >> 32) as u8 & 0x0f,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmiodrv::ring::{DescriptorRing, DmaMemory};

    #[test]
    fn layouts_are_the_sdms() {
        let rx: DescriptorRing<RxDesc> = DescriptorRing::new(DmaMemory::ram(128, 0x1000).unwrap(), 8).unwrap();
        rx.write(1, &RxDesc { addr: 0x1122_3344_5566, length: 1514, status: 3, errors: 0x80 }).unwrap();
        let s = rx.slot(1);
        assert_eq!(s.read_u64(0).unwrap(), 0x1122_3344_5566);
        assert_eq!(s.read(8, mmiodrv::mmio::Width::W16).unwrap(), 1514);
        assert_eq!((s.read_u8(12).unwrap(), s.read_u8(13).unwrap()), (3, 0x80), "status at 12, errors at 13");
        let wb = RxDesc::load_writeback(s).unwrap();
        assert!(wb.done() && wb.length == 1514 && wb.status & rx_status::EOP != 0);
        let tx: DescriptorRing<TxDesc> = DescriptorRing::new(DmaMemory::ram(128, 0x2000).unwrap(), 8).unwrap();
        tx.write(7, &TxDesc::frame(0xabc000, 60)).unwrap();
        let s = tx.slot(7);
        assert_eq!(s.read_u8(11).unwrap(), 0x0b, "command at 11: EOP | IFCS | RS");
        assert_eq!(TxDesc::load_status(s).unwrap(), 0);
        s.write_u8(12, tx_status::DD).unwrap();
        assert_eq!(tx.read(7).unwrap(), TxDesc { status: tx_status::DD, ..TxDesc::frame(0xabc000, 60) });
    }
}
