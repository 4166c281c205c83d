//! A VFIO region: mapped where VFIO allows mmap (whole region or its sparse
//! areas; the MSI-X table page is the usual hole), pread/pwrite elsewhere.

use std::fs::File;
use std::sync::Arc;

use vfio_ioctls::VfioDevice;

use crate::backend::file_region::FileRegion;
use crate::error::{DeviceRef, Error, Result};
use crate::mmio::width::check_access;
use crate::mmio::{Mapping, MmioRegion, RegisterIo, Width};

/// pread/pwrite on a VFIO region reach the device with the same width.
const PREAD_WIDTHS: &[Width] = &[Width::W8, Width::W16, Width::W32, Width::W64];

/// One VFIO region (a BAR): its mapped areas and a pread/pwrite fallback.
pub struct VfioRegionIo {
    len: u64,
    /// (offset inside the region, mapping)
    mapped: Vec<(u64, MmioRegion)>,
    fallback: FileRegion,
    /// Keeps the VFIO device (and so its group) open while mappings and the
    /// duplicated fd exist: declared last, dropped last. Closing the group
    /// with a mapping still alive fails with EBUSY.
    _device: Arc<VfioDevice>,
}

impl VfioRegionIo {
    /// The region at `offset` of the device fd `file`, `len` bytes, mapped in
    /// `areas` (offset, size) and reached by pread/pwrite elsewhere; writes
    /// are refused on both paths unless `writable`.
    pub fn new(
        vfio: Arc<VfioDevice>,
        file: &File,
        device: DeviceRef,
        offset: u64,
        len: u64,
        areas: &[(u64, u64)],
        writable: bool,
    ) -> Result<Self> {
        let mut mapped = Vec::new();
        for &(start, size) in areas.iter().filter(|(_, size)| *size > 0) {
            let mapping = Mapping::map_file(file, size as usize, offset + start, writable).map_err(|e| {
                let at = format!("/dev/vfio (region offset {offset:#x})");
                Error::io_on(device.clone(), "cannot mmap VFIO region of", at, e.into())
            })?;
            mapped.push((start, MmioRegion::new(mapping)));
        }
        log::debug!("{device}: VFIO region of {len:#x} bytes, {} mmap area(s)", mapped.len());
        let file =
            file.try_clone().map_err(|e| Error::io_on(device.clone(), "cannot duplicate", "VFIO device fd", e))?;
        let fallback = FileRegion::new(file, "VFIO device fd".into(), device, offset, len, PREAD_WIDTHS, writable);
        Ok(VfioRegionIo { len, mapped, fallback, _device: vfio })
    }

    fn area(&self, offset: u64, width: Width) -> Option<(&MmioRegion, u64)> {
        self.mapped
            .iter()
            .find(|(start, r)| *start <= offset && offset + width.bytes() <= start + r.len())
            .map(|(start, r)| (r, offset - start))
    }
}

impl RegisterIo for VfioRegionIo {
    fn len(&self) -> u64 {
        self.len
    }

    fn read(&self, offset: u64, width: Width) -> Result<u64> {
        check_access(offset, width, self.len)?;
        match self.area(offset, width) {
            Some((r, at)) => r.read(at, width),
            None => self.fallback.read(offset, width),
        }
    }

    fn write(&self, offset: u64, width: Width, value: u64) -> Result<()> {
        check_access(offset, width, self.len)?;
        match self.area(offset, width) {
            Some((r, at)) => r.write(at, width, value),
            None => self.fallback.write(offset, width, value),
        }
    }

    fn faulted(&self) -> bool {
        self.mapped.iter().any(|(_, r)| r.faulted())
    }

    fn as_mmio(&self) -> Option<&MmioRegion> {
        match self.mapped.as_slice() {
            [(0, r)] if r.len() == self.len => Some(r),
            _ => None,
        }
    }
}
