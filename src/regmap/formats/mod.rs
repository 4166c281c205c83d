//! Register maps in the formats people already have: mmiodrv's TOML,
//! IP-XACT (IEEE 1685-2009/-2014/-2022, SPIRIT 1.4/1.5), CMSIS-SVD,
//! SystemRDL (through the reference compiler) and LiteX `csr.csv` /
//! `csr.json`, recognised by content.
//!
//! A file may hold several blocks (IP-XACT address blocks, SVD peripherals,
//! SystemRDL sub-addrmaps, LiteX CSR regions): [`MapFile`] keeps them all and
//! [`MapFile::block`] picks one. Every block goes through the one
//! [`crate::regmap::validate`]; its complaints are reported as `FILE:LINE`.
//! docs/regmap-format.md says what each format keeps and what it loses.

//!
//! Each format is a feature of the library (`toml`, `svd`, `ipxact`,
//! `systemrdl`, `litex`; `formats` is all of them, on by default): a build
//! without one names the feature when it meets such a file.

// The helpers the importers share, when a build has none of them.
#![cfg_attr(not(feature = "formats"), allow(dead_code, unused_imports))]

#[cfg(feature = "ipxact")]
pub mod ipxact;
#[cfg(feature = "litex")]
pub mod litex;
pub mod reading;
#[cfg(feature = "svd")]
pub mod svd;
#[cfg(feature = "systemrdl")]
pub mod systemrdl;
pub mod toml_out;
pub mod write;

use crate::error::MapError;
use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::regmap::loader::{self, read_map_text};
use crate::regmap::model::{Access, Field, ReadAction, Register, RegisterMap, WriteSemantics};

/// The format a map file is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Format {
    /// mmiodrv's own TOML.
    #[serde(rename = "toml")]
    Toml,
    /// IEEE 1685-2009.
    #[serde(rename = "ipxact-2009")]
    IpXact2009,
    /// IEEE 1685-2014.
    #[serde(rename = "ipxact-2014")]
    IpXact2014,
    /// IEEE 1685-2022.
    #[serde(rename = "ipxact-2022")]
    IpXact2022,
    /// SPIRIT 1.5 (before IEEE 1685).
    #[serde(rename = "spirit-1.5")]
    Spirit15,
    /// SPIRIT 1.4.
    #[serde(rename = "spirit-1.4")]
    Spirit14,
    /// CMSIS-SVD.
    #[serde(rename = "svd")]
    Svd,
    /// SystemRDL 2.0.
    #[serde(rename = "systemrdl")]
    SystemRdl,
    /// LiteX `csr.csv`.
    #[serde(rename = "litex-csv")]
    LitexCsv,
    /// LiteX `csr.json`.
    #[serde(rename = "litex-json")]
    LitexJson,
}

impl Format {
    /// Its name in the normalized reading (`ipxact-2014`, `svd`...).
    pub fn name(self) -> &'static str {
        match self {
            Format::Toml => "toml",
            Format::IpXact2009 => "ipxact-2009",
            Format::IpXact2014 => "ipxact-2014",
            Format::IpXact2022 => "ipxact-2022",
            Format::Spirit15 => "spirit-1.5",
            Format::Spirit14 => "spirit-1.4",
            Format::Svd => "svd",
            Format::SystemRdl => "systemrdl",
            Format::LitexCsv => "litex-csv",
            Format::LitexJson => "litex-json",
        }
    }
}

/// What a file says before it is read: XML (IP-XACT or SVD), JSON, LiteX
/// CSV, TOML or SystemRDL. XML is told apart by its root element when read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Xml,
    Json,
    LitexCsv,
    Toml,
    SystemRdl,
}

fn kind_of(text: &str) -> Kind {
    let text = text.trim_start_matches('\u{feff}');
    let first = text.trim_start();
    if first.starts_with('<') {
        return Kind::Xml;
    }
    if first.starts_with('{') {
        return Kind::Json;
    }
    let line = text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("//"));
    let Some(line) = line else { return Kind::Toml };
    if ["csr_base,", "csr_register,", "constant,", "memory_region,"].iter().any(|p| line.starts_with(p)) {
        return Kind::LitexCsv;
    }
    // TOML: a table header or a key = value line; SystemRDL has neither at the start.
    let toml_key = line.split_once('=').is_some_and(|(k, _)| {
        let k = k.trim();
        !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
    });
    if line.starts_with('[') || toml_key {
        Kind::Toml
    } else {
        Kind::SystemRdl
    }
}

