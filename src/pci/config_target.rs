//! What `config read`/`config write` take: a register or field of the
//! config register map by name (`COMMAND`, `COMMAND.BUS_MASTER`,
//! `EXP.LNKSTA`, `EXP.DEVCTL.MPS`, `PM.PMCSR.PS`), or any address setpci
//! takes (`3c.b`, `CAP_MSI+2.w`, `ECAP_AER+4.l`, `CAP_VNDR+3.b@1`, read by
//! [`setpci::parse_operation`], the one parser of setpci's syntax).
//!
//! Both become a target of the config window (`--bar config`): a name of
//! the map, or an offset with a width, which the one executor then reads or
//! writes.

use crate::error::{Error, Result};
use crate::mmio::Width;
use crate::pci::capabilities;
use crate::pci::config::ConfigSpace;
use crate::pci::setpci::{self, Problem};
use crate::regmap::{self, RegisterMap, Target};

/// A resolved target: what to give the config window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigTarget {
    /// The target as given.
    pub text: String,
    /// The window's target: a register or field name of the map, or an
    /// offset (`0x42`).
    pub target: String,
    /// The access width, for an offset.
    pub width: Option<Width>,
}

/// Whether `name` is how the config map names a capability (`EXP`, `AER`,
/// `PL16GT`, `CAP2a`, `ECAP002e`).
fn is_capability_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    capabilities::STANDARD_NAMES.iter().any(|(n, _)| *n == upper)
        || capabilities::EXTENDED_NAMES.iter().any(|(n, _)| *n == upper && !n.starts_with(|c: char| c.is_ascii_digit()))
        || ["EVNDR", "PL16GT", "PL32GT", "DOE"].contains(&upper.as_str())
        || (upper.starts_with("ECAP") && upper.len() == 8 && upper[4..].chars().all(|c| c.is_ascii_hexdigit()))
        || (upper.starts_with("CAP") && upper.len() == 5 && upper[3..].chars().all(|c| c.is_ascii_hexdigit()))
}

/// How a setpci address is written wrongly by a 1-based `@N` habit (mmiodrv
/// once took `CAP_VNDR@2+4.b` for the second one).
fn hint(text: &str, problem: &Problem) -> String {
    let mut why = problem.to_string();
    if let (Problem::InvalidNumber(_), Some((base, rest))) = (problem, text.split_once('@')) {
        let number: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
        let tail = &rest[number.len()..];
        if let (Ok(n), false) = (u32::from_str_radix(&number, 16), tail.is_empty()) {
            why.push_str(&format!(
                ": @N comes last and counts from 0, as in setpci: {base}{tail}@{n:x} is instance {n} (the {} one); \
                 mmiodrv's old CAP_X@N+OFF.W counted from 1",
                ordinal(n + 1)
            ));
        }
    }
    why
}

fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (1, r) if r != 11 => "st",
        (2, r) if r != 12 => "nd",
        (3, r) if r != 13 => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

impl ConfigTarget {
    /// Resolve `text` on a device whose config space reads `config` and
    /// whose register map is `map`.
    pub fn resolve(text: &str, config: &ConfigSpace, map: &RegisterMap) -> Result<ConfigTarget> {
        let t = text.trim();
        let named = |target: &str| ConfigTarget { text: text.to_string(), target: target.to_string(), width: None };
        // A register or field of the map (names may hold dots: EXP.LNKSTA.CLS).
        if map.registers.iter().any(|r| r.name.eq_ignore_ascii_case(t)) {
            return Ok(named(t));
        }
        if let Some((reg, field)) = t.rsplit_once('.') {
            if let Ok(r) = map.register(reg) {
                if r.field(field).is_ok() {
                    return Ok(named(t));
                }
                // A width suffix is setpci's (COMMAND.l); anything else names a field.
                if !matches!(field.to_ascii_uppercase().as_str(), "B" | "W" | "L") {
                    return Err(r.field(field).map(drop).unwrap_err());
                }
            }
        }
        // A capability's register by name that this device does not have.
        let first = t.split('.').next().unwrap_or("");
        if t.contains('.') && is_capability_name(first.split('@').next().unwrap_or("")) {
            let prefix = format!("{}.", first.to_ascii_uppercase());
            let suggestions: Vec<String> = map
                .registers
                .iter()
                .filter(|r| r.name.to_ascii_uppercase().starts_with(&prefix))
                .take(8)
                .map(|r| r.name.to_string())
                .collect();
            if suggestions.is_empty() {
                let target = match config.len() {
                    n if n <= 256 && first.len() > 1 => format!("{t}; only {n} bytes of config space were read"),
                    _ => t.to_string(),
                };
                return Err(Error::new(crate::error::PciError::CapabilityNotFound {
                    capability: first.to_string(),
                    target,
                }));
            }
            let kind =
                crate::error::MapError::RegisterNotFound { name: t.to_string(), map: "config".into(), suggestions };
            return Err(Error::new(kind));
        }
        if t.contains('=') {
            return Err(Error::invalid(text, "a target takes no =VALUE (give the value as its own argument)"));
        }
        let op = setpci::parse_operation(t).map_err(|p| {
            let mut why = hint(t, &p);
            if let Problem::UnknownRegister(_) = p {
                why.push_str(
                    "; a register or field of the config map (COMMAND.BUS_MASTER, EXP.LNKSTA.CLS: see `info --json` \
                     or dump-regs --bar config), a setpci name (COMMAND, CAP_MSI+2.w) or a hex offset with a width (3c.b)",
                );
            }
            Error::invalid(text, why)
        })?;
        let addr = op.address(config).map_err(|p| match p {
            Problem::NoInstance { number, extended, id, found } => {
                let list = if extended { capabilities::List::Extended } else { capabilities::List::Standard };
                let name = crate::pci::config_map::instance_name(list, id, number as usize);
                let has = match found {
                    0 => "none with that ID".to_string(),
                    1 => "1 with that ID, @0".to_string(),
                    n => format!("{n} with that ID, @0 to @{:x}", n - 1),
                };
                let target = format!("{text}; it has {has}");
                Error::new(crate::error::PciError::CapabilityNotFound { capability: name, target })
            }
            other => Error::invalid(text, other.to_string()),
        })?;
        if addr as usize + usize::from(op.width) > config.len() {
            return Err(crate::error::PciError::ConfigTooShort {
                len: config.len(),
                need: addr as usize + usize::from(op.width),
            }
            .into());
        }
        let width = match op.width {
            1 => Width::W8,
            2 => Width::W16,
            _ => Width::W32,
        };
        // The same place by name, when a register of the map is exactly there.
        let exact = map.registers.iter().find(|r| r.offset == u64::from(addr) && r.width == width);
        Ok(match exact {
            Some(r) => named(&r.name),
            None => ConfigTarget { text: text.to_string(), target: format!("{addr:#x}"), width: Some(width) },
        })
    }

