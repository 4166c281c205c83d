//! A register window reached by `pread`/`pwrite` on a file: sysfs I/O-port BARs
//! (`resourceN` of an I/O BAR), and regions that cannot be mapped.
//!
//! Each call is one system call of exactly the access width; the kernel turns it
//! into one access (`inb`/`inw`/`inl` for I/O BARs). A short transfer is an error,
//! never retried byte by byte.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::mmio::width::check_access;
use crate::mmio::{RegisterIo, Width};

pub struct FileRegion {
    file: File,
    path: PathBuf,
    device: String,
    /// Offset of the window inside the file.
    base: u64,
    len: u64,
    widths: &'static [Width],
}

impl FileRegion {
    pub fn new(file: File, path: PathBuf, device: String, base: u64, len: u64, widths: &'static [Width]) -> Self {
        FileRegion { file, path, device, base, len, widths }
    }

    fn check(&self, offset: u64, width: Width) -> Result<u64> {
        check_access(offset, width, self.len)?;
        if !self.widths.contains(&width) {
            return Err(Error::Unsupported {
                device: self.device.clone(),
                message: format!("{} takes no {width} accesses", self.path.display()),
            });
        }
        self.base.checked_add(offset).ok_or(Error::OutOfRange { offset, width: width.bytes(), len: self.len })
    }

    fn short(&self, what: &'static str, done: usize, width: Width) -> Error {
        Error::io(
            &self.device,
            what,
            &self.path,
            std::io::Error::other(format!("transferred {done} of {} bytes", width.bytes())),
        )
    }
}

impl RegisterIo for FileRegion {
    fn len(&self) -> u64 {
        self.len
    }

    fn read(&self, offset: u64, width: Width) -> Result<u64> {
        let at = self.check(offset, width)?;
        let mut buf = [0u8; 8];
        let n = width.bytes() as usize;
        let got =
            self.file.read_at(&mut buf[..n], at).map_err(|e| Error::io(&self.device, "cannot read", &self.path, e))?;
        if got != n {
            return Err(self.short("short read from", got, width));
        }
        Ok(u64::from_le_bytes(buf))
    }

    fn write(&self, offset: u64, width: Width, value: u64) -> Result<()> {
        width.check_value(value, "access")?;
        let at = self.check(offset, width)?;
        let n = width.bytes() as usize;
        let bytes = value.to_le_bytes();
        let put =
            self.file.write_at(&bytes[..n], at).map_err(|e| Error::io(&self.device, "cannot write", &self.path, e))?;
        if put != n {
            return Err(self.short("short write to", put, width));
        }
        Ok(())
    }
}
