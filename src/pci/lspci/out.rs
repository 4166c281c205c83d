//! The decoder's output: lspci's text and the named values it was built
//! from, side by side, one [`Block`] per capability.
//!
//! Decoders write text the way lspci's `printf` calls do (a line may be
//! written in several pieces) and name each value as they format it; the text
//! is cut into lines when a block ends.

use serde::Serialize;

/// Which capability list a block comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum List {
    /// The standard list (from the pointer at 0x34, or 0x14 for CardBus).
    Standard,
    /// The PCI Express extended list (from 0x100).
    Extended,
}

/// What a block is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Kind {
    /// A capability, decoded (or named as unknown) as lspci does.
    Capability {
        /// Capability ID (8 bits standard, 16 bits extended).
        id: u16,
        /// Version of an extended capability (bits 19:16 of its header).
        version: Option<u8>,
    },
    /// The list came back to an offset already seen: `<chain looped>`.
    Looped,
    /// A standard capability with ID 0xff: `<chain broken>`.
    Broken,
    /// The capability header lies outside what could be read: `<access denied>`.
    AccessDenied,
}

/// A decoded value.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum Value {
    /// A flag lspci prints as `Name+` / `Name-`.
    Flag(bool),
    /// A number (counts, sizes, register contents, offsets).
    Number(u64),
    /// A signed number (lspci prints a few fields as C `int`).
    Signed(i64),
    /// A fractional number (power limits).
    Real(f64),
    /// A name from one of lspci's tables (`2.5GT/s`, `Root Port`).
    Text(String),
}

/// One named value of a block: `DevCap.MaxPayload = 256`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Field {
    /// The register (as lspci labels it: `DevCap`, `LnkSta`, `UESta`) and
    /// the field, joined by a dot.
    pub name: String,
    /// Its value.
    pub value: Value,
}

/// One capability as lspci -v/-vv/-vvv prints it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Block {
    /// The list it is in.
    pub list: List,
    /// Its offset in config space (`None` for `<access denied>`, which has none).
    pub offset: Option<u16>,
    /// What it is.
    #[serde(flatten)]
    pub kind: Kind,
    /// lspci's lines, each without its newline, starting with
    /// `\tCapabilities: [40] ...`.
    pub lines: Vec<String>,
    /// The values the lines were built from.
    pub fields: Vec<Field>,
}

/// Collects blocks while the walkers and decoders write.
#[derive(Debug, Default)]
pub(crate) struct Out {
    blocks: Vec<Block>,
    open: Option<Open>,
    register: String,
}

#[derive(Debug)]
struct Open {
    list: List,
    offset: Option<u16>,
    kind: Kind,
    text: String,
    fields: Vec<Field>,
}

impl Out {
    /// Start a new block (ends the one being written). When the block being
    /// written stopped mid-line, lspci's next output continues that line: the
    /// new capability's text then goes on in the same block.
    pub(crate) fn begin(&mut self, list: List, offset: Option<u16>, kind: Kind) {
        if self.open.as_ref().is_some_and(|o| !o.text.is_empty() && !o.text.ends_with('\n')) {
            return;
        }
        self.end();
        self.register.clear();
        self.open = Some(Open { list, offset, kind, text: String::new(), fields: Vec::new() });
    }

    /// Append text to the current block.
    pub(crate) fn put(&mut self, text: &str) {
        if let Some(open) = self.open.as_mut() {
            open.text.push_str(text);
        }
    }

    /// Name the register the next values belong to (`DevCap`).
    pub(crate) fn reg(&mut self, name: &str) {
        self.register.clear();
        self.register.push_str(name);
    }

    fn record(&mut self, name: &str, value: Value) {
        let full = if self.register.is_empty() { name.to_string() } else { format!("{}.{name}", self.register) };
        if let Some(open) = self.open.as_mut() {
            open.fields.push(Field { name: full, value });
        }
    }

    /// A flag: records `name` as set when any bit of `mask` is set in
    /// `value`, and returns lspci's `+` or `-`.
    pub(crate) fn f(&mut self, name: &str, value: impl Into<u64>, mask: u64) -> char {
        let set = value.into() & mask != 0;
        self.record(name, Value::Flag(set));
        if set {
            '+'
        } else {
            '-'
        }
    }

