//! The normalized reading of a map (tests/data/README.md, "The normalized
//! reading"): what `mmiodrv regmap show --json` prints, and what the tests
//! compare with the reference tools' reading of the same file.

use serde_json::{json, Value};

use crate::regmap::formats::MapFile;
use crate::regmap::model::{Field, ReadAction, Register, RegisterMap, WriteSemantics};

/// The reading of every block of a file.
pub fn reading(file: &MapFile) -> Value {
    let mut blocks: Vec<&RegisterMap> = file.blocks.iter().collect();
    blocks.sort_by(|a, b| (a.base, &a.name).cmp(&(b.base, &b.name)));
    json!({
        "format": file.format.name(),
        "blocks": blocks.iter().map(|b| block(b)).collect::<Vec<_>>(),
    })
}

/// The reading of one block.
pub fn block(map: &RegisterMap) -> Value {
    let mut regs: Vec<&Register> = map.registers.iter().collect();
    regs.sort_by(|a, b| (a.offset, &a.name).cmp(&(b.offset, &b.name)));
    json!({
        "name": map.name,
        "base": map.base,
        "registers": regs.iter().map(|r| register(map, r)).collect::<Vec<_>>(),
    })
}

/// The reset value of a register: the map's, else the OR of its fields'.
pub fn register_reset(reg: &Register) -> Option<u64> {
    reg.reset.or_else(|| {
        let defined: Vec<&Field> = reg.fields.iter().filter(|f| f.reset.is_some()).collect();
        (!defined.is_empty()).then(|| defined.iter().fold(0, |acc, f| acc | (f.reset.unwrap_or(0) << f.lsb)))
    })
}

fn register(map: &RegisterMap, reg: &Register) -> Value {
    let split = reg.access_width != reg.width;
    let fields: Vec<Value> = if reg.fields.is_empty() {
        let write =
            if reg.access == crate::regmap::Access::RW1C { WriteSemantics::OneToClear } else { WriteSemantics::Normal };
        let read = if reg.read_side_effects { ReadAction::Clear } else { ReadAction::None };
        vec![json!({
            "name": reg.name,
            "lsb": 0,
            "msb": reg.width.bits() - 1,
            "access": reg.access.reading_name(),
            "reset": reg.reset,
            "read_action": read.reading_name(),
            "write_semantics": write.reading_name(),
            "enums": [],
        })]
    } else {
        let mut fields: Vec<&Field> = reg.fields.iter().collect();
        fields.sort_by(|a, b| (a.lsb, &a.name).cmp(&(b.lsb, &b.name)));
        // A register marked read_side_effects whose fields say nothing: every field clears on read.
        let implied_clear = reg.read_side_effects && reg.fields.iter().all(|f| f.read_action == ReadAction::None);
        fields
            .iter()
            .map(|f| {
                let read = if implied_clear { ReadAction::Clear } else { f.read_action };
                let mut enums: Vec<(u64, &str)> = f.values.iter().map(|(v, n)| (*v, n.as_ref())).collect();
                enums.sort();
                json!({
                    "name": f.name,
                    "lsb": f.lsb,
                    "msb": f.msb,
                    "access": reg.field_access(f).reading_name(),
                    "reset": f.reset,
                    "read_action": read.reading_name(),
                    "write_semantics": reg.field_write(f).reading_name(),
                    "enums": enums.iter().map(|(v, n)| json!({"value": v, "name": n})).collect::<Vec<_>>(),
                })
            })
            .collect()
    };
    json!({
        "name": reg.name,
        "offset": reg.offset,
        "address": map.base + reg.offset,
        "width": reg.width.bits(),
        "access_width": reg.access_width.bits(),
        "word_order": if split { Some(reg.word_order) } else { None },
        "access": reg.access.reading_name(),
        "reset": register_reset(reg),
        "fields": fields,
    })
}
