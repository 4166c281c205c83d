//! The validated register map: what the loaders and the built-in drivers'
//! declarations produce, and everything else reads.
//!
//! Strings and lists are `Cow<'static, _>`, so a built-in map is a `static`
//! built at compile time by [`crate::register_map!`] (nothing is parsed or
//! allocated when a command starts), while maps loaded from files own their
//! data.

use crate::error::MapError;
use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::error::{ErrorKind, Result};
use crate::mmio::Width;

/// A string of a map: borrowed in built-in maps, owned in loaded ones.
pub type Text = Cow<'static, str>;
/// A list of a map, likewise.
pub type List<T> = Cow<'static, [T]>;

/// How software may access a register (or a field, where it differs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Access {
    /// Read-only.
    RO,
    /// Read-write.
    RW,
    /// Write-only: reads return nothing meaningful (or trigger something).
    WO,
    /// Read, write 1 to clear (every field is [`WriteSemantics::OneToClear`]).
    RW1C,
    /// Read, and write once after reset (IP-XACT `read-writeOnce`, SystemRDL `rw1`).
    RW1,
    /// Write once after reset, no read (IP-XACT `writeOnce`, SystemRDL `w1`).
    W1,
    /// No software access (IP-XACT 2022 `no-access`, SystemRDL `na`).
    NA,
}

impl Access {
    /// Whether reading returns the register's contents.
    pub const fn readable(self) -> bool {
        !matches!(self, Access::WO | Access::W1 | Access::NA)
    }
    /// Whether writing has an effect.
    pub const fn writable(self) -> bool {
        !matches!(self, Access::RO | Access::NA)
    }
    /// The name in the normalized reading and `regmap show`: RW1C is `RW`
    /// there (its fields say `oneToClear`).
    pub const fn reading_name(self) -> &'static str {
        match self {
            Access::RO => "RO",
            Access::RW | Access::RW1C => "RW",
            Access::WO => "WO",
            Access::RW1 => "RW1",
            Access::W1 => "W1",
            Access::NA => "NA",
        }
    }
}

/// Which piece of a register split into several bus accesses lies at the
/// lowest address.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum WordOrder {
    /// The least significant piece first (edu's 64-bit registers, SystemRDL's default).
    #[default]
    Little,
    /// The most significant piece first (LiteX CSRs, SystemRDL `bigendian`).
    Big,
}

/// What writing a value to a field does (IP-XACT `modifiedWriteValue`,
/// SystemRDL `woclr`/`woset`, SVD `modifiedWriteValues`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum WriteSemantics {
    /// The field takes the value written.
    #[default]
    Normal,
    /// Writing 1 clears a bit, 0 leaves it.
    OneToClear,
    /// Writing 1 sets a bit, 0 leaves it.
    OneToSet,
    /// Writing 1 toggles a bit, 0 leaves it.
    OneToToggle,
    /// Writing 0 clears a bit, 1 leaves it.
    ZeroToClear,
    /// Writing 0 sets a bit, 1 leaves it.
    ZeroToSet,
    /// Writing 0 toggles a bit, 1 leaves it.
    ZeroToToggle,
    /// Any write clears the field.
    Clear,
    /// Any write sets the field.
    Set,
    /// A write changes the field in some other way (IP-XACT `modify`, SystemRDL `wuser`).
    Modify,
}

impl WriteSemantics {
    /// Every kind, in declaration order.
    pub const ALL: [WriteSemantics; 10] = [
        WriteSemantics::Normal,
        WriteSemantics::OneToClear,
        WriteSemantics::OneToSet,
        WriteSemantics::OneToToggle,
        WriteSemantics::ZeroToClear,
        WriteSemantics::ZeroToSet,
        WriteSemantics::ZeroToToggle,
        WriteSemantics::Clear,
        WriteSemantics::Set,
        WriteSemantics::Modify,
    ];

    /// The kind named `word` in the normalized reading ([`Self::reading_name`]).
    pub fn from_reading_name(word: &str) -> Option<WriteSemantics> {
        Self::ALL.into_iter().find(|w| w.reading_name() == word)
    }

