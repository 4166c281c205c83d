//! One owner at a time: per-device advisory locks between mmiodrv processes
//! (and programs on the library). Single accesses take the device's lock
//! shared; multi-step operations (a factorial, a DMA transfer, a batch run,
//! a bind) take it exclusive, so neither runs in the middle of another. A conflicting request waits up to
//! [`DEFAULT_WAIT`], then fails with [`PciError::InUse`] naming the
//! holder. The kernel drops a lock when its holder exits, however it exits.
//!
//! # Who can hold a lock
//!
//! The locks are `flock(2)`s on `mmiodrv-DDDD:BB:DD.F.lock` in
//! `$MMIODRV_LOCK_DIR`, else [`DEFAULT_LOCK_DIR`] (against a fake sysfs
//! tree: inside the tree). The directory must be one only root and group
//! `mmiodrv` can write: owned by root (or by the user running mmiodrv), not
//! a symbolic link, not writable by others, writable by its group only when
//! that group is root's or `mmiodrv`. Root creates it when it is missing
//! (mode 3770 root:mmiodrv: setgid so lock files belong to the group, sticky
//! so a member cannot remove another's; 0755 root:root without the group);
//! anything else is refused ([`ErrorKind::UnsafeLock`]), and there is no
//! fallback to a world-writable directory such as `/tmp`: users who cannot
//! reach the directory cannot hold a lock.
//!
//! Lock files are created mode 0660, opened with `O_NOFOLLOW` and checked on
//! the open descriptor (a regular file with one link); root takes over a
//! lock file a member created (root:mmiodrv 0660), so its mode cannot be
//! changed to shut others out.
//!
//! A lock held only by processes whose user cannot write the device's node
//! (`/dev/vfio/N`, `/dev/uioN`, or its sysfs `resource0` when bound to
//! neither) is squatted: the request is refused at once, naming the
//! process, instead of waiting for it ([`InUse::LockSquatted`]).
//!
//! The holder is named truthfully: the process whose open file holds the
//! lock (`/proc/PID/fdinfo` lists the locks of each open file), not merely
//! the pid `/proc/locks` remembers taking it, which may have exited and left
//! the lock to a child.

use crate::error::PciError;
use std::fs::{File, Metadata, OpenOptions};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::fcntl::{Flock, FlockArg};

use crate::error::{Error, ErrorKind, Remedy, Result};

use crate::pci::error::InUse;

use crate::backend::kind::UserspaceDriver;
use crate::pci::PciAddress;

/// Environment variable naming the lock directory.
pub const LOCK_DIR_ENV: &str = "MMIODRV_LOCK_DIR";

/// The lock directory when [`LOCK_DIR_ENV`] is not set.
pub const DEFAULT_LOCK_DIR: &str = "/run/lock/mmiodrv";

/// The mode lock files get (never 0666: only root and the group).
pub const LOCK_FILE_MODE: u32 = 0o660;

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
/// A child made by fork(2) shares the locked open file: its drop lets the
/// lock be (an unlock there would release the parent's lock).
#[derive(Debug)]
pub struct DeviceLock {
    lock: Option<Flock<File>>,
    mode: LockMode,
    pid: u32,
}

impl Drop for DeviceLock {
    fn drop(&mut self) {
        if std::process::id() != self.pid {
            // The child's copy of the descriptor closes when it exits; closing
            // it (unlike an unlock) does not release the parent's lock.
            std::mem::forget(self.lock.take());
        }
    }
}

impl DeviceLock {
    /// How it is held.
    pub fn mode(&self) -> LockMode {
        self.mode
    }
}

fn euid() -> u32 {
    nix::unistd::geteuid().as_raw()
}

fn unsafe_lock(path: &Path, why: String, remedy: String) -> Error {
    ErrorKind::UnsafeLock { path: path.to_path_buf(), why, remedy: Remedy::Text(remedy) }.into()
}

/// The gid of group `mmiodrv`, if the group database has one.
fn group_gid() -> Option<u32> {
    crate::grant::Paths::system(crate::pci::Sysfs::from_env()).gid_of(crate::grant::UDEV_GROUP)
}

fn user_name(uid: u32) -> String {
    crate::grant::Paths::system(crate::pci::Sysfs::from_env()).user_name(uid)
}

