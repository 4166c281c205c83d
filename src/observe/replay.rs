//! Replaying a trace: its writes issued again, in order, on a device of the
//! same kind; with verification, its reads made again and checked.
//!
//! A read is checked by reading until the register returns the recorded
//! value, within a timeout: the device may take a moment to get there (a
//! computation finishing), as it did while the trace was recorded, and a
//! driver's polling loop (a run of reads of one register) becomes one such
//! wait. A register whose read has side effects is read exactly once.
//! Accesses that failed while recording are left out; interrupts and bulk
//! copies through a mapping are not replayed (the plan counts them).
//!
//! Everything is checked before the first access: the device's IDs against
//! the trace's, and every access against the device's BARs.

use crate::error::{BackendError, ObserveError};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::backend::BarOptions;
use crate::device::Device;
use crate::error::{Error, Result};
use crate::mmio::width::check_access;
use crate::mmio::{RegisterIo, Width};
use crate::observe::trace::{Event, Names, Trace};
use crate::observe::DeviceIds;

/// One access to make (in JSON, `access` says which).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "access", rename_all = "lowercase")]
pub enum Step {
    /// Write `value`.
    Write {
        /// BAR index.
        bar: u8,
        /// Offset.
        offset: u64,
        /// Width.
        width: Width,
        /// The value.
        value: u64,
    },
    /// Read and expect `value`.
    Read {
        /// BAR index.
        bar: u8,
        /// Offset.
        offset: u64,
        /// Width.
        width: Width,
        /// The value recorded (the last of a run of reads).
        value: u64,
        /// How many recorded reads it stands for.
        recorded: usize,
        /// Read exactly once: the read has side effects.
        once: bool,
    },
}

impl Step {
    /// BAR, offset and width.
    pub fn place(&self) -> (u8, u64, Width) {
        match *self {
            Step::Write { bar, offset, width, .. } | Step::Read { bar, offset, width, .. } => (bar, offset, width),
        }
    }
}

/// What a replay will do.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// The accesses, in order.
    pub steps: Vec<Step>,
    /// Recorded accesses left out because they failed.
    pub failed: usize,
    /// Recorded reads (all of them, whether replayed or not).
    pub reads: usize,
    /// BARs the command used through a mapping (bulk copies, not in the trace).
    pub bulk: Vec<u8>,
    /// Interrupts the command received (not replayed).
    pub irqs: usize,
}

impl Plan {
    /// The plan for `trace`: its writes, and with `verify` its reads (runs
    /// of reads of one register as one); `names` says which reads have side
    /// effects.
    pub fn new(trace: &Trace, names: &Names, verify: bool) -> Plan {
        let mut plan = Plan::default();
        for e in &trace.entries {
            match &e.event {
                Event::Write { error: Some(_), .. } | Event::Read { error: Some(_), .. } => plan.failed += 1,
                Event::Read { value: None, .. } => plan.failed += 1,
                &Event::Write { bar, offset, width, value, error: None } => {
                    plan.steps.push(Step::Write { bar, offset, width, value })
                }
                &Event::Read { bar, offset, width, value: Some(value), error: None } => {
                    plan.reads += 1;
                    if !verify {
                        continue;
                    }
                    let once = names.name(bar, offset, width, None).is_some_and(|n| n.read_side_effects);
                    match plan.steps.last_mut() {
                        Some(Step::Read { bar: b, offset: o, width: w, value: v, recorded, once: false })
                            if (*b, *o, *w) == (bar, offset, width) && !once =>
                        {
                            *v = value;
                            *recorded += 1;
                        }
                        _ => plan.steps.push(Step::Read { bar, offset, width, value, recorded: 1, once }),
                    }
                }
                Event::Bulk { bar, .. } => {
                    if !plan.bulk.contains(bar) {
                        plan.bulk.push(*bar);
                    }
                }
                Event::Irq { .. } => plan.irqs += 1,
                Event::Regmap { .. } => {}
            }
        }
        plan
    }

    /// Number of writes.
    pub fn writes(&self) -> usize {
        self.steps.iter().filter(|s| matches!(s, Step::Write { .. })).count()
    }

