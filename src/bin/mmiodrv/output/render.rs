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
        Outcome::Read(a) => access_line(a, "=", quiet, ""),
        Outcome::Write(a) if quiet && style.wait_irq => {}
        Outcome::Write(a) => access_line(a, "<-", quiet, ""),
        Outcome::Expect(a) => {
            access_line(&AccessReport { fields: Vec::new(), ..a.clone() }, "==", quiet, " as expected")
        }
        Outcome::Poll(p) => {
            let after = format!(" after {} read(s)", p.reads);
            access_line(&AccessReport { fields: Vec::new(), ..p.access.clone() }, "==", quiet, &after)
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
fn access_line(a: &AccessReport, arrow: &str, quiet: bool, tail: &str) {
    super::line_with(|out| {
        if quiet {
            push_hex(out, a.readback.unwrap_or(a.value), shown_digits(a));
        } else {
            access_text(out, &a.device, a, arrow);
            out.extend_from_slice(tail.as_bytes());
        }
    });
}

/// The device as messages name it, pushed without formatting machinery for
/// a PCI address (a script prints one per result).
fn push_device(out: &mut Vec<u8>, device: &mmiodrv::error::DeviceRef) {
    match device {
        mmiodrv::error::DeviceRef::Pci(a) => out.extend_from_slice(&a.text()),
        other => {
            let _ = std::io::Write::write_fmt(out, format_args!("{other}"));
        }
    }
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
    digits_of(r.field.is_none().then(|| Width::from_bits(r.width).ok()).flatten())
}

/// Hex digits a value read with `width` is shown in: all of the width's for
/// a register or an offset, as few as needed for a field (`None`).
pub fn digits_of(width: Option<Width>) -> usize {
    width.map_or(1, |w| w.hex_digits())
}

/// The line of an access, without its newline:
/// `0000:00:04.0 BAR0 0x0000 ID = 0x010000ed  MAJOR=0x1 MINOR=0x0 MAGIC=0xed (edu)`,
/// then ` (read back 0x...)` after a verified write. Pushed byte by byte,
/// not formatted: a batch prints one per operation.
pub fn access_text(out: &mut Vec<u8>, device: &mmiodrv::error::DeviceRef, r: &AccessReport, arrow: &str) {
    let digits = shown_digits(r);
    out.reserve(96 + 24 * r.fields.len());
    push_device(out, device);
    if r.bar == CONFIG_BAR {
        out.extend_from_slice(b" config ");
    } else {
        out.extend_from_slice(b" BAR");
        out.push(b'0' + r.bar % 10);
        out.push(b' ');
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
    out.push(b' ');
    out.extend_from_slice(arrow.as_bytes());
    out.push(b' ');
    push_hex(out, r.value, digits);
    for (i, f) in r.fields.iter().enumerate() {
        out.extend_from_slice(if i == 0 { b"  " } else { b" " });
        out.extend_from_slice(f.name.as_bytes());
        out.push(b'=');
        push_hex(out, f.value, 1);
        if let Some(m) = &f.meaning {
            out.extend_from_slice(b" (");
            out.extend_from_slice(m.as_bytes());
            out.push(b')');
        }
    }
    if let Some(back) = r.readback {
        out.extend_from_slice(b" (read back ");
        push_hex(out, back, digits);
        out.push(b')');
    }
}

/// `0x` and `value` in at least `digits` hex digits.
pub fn push_hex(out: &mut Vec<u8>, value: u64, digits: usize) {
    push_hex_text(out, value, digits, false);
}

/// [`push_hex`] and a newline: a line of a script's quiet reads.
pub fn push_hex_line(out: &mut Vec<u8>, value: u64, digits: usize) {
    push_hex_text(out, value, digits, true);
}

/// `0x`, `value` in at least `digits` hex digits (at most 16), maybe a
/// newline. The digits are made eight to a word, with no loop, and copied
/// in one store of known size (no call to memcpy), the unused tail cut off.
fn push_hex_text(out: &mut Vec<u8>, value: u64, digits: usize, newline: bool) {
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
    let used = (64 - value.leading_zeros()).div_ceil(4) as usize;
    let n = used.max(digits).clamp(1, 16);
    let len = 2 + n + usize::from(newline);
    if n <= 8 {
        // The last n of the low word's 8 digits, first.
        let shown = ascii(value as u32) >> (8 * (8 - n));
        let mut text = [0u8; 11];
        text[..2].copy_from_slice(b"0x");
        text[2..10].copy_from_slice(&shown.to_le_bytes());
        text[2 + n] = b'\n';
        out.extend_from_slice(&text);
        out.truncate(out.len() - (text.len() - len));
    } else {
        let high = ascii((value >> 32) as u32) >> (8 * (16 - n));
        let mut text = [0u8; 19];
        text[..2].copy_from_slice(b"0x");
        text[2..10].copy_from_slice(&high.to_le_bytes());
        text[2 + n - 8..2 + n].copy_from_slice(&ascii(value as u32).to_le_bytes());
        text[2 + n] = b'\n';
        out.extend_from_slice(&text);
        out.truncate(out.len() - (text.len() - len));
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
                let mut line = Vec::new();
                super::push_hex_line(&mut line, v, digits);
                assert_eq!(line, format!("{}\n", &want[1..]).into_bytes());
            }
        }
    }
}
