//! QEMU's `ivshmem` device (docs/specs/ivshmem-spec.rst; PCI 1af4:1110):
//! register map, a typed driver, the shared memory as a bulk-copy window, the
//! host side of the same memory (the memory-backend file), and an ivshmem server
//! and client for the doorbell variant.
//!
//! - BAR0: 256 bytes of 32-bit registers, reached through [`RegisterIo`] one
//!   access at a time. INTR_STATUS is cleared by reading it, so it is read only
//!   by [`Ivshmem::read_and_clear_status`].
//! - BAR1: the MSI-X table (ivshmem-doorbell only).
//! - BAR2: the shared memory, copied with the widest aligned volatile accesses
//!   ([`mmiodrv::mmio::MmioRegion::copy_from_slice`] and friends).
#![deny(unsafe_code)]

pub mod bench;
pub mod client;
mod commands;
pub mod protocol;
pub mod server;

use mmiodrv::error::BackendError;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use mmiodrv::backend::{Backend, BackendKind, BarOptions, Interrupts, IrqEvent, IrqKind};
use mmiodrv::drivers::DriverInfo;
use mmiodrv::error::{DeviceRef, Error, ErrorKind, Result};
use mmiodrv::mmio::{barrier, MmioRegion, RegisterIo};
use mmiodrv::pci::capabilities;

use self::regs::*;

/// PCI vendor ID of ivshmem (plain and doorbell variants share the IDs).
pub const VENDOR_ID: u16 = 0x1af4;
/// PCI device ID of ivshmem.
pub const DEVICE_ID: u16 = 0x1110;

mmiodrv::register_map! {
    /// ivshmem's BAR0, as ivshmem-spec.rst has it.
    pub mod regs {
        map MAP {
            name: "ivshmem",
            description: "QEMU ivshmem (PCI 1af4:1110): BAR0 registers, BAR1 MSI-X, BAR2 shared memory",
            bar: 0,
            size: Some(0x100),
            // The spec: software should only access the registers as 32-bit words.
            access: [(0x00, 0x100, [W32])],
        }
        /// Interrupt mask (INTx only; bit 0)
        INTR_MASK @ 0x00: u32, RW, reset 0 {
            /// Doorbell interrupt enabled
            DOORBELL [0],
        }
        /// Interrupt status (INTx only); cleared by reading it
        INTR_STATUS @ 0x04: u32, RW + ReadClears, reset 0 {
            /// A doorbell arrived
            DOORBELL [0],
        }
        /// This peer's ID (0 on ivshmem-plain, which has no server)
        IV_POSITION @ 0x08: u32, RO {}
        /// Write PEER << 16 | VECTOR to interrupt that peer's vector
        DOORBELL @ 0x0c: u32, WO {
            /// The peer to interrupt
            PEER [31:16],
            /// Its vector
            VECTOR [15:0],
        }
    }
}

/// BAR indexes.
pub const REGISTER_BAR: u8 = 0;
/// The shared-memory BAR.
pub const SHARED_MEMORY_BAR: u8 = 2;

/// The driver's description, commands and map, for the driver list.
pub static DRIVER: DriverInfo =
    DriverInfo::new("ivshmem", "ivshmem shared memory: info, read, write, fill, dump, bench, doorbells, a host client")
        .ids(&[(VENDOR_ID, DEVICE_ID)])
        .maps(&[&regs::MAP])
        .subcommands(commands::COMMANDS)
        .top_level(commands::TOP_LEVEL)
        .class(0x050000)
        .results(commands::results);

/// The DOORBELL value that rings `vector` of `peer`.
pub fn doorbell_value(peer: u16, vector: u16) -> Result<u32> {
    Ok((DOORBELL::PEER.val(peer.into())? | DOORBELL::VECTOR.val(vector.into())?).value())
}

/// Which ivshmem.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub enum Variant {
    /// `ivshmem-plain`: shared memory only, no server, no interrupts.
    #[serde(rename = "ivshmem-plain")]
    Plain,
    /// `ivshmem-doorbell`: memory from a server, MSI-X vectors and a doorbell.
    #[serde(rename = "ivshmem-doorbell")]
    Doorbell,
}

impl std::fmt::Display for Variant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Variant::Plain => "ivshmem-plain",
            Variant::Doorbell => "ivshmem-doorbell",
        })
    }
}

