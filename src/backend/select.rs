//! Choosing and opening a backend for a device.

use crate::backend::kind::UserspaceDriver;
use crate::backend::sysfs::SysfsBackend;
#[cfg(feature = "uio")]
use crate::backend::uio::UioBackend;
#[cfg(feature = "vfio")]
use crate::backend::vfio::VfioBackend;
use crate::backend::{Backend, BackendKind};
use crate::error::BackendError;
use crate::error::{Error, ErrorKind, Result};
use crate::pci::SysfsDevice;

/// The backend `auto` picks for a bound driver.
pub fn auto_kind(driver: Option<&str>) -> BackendKind {
    match driver.and_then(UserspaceDriver::from_name) {
        Some(d) => d.backend(),
        None => BackendKind::Sysfs,
    }
}

/// Open `dev` with `kind`. Asking for VFIO or UIO while the device is bound to
/// something else is an error that says how to bind it; the sysfs backend
/// refuses, when a BAR is opened, a device another kernel driver or vfio-pci
/// holds (unless `force`).
pub fn open(dev: SysfsDevice, kind: BackendKind, force: bool) -> Result<Box<dyn Backend>> {
    let driver = dev.driver();
    let kind = match kind {
        BackendKind::Auto => auto_kind(driver.as_deref()),
        k => k,
    };
    let bound = driver.as_deref().and_then(UserspaceDriver::from_name);
    if let Some(want) = kind.driver().filter(|want| bound != Some(*want)) {
        return Err(Error::on(
            dev.address,
            BackendError::BackendMismatch { backend: kind, driver: want, bound: driver },
        ));
    }
    log::debug!("{}: opening with the {kind} backend (driver {driver:?})", dev.name());
    Ok(match kind {
        #[cfg(feature = "vfio")]
        BackendKind::Vfio => Box::new(VfioBackend::open(dev)?),
        #[cfg(feature = "uio")]
        BackendKind::Uio => Box::new(UioBackend::open(dev)?),
        #[allow(unreachable_patterns)]
        BackendKind::Vfio | BackendKind::Uio => return Err(not_built(dev, kind)),
        _ => Box::new(SysfsBackend::new(dev, force)),
    })
}

/// A backend this build of the library does not have (its feature is off).
#[allow(dead_code)]
fn not_built(dev: SysfsDevice, kind: BackendKind) -> Error {
    let why = format!("this build of mmiodrv has no {kind} backend (the library's feature {kind})");
    Error::on(dev.address, ErrorKind::NotSupported { what: "the backend asked for", why })
}
