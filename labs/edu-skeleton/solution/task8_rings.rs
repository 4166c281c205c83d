//! Task 8, solved: a descriptor ring.

use mmiodrv::error::Result;
use mmiodrv::mmio::{barrier, RegisterIo};
use mmiodrv::ring::{BufferPool, DescriptorRing};
use mmiodrv_e1000::desc::{tx_status, RxDesc, TxDesc};
use mmiodrv_e1000::regs::{RDT, TDT};

/// Frame, descriptor, barrier, doorbell: in that order.
pub fn transmit(
    bar: &dyn RegisterIo,
    ring: &DescriptorRing<TxDesc>,
    bufs: &BufferPool,
    tail: u32,
    frame: &[u8],
) -> Result<u32> {
    bufs.write(tail, frame)?;
    ring.write(tail, &TxDesc::frame(bufs.iova(tail)?, frame.len() as u16))?;
    // The device reads the descriptor and the frame once TDT moves past
    // them: both must be in memory before that store.
    barrier::before_doorbell();
    let next = ring.next(tail);
    TDT.write(bar, next)?;
    Ok(next)
}

/// In order, up to the first not done.
pub fn reap(ring: &DescriptorRing<TxDesc>, clean: u32, tail: u32) -> Result<u32> {
    let mut at = clean;
    while at != tail && TxDesc::load_status(ring.slot(at))? & tx_status::DD != 0 {
        at = ring.next(at);
    }
    Ok(at)
}

/// DD, barrier, then the rest; back to the device, RDT.
pub fn receive(
    bar: &dyn RegisterIo,
    ring: &DescriptorRing<RxDesc>,
    bufs: &BufferPool,
    next: u32,
) -> Result<Option<(Vec<u8>, u32)>> {
    let wb = RxDesc::load_writeback(ring.slot(next))?;
    if !wb.done() {
        return Ok(None);
    }
    // The device wrote the frame before DD: read it only after DD was seen.
    barrier::after_completion();
    let mut frame = vec![0u8; usize::from(wb.length)];
    bufs.read(next, &mut frame)?;
    ring.write(next, &RxDesc::empty(bufs.iova(next)?))?;
    // The cleared descriptor must be in memory before the device may use it.
    barrier::before_doorbell();
    RDT.write(bar, next)?;
    Ok(Some((frame, ring.next(next))))
}
