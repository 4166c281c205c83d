//! Task 2: is the device alive? (lab 2, docs/labs/02-liveness.md)
//!
//! LIVENESS (0x04) reads back the bitwise inverse of the last value written
//! to it. Plain memory reads back what was written; a PCI device that does
//! not answer reads the same whatever was written: all ones (0xffffffff) on
//! real hardware, 0 in QEMU (lab 2 shows both).
//!
//! Checks: `lab/test-skeleton 2`. One of them plays devices that read
//! 0xffffffff and 0: choose your value(s) so that neither is taken for alive.

use mmiodrv::error::Result;
use mmiodrv::mmio::RegisterIo;
use mmiodrv_edu::regs::LIVENESS;

/// Write a value to LIVENESS and read it back: true when it reads the
/// inverse (`!value`).
pub fn is_alive(bar: &dyn RegisterIo) -> Result<bool> {
    todo!("task 2: write LIVENESS, read it back, compare with the inverse")
}