/// The directory holding the lock files, checked (and made, by root, when
/// it is missing): see the module documentation.
pub fn lock_dir() -> Result<PathBuf> {
    let dir = match std::env::var_os(LOCK_DIR_ENV) {
        Some(dir) => PathBuf::from(dir),
        // Against a fake sysfs tree (tests), the locks live in the tree too.
        None => match (
            std::env::var_os(crate::pci::sysfs::FAKE_ONLY_ENV),
            std::env::var_os(crate::pci::sysfs::SYSFS_ROOT_ENV),
        ) {
            (Some(_), Some(root)) => PathBuf::from(root).join("mmiodrv-locks"),
            _ => PathBuf::from(DEFAULT_LOCK_DIR),
        },
    };
    ensure_dir(&dir, euid(), group_gid())?;
    Ok(dir)
}

/// Check `dir` (see the module documentation); create it when it is missing
/// and `uid` is root (or it lies in a directory `uid` owns: a test's).
fn ensure_dir(dir: &Path, uid: u32, group: Option<u32>) -> Result<()> {
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            create_dir(dir, uid, group)?;
            std::fs::symlink_metadata(dir).map_err(|e| Error::io("cannot stat", dir, e))?
        }
        Err(e) => return Err(Error::io("cannot stat", dir, e)),
    };
    check_dir(dir, &meta, uid, group)
}

fn create_dir(dir: &Path, uid: u32, group: Option<u32>) -> Result<()> {
    let parent = dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let parent_owner = std::fs::metadata(parent).map(|m| m.uid()).ok();
    if uid != 0 && parent_owner != Some(uid) {
        return Err(unsafe_lock(
            dir,
            "it does not exist, and only root may create it".into(),
            "run any mmiodrv command as root once, or install the udev rules (udev/install.sh), which create it at boot"
                .into(),
        ));
    }
    if uid == 0 && !parent.exists() {
        // /run/lock itself may be missing (a minimal system's fresh /run).
        let mut parents = std::fs::DirBuilder::new();
        std::os::unix::fs::DirBuilderExt::mode(parents.recursive(true), 0o755);
        parents.create(parent).map_err(|e| Error::io("cannot create", parent, e))?;
    }
    let mut builder = std::fs::DirBuilder::new();
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    match builder.create(dir) {
        Ok(()) => {}
        // Made by another process meanwhile: checked as any existing one.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(Error::io("cannot create", dir, e)),
    }
    // Mode and owner set on the directory opened without following links.
    let fd = OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_DIRECTORY | nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
        .open(dir)
        .map_err(|e| Error::io("cannot open", dir, e))?;
    let shared = uid == 0 && group.is_some();
    if shared {
        std::os::unix::fs::fchown(&fd, Some(0), group).map_err(|e| Error::io("cannot set the owner of", dir, e))?;
    }
    let mode = if shared { 0o3770 } else { 0o755 };
    fd.set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(|e| Error::io("cannot set the mode of", dir, e))?;
    Ok(())
}

/// Whether `meta` (of the lock directory) is one only root and the group can write.
fn check_dir(dir: &Path, meta: &Metadata, uid: u32, group: Option<u32>) -> Result<()> {
    let fix = || {
        format!(
            "as root: rm -rf {0} (mmiodrv then makes it root:mmiodrv 3770), or set {LOCK_DIR_ENV} to a directory only root and group mmiodrv can write",
            dir.display()
        )
    };
    let mode = meta.mode() & 0o7777;
    let why = if meta.file_type().is_symlink() {
        Some("it is a symbolic link".to_string())
    } else if !meta.is_dir() {
        Some("it is not a directory".to_string())
    } else if meta.uid() != 0 && meta.uid() != uid {
        Some(format!("it belongs to {} (uid {}), not root", user_name(meta.uid()), meta.uid()))
    } else if mode & 0o002 != 0 {
        Some(format!("anyone can write it (mode {mode:04o})"))
    } else if mode & 0o020 != 0 && meta.gid() != 0 && Some(meta.gid()) != group {
        Some(format!("group {} can write it (mode {mode:04o}), and it is not group mmiodrv", meta.gid()))
    } else {
        None
    };
    match why {
        Some(why) => Err(unsafe_lock(dir, why, fix())),
        None => Ok(()),
    }
}

/// The lock file of `address` (its directory checked).
pub fn lock_path(address: PciAddress) -> Result<PathBuf> {
    Ok(lock_dir()?.join(format!("mmiodrv-{address}.lock")))
}

