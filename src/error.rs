//! What went wrong, as values.
//!
//! Every fallible call returns [`Error`]: a pointer-sized handle (so that
//! `Result<u64>` travels in two registers on the register-access hot path)
//! around an [`ErrorKind`] with structured fields, the device it concerns
//! ([`DeviceRef`]) when known, and `#[source]` chains where a system error
//! lies underneath.
//!
//! Two facts about each error are meant for front ends, which render them in
//! their own words: [`Error::class`] (what kind of failure, which the CLI maps
//! to its documented exit statuses) and [`Error::remedy`] (what would fix it, a
//! [`Remedy`] value; the CLI prints it with its own flag names, a Python
//! binding with its keyword arguments). The library itself never names a
//! command-line flag and never exits.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::backend::{BackendKind, IrqKind};
use crate::mmio::Width;
use crate::pci::PciAddress;

/// What a VFIO ioctl returns on failure (`vfio_ioctls::VfioError`; a build
/// without the library's `vfio` feature makes no VFIO call, and has none).
#[cfg(feature = "vfio")]
pub type VfioError = vfio_ioctls::VfioError;

/// What a VFIO ioctl returns on failure: none in a build without the
/// library's `vfio` feature.
#[cfg(not(feature = "vfio"))]
#[derive(Debug)]
pub enum VfioError {}

#[cfg(not(feature = "vfio"))]
impl std::fmt::Display for VfioError {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {}
    }
}

#[cfg(not(feature = "vfio"))]
impl std::error::Error for VfioError {}
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

/// What kind of failure an error is. Front ends map classes to their own
/// outcomes (the CLI: exit statuses, documented in the README).
/// In JSON (an error object's `class`), its name as [`ErrorClass::name`] gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum ErrorClass {
    /// Bad input: malformed address, value, width, name; a request the map
    /// forbids (read-only, write-only, out of range).
    Usage,
    /// No such device, BAR, register or file.
    NotFound,
    /// The operating system refused access.
    Permission,
    /// A system call failed.
    Io,
    /// The device (or the system around it) refuses the request in its
    /// current state: bound elsewhere, decoding off, busy, in use, unsupported
    /// by this backend or device, not what it was expected to be.
    Refused,
    /// A register-map file is invalid.
    InvalidMap,
    /// A wait ended without the event.
    Timeout,
    /// The kernel asked for the device back (removal or unbind) and it was
    /// released, or it disappeared while in use.
    Released,
    /// A signal stopped the operation; it was rolled back or finished safely.
    Interrupted,
    /// A check ran and found what it looks for: problems (doctor, regmap
    /// check) or differences (diff). Not a failure to run.
    Findings,
    /// The connection to a remote host was lost while a command ran there:
    /// it may have run in part (the message names the last line done).
    Disconnected,
    /// A remote host could not be reached or logged into, or has no
    /// mmiodrv of this version that can run: nothing ran there.
    Unreachable,
}

// ---- python: exit statuses and class names shared by the CLI and the Python module
impl ErrorClass {
    /// Every class.
    pub const ALL: [ErrorClass; 12] = [
        ErrorClass::Usage,
        ErrorClass::NotFound,
        ErrorClass::Permission,
        ErrorClass::Io,
        ErrorClass::Refused,
        ErrorClass::InvalidMap,
        ErrorClass::Timeout,
        ErrorClass::Released,
        ErrorClass::Interrupted,
        ErrorClass::Findings,
        ErrorClass::Disconnected,
        ErrorClass::Unreachable,
    ];

    /// The class named `name` ([`ErrorClass::name`]).
    pub fn from_name(name: &str) -> Option<ErrorClass> {
        ErrorClass::ALL.into_iter().find(|c| c.name() == name)
    }

    /// Its name, as in this enum (the Python exception classes are named after it).
    pub const fn name(self) -> &'static str {
        match self {
            ErrorClass::Usage => "Usage",
            ErrorClass::NotFound => "NotFound",
            ErrorClass::Permission => "Permission",
            ErrorClass::Io => "Io",
            ErrorClass::Refused => "Refused",
            ErrorClass::InvalidMap => "InvalidMap",
            ErrorClass::Timeout => "Timeout",
            ErrorClass::Released => "Released",
            ErrorClass::Interrupted => "Interrupted",
            ErrorClass::Findings => "Findings",
            ErrorClass::Disconnected => "Disconnected",
            ErrorClass::Unreachable => "Unreachable",
        }
    }

    /// The exit status of the command line for this class (README, "Exit
    /// codes"); the Python module's `Error.exit_code` is the same number.
    pub const fn exit_code(self) -> i32 {
        match self {
            ErrorClass::Usage => 2,
            ErrorClass::NotFound => 3,
            ErrorClass::Permission => 4,
            ErrorClass::Io => 5,
            ErrorClass::Refused => 6,
            ErrorClass::InvalidMap => 7,
            ErrorClass::Timeout => 8,
            ErrorClass::Released => 9,
            ErrorClass::Interrupted => 130,
            ErrorClass::Findings => 10,
            ErrorClass::Disconnected => 11,
            ErrorClass::Unreachable => 12,
        }
    }
}

/// A userspace driver mmiodrv has a backend for. The one list of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum UserspaceDriver {
    /// `vfio-pci`: the VFIO backend.
    #[serde(rename = "vfio-pci")]
    VfioPci,
    /// `uio_pci_generic`: the UIO backend.
    #[serde(rename = "uio_pci_generic")]
    UioPciGeneric,
}

