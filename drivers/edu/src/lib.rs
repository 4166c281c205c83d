//! QEMU's `edu` device (docs/specs/edu.rst, hw/misc/edu.c): its registers,
//! declared once, and a typed driver for identification, liveness, factorial,
//! interrupts and DMA.
//!
//! Works on every backend that opens BAR0 (sysfs, UIO, VFIO); interrupts need
//! UIO (INTx) or VFIO (INTx/MSI), and DMA needs VFIO.
#![deny(unsafe_code)]

mod commands;

use std::time::{Duration, Instant};

use serde::Serialize;

use mmiodrv::backend::{Backend, BarOptions, DmaBuffer, IrqEvent, IrqKind};
use mmiodrv::drivers::DriverInfo;
use mmiodrv::error::{DeviceRef, Error, ErrorKind, Remedy, Result};
use mmiodrv::mmio::{barrier, RegisterIo};

use self::regs::*;

/// PCI vendor ID of edu.
pub const VENDOR_ID: u16 = 0x1234;
/// PCI device ID of edu.
pub const DEVICE_ID: u16 = 0x11e8;

// edu's BAR0, generated from its map (drivers/edu/regmap.toml, the one
// source): `pub mod regs` with `MAP` and the typed registers. A test fails
// when src/regs.rs is not what the map generates.
include!("regs.rs");

/// The device-side DMA buffer: edu.c accepts transfers only inside it.
pub const DMA_BUFFER_ADDR: u64 = 0x40000;
/// Its size.
pub const DMA_BUFFER_SIZE: u64 = 0x1000;
/// edu.c's range check is exclusive at the end (`end < 0x41000`) and aborts the
/// whole QEMU process (hw_error) otherwise, so a transfer may not include the
/// buffer's last byte: offset + length is at most this.
pub const DMA_MAX_END: u64 = DMA_BUFFER_SIZE - 1;
/// edu's default DMA mask (edu.c: `dma_mask = (1UL << 28) - 1`).
pub const DMA_MASK_BITS: u32 = 28;
/// Where the driver maps its RAM buffer for the device by default.
pub const DEFAULT_IOVA: u64 = 0x10_0000;
/// The interrupt value edu raises when a factorial completes (with STATUS.IRQ_FACT).
pub const IRQ_FACTORIAL: u32 = 0x001;
/// The interrupt value edu raises when a DMA completes (with DMA_CMD.IRQ).
pub const IRQ_DMA: u32 = 0x100;

/// The driver's description, commands and map, for the driver list.
pub static DRIVER: DriverInfo = DriverInfo::new("edu", "QEMU's edu device: id, liveness, factorial, interrupts, DMA")
    .ids(&[(VENDOR_ID, DEVICE_ID)])
    .maps(&[&regs::MAP])
    .subcommands(commands::COMMANDS)
    .class(0x00ff00)
    .results(commands::results);

/// Decoded ID register.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct EduId {
    /// The raw register.
    pub raw: u32,
    /// Major version.
    pub major: u8,
    /// Minor version.
    pub minor: u8,
}

/// What a liveness check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Liveness {
    /// The value written.
    pub wrote: u32,
    /// What the device read back.
    pub read: u32,
    /// Whether it read back the inverse (a live edu does).
    pub inverted: bool,
}

/// STATUS decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Status {
    /// The raw register.
    pub status: u32,
    /// A factorial is being computed.
    pub computing: bool,
    /// Interrupt 0x1 is raised when a factorial completes.
    pub irq_on_factorial: bool,
    /// IRQ_STATUS.
    pub irq_status: u32,
}

/// How a DMA transfer is run.
#[derive(Clone, Copy, Debug)]
pub struct DmaOptions {
    /// IOVA of the RAM buffer (page-aligned, under the 28-bit mask).
    pub iova: u64,
    /// Wait for edu's completion interrupt (0x100) instead of polling DMA_CMD.
    pub irq: bool,
    /// Give up waiting after this long.
    pub timeout: Duration,
}

impl Default for DmaOptions {
    fn default() -> Self {
        DmaOptions { iova: DEFAULT_IOVA, irq: false, timeout: Duration::from_secs(5) }
    }
}

/// Which way a DMA goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// RAM to edu's buffer.
    ToDevice,
    /// edu's buffer to RAM.
    FromDevice,
}

/// edu, opened through a backend.
pub struct Edu<'a> {
    backend: &'a dyn Backend,
    bar: Box<dyn RegisterIo>,
    device: DeviceRef,
}

impl<'a> Edu<'a> {
    /// Open edu through `backend`: check the IDs and open BAR0.
    pub fn open(backend: &'a dyn Backend) -> Result<Self> {
        DRIVER.expect(backend)?;
        let bar = backend.open_bar(0, BarOptions::RW)?;
        Ok(Edu { backend, bar, device: backend.device() })
    }