/// A map file: its format and every block in it.
#[derive(Clone, Debug)]
pub struct MapFile {
    /// The file, as named in messages.
    pub source: String,
    /// Its format.
    pub format: Format,
    /// The name of the whole map (the SVD device, the IP-XACT component,
    /// the SystemRDL top addrmap, the TOML `[device]`), what a placed map of
    /// several blocks is called.
    pub name: String,
    /// Where the file's address 0 lies in the BAR unless placed otherwise
    /// (TOML `[device] at`; 0 for the other formats).
    pub at: i64,
    /// Its blocks, in (base, name) order, each with register offsets from
    /// its base.
    pub blocks: Vec<RegisterMap>,
}

/// A map file as `--regmap` and `sim:` name it: `FILE`, or `FILE@OFFSET`
/// to place the file's address 0 at BAR offset OFFSET (`@-0x40000000` for a
/// file of system addresses whose 0x40000000 is the BAR's start).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapSpec {
    /// The file.
    pub path: std::path::PathBuf,
    /// Where its address 0 lies in the BAR, when given.
    pub at: Option<i64>,
}

impl MapSpec {
    /// `FILE` or `FILE@OFFSET` (a file whose own name ends in `@NUMBER` is
    /// taken whole when it exists).
    pub fn parse(text: &str) -> Result<MapSpec> {
        let whole = MapSpec { path: text.into(), at: None };
        let Some((file, at)) = text.rsplit_once('@') else { return Ok(whole) };
        if Path::new(text).exists() || file.is_empty() {
            return Ok(whole);
        }
        let (negative, digits) = match at.strip_prefix('-') {
            Some(d) => (true, d),
            None => (false, at),
        };
        let value = crate::value::parse_u64(digits).map_err(|_| {
            crate::Error::invalid(text, "a map is placed as FILE@OFFSET, OFFSET a number (0x4000, or -0x40000000)")
        })?;
        let at = i64::try_from(value)
            .map(|v| if negative { -v } else { v })
            .map_err(|_| crate::Error::invalid(text, "the placement offset is too large"))?;
        Ok(MapSpec { path: file.into(), at: Some(at) })
    }
}

impl std::fmt::Display for MapSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.at {
            None => write!(f, "{}", self.path.display()),
            Some(at) if at < 0 => write!(f, "{}@-{:#x}", self.path.display(), at.unsigned_abs()),
            Some(at) => write!(f, "{}@{at:#x}", self.path.display()),
        }
    }
}

