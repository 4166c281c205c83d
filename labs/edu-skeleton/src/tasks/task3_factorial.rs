//! Task 3: factorial by polling (lab 3, docs/labs/03-factorial-polling.md).
//!
//! Writing N to FACTORIAL (0x08) sets STATUS.COMPUTING (bit 0 of 0x20); edu
//! computes N! (32 bits, wrapping) in a thread of its own, stores it in
//! FACTORIAL and clears COMPUTING. Until then FACTORIAL still reads N.
//!
//! Checks: `lab/test-skeleton 3`. One asks for 100000000!, which keeps edu
//! busy for a fraction of a second: read FACTORIAL too early and you get N.
//! Another gives you 10 ms for a computation of seconds: give up in time.

use std::time::{Duration, Instant};

use mmiodrv::error::{ErrorKind, Result};
use mmiodrv::mmio::RegisterIo;
use mmiodrv_edu::regs::{FACTORIAL, STATUS};

/// N! as edu computes it: write N, poll STATUS until COMPUTING clears, read
/// the result. If it is still computing after `timeout`, fail with
/// `ErrorKind::Timeout { what, ms }`.
pub fn factorial(bar: &dyn RegisterIo, n: u32, timeout: Duration) -> Result<u32> {
    todo!("task 3: write FACTORIAL, poll STATUS::COMPUTING (with a deadline), read FACTORIAL")
}
