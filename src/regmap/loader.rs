//! Loading register maps from mmiodrv's TOML format, and the one set of
//! checks ([`validate`]) every map goes through: TOML files, the other
//! formats' importers and the built-in maps alike.
//!
//! TOML problems are reported as `FILE:LINE: problem`; the format is documented
//! in docs/regmap-format.md.

// What only the TOML reader (feature `toml`) uses.
#![cfg_attr(not(feature = "toml"), allow(unused_imports, dead_code))]

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

#[cfg(feature = "toml")]
use serde::Deserialize;
#[cfg(feature = "toml")]
use toml::Spanned;

use crate::error::{Error, ErrorKind, Result};
use crate::mmio::Width;
use crate::regmap::model::{Access, AccessRule, Field, ReadAction, Register, RegisterMap, WordOrder, WriteSemantics};
use crate::value::parse_u64;

/// Longest name (device, register, field, value) a map may use.
pub const MAX_NAME: usize = 128;
/// Longest description.
pub const MAX_DESCRIPTION: usize = 4096;
/// Most registers in one map.
pub const MAX_REGISTERS: usize = 1 << 16;
/// Largest map file read.
pub const MAX_FILE: u64 = 64 << 20;
/// Most `[[access]]` ranges in one map (every register is checked against
/// them).
pub const MAX_ACCESS_RULES: usize = 256;

#[cfg(feature = "toml")]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSchema {
    device: DeviceSchema,
    #[serde(default)]
    access: Vec<Spanned<AccessRuleSchema>>,
    #[serde(default)]
    register: Vec<Spanned<RegisterSchema>>,
}

#[cfg(feature = "toml")]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceSchema {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    bar: u8,
    #[serde(default)]
    base: u64,
    #[serde(default)]
    overlaps: bool,
    size: Option<u64>,
}

#[cfg(feature = "toml")]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccessRuleSchema {
    range: [u64; 2],
    widths: Vec<u32>,
}

#[cfg(feature = "toml")]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterSchema {
    name: String,
    offset: u64,
    width: u32,
    access: String,
    access_width: Option<u32>,
    word_order: Option<String>,
    #[serde(default)]
    read_side_effects: bool,
    reset: Option<u64>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    field: Vec<Spanned<FieldSchema>>,
}

#[cfg(feature = "toml")]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldSchema {
    name: String,
    bits: Bits,
    #[serde(default)]
    description: String,
    access: Option<String>,
    write: Option<String>,
    read: Option<String>,
    reset: Option<u64>,
    #[serde(default)]
    values: Values,
}

/// `values = { 0 = "off", 2 = "fast" }`, or a list
/// `values = [{ value = 0, name = "off" }, ...]` (where one value has several names).
#[cfg(feature = "toml")]
#[derive(Deserialize)]
#[serde(untagged)]
enum Values {
    Table(BTreeMap<String, String>),
    List(Vec<ValueSchema>),
}

#[cfg(feature = "toml")]
impl Default for Values {
    fn default() -> Self {
        Values::Table(BTreeMap::new())
    }
}

#[cfg(feature = "toml")]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ValueSchema {
    value: u64,
    name: String,
}

/// `bits = 7` or `bits = "31:24"`.
#[cfg(feature = "toml")]
#[derive(Deserialize)]
#[serde(untagged)]
enum Bits {
    One(u32),
    Range(String),
}

/// What [`validate`] found wrong, and where: the index of the register and
/// field in the map, for the loader to turn into a line number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid {
    /// Index in `map.registers` (None: the map itself or an access rule).
    pub register: Option<usize>,
    /// Index in that register's fields.
    pub field: Option<usize>,
    /// Index in `map.rules`.
    pub rule: Option<usize>,
    /// The problem.
    pub message: String,
}

impl Invalid {
    fn map(message: String) -> Self {
        Invalid { register: None, field: None, rule: None, message }
    }
    fn rule(i: usize, message: String) -> Self {
        Invalid { register: None, field: None, rule: Some(i), message }
    }
    fn register(i: usize, message: String) -> Self {
        Invalid { register: Some(i), field: None, rule: None, message }
    }
    fn field(i: usize, f: usize, message: String) -> Self {
        Invalid { register: Some(i), field: Some(f), rule: None, message }
    }
}

