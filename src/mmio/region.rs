//! [`MmioRegion`]: checked, volatile, exactly-one-access-per-call register I/O over
//! a mapping.
//!
//! Every access goes through a raw pointer with `read_volatile`/`write_volatile` of
//! the asked width, after a bounds and alignment check. No Rust reference to device
//! memory is ever formed (a reference lets the compiler insert reads, which is
//! wrong for clear-on-read registers; rust-embedded/volatile-register#10).

use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::error::{AccessError, DeviceRef, Error, Result};
use crate::mmio::bulk::{self, Lanes};
use crate::mmio::mapping::Mapping;
use crate::mmio::width::{check_access, Width};

/// A window of mapped device (or test RAM) memory.
///
/// The start and length are kept beside the shared [`Mapping`] so that a
/// register access is a bounds check and one volatile access, with no
/// pointer chasing.
#[derive(Clone, Debug)]
pub struct MmioRegion {
    base: NonNull<u8>,
    len: u64,
    writable: bool,
    /// Owns the memory `base` points into; the region keeps it mapped.
    _mapping: Arc<Mapping>,
}

// SAFETY: `base`/`len` describe memory owned by `mapping` (kept alive by the Arc);
// the region forms no references into it and every access is volatile, so it may
// move between threads like the Mapping itself.
unsafe impl Send for MmioRegion {}
// SAFETY: as above; shared use performs independent volatile accesses.
unsafe impl Sync for MmioRegion {}

impl MmioRegion {
    /// A region covering the whole mapping.
    pub fn new(mapping: Mapping) -> Self {
        MmioRegion {
            base: mapping.as_ptr(),
            len: mapping.len() as u64,
            writable: mapping.is_writable(),
            _mapping: Arc::new(mapping),
        }
    }

    /// Zeroed RAM standing in for a BAR, for tests and examples.
    pub fn ram(len: usize) -> Result<Self> {
        Mapping::anonymous(len)
            .map(MmioRegion::new)
            .map_err(|e| Error::io_on(DeviceRef::Ram, "cannot allocate", "anonymous memory", e.into()))
    }

    /// Size in bytes.
    #[inline]
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether a bus error hit the mapping (see [`RegisterIo::faulted`](crate::mmio::RegisterIo::faulted)).
    pub fn faulted(&self) -> bool {
        self._mapping.faulted()
    }

    /// Whether the region is empty (never, for a mapping).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether stores are allowed (the mapping was made writable).
    pub fn is_writable(&self) -> bool {
        self.writable
    }

    /// Start address, for handing to the kernel (DMA mapping). Never dereference
    /// it as a Rust reference.
    pub fn base_ptr(&self) -> *mut u8 {
        self.base.as_ptr()
    }

    /// Address of a checked offset. `check_access` guarantees `offset + width <= len`.
    #[inline]
    fn ptr_at(&self, offset: u64, width: Width) -> Result<*mut u8> {
        check_access(offset, width, self.len)?;
        // SAFETY: offset + width <= len was just checked, so the result stays inside
        // the mapping (and offset fits in usize because len does).
        Ok(unsafe { self.base.as_ptr().add(offset as usize) })
    }

    /// One volatile load of `T` (whose size is `width`) at a checked offset.
    #[inline(always)]
    fn load<T: Copy>(&self, offset: u64, width: Width) -> Result<T> {
        debug_assert_eq!(std::mem::size_of::<T>() as u64, width.bytes());
        let p = self.ptr_at(offset, width)?;
        // SAFETY: `p` is inside the mapping and aligned to `width`, which is T's
        // size and alignment (ptr_at checked both); exactly one volatile load.
        Ok(unsafe { p.cast::<T>().read_volatile() })
    }

    /// One volatile store of `T` (whose size is `width`) at a checked offset.
    #[inline(always)]
    fn store<T: Copy>(&self, offset: u64, width: Width, value: T) -> Result<()> {
        debug_assert_eq!(std::mem::size_of::<T>() as u64, width.bytes());
        let p = self.ptr_at(offset, width)?;
        // SAFETY: as in `load`: in bounds, aligned, exactly one volatile store.
        unsafe { p.cast::<T>().write_volatile(value) };
        Ok(())
    }
}

/// One place in a region, checked once (inside it, aligned to its width) for
/// many single accesses there: a read made over and over
/// ([`crate::window::ReadPlan`]) pays the checks once, then each
/// [`Spot::read`] is one volatile load of the width, and [`Spot::faulted`]
/// one load of the mapping's bus-error flag.
#[derive(Clone, Copy, Debug)]
pub struct Spot<'r> {
    ptr: *mut u8,
    width: Width,
    fault: Option<&'static AtomicBool>,
    /// The region (and so the mapping) outlives the spot.
    _region: PhantomData<&'r MmioRegion>,
}

