//! Backends: the ways a device's config space and BARs are reached. Every command
//! works through the [`Backend`] trait, whatever is behind it.

pub mod file_region;
pub mod sysfs;

use serde::Serialize;

use crate::error::Result;
use crate::mmio::RegisterIo;
use crate::pci::{BarKind, ConfigSpace, PciAddress};

/// Which backend is in use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// Choose by the bound kernel driver.
    Auto,
    /// The kernel's sysfs `resourceN` files (root only; no interrupts or DMA).
    Sysfs,
}

/// How to open a BAR.
#[derive(Clone, Copy, Debug, Default)]
pub struct BarOptions {
    /// Map read-write (otherwise read-only, and writes are refused).
    pub writable: bool,
    /// Use the write-combining mapping (`resourceN_wc`) of a prefetchable BAR.
    pub write_combining: bool,
}

/// What is known about a BAR without touching it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct BarInfo {
    pub index: u8,
    pub kind: BarKind,
    pub address: u64,
    pub size: u64,
    pub is_64bit: bool,
    pub prefetchable: bool,
}

/// One opened device.
pub trait Backend {
    fn kind(&self) -> BackendKind;

    fn address(&self) -> PciAddress;

    /// As much of config space as this backend can read.
    fn read_config(&self) -> Result<ConfigSpace>;

    /// Every implemented BAR.
    fn bars(&self) -> Result<Vec<BarInfo>>;

    /// Open a BAR for register access.
    fn open_bar(&self, bar: u8, options: BarOptions) -> Result<Box<dyn RegisterIo>>;
}
