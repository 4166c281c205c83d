//! From the global options to an opened device and a session on it.

use mmiodrv::error::PciError;
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
            .map(|p| PlacedMap::load(&p.to_string_lossy(), self.block.as_deref(), self.bar))
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

/// Let SIGINT, SIGTERM and SIGHUP stop a command that waits or takes
/// several steps cleanly (a second one ends it at once).
pub fn stoppable() -> Result<()> {
    mmiodrv::stop::install_signal_handlers()
}

/// The devices the selection commands read: this machine's, or a dump's (`-F`).
pub enum Devices {
    /// This machine, through sysfs.
    Machine(Sysfs),
    /// An lspci dump.
    Dump {
        /// Its file.
        path: std::path::PathBuf,
        /// Its devices.
        devices: Vec<mmiodrv::pci::lspci::dump::DumpDevice>,
    },
}

impl Devices {
    /// Where `inspect` looks.
    pub fn source(&self) -> mmiodrv::pci::report::Source<'_> {
        match self {
            Devices::Machine(s) => mmiodrv::pci::report::Source::Sysfs(s),
            Devices::Dump { path, devices } => mmiodrv::pci::report::Source::Dump { path, devices },
        }
    }
}

/// This machine's devices, or the dump `-F` names.
pub fn devices(g: &Global) -> Result<Devices> {
    let Some(path) = &g.dump_file else { return Ok(Devices::Machine(Sysfs::from_env())) };
    let bytes = mmiodrv::value::read_regular_file(path, "lspci dump", 64 << 20)?;
    let text = String::from_utf8_lossy(&bytes);
    let devices = mmiodrv::pci::lspci::dump::parse(&text)
        .map_err(|e| mmiodrv::Error::invalid(path.display().to_string(), format!("not an lspci dump: {e}")))?;
    Ok(Devices::Dump { path: path.clone(), devices })
}

/// `-s`/`-d`, or `--device` (an address or IDs) as the same filter: what
/// the commands that take every selected device select.
pub fn selection(g: &Global) -> Result<mmiodrv::pci::filter::Filter> {
    use mmiodrv::device::DeviceSpec;
    use mmiodrv::pci::filter::{IdFilter, SlotFilter};
    let mut f = g.filter();
    if let Some(text) = g.device.as_deref() {
        match DeviceSpec::parse(text)? {
            DeviceSpec::Pci(DeviceSelector::Address(a)) => {
                f.slot = Some(SlotFilter {
                    domain: Some(a.domain),
                    bus: Some(a.bus),
                    device: Some(a.device),
                    function: Some(a.function),
                })
            }
            DeviceSpec::Pci(DeviceSelector::Ids { vendor, device }) => {
                f.ids = Some(IdFilter { vendor: Some(vendor), device: Some(device), ..IdFilter::default() })
            }
            _ => {
                return Err(mmiodrv::Error::invalid(
                    text,
                    "this command reads PCI devices; select them with -s, -d or an address",
                ))
            }
        }
    }
    Ok(f)
}

/// The error for `--device X` naming no device (`-s`/`-d` select as lspci
/// does: nothing matching is no error).
pub fn nothing_named(g: &Global, found: usize) -> Result<()> {
    match (&g.device, found, g.slot.is_none() && g.ids.is_none()) {
        (Some(d), 0, true) => {
            let selector = DeviceSelector::parse(d).map_or_else(|_| d.clone(), |s| s.to_string());
            Err(PciError::DeviceNotFound { selector }.into())
        }
        _ => Ok(()),
    }
}

/// A selected function opened for config access: on this machine through
/// sysfs to read (opening VFIO would reset the device) and, to write, through
/// the backend `--backend` names (auto: VFIO's config region for a device
/// bound to vfio-pci, which owns it); the dump's bytes for `-F`.
pub fn open_inspected(
    g: &Global,
    devices: &Devices,
    f: &mmiodrv::pci::report::Inspected,
    write: bool,
) -> Result<Device> {
    match (devices, &f.sysfs) {
        (Devices::Dump { path, .. }, _) => {
            let backend = mmiodrv::backend::dump::DumpBackend::new(path, &f.name(), f.address(), f.config.clone());
            Ok(Device::from_backend(Box::new(backend), g.force))
        }
        (Devices::Machine(_), Some(dev)) => {
            let backend = match g.backend {
                BackendKind::Auto if !write => BackendKind::Sysfs,
                k => k,
            };
            traced(g, Device::open_pci(dev, OpenOptions { backend, force: g.force, lock: None })?)
        }
        (Devices::Machine(_), None) => Err(PciError::DeviceNotFound { selector: f.name() }.into()),
    }
}
