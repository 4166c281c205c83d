//! Watching registers and fields: each change, with the time it was seen.
//!
//! A [`Watch`] samples a [`Probe`] (one read per register per sample) and
//! reports what differs from the previous sample; the first sample reports
//! every item's value. [`Watch::run`] paces the samples and stops after a
//! number of changes, when a condition holds, after a time, or on a signal.

use std::os::fd::BorrowedFd;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use crate::error::{DeviceRef, Error, ErrorKind, Result};
use crate::observe::{millis, rfc3339, Probe};
use crate::value::parse_u64;
use crate::window::{Layout, Window};

/// A field of a watched register that changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FieldChange {
    /// Field name.
    pub name: String,
    /// Its bits (`lsb`, `msb`).
    #[serde(flatten)]
    pub bits: crate::regmap::BitRange,
    /// Its value before (None at the first sample).
    pub old: Option<u64>,
    /// Its value now.
    pub new: u64,
    /// The new value's name, if the map gives one.
    pub meaning: Option<String>,
}

/// One change seen (or, at the first sample, one item's value).
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Change {
    /// The device.
    pub device: DeviceRef,
    /// Milliseconds since the watch started.
    pub t_ms: u64,
    /// When it was seen (RFC 3339, UTC).
    pub time: String,
    /// `REG`, `REG.FIELD` or an offset.
    pub name: String,
    /// The field's name, when the item is a field.
    pub field: Option<String>,
    /// Offset of the register or word.
    pub offset: u64,
    /// Width of the value in bits.
    pub width: u32,
    /// The value before (None at the first sample).
    pub old: Option<u64>,
    /// The value now.
    pub new: u64,
    /// The new value's name, for a field whose values the map names.
    pub meaning: Option<String>,
    /// For a whole register: the fields that changed (all, at the first sample).
    pub fields: Vec<FieldChange>,
}

/// A condition that ends a watch: an item holding a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Until {
    item: usize,
    value: u64,
}

impl Until {
    /// Parse `TARGET=VALUE` against `layout`, adding TARGET to `probe` (a
    /// condition's target is watched too). The value must fit the target.
    pub fn parse(text: &str, layout: &Layout, probe: &mut Probe) -> Result<Until> {
        let (target, value) = text
            .split_once('=')
            .ok_or_else(|| Error::invalid(text, "expected TARGET=VALUE, e.g. STATUS.COMPUTING=0"))?;
        let value = parse_u64(value.trim())?;
        let item = probe.add(layout, target.trim(), super::Expand::Registers)?.first().copied();
        let item = item.ok_or_else(|| Error::invalid(target, "names nothing to watch"))?;
        let bits = probe.describe(layout, item).map_or(64, |d| d.bits());
        if bits < 64 && value >> bits != 0 {
            let max = u64::MAX >> (64 - bits);
            return Err(ErrorKind::ValueTooLarge { value, what: target.trim().to_string(), bits, max }.into());
        }
        Ok(Until { item, value })
    }
}

/// How long a watch goes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WatchOptions {
    /// Time between samples.
    pub interval: Duration,
    /// Stop after this many changes (the first sample's values do not count).
    pub count: Option<u64>,
    /// Stop when this holds (checked at every sample, the first included).
    pub until: Option<Until>,
    /// Stop after this long: an error when `count` or `until` was not met by
    /// then, the normal end otherwise.
    pub timeout: Option<Duration>,
}

/// Why a watch ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ending {
    /// The number of changes asked for was seen.
    Count,
    /// The condition held.
    Until,
    /// The time was up.
    Timeout,
    /// The front end asked it to stop (a signal).
    Stopped,
}

/// What a watch did.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// Why it ended.
    pub ending: Ending,
    /// Changes seen (after the first sample).
    pub changes: u64,
    /// Samples taken.
    pub samples: u64,
    /// How long it ran, in milliseconds.
    pub elapsed_ms: u64,
}

/// A watch on one window.
pub struct Watch {
    window: std::sync::Arc<Window>,
    probe: Probe,
    last: Option<Vec<u64>>,
    start: Instant,
    samples: u64,
}

impl Watch {
    /// Watch `probe`'s items (built against `window`'s layout).
    pub fn new(window: std::sync::Arc<Window>, probe: Probe) -> Watch {
        Watch { window, probe, last: None, start: Instant::now(), samples: 0 }
    }

    /// The window watched.
    pub fn window(&self) -> &Window {
        &self.window
    }

    /// One sample: what changed since the previous one (every item, the first time).
    pub fn poll(&mut self) -> Result<Vec<Change>> {
        let now = self.probe.read(&self.window)?;
        let t = self.start.elapsed();
        self.samples += 1;
        let layout = self.window.layout();
        let mut changes = Vec::new();
        for i in 0..self.probe.len() {
            let new = self.probe.value(i, &now);
            let old = self.last.as_ref().map(|l| self.probe.value(i, l));
            if old == Some(new) {
                continue;
            }
            let Some(d) = self.probe.describe(layout, i) else { continue };
            let fields = match (d.register, d.field) {
                (Some(reg), None) => reg
                    .fields
                    .iter()
                    .filter_map(|f| {
                        let (o, n) = (old.map(|v| f.extract(v)), f.extract(new));
                        (o != Some(n)).then(|| FieldChange {
                            name: f.name.to_string(),
                            bits: f.bit_range(),
                            old: o,
                            new: n,
                            meaning: f.meaning(n).map(str::to_string),
                        })
                    })
                    .collect(),
                _ => Vec::new(),
            };
            changes.push(Change {
                device: layout.device.clone(),
                t_ms: millis(t),
                time: rfc3339(SystemTime::now()),
                name: d.name.to_string(),
                field: d.field.map(|f| f.name.to_string()),
                offset: d.offset,
                width: d.bits(),
                old,
                new,
                meaning: d.meaning(new),
                fields,
            });
        }
        self.last = Some(now);
        Ok(changes)
    }

