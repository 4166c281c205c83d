//! setpci's language, exactly as pciutils 3.9.0's setpci reads it: an
//! operation `NAME[+OFFSET][.WIDTH][@N][=VALUE[:MASK][,VALUE[:MASK]...]]`
//! ([`parse_operation`], the one parser of it: the `setpci` command and
//! `config read`/`config write` targets both go through it), its register
//! names ([`REGISTERS`], what `--dumpregs` lists), where an operation goes
//! on a given device ([`Operation::address`]), and the words setpci uses
//! for each way it can fail ([`Problem`]).
//!
//! Everything is hexadecimal (`40` is 0x40), names and widths are
//! case-insensitive, and `@N` counts instances of a capability from 0.

use crate::pci::capabilities::{self, List};
use crate::pci::config::ConfigSpace;

/// A register setpci has a name for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Register {
    /// Its name (`COMMAND`, `CAP_MSI`).
    pub name: &'static str,
    /// The capability it is relative to, for `CAP_*`/`ECAP_*`.
    pub cap: Option<(List, u16)>,
    /// Offset (in the header, or in the capability).
    pub offset: u16,
    /// Width in bytes (0: a capability, which has none).
    pub width: u8,
    /// Header layouts that have it (bit 0 normal, 1 bridge, 2 CardBus; 0: all).
    pub headers: u8,
}

const fn hdr(name: &'static str, offset: u16, width: u8, headers: u8) -> Register {
    Register { name, cap: None, offset, width, headers }
}

const fn cap(name: &'static str, id: u16) -> Register {
    Register { name, cap: Some((List::Standard, id)), offset: 0, width: 0, headers: 0 }
}

const fn ecap(name: &'static str, id: u16) -> Register {
    Register { name, cap: Some((List::Extended, id)), offset: 0, width: 0, headers: 0 }
}

