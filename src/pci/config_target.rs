//! Config registers by name, as setpci names them: header registers
//! (`COMMAND`, `LATENCY_TIMER`), their fields (`COMMAND.BUS_MASTER`), raw
//! offsets with a width (`3c.b`, `0x10.l`) and capability-relative offsets
//! (`CAP_MSI+2.w`, `ECAP_AER+4.l`, `CAP_VNDR@2+4.b` for the second one).
//!
//! Offsets are hex with or without `0x`, as setpci reads them; widths are
//! `.b`, `.w`, `.l` (8, 16, 32 bits). A target is resolved against a config
//! snapshot (for capabilities) before anything is read or written.

use serde::Serialize;

use crate::error::{Error, ErrorKind, Result};
use crate::mmio::Width;
use crate::pci::capabilities;
use crate::pci::config::{command, off, ConfigSpace};

/// A bit field of a header register.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ConfigField {
    /// Its name.
    pub name: &'static str,
    /// Lowest bit.
    pub lsb: u32,
    /// Number of bits.
    pub bits: u32,
}

impl ConfigField {
    const fn bit(name: &'static str, mask: u16) -> Self {
        ConfigField { name, lsb: mask.trailing_zeros(), bits: 1 }
    }

    /// The field's mask within its register.
    pub fn mask(&self) -> u64 {
        ((1u64 << self.bits) - 1) << self.lsb
    }
}

/// A header register setpci has a name for.
#[derive(Debug)]
pub struct ConfigRegister {
    /// Its name.
    pub name: &'static str,
    /// Offset in config space.
    pub offset: u16,
    /// Width.
    pub width: Width,
    /// Named fields.
    pub fields: &'static [ConfigField],
    /// Writing 1 clears a bit (STATUS): a field write writes only that field.
    pub write_one_clears: bool,
}

const fn reg(name: &'static str, offset: usize, width: Width) -> ConfigRegister {
    ConfigRegister { name, offset: offset as u16, width, fields: &[], write_one_clears: false }
}

const COMMAND_FIELDS: &[ConfigField] = &[
    ConfigField::bit("IO", command::IO),
    ConfigField::bit("MEMORY", command::MEMORY),
    ConfigField::bit("BUS_MASTER", command::BUS_MASTER),
    ConfigField::bit("SPECIAL", command::SPECIAL_CYCLES),
    ConfigField::bit("INVALIDATE", command::MWI),
    ConfigField::bit("VGA_PALETTE", command::VGA_SNOOP),
    ConfigField::bit("PARITY", command::PARITY),
    ConfigField::bit("WAIT", command::STEPPING),
    ConfigField::bit("SERR", command::SERR),
    ConfigField::bit("FAST_BACK", command::FAST_B2B),
    ConfigField::bit("INTX_DISABLE", command::INTX_DISABLE),
];

const STATUS_FIELDS: &[ConfigField] = &[
    ConfigField { name: "INTERRUPT", lsb: 3, bits: 1 },
    ConfigField { name: "CAP_LIST", lsb: 4, bits: 1 },
    ConfigField { name: "66MHZ", lsb: 5, bits: 1 },
    ConfigField { name: "UDF", lsb: 6, bits: 1 },
    ConfigField { name: "FAST_BACK", lsb: 7, bits: 1 },
    ConfigField { name: "PARITY", lsb: 8, bits: 1 },
    ConfigField { name: "DEVSEL", lsb: 9, bits: 2 },
    ConfigField { name: "SIG_TARGET_ABORT", lsb: 11, bits: 1 },
    ConfigField { name: "REC_TARGET_ABORT", lsb: 12, bits: 1 },
    ConfigField { name: "REC_MASTER_ABORT", lsb: 13, bits: 1 },
    ConfigField { name: "SIG_SYSTEM_ERROR", lsb: 14, bits: 1 },
    ConfigField { name: "DETECTED_PARITY", lsb: 15, bits: 1 },
];

