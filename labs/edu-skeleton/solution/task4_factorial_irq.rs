//! Task 4, solved: factorial with an interrupt.

use std::time::Duration;

use mmiodrv::backend::{Backend, IrqEvent, IrqKind};
use mmiodrv::error::{ErrorKind, Result};
use mmiodrv::mmio::RegisterIo;
use mmiodrv_edu::regs::{FACTORIAL, IRQ_ACK, IRQ_STATUS, STATUS};
use mmiodrv_edu::IRQ_FACTORIAL;

/// Arm, ask, start, wait, check, acknowledge, clean up, read.
pub fn factorial_irq(
    backend: &dyn Backend,
    bar: &dyn RegisterIo,
    kind: IrqKind,
    n: u32,
    timeout: Duration,
) -> Result<(u32, IrqEvent)> {
    // Armed before the start: edu may finish before the next line runs.
    let mut irqs = backend.interrupts(Some(kind))?;
    STATUS.write(bar, STATUS::IRQ_FACT::SET)?;
    FACTORIAL.write(bar, n)?;
    let event = irqs.wait(timeout);
    // Whatever happened, acknowledge what is pending and stop asking for
    // interrupts, so the device is left quiet.
    // IRQ_STATUS's value is not an IRQ_ACK value in the types: write its bits.
    let pending = IRQ_STATUS.read(bar)?.bits();
    IRQ_ACK.write(bar, pending)?;
    STATUS.write(bar, STATUS::IRQ_FACT::CLEAR)?;
    let event = event?;
    if pending & IRQ_FACTORIAL == 0 {
        let (value, bit) = (pending.into(), IRQ_FACTORIAL.into());
        return Err(ErrorKind::UnexpectedInterrupt { register: "IRQ_STATUS", value, what: "factorial", bit }.into());
    }
    Ok((FACTORIAL.read(bar)?.bits(), event))
}