    /// Whether `until` holds at the last sample.
    pub fn holds(&self, until: Until) -> bool {
        self.last.as_ref().is_some_and(|l| self.probe.value(until.item, l) == until.value)
    }

    /// Sample every `interval` and hand each change to `report` until one of
    /// `options`' ends, or until `stop` becomes readable.
    pub fn run(
        &mut self,
        options: &WatchOptions,
        stop: Option<BorrowedFd<'_>>,
        mut report: impl FnMut(&Change),
    ) -> Result<Summary> {
        self.start = Instant::now();
        let deadline = options.timeout.map(|t| self.start + t);
        let mut changes = 0u64;
        let mut next = self.start;
        let live = crate::mmio::fault::Liveness::new(self.window.layout().device.clone());
        let ending = loop {
            let first = self.last.is_none();
            for c in self.poll()? {
                report(&c);
                changes += u64::from(!first);
            }
            // A device gone (a bus error, or removed from sysfs while its
            // stale mapping still reads) ends the watch with its error.
            live.check(self.window.io().faulted(), None)?;
            if options.until.is_some_and(|u| self.holds(u)) {
                break Ending::Until;
            }
            if options.count.is_some_and(|n| changes >= n) {
                break Ending::Count;
            }
            let now = Instant::now();
            next = (next + options.interval).max(now);
            if deadline.is_some_and(|d| now >= d) {
                if options.count.is_some() || options.until.is_some() {
                    return Err(self.timed_out(options, changes));
                }
                break Ending::Timeout;
            }
            let wake = deadline.map_or(next, |d| d.min(next));
            if super::pause(stop, wake)? {
                break Ending::Stopped;
            }
        };
        Ok(Summary { ending, changes, samples: self.samples, elapsed_ms: millis(self.start.elapsed()) })
    }

    fn timed_out(&self, options: &WatchOptions, changes: u64) -> Error {
        let layout = self.window.layout();
        let what = match (options.until, options.count) {
            (Some(u), _) => {
                let name = self.probe.describe(layout, u.item).map_or("the condition", |d| d.name);
                format!("{name} to read {:#x}", u.value)
            }
            (None, Some(n)) => format!("{n} change(s) (saw {changes})"),
            (None, None) => "changes".into(),
        };
        let ms = options.timeout.unwrap_or_default().as_millis() as u64;
        Error::on(layout.device.clone(), ErrorKind::Timeout { what, ms })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::tests::ram_window;
    use crate::observe::Expand;

    #[test]
    fn the_first_sample_shows_everything_then_only_changes() {
        let w = ram_window();
        let probe = Probe::new(w.layout(), &[] as &[&str], Expand::Registers).unwrap();
        let mut watch = Watch::new(w.into(), probe);
        let first = watch.poll().unwrap();
        let names: Vec<_> = first.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["ID", "CTRL"], "write-only KICK and side-effect ISR are not polled");
        assert!(first.iter().all(|c| c.old.is_none()));
        assert_eq!(first[1].fields.len(), 2, "every field at the first sample");
        assert!(watch.poll().unwrap().is_empty());
        watch.window().io().write(4, crate::mmio::Width::W32, 0x3).unwrap();
        let c = watch.poll().unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!((c[0].name.as_str(), c[0].old, c[0].new), ("CTRL", Some(0), 3));
        let fields: Vec<_> =
            c[0].fields.iter().map(|f| (f.name.as_str(), f.old, f.new, f.meaning.as_deref())).collect();
        assert_eq!(fields, [("MODE", Some(0), 1, Some("fast")), ("EN", Some(0), 1, None)]);
    }

    #[test]
    fn named_side_effect_registers_are_polled_and_conditions_end_the_watch() {
        let w = ram_window();
        let mut probe = Probe::new(w.layout(), &["ISR", "CTRL.EN"], Expand::Registers).unwrap();
        assert!(Until::parse("CTRL.EN=2", w.layout(), &mut probe).is_err(), "value wider than the field");
        assert!(Until::parse("CTRL.EN", w.layout(), &mut probe).is_err());
        let until = Until::parse("CTRL.MODE=0", w.layout(), &mut probe).unwrap();
        assert_eq!(probe.len(), 3, "the condition's target is watched too");
        let mut watch = Watch::new(w.into(), probe);
        let mut seen = Vec::new();
        let opts = WatchOptions { interval: Duration::from_millis(1), count: None, until: Some(until), timeout: None };
        let s = watch.run(&opts, None, |c| seen.push(c.name.clone())).unwrap();
        assert_eq!(s.ending, Ending::Until);
        assert_eq!(seen, ["ISR", "CTRL.EN", "CTRL.MODE"]);
        let opts = WatchOptions { count: Some(1), until: None, timeout: Some(Duration::from_millis(30)), ..opts };
        let e = watch.run(&opts, None, |_| ()).unwrap_err();
        assert!(e.to_string().contains("timed out after 30 ms waiting for 1 change(s) (saw 0)"), "{e}");
        let opts = WatchOptions { count: None, ..opts };
        assert_eq!(watch.run(&opts, None, |_| ()).unwrap().ending, Ending::Timeout);
    }
}
