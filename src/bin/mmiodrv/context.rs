//! Turning the global options into an opened device and a register window.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use mmiodrv::backend::BackendKind;
use mmiodrv::device::{Device, OpenOptions};
use mmiodrv::error::{ErrorKind, Result};
use mmiodrv::observe::trace::Recorder;
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

/// Resolve `--device` and open it with the chosen backend (traced with `--trace`).
pub fn open_device(g: &Global) -> Result<Device> {
    traced(g, Device::open(device_text(g)?, OpenOptions { backend: g.backend, force: g.force })?)
}

/// The `--trace` recorder, made when the first device is opened.
static TRACE: OnceLock<Arc<Recorder>> = OnceLock::new();

/// `device`, recording its accesses when `--trace FILE` was given.
fn traced(g: &Global, device: Device) -> Result<Device> {
    let Some(path) = &g.trace else { return Ok(device) };
    let recorder = match TRACE.get() {
        Some(r) => Arc::clone(r),
        None => {
            let r = Recorder::create(path, device.backend(), std::env::args().collect())?;
            Arc::clone(TRACE.get_or_init(|| r))
        }
    };
    Ok(device.with_trace(recorder))
}

/// The trace's write error, if writing it failed at some point.
pub fn finish_trace() -> Result<()> {
    TRACE.get().map_or(Ok(()), |r| r.finish())
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
    let device = traced(g, Device::open_pci(&sysfs, OpenOptions { backend, force: g.force })?)?;
    Ok((sysfs, device))
}

/// Load `--regmap FILE`, if given. Done before the device is opened, so a bad
/// map is reported before anything is touched.
pub fn load_map(args: &MapArgs) -> Result<Option<(regmap::RegisterMap, std::path::PathBuf)>> {
    args.regmap.as_deref().map(|p: &Path| regmap::load_file(p).map(|m| (m, p.to_path_buf()))).transpose()
}
