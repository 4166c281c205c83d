//! DMA buffers: page-aligned anonymous memory mapped at an IOVA through the
//! VFIO container, unmapped on drop. The CPU side is reached only through
//! volatile accesses (the device may write it at any time), via [`MmioRegion`].

use std::sync::Arc;

use vfio_ioctls::{VfioContainer, VfioError};

use crate::error::{Error, Result};
use crate::mmio::MmioRegion;

const PAGE: u64 = 4096;

pub struct DmaBuffer {
    // Field order matters only for readability: Drop unmaps the IOVA before
    // the memory (owned by `region`) is released.
    region: MmioRegion,
    iova: u64,
    len: usize,
    container: Arc<VfioContainer>,
    device: String,
}

impl DmaBuffer {
    pub(crate) fn map(
        container: Arc<VfioContainer>,
        device: &str,
        len: usize,
        iova: u64,
        mask_bits: u32,
    ) -> Result<Self> {
        let device = device.to_string();
        if len == 0 {
            return Err(Error::InvalidValue {
                input: "0".into(),
                reason: "a DMA buffer needs at least one byte".into(),
            });
        }
        if iova % PAGE != 0 {
            return Err(Error::InvalidValue {
                input: format!("{iova:#x}"),
                reason: "the IOVA must be page-aligned (4 KiB)".into(),
            });
        }
        let mapped_len = (len as u64).div_ceil(PAGE) * PAGE;
        let limit = if mask_bits >= 64 { u64::MAX } else { 1u64 << mask_bits };
        if iova.checked_add(mapped_len).is_none_or(|end| end > limit) {
            return Err(Error::InvalidValue {
                input: format!("{iova:#x}"),
                reason: format!("IOVA {iova:#x} + {mapped_len:#x} bytes exceeds the device's {mask_bits}-bit DMA mask (limit {limit:#x})"),
            });
        }
        let region = MmioRegion::ram(mapped_len as usize)?;
        let ptr = region.base_ptr();
        // SAFETY: `ptr..ptr+mapped_len` is `region`'s anonymous mapping, alive until Drop unmaps the IOVA
        // first; the CPU reaches it only by volatile accesses through MmioRegion, never by references.
        let mapped = unsafe { container.vfio_dma_map(iova, mapped_len as usize, ptr) };
        mapped.map_err(|e| map_error(&device, e, mapped_len))?;
        log::debug!("{device}: DMA buffer {mapped_len:#x} bytes at IOVA {iova:#x}");
        Ok(DmaBuffer { region, iova, len, container, device })
    }

    pub fn iova(&self) -> u64 {
        self.iova
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// CPU access to the buffer (volatile, checked).
    pub fn memory(&self) -> &MmioRegion {
        &self.region
    }
}

/// ENOMEM from VFIO_IOMMU_MAP_DMA: VFIO charges pinned pages to the process's
/// locked memory (RLIMIT_MEMLOCK) unless it has CAP_IPC_LOCK. When that limit is
/// what stopped us, say how much is needed and how to raise it; otherwise it is
/// real memory exhaustion.
fn map_error(device: &str, e: VfioError, len: u64) -> Error {
    let errno = match &e {
        VfioError::IommuDmaMap(s) => s.errno(),
        _ => 0,
    };
    if errno != nix::libc::ENOMEM {
        return Error::Setup {
            device: device.to_string(),
            message: format!("VFIO DMA map failed: {e}"),
            hint: String::new(),
        };
    }
    let memlock = MemlockState::current();
    if !memlock.exceeded_by(len) {
        return Error::Setup {
            device: device.to_string(),
            message: format!("cannot pin {len} bytes for DMA: out of memory ({e})"),
            hint: "free memory, or use smaller DMA buffers".into(),
        };
    }
    let need_kib = (memlock.locked + len).div_ceil(1024);
    let already = if memlock.locked > 0 { format!(", {} of it in use", kib(memlock.locked)) } else { String::new() };
    Error::Setup {
        device: device.to_string(),
        message: format!(
            "cannot pin {len} bytes for DMA: the locked-memory limit (RLIMIT_MEMLOCK, ulimit -l) is {}{already}",
            kib(memlock.soft)
        ),
        hint: format!(
            "raise it to at least {need_kib} KiB: `ulimit -l {need_kib}` if the hard limit ({}) allows, else as root: \
             `@mmiodrv - memlock 65536` in /etc/security/limits.d/mmiodrv.conf (next login) or LimitMEMLOCK= \
             for a service (see docs/udev.md)",
            kib(memlock.hard)
        ),
    }
}

/// What VFIO's type1 IOMMU checks before pinning: the soft RLIMIT_MEMLOCK
/// against the process's locked memory (`VmLck`, which VFIO's pins count in),
/// unless the process has CAP_IPC_LOCK.
struct MemlockState {
    soft: u64,
    hard: u64,
    locked: u64,
    ipc_lock: bool,
}

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

fn kib(bytes: u64) -> String {
    if bytes == nix::sys::resource::RLIM_INFINITY {
        "unlimited".into()
    } else {
        format!("{} KiB", bytes / 1024)
    }
}

impl Drop for DmaBuffer {
    fn drop(&mut self) {
        let len = (self.len as u64).div_ceil(PAGE) * PAGE;
        if let Err(e) = self.container.vfio_dma_unmap(self.iova, len as usize) {
            log::warn!("{}: unmapping DMA IOVA {:#x}: {e}", self.device, self.iova);
        }
    }
}
