//! Access traces: every register access a command makes, as JSON lines.
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

use std::borrow::Cow;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

use crate::backend::{Backend, BackendKind, BarInfo, BarOptions, DmaBuffer, Interrupts, IrqEvent, IrqKind};
use crate::error::{DeviceRef, Error, ErrorKind, Result};
use crate::mmio::{MmioRegion, RegisterIo, Width};
use crate::observe::DeviceIds;
use crate::pci::{ConfigSpace, PciAddress};
use crate::regmap::{Register, RegisterMap};
use crate::window::{decode_fields, FieldValue};

/// The trace format's version (the header's `trace`).
pub const FORMAT: u32 = 1;

/// Largest trace file read (about two million accesses).
pub const MAX_TRACE_FILE: u64 = 128 << 20;

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
            time: super::rfc3339(SystemTime::now()),
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

/// A trace read back.
#[derive(Clone, Debug)]
pub struct Trace {
    /// The file.
    pub path: PathBuf,
    /// Its header.
    pub header: Header,
    /// Every line after it.
    pub entries: Vec<Entry>,
}

impl Trace {
    /// Read and check a trace file: a regular file (a FIFO or a device is
    /// refused, never waited on) of at most [`MAX_TRACE_FILE`] bytes.
    pub fn load(path: &Path) -> Result<Trace> {
        let bytes = crate::value::read_regular_file(path, "a trace", MAX_TRACE_FILE)?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let line = e.as_bytes()[..e.utf8_error().valid_up_to()].iter().filter(|b| **b == b'\n').count() + 1;
            Error::new(ErrorKind::InvalidFile {
                what: "mmiodrv trace",
                file: path.to_path_buf(),
                line,
                message: "not UTF-8 text".into(),
            })
        })?;
        Trace::parse(&text, path)
    }

    /// Parse trace text (`path` names it in errors).
    pub fn parse(text: &str, path: &Path) -> Result<Trace> {
        let bad = |line: usize, message: String| {
            Error::new(ErrorKind::InvalidFile { what: "mmiodrv trace", file: path.to_path_buf(), line, message })
        };
        let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
        let (_, first) = lines.next().ok_or_else(|| bad(1, "the file is empty".into()))?;
        let header: Header = serde_json::from_str(first).map_err(|e| bad(1, format!("header: {e}")))?;
        if header.trace != FORMAT {
            return Err(bad(1, format!("format version {} (this mmiodrv reads {FORMAT})", header.trace)));
        }
        let entries = lines
            .map(|(i, l)| serde_json::from_str::<Entry>(l).map_err(|e| bad(i + 1, e.to_string())))
            .collect::<Result<Vec<_>>>()?;
        Ok(Trace { path: path.to_path_buf(), header, entries })
    }
}

/// Register names for a trace's accesses: per BAR, the map given by the
/// caller, else the one the trace says a window used (built in, or a file
/// that still loads), else the built-in driver's for the recorded IDs.
#[derive(Clone, Debug, Default)]
pub struct Names {
    maps: Vec<(u8, Cow<'static, RegisterMap>)>,
}

/// What an access touched, by name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Named {
    /// `REG`, `REG (high half)` or `REG+0x2`.
    pub register: String,
    /// The fields decoded, for a whole-register value.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldValue>,
    /// Whether reading the register has side effects.
    pub read_side_effects: bool,
}

impl Names {
    /// Names for `trace`, with `user` (a map and the BAR it applies to)
    /// first. The map files the trace names are loaded only when `recorded`
    /// says so (a trace is someone's file: the path it names is not opened
    /// unasked), and even then never through another program (SystemRDL).
    pub fn for_trace(trace: &Trace, user: Option<(u8, RegisterMap)>, recorded: bool) -> Names {
        let mut names = Names::default();
        if let Some((bar, map)) = user {
            names.maps.push((bar, Cow::Owned(map)));
        }
        for e in &trace.entries {
            let Event::Regmap { bar, name, file } = &e.event else { continue };
            if names.map(*bar).is_some() {
                continue;
            }
            let map = match file {
                None => super::builtin_map(name, *bar).map(Cow::Borrowed),
                Some(f) if !recorded => {
                    log::info!(
                        "{}: BAR{bar} was read with the map {}, which is not loaded unless asked for; BAR{bar} is shown by offset",
                        trace.path.display(),
                        f.display()
                    );
                    None
                }
                Some(f) => match super::load_map(f, name) {
                    Ok(m) => Some(Cow::Owned(m)),
                    Err(e) => {
                        log::warn!(
                            "{}: the map {} no longer loads ({e}); BAR{bar} is shown by offset",
                            trace.path.display(),
                            f.display()
                        );
                        None
                    }
                },
            };
            if let Some(m) = map {
                names.maps.push((*bar, m));
            }
        }
        if let Some(driver) = trace.header.ids.and_then(|i| crate::drivers::for_ids(i.vendor, i.device)) {
            for m in driver.maps {
                if names.map(m.bar).is_none() {
                    names.maps.push((m.bar, Cow::Borrowed(*m)));
                }
            }
        }
        names
    }

