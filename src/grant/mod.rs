//! What the udev rules grant the `mmiodrv` group: the administrator's device
//! list ([`DEVICE_LIST`]), read and checked the way the rules' helper
//! (`udev/mmiodrv-udev-allowed`) reads it; for each present device it names,
//! the node the group reaches it through (`/dev/vfio/N`, `/dev/uioN`) with
//! the node's owner and mode; and the nodes the group holds although the list
//! does not name every device behind them (a stale or foreign grant).
//!
//! # The device list
//!
//! One entry per line; `#` starts a comment that runs to the end of the line;
//! blank lines, spaces and tabs around an entry, and CRs are ignored. An entry
//! is either
//! - a PCI address `DDDD:BB:DD.F` (all four fields, hex: `0000:03:00.0`), or
//! - vendor and device IDs `VVVV:DDDD` (hex: `1234:11e8`), naming every
//!   device that has them.
//!
//! Hex digits may be upper or lower case. Anything else refuses the whole
//! list, and so do a list larger than [`MAX_DEVICE_LIST`] bytes, control
//! characters other than tab and CR, a list or directory that is a symbolic
//! link, not owned by root, or writable by group or others: the helper then
//! grants nothing, and [`DeviceList::load`] returns the reason
//! ([`GrantError::DeviceList`]). A missing list names nothing.
//!
//! # What is granted
//!
//! A VFIO group node `/dev/vfio/N` is granted only when every device of IOMMU
//! group N is named (opening the group hands over all of them); no-IOMMU
//! groups (`/dev/vfio/noiommu-N`) never are. A `/dev/uioN` of
//! uio_pci_generic is granted when its device is named; it maps the device's
//! memory BARs, and UIO has no IOMMU, so a bus-mastering device granted that
//! way gives the group root's power (docs/udev.md).
//!
//! Everything here only reads: the list, sysfs, `/dev` metadata,
//! `/etc/group` and `/etc/passwd` (read directly: a static binary has no NSS).

pub mod error;

pub use error::{GrantError, ListProblem};

use std::fmt;
use std::fs;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::backend::kind::UserspaceDriver;
#[cfg(test)]
use crate::doctor::Finding;
use crate::error::{Error, Result};
use crate::pci::{PciAddress, Sysfs};

/// The group the udev rules give device nodes to (udev/install.sh).
pub const UDEV_GROUP: &str = "mmiodrv";

/// The device list the udev rules' helper reads.
pub const DEVICE_LIST: &str = "/etc/mmiodrv/devices";

/// Largest device list read (the helper has the same limit).
pub const MAX_DEVICE_LIST: u64 = 64 << 10;

/// Where udev/install.sh puts the helper `70-mmiodrv.rules` runs.
pub const UDEV_HELPER: &str = "/usr/local/libexec/mmiodrv-udev-allowed";

/// The command that re-applies the rules to the nodes present, as root.
pub const RETRIGGER: &str = "udevadm trigger --action=change --subsystem-match=vfio --subsystem-match=uio";

/// Longest piece of a bad entry quoted in an error.
const QUOTE_MAX: usize = 48;

/// One entry of the device list: what it names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Name {
    /// One PCI function, by address.
    Address(PciAddress),
    /// Every device with these vendor and device IDs.
    Ids {
        /// Vendor ID.
        vendor: u16,
        /// Device ID.
        device: u16,
    },
}

impl Name {
    /// An entry in one of the list's two forms (`DDDD:BB:DD.F` with every
    /// field, or `VVVV:DDDD`; hex of either case), or None. Stricter than
    /// `--device`: no short addresses, no one-digit fields.
    pub fn parse(text: &str) -> Option<Name> {
        let b = text.as_bytes();
        let hex = |range: std::ops::Range<usize>| b[range].iter().all(u8::is_ascii_hexdigit);
        match b.len() {
            12 if hex(0..4)
                && b[4] == b':'
                && hex(5..7)
                && b[7] == b':'
                && hex(8..10)
                && b[10] == b'.'
                && hex(11..12) =>
            {
                PciAddress::parse(text).ok().map(Name::Address)
            }
            9 if hex(0..4) && b[4] == b':' && hex(5..9) => {
                let vendor = u16::from_str_radix(&text[..4], 16).ok()?;
                let device = u16::from_str_radix(&text[5..], 16).ok()?;
                Some(Name::Ids { vendor, device })
            }
            _ => None,
        }
    }

    /// Whether it names the device at `address` with IDs `ids` (vendor,
    /// device; None when they cannot be read).
    pub fn matches(&self, address: PciAddress, ids: Option<(u16, u16)>) -> bool {
        match *self {
            Name::Address(a) => a == address,
            Name::Ids { vendor, device } => ids == Some((vendor, device)),
        }
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Name::Address(a) => a.fmt(f),
            Name::Ids { vendor, device } => write!(f, "{vendor:04x}:{device:04x}"),
        }
    }
}

/// An entry and the line it is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// 1-based line in the list.
    pub line: usize,
    /// What it names.
    pub name: Name,
}

/// The administrator's device list, read and checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceList {
    /// Where it was read from.
    pub path: PathBuf,
    /// Whether the file exists (a missing list names nothing).
    pub present: bool,
    /// Its entries, in file order.
    pub entries: Vec<Entry>,
}

fn list_error(path: &Path, problem: ListProblem) -> Error {
    GrantError::DeviceList { path: path.to_path_buf(), problem }.into()
}

/// A control character the list may not hold (tab, CR and newline may).
fn is_forbidden_control(b: u8) -> bool {
    (b < 0x20 && !matches!(b, b'\t' | b'\r' | b'\n')) || b == 0x7f
}