    /// What it names in `map` (for reports).
    pub fn in_map<'m>(&self, map: &'m RegisterMap) -> Result<Target<'m>> {
        regmap::resolve(Some(map), &self.target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pci::config_map;

    fn config() -> ConfigSpace {
        let mut b = vec![0u8; 4096];
        b[0x04..0x06].copy_from_slice(&0x0103u16.to_le_bytes());
        b[0x06] = 0x10;
        b[0x34] = 0x40;
        b[0x40..0x44].copy_from_slice(&[0x05, 0x50, 0x80, 0x00]); // MSI
        b[0x50..0x54].copy_from_slice(&[0x09, 0x60, 0x10, 0x00]); // vendor
        b[0x60..0x64].copy_from_slice(&[0x09, 0x70, 0x10, 0x00]); // vendor, 2nd
        b[0x70..0x74].copy_from_slice(&[0x10, 0x00, 0x02, 0x00]); // EXP endpoint
        b[0x100..0x104].copy_from_slice(&(0x0001u32 | (1 << 16) | (0x148 << 20)).to_le_bytes());
        b[0x148..0x14c].copy_from_slice(&(0x000du32 | (1 << 16)).to_le_bytes());
        ConfigSpace::new(b)
    }

    fn at(text: &str) -> (String, Option<u32>) {
        let c = config();
        let t = ConfigTarget::resolve(text, &c, &config_map::map(&c)).unwrap_or_else(|e| panic!("{text}: {e}"));
        (t.target, t.width.map(Width::bits))
    }

    #[test]
    fn names_offsets_and_capabilities() {
        assert_eq!(at("COMMAND"), ("COMMAND".into(), None));
        assert_eq!(at("command.bus_master"), ("command.bus_master".into(), None));
        assert_eq!(at("EXP.DEVCTL.MPS"), ("EXP.DEVCTL.MPS".into(), None));
        assert_eq!(at("COMMAND.l"), ("0x4".into(), Some(32)));
        assert_eq!(at("3c.b"), ("INTERRUPT_LINE".into(), None));
        assert_eq!(at("0x10.L"), ("BASE_ADDRESS_0".into(), None));
        assert_eq!(at("CAP_MSI+2.w"), ("MSI.CTRL".into(), None));
        assert_eq!(at("CAP05+2.w"), ("MSI.CTRL".into(), None));
        assert_eq!(at("CAP_VNDR+3.b@1"), ("0x63".into(), Some(8)));
        assert_eq!(at("ECAP_AER+4.l"), ("AER.UESTA".into(), None));
        assert_eq!(at("ECAP_ACS.l"), ("ACS.HDR".into(), None));
    }

    #[test]
    fn bad_targets_say_why() {
        let c = config();
        let m = config_map::map(&c);
        for (text, why) in [
            ("COMMAND.NOPE", "has no field"),
            ("NOPE", "Unknown register"),
            ("3c", "Missing width"),
            ("3c.q", "Invalid width"),
            ("CAP_PM+2.w", "the device has no PM capability (CAP_PM+2.w; it has none with that ID)"),
            ("0x101.w", "Unaligned"),
            ("0xffe.l", "out of range"),
            (
                "CAP_VNDR@2+2.b",
                "@N comes last and counts from 0, as in setpci: CAP_VNDR+2.b@2 is instance 2 (the 3rd one)",
            ),
        ] {
            let e = ConfigTarget::resolve(text, &c, &m).expect_err(text);
            assert!(e.to_string().contains(why), "{text}: {e}");
        }
        let short = ConfigSpace::new(c.bytes()[..256].to_vec());
        let e = ConfigTarget::resolve("0x104.l", &short, &config_map::map(&short)).unwrap_err();
        assert!(e.to_string().contains("256 bytes"), "{e}");
    }
}
