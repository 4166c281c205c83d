//! The sysfs backend: config space from `config`, memory BARs mapped from
//! `resourceN` (or `resourceN_wc` when asked), I/O BARs through pread/pwrite of
//! `resourceN`. Root only (the kernel requires CAP_SYS_ADMIN), and no interrupts.

use crate::error::BackendError;
use std::fs::OpenOptions;
use std::sync::OnceLock;

use crate::backend::file_region::FileRegion;
use crate::backend::kind::UserspaceDriver;
use crate::backend::{Backend, BackendKind, BarInfo, BarOptions};
use crate::error::{DeviceRef, Error, Result};
use crate::mmio::{Mapping, MmioRegion, RegisterIo, Width};
use crate::pci::config::command;
use crate::pci::space::Space;
use crate::pci::sysfs::tripwire;
use crate::pci::{BarKind, ConfigSpace, SysfsDevice};

/// The kernel's sysfs I/O-port resource accepts 1-, 2- and 4-byte accesses.
const IO_PORT_WIDTHS: &[Width] = &[Width::W8, Width::W16, Width::W32];

/// A device reached through its sysfs files.
pub struct SysfsBackend {
    dev: SysfsDevice,
    force: bool,
    /// The BARs, read from `resource` once.
    bars: OnceLock<Vec<BarInfo>>,
}

impl SysfsBackend {
    /// Open a device. Config reads always work; BAR access is refused while a
    /// kernel driver other than vfio-pci/uio_pci_generic owns the device, or while
    /// decoding is off, unless `force`.
    pub fn new(dev: SysfsDevice, force: bool) -> Self {
        SysfsBackend { dev, force, bars: OnceLock::new() }
    }

    fn check_may_touch(&self, kind: BarKind) -> Result<()> {
        if self.force {
            return Ok(());
        }
        match self.dev.driver().map(|d| (UserspaceDriver::from_name(&d), d)) {
            Some((None, driver)) => return Err(Error::on(self.dev.address, BackendError::DriverBound { driver })),
            // The BARs of a vfio-pci device belong to whoever holds its group.
            Some((Some(UserspaceDriver::VfioPci), _)) => {
                return Err(Error::on(self.dev.address, BackendError::OwnedByVfio { backend: BackendKind::Sysfs }))
            }
            _ => {}
        }
        let (bit, space) = match kind {
            BarKind::Memory => (command::MEMORY, Space::Memory),
            BarKind::Io => (command::IO, Space::Io),
        };
        if self.dev.read_config_u16(crate::pci::config::off::COMMAND as u64)? & bit == 0 {
            return Err(Error::on(self.dev.address, BackendError::DecodingDisabled { space }));
        }
        Ok(())
    }

    /// Config writes: like BAR access, refused while a kernel driver other
    /// than vfio-pci/uio_pci_generic owns the device, unless `force`.
    fn check_may_write_config(&self) -> Result<()> {
        if self.force {
            return Ok(());
        }
        match self.dev.driver().map(|d| (UserspaceDriver::from_name(&d), d)) {
            Some((None, driver)) => Err(Error::on(self.dev.address, BackendError::DriverBound { driver })),
            Some((Some(UserspaceDriver::VfioPci), _)) => {
                Err(Error::on(self.dev.address, BackendError::OwnedByVfio { backend: BackendKind::Sysfs }))
            }
            _ => Ok(()),
        }
    }