impl MmioRegion {
    /// The place of an access of `width` at `offset`, checked as every
    /// access is ([`check_access`]: inside the region, aligned).
    pub fn spot(&self, offset: u64, width: Width) -> Result<Spot<'_>> {
        let ptr = self.ptr_at(offset, width)?;
        Ok(Spot { ptr, width, fault: self._mapping.fault_flag(), _region: PhantomData })
    }
}

impl Spot<'_> {
    /// The access's width.
    pub fn width(&self) -> Width {
        self.width
    }

    /// One volatile load of the spot's width, as [`RegisterIo::read`](crate::mmio::RegisterIo::read) makes it.
    #[inline]
    pub fn read(&self) -> u64 {
        let p = self.ptr;
        match self.width {
            // SAFETY: `p` is inside the mapping, which the borrowed region keeps
            // mapped (`MmioRegion::spot` checked it); exactly one volatile load.
            Width::W8 => u64::from(unsafe { p.read_volatile() }),
            // SAFETY: as above, and `p` is aligned to 2 bytes (checked in `spot`).
            Width::W16 => u64::from(unsafe { p.cast::<u16>().read_volatile() }),
            // SAFETY: as above, aligned to 4 bytes.
            Width::W32 => u64::from(unsafe { p.cast::<u32>().read_volatile() }),
            // SAFETY: as above, aligned to 8 bytes.
            Width::W64 => unsafe { p.cast::<u64>().read_volatile() },
        }
    }

    /// Whether a bus error hit the mapping ([`MmioRegion::faulted`]).
    #[inline]
    pub fn faulted(&self) -> bool {
        self.fault.is_some_and(|f| f.load(Ordering::Relaxed))
    }
}

/// The widest naturally aligned access that fits at `offset` with `remaining` bytes left.
fn widest(base: usize, offset: u64, remaining: u64) -> Width {
    let addr = base as u64 + offset;
    [Width::W64, Width::W32, Width::W16]
        .into_iter()
        .find(|w| addr % w.bytes() == 0 && remaining >= w.bytes())
        .unwrap_or(Width::W8)
}

impl MmioRegion {
    /// Copy `data` into the region at `offset` with the widest aligned volatile
    /// accesses: narrower ones only at unaligned edges, then 64-bit words, and
    /// 256-bit vectors on CPUs with AVX, streaming past the cache for large
    /// copies ([`crate::mmio::bulk`] has the loops and the numbers behind them).
    /// Never a memcpy, never a byte loop over the body. Checked before the first
    /// store. Meant for memory-like BARs (shared memory, frame buffers); drive
    /// registers one at a time with [`RegisterIo`](crate::mmio::RegisterIo).
    pub fn copy_from_slice(&self, offset: u64, data: &[u8]) -> Result<()> {
        self.check_span(offset, data.len() as u64)?;
        let (head, body, tail) = self.split_span(offset, data.len());
        let put = |from: usize, to: usize| -> Result<()> {
            let mut done = from;
            while done < to {
                let at = offset + done as u64;
                let w = widest(self.base_ptr() as usize, at, (to - done) as u64);
                let n = w.bytes() as usize;
                let mut buf = [0u8; 8];
                buf[..n].copy_from_slice(&data[done..done + n]);
                self.write_width(at, w, u64::from_le_bytes(buf))?;
                done += n;
            }
            Ok(())
        };
        put(0, head)?;
        if body > 0 {
            self.check_writable()?;
            // SAFETY: the body is 8-byte aligned, a multiple of 8 long (split_span) and inside the mapping
            // (check_span); `data` is RAM of at least head + body bytes, never overlapping the mapping.
            unsafe { bulk::copy_in(self.body_ptr(offset, head), data[head..].as_ptr(), body, Lanes::detect()) };
        }
        put(head + body, head + body + tail)?;
        self.check_fault()
    }

    /// Copy from the region at `offset` into `out`, as [`Self::copy_from_slice`].
    pub fn copy_to_slice(&self, offset: u64, out: &mut [u8]) -> Result<()> {
        self.check_span(offset, out.len() as u64)?;
        let (head, body, tail) = self.split_span(offset, out.len());
        let get = |out: &mut [u8], from: usize, to: usize| -> Result<()> {
            let mut done = from;
            while done < to {
                let at = offset + done as u64;
                let w = widest(self.base_ptr() as usize, at, (to - done) as u64);
                let n = w.bytes() as usize;
                let v = self.read_width(at, w)?;
                out[done..done + n].copy_from_slice(&v.to_le_bytes()[..n]);
                done += n;
            }
            Ok(())
        };
        get(out, 0, head)?;
        if body > 0 {
            // SAFETY: as in copy_from_slice, with `out` as the RAM side.
            unsafe { bulk::copy_out(self.body_ptr(offset, head), out[head..].as_mut_ptr(), body, Lanes::detect()) };
        }
        get(out, head + body, head + body + tail)?;
        // The bytes copied are the device's only if no bus error replaced them with zeros.
        self.check_fault()
    }

