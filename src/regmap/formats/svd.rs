//! CMSIS-SVD, read by the rust-embedded `svd-parser`: each peripheral is a
//! block; `derivedFrom` (peripherals, clusters, registers, fields,
//! enumerations) and `dim` arrays are expanded by svd-parser, register
//! properties (size, access, reset value and mask) inherited from the
//! device, peripheral and cluster. Names as cmsis-svd gives them: clusters
//! joined with `_`, `NAME[%s]` elements as `NAME[i]`, `%s` replaced by the
//! `dimIndex` value, the peripheral's `prependToName`/`appendToName` added.

use std::collections::HashMap;

use roxmltree::{Document, Node, NodeId};

use svd_parser::svd;

use crate::error::Result;
use crate::regmap::formats::{
    field_reset, finish, implicit_field, invalid, line, width, Format, MapFile, RawBlock, RawRegister, Tally,
    MAX_FILE_REGISTERS,
};
use crate::regmap::model::{Access, Field, ReadAction, Register, WordOrder, WriteSemantics};

/// Stand-ins for `[` and `]` around `%s` while svd-parser expands arrays
/// (it would drop the brackets: `CH[%s]` → `CH0`).
const OPEN: char = '\u{1}';
const CLOSE: char = '\u{2}';

/// Parse SVD text.
pub fn parse(text: &str, source: &str) -> Result<MapFile> {
    let config = svd_parser::Config::default().validate_level(svd::ValidateLevel::Disabled);
    let mut device = svd_parser::parse_with_config(text, &config).map_err(|e| {
        let message = format!("{e:#}");
        invalid(source, line_in_message(&message).unwrap_or(1), format!("CMSIS-SVD: {message}"))
    })?;
    let lines = NameLines::new(text);
    if device.address_unit_bits != 8 {
        return Err(invalid(source, 1, format!("addressUnitBits {} (only 8 is supported)", device.address_unit_bits)));
    }
    for p in &mut device.peripherals {
        bracket_peripheral(p);
    }
    svd_parser::expand::expand_properties(&mut device);
    let device = svd_parser::expand::expand(&device).map_err(|e| invalid(source, 1, format!("CMSIS-SVD: {e:#}")))?;
    let mut blocks = Vec::new();
    for p in &device.peripherals {
        let name = unbracket(&p.name);
        let mut regs = Vec::new();
        let prepend = p.prepend_to_name.clone().unwrap_or_default();
        let append = p.append_to_name.clone().unwrap_or_default();
        for rc in p.registers.as_deref().unwrap_or(&[]) {
            let svd::RegisterCluster::Register(r) = rc else { continue };
            let rname = format!("{prepend}{}{append}", unbracket(&r.name));
            regs.push(register(r, rname, &lines).map_err(|m| invalid(source, lines.find(&r.name), m))?);
        }
        blocks.push(RawBlock {
            line: lines.find(&p.name),
            name,
            description: clean(p.description.as_deref()),
            base: p.base_address,
            size: None,
            registers: regs,
        });
    }
    finish(source, Format::Svd, &device.name, blocks)
}

/// What the file's arrays and derivations would expand to, counted on the
/// XML before svd-parser reads it (it expands `dimIndex` ranges while
/// parsing, and `dim` arrays and `derivedFrom` copies when expanding): the
/// line and the reason when that is more than a map file may hold.
/// `derivedFrom` is followed by name (a path's last part; every element of
/// that kind and name counts, the largest taken), so the count is an upper
/// bound; a derivation that reaches itself is refused.
pub(crate) fn too_large(doc: &Document<'_>) -> Option<(usize, String)> {
    let mut c = Counter { doc, memo: HashMap::new(), busy: Vec::new(), index: HashMap::new(), problem: None };
    for n in doc.descendants().filter(|n| n.is_element()) {
        if let Some(name) = child_text(n, "name") {
            c.index.entry((n.tag_name().name(), name)).or_default().push(n.id());
        }
    }
    let peripherals = doc.root_element().children().filter(|n| n.has_tag_name("peripherals"));
    let mut total = Tally::default();
    for p in peripherals.flat_map(|ps| ps.children().filter(|n| n.has_tag_name("peripheral"))) {
        total = total.plus(c.count(p));
        if let Some(p) = c.problem.take() {
            return Some(p);
        }
        if let Some(why) = total.too_many() {
            return Some((line(doc, p), why));
        }
    }
    None
}

