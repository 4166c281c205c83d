//! The library's error type.
//!
//! Every fallible call returns [`Error`]. Each variant carries enough context to print
//! one line that says what failed and on which device, and [`Error::hint`] gives the
//! fix where there is one. [`Error::exit_code`] maps errors to the CLI's documented
//! exit statuses so scripts can tell a typo from a missing device from a dead one.

use std::io;
use std::path::PathBuf;

/// Shorthand used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Exit statuses of the `mmiodrv` binary, documented in the README.
pub mod exit {
    /// Success.
    pub const OK: i32 = 0;
    /// An error that fits no other class (should not happen; report it).
    pub const OTHER: i32 = 1;
    /// Bad command line: malformed address, value, register name, width.
    pub const USAGE: i32 = 2;
    /// The device, BAR, register or file asked for does not exist.
    pub const NOT_FOUND: i32 = 3;
    /// The operating system refused access (not root, missing udev rules).
    pub const PERMISSION: i32 = 4;
    /// A system call failed while talking to the device.
    pub const IO: i32 = 5;
    /// The device is in a state that forbids the request (bound to another driver,
    /// memory decoding off, busy) or the request breaks a rule of the device.
    pub const DEVICE: i32 = 6;
    /// A register-map file is invalid.
    pub const REGMAP: i32 = 7;
    /// A wait ended without the event arriving.
    pub const TIMEOUT: i32 = 8;
}

