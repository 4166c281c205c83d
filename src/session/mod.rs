//! The one executor: a session on one opened device runs every operation
//! for every front end (a one-shot command, a script, the pipe protocol,
//! the shell, Python), with one window per BAR, one DMA allocator and one
//! set of armed interrupts.
//!
//! An [`Op`] is checked before it runs ([`Session::prepare`]): names
//! resolve, widths are allowed, values fit, writes are possible, against
//! what can be known without touching the device. A script is prepared in
//! full before its first line runs, so a typo on its last line never leaves
//! the device half-programmed. Running ([`Session::run`]) makes the accesses
//! (each one volatile access of the register's width, checked for faults
//! and for a device that went away) and hands every result, as a typed
//! [`Outcome`], to the [`Frontend`] that asked.
//!
//! A session is shared between threads (Python's): every method takes
//! `&self`.

mod dma;
mod line;
pub mod ops;

use crate::error::{BackendError, MapError};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub use line::{line_commands, parse_line, words, Line};
pub use ops::{At, IrqWait, Op, Request, COMMANDS, DEFAULT_TIMEOUT, MAP_ARGS};

use crate::backend::{DmaBuffer, Interrupts, IrqEvent, IrqKind};
use crate::command::{Call, Frontend, Subject};
use crate::device::Device;
use crate::error::{DeviceRef, Error, ErrorKind, Result};
use crate::mmio::Width;
use crate::outcome::{self, MapEntry, Outcome};
use crate::regmap::{RegisterMap, Target};
use crate::value::Operand;
use crate::window::{AccessReport, Layout, ReadPlan, Resolved, Window, DEFAULT_HEXDUMP_LEN};

/// The lowest IOVA a session gives a DMA buffer when none is asked for.
/// Drivers' commands map their own buffers below it (edu's at 1 MiB).
pub const FIRST_IOVA: u64 = 0x20_0000;
/// The DMA mask assumed when none is given (the widest).
pub const DEFAULT_DMA_MASK_BITS: u32 = 64;

/// A register map given for a session (`--regmap FILE`), and the BAR it
/// describes.
#[derive(Clone, Debug)]
pub struct PlacedMap {
    /// The map (one block of the file).
    pub map: RegisterMap,
    /// The file it came from.
    pub path: PathBuf,
    /// The BAR it describes, when not the map's own (`--bar` on a one-shot
    /// command line with `--regmap`).
    pub bar: Option<u8>,
}

impl PlacedMap {
    /// Load `--regmap FILE` or `FILE@OFFSET` (any format, see
    /// [`crate::regmap::MapSpec`]): every block of the file at its address
    /// (moved by OFFSET), or only `block`, at its address too.
    pub fn load(spec: &str, block: Option<&str>, bar: Option<u8>) -> Result<PlacedMap> {
        let spec = crate::regmap::MapSpec::parse(spec)?;
        let file = crate::regmap::load_file(&spec.path)?;
        Ok(PlacedMap { map: file.place(block, spec.at)?, path: spec.path, bar })
    }
}

/// How a session opens the device's BARs.
#[derive(Clone, Debug, Default)]
pub struct SessionOptions {
    /// A map that applies to its BAR instead of the built-in one.
    pub map: Option<PlacedMap>,
    /// Map prefetchable BARs write-combining (`resourceN_wc`).
    pub write_combining: bool,
}

/// Where a prepared operation goes: a BAR and a register (by index).
#[derive(Clone, Copy, Debug)]
struct Place {
    bar: u8,
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
pub struct Reader {
    window: Arc<Window>,
    place: Place,
}

impl Reader {
    /// One read, as the operation would make it.
    pub fn read(&self) -> Result<u64> {
        self.window.read(&self.target()?)
    }

    /// What the operation reads, found in the window's map once for many
    /// reads ([`Window::read`] of it is [`Reader::read`]).
    pub fn target(&self) -> Result<Resolved<'_>> {
        resolved(&self.window, &self.place)
    }

