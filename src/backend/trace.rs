//! Recording access traces: every register access a command makes, as JSON
//! lines (reading and naming them is `observe::trace`).
//!
//! A traced [`crate::device::Device`] ([`crate::device::Device::with_trace`])
//! reaches its device through a [`TracingBackend`]: each BAR it opens is a
//! [`TracedIo`] that makes exactly the access asked (same offset, width,
//! value, order) and then appends one line to the trace. What is recorded:
//!
//! - every register read and write through [`RegisterIo`] (the typed
//!   registers of drivers, windows, raw offsets), with its value, or the
//!   error when it failed;
//! - the register map a window applied to a BAR (`regmap`), so names can be
//!   given later;
//! - interrupts waited for and received (`irq`);
//! - a BAR handed out as a memory mapping for bulk copies (`bulk`): the
//!   copies through it (ivshmem's shared memory) are **not** traced, one
//!   entry says that they may have happened.
//!
//! Config-space reads are not traced. The first line is a [`Header`]: the
//! device, its IDs, the backend, the time and the command.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

use crate::backend::{Backend, BackendKind, BarInfo, BarOptions, DmaBuffer, Interrupts, IrqEvent, IrqKind};
use crate::error::{DeviceRef, Error, Result};
use crate::mmio::{MmioRegion, RegisterIo, Width};
use crate::pci::{ConfigSpace, PciAddress};

/// A PCI device's identity, as config space gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DeviceIds {
    /// Vendor ID.
    pub vendor: u16,
    /// Device ID.
    pub device: u16,
    /// Revision.
    pub revision: Option<u8>,
    /// Subsystem vendor and ID.
    pub subsystem: Option<(u16, u16)>,
}

impl DeviceIds {
    /// The IDs of the device behind `backend` (None without config space: a
    /// host file).
    pub fn of(backend: &dyn Backend) -> Option<DeviceIds> {
        let config = backend.read_config().ok()?;
        Some(DeviceIds {
            vendor: config.vendor_id()?,
            device: config.device_id()?,
            revision: config.revision(),
            subsystem: config.subsystem(),
        })
    }

    /// Whether `other` is the same kind of device (vendor and device ID).
    pub fn same_device(&self, other: &DeviceIds) -> bool {
        (self.vendor, self.device) == (other.vendor, other.device)
    }
}

impl std::fmt::Display for DeviceIds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04x}:{:04x}", self.vendor, self.device)?;
        if let Some(r) = self.revision {
            write!(f, " rev {r:02x}")?;
        }
        Ok(())
    }
}

/// The trace format's version (the header's `trace`).
pub const FORMAT: u32 = 1;

/// The first line of a trace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// Format version ([`FORMAT`]).
    pub trace: u32,
    /// The device it was recorded on.
    pub device: String,
    /// Its IDs (none for a host file).
    pub ids: Option<DeviceIds>,
    /// The backend that reached it.
    pub backend: String,
    /// When recording started (RFC 3339).
    pub time: String,
    /// The command that was run.
    #[serde(default)]
    pub command: Vec<String>,
}

/// What one trace line records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Event {
    /// A register read.
    Read {
        /// BAR index.
        bar: u8,
        /// Offset in the BAR.
        offset: u64,
        /// Access width.
        width: Width,
        /// The value read (absent when the read failed).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<u64>,
        /// Why it failed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A register write.
    Write {
        /// BAR index.
        bar: u8,
        /// Offset in the BAR.
        offset: u64,
        /// Access width.
        width: Width,
        /// The value written.
        value: u64,
        /// Why it failed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// The register map a window applied to a BAR.
    Regmap {
        /// BAR index.
        bar: u8,
        /// The map's name.
        name: String,
        /// Its file, for a map that is not built in.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file: Option<PathBuf>,
    },
    /// A BAR handed out as a memory mapping: bulk copies through it are not traced.
    Bulk {
        /// BAR index.
        bar: u8,
        /// Its length.
        len: u64,
    },
    /// An interrupt received.
    Irq {
        /// The mechanism.
        kind: IrqKind,
        /// The vector.
        vector: u32,
        /// Times it fired.
        count: u64,
    },
}

/// One line after the header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Microseconds since recording started.
    pub us: u64,
    /// What happened.
    #[serde(flatten)]
    pub event: Event,
}

impl Entry {
    /// Time since recording started.
    pub fn time(&self) -> Duration {
        Duration::from_micros(self.us)
    }
}

/// Where a traced device's accesses are written, one line each as they happen.
pub struct Recorder {
    path: PathBuf,
    file: Mutex<File>,
    start: Instant,
    failed: Mutex<Option<std::io::Error>>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder").field("path", &self.path).finish()
    }
}

impl Recorder {
    /// Create (or empty) `path` ([`crate::value::create_stream_file`]) and write the header for the device
    /// behind `backend`; `command` is what is being run.
    pub fn create(path: &Path, backend: &dyn Backend, command: Vec<String>) -> Result<Arc<Recorder>> {
        let header = Header {
            trace: FORMAT,
            device: backend.device().to_string(),
            ids: DeviceIds::of(backend),
            backend: backend.kind().to_string(),
            time: crate::value::rfc3339(SystemTime::now()),
            command,
        };
        // In place (it is read while it is written), never through another
        // user's link nor into another file's second name.
        let mut file = crate::value::create_stream_file(path)?;
        let line = json_line(&header);
        file.write_all(&line).map_err(|e| Error::io("cannot write", path, e))?;
        Ok(Arc::new(Recorder {
            path: path.to_path_buf(),
            file: Mutex::new(file),
            start: Instant::now(),
            failed: Mutex::new(None),
        }))
    }

