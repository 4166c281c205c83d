//! Is a device keeping the system alive? Before unbinding a device from its
//! kernel driver, look for what SPDK's setup.sh and dpdk-devbind look for,
//! the way real machines are set up:
//!
//! - its block devices: those below it in sysfs, and the namespaces of an
//!   NVMe subsystem one of its controllers belongs to (with native
//!   multipath the namespace `nvme0n1` sits under the `nvme-subsystem`
//!   device, not under the PCI function), with their partitions;
//! - mounted: matched findmnt-style by the device number `mountinfo` gives
//!   each mount (so `/dev/root`, `/dev/disk/by-uuid/...` and any other name
//!   of the source are found), and by the source's name; active swap; held by
//!   device-mapper or md;
//! - an interface that is up; a PCI bridge with devices behind it; SR-IOV
//!   virtual functions bound to a driver (unbinding the physical function
//!   removes them); the console on its framebuffer, or the VGA console on the
//!   boot VGA device.
//!
//! Also what userspace holds: the device's VFIO group or UIO node open, its
//! VFIO device node (`/dev/vfio/devices/vfioN`, held through iommufd), one
//! of its block devices opened raw, its DRM nodes (`/dev/dri/cardN`,
//! `renderDN`) open, its BAR resource files mapped, or its mmiodrv lock
//! taken by another process.
//!
//! The /proc root is configurable (`MMIODRV_PROC_ROOT`) so tests can use fake
//! mount tables and processes.

use std::fs;
use std::path::{Path, PathBuf};

use crate::pci::error::InUse;
use crate::pci::sysfs::SysfsDevice;
use crate::pci::PciAddress;

/// Environment variable naming the /proc root.
pub const PROC_ROOT_ENV: &str = "MMIODRV_PROC_ROOT";

fn proc_root() -> PathBuf {
    std::env::var_os(PROC_ROOT_ENV).map(PathBuf::from).unwrap_or_else(|| "/proc".into())
}

/// A block device of the PCI device: its name, sysfs directory and device
/// number (`MAJ:MIN`).
#[derive(Clone, Debug)]
struct Block {
    name: String,
    path: PathBuf,
    devno: Option<String>,
}

/// Every block device (and partition) that goes away with the device.
fn blocks_of(dev: &SysfsDevice) -> Vec<Block> {
    let mut dirs = block_devices(&dev.path, 0);
    for subsystem in nvme_subsystems_of(dev) {
        for b in block_devices(&subsystem, 0) {
            if !dirs.iter().any(|(n, _)| *n == b.0) {
                dirs.push(b);
            }
        }
    }
    dirs.into_iter()
        .map(|(name, path)| {
            let devno = fs::read_to_string(path.join("dev")).ok().map(|d| d.trim().to_string());
            Block { name, path, devno }
        })
        .collect()
}

/// The NVMe subsystems (`/sys/class/nvme-subsystem/nvme-subsysN`) one of
/// whose controllers (the subsystem's `nvmeN` links) is a controller of this
/// PCI function: with native multipath their namespaces live there.
fn nvme_subsystems_of(dev: &SysfsDevice) -> Vec<PathBuf> {
    let root = dev.sysfs().root().to_path_buf();
    let mine = fs::canonicalize(&dev.path).unwrap_or_else(|_| dev.path.clone());
    let mut out = Vec::new();
    let Ok(subsystems) = fs::read_dir(root.join("class/nvme-subsystem")) else { return out };
    for s in subsystems.filter_map(|e| e.ok()) {
        let dir = fs::canonicalize(s.path()).unwrap_or_else(|_| s.path());
        let Ok(entries) = fs::read_dir(&dir) else { continue };
        let ours = entries.filter_map(|e| e.ok()).any(|e| {
            let controller = e.file_name().to_str().is_some_and(is_nvme_controller);
            controller
                && e.file_type().is_ok_and(|t| t.is_symlink())
                && fs::canonicalize(e.path()).is_ok_and(|target| target.starts_with(&mine))
        });
        if ours {
            out.push(dir);
        }
    }
    out
}

/// `nvme0`, `nvme12`: a controller's name (not `nvme0n1`, a namespace).
fn is_nvme_controller(name: &str) -> bool {
    name.strip_prefix("nvme").is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The mounts: (device number `MAJ:MIN`, source, mount point), from
/// `self/mountinfo` (each mount's device number, as findmnt matches them),
/// else from `mounts` (sources only).
fn mounts() -> Vec<(Option<String>, String, String)> {
    let proc = proc_root();
    if let Ok(text) = fs::read_to_string(proc.join("self/mountinfo")) {
        return text
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                let devno = f.get(2)?.to_string();
                let target = unescape(f.get(4)?);
                let dash = f.iter().position(|w| *w == "-")?;
                let source = unescape(f.get(dash + 2)?);
                Some((Some(devno), source, target))
            })
            .collect();
    }
    fs::read_to_string(proc.join("mounts"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            Some((None, unescape(f.next()?), unescape(f.next()?)))
        })
        .collect()
}

