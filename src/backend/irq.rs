//! Interrupt delivery, common to the backends that have it (VFIO, UIO).

use std::time::Duration;

use serde::Serialize;

use crate::error::Result;

/// Which interrupt mechanism.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum IrqKind {
    Intx,
    Msi,
    Msix,
}

impl std::fmt::Display for IrqKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            IrqKind::Intx => "INTx",
            IrqKind::Msi => "MSI",
            IrqKind::Msix => "MSI-X",
        })
    }
}

/// One wake-up: which vector fired and how many times since the last wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct IrqEvent {
    pub kind: IrqKind,
    pub vector: u32,
    pub count: u64,
}

/// Armed interrupts of one device. Disarmed on drop.
pub trait Interrupts {
    fn kind(&self) -> IrqKind;

    /// Number of vectors armed.
    fn vectors(&self) -> u32;

    /// Wait until any armed vector fires, or `timeout` passes (then
    /// [`crate::Error::Timeout`]). After an INTx event the line stays masked
    /// until the next call, so acknowledge the device in between.
    fn wait(&mut self, timeout: Duration) -> Result<IrqEvent>;
}