    /// Set `len` bytes at `offset` to `byte`, with the widest aligned volatile
    /// stores as [`Self::copy_from_slice`]. Checked before the first store.
    pub fn fill(&self, offset: u64, len: u64, byte: u8) -> Result<()> {
        self.check_span(offset, len)?;
        // check_span bounds len by the mapping's length, which fits in usize.
        let (head, body, tail) = self.split_span(offset, len as usize);
        let pattern = u64::from_ne_bytes([byte; 8]);
        let put = |from: usize, to: usize| -> Result<()> {
            let mut done = from;
            while done < to {
                let at = offset + done as u64;
                let w = widest(self.base_ptr() as usize, at, (to - done) as u64);
                self.write_width(at, w, pattern & w.max_value())?;
                done += w.bytes() as usize;
            }
            Ok(())
        };
        put(0, head)?;
        if body > 0 {
            self.check_writable()?;
            // SAFETY: as in copy_from_slice, for the region side only.
            unsafe { bulk::fill(self.body_ptr(offset, head), pattern, body, Lanes::detect()) };
        }
        put(head + body, head + body + tail)?;
        self.check_fault()
    }

    /// After a bulk copy: a bus error during it is an error (the copy read
    /// zeros or wrote nothing from then on), as every access path checks.
    #[inline]
    fn check_fault(&self) -> Result<()> {
        if self.faulted() {
            return Err(crate::mmio::fault::bus_error());
        }
        Ok(())
    }

    /// Split a checked span into narrow head accesses up to the first 8-byte
    /// aligned address, a body of whole aligned 64-bit words, and a narrow tail:
    /// exactly the accesses the per-access `widest` walk would make.
    fn split_span(&self, offset: u64, len: usize) -> (usize, usize, usize) {
        bulk::split(self.base_ptr() as usize + offset as usize, len, 8)
    }

    /// The first 64-bit word of a span's body; `offset + head` is inside the
    /// mapping because the span was checked.
    fn body_ptr(&self, offset: u64, head: usize) -> *mut u8 {
        // SAFETY: check_span verified offset + len <= mapping length and head <= len, so the
        // address is inside (or one past) the mapping.
        unsafe { self.base_ptr().add(offset as usize + head) }
    }

    #[inline]
    fn check_writable(&self) -> Result<()> {
        if !self.writable {
            return Err(not_writable());
        }
        Ok(())
    }

    /// `offset + len` lies inside the region.
    pub fn check_span(&self, offset: u64, len: u64) -> Result<()> {
        if offset.checked_add(len).is_none_or(|end| end > self.len) {
            return Err(AccessError::OutOfRange { offset, width: len, len: self.len }.into());
        }
        Ok(())
    }
}

impl MmioRegion {
    /// One read of `width` at `offset` ([`RegisterIo::read`](crate::mmio::RegisterIo::read)).
    #[inline]
    pub(super) fn read_width(&self, offset: u64, width: Width) -> Result<u64> {
        // One arm per width, each with its checks on constants: a call through
        // `dyn RegisterIo` costs one jump on the width, not table lookups.
        match width {
            Width::W8 => self.load::<u8>(offset, width).map(u64::from),
            Width::W16 => self.load::<u16>(offset, width).map(u64::from),
            Width::W32 => self.load::<u32>(offset, width).map(u64::from),
            Width::W64 => self.load::<u64>(offset, width),
        }
    }

    /// One write of `width` at `offset` ([`RegisterIo::write`](crate::mmio::RegisterIo::write)).
    #[inline]
    pub(super) fn write_width(&self, offset: u64, width: Width, value: u64) -> Result<()> {
        if value > width.max_value() {
            width.check_value(value, "access")?;
        }
        self.check_writable()?;
        // The value fits the width (checked above), so the casts lose nothing.
        match width {
            Width::W8 => self.store(offset, width, value as u8),
            Width::W16 => self.store(offset, width, value as u16),
            Width::W32 => self.store(offset, width, value as u32),
            Width::W64 => self.store(offset, width, value),
        }
    }
}

