//! What went wrong, as values.
//!
//! Every fallible call returns [`Error`]: a pointer-sized handle (so that
//! `Result<u64>` travels in two registers on the register-access hot path)
//! around an [`ErrorKind`] with structured fields, the device it concerns
//! ([`DeviceRef`]) when known, and `#[source]` chains where a system error
//! lies underneath.
//!
//! Each module declares its own errors, as vm-memory does: register accesses
//! ([`AccessError`]), register maps ([`MapError`]), PCI functions
//! ([`PciError`]), backends ([`BackendError`]), recordings
//! ([`ObserveError`]), remote hosts ([`RemoteError`]) and the udev device
//! list ([`GrantError`]). [`ErrorKind`] is one of those, or one of the few
//! failures every layer shares (bad input, the system refusing, a wait
//! timing out, a stop). Each module's error knows its class and its remedy.
//!
//! Two facts about each error are meant for front ends, which render them in
//! their own words: [`Error::class`] (what kind of failure, which the CLI maps
//! to its documented exit statuses) and [`Error::remedy`] (what would fix it, a
//! [`Remedy`] value; the CLI prints it with its own flag names, a Python
//! binding with its keyword arguments). The library itself never names a
//! command-line flag and never exits.

pub mod class;
pub mod remedy;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

pub use crate::backend::error::{BackendError, VfioError};
pub use crate::grant::error::GrantError;
pub use crate::mmio::error::AccessError;
pub use crate::observe::error::ObserveError;
use crate::pci::address::PciAddress;
pub use crate::pci::error::PciError;
pub use crate::regmap::error::MapError;
pub use crate::remote::error::RemoteError;
pub use class::ErrorClass;
pub use remedy::Remedy;

/// Shorthand used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The device an error concerns: a PCI function, or one of the non-PCI
/// devices mmiodrv can open.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "schema",
    schemars(
        description = "A device, as the command line names it: a PCI address (DDDD:BB:DD.F), file:PATH, sim:PATH, ivshmem server PATH, or the name a snapshot or trace recorded"
    )
)]
#[serde(into = "String")]
pub enum DeviceRef {
    /// A PCI function.
    Pci(PciAddress),
    /// A shared-memory file on the host (`file:PATH`).
    File(PathBuf),
    /// A simulated device built from a register map (`sim:PATH`).
    Sim(PathBuf),
    /// An ivshmem server's socket.
    Server(PathBuf),
    /// Anonymous RAM standing in for a device (tests, examples).
    Ram,
    /// A device as a snapshot or trace recorded it (by its name then).
    Recorded(String),
}

impl fmt::Display for DeviceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceRef::Pci(a) => a.fmt(f),
            DeviceRef::File(p) => write!(f, "file:{}", p.display()),
            DeviceRef::Sim(p) => write!(f, "sim:{}", p.display()),
            DeviceRef::Server(p) => write!(f, "ivshmem server {}", p.display()),
            DeviceRef::Ram => f.write_str("ram"),
            DeviceRef::Recorded(name) => f.write_str(name),
        }
    }
}

impl From<DeviceRef> for String {
    fn from(d: DeviceRef) -> String {
        d.to_string()
    }
}

impl From<String> for DeviceRef {
    fn from(name: String) -> DeviceRef {
        DeviceRef::Recorded(name)
    }
}

impl From<PciAddress> for DeviceRef {
    fn from(a: PciAddress) -> Self {
        DeviceRef::Pci(a)
    }
}

