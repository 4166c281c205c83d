//! Loading register maps from mmiodrv's TOML format, and the one set of
//! checks ([`validate`]) every map goes through: TOML files, the other
//! formats' importers and the built-in maps alike.
//!
//! TOML problems are reported as `FILE:LINE: problem`; the format is documented
//! in docs/regmap-format.md.

// What only the TOML reader (feature `toml`) uses.
#![cfg_attr(not(feature = "toml"), allow(unused_imports, dead_code))]

use crate::error::MapError;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

#[cfg(feature = "toml")]
use serde::Deserialize;
#[cfg(feature = "toml")]
use toml::Spanned;

use crate::error::{Error, Result};
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
    #[serde(default)]
    block: Vec<Spanned<BlockSchema>>,
}

#[cfg(feature = "toml")]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceSchema {
    name: Spanned<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    bar: u8,
    #[serde(default)]
    base: u64,
    #[serde(default)]
    overlaps: bool,
    size: Option<u64>,
    /// Where the map's address 0 lies in the BAR.
    at: Option<i64>,
}

/// `[[block]]`: one block of a map of several, with its own registers.
#[cfg(feature = "toml")]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BlockSchema {
    name: Spanned<String>,
    #[serde(default)]
    description: String,
    base: Option<Spanned<u64>>,
    #[serde(default)]
    access: Vec<Spanned<AccessRuleSchema>>,
    #[serde(default)]
    register: Vec<Spanned<RegisterSchema>>,
}

#[cfg(feature = "toml")]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccessRuleSchema {
    range: [u64; 2],
    widths: Spanned<Vec<u32>>,
}

#[cfg(feature = "toml")]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterSchema {
    name: Spanned<String>,
    offset: Spanned<u64>,
    width: Spanned<u32>,
    access: Spanned<String>,
    access_width: Option<Spanned<u32>>,
    word_order: Option<Spanned<String>>,
    #[serde(default)]
    read_side_effects: bool,
    reset: Option<Spanned<u64>>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    field: Vec<Spanned<FieldSchema>>,
}

#[cfg(feature = "toml")]
impl RegisterSchema {
    /// Where the value of `key` is written, if it is.
    fn span(&self, key: &str) -> Option<std::ops::Range<usize>> {
        Some(match key {
            "name" => self.name.span(),
            "offset" => self.offset.span(),
            "width" => self.width.span(),
            "access" => self.access.span(),
            "access_width" => self.access_width.as_ref()?.span(),
            "word_order" => self.word_order.as_ref()?.span(),
            "reset" => self.reset.as_ref()?.span(),
            _ => return None,
        })
        .filter(|s| s.end > 0)
    }
}

#[cfg(feature = "toml")]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldSchema {
    name: Spanned<String>,
    bits: Spanned<Bits>,
    #[serde(default)]
    description: String,
    access: Option<Spanned<String>>,
    write: Option<Spanned<String>>,
    read: Option<Spanned<String>>,
    reset: Option<Spanned<u64>>,
    values: Option<Spanned<Values>>,
}

#[cfg(feature = "toml")]
impl FieldSchema {
    fn span(&self, key: &str) -> Option<std::ops::Range<usize>> {
        Some(match key {
            "name" => self.name.span(),
            "bits" => self.bits.span(),
            "access" => self.access.as_ref()?.span(),
            "write" => self.write.as_ref()?.span(),
            "read" => self.read.as_ref()?.span(),
            "reset" => self.reset.as_ref()?.span(),
            "values" => self.values.as_ref()?.span(),
            _ => return None,
        })
        .filter(|s| s.end > 0)
    }
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
/// field in the map, and the key at fault, for the loader to turn into a
/// line number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid {
    /// Index in `map.registers` (None: the map itself or an access rule).
    pub register: Option<usize>,
    /// Index in that register's fields.
    pub field: Option<usize>,
    /// Index in `map.rules`.
    pub rule: Option<usize>,
    /// The key of the register or field at fault (`offset`, `bits`...), when one is.
    pub key: Option<&'static str>,
    /// The problem.
    pub message: String,
}

