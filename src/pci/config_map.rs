//! Config space as a register map, like a BAR's: the header registers
//! under setpci's names (`COMMAND`, `STATUS`, `BRIDGE_CONTROL`) and every
//! capability's registers under its name (`EXP.LNKSTA`, `PM.PMCSR`,
//! `AER.UESTA`), each with its fields (`EXP.LNKSTA.CLS`, `PM.PMCSR.PS`),
//! their access (read-only, read-write, write-1-to-clear) and description.
//! The map is built for one device from its config space: which
//! capabilities it has, where, and which of their registers exist (a
//! 64-bit MSI, a slot, a root port's registers, the number of Virtual
//! Channel resources...).
//!
//! A capability's name is setpci's without `CAP_`/`ECAP_`
//! ([`capabilities::name`]); a second one of the same ID is `NAME@1` (as
//! setpci's `@N`, from 0): `VNDR@1.LEN`. Register and field names follow
//! the PCI specifications' abbreviations, as Linux's `pci_regs.h` spells
//! them where it has them (`DEVCTL.MPS`, `LNKSTA.NLW`, `UESTA.MALFTLP`).
//!
//! Through the map, the window on config space (`--bar config`) reads and
//! writes registers and fields by name with the register's width (a field
//! write is a read-modify-write that leaves write-1-to-clear bits alone).

use std::borrow::Cow;

use crate::mmio::Width;
use crate::pci::capabilities::{self, List};
use crate::pci::config::ConfigSpace;
use crate::regmap::{Access, AccessRule, Field, ReadAction, Register, RegisterMap, WriteSemantics};

/// The index standing for config space where a BAR's is expected
/// (`--bar config`): its window, map, dumps and snapshots.
pub const CONFIG_BAR: u8 = 0xff;

/// How messages name a window: `BAR2`, or `config` for config space.
pub fn bar_name(bar: u8) -> String {
    if bar == CONFIG_BAR {
        "config".to_string()
    } else {
        format!("BAR{bar}")
    }
}

/// A BAR index in JSON: the number, or `"config"` for config space
/// ([`CONFIG_BAR`]); with `#[serde(with = "crate::pci::config_map::bar_json")]`.
pub mod bar_json {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::CONFIG_BAR;

    /// `bar` as JSON.
    pub fn serialize<S: Serializer>(bar: &u8, s: S) -> Result<S::Ok, S::Error> {
        match *bar {
            CONFIG_BAR => s.serialize_str("config"),
            n => s.serialize_u8(n),
        }
    }

    /// A BAR from JSON: a number below 6, or `"config"`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
        match Bar::deserialize(d)? {
            Bar::Index(n) if n < 6 => Ok(n),
            Bar::Index(n) => Err(serde::de::Error::custom(format!("BAR {n} is not a BAR (0 to 5)"))),
            Bar::Config(name) if name == "config" => Ok(CONFIG_BAR),
            Bar::Config(name) => Err(serde::de::Error::custom(format!("BAR '{name}': expected 0 to 5 or \"config\""))),
        }
    }

    /// What a BAR is in JSON (the schema's type for it).
    #[derive(Deserialize)]
    #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
    #[serde(untagged)]
    pub enum Bar {
        /// A BAR, 0 to 5.
        Index(#[cfg_attr(feature = "schema", schemars(range(max = 5)))] u8),
        /// `"config"`: the device's config space.
        Config(#[cfg_attr(feature = "schema", schemars(regex(pattern = "^config$")))] String),
    }
}

/// The name of the config-space map.
pub const MAP_NAME: &str = "config";

/// One register of a table: offset (from the capability), width in bits,
/// name, access, fields and description.
///
/// Fields are written `NAME@MSB:LSB` or `NAME@BIT`, separated by spaces; a
/// field whose access differs from the register's ends in `!` (write 1 to
/// clear), `~` (read-only) or `=` (read-write).
struct R {
    offset: u16,
    bits: u8,
    name: Cow<'static, str>,
    access: Access,
    fields: &'static str,
    description: &'static str,
}

const fn r(
    offset: u16,
    bits: u8,
    name: &'static str,
    access: Access,
    fields: &'static str,
    description: &'static str,
) -> R {
    R { offset, bits, name: Cow::Borrowed(name), access, fields, description }
}

use Access::{RO, RW, RW1C};

fn width(bits: u8) -> Width {
    match bits {
        8 => Width::W8,
        16 => Width::W16,
        _ => Width::W32,
    }
}

/// Parse a table's field list.
fn fields(spec: &str, bits: u8) -> Vec<Field> {
    let mut out: Vec<Field> = Vec::new();
    for item in spec.split_whitespace() {
        let (item, access, write) = match item.as_bytes().last() {
            Some(b'!') => (&item[..item.len() - 1], Some(RW1C), WriteSemantics::OneToClear),
            Some(b'~') => (&item[..item.len() - 1], Some(RO), WriteSemantics::Normal),
            Some(b'=') => (&item[..item.len() - 1], Some(RW), WriteSemantics::Normal),
            _ => (item, None, WriteSemantics::Normal),
        };
        let Some((name, range)) = item.split_once('@') else { continue };
        let (msb, lsb) = match range.split_once(':') {
            Some((m, l)) => (m.parse().unwrap_or(0), l.parse().unwrap_or(0)),
            None => {
                let b = range.parse().unwrap_or(0);
                (b, b)
            }
        };
        if msb < lsb || msb >= u32::from(bits) {
            continue;
        }
        out.push(Field {
            name: Cow::Owned(name.to_string()),
            msb,
            lsb,
            description: Cow::Borrowed(""),
            values: Cow::Borrowed(&[]),
            access,
            write,
            read_action: ReadAction::None,
            reset: None,
        });
    }
    // Most significant first, as maps list them.
    out.sort_by_key(|f| std::cmp::Reverse(f.lsb));
    out
}

/// Registers being gathered for one device.
struct Builder<'a> {
    config: &'a ConfigSpace,
    registers: Vec<Register>,
}

impl Builder<'_> {
    /// Add `table`'s registers at `base`, named `prefix.NAME` (just `NAME`
    /// without a prefix), those that lie inside what was read.
    fn add(&mut self, base: usize, prefix: &str, table: &[R]) {
        for t in table {
            let offset = base + usize::from(t.offset);
            let bytes = usize::from(t.bits / 8);
            if offset + bytes > self.config.len() || offset + bytes > 4096 {
                continue;
            }
            let name = if prefix.is_empty() { t.name.to_string() } else { format!("{prefix}.{}", t.name) };
            let w = width(t.bits);
            let fields = fields(t.fields, t.bits);
            // A register of write-1-to-clear fields only is RW1C; its
            // read-only fields say so.
            self.registers.push(Register {
                name: Cow::Owned(name),
                offset: offset as u64,
                width: w,
                access_width: w,
                word_order: Default::default(),
                access: t.access,
                read_side_effects: false,
                description: Cow::Borrowed(t.description),
                fields: Cow::Owned(fields),
                reset: None,
            });
        }
    }

    fn w(&self, at: usize) -> u32 {
        u32::from(self.config.u16(at).unwrap_or(0))
    }

    fn l(&self, at: usize) -> u32 {
        self.config.u32(at).unwrap_or(0)
    }
}

const COMMAND: &str = "IO@0 MEMORY@1 BUS_MASTER@2 SPECIAL@3 INVALIDATE@4 VGA_PALETTE@5 PARITY@6 WAIT@7 SERR@8 \
                       FAST_BACK@9 INTX_DISABLE@10";
const STATUS: &str = "IMM_READY@0~ INTERRUPT@3~ CAP_LIST@4~ 66MHZ@5~ UDF@6~ FAST_BACK@7~ PARITY@8! DEVSEL@10:9~ \
                      SIG_TARGET_ABORT@11! REC_TARGET_ABORT@12! REC_MASTER_ABORT@13! SIG_SYSTEM_ERROR@14! \
                      DETECTED_PARITY@15!";
const SEC_STATUS: &str = "66MHZ@5~ FAST_BACK@7~ PARITY@8! DEVSEL@10:9~ SIG_TARGET_ABORT@11! REC_TARGET_ABORT@12! \
                          REC_MASTER_ABORT@13! SIG_SYSTEM_ERROR@14! DETECTED_PARITY@15!";

const HEADER: &[R] = &[
    r(0x00, 16, "VENDOR_ID", RO, "", "Vendor ID"),
    r(0x02, 16, "DEVICE_ID", RO, "", "Device ID"),
    r(0x04, 16, "COMMAND", RW, COMMAND, "Command"),
    r(0x06, 16, "STATUS", RW, STATUS, "Status (error bits are write-1-to-clear)"),
    r(0x08, 8, "REVISION", RO, "", "Revision ID"),
    r(0x09, 8, "CLASS_PROG", RO, "", "Programming interface"),
    r(0x0a, 16, "CLASS_DEVICE", RO, "SUBCLASS@7:0 BASE@15:8", "Class (base class and subclass)"),
    r(0x0c, 8, "CACHE_LINE_SIZE", RW, "", "Cache line size, in 32-bit words"),
    r(0x0d, 8, "LATENCY_TIMER", RW, "", "Latency timer"),
    r(0x0e, 8, "HEADER_TYPE", RO, "LAYOUT@6:0 MULTI_FUNCTION@7", "Header type"),
    r(0x0f, 8, "BIST", RW, "CODE@3:0~ START@6 CAPABLE@7~", "Built-in self test"),
];

