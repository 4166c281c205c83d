//! What kinds of backend, interrupt and userspace driver there are: plain
//! values every layer names (errors and remedies among them), with no
//! dependency of their own.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Which backend is in use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// Choose by the bound kernel driver: vfio-pci → vfio, uio_pci_generic → uio,
    /// none → sysfs.
    #[default]
    Auto,
    /// VFIO (/dev/vfio): BARs, config, INTx/MSI/MSI-X, DMA through the IOMMU.
    Vfio,
    /// UIO (/dev/uioN, uio_pci_generic): BARs through sysfs, INTx.
    Uio,
    /// The kernel's sysfs `resourceN` files (root only; no interrupts or DMA).
    Sysfs,
    /// A file on the host mapped as the device's one memory region
    /// (`file:PATH`; not a `--backend` choice).
    File,
    /// A simulated device built from a register map (`sim:FILE`); never chosen by `auto`.
    Sim,
    /// A function of an lspci dump (`-F FILE`): config space only, read-only.
    Dump,
}

impl BackendKind {
    /// Every kind, as the command line lists them.
    pub const ALL: [BackendKind; 4] = [BackendKind::Auto, BackendKind::Vfio, BackendKind::Uio, BackendKind::Sysfs];

    /// Its name (`auto`, `vfio`, `uio`, `sysfs`).
    pub const fn name(self) -> &'static str {
        match self {
            BackendKind::Auto => "auto",
            BackendKind::Vfio => "vfio",
            BackendKind::Uio => "uio",
            BackendKind::Sysfs => "sysfs",
            BackendKind::File => "file",
            BackendKind::Sim => "sim",
            BackendKind::Dump => "dump",
        }
    }

    /// One line on what it is.
    pub const fn about(self) -> &'static str {
        match self {
            BackendKind::Auto => "by the bound driver: vfio-pci -> vfio, uio_pci_generic -> uio, none -> sysfs",
            BackendKind::Vfio => "VFIO (/dev/vfio): BARs, config, INTx/MSI/MSI-X, DMA through the IOMMU",
            BackendKind::Uio => "UIO (/dev/uioN, uio_pci_generic): BARs through sysfs, INTx",
            BackendKind::Sysfs => "sysfs resourceN files (root only; no interrupts or DMA)",
            BackendKind::File => "a host file mapped as one memory region (file:PATH)",
            BackendKind::Sim => "a simulated device built from a register map (sim:FILE)",
            BackendKind::Dump => "a function of an lspci -x dump (-F FILE): config space, read-only",
        }
    }

    /// The userspace driver this backend needs the device bound to.
    pub const fn driver(self) -> Option<UserspaceDriver> {
        match self {
            BackendKind::Vfio => Some(UserspaceDriver::VfioPci),
            BackendKind::Uio => Some(UserspaceDriver::UioPciGeneric),
            _ => None,
        }
    }
}

impl std::fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which interrupt mechanism.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum IrqKind {
    /// Legacy INTx (level-triggered, shared).
    Intx,
    /// MSI.
    Msi,
    /// MSI-X.
    Msix,
}

impl IrqKind {
    /// Every kind, in the order the command line lists them.
    pub const ALL: [IrqKind; 3] = [IrqKind::Intx, IrqKind::Msi, IrqKind::Msix];

    /// Its lowercase name (`intx`, `msi`, `msix`).
    pub const fn name(self) -> &'static str {
        match self {
            IrqKind::Intx => "intx",
            IrqKind::Msi => "msi",
            IrqKind::Msix => "msix",
        }
    }
}

impl std::fmt::Display for IrqKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IrqKind::Intx => "INTx",
            IrqKind::Msi => "MSI",
            IrqKind::Msix => "MSI-X",
        })
    }
}

/// A userspace driver mmiodrv has a backend for. The one list of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum UserspaceDriver {
    /// `vfio-pci`: the VFIO backend.
    #[serde(rename = "vfio-pci")]
    VfioPci,
    /// `uio_pci_generic`: the UIO backend.
    #[serde(rename = "uio_pci_generic")]
    UioPciGeneric,
}

impl UserspaceDriver {
    /// Every userspace driver, in order of preference.
    pub const ALL: [UserspaceDriver; 2] = [UserspaceDriver::VfioPci, UserspaceDriver::UioPciGeneric];

    /// The kernel's name for it.
    pub const fn name(self) -> &'static str {
        match self {
            UserspaceDriver::VfioPci => "vfio-pci",
            UserspaceDriver::UioPciGeneric => "uio_pci_generic",
        }
    }

    /// The kernel module that provides it.
    pub const fn module(self) -> &'static str {
        match self {
            UserspaceDriver::VfioPci => "vfio_pci",
            UserspaceDriver::UioPciGeneric => "uio_pci_generic",
        }
    }

    /// The backend that works through it.
    pub const fn backend(self) -> BackendKind {
        match self {
            UserspaceDriver::VfioPci => BackendKind::Vfio,
            UserspaceDriver::UioPciGeneric => BackendKind::Uio,
        }
    }

    /// The userspace driver with this kernel name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.name() == name)
    }
}

impl fmt::Display for UserspaceDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
