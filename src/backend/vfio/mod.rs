//! The VFIO backend (vfio-ioctls, legacy container/group API): config space
//! through the config region, BARs mapped where VFIO allows it (sparse areas
//! included) and pread/pwrite elsewhere, INTx/MSI/MSI-X on eventfds, and DMA
//! buffers mapped through the IOMMU.
//!
//! vfio-ioctls' `region_read`/`region_write` only log failures, so every region
//! access here goes through our own pread/pwrite or mapping, and errors reach
//! the user.

#[cfg(feature = "vfio")]
use crate::error::{BackendError, PciError};
pub mod dma;
#[cfg(feature = "vfio")]
mod errors;
#[cfg(feature = "vfio")]
pub mod irq;
#[cfg(feature = "vfio")]
mod region;
#[cfg(feature = "vfio")]
mod request;
#[cfg(feature = "vfio")]
mod sys;

#[cfg(feature = "vfio")]
use std::fs::File;
#[cfg(feature = "vfio")]
use std::os::fd::{AsRawFd, FromRawFd};
#[cfg(feature = "vfio")]
use std::os::unix::fs::FileExt;
#[cfg(feature = "vfio")]
use std::path::Path;
#[cfg(feature = "vfio")]
use std::sync::Arc;

#[cfg(feature = "vfio")]
use vfio_bindings::bindings::vfio::VFIO_PCI_CONFIG_REGION_INDEX;
#[cfg(feature = "vfio")]
use vfio_ioctls::{VfioContainer, VfioDevice};

#[cfg(feature = "vfio")]
use crate::backend::{Backend, BackendKind, BarInfo, BarOptions, DmaBuffer, Interrupts, IrqKind};
#[cfg(feature = "vfio")]
use crate::error::{DeviceRef, Error, Remedy, Result};
#[cfg(feature = "vfio")]
use crate::mmio::RegisterIo;
#[cfg(feature = "vfio")]
use crate::pci::config::{command, off};
#[cfg(feature = "vfio")]
use crate::pci::sysfs::tripwire;
#[cfg(feature = "vfio")]
use crate::pci::{binding, ConfigSpace, SysfsDevice};

#[cfg(feature = "vfio")]
pub use errors::vfio_error;

#[cfg(feature = "vfio")]
/// A device bound to vfio-pci, opened through its IOMMU group.
pub struct VfioBackend {
    dev: SysfsDevice,
    /// A dup of the VFIO device fd, for pread/pwrite and mmap of its regions.
    /// Declared before `device` so it is closed first (see region.rs).
    file: File,
    /// Always Some until dropped (see the Drop impl).
    device: Option<Arc<VfioDevice>>,
    /// Always Some until dropped (see the Drop impl).
    container: Option<Arc<VfioContainer>>,
    /// Watches the kernel's request for the device back.
    watch: Option<request::ReleaseWatch>,
    /// The process that opened it (see the Drop impl about fork(2)).
    pid: u32,
}

#[cfg(feature = "vfio")]
impl VfioBackend {
    /// Open a device bound to vfio-pci.
    pub fn open(dev: SysfsDevice) -> Result<Self> {
        let name = dev.name();
        let address = dev.address;
        let group = dev.iommu_group().ok_or_else(|| Error::on(address, PciError::NoIommuGroup))?;
        if Path::new(&format!("/dev/vfio/noiommu-{group}")).exists() {
            return Err(Error::on(address, BackendError::NoIommuMode { group }));
        }
        check_group_viable(&dev, group)?;
        tripwire(Path::new("/dev/vfio"), "opening a VFIO group through")?;
        let container = Arc::new(VfioContainer::new(None).map_err(|e| vfio_error(address, group, e))?);
        let device = VfioDevice::new(&dev.path, container.clone(), false).map_err(|e| vfio_error(address, group, e))?;
        // Close-on-exec, as the kernel made the fd it duplicates: a program a
        // script runs must not inherit the device.
        let raw = nix::fcntl::fcntl(device.as_raw_fd(), nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(0))
            .map_err(|e| Error::io_on(address, "cannot duplicate the VFIO device fd of", &dev.path, e.into()))?;
        // SAFETY: `raw` is a fresh descriptor from fcntl(F_DUPFD_CLOEXEC) that
        // nothing else owns; the File takes sole ownership and closes it once.
        let file = unsafe { File::from_raw_fd(raw) };
        log::info!("{name}: VFIO group {group} open");
        let device = Arc::new(device);
        let watch = request::ReleaseWatch::start(device.clone(), DeviceRef::Pci(address));
        Ok(VfioBackend { dev, file, device: Some(device), container: Some(container), watch, pid: std::process::id() })
    }