    /// Flags in a row, `Name+ Other-`, as lspci prints most registers.
    pub(crate) fn flags(&mut self, value: impl Into<u64>, flags: &[(&str, u64)]) -> String {
        let value = value.into();
        let mut s = String::new();
        for (i, (name, mask)) in flags.iter().enumerate() {
            if i > 0 {
                s.push(' ');
            }
            s.push_str(name);
            s.push(self.f(name, value, *mask));
        }
        s
    }

    /// A number, recorded and returned for formatting.
    pub(crate) fn n<T: Copy + Into<u64>>(&mut self, name: &str, value: T) -> T {
        self.record(name, Value::Number(value.into()));
        value
    }

    /// A signed number, recorded and returned for formatting.
    pub(crate) fn i<T: Copy + Into<i64>>(&mut self, name: &str, value: T) -> T {
        self.record(name, Value::Signed(value.into()));
        value
    }

    /// A fractional number, recorded and returned.
    pub(crate) fn r(&mut self, name: &str, value: f64) -> f64 {
        self.record(name, Value::Real(value));
        value
    }

    /// A name from a table, recorded and returned.
    pub(crate) fn s<'t>(&mut self, name: &str, value: &'t str) -> &'t str {
        self.record(name, Value::Text(value.to_string()));
        value
    }

    fn end(&mut self) {
        let Some(open) = self.open.take() else { return };
        let mut lines: Vec<String> = open.text.split('\n').map(str::to_string).collect();
        if lines.last().is_some_and(String::is_empty) {
            lines.pop();
        }
        self.blocks.push(Block { list: open.list, offset: open.offset, kind: open.kind, lines, fields: open.fields });
    }

    /// All blocks written.
    pub(crate) fn finish(mut self) -> Vec<Block> {
        self.end();
        self.blocks
    }
}

/// Write formatted text to an [`Out`], as lspci's `printf`.
macro_rules! w {
    ($o:expr, $($arg:tt)*) => {{
        let text = format!($($arg)*);
        $o.put(&text);
    }};
}
pub(crate) use w;

/// C's `%g` for the values lspci prints with it (six significant digits,
/// trailing zeros dropped, exponent form outside 1e-4..1e6).
pub(crate) fn c_g(x: f64) -> String {
    if x == 0.0 {
        return "0".to_string();
    }
    if !x.is_finite() {
        return if x.is_nan() {
            "nan".into()
        } else if x > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    let sci = format!("{x:.5e}");
    let exp: i32 = sci.split_once('e').and_then(|(_, e)| e.parse().ok()).unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let (mantissa, _) = sci.split_once('e').unwrap_or((&sci, ""));
        let mantissa = trim_zeros(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.unsigned_abs());
    }
    let decimals = (5 - exp).max(0) as usize;
    trim_zeros(&format!("{x:.decimals$}")).to_string()
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_g_as_c() {
        assert_eq!(c_g(0.0), "0");
        assert_eq!(c_g(25.0), "25");
        assert_eq!(c_g(f64::from(25.0f32 * 0.1f32)), "2.5");
        assert_eq!(c_g(f64::from(3.0f32 * 0.01f32)), "0.03");
        assert_eq!(c_g(f64::from(255.0f32 * 0.001f32)), "0.255");
        assert_eq!(c_g(600.0), "600");
        assert_eq!(c_g(1234567.0), "1.23457e+06");
        assert_eq!(c_g(0.00001), "1e-05");
    }

    #[test]
    fn unterminated_text_continues_in_next_block() {
        let mut o = Out::default();
        o.begin(List::Standard, Some(0x40), Kind::Capability { id: 0x0d, version: None });
        o.put("\tCapabilities: [40] ");
        o.begin(List::Standard, Some(0x48), Kind::Capability { id: 1, version: None });
        o.put("\tCapabilities: [48] Power Management version 3\n");
        let blocks = o.finish();
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].lines, ["\tCapabilities: [40] \tCapabilities: [48] Power Management version 3"]);
    }

    #[test]
    fn flags_are_named() {
        let mut o = Out::default();
        o.begin(List::Standard, Some(0x40), Kind::Capability { id: 1, version: None });
        o.reg("Flags");
        let s = o.flags(0x8u32, &[("PMEClk", 0x8), ("DSI", 0x20)]);
        assert_eq!(s, "PMEClk+ DSI-");
        let blocks = o.finish();
        assert_eq!(blocks[0].fields[0], Field { name: "Flags.PMEClk".into(), value: Value::Flag(true) });
    }
}