#[cold]
#[inline(never)]
fn not_writable() -> Error {
    AccessError::NotWritable.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::mmio::io::RegisterIo;

    #[test]
    fn every_width_round_trips_little_endian() {
        let r = MmioRegion::ram(4096).unwrap();
        r.write(0, Width::W64, 0x1122_3344_5566_7788).unwrap();
        assert_eq!(r.read(0, Width::W8).unwrap(), 0x88);
        assert_eq!(r.read(2, Width::W16).unwrap(), 0x5566);
        assert_eq!(r.read(4, Width::W32).unwrap(), 0x1122_3344);
        r.write(4, Width::W32, 0xdead_beef).unwrap();
        assert_eq!(r.read(0, Width::W64).unwrap(), 0xdead_beef_5566_7788);
    }

    #[test]
    fn checked_offsets_and_values() {
        let r = MmioRegion::ram(4096).unwrap();
        let kind = |r: Result<u64>| format!("{:?}", r.unwrap_err().kind()).trim_start_matches("Access(").to_string();
        assert!(kind(r.read(4096, Width::W8)).starts_with("OutOfRange"));
        assert!(kind(r.read(4092, Width::W64)).starts_with("OutOfRange"));
        assert!(kind(r.read(u64::MAX, Width::W32)).starts_with("OutOfRange"));
        assert!(kind(r.read(1, Width::W16)).starts_with("Misaligned"));
        assert!(matches!(r.write(0, Width::W8, 0x100).unwrap_err().kind(), ErrorKind::ValueTooLarge { .. }));
        assert_eq!(r.read(0, Width::W32).unwrap(), 0, "rejected write must not land");
    }

    #[test]
    fn bulk_copies_use_wide_aligned_accesses() {
        let r = MmioRegion::ram(4096).unwrap();
        let data: Vec<u8> = (0..100u8).collect();
        r.copy_from_slice(3, &data).unwrap();
        let mut back = vec![0u8; 100];
        r.copy_to_slice(3, &mut back).unwrap();
        assert_eq!(back, data);
        assert_eq!(r.read(0, Width::W8).unwrap(), 0);
        assert_eq!(r.read(103, Width::W8).unwrap(), 0, "nothing written past the end");
        assert_eq!(widest(0, 3, 100), Width::W8);
        assert_eq!(widest(0, 4, 100), Width::W32);
        assert_eq!(widest(0, 8, 100), Width::W64);
        assert_eq!(widest(0, 8, 7), Width::W32);
        assert!(r.copy_from_slice(4090, &data).is_err());
        assert_eq!(r.read(4088, Width::W64).unwrap(), 0, "a rejected copy writes nothing");
    }

    #[test]
    fn bulk_paths_match_a_byte_model_at_every_alignment() {
        let r = MmioRegion::ram(4096).unwrap();
        let mut model = vec![0u8; 4096];
        for (k, (offset, len)) in
            [(0, 4096), (1, 7), (3, 100), (8, 8), (13, 1000), (4095, 1), (2000, 0), (7, 4089)].into_iter().enumerate()
        {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 + k * 13) as u8).collect();
            r.copy_from_slice(offset as u64, &data).unwrap();
            model[offset..offset + len].copy_from_slice(&data);
            r.fill((offset / 2) as u64, (len / 3) as u64, k as u8).unwrap();
            model[offset / 2..offset / 2 + len / 3].fill(k as u8);
            let mut all = vec![0u8; 4096];
            r.copy_to_slice(0, &mut all).unwrap();
            assert_eq!(all, model, "after copy at {offset} len {len}");
            let mut part = vec![0u8; len];
            r.copy_to_slice(offset as u64, &mut part).unwrap();
            assert_eq!(part, model[offset..offset + len]);
        }
    }

    #[test]
    fn read_only_mappings_refuse_bulk_writes() {
        let file = tempfile::tempfile().unwrap();
        file.set_len(4096).unwrap();
        let r = MmioRegion::new(Mapping::map_file(&file, 4096, 0, false).unwrap());
        assert!(matches!(
            r.copy_from_slice(0, &[1u8; 64]).unwrap_err().kind(),
            ErrorKind::Access(AccessError::NotWritable)
        ));
        assert!(matches!(r.fill(0, 64, 1).unwrap_err().kind(), ErrorKind::Access(AccessError::NotWritable)));
        assert!(matches!(r.write(0, Width::W32, 1).unwrap_err().kind(), ErrorKind::Access(AccessError::NotWritable)));
        let mut out = [1u8; 64];
        r.copy_to_slice(0, &mut out).unwrap();
        assert_eq!(out, [0u8; 64]);
    }

    #[test]
    fn fill_sets_exactly_the_span() {
        let r = MmioRegion::ram(4096).unwrap();
        r.fill(1, 20, 0xab).unwrap();
        let mut filled = [0u8; 24];
        r.copy_to_slice(0, &mut filled).unwrap();
        assert_eq!(filled[0], 0);
        assert!(filled[1..21].iter().all(|b| *b == 0xab));
        assert_eq!(&filled[21..], &[0, 0, 0]);
        assert!(r.fill(4090, 7, 1).is_err());
        assert_eq!(r.read(4088, Width::W64).unwrap(), 0, "a rejected fill writes nothing");
    }
}
