//! QEMU's `ivshmem` device (docs/specs/ivshmem-spec.rst): identification and BAR0 map.

/// PCI IDs of ivshmem (plain and doorbell variants share them).
pub const VENDOR_ID: u16 = 0x1af4;
pub const DEVICE_ID: u16 = 0x1110;

/// BAR0 register map.
pub const REGMAP_TOML: &str = include_str!("regmap.toml");
