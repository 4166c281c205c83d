//! Read-only discovery of PCI devices through sysfs.
//!
//! The root is configurable (`MMIODRV_SYSFS_ROOT`, default `/sys`) so the tests can
//! run every parser on a fake tree they write themselves, and never need the
//! machine's own devices.

use crate::error::PciError;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::error::{Error, ErrorKind, Result};
use crate::pci::address::{DeviceSelector, PciAddress};
use crate::pci::resource::{parse_resource_lines, Resource};

/// Drivers that leave an IOMMU group viable for VFIO (the kernel accepts a group
/// whose members are bound to these or to nothing).
pub const VFIO_VIABLE_DRIVERS: &[&str] = &["vfio-pci", "pci-stub", "pcieport"];

/// Environment variable naming the sysfs root.
pub const SYSFS_ROOT_ENV: &str = "MMIODRV_SYSFS_ROOT";

/// Environment variable the tests set on every command they run against a fake
/// sysfs tree: with it, anything that would write to, bind through, map a BAR
/// of, or open a device node of a real machine aborts the process instead
/// (see [`tripwire`]).
pub const FAKE_ONLY_ENV: &str = "MMIODRV_FAKE_SYSFS_ONLY";

fn fake_only() -> bool {
    static FAKE: OnceLock<bool> = OnceLock::new();
    *FAKE.get_or_init(|| std::env::var_os(FAKE_ONLY_ENV).is_some())
}

/// The tests' safety net. When [`FAKE_ONLY_ENV`] is set, `path` is about to
/// be written, mapped or used to bind: it must lie inside the sysfs root
/// named by [`SYSFS_ROOT_ENV`], and that root must not be a real sysfs.
/// Otherwise it is refused (an error, before anything is touched): a
/// fake-tree test can never reach the machine's own devices, even through a
/// bug that ignores the override. Without the variable this does nothing.
pub fn tripwire(path: &Path, what: &str) -> Result<()> {
    if !fake_only() {
        return Ok(());
    }
    let root = std::env::var_os(SYSFS_ROOT_ENV).map(PathBuf::from);
    let inside = root.as_ref().is_some_and(|r| path.starts_with(r) && !is_real_sysfs(r));
    if inside {
        return Ok(());
    }
    let why = format!(
        "TRIPWIRE: {what} {} while {FAKE_ONLY_ENV} is set (the fake sysfs root is {:?}): a test never touches a real device",
        path.display(),
        root
    );
    Err(ErrorKind::NotSupported { what: "reaching a real device from a fake-sysfs test", why }.into())
}

/// A real sysfs mount (or `/sys` itself), as opposed to a test's directory.
fn is_real_sysfs(root: &Path) -> bool {
    let canonical = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    canonical == Path::new("/sys")
        || nix::sys::statfs::statfs(&canonical).is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::SYSFS_MAGIC)
}

/// Write a sysfs attribute (driver_override, bind, unbind, drivers_probe...),
/// through the tripwire.
pub fn write_attr(device: PciAddress, path: &Path, value: &str) -> Result<()> {
    tripwire(path, "writing")?;
    fs::write(path, value).map_err(|e| Error::io_on(device, "cannot write", path, e))
}

/// A sysfs tree: the real `/sys` or a test's fake one.
#[derive(Clone, Debug)]
pub struct Sysfs {
    root: PathBuf,
}

