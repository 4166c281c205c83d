//! An opened device: how it was named, the backend reaching it, the built-in
//! driver that knows it, and its register windows. What the command line,
//! scripts, Python and drivers all start from.
//!
//! ```no_run
//! use mmiodrv::device::{Device, OpenOptions};
//!
//! let dev = Device::open("0000:00:04.0", OpenOptions::default())?;
//! let window = dev.window(None, None, true)?; // BAR0 with edu's built-in map
//! let id = window.resolve("ID", None)?;
//! println!("ID = {:#x}", window.read(&id)?);
//! # Ok::<(), mmiodrv::Error>(())
//! ```

use crate::error::{BackendError, PciError};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::backend::host_file::HostFileBackend;
use crate::backend::sim::{Identity, SimBackend, SimOptions};
use crate::backend::trace::{Event, Recorder, TracingBackend};
use crate::backend::{select, Backend, BackendKind, BarInfo, BarOptions, DmaBuffer, Interrupts, IrqKind};
use crate::drivers::{self, DriverInfo};
use crate::error::{DeviceRef, Error, Result};
use crate::lock::{DeviceLock, LockMode};
use crate::mmio::{RegisterIo, Width};
use crate::pci::config_map::{self, CONFIG_BAR};
use crate::pci::{ConfigSpace, DeviceSelector, PciAddress, Sysfs, SysfsDevice};
use crate::regmap::RegisterMap;
use crate::window::{Layout, MapRef, MapSource, Window};

/// How a device is named: a PCI selector, or one of the non-PCI devices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceSpec {
    /// A PCI function by address or IDs.
    Pci(DeviceSelector),
    /// A shared-memory file on the host (`file:PATH`).
    File(PathBuf),
    /// A simulated device built from a register map (`sim:PATH`), or an
    /// installed driver's maps (`sim:DRIVER`: a bare name, no `/` or `.`).
    Sim(PathBuf),
}

impl DeviceSpec {
    /// Parse `file:PATH`, `sim:PATH` or a PCI selector.
    pub fn parse(text: &str) -> Result<Self> {
        if let Some(path) = text.strip_prefix("file:") {
            return nonempty(path, text).map(DeviceSpec::File);
        }
        if let Some(path) = text.strip_prefix("sim:") {
            return nonempty(path, text).map(DeviceSpec::Sim);
        }
        Ok(DeviceSpec::Pci(DeviceSelector::parse(text)?))
    }
}

fn nonempty(path: &str, text: &str) -> Result<PathBuf> {
    if path.is_empty() {
        let reason = "a path must follow the prefix (file:PATH, sim:PATH)";
        return Err(PciError::InvalidSelector { input: text.to_string(), reason }.into());
    }
    Ok(PathBuf::from(path))
}

/// The installed driver a `sim:` spec names: a bare word (no `/`, no `.`,
/// which a map file's name has) that is a driver's name.
fn driver_named(path: &std::path::Path) -> Option<&'static DriverInfo> {
    let name = path.to_str()?;
    if name.contains(['/', '.']) {
        return None;
    }
    drivers::by_name(name)
}

/// How to open a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenOptions {
    /// Which backend (auto: the one matching the bound driver).
    pub backend: BackendKind,
    /// Override refusals: another kernel driver bound, decoding off, the map's
    /// width rules for raw offsets.
    pub force: bool,
    /// The device's lock between processes ([`crate::lock`]): shared for a
    /// reader, exclusive for a writer or a multi-step user; None takes none.
    pub lock: Option<LockMode>,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions { backend: BackendKind::Auto, force: false, lock: Some(LockMode::Shared) }
    }
}

/// An opened device.
pub struct Device {
    sysfs: Option<SysfsDevice>,
    /// Shared with the window on config space, which reads and writes
    /// through it.
    backend: Arc<dyn Backend>,
    driver: Option<&'static DriverInfo>,
    force: bool,
    /// Maps that come with the device itself (a simulated device's blocks).
    maps: Vec<MapRef>,
    trace: Option<Arc<Recorder>>,
    /// Held while the device is open (released after the backend closes).
    _lock: Option<DeviceLock>,
}