    /// The bits to write into a field with these semantics so that a write
    /// meant for *another* field of the register leaves this one as it is.
    /// `current` is the field's value as read (used only by [`Self::Normal`]);
    /// `None` when no value does that ([`Self::Clear`], [`Self::Set`]).
    pub fn neutral(self, current: u64, all_ones: u64) -> Option<u64> {
        match self {
            WriteSemantics::Normal => Some(current),
            WriteSemantics::OneToClear | WriteSemantics::OneToSet | WriteSemantics::OneToToggle => Some(0),
            WriteSemantics::ZeroToClear | WriteSemantics::ZeroToSet | WriteSemantics::ZeroToToggle => Some(all_ones),
            WriteSemantics::Clear | WriteSemantics::Set | WriteSemantics::Modify => None,
        }
    }

    /// The field's value after writing `written` when it held `current`, as
    /// far as these semantics define it (`Modify`: the value written).
    pub fn apply(self, current: u64, written: u64, all_ones: u64) -> u64 {
        match self {
            WriteSemantics::Normal | WriteSemantics::Modify => written,
            WriteSemantics::OneToClear => current & !written,
            WriteSemantics::OneToSet => current | written,
            WriteSemantics::OneToToggle => current ^ written,
            WriteSemantics::ZeroToClear => current & written,
            WriteSemantics::ZeroToSet => current | (!written & all_ones),
            WriteSemantics::ZeroToToggle => current ^ (!written & all_ones),
            WriteSemantics::Clear => 0,
            WriteSemantics::Set => all_ones,
        }
    }

    /// The name in the normalized reading (IP-XACT's `modifiedWriteValue`, or `normal`).
    pub const fn reading_name(self) -> &'static str {
        match self {
            WriteSemantics::Normal => "normal",
            WriteSemantics::OneToClear => "oneToClear",
            WriteSemantics::OneToSet => "oneToSet",
            WriteSemantics::OneToToggle => "oneToToggle",
            WriteSemantics::ZeroToClear => "zeroToClear",
            WriteSemantics::ZeroToSet => "zeroToSet",
            WriteSemantics::ZeroToToggle => "zeroToToggle",
            WriteSemantics::Clear => "clear",
            WriteSemantics::Set => "set",
            WriteSemantics::Modify => "modify",
        }
    }
}

/// What reading a field does to it (IP-XACT `readAction`, SystemRDL
/// `rclr`/`rset`, SVD `readAction`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ReadAction {
    /// Reading changes nothing.
    #[default]
    None,
    /// Reading clears the field.
    Clear,
    /// Reading sets the field.
    Set,
    /// Reading changes the field in some other way.
    Modify,
    /// Reading has an effect outside the field (SVD `modifyExternal`).
    ModifyExternal,
}

impl ReadAction {
    /// Every kind, in declaration order.
    pub const ALL: [ReadAction; 5] =
        [ReadAction::None, ReadAction::Clear, ReadAction::Set, ReadAction::Modify, ReadAction::ModifyExternal];

    /// The kind named `word` in the normalized reading ([`Self::reading_name`]).
    pub fn from_reading_name(word: &str) -> Option<ReadAction> {
        Self::ALL.into_iter().find(|r| r.reading_name() == word)
    }

    /// The name in the normalized reading (IP-XACT's `readAction`, or `none`).
    pub const fn reading_name(self) -> &'static str {
        match self {
            ReadAction::None => "none",
            ReadAction::Clear => "clear",
            ReadAction::Set => "set",
            ReadAction::Modify => "modify",
            ReadAction::ModifyExternal => "modifyExternal",
        }
    }
}

/// A contiguous range of offsets and the widths the device accepts there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccessRule {
    /// First offset of the range.
    pub start: u64,
    /// One past the last offset.
    pub end: u64,
    /// Widths accepted in the range.
    pub widths: List<Width>,
}

