//! Capabilities decoded line for line as `lspci -v`/`-vv`/`-vvv` prints them
//! (Debian's pciutils 3.9.0), from config-space bytes alone.
//!
//! Split as pciutils splits lspci: `caps` (standard list: Power
//! Management, MSI, MSI-X, AGP, PCI-X, Bridge subsystem...), `express` (the
//! PCI Express capability), `ht` (HyperTransport), `ea` (Enhanced
//! Allocation), `vpd` (Vital Product Data), `ecaps` (extended list: AER, ACS,
//! ARI, ATS, SR-IOV, LTR, L1 PM Substates, PTM, DOE...), `vc` (Virtual
//! Channel, Root Complex Link, RCEC), `cxl` (Designated Vendor-Specific and
//! CXL); [`dump`] reads `lspci -x`/`-xxx`/`-xxxx` dumps; [`show`] prints a
//! whole device as lspci does (title, header lines, BARs, bridge windows,
//! these blocks, `-k`, `-x`), [`tree`] the bus tree as `lspci -t`.
//!
//! Everything here is pure: no I/O, no printing, and no panic on any input.
//! Every read is bounds-checked, a read outside the bytes given prints what
//! lspci prints when it cannot read them, and both list walks stop at a loop
//! as lspci does. Each [`Block`] carries lspci's lines and the named values
//! ([`Field`]) they were built from, ready for JSON.
//!
//! # Measured
//!
//! `tests/lspci_caps.rs` decodes pciutils' own test dumps (41 files, 172
//! devices) and compares with the host's `lspci -F FILE -vvv`: 608 of 608
//! capability blocks identical (also at `-v` and `-vv`). `tests/lspci_fuzz.rs`
//! does the same on made-up config spaces and VPD images (every ID, every
//! verbosity, truncated dumps, loops).
//!
//! # Where lspci cannot be followed
//!
//! lspci 3.9.0's C is undefined in a few places and then prints memory that
//! is not the device's: CXL range `Type`/`Class`/`interleave` past the ends
//! of its tables (printed here as `<?>` and 0), and registers read past what
//! it fetched when that is past its buffer (a CXL function map or flex bus
//! shorter than its registers, an EA entry shorter than its upper
//! base/offset); the decoder prints the bytes it was given. Where lspci
//! stops with "Internal bug: Accessing non-read configuration byte" the
//! decoder prints the bytes too.
//!
//! # Newer pciutils
//!
//! On the same dumps pciutils 3.14.0 differs from 3.9.0 in 152 of 608 blocks;
//! this decoder follows 3.9.0. What 3.14.0 adds or rewords: `IntMsgNum N`
//! instead of `MSI NN` in the Express title (and in SR-IOV's IOVCap, AER's
//! RootSta, DOE's DOECap); `LnkDisable` in LnkCtl; DevCtl2 reordered with
//! IDOReq/IDOCompl/EmergencyPowerReductionReq/EETLPPrefixBlk; TEE-IO in
//! DevCap; more AER UE/CE bits (UncorrIntErr, PoisonTLPBlock, IDE...);
//! `PASID` in PRISta; PTM flags without the colon (`Requester+`); the DOE
//! Error bit (3.9.0 tests mask 3); names and decoding for Physical Layer
//! 16/32/64 GT/s, Lane Margining, Device 3 (0x2f), IDE (0x30), Flit Logging,
//! MMIO Register Block Locator; CXL DVSECs titled (`PCIe DVSEC for CXL
//! Devices`) with CXLCap2/CXLCtl2 and later fields; Intel vendor-specific
//! capabilities; virtio SharedMemory structures; Gen7 (128GT/s) speeds.
//!
//! # Use
//!
//! ```
//! use mmiodrv::pci::lspci::{capability_blocks, Options};
//!
//! let mut config = vec![0u8; 256];
//! config[0x06] = 0x10; // capability list
//! config[0x34] = 0x40;
//! config[0x40..0x44].copy_from_slice(&[0x01, 0x00, 0x03, 0x00]); // PM v3, last
//! let blocks = capability_blocks(&config, 2);
//! assert_eq!(blocks[0].lines[0], "\tCapabilities: [40] Power Management version 3");
//! assert!(blocks[0].lines[1].starts_with("\t\tFlags: PMEClk- DSI- D1- D2- AuxCurrent=0mA"));
//! # let _ = Options::default();
//! ```

mod caps;
mod cfg;
mod cxl;
pub mod dump;
mod ea;
mod ecaps;
mod express;
mod ht;
mod out;
pub mod show;
pub mod tree;
mod vc;
mod vpd;

#[cfg(test)]
mod tests;

pub use out::{Block, Field, Kind, List, Value};

use crate::pci::ids::{Numeric, PciIds};

/// What the decoder needs besides config space, all optional.
#[derive(Clone, Copy, Debug)]
pub struct Options<'a> {
    /// lspci's verbosity: 1 (`-v`), 2 (`-vv`), 3 (`-vvv`). 0 prints no
    /// capabilities, as lspci without `-v`.
    pub verbosity: u8,
    /// Names for the bridge `Subsystem:` capability (lspci looks them up in
    /// pci.ids); without them the IDs are printed as lspci prints unknown ones.
    pub ids: Option<&'a PciIds>,
    /// Device (slot) number of the function: lspci hides LnkCap2/LnkCtl2 of
    /// endpoints that are not function 0 of device 0.
    pub device: u8,
    /// Function number (see `device`).
    pub function: u8,
    /// The device's Vital Product Data (sysfs `vpd`), if it could be read;
    /// without it the VPD capability says `Not readable` as lspci on a dump.
    pub vpd: Option<&'a [u8]>,
    /// Whether the function has a memory BAR, when the caller knows better than
    /// the config header (sysfs `resource` lists unassigned BARs too); by
    /// default the BARs of the header decide, as lspci on a dump.
    pub memory_bar: Option<bool>,
    /// How IDs are named (`-n`, `-nn`): the bridge `Subsystem:` capability.
    pub numeric: Numeric,
}

impl Default for Options<'_> {
    fn default() -> Self {
        Options {
            verbosity: 3,
            ids: None,
            device: 0,
            function: 0,
            vpd: None,
            memory_bar: None,
            numeric: Numeric::Names,
        }
    }
}

impl<'a> Options<'a> {
    /// These options at another verbosity.
    pub fn with_verbosity(self, verbosity: u8) -> Self {
        Options { verbosity, ..self }
    }

    /// These options with names from `ids`.
    pub fn with_ids(self, ids: &'a PciIds) -> Self {
        Options { ids: Some(ids), ..self }
    }

    /// These options for the function at `device`.`function`.
    pub fn at(self, device: u8, function: u8) -> Self {
        Options { device, function, ..self }
    }
}

/// Every capability block of `config` at `verbosity` (1..=3 as `-v`..`-vvv`),
/// standard list first, then the extended list when lspci walks it (the
/// function has a PCI Express or PCI-X capability and 4 KiB were read).
pub fn capability_blocks(config: &[u8], verbosity: u8) -> Vec<Block> {
    decode(config, &Options::default().with_verbosity(verbosity))
}

/// [`capability_blocks`] with names, the function's address and the rest of
/// [`Options`].
pub fn decode(config: &[u8], options: &Options) -> Vec<Block> {
    caps::show_caps(config, options)
}

/// The lines of all blocks, as lspci prints them one after the other.
pub fn lines(blocks: &[Block]) -> impl Iterator<Item = &str> {
    blocks.iter().flat_map(|b| b.lines.iter().map(String::as_str))
}
