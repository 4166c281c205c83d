//! QEMU's `edu` device (docs/specs/edu.rst, hw/misc/edu.c): register map and a
//! typed driver for identification, liveness, factorial, interrupts and DMA.
//!
//! Works on every backend that maps BAR0 (sysfs, UIO, VFIO); interrupts need UIO
//! (INTx) or VFIO (INTx/MSI), and DMA needs VFIO.

mod registers;

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::backend::{Backend, BarOptions, DmaBuffer, IrqEvent, IrqKind};
use crate::error::{Error, Result};
use crate::mmio::{barrier, RegisterIo};

use registers::*;
pub use registers::{EduRegisterBlock, EduRegisters};

/// PCI IDs of edu.
pub const VENDOR_ID: u16 = 0x1234;
pub const DEVICE_ID: u16 = 0x11e8;

/// BAR0 register map.
pub const REGMAP_TOML: &str = include_str!("regmap.toml");

/// The device-side DMA buffer: edu.c accepts transfers only inside it.
pub const DMA_BUFFER_ADDR: u64 = 0x40000;
pub const DMA_BUFFER_SIZE: u64 = 0x1000;
/// edu.c's range check is exclusive at the end (`end < 0x41000`) and aborts the
/// whole QEMU process (hw_error) otherwise, so a transfer may not include the
/// buffer's last byte: offset + length is at most this.
pub const DMA_MAX_END: u64 = DMA_BUFFER_SIZE - 1;
/// edu's default DMA mask (edu.c: `dma_mask = (1UL << 28) - 1`).
pub const DMA_MASK_BITS: u32 = 28;
/// Where the driver maps its RAM buffer for the device by default.
pub const DEFAULT_IOVA: u64 = 0x10_0000;

/// Decoded ID register.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct EduId {
    pub raw: u32,
    pub major: u8,
    pub minor: u8,
}

/// How a DMA transfer is run.
#[derive(Clone, Copy, Debug)]
pub struct DmaOptions {
    /// IOVA of the RAM buffer (page-aligned, under the 28-bit mask).
    pub iova: u64,
    /// Wait for edu's completion interrupt (0x100) instead of polling DMA_CMD.
    pub irq: bool,
    pub timeout: Duration,
}

impl Default for DmaOptions {
    fn default() -> Self {
        DmaOptions { iova: DEFAULT_IOVA, irq: false, timeout: Duration::from_secs(5) }
    }
}

/// Which way a DMA goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    ToDevice,
    FromDevice,
}

pub struct Edu<'a> {
    backend: &'a dyn Backend,
    // BAR0, mapped: the register block is borrowed from it on each access.
    bar: Box<dyn RegisterIo>,
    name: String,
}

impl<'a> Edu<'a> {
    /// Open edu through `backend`: check the IDs and map BAR0.
    pub fn open(backend: &'a dyn Backend) -> Result<Self> {
        let name = backend.address().to_string();
        super::expect_device(backend, "edu", VENDOR_ID, DEVICE_ID)?;
        let bar = backend.open_bar(0, BarOptions { writable: true, write_combining: false })?;
        if bar.as_mmio().is_none() {
            return Err(Error::Unsupported { device: name, message: "BAR0 could not be memory-mapped".into() });
        }
        Ok(Edu { backend, bar, name })
    }

    fn regs(&self) -> Result<EduRegisters<'_>> {
        let mmio = self.bar.as_mmio().ok_or_else(|| Error::Unsupported {
            device: self.name.clone(),
            message: "BAR0 is not memory-mapped".into(),
        })?;
        Ok(EduRegisters::new(mmio.register_block::<EduRegisterBlock>(0)?))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn id(&self) -> Result<EduId> {
        let raw = self.regs()?.id();
        if raw & 0xff != 0xed {
            return Err(Error::Unsupported {
                device: self.name.clone(),
                message: format!("ID register reads {raw:#010x}: the low byte is not edu's magic 0xed"),
            });
        }
        Ok(EduId { raw, major: (raw >> 24) as u8, minor: (raw >> 16) as u8 })
    }

