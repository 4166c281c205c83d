//! Descriptor rings in DMA memory: the building blocks of a driver that
//! moves data the way a NIC, an NVMe controller or a virtio device does.
//!
//! A ring is an array of fixed-size descriptors in memory the device reaches
//! by DMA, plus two indices: the device's head (the next descriptor it
//! processes) and the driver's tail (one past the last it handed over). The
//! driver fills descriptors, then moves the tail with one register write (the
//! doorbell); the device processes from its head and writes status back
//! into the descriptors it is done with.
//!
//! - [`DmaMemory`]: memory the device reaches at an IOVA (a VFIO
//!   [`DmaBuffer`], or plain RAM at a pretend IOVA for tests and
//!   simulations); the CPU reaches it only through volatile accesses.
//! - [`DescriptorRing`]: `count` descriptors of a [`Descriptor`] type in one
//!   such memory, with the IOVA of each entry and index arithmetic that wraps
//!   ([`DescriptorRing::next`], [`DescriptorRing::distance`]).
//! - [`Slot`]: one descriptor's bytes, read and written by volatile accesses
//!   of the widths the device defines (never a Rust reference: the device may
//!   write the memory at any time, and a reference would let the compiler
//!   read it twice or not at all).
//! - [`BufferPool`]: packet (or block) buffers, `count` slots of `size` bytes
//!   in one DMA memory, with the IOVA of each.
//! - [`IovaSpace`]: hands out page-aligned IOVAs for these, under a DMA mask.
//!
//! # The barriers a ring needs
//!
//! Two orderings make a ring correct; [`crate::mmio::barrier`] has one
//! function for each, and a driver calls each once per batch, not once per
//! descriptor:
//!
//! 1. **Before the doorbell** ([`barrier::before_doorbell`]): every store to
//!    the descriptors and buffers being handed over must be visible to the
//!    device before the tail register moves. The tail write is what tells the
//!    device to read them; without the barrier the compiler (which may move
//!    plain memory accesses across a volatile one) or the CPU (stores to
//!    write-back memory and to an uncached register are not ordered on every
//!    architecture) may let the device see the new tail first and fetch a
//!    half-written descriptor.
//! 2. **After a completion** ([`barrier::after_completion`]): once the driver
//!    sees the device's "done" bit in a descriptor (the e1000's DD), the reads
//!    of that descriptor's other fields and of its buffer must not be
//!    satisfied earlier than the read of the bit. The device writes the data
//!    first and the bit last; a read of the buffer made before the bit was
//!    seen may return the old bytes.
//!
//! A batch therefore reads the status of every descriptor it takes, then
//! makes one barrier, then reads their lengths and buffers; and refills every
//! descriptor it gives back, then makes one barrier, then writes the tail
//! once.
//!
//! # Ownership
//!
//! Between the driver's tail and the device's head, descriptors belong to
//! the device: the driver must not write them (the device may be reading
//! them) and must not trust what it reads there except the done bit. The
//! rest belong to the driver. A ring that is "full" keeps one descriptor
//! unused, so that head == tail always means "nothing for the device" and
//! never "everything".
//!
//! Memory safety does not depend on the device: every access is checked
//! against the ring's bounds, the device reaches the memory only through the
//! IOMMU mapping, and a [`DmaBuffer`] stays mapped until it is dropped (so a
//! driver stops the device before dropping its rings).

use crate::error::AccessError;
use std::marker::PhantomData;

use crate::backend::{Backend, DmaBuffer};
use crate::error::{Error, Result};
use crate::mmio::{MmioRegion, RegisterIo, Width};

#[allow(unused_imports)] // for the documentation's links
use crate::mmio::barrier;

/// The IOMMU's page size: IOVAs and DMA mappings are multiples of it.
pub const PAGE: u64 = 4096;