    /// The read planned once for many ([`Window::plan`]): each
    /// [`ReadPlan::read`] is the operation's read, with its checks.
    pub fn plan(&self) -> Result<ReadPlan<'_>> {
        Ok(self.window.plan(self.target()?))
    }

    /// The window read.
    pub fn window(&self) -> &Window {
        &self.window
    }

    /// The report [`Session::run`] makes of a read of `value` through this
    /// reader: made once for a run of the same line, then updated with
    /// [`AccessReport::set_value`] for each read.
    pub fn report(&self, value: u64) -> Result<AccessReport> {
        Ok(self.window.report(&resolved(&self.window, &self.place)?, value))
    }

    /// The register's width, or `None` for a field.
    pub fn width(&self) -> Option<Width> {
        (!matches!(self.place.spot, Spot::Field(..))).then_some(self.place.width)
    }
}

/// What `place` names in `w`'s map, for one access.
fn resolved<'w>(w: &'w Window, place: &Place) -> Result<Resolved<'w>> {
    let target = match (place.spot, w.map()) {
        (Spot::Offset(o), _) => Target::Offset(o),
        (Spot::Register(i), Some(m)) => Target::Register(&m.registers[i]),
        (Spot::Field(i, f), Some(m)) => Target::Field(&m.registers[i], &m.registers[i].fields[f]),
        _ => return Err(MapError::NoMap { name: String::new() }.into()),
    };
    Ok(Resolved { target, width: place.width })
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// An opened BAR, and whether it was opened for writing.
struct Opened {
    bar: u8,
    window: Arc<Window>,
    writable: bool,
}

/// Many operations on one device.
pub struct Session<'d> {
    device: &'d Device,
    options: SessionOptions,
    /// Layouts by the BAR asked for (None: the default one).
    layouts: Mutex<Vec<(Option<u8>, Arc<Layout>)>>,
    /// The windows opened, by BAR.
    windows: Mutex<Vec<Opened>>,
    irqs: Mutex<Option<Box<dyn Interrupts + 'd>>>,
    dma: Mutex<dma::Pool>,
}

impl<'d> Session<'d> {
    /// A session on `device`.
    pub fn new(device: &'d Device, options: SessionOptions) -> Self {
        Session {
            device,
            options,
            layouts: Mutex::default(),
            windows: Mutex::default(),
            irqs: Mutex::new(None),
            dma: Mutex::default(),
        }
    }