const HEADER0: &[R] = &[
    r(0x28, 32, "CARDBUS_CIS", RO, "", "CardBus CIS pointer"),
    r(0x2c, 16, "SUBSYSTEM_VENDOR_ID", RO, "", "Subsystem vendor ID"),
    r(0x2e, 16, "SUBSYSTEM_ID", RO, "", "Subsystem ID"),
    r(0x30, 32, "ROM_ADDRESS", RW, "ENABLE@0 ADDRESS@31:11", "Expansion ROM base address"),
    r(0x34, 8, "CAPABILITIES", RO, "", "Capabilities pointer"),
    r(0x3c, 8, "INTERRUPT_LINE", RW, "", "Interrupt line"),
    r(0x3d, 8, "INTERRUPT_PIN", RO, "", "Interrupt pin (1: INTA)"),
    r(0x3e, 8, "MIN_GNT", RO, "", "Minimum grant, in 250 ns"),
    r(0x3f, 8, "MAX_LAT", RO, "", "Maximum latency, in 250 ns"),
];

const HEADER1: &[R] = &[
    r(0x18, 8, "PRIMARY_BUS", RW, "", "Primary bus number"),
    r(0x19, 8, "SECONDARY_BUS", RW, "", "Secondary bus number"),
    r(0x1a, 8, "SUBORDINATE_BUS", RW, "", "Subordinate bus number"),
    r(0x1b, 8, "SEC_LATENCY_TIMER", RW, "", "Secondary latency timer"),
    r(0x1c, 8, "IO_BASE", RW, "TYPE@3:0~ BASE@7:4", "I/O base (bits 15:12)"),
    r(0x1d, 8, "IO_LIMIT", RW, "TYPE@3:0~ LIMIT@7:4", "I/O limit (bits 15:12)"),
    r(0x1e, 16, "SEC_STATUS", RW, SEC_STATUS, "Secondary status"),
    r(0x20, 16, "MEMORY_BASE", RW, "BASE@15:4", "Memory base (bits 31:20)"),
    r(0x22, 16, "MEMORY_LIMIT", RW, "LIMIT@15:4", "Memory limit (bits 31:20)"),
    r(0x24, 16, "PREF_MEMORY_BASE", RW, "TYPE@3:0~ BASE@15:4", "Prefetchable memory base (bits 31:20)"),
    r(0x26, 16, "PREF_MEMORY_LIMIT", RW, "TYPE@3:0~ LIMIT@15:4", "Prefetchable memory limit (bits 31:20)"),
    r(0x28, 32, "PREF_BASE_UPPER32", RW, "", "Prefetchable base, upper 32 bits"),
    r(0x2c, 32, "PREF_LIMIT_UPPER32", RW, "", "Prefetchable limit, upper 32 bits"),
    r(0x30, 16, "IO_BASE_UPPER16", RW, "", "I/O base, upper 16 bits"),
    r(0x32, 16, "IO_LIMIT_UPPER16", RW, "", "I/O limit, upper 16 bits"),
    r(0x34, 8, "CAPABILITIES", RO, "", "Capabilities pointer"),
    r(0x38, 32, "BRIDGE_ROM_ADDRESS", RW, "ENABLE@0 ADDRESS@31:11", "Expansion ROM base address"),
    r(0x3c, 8, "INTERRUPT_LINE", RW, "", "Interrupt line"),
    r(0x3d, 8, "INTERRUPT_PIN", RO, "", "Interrupt pin (1: INTA)"),
    r(
        0x3e,
        16,
        "BRIDGE_CONTROL",
        RW,
        "PARITY@0 SERR@1 NO_ISA@2 VGA@3 VGA_16BIT@4 MASTER_ABORT@5 BUS_RESET@6 FAST_BACK@7 PRI_DISCARD_TIMER@8 \
         SEC_DISCARD_TIMER@9 DISCARD_TIMER_STATUS@10! DISCARD_TIMER_SERR_EN@11",
        "Bridge control",
    ),
];

const HEADER2: &[R] = &[
    r(0x10, 32, "CB_CARDBUS_BASE", RW, "", "CardBus socket/ExCA base address"),
    r(0x14, 8, "CB_CAPABILITIES", RO, "", "Capabilities pointer"),
    r(0x16, 16, "CB_SEC_STATUS", RW, SEC_STATUS, "Secondary status"),
    r(0x18, 8, "CB_BUS_NUMBER", RW, "", "PCI bus number"),
    r(0x19, 8, "CB_CARDBUS_NUMBER", RW, "", "CardBus bus number"),
    r(0x1a, 8, "CB_SUBORDINATE_BUS", RW, "", "Subordinate bus number"),
    r(0x1b, 8, "CB_CARDBUS_LATENCY", RW, "", "CardBus latency timer"),
    r(0x1c, 32, "CB_MEMORY_BASE_0", RW, "", "Memory base 0"),
    r(0x20, 32, "CB_MEMORY_LIMIT_0", RW, "", "Memory limit 0"),
    r(0x24, 32, "CB_MEMORY_BASE_1", RW, "", "Memory base 1"),
    r(0x28, 32, "CB_MEMORY_LIMIT_1", RW, "", "Memory limit 1"),
    r(0x2c, 32, "CB_IO_BASE_0", RW, "", "I/O base 0"),
    r(0x30, 32, "CB_IO_LIMIT_0", RW, "", "I/O limit 0"),
    r(0x34, 32, "CB_IO_BASE_1", RW, "", "I/O base 1"),
    r(0x38, 32, "CB_IO_LIMIT_1", RW, "", "I/O limit 1"),
    r(0x3c, 8, "INTERRUPT_LINE", RW, "", "Interrupt line"),
    r(0x3d, 8, "INTERRUPT_PIN", RO, "", "Interrupt pin (1: INTA)"),
    r(
        0x3e,
        16,
        "CB_BRIDGE_CONTROL",
        RW,
        "PARITY@0 SERR@1 ISA@2 VGA@3 MASTER_ABORT@5 CB_RESET@6 16BIT_INT@7 PREFETCH_MEM0@8 PREFETCH_MEM1@9 \
         POST_WRITES@10",
        "Bridge control",
    ),
    r(0x40, 16, "CB_SUBSYSTEM_VENDOR_ID", RO, "", "Subsystem vendor ID"),
    r(0x42, 16, "CB_SUBSYSTEM_ID", RO, "", "Subsystem ID"),
    r(0x44, 32, "CB_LEGACY_MODE_BASE", RW, "", "16-bit legacy mode base address"),
];

const BAR_MEMORY: &str = "SPACE@0~ TYPE@2:1~ PREFETCH@3~ ADDRESS@31:4";
const BAR_IO: &str = "SPACE@0~ ADDRESS@31:2";

/// The BARs of the header, with memory or I/O fields as each one reads.
fn bars(b: &mut Builder, count: usize) {
    const NAMES: [&str; 6] =
        ["BASE_ADDRESS_0", "BASE_ADDRESS_1", "BASE_ADDRESS_2", "BASE_ADDRESS_3", "BASE_ADDRESS_4", "BASE_ADDRESS_5"];
    let mut upper = false;
    for (i, name) in NAMES.iter().enumerate().take(count) {
        let at = 0x10 + 4 * i;
        let value = b.l(at);
        let spec = if upper {
            ""
        } else if value & 1 == 1 {
            BAR_IO
        } else {
            BAR_MEMORY
        };
        let description = if upper { "Upper 32 bits of the BAR before" } else { "Base address register" };
        upper = !upper && value & 7 == 4;
        b.add(0, "", &[r(at as u16, 32, name, RW, spec, description)]);
    }
}

/// The first registers of every standard capability.
const CAP_HEADER: &[R] = &[r(0x00, 8, "ID", RO, "", "Capability ID"), r(0x01, 8, "NEXT", RO, "", "Next capability")];

/// The header of every extended capability.
const ECAP_HEADER: &[R] = &[r(0x00, 32, "HDR", RO, "ID@15:0 VER@19:16 NEXT@31:20", "Extended capability header")];

const PM: &[R] = &[
    r(
        0x02,
        16,
        "PMC",
        RO,
        "VER@2:0 PMECLK@3 DSI@5 AUXC@8:6 D1@9 D2@10 PME_D0@11 PME_D1@12 PME_D2@13 PME_D3HOT@14 PME_D3COLD@15",
        "Power management capabilities",
    ),
    r(
        0x04,
        16,
        "PMCSR",
        RW,
        "PS@1:0 NSR@3~ PMEE@8 DSEL@12:9 DSCALE@14:13~ PMES@15!",
        "Power management control/status",
    ),
    r(0x06, 8, "BSE", RO, "B2B3@6 BPCCE@7", "PCI bridge support extensions"),
    r(0x07, 8, "DATA", RO, "", "Power consumed or dissipated (DSEL, DSCALE)"),
];

const AGP: &[R] = &[
    r(0x02, 8, "VERSION", RO, "MINOR@3:0 MAJOR@7:4", "AGP version"),
    r(
        0x04,
        32,
        "STATUS",
        RO,
        "RATE@2:0 AGP3@3 FW@4 64BIT@5 HTRANS@6 GART64@7 ITACOH@8 SBA@9 CAL@12:10 ARQSZ@15:13 ISOCH@16 RQ@31:24",
        "AGP status",
    ),
    r(
        0x08,
        32,
        "COMMAND",
        RW,
        "RATE@2:0 FW@4 64BIT@5 GART64@7 AGP@8 SBA@9 CAL@12:10 ARQSZ@15:13 RQ@31:24",
        "AGP command",
    ),
];

const VPD: &[R] = &[
    r(0x02, 16, "ADDR", RW, "ADDR@14:0 F@15", "VPD address (writing it makes the device fetch or store)"),
    r(0x04, 32, "DATA", RW, "", "VPD data"),
];

const SLOTID: &[R] = &[
    r(0x02, 8, "ESR", RO, "NSLOTS@4:0 FIC@5", "Expansion slot register"),
    r(0x03, 8, "CHASSIS", RW, "", "Chassis number"),
];

