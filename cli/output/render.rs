//! Results as a person reads them and as a program does: every
//! [`Outcome`] of every command is rendered here, to text lines or to one
//! JSON object (with its `op`), the same way for every front end.

use mmiodrv::command::Report;
use mmiodrv::mmio::Width;
use mmiodrv::outcome::{self, Outcome};
use mmiodrv::pci::config_map::{bar_name, CONFIG_BAR};
use mmiodrv::regmap::RegisterMap;
use mmiodrv::text::hexdump_lines;
use mmiodrv::window::{AccessReport, DumpedRegister, FieldValue, Layout, MapSource, Skipped};

use super::SCHEMA_VERSION;

pub fn hex(value: u64, width: Width) -> String {
    Hex(value, Some(width)).to_string()
}

/// A value in hex as the CLI prints it: `0x` and every digit of the width
/// (`0x0000001f` for 32 bits), or as few as needed with no width (field
/// values: `0x1f`).
#[derive(Clone, Copy)]
pub struct Hex(pub u64, pub Option<Width>);

impl std::fmt::Display for Hex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut buf = Vec::with_capacity(18);
        push_hex(&mut buf, self.0, self.1.map_or(1, Width::hex_digits));
        // push_hex writes ASCII only.
        f.write_str(std::str::from_utf8(&buf).unwrap_or_default())
    }
}

/// Decoded fields as `NAME=0x1 OTHER=0x0 (meaning)`, separated by spaces.
pub struct Fields<'a>(pub &'a [FieldValue]);

impl std::fmt::Display for Fields<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, v) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(&v.name)?;
            f.write_str("=")?;
            Hex(v.value, None).fmt(f)?;
            if let Some(m) = &v.meaning {
                f.write_str(" (")?;
                f.write_str(m)?;
                f.write_str(")")?;
            }
        }
        Ok(())
    }
}

pub fn fields_text(fields: &[FieldValue]) -> String {
    Fields(fields).to_string()
}

/// Where a map comes from, for headings.
pub fn map_source(layout: &Layout, map: &RegisterMap) -> String {
    match &layout.source {
        MapSource::File(p) => p.display().to_string(),
        MapSource::Builtin => format!("built-in {} map", map.name),
    }
}

/// How results are shown.
#[derive(Clone, Copy, Debug, Default)]
pub struct Style {
    /// One JSON object per result.
    pub json: bool,
    /// Only values (`--quiet`).
    pub quiet: bool,
    /// A quiet write that waits for an interrupt shows only the vector.
    pub wait_irq: bool,
}

/// Print one result.
pub fn outcome(o: &Outcome, style: Style) {
    if style.json {
        if let Some(text) = o.json(SCHEMA_VERSION) {
            super::line_with(|out| out.extend_from_slice(text.as_bytes()));
        }
        return;
    }
    let quiet = style.quiet;
    match o {
        Outcome::Read(a) => access_line(a, Arrow::Read, quiet, ""),
        Outcome::Write(a) if quiet && style.wait_irq => {}
        Outcome::Write(a) => access_line(a, Arrow::Write, quiet, ""),
        Outcome::Expect(a) => access_line(
            &AccessReport { fields: Default::default(), ..a.clone() },
            Arrow::Compared,
            quiet,
            " as expected",
        ),
        Outcome::Poll(p) => {
            let after = format!(" after {} read(s)", p.reads);
            access_line(
                &AccessReport { fields: Default::default(), ..p.access.clone() },
                Arrow::Compared,
                quiet,
                &after,
            )
        }
        Outcome::Arm(a) => outln!("{}: {} {} vector(s) armed", a.device, a.vectors, a.kind),
        Outcome::WaitIrq(f) => {
            for e in &f.interrupts {
                if quiet {
                    outln!("{}", e.vector);
                } else {
                    outln!("{}: {} vector {} fired ({} event(s))", f.device, e.kind, e.vector, e.count);
                }
            }
        }
        Outcome::Sleep(_) => {}
        Outcome::DumpRegs(d) => dump_text(d),
        Outcome::Hexdump(h) => hexdump_text(h),
        Outcome::Echo(e) => outln!("{}", e.text),
        Outcome::DmaAlloc(b) => {
            outln!("{}: DMA buffer {}: IOVA {:#x}, {} bytes", b.device, b.info.buffer, b.info.iova, b.info.len)
        }
        Outcome::DmaWrite(w) => outln!("{}: {} bytes into DMA buffer {} at {:#x}", w.device, w.len, w.buffer, w.offset),
        Outcome::DmaRead(b) => {
            for line in hexdump_lines(b.iova + b.offset, &b.data) {
                outln!("{line}");
            }
        }
        Outcome::Maps(m) => maps_text(m),
        Outcome::Report { report, .. } => report_text(report),
    }
}