/// Memory a device reaches by DMA at an IOVA.
///
/// The CPU side is an [`MmioRegion`]: volatile accesses of a given width,
/// and bulk copies that never form a reference. Cloning the region keeps the
/// memory allocated; the IOVA mapping lives as long as this value.
pub struct DmaMemory {
    region: MmioRegion,
    iova: u64,
    len: usize,
    /// The VFIO mapping (None for [`DmaMemory::ram`]); unmapped when dropped,
    /// which never happens in a process that did not map it (fork-safe).
    _mapping: Option<DmaBuffer>,
}

impl DmaMemory {
    /// Memory the device reaches through the IOMMU: a buffer mapped with
    /// [`Backend::dma_buffer`].
    pub fn new(buffer: DmaBuffer) -> Self {
        DmaMemory { region: buffer.memory().clone(), iova: buffer.iova(), len: buffer.len(), _mapping: Some(buffer) }
    }

    /// `len` bytes mapped for `backend`'s device at `iova`, under its DMA
    /// mask of `mask_bits`.
    pub fn allocate(backend: &dyn Backend, len: usize, iova: u64, mask_bits: u32) -> Result<Self> {
        backend.dma_buffer(len, iova, mask_bits).map(DmaMemory::new)
    }

    /// Plain zeroed RAM standing for DMA memory at a pretend `iova`: for
    /// unit tests and simulated devices. No device can reach it.
    pub fn ram(len: usize, iova: u64) -> Result<Self> {
        if len == 0 {
            return Err(Error::invalid("0", "DMA memory needs at least one byte"));
        }
        let mapped = (len as u64).div_ceil(PAGE) * PAGE;
        Ok(DmaMemory { region: MmioRegion::ram(mapped as usize)?, iova, len, _mapping: None })
    }

    /// The address the device uses for its first byte.
    pub fn iova(&self) -> u64 {
        self.iova
    }

    /// Its length in bytes (as asked; the mapping is whole pages).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Never true: DMA memory has at least one byte.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The CPU's view: volatile accesses and bulk copies, checked.
    pub fn memory(&self) -> &MmioRegion {
        &self.region
    }
}

/// One descriptor's bytes in a ring, `size` bytes at `base` of the ring's
/// memory. Each read or write is one volatile access of the asked width,
/// naturally aligned, checked to stay inside the descriptor.
#[derive(Clone, Copy)]
pub struct Slot<'a> {
    memory: &'a MmioRegion,
    base: u64,
    size: u64,
}

impl Slot<'_> {
    #[inline]
    fn at(&self, offset: u64, width: Width) -> Result<u64> {
        if offset.checked_add(width.bytes()).is_none_or(|end| end > self.size) {
            return Err(AccessError::OutOfRange { offset, width: width.bytes(), len: self.size }.into());
        }
        Ok(self.base + offset)
    }

    /// One read of `width` at `offset` in the descriptor.
    #[inline]
    pub fn read(&self, offset: u64, width: Width) -> Result<u64> {
        self.memory.read(self.at(offset, width)?, width)
    }

    /// One write of `width` at `offset` in the descriptor.
    #[inline]
    pub fn write(&self, offset: u64, width: Width, value: u64) -> Result<()> {
        self.memory.write(self.at(offset, width)?, width, value)
    }

    /// One 64-bit read at `offset`.
    #[inline]
    pub fn read_u64(&self, offset: u64) -> Result<u64> {
        self.read(offset, Width::W64)
    }

    /// One 64-bit write at `offset`.
    #[inline]
    pub fn write_u64(&self, offset: u64, value: u64) -> Result<()> {
        self.write(offset, Width::W64, value)
    }

    /// One 32-bit read at `offset`.
    #[inline]
    pub fn read_u32(&self, offset: u64) -> Result<u32> {
        self.read(offset, Width::W32).map(|v| v as u32)
    }

    /// One 32-bit write at `offset`.
    #[inline]
    pub fn write_u32(&self, offset: u64, value: u32) -> Result<()> {
        self.write(offset, Width::W32, value.into())
    }

    /// One 8-bit read at `offset`.
    #[inline]
    pub fn read_u8(&self, offset: u64) -> Result<u8> {
        self.read(offset, Width::W8).map(|v| v as u8)
    }

    /// One 8-bit write at `offset`.
    #[inline]
    pub fn write_u8(&self, offset: u64, value: u8) -> Result<()> {
        self.write(offset, Width::W8, value.into())
    }
}

