//! A VFIO region (a BAR): mapped where VFIO allows mmap (the whole region, or
//! the areas of its sparse mmap capability), reached by pread/pwrite of the
//! device fd elsewhere (regions without the MMAP flag, such as I/O-port BARs,
//! and the gaps between sparse areas). Every call VFIO gets goes through the
//! [`VfioSys`] seam (sys.rs), so the unit tests below can declare the regions
//! the lab's kernel never produces.
//!
//! Routing, one access at a time: an access lying wholly inside one mapped area
//! is one volatile access of its width through that mapping. Any other access —
//! in a gap, or straddling an area's edge — goes whole through one pread or
//! pwrite of exactly its width, never split at the edge and never byte by byte:
//! the kernel serves pread/pwrite over the whole region (mmap areas included)
//! and reaches the device with one access of that width. (VFIO's areas are
//! page-aligned, so an aligned access of 8 bytes or less straddles an edge only
//! when a region info declares unaligned areas; the tests do.)
//!
//! The pread/pwrite path takes 8-, 16- and 32-bit accesses, not 64-bit ones:
//! before Linux 6.11 vfio-pci turns an 8-byte pread/pwrite into two 32-bit
//! accesses (`vfio_pci_core_do_io_rw`), and port I/O has no 64-bit access on
//! any kernel. Mapped areas take all four widths.

use crate::error::BackendError;
use std::fs::File;
use std::sync::Arc;

use vfio_ioctls::VfioDevice;

use super::sys::{DeviceSys, SysFd, VfioSys};
use crate::backend::file_region::FileRegion;
use crate::error::{DeviceRef, Error, ErrorKind, Result};
use crate::mmio::width::check_access;
use crate::mmio::{MmioRegion, RegisterIo, Width};

/// pread/pwrite on a VFIO region reach the device with the same width up to
/// 32 bits (see the module comment for 64).
const PREAD_WIDTHS: &[Width] = &[Width::W8, Width::W16, Width::W32];

/// One VFIO region (a BAR): its mapped areas and a pread/pwrite fallback.
pub struct VfioRegionIo {
    bar: u8,
    device: DeviceRef,
    len: u64,
    /// What VFIO declares (`VFIO_REGION_INFO_FLAG_READ`/`_WRITE`).
    readable: bool,
    region_writable: bool,
    /// (offset inside the region, mapping); dropped before the fallback, whose
    /// [`VfioSys`] keeps the device fd and the VFIO device (and so its group)
    /// open: closing the group with a mapping still alive fails with EBUSY.
    mapped: Vec<(u64, MmioRegion)>,
    fallback: FileRegion<SysFd>,
}

impl VfioRegionIo {
    /// Region `index` of a device opened through vfio-ioctls, whose device fd
    /// is `file` (duplicated here): see [`VfioRegionIo::open`].
    pub fn open_device(
        vfio: Arc<VfioDevice>,
        file: &File,
        device: DeviceRef,
        index: u32,
        writable: bool,
    ) -> Result<Self> {
        let sys = DeviceSys::new(vfio, file)
            .map_err(|e| Error::io_on(device.clone(), "cannot duplicate", "the VFIO device fd", e))?;
        Self::open(Arc::new(sys), device, index, writable)
    }

