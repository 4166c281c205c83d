//! Task 3, solved: factorial by polling.

use std::time::{Duration, Instant};

use mmiodrv::error::{ErrorKind, Result};
use mmiodrv::mmio::RegisterIo;
use mmiodrv_edu::regs::{FACTORIAL, STATUS};

/// Write N, poll STATUS.COMPUTING with a deadline, read the result.
pub fn factorial(bar: &dyn RegisterIo, n: u32, timeout: Duration) -> Result<u32> {
    FACTORIAL.write(bar, n)?;
    let deadline = Instant::now() + timeout;
    while STATUS.read(bar)?.matches(STATUS::COMPUTING::Busy) {
        if Instant::now() >= deadline {
            let what = format!("{n}! (STATUS.COMPUTING still set)");
            return Err(ErrorKind::Timeout { what, ms: timeout.as_millis() as u64 }.into());
        }
        // Each read is a trip into QEMU; a short sleep leaves the CPU to others.
        std::thread::sleep(Duration::from_micros(100));
    }
    Ok(FACTORIAL.read(bar)?.bits())
}