impl Invalid {
    fn map(message: String) -> Self {
        Invalid { register: None, field: None, rule: None, key: None, message }
    }
    fn rule(i: usize, message: String) -> Self {
        Invalid { register: None, field: None, rule: Some(i), key: None, message }
    }
    fn register(i: usize, key: &'static str, message: String) -> Self {
        Invalid { register: Some(i), field: None, rule: None, key: Some(key), message }
    }
    fn field(i: usize, f: usize, key: &'static str, message: String) -> Self {
        Invalid { register: Some(i), field: Some(f), rule: None, key: Some(key), message }
    }
}

/// Most problems one map reports (a file of a thousand mistakes is fixed in
/// more than one pass).
pub const MAX_PROBLEMS: usize = 1000;

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
        MapError::Invalid { file: path.display().to_string(), line, message: "not UTF-8 text".into() }.into()
    })
}

#[cfg(feature = "toml")]
/// Parse and validate TOML map text of one block; `source` names it in
/// errors. A file of several `[[block]]`s is read by [`parse_file`].
pub fn parse(text: &str, source: &str) -> Result<RegisterMap> {
    parse_file(text, source)?.block(None).cloned()
}

/// The problems found in a TOML file: (byte offset, message).
#[derive(Default)]
struct Problems(Vec<(usize, String)>);

impl Problems {
    fn add(&mut self, at: usize, message: String) {
        if self.0.len() < MAX_PROBLEMS {
            self.0.push((at, message));
        }
    }

    /// The error listing them all, by line (None: there are none).
    fn error(self, text: &str, source: &str) -> Option<Error> {
        let mut lines: Vec<(usize, String)> =
            self.0.into_iter().map(|(at, m)| (line_of(text, at), clip_message(m))).collect();
        lines.sort_by_key(|(l, _)| *l);
        match lines.len() {
            0 => None,
            1 => {
                let (line, message) = lines.remove(0);
                Some(MapError::Invalid { file: source.to_string(), line, message }.into())
            }
            _ => Some(MapError::Problems { file: source.to_string(), problems: lines }.into()),
        }
    }
}

/// A problem message of the TOML reader on one line (it breaks its own
/// messages in lines: `invalid string` / `expected ...`).
fn one_line(message: &str) -> String {
    let parts: Vec<&str> = message.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    parts.join(": ")
}

/// One block of a TOML file as read, with where its parts are written.
#[cfg(feature = "toml")]
struct BlockText<'a> {
    name: String,
    description: String,
    base: u64,
    at: usize,
    rules: &'a [Spanned<AccessRuleSchema>],
    registers: &'a [Spanned<RegisterSchema>],
}

