//! pciutils-style device filters, as `lspci -s` and `lspci -d` take them:
//! `[[DOMAIN:]BUS:][DEV][.[FUNC]]` for the slot and
//! `[VENDOR]:[DEVICE][:CLASS[:PROGIF]]` for the IDs, every part optional or
//! `*`. They filter `list` and select the device of every other command.

use std::fmt;

use serde::Serialize;

use crate::error::{Error, ErrorKind, Result};
use crate::pci::{PciAddress, Sysfs, SysfsDevice};

/// `-s [[DOMAIN:]BUS:][DEV][.[FUNC]]`: each part that is given must match.
/// A missing domain means any domain, as in lspci (not domain 0).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SlotFilter {
    /// PCI domain.
    pub domain: Option<u16>,
    /// Bus.
    pub bus: Option<u8>,
    /// Device (slot), 0..=31.
    pub device: Option<u8>,
    /// Function, 0..=7.
    pub function: Option<u8>,
}

/// `-d [VENDOR]:[DEVICE][:CLASS[:PROGIF]]`: each part that is given must
/// match. CLASS is lspci's 16 bits (base class and subclass, `0200`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct IdFilter {
    /// Vendor ID.
    pub vendor: Option<u16>,
    /// Device ID.
    pub device: Option<u16>,
    /// Base class and subclass.
    pub class: Option<u16>,
    /// Programming interface.
    pub prog_if: Option<u8>,
}

/// Both filters; a device is selected when it matches every one given.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Filter {
    /// `-s`.
    pub slot: Option<SlotFilter>,
    /// `-d`.
    pub ids: Option<IdFilter>,
}

fn bad(input: &str, reason: &'static str) -> Error {
    Error::from(ErrorKind::InvalidSelector { input: input.to_string(), reason })
}

/// A hex part of at most `max`; empty or `*` is "any".
fn part(text: &str, max: u32) -> std::result::Result<Option<u32>, ()> {
    if text.is_empty() || text == "*" {
        return Ok(None);
    }
    if text.len() > 8 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(());
    }
    u32::from_str_radix(text, 16).ok().filter(|v| *v <= max).map(Some).ok_or(())
}

impl SlotFilter {
    /// Parse lspci's `-s` syntax: `00:05.0`, `0000:00:05.0`, `05.0`, `05`,
    /// `00:`, `*:05.*`, `.1`.
    pub fn parse(input: &str) -> Result<Self> {
        const WHY: &str = "expected [[DOMAIN:]BUS:][DEV][.[FUNC]] in hex, parts omitted or *";
        let mut f = SlotFilter::default();
        let colons: Vec<&str> = input.split(':').collect();
        let (domain, bus, rest) = match colons.as_slice() {
            [rest] => (None, None, *rest),
            [bus, rest] => (None, Some(*bus), *rest),
            [domain, bus, rest] => (Some(*domain), Some(*bus), *rest),
            _ => return Err(bad(input, WHY)),
        };
        let (dev, func) = match rest.split_once('.') {
            Some((d, f)) => (d, Some(f)),
            None => (rest, None),
        };
        let err = |_| bad(input, WHY);
        f.domain = domain.map(|d| part(d, 0xffff)).transpose().map_err(err)?.flatten().map(|v| v as u16);
        f.bus = bus.map(|b| part(b, 0xff)).transpose().map_err(err)?.flatten().map(|v| v as u8);
        f.device = part(dev, 0x1f).map_err(err)?.map(|v| v as u8);
        f.function = func.map(|x| part(x, 7)).transpose().map_err(err)?.flatten().map(|v| v as u8);
        Ok(f)
    }

    /// Whether `a` matches.
    pub fn matches(&self, a: PciAddress) -> bool {
        self.domain.is_none_or(|d| d == a.domain)
            && self.bus.is_none_or(|b| b == a.bus)
            && self.device.is_none_or(|d| d == a.device)
            && self.function.is_none_or(|f| f == a.function)
    }
}

impl IdFilter {
    /// Parse lspci's `-d` syntax: `1af4:`, `:1041`, `1af4:1041`, `::0200`,
    /// `*:*:0c03:30`.
    pub fn parse(input: &str) -> Result<Self> {
        const WHY: &str = "expected [VENDOR]:[DEVICE][:CLASS[:PROGIF]] in hex, parts omitted or * \
                           (a device address goes to -s or --device)";
        let parts: Vec<&str> = input.split(':').collect();
        if parts.len() < 2 || parts.len() > 4 {
            return Err(bad(input, WHY));
        }
        let err = |_| bad(input, WHY);
        let get = |i: usize, max: u32| parts.get(i).map(|p| part(p, max)).transpose().map(Option::flatten);
        Ok(IdFilter {
            vendor: get(0, 0xffff).map_err(err)?.map(|v| v as u16),
            device: get(1, 0xffff).map_err(err)?.map(|v| v as u16),
            class: get(2, 0xffff).map_err(err)?.map(|v| v as u16),
            prog_if: get(3, 0xff).map_err(err)?.map(|v| v as u8),
        })
    }

    /// Whether a device with these IDs and 24-bit class code matches.
    pub fn matches(&self, vendor: u16, device: u16, class_code: u32) -> bool {
        self.vendor.is_none_or(|v| v == vendor)
            && self.device.is_none_or(|d| d == device)
            && self.class.is_none_or(|c| u32::from(c) == class_code >> 8)
            && self.prog_if.is_none_or(|p| u32::from(p) == class_code & 0xff)
    }
}

