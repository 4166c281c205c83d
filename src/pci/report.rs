//! What `info` reports about devices: their config space and what the
//! kernel knows of them, gathered from sysfs (the machine) or from an
//! `lspci -x` dump (another machine), then printed as lspci prints it
//! ([`crate::pci::lspci::show`]) and given as one typed object per device
//! ([`DeviceReport`]: lspci's lines, every capability's named values, every
//! register of the config register map with its fields).

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::backend::BarInfo;
use crate::error::{Error, Result};
use crate::pci::config::ConfigSpace;
use crate::pci::filter::Filter;
use crate::pci::ids::PciIds;
use crate::pci::lspci::dump::DumpDevice;
use crate::pci::lspci::show::{self, Facts, Function, KernelIds, Resources, ShowOptions};
use crate::pci::lspci::Block;
use crate::pci::resource::BarKind;
use crate::pci::{config_map, PciAddress, Sysfs, SysfsDevice};
use crate::window::DumpedRegister;

/// lspci's first line after the address, exactly as lspci words it:
/// `Unclassified device [00ff]: Device 1234:11e8 (rev 10)`,
/// `Ethernet controller: Intel Corporation 82540EM Gigabit Ethernet Controller (rev 03)`.
pub fn title(ids: &PciIds, config: &ConfigSpace) -> String {
    let vendor = config.vendor_id().unwrap_or(0);
    let device = config.device_id().unwrap_or(0);
    let class = config.class_code().unwrap_or(0);
    let mut t = format!("{}: {}", ids.lspci_class(class), ids.describe(vendor, device));
    if let Some(rev) = config.revision().filter(|r| *r != 0) {
        t.push_str(&format!(" (rev {rev:02x})"));
    }
    t
}

/// Where devices come from.
#[derive(Clone, Copy, Debug)]
pub enum Source<'a> {
    /// This machine, through sysfs.
    Sysfs(&'a Sysfs),
    /// An `lspci -x`/`-xxx`/`-xxxx` dump (or `mmiodrv config`'s output),
    /// read from `path`.
    Dump {
        /// The file.
        path: &'a Path,
        /// Its devices.
        devices: &'a [DumpDevice],
    },
}

/// One function found: its address, config space as read, and facts.
#[derive(Clone, Debug)]
pub struct Inspected {
    /// Domain (a dump may have five hex digits).
    pub domain: u32,
    /// Bus.
    pub bus: u8,
    /// Device.
    pub device: u8,
    /// Function.
    pub function: u8,
    /// Config space: 64 bytes unprivileged, 256 or 4096 as root, or the dump's.
    pub config: Vec<u8>,
    /// What the kernel adds (nothing for a dump).
    pub facts: Facts,
    /// Its sysfs directory, on this machine.
    pub sysfs: Option<SysfsDevice>,
    /// Its VPD (sysfs `vpd`), when asked for and readable.
    pub vpd: Option<Vec<u8>>,
}

impl Inspected {
    /// The function as the lspci printer takes it.
    pub fn function(&self) -> Function<'_> {
        Function {
            domain: self.domain,
            bus: self.bus,
            device: self.device,
            function: self.function,
            config: &self.config,
            facts: &self.facts,
        }
    }

    /// Its address as mmiodrv names devices (`0000:00:04.0`).
    pub fn name(&self) -> String {
        self.function().slot_name(true)
    }

    /// Its PCI address, when the domain fits one (always on Linux).
    pub fn address(&self) -> Option<PciAddress> {
        Some(PciAddress {
            domain: u16::try_from(self.domain).ok()?,
            bus: self.bus,
            device: self.device,
            function: self.function,
        })
    }
}

/// What to gather besides config space.
#[derive(Clone, Copy, Debug, Default)]
pub struct Gather {
    /// Read config space (else only the 64-byte header... not even that: the
    /// IDs come from sysfs).
    pub config: bool,
    /// The kernel's facts (IRQ, resources, driver, IOMMU group, slot...).
    pub facts: bool,
    /// Kernel modules that can drive each device (`-k`).
    pub modules: bool,
    /// VPD, for devices that have the capability (lspci reads it at `-vvv`).
    pub vpd: bool,
}

/// A slot directory of sysfs: its name and the address it gives.
type Slot = (String, u32, u8, u8);

