//! Stopping early, cleanly: the kernel asking for a VFIO device back (it is
//! being removed or unbound) or a signal (SIGINT, SIGTERM, SIGHUP).
//!
//! A stop is a process-wide request: a flag, and an eventfd that becomes
//! readable once a stop is requested. Every wait of the library (interrupts,
//! [`sleep`], polls of a register) includes the eventfd or checks the flag,
//! and returns [`ErrorKind::ReleaseRequested`] or [`ErrorKind::Interrupted`];
//! an operation that must not be cut short (a DMA in flight, the steps of a
//! bind) finishes its step first. The front end decides what a stop means for
//! the process: [`install_signal_handlers`] turns SIGINT/SIGTERM/SIGHUP into
//! stop requests (a second signal ends the process at once), and
//! [`set_release_handler`] names what to do when the kernel's request is not
//! honoured within [`RELEASE_GRACE`] (the command line prints its error and
//! exits, so the removal is never blocked for long).

use std::os::fd::{AsFd, BorrowedFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::eventfd::{EfdFlags, EventFd};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal};

use crate::error::{DeviceRef, Error, ErrorKind, Result};

/// How long a holder has, after the kernel asked for its device, to let go by
/// itself before the release handler runs. The kernel waits (and repeats its
/// request every ten seconds); the user removing the device waits with it.
pub const RELEASE_GRACE: Duration = Duration::from_millis(400);

/// No stop requested.
const NONE: i32 = 0;
/// The kernel asked for a device back.
const RELEASE: i32 = -1;

/// [`NONE`], [`RELEASE`], or the number of the signal that asked to stop.
static STATE: AtomicI32 = AtomicI32::new(NONE);
/// Readable once a stop is requested (never read: it stays readable).
static WAKE: OnceLock<Option<EventFd>> = OnceLock::new();
/// The device the kernel asked for.
static RELEASED: OnceLock<DeviceRef> = OnceLock::new();
/// What to do when a release request is not honoured in time.
static RELEASE_HANDLER: Mutex<Option<fn(&DeviceRef)>> = Mutex::new(None);

/// Why a stop was requested.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The kernel asked for this device back.
    Release(DeviceRef),
    /// This signal.
    Signal(Signal),
}

fn wake_fd() -> Option<&'static EventFd> {
    WAKE.get_or_init(|| EventFd::from_value_and_flags(0, EfdFlags::EFD_NONBLOCK | EfdFlags::EFD_CLOEXEC).ok()).as_ref()
}

/// A descriptor that becomes readable when a stop is requested, for a
/// poll(2) beside the descriptors an operation waits on.
pub fn fd() -> Option<BorrowedFd<'static>> {
    wake_fd().map(|e| e.as_fd())
}

/// The stop requested, if any.
pub fn requested() -> Option<Reason> {
    match STATE.load(Ordering::SeqCst) {
        NONE => None,
        RELEASE => RELEASED.get().cloned().map(Reason::Release),
        n => Signal::try_from(n).ok().map(Reason::Signal),
    }
}

/// `Ok` unless a stop was requested: then the error that says why, on `device`
/// (the released device for a release request).
#[inline]
pub fn check() -> Result<()> {
    // One load when nothing is requested: a script checks before every line.
    if STATE.load(Ordering::Relaxed) == NONE {
        return Ok(());
    }
    match requested() {
        None => Ok(()),
        Some(reason) => Err(reason.error(String::new())),
    }
}

impl Reason {
    /// The error for this stop; `done` says what was done to stop safely.
    pub fn error(&self, done: String) -> Error {
        match self {
            Reason::Release(device) => Error::on(device.clone(), ErrorKind::ReleaseRequested),
            Reason::Signal(s) => ErrorKind::Interrupted { signal: s.as_str(), done }.into(),
        }
    }
}

/// Sleep for `d`, or less if a stop is requested (then its error).
pub fn sleep(d: Duration) -> Result<()> {
    check()?;
    let Some(fd) = fd() else {
        std::thread::sleep(d);
        return check();
    };
    // wait_readable watches the stop eventfd itself: it returns early on a stop.
    let _ = fd;
    wait_readable(&[], Instant::now() + d).map_err(|e| Error::io("cannot poll", "the stop eventfd", e.into()))?;
    check()
}

