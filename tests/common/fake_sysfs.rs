//! A fake sysfs tree written by the test: config, resource and resourceN files,
//! driver and iommu_group links. Regular files stand in for BARs, so the sysfs
//! backend maps them exactly as it maps real `resourceN` files.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

pub struct FakeSysfs {
    pub dir: tempfile::TempDir,
}

pub struct FakeDevice {
    pub address: &'static str,
    pub vendor: u16,
    pub device: u16,
    pub class: u32,
    pub command: u16,
    /// (size, flags) per BAR index; size 0 = unimplemented.
    pub bars: Vec<(u64, u64)>,
    pub driver: Option<&'static str>,
    pub iommu_group: Option<u32>,
}

pub const MEM32: u64 = 0x0004_0200;
pub const MEM64_PREF: u64 = 0x0014_220c;
pub const IO: u64 = 0x0004_0101;

impl FakeDevice {
    pub fn edu(address: &'static str) -> Self {
        FakeDevice {
            address,
            vendor: 0x1234,
            device: 0x11e8,
            class: 0x00ff00,
            command: 0x0007,
            bars: vec![(0x100000, MEM32)],
            driver: None,
            iommu_group: Some(3),
        }
    }
}

impl FakeSysfs {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        fs::create_dir_all(dir.path().join("bus/pci/devices")).unwrap();
        FakeSysfs { dir }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn device_dir(&self, address: &str) -> PathBuf {
        self.root().join("bus/pci/devices").join(address)
    }

    pub fn add(&self, d: &FakeDevice) -> PathBuf {
        assert_not_the_hosts(d);
        let dir = self.device_dir(d.address);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("vendor"), format!("0x{:04x}\n", d.vendor)).unwrap();
        fs::write(dir.join("device"), format!("0x{:04x}\n", d.device)).unwrap();
        fs::write(dir.join("class"), format!("0x{:06x}\n", d.class)).unwrap();
        fs::write(dir.join("revision"), "0x10\n").unwrap();
        fs::write(dir.join("subsystem_vendor"), "0x1af4\n").unwrap();
        fs::write(dir.join("subsystem_device"), "0x1100\n").unwrap();

        let mut config = vec![0u8; 256];
        config[0..2].copy_from_slice(&d.vendor.to_le_bytes());
        config[2..4].copy_from_slice(&d.device.to_le_bytes());
        config[4..6].copy_from_slice(&d.command.to_le_bytes());
        config[6..8].copy_from_slice(&0x0010u16.to_le_bytes());
        config[8] = 0x10;
        config[9..12].copy_from_slice(&[(d.class & 0xff) as u8, (d.class >> 8) as u8, (d.class >> 16) as u8]);
        config[0x2c..0x30].copy_from_slice(&0x1100_1af4u32.to_le_bytes());
        config[0x34] = 0x40;
        config[0x3d] = 1;
        config[0x3c] = 10;
        // MSI capability at 0x40, 64-bit, disabled, 1 vector.
        config[0x40..0x44].copy_from_slice(&[0x05, 0x00, 0x80, 0x00]);

        let mut resource = String::new();
        let mut base = 0xfe00_0000u64;
        for (i, (size, flags)) in d.bars.iter().enumerate() {
            if *size == 0 {
                resource.push_str("0x0000000000000000 0x0000000000000000 0x0000000000000000\n");
                continue;
            }
            let start = if flags & 0x100 != 0 { 0xc000 } else { base };
            base += size.max(&0x1000);
            resource.push_str(&format!("0x{start:016x} 0x{:016x} 0x{flags:016x}\n", start + size - 1));
            let raw: u32 = if flags & 0x100 != 0 {
                (start as u32) | 1
            } else if flags & 0x0010_0000 != 0 {
                (start as u32) | 0xc
            } else {
                start as u32
            };
            config[0x10 + 4 * i..0x14 + 4 * i].copy_from_slice(&raw.to_le_bytes());
            let f = fs::File::create(dir.join(format!("resource{i}"))).unwrap();
            f.set_len(*size).unwrap();
            if flags & 0x2000 != 0 {
                let f = fs::File::create(dir.join(format!("resource{i}_wc"))).unwrap();
                f.set_len(*size).unwrap();
            }
        }
        for _ in d.bars.len()..13 {
            resource.push_str("0x0000000000000000 0x0000000000000000 0x0000000000000000\n");
        }
        fs::write(dir.join("resource"), resource).unwrap();
        fs::write(dir.join("config"), &config).unwrap();

        if let Some(driver) = d.driver {
            let drv = self.root().join("bus/pci/drivers").join(driver);
            fs::create_dir_all(&drv).unwrap();
            symlink(&drv, dir.join("driver")).unwrap();
        }
        if let Some(g) = d.iommu_group {
            let group = self.root().join(format!("kernel/iommu_groups/{g}"));
            fs::create_dir_all(group.join("devices")).unwrap();
            symlink(&group, dir.join("iommu_group")).unwrap();
            symlink(&dir, group.join("devices").join(d.address)).unwrap();
        }
        dir
    }
}

/// A fake device must be one no real machine has: its address in domain
/// `ffff` (no platform numbers a PCI segment that high), and its IDs none of
/// this machine's own devices have (read from the real sysfs, read-only). So a
/// bug that reaches past the fake root finds nothing it could touch.
pub fn assert_not_the_hosts(d: &FakeDevice) {
    assert!(d.address.starts_with("ffff:"), "fake device {} is not in domain ffff", d.address);
    for (vendor, device) in host_ids() {
        assert!(
            (vendor, device) != (d.vendor, d.device),
            "fake device {} has the IDs {vendor:04x}:{device:04x} of one of this machine's own devices",
            d.address
        );
    }
}

/// The (vendor, device) IDs of this machine's PCI devices.
pub fn host_ids() -> Vec<(u16, u16)> {
    let hex = |p: PathBuf| {
        fs::read_to_string(p).ok().and_then(|t| u16::from_str_radix(t.trim().trim_start_matches("0x"), 16).ok())
    };
    let Ok(entries) = fs::read_dir("/sys/bus/pci/devices") else { return Vec::new() };
    entries.flatten().filter_map(|e| Some((hex(e.path().join("vendor"))?, hex(e.path().join("device"))?))).collect()
}

#[test]
fn fake_devices_are_not_the_hosts() {
    let ids = host_ids();
    // On this machine's own IDs the guard must trip.
    if let Some(&(vendor, device)) = ids.first() {
        let d = FakeDevice { vendor, device, ..FakeDevice::edu("ffff:00:04.0") };
        assert!(
            std::panic::catch_unwind(|| assert_not_the_hosts(&d)).is_err(),
            "host IDs {vendor:04x}:{device:04x} accepted"
        );
    }
    let real = FakeDevice::edu("0000:00:1e.7");
    assert!(std::panic::catch_unwind(|| assert_not_the_hosts(&real)).is_err(), "domain 0000 accepted");
}