impl UserspaceDriver {
    /// Every userspace driver, in order of preference.
    pub const ALL: [UserspaceDriver; 2] = [UserspaceDriver::VfioPci, UserspaceDriver::UioPciGeneric];

    /// The kernel's name for it.
    pub const fn name(self) -> &'static str {
        match self {
            UserspaceDriver::VfioPci => "vfio-pci",
            UserspaceDriver::UioPciGeneric => "uio_pci_generic",
        }
    }

    /// The kernel module that provides it.
    pub const fn module(self) -> &'static str {
        match self {
            UserspaceDriver::VfioPci => "vfio_pci",
            UserspaceDriver::UioPciGeneric => "uio_pci_generic",
        }
    }

    /// The backend that works through it.
    pub const fn backend(self) -> BackendKind {
        match self {
            UserspaceDriver::VfioPci => BackendKind::Vfio,
            UserspaceDriver::UioPciGeneric => BackendKind::Uio,
        }
    }

    /// The userspace driver with this kernel name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.name() == name)
    }
}

impl fmt::Display for UserspaceDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Memory or I/O-port space, for decoding errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Space {
    /// Memory space (COMMAND bit 1).
    Memory,
    /// I/O-port space (COMMAND bit 0).
    Io,
}

impl fmt::Display for Space {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Space::Memory => "memory",
            Space::Io => "I/O",
        })
    }
}

/// What would fix an error. Front ends render these in their own terms.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Remedy {
    /// Bind the device to a userspace driver.
    Bind {
        /// The device.
        device: PciAddress,
        /// The driver.
        driver: UserspaceDriver,
    },
    /// Bind the device to a userspace driver, or override the refusal if the
    /// kernel driver is known to be idle.
    BindOrForce {
        /// The device.
        device: PciAddress,
    },
    /// Open it with the backend that matches its driver, or bind it to the one asked for.
    MatchBackend {
        /// The device.
        device: PciAddress,
        /// The driver.
        driver: UserspaceDriver,
    },
    /// Turn on decoding in COMMAND, or override the refusal.
    EnableDecoding {
        /// The device.
        device: PciAddress,
        /// Memory or I/O.
        space: Space,
    },
    /// Override the refusal, if you are sure.
    Force,
    /// Read registers whose read has side effects anyway.
    ReadAll,
    /// Name one device by its address.
    NameOne,
    /// List the devices to find the right one.
    ListDevices,
    /// Run as root, or set up the udev rules for VFIO.
    RootOrUdev,
    /// The node is root-only: install the udev rules.
    InstallUdevRules {
        /// The device node.
        node: PathBuf,
    },
    /// Join the group that owns the node.
    JoinGroup {
        /// The device node.
        node: PathBuf,
        /// The Unix group that owns it.
        group: String,
    },
    /// `/dev/vfio/vfio` should be world-accessible.
    ChmodVfioContainer,
    /// Load a kernel module.
    LoadModule {
        /// The module.
        module: String,
    },
    /// Wait until another process lets go of the device.
    WaitForHolder {
        /// The device node.
        node: Option<PathBuf>,
    },
    /// Bind (or unbind) every other member of the IOMMU group.
    FreeIommuGroup,
    /// Turn the IOMMU on, or use UIO.
    EnableIommu {
        /// The device.
        device: PciAddress,
    },
    /// Use UIO instead of VFIO.
    UseUio {
        /// The device.
        device: PciAddress,
    },
    /// Raise the locked-memory limit.
    RaiseMemlock {
        /// KiB needed.
        need_kib: u64,
        /// Hard limit in bytes.
        hard: Option<u64>,
    },
    /// Stop using the device (umount, swapoff, interface down) or override.
    StopUsing,
    /// Wait for the processes holding the device to let go (or stop them).
    WaitForHolders,
    /// Wait for the operation in progress to finish, then retry.
    RetryWhenIdle,
    /// Start an ivshmem server.
    StartServer,
    /// Use a smaller request.
    Smaller,
    // ---- regmap formats
    /// Name one block of a map file of several.
    ChooseBlock,
    /// Install a Python package into the Python mmiodrv runs.
    PipInstall {
        /// The Python interpreter.
        python: String,
        /// The package.
        package: &'static str,
    },
    /// Let this front end copy its own build to a remote host that has no
    /// mmiodrv of its version (or install that version there).
    AllowCopy {
        /// The host.
        host: String,
    },
    /// Free text, for fixes that name no front-end option.
    Text(String),
}