/// What `ivshmem info` reports.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct IvshmemInfo {
    /// The device.
    pub device: DeviceRef,
    /// Which variant.
    pub variant: Variant,
    /// The backend in use.
    pub backend: BackendKind,
    /// Shared-memory size (BAR2) in bytes.
    pub len: u64,
    /// IVPosition: this peer's ID on the server (0 on ivshmem-plain).
    pub peer_id: u32,
    /// MSI-X vectors (0 on ivshmem-plain).
    pub vectors: u32,
}

/// The shared memory: BAR2 of a device, or the host's mapping of the backing
/// file. Every copy is checked against the size before the first byte moves.
#[derive(Clone, Debug)]
pub struct SharedMemory {
    region: MmioRegion,
    /// Its device, checked after every copy (a bus error, or a PCI device
    /// removed from sysfs while its mapping still reads: every 100 ms).
    live: std::sync::Arc<mmiodrv::mmio::fault::Liveness>,
}

impl SharedMemory {
    /// Shared memory in `region` (RAM, for tests and benchmarks).
    pub fn new(region: MmioRegion) -> Self {
        SharedMemory::of(region, DeviceRef::Ram)
    }

    /// Shared memory in `region`, `device`'s.
    pub fn of(region: MmioRegion, device: DeviceRef) -> Self {
        SharedMemory { region, live: std::sync::Arc::new(mmiodrv::mmio::fault::Liveness::new(device)) }
    }

    /// The one fault check after a copy, the error tagged with the device.
    fn checked(&self, r: Result<()>) -> Result<()> {
        let faulted = r.as_ref().err().is_some_and(|e| matches!(e.kind(), ErrorKind::Gone { .. }));
        match r {
            Err(e) if !faulted => Err(e),
            _ => self.live.check(faulted, None),
        }
    }

    /// Size in bytes.
    pub fn len(&self) -> u64 {
        self.region.len()
    }

    /// Never true for a mapping.
    pub fn is_empty(&self) -> bool {
        self.region.is_empty()
    }

    /// `offset + len` must lie inside the memory (checked by every copy too;
    /// for callers that must know before they start, e.g. before reading a file).
    pub fn check(&self, offset: u64, len: u64) -> Result<()> {
        self.region.check_span(offset, len)
    }

    /// Copy out `out.len()` bytes from `offset` (checked before the first byte moves).
    pub fn read(&self, offset: u64, out: &mut [u8]) -> Result<()> {
        // Whatever the other side wrote before signalling must be seen in full.
        barrier::after_completion();
        self.checked(self.region.copy_to_slice(offset, out))
    }

    /// Copy `data` in at `offset` (checked before the first byte moves).
    pub fn write(&self, offset: u64, data: &[u8]) -> Result<()> {
        self.checked(self.region.copy_from_slice(offset, data))?;
        barrier::before_doorbell();
        Ok(())
    }

    /// Set `len` bytes from `offset` to `byte` (checked before the first byte moves).
    pub fn fill(&self, offset: u64, len: u64, byte: u8) -> Result<()> {
        self.checked(self.region.fill(offset, len, byte))?;
        barrier::before_doorbell();
        Ok(())
    }

    /// The region behind it (for benchmarks and tests).
    pub fn region(&self) -> &MmioRegion {
        &self.region
    }
}

/// The host side: the memory-backend file QEMU maps as BAR2 (or the server's
/// shared-memory file), mapped shared so both sides see the same bytes.
pub struct HostMemory {
    path: PathBuf,
    memory: SharedMemory,
}

impl HostMemory {
    /// Open the memory-backend file at `path` (a regular, non-empty file;
    /// opening never blocks on a FIFO).
    pub fn open(path: &Path, writable: bool) -> Result<HostMemory> {
        let what = "an ivshmem memory-backend file (e.g. under /dev/shm)";
        let (file, len) = mmiodrv::backend::host_file::open_regular(path, writable, what)?;
        Self::map(&file, len, path, writable)
    }