/// Parse and validate a TOML map file: one block (`[[register]]`s at the
/// top), or several (`[[block]]`s, each with its `[[block.register]]`s).
/// Every problem is reported, each at the line of the key at fault, as one
/// error ([`MapError::Problems`] when there are several); a syntax
/// error stops the reading where it is.
#[cfg(feature = "toml")]
pub fn parse_file(text: &str, source: &str) -> Result<crate::regmap::MapFile> {
    let schema: FileSchema = toml::from_str(text).map_err(|e| {
        let at = e.span().map(|s| s.start).unwrap_or(0);
        // The TOML reader stops at a nesting depth (of arrays and inline tables) it will not recurse past.
        let message = match e.message().trim() {
            "recursion limit exceeded" => "nested too deeply (recursion limit exceeded)".to_string(),
            m => one_line(m),
        };
        let mut p = Problems::default();
        p.add(at, message);
        p.error(text, source).unwrap_or_else(|| Error::invalid(source, "not a map"))
    })?;
    let mut problems = Problems::default();
    let total = schema.register.len() + schema.block.iter().map(|b| b.get_ref().register.len()).sum::<usize>();
    if total > MAX_REGISTERS {
        problems.add(0, format!("more than {MAX_REGISTERS} registers"));
        return Err(problems.error(text, source).unwrap_or_else(|| Error::invalid(source, "too large")));
    }
    let d = &schema.device;
    let mut texts = Vec::new();
    if schema.block.is_empty() {
        texts.push(BlockText {
            name: d.name.get_ref().clone(),
            description: d.description.clone(),
            base: d.base,
            at: d.name.span().start,
            rules: &schema.access,
            registers: &schema.register,
        });
    } else {
        if let Some(r) = schema.register.first() {
            problems.add(r.span().start, "a file of [[block]]s has its registers in them ([[block.register]])".into());
        }
        if let Some(r) = schema.access.first() {
            problems
                .add(r.span().start, "a file of [[block]]s has its access ranges in them ([[block.access]])".into());
        }
        for b in &schema.block {
            let bs = b.get_ref();
            texts.push(BlockText {
                name: bs.name.get_ref().clone(),
                description: bs.description.clone(),
                base: bs.base.as_ref().map_or(0, |b| *b.get_ref()),
                at: bs.name.span().start,
                rules: &bs.access,
                registers: &bs.register,
            });
        }
    }
    let mut blocks = Vec::new();
    // Names seen, by lookup (a file may hold many blocks: not every pair).
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (i, b) in texts.iter().enumerate() {
        if let Some(other) = seen.get(&b.name.to_ascii_lowercase()) {
            problems.add(b.at, format!("duplicate block name '{}'", clip(&texts[*other].name)));
        } else {
            seen.insert(b.name.to_ascii_lowercase(), i);
        }
        if let Some(map) = read_block(b, d, &mut problems) {
            blocks.push(map);
        }
    }
    // Blocks must not share addresses (unless the map says registers may).
    if !d.overlaps && problems.0.is_empty() {
        let mut spans: Vec<(u64, u64, usize)> = blocks
            .iter()
            .enumerate()
            .filter_map(|(i, m)| {
                let start = m.registers.iter().map(|r| r.offset).min()?;
                let end = m.registers.iter().map(Register::end).max()?;
                Some((m.base.saturating_add(start), m.base.saturating_add(end), i))
            })
            .collect();
        spans.sort();
        for w in spans.windows(2) {
            if w[1].0 < w[0].1 {
                let (a, b) = (&blocks[w[0].2], &blocks[w[1].2]);
                problems.add(
                    texts[w[1].2].at,
                    format!(
                        "block {} [{:#x}..{:#x}) overlaps block {} at {:#x}",
                        b.name, w[1].0, w[1].1, a.name, w[0].0
                    ),
                );
            }
        }
    }
    if let Some(e) = problems.error(text, source) {
        return Err(e);
    }
    blocks.sort_by(|x, y| (x.base, &x.name).cmp(&(y.base, &y.name)));
    Ok(crate::regmap::MapFile {
        source: source.into(),
        format: crate::regmap::Format::Toml,
        name: d.name.get_ref().clone(),
        at: d.at.unwrap_or(0),
        blocks,
    })
}

/// One block of a TOML file, its problems added to `problems`.
#[cfg(feature = "toml")]
fn read_block(b: &BlockText<'_>, d: &DeviceSchema, problems: &mut Problems) -> Option<RegisterMap> {
    let before = problems.0.len();
    let mut rules = Vec::new();
    for rule in b.rules {
        let r = rule.get_ref();
        match r.widths.get_ref().iter().map(|b| Width::from_bits(*b)).collect::<Result<Vec<_>>>() {
            Ok(widths) => rules.push(AccessRule { start: r.range[0], end: r.range[1], widths: widths.into() }),
            Err(e) => problems.add(r.widths.span().start, e.to_string()),
        }
    }
    // Registers that could not be built are left out of the checks below
    // (their problems are reported already); `index` maps back.
    let mut registers = Vec::new();
    let mut index = Vec::new();
    for (i, spanned) in b.registers.iter().enumerate() {
        let s = spanned.get_ref();
        match build_register(s) {
            Ok(reg) => {
                registers.push(reg);
                index.push(i);
            }
            Err(list) => {
                for (f, key, m) in list {
                    problems.add(span_of(spanned, f, key), m);
                }
            }
        }
    }
    // Sort by offset, remembering where each register was written.
    let mut order: Vec<usize> = (0..registers.len()).collect();
    order.sort_by_key(|i| registers[*i].offset);
    let registers: Vec<Register> = order.iter().map(|i| registers[*i].clone()).collect();
    let map = RegisterMap {
        name: b.name.clone().into(),
        description: b.description.clone().into(),
        bar: d.bar,
        base: b.base,
        overlaps: d.overlaps,
        size: d.size,
        rules: rules.into(),
        registers: registers.into(),
        blocks: Default::default(),
    };
    for inv in problems_of(&map) {
        let at = match (inv.rule, inv.register) {
            (Some(r), _) => b.rules.get(r).map_or(b.at, |r| r.span().start),
            (_, Some(r)) => span_of(&b.registers[index[order[r]]], inv.field, inv.key),
            _ => b.at,
        };
        problems.add(at, inv.message);
    }
    if problems.0.len() > before {
        return None;
    }
    // Most significant field first, as a datasheet draws them (after the
    // checks, whose field indexes are the file's order).
    let mut map = map;
    for reg in map.registers.to_mut() {
        reg.fields.to_mut().sort_by_key(|f| std::cmp::Reverse(f.lsb));
    }
    make_printable(&mut map);
    Some(map)
}

