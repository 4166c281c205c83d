//! Binding a device to vfio-pci or uio_pci_generic, unbinding it, and restoring
//! the driver it had before.
//!
//! Binding uses `driver_override` + `unbind` + `drivers_probe` (the kernel's
//! documented way; no new_id side effects on other devices). The previous driver
//! is remembered in a state file so `bind --restore` can go back. Every step is
//! checked, and a failed bind is rolled back so nothing is left half-bound.

use crate::error::PciError;
use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

use crate::pci::error::GroupMember;

use crate::backend::kind::UserspaceDriver;
use crate::pci::in_use;
use crate::pci::sysfs::{tripwire, write_attr, SysfsDevice, VFIO_VIABLE_DRIVERS};

/// Environment variable naming where previous drivers are remembered.
pub const STATE_DIR_ENV: &str = "MMIODRV_STATE_DIR";

/// Where the previous driver is remembered (`MMIODRV_STATE_DIR`, default /run/mmiodrv).
pub fn state_dir() -> PathBuf {
    std::env::var_os(STATE_DIR_ENV).map(PathBuf::from).unwrap_or_else(|| "/run/mmiodrv".into())
}

fn state_file(dev: &SysfsDevice) -> PathBuf {
    state_dir().join(format!("{}.driver", dev.address))
}

/// What a bind/unbind/restore did.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Outcome {
    /// The device.
    pub device: crate::pci::PciAddress,
    /// Its driver before.
    pub previous: Option<String>,
    /// Its driver now.
    pub current: Option<String>,
}

/// Refuse when the device is in use: by the system through its kernel
/// driver (when it has one), or by another process from userspace.
fn check_idle(dev: &SysfsDevice, action: &'static str, force: bool) -> Result<()> {
    if force {
        return Ok(());
    }
    let mut reasons = if dev.driver().is_some() { in_use::reasons(dev) } else { Vec::new() };
    reasons.extend(in_use::held_by_processes(dev));
    if reasons.is_empty() {
        return Ok(());
    }
    Err(Error::on(dev.address, PciError::InUse { action, reasons }))
}

/// The device's lock, exclusive, for the steps of a bind (with --force,
/// taken if free and not waited for).
fn lock_for_binding(dev: &SysfsDevice, force: bool) -> Result<Option<crate::lock::DeviceLock>> {
    use crate::lock::{acquire, LockMode, DEFAULT_WAIT};
    match acquire(dev.address, LockMode::Exclusive, if force { Duration::ZERO } else { DEFAULT_WAIT }) {
        Ok(lock) => Ok(Some(lock)),
        Err(_) if force => Ok(None),
        Err(e) => Err(e),
    }
}

/// The other members of the IOMMU group bound to host drivers VFIO does not
/// tolerate, each with what keeps it busy.
pub fn group_blockers(dev: &SysfsDevice) -> Vec<GroupMember> {
    dev.group_members_bound_outside(VFIO_VIABLE_DRIVERS)
        .into_iter()
        .map(|(m, driver)| GroupMember { address: m.address, driver, in_use: in_use::reasons(&m) })
        .collect()
}

/// For vfio-pci: the rest of the IOMMU group must not be in use by host drivers.
fn check_group(dev: &SysfsDevice, force: bool) -> Result<()> {
    let members = group_blockers(dev);
    if force || members.is_empty() {
        return Ok(());
    }
    Err(Error::on(dev.address, PciError::GroupInUse { members }))
}

/// For vfio-pci: the device must be in an IOMMU group, or vfio-pci cannot take
/// it (short of VFIO's unsafe no-IOMMU mode, which distribution kernels such as
/// Debian's leave out). Saying so beats "vfio-pci did not take the device".
fn check_iommu(dev: &SysfsDevice) -> Result<()> {
    if dev.iommu_group().is_some() {
        return Ok(());
    }
    let noiommu = dev.sysfs().root().join("module/vfio/parameters/enable_unsafe_noiommu_mode");
    if fs::read_to_string(noiommu).is_ok_and(|v| v.trim() == "Y") {
        return Ok(());
    }
    Err(Error::on(dev.address, PciError::NoIommuGroup))
}