    /// The map for `bar`.
    pub fn map(&self, bar: u8) -> Option<&RegisterMap> {
        self.maps.iter().find(|(b, _)| *b == bar).map(|(_, m)| m.as_ref())
    }

    /// The register an access of `width` at `offset` of `bar` touched, with
    /// `value` decoded when the access was the whole register.
    pub fn name(&self, bar: u8, offset: u64, width: Width, value: Option<u64>) -> Option<Named> {
        let reg = self.map(bar)?.registers.iter().find(|r| r.offset <= offset && offset < r.end())?;
        Some(name_in(reg, offset, width, value))
    }
}

fn name_in(reg: &Register, offset: u64, width: Width, value: Option<u64>) -> Named {
    let whole = offset == reg.offset && width == reg.width;
    let register = if whole {
        reg.name.to_string()
    } else if width == reg.access_width && offset == reg.offset {
        format!("{} (low half)", reg.name)
    } else if width == reg.access_width && offset == reg.offset + width.bytes() {
        format!("{} (high half)", reg.name)
    } else {
        format!("{}+{:#x}", reg.name, offset - reg.offset)
    };
    let fields = match (whole, value) {
        (true, Some(v)) => decode_fields(reg, v),
        _ => Vec::new(),
    };
    Named { register, fields, read_side_effects: reg.read_side_effects }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::host_file::HostFileBackend;

    #[test]
    fn entries_round_trip_as_json_lines() {
        let events = [
            Event::Read { bar: 0, offset: 0x20, width: Width::W32, value: Some(1), error: None },
            Event::Write { bar: 0, offset: 8, width: Width::W64, value: u64::MAX, error: Some("boom".into()) },
            Event::Regmap { bar: 0, name: "edu".into(), file: None },
            Event::Bulk { bar: 2, len: 4096 },
            Event::Irq { kind: IrqKind::Msi, vector: 0, count: 1 },
        ];
        for event in events {
            let e = Entry { us: 12, event };
            let line = serde_json::to_string(&e).unwrap();
            assert_eq!(serde_json::from_str::<Entry>(&line).unwrap(), e, "{line}");
        }
        let line = serde_json::to_string(&Entry {
            us: 5,
            event: Event::Read { bar: 0, offset: 4, width: Width::W32, value: Some(7), error: None },
        })
        .unwrap();
        assert_eq!(line, r#"{"us":5,"op":"read","bar":0,"offset":4,"width":32,"value":7}"#);
    }

    #[test]
    fn a_traced_backend_records_exactly_the_accesses_made() {
        let dir = tempfile::tempdir().unwrap();
        let shm = dir.path().join("shm");
        std::fs::write(&shm, [0u8; 256]).unwrap();
        let trace = dir.path().join("t.jsonl");
        let backend = HostFileBackend::open(&shm).unwrap();
        let recorder = Recorder::create(&trace, &backend, vec!["test".into()]).unwrap();
        let traced = TracingBackend::new(Box::new(backend), Arc::clone(&recorder));
        let io = traced.open_bar(0, BarOptions::RW).unwrap();
        io.write(4, Width::W32, 0x1234).unwrap();
        assert_eq!(io.read(4, Width::W16).unwrap(), 0x1234);
        assert!(io.read(0x100, Width::W32).is_err());
        assert!(io.as_mmio().is_some() && io.as_mmio().is_some());
        recorder.finish().unwrap();
        let t = Trace::load(&trace).unwrap();
        assert_eq!(t.header.device, format!("file:{}", shm.display()));
        assert_eq!(t.header.ids, None);
        assert_eq!(t.header.command, ["test"]);
        let events: Vec<_> = t.entries.iter().map(|e| e.event.clone()).collect();
        assert_eq!(events.len(), 4, "{events:?}");
        assert_eq!(events[0], Event::Write { bar: 0, offset: 4, width: Width::W32, value: 0x1234, error: None });
        assert_eq!(events[1], Event::Read { bar: 0, offset: 4, width: Width::W16, value: Some(0x1234), error: None });
        assert!(matches!(&events[2], Event::Read { value: None, error: Some(e), .. } if e.contains("outside")));
        assert_eq!(events[3], Event::Bulk { bar: 0, len: 256 }, "one entry however often the mapping is taken");
        assert!(t.entries.windows(2).all(|w| w[0].us <= w[1].us));
    }

    #[test]
    fn bad_trace_files_name_the_line() {
        let p = Path::new("t.jsonl");
        let e = Trace::parse("", p).unwrap_err();
        assert!(e.to_string().contains("t.jsonl:1: not a valid mmiodrv trace: the file is empty"), "{e}");
        let header = r#"{"trace":1,"device":"x","ids":null,"backend":"file","time":"t"}"#;
        let e = Trace::parse(&format!("{header}\n{{\"us\":1,\"op\":\"poke\"}}\n"), p).unwrap_err();
        assert!(e.to_string().starts_with("t.jsonl:2: "), "{e}");
        let e = Trace::parse(r#"{"trace":9,"device":"x","ids":null,"backend":"file","time":"t"}"#, p).unwrap_err();
        assert!(e.to_string().contains("format version 9"), "{e}");
        assert_eq!(Trace::parse(header, p).unwrap().entries.len(), 0);
    }
}
