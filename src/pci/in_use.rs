//! Is a device keeping the system alive? Before unbinding a device from its
//! kernel driver, look for what SPDK's setup.sh and dpdk-devbind look for: a
//! mounted filesystem or active swap on one of its block devices (or a device
//! mapper/md stacked on them), an interface that is up, or a PCI bridge with
//! devices behind it.
//!
//! Also what userspace holds: the device's VFIO group or UIO node open, its
//! BAR resource files mapped, or its mmiodrv lock taken by another process.
//!
//! The /proc root is configurable (`MMIODRV_PROC_ROOT`) so tests can use fake
//! mount tables.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::InUse;
use crate::pci::sysfs::SysfsDevice;
use crate::pci::PciAddress;

/// Environment variable naming the /proc root.
pub const PROC_ROOT_ENV: &str = "MMIODRV_PROC_ROOT";

fn proc_root() -> PathBuf {
    std::env::var_os(PROC_ROOT_ENV).map(PathBuf::from).unwrap_or_else(|| "/proc".into())
}

/// Every reason the device must not be unbound; empty when it is idle.
pub fn reasons(dev: &SysfsDevice) -> Vec<InUse> {
    let mut out = Vec::new();
    let proc = proc_root();
    let mounts = fs::read_to_string(proc.join("mounts")).unwrap_or_default();
    let swaps = fs::read_to_string(proc.join("swaps")).unwrap_or_default();
    for (name, path) in block_devices(&dev.path, 0) {
        for line in mounts.lines() {
            let mut f = line.split_whitespace();
            if let (Some(src), Some(target)) = (f.next(), f.next()) {
                if src == format!("/dev/{name}") {
                    out.push(InUse::Mounted { block: name.clone(), target: target.to_string() });
                }
            }
        }
        if swaps.lines().skip(1).any(|l| l.split_whitespace().next() == Some(&format!("/dev/{name}"))) {
            out.push(InUse::Swap { block: name.clone() });
        }
        let holders: Vec<String> = fs::read_dir(path.join("holders"))
            .map(|it| it.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        if !holders.is_empty() {
            out.push(InUse::Held { block: name.clone(), holders });
        }
    }
    if let Ok(it) = fs::read_dir(dev.path.join("net")) {
        for iface in it.filter_map(|e| e.ok()) {
            let name = iface.file_name().to_string_lossy().into_owned();
            let flags = fs::read_to_string(iface.path().join("flags")).unwrap_or_default();
            let flags = u32::from_str_radix(flags.trim().trim_start_matches("0x"), 16).unwrap_or(0);
            if flags & 1 != 0 {
                out.push(InUse::InterfaceUp { interface: name });
            }
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

/// Other processes holding the device from userspace: its VFIO group
/// (`/dev/vfio/N`) or UIO node (`/dev/uioN`) open, or one of its sysfs
/// `resourceN` files open or mapped. Unbinding or rebinding would pull the
/// device from under them (a VFIO holder blocks the unbind; a mapping takes
/// a bus error). (mmiodrv processes also hold its lock: [`crate::lock`].)
pub fn held_by_processes(dev: &SysfsDevice) -> Vec<InUse> {
    let mut nodes: Vec<PathBuf> = Vec::new();
    if let Some(group) = dev.iommu_group() {
        nodes.push(PathBuf::from(format!("/dev/vfio/{group}")));
    }
    if let Ok(it) = fs::read_dir(dev.path.join("uio")) {
        nodes.extend(it.filter_map(|e| e.ok()).map(|e| PathBuf::from("/dev").join(e.file_name())));
    }
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
    for pid in entries.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok()).filter(|p| *p != me) {
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