/// A descriptor layout: its size and how it is written to and read from a
/// [`Slot`]. Implement it with the accesses the device's manual defines
/// (the e1000's legacy descriptors are two 64-bit words; see
/// `drivers/e1000/src/desc.rs`).
pub trait Descriptor: Sized {
    /// Bytes per descriptor: a multiple of 8, at most one page.
    const SIZE: u64;

    /// Write this descriptor into `slot`.
    fn store(&self, slot: Slot<'_>) -> Result<()>;

    /// Read a descriptor from `slot`.
    fn load(slot: Slot<'_>) -> Result<Self>;
}

/// `count` descriptors of type `D` in DMA memory: the array the device
/// reads and writes back, with the IOVA of each entry.
///
/// `count` is a power of two, so an index wraps with a mask
/// ([`DescriptorRing::next`]); the memory is zeroed when the ring is made.
pub struct DescriptorRing<D> {
    memory: DmaMemory,
    count: u32,
    mask: u32,
    _descriptor: PhantomData<fn() -> D>,
}

impl<D: Descriptor> DescriptorRing<D> {
    /// The largest ring: 65,536 descriptors.
    pub const MAX_COUNT: u32 = 1 << 16;

    /// Check a ring size before anything is allocated: a power of two from
    /// 1 to [`Self::MAX_COUNT`] (a device may ask for more, such as a
    /// multiple of 128 bytes: check that too).
    pub fn check_count(count: u32) -> Result<()> {
        const { assert!(D::SIZE % 8 == 0 && D::SIZE > 0 && D::SIZE <= PAGE, "descriptor size") };
        if count == 0 || !count.is_power_of_two() || count > Self::MAX_COUNT {
            return Err(Error::invalid(
                count.to_string(),
                format!("a ring holds a power of two of descriptors, 1 to {}", Self::MAX_COUNT),
            ));
        }
        Ok(())
    }

    /// Bytes a ring of `count` descriptors takes.
    pub fn bytes_for(count: u32) -> u64 {
        u64::from(count) * D::SIZE
    }

    /// A ring of `count` descriptors in `memory` (at least
    /// [`Self::bytes_for`] bytes), zeroed.
    pub fn new(memory: DmaMemory, count: u32) -> Result<Self> {
        Self::check_count(count)?;
        let bytes = Self::bytes_for(count);
        if (memory.len() as u64) < bytes {
            return Err(Error::invalid(
                format!("{} bytes", memory.len()),
                format!("a ring of {count} {}-byte descriptors needs {bytes} bytes", D::SIZE),
            ));
        }
        memory.memory().fill(0, bytes, 0)?;
        Ok(DescriptorRing { memory, count, mask: count - 1, _descriptor: PhantomData })
    }

    /// A ring of `count` descriptors mapped for `backend`'s device at `iova`.
    pub fn allocate(backend: &dyn Backend, count: u32, iova: u64, mask_bits: u32) -> Result<Self> {
        Self::check_count(count)?;
        Self::new(DmaMemory::allocate(backend, Self::bytes_for(count) as usize, iova, mask_bits)?, count)
    }

    /// Number of descriptors.
    #[inline]
    pub fn count(&self) -> u32 {
        self.count
    }

    /// IOVA of descriptor 0 (what the device's base-address registers take).
    #[inline]
    pub fn iova(&self) -> u64 {
        self.memory.iova()
    }

    /// Length of the ring in bytes (what its length register takes).
    #[inline]
    pub fn bytes(&self) -> u64 {
        Self::bytes_for(self.count)
    }

    /// IOVA of descriptor `index` (wrapped into the ring).
    #[inline]
    pub fn iova_of(&self, index: u32) -> u64 {
        self.iova() + u64::from(index & self.mask) * D::SIZE
    }

    /// The index after `index`, wrapping at the end.
    #[inline]
    pub fn next(&self, index: u32) -> u32 {
        index.wrapping_add(1) & self.mask
    }

    /// `index + n`, wrapping.
    #[inline]
    pub fn advance(&self, index: u32, n: u32) -> u32 {
        index.wrapping_add(n) & self.mask
    }

    /// How many steps from `from` to `to` going forward (0 when equal).
    #[inline]
    pub fn distance(&self, from: u32, to: u32) -> u32 {
        to.wrapping_sub(from) & self.mask
    }

    /// Descriptor `index`'s bytes (wrapped into the ring).
    #[inline]
    pub fn slot(&self, index: u32) -> Slot<'_> {
        Slot { memory: self.memory.memory(), base: u64::from(index & self.mask) * D::SIZE, size: D::SIZE }
    }

    /// Write descriptor `index`.
    #[inline]
    pub fn write(&self, index: u32, descriptor: &D) -> Result<()> {
        descriptor.store(self.slot(index))
    }

    /// Read descriptor `index`.
    #[inline]
    pub fn read(&self, index: u32) -> Result<D> {
        D::load(self.slot(index))
    }

    /// The ring's memory, for a device model or a check that reads it as
    /// the device would.
    pub fn memory(&self) -> &DmaMemory {
        &self.memory
    }

    /// Zero every descriptor.
    pub fn clear(&self) -> Result<()> {
        self.memory.memory().fill(0, self.bytes(), 0)
    }
}

/// `count` buffers of `size` bytes in one DMA memory: what descriptors point
/// at. Buffer `i` is at IOVA `iova + i * size`; the CPU fills and reads
/// them with bulk volatile copies.
pub struct BufferPool {
    memory: DmaMemory,
    count: u32,
    size: u32,
}

impl BufferPool {
    /// Check a pool's shape before anything is allocated: at least one
    /// buffer, a buffer size that is a non-zero multiple of 8.
    pub fn check(count: u32, size: u32) -> Result<()> {
        if count == 0 || size == 0 || size % 8 != 0 {
            return Err(Error::invalid(
                format!("{count} buffers of {size} bytes"),
                "a buffer pool needs at least one buffer, of a multiple of 8 bytes",
            ));
        }
        Ok(())
    }

