//! Lab configuration and where the prepared artifacts live.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// Environment overrides (all optional):
/// - `LAB_REPO_ROOT`: repository root (default: parent of this crate's directory)
/// - `LAB_CACHE`: prepared cache (default: `<root>/target/lab`, same as `lab/prepare.sh`)
/// - `LAB_MMIODRV`: guest binary installed as `/usr/local/bin/mmiodrv` (empty: none)
/// - `LAB_QEMU`: QEMU binary (default `qemu-system-x86_64`)
/// - `LAB_BOOT_TIMEOUT`, `LAB_CMD_TIMEOUT`: seconds
#[derive(Clone, Debug)]
pub struct LabConfig {
    /// Installed in the guest as `/usr/local/bin/mmiodrv` (must be static).
    /// Default: `$LAB_MMIODRV`, else the `lab/run` static build if it exists, else none.
    pub mmiodrv_binary: Option<PathBuf>,
    /// Extra files for the per-run overlay: (absolute guest path, host path).
    /// Host permission bits are kept. Files under `/etc/lab/rc.d/` are sourced
    /// by the guest init before the agent starts.
    pub extra_files: Vec<(String, PathBuf)>,
    /// Appended to the QEMU command line (e.g. `-device ivshmem-doorbell,...,addr=06.0`).
    pub extra_qemu_args: Vec<String>,
    /// Appended to the kernel command line.
    pub extra_cmdline: Vec<String>,
    /// Until the guest agent reports READY.
    pub boot_timeout: Duration,
    /// Default timeout of [`crate::Lab::run`].
    pub command_timeout: Duration,
    pub kernel: PathBuf,
    pub base_initramfs: PathBuf,
    pub qemu: PathBuf,
    pub memory_mib: u32,
    /// An emulated Intel IOMMU (`intel-iommu`, `intel_iommu=on`); off, devices
    /// are in no IOMMU group and VFIO works only in its unsafe no-IOMMU mode.
    pub iommu: bool,
    /// Size of the ivshmem-plain backing file (power of two).
    pub shm_size: u64,
    /// A `pcie-root-port` at 00:09.0 (QEMU id [`crate::HOTPLUG_PORT_ID`]) with a
    /// second `edu` behind it ([`crate::HOTPLUG_EDU_BDF`], QEMU id
    /// [`crate::HOTPLUG_EDU_ID`]) that [`crate::Lab::device_del`] and
    /// [`crate::Lab::device_add`] can unplug and plug back. Off by default.
    pub pcie_hotplug: bool,
    /// More device models for tests that walk every device: NVMe behind a second
    /// root port (00:0a.0 -> 02:00.0), `qemu-xhci` at 00:0b.0 and
    /// `virtio-net-pci` (no network peer) at 00:0c.0. Implies `pcie_hotplug`, so
    /// bus numbers never depend on which options are on. Off by default.
    pub more_devices: bool,
    /// A second e1000 NIC at 00:0e.0 ([`crate::E1000_PEER_BDF`], MAC
    /// [`crate::E1000_PEER_MAC`]) and both e1000s on one QEMU hub (`-netdev
    /// hubport`): what one sends the other receives, and nothing leaves the
    /// guest. The NIC at 00:07.0 keeps its address and MAC
    /// ([`crate::E1000_MAC`]). Off by default (the default guest's device
    /// list stays as documentation shows it).
    pub e1000_pair: bool,
    /// The host's python3 with its standard library in the guest (`python3` on
    /// PATH): [`LabConfig::python_initramfs`] is appended to the initramfs.
    /// Costs boot time (see lab/README.md), so off by default.
    pub python: bool,
    /// Built by `lab/prepare.sh` (`lab/guest-python.sh`); used when `python` is on.
    pub python_initramfs: PathBuf,
    /// An SSH server in the guest, reached at 127.0.0.1:PORT on the host: the
    /// e1000 at 00:07.0 gets QEMU's user network (`restrict=on`: the guest
    /// reaches nothing outside it) with this host port forwarded to the
    /// guest's port 22, where dropbear serves root with the public keys of
    /// the guest file `/etc/lab/authorized_keys` (put it in `extra_files`).
    /// Off (`None`) by default: the NIC then has no peer.
    pub ssh_port: Option<u16>,
}

/// Static `mmiodrv` as built by `lab/run`.
pub const STATIC_TARGET_SUBDIR: &str = "target/static/x86_64-unknown-linux-gnu/release/mmiodrv";

/// Static `mmiodrv` as `lab/build-static` builds it for the VM suites (the
/// `guest` profile).
pub const STATIC_TEST_SUBDIR: &str = "target/static/x86_64-unknown-linux-gnu/guest/mmiodrv";