impl DeviceList {
    /// An empty list at `path` that does not exist.
    pub fn missing(path: &Path) -> Self {
        DeviceList { path: path.to_path_buf(), present: false, entries: Vec::new() }
    }

    /// Parse the list's text (`path` names it in errors): every line must be
    /// empty, a comment, or one entry, or the whole list is refused.
    pub fn parse(path: &Path, text: &[u8]) -> Result<Self> {
        if text.len() as u64 > MAX_DEVICE_LIST {
            return Err(list_error(path, ListProblem::TooLarge { limit: MAX_DEVICE_LIST }));
        }
        let mut entries = Vec::new();
        for (i, raw) in text.split(|b| *b == b'\n').enumerate() {
            let line = i + 1;
            if raw.iter().any(|b| is_forbidden_control(*b)) {
                return Err(list_error(path, ListProblem::ControlCharacter { line }));
            }
            let content = raw.split(|b| *b == b'#').next().unwrap_or_default();
            let content: Vec<u8> = content.iter().copied().filter(|b| *b != b'\r').collect();
            let mut words = content.split(|b| *b == b' ' || *b == b'\t').filter(|w| !w.is_empty());
            let Some(word) = words.next() else { continue };
            if words.next().is_some() {
                return Err(list_error(path, ListProblem::SeveralEntries { line }));
            }
            let name = std::str::from_utf8(word).ok().and_then(Name::parse);
            match name {
                Some(name) => entries.push(Entry { line, name }),
                None => {
                    let shown = crate::text::one_line(&String::from_utf8_lossy(word));
                    let text = match shown.char_indices().nth(QUOTE_MAX) {
                        Some((at, _)) => format!("{}...", &shown[..at]),
                        None => shown,
                    };
                    return Err(list_error(path, ListProblem::BadEntry { line, text }));
                }
            }
        }
        Ok(DeviceList { path: path.to_path_buf(), present: true, entries })
    }

    /// Read the list at `path` as the helper does: its directory and the file
    /// must not be symbolic links, must be owned by `trusted_uid` (root: 0)
    /// and not writable by group or others; the file must be a regular file
    /// of at most [`MAX_DEVICE_LIST`] bytes. Opened with `O_NOFOLLOW` and
    /// `O_NONBLOCK` (a FIFO is refused, never waited on). A missing directory
    /// or file is an empty list.
    pub fn load(path: &Path, trusted_uid: u32) -> Result<Self> {
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let meta = match fs::symlink_metadata(dir) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(DeviceList::missing(path)),
            Err(e) => return Err(Error::io("cannot stat", dir, e)),
        };
        check_trusted(path, dir, &meta, "directory", trusted_uid)?;
        let file = fs::OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK | nix::libc::O_NOCTTY)
            .open(path);
        let file = match file {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(DeviceList::missing(path)),
            Err(e) if e.raw_os_error() == Some(nix::libc::ELOOP) => {
                return Err(list_error(path, ListProblem::Symlink { path: path.to_path_buf() }))
            }
            Err(e) => return Err(Error::io("cannot open", path, e)),
        };
        let meta = file.metadata().map_err(|e| Error::io("cannot stat", path, e))?;
        check_trusted(path, path, &meta, "regular file", trusted_uid)?;
        if meta.len() > MAX_DEVICE_LIST {
            return Err(list_error(path, ListProblem::TooLarge { limit: MAX_DEVICE_LIST }));
        }
        let mut text = Vec::with_capacity(meta.len() as usize);
        // The file may grow after the stat: one byte past the limit tells.
        file.take(MAX_DEVICE_LIST + 1).read_to_end(&mut text).map_err(|e| Error::io("cannot read", path, e))?;
        DeviceList::parse(path, &text)
    }

    /// The first entry that names the device at `address` with IDs `ids`.
    pub fn naming(&self, address: PciAddress, ids: Option<(u16, u16)>) -> Option<Entry> {
        self.entries.iter().copied().find(|e| e.name.matches(address, ids))
    }

    /// Whether it names nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

fn check_trusted(list: &Path, path: &Path, meta: &fs::Metadata, expected: &'static str, uid: u32) -> Result<()> {
    let ft = meta.file_type();
    let problem = if ft.is_symlink() {
        Some(ListProblem::Symlink { path: path.to_path_buf() })
    } else if (expected == "directory" && !ft.is_dir()) || (expected != "directory" && !ft.is_file()) {
        Some(ListProblem::WrongType { path: path.to_path_buf(), expected })
    } else if meta.uid() != uid {
        Some(ListProblem::Owner { path: path.to_path_buf(), uid: meta.uid() })
    } else if meta.mode() & 0o022 != 0 {
        Some(ListProblem::Writable { path: path.to_path_buf(), mode: meta.mode() })
    } else {
        None
    };
    problem.map_or(Ok(()), |p| Err(list_error(list, p)))
}

/// Where the grant report looks: the system's files, or a test's tree.
#[derive(Clone, Debug)]
pub struct Paths {
    /// The sysfs tree.
    pub sysfs: Sysfs,
    /// The device directory (`/dev`).
    pub dev: PathBuf,
    /// The device list ([`DEVICE_LIST`]).
    pub list: PathBuf,
    /// The group database (`/etc/group`).
    pub group_file: PathBuf,
    /// The user database (`/etc/passwd`).
    pub passwd_file: PathBuf,
    /// Who must own the list and its directory (root: 0).
    pub trusted_uid: u32,
}

