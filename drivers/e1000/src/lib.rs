//! Intel 8254x gigabit Ethernet (e1000; QEMU's default `e1000` is an 82540EM,
//! 8086:100e): enough of its register set to read the MAC address and the
//! link state from userspace, as the PCI/PCI-X Family of Gigabit Ethernet
//! Controllers Software Developer's Manual (8254x SDM) tables them, and a
//! data path ([`nic`]): frames sent and received through descriptor rings in
//! DMA memory, polling or on interrupts.
//!
//! The device must not be driven by the kernel's e1000 driver at the same
//! time: unbind it (or bind it to vfio-pci) first.
#![deny(unsafe_code)]

mod commands;
// ---- data path (issue 27)
pub mod desc;
mod net;
pub mod nic;
pub use net::{test_frame, Statistics, ETHERTYPE, SEQ_OFFSET};
// ---- end of data path

use std::fmt;
use std::time::{Duration, Instant};

use serde::Serialize;

use mmiodrv::backend::{Backend, BarOptions};
use mmiodrv::drivers::DriverInfo;
use mmiodrv::error::{DeviceRef, Error, ErrorKind, Result};
use mmiodrv::mmio::RegisterIo;

use self::regs::*;

/// PCI IDs this driver claims: the 8254x parts QEMU models (82540EM is
/// QEMU's `e1000`, 82544GC `e1000-82544gc`, 82545EM `e1000-82545em`).
pub const IDS: &[(u16, u16)] = &[(0x8086, 0x100e), (0x8086, 0x100c), (0x8086, 0x100f)];

