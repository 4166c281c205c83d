//! `bind`/`unbind` refusals on fake sysfs trees: a device that backs a mounted
//! filesystem, swap, an up interface, or a bridge is never unbound without
//! --force, and a refusal writes nothing. (Real binding is tested in the lab
//! guest by tests/vm_backends.rs; never on this machine's own devices.)

mod common;

use std::fs;
use std::process::{Command, Output};

use common::fake_sysfs::{FakeDevice, FakeSysfs};

struct Env {
    tree: FakeSysfs,
    proc: tempfile::TempDir,
    state: tempfile::TempDir,
}

fn env() -> Env {
    let tree = FakeSysfs::new();
    fs::create_dir_all(tree.root().join("bus/pci/drivers/vfio-pci")).unwrap();
    fs::create_dir_all(tree.root().join("bus/pci/drivers/uio_pci_generic")).unwrap();
    let proc = tempfile::tempdir().unwrap();
    fs::write(proc.path().join("mounts"), "proc /proc proc rw 0 0\n").unwrap();
    fs::write(proc.path().join("swaps"), "Filename Type Size Used Priority\n").unwrap();
    Env { tree, proc, state: tempfile::tempdir().unwrap() }
}

fn mmiodrv(e: &Env, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mmiodrv"))
        .args(args)
        .env("MMIODRV_SYSFS_ROOT", e.tree.root())
        .env("MMIODRV_FAKE_SYSFS_ONLY", "1")
        .env("MMIODRV_BIND_TIMEOUT_MS", "300")
        .env("MMIODRV_PROC_ROOT", e.proc.path())
        .env("MMIODRV_STATE_DIR", e.state.path())
        .env_remove("MMIODRV_DEVICE")
        .output()
        .unwrap()
}

fn disk(e: &Env, addr: &'static str) -> std::path::PathBuf {
    let dir = e.tree.add(&FakeDevice {
        vendor: 0xfffe,
        device: 0xd15c,
        class: 0x010000,
        driver: Some("virtio-pci"),
        ..FakeDevice::edu(addr)
    });
    let vda = dir.join("virtio2/block/vda");
    fs::create_dir_all(vda.join("vda1")).unwrap();
    fs::create_dir_all(vda.join("holders")).unwrap();
    for d in [vda.clone(), vda.join("vda1")] {
        fs::write(d.join("dev"), "254:0\n").unwrap();
        fs::write(d.join("size"), "1000\n").unwrap();
    }
    fs::write(dir.join("driver_override"), "(null)\n").unwrap();
    dir
}

/// What a bind or unbind could change: the device's driver link, its
/// driver_override, every file under the drivers' directories (a `bind` or
/// `unbind` write creates one in a fake tree), and what is remembered for
/// `bind --restore`.
#[derive(Debug, PartialEq, Eq)]
struct State {
    driver: Option<std::path::PathBuf>,
    driver_override: Option<String>,
    driver_files: Vec<std::path::PathBuf>,
    remembered: usize,
}

fn state(e: &Env, dir: &std::path::Path) -> State {
    let mut driver_files = Vec::new();
    for drv in fs::read_dir(e.tree.root().join("bus/pci/drivers")).unwrap().flatten() {
        for f in fs::read_dir(drv.path()).unwrap().flatten() {
            driver_files.push(f.path());
        }
    }
    driver_files.sort();
    State {
        driver: fs::read_link(dir.join("driver")).ok(),
        driver_override: fs::read_to_string(dir.join("driver_override")).ok(),
        driver_files,
        remembered: fs::read_dir(e.state.path()).unwrap().count(),
    }
}

