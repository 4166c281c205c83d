//! What access to PCI devices needs from the system, checked: the user
//! (root, or the `mmiodrv` group of the udev rules), kernel lockdown,
//! `iomem=`/STRICT_DEVMEM, the IOMMU, `/dev/vfio`, the locked-memory limit,
//! the userspace-driver modules, what the udev rules grant the group (the
//! device list, each named device's node, and stray grants: see [`grants`]);
//! and for one device its driver, IOMMU group and companions, device nodes,
//! config and BAR files, decoding and bus mastering. Each finding says what was seen and, when something is in the
//! way, the [`Remedy`] (front ends word it).
//!
//! Everything here only reads: sysfs, `/proc`, `/dev` metadata, rlimits.
//! The roots follow `MMIODRV_SYSFS_ROOT` and `MMIODRV_PROC_ROOT`.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::Remedy;

use crate::pci::space::Space;

use crate::backend::kind::UserspaceDriver;
use crate::grant::{self, Access, NamedDevice, NodeKind, StrayGrant, UDEV_GROUP};
use crate::pci::config::{command, ConfigSpace};
use crate::pci::sysfs::VFIO_VIABLE_DRIVERS;
use crate::pci::{BarKind, Sysfs, SysfsDevice};

/// The locked memory DMA buffers of a typical session need: VFIO pins
/// buffers against RLIMIT_MEMLOCK unless the process has CAP_IPC_LOCK.
pub const MEMLOCK_NEED: u64 = 1 << 20;

/// How a check came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Nothing in the way.
    Ok,
    /// Something to know: it may limit what works.
    Warn,
    /// Something in the way of access.
    Fail,
    /// A fact, neither good nor bad.
    Info,
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Finding {
    /// What was checked (`iommu`, `lockdown`...).
    pub check: &'static str,
    /// How it came out.
    pub status: Status,
    /// What was seen.
    pub detail: String,
    /// What would fix it.
    #[serde(skip)]
    pub remedy: Option<Remedy>,
}

fn finding(check: &'static str, status: Status, detail: impl Into<String>, remedy: Option<Remedy>) -> Finding {
    Finding { check, status, detail: detail.into(), remedy }
}

fn proc_root() -> PathBuf {
    std::env::var_os(crate::pci::in_use::PROC_ROOT_ENV).map(PathBuf::from).unwrap_or_else(|| "/proc".into())
}

/// `/etc/group` as (name, gid, members), read directly (a static binary has
/// no NSS to ask).
fn groups() -> Vec<(String, u32, Vec<String>)> {
    fs::read_to_string("/etc/group")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            let members = f.get(3).map(|m| m.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect());
            Some((f.first()?.to_string(), f.get(2)?.parse().ok()?, members.unwrap_or_default()))
        })
        .collect()
}

fn group_name(gid: u32) -> String {
    groups().into_iter().find(|g| g.1 == gid).map(|g| g.0).unwrap_or_else(|| gid.to_string())
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

fn in_group(gid: u32) -> bool {
    nix::unistd::getegid().as_raw() == gid
        || nix::unistd::getgroups().map(|g| g.iter().any(|x| x.as_raw() == gid)).unwrap_or(false)
}

/// Whether this process may read and write `path` (access(2), real IDs).
fn can_read_write(path: &Path) -> bool {
    use nix::unistd::{access, AccessFlags};
    access(path, AccessFlags::R_OK | AccessFlags::W_OK).is_ok()
}

fn kernel_cmdline() -> String {
    fs::read_to_string(proc_root().join("cmdline")).unwrap_or_default()
}

fn cmdline_value<'a>(cmdline: &'a str, key: &str) -> Option<&'a str> {
    cmdline.split_whitespace().find_map(|w| w.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
}

/// The system checks (no device).
pub fn system(sysfs: &Sysfs) -> Vec<Finding> {
    let mut out = vec![user(), lockdown(sysfs), iomem()];
    out.push(iommu(sysfs, None));
    out.push(vfio_container());
    out.push(memlock());
    out.extend(modules(sysfs));
    out.extend(grants(&grant::Paths::system(sysfs.clone())));
    out
}

