//! Task 8: a descriptor ring (lab 8, docs/labs/08-descriptor-rings.md).
//!
//! Not edu this time: the e1000 NIC at 0000:00:07.0 (`$E1000_DEVICE`), whose
//! transmit and receive queues are rings of 16-byte descriptors in DMA
//! memory. The checks set the rings up (the library's `DescriptorRing` and
//! `BufferPool`: descriptor `i` goes with buffer `i`) and call your code to
//! move frames through them: first on a model of the device that checks
//! what it reads and when, then on the real NIC in PHY loopback (what it
//! sends comes back into its own receive ring).
//!
//! The e1000's legacy descriptors are declared in the library's driver
//! (`mmiodrv_e1000::desc`): `TxDesc::frame(addr, len)` is a
//! transmit descriptor for one whole frame (EOP, IFCS and RS set);
//! `RxDesc::empty(addr)` a receive descriptor handed to the device;
//! `RxDesc::load_writeback(ring.slot(i))` reads what the device wrote back
//! (length, status, errors: one 64-bit load) and `.done()` says whether DD
//! is set; `TxDesc::load_status(ring.slot(i))` is a transmit descriptor's
//! status (`tx_status::DD`). The doorbells are TDT and RDT
//! (`mmiodrv_e1000::regs`), and `mmiodrv::mmio::barrier` has the
//! two barriers a ring needs: which goes where is the point of the task.
//!
//! Checks: `lab/test-skeleton 8`.

use mmiodrv::error::Result;
use mmiodrv::mmio::{barrier, RegisterIo};
use mmiodrv::ring::{BufferPool, DescriptorRing};
use mmiodrv_e1000::desc::{tx_status, RxDesc, TxDesc};
use mmiodrv_e1000::regs::{RDT, TDT};

/// Hand `frame` to the device in descriptor `tail`: copy it into buffer
/// `tail`, fill the descriptor, and ring the doorbell (TDT = the index after
/// `tail`, wrapping). Returns the new tail. The caller made sure the ring
/// has room.
pub fn transmit(
    bar: &dyn RegisterIo,
    ring: &DescriptorRing<TxDesc>,
    bufs: &BufferPool,
    tail: u32,
    frame: &[u8],
) -> Result<u32> {
    todo!("task 8: buffer, descriptor, barrier::before_doorbell(), TDT")
}

/// The descriptors from `clean` up to (not including) `tail` that the device
/// has finished (DD set), oldest first, stopping at the first that is not.
/// Returns the new `clean`: their buffers may be used again.
pub fn reap(ring: &DescriptorRing<TxDesc>, clean: u32, tail: u32) -> Result<u32> {
    todo!("task 8: TxDesc::load_status(ring.slot(i)) & tx_status::DD, ring.next(i)")
}

/// The frame in descriptor `next`, if the device completed it (DD set):
/// its bytes copied out of buffer `next`, and the index after `next`. The
/// descriptor goes back to the device with its buffer and its written-back
/// fields cleared, and RDT moves to it (the device owns RDH up to, not
/// including, RDT: the one just taken stays the driver's until the next).
/// `None` when the device has not completed it.
pub fn receive(
    bar: &dyn RegisterIo,
    ring: &DescriptorRing<RxDesc>,
    bufs: &BufferPool,
    next: u32,
) -> Result<Option<(Vec<u8>, u32)>> {
    todo!("task 8: DD first, then barrier::after_completion(), then length and bytes; give it back, RDT")
}
