//! Sampling fields at a rate: for each, the share of samples in which it was
//! set, and each value's share, with the sampling rate actually achieved.

use std::os::fd::BorrowedFd;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::{DeviceRef, Error, Result};
use crate::observe::{millis, Probe};
use crate::window::Window;

/// Distinct values counted per item; further ones count as `other`.
pub const MAX_VALUES: usize = 16;

/// Highest sampling rate asked for (Hz).
pub const MAX_RATE: f64 = 1_000_000.0;

/// A value's share of the samples.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ValueShare {
    /// The value.
    pub value: u64,
    /// Its name, if the map gives one.
    pub meaning: Option<String>,
    /// Samples that saw it.
    pub count: u64,
    /// Their share of all samples (0 to 1).
    pub share: f64,
}

/// One item's shares.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ItemShares {
    /// `REG.FIELD`, `REG` or an offset.
    pub name: String,
    /// Width in bits.
    pub width: u32,
    /// Share of samples in which it was non-zero (set, for one bit).
    pub set: f64,
    /// Each value seen, most frequent first (at most [`MAX_VALUES`]).
    pub values: Vec<ValueShare>,
    /// Share of samples with values beyond those counted.
    pub other: f64,
}

/// The shares so far.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Shares {
    /// The device.
    pub device: DeviceRef,
    /// Samples taken.
    pub samples: u64,
    /// How long it sampled, in milliseconds.
    pub elapsed_ms: u64,
    /// The rate asked for (Hz).
    pub rate_asked: f64,
    /// The rate achieved: intervals between samples per second, from the
    /// first sample to the last.
    pub rate: f64,
    /// Register reads per sample.
    pub reads_per_sample: usize,
    /// Every item.
    pub items: Vec<ItemShares>,
}

#[derive(Clone, Debug, Default)]
struct Counts {
    values: Vec<(u64, u64)>,
    nonzero: u64,
    other: u64,
}

/// A sampler on one window.
pub struct Sampler {
    window: std::sync::Arc<Window>,
    probe: Probe,
    counts: Vec<Counts>,
    samples: u64,
    start: Instant,
    /// When the first and the last sample were taken.
    span: Option<(Instant, Instant)>,
    rate_asked: f64,
}

impl Sampler {
    /// Sample `probe`'s items (built against `window`'s layout) at `rate` Hz
    /// (checked: above 0 and at most [`MAX_RATE`]).
    pub fn new(window: std::sync::Arc<Window>, probe: Probe, rate: f64) -> Result<Sampler> {
        if !(rate > 0.0 && rate <= MAX_RATE) {
            return Err(Error::invalid(
                rate.to_string(),
                format!("a sampling rate is above 0 and at most {MAX_RATE} Hz"),
            ));
        }
        let counts = vec![Counts::default(); probe.len()];
        Ok(Sampler { window, probe, counts, samples: 0, start: Instant::now(), span: None, rate_asked: rate })
    }

    /// Take one sample.
    pub fn sample(&mut self) -> Result<()> {
        let now = self.probe.read(&self.window)?;
        let t = Instant::now();
        self.span = Some((self.span.map_or(t, |(first, _)| first), t));
        self.samples += 1;
        for (i, c) in self.counts.iter_mut().enumerate() {
            let v = self.probe.value(i, &now);
            c.nonzero += u64::from(v != 0);
            match c.values.iter().position(|(x, _)| *x == v) {
                Some(k) => c.values[k].1 += 1,
                None if c.values.len() < MAX_VALUES => c.values.push((v, 1)),
                None => c.other += 1,
            }
        }
        Ok(())
    }