    /// Region `index` (a BAR, 0 to 5) as VFIO declares it through `sys`: its
    /// mmap areas mapped, the rest reached by pread/pwrite. Writes are refused
    /// unless `writable`, and on a region VFIO declares read-only whatever
    /// `writable` says (its areas are then mapped read-only).
    pub fn open(sys: Arc<dyn VfioSys>, device: DeviceRef, index: u32, writable: bool) -> Result<Self> {
        let bar = u8::try_from(index).unwrap_or(u8::MAX);
        let info = sys.region_info(index);
        if info.size == 0 {
            return Err(Error::on(device, BackendError::BarNotPresent { bar }));
        }
        let map_writable = writable && info.writable();
        let areas = if info.readable() { info.mmap_areas() } else { Vec::new() };
        let mut mapped = Vec::new();
        for (start, size) in areas {
            let inside = start.checked_add(size).is_some_and(|end| end <= info.size);
            if size == 0 || !inside {
                if size != 0 {
                    log::warn!(
                        "{device}: BAR{bar}: VFIO's mmap area {start:#x}+{size:#x} is outside the {:#x}-byte region; not mapped",
                        info.size
                    );
                }
                continue;
            }
            let too_large = || Error::on(device.clone(), BackendError::BarTooLarge { bar, size });
            let len = usize::try_from(size).map_err(|_| too_large())?;
            let at = info.offset.checked_add(start).ok_or_else(too_large)?;
            let mapping = sys.mmap(len, at, map_writable).map_err(|e| {
                let path = format!("/dev/vfio (BAR{bar}, device fd offset {at:#x})");
                Error::io_on(device.clone(), "cannot mmap VFIO region of", path, e.into())
            })?;
            mapped.push((start, MmioRegion::new(mapping)));
        }
        log::debug!("{device}: BAR{bar}: VFIO region of {:#x} bytes, {} mmap area(s)", info.size, mapped.len());
        let fallback = FileRegion::new(
            SysFd(sys),
            "VFIO device fd".into(),
            device.clone(),
            info.offset,
            info.size,
            PREAD_WIDTHS,
            map_writable,
        );
        Ok(VfioRegionIo {
            bar,
            device,
            len: info.size,
            readable: info.readable(),
            region_writable: info.writable(),
            mapped,
            fallback,
        })
    }

    /// The mapped area holding all of `[offset, offset + width)`, and the
    /// offset inside it.
    fn area(&self, offset: u64, width: Width) -> Option<(&MmioRegion, u64)> {
        self.mapped
            .iter()
            .find(|(start, r)| {
                *start <= offset && r.len().checked_sub(width.bytes()).is_some_and(|last| offset - start <= last)
            })
            .map(|(start, r)| (r, offset - start))
    }

    fn refused(&self, what: &'static str, why: &str) -> Error {
        let why = format!("VFIO declares BAR{} {why}", self.bar);
        Error::on(self.device.clone(), ErrorKind::NotSupported { what, why })
    }
}

impl RegisterIo for VfioRegionIo {
    fn len(&self) -> u64 {
        self.len
    }

    fn read(&self, offset: u64, width: Width) -> Result<u64> {
        check_access(offset, width, self.len)?;
        if !self.readable {
            return Err(self.refused("a read through VFIO", "write-only (no VFIO_REGION_INFO_FLAG_READ)"));
        }
        match self.area(offset, width) {
            Some((r, at)) => r.read(at, width),
            None => self.fallback.read(offset, width),
        }
    }

    fn write(&self, offset: u64, width: Width, value: u64) -> Result<()> {
        check_access(offset, width, self.len)?;
        if !self.region_writable {
            return Err(self.refused("a write through VFIO", "read-only (no VFIO_REGION_INFO_FLAG_WRITE)"));
        }
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

    /// One mapping of the whole region takes every read (`read` goes to it),
    /// when VFIO declares the region readable.
    fn direct(&self) -> Option<&MmioRegion> {
        self.as_mmio().filter(|_| self.readable)
    }
}

#[cfg(test)]
mod tests {
    use vfio_bindings::bindings::vfio::{
        VFIO_REGION_INFO_FLAG_MMAP as MMAP, VFIO_REGION_INFO_FLAG_READ as READ, VFIO_REGION_INFO_FLAG_WRITE as WRITE,
    };

    use super::super::sys::twin::{Call, TwinSys};
    use super::super::sys::RegionInfo;
    use super::*;
    use crate::error::AccessError;

    const PAGE: u64 = 4096;
    /// Where BAR0 starts in the twin's device fd (VFIO puts region N at N << 40;
    /// any page-aligned place will do for the tests).
    const BASE: u64 = 0x10000;