impl Device {
    /// Open the device `spec` names (see [`DeviceSpec::parse`]), resolving PCI
    /// selectors in the sysfs tree `MMIODRV_SYSFS_ROOT` names (default `/sys`).
    pub fn open(spec: &str, options: OpenOptions) -> Result<Device> {
        Device::open_with(spec, options, &SimOptions::default())
    }

    /// [`Device::open`], with the options of a simulated device (`sim:FILE`).
    pub fn open_with(spec: &str, options: OpenOptions, sim: &SimOptions) -> Result<Device> {
        match DeviceSpec::parse(spec)? {
            DeviceSpec::Pci(selector) => Device::open_pci(&Sysfs::from_env().resolve(&selector)?, options),
            DeviceSpec::File(path) => Ok(Device::from_backend(Box::new(HostFileBackend::open(&path)?), options.force)),
            DeviceSpec::Sim(path) => match driver_named(&path) {
                Some(driver) => Ok(Device::simulate(driver, sim, options.force)?),
                None => Ok(Device::from_sim(SimBackend::open(&path, sim)?, options.force)),
            },
        }
    }

    /// A simulated device built from a map file (see [`crate::backend::sim`]):
    /// its blocks are its maps.
    pub fn from_sim(backend: SimBackend, force: bool) -> Device {
        let maps = backend.maps().into_iter().map(MapRef::from).collect();
        Device { sysfs: None, backend: Arc::new(backend), driver: None, force, maps, trace: None, _lock: None }
    }

    /// A simulated device of `map` (a `register_map!`'s `MAP`, or any
    /// map), at the map's BAR: registers at their reset values, read-only
    /// registers and fields ignoring writes, write-1-to-clear and the other
    /// write semantics acting on the bits written, read-to-clear registers
    /// clearing when read, write-only ones reading 0
    /// ([`crate::backend::sim`]). It says it is `ffff:ffff`; a driver's
    /// device is [`Device::sim_driver`].
    ///
    /// ```
    /// mmiodrv::register_map! {
    ///     /// A made-up device.
    ///     pub mod regs {
    ///         map MAP { name: "tiny", description: "A tiny device", bar: 0, size: Some(0x1000), access: [] }
    ///         /// Pending events
    ///         EVENTS @ 0x00: u32, RW1C, reset 0x3 { DONE [0], ERROR [1] }
    ///     }
    /// }
    /// let dev = mmiodrv::device::Device::sim(&regs::MAP)?;
    /// let bar = dev.window(None, None, true)?;
    /// bar.write(&bar.resolve("EVENTS.DONE", None)?, 1)?; // write 1 to clear DONE
    /// assert_eq!(bar.read(&bar.resolve("EVENTS", None)?)?, 0x2);
    /// # Ok::<(), mmiodrv::Error>(())
    /// ```
    pub fn sim(map: &'static RegisterMap) -> Result<Device> {
        let backend = SimBackend::from_maps(&[map], Identity::UNKNOWN, &SimOptions::default())?;
        let maps = vec![MapRef::Static(map)];
        Ok(Device {
            sysfs: None,
            backend: Arc::new(backend),
            driver: None,
            force: false,
            maps,
            trace: None,
            _lock: None,
        })
    }

    /// A simulated device of `driver`: its maps at their BARs, its IDs and
    /// class in config space (so `driver.expect` accepts it), the driver's
    /// maps for names and its commands run on it. What a driver's tests run
    /// against, as the command line's `--device sim:NAME` of an installed
    /// driver does.
    pub fn sim_driver(driver: &'static DriverInfo) -> Result<Device> {
        Device::simulate(driver, &SimOptions::default(), false)
    }

