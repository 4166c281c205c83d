//! QEMU's `edu` device (docs/specs/edu.rst): identification and register map.

/// PCI IDs of edu.
pub const VENDOR_ID: u16 = 0x1234;
pub const DEVICE_ID: u16 = 0x11e8;

/// BAR0 register map.
pub const REGMAP_TOML: &str = include_str!("regmap.toml");