mmiodrv::register_map! {
    /// BAR0 (128 KiB of 32-bit registers), from the 8254x SDM's register summary.
    pub mod regs {
        map MAP {
            name: "e1000",
            description: "Intel 8254x gigabit Ethernet (e1000), BAR0 registers",
            bar: 0,
            size: Some(0x20000),
            // The SDM: all registers are 32-bit and must be accessed as such.
            access: [(0x00000, 0x20000, [W32])],
        }
        /// Device Control
        CTRL @ 0x0000: u32, RW {
            /// PHY reset
            PHY_RST [31],
            /// VLAN mode enable
            VME [30],
            /// Transmit flow control enable
            TFCE [28],
            /// Receive flow control enable
            RFCE [27],
            /// Device reset (self-clearing)
            RST [26],
            /// Force duplex
            FRCDPLX [12],
            /// Force speed
            FRCSPD [11],
            /// Speed selection
            SPEED [9:8] = { 0: Mbps10 "10 Mb/s", 1: Mbps100 "100 Mb/s", 2: Mbps1000 "1000 Mb/s", 3: Mbps1000b "1000 Mb/s" },
            /// Invert loss-of-signal
            ILOS [7],
            /// Set link up
            SLU [6],
            /// Auto-speed detection enable
            ASDE [5],
            /// Link reset
            LRST [3],
            /// Full duplex
            FD [0],
        }
        /// Device Status
        STATUS @ 0x0008: u32, RO {
            /// PCI-X bus speed
            PCIXSPD [15:14],
            /// PCI-X mode
            PCIX_MODE [13],
            /// 64-bit bus
            BUS64 [12],
            /// 66 MHz bus
            PCI66 [11],
            /// Auto-speed detection value
            ASDV [9:8],
            /// Link speed
            SPEED [7:6] = { 0: Mbps10 "10 Mb/s", 1: Mbps100 "100 Mb/s", 2: Mbps1000 "1000 Mb/s", 3: Mbps1000b "1000 Mb/s" },
            /// TBI mode
            TBIMODE [5],
            /// Transmission paused
            TXOFF [4],
            /// Function ID
            FUNC_ID [3:2],
            /// Link up
            LU [1] = { 0: Down "down", 1: Up "up" },
            /// Full duplex
            FD [0] = { 0: Half "half duplex", 1: Full "full duplex" },
        }
        /// EEPROM/Flash Control/Data (bit-banged EEPROM access)
        EECD @ 0x0010: u32, RW {
            /// EEPROM size (0: 64 words, 1: 256 words)
            EE_SIZE [9],
            /// EEPROM present
            EE_PRES [8],
            /// Grant to access the EEPROM
            EE_GNT [7],
            /// Request access to the EEPROM
            EE_REQ [6],
            /// Flash write enable
            FWE [5:4],
            /// Data out
            DO [3],
            /// Data in
            DI [2],
            /// Chip select
            CS [1],
            /// Clock
            SK [0],
        }
        /// EEPROM Read: write ADDR with START, wait for DONE, read DATA
        EERD @ 0x0014: u32, RW {
            /// The word read
            DATA [31:16],
            /// Word address
            ADDR [15:8],
            /// The read is done
            DONE [4],
            /// Start a read
            START [0],
        }
        // ---- data path (issue 27): the PHY's registers (loopback, in the descriptor-ring lab)
        /// MDI Control: one PHY register read or written per write here; READY when done
        MDIC @ 0x0020: u32, RW {
            /// Error (no such PHY register)
            E [30],
            /// Interrupt when done
            I [29],
            /// Ready: the operation is done
            READY [28],
            /// Operation
            OP [27:26] = { 1: Write "write", 2: Read "read" },
            /// PHY address (1 for the internal PHY)
            PHYADD [25:21],
            /// PHY register (0: control, with loopback at bit 14)
            REGADD [20:16],
            /// The data written, or read
            DATA [15:0],
        }
        // ---- end of data path
        /// Interrupt Cause Read: reading clears every cause
        ICR @ 0x00c0: u32, RW1C + ReadClears {
            /// Receiver timer interrupt
            RXT0 [7],
            /// Receiver overrun
            RXO [6],
            /// Receive descriptor minimum threshold reached
            RXDMT0 [4],
            /// Receive sequence error
            RXSEQ [3],
            /// Link status change
            LSC [2],
            /// Transmit queue empty
            TXQE [1],
            /// Transmit descriptor written back
            TXDW [0],
        }
        // ---- data path (issue 27): interrupt throttling and cause set
        /// Interrupt Throttling: minimum interval between interrupts, in 256 ns units (0: off)
        ITR @ 0x00c4: u32, RW {
            /// Interval
            INTERVAL [15:0],
        }
        /// Interrupt Cause Set: writing 1 raises a cause (for tests)
        ICS @ 0x00c8: u32, WO {}
        // ---- end of data path
        /// Interrupt Mask Set/Read: writing 1 enables a cause, reading shows the mask
        IMS @ 0x00d0: u32, RW {
            /// Receiver timer interrupt
            RXT0 [7] write OneToSet,
            /// Receiver overrun
            RXO [6] write OneToSet,
            /// Receive descriptor minimum threshold reached
            RXDMT0 [4] write OneToSet,
            /// Receive sequence error
            RXSEQ [3] write OneToSet,
            /// Link status change
            LSC [2] write OneToSet,
            /// Transmit queue empty
            TXQE [1] write OneToSet,
            /// Transmit descriptor written back
            TXDW [0] write OneToSet,
        }
        /// Interrupt Mask Clear: writing 1 disables a cause
        IMC @ 0x00d8: u32, WO {
            /// Receiver timer interrupt
            RXT0 [7] write OneToClear,
            /// Receiver overrun
            RXO [6] write OneToClear,
            /// Receive descriptor minimum threshold reached
            RXDMT0 [4] write OneToClear,
            /// Receive sequence error
            RXSEQ [3] write OneToClear,
            /// Link status change
            LSC [2] write OneToClear,
            /// Transmit queue empty
            TXQE [1] write OneToClear,
            /// Transmit descriptor written back
            TXDW [0] write OneToClear,
        }
        /// Receive Control
        RCTL @ 0x0100: u32, RW {
            /// Strip Ethernet CRC
            SECRC [26],
            /// Buffer size extension
            BSEX [25],
            /// Discard pause frames
            DPF [22],
            /// Receive buffer size
            BSIZE [17:16],
            /// Broadcast accept mode
            BAM [15],
            /// Multicast offset
            MO [13:12],
            /// Receive descriptor minimum threshold size
            RDMTS [9:8],
            /// Loopback mode
            LBM [7:6],
            /// Long packet enable
            LPE [5],
            /// Multicast promiscuous
            MPE [4],
            /// Unicast promiscuous
            UPE [3],
            /// Store bad packets
            SBP [2],
            /// Receiver enable
            EN [1],
        }
        /// Transmit Control
        TCTL @ 0x0400: u32, RW {
            /// Re-transmit on late collision
            RTLC [24],
            /// Software XOFF transmission
            SWXOFF [22],
            /// Collision distance
            COLD [21:12],
            /// Collision threshold
            CT [11:4],
            /// Pad short packets
            PSP [3],
            /// Transmit enable
            EN [1],
        }
        // ---- data path (issue 27): transmit timing, descriptor rings, statistics, multicast table
        /// Transmit Inter Packet Gap (the SDM's values for IEEE 802.3: 10, 8, 6)
        TIPG @ 0x0410: u32, RW {
            /// IPG receive time 2
            IPGR2 [29:20],
            /// IPG receive time 1
            IPGR1 [19:10],
            /// IPG transmit time
            IPGT [9:0],
        }
        /// Receive Descriptor Base Address Low (16-byte aligned)
        RDBAL @ 0x2800: u32, RW {}
        /// Receive Descriptor Base Address High
        RDBAH @ 0x2804: u32, RW {}
        /// Receive Descriptor Length: bytes, a multiple of 128 (8 descriptors)
        RDLEN @ 0x2808: u32, RW {
            /// Length
            LEN [19:7],
        }
        /// Receive Descriptor Head: the next descriptor the device fills
        RDH @ 0x2810: u32, RW {
            /// Index
            RDH [15:0],
        }
        /// Receive Descriptor Tail: the device owns the descriptors from head up to (not including) tail
        RDT @ 0x2818: u32, RW {
            /// Index
            RDT [15:0],
        }
        /// Receive Delay Timer: delay of the receive interrupt, in 1.024 us units (0: none)
        RDTR @ 0x2820: u32, RW {
            /// Flush partial descriptor block
            FPD [31],
            /// Delay
            DELAY [15:0],
        }
        /// Receive Interrupt Absolute Delay Timer, in 1.024 us units
        RADV @ 0x282c: u32, RW {
            /// Delay
            DELAY [15:0],
        }
        /// Transmit Descriptor Base Address Low (16-byte aligned)
        TDBAL @ 0x3800: u32, RW {}
        /// Transmit Descriptor Base Address High
        TDBAH @ 0x3804: u32, RW {}
        /// Transmit Descriptor Length: bytes, a multiple of 128 (8 descriptors)
        TDLEN @ 0x3808: u32, RW {
            /// Length
            LEN [19:7],
        }
        /// Transmit Descriptor Head: the next descriptor the device sends
        TDH @ 0x3810: u32, RW {
            /// Index
            TDH [15:0],
        }
        /// Transmit Descriptor Tail: one past the last descriptor handed to the device (the doorbell)
        TDT @ 0x3818: u32, RW {
            /// Index
            TDT [15:0],
        }
        /// Transmit Interrupt Delay Value, in 1.024 us units
        TIDV @ 0x3820: u32, RW {
            /// Delay
            IDV [15:0],
        }
        /// Transmit Absolute Interrupt Delay Value, in 1.024 us units
        TADV @ 0x382c: u32, RW {
            /// Delay
            IDV [15:0],
        }
        /// CRC Error Count (statistics clear when read)
        CRCERRS @ 0x4000: u32, RO + ReadClears {}
        /// Missed Packets Count: frames dropped for lack of room (receive FIFO or no descriptors)
        MPC @ 0x4010: u32, RO + ReadClears {}
        /// Good Packets Received Count
        GPRC @ 0x4074: u32, RO + ReadClears {}
        /// Broadcast Packets Received Count
        BPRC @ 0x4078: u32, RO + ReadClears {}
        /// Multicast Packets Received Count
        MPRC @ 0x407c: u32, RO + ReadClears {}
        /// Good Packets Transmitted Count
        GPTC @ 0x4080: u32, RO + ReadClears {}
        /// Good Octets Received Count, low 32 bits (read before GORCH)
        GORCL @ 0x4088: u32, RO + ReadClears {}
        /// Good Octets Received Count, high 32 bits (reading it clears both halves)
        GORCH @ 0x408c: u32, RO + ReadClears {}
        /// Good Octets Transmitted Count, low 32 bits (read before GOTCH)
        GOTCL @ 0x4090: u32, RO + ReadClears {}
        /// Good Octets Transmitted Count, high 32 bits (reading it clears both halves)
        GOTCH @ 0x4094: u32, RO + ReadClears {}
        /// Receive No Buffers Count: frames that found no free receive descriptor
        RNBC @ 0x40a0: u32, RO + ReadClears {}
        /// Receive Undersize Count
        RUC @ 0x40a4: u32, RO + ReadClears {}
        /// Receive Oversize Count
        ROC @ 0x40ac: u32, RO + ReadClears {}
        /// Total Packets Received
        TPR @ 0x40d0: u32, RO + ReadClears {}
        /// Total Packets Transmitted
        TPT @ 0x40d4: u32, RO + ReadClears {}
        /// Multicast Packets Transmitted Count
        MPTC @ 0x40f0: u32, RO + ReadClears {}
        /// Broadcast Packets Transmitted Count
        BPTC @ 0x40f4: u32, RO + ReadClears {}
        /// Multicast Table Array, entry 0 of 128 (MTA_ENTRIES, 32 bits each): a hash bit per multicast group
        MTA0 @ 0x5200: u32, RW {}
        // ---- end of data path
        /// Receive Address Low 0: the first four bytes of the MAC address
        RAL0 @ 0x5400: u32, RW {}
        /// Receive Address High 0: the last two bytes and the valid bit
        RAH0 @ 0x5404: u32, RW {
            /// Address valid
            AV [31],
            /// Address select (0: destination)
            ASEL [17:16],
            /// Bytes 4 and 5 of the address
            RAH [15:0],
        }
    }
}

