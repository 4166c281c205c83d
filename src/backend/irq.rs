//! Interrupt delivery, common to the backends that have it (VFIO, UIO).

use std::os::fd::BorrowedFd;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};

/// Which interrupt mechanism.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IrqKind {
    /// Legacy INTx (level-triggered, shared).
    Intx,
    /// MSI.
    Msi,
    /// MSI-X.
    Msix,
}

impl IrqKind {
    /// Every kind, in the order the command line lists them.
    pub const ALL: [IrqKind; 3] = [IrqKind::Intx, IrqKind::Msi, IrqKind::Msix];

    /// Its lowercase name (`intx`, `msi`, `msix`).
    pub const fn name(self) -> &'static str {
        match self {
            IrqKind::Intx => "intx",
            IrqKind::Msi => "msi",
            IrqKind::Msix => "msix",
        }
    }
}

impl std::str::FromStr for IrqKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::ALL.into_iter().find(|k| k.name() == s).ok_or_else(|| Error::invalid(s, "expected intx, msi or msix"))
    }
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
    /// The mechanism.
    pub kind: IrqKind,
    /// The vector that fired (0 for INTx).
    pub vector: u32,
    /// How many times it fired since the previous wait returned it.
    pub count: u64,
}

/// Armed interrupts of one device. Disarmed on drop. `Send`, so a wait can run
/// on another thread than the one that armed them.
pub trait Interrupts: Send {
    /// The mechanism armed.
    fn kind(&self) -> IrqKind;

    /// Number of vectors armed.
    fn vectors(&self) -> u32;

    /// Wait until any armed vector fires, or `timeout` passes (then
    /// [`ErrorKind::Timeout`]). After an INTx event the line stays masked
    /// until the next call, so acknowledge the device in between.
    fn wait(&mut self, timeout: Duration) -> Result<IrqEvent>;

    /// Wait for `vector` (any when `None`) within `timeout`: events on other
    /// vectors are logged and waited past. A vector the device does not have
    /// is refused before waiting.
    fn wait_for(&mut self, vector: Option<u32>, timeout: Duration) -> Result<IrqEvent> {
        let mut events = self.wait_count(vector, 1, timeout)?;
        events.pop().ok_or_else(|| ErrorKind::Timeout { what: self.kind().to_string(), ms: 0 }.into())
    }

    /// Wait for `count` events on `vector` (any when `None`) within `timeout`
    /// in all; a timeout names the whole time waited and how many arrived.
    fn wait_count(&mut self, vector: Option<u32>, count: u32, timeout: Duration) -> Result<Vec<IrqEvent>> {
        if let Some(v) = vector.filter(|v| *v >= self.vectors()) {
            return Err(ErrorKind::NoSuchVector { kind: self.kind(), vectors: self.vectors(), vector: v }.into());
        }
        let deadline = Instant::now() + timeout;
        let mut events = Vec::new();
        while events.len() < count as usize {
            let left = deadline.saturating_duration_since(Instant::now());
            let event = self.wait(left).map_err(|e| {
                let ErrorKind::Timeout { what, .. } = e.kind() else { return e };
                // Name the vector waited for, the whole time waited, and what came.
                let mut what = match vector {
                    Some(v) => format!("{} vector {v} ({} vector(s) armed)", self.kind(), self.vectors()),
                    None => what.clone(),
                };
                if count > 1 {
                    what = format!("{count} interrupts on {what}; {} arrived", events.len());
                }
                let timeout = ErrorKind::Timeout { what, ms: timeout.as_millis() as u64 };
                match e.device() {
                    Some(d) => Error::on(d.clone(), timeout),
                    None => timeout.into(),
                }
            })?;
            if vector.is_none_or(|v| v == event.vector) {
                events.push(event);
            } else {
                log::info!("{} vector {} fired; waiting for vector {vector:?}", event.kind, event.vector);
            }
        }
        Ok(events)
    }
}

/// Wait until one of `fds` is readable (its index), `deadline` passes or a
/// stop is requested ([`crate::stop`]; both None: the caller checks
/// `stop::check()` before calling it a timeout). Interrupted polls are
/// retried with the time left.
pub(crate) fn wait_readable(fds: &[BorrowedFd<'_>], deadline: Instant) -> nix::Result<Option<usize>> {
    let stop = crate::stop::fd();
    loop {
        if crate::stop::requested().is_some() {
            return Ok(None);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let ms = PollTimeout::try_from(left.as_millis().min(i32::MAX as u128) as i32).unwrap_or(PollTimeout::MAX);
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