/// setpci's register names, in `--dumpregs` order.
pub const REGISTERS: &[Register] = &[
    hdr("VENDOR_ID", 0x00, 2, 0),
    hdr("DEVICE_ID", 0x02, 2, 0),
    hdr("COMMAND", 0x04, 2, 0),
    hdr("STATUS", 0x06, 2, 0),
    hdr("REVISION", 0x08, 1, 0),
    hdr("CLASS_PROG", 0x09, 1, 0),
    hdr("CLASS_DEVICE", 0x0a, 2, 0),
    hdr("CACHE_LINE_SIZE", 0x0c, 1, 0),
    hdr("LATENCY_TIMER", 0x0d, 1, 0),
    hdr("HEADER_TYPE", 0x0e, 1, 0),
    hdr("BIST", 0x0f, 1, 0),
    hdr("BASE_ADDRESS_0", 0x10, 4, 3),
    hdr("BASE_ADDRESS_1", 0x14, 4, 3),
    hdr("BASE_ADDRESS_2", 0x18, 4, 1),
    hdr("BASE_ADDRESS_3", 0x1c, 4, 1),
    hdr("BASE_ADDRESS_4", 0x20, 4, 1),
    hdr("BASE_ADDRESS_5", 0x24, 4, 1),
    hdr("CARDBUS_CIS", 0x28, 4, 1),
    hdr("SUBSYSTEM_VENDOR_ID", 0x2c, 2, 1),
    hdr("SUBSYSTEM_ID", 0x2e, 2, 1),
    hdr("ROM_ADDRESS", 0x30, 4, 1),
    hdr("CAPABILITIES", 0x34, 1, 3),
    hdr("INTERRUPT_LINE", 0x3c, 1, 3),
    hdr("INTERRUPT_PIN", 0x3d, 1, 3),
    hdr("MIN_GNT", 0x3e, 1, 1),
    hdr("MAX_LAT", 0x3f, 1, 1),
    hdr("PRIMARY_BUS", 0x18, 1, 2),
    hdr("SECONDARY_BUS", 0x19, 1, 2),
    hdr("SUBORDINATE_BUS", 0x1a, 1, 2),
    hdr("SEC_LATENCY_TIMER", 0x1b, 1, 2),
    hdr("IO_BASE", 0x1c, 1, 2),
    hdr("IO_LIMIT", 0x1d, 1, 2),
    hdr("SEC_STATUS", 0x1e, 2, 2),
    hdr("MEMORY_BASE", 0x20, 2, 2),
    hdr("MEMORY_LIMIT", 0x22, 2, 2),
    hdr("PREF_MEMORY_BASE", 0x24, 2, 2),
    hdr("PREF_MEMORY_LIMIT", 0x26, 2, 2),
    hdr("PREF_BASE_UPPER32", 0x28, 4, 2),
    hdr("PREF_LIMIT_UPPER32", 0x2c, 4, 2),
    hdr("IO_BASE_UPPER16", 0x30, 2, 2),
    hdr("IO_LIMIT_UPPER16", 0x32, 2, 2),
    hdr("BRIDGE_ROM_ADDRESS", 0x38, 4, 2),
    hdr("BRIDGE_CONTROL", 0x3e, 2, 2),
    hdr("CB_CARDBUS_BASE", 0x10, 4, 4),
    hdr("CB_CAPABILITIES", 0x14, 2, 4),
    hdr("CB_SEC_STATUS", 0x16, 2, 4),
    hdr("CB_BUS_NUMBER", 0x18, 1, 4),
    hdr("CB_CARDBUS_NUMBER", 0x19, 1, 4),
    hdr("CB_SUBORDINATE_BUS", 0x1a, 1, 4),
    hdr("CB_CARDBUS_LATENCY", 0x1b, 1, 4),
    hdr("CB_MEMORY_BASE_0", 0x1c, 4, 4),
    hdr("CB_MEMORY_LIMIT_0", 0x20, 4, 4),
    hdr("CB_MEMORY_BASE_1", 0x24, 4, 4),
    hdr("CB_MEMORY_LIMIT_1", 0x28, 4, 4),
    hdr("CB_IO_BASE_0", 0x2c, 2, 4),
    hdr("CB_IO_BASE_0_HI", 0x2e, 2, 4),
    hdr("CB_IO_LIMIT_0", 0x30, 2, 4),
    hdr("CB_IO_LIMIT_0_HI", 0x32, 2, 4),
    hdr("CB_IO_BASE_1", 0x34, 2, 4),
    hdr("CB_IO_BASE_1_HI", 0x36, 2, 4),
    hdr("CB_IO_LIMIT_1", 0x38, 2, 4),
    hdr("CB_IO_LIMIT_1_HI", 0x3a, 2, 4),
    hdr("CB_SUBSYSTEM_VENDOR_ID", 0x40, 2, 4),
    hdr("CB_SUBSYSTEM_ID", 0x42, 2, 4),
    hdr("CB_LEGACY_MODE_BASE", 0x44, 4, 4),
    cap("CAP_PM", 0x01),
    cap("CAP_AGP", 0x02),
    cap("CAP_VPD", 0x03),
    cap("CAP_SLOTID", 0x04),
    cap("CAP_MSI", 0x05),
    cap("CAP_CHSWP", 0x06),
    cap("CAP_PCIX", 0x07),
    cap("CAP_HT", 0x08),
    cap("CAP_VNDR", 0x09),
    cap("CAP_DBG", 0x0a),
    cap("CAP_CCRC", 0x0b),
    cap("CAP_HOTPLUG", 0x0c),
    cap("CAP_SSVID", 0x0d),
    cap("CAP_AGP3", 0x0e),
    cap("CAP_SECURE", 0x0f),
    cap("CAP_EXP", 0x10),
    cap("CAP_MSIX", 0x11),
    cap("CAP_SATA", 0x12),
    cap("CAP_AF", 0x13),
    cap("CAP_EA", 0x14),
    ecap("ECAP_AER", 0x01),
    ecap("ECAP_VC", 0x02),
    ecap("ECAP_DSN", 0x03),
    ecap("ECAP_PB", 0x04),
    ecap("ECAP_RCLINK", 0x05),
    ecap("ECAP_RCILINK", 0x06),
    ecap("ECAP_RCEC", 0x07),
    ecap("ECAP_MFVC", 0x08),
    ecap("ECAP_VC2", 0x09),
    ecap("ECAP_RBCB", 0x0a),
    ecap("ECAP_VNDR", 0x0b),
    ecap("ECAP_ACS", 0x0d),
    ecap("ECAP_ARI", 0x0e),
    ecap("ECAP_ATS", 0x0f),
    ecap("ECAP_SRIOV", 0x10),
    ecap("ECAP_MRIOV", 0x11),
    ecap("ECAP_MCAST", 0x12),
    ecap("ECAP_PRI", 0x13),
    ecap("ECAP_REBAR", 0x15),
    ecap("ECAP_DPA", 0x16),
    ecap("ECAP_TPH", 0x17),
    ecap("ECAP_LTR", 0x18),
    ecap("ECAP_SECPCI", 0x19),
    ecap("ECAP_PMUX", 0x1a),
    ecap("ECAP_PASID", 0x1b),
    ecap("ECAP_LNR", 0x1c),
    ecap("ECAP_DPC", 0x1d),
    ecap("ECAP_L1PM", 0x1e),
    ecap("ECAP_PTM", 0x1f),
    ecap("ECAP_M_PCIE", 0x20),
    ecap("ECAP_FRS", 0x21),
    ecap("ECAP_RTR", 0x22),
    ecap("ECAP_DVSEC", 0x23),
    ecap("ECAP_VF_REBAR", 0x24),
    ecap("ECAP_DLNK", 0x25),
    ecap("ECAP_16GT", 0x26),
    ecap("ECAP_LMR", 0x27),
    ecap("ECAP_HIER_ID", 0x28),
    ecap("ECAP_NPEM", 0x29),
];