const VNDR: &[R] = &[r(0x02, 8, "LEN", RO, "", "Length of the capability")];
const SSVID: &[R] = &[r(0x04, 16, "SVID", RO, "", "Subsystem vendor ID"), r(0x06, 16, "SSID", RO, "", "Subsystem ID")];
const HT: &[R] = &[r(0x02, 16, "CMD", RW, "TYPE@15:11~", "HyperTransport command (its type in bits 15:11)")];

const HT_LCTL: &str =
    "CFLE@1 CST@2 CFE@3 LKFAIL@4~ INIT@5~ EOC@6~ TXO@7 CRCERR@11:8 ISOCEN@12 LSEN@13 EXTCTL@14 64B@15";
const HT_LCNF: &str = "MLWI@2:0~ DWFCIN@3~ MLWO@6:4~ DWFCOUT@7~ LWI@10:8 DWFCINEN@11 LWO@14:12 DWFCOUTEN@15";
const HT_LFRER: &str = "FREQ@3:0 PROT@4 OVFL@5 EOC@6 CTLTM@7";
const HT_LFCAP: &str =
    "200MHZ@0 300MHZ@1 400MHZ@2 500MHZ@3 600MHZ@4 800MHZ@5 1_0GHZ@6 1_2GHZ@7 1_4GHZ@8 1_6GHZ@9 VEND@15";
const HT_EH: &str = "PFLE@0 OFLE@1 PFE@2 OFE@3 EOCFE@4 RFE@5 CRCFE@6 SERRFE@7 CF@8 RE@9 PNFE@10 ONFE@11 EOCNFE@12 \
                     RNFE@13 CRCNFE@14 SERRNFE@15";

/// HyperTransport: the registers of each kind lspci decodes.
fn ht(b: &mut Builder, at: usize, prefix: &str) {
    let cmd = b.w(at + 2);
    b.add(at, prefix, HT);
    let regs: &[R] = match cmd & 0xe000 {
        // Slave or primary interface.
        0x0000 => &[
            r(0x04, 16, "LCTL0", RW, HT_LCTL, "Link control 0"),
            r(0x06, 16, "LCNF0", RW, HT_LCNF, "Link config 0"),
            r(0x08, 16, "LCTL1", RW, HT_LCTL, "Link control 1"),
            r(0x0a, 16, "LCNF1", RW, HT_LCNF, "Link config 1"),
            r(0x0c, 8, "RID", RO, "MINOR@4:0 MAJOR@7:5", "Revision ID"),
            r(0x0d, 8, "LFRER0", RW, HT_LFRER, "Link frequency and error 0"),
            r(0x0e, 16, "LFCAP0", RO, HT_LFCAP, "Link frequency capability 0"),
            r(0x10, 8, "FTR", RO, "ISOCFC@0 LDTSTOP@1 CRCTM@2 ECTLT@3 64BA@4 UIDRD@5", "Feature capability"),
            r(0x11, 8, "LFRER1", RW, HT_LFRER, "Link frequency and error 1"),
            r(0x12, 16, "LFCAP1", RO, HT_LFCAP, "Link frequency capability 1"),
            r(0x16, 16, "EH", RW, HT_EH, "Error handling"),
            r(0x18, 8, "MBU", RW, "", "Memory base upper"),
            r(0x19, 8, "MLU", RW, "", "Memory limit upper"),
            r(0x1a, 8, "BN", RO, "", "Bus number"),
        ],
        // Host or secondary interface.
        0x2000 => &[
            r(0x04, 16, "LCTL", RW, HT_LCTL, "Link control"),
            r(0x06, 16, "LCNF", RW, HT_LCNF, "Link config"),
            r(0x08, 8, "RID", RO, "MINOR@4:0 MAJOR@7:5", "Revision ID"),
            r(0x09, 8, "LFRER", RW, HT_LFRER, "Link frequency and error"),
            r(0x0a, 16, "LFCAP", RO, HT_LFCAP, "Link frequency capability"),
            r(
                0x0c,
                16,
                "FTR",
                RO,
                "ISOCFC@0 LDTSTOP@1 CRCTM@2 ECTLT@3 64BA@4 UIDRD@5 EXTRS@8 UCNFE@9",
                "Feature capability",
            ),
            r(0x12, 16, "EH", RW, HT_EH, "Error handling"),
            r(0x14, 8, "MBU", RW, "", "Memory base upper"),
            r(0x15, 8, "MLU", RW, "", "Memory limit upper"),
        ],
        // MSI mapping.
        0xa000 if cmd & 0xf800 == 0xa800 => &[
            r(0x04, 32, "ADDR_LO", RW, "BASE@31:20", "Mapping address base, low"),
            r(0x08, 32, "ADDR_HI", RW, "", "Mapping address base, high"),
        ],
        _ => &[],
    };
    b.add(at, prefix, regs);
}

/// Enhanced Allocation: its entries, each its size in DWORDs.
fn ea(b: &mut Builder, at: usize, prefix: &str) {
    b.add(at, prefix, EA);
    let entries = (b.w(at + 2) & 0x3f) as usize;
    let mut base = at + 4;
    if b.config.header_layout() == Some(1) {
        b.add(
            at,
            prefix,
            &[r(
                0x04,
                32,
                "BUSES",
                RO,
                "SECONDARY@7:0 SUBORDINATE@15:8",
                "Fixed secondary and subordinate bus numbers",
            )],
        );
        base += 4;
    }
    for i in 0..entries {
        if base + 4 > b.config.len() {
            break;
        }
        let dw0 = b.l(base);
        let size = (dw0 & 7) as usize;
        let mut regs = vec![R {
            name: Cow::Owned(format!("ENTRY{i}")),
            ..r(
                0,
                32,
                "",
                RW,
                "SIZE@2:0~ BEI@7:4~ PRIMARY@15:8~ SECONDARY@23:16~ WRITABLE@30~ ENABLE@31",
                "Entry header",
            )
        }];
        let names = ["BASE", "MAX_OFFSET", "DW3", "DW4"];
        for (k, name) in names.iter().enumerate().take(size) {
            regs.push(R {
                name: Cow::Owned(format!("ENTRY{i}_{name}")),
                ..r(4 * (k as u16 + 1), 32, "", RO, "", "Entry DWORD")
            });
        }
        b.add(base, prefix, &regs);
        base += 4 + 4 * size;
    }
}
const DBG: &[R] = &[r(0x02, 16, "PORT", RO, "OFFSET@12:0 BAR@15:13", "Debug port: BAR and offset")];
const SATA: &[R] = &[
    r(0x02, 8, "REV", RO, "MINOR@3:0 MAJOR@7:4", "SATA capability revision"),
    r(0x04, 32, "BAR", RO, "BARLOC@3:0 BAROFF@23:4", "Index-data pair location"),
];
const AF: &[R] = &[
    r(0x02, 8, "LEN", RO, "", "Length"),
    r(0x03, 8, "CAP", RO, "TP@0 FLR@1", "Advanced features capabilities"),
    r(0x04, 8, "CTRL", RW, "INITIATE_FLR@0", "Advanced features control"),
    r(0x05, 8, "STATUS", RW, "TP@0~", "Advanced features status"),
];
const EA: &[R] = &[r(0x02, 8, "NUM", RO, "NUM_ENTRIES@5:0", "Number of entries")];
const PCIX: &[R] = &[
    r(0x02, 16, "CMD", RW, "DPERE@0 ERO@1 MMRBC@3:2 MOST@6:4", "PCI-X command"),
    r(
        0x04,
        32,
        "STATUS",
        RW,
        "FN@2:0~ DN@7:3~ BN@15:8~ 64BIT@16~ 133MHZ@17~ SCD@18! USC@19! DC@20~ DMMRBC@22:21~ DMOST@25:23~ \
         DMCRS@28:26~ RSCEM@29! 266MHZ@30~ 533MHZ@31~",
        "PCI-X status",
    ),
];
const PCIX_BRIDGE: &[R] = &[
    r(0x02, 16, "SEC_STATUS", RW, "64BIT@0~ 133MHZ@1~ SCD@2! USC@3! SCO@4! SRD@5! FREQ@8:6~", "Secondary status"),
    r(
        0x04,
        32,
        "STATUS",
        RW,
        "FN@2:0~ DN@7:3~ BN@15:8~ 64BIT@16~ 133MHZ@17~ SCD@18! USC@19! SCO@20! SRD@21!",
        "Bridge status",
    ),
    r(0x08, 32, "US_SPLIT", RW, "CAPACITY@15:0~ LIMIT@31:16", "Upstream split transaction control"),
    r(0x0c, 32, "DS_SPLIT", RW, "CAPACITY@15:0~ LIMIT@31:16", "Downstream split transaction control"),
];

const MSI_CTRL: R = r(0x02, 16, "CTRL", RW, "EN@0 MMC@3:1~ MME@6:4 64BIT@7~ PVM@8~", "MSI control");

const MSIX: &[R] = &[
    r(0x02, 16, "CTRL", RW, "TBLSIZE@10:0~ MASKALL@14 EN@15", "MSI-X control"),
    r(0x04, 32, "TABLE", RO, "BIR@2:0 OFFSET@31:3", "Vector table: BAR and offset"),
    r(0x08, 32, "PBA", RO, "BIR@2:0 OFFSET@31:3", "Pending bit array: BAR and offset"),
];