impl Paths {
    /// The running system's: `/dev`, [`DEVICE_LIST`], `/etc/group`,
    /// `/etc/passwd`, root, and `sysfs`.
    pub fn system(sysfs: Sysfs) -> Self {
        Paths {
            sysfs,
            dev: "/dev".into(),
            list: DEVICE_LIST.into(),
            group_file: "/etc/group".into(),
            passwd_file: "/etc/passwd".into(),
            trusted_uid: 0,
        }
    }

    /// The gid of group `name`, if the group database has one.
    pub fn gid_of(&self, name: &str) -> Option<u32> {
        db_id(&self.group_file, name)
    }

    pub(crate) fn group_name(&self, gid: u32) -> String {
        db_name(&self.group_file, gid).unwrap_or_else(|| gid.to_string())
    }

    pub(crate) fn user_name(&self, uid: u32) -> String {
        db_name(&self.passwd_file, uid).unwrap_or_else(|| uid.to_string())
    }
}

/// The id of `name` in a passwd- or group-format file, its first line of
/// that name; unreadable or absent: none. Every command that locks a device
/// asks for group mmiodrv's: a scan of the bytes, nothing allocated per line.
fn db_id(path: &Path, name: &str) -> Option<u32> {
    let bytes = read_db(path)?;
    let id = db_lines(&bytes).find(|(n, _)| *n == name.as_bytes()).map(|(_, id)| id);
    id
}

/// The name of `id` in a passwd- or group-format file, its first line of
/// that id; unreadable or absent: none.
fn db_name(path: &Path, id: u32) -> Option<String> {
    let bytes = read_db(path)?;
    let name = db_lines(&bytes).find(|(_, i)| *i == id).map(|(n, _)| String::from_utf8_lossy(n).into_owned());
    name
}

fn read_db(path: &Path) -> Option<Vec<u8>> {
    crate::value::read_regular_file(path, "a user or group database", 16 << 20).ok()
}

/// (name, id) of each line of a passwd- or group-format text
/// (`name:x:id:...`; a line ending in CR LF as one in LF), lines whose id
/// does not parse left out.
fn db_lines(bytes: &[u8]) -> impl Iterator<Item = (&[u8], u32)> {
    bytes.split(|&b| b == b'\n').filter_map(|line| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let mut fields = line.split(|&b| b == b':');
        let name = fields.next()?;
        let id = std::str::from_utf8(fields.nth(1)?).ok()?.parse().ok()?;
        Some((name, id))
    })
}

/// A device node's owner and permission bits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeOwner {
    /// Owner uid.
    pub uid: u32,
    /// Owner's name (the uid when the user database has none).
    pub user: String,
    /// Group gid.
    pub gid: u32,
    /// Group's name (the gid when the group database has none).
    pub group: String,
    /// Permission bits.
    pub mode: u32,
}

impl NodeOwner {
    /// Whether group `gid` may read and write the node through its group bits.
    pub fn grants(&self, gid: u32) -> bool {
        self.gid == gid && self.mode & 0o060 == 0o060
    }

    /// Whether group `gid` has any access through its group bits.
    pub fn gives_anything_to(&self, gid: u32) -> bool {
        self.gid == gid && self.mode & 0o060 != 0
    }
}

impl fmt::Display for NodeOwner {
    /// `root:mmiodrv 0660`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{} {:04o}", self.user, self.group, self.mode & 0o7777)
    }
}

/// The kind of node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// A VFIO group node `/dev/vfio/N`.
    Vfio {
        /// The IOMMU group.
        group: u32,
    },
    /// A no-IOMMU VFIO group node `/dev/vfio/noiommu-N`: never granted.
    VfioNoIommu {
        /// The group.
        group: u32,
    },
    /// A UIO node `/dev/uioN`.
    Uio {
        /// The UIO device name (`uio0`).
        name: String,
        /// The UIO driver's name (`uio_pci_generic`), when readable.
        driver: Option<String>,
    },
}

/// A device node and the devices behind it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// Its path (`/dev/vfio/3`, `/dev/uio0`).
    pub path: PathBuf,
    /// What it is.
    pub kind: NodeKind,
    /// Its owner and mode; None when it does not exist.
    pub owner: Option<NodeOwner>,
    /// The PCI devices behind it: the IOMMU group's members, or the UIO device.
    pub devices: Vec<PciAddress>,
    /// Members that are not PCI functions (their sysfs names).
    pub other_devices: Vec<String>,
}

/// How a named device is reached by the group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Access {
    /// Its node is the group's, read-write.
    Granted,
    /// Every device behind the node is named, but the node is not the
    /// group's: the rules have not been applied since (udevd not running, no
    /// re-trigger after the list changed, rules not installed).
    NotApplied,
    /// Its IOMMU group also holds devices the list does not name: the rules
    /// withhold the group node.
    Withheld {
        /// The members not named (addresses, or sysfs names of non-PCI members).
        unnamed: Vec<String>,
    },
    /// Bound to vfio-pci without an IOMMU: never granted (root-equivalent).
    NoIommu,
    /// Bound to a userspace driver, but its node does not exist.
    NodeMissing,
    /// Not bound to vfio-pci or uio_pci_generic: there is no node to grant.
    Unbound,
}

/// A present device the list names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedDevice {
    /// Its address.
    pub address: PciAddress,
    /// Vendor and device IDs, when readable.
    pub ids: Option<(u16, u16)>,
    /// The entry that names it (the first, if several do).
    pub entry: Entry,
    /// The kernel driver bound to it.
    pub driver: Option<String>,
    /// The node it is reached through, for vfio-pci and uio_pci_generic.
    pub node: Option<Node>,
    /// What the group has of it.
    pub access: Access,
}