/// Open (creating it 0660) the lock file at `path` without following a
/// link, and check it on the descriptor.
fn open_lock_file(address: PciAddress, path: &Path) -> Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .create(true)
        .write(true)
        .truncate(false)
        .mode(LOCK_FILE_MODE)
        .custom_flags(nix::libc::O_CLOEXEC | nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK | nix::libc::O_NOCTTY)
        .open(path);
    let file = match file {
        Ok(f) => f,
        Err(e) if e.raw_os_error() == Some(nix::libc::ELOOP) => {
            return Err(unsafe_lock(
                path,
                "it is a symbolic link".into(),
                format!("as root, remove {} (a lock file is a plain file mmiodrv creates)", path.display()),
            )
            .with_device(address))
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            let who = std::fs::symlink_metadata(path)
                .map(|m| format!("it belongs to {}, mode {:04o}", user_name(m.uid()), m.mode() & 0o7777))
                .unwrap_or_else(|_| "this user cannot create files in its directory".into());
            return Err(unsafe_lock(
                path,
                format!("this user cannot open it ({who})"),
                format!(
                    "as root, remove {} (mmiodrv recreates it root:mmiodrv 0660); only root and group mmiodrv take device locks",
                    path.display()
                ),
            )
            .with_device(address));
        }
        Err(e) => return Err(Error::io_on(address, "cannot open the lock file", path, e)),
    };
    let meta = file.metadata().map_err(|e| Error::io_on(address, "cannot stat", path, e))?;
    if !meta.is_file() || meta.nlink() != 1 {
        let why = if meta.is_file() { "it has other hard links" } else { "it is not a regular file" };
        return Err(unsafe_lock(path, why.into(), format!("as root, remove {}", path.display())).with_device(address));
    }
    let me = euid();
    if me == 0 && meta.uid() != 0 {
        // A member's file: root's from now on, so nobody can change its mode.
        let gid = std::fs::metadata(path.parent().unwrap_or(Path::new("/"))).map(|m| m.gid()).unwrap_or(0);
        let _ = std::os::unix::fs::fchown(&file, Some(0), Some(gid));
    }
    if (meta.uid() == me || me == 0) && meta.mode() & 0o7777 != LOCK_FILE_MODE {
        let _ = file.set_permissions(std::fs::Permissions::from_mode(LOCK_FILE_MODE));
    }
    Ok(file)
}

/// Take `address`'s lock in `mode`, waiting up to `wait` for a holder to let
/// go (and returning early on a stop request). A lock squatted by a user who
/// cannot use the device is refused at once.
pub fn acquire(address: PciAddress, mode: LockMode, wait: Duration) -> Result<DeviceLock> {
    let path = lock_path(address)?;
    let file = open_lock_file(address, &path)?;
    let arg = match mode {
        LockMode::Shared => FlockArg::LockSharedNonblock,
        LockMode::Exclusive => FlockArg::LockExclusiveNonblock,
    };
    let deadline = Instant::now() + wait;
    let mut file = file;
    let mut first = true;
    loop {
        match Flock::lock(file, arg) {
            Ok(lock) => {
                log::debug!("{address}: {mode:?} lock taken ({})", path.display());
                return Ok(DeviceLock { lock: Some(lock), mode, pid: std::process::id() });
            }
            Err((f, nix::errno::Errno::EWOULDBLOCK)) => {
                if first {
                    first = false;
                    if let Some(squat) = squatter(address, &f) {
                        return Err(Error::on(address, PciError::InUse { action: "use", reasons: vec![squat] }));
                    }
                }
                if Instant::now() >= deadline {
                    let holder = holders(&f).into_iter().next();
                    let me = euid();
                    let reason = InUse::Locked {
                        pid: holder.map(|h| h.pid),
                        user: holder.filter(|h| h.uid != me).map(|h| user_name(h.uid)),
                    };
                    return Err(Error::on(address, PciError::InUse { action: "use", reasons: vec![reason] }));
                }
                file = f;
                crate::stop::sleep(Duration::from_millis(20))?;
            }
            Err((_, e)) => return Err(Error::io_on(address, "cannot lock", &path, e.into())),
        }
    }
}