/// Every way an operation can fail: one module's error, or a failure every
/// layer shares.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A register access refused before it was made.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// A register map that does not load, or a request it refuses.
    #[error(transparent)]
    Map(#[from] MapError),
    /// A PCI function not found, not parsed, or not to be touched now.
    #[error(transparent)]
    Pci(#[from] PciError),
    /// A backend refusing or failing.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// A snapshot or trace that does not read or fit.
    #[error(transparent)]
    Observe(#[from] ObserveError),
    /// A remote host not reached, lost, or reporting an error.
    #[error(transparent)]
    Remote(#[from] RemoteError),
    /// The udev device list refused.
    #[error(transparent)]
    Grant(#[from] GrantError),

    /// A command needs a device and none was named.
    #[error("no device given: name one by address, selector or IDs")]
    MissingDevice,

    /// A line of a script (or a command line) that does not parse: an
    /// unknown command, a missing or extra argument.
    #[error("{message}")]
    Syntax {
        /// What is wrong, as the parser says it.
        message: String,
    },

    /// A value that does not parse or is not allowed.
    #[error("invalid value '{input}': {reason}")]
    InvalidValue {
        /// What was given.
        input: String,
        /// Why it is not accepted.
        reason: String,
    },

    /// A value wider than its register, field or argument.
    #[error("value {value:#x} does not fit in {what} ({bits} bits, max {max:#x})")]
    ValueTooLarge {
        /// The value.
        value: u64,
        /// What it concerns.
        what: String,
        /// Width in bits.
        bits: u32,
        /// Largest value that fits.
        max: u64,
    },

    /// A FIFO, device or directory where a file was expected.
    #[error("{what} must be a regular file, and {} is not", path.display())]
    NotARegularFile {
        /// What it concerns.
        what: &'static str,
        /// The file.
        path: PathBuf,
    },

    /// A file beyond what is read.
    #[error("{} is larger than the {limit}-byte limit for {what}", path.display())]
    FileTooLarge {
        /// What it concerns.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The limit in bytes.
        limit: u64,
    },

    /// The system refused access.
    #[error("permission denied on {}", path.display())]
    Permission {
        /// The file.
        path: PathBuf,
        /// The fix.
        remedy: Remedy,
    },

    /// A system call failed.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What it concerns.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// Not the device a driver drives.
    #[error("not {expected_name} device (IDs {:04x}:{:04x}, expected {:04x}:{:04x})", found.0, found.1, expected.0, expected.1)]
    WrongDevice {
        /// The device expected.
        expected_name: String,
        /// The IDs expected.
        expected: (u16, u16),
        /// The IDs found.
        found: (u16, u16),
    },

    /// The device is busy with something else.
    #[error("{what} ({why})")]
    Busy {
        /// What it concerns.
        what: &'static str,
        /// Why.
        why: String,
        /// The fix.
        remedy: Remedy,
    },

    /// A register read something other than what a script expected.
    #[error("{target} reads {read:#x}, expected {expected}")]
    Mismatch {
        /// What was read.
        target: String,
        /// The value (and mask) expected.
        expected: String,
        /// The value read.
        read: u64,
    },

    /// A register did not hold what was written.
    #[error("verify failed: wrote {wrote}, read back {read} (the register does not hold what was written)")]
    VerifyFailed {
        /// What was written.
        wrote: String,
        /// What was read back.
        read: String,
    },

    /// A register read something it must not.
    #[error("{register} reads {value:#x}: {why}")]
    UnexpectedValue {
        /// The register.
        register: &'static str,
        /// The value.
        value: u64,
        /// Why.
        why: &'static str,
    },

    /// An interrupt without the expected cause.
    #[error("an interrupt arrived but {register} is {value:#x}, without the {what} bit {bit:#x}")]
    UnexpectedInterrupt {
        /// The register.
        register: &'static str,
        /// The value.
        value: u64,
        /// What it concerns.
        what: &'static str,
        /// The bit expected.
        bit: u64,
    },

    /// A request this device or file cannot serve.
    #[error("{what} is not supported: {why}")]
    NotSupported {
        /// What it concerns.
        what: &'static str,
        /// Why.
        why: String,
    },

    /// A peer broke its protocol.
    #[error("protocol error: {what}")]
    Protocol {
        /// What it concerns.
        what: String,
    },

    /// No server listens on the socket.
    #[error("no server is listening on this socket")]
    NoServer,

    /// Something changed underneath.
    #[error("{what} changed while mmiodrv was using it ({why})")]
    Changed {
        /// What it concerns.
        what: &'static str,
        /// Why.
        why: String,
    },

    /// The directory of the device locks is not one only root and the
    /// `mmiodrv` group can write (or a lock file in it is not a lock file):
    /// a lock there could be taken or removed by anyone.
    #[error("unsafe lock {}: {why}", path.display())]
    UnsafeLock {
        /// The directory or file.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
        /// The fix.
        remedy: Remedy,
    },

    /// A check found problems or differences (after printing them).
    #[error("{what}")]
    Findings {
        /// What was found, in one line (`2 registers differ between a.json and b.json`).
        what: String,
    },

    /// A wait ended without the event.
    #[error("timed out after {ms} ms waiting for {what}")]
    Timeout {
        /// What it concerns.
        what: String,
        /// Milliseconds waited.
        ms: u64,
    },

    /// The kernel asked for the device back.
    #[error("the kernel asked for the device back: it is being removed or unbound")]
    ReleaseRequested,

    /// The device disappeared.
    #[error("the device is gone ({why})")]
    Gone {
        /// Why.
        why: String,
    },

    /// A signal stopped the operation.
    #[error("interrupted by {signal}{}", if done.is_empty() { String::new() } else { format!("; {done}") })]
    Interrupted {
        /// The signal.
        signal: &'static str,
        /// What was done to stop safely.
        done: String,
    },
}

impl ErrorKind {
    /// The class of this failure.
    pub fn class(&self) -> ErrorClass {
        use ErrorKind::*;
        match self {
            Access(e) => e.class(),
            Map(e) => e.class(),
            Pci(e) => e.class(),
            Backend(e) => e.class(),
            Observe(e) => e.class(),
            Remote(e) => e.class(),
            Grant(e) => e.class(),
            MissingDevice
            | Syntax { .. }
            | InvalidValue { .. }
            | ValueTooLarge { .. }
            | NotARegularFile { .. }
            | FileTooLarge { .. } => ErrorClass::Usage,
            Permission { .. } => ErrorClass::Permission,
            Io { .. } => ErrorClass::Io,
            Timeout { .. } => ErrorClass::Timeout,
            ReleaseRequested | Gone { .. } => ErrorClass::Released,
            Interrupted { .. } => ErrorClass::Interrupted,
            Findings { .. } => ErrorClass::Findings,
            WrongDevice { .. }
            | Busy { .. }
            | Mismatch { .. }
            | VerifyFailed { .. }
            | UnexpectedValue { .. }
            | UnexpectedInterrupt { .. }
            | NotSupported { .. }
            | Protocol { .. }
            | NoServer
            | Changed { .. }
            | UnsafeLock { .. } => ErrorClass::Refused,
        }
    }
}

macro_rules! module_errors {
    ($($module:ty),*) => {$(
        impl From<$module> for Error {
            #[cold]
            fn from(kind: $module) -> Self {
                Error::new(kind)
            }
        }
    )*};
}
module_errors!(AccessError, MapError, PciError, BackendError, ObserveError, RemoteError, GrantError);

impl From<crate::pci::address::InvalidAddress> for Error {
    #[cold]
    fn from(e: crate::pci::address::InvalidAddress) -> Self {
        Error::new(PciError::from(e))
    }
}

struct Inner {
    device: Option<DeviceRef>,
    kind: ErrorKind,
}

/// An error: an [`ErrorKind`], the device it concerns when known, and its
/// source chain. Pointer-sized.
pub struct Error(Box<Inner>);

impl Error {
    /// An error about no device in particular (yet).
    #[cold]
    pub fn new(kind: impl Into<ErrorKind>) -> Self {
        Error(Box::new(Inner { device: None, kind: kind.into() }))
    }

    /// An error about `device`.
    #[cold]
    pub fn on(device: impl Into<DeviceRef>, kind: impl Into<ErrorKind>) -> Self {
        Error(Box::new(Inner { device: Some(device.into()), kind: kind.into() }))
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.0.kind
    }

    /// The device it concerns, when known.
    pub fn device(&self) -> Option<&DeviceRef> {
        self.0.device.as_ref()
    }

    /// Tag the error with `device` unless it already names one.
    #[cold]
    pub fn with_device(mut self, device: impl Into<DeviceRef>) -> Self {
        if self.0.device.is_none() {
            self.0.device = Some(device.into());
        }
        self
    }

    /// The class of failure.
    pub fn class(&self) -> ErrorClass {
        self.0.kind.class()
    }

    /// What would fix it, when something would.
    pub fn remedy(&self) -> Option<Remedy> {
        use ErrorKind::*;
        let pci = match &self.0.device {
            Some(DeviceRef::Pci(a)) => Some(*a),
            _ => None,
        };
        match &self.0.kind {
            Access(_) => None,
            Map(e) => e.remedy(),
            Pci(e) => e.remedy(pci),
            Backend(e) => e.remedy(pci),
            Observe(e) => e.remedy(),
            Remote(e) => e.remedy(),
            Grant(e) => e.remedy(),
            Permission { remedy, .. } | Busy { remedy, .. } | UnsafeLock { remedy, .. } => Some(remedy.clone()),
            MissingDevice => Some(Remedy::ListDevices),
            NoServer => Some(Remedy::StartServer),
            _ => None,
        }
    }

    /// Whether the device named in the message is already the error's own
    /// (front ends add the device they opened otherwise).
    pub fn names_device(&self) -> bool {
        self.0.device.is_some()
            || match &self.0.kind {
                ErrorKind::Pci(e) => e.names_device(),
                ErrorKind::Map(e) => e.names_place(),
                ErrorKind::Observe(ObserveError::InvalidFile { .. })
                | ErrorKind::Remote(RemoteError::Reported { .. }) => true,
                ErrorKind::MissingDevice | ErrorKind::Syntax { .. } => true,
                _ => false,
            }
    }

    /// A failed system call on `path`, doing `what` ("cannot open").
    /// EACCES/EPERM become [`ErrorKind::Permission`].
    #[cold]
    pub fn io(what: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        let path = path.into();
        if source.kind() == io::ErrorKind::PermissionDenied {
            return Error::new(ErrorKind::Permission { path, remedy: Remedy::RootOrUdev });
        }
        Error::new(ErrorKind::Io { what, path, source })
    }

    /// [`Error::io`] about `device`.
    #[cold]
    pub fn io_on(device: impl Into<DeviceRef>, what: &'static str, path: impl AsRef<Path>, source: io::Error) -> Self {
        Error::io(what, path.as_ref(), source).with_device(device)
    }

    /// An invalid input value with the reason.
    #[cold]
    pub fn invalid(input: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidValue { input: input.into(), reason: reason.into() })
    }
}

impl From<ErrorKind> for Error {
    #[cold]
    fn from(kind: ErrorKind) -> Self {
        Error::new(kind)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0.device {
            Some(d) => write!(f, "{d}: {}", self.0.kind),
            None => self.0.kind.fmt(f),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error").field("device", &self.0.device).field("kind", &self.0.kind).finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.0.kind)
    }
}

const _: () = assert!(std::mem::size_of::<Error>() == std::mem::size_of::<usize>());
const _: () = assert!(std::mem::size_of::<Result<u64>>() == 2 * std::mem::size_of::<usize>());

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_device_once() {
        let a = PciAddress::parse("ffff:00:04.0").unwrap();
        let e = Error::on(a, MapError::ReadOnly { register: "ID".into() });
        assert_eq!(e.to_string(), "ffff:00:04.0: register ID is read-only");
        assert_eq!(e.class(), ErrorClass::Usage);
        let e = e.with_device(DeviceRef::Ram);
        assert_eq!(e.device(), Some(&DeviceRef::Pci(a)), "the first device stays");
    }

    #[test]
    fn remedies_carry_facts_not_flags() {
        let a = PciAddress::parse("ffff:00:04.0").unwrap();
        let e = Error::on(a, BackendError::DriverBound { driver: "e1000".into() });
        assert_eq!(e.remedy(), Some(Remedy::BindOrForce { device: a }));
        let e = Error::io("cannot open", "/dev/vfio/3", io::Error::from(io::ErrorKind::PermissionDenied));
        assert_eq!(e.class(), ErrorClass::Permission);
        let e = Error::new(BackendError::Memlock { len: 8192, soft: 4096, hard: u64::MAX, locked: 0 });
        assert_eq!(e.remedy(), Some(Remedy::RaiseMemlock { need_kib: 8, hard: None }));
    }

    #[test]
    fn sources_chain() {
        let e = Error::io("cannot read", "/x", io::Error::other("boom"));
        assert_eq!(std::error::Error::source(&e).map(|s| s.to_string()).as_deref(), Some("boom"));
    }
}
