//! The reference solution of the edu lab: the same functions as `src/tasks/`,
//! done. CI runs the checks against it (`edu-checks --solution`), so it is
//! known to pass them on the real device. Finish a task before reading it.

pub mod task1_identify;
pub mod task2_liveness;
pub mod task3_factorial;
pub mod task4_factorial_irq;
pub mod task5_irq_by_hand;
pub mod task6_dma;
pub mod task7_mistakes;
pub mod task8_rings;
