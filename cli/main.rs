//! The `mmiodrv` binary: the command line with the built-in drivers
//! (drivers/), plugged in the way any driver crate plugs in its own.
//!
//! It starts without Rust's start-up code, which costs a quarter of a
//! one-shot read (`mmiodrv_cli::run_without_runtime` says what it does
//! instead); a driver crate's binary may start either way.
// Under `cargo test --bins` (a test harness, which brings its own `main`),
// the file is empty.
#![cfg_attr(not(test), no_main)]

/// The C entry point: the exit status of the whole command line.
// SAFETY: an exported symbol named `main` must be the program's only one:
// `#![no_main]` leaves none from Rust's start-up and no dependency defines
// one; the C runtime calls it once with argc and argv, unused here (std reads
// the arguments itself).
#[cfg(not(test))]
#[no_mangle]
extern "C" fn main(_argc: std::ffi::c_int, _argv: *const *const std::ffi::c_char) -> std::ffi::c_int {
    mmiodrv_cli::run_without_runtime(mmiodrv_drivers::BUILTIN)
}
