//! How fast bulk copies into and out of the shared memory are, against memcpy
//! between two ordinary RAM buffers of the same size in the same process.
//!
//! The shared memory's previous contents are saved first and written back at
//! the end; other peers see the benchmark's bytes in between.

use std::hint::black_box;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::SharedMemory;
use crate::error::{Error, ErrorKind, Result};
use crate::mmio::bulk::Lanes;

/// Best-of-N throughputs in bytes per second, and their ratios to memcpy.
#[derive(Clone, Debug, Serialize)]
pub struct BenchResult {
    /// Bytes per copy.
    pub bytes: u64,
    /// Rounds run.
    pub rounds: u32,
    /// How the shared memory was accessed (width, streaming stores).
    pub accesses: &'static str,
    /// memcpy between two RAM buffers, bytes/s.
    pub memcpy: f64,
    /// Copies into the shared memory, bytes/s.
    pub write: f64,
    /// Copies out of it, bytes/s.
    pub read: f64,
    /// Fills of it, bytes/s.
    pub fill: f64,
    /// `write / memcpy`.
    pub write_ratio: f64,
    /// `read / memcpy`.
    pub read_ratio: f64,
}

/// Best-of-`rounds` time of each job. The jobs take turns within a round, so a
/// noisy moment on the machine slows one round of each rather than every round
/// of one; each runs once untimed right before its timed run, so each is timed
/// with its own buffers as warm in the caches as they can be.
fn best_of<const N: usize>(rounds: u32, mut jobs: [&mut dyn FnMut() -> Result<()>; N]) -> Result<[Duration; N]> {
    let mut best = [Duration::MAX; N];
    for _ in 0..rounds {
        for (job, best) in jobs.iter_mut().zip(best.iter_mut()) {
            job()?;
            let start = Instant::now();
            job()?;
            *best = (*best).min(start.elapsed());
        }
    }
    Ok(best)
}

fn rate(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / d.as_secs_f64().max(1e-9)
}

/// Copy `bytes` bytes at offset 0, `rounds` times each way, keeping the best.
pub fn run(mem: &SharedMemory, bytes: u64, rounds: u32) -> Result<BenchResult> {
    if bytes == 0 || rounds == 0 {
        return Err(Error::invalid(
            format!("{bytes} bytes, {rounds} rounds"),
            "the benchmark needs at least one byte and one round",
        ));
    }
    mem.check(0, bytes)?;
    let len = usize::try_from(bytes).map_err(|_| Error::invalid(bytes.to_string(), "too large"))?;
    let mut saved = vec![0u8; len];
    mem.read(0, &mut saved)?;
    let src: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(7)).collect();
    let mut dst = vec![0u8; len];
    let result = (|| {
        // Warm up: fault in every page of all four buffers once.
        let mut read_back = vec![0u8; len];
        dst.copy_from_slice(&src);
        mem.write(0, &src)?;
        mem.read(0, &mut read_back)?;
        let [memcpy, write, read, fill] = best_of(
            rounds,
            [
                &mut || {
                    black_box(&mut dst).copy_from_slice(black_box(&src));
                    Ok(())
                },
                &mut || mem.write(0, black_box(&src)),
                &mut || mem.read(0, black_box(&mut read_back)),
                // Last in the round, so the next write starts from other bytes.
                &mut || mem.fill(0, bytes, 0x5a),
            ],
        )?;
        // Check, on fresh buffers, that the timed paths moved the right bytes.
        read_back.fill(0);
        mem.write(0, &src)?;
        mem.read(0, &mut read_back)?;
        if read_back != src {
            return Err(ErrorKind::Changed {
                what: "the shared memory",
                why: "the bytes read back differ from those written: another peer writing?".into(),
            }
            .into());
        }
        let (memcpy, write, read, fill) = (rate(len, memcpy), rate(len, write), rate(len, read), rate(len, fill));
        Ok(BenchResult {
            bytes,
            rounds,
            accesses: Lanes::detect().describe(len),
            memcpy,
            write,
            read,
            fill,
            write_ratio: write / memcpy,
            read_ratio: read / memcpy,
        })
    })();
    mem.write(0, &saved)?;
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mmio::MmioRegion;

    #[test]
    fn bench_restores_the_memory_and_reports_ratios() {
        let mem = SharedMemory::new(MmioRegion::ram(1 << 20).unwrap());
        mem.write(100, b"keep me").unwrap();
        let r = run(&mem, 256 << 10, 3).unwrap();
        assert!(r.memcpy > 0.0 && r.write > 0.0 && r.read > 0.0 && r.fill > 0.0);
        let mut back = [0u8; 7];
        mem.read(100, &mut back).unwrap();
        assert_eq!(&back, b"keep me");
        assert!(run(&mem, 2 << 20, 1).is_err());
        assert!(run(&mem, 0, 1).is_err());
    }
}
