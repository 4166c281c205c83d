//! `mmiodrv._native`: the Python module of mmiodrv, over the library (not
//! the command line). `mmiodrv/__init__.py` re-exports it and defines the
//! exception classes; `mmiodrv/_native.pyi` types it.
//!
//! Every device access runs with the GIL released (see `state.rs`), and is
//! the library's: registers by name through `Window` (one access of the
//! declared width, everything checked before the device is touched),
//! interrupts through `Interrupts::wait_for`, DMA through
//! `Backend::dma_buffer`, bulk copies through `MmioRegion`, and the
//! drivers' commands through their declarations.
//!
//! [`init`] fills a module with the drivers it is given: the `mmiodrv`
//! wheel's `_native` (feature `builtin-drivers`) is `init(m, BUILTIN)`, and a
//! driver crate builds the same module with its own driver, as its binary
//! runs the command line with it (`mmiodrv_cli::run`).
//!
//! No `unsafe` here: mapped memory is reached only through the library, and
//! the device is kept with the interrupts that borrow it by `self_cell`.

#![deny(unsafe_code)]

mod args;
mod commands;
mod device;
mod errors;
mod interrupt;
mod json;
mod memory;
mod regs;
mod remote;
mod state;

use mmiodrv::error::ErrorClass;
use pyo3::prelude::*;

/// The exception classes `mmiodrv/__init__.py` must define: (class name,
/// exit status of the command line for the same error).
#[pyfunction]
fn _error_classes() -> Vec<(String, i32)> {
    ErrorClass::ALL.iter().map(|c| (errors::class_name(*c), mmiodrv::outcome::exit_code(*c))).collect()
}

/// The built-in module: `mmiodrv._native` with drivers/'s drivers.
#[cfg(feature = "builtin-drivers")]
#[pymodule]
#[pyo3(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    init(m, mmiodrv_drivers::BUILTIN)
}

/// Fill `m` (a module named `mmiodrv._native`, which `mmiodrv/__init__.py`
/// imports) with mmiodrv's classes and functions, after installing
/// `drivers` ([`mmiodrv::drivers::install`]): their commands are methods of
/// a `Device` they claim (`dev.blinky.status()`), their maps its registers.
///
/// ```ignore
/// #[pymodule]
/// #[pyo3(name = "_native")]
/// fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
///     mmiodrv_python::init(m, &[&blinky::DRIVER])
/// }
/// ```
pub fn init(m: &Bound<'_, PyModule>, drivers: &[&'static mmiodrv::drivers::DriverInfo]) -> PyResult<()> {
    mmiodrv::drivers::install(drivers).map_err(|e| pyo3::exceptions::PyImportError::new_err(e.to_string()))?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(device::open, m)?)?;
    m.add_function(wrap_pyfunction!(device::list_devices, m)?)?;
    m.add_function(wrap_pyfunction!(_error_classes, m)?)?;
    m.add_function(wrap_pyfunction!(commands::_command_stubs, m)?)?;
    m.add_class::<device::Device>()?;
    m.add_class::<device::Interrupt>()?;
    m.add_class::<regs::Registers>()?;
    m.add_class::<regs::Register>()?;
    m.add_class::<memory::Bar>()?;
    m.add_class::<memory::DmaBuffer>()?;
    m.add_class::<commands::Commands>()?;
    m.add_class::<commands::CommandFn>()?;
    m.add_class::<remote::RemoteDevice>()?;
    m.add_class::<remote::RemoteDmaBuffer>()?;
    m.add_class::<remote::RemoteCommands>()?;
    m.add_class::<remote::RemoteCommandFn>()?;
    Ok(())
}