/// The problem (its message names the register and field it is about).
impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Invalid {}

/// Read a map file with the checks every map file gets: a regular file, at
/// most [`MAX_FILE`] bytes, UTF-8 (the first bad byte's line is named).
pub fn read_map_text(path: &Path) -> Result<String> {
    let bytes = crate::value::read_regular_file(path, "a register map", MAX_FILE)?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..at].iter().filter(|b| **b == b'\n').count() + 1;
        ErrorKind::RegMap { file: path.display().to_string(), line, message: "not UTF-8 text".into() }.into()
    })
}

#[cfg(feature = "toml")]
/// Parse and validate TOML map text; `source` names it in errors.
pub fn parse(text: &str, source: &str) -> Result<RegisterMap> {
    let err = |offset: usize, message: String| -> Error {
        ErrorKind::RegMap { file: source.to_string(), line: line_of(text, offset), message: clip_message(message) }
            .into()
    };
    let schema: FileSchema = toml::from_str(text).map_err(|e| {
        let at = e.span().map(|s| s.start).unwrap_or(0);
        let message = e.message().trim();
        // The TOML reader stops at a nesting depth (of arrays and inline tables) it will not recurse past.
        let message = match message {
            "recursion limit exceeded" => "nested too deeply (recursion limit exceeded)".to_string(),
            m => m.to_string(),
        };
        err(at, message)
    })?;
    if schema.register.len() > MAX_REGISTERS {
        return Err(err(0, format!("more than {MAX_REGISTERS} registers")));
    }

    let mut rules = Vec::new();
    for rule in &schema.access {
        let r = rule.get_ref();
        let widths = r
            .widths
            .iter()
            .map(|b| Width::from_bits(*b))
            .collect::<Result<Vec<_>>>()
            .map_err(|e| err(rule.span().start, e.to_string()))?;
        rules.push(AccessRule { start: r.range[0], end: r.range[1], widths: widths.into() });
    }

    let mut registers = Vec::new();
    for spanned in &schema.register {
        registers.push(build_register(spanned.get_ref()).map_err(|(f, m)| {
            let at = f.and_then(|f| spanned.get_ref().field.get(f)).map(|f| f.span().start);
            err(at.unwrap_or(spanned.span().start), m)
        })?);
    }
    // Sort by offset, remembering where each register was written.
    let mut order: Vec<usize> = (0..registers.len()).collect();
    order.sort_by_key(|i| registers[*i].offset);
    let registers: Vec<Register> = order.iter().map(|i| registers[*i].clone()).collect();

    let map = RegisterMap {
        name: schema.device.name.into(),
        description: schema.device.description.into(),
        bar: schema.device.bar,
        base: schema.device.base,
        overlaps: schema.device.overlaps,
        size: schema.device.size,
        rules: rules.into(),
        registers: registers.into(),
    };
    validate(&map).map_err(|inv| {
        let at = match (inv.rule, inv.register, inv.field) {
            (Some(r), _, _) => schema.access[r].span().start,
            (_, Some(r), Some(f)) => schema.register[order[r]].get_ref().field[f].span().start,
            (_, Some(r), None) => schema.register[order[r]].span().start,
            _ => 0,
        };
        err(at, inv.message)
    })?;
    // Most significant field first, as a datasheet draws them (after the
    // checks, whose field indexes are the file's order).
    let mut map = map;
    for reg in map.registers.to_mut() {
        reg.fields.to_mut().sort_by_key(|f| std::cmp::Reverse(f.lsb));
    }
    make_printable(&mut map);
    Ok(map)
}

/// A map file's free text (descriptions, value names) made safe to print:
/// line breaks and tabs become spaces, other control characters and the
/// bidirectional-text controls are escaped (`\u{1b}`), so a map cannot
/// send escape sequences to a terminal through any front end. (Names of
/// maps, registers and fields are letters, digits, `_` and `-` already.)
pub(crate) fn make_printable(map: &mut RegisterMap) {
    fn fix(t: &mut crate::regmap::model::Text) {
        if let std::borrow::Cow::Owned(s) = crate::text::printable(t) {
            *t = s.into();
        }
    }
    fix(&mut map.description);
    for reg in map.registers.to_mut() {
        fix(&mut reg.description);
        for f in reg.fields.to_mut() {
            fix(&mut f.description);
            for (_, name) in f.values.to_mut() {
                fix(name);
            }
        }
    }
}

