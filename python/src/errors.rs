//! The library's errors as Python exceptions: one class per [`ErrorClass`]
//! under `mmiodrv.Error` (defined in `mmiodrv/__init__.py`), with the one-line
//! message the command line prints (without its `mmiodrv: error: ` prefix) and
//! remedies worded in this module's own terms (`force=True`, `all=True`,
//! `mmiodrv.list()`), where the command line names its options.

use mmiodrv::error::BackendError;
use mmiodrv::error::{Error, ErrorClass, ErrorKind, Remedy};
use mmiodrv::text::one_line;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

/// The Python class name of an error class: `UsageError`, `NotFoundError`...
pub fn class_name(class: ErrorClass) -> String {
    format!("{}Error", class.name())
}

/// A remedy in Python's terms. Remedies that name no option of a front end
/// are the library's neutral wording ([`Remedy`]'s `Display`).
pub fn remedy(r: &Remedy, e: &Error) -> String {
    match r {
        Remedy::BindOrForce { device } => format!(
            "bind {device} to vfio-pci or uio_pci_generic (mmiodrv --device {device} bind vfio-pci), \
             or pass force=True to mmiodrv.open() if you know its driver is idle"
        ),
        Remedy::MatchBackend { device, driver } => {
            format!("bind {device} to {driver} (mmiodrv --device {device} bind {driver}), or pass backend=\"auto\"")
        }
        Remedy::EnableDecoding { device, space } => {
            let bit = if *space == mmiodrv::pci::space::Space::Memory { "0x2" } else { "0x1" };
            format!("enable it (setpci -s {device} COMMAND={bit}:{bit}) or pass force=True to mmiodrv.open()")
        }
        Remedy::Force => match e.kind() {
            ErrorKind::Backend(BackendError::OwnedByVfio { .. }) => {
                "pass backend=\"vfio\" (or \"auto\"), or force=True to mmiodrv.open() if you are sure".into()
            }
            _ => "pass force=True to mmiodrv.open() if you are sure".into(),
        },
        Remedy::ReadAll => "pass all=True to read it anyway".into(),
        Remedy::ListDevices => "mmiodrv.list() shows the devices".into(),
        Remedy::Bind { device, driver } => {
            format!("bind {device} to {driver} (mmiodrv --device {device} bind {driver})")
        }
        Remedy::RaiseMemlock { need_kib, hard } => format!(
            "raise it to at least {need_kib} KiB: resource.setrlimit(resource.RLIMIT_MEMLOCK, ({n}, hard)) if the \
             hard limit ({}) allows, else as root (see docs/udev.md)",
            hard.map(|h| format!("{} KiB", h / 1024)).unwrap_or_else(|| "unlimited".into()),
            n = need_kib * 1024,
        ),
        Remedy::AllowCopy { host, version } => format!(
            "pass copy=True to mmiodrv.open() to let it copy a static mmiodrv there (MMIODRV_REMOTE_BINARY; docs/remote.md), or install mmiodrv {version} on {host}"
        ),
        other => other.to_string(),
    }
}

/// The message: the error, the device it concerns when it does not name one
/// itself (`on`), and the remedy; always one line.
pub fn message(e: &Error, on: Option<&str>) -> (String, Option<String>, Option<String>) {
    let prefix = match (on, e.names_device()) {
        (Some(d), false) => Some(d.to_string()),
        _ => None,
    };
    let fix = e.remedy().map(|r| remedy(&r, e));
    let head = match &prefix {
        Some(d) => format!("{d}: {e}"),
        None => e.to_string(),
    };
    let line = match &fix {
        Some(f) => format!("{head}; fix: {f}"),
        None => head,
    };
    let device = e.device().map(|d| d.to_string()).or(prefix);
    (one_line(&line), device, fix.map(|f| one_line(&f)))
}

/// The Python exception for `e` (about the device `on`, when the call was).
pub fn to_py(py: Python<'_>, e: &Error, on: Option<&str>) -> PyErr {
    let (line, device, fix) = message(e, on);
    let build = || -> PyResult<PyErr> {
        let cls = py.import("mmiodrv")?.getattr(class_name(e.class()))?;
        let exc = cls.call1((line.clone(),))?;
        exc.setattr("device", device.clone())?;
        exc.setattr("exit_code", mmiodrv::outcome::exit_status(e))?;
        exc.setattr("remedy", fix.clone())?;
        Ok(PyErr::from_value(exc))
    };
    // Only a broken installation (no mmiodrv package around _native) lands here.
    build().unwrap_or_else(|why| PyRuntimeError::new_err(format!("{line} (and mmiodrv's exceptions: {why})")))
}

/// `Result<T, mmiodrv::Error>` into a `PyResult` with the right exception.
pub trait OrRaise<T> {
    /// Raise the error, naming `on` when it names no device of its own.
    fn or_raise(self, py: Python<'_>, on: Option<&str>) -> PyResult<T>;
}

impl<T> OrRaise<T> for mmiodrv::Result<T> {
    fn or_raise(self, py: Python<'_>, on: Option<&str>) -> PyResult<T> {
        self.map_err(|e| to_py(py, &e, on))
    }
}