/// Everything that can go wrong in mmiodrv.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("malformed device '{input}': expected DDDD:BB:DD.F, BB:DD.F or VVVV:DDDD (hex)")]
    InvalidAddress { input: String },

    #[error("this command needs --device DDDD:BB:DD.F, BB:DD.F or VVVV:DDDD (or MMIODRV_DEVICE)")]
    MissingDevice,

    #[error("no PCI device matches '{selector}'")]
    DeviceNotFound { selector: String },

    #[error("'{selector}' matches {} devices: {}", matches.len(), matches.join(", "))]
    AmbiguousDevice { selector: String, matches: Vec<String> },

    #[error("{device}: permission denied on {}", path.display())]
    Permission { device: String, path: PathBuf, hint: String },

    #[error("{device}: {what} {}: {source}", path.display())]
    Io {
        device: String,
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("{device}: BAR{bar} is not implemented by the device")]
    BarNotPresent { device: String, bar: u8 },

    #[error("{device}: BAR{bar} is an I/O-port BAR; {what} is not supported on it")]
    IoBarUnsupported { device: String, bar: u8, what: &'static str },

    #[error("{device}: BAR{bar} has no write-combining mapping (resource{bar}_wc is missing; only prefetchable BARs have one)")]
    NoWriteCombining { device: String, bar: u8 },

    #[error("{device}: bound to kernel driver '{driver}'; touching its BARs behind the driver's back can corrupt the device")]
    DriverBound { device: String, driver: String },

    #[error("{device}: {space} space decoding is disabled in the COMMAND register; accesses never reach the device (reads return all-ones or zeros, not register contents)")]
    DecodingDisabled { device: String, space: &'static str },

    #[error("offset {offset:#x} + {width} bytes is outside the {len:#x}-byte region")]
    OutOfRange { offset: u64, width: u64, len: u64 },

    #[error("offset {offset:#x} is not aligned to the {width}-byte access width")]
    Misaligned { offset: u64, width: u64 },

    #[error("invalid access width {bits}: expected 8, 16, 32 or 64")]
    InvalidWidth { bits: u32 },

    #[error("{map}: the device takes no {bits}-bit access at offset {offset:#x} (allowed: {allowed})")]
    WidthNotAllowed { map: String, offset: u64, bits: u32, allowed: String },

    #[error("invalid value '{input}': {reason}")]
    InvalidValue { input: String, reason: String },

    #[error("value {value:#x} does not fit in {what} ({bits} bits, max {max:#x})")]
    ValueTooLarge { value: u64, what: String, bits: u32, max: u64 },

    #[error("{file}:{line}: {message}")]
    RegMap { file: String, line: usize, message: String },

    #[error("no register '{name}' in the {map} map{}", suggestion_text(suggestions))]
    RegisterNotFound { name: String, map: String, suggestions: Vec<String> },

    #[error("register {register} has no field '{field}' (fields: {})", fields.join(", "))]
    FieldNotFound { register: String, field: String, fields: Vec<String> },

    #[error("register {register} is read-only")]
    ReadOnly { register: String },

    #[error("register {register} is write-only; reading it returns nothing meaningful")]
    WriteOnly { register: String },

    #[error("reading register {register} has side effects ({description})")]
    ReadSideEffect { register: String, description: String },

    #[error("{device}: {message}")]
    Unsupported { device: String, message: String },

    #[error("{device}: {message}")]
    Busy { device: String, message: String, hint: String },

    #[error("{device}: {message}")]
    Setup { device: String, message: String, hint: String },

    #[error("{device}: timed out after {ms} ms waiting for {what}")]
    Timeout { device: String, what: String, ms: u64 },
}

fn suggestion_text(suggestions: &[String]) -> String {
    if suggestions.is_empty() {
        String::new()
    } else {
        format!(" (did you mean {}?)", suggestions.join(", "))
    }
}

impl Error {
    /// The fix, when there is one, for the CLI to print after the message.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Permission { hint, .. } | Error::Busy { hint, .. } | Error::Setup { hint, .. } => {
                Some(hint.clone()).filter(|h| !h.is_empty())
            }
            Error::DriverBound { device, .. } => Some(format!(
                "bind it to vfio-pci or uio_pci_generic (mmiodrv --device {device} bind vfio-pci), or pass --force if you know the driver is idle"
            )),
            Error::DecodingDisabled { device, space } => Some(format!(
                "enable it (setpci -s {device} COMMAND={}:{}) or pass --force to read anyway",
                if *space == "memory" { "0x2" } else { "0x1" },
                if *space == "memory" { "0x2" } else { "0x1" },
            )),
            Error::ReadSideEffect { .. } => Some("pass --all to read it anyway".into()),
            Error::AmbiguousDevice { .. } => Some("name one by its address".into()),
            Error::DeviceNotFound { .. } | Error::MissingDevice => Some("mmiodrv list shows the devices".into()),
            _ => None,
        }
    }

    /// Whether the message already names the device (so the CLI need not).
    pub fn names_device(&self) -> bool {
        matches!(
            self,
            Error::Permission { .. }
                | Error::Io { .. }
                | Error::BarNotPresent { .. }
                | Error::IoBarUnsupported { .. }
                | Error::NoWriteCombining { .. }
                | Error::DriverBound { .. }
                | Error::DecodingDisabled { .. }
                | Error::Unsupported { .. }
                | Error::Busy { .. }
                | Error::Setup { .. }
                | Error::Timeout { .. }
                | Error::DeviceNotFound { .. }
                | Error::AmbiguousDevice { .. }
                | Error::InvalidAddress { .. }
                | Error::MissingDevice
                | Error::RegMap { .. }
        )
    }

    /// The documented exit status for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::InvalidAddress { .. }
            | Error::MissingDevice
            | Error::InvalidWidth { .. }
            | Error::InvalidValue { .. }
            | Error::ValueTooLarge { .. }
            | Error::Misaligned { .. }
            | Error::OutOfRange { .. }
            | Error::WidthNotAllowed { .. }
            | Error::FieldNotFound { .. }
            | Error::ReadOnly { .. }
            | Error::WriteOnly { .. }
            | Error::ReadSideEffect { .. }
            | Error::AmbiguousDevice { .. } => exit::USAGE,
            Error::DeviceNotFound { .. } | Error::BarNotPresent { .. } | Error::RegisterNotFound { .. } => {
                exit::NOT_FOUND
            }
            Error::Permission { .. } => exit::PERMISSION,
            Error::Io { .. } => exit::IO,
            Error::DriverBound { .. }
            | Error::DecodingDisabled { .. }
            | Error::IoBarUnsupported { .. }
            | Error::NoWriteCombining { .. }
            | Error::Unsupported { .. }
            | Error::Busy { .. }
            | Error::Setup { .. } => exit::DEVICE,
            Error::RegMap { .. } => exit::REGMAP,
            Error::Timeout { .. } => exit::TIMEOUT,
        }
    }

    /// Build an I/O error, turning EACCES/EPERM into [`Error::Permission`] with a hint.
    pub fn io(device: &str, what: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        let path = path.into();
        if source.kind() == io::ErrorKind::PermissionDenied {
            return Error::Permission {
                device: device.to_string(),
                path,
                hint: "run as root, or bind the device to vfio-pci and install the udev rules from udev/ (see README, 'Use without root')".into(),
            };
        }
        Error::Io { device: device.to_string(), what, path, source }
    }
}