/// A bit field inside a register.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Field {
    /// Name, unique within the register.
    pub name: Text,
    /// Highest bit.
    pub msb: u32,
    /// Lowest bit.
    pub lsb: u32,
    /// What it means.
    pub description: Text,
    /// Named values, sorted by value.
    pub values: List<(u64, Text)>,
    /// Access of this field where it differs from the register's.
    pub access: Option<Access>,
    /// What a write does.
    pub write: WriteSemantics,
    /// What a read does.
    pub read_action: ReadAction,
    /// Value after reset, when the map gives one.
    pub reset: Option<u64>,
}

impl Field {
    /// A plain read-write field with no named values (what most entries of a
    /// built-in map are); the other attributes are set with struct update.
    pub const fn new(name: &'static str, msb: u32, lsb: u32, description: &'static str) -> Self {
        Field {
            name: Cow::Borrowed(name),
            msb,
            lsb,
            description: Cow::Borrowed(description),
            values: Cow::Borrowed(&[]),
            access: None,
            write: WriteSemantics::Normal,
            read_action: ReadAction::None,
            reset: None,
        }
    }

    /// Width in bits.
    pub const fn bits(&self) -> u32 {
        self.msb - self.lsb + 1
    }

    /// Largest value that fits.
    pub const fn max_value(&self) -> u64 {
        u64::MAX >> (64 - self.bits())
    }

    /// The field's bits in place, e.g. 0xff00 for bits 15:8.
    pub const fn mask(&self) -> u64 {
        self.max_value() << self.lsb
    }

    /// The field's value inside a register value.
    #[inline]
    pub const fn extract(&self, register_value: u64) -> u64 {
        (register_value >> self.lsb) & self.max_value()
    }

    /// `register_value` with this field replaced by `value` (checked to fit).
    pub fn insert(&self, register_value: u64, value: u64) -> Result<u64> {
        if value > self.max_value() {
            return Err(ErrorKind::ValueTooLarge {
                value,
                what: format!("field {}", self.name),
                bits: self.bits(),
                max: self.max_value(),
            }
            .into());
        }
        Ok((register_value & !self.mask()) | (value << self.lsb))
    }

    /// The name of a value, if the map gives one.
    #[inline]
    pub fn meaning(&self, value: u64) -> Option<&str> {
        self.values.iter().find(|(v, _)| *v == value).map(|(_, n)| n.as_ref())
    }

    /// The value named `name` (without regard to case; the first of two
    /// with one name), if the map names one so.
    pub fn value_named(&self, name: &str) -> Option<u64> {
        self.values.iter().find(|(_, n)| n.eq_ignore_ascii_case(name)).map(|(v, _)| *v)
    }

    /// Its bits, shown `31:24` or `7`.
    pub const fn bit_range(&self) -> BitRange {
        BitRange { msb: self.msb, lsb: self.lsb }
    }
}

/// A field's bits: displayed as `31:24`, or `7` for one bit; in JSON as
/// `lsb` and `msb` (flattened into the object that has them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct BitRange {
    /// Lowest bit.
    pub lsb: u32,
    /// Highest bit.
    pub msb: u32,
}

impl std::fmt::Display for BitRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.msb == self.lsb, f.width()) {
            (true, None) => write!(f, "{}", self.lsb),
            (false, None) => write!(f, "{}:{}", self.msb, self.lsb),
            // Padded (`{:<7}`): format first, then pad the whole.
            (true, Some(_)) => f.pad(&self.lsb.to_string()),
            (false, Some(_)) => f.pad(&format!("{}:{}", self.msb, self.lsb)),
        }
    }
}

/// One register.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Register {
    /// Name, unique within the map (arrays: `NAME[i]`).
    pub name: Text,
    /// Offset in the BAR (a placed map, [`crate::regmap::MapFile::place`],
    /// and the built-in maps), or from its block's base (a block as a map
    /// file holds it, [`crate::regmap::MapFile::blocks`]).
    pub offset: u64,
    /// Register width.
    pub width: Width,
    /// Width of each bus access: equal to `width`, or narrower for a register
    /// the device only takes in pieces (a 64-bit register as two 32-bit halves).
    pub access_width: Width,
    /// Which piece comes first when `access_width` is narrower than `width`.
    pub word_order: WordOrder,
    /// How software may access it.
    pub access: Access,
    /// Reading changes device state (clear-on-read): never read unless asked.
    pub read_side_effects: bool,
    /// What it is.
    pub description: Text,
    /// Its fields, most significant first.
    pub fields: List<Field>,
    /// Value after reset, when the map gives one.
    pub reset: Option<u64>,
}

