//! The data path: the 8254x initialised for moving frames, with a receive
//! and a transmit ring of legacy descriptors in DMA memory (the library's
//! [`DescriptorRing`] and [`BufferPool`]), in polling or interrupt mode.
//!
//! Bring-up follows the SDM's initialisation (chapter 14): everything the
//! device will read is allocated and mapped first (so a ring that cannot be
//! allocated leaves the device untouched), then interrupts are masked,
//! receive and transmit disabled, the device reset (CTRL.RST), the link set
//! up (CTRL.SLU) and waited for, the receive address filter written
//! (RAL0/RAH0 from the EEPROM, the multicast table cleared: unicast to us
//! and broadcast only), and the rings programmed. Dropping a [`Nic`] puts
//! the device back: interrupts masked, receive and transmit off, reset, the
//! ring registers cleared; only then are the rings unmapped.
//!
//! Ownership of the descriptors follows the registers:
//! - receive: the device owns RDH up to (not including) RDT; the driver
//!   keeps one descriptor, so RDH == RDT means "no buffers", and gives
//!   descriptors back by moving RDT to the last one it read (a batch at a
//!   time: a doorbell per descriptor would be an MMIO write per frame);
//! - transmit: the device owns TDH up to (not including) TDT; the driver
//!   fills descriptors at TDT and moves it (the doorbell); descriptors carry
//!   RS, so the device sets DD in each when it is sent and the driver frees
//!   its buffer ([`Nic::reap`]).
//!
//! QEMU's model (hw/net/e1000.c) processes the transmit ring inside the TDT
//! write; it keeps a receive interrupt at least 128 us after the previous one
//! (its interrupt mitigation), and for a second after RCTL is written it
//! holds incoming frames back (they are delivered, not lost, after it).

use std::time::{Duration, Instant};

use serde::Serialize;

use super::desc::{rx_errors, rx_status, tx_status, RxDesc, TxDesc};
use super::regs::*;
use super::{MacAddress, E1000};
use mmiodrv::backend::{Backend, Interrupts, IrqKind};
use mmiodrv::error::{DeviceRef, Error, ErrorKind, Result};
use mmiodrv::field_value;
use mmiodrv::mmio::{barrier, RegisterIo, Width};
use mmiodrv::regmap::typed::{Reg, RW};
use mmiodrv::ring::{BufferPool, DescriptorRing, IovaSpace};

/// Shortest frame sent or accepted: 60 bytes (64 on the wire with the CRC).
pub const MIN_FRAME: usize = 60;
/// Longest frame without jumbo frames: 1514 bytes (1518 with the CRC).
pub const MAX_FRAME: usize = 1514;
/// Receive buffers of 2048 bytes (RCTL.BSIZE 00, BSEX 0); transmit ones too.
pub const BUFFER_SIZE: u32 = 2048;
/// Descriptors per ring by default.
pub const DEFAULT_RING: u32 = 256;
/// Fewest descriptors per ring: RDLEN/TDLEN are multiples of 128 bytes.
pub const MIN_RING: u32 = 8;
/// Most descriptors per ring (the 82544 and later; kept for every part).
pub const MAX_RING: u32 = 4096;
/// Frames handed over or taken per doorbell.
pub const BATCH: usize = 32;
/// Where the driver's IOVAs start, and the mask they stay under (the 8254x
/// does 64-bit DMA; 4 GiB is room enough and fits any IOMMU).
pub const IOVA_START: u64 = 0x100_0000;
/// See [`IOVA_START`].
pub const DMA_MASK_BITS: u32 = 32;
/// Entries of the multicast table (MTA0 and the 127 after it).
pub const MTA_ENTRIES: u64 = 128;
/// How long bring-up waits for STATUS.LU after setting CTRL.SLU. QEMU's
/// model restarts auto-negotiation when the kernel's driver lets go and
/// reports the link about half a second later.
pub const LINK_TIMEOUT: Duration = Duration::from_secs(5);

