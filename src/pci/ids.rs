//! Names from the system's `pci.ids` (the database lspci uses), so that `list` and
//! `info` name vendors, devices and classes exactly as lspci does.
//!
//! The file is optional: without it names fall back to the base-class table below
//! and to bare IDs.

use std::collections::HashMap;
use std::path::PathBuf;

/// Environment variable that overrides where `pci.ids` is looked for.
pub const PCI_IDS_ENV: &str = "MMIODRV_PCI_IDS";

const SEARCH_PATH: &[&str] = &["/usr/share/misc/pci.ids", "/usr/share/hwdata/pci.ids", "/usr/share/pci.ids"];

/// Names parsed from `pci.ids`.
#[derive(Debug, Default)]
pub struct PciIds {
    vendors: HashMap<u16, String>,
    devices: HashMap<(u16, u16), String>,
    /// (vendor, device, subsystem vendor, subsystem device) -> name.
    subsystems: HashMap<(u16, u16, u16, u16), String>,
    /// Generic subsystems (`S` blocks): (subsystem vendor, subsystem device) -> name.
    generic_subsystems: HashMap<(u16, u16), String>,
    classes: HashMap<u8, String>,
    subclasses: HashMap<(u8, u8), String>,
    /// (class, subclass, programming interface) -> name.
    prog_ifs: HashMap<(u8, u8, u8), String>,
}

/// How lspci names IDs: names (the default), numbers (`-n`), or names with
/// the numbers in brackets (`-nn`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Numeric {
    /// Names, numbers only where a name is unknown.
    #[default]
    Names,
    /// Numbers only (`-n`).
    Numbers,
    /// Both (`-nn`): `Name [1234:5678]`.
    Both,
}

impl Numeric {
    /// lspci's count of `-n`: 0, 1, 2 or more.
    pub fn from_count(n: u8) -> Self {
        match n {
            0 => Numeric::Names,
            1 => Numeric::Numbers,
            _ => Numeric::Both,
        }
    }
}

/// libpci's `format_name`: one name, or `unknown num`, in the numeric mode.
fn format_name(numeric: Numeric, name: Option<&str>, num: &str, unknown: &str) -> String {
    match (numeric, name) {
        (Numeric::Numbers, _) => num.to_string(),
        (Numeric::Names, None) => format!("{unknown} {num}"),
        (Numeric::Both, None) => format!("{unknown} [{num}]"),
        (Numeric::Names, Some(n)) => n.to_string(),
        (Numeric::Both, Some(n)) => format!("{n} [{num}]"),
    }
}

/// libpci's `format_name_pair`: vendor and device names, in the numeric mode.
fn format_name_pair(numeric: Numeric, v: Option<&str>, d: Option<&str>, num: &str) -> String {
    match (numeric, v, d) {
        (Numeric::Numbers, _, _) => num.to_string(),
        (Numeric::Both, Some(v), Some(d)) => format!("{v} {d} [{num}]"),
        (Numeric::Both, None, _) => format!("Device [{num}]"),
        (Numeric::Both, Some(v), None) => format!("{v} Device [{num}]"),
        (Numeric::Names, Some(v), Some(d)) => format!("{v} {d}"),
        (Numeric::Names, None, _) => format!("Device {num}"),
        (Numeric::Names, Some(v), None) => format!("{v} Device {}", num.get(5..).unwrap_or("")),
    }
}

impl PciIds {
    /// Load from `$MMIODRV_PCI_IDS` or the usual places; empty when none exists.
    pub fn load() -> Self {
        let candidates: Vec<PathBuf> = match std::env::var_os(PCI_IDS_ENV) {
            Some(p) => vec![p.into()],
            None => SEARCH_PATH.iter().map(PathBuf::from).collect(),
        };
        candidates
            .iter()
            // A regular file of bounded size (pci.ids is about 1.4 MB): never a FIFO or /dev/zero.
            .find_map(|p| crate::value::read_regular_file(p, "pci.ids", 64 << 20).ok())
            .map(|bytes| PciIds::parse(&String::from_utf8_lossy(&bytes)))
            .unwrap_or_default()
    }

