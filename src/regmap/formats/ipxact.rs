//! IP-XACT (IEEE 1685-2009, -2014, -2022; SPIRIT 1.4 and 1.5): every
//! `addressBlock` of every `memoryMap` is a block; `registerFile`s are joined
//! to their registers' names with `_`, `dim` arrays are unrolled as
//! `NAME[i]`. Numbers must be literals (SystemVerilog `'h10`, `0x10`, `#10`,
//! decimals, 2009's K/M/G/T suffixes); expressions, parameters, banks,
//! type definitions and remaps are refused with the line that uses them.

use roxmltree::{Document, Node};

use crate::error::Result;
use crate::regmap::formats::{
    derive_access, field_reset, finish, implicit_field, invalid, line, width, Format, MapFile, RawBlock, RawRegister,
    Tally,
};
use crate::regmap::model::{Access, Field, ReadAction, Register, WordOrder, WriteSemantics};

const NAMESPACES: &[(&str, Format)] = &[
    ("http://www.spiritconsortium.org/XMLSchema/SPIRIT/1.4", Format::Spirit14),
    ("http://www.spiritconsortium.org/XMLSchema/SPIRIT/1.5", Format::Spirit15),
    ("http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009", Format::IpXact2009),
    ("http://www.accellera.org/XMLSchema/IPXACT/1685-2014", Format::IpXact2014),
    ("http://www.accellera.org/XMLSchema/IPXACT/1685-2022", Format::IpXact2022),
];

type Res<T> = std::result::Result<T, (usize, String)>;

struct Reader<'a, 'input> {
    doc: &'a Document<'input>,
    ns: &'a str,
    v2022: bool,
    field_resets: bool,
    /// What the blocks read so far expand to (arrays counted before they are unrolled).
    expanded: std::cell::Cell<Tally>,
}

/// Parse an IP-XACT component whose root element is in namespace `ns`.
pub fn parse(doc: &Document<'_>, ns: &str, source: &str) -> Result<MapFile> {
    let Some(&(_, format)) = NAMESPACES.iter().find(|(n, _)| *n == ns) else {
        return Err(invalid(
            source,
            line(doc, doc.root_element()),
            format!("component in namespace {ns} is not IP-XACT 1685-2009/2014/2022 or SPIRIT 1.4/1.5"),
        ));
    };
    let r = Reader {
        doc,
        ns,
        v2022: format == Format::IpXact2022,
        field_resets: matches!(format, Format::IpXact2014 | Format::IpXact2022),
        expanded: std::cell::Cell::new(Tally::default()),
    };
    let blocks = r.component(doc.root_element()).map_err(|(l, m)| invalid(source, l, m))?;
    let name = r.text(doc.root_element(), &["name"]).unwrap_or_default();
    finish(source, format, &name, blocks)
}

/// An IP-XACT literal: SystemVerilog (`8'hed`, `'d5`), `0x`/`#` hex with an
/// optional K/M/G/T scale (2009), decimal, or true/false.
pub fn parse_int(text: &str) -> Option<u64> {
    let s: String = text.trim().chars().filter(|c| *c != '_').collect();
    let scale = |c: Option<char>| match c.map(|c| c.to_ascii_lowercase()) {
        None => Some(1u64),
        Some('k') => Some(1 << 10),
        Some('m') => Some(1 << 20),
        Some('g') => Some(1 << 30),
        Some('t') => Some(1 << 40),
        Some(_) => None,
    };
    if let Some((size, rest)) = s.split_once('\'') {
        if !size.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let rest = rest.strip_prefix(['s', 'S']).unwrap_or(rest);
        let mut chars = rest.chars();
        let radix = match chars.next()?.to_ascii_lowercase() {
            'h' => 16,
            'd' => 10,
            'b' => 2,
            'o' => 8,
            _ => return None,
        };
        let digits = chars.as_str();
        return if digits.is_empty() { None } else { u64::from_str_radix(digits, radix).ok() };
    }
    let (digits, radix) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (h, 16)
    } else if let Some(h) = s.strip_prefix('#') {
        (h, 16)
    } else {
        match s.to_ascii_lowercase().as_str() {
            "true" => return Some(1),
            "false" => return Some(0),
            _ => (s.as_str(), 10),
        }
    };
    let last = digits.chars().last()?;
    let (digits, mult) = if radix == 10 && last.is_ascii_alphabetic() || radix == 16 && "kKmMgGtT".contains(last) {
        (&digits[..digits.len() - 1], scale(Some(last))?)
    } else {
        (digits, 1)
    };
    if digits.is_empty() {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()?.checked_mul(mult)
}

