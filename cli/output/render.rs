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
        // Two spaces before the first field, one between the others.
        out.push(b' ');
        for f in reg.fields.iter() {
            out.push(b' ');
            out.extend_from_slice(f.name.as_bytes());
            let v = f.extract(value);
            push_hex_after(out, b"=", v, 1);
            if let Some(m) = f.meaning(v) {
                out.extend_from_slice(b" (");
                out.extend_from_slice(m.as_bytes());
                out.push(b')');
            }
        }
    }
    if let Some(back) = r.readback {
        out.extend_from_slice(b" (read back ");
        push_hex(out, back, digits);
        out.push(b')');
    }
}

/// `0x` and `value` in at least `digits` hex digits (at most 16).
#[inline]
pub fn push_hex(out: &mut Vec<u8>, value: u64, digits: usize) {
    push_hex_after(out, b"", value, digits);
}

/// `lead` (at most one byte), `0x` and `value` in at least `digits` hex
/// digits (at most 16). The digits are made eight to a word, with no loop,
/// and copied with the lead in one store of known size (no call to memcpy),
/// the unused tail cut off.
#[inline(always)]
fn push_hex_after(out: &mut Vec<u8>, lead: &[u8], value: u64, digits: usize) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    // Nibble k of `x` into byte k, each byte its ASCII digit, the most
    // significant first.
    fn ascii(x: u32) -> u64 {
        let x = u64::from(x);
        let x = (x | (x << 16)) & 0x0000_ffff_0000_ffff;
        let x = (x | (x << 8)) & 0x00ff_00ff_00ff_00ff;
        let x = (x | (x << 4)) & 0x0f0f_0f0f_0f0f_0f0f;
        let letters = ((x + 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101;
        (x + 0x3030_3030_3030_3030 + letters * u64::from(b'a' - b'0' - 10)).swap_bytes()
    }
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
                let mut eq = b"x".to_vec();
                super::push_hex_after(&mut eq, b"=", v, digits);
                assert_eq!(String::from_utf8(eq).unwrap(), format!("x={}", &want[1..]));
            }
        }
    }
}
