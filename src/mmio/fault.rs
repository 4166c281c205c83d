//! Faults on device mappings, seen on every access path.
//!
//! # Bus errors
//!
//! An access to a BAR mapping whose device went away (removed, reset, or
//! taken over through VFIO by another process, which revokes sysfs
//! mappings), or to a file mapping whose file shrank, raises SIGBUS, which
//! would kill the process with no message. Device and file mappings are
//! registered here; a SIGBUS the kernel raised for a fault (`si_code` > 0)
//! inside one replaces that mapping with anonymous memory (the access
//! completes, reading zeros) and marks it faulted, and the next check of the
//! region ([`check`]) turns it into [`ErrorKind::Gone`], as DPDK does.
//!
//! Anything else goes where it went before mmiodrv installed its handler,
//! and the handler stays installed for the next device fault: a signal sent
//! with kill(2) or sigqueue(2) (`si_code` <= 0, whose address field is the
//! sender's pid and uid, never trusted as an address) or a fault outside the
//! registered mappings goes to the previous handler if there was one,
//! is ignored if SIGBUS was ignored (a sent one; a fault cannot be), and
//! otherwise ends the process as the default action would. A handler another
//! runtime installs later (Python's `faulthandler`) is found when the next
//! mapping is registered, or by [`reassert`] (which [`Liveness`] runs): ours
//! goes back in front and chains to it.
//!
//! # The one check
//!
//! Every access path checks the same way, with [`check`] after its accesses:
//! single accesses (a window's read and write), bulk copies
//! ([`crate::mmio::MmioRegion::copy_to_slice`] and friends, which check a
//! bus error themselves), polls, watches and DMA buffers; long operations
//! (a poll, a watch, a bulk copy of many chunks) also hold a [`Liveness`],
//! which asks sysfs every [`PRESENCE_EVERY`] whether the PCI device is still
//! there: a device removed through sysfs may keep answering through a stale
//! mapping (QEMU's do), and is seen gone within that time.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use nix::libc;
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

use crate::error::{DeviceRef, Error, ErrorKind, Result};
use crate::mmio::Width;

/// Device mappings watched at once (each BAR a process maps is one).
const SLOTS: usize = 64;

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: AtomicUsize = AtomicUsize::new(0);
#[allow(clippy::declare_interior_mutable_const)]
const CLEAN: AtomicBool = AtomicBool::new(false);

static STARTS: [AtomicUsize; SLOTS] = [EMPTY; SLOTS];
static LENS: [AtomicUsize; SLOTS] = [EMPTY; SLOTS];
static FAULTED: [AtomicBool; SLOTS] = [CLEAN; SLOTS];

/// The SIGBUS disposition before ours: `SIG_DFL` (0), `SIG_IGN` (1) or a
/// handler's address, and whether that handler takes siginfo. Atomics, so
/// the signal handler reads them safely and [`reassert`] updates them.
static PREVIOUS: AtomicUsize = AtomicUsize::new(libc::SIG_DFL);
static PREVIOUS_SIGINFO: AtomicBool = AtomicBool::new(false);

/// How often a long operation asks sysfs whether its device is still there.
pub const PRESENCE_EVERY: Duration = Duration::from_millis(100);

/// Watch `len` bytes at `start`, a device mapping; its slot, or None when
/// every slot is taken (the mapping then works unwatched).
pub(crate) fn register(start: usize, len: usize) -> Option<usize> {
    reassert();
    for (i, slot) in STARTS.iter().enumerate() {
        // Reserve the slot (usize::MAX matches no address), fill it, publish it.
        if slot.compare_exchange(0, usize::MAX, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
            LENS[i].store(len, Ordering::SeqCst);
            FAULTED[i].store(false, Ordering::SeqCst);
            slot.store(start, Ordering::SeqCst);
            return Some(i);
        }
    }
    log::debug!("more than {SLOTS} device mappings: this one is not watched for bus errors");
    None
}

/// Stop watching `slot` (before its mapping is unmapped).
pub(crate) fn unregister(slot: usize) {
    STARTS[slot].store(0, Ordering::SeqCst);
}

/// Whether a bus error hit the mapping in `slot` (it now reads zeros).
pub(crate) fn faulted(slot: usize) -> bool {
    FAULTED[slot].load(Ordering::Relaxed)
}

/// The flag [`faulted`] reads for `slot`, for a reader that checks it after
/// each of many accesses ([`crate::mmio::region::Spot`]).
pub(crate) fn flag(slot: usize) -> &'static AtomicBool {
    &FAULTED[slot]
}

