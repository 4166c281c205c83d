//! Ordering between memory, DMA buffers and device registers.
//!
//! Volatile accesses are not reordered with each other by the compiler, but nothing
//! stops the compiler or CPU from moving ordinary memory accesses (a DMA buffer
//! being filled) across them, and write-combining mappings may hold stores back.
//! Drivers call these at the two points that matter.

use std::sync::atomic::{fence, Ordering};

/// Make every earlier memory write (DMA buffer contents, earlier MMIO stores,
/// write-combined data) visible before the next MMIO write, e.g. a doorbell or a
/// DMA start command. A full fence: on x86-64 this is `mfence`, which also drains
/// write-combining buffers.
pub fn before_doorbell() {
    fence(Ordering::SeqCst);
}

/// After reading a completion status from a register, make sure later reads of the
/// DMA buffer are not satisfied before it.
pub fn after_completion() {
    fence(Ordering::SeqCst);
}