/// `/sys/bus/pci/slots/*/address`, in directory order (lspci's).
fn slots(sysfs: &Sysfs) -> Vec<Slot> {
    let dir = sysfs.root().join("bus/pci/slots");
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(e.path().join("address")) else { continue };
        let parts: Vec<&str> = text.trim().split(':').collect();
        if let [d, b, s] = parts.as_slice() {
            if let (Ok(d), Ok(b), Ok(s)) =
                (u32::from_str_radix(d, 16), u8::from_str_radix(b, 16), u8::from_str_radix(s, 16))
            {
                out.push((name, d, b, s));
            }
        }
    }
    out
}

fn attr(dev: &SysfsDevice, name: &str) -> Option<String> {
    std::fs::read_to_string(dev.attr_path(name)).ok().map(|s| s.trim_end_matches('\n').to_string())
}

fn hex_attr(dev: &SysfsDevice, name: &str) -> Option<u32> {
    let text = attr(dev, name)?;
    u32::from_str_radix(text.trim().trim_start_matches("0x"), 16).ok()
}

/// The kernel modules directory (`MMIODRV_MODULES_DIR`, else
/// `/lib/modules/$(uname -r)`).
pub fn modules_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(MODULES_DIR_ENV) {
        return Some(dir.into());
    }
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok()?;
    Some(Path::new("/lib/modules").join(release.trim()))
}

/// Environment variable naming another kernel modules directory.
pub const MODULES_DIR_ENV: &str = "MMIODRV_MODULES_DIR";

/// The modules whose aliases match `modalias` (`modules.alias`), as lspci's
/// `Kernel modules:` lists them (libkmod answers nothing without the
/// directory's binary indexes, and then neither does this).
pub fn kernel_modules(dir: &Path, modalias: &str) -> Vec<String> {
    if !dir.join("modules.alias.bin").is_file() || !dir.join("modules.dep.bin").is_file() {
        return Vec::new();
    }
    let Ok(text) = crate::value::read_regular_file(&dir.join("modules.alias"), "modules.alias", 64 << 20) else {
        return Vec::new();
    };
    let text = String::from_utf8_lossy(&text);
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        if let (Some("alias"), Some(pattern), Some(module)) = (words.next(), words.next(), words.next()) {
            if pattern.starts_with("pci:") && glob(pattern.as_bytes(), modalias.as_bytes()) {
                out.push(module.to_string());
            }
        }
    }
    out
}