const HEADER_TYPE_FIELDS: &[ConfigField] =
    &[ConfigField { name: "LAYOUT", lsb: 0, bits: 7 }, ConfigField { name: "MULTI_FUNCTION", lsb: 7, bits: 1 }];

/// The header registers by setpci's names (both header layouts: setpci
/// takes every name on every device, and so does this).
pub const REGISTERS: &[ConfigRegister] = &[
    reg("VENDOR_ID", off::VENDOR, Width::W16),
    reg("DEVICE_ID", off::DEVICE, Width::W16),
    ConfigRegister {
        name: "COMMAND",
        offset: off::COMMAND as u16,
        width: Width::W16,
        fields: COMMAND_FIELDS,
        write_one_clears: false,
    },
    ConfigRegister {
        name: "STATUS",
        offset: off::STATUS as u16,
        width: Width::W16,
        fields: STATUS_FIELDS,
        write_one_clears: true,
    },
    reg("REVISION", off::REVISION, Width::W8),
    reg("CLASS_PROG", off::CLASS, Width::W8),
    reg("CLASS_DEVICE", 0x0a, Width::W16),
    reg("CACHE_LINE_SIZE", off::CACHE_LINE, Width::W8),
    reg("LATENCY_TIMER", off::LATENCY, Width::W8),
    ConfigRegister {
        name: "HEADER_TYPE",
        offset: off::HEADER_TYPE as u16,
        width: Width::W8,
        fields: HEADER_TYPE_FIELDS,
        write_one_clears: false,
    },
    reg("BIST", 0x0f, Width::W8),
    reg("BASE_ADDRESS_0", off::BAR0, Width::W32),
    reg("BASE_ADDRESS_1", off::BAR0 + 4, Width::W32),
    reg("BASE_ADDRESS_2", off::BAR0 + 8, Width::W32),
    reg("BASE_ADDRESS_3", off::BAR0 + 12, Width::W32),
    reg("BASE_ADDRESS_4", off::BAR0 + 16, Width::W32),
    reg("BASE_ADDRESS_5", off::BAR0 + 20, Width::W32),
    reg("CARDBUS_CIS", 0x28, Width::W32),
    reg("SUBSYSTEM_VENDOR_ID", off::SUBSYS_VENDOR, Width::W16),
    reg("SUBSYSTEM_ID", off::SUBSYS_ID, Width::W16),
    reg("ROM_ADDRESS", 0x30, Width::W32),
    reg("CAPABILITY_LIST", off::CAP_PTR, Width::W8),
    reg("INTERRUPT_LINE", off::INT_LINE, Width::W8),
    reg("INTERRUPT_PIN", off::INT_PIN, Width::W8),
    reg("MIN_GNT", 0x3e, Width::W8),
    reg("MAX_LAT", 0x3f, Width::W8),
    // Type 1 (bridges).
    reg("PRIMARY_BUS", 0x18, Width::W8),
    reg("SECONDARY_BUS", 0x19, Width::W8),
    reg("SUBORDINATE_BUS", 0x1a, Width::W8),
    reg("SEC_LATENCY_TIMER", 0x1b, Width::W8),
    reg("IO_BASE", 0x1c, Width::W8),
    reg("IO_LIMIT", 0x1d, Width::W8),
    reg("SEC_STATUS", 0x1e, Width::W16),
    reg("MEMORY_BASE", 0x20, Width::W16),
    reg("MEMORY_LIMIT", 0x22, Width::W16),
    reg("PREF_MEMORY_BASE", 0x24, Width::W16),
    reg("PREF_MEMORY_LIMIT", 0x26, Width::W16),
    reg("PREF_BASE_UPPER32", 0x28, Width::W32),
    reg("PREF_LIMIT_UPPER32", 0x2c, Width::W32),
    reg("IO_BASE_UPPER16", 0x30, Width::W16),
    reg("IO_LIMIT_UPPER16", 0x32, Width::W16),
    reg("BRIDGE_ROM_ADDRESS", 0x38, Width::W32),
    reg("BRIDGE_CONTROL", 0x3e, Width::W16),
];

