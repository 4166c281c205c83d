//! LiteX `csr.csv` and `csr.json`: each `csr_base` is a block; a
//! `csr_register` belongs to the longest block name that prefixes it
//! followed by `_` (the prefix is removed: `timer0_load` is `load` of
//! `timer0`), else to the block with the highest base at or below it. A CSR
//! of `size` n words is `32·n` bits wide, read and written one 32-bit word at
//! a time, most significant word first (LiteX's default `csr_ordering`; the
//! files do not record it). LiteX records no fields, resets or write-only
//! registers: `ro` is RO, `rw` is RW.

use std::collections::BTreeMap;

use crate::error::Result;
use crate::regmap::formats::{finish, implicit_field, invalid, width, Format, MapFile, RawBlock, RawRegister};
use crate::regmap::model::{Access, ReadAction, Register, WordOrder, WriteSemantics};

struct Csr {
    name: String,
    addr: u64,
    words: u64,
    mode: String,
    line: usize,
}

struct Parsed {
    bases: BTreeMap<String, (u64, usize)>,
    csrs: Vec<Csr>,
    constants: BTreeMap<String, String>,
}

/// Parse a LiteX `csr.csv`.
pub fn parse_csv(text: &str, source: &str) -> Result<MapFile> {
    let mut p = Parsed { bases: BTreeMap::new(), csrs: Vec::new(), constants: BTreeMap::new() };
    for (i, l) in text.lines().enumerate() {
        let line = i + 1;
        let l = l.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = l.split(',').map(str::trim).collect();
        let col = |n: usize| cols.get(n).copied().unwrap_or("");
        let num =
            |n: usize| parse_num(col(n)).ok_or_else(|| invalid(source, line, format!("'{}' is not a number", col(n))));
        match col(0) {
            "csr_base" => {
                p.bases.insert(col(1).to_string(), (num(2)?, line));
            }
            "csr_register" => {
                p.csrs.push(Csr { name: col(1).into(), addr: num(2)?, words: num(3)?, mode: col(4).into(), line })
            }
            "constant" => {
                p.constants.insert(col(1).to_string(), col(2).to_string());
            }
            "memory_region" => {}
            other => return Err(invalid(source, line, format!("unknown csr.csv line kind '{other}'"))),
        }
    }
    build(p, Format::LitexCsv, source)
}

/// Parse a LiteX `csr.json` (its objects carry no line numbers: problems
/// with one register name the line where its name is written).
pub fn parse_json(text: &str, source: &str) -> Result<MapFile> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| invalid(source, e.line(), format!("not JSON: {e}")))?;
    let lines = KeyLines::new(text);
    let line_of = |key: &str| lines.line(key);
    if v.get("csr_registers").is_none() {
        return Err(invalid(source, 1, "JSON without csr_registers is not a LiteX csr.json"));
    }
    let mut p = Parsed { bases: BTreeMap::new(), csrs: Vec::new(), constants: BTreeMap::new() };
    let num = |x: &serde_json::Value, what: &str| {
        x.as_u64().ok_or_else(|| invalid(source, line_of(what), format!("{what}: {x} is not a number")))
    };
    for (k, x) in v.get("csr_bases").and_then(|b| b.as_object()).into_iter().flatten() {
        p.bases.insert(k.clone(), (num(x, k)?, line_of(k)));
    }
    for (k, x) in v["csr_registers"].as_object().into_iter().flatten() {
        p.csrs.push(Csr {
            name: k.clone(),
            addr: num(&x["addr"], k)?,
            words: num(&x["size"], k)?,
            mode: x["type"].as_str().unwrap_or("").to_string(),
            line: line_of(k),
        });
    }
    for (k, x) in v.get("constants").and_then(|c| c.as_object()).into_iter().flatten() {
        let text = match x {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        p.constants.insert(k.clone(), text);
    }
    build(p, Format::LitexJson, source)
}

/// The line where each quoted key of JSON text is first written, found in
/// one pass over the text (looking each key up by scanning the whole text
/// again made 20,000 registers take 20 s).
struct KeyLines<'t> {
    lines: std::collections::HashMap<&'t str, usize>,
}

