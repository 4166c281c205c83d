//! The inner loops of bulk copies between RAM and a mapped region (shared
//! memory such as ivshmem's BAR2): what [`super::MmioRegion::copy_from_slice`],
//! `copy_to_slice` and `fill` run once they have checked the span and done its
//! narrow, unaligned edges.
//!
//! Every access to the region is one aligned volatile access of a fixed width,
//! never `memcpy` and never a byte loop; RAM-side accesses are ordinary loads
//! and stores. The widths, chosen at run time:
//! - [`Lanes::Avx`]: 256-bit (`vmovaps`), on CPUs with AVX. 64-bit accesses
//!   reach 0.6-0.9 of glibc's memcpy on a cache-resident megabyte there;
//!   256-bit ones match it. One exception: a read into RAM that sits 16 bytes
//!   past a 32-byte boundary (where glibc puts large blocks) reads the region
//!   in 128-bit accesses, so that each RAM store stays within a cache line
//!   (0.98 of memcpy, against 0.90 with 256-bit loads and split stores).
//! - [`Lanes::Words`]: 64-bit, everywhere else. That includes QEMU's default
//!   guest CPU, where TCG makes a 128-bit SSE2 access dearer than two 64-bit
//!   ones (0.81-0.88 of the guest's memcpy with SSE2, about 2 with words).
//!
//! Transfers of [`STREAMING_FROM`] bytes or more use non-temporal stores on the
//! side being written (on reads, only into RAM that is 16-byte aligned, as
//! they require; other reads use ordinary stores): they skip the read-for-ownership of each destination
//! line and do not flush the caches, which is what makes a copy larger than
//! the cache memory-bound. An `sfence` ends such a loop, so the streamed data
//! is globally visible before anything the caller does next (a doorbell write,
//! say). Region-side streaming stores are inline `vmovntdq`, which the
//! compiler can neither drop nor merge, so they keep the one-access rule.
//! (Streaming is AVX-only: TCG has no caches to bypass.)
//!
//! Callers guarantee (the `# Safety` of each function): `dev` is valid for
//! `len` bytes, 8-byte aligned, and `len` is a multiple of 8; `ram` is valid
//! for `len` bytes and does not overlap `dev`; `lanes` is one this CPU runs
//! ([`Lanes::detect`] or [`Lanes::available`]). The loops are crate-private:
//! [`super::MmioRegion`] is their checked front end.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Transfers at least this long stream their stores past the cache. Below it
/// ordinary stores win (the data fits the cache); above it streaming wins by up
/// to 1.4x on the development machine (crossover between 16 and 32 MiB).
pub const STREAMING_FROM: usize = 16 << 20;

/// The unit of the vector loops: one 256-bit access, or two 128-bit ones.
const CHUNK: usize = 32;

/// The widest region access the CPU running us can make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lanes {
    /// 256-bit accesses (AVX).
    Avx,
    /// 64-bit accesses.
    Words,
}

impl Lanes {
    /// Detected at run time (std caches CPUID, so this is one atomic load), so
    /// one binary runs on hosts with AVX and on QEMU's default guest CPU without.
    pub fn detect() -> Lanes {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx") {
            return Lanes::Avx;
        }
        Lanes::Words
    }

    /// What a bulk transfer of `len` bytes uses, for benchmark reports.
    pub fn describe(self, len: usize) -> &'static str {
        match (self, len >= STREAMING_FROM) {
            (Lanes::Avx, false) => "256-bit volatile accesses (AVX; 128-bit for reads into RAM at 16 mod 32)",
            (Lanes::Avx, true) => {
                "256-bit volatile accesses (AVX; 128-bit for reads into RAM at 16 mod 32), non-temporal stores"
            }
            (Lanes::Words, _) => "64-bit volatile accesses",
        }
    }

    /// Every width this CPU can run, widest first (the tests try each one).
    pub fn available() -> Vec<Lanes> {
        match Lanes::detect() {
            Lanes::Avx => vec![Lanes::Avx, Lanes::Words],
            Lanes::Words => vec![Lanes::Words],
        }
    }
}

/// A span of `len` bytes at address `addr` cut at `align` boundaries:
/// `(lead, middle, rest)` bytes, `lead` up to the first aligned address,
/// `middle` whole `align`-sized units from there, `rest` what is left.
/// [`super::MmioRegion`] cuts at 8 (narrow edges around 64-bit words), the
/// vector loops here at [`CHUNK`] (words around vector chunks).
pub(crate) fn split(addr: usize, len: usize, align: usize) -> (usize, usize, usize) {
    let lead = ((align - addr % align) % align).min(len);
    let middle = (len - lead) / align * align;
    (lead, middle, len - lead - middle)
}