/// The ring registers, cleared when the device is stopped (before the rings
/// are unmapped): base, length, head and tail of both.
const RING_REGISTERS: [u64; 10] = [
    RDBAL.offset(),
    RDBAH.offset(),
    RDLEN.offset(),
    RDH.offset(),
    RDT.offset(),
    TDBAL.offset(),
    TDBAH.offset(),
    TDLEN.offset(),
    TDH.offset(),
    TDT.offset(),
];

/// How the driver learns that the device did something.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Read the descriptors' DD bits in a loop (yielding the CPU when there
    /// is nothing, so a sender on the same CPU can run).
    Poll,
    /// Sleep until the device's interrupt (INTx through VFIO's eventfd), then
    /// read ICR (which acknowledges it) and the descriptors.
    Irq,
}

/// What to bring up.
#[derive(Clone, Copy, Debug)]
pub struct NetConfig {
    /// Descriptors per ring: a power of two, [`MIN_RING`] to [`MAX_RING`].
    pub ring: u32,
    /// The receive ring (RCTL.EN).
    pub rx: bool,
    /// The transmit ring (TCTL.EN).
    pub tx: bool,
    /// Polling or interrupts.
    pub mode: Mode,
}

/// Check a ring size before anything is allocated or touched.
pub fn check_ring(ring: u32) -> Result<()> {
    if !(MIN_RING..=MAX_RING).contains(&ring) || !ring.is_power_of_two() {
        return Err(Error::invalid(
            ring.to_string(),
            format!("descriptors per ring: a power of two from {MIN_RING} to {MAX_RING}"),
        ));
    }
    Ok(())
}

/// What the data path counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Counters {
    /// Frames the device reported sent (DD written back).
    pub sent: u64,
    /// Their bytes (without CRC).
    pub sent_bytes: u64,
    /// Frames received intact.
    pub received: u64,
    /// Their bytes (without CRC).
    pub received_bytes: u64,
    /// Frames received with errors or split over buffers, discarded.
    pub rx_errors: u64,
    /// Interrupts taken (interrupt mode).
    pub interrupts: u64,
    /// Doorbells rung (TDT and RDT writes after bring-up).
    pub doorbells: u64,
}

struct TxQueue {
    ring: DescriptorRing<TxDesc>,
    bufs: BufferPool,
    /// Next descriptor to fill (what TDT is).
    tail: u32,
    /// Oldest descriptor not yet reaped.
    clean: u32,
    /// The length of the frame in each descriptor, for the byte count.
    lengths: Vec<u16>,
}

struct RxQueue {
    ring: DescriptorRing<RxDesc>,
    bufs: BufferPool,
    /// Next descriptor the device will complete.
    next: u32,
    /// Descriptors taken and refilled but not yet given back (RDT not moved
    /// past them): they go back [`RxQueue::return_batch`] at a time.
    unreturned: u32,
}

impl RxQueue {
    /// How many taken descriptors go back to the device per RDT write: a
    /// doorbell is an MMIO write (a VM exit under a hypervisor, and in QEMU
    /// the flush of every frame it queued), so it is saved up for a batch,
    /// while the device keeps most of the ring.
    fn return_batch(&self) -> u32 {
        (BATCH as u32).min(self.ring.count() / 4).max(1)
    }
}

/// An e1000 brought up for moving frames. Dropping it stops and resets the
/// device before the rings are unmapped.
pub struct Nic<'a> {
    dev: E1000,
    mac: MacAddress,
    mode: Mode,
    irqs: Option<Box<dyn Interrupts + 'a>>,
    tx: Option<TxQueue>,
    rx: Option<RxQueue>,
    counters: Counters,
    /// MPC when the rings came up (the SDM clears statistics on read and on
    /// reset; QEMU's model does neither for MPC).
    missed_base: u32,
    /// The process that brought it up: a child made by fork(2) must not stop
    /// its parent's device when it drops its copy.
    pid: u32,
}

/// One transmit buffer, to fill before its descriptor is handed over.
pub struct TxBuffer<'r> {
    bufs: &'r BufferPool,
    index: u32,
}

impl TxBuffer<'_> {
    /// Copy `data` into the buffer at `offset`.
    pub fn write(&self, offset: usize, data: &[u8]) -> Result<()> {
        let offset = u32::try_from(offset).map_err(|_| Error::invalid(offset.to_string(), "past the buffer"))?;
        self.bufs.write_at(self.index, offset, data)
    }
}

