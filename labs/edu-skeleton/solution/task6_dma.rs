//! Task 6, solved: DMA in both directions.

use std::time::{Duration, Instant};

use mmiodrv::backend::{Backend, DmaBuffer};
use mmiodrv::error::{Error, ErrorKind, Result};
use mmiodrv::mmio::{barrier, RegisterIo};
use mmiodrv_edu::regs::{DMA_CMD, DMA_COUNT, DMA_DST, DMA_SRC};
use mmiodrv_edu::{DMA_BUFFER_ADDR, DMA_MASK_BITS, DMA_MAX_END};

/// 2 MiB: page-aligned, far under 1 << 28 (256 MiB), and not the library's
/// default (1 MiB), to show the choice is yours.
pub fn choose_iova() -> u64 {
    0x20_0000
}

/// A buffer at [`choose_iova`], checked against edu's mask by the library.
pub fn alloc(backend: &dyn Backend, len: usize) -> Result<DmaBuffer> {
    backend.dma_buffer(len, choose_iova(), DMA_MASK_BITS)
}

/// RAM to device.
pub fn to_device(
    bar: &dyn RegisterIo,
    buf: &DmaBuffer,
    buf_offset: u64,
    edu_offset: u64,
    len: u64,
    timeout: Duration,
) -> Result<()> {
    check(buf, buf_offset, edu_offset, len)?;
    // What the CPU wrote into the buffer must be in memory before the device reads it.
    barrier::before_doorbell();
    DMA_SRC.write(bar, buf.iova() + buf_offset)?;
    DMA_DST.write(bar, DMA_BUFFER_ADDR + edu_offset)?;
    DMA_COUNT.write(bar, len)?;
    DMA_CMD.write(bar, DMA_CMD::START::SET | DMA_CMD::DIRECTION::RamToDevice)?;
    wait(bar, timeout)
}

/// Device to RAM.
pub fn from_device(
    bar: &dyn RegisterIo,
    edu_offset: u64,
    buf: &DmaBuffer,
    buf_offset: u64,
    len: u64,
    timeout: Duration,
) -> Result<()> {
    check(buf, buf_offset, edu_offset, len)?;
    DMA_SRC.write(bar, DMA_BUFFER_ADDR + edu_offset)?;
    DMA_DST.write(bar, buf.iova() + buf_offset)?;
    DMA_COUNT.write(bar, len)?;
    DMA_CMD.write(bar, DMA_CMD::START::SET | DMA_CMD::DIRECTION::DeviceToRam)?;
    wait(bar, timeout)?;
    // The device's writes must be visible before the CPU reads the buffer.
    barrier::after_completion();
    Ok(())
}

/// Both ends inside their buffers, before anything reaches the device.
fn check(buf: &DmaBuffer, buf_offset: u64, edu_offset: u64, len: u64) -> Result<()> {
    if len == 0 {
        return Err(Error::invalid("0", "a DMA transfer needs at least one byte"));
    }
    if buf_offset.checked_add(len).is_none_or(|end| end > buf.len() as u64) {
        return Err(Error::invalid(format!("{buf_offset:#x}+{len:#x}"), "past the end of the RAM buffer"));
    }
    if edu_offset.checked_add(len).is_none_or(|end| end > DMA_MAX_END) {
        return Err(Error::invalid(
            format!("{edu_offset:#x}+{len:#x}"),
            "past edu's buffer (offset + length <= 0xfff)",
        ));
    }
    Ok(())
}

/// Poll DMA_CMD.START until the engine clears it.
fn wait(bar: &dyn RegisterIo, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    while DMA_CMD.read(bar)?.is_set(DMA_CMD::START) {
        if Instant::now() >= deadline {
            let what = "the DMA transfer (DMA_CMD.START still set)".to_string();
            return Err(ErrorKind::Timeout { what, ms: timeout.as_millis() as u64 }.into());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}