/// Standard capability names as setpci takes them (`CAP_MSI`).
pub const CAPABILITIES: &[(&str, u8)] = &[
    ("PM", capabilities::id::PM),
    ("AGP", 0x02),
    ("VPD", 0x03),
    ("SLOTID", 0x04),
    ("MSI", capabilities::id::MSI),
    ("CHSWP", 0x06),
    ("PCIX", 0x07),
    ("HT", 0x08),
    ("VNDR", capabilities::id::VENDOR),
    ("DBG", 0x0a),
    ("CCRC", 0x0b),
    ("HOTPLUG", 0x0c),
    ("SSVID", 0x0d),
    ("AGP3", 0x0e),
    ("SECURE", 0x0f),
    ("EXP", capabilities::id::EXP),
    ("MSIX", capabilities::id::MSIX),
    ("SATA", 0x12),
    ("AF", 0x13),
    ("EA", 0x14),
];

/// Extended capability names as setpci takes them (`ECAP_AER`).
pub const EXTENDED_CAPABILITIES: &[(&str, u16)] = &[
    ("AER", capabilities::ext_id::AER),
    ("VC", 0x02),
    ("DSN", 0x03),
    ("PB", 0x04),
    ("RCLINK", 0x05),
    ("RCILINK", 0x06),
    ("RCEC", 0x07),
    ("MFVC", 0x08),
    ("VC2", 0x09),
    ("RBCB", 0x0a),
    ("VNDR", 0x0b),
    ("ACS", capabilities::ext_id::ACS),
    ("ARI", 0x0e),
    ("ATS", 0x0f),
    ("SRIOV", 0x10),
    ("MRIOV", 0x11),
    ("MCAST", 0x12),
    ("PRI", 0x13),
    ("REBAR", 0x15),
    ("DPA", 0x16),
    ("TPH", 0x17),
    ("LTR", 0x18),
    ("SECPCI", 0x19),
    ("PMUX", 0x1a),
    ("PASID", 0x1b),
    ("LNR", 0x1c),
    ("DPC", 0x1d),
    ("L1PM", 0x1e),
    ("PTM", 0x1f),
    ("DVSEC", 0x23),
    ("VF_REBAR", 0x24),
    ("DLNK", 0x25),
    ("16GT", 0x26),
    ("LMR", 0x27),
];

/// A resolved target: where, how wide, and which bits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConfigTarget {
    /// The target as given.
    pub text: String,
    /// Offset in config space.
    pub offset: u16,
    /// Access width.
    pub width: Width,
    /// The header register, when it has a name.
    pub register: Option<&'static str>,
    /// The field, for `NAME.FIELD`.
    pub field: Option<ConfigField>,
    /// A write-1-to-clear register (STATUS): field writes leave other bits 0.
    #[serde(skip)]
    pub write_one_clears: bool,
}

fn invalid(text: &str, why: impl Into<String>) -> Error {
    Error::invalid(text, why)
}

/// A hex number as setpci reads it (`3c`, `0x3c`).
fn hex(text: &str, whole: &str) -> Result<u64> {
    let digits = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")).unwrap_or(text);
    if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid(whole, format!("'{text}' is not a hex offset (setpci's offsets are hex: 3c or 0x3c)")));
    }
    u64::from_str_radix(digits, 16).map_err(|_| invalid(whole, "offset out of range"))
}

fn width_suffix(text: &str, whole: &str) -> Result<Width> {
    match text {
        "b" | "B" => Ok(Width::W8),
        "w" | "W" => Ok(Width::W16),
        "l" | "L" => Ok(Width::W32),
        _ => Err(invalid(whole, format!("'.{text}' is not a width: .b (8 bits), .w (16) or .l (32)"))),
    }
}

/// Every name a target can start with (for completion and suggestions).
pub fn names() -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in REGISTERS {
        out.push(r.name.to_string());
        out.extend(r.fields.iter().map(|f| format!("{}.{}", r.name, f.name)));
    }
    out.extend(CAPABILITIES.iter().map(|(n, _)| format!("CAP_{n}")));
    out.extend(EXTENDED_CAPABILITIES.iter().map(|(n, _)| format!("ECAP_{n}")));
    out
}