/// One received frame, still in its buffer.
pub struct RxFrame<'r> {
    bufs: &'r BufferPool,
    index: u32,
    len: usize,
}

impl RxFrame<'_> {
    /// Its length (without the CRC).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Never true: a frame has at least 60 bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Copy its first `out.len()` bytes (at most [`Self::len`]) out of DMA memory.
    pub fn copy_to(&self, out: &mut [u8]) -> Result<()> {
        let n = out.len().min(self.len);
        self.bufs.read(self.index, &mut out[..n])
    }

    /// The frame, copied.
    pub fn to_vec(&self) -> Result<Vec<u8>> {
        let mut v = vec![0u8; self.len];
        self.copy_to(&mut v)?;
        Ok(v)
    }
}

impl<'a> Nic<'a> {
    /// Bring the device up: allocate and map the rings, then (only then)
    /// reset and program the device. `backend` must be VFIO (DMA).
    pub fn open(backend: &'a dyn Backend, config: NetConfig) -> Result<Self> {
        check_ring(config.ring)?;
        let dev = E1000::open(backend)?;
        // Everything the device will read, before anything is written to it.
        let mut iovas = IovaSpace::new(IOVA_START, DMA_MASK_BITS)?;
        let ring_bytes = DescriptorRing::<TxDesc>::bytes_for(config.ring);
        let pool_bytes = BufferPool::bytes_for(config.ring, BUFFER_SIZE);
        let tx = match config.tx {
            false => None,
            true => {
                let ring = DescriptorRing::allocate(backend, config.ring, iovas.take(ring_bytes)?, DMA_MASK_BITS)?;
                let bufs =
                    BufferPool::allocate(backend, config.ring, BUFFER_SIZE, iovas.take(pool_bytes)?, DMA_MASK_BITS)?;
                Some(TxQueue { ring, bufs, tail: 0, clean: 0, lengths: vec![0; config.ring as usize] })
            }
        };
        let rx = match config.rx {
            false => None,
            true => {
                let ring = DescriptorRing::allocate(backend, config.ring, iovas.take(ring_bytes)?, DMA_MASK_BITS)?;
                let bufs =
                    BufferPool::allocate(backend, config.ring, BUFFER_SIZE, iovas.take(pool_bytes)?, DMA_MASK_BITS)?;
                Some(RxQueue { ring, bufs, next: 0, unreturned: 0 })
            }
        };
        // Armed before the device can raise anything (the 8254x in QEMU has INTx only).
        let irqs = match config.mode {
            Mode::Irq => Some(backend.interrupts(Some(IrqKind::Intx))?),
            Mode::Poll => None,
        };
        let mut nic = Nic {
            dev,
            mac: MacAddress([0; 6]),
            mode: config.mode,
            irqs,
            tx,
            rx,
            counters: Counters::default(),
            missed_base: 0,
            pid: std::process::id(),
        };
        nic.bring_up()?;
        Ok(nic)
    }

    fn io(&self) -> &dyn RegisterIo {
        self.dev.bar.as_ref()
    }

    fn err(&self, kind: ErrorKind) -> Error {
        Error::on(self.dev.device.clone(), kind)
    }

    /// The device.
    pub fn device(&self) -> &DeviceRef {
        &self.dev.device
    }

    /// The MAC address the receive filter accepts (and frames are sent from).
    pub fn mac(&self) -> MacAddress {
        self.mac
    }

    /// Polling or interrupts.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// What was counted so far.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// Interrupts masked, receive and transmit off, a global reset, pending
    /// causes read away and the ring registers cleared: nothing the device
    /// does afterwards reaches memory.
    fn quiesce(&mut self) -> Result<()> {
        IMC.write(self.io(), u32::MAX)?;
        RCTL.write(self.io(), 0)?;
        TCTL.write(self.io(), 0)?;
        // The SDM: RST resets the MAC (every register but the PHY's); it
        // clears itself. Allow it time before the next access (Linux waits
        // 5 ms on these parts). QEMU's model only clears the bit.
        CTRL.modify(self.io(), CTRL::RST::SET)?;
        std::thread::sleep(Duration::from_millis(5));
        IMC.write(self.io(), u32::MAX)?;
        ICR.read(self.dev.bar.as_mut())?;
        for reg in RING_REGISTERS {
            self.io().write(reg, Width::W32, 0)?;
        }
        Ok(())
    }

