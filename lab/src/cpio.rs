//! Minimal writer for the "newc" cpio format the kernel unpacks as initramfs.
//!
//! The per-run overlay is appended to the (gzip) base archive; the kernel
//! unpacks concatenated archives in order, later entries overriding earlier ones.

use std::collections::BTreeSet;
use std::io::{self, Read, Write};

const MAGIC: &str = "070701";
const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;

/// Streams entries into `out`. Parent directories are emitted automatically,
/// because the kernel's unpacker does not create missing parents.
pub struct CpioWriter<W: Write> {
    out: W,
    written: u64,
    next_ino: u32,
    dirs: BTreeSet<String>,
}

impl<W: Write> CpioWriter<W> {
    pub fn new(out: W) -> Self {
        CpioWriter { out, written: 0, next_ino: 1, dirs: BTreeSet::new() }
    }

    /// Adds a regular file at absolute guest `path` with permission bits `perm`.
    pub fn add_file(&mut self, path: &str, perm: u32, size: u64, data: &mut dyn Read) -> io::Result<()> {
        let name = normalize(path)?;
        if let Some((parent, _)) = name.rsplit_once('/') {
            self.add_dirs(parent)?;
        }
        let size32 = u32::try_from(size).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "file over 4 GiB"))?;
        self.header(&name, S_IFREG | (perm & 0o7777), size32)?;
        let copied = io::copy(&mut data.take(size), &mut self.counting())?;
        if copied != size {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, format!("{path}: file shrank while copying")));
        }
        self.pad()
    }

    /// Writes the trailer and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.header("TRAILER!!!", 0, 0)?;
        self.pad()?;
        self.out.flush()?;
        Ok(self.out)
    }

    fn add_dirs(&mut self, dir: &str) -> io::Result<()> {
        let mut prefix = String::new();
        for part in dir.split('/') {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(part);
            if self.dirs.insert(prefix.clone()) {
                let p = prefix.clone();
                self.header(&p, S_IFDIR | 0o755, 0)?;
            }
        }
        Ok(())
    }

    fn header(&mut self, name: &str, mode: u32, size: u32) -> io::Result<()> {
        let ino = self.next_ino;
        self.next_ino += 1;
        let nlink = if mode & S_IFDIR != 0 { 2 } else { 1 };
        let namesize = name.len() as u32 + 1; // includes the NUL
                                              // magic ino mode uid gid nlink mtime filesize devmaj devmin rdevmaj rdevmin namesize check
        let fields = [ino, mode, 0, 0, nlink, 0, size, 0, 0, 0, 0, namesize, 0];
        let mut h = String::with_capacity(110 + name.len() + 4);
        h.push_str(MAGIC);
        for v in fields {
            h.push_str(&format!("{v:08X}"));
        }
        h.push_str(name);
        h.push('\0');
        self.write_all(h.as_bytes())?;
        self.pad()
    }

    fn pad(&mut self) -> io::Result<()> {
        let n = (4 - (self.written % 4) as usize) % 4;
        self.write_all(&[0u8; 3][..n])
    }

    fn write_all(&mut self, b: &[u8]) -> io::Result<()> {
        self.out.write_all(b)?;
        self.written += b.len() as u64;
        Ok(())
    }

    fn counting(&mut self) -> Counting<'_, W> {
        Counting(self)
    }
}

struct Counting<'a, W: Write>(&'a mut CpioWriter<W>);

impl<W: Write> Write for Counting<'_, W> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        let n = self.0.out.write(b)?;
        self.0.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.out.flush()
    }
}

/// "/usr/local/bin/x" -> "usr/local/bin/x"; rejects relative paths and "..".
fn normalize(path: &str) -> io::Result<String> {
    let bad = |why: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("{path}: {why}"));
    let rest = path.strip_prefix('/').ok_or_else(|| bad("guest path must be absolute"))?;
    let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
    if parts.is_empty() {
        return Err(bad("empty guest path"));
    }
    if parts.iter().any(|p| *p == "." || *p == "..") {
        return Err(bad("'.' and '..' are not allowed"));
    }
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_aligned_and_has_parents() {
        let mut w = CpioWriter::new(Vec::new());
        w.add_file("/usr/local/bin/x", 0o755, 3, &mut &b"abc"[..]).unwrap();
        let out = w.finish().unwrap();
        assert_eq!(out.len() % 4, 0);
        let text = String::from_utf8_lossy(&out);
        for name in ["usr\0", "usr/local\0", "usr/local/bin\0", "usr/local/bin/x\0"] {
            assert!(text.contains(name), "missing {name:?}");
        }
        assert!(text.contains("abc"));
        assert!(text.contains("TRAILER!!!"));
        // First header: directory "usr" with mode 040755.
        assert_eq!(&out[..6], b"070701");
        assert_eq!(&out[14..22], b"000041ED");
    }

    #[test]
    fn rejects_bad_paths() {
        for p in ["relative", "/", "/a/../b"] {
            let mut w = CpioWriter::new(Vec::new());
            assert!(w.add_file(p, 0o644, 0, &mut &b""[..]).is_err(), "{p}");
        }
    }
}