    /// Write `value` to the liveness register and return what the device reads back
    /// (its bitwise inverse on a live edu).
    pub fn liveness(&self, value: u32) -> Result<u32> {
        let regs = self.regs()?;
        regs.set_liveness(value);
        Ok(regs.liveness())
    }

    pub fn status(&self) -> Result<u32> {
        Ok(self.regs()?.status())
    }

    pub fn irq_status(&self) -> Result<u32> {
        Ok(self.regs()?.irq_status())
    }

    fn ensure_idle(&self) -> Result<()> {
        if self.regs()?.status() & STATUS_COMPUTING != 0 {
            return Err(Error::Busy {
                device: self.name.clone(),
                message: "a factorial is already being computed (STATUS.COMPUTING is set); edu ignores a new one"
                    .into(),
                hint: "wait for it to finish and retry".into(),
            });
        }
        Ok(())
    }

    /// N! as edu computes it (32-bit, wrapping), by polling STATUS.
    pub fn factorial(&self, n: u32, timeout: Duration) -> Result<u32> {
        self.ensure_idle()?;
        let regs = self.regs()?;
        regs.start_factorial(n);
        let deadline = Instant::now() + timeout;
        while regs.status() & STATUS_COMPUTING != 0 {
            if Instant::now() >= deadline {
                return Err(Error::Timeout {
                    device: self.name.clone(),
                    what: format!("{n}! (STATUS.COMPUTING still set)"),
                    ms: timeout.as_millis() as u64,
                });
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        Ok(regs.factorial())
    }

    /// N! with STATUS.IRQ_FACT set: edu raises interrupt value 0x1 when done.
    /// The interrupt is armed before the computation starts, acknowledged after.
    pub fn factorial_irq(&self, n: u32, timeout: Duration) -> Result<(u32, IrqEvent)> {
        self.ensure_idle()?;
        let regs = self.regs()?;
        let mut irqs = self.backend.interrupts(None)?;
        regs.set_status(STATUS_IRQ_FACT);
        regs.start_factorial(n);
        let event = irqs.wait(timeout);
        let pending = regs.irq_status();
        regs.ack(pending & IRQ_FACTORIAL);
        regs.set_status(0);
        let event = event?;
        if pending & IRQ_FACTORIAL == 0 {
            return Err(Error::Unsupported {
                device: self.name.clone(),
                message: format!("an interrupt arrived but IRQ_STATUS is {pending:#x}, without the factorial bit 0x1"),
            });
        }
        Ok((regs.factorial(), event))
    }

    pub fn raise(&self, value: u32) -> Result<()> {
        self.regs()?.raise(value);
        Ok(())
    }

    pub fn ack(&self, value: u32) -> Result<()> {
        self.regs()?.ack(value);
        Ok(())
    }

    /// Raise `value` and wait for the interrupt in the same process (a VFIO group
    /// is open in only one process), then acknowledge it. Returns the event and
    /// the IRQ_STATUS seen before the acknowledge.
    pub fn raise_and_wait(&self, value: u32, kind: Option<IrqKind>, timeout: Duration) -> Result<(IrqEvent, u32)> {
        let regs = self.regs()?;
        let mut irqs = self.backend.interrupts(kind)?;
        regs.raise(value);
        let event = irqs.wait(timeout);
        let pending = regs.irq_status();
        regs.ack(value);
        Ok((event?, pending))
    }

    /// Check a transfer against the device buffer before anything is mapped or sent.
    fn check_dma(&self, offset: u64, len: u64) -> Result<()> {
        if len == 0 {
            return Err(Error::InvalidValue {
                input: "0".into(),
                reason: "a DMA transfer needs at least one byte".into(),
            });
        }
        if offset.checked_add(len).is_none_or(|end| end > DMA_MAX_END) {
            return Err(Error::InvalidValue {
                input: format!("offset {offset:#x} length {len:#x}"),
                reason: format!(
                    "the transfer must lie inside edu's buffer at {DMA_BUFFER_ADDR:#x}: offset + length <= {DMA_MAX_END:#x} (edu.c rejects a transfer that reaches {:#x}, by aborting QEMU)",
                    DMA_BUFFER_ADDR + DMA_BUFFER_SIZE
                ),
            });
        }
        Ok(())
    }

    /// Copy `data` from RAM into the device buffer at `offset`.
    pub fn dma_to_device(&self, data: &[u8], offset: u64, opts: DmaOptions) -> Result<()> {
        self.check_dma(offset, data.len() as u64)?;
        let buf = self.backend.dma_buffer(data.len(), opts.iova, DMA_MASK_BITS)?;
        buf.memory().copy_from_slice(0, data)?;
        self.run_dma(&buf, Direction::ToDevice, offset, data.len() as u64, opts)
    }

    /// Copy `len` bytes from the device buffer at `offset` into RAM.
    pub fn dma_from_device(&self, len: usize, offset: u64, opts: DmaOptions) -> Result<Vec<u8>> {
        self.check_dma(offset, len as u64)?;
        let buf = self.backend.dma_buffer(len, opts.iova, DMA_MASK_BITS)?;
        self.run_dma(&buf, Direction::FromDevice, offset, len as u64, opts)?;
        barrier::after_completion();
        let mut out = vec![0u8; len];
        buf.memory().copy_to_slice(0, &mut out)?;
        Ok(out)
    }

    fn run_dma(&self, buf: &DmaBuffer, dir: Direction, offset: u64, len: u64, opts: DmaOptions) -> Result<()> {
        let regs = self.regs()?;
        if regs.dma_cmd() & DMA_START != 0 {
            return Err(Error::Busy {
                device: self.name.clone(),
                message: "a DMA transfer is already running; edu ignores DMA registers until it ends".into(),
                hint: "wait for DMA_CMD.START to clear and retry".into(),
            });
        }
        let device_addr = DMA_BUFFER_ADDR + offset;
        let (src, dst, mut cmd) = match dir {
            Direction::ToDevice => (buf.iova(), device_addr, DMA_START),
            Direction::FromDevice => (device_addr, buf.iova(), DMA_START | DMA_TO_RAM),
        };
        // Armed before the start so the completion interrupt cannot be missed.
        let mut irqs = if opts.irq {
            cmd |= DMA_IRQ;
            Some(self.backend.interrupts(None)?)
        } else {
            None
        };
        // The buffer contents must be visible before the device is told to read them.
        barrier::before_doorbell();
        // SAFETY: the RAM side is `buf`, IOMMU-mapped for this device within the 28-bit mask (dma_buffer());
        // the device side was checked against edu's 4 KiB buffer by check_dma().
        unsafe { regs.start_dma(src, dst, len, cmd) };
        let timeout = opts.timeout;
        if let Some(irqs) = irqs.as_mut() {
            let event = irqs.wait(timeout);
            let pending = regs.irq_status();
            regs.ack(pending & IRQ_DMA);
            event?;
            if pending & IRQ_DMA == 0 {
                return Err(Error::Unsupported {
                    device: self.name.clone(),
                    message: format!("an interrupt arrived but IRQ_STATUS is {pending:#x}, without the DMA bit 0x100"),
                });
            }
        }
        let deadline = Instant::now() + timeout;
        while regs.dma_cmd() & DMA_START != 0 {
            if Instant::now() >= deadline {
                return Err(Error::Timeout {
                    device: self.name.clone(),
                    what: "the DMA transfer (DMA_CMD.START still set)".into(),
                    ms: timeout.as_millis() as u64,
                });
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(())
    }
}
