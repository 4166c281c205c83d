//! Memory-mapped register access: mappings, checked volatile regions, widths and
//! barriers. This module and the backends' syscall seams are the only places with
//! `unsafe`.

pub mod barrier;
pub mod bulk;
pub mod error;
pub mod fault;
pub mod io;
pub mod mapping;
pub mod region;
pub mod width;

pub use io::RegisterIo;
pub use mapping::Mapping;
pub use region::MmioRegion;
pub use width::Width;
