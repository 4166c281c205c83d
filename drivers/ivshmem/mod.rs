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
//!   ([`crate::mmio::MmioRegion::copy_from_slice`] and friends).

pub mod bench;
pub mod client;
pub mod protocol;
pub mod server;

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::backend::{Backend, BackendKind, BarOptions, Interrupts, IrqEvent, IrqKind};
use crate::error::{Error, Result};
use crate::mmio::{barrier, Mapping, MmioRegion, RegisterIo, Width};
use crate::pci::capabilities;

/// PCI IDs of ivshmem (plain and doorbell variants share them).
pub const VENDOR_ID: u16 = 0x1af4;
pub const DEVICE_ID: u16 = 0x1110;

/// BAR0 register map.
pub const REGMAP_TOML: &str = include_str!("regmap.toml");

/// BAR0 register offsets.
pub const INTR_MASK: u64 = 0x00;
pub const INTR_STATUS: u64 = 0x04;
pub const IV_POSITION: u64 = 0x08;
pub const DOORBELL: u64 = 0x0c;

/// BAR indexes.
pub const REGISTER_BAR: u8 = 0;
pub const SHARED_MEMORY_BAR: u8 = 2;

const MSIX_CAP_ID: u16 = 0x11;

/// Which ivshmem.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
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
#[derive(Clone, Debug, Serialize)]
pub struct IvshmemInfo {
    pub device: String,
    pub variant: Variant,
    pub backend: BackendKind,
    /// Shared-memory size (BAR2) in bytes.
    pub size: u64,
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
}

impl SharedMemory {
    pub fn new(region: MmioRegion) -> Self {
        SharedMemory { region }
    }

    pub fn len(&self) -> u64 {
        self.region.len()
    }

    pub fn is_empty(&self) -> bool {
        self.region.is_empty()
    }

    /// `offset + len` must lie inside the memory.
    pub fn check(&self, offset: u64, len: u64) -> Result<()> {
        if offset.checked_add(len).is_none_or(|end| end > self.len()) {
            return Err(Error::OutOfRange { offset, width: len, len: self.len() });
        }
        Ok(())
    }

    /// Copy out `out.len()` bytes from `offset`.
    pub fn read(&self, offset: u64, out: &mut [u8]) -> Result<()> {
        self.check(offset, out.len() as u64)?;
        // Whatever the other side wrote before signalling must be seen in full.
        barrier::after_completion();
        self.region.copy_to_slice(offset, out)
    }

    /// Copy `data` in at `offset`.
    pub fn write(&self, offset: u64, data: &[u8]) -> Result<()> {
        self.check(offset, data.len() as u64)?;
        self.region.copy_from_slice(offset, data)?;
        barrier::before_doorbell();
        Ok(())
    }