fn user() -> Finding {
    if is_root() {
        return finding("user", Status::Ok, "running as root", None);
    }
    let uid = nix::unistd::getuid();
    match groups().into_iter().find(|g| g.0 == UDEV_GROUP) {
        Some((_, gid, _)) if in_group(gid) => finding(
            "user",
            Status::Ok,
            format!(
                "uid {uid}, in group {UDEV_GROUP} (the udev rules give it the nodes of the devices named in {})",
                grant::DEVICE_LIST
            ),
            None,
        ),
        Some(_) => finding(
            "user",
            Status::Fail,
            format!("uid {uid} is not root and not in group {UDEV_GROUP}"),
            Some(Remedy::JoinGroup { node: "/dev/vfio".into(), group: UDEV_GROUP.into() }),
        ),
        None => finding(
            "user",
            Status::Fail,
            format!("uid {uid} is not root, and there is no group {UDEV_GROUP}: the udev rules are not installed"),
            Some(Remedy::RootOrUdev),
        ),
    }
}

fn lockdown(sysfs: &Sysfs) -> Finding {
    let path = sysfs.root().join("kernel/security/lockdown");
    let Ok(text) = fs::read_to_string(&path) else {
        return finding("lockdown", Status::Ok, "no lockdown (the kernel has no lockdown LSM active)", None);
    };
    let mode = text.split_whitespace().find(|w| w.starts_with('[')).map(|w| w.trim_matches(['[', ']'])).unwrap_or("?");
    match mode {
        "none" => finding("lockdown", Status::Ok, "kernel lockdown: none", None),
        m => finding(
            "lockdown",
            Status::Fail,
            format!(
                "kernel lockdown is '{m}': mapping sysfs resourceN files and writing config space beyond the header are refused (EPERM)"
            ),
            Some(Remedy::Text(
                "use VFIO (bind the device to vfio-pci), which lockdown allows; or boot without lockdown (lockdown=none, Secure Boot off)".into(),
            )),
        ),
    }
}

fn kernel_config() -> Option<String> {
    let release = nix::sys::utsname::uname().ok()?.release().to_string_lossy().into_owned();
    fs::read_to_string(format!("/boot/config-{release}")).ok()
}

fn iomem() -> Finding {
    let cmdline = kernel_cmdline();
    let iomem = cmdline_value(&cmdline, "iomem");
    let config = kernel_config();
    let strict = config.as_deref().map(|c| c.lines().any(|l| l == "CONFIG_IO_STRICT_DEVMEM=y"));
    match (iomem, strict) {
        (Some("relaxed"), _) => finding("iomem", Status::Ok, "iomem=relaxed: BARs of driver-owned devices can be mapped", None),
        (Some("strict"), _) | (None, Some(true)) => finding(
            "iomem",
            Status::Warn,
            format!(
                "{}: a BAR a kernel driver has claimed cannot be mapped through sysfs, even with --force",
                if iomem.is_some() { "iomem=strict" } else { "CONFIG_IO_STRICT_DEVMEM=y" }
            ),
            Some(Remedy::Text(
                "unbind the kernel driver (or bind vfio-pci) first; or boot with iomem=relaxed".into(),
            )),
        ),
        (_, Some(false)) => finding("iomem", Status::Ok, "CONFIG_IO_STRICT_DEVMEM is off", None),
        _ => finding(
            "iomem",
            Status::Info,
            "no iomem= on the kernel command line; the kernel config (/boot/config-*) is not readable, so IO_STRICT_DEVMEM is unknown",
            None,
        ),
    }
}

fn iommu(sysfs: &Sysfs, device: Option<crate::pci::PciAddress>) -> Finding {
    let groups = fs::read_dir(sysfs.root().join("kernel/iommu_groups")).map(|d| d.count()).unwrap_or(0);
    let cmdline = kernel_cmdline();
    let on = ["intel_iommu", "amd_iommu", "iommu"]
        .iter()
        .filter_map(|k| cmdline_value(&cmdline, k).map(|v| format!("{k}={v}")))
        .collect::<Vec<_>>();
    let args = if on.is_empty() { "no iommu option on the kernel command line".to_string() } else { on.join(" ") };
    if groups > 0 {
        return finding("iommu", Status::Ok, format!("{groups} IOMMU group(s) ({args})"), None);
    }
    let remedy = match device {
        Some(device) => Remedy::EnableIommu { device },
        None => Remedy::Text(
            "boot with intel_iommu=on or amd_iommu=on (and the IOMMU enabled in firmware); without one, UIO works (uio_pci_generic: interrupts, no DMA)".into(),
        ),
    };
    finding(
        "iommu",
        Status::Fail,
        format!("no IOMMU groups: the IOMMU is absent or off ({args}); VFIO cannot take any device"),
        Some(remedy),
    )
}