/// A driver's report, as lines.
pub fn report_text(report: &Report) {
    for line in &report.lines {
        outln!("{line}");
    }
}

/// One access: `DEVICE BAR0 0x0000 ID = 0x010000ed  FIELDS` (then `tail`),
/// or its value alone.
fn access_line(a: &AccessReport, arrow: Arrow, quiet: bool, tail: &str) {
    super::line_with(|out| {
        if quiet {
            push_hex(out, a.readback.unwrap_or(a.value), shown_digits(a));
        } else {
            access_text(out, a, arrow);
            out.extend_from_slice(tail.as_bytes());
        }
    });
}

/// A dump as `dump-regs` prints it; with `diff_reset`, registers that
/// differ from their reset value are marked.
pub fn dump_text(d: &outcome::Dump) {
    let regs = &d.registers;
    outln!("{} {} {} ({})", d.map, d.device, bar_name(d.bar), d.map_source);
    let name_w = regs.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    let mut differ = 0;
    outln!("{:<8}{:<name_w$}  {:<18}  FIELDS", "OFFSET", "NAME", "VALUE");
    for r in regs {
        let (line, differs) = dump_line(r, name_w, d.diff_reset);
        differ += usize::from(differs);
        outln!("{line}");
    }
    if d.diff_reset {
        outln!("{differ} register(s) differ from their reset value");
    }
}

fn dump_line(d: &DumpedRegister, name_w: usize, diff_reset: bool) -> (String, bool) {
    let width = Width::from_bits(d.width).unwrap_or(Width::W64);
    let value = match (d.value, d.skipped) {
        (Some(v), _) => hex(v, width),
        (None, Some(Skipped::WriteOnly)) => "(write-only)".into(),
        (None, Some(Skipped::ReadSideEffects)) => "(not read: read has side effects; --all reads it)".into(),
        (None, Some(Skipped::NotCaptured)) => "(not in the snapshot)".into(),
        (None, None) => "(not read)".into(),
    };
    let mut line =
        format!("{:<8}{:<name_w$}  {:<18}  {}", format!("{:#06x}", d.offset), d.name, value, fields_text(&d.fields));
    if let (true, Some(true), Some(reset)) = (diff_reset, d.differs_from_reset(), d.reset) {
        line = format!("{}  (reset {})", line.trim_end(), hex(reset, width));
        return (line, true);
    }
    (line.trim_end().to_string(), false)
}

/// 32-bit words as `dump-regs` hexdumps them; words not read show as dashes.
pub fn hexdump_text(h: &outcome::Hexdump) {
    outln!("{} {} offset {:#x} length {:#x} (32-bit reads)", h.device, bar_name(h.bar), h.offset, 4 * h.words.len());
    for (i, chunk) in h.words.chunks(4).enumerate() {
        let cells: Vec<String> =
            chunk.iter().map(|v| v.map_or_else(|| "--------".to_string(), |v| format!("{v:08x}"))).collect();
        outln!("{:08x}: {}", h.offset + 16 * i as u64, cells.join(" "));
    }
}

