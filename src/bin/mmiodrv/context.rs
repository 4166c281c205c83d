//! Turning the global options into an opened device and a register window.

use std::path::Path;

use mmiodrv::backend::BackendKind;
use mmiodrv::device::{Device, OpenOptions};
use mmiodrv::error::{ErrorKind, Result};
use mmiodrv::pci::{DeviceSelector, Sysfs, SysfsDevice};
use mmiodrv::regmap;

use crate::args::{Global, MapArgs};

/// The `--device` text, or the error saying it is needed.
pub fn device_text(g: &Global) -> Result<&str> {
    g.device.as_deref().ok_or_else(|| ErrorKind::MissingDevice.into())
}

/// The sysfs device `--device` names.
pub fn resolve_device(g: &Global) -> Result<SysfsDevice> {
    Sysfs::from_env().resolve(&DeviceSelector::parse(device_text(g)?)?)
}

/// Resolve `--device` and open it with the chosen backend.
pub fn open_device(g: &Global) -> Result<Device> {
    Device::open(device_text(g)?, OpenOptions { backend: g.backend, force: g.force })
}

/// For commands that only read config space (`info`, `config`): `auto` means
/// sysfs, because opening a VFIO device resets it and fails while another
/// process (a VM) holds its group. `--backend vfio|uio` is still honoured.
pub fn open_for_inspection(g: &Global) -> Result<(SysfsDevice, Device)> {
    let backend = match g.backend {
        BackendKind::Auto => BackendKind::Sysfs,
        k => k,
    };
    let sysfs = resolve_device(g)?;
    let device = Device::open_pci(&sysfs, OpenOptions { backend, force: g.force })?;
    Ok((sysfs, device))
}

/// Load `--regmap FILE`, if given. Done before the device is opened, so a bad
/// map is reported before anything is touched.
pub fn load_map(args: &MapArgs) -> Result<Option<(regmap::RegisterMap, std::path::PathBuf)>> {
    args.regmap.as_deref().map(|p: &Path| regmap::load_file(p).map(|m| (m, p.to_path_buf()))).transpose()
}