impl Register {
    /// A field by name (case-insensitive).
    pub fn field(&self, name: &str) -> Result<&Field> {
        self.fields.iter().find(|f| f.name.eq_ignore_ascii_case(name)).ok_or_else(|| {
            MapError::FieldNotFound {
                register: self.name.to_string(),
                field: name.to_string(),
                fields: self.fields.iter().map(|f| f.name.to_string()).collect(),
            }
            .into()
        })
    }

    /// One past its last byte.
    pub fn end(&self) -> u64 {
        self.offset + self.width.bytes()
    }

    /// The effective access of a field.
    pub fn field_access(&self, field: &Field) -> Access {
        field.access.unwrap_or(self.access)
    }

    /// The write semantics of a field, RW1C registers included.
    pub fn field_write(&self, field: &Field) -> WriteSemantics {
        match (self.access, field.write) {
            (Access::RW1C, WriteSemantics::Normal) => WriteSemantics::OneToClear,
            (_, w) => w,
        }
    }

    /// The bits whose reset value the map defines: every bit for a reset
    /// given on the register alone; else the fields that give one.
    pub fn reset_mask(&self) -> u64 {
        let from_fields = self.fields.iter().filter(|f| f.reset.is_some()).fold(0, |m, f| m | f.mask());
        match (self.reset, from_fields) {
            (None, 0) => 0,
            (Some(_), 0) => self.width.max_value(),
            (_, m) => m,
        }
    }

    /// The bits of the register no field covers.
    pub fn unnamed_bits(&self) -> u64 {
        self.width.max_value() & !self.fields.iter().fold(0, |m, f| m | f.mask())
    }
}

/// One block of a map as it lies in a BAR (an SVD peripheral, an IP-XACT
/// address block, a SystemRDL sub-addrmap, a LiteX CSR bank, a TOML
/// `[[block]]`): its registers are a contiguous run of the map's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Block {
    /// Its name, unique within the map.
    pub name: Text,
    /// What it is.
    pub description: Text,
    /// Its address in the map file's own address space.
    pub base: u64,
    /// Where it starts in the BAR: its base moved by the map's placement.
    pub offset: u64,
    /// Its registers: `registers[first..end]` of the map.
    pub first: usize,
    /// One past its last register.
    pub end: usize,
}

/// A device's register map for one BAR (or one block of a larger map).
#[derive(Clone, Debug, Serialize)]
pub struct RegisterMap {
    /// Map name (the device or block).
    pub name: Text,
    /// What it is.
    pub description: Text,
    /// The BAR it describes.
    pub bar: u8,
    /// Where the block starts in the address space its source file uses (a
    /// peripheral's base address in an SVD file), for a block as a map file
    /// holds it: its register offsets are from it, and placed in a BAR it
    /// lies at this address (moved by the placement). 0 for a placed map
    /// (its blocks say theirs) and mmiodrv's own maps.
    pub base: u64,
    /// Expected BAR size, if the map states it.
    pub size: Option<u64>,
    /// Widths the device takes, per offset range (empty: any).
    pub rules: List<AccessRule>,
    /// Registers, sorted by offset.
    pub registers: List<Register>,
    /// Registers may share addresses and a register's fields may share a
    /// name: CMSIS-SVD files have aliases (`alternateRegister`, deprecated
    /// names) and vendors' mistakes that cmsis-svd reads as they are. A name
    /// then finds the first. Never set for mmiodrv's own maps.
    pub overlaps: bool,
    /// The blocks of a map placed in a BAR ([`crate::regmap::MapFile::place`]),
    /// in BAR order; empty for one block as a file holds it and for the
    /// built-in maps. With more than one, register names are qualified
    /// `BLOCK.REG`.
    pub blocks: List<Block>,
}