/// The driver's sysfs directory, loading its module first when it is missing.
fn ensure_driver(dev: &SysfsDevice, driver: &str) -> Result<PathBuf> {
    let dir = dev.sysfs().root().join("bus/pci/drivers").join(driver);
    if dir.is_dir() {
        return Ok(dir);
    }
    tripwire(&dir, "loading a kernel module for")?;
    // modprobe's own complaint goes into our one error line, not onto stderr.
    let why = match Command::new("modprobe").arg(driver).stdin(Stdio::null()).stdout(Stdio::null()).output() {
        Ok(out) if out.status.success() && dir.is_dir() => return Ok(dir),
        Ok(out) if out.status.success() => "did not register it".to_string(),
        Ok(out) => match String::from_utf8_lossy(&out.stderr).lines().rfind(|l| !l.trim().is_empty()) {
            Some(line) => format!("failed ({})", line.trim()),
            None => format!("failed ({})", out.status),
        },
        Err(e) => format!("could not run ({e})"),
    };
    Err(Error::on(dev.address, PciError::ModuleLoad { driver: driver.to_string(), why }))
}

/// Environment variable: how long to wait for the kernel to bind or unbind,
/// in milliseconds (default 5000).
pub const BIND_TIMEOUT_ENV: &str = "MMIODRV_BIND_TIMEOUT_MS";