fn child<'a, 'i>(n: Node<'a, 'i>, tag: &str) -> Option<Node<'a, 'i>> {
    n.children().find(|c| c.has_tag_name(tag))
}

fn child_text<'a>(n: Node<'a, '_>, tag: &str) -> Option<&'a str> {
    child(n, tag).and_then(|c| c.text()).map(str::trim)
}

/// An SVD scaledNonNegativeInteger (`16`, `0x10`, `#10`, `4k`), saturating.
fn svd_int(text: &str) -> Option<u64> {
    let t = text.trim();
    let (t, scale) = match t.chars().last().map(|c| c.to_ascii_lowercase()) {
        Some('k') => (&t[..t.len() - 1], 1u64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        Some('t') => (&t[..t.len() - 1], 1 << 40),
        _ => (t, 1),
    };
    let v = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")).or_else(|| t.strip_prefix('#')) {
        u64::from_str_radix(h, 16).ok()
    } else {
        t.parse::<u64>().ok()
    };
    v.map(|v| v.saturating_mul(scale))
}

struct Counter<'a, 'i> {
    doc: &'a Document<'i>,
    memo: HashMap<NodeId, Tally>,
    busy: Vec<NodeId>,
    /// Elements by (tag, name), for `derivedFrom`.
    index: HashMap<(&'a str, &'a str), Vec<NodeId>>,
    problem: Option<(usize, String)>,
}

impl<'a, 'i> Counter<'a, 'i> {
    fn refuse(&mut self, n: Node<'a, 'i>, why: String) -> Tally {
        if self.problem.is_none() {
            self.problem = Some((line(self.doc, n), why));
        }
        Tally::default()
    }

    /// How many elements `n`'s `dim` makes (1 without), and its `dimIndex`
    /// checked: a range svd-parser would spell out element by element must
    /// not be larger than a map may hold.
    fn dim(&mut self, n: Node<'a, 'i>) -> u64 {
        if let Some(index) = child_text(n, "dimIndex") {
            if let Some((a, b)) = index.split_once('-') {
                if let (Ok(a), Ok(b)) = (a.trim().parse::<u64>(), b.trim().parse::<u64>()) {
                    let count = b.saturating_sub(a).saturating_add(1);
                    if count > MAX_FILE_REGISTERS {
                        self.refuse(n, format!("dimIndex {index} names {count} elements; a map file may hold at most {MAX_FILE_REGISTERS} registers"));
                        return 0;
                    }
                }
            }
        }
        child_text(n, "dim").and_then(svd_int).unwrap_or(1)
    }

    /// What `n` (a peripheral, cluster, register, field or enumeratedValues)
    /// expands to, its `dim` and what it derives included.
    fn count(&mut self, n: Node<'a, 'i>) -> Tally {
        if let Some(t) = self.memo.get(&n.id()) {
            return *t;
        }
        if self.busy.contains(&n.id()) {
            return self.refuse(n, "derivedFrom leads back to this element".into());
        }
        if self.problem.is_some() || self.busy.len() > 64 {
            return self.refuse(n, "derivedFrom chains deeper than 64 elements".into());
        }
        self.busy.push(n.id());
        let tag = n.tag_name().name();
        let own = match tag {
            "peripheral" => self.children(child(n, "registers")),
            "cluster" => self.children(Some(n)),
            "register" => Tally::ONE_REGISTER.plus(self.children(child(n, "fields"))),
            "field" => Tally { registers: 0, elements: 1 }.plus(self.children_tagged(n, "enumeratedValues")),
            "enumeratedValues" => Tally {
                registers: 0,
                elements: n.children().filter(|c| c.has_tag_name("enumeratedValue")).count() as u64,
            },
            _ => Tally::default(),
        };
        let derived = match n.attribute("derivedFrom") {
            Some(path) => {
                let name = path.rsplit('.').next().unwrap_or(path).trim();
                let ids = self.index.get(&(tag, name)).cloned().unwrap_or_default();
                let mut most = Tally::default();
                for id in ids.into_iter().filter(|id| *id != n.id()) {
                    if let Some(base) = self.doc.get_node(id) {
                        let t = self.count(base);
                        most = Tally {
                            registers: most.registers.max(t.registers),
                            elements: most.elements.max(t.elements),
                        };
                    }
                }
                most
            }
            None => Tally::default(),
        };
        let dim = if matches!(tag, "enumeratedValues") { 1 } else { self.dim(n) };
        let t = own.plus(derived).times(dim);
        self.busy.pop();
        if self.problem.is_none() {
            if let Some(why) = t.too_many() {
                return self.refuse(n, why);
            }
        }
        self.memo.insert(n.id(), t);
        t
    }

