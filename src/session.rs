//! A session: many operations on one opened device, with one backend, one
//! mapping per BAR and one VFIO open for the whole run. What batch scripts,
//! the REPL and the pipe protocol execute.
//!
//! Operations are checked before any of them runs ([`Session::check`]): names
//! resolve, widths are allowed, values fit, writes are possible. A script with
//! a typo on its last line therefore never leaves the device half-programmed.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::backend::{DmaBuffer, Interrupts, IrqEvent, IrqKind};
use crate::command::{Args, Call, Collect, Command, Report, Subject};
use crate::device::Device;
use crate::error::{Error, ErrorKind, Result};
use crate::mmio::Width;
use crate::regmap::{RegisterMap, Target};
use crate::window::{AccessReport, DumpedRegister, Layout, Window};

/// Default IOVA of DMA buffers a session allocates, and their default mask.
pub const DEFAULT_DMA_IOVA: u64 = 0x10_0000;
/// The DMA mask assumed when none is given (the widest).
pub const DEFAULT_DMA_MASK_BITS: u32 = 64;

/// Where a register operation goes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct At {
    /// `REG`, `REG.FIELD` or an offset.
    pub target: String,
    /// Width for raw offsets.
    pub width: Option<Width>,
    /// BAR (default: the map's).
    pub bar: Option<u8>,
}

/// One operation of a session.
#[derive(Clone, Debug)]
pub enum Op {
    /// Read a register, field or offset.
    Read(At),
    /// Write one; `verify` reads it back.
    Write {
        /// Where.
        at: At,
        /// The value.
        value: u64,
        /// Read back and fail if it did not stick.
        verify: bool,
    },
    /// Read until `(value & mask) == expected`, or time out.
    Poll {
        /// Where.
        at: At,
        /// The value waited for.
        expected: u64,
        /// Bits compared (default: all).
        mask: Option<u64>,
        /// Give up after this long.
        timeout: Duration,
    },
    /// Read once; fail unless `(value & mask) == expected`.
    Expect {
        /// Where.
        at: At,
        /// The value required.
        expected: u64,
        /// Bits compared (default: all).
        mask: Option<u64>,
    },
    /// Arm interrupts now (a session arms at its first wait otherwise).
    Arm {
        /// The mechanism (default: the best the device has).
        kind: Option<IrqKind>,
    },
    /// Wait for interrupts.
    WaitIrq {
        /// The mechanism, when arming here.
        kind: Option<IrqKind>,
        /// Only this vector counts.
        vector: Option<u32>,
        /// Give up after this long.
        timeout: Duration,
        /// How many to wait for.
        count: u32,
    },
    /// Do nothing for a while.
    Sleep(Duration),
    /// Every register of a BAR's map (or the named ones).
    Dump {
        /// BAR (default: the map's).
        bar: Option<u8>,
        /// Read write-only and side-effect registers too.
        all: bool,
        /// Only these registers (all when empty).
        registers: Vec<String>,
    },
    /// Text, as given.
    Echo(String),
    /// Allocate a DMA buffer that lives until the session ends.
    DmaAlloc {
        /// Bytes.
        size: u64,
        /// IOVA (default [`DEFAULT_DMA_IOVA`], then after the previous buffer).
        iova: Option<u64>,
        /// The device's DMA mask (default 64 bits).
        mask_bits: Option<u32>,
    },
    /// Put bytes into a DMA buffer.
    DmaWrite {
        /// Buffer index (order of allocation).
        buffer: usize,
        /// Offset in it.
        offset: u64,
        /// The bytes.
        data: Vec<u8>,
    },
    /// Read bytes of a DMA buffer.
    DmaRead {
        /// Buffer index.
        buffer: usize,
        /// Offset in it.
        offset: u64,
        /// How many.
        len: u64,
    },
    /// The process's mappings of the BARs and DMA buffers this session
    /// opened so far, as `/proc/self/maps` shows them.
    Maps,
    /// A driver's command (`edu factorial 10`).
    Driver {
        /// The command declaration.
        command: &'static Command,
        /// Its parsed arguments.
        args: Args,
    },
}