    /// The device.
    pub fn device(&self) -> &DeviceRef {
        &self.device
    }

    /// BAR0, for accesses the typed API does not cover.
    pub fn bar(&self) -> &dyn RegisterIo {
        self.bar.as_ref()
    }

    fn err(&self, kind: ErrorKind) -> Error {
        Error::on(self.device.clone(), kind)
    }

    fn io(&self) -> &dyn RegisterIo {
        self.bar.as_ref()
    }

    /// The ID register, checked for edu's magic.
    pub fn id(&self) -> Result<EduId> {
        let id = ID.read(self.io())?;
        if ID::MAGIC.read_as(id) != Some(ID::MAGIC::Edu) {
            let why = "the low byte is not edu's magic 0xed";
            return Err(self.err(ErrorKind::UnexpectedValue { register: "ID", value: id.bits().into(), why }));
        }
        Ok(EduId { raw: id.bits(), major: id.get(ID::MAJOR) as u8, minor: id.get(ID::MINOR) as u8 })
    }

    /// Write `value` to LIVENESS and read it back: a live edu returns its inverse.
    pub fn liveness(&self, value: u32) -> Result<Liveness> {
        LIVENESS.write(self.io(), value)?;
        let read = LIVENESS.read(self.io())?.bits();
        Ok(Liveness { wrote: value, read, inverted: read == !value })
    }

    /// STATUS and IRQ_STATUS, decoded.
    pub fn status(&self) -> Result<Status> {
        let status = STATUS.read(self.io())?;
        Ok(Status {
            status: status.bits(),
            computing: status.matches(STATUS::COMPUTING::Busy),
            irq_on_factorial: status.is_set(STATUS::IRQ_FACT),
            irq_status: IRQ_STATUS.read(self.io())?.bits(),
        })
    }

    /// IRQ_STATUS.
    pub fn irq_status(&self) -> Result<u32> {
        IRQ_STATUS.read(self.io()).map(u32::from)
    }

    fn ensure_idle(&self) -> Result<()> {
        if STATUS.read(self.io())?.matches(STATUS::COMPUTING::Busy) {
            return Err(self.err(ErrorKind::Busy {
                what: "a factorial is already being computed",
                why: "STATUS.COMPUTING is set; edu ignores a new one".into(),
                remedy: Remedy::RetryWhenIdle,
            }));
        }
        Ok(())
    }

