//! The one interface every register window implements, whatever the backend:
//! an mmap'ed BAR, a VFIO region reached by pread/pwrite, or an I/O-port BAR.

use crate::error::Result;
use crate::mmio::region::MmioRegion;
use crate::mmio::width::Width;

/// Register-granular access to one BAR or region.
///
/// Implementations perform exactly one access of `width` per call, naturally
/// aligned, and check `offset + width <= len()` first. `Send + Sync`: a
/// window may be used from several threads (each access is one instruction).
pub trait RegisterIo: Send + Sync {
    /// Size of the window in bytes.
    fn len(&self) -> u64;

    /// Whether the window is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One read of `width` at `offset`.
    fn read(&self, offset: u64, width: Width) -> Result<u64>;

    /// One write of `width` at `offset`; `value` must fit the width.
    fn write(&self, offset: u64, width: Width, value: u64) -> Result<()>;

    /// The mapping behind this window, when it is memory-mapped (needed for typed
    /// register blocks and bulk copies); `None` for pread/pwrite windows.
    fn as_mmio(&self) -> Option<&MmioRegion> {
        None
    }

    /// The mapping that this window's single accesses go to unchanged, when
    /// there is one: an access of `width` at `offset` through it is exactly
    /// [`RegisterIo::read`]'s. A read made many times over
    /// ([`crate::window::ReadPlan`]) then checks its place once and loads
    /// from it directly. `None` (the default) for anything else: pread/pwrite
    /// windows, and wrappers that record or change accesses (a trace), whose
    /// [`RegisterIo::read`] every access must go through.
    fn direct(&self) -> Option<&MmioRegion> {
        None
    }

    /// Whether a bus error hit the mapping behind this window: the device
    /// went away, and accesses since then read zeros and wrote nothing.
    /// (Checked after each access by [`crate::window::Window`]; a program
    /// using the window directly checks it after a sequence of accesses.)
    fn faulted(&self) -> bool {
        self.as_mmio().is_some_and(MmioRegion::faulted)
    }
}

/// The mapped window: one volatile access per call (the accesses
/// themselves are [`MmioRegion`]'s).
impl RegisterIo for MmioRegion {
    #[inline]
    fn len(&self) -> u64 {
        MmioRegion::len(self)
    }

    #[inline]
    fn read(&self, offset: u64, width: Width) -> Result<u64> {
        self.read_width(offset, width)
    }

    #[inline]
    fn write(&self, offset: u64, width: Width, value: u64) -> Result<()> {
        self.write_width(offset, width, value)
    }

    fn as_mmio(&self) -> Option<&MmioRegion> {
        Some(self)
    }

    fn direct(&self) -> Option<&MmioRegion> {
        Some(self)
    }
}