/// What an operation produced.
#[derive(Debug)]
pub enum Outcome {
    /// A read or write.
    Access(AccessReport),
    /// A poll that saw its value.
    Polled {
        /// The final read.
        access: AccessReport,
        /// Reads made.
        reads: u64,
        /// Time taken.
        elapsed: Duration,
    },
    /// An expectation met.
    Expected(AccessReport),
    /// Interrupts armed.
    Armed {
        /// Mechanism.
        kind: IrqKind,
        /// Vectors.
        vectors: u32,
    },
    /// Interrupts that arrived.
    Interrupts(Vec<IrqEvent>),
    /// A sleep.
    Slept(Duration),
    /// A dump.
    Dump {
        /// The window's layout (device, BAR, map).
        map: String,
        /// The BAR.
        bar: u8,
        /// Where the map came from (a path, or None for built-in).
        source: Option<PathBuf>,
        /// The registers.
        registers: Vec<DumpedRegister>,
    },
    /// Text.
    Echo(String),
    /// A DMA buffer.
    DmaBuffer(DmaInfo),
    /// Bytes of a DMA buffer.
    DmaBytes {
        /// Which buffer.
        buffer: usize,
        /// Its IOVA.
        iova: u64,
        /// Offset read.
        offset: u64,
        /// The bytes.
        data: Vec<u8>,
    },
    /// A DMA buffer written.
    DmaWritten {
        /// Which buffer.
        buffer: usize,
        /// Offset written.
        offset: u64,
        /// Bytes written.
        len: usize,
    },
    /// A driver command's reports.
    Reports(Vec<Report>),
    /// What [`Op::Maps`] found.
    Maps(Vec<MapEntry>),
}

/// One memory area a session mapped, with the kernel's view of it.
#[derive(Clone, Debug, Serialize)]
pub struct MapEntry {
    /// `BAR0`, `DMA buffer 0`.
    pub what: String,
    /// How it was mapped: the backend (`sysfs`, `vfio`, `uio`) for a BAR,
    /// `dma` for a DMA buffer.
    pub via: String,
    /// The IOVA of a DMA buffer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iova: Option<u64>,
    /// Where it starts in this process.
    pub address: Option<u64>,
    /// Bytes.
    pub len: u64,
    /// The mapping holding it (None for a BAR reached by pread/pwrite, or
    /// mapped in several areas).
    pub mapping: Option<crate::procmaps::ProcMapping>,
}

/// A DMA buffer of a session.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct DmaInfo {
    /// Index in the session.
    pub buffer: usize,
    /// The IOVA the device uses.
    pub iova: u64,
    /// Bytes.
    pub size: u64,
}

/// Where a prepared operation goes: a window and a register (by index).
#[derive(Clone, Copy, Debug)]
struct Place {
    bar: Option<u8>,
    spot: Spot,
    width: Width,
}

#[derive(Clone, Copy, Debug)]
enum Spot {
    Offset(u64),
    Register(usize),
    Field(usize, usize),
}

/// An operation checked and resolved by [`Session::prepare`].
#[derive(Debug)]
pub struct Prepared {
    op: Op,
    place: Option<Place>,
}

impl Prepared {
    /// The operation.
    pub fn op(&self) -> &Op {
        &self.op
    }
}

/// A prepared read, ready to be issued again and again ([`Session::reader`]).
pub struct Reader<'s> {
    window: &'s Window,
    resolved: crate::window::Resolved<'s>,
    width: Option<Width>,
}

impl Reader<'_> {
    /// One read, as the operation's line would do it.
    pub fn read(&self) -> Result<u64> {
        self.window.read(&self.resolved)
    }

    /// The register's width, or `None` for a field.
    pub fn width(&self) -> Option<Width> {
        self.width
    }
}

/// What `place` names in `w`'s map, for one access.
fn resolved<'w>(w: &'w Window, place: &Place) -> Result<crate::window::Resolved<'w>> {
    let target = match (place.spot, w.map()) {
        (Spot::Offset(o), _) => Target::Offset(o),
        (Spot::Register(i), Some(m)) => Target::Register(&m.registers[i]),
        (Spot::Field(i, f), Some(m)) => Target::Field(&m.registers[i], &m.registers[i].fields[f]),
        _ => return Err(ErrorKind::NoMap { name: String::new() }.into()),
    };
    Ok(crate::window::Resolved { target, width: place.width })
}