    /// Parse the text format: vendors at column 0, devices after one tab,
    /// subsystems after two; the class section starts with `C `.
    pub fn parse(text: &str) -> Self {
        let mut ids = PciIds::default();
        let mut vendor: Option<u16> = None;
        let mut device: Option<u16> = None;
        let mut class: Option<u8> = None;
        let mut subclass: Option<u8> = None;
        let mut generic: Option<u16> = None;
        for line in text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let depth = line.bytes().take_while(|b| *b == b'\t').count();
            let body = &line[depth..];
            // A generic subsystem block (`S 1af4`, no name); other lettered
            // blocks are skipped as libpci skips them.
            if depth == 0 && body.len() > 1 && body.as_bytes()[1] == b' ' && body.as_bytes()[0].is_ascii_uppercase() {
                vendor = None;
                class = None;
                generic = None;
                if let Some(sv) = body.strip_prefix("S ") {
                    generic = u16::from_str_radix(sv.trim(), 16).ok();
                } else if !body.starts_with("C ") {
                    continue;
                }
                if !body.starts_with("C ") {
                    continue;
                }
            }
            let Some((id, name)) = body.split_once("  ").map(|(i, n)| (i.trim(), n.trim().to_string())) else {
                continue;
            };
            match depth {
                0 if id.starts_with("C ") => {
                    vendor = None;
                    generic = None;
                    class = u8::from_str_radix(&id[2..], 16).ok();
                    if let Some(c) = class {
                        ids.classes.insert(c, name);
                    }
                }
                0 => {
                    class = None;
                    generic = None;
                    vendor = u16::from_str_radix(id, 16).ok();
                    if let Some(v) = vendor {
                        ids.vendors.insert(v, name);
                    }
                }
                1 => {
                    device = None;
                    subclass = None;
                    if let (Some(v), Ok(d)) = (vendor, u16::from_str_radix(id, 16)) {
                        device = Some(d);
                        ids.devices.insert((v, d), name);
                    } else if let (Some(c), Ok(s)) = (class, u8::from_str_radix(id, 16)) {
                        subclass = Some(s);
                        ids.subclasses.insert((c, s), name);
                    } else if let (Some(sv), Ok(sd)) = (generic, u16::from_str_radix(id, 16)) {
                        ids.generic_subsystems.insert((sv, sd), name);
                    }
                }
                2 if class.is_some() => {
                    if let (Some(c), Some(s), Ok(p)) = (class, subclass, u8::from_str_radix(id, 16)) {
                        ids.prog_ifs.insert((c, s, p), name);
                    }
                }
                2 => {
                    let sub = id.split_once(' ').and_then(|(a, b)| {
                        Some((u16::from_str_radix(a.trim(), 16).ok()?, u16::from_str_radix(b.trim(), 16).ok()?))
                    });
                    if let (Some(v), Some(d), Some((sv, sd))) = (vendor, device, sub) {
                        ids.subsystems.insert((v, d, sv, sd), name);
                    }
                }
                _ => {}
            }
        }
        ids
    }

    /// A vendor's name.
    pub fn vendor(&self, vendor: u16) -> Option<&str> {
        self.vendors.get(&vendor).map(String::as_str)
    }

    /// A device's name.
    pub fn device(&self, vendor: u16, device: u16) -> Option<&str> {
        self.devices.get(&(vendor, device)).map(String::as_str)
    }

    /// The class name lspci prints: the subclass's name when known, else the base class's.
    pub fn class_name(&self, class_code: u32) -> String {
        let base = (class_code >> 16) as u8;
        let sub = (class_code >> 8) as u8;
        self.subclasses
            .get(&(base, sub))
            .or_else(|| self.classes.get(&base))
            .cloned()
            .unwrap_or_else(|| fallback_class_name(base).to_string())
    }

    /// The class as lspci's title line words it: the subclass's name; else the
    /// base class's name with the code, `Unclassified device [00ff]`; else
    /// `Class 00ff` (also when there is no pci.ids, as lspci).
    pub fn lspci_class(&self, class_code: u32) -> String {
        self.class_text((class_code >> 8) as u16, Numeric::Names)
    }

    /// A subsystem as lspci's `Subsystem:` line words it: the subsystem
    /// vendor's name and the subsystem's name under the device
    /// (`Red Hat, Inc. QEMU Virtual Machine`), else `Red Hat, Inc. Device 1100`.
    pub fn describe_subsystem(&self, vendor: u16, device: u16, sub_vendor: u16, sub_device: u16) -> String {
        self.subsystem_text(vendor, device, sub_vendor, sub_device, Numeric::Names)
    }

    /// "Vendor Device" the way lspci words it, with bare IDs for unknown ones.
    pub fn describe(&self, vendor: u16, device: u16) -> String {
        self.vendor_device(vendor, device, Numeric::Names)
    }
}

