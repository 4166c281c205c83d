//! PCI addresses (`DDDD:BB:DD.F`) and the `--device` selector.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// A PCI address or selector that does not parse (a
/// [`PciError::InvalidAddress`](crate::pci::error::PciError::InvalidAddress)
/// once it reaches an [`Error`](crate::error::Error)).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed device '{input}': expected DDDD:BB:DD.F, BB:DD.F or VVVV:DDDD (hex)")]
pub struct InvalidAddress {
    /// What was given.
    pub input: String,
}

/// A PCI function address: domain, bus, device (slot) and function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PciAddress {
    /// PCI segment (domain).
    pub domain: u16,
    /// Bus number.
    pub bus: u8,
    /// Device (slot) number, 0..=31.
    pub device: u8,
    /// Function number, 0..=7.
    pub function: u8,
}

impl PciAddress {
    /// Parse `DDDD:BB:DD.F` or the short `BB:DD.F` (domain 0).
    pub fn parse(input: &str) -> Result<Self, InvalidAddress> {
        let bad = || InvalidAddress { input: input.to_string() };
        let (rest, function) = input.rsplit_once('.').ok_or_else(bad)?;
        let parts: Vec<&str> = rest.split(':').collect();
        let (domain, bus, device) = match parts.as_slice() {
            [d, b, s] => (hex_field(d, 4, 0xffff), hex_field(b, 2, 0xff), hex_field(s, 2, 0x1f)),
            [b, s] => (Some(0), hex_field(b, 2, 0xff), hex_field(s, 2, 0x1f)),
            _ => return Err(bad()),
        };
        let function = hex_field(function, 1, 7);
        match (domain, bus, device, function) {
            (Some(domain), Some(bus), Some(device), Some(function)) => {
                Ok(PciAddress { domain: domain as u16, bus: bus as u8, device: device as u8, function: function as u8 })
            }
            _ => Err(bad()),
        }
    }
}

impl PciAddress {
    /// The address as lspci prints it: `00:04.0` in domain 0, with the domain
    /// otherwise.
    pub fn lspci(&self) -> String {
        if self.domain == 0 {
            format!("{:02x}:{:02x}.{:x}", self.bus, self.device, self.function)
        } else {
            self.to_string()
        }
    }
}

/// A hex field of 1..=`max_digits` digits whose value is at most `max`.
fn hex_field(text: &str, max_digits: usize, max: u32) -> Option<u32> {
    if text.is_empty() || text.len() > max_digits || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(text, 16).ok().filter(|v| *v <= max)
}

impl PciAddress {
    /// `DDDD:BB:DD.F` as ASCII, made without the formatting machinery (a
    /// script prints one per result).
    pub fn text(&self) -> [u8; 12] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let nib = |v: u32, shift: u32| HEX[((v >> shift) & 0xf) as usize];
        let (d, b, s) = (u32::from(self.domain), u32::from(self.bus), u32::from(self.device));
        [
            nib(d, 12),
            nib(d, 8),
            nib(d, 4),
            nib(d, 0),
            b':',
            nib(b, 4),
            nib(b, 0),
            b':',
            nib(s, 4),
            nib(s, 0),
            b'.',
            HEX[usize::from(self.function & 0xf)],
        ]
    }
}

impl fmt::Display for PciAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.text();
        // Hex digits and separators: ASCII.
        f.write_str(std::str::from_utf8(&text).unwrap_or_default())
    }
}

impl FromStr for PciAddress {
    type Err = InvalidAddress;
    fn from_str(s: &str) -> Result<Self, InvalidAddress> {
        PciAddress::parse(s)
    }
}

impl Serialize for PciAddress {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// In JSON: `DDDD:BB:DD.F` in lowercase hex.
#[cfg(feature = "schema")]
impl schemars::JsonSchema for PciAddress {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PciAddress".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A PCI address: DDDD:BB:DD.F, in lowercase hex.",
            "type": "string",
            "pattern": "^[0-9a-f]{4}:[0-9a-f]{2}:[01][0-9a-f]\\.[0-7]$"
        })
    }
}

/// What `--device` names: one address, or every device with these IDs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceSelector {
    /// One address.
    Address(PciAddress),
    /// Every device with these IDs (must be one).
    Ids {
        /// Vendor ID.
        vendor: u16,
        /// Device ID.
        device: u16,
    },
}

impl DeviceSelector {
    /// Parse any of the accepted forms; the error names them all.
    pub fn parse(input: &str) -> Result<Self, InvalidAddress> {
        let trimmed = input.trim();
        if trimmed.contains('.') {
            return PciAddress::parse(trimmed).map(DeviceSelector::Address);
        }
        let bad = || InvalidAddress { input: input.to_string() };
        let (v, d) = trimmed.split_once(':').ok_or_else(bad)?;
        if v.len() != 4 || d.len() != 4 {
            return Err(bad());
        }
        match (hex_field(v, 4, 0xffff), hex_field(d, 4, 0xffff)) {
            (Some(vendor), Some(device)) => Ok(DeviceSelector::Ids { vendor: vendor as u16, device: device as u16 }),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for DeviceSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceSelector::Address(a) => a.fmt(f),
            DeviceSelector::Ids { vendor, device } => write!(f, "{vendor:04x}:{device:04x}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_and_short_forms() {
        let a = PciAddress::parse("0000:00:04.0").unwrap();
        assert_eq!(a, PciAddress { domain: 0, bus: 0, device: 4, function: 0 });
        assert_eq!(PciAddress::parse("00:04.0").unwrap(), a);
        assert_eq!(PciAddress::parse("10000:00:04.0").ok(), None);
        let b = PciAddress::parse("abcd:ff:1f.7").unwrap();
        assert_eq!(b.to_string(), "abcd:ff:1f.7");
        assert_eq!(PciAddress::parse("0000:FF:1F.7").unwrap().to_string(), "0000:ff:1f.7");
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "0000:00:20.0",
            "00:04.8",
            "00:04",
            "0:0:0:0.0",
            "zz:00.0",
            "00:04.",
            ".0",
            "00:004.0",
            "0000:00:04.0.1",
            "+0:04.0",
        ] {
            let e = PciAddress::parse(bad).expect_err(bad);
            assert_eq!(e, InvalidAddress { input: bad.to_string() }, "{bad:?} should be rejected");
        }
    }

    #[test]
    fn selector_forms() {
        assert_eq!(DeviceSelector::parse("1234:11e8").unwrap(), DeviceSelector::Ids { vendor: 0x1234, device: 0x11e8 });
        assert!(matches!(DeviceSelector::parse("00:04.0").unwrap(), DeviceSelector::Address(_)));
        for bad in ["1234", "1234:11e", "12345:11e8", "xyzw:11e8", "1234:11e8:0"] {
            let err = DeviceSelector::parse(bad).unwrap_err();
            assert!(err.to_string().contains("DDDD:BB:DD.F, BB:DD.F or VVVV:DDDD"), "{err}");
            assert_eq!(crate::error::Error::from(err).class(), crate::error::ErrorClass::Usage);
        }
    }
}