    /// Check every access against `device`'s BARs (present, inside, aligned).
    pub fn check(&self, device: &Device) -> Result<()> {
        let bars = device.backend().bars()?;
        for step in &self.steps {
            let (bar, offset, width) = step.place();
            let info = bars
                .iter()
                .find(|b| b.index == bar)
                .ok_or_else(|| Error::on(device.device(), BackendError::BarNotPresent { bar }))?;
            check_access(offset, width, info.size).map_err(|e| e.with_device(device.device()))?;
        }
        Ok(())
    }
}

/// The IDs for messages, with the built-in driver's name when there is one.
fn describe(device: &str, ids: Option<&DeviceIds>) -> String {
    let driver = ids.and_then(|i| crate::drivers::for_ids(i.vendor, i.device)).map(|d| format!(", {}", d.name()));
    format!("{device} ({}{})", super::ids_text(ids), driver.unwrap_or_default())
}

/// Refuse `device` unless it has the vendor and device IDs `trace` was
/// recorded on (a host file: no IDs, and only a file's trace).
pub fn check_device(trace: &Trace, device: &Device) -> Result<()> {
    let found = DeviceIds::of(device.backend());
    let recorded = trace.header.ids;
    let same = match (&recorded, &found) {
        (Some(a), Some(b)) => a.same_device(b),
        (None, None) => true,
        _ => false,
    };
    if same {
        return Ok(());
    }
    let found_text = describe(&device.device().to_string(), found.as_ref());
    Err(Error::on(
        device.device(),
        ObserveError::TraceFromOtherDevice {
            trace: trace.path.clone(),
            recorded: describe(&trace.header.device, recorded.as_ref()),
            found: found_text,
        },
    ))
}

/// How one step went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Done {
    /// The value read last (reads only).
    pub got: Option<u64>,
    /// Reads made for it.
    pub reads: usize,
    /// Whether it matched (writes: always).
    pub ok: bool,
}

/// What a replay did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// Writes made.
    pub writes: usize,
    /// Reads checked.
    pub verified: usize,
    /// Indexes of the steps whose reads did not match.
    pub mismatches: Vec<usize>,
}

/// Make `plan`'s accesses on `device` in order (checked with
/// [`Plan::check`] first); a read waits up to `timeout` for its value.
/// `each` hears of every step as it is done. Mismatches are counted, not
/// stopped at: see [`Outcome`] and [`mismatch_error`].
pub fn run(plan: &Plan, device: &Device, timeout: Duration, mut each: impl FnMut(usize, &Done)) -> Result<Outcome> {
    plan.check(device)?;
    let mut bars: Vec<(u8, Box<dyn RegisterIo>)> = Vec::new();
    for step in &plan.steps {
        let bar = step.place().0;
        if !bars.iter().any(|(b, _)| *b == bar) {
            let writable = plan.steps.iter().any(|s| matches!(s, Step::Write { bar: b, .. } if *b == bar));
            bars.push((bar, device.backend().open_bar(bar, BarOptions { writable, write_combining: false })?));
        }
    }
    let mut outcome = Outcome::default();
    for (i, step) in plan.steps.iter().enumerate() {
        let (bar, offset, width) = step.place();
        let Some((_, io)) = bars.iter().find(|(b, _)| *b == bar) else { continue };
        let tag = |e: Error| e.with_device(device.device());
        let done = match *step {
            Step::Write { value, .. } => {
                io.write(offset, width, value).map_err(tag)?;
                outcome.writes += 1;
                Done { got: None, reads: 0, ok: true }
            }
            Step::Read { value, once, .. } => {
                let deadline = Instant::now() + timeout;
                let mut reads = 0;
                let got = loop {
                    let v = io.read(offset, width).map_err(tag)?;
                    reads += 1;
                    if v == value || once || Instant::now() >= deadline {
                        break v;
                    }
                    std::thread::sleep(Duration::from_micros(200));
                };
                outcome.verified += 1;
                if got != value {
                    outcome.mismatches.push(i);
                }
                Done { got: Some(got), reads, ok: got == value }
            }
        };
        each(i, &done);
    }
    Ok(outcome)
}

