//! What can go wrong finding, parsing, binding or checking a PCI function, and
//! why the system may be using one. (`crate::error::Error` carries these as
//! [`ErrorKind::Pci`](crate::error::ErrorKind::Pci).)

use std::fmt;
use std::path::PathBuf;

use crate::error::class::ErrorClass;
use crate::error::remedy::Remedy;
use crate::pci::address::PciAddress;
use crate::text::comma_list;

/// A PCI function not found, not parsed, or not to be touched now.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PciError {
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

    /// No device matches.
    #[error("no PCI device matches '{selector}'")]
    DeviceNotFound {
        /// The selector.
        selector: String,
    },

    /// More than one device matches.
    #[error("'{selector}' matches {} devices: {}", matches.len(), comma_list(matches))]
    AmbiguousDevice {
        /// The selector.
        selector: String,
        /// Every device it matches.
        matches: Vec<PciAddress>,
    },

    /// Too little config space is readable.
    #[error("only {len} bytes of config space are readable; {need} are needed")]
    ConfigTooShort {
        /// Length in bytes.
        len: usize,
        /// Bytes needed.
        need: usize,
    },

    /// A capability the device does not have (`CAP_EXP+2.w` on a PCI device).
    #[error("the device has no {capability} capability ({target})")]
    CapabilityNotFound {
        /// The capability as named (`CAP_EXP`, `ECAP_AER`).
        capability: String,
        /// The target given.
        target: String,
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
    #[error("its IOMMU group also holds devices under host drivers: {}", comma_list(members))]
    GroupInUse {
        /// The group members in the way.
        members: Vec<GroupMember>,
    },

    /// The device is in no IOMMU group.
    #[error("the device is in no IOMMU group (the IOMMU is absent or off), so VFIO cannot use it")]
    NoIommuGroup,

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

    /// setpci's own refusal, in its words (the `setpci` command): the
    /// command line renders it as setpci does, and exits 1 as setpci does.
    #[error("{message}")]
    Setpci {
        /// setpci's message, as it prints it after `setpci: `.
        message: String,
        /// Found while reading the arguments: setpci then adds a line on `--help`.
        usage: bool,
    },
}

impl PciError {
    /// The class of this failure.
    pub fn class(&self) -> ErrorClass {
        use PciError::*;
        match self {
            InvalidAddress { .. }
            | InvalidSelector { .. }
            | Setpci { .. }
            | AmbiguousDevice { .. }
            | NotBindable { .. } => ErrorClass::Usage,
            DeviceNotFound { .. } | CapabilityNotFound { .. } => ErrorClass::NotFound,
            ConfigTooShort { .. }
            | InUse { .. }
            | GroupInUse { .. }
            | NoIommuGroup
            | ModuleLoad { .. }
            | DriverDidNotBind { .. }
            | DidNotUnbind { .. } => ErrorClass::Refused,
        }
    }

    /// What would fix it, when something would (`device`: the function the
    /// error is about, when known).
    pub fn remedy(&self, device: Option<PciAddress>) -> Option<Remedy> {
        use PciError::*;
        match self {
            AmbiguousDevice { .. } => Some(Remedy::NameOne),
            DeviceNotFound { .. } => Some(Remedy::ListDevices),
            InUse { reasons, .. } if reasons.iter().all(|r| matches!(r, self::InUse::OpenBy { .. } | self::InUse::Locked { .. })) => {
                Some(Remedy::WaitForHolders)
            }
            InUse { reasons, .. } if reasons.iter().any(|r| matches!(r, self::InUse::LockSquatted { .. })) => {
                reasons.iter().find_map(|r| match r {
                    self::InUse::LockSquatted { pid, .. } => Some(Remedy::Text(format!(
                        "stop process {pid} (kill {pid}), which has no business with the device; remove its user from group mmiodrv if it keeps doing so"
                    ))),
                    _ => None,
                })
            }
            InUse { .. } => Some(Remedy::StopUsing),
            GroupInUse { .. } => Some(Remedy::FreeIommuGroup),
            NoIommuGroup => device.map(|device| Remedy::EnableIommu { device }),
            ModuleLoad { driver, .. } => Some(Remedy::LoadModule { module: driver.replace('-', "_") }),
            _ => None,
        }
    }

    /// Whether the message already names the device (or the text that was
    /// meant to name one).
    pub fn names_device(&self) -> bool {
        use PciError::*;
        matches!(
            self,
            InvalidAddress { .. }
                | InvalidSelector { .. }
                | Setpci { .. }
                | DeviceNotFound { .. }
                | AmbiguousDevice { .. }
        )
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
            InUse::Bridge { children } => write!(f, "it is a bridge to {}", comma_list(children)),
            InUse::VirtualFunctions { vfs } => write!(
                f,
                "its SR-IOV virtual functions {} are in use (unbinding it removes them)",
                vfs.iter().map(|(a, d)| format!("{a} (bound to {d})")).collect::<Vec<_>>().join(", ")
            ),
            InUse::Console { what } => write!(f, "{what} is on it"),
            InUse::OpenBy { node, pids } if pids.is_empty() => {
                write!(f, "{} is open in another process", node.display())
            }
            InUse::OpenBy { node, pids } => write!(f, "{} is open in process {}", node.display(), comma_list(pids)),
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

impl From<crate::pci::address::InvalidAddress> for PciError {
    fn from(e: crate::pci::address::InvalidAddress) -> Self {
        PciError::InvalidAddress { input: e.input }
    }
}
