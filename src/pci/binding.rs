//! Binding a device to vfio-pci or uio_pci_generic, unbinding it, and restoring
//! the driver it had before.
//!
//! Binding uses `driver_override` + `unbind` + `drivers_probe` (the kernel's
//! documented way; no new_id side effects on other devices). The previous driver
//! is remembered in a state file so `bind --restore` can go back. Every step is
//! checked, and a failed bind is rolled back so nothing is left half-bound.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::pci::in_use;
use crate::pci::sysfs::{SysfsDevice, VFIO_VIABLE_DRIVERS};

/// Drivers `bind` accepts: the ones mmiodrv has backends for.
pub const BINDABLE: &[&str] = &["vfio-pci", "uio_pci_generic"];

/// Where the previous driver is remembered (`MMIODRV_STATE_DIR`, default /run/mmiodrv).
fn state_dir() -> PathBuf {
    std::env::var_os("MMIODRV_STATE_DIR").map(PathBuf::from).unwrap_or_else(|| "/run/mmiodrv".into())
}

fn state_file(dev: &SysfsDevice) -> PathBuf {
    state_dir().join(format!("{}.driver", dev.address))
}

/// What a bind/unbind/restore did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Outcome {
    pub device: String,
    pub previous: Option<String>,
    pub current: Option<String>,
}

fn write_attr(dev: &SysfsDevice, path: PathBuf, value: &str) -> Result<()> {
    fs::write(&path, value).map_err(|e| Error::io(&dev.name(), "cannot write", path, e))
}

/// Refuse when the device (or, with `group`, a member of its IOMMU group) is in use.
fn check_idle(dev: &SysfsDevice, force: bool) -> Result<()> {
    if force {
        return Ok(());
    }
    let reasons = in_use::reasons(dev);
    if reasons.is_empty() {
        return Ok(());
    }
    Err(Error::Busy {
        device: dev.name(),
        message: format!("refusing to unbind a device in use: {}", reasons.join("; ")),
        hint: "stop using it first (umount, swapoff, ip link set down), or pass --force if you are sure".into(),
    })
}

/// For vfio-pci: the rest of the IOMMU group must not be in use by host drivers.
fn check_group(dev: &SysfsDevice, force: bool) -> Result<()> {
    if force {
        return Ok(());
    }
    // The same rule the VFIO backend applies when it opens the group.
    let busy: Vec<String> = dev
        .group_members_bound_outside(VFIO_VIABLE_DRIVERS)
        .iter()
        .map(|(m, driver)| {
            let why = in_use::reasons(m);
            if why.is_empty() {
                format!("{} (bound to {driver})", m.address)
            } else {
                format!("{} (bound to {driver}; {})", m.address, why.join("; "))
            }
        })
        .collect();
    if busy.is_empty() {
        return Ok(());
    }
    Err(Error::Busy {
        device: dev.name(),
        message: format!("its IOMMU group also holds devices under host drivers: {}", busy.join(", ")),
        hint: "VFIO needs the whole group; unbind those first, or pass --force".into(),
    })
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
    Err(no_iommu_group(dev))
}

/// Why VFIO cannot have a device that is in no IOMMU group, and the two ways
/// out; `bind vfio-pci` and the VFIO backend's open both say this.
pub fn no_iommu_group(dev: &SysfsDevice) -> Error {
    Error::Setup {
        device: dev.name(),
        message: "the device is in no IOMMU group (the IOMMU is absent or off), so VFIO cannot use it".into(),
        hint: format!(
            "boot with intel_iommu=on or amd_iommu=on (and the IOMMU enabled in firmware), \
             or use UIO: mmiodrv --device {} bind uio_pci_generic",
            dev.address
        ),
    }
}

/// The driver's sysfs directory, loading its module first when it is missing.
fn ensure_driver(dev: &SysfsDevice, driver: &str) -> Result<PathBuf> {
    let dir = dev.sysfs().root().join("bus/pci/drivers").join(driver);
    if dir.is_dir() {
        return Ok(dir);
    }
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
    Err(Error::Setup {
        device: dev.name(),
        message: format!("kernel driver {driver} is not loaded and `modprobe {driver}` {why}"),
        hint: format!("load the module {} (modprobe {driver}, or insmod its .ko)", driver.replace('-', "_")),
    })
}