/// The error for a replay whose reads did not match; `first` describes the
/// first mismatch.
pub fn mismatch_error(device: &Device, outcome: &Outcome, first: String) -> Error {
    Error::on(device.device(), ObserveError::ReplayMismatch { mismatches: outcome.mismatches.len(), first })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::trace::{Entry, Header, FORMAT};

    fn trace(events: Vec<Event>) -> Trace {
        let header = Header {
            trace: FORMAT,
            device: "file:x".into(),
            ids: None,
            backend: "file".into(),
            time: String::new(),
            command: vec![],
        };
        let entries = events.into_iter().enumerate().map(|(i, event)| Entry { us: i as u64, event }).collect();
        Trace { path: "t.jsonl".into(), header, entries }
    }

    fn read(offset: u64, value: u64) -> Event {
        Event::Read { bar: 0, offset, width: Width::W32, value: Some(value), error: None }
    }

    #[test]
    fn polls_collapse_and_failed_accesses_are_left_out() {
        let t = trace(vec![
            read(0x20, 0),
            Event::Write { bar: 0, offset: 8, width: Width::W32, value: 10, error: None },
            read(0x20, 1),
            read(0x20, 1),
            read(0x20, 0),
            read(8, 3628800),
            Event::Write { bar: 0, offset: 0x100000, width: Width::W32, value: 1, error: Some("outside".into()) },
            Event::Bulk { bar: 2, len: 4096 },
        ]);
        let names = Names::default();
        let p = Plan::new(&t, &names, true);
        assert_eq!((p.failed, p.reads, p.bulk.as_slice()), (1, 5, &[2u8][..]));
        let shape: Vec<_> = p
            .steps
            .iter()
            .map(|s| match s {
                Step::Write { offset, value, .. } => (*offset, *value, 0),
                Step::Read { offset, value, recorded, .. } => (*offset, *value, *recorded),
            })
            .collect();
        assert_eq!(shape, [(0x20, 0, 1), (8, 10, 0), (0x20, 0, 3), (8, 3628800, 1)]);
        assert_eq!(Plan::new(&t, &names, false).steps.len(), 1, "without verify, the writes only");
    }

    #[test]
    fn replay_on_a_file_device_writes_in_order_and_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let shm = dir.path().join("shm");
        std::fs::write(&shm, [0u8; 64]).unwrap();
        let device = Device::open(&format!("file:{}", shm.display()), Default::default()).unwrap();
        let t = trace(vec![
            Event::Write { bar: 0, offset: 4, width: Width::W32, value: 7, error: None },
            read(4, 7),
            Event::Write { bar: 0, offset: 8, width: Width::W16, value: 0xbeef, error: None },
            read(0, 1),
        ]);
        check_device(&t, &device).unwrap();
        let plan = Plan::new(&t, &Names::default(), true);
        let mut seen = Vec::new();
        let out = run(&plan, &device, Duration::from_millis(20), |i, d| seen.push((i, d.ok))).unwrap();
        assert_eq!((out.writes, out.verified, out.mismatches.as_slice()), (2, 2, &[3usize][..]));
        assert_eq!(seen, [(0, true), (1, true), (2, true), (3, false)]);
        let bytes = std::fs::read(&shm).unwrap();
        assert_eq!((&bytes[4..8], &bytes[8..10]), (&7u32.to_le_bytes()[..], &0xbeefu16.to_le_bytes()[..]));
        // A write outside the file is refused before anything is written.
        std::fs::write(&shm, [0u8; 64]).unwrap();
        let t = trace(vec![
            Event::Write { bar: 0, offset: 0, width: Width::W32, value: 1, error: None },
            Event::Write { bar: 0, offset: 64, width: Width::W32, value: 1, error: None },
        ]);
        assert!(run(&Plan::new(&t, &Names::default(), false), &device, Duration::ZERO, |_, _| ()).is_err());
        assert!(std::fs::read(&shm).unwrap().iter().all(|b| *b == 0));
    }
}
