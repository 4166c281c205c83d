//! Turning the global options into an opened device and a register window.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use mmiodrv::backend::sim::SimOptions;
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
    open_device_block(g, None)
}

/// [`open_device`]; a simulated device (`sim:MAP`) simulates only `block`
/// when one is named, and keeps its state in `--state`.
pub fn open_device_block(g: &Global, block: Option<&str>) -> Result<Device> {
    let sim = SimOptions { state: g.state.clone(), block: block.map(str::to_string) };
    traced(
        g,
        Device::open_with(device_text(g)?, OpenOptions { backend: g.backend, force: g.force, lock: g.lock }, &sim)?,
    )
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
    let device = traced(g, Device::open_pci(&sysfs, OpenOptions { backend, force: g.force, lock: None })?)?;
    Ok((sysfs, device))
}

/// Load `--regmap FILE` (any format) and pick its `--block`, if given. Done
/// before the device is opened, so a bad map is reported before anything is
/// touched.
pub fn load_map(args: &MapArgs) -> Result<Option<(regmap::RegisterMap, std::path::PathBuf)>> {
    args.regmap
        .as_deref()
        .map(|p: &Path| {
            let file = regmap::load_file(p)?;
            Ok((file.block(args.block.as_deref())?.clone(), p.to_path_buf()))
        })
        .transpose()
}

/// The map and the opened device for a register command: `--regmap`'s
/// block, or (without `--regmap`) `--block` of a simulated device.
pub fn map_and_device(
    g: &Global,
    args: &MapArgs,
) -> Result<(Option<(regmap::RegisterMap, std::path::PathBuf)>, Device)> {
    let map = load_map(args)?;
    let block = if map.is_none() { args.block.as_deref() } else { None };
    let device = open_device_block(g, block)?;
    Ok((map, device))
}