/// The driver's description, commands and map, for the driver list.
pub static DRIVER: DriverInfo =
    DriverInfo::new("e1000", "Intel 8254x Ethernet (e1000): MAC address, link state, frames through descriptor rings")
        .ids(IDS)
        .maps(&[&regs::MAP])
        .subcommands(commands::COMMANDS)
        .class(0x020000)
        .results(commands::results);

/// EEPROM words 0..=2 hold the MAC address, low byte first.
const EEPROM_MAC_WORDS: [u8; 3] = [0, 1, 2];

/// A MAC address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(into = "String")]
pub struct MacAddress(pub [u8; 6]);

impl fmt::Display for MacAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

impl From<MacAddress> for String {
    fn from(m: MacAddress) -> String {
        m.to_string()
    }
}

/// The link as STATUS reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Link {
    /// Link up.
    pub up: bool,
    /// Speed in Mb/s.
    pub speed_mbps: u32,
    /// Full duplex.
    pub full_duplex: bool,
    /// The raw STATUS register.
    pub status: u32,
}

/// An e1000 opened through a backend.
pub struct E1000 {
    bar: Box<dyn RegisterIo>,
    device: DeviceRef,
}

impl E1000 {
    /// Check the IDs and open BAR0.
    pub fn open(backend: &dyn Backend) -> Result<Self> {
        DRIVER.expect(backend)?;
        Ok(E1000 { bar: backend.open_bar(0, BarOptions::RW)?, device: backend.device() })
    }

