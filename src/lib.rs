//! mmiodrv: a userspace driver toolkit for PCI devices through MMIO.
//!
//! Layers, bottom up:
//! - [`pci`]: addresses, sysfs discovery, config-space and capability
//!   decoding, binding to userspace drivers with in-use refusals;
//! - [`mmio`]: mappings and checked volatile register access (one access of
//!   the declared width per call), bulk copies and barriers;
//! - [`backend`]: how a device is reached (sysfs `resourceN`, VFIO, UIO)
//!   behind one trait, with interrupts and DMA;
//! - [`ring`]: descriptor rings and packet buffers in DMA memory, with the
//!   IOVA of each entry and the barriers a ring needs;
//! - [`regmap`]: register maps (one model for built-in and user maps, loaded
//!   and checked), access by name, and typed registers declared with
//!   [`register_map!`];
//! - [`device`] and [`window`]: an opened device and its register windows,
//!   where the command line, scripts and drivers all start;
//! - [`command`]: driver subcommands as data, for every front end;
//! - [`session`]: many operations on one opened device (batch scripts, the
//!   REPL, the pipe protocol), all checked before the first one runs;
//! - [`drivers`]: what a driver declares ([`drivers::DriverInfo`]) and the
//!   drivers a program installed (the built-in ones are crates in the
//!   top-level `drivers/` folder, an outside driver is a crate like them);
//! - [`grant`] and [`doctor`]: what the udev rules grant the `mmiodrv` group,
//!   and what is in the way of access;
//! - [`remote`]: the same commands on a device in another machine, over SSH;
//! - [`outcome`]: every result as a typed value, and (feature `schema`)
//!   `schema`: the JSON Schema of them all.
//!
//! Errors are values ([`Error`], [`ErrorKind`]) with the device, a class and a
//! remedy; the library never prints, exits or names a command-line flag.
//!
//! The library has no command-line dependency: the command line is the
//! `mmiodrv-cli` crate (`mmiodrv_cli::run(DRIVERS)`), the `mmiodrv` binary
//! is that with the built-in drivers. The `schema` feature adds the JSON
//! Schema of every object (schemars).
#![deny(clippy::undocumented_unsafe_blocks)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod backend;
pub mod command;
pub mod device;
pub mod doctor;
pub mod drivers;
pub mod error;
pub mod grant;
pub mod lock;
pub mod mmio;
pub mod observe;
pub mod outcome;
pub mod pci;
pub mod procmaps;
pub mod regmap;
pub mod remote;
pub mod ring;
#[cfg(feature = "schema")]
pub mod schema;
pub mod session;
pub mod stop;
pub mod text;
pub mod unix;
pub mod value;
pub mod window;

pub use error::{DeviceRef, Error, ErrorClass, ErrorKind, Remedy, Result};
