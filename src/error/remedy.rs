//! What would fix an error: values each front end words in its own terms
//! (the CLI names its options, Python its keyword arguments).

use std::fmt;
use std::path::PathBuf;

use crate::backend::kind::UserspaceDriver;
use crate::pci::address::PciAddress;
use crate::pci::space::Space;

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
        /// The version it needs there.
        version: &'static str,
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
            Remedy::AllowCopy { host, version } => {
                write!(f, "let mmiodrv copy this build to {host}, or install mmiodrv {version} there")
            }
            Remedy::Text(t) => f.write_str(t),
        }
    }
}
