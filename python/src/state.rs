//! What a Python `Device` holds: the library's opened device, the register
//! windows opened on it, the interrupts armed on it and its DMA buffers, all
//! shared with the `Bar`, `Registers` and `DmaBuffer` objects made from it.
//!
//! Every access happens with the GIL released, under a read lock of the
//! state (many threads may read registers at once); `close` takes the write
//! lock, so it waits for accesses in flight and then drops everything at once:
//! windows, DMA buffers (unmapped), armed interrupts (disarmed) and the device
//! (for VFIO, the group is released).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use mmiodrv::backend::{BackendKind, DmaBuffer, Interrupts, IrqEvent, IrqKind};
use mmiodrv::device::{Device, OpenOptions};
use mmiodrv::drivers::DriverInfo;
use mmiodrv::error::{DeviceRef, Error, ErrorKind, Result};
use mmiodrv::lock::LockMode;
use mmiodrv::mmio::Width;
use mmiodrv::regmap::RegisterMap;
use mmiodrv::window::{Layout, Resolved, Window};

/// Interrupts armed on a device, which borrow it.
type Armed<'a> = Mutex<Option<Box<dyn Interrupts + 'a>>>;

self_cell::self_cell!(
    /// A device with the interrupts armed on it.
    struct Opened {
        owner: Device,
        #[not_covariant]
        dependent: Armed,
    }
);

/// DMA buffers get IOVAs from here up when none is given. The built-in edu
/// driver's commands map theirs at 1 MiB (`edu::DEFAULT_IOVA`), below this.
const FIRST_IOVA: u64 = 0x20_0000;
const PAGE: u64 = 4096;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn pages(len: u64) -> u64 {
    len.div_ceil(PAGE).saturating_mul(PAGE)
}

#[derive(Default)]
struct Dma {
    next_id: u64,
    buffers: BTreeMap<u64, Arc<DmaBuffer>>,
}

impl Dma {
    /// The lowest page-aligned IOVA from [`FIRST_IOVA`] up where `len` bytes
    /// fit between the live buffers.
    fn free_iova(&self, len: u64) -> u64 {
        let mut spans: Vec<(u64, u64)> =
            self.buffers.values().map(|b| (b.iova(), b.iova().saturating_add(pages(b.len() as u64)))).collect();
        spans.sort_unstable();
        let mut at = FIRST_IOVA;
        for (start, end) in spans {
            if at.saturating_add(pages(len)) <= start {
                break;
            }
            at = at.max(end);
        }
        at
    }
}