/// Install the handler, or put it back in front when another replaced it
/// (that one is then chained to for faults that are not ours). One
/// sigaction(2) query when ours is in place.
pub fn reassert() {
    // SAFETY: a zeroed sigaction is a valid out-parameter; querying with a
    // null new action changes nothing.
    let current = unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(libc::SIGBUS, std::ptr::null(), &mut old) != 0 {
            return;
        }
        old
    };
    if current.sa_sigaction == on_sigbus as *const () as usize {
        return;
    }
    PREVIOUS_SIGINFO.store(current.sa_flags & libc::SA_SIGINFO != 0, Ordering::SeqCst);
    PREVIOUS.store(current.sa_sigaction, Ordering::SeqCst);
    let action = SigAction::new(SigHandler::SigAction(on_sigbus), SaFlags::SA_SIGINFO, SigSet::empty());
    // SAFETY: on_sigbus only does async-signal-safe work: atomics, mmap(2)
    // over a range this module owns, signal(2)/raise(3), and calling the
    // handler the process had before.
    if let Err(e) = unsafe { sigaction(Signal::SIGBUS, &action) } {
        log::warn!("cannot watch device mappings for bus errors: {e}");
    } else if current.sa_sigaction != libc::SIG_DFL {
        log::debug!("SIGBUS handler put back in front of another one (chained to for faults outside device mappings)");
    }
}

extern "C" fn on_sigbus(signo: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo_t to an SA_SIGINFO handler.
    let code = unsafe { (*info).si_code };
    // Only a fault the kernel raised carries an address (si_code > 0); a
    // sent signal's "address" is the sender's pid and uid.
    let fault = code > 0;
    if fault {
        // SAFETY: as above; si_addr is the faulting address for a fault.
        let addr = unsafe { (*info).si_addr() } as usize;
        for i in 0..SLOTS {
            let start = STARTS[i].load(Ordering::SeqCst);
            let len = LENS[i].load(Ordering::SeqCst);
            if start != 0 && start != usize::MAX && addr >= start && addr - start < len {
                // SAFETY: [start, start + len) is a device mapping this process
                // made and still owns (registered until just before munmap);
                // MAP_FIXED replaces it in place with zeroed anonymous memory of
                // the same size, so the faulting access completes and the later
                // munmap unmaps this replacement. No Rust reference points into it.
                let ptr = unsafe {
                    libc::mmap(
                        start as *mut libc::c_void,
                        len,
                        libc::PROT_READ | libc::PROT_WRITE,
                        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                        -1,
                        0,
                    )
                };
                if ptr != libc::MAP_FAILED {
                    FAULTED[i].store(true, Ordering::SeqCst);
                    return;
                }
            }
        }
    }
    chain(signo, info, ctx, fault);
}

/// What the process had before for a SIGBUS that is not a device mapping's.
fn chain(signo: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void, fault: bool) {
    let previous = PREVIOUS.load(Ordering::SeqCst);
    match previous {
        // A sent signal the process ignored: ignored, and we stay.
        libc::SIG_IGN if !fault => {}
        libc::SIG_DFL | libc::SIG_IGN => {
            // The default action: the process ends by SIGBUS, as it would
            // have. A fault re-executes its access on return; a sent signal
            // is raised again (blocked until we return).
            // SAFETY: signal(2) and raise(3) are async-signal-safe.
            unsafe {
                libc::signal(libc::SIGBUS, libc::SIG_DFL);
                if !fault {
                    libc::raise(libc::SIGBUS);
                }
            }
        }
        handler if PREVIOUS_SIGINFO.load(Ordering::SeqCst) => {
            // SAFETY: `handler` is the sa_sigaction of the SA_SIGINFO action
            // the process had for SIGBUS: a function of this signature, called
            // as the kernel would have called it.
            let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                unsafe { std::mem::transmute(handler) };
            f(signo, info, ctx);
        }
        handler => {
            // SAFETY: `handler` is the sa_handler of the action the process had
            // for SIGBUS (without SA_SIGINFO): a function of one int.
            let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(handler) };
            f(signo);
        }
    }
}

/// The error for a device whose mapping took a bus error.
#[cold]
pub(crate) fn bus_error() -> Error {
    ErrorKind::Gone { why: "a bus error on its BAR mapping: removed, reset, or taken over through VFIO".into() }.into()
}

