//! VFIO interrupts: each vector signals an eventfd; waiting is a poll(2) on them
//! with a timeout. INTx is level-triggered and auto-masked by VFIO, so it is
//! unmasked at the start of the next wait, once the driver has acknowledged the
//! device.

use crate::error::BackendError;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use vfio_bindings::bindings::vfio::{VFIO_PCI_INTX_IRQ_INDEX, VFIO_PCI_MSIX_IRQ_INDEX, VFIO_PCI_MSI_IRQ_INDEX};
use vfio_ioctls::VfioDevice;
use vmm_sys_util::eventfd::{EventFd, EFD_NONBLOCK};

use crate::backend::{Interrupts, IrqEvent, IrqKind};
use crate::error::{DeviceRef, Error, ErrorKind, Result};
use crate::pci::capabilities::{self, id};
use crate::pci::{ConfigSpace, PciAddress};
use crate::stop::wait_readable;

fn vfio_index(kind: IrqKind) -> u32 {
    match kind {
        IrqKind::Intx => VFIO_PCI_INTX_IRQ_INDEX,
        IrqKind::Msi => VFIO_PCI_MSI_IRQ_INDEX,
        IrqKind::Msix => VFIO_PCI_MSIX_IRQ_INDEX,
    }
}

/// Armed VFIO interrupt vectors, each on an eventfd.
pub struct VfioInterrupts {
    device: Arc<VfioDevice>,
    name: DeviceRef,
    kind: IrqKind,
    fds: Vec<EventFd>,
    /// INTx fired and VFIO masked it; unmask at the next wait, after the caller
    /// had the chance to acknowledge the device (else it would fire again at once).
    intx_masked: bool,
    /// The process that armed them (a forked child must not disarm its parent's).
    pid: u32,
}

impl VfioInterrupts {
    /// Arm every vector of `kind` (None: MSI-X, else MSI, else INTx — whichever
    /// the device has first).
    pub fn arm(
        device: Arc<VfioDevice>,
        address: PciAddress,
        config: &ConfigSpace,
        kind: Option<IrqKind>,
    ) -> Result<Self> {
        let name = DeviceRef::Pci(address);
        let has_cap = |cap: u8| capabilities::find(config, cap).is_some();
        let available = |k: IrqKind| {
            let count = device.get_irq_info(vfio_index(k)).map(|i| i.count).unwrap_or(0);
            let cap_ok = match k {
                IrqKind::Intx => config.interrupt_pin().is_some_and(|p| p != 0),
                IrqKind::Msi => has_cap(id::MSI),
                IrqKind::Msix => has_cap(id::MSIX),
            };
            if cap_ok {
                count
            } else {
                0
            }
        };
        let has: Vec<IrqKind> = IrqKind::ALL.into_iter().filter(|k| available(*k) > 0).collect();
        let kind = kind
            .or_else(|| [IrqKind::Msix, IrqKind::Msi, IrqKind::Intx].into_iter().find(|k| has.contains(k)))
            .ok_or_else(|| Error::on(address, BackendError::NoInterrupt { kind: None, available: vec![] }))?;
        let count = available(kind);
        if count == 0 {
            return Err(Error::on(address, BackendError::NoInterrupt { kind: Some(kind), available: has }));
        }
        let fds = (0..count)
            .map(|_| EventFd::new(EFD_NONBLOCK | nix::libc::EFD_CLOEXEC))
            .collect::<std::io::Result<Vec<_>>>()
            .map_err(|e| Error::io_on(address, "cannot create an eventfd for", "interrupts", e))?;
        device.enable_irq(vfio_index(kind), fds.iter().collect()).map_err(|source| {
            Error::on(address, BackendError::Vfio { what: "cannot enable interrupts", source, remedy: None })
        })?;
        log::info!("{name}: {count} {kind} vector(s) armed");
        Ok(VfioInterrupts { device, name, kind, fds, intx_masked: false, pid: std::process::id() })
    }
}

impl Interrupts for VfioInterrupts {
    fn kind(&self) -> IrqKind {
        self.kind
    }

    fn vectors(&self) -> u32 {
        self.fds.len() as u32
    }

    fn wait(&mut self, timeout: Duration) -> Result<IrqEvent> {
        if self.intx_masked {
            self.device.unmask_irq(VFIO_PCI_INTX_IRQ_INDEX).map_err(|source| {
                Error::on(self.name.clone(), BackendError::Vfio { what: "cannot unmask INTx", source, remedy: None })
            })?;
            self.intx_masked = false;
        }
        let fds: Vec<BorrowedFd<'_>> = self
            .fds
            .iter()
            // SAFETY: each fd belongs to an EventFd owned by self.fds, which outlives
            // these borrows (they end with this function).
            .map(|fd| unsafe { BorrowedFd::borrow_raw(fd.as_raw_fd()) })
            .collect();
        let ready = wait_readable(&fds, Instant::now() + timeout)
            .map_err(|e| Error::io_on(self.name.clone(), "cannot poll", "interrupt eventfds", e.into()))?;
        crate::stop::check()?;
        let Some(vector) = ready else {
            let what = format!("{} ({} vector(s))", self.kind, self.fds.len());
            return Err(Error::on(self.name.clone(), ErrorKind::Timeout { what, ms: timeout.as_millis() as u64 }));
        };
        let count = self.fds[vector]
            .read()
            .map_err(|e| Error::io_on(self.name.clone(), "cannot read", "interrupt eventfd", e))?;
        self.intx_masked = self.kind == IrqKind::Intx;
        Ok(IrqEvent { kind: self.kind, vector: vector as u32, count })
    }
}

impl Drop for VfioInterrupts {
    fn drop(&mut self) {
        // A child made by fork(2) shares the device fd: disarming would
        // disarm the parent's interrupts.
        if std::process::id() != self.pid {
            return;
        }
        if let Err(e) = self.device.disable_irq(vfio_index(self.kind)) {
            log::warn!("{}: disabling {}: {e}", self.name, self.kind);
        }
    }
}