/// mountinfo's octal escapes (`\040` for a space) undone.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c)) {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every reason the device must not be unbound; empty when it is idle.
pub fn reasons(dev: &SysfsDevice) -> Vec<InUse> {
    let mut out = Vec::new();
    let proc = proc_root();
    let mounts = mounts();
    let swaps = fs::read_to_string(proc.join("swaps")).unwrap_or_default();
    for b in blocks_of(dev) {
        let node = format!("/dev/{}", b.name);
        for (devno, source, target) in &mounts {
            let same_number =
                devno.is_some() && *devno == b.devno && !devno.as_deref().is_some_and(|d| d.starts_with("0:"));
            if same_number || *source == node {
                let target = target.clone();
                if !out
                    .iter()
                    .any(|r| matches!(r, InUse::Mounted { block, target: t } if *block == b.name && *t == target))
                {
                    out.push(InUse::Mounted { block: b.name.clone(), target });
                }
            }
        }
        if swaps.lines().skip(1).any(|l| l.split_whitespace().next() == Some(node.as_str())) {
            out.push(InUse::Swap { block: b.name.clone() });
        }
        let holders: Vec<String> = fs::read_dir(b.path.join("holders"))
            .map(|it| it.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        if !holders.is_empty() {
            out.push(InUse::Held { block: b.name.clone(), holders });
        }
    }
    for iface in dir_entries(&dev.path.join("net")) {
        let flags = fs::read_to_string(dev.path.join("net").join(&iface).join("flags")).unwrap_or_default();
        let flags = u32::from_str_radix(flags.trim().trim_start_matches("0x"), 16).unwrap_or(0);
        if flags & 1 != 0 {
            out.push(InUse::InterfaceUp { interface: iface });
        }
    }
    let mut children: Vec<PciAddress> = fs::read_dir(&dev.path)
        .map(|it| {
            it.filter_map(|e| e.ok())
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .filter_map(|e| e.file_name().to_str().and_then(|n| PciAddress::parse(n).ok()))
                .collect()
        })
        .unwrap_or_default();
    children.sort();
    if !children.is_empty() {
        out.push(InUse::Bridge { children });
    }
    let vfs = virtual_functions_in_use(dev);
    if !vfs.is_empty() {
        out.push(InUse::VirtualFunctions { vfs });
    }
    out.extend(console(dev));
    out
}

/// The names in a directory, sorted.
fn dir_entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|it| it.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

/// The SR-IOV virtual functions of a physical function (`virtfnN` links)
/// that are bound to a driver: unbinding the physical function's driver
/// disables SR-IOV and removes them from under it.
fn virtual_functions_in_use(dev: &SysfsDevice) -> Vec<(PciAddress, String)> {
    let sysfs = dev.sysfs();
    let mut out: Vec<(PciAddress, String)> = dir_entries(&dev.path)
        .into_iter()
        .filter(|n| n.strip_prefix("virtfn").is_some_and(|i| !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit())))
        .filter_map(|n| {
            let target = fs::read_link(dev.path.join(&n)).ok()?;
            let address = PciAddress::parse(target.file_name()?.to_str()?).ok()?;
            let driver = sysfs.device(address).driver()?;
            Some((address, driver))
        })
        .collect();
    out.sort();
    out
}

/// The console on the device: a framebuffer of it (`/sys/class/graphics/fbN`
/// whose device lies under it) while a framebuffer console is bound, or the
/// boot VGA device while the VGA console is.
fn console(dev: &SysfsDevice) -> Vec<InUse> {
    let root = dev.sysfs().root().to_path_buf();
    let bound = |kind: &str| {
        dir_entries(&root.join("class/vtconsole")).into_iter().any(|c| {
            let dir = root.join("class/vtconsole").join(c);
            fs::read_to_string(dir.join("bind")).is_ok_and(|b| b.trim() == "1")
                && fs::read_to_string(dir.join("name")).is_ok_and(|n| n.contains(kind))
        })
    };
    let mine = fs::canonicalize(&dev.path).unwrap_or_else(|_| dev.path.clone());
    let mut out = Vec::new();
    let framebuffers: Vec<String> = dir_entries(&root.join("class/graphics"))
        .into_iter()
        .filter(|fb| fb.starts_with("fb"))
        .filter(|fb| {
            fs::canonicalize(root.join("class/graphics").join(fb).join("device")).is_ok_and(|d| d.starts_with(&mine))
        })
        .collect();
    if !framebuffers.is_empty() && bound("frame buffer") {
        out.push(InUse::Console { what: format!("the framebuffer console on {}", framebuffers.join(", ")) });
    }
    if fs::read_to_string(dev.path.join("boot_vga")).is_ok_and(|v| v.trim() == "1") && bound("VGA") {
        out.push(InUse::Console { what: "the VGA console (it is the boot VGA device)".into() });
    }
    out
}