impl Sysfs {
    /// A tree rooted at `root` (normally `/sys`).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Sysfs { root: root.into() }
    }

    /// `$MMIODRV_SYSFS_ROOT`, or `/sys`.
    pub fn from_env() -> Self {
        Sysfs::new(std::env::var_os(SYSFS_ROOT_ENV).map(PathBuf::from).unwrap_or_else(|| "/sys".into()))
    }

    /// Its root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn devices_dir(&self) -> PathBuf {
        self.root.join("bus/pci/devices")
    }

    /// Every PCI function, sorted by address. Entries that are not addresses are skipped.
    pub fn addresses(&self) -> Result<Vec<PciAddress>> {
        let dir = self.devices_dir();
        let entries = fs::read_dir(&dir).map_err(|e| Error::io("cannot list", &dir, e))?;
        let mut out: Vec<PciAddress> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str().and_then(|n| PciAddress::parse(n).ok()))
            .collect();
        out.sort();
        Ok(out)
    }

    /// The directory of the device at `address` (which may not exist).
    pub fn device(&self, address: PciAddress) -> SysfsDevice {
        SysfsDevice { address, path: self.devices_dir().join(address.to_string()), root: self.root.clone() }
    }

    /// Find the one device a selector names.
    pub fn resolve(&self, selector: &DeviceSelector) -> Result<SysfsDevice> {
        let not_found = || Error::from(PciError::DeviceNotFound { selector: selector.to_string() });
        match selector {
            DeviceSelector::Address(addr) => {
                let dev = self.device(*addr);
                if dev.path.is_dir() {
                    Ok(dev)
                } else {
                    Err(not_found())
                }
            }
            DeviceSelector::Ids { vendor, device } => {
                let mut matches = Vec::new();
                for addr in self.addresses()? {
                    let dev = self.device(addr);
                    if dev.vendor_id().ok() == Some(*vendor) && dev.device_id().ok() == Some(*device) {
                        matches.push(dev);
                    }
                }
                match matches.len() {
                    0 => Err(not_found()),
                    1 => Ok(matches.remove(0)),
                    _ => Err(PciError::AmbiguousDevice {
                        selector: selector.to_string(),
                        matches: matches.iter().map(|d| d.address).collect(),
                    }
                    .into()),
                }
            }
        }
    }
}

/// Whether the device at `address` is still there: its config space
/// readable in sysfs with a vendor ID that is not all-ones (a removed or
/// powered-off function reads all-ones). Asked when a register reads
/// all-ones, to tell a value from a device that went away.
pub fn present(address: PciAddress) -> bool {
    Sysfs::from_env().device(address).read_config_u16(0).is_ok_and(|vendor| vendor != 0xffff)
}

/// One device's sysfs directory.
#[derive(Clone, Debug)]
pub struct SysfsDevice {
    /// Its address.
    pub address: PciAddress,
    /// Its sysfs directory.
    pub path: PathBuf,
    root: PathBuf,
}

impl SysfsDevice {
    /// Its address as text.
    pub fn name(&self) -> String {
        self.address.to_string()
    }

    /// The sysfs tree this device belongs to.
    pub fn sysfs(&self) -> Sysfs {
        Sysfs::new(self.root.clone())
    }

    /// Path of an attribute file such as `config` or `resource0`.
    pub fn attr_path(&self, attr: &str) -> PathBuf {
        self.path.join(attr)
    }

    fn read_attr(&self, attr: &str) -> Result<String> {
        let path = self.attr_path(attr);
        fs::read_to_string(&path)
            .map(|s| s.trim().to_string())
            .map_err(|e| Error::io_on(self.address, "cannot read", path, e))
    }

    fn read_hex_attr(&self, attr: &str) -> Result<u32> {
        let text = self.read_attr(attr)?;
        let digits = text.strip_prefix("0x").unwrap_or(&text);
        u32::from_str_radix(digits, 16).map_err(|_| {
            let source = std::io::Error::new(std::io::ErrorKind::InvalidData, format!("'{text}' is not hex"));
            Error::io_on(self.address, "unexpected contents in", self.attr_path(attr), source)
        })
    }

    /// Vendor ID from sysfs.
    pub fn vendor_id(&self) -> Result<u16> {
        self.read_hex_attr("vendor").map(|v| v as u16)
    }

    /// Device ID from sysfs.
    pub fn device_id(&self) -> Result<u16> {
        self.read_hex_attr("device").map(|v| v as u16)
    }

    /// The 24-bit class code (base class, subclass, programming interface).
    pub fn class_code(&self) -> Result<u32> {
        self.read_hex_attr("class").map(|v| v & 0xff_ffff)
    }

