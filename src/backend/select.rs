//! Choosing and opening a backend for a device.

use crate::backend::sysfs::{SysfsBackend, USERSPACE_DRIVERS};
use crate::backend::uio::UioBackend;
use crate::backend::vfio::VfioBackend;
use crate::backend::{Backend, BackendKind};
use crate::error::{Error, Result};
use crate::pci::SysfsDevice;

/// The backend `auto` picks for a bound driver.
pub fn auto_kind(driver: Option<&str>) -> BackendKind {
    match driver {
        Some("vfio-pci") => BackendKind::Vfio,
        Some("uio_pci_generic") => BackendKind::Uio,
        _ => BackendKind::Sysfs,
    }
}

/// Open `dev` with `kind`. Asking for VFIO or UIO while the device is bound to
/// something else is an error that says how to bind it; `sysfs` under another
/// kernel driver is refused by the sysfs backend itself unless `force`.
pub fn open(dev: SysfsDevice, kind: BackendKind, force: bool) -> Result<Box<dyn Backend>> {
    let driver = dev.driver();
    let kind = match kind {
        BackendKind::Auto => auto_kind(driver.as_deref()),
        k => k,
    };
    let want = match kind {
        BackendKind::Vfio => Some("vfio-pci"),
        BackendKind::Uio => Some("uio_pci_generic"),
        _ => None,
    };
    if let Some(want) = want {
        if driver.as_deref() != Some(want) {
            return Err(Error::Setup {
                device: dev.name(),
                message: format!(
                    "--backend {kind} needs the device bound to {want}, but it is bound to {}",
                    driver.as_deref().unwrap_or("no driver")
                ),
                hint: format!("mmiodrv --device {} bind {want}, or --backend auto", dev.address),
            });
        }
    }
    log::debug!(
        "{}: opening with the {kind} backend (driver {driver:?}; userspace drivers: {USERSPACE_DRIVERS:?})",
        dev.name()
    );
    Ok(match kind {
        BackendKind::Vfio => Box::new(VfioBackend::open(dev)?),
        BackendKind::Uio => Box::new(UioBackend::open(dev)?),
        _ => Box::new(SysfsBackend::new(dev, force)),
    })
}