    fn bring_up(&mut self) -> Result<()> {
        self.quiesce()?;
        // Link: set link up, no resets, automatic speed.
        let up = CTRL::SLU::SET | CTRL::ASDE::SET;
        let no_resets =
            CTRL::LRST::CLEAR | CTRL::PHY_RST::CLEAR | CTRL::ILOS::CLEAR | CTRL::VME::CLEAR | CTRL::RST::CLEAR;
        CTRL.modify(self.io(), up | no_resets)?;
        self.wait_link(LINK_TIMEOUT)?;
        // Receive address filter: our address in RA0, no multicast groups.
        let mac = match self.dev.mac_address()? {
            Some(m) => m,
            None => self.dev.eeprom_mac_address()?,
        };
        self.mac = mac;
        let [a, b, c, d, e, f] = mac.0;
        RAL0.write(self.io(), u32::from_le_bytes([a, b, c, d]))?;
        RAH0.write(self.io(), RAH0::AV::SET | RAH0::RAH.val(u16::from_le_bytes([e, f]).into())?)?;
        for i in 0..MTA_ENTRIES {
            Reg::<u32, RW>::new(MTA0.offset() + 4 * i, "MTA").write(self.io(), 0)?;
        }
        self.missed_base = MPC.read(self.dev.bar.as_mut())?.bits();
        self.setup_tx()?;
        self.setup_rx()?;
        if self.mode == Mode::Irq {
            let mut causes = 0;
            if self.rx.is_some() {
                causes |= IMS::RXT0.mask() | IMS::RXO.mask() | IMS::RXDMT0.mask();
            }
            if self.tx.is_some() {
                causes |= IMS::TXDW.mask();
            }
            IMS.write(self.io(), causes)?;
        }
        Ok(())
    }

    fn wait_link(&self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        while !STATUS::LU.is_set(STATUS.read(self.io())?) {
            if Instant::now() >= deadline {
                let what = "the link to come up (STATUS.LU) after CTRL.SLU".to_string();
                return Err(self.err(ErrorKind::Timeout { what, ms: timeout.as_millis() as u64 }));
            }
            mmiodrv::stop::sleep(Duration::from_millis(10))?;
        }
        Ok(())
    }

    fn setup_tx(&mut self) -> Result<()> {
        let Some(tx) = &self.tx else { return Ok(()) };
        let io = self.dev.bar.as_ref();
        TDBAL.write(io, tx.ring.iova() as u32)?;
        TDBAH.write(io, (tx.ring.iova() >> 32) as u32)?;
        TDLEN.write(io, tx.ring.bytes() as u32)?;
        TDH.write(io, 0)?;
        TDT.write(io, 0)?;
        TIDV.write(io, 0)?;
        TADV.write(io, 0)?;
        // IEEE 802.3 gaps for the copper parts (SDM 13.4.34).
        TIPG.write(io, field_value!(TIPG::IPGT, 10) | field_value!(TIPG::IPGR1, 8) | field_value!(TIPG::IPGR2, 6))?;
        // Pad short frames; the SDM's collision threshold and full-duplex distance.
        let tctl = TCTL::EN::SET | TCTL::PSP::SET | field_value!(TCTL::CT, 0x0f) | field_value!(TCTL::COLD, 0x40);
        TCTL.write(io, tctl)
    }