impl fmt::Display for Remedy {
    /// Front-end-neutral wording. The CLI has its own, naming its options.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Remedy::Bind { device, driver } => write!(f, "bind {device} to {driver}"),
            Remedy::BindOrForce { device } => {
                write!(f, "bind {device} to vfio-pci or uio_pci_generic, or force access if its driver is idle")
            }
            Remedy::MatchBackend { device, driver } => {
                write!(f, "bind {device} to {driver}, or let the backend follow the bound driver")
            }
            Remedy::EnableDecoding { device, space } => {
                write!(f, "enable {space} decoding in {device}'s COMMAND register, or force access")
            }
            Remedy::Force => f.write_str("force it if you are sure"),
            Remedy::ReadAll => f.write_str("ask for registers with read side effects explicitly"),
            Remedy::NameOne => f.write_str("name one by its address"),
            Remedy::ListDevices => f.write_str("list the devices to find it"),
            Remedy::RootOrUdev => f.write_str(
                "run as root, or bind the device to vfio-pci and have an administrator name it for the mmiodrv group (udev/install.sh --allow)",
            ),
            Remedy::InstallUdevRules { node } => write!(
                f,
                "{} is root-only: have an administrator name the device for the mmiodrv group (udev/install.sh --allow)",
                node.display()
            ),
            Remedy::JoinGroup { node, group } => {
                write!(f, "{} belongs to group {group}: join it and log in again", node.display())
            }
            Remedy::ChmodVfioContainer => f.write_str("/dev/vfio/vfio should be mode 0666"),
            Remedy::LoadModule { module } => write!(f, "load the kernel module {module}"),
            Remedy::WaitForHolder { .. } => f.write_str("wait for the other process to finish"),
            Remedy::FreeIommuGroup => {
                f.write_str("bind every other device of the IOMMU group to vfio-pci or unbind it")
            }
            Remedy::EnableIommu { .. } => f.write_str("turn the IOMMU on (intel_iommu=on or amd_iommu=on), or use UIO"),
            Remedy::UseUio { device } => write!(f, "use UIO instead: bind {device} to uio_pci_generic"),
            Remedy::RaiseMemlock { need_kib, .. } => write!(f, "raise RLIMIT_MEMLOCK to at least {need_kib} KiB"),
            Remedy::StopUsing => f.write_str("stop using the device first (umount, swapoff, ip link set down)"),
            Remedy::WaitForHolders => f.write_str("wait for the processes holding the device to let go, or stop them"),
            Remedy::RetryWhenIdle => f.write_str("wait for it to finish and retry"),
            Remedy::StartServer => f.write_str("start an ivshmem server"),
            Remedy::Smaller => f.write_str("use a smaller request"),
            Remedy::ChooseBlock => f.write_str("name one of the blocks"),
            Remedy::PipInstall { python, package } => write!(f, "{python} -m pip install {package}"),
            Remedy::AllowCopy { host } => {
                write!(f, "let mmiodrv copy this build to {host}, or install mmiodrv {} there", crate::remote::VERSION)
            }
            Remedy::Text(t) => f.write_str(t),
        }
    }
}

/// Why a device may not be unbound or bound: what the in-use checks found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InUse {
    /// A block device of it is mounted.
    Mounted {
        /// The block device.
        block: String,
        /// Where it is mounted.
        target: String,
    },
    /// A block device of it is active swap.
    Swap {
        /// The block device.
        block: String,
    },
    /// A block device of it is held by device-mapper or md.
    Held {
        /// The block device.
        block: String,
        /// Its holders.
        holders: Vec<String>,
    },
    /// A network interface of it is up.
    InterfaceUp {
        /// The interface.
        interface: String,
    },
    /// It is a bridge with devices behind it.
    Bridge {
        /// The devices behind it.
        children: Vec<PciAddress>,
    },
    /// SR-IOV virtual functions of it are bound to drivers (unbinding the
    /// physical function removes them).
    VirtualFunctions {
        /// Each virtual function and its driver.
        vfs: Vec<(PciAddress, String)>,
    },
    /// A console is on it (a framebuffer console, or the VGA console of the
    /// boot VGA device).
    Console {
        /// Which console.
        what: String,
    },
    /// Another process holds it open through VFIO or UIO.
    OpenBy {
        /// The device node.
        node: PathBuf,
        /// Processes holding it.
        pids: Vec<u32>,
    },
    /// Another mmiodrv process holds its lock.
    Locked {
        /// The process holding it (one that has the locked file open, not
        /// merely the pid that took the lock).
        pid: Option<u32>,
        /// Its user, when it is not the one asking.
        user: Option<String>,
    },
    /// The lock is held only by processes whose user cannot use the device
    /// (no write access to its node): squatted, not shared.
    LockSquatted {
        /// The process holding it.
        pid: u32,
        /// Its user.
        user: String,
        /// The node it cannot write.
        node: PathBuf,
    },
}

impl fmt::Display for InUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InUse::Mounted { block, target } => write!(f, "block device {block} is mounted on {target}"),
            InUse::Swap { block } => write!(f, "block device {block} is in use as swap"),
            InUse::Held { block, holders } => write!(f, "block device {block} is held by {}", holders.join(", ")),
            InUse::InterfaceUp { interface } => write!(f, "network interface {interface} is up"),
            InUse::Bridge { children } => write!(f, "it is a bridge to {}", join(children)),
            InUse::VirtualFunctions { vfs } => write!(
                f,
                "its SR-IOV virtual functions {} are in use (unbinding it removes them)",
                vfs.iter().map(|(a, d)| format!("{a} (bound to {d})")).collect::<Vec<_>>().join(", ")
            ),
            InUse::Console { what } => write!(f, "{what} is on it"),
            InUse::OpenBy { node, pids } if pids.is_empty() => {
                write!(f, "{} is open in another process", node.display())
            }
            InUse::OpenBy { node, pids } => write!(f, "{} is open in process {}", node.display(), join(pids)),
            InUse::Locked { pid: Some(pid), user: None } => write!(f, "mmiodrv process {pid} is using it"),
            InUse::Locked { pid: Some(pid), user: Some(user) } => {
                write!(f, "mmiodrv process {pid} of user {user} is using it")
            }
            InUse::Locked { pid: None, .. } => f.write_str("another mmiodrv process is using it"),
            InUse::LockSquatted { pid, user, node } => write!(
                f,
                "its lock is held by process {pid} of user {user}, who cannot use the device (no write access to {}): \
                 the lock is squatted, not shared",
                node.display()
            ),
        }
    }
}

