//! edu's BAR0 as a volatile-register block that reads like edu.rst's table.
//!
//! This is the one place the edu driver touches device memory. The block is a
//! Rust reference into MMIO (see `MmioRegion::register_block`): that is sound
//! here only because no edu register has a read side effect, so a spurious
//! compiler-inserted read changes nothing. Writes are volatile-register's
//! `unsafe fn write`; each is wrapped below with why it is fine.

use std::mem::offset_of;

use volatile_register::{RO, RW, WO};

/// BAR0 offsets 0x00..0xa0. Padding covers the gaps edu.rst leaves.
#[repr(C)]
pub struct EduRegisterBlock {
    pub id: RO<u32>,
    pub liveness: RW<u32>,
    pub factorial: RW<u32>,
    _reserved0: [u32; 5],
    pub status: RW<u32>,
    pub irq_status: RO<u32>,
    _reserved1: [u32; 14],
    pub irq_raise: WO<u32>,
    pub irq_ack: WO<u32>,
    _reserved2: [u32; 6],
    pub dma_src: RW<u64>,
    pub dma_dst: RW<u64>,
    pub dma_count: RW<u64>,
    pub dma_cmd: RW<u64>,
}

// The layout must match the datasheet offsets exactly.
const _: () = {
    assert!(offset_of!(EduRegisterBlock, id) == 0x00);
    assert!(offset_of!(EduRegisterBlock, liveness) == 0x04);
    assert!(offset_of!(EduRegisterBlock, factorial) == 0x08);
    assert!(offset_of!(EduRegisterBlock, status) == 0x20);
    assert!(offset_of!(EduRegisterBlock, irq_status) == 0x24);
    assert!(offset_of!(EduRegisterBlock, irq_raise) == 0x60);
    assert!(offset_of!(EduRegisterBlock, irq_ack) == 0x64);
    assert!(offset_of!(EduRegisterBlock, dma_src) == 0x80);
    assert!(offset_of!(EduRegisterBlock, dma_dst) == 0x88);
    assert!(offset_of!(EduRegisterBlock, dma_count) == 0x90);
    assert!(offset_of!(EduRegisterBlock, dma_cmd) == 0x98);
    assert!(std::mem::size_of::<EduRegisterBlock>() == 0xa0);
};

/// STATUS bits.
pub const STATUS_COMPUTING: u32 = 0x01;
pub const STATUS_IRQ_FACT: u32 = 0x80;
/// Interrupt values edu raises by itself.
pub const IRQ_FACTORIAL: u32 = 0x001;
pub const IRQ_DMA: u32 = 0x100;
/// DMA_CMD bits.
pub const DMA_START: u64 = 0x1;
pub const DMA_TO_RAM: u64 = 0x2;
pub const DMA_IRQ: u64 = 0x4;

/// Safe, typed access to the block. Every register is exactly one volatile
/// access of its width (32-bit below 0x80, 64-bit for DMA), as edu requires.
pub struct EduRegisters<'a> {
    block: &'a EduRegisterBlock,
}

impl<'a> EduRegisters<'a> {
    pub fn new(block: &'a EduRegisterBlock) -> Self {
        EduRegisters { block }
    }

    pub fn id(&self) -> u32 {
        self.block.id.read()
    }
    pub fn liveness(&self) -> u32 {
        self.block.liveness.read()
    }
    pub fn set_liveness(&self, v: u32) {
        // SAFETY: edu stores any 32-bit value and returns its inverse; no state
        // beyond this register changes.
        unsafe { self.block.liveness.write(v) }
    }
    pub fn factorial(&self) -> u32 {
        self.block.factorial.read()
    }
    pub fn start_factorial(&self, n: u32) {
        // SAFETY: edu ignores the write while computing; callers check STATUS first.
        unsafe { self.block.factorial.write(n) }
    }
    pub fn status(&self) -> u32 {
        self.block.status.read()
    }
    pub fn set_status(&self, v: u32) {
        // SAFETY: only bit 7 (interrupt on factorial) is writable; bit 0 is read-only.
        unsafe { self.block.status.write(v) }
    }
    pub fn irq_status(&self) -> u32 {
        self.block.irq_status.read()
    }
    pub fn raise(&self, v: u32) {
        // SAFETY: ORs `v` into IRQ_STATUS and asserts the interrupt; no memory is touched.
        unsafe { self.block.irq_raise.write(v) }
    }
    pub fn ack(&self, v: u32) {
        // SAFETY: clears `v` from IRQ_STATUS; the line drops when it reaches zero.
        unsafe { self.block.irq_ack.write(v) }
    }
    pub fn dma_cmd(&self) -> u64 {
        self.block.dma_cmd.read()
    }
    /// Program and start a transfer.
    ///
    /// # Safety
    /// The device will read or write `count` bytes at the RAM-side address:
    /// it must be an IOVA mapped through the IOMMU for this device (a
    /// [`crate::backend::DmaBuffer`]) and lie under the 28-bit DMA mask.
    pub unsafe fn start_dma(&self, src: u64, dst: u64, count: u64, cmd: u64) {
        // SAFETY: the caller guarantees the RAM side is a mapped IOVA; the
        // device side is checked against the buffer by the driver.
        unsafe {
            self.block.dma_src.write(src);
            self.block.dma_dst.write(dst);
            self.block.dma_count.write(count);
            self.block.dma_cmd.write(cmd);
        }
    }
}