/// Run a command that must be refused as touching a device in use: exit
/// status 6, one line naming why, and nothing changed.
fn refused(e: &Env, dir: &std::path::Path, args: &[&str], what: &str) {
    let before = state(e, dir);
    let o = mmiodrv(e, args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(6), "{args:?}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("refusing to unbind a device in use") && err.contains(what), "{err}");
    assert!(err.contains("--force"), "{err}");
    assert_eq!(state(e, dir), before, "{args:?} was refused but changed something");
}

#[test]
fn mounted_filesystem_blocks_bind_and_unbind() {
    let e = env();
    let dir = disk(&e, "ffff:00:02.0");
    fs::write(e.proc.path().join("mounts"), "/dev/vda1 / ext4 rw 0 0\n").unwrap();
    for args in [&["--device", "ffff:00:02.0", "bind", "vfio-pci"][..], &["--device", "ffff:00:02.0", "unbind"][..]] {
        refused(&e, &dir, args, "block device vda1 is mounted on /");
    }
    assert!(fs::read_link(dir.join("driver")).unwrap().ends_with("virtio-pci"), "still bound");
    assert_eq!(fs::read_to_string(dir.join("driver_override")).unwrap(), "(null)\n", "nothing written");
    assert!(!dir.join("driver/unbind").exists(), "no unbind attempted");
    assert_eq!(fs::read_dir(e.state.path()).unwrap().count(), 0, "nothing remembered");
}

#[test]
fn swap_holders_and_up_interfaces_block_unbind() {
    let e = env();
    let dir = disk(&e, "ffff:00:02.0");
    fs::write(e.proc.path().join("swaps"), "Filename Type Size Used Priority\n/dev/vda partition 1 0 -2\n").unwrap();
    refused(&e, &dir, &["--device", "ffff:00:02.0", "unbind"], "block device vda is in use as swap");
    fs::write(e.proc.path().join("swaps"), "Filename Type Size Used Priority\n").unwrap();
    fs::create_dir_all(dir.join("virtio2/block/vda/holders/dm-0")).unwrap();
    refused(&e, &dir, &["--device", "ffff:00:02.0", "unbind"], "block device vda is held by dm-0");

    let nic = e.tree.add(&FakeDevice {
        vendor: 0x8086,
        device: 0x100e,
        class: 0x020000,
        driver: Some("e1000"),
        ..FakeDevice::edu("ffff:00:03.0")
    });
    fs::create_dir_all(nic.join("net/eth0")).unwrap();
    fs::write(nic.join("net/eth0/flags"), "0x1003\n").unwrap();
    fs::write(nic.join("driver_override"), "(null)\n").unwrap();
    refused(&e, &nic, &["--device", "ffff:00:03.0", "bind", "uio_pci_generic"], "network interface eth0 is up");
    fs::write(nic.join("net/eth0/flags"), "0x1002\n").unwrap();
    // Down: allowed. The fake kernel then never unbinds, so the unbind fails
    // with its own error, and nothing is left remembered.
    fs::write(nic.join("driver_override"), "").unwrap();
    let o = mmiodrv(&e, &["--device", "ffff:00:03.0", "unbind"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(6), "{err}");
    assert!(err.contains("the kernel did not unbind the device from e1000"), "{err}");
    assert_eq!(fs::read_dir(e.state.path()).unwrap().count(), 0, "a failed unbind remembers nothing");
    assert_eq!(fs::read_to_string(nic.join("driver_override")).unwrap(), "", "override untouched");
}

#[test]
fn bridges_are_refused() {
    let e = env();
    let dir = e.tree.add(&FakeDevice {
        vendor: 0x8086,
        device: 0x2448,
        class: 0x060400,
        driver: Some("pcieport"),
        ..FakeDevice::edu("ffff:00:1e.0")
    });
    fs::create_dir_all(dir.join("ffff:01:00.0")).unwrap();
    fs::write(dir.join("driver_override"), "(null)\n").unwrap();
    refused(&e, &dir, &["--device", "ffff:00:1e.0", "unbind"], "it is a bridge to ffff:01:00.0");
    refused(&e, &dir, &["--device", "ffff:00:1e.0", "bind", "vfio-pci"], "it is a bridge to ffff:01:00.0");
}

#[test]
fn group_members_under_host_drivers_block_vfio() {
    let e = env();
    let dir = e.tree.add(&FakeDevice { iommu_group: Some(7), ..FakeDevice::edu("ffff:00:04.0") });
    fs::write(dir.join("driver_override"), "(null)\n").unwrap();
    let other = e.tree.add(&FakeDevice {
        vendor: 0x8086,
        device: 0x100e,
        driver: Some("e1000"),
        iommu_group: Some(7),
        ..FakeDevice::edu("ffff:00:09.0")
    });
    let (before, other_before) = (state(&e, &dir), state(&e, &other));
    let o = mmiodrv(&e, &["--device", "ffff:00:04.0", "bind", "vfio-pci"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(6), "{err}");
    assert!(
        err.contains("its IOMMU group also holds devices under host drivers: ffff:00:09.0 (bound to e1000)"),
        "{err}"
    );
    assert_eq!(state(&e, &dir), before, "the refused device changed");
    assert_eq!(state(&e, &other), other_before, "the group member changed");
}

#[test]
fn vfio_needs_an_iommu_group_unless_noiommu_mode() {
    let e = env();
    let dir = e.tree.add(&FakeDevice { iommu_group: None, ..FakeDevice::edu("ffff:00:04.0") });
    fs::write(dir.join("driver_override"), "(null)\n").unwrap();
    let o = mmiodrv(&e, &["--device", "ffff:00:04.0", "bind", "vfio-pci"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(6), "{err}");
    assert!(err.contains("the device is in no IOMMU group") && err.contains("bind uio_pci_generic"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert_eq!(fs::read_to_string(dir.join("driver_override")).unwrap(), "(null)\n", "refusal wrote nothing");
    // In VFIO's no-IOMMU mode the check lets it through (vfio-pci then makes a
    // noiommu group); this fake kernel has no drivers_probe, so the bind then
    // fails later, at the write, not at the check.
    let params = e.tree.root().join("module/vfio/parameters");
    fs::create_dir_all(&params).unwrap();
    fs::write(params.join("enable_unsafe_noiommu_mode"), "Y\n").unwrap();
    let o = mmiodrv(&e, &["--device", "ffff:00:04.0", "bind", "vfio-pci"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(6), "{err}");
    assert!(err.contains("vfio-pci did not take the device"), "{err}");
    assert_eq!(fs::read_to_string(dir.join("driver_override")).unwrap(), "\n", "the override is rolled back");
    assert_eq!(fs::read_dir(e.state.path()).unwrap().count(), 0, "nothing remembered");
}

#[test]
fn bad_driver_names_are_usage_errors() {
    let e = env();
    let dir = e.tree.add(&FakeDevice::edu("ffff:00:04.0"));
    fs::write(dir.join("driver_override"), "(null)\n").unwrap();
    let before = state(&e, &dir);
    let o = mmiodrv(&e, &["--device", "ffff:00:04.0", "bind", "e1000"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(state(&e, &dir), before, "a usage error changed something");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("invalid value 'e1000'") && err.contains("vfio-pci, uio_pci_generic"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let o = mmiodrv(&e, &["--device", "ffff:00:04.0", "bind"]);
    assert_eq!(o.status.code(), Some(2), "clap usage error");
}

// ---- issue 23, point 6: in-use checks for real machines' layouts

/// A process of the fake /proc holding `target` open as fd `fd` (a link, as
/// /proc/PID/fd/N is: only its target is read).
fn holds(e: &Env, pid: u32, fd: u32, target: &str) {
    let dir = e.proc.path().join(format!("{pid}/fd"));
    fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(target, dir.join(fd.to_string())).unwrap();
}

/// A block device directory with its device number (and `size`), as sysfs has them.
fn block(dir: &std::path::Path, devno: &str) {
    fs::create_dir_all(dir.join("holders")).unwrap();
    fs::write(dir.join("dev"), format!("{devno}\n")).unwrap();
    fs::write(dir.join("size"), "2097152\n").unwrap();
}

/// An NVMe controller with native multipath, as a Debian machine with an
/// NVMe root disk has it (drivers/nvme/host/core.c and multipath.c): the
/// controller `nvme0` under the PCI function, its path device `nvme0c0n1`
/// (hidden, no device number), and the namespace `nvme0n1` with its
/// partitions under the subsystem device /sys/devices/virtual/nvme-subsystem/
/// nvme-subsys0, which links to its controllers. Nothing block-shaped lies
/// under the PCI function itself.
fn nvme_multipath(e: &Env, addr: &'static str) -> std::path::PathBuf {
    let dir = e.tree.add(&FakeDevice {
        vendor: 0xfffe,
        device: 0x0e01,
        class: 0x010802,
        driver: Some("nvme"),
        ..FakeDevice::edu(addr)
    });
    fs::write(dir.join("driver_override"), "(null)\n").unwrap();
    let ctrl = dir.join("nvme/nvme0");
    fs::create_dir_all(ctrl.join("nvme0c0n1")).unwrap();
    fs::write(ctrl.join("subsysnqn"), "nqn.2014.08.org.nvmexpress:uuid:lab\n").unwrap();
    let root = e.tree.root();
    let subsys = root.join("devices/virtual/nvme-subsystem/nvme-subsys0");
    fs::create_dir_all(&subsys).unwrap();
    std::os::unix::fs::symlink(&ctrl, subsys.join("nvme0")).unwrap();
    let ns = subsys.join("nvme0n1");
    block(&ns, "259:0");
    block(&ns.join("nvme0n1p1"), "259:1");
    block(&ns.join("nvme0n1p2"), "259:2");
    fs::create_dir_all(root.join("class/nvme-subsystem")).unwrap();
    std::os::unix::fs::symlink(
        "../../devices/virtual/nvme-subsystem/nvme-subsys0",
        root.join("class/nvme-subsystem/nvme-subsys0"),
    )
    .unwrap();
    dir
}

/// Root on an NVMe namespace behind native multipath, mounted as /dev/root
/// (what the kernel calls root=): found by the device number mountinfo
/// gives the mount, and refused. Before issue 23, matched only by
/// /dev/NAME of block devices under the PCI function, it was unbound.
#[test]
fn root_on_nvme_multipath_mounted_as_dev_root_is_refused() {
    let e = env();
    let dir = nvme_multipath(&e, "ffff:01:00.0");
    fs::create_dir_all(e.proc.path().join("self")).unwrap();
    fs::write(
        e.proc.path().join("self/mountinfo"),
        "22 27 0:21 / /proc rw,relatime - proc proc rw\n\
         27 1 259:2 / / rw,relatime shared:1 - ext4 /dev/root rw,errors=remount-ro\n\
         30 27 259:1 / /boot/efi rw,relatime shared:3 - vfat /dev/disk/by-uuid/1234-ABCD rw\n",
    )
    .unwrap();
    fs::write(e.proc.path().join("mounts"), "/dev/root / ext4 rw 0 0\n").unwrap();
    refused(&e, &dir, &["--device", "ffff:01:00.0", "unbind"], "block device nvme0n1p2 is mounted on /");
    refused(
        &e,
        &dir,
        &["--device", "ffff:01:00.0", "bind", "vfio-pci"],
        "block device nvme0n1p1 is mounted on /boot/efi",
    );
    // Swap on the namespace, by name.
    fs::write(e.proc.path().join("self/mountinfo"), "22 27 0:21 / /proc rw,relatime - proc proc rw\n").unwrap();
    fs::write(e.proc.path().join("swaps"), "Filename Type Size Used Priority\n/dev/nvme0n1p1 partition 1 0 -2\n")
        .unwrap();
    refused(&e, &dir, &["--device", "ffff:01:00.0", "unbind"], "block device nvme0n1p1 is in use as swap");
}

/// A disk opened raw by a process (a database, a VM's disk, dd): found in
/// /proc/PID/fd and refused (before: only mounts, swap and holders counted).
#[test]
fn a_disk_opened_raw_is_refused() {
    let e = env();
    let dir = disk(&e, "ffff:00:02.0");
    holds(&e, 4242, 3, "/dev/vda");
    refused(&e, &dir, &["--device", "ffff:00:02.0", "unbind"], "/dev/vda is open in process 4242");
    // On the multipath namespace too.
    let e = env();
    let dir = nvme_multipath(&e, "ffff:01:00.0");
    holds(&e, 4243, 9, "/dev/nvme0n1");
    refused(&e, &dir, &["--device", "ffff:01:00.0", "unbind"], "/dev/nvme0n1 is open in process 4243");
}

/// A physical function whose SR-IOV virtual functions are bound to drivers
/// (here a VF given to a VM through vfio-pci): unbinding it would remove
/// them; refused, naming them (the layout of igb's PF and VFs: virtfnN links
/// beside the PF's files).
#[test]
fn virtual_functions_in_use_are_refused() {
    let e = env();
    let pf = e.tree.add(&FakeDevice {
        vendor: 0xfffe,
        device: 0x10c9,
        class: 0x020000,
        driver: Some("igb"),
        ..FakeDevice::edu("ffff:02:00.0")
    });
    fs::write(pf.join("driver_override"), "(null)\n").unwrap();
    fs::write(pf.join("sriov_numvfs"), "2\n").unwrap();
    for (i, (vf, driver)) in [("ffff:02:10.0", Some("vfio-pci")), ("ffff:02:10.2", None)].into_iter().enumerate() {
        let d =
            e.tree.add(&FakeDevice { vendor: 0xfffe, device: 0x10ca, class: 0x020000, driver, ..FakeDevice::edu(vf) });
        std::os::unix::fs::symlink(&pf, d.join("physfn")).unwrap();
        std::os::unix::fs::symlink(&d, pf.join(format!("virtfn{i}"))).unwrap();
    }
    refused(
        &e,
        &pf,
        &["--device", "ffff:02:00.0", "unbind"],
        "its SR-IOV virtual functions ffff:02:10.0 (bound to vfio-pci) are in use",
    );
}

/// A GPU with a framebuffer console and a DRM node open (the layout of a
/// virtio GPU: virtio0/drm/card0 under the PCI function, fb0's device the
/// virtio device): both refused (before: neither was looked for).
#[test]
fn console_and_drm_users_are_refused() {
    let e = env();
    let gpu = e.tree.add(&FakeDevice {
        vendor: 0xfffe,
        device: 0x1050,
        class: 0x030000,
        driver: Some("virtio-pci"),
        ..FakeDevice::edu("ffff:00:06.0")
    });
    fs::write(gpu.join("driver_override"), "(null)\n").unwrap();
    fs::create_dir_all(gpu.join("virtio0/drm/card0")).unwrap();
    fs::create_dir_all(gpu.join("virtio0/drm/renderD128")).unwrap();
    let root = e.tree.root();
    fs::create_dir_all(root.join("class/graphics/fb0")).unwrap();
    std::os::unix::fs::symlink(gpu.join("virtio0"), root.join("class/graphics/fb0/device")).unwrap();
    let vt = root.join("class/vtconsole/vtcon1");
    fs::create_dir_all(&vt).unwrap();
    fs::write(vt.join("name"), "(M) frame buffer device\n").unwrap();
    fs::write(vt.join("bind"), "1\n").unwrap();
    refused(&e, &gpu, &["--device", "ffff:00:06.0", "unbind"], "the framebuffer console on fb0 is on it");
    fs::write(vt.join("bind"), "0\n").unwrap();
    holds(&e, 4343, 12, "/dev/dri/renderD128");
    refused(&e, &gpu, &["--device", "ffff:00:06.0", "unbind"], "/dev/dri/renderD128 is open in process 4343");
}

/// A device held through iommufd (its VFIO device node
/// /dev/vfio/devices/vfioN open, the group node untouched): rebinding it is
/// refused (before: only the group node was looked for).
#[test]
fn a_device_held_through_iommufd_is_refused() {
    let e = env();
    let dir = e.tree.add(&FakeDevice { driver: Some("vfio-pci"), ..FakeDevice::edu("ffff:00:04.0") });
    fs::write(dir.join("driver_override"), "vfio-pci\n").unwrap();
    fs::create_dir_all(dir.join("vfio-dev/vfio0")).unwrap();
    holds(&e, 4444, 20, "/dev/vfio/devices/vfio0");
    refused(
        &e,
        &dir,
        &["--device", "ffff:00:04.0", "bind", "uio_pci_generic"],
        "/dev/vfio/devices/vfio0 is open in process 4444",
    );
}
