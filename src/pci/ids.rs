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
    classes: HashMap<u8, String>,
    subclasses: HashMap<(u8, u8), String>,
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
        for line in text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let depth = line.bytes().take_while(|b| *b == b'\t').count();
            let body = &line[depth..];
            let Some((id, name)) = body.split_once("  ").map(|(i, n)| (i.trim(), n.trim().to_string())) else {
                continue;
            };
            match depth {
                0 if id.starts_with("C ") => {
                    vendor = None;
                    class = u8::from_str_radix(&id[2..], 16).ok();
                    if let Some(c) = class {
                        ids.classes.insert(c, name);
                    }
                }
                0 => {
                    class = None;
                    vendor = u16::from_str_radix(id, 16).ok();
                    if let Some(v) = vendor {
                        ids.vendors.insert(v, name);
                    }
                }
                1 => {
                    device = None;
                    if let (Some(v), Ok(d)) = (vendor, u16::from_str_radix(id, 16)) {
                        device = Some(d);
                        ids.devices.insert((v, d), name);
                    } else if let (Some(c), Ok(s)) = (class, u8::from_str_radix(id, 16)) {
                        ids.subclasses.insert((c, s), name);
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
        let base = (class_code >> 16) as u8;
        let sub = (class_code >> 8) as u8;
        let code = class_code >> 8;
        match (self.subclasses.get(&(base, sub)), self.classes.get(&base)) {
            (Some(name), _) => name.clone(),
            (None, Some(name)) => format!("{name} [{code:04x}]"),
            (None, None) => format!("Class {code:04x}"),
        }
    }

    /// A subsystem as lspci's `Subsystem:` line words it: the subsystem
    /// vendor's name and the subsystem's name under the device
    /// (`Red Hat, Inc. QEMU Virtual Machine`), else `Red Hat, Inc. Device 1100`.
    pub fn describe_subsystem(&self, vendor: u16, device: u16, sub_vendor: u16, sub_device: u16) -> String {
        // As pciutils: without a subsystem entry, a subsystem equal to the
        // device itself takes the device's name.
        let name = self
            .subsystems
            .get(&(vendor, device, sub_vendor, sub_device))
            .map(String::as_str)
            .or_else(|| self.device(vendor, device).filter(|_| (vendor, device) == (sub_vendor, sub_device)));
        match (self.vendor(sub_vendor), name) {
            (Some(v), Some(d)) => format!("{v} {d}"),
            (Some(v), None) => format!("{v} Device {sub_device:04x}"),
            _ => format!("Device {sub_vendor:04x}:{sub_device:04x}"),
        }
    }

    /// "Vendor Device" the way lspci words it, with bare IDs for unknown ones.
    pub fn describe(&self, vendor: u16, device: u16) -> String {
        match (self.vendor(vendor), self.device(vendor, device)) {
            (Some(v), Some(d)) => format!("{v} {d}"),
            (Some(v), None) => format!("{v} Device {device:04x}"),
            _ => format!("Device {vendor:04x}:{device:04x}"),
        }
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
}
