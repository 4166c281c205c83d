//! Task 4: factorial with an interrupt (lab 4, docs/labs/04-factorial-interrupt.md).
//!
//! With STATUS.IRQ_FACT (bit 7) set, edu raises interrupt value 0x1 when a
//! factorial is done: it ORs 0x1 into IRQ_STATUS (0x24) and signals MSI (or
//! asserts INTx). The driver must acknowledge it by writing the value to
//! IRQ_ACK (0x64); for INTx the line stays asserted until then.
//!
//! The library delivers interrupts through VFIO: `backend.interrupts(Some(kind))`
//! arms them and returns a handle; its `wait(timeout)` returns an `IrqEvent`
//! when one fires (or a Timeout error). Dropping the handle disarms them.
//!
//! Checks: `lab/test-skeleton 4`, with MSI and with INTx. After your function
//! returns, the checks arm INTx again and expect silence: an interrupt you did
//! not acknowledge fires again at once.

use std::time::Duration;

use mmiodrv::backend::{Backend, IrqEvent, IrqKind};
use mmiodrv::error::{ErrorKind, Result};
use mmiodrv::mmio::RegisterIo;
use mmiodrv_edu::regs::{FACTORIAL, IRQ_ACK, IRQ_STATUS, STATUS};
use mmiodrv_edu::IRQ_FACTORIAL;

/// N! signalled by an interrupt of `kind`: arm, ask for the interrupt
/// (STATUS.IRQ_FACT), start, wait (at most `timeout`), check IRQ_STATUS has
/// bit 0x1, acknowledge, clear STATUS.IRQ_FACT, read the result. Return it
/// with the interrupt's event.
pub fn factorial_irq(
    backend: &dyn Backend,
    bar: &dyn RegisterIo,
    kind: IrqKind,
    n: u32,
    timeout: Duration,
) -> Result<(u32, IrqEvent)> {
    todo!("task 4: arm, set STATUS::IRQ_FACT, write FACTORIAL, wait, check IRQ_STATUS, ack, clear IRQ_FACT")
}