    /// [`Device::sim_driver`] on a simulated device made for `driver`
    /// ([`SimBackend::for_driver`]), of which the test keeps a clone to play
    /// the hardware's side (`set_register`: a status bit the device raises).
    pub fn simulating(hardware: SimBackend, driver: &'static DriverInfo) -> Device {
        let backend = Arc::new(hardware);
        Device { sysfs: None, backend, driver: Some(driver), force: false, maps: Vec::new(), trace: None, _lock: None }
    }

    fn simulate(driver: &'static DriverInfo, options: &SimOptions, force: bool) -> Result<Device> {
        let mut backend = SimBackend::from_maps(driver.maps, Identity::of(driver), options)?;
        backend.rename(driver.name());
        Ok(Device { force, ..Device::simulating(backend, driver) })
    }

    /// Open a PCI device found in sysfs with the chosen backend.
    pub fn open_pci(dev: &SysfsDevice, options: OpenOptions) -> Result<Device> {
        // Locked before the backend opens: opening through VFIO resets the device.
        // Forced: the lock if it is free, else on without it.
        let lock = match options.lock {
            None => None,
            Some(mode) if options.force => crate::lock::acquire(dev.address, mode, Duration::ZERO).ok(),
            Some(mode) => Some(crate::lock::acquire(dev.address, mode, crate::lock::DEFAULT_WAIT)?),
        };
        let backend = select::open(dev.clone(), options.backend, options.force)?;
        let bound = dev.driver();
        log::info!("{}: {} backend, kernel driver {}", dev.name(), backend.kind(), bound.as_deref().unwrap_or("none"));
        let driver = drivers::for_device(dev);
        Ok(Device {
            sysfs: Some(dev.clone()),
            backend: Arc::from(backend),
            driver,
            force: options.force,
            maps: Vec::new(),
            trace: None,
            _lock: lock,
        })
    }

    /// A device reached through `backend` (a simulated device, a test
    /// double); its built-in driver is found from its config space.
    pub fn from_backend(backend: Box<dyn Backend>, force: bool) -> Device {
        let driver = backend.read_config().ok().and_then(|c| {
            let (v, d) = (c.vendor_id()?, c.device_id()?);
            drivers::for_ids(v, d)
        });
        Device { sysfs: None, backend: Arc::from(backend), driver, force, maps: Vec::new(), trace: None, _lock: None }
    }

    /// This device with every access to its BARs recorded by `recorder`
    /// (see [`crate::backend::trace`]): windows, drivers and interrupts all
    /// go through the tracing backend, which makes exactly the same accesses.
    pub fn with_trace(self, recorder: Arc<Recorder>) -> Device {
        let inner: Box<dyn Backend> = Box::new(Shared(self.backend));
        let backend = Arc::new(TracingBackend::new(inner, Arc::clone(&recorder)));
        Device { backend, trace: Some(recorder), ..self }
    }

    /// The trace being recorded, if any.
    pub fn trace(&self) -> Option<&Arc<Recorder>> {
        self.trace.as_ref()
    }

    /// Which device.
    pub fn device(&self) -> DeviceRef {
        self.backend.device()
    }

    /// Its PCI address, for PCI devices.
    pub fn address(&self) -> Option<PciAddress> {
        self.backend.address()
    }

    /// Its sysfs directory, for PCI devices found in sysfs.
    pub fn sysfs(&self) -> Option<&SysfsDevice> {
        self.sysfs.as_ref()
    }

    /// The backend reaching it.
    pub fn backend(&self) -> &dyn Backend {
        self.backend.as_ref()
    }

