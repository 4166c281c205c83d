//! What a Python `Device` holds: the library's opened device and the
//! library's session on it (its window cache, DMA allocator and armed
//! interrupts: the executor every front end uses), shared with the `Bar`,
//! `Registers` and `DmaBuffer` objects made from it.
//!
//! Every access happens with the GIL released, under a read lock of the
//! state (many threads may run operations at once: the session takes
//! `&self`); `close` takes the write lock, so it waits for accesses in flight
//! and then drops everything at once: windows, DMA buffers (unmapped), armed
//! interrupts (disarmed) and the device (for VFIO, the group is released).

use mmiodrv::error::MapError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use mmiodrv::backend::{BackendKind, DmaBuffer, IrqEvent, IrqKind};
use mmiodrv::command::{Args, Collect, Command};
use mmiodrv::device::{Device, OpenOptions};
use mmiodrv::drivers::DriverInfo;
use mmiodrv::error::{DeviceRef, Error, ErrorKind, Result};
use mmiodrv::lock::LockMode;
use mmiodrv::mmio::Width;
use mmiodrv::outcome::Outcome;
use mmiodrv::session::{At, Op, PlacedMap, Session, SessionOptions};
use mmiodrv::value::Operand;
use mmiodrv::window::{AccessReport, DumpedRegister, Layout, Window};

self_cell::self_cell!(
    /// A device with the session on it.
    struct Opened {
        owner: Device,
        #[not_covariant]
        dependent: Session,
    }
);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Everything that lives while the device is open.
pub struct Open {
    cell: Opened,
}

/// This process's hold on a device's lock between processes: taken by the
/// first call that needs it, shared by the calls that overlap it (threads,
/// several handles on one device), let go by the last. A flock belongs to
/// its open file, so two in one process would exclude each other. An
/// exclusive call that overlaps a shared one of this process goes on under
/// the shared lock (other processes still cannot take it exclusively).
pub struct ProcessLock {
    address: mmiodrv::pci::PciAddress,
}

type Held = HashMap<mmiodrv::pci::PciAddress, (usize, mmiodrv::lock::DeviceLock)>;

static HELD: Mutex<Option<Held>> = Mutex::new(None);

impl ProcessLock {
    fn take(address: mmiodrv::pci::PciAddress, mode: LockMode) -> Result<ProcessLock> {
        let mut held = lock(&HELD);
        let held = held.get_or_insert_with(HashMap::new);
        match held.get_mut(&address) {
            Some((users, _)) => *users += 1,
            None => {
                let taken = mmiodrv::lock::acquire(address, mode, mmiodrv::lock::DEFAULT_WAIT)?;
                held.insert(address, (1, taken));
            }
        }
        Ok(ProcessLock { address })
    }
}

impl Drop for ProcessLock {
    fn drop(&mut self) {
        let mut held = lock(&HELD);
        if let Some(held) = held.as_mut() {
            if let Some((users, _)) = held.get_mut(&self.address) {
                *users -= 1;
                if *users == 0 {
                    held.remove(&self.address);
                }
            }
        }
    }
}

/// A device as the Python objects share it.
pub struct Shared {
    /// The device, as messages name it (`0000:00:04.0`).
    pub name: String,
    /// Its PCI address, when it has one.
    pub address: Option<String>,
    /// The backend reaching it.
    pub backend: BackendKind,
    /// The built-in driver that knows it.
    pub driver: Option<&'static DriverInfo>,
    device: DeviceRef,
    /// The PCI device whose lock between processes accesses take (none for
    /// `file:`/`sim:` devices, or when opened with `force=True`).
    locked: Option<mmiodrv::pci::PciAddress>,
    state: RwLock<Option<Open>>,
}