/// `setpci --dumpregs`: every name with its capability, offset and width.
pub fn dumpregs() -> Vec<String> {
    let mut out = vec!["cap pos w name".to_string()];
    for r in REGISTERS {
        let cap = match r.cap {
            Some((List::Extended, id)) => format!("{id:04x}"),
            Some((List::Standard, id)) => format!("  {id:02x}"),
            None => "    ".to_string(),
        };
        let width = ['-', 'B', 'W', '?', 'L'][usize::from(r.width.min(4))];
        out.push(format!("{cap} {:02x} {width} {}", r.offset, r.name));
    }
    out
}

/// Why setpci refuses an operation or cannot run it, in setpci's words
/// (`Display` is the message setpci prints after `setpci: `).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// `Unknown register "NAME"`.
    #[error("Unknown register \"{0}\"")]
    UnknownRegister(String),
    /// `Missing width` (a number or capability without `.B/.W/.L`).
    #[error("Missing width")]
    MissingWidth,
    /// `Invalid width "x"`.
    #[error("Invalid width \"{0}\"")]
    InvalidWidth(String),
    /// `Invalid number "x"` (what follows `@`).
    #[error("Invalid number \"{0}\"")]
    InvalidNumber(String),
    /// `Invalid offset "x"` (what follows `+`).
    #[error("Invalid offset \"{0}\"")]
    InvalidOffset(String),
    /// `Register number NN out of range`.
    #[error("Register number {0:02x} out of range")]
    OutOfRange(u32),
    /// `Unaligned register address NN`.
    #[error("Unaligned register address {0:02x}")]
    Unaligned(u32),
    /// `Missing value` (`NAME=`).
    #[error("Missing value")]
    MissingValue,
    /// `Invalid value "x"`.
    #[error("Invalid value \"{0}\"")]
    InvalidValue(String),
    /// `Value "x" is out of range`.
    #[error("Value \"{0}\" is out of range")]
    ValueOutOfRange(String),
    /// `Invalid mask "x"`.
    #[error("Invalid mask \"{0}\"")]
    InvalidMask(String),
    /// `Mask "x" is out of range`.
    #[error("Mask \"{0}\" is out of range")]
    MaskOutOfRange(String),
    /// The `@N`th capability of that ID is not there.
    #[error(
        "Instance #{number} of {} {id:04x} not found - {}",
        if *extended { "Extended capability" } else { "Capability" },
        match found { 0 => "there are no capabilities with that id.".to_string(), 1 => "there is only 1 capability with that id.".to_string(), n => format!("there are only {n} capabilities with that id.") }
    )]
    NoInstance {
        /// The instance asked for.
        number: u32,
        /// An extended capability.
        extended: bool,
        /// Its ID.
        id: u16,
        /// How many there are.
        found: usize,
    },
    /// A capability-relative address that is not aligned to the width.
    #[error("Unaligned access of width {width} to register {addr:04x}")]
    UnalignedAccess {
        /// Width in bytes.
        width: u8,
        /// The address.
        addr: u32,
    },
    /// A capability-relative address past 4 KiB.
    #[error("Access of width {width} to register {addr:04x} out of range")]
    AccessOutOfRange {
        /// Width in bytes.
        width: u8,
        /// The address.
        addr: u32,
    },
    /// A header register of another layout (`PRIMARY_BUS` of an endpoint).
    #[error("Does not have register {0}.")]
    NoSuchRegister(&'static str),
}

