//! Your driver. Replace each `todo!()` with code, then run the task's checks
//! in the lab guest:
//!
//! ```sh
//! lab/test-skeleton 1          # the checks of task 1 (2, 3, ... likewise)
//! lab/test-skeleton            # every task
//! ```
//!
//! Registers are declared once, in the library's edu driver
//! (`mmiodrv_edu::regs`, from `register_map!`): `ID`, `STATUS`,
//! `DMA_CMD`... are typed registers and `ID::MAGIC`, `STATUS::COMPUTING`...
//! their fields.
//!
//! ```ignore
//! let id = ID.read(bar)?;                  // one 32-bit volatile read at 0x00: ID's value
//! let magic = ID::MAGIC.get(id);            // (id >> 0) & 0xff, as a u32
//! let raw: u32 = id.bits();                 // the number
//! LIVENESS.write(bar, 0x1234_5678u32)?;     // one 32-bit volatile write at 0x04
//! STATUS.write(bar, STATUS::IRQ_FACT::SET)?;     // 1 << 7
//! let busy = STATUS.read(bar)?.matches(STATUS::COMPUTING::Busy);
//! DMA_SRC.write(bar, iova)?;                // a u64 register: one 64-bit write at 0x80
//! ```
//!
//! Each register has the width and access the device has: `ID.write(...)`
//! does not compile (ID is read-only), `FACTORIAL.write(bar, 5u64)` does
//! not either (FACTORIAL is 32 bits), nor does a field or value of one
//! register used with another (`STATUS::IRQ_FACT.get(ID.read(bar)?)`). `bar` is BAR0, as `&dyn RegisterIo`:
//! what every backend (sysfs, UIO, VFIO) gives you.
//!
//! Errors are values: return `Err(ErrorKind::...into())` (see each task).

// The skeleton's functions do not use their arguments yet. Delete this line
// when you are done: the compiler then tells you about anything left unused.
#![allow(unused_variables, unused_imports)]

pub mod task1_identify;
pub mod task2_liveness;
pub mod task3_factorial;
pub mod task4_factorial_irq;
pub mod task5_irq_by_hand;
pub mod task6_dma;
pub mod task7_mistakes;
pub mod task8_rings;
