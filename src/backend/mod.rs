//! Backends: the ways a device's config space, BARs, interrupts and DMA are
//! reached. Every command works through the [`Backend`] trait, whatever is behind
//! it: sysfs `resourceN` files, VFIO, or UIO.

pub mod file_region;
pub mod irq;
pub mod select;
pub mod sysfs;
pub mod uio;
pub mod vfio;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::mmio::RegisterIo;
use crate::pci::{BarKind, ConfigSpace, PciAddress};

pub use irq::{Interrupts, IrqEvent, IrqKind};
pub use vfio::dma::DmaBuffer;

/// Which backend is in use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// Choose by the bound kernel driver: vfio-pci → vfio, uio_pci_generic → uio,
    /// none → sysfs.
    Auto,
    /// VFIO (/dev/vfio): BARs, config, INTx/MSI/MSI-X, DMA through the IOMMU.
    Vfio,
    /// UIO (/dev/uioN, uio_pci_generic): BARs through sysfs, INTx.
    Uio,
    /// The kernel's sysfs `resourceN` files (root only; no interrupts or DMA).
    Sysfs,
}

impl std::fmt::Display for BackendKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BackendKind::Auto => "auto",
            BackendKind::Vfio => "vfio",
            BackendKind::Uio => "uio",
            BackendKind::Sysfs => "sysfs",
        })
    }
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

    /// Arm interrupts of `kind` (None: the best the device has) and return a
    /// handle to wait on. Arm before starting the work that raises them.
    fn interrupts(&self, kind: Option<IrqKind>) -> Result<Box<dyn Interrupts + '_>> {
        let _ = kind;
        Err(Error::Setup {
            device: self.address().to_string(),
            message: format!("the {} backend has no interrupt delivery", self.kind()),
            hint: format!(
                "bind the device to vfio-pci or uio_pci_generic (mmiodrv --device {} bind vfio-pci)",
                self.address()
            ),
        })
    }

    /// A DMA buffer of `len` bytes mapped for the device at `iova`, which must fit
    /// under the device's DMA mask of `mask_bits`.
    fn dma_buffer(&self, len: usize, iova: u64, mask_bits: u32) -> Result<DmaBuffer> {
        let _ = (len, iova, mask_bits);
        Err(Error::Setup {
            device: self.address().to_string(),
            message: format!("the {} backend cannot do DMA: only VFIO maps memory through the IOMMU", self.kind()),
            hint: format!("bind the device to vfio-pci (mmiodrv --device {} bind vfio-pci)", self.address()),
        })
    }
}