/// `maps`: each BAR or DMA buffer, then the kernel's line for its mapping and its flags.
fn maps_text(m: &outcome::Maps) {
    let device = &m.device;
    if m.maps.is_empty() {
        outln!("{device}: nothing mapped yet (a BAR is mapped at its first read or write)");
    }
    for e in &m.maps {
        let what = match e.iova {
            Some(iova) => format!("{} at IOVA {iova:#x}, {:#x} bytes", e.what, e.len),
            None => format!("{} through {}, {:#x} bytes", e.what, e.via, e.len),
        };
        match &e.mapping {
            Some(p) => {
                outln!("{device}: {what}:");
                outln!("  {}", p.line);
                outln!("  VmFlags: {}", p.vm_flags.join(" "));
            }
            None => outln!("{device}: {what}: not one memory mapping (several areas, pread/pwrite, or simulated)"),
        }
    }
}

/// Hex digits an access's values are shown in: all of the register's, or
/// as few as needed for a field.
fn shown_digits(r: &AccessReport) -> usize {
    match r.field {
        None => (r.width / 4) as usize,
        Some(_) => 1,
    }
}

/// Hex digits a value read with `width` is shown in: all of the width's for
/// a register or an offset, as few as needed for a field (`None`).
pub fn digits_of(width: Option<Width>) -> usize {
    width.map_or(1, |w| w.hex_digits())
}

/// What an access line says between the target and the value.
#[derive(Clone, Copy)]
pub enum Arrow {
    /// A read: `=`.
    Read,
    /// A write: `<-`.
    Write,
    /// A value compared: `==`.
    Compared,
}

impl Arrow {
    /// The arrow with its spaces.
    fn text(self) -> &'static [u8] {
        match self {
            Arrow::Read => b" = ",
            Arrow::Write => b" <- ",
            Arrow::Compared => b" == ",
        }
    }
}

/// The line of an access, without its newline:
/// `0000:00:04.0 BAR0 0x0000 ID = 0x010000ed  MAJOR=0x1 MINOR=0x0 MAGIC=0xed (edu)`,
/// then ` (read back 0x...)` after a verified write. Put together piece by
/// piece, not formatted: a batch prints one per operation.
pub fn access_text(out: &mut Vec<u8>, r: &AccessReport, arrow: Arrow) {
    access_head(out, r, arrow);
    access_value(out, r);
}

/// The start of an access's line, up to its value: what a run of the same
/// read repeats on every line (`0000:00:04.0 BAR0 0x0000 ID = `).
pub fn access_head(out: &mut Vec<u8>, r: &AccessReport, arrow: Arrow) {
    match &r.device {
        mmiodrv::error::DeviceRef::Pci(a) => out.extend_from_slice(&a.text()),
        other => out.extend_from_slice(other.to_string().as_bytes()),
    }
    if r.bar == CONFIG_BAR {
        out.extend_from_slice(b" config ");
    } else {
        out.extend_from_slice(&[b' ', b'B', b'A', b'R', b'0' + r.bar % 10, b' ']);
    }
    push_hex(out, r.offset, 4);
    if let Some(reg) = &r.register {
        out.push(b' ');
        out.extend_from_slice(reg.as_bytes());
        if let Some(f) = &r.field {
            out.push(b'.');
            out.extend_from_slice(f.as_bytes());
        }
    }
    out.extend_from_slice(arrow.text());
}

/// The rest of an access's line: its value, its fields, what was read back.
pub fn access_value(out: &mut Vec<u8>, r: &AccessReport) {
    let digits = shown_digits(r);
    push_hex(out, r.value, digits);
    if let Some((reg, value)) = r.fields.register() {
        for (i, f) in reg.fields.iter().enumerate() {
            field_lead(out, i == 0, &f.name);
            let v = f.extract(value);
            push_digits(out, v, 1);
            if let Some(m) = f.meaning(v) {
                field_meaning(out, m);
            }
        }
    }
    if let Some(back) = r.readback {
        read_back(out, back, digits);
    }
}

/// A field's text up to its value's digits: two spaces before the first
/// field, one between the others, then `NAME=0x`.
fn field_lead(out: &mut Vec<u8>, first: bool, name: &str) {
    out.extend_from_slice(if first { b"  " } else { b" " });
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"=0x");
}