    /// The registers and clusters (or fields) under `parent`.
    fn children(&mut self, parent: Option<Node<'a, 'i>>) -> Tally {
        let Some(parent) = parent else { return Tally::default() };
        let mut t = Tally::default();
        for c in parent.children().filter(|c| c.is_element()) {
            if matches!(c.tag_name().name(), "register" | "cluster" | "field") {
                t = t.plus(self.count(c));
            }
        }
        t
    }

    fn children_tagged(&mut self, parent: Node<'a, 'i>, tag: &str) -> Tally {
        let mut t = Tally::default();
        for c in parent.children().filter(|c| c.has_tag_name(tag)) {
            t = t.plus(self.count(c));
        }
        t
    }
}

fn clean(text: Option<&str>) -> String {
    text.map(|d| d.split_whitespace().collect::<Vec<_>>().join(" ")).unwrap_or_default()
}

fn access(a: svd::Access) -> Access {
    match a {
        svd::Access::ReadOnly => Access::RO,
        svd::Access::WriteOnly => Access::WO,
        svd::Access::ReadWrite => Access::RW,
        svd::Access::WriteOnce => Access::W1,
        svd::Access::ReadWriteOnce => Access::RW1,
    }
}

fn read_action(a: svd::ReadAction) -> ReadAction {
    match a {
        svd::ReadAction::Clear => ReadAction::Clear,
        svd::ReadAction::Set => ReadAction::Set,
        svd::ReadAction::Modify => ReadAction::Modify,
        svd::ReadAction::ModifyExternal => ReadAction::ModifyExternal,
    }
}

fn write(w: svd::ModifiedWriteValues) -> WriteSemantics {
    use svd::ModifiedWriteValues as M;
    match w {
        M::OneToClear => WriteSemantics::OneToClear,
        M::OneToSet => WriteSemantics::OneToSet,
        M::OneToToggle => WriteSemantics::OneToToggle,
        M::ZeroToClear => WriteSemantics::ZeroToClear,
        M::ZeroToSet => WriteSemantics::ZeroToSet,
        M::ZeroToToggle => WriteSemantics::ZeroToToggle,
        M::Clear => WriteSemantics::Clear,
        M::Set => WriteSemantics::Set,
        M::Modify => WriteSemantics::Modify,
    }
}