    /// The built-in driver that knows it, if any.
    pub fn driver(&self) -> Option<&'static DriverInfo> {
        self.driver
    }

    /// Whether refusals are overridden.
    pub fn forced(&self) -> bool {
        self.force
    }

    /// The built-in map for `bar`, if the driver has one.
    pub fn builtin_map(&self, bar: u8) -> Option<&'static RegisterMap> {
        self.driver.and_then(|d| d.map_for_bar(bar))
    }

    /// The map that comes with the device for `bar` (a simulated device's block).
    pub fn own_map(&self, bar: u8) -> Option<&RegisterMap> {
        self.maps.iter().find(|m| m.bar == bar).map(|m| &**m)
    }

    /// The layout of a BAR: `bar` if given, else the map's BAR (a given map's
    /// own `bar`, or the built-in driver's first map), else BAR0; a given
    /// map applies to whichever BAR is chosen, a built-in one only to its own.
    /// A host file has one region, BAR0, and a given map applies to it
    /// whatever BAR the map names.
    pub fn layout(&self, bar: Option<u8>, map: Option<(RegisterMap, PathBuf)>) -> Result<Layout> {
        if bar == Some(CONFIG_BAR) {
            return self.config_layout();
        }
        let one_region = self.backend.kind() == BackendKind::File;
        let (bar, map, source) = match map {
            Some((map, path)) => {
                let own = if one_region { 0 } else { map.bar };
                (bar.unwrap_or(own), Some(MapRef::from(map)), MapSource::File(path))
            }
            None if !self.maps.is_empty() => {
                let bar = bar.or_else(|| self.maps.first().map(|m| m.bar)).unwrap_or(0);
                let map = self.maps.iter().find(|m| m.bar == bar).cloned();
                let source = match (&map, self.device()) {
                    (Some(MapRef::Shared(_)), DeviceRef::Sim(p)) => MapSource::File(p),
                    _ => MapSource::Builtin,
                };
                (bar, map, source)
            }
            None => {
                let bar = bar.or_else(|| self.driver.and_then(|d| d.maps.first()).map(|m| m.bar)).unwrap_or(0);
                (bar, self.builtin_map(bar).map(MapRef::Static), MapSource::Builtin)
            }
        };
        let len = self
            .backend
            .bars()?
            .iter()
            .find(|b| b.index == bar)
            .map(|b| b.size)
            .ok_or_else(|| Error::on(self.device(), BackendError::BarNotPresent { bar }))?;
        if let Some(size) = map.as_ref().and_then(|m| m.size).filter(|s| *s > len) {
            log::warn!("{}: BAR{bar} is {len:#x} bytes, smaller than the map's {size:#x}", self.device());
        }
        Ok(Layout { device: self.device(), bar, len, map, source, force: self.force })
    }

    /// The layout of config space ([`CONFIG_BAR`], `--bar config`): its
    /// register map built from the config space read now (header registers,
    /// capabilities; see [`config_map`]), its length what could be read.
    pub fn config_layout(&self) -> Result<Layout> {
        let config = self.backend.read_config()?;
        if config.is_empty() {
            let e = crate::error::PciError::ConfigTooShort { len: 0, need: 64 };
            return Err(Error::on(self.device(), e));
        }
        let map = config_map::map(&config);
        Ok(Layout {
            device: self.device(),
            bar: CONFIG_BAR,
            len: config.len() as u64,
            map: Some(MapRef::from(map)),
            source: MapSource::Builtin,
            force: self.force,
        })
    }

    /// Open a BAR laid out as `layout` (config space for [`CONFIG_BAR`]).
    pub fn open_window(&self, layout: Layout, writable: bool, write_combining: bool) -> Result<Window> {
        if layout.bar == CONFIG_BAR {
            let io = ConfigIo { backend: Arc::clone(&self.backend), len: layout.len, writable };
            return Ok(Window::new(layout, Box::new(io)));
        }
        let io = self.backend.open_bar(layout.bar, BarOptions { writable, write_combining })?;
        if let (Some(recorder), Some(map)) = (&self.trace, layout.map()) {
            recorder.record(Event::Regmap { bar: layout.bar, name: map.name.to_string(), file: layout.map_file() });
        }
        Ok(Window::new(layout, io))
    }

    /// [`Device::layout`] and [`Device::open_window`] in one.
    pub fn window(&self, bar: Option<u8>, map: Option<(RegisterMap, PathBuf)>, writable: bool) -> Result<Window> {
        self.open_window(self.layout(bar, map)?, writable, false)
    }

    /// Arm interrupts (see [`Backend::interrupts`]).
    pub fn interrupts(&self, kind: Option<IrqKind>) -> Result<Box<dyn Interrupts + '_>> {
        self.backend.interrupts(kind)
    }
}