/// A field value's name, after its digits: ` (edu)`.
fn field_meaning(out: &mut Vec<u8>, meaning: &str) {
    out.extend_from_slice(b" (");
    out.extend_from_slice(meaning.as_bytes());
    out.push(b')');
}

/// What a verified write read back, at the end of its line.
fn read_back(out: &mut Vec<u8>, back: u64, digits: usize) {
    out.extend_from_slice(b" (read back ");
    push_hex(out, back, digits);
    out.push(b')');
}

/// An access's line made ready for many values: a run of reads of one
/// target (a script's line repeated) prints the line [`access_text`] makes
/// of the report of each read, which differs between reads only in the
/// value. The parts that do not depend on it (the start of the line, each
/// field's name, each of its named values, a read-back) are rendered once,
/// by the functions [`access_text`] uses; so is the whole text of a narrow
/// field (up to [`TABLE_BITS`] bits) for each value it takes, made the first
/// time it does. A line is then put together in a buffer from copies of 32
/// bytes (no calls to memcpy), a table look-up per field and the value's hex
/// digits, and written out with one copy.
pub struct AccessLine {
    /// The pieces' text, then [`PAD`] bytes, so any piece can be copied 32
    /// bytes at a time.
    text: Vec<u8>,
    /// The line up to the value's digits (`0000:00:04.0 BAR0 0x0000 ID = 0x`).
    head: Piece,
    digits: usize,
    fields: Vec<FieldText>,
    /// A read-back, or nothing.
    tail: Piece,
    /// Whether the longest line fits [`AccessLine::buf`] with room for a
    /// last copy past its end; else the pieces go straight to the output.
    fits: bool,
    /// Where a line is put together.
    buf: Box<[u8; LINE]>,
}

/// Fields this narrow or narrower have their text kept for each value.
pub const TABLE_BITS: u32 = 8;

/// Bytes after the last piece.
const PAD: usize = 32;

/// Bytes of a line put together in [`AccessLine::buf`].
const LINE: usize = 256;

/// Rendered text in [`AccessLine::text`] (none is empty but a missing tail).
#[derive(Clone, Copy, Debug, Default)]
struct Piece {
    at: u32,
    len: u32,
}

/// A field of an [`AccessLine`].
struct FieldText {
    shift: u32,
    mask: u64,
    /// A narrow field's whole text for each value (lead, digits, name),
    /// empty until made; no entries for a wider field.
    texts: Vec<Piece>,
    /// Its text up to its digits (`  NAME=0x`).
    lead: Piece,
    /// Its named values' (` (edu)`), in the map's order (the first of a
    /// value is its name).
    meanings: Vec<(u64, Piece)>,
}

impl FieldText {
    /// The name of `v`, if it has one.
    fn meaning(&self, v: u64) -> Option<Piece> {
        self.meanings.iter().find(|(named, _)| *named == v).map(|(_, m)| *m)
    }
}

impl AccessLine {
    /// The line of `r` (a report [`access_text`] prints with `arrow`), for
    /// any value.
    pub fn new(r: &AccessReport, arrow: Arrow) -> AccessLine {
        let mut line = AccessLine {
            text: vec![0; PAD],
            head: Piece::default(),
            digits: shown_digits(r),
            fields: Vec::new(),
            tail: Piece::default(),
            fits: false,
            buf: Box::new([0; LINE]),
        };
        let mut text = Vec::new();
        access_head(&mut text, r, arrow);
        text.extend_from_slice(b"0x");
        line.head = line.piece(&text);
        // The longest line: every value's digits and every field's longest text.
        let mut longest = line.head.len as usize + 16;
        if let Some((reg, _)) = r.fields.register() {
            for (i, f) in reg.fields.iter().enumerate() {
                text.clear();
                field_lead(&mut text, i == 0, &f.name);
                let lead = line.piece(&text);
                let meanings: Vec<(u64, Piece)> = f
                    .values
                    .iter()
                    .map(|(v, m)| {
                        text.clear();
                        field_meaning(&mut text, m);
                        (*v, line.piece(&text))
                    })
                    .collect();
                longest += (lead.len + meanings.iter().map(|(_, m)| m.len).max().unwrap_or(0)) as usize + 16;
                let texts = if f.bits() <= TABLE_BITS { vec![Piece::default(); 1 << f.bits()] } else { Vec::new() };
                line.fields.push(FieldText { shift: f.lsb, mask: f.max_value(), texts, lead, meanings });
            }
        }
        text.clear();
        if let Some(back) = r.readback {
            read_back(&mut text, back, line.digits);
        }
        line.tail = line.piece(&text);
        line.fits = longest + line.tail.len as usize + 1 + PAD <= LINE && line.text.len() <= u32::MAX as usize / 2;
        line
    }