    fn region(flags: u32, size: u64, sparse: Option<Vec<(u64, u64)>>) -> Arc<TwinSys> {
        TwinSys::new(vec![(0, RegionInfo { flags, size, offset: BASE, sparse })])
    }

    fn open(sys: &Arc<TwinSys>, writable: bool) -> VfioRegionIo {
        let r = VfioRegionIo::open(sys.clone(), DeviceRef::Ram, 0, writable).unwrap();
        sys.take_calls();
        r
    }

    fn pread(at: u64, len: usize) -> Call {
        Call::Pread { at: BASE + at, len }
    }

    fn pwrite(at: u64, len: usize) -> Call {
        Call::Pwrite { at: BASE + at, len }
    }

    /// 4 pages: areas on pages 0 and 2, gaps on pages 1 and 3.
    fn two_areas_and_a_gap() -> Arc<TwinSys> {
        region(READ | WRITE | MMAP, 4 * PAGE, Some(vec![(0, PAGE), (2 * PAGE, PAGE)]))
    }

    #[test]
    fn sparse_areas_are_mapped_and_nothing_else() {
        let sys = two_areas_and_a_gap();
        let r = VfioRegionIo::open(sys.clone(), DeviceRef::Ram, 0, true).unwrap();
        assert_eq!(
            sys.take_calls(),
            [
                Call::Mmap { at: BASE, len: PAGE as usize, writable: true },
                Call::Mmap { at: BASE + 2 * PAGE, len: PAGE as usize, writable: true }
            ]
        );
        assert_eq!(r.len(), 4 * PAGE);
        assert!(r.as_mmio().is_none(), "a sparse region is no single mapping");
    }

    #[test]
    fn accesses_inside_an_area_go_through_the_mapping() {
        let sys = two_areas_and_a_gap();
        let r = open(&sys, true);
        for (at, width, value) in [
            (0x0, Width::W32, 0xdead_beef),
            (0xff8, Width::W64, 0x0123_4567_89ab_cdef),
            (2 * PAGE + 0x10, Width::W16, 0xbeef),
            (3 * PAGE - 1, Width::W8, 0x5a),
        ] {
            r.write(at, width, value).unwrap();
            assert_eq!(r.read(at, width).unwrap(), value);
            // The device (the fd) has it: the mapping is of the region's place in the fd.
            let n = width.bytes() as usize;
            assert_eq!(sys.peek(BASE + at, n), value.to_le_bytes()[..n]);
        }
        assert_eq!(sys.take_calls(), [], "no pread/pwrite for mapped accesses");
    }

    #[test]
    fn accesses_in_the_gap_are_one_pread_or_pwrite_of_the_width() {
        let sys = two_areas_and_a_gap();
        let r = open(&sys, true);
        for (at, width, value) in [
            (PAGE, Width::W32, 0xcafe_f00d_u64),
            (PAGE + 0x22, Width::W16, 0x1234),
            (2 * PAGE - 1, Width::W8, 0xa5),
            (3 * PAGE, Width::W32, 0x5555_aaaa),
            (4 * PAGE - 4, Width::W32, 0x0bad_f00d),
        ] {
            r.write(at, width, value).unwrap();
            let n = width.bytes() as usize;
            assert_eq!(sys.peek(BASE + at, n), value.to_le_bytes()[..n], "pwrite at the region's offset");
            sys.poke(BASE + at, &(!value).to_le_bytes()[..n]);
            assert_eq!(r.read(at, width).unwrap(), !value & width.max_value());
            assert_eq!(sys.take_calls(), [pwrite(at, n), pread(at, n)], "{width} at {at:#x}");
        }
    }