fn vfio_container() -> Finding {
    let node = Path::new("/dev/vfio/vfio");
    let Ok(meta) = fs::metadata(node) else {
        return finding(
            "vfio",
            Status::Warn,
            "/dev/vfio/vfio does not exist: the vfio module is not loaded",
            Some(Remedy::LoadModule { module: UserspaceDriver::VfioPci.module().into() }),
        );
    };
    let mode = meta.mode() & 0o777;
    if can_read_write(node) {
        finding("vfio", Status::Ok, format!("/dev/vfio/vfio mode {mode:04o}, usable by this user"), None)
    } else {
        finding(
            "vfio",
            Status::Fail,
            format!("/dev/vfio/vfio mode {mode:04o} is not readable and writable by this user"),
            Some(Remedy::ChmodVfioContainer),
        )
    }
}

fn memlock() -> Finding {
    use nix::sys::resource::{getrlimit, Resource};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_MEMLOCK) else {
        return finding("memlock", Status::Info, "RLIMIT_MEMLOCK unknown", None);
    };
    let show = |v: u64| {
        if v == nix::sys::resource::RLIM_INFINITY {
            "unlimited".to_string()
        } else {
            format!("{} KiB", v / 1024)
        }
    };
    if is_root() {
        return finding(
            "memlock",
            Status::Ok,
            format!("{} (root pins DMA memory regardless: CAP_IPC_LOCK)", show(soft)),
            None,
        );
    }
    if soft >= MEMLOCK_NEED {
        return finding("memlock", Status::Ok, format!("{} locked memory allowed for DMA buffers", show(soft)), None);
    }
    finding(
        "memlock",
        Status::Warn,
        format!(
            "only {} of locked memory: VFIO DMA buffers beyond it fail (mmiodrv suggests {} KiB)",
            show(soft),
            MEMLOCK_NEED / 1024
        ),
        Some(Remedy::RaiseMemlock {
            need_kib: MEMLOCK_NEED / 1024,
            hard: (hard != nix::sys::resource::RLIM_INFINITY).then_some(hard),
        }),
    )
}

fn modules(sysfs: &Sysfs) -> Vec<Finding> {
    UserspaceDriver::ALL
        .iter()
        .map(|d| {
            if sysfs.root().join("bus/pci/drivers").join(d.name()).is_dir() {
                finding("modules", Status::Ok, format!("{} is loaded", d.name()), None)
            } else {
                finding(
                    "modules",
                    Status::Warn,
                    format!("{} is not loaded (bind loads it with modprobe, as root)", d.name()),
                    Some(Remedy::LoadModule { module: d.module().into() }),
                )
            }
        })
        .collect()
}

/// What the udev rules grant the `mmiodrv` group (check `grant`): the device
/// list (refused: a failure), each present device it names with its node,
/// owner and mode (granted, not yet applied, withheld because its IOMMU group
/// holds devices not named; a grant through UIO is a warning: no IOMMU), the
/// entries that name no present device, and every node the group can use for
/// a device the list does not name (a stale or foreign grant: a failure).
pub fn grants(paths: &grant::Paths) -> Vec<Finding> {
    let list = paths.list.display().to_string();
    let g = match grant::grants(paths) {
        Ok(g) => g,
        Err(e) => {
            let mut out = vec![finding("grant", Status::Fail, e.to_string(), e.remedy())];
            out.extend(grant::stray_grants(paths, None).iter().map(|s| stray(s, &list)));
            return out;
        }
    };
    let mut out = Vec::new();
    let names: Vec<String> = g.list.entries.iter().map(|e| e.name.to_string()).collect();
    out.push(match (g.list.present, names.is_empty()) {
        (false, _) => finding(
            "grant",
            Status::Info,
            format!("no device list {list}: the udev rules grant group {UDEV_GROUP} no device"),
            None,
        ),
        (true, true) => {
            finding("grant", Status::Info, format!("{list} names no device: group {UDEV_GROUP} is granted none"), None)
        }
        (true, false) => finding("grant", Status::Info, format!("{list} names {}", names.join(", ")), None),
    });
    out.extend(g.devices.iter().map(named));
    out.extend(g.unmatched.iter().map(|e| {
        finding("grant", Status::Info, format!("{list} line {}: {} matches no present device", e.line, e.name), None)
    }));
    out.extend(g.stray.iter().map(|s| stray(s, &list)));
    out
}