/// Config space as register I/O: every access one config access of its
/// width through the device's backend (sysfs `config`, VFIO's config
/// region...), as setpci makes them.
struct ConfigIo {
    backend: Arc<dyn Backend>,
    len: u64,
    writable: bool,
}

impl ConfigIo {
    fn check(&self, offset: u64, width: Width) -> Result<u16> {
        crate::mmio::width::check_access(offset, width, self.len)?;
        if width == Width::W64 {
            return Err(Error::invalid("64-bit", "config space takes 8-, 16- and 32-bit accesses"));
        }
        Ok(offset as u16)
    }
}

impl RegisterIo for ConfigIo {
    fn len(&self) -> u64 {
        self.len
    }

    fn read(&self, offset: u64, width: Width) -> Result<u64> {
        let at = self.check(offset, width)?;
        self.backend.read_config_at(at, width)
    }

    fn write(&self, offset: u64, width: Width, value: u64) -> Result<()> {
        let at = self.check(offset, width)?;
        if !self.writable {
            return Err(Error::invalid("write", "config space was opened read-only"));
        }
        self.backend.write_config_at(at, width, value)
    }
}

/// A backend shared between the device and its config window, handed on
/// (to the tracing backend) as a backend of its own.
struct Shared(Arc<dyn Backend>);

impl Backend for Shared {
    fn kind(&self) -> BackendKind {
        self.0.kind()
    }
    fn device(&self) -> DeviceRef {
        self.0.device()
    }
    fn address(&self) -> Option<PciAddress> {
        self.0.address()
    }
    fn read_config(&self) -> Result<ConfigSpace> {
        self.0.read_config()
    }
    fn bars(&self) -> Result<Vec<BarInfo>> {
        self.0.bars()
    }
    fn read_config_at(&self, offset: u16, width: Width) -> Result<u64> {
        self.0.read_config_at(offset, width)
    }
    fn write_config_at(&self, offset: u16, width: Width, value: u64) -> Result<()> {
        self.0.write_config_at(offset, width, value)
    }
    fn open_bar(&self, bar: u8, options: BarOptions) -> Result<Box<dyn RegisterIo>> {
        self.0.open_bar(bar, options)
    }
    fn interrupts(&self, kind: Option<IrqKind>) -> Result<Box<dyn Interrupts + '_>> {
        self.0.interrupts(kind)
    }
    fn dma_buffer(&self, len: usize, iova: u64, mask_bits: u32) -> Result<DmaBuffer> {
        self.0.dma_buffer(len, iova, mask_bits)
    }
    fn cannot(&self, what: &'static str) -> Error {
        self.0.cannot(what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn specs() {
        assert_eq!(DeviceSpec::parse("file:/dev/shm/x").unwrap(), DeviceSpec::File("/dev/shm/x".into()));
        assert_eq!(DeviceSpec::parse("sim:map.toml").unwrap(), DeviceSpec::Sim("map.toml".into()));
        assert!(matches!(DeviceSpec::parse("ffff:00:04.0").unwrap(), DeviceSpec::Pci(_)));
        assert!(DeviceSpec::parse("file:").is_err());
        assert!(matches!(
            DeviceSpec::parse("00:04").unwrap_err().kind(),
            ErrorKind::Pci(PciError::InvalidAddress { .. })
        ));
    }
}
