//! Task 1: identify the device (lab 1, docs/labs/01-identify.md).
//!
//! ID (offset 0x00, read-only) reads `0xRRrr00ed`: RR the major version, rr
//! the minor, ed edu's magic. A driver checks the magic before it touches
//! anything else: on a wrong device, or a device that is gone (reads of a
//! vanished PCI device return all ones), every later access would be wrong.
//!
//! Checks: `lab/test-skeleton 1`.

use mmiodrv::error::{ErrorKind, Result};
use mmiodrv::mmio::RegisterIo;
use mmiodrv_edu::regs::ID;

use crate::Version;

/// Read ID; if its low byte is not 0xed, fail with
/// `ErrorKind::UnexpectedValue { register: "ID", value, why }`; else return
/// the major and minor version.
pub fn identify(bar: &dyn RegisterIo) -> Result<Version> {
    todo!("task 1: read ID, check ID::MAGIC, return ID::MAJOR and ID::MINOR")
}
