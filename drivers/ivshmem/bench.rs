//! How fast bulk copies into and out of the shared memory are, against memcpy
//! between two ordinary RAM buffers of the same size in the same process.
//!
//! The shared memory's previous contents are saved first and written back at
//! the end; other peers see the benchmark's bytes in between.

use std::hint::black_box;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::SharedMemory;
use crate::error::{Error, Result};

/// Best-of-N throughputs in bytes per second, and their ratios to memcpy.
#[derive(Clone, Debug, Serialize)]
pub struct BenchResult {
    pub bytes: u64,
    pub rounds: u32,
    pub memcpy: f64,
    pub write: f64,
    pub read: f64,
    pub fill: f64,
    pub write_ratio: f64,
    pub read_ratio: f64,
}

fn best(rounds: u32, mut f: impl FnMut() -> Result<()>) -> Result<Duration> {
    let mut best = Duration::MAX;
    for _ in 0..rounds {
        let start = Instant::now();
        f()?;
        best = best.min(start.elapsed());
    }
    Ok(best)
}

fn rate(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / d.as_secs_f64().max(1e-9)
}

/// Copy `bytes` bytes at offset 0, `rounds` times each way, keeping the best.
pub fn run(mem: &SharedMemory, bytes: u64, rounds: u32) -> Result<BenchResult> {
    if bytes == 0 || rounds == 0 {
        return Err(Error::InvalidValue {
            input: format!("{bytes} bytes, {rounds} rounds"),
            reason: "the benchmark needs at least one byte and one round".into(),
        });
    }
    mem.check(0, bytes)?;
    let len = usize::try_from(bytes)
        .map_err(|_| Error::InvalidValue { input: bytes.to_string(), reason: "too large".into() })?;
    let mut saved = vec![0u8; len];
    mem.read(0, &mut saved)?;
    let src: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(7)).collect();
    let mut dst = vec![0u8; len];
    let result = (|| {
        // Warm up: fault in every page of all three buffers once.
        dst.copy_from_slice(&src);
        mem.write(0, &src)?;
        let memcpy = best(rounds, || {
            black_box(&mut dst).copy_from_slice(black_box(&src));
            Ok(())
        })?;
        let write = best(rounds, || mem.write(0, black_box(&src)))?;
        let read = best(rounds, || mem.read(0, black_box(&mut dst)))?;
        if dst != src {
            return Err(Error::Unsupported {
                device: "shared memory".into(),
                message: "the bytes read back differ from those written (another peer writing?)".into(),
            });
        }
        let fill = best(rounds, || mem.fill(0, bytes, 0x5a))?;
        let (memcpy, write, read, fill) = (rate(len, memcpy), rate(len, write), rate(len, read), rate(len, fill));
        Ok(BenchResult {
            bytes,
            rounds,
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
