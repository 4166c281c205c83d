//! `mmiodrv.open()`, `mmiodrv.list()` and the `Device` they give.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mmiodrv::backend::{BackendKind, IrqKind};
use mmiodrv::device::OpenOptions;
use mmiodrv::drivers;
use mmiodrv::error::{Error, ErrorKind};
use mmiodrv::lock::LockMode;
use mmiodrv::outcome::SCHEMA_VERSION;
use mmiodrv::pci::ids::PciIds;
use mmiodrv::pci::{listing, Sysfs};
use mmiodrv::session::{Line, Op};
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::args;
use crate::commands::{py_name, Commands};
use crate::errors::OrRaise;
pub use crate::interrupt::Interrupt;
use crate::json;
use crate::memory::{Bar, DmaBuffer};
use crate::regs::Registers;
use crate::state::Shared;

/// Waits are cut into slices this long, so Ctrl-C (or any signal handler)
/// runs in time while the GIL is released.
const WAIT_SLICE: Duration = Duration::from_millis(100);

/// Open a device: a PCI address (`0000:00:04.0`, `00:04.0`) or IDs
/// (`1234:11e8`) that match exactly one device. `backend` is "auto" (the one
/// the bound kernel driver allows: vfio-pci -> "vfio", uio_pci_generic ->
/// "uio", none -> "sysfs"), "vfio", "uio" or "sysfs". `regmap` is a register
/// map file (TOML, IP-XACT, SVD, SystemRDL or LiteX) for the map's BAR
/// instead of the built-in one, and `block` the block of a file with several;
/// it is loaded and checked before the device is opened. `force` overrides the
/// refusals (another kernel driver bound, decoding off, the map's width rules
/// for raw offsets).
///
/// `host` (`[USER@]HOST[:PORT]`) opens the device on that machine over ssh
/// instead: a `RemoteDevice` (docs/remote.md), its paths (`regmap`, `sim:`)
/// the far side's; `copy=False` refuses to copy a static mmiodrv there
/// (`MMIODRV_REMOTE_BINARY`) when it has none of this version.
#[pyfunction]
#[pyo3(signature = (device, backend = "auto", regmap = None, force = false, block = None, host = None, copy = true))]
#[allow(clippy::too_many_arguments)]
pub fn open(
    py: Python<'_>,
    device: &str,
    backend: &str,
    regmap: Option<std::path::PathBuf>,
    force: bool,
    block: Option<&str>,
    host: Option<&str>,
    copy: bool,
) -> PyResult<Py<PyAny>> {
    let kind: BackendKind = backend.parse().or_raise(py, None)?;
    if let Some(host) = host {
        let remote = crate::remote::open(py, device, host, kind.name(), regmap, force, block, copy)?;
        return Ok(Py::new(py, remote)?.into_any());
    }
    let map = match regmap {
        Some(path) => Some(mmiodrv::session::PlacedMap::load(&path.to_string_lossy(), block, None).or_raise(py, None)?),
        None => None,
    };
    // No lock held for the session's lifetime (an interactive session would
    // otherwise keep every multi-step mmiodrv command waiting): each access
    // and driver command takes it for its own duration (Shared::with_lock).
    let options = OpenOptions { backend: kind, force, lock: None };
    let shared = py.detach(|| Shared::open(device, options, map)).or_raise(py, Some(device))?;
    Ok(Py::new(py, Device { shared: Arc::new(shared) })?.into_any())
}

/// Every PCI function, as dicts with the fields of `mmiodrv list --json`:
/// device, ids, vendor_id, device_id, class (numbers), class_name,
/// vendor_name, device_name, description, kernel_driver, iommu_group,
/// mmiodrv_driver, parent. Reads sysfs only.
#[pyfunction(name = "list")]
pub fn list_devices(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    let rows = py.detach(|| listing::list(&Sysfs::from_env(), &PciIds::load())).or_raise(py, None)?;
    json::serialize(py, &rows)
}

/// An opened device. Close it with `close()` or a `with` block: that
/// releases it (for VFIO, the group, so another process can open it) and
/// every `Bar`, `Registers` and `DmaBuffer` made from it stops working.
#[pyclass(module = "mmiodrv", frozen)]
pub struct Device {
    pub(crate) shared: Arc<Shared>,
}

