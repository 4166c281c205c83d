//! Bus errors on device mappings, as DPDK handles them. An access to a BAR
//! mapping whose device went away (removed, reset, or taken over through
//! VFIO by another process, which revokes sysfs mappings) raises SIGBUS,
//! which would kill the process with no message. Device mappings are
//! registered here; a SIGBUS inside one replaces that mapping with anonymous
//! memory (the access completes, reading zeros) and marks it faulted, and
//! the next check of the region ([`crate::mmio::RegisterIo::faulted`])
//! turns it into [`crate::ErrorKind::Gone`]. A SIGBUS anywhere else gets
//! the action it had before (by default: the process dies, as it would have).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Once, OnceLock};

use nix::libc;
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

/// Device mappings watched at once (each BAR a process maps is one).
const SLOTS: usize = 64;

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: AtomicUsize = AtomicUsize::new(0);
#[allow(clippy::declare_interior_mutable_const)]
const CLEAN: AtomicBool = AtomicBool::new(false);

static STARTS: [AtomicUsize; SLOTS] = [EMPTY; SLOTS];
static LENS: [AtomicUsize; SLOTS] = [EMPTY; SLOTS];
static FAULTED: [AtomicBool; SLOTS] = [CLEAN; SLOTS];
static INSTALL: Once = Once::new();
/// The SIGBUS action before ours, for faults outside device mappings.
static PREVIOUS: OnceLock<SigAction> = OnceLock::new();

/// Watch `len` bytes at `start`, a device mapping; its slot, or None when
/// every slot is taken (the mapping then works unwatched).
pub(crate) fn register(start: usize, len: usize) -> Option<usize> {
    INSTALL.call_once(install);
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

fn install() {
    let action = SigAction::new(SigHandler::SigAction(on_sigbus), SaFlags::SA_SIGINFO, SigSet::empty());
    // SAFETY: on_sigbus only does async-signal-safe work: atomics, mmap(2)
    // over a range this module owns, sigaction(2).
    match unsafe { sigaction(Signal::SIGBUS, &action) } {
        Ok(previous) => {
            let _ = PREVIOUS.set(previous);
        }
        Err(e) => log::warn!("cannot watch device mappings for bus errors: {e}"),
    }
}

extern "C" fn on_sigbus(_signo: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo_t to an SA_SIGINFO handler.
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
    // Not ours (or the replacement failed): the previous action, which runs
    // when the access faults again on return.
    let previous = PREVIOUS
        .get()
        .copied()
        .unwrap_or_else(|| SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty()));
    // SAFETY: restoring an action the process had is async-signal-safe.
    let _ = unsafe { sigaction(Signal::SIGBUS, &previous) };
}

#[cfg(test)]
mod tests {
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
        drop(region);
        // The slot is free again: a new mapping starts clean.
        let again = MmioRegion::new(Mapping::map_file(&other_file, 4096, 0, false).unwrap());
        assert!(!again.faulted());
    }
}