/// Whether a forward loop storing at `store` while loading at `load` would
/// stall on 4K aliasing: the CPU compares only address bits 0-11 to decide
/// whether a load depends on an earlier store still in flight, so a store a
/// few chunks behind each load (modulo 4096) makes every load wait. glibc's
/// memcpy sidesteps it by copying backwards; so do the loops here. It is the
/// common case for reads: a large Vec starts 16 bytes past a page boundary,
/// shared memory on one (0.86-0.91 of memcpy at 1 MiB forwards, 0.94-0.99
/// backwards).
fn aliased(store: usize, load: usize) -> bool {
    (1..ALIAS_WINDOW).contains(&(store.wrapping_sub(load) % 4096))
}

/// How far, in bytes, a store may trail a load (modulo 4096) and still be in
/// the store buffer when the load issues (tens of entries of 32 bytes).
const ALIAS_WINDOW: usize = 2048;

/// Copy `len` bytes from RAM into the region.
///
/// # Safety
/// See the module documentation.
pub(crate) unsafe fn copy_in(dev: *mut u8, ram: *const u8, len: usize, lanes: Lanes) {
    let (lead, chunks, rest) = split(dev as usize, len, CHUNK);
    let stream = len >= STREAMING_FROM;
    // SAFETY: the three spans partition [0, len), which the caller made valid on
    // both sides; `split` made the middle one 32-byte aligned on the region side.
    unsafe {
        words_in(dev, ram, lead);
        match lanes {
            #[cfg(target_arch = "x86_64")]
            Lanes::Avx => {
                avx::copy_in(dev.add(lead), ram.add(lead), chunks, stream, aliased(dev as usize, ram as usize))
            }
            _ => words_in(dev.add(lead), ram.add(lead), chunks),
        }
        words_in(dev.add(lead + chunks), ram.add(lead + chunks), rest);
    }
}

/// Copy `len` bytes from the region into RAM.
///
/// # Safety
/// See the module documentation.
pub(crate) unsafe fn copy_out(dev: *const u8, ram: *mut u8, len: usize, lanes: Lanes) {
    let (lead, chunks, rest) = split(dev as usize, len, CHUNK);
    let stream = len >= STREAMING_FROM;
    // SAFETY: as in `copy_in`.
    unsafe {
        words_out(dev, ram, lead);
        match lanes {
            #[cfg(target_arch = "x86_64")]
            Lanes::Avx => {
                avx::copy_out(dev.add(lead), ram.add(lead), chunks, stream, aliased(ram as usize, dev as usize))
            }
            _ => words_out(dev.add(lead), ram.add(lead), chunks),
        }
        words_out(dev.add(lead + chunks), ram.add(lead + chunks), rest);
    }
}

/// Store the 64-bit `pattern` over `len` bytes of the region.
///
/// # Safety
/// As the module documentation, without `ram`.
pub(crate) unsafe fn fill(dev: *mut u8, pattern: u64, len: usize, lanes: Lanes) {
    let (lead, chunks, rest) = split(dev as usize, len, CHUNK);
    let stream = len >= STREAMING_FROM;
    // SAFETY: as in `copy_in`, for the region side only.
    unsafe {
        words_fill(dev, pattern, lead);
        match lanes {
            #[cfg(target_arch = "x86_64")]
            Lanes::Avx => avx::fill(dev.add(lead), pattern, chunks, stream),
            _ => words_fill(dev.add(lead), pattern, chunks),
        }
        words_fill(dev.add(lead + chunks), pattern, rest);
    }
}

/// # Safety
/// `dev` 8-byte aligned; both valid for `len` (a multiple of 8) bytes.
unsafe fn words_in(dev: *mut u8, ram: *const u8, len: usize) {
    let (dev, ram) = (dev.cast::<u64>(), ram.cast::<u64>());
    for i in 0..len / 8 {
        // SAFETY: word i is inside both spans; the region side is aligned, the RAM
        // side may not be (read_unaligned). One volatile 64-bit store.
        unsafe { dev.add(i).write_volatile(ram.add(i).read_unaligned()) };
    }
}