    #[test]
    fn a_64_bit_access_in_the_gap_is_refused_not_split() {
        let sys = two_areas_and_a_gap();
        let r = open(&sys, true);
        for e in [r.read(PAGE, Width::W64).unwrap_err(), r.write(PAGE, Width::W64, 1).unwrap_err()] {
            assert!(matches!(e.kind(), ErrorKind::Access(AccessError::WidthNotSupported { bits: 64, .. })), "{e}");
        }
        assert_eq!(sys.take_calls(), [], "refused before any call");
        assert_eq!(sys.peek(BASE + PAGE, 8), [0; 8]);
    }

    /// Areas with edges off the page (the kernel never declares them; a twin
    /// can): an access across an edge goes whole through one pread/pwrite.
    #[test]
    fn an_access_straddling_an_area_edge_goes_whole_through_pread() {
        // Area 0..0x1006 (starts on a page, so it can be mapped), gap after it.
        let sys = region(READ | WRITE | MMAP, 2 * PAGE, Some(vec![(0, 0x1006)]));
        let r = open(&sys, true);
        // 0x1004..0x1006 is inside the area; 0x1004..0x1008 is not.
        r.write(0x1004, Width::W16, 0x1111).unwrap();
        assert_eq!(sys.take_calls(), []);
        r.write(0x1004, Width::W32, 0x2222_3333).unwrap();
        assert_eq!(r.read(0x1004, Width::W32).unwrap(), 0x2222_3333);
        assert_eq!(sys.take_calls(), [pwrite(0x1004, 4), pread(0x1004, 4)]);
        // 0x1000..0x1008 straddles too: 64-bit is refused there (pread path),
        // never split into a mapped half and a pread half.
        assert!(matches!(
            r.read(0x1000, Width::W64).unwrap_err().kind(),
            ErrorKind::Access(AccessError::WidthNotSupported { .. })
        ));
        assert_eq!(r.read(0x1000, Width::W32).unwrap(), 0, "inside the area");
        assert_eq!(sys.take_calls(), []);
    }

    #[test]
    fn a_region_without_the_mmap_flag_is_all_pread_and_pwrite() {
        let sys = region(READ | WRITE, 0x40, None);
        let r = VfioRegionIo::open(sys.clone(), DeviceRef::Ram, 0, true).unwrap();
        assert_eq!(sys.take_calls(), [], "nothing mapped");
        assert!(r.as_mmio().is_none());
        r.write(0x0, Width::W32, 0x8).unwrap();
        r.write(0x4, Width::W8, 0x7f).unwrap();
        assert_eq!(r.read(0x4, Width::W16).unwrap(), 0x7f);
        assert_eq!(sys.take_calls(), [pwrite(0, 4), pwrite(4, 1), pread(4, 2)]);
        assert_eq!(sys.peek(BASE, 8), [8, 0, 0, 0, 0x7f, 0, 0, 0]);
        // Bounds and alignment are checked before any call.
        assert!(matches!(
            r.read(0x40, Width::W8).unwrap_err().kind(),
            ErrorKind::Access(AccessError::OutOfRange { .. })
        ));
        assert!(matches!(
            r.read(0x2, Width::W32).unwrap_err().kind(),
            ErrorKind::Access(AccessError::Misaligned { .. })
        ));
        assert_eq!(sys.take_calls(), []);
    }

    #[test]
    fn the_whole_region_mapped_is_one_mmio_region() {
        let sys = region(READ | WRITE | MMAP, 2 * PAGE, None);
        let r = VfioRegionIo::open(sys.clone(), DeviceRef::Ram, 0, true).unwrap();
        assert_eq!(sys.take_calls(), [Call::Mmap { at: BASE, len: 2 * PAGE as usize, writable: true }]);
        assert_eq!(r.as_mmio().map(|m| m.len()), Some(2 * PAGE));
        r.write(0x1ff8, Width::W64, u64::MAX).unwrap();
        assert_eq!(sys.take_calls(), []);
    }

    #[test]
    fn a_sparse_capability_with_no_areas_maps_nothing() {
        let sys = region(READ | WRITE | MMAP, PAGE, Some(vec![]));
        let r = VfioRegionIo::open(sys.clone(), DeviceRef::Ram, 0, true).unwrap();
        r.read(0, Width::W32).unwrap();
        assert_eq!(sys.take_calls(), [pread(0, 4)]);
    }

