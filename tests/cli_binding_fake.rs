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