/// Block devices (and partitions) below a device directory: any directory with
/// both `dev` and `size` files. Symlinks are not followed; depth is bounded.
fn block_devices(dir: &Path, depth: usize) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    if depth > 8 {
        return out;
    }
    let Ok(entries) = fs::read_dir(dir) else { return out };
    for e in entries.filter_map(|e| e.ok()) {
        if !e.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let p = e.path();
        // A child PCI function is reported as "bridge"; its own disks are its business.
        if e.file_name().to_str().is_some_and(|n| PciAddress::parse(n).is_ok()) {
            continue;
        }
        if p.join("dev").is_file() && p.join("size").is_file() {
            out.push((e.file_name().to_string_lossy().into_owned(), p.clone()));
        }
        out.extend(block_devices(&p, depth + 1));
    }
    out
}

/// The device's DRM nodes (`drm/cardN`, `drm/renderDN` below it, a virtio
/// GPU's one level down) as `/dev/dri/NAME`.
fn drm_nodes(dev: &SysfsDevice) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![dev.path.join("drm")];
    for sub in dir_entries(&dev.path) {
        if PciAddress::parse(&sub).is_err() && dev.path.join(&sub).is_dir() {
            dirs.push(dev.path.join(sub).join("drm"));
        }
    }
    for d in dirs {
        for n in dir_entries(&d) {
            if n.starts_with("card") || n.starts_with("renderD") {
                out.push(PathBuf::from("/dev/dri").join(n));
            }
        }
    }
    out
}

/// Other processes holding the device from userspace: its VFIO group
/// (`/dev/vfio/N`), its VFIO device node (`/dev/vfio/devices/vfioN`, the
/// iommufd way), its UIO node (`/dev/uioN`), a block device of it opened
/// raw, a DRM node of it, or one of its sysfs `resourceN` files open or
/// mapped. Unbinding or rebinding would pull the device from under them (a
/// VFIO holder blocks the unbind; a mapping takes a bus error). (mmiodrv
/// processes also hold its lock: [`crate::lock`].)
pub fn held_by_processes(dev: &SysfsDevice) -> Vec<InUse> {
    let mut nodes: Vec<PathBuf> = Vec::new();
    if let Some(group) = dev.iommu_group() {
        nodes.push(PathBuf::from(format!("/dev/vfio/{group}")));
    }
    nodes.extend(
        dir_entries(&dev.path.join("vfio-dev")).into_iter().map(|n| PathBuf::from("/dev/vfio/devices").join(n)),
    );
    nodes.extend(dir_entries(&dev.path.join("uio")).into_iter().map(|n| PathBuf::from("/dev").join(n)));
    nodes.extend(blocks_of(dev).into_iter().map(|b| PathBuf::from("/dev").join(b.name)));
    nodes.extend(drm_nodes(dev));
    // The resource files, as /proc/PID/maps and fd links name them.
    let real = fs::canonicalize(&dev.path).unwrap_or_else(|_| dev.path.clone());
    let resource = |p: &Path| {
        p.starts_with(&real) && p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("resource"))
    };
    let me = std::process::id();
    let mut by_node: Vec<(PathBuf, Vec<u32>)> = Vec::new();
    let mut add = |node: PathBuf, pid: u32| match by_node.iter_mut().find(|(n, _)| *n == node) {
        Some((_, pids)) if !pids.contains(&pid) => pids.push(pid),
        Some(_) => {}
        None => by_node.push((node, vec![pid])),
    };
    let proc = proc_root();
    let Ok(entries) = fs::read_dir(&proc) else { return Vec::new() };
    let mut pids: Vec<u32> =
        entries.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok()).filter(|p| *p != me).collect();
    pids.sort();
    for pid in pids {
        let base = proc.join(pid.to_string());
        if let Ok(fds) = fs::read_dir(base.join("fd")) {
            for target in fds.filter_map(|e| fs::read_link(e.ok()?.path()).ok()) {
                if nodes.contains(&target) || resource(&target) {
                    add(target, pid);
                }
            }
        }
        // Mapped resource files stay mapped after their fd is closed.
        let maps = read_capped(&base.join("maps"), 4 << 20);
        for path in maps.lines().filter_map(|l| l.split_whitespace().nth(5)).map(Path::new) {
            if resource(path) {
                add(path.to_path_buf(), pid);
            }
        }
    }
    by_node.into_iter().map(|(node, pids)| InUse::OpenBy { node, pids }).collect()
}

/// At most `cap` bytes of a /proc file (their size says 0), as text.
fn read_capped(path: &Path, cap: u64) -> String {
    use std::io::Read;
    let mut text = String::new();
    if let Ok(f) = fs::File::open(path) {
        let _ = f.take(cap).read_to_string(&mut text);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_escapes() {
        assert_eq!(unescape("/mnt/my\\040disk"), "/mnt/my disk");
        assert_eq!(unescape("/a\\134b"), "/a\\b");
        assert_eq!(unescape("plain"), "plain");
        assert_eq!(unescape("end\\04"), "end\\04");
    }

    #[test]
    fn controller_names() {
        assert!(is_nvme_controller("nvme0") && is_nvme_controller("nvme12"));
        assert!(!is_nvme_controller("nvme0n1") && !is_nvme_controller("nvme") && !is_nvme_controller("nvme0c0n1"));
    }
}