fn reapply() -> Remedy {
    Remedy::Text(format!(
        "as root, re-apply the udev rules: {} (systemd-udevd must run and the rules be installed: udev/install.sh)",
        grant::RETRIGGER
    ))
}

fn named(d: &NamedDevice) -> Finding {
    let who = format!("{} (line {}: {})", d.address, d.entry.line, d.entry.name);
    let node = d.node.as_ref().map(|n| {
        let owner = n.owner.as_ref().map_or_else(|| "missing".to_string(), |o| o.to_string());
        format!("{} {owner}", n.path.display())
    });
    let node = node.unwrap_or_default();
    match &d.access {
        Access::Granted if d.granted_through_uio() => finding(
            "grant",
            Status::Warn,
            format!(
                "{who}: {node}, granted to {UDEV_GROUP} through UIO: its memory BARs are mappable and UIO has no IOMMU, \
                 so once bus mastering is on a member can make it DMA anywhere in memory (root-equivalent)"
            ),
            Some(Remedy::Bind { device: d.address, driver: UserspaceDriver::VfioPci }),
        ),
        Access::Granted => finding("grant", Status::Ok, format!("{who}: {node}, granted to {UDEV_GROUP}"), None),
        Access::NotApplied => finding(
            "grant",
            Status::Warn,
            format!("{who}: {node}, not (yet) the group's: the rules have not been applied to it since it was named"),
            Some(reapply()),
        ),
        Access::Withheld { unnamed } => {
            let group = match d.node.as_ref().map(|n| &n.kind) {
                Some(NodeKind::Vfio { group }) => format!("IOMMU group {group}"),
                _ => "its IOMMU group".to_string(),
            };
            finding(
                "grant",
                Status::Warn,
                format!(
                    "{who}: {node}, withheld: {group} also holds {}, which the list does not name \
                     (opening the group would hand them over too)",
                    unnamed.join(", ")
                ),
                Some(Remedy::Text(format!(
                    "name every device of {group} in {} too (as root: udev/install.sh --allow ADDR for each), \
                     if its users may have them all",
                    grant::DEVICE_LIST
                ))),
            )
        }
        Access::NoIommu => finding(
            "grant",
            Status::Info,
            format!(
                "{who}: {node}: bound to vfio-pci without an IOMMU, which the rules never grant (DMA anywhere is root-equivalent)"
            ),
            None,
        ),
        Access::NodeMissing => finding(
            "grant",
            Status::Warn,
            format!("{who}: bound to {}, but {node}", d.driver.as_deref().unwrap_or("?")),
            None,
        ),
        Access::Unbound => finding(
            "grant",
            Status::Info,
            format!(
                "{who}: {}: no node to grant until it is bound to vfio-pci",
                d.driver.as_deref().map_or_else(|| "bound to no driver".to_string(), |x| format!("bound to {x}"))
            ),
            None,
        ),
    }
}

fn stray(s: &StrayGrant, list: &str) -> Finding {
    let owner = s.node.owner.as_ref().map(|o| o.to_string()).unwrap_or_default();
    let why = match (&s.node.kind, s.unnamed.is_empty()) {
        (NodeKind::VfioNoIommu { .. }, _) => "a no-IOMMU group, which the rules never grant".to_string(),
        (_, true) => "no device could be found behind it".to_string(),
        (_, false) => format!("{list} does not name {}", s.unnamed.join(", ")),
    };
    finding(
        "grant",
        Status::Fail,
        format!(
            "{} ({owner}) gives group {UDEV_GROUP} access, but {why}: a stale or foreign grant",
            s.node.path.display()
        ),
        Some(Remedy::Text(format!(
            "as root, re-apply the udev rules, which revoke it ({}), or chown root:root and chmod 0600 {}",
            grant::RETRIGGER,
            s.node.path.display()
        ))),
    )
}