impl NamedDevice {
    /// Whether it is granted through UIO (no IOMMU: see the module docs).
    pub fn granted_through_uio(&self) -> bool {
        self.access == Access::Granted && matches!(self.node.as_ref().map(|n| &n.kind), Some(NodeKind::Uio { .. }))
    }
}

/// A node the group can use although the list does not name every device
/// behind it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StrayGrant {
    /// The node.
    pub node: Node,
    /// The devices behind it the list does not name (addresses, or sysfs
    /// names); empty when no device could be found behind it.
    pub unnamed: Vec<String>,
}

/// What the udev rules grant, as seen now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grants {
    /// The device list.
    pub list: DeviceList,
    /// The gid of group `mmiodrv`, if it exists.
    pub gid: Option<u32>,
    /// Present devices the list names, by address.
    pub devices: Vec<NamedDevice>,
    /// Entries that name no present device.
    pub unmatched: Vec<Entry>,
    /// Nodes the group can use for devices the list does not name.
    pub stray: Vec<StrayGrant>,
}

/// What the group is granted: the list (refused: an error, see
/// [`stray_grants`] for what the group holds meanwhile), the named devices
/// present with their nodes, and the stray grants.
pub fn grants(paths: &Paths) -> Result<Grants> {
    let list = DeviceList::load(&paths.list, paths.trusted_uid)?;
    let gid = paths.gid_of(UDEV_GROUP);
    let sysfs = &paths.sysfs;
    let mut devices = Vec::new();
    let mut matched = vec![false; list.entries.len()];
    let addresses = if list.is_empty() { Vec::new() } else { sysfs.addresses()? };
    for address in addresses {
        let ids = device_ids(sysfs, address);
        let Some(entry) = list.naming(address, ids) else { continue };
        for (i, e) in list.entries.iter().enumerate() {
            matched[i] |= e.name.matches(address, ids);
        }
        devices.push(named_device(paths, &list, gid, address, ids, entry));
    }
    let unmatched = list.entries.iter().zip(&matched).filter(|(_, m)| !**m).map(|(e, _)| *e).collect();
    let stray = stray_grants(paths, Some(&list));
    Ok(Grants { list, gid, devices, unmatched, stray })
}

fn device_ids(sysfs: &Sysfs, address: PciAddress) -> Option<(u16, u16)> {
    let dev = sysfs.device(address);
    Some((dev.vendor_id().ok()?, dev.device_id().ok()?))
}

fn named_device(
    paths: &Paths,
    list: &DeviceList,
    gid: Option<u32>,
    address: PciAddress,
    ids: Option<(u16, u16)>,
    entry: Entry,
) -> NamedDevice {
    let dev = paths.sysfs.device(address);
    let driver = dev.driver();
    let node = match driver.as_deref().and_then(UserspaceDriver::from_name) {
        Some(UserspaceDriver::VfioPci) => dev.iommu_group().map(|group| {
            let plain = paths.dev.join(format!("vfio/{group}"));
            let noiommu = paths.dev.join(format!("vfio/noiommu-{group}"));
            if !plain.exists() && noiommu.exists() {
                node_at(paths, noiommu, NodeKind::VfioNoIommu { group })
            } else {
                node_at(paths, plain, NodeKind::Vfio { group })
            }
        }),
        Some(UserspaceDriver::UioPciGeneric) => uio_name(&dev.attr_path("uio")).map(|name| {
            let driver = uio_driver(&paths.sysfs, &name);
            node_at(paths, paths.dev.join(&name), NodeKind::Uio { name, driver })
        }),
        None => None,
    };
    let access = match &node {
        None => Access::Unbound,
        Some(n) if matches!(n.kind, NodeKind::VfioNoIommu { .. }) => Access::NoIommu,
        Some(n) => {
            let unnamed = unnamed_behind(paths, list, n);
            match &n.owner {
                _ if !unnamed.is_empty() => Access::Withheld { unnamed },
                None => Access::NodeMissing,
                Some(o) if gid.is_some_and(|g| o.grants(g)) => Access::Granted,
                Some(_) => Access::NotApplied,
            }
        }
    };
    NamedDevice { address, ids, entry, driver, node, access }
}

/// The first `uioN` entry of a directory (a device's `uio/`).
fn uio_name(dir: &Path) -> Option<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok()?.file_name().to_str().map(str::to_string))
        .filter(|n| is_uio_name(n))
        .collect();
    names.sort();
    names.into_iter().next()
}