impl MapFile {
    /// The map of a BAR this file describes: every block (or only `block`)
    /// at its base address moved by `at` (default: the file's own
    /// [`MapFile::at`]). Register offsets are BAR offsets; with several
    /// blocks their names are qualified `BLOCK.REG`, and `BLOCK.REG` finds
    /// a register of a single block too. Blocks that share addresses make a
    /// map with [`RegisterMap::overlaps`].
    pub fn place(&self, block: Option<&str>, at: Option<i64>) -> Result<RegisterMap> {
        let chosen: Vec<&RegisterMap> = match block {
            Some(name) => vec![self.block(Some(name))?],
            None => self.blocks.iter().collect(),
        };
        let at = at.unwrap_or(self.at);
        let mut placed = Vec::with_capacity(chosen.len());
        for b in chosen {
            let offset = i128::from(b.base) + i128::from(at);
            let offset = u64::try_from(offset).map_err(|_| {
                invalid(
                    &self.source,
                    1,
                    format!(
                        "block {} at address {:#x} placed {at:+#x} would start at BAR offset {offset:#x}, outside the BAR",
                        b.name, b.base
                    ),
                )
            })?;
            placed.push((b, offset));
        }
        placed.sort_by(|(x, xo), (y, yo)| (*xo, &x.name).cmp(&(*yo, &y.name)));
        let qualify = placed.len() > 1;
        let mut registers = Vec::with_capacity(placed.iter().map(|(b, _)| b.registers.len()).sum());
        let mut blocks = Vec::with_capacity(placed.len());
        let with_rules = placed.iter().any(|(b, _)| !b.rules.is_empty());
        let mut rules = Vec::new();
        let (mut overlaps, mut furthest, mut size) = (false, 0u64, None::<u64>);
        for (b, offset) in &placed {
            let first = registers.len();
            for r in b.registers.iter() {
                let mut reg = r.clone();
                reg.offset = offset
                    .checked_add(r.offset)
                    .filter(|o| o.checked_add(r.width.bytes()).is_some())
                    .ok_or_else(|| {
                        invalid(
                            &self.source,
                            1,
                            format!("register {}.{} lies beyond the end of the BAR", b.name, r.name),
                        )
                    })?;
                if qualify {
                    reg.name = format!("{}.{}", b.name, r.name).into();
                }
                overlaps |= reg.offset < furthest && first > 0;
                registers.push(reg);
            }
            furthest = furthest.max(registers[first..].iter().map(Register::end).max().unwrap_or(0));
            overlaps |= b.overlaps;
            if with_rules {
                if b.rules.is_empty() {
                    if let Some(end) = registers[first..].iter().map(Register::end).max() {
                        let all = [
                            crate::mmio::Width::W8,
                            crate::mmio::Width::W16,
                            crate::mmio::Width::W32,
                            crate::mmio::Width::W64,
                        ];
                        rules.push(crate::regmap::model::AccessRule {
                            start: *offset,
                            end,
                            widths: all.to_vec().into(),
                        });
                    }
                } else {
                    for rule in b.rules.iter() {
                        let (Some(start), Some(end)) = (offset.checked_add(rule.start), offset.checked_add(rule.end))
                        else {
                            continue;
                        };
                        rules.push(crate::regmap::model::AccessRule { start, end, widths: rule.widths.clone() });
                    }
                }
            }
            // A TOML map's size is the BAR's; another format's, its block's.
            let end = if self.format == Format::Toml { b.size } else { b.size.and_then(|s| offset.checked_add(s)) };
            if let Some(s) = end {
                size = Some(size.map_or(s, |m: u64| m.max(s)));
            }
            blocks.push(crate::regmap::model::Block {
                name: b.name.clone(),
                description: b.description.clone(),
                base: b.base,
                offset: *offset,
                first,
                end: registers.len(),
            });
        }
        // Rules of blocks that share addresses would overlap: keep the first.
        rules.sort_by_key(|r| r.start);
        let mut kept: Vec<crate::regmap::model::AccessRule> = Vec::with_capacity(rules.len());
        for r in rules {
            if kept.last().is_none_or(|k| k.end <= r.start) {
                kept.push(r);
            }
        }
        let one = (placed.len() == 1).then(|| placed[0].0);
        Ok(RegisterMap {
            name: one.map_or_else(|| self.name.clone().into(), |b| b.name.clone()),
            description: one.map(|b| b.description.clone()).unwrap_or_default(),
            bar: placed.first().map_or(0, |(b, _)| b.bar),
            base: 0,
            size,
            rules: kept.into(),
            registers: registers.into(),
            overlaps,
            blocks: blocks.into(),
        })
    }

    /// The block called `name` (case-insensitive), or the only block when
    /// no name is given. A file of several blocks needs a name; the error
    /// lists them.
    pub fn block(&self, name: Option<&str>) -> Result<&RegisterMap> {
        let names = || self.blocks.iter().map(|b| b.name.to_string()).collect::<Vec<_>>();
        match name {
            Some(n) => self.blocks.iter().find(|b| b.name.eq_ignore_ascii_case(n)).ok_or_else(|| {
                MapError::BlockNotFound { name: n.to_string(), file: self.source.clone(), blocks: names() }.into()
            }),
            None if self.blocks.len() == 1 => Ok(&self.blocks[0]),
            None => Err(MapError::BlockAmbiguous { file: self.source.clone(), blocks: names() }.into()),
        }
    }
}