/// The checks of one device (after [`system`]'s).
pub fn device(dev: &SysfsDevice) -> Vec<Finding> {
    let a = dev.address;
    let mut out = Vec::new();
    let driver = dev.driver();
    let userspace = driver.as_deref().and_then(UserspaceDriver::from_name);
    out.push(match (&driver, userspace) {
        (None, _) => finding(
            "driver",
            Status::Info,
            "no kernel driver: BARs through sysfs (root); for interrupts and DMA bind vfio-pci",
            None,
        ),
        (Some(_), Some(UserspaceDriver::VfioPci)) => finding("driver", Status::Ok, "bound to vfio-pci", None),
        (Some(_), Some(UserspaceDriver::UioPciGeneric)) => {
            finding("driver", Status::Ok, "bound to uio_pci_generic (INTx, no DMA)", None)
        }
        (Some(d), None) => finding(
            "driver",
            Status::Warn,
            format!("bound to kernel driver {d}: mmiodrv refuses its BARs and config writes (unless forced)"),
            Some(Remedy::Bind { device: a, driver: UserspaceDriver::VfioPci }),
        ),
    });
    out.push(iommu_group(dev, userspace));
    out.extend(nodes(dev, userspace));
    out.extend(config_checks(dev));
    out
}

fn iommu_group(dev: &SysfsDevice, userspace: Option<UserspaceDriver>) -> Finding {
    let Some(group) = dev.iommu_group() else {
        return iommu(&dev.sysfs(), Some(dev.address));
    };
    let others: Vec<String> =
        dev.iommu_group_members().into_iter().filter(|m| *m != dev.address).map(|m| m.to_string()).collect();
    let blockers = dev.group_members_bound_outside(VFIO_VIABLE_DRIVERS);
    if blockers.is_empty() {
        let others =
            if others.is_empty() { "no other members".to_string() } else { format!("also {}", others.join(", ")) };
        return finding("iommu group", Status::Ok, format!("IOMMU group {group} ({others})"), None);
    }
    let names: Vec<String> = blockers.iter().map(|(m, d)| format!("{} ({d})", m.address)).collect();
    let status = if userspace == Some(UserspaceDriver::VfioPci) { Status::Fail } else { Status::Warn };
    finding(
        "iommu group",
        status,
        format!(
            "IOMMU group {group} also holds devices under host drivers: {}; VFIO needs the whole group",
            names.join(", ")
        ),
        Some(Remedy::FreeIommuGroup),
    )
}

/// Whether the udev rules' device list names every device behind a node
/// (the device, or its IOMMU group's members); None when the list cannot be
/// read (refused: `system`'s `grant` check says why).
fn named_in_list(dev: &SysfsDevice, members: &[crate::pci::PciAddress]) -> Option<bool> {
    let list = grant::DeviceList::load(Path::new(grant::DEVICE_LIST), 0).ok()?;
    let sysfs = dev.sysfs();
    let ids = |a: crate::pci::PciAddress| {
        let d = sysfs.device(a);
        Some((d.vendor_id().ok()?, d.device_id().ok()?))
    };
    Some(members.iter().chain(std::iter::once(&dev.address)).all(|a| list.naming(*a, ids(*a)).is_some()))
}

fn node_access(check: &'static str, node: &Path, named: Option<bool>, device: crate::pci::PciAddress) -> Finding {
    match fs::metadata(node) {
        Err(_) => finding(check, Status::Fail, format!("{} does not exist", node.display()), None),
        Ok(_) if can_read_write(node) => {
            finding(check, Status::Ok, format!("{} is usable by this user", node.display()), None)
        }
        Ok(meta) if meta.gid() == 0 && named == Some(false) => finding(
            check,
            Status::Fail,
            format!(
                "{} is root's only (mode {:04o}): the udev rules' device list {} does not name {}",
                node.display(),
                meta.mode() & 0o777,
                grant::DEVICE_LIST,
                if check == "vfio node" { "every device of its IOMMU group" } else { "the device" }
            ),
            Some(Remedy::Text(format!(
                "as root, name it (udev/install.sh --allow {device}, and each other member of its IOMMU group), \
                 if the group {UDEV_GROUP} may have it; then re-apply the rules"
            ))),
        ),
        Ok(meta) if meta.gid() == 0 => finding(
            check,
            Status::Fail,
            format!("{} is root's only (mode {:04o})", node.display(), meta.mode() & 0o777),
            Some(Remedy::InstallUdevRules { node: node.to_path_buf() }),
        ),
        Ok(meta) => finding(
            check,
            Status::Fail,
            format!(
                "{} belongs to group {} (mode {:04o})",
                node.display(),
                group_name(meta.gid()),
                meta.mode() & 0o777
            ),
            Some(Remedy::JoinGroup { node: node.to_path_buf(), group: group_name(meta.gid()) }),
        ),
    }
}