#[cfg(feature = "toml")]
fn parse_access(text: &str, what: &str) -> std::result::Result<Access, String> {
    match text.to_ascii_uppercase().as_str() {
        "RO" => Ok(Access::RO),
        "RW" => Ok(Access::RW),
        "WO" => Ok(Access::WO),
        "RW1C" => Ok(Access::RW1C),
        "RW1" => Ok(Access::RW1),
        "W1" => Ok(Access::W1),
        "NA" => Ok(Access::NA),
        other => Err(format!("{what}: access '{}' is not one of RO, RW, WO, RW1C, RW1, W1, NA", clip(other))),
    }
}

#[cfg(feature = "toml")]
fn parse_write(text: &str, what: &str) -> std::result::Result<WriteSemantics, String> {
    super::formats::write_from_name(text).ok_or_else(|| {
        format!(
            "{what}: write '{}' is not one of normal, oneToClear, oneToSet, oneToToggle, \
             zeroToClear, zeroToSet, zeroToToggle, clear, set, modify",
            clip(text)
        )
    })
}

#[cfg(feature = "toml")]
fn parse_read(text: &str, what: &str) -> std::result::Result<ReadAction, String> {
    super::formats::read_from_name(text)
        .ok_or_else(|| format!("{what}: read '{}' is not one of none, clear, set, modify, modifyExternal", clip(text)))
}

#[cfg(feature = "toml")]
/// Build one register from its TOML; errors carry the index of the field at fault.
fn build_register(s: &RegisterSchema) -> std::result::Result<Register, (Option<usize>, String)> {
    let here = |m: String| (None, m);
    let name = clip(&s.name);
    let width = Width::from_bits(s.width).map_err(|e| here(format!("register {name}: {e}")))?;
    let access = parse_access(&s.access, &format!("register {name}")).map_err(here)?;
    let access_width = match s.access_width {
        None => width,
        Some(bits) => Width::from_bits(bits).map_err(|e| here(format!("register {name}: {e}")))?,
    };
    let word_order = match s.word_order.as_deref() {
        None | Some("little") => WordOrder::Little,
        Some("big") => WordOrder::Big,
        Some(other) => return Err(here(format!("register {name}: word_order '{}' is not little or big", clip(other)))),
    };
    let mut fields = Vec::new();
    for (i, spanned) in s.field.iter().enumerate() {
        let f = spanned.get_ref();
        let at = |m: String| (Some(i), m);
        let what = format!("field {name}.{}", clip(&f.name));
        let (msb, lsb) = match &f.bits {
            Bits::One(b) => (*b, *b),
            Bits::Range(text) => parse_bit_range(text)
                .ok_or_else(|| at(format!("{what}: bits '{}' is not 'MSB:LSB' or a bit number", clip(text))))?,
        };
        let mut values = Vec::new();
        match &f.values {
            Values::Table(table) => {
                for (k, v) in table {
                    let value =
                        parse_u64(k).map_err(|_| at(format!("{what}: value key '{}' is not a number", clip(k))))?;
                    values.push((value, Cow::Owned(v.clone())));
                }
            }
            Values::List(list) => values.extend(list.iter().map(|v| (v.value, Cow::Owned(v.name.clone())))),
        }
        values.sort();
        fields.push(Field {
            name: f.name.clone().into(),
            msb,
            lsb,
            description: f.description.clone().into(),
            values: values.into(),
            access: f.access.as_deref().map(|a| parse_access(a, &what)).transpose().map_err(at)?,
            write: f.write.as_deref().map(|w| parse_write(w, &what)).transpose().map_err(at)?.unwrap_or_default(),
            read_action: f.read.as_deref().map(|r| parse_read(r, &what)).transpose().map_err(at)?.unwrap_or_default(),
            reset: f.reset,
        });
    }
    let read_side_effects = s.read_side_effects || fields.iter().any(|f| f.read_action != ReadAction::None);
    Ok(Register {
        name: s.name.clone().into(),
        offset: s.offset,
        width,
        access_width,
        word_order,
        access,
        read_side_effects,
        description: s.description.clone().into(),
        fields: fields.into(),
        reset: s.reset,
    })
}

