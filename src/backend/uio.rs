//! The UIO backend (uio_pci_generic): BARs and config through sysfs, INTx through
//! `/dev/uioN`. Several processes may open a UIO device at once, so one can wait
//! for an interrupt while another pokes registers.
//!
//! uio_pci_generic masks INTx (sets DisINTx in COMMAND) when the interrupt
//! fires and has no irqcontrol, so userspace unmasks by clearing that bit in
//! config space; a 4-byte read of /dev/uioN returns the total event count
//! (kernel UIO howto, "Generic PCI UIO driver").

use crate::error::BackendError;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::fd::AsFd;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::backend::sysfs::SysfsBackend;
use crate::backend::{Backend, BackendKind, BarInfo, BarOptions, DmaBuffer, Interrupts, IrqEvent, IrqKind};
use crate::error::{DeviceRef, Error, ErrorKind, Result};
use crate::mmio::RegisterIo;
use crate::pci::config::{command, off};
use crate::pci::sysfs::tripwire;
use crate::pci::{ConfigSpace, SysfsDevice};
use crate::stop::wait_readable;

/// A device bound to uio_pci_generic.
pub struct UioBackend {
    dev: SysfsDevice,
    sysfs: SysfsBackend,
    node: PathBuf,
}

impl UioBackend {
    /// Open a device bound to uio_pci_generic (finds its `/dev/uioN`).
    pub fn open(dev: SysfsDevice) -> Result<Self> {
        let node = uio_node(&dev)?;
        log::info!("{}: UIO node {}", dev.name(), node.display());
        Ok(UioBackend { sysfs: SysfsBackend::new(dev.clone(), false), dev, node })
    }
}

impl UioBackend {
    /// The kernel's running count of this device's interrupts
    /// (`uio/uioN/event` in sysfs), read without waiting.
    fn event_count(&self) -> Option<u32> {
        let name = self.node.file_name()?.to_str()?;
        let text = std::fs::read_to_string(self.dev.attr_path(&format!("uio/{name}/event"))).ok()?;
        text.trim().parse().ok()
    }
}

/// `/dev/uioN` for a device bound to uio_pci_generic (its sysfs `uio/uioN`).
fn uio_node(dev: &SysfsDevice) -> Result<PathBuf> {
    let dir = dev.attr_path("uio");
    let name = std::fs::read_dir(&dir)
        .ok()
        .and_then(|mut it| {
            it.find_map(|e| e.ok()?.file_name().to_str().filter(|n| n.starts_with("uio")).map(str::to_string))
        })
        .ok_or_else(|| Error::on(dev.address, BackendError::NoUioNode))?;
    Ok(PathBuf::from("/dev").join(name))
}

impl Backend for UioBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Uio
    }

    fn device(&self) -> DeviceRef {
        DeviceRef::Pci(self.dev.address)
    }

    fn read_config(&self) -> Result<ConfigSpace> {
        self.sysfs.read_config()
    }

    fn read_config_at(&self, offset: u16, width: crate::mmio::Width) -> Result<u64> {
        self.sysfs.config_access(offset, width, None)
    }

    fn write_config_at(&self, offset: u16, width: crate::mmio::Width, value: u64) -> Result<()> {
        self.sysfs.config_access(offset, width, Some(value)).map(drop)
    }

    fn bars(&self) -> Result<Vec<BarInfo>> {
        self.sysfs.bars()
    }

    fn open_bar(&self, bar: u8, options: BarOptions) -> Result<Box<dyn RegisterIo>> {
        self.sysfs.open_bar(bar, options)
    }

    fn interrupts(&self, kind: Option<IrqKind>) -> Result<Box<dyn Interrupts + '_>> {
        if let Some(k) = kind.filter(|k| *k != IrqKind::Intx) {
            return Err(self.cannot(match k {
                IrqKind::Msi => "MSI (UIO delivers only INTx)",
                _ => "MSI-X (UIO delivers only INTx)",
            }));
        }
        if self.read_config()?.interrupt_pin().unwrap_or(0) == 0 {
            return Err(Error::on(
                self.dev.address,
                BackendError::NoInterrupt { kind: Some(IrqKind::Intx), available: vec![] },
            ));
        }
        tripwire(&self.node, "opening")?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&self.node)
            .map_err(|e| Error::io_on(self.dev.address, "cannot open", &self.node, e))?;
        let mut irq = UioInterrupts {
            file,
            config: self.dev.attr_path("config"),
            device: self.dev.address.into(),
            node: self.node.clone(),
            masked: false,
            last_total: self.event_count(),
        };
        irq.unmask()?;
        Ok(Box::new(irq))
    }

    fn dma_buffer(&self, _len: usize, _iova: u64, _mask_bits: u32) -> Result<DmaBuffer> {
        Err(self.cannot("DMA (without an IOMMU mapping the device could read or write any of RAM)"))
    }
}