    /// Set `len` bytes from `offset` to `byte`.
    pub fn fill(&self, offset: u64, len: u64, byte: u8) -> Result<()> {
        self.check(offset, len)?;
        self.region.fill(offset, len, byte)?;
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
    pub fn open(path: &Path, writable: bool) -> Result<HostMemory> {
        let name = format!("file:{}", path.display());
        let file = OpenOptions::new()
            .read(true)
            .write(writable)
            .open(path)
            .map_err(|e| Error::io(&name, "cannot open", path, e))?;
        let meta = file.metadata().map_err(|e| Error::io(&name, "cannot stat", path, e))?;
        if !meta.is_file() {
            return Err(Error::Unsupported {
                device: name,
                message: "not a regular file; --device file:PATH takes the memory-backend file (e.g. under /dev/shm)"
                    .into(),
            });
        }
        if meta.len() == 0 {
            return Err(Error::Unsupported {
                device: name,
                message: "the file is empty: it is not (yet) an ivshmem memory-backend file".into(),
            });
        }
        Self::map(&file, meta.len(), path, writable)
    }

    /// Map an already open shared-memory file (e.g. the fd a server handed out).
    pub fn map(file: &File, len: u64, path: &Path, writable: bool) -> Result<HostMemory> {
        let name = format!("file:{}", path.display());
        let size = usize::try_from(len)
            .map_err(|_| Error::Unsupported { device: name.clone(), message: "too large to map".into() })?;
        let mapping =
            Mapping::map_file(file, size, 0, writable).map_err(|e| Error::io(&name, "cannot map", path, e.into()))?;
        Ok(HostMemory { path: path.to_path_buf(), memory: SharedMemory::new(MmioRegion::new(mapping)) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

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
    name: String,
    variant: Variant,
    vectors: u32,
}

impl<'a> Ivshmem<'a> {
    /// Check the IDs, map BAR0 and BAR2, and find the variant.
    pub fn open(backend: &'a dyn Backend) -> Result<Self> {
        let name = backend.address().to_string();
        let config = super::expect_device(backend, "ivshmem", VENDOR_ID, DEVICE_ID)?;
        let msix = capabilities::standard(&config).into_iter().find(|c| c.id == MSIX_CAP_ID);
        let (variant, vectors) = match msix {
            Some(cap) => {
                let control = config.u16(usize::from(cap.offset) + 2).unwrap_or(0);
                (Variant::Doorbell, u32::from(control & 0x7ff) + 1)
            }
            None => (Variant::Plain, 0),
        };
        let rw = BarOptions { writable: true, write_combining: false };
        let regs = backend.open_bar(REGISTER_BAR, rw)?;
        let bar2 = backend.open_bar(SHARED_MEMORY_BAR, rw)?;
        let region = bar2.as_mmio().cloned().ok_or_else(|| Error::Unsupported {
            device: name.clone(),
            message: "BAR2 (shared memory) could not be memory-mapped".into(),
        })?;
        Ok(Ivshmem { backend, regs, memory: SharedMemory::new(region), _bar2: bar2, name, variant, vectors })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn variant(&self) -> Variant {
        self.variant
    }

    pub fn memory(&self) -> &SharedMemory {
        &self.memory
    }

    /// IVPosition: this peer's ID.
    pub fn peer_id(&self) -> Result<u32> {
        Ok(self.regs.read(IV_POSITION, Width::W32)? as u32)
    }

    /// INTR_MASK (INTx only; MSI-X ignores it).
    pub fn intr_mask(&self) -> Result<u32> {
        Ok(self.regs.read(INTR_MASK, Width::W32)? as u32)
    }

    pub fn set_intr_mask(&self, mask: u32) -> Result<()> {
        self.regs.write(INTR_MASK, Width::W32, u64::from(mask))
    }

    /// INTR_STATUS. Reading it clears it: call only when that is the point.
    pub fn read_and_clear_status(&self) -> Result<u32> {
        Ok(self.regs.read(INTR_STATUS, Width::W32)? as u32)
    }

    pub fn info(&self) -> Result<IvshmemInfo> {
        Ok(IvshmemInfo {
            device: self.name.clone(),
            variant: self.variant,
            backend: self.backend.kind(),
            size: self.memory.len(),
            peer_id: self.peer_id()?,
            vectors: self.vectors,
        })
    }

    fn need_doorbell(&self, what: &str) -> Result<()> {
        if self.variant == Variant::Plain {
            return Err(Error::Unsupported {
                device: self.name.clone(),
                message: format!(
                    "ivshmem-plain has no {what}: only ivshmem-doorbell (connected to an ivshmem server) has interrupts"
                ),
            });
        }
        Ok(())
    }

    /// Ring `vector` of `peer`: one 32-bit write of `peer << 16 | vector` to
    /// DOORBELL. The device cannot tell whether the peer exists (QEMU drops a
    /// doorbell to an unknown peer or vector silently); the host client can.
    pub fn ring(&self, peer: u16, vector: u16) -> Result<()> {
        self.need_doorbell("doorbell")?;
        // Shared-memory writes must land before the other side is woken.
        barrier::before_doorbell();
        self.regs.write(DOORBELL, Width::W32, (u64::from(peer) << 16) | u64::from(vector))
    }

    /// Arm the MSI-X vectors (VFIO only). Arm before the other side may ring.
    pub fn arm(&self) -> Result<Box<dyn Interrupts + 'a>> {
        self.need_doorbell("interrupts")?;
        self.backend.interrupts(Some(IrqKind::Msix))
    }

    /// Wait on armed vectors for `vector` (any when None).
    pub fn wait(&self, irqs: &mut dyn Interrupts, vector: Option<u16>, timeout: Duration) -> Result<IrqEvent> {
        if let Some(v) = vector {
            if u32::from(v) >= irqs.vectors() {
                return Err(Error::InvalidValue {
                    input: v.to_string(),
                    reason: format!(
                        "the device has {} MSI-X vector(s) (0..{})",
                        irqs.vectors(),
                        irqs.vectors().saturating_sub(1)
                    ),
                });
            }
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let event = irqs.wait(left).map_err(|e| match e {
                Error::Timeout { device, .. } => Error::Timeout {
                    device,
                    what: match vector {
                        Some(v) => format!("a doorbell on MSI-X vector {v}"),
                        None => "a doorbell on any MSI-X vector".into(),
                    },
                    ms: timeout.as_millis() as u64,
                },
                e => e,
            })?;
            if vector.is_none_or(|v| u32::from(v) == event.vector) {
                barrier::after_completion();
                return Ok(event);
            }
            log::info!("{}: vector {} fired; waiting for {vector:?}", self.name, event.vector);
        }
    }
}