fn wait_for_driver(dev: &SysfsDevice, want: Option<&str>) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
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
    let Some(previous) = previous.filter(|d| !BINDABLE.contains(d)) else { return Ok(()) };
    fs::create_dir_all(state_dir()).map_err(|e| Error::io(&dev.name(), "cannot create", state_dir(), e))?;
    fs::write(&file, previous).map_err(|e| Error::io(&dev.name(), "cannot write", &file, e))
}

fn unbind_current(dev: &SysfsDevice) -> Result<()> {
    if dev.driver().is_some() {
        write_attr(dev, dev.attr_path("driver/unbind"), &dev.name())?;
        if !wait_for_driver(dev, None) {
            return Err(Error::Unsupported {
                device: dev.name(),
                message: "the kernel did not unbind the device".into(),
            });
        }
    }
    Ok(())
}

/// Bind to `driver` (one of [`BINDABLE`]).
pub fn bind(dev: &SysfsDevice, driver: &str, force: bool) -> Result<Outcome> {
    if !BINDABLE.contains(&driver) {
        return Err(Error::InvalidValue {
            input: driver.to_string(),
            reason: format!("mmiodrv binds only to {} (or --restore)", BINDABLE.join(" or ")),
        });
    }
    let previous = dev.driver();
    if previous.as_deref() == Some(driver) {
        return Ok(Outcome { device: dev.name(), previous: previous.clone(), current: previous });
    }
    // Refuse before touching anything (even loading a module).
    if previous.is_some() {
        check_idle(dev, force)?;
    }
    if driver == "vfio-pci" {
        check_iommu(dev)?;
        check_group(dev, force)?;
    }
    ensure_driver(dev, driver)?;
    remember(dev, previous.as_deref())?;
    write_attr(dev, dev.attr_path("driver_override"), driver)?;
    let result = unbind_current(dev)
        .and_then(|_| write_attr(dev, dev.sysfs().root().join("bus/pci/drivers_probe"), &dev.name()))
        .and_then(|_| {
            if wait_for_driver(dev, Some(driver)) {
                Ok(())
            } else {
                Err(Error::Unsupported {
                    device: dev.name(),
                    message: format!("{driver} did not take the device (see dmesg)"),
                })
            }
        });
    if let Err(e) = result {
        rollback(dev, previous.as_deref());
        return Err(e);
    }
    Ok(Outcome { device: dev.name(), previous, current: Some(driver.to_string()) })
}

/// Put the device back under `previous` after a failed bind.
fn rollback(dev: &SysfsDevice, previous: Option<&str>) {
    let _ = fs::write(dev.attr_path("driver_override"), "\n");
    if let Some(p) = previous {
        if dev.driver().as_deref() != Some(p) {
            let _ = unbind_current(dev);
            let _ = fs::write(dev.sysfs().root().join("bus/pci/drivers").join(p).join("bind"), dev.name());
        }
    }
    let _ = fs::remove_file(state_file(dev));
}

/// Detach from whatever driver has the device.
pub fn unbind(dev: &SysfsDevice, force: bool) -> Result<Outcome> {
    let previous = dev.driver();
    if previous.is_none() {
        return Ok(Outcome { device: dev.name(), previous: None, current: None });
    }
    check_idle(dev, force)?;
    remember(dev, previous.as_deref())?;
    unbind_current(dev)?;
    // A left-over override would make the next probe pick it again.
    write_attr(dev, dev.attr_path("driver_override"), "\n")?;
    Ok(Outcome { device: dev.name(), previous, current: None })
}

/// Go back to the driver the device had before mmiodrv bound it.
pub fn restore(dev: &SysfsDevice) -> Result<Outcome> {
    let file = state_file(dev);
    let remembered = fs::read_to_string(&file).ok().map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let previous = dev.driver();
    write_attr(dev, dev.attr_path("driver_override"), "\n")?;
    unbind_current(dev)?;
    match &remembered {
        Some(d) => {
            ensure_driver(dev, d)?;
            write_attr(dev, dev.sysfs().root().join("bus/pci/drivers").join(d).join("bind"), &dev.name())?;
            if !wait_for_driver(dev, Some(d)) {
                return Err(Error::Unsupported {
                    device: dev.name(),
                    message: format!("{d} did not take the device back (see dmesg)"),
                });
            }
        }
        None => {
            // Nothing remembered: let the kernel choose, as at boot.
            write_attr(dev, dev.sysfs().root().join("bus/pci/drivers_probe"), &dev.name())?;
        }
    }
    let _ = fs::remove_file(&file);
    Ok(Outcome { device: dev.name(), previous, current: dev.driver() })
}
