//! Task 1, solved: identify the device.

use mmiodrv::error::{ErrorKind, Result};
use mmiodrv::mmio::RegisterIo;
use mmiodrv_edu::regs::ID;

use crate::Version;

/// Read ID, check the magic, return the version.
pub fn identify(bar: &dyn RegisterIo) -> Result<Version> {
    // One 32-bit read: below 0x80 edu takes nothing else (a byte read of
    // 0x00 returns 0, not 0xed; a 64-bit read all ones: lab 1).
    let id = ID.read(bar)?;
    if ID::MAGIC.read_as(id) != Some(ID::MAGIC::Edu) {
        let why = "the low byte is not edu's magic 0xed";
        return Err(ErrorKind::UnexpectedValue { register: "ID", value: id.bits().into(), why }.into());
    }
    Ok(Version { major: ID::MAJOR.get(id) as u8, minor: ID::MINOR.get(id) as u8 })
}
