//! How fast bulk copies into and out of the shared memory are, against memcpy
//! between two ordinary RAM buffers of the same size in the same process.
//!
//! The shared memory's previous contents are saved first and written back at
//! the end, on every way out (an error, a signal: [`mmiodrv::stop`]); other
//! peers see the benchmark's bytes in between. Memory a peer is writing is
//! refused unless asked: putting the saved contents back would undo the
//! peer's writes.

use std::hint::black_box;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::SharedMemory;
use mmiodrv::error::{Error, ErrorKind, Result};
use mmiodrv::mmio::bulk::Lanes;

/// Best-of-N throughputs in bytes per second, and their ratios to memcpy.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct BenchResult {
    /// Bytes per copy.
    pub len: u64,
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
            mmiodrv::stop::check()?;
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

/// How many times a `live` run checks the bytes it moved before it takes a
/// difference for its own fault.
const LIVE_CHECKS: usize = 5;

/// How long the memory is watched for a peer's writes before the run.
const QUIET_CHECK: Duration = Duration::from_millis(100);

/// Copy `bytes` bytes at offset 0, `rounds` times each way, keeping the best.
/// Unless `live`, refuse memory that changes while nobody here writes it.
pub fn run(mem: &SharedMemory, bytes: u64, rounds: u32, live: bool) -> Result<BenchResult> {
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
    if !live {
        mmiodrv::stop::sleep(QUIET_CHECK)?;
        let mut again = vec![0u8; len];
        mem.read(0, &mut again)?;
        if again != saved {
            return Err(ErrorKind::Changed {
                what: "the shared memory",
                why: format!(
                    "it changed within {} ms while nothing here wrote it: a peer is using it, and putting its \
                     contents back after the run would undo the peer's writes (--live runs anyway)",
                    QUIET_CHECK.as_millis()
                ),
            }
            .into());
        }
    }
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
        // Check, on fresh buffers, that the timed paths moved the right
        // bytes. With `live`, a peer's write may land between the write and
        // the read (under a slow guest CPU, often enough): tried again, a
        // few times, as a peer that writes now and then leaves a gap.
        let mut moved = false;
        for _ in 0..if live { LIVE_CHECKS } else { 1 } {
            read_back.fill(0);
            mem.write(0, &src)?;
            mem.read(0, &mut read_back)?;
            if read_back == src {
                moved = true;
                break;
            }
        }
        if !moved {
            return Err(ErrorKind::Changed {
                what: "the shared memory",
                why: "the bytes read back differ from those written: another peer writing?".into(),
            }
            .into());
        }
        let (memcpy, write, read, fill) = (rate(len, memcpy), rate(len, write), rate(len, read), rate(len, fill));
        Ok(BenchResult {
            len: bytes,
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
    result.map_err(|e| match mmiodrv::stop::requested() {
        Some(stop) => stop.error("the shared memory's contents were put back".into()),
        None => e,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmiodrv::mmio::MmioRegion;

    #[test]
    fn bench_restores_the_memory_and_reports_ratios() {
        let mem = SharedMemory::new(MmioRegion::ram(1 << 20).unwrap());
        mem.write(100, b"keep me").unwrap();
        let r = run(&mem, 256 << 10, 3, false).unwrap();
        assert!(r.memcpy > 0.0 && r.write > 0.0 && r.read > 0.0 && r.fill > 0.0);
        let mut back = [0u8; 7];
        mem.read(100, &mut back).unwrap();
        assert_eq!(&back, b"keep me");
        assert!(run(&mem, 2 << 20, 1, false).is_err());
        assert!(run(&mem, 0, 1, false).is_err());
    }

    /// A peer writing the memory (a thread here): refused, nothing written;
    /// with `live`, run and put back.
    #[test]
    fn memory_a_peer_is_writing_is_refused_unless_live() {
        let mem = std::sync::Arc::new(SharedMemory::new(MmioRegion::ram(64 << 10).unwrap()));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (m, s) = (mem.clone(), stop.clone());
        let peer = std::thread::spawn(move || {
            let mut n = 0u8;
            while !s.load(std::sync::atomic::Ordering::Relaxed) {
                n = n.wrapping_add(1);
                m.write(0x100, &[n]).unwrap();
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        let e = run(&mem, 16 << 10, 1, false).unwrap_err();
        assert!(e.to_string().contains("a peer is using it"), "{e}");
        let mut first = [0u8; 16];
        mem.read(0, &mut first).unwrap();
        assert_eq!(first, [0u8; 16], "nothing written when refused");
        assert!(run(&mem, 16 << 10, 1, true).is_ok());
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        peer.join().unwrap();
    }
}