/// Load a map file of any format, recognised by content (see
/// docs/regmap-format.md, "Recognising the format").
pub fn load_file(path: &Path) -> Result<MapFile> {
    let text = read_map_text(path)?;
    let source = path.display().to_string();
    match kind_of(&text) {
        // The compiler is another program (python3): run only on a file
        // that says it is SystemRDL, never on any text that is not TOML.
        #[cfg(feature = "systemrdl")]
        Kind::SystemRdl if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("rdl")) => {
            systemrdl::load(path, &source)
        }
        Kind::SystemRdl => Err(invalid(
            &source,
            1,
            "not a register map mmiodrv reads: not TOML, XML (IP-XACT, CMSIS-SVD) or LiteX CSV/JSON \
             (SystemRDL is compiled only from a file named *.rdl)",
        )),
        _ => parse(&text, &source),
    }
}

/// Load a map file a snapshot or trace names (someone else's file): any
/// format read as data, never SystemRDL, whose compiler is another program.
pub fn load_file_as_data(path: &Path) -> Result<MapFile> {
    let text = read_map_text(path)?;
    let source = path.display().to_string();
    match kind_of(&text) {
        Kind::SystemRdl => Err(invalid(
            &source,
            1,
            "a map a snapshot or trace names is read only as data, never compiled (SystemRDL): give it with --regmap",
        )),
        _ => parse(&text, &source),
    }
}

/// Parse map text of any format but SystemRDL (which needs its compiler and
/// a file); `source` names it in errors.
pub fn parse(text: &str, source: &str) -> Result<MapFile> {
    match kind_of(text) {
        #[cfg(feature = "toml")]
        Kind::Toml => loader::parse_file(text, source),
        #[cfg(feature = "xml")]
        Kind::Xml => xml(text, source),
        #[cfg(feature = "litex")]
        Kind::Json => litex::parse_json(text, source),
        #[cfg(feature = "litex")]
        Kind::LitexCsv => litex::parse_csv(text, source),
        Kind::SystemRdl if cfg!(feature = "systemrdl") => Err(MapError::Invalid {
            file: source.into(),
            line: 1,
            message: "SystemRDL is read from a file by its compiler".into(),
        }
        .into()),
        #[allow(unreachable_patterns)]
        kind => Err(not_built(source, kind)),
    }
}

/// Most registers one map file may expand to, over all its blocks (each
/// block holds at most [`loader::MAX_REGISTERS`]). Arrays (`dim`, nested
/// register files, SystemRDL arrays) are counted against it before anything
/// is expanded, so a 700-byte file cannot ask for ten million registers.
pub const MAX_FILE_REGISTERS: u64 = 4 * loader::MAX_REGISTERS as u64;

/// Most registers, fields and enumerated values together one map file may
/// expand to (counted before expanding, as [`MAX_FILE_REGISTERS`]).
pub const MAX_FILE_ELEMENTS: u64 = 1 << 20;

/// What an array expansion would make, counted before it is made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    /// Registers.
    pub registers: u64,
    /// Registers, fields and enumerated values.
    pub elements: u64,
}

impl Tally {
    pub(crate) const ONE_REGISTER: Tally = Tally { registers: 1, elements: 1 };

    /// `self` repeated `n` times (saturating: a count past the limits is refused anyway).
    pub(crate) fn times(self, n: u64) -> Tally {
        Tally { registers: self.registers.saturating_mul(n), elements: self.elements.saturating_mul(n) }
    }

    /// `self` and `other`.
    pub(crate) fn plus(self, other: Tally) -> Tally {
        Tally {
            registers: self.registers.saturating_add(other.registers),
            elements: self.elements.saturating_add(other.elements),
        }
    }

    /// Why a file that expands to this is refused, if it is.
    pub(crate) fn too_many(self) -> Option<String> {
        if self.registers > MAX_FILE_REGISTERS {
            Some(format!(
                "its arrays expand to {} registers; a map file may hold at most {MAX_FILE_REGISTERS} (counted before expanding)",
                big(self.registers)
            ))
        } else if self.elements > MAX_FILE_ELEMENTS {
            Some(format!(
                "its arrays expand to {} registers, fields and enumerated values; a map file may hold at most {MAX_FILE_ELEMENTS} (counted before expanding)",
                big(self.elements)
            ))
        } else {
            None
        }
    }
}

