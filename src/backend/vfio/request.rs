//! The kernel's request for the device back. When a device held through VFIO
//! is removed (sysfs `remove`, hot-unplug) or unbound, vfio-pci signals the
//! holder's request interrupt (`VFIO_PCI_REQ_IRQ_INDEX`) and waits for it to
//! close the device; with no request channel it just waits ("blocked until
//! released by user"). A watcher thread waits on that eventfd and turns the
//! request into a process-wide stop ([`crate::stop`]), so every wait returns
//! [`crate::ErrorKind::ReleaseRequested`] and the holder lets go.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::eventfd::{EfdFlags, EventFd as QuitFd};
use vfio_bindings::bindings::vfio::VFIO_PCI_REQ_IRQ_INDEX;
use vfio_ioctls::VfioDevice;
use vmm_sys_util::eventfd::{EventFd, EFD_NONBLOCK};

use crate::error::DeviceRef;

/// The watcher of one device's request interrupt.
pub(super) struct ReleaseWatch {
    device: Arc<VfioDevice>,
    name: DeviceRef,
    quit: Arc<QuitFd>,
    thread: Option<JoinHandle<bool>>,
}

impl ReleaseWatch {
    /// Register the request interrupt and start watching it; None (logged)
    /// when the kernel offers no request interrupt for the device.
    pub(super) fn start(device: Arc<VfioDevice>, name: DeviceRef) -> Option<Self> {
        if device.get_irq_info(VFIO_PCI_REQ_IRQ_INDEX).is_none_or(|i| i.count == 0) {
            log::info!("{name}: no VFIO request interrupt; a removal waits until mmiodrv exits");
            return None;
        }
        let setup = || -> std::io::Result<(EventFd, QuitFd)> {
            let req = EventFd::new(EFD_NONBLOCK | nix::libc::EFD_CLOEXEC)?;
            let quit = QuitFd::from_value_and_flags(0, EfdFlags::EFD_NONBLOCK | EfdFlags::EFD_CLOEXEC)?;
            Ok((req, quit))
        };
        let (req, quit) = setup().map_err(|e| log::warn!("{name}: no release watcher: {e}")).ok()?;
        if let Err(e) = device.enable_irq(VFIO_PCI_REQ_IRQ_INDEX, vec![&req]) {
            log::warn!("{name}: cannot register the VFIO request interrupt: {e}");
            return None;
        }
        let quit = Arc::new(quit);
        let (q, n) = (quit.clone(), name.clone());
        let thread = std::thread::Builder::new()
            .name("vfio-release".into())
            .spawn(move || watch(&req, &q, n))
            .map_err(|e| log::warn!("{name}: no release watcher thread: {e}"))
            .ok();
        if thread.is_none() {
            let _ = device.disable_irq(VFIO_PCI_REQ_IRQ_INDEX);
            return None;
        }
        log::debug!("{name}: watching the VFIO request interrupt");
        Some(ReleaseWatch { device, name, quit, thread })
    }

    /// Stop watching; whether the kernel had asked for the device.
    pub(super) fn stop(mut self) -> bool {
        let _ = nix::unistd::write(self.quit.as_fd(), &1u64.to_ne_bytes());
        let asked = self.thread.take().is_some_and(|t| t.join().unwrap_or(false));
        if !asked {
            if let Err(e) = self.device.disable_irq(VFIO_PCI_REQ_IRQ_INDEX) {
                log::debug!("{}: disabling the request interrupt: {e}", self.name);
            }
        }
        asked
    }
}

/// Readable within `timeout`? Interrupted polls are retried.
fn readable(fds: &[BorrowedFd<'_>], timeout: Option<Duration>) -> Option<usize> {
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        let ms = match deadline {
            None => PollTimeout::NONE,
            Some(d) => crate::unix::poll_timeout_until(d),
        };
        let mut pfds: Vec<PollFd> = fds.iter().map(|fd| PollFd::new(*fd, PollFlags::POLLIN)).collect();
        match poll(&mut pfds, ms) {
            Ok(_) => {
                if let Some(i) = pfds.iter().position(|p| p.revents().is_some_and(|r| r.contains(PollFlags::POLLIN))) {
                    return Some(i);
                }
            }
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => {
                log::warn!("release watcher: poll: {e}");
                return None;
            }
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return None;
        }
    }
}

/// The watcher thread: true when the kernel asked for the device.
fn watch(req: &EventFd, quit: &QuitFd, name: DeviceRef) -> bool {
    // SAFETY: `req` is an EventFd this thread owns for its whole run; the
    // borrow ends with this function.
    let req_fd = unsafe { BorrowedFd::borrow_raw(req.as_raw_fd()) };
    match readable(&[req_fd, quit.as_fd()], None) {
        Some(0) => {
            log::info!("{name}: the kernel asks for the device back");
            crate::stop::request_release(name, |grace| readable(&[quit.as_fd()], Some(grace)).is_some());
            true
        }
        _ => false,
    }
}
