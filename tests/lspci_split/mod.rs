//! Shared by the tests that compare with the host's lspci: its output cut
//! into devices and capability blocks, and pci.ids as lspci finds it.
#![allow(dead_code)]

use std::path::PathBuf;

use mmiodrv::pci::ids::PciIds;

/// lspci's text of one device: its title and its capability blocks.
pub struct Device {
    /// The title line (`00:1c.0 PCI bridge: ...`).
    pub title: String,
    /// Its capability blocks, lines without newlines.
    pub blocks: Vec<Vec<String>>,
    /// Its other lines (`\tControl: ...`, `\tStatus: ...`, BARs, bridge
    /// windows, kernel driver), in order.
    pub header: Vec<String>,
}

/// Split lspci's output into devices (a title, lines, a blank line) and each
/// device's capability blocks (`\tCapabilities: ` and the `\t\t` lines under it).
pub fn split_lspci(text: &str) -> Vec<Device> {
    let mut devices = Vec::new();
    let mut current: Option<Device> = None;
    let mut in_block = false;
    for line in text.lines() {
        if line.is_empty() {
            devices.extend(current.take());
            continue;
        }
        let Some(dev) = current.as_mut() else {
            current = Some(Device { title: line.to_string(), blocks: Vec::new(), header: Vec::new() });
            in_block = false;
            continue;
        };
        if line.starts_with("\tCapabilities: ") {
            dev.blocks.push(vec![line.to_string()]);
            in_block = true;
        } else if in_block && line.starts_with("\t\t") {
            if let Some(block) = dev.blocks.last_mut() {
                block.push(line.to_string());
            }
        } else {
            in_block = false;
            dev.header.push(line.to_string());
        }
    }
    devices.extend(current);
    devices
}

/// pci.ids as lspci reads it (Debian's path first), with its path for `-i`.
pub fn ids() -> (PciIds, Option<PathBuf>) {
    for path in ["/usr/share/misc/pci.ids", "/usr/share/hwdata/pci.ids", "/usr/share/pci.ids"] {
        if let Ok(text) = std::fs::read(path) {
            return (PciIds::parse(&String::from_utf8_lossy(&text)), Some(PathBuf::from(path)));
        }
    }
    (PciIds::default(), None)
}