impl Default for LabConfig {
    fn default() -> Self {
        let root = repo_root();
        let cache = cache_dir();
        let mmiodrv_binary = match std::env::var_os("LAB_MMIODRV") {
            Some(p) if p.is_empty() => None, // explicitly "no binary"
            Some(p) => Some(PathBuf::from(p)),
            None => Some(root.join(STATIC_TARGET_SUBDIR)).filter(|p| p.is_file()),
        };
        LabConfig {
            mmiodrv_binary,
            extra_files: Vec::new(),
            extra_qemu_args: Vec::new(),
            extra_cmdline: Vec::new(),
            boot_timeout: env_secs("LAB_BOOT_TIMEOUT", 120),
            command_timeout: env_secs("LAB_CMD_TIMEOUT", 60),
            kernel: cache.join("vmlinuz"),
            base_initramfs: cache.join("base.cpio.gz"),
            qemu: std::env::var_os("LAB_QEMU")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("qemu-system-x86_64")),
            memory_mib: 512,
            iommu: true,
            shm_size: 1 << 20,
            pcie_hotplug: false,
            more_devices: false,
            e1000_pair: false,
            python: false,
            python_initramfs: cache.join("python.cpio"),
            ssh_port: None,
        }
    }
}

impl LabConfig {
    /// Default config with no `mmiodrv` binary (for testing the lab itself).
    pub fn without_mmiodrv() -> Self {
        LabConfig { mmiodrv_binary: None, ..Default::default() }
    }

    /// Options that cannot be on together: `ssh_port` and `e1000_pair` each
    /// give the e1000 at 00:07.0 its network (QEMU's user network, hub 0).
    pub fn check(&self) -> Result<(), String> {
        if self.ssh_port.is_some() && self.e1000_pair {
            return Err("ssh_port and e1000_pair both choose the network of the e1000 at 00:07.0: use one".into());
        }
        Ok(())
    }

    /// Checks what `lab/prepare.sh` and the host packages provide.
    /// `Err` says what is missing; used by tests to decide whether to skip.
    pub fn check_prepared(&self) -> Result<(), String> {
        let mut needed = vec![("guest kernel", &self.kernel), ("base initramfs", &self.base_initramfs)];
        if self.python {
            needed.push(("guest python initramfs", &self.python_initramfs));
        }
        for (what, p) in needed {
            if !p.is_file() {
                return Err(format!("{what} {} missing: run `lab/prepare.sh`", p.display()));
            }
        }
        if find_in_path(&self.qemu).is_none() {
            return Err(format!(
                "{} not found: run `lab/prepare.sh` (installs qemu-system-x86 on Debian; see lab/README.md)",
                self.qemu.display()
            ));
        }
        Ok(())
    }
}

/// Repository root: `$LAB_REPO_ROOT`, else the parent of this crate's manifest dir.
pub fn repo_root() -> PathBuf {
    if let Some(p) = std::env::var_os("LAB_REPO_ROOT") {
        return PathBuf::from(p);
    }
    let lab = Path::new(env!("CARGO_MANIFEST_DIR"));
    lab.parent().unwrap_or(lab).to_path_buf()
}

/// The cache `lab/prepare.sh` fills.
pub fn cache_dir() -> PathBuf {
    std::env::var_os("LAB_CACHE").map(PathBuf::from).unwrap_or_else(|| repo_root().join("target/lab"))
}

fn env_secs(name: &str, default: u64) -> Duration {
    let secs = std::env::var(name).ok().and_then(|v| v.trim().parse::<f64>().ok()).filter(|s| *s > 0.0);
    secs.map(Duration::from_secs_f64).unwrap_or(Duration::from_secs(default))
}

/// Resolves a program name like `which` does (paths with a '/' are taken as is).
pub fn find_in_path(prog: &Path) -> Option<PathBuf> {
    if prog.components().count() > 1 {
        return prog.is_file().then(|| prog.to_path_buf());
    }
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join(prog)).find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::LabConfig;

    #[test]
    fn one_network_for_the_e1000_at_07() {
        let both = LabConfig { ssh_port: Some(2222), e1000_pair: true, ..LabConfig::without_mmiodrv() };
        assert!(both.check().unwrap_err().contains("use one"));
        for (ssh_port, e1000_pair) in [(None, false), (Some(2222), false), (None, true)] {
            assert_eq!(LabConfig { ssh_port, e1000_pair, ..LabConfig::without_mmiodrv() }.check(), Ok(()));
        }
    }
}