/// MSI: its registers depend on 64-bit addressing and per-vector masking.
fn msi(b: &mut Builder, at: usize, prefix: &str) {
    let ctrl = b.w(at + 2);
    let (is64, masking) = (ctrl & 0x80 != 0, ctrl & 0x100 != 0);
    b.add(at, prefix, &[MSI_CTRL, r(0x04, 32, "ADDR", RW, "", "Message address")]);
    let mut next = 0x08;
    if is64 {
        b.add(at, prefix, &[r(0x08, 32, "ADDR_HI", RW, "", "Message upper address")]);
        next = 0x0c;
    }
    b.add(at, prefix, &[r(next, 16, "DATA", RW, "", "Message data")]);
    if masking {
        let m = next + 4;
        b.add(
            at,
            prefix,
            &[r(m, 32, "MASK", RW, "", "Mask bits, one per vector"), r(m + 4, 32, "PENDING", RO, "", "Pending bits")],
        );
    }
}

const EXP_DEV: &[R] = &[
    r(0x02, 16, "CAP", RO, "VER@3:0 TYPE@7:4 SLOT@8 IMN@13:9 FLIT@15", "PCI Express capabilities"),
    r(
        0x04,
        32,
        "DEVCAP",
        RO,
        "MPS@2:0 PHANTOM@4:3 EXTTAG@5 L0S@8:6 L1@11:9 ATTNBTN@12 ATTNIND@13 PWRIND@14 RBE@15 SPLV@25:18 SPLS@27:26 \
         FLR@28",
        "Device capabilities",
    ),
    r(
        0x08,
        16,
        "DEVCTL",
        RW,
        "CERE@0 NFERE@1 FERE@2 URRE@3 RELAX_EN@4 MPS@7:5 EXT_TAG@8 PHANTOM@9 AUX_PME@10 NOSNOOP_EN@11 MRRS@14:12 \
         BCR_FLR@15",
        "Device control",
    ),
    r(0x0a, 16, "DEVSTA", RW1C, "CED@0 NFED@1 FED@2 URD@3 AUXPD@4~ TRPND@5~ EPRD@6", "Device status"),
];

const EXP_LINK: &[R] = &[
    r(
        0x0c,
        32,
        "LNKCAP",
        RO,
        "SLS@3:0 MLW@9:4 ASPMS@11:10 L0SEL@14:12 L1EL@17:15 CLKPM@18 SDERC@19 DLLLARC@20 LBNC@21 ASPMOC@22 PN@31:24",
        "Link capabilities",
    ),
    r(
        0x10,
        16,
        "LNKCTL",
        RW,
        "ASPMC@1:0 RCB@3 LD@4 RL@5 CCC@6 ES@7 CLKREQ_EN@8 HAWD@9 LBMIE@10 LABIE@11 DRS@15:14",
        "Link control",
    ),
    r(0x12, 16, "LNKSTA", RW, "CLS@3:0~ NLW@9:4~ LT@11~ SLC@12~ DLLLA@13~ LBMS@14! LABS@15!", "Link status"),
];

const EXP_SLOT: &[R] = &[
    r(
        0x14,
        32,
        "SLTCAP",
        RO,
        "ABP@0 PCP@1 MRLSP@2 AIP@3 PIP@4 HPS@5 HPC@6 SPLV@14:7 SPLS@16:15 EIP@17 NCCS@18 PSN@31:19",
        "Slot capabilities",
    ),
    r(
        0x18,
        16,
        "SLTCTL",
        RW,
        "ABPE@0 PFDE@1 MRLSCE@2 PDCE@3 CCIE@4 HPIE@5 AIC@7:6 PIC@9:8 PCC@10 EIC@11 DLLSCE@12 ASPLD@13 IBPD_DISABLE@14",
        "Slot control",
    ),
    r(0x1a, 16, "SLTSTA", RW, "ABP@0! PFD@1! MRLSC@2! PDC@3! CC@4! MRLSS@5~ PDS@6~ EIS@7~ DLLSC@8!", "Slot status"),
];

const EXP_ROOT: &[R] = &[
    r(0x1c, 16, "RTCTL", RW, "SECEE@0 SENFEE@1 SEFEE@2 PMEIE@3 CRSSVE@4", "Root control"),
    r(0x1e, 16, "RTCAP", RO, "CRSVIS@0", "Root capabilities"),
    r(0x20, 32, "RTSTA", RW, "PME_RID@15:0~ PME@16! PME_PENDING@17~", "Root status"),
];

const EXP_DEV2: &[R] = &[
    r(
        0x24,
        32,
        "DEVCAP2",
        RO,
        "COMP_TMOUT@3:0 COMP_TMOUT_DIS@4 ARI@5 ATOMIC_ROUTE@6 ATOMIC_COMP32@7 ATOMIC_COMP64@8 ATOMIC_COMP128@9 \
         NROPRPRP@10 LTR@11 TPH_COMP@13:12 LN_CLS@15:14 10BIT_TAG_COMP@16 10BIT_TAG_REQ@17 OBFF@19:18 EXT_FMT@20 \
         EE_PREFIX@21 MAX_EE_PREFIX@23:22 EMERG_PWR@25:24 EMERG_PWR_INIT@26 FRS@31",
        "Device capabilities 2",
    ),
    r(
        0x28,
        16,
        "DEVCTL2",
        RW,
        "COMP_TIMEOUT@3:0 COMP_TMOUT_DIS@4 ARI@5 ATOMIC_REQ@6 ATOMIC_EGRESS_BLOCK@7 IDO_REQ_EN@8 IDO_CMP_EN@9 LTR_EN@10 \
         EMERG_PWR_REQ@11 10BIT_TAG_REQ@12 OBFF@14:13 EE_PREFIX_BLOCK@15",
        "Device control 2",
    ),
    r(0x2a, 16, "DEVSTA2", RO, "", "Device status 2"),
];

const EXP_LINK2: &[R] = &[
    r(
        0x2c,
        32,
        "LNKCAP2",
        RO,
        "SLS_2_5GB@1 SLS_5_0GB@2 SLS_8_0GB@3 SLS_16_0GB@4 SLS_32_0GB@5 SLS_64_0GB@6 XLINK@8 LSOSGSS@15:9 \
         LSOSRSS@22:16 RPDS@23 TRPDS@24 DRS@31",
        "Link capabilities 2",
    ),
    r(
        0x30,
        16,
        "LNKCTL2",
        RW,
        "TLS@3:0 ENTER_COMP@4 HASD@5 SDE@6 TX_MARGIN@9:7 EMC@10 CSOS@11 CDE@15:12",
        "Link control 2",
    ),
    r(
        0x32,
        16,
        "LNKSTA2",
        RW,
        "CDL@0~ EQC@1~ EQP1@2~ EQP2@3~ EQP3@4~ LER@5! RPD@6~ TRPD@7~ CRR@9:8~ DCP@14:12~ DRSMR@15!",
        "Link status 2",
    ),
];

const EXP_SLOT2: &[R] = &[
    r(0x34, 32, "SLTCAP2", RO, "IBPD@0", "Slot capabilities 2"),
    r(0x38, 16, "SLTCTL2", RW, "", "Slot control 2"),
    r(0x3a, 16, "SLTSTA2", RO, "", "Slot status 2"),
];

/// PCI Express: which registers exist depends on the port type, a slot and
/// the capability's version. Returns the port type.
fn express(b: &mut Builder, at: usize, prefix: &str) -> u32 {
    let cap = b.w(at + 2);
    let kind = (cap >> 4) & 0xf;
    let slot = cap & 0x100 != 0 && matches!(kind, 4 | 6 | 8);
    let link = !matches!(kind, 9 | 10);
    let root = matches!(kind, 4 | 10);
    b.add(at, prefix, EXP_DEV);
    if link {
        b.add(at, prefix, EXP_LINK);
    }
    if slot {
        b.add(at, prefix, EXP_SLOT);
    }
    if root {
        b.add(at, prefix, EXP_ROOT);
    }
    if cap & 0xf >= 2 {
        b.add(at, prefix, EXP_DEV2);
        if link {
            b.add(at, prefix, EXP_LINK2);
        }
        if slot {
            b.add(at, prefix, EXP_SLOT2);
        }
    }
    kind
}

const AER_UE: &str = "DLP@4 SDES@5 TLP@12 FCP@13 CMPLT_TO@14 CMPLT_ABRT@15 UNX_CMPLT@16 RX_OF@17 MALF_TLP@18 ECRC@19 \
                      UNSUP_REQ@20 ACS_VIOL@21 UNCORR_INT@22 MC_BLOCKED@23 ATOMIC_EGRESS_BLOCKED@24 \
                      TLP_PREFIX_BLOCKED@25 POISON_BLOCKED@26";
const AER_CE: &str = "RX_ERR@0 BAD_TLP@6 BAD_DLLP@7 REPLAY_ROLLOVER@8 REPLAY_TIMEOUT@12 ADV_NONFATAL@13 CORR_INT@14 \
                      HLO@15";

const AER: &[R] = &[
    r(0x04, 32, "UESTA", RW1C, AER_UE, "Uncorrectable error status"),
    r(0x08, 32, "UEMSK", RW, AER_UE, "Uncorrectable error mask"),
    r(0x0c, 32, "UESVRT", RW, AER_UE, "Uncorrectable error severity (1: fatal)"),
    r(0x10, 32, "CESTA", RW1C, AER_CE, "Correctable error status"),
    r(0x14, 32, "CEMSK", RW, AER_CE, "Correctable error mask"),
    r(
        0x18,
        32,
        "CAPCTL",
        RW,
        "FEP@4:0~ ECRC_GEN_CAP@5~ ECRC_GEN_EN@6 ECRC_CHK_CAP@7~ ECRC_CHK_EN@8 MHR_CAP@9~ MHR_EN@10 TLP_PFX_LOG@11~ \
         CTHL_CAP@12~",
        "Advanced error capabilities and control",
    ),
    r(0x1c, 32, "HEADER_LOG0", RO, "", "Header log, first DWORD"),
    r(0x20, 32, "HEADER_LOG1", RO, "", "Header log, second DWORD"),
    r(0x24, 32, "HEADER_LOG2", RO, "", "Header log, third DWORD"),
    r(0x28, 32, "HEADER_LOG3", RO, "", "Header log, fourth DWORD"),
];