/// A register's name without its block (`CTRL` of `DMA1.CTRL`).
pub fn short_name(name: &str) -> &str {
    name.split_once('.').map_or(name, |(_, r)| r)
}

impl RegisterMap {
    /// A register by name, case-insensitive: its full name (`DMA1.CTRL` in a
    /// map of several blocks), `BLOCK.REG` (also where one block is placed),
    /// or its name in its block when only one block has it. The error
    /// suggests names that share a prefix, or names the blocks of an
    /// ambiguous name.
    pub fn register(&self, name: &str) -> Result<&Register> {
        if let Some(r) = self.registers.iter().find(|r| r.name.eq_ignore_ascii_case(name)) {
            return Ok(r);
        }
        if let Some((block, rest)) = name.split_once('.') {
            if let Some(b) = self.block(block) {
                let regs = self.registers.get(b.first..b.end).unwrap_or(&[]);
                return regs.iter().find(|r| short_name(&r.name).eq_ignore_ascii_case(rest)).ok_or_else(|| {
                    let regs = regs.iter().map(|r| short_name(&r.name)).collect::<Vec<_>>();
                    self.not_found(name, &format!("{} block", b.name), regs.iter().copied(), rest)
                });
            }
        }
        if self.blocks.len() > 1 && !name.contains('.') {
            let mut found = self.registers.iter().filter(|r| short_name(&r.name).eq_ignore_ascii_case(name));
            if let Some(first) = found.next() {
                let others: Vec<String> = found.map(|r| r.name.to_string()).collect();
                if others.is_empty() {
                    return Ok(first);
                }
                let mut names = vec![first.name.to_string()];
                names.extend(others);
                return Err(
                    MapError::RegisterAmbiguous { name: name.to_string(), map: self.name.to_string(), names }.into()
                );
            }
        }
        let names = self.registers.iter().map(|r| r.name.as_ref());
        Err(self.not_found(name, &self.name, names, name))
    }

    fn not_found<'a>(&self, name: &str, map: &str, names: impl Iterator<Item = &'a str>, short: &str) -> crate::Error {
        let lower = short.to_ascii_lowercase();
        let prefix: String = lower.chars().take(3).collect();
        let suggestions = names
            .filter(|n| {
                let n = n.to_ascii_lowercase();
                n.starts_with(&prefix) || short_name(&n).starts_with(&prefix)
            })
            .take(8)
            .map(str::to_string)
            .collect();
        MapError::RegisterNotFound { name: name.to_string(), map: map.to_string(), suggestions }.into()
    }

    /// A block by name (case-insensitive), for a placed map.
    pub fn block(&self, name: &str) -> Option<&Block> {
        self.blocks.iter().find(|b| b.name.eq_ignore_ascii_case(name))
    }

    /// The registers of block `name`, for a placed map.
    pub fn block_registers(&self, name: &str) -> Option<&[Register]> {
        self.block(name).and_then(|b| self.registers.get(b.first..b.end))
    }

    /// Is a raw access of `width` at `offset` one the device takes? With no rules,
    /// everything is allowed.
    pub fn check_raw_access(&self, offset: u64, width: Width) -> Result<()> {
        if self.rules.is_empty() {
            return Ok(());
        }
        let end = offset.saturating_add(width.bytes());
        let rule = self.rules.iter().find(|r| r.start <= offset && end <= r.end);
        match rule {
            Some(r) if r.widths.contains(&width) => Ok(()),
            other => Err(MapError::WidthNotAllowed {
                map: self.name.to_string(),
                offset,
                bits: width.bits(),
                allowed: match other {
                    Some(r) => r.widths.iter().map(|w| w.to_string()).collect::<Vec<_>>().join(", "),
                    None => "nothing: the offset is outside every access range".into(),
                },
            }
            .into()),
        }
    }
}