    /// Keep `bytes` (before the padding) as a piece.
    fn piece(&mut self, bytes: &[u8]) -> Piece {
        let at = self.text.len() - PAD;
        self.text.truncate(at);
        self.text.extend_from_slice(bytes);
        self.text.extend_from_slice(&[0; PAD]);
        Piece { at: at as u32, len: bytes.len() as u32 }
    }

    /// A piece's text.
    fn bytes(&self, p: Piece) -> &[u8] {
        &self.text[p.at as usize..(p.at + p.len) as usize]
    }

    /// The line of the report holding `value`, and its newline: the bytes
    /// [`access_text`] writes for it.
    #[inline]
    pub fn push(&mut self, out: &mut Vec<u8>, value: u64) {
        if !self.fits {
            return self.push_long(out, value);
        }
        loop {
            match self.render(value) {
                Ok(len) => return out.extend_from_slice(&self.buf[..len]),
                Err((i, v)) => self.field_text(i, v),
            }
        }
    }

    /// The line of `value` in the buffer, and its length; or the field whose
    /// text for its value is not made yet, and that value.
    #[inline(always)]
    fn render(&mut self, value: u64) -> std::result::Result<usize, (usize, u64)> {
        let (text, buf) = (self.text.as_slice(), &mut *self.buf);
        let mut at = put(buf, 0, text, self.head);
        at = match short_digits(value, self.digits) {
            // A register's value, always (it has no more digits than its width).
            Some(word) => {
                buf[at..at + 8].copy_from_slice(&word.to_le_bytes());
                at + self.digits
            }
            None => put_digits(buf, at, value, self.digits),
        };
        for (i, f) in self.fields.iter().enumerate() {
            let v = (value >> f.shift) & f.mask;
            at = match f.texts.get(v as usize) {
                Some(p) if p.len > 0 => put(buf, at, text, *p),
                Some(_) => return Err((i, v)),
                None => {
                    at = put(buf, at, text, f.lead);
                    at = put_digits(buf, at, v, 1);
                    match f.meaning(v) {
                        Some(m) => put(buf, at, text, m),
                        None => at,
                    }
                }
            };
        }
        if self.tail.len > 0 {
            at = put(buf, at, text, self.tail);
        }
        buf[at] = b'\n';
        Ok(at + 1)
    }

    /// Make field `i`'s text for `v` (as [`access_value`] makes it).
    #[cold]
    fn field_text(&mut self, i: usize, v: u64) {
        let f = &self.fields[i];
        let mut bytes = self.bytes(f.lead).to_vec();
        push_digits(&mut bytes, v, 1);
        if let Some(m) = f.meaning(v) {
            bytes.extend_from_slice(self.bytes(m));
        }
        let p = self.piece(&bytes);
        self.fields[i].texts[v as usize] = p;
    }

    /// [`AccessLine::push`] of a line that may not fit the buffer.
    #[cold]
    fn push_long(&self, out: &mut Vec<u8>, value: u64) {
        out.extend_from_slice(self.bytes(self.head));
        push_digits(out, value, self.digits);
        for f in &self.fields {
            let v = (value >> f.shift) & f.mask;
            out.extend_from_slice(self.bytes(f.lead));
            push_digits(out, v, 1);
            if let Some(m) = f.meaning(v) {
                out.extend_from_slice(self.bytes(m));
            }
        }
        out.extend_from_slice(self.bytes(self.tail));
        out.push(b'\n');
    }
}