const AER_ROOT: &[R] = &[
    r(0x2c, 32, "ROOTCMD", RW, "CE_EN@0 NFE_EN@1 FE_EN@2", "Root error command"),
    r(
        0x30,
        32,
        "ROOTSTA",
        RW1C,
        "COR_RCV@0 MULTI_COR_RCV@1 UNCOR_RCV@2 MULTI_UNCOR_RCV@3 FIRST_FATAL@4 NONFATAL_RCV@5 FATAL_RCV@6 \
         AEMN@31:27~",
        "Root error status",
    ),
    r(0x34, 32, "ERRSRC", RO, "ERR_COR@15:0 ERR_FATAL_NONFATAL@31:16", "Error source identification"),
];

const VC: &[R] = &[
    r(0x04, 32, "CAP1", RO, "EVCC@2:0 LPEVCC@6:4 REFCLK@9:8 PATES@11:10", "Port VC capability 1"),
    r(0x08, 32, "CAP2", RO, "ARB_CAP@7:0 ARB_TABLE@31:24", "Port VC capability 2"),
    r(0x0c, 16, "CTRL", RW, "LOAD_TABLE@0 ARB_SELECT@3:1", "Port VC control"),
    r(0x0e, 16, "STATUS", RO, "TABLE_STATUS@0", "Port VC status"),
];

/// Virtual Channel (and MFVC): the port registers and one set per VC resource.
fn vc(b: &mut Builder, at: usize, prefix: &str) {
    b.add(at, prefix, VC);
    let count = (b.l(at + 4) & 7) as usize + 1;
    for i in 0..count {
        let base = at + 12 * i;
        let regs = [
            R {
                name: Cow::Owned(format!("RES{i}_CAP")),
                ..r(
                    0x10,
                    32,
                    "",
                    RO,
                    "PORT_ARB_CAP@7:0 APS@14 REJ_SNOOP@15 MAX_TIME_SLOTS@22:16 PORT_ARB_TABLE@31:24",
                    "VC resource capability",
                )
            },
            R {
                name: Cow::Owned(format!("RES{i}_CTRL")),
                ..r(
                    0x14,
                    32,
                    "",
                    RW,
                    "TC_VC_MAP@7:0 LOAD_TABLE@16 ARB_SELECT@19:17 VC_ID@26:24 EN@31",
                    "VC resource control",
                )
            },
            R {
                name: Cow::Owned(format!("RES{i}_STATUS")),
                ..r(0x1a, 16, "", RO, "TABLE_STATUS@0 NEG_PENDING@1", "VC resource status")
            },
        ];
        b.add(base, prefix, &regs);
    }
}

const DSN: &[R] = &[
    r(0x04, 32, "SN_LO", RO, "", "Serial number, low DWORD"),
    r(0x08, 32, "SN_HI", RO, "", "Serial number, high DWORD"),
];
const PB: &[R] = &[
    r(0x04, 8, "DATA_SELECT", RW, "", "Data select"),
    r(
        0x08,
        32,
        "DATA",
        RO,
        "BASE@7:0 SCALE@9:8 PM_SUB@12:10 PM_STATE@14:13 TYPE@17:15 RAIL@20:18",
        "Power budgeting data",
    ),
    r(0x0c, 8, "CAP", RO, "SYSTEM_ALLOC@0", "Power budget capability"),
];
const RCLINK: &[R] = &[r(0x04, 32, "ESD", RO, "TYPE@3:0 NLE@15:8 CID@23:16 PORT@31:24", "Element self description")];