    fn setup_rx(&mut self) -> Result<()> {
        let Some(rx) = &self.rx else { return Ok(()) };
        let io = self.dev.bar.as_ref();
        RDBAL.write(io, rx.ring.iova() as u32)?;
        RDBAH.write(io, (rx.ring.iova() >> 32) as u32)?;
        RDLEN.write(io, rx.ring.bytes() as u32)?;
        RDH.write(io, 0)?;
        RDT.write(io, 0)?;
        for i in 0..rx.ring.count() {
            rx.ring.write(i, &RxDesc::empty(rx.bufs.iova(i)?))?;
        }
        // An interrupt per frame (no delay timers); QEMU adds its own 128 us floor.
        RDTR.write(io, 0)?;
        RADV.write(io, 0)?;
        ITR.write(io, 0)?;
        // The descriptors must be in memory before the device may read them.
        barrier::before_doorbell();
        RDT.write(io, rx.ring.count() - 1)?;
        // Unicast to RA0 and broadcast; strip the CRC; 2048-byte buffers (BSIZE 00).
        RCTL.write(io, RCTL::EN::SET | RCTL::BAM::SET | RCTL::SECRC::SET)
    }

    /// Frames the device reported missed (MPC) since bring-up.
    pub fn missed(&mut self) -> Result<u64> {
        let now = MPC.read(self.dev.bar.as_mut())?.bits();
        // Clear-on-read hardware started from 0 (reset); QEMU counts on.
        Ok(u64::from(now.checked_sub(self.missed_base).unwrap_or(now)))
    }

    // ---- waiting