impl ConfigTarget {
    /// Resolve `text` against `config` (a snapshot, needed for capabilities).
    pub fn resolve(text: &str, config: &ConfigSpace) -> Result<ConfigTarget> {
        let t = text.trim();
        // A width suffix is the last `.x` when x is one letter b/w/l; a field
        // name after a register name is longer.
        let (body, suffix) = match t.rsplit_once('.') {
            Some((b, s)) if s.len() == 1 => (b, Some(width_suffix(s, text)?)),
            _ => (t, None),
        };
        let upper = body.to_ascii_uppercase();
        let (base, plus) = match upper.split_once('+') {
            Some((b, p)) => (b.to_string(), Some(hex(p, text)?)),
            None => (upper.clone(), None),
        };
        // Named header register, maybe with a field.
        let (reg_name, field_name) = match base.split_once('.') {
            Some((r, f)) => (r.to_string(), Some(f.to_string())),
            None => (base.clone(), None),
        };
        if let Some(r) = REGISTERS.iter().find(|r| r.name == reg_name) {
            let field = match &field_name {
                None => None,
                Some(f) => Some(*r.fields.iter().find(|x| x.name == f).ok_or_else(|| {
                    Error::from(ErrorKind::FieldNotFound {
                        register: r.name.to_string(),
                        field: f.clone(),
                        fields: r.fields.iter().map(|x| x.name.to_string()).collect(),
                    })
                })?),
            };
            if field.is_some() && (plus.is_some() || suffix.is_some()) {
                return Err(invalid(text, "a field takes no offset or width"));
            }
            let offset = u64::from(r.offset) + plus.unwrap_or(0);
            let width = suffix.unwrap_or(r.width);
            let exact = plus.is_none() && suffix.is_none_or(|w| w == r.width);
            return ConfigTarget::checked(text, offset, width, config).map(|mut c| {
                if exact {
                    c.register = Some(r.name);
                    c.field = field;
                    c.write_one_clears = r.write_one_clears;
                }
                c
            });
        }
        if field_name.is_some() {
            return Err(unknown(text, &reg_name));
        }
        // A capability, by name, number (CAP10, ECAP0001) and instance (@2).
        let (cap, instance) = match base.split_once('@') {
            Some((c, n)) => {
                let n: usize = n.parse().ok().filter(|n| *n >= 1).ok_or_else(|| invalid(text, "@N counts from 1"))?;
                (c.to_string(), n)
            }
            None => (base.clone(), 1),
        };
        if let Some(name) = cap.strip_prefix("ECAP").map(|n| n.trim_start_matches('_')) {
            let id = EXTENDED_CAPABILITIES
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, id)| *id)
                .or_else(|| u16::from_str_radix(name, 16).ok().filter(|_| !name.is_empty() && name.len() <= 4))
                .ok_or_else(|| unknown(text, &cap))?;
            if config.len() < 0x104 {
                return Err(short(config, text));
            }
            let at = capabilities::extended(config)
                .into_iter()
                .filter(|c| c.id == id)
                .nth(instance - 1)
                .ok_or_else(|| no_cap(text, &cap))?;
            let width = suffix.ok_or_else(|| invalid(text, "give a width: .b, .w or .l"))?;
            return ConfigTarget::checked(text, u64::from(at.offset) + plus.unwrap_or(0), width, config);
        }
        if let Some(name) = cap.strip_prefix("CAP").map(|n| n.trim_start_matches('_')) {
            let id = CAPABILITIES
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, id)| *id)
                .or_else(|| u8::from_str_radix(name, 16).ok().filter(|_| !name.is_empty() && name.len() <= 2))
                .ok_or_else(|| unknown(text, &cap))?;
            if config.capabilities_pointer().is_some() && config.len() < 256 {
                return Err(short(config, text));
            }
            let at = capabilities::standard(config)
                .into_iter()
                .filter(|c| c.id == u16::from(id))
                .nth(instance - 1)
                .ok_or_else(|| no_cap(text, &cap))?;
            let width = suffix.ok_or_else(|| invalid(text, "give a width: .b, .w or .l"))?;
            return ConfigTarget::checked(text, u64::from(at.offset) + plus.unwrap_or(0), width, config);
        }
        // A raw offset.
        if plus.is_some() {
            return Err(unknown(text, &base));
        }
        let offset = hex(&base, text).map_err(|_| unknown(text, &base))?;
        let width = suffix.ok_or_else(|| invalid(text, "give a width: .b, .w or .l (e.g. 3c.b)"))?;
        ConfigTarget::checked(text, offset, width, config)
    }

    fn checked(text: &str, offset: u64, width: Width, config: &ConfigSpace) -> Result<ConfigTarget> {
        let limit = if config.len() > 256 { 4096 } else { 256 };
        if offset + width.bytes() > limit {
            return Err(ErrorKind::OutOfRange { offset, width: width.bytes(), len: limit }.into());
        }
        if offset % width.bytes() != 0 {
            return Err(ErrorKind::Misaligned { offset, width: width.bytes() }.into());
        }
        Ok(ConfigTarget {
            text: text.to_string(),
            offset: offset as u16,
            width,
            register: None,
            field: None,
            write_one_clears: false,
        })
    }

    /// The value of the target in a register value read at its offset.
    pub fn extract(&self, register: u64) -> u64 {
        match self.field {
            Some(f) => (register & f.mask()) >> f.lsb,
            None => register,
        }
    }

    /// What to write to the register for `value` under `mask` (all ones:
    /// the whole target), given its current content `old`: a field or a
    /// mask changes only its bits (a write-1-to-clear register gets zeros
    /// elsewhere, so no other bit is cleared). Checks that both fit.
    pub fn merge(&self, old: u64, value: u64, mask: Option<u64>) -> Result<u64> {
        let (bits, what) = match self.field {
            Some(f) => (f.bits, format!("field {}", f.name)),
            None => (self.width.bits(), format!("a {}-bit config register", self.width.bits())),
        };
        let max = u64::MAX >> (64 - bits);
        for v in [Some(value), mask].into_iter().flatten() {
            if v > max {
                return Err(ErrorKind::ValueTooLarge { value: v, what: what.clone(), bits, max }.into());
            }
        }
        let (lsb, full) = match self.field {
            Some(f) => (f.lsb, f.mask()),
            None => (0, self.width.max_value()),
        };
        let changed = mask.map_or(full, |m| (m << lsb) & full);
        let keep = if self.write_one_clears { 0 } else { old & !changed };
        Ok(keep | ((value << lsb) & changed))
    }
}

