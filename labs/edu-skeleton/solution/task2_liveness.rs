//! Task 2, solved: is the device alive?

use mmiodrv::error::Result;
use mmiodrv::mmio::RegisterIo;
use mmiodrv_edu::regs::LIVENESS;

/// Two patterns, each with its inverse checked. Neither is 0 nor all ones,
/// whose inverses are what a device that does not answer reads (all ones on
/// real hardware, 0 in QEMU); and together they flip every bit both ways, so
/// a stuck bit shows too.
pub fn is_alive(bar: &dyn RegisterIo) -> Result<bool> {
    for pattern in [0x1234_5678u32, !0x1234_5678] {
        LIVENESS.write(bar, pattern)?;
        if LIVENESS.read(bar)? != !pattern {
            return Ok(false);
        }
    }
    Ok(true)
}