impl Filter {
    /// Whether no filter is given (everything matches).
    pub fn is_empty(&self) -> bool {
        self.slot.is_none() && self.ids.is_none()
    }

    /// Whether `dev` matches every filter given. IDs that cannot be read do
    /// not match an ID filter.
    pub fn matches(&self, dev: &SysfsDevice) -> bool {
        if let Some(s) = &self.slot {
            if !s.matches(dev.address) {
                return false;
            }
        }
        match &self.ids {
            None => true,
            Some(f) => match (dev.vendor_id(), dev.device_id(), dev.class_code()) {
                (Ok(v), Ok(d), Ok(c)) => f.matches(v, d, c),
                _ => false,
            },
        }
    }

    /// Every device of `sysfs` that matches, in address order.
    pub fn select(&self, sysfs: &Sysfs) -> Result<Vec<SysfsDevice>> {
        Ok(sysfs.addresses()?.into_iter().map(|a| sysfs.device(a)).filter(|d| self.matches(d)).collect())
    }

    /// The one device that matches: none is "not found", several is
    /// ambiguous (the error lists them).
    pub fn resolve(&self, sysfs: &Sysfs) -> Result<SysfsDevice> {
        let mut found = self.select(sysfs)?;
        match found.len() {
            0 => Err(ErrorKind::DeviceNotFound { selector: self.to_string() }.into()),
            1 => Ok(found.remove(0)),
            _ => Err(ErrorKind::AmbiguousDevice {
                selector: self.to_string(),
                matches: found.iter().map(|d| d.address).collect(),
            }
            .into()),
        }
    }
}

fn opt<T: fmt::LowerHex>(v: Option<T>, digits: usize) -> String {
    v.map(|v| format!("{v:0digits$x}")).unwrap_or_else(|| "*".into())
}

impl fmt::Display for SlotFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}.{}", opt(self.domain, 4), opt(self.bus, 2), opt(self.device, 2), opt(self.function, 1))
    }
}

impl fmt::Display for IdFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", opt(self.vendor, 4), opt(self.device, 4))?;
        if self.class.is_some() || self.prog_if.is_some() {
            write!(f, ":{}", opt(self.class, 4))?;
        }
        if self.prog_if.is_some() {
            write!(f, ":{}", opt(self.prog_if, 2))?;
        }
        Ok(())
    }
}

impl fmt::Display for Filter {
    /// As the options were given: `-s 00:05.0 -d 1af4:`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(s) = &self.slot {
            parts.push(format!("-s {s}"));
        }
        if let Some(d) = &self.ids {
            parts.push(format!("-d {d}"));
        }
        f.write_str(&parts.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> PciAddress {
        PciAddress::parse(s).unwrap()
    }

    #[test]
    fn slot_forms_as_lspci_takes_them() {
        let f = SlotFilter::parse("00:05.0").unwrap();
        assert_eq!(f, SlotFilter { domain: None, bus: Some(0), device: Some(5), function: Some(0) });
        assert!(f.matches(addr("0000:00:05.0")) && f.matches(addr("ffff:00:05.0")));
        assert!(!f.matches(addr("0000:00:05.1")));
        let f = SlotFilter::parse("05").unwrap();
        assert!(f.matches(addr("0000:00:05.0")) && f.matches(addr("0000:03:05.7")));
        assert!(!f.matches(addr("0000:00:06.0")));
        let f = SlotFilter::parse("ffff:*:*.1").unwrap();
        assert!(f.matches(addr("ffff:02:00.1")) && !f.matches(addr("0000:02:00.1")));
        assert_eq!(SlotFilter::parse("02:").unwrap().bus, Some(2));
        assert_eq!(SlotFilter::parse(".3").unwrap().function, Some(3));
        assert_eq!(SlotFilter::parse("").unwrap(), SlotFilter::default());
        assert_eq!(SlotFilter::parse("0000:00:05.0").unwrap().to_string(), "0000:00:05.0");
        for bad in ["00:20.0", "00:04.8", "0:0:0:0.0", "zz", "100:00.0", "00:04.0.1"] {
            let e = SlotFilter::parse(bad).expect_err(bad);
            assert_eq!(e.class(), crate::ErrorClass::Usage, "{bad}");
        }
    }

    #[test]
    fn id_forms_as_lspci_takes_them() {
        let f = IdFilter::parse("1af4:").unwrap();
        assert!(f.matches(0x1af4, 0x1000, 0x020000) && !f.matches(0x8086, 0x1000, 0x020000));
        let f = IdFilter::parse(":1041").unwrap();
        assert_eq!(f, IdFilter { device: Some(0x1041), ..IdFilter::default() });
        let f = IdFilter::parse("::0200").unwrap();
        assert!(f.matches(0x8086, 0x100e, 0x020000) && !f.matches(0x8086, 0x100e, 0x010000));
        let f = IdFilter::parse("*:*:0c03:30").unwrap();
        assert!(f.matches(1, 2, 0x0c0330) && !f.matches(1, 2, 0x0c0320));
        assert_eq!(f.to_string(), "*:*:0c03:30");
        for bad in ["1af4", "0000:00:04.0", "12345:0", "1:2:3:4:5", "x:1", "::10000", ":::100"] {
            let e = IdFilter::parse(bad).expect_err(bad);
            assert!(e.to_string().contains("[VENDOR]:[DEVICE]"), "{e}");
        }
    }
}