    /// The trace file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append one event (one `write` of one line). A failure is kept for
    /// [`Recorder::finish`]: the access itself has happened either way.
    pub fn record(&self, event: Event) {
        let entry = Entry { us: self.start.elapsed().as_micros() as u64, event };
        let line = json_line(&entry);
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = file.write_all(&line) {
            let mut failed = self.failed.lock().unwrap_or_else(|p| p.into_inner());
            failed.get_or_insert(e);
        }
    }

    /// The first failure to write the trace, if any: the trace is then incomplete.
    pub fn finish(&self) -> Result<()> {
        match self.failed.lock().unwrap_or_else(|p| p.into_inner()).take() {
            Some(e) => Err(Error::io("cannot write", &self.path, e)),
            None => Ok(()),
        }
    }
}

fn json_line<T: Serialize>(value: &T) -> Vec<u8> {
    // Our own plain structs always serialize.
    let mut line = serde_json::to_vec(value).unwrap_or_default();
    line.push(b'\n');
    line
}

/// A backend whose BARs record every access (see the module docs).
pub struct TracingBackend {
    inner: Box<dyn Backend>,
    recorder: Arc<Recorder>,
}

impl TracingBackend {
    /// `inner`, traced to `recorder`.
    pub fn new(inner: Box<dyn Backend>, recorder: Arc<Recorder>) -> Self {
        TracingBackend { inner, recorder }
    }
}

impl Backend for TracingBackend {
    fn kind(&self) -> BackendKind {
        self.inner.kind()
    }

    fn device(&self) -> DeviceRef {
        self.inner.device()
    }

    fn address(&self) -> Option<PciAddress> {
        self.inner.address()
    }

    fn read_config(&self) -> Result<ConfigSpace> {
        self.inner.read_config()
    }

    fn bars(&self) -> Result<Vec<BarInfo>> {
        self.inner.bars()
    }

    fn read_config_at(&self, offset: u16, width: crate::mmio::Width) -> Result<u64> {
        self.inner.read_config_at(offset, width)
    }

    fn write_config_at(&self, offset: u16, width: crate::mmio::Width, value: u64) -> Result<()> {
        self.inner.write_config_at(offset, width, value)
    }

    fn open_bar(&self, bar: u8, options: BarOptions) -> Result<Box<dyn RegisterIo>> {
        let inner = self.inner.open_bar(bar, options)?;
        Ok(Box::new(TracedIo { inner, bar, recorder: Arc::clone(&self.recorder), mapped: AtomicBool::new(false) }))
    }

    fn interrupts(&self, kind: Option<IrqKind>) -> Result<Box<dyn Interrupts + '_>> {
        let inner = self.inner.interrupts(kind)?;
        Ok(Box::new(TracedIrqs { inner, recorder: &self.recorder }))
    }

    fn dma_buffer(&self, len: usize, iova: u64, mask_bits: u32) -> Result<DmaBuffer> {
        self.inner.dma_buffer(len, iova, mask_bits)
    }

    fn cannot(&self, what: &'static str) -> Error {
        self.inner.cannot(what)
    }
}

/// A BAR whose accesses are recorded after they are made.
pub struct TracedIo {
    inner: Box<dyn RegisterIo>,
    bar: u8,
    recorder: Arc<Recorder>,
    mapped: AtomicBool,
}

impl RegisterIo for TracedIo {
    fn len(&self) -> u64 {
        self.inner.len()
    }

    fn read(&self, offset: u64, width: Width) -> Result<u64> {
        let r = self.inner.read(offset, width);
        let (value, error) = match &r {
            Ok(v) => (Some(*v), None),
            Err(e) => (None, Some(e.to_string())),
        };
        self.recorder.record(Event::Read { bar: self.bar, offset, width, value, error });
        r
    }

    fn write(&self, offset: u64, width: Width, value: u64) -> Result<()> {
        let r = self.inner.write(offset, width, value);
        let error = r.as_ref().err().map(ToString::to_string);
        self.recorder.record(Event::Write { bar: self.bar, offset, width, value, error });
        r
    }

    fn faulted(&self) -> bool {
        self.inner.faulted()
    }

    fn as_mmio(&self) -> Option<&MmioRegion> {
        let region = self.inner.as_mmio();
        if region.is_some() && !self.mapped.swap(true, Ordering::Relaxed) {
            self.recorder.record(Event::Bulk { bar: self.bar, len: self.inner.len() });
        }
        region
    }
}

struct TracedIrqs<'a> {
    inner: Box<dyn Interrupts + 'a>,
    recorder: &'a Recorder,
}

impl Interrupts for TracedIrqs<'_> {
    fn kind(&self) -> IrqKind {
        self.inner.kind()
    }

    fn vectors(&self) -> u32 {
        self.inner.vectors()
    }

    fn wait(&mut self, timeout: Duration) -> Result<IrqEvent> {
        let event = self.inner.wait(timeout)?;
        self.recorder.record(Event::Irq { kind: event.kind, vector: event.vector, count: event.count });
        Ok(event)
    }
}