/// One field as read, before arrays are unrolled.
struct FieldDecl {
    field: Field,
    line: usize,
    /// (value, mask) of a field-level reset.
    reset: Option<(u64, u64)>,
}

impl<'a, 'input> Reader<'a, 'input> {
    fn child(&self, el: Node<'a, 'input>, name: &str) -> Option<Node<'a, 'input>> {
        el.children()
            .find(|c| c.is_element() && c.tag_name().name() == name && c.tag_name().namespace() == Some(self.ns))
    }

    fn children(&self, el: Node<'a, 'input>, name: &'a str) -> impl Iterator<Item = Node<'a, 'input>> + 'a {
        let ns = self.ns;
        el.children()
            .filter(move |c| c.is_element() && c.tag_name().name() == name && c.tag_name().namespace() == Some(ns))
    }

    fn path(&self, el: Node<'a, 'input>, names: &[&str]) -> Option<Node<'a, 'input>> {
        names.iter().try_fold(el, |at, n| self.child(at, n))
    }

    fn text(&self, el: Node<'a, 'input>, names: &[&str]) -> Option<String> {
        self.path(el, names).map(|n| n.text().unwrap_or("").trim().to_string())
    }

    fn line(&self, el: Node<'_, '_>) -> usize {
        line(self.doc, el)
    }

    fn int(&self, el: Node<'a, 'input>, names: &[&str], what: &str) -> Res<u64> {
        let node =
            self.path(el, names).ok_or_else(|| (self.line(el), format!("{what}: missing {}", names.join("/"))))?;
        let text = node.text().unwrap_or("").trim();
        parse_int(text).ok_or_else(|| {
            (
                self.line(node),
                format!("{what}: '{text}' is not a literal number (expressions and parameters are not supported)"),
            )
        })
    }

    fn opt_int(&self, el: Node<'a, 'input>, names: &[&str], what: &str) -> Res<Option<u64>> {
        match self.path(el, names) {
            None => Ok(None),
            Some(_) => self.int(el, names, what).map(Some),
        }
    }

    fn present(&self, el: Node<'a, 'input>) -> Res<bool> {
        Ok(self.opt_int(el, &["isPresent"], "isPresent")?.is_none_or(|v| v != 0))
    }

    fn refuse(&self, el: Node<'a, 'input>, names: &[&str], what: &str) -> Res<()> {
        for n in names {
            if let Some(node) = self.child(el, n) {
                return Err((self.line(node), format!("{what}: {n} is not supported")));
            }
        }
        Ok(())
    }

    fn name(&self, el: Node<'a, 'input>) -> Res<String> {
        self.text(el, &["name"]).filter(|n| !n.is_empty()).ok_or_else(|| (self.line(el), "missing name".into()))
    }

    fn description(&self, el: Node<'a, 'input>) -> String {
        self.text(el, &["description"]).map(|d| d.split_whitespace().collect::<Vec<_>>().join(" ")).unwrap_or_default()
    }

    /// The declared access of a block, register or field, with the element
    /// that holds its modifiedWriteValue/readAction (2022: the access policy).
    fn access(&self, el: Node<'a, 'input>, field: bool) -> Res<(Option<Access>, Option<Node<'a, 'input>>)> {
        let (word, holder) = if self.v2022 {
            let (list, item) =
                if field { ("fieldAccessPolicies", "fieldAccessPolicy") } else { ("accessPolicies", "accessPolicy") };
            let Some(list) = self.child(el, list) else { return Ok((None, Some(el))) };
            let pols: Vec<_> = self.children(list, item).collect();
            let pol = pols.iter().find(|p| self.child(**p, "modeRef").is_none()).or(pols.first()).copied();
            let Some(pol) = pol else { return Ok((None, Some(el))) };
            (self.child(pol, "access"), Some(pol))
        } else {
            (self.child(el, "access"), Some(el))
        };
        let Some(node) = word else { return Ok((None, holder)) };
        let text = node.text().unwrap_or("").trim();
        let access = match text {
            "read-only" => Access::RO,
            "write-only" => Access::WO,
            "read-write" => Access::RW,
            "writeOnce" => Access::W1,
            "read-writeOnce" => Access::RW1,
            "no-access" => Access::NA,
            other => return Err((self.line(node), format!("unknown access '{other}'"))),
        };
        Ok((Some(access), holder))
    }

    fn dims(&self, el: Node<'a, 'input>, what: &str) -> Res<(Vec<u64>, Option<u64>)> {
        if self.v2022 {
            let Some(arr) = self.child(el, "array") else { return Ok((Vec::new(), None)) };
            let dims = self.children(arr, "dim").map(|d| self.int(d, &[], what)).collect::<Res<Vec<_>>>()?;
            return Ok((dims, self.opt_int(arr, &["stride"], what)?));
        }
        Ok((self.children(el, "dim").map(|d| self.int(d, &[], what)).collect::<Res<Vec<_>>>()?, None))
    }

    fn component(&self, root: Node<'a, 'input>) -> Res<Vec<RawBlock>> {
        let mut blocks = Vec::new();
        let Some(maps) = self.child(root, "memoryMaps") else { return Ok(blocks) };
        for mmap in self.children(maps, "memoryMap") {
            if !self.present(mmap)? {
                continue;
            }
            let name = self.name(mmap)?;
            self.refuse(mmap, &["bank", "subspaceMap", "memoryMapDefinitionRef"], &format!("memoryMap {name}"))?;
            let aub = self.opt_int(mmap, &["addressUnitBits"], "addressUnitBits")?.unwrap_or(8);
            if aub == 0 || aub % 8 != 0 {
                return Err((self.line(mmap), format!("addressUnitBits {aub} is not a multiple of 8")));
            }
            for ab in self.children(mmap, "addressBlock") {
                if self.present(ab)? {
                    blocks.push(self.address_block(ab, aub)?);
                }
            }
        }
        Ok(blocks)
    }

    fn address_block(&self, ab: Node<'a, 'input>, aub: u64) -> Res<RawBlock> {
        let name = self.name(ab)?;
        self.refuse(ab, &["addressBlockDefinitionRef", "array"], &format!("addressBlock {name}"))?;
        let unit = aub / 8;
        let mul =
            |v: u64, at: Node<'_, '_>| v.checked_mul(unit).ok_or((self.line(at), "address overflows".to_string()));
        let base = mul(self.int(ab, &["baseAddress"], &format!("addressBlock {name}"))?, ab)?;
        let range = self.opt_int(ab, &["range"], &format!("addressBlock {name}"))?;
        let (block_access, _) = self.access(ab, false)?;
        let mut block = RawBlock {
            name,
            description: self.description(ab),
            base,
            size: range.and_then(|r| r.checked_mul(unit)),
            line: self.line(ab),
            registers: Vec::new(),
        };
        // Counted before anything is unrolled: nested arrays multiply.
        let total = self.expanded.get().plus(self.tally(ab)?);
        if let Some(why) = total.too_many() {
            return Err((self.line(ab), format!("addressBlock {}: {why}", block.name)));
        }
        self.expanded.set(total);
        self.container(ab, "", 0, aub, block_access, &mut block.registers)?;
        Ok(block)
    }

    /// What the registers and register files under `el` unroll to.
    fn tally(&self, el: Node<'a, 'input>) -> Res<Tally> {
        let mut t = Tally::default();
        for child in el.children().filter(|c| c.is_element() && c.tag_name().namespace() == Some(self.ns)) {
            let tag = child.tag_name().name();
            if !matches!(tag, "register" | "registerFile") || !self.present(child)? {
                continue;
            }
            let (dims, _) = self.dims(child, tag)?;
            let n = dims.iter().fold(1u64, |a, d| a.saturating_mul(*d));
            let one = if tag == "register" {
                let fields = self.children(child, "field").count() as u64;
                let values: usize = self
                    .children(child, "field")
                    .filter_map(|f| self.child(f, "enumeratedValues"))
                    .map(|evs| self.children(evs, "enumeratedValue").count())
                    .sum();
                Tally { registers: 1, elements: 1 + fields + values as u64 }
            } else {
                self.tally(child)?
            };
            t = t.plus(one.times(n));
            if t.too_many().is_some() {
                return Ok(t);
            }
        }
        Ok(t)
    }

    fn container(
        &self,
        el: Node<'a, 'input>,
        prefix: &str,
        offset: u64,
        aub: u64,
        block_access: Option<Access>,
        out: &mut Vec<RawRegister>,
    ) -> Res<()> {
        for child in el.children().filter(|c| c.is_element() && c.tag_name().namespace() == Some(self.ns)) {
            let tag = child.tag_name().name();
            if !matches!(tag, "register" | "registerFile") || !self.present(child)? {
                continue;
            }
            let name = self.name(child)?;
            let off = offset
                .checked_add(self.int(child, &["addressOffset"], &format!("{tag} {name}"))?)
                .ok_or((self.line(child), format!("{tag} {name}: address overflows")))?;
            if tag == "register" {
                self.register(child, &format!("{prefix}{name}"), off, aub, block_access, out)?;
                continue;
            }
            self.refuse(child, &["registerFileDefinitionRef"], &format!("registerFile {name}"))?;
            let (dims, stride) = self.dims(child, &format!("registerFile {name}"))?;
            let stride = match stride {
                Some(s) => s,
                None => self.int(child, &["range"], &format!("registerFile {name}"))?,
            };
            for (flat, suffix) in indexes(&dims) {
                let at = flat
                    .checked_mul(stride)
                    .and_then(|o| o.checked_add(off))
                    .ok_or((self.line(child), format!("registerFile {name}: address overflows")))?;
                self.container(child, &format!("{prefix}{name}{suffix}_"), at, aub, block_access, out)?;
            }
        }
        Ok(())
    }

    fn register(
        &self,
        el: Node<'a, 'input>,
        name: &str,
        offset: u64,
        aub: u64,
        block_access: Option<Access>,
        out: &mut Vec<RawRegister>,
    ) -> Res<()> {
        let at = self.line(el);
        self.refuse(el, &["registerDefinitionRef", "alternateRegisters"], &format!("register {name}"))?;
        let size = self.int(el, &["size"], &format!("register {name}"))?;
        let w = width(size, &format!("register {name}")).map_err(|m| (at, m))?;
        let (dims, stride) = self.dims(el, &format!("register {name}"))?;
        let stride = stride.unwrap_or(size / aub);
        let (reg_access, _) = self.access(el, false)?;
        // 2009 and SPIRIT: a register-level reset value with an optional mask.
        let (mut reg_reset, mut reg_mask) = (None, 0);
        if !self.field_resets {
            if let Some(reset) = self.child(el, "reset") {
                let mask = self.opt_int(reset, &["mask"], &format!("register {name} reset"))?.unwrap_or(w.max_value());
                let value = self.int(reset, &["value"], &format!("register {name} reset"))?;
                reg_mask = mask & w.max_value();
                reg_reset = (reg_mask != 0).then_some(value & reg_mask);
            }
        }
        let mut decls = Vec::new();
        for fl in self.children(el, "field") {
            if self.present(fl)? {
                decls.push(self.field(fl, name, reg_access, block_access, reg_reset, reg_mask)?);
            }
        }
        if self.field_resets && decls.iter().any(|d| d.reset.is_some()) {
            reg_reset =
                Some(decls.iter().filter_map(|d| d.reset.map(|(v, m)| (v & m) << d.field.lsb)).fold(0, |a, b| a | b));
        }
        let description = self.description(el);
        for (flat, suffix) in indexes(&dims) {
            let full = format!("{name}{suffix}");
            let fields: Vec<Field> = decls.iter().map(|d| d.field.clone()).collect();
            let access = reg_access.unwrap_or_else(|| {
                if fields.is_empty() {
                    block_access.unwrap_or(Access::RW)
                } else {
                    derive_access(&fields)
                }
            });
            let byte_offset = flat
                .checked_mul(stride)
                .and_then(|o| o.checked_add(offset))
                .and_then(|o| o.checked_mul(aub / 8))
                .ok_or((at, format!("register {full}: address overflows")))?;
            let mut reg = Register {
                name: full.into(),
                offset: byte_offset,
                width: w,
                access_width: w,
                word_order: WordOrder::Little,
                access,
                read_side_effects: false,
                description: description.clone().into(),
                fields: fields.into(),
                reset: reg_reset,
            };
            let mut field_lines: Vec<usize> = decls.iter().map(|d| d.line).collect();
            if reg.fields.is_empty() {
                let reset =
                    if self.field_resets { reg_reset } else { field_reset(reg_reset, reg_mask, 0, w.bits() - 1) };
                let f = implicit_field(&reg, reset, ReadAction::None, WriteSemantics::Normal);
                reg.fields = vec![f].into();
                field_lines.push(at);
            }
            out.push(RawRegister { reg, line: at, field_lines });
        }
        Ok(())
    }

    fn field(
        &self,
        fl: Node<'a, 'input>,
        reg: &str,
        reg_access: Option<Access>,
        block_access: Option<Access>,
        reg_reset: Option<u64>,
        reg_mask: u64,
    ) -> Res<FieldDecl> {
        let name = self.name(fl)?;
        let what = format!("field {reg}.{name}");
        self.refuse(fl, &["fieldDefinitionRef", "aliasOf", "array"], &what)?;
        let lsb = self.int(fl, &["bitOffset"], &what)?;
        let bits = self.int(fl, &["bitWidth"], &what)?;
        if bits == 0 || lsb + bits > 64 {
            return Err((self.line(fl), format!("{what}: bits {}..{} are outside a 64-bit register", lsb, lsb + bits)));
        }
        let (lsb, msb) = (lsb as u32, (lsb + bits - 1) as u32);
        let (declared, holder) = self.access(fl, true)?;
        let access = declared.or(reg_access).or(block_access).unwrap_or(Access::RW);
        let word = |n: &str| holder.and_then(|h| self.child(h, n));
        let write = match word("modifiedWriteValue") {
            None => WriteSemantics::Normal,
            Some(n) => {
                let t = n.text().unwrap_or("").trim();
                WriteSemantics::from_reading_name(t)
                    .ok_or_else(|| (self.line(n), format!("{what}: modifiedWriteValue '{t}'")))?
            }
        };
        let read_action = match word("readAction") {
            None => ReadAction::None,
            Some(n) => {
                let t = n.text().unwrap_or("").trim();
                ReadAction::from_reading_name(t)
                    .filter(|r| *r != ReadAction::ModifyExternal)
                    .ok_or_else(|| (self.line(n), format!("{what}: readAction '{t}'")))?
            }
        };
        let fmask = u64::MAX >> (64 - bits);
        let mut own_reset = None;
        let reset = if self.field_resets {
            if let Some(rs) = self.child(fl, "resets") {
                if let Some(r) = self.children(rs, "reset").find(|r| r.attribute("resetTypeRef").is_none()) {
                    let v = self.int(r, &["value"], &format!("{what} reset"))?;
                    let m = self.opt_int(r, &["mask"], &format!("{what} reset"))?.map_or(fmask, |m| m & fmask);
                    own_reset = (m != 0).then_some((v & m, m));
                }
            }
            own_reset.filter(|(_, m)| *m == fmask).map(|(v, _)| v)
        } else {
            field_reset(reg_reset, reg_mask, lsb, msb)
        };
        let mut values = Vec::new();
        if let Some(evs) = self.child(fl, "enumeratedValues") {
            self.refuse(evs, &["enumerationDefinitionRef"], &what)?;
            for ev in self.children(evs, "enumeratedValue") {
                let v = self.int(ev, &["value"], &format!("{what} enumeratedValue"))?;
                values.push((v, self.name(ev)?.into()));
            }
        }
        values.sort();
        values.dedup();
        Ok(FieldDecl {
            field: Field {
                name: name.into(),
                msb,
                lsb,
                description: self.description(fl).into(),
                values: values.into(),
                access: Some(access),
                write,
                read_action,
                reset,
            },
            line: self.line(fl),
            reset: own_reset,
        })
    }
}

/// Every element of an array of `dims` (empty: one, not an array): its flat
/// index (last index fastest) and its `[i][j]` suffix, made one at a time
/// (the caller counted the elements first).
pub(crate) fn indexes(dims: &[u64]) -> impl Iterator<Item = (u64, String)> + '_ {
    let total =
        if dims.is_empty() { 1 } else { dims.iter().try_fold(1u64, |a, d| a.checked_mul(*d)).unwrap_or(u64::MAX) };
    (0..total).map(move |flat| {
        let mut rest = flat;
        let mut idx = Vec::with_capacity(dims.len());
        for d in dims.iter().rev() {
            idx.push(rest % d);
            rest /= d;
        }
        (flat, idx.iter().rev().map(|i| format!("[{i}]")).collect())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals() {
        assert_eq!(parse_int("'h10"), Some(16));
        assert_eq!(parse_int("8'hed"), Some(0xed));
        assert_eq!(parse_int("32'd5"), Some(5));
        assert_eq!(parse_int("0x1_0"), Some(16));
        assert_eq!(parse_int("#ff"), Some(255));
        assert_eq!(parse_int("4K"), Some(4096));
        assert_eq!(parse_int("0x1M"), Some(1 << 20));
        assert_eq!(parse_int("12"), Some(12));
        assert_eq!(parse_int("true"), Some(1));
        assert_eq!(parse_int("BASE + 4"), None);
        assert_eq!(parse_int("'h"), None);
    }

    #[test]
    fn array_indexes_last_fastest() {
        let i: Vec<_> = indexes(&[2, 3]).collect();
        assert_eq!(i.len(), 6);
        assert_eq!(i[4], (4, "[1][1]".to_string()));
        assert_eq!(indexes(&[]).collect::<Vec<_>>(), [(0, String::new())]);
    }
}