    /// The device.
    pub fn device(&self) -> &'d Device {
        self.device
    }

    /// The map given for the session applies to one BAR: its own (or the one
    /// it was placed at); a host file has one region, BAR0, which it always
    /// describes. Other BARs have the built-in map for them, if any.
    fn map_for(&self, bar: Option<u8>) -> Option<(RegisterMap, PathBuf)> {
        let placed = self.options.map.as_ref()?;
        let home = if self.device.backend().kind() == crate::backend::BackendKind::File {
            0
        } else {
            placed.bar.unwrap_or(placed.map.bar)
        };
        match bar {
            Some(b) if b != home => None,
            _ => Some((placed.map.clone(), placed.path.clone())),
        }
    }

    /// The layout for `bar` (None: the map's BAR), known without opening it.
    pub fn layout(&self, bar: Option<u8>) -> Result<Arc<Layout>> {
        if let Some((_, l)) = lock(&self.layouts).iter().find(|(b, _)| *b == bar) {
            return Ok(Arc::clone(l));
        }
        let layout =
            Arc::new(self.device.layout(bar.or(self.options.map.as_ref().and_then(|m| m.bar)), self.map_for(bar))?);
        lock(&self.layouts).push((bar, Arc::clone(&layout)));
        Ok(layout)
    }

    /// The map of the default BAR, if any (for completion in a shell).
    pub fn map(&self) -> Option<RegisterMap> {
        self.layout(None).ok()?.map().cloned()
    }

    /// The window on `bar` (None: the default one), opened on first use
    /// (again for writing, when it was opened for reading only).
    pub fn window(&self, bar: Option<u8>, writable: bool) -> Result<Arc<Window>> {
        let index = match bar {
            Some(b) => b,
            None => self.layout(None)?.bar,
        };
        self.window_at(index, bar, writable)
    }

    fn window_at(&self, index: u8, asked: Option<u8>, writable: bool) -> Result<Arc<Window>> {
        let mut windows = lock(&self.windows);
        if let Some(o) = windows.iter().find(|o| o.bar == index && (o.writable || !writable)) {
            return Ok(Arc::clone(&o.window));
        }
        let layout = Layout::clone(&*self.layout(asked)?);
        let window = Arc::new(self.device.open_window(layout, writable, self.options.write_combining)?);
        windows.retain(|o| o.bar != index);
        windows.push(Opened { bar: index, window: Arc::clone(&window), writable });
        Ok(window)
    }

    /// Check `op` without touching the device.
    pub fn check(&self, op: &Op) -> Result<()> {
        match op {
            Op::Read(at) => {
                let layout = self.layout(at.bar)?;
                let r = layout.resolve(&at.target, at.width)?;
                layout.check_read(&r)
            }
            Op::Write { at, value, verify, irq } => {
                let layout = self.layout(at.bar)?;
                let r = layout.resolve(&at.target, at.width)?;
                layout.check_write(&r, layout.operand(&r, value)?)?;
                if *verify {
                    layout.check_read(&r)?;
                }
                irq.as_ref().map_or(Ok(()), check_wait)
            }
            Op::Poll { at, expected, mask, .. } | Op::Expect { at, expected, mask } => {
                let layout = self.layout(at.bar)?;
                let r = layout.resolve(&at.target, at.width)?;
                layout.check_read(&r)?;
                check_compare(layout.operand(&r, expected)?, *mask)
            }
            Op::Dump { bar, registers, all, .. } => {
                let layout = self.layout(*bar)?;
                if registers.is_empty() {
                    return Ok(());
                }
                layout.dump_named_plan(registers, *all).map_err(|e| e.with_device(layout.device.clone())).map(drop)
            }
            Op::Hexdump { bar, offset, len } => {
                let layout = self.layout(*bar)?;
                let (offset, len) = hexdump_span(&layout, *offset, *len);
                layout.check_hexdump(offset, len)
            }
            Op::WaitIrq(wait) => check_wait(wait),
            Op::DmaAlloc { size, iova, mask_bits } => crate::backend::vfio::dma::check_request(
                usize::try_from(*size).map_err(|_| Error::invalid(size.to_string(), "too large"))?,
                iova.unwrap_or(FIRST_IOVA),
                mask_bits.unwrap_or(DEFAULT_DMA_MASK_BITS),
            ),
            _ => Ok(()),
        }
    }

    /// Resolve where `at` goes, once, to indexes into the map: running a
    /// prepared operation looks nothing up by name.
    fn place(&self, at: &At) -> Result<Place> {
        let layout = self.layout(at.bar)?;
        let r = layout.resolve(&at.target, at.width)?;
        let index = |reg: &crate::regmap::Register| {
            layout.map().and_then(|m| m.registers.iter().position(|x| std::ptr::eq(x, reg))).unwrap_or(0)
        };
        let spot = match r.target {
            Target::Offset(o) => Spot::Offset(o),
            Target::Register(reg) => Spot::Register(index(reg)),
            Target::Field(reg, f) => {
                Spot::Field(index(reg), reg.fields.iter().position(|x| std::ptr::eq(x, f)).unwrap_or(0))
            }
        };
        Ok(Place { bar: layout.bar, spot, width: r.width })
    }

    /// Check `op` and resolve it for running: register names become
    /// indexes, so a script's loop of reads looks nothing up by name.
    /// Errors name the session's device.
    pub fn prepare(&self, op: Op) -> Result<Prepared> {
        self.prepare_op(op).map_err(|e| e.with_device(self.device.device()))
    }

    fn prepare_op(&self, mut op: Op) -> Result<Prepared> {
        self.check(&op)?;
        self.check_armed(&op)?;
        // A value given by name becomes its number, once.
        if let Op::Write { at, value: operand, .. }
        | Op::Poll { at, expected: operand, .. }
        | Op::Expect { at, expected: operand, .. } = &mut op
        {
            let layout = self.layout(at.bar)?;
            *operand = Operand::Number(layout.operand(&layout.resolve(&at.target, at.width)?, operand)?);
        }
        let place = match &op {
            Op::Read(at) | Op::Write { at, .. } | Op::Poll { at, .. } | Op::Expect { at, .. } => Some(self.place(at)?),
            _ => None,
        };
        Ok(Prepared { op, place })
    }

    /// Check and run `op`.
    pub fn execute(&self, op: Op, out: &mut dyn Frontend) -> Result<()> {
        let prepared = self.prepare(op)?;
        self.run(&prepared, out)
    }

    /// A prepared `read`, to run many times in a row (a script's line
    /// repeated): the window and target found once, then each
    /// [`Reader::read`] the access and checks of [`Window::read`] (or each
    /// read of its [`Reader::plan`], with the checks that cannot change
    /// between reads made once).
    /// `None` for other operations.
    pub fn reader(&self, prepared: &Prepared) -> Option<Result<Reader>> {
        let (Op::Read(_), Some(place)) = (&prepared.op, prepared.place) else { return None };
        Some(self.window_at(place.bar, Some(place.bar), false).map(|window| Reader { window, place }))
    }

    /// Run an operation [`Session::prepare`] checked; its results go to
    /// `out`. Errors name the session's device.
    pub fn run(&self, prepared: &Prepared, out: &mut dyn Frontend) -> Result<()> {
        self.run_checked(prepared, out).map_err(|e| e.with_device(self.device.device()))
    }

    fn run_checked(&self, prepared: &Prepared, out: &mut dyn Frontend) -> Result<()> {
        self.run_op(prepared, out)?;
        // A device removed while the run waited (a hot-unplug reads zeros
        // through a stale mapping in QEMU, all-ones on real hardware) is
        // found here rather than by the next access.
        if prepared.op.waits() {
            if let DeviceRef::Pci(address) = self.device.device() {
                if !crate::pci::sysfs::present(address) {
                    let why = "removed while the run waited: its config space is gone".into();
                    return Err(Error::on(address, ErrorKind::Gone { why }));
                }
            }
        }
        Ok(())
    }

    fn read_at(&self, place: &Place) -> Result<AccessReport> {
        let w = self.window_at(place.bar, Some(place.bar), false)?;
        let r = resolved(&w, place)?;
        let value = w.read(&r)?;
        Ok(w.report(&r, value))
    }

    fn run_op(&self, prepared: &Prepared, out: &mut dyn Frontend) -> Result<()> {
        let placed = || prepared.place.ok_or_else(|| Error::from(MapError::NoMap { name: String::new() }));
        match &prepared.op {
            Op::Read(_) => out.emit(Outcome::Read(self.read_at(&placed()?)?)),
            Op::Write { value, verify, irq, .. } => {
                let value = &number(value)?;
                let place = placed()?;
                // Armed before the write, so an interrupt it causes cannot be missed.
                if let Some(wait) = irq {
                    self.arm_checked(wait.kind, wait.vector)?;
                }
                let w = self.window_at(place.bar, Some(place.bar), true)?;
                let r = resolved(&w, &place)?;
                w.write(&r, *value)?;
                let mut report = w.report(&r, *value);
                report.fields = Default::default();
                if *verify {
                    report.readback = Some(w.read(&r)?);
                }
                let back = report.readback;
                let device = report.device.clone();
                out.emit(Outcome::Write(report));
                if let Some(back) = back.filter(|b| b != value) {
                    let digits = if matches!(place.spot, Spot::Field(..)) { None } else { Some(place.width) };
                    let (wrote, read) = (hex(*value, digits), hex(back, digits));
                    return Err(Error::on(device, ErrorKind::VerifyFailed { wrote, read }));
                }
                if let Some(wait) = irq {
                    out.emit(Outcome::WaitIrq(self.wait(wait)?));
                }
            }
            Op::Poll { at, expected, mask, timeout } => {
                let expected = &number(expected)?;
                let place = placed()?;
                let start = Instant::now();
                let mut reads = 0;
                let live = crate::mmio::fault::Liveness::new(self.device.device());
                loop {
                    let access = self.read_at(&place)?;
                    reads += 1;
                    if matches(access.value, *expected, *mask) {
                        let elapsed_us = start.elapsed().as_micros().min(u128::from(u64::MAX)) as u64;
                        out.emit(Outcome::Poll(outcome::Polled { access, reads, elapsed_us }));
                        break;
                    }
                    // Removed while polled (a stale mapping reads on): gone, not a timeout.
                    live.check(false, None)?;
                    if start.elapsed() >= *timeout {
                        let what = format!("{} to read {}", at.target, compare_text(*expected, *mask));
                        let kind = ErrorKind::Timeout { what, ms: timeout.as_millis() as u64 };
                        return Err(Error::on(access.device, kind));
                    }
                    crate::stop::sleep(Duration::from_micros(100))?;
                }
            }
            Op::Expect { at, expected, mask } => {
                let expected = &number(expected)?;
                let access = self.read_at(&placed()?)?;
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
                out.emit(Outcome::Expect(access));
            }
            Op::Arm { kind } => {
                let (kind, vectors) = self.arm(*kind)?;
                out.emit(Outcome::Arm(outcome::Armed { device: self.device.device(), kind, vectors }));
            }
            Op::WaitIrq(wait) => out.emit(Outcome::WaitIrq(self.wait(wait)?)),
            Op::Sleep(d) => {
                crate::stop::sleep(*d)?;
                out.emit(Outcome::Sleep(outcome::Slept { duration_ms: d.as_millis() as u64 }));
            }
            Op::Dump { bar, all, registers, diff_reset } => {
                let layout = self.layout(*bar)?;
                if layout.map().is_none() && registers.is_empty() {
                    return self.hexdump(&layout, None, None, out);
                }
                let w = self.window(*bar, false)?;
                let map = w.map().map(|m| m.name.to_string()).unwrap_or_default();
                let mut regs = if registers.is_empty() { w.dump(*all)? } else { w.dump_named(registers, *all)? };
                if *diff_reset {
                    for r in &mut regs {
                        r.reset_differs = r.differs_from_reset();
                    }
                }
                out.emit(Outcome::DumpRegs(outcome::Dump {
                    device: self.device.device(),
                    bar: layout.bar,
                    map_source: outcome::map_source_text(layout.map_path(), &map),
                    map,
                    registers: regs,
                    diff_reset: *diff_reset,
                }));
            }
            Op::Hexdump { bar, offset, len } => {
                let layout = self.layout(*bar)?;
                self.hexdump(&layout, *offset, *len, out)?;
            }
            Op::Echo(text) => out.emit(Outcome::Echo(outcome::Echo { text: text.clone() })),
            Op::DmaAlloc { size, iova, mask_bits } => {
                let len = usize::try_from(*size).map_err(|_| Error::invalid(size.to_string(), "too large"))?;
                let info = self.dma_alloc(len, *iova, mask_bits.unwrap_or(DEFAULT_DMA_MASK_BITS))?;
                out.emit(Outcome::DmaAlloc(outcome::DmaAllocated { device: self.device.device(), info }));
            }
            Op::DmaWrite { buffer, offset, data } => {
                let buf = self.dma(*buffer)?;
                buf.memory().check_span(*offset, data.len() as u64)?;
                buf.memory().copy_from_slice(*offset, data)?;
                crate::mmio::barrier::before_doorbell();
                out.emit(Outcome::DmaWrite(outcome::DmaWritten {
                    device: self.device.device(),
                    buffer: *buffer,
                    offset: *offset,
                    len: data.len() as u64,
                }));
            }
            Op::DmaRead { buffer, offset, len } => {
                let buf = self.dma(*buffer)?;
                buf.memory().check_span(*offset, *len)?;
                crate::mmio::barrier::after_completion();
                let mut data = vec![0u8; *len as usize];
                buf.memory().copy_to_slice(*offset, &mut data)?;
                let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
                out.emit(Outcome::DmaRead(outcome::DmaBytes {
                    device: self.device.device(),
                    buffer: *buffer,
                    iova: buf.iova(),
                    offset: *offset,
                    hex,
                    data,
                }));
            }
            Op::Maps => out.emit(Outcome::Maps(outcome::Maps { device: self.device.device(), maps: self.maps()? })),
            Op::Driver { command, path, args } => {
                let crate::command::Run::Call(run) = command.run else {
                    return Err(Error::invalid(command.name, "a group, not a command"));
                };
                // A command that waits for interrupts arms its own: ours go first
                // (VFIO takes one set of eventfds per device).
                self.disarm();
                let mut call = Call { command, path, subject: Subject::Device(self.device), args, out };
                run(&mut call)?;
            }
        }
        Ok(())
    }

    fn hexdump(&self, layout: &Layout, offset: Option<u64>, len: Option<u64>, out: &mut dyn Frontend) -> Result<()> {
        let (offset, len) = hexdump_span(layout, offset, len);
        let w = self.window(Some(layout.bar), false)?;
        let words = w.hexdump(offset, len)?.into_iter().map(Some).collect();
        out.emit(Outcome::Hexdump(outcome::Hexdump { device: self.device.device(), bar: layout.bar, offset, words }));
        Ok(())
    }

    // ---- interrupts

    /// Arm interrupts of `kind` (None: the best the device has), unless they
    /// are armed already (with that kind, when one is asked for): the
    /// mechanism and its number of vectors.
    pub fn arm(&self, kind: Option<IrqKind>) -> Result<(IrqKind, u32)> {
        let mut irqs = lock(&self.irqs);
        if let Some(i) = irqs.as_ref().filter(|i| kind.is_none_or(|k| k == i.kind())) {
            return Ok((i.kind(), i.vectors()));
        }
        // Disarmed before arming again: VFIO takes one set of eventfds per device.
        *irqs = None;
        let armed = self.device.interrupts(kind)?;
        let got = (armed.kind(), armed.vectors());
        *irqs = Some(armed);
        Ok(got)
    }

    fn arm_checked(&self, kind: Option<IrqKind>, vector: Option<u32>) -> Result<()> {
        let (kind, vectors) = self.arm(kind)?;
        match vector.filter(|v| *v >= vectors) {
            Some(vector) => Err(Error::on(self.device.device(), BackendError::NoSuchVector { kind, vectors, vector })),
            None => Ok(()),
        }
    }

    /// Disarm; false when nothing was armed.
    pub fn disarm(&self) -> bool {
        lock(&self.irqs).take().is_some()
    }

    /// Whether interrupts are armed.
    pub fn armed(&self) -> bool {
        lock(&self.irqs).is_some()
    }

    /// Wait as `wait` says (arming first when nothing is armed).
    pub fn wait(&self, wait: &IrqWait) -> Result<outcome::Fired> {
        self.arm_checked(wait.kind, wait.vector)?;
        let mut irqs = lock(&self.irqs);
        let irqs = irqs.as_mut().ok_or_else(|| Error::invalid("wait-irq", "interrupts were disarmed while waiting"))?;
        let interrupts = irqs.wait_count(wait.vector, u64::from(wait.count), wait.timeout, &mut |_| {})?;
        Ok(outcome::Fired { device: self.device.device(), interrupts })
    }

    /// Wait up to `timeout` for one interrupt on `vector` (any when None) of
    /// the armed ones.
    pub fn wait_one(&self, vector: Option<u32>, timeout: Duration) -> Result<IrqEvent> {
        match lock(&self.irqs).as_mut() {
            Some(irqs) => irqs.wait_for(vector, timeout),
            None => Err(Error::invalid("wait_irq", "no interrupts are armed")),
        }
    }

    /// Check an `arm` or `wait-irq` against the interrupts armed, if any: the
    /// same mechanism (one per session), a vector they have. A script checks
    /// every line this way once it armed, before its first line runs.
    pub fn check_armed(&self, op: &Op) -> Result<()> {
        let irqs = lock(&self.irqs);
        let Some(irqs) = irqs.as_ref() else { return Ok(()) };
        let (kind, vector) = match op {
            Op::Arm { kind } => (*kind, None),
            Op::WaitIrq(w) | Op::Write { irq: Some(w), .. } => (w.kind, w.vector),
            _ => return Ok(()),
        };
        if let Some(k) = kind.filter(|k| *k != irqs.kind()) {
            let why = format!("{} interrupts are armed in this session (one mechanism per session)", irqs.kind());
            return Err(Error::invalid(k.name(), why).with_device(self.device.device()));
        }
        if let Some(v) = vector.filter(|v| *v >= irqs.vectors()) {
            let kind = BackendError::NoSuchVector { kind: irqs.kind(), vectors: irqs.vectors(), vector: v };
            return Err(Error::on(self.device.device(), kind));
        }
        Ok(())
    }

    // ---- DMA

    /// A DMA buffer of `len` bytes at `iova` (None: the lowest free one from
    /// [`FIRST_IOVA`] up) under a DMA mask of `mask_bits`.
    pub fn dma_alloc(&self, len: usize, iova: Option<u64>, mask_bits: u32) -> Result<outcome::DmaInfo> {
        lock(&self.dma).alloc(self.device.backend(), len, iova, mask_bits)
    }

    /// The DMA buffer `id`.
    pub fn dma(&self, id: usize) -> Result<Arc<DmaBuffer>> {
        lock(&self.dma).get(id)
    }

    /// Unmap and free the DMA buffer `id`; false when it was already.
    pub fn dma_free(&self, id: usize) -> bool {
        lock(&self.dma).free(id)
    }

    /// The BARs and DMA buffers mapped so far, each with the mapping
    /// `/proc/self/smaps` lists for it. Windows open at their first access, so
    /// a BAR not yet read or written is not there.
    pub fn maps(&self) -> Result<Vec<MapEntry>> {
        let via = self.device.backend().kind().to_string();
        let mut entries: Vec<MapEntry> = lock(&self.windows)
            .iter()
            .map(|o| MapEntry {
                what: format!("BAR{}", o.bar),
                via: via.clone(),
                iova: None,
                address: o.window.io().as_mmio().map(|r| r.base_ptr() as u64),
                len: o.window.io().len(),
                mapping: None,
            })
            .collect();
        entries.sort_by(|a, b| a.what.cmp(&b.what));
        entries.extend(lock(&self.dma).buffers().map(|(i, b)| MapEntry {
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
}

/// `offset` and `len` of a hexdump of `layout`'s BAR, defaults filled in.
fn hexdump_span(layout: &Layout, offset: Option<u64>, len: Option<u64>) -> (u64, u64) {
    let offset = offset.unwrap_or(0);
    (offset, len.unwrap_or_else(|| DEFAULT_HEXDUMP_LEN.min(layout.len.saturating_sub(offset))))
}

/// The number a prepared operation's value is ([`Session::prepare`] made it one).
fn number(operand: &Operand) -> Result<u64> {
    operand.number().ok_or_else(|| Error::invalid(operand.to_string(), "a value by name that was not prepared"))
}

fn check_wait(wait: &IrqWait) -> Result<()> {
    if wait.count == 0 {
        return Err(Error::invalid("0", "wait for at least one interrupt"));
    }
    // A vector the device does not have is found once armed; no vector above
    // 2047 exists anywhere (MSI-X tables end there).
    match wait.vector.filter(|v| *v >= 2048) {
        Some(v) => Err(Error::invalid(v.to_string(), "no device has a vector above 2047")),
        None => Ok(()),
    }
}

/// A value in hex: every digit of `width`, or as few as needed without one.
fn hex(value: u64, width: Option<Width>) -> String {
    match width {
        Some(w) => format!("{value:#0digits$x}", digits = w.hex_digits() + 2),
        None => format!("{value:#x}"),
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
