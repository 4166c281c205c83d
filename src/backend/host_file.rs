//! A file on the host as a device (`--device file:PATH`): the file is the
//! device's one memory region, shown as BAR0, mapped shared so that another
//! process using the same file (QEMU's ivshmem memory backend, a simulator)
//! sees the same bytes. Offsets are file offsets; a register map applies to
//! the file whatever BAR it names. There is no config space, so no IDs, no
//! built-in driver, no interrupts and no DMA.

use crate::error::BackendError;
use std::fs::File;
use std::path::{Path, PathBuf};

use crate::backend::{Backend, BackendKind, BarInfo, BarOptions};
use crate::error::{DeviceRef, Error, ErrorKind, Result};
use crate::mmio::{Mapping, MmioRegion, RegisterIo};
use crate::pci::{BarKind, ConfigSpace};

/// Open `path` as a shared-memory file: a regular, non-empty file (opening
/// never blocks on a FIFO). `what` says what it should be, for the error when
/// it is not. Returns the file and its length.
pub fn open_regular(path: &Path, writable: bool, what: &'static str) -> Result<(File, u64)> {
    use std::os::unix::fs::OpenOptionsExt;
    let name = DeviceRef::File(path.to_path_buf());
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(writable)
        .custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_NOCTTY)
        .open(path)
        .map_err(|e| Error::io_on(name.clone(), "cannot open", path, e))?;
    let meta = file.metadata().map_err(|e| Error::io_on(name.clone(), "cannot stat", path, e))?;
    if !meta.is_file() {
        return Err(Error::on(name, ErrorKind::NotARegularFile { what, path: path.to_path_buf() }));
    }
    if let Some(fs) = kernel_filesystem(&file) {
        let why = format!(
            "it is a {fs} file, not shared memory (a PCI BAR's sysfs resourceN is the device itself): name the device by \
             its address, which checks its driver and takes its lock"
        );
        return Err(Error::on(name, ErrorKind::NotSupported { what: "this file", why }));
    }
    if meta.len() == 0 {
        let why = format!("the file is empty: it is not (yet) {what}");
        return Err(Error::on(name, ErrorKind::NotSupported { what: "this file", why }));
    }
    Ok((file, meta.len()))
}

/// The kernel's own filesystem `file` lies on (sysfs, procfs, debugfs...),
/// whose regular files are views of the kernel and its devices, if it does.
fn kernel_filesystem(file: &File) -> Option<&'static str> {
    use nix::sys::statfs::{fstatfs, FsType};
    let kind = fstatfs(file).ok()?.filesystem_type();
    const KNOWN: [(i64, &str); 6] = [
        (0x6265_6572, "sysfs"),
        (0x9fa0, "procfs"),
        (0x6462_6720, "debugfs"),
        (0x7472_6163, "tracefs"),
        (0x7363_6673, "securityfs"),
        (0x6e73_6673, "nsfs"),
    ];
    KNOWN.iter().find(|(magic, _)| kind == FsType(*magic as _)).map(|(_, n)| *n)
}

/// Map all `len` bytes of an open file, shared.
pub fn map(file: &File, len: u64, path: &Path, writable: bool) -> Result<MmioRegion> {
    let name = DeviceRef::File(path.to_path_buf());
    let size = usize::try_from(len).map_err(|_| {
        Error::on(name.clone(), ErrorKind::NotSupported { what: "this file", why: "too large to map".into() })
    })?;
    let mapping =
        Mapping::map_file(file, size, 0, writable).map_err(|e| Error::io_on(name, "cannot map", path, e.into()))?;
    Ok(MmioRegion::new(mapping))
}

const WHAT: &str = "a shared-memory file (e.g. under /dev/shm)";

/// A host file reached as a device.
#[derive(Debug)]
pub struct HostFileBackend {
    path: PathBuf,
    len: u64,
}

impl HostFileBackend {
    /// Check that `path` is a regular, non-empty file (nothing is mapped yet).
    pub fn open(path: &Path) -> Result<Self> {
        let (_, len) = open_regular(path, false, WHAT)?;
        Ok(HostFileBackend { path: path.to_path_buf(), len })
    }
}

impl Backend for HostFileBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::File
    }

    fn device(&self) -> DeviceRef {
        DeviceRef::File(self.path.clone())
    }

    /// A file has no config space: an empty one.
    fn read_config(&self) -> Result<ConfigSpace> {
        Ok(ConfigSpace::new(Vec::new()))
    }

    fn bars(&self) -> Result<Vec<BarInfo>> {
        Ok(vec![BarInfo {
            index: 0,
            kind: BarKind::Memory,
            address: 0,
            size: self.len,
            is_64bit: false,
            prefetchable: false,
        }])
    }

    fn open_bar(&self, bar: u8, options: BarOptions) -> Result<Box<dyn RegisterIo>> {
        if bar != 0 {
            return Err(Error::on(self.device(), BackendError::BarNotPresent { bar }));
        }
        let (file, len) = open_regular(&self.path, options.writable, WHAT)?;
        if len != self.len {
            let why = format!("its length went from {:#x} to {len:#x} bytes", self.len);
            return Err(Error::on(self.device(), ErrorKind::Changed { what: "the file", why }));
        }
        Ok(Box::new(map(&file, len, &self.path, options.writable)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AccessError;
    use crate::mmio::Width;

    #[test]
    fn the_file_is_bar0_and_offsets_are_file_offsets() {
        let tmp = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(tmp.path(), [0u8; 64]).unwrap();
        let b = HostFileBackend::open(tmp.path()).unwrap();
        assert_eq!(b.bars().unwrap()[0].size, 64);
        assert!(b.read_config().unwrap().vendor_id().is_none());
        let io = b.open_bar(0, BarOptions::RW).unwrap();
        io.write(8, Width::W32, 0xdead_beef).unwrap();
        assert_eq!(&std::fs::read(tmp.path()).unwrap()[8..12], &0xdead_beefu32.to_le_bytes());
        assert!(matches!(
            b.open_bar(2, BarOptions::RO).err().unwrap().kind(),
            ErrorKind::Backend(BackendError::BarNotPresent { bar: 2 })
        ));
        let ro = b.open_bar(0, BarOptions::RO).unwrap();
        assert!(matches!(ro.write(0, Width::W32, 1).unwrap_err().kind(), ErrorKind::Access(AccessError::NotWritable)));
    }

    #[test]
    fn empty_files_and_directories_are_refused() {
        let tmp = tempfile::NamedTempFile::new().unwrap();
        assert!(matches!(HostFileBackend::open(tmp.path()).unwrap_err().kind(), ErrorKind::NotSupported { .. }));
        let dir = tempfile::tempdir().unwrap();
        assert!(HostFileBackend::open(dir.path()).is_err());
    }
}
