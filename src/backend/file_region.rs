//! A register window reached by `pread`/`pwrite` on a file: sysfs I/O-port BARs
//! (`resourceN` of an I/O BAR), and VFIO regions (or parts) that cannot be mapped
//! (there the "file" is the VFIO device fd behind vfio/sys.rs's seam).
//!
//! Each call is one system call of exactly the access width; the kernel turns it
//! into one access (`inb`/`inw`/`inl` for I/O BARs). A short transfer is an error,
//! never retried byte by byte.

use crate::error::AccessError;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use crate::error::{DeviceRef, Error, Result};
use crate::mmio::width::check_access;
use crate::mmio::{RegisterIo, Width};

/// A window of `len` bytes at `base` in a file (anything with positional
/// reads and writes), accessed by pread/pwrite.
pub struct FileRegion<F = File> {
    file: F,
    path: PathBuf,
    device: DeviceRef,
    /// Offset of the window inside the file.
    base: u64,
    len: u64,
    widths: &'static [Width],
    writable: bool,
}

impl<F: FileExt> FileRegion<F> {
    /// A window on `file` (named `path` in messages) of `device`, taking
    /// accesses of `widths`; writes are refused unless `writable`.
    pub fn new(
        file: F,
        path: PathBuf,
        device: DeviceRef,
        base: u64,
        len: u64,
        widths: &'static [Width],
        writable: bool,
    ) -> Self {
        FileRegion { file, path, device, base, len, widths, writable }
    }

    fn check(&self, offset: u64, width: Width) -> Result<u64> {
        check_access(offset, width, self.len)?;
        if !self.widths.contains(&width) {
            let window = self.path.display().to_string();
            return Err(Error::on(self.device.clone(), AccessError::WidthNotSupported { window, bits: width.bits() }));
        }
        self.base
            .checked_add(offset)
            .ok_or_else(|| AccessError::OutOfRange { offset, width: width.bytes(), len: self.len }.into())
    }

    fn short(&self, what: &'static str, done: usize, width: Width) -> Error {
        let why = std::io::Error::other(format!("transferred {done} of {} bytes", width.bytes()));
        Error::io_on(self.device.clone(), what, &self.path, why)
    }
}

impl<F: FileExt + Send + Sync> RegisterIo for FileRegion<F> {
    fn len(&self) -> u64 {
        self.len
    }

    fn read(&self, offset: u64, width: Width) -> Result<u64> {
        let at = self.check(offset, width)?;
        let mut buf = [0u8; 8];
        let n = width.bytes() as usize;
        let got = self
            .file
            .read_at(&mut buf[..n], at)
            .map_err(|e| Error::io_on(self.device.clone(), "cannot read", &self.path, e))?;
        if got != n {
            return Err(self.short("short read from", got, width));
        }
        Ok(u64::from_le_bytes(buf))
    }

    fn write(&self, offset: u64, width: Width, value: u64) -> Result<()> {
        width.check_value(value, "access")?;
        if !self.writable {
            return Err(Error::on(self.device.clone(), AccessError::NotWritable));
        }
        let at = self.check(offset, width)?;
        let n = width.bytes() as usize;
        let bytes = value.to_le_bytes();
        let put = self
            .file
            .write_at(&bytes[..n], at)
            .map_err(|e| Error::io_on(self.device.clone(), "cannot write", &self.path, e))?;
        if put != n {
            return Err(self.short("short write to", put, width));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn region(writable: bool) -> (tempfile::NamedTempFile, FileRegion) {
        let tmp = tempfile::NamedTempFile::new().unwrap();
        tmp.as_file().set_len(64).unwrap();
        let file = std::fs::OpenOptions::new().read(true).write(true).open(tmp.path()).unwrap();
        let r = FileRegion::new(file, tmp.path().into(), DeviceRef::Ram, 16, 32, &[Width::W8, Width::W32], writable);
        (tmp, r)
    }

    #[test]
    fn one_pread_or_pwrite_of_the_width_inside_the_window() {
        let (tmp, r) = region(true);
        r.write(4, Width::W32, 0xdead_beef).unwrap();
        let bytes = std::fs::read(tmp.path()).unwrap();
        assert_eq!(&bytes[20..24], &0xdead_beefu32.to_le_bytes(), "window starts at base 16");
        assert_eq!(r.read(4, Width::W32).unwrap(), 0xdead_beef);
        assert_eq!(r.read(7, Width::W8).unwrap(), 0xde);
        assert!(matches!(
            r.read(4, Width::W16).unwrap_err().kind(),
            ErrorKind::Access(AccessError::WidthNotSupported { .. })
        ));
        assert!(matches!(r.read(32, Width::W8).unwrap_err().kind(), ErrorKind::Access(AccessError::OutOfRange { .. })));
    }

    #[test]
    fn a_read_only_window_refuses_writes() {
        let (tmp, r) = region(false);
        assert!(matches!(r.write(0, Width::W32, 1).unwrap_err().kind(), ErrorKind::Access(AccessError::NotWritable)));
        assert!(std::fs::read(tmp.path()).unwrap().iter().all(|b| *b == 0), "nothing written");
    }
}
