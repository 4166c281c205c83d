//! A safety rail between your code and edu's BAR0.
//!
//! QEMU 7.2's edu checks a DMA transfer against its 4 KiB buffer when the
//! transfer runs, and a transfer that reaches outside it (or its last byte,
//! 0x40fff: the check is exclusive at the end) does not fail: `hw_error()`
//! aborts the whole QEMU process, and with it the lab guest. The guard keeps
//! a copy of what was last written to DMA_SRC, DMA_DST and DMA_COUNT and
//! refuses a write to DMA_CMD that would start such a transfer, with an error
//! saying why. Every other access goes through unchanged (one access of the
//! width asked for), so what you see is what the device does.

use std::sync::Mutex;

use mmiodrv::error::{Error, Result};
use mmiodrv::mmio::{MmioRegion, RegisterIo, Width};
use mmiodrv::regmap::typed::Bits;
use mmiodrv_edu::regs::{DMA_CMD, DMA_COUNT, DMA_DST, DMA_SRC};
use mmiodrv_edu::{DMA_BUFFER_ADDR, DMA_MAX_END};

/// BAR0 with the DMA range checked at the start of every transfer.
pub struct Guarded {
    bar: Box<dyn RegisterIo>,
    /// DMA_SRC, DMA_DST, DMA_COUNT as last written (both 32-bit halves tracked).
    shadow: Mutex<[u64; 3]>,
}

impl Guarded {
    /// Guard `bar` (edu's BAR0).
    pub fn new(bar: Box<dyn RegisterIo>) -> Self {
        Guarded { bar, shadow: Mutex::new([0; 3]) }
    }

    fn note(&self, offset: u64, width: Width, value: u64) {
        let regs = [DMA_SRC.offset(), DMA_DST.offset(), DMA_COUNT.offset()];
        let mut shadow = self.shadow.lock().unwrap_or_else(|p| p.into_inner());
        for (slot, base) in shadow.iter_mut().zip(regs) {
            match (offset.checked_sub(base), width) {
                (Some(0), Width::W64) => *slot = value,
                (Some(0), Width::W32) => *slot = (*slot & !0xffff_ffff) | value,
                (Some(4), Width::W32) => *slot = (*slot & 0xffff_ffff) | (value << 32),
                _ => {}
            }
        }
    }

    /// A DMA_CMD write that starts a transfer edu cannot do without aborting QEMU.
    fn check_start(&self, offset: u64, value: u64) -> Result<()> {
        let value = Bits::<u64, DMA_CMD::Register>::new(value);
        if offset != DMA_CMD.offset() || !value.is_set(DMA_CMD::START) {
            return Ok(());
        }
        let [src, dst, count] = *self.shadow.lock().unwrap_or_else(|p| p.into_inner());
        let to_ram = value.matches(DMA_CMD::DIRECTION::DeviceToRam);
        let device_side = if to_ram { src } else { dst };
        let (register, end) =
            if to_ram { ("DMA_SRC", src.checked_add(count)) } else { ("DMA_DST", dst.checked_add(count)) };
        if count == 0 || device_side < DMA_BUFFER_ADDR || end.is_none_or(|e| e > DMA_BUFFER_ADDR + DMA_MAX_END) {
            return Err(Error::invalid(
                format!("{register} {device_side:#x} DMA_COUNT {count:#x}"),
                format!(
                    "the guard refused this DMA: the device side must lie in edu's buffer, from {DMA_BUFFER_ADDR:#x} \
                     to {:#x} (inclusive), with at least one byte; QEMU 7.2 would abort the whole guest",
                    DMA_BUFFER_ADDR + DMA_MAX_END - 1
                ),
            ));
        }
        Ok(())
    }
}

impl RegisterIo for Guarded {
    fn len(&self) -> u64 {
        self.bar.len()
    }

    fn read(&self, offset: u64, width: Width) -> Result<u64> {
        self.bar.read(offset, width)
    }

    fn write(&self, offset: u64, width: Width, value: u64) -> Result<()> {
        self.check_start(offset, value)?;
        self.bar.write(offset, width, value)?;
        self.note(offset, width, value);
        Ok(())
    }

    fn as_mmio(&self) -> Option<&MmioRegion> {
        // Typed register blocks would bypass the guard.
        None
    }
}