/// A count as text (`more than 2^64` when it saturated).
fn big(n: u64) -> String {
    if n == u64::MAX {
        "more than 2^64".into()
    } else {
        n.to_string()
    }
}

/// A file of a format this build of the library does not read.
fn not_built(source: &str, kind: Kind) -> Error {
    let (what, feature) = match kind {
        Kind::Toml => ("mmiodrv TOML", "toml"),
        Kind::Xml => ("IP-XACT or CMSIS-SVD", "ipxact, svd"),
        Kind::Json | Kind::LitexCsv => ("LiteX", "litex"),
        Kind::SystemRdl => ("SystemRDL", "systemrdl"),
    };
    let message = format!("this build of mmiodrv reads no {what} maps (the library's feature {feature})");
    MapError::Invalid { file: source.into(), line: 1, message }.into()
}

/// Deepest element nesting read from XML. Register maps nest a dozen levels
/// (SVD clusters, IP-XACT register files add a few); the XML reader recurses
/// per level, so a hostile file nested thousands deep is refused before it is
/// parsed instead of overflowing the stack.
pub const MAX_XML_DEPTH: usize = 100;

/// The line where XML text first nests deeper than [`MAX_XML_DEPTH`]
/// elements, if it does. A scan of tags only (comments, CDATA, processing
/// instructions and declarations are skipped; quoted attribute values may
/// hold '>'); well-formedness is the parser's to judge.
#[cfg(feature = "xml")]
fn too_deep(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    let (mut i, mut depth) = (0usize, 0usize);
    let skip_to = |from: usize, end: &str| text[from..].find(end).map_or(b.len(), |p| from + p + end.len());
    while let Some(p) = text[i..].find('<') {
        let at = i + p;
        let rest = &text[at..];
        if rest.starts_with("<!--") {
            i = skip_to(at, "-->");
        } else if rest.starts_with("<![CDATA[") {
            i = skip_to(at, "]]>");
        } else if rest.starts_with("<?") {
            i = skip_to(at, "?>");
        } else if rest.starts_with("<!") {
            i = skip_to(at, ">");
        } else if rest.starts_with("</") {
            depth = depth.saturating_sub(1);
            i = skip_to(at, ">");
        } else {
            // An opening tag: find its end outside quoted values.
            let mut j = at + 1;
            let mut quote: Option<u8> = None;
            while j < b.len() {
                match (quote, b[j]) {
                    (Some(q), c) if c == q => quote = None,
                    (None, b'"' | b'\'') => quote = Some(b[j]),
                    (None, b'>') => break,
                    _ => {}
                }
                j += 1;
            }
            if j > at + 1 && b.get(j - 1) != Some(&b'/') {
                depth += 1;
                if depth > MAX_XML_DEPTH {
                    return Some(loader::line_of(text, at));
                }
            }
            i = (j + 1).min(b.len());
        }
    }
    None
}

#[cfg(feature = "xml")]
fn xml(text: &str, source: &str) -> Result<MapFile> {
    if let Some(line) = too_deep(text) {
        return Err(invalid(source, line, format!("XML nested deeper than {MAX_XML_DEPTH} elements")));
    }
    let opts = roxmltree::ParsingOptions { allow_dtd: false, nodes_limit: 50_000_000 };
    let doc = roxmltree::Document::parse_with_options(text.trim_start_matches('\u{feff}'), opts).map_err(|e| {
        let pos = e.pos();
        invalid(source, pos.row as usize, format!("not well-formed XML: {e}"))
    })?;
    let root = doc.root_element();
    let ns = root.tag_name().namespace();
    match (root.tag_name().name(), ns) {
        #[cfg(feature = "svd")]
        ("device", None) => {
            if let Some((line, message)) = svd::too_large(&doc) {
                return Err(invalid(source, line, message));
            }
            svd::parse(text, source)
        }
        #[cfg(feature = "ipxact")]
        ("component", Some(ns)) => ipxact::parse(&doc, ns, source),
        #[cfg(not(feature = "svd"))]
        ("device", None) => Err(not_built(source, Kind::Xml)),
        #[cfg(not(feature = "ipxact"))]
        ("component", Some(_)) => Err(not_built(source, Kind::Xml)),
        (name, ns) => Err(invalid(
            source,
            line(&doc, root),
            format!(
                "XML root element '{}{name}' is neither CMSIS-SVD (device) nor IP-XACT (component)",
                ns.map(|n| format!("{{{n}}}")).unwrap_or_default()
            ),
        )),
    }
}

