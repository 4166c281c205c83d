//! VFIO interrupts: each vector signals an eventfd; waiting is a poll(2) on them
//! with a timeout. INTx is level-triggered and auto-masked by VFIO, so it is
//! unmasked at the start of the next wait, once the driver has acknowledged the
//! device.

use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use vfio_bindings::bindings::vfio::{VFIO_PCI_INTX_IRQ_INDEX, VFIO_PCI_MSIX_IRQ_INDEX, VFIO_PCI_MSI_IRQ_INDEX};
use vfio_ioctls::VfioDevice;
use vmm_sys_util::eventfd::{EventFd, EFD_NONBLOCK};

use crate::backend::irq::wait_readable;
use crate::backend::{Interrupts, IrqEvent, IrqKind};
use crate::error::{Error, Result};
use crate::pci::capabilities;
use crate::pci::ConfigSpace;

fn vfio_index(kind: IrqKind) -> u32 {
    match kind {
        IrqKind::Intx => VFIO_PCI_INTX_IRQ_INDEX,
        IrqKind::Msi => VFIO_PCI_MSI_IRQ_INDEX,
        IrqKind::Msix => VFIO_PCI_MSIX_IRQ_INDEX,
    }
}

pub struct VfioInterrupts {
    device: Arc<VfioDevice>,
    name: String,
    kind: IrqKind,
    fds: Vec<EventFd>,
    /// INTx fired and VFIO masked it; unmask at the next wait, after the caller
    /// had the chance to acknowledge the device (else it would fire again at once).
    intx_masked: bool,
}

impl VfioInterrupts {
    /// Arm every vector of `kind` (None: MSI-X, else MSI, else INTx — whichever
    /// the device has first).
    pub fn arm(device: Arc<VfioDevice>, name: &str, config: &ConfigSpace, kind: Option<IrqKind>) -> Result<Self> {
        let has_cap = |id: u16| capabilities::standard(config).iter().any(|c| c.id == id);
        let available = |k: IrqKind| {
            let count = device.get_irq_info(vfio_index(k)).map(|i| i.count).unwrap_or(0);
            let cap_ok = match k {
                IrqKind::Intx => config.interrupt_pin().is_some_and(|p| p != 0),
                IrqKind::Msi => has_cap(0x05),
                IrqKind::Msix => has_cap(0x11),
            };
            if cap_ok {
                count
            } else {
                0
            }
        };
        let kind = match kind {
            Some(k) => k,
            None => [IrqKind::Msix, IrqKind::Msi, IrqKind::Intx].into_iter().find(|k| available(*k) > 0).ok_or_else(
                || Error::Unsupported {
                    device: name.to_string(),
                    message: "the device has no interrupts (no INTx pin, MSI or MSI-X)".into(),
                },
            )?,
        };
        let count = available(kind);
        if count == 0 {
            let has: Vec<String> = [IrqKind::Intx, IrqKind::Msi, IrqKind::Msix]
                .into_iter()
                .filter(|k| available(*k) > 0)
                .map(|k| k.to_string())
                .collect();
            return Err(Error::Unsupported {
                device: name.to_string(),
                message: format!(
                    "the device has no {kind} interrupt (it has: {})",
                    if has.is_empty() { "none".to_string() } else { has.join(", ") }
                ),
            });
        }
        let fds = (0..count)
            .map(|_| EventFd::new(EFD_NONBLOCK))
            .collect::<std::io::Result<Vec<_>>>()
            .map_err(|e| Error::io(name, "cannot create an eventfd for", "interrupts", e))?;
        device.enable_irq(vfio_index(kind), fds.iter().collect()).map_err(|e| Error::Setup {
            device: name.to_string(),
            message: format!("VFIO refused to enable {kind}: {e}"),
            hint: String::new(),
        })?;
        log::info!("{name}: {count} {kind} vector(s) armed");
        Ok(VfioInterrupts { device, name: name.to_string(), kind, fds, intx_masked: false })
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
            self.device.unmask_irq(VFIO_PCI_INTX_IRQ_INDEX).map_err(|e| Error::Setup {
                device: self.name.clone(),
                message: format!("cannot unmask INTx: {e}"),
                hint: String::new(),
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
            .map_err(|e| Error::io(&self.name, "cannot poll", "interrupt eventfds", e.into()))?;
        let Some(vector) = ready else {
            return Err(Error::Timeout {
                device: self.name.clone(),
                what: format!("{} ({} vector(s))", self.kind, self.fds.len()),
                ms: timeout.as_millis() as u64,
            });
        };
        let count =
            self.fds[vector].read().map_err(|e| Error::io(&self.name, "cannot read", "interrupt eventfd", e))?;
        self.intx_masked = self.kind == IrqKind::Intx;
        Ok(IrqEvent { kind: self.kind, vector: vector as u32, count })
    }
}

impl Drop for VfioInterrupts {
    fn drop(&mut self) {
        if let Err(e) = self.device.disable_irq(vfio_index(self.kind)) {
            log::warn!("{}: disabling {}: {e}", self.name, self.kind);
        }
    }
}