fn is_uio_name(name: &str) -> bool {
    name.strip_prefix("uio").is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn uio_driver(sysfs: &Sysfs, name: &str) -> Option<String> {
    let text = fs::read_to_string(sysfs.root().join(format!("class/uio/{name}/name"))).ok()?;
    Some(text.trim().to_string())
}

/// The node at `path`: its owner (None when missing) and the devices behind it.
fn node_at(paths: &Paths, path: PathBuf, kind: NodeKind) -> Node {
    let owner = fs::symlink_metadata(&path).ok().map(|m| NodeOwner {
        uid: m.uid(),
        user: paths.user_name(m.uid()),
        gid: m.gid(),
        group: paths.group_name(m.gid()),
        mode: m.mode() & 0o7777,
    });
    let root = paths.sysfs.root();
    let (devices, other_devices) = match &kind {
        NodeKind::Vfio { group } | NodeKind::VfioNoIommu { group } => {
            let mut names: Vec<String> = fs::read_dir(root.join(format!("kernel/iommu_groups/{group}/devices")))
                .map(|d| d.filter_map(|e| e.ok()?.file_name().to_str().map(str::to_string)).collect())
                .unwrap_or_default();
            names.sort();
            let (pci, other): (Vec<String>, Vec<String>) =
                names.into_iter().partition(|n| PciAddress::parse(n).is_ok_and(|a| a.to_string() == *n));
            (pci.iter().filter_map(|n| PciAddress::parse(n).ok()).collect(), other)
        }
        NodeKind::Uio { name, .. } => {
            let link = fs::read_link(root.join(format!("class/uio/{name}/device"))).ok();
            let target = link.as_ref().and_then(|l| l.file_name()).and_then(|n| n.to_str()).map(str::to_string);
            match target {
                Some(n) => match PciAddress::parse(&n) {
                    Ok(a) if a.to_string() == n => (vec![a], Vec::new()),
                    _ => (Vec::new(), vec![n]),
                },
                None => (Vec::new(), Vec::new()),
            }
        }
    };
    Node { path, kind, owner, devices, other_devices }
}

/// The devices behind `node` the list does not name (every non-PCI member
/// counts as unnamed).
fn unnamed_behind(paths: &Paths, list: &DeviceList, node: &Node) -> Vec<String> {
    let mut out: Vec<String> = node
        .devices
        .iter()
        .filter(|a| list.naming(**a, device_ids(&paths.sysfs, **a)).is_none())
        .map(|a| a.to_string())
        .collect();
    out.extend(node.other_devices.iter().cloned());
    out
}

/// The VFIO group nodes and UIO nodes the group `mmiodrv` has access to
/// although `list` does not name every device behind them (None: a list
/// that was refused, which names nothing). What the rules revoke on their
/// next run; until then, a stale or foreign grant.
pub fn stray_grants(paths: &Paths, list: Option<&DeviceList>) -> Vec<StrayGrant> {
    let Some(gid) = paths.gid_of(UDEV_GROUP) else { return Vec::new() };
    let empty = DeviceList::missing(&paths.list);
    let list = list.unwrap_or(&empty);
    let mut candidates = Vec::new();
    for name in dir_names(&paths.dev.join("vfio")) {
        let path = paths.dev.join("vfio").join(&name);
        if let Ok(group) = name.parse::<u32>() {
            candidates.push(node_at(paths, path, NodeKind::Vfio { group }));
        } else if let Some(group) = name.strip_prefix("noiommu-").and_then(|g| g.parse::<u32>().ok()) {
            candidates.push(node_at(paths, path, NodeKind::VfioNoIommu { group }));
        }
    }
    for name in dir_names(&paths.dev) {
        if is_uio_name(&name) {
            let driver = uio_driver(&paths.sysfs, &name);
            candidates.push(node_at(paths, paths.dev.join(&name), NodeKind::Uio { name, driver }));
        }
    }
    candidates
        .into_iter()
        .filter(|n| n.owner.as_ref().is_some_and(|o| o.gives_anything_to(gid)))
        .filter_map(|n| {
            let unnamed = unnamed_behind(paths, list, &n);
            let nothing_behind = n.devices.is_empty() && n.other_devices.is_empty();
            let never = matches!(n.kind, NodeKind::VfioNoIommu { .. });
            (nothing_behind || never || !unnamed.is_empty()).then_some(StrayGrant { node: n, unnamed })
        })
        .collect()
}

/// The names of the entries of `dir` that are device nodes or plain files
/// (not directories, not symbolic links), sorted; unreadable: none.
fn dir_names(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.file_type().is_ok_and(|t| !t.is_dir() && !t.is_symlink()))
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use std::os::unix::fs::{symlink, PermissionsExt};

    fn addr(s: &str) -> PciAddress {
        PciAddress::parse(s).unwrap()
    }

    fn problem(e: &Error) -> &ListProblem {
        match e.kind() {
            ErrorKind::Grant(GrantError::DeviceList { problem, .. }) => problem,
            other => panic!("not a device-list error: {other:?}"),
        }
    }

    fn parse(text: &str) -> Result<DeviceList> {
        DeviceList::parse(Path::new("/etc/mmiodrv/devices"), text.as_bytes())
    }

    #[test]
    fn names_in_the_two_forms_only() {
        assert_eq!(Name::parse("ffff:00:04.0"), Some(Name::Address(addr("ffff:00:04.0"))));
        assert_eq!(Name::parse("FFFF:0A:1F.7"), Some(Name::Address(addr("ffff:0a:1f.7"))));
        assert_eq!(Name::parse("1234:11E8"), Some(Name::Ids { vendor: 0x1234, device: 0x11e8 }));
        for bad in [
            "00:04.0",
            "0:00:04.0",
            "ffff:0:04.0",
            "ffff:00:20.0",
            "ffff:00:04.8",
            "ffff:00:04.0x",
            "1234:11e",
            "1234",
            "12345:11e8",
            "g234:11e8",
            "ffff:00:04:0",
            "ffff-00:04.0",
            "",
            "+234:11e8",
            "ffff:00:4.00",
        ] {
            assert_eq!(Name::parse(bad), None, "{bad:?}");
        }
        assert_eq!(Name::Ids { vendor: 0x1af4, device: 0x1110 }.to_string(), "1af4:1110");
        assert!(Name::Ids { vendor: 1, device: 2 }.matches(addr("ffff:00:01.0"), Some((1, 2))));
        assert!(!Name::Ids { vendor: 1, device: 2 }.matches(addr("ffff:00:01.0"), None));
    }

    #[test]
    fn list_text_comments_blanks_crlf() {
        let l =
            parse("# devices\n\n  ffff:00:04.0\t# edu\r\n1AF4:1110\r\n   # indented comment\nffff:00:05.0").unwrap();
        let got: Vec<(usize, String)> = l.entries.iter().map(|e| (e.line, e.name.to_string())).collect();
        assert_eq!(
            got,
            [(3, "ffff:00:04.0".to_string()), (4, "1af4:1110".to_string()), (6, "ffff:00:05.0".to_string())]
        );
        assert!(l.present);
        assert!(parse("").unwrap().is_empty());
        assert!(parse("#only\n\n").unwrap().is_empty());
        // A `#` right after the entry ends it.
        assert_eq!(parse("ffff:00:04.0#edu").unwrap().entries.len(), 1);
    }

    #[test]
    fn list_text_refused_whole() {
        let e = parse("ffff:00:04.0\nffff:00:04.0 ffff:00:05.0\n").unwrap_err();
        assert_eq!(problem(&e), &ListProblem::SeveralEntries { line: 2 });
        assert_eq!(e.class(), crate::ErrorClass::Usage);
        let e = parse("ffff:00:04.0\n\nall\n").unwrap_err();
        assert_eq!(problem(&e), &ListProblem::BadEntry { line: 3, text: "all".into() });
        assert_eq!(
            e.to_string(),
            "device list /etc/mmiodrv/devices: line 3: 'all' is not a PCI address (DDDD:BB:DD.F) or vendor:device IDs (VVVV:DDDD)"
        );
        assert!(e.remedy().is_some_and(|r| r.to_string().contains("fix line 3 of /etc/mmiodrv/devices")));
        let e = parse("ffff:00:04.0\x1b[2J\n").unwrap_err();
        assert_eq!(problem(&e), &ListProblem::ControlCharacter { line: 1 });
        let e = parse("# \0\n").unwrap_err();
        assert_eq!(problem(&e), &ListProblem::ControlCharacter { line: 1 });
        // Quoted text is one line and short, whatever was there.
        let long = format!("{}\n", "é".repeat(500));
        let ListProblem::BadEntry { text, .. } = problem(&parse(&long).unwrap_err()).clone() else { panic!() };
        assert_eq!(text, format!("{}...", "é".repeat(QUOTE_MAX)));
        let big = "#".repeat(MAX_DEVICE_LIST as usize + 1);
        assert_eq!(problem(&parse(&big).unwrap_err()), &ListProblem::TooLarge { limit: MAX_DEVICE_LIST });
        // Non-UTF-8 bytes are fine in a comment, not in an entry.
        assert!(DeviceList::parse(Path::new("l"), b"# caf\xe9\nffff:00:04.0\n").is_ok());
        assert!(DeviceList::parse(Path::new("l"), b"ffff:00:04.\xe9\n").is_err());
    }

    fn me() -> u32 {
        nix::unistd::geteuid().as_raw()
    }

    fn chmod(p: &Path, mode: u32) {
        fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
    }

    /// A list directory (0755) with `text` in `devices` (0644), owned by this user.
    fn list_dir(text: &str) -> (tempfile::TempDir, PathBuf) {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("mmiodrv");
        fs::create_dir(&dir).unwrap();
        chmod(&dir, 0o755);
        let list = dir.join("devices");
        fs::write(&list, text).unwrap();
        chmod(&list, 0o644);
        (t, list)
    }

    #[test]
    fn load_checks_the_file_and_its_directory() {
        let (t, list) = list_dir("ffff:00:04.0\n");
        assert_eq!(DeviceList::load(&list, me()).unwrap().entries.len(), 1);
        // Another owner than the trusted one.
        let e = DeviceList::load(&list, me().wrapping_add(1)).unwrap_err();
        assert!(matches!(problem(&e), ListProblem::Owner { path, .. } if *path == list.parent().unwrap()));
        assert_eq!(e.class(), crate::ErrorClass::Refused);
        // Writable by others: the file, then the directory.
        chmod(&list, 0o666);
        let e = DeviceList::load(&list, me()).unwrap_err();
        assert!(matches!(problem(&e), ListProblem::Writable { path, mode } if *path == list && mode & 0o777 == 0o666));
        chmod(&list, 0o644);
        chmod(list.parent().unwrap(), 0o775);
        assert!(matches!(problem(&DeviceList::load(&list, me()).unwrap_err()), ListProblem::Writable { .. }));
        chmod(list.parent().unwrap(), 0o755);
        // A symlink to a good list is refused (never followed).
        let real = t.path().join("real");
        fs::rename(&list, &real).unwrap();
        symlink(&real, &list).unwrap();
        let e = DeviceList::load(&list, me()).unwrap_err();
        assert_eq!(problem(&e), &ListProblem::Symlink { path: list.clone() });
        assert!(e.remedy().is_some_and(|r| r.to_string().contains("grant nothing")));
        fs::remove_file(&list).unwrap();
        // Missing file, then missing directory: nothing named.
        let l = DeviceList::load(&list, me()).unwrap();
        assert!(!l.present && l.is_empty());
        let l = DeviceList::load(&t.path().join("nothere/devices"), me()).unwrap();
        assert!(!l.present && l.is_empty());
        // A FIFO is refused without waiting for a writer; so is a directory.
        nix::unistd::mkfifo(&list, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
        let e = DeviceList::load(&list, me()).unwrap_err();
        assert_eq!(problem(&e), &ListProblem::WrongType { path: list.clone(), expected: "regular file" });
        fs::remove_file(&list).unwrap();
        fs::create_dir(&list).unwrap();
        chmod(&list, 0o755);
        assert!(matches!(problem(&DeviceList::load(&list, me()).unwrap_err()), ListProblem::WrongType { .. }));
        // A directory that is a symlink.
        let other = t.path().join("other");
        fs::create_dir(&other).unwrap();
        chmod(&other, 0o755);
        let linked = t.path().join("linked");
        symlink(&other, &linked).unwrap();
        let e = DeviceList::load(&linked.join("devices"), me()).unwrap_err();
        assert_eq!(problem(&e), &ListProblem::Symlink { path: linked });
        // Larger than the limit.
        let (_t2, list) = list_dir(&"#".repeat(MAX_DEVICE_LIST as usize + 1));
        assert!(matches!(problem(&DeviceList::load(&list, me()).unwrap_err()), ListProblem::TooLarge { .. }));
    }

    /// A fake system: sysfs with domain ffff devices, /dev with plain files as
    /// nodes (this user's gid is group mmiodrv in the fake /etc/group).
    struct Fake {
        _t: tempfile::TempDir,
        paths: Paths,
    }

    impl Fake {
        fn new(list: &str) -> Fake {
            let t = tempfile::tempdir().unwrap();
            let root = t.path();
            let etc = root.join("etc/mmiodrv");
            fs::create_dir_all(&etc).unwrap();
            chmod(&etc, 0o755);
            fs::write(etc.join("devices"), list).unwrap();
            chmod(&etc.join("devices"), 0o644);
            let gid = nix::unistd::getegid().as_raw();
            // First: names the files of this user (root in CI) are shown with.
            fs::write(root.join("etc/group"), format!("mmiodrv:x:{gid}:lab\nroot:x:0:\n")).unwrap();
            fs::write(root.join("etc/passwd"), format!("lab:x:{}:{gid}::/:/bin/sh\nroot:x:0:0::/root:/bin/sh\n", me()))
                .unwrap();
            fs::create_dir_all(root.join("dev/vfio")).unwrap();
            let paths = Paths {
                sysfs: Sysfs::new(root.join("sys")),
                dev: root.join("dev"),
                list: etc.join("devices"),
                group_file: root.join("etc/group"),
                passwd_file: root.join("etc/passwd"),
                trusted_uid: me(),
            };
            Fake { _t: t, paths }
        }

        fn sys(&self) -> &Path {
            self.paths.sysfs.root()
        }

        fn device(&self, a: &str, ids: (u16, u16), driver: Option<&str>, group: Option<u32>) {
            let d = self.sys().join("bus/pci/devices").join(a);
            fs::create_dir_all(&d).unwrap();
            fs::write(d.join("vendor"), format!("{:#06x}\n", ids.0)).unwrap();
            fs::write(d.join("device"), format!("{:#06x}\n", ids.1)).unwrap();
            if let Some(drv) = driver {
                symlink(format!("../../../bus/pci/drivers/{drv}"), d.join("driver")).unwrap();
            }
            if let Some(g) = group {
                symlink(format!("../../../kernel/iommu_groups/{g}"), d.join("iommu_group")).unwrap();
                let members = self.sys().join(format!("kernel/iommu_groups/{g}/devices"));
                fs::create_dir_all(&members).unwrap();
                symlink(format!("../../../../bus/pci/devices/{a}"), members.join(a)).unwrap();
            }
        }

        fn uio(&self, a: &str, name: &str) {
            fs::create_dir_all(self.sys().join("bus/pci/devices").join(a).join("uio").join(name)).unwrap();
            let c = self.sys().join("class/uio").join(name);
            fs::create_dir_all(&c).unwrap();
            fs::write(c.join("name"), "uio_pci_generic\n").unwrap();
            symlink(format!("../../../bus/pci/devices/{a}"), c.join("device")).unwrap();
        }

        fn node(&self, rel: &str, mode: u32) {
            let p = self.paths.dev.join(rel);
            fs::write(&p, "").unwrap();
            chmod(&p, mode);
        }
    }

    #[test]
    fn grants_of_a_fake_system() {
        let f = Fake::new("ffff:00:04.0\n1af4:1110\nffff:00:06.0\nffff:00:08.0\nffff:00:09.0\nffff:00:1f.0\n");
        // edu through VFIO, alone in group 3, granted.
        f.device("ffff:00:04.0", (0x1234, 0x11e8), Some("vfio-pci"), Some(3));
        f.node("vfio/3", 0o660);
        // ivshmem named by IDs, through UIO, granted: a warning in doctor.
        f.device("ffff:00:05.0", (0x1af4, 0x1110), Some("uio_pci_generic"), Some(4));
        f.uio("ffff:00:05.0", "uio0");
        f.node("uio0", 0o660);
        // Named, but its group holds 00:07.0, which is not: withheld; the node
        // still being the group's is a stray grant.
        f.device("ffff:00:06.0", (0x8086, 0x10d3), Some("vfio-pci"), Some(5));
        f.device("ffff:00:07.0", (0x8086, 0x10d4), Some("vfio-pci"), None);
        symlink("x", f.sys().join("kernel/iommu_groups/5/devices/ffff:00:07.0")).unwrap();
        f.node("vfio/5", 0o660);
        // Named, bound, node root-only: the rules were not applied.
        f.device("ffff:00:08.0", (0x8086, 0x1000), Some("vfio-pci"), Some(6));
        f.node("vfio/6", 0o600);
        // Named, bound to a kernel driver: nothing to grant.
        f.device("ffff:00:09.0", (0x8086, 0x1001), Some("e1000"), Some(7));
        // Not named at all, bound to vfio-pci, node the group's: stray.
        f.device("ffff:00:0a.0", (0x8086, 0x1002), Some("vfio-pci"), Some(8));
        f.node("vfio/8", 0o660);
        // Not named, node root-only: fine, not reported.
        f.device("ffff:00:0b.0", (0x8086, 0x1003), Some("vfio-pci"), Some(9));
        f.node("vfio/9", 0o600);
        // The container is not a group node.
        f.node("vfio/vfio", 0o666);

        let g = grants(&f.paths).unwrap();
        assert_eq!(g.gid, Some(nix::unistd::getegid().as_raw()));
        let access: Vec<(String, Access)> =
            g.devices.iter().map(|d| (d.address.to_string(), d.access.clone())).collect();
        assert_eq!(
            access,
            [
                ("ffff:00:04.0".into(), Access::Granted),
                ("ffff:00:05.0".into(), Access::Granted),
                ("ffff:00:06.0".into(), Access::Withheld { unnamed: vec!["ffff:00:07.0".into()] }),
                ("ffff:00:08.0".into(), Access::NotApplied),
                ("ffff:00:09.0".into(), Access::Unbound),
            ]
        );
        let edu = &g.devices[0];
        let node = edu.node.as_ref().unwrap();
        assert_eq!(node.path, f.paths.dev.join("vfio/3"));
        assert_eq!(node.kind, NodeKind::Vfio { group: 3 });
        assert_eq!(node.owner.as_ref().unwrap().to_string(), "lab:mmiodrv 0660");
        assert!(!edu.granted_through_uio());
        let iv = &g.devices[1];
        assert!(iv.granted_through_uio());
        assert_eq!(iv.entry, Entry { line: 2, name: Name::Ids { vendor: 0x1af4, device: 0x1110 } });
        assert_eq!(iv.node.as_ref().unwrap().devices, [addr("ffff:00:05.0")]);
        assert_eq!(g.unmatched, [Entry { line: 6, name: Name::Address(addr("ffff:00:1f.0")) }]);
        let stray: Vec<(PathBuf, Vec<String>)> =
            g.stray.iter().map(|s| (s.node.path.clone(), s.unnamed.clone())).collect();
        assert_eq!(
            stray,
            [
                (f.paths.dev.join("vfio/5"), vec!["ffff:00:07.0".to_string()]),
                (f.paths.dev.join("vfio/8"), vec!["ffff:00:0a.0".to_string()]),
            ]
        );

        // Doctor's words for it: a stray grant is a failure, UIO a warning.
        let findings = crate::doctor::grants(&f.paths);
        let fails: Vec<&Finding> = findings.iter().filter(|x| x.status == crate::doctor::Status::Fail).collect();
        assert_eq!(fails.len(), 2, "{findings:#?}");
        assert!(fails[1].detail.contains("vfio/8 (lab:mmiodrv 0660) gives group mmiodrv access, but"));
        assert!(
            fails[1].detail.ends_with("does not name ffff:00:0a.0: a stale or foreign grant"),
            "{}",
            fails[1].detail
        );
        let uio = findings.iter().find(|x| x.detail.contains("through UIO")).unwrap();
        assert_eq!(uio.status, crate::doctor::Status::Warn);
        assert!(uio.detail.contains("root-equivalent"));
        assert!(findings.iter().any(|x| x.detail.contains("line 6: ffff:00:1f.0 matches no present device")));

        // Every name removed: no device named, both grants now stray.
        fs::write(&f.paths.list, "# nothing\n").unwrap();
        let g = grants(&f.paths).unwrap();
        assert!(g.devices.is_empty());
        let paths: Vec<PathBuf> = g.stray.iter().map(|s| s.node.path.clone()).collect();
        assert_eq!(paths, ["vfio/3", "vfio/5", "vfio/8", "uio0"].map(|p| f.paths.dev.join(p)), "{:#?}", g.stray);
    }

    #[test]
    fn refused_list_grants_nothing_and_every_group_node_is_stray() {
        let f = Fake::new("ffff:00:04.0\n");
        f.device("ffff:00:04.0", (0x1234, 0x11e8), Some("vfio-pci"), Some(3));
        f.node("vfio/3", 0o660);
        fs::write(&f.paths.list, "ffff:00:04.0 # fine\nrm -rf /\n").unwrap();
        let e = grants(&f.paths).unwrap_err();
        assert_eq!(problem(&e), &ListProblem::SeveralEntries { line: 2 });
        let stray = stray_grants(&f.paths, None);
        assert_eq!(stray.len(), 1);
        assert_eq!(stray[0].unnamed, ["ffff:00:04.0"]);
        let findings = crate::doctor::grants(&f.paths);
        assert_eq!(findings[0].status, crate::doctor::Status::Fail);
        assert!(findings[0].detail.contains("line 2: more than one entry"), "{}", findings[0].detail);
        assert_eq!(findings[1].status, crate::doctor::Status::Fail);
        // A no-IOMMU node the group holds is always stray.
        fs::write(&f.paths.list, "ffff:00:04.0\n").unwrap();
        f.node("vfio/noiommu-0", 0o660);
        let stray = stray_grants(&f.paths, Some(&DeviceList::load(&f.paths.list, me()).unwrap()));
        assert_eq!(stray.len(), 1);
        assert_eq!(stray[0].node.kind, NodeKind::VfioNoIommu { group: 0 });
    }

    #[test]
    fn no_list_no_group() {
        let f = Fake::new("");
        fs::remove_file(&f.paths.list).unwrap();
        let g = grants(&f.paths).unwrap();
        assert!(!g.list.present && g.devices.is_empty() && g.stray.is_empty());
        let findings = crate::doctor::grants(&f.paths);
        assert_eq!(findings.len(), 1);
        assert!(findings[0].detail.starts_with("no device list "), "{}", findings[0].detail);
        // No group mmiodrv: no node can be the group's.
        fs::write(&f.paths.group_file, "root:x:0:\nlab:x:1000:\n").unwrap();
        f.node("vfio/3", 0o666);
        assert!(stray_grants(&f.paths, None).is_empty());
    }
}