/// A member of an IOMMU group and the host driver it is bound to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupMember {
    /// Its address.
    pub address: PciAddress,
    /// The host driver it is bound to.
    pub driver: String,
    /// What keeps it busy, if anything.
    pub in_use: Vec<InUse>,
}

impl fmt::Display for GroupMember {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (bound to {}", self.address, self.driver)?;
        for why in &self.in_use {
            write!(f, "; {why}")?;
        }
        f.write_str(")")
    }
}

fn join<T: fmt::Display>(items: &[T]) -> String {
    items.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
}

fn suggestion_text(suggestions: &[String]) -> String {
    if suggestions.is_empty() {
        String::new()
    } else {
        format!(" (did you mean {}?)", suggestions.join(", "))
    }
}

fn problems_text(file: &str, problems: &[(usize, String)]) -> String {
    match problems {
        [] => format!("{file}: invalid"),
        [(line, message)] => format!("{file}:{line}: {message}"),
        [(line, message), rest @ ..] => format!("{file}:{line}: {message} (and {} more problem(s))", rest.len()),
    }
}

/// Every way an operation can fail, with the facts of each case.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    // ------------------------------------------------------------ input
    /// A PCI address or selector that does not parse.
    #[error("malformed device '{input}': expected DDDD:BB:DD.F, BB:DD.F or VVVV:DDDD (hex)")]
    InvalidAddress {
        /// What was given.
        input: String,
    },

    /// A device filter that does not parse.
    #[error("malformed selector '{input}': {reason}")]
    InvalidSelector {
        /// What was given.
        input: String,
        /// Why it is not accepted.
        reason: &'static str,
    },

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

    /// An access width other than 8, 16, 32, 64.
    #[error("invalid access width {bits}: expected 8, 16, 32 or 64")]
    InvalidWidth {
        /// Width in bits.
        bits: u32,
    },

    /// An access outside its window.
    #[error("offset {offset:#x} + {width} bytes is outside the {len:#x}-byte region")]
    OutOfRange {
        /// Offset in the window.
        offset: u64,
        /// Access width (bytes or bits, as the message says).
        width: u64,
        /// Length in bytes.
        len: u64,
    },

    /// An access not aligned to its width.
    #[error("offset {offset:#x} is not aligned to the {width}-byte access width")]
    Misaligned {
        /// Offset in the window.
        offset: u64,
        /// Access width (bytes or bits, as the message says).
        width: u64,
    },

    /// A width the register map says the device does not take there.
    #[error("{map}: the device takes no {bits}-bit access at offset {offset:#x} (allowed: {allowed})")]
    WidthNotAllowed {
        /// The map.
        map: String,
        /// Offset in the window.
        offset: u64,
        /// Width in bits.
        bits: u32,
        /// The widths allowed there.
        allowed: String,
    },

    /// A width the window cannot make.
    #[error("{window} takes no {width} accesses")]
    WidthNotSupported {
        /// The window.
        window: String,
        /// Access width (bytes or bits, as the message says).
        width: Width,
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

    // ------------------------------------------------------------ maps
    /// An invalid register-map file.
    #[error("{file}:{line}: {message}")]
    RegMap {
        /// The map file.
        file: String,
        /// 1-based line.
        line: usize,
        /// The problem.
        message: String,
    },

    /// No register by that name.
    #[error("no register '{name}' in the {map} map{}", suggestion_text(suggestions))]
    RegisterNotFound {
        /// The name given.
        name: String,
        /// The map.
        map: String,
        /// Names that share a prefix.
        suggestions: Vec<String>,
    },

    /// No field by that name.
    #[error("register {register} has no field '{field}' (fields: {})", fields.join(", "))]
    FieldNotFound {
        /// The register.
        register: String,
        /// The field asked for.
        field: String,
        /// Its fields.
        fields: Vec<String>,
    },

    /// A register name more than one block of a map has.
    #[error("register '{name}' is in several blocks of the {map} map ({}): name one as BLOCK.REGISTER", names.join(", "))]
    RegisterAmbiguous {
        /// The name given.
        name: String,
        /// The map.
        map: String,
        /// The registers of that name, qualified by their blocks.
        names: Vec<String>,
    },

    /// A register-map file with several problems (one [`ErrorKind::RegMap`] each).
    #[error("{}", problems_text(file, problems))]
    RegMapProblems {
        /// The map file.
        file: String,
        /// Every problem found: (1-based line, problem), in line order.
        problems: Vec<(usize, String)>,
    },

    /// A value given by name that the target does not name.
    #[error("'{name}' is not a named value of {target}{}", if names.is_empty() { ": give a number".to_string() } else { format!(" (names: {})", names.join(", ")) })]
    ValueNameNotFound {
        /// The name given.
        name: String,
        /// The register, field or offset it was given for.
        target: String,
        /// The target's named values.
        names: Vec<String>,
    },

    /// No block by that name in a map file.
    #[error("no block '{name}' in {file} (blocks: {})", blocks.join(", "))]
    BlockNotFound {
        /// The name given.
        name: String,
        /// The map file.
        file: String,
        /// The blocks there are.
        blocks: Vec<String>,
    },

    // ---- regmap formats
    /// A map file of several blocks, and no block named.
    #[error("{file} has several blocks ({}): name one", blocks.join(", "))]
    BlockAmbiguous {
        /// The map file.
        file: String,
        /// The blocks there are.
        blocks: Vec<String>,
    },

    /// A map format whose reader needs a tool that is not installed.
    #[error("reading {what} needs {tool}, which is not available ({why})")]
    ToolMissing {
        /// The format.
        what: &'static str,
        /// The tool.
        tool: &'static str,
        /// What failed.
        why: String,
        /// How to install it.
        remedy: Remedy,
    },

    /// A write to a read-only register or field.
    #[error("register {register} is read-only")]
    ReadOnly {
        /// The register.
        register: String,
    },

    /// A read of a write-only register.
    #[error("register {register} is write-only; reading it returns nothing meaningful")]
    WriteOnly {
        /// The register.
        register: String,
    },

    /// A read the caller did not ask for would change the device.
    #[error("reading register {register} has side effects ({why})")]
    ReadSideEffect {
        /// The register.
        register: String,
        /// Why.
        why: String,
    },

    /// A register name with no map to look it up in.
    #[error("register names need a register map (a known device or a map file); give an offset instead of '{name}'")]
    NoMap {
        /// The name given.
        name: String,
    },

    // ------------------------------------------------------------ selection and OS
    /// No device matches.
    #[error("no PCI device matches '{selector}'")]
    DeviceNotFound {
        /// The selector.
        selector: String,
    },

    /// More than one device matches.
    #[error("'{selector}' matches {} devices: {}", matches.len(), join(matches))]
    AmbiguousDevice {
        /// The selector.
        selector: String,
        /// Every device it matches.
        matches: Vec<PciAddress>,
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

    // ------------------------------------------------------------ device state
    /// The device has no such BAR.
    #[error("BAR{bar} is not implemented by the device")]
    BarNotPresent {
        /// BAR index.
        bar: u8,
    },

    /// An operation I/O-port BARs do not support.
    #[error("BAR{bar} is an I/O-port BAR; {what} is not supported on it")]
    IoBarUnsupported {
        /// BAR index.
        bar: u8,
        /// What it concerns.
        what: &'static str,
    },

    /// No write-combining mapping of the BAR.
    #[error("BAR{bar} has no write-combining mapping (resource{bar}_wc is missing; only prefetchable BARs have one)")]
    NoWriteCombining {
        /// BAR index.
        bar: u8,
    },

    /// A BAR too large to map here.
    #[error("BAR{bar} ({size:#x} bytes) is too large to map on this platform")]
    BarTooLarge {
        /// BAR index.
        bar: u8,
        /// Size in bytes.
        size: u64,
    },

    /// A BAR that could not be memory-mapped.
    #[error("BAR{bar} could not be memory-mapped ({why})")]
    NotMapped {
        /// BAR index.
        bar: u8,
        /// Why.
        why: &'static str,
    },

    /// A write through a read-only window.
    #[error("this window was opened read-only; writes need a writable open")]
    NotWritable,

    /// Another kernel driver owns the device.
    #[error("bound to kernel driver '{driver}'; touching its BARs behind the driver's back can corrupt the device")]
    DriverBound {
        /// The driver.
        driver: String,
    },

    /// COMMAND has the decoding off.
    #[error("{space} space decoding is disabled in the COMMAND register; accesses never reach the device (reads return all-ones or zeros, not register contents)")]
    DecodingDisabled {
        /// Memory or I/O.
        space: Space,
    },

    /// The backend asked for does not match the bound driver.
    #[error("the {backend} backend needs the device bound to {driver}, but it is bound to {}", bound.as_deref().unwrap_or("no driver"))]
    BackendMismatch {
        /// The backend.
        backend: BackendKind,
        /// The driver.
        driver: UserspaceDriver,
        /// The driver it is bound to.
        bound: Option<String>,
    },

    /// The BARs belong to VFIO's user.
    #[error("the device is bound to vfio-pci, so its BARs belong to VFIO; the {backend} backend would go behind VFIO's back")]
    OwnedByVfio {
        /// The backend.
        backend: BackendKind,
    },

    /// The backend lacks a capability.
    #[error("the {backend} backend has no {what}")]
    BackendCannot {
        /// The backend.
        backend: BackendKind,
        /// What it concerns.
        what: &'static str,
        /// The fix.
        remedy: Remedy,
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

    /// Too little config space is readable.
    #[error("only {len} bytes of config space are readable; {need} are needed")]
    ConfigTooShort {
        /// Length in bytes.
        len: usize,
        /// Bytes needed.
        need: usize,
    },

    /// The device lacks the interrupt asked for.
    #[error("the device has no {} (it has: {})", kind.map(|k| format!("{k} interrupt")).unwrap_or_else(|| "interrupts".into()), if available.is_empty() { "none".to_string() } else { join(available) })]
    NoInterrupt {
        /// The mechanism.
        kind: Option<IrqKind>,
        /// What the device has.
        available: Vec<IrqKind>,
    },

    /// A vector beyond those armed.
    #[error("{kind} has {vectors} vector(s); there is no vector {vector}")]
    NoSuchVector {
        /// The mechanism.
        kind: IrqKind,
        /// Vectors armed.
        vectors: u32,
        /// The vector asked for.
        vector: u32,
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

    /// The system uses the device.
    #[error("refusing to {action} a device in use: {}", reasons.iter().map(|r| r.to_string()).collect::<Vec<_>>().join("; "))]
    InUse {
        /// What was refused.
        action: &'static str,
        /// What keeps it busy.
        reasons: Vec<InUse>,
    },

    /// Other IOMMU group members are in use by host drivers.
    #[error("its IOMMU group also holds devices under host drivers: {}", join(members))]
    GroupInUse {
        /// The group members in the way.
        members: Vec<GroupMember>,
    },

    /// The IOMMU group cannot be opened.
    #[error("IOMMU group {group} is not viable: its other members {} are bound to host drivers", join(members))]
    GroupNotViable {
        /// The IOMMU group.
        group: u32,
        /// The group members in the way.
        members: Vec<GroupMember>,
    },

    /// The device is in no IOMMU group.
    #[error("the device is in no IOMMU group (the IOMMU is absent or off), so VFIO cannot use it")]
    NoIommuGroup,

    /// VFIO's unsafe no-IOMMU mode.
    #[error("VFIO group {group} is in no-IOMMU mode (/dev/vfio/noiommu-{group}), which vfio-ioctls cannot use")]
    NoIommuMode {
        /// The IOMMU group.
        group: u32,
    },

    /// Another process holds the VFIO group.
    #[error("VFIO group {group} is already open in another process (a group can be open in one process at a time)")]
    GroupBusy {
        /// The IOMMU group.
        group: u32,
    },

    /// A kernel driver module could not be loaded.
    #[error("kernel driver {driver} is not loaded and `modprobe {driver}` {why}")]
    ModuleLoad {
        /// The driver.
        driver: String,
        /// Why.
        why: String,
    },

    /// The kernel driver did not take the device.
    #[error("{driver} did not take the device (see dmesg)")]
    DriverDidNotBind {
        /// The driver.
        driver: String,
    },

    /// The kernel did not unbind the device.
    #[error("the kernel did not unbind the device from {driver}")]
    DidNotUnbind {
        /// The driver.
        driver: String,
    },

    /// A driver mmiodrv does not bind to.
    #[error("mmiodrv binds only to vfio-pci or uio_pci_generic, not '{driver}'")]
    NotBindable {
        /// The driver.
        driver: String,
    },

    /// No /dev/uioN for the device.
    #[error("no UIO device node: the device is not bound to uio_pci_generic")]
    NoUioNode,

    /// A VFIO operation failed.
    #[error("VFIO: {what}: {source}")]
    Vfio {
        /// What it concerns.
        what: &'static str,
        /// The underlying error.
        #[source]
        source: VfioError,
        /// The fix.
        remedy: Option<Remedy>,
    },

    /// RLIMIT_MEMLOCK stopped a DMA mapping.
    #[error("cannot pin {len} bytes for DMA: the locked-memory limit (RLIMIT_MEMLOCK, ulimit -l) is {}{}", kib(*soft), if *locked > 0 { format!(", {} of it in use", kib(*locked)) } else { String::new() })]
    Memlock {
        /// Length in bytes.
        len: u64,
        /// Soft limit in bytes.
        soft: u64,
        /// Hard limit in bytes.
        hard: u64,
        /// Bytes already locked.
        locked: u64,
    },

    /// Memory for DMA ran out.
    #[error("cannot pin {len} bytes for DMA: out of memory")]
    DmaOutOfMemory {
        /// Length in bytes.
        len: u64,
    },

    /// An IOVA beyond the device's DMA mask.
    #[error("IOVA {iova:#x} + {len:#x} bytes exceeds the device's {mask_bits}-bit DMA mask (limit {limit:#x})")]
    IovaBeyondMask {
        /// The IOVA.
        iova: u64,
        /// Length in bytes.
        len: u64,
        /// The DMA mask width.
        mask_bits: u32,
        /// The limit in bytes.
        limit: u64,
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

    // ---- udev grants
    /// The device list of the udev rules (`/etc/mmiodrv/devices`) is refused:
    /// unsafe to trust, or not in its format. The rules grant nothing while
    /// it is so.
    #[error("device list {}: {problem}", path.display())]
    DeviceList {
        /// The list.
        path: PathBuf,
        /// What is wrong.
        problem: crate::grant::ListProblem,
    },

    // ------------------------------------------------------------ observe
    /// A snapshot or trace file that does not read as one.
    #[error("{}:{line}: not a valid {what}: {message}", file.display())]
    InvalidFile {
        /// What it should be.
        what: &'static str,
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
        /// The problem.
        message: String,
    },

    /// A trace recorded on another kind of device.
    #[error("{} was recorded on {recorded}, this device has {found}; its writes could do anything here", trace.display())]
    TraceFromOtherDevice {
        /// The trace.
        trace: PathBuf,
        /// The device and IDs it was recorded on.
        recorded: String,
        /// This device's IDs.
        found: String,
    },

    /// Replayed reads that did not return what the trace recorded.
    #[error("{mismatches} replayed read(s) differ from the trace (first: {first})")]
    ReplayMismatch {
        /// How many.
        mismatches: usize,
        /// The first, described.
        first: String,
    },

    // ---- ecosystem: config registers by name
    /// setpci's own refusal, in its words (the `setpci` command): the
    /// command line renders it as setpci does, and exits 1 as setpci does.
    #[error("{message}")]
    Setpci {
        /// setpci's message, as it prints it after `setpci: `.
        message: String,
        /// Found while reading the arguments: setpci then adds a line on `--help`.
        usage: bool,
    },

    /// A capability the device does not have (`CAP_EXP+2.w` on a PCI device).
    #[error("the device has no {capability} capability ({target})")]
    CapabilityNotFound {
        /// The capability as named (`CAP_EXP`, `ECAP_AER`).
        capability: String,
        /// The target given.
        target: String,
    },

    // ------------------------------------------------------------ waiting, faults
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

    // ------------------------------------------------------------ remote hosts
    /// A remote host could not be reached, or its mmiodrv did not start.
    #[error("cannot reach {host}: {why}")]
    Unreachable {
        /// The host, as given.
        host: String,
        /// What ssh or the far side said.
        why: String,
    },

    /// The connection to a remote host was lost while a command ran there.
    #[error("the connection to {host} was lost {after}")]
    Disconnected {
        /// The host, as given.
        host: String,
        /// How far the command got (`after line 12 of s.txt was done`).
        after: String,
    },

    /// A remote host has no mmiodrv of this version, and none was copied there.
    #[error("{host} has no mmiodrv {version} ({why})")]
    NoRemoteMmiodrv {
        /// The host, as given.
        host: String,
        /// The version needed.
        version: &'static str,
        /// Why none was copied.
        why: String,
        /// What would fix it.
        remedy: Remedy,
    },

    /// An error of a command that ran on a remote host, as it reported it
    /// (its message names the host).
    #[error("{message}")]
    Remote {
        /// The host, as given.
        host: String,
        /// The far side's message (without its fix).
        message: String,
        /// Its class there.
        class: ErrorClass,
        /// Its exit status there.
        exit: i32,
        /// The device it names, if any.
        device: Option<String>,
        /// Its fix, as the far side worded it.
        fix: Option<String>,
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

fn kib(bytes: u64) -> String {
    if bytes == u64::MAX {
        "unlimited".into()
    } else {
        format!("{} KiB", bytes / 1024)
    }
}

impl ErrorKind {
    /// The class of this failure.
    pub fn class(&self) -> ErrorClass {
        use ErrorKind::*;
        match self {
            InvalidAddress { .. }
            | InvalidSelector { .. }
            | Setpci { .. }
            | MissingDevice
            | Syntax { .. }
            | InvalidValue { .. }
            | ValueTooLarge { .. }
            | InvalidWidth { .. }
            | OutOfRange { .. }
            | Misaligned { .. }
            | WidthNotAllowed { .. }
            | NotARegularFile { .. }
            | FileTooLarge { .. }
            | FieldNotFound { .. }
            | ValueNameNotFound { .. }
            | ReadOnly { .. }
            | WriteOnly { .. }
            | ReadSideEffect { .. }
            | NoMap { .. }
            | AmbiguousDevice { .. }
            | NotBindable { .. }
            | IovaBeyondMask { .. }
            | NoSuchVector { .. }
            | InvalidFile { .. }
            | RegisterAmbiguous { .. }
            | BlockAmbiguous { .. } => ErrorClass::Usage,
            DeviceList { problem, .. } if problem.is_syntax() => ErrorClass::Usage,
            DeviceList { .. } => ErrorClass::Refused,
            DeviceNotFound { .. }
            | BarNotPresent { .. }
            | RegisterNotFound { .. }
            | BlockNotFound { .. }
            | CapabilityNotFound { .. } => ErrorClass::NotFound,
            Permission { .. } => ErrorClass::Permission,
            Io { .. } => ErrorClass::Io,
            RegMap { .. } | RegMapProblems { .. } => ErrorClass::InvalidMap,
            Timeout { .. } => ErrorClass::Timeout,
            ReleaseRequested | Gone { .. } => ErrorClass::Released,
            Interrupted { .. } => ErrorClass::Interrupted,
            Findings { .. } => ErrorClass::Findings,
            Disconnected { .. } => ErrorClass::Disconnected,
            Unreachable { .. } => ErrorClass::Unreachable,
            NoRemoteMmiodrv { .. } => ErrorClass::Unreachable,
            Remote { class, .. } => *class,
            WidthNotSupported { .. }
            | IoBarUnsupported { .. }
            | NoWriteCombining { .. }
            | BarTooLarge { .. }
            | NotMapped { .. }
            | NotWritable
            | DriverBound { .. }
            | DecodingDisabled { .. }
            | BackendMismatch { .. }
            | OwnedByVfio { .. }
            | BackendCannot { .. }
            | WrongDevice { .. }
            | ConfigTooShort { .. }
            | NoInterrupt { .. }
            | Busy { .. }
            | InUse { .. }
            | GroupInUse { .. }
            | GroupNotViable { .. }
            | NoIommuGroup
            | NoIommuMode { .. }
            | GroupBusy { .. }
            | ModuleLoad { .. }
            | DriverDidNotBind { .. }
            | DidNotUnbind { .. }
            | NoUioNode
            | Vfio { .. }
            | Memlock { .. }
            | DmaOutOfMemory { .. }
            | VerifyFailed { .. }
            | Mismatch { .. }
            | UnexpectedValue { .. }
            | UnexpectedInterrupt { .. }
            | NotSupported { .. }
            | Protocol { .. }
            | NoServer
            | Changed { .. }
            | TraceFromOtherDevice { .. }
            | ReplayMismatch { .. }
            | UnsafeLock { .. }
            | ToolMissing { .. } => ErrorClass::Refused,
        }
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
    pub fn new(kind: ErrorKind) -> Self {
        Error(Box::new(Inner { device: None, kind }))
    }

    /// An error about `device`.
    #[cold]
    pub fn on(device: impl Into<DeviceRef>, kind: ErrorKind) -> Self {
        Error(Box::new(Inner { device: Some(device.into()), kind }))
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
            Permission { remedy, .. }
            | Busy { remedy, .. }
            | BackendCannot { remedy, .. }
            | UnsafeLock { remedy, .. }
            | ToolMissing { remedy, .. }
            | NoRemoteMmiodrv { remedy, .. } => Some(remedy.clone()),
            Remote { fix, .. } => fix.clone().map(Remedy::Text),
            BlockAmbiguous { .. } => Some(Remedy::ChooseBlock),
            DeviceList { path, problem } => Some(problem.remedy(path)),
            Vfio { remedy, .. } => remedy.clone(),
            DriverBound { .. } => pci.map(|device| Remedy::BindOrForce { device }),
            DecodingDisabled { space } => pci.map(|device| Remedy::EnableDecoding { device, space: *space }),
            BackendMismatch { driver, .. } => pci.map(|device| Remedy::MatchBackend { device, driver: *driver }),
            OwnedByVfio { .. } | TraceFromOtherDevice { .. } => Some(Remedy::Force),
            ReadSideEffect { .. } => Some(Remedy::ReadAll),
            AmbiguousDevice { .. } => Some(Remedy::NameOne),
            DeviceNotFound { .. } | MissingDevice => Some(Remedy::ListDevices),
            InUse { reasons, .. }
                if reasons
                    .iter()
                    .all(|r| matches!(r, crate::error::InUse::OpenBy { .. } | crate::error::InUse::Locked { .. })) =>
            {
                Some(Remedy::WaitForHolders)
            }
            InUse { reasons, .. } if reasons.iter().any(|r| matches!(r, crate::error::InUse::LockSquatted { .. })) => {
                reasons.iter().find_map(|r| match r {
                    crate::error::InUse::LockSquatted { pid, .. } => Some(Remedy::Text(format!(
                        "stop process {pid} (kill {pid}), which has no business with the device; remove its user from group mmiodrv if it keeps doing so"
                    ))),
                    _ => None,
                })
            }
            InUse { .. } => Some(Remedy::StopUsing),
            GroupInUse { .. } | GroupNotViable { .. } => Some(Remedy::FreeIommuGroup),
            NoIommuGroup => pci.map(|device| Remedy::EnableIommu { device }),
            NoIommuMode { .. } => pci.map(|device| Remedy::UseUio { device }),
            GroupBusy { group } => Some(Remedy::WaitForHolder { node: Some(format!("/dev/vfio/{group}").into()) }),
            ModuleLoad { driver, .. } => Some(Remedy::LoadModule { module: driver.replace('-', "_") }),
            NoUioNode => pci.map(|device| Remedy::Bind { device, driver: UserspaceDriver::UioPciGeneric }),
            Memlock { len, hard, locked, .. } => Some(Remedy::RaiseMemlock {
                need_kib: (locked + len).div_ceil(1024),
                hard: (*hard != u64::MAX).then_some(*hard),
            }),
            DmaOutOfMemory { .. } => Some(Remedy::Smaller),
            NoServer => Some(Remedy::StartServer),
            _ => None,
        }
    }

    /// The exit status for this error: its class's, except that an
    /// interruption is 128 + the signal's number, as shells report it
    /// (SIGINT 130, SIGTERM 143, SIGHUP 129).
    pub fn exit_status(&self) -> i32 {
        match self.kind() {
            // setpci exits 1 on every error, and so does its twin.
            ErrorKind::Setpci { .. } => 1,
            ErrorKind::Interrupted { signal, .. } => {
                signal.parse::<nix::sys::signal::Signal>().map_or(self.class().exit_code(), |s| 128 + s as i32)
            }
            ErrorKind::Remote { exit, .. } => *exit,
            _ => self.class().exit_code(),
        }
    }

    /// Whether the device named in the message is already the error's own
    /// (front ends add the device they opened otherwise).
    pub fn names_device(&self) -> bool {
        self.0.device.is_some()
            || matches!(
                self.0.kind,
                ErrorKind::InvalidAddress { .. }
                    | ErrorKind::InvalidSelector { .. }
                    | ErrorKind::Setpci { .. }
                    | ErrorKind::MissingDevice
                    | ErrorKind::Syntax { .. }
                    | ErrorKind::DeviceNotFound { .. }
                    | ErrorKind::AmbiguousDevice { .. }
                    | ErrorKind::RegMap { .. }
                    | ErrorKind::RegMapProblems { .. }
                    | ErrorKind::InvalidFile { .. }
                    | ErrorKind::Remote { .. }
            )
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
        let e = Error::on(a, ErrorKind::ReadOnly { register: "ID".into() });
        assert_eq!(e.to_string(), "ffff:00:04.0: register ID is read-only");
        assert_eq!(e.class(), ErrorClass::Usage);
        let e = e.with_device(DeviceRef::Ram);
        assert_eq!(e.device(), Some(&DeviceRef::Pci(a)), "the first device stays");
    }

    #[test]
    fn remedies_carry_facts_not_flags() {
        let a = PciAddress::parse("ffff:00:04.0").unwrap();
        let e = Error::on(a, ErrorKind::DriverBound { driver: "e1000".into() });
        assert_eq!(e.remedy(), Some(Remedy::BindOrForce { device: a }));
        let e = Error::io("cannot open", "/dev/vfio/3", io::Error::from(io::ErrorKind::PermissionDenied));
        assert_eq!(e.class(), ErrorClass::Permission);
        let e = Error::new(ErrorKind::Memlock { len: 8192, soft: 4096, hard: u64::MAX, locked: 0 });
        assert_eq!(e.remedy(), Some(Remedy::RaiseMemlock { need_kib: 8, hard: None }));
    }

    #[test]
    fn sources_chain() {
        let e = Error::io("cannot read", "/x", io::Error::other("boom"));
        assert_eq!(std::error::Error::source(&e).map(|s| s.to_string()).as_deref(), Some("boom"));
    }
}