impl PciIds {
    /// libpci's subsystem lookup: the entry under the device, else a generic
    /// subsystem, else the device itself when the subsystem is the device.
    fn subsystem_lookup(&self, vendor: u16, device: u16, sub_vendor: u16, sub_device: u16) -> Option<&str> {
        self.subsystems
            .get(&(vendor, device, sub_vendor, sub_device))
            .or_else(|| self.generic_subsystems.get(&(sub_vendor, sub_device)))
            .map(String::as_str)
            .or_else(|| self.device(vendor, device).filter(|_| (vendor, device) == (sub_vendor, sub_device)))
    }

    /// Vendor and device as lspci's title words them, in `numeric` mode:
    /// `Red Hat, Inc. Virtio block device`, `1af4:1001` (`-n`),
    /// `Red Hat, Inc. Virtio block device [1af4:1001]` (`-nn`).
    pub fn vendor_device(&self, vendor: u16, device: u16, numeric: Numeric) -> String {
        let num = format!("{vendor:04x}:{device:04x}");
        format_name_pair(numeric, self.vendor(vendor), self.device(vendor, device), &num)
    }

    /// The `Subsystem:` line's text in `numeric` mode.
    pub fn subsystem_text(
        &self,
        vendor: u16,
        device: u16,
        sub_vendor: u16,
        sub_device: u16,
        numeric: Numeric,
    ) -> String {
        let num = format!("{sub_vendor:04x}:{sub_device:04x}");
        let name = self.subsystem_lookup(vendor, device, sub_vendor, sub_device);
        format_name_pair(numeric, self.vendor(sub_vendor), name, &num)
    }

    /// A 16-bit class (base class and subclass) as lspci's title words it in
    /// `numeric` mode: the subclass's name; the base class's with the number
    /// (`Unclassified device [00ff]`); else `Class 00ff`.
    pub fn class_text(&self, class: u16, numeric: Numeric) -> String {
        let num = format!("{class:04x}");
        let (base, sub) = ((class >> 8) as u8, class as u8);
        match (self.subclasses.get(&(base, sub)), self.classes.get(&base)) {
            (Some(name), _) => format_name(numeric, Some(name), &num, "Class"),
            (None, Some(name)) if numeric != Numeric::Numbers => format!("{name} [{num}]"),
            (None, name) => format_name(numeric, name.map(String::as_str), &num, "Class"),
        }
    }

    /// The name of a programming interface, as lspci's `(prog-if 01 [AHCI
    /// 1.0])` gives it (none when unknown; IDE's bits are spelled out).
    pub fn prog_if(&self, class: u16, prog_if: u8) -> Option<String> {
        if let Some(name) = self.prog_ifs.get(&((class >> 8) as u8, class as u8, prog_if)) {
            return Some(name.clone());
        }
        if class == 0x0101 && prog_if & 0x70 == 0 {
            let bits = [(0x80, "Master"), (0x08, "SecP"), (0x04, "SecO"), (0x02, "PriP"), (0x01, "PriO")];
            let words: Vec<&str> = bits.iter().filter(|(b, _)| prog_if & b != 0).map(|(_, w)| *w).collect();
            return Some(words.join(" "));
        }
        None
    }
}

