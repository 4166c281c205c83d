//! One owner at a time: per-device advisory locks between mmiodrv processes
//! (and programs on the library). Single accesses take the device's lock
//! shared; multi-step operations (a factorial, a DMA transfer, a batch run,
//! a bind) take it exclusive, so neither runs in the middle of another. A conflicting request waits up to
//! [`DEFAULT_WAIT`], then fails with [`ErrorKind::InUse`] naming the
//! holder's pid. The locks are `flock(2)`s on `mmiodrv-DDDD:BB:DD.F.lock` in
//! `$MMIODRV_LOCK_DIR`, else `/run/lock` (world-writable, so every user's
//! processes see each other's), else the temporary directory (against a fake
//! sysfs tree: inside the tree); the kernel drops them when the holder
//! exits, however it exits.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::fcntl::{Flock, FlockArg};

use crate::error::{Error, ErrorKind, InUse, Result};
use crate::pci::PciAddress;

/// Environment variable naming the lock directory.
pub const LOCK_DIR_ENV: &str = "MMIODRV_LOCK_DIR";

/// How long a conflicting request waits for the holder before failing.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(2);

/// How a device is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockMode {
    /// Single accesses: others doing the same may share it.
    Shared,
    /// Several steps that must not interleave with another process's
    /// accesses: nobody else.
    Exclusive,
}

/// A held device lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct DeviceLock {
    _lock: Flock<File>,
    mode: LockMode,
}

impl DeviceLock {
    /// How it is held.
    pub fn mode(&self) -> LockMode {
        self.mode
    }
}

/// The directory holding the lock files.
pub fn lock_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(LOCK_DIR_ENV) {
        return dir.into();
    }
    // Against a fake sysfs tree (tests), the locks live in the tree too.
    if std::env::var_os(crate::pci::sysfs::FAKE_ONLY_ENV).is_some() {
        if let Some(root) = std::env::var_os(crate::pci::sysfs::SYSFS_ROOT_ENV) {
            let dir = PathBuf::from(root).join("mmiodrv-locks");
            if std::fs::create_dir_all(&dir).is_ok() {
                return dir;
            }
        }
    }
    let run = PathBuf::from("/run/lock");
    if nix::unistd::access(&run, nix::unistd::AccessFlags::W_OK).is_ok() {
        run
    } else {
        std::env::temp_dir()
    }
}

/// The lock file of `address`.
pub fn lock_path(address: PciAddress) -> PathBuf {
    lock_dir().join(format!("mmiodrv-{address}.lock"))
}

/// Take `address`'s lock in `mode`, waiting up to `wait` for a holder to let
/// go (and returning early on a stop request).
pub fn acquire(address: PciAddress, mode: LockMode, wait: Duration) -> Result<DeviceLock> {
    let path = lock_path(address);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o666)
        .custom_flags(nix::libc::O_CLOEXEC | nix::libc::O_NOFOLLOW)
        .open(&path)
        .map_err(|e| Error::io_on(address, "cannot open the lock file", &path, e))?;
    // Other users' processes must be able to lock it too (the umask may
    // have taken write permission away); only the creator may change it.
    if let Ok(meta) = file.metadata() {
        if meta.uid() == nix::unistd::geteuid().as_raw() && meta.permissions().mode() & 0o666 != 0o666 {
            let _ = file.set_permissions(std::fs::Permissions::from_mode(0o666));
        }
    }
    let arg = match mode {
        LockMode::Shared => FlockArg::LockSharedNonblock,
        LockMode::Exclusive => FlockArg::LockExclusiveNonblock,
    };
    let deadline = Instant::now() + wait;
    let mut file = file;
    loop {
        match Flock::lock(file, arg) {
            Ok(lock) => {
                log::debug!("{address}: {mode:?} lock taken ({})", path.display());
                return Ok(DeviceLock { _lock: lock, mode });
            }
            Err((f, nix::errno::Errno::EWOULDBLOCK)) if Instant::now() < deadline => {
                file = f;
                crate::stop::sleep(Duration::from_millis(20))?;
            }
            Err((f, nix::errno::Errno::EWOULDBLOCK)) => {
                let pid = holder(&f);
                let reasons = vec![InUse::Locked { pid }];
                return Err(Error::on(address, ErrorKind::InUse { action: "use", reasons }));
            }
            Err((_, e)) => return Err(Error::io_on(address, "cannot lock", &path, e.into())),
        }
    }
}

/// Whether another process holds `address`'s lock (in either mode), and its
/// pid when /proc/locks tells.
pub fn held_elsewhere(address: PciAddress) -> Option<Option<u32>> {
    let path = lock_path(address);
    let file = File::open(&path).ok()?;
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(_) => None,
        Err((f, _)) => Some(holder(&f)),
    }
}

/// The pid holding a lock on `file`, from /proc/locks (FLOCK lines name
/// the file as MAJOR:MINOR:INODE, the device numbers in hex).
fn holder(file: &File) -> Option<u32> {
    let meta = file.metadata().ok()?;
    let dev = meta.dev();
    let id = format!("{:02x}:{:02x}:{}", nix::sys::stat::major(dev), nix::sys::stat::minor(dev), meta.ino());
    let me = std::process::id();
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    locks.lines().filter(|l| !l.contains("->")).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        let (kind, pid, what) = (*f.get(1)?, f.get(4)?.parse::<u32>().ok()?, *f.get(5)?);
        (kind == "FLOCK" && what == id && pid != me).then_some(pid)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_dir<T>(f: impl FnOnce() -> T) -> T {
        let dir = tempfile::tempdir().unwrap();
        std::env::set_var(LOCK_DIR_ENV, dir.path());
        let out = f();
        std::env::remove_var(LOCK_DIR_ENV);
        out
    }

    /// Shared with shared; exclusive with nobody; the conflict names this
    /// process's pid (the holder) after the wait; released on drop.
    #[test]
    fn shared_and_exclusive() {
        with_dir(|| {
            let a = PciAddress::parse("ffff:00:04.0").unwrap();
            let r1 = acquire(a, LockMode::Shared, Duration::ZERO).unwrap();
            let r2 = acquire(a, LockMode::Shared, Duration::ZERO).unwrap();
            let start = Instant::now();
            let e = acquire(a, LockMode::Exclusive, Duration::from_millis(100)).unwrap_err();
            assert!(start.elapsed() >= Duration::from_millis(100), "it waited");
            assert!(matches!(e.kind(), ErrorKind::InUse { .. }), "{e}");
            assert_eq!(e.exit_status(), 6);
            drop((r1, r2));
            let w = acquire(a, LockMode::Exclusive, Duration::ZERO).unwrap();
            assert!(acquire(a, LockMode::Shared, Duration::ZERO).is_err());
            assert_eq!(w.mode(), LockMode::Exclusive);
            drop(w);
            assert!(held_elsewhere(a).is_none());
        })
    }
}
