//! Interrupt delivery, common to the backends that have it (VFIO, UIO).

use crate::error::BackendError;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::{Error, ErrorKind, Result};

pub use super::kind::IrqKind;

impl std::str::FromStr for IrqKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::ALL.into_iter().find(|k| k.name() == s).ok_or_else(|| Error::invalid(s, "expected intx, msi or msix"))
    }
}

/// One wake-up: which vector fired and how many times since the last wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
        if let Some(v) = vector.filter(|v| *v >= self.vectors()) {
            return Err(BackendError::NoSuchVector { kind: self.kind(), vectors: self.vectors(), vector: v }.into());
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let event = self.wait(left).map_err(|e| {
                let ErrorKind::Timeout { what, .. } = e.kind() else { return e };
                // Name the vector waited for, and the whole time waited.
                let what = match vector {
                    Some(v) => format!("{} vector {v} ({} vector(s) armed)", self.kind(), self.vectors()),
                    None => what.clone(),
                };
                let timeout = ErrorKind::Timeout { what, ms: timeout.as_millis() as u64 };
                match e.device() {
                    Some(d) => Error::on(d.clone(), timeout),
                    None => timeout.into(),
                }
            })?;
            if vector.is_none_or(|v| v == event.vector) {
                return Ok(event);
            }
            log::info!("{} vector {} fired; waiting for vector {vector:?}", event.kind, event.vector);
        }
    }

    /// Wait until `count` interrupts of `vector` (any when `None`) have fired,
    /// within `timeout` in all; `each` sees every event as it comes. An event
    /// counts for [`IrqEvent::count`] interrupts: an eventfd adds up the
    /// interrupts that fired since the last wait, so two MSIs before a wait
    /// are one wake-up of count 2. A timeout names the whole time and how many
    /// interrupts came.
    fn wait_count(
        &mut self,
        vector: Option<u32>,
        count: u64,
        timeout: Duration,
        each: &mut dyn FnMut(&IrqEvent),
    ) -> Result<Vec<IrqEvent>> {
        if count == 0 {
            return Err(Error::invalid("0", "wait for at least one interrupt"));
        }
        let deadline = Instant::now() + timeout;
        let mut seen: Vec<IrqEvent> = Vec::new();
        let mut fired = 0u64;
        while fired < count {
            let left = deadline.saturating_duration_since(Instant::now());
            let event = self.wait_for(vector, left).map_err(|e| {
                let ErrorKind::Timeout { what, .. } = e.kind() else { return e };
                let what = if count > 1 { format!("{count} interrupts on {what}, {fired} came") } else { what.clone() };
                let timeout = ErrorKind::Timeout { what, ms: timeout.as_millis() as u64 };
                match e.device() {
                    Some(d) => Error::on(d.clone(), timeout),
                    None => timeout.into(),
                }
            })?;
            fired = fired.saturating_add(event.count.max(1));
            each(&event);
            seen.push(event);
        }
        Ok(seen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Events handed out in order, then timeouts.
    struct Scripted {
        vectors: u32,
        events: Vec<(u32, u64)>,
        waits: usize,
    }

    impl Interrupts for Scripted {
        fn kind(&self) -> IrqKind {
            IrqKind::Msix
        }

        fn vectors(&self) -> u32 {
            self.vectors
        }

        fn wait(&mut self, timeout: Duration) -> Result<IrqEvent> {
            self.waits += 1;
            if self.events.is_empty() {
                let what = format!("MSI-X ({} vector(s))", self.vectors);
                return Err(ErrorKind::Timeout { what, ms: timeout.as_millis() as u64 }.into());
            }
            let (vector, count) = self.events.remove(0);
            Ok(IrqEvent { kind: IrqKind::Msix, vector, count })
        }
    }

    fn scripted(events: &[(u32, u64)]) -> Scripted {
        Scripted { vectors: 2, events: events.to_vec(), waits: 0 }
    }

    #[test]
    fn coalesced_interrupts_count_for_what_they_stand_for() {
        // Two interrupts before the wait are one wake-up of count 2.
        let mut irqs = scripted(&[(1, 2), (1, 1)]);
        let mut each = Vec::new();
        let seen = irqs.wait_count(Some(1), 2, Duration::from_secs(1), &mut |e| each.push(e.count)).unwrap();
        assert_eq!((seen.len(), each, irqs.waits), (1, vec![2], 1));
        let seen = irqs.wait_count(None, 1, Duration::from_secs(1), &mut |_| {}).unwrap();
        assert_eq!(seen, [IrqEvent { kind: IrqKind::Msix, vector: 1, count: 1 }]);
    }

    #[test]
    fn other_vectors_do_not_count() {
        let mut irqs = scripted(&[(0, 1), (1, 1), (0, 3), (1, 1)]);
        let seen = irqs.wait_count(Some(1), 2, Duration::from_secs(1), &mut |_| {}).unwrap();
        assert!(seen.iter().all(|e| e.vector == 1) && seen.len() == 2, "{seen:?}");
        assert_eq!(irqs.waits, 4);
    }

    #[test]
    fn a_count_not_reached_is_a_timeout_naming_the_whole_wait() {
        let mut irqs = scripted(&[(0, 1)]);
        let e = irqs.wait_count(Some(0), 3, Duration::from_millis(30), &mut |_| {}).unwrap_err();
        assert_eq!(
            e.to_string(),
            "timed out after 30 ms waiting for 3 interrupts on MSI-X vector 0 (2 vector(s) armed), 1 came"
        );
        let e = scripted(&[]).wait_count(None, 1, Duration::from_millis(30), &mut |_| {}).unwrap_err();
        assert_eq!(e.to_string(), "timed out after 30 ms waiting for MSI-X (2 vector(s))");
        let mut irqs = scripted(&[(0, 1)]);
        let e = irqs.wait_count(Some(2), 1, Duration::from_secs(1), &mut |_| {}).unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::Backend(BackendError::NoSuchVector { vector: 2, vectors: 2, .. })),
            "{e}"
        );
        assert_eq!(irqs.waits, 0, "refused before waiting");
        assert!(matches!(
            irqs.wait_count(None, 0, Duration::ZERO, &mut |_| {}).unwrap_err().kind(),
            ErrorKind::InvalidValue { .. }
        ));
    }
}