/// Root Complex Link declaration: the element, then each link entry.
fn rclink(b: &mut Builder, at: usize, prefix: &str) {
    b.add(at, prefix, RCLINK);
    let entries = ((b.l(at + 4) >> 8) & 0xff) as usize;
    for i in 0..entries {
        let regs = [
            R {
                name: Cow::Owned(format!("LINK{i}_DESC")),
                ..r(
                    0x10,
                    32,
                    "",
                    RO,
                    "VALID@0 TYPE@1 ASSOC_RCRB@2 TARGET_CID@23:16 TARGET_PORT@31:24",
                    "Link description",
                )
            },
            R { name: Cow::Owned(format!("LINK{i}_ADDR_LO")), ..r(0x18, 32, "", RO, "", "Link address, low DWORD") },
            R { name: Cow::Owned(format!("LINK{i}_ADDR_HI")), ..r(0x1c, 32, "", RO, "", "Link address, high DWORD") },
        ];
        b.add(at + 16 * i, prefix, &regs);
    }
}
const RCILINK: &[R] = &[
    r(0x04, 32, "CAP", RO, "", "Root complex internal link capabilities"),
    r(0x08, 16, "CTRL", RW, "", "Root complex internal link control"),
    r(0x0a, 16, "STATUS", RO, "", "Root complex internal link status"),
];
const RCEC: &[R] = &[r(0x04, 32, "BITMAP", RO, "", "Associated RCiEP bitmap")];
const RCEC_BUS: &[R] = &[r(0x08, 32, "BUSNUM", RO, "NEXT@15:8 LAST@23:16", "Associated bus numbers")];
const RBCB: &[R] = &[
    r(0x04, 32, "VENDOR", RO, "VID@15:0 DID@31:16", "Vendor and device"),
    r(0x08, 32, "CAP", RO, "", "RCRB capabilities"),
    r(0x0c, 32, "CTRL", RW, "", "RCRB control"),
];
const EVNDR: &[R] = &[r(0x04, 32, "VSEC_HDR", RO, "ID@15:0 REV@19:16 LEN@31:20", "Vendor-specific header")];
const ACS: &[R] = &[
    r(0x04, 16, "CAP", RO, "SV@0 TB@1 RR@2 CR@3 UF@4 EC@5 DT@6 ECVS@15:8", "ACS capability"),
    r(0x06, 16, "CTRL", RW, "SV@0 TB@1 RR@2 CR@3 UF@4 EC@5 DT@6", "ACS control"),
];
const ARI: &[R] = &[
    r(0x04, 16, "CAP", RO, "MFVC@0 ACS@1 NEXT_FN@15:8", "ARI capability"),
    r(0x06, 16, "CTRL", RW, "MFVC@0 ACS@1 FG@6:4", "ARI control"),
];
const ATS: &[R] = &[
    r(0x04, 16, "CAP", RO, "QDEP@4:0 PAGE_ALIGNED@5 GLOBAL_INVALIDATE@6 RELAXED_ORDERING@7", "ATS capability"),
    r(0x06, 16, "CTRL", RW, "STU@4:0 RELAXED_ORDERING@14 EN@15", "ATS control"),
];
const SRIOV: &[R] = &[
    r(0x04, 32, "CAP", RO, "VFM@0 ARI_HIER_PRES@1 VF_10BIT_TAG@2 IMN@31:21", "SR-IOV capabilities"),
    r(0x08, 16, "CTRL", RW, "VFE@0 VFM@1 VFM_INT@2 MSE@3 ARI@4 VF_10BIT_TAG@5", "SR-IOV control"),
    r(0x0a, 16, "STATUS", RW1C, "VFM@0", "SR-IOV status"),
    r(0x0c, 16, "INITIAL_VF", RO, "", "Initial VFs"),
    r(0x0e, 16, "TOTAL_VF", RO, "", "Total VFs"),
    r(0x10, 16, "NUM_VF", RW, "", "Number of VFs"),
    r(0x12, 8, "FUNC_LINK", RO, "", "Function dependency link"),
    r(0x14, 16, "VF_OFFSET", RO, "", "First VF offset"),
    r(0x16, 16, "VF_STRIDE", RO, "", "VF stride"),
    r(0x1a, 16, "VF_DID", RO, "", "VF device ID"),
    r(0x1c, 32, "SUP_PGSIZE", RO, "", "Supported page sizes"),
    r(0x20, 32, "SYS_PGSIZE", RW, "", "System page size"),
    r(0x24, 32, "BAR0", RW, "", "VF BAR0"),
    r(0x28, 32, "BAR1", RW, "", "VF BAR1"),
    r(0x2c, 32, "BAR2", RW, "", "VF BAR2"),
    r(0x30, 32, "BAR3", RW, "", "VF BAR3"),
    r(0x34, 32, "BAR4", RW, "", "VF BAR4"),
    r(0x38, 32, "BAR5", RW, "", "VF BAR5"),
    r(0x3c, 32, "VFM", RO, "BIR@2:0 OFFSET@31:3", "VF migration state array"),
];
const MRIOV: &[R] = &[];
const MCAST: &[R] = &[
    r(0x04, 16, "CAP", RO, "MAX_GROUP@5:0 WIN_SIZE@13:8 ECRC@15", "Multicast capability"),
    r(0x06, 16, "CTRL", RW, "NUM_GROUP@5:0 EN@15", "Multicast control"),
    r(0x08, 32, "BASE_LO", RW, "INDEX_POS@5:0 ADDR@31:12", "Multicast base address, low"),
    r(0x0c, 32, "BASE_HI", RW, "", "Multicast base address, high"),
    r(0x10, 32, "RECEIVE_LO", RW, "", "Multicast receive, low"),
    r(0x14, 32, "RECEIVE_HI", RW, "", "Multicast receive, high"),
    r(0x18, 32, "BLOCK_ALL_LO", RW, "", "Multicast block all, low"),
    r(0x1c, 32, "BLOCK_ALL_HI", RW, "", "Multicast block all, high"),
    r(0x20, 32, "BLOCK_UNTRANS_LO", RW, "", "Multicast block untranslated, low"),
    r(0x24, 32, "BLOCK_UNTRANS_HI", RW, "", "Multicast block untranslated, high"),
];
const MCAST_OVERLAY: &[R] = &[
    r(0x28, 32, "OVERLAY_LO", RW, "SIZE@5:0 ADDR@31:6", "Multicast overlay BAR, low"),
    r(0x2c, 32, "OVERLAY_HI", RW, "", "Multicast overlay BAR, high"),
];
const PRI: &[R] = &[
    r(0x04, 16, "CTRL", RW, "EN@0 RESET@1", "Page request control"),
    r(0x06, 16, "STATUS", RW, "RF@0! UPRGI@1! STOPPED@8~ PASID@15~", "Page request status"),
    r(0x08, 32, "MAX_REQ", RO, "", "Outstanding page request capacity"),
    r(0x0c, 32, "ALLOC_REQ", RW, "", "Outstanding page request allocation"),
];
const DPA: &[R] = &[
    r(
        0x04,
        32,
        "CAP",
        RO,
        "SUBSTATE_MAX@4:0 TRANS_LAT_UNIT@9:8 PWR_ALLOC_SCALE@13:12 TLV0@23:16 TLV1@31:24",
        "DPA capability",
    ),
    r(0x08, 32, "LATENCY", RO, "", "Latency indicator"),
    r(0x0c, 16, "STATUS", RW, "SUBSTATE@4:0~ CONTROL_ENABLED@8!", "DPA status"),
    r(0x0e, 16, "CTRL", RW, "SUBSTATE@4:0", "DPA control"),
];
const TPH: &[R] = &[
    r(
        0x04,
        32,
        "CAP",
        RO,
        "NO_ST@0 INT_VEC@1 DEV_SPEC@2 EXT_TPH@8 ST_LOC@10:9 ST_SIZE@26:16",
        "TPH requester capability",
    ),
    r(0x08, 32, "CTRL", RW, "ST_MODE@2:0 REQ_EN@9:8", "TPH requester control"),
];
const LTR: &[R] = &[
    r(0x04, 16, "MAX_SNOOP", RW, "VALUE@9:0 SCALE@12:10", "Max snoop latency"),
    r(0x06, 16, "MAX_NOSNOOP", RW, "VALUE@9:0 SCALE@12:10", "Max no-snoop latency"),
];
const SECPCI: &[R] = &[
    r(0x04, 32, "LNKCTL3", RW, "PERFORM_EQ@0 LINK_EQ_INT_EN@1 LOWER_SKP_OS_GEN@15:9", "Link control 3"),
    r(0x08, 32, "LANE_ERR_STA", RW1C, "", "Lane error status, one bit per lane"),
];
const PASID: &[R] = &[
    r(0x04, 16, "CAP", RO, "EXEC@1 PRIV@2 WIDTH@12:8", "PASID capability"),
    r(0x06, 16, "CTRL", RW, "EN@0 EXEC@1 PRIV@2", "PASID control"),
];
const LNR: &[R] = &[
    r(0x04, 16, "CAP", RO, "LNR64@0 LNR128@1 REGISTRATION_MAX@12:8", "LN requester capability"),
    r(0x06, 16, "CTRL", RW, "LNR_EN@0 CLS@1 REGISTRATION_LIMIT@12:8", "LN requester control"),
];
const DPC: &[R] = &[
    r(
        0x04,
        16,
        "CAP",
        RO,
        "IMN@4:0 RP_EXT@5 POISONED_TLP@6 SW_TRIGGER@7 RP_PIO_LOG@11:8 DL_ACTIVE@12",
        "DPC capability",
    ),
    r(
        0x06,
        16,
        "CTRL",
        RW,
        "TRIGGER_EN@1:0 COMPL@2 INT_EN@3 ERR_COR_EN@4 POISONED_TLP@5 SW_TRIGGER@6 DL_ACTIVE@7 SIG_SFW@8",
        "DPC control",
    ),
    r(
        0x08,
        16,
        "STATUS",
        RW,
        "TRIGGER@0! REASON@2:1~ INT@3! RP_BUSY@4~ TRIGGER_EXT@6:5~ RP_PIO_FEP@12:8~ SIG_SFW@13!",
        "DPC status",
    ),
    r(0x0a, 16, "SOURCE_ID", RO, "", "DPC error source ID"),
];
const DPC_RP: &[R] = &[
    r(0x0c, 32, "RP_PIO_STATUS", RW1C, "", "RP PIO status"),
    r(0x10, 32, "RP_PIO_MASK", RW, "", "RP PIO mask"),
    r(0x14, 32, "RP_PIO_SEVERITY", RW, "", "RP PIO severity"),
    r(0x18, 32, "RP_PIO_SYSERR", RW, "", "RP PIO SysError"),
    r(0x1c, 32, "RP_PIO_EXCEPTION", RW, "", "RP PIO exception"),
    r(0x20, 32, "RP_PIO_HEADER_LOG0", RO, "", "RP PIO header log, first DWORD"),
    r(0x24, 32, "RP_PIO_HEADER_LOG1", RO, "", "RP PIO header log, second DWORD"),
    r(0x28, 32, "RP_PIO_HEADER_LOG2", RO, "", "RP PIO header log, third DWORD"),
    r(0x2c, 32, "RP_PIO_HEADER_LOG3", RO, "", "RP PIO header log, fourth DWORD"),
];
const L1PM: &[R] = &[
    r(
        0x04,
        32,
        "CAP",
        RO,
        "PCIPM_L12@0 PCIPM_L11@1 ASPM_L12@2 ASPM_L11@3 L1SS@4 CM_RESTORE@15:8 PWR_ON_SCALE@17:16 PWR_ON_VALUE@23:19",
        "L1 PM substates capabilities",
    ),
    r(
        0x08,
        32,
        "CTL1",
        RW,
        "PCIPM_L12@0 PCIPM_L11@1 ASPM_L12@2 ASPM_L11@3 CM_RESTORE@15:8 LTR_L12_VALUE@25:16 LTR_L12_SCALE@31:29",
        "L1 PM substates control 1",
    ),
    r(0x0c, 32, "CTL2", RW, "PWR_ON_SCALE@1:0 PWR_ON_VALUE@7:3", "L1 PM substates control 2"),
];
const PTM: &[R] = &[
    r(0x04, 32, "CAP", RO, "REQ@0 RES@1 ROOT@2 EPD@3 GRANULARITY@15:8", "PTM capability"),
    r(0x08, 32, "CTRL", RW, "EN@0 ROOT@1 GRANULARITY@15:8", "PTM control"),
];
const FRS: &[R] = &[
    r(0x04, 32, "CAP", RO, "MAX_DEPTH@4:0 IMN@20:16", "FRS queueing capability"),
    r(0x08, 16, "STATUS", RW1C, "OVERFLOW@0", "FRS queueing status"),
    r(0x0a, 16, "CTRL", RW, "DEPTH@4:0", "FRS queueing control"),
    r(0x0c, 32, "MSG", RO, "", "FRS message queue"),
];
const RTR: &[R] = &[
    r(0x04, 32, "CAP1", RO, "RESET_TIME@11:0 DLUP_TIME@23:12 VALID@31", "Readiness time reporting 1"),
    r(0x08, 32, "CAP2", RO, "FLR_TIME@11:0 D3HOT_TIME@23:12", "Readiness time reporting 2"),
];
const DVSEC: &[R] = &[
    r(0x04, 32, "HDR1", RO, "VID@15:0 REV@19:16 LEN@31:20", "Designated vendor-specific header 1"),
    r(0x08, 16, "HDR2", RO, "", "Designated vendor-specific header 2 (its ID)"),
];

