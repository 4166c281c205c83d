//! blinky's registers (the declaration of examples/blinky/src/map.rs, the
//! one blinky itself uses), for the misuse cases in tests/.

include!("../../src/map.rs");