impl Shared {
    /// Open `spec` (checked, and the map loaded, by the caller).
    pub fn open(spec: &str, options: OpenOptions, map: Option<PlacedMap>) -> Result<Shared> {
        let force = options.force;
        let device = Device::open(spec, options)?;
        let name = device.device();
        Ok(Shared {
            name: name.to_string(),
            address: device.address().map(|a| a.to_string()),
            backend: device.backend().kind(),
            driver: device.driver(),
            device: name,
            locked: device.address().filter(|_| !force),
            state: RwLock::new(Some(Open {
                cell: Opened::new(device, |d| Session::new(d, SessionOptions { map, write_combining: false })),
            })),
        })
    }

    /// Run `f` on the open device; the error for a closed one otherwise.
    pub fn with<T>(&self, f: impl FnOnce(&Open) -> Result<T>) -> Result<T> {
        // A handler Python installed for SIGBUS since (faulthandler.enable())
        // goes behind ours again: a device fault stays an exception.
        mmiodrv::mmio::fault::reassert();
        let guard = self.state.read().unwrap_or_else(|p| p.into_inner());
        match guard.as_ref() {
            Some(open) => f(open),
            None => Err(self.closed()),
        }
    }

    /// [`Shared::with`], holding the device's lock between processes
    /// ([`mmiodrv::lock`]) in `mode` for the call, as one `mmiodrv` command
    /// holds it: a single access shares it, a driver's command has the device
    /// to itself. So a script's accesses never land inside another process's
    /// multi-step command, nor another's inside its own; between calls the
    /// device is free. A holder that keeps it over 2 s is an error naming its
    /// pid, as on the command line. Within this process the lock is one
    /// ([`ProcessLock`]): threads and handles of one script do not exclude
    /// each other.
    pub fn with_lock<T>(&self, mode: LockMode, f: impl FnOnce(&Open) -> Result<T>) -> Result<T> {
        self.with_lock_opt(Some(mode), f)
    }

    /// [`Shared::with_lock`] when `mode` is some, [`Shared::with`] otherwise.
    pub fn with_lock_opt<T>(&self, mode: Option<LockMode>, f: impl FnOnce(&Open) -> Result<T>) -> Result<T> {
        let _lock = match (self.locked, mode) {
            (Some(address), Some(mode)) => Some(ProcessLock::take(address, mode)?),
            _ => None,
        };
        self.with(f)
    }

    /// The device, for errors.
    pub fn device_ref(&self) -> DeviceRef {
        self.device.clone()
    }

    /// Run `f` on the open device unless it is closed or being closed (never waits).
    pub fn try_with<T>(&self, f: impl FnOnce(&Open) -> T) -> Option<T> {
        let guard = self.state.try_read().ok()?;
        guard.as_ref().map(f)
    }

    /// The error for using a closed device.
    pub fn closed(&self) -> Error {
        Error::on(self.device.clone(), ErrorKind::Gone { why: "closed: open it again with mmiodrv.open()".into() })
    }

    /// Close: waits for accesses in flight, then releases everything. False
    /// when it was closed already.
    pub fn close(&self) -> bool {
        let open = self.state.write().unwrap_or_else(|p| p.into_inner()).take();
        open.is_some()
    }

    /// Whether it is closed.
    pub fn is_closed(&self) -> bool {
        self.state.read().unwrap_or_else(|p| p.into_inner()).is_none()
    }
}

impl Open {
    /// The library's device.
    pub fn device(&self) -> &Device {
        self.cell.borrow_owner()
    }