fn register(r: &svd::RegisterInfo, name: String, lines: &NameLines) -> std::result::Result<RawRegister, String> {
    let size = r.properties.size.ok_or_else(|| format!("register {name} has no size"))?;
    let w = width(u64::from(size), &format!("register {name}"))?;
    let reg_access = r.properties.access.map(access).unwrap_or(Access::RW);
    let mask = r.properties.reset_mask.unwrap_or(w.max_value()) & w.max_value();
    let reset = r.properties.reset_value.filter(|_| mask != 0).map(|v| v & mask);
    let reg_read = r.read_action.map(read_action).unwrap_or_default();
    let reg_write = r.modified_write_values.map(write).unwrap_or_default();
    let mut fields = Vec::new();
    let mut field_lines = Vec::new();
    for f in r.fields.as_deref().unwrap_or(&[]) {
        let (lsb, bits) = (f.bit_range.offset, f.bit_range.width);
        if bits == 0 || lsb + bits > 64 {
            return Err(format!("field {name}.{}: bits outside a 64-bit register", f.name));
        }
        let msb = lsb + bits - 1;
        let mut values: Vec<(u64, crate::regmap::model::Text)> = f
            .enumerated_values
            .iter()
            .flat_map(|evs| evs.values.iter())
            .filter_map(|ev| ev.value.map(|v| (v, ev.name.clone().into())))
            .collect();
        values.sort();
        values.dedup();
        fields.push(Field {
            name: unbracket(&f.name).into(),
            msb,
            lsb,
            description: clean(f.description.as_deref()).into(),
            values: values.into(),
            access: Some(f.access.map(access).unwrap_or(reg_access)),
            write: f.modified_write_values.map(write).unwrap_or(reg_write),
            read_action: f.read_action.map(read_action).unwrap_or(reg_read),
            reset: field_reset(reset, mask, lsb, msb),
        });
        field_lines.push(lines.find(&f.name));
    }
    let mut reg = Register {
        name: name.into(),
        offset: u64::from(r.address_offset),
        width: w,
        access_width: w,
        word_order: WordOrder::Little,
        access: reg_access,
        read_side_effects: false,
        description: clean(r.description.as_deref()).into(),
        fields: fields.into(),
        reset,
    };
    if reg.fields.is_empty() {
        let f = implicit_field(&reg, field_reset(reset, mask, 0, w.bits() - 1), reg_read, reg_write);
        reg.fields = vec![f].into();
        field_lines.push(lines.find(&r.name));
    }
    Ok(RawRegister { reg, line: lines.find(&r.name), field_lines })
}

/// `NAME[%s]` with stand-ins for the brackets, in every array of a peripheral.
fn bracket_peripheral(p: &mut svd::Peripheral) {
    if let svd::Peripheral::Array(info, _) = p {
        info.name = bracket(&info.name);
    }
    if let Some(regs) = p.registers.as_mut() {
        bracket_children(regs);
    }
}

fn bracket_children(children: &mut [svd::RegisterCluster]) {
    for rc in children {
        match rc {
            svd::RegisterCluster::Register(svd::Register::Array(info, _)) => info.name = bracket(&info.name),
            svd::RegisterCluster::Register(_) => {}
            svd::RegisterCluster::Cluster(c) => {
                if let svd::Cluster::Array(info, _) = c {
                    info.name = bracket(&info.name);
                }
                let info: &mut svd::ClusterInfo = match c {
                    svd::Cluster::Single(i) | svd::Cluster::Array(i, _) => i,
                };
                bracket_children(&mut info.children);
            }
        }
    }
}

fn bracket(name: &str) -> String {
    name.replace("[%s]", &format!("{OPEN}%s{CLOSE}"))
}

fn unbracket(name: &str) -> String {
    name.replace(OPEN, "[").replace(CLOSE, "]")
}

/// svd-parser's errors end their context with `at ROW:COL`.
fn line_in_message(message: &str) -> Option<usize> {
    let at = message.rfind(" at ")?;
    message[at + 4..].split(':').next()?.trim().parse().ok()
}

/// Where each `<name>` is written, to name a line for a problem svd-parser's
/// model no longer knows the place of: the first element of that name (for
/// an array element, its declaration `NAME[%s]` or `NAME%s`).
struct NameLines {
    lines: HashMap<String, usize>,
}

impl NameLines {
    fn new(text: &str) -> Self {
        let mut lines = HashMap::new();
        for (i, l) in text.lines().enumerate() {
            let mut rest = l;
            while let Some(start) = rest.find("<name>") {
                let after = &rest[start + 6..];
                let Some(end) = after.find("</name>") else { break };
                lines.entry(after[..end].trim().to_string()).or_insert(i + 1);
                rest = &after[end..];
            }
        }
        NameLines { lines }
    }

    fn find(&self, name: &str) -> usize {
        let name = unbracket(name);
        let mut candidates = vec![name.clone()];
        // CH[0]_SRC: the register SRC of the cluster CH[%s].
        if let Some(pos) = name.rfind(']') {
            candidates.push(name[pos + 1..].trim_start_matches('_').to_string());
        }
        // LUT[3] or GPIO3 from LUT[%s] or GPIO%s.
        let base: String = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '[' || c == ']').into();
        candidates.push(format!("{base}[%s]"));
        candidates.push(format!("{base}%s"));
        candidates.iter().find_map(|c| self.lines.get(c).copied()).unwrap_or(1)
    }
}
