//! QEMU lab for mmiodrv: boots a TCG q35 guest (intel-iommu, `edu` at 00:04.0,
//! `ivshmem-plain` at 00:05.0, opt-in hotplug root port, NVMe, xHCI,
//! virtio-net, a second e1000 on a hub with the first, and python) from a
//! busybox initramfs and runs commands in it through a line-based agent on
//! the guest's second serial port; QEMU itself through QMP.
//!
//! Prepare once with `lab/prepare.sh` (root only if it has packages to install), then:
//! ```no_run
//! use mmiodrv_lab::{Lab, LabConfig};
//! let mut lab = Lab::boot(LabConfig::default())?;
//! let out = lab.run("cat /sys/bus/pci/devices/0000:00:04.0/vendor")?;
//! assert_eq!(out.stdout_str().trim(), "0x1234");
//! lab.shutdown()?;
//! # Ok::<(), mmiodrv_lab::LabError>(())
//! ```
#![forbid(unsafe_code)]

mod agent;
mod config;
mod cpio;
mod error;
mod lab;
mod qemu;
mod qmp;
mod shell;

pub use config::{cache_dir, find_in_path, repo_root, LabConfig, STATIC_TARGET_SUBDIR, STATIC_TEST_SUBDIR};
pub use error::LabError;
pub use lab::{CmdOutput, Lab, DEVICE_DEL_TIMEOUT};
pub use qemu::GUEST_MMIODRV;
/// QMP commands take and return `serde_json::Value`s.
pub use serde_json;
pub use shell::run_shell;

/// PCI address of QEMU's `edu` device in the guest.
pub const EDU_BDF: &str = "0000:00:04.0";
/// PCI address of the `ivshmem-plain` device (BAR2 = [`Lab::shm_path`]).
pub const IVSHMEM_BDF: &str = "0000:00:05.0";
/// Free slot reserved for an `ivshmem-doorbell` added via `extra_qemu_args`.
pub const RESERVED_SLOT: &str = "06.0";
/// The `e1000` NIC (no network peer, unless [`LabConfig::e1000_pair`]).
pub const E1000_BDF: &str = "0000:00:07.0";
/// The `virtio-blk` disk (1 MiB scratch image).
pub const VIRTIO_BLK_BDF: &str = "0000:00:08.0";

/// `pcie-root-port` of [`LabConfig::pcie_hotplug`] (chassis 1, slot 1).
pub const HOTPLUG_PORT_BDF: &str = "0000:00:09.0";
/// QEMU id of that root port (the `bus` of a `device_add` into it).
pub const HOTPLUG_PORT_ID: &str = "lab-rp1";
/// The second `edu`, behind the hotplug root port (bus 1 as the firmware numbers it).
pub const HOTPLUG_EDU_BDF: &str = "0000:01:00.0";
/// QEMU id of that `edu`, for [`Lab::device_del`].
pub const HOTPLUG_EDU_ID: &str = "hotplug-edu";
/// `pcie-root-port` of [`LabConfig::more_devices`] (chassis 2, slot 2).
pub const NVME_PORT_BDF: &str = "0000:00:0a.0";
/// QEMU id of that root port.
pub const NVME_PORT_ID: &str = "lab-rp2";
/// NVMe controller behind [`NVME_PORT_BDF`] (QEMU id `lab-nvme`, in the NVMe
/// subsystem `lab-nvme-subsys`: its 1 MiB namespace is behind native multipath).
pub const NVME_BDF: &str = "0000:02:00.0";
/// `qemu-xhci` USB controller (QEMU id `lab-xhci`, no USB devices).
pub const XHCI_BDF: &str = "0000:00:0b.0";
/// `virtio-net-pci` NIC without a netdev (QEMU id `lab-vnet`).
pub const VIRTIO_NET_BDF: &str = "0000:00:0c.0";
/// `virtio-gpu-pci` (QEMU id `lab-gpu`): the guest's framebuffer console.
pub const VIRTIO_GPU_BDF: &str = "0000:00:0d.0";

/// The second e1000 of [`LabConfig::e1000_pair`], on one hub with [`E1000_BDF`].
pub const E1000_PEER_BDF: &str = "0000:00:0e.0";
/// QEMU id of that NIC.
pub const E1000_PEER_ID: &str = "lab-e1000b";
/// Its MAC address.
pub const E1000_PEER_MAC: &str = "52:54:00:12:34:57";
/// The MAC address of the NIC at [`E1000_BDF`] (QEMU's first default, set
/// explicitly with [`LabConfig::e1000_pair`]).
pub const E1000_MAC: &str = "52:54:00:12:34:56";
/// The QEMU hub both e1000s are on (`hubid`), for a further `-netdev hubport`
/// in `extra_qemu_args` (e.g. a socket backend bringing host traffic in).
pub const E1000_HUB: u32 = 0;
/// The hub port of the NIC at [`E1000_BDF`].
pub const E1000_HUBPORT: &str = "lab-hp0";
/// The hub port of the NIC at [`E1000_PEER_BDF`].
pub const E1000_PEER_HUBPORT: &str = "lab-hp1";

/// `device_add` arguments that plug the hotplug `edu` back in after
/// `lab.device_del(HOTPLUG_EDU_ID)`.
pub fn hotplug_edu_device() -> serde_json::Value {
    serde_json::json!({ "driver": "edu", "id": HOTPLUG_EDU_ID, "bus": HOTPLUG_PORT_ID, "addr": "00.0" })
}

/// A lab can be shared between test threads (e.g. behind a `Mutex`).
const _: () = {
    const fn assert_send<T: Send>() {}
    assert_send::<Lab>();
};