/// Whether another process holds `address`'s lock (in either mode), and its
/// pid when it can be told.
pub fn held_elsewhere(address: PciAddress) -> Option<Option<u32>> {
    let path = lock_path(address).ok()?;
    let file = File::open(&path).ok()?;
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(_) => None,
        Err((f, _)) => Some(holders(&f).first().map(|h| h.pid)),
    }
}

/// A process holding a lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Holder {
    /// Its pid.
    pub pid: u32,
    /// Its effective uid.
    pub uid: u32,
}

fn proc_root() -> PathBuf {
    std::env::var_os(crate::pci::in_use::PROC_ROOT_ENV).map(PathBuf::from).unwrap_or_else(|| "/proc".into())
}

/// The processes (other than this one) whose open file holds a lock on
/// `file`: every open descriptor of the file whose `fdinfo` lists a lock.
/// When /proc hides them (hidepid), the pid `/proc/locks` gives, if alive.
pub fn holders(file: &File) -> Vec<Holder> {
    let Ok(meta) = file.metadata() else { return Vec::new() };
    let (dev, ino) = (meta.dev(), meta.ino());
    let me = std::process::id();
    let proc = proc_root();
    let mut out = Vec::new();
    let pids = std::fs::read_dir(&proc)
        .map(|d| d.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok()).collect::<Vec<_>>())
        .unwrap_or_default();
    for pid in pids.into_iter().filter(|p| *p != me) {
        let base = proc.join(pid.to_string());
        let Ok(fds) = std::fs::read_dir(base.join("fd")) else { continue };
        let holds = fds.filter_map(|e| e.ok()).any(|fd| {
            let same = std::fs::metadata(fd.path()).is_ok_and(|m| m.dev() == dev && m.ino() == ino);
            same && std::fs::read_to_string(base.join("fdinfo").join(fd.file_name()))
                .is_ok_and(|info| info.lines().any(|l| l.starts_with("lock:")))
        });
        if holds {
            if let Some(uid) = process_uid(pid) {
                out.push(Holder { pid, uid });
            }
        }
    }
    if out.is_empty() {
        // Hidden processes: what /proc/locks says, if that process lives.
        if let Some(pid) = locks_pid(dev, ino).filter(|p| *p != me) {
            if let Some(uid) = process_uid(pid) {
                out.push(Holder { pid, uid });
            }
        }
    }
    out.sort_by_key(|h| h.pid);
    out
}

/// The pid /proc/locks gives for a FLOCK on (dev, ino): the process that took it.
fn locks_pid(dev: u64, ino: u64) -> Option<u32> {
    let id = format!("{:02x}:{:02x}:{}", nix::sys::stat::major(dev), nix::sys::stat::minor(dev), ino);
    let locks = std::fs::read_to_string(proc_root().join("locks")).ok()?;
    locks.lines().filter(|l| !l.contains("->")).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        let (kind, pid, what) = (*f.get(1)?, f.get(4)?.parse::<u32>().ok()?, *f.get(5)?);
        (kind == "FLOCK" && what == id).then_some(pid)
    })
}

/// A process's effective uid, and its effective gid and supplementary groups.
fn process_ids(pid: u32) -> Option<(u32, Vec<u32>)> {
    let status = std::fs::read_to_string(proc_root().join(pid.to_string()).join("status")).ok()?;
    let field = |name: &str| status.lines().find_map(|l| l.strip_prefix(name)).map(str::split_whitespace);
    let uid = field("Uid:")?.nth(1)?.parse().ok()?;
    let mut gids: Vec<u32> =
        field("Gid:").and_then(|mut f| f.nth(1)).and_then(|g| g.parse().ok()).into_iter().collect();
    gids.extend(field("Groups:").into_iter().flatten().filter_map(|g| g.parse::<u32>().ok()));
    Some((uid, gids))
}

fn process_uid(pid: u32) -> Option<u32> {
    process_ids(pid).map(|(uid, _)| uid)
}

/// The node through which a process uses the device: its VFIO group node,
/// its UIO node, or (bound to neither) its sysfs `resource0`.
fn device_node(address: PciAddress) -> PathBuf {
    let dev = crate::pci::Sysfs::from_env().device(address);
    match dev.driver().as_deref().and_then(UserspaceDriver::from_name) {
        Some(UserspaceDriver::VfioPci) => match dev.iommu_group() {
            Some(g) if Path::new(&format!("/dev/vfio/noiommu-{g}")).exists() => format!("/dev/vfio/noiommu-{g}").into(),
            Some(g) => format!("/dev/vfio/{g}").into(),
            None => dev.attr_path("resource0"),
        },
        Some(UserspaceDriver::UioPciGeneric) => std::fs::read_dir(dev.attr_path("uio"))
            .ok()
            .and_then(|d| d.filter_map(|e| e.ok()).map(|e| PathBuf::from("/dev").join(e.file_name())).next())
            .unwrap_or_else(|| dev.attr_path("resource0")),
        None => dev.attr_path("resource0"),
    }
}