/// Wait until one of `fds` is readable (its index), `deadline` passes or a
/// stop is requested (both None: the caller checks
/// [`check`] before calling it a timeout). Interrupted polls are
/// retried with the time left.
pub(crate) fn wait_readable(fds: &[BorrowedFd<'_>], deadline: Instant) -> nix::Result<Option<usize>> {
    let stop = fd();
    loop {
        if requested().is_some() {
            return Ok(None);
        }
        let ms = crate::unix::poll_timeout_until(deadline);
        let mut pfds: Vec<PollFd> =
            fds.iter().chain(stop.as_ref()).map(|fd| PollFd::new(*fd, PollFlags::POLLIN)).collect();
        match poll(&mut pfds, ms) {
            Ok(_) => {
                let ready = pfds.iter().position(|p| p.revents().is_some_and(|r| r.contains(PollFlags::POLLIN)));
                match ready {
                    Some(i) if i < fds.len() => return Ok(Some(i)),
                    Some(_) => return Ok(None),
                    None => {}
                }
            }
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
    }
}

/// Wait until `fd` can be read (`write` false) or written without blocking,
/// or has hung up or failed (the read or write then says so), or until a
/// stop is requested while it cannot: then the stop's error (a descriptor
/// that is ready is ready, stop or not). A read or write that blocks
/// (a pipe nobody writes or reads) is restarted after a signal
/// (`SA_RESTART`), so one that may wait for another process waits here first:
/// a second signal is never needed.
pub fn wait_ready(fd: BorrowedFd<'_>, write: bool) -> Result<()> {
    let events = if write { PollFlags::POLLOUT } else { PollFlags::POLLIN };
    loop {
        let stop = self::fd();
        let mut fds: Vec<PollFd> =
            std::iter::once(PollFd::new(fd, events)).chain(stop.map(|s| PollFd::new(s, PollFlags::POLLIN))).collect();
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {
                if fds[0].revents().is_some_and(|r| !r.is_empty()) {
                    return Ok(());
                }
            }
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(Error::io("cannot poll", "a descriptor", e.into())),
        }
        check()?;
    }
}

fn wake() {
    if let Some(fd) = WAKE.get().and_then(Option::as_ref) {
        // Async-signal-safe: one write(2). A full counter is still readable.
        let _ = nix::unistd::write(fd, &1u64.to_ne_bytes());
    }
}

/// The kernel asked for `device` back: request a stop, wake every wait, and
/// unless the process lets go within [`RELEASE_GRACE`] (`released` returns
/// true), run the release handler. Called by the VFIO backend's watcher.
#[cfg_attr(not(feature = "vfio"), allow(dead_code))]
pub(crate) fn request_release(device: DeviceRef, released: impl Fn(Duration) -> bool) {
    let _ = RELEASED.set(device.clone());
    let _ = STATE.compare_exchange(NONE, RELEASE, Ordering::SeqCst, Ordering::SeqCst);
    wake();
    if released(RELEASE_GRACE) {
        return;
    }
    let handler = *RELEASE_HANDLER.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(handler) = handler {
        handler(&device);
    }
}

/// What to do when the kernel's request for `device` is not honoured within
/// [`RELEASE_GRACE`] (the holder is busy in a loop that does not check for
/// stops). Called on the backend's watcher thread. A library leaves the
/// default (nothing: the request stays pending until the holder lets go); a
/// command line prints its error and exits, which closes the device.
pub fn set_release_handler(handler: fn(&DeviceRef)) {
    *RELEASE_HANDLER.lock().unwrap_or_else(|p| p.into_inner()) = Some(handler);
}

/// Signals that ask to stop.
pub const SIGNALS: [Signal; 3] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP];

extern "C" fn on_signal(signo: nix::libc::c_int) {
    // A second signal takes its default action at once (the process ends, by
    // that signal), as the user expects of a second Ctrl-C; the first one
    // asks the operation to stop.
    if STATE.compare_exchange(NONE, signo, Ordering::SeqCst, Ordering::SeqCst).is_err() {
        // SAFETY: signal(2) and raise(3) are async-signal-safe; restoring the
        // default disposition and raising the signal again runs nothing else.
        unsafe {
            nix::libc::signal(signo, nix::libc::SIG_DFL);
            nix::libc::raise(signo);
        }
    }
    wake();
}

/// Ignore SIGPIPE, as Rust's start-up code does (for a binary that starts
/// without it: `#![no_main]`): a write to a pipe whose reader is gone is
/// then an error (`EPIPE`) the writer reports, not the end of the process.
/// Children started with `std::process::Command` still get the default.
pub fn ignore_broken_pipes() {
    // SAFETY: SIG_IGN runs no handler code; setting a disposition is
    // async-signal-safe and races with nothing at start-up.
    let _ = unsafe { nix::sys::signal::signal(Signal::SIGPIPE, SigHandler::SigIgn) };
}

/// Turn SIGINT, SIGTERM and SIGHUP into stop requests (for the process, so
/// call it once, from the front end): waits return [`ErrorKind::Interrupted`],
/// loops stop at their next check, and a second signal ends the process
/// at once by the signal's default action (a shell reports 128 + its number).
pub fn install_signal_handlers() -> Result<()> {
    wake_fd().ok_or_else(|| Error::io("cannot create", "an eventfd for signals", std::io::Error::last_os_error()))?;
    let action = SigAction::new(SigHandler::Handler(on_signal), SaFlags::SA_RESTART, SigSet::empty());
    for s in SIGNALS {
        // SAFETY: on_signal only does async-signal-safe things: atomics, write(2), signal(2), raise(3).
        unsafe { nix::sys::signal::sigaction(s, &action) }
            .map_err(|e| Error::io("cannot install a handler for", s.as_str(), e.into()))?;
    }
    Ok(())
}