impl Problem {
    /// Whether setpci finds it while reading its arguments (it then adds
    /// "Try `setpci --help'"), rather than while running.
    pub fn when_parsing(&self) -> bool {
        !matches!(
            self,
            Problem::NoInstance { .. }
                | Problem::UnalignedAccess { .. }
                | Problem::AccessOutOfRange { .. }
                | Problem::NoSuchRegister(_)
        )
    }
}

/// One value of a write: the bits under `mask` are set to `value`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Value {
    /// The value (already masked).
    pub value: u32,
    /// The mask (all ones for a plain value).
    pub mask: u32,
}

/// One operation, parsed: where, how wide, and (for a write) what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation {
    /// The register named, for header registers (`COMMAND`) and capabilities (`CAP_MSI`).
    pub register: Option<&'static Register>,
    /// The capability it is relative to (named or `CAPnn`/`ECAPnnnn`).
    pub cap: Option<(List, u16)>,
    /// Address: absolute, or relative to the capability.
    pub addr: u32,
    /// Width in bytes: 1, 2 or 4.
    pub width: u8,
    /// Which instance of the capability (`@N`, from 0).
    pub number: u32,
    /// Values to write at `addr`, `addr + width`, ...; empty for a read.
    pub values: Vec<Value>,
}

/// C's `strtoul(text, &stop, 16)` as setpci's `parse_x32` checks it: `Ok`
/// when all of `text` is one hex number (leading blanks, a sign and `0x`
/// allowed) that fits 32 bits; `Err(Some((value, stop)))` when the number
/// stops before the end (no digits at all: 0, stopped at 0); `Err(None)`
/// when it does not fit 32 bits (a minus sign makes any non-zero number
/// too large, as `strtoul` wraps it).
fn hex32(text: &str) -> Result<u32, Option<(u32, usize)>> {
    let t = text.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let skipped = text.len() - t.len();
    let (neg, t2) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let sign = t.len() - t2.len();
    let prefix = match t2.get(..2) {
        Some("0x" | "0X") if t2.as_bytes().get(2).is_some_and(u8::is_ascii_hexdigit) => 2,
        _ => 0,
    };
    let digits = &t2[prefix..];
    let n = digits.bytes().take_while(u8::is_ascii_hexdigit).count();
    if n == 0 {
        return Err(Some((0, 0)));
    }
    let mut v: u64 = 0;
    for c in digits[..n].chars() {
        let d = u64::from(c.to_digit(16).unwrap_or(0));
        v = match v.checked_mul(16).and_then(|x| x.checked_add(d)) {
            Some(x) => x,
            None => return Err(None),
        };
    }
    if (neg && v != 0) || v > u64::from(u32::MAX) {
        return Err(None);
    }
    let end = skipped + sign + prefix + n;
    if end == text.len() {
        Ok(v as u32)
    } else {
        Err(Some((v as u32, end)))
    }
}

/// setpci's `parse_x32`: `> 0` (whole word), `0` (stopped early), `< 0` (bad).
fn whole_hex(text: &str) -> Option<u32> {
    if text.is_empty() {
        return None;
    }
    hex32(text).ok()
}

