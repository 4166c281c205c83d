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
        // SAFETY: `ptr..ptr+mapped_len` is an anonymous mapping owned by `region`,
        // which this DmaBuffer keeps alive until Drop unmaps the IOVA first. The
        // CPU side only ever uses volatile accesses through MmioRegion (no Rust
        // references), as vfio_dma_map requires.
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

/// ENOMEM from VFIO_IOMMU_MAP_DMA is the locked-memory limit far more often
/// than real memory exhaustion: say which limit and how to raise it.
fn map_error(device: &str, e: VfioError, len: u64) -> Error {
    let errno = match &e {
        VfioError::IommuDmaMap(s) => s.errno(),
        _ => 0,
    };
    if errno == nix::libc::ENOMEM || errno == nix::libc::EPERM {
        let limit = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_MEMLOCK)
            .map(|(soft, _)| soft)
            .unwrap_or(0);
        return Error::Setup {
            device: device.to_string(),
            message: format!("cannot pin {len} bytes for DMA: RLIMIT_MEMLOCK is {limit} bytes"),
            hint: "raise the locked-memory limit (ulimit -l unlimited, or memlock in /etc/security/limits.conf for the mmiodrv group)".into(),
        };
    }
    Error::Setup { device: device.to_string(), message: format!("VFIO DMA map failed: {e}"), hint: String::new() }
}

impl Drop for DmaBuffer {
    fn drop(&mut self) {
        let len = (self.len as u64).div_ceil(PAGE) * PAGE;
        if let Err(e) = self.container.vfio_dma_unmap(self.iova, len as usize) {
            log::warn!("{}: unmapping DMA IOVA {:#x}: {e}", self.device, self.iova);
        }
    }
}