/// Copy piece `p` of `text` to `buf` at `at`, 32 bytes at a time (the bytes
/// past its end are overwritten by what comes next); where it ends.
#[inline(always)]
fn put(buf: &mut [u8; LINE], at: usize, text: &[u8], p: Piece) -> usize {
    let from = p.at as usize;
    buf[at..at + PAD].copy_from_slice(&text[from..from + PAD]);
    if p.len as usize > PAD {
        return put_rest(buf, at, text, p);
    }
    at + p.len as usize
}

/// The rest of a piece longer than 32 bytes.
#[cold]
#[inline(never)]
fn put_rest(buf: &mut [u8; LINE], mut at: usize, text: &[u8], p: Piece) -> usize {
    let (mut from, end) = (p.at as usize, (p.at + p.len) as usize);
    while from < end {
        buf[at..at + PAD].copy_from_slice(&text[from..from + PAD]);
        let n = (end - from).min(PAD);
        (at, from) = (at + n, from + n);
    }
    at
}

/// [`push_digits`] into `buf` at `at`; where they end. (Not inlined: the
/// common cases, a register's value and a narrow field's, are made without
/// it, and would otherwise pay for its second word computed in advance.)
#[inline(never)]
fn put_digits(buf: &mut [u8; LINE], at: usize, value: u64, digits: usize) -> usize {
    let (first, second, n) = hex_words(value, digits);
    buf[at..at + 8].copy_from_slice(&first.to_le_bytes());
    if n > 8 {
        buf[at + n - 8..at + n].copy_from_slice(&second.to_le_bytes());
    }
    at + n
}

/// `0x` and `value` in at least `digits` hex digits (at most 16).
#[inline]
pub fn push_hex(out: &mut Vec<u8>, value: u64, digits: usize) {
    push_hex_after(out, b"", value, digits);
}