    /// Bytes a pool of `count` buffers of `size` bytes takes.
    pub fn bytes_for(count: u32, size: u32) -> u64 {
        u64::from(count) * u64::from(size)
    }

    /// A pool in `memory` (at least [`Self::bytes_for`] bytes).
    pub fn new(memory: DmaMemory, count: u32, size: u32) -> Result<Self> {
        Self::check(count, size)?;
        let bytes = Self::bytes_for(count, size);
        if (memory.len() as u64) < bytes {
            return Err(Error::invalid(
                format!("{} bytes", memory.len()),
                format!("{count} buffers of {size} bytes need {bytes} bytes"),
            ));
        }
        Ok(BufferPool { memory, count, size })
    }

    /// A pool mapped for `backend`'s device at `iova`.
    pub fn allocate(backend: &dyn Backend, count: u32, size: u32, iova: u64, mask_bits: u32) -> Result<Self> {
        Self::check(count, size)?;
        let bytes = usize::try_from(Self::bytes_for(count, size))
            .map_err(|_| Error::invalid(format!("{count} x {size}"), "too large"))?;
        Self::new(DmaMemory::allocate(backend, bytes, iova, mask_bits)?, count, size)
    }

    /// Number of buffers.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Bytes per buffer.
    pub fn size(&self) -> u32 {
        self.size
    }

