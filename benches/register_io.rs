//! Instructions per register access, for `benches/access_cost.sh` to count
//! under callgrind (not a timed benchmark): `register_io MODE N` performs N
//! 32-bit reads from a RAM-backed region, walking the same offsets in every
//! mode, so the difference between two N is the loop body alone.
//!
//! Two access patterns, each against its own raw floor:
//! - walking offsets (every access at another offset): `raw` (a
//!   `read_volatile` loop), `region` (`RegisterIo::read` on an `MmioRegion`,
//!   static dispatch), `dyn` (through `&dyn RegisterIo`, as a window hands it
//!   out), `typed` (a `Reg<u32, RO>` read), `write` against `raw-write`;
//! - polling one register (a driver waiting on STATUS): `raw-poll` against
//!   `typed-poll` (`regs::STATUS.read(&bar)`) and `dyn-poll`.

use std::hint::black_box;

use mmiodrv::mmio::{MmioRegion, RegisterIo, Width};
use mmiodrv::regmap::typed::{Reg, RO};

const SPAN: u64 = 4096;

#[inline(never)]
fn raw(base: *const u8, n: u64) -> u64 {
    let mut sum = 0u64;
    for i in 0..n {
        let off = (i * 4) & (SPAN - 4);
        // SAFETY: `base` is a live mapping of SPAN bytes and `off` is 4-byte aligned within it.
        sum = sum.wrapping_add(u64::from(unsafe { base.add(off as usize).cast::<u32>().read_volatile() }));
    }
    sum
}

#[inline(never)]
fn raw_write(base: *mut u8, n: u64) {
    for i in 0..n {
        let off = (i * 4) & (SPAN - 4);
        // SAFETY: as in `raw`, and the mapping is writable.
        unsafe { base.add(off as usize).cast::<u32>().write_volatile(i as u32) };
    }
}

#[inline(never)]
fn region(r: &MmioRegion, n: u64) -> mmiodrv::Result<u64> {
    let mut sum = 0u64;
    for i in 0..n {
        sum = sum.wrapping_add(r.read((i * 4) & (SPAN - 4), Width::W32)?);
    }
    Ok(sum)
}

#[inline(never)]
fn region_write(r: &MmioRegion, n: u64) -> mmiodrv::Result<()> {
    for i in 0..n {
        r.write((i * 4) & (SPAN - 4), Width::W32, u64::from(i as u32))?;
    }
    Ok(())
}

#[inline(never)]
fn dynamic(r: &dyn RegisterIo, n: u64) -> mmiodrv::Result<u64> {
    let mut sum = 0u64;
    for i in 0..n {
        sum = sum.wrapping_add(r.read((i * 4) & (SPAN - 4), Width::W32)?);
    }
    Ok(sum)
}

#[inline(never)]
fn typed(r: &MmioRegion, n: u64) -> mmiodrv::Result<u64> {
    let mut sum = 0u64;
    for i in 0..n {
        let reg: Reg<u32, RO> = Reg::new((i * 4) & (SPAN - 4), "R");
        sum = sum.wrapping_add(u64::from(reg.read(r)?.bits()));
    }
    Ok(sum)
}

#[inline(never)]
fn raw_poll(base: *const u8, n: u64) -> u64 {
    let mut sum = 0u64;
    for _ in 0..n {
        // SAFETY: offset 0x20 of a live SPAN-byte mapping, 4-byte aligned.
        sum = sum.wrapping_add(u64::from(unsafe { base.add(0x20).cast::<u32>().read_volatile() }));
    }
    sum
}

const STATUS: Reg<u32, RO> = Reg::new(0x20, "STATUS");

#[inline(never)]
fn typed_poll(r: &MmioRegion, n: u64) -> mmiodrv::Result<u64> {
    let mut sum = 0u64;
    for _ in 0..n {
        sum = sum.wrapping_add(u64::from(STATUS.read(r)?.bits()));
    }
    Ok(sum)
}

#[inline(never)]
fn dyn_poll(r: &dyn RegisterIo, n: u64) -> mmiodrv::Result<u64> {
    let mut sum = 0u64;
    for _ in 0..n {
        sum = sum.wrapping_add(u64::from(STATUS.read(r)?.bits()));
    }
    Ok(sum)
}

fn main() -> mmiodrv::Result<()> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "region".into());
    let n: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let r = MmioRegion::ram(SPAN as usize)?;
    let n = black_box(n);
    let sum = match mode.as_str() {
        "raw" => raw(r.base_ptr(), n),
        "raw-write" => {
            raw_write(r.base_ptr(), n);
            0
        }
        "region" => region(&r, n)?,
        "write" => {
            region_write(&r, n)?;
            0
        }
        "dyn" => dynamic(black_box(&r as &dyn RegisterIo), n)?,
        "typed" => typed(&r, n)?,
        "raw-poll" => raw_poll(r.base_ptr(), n),
        "typed-poll" => typed_poll(&r, n)?,
        "dyn-poll" => dyn_poll(black_box(&r as &dyn RegisterIo), n)?,
        other => {
            eprintln!("register_io: unknown mode {other} (raw, raw-write, region, write, dyn, typed, raw-poll, typed-poll, dyn-poll)");
            std::process::exit(2);
        }
    };
    black_box(sum);
    Ok(())
}