impl<'t> KeyLines<'t> {
    fn new(text: &'t str) -> Self {
        let mut lines = std::collections::HashMap::new();
        let b = text.as_bytes();
        let (mut i, mut line) = (0, 1);
        while i < b.len() {
            match b[i] {
                b'\n' => line += 1,
                b'"' => {
                    // A string: to its closing quote (escapes skipped); a key
                    // when a ':' follows.
                    let start = i + 1;
                    let mut j = start;
                    while j < b.len() && b[j] != b'"' {
                        if b[j] == b'\\' {
                            j += 1;
                        } else if b[j] == b'\n' {
                            line += 1;
                        }
                        j += 1;
                    }
                    let key = text.get(start..j.min(b.len()));
                    let mut k = j + 1;
                    while k < b.len() && b[k].is_ascii_whitespace() && b[k] != b'\n' {
                        k += 1;
                    }
                    if let (Some(key), Some(b':')) = (key, b.get(k)) {
                        lines.entry(key).or_insert(line);
                    }
                    i = j;
                }
                _ => {}
            }
            i += 1;
        }
        KeyLines { lines }
    }

    fn line(&self, key: &str) -> usize {
        self.lines.get(key).copied().unwrap_or(1)
    }
}

fn parse_num(text: &str) -> Option<u64> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => text.parse().ok(),
    }
}

fn build(p: Parsed, format: Format, source: &str) -> Result<MapFile> {
    let constant = |k: &str| p.constants.get(k).and_then(|v| parse_num(v));
    let data_width = constant("config_csr_data_width").unwrap_or(32);
    let alignment = constant("config_csr_alignment").unwrap_or(32);
    if alignment != data_width {
        return Err(invalid(
            source,
            1,
            format!("config_csr_alignment {alignment} differs from config_csr_data_width {data_width}: not supported"),
        ));
    }
    let word = width(data_width, "config_csr_data_width").map_err(|m| invalid(source, 1, m))?;
    let mut blocks: BTreeMap<&str, RawBlock> = p
        .bases
        .iter()
        .map(|(n, (base, line))| {
            (
                n.as_str(),
                RawBlock {
                    name: n.clone(),
                    description: String::new(),
                    base: *base,
                    size: None,
                    line: *line,
                    registers: Vec::new(),
                },
            )
        })
        .collect();
    if p.csrs.len() as u64 > super::MAX_FILE_REGISTERS {
        let line = p.csrs.get(super::MAX_FILE_REGISTERS as usize).map_or(1, |c| c.line);
        return Err(invalid(
            source,
            line,
            format!("more than {} registers in one map file", super::MAX_FILE_REGISTERS),
        ));
    }
    // Blocks by base, for the block at or below an address: one binary
    // search per register, not a scan of every block.
    let mut by_base: Vec<(u64, &str)> = p.bases.iter().map(|(n, (base, _))| (*base, n.as_str())).collect();
    by_base.sort();
    for c in &p.csrs {
        // The longest block name that prefixes it with '_' (each '_' of the
        // name is one candidate, looked up), whose base is at or below it.
        let prefixed = c
            .name
            .match_indices('_')
            .map(|(at, _)| &c.name[..at])
            .filter(|b| p.bases.get(*b).is_some_and(|(base, _)| *base <= c.addr))
            .max_by_key(|b| b.len());
        let (block, short) = match prefixed {
            Some(b) => (b, c.name[b.len() + 1..].to_string()),
            None => {
                let below = by_base.partition_point(|(base, _)| *base <= c.addr);
                let Some((_, b)) = below.checked_sub(1).map(|i| by_base[i]) else {
                    return Err(invalid(source, c.line, format!("register {} lies below every csr_base", c.name)));
                };
                (b, c.name.clone())
            }
        };
        let access = match c.mode.as_str() {
            "ro" => Access::RO,
            "rw" => Access::RW,
            other => return Err(invalid(source, c.line, format!("register {}: unknown type '{other}'", c.name))),
        };
        let bits = c.words.saturating_mul(data_width);
        let w = width(bits, &format!("register {}", c.name)).map_err(|m| invalid(source, c.line, m))?;
        let Some(b) = blocks.get_mut(block) else { continue };
        let mut reg = Register {
            name: short.into(),
            offset: c.addr - b.base,
            width: w,
            access_width: word,
            word_order: WordOrder::Big,
            access,
            read_side_effects: false,
            description: Default::default(),
            fields: Default::default(),
            reset: None,
        };
        reg.fields = vec![implicit_field(&reg, None, ReadAction::None, WriteSemantics::Normal)].into();
        b.registers.push(RawRegister { reg, line: c.line, field_lines: vec![c.line] });
    }
    // LiteX files do not name the SoC: the file's name does.
    let name = std::path::Path::new(source).file_stem().and_then(|s| s.to_str()).unwrap_or("litex");
    let name: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
    finish(source, format, &name, blocks.into_values().collect())
}