/// Everything that lives while the device is open. Fields drop in order:
/// windows and DMA buffers before the device.
pub struct Open {
    windows: Mutex<HashMap<Option<u8>, Arc<Window>>>,
    layouts: Mutex<HashMap<Option<u8>, Arc<Layout>>>,
    dma: Mutex<Dma>,
    map: Option<(RegisterMap, PathBuf)>,
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
    pub fn open(spec: &str, options: OpenOptions, map: Option<(RegisterMap, PathBuf)>) -> Result<Shared> {
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
                windows: Mutex::default(),
                layouts: Mutex::default(),
                dma: Mutex::default(),
                map,
                cell: Opened::new(device, |_| Mutex::new(None)),
            })),
        })
    }

    /// Run `f` on the open device; the error for a closed one otherwise.
    pub fn with<T>(&self, f: impl FnOnce(&Open) -> Result<T>) -> Result<T> {
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

    /// A map given to `open` applies to its own BAR; other BARs have the
    /// built-in driver's map for them, if any.
    fn map_for(&self, bar: Option<u8>) -> Option<(RegisterMap, PathBuf)> {
        match (&self.map, bar) {
            (Some((map, _)), Some(b)) if b != map.bar => None,
            (Some(m), _) => Some(m.clone()),
            (None, _) => None,
        }
    }

    /// The layout of `bar` (None: the map's BAR, else BAR0), known without
    /// opening it.
    pub fn layout(&self, bar: Option<u8>) -> Result<Arc<Layout>> {
        if let Some(l) = lock(&self.layouts).get(&bar) {
            return Ok(l.clone());
        }
        let layout = Arc::new(self.device().layout(bar, self.map_for(bar))?);
        Ok(lock(&self.layouts).entry(bar).or_insert(layout).clone())
    }

    /// The window on `bar`, opened (read-write) on first use. `check` runs on
    /// the layout first, so a bad request fails before the BAR is opened.
    pub fn window(&self, bar: Option<u8>, check: impl FnOnce(&Layout) -> Result<()>) -> Result<Arc<Window>> {
        if let Some(w) = lock(&self.windows).get(&bar) {
            return Ok(w.clone());
        }
        let layout = self.layout(bar)?;
        check(&layout)?;
        let w = Arc::new(self.device().open_window(Layout::clone(&layout), true, false)?);
        Ok(lock(&self.windows).entry(bar).or_insert(w).clone())
    }

    /// Resolve `target` (checked against the layout before the BAR is opened)
    /// and run `f` with the window and the resolved target.
    pub fn access<T>(
        &self,
        bar: Option<u8>,
        target: &str,
        width: Option<Width>,
        f: impl FnOnce(&Window, &Resolved<'_>) -> Result<T>,
    ) -> Result<T> {
        let w = self.window(bar, |l| l.resolve(target, width).map(drop))?;
        let r = w.resolve(target, width)?;
        f(&w, &r)
    }

    /// Arm interrupts of `kind` (None: the best the device has), unless they
    /// are armed already (with that kind, when one is asked for).
    pub fn arm(&self, kind: Option<IrqKind>) -> Result<(IrqKind, u32)> {
        self.cell.with_dependent(|device, armed| {
            let mut armed = lock(armed);
            if let Some(i) = armed.as_ref().filter(|i| kind.is_none_or(|k| k == i.kind())) {
                return Ok((i.kind(), i.vectors()));
            }
            // Disarmed before arming again: VFIO takes one set of eventfds per device.
            *armed = None;
            let irqs = device.interrupts(kind)?;
            let got = (irqs.kind(), irqs.vectors());
            *armed = Some(irqs);
            Ok(got)
        })
    }

    /// Disarm; false when nothing was armed.
    pub fn disarm(&self) -> bool {
        self.cell.with_dependent(|_, armed| lock(armed).take().is_some())
    }

    /// Wait up to `timeout` for `vector` (any when None) on the armed interrupts.
    pub fn wait(&self, vector: Option<u32>, timeout: Duration) -> Result<IrqEvent> {
        self.cell.with_dependent(|_, armed| match lock(armed).as_mut() {
            Some(irqs) => irqs.wait_for(vector, timeout),
            // Armed by the caller just before; only a concurrent disarm gets here.
            None => Err(Error::invalid("wait_irq", "interrupts were disarmed while waiting")),
        })
    }

    /// A DMA buffer of `len` bytes at `iova` (None: the lowest free one from
    /// 2 MiB up) under a DMA mask of `mask_bits`: its id and IOVA.
    pub fn dma_alloc(&self, len: usize, iova: Option<u64>, mask_bits: u32) -> Result<(u64, u64)> {
        let mut dma = lock(&self.dma);
        let iova = iova.unwrap_or_else(|| dma.free_iova(len as u64));
        let buffer = self.device().backend().dma_buffer(len, iova, mask_bits)?;
        let id = dma.next_id;
        dma.next_id += 1;
        dma.buffers.insert(id, Arc::new(buffer));
        Ok((id, iova))
    }

    /// The DMA buffer `id`, unless it was freed.
    pub fn dma(&self, id: u64) -> Option<Arc<DmaBuffer>> {
        lock(&self.dma).buffers.get(&id).cloned()
    }

    /// Unmap and free the DMA buffer `id`; false when it was already.
    pub fn dma_free(&self, id: u64) -> bool {
        lock(&self.dma).buffers.remove(&id).is_some()
    }
}