    /// Map an already open shared-memory file (e.g. the fd a server handed out).
    pub fn map(file: &File, len: u64, path: &Path, writable: bool) -> Result<HostMemory> {
        let region = mmiodrv::backend::host_file::map(file, len, path, writable)?;
        Ok(HostMemory {
            path: path.to_path_buf(),
            memory: SharedMemory::of(region, DeviceRef::File(path.to_path_buf())),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Its memory.
    pub fn memory(&self) -> &SharedMemory {
        &self.memory
    }
}

/// An ivshmem device opened through a backend.
pub struct Ivshmem<'a> {
    backend: &'a dyn Backend,
    regs: Box<dyn RegisterIo>,
    memory: SharedMemory,
    // Keeps BAR2 open (VFIO regions hold the device) while `memory` maps it.
    _bar2: Box<dyn RegisterIo>,
    name: DeviceRef,
    variant: Variant,
    vectors: u32,
}

impl<'a> Ivshmem<'a> {
    /// Check the IDs, map BAR0 and BAR2, and find the variant.
    pub fn open(backend: &'a dyn Backend) -> Result<Self> {
        let name = backend.device();
        let config = DRIVER.expect(backend)?;
        let (variant, vectors) = match capabilities::msix_vectors(&config) {
            Some(vectors) => (Variant::Doorbell, vectors),
            None => (Variant::Plain, 0),
        };
        let regs = backend.open_bar(REGISTER_BAR, BarOptions::RW)?;
        let bar2 = backend.open_bar(SHARED_MEMORY_BAR, BarOptions::RW)?;
        let region = bar2.as_mmio().cloned().ok_or_else(|| {
            let why = "the backend offers no mapping of it";
            Error::on(name.clone(), BackendError::NotMapped { bar: SHARED_MEMORY_BAR, why })
        })?;
        let memory = SharedMemory::of(region, name.clone());
        Ok(Ivshmem { backend, regs, memory, _bar2: bar2, name, variant, vectors })
    }

    /// The device.
    pub fn name(&self) -> &DeviceRef {
        &self.name
    }

    /// Which variant.
    pub fn variant(&self) -> Variant {
        self.variant
    }

    /// The shared memory (BAR2).
    pub fn memory(&self) -> &SharedMemory {
        &self.memory
    }

    /// IVPosition: this peer's ID.
    pub fn peer_id(&self) -> Result<u32> {
        IV_POSITION.read(self.regs.as_ref()).map(u32::from)
    }

    /// INTR_MASK (INTx only; MSI-X ignores it).
    pub fn intr_mask(&self) -> Result<u32> {
        INTR_MASK.read(self.regs.as_ref()).map(u32::from)
    }

    /// Set INTR_MASK.
    pub fn set_intr_mask(&self, mask: u32) -> Result<()> {
        INTR_MASK.write(self.regs.as_ref(), mask)
    }

    /// INTR_STATUS. Reading it clears it, so this takes `&mut self`.
    pub fn read_and_clear_status(&mut self) -> Result<u32> {
        INTR_STATUS.read(self.regs.as_mut()).map(u32::from)
    }

    /// Variant, size, peer ID and vectors.
    pub fn info(&self) -> Result<IvshmemInfo> {
        Ok(IvshmemInfo {
            device: self.name.clone(),
            variant: self.variant,
            backend: self.backend.kind(),
            len: self.memory.len(),
            peer_id: self.peer_id()?,
            vectors: self.vectors,
        })
    }

    fn need_doorbell(&self, what: &'static str) -> Result<()> {
        if self.variant == Variant::Plain {
            let why = "only ivshmem-doorbell (connected to an ivshmem server) has interrupts".into();
            return Err(Error::on(self.name.clone(), ErrorKind::NotSupported { what, why }));
        }
        Ok(())
    }

    /// Ring `vector` of `peer`: one 32-bit write of `peer << 16 | vector` to
    /// DOORBELL. The device cannot tell whether the peer exists (QEMU drops a
    /// doorbell to an unknown peer or vector silently); the host client can.
    pub fn ring(&self, peer: u16, vector: u16) -> Result<()> {
        self.need_doorbell("a doorbell on ivshmem-plain")?;
        // Shared-memory writes must land before the other side is woken.
        barrier::before_doorbell();
        DOORBELL.write(self.regs.as_ref(), doorbell_value(peer, vector)?)
    }

    /// Arm the MSI-X vectors (VFIO only). Arm before the other side may ring.
    pub fn arm(&self) -> Result<Box<dyn Interrupts + 'a>> {
        self.need_doorbell("waiting for a doorbell on ivshmem-plain")?;
        self.backend.interrupts(Some(IrqKind::Msix))
    }

    /// Wait on armed vectors for `vector` (any when None); what the other
    /// side wrote before ringing is visible when this returns.
    pub fn wait(&self, irqs: &mut dyn Interrupts, vector: Option<u16>, timeout: Duration) -> Result<IrqEvent> {
        let event = irqs.wait_for(vector.map(u32::from), timeout)?;
        barrier::after_completion();
        Ok(event)
    }
}