/// Parse one operation as setpci does (its `parse_op`), checking what it
/// checks before touching a device.
pub fn parse_operation(text: &str) -> Result<Operation, Problem> {
    let (base, value) = match text.split_once('=') {
        Some((b, v)) => (b, Some(v)),
        None => (text, None),
    };
    let (base, number) = match base.split_once('@') {
        Some((b, n)) => (b, Some(n)),
        None => (base, None),
    };
    let (base, width) = match base.split_once('.') {
        Some((b, w)) => (b, Some(w)),
        None => (base, None),
    };
    let (base, offset) = match base.split_once('+') {
        Some((b, o)) => (b, Some(o)),
        None => (base, None),
    };
    let count = match value {
        Some("") => return Err(Problem::MissingValue),
        Some(v) => v.matches(',').count() + 1,
        None => 0,
    };
    let mut width = match width {
        None => 0u8,
        Some(w) if w.chars().count() != 1 => return Err(Problem::InvalidWidth(w.to_string())),
        Some(w) => match w.to_ascii_uppercase().as_str() {
            "B" => 1,
            "W" => 2,
            "L" => 4,
            _ => return Err(Problem::InvalidWidth(w.to_string())),
        },
    };
    let number = match number {
        None => 0,
        Some(n) => match whole_hex(n) {
            Some(v) if (v as i32) >= 0 => v,
            _ => return Err(Problem::InvalidNumber(n.to_string())),
        },
    };
    let mut op = Operation { register: None, cap: None, addr: 0, width, number, values: Vec::new() };
    if let Some(addr) = whole_hex(base) {
        op.addr = addr;
    } else if let Some(r) = REGISTERS.iter().find(|r| r.name.eq_ignore_ascii_case(base)) {
        op.register = Some(r);
        op.cap = r.cap;
        op.addr = u32::from(r.offset);
        if r.width != 0 && width == 0 {
            width = r.width;
        }
    } else {
        let upper = base.to_ascii_uppercase();
        let numbered = if let Some(id) = upper.strip_prefix("ECAP") {
            whole_hex(id).filter(|id| *id < 0x1000).map(|id| (List::Extended, id as u16))
        } else if let Some(id) = upper.strip_prefix("CAP") {
            whole_hex(id).filter(|id| *id < 0x100).map(|id| (List::Standard, id as u16))
        } else {
            None
        };
        match numbered {
            Some(cap) => op.cap = Some(cap),
            None => return Err(Problem::UnknownRegister(base.to_string())),
        }
    }
    if width == 0 {
        return Err(Problem::MissingWidth);
    }
    op.width = width;
    if let Some(off) = offset {
        match whole_hex(off) {
            Some(v) if v < 0x1000 => op.addr += v,
            _ => return Err(Problem::InvalidOffset(off.to_string())),
        }
    }
    let span = u32::from(width) * (count.max(1) as u32);
    if op.addr >= 0x1000 || op.addr + span > 0x1000 {
        return Err(Problem::OutOfRange(op.addr));
    }
    if op.addr & (u32::from(width) - 1) != 0 {
        return Err(Problem::Unaligned(op.addr));
    }
    let limit: u32 = match width {
        1 => 0xff,
        2 => 0xffff,
        _ => 0xffff_ffff,
    };
    let out_of_range = |v: u32| v > limit && v < !0u32 - limit;
    if let Some(values) = value {
        for v in values.split(',') {
            let (value, rest) = match hex32(v) {
                Ok(x) => (x, None),
                Err(Some((x, at))) if v[at..].starts_with(':') => (x, Some(&v[at + 1..])),
                _ => return Err(Problem::InvalidValue(v.to_string())),
            };
            if out_of_range(value) {
                return Err(Problem::ValueOutOfRange(v.to_string()));
            }
            let item = match rest {
                None => Value { value, mask: !0 },
                Some(m) => {
                    let mask = whole_hex(m).ok_or_else(|| Problem::InvalidMask(m.to_string()))?;
                    if out_of_range(mask) {
                        return Err(Problem::MaskOutOfRange(m.to_string()));
                    }
                    Value { value: value & mask, mask }
                }
            };
            op.values.push(item);
        }
    }
    Ok(op)
}

impl Operation {
    /// Where it goes on a device with this config space (its capability
    /// found as libpci finds it), checked as setpci checks it then.
    pub fn address(&self, config: &ConfigSpace) -> Result<u32, Problem> {
        let mut addr = self.addr;
        if let Some((list, id)) = self.cap {
            let all: Vec<capabilities::Found> =
                capabilities::walk(config).into_iter().filter(|f| f.list == list && f.id == id).collect();
            match all.get(self.number as usize) {
                Some(f) => addr += u32::from(f.offset),
                None => {
                    return Err(Problem::NoInstance {
                        number: self.number,
                        extended: list == List::Extended,
                        id,
                        found: all.len(),
                    })
                }
            }
        }
        if addr & (u32::from(self.width) - 1) != 0 {
            return Err(Problem::UnalignedAccess { width: self.width, addr });
        }
        if addr + u32::from(self.width) > 0x1000 {
            return Err(Problem::AccessOutOfRange { width: self.width, addr });
        }
        if let Some(r) = self.register.filter(|r| r.headers != 0) {
            let layout = config.header_layout().unwrap_or(0xff);
            if layout > 2 || r.headers & (1 << layout) == 0 {
                return Err(Problem::NoSuchRegister(r.name));
            }
        }
        Ok(addr)
    }