/// Whether a user with `uid` and groups `gids` may write a node with `meta`.
fn may_write(uid: u32, gids: &[u32], meta: &Metadata) -> bool {
    let mode = meta.mode();
    uid == 0
        || (meta.uid() == uid && mode & 0o200 != 0)
        || (gids.contains(&meta.gid()) && mode & 0o020 != 0)
        || mode & 0o002 != 0
}

/// The lock on `file` is held only by processes whose user cannot write the
/// device's node: the first of them, as an [`InUse::LockSquatted`].
fn squatter(address: PciAddress, file: &File) -> Option<InUse> {
    let holders = holders(file);
    let node = device_node(address);
    let meta = std::fs::metadata(&node).ok();
    let cannot = |h: &Holder| {
        let gids = process_ids(h.pid).map(|(_, g)| g).unwrap_or_default();
        !meta.as_ref().is_some_and(|m| may_write(h.uid, &gids, m)) && h.uid != 0
    };
    if holders.is_empty() || !holders.iter().all(cannot) {
        return None;
    }
    let h = holders[0];
    Some(InUse::LockSquatted { pid: h.pid, user: user_name(h.uid), node })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// The tests set process-wide environment variables.
    static ENV: Mutex<()> = Mutex::new(());

    fn with_dir<T>(dir: &Path, f: impl FnOnce() -> T) -> T {
        let _guard = ENV.lock().unwrap_or_else(|e| e.into_inner());
        std::env::set_var(LOCK_DIR_ENV, dir);
        let out = f();
        std::env::remove_var(LOCK_DIR_ENV);
        out
    }

    fn addr() -> PciAddress {
        PciAddress::parse("ffff:00:04.0").unwrap()
    }

    /// Shared with shared; exclusive with nobody; the conflict names this
    /// process's pid (the holder) after the wait; released on drop.
    #[test]
    fn shared_and_exclusive() {
        let dir = tempfile::tempdir().unwrap();
        with_dir(dir.path(), || {
            let a = addr();
            let r1 = acquire(a, LockMode::Shared, Duration::ZERO).unwrap();
            let r2 = acquire(a, LockMode::Shared, Duration::ZERO).unwrap();
            let start = Instant::now();
            let e = acquire(a, LockMode::Exclusive, Duration::from_millis(100)).unwrap_err();
            assert!(start.elapsed() >= Duration::from_millis(100), "it waited");
            assert!(matches!(e.kind(), ErrorKind::Pci(PciError::InUse { .. })), "{e}");
            assert_eq!(crate::outcome::exit_status(&e), 6);
            drop((r1, r2));
            let w = acquire(a, LockMode::Exclusive, Duration::ZERO).unwrap();
            assert!(acquire(a, LockMode::Shared, Duration::ZERO).is_err());
            assert_eq!(w.mode(), LockMode::Exclusive);
            drop(w);
            assert!(held_elsewhere(a).is_none());
        })
    }

    /// A child made by fork(2) that drops the lock (a Python script's child
    /// exiting) leaves it held by the parent (before, its drop unlocked the
    /// open file both share, releasing the parent's lock).
    #[test]
    fn a_forked_child_does_not_release_the_parents_lock() {
        let dir = tempfile::tempdir().unwrap();
        with_dir(dir.path(), || {
            let lock = acquire(addr(), LockMode::Exclusive, Duration::ZERO).unwrap();
            // SAFETY: the child only drops the lock and calls _exit(2), which
            // are safe after fork in a multi-threaded process (no allocation,
            // no lock another thread may hold: Flock's drop is one flock(2)
            // call or nothing).
            match unsafe { nix::unistd::fork() }.unwrap() {
                nix::unistd::ForkResult::Child => {
                    drop(lock);
                    // SAFETY: _exit ends the child at once, running nothing.
                    unsafe { nix::libc::_exit(0) };
                }
                nix::unistd::ForkResult::Parent { child } => {
                    nix::sys::wait::waitpid(child, None).unwrap();
                }
            }
            let other = File::open(lock_path(addr()).unwrap()).unwrap();
            assert!(Flock::lock(other, FlockArg::LockExclusiveNonblock).is_err(), "the parent still holds it");
            drop(lock);
        })
    }

    /// Lock files are 0660 (issue 23: they were 0666), whatever the umask
    /// and whatever mode a file left there had.
    #[test]
    fn lock_files_are_0660() {
        let dir = tempfile::tempdir().unwrap();
        with_dir(dir.path(), || {
            let lock = acquire(addr(), LockMode::Shared, Duration::ZERO).unwrap();
            let path = lock_path(addr()).unwrap();
            assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o7777, 0o660);
            drop(lock);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
            drop(acquire(addr(), LockMode::Shared, Duration::ZERO).unwrap());
            assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o7777, 0o660);
        })
    }

    /// A directory anyone can write (as /tmp), one of another group, a
    /// symbolic link, and a lock file that is a link are refused, with the
    /// reason and the fix; nothing is locked.
    #[test]
    fn unsafe_directories_and_files_are_refused() {
        let t = tempfile::tempdir().unwrap();
        let tmp_like = t.path().join("tmp");
        std::fs::create_dir(&tmp_like).unwrap();
        std::fs::set_permissions(&tmp_like, std::fs::Permissions::from_mode(0o1777)).unwrap();
        let e = with_dir(&tmp_like, || acquire(addr(), LockMode::Shared, Duration::ZERO)).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::UnsafeLock { .. }), "{e}");
        assert!(e.to_string().contains("anyone can write it (mode 1777)"), "{e}");
        assert_eq!(crate::outcome::exit_status(&e), 6);
        assert!(e.remedy().is_some());
        assert!(std::fs::read_dir(&tmp_like).unwrap().next().is_none(), "no lock file made");

        let linked = t.path().join("linked");
        std::os::unix::fs::symlink(t.path(), &linked).unwrap();
        let e = with_dir(&linked, || acquire(addr(), LockMode::Shared, Duration::ZERO)).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");

        let ok = t.path().join("ok");
        std::fs::create_dir(&ok).unwrap();
        std::fs::set_permissions(&ok, std::fs::Permissions::from_mode(0o700)).unwrap();
        let target = t.path().join("victim");
        std::fs::write(&target, "keep").unwrap();
        std::os::unix::fs::symlink(&target, ok.join("mmiodrv-ffff:00:04.0.lock")).unwrap();
        let e = with_dir(&ok, || acquire(addr(), LockMode::Shared, Duration::ZERO)).unwrap_err();
        assert!(e.to_string().contains("is a symbolic link"), "{e}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
        std::fs::remove_file(ok.join("mmiodrv-ffff:00:04.0.lock")).unwrap();
        std::fs::hard_link(&target, ok.join("mmiodrv-ffff:00:04.0.lock")).unwrap();
        let e = with_dir(&ok, || acquire(addr(), LockMode::Shared, Duration::ZERO)).unwrap_err();
        assert!(e.to_string().contains("other hard links"), "{e}");
    }

    /// No fallback to the temporary directory: the default is /run/lock/mmiodrv,
    /// and a user who may not create it is refused.
    #[test]
    fn never_in_tmp() {
        let t = tempfile::tempdir().unwrap();
        let root_owned = Path::new("/");
        assert_eq!(DEFAULT_LOCK_DIR, "/run/lock/mmiodrv");
        // A missing directory in a directory this (non-root) user does not own.
        let e = ensure_dir(&root_owned.join("no-such-mmiodrv-dir"), 12345, None).unwrap_err();
        assert!(e.to_string().contains("only root may create it"), "{e}");
        // Root makes it 0755 root:root without group mmiodrv.
        if euid() == 0 {
            let d = t.path().join("locks");
            ensure_dir(&d, 0, None).unwrap();
            let m = std::fs::symlink_metadata(&d).unwrap();
            assert_eq!(m.mode() & 0o7777, 0o755);
            let g = t.path().join("glocks");
            ensure_dir(&g, 0, Some(4242)).unwrap();
            let m = std::fs::symlink_metadata(&g).unwrap();
            assert_eq!((m.mode() & 0o7777, m.gid()), (0o3770, 4242));
            // Group-writable by group 4242: fine when it is mmiodrv's, not otherwise.
            assert!(check_dir(&g, &m, 0, Some(4242)).is_ok());
            assert!(check_dir(&g, &m, 0, Some(7)).is_err());
        }
    }

    /// The holder is the process that holds the lock now: a shell takes it
    /// with flock(1) (whose pid /proc/locks remembers, and which exits at
    /// once), hands the open file to a background sleep, and exits. The
    /// sleep is named, not the dead pid.
    #[test]
    fn the_holder_is_named_truthfully() {
        if std::process::Command::new("flock").arg("--version").output().is_err() {
            eprintln!("!!!!! flock(1) missing: the_holder_is_named_truthfully not run !!!!!");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        with_dir(dir.path(), || {
            let path = lock_path(addr()).unwrap();
            std::fs::write(&path, "").unwrap();
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("exec 9<'{}'; flock -x 9; sleep 5 <&- >/dev/null 2>&1 & echo $!", path.display()))
                .output()
                .unwrap();
            let sleeper: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
            let e = acquire(addr(), LockMode::Shared, Duration::from_millis(50)).unwrap_err();
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(sleeper as i32), nix::sys::signal::SIGKILL);
            assert!(
                e.to_string().contains(&format!("mmiodrv process {sleeper} is using it")),
                "{e} (holder {sleeper})"
            );
        })
    }

    /// A lock held by a user who cannot write the device's node (here: user
    /// nobody in the directory's group, the device bound to nothing, its
    /// resource0 root's 0600) is refused at once, naming the process and
    /// user, instead of being waited for and reported as a user.
    #[test]
    fn a_squatted_lock_is_refused_at_once() {
        if euid() != 0 || std::process::Command::new("flock").arg("--version").output().is_err() {
            eprintln!("!!!!! not root or no flock(1): a_squatted_lock_is_refused_at_once not run !!!!!");
            return;
        }
        let _guard = ENV.lock().unwrap_or_else(|e| e.into_inner());
        let tree = tempfile::tempdir().unwrap();
        std::fs::set_permissions(tree.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let dev = tree.path().join("bus/pci/devices/ffff:00:04.0");
        std::fs::create_dir_all(&dev).unwrap();
        std::fs::write(dev.join("resource0"), "").unwrap();
        std::fs::set_permissions(tree.path().join("bus"), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(dev.join("resource0"), std::fs::Permissions::from_mode(0o600)).unwrap();
        let locks = tree.path().join("locks");
        std::fs::create_dir(&locks).unwrap();
        // Group root's: a group the directory check accepts.
        let gid = 0;
        nix::unistd::chown(&locks, None, Some(nix::unistd::Gid::from_raw(gid))).unwrap();
        std::fs::set_permissions(&locks, std::fs::Permissions::from_mode(0o3770)).unwrap();
        std::env::set_var(crate::pci::sysfs::SYSFS_ROOT_ENV, tree.path());
        std::env::set_var(LOCK_DIR_ENV, &locks);
        let path = locks.join("mmiodrv-ffff:00:04.0.lock");
        let mut child = {
            use std::os::unix::process::CommandExt;
            std::process::Command::new("flock")
                .args(["-x", path.to_str().unwrap(), "sleep", "5"])
                .uid(65534)
                .gid(gid)
                .spawn()
                .unwrap()
        };
        let mut held = false;
        for _ in 0..100 {
            held = path.exists() && held_elsewhere(addr()).is_some();
            if held {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let start = Instant::now();
        let r = acquire(addr(), LockMode::Exclusive, Duration::from_secs(2));
        let took = start.elapsed();
        let _ = child.kill();
        let _ = child.wait();
        std::env::remove_var(LOCK_DIR_ENV);
        std::env::remove_var(crate::pci::sysfs::SYSFS_ROOT_ENV);
        assert!(held, "the squatter never took the lock");
        let e = r.unwrap_err();
        let text = e.to_string();
        assert!(text.contains("who cannot use the device (no write access to"), "{text}");
        assert!(text.contains("resource0"), "{text}");
        assert!(took < Duration::from_millis(1000), "refused at once, not after the wait: {took:?}");
        assert!(e.remedy().is_some_and(|r| r.to_string().contains("kill")), "{:?}", e.remedy());
    }
}