struct UioInterrupts {
    file: File,
    /// sysfs config file: uio_pci_generic has no irqcontrol, INTx is re-enabled
    /// by clearing DisINTx in COMMAND.
    config: PathBuf,
    device: DeviceRef,
    node: PathBuf,
    /// INTx fired and uio_pci_generic masked it: re-enable at the next wait,
    /// after the caller acknowledged the device.
    masked: bool,
    /// The kernel's running event count at the last wait (a read of /dev/uioN
    /// returns the total since the device was bound, not since the last read).
    last_total: Option<u32>,
}

impl UioInterrupts {
    /// Clear COMMAND.DisINTx (bit 10), which uio_pci_generic sets on each
    /// interrupt. One 16-bit read-modify-write of COMMAND, as the kernel's own
    /// `pci_check_and_unmask_intx` does, not the one-byte write at 0x05 of the
    /// kernel's UIO howto: QEMU re-evaluates the INTx level only on a write
    /// covering COMMAND's first byte, so after a one-byte write an interrupt
    /// raised while masked was never delivered (a second INTx in one process
    /// timed out).
    fn unmask(&mut self) -> Result<()> {
        const COMMAND: u64 = off::COMMAND as u64;
        tripwire(&self.config, "writing")?;
        let err = |e| Error::io_on(self.device.clone(), "cannot re-enable INTx in", &self.config, e);
        let f = OpenOptions::new().read(true).write(true).open(&self.config).map_err(err)?;
        let mut b = [0u8; 2];
        f.read_exact_at(&mut b, COMMAND).map_err(err)?;
        let value = u16::from_le_bytes(b);
        if value & command::INTX_DISABLE != 0 {
            f.write_all_at(&(value & !command::INTX_DISABLE).to_le_bytes(), COMMAND).map_err(err)?;
        }
        Ok(())
    }
}

impl Interrupts for UioInterrupts {
    fn kind(&self) -> IrqKind {
        IrqKind::Intx
    }

    fn vectors(&self) -> u32 {
        1
    }

    fn wait(&mut self, timeout: Duration) -> Result<IrqEvent> {
        if self.masked {
            self.unmask()?;
            self.masked = false;
        }
        let ready = wait_readable(&[self.file.as_fd()], Instant::now() + timeout)
            .map_err(|e| Error::io_on(self.device.clone(), "cannot poll", &self.node, e.into()))?;
        crate::stop::check()?;
        if ready.is_none() {
            let ms = timeout.as_millis() as u64;
            return Err(Error::on(self.device.clone(), ErrorKind::Timeout { what: "INTx".into(), ms }));
        }
        let mut buf = [0u8; 4];
        self.file.read_exact(&mut buf).map_err(|e| Error::io_on(self.device.clone(), "cannot read", &self.node, e))?;
        self.masked = true;
        let total = u32::from_ne_bytes(buf);
        // Without a starting count (no sysfs event file), the first wait says one.
        let count = match self.last_total.replace(total) {
            Some(last) => u64::from(total.wrapping_sub(last)).max(1),
            None => 1,
        };
        Ok(IrqEvent { kind: IrqKind::Intx, vector: 0, count })
    }
}
