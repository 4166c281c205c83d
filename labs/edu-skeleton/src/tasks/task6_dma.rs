//! Task 6: DMA in both directions (lab 6, docs/labs/06-dma.md).
//!
//! edu has a 4 KiB buffer at device address 0x40000 (`DMA_BUFFER_ADDR`) and
//! a DMA engine: DMA_SRC (0x80), DMA_DST (0x88), DMA_COUNT (0x90) and DMA_CMD
//! (0x98: START bit 0, DIRECTION bit 1 with 0 = RAM to device and 1 = device
//! to RAM, IRQ bit 2). The RAM side is an IO virtual address (IOVA): the
//! address the device uses, which the IOMMU translates to your buffer's
//! pages. edu only drives 28 address bits (`DMA_MASK_BITS`).
//!
//! The library gives you RAM mapped for the device:
//! `backend.dma_buffer(len, iova, mask_bits)` maps `len` bytes (rounded up
//! to pages) at the `iova` you choose, refuses an IOVA that is not
//! page-aligned or does not fit under the mask, and unmaps it when dropped.
//!
//! The engine runs a transfer 100 ms (of the guest's virtual clock) after
//! START is written, then clears START. Wait for that before you use the data.
//!
//! Checks: `lab/test-skeleton 6`. Between your code and the device the
//! checks put a guard that refuses a transfer reaching past edu's buffer:
//! QEMU 7.2 does not fail such a DMA, it aborts (the whole lab guest dies).

use std::time::{Duration, Instant};

use mmiodrv::backend::{Backend, DmaBuffer};
use mmiodrv::error::{Error, ErrorKind, Result};
use mmiodrv::mmio::{barrier, RegisterIo};
use mmiodrv_edu::regs::{DMA_CMD, DMA_COUNT, DMA_DST, DMA_SRC};
use mmiodrv_edu::{DMA_BUFFER_ADDR, DMA_MASK_BITS, DMA_MAX_END};

/// The IOVA where your buffers go: your choice, page-aligned (a multiple of
/// 4096) and with room under edu's 28-bit mask.
pub fn choose_iova() -> u64 {
    todo!("task 6: pick an IOVA")
}

/// A DMA buffer of `len` bytes for edu, at [`choose_iova`].
pub fn alloc(backend: &dyn Backend, len: usize) -> Result<DmaBuffer> {
    todo!("task 6: backend.dma_buffer(len, choose_iova(), DMA_MASK_BITS)")
}

/// Copy `len` bytes from `buf` (from `buf_offset`) into edu's buffer at
/// `edu_offset`, and wait (at most `timeout`) until the engine is done.
pub fn to_device(
    bar: &dyn RegisterIo,
    buf: &DmaBuffer,
    buf_offset: u64,
    edu_offset: u64,
    len: u64,
    timeout: Duration,
) -> Result<()> {
    todo!("task 6: DMA_SRC = IOVA, DMA_DST = 0x40000 + offset, DMA_COUNT, DMA_CMD = START; wait for START to clear")
}

/// Copy `len` bytes from edu's buffer at `edu_offset` into `buf` at
/// `buf_offset`, and wait (at most `timeout`) until the engine is done.
pub fn from_device(
    bar: &dyn RegisterIo,
    edu_offset: u64,
    buf: &DmaBuffer,
    buf_offset: u64,
    len: u64,
    timeout: Duration,
) -> Result<()> {
    todo!("task 6: the other direction: DMA_CMD = START | DIRECTION")
}
