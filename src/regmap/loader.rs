//! Loading register maps from TOML: built-in maps and `--regmap FILE.toml` go through
//! this same code. Every problem is reported with the file and line.
//!
//! The file format is documented in docs/regmap-format.md.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::error::{Error, Result};
use crate::mmio::Width;
use crate::regmap::model::{Access, AccessRule, Field, Register, RegisterMap};
use crate::value::parse_u64;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSchema {
    device: DeviceSchema,
    #[serde(default)]
    access: Vec<Spanned<AccessRuleSchema>>,
    #[serde(default)]
    register: Vec<Spanned<RegisterSchema>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceSchema {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    bar: u8,
    size: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccessRuleSchema {
    range: [u64; 2],
    widths: Vec<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterSchema {
    name: String,
    offset: u64,
    width: u32,
    access: String,
    access_width: Option<u32>,
    #[serde(default)]
    read_side_effects: bool,
    #[serde(default)]
    description: String,
    #[serde(default)]
    field: Vec<Spanned<FieldSchema>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldSchema {
    name: String,
    bits: Bits,
    #[serde(default)]
    description: String,
    #[serde(default)]
    values: BTreeMap<String, String>,
}

/// `bits = 7` or `bits = "31:24"`.
#[derive(Deserialize)]
#[serde(untagged)]
enum Bits {
    One(u32),
    Range(String),
}

/// Load a map from a file on disk.
pub fn load_file(path: &Path) -> Result<RegisterMap> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("regmap", "cannot read register map", path, e))?;
    parse(&text, &path.display().to_string())
}

/// Parse and validate map text; `source` names it in errors.
pub fn parse(text: &str, source: &str) -> Result<RegisterMap> {
    let err = |offset: usize, message: String| Error::RegMap {
        file: source.to_string(),
        line: line_of(text, offset),
        message,
    };
    let schema: FileSchema = toml::from_str(text).map_err(|e| {
        let at = e.span().map(|s| s.start).unwrap_or(0);
        err(at, e.message().trim().to_string())
    })?;

    if !is_identifier(&schema.device.name) {
        return Err(err(0, format!("device name '{}' must be letters, digits, '_' or '-'", schema.device.name)));
    }

    let mut rules = Vec::new();
    for rule in &schema.access {
        let at = rule.span().start;
        let r = rule.get_ref();
        let [start, end] = r.range;
        if start >= end {
            return Err(err(at, format!("access range [{start:#x}, {end:#x}) is empty")));
        }
        let widths = r
            .widths
            .iter()
            .map(|b| Width::from_bits(*b))
            .collect::<Result<Vec<_>>>()
            .map_err(|e| err(at, e.to_string()))?;
        if widths.is_empty() {
            return Err(err(at, "an access range needs at least one width".into()));
        }
        if let Some(prev) = rules.iter().find(|p: &&AccessRule| start < p.end && p.start < end) {
            return Err(err(
                at,
                format!("access range [{start:#x}, {end:#x}) overlaps [{:#x}, {:#x})", prev.start, prev.end),
            ));
        }
        rules.push(AccessRule { start, end, widths });
    }

    let mut map = RegisterMap {
        name: schema.device.name.clone(),
        description: schema.device.description.clone(),
        bar: schema.device.bar,
        size: schema.device.size,
        rules,
        registers: Vec::new(),
    };
    if map.bar > 5 {
        return Err(err(0, format!("bar = {} is not a BAR index (0..=5)", map.bar)));
    }

    let mut names = HashSet::new();
    for spanned in &schema.register {
        let at = spanned.span().start;
        let reg = build_register(spanned.get_ref(), &map).map_err(|(field_at, m)| err(field_at.unwrap_or(at), m))?;
        if !names.insert(reg.name.to_ascii_lowercase()) {
            return Err(err(at, format!("duplicate register name '{}'", reg.name)));
        }
        if let Some(other) = map.registers.iter().find(|o| reg.offset < o.end() && o.offset < reg.end()) {
            return Err(err(
                at,
                format!(
                    "register {} [{:#x}..{:#x}) overlaps {} [{:#x}..{:#x})",
                    reg.name,
                    reg.offset,
                    reg.end(),
                    other.name,
                    other.offset,
                    other.end()
                ),
            ));
        }
        map.registers.push(reg);
    }
    map.registers.sort_by_key(|r| r.offset);
    Ok(map)
}

/// Build and check one register; errors carry the field's position when it is the culprit.
fn build_register(s: &RegisterSchema, map: &RegisterMap) -> std::result::Result<Register, (Option<usize>, String)> {
    let here = |m: String| (None, m);
    if !is_identifier(&s.name) {
        return Err(here(format!("register name '{}' must be letters, digits, '_' or '-' (no '.')", s.name)));
    }
    let width = Width::from_bits(s.width).map_err(|e| here(format!("register {}: {e}", s.name)))?;
    let access = match s.access.to_ascii_uppercase().as_str() {
        "RO" => Access::RO,
        "RW" => Access::RW,
        "WO" => Access::WO,
        "RW1C" => Access::RW1C,
        other => return Err(here(format!("register {}: access '{other}' is not one of RO, RW, WO, RW1C", s.name))),
    };
    let access_width = match s.access_width {
        None => width,
        Some(bits) => {
            let w = Width::from_bits(bits).map_err(|e| here(format!("register {}: {e}", s.name)))?;
            if !(width == Width::W64 && w == Width::W32) && w != width {
                return Err(here(format!(
                    "register {}: access_width = {bits} only splits a 64-bit register into 32-bit halves",
                    s.name
                )));
            }
            w
        }
    };
    if s.offset % access_width.bytes() != 0 {
        return Err(here(format!("register {} at {:#x} is not aligned to its width ({})", s.name, s.offset, width)));
    }
    if s.offset.checked_add(width.bytes()).is_none() {
        return Err(here(format!("register {}: offset {:#x} overflows", s.name, s.offset)));
    }
    // Every bus access this register needs must be one the device takes.
    let mut part = s.offset;
    while part < s.offset + width.bytes() {
        map.check_raw_access(part, access_width).map_err(|_| {
            here(format!(
                "register {} at {:#x}: the device takes no {} access there (see [[access]])",
                s.name, part, access_width
            ))
        })?;
        part += access_width.bytes();
    }
    if let Some(size) = map.size {
        if s.offset + width.bytes() > size {
            return Err(here(format!("register {} at {:#x} lies outside the {size:#x}-byte BAR", s.name, s.offset)));
        }
    }

    let mut fields: Vec<Field> = Vec::new();
    for spanned in &s.field {
        let at = Some(spanned.span().start);
        let f = spanned.get_ref();
        let (msb, lsb) = match &f.bits {
            Bits::One(b) => (*b, *b),
            Bits::Range(text) => parse_bit_range(text)
                .ok_or((at, format!("field {}.{}: bits '{text}' is not 'MSB:LSB' or a bit number", s.name, f.name)))?,
        };
        if !is_identifier(&f.name) {
            return Err((at, format!("field name '{}' must be letters, digits, '_' or '-'", f.name)));
        }
        if msb >= width.bits() {
            return Err((
                at,
                format!(
                    "field {}.{} (bits {msb}:{lsb}) lies outside the {}-bit register",
                    s.name,
                    f.name,
                    width.bits()
                ),
            ));
        }
        let mut values = Vec::new();
        for (k, v) in &f.values {
            let value = parse_u64(k)
                .map_err(|_| (at, format!("field {}.{}: value key '{k}' is not a number", s.name, f.name)))?;
            values.push((value, v.clone()));
        }
        values.sort();
        let field = Field { name: f.name.clone(), msb, lsb, description: f.description.clone(), values };
        if let Some((v, _)) = field.values.iter().find(|(v, _)| *v > field.max_value()) {
            return Err((
                at,
                format!("field {}.{}: value {v:#x} does not fit in {} bits", s.name, f.name, field.bits()),
            ));
        }
        if let Some(other) = fields.iter().find(|o| o.name.eq_ignore_ascii_case(&f.name)) {
            return Err((at, format!("duplicate field name '{}' in register {}", other.name, s.name)));
        }
        if let Some(other) = fields.iter().find(|o| o.mask() & field.mask() != 0) {
            return Err((at, format!("field {}.{} overlaps field {}", s.name, f.name, other.name)));
        }
        fields.push(field);
    }
    fields.sort_by_key(|f| std::cmp::Reverse(f.lsb));

    Ok(Register {
        name: s.name.clone(),
        offset: s.offset,
        width,
        access_width,
        access,
        read_side_effects: s.read_side_effects,
        description: s.description.clone(),
        fields,
    })
}

fn parse_bit_range(text: &str) -> Option<(u32, u32)> {
    let (m, l) = text.split_once(':')?;
    let (msb, lsb) = (m.trim().parse().ok()?, l.trim().parse().ok()?);
    (msb >= lsb).then_some((msb, lsb))
}

fn is_identifier(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// 1-based line number of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|b| **b == b'\n').count() + 1
}
