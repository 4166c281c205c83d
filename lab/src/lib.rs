//! QEMU lab for mmiodrv: boots a TCG q35 guest (intel-iommu, `edu` at 00:04.0,
//! `ivshmem-plain` at 00:05.0) from a busybox initramfs and runs commands in it
//! through a line-based agent on the guest's second serial port.
//!
//! Prepare once with `sudo lab/prepare.sh`, then:
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
mod shell;

pub use config::{cache_dir, find_in_path, repo_root, LabConfig, STATIC_TARGET_SUBDIR};
pub use error::LabError;
pub use lab::{CmdOutput, Lab};
pub use qemu::GUEST_MMIODRV;
pub use shell::run_shell;

/// PCI address of QEMU's `edu` device in the guest.
pub const EDU_BDF: &str = "0000:00:04.0";
/// PCI address of the `ivshmem-plain` device (BAR2 = [`Lab::shm_path`]).
pub const IVSHMEM_BDF: &str = "0000:00:05.0";
/// Free slot reserved for an `ivshmem-doorbell` added via `extra_qemu_args`.
pub const RESERVED_SLOT: &str = "06.0";

/// A lab can be shared between test threads (e.g. behind a `Mutex`).
const _: () = {
    const fn assert_send<T: Send>() {}
    assert_send::<Lab>();
};
