//! What a backend can refuse or fail at: BARs, the bound driver, interrupts,
//! VFIO groups and DMA. (`crate::error::Error` carries these as
//! [`ErrorKind::Backend`](crate::error::ErrorKind::Backend).)

use crate::backend::kind::{BackendKind, IrqKind, UserspaceDriver};
use crate::error::class::ErrorClass;
use crate::error::remedy::Remedy;
use crate::pci::address::PciAddress;
use crate::pci::error::GroupMember;
use crate::pci::space::Space;
use crate::text::comma_list;

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

/// A device a backend cannot open, map, interrupt or DMA to as asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// The device has no such BAR.
    #[error("BAR{bar} is not implemented by the device")]
    BarNotPresent {
        /// BAR index.
        bar: u8,
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

    /// The device lacks the interrupt asked for.
    #[error("the device has no {} (it has: {})", kind.map(|k| format!("{k} interrupt")).unwrap_or_else(|| "interrupts".into()), if available.is_empty() { "none".to_string() } else { comma_list(available) })]
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

    /// The IOMMU group cannot be opened.
    #[error("IOMMU group {group} is not viable: its other members {} are bound to host drivers", comma_list(members))]
    GroupNotViable {
        /// The IOMMU group.
        group: u32,
        /// The group members in the way.
        members: Vec<GroupMember>,
    },

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
}

impl BackendError {
    /// The class of this failure.
    pub fn class(&self) -> ErrorClass {
        use BackendError::*;
        match self {
            BarNotPresent { .. } => ErrorClass::NotFound,
            NoSuchVector { .. } | IovaBeyondMask { .. } => ErrorClass::Usage,
            NoWriteCombining { .. }
            | BarTooLarge { .. }
            | NotMapped { .. }
            | DriverBound { .. }
            | DecodingDisabled { .. }
            | BackendMismatch { .. }
            | OwnedByVfio { .. }
            | BackendCannot { .. }
            | NoInterrupt { .. }
            | NoUioNode
            | Vfio { .. }
            | GroupNotViable { .. }
            | NoIommuMode { .. }
            | GroupBusy { .. }
            | Memlock { .. }
            | DmaOutOfMemory { .. } => ErrorClass::Refused,
        }
    }

    /// What would fix it, when something would (`device`: the function the
    /// error is about, when known).
    pub fn remedy(&self, device: Option<PciAddress>) -> Option<Remedy> {
        use BackendError::*;
        match self {
            BackendCannot { remedy, .. } => Some(remedy.clone()),
            Vfio { remedy, .. } => remedy.clone(),
            DriverBound { .. } => device.map(|device| Remedy::BindOrForce { device }),
            DecodingDisabled { space } => device.map(|device| Remedy::EnableDecoding { device, space: *space }),
            BackendMismatch { driver, .. } => device.map(|device| Remedy::MatchBackend { device, driver: *driver }),
            OwnedByVfio { .. } => Some(Remedy::Force),
            GroupNotViable { .. } => Some(Remedy::FreeIommuGroup),
            NoIommuMode { .. } => device.map(|device| Remedy::UseUio { device }),
            GroupBusy { group } => Some(Remedy::WaitForHolder { node: Some(format!("/dev/vfio/{group}").into()) }),
            NoUioNode => device.map(|device| Remedy::Bind { device, driver: UserspaceDriver::UioPciGeneric }),
            Memlock { len, hard, locked, .. } => Some(Remedy::RaiseMemlock {
                need_kib: (locked + len).div_ceil(1024),
                hard: (*hard != u64::MAX).then_some(*hard),
            }),
            DmaOutOfMemory { .. } => Some(Remedy::Smaller),
            _ => None,
        }
    }
}

fn kib(bytes: u64) -> String {
    if bytes == u64::MAX {
        "unlimited".into()
    } else {
        format!("{} KiB", bytes / 1024)
    }
}