/// Where a register's problem is written: the key at fault, else its field,
/// else the register.
#[cfg(feature = "toml")]
fn span_of(reg: &Spanned<RegisterSchema>, field: Option<usize>, key: Option<&str>) -> usize {
    let s = reg.get_ref();
    let spanned = match field.and_then(|f| s.field.get(f)) {
        Some(f) => key.and_then(|k| f.get_ref().span(k)).unwrap_or(f.span()),
        None => key.and_then(|k| s.span(k)).unwrap_or(reg.span()),
    };
    spanned.start
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
    WriteSemantics::from_reading_name(text).ok_or_else(|| {
        format!(
            "{what}: write '{}' is not one of normal, oneToClear, oneToSet, oneToToggle, \
             zeroToClear, zeroToSet, zeroToToggle, clear, set, modify",
            clip(text)
        )
    })
}

#[cfg(feature = "toml")]
fn parse_read(text: &str, what: &str) -> std::result::Result<ReadAction, String> {
    ReadAction::from_reading_name(text)
        .ok_or_else(|| format!("{what}: read '{}' is not one of none, clear, set, modify, modifyExternal", clip(text)))
}

/// A problem of one register as read: the field (index), the key at fault, the message.
#[cfg(feature = "toml")]
type KeyProblem = (Option<usize>, Option<&'static str>, String);

/// Build one register from its TOML; problems carry the field and the key at fault.
#[cfg(feature = "toml")]
fn build_register(s: &RegisterSchema) -> std::result::Result<Register, Vec<KeyProblem>> {
    let mut problems: Vec<KeyProblem> = Vec::new();
    let name = clip(s.name.get_ref());
    let mut here = |key: &'static str, m: String| problems.push((None, Some(key), m));
    let width = Width::from_bits(*s.width.get_ref()).map_err(|e| here("width", format!("register {name}: {e}"))).ok();
    let access = parse_access(s.access.get_ref(), &format!("register {name}")).map_err(|m| here("access", m)).ok();
    let access_width = match &s.access_width {
        None => width,
        Some(bits) => {
            Width::from_bits(*bits.get_ref()).map_err(|e| here("access_width", format!("register {name}: {e}"))).ok()
        }
    };
    let word_order = match s.word_order.as_ref().map(|w| w.get_ref().as_str()) {
        None | Some("little") => WordOrder::Little,
        Some("big") => WordOrder::Big,
        Some(other) => {
            here("word_order", format!("register {name}: word_order '{}' is not little or big", clip(other)));
            WordOrder::Little
        }
    };
    let mut fields = Vec::new();
    for (i, spanned) in s.field.iter().enumerate() {
        let f = spanned.get_ref();
        let mut at = |key: &'static str, m: String| problems.push((Some(i), Some(key), m));
        let what = format!("field {name}.{}", clip(f.name.get_ref()));
        let (msb, lsb) = match f.bits.get_ref() {
            Bits::One(b) => (*b, *b),
            Bits::Range(text) => parse_bit_range(text).unwrap_or_else(|| {
                at("bits", format!("{what}: bits '{}' is not 'MSB:LSB' or a bit number", clip(text)));
                (0, 0)
            }),
        };
        let mut values = Vec::new();
        match f.values.as_ref().map(|v| v.get_ref()) {
            None => {}
            Some(Values::Table(table)) => {
                for (k, v) in table {
                    match parse_u64(k) {
                        Ok(value) => values.push((value, Cow::Owned(v.clone()))),
                        Err(_) => at("values", format!("{what}: value key '{}' is not a number", clip(k))),
                    }
                }
            }
            Some(Values::List(list)) => values.extend(list.iter().map(|v| (v.value, Cow::Owned(v.name.clone())))),
        }
        values.sort();
        let field_access = f.access.as_ref().map(|a| parse_access(a.get_ref(), &what)).transpose();
        let write = f.write.as_ref().map(|w| parse_write(w.get_ref(), &what)).transpose();
        let read = f.read.as_ref().map(|r| parse_read(r.get_ref(), &what)).transpose();
        let field_access = field_access.map_err(|m| at("access", m)).unwrap_or_default();
        let write = write.map_err(|m| at("write", m)).unwrap_or_default().unwrap_or_default();
        let read_action = read.map_err(|m| at("read", m)).unwrap_or_default().unwrap_or_default();
        fields.push(Field {
            name: f.name.get_ref().clone().into(),
            msb,
            lsb,
            description: f.description.clone().into(),
            values: values.into(),
            access: field_access,
            write,
            read_action,
            reset: f.reset.as_ref().map(|r| *r.get_ref()),
        });
    }
    let (Some(width), Some(access), Some(access_width), true) = (width, access, access_width, problems.is_empty())
    else {
        return Err(problems);
    };
    let read_side_effects = s.read_side_effects || fields.iter().any(|f| f.read_action != ReadAction::None);
    Ok(Register {
        name: s.name.get_ref().clone().into(),
        offset: *s.offset.get_ref(),
        width,
        access_width,
        word_order,
        access,
        read_side_effects,
        description: s.description.clone().into(),
        fields: fields.into(),
        reset: s.reset.as_ref().map(|r| *r.get_ref()),
    })
}

/// Every rule a map must follow, whatever it was read from: names, access
/// ranges, register alignment, widths and overlaps, fields inside their
/// register, values and resets that fit. Registers must be sorted by offset.
/// The first problem; [`problems_of`] lists them all.
pub fn validate(map: &RegisterMap) -> std::result::Result<(), Invalid> {
    match problems_of(map).into_iter().next() {
        Some(p) => Err(p),
        None => Ok(()),
    }
}

/// Every problem [`validate`] finds in `map` (at most [`MAX_PROBLEMS`]), in
/// the map's order.
pub fn problems_of(map: &RegisterMap) -> Vec<Invalid> {
    let mut out = Vec::new();
    let mut add = |p: Invalid| {
        if out.len() < MAX_PROBLEMS {
            out.push(p);
        }
    };
    if !is_name(&map.name) {
        add(Invalid::map(format!("device name '{}' must be letters, digits, '_' or '-'", clip(&map.name))));
    }
    if map.description.len() > MAX_DESCRIPTION {
        add(Invalid::map(format!("the description is longer than {MAX_DESCRIPTION} bytes")));
    }
    if map.bar > 5 {
        add(Invalid::map(format!("bar = {} is not a BAR index (0..=5)", map.bar)));
    }
    if map.registers.len() > MAX_REGISTERS {
        add(Invalid::map(format!("more than {MAX_REGISTERS} registers")));
        return out;
    }
    if map.rules.len() > MAX_ACCESS_RULES {
        add(Invalid::rule(MAX_ACCESS_RULES, format!("more than {MAX_ACCESS_RULES} access ranges")));
        return out;
    }
    for (i, r) in map.rules.iter().enumerate() {
        if r.start >= r.end {
            add(Invalid::rule(i, format!("access range [{:#x}, {:#x}) is empty", r.start, r.end)));
        }
        if r.widths.is_empty() {
            add(Invalid::rule(i, "an access range needs at least one width".into()));
        }
        if let Some(p) = map.rules[..i].iter().find(|p| r.start < p.end && p.start < r.end) {
            add(Invalid::rule(
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
        check_register(map, reg, &mut |f, key, m| match f {
            Some(f) => add(Invalid::field(i, f, key, m)),
            None => add(Invalid::register(i, key, m)),
        });
        if !names.insert(reg.name.to_ascii_lowercase()) {
            add(Invalid::register(i, "name", format!("duplicate register name '{}'", reg.name)));
        }
        if i > 0 && map.registers[i - 1].offset > reg.offset {
            add(Invalid::register(i, "offset", format!("register {} is listed out of offset order", reg.name)));
        }
        let overlapping = furthest.filter(|o| !map.overlaps && reg.offset < o.end());
        if furthest.is_none_or(|f| reg.end() > f.end()) {
            furthest = Some(reg);
        }
        if let Some(other) = overlapping {
            add(Invalid::register(
                i,
                "offset",
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
    out
}

fn check_register(map: &RegisterMap, r: &Register, add: &mut dyn FnMut(Option<usize>, &'static str, String)) {
    let mut here = |key: &'static str, m: String| add(None, key, m);
    if !is_register_name(&r.name) {
        here(
            "name",
            format!(
                "register name '{}' must be letters, digits, '_' or '-' (an array element may end in [N]; no '.')",
                clip(&r.name)
            ),
        );
    }
    if r.description.len() > MAX_DESCRIPTION {
        here("description", format!("register {}: the description is longer than {MAX_DESCRIPTION} bytes", r.name));
    }
    if r.access_width.bits() > r.width.bits() {
        here(
            "access_width",
            format!(
                "register {}: access_width = {} is wider than the {}-bit register",
                r.name,
                r.access_width.bits(),
                r.width.bits()
            ),
        );
    } else if r.offset % r.access_width.bytes() != 0 {
        here("offset", format!("register {} at {:#x} is not aligned to its width ({})", r.name, r.offset, r.width));
    } else if r.offset.checked_add(r.width.bytes()).is_none() {
        here("offset", format!("register {}: offset {:#x} overflows", r.name, r.offset));
    } else {
        // Every bus access this register needs must be one the device takes.
        let mut part = r.offset;
        while part < r.end() {
            if map.check_raw_access(part, r.access_width).is_err() {
                here(
                    "offset",
                    format!(
                        "register {} at {:#x}: the device takes no {} access there (see [[access]])",
                        r.name, part, r.access_width
                    ),
                );
                break;
            }
            part += r.access_width.bytes();
        }
        if let Some(size) = map.size.filter(|size| r.end() > *size) {
            here("offset", format!("register {} at {:#x} lies outside the {size:#x}-byte BAR", r.name, r.offset));
        }
    }
    if let Some(reset) = r.reset.filter(|v| *v > r.width.max_value()) {
        here("reset", format!("register {}: reset value {reset:#x} does not fit in {}", r.name, r.width));
    }
    for (i, f) in r.fields.iter().enumerate() {
        let mut at = |key: &'static str, m: String| add(Some(i), key, m);
        if !is_register_name(&f.name) {
            at("name", format!("field name '{}' must be letters, digits, '_' or '-' (or [N] indexes)", clip(&f.name)));
        }
        if f.msb < f.lsb {
            at("bits", format!("field {}.{}: bits {}:{} run backwards", r.name, f.name, f.msb, f.lsb));
            continue;
        }
        if f.msb >= r.width.bits() {
            at(
                "bits",
                format!(
                    "field {}.{} (bits {}:{}) lies outside the {}-bit register",
                    r.name,
                    f.name,
                    f.msb,
                    f.lsb,
                    r.width.bits()
                ),
            );
            continue;
        }
        if let Some((v, _)) = f.values.iter().find(|(v, _)| *v > f.max_value()) {
            at("values", format!("field {}.{}: value {v:#x} does not fit in {} bits", r.name, f.name, f.bits()));
        }
        if let Some((_, n)) = f.values.iter().find(|(_, n)| n.len() > MAX_NAME) {
            at("values", format!("field {}.{}: value name '{}' is too long", r.name, f.name, clip(n)));
        }
        if let Some(reset) = f.reset.filter(|v| *v > f.max_value()) {
            at(
                "reset",
                format!("field {}.{}: reset value {reset:#x} does not fit in {} bits", r.name, f.name, f.bits()),
            );
        }
        // Skipped where overlaps are allowed (SVD): fields may be many there.
        if map.overlaps {
            continue;
        }
        let same_name = r.fields[..i].iter().find(|o| o.name.eq_ignore_ascii_case(&f.name));
        if let Some(other) = same_name {
            at("name", format!("duplicate field name '{}' in register {}", other.name, r.name));
        }
        let overlapping = r.fields[..i].iter().find(|o| o.msb >= o.lsb && o.msb < 64 && o.mask() & f.mask() != 0);
        if let Some(other) = overlapping {
            at("bits", format!("field {}.{} overlaps field {}", r.name, f.name, other.name));
        }
    }
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