    /// The capability's offset, when the operation is relative to one.
    pub fn capability_offset(&self, config: &ConfigSpace) -> Option<u16> {
        let (list, id) = self.cap?;
        capabilities::walk(config)
            .into_iter()
            .filter(|f| f.list == list && f.id == id)
            .nth(self.number as usize)
            .map(|f| f.offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Operation {
        parse_operation(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn err(text: &str) -> String {
        parse_operation(text).expect_err(text).to_string()
    }

    #[test]
    fn operations_as_setpci_reads_them() {
        let op = ok("COMMAND");
        assert_eq!((op.addr, op.width, op.values.len()), (4, 2, 0));
        assert_eq!(ok("command.l").width, 4);
        assert_eq!(ok("4.w").addr, 4);
        assert_eq!(ok("VENDOR_ID+1.b").addr, 1);
        let op = ok("CAP_PM+2.w");
        assert_eq!((op.cap, op.addr, op.width), (Some((List::Standard, 1)), 2, 2));
        let op = ok("ECAP108.l");
        assert_eq!(op.cap, Some((List::Extended, 0x108)));
        let op = ok("CAP_VNDR+3.b@1");
        assert_eq!((op.addr, op.number), (3, 1));
        let op = ok("COMMAND=0x2:0x2");
        assert_eq!(op.values, [Value { value: 2, mask: 2 }]);
        let op = ok("40.b=1,2,3");
        assert_eq!(op.values.len(), 3);
        assert_eq!(ok("LATENCY_TIMER=40").values[0].value, 0x40);
        assert_eq!(ok("COMMAND=ffffffff").values[0].value, 0xffff_ffff);
        assert_eq!(err("COMMAND=-1"), "Invalid value \"-1\"");
        assert_eq!(ok("COMMAND=:2").values, [Value { value: 0, mask: 2 }]);
        assert_eq!(ok("LATENCY_TIMER=ffffff40").values[0].value, 0xffff_ff40);
        assert_eq!(ok("CAP10.w@a").number, 10);
    }

    #[test]
    fn refusals_in_setpci_words() {
        assert_eq!(err("NOPE"), "Unknown register \"NOPE\"");
        assert_eq!(err("3c"), "Missing width");
        assert_eq!(err("CAP_MSI"), "Missing width");
        assert_eq!(err("3c.q"), "Invalid width \"q\"");
        assert_eq!(err("3c.bb"), "Invalid width \"bb\"");
        assert_eq!(err("CAP_VNDR@1+3.b"), "Invalid number \"1+3.b\"");
        assert_eq!(err("CAP_VNDR+3.b@x"), "Invalid number \"x\"");
        assert_eq!(err("CAP_PM+fff0.w"), "Invalid offset \"fff0\"");
        assert_eq!(err("1000.b"), "Register number 1000 out of range");
        assert_eq!(err("ffe.l"), "Register number ffe out of range");
        assert_eq!(err("3d.w"), "Unaligned register address 3d");
        assert_eq!(err("COMMAND="), "Missing value");
        assert_eq!(err("COMMAND=zz"), "Invalid value \"zz\"");
        assert_eq!(err("COMMAND=1x"), "Invalid value \"1x\"");
        assert_eq!(err("COMMAND=10000"), "Value \"10000\" is out of range");
        assert_eq!(err("COMMAND=1:zz"), "Invalid mask \"zz\"");
        assert_eq!(err("COMMAND=1:10000"), "Mask \"10000\" is out of range");
        assert_eq!(err("LATENCY_TIMER=100"), "Value \"100\" is out of range");
    }

    #[test]
    fn addresses_on_a_device() {
        let mut b = vec![0u8; 256];
        b[6] = 0x10;
        b[0x34] = 0x40;
        b[0x40..0x44].copy_from_slice(&[0x09, 0x50, 0x10, 0]);
        b[0x50..0x54].copy_from_slice(&[0x09, 0x00, 0x10, 0]);
        let c = ConfigSpace::new(b);
        assert_eq!(ok("CAP_VNDR+3.b").address(&c), Ok(0x43));
        assert_eq!(ok("CAP_VNDR+3.b@1").address(&c), Ok(0x53));
        assert_eq!(
            ok("CAP_VNDR.b@2").address(&c).unwrap_err().to_string(),
            "Instance #2 of Capability 0009 not found - there are only 2 capabilities with that id."
        );
        assert_eq!(
            ok("CAP_MSI.b").address(&c).unwrap_err().to_string(),
            "Instance #0 of Capability 0005 not found - there are no capabilities with that id."
        );
        assert_eq!(ok("PRIMARY_BUS").address(&c).unwrap_err().to_string(), "Does not have register PRIMARY_BUS.");
        assert_eq!(err("CAP_VNDR+1.w"), "Unaligned register address 01");
        assert_eq!(dumpregs()[1], "     00 W VENDOR_ID");
        assert!(dumpregs().contains(&"0001 00 - ECAP_AER".to_string()));
        assert!(dumpregs().contains(&"  05 00 - CAP_MSI".to_string()));
    }
}
