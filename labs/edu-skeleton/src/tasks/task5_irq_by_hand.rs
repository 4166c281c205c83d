//! Task 5: raise and acknowledge interrupts by hand (lab 5,
//! docs/labs/05-interrupts-by-hand.md).
//!
//! A value written to IRQ_RAISE (0x60) is ORed into IRQ_STATUS (0x24) and the
//! interrupt fires; a value written to IRQ_ACK (0x64) clears those bits of
//! IRQ_STATUS, and the INTx line drops when IRQ_STATUS is zero.
//!
//! Checks: `lab/test-skeleton 5`: raises OR together, an acknowledge clears
//! only its bits, an INTx not acknowledged fires again as soon as it is
//! unmasked, and `raise_wait_ack` with MSI and INTx.

use std::time::Duration;

use mmiodrv::backend::Interrupts;
use mmiodrv::error::Result;
use mmiodrv::mmio::RegisterIo;
use mmiodrv_edu::regs::{IRQ_ACK, IRQ_RAISE, IRQ_STATUS};

/// Raise interrupt `value` (write it to IRQ_RAISE).
pub fn raise(bar: &dyn RegisterIo, value: u32) -> Result<()> {
    todo!("task 5: write IRQ_RAISE")
}

/// The interrupt values pending (IRQ_STATUS).
pub fn pending(bar: &dyn RegisterIo) -> Result<u32> {
    todo!("task 5: read IRQ_STATUS")
}

/// Acknowledge interrupt values `value` (write them to IRQ_ACK).
pub fn ack(bar: &dyn RegisterIo, value: u32) -> Result<()> {
    todo!("task 5: write IRQ_ACK")
}

/// Raise `value`, wait for the interrupt on `irqs` (armed by the caller), read
/// what is pending, acknowledge exactly that, and return it.
pub fn raise_wait_ack(bar: &dyn RegisterIo, irqs: &mut dyn Interrupts, value: u32, timeout: Duration) -> Result<u32> {
    todo!("task 5: raise, irqs.wait(timeout), pending, ack")
}