/// # Safety
/// As [`words_in`].
unsafe fn words_out(dev: *const u8, ram: *mut u8, len: usize) {
    let (dev, ram) = (dev.cast::<u64>(), ram.cast::<u64>());
    for i in 0..len / 8 {
        // SAFETY: as in `words_in`; one volatile 64-bit load.
        unsafe { ram.add(i).write_unaligned(dev.add(i).read_volatile()) };
    }
}

/// # Safety
/// `dev` 8-byte aligned and valid for `len` (a multiple of 8) bytes.
unsafe fn words_fill(dev: *mut u8, pattern: u64, len: usize) {
    let dev = dev.cast::<u64>();
    for i in 0..len / 8 {
        // SAFETY: word i is inside the span and aligned; one volatile 64-bit store.
        unsafe { dev.add(i).write_volatile(pattern) };
    }
}

/// 256-bit loops. Each function needs, besides the module's contract, `dev`
/// 32-byte aligned, `len` a multiple of 32, and a CPU with AVX.
#[cfg(target_arch = "x86_64")]
mod avx {
    use super::*;

    /// `step(i)` for i in 0..n, forwards or backwards: two plain loops, which
    /// the compiler unrolls as it would `0..n`.
    #[inline(always)]
    fn each(n: usize, backward: bool, mut step: impl FnMut(usize)) {
        if backward {
            (0..n).rev().for_each(&mut step)
        } else {
            (0..n).for_each(&mut step)
        }
    }

    /// # Safety
    /// See the module documentation.
    #[target_feature(enable = "avx")]
    pub unsafe fn copy_in(dev: *mut u8, ram: *const u8, len: usize, stream: bool, backward: bool) {
        let (dev, ram) = (dev.cast::<__m256i>(), ram.cast::<__m256i>());
        each(len / CHUNK, backward, |i| {
            // SAFETY: chunk i is inside both spans; the RAM load is unaligned-safe.
            let v = unsafe { _mm256_loadu_si256(ram.add(i)) };
            // SAFETY: dev.add(i) is a 32-byte aligned chunk of the region.
            unsafe { store_256(dev.add(i), v, stream) };
        });
        if stream {
            _mm_sfence();
        }
    }

    /// # Safety
    /// See the module documentation.
    #[target_feature(enable = "avx")]
    pub unsafe fn copy_out(dev: *const u8, ram: *mut u8, len: usize, stream: bool, backward: bool) {
        // RAM 16 bytes off a 32-byte boundary (where glibc puts large blocks) is
        // better served by aligned 128-bit halves than by 256-bit stores split
        // across cache lines (0.98 vs 0.90 of memcpy at 1 MiB).
        if ram as usize % CHUNK == 16 {
            // SAFETY: the same contract, plus the 16-byte RAM alignment that
            // halves_out needs, which this branch's condition establishes.
            return unsafe { halves_out(dev, ram, len, stream, backward) };
        }
        let (dev, ram) = (dev.cast::<__m256i>(), ram.cast::<__m256i>());
        let stream = stream && ram as usize % CHUNK == 0;
        each(len / CHUNK, backward, |i| {
            // SAFETY: chunk i is inside the region span and 32-byte aligned; one
            // volatile 256-bit load.
            let v = unsafe { dev.add(i).read_volatile() };
            // SAFETY: chunk i is inside the RAM span; streaming only when aligned.
            unsafe {
                if stream {
                    _mm256_stream_si256(ram.add(i), v)
                } else {
                    _mm256_storeu_si256(ram.add(i), v)
                }
            }
        });
        if stream {
            _mm_sfence();
        }
    }

    /// The 128-bit form of [`copy_out`], for RAM that is 16-byte aligned: the
    /// region side is read in 128-bit volatile loads, each stored to RAM aligned.
    ///
    /// # Safety
    /// As [`copy_out`], with `ram` 16-byte aligned.
    #[target_feature(enable = "avx")]
    unsafe fn halves_out(dev: *const u8, ram: *mut u8, len: usize, stream: bool, backward: bool) {
        let (dev, ram) = (dev.cast::<__m128i>(), ram.cast::<__m128i>());
        each(len / 16, backward, |i| {
            // SAFETY: half-chunk i is inside the region span and 16-byte aligned;
            // one volatile 128-bit load.
            let v = unsafe { dev.add(i).read_volatile() };
            // SAFETY: inside the RAM span, which is 16-byte aligned.
            unsafe {
                if stream {
                    _mm_stream_si128(ram.add(i), v)
                } else {
                    _mm_store_si128(ram.add(i), v)
                }
            }
        });
        if stream {
            _mm_sfence();
        }
    }