    fn session<T>(&self, f: impl FnOnce(&Session<'_>) -> T) -> T {
        self.cell.with_dependent(|_, session| f(session))
    }

    /// Run `op` through the session; its results.
    pub fn execute(&self, op: Op) -> Result<Vec<Outcome>> {
        let (outcomes, result) = self.execute_partial(op);
        result.map(|()| outcomes)
    }

    /// Run `op` through the session: the results it made, and how it ended
    /// (an operation can fail after a result: a verified write that did not stick).
    pub fn execute_partial(&self, op: Op) -> (Vec<Outcome>, Result<()>) {
        self.session(|s| {
            let mut out = Collect::default();
            let result = s.execute(op, &mut out);
            (out.0, result)
        })
    }

    /// Read `target` (a register, `REG.FIELD` or an offset) as `read` does.
    pub fn read(&self, bar: Option<u8>, target: &str, width: Option<Width>) -> Result<AccessReport> {
        let op = Op::Read(At { target: target.to_string(), width, bar });
        match self.execute(op)?.pop() {
            Some(Outcome::Read(access)) => Ok(access),
            _ => Err(Error::invalid(target, "the read returned nothing")),
        }
    }

    /// Write `value` to `target` as `write` does.
    pub fn write(&self, bar: Option<u8>, target: &str, width: Option<Width>, value: Operand) -> Result<()> {
        let op = Op::Write { at: At { target: target.to_string(), width, bar }, value, verify: false, irq: None };
        self.execute(op).map(drop)
    }

    /// Every register of the map of `bar`, as `dump-regs` reads them.
    pub fn dump(&self, bar: Option<u8>, all: bool) -> Result<Vec<DumpedRegister>> {
        let layout = self.layout(bar)?;
        if layout.map().is_none() {
            return Err(MapError::NoMap { name: format!("BAR{}", layout.bar) }.into());
        }
        match self.execute(Op::Dump { bar, all, registers: Vec::new(), diff_reset: false })?.pop() {
            Some(Outcome::DumpRegs(d)) => Ok(d.registers),
            _ => Err(MapError::NoMap { name: format!("BAR{}", layout.bar) }.into()),
        }
    }

    /// A driver's command, run by the session (which lets go of the
    /// interrupts armed here first: the command arms its own); its results.
    pub fn run_command(&self, command: &'static Command, path: String, args: Args) -> Result<Vec<Outcome>> {
        self.execute(Op::Driver { command, path, args })
    }

    /// The layout of `bar` (None: the map's BAR, else BAR0), known without
    /// opening it.
    pub fn layout(&self, bar: Option<u8>) -> Result<Arc<Layout>> {
        self.session(|s| s.layout(bar))
    }

    /// The window on `bar`, opened (read-write) on first use.
    pub fn window(&self, bar: Option<u8>) -> Result<Arc<Window>> {
        self.session(|s| s.window(bar, true))
    }

    /// Arm interrupts of `kind` (None: the best the device has), unless they
    /// are armed already (with that kind, when one is asked for).
    pub fn arm(&self, kind: Option<IrqKind>) -> Result<(IrqKind, u32)> {
        self.session(|s| s.arm(kind))
    }

    /// Disarm; false when nothing was armed.
    pub fn disarm(&self) -> bool {
        self.session(|s| s.disarm())
    }

    /// Wait up to `timeout` for `vector` (any when None) on the armed interrupts.
    pub fn wait(&self, vector: Option<u32>, timeout: Duration) -> Result<IrqEvent> {
        self.session(|s| s.wait_one(vector, timeout))
    }

    /// A DMA buffer of `len` bytes at `iova` (None: the lowest free one from
    /// 2 MiB up) under a DMA mask of `mask_bits`: its id and IOVA.
    pub fn dma_alloc(&self, len: usize, iova: Option<u64>, mask_bits: u32) -> Result<(u64, u64)> {
        let info = self.session(|s| s.dma_alloc(len, iova, mask_bits))?;
        Ok((info.buffer as u64, info.iova))
    }

    /// The DMA buffer `id`, unless it was freed.
    pub fn dma(&self, id: u64) -> Option<Arc<DmaBuffer>> {
        self.session(|s| s.dma(id as usize).ok())
    }

    /// Unmap and free the DMA buffer `id`; false when it was already.
    pub fn dma_free(&self, id: u64) -> bool {
        self.session(|s| s.dma_free(id as usize))
    }
}
