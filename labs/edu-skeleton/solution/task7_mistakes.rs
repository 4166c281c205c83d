//! Task 7, solved: deliberate mistakes.

use std::time::{Duration, Instant};

use mmiodrv::backend::{Backend, DmaBuffer};
use mmiodrv::error::{ErrorKind, Result};
use mmiodrv::mmio::RegisterIo;
use mmiodrv_edu::regs::{FACTORIAL, STATUS};
use mmiodrv_edu::DMA_MASK_BITS;

use super::task6_dma::{alloc, choose_iova, from_device, to_device};
use crate::BIG;

/// The library checks the IOVA against the mask it is told, before mapping.
pub fn buffer_beyond_the_mask(backend: &dyn Backend) -> Result<DmaBuffer> {
    backend.dma_buffer(4096, 1 << 28, DMA_MASK_BITS)
}

/// edu drops the address bits above its mask (edu.c's `edu_clamp_addr`), so
/// the device reads `low`, whose IOVA is `high`'s without bit 28.
pub fn dma_beyond_the_mask(backend: &dyn Backend, bar: &dyn RegisterIo) -> Result<Vec<u8>> {
    let timeout = Duration::from_secs(5);
    let high = backend.dma_buffer(4096, (1 << 28) + choose_iova(), 64)?;
    let low = alloc(backend, 4096)?;
    high.memory().copy_from_slice(0, b"from the HIGH buffer")?;
    low.memory().copy_from_slice(0, b"from the low buffer!")?;
    to_device(bar, &high, 0, 0, 20, timeout)?;
    from_device(bar, 0, &low, 0x800, 20, timeout)?;
    let mut out = vec![0u8; 20];
    low.memory().copy_to_slice(0x800, &mut out)?;
    Ok(out)
}

/// edu ignores a write to FACTORIAL while it computes.
pub fn factorial_while_busy(bar: &dyn RegisterIo) -> Result<(bool, u32)> {
    FACTORIAL.write(bar, BIG)?;
    let busy = STATUS.read(bar)?.matches(STATUS::COMPUTING::Busy);
    FACTORIAL.write(bar, 5)?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while STATUS.read(bar)?.matches(STATUS::COMPUTING::Busy) {
        if Instant::now() >= deadline {
            return Err(ErrorKind::Timeout { what: format!("{BIG}!"), ms: 30_000 }.into());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok((busy, FACTORIAL.read(bar)?.bits()))
}