    /// Total bytes.
    pub fn bytes(&self) -> u64 {
        Self::bytes_for(self.count, self.size)
    }

    fn offset(&self, index: u32, len: usize) -> Result<u64> {
        if index >= self.count || len > self.size as usize {
            return Err(Error::invalid(
                format!("buffer {index}, {len} bytes"),
                format!("the pool has {} buffers of {} bytes", self.count, self.size),
            ));
        }
        Ok(u64::from(index) * u64::from(self.size))
    }

    /// IOVA of buffer `index` (checked).
    pub fn iova(&self, index: u32) -> Result<u64> {
        Ok(self.memory.iova() + self.offset(index, 0)?)
    }

    /// Copy `data` into buffer `index` from its start.
    #[inline]
    pub fn write(&self, index: u32, data: &[u8]) -> Result<()> {
        self.write_at(index, 0, data)
    }

    /// Copy `data` into buffer `index` at `offset` (inside the buffer).
    #[inline]
    pub fn write_at(&self, index: u32, offset: u32, data: &[u8]) -> Result<()> {
        let end = (offset as usize).saturating_add(data.len());
        let at = self.offset(index, end)? + u64::from(offset);
        self.memory.memory().copy_from_slice(at, data)
    }

    /// Copy the first `out.len()` bytes of buffer `index` into `out`.
    #[inline]
    pub fn read(&self, index: u32, out: &mut [u8]) -> Result<()> {
        let at = self.offset(index, out.len())?;
        self.memory.memory().copy_to_slice(at, out)
    }

    /// The whole pool's memory, for a device model or a check.
    pub fn memory(&self) -> &DmaMemory {
        &self.memory
    }
}

/// Page-aligned IOVAs for one device's DMA memories, handed out in order
/// from `start`, each under the device's DMA mask. IOVAs are the device's
/// addresses, chosen by the driver: any page-aligned range the IOMMU maps
/// works, and keeping them apart (a guard page between) turns a device
/// overrunning one memory into an IOMMU fault instead of a write to the next.
#[derive(Clone, Debug)]
pub struct IovaSpace {
    next: u64,
    mask_bits: u32,
}

impl IovaSpace {
    /// IOVAs from `start` (page-aligned), under a DMA mask of `mask_bits`.
    pub fn new(start: u64, mask_bits: u32) -> Result<Self> {
        crate::backend::vfio::dma::check_request(1, start, mask_bits)?;
        Ok(IovaSpace { next: start, mask_bits })
    }

    /// The IOVA for `len` bytes (checked against the mask), leaving a guard
    /// page after them.
    pub fn take(&mut self, len: u64) -> Result<u64> {
        let iova = self.next;
        let pages = len.max(1).div_ceil(PAGE);
        crate::backend::vfio::dma::check_request((pages * PAGE) as usize, iova, self.mask_bits)?;
        self.next = iova + (pages + 1) * PAGE;
        Ok(iova)
    }