fn wait_for_driver(dev: &SysfsDevice, want: Option<&str>) -> bool {
    let ms = std::env::var(BIND_TIMEOUT_ENV).ok().and_then(|v| v.parse().ok()).unwrap_or(5000);
    let deadline = Instant::now() + Duration::from_millis(ms);
    loop {
        if dev.driver().as_deref() == want {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn remember(dev: &SysfsDevice, previous: Option<&str>) -> Result<()> {
    let file = state_file(dev);
    // Keep the first remembered driver across repeated binds (vfio → uio → ...).
    if file.exists() {
        return Ok(());
    }
    let Some(previous) = previous.filter(|d| UserspaceDriver::from_name(d).is_none()) else { return Ok(()) };
    let dir = state_dir();
    fs::create_dir_all(&dir).map_err(|e| Error::io_on(dev.address, "cannot create", &dir, e))?;
    fs::write(&file, previous).map_err(|e| Error::io_on(dev.address, "cannot write", &file, e))
}

fn unbind_current(dev: &SysfsDevice) -> Result<()> {
    if let Some(driver) = dev.driver() {
        write_attr(dev.address, &dev.attr_path("driver/unbind"), &dev.name())?;
        if !wait_for_driver(dev, None) {
            return Err(Error::on(dev.address, PciError::DidNotUnbind { driver }));
        }
    }
    Ok(())
}

/// Bind to `driver` (a [`UserspaceDriver`] by name).
pub fn bind(dev: &SysfsDevice, driver: &str, force: bool) -> Result<Outcome> {
    let Some(wanted) = UserspaceDriver::from_name(driver) else {
        return Err(Error::on(dev.address, PciError::NotBindable { driver: driver.to_string() }));
    };
    if dev.driver().as_deref() == Some(driver) {
        return Ok(Outcome {
            device: dev.address,
            previous: Some(driver.to_string()),
            current: Some(driver.to_string()),
        });
    }
    // The lock first, then the state and the checks, then the steps: nothing
    // another mmiodrv process does can come between the check and the unbind.
    let _lock = lock_for_binding(dev, force)?;
    let previous = dev.driver();
    if previous.as_deref() == Some(driver) {
        return Ok(Outcome { device: dev.address, previous: previous.clone(), current: previous });
    }
    // Refuse before touching anything (even loading a module).
    check_idle(dev, if previous.is_some() { "unbind" } else { "bind" }, force)?;
    if wanted == UserspaceDriver::VfioPci {
        check_iommu(dev)?;
        check_group(dev, force)?;
    }
    ensure_driver(dev, driver)?;
    remember(dev, previous.as_deref())?;
    write_attr(dev.address, &dev.attr_path("driver_override"), driver)?;
    let result = unbind_current(dev)
        .and_then(|_| write_attr(dev.address, &dev.sysfs().root().join("bus/pci/drivers_probe"), &dev.name()))
        .and_then(|_| {
            if wait_for_driver(dev, Some(driver)) {
                Ok(())
            } else {
                Err(Error::on(dev.address, PciError::DriverDidNotBind { driver: driver.to_string() }))
            }
        });
    if let Err(e) = result {
        rollback(dev, previous.as_deref());
        return Err(e);
    }
    Ok(Outcome { device: dev.address, previous, current: Some(driver.to_string()) })
}

/// Put the device back under `previous` after a failed bind.
fn rollback(dev: &SysfsDevice, previous: Option<&str>) {
    let _ = write_attr(dev.address, &dev.attr_path("driver_override"), "\n");
    if let Some(p) = previous {
        if dev.driver().as_deref() != Some(p) {
            let _ = unbind_current(dev);
            let bind = dev.sysfs().root().join("bus/pci/drivers").join(p).join("bind");
            let _ = write_attr(dev.address, &bind, &dev.name());
        }
    }
    let _ = fs::remove_file(state_file(dev));
}

/// Detach from whatever driver has the device.
pub fn unbind(dev: &SysfsDevice, force: bool) -> Result<Outcome> {
    if dev.driver().is_none() {
        return Ok(Outcome { device: dev.address, previous: None, current: None });
    }
    // Under the lock: the driver as it is now, checked, then unbound.
    let _lock = lock_for_binding(dev, force)?;
    let previous = dev.driver();
    if previous.is_none() {
        return Ok(Outcome { device: dev.address, previous: None, current: None });
    }
    check_idle(dev, "unbind", force)?;
    let fresh = !state_file(dev).exists();
    remember(dev, previous.as_deref())?;
    if let Err(e) = unbind_current(dev) {
        if fresh {
            let _ = fs::remove_file(state_file(dev));
        }
        return Err(e);
    }
    // A left-over override would make the next probe pick it again.
    write_attr(dev.address, &dev.attr_path("driver_override"), "\n")?;
    Ok(Outcome { device: dev.address, previous, current: None })
}

/// Go back to the driver the device had before mmiodrv bound it.
pub fn restore(dev: &SysfsDevice, force: bool) -> Result<Outcome> {
    let file = state_file(dev);
    let remembered = fs::read_to_string(&file).ok().map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let previous = dev.driver();
    // Already there (a kernel driver with nothing remembered, or the remembered
    // one): nothing to do, and nothing is unbound for nothing.
    let already = match (&remembered, &previous) {
        (Some(r), Some(p)) => r == p,
        (None, Some(p)) => UserspaceDriver::from_name(p).is_none(),
        _ => false,
    };
    if already {
        let _ = fs::remove_file(&file);
        return Ok(Outcome { device: dev.address, previous: previous.clone(), current: previous });
    }
    let _lock = lock_for_binding(dev, force)?;
    // The driver as it is under the lock (another process may have bound it meanwhile).
    let previous = dev.driver();
    check_idle(dev, if previous.is_some() { "unbind" } else { "bind" }, force)?;
    write_attr(dev.address, &dev.attr_path("driver_override"), "\n")?;
    unbind_current(dev)?;
    match &remembered {
        Some(d) => {
            ensure_driver(dev, d)?;
            write_attr(dev.address, &dev.sysfs().root().join("bus/pci/drivers").join(d).join("bind"), &dev.name())?;
            if !wait_for_driver(dev, Some(d)) {
                return Err(Error::on(dev.address, PciError::DriverDidNotBind { driver: d.clone() }));
            }
        }
        None => {
            // Nothing remembered: let the kernel choose, as at boot.
            write_attr(dev.address, &dev.sysfs().root().join("bus/pci/drivers_probe"), &dev.name())?;
        }
    }
    let _ = fs::remove_file(&file);
    Ok(Outcome { device: dev.address, previous, current: dev.driver() })
}
