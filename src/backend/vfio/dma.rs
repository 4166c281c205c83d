//! DMA buffers: page-aligned anonymous memory mapped at an IOVA through the
//! VFIO container, unmapped on drop. The CPU side is reached only through
//! volatile accesses (the device may write it at any time), via [`MmioRegion`].

use crate::error::BackendError;
#[cfg(feature = "vfio")]
use std::sync::Arc;

#[cfg(feature = "vfio")]
use vfio_ioctls::{VfioContainer, VfioError};

use crate::error::{DeviceRef, Error, Result};
use crate::mmio::MmioRegion;

const PAGE: u64 = 4096;

/// RAM the device may read and write at an IOVA, through the IOMMU (made
/// by the VFIO backend: none without the library's `vfio` feature).
#[cfg_attr(not(feature = "vfio"), allow(dead_code))]
pub struct DmaBuffer {
    // Field order matters only for readability: Drop unmaps the IOVA before
    // the memory (owned by `region`) is released.
    region: MmioRegion,
    iova: u64,
    len: usize,
    #[cfg(feature = "vfio")]
    container: Arc<VfioContainer>,
    device: DeviceRef,
    /// The process that mapped it: a child made by fork(2) shares the
    /// container and must not unmap its parent's IOVA (see Drop).
    pid: u32,
}

impl DmaBuffer {
    #[cfg(feature = "vfio")]
    pub(crate) fn map(
        container: Arc<VfioContainer>,
        device: DeviceRef,
        len: usize,
        iova: u64,
        mask_bits: u32,
    ) -> Result<Self> {
        check_request(len, iova, mask_bits)?;
        let mapped_len = (len as u64).div_ceil(PAGE) * PAGE;
        let region = MmioRegion::ram(mapped_len as usize)?;
        let ptr = region.base_ptr();
        // SAFETY: `ptr..ptr+mapped_len` is `region`'s anonymous mapping, alive until Drop unmaps the IOVA
        // first; the CPU reaches it only by volatile accesses through MmioRegion, never by references.
        let mapped = unsafe { container.vfio_dma_map(iova, mapped_len as usize, ptr) };
        mapped.map_err(|e| map_error(device.clone(), e, mapped_len))?;
        log::debug!("{device}: DMA buffer {mapped_len:#x} bytes at IOVA {iova:#x}");
        Ok(DmaBuffer { region, iova, len, container, device, pid: std::process::id() })
    }

    /// The address the device uses for it.
    pub fn iova(&self) -> u64 {
        self.iova
    }

    /// Length asked for (the mapping is rounded up to whole pages).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Never true: a buffer has at least one byte.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// CPU access to the buffer (volatile, checked).
    pub fn memory(&self) -> &MmioRegion {
        &self.region
    }
}

/// Check a buffer request before anything is allocated or mapped: at least one
/// byte, a page-aligned IOVA, and the whole mapping under the DMA mask.
pub fn check_request(len: usize, iova: u64, mask_bits: u32) -> Result<()> {
    if len == 0 {
        return Err(Error::invalid("0", "a DMA buffer needs at least one byte"));
    }
    if iova % PAGE != 0 {
        return Err(Error::invalid(format!("{iova:#x}"), "the IOVA must be page-aligned (4 KiB)"));
    }
    let mapped_len = (len as u64).div_ceil(PAGE) * PAGE;
    let limit = if mask_bits >= 64 { u64::MAX } else { 1u64 << mask_bits };
    if iova.checked_add(mapped_len).is_none_or(|end| end > limit) {
        return Err(BackendError::IovaBeyondMask { iova, len: mapped_len, mask_bits, limit }.into());
    }
    Ok(())
}

#[cfg(feature = "vfio")]
/// ENOMEM from VFIO_IOMMU_MAP_DMA: VFIO charges pinned pages to the process's
/// locked memory (RLIMIT_MEMLOCK) unless it has CAP_IPC_LOCK. When that limit is
/// what stopped us, say how much is needed and how to raise it; otherwise it is
/// real memory exhaustion.
fn map_error(device: DeviceRef, e: VfioError, len: u64) -> Error {
    let errno = match &e {
        VfioError::IommuDmaMap(s) => s.errno(),
        _ => 0,
    };
    if errno != nix::libc::ENOMEM {
        return Error::on(device, BackendError::Vfio { what: "DMA map failed", source: e, remedy: None });
    }
    let memlock = MemlockState::current();
    if !memlock.exceeded_by(len) {
        return Error::on(device, BackendError::DmaOutOfMemory { len });
    }
    let unlimited = |v: u64| if v == nix::sys::resource::RLIM_INFINITY { u64::MAX } else { v };
    Error::on(
        device,
        BackendError::Memlock {
            len,
            soft: unlimited(memlock.soft),
            hard: unlimited(memlock.hard),
            locked: memlock.locked,
        },
    )
}

#[cfg(feature = "vfio")]
/// What VFIO's type1 IOMMU checks before pinning: the soft RLIMIT_MEMLOCK
/// against the process's locked memory (`VmLck`, which VFIO's pins count in),
/// unless the process has CAP_IPC_LOCK.
struct MemlockState {
    soft: u64,
    hard: u64,
    locked: u64,
    ipc_lock: bool,
}

#[cfg(feature = "vfio")]
impl MemlockState {
    fn current() -> Self {
        use nix::sys::resource::{getrlimit, Resource, RLIM_INFINITY};
        let (soft, hard) = getrlimit(Resource::RLIMIT_MEMLOCK).unwrap_or((RLIM_INFINITY, RLIM_INFINITY));
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let field = |name: &str| status.lines().find_map(|l| l.strip_prefix(name)).map(str::trim);
        let locked_kib = field("VmLck:").and_then(|v| v.trim_end_matches("kB").trim().parse::<u64>().ok());
        let cap_eff = field("CapEff:").and_then(|v| u64::from_str_radix(v, 16).ok());
        const CAP_IPC_LOCK: u32 = 14;
        MemlockState {
            soft,
            hard,
            locked: locked_kib.unwrap_or(0) * 1024,
            ipc_lock: cap_eff.is_some_and(|c| c & (1 << CAP_IPC_LOCK) != 0),
        }
    }

    fn exceeded_by(&self, len: u64) -> bool {
        !self.ipc_lock && self.soft != nix::sys::resource::RLIM_INFINITY && self.locked.saturating_add(len) > self.soft
    }
}

#[cfg(feature = "vfio")]
impl Drop for DmaBuffer {
    fn drop(&mut self) {
        // In a child made by fork(2) (a Python script's), the container is
        // the parent's: unmapping would pull the buffer from under its DMA.
        if std::process::id() != self.pid {
            return;
        }
        let len = (self.len as u64).div_ceil(PAGE) * PAGE;
        if let Err(e) = self.container.vfio_dma_unmap(self.iova, len as usize) {
            log::warn!("{}: unmapping DMA IOVA {:#x}: {e}", self.device, self.iova);
        }
    }
}