    /// The DMA mask.
    pub fn mask_bits(&self) -> u32 {
        self.mask_bits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 16-byte descriptor: address, length and a status byte.
    #[derive(Debug, PartialEq, Eq)]
    struct Desc {
        addr: u64,
        len: u16,
        status: u8,
    }

    impl Descriptor for Desc {
        const SIZE: u64 = 16;
        fn store(&self, slot: Slot<'_>) -> Result<()> {
            slot.write_u64(0, self.addr)?;
            slot.write_u64(8, u64::from(self.len) | u64::from(self.status) << 32)
        }
        fn load(slot: Slot<'_>) -> Result<Self> {
            let hi = slot.read_u64(8)?;
            Ok(Desc { addr: slot.read_u64(0)?, len: hi as u16, status: (hi >> 32) as u8 })
        }
    }

    #[test]
    fn entries_have_their_iova_and_indices_wrap() {
        let ring: DescriptorRing<Desc> = DescriptorRing::new(DmaMemory::ram(8 * 16, 0x10_0000).unwrap(), 8).unwrap();
        assert_eq!((ring.count(), ring.iova(), ring.bytes()), (8, 0x10_0000, 128));
        assert_eq!(ring.iova_of(3), 0x10_0030);
        assert_eq!(ring.iova_of(9), 0x10_0010, "wrapped");
        assert_eq!((ring.next(6), ring.next(7)), (7, 0));
        assert_eq!((ring.distance(6, 1), ring.distance(1, 6), ring.distance(4, 4)), (3, 5, 0));
        assert_eq!(ring.advance(7, 3), 2);
        let d = Desc { addr: 0xdead_beef_0000, len: 1514, status: 1 };
        ring.write(7, &d).unwrap();
        assert_eq!(ring.read(15).unwrap(), d, "15 is 7 wrapped");
        assert_eq!(ring.slot(7).read_u8(12).unwrap(), 1, "status byte at offset 12");
        assert!(ring.slot(7).read_u64(12).is_err(), "an access past the descriptor is refused");
        assert!(ring.slot(7).read_u32(14).is_err(), "misaligned or past the end");
        ring.clear().unwrap();
        assert_eq!(ring.read(7).unwrap(), Desc { addr: 0, len: 0, status: 0 });
    }

    #[test]
    fn shapes_are_checked_before_anything_is_allocated() {
        for bad in [0, 3, 100, 1 << 17] {
            assert!(DescriptorRing::<Desc>::check_count(bad).is_err(), "{bad}");
        }
        assert!(DescriptorRing::<Desc>::check_count(4096).is_ok());
        let small = DmaMemory::ram(64, 0).unwrap();
        assert!(DescriptorRing::<Desc>::new(small, 8).is_err(), "128 bytes do not fit in 64");
        assert!(BufferPool::check(0, 2048).is_err() && BufferPool::check(4, 100).is_err());
        assert!(DmaMemory::ram(0, 0).is_err());
    }

    #[test]
    fn buffers_are_copied_in_and_out_at_their_iova() {
        let pool = BufferPool::new(DmaMemory::ram(4 * 2048, 0x20_0000).unwrap(), 4, 2048).unwrap();
        assert_eq!(pool.iova(2).unwrap(), 0x20_1000);
        assert!(pool.iova(4).is_err());
        let frame: Vec<u8> = (0..1514u32).map(|i| i as u8).collect();
        pool.write(3, &frame).unwrap();
        let mut back = vec![0u8; 1514];
        pool.read(3, &mut back).unwrap();
        assert_eq!(back, frame);
        assert!(pool.write(1, &[0u8; 2049]).is_err(), "longer than a buffer");
        assert!(pool.write_at(1, 2046, &[0u8; 4]).is_err(), "past the end of the buffer");
        pool.write_at(3, 14, &[0xaa, 0xbb]).unwrap();
        pool.read(3, &mut back).unwrap();
        assert_eq!((back[13], back[14], back[15], back[16]), (13, 0xaa, 0xbb, 16));
        let mut other = [1u8; 8];
        pool.read(2, &mut other).unwrap();
        assert_eq!(other, [0; 8], "buffer 2 untouched");
    }

    #[test]
    fn iovas_are_page_aligned_with_guard_pages_under_the_mask() {
        let mut space = IovaSpace::new(0x10_0000, 32).unwrap();
        assert_eq!(space.take(16 * 256).unwrap(), 0x10_0000);
        assert_eq!(space.take(1).unwrap(), 0x10_2000, "one page, then a guard page");
        assert_eq!(space.take(2048 * 256).unwrap(), 0x10_4000);
        assert!(space.take(1 << 32).is_err(), "beyond the 32-bit mask");
        assert!(IovaSpace::new(0x10_0001, 32).is_err());
    }
}