    /// # Safety
    /// See the module documentation.
    #[target_feature(enable = "avx")]
    pub unsafe fn fill(dev: *mut u8, pattern: u64, len: usize, stream: bool) {
        let dev = dev.cast::<__m256i>();
        let v = _mm256_set1_epi64x(pattern as i64);
        for i in 0..len / CHUNK {
            // SAFETY: dev.add(i) is a 32-byte aligned chunk of the region.
            unsafe { store_256(dev.add(i), v, stream) };
        }
        if stream {
            _mm_sfence();
        }
    }

    /// One 256-bit store to the region: volatile `vmovaps`, or with `stream`
    /// a non-temporal `vmovntdq` (inline asm, which the compiler can neither drop
    /// nor merge).
    ///
    /// # Safety
    /// `to` is 32-byte aligned and valid for 32 bytes of writes; after its last
    /// streaming store the caller issues `sfence`.
    #[target_feature(enable = "avx")]
    #[inline]
    unsafe fn store_256(to: *mut __m256i, v: __m256i, stream: bool) {
        if stream {
            // SAFETY: per the function's contract; the asm touches only those 32 bytes.
            unsafe {
                std::arch::asm!("vmovntdq ymmword ptr [{to}], {v}", to = in(reg) to, v = in(ymm_reg) v,
                    options(nostack, preserves_flags))
            };
        } else {
            // SAFETY: per the function's contract; one volatile 256-bit store.
            unsafe { to.write_volatile(v) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mmio::Mapping;
    use nix::sys::mman::{mprotect, ProtFlags};

    #[test]
    fn split_aligns_the_middle_to_chunks() {
        assert_eq!(split(0x1000, 100, CHUNK), (0, 96, 4));
        assert_eq!(split(0x1008, 100, CHUNK), (24, 64, 12));
        assert_eq!(split(0x1008, 16, CHUNK), (16, 0, 0));
        assert_eq!(split(0x1018, 8, CHUNK), (8, 0, 0));
        assert_eq!(split(0x1020, 0, CHUNK), (0, 0, 0));
        assert_eq!(split(0x1003, 20, 8), (5, 8, 7));
    }

    /// Where a span starts: a byte offset into the first usable page, or so that
    /// it ends exactly at the guard page after it.
    #[derive(Clone, Copy, Debug)]
    enum At {
        Page(usize),
        End,
    }

    /// Every width, streaming or not, forwards or backwards, at every region
    /// alignment within a chunk and every RAM alignment the vector loops tell
    /// apart (32-byte, 16-byte as glibc's large blocks, other), moves exactly the
    /// asked bytes and nothing around them. Positions are page offsets, so the
    /// 4K-aliasing cases are chosen, not left to the allocator; both buffers sit
    /// between PROT_NONE pages, so an access past either end faults.
    #[test]
    fn every_width_copies_and_fills_exactly_the_span() {
        use At::{End, Page};
        // (region, RAM): same phase; RAM 16 bytes ahead (reads go backwards);
        // region 16 ahead (writes go backwards); RAM odd; region 8 past a chunk
        // boundary with RAM 16 bytes off one where the chunks start; far apart;
        // ending flush against the guard pages.
        let placements = [
            (Page(128), Page(128)),
            (Page(128), Page(144)),
            (Page(144), Page(128)),
            (Page(136), Page(129)),
            (Page(200), Page(152)),
            (Page(64), Page(2112)),
            (End, End),
            (End, Page(16)),
            (Page(8), End),
        ];
        // Lengths: one word; 1, 2 and 3 chunks after a lead; page-sized. Then
        // both sides of the streaming threshold, with fewer placements (each
        // such case moves and checks ~100 MiB; unoptimized test builds are slow).
        for len in [8, 40, 72, 104, 200, 4096 + 64] {
            for lanes in Lanes::available() {
                for (dev_at, ram_at) in placements {
                    check_span(lanes, len, dev_at, ram_at);
                }
            }
        }
        for len in [STREAMING_FROM - 8, STREAMING_FROM + 72] {
            for lanes in Lanes::available() {
                for (dev_at, ram_at) in [placements[1], placements[2], placements[4], placements[6]] {
                    check_span(lanes, len, dev_at, ram_at);
                }
            }
        }
    }

    #[test]
    fn aliasing_is_judged_modulo_a_page() {
        assert!(aliased(0x2010, 0x1000), "store 16 bytes after the load's page offset");
        assert!(aliased(0x1010, 0x5000));
        assert!(!aliased(0x1000, 0x2010), "store behind in address, ahead in the page");
        assert!(!aliased(0x1000, 0x3000), "same page offset: a full page apart");
        assert!(!aliased(0x1000 + ALIAS_WINDOW, 0x1000));
    }

    const PAGE: usize = 4096;

    /// Zeroed memory with room for `len` bytes at any page offset, between two
    /// PROT_NONE guard pages. Returns the mapping, its first usable byte and the
    /// usable length (whole pages).
    fn guarded(len: usize) -> (Mapping, *mut u8, usize) {
        let usable = (len + PAGE).div_ceil(PAGE) * PAGE;
        let map = Mapping::anonymous(usable + 2 * PAGE).unwrap();
        let base = map.as_ptr().as_ptr();
        for guard in [0, PAGE + usable] {
            // SAFETY: both guard pages lie inside the mapping, which this test owns
            // and never touches there.
            let at = unsafe { base.add(guard) };
            // SAFETY: as above; PROT_NONE on pages of our own mapping.
            unsafe { mprotect(std::ptr::NonNull::new(at.cast()).unwrap(), PAGE, ProtFlags::PROT_NONE) }.unwrap();
        }
        // SAFETY: one page into the mapping, the first usable byte.
        (map, unsafe { base.add(PAGE) }, usable)
    }

    fn offset(at: At, len: usize, usable: usize) -> usize {
        match at {
            At::Page(o) => o,
            At::End => usable - len,
        }
    }

    fn check_span(lanes: Lanes, len: usize, dev_at: At, ram_at: At) {
        let what = format!("{lanes:?}, {len} bytes, region at {dev_at:?}, RAM at {ram_at:?}");
        let ((_dev_map, dev, usable), (_ram_map, ram, _)) = (guarded(len), guarded(len));
        let (dev_at, ram_at) = (offset(dev_at, len, usable), offset(ram_at, len, usable));
        // Every unsafe block below relies on this: `dev` and `ram` each start
        // `usable` readable, writable bytes of a mapping private to this test,
        // fenced by PROT_NONE pages; the spans [at, at + len) lie inside; the
        // region side is 8-byte aligned and len a multiple of 8.
        let view = |p: *mut u8| {
            // SAFETY: see above; `usable` bytes from the start of one buffer.
            unsafe { std::slice::from_raw_parts(p, usable) }.to_vec()
        };
        let src: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(13).wrapping_add(len as u8)).collect();
        // SAFETY: see above.
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), ram.add(ram_at), len) };
        // Slice comparisons are memcmp, fast even in unoptimized test builds.
        let zeros = vec![0u8; usable];
        let untouched = |bytes: &[u8], at: usize| bytes[..at] == zeros[..at] && bytes[at + len..] == zeros[at + len..];

