//! The UIO backend (uio_pci_generic): BARs and config through sysfs, INTx through
//! `/dev/uioN`. Several processes may open a UIO device at once, so one can wait
//! for an interrupt while another pokes registers.
//!
//! uio_pci_generic masks INTx (sets DisINTx in COMMAND) when the interrupt
//! fires and has no irqcontrol, so userspace unmasks by clearing that bit in
//! config space; a 4-byte read of /dev/uioN returns the total event count
//! (kernel UIO howto, "Generic PCI UIO driver").

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::fd::AsFd;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::backend::irq::wait_readable;
use crate::backend::sysfs::SysfsBackend;
use crate::backend::{Backend, BackendKind, BarInfo, BarOptions, DmaBuffer, Interrupts, IrqEvent, IrqKind};
use crate::error::{Error, Result};
use crate::mmio::RegisterIo;
use crate::pci::{ConfigSpace, PciAddress, SysfsDevice};

pub struct UioBackend {
    dev: SysfsDevice,
    sysfs: SysfsBackend,
    node: PathBuf,
}

impl UioBackend {
    pub fn open(dev: SysfsDevice) -> Result<Self> {
        let node = uio_node(&dev)?;
        log::info!("{}: UIO node {}", dev.name(), node.display());
        Ok(UioBackend { sysfs: SysfsBackend::new(dev.clone(), false), dev, node })
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
        .ok_or_else(|| Error::Setup {
            device: dev.name(),
            message: "no UIO device node: the device is not bound to uio_pci_generic".into(),
            hint: format!("mmiodrv --device {} bind uio_pci_generic", dev.address),
        })?;
    Ok(PathBuf::from("/dev").join(name))
}

impl Backend for UioBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Uio
    }

    fn address(&self) -> PciAddress {
        self.dev.address
    }

    fn read_config(&self) -> Result<ConfigSpace> {
        self.sysfs.read_config()
    }

    fn bars(&self) -> Result<Vec<BarInfo>> {
        self.sysfs.bars()
    }

    fn open_bar(&self, bar: u8, options: BarOptions) -> Result<Box<dyn RegisterIo>> {
        self.sysfs.open_bar(bar, options)
    }

    fn interrupts(&self, kind: Option<IrqKind>) -> Result<Box<dyn Interrupts + '_>> {
        if let Some(k) = kind.filter(|k| *k != IrqKind::Intx) {
            return Err(Error::Unsupported {
                device: self.dev.name(),
                message: format!("UIO delivers only INTx, not {k}; bind to vfio-pci for MSI/MSI-X"),
            });
        }
        if self.read_config()?.interrupt_pin().unwrap_or(0) == 0 {
            return Err(Error::Unsupported { device: self.dev.name(), message: "the device has no INTx pin".into() });
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&self.node)
            .map_err(|e| Error::io(&self.dev.name(), "cannot open", &self.node, e))?;
        let mut irq = UioInterrupts {
            file,
            config: self.dev.attr_path("config"),
            name: self.dev.name(),
            node: self.node.clone(),
            masked: false,
        };
        irq.unmask()?;
        Ok(Box::new(irq))
    }

    fn dma_buffer(&self, _len: usize, _iova: u64, _mask_bits: u32) -> Result<DmaBuffer> {
        Err(Error::Setup {
            device: self.dev.name(),
            message: "no DMA under UIO: without an IOMMU mapping the device could read or write any of RAM".into(),
            hint: format!("bind the device to vfio-pci for DMA (mmiodrv --device {} bind vfio-pci)", self.dev.address),
        })
    }
}

struct UioInterrupts {
    file: File,
    /// sysfs config file: uio_pci_generic has no irqcontrol, INTx is re-enabled
    /// by clearing DisINTx in COMMAND.
    config: PathBuf,
    name: String,
    node: PathBuf,
    /// INTx fired and uio_pci_generic masked it: re-enable at the next wait,
    /// after the caller acknowledged the device.
    masked: bool,
}

impl UioInterrupts {
    /// Clear COMMAND.DisINTx (bit 10: bit 2 of the byte at 0x05), as the kernel's
    /// UIO howto does for uio_pci_generic, which masks the line on each interrupt.
    fn unmask(&mut self) -> Result<()> {
        const COMMAND_HIGH_BYTE: u64 = 0x05;
        const DISABLE_INTX: u8 = 1 << 2;
        let err = |e| Error::io(&self.name, "cannot re-enable INTx in", &self.config, e);
        let f = OpenOptions::new().read(true).write(true).open(&self.config).map_err(err)?;
        let mut b = [0u8; 1];
        f.read_exact_at(&mut b, COMMAND_HIGH_BYTE).map_err(err)?;
        if b[0] & DISABLE_INTX != 0 {
            f.write_all_at(&[b[0] & !DISABLE_INTX], COMMAND_HIGH_BYTE).map_err(err)?;
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
            .map_err(|e| Error::io(&self.name, "cannot poll", &self.node, e.into()))?;
        if ready.is_none() {
            return Err(Error::Timeout {
                device: self.name.clone(),
                what: "INTx".into(),
                ms: timeout.as_millis() as u64,
            });
        }
        let mut buf = [0u8; 4];
        self.file.read_exact(&mut buf).map_err(|e| Error::io(&self.name, "cannot read", &self.node, e))?;
        self.masked = true;
        Ok(IrqEvent { kind: IrqKind::Intx, vector: 0, count: u64::from(u32::from_ne_bytes(buf)) })
    }
}