/// The line of an XML node.
#[cfg(feature = "xml")]
pub(crate) fn line(doc: &roxmltree::Document<'_>, node: roxmltree::Node<'_, '_>) -> usize {
    doc.text_pos_at(node.range().start).row as usize
}

/// A map-file error at a line.
pub(crate) fn invalid(source: &str, line: usize, message: impl Into<String>) -> Error {
    MapError::Invalid { file: source.into(), line, message: loader::clip_message(message.into()) }.into()
}

/// A register as an importer builds it, with the lines to name in errors.
#[derive(Clone, Debug)]
pub(crate) struct RawRegister {
    pub reg: Register,
    pub line: usize,
    pub field_lines: Vec<usize>,
}

/// A block as an importer builds it.
#[derive(Clone, Debug)]
pub(crate) struct RawBlock {
    pub name: String,
    pub description: String,
    pub base: u64,
    pub size: Option<u64>,
    pub line: usize,
    pub registers: Vec<RawRegister>,
}

/// Register access where a format declares none: readable if any field is,
/// writable if any is, write-once if every writable field is.
pub(crate) fn derive_access(fields: &[Field]) -> Access {
    let acc = |f: &Field| f.access.unwrap_or(Access::RW);
    let readable = fields.iter().any(|f| acc(f).readable());
    let writable: Vec<Access> = fields.iter().map(acc).filter(|a| a.writable()).collect();
    let once = !writable.is_empty() && writable.iter().all(|a| matches!(a, Access::RW1 | Access::W1));
    match (readable, !writable.is_empty(), once) {
        (true, true, true) => Access::RW1,
        (true, true, false) => Access::RW,
        (true, false, _) => Access::RO,
        (false, true, true) => Access::W1,
        (false, true, false) => Access::WO,
        (false, false, _) => Access::NA,
    }
}

/// The field slice of a register-level reset: `None` unless every bit of
/// the field is defined by `mask`.
pub(crate) fn field_reset(reset: Option<u64>, mask: u64, lsb: u32, msb: u32) -> Option<u64> {
    let reset = reset?;
    let fmask = u64::MAX >> (63 - (msb - lsb));
    ((mask >> lsb) & fmask == fmask).then_some((reset >> lsb) & fmask)
}

/// The register's one full-width field, named like it: what a format that
/// needs fields writes for a register that has none (and what a register
/// of a format without fields is read as).
pub(crate) fn implicit_field(reg: &Register, reset: Option<u64>, read: ReadAction, write: WriteSemantics) -> Field {
    Field {
        name: reg.name.clone(),
        msb: reg.width.bits() - 1,
        lsb: 0,
        description: Default::default(),
        values: Default::default(),
        access: Some(reg.access),
        write,
        read_action: read,
        reset,
    }
}

/// Turn a register's single full-width field named like the register into
/// a register without fields when nothing is lost (the reading gives such a
/// register that field back), so `dump-regs` shows `LIVENESS 0x...` and not
/// `LIVENESS=0x...` in the fields column.
fn collapse_implicit(reg: &mut Register) {
    let [f] = reg.fields.as_ref() else { return };
    let full = f.lsb == 0 && f.msb + 1 == reg.width.bits();
    let same = f.name == reg.name && f.values.is_empty() && f.reset == reg.reset;
    let access = f.access.unwrap_or(reg.access);
    let rw1c = access == Access::RW && reg.access == Access::RW && f.write == WriteSemantics::OneToClear;
    let plain_write = f.write == WriteSemantics::Normal && access == reg.access;
    let read_ok = matches!(f.read_action, ReadAction::None | ReadAction::Clear);
    if !(full && same && read_ok && (plain_write || rw1c)) {
        return;
    }
    if reg.description.is_empty() {
        reg.description = f.description.clone();
    }
    reg.read_side_effects = f.read_action == ReadAction::Clear;
    if rw1c {
        reg.access = Access::RW1C;
    }
    reg.fields = Default::default();
}