/// Nibble k of `x` into byte k, each byte its ASCII hex digit, the most
/// significant first (in memory order).
#[inline(always)]
fn ascii(x: u32) -> u64 {
    let x = u64::from(x);
    let x = (x | (x << 16)) & 0x0000_ffff_0000_ffff;
    let x = (x | (x << 8)) & 0x00ff_00ff_00ff_00ff;
    let x = (x | (x << 4)) & 0x0f0f_0f0f_0f0f_0f0f;
    let letters = ((x + 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101;
    (x + 0x3030_3030_3030_3030 + letters * u64::from(b'a' - b'0' - 10)).swap_bytes()
}

/// `lead` (at most one byte), `0x` and `value` in at least `digits` hex
/// digits (at most 16). The digits are made eight to a word, with no loop,
/// and copied with the lead in one store of known size (no call to memcpy),
/// the unused tail cut off.
#[inline(always)]
fn push_hex_after(out: &mut Vec<u8>, lead: &[u8], value: u64, digits: usize) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let at = lead.len().min(1);
    if value < 16 && digits <= 1 {
        // A field's value, most often: one digit.
        let mut text = [0u8; 4];
        text[..at].copy_from_slice(&lead[..at]);
        text[at..at + 3].copy_from_slice(&[b'0', b'x', HEX[value as usize]]);
        out.extend_from_slice(&text);
        out.truncate(out.len() - (text.len() - (at + 3)));
        return;
    }
    let used = (64 - value.leading_zeros()).div_ceil(4) as usize;
    let n = used.max(digits).clamp(1, 16);
    let len = at + 2 + n;
    let mut text = [0u8; 19];
    text[..at].copy_from_slice(&lead[..at]);
    text[at..at + 2].copy_from_slice(b"0x");
    let d = at + 2;
    if n <= 8 {
        // The last n of the low word's 8 digits, first.
        text[d..d + 8].copy_from_slice(&(ascii(value as u32) >> (8 * (8 - n))).to_le_bytes());
    } else {
        text[d..d + 8].copy_from_slice(&(ascii((value >> 32) as u32) >> (8 * (16 - n))).to_le_bytes());
        text[d + n - 8..d + n].copy_from_slice(&ascii(value as u32).to_le_bytes());
    }
    out.extend_from_slice(&text);
    out.truncate(out.len() - (text.len() - len));
}

/// A value read alone (`--quiet`), and its newline: [`push_hex`]'s text.
#[inline]
pub fn value_line(out: &mut Vec<u8>, value: u64, digits: usize) {
    match short_digits(value, digits) {
        // A register's value, always (it has no more digits than its width).
        Some(word) => {
            let mut text = [0u8; 16];
            text[..2].copy_from_slice(b"0x");
            text[2..10].copy_from_slice(&word.to_le_bytes());
            text[2 + digits] = b'\n';
            out.extend_from_slice(&text);
            out.truncate(out.len() - (16 - (digits + 3)));
        }
        None => {
            push_hex(out, value, digits);
            out.push(b'\n');
        }
    }
}

/// `value`'s `digits` hex digits as a word of text, when that is all of
/// them and there are 1 to 8: [`hex_words`] with no choices to make.
#[inline(always)]
fn short_digits(value: u64, digits: usize) -> Option<u64> {
    ((1..=8).contains(&digits) && value >> (4 * digits) == 0).then(|| ascii(value as u32) >> (8 * (8 - digits)))
}

/// `value`'s hex digits without `0x`, at least `digits` of them (at most
/// 16), as [`push_hex_after`] makes them.
#[inline(always)]
fn push_digits(out: &mut Vec<u8>, value: u64, digits: usize) {
    let (first, second, n) = hex_words(value, digits);
    let mut text = [0u8; 16];
    text[..8].copy_from_slice(&first.to_le_bytes());
    if n > 8 {
        text[n - 8..n].copy_from_slice(&second.to_le_bytes());
    }
    out.extend_from_slice(&text);
    out.truncate(out.len() - (16 - n));
}

/// `value`'s `n` hex digits (at least `digits`, at most 16) as two words of
/// text: the first `n.min(8)` bytes of the first, and, when `n` is above 8,
/// the second's 8 bytes from byte `n - 8` on (over the first's zeros).
#[inline(always)]
fn hex_words(value: u64, digits: usize) -> (u64, u64, usize) {
    if value < 16 && digits <= 1 {
        // A field's value, most often: one digit.
        return (u64::from(b"0123456789abcdef"[value as usize]), 0, 1);
    }
    let used = (64 - value.leading_zeros()).div_ceil(4) as usize;
    let n = used.max(digits).clamp(1, 16);
    if n <= 8 {
        (ascii(value as u32) >> (8 * (8 - n)), 0, n)
    } else {
        (ascii((value >> 32) as u32) >> (8 * (16 - n)), ascii(value as u32), n)
    }
}

#[cfg(test)]
mod tests {
    /// The word-at-a-time digits are format!'s, for every length and digit.
    #[test]
    fn hex_text_matches_format() {
        let values = [
            0u64,
            1,
            9,
            10,
            15,
            16,
            0xed,
            0x0100_00ed,
            0xdead_beef,
            0x1234_5678_9abc_def0,
            u64::MAX,
            1 << 63,
            0xa0b0_c0d0,
        ];
        for v in values.into_iter().chain((0..64).map(|b| 1u64 << b)).chain((0..64).map(|b| u64::MAX >> b)) {
            for digits in [0, 1, 2, 4, 8, 16, 20] {
                let mut out = b"x".to_vec();
                super::push_hex(&mut out, v, digits);
                let want = format!("x0x{v:0w$x}", w = digits.clamp(1, 16));
                assert_eq!(String::from_utf8(out).unwrap(), want, "{v:#x} {digits}");
                let mut line = b"x".to_vec();
                super::value_line(&mut line, v, digits);
                assert_eq!(String::from_utf8(line).unwrap(), format!("{want}\n"), "{v:#x} {digits}");
                let mut eq = b"x".to_vec();
                super::push_hex_after(&mut eq, b"=", v, digits);
                assert_eq!(String::from_utf8(eq).unwrap(), format!("x={}", &want[1..]));
            }
        }
    }

    /// A line made ready for many values ([`super::AccessLine`]) is, for
    /// every value, the line [`super::access_text`] makes of the report:
    /// registers with narrow and wide fields, named values (one named
    /// twice), names long enough that a line does not fit the buffer, a
    /// field read alone, a raw offset, a read-back.
    #[test]
    fn a_line_made_ready_is_the_line_rendered() {
        use mmiodrv::error::DeviceRef;
        use mmiodrv::mmio::{MmioRegion, Width};
        use mmiodrv::window::{Layout, MapSource, Window};

        let long = "L".repeat(40);
        let map = format!(
            "[device]\nname = \"t\"\n[[access]]\nrange = [0, 0x100]\nwidths = [8, 16, 32, 64]\n\
            [[register]]\nname = \"ID\"\noffset = 0\nwidth = 32\naccess = \"RO\"\nfield = [\
              {{ name = \"MAJOR\", bits = \"31:24\" }}, {{ name = \"MINOR\", bits = \"23:16\" }},\
              {{ name = \"MAGIC\", bits = \"7:0\", values = {{ 0xed = \"edu\" }} }} ]\n\
            [[register]]\nname = \"WIDE\"\noffset = 8\nwidth = 64\naccess = \"RW\"\nfield = [\
              {{ name = \"LOW\", bits = \"11:0\", values = {{ 0 = \"none\", 0xfff = \"all\" }} }},\
              {{ name = \"MID\", bits = \"47:12\" }}, {{ name = \"EN\", bits = 63, values = {{ 1 = \"on\" }} }} ]\n\
            [[register]]\nname = \"{long}\"\noffset = 0x10\nwidth = 16\naccess = \"RW\"\nfield = [\
              {{ name = \"{long}A\", bits = \"3:0\", values = {{ 1 = \"{long}\", 2 = \"{long}\" }} }},\
              {{ name = \"{long}B\", bits = \"7:4\", values = {{ 3 = \"{long}\" }} }},\
              {{ name = \"B\", bits = \"15:8\", values = {{ 3 = \"{long}\" }} }} ]\n\
            [[register]]\nname = \"PLAIN\"\noffset = 0x18\nwidth = 8\naccess = \"RW\"\n"
        );
        let map = mmiodrv::regmap::parse(&map, "t.toml").unwrap();
        let layout = Layout {
            device: DeviceRef::Pci("ffff:00:04.0".parse().unwrap()),
            bar: 2,
            len: 0,
            map: Some(map.into()),
            source: MapSource::Builtin,
            force: false,
        };
        let w = Window::new(layout, Box::new(MmioRegion::ram(4096).unwrap()));
        let mut values = vec![0u64, 1, 2, 3, 0xf, 0x10, 0xed, 0xfff, 0x1000, 0x0100_00ed, u64::MAX, 1 << 63];
        let mut x = 0x1234_5678_9abc_def1u64;
        for _ in 0..200 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push(x);
            values.push(x & 0xff);
        }
        for target in ["ID", "WIDE", long.as_str(), "PLAIN", "ID.MAGIC", "WIDE.MID", "0x20", "0x28"] {
            let width = if target == "0x28" { Some(Width::W64) } else { None };
            let r = w.resolve(target, width).unwrap();
            for readback in [None, Some(0x5a)] {
                let mut report = w.report(&r, 0);
                report.readback = readback;
                let mut line = super::AccessLine::new(&report, super::Arrow::Read);
                for &v in values.iter().chain(&values) {
                    let v = v & r.width.max_value();
                    let v = match r.target {
                        mmiodrv::regmap::Target::Field(_, f) => f.extract(v),
                        _ => v,
                    };
                    report.set_value(v);
                    let mut want = Vec::new();
                    super::access_text(&mut want, &report, super::Arrow::Read);
                    want.push(b'\n');
                    let mut got = b"before".to_vec();
                    line.push(&mut got, v);
                    assert_eq!(
                        String::from_utf8_lossy(&got[6..]),
                        String::from_utf8_lossy(&want),
                        "{target} {v:#x} {readback:?}"
                    );
                }
            }
        }
    }
}
