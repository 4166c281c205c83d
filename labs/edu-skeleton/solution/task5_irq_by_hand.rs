//! Task 5, solved: raise and acknowledge interrupts by hand.

use std::time::Duration;

use mmiodrv::backend::Interrupts;
use mmiodrv::error::Result;
use mmiodrv::mmio::RegisterIo;
use mmiodrv_edu::regs::{IRQ_ACK, IRQ_RAISE, IRQ_STATUS};

/// Write IRQ_RAISE.
pub fn raise(bar: &dyn RegisterIo, value: u32) -> Result<()> {
    IRQ_RAISE.write(bar, value)
}

/// Read IRQ_STATUS.
pub fn pending(bar: &dyn RegisterIo) -> Result<u32> {
    Ok(IRQ_STATUS.read(bar)?.bits())
}

/// Write IRQ_ACK.
pub fn ack(bar: &dyn RegisterIo, value: u32) -> Result<()> {
    IRQ_ACK.write(bar, value)
}

/// Raise, wait, read what is pending, acknowledge exactly that.
pub fn raise_wait_ack(bar: &dyn RegisterIo, irqs: &mut dyn Interrupts, value: u32, timeout: Duration) -> Result<u32> {
    raise(bar, value)?;
    irqs.wait(timeout)?;
    let seen = pending(bar)?;
    ack(bar, seen)?;
    Ok(seen)
}
