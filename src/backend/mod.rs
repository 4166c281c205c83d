//! Backends: the ways a device's config space, BARs, interrupts and DMA are
//! reached. Every command works through the [`Backend`] trait, whatever is behind
//! it: sysfs `resourceN` files, VFIO, or UIO.

pub mod dump;
pub mod error;
pub mod file_region;
pub mod host_file;
pub mod irq;
pub mod kind;
pub mod select;
pub mod sim;
pub mod sysfs;
pub mod trace;
#[cfg(feature = "uio")]
pub mod uio;
pub mod vfio;

use crate::error::{BackendError, PciError};
use serde::Serialize;

use crate::error::{DeviceRef, Error, Remedy, Result};

use crate::mmio::RegisterIo;
use crate::pci::{BarKind, ConfigSpace, PciAddress};

pub use irq::{Interrupts, IrqEvent, IrqKind};
pub use vfio::dma::DmaBuffer;

pub use kind::{BackendKind, UserspaceDriver};

impl std::str::FromStr for BackendKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| Error::invalid(s, "expected auto, vfio, uio or sysfs"))
    }
}

/// How to open a BAR.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BarOptions {
    /// Map read-write (otherwise read-only, and writes are refused).
    pub writable: bool,
    /// Use the write-combining mapping (`resourceN_wc`) of a prefetchable BAR.
    pub write_combining: bool,
}

/// What is known about a BAR without touching it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct BarInfo {
    /// BAR index (0..=5).
    pub index: u8,
    /// Memory or I/O ports.
    pub kind: BarKind,
    /// Bus address.
    pub address: u64,
    /// Size in bytes (in JSON: `len`).
    #[serde(rename = "len")]
    pub size: u64,
    /// A 64-bit memory BAR.
    pub is_64bit: bool,
    /// A prefetchable memory BAR.
    pub prefetchable: bool,
}

impl BarOptions {
    /// Read-write, ordinary mapping.
    pub const RW: BarOptions = BarOptions { writable: true, write_combining: false };
    /// Read-only, ordinary mapping.
    pub const RO: BarOptions = BarOptions { writable: false, write_combining: false };
}

/// One opened device. `Send + Sync`, so an opened device can be shared with
/// other threads (Python releases the GIL while it waits on one).
pub trait Backend: Send + Sync {
    /// Which backend this is.
    fn kind(&self) -> BackendKind;

    /// The device, for messages.
    fn device(&self) -> DeviceRef;

    /// The PCI address, for PCI devices.
    fn address(&self) -> Option<PciAddress> {
        match self.device() {
            DeviceRef::Pci(a) => Some(a),
            _ => None,
        }
    }

    /// As much of config space as this backend can read.
    fn read_config(&self) -> Result<ConfigSpace>;

    /// Every implemented BAR.
    fn bars(&self) -> Result<Vec<BarInfo>>;

    // ---- ecosystem: config registers by name (config read/write)
    /// One config register of `width` at `offset` (aligned), little-endian.
    /// Backends that can read config space in place do it with one access of
    /// that width; the default picks it out of [`Backend::read_config`].
    fn read_config_at(&self, offset: u16, width: crate::mmio::Width) -> Result<u64> {
        let config = self.read_config()?;
        let at = usize::from(offset);
        let bytes = config.bytes().get(at..at + width.bytes() as usize).ok_or_else(|| {
            Error::on(self.device(), PciError::ConfigTooShort { len: config.len(), need: at + width.bytes() as usize })
        })?;
        Ok(bytes.iter().rev().fold(0u64, |v, b| v << 8 | u64::from(*b)))
    }

    /// Write one config register of `width` at `offset` (aligned) with one
    /// access of that width. Refused where the backend has no way to.
    fn write_config_at(&self, offset: u16, width: crate::mmio::Width, value: u64) -> Result<()> {
        let _ = (offset, width, value);
        Err(self.cannot("config space writes"))
    }

    /// Open a BAR for register access.
    fn open_bar(&self, bar: u8, options: BarOptions) -> Result<Box<dyn RegisterIo>>;

    /// Arm interrupts of `kind` (None: the best the device has) and return a
    /// handle to wait on. Arm before starting the work that raises them.
    fn interrupts(&self, kind: Option<IrqKind>) -> Result<Box<dyn Interrupts + '_>> {
        let _ = kind;
        Err(self.cannot("interrupt delivery"))
    }

    /// A DMA buffer of `len` bytes mapped for the device at `iova`, which must fit
    /// under the device's DMA mask of `mask_bits`.
    fn dma_buffer(&self, len: usize, iova: u64, mask_bits: u32) -> Result<DmaBuffer> {
        let _ = (len, iova, mask_bits);
        Err(self.cannot("DMA (only VFIO maps memory for the device through the IOMMU)"))
    }

    /// The error for a capability this backend lacks, with binding to VFIO as the fix.
    fn cannot(&self, what: &'static str) -> Error {
        let remedy = match self.address() {
            Some(device) => Remedy::Bind { device, driver: UserspaceDriver::VfioPci },
            None => Remedy::Text("use a PCI device bound to vfio-pci".into()),
        };
        Error::on(self.device(), BackendError::BackendCannot { backend: self.kind(), what, remedy })
    }
}