/// Base-class names (PCI Code and ID Assignment spec) for machines without pci.ids.
fn fallback_class_name(base: u8) -> &'static str {
    match base {
        0x00 => "Unclassified device",
        0x01 => "Mass storage controller",
        0x02 => "Network controller",
        0x03 => "Display controller",
        0x04 => "Multimedia controller",
        0x05 => "Memory controller",
        0x06 => "Bridge",
        0x07 => "Communication controller",
        0x08 => "Generic system peripheral",
        0x09 => "Input device controller",
        0x0a => "Docking station",
        0x0b => "Processor",
        0x0c => "Serial bus controller",
        0x0d => "Wireless controller",
        0x0e => "Intelligent controller",
        0x0f => "Satellite communications controller",
        0x10 => "Encryption controller",
        0x11 => "Signal processing controller",
        0x12 => "Processing accelerators",
        0x13 => "Non-Essential Instrumentation",
        0x40 => "Coprocessor",
        _ => "Unassigned class",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "# comment\n1af4  Red Hat, Inc.\n\t1110  Inter-VM shared memory\n\t\t1af4 1100  QEMU Virtual Machine\n1234  Technical Corp.\nC 00  Unclassified device\n\t00  Non-VGA unclassified device\nC 05  Memory controller\n\t00  RAM memory\n";

    #[test]
    fn parses_vendors_devices_classes() {
        let ids = PciIds::parse(SAMPLE);
        assert_eq!(ids.describe(0x1af4, 0x1110), "Red Hat, Inc. Inter-VM shared memory");
        assert_eq!(ids.describe(0x1234, 0x11e8), "Technical Corp. Device 11e8");
        assert_eq!(ids.describe(0xabcd, 0x0001), "Device abcd:0001");
        assert_eq!(ids.describe_subsystem(0x1af4, 0x1110, 0x1af4, 0x1100), "Red Hat, Inc. QEMU Virtual Machine");
        assert_eq!(ids.describe_subsystem(0x1234, 0x11e8, 0x1af4, 0x1100), "Red Hat, Inc. Device 1100");
        assert_eq!(ids.class_name(0x050000), "RAM memory");
        assert_eq!(ids.class_name(0x00ff00), "Unclassified device");
        assert_eq!(PciIds::default().class_name(0x020000), "Network controller");
        assert_eq!(ids.lspci_class(0x050000), "RAM memory");
        assert_eq!(ids.lspci_class(0x00ff00), "Unclassified device [00ff]");
        assert_eq!(ids.lspci_class(0x0c0330), "Class 0c03");
    }

    /// lspci's `-n` and `-nn` forms of every kind of name.
    #[test]
    fn numeric_forms_as_lspci() {
        let text = format!("{SAMPLE}C 01  Mass storage controller\n\t01  IDE interface\n\t06  SATA controller\n\t\t01  AHCI 1.0\nS 1af4\n\t0002  Generic block\n");
        let ids = PciIds::parse(&text);
        let (n, nn) = (Numeric::Numbers, Numeric::Both);
        assert_eq!(ids.vendor_device(0x1af4, 0x1110, n), "1af4:1110");
        assert_eq!(ids.vendor_device(0x1af4, 0x1110, nn), "Red Hat, Inc. Inter-VM shared memory [1af4:1110]");
        assert_eq!(ids.vendor_device(0x1234, 0x11e8, nn), "Technical Corp. Device [1234:11e8]");
        assert_eq!(ids.vendor_device(0xabcd, 1, nn), "Device [abcd:0001]");
        assert_eq!(ids.class_text(0x0500, nn), "RAM memory [0500]");
        assert_eq!(ids.class_text(0x00ff, nn), "Unclassified device [00ff]");
        assert_eq!(ids.class_text(0x00ff, n), "00ff");
        assert_eq!(ids.class_text(0x0c03, nn), "Class [0c03]");
        assert_eq!(ids.subsystem_text(0x1af4, 0x1001, 0x1af4, 0x0002, Numeric::Names), "Red Hat, Inc. Generic block");
        assert_eq!(ids.subsystem_text(0x1234, 0x11e8, 0x1af4, 0x1100, nn), "Red Hat, Inc. Device [1af4:1100]");
        assert_eq!(ids.prog_if(0x0106, 1).as_deref(), Some("AHCI 1.0"));
        assert_eq!(ids.prog_if(0x0101, 0x8a).as_deref(), Some("Master SecP PriP"));
        assert_eq!(ids.prog_if(0x0106, 2), None);
    }
}
