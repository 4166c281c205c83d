//! From the global options to an opened device and a session on it.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use mmiodrv::backend::sim::SimOptions;
use mmiodrv::backend::BackendKind;
use mmiodrv::command::Args;
use mmiodrv::device::{Device, OpenOptions};
use mmiodrv::error::{ErrorKind, Result};
use mmiodrv::lock::LockMode;
use mmiodrv::observe::trace::Recorder;
use mmiodrv::pci::{DeviceSelector, Sysfs, SysfsDevice};
use mmiodrv::regmap;
use mmiodrv::session::{PlacedMap, SessionOptions};

use crate::cli::Global;

/// The `--device` text, or the error saying it is needed.
pub fn device_text(g: &Global) -> Result<&str> {
    g.device.as_deref().ok_or_else(|| ErrorKind::MissingDevice.into())
}

/// The sysfs device `--device` names.
pub fn resolve_device(g: &Global) -> Result<SysfsDevice> {
    Sysfs::from_env().resolve(&DeviceSelector::parse(device_text(g)?)?)
}

/// The map options of a session (`--regmap`, `--block`, `--wc`; `--bar`
/// places a `--regmap` map at that BAR).
#[derive(Clone, Debug, Default)]
pub struct MapChoice {
    /// `--regmap FILE`.
    pub regmap: Option<std::path::PathBuf>,
    /// `--block NAME`.
    pub block: Option<String>,
    /// `--bar N` given with the map.
    pub bar: Option<u8>,
    /// `--wc`.
    pub wc: bool,
}

impl MapChoice {
    /// The map options among parsed arguments.
    pub fn from_args(args: &Args) -> MapChoice {
        MapChoice {
            regmap: args.opt_path("regmap").map(Path::to_path_buf),
            block: args.opt_text("block").map(str::to_string),
            bar: args.opt_bar("bar"),
            wc: args.flag("wc"),
        }
    }

    /// Load `--regmap FILE` (any format) and pick its `--block`, if given.
    /// Done before the device is opened, so a bad map is reported before
    /// anything is touched.
    pub fn load(&self) -> Result<SessionOptions> {
        let map = self
            .regmap
            .as_deref()
            .map(|p| {
                let file = regmap::load_file(p)?;
                Ok::<_, mmiodrv::Error>(PlacedMap {
                    map: file.block(self.block.as_deref())?.clone(),
                    path: p.to_path_buf(),
                    bar: self.bar,
                })
            })
            .transpose()?;
        Ok(SessionOptions { map, write_combining: self.wc })
    }

    /// The block a simulated device simulates (`--block` without `--regmap`).
    pub fn sim_block(&self) -> Option<&str> {
        if self.regmap.is_none() {
            self.block.as_deref()
        } else {
            None
        }
    }
}

/// Resolve `--device` and open it with the chosen backend, taking its lock
/// in `lock` mode (traced with `--trace`); a simulated device simulates
/// only `block` when one is named, and keeps its state in `--state`.
pub fn open_device(g: &Global, lock: Option<LockMode>, block: Option<&str>) -> Result<Device> {
    let sim = SimOptions { state: g.state.clone(), block: block.map(str::to_string) };
    traced(g, Device::open_with(device_text(g)?, OpenOptions { backend: g.backend, force: g.force, lock }, &sim)?)
}

/// The map and the opened device for a session: the map is loaded first.
pub fn session_device(g: &Global, choice: &MapChoice, lock: Option<LockMode>) -> Result<(SessionOptions, Device)> {
    let options = choice.load()?;
    let device = open_device(g, lock, choice.sim_block())?;
    Ok((options, device))
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

/// Let SIGINT, SIGTERM and SIGHUP stop a command that waits or takes
/// several steps cleanly (a second one ends it at once).
pub fn stoppable() -> Result<()> {
    mmiodrv::stop::install_signal_handlers()
}