/// Many operations on one device.
pub struct Session<'d> {
    device: &'d Device,
    map: Option<(RegisterMap, PathBuf)>,
    layouts: BTreeMap<Option<u8>, Layout>,
    /// The windows opened, by BAR index (in order).
    windows: Vec<(u8, Window)>,
    /// The BAR as the last operation named it, and its window's position.
    last_window: Option<(Option<u8>, usize)>,
    irqs: Option<Box<dyn Interrupts + 'd>>,
    dma: Vec<DmaBuffer>,
}

impl<'d> Session<'d> {
    /// A session on `device`; `map` (a map file, loaded) applies instead of
    /// the built-in one.
    pub fn new(device: &'d Device, map: Option<(RegisterMap, PathBuf)>) -> Self {
        Session {
            device,
            map,
            layouts: BTreeMap::new(),
            windows: Vec::new(),
            last_window: None,
            irqs: None,
            dma: Vec::new(),
        }
    }

    /// The device.
    pub fn device(&self) -> &'d Device {
        self.device
    }

    /// The layout for `bar` (None: the map's BAR), built on first use.
    pub fn layout(&mut self, bar: Option<u8>) -> Result<&Layout> {
        if !self.layouts.contains_key(&bar) {
            let layout = self.device.layout(bar, self.map.clone())?;
            self.layouts.insert(bar, layout);
        }
        Ok(&self.layouts[&bar])
    }

    /// The map of the default BAR, if any (for completion in a REPL).
    pub fn map(&mut self) -> Option<Cow<'_, RegisterMap>> {
        self.layout(None).ok()?.map.as_ref().map(|m| Cow::Borrowed(m.as_ref()))
    }

    /// Check `op` without touching the device.
    pub fn check(&mut self, op: &Op) -> Result<()> {
        match op {
            Op::Read(at) => {
                let layout = self.layout(at.bar)?;
                let r = layout.resolve(&at.target, at.width)?;
                layout.check_read(&r)
            }
            Op::Write { at, value, verify } => {
                let layout = self.layout(at.bar)?;
                let r = layout.resolve(&at.target, at.width)?;
                layout.check_write(&r, *value)?;
                if *verify {
                    layout.check_read(&r)?;
                }
                Ok(())
            }
            Op::Poll { at, expected, mask, .. } | Op::Expect { at, expected, mask } => {
                let layout = self.layout(at.bar)?;
                let r = layout.resolve(&at.target, at.width)?;
                layout.check_read(&r)?;
                check_compare(*expected, *mask)
            }
            Op::Dump { bar, registers, .. } => {
                let layout = self.layout(*bar)?;
                let map = layout
                    .map()
                    .ok_or_else(|| Error::on(layout.device.clone(), ErrorKind::NoMap { name: registers.join(" ") }))?;
                for name in registers {
                    map.register(name)?;
                }
                Ok(())
            }
            Op::WaitIrq { count: 0, .. } => Err(Error::invalid("0", "wait for at least one interrupt")),
            Op::DmaAlloc { size, iova, mask_bits } => crate::backend::vfio::dma::check_request(
                usize::try_from(*size).map_err(|_| Error::invalid(size.to_string(), "too large"))?,
                iova.unwrap_or(DEFAULT_DMA_IOVA),
                mask_bits.unwrap_or(DEFAULT_DMA_MASK_BITS),
            ),
            _ => Ok(()),
        }
    }

    fn window(&mut self, bar: Option<u8>) -> Result<&Window> {
        // The window used last is found without resolving its layout again
        // (a script's operations mostly go to one BAR).
        let at = match self.last_window {
            Some((b, at)) if b == bar => at,
            _ => {
                let index = self.layout(bar)?.bar;
                let at = match self.windows.binary_search_by_key(&index, |(i, _)| *i) {
                    Ok(at) => at,
                    Err(at) => {
                        let layout = self.layouts[&bar].clone();
                        let window = self.device.open_window(layout, true, false)?;
                        self.windows.insert(at, (index, window));
                        at
                    }
                };
                self.last_window = Some((bar, at));
                at
            }
        };
        Ok(&self.windows[at].1)
    }

    /// Resolve where `at` goes, once, to indexes into the map: running a
    /// prepared operation looks nothing up by name.
    fn place(&mut self, at: &At) -> Result<Place> {
        let layout = self.layout(at.bar)?;
        let r = layout.resolve(&at.target, at.width)?;
        let index = |reg: &crate::regmap::Register| {
            layout.map().and_then(|m| m.registers.iter().position(|x| std::ptr::eq(x, reg))).unwrap_or(0)
        };
        let target = match r.target {
            Target::Offset(o) => Spot::Offset(o),
            Target::Register(reg) => Spot::Register(index(reg)),
            Target::Field(reg, f) => {
                Spot::Field(index(reg), reg.fields.iter().position(|x| std::ptr::eq(x, f)).unwrap_or(0))
            }
        };
        Ok(Place { bar: at.bar, spot: target, width: r.width })
    }

    fn access(&mut self, place: &Place, write: Option<(u64, bool)>) -> Result<AccessReport> {
        let w = self.window(place.bar)?;
        let r = resolved(w, place)?;
        match write {
            None => {
                let value = w.read(&r)?;
                Ok(w.report(&r, value))
            }
            Some((value, verify)) => {
                w.write(&r, value)?;
                let mut report = w.report(&r, value);
                report.fields.clear();
                if verify {
                    let back = w.read(&r)?;
                    report.readback = Some(back);
                    if back != value {
                        let hex = |v: u64| format!("{v:#x}");
                        return Err(Error::on(
                            report.device.clone(),
                            ErrorKind::VerifyFailed { wrote: hex(value), read: hex(back) },
                        ));
                    }
                }
                Ok(report)
            }
        }
    }

    /// A prepared `read`, to run many times in a row (a script's line
    /// repeated): the window and target found once, then each
    /// [`Reader::read`] the access and checks of [`Window::read`].
    /// `None` for other operations.
    pub fn reader(&mut self, prepared: &Prepared) -> Option<Result<Reader<'_>>> {
        let (Op::Read(_), Some(place)) = (&prepared.op, prepared.place) else { return None };
        let width = (!matches!(place.spot, Spot::Field(..))).then_some(place.width);
        Some(
            self.window(place.bar).and_then(|window| Ok(Reader { window, resolved: resolved(window, &place)?, width })),
        )
    }

    /// A prepared `read`'s value alone, without the report
    /// [`Session::run_prepared`] builds for it (a script's `read ... --quiet`
    /// prints only the value): the same single access and checks. Also the
    /// register's width, or `None` for a field. `None` for other operations.
    pub fn read_value(&mut self, prepared: &Prepared) -> Option<Result<(u64, Option<Width>)>> {
        let reader = self.reader(prepared)?;
        Some(reader.and_then(|r| Ok((r.read()?, r.width()))))
    }

    fn arm(&mut self, kind: Option<IrqKind>) -> Result<&mut Box<dyn Interrupts + 'd>> {
        self.check_armed(&Op::Arm { kind })?;
        match &mut self.irqs {
            Some(irqs) => Ok(irqs),
            irqs @ None => Ok(irqs.insert(self.device.interrupts(kind)?)),
        }
    }

    /// Check an `arm` or `wait-irq` against the interrupts armed, if any: the
    /// same mechanism (one per session), a vector they have. A script checks
    /// every line this way once it armed, before its first line runs.
    pub fn check_armed(&self, op: &Op) -> Result<()> {
        let Some(irqs) = &self.irqs else { return Ok(()) };
        let (kind, vector) = match op {
            Op::Arm { kind } => (*kind, None),
            Op::WaitIrq { kind, vector, .. } => (*kind, *vector),
            _ => return Ok(()),
        };
        if let Some(k) = kind.filter(|k| *k != irqs.kind()) {
            let why = format!("{} interrupts are armed in this session (one mechanism per session)", irqs.kind());
            return Err(Error::invalid(k.name(), why).with_device(self.device.device()));
        }
        if let Some(v) = vector.filter(|v| *v >= irqs.vectors()) {
            let kind = ErrorKind::NoSuchVector { kind: irqs.kind(), vectors: irqs.vectors(), vector: v };
            return Err(Error::on(self.device.device(), kind));
        }
        Ok(())
    }

    /// Whether interrupts are armed.
    pub fn armed(&self) -> bool {
        self.irqs.is_some()
    }

    /// Check `op` and resolve it for running: register names become
    /// indexes, so a script's loop of reads looks nothing up by name.
    pub fn prepare(&mut self, op: Op) -> Result<Prepared> {
        self.check(&op)?;
        let place = match &op {
            Op::Read(at) | Op::Write { at, .. } | Op::Poll { at, .. } | Op::Expect { at, .. } => Some(self.place(at)?),
            _ => None,
        };
        Ok(Prepared { op, place })
    }

    /// Check and run `op`.
    pub fn run(&mut self, op: &Op) -> Result<Outcome> {
        let prepared = self.prepare(op.clone())?;
        self.run_prepared(&prepared)
    }

    /// Run an operation [`Session::prepare`] checked.
    pub fn run_prepared(&mut self, prepared: &Prepared) -> Result<Outcome> {
        let outcome = self.run_op(prepared)?;
        // A device removed while the run waited (a hot-unplug reads zeros
        // through a stale mapping in QEMU, all-ones on real hardware) is
        // found here rather than by the next access.
        if matches!(prepared.op, Op::Sleep(_) | Op::Poll { .. } | Op::WaitIrq { .. }) {
            if let crate::error::DeviceRef::Pci(address) = self.device.device() {
                if !crate::pci::sysfs::present(address) {
                    let why = "removed while the run waited: its config space is gone".into();
                    return Err(Error::on(address, ErrorKind::Gone { why }));
                }
            }
        }
        Ok(outcome)
    }

    fn run_op(&mut self, prepared: &Prepared) -> Result<Outcome> {
        let place = prepared.place.as_ref();
        let placed = || place.ok_or_else(|| Error::from(ErrorKind::NoMap { name: String::new() }));
        Ok(match &prepared.op {
            Op::Read(_) => Outcome::Access(self.access(placed()?, None)?),
            Op::Write { value, verify, .. } => Outcome::Access(self.access(placed()?, Some((*value, *verify)))?),
            Op::Poll { at, expected, mask, timeout } => {
                let place = placed()?;
                let start = Instant::now();
                let mut reads = 0;
                loop {
                    let access = self.access(place, None)?;
                    reads += 1;
                    if matches(access.value, *expected, *mask) {
                        break Outcome::Polled { access, reads, elapsed: start.elapsed() };
                    }
                    if start.elapsed() >= *timeout {
                        let what = format!("{} to read {}", at.target, compare_text(*expected, *mask));
                        let kind = ErrorKind::Timeout { what, ms: timeout.as_millis() as u64 };
                        return Err(Error::on(access.device, kind));
                    }
                    crate::stop::sleep(Duration::from_micros(100))?;
                }
            }
            Op::Expect { at, expected, mask } => {
                let access = self.access(placed()?, None)?;
                if !matches(access.value, *expected, *mask) {
                    return Err(Error::on(
                        access.device.clone(),
                        ErrorKind::Mismatch {
                            target: at.target.clone(),
                            expected: compare_text(*expected, *mask),
                            read: access.value,
                        },
                    ));
                }
                Outcome::Expected(access)
            }
            Op::Arm { kind } => {
                let irqs = self.arm(*kind)?;
                Outcome::Armed { kind: irqs.kind(), vectors: irqs.vectors() }
            }
            Op::WaitIrq { kind, vector, timeout, count } => {
                let irqs = self.arm(*kind)?;
                Outcome::Interrupts(irqs.wait_count(*vector, u64::from(*count), *timeout, &mut |_| {})?)
            }
            Op::Sleep(d) => {
                crate::stop::sleep(*d)?;
                Outcome::Slept(*d)
            }
            Op::Dump { bar, all, registers } => {
                let w = self.window(*bar)?;
                let layout = w.layout();
                let map = layout.map().map(|m| m.name.to_string()).unwrap_or_default();
                let source = match &layout.source {
                    crate::window::MapSource::File(p) => Some(p.clone()),
                    crate::window::MapSource::Builtin => None,
                };
                let bar = layout.bar;
                let regs = if registers.is_empty() { w.dump(*all)? } else { w.dump_named(registers)? };
                Outcome::Dump { map, bar, source, registers: regs }
            }
            Op::Echo(text) => Outcome::Echo(text.clone()),
            Op::DmaAlloc { size, iova, mask_bits } => {
                let iova = iova.unwrap_or_else(|| self.next_iova());
                let len = *size as usize;
                let buf = self.device.backend().dma_buffer(len, iova, mask_bits.unwrap_or(DEFAULT_DMA_MASK_BITS))?;
                self.dma.push(buf);
                Outcome::DmaBuffer(DmaInfo { buffer: self.dma.len() - 1, iova, size: *size })
            }
            Op::DmaWrite { buffer, offset, data } => {
                let buf = self.buffer(*buffer)?;
                buf.memory().check_span(*offset, data.len() as u64)?;
                buf.memory().copy_from_slice(*offset, data)?;
                crate::mmio::barrier::before_doorbell();
                Outcome::DmaWritten { buffer: *buffer, offset: *offset, len: data.len() }
            }
            Op::DmaRead { buffer, offset, len } => {
                let buf = self.buffer(*buffer)?;
                buf.memory().check_span(*offset, *len)?;
                crate::mmio::barrier::after_completion();
                let mut data = vec![0u8; *len as usize];
                buf.memory().copy_to_slice(*offset, &mut data)?;
                Outcome::DmaBytes { buffer: *buffer, iova: buf.iova(), offset: *offset, data }
            }
            Op::Maps => Outcome::Maps(self.maps()?),
            Op::Driver { command, args } => {
                let run = command.run.ok_or_else(|| Error::invalid(command.name, "a group, not a command"))?;
                let mut out = Collect::default();
                let mut call = Call { subject: Subject::Device(self.device), args, out: &mut out };
                run(&mut call)?;
                Outcome::Reports(out.0)
            }
        })
    }

    /// The BARs and DMA buffers mapped so far, each with the mapping
    /// `/proc/self/smaps` lists for it. Windows open at their first access, so
    /// a BAR not yet read or written is not there.
    pub fn maps(&self) -> Result<Vec<MapEntry>> {
        let via = self.device.backend().kind().to_string();
        let mut entries: Vec<MapEntry> = self
            .windows
            .iter()
            .map(|(bar, w)| {
                let mmio = w.io().as_mmio();
                MapEntry {
                    what: format!("BAR{bar}"),
                    via: via.clone(),
                    iova: None,
                    address: mmio.map(|r| r.base_ptr() as u64),
                    len: w.io().len(),
                    mapping: None,
                }
            })
            .collect();
        entries.extend(self.dma.iter().enumerate().map(|(i, b)| MapEntry {
            what: format!("DMA buffer {i}"),
            via: "dma".into(),
            iova: Some(b.iova()),
            address: Some(b.memory().base_ptr() as u64),
            len: b.memory().len(),
            mapping: None,
        }));
        let found = crate::procmaps::find(&entries.iter().map(|e| e.address.unwrap_or(0)).collect::<Vec<_>>())?;
        for (entry, mapping) in entries.iter_mut().zip(found) {
            entry.mapping = mapping.filter(|_| entry.address.is_some());
        }
        Ok(entries)
    }

    fn buffer(&self, index: usize) -> Result<&DmaBuffer> {
        self.dma.get(index).ok_or_else(|| {
            Error::invalid(index.to_string(), format!("no DMA buffer {index} (this session has {})", self.dma.len()))
        })
    }

    /// The first page-aligned IOVA after every buffer so far.
    fn next_iova(&self) -> u64 {
        self.dma.iter().map(|b| b.iova() + (b.len() as u64).div_ceil(4096) * 4096).max().unwrap_or(DEFAULT_DMA_IOVA)
    }
}

fn matches(value: u64, expected: u64, mask: Option<u64>) -> bool {
    let mask = mask.unwrap_or(u64::MAX);
    value & mask == expected & mask
}

fn check_compare(expected: u64, mask: Option<u64>) -> Result<()> {
    if let Some(mask) = mask {
        if expected & !mask != 0 {
            return Err(Error::invalid(
                format!("{expected:#x}"),
                format!("the value has bits outside the mask {mask:#x}, so it can never match"),
            ));
        }
    }
    Ok(())
}

fn compare_text(expected: u64, mask: Option<u64>) -> String {
    match mask {
        Some(m) => format!("{expected:#x} under mask {m:#x}"),
        None => format!("{expected:#x}"),
    }
}