/// CXL's DVSECs (vendor 1e98) lspci decodes: the device's, a port's
/// extensions, GPF, Flex Bus, the register locator.
fn dvsec(b: &mut Builder, at: usize, prefix: &str) {
    b.add(at, prefix, DVSEC);
    if b.w(at + 4) != 0x1e98 {
        return;
    }
    let len = ((b.l(at + 4) >> 20) & 0xfff) as usize;
    let regs: &[R] = match b.w(at + 8) {
        0 => &[
            r(0x0a, 16, "CXL_CAP", RO, "CACHE@0 IO@1 MEM@2 MEM_HWINIT@3 HDM_COUNT@5:4 CACHE_WB_INV@6 RESET@7 RESET_TIMEOUT@10:8 RESET_MEM_CLR@11 MLD@14 VIRAL@15", "CXL capability"),
            r(0x0c, 16, "CXL_CTRL", RW, "CACHE_EN@0 IO_EN@1 MEM_EN@2 CACHE_SF_COVERAGE@7:3 CACHE_SF_GRAN@10:8 CACHE_CLEAN@11 VIRAL@14", "CXL control"),
            r(0x0e, 16, "CXL_STATUS", RW, "VIRAL@14!", "CXL status"),
            r(0x10, 16, "CXL_CTRL2", RW, "DISABLE_CACHING@0 INIT_CACHE_WB_INV@1 INIT_RESET@2 RESET_MEM_CLR_EN@3", "CXL control 2"),
            r(0x12, 16, "CXL_STATUS2", RO, "CACHE_INV@0 RESET_COMPLETE@1 RESET_ERR@2 POWER_MGMT_INIT_COMPLETE@15", "CXL status 2"),
            r(0x14, 16, "CXL_LOCK", RW, "CONFIG_LOCK@0", "CXL lock"),
            r(0x16, 16, "CXL_CAP2", RO, "CACHE_SIZE_UNIT@3:0 CACHE_SIZE@15:8", "CXL capability 2"),
            r(0x18, 32, "RANGE1_SIZE_HI", RO, "", "Range 1 size, high"),
            r(0x1c, 32, "RANGE1_SIZE_LO", RO, "VALID@0 ACTIVE@1 TYPE@4:2 CLASS@7:5 INTERLEAVE@12:8 TIMEOUT@15:13 SIZE@31:28", "Range 1 size, low"),
            r(0x20, 32, "RANGE1_BASE_HI", RW, "", "Range 1 base, high"),
            r(0x24, 32, "RANGE1_BASE_LO", RW, "BASE@31:28", "Range 1 base, low"),
            r(0x28, 32, "RANGE2_SIZE_HI", RO, "", "Range 2 size, high"),
            r(0x2c, 32, "RANGE2_SIZE_LO", RO, "VALID@0 ACTIVE@1 TYPE@4:2 CLASS@7:5 INTERLEAVE@12:8 TIMEOUT@15:13 SIZE@31:28", "Range 2 size, low"),
            r(0x30, 32, "RANGE2_BASE_HI", RW, "", "Range 2 base, high"),
            r(0x34, 32, "RANGE2_BASE_LO", RW, "BASE@31:28", "Range 2 base, low"),
        ],
        3 => &[
            r(0x0a, 16, "PORT_STATUS", RO, "PORT_POWER_MGMT_INIT_COMPLETE@0 VIRAL@14", "Port extension status"),
            r(0x0c, 16, "PORT_CTRL", RW, "UNMASK_SBR@0 UNMASK_LINK_DISABLE@1 ALT_MEM_IO_EN@2 ALT_BME@3 VIRAL_EN@14", "Port control extensions"),
            r(0x0e, 8, "ALT_BUS_BASE", RW, "", "Alternate bus base"),
            r(0x0f, 8, "ALT_BUS_LIMIT", RW, "", "Alternate bus limit"),
            r(0x10, 16, "ALT_MEM_BASE", RW, "", "Alternate memory base"),
            r(0x12, 16, "ALT_MEM_LIMIT", RW, "", "Alternate memory limit"),
        ],
        4 => &[
            r(0x0c, 16, "PHASE1_CTRL", RW, "TIMEOUT_BASE@3:0 TIMEOUT_SCALE@11:8", "GPF phase 1 control"),
            r(0x0e, 16, "PHASE2_CTRL", RW, "TIMEOUT_BASE@3:0 TIMEOUT_SCALE@11:8", "GPF phase 2 control"),
        ],
        5 => &[
            r(0x0a, 16, "PHASE2_DURATION", RO, "TIME_BASE@3:0 TIME_SCALE@11:8", "GPF phase 2 duration"),
            r(0x0c, 32, "PHASE2_POWER", RO, "", "GPF phase 2 power"),
        ],
        7 => &[
            r(0x0a, 16, "FLEXBUS_CAP", RO, "CACHE@0 IO@1 MEM@2 68B_FLIT@5 MULTI_LOGICAL@6 256B_FLIT@13 PBR_FLIT@14", "Flex Bus port capability"),
            r(0x0c, 16, "FLEXBUS_CTRL", RW, "CACHE@0 IO@1 MEM@2 SYNC_HDR_BYPASS@3 DRIFT_BUFFER@4 68B_FLIT@5 MULTI_LOGICAL@6 RCD@7 RETIMER1@8 RETIMER2@9", "Flex Bus port control"),
            r(0x0e, 16, "FLEXBUS_STATUS", RW, "CACHE@0~ IO@1~ MEM@2~ SYNC_HDR_BYPASS@3~ DRIFT_BUFFER@4~ 68B_FLIT@5~ MULTI_LOGICAL@6~ NEGOTIATION_ERR@10! ", "Flex Bus port status"),
            r(0x10, 32, "FLEXBUS_MOD_TS", RO, "", "Flex Bus received modified TS data phase 1"),
        ],
        8 => &[],
        _ => &[],
    };
    b.add(at, prefix, regs);
    if b.w(at + 8) == 8 {
        // The register locator: a block per 8 bytes after its header.
        let blocks = len.saturating_sub(0x0c) / 8;
        for i in 0..blocks.min(16) {
            let regs = [
                R {
                    name: Cow::Owned(format!("BLOCK{i}_LO")),
                    ..r(0x0c, 32, "", RO, "BIR@2:0 BLOCK_ID@15:8 OFFSET_LO@31:16", "Register block, low")
                },
                R {
                    name: Cow::Owned(format!("BLOCK{i}_HI")),
                    ..r(0x10, 32, "", RO, "", "Register block, offset high")
                },
            ];
            b.add(at + 8 * i, prefix, &regs);
        }
    }
}
const DLNK: &[R] = &[
    r(0x04, 32, "CAP", RO, "LOCAL@22:0 EXCHANGE@31", "Data link feature capabilities"),
    r(0x08, 32, "STATUS", RO, "REMOTE@22:0 VALID@31", "Data link feature status"),
];
const PL16GT: &[R] = &[
    r(0x04, 32, "CAP", RO, "", "16.0 GT/s capabilities"),
    r(0x08, 32, "CTRL", RW, "", "16.0 GT/s control"),
    r(0x0c, 32, "STATUS", RW, "EQC@0~ EQP1@1~ EQP2@2~ EQP3@3~ LER@4!", "16.0 GT/s status"),
    r(0x10, 32, "LDPM_STATUS", RO, "", "Local data parity mismatch status"),
    r(0x14, 32, "FRDPM_STATUS", RO, "", "First retimer data parity mismatch status"),
    r(0x18, 32, "SRDPM_STATUS", RO, "", "Second retimer data parity mismatch status"),
];
const PL32GT: &[R] = &[
    r(0x04, 32, "CAP", RO, "EQ_BYPASS@0 NO_EQ@1 MODIFIED_TS@9:8", "32.0 GT/s capabilities"),
    r(0x08, 32, "CTRL", RW, "EQ_BYPASS_DIS@0 NO_EQ_DIS@1 MODIFIED_TS@10:8", "32.0 GT/s control"),
    r(
        0x0c,
        32,
        "STATUS",
        RW,
        "EQC@0~ EQP1@1~ EQP2@2~ EQP3@3~ LER@4! MODIFIED_TS_RCVD@5~ RCVD_EMI@7:6~ TX_PRECODING_ON@8~ \
         TX_PRECODE_REQ@9~ NO_EQ_RCVD@10~",
        "32.0 GT/s status",
    ),
    r(0x10, 32, "RCVD_MOD_TS1", RO, "", "Received modified TS data 1"),
    r(0x14, 32, "RCVD_MOD_TS2", RO, "", "Received modified TS data 2"),
    r(0x18, 32, "TRANS_MOD_TS1", RO, "", "Transmitted modified TS data 1"),
    r(0x1c, 32, "TRANS_MOD_TS2", RO, "", "Transmitted modified TS data 2"),
];
const LMR: &[R] = &[
    r(0x04, 16, "PORT_CAP", RO, "DRIVER@0", "Margining port capabilities"),
    r(0x06, 16, "PORT_STATUS", RO, "READY@0 SW_READY@1", "Margining port status"),
];
const DOE: &[R] = &[
    r(0x04, 32, "CAP", RO, "INT@0 IMN@11:1", "DOE capabilities"),
    r(0x08, 32, "CTRL", RW, "ABORT@0 INT_EN@1 GO@31", "DOE control"),
    r(0x0c, 32, "STATUS", RW, "BUSY@0~ INT@1! ERROR@2~ AT_ATTENTION@3~ READY@31~", "DOE status"),
    r(0x10, 32, "WRITE_MAILBOX", RW, "", "DOE write data mailbox"),
    r(0x14, 32, "READ_MAILBOX", RW, "", "DOE read data mailbox (a write moves to the next DWORD)"),
];
const NPEM: &[R] = &[
    r(0x04, 32, "CAP", RO, "CAPABLE@0", "NPEM capability"),
    r(0x08, 32, "CTRL", RW, "EN@0", "NPEM control"),
    r(0x0c, 32, "STATUS", RW1C, "CMD_COMPLETED@0", "NPEM status"),
];
const HIER_ID: &[R] = &[r(0x04, 32, "STATUS", RO, "", "Hierarchy ID status")];

/// Resizable BAR (and VF Resizable BAR): a capability/control pair per BAR.
fn rebar(b: &mut Builder, at: usize, prefix: &str) {
    let count = ((b.l(at + 8) >> 5) & 7).clamp(1, 6) as usize;
    for i in 0..count {
        let regs = [
            R { name: Cow::Owned(format!("CAP{i}")), ..r(0x04, 32, "", RO, "SIZES@31:4", "Resizable BAR capability") },
            R {
                name: Cow::Owned(format!("CTRL{i}")),
                ..r(0x08, 32, "", RW, "BAR_IDX@2:0~ NBARS@7:5~ SIZE@13:8 SIZES_HI@31:16~", "Resizable BAR control")
            },
        ];
        b.add(at + 8 * i, prefix, &regs);
    }
}

/// The name of a capability instance in the map: `MSI`, `VNDR@1`.
pub fn instance_name(list: List, id: u16, instance: usize) -> String {
    let name = capabilities::name(list, id);
    if instance == 0 {
        name
    } else {
        format!("{name}@{instance}")
    }
}