/// `fnmatch` without flags, for module aliases: `*`, `?` and `[...]`.
fn glob(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, si));
                pi += 1;
                continue;
            }
            Some(b'?') => {
                pi += 1;
                si += 1;
                continue;
            }
            Some(b'[') => {
                if let Some((matched, len)) = class(&p[pi..], s[si]) {
                    if matched {
                        pi += len;
                        si += 1;
                        continue;
                    }
                } else if s[si] == b'[' {
                    pi += 1;
                    si += 1;
                    continue;
                }
            }
            Some(c) if *c == s[si] => {
                pi += 1;
                si += 1;
                continue;
            }
            _ => {}
        }
        match star {
            Some((sp, ss)) => {
                pi = sp + 1;
                si = ss + 1;
                star = Some((sp, ss + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|c| *c == b'*')
}

/// A `[...]` class at the start of `p`: whether `c` is in it, and its length.
fn class(p: &[u8], c: u8) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(p.get(i), Some(b'!' | b'^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while let Some(&x) = p.get(i) {
        if x == b']' && !first {
            return Some((matched != negate, i + 1));
        }
        if p.get(i + 1) == Some(&b'-') && p.get(i + 2).is_some_and(|e| *e != b']') {
            let hi = p[i + 2];
            matched |= x <= c && c <= hi;
            i += 3;
        } else {
            matched |= x == c;
            i += 1;
        }
        first = false;
    }
    None
}

/// The facts sysfs has about `dev`.
fn facts(dev: &SysfsDevice, slots: &[Slot], modules: Option<&Path>) -> Facts {
    let a = dev.address;
    let ids = match (hex_attr(dev, "vendor"), hex_attr(dev, "device"), hex_attr(dev, "class")) {
        (Some(v), Some(d), Some(c)) => Some(KernelIds {
            vendor: v as u16,
            device: d as u16,
            class: c & 0xff_ffff,
            revision: hex_attr(dev, "revision").map(|r| r as u8),
            subsystem: match (hex_attr(dev, "subsystem_vendor"), hex_attr(dev, "subsystem_device")) {
                (Some(sv), Some(sd)) => Some((sv as u16, sd as u16)),
                _ => None,
            },
        }),
        _ => None,
    };
    let resources = dev.resources().ok().map(|lines| {
        let lines: Vec<(u64, u64, u64)> = lines.iter().map(|r| (r.start, r.end, r.flags)).collect();
        Resources::from_lines(&lines)
    });
    let modules = match (modules, attr(dev, "modalias")) {
        (Some(dir), Some(alias)) => kernel_modules(dir, alias.trim()),
        _ => Vec::new(),
    };
    Facts {
        ids,
        irq: dev.irq(),
        resources,
        physical_slot: slots
            .iter()
            .find(|(_, d, b, s)| *d == u32::from(a.domain) && *b == a.bus && *s == a.device)
            .map(|(n, ..)| n.clone()),
        numa_node: attr(dev, "numa_node").and_then(|n| n.trim().parse().ok()),
        iommu_group: dev.iommu_group().map(|g| g.to_string()),
        label: attr(dev, "label"),
        driver: dev.driver(),
        modules,
    }
}

/// A dump device's address against `-s`/`-d`.
fn dump_matches(filter: &Filter, d: &DumpDevice) -> bool {
    if let Some(s) = &filter.slot {
        let ok = s.domain.is_none_or(|x| u32::from(x) == d.domain)
            && s.bus.is_none_or(|x| x == d.bus)
            && s.device.is_none_or(|x| x == d.device)
            && s.function.is_none_or(|x| x == d.function);
        if !ok {
            return false;
        }
    }
    match &filter.ids {
        None => true,
        Some(f) => {
            let c = ConfigSpace::new(d.config.clone());
            f.matches(c.vendor_id().unwrap_or(0xffff), c.device_id().unwrap_or(0xffff), c.class_code().unwrap_or(0))
        }
    }
}

/// Whether the devices of `source` print with their domain (lspci's
/// automatic `-D`: any device of the machine or dump has a domain other
/// than 0, selected or not).
pub fn any_domain(source: &Source) -> Result<bool> {
    Ok(match source {
        Source::Sysfs(s) => s.addresses()?.iter().any(|a| a.domain != 0),
        Source::Dump { devices, .. } => devices.iter().any(|d| d.domain != 0),
    })
}

/// The functions `filter` selects in `source`, in lspci's order (domain,
/// bus, device, function), with what `gather` asks for.
pub fn inspect(source: &Source, filter: &Filter, gather: Gather) -> Result<Vec<Inspected>> {
    match source {
        Source::Sysfs(sysfs) => {
            let slots = if gather.facts { slots(sysfs) } else { Vec::new() };
            let modules = if gather.modules { modules_dir() } else { None };
            let mut out = Vec::new();
            for dev in filter.select(sysfs)? {
                let config = if gather.config { dev.read_config().unwrap_or_default() } else { Vec::new() };
                let facts = if gather.facts { facts(&dev, &slots, modules.as_deref()) } else { Facts::default() };
                let vpd = if gather.vpd && has_vpd(&config) { read_vpd(&dev) } else { None };
                let a = dev.address;
                out.push(Inspected {
                    domain: u32::from(a.domain),
                    bus: a.bus,
                    device: a.device,
                    function: a.function,
                    config,
                    facts,
                    sysfs: Some(dev),
                    vpd,
                });
            }
            Ok(out)
        }
        Source::Dump { devices, .. } => {
            let mut out: Vec<Inspected> = devices
                .iter()
                .filter(|d| dump_matches(filter, d))
                .map(|d| Inspected {
                    domain: d.domain,
                    bus: d.bus,
                    device: d.device,
                    function: d.function,
                    config: d.config.clone(),
                    facts: Facts::default(),
                    sysfs: None,
                    vpd: None,
                })
                .collect();
            out.sort_by_key(|d| (d.domain, d.bus, d.device, d.function));
            Ok(out)
        }
    }
}

/// Whether the function has a VPD capability (then lspci reads `vpd`).
fn has_vpd(config: &[u8]) -> bool {
    let c = ConfigSpace::new(config.to_vec());
    crate::pci::capabilities::find(&c, 0x03).is_some()
}

/// The device's VPD through sysfs `vpd`: the kernel drives the VPD address
/// register, with its own locking, timeouts and quirks for devices whose
/// VPD hangs; at most 32 KiB (all VPD can address). Unreadable (not root,
/// no VPD) is `None`, which lspci prints as `Not readable`.
fn read_vpd(dev: &SysfsDevice) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut file = std::fs::File::open(dev.attr_path("vpd")).ok()?;
    let mut out = Vec::new();
    file.by_ref().take(32 << 10).read_to_end(&mut out).ok()?;
    Some(out)
}

/// How `info` prints, as lspci's options say (see [`ShowOptions`]).
#[derive(Clone, Copy, Debug)]
pub struct InfoOptions {
    /// `-v` count.
    pub verbosity: u8,
    /// `-n` count.
    pub numeric: u8,
    /// `-k`.
    pub kernel: bool,
    /// `-x` count.
    pub hex: u8,
    /// Print domains.
    pub domain: bool,
}

impl InfoOptions {
    /// The printer's options, with names from `ids` and `vpd`.
    pub fn show<'a>(&self, ids: &'a PciIds, vpd: Option<&'a [u8]>) -> ShowOptions<'a> {
        ShowOptions {
            verbosity: self.verbosity,
            numeric: crate::pci::ids::Numeric::from_count(self.numeric),
            kernel: self.kernel,
            hex: self.hex,
            domain: self.domain,
            ids,
            vpd: if self.verbosity >= 3 { vpd } else { None },
        }
    }
}

/// Everything `info --json` gives about one device.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DeviceReport {
    /// The device (`0000:00:04.0`; a dump's domain may have five digits).
    pub device: String,
    /// lspci's first line after the address.
    pub title: String,
    /// Vendor ID.
    pub vendor_id: u16,
    /// Device ID.
    pub device_id: u16,
    /// Subsystem vendor ID (the SSVID capability's, for a bridge).
    pub subsystem_vendor_id: Option<u16>,
    /// Subsystem ID.
    pub subsystem_id: Option<u16>,
    /// Revision.
    pub revision: u8,
    /// 24-bit class code.
    pub class: u32,
    /// Class name from pci.ids.
    pub class_name: String,
    /// Header layout (0 endpoint, 1 bridge, 2 CardBus).
    pub header_type: u8,
    /// Multi-function device.
    pub multi_function: bool,
    /// The IRQ (the kernel's; a dump's INTERRUPT_LINE).
    pub irq: Option<u32>,
    /// BARs: sizes from the kernel (0 from a dump, which has none).
    pub bars: Vec<BarInfo>,
    /// How much config space could be read, in bytes.
    pub config_len: usize,
    /// The bound kernel driver.
    pub kernel_driver: Option<String>,
    /// Kernel modules that can drive it.
    pub kernel_modules: Vec<String>,
    /// IOMMU group.
    pub iommu_group: Option<u32>,
    /// Its members, the device included.
    pub iommu_group_members: Vec<PciAddress>,
    /// The physical slot.
    pub physical_slot: Option<String>,
    /// The NUMA node.
    pub numa_node: Option<i32>,
    /// The built-in mmiodrv driver for it.
    pub mmiodrv_driver: Option<&'static str>,
    /// Every capability as lspci prints it, with the values its lines were
    /// built from, by name (`LnkSta.Speed`).
    pub capabilities: Vec<Block>,
    /// Every register of the config register map (header and capabilities,
    /// `EXP.LNKSTA`) with its value and fields (`CLS`), as `dump-regs --bar
    /// config` reads them.
    pub registers: Vec<DumpedRegister>,
    /// lspci's lines for it, as `info` prints them.
    pub lines: Vec<String>,
}