impl Device {
    fn on(&self) -> Option<&str> {
        Some(&self.shared.name)
    }
}

#[pymethods]
impl Device {
    /// The device, as messages name it ("0000:00:04.0").
    #[getter]
    fn name(&self) -> &str {
        &self.shared.name
    }

    /// Its PCI address.
    #[getter]
    fn address(&self) -> Option<&str> {
        self.shared.address.as_deref()
    }

    /// The backend reaching it: "vfio", "uio" or "sysfs".
    #[getter]
    fn backend(&self) -> &'static str {
        self.shared.backend.name()
    }

    /// The built-in driver that knows it ("edu", "ivshmem", "e1000"), if any.
    #[getter]
    fn driver(&self) -> Option<&'static str> {
        self.shared.driver.map(|d| d.name())
    }

    /// Whether it was closed.
    #[getter]
    fn closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Its BARs: index, kind, address, len (its size in bytes), is_64bit, prefetchable.
    #[getter]
    fn bars<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let bars = py.detach(|| self.shared.with(|o| o.device().backend().bars())).or_raise(py, self.on())?;
        json::serialize(py, &bars)
    }

    /// Run one line of the session language, as a script's line or the pipe
    /// protocol does (`"read ID"`, `"write LIVENESS 0x1 --verify"`,
    /// `"poll STATUS 0 --mask 0x1"`, `"edu factorial 5"`): the same grammar,
    /// executor and results as every front end. Returns each result as the
    /// dict `--json` prints (with its `"op"`); raises as any call does, the
    /// exception's `results` holding what the line made before it failed. A
    /// blank or comment line returns an empty list.
    fn run<'py>(&self, py: Python<'py>, line: &str) -> PyResult<Bound<'py, PyList>> {
        let commands = mmiodrv::session::line_commands();
        // A line that does not parse concerns no device (as in a script).
        let request = match mmiodrv::session::parse_line(line, &commands).or_raise(py, None)? {
            Line::Request(r) => r,
            Line::Nothing => return Ok(PyList::empty(py)),
            Line::Help(path) => {
                let e = Error::invalid(path.join(" "), "help is for the shell: see help(mmiodrv.Device)");
                return Err(e).or_raise(py, None);
            }
        };
        // As one command line holds the device: shared for one access, its
        // own for a multi-step operation; no lock for a wait for interrupts.
        let mode = match &request.op {
            Op::WaitIrq(_) => None,
            op if op.multi_step() => Some(LockMode::Exclusive),
            _ => Some(LockMode::Shared),
        };
        let (outcomes, result) =
            py.detach(|| match self.shared.with_lock_opt(mode, |o| Ok(o.execute_partial(request.op))) {
                Ok(ran) => ran,
                Err(e) => (Vec::new(), Err(e)),
            });
        let objects: Vec<Bound<'py, PyAny>> = outcomes
            .iter()
            .filter_map(|o| o.json_value(SCHEMA_VERSION))
            .map(|v| json::to_py(py, &v))
            .collect::<PyResult<_>>()?;
        let list = PyList::new(py, objects)?;
        if let Err(e) = result {
            let err = crate::errors::to_py(py, &e, self.on());
            err.value(py).setattr("results", &list)?;
            return Err(err);
        }
        Ok(list)
    }

    /// Read a register (`"ID"`), a field (`"ID.MAJOR"`) or an offset (`0x0`,
    /// with `width` in bits, default 32): exactly one access of the declared
    /// width (a 64-bit register the device takes as 32-bit halves: two).
    /// `bar` picks another BAR than the map's.
    #[pyo3(signature = (target, width = None, bar = None))]
    fn read(
        &self,
        py: Python<'_>,
        target: &Bound<'_, PyAny>,
        width: Option<&Bound<'_, PyAny>>,
        bar: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<u64> {
        let (target, width, bar) =
            (|| Ok((args::target(target)?, args::width(width)?, args::opt_small(bar, "bar", u8::MAX as u64)?)))()
                .or_raise(py, self.on())?;
        py.detach(|| self.shared.with_lock(LockMode::Shared, |o| o.read(bar, &target, width).map(|a| a.value)))
            .or_raise(py, self.on())
    }

    /// Write `value` to a register, a field (read-modify-write that changes no
    /// other field) or an offset, checked first: read-only registers, values
    /// that do not fit, widths the device does not take are refused before
    /// anything is written.
    #[pyo3(signature = (target, value, width = None, bar = None))]
    fn write(
        &self,
        py: Python<'_>,
        target: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        width: Option<&Bound<'_, PyAny>>,
        bar: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let (target, value, width, bar) = (|| {
            Ok((
                args::target(target)?,
                args::operand(value, "value")?,
                args::width(width)?,
                args::opt_small(bar, "bar", u8::MAX as u64)?,
            ))
        })()
        .or_raise(py, self.on())?;
        py.detach(|| self.shared.with_lock(LockMode::Shared, |o| o.write(bar, &target, width, value)))
            .or_raise(py, self.on())
    }

    /// Every register of the map, decoded, as dicts (name, offset, width,
    /// access, read_side_effects, value, skipped, fields, description, reset).
    /// Write-only registers and registers whose read has side effects are not
    /// read (value None, skipped says why) unless `all`.
    #[pyo3(signature = (all = false, bar = None))]
    fn dump<'py>(&self, py: Python<'py>, all: bool, bar: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
        let bar = args::opt_small(bar, "bar", u8::MAX as u64).or_raise(py, self.on())?;
        let regs =
            py.detach(|| self.shared.with_lock(LockMode::Shared, |o| o.dump(bar, all))).or_raise(py, self.on())?;
        json::serialize(py, &regs)
    }

    /// The registers of the map by attribute: `dev.regs.ID.value`,
    /// `dev.regs.ID.MAJOR`, `dev.regs.LIVENESS.value = 1` (tab completion
    /// lists them).
    #[getter]
    fn regs(&self) -> Registers {
        Registers::new(self.shared.clone(), None)
    }

    /// BAR `index`, opened read-write, for raw accesses and bulk copies.
    fn bar(&self, py: Python<'_>, index: &Bound<'_, PyAny>) -> PyResult<Bar> {
        let index: u8 = args::small(index, "bar", u8::MAX as u64).or_raise(py, self.on())?;
        let size = py
            .detach(|| self.shared.with(|o| o.window(Some(index)).map(|w| w.layout().len)))
            .or_raise(py, self.on())?;
        Ok(Bar::new(self.shared.clone(), index, size))
    }

    /// Arm interrupts of `kind` ("intx", "msi", "msix"; None: the best the
    /// backend has) and keep them armed until `close()`, `disarm_irq()` or a
    /// driver command (`dev.edu....`: those arm their own when they wait, so
    /// they let go of these first). Arm before starting the work that raises
    /// the interrupt, so it cannot be missed. Returns (kind, vectors).
    #[pyo3(signature = (kind = None))]
    fn arm_irq(&self, py: Python<'_>, kind: Option<&str>) -> PyResult<(&'static str, u32)> {
        let kind = kind.map(str::parse::<IrqKind>).transpose().or_raise(py, self.on())?;
        let (kind, vectors) = py.detach(|| self.shared.with(|o| o.arm(kind))).or_raise(py, self.on())?;
        Ok((kind.name(), vectors))
    }

    /// Disarm the interrupts `arm_irq` or `wait_irq` armed; False when none were.
    fn disarm_irq(&self, py: Python<'_>) -> PyResult<bool> {
        py.detach(|| self.shared.with(|o| Ok(o.disarm()))).or_raise(py, self.on())
    }

    /// Wait up to `timeout` seconds for an interrupt on `vector` (None: any),
    /// arming interrupts of `kind` first if none are armed (see `arm_irq`).
    /// The GIL is released while waiting. Raises `mmiodrv.TimeoutError`.
    #[pyo3(signature = (timeout = None, vector = None, kind = None))]
    fn wait_irq(
        &self,
        py: Python<'_>,
        timeout: Option<&Bound<'_, PyAny>>,
        vector: Option<&Bound<'_, PyAny>>,
        kind: Option<&str>,
    ) -> PyResult<Interrupt> {
        let (timeout, vector, kind) = (|| {
            let timeout = match timeout {
                Some(t) if !t.is_none() => args::seconds(t, "timeout")?,
                _ => Duration::from_secs(1),
            };
            let vector: Option<u32> = args::opt_small(vector, "vector", u32::MAX as u64)?;
            Ok((timeout, vector, kind.map(str::parse::<IrqKind>).transpose()?))
        })()
        .or_raise(py, self.on())?;
        py.detach(|| self.shared.with(|o| o.arm(kind))).or_raise(py, self.on())?;
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let slice = left.min(WAIT_SLICE);
            match py.detach(|| self.shared.with(|o| o.wait(vector, slice))) {
                Ok(e) => return Ok(Interrupt { kind: e.kind.name().into(), vector: e.vector, count: e.count }),
                Err(e) if matches!(e.kind(), ErrorKind::Timeout { .. }) && !left.is_zero() && slice < left => {
                    py.check_signals()?;
                }
                Err(e) => {
                    // The timeout names the whole time waited, not the last slice.
                    let e = match e.kind() {
                        ErrorKind::Timeout { what, .. } => {
                            let ms = timeout.as_millis() as u64;
                            Error::on(self.shared.device_ref(), ErrorKind::Timeout { what: what.clone(), ms })
                        }
                        _ => e,
                    };
                    return Err(e).or_raise(py, self.on());
                }
            }
        }
    }

    /// A DMA buffer of `size` bytes the device reaches at `.iova`, through the
    /// IOMMU (VFIO only). `iova` None picks the lowest free page-aligned IOVA
    /// from 2 MiB up; the buffer must lie under the device's DMA mask of
    /// `mask_bits` bits (edu's is 28). Unmapped by its `close()` or the device's.
    #[pyo3(signature = (size, iova = None, mask_bits = None))]
    fn dma_buffer(
        &self,
        py: Python<'_>,
        size: &Bound<'_, PyAny>,
        iova: Option<&Bound<'_, PyAny>>,
        mask_bits: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<DmaBuffer> {
        let (size, iova, mask_bits) = (|| {
            let size: usize = args::small(size, "size", usize::MAX as u64)?;
            let iova = iova.filter(|i| !i.is_none()).map(|i| args::uint(i, "iova")).transpose()?;
            let mask_bits: Option<u32> = args::opt_small(mask_bits, "mask_bits", 64)?;
            Ok((size, iova, mask_bits.unwrap_or(64).min(64)))
        })()
        .or_raise(py, self.on())?;
        let (id, iova) =
            py.detach(|| self.shared.with(|o| o.dma_alloc(size, iova, mask_bits))).or_raise(py, self.on())?;
        Ok(DmaBuffer::new(self.shared.clone(), id, iova, size))
    }

    /// Release the device: windows closed, DMA buffers unmapped, interrupts
    /// disarmed, the VFIO group released. Closing twice does nothing.
    fn close(&self, py: Python<'_>) {
        py.detach(|| self.shared.close());
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.close(py);
        false
    }

    /// A built-in driver's commands: `dev.edu.factorial(10)`, `dev.e1000.mac()`.
    fn __getattr__(&self, name: &str) -> PyResult<Commands> {
        match drivers::installed().iter().find(|d| !d.commands().is_empty() && py_name(d.name()) == name) {
            Some(d) => Ok(Commands::new(self.shared.clone(), d.name().to_string(), d.commands())),
            None => Err(pyo3::exceptions::PyAttributeError::new_err(format!(
                "'Device' object has no attribute '{name}' (built-in drivers: {})",
                drivers::installed()
                    .iter()
                    .filter(|d| !d.commands().is_empty())
                    .map(|d| d.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    fn __dir__(slf: &Bound<'_, Self>) -> PyResult<Vec<String>> {
        let mut names: Vec<String> = slf.get_type().dir()?.extract()?;
        if let Some(d) = slf.get().shared.driver.filter(|d| !d.commands().is_empty()) {
            names.push(py_name(d.name()));
        }
        Ok(names)
    }

    fn __repr__(&self) -> String {
        let state = if self.shared.is_closed() { ", closed" } else { "" };
        let driver = self.shared.driver.map(|d| format!(" {}", d.name())).unwrap_or_default();
        format!("<mmiodrv.Device {}{driver} ({} backend{state})>", self.shared.name, self.shared.backend)
    }
}