fn unknown(text: &str, name: &str) -> Error {
    invalid(
        text,
        format!(
            "'{name}' is no register setpci knows, nor CAP_x/ECAP_x, nor a hex offset with a width (3c.b); e.g. COMMAND, COMMAND.BUS_MASTER, CAP_MSI+2.w"
        ),
    )
}

fn no_cap(text: &str, cap: &str) -> Error {
    Error::new(ErrorKind::CapabilityNotFound { capability: cap.to_string(), target: text.to_string() })
}

fn short(config: &ConfigSpace, text: &str) -> Error {
    Error::new(ErrorKind::ConfigTooShort { len: config.len(), need: if text.contains("ECAP") { 4096 } else { 256 } })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ConfigSpace {
        let mut b = vec![0u8; 4096];
        b[0x04..0x06].copy_from_slice(&0x0103u16.to_le_bytes());
        b[0x06] = 0x10;
        b[0x34] = 0x40;
        b[0x40..0x44].copy_from_slice(&[0x05, 0x50, 0x80, 0x00]); // MSI
        b[0x50..0x54].copy_from_slice(&[0x09, 0x60, 0x10, 0x00]); // vendor
        b[0x60..0x64].copy_from_slice(&[0x09, 0x00, 0x10, 0x00]); // vendor, 2nd
        b[0x100..0x104].copy_from_slice(&(0x0001u32 | (1 << 16) | (0x148 << 20)).to_le_bytes());
        b[0x148..0x14c].copy_from_slice(&(0x000du32 | (1 << 16)).to_le_bytes());
        ConfigSpace::new(b)
    }

    fn at(text: &str) -> (u16, u32) {
        let t = ConfigTarget::resolve(text, &config()).unwrap_or_else(|e| panic!("{text}: {e}"));
        (t.offset, t.width.bits())
    }

    #[test]
    fn names_offsets_and_capabilities_as_setpci() {
        assert_eq!(at("COMMAND"), (4, 16));
        assert_eq!(at("command"), (4, 16));
        assert_eq!(at("LATENCY_TIMER"), (0xd, 8));
        assert_eq!(at("COMMAND.l"), (4, 32));
        assert_eq!(at("3c.b"), (0x3c, 8));
        assert_eq!(at("0x10.L"), (0x10, 32));
        assert_eq!(at("CAP_MSI+2.w"), (0x42, 16));
        assert_eq!(at("CAP05+0x2.w"), (0x42, 16));
        assert_eq!(at("CAP_VNDR@2+2.b"), (0x62, 8));
        assert_eq!(at("ECAP_AER+4.l"), (0x104, 32));
        assert_eq!(at("ECAP_ACS.l"), (0x148, 32));
        assert_eq!(at("ECAP000d+4.w"), (0x14c, 16));
        let t = ConfigTarget::resolve("COMMAND.BUS_MASTER", &config()).unwrap();
        assert_eq!((t.register, t.field.map(|f| (f.lsb, f.bits))), (Some("COMMAND"), Some((2, 1))));
        assert_eq!(t.extract(0x0107), 1);
    }

    #[test]
    fn bad_targets_say_why() {
        for (text, why) in [
            ("COMMAND.NOPE", "has no field"),
            ("NOPE", "no register setpci knows"),
            ("3c", "give a width"),
            ("3c.q", "is not a width"),
            ("CAP_EXP+2.w", "has no CAP_EXP capability"),
            ("CAP_MSI+2", "give a width"),
            ("0x101.w", "not aligned"),
            ("0xffe.l", "outside"),
            ("CAP_MSI@0+2.w", "counts from 1"),
            ("COMMAND.BUS_MASTER.w", "takes no offset or width"),
        ] {
            let e = ConfigTarget::resolve(text, &config()).expect_err(text);
            assert!(e.to_string().contains(why), "{text}: {e}");
        }
        let short = ConfigSpace::new(config().bytes()[..64].to_vec());
        assert!(ConfigTarget::resolve("CAP_MSI+2.w", &short).unwrap_err().to_string().contains("64 bytes"));
        let e = ConfigTarget::resolve("ECAP_AER+4.l", &ConfigSpace::new(config().bytes()[..256].to_vec()));
        assert!(e.unwrap_err().to_string().contains("4096"));
    }

    #[test]
    fn merges_fields_masks_and_write_one_clears() {
        let c = config();
        let bm = ConfigTarget::resolve("COMMAND.BUS_MASTER", &c).unwrap();
        assert_eq!(bm.merge(0x0103, 1, None).unwrap(), 0x0107);
        assert_eq!(bm.merge(0x0107, 0, None).unwrap(), 0x0103);
        assert!(bm.merge(0, 2, None).unwrap_err().to_string().contains("does not fit"));
        let cmd = ConfigTarget::resolve("COMMAND", &c).unwrap();
        assert_eq!(cmd.merge(0x0103, 0x4, Some(0x4)).unwrap(), 0x0107);
        assert_eq!(cmd.merge(0x0103, 0x6, None).unwrap(), 0x0006);
        assert!(cmd.merge(0, 0x10000, None).is_err());
        // STATUS: clearing one error bit writes only that bit.
        let s = ConfigTarget::resolve("STATUS.REC_MASTER_ABORT", &c).unwrap();
        assert_eq!(s.merge(0xa010, 1, None).unwrap(), 0x2000);
    }
}
