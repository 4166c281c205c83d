//! The normalized reading of a map (tests/data/README.md, "The normalized
//! reading"): what `mmiodrv regmap show --json` prints, and what the tests
//! compare with the reference tools' reading of the same file.

use serde::Serialize;

use crate::regmap::formats::{Format, MapFile};
use crate::regmap::model::{Field, ReadAction, Register, RegisterMap, WordOrder, WriteSemantics};

/// The reading of a file: its format and every block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Reading {
    /// The file's format.
    pub format: Format,
    /// Its blocks, by base address then name.
    pub blocks: Vec<BlockReading>,
}

/// The reading of one block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct BlockReading {
    /// Its name.
    pub name: String,
    /// Its base address.
    pub base: u64,
    /// Its registers, by offset then name.
    pub registers: Vec<RegisterReading>,
}

/// The reading of one register.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RegisterReading {
    /// Its name.
    pub name: String,
    /// Offset in its block.
    pub offset: u64,
    /// Absolute address: the block's base plus the offset.
    pub address: u64,
    /// Width in bits.
    #[cfg_attr(feature = "schema", schemars(with = "crate::mmio::Width"))]
    pub width: u32,
    /// Width of each bus access in bits (less than `width` for a split register).
    #[cfg_attr(feature = "schema", schemars(with = "crate::mmio::Width"))]
    pub access_width: u32,
    /// Which piece of a split register lies first (null when not split).
    pub word_order: Option<WordOrder>,
    /// `RO`, `RW`, `WO`, `RW1`, `W1` or `NA`.
    pub access: &'static str,
    /// Reset value: the map's, else the OR of its fields'.
    pub reset: Option<u64>,
    /// Its fields by lowest bit (a register without fields: one field of all its bits).
    pub fields: Vec<FieldReading>,
}

/// The reading of one field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FieldReading {
    /// Its name.
    pub name: String,
    /// Lowest bit.
    pub lsb: u32,
    /// Highest bit.
    pub msb: u32,
    /// `RO`, `RW`, `WO`, `RW1`, `W1` or `NA`.
    pub access: &'static str,
    /// Reset value.
    pub reset: Option<u64>,
    /// What a read does: `none`, `clear`, `set`, `modify`, `modifyExternal`.
    pub read_action: &'static str,
    /// What a write does: `normal`, `oneToClear`...
    pub write_semantics: &'static str,
    /// Named values, by value.
    pub enums: Vec<EnumReading>,
}

/// A named value of a field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct EnumReading {
    /// The value.
    pub value: u64,
    /// Its name.
    pub name: String,
}

/// The reading of every block of a file.
pub fn reading(file: &MapFile) -> Reading {
    let mut blocks: Vec<&RegisterMap> = file.blocks.iter().collect();
    blocks.sort_by(|a, b| (a.base, &a.name).cmp(&(b.base, &b.name)));
    let whole = file.format == Format::Toml;
    Reading { format: file.format, blocks: blocks.iter().map(|b| block_of(b, whole)).collect() }
}

/// The reading of one block.
pub fn block(map: &RegisterMap) -> BlockReading {
    block_of(map, false)
}

/// `whole`: a register's reset defines every bit (TOML's), so fields
/// without a reset of their own have the register's.
fn block_of(map: &RegisterMap, whole: bool) -> BlockReading {
    let mut regs: Vec<&Register> = map.registers.iter().collect();
    regs.sort_by(|a, b| (a.offset, &a.name).cmp(&(b.offset, &b.name)));
    BlockReading {
        name: map.name.to_string(),
        base: map.base,
        registers: regs.iter().map(|r| register(map, r, whole)).collect(),
    }
}

/// The reset value of a register: the map's, else the OR of its fields'.
pub fn register_reset(reg: &Register) -> Option<u64> {
    reg.reset.or_else(|| {
        let defined: Vec<&Field> = reg.fields.iter().filter(|f| f.reset.is_some()).collect();
        (!defined.is_empty()).then(|| defined.iter().fold(0, |acc, f| acc | (f.reset.unwrap_or(0) << f.lsb)))
    })
}

fn register(map: &RegisterMap, reg: &Register, whole: bool) -> RegisterReading {
    let split = reg.access_width != reg.width;
    let fields: Vec<FieldReading> = if reg.fields.is_empty() {
        let write =
            if reg.access == crate::regmap::Access::RW1C { WriteSemantics::OneToClear } else { WriteSemantics::Normal };
        let read = if reg.read_side_effects { ReadAction::Clear } else { ReadAction::None };
        vec![FieldReading {
            name: reg.name.to_string(),
            lsb: 0,
            msb: reg.width.bits() - 1,
            access: reg.access.reading_name(),
            reset: reg.reset,
            read_action: read.reading_name(),
            write_semantics: write.reading_name(),
            enums: Vec::new(),
        }]
    } else {
        let mut fields: Vec<&Field> = reg.fields.iter().collect();
        fields.sort_by(|a, b| (a.lsb, &a.name).cmp(&(b.lsb, &b.name)));
        // A register marked read_side_effects whose fields say nothing: every field clears on read.
        let implied_clear = reg.read_side_effects && reg.fields.iter().all(|f| f.read_action == ReadAction::None);
        let whole_reset = reg.reset.filter(|_| whole && reg.fields.iter().all(|f| f.reset.is_none()));
        fields
            .iter()
            .map(|f| {
                let read = if implied_clear { ReadAction::Clear } else { f.read_action };
                let mut enums: Vec<(u64, &str)> = f.values.iter().map(|(v, n)| (*v, n.as_ref())).collect();
                enums.sort();
                FieldReading {
                    name: f.name.to_string(),
                    lsb: f.lsb,
                    msb: f.msb,
                    access: reg.field_access(f).reading_name(),
                    // A reset the register gives whole (no field gives one) gives every field one.
                    reset: f.reset.or_else(|| whole_reset.map(|r| f.extract(r))),
                    read_action: read.reading_name(),
                    write_semantics: reg.field_write(f).reading_name(),
                    enums: enums.iter().map(|(v, n)| EnumReading { value: *v, name: n.to_string() }).collect(),
                }
            })
            .collect()
    };
    RegisterReading {
        name: reg.name.to_string(),
        offset: reg.offset,
        address: map.base + reg.offset,
        width: reg.width.bits(),
        access_width: reg.access_width.bits(),
        word_order: split.then_some(reg.word_order),
        access: reg.access.reading_name(),
        reset: register_reset(reg),
        fields,
    }
}
