//! Owned memory mappings: a BAR's resource file, a VFIO region, or anonymous RAM
//! (for tests and DMA buffers). The mapping is unmapped exactly once, on drop.

use std::num::NonZeroUsize;
use std::os::fd::{AsFd, AsRawFd};
use std::ptr::NonNull;

use nix::sys::mman::{mmap, mmap_anonymous, munmap, MapFlags, ProtFlags};

/// A live `mmap` of `len` bytes.
#[derive(Debug)]
pub struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
    writable: bool,
    /// Device mappings are watched for bus errors (see fault.rs).
    fault_slot: Option<usize>,
}

// SAFETY: a Mapping is only an address range it owns; nothing in it is tied to the
// creating thread, and all access to the memory goes through volatile operations
// in `region.rs`, which take no references.
unsafe impl Send for Mapping {}
// SAFETY: see above; shared use only reads the pointer and length.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Map `len` bytes of `file` from `offset`, shared, read-write or read-only.
    pub fn map_file<F: AsFd>(file: F, len: usize, offset: u64, writable: bool) -> nix::Result<Self> {
        let length = NonZeroUsize::new(len).ok_or(nix::Error::EINVAL)?;
        let offset = i64::try_from(offset).map_err(|_| nix::Error::EOVERFLOW)?;
        let prot = if writable { ProtFlags::PROT_READ | ProtFlags::PROT_WRITE } else { ProtFlags::PROT_READ };
        // `-vv` shows every mapping made, for the mappings lab.
        let path = log::log_enabled!(log::Level::Debug)
            .then(|| std::fs::read_link(format!("/proc/self/fd/{}", file.as_fd().as_raw_fd())).ok())
            .flatten();
        // SAFETY: we ask the kernel for a fresh mapping at an address of its choosing
        // (no MAP_FIXED), so no existing Rust memory is aliased or replaced.
        let ptr = unsafe { mmap(None, length, prot, MapFlags::MAP_SHARED, file, offset as _)? };
        if let Some(path) = path {
            let rw = if writable { "read-write" } else { "read-only" };
            log::debug!("mmap {len:#x} bytes of {} at file offset {offset:#x}: {ptr:p}, shared, {rw}", path.display());
        }
        let fault_slot = super::fault::register(ptr.as_ptr() as usize, len);
        Ok(Mapping { ptr: ptr.cast(), len, writable, fault_slot })
    }

    /// Private zeroed anonymous memory: the RAM-backed stand-in for a BAR in unit
    /// tests, and page-aligned backing for DMA buffers.
    pub fn anonymous(len: usize) -> nix::Result<Self> {
        let length = NonZeroUsize::new(len).ok_or(nix::Error::EINVAL)?;
        // SAFETY: a fresh anonymous mapping at a kernel-chosen address aliases nothing.
        let ptr = unsafe {
            mmap_anonymous(None, length, ProtFlags::PROT_READ | ProtFlags::PROT_WRITE, MapFlags::MAP_PRIVATE)?
        };
        log::debug!("mmap {len:#x} bytes of anonymous memory: {ptr:p}, private, read-write");
        Ok(Mapping { ptr: ptr.cast(), len, writable: true, fault_slot: None })
    }

    /// Start of the mapping.
    pub fn as_ptr(&self) -> NonNull<u8> {
        self.ptr
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Never true: mappings have at least one byte.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether a bus error hit this mapping: the device behind it went away,
    /// and the mapping now reads zeros (see fault.rs).
    pub fn faulted(&self) -> bool {
        self.fault_slot.is_some_and(super::fault::faulted)
    }

    /// The flag a bus error on this mapping sets (None for memory no device
    /// is behind): what [`Mapping::faulted`] reads, found once.
    pub(crate) fn fault_flag(&self) -> Option<&'static std::sync::atomic::AtomicBool> {
        self.fault_slot.map(super::fault::flag)
    }

    /// False for a PROT_READ mapping: a store there would fault, so regions refuse it.
    pub fn is_writable(&self) -> bool {
        self.writable
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        if let Some(slot) = self.fault_slot {
            super::fault::unregister(slot);
        }
        // SAFETY: ptr/len are exactly what mmap returned, and every MmioRegion that
        // points into this mapping holds an Arc to it, so none outlives this call.
        if let Err(e) = unsafe { munmap(self.ptr.cast(), self.len) } {
            log::warn!("munmap of {} bytes failed: {e}", self.len);
        }
    }
}