        // SAFETY: see above.
        unsafe { copy_in(dev.add(dev_at), ram.add(ram_at), len, lanes) };
        let region = view(dev);
        assert_eq!(&region[dev_at..dev_at + len], &src[..], "copy_in: {what}");
        assert!(untouched(&region, dev_at), "copy_in spilled: {what}");

        // SAFETY: see above.
        unsafe { std::ptr::write_bytes(ram, 0, usable) };
        // SAFETY: see above.
        unsafe { copy_out(dev.add(dev_at), ram.add(ram_at), len, lanes) };
        let back = view(ram);
        assert_eq!(&back[ram_at..ram_at + len], &src[..], "copy_out: {what}");
        assert!(untouched(&back, ram_at), "copy_out spilled: {what}");

        // SAFETY: see above.
        unsafe { fill(dev.add(dev_at), 0x0807_0605_0403_0201, len, lanes) };
        let filled = view(dev);
        let pattern = [1u8, 2, 3, 4, 5, 6, 7, 8].repeat(len / 8);
        assert!(filled[dev_at..dev_at + len] == pattern[..], "fill: {what}");
        assert!(untouched(&filled, dev_at), "fill spilled: {what}");
    }

    #[test]
    fn words_are_always_available_and_last() {
        let lanes = Lanes::available();
        assert_eq!(lanes.last(), Some(&Lanes::Words));
        assert_eq!(lanes[0], Lanes::detect());
    }
}