fn nodes(dev: &SysfsDevice, userspace: Option<UserspaceDriver>) -> Vec<Finding> {
    let mut out = Vec::new();
    match userspace {
        Some(UserspaceDriver::VfioPci) => {
            if let Some(group) = dev.iommu_group() {
                let named = named_in_list(dev, &dev.iommu_group_members());
                out.push(node_access("vfio node", &PathBuf::from(format!("/dev/vfio/{group}")), named, dev.address));
            }
        }
        Some(UserspaceDriver::UioPciGeneric) => {
            let uio = fs::read_dir(dev.attr_path("uio"))
                .ok()
                .and_then(|mut d| d.next())
                .and_then(|e| e.ok())
                .map(|e| PathBuf::from("/dev").join(e.file_name()));
            if let Some(node) = uio {
                out.push(node_access("uio node", &node, named_in_list(dev, &[]), dev.address));
            }
        }
        None => {
            // The sysfs backend: resourceN files are root-only by design.
            if let Some(path) = (0..6).map(|i| dev.attr_path(&format!("resource{i}"))).find(|p| p.exists()) {
                if can_read_write(&path) {
                    out.push(finding(
                        "bar files",
                        Status::Ok,
                        format!("{} is usable by this user", path.display()),
                        None,
                    ));
                } else {
                    out.push(finding(
                        "bar files",
                        Status::Fail,
                        format!("{} is root's only (sysfs BAR files stay so on purpose)", path.display()),
                        Some(Remedy::RootOrUdev),
                    ));
                }
            }
        }
    }
    out
}

fn config_checks(dev: &SysfsDevice) -> Vec<Finding> {
    let mut out = Vec::new();
    let config = match dev.read_config() {
        Ok(c) => ConfigSpace::new(c),
        Err(e) => return vec![finding("config", Status::Fail, e.to_string(), None)],
    };
    out.push(if config.len() >= 256 {
        finding("config", Status::Ok, format!("{} bytes of config space readable", config.len()), None)
    } else {
        finding(
            "config",
            Status::Warn,
            format!("only {} bytes of config space readable: capabilities need root", config.len()),
            Some(Remedy::RootOrUdev),
        )
    });
    let cmd = config.command().unwrap_or(0);
    let bars = config.bars();
    for (kind, bit, space) in [(BarKind::Memory, command::MEMORY, Space::Memory), (BarKind::Io, command::IO, Space::Io)]
    {
        if !bars.iter().any(|b| b.kind == kind) {
            continue;
        }
        out.push(if cmd & bit != 0 {
            finding("decoding", Status::Ok, format!("{space} decoding is on"), None)
        } else {
            finding(
                "decoding",
                Status::Fail,
                format!("{space} decoding is off in COMMAND: BAR accesses never reach the device"),
                Some(Remedy::EnableDecoding { device: dev.address, space }),
            )
        });
    }
    out.push(finding(
        "bus master",
        Status::Info,
        if cmd & command::BUS_MASTER != 0 {
            "bus mastering is on (the device may do DMA and send MSI)"
        } else {
            "bus mastering is off (VFIO turns it on for interrupts and DMA; without it no DMA or MSI)"
        },
        None,
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_values() {
        let c = "BOOT_IMAGE=/vmlinuz root=/dev/vda1 intel_iommu=on iomem=relaxed quiet";
        assert_eq!(cmdline_value(c, "iomem"), Some("relaxed"));
        assert_eq!(cmdline_value(c, "intel_iommu"), Some("on"));
        assert_eq!(cmdline_value(c, "iommu"), None);
    }
}