/// Whether registers of `map` (sorted by offset) share addresses, or
/// fields of one register share bits or names.
pub(crate) fn has_overlaps(map: &RegisterMap) -> bool {
    let mut furthest = 0u64;
    for (i, r) in map.registers.iter().enumerate() {
        if i > 0 && r.offset < furthest {
            return true;
        }
        furthest = furthest.max(r.end());
        let mut bits = 0u64;
        for (j, f) in r.fields.iter().enumerate() {
            if bits & f.mask() != 0 || r.fields[..j].iter().any(|o| o.name.eq_ignore_ascii_case(&f.name)) {
                return true;
            }
            bits |= f.mask();
        }
    }
    false
}

/// Sort, simplify and validate the blocks an importer built; `name` is
/// the whole map's.
pub(crate) fn finish(source: &str, format: Format, name: &str, raw: Vec<RawBlock>) -> Result<MapFile> {
    let mut blocks = Vec::new();
    let mut problems: Vec<(usize, String)> = Vec::new();
    for mut b in raw {
        b.registers.sort_by(|x, y| (x.reg.offset, &x.reg.name).cmp(&(y.reg.offset, &y.reg.name)));
        let mut registers = Vec::with_capacity(b.registers.len());
        for r in &b.registers {
            let mut reg = r.reg.clone();
            reg.read_side_effects |= reg.fields.iter().any(|f| f.read_action != ReadAction::None);
            collapse_implicit(&mut reg);
            registers.push(reg);
        }
        let map = RegisterMap {
            name: b.name.clone().into(),
            description: b.description.clone().into(),
            bar: 0,
            base: b.base,
            size: b.size,
            rules: Default::default(),
            registers: registers.into(),
            overlaps: false,
            blocks: Default::default(),
        };
        // CMSIS-SVD files may have aliases (cmsis-svd reads them as they
        // are): allowed in a block that has some, checked in the others.
        let map = RegisterMap { overlaps: format == Format::Svd && has_overlaps(&map), ..map };
        for inv in crate::regmap::problems_of(&map) {
            let at = match (inv.register, inv.field) {
                (Some(r), Some(f)) => b.registers[r].field_lines.get(f).copied().unwrap_or(b.registers[r].line),
                (Some(r), None) => b.registers[r].line,
                _ => b.line,
            };
            if problems.len() < loader::MAX_PROBLEMS {
                problems.push((at, loader::clip_message(format!("block {}: {}", b.name, inv.message))));
            }
        }
        let mut map = map;
        for reg in map.registers.to_mut() {
            reg.fields.to_mut().sort_by_key(|f| std::cmp::Reverse(f.lsb));
        }
        loader::make_printable(&mut map);
        blocks.push(map);
    }
    problems.sort_by_key(|(line, _)| *line);
    match problems.len() {
        0 => {}
        1 => return Err(invalid(source, problems[0].0, problems.remove(0).1)),
        _ => return Err(MapError::Problems { file: source.into(), problems }.into()),
    }
    blocks.sort_by(|x, y| (x.base, &x.name).cmp(&(y.base, &y.name)));
    Ok(MapFile { source: source.into(), format, name: name.into(), at: 0, blocks })
}

/// Access from the reading's words (`RO`, `RW`, `WO`, `RW1`, `W1`, `NA`).
pub(crate) fn access_from_reading(word: &str) -> Option<Access> {
    Some(match word {
        "RO" => Access::RO,
        "RW" => Access::RW,
        "WO" => Access::WO,
        "RW1" => Access::RW1,
        "W1" => Access::W1,
        "NA" => Access::NA,
        _ => return None,
    })
}

/// A register width the model takes (8, 16, 32, 64), or the error saying which it is not.
pub(crate) fn width(bits: u64, what: &str) -> std::result::Result<crate::mmio::Width, String> {
    u32::try_from(bits)
        .ok()
        .and_then(|b| crate::mmio::Width::from_bits(b).ok())
        .ok_or_else(|| format!("{what}: a {bits}-bit register is not supported (8, 16, 32 or 64 bits)"))
}

#[cfg(test)]
mod tests;