    /// The IRQ number sysfs gives (`irq`), if readable.
    pub fn irq(&self) -> Option<u32> {
        self.read_attr("irq").ok()?.parse().ok()
    }

    /// Name of the bound kernel driver, if any.
    pub fn driver(&self) -> Option<String> {
        link_name(&self.attr_path("driver"))
    }

    /// The IOMMU group number, if the device is in one.
    pub fn iommu_group(&self) -> Option<u32> {
        link_name(&self.attr_path("iommu_group")).and_then(|n| n.parse().ok())
    }

    /// All devices in this device's IOMMU group, itself included.
    pub fn iommu_group_members(&self) -> Vec<PciAddress> {
        let Some(group) = self.iommu_group() else { return Vec::new() };
        let dir = self.root.join(format!("kernel/iommu_groups/{group}/devices"));
        let mut members: Vec<PciAddress> = fs::read_dir(dir)
            .map(|it| {
                it.filter_map(|e| e.ok())
                    .filter_map(|e| e.file_name().to_str().and_then(|n| PciAddress::parse(n).ok()))
                    .collect()
            })
            .unwrap_or_default();
        members.sort();
        members
    }

    /// The other members of this device's IOMMU group that are bound to a driver
    /// outside `allowed`, each with that driver.
    pub fn group_members_bound_outside(&self, allowed: &[&str]) -> Vec<(SysfsDevice, String)> {
        let sysfs = self.sysfs();
        self.iommu_group_members()
            .into_iter()
            .filter(|a| *a != self.address)
            .filter_map(|a| {
                let member = sysfs.device(a);
                let driver = member.driver()?;
                (!allowed.contains(&driver.as_str())).then_some((member, driver))
            })
            .collect()
    }

    /// The readable part of config space: 64 bytes for unprivileged users,
    /// 256 or 4096 for root depending on the device.
    pub fn read_config(&self) -> Result<Vec<u8>> {
        let path = self.attr_path("config");
        fs::read(&path).map_err(|e| Error::io_on(self.address, "cannot read config space from", path, e))
    }

    /// Two bytes of config space at `offset` (little-endian), read with one
    /// pread: what a check of COMMAND needs, without reading all of it.
    pub fn read_config_u16(&self, offset: u64) -> Result<u16> {
        use std::os::unix::fs::FileExt;
        let path = self.attr_path("config");
        let mut b = [0u8; 2];
        fs::File::open(&path)
            .and_then(|f| f.read_exact_at(&mut b, offset))
            .map_err(|e| Error::io_on(self.address, "cannot read config space from", &path, e))?;
        Ok(u16::from_le_bytes(b))
    }

    /// The bridge this device is behind: the parent directory of its
    /// canonical sysfs path, when that is a PCI function (`/sys/devices/
    /// pci0000:00/0000:00:0a.0/0000:02:00.0`). None on a root bus.
    pub fn parent_bridge(&self) -> Option<PciAddress> {
        let real = fs::canonicalize(&self.path).ok()?;
        let parent = real.parent()?.file_name()?.to_str()?;
        PciAddress::parse(parent).ok()
    }

    /// The `resource` file: one line per BAR, ROM and bridge window.
    pub fn resources(&self) -> Result<Vec<Resource>> {
        self.resource_lines(usize::MAX)
    }

    /// The first `max` lines of the `resource` file (BARs: 6).
    pub fn resource_lines(&self, max: usize) -> Result<Vec<Resource>> {
        let text = self.read_attr("resource")?;
        parse_resource_lines(&text, max).map_err(|msg| {
            let source = std::io::Error::new(std::io::ErrorKind::InvalidData, msg);
            Error::io_on(self.address, "unexpected contents in", self.attr_path("resource"), source)
        })
    }
}

fn link_name(path: &Path) -> Option<String> {
    fs::read_link(path).ok()?.file_name()?.to_str().map(str::to_string)
}
