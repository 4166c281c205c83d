//! The edu lab: a userspace driver for QEMU's `edu` device, to finish.
//!
//! - [`tasks`] is yours: eight files with `todo!()` where the driver's code
//!   goes (task 8 on the e1000 NIC). `lab/test-skeleton` builds the checks,
//!   boots the lab guest and runs them against your code on the real device;
//!   every check of a task fails until the task is done.
//! - [`solution`] is the reference solution (`solution/`), checked by CI with
//!   the same checks (`lab/test-skeleton --solution`). Finish a task before
//!   you read its solution.
//! - [`checks`] are the checks (task 8's in [`ring_checks`]), [`guard`] the
//!   safety rail between your code and the device (it refuses a DMA that
//!   would make QEMU 7.2 abort).
//!
//! README.md in this folder has the tasks, how to run them and hints.

pub mod checks;
pub mod guard;
pub mod mappings;
pub mod ring_checks;
pub mod tasks;

#[path = "../solution/mod.rs"]
pub mod solution;

/// edu's version, as the ID register holds it (task 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Version {
    /// Bits 31:24 of ID.
    pub major: u8,
    /// Bits 23:16 of ID.
    pub minor: u8,
}

/// N for a factorial that keeps edu busy for about a second (task 7): edu's
/// thread multiplies N times, and N! wraps to 0 in 32 bits from 34! on.
pub const BIG: u32 = 300_000_000;