    /// One config access through the sysfs `config` file: a pread/pwrite of
    /// exactly `width` bytes at an aligned offset, which the kernel turns
    /// into one config cycle of that width.
    pub fn config_access(&self, offset: u16, width: crate::mmio::Width, write: Option<u64>) -> Result<u64> {
        use std::os::unix::fs::FileExt;
        let path = self.dev.attr_path("config");
        let n = width.bytes() as usize;
        let err = |e| Error::io_on(self.dev.address, "cannot access config space through", &path, e);
        match write {
            None => {
                let mut b = [0u8; 4];
                std::fs::File::open(&path).and_then(|f| f.read_exact_at(&mut b[..n], offset.into())).map_err(err)?;
                Ok(u64::from(u32::from_le_bytes(b)))
            }
            Some(value) => {
                self.check_may_write_config()?;
                tripwire(&path, "writing config space through")?;
                let b = (value as u32).to_le_bytes();
                OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .and_then(|f| f.write_all_at(&b[..n], offset.into()))
                    .map_err(err)?;
                Ok(value)
            }
        }
    }

    fn bar(&self, index: u8) -> Result<BarInfo> {
        self.bars()?
            .into_iter()
            .find(|b| b.index == index)
            .ok_or_else(|| Error::on(self.dev.address, BackendError::BarNotPresent { bar: index }))
    }
}

impl Backend for SysfsBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Sysfs
    }

    fn device(&self) -> DeviceRef {
        DeviceRef::Pci(self.dev.address)
    }

    fn read_config(&self) -> Result<ConfigSpace> {
        self.dev.read_config().map(ConfigSpace::new)
    }

    fn read_config_at(&self, offset: u16, width: crate::mmio::Width) -> Result<u64> {
        self.config_access(offset, width, None)
    }

    fn write_config_at(&self, offset: u16, width: crate::mmio::Width, value: u64) -> Result<()> {
        self.config_access(offset, width, Some(value)).map(drop)
    }

    fn bars(&self) -> Result<Vec<BarInfo>> {
        if let Some(bars) = self.bars.get() {
            return Ok(bars.clone());
        }
        let bars: Vec<BarInfo> = self
            .dev
            .resource_lines(6)?
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                Some(BarInfo {
                    index: i as u8,
                    kind: r.kind()?,
                    address: r.start,
                    size: r.size(),
                    is_64bit: r.is_64bit(),
                    prefetchable: r.is_prefetchable(),
                })
            })
            .collect();
        Ok(self.bars.get_or_init(|| bars).clone())
    }

    fn open_bar(&self, index: u8, options: BarOptions) -> Result<Box<dyn RegisterIo>> {
        if index > 5 {
            return Err(Error::on(self.dev.address, BackendError::BarNotPresent { bar: index }));
        }
        let bar = self.bar(index)?;
        self.check_may_touch(bar.kind)?;
        let name = if options.write_combining {
            if bar.kind == BarKind::Io || !bar.prefetchable {
                return Err(Error::on(self.dev.address, BackendError::NoWriteCombining { bar: index }));
            }
            format!("resource{index}_wc")
        } else {
            format!("resource{index}")
        };
        let path = self.dev.attr_path(&name);
        if options.write_combining && !path.exists() {
            return Err(Error::on(self.dev.address, BackendError::NoWriteCombining { bar: index }));
        }
        tripwire(&path, "opening a BAR through")?;
        let file = OpenOptions::new()
            .read(true)
            .write(options.writable)
            .open(&path)
            .map_err(|e| Error::io_on(self.dev.address, "cannot open", &path, e))?;
        log::debug!("{}: opened {} ({} bytes, {:?})", self.dev.name(), path.display(), bar.size, bar.kind);
        match bar.kind {
            BarKind::Io => {
                Ok(Box::new(FileRegion::new(file, path, self.device(), 0, bar.size, IO_PORT_WIDTHS, options.writable)))
            }
            BarKind::Memory => {
                let len = usize::try_from(bar.size).map_err(|_| {
                    Error::on(self.dev.address, BackendError::BarTooLarge { bar: index, size: bar.size })
                })?;
                let mapping = Mapping::map_file(&file, len, 0, options.writable)
                    .map_err(|e| Error::io_on(self.dev.address, "cannot map", &path, e.into()))?;
                Ok(Box::new(MmioRegion::new(mapping)))
            }
        }
    }
}