    /// The shares so far.
    pub fn shares(&self) -> Shares {
        let layout = self.window.layout();
        let n = self.samples.max(1) as f64;
        let elapsed = self.start.elapsed();
        let items = self
            .counts
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let d = self.probe.describe(layout, i)?;
                let mut values: Vec<ValueShare> = c
                    .values
                    .iter()
                    .map(|(v, k)| ValueShare { value: *v, meaning: d.meaning(*v), count: *k, share: *k as f64 / n })
                    .collect();
                values.sort_by(|a, b| b.count.cmp(&a.count).then(a.value.cmp(&b.value)));
                Some(ItemShares {
                    name: d.name.to_string(),
                    width: d.bits(),
                    set: c.nonzero as f64 / n,
                    values,
                    other: c.other as f64 / n,
                })
            })
            .collect();
        let span = self.span.map_or(0.0, |(first, last)| last.duration_since(first).as_secs_f64());
        Shares {
            device: layout.device.clone(),
            samples: self.samples,
            elapsed_ms: millis(elapsed),
            rate_asked: self.rate_asked,
            rate: if span > 0.0 { (self.samples - 1) as f64 / span } else { 0.0 },
            reads_per_sample: self.probe.reads_per_sample(),
            items,
        }
    }

    /// Sample at the rate asked until `count` samples (forever when None) or
    /// until `stop` becomes readable; `refresh` gets the shares every
    /// `every` and once at the end (with `true`). A sample that falls behind
    /// its slot is taken at once and the schedule restarts from there, so the
    /// achieved rate says how far the device or the machine kept up.
    pub fn run(
        &mut self,
        count: Option<u64>,
        every: Duration,
        stop: Option<BorrowedFd<'_>>,
        mut refresh: impl FnMut(&Shares, bool),
    ) -> Result<Shares> {
        let period = Duration::from_secs_f64(1.0 / self.rate_asked);
        self.start = Instant::now();
        let mut next = self.start;
        let mut shown = self.start;
        let mut checked = self.start;
        let live = crate::mmio::fault::Liveness::new(self.window.layout().device.clone());
        while count.is_none_or(|n| self.samples < n) {
            self.sample()?;
            let now = Instant::now();
            if now.duration_since(shown) >= every {
                refresh(&self.shares(), false);
                shown = now;
            }
            next += period;
            if next < now {
                next = now;
            }
            // The stop descriptor is polled at least every 50 ms, and during
            // every pause of a millisecond or more.
            let long = next.duration_since(now) >= Duration::from_millis(1);
            if long || now.duration_since(checked) >= Duration::from_millis(50) {
                checked = now;
                // A device gone (a bus error, or removed from sysfs) ends the sampling.
                live.check(self.window.io().faulted(), None)?;
                if super::pause(stop, if long { next } else { now })? {
                    break;
                }
            }
            let left = next.saturating_duration_since(Instant::now());
            if !left.is_zero() {
                spin_or_sleep(left);
            }
        }
        let shares = self.shares();
        refresh(&shares, true);
        Ok(shares)
    }
}

/// Sleep for `d`; the last stretch of a short wait is spun, since a sleep
/// overshoots by tens of microseconds.
fn spin_or_sleep(d: Duration) {
    let end = Instant::now() + d;
    if d > Duration::from_micros(200) {
        std::thread::sleep(d - Duration::from_micros(100));
    }
    while Instant::now() < end {
        std::hint::spin_loop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mmio::Width;
    use crate::observe::tests::ram_window;
    use crate::observe::Expand;

    #[test]
    fn shares_count_every_sample() {
        let w = ram_window();
        let probe = Probe::new(w.layout(), &["CTRL"], Expand::Fields).unwrap();
        let mut s = Sampler::new(w.into(), probe, 1000.0).unwrap();
        for i in 0..8u64 {
            // EN set in half the samples, MODE 1 in a quarter.
            s.window.io().write(4, Width::W32, (i % 2) | if i % 4 == 0 { 2 } else { 0 }).unwrap();
            s.sample().unwrap();
        }
        let sh = s.shares();
        assert_eq!(sh.samples, 8);
        assert_eq!(sh.reads_per_sample, 1, "one read of CTRL for both fields");
        let names: Vec<_> = sh.items.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["CTRL.MODE", "CTRL.EN"]);
        assert_eq!(sh.items[1].set, 0.5);
        let mode = &sh.items[0];
        assert_eq!(mode.values[0], ValueShare { value: 0, meaning: Some("off".into()), count: 6, share: 0.75 });
        assert_eq!(mode.values[1].meaning.as_deref(), Some("fast"));
        assert!(Sampler::new(ram_window().into(), Probe::default(), 0.0).is_err());
        assert!(Sampler::new(ram_window().into(), Probe::default(), 2e6).is_err());
    }

    #[test]
    fn the_rate_is_paced_and_measured() {
        let w = ram_window();
        let probe = Probe::new(w.layout(), &["ID"], Expand::Fields).unwrap();
        let mut s = Sampler::new(w.into(), probe, 500.0).unwrap();
        let mut finals = 0;
        let sh = s.run(Some(50), Duration::from_secs(10), None, |_, last| finals += usize::from(last)).unwrap();
        assert_eq!((sh.samples, finals), (50, 1));
        // 50 samples at 500 Hz are 49 periods of 2 ms apart: never less.
        assert!(sh.elapsed_ms >= 98 && sh.rate <= 500.5, "{sh:?}");
    }
}