    /// Wait for the device (interrupt mode: its interrupt, then ICR is read,
    /// which acknowledges every cause; polling: give the CPU away once).
    /// False when `deadline` passed first. A stop (signal, release) is an error.
    pub fn wait(&mut self, deadline: Instant) -> Result<bool> {
        mmiodrv::stop::check()?;
        let Some(irqs) = self.irqs.as_mut() else {
            std::thread::yield_now();
            return Ok(Instant::now() < deadline);
        };
        let left = deadline.saturating_duration_since(Instant::now());
        match irqs.wait(left) {
            Ok(event) => {
                self.counters.interrupts += event.count.max(1);
                // Reading ICR clears the causes and drops the line; VFIO
                // unmasks INTx at the next wait.
                ICR.read(self.dev.bar.as_mut())?;
                Ok(true)
            }
            Err(e) if matches!(e.kind(), ErrorKind::Timeout { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    // ---- transmit

    fn tx(&self) -> Result<&TxQueue> {
        self.tx.as_ref().ok_or_else(|| Error::invalid("tx", "the transmit ring was not brought up"))
    }

    /// Put `frame` into every transmit buffer: a template that each frame
    /// then changes in place ([`Self::transmit_with`]).
    pub fn fill_tx_buffers(&self, frame: &[u8]) -> Result<()> {
        let tx = self.tx()?;
        for i in 0..tx.bufs.count() {
            tx.bufs.write(i, frame)?;
        }
        Ok(())
    }

    /// Free slots in the transmit ring (one is always kept empty).
    pub fn tx_room(&self) -> u32 {
        self.tx.as_ref().map_or(0, |tx| tx.ring.count() - 1 - tx.ring.distance(tx.clean, tx.tail))
    }

    /// Descriptors handed over and not yet reaped.
    pub fn tx_pending(&self) -> u32 {
        self.tx.as_ref().map_or(0, |tx| tx.ring.distance(tx.clean, tx.tail))
    }

    /// Hand up to `n` frames of `len` bytes to the device, as many as there
    /// is room for: `fill(k, buffer)` writes the k-th into its buffer (which
    /// holds what was last put there). One barrier and one doorbell (TDT) for
    /// the batch. Returns how many were handed over.
    pub fn transmit_with(
        &mut self,
        n: usize,
        len: usize,
        mut fill: impl FnMut(usize, TxBuffer<'_>) -> Result<()>,
    ) -> Result<usize> {
        if !(MIN_FRAME..=MAX_FRAME).contains(&len) {
            return Err(Error::invalid(len.to_string(), format!("a frame is {MIN_FRAME} to {MAX_FRAME} bytes")));
        }
        let room = self.tx_room() as usize;
        let tx = self.tx.as_mut().ok_or_else(|| Error::invalid("tx", "the transmit ring was not brought up"))?;
        let k = n.min(room);
        if k == 0 {
            return Ok(0);
        }
        let mut tail = tx.tail;
        for j in 0..k {
            fill(j, TxBuffer { bufs: &tx.bufs, index: tail })?;
            tx.ring.write(tail, &TxDesc::frame(tx.bufs.iova(tail)?, len as u16))?;
            tx.lengths[tail as usize] = len as u16;
            tail = tx.ring.next(tail);
        }
        tx.tail = tail;
        // Descriptors and frames in memory before the device is told.
        barrier::before_doorbell();
        TDT.write(self.dev.bar.as_ref(), tail)?;
        self.counters.doorbells += 1;
        Ok(k)
    }

    /// Hand `frames` to the device (as many as there is room for).
    pub fn transmit(&mut self, frames: &[&[u8]]) -> Result<usize> {
        let n = frames.len();
        let mut k = 0;
        while k < n {
            let len = frames[k].len();
            let run = frames[k..].iter().take_while(|f| f.len() == len).count();
            let done = self.transmit_with(run, len, |j, buf| buf.write(0, frames[k + j]))?;
            k += done;
            if done < run {
                break;
            }
        }
        Ok(k)
    }

    /// Free the buffers of the frames the device has sent (DD set, oldest
    /// first, stopping at the first not done). Returns how many.
    pub fn reap(&mut self) -> Result<u32> {
        let Some(tx) = self.tx.as_mut() else { return Ok(0) };
        let mut freed = 0;
        while tx.clean != tx.tail {
            if TxDesc::load_status(tx.ring.slot(tx.clean))? & tx_status::DD == 0 {
                break;
            }
            self.counters.sent += 1;
            self.counters.sent_bytes += u64::from(tx.lengths[tx.clean as usize]);
            tx.clean = tx.ring.next(tx.clean);
            freed += 1;
        }
        Ok(freed)
    }

    // ---- receive

    /// Take up to `max` frames the device completed, oldest first: `each`
    /// sees every intact one in its buffer. The descriptors are refilled at
    /// once, and given back with one doorbell (RDT) once a batch of them is
    /// (a quarter of the ring at most). Returns how many descriptors were
    /// taken (intact or not).
    pub fn receive_with(&mut self, max: usize, mut each: impl FnMut(RxFrame<'_>) -> Result<()>) -> Result<usize> {
        let Some(rx) = self.rx.as_mut() else {
            return Err(Error::invalid("rx", "the receive ring was not brought up"));
        };
        // Statuses first: one load of each written-back word.
        let mut done = [RxDesc::default(); BATCH];
        let mut k = 0;
        let mut at = rx.next;
        while k < max.min(BATCH) {
            let wb = RxDesc::load_writeback(rx.ring.slot(at))?;
            if !wb.done() {
                break;
            }
            done[k] = wb;
            k += 1;
            at = rx.ring.next(at);
        }
        if k == 0 {
            return Ok(0);
        }
        // The device wrote the frames before their DD: read them only after
        // the DD reads above.
        barrier::after_completion();
        let mut last = rx.next;
        for wb in &done[..k] {
            let index = rx.next;
            let intact = wb.status & rx_status::EOP != 0 && wb.errors & (rx_errors::CE | rx_errors::RXE) == 0;
            let len = usize::from(wb.length);
            if intact && len <= BUFFER_SIZE as usize {
                self.counters.received += 1;
                self.counters.received_bytes += len as u64;
                each(RxFrame { bufs: &rx.bufs, index, len })?;
            } else {
                self.counters.rx_errors += 1;
            }
            // Back to the device with the same buffer, DD cleared.
            rx.ring.write(index, &RxDesc::empty(rx.bufs.iova(index)?))?;
            last = index;
            rx.next = rx.ring.next(index);
        }
        rx.unreturned += k as u32;
        if rx.unreturned >= rx.return_batch() {
            // The refilled descriptors must be in memory before RDT moves past them.
            barrier::before_doorbell();
            RDT.write(self.dev.bar.as_ref(), last)?;
            rx.unreturned = 0;
            self.counters.doorbells += 1;
        }
        Ok(k)
    }
}

impl Drop for Nic<'_> {
    /// Stop the device before the rings it may still use are unmapped.
    fn drop(&mut self) {
        if std::process::id() != self.pid {
            return;
        }
        if let Err(e) = self.quiesce() {
            log::warn!("{}: stopping the device: {e}", self.dev.device);
        }
    }
}