/// The report of one inspected function, printed with `options`.
pub fn report(f: &Inspected, ids: &PciIds, options: &InfoOptions) -> DeviceReport {
    let shown = show::show(&f.function(), &options.show(ids, f.vpd.as_deref()));
    let config = ConfigSpace::new(f.config.clone());
    let k = f.facts.ids;
    let (vendor, device) =
        k.map_or((config.vendor_id().unwrap_or(0), config.device_id().unwrap_or(0)), |k| (k.vendor, k.device));
    let class = k.map_or(config.class_code().unwrap_or(0), |k| k.class);
    let subsystem = k.map_or_else(|| config_subsystem(&config), |k| k.subsystem);
    let title = shown.lines.first().and_then(|l| l.split_once(' ')).map(|(_, t)| t.to_string()).unwrap_or_default();
    let map = config_map::map(&config);
    let registers = map
        .registers
        .iter()
        .map(|r| {
            let at = r.offset as usize;
            let value = f
                .config
                .get(at..at + r.width.bytes() as usize)
                .map(|b| b.iter().rev().fold(0u64, |v, x| v << 8 | u64::from(*x)));
            DumpedRegister::new(r, value, None)
        })
        .collect();
    let bars = match &f.facts.resources {
        Some(r) => r
            .bars
            .iter()
            .enumerate()
            .filter(|(_, b)| b.size != 0 && b.flags & 0x300 != 0)
            .map(|(i, b)| BarInfo {
                index: i as u8,
                kind: if b.flags & 0x100 != 0 { BarKind::Io } else { BarKind::Memory },
                address: b.start,
                size: b.size,
                is_64bit: b.flags & 0x0010_0000 != 0,
                prefetchable: b.flags & 0x2000 != 0,
            })
            .collect(),
        None => config
            .bars()
            .into_iter()
            .map(|b| BarInfo {
                index: b.index,
                kind: b.kind,
                address: b.address,
                size: 0,
                is_64bit: b.is_64bit,
                prefetchable: b.prefetchable,
            })
            .collect(),
    };
    DeviceReport {
        device: f.name(),
        title,
        vendor_id: vendor,
        device_id: device,
        subsystem_vendor_id: subsystem.map(|s| s.0),
        subsystem_id: subsystem.map(|s| s.1),
        revision: k.and_then(|k| k.revision).or(config.revision()).unwrap_or(0),
        class,
        class_name: ids.class_name(class),
        header_type: config.header_layout().unwrap_or(0),
        multi_function: config.multi_function().unwrap_or(false),
        irq: f.facts.irq.or_else(|| config.interrupt_line().map(u32::from)),
        bars,
        config_len: f.config.len(),
        kernel_driver: f.facts.driver.clone(),
        kernel_modules: f.facts.modules.clone(),
        iommu_group: f.facts.iommu_group.as_deref().and_then(|g| g.parse().ok()),
        iommu_group_members: f.sysfs.as_ref().map(SysfsDevice::iommu_group_members).unwrap_or_default(),
        physical_slot: f.facts.physical_slot.clone(),
        numa_node: f.facts.numa_node.filter(|n| *n != -1),
        mmiodrv_driver: crate::drivers::for_ids(vendor, device).map(|d| d.name()),
        capabilities: shown.blocks,
        registers,
        lines: shown.lines,
    }
}