/// Every rule a map must follow, whatever it was read from: names, access
/// ranges, register alignment, widths and overlaps, fields inside their
/// register, values and resets that fit. Registers must be sorted by offset.
pub fn validate(map: &RegisterMap) -> std::result::Result<(), Invalid> {
    if !is_name(&map.name) {
        return Err(Invalid::map(format!("device name '{}' must be letters, digits, '_' or '-'", clip(&map.name))));
    }
    if map.description.len() > MAX_DESCRIPTION {
        return Err(Invalid::map(format!("the description is longer than {MAX_DESCRIPTION} bytes")));
    }
    if map.bar > 5 {
        return Err(Invalid::map(format!("bar = {} is not a BAR index (0..=5)", map.bar)));
    }
    if map.registers.len() > MAX_REGISTERS {
        return Err(Invalid::map(format!("more than {MAX_REGISTERS} registers")));
    }
    if map.rules.len() > MAX_ACCESS_RULES {
        return Err(Invalid::rule(MAX_ACCESS_RULES, format!("more than {MAX_ACCESS_RULES} access ranges")));
    }
    for (i, r) in map.rules.iter().enumerate() {
        if r.start >= r.end {
            return Err(Invalid::rule(i, format!("access range [{:#x}, {:#x}) is empty", r.start, r.end)));
        }
        if r.widths.is_empty() {
            return Err(Invalid::rule(i, "an access range needs at least one width".into()));
        }
        if let Some(p) = map.rules[..i].iter().find(|p| r.start < p.end && p.start < r.end) {
            return Err(Invalid::rule(
                i,
                format!("access range [{:#x}, {:#x}) overlaps [{:#x}, {:#x})", r.start, r.end, p.start, p.end),
            ));
        }
    }
    let mut names = HashSet::new();
    // Registers are sorted by offset: one overlaps an earlier one exactly when
    // it starts before the furthest end so far (linear, not every pair).
    let mut furthest: Option<&Register> = None;
    for (i, reg) in map.registers.iter().enumerate() {
        check_register(map, reg).map_err(|(f, m)| match f {
            Some(f) => Invalid::field(i, f, m),
            None => Invalid::register(i, m),
        })?;
        if !names.insert(reg.name.to_ascii_lowercase()) {
            return Err(Invalid::register(i, format!("duplicate register name '{}'", reg.name)));
        }
        if i > 0 && map.registers[i - 1].offset > reg.offset {
            return Err(Invalid::register(i, format!("register {} is listed out of offset order", reg.name)));
        }
        let overlapping = furthest.filter(|o| !map.overlaps && reg.offset < o.end());
        if furthest.is_none_or(|f| reg.end() > f.end()) {
            furthest = Some(reg);
        }
        if let Some(other) = overlapping {
            return Err(Invalid::register(
                i,
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
    }
    Ok(())
}

fn check_register(map: &RegisterMap, r: &Register) -> std::result::Result<(), (Option<usize>, String)> {
    let here = |m: String| (None, m);
    if !is_register_name(&r.name) {
        return Err(here(format!(
            "register name '{}' must be letters, digits, '_' or '-' (an array element may end in [N]; no '.')",
            clip(&r.name)
        )));
    }
    if r.description.len() > MAX_DESCRIPTION {
        return Err(here(format!("register {}: the description is longer than {MAX_DESCRIPTION} bytes", r.name)));
    }
    if r.access_width.bits() > r.width.bits() {
        return Err(here(format!(
            "register {}: access_width = {} is wider than the {}-bit register",
            r.name,
            r.access_width.bits(),
            r.width.bits()
        )));
    }
    if r.offset % r.access_width.bytes() != 0 {
        return Err(here(format!("register {} at {:#x} is not aligned to its width ({})", r.name, r.offset, r.width)));
    }
    if r.offset.checked_add(r.width.bytes()).is_none() {
        return Err(here(format!("register {}: offset {:#x} overflows", r.name, r.offset)));
    }
    // Every bus access this register needs must be one the device takes.
    let mut part = r.offset;
    while part < r.end() {
        map.check_raw_access(part, r.access_width).map_err(|_| {
            here(format!(
                "register {} at {:#x}: the device takes no {} access there (see [[access]])",
                r.name, part, r.access_width
            ))
        })?;
        part += r.access_width.bytes();
    }
    if let Some(size) = map.size {
        if r.end() > size {
            return Err(here(format!("register {} at {:#x} lies outside the {size:#x}-byte BAR", r.name, r.offset)));
        }
    }
    if let Some(reset) = r.reset.filter(|v| *v > r.width.max_value()) {
        return Err(here(format!("register {}: reset value {reset:#x} does not fit in {}", r.name, r.width)));
    }
    for (i, f) in r.fields.iter().enumerate() {
        let at = |m: String| (Some(i), m);
        if !is_register_name(&f.name) {
            return Err(at(format!(
                "field name '{}' must be letters, digits, '_' or '-' (or [N] indexes)",
                clip(&f.name)
            )));
        }
        if f.msb < f.lsb {
            return Err(at(format!("field {}.{}: bits {}:{} run backwards", r.name, f.name, f.msb, f.lsb)));
        }
        if f.msb >= r.width.bits() {
            return Err(at(format!(
                "field {}.{} (bits {}:{}) lies outside the {}-bit register",
                r.name,
                f.name,
                f.msb,
                f.lsb,
                r.width.bits()
            )));
        }
        if let Some((v, _)) = f.values.iter().find(|(v, _)| *v > f.max_value()) {
            return Err(at(format!("field {}.{}: value {v:#x} does not fit in {} bits", r.name, f.name, f.bits())));
        }
        if let Some((_, n)) = f.values.iter().find(|(_, n)| n.len() > MAX_NAME) {
            return Err(at(format!("field {}.{}: value name '{}' is too long", r.name, f.name, clip(n))));
        }
        if let Some(reset) = f.reset.filter(|v| *v > f.max_value()) {
            return Err(at(format!(
                "field {}.{}: reset value {reset:#x} does not fit in {} bits",
                r.name,
                f.name,
                f.bits()
            )));
        }
        // Skipped where overlaps are allowed (SVD): fields may be many there.
        if map.overlaps {
            continue;
        }
        let same_name = r.fields[..i].iter().find(|o| o.name.eq_ignore_ascii_case(&f.name));
        if let Some(other) = same_name {
            return Err(at(format!("duplicate field name '{}' in register {}", other.name, r.name)));
        }
        let overlapping = r.fields[..i].iter().find(|o| o.mask() & f.mask() != 0);
        if let Some(other) = overlapping {
            return Err(at(format!("field {}.{} overlaps field {}", r.name, f.name, other.name)));
        }
    }
    Ok(())
}

#[cfg(feature = "toml")]
fn parse_bit_range(text: &str) -> Option<(u32, u32)> {
    let (m, l) = text.split_once(':')?;
    let (msb, lsb) = (m.trim().parse().ok()?, l.trim().parse().ok()?);
    (msb >= lsb).then_some((msb, lsb))
}

/// A name: letters, digits, '_' or '-', at most [`MAX_NAME`] bytes.
pub fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A register name: a name, with array indexes `[N]` after any part of it
/// (`LUT[3]`, `A[1][2]`, `CH[2]_CTRL`: register `CTRL` of element 2 of `CH`).
pub fn is_register_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    if name.is_empty() || name.len() > MAX_NAME || bytes[0] == b'[' {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'[' => {
                let digits = bytes[i + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
                if digits == 0 || bytes.get(i + 1 + digits) != Some(&b']') {
                    return false;
                }
                i += digits + 2;
            }
            b if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' => i += 1,
            _ => return false,
        }
    }
    true
}

/// Longest problem text of a map error: a map's strings are quoted in
/// messages (clipped; the parser's own messages may quote a whole value).
pub const MAX_MESSAGE: usize = 1000;

/// A map error's message, cut at [`MAX_MESSAGE`] characters.
pub(crate) fn clip_message(message: String) -> String {
    match message.char_indices().nth(MAX_MESSAGE) {
        Some((at, _)) => format!("{}…", &message[..at]),
        None => message,
    }
}

/// A name cut short for an error message.
pub(crate) fn clip(name: &str) -> String {
    if name.chars().count() <= 40 {
        name.to_string()
    } else {
        format!("{}…", name.chars().take(40).collect::<String>())
    }
}

/// 1-based line number of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|b| **b == b'\n').count() + 1
}
