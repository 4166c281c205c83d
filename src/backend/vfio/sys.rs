//! The seam between a VFIO region (region.rs) and the kernel: what VFIO says
//! about a region (`VFIO_DEVICE_GET_REGION_INFO`: flags, size, offset in the
//! device fd, sparse mmap areas), pread/pwrite on the device fd, and mmap of
//! it. [`DeviceSys`] is the real one (vfio-ioctls and the device fd); the unit
//! tests of region.rs use a twin that declares regions the lab's kernel never
//! produces (sparse areas, no MMAP flag, read-only) and records every call, as
//! vfio-ioctls tests itself against a fake of its syscall layer.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use vfio_bindings::bindings::vfio::{
    VFIO_REGION_INFO_FLAG_MMAP, VFIO_REGION_INFO_FLAG_READ, VFIO_REGION_INFO_FLAG_WRITE,
};
use vfio_ioctls::{VfioDevice, VfioRegionInfoCap};

use crate::mmio::Mapping;

/// What VFIO declares about one region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegionInfo {
    /// `VFIO_REGION_INFO_FLAG_*`.
    pub flags: u32,
    /// Size in bytes.
    pub size: u64,
    /// Where the region starts in the device fd (for pread/pwrite and mmap).
    pub offset: u64,
    /// The sparse mmap capability's areas (offset in the region, size), when
    /// the region has one: only these may be mapped.
    pub sparse: Option<Vec<(u64, u64)>>,
}

impl RegionInfo {
    /// Reads allowed.
    pub fn readable(&self) -> bool {
        self.flags & VFIO_REGION_INFO_FLAG_READ != 0
    }

    /// Writes allowed.
    pub fn writable(&self) -> bool {
        self.flags & VFIO_REGION_INFO_FLAG_WRITE != 0
    }

    /// The areas that may be mapped (offset in the region, size): none without
    /// the MMAP flag, the sparse areas when there is a sparse capability (none
    /// when it lists none), else the whole region.
    pub fn mmap_areas(&self) -> Vec<(u64, u64)> {
        if self.flags & VFIO_REGION_INFO_FLAG_MMAP == 0 {
            return Vec::new();
        }
        match &self.sparse {
            Some(areas) => areas.clone(),
            None => vec![(0, self.size)],
        }
    }
}

/// The VFIO calls a region makes.
pub trait VfioSys: Send + Sync {
    /// What VFIO declares about region `index`.
    fn region_info(&self, index: u32) -> RegionInfo;

    /// pread(2) on the device fd at `offset`.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;

    /// pwrite(2) on the device fd at `offset`.
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize>;

    /// mmap(2) of `len` bytes of the device fd at `offset`, shared.
    fn mmap(&self, len: usize, offset: u64, writable: bool) -> nix::Result<Mapping>;
}

/// A [`VfioSys`] as a positional file, for the pread/pwrite window
/// ([`crate::backend::file_region::FileRegion`]).
pub struct SysFd(pub Arc<dyn VfioSys>);

impl FileExt for SysFd {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.0.read_at(buf, offset)
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        self.0.write_at(buf, offset)
    }
}

/// The real calls: region info that vfio-ioctls read when it opened the device,
/// and a duplicate of the device fd.
pub struct DeviceSys {
    /// Declared before `device`, so closed first: closing the group while the
    /// device fd (or a mapping of it) is still open fails with EBUSY.
    file: File,
    device: Arc<VfioDevice>,
}

impl DeviceSys {
    /// A duplicate of the device fd `file` of `device`.
    pub fn new(device: Arc<VfioDevice>, file: &File) -> io::Result<Self> {
        let raw = nix::fcntl::fcntl(file.as_raw_fd(), nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(0))?;
        // SAFETY: `raw` is a fresh descriptor from fcntl(F_DUPFD_CLOEXEC) that
        // nothing else owns; the File takes sole ownership and closes it once.
        let file = unsafe { File::from_raw_fd(raw) };
        Ok(DeviceSys { file, device })
    }
}

impl VfioSys for DeviceSys {
    fn region_info(&self, index: u32) -> RegionInfo {
        let sparse = self.device.get_region_caps(index).into_iter().find_map(|c| match c {
            VfioRegionInfoCap::SparseMmap(s) => Some(s.areas.iter().map(|a| (a.offset, a.size)).collect()),
            _ => None,
        });
        RegionInfo {
            flags: self.device.get_region_flags(index),
            size: self.device.get_region_size(index),
            offset: self.device.get_region_offset(index),
            sparse,
        }
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.file.read_at(buf, offset)
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        self.file.write_at(buf, offset)
    }

    fn mmap(&self, len: usize, offset: u64, writable: bool) -> nix::Result<Mapping> {
        Mapping::map_file(&self.file, len, offset, writable)
    }
}

/// The test twin: regions declared by the test, a temporary file standing in
/// for the device fd (so the mapped and the pread/pwrite paths see the same
/// bytes, as on a device), and a log of every call.
#[cfg(test)]
pub mod twin {
    use std::sync::Mutex;

    use super::*;

    /// One call the region made.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Call {
        /// pread of `len` bytes at `at` in the device fd.
        Pread { at: u64, len: usize },
        /// pwrite of `len` bytes at `at`.
        Pwrite { at: u64, len: usize },
        /// mmap of `len` bytes at `at`.
        Mmap { at: u64, len: usize, writable: bool },
    }

    /// Declared regions over a temporary file, and the calls made.
    pub struct TwinSys {
        regions: Vec<(u32, RegionInfo)>,
        file: File,
        calls: Mutex<Vec<Call>>,
    }

    impl TwinSys {
        /// A device with these regions; its fd is a zeroed temporary file
        /// covering all of them.
        pub fn new(regions: Vec<(u32, RegionInfo)>) -> Arc<TwinSys> {
            let file = tempfile::tempfile().expect("a temporary file");
            let end = regions.iter().map(|(_, r)| r.offset + r.size).max().unwrap_or(0);
            file.set_len(end).expect("sized");
            Arc::new(TwinSys { regions, file, calls: Mutex::new(Vec::new()) })
        }

        /// The calls made since the last `take_calls`.
        pub fn take_calls(&self) -> Vec<Call> {
            std::mem::take(&mut *self.calls.lock().unwrap())
        }

        /// Bytes of the fd, past the region code (what the device holds).
        pub fn peek(&self, at: u64, len: usize) -> Vec<u8> {
            let mut b = vec![0; len];
            self.file.read_exact_at(&mut b, at).unwrap();
            b
        }

        /// Put bytes into the fd, past the region code.
        pub fn poke(&self, at: u64, bytes: &[u8]) {
            self.file.write_all_at(bytes, at).unwrap();
        }

        fn log(&self, call: Call) {
            self.calls.lock().unwrap().push(call);
        }
    }

    impl VfioSys for TwinSys {
        fn region_info(&self, index: u32) -> RegionInfo {
            let none = RegionInfo { flags: 0, size: 0, offset: 0, sparse: None };
            self.regions.iter().find(|(i, _)| *i == index).map_or(none, |(_, r)| r.clone())
        }

        fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
            self.log(Call::Pread { at: offset, len: buf.len() });
            self.file.read_at(buf, offset)
        }

        fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
            self.log(Call::Pwrite { at: offset, len: buf.len() });
            self.file.write_at(buf, offset)
        }

        fn mmap(&self, len: usize, offset: u64, writable: bool) -> nix::Result<Mapping> {
            self.log(Call::Mmap { at: offset, len, writable });
            Mapping::map_file(&self.file, len, offset, writable)
        }
    }
}