/// The subsystem in config space: the header's, or a bridge's SSVID capability's.
fn config_subsystem(config: &ConfigSpace) -> Option<(u16, u16)> {
    config.subsystem().or_else(|| {
        let at = usize::from(crate::pci::capabilities::find(config, crate::pci::capabilities::id::SSVID)?.offset);
        Some((config.u16(at + 4)?, config.u16(at + 6)?))
    })
}

/// The error for a selection that matched nothing (`-s`, `-d`), as the
/// commands that take several devices report it.
pub fn nothing_selected(what: &str) -> Error {
    crate::error::PciError::DeviceNotFound { selector: what.to_string() }.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_aliases_match_as_fnmatch() {
        let alias = "pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00";
        assert!(glob(b"pci:v00001AF4d00001000sv*sd*bc*sc*i*", alias.as_bytes()));
        assert!(glob(b"pci:v00001AF4d*sv*sd*bc*sc*i*", alias.as_bytes()));
        assert!(!glob(b"pci:v00008086d*sv*sd*bc*sc*i*", alias.as_bytes()));
        assert!(glob(b"pci:v*d*sv*sd*bc02sc0[0-2]i*", alias.as_bytes()));
        assert!(!glob(b"pci:v*d*sv*sd*bc02sc0[!0]i*", alias.as_bytes()));
        assert!(glob(b"a?c", b"abc"));
    }

    #[test]
    fn kernel_modules_need_the_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let text = "alias pci:v00001AF4d00001000sv*sd*bc*sc*i* virtio_net\nalias pci:v00001AF4d*sv*sd*bc*sc*i* virtio_pci\nalias usb:v* other\n";
        std::fs::write(dir.path().join("modules.alias"), text).unwrap();
        let alias = "pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00";
        assert!(kernel_modules(dir.path(), alias).is_empty());
        std::fs::write(dir.path().join("modules.alias.bin"), b"").unwrap();
        std::fs::write(dir.path().join("modules.dep.bin"), b"").unwrap();
        assert_eq!(kernel_modules(dir.path(), alias), ["virtio_net", "virtio_pci"]);
    }
}