/// The one check after accesses to `device`'s memory: a bus error on the
/// mapping (`faulted`, from [`crate::mmio::RegisterIo::faulted`]), or a read
/// of all-ones (`read`, the value and its width) from a PCI device no longer
/// in sysfs. Either is [`ErrorKind::Gone`] on `device`.
pub fn check(device: &DeviceRef, faulted: bool, read: Option<(u64, Width)>) -> Result<()> {
    if faulted {
        return Err(bus_error().with_device(device.clone()));
    }
    if let (Some((value, width)), DeviceRef::Pci(address)) = (read, device) {
        if value == width.max_value() && !crate::pci::sysfs::present(*address) {
            let why = "it reads all-ones and its config space is gone: removed or powered off".into();
            return Err(Error::on(device.clone(), ErrorKind::Gone { why }));
        }
    }
    Ok(())
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// [`check`] for a long operation on one device, which also asks sysfs every
/// [`PRESENCE_EVERY`] whether a PCI device is still there (and puts the
/// SIGBUS handler back in front if another replaced it). Shared between
/// threads.
#[derive(Debug)]
pub struct Liveness {
    device: DeviceRef,
    /// Milliseconds since [`epoch`] of the next sysfs probe.
    next: AtomicU64,
}

impl Liveness {
    /// For `device`; the first check probes sysfs.
    pub fn new(device: DeviceRef) -> Self {
        Liveness { device, next: AtomicU64::new(0) }
    }

    /// [`check`], then (when due) the sysfs probe: a PCI device gone from
    /// sysfs is [`ErrorKind::Gone`] however its mapping still reads.
    pub fn check(&self, faulted: bool, read: Option<(u64, Width)>) -> Result<()> {
        check(&self.device, faulted, read)?;
        let DeviceRef::Pci(address) = &self.device else { return Ok(()) };
        let now = epoch().elapsed().as_millis() as u64;
        if now < self.next.load(Ordering::Relaxed) {
            return Ok(());
        }
        self.next.store(now + PRESENCE_EVERY.as_millis() as u64, Ordering::Relaxed);
        reassert();
        if !crate::pci::sysfs::present(*address) {
            let why = "removed: its config space is gone from sysfs".into();
            return Err(Error::on(self.device.clone(), ErrorKind::Gone { why }));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mmio::{Mapping, MmioRegion, RegisterIo, Width};

    /// A file mapping whose file shrinks underneath it raises SIGBUS on
    /// access, as a BAR mapping does when its device goes away: the access
    /// completes (zeros), the region says it faulted, the process lives, and
    /// a mapping nobody faulted stays clean.
    #[test]
    fn a_bus_error_on_a_device_mapping_is_caught() {
        let file = tempfile::tempfile().unwrap();
        file.set_len(8192).unwrap();
        let region = MmioRegion::new(Mapping::map_file(&file, 8192, 0, true).unwrap());
        let other_file = tempfile::tempfile().unwrap();
        other_file.set_len(4096).unwrap();
        let other = MmioRegion::new(Mapping::map_file(&other_file, 4096, 0, true).unwrap());
        region.write(0x1000, Width::W32, 0x1234_5678).unwrap();
        assert_eq!(region.read(0x1000, Width::W32).unwrap(), 0x1234_5678);
        assert!(!region.faulted());
        file.set_len(0).unwrap();
        assert_eq!(region.read(0x1000, Width::W32).unwrap(), 0, "the replacement reads zeros");
        assert!(region.faulted());
        region.write(0x10, Width::W64, u64::MAX).unwrap();
        assert!(!other.faulted(), "only the mapping that took the bus error");
        other.write(0, Width::W32, 7).unwrap();
        assert_eq!(other.read(0, Width::W32).unwrap(), 7);
        // A bulk copy from it is an error, not zeros.
        let mut buf = [0u8; 64];
        let e = region.copy_to_slice(0, &mut buf).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Gone { .. }), "{e}");
        drop(region);
        // The slot is free again: a new mapping starts clean.
        let again = MmioRegion::new(Mapping::map_file(&other_file, 4096, 0, false).unwrap());
        assert!(!again.faulted());
    }

    /// The cases that need a process of their own (they change the
    /// process's SIGBUS disposition): this test binary runs again with
    /// `MMIOTEST_FAULT_CASE` set and only that test, which then plays the
    /// case and exits 0 when it went right. A child that hangs (a fault
    /// handed to a handler that returns, over and over) is killed at 10 s.
    fn in_a_child(case: &str) {
        let exe = std::env::current_exe().unwrap();
        let mut child = std::process::Command::new(exe)
            .args(["--exact", "mmio::fault::tests::child_cases", "--nocapture", "--test-threads", "1"])
            .env("MMIOTEST_FAULT_CASE", case)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let start = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break Some(s);
            }
            if start.elapsed() > Duration::from_secs(10) {
                let _ = child.kill();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let out = child.wait_with_output().unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        let status = status.unwrap_or_else(|| panic!("{case}: hung (a fault looping through another handler)\n{text}"));
        assert!(status.success() && text.contains(&format!("CASE {case} OK")), "{case}: {status:?}\n{text}");
    }

    static COUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    extern "C" fn counting(_: libc::c_int) {
        COUNT.fetch_add(1, Ordering::SeqCst);
    }

    fn install_counting() {
        let action = SigAction::new(SigHandler::Handler(counting), SaFlags::empty(), SigSet::empty());
        // SAFETY: `counting` only increments an atomic.
        unsafe { sigaction(Signal::SIGBUS, &action) }.unwrap();
    }

    fn shrinking() -> (std::fs::File, MmioRegion) {
        let file = tempfile::tempfile().unwrap();
        file.set_len(4096).unwrap();
        let region = MmioRegion::new(Mapping::map_file(&file, 4096, 0, true).unwrap());
        region.write(0, Width::W32, 0x1234).unwrap();
        (file, region)
    }

    /// Runs a case when this process is one of `in_a_child`'s.
    #[test]
    fn child_cases() {
        let Ok(case) = std::env::var("MMIOTEST_FAULT_CASE") else { return };
        match case.as_str() {
            // A stray SIGBUS (kill) goes to the handler the process had, and
            // ours stays: the next device fault is still caught.
            "stray" => {
                install_counting();
                let (file, region) = shrinking();
                // To this thread (raise): a signal to the process may be handled
                // by another of the harness's threads after the check below.
                nix::sys::signal::raise(Signal::SIGBUS).unwrap();
                assert_eq!(COUNT.load(Ordering::SeqCst), 1, "the previous handler got the stray signal");
                file.set_len(0).unwrap();
                assert_eq!(region.read(0, Width::W32).unwrap(), 0);
                assert!(region.faulted());
                assert_eq!(COUNT.load(Ordering::SeqCst), 1, "the fault was ours, not the previous handler's");
            }
            // A sent signal whose address field points into a live mapping
            // (sigqueue to ourselves with si_code SI_QUEUE) is not a fault:
            // the mapping keeps its contents.
            "forged" => {
                install_counting();
                let (_file, region) = shrinking();
                // SAFETY: a zeroed siginfo_t is valid; the fields set are those
                // rt_tgsigqueueinfo(2) reads for a signal sent to ourselves
                // (this thread, so it is handled before the checks below).
                let rc = unsafe {
                    let mut si: libc::siginfo_t = std::mem::zeroed();
                    si.si_signo = libc::SIGBUS;
                    si.si_code = libc::SI_QUEUE;
                    // si_addr sits where the kernel puts a fault's address (after signo, errno, code).
                    let at = (&mut si as *mut libc::siginfo_t).cast::<u8>().add(16).cast::<usize>();
                    at.write_unaligned(region.base_ptr() as usize);
                    libc::syscall(libc::SYS_rt_tgsigqueueinfo, libc::getpid(), libc::gettid(), libc::SIGBUS, &si)
                };
                assert_eq!(rc, 0);
                assert!(!region.faulted(), "a sent signal is no fault");
                assert_eq!(region.read(0, Width::W32).unwrap(), 0x1234, "the mapping kept its contents");
                assert_eq!(COUNT.load(Ordering::SeqCst), 1);
            }
            // Another handler installed over ours (as Python's faulthandler
            // does) is found at the next mapping: ours goes back in front
            // and the device fault is caught.
            "replaced" => {
                let (file, region) = shrinking();
                install_counting();
                let (_other, _r2) = shrinking();
                file.set_len(0).unwrap();
                assert_eq!(region.read(0, Width::W32).unwrap(), 0);
                assert!(region.faulted());
                assert_eq!(COUNT.load(Ordering::SeqCst), 0);
                // And reassert() alone does it too.
                install_counting();
                reassert();
                // To this thread (raise): a signal to the process may be handled
                // by another of the harness's threads after the check below.
                nix::sys::signal::raise(Signal::SIGBUS).unwrap();
                assert_eq!(COUNT.load(Ordering::SeqCst), 1, "chained to the replacing handler");
            }
            other => panic!("unknown case {other}"),
        }
        println!("CASE {case} OK");
    }

    #[test]
    fn a_stray_signal_leaves_the_handler_in_place() {
        in_a_child("stray");
    }

    #[test]
    fn a_sent_signal_is_no_fault() {
        in_a_child("forged");
    }

    #[test]
    fn a_replaced_handler_is_put_back() {
        in_a_child("replaced");
    }
}