    /// N! as edu computes it (32-bit, wrapping), by polling STATUS.
    pub fn factorial(&self, n: u32, timeout: Duration) -> Result<u32> {
        self.ensure_idle()?;
        FACTORIAL.write(self.io(), n)?;
        let deadline = Instant::now() + timeout;
        while STATUS.read(self.io())?.matches(STATUS::COMPUTING::Busy) {
            if Instant::now() >= deadline {
                let what = format!("{n}! (STATUS.COMPUTING still set)");
                return Err(self.err(ErrorKind::Timeout { what, ms: timeout.as_millis() as u64 }));
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        FACTORIAL.read(self.io()).map(u32::from)
    }

    /// N! with STATUS.IRQ_FACT set: edu raises interrupt value 0x1 when done.
    /// The interrupt is armed before the computation starts, acknowledged after.
    pub fn factorial_irq(&self, n: u32, timeout: Duration) -> Result<(u32, IrqEvent)> {
        self.ensure_idle()?;
        let mut irqs = self.backend.interrupts(None)?;
        STATUS.write(self.io(), STATUS::IRQ_FACT::SET)?;
        FACTORIAL.write(self.io(), n)?;
        let event = irqs.wait(timeout);
        let pending = IRQ_STATUS.read(self.io())?.bits();
        IRQ_ACK.write(self.io(), pending & IRQ_FACTORIAL)?;
        STATUS.write(self.io(), 0u32)?;
        let event = event?;
        self.expect_pending(pending, IRQ_FACTORIAL, "factorial")?;
        Ok((FACTORIAL.read(self.io())?.bits(), event))
    }

    fn expect_pending(&self, pending: u32, bit: u32, what: &'static str) -> Result<()> {
        if pending & bit == 0 {
            let (value, bit) = (pending.into(), bit.into());
            return Err(self.err(ErrorKind::UnexpectedInterrupt { register: "IRQ_STATUS", value, what, bit }));
        }
        Ok(())
    }

    /// Write `value` to IRQ_RAISE.
    pub fn raise(&self, value: u32) -> Result<()> {
        IRQ_RAISE.write(self.io(), value)
    }

    /// Write `value` to IRQ_ACK.
    pub fn ack(&self, value: u32) -> Result<()> {
        IRQ_ACK.write(self.io(), value)
    }

    /// Raise `value` and wait for the interrupt in the same process (a VFIO group
    /// is open in only one process), then acknowledge it. Returns the event and
    /// the IRQ_STATUS seen before the acknowledge.
    pub fn raise_and_wait(&self, value: u32, kind: Option<IrqKind>, timeout: Duration) -> Result<(IrqEvent, u32)> {
        let mut irqs = self.backend.interrupts(kind)?;
        IRQ_RAISE.write(self.io(), value)?;
        let event = irqs.wait(timeout);
        let pending = IRQ_STATUS.read(self.io())?.bits();
        IRQ_ACK.write(self.io(), value)?;
        Ok((event?, pending))
    }

    /// Check a transfer against the device buffer before anything is mapped or sent.
    pub fn check_dma(offset: u64, len: u64) -> Result<()> {
        if len == 0 {
            return Err(Error::invalid("0", "a DMA transfer needs at least one byte"));
        }
        if offset.checked_add(len).is_none_or(|end| end > DMA_MAX_END) {
            return Err(Error::invalid(
                format!("offset {offset:#x} length {len:#x}"),
                format!(
                    "the transfer must lie inside edu's buffer at {DMA_BUFFER_ADDR:#x}: offset + length <= {DMA_MAX_END:#x} \
                     (edu.c rejects a transfer that reaches {:#x}, by aborting QEMU)",
                    DMA_BUFFER_ADDR + DMA_BUFFER_SIZE
                ),
            ));
        }
        Ok(())
    }

    /// Copy `data` from RAM into the device buffer at `offset`.
    pub fn dma_to_device(&self, data: &[u8], offset: u64, opts: DmaOptions) -> Result<()> {
        Self::check_dma(offset, data.len() as u64)?;
        mmiodrv::backend::vfio::dma::check_request(data.len(), opts.iova, DMA_MASK_BITS)?;
        let buf = self.backend.dma_buffer(data.len(), opts.iova, DMA_MASK_BITS)?;
        buf.memory().copy_from_slice(0, data)?;
        self.run_dma(&buf, Direction::ToDevice, offset, data.len() as u64, opts)
    }

    /// Copy `len` bytes from the device buffer at `offset` into RAM.
    pub fn dma_from_device(&self, len: usize, offset: u64, opts: DmaOptions) -> Result<Vec<u8>> {
        Self::check_dma(offset, len as u64)?;
        mmiodrv::backend::vfio::dma::check_request(len, opts.iova, DMA_MASK_BITS)?;
        let buf = self.backend.dma_buffer(len, opts.iova, DMA_MASK_BITS)?;
        self.run_dma(&buf, Direction::FromDevice, offset, len as u64, opts)?;
        barrier::after_completion();
        let mut out = vec![0u8; len];
        buf.memory().copy_to_slice(0, &mut out)?;
        Ok(out)
    }

    /// Program and start a transfer of `len` bytes between `buf` (from its
    /// start) and edu's buffer at `offset`. Safe: the RAM side is a buffer
    /// mapped for this device through the IOMMU, and the device side is
    /// checked against edu's buffer.
    pub fn start_dma(&self, buf: &DmaBuffer, dir: Direction, offset: u64, len: u64, irq: bool) -> Result<()> {
        Self::check_dma(offset, len)?;
        if len > buf.len() as u64 {
            return Err(Error::invalid(format!("{len:#x}"), format!("longer than the {:#x}-byte buffer", buf.len())));
        }
        if DMA_CMD.read(self.io())?.is_set(DMA_CMD::START) {
            return Err(self.err(ErrorKind::Busy {
                what: "a DMA transfer is already running",
                why: "DMA_CMD.START is set; edu ignores DMA registers until it ends".into(),
                remedy: Remedy::RetryWhenIdle,
            }));
        }
        let device_addr = DMA_BUFFER_ADDR + offset;
        let (src, dst, direction) = match dir {
            Direction::ToDevice => (buf.iova(), device_addr, DMA_CMD::DIRECTION::RamToDevice),
            Direction::FromDevice => (device_addr, buf.iova(), DMA_CMD::DIRECTION::DeviceToRam),
        };
        let irq = if irq { DMA_CMD::IRQ::SET } else { DMA_CMD::IRQ::CLEAR };
        let cmd = DMA_CMD::START::SET | direction | irq;
        // The buffer contents must be visible before the device is told to read them.
        barrier::before_doorbell();
        DMA_SRC.write(self.io(), src)?;
        DMA_DST.write(self.io(), dst)?;
        DMA_COUNT.write(self.io(), len)?;
        DMA_CMD.write(self.io(), cmd)
    }

    /// Poll DMA_CMD until START clears.
    pub fn wait_dma(&self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        while DMA_CMD.read(self.io())?.is_set(DMA_CMD::START) {
            if Instant::now() >= deadline {
                let what = "the DMA transfer (DMA_CMD.START still set)".to_string();
                return Err(self.err(ErrorKind::Timeout { what, ms: timeout.as_millis() as u64 }));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(())
    }

    fn run_dma(&self, buf: &DmaBuffer, dir: Direction, offset: u64, len: u64, opts: DmaOptions) -> Result<()> {
        // Armed before the start so the completion interrupt cannot be missed.
        let mut irqs = if opts.irq { Some(self.backend.interrupts(None)?) } else { None };
        self.start_dma(buf, dir, offset, len, opts.irq)?;
        if let Some(irqs) = irqs.as_mut() {
            let event = irqs.wait(opts.timeout);
            if let Err(e) = event {
                // Never leave the buffer while the device may still use it;
                // then take back the interrupt its completion raised. A
                // transfer that never ends is said as such: the buffer is
                // unmapped all the same, and the IOMMU refuses what the
                // device would still write.
                self.wait_dma(opts.timeout)?;
                let _ = IRQ_STATUS.read(self.io()).and_then(|p| IRQ_ACK.write(self.io(), p.bits() & IRQ_DMA));
                return Err(match mmiodrv::stop::requested() {
                    Some(stop) => stop.error("the transfer in flight was awaited and acknowledged first".into()),
                    None => e,
                });
            }
            let pending = IRQ_STATUS.read(self.io())?.bits();
            IRQ_ACK.write(self.io(), pending & IRQ_DMA)?;
            self.expect_pending(pending, IRQ_DMA, "DMA")?;
        }
        self.wait_dma(opts.timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmiodrv::mmio::Width;

    /// The map file is the one source: src/regs.rs is what it generates,
    /// and the map loaded from it is the built-in one. (Tests run in this
    /// crate's directory, drivers/edu.)
    #[test]
    fn regs_rs_is_what_the_map_generates() {
        let opts = mmiodrv::regmap::generate::rust::Options::default();
        let committed = std::path::Path::new("src/regs.rs");
        mmiodrv::regmap::generate::rust::check_fresh("regmap.toml", None, committed, &opts).unwrap_or_else(|e| {
            panic!("{e}: in drivers/edu, mmiodrv regmap generate regmap.toml --lang rust -o src/regs.rs")
        });
        let file = mmiodrv::regmap::load_file(std::path::Path::new("regmap.toml")).unwrap();
        let loaded = file.place(None, None).unwrap();
        assert_eq!(loaded.registers, MAP.registers);
        assert_eq!(loaded.rules, MAP.rules);
        assert_eq!((loaded.size, loaded.bar), (MAP.size, MAP.bar));
    }

    #[test]
    fn the_one_declaration_matches_the_spec() {
        let offsets: Vec<(&str, u64)> = MAP.registers.iter().map(|r| (r.name.as_ref(), r.offset)).collect();
        assert_eq!(
            offsets,
            [
                ("ID", 0x00),
                ("LIVENESS", 0x04),
                ("FACTORIAL", 0x08),
                ("STATUS", 0x20),
                ("IRQ_STATUS", 0x24),
                ("IRQ_RAISE", 0x60),
                ("IRQ_ACK", 0x64),
                ("DMA_SRC", 0x80),
                ("DMA_DST", 0x88),
                ("DMA_COUNT", 0x90),
                ("DMA_CMD", 0x98)
            ]
        );
        // The typed registers are the same declaration.
        assert_eq!((STATUS.offset(), DMA_CMD.offset(), DMA_CMD.width()), (0x20, 0x98, Width::W64));
        assert_eq!(MAP.register("ID").unwrap().reset, Some(0x0100_00ed));
        assert_eq!(STATUS::COMPUTING.mask(), 1);
        assert_eq!(STATUS::IRQ_FACT.mask(), 0x80);
        assert_eq!(MAP.register("STATUS").unwrap().field("COMPUTING").unwrap().meaning(1), Some("busy"));
        // Only 32-bit accesses below 0x80.
        assert!(MAP.check_raw_access(0x04, Width::W8).is_err());
        assert!(MAP.check_raw_access(0x80, Width::W64).is_ok());
    }

    #[test]
    fn dma_requests_are_checked_before_anything_is_mapped() {
        assert!(Edu::check_dma(0, 0).is_err());
        assert!(Edu::check_dma(0xfff, 1).is_err(), "reaching 0x41000 aborts QEMU");
        assert!(Edu::check_dma(0, 0xfff).is_ok());
    }
}