    #[test]
    fn areas_outside_the_region_or_empty_are_not_mapped() {
        let sys = region(READ | WRITE | MMAP, 2 * PAGE, Some(vec![(PAGE, 2 * PAGE), (0, 0), (u64::MAX, 2)]));
        let r = VfioRegionIo::open(sys.clone(), DeviceRef::Ram, 0, true).unwrap();
        assert_eq!(sys.take_calls(), [], "nothing fits, nothing mapped");
        r.read(PAGE, Width::W32).unwrap();
        assert_eq!(sys.take_calls(), [pread(PAGE, 4)]);
    }

    #[test]
    fn a_read_only_region_refuses_writes_on_both_paths() {
        let sys = region(READ | MMAP, 2 * PAGE, Some(vec![(0, PAGE)]));
        sys.poke(BASE, &[1, 2, 3, 4]);
        sys.poke(BASE + PAGE, &[5, 6, 7, 8]);
        // Opened for writing all the same: the mapping is made read-only.
        let r = VfioRegionIo::open(sys.clone(), DeviceRef::Ram, 0, true).unwrap();
        assert_eq!(sys.take_calls(), [Call::Mmap { at: BASE, len: PAGE as usize, writable: false }]);
        for at in [0, PAGE] {
            let e = r.write(at, Width::W32, 0xffff_ffff).unwrap_err();
            assert!(matches!(e.kind(), ErrorKind::NotSupported { .. }), "{e}");
            assert_eq!(e.to_string(), "ram: a write through VFIO is not supported: VFIO declares BAR0 read-only (no VFIO_REGION_INFO_FLAG_WRITE)");
        }
        assert_eq!(sys.take_calls(), [], "no pwrite");
        assert_eq!(r.read(0, Width::W32).unwrap(), 0x0403_0201);
        assert_eq!(r.read(PAGE, Width::W32).unwrap(), 0x0807_0605);
        assert_eq!(sys.take_calls(), [pread(PAGE, 4)]);
    }

    #[test]
    fn a_region_opened_read_only_refuses_writes_on_both_paths() {
        let sys = two_areas_and_a_gap();
        let r = VfioRegionIo::open(sys.clone(), DeviceRef::Ram, 0, false).unwrap();
        assert!(sys.take_calls().iter().all(|c| matches!(c, Call::Mmap { writable: false, .. })));
        for at in [0, PAGE] {
            assert!(matches!(
                r.write(at, Width::W32, 1).unwrap_err().kind(),
                ErrorKind::Access(AccessError::NotWritable)
            ));
        }
        assert_eq!(sys.take_calls(), []);
        assert_eq!(sys.peek(BASE, 2 * PAGE as usize), vec![0; 2 * PAGE as usize]);
    }

    #[test]
    fn a_write_only_region_refuses_reads_and_maps_nothing() {
        let sys = region(WRITE | MMAP, PAGE, None);
        let r = VfioRegionIo::open(sys.clone(), DeviceRef::Ram, 0, true).unwrap();
        assert_eq!(sys.take_calls(), []);
        assert!(matches!(r.read(0, Width::W32).unwrap_err().kind(), ErrorKind::NotSupported { .. }));
        r.write(0, Width::W32, 7).unwrap();
        assert_eq!(sys.take_calls(), [pwrite(0, 4)]);
    }

    #[test]
    fn a_missing_region_is_a_missing_bar() {
        let sys = region(READ | WRITE | MMAP, PAGE, None);
        let e = VfioRegionIo::open(sys.clone(), DeviceRef::Ram, 3, true).err().unwrap();
        assert!(matches!(e.kind(), ErrorKind::Backend(BackendError::BarNotPresent { bar: 3 })), "{e}");
        assert_eq!(sys.take_calls(), []);
    }
}
