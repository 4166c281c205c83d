//! Interrupt delivery, common to the backends that have it (VFIO, UIO).

use std::os::fd::BorrowedFd;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use serde::Serialize;

use crate::error::Result;

/// Which interrupt mechanism.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum IrqKind {
    Intx,
    Msi,
    Msix,
}

impl std::fmt::Display for IrqKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            IrqKind::Intx => "INTx",
            IrqKind::Msi => "MSI",
            IrqKind::Msix => "MSI-X",
        })
    }
}

/// One wake-up: which vector fired and how many times since the last wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct IrqEvent {
    pub kind: IrqKind,
    pub vector: u32,
    pub count: u64,
}

/// Armed interrupts of one device. Disarmed on drop.
pub trait Interrupts {
    fn kind(&self) -> IrqKind;

    /// Number of vectors armed.
    fn vectors(&self) -> u32;

    /// Wait until any armed vector fires, or `timeout` passes (then
    /// [`crate::Error::Timeout`]). After an INTx event the line stays masked
    /// until the next call, so acknowledge the device in between.
    fn wait(&mut self, timeout: Duration) -> Result<IrqEvent>;
}

/// Wait until one of `fds` is readable (its index) or `deadline` passes (None).
/// Interrupted polls are retried with the time left.
pub(crate) fn wait_readable(fds: &[BorrowedFd<'_>], deadline: Instant) -> nix::Result<Option<usize>> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ms = PollTimeout::try_from(left.as_millis().min(i32::MAX as u128) as i32).unwrap_or(PollTimeout::MAX);
        let mut pfds: Vec<PollFd> = fds.iter().map(|fd| PollFd::new(*fd, PollFlags::POLLIN)).collect();
        match poll(&mut pfds, ms) {
            Ok(_) => {
                if let Some(i) = pfds.iter().position(|p| p.revents().is_some_and(|r| r.contains(PollFlags::POLLIN))) {
                    return Ok(Some(i));
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
