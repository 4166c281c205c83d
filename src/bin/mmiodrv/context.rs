//! Turning `--device`, `--backend` and `--regmap` into an opened device.

use mmiodrv::backend::{select, Backend, BackendKind};
use mmiodrv::drivers::{self, DriverInfo};
use mmiodrv::error::{Error, Result};
use mmiodrv::pci::{DeviceSelector, Sysfs, SysfsDevice};
use mmiodrv::regmap::{self, RegisterMap};

use crate::args::{Cli, MapArgs};

/// The device a command works on.
pub struct Device {
    pub sysfs: SysfsDevice,
    pub backend: Box<dyn Backend>,
    pub driver: Option<&'static DriverInfo>,
}

impl Device {
    pub fn name(&self) -> String {
        self.sysfs.name()
    }
}

/// The sysfs device `--device` names.
pub fn resolve_device(cli: &Cli) -> Result<SysfsDevice> {
    let text = cli.device.as_deref().ok_or(Error::MissingDevice)?;
    Sysfs::from_env().resolve(&DeviceSelector::parse(text)?)
}

/// Resolve `--device` and open it with the chosen backend.
pub fn open_device(cli: &Cli) -> Result<Device> {
    open_device_with(cli, cli.backend)
}

/// For commands that only read config space (`info`, `config`): `auto` means
/// sysfs, because opening a VFIO device resets it and fails while another
/// process (a VM) holds its group. `--backend vfio|uio` is still honoured.
pub fn open_device_for_inspection(cli: &Cli) -> Result<Device> {
    let kind = match cli.backend {
        BackendKind::Auto => BackendKind::Sysfs,
        k => k,
    };
    open_device_with(cli, kind)
}

fn open_device_with(cli: &Cli, kind: BackendKind) -> Result<Device> {
    let sysfs = resolve_device(cli)?;
    let driver = match (sysfs.vendor_id(), sysfs.device_id()) {
        (Ok(v), Ok(d)) => drivers::for_ids(v, d),
        _ => None,
    };
    let backend = select::open(sysfs.clone(), kind, cli.force)?;
    log::info!("{}: {:?} backend, kernel driver {:?}", sysfs.name(), backend.kind(), sysfs.driver());
    Ok(Device { sysfs, backend, driver })
}

/// The register map in force: `--regmap FILE`, else the device's built-in one.
pub fn register_map(device: &Device, args: &MapArgs) -> Result<Option<RegisterMap>> {
    match (&args.regmap, device.driver) {
        (Some(path), _) => regmap::load_file(path).map(Some),
        (None, Some(d)) => d.register_map().map(Some),
        (None, None) => Ok(None),
    }
}

/// Where a map comes from, for headings.
pub fn map_source(args: &MapArgs, map: &RegisterMap) -> String {
    match &args.regmap {
        Some(p) => p.display().to_string(),
        None => format!("built-in {} map", map.name),
    }
}