    fn vfio(&self) -> &Arc<VfioDevice> {
        // Some from open() until drop().
        self.device.as_ref().unwrap_or_else(|| unreachable!("VFIO device used after drop"))
    }

    fn container(&self) -> Arc<VfioContainer> {
        // Some from open() until drop().
        self.container.clone().unwrap_or_else(|| unreachable!("VFIO container used after drop"))
    }

    fn region_len(&self, index: u32) -> u64 {
        self.vfio().get_region_size(index)
    }

    /// One access of `width` bytes to the config region (VFIO passes it to
    /// the device, or to its virtualized copy for the bits it emulates).
    fn config_access(&self, offset: u16, width: crate::mmio::Width, write: Option<u64>) -> Result<u64> {
        let at = self.vfio().get_region_offset(VFIO_PCI_CONFIG_REGION_INDEX) + u64::from(offset);
        let n = width.bytes() as usize;
        let err = |e| Error::io_on(self.dev.address, "cannot access config space through VFIO for", &self.dev.path, e);
        match write {
            None => {
                let mut b = [0u8; 4];
                self.file.read_exact_at(&mut b[..n], at).map_err(err)?;
                Ok(u64::from(u32::from_le_bytes(b)))
            }
            Some(value) => {
                self.file.write_all_at(&(value as u32).to_le_bytes()[..n], at).map_err(err)?;
                Ok(value)
            }
        }
    }

    /// Set Bus Master Enable in COMMAND through the config region: without it
    /// the device can neither DMA nor send MSI/MSI-X (both are memory writes).
    fn enable_bus_master(&self) -> Result<()> {
        let at = self.vfio().get_region_offset(VFIO_PCI_CONFIG_REGION_INDEX) + off::COMMAND as u64;
        let err = |e| Error::io_on(self.dev.address, "cannot update COMMAND through VFIO for", &self.dev.path, e);
        let mut b = [0u8; 2];
        self.file.read_exact_at(&mut b, at).map_err(err)?;
        let value = u16::from_le_bytes(b);
        if value & command::BUS_MASTER == 0 {
            self.file.write_all_at(&(value | command::BUS_MASTER).to_le_bytes(), at).map_err(err)?;
            log::debug!("{}: bus mastering enabled", self.dev.name());
        }
        Ok(())
    }
}

#[cfg(feature = "vfio")]
/// A group is viable when every member is bound to vfio-pci (or a driver VFIO
/// tolerates) or to nothing. Name the members that are not.
fn check_group_viable(dev: &SysfsDevice, group: u32) -> Result<()> {
    let members = binding::group_blockers(dev);
    if members.is_empty() {
        return Ok(());
    }
    Err(Error::on(dev.address, BackendError::GroupNotViable { group, members }))
}

