//! pciutils-style device filters, as `lspci -s` and `lspci -d` take them:
//! `[[DOMAIN:]BUS:][DEV][.[FUNC]]` for the slot and
//! `[VENDOR]:[DEVICE][:CLASS[:PROGIF]]` for the IDs, every part optional or
//! `*`. They filter `list` and select the device of every other command.

use crate::error::PciError;
use std::fmt;

use serde::Serialize;

use crate::error::{Error, Result};
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
    Error::from(PciError::InvalidSelector { input: input.to_string(), reason })
}

/// libpci's `parse_hex_field`: empty or `*` is "any"; otherwise hex digits
/// whose value is at most `max` (no limit on their number, as libpci).
fn part(text: &str, max: u32) -> std::result::Result<Option<u32>, ()> {
    if text.is_empty() || text == "*" {
        return Ok(None);
    }
    let mut v: u64 = 0;
    for c in text.chars() {
        let d = c.to_digit(16).ok_or(())?;
        v = (v << 4) | u64::from(d);
        if v > u64::from(max) {
            return Err(());
        }
    }
    Ok(Some(v as u32))
}

/// libpci's `split_to_fields`: at most `n` fields separated by `sep`
/// (missing ones `None`), the whole shorter than 64 characters.
fn fields(text: &str, sep: char, n: usize, limit: bool) -> std::result::Result<Vec<Option<&str>>, &'static str> {
    if limit && text.len() >= 64 {
        return Err("Expression too long");
    }
    let parts: Vec<&str> = text.split(sep).collect();
    if parts.len() > n {
        return Err("Too many fields");
    }
    let mut out: Vec<Option<&str>> = parts.into_iter().map(Some).collect();
    out.resize(n, None);
    Ok(out)
}

/// A libpci reason with the syntax it expects (for mmiodrv's messages).
fn hinted(why: &'static str) -> &'static str {
    const SLOT: &str = "expected [[DOMAIN:]BUS:][DEV][.[FUNC]] in hex, parts omitted or *";
    macro_rules! with {
        ($($why:literal => $syntax:literal),* $(,)?) => {
            match why { $($why => concat!($why, ": ", $syntax),)* _ => SLOT }
        };
    }
    with!(
        "Expression too long" => "expected [[DOMAIN:]BUS:][DEV][.[FUNC]] in hex, parts omitted or *",
        "Too many fields" => "expected [[DOMAIN:]BUS:][DEV][.[FUNC]] in hex, parts omitted or *",
        "Invalid domain number" => "expected [[DOMAIN:]BUS:][DEV][.[FUNC]] in hex, parts omitted or *",
        "Invalid bus number" => "expected [[DOMAIN:]BUS:][DEV][.[FUNC]] in hex, parts omitted or *",
        "Invalid slot/function number" => "expected [[DOMAIN:]BUS:][DEV][.[FUNC]] in hex, parts omitted or *",
        "Invalid slot number" => "expected [[DOMAIN:]BUS:][DEV][.[FUNC]] in hex, parts omitted or *",
        "Invalid function number" => "expected [[DOMAIN:]BUS:][DEV][.[FUNC]] in hex, parts omitted or *",
    )
}

/// An ID filter's libpci reason with the syntax it expects.
fn hinted_ids(why: &'static str) -> &'static str {
    macro_rules! with {
        ($($why:literal),* $(,)?) => {
            match why {
                $($why => concat!($why, ": expected [VENDOR]:[DEVICE][:CLASS[:PROGIF]] in hex, parts omitted or * (a device address goes to -s or --device)"),)*
                _ => "expected [VENDOR]:[DEVICE][:CLASS[:PROGIF]] in hex, parts omitted or * (a device address goes to -s or --device)",
            }
        };
    }
    with!(
        "Expression too long",
        "Too many fields",
        "At least two fields must be given",
        "Invalid vendor ID",
        "Invalid device ID",
        "Invalid class code",
        "Invalid programming interface code",
    )
}

impl SlotFilter {
    /// Parse lspci's `-s` syntax: `00:05.0`, `0000:00:05.0`, `05.0`, `05`,
    /// `00:`, `*:05.*`, `.1`.
    pub fn parse(input: &str) -> Result<Self> {
        SlotFilter::parse_as_libpci(input).map_err(|why| bad(input, hinted(why)))
    }

    /// The one parser of `-s`, as libpci's `pci_filter_parse_slot`: on
    /// failure, its reason in libpci's words (`Invalid bus number`), which
    /// setpci prints.
    pub fn parse_as_libpci(input: &str) -> std::result::Result<Self, &'static str> {
        let f = fields(input, ':', 3, true)?;
        let mut out = SlotFilter::default();
        let mut i = 0;
        if f[2].is_some() {
            out.domain = part(f[0].unwrap_or(""), 0xffff).map_err(|_| "Invalid domain number")?.map(|v| v as u16);
            i += 1;
        }
        if f[i + 1].is_some() {
            out.bus = part(f[i].unwrap_or(""), 0xff).map_err(|_| "Invalid bus number")?.map(|v| v as u8);
            i += 1;
        }
        if let Some(dev) = f[i].filter(|d| !d.is_empty() && *d != "*") {
            let sf = fields(dev, '.', 2, false).map_err(|_| "Invalid slot/function number")?;
            out.device = part(sf[0].unwrap_or(""), 0x1f).map_err(|_| "Invalid slot number")?.map(|v| v as u8);
            out.function = part(sf[1].unwrap_or(""), 7).map_err(|_| "Invalid function number")?.map(|v| v as u8);
        }
        Ok(out)
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
        IdFilter::parse_as_libpci(input).map_err(|why| bad(input, hinted_ids(why)))
    }

    /// The one parser of `-d`, as libpci's `pci_filter_parse_id` (without
    /// its `x` digits of a class): on failure, libpci's reason.
    pub fn parse_as_libpci(input: &str) -> std::result::Result<Self, &'static str> {
        let f = fields(input, ':', 4, true)?;
        if f[1].is_none() {
            return Err("At least two fields must be given");
        }
        let get = |i: usize, max: u32, why: &'static str| part(f[i].unwrap_or(""), max).map_err(|_| why);
        Ok(IdFilter {
            vendor: get(0, 0xffff, "Invalid vendor ID")?.map(|v| v as u16),
            device: get(1, 0xffff, "Invalid device ID")?.map(|v| v as u16),
            class: get(2, 0xffff, "Invalid class code")?.map(|v| v as u16),
            prog_if: get(3, 0xff, "Invalid programming interface code")?.map(|v| v as u8),
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
            0 => Err(PciError::DeviceNotFound { selector: self.to_string() }.into()),
            1 => Ok(found.remove(0)),
            _ => Err(PciError::AmbiguousDevice {
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