/// The register map of a function's config space (`config` as read: 64,
/// 256 or 4096 bytes). Registers outside what was read are left out.
pub fn map(config: &ConfigSpace) -> RegisterMap {
    let mut b = Builder { config, registers: Vec::new() };
    b.add(0, "", HEADER);
    match config.header_layout() {
        Some(0) => {
            bars(&mut b, 6);
            b.add(0, "", HEADER0);
        }
        Some(1) => {
            bars(&mut b, 2);
            b.add(0, "", HEADER1);
        }
        Some(2) => b.add(0, "", HEADER2),
        _ => {}
    }
    let mut port_type = None;
    for f in capabilities::walk_by_header(config) {
        let at = usize::from(f.offset);
        let prefix = instance_name(f.list, f.id, f.instance);
        match f.list {
            List::Standard => {
                b.add(at, &prefix, CAP_HEADER);
                match f.id {
                    0x01 => b.add(at, &prefix, PM),
                    0x02 => b.add(at, &prefix, AGP),
                    0x03 => b.add(at, &prefix, VPD),
                    0x04 => b.add(at, &prefix, SLOTID),
                    0x05 => msi(&mut b, at, &prefix),
                    0x07 if config.header_layout() == Some(1) => b.add(at, &prefix, PCIX_BRIDGE),
                    0x07 => b.add(at, &prefix, PCIX),
                    0x08 => ht(&mut b, at, &prefix),
                    0x09 => b.add(at, &prefix, VNDR),
                    0x0a => b.add(at, &prefix, DBG),
                    0x0d => b.add(at, &prefix, SSVID),
                    0x10 => port_type = Some(express(&mut b, at, &prefix)),
                    0x11 => b.add(at, &prefix, MSIX),
                    0x12 => b.add(at, &prefix, SATA),
                    0x13 => b.add(at, &prefix, AF),
                    0x14 => ea(&mut b, at, &prefix),
                    _ => {}
                }
            }
            List::Extended => {
                b.add(at, &prefix, ECAP_HEADER);
                let version = (b.l(at) >> 16) & 0xf;
                match f.id {
                    0x01 => {
                        b.add(at, &prefix, AER);
                        if matches!(port_type, Some(4 | 10)) {
                            b.add(at, &prefix, AER_ROOT);
                        }
                    }
                    0x02 | 0x08 | 0x09 => vc(&mut b, at, &prefix),
                    0x03 => b.add(at, &prefix, DSN),
                    0x04 => b.add(at, &prefix, PB),
                    0x05 => rclink(&mut b, at, &prefix),
                    0x06 => b.add(at, &prefix, RCILINK),
                    0x07 => {
                        b.add(at, &prefix, RCEC);
                        if version >= 2 {
                            b.add(at, &prefix, RCEC_BUS);
                        }
                    }
                    0x0a => b.add(at, &prefix, RBCB),
                    0x0b => b.add(at, &prefix, EVNDR),
                    0x0d => b.add(at, &prefix, ACS),
                    0x0e => b.add(at, &prefix, ARI),
                    0x0f => b.add(at, &prefix, ATS),
                    0x10 => b.add(at, &prefix, SRIOV),
                    0x11 => b.add(at, &prefix, MRIOV),
                    0x12 => {
                        b.add(at, &prefix, MCAST);
                        if matches!(port_type, Some(4..=6)) {
                            b.add(at, &prefix, MCAST_OVERLAY);
                        }
                    }
                    0x13 => b.add(at, &prefix, PRI),
                    0x15 | 0x24 => rebar(&mut b, at, &prefix),
                    0x16 => b.add(at, &prefix, DPA),
                    0x17 => b.add(at, &prefix, TPH),
                    0x18 => b.add(at, &prefix, LTR),
                    0x19 => b.add(at, &prefix, SECPCI),
                    0x1b => b.add(at, &prefix, PASID),
                    0x1c => b.add(at, &prefix, LNR),
                    0x1d => {
                        b.add(at, &prefix, DPC);
                        if b.w(at + 4) & 0x20 != 0 {
                            b.add(at, &prefix, DPC_RP);
                        }
                    }
                    0x1e => b.add(at, &prefix, L1PM),
                    0x1f => b.add(at, &prefix, PTM),
                    0x21 => b.add(at, &prefix, FRS),
                    0x22 => b.add(at, &prefix, RTR),
                    0x23 => dvsec(&mut b, at, &prefix),
                    0x25 => b.add(at, &prefix, DLNK),
                    0x26 => b.add(at, &prefix, PL16GT),
                    0x27 => b.add(at, &prefix, LMR),
                    0x28 => b.add(at, &prefix, HIER_ID),
                    0x29 => b.add(at, &prefix, NPEM),
                    0x2a => b.add(at, &prefix, PL32GT),
                    0x2e => b.add(at, &prefix, DOE),
                    _ => {}
                }
            }
        }
    }
    let mut registers = b.registers;
    registers.sort_by_key(|r| r.offset);
    // A broken device's lists can point into each other: name lookups then
    // find the first, as for an SVD file's aliases.
    let overlaps = registers.windows(2).any(|w| w[1].offset < w[0].end());
    let len = config.len().min(4096) as u64;
    RegisterMap {
        name: Cow::Borrowed(MAP_NAME),
        description: Cow::Borrowed("PCI configuration space: header and capability registers"),
        bar: CONFIG_BAR,
        base: 0,
        size: Some(len),
        rules: Cow::Owned(vec![AccessRule {
            start: 0,
            end: len,
            widths: Cow::Borrowed(&[Width::W8, Width::W16, Width::W32]),
        }]),
        registers: Cow::Owned(registers),
        overlaps,
        blocks: Cow::Borrowed(&[]),
    }
}

/// Every capability instance of `config` with the names of its registers:
/// `(prefix, list, id, offset)`, in libpci's order.
pub fn instances(config: &ConfigSpace) -> Vec<(String, List, u16, u16)> {
    capabilities::walk_by_header(config)
        .into_iter()
        .map(|f| (instance_name(f.list, f.id, f.instance), f.list, f.id, f.offset))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device() -> ConfigSpace {
        let mut b = vec![0u8; 4096];
        b[0..4].copy_from_slice(&[0x36, 0x1b, 0x0c, 0x00]);
        b[0x06] = 0x10;
        b[0x0e] = 0x01; // bridge
        b[0x34] = 0x40;
        b[0x40..0x44].copy_from_slice(&[0x01, 0x50, 0x03, 0x00]); // PM
        b[0x50..0x54].copy_from_slice(&[0x05, 0x70, 0x80, 0x01]); // MSI 64-bit, masking
        b[0x70..0x74].copy_from_slice(&[0x10, 0x00, 0x42, 0x01]); // EXP v2 root port, slot
        b[0x82] = 0x11; // LNKSTA: 2.5GT/s x1
        b[0x100..0x104].copy_from_slice(&(0x0001u32 | (2 << 16) | (0x148 << 20)).to_le_bytes());
        b[0x148..0x14c].copy_from_slice(&(0x000du32 | (1 << 16)).to_le_bytes());
        ConfigSpace::new(b)
    }

    #[test]
    fn names_registers_and_fields() {
        let m = map(&device());
        let find = |n: &str| m.register(n).map(|r| (r.offset, r.width.bits())).unwrap_or_else(|e| panic!("{n}: {e}"));
        assert_eq!(find("COMMAND"), (4, 16));
        assert_eq!(find("BRIDGE_CONTROL"), (0x3e, 16));
        assert_eq!(find("PM.PMCSR"), (0x44, 16));
        assert_eq!(find("MSI.ADDR_HI"), (0x58, 32));
        assert_eq!(find("MSI.DATA"), (0x5c, 16));
        assert_eq!(find("MSI.PENDING"), (0x64, 32));
        assert_eq!(find("EXP.LNKSTA"), (0x82, 16));
        assert_eq!(find("EXP.SLTCTL"), (0x88, 16));
        assert_eq!(find("EXP.RTSTA"), (0x90, 32));
        assert_eq!(find("EXP.LNKCTL2"), (0xa0, 16));
        assert_eq!(find("AER.UESTA"), (0x104, 32));
        assert_eq!(find("AER.ROOTSTA"), (0x130, 32));
        assert_eq!(find("ACS.CTRL"), (0x14e, 16));
        assert!(m.register("BASE_ADDRESS_2").is_err());
        let lnksta = m.register("EXP.LNKSTA").unwrap();
        assert_eq!(lnksta.field("CLS").map(|f| (f.msb, f.lsb)).unwrap(), (3, 0));
        assert_eq!(lnksta.field("NLW").unwrap().extract(0x0011), 1);
        let pmcsr = m.register("PM.PMCSR").unwrap();
        assert_eq!(pmcsr.field_write(pmcsr.field("PMES").unwrap()), WriteSemantics::OneToClear);
        assert_eq!(pmcsr.field_access(pmcsr.field("NSR").unwrap()), Access::RO);
        assert_eq!(m.register("AER.UESTA").unwrap().access, Access::RW1C);
        assert!(!m.overlaps);
    }

    #[test]
    fn short_config_and_instances() {
        let short = ConfigSpace::new(device().bytes()[..256].to_vec());
        let m = map(&short);
        assert!(m.register("AER.UESTA").is_err());
        assert!(m.register("EXP.LNKSTA").is_ok());
        let mut b = device().bytes().to_vec();
        b[0x71] = 0xc0;
        b[0xc0..0xc4].copy_from_slice(&[0x09, 0xd0, 0x08, 0x00]);
        b[0xd0..0xd4].copy_from_slice(&[0x09, 0x00, 0x08, 0x00]);
        let m = map(&ConfigSpace::new(b));
        assert!(m.register("VNDR@1.LEN").is_ok());
        // Anything at all: no panic.
        for fill in [0u8, 0xff, 0x10] {
            let _ = map(&ConfigSpace::new(vec![fill; 4096]));
            let _ = map(&ConfigSpace::new(vec![fill; 3]));
        }
    }
}