#[cfg(feature = "vfio")]
impl Drop for VfioBackend {
    /// vfio-ioctls' Drop of the device closes its fd, then looks the IOMMU
    /// group up again through the device's sysfs entry and panics when that
    /// is gone, which it is as soon as a removal the kernel was waiting on
    /// completes. So after a release request, or with the device gone from
    /// sysfs, the device fd is closed here (what lets the removal proceed) and
    /// the rest is left to the process's exit (the group and container stay
    /// open until then).
    ///
    /// In a child made by fork(2) (a Python script's), the group, container
    /// and device fds are the parent's too: vfio-ioctls' drops would take the
    /// group out of the container and the watcher's stop would stop the
    /// parent's watcher. The child lets them all be (its copies of the fds
    /// close when it exits), so the parent keeps its device.
    fn drop(&mut self) {
        if std::process::id() != self.pid {
            std::mem::forget(self.watch.take());
            std::mem::forget(self.device.take());
            std::mem::forget(self.container.take());
            return;
        }
        let asked = self.watch.take().is_some_and(request::ReleaseWatch::stop);
        let gone = !self.dev.path.join("iommu_group").exists();
        let Some(device) = self.device.take() else { return };
        if !(asked || gone) {
            // The usual drop, after the fields: `file` (our dup of the
            // device fd) closes before the device, or VFIO refuses to let go
            // of the group while the device is still open.
            self.device = Some(device);
            return;
        }
        log::info!("{}: letting go of the device ({})", self.dev.name(), if gone { "gone" } else { "asked for" });
        match Arc::try_unwrap(device) {
            Ok(device) => {
                // The fd is VfioDevice's, which is forgotten below and never
                // touches it again, so it is closed exactly once.
                if let Err(e) = nix::unistd::close(device.as_raw_fd()) {
                    log::warn!("{}: closing the VFIO device: {e}", self.dev.name());
                }
                std::mem::forget(device);
            }
            // Something still holds it (and may still use its fd): leave it
            // open until the process exits.
            Err(shared) => std::mem::forget(shared),
        }
    }
}

#[cfg(feature = "vfio")]
impl Backend for VfioBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Vfio
    }

    fn device(&self) -> DeviceRef {
        DeviceRef::Pci(self.dev.address)
    }

    fn read_config(&self) -> Result<ConfigSpace> {
        let index = VFIO_PCI_CONFIG_REGION_INDEX;
        let len = self.region_len(index).min(4096) as usize;
        let mut buf = vec![0u8; len];
        self.file.read_exact_at(&mut buf, self.vfio().get_region_offset(index)).map_err(|e| {
            Error::io_on(self.dev.address, "cannot read config space through VFIO from", &self.dev.path, e)
        })?;
        Ok(ConfigSpace::new(buf))
    }

    fn read_config_at(&self, offset: u16, width: crate::mmio::Width) -> Result<u64> {
        self.config_access(offset, width, None)
    }

    fn write_config_at(&self, offset: u16, width: crate::mmio::Width, value: u64) -> Result<()> {
        self.config_access(offset, width, Some(value)).map(drop)
    }

    fn bars(&self) -> Result<Vec<BarInfo>> {
        let config = self.read_config()?;
        Ok(config
            .bars()
            .into_iter()
            .filter_map(|b| {
                let size = self.region_len(u32::from(b.index));
                (size > 0).then_some(BarInfo {
                    index: b.index,
                    kind: b.kind,
                    address: b.address,
                    size,
                    is_64bit: b.is_64bit,
                    prefetchable: b.prefetchable,
                })
            })
            .collect())
    }

    fn open_bar(&self, bar: u8, options: BarOptions) -> Result<Box<dyn RegisterIo>> {
        let index = u32::from(bar);
        let len = if bar <= 5 { self.region_len(index) } else { 0 };
        if len == 0 {
            return Err(Error::on(self.dev.address, BackendError::BarNotPresent { bar }));
        }
        if options.write_combining {
            let what = "write-combining mapping (vfio-pci maps BARs uncached)";
            let remedy = Remedy::Text("unbind the device: a prefetchable BAR has resourceN_wc in sysfs".into());
            return Err(Error::on(
                self.dev.address,
                BackendError::BackendCannot { backend: BackendKind::Vfio, what, remedy },
            ));
        }
        let region =
            region::VfioRegionIo::open_device(self.vfio().clone(), &self.file, self.device(), index, options.writable)?;
        Ok(Box::new(region))
    }

    fn interrupts(&self, kind: Option<IrqKind>) -> Result<Box<dyn Interrupts + '_>> {
        let config = self.read_config()?;
        let irqs = irq::VfioInterrupts::arm(self.vfio().clone(), self.dev.address, &config, kind)?;
        if irqs.kind() != IrqKind::Intx {
            self.enable_bus_master()?;
        }
        Ok(Box::new(irqs))
    }

    fn dma_buffer(&self, len: usize, iova: u64, mask_bits: u32) -> Result<DmaBuffer> {
        let buffer = DmaBuffer::map(self.container(), self.device(), len, iova, mask_bits)?;
        self.enable_bus_master()?;
        Ok(buffer)
    }
}
