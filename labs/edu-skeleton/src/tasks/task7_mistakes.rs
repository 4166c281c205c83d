//! Task 7: deliberate mistakes, to see what the device does with them.
//!
//! Each function makes a mistake on purpose and returns what it observed; the
//! checks compare that with what edu really does. Before you run them, write
//! down what you expect (the questions of labs 3 and 6 ask the same).
//!
//! Checks: `lab/test-skeleton 7` (needs tasks 6's `alloc`, `to_device` and
//! `from_device`).

use std::time::{Duration, Instant};

use mmiodrv::backend::{Backend, DmaBuffer};
use mmiodrv::error::Result;
use mmiodrv::mmio::RegisterIo;
use mmiodrv_edu::regs::{FACTORIAL, STATUS};
use mmiodrv_edu::DMA_MASK_BITS;

use super::task6_dma::{alloc, choose_iova, from_device, to_device};
use crate::BIG;

/// Mistake 1: ask the library for a 4 KiB buffer at IOVA `1 << 28`, telling
/// it edu's real mask (`DMA_MASK_BITS`). Return what the library answers.
pub fn buffer_beyond_the_mask(backend: &dyn Backend) -> Result<DmaBuffer> {
    todo!("task 7: backend.dma_buffer(4096, 1 << 28, DMA_MASK_BITS)")
}

/// Mistake 2: lie about the mask. Map `high`, 4 KiB at IOVA
/// `(1 << 28) + choose_iova()`, telling the library the mask is 64 bits, and
/// `low` with `alloc` (at `choose_iova()`). Put `b"from the HIGH buffer"` at
/// the start of `high` and `b"from the low buffer!"` at the start of `low`
/// (`buf.memory().copy_from_slice(0, bytes)`). DMA 20 bytes from `high` to
/// edu's buffer at offset 0, then back from edu's offset 0 into `low` at
/// 0x800, and return those 20 bytes (`buf.memory().copy_to_slice(0x800, &mut out)`).
/// Whose bytes did the device read?
pub fn dma_beyond_the_mask(backend: &dyn Backend, bar: &dyn RegisterIo) -> Result<Vec<u8>> {
    todo!("task 7: two buffers, one IOVA above 28 bits, to_device from it, from_device, return what came back")
}

/// Mistake 3: start [`BIG`]`!`, note whether STATUS.COMPUTING reads 1 right
/// after, then at once write 5 to FACTORIAL. Wait (at most 30 s) until edu is
/// idle and return (busy seen, FACTORIAL). Is it 120?
pub fn factorial_while_busy(bar: &dyn RegisterIo) -> Result<(bool, u32)> {
    todo!("task 7: FACTORIAL <- BIG, read STATUS::COMPUTING, FACTORIAL <- 5, wait until idle, read FACTORIAL")
}