    fn io(&self) -> &dyn RegisterIo {
        self.bar.as_ref()
    }

    /// The MAC address in receive-address slot 0, if it is valid.
    pub fn mac_address(&self) -> Result<Option<MacAddress>> {
        let low = RAL0.read(self.io())?.bits().to_le_bytes();
        let high = RAH0.read(self.io())?;
        if !high.is_set(RAH0::AV) {
            return Ok(None);
        }
        let [e, f] = (high.get(RAH0::RAH) as u16).to_le_bytes();
        Ok(Some(MacAddress([low[0], low[1], low[2], low[3], e, f])))
    }

    /// One EEPROM word through EERD.
    pub fn eeprom_word(&self, address: u8) -> Result<u16> {
        EERD.write(self.io(), EERD::ADDR.val(address.into())? | EERD::START::SET)?;
        let deadline = Instant::now() + Duration::from_millis(100);
        loop {
            let v = EERD.read(self.io())?;
            if v.is_set(EERD::DONE) {
                return Ok(v.get(EERD::DATA) as u16);
            }
            if Instant::now() >= deadline {
                let what = format!("EEPROM word {address} (EERD.DONE not set)");
                return Err(Error::on(self.device.clone(), ErrorKind::Timeout { what, ms: 100 }));
            }
            std::thread::yield_now();
        }
    }

    /// The MAC address stored in the EEPROM (words 0 to 2).
    pub fn eeprom_mac_address(&self) -> Result<MacAddress> {
        let mut mac = [0u8; 6];
        for (i, word) in EEPROM_MAC_WORDS.into_iter().enumerate() {
            let [lo, hi] = self.eeprom_word(word)?.to_le_bytes();
            mac[2 * i] = lo;
            mac[2 * i + 1] = hi;
        }
        Ok(MacAddress(mac))
    }

    /// Link state, speed and duplex from STATUS.
    pub fn link(&self) -> Result<Link> {
        let status = STATUS.read(self.io())?;
        Ok(Link {
            up: status.matches(STATUS::LU::Up),
            speed_mbps: match STATUS::SPEED.read_as(status) {
                Some(STATUS::SPEED::Mbps10) => 10,
                Some(STATUS::SPEED::Mbps100) => 100,
                _ => 1000,
            },
            full_duplex: status.matches(STATUS::FD::Full),
            status: status.bits(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmiodrv::mmio::MmioRegion;

    #[test]
    fn mac_from_receive_address_registers() {
        let bar = MmioRegion::ram(0x20000).unwrap();
        RAL0.write(&bar, 0x1200_5452u32).unwrap();
        RAH0.write(&bar, RAH0::AV::SET | RAH0::RAH.val(0x5634).unwrap()).unwrap();
        let e = E1000 { bar: Box::new(bar), device: DeviceRef::Ram };
        assert_eq!(e.mac_address().unwrap().unwrap().to_string(), "52:54:00:12:34:56");
        RAH0.write(e.io(), 0x5634u32).unwrap();
        assert_eq!(e.mac_address().unwrap(), None, "not valid without AV");
        assert!(MAP.register("ICR").unwrap().read_side_effects);
        assert_eq!(e.link().unwrap(), Link { up: false, speed_mbps: 10, full_duplex: false, status: 0 });
    }
}
