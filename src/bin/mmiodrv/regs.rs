//! `dump-regs`, `read` and `write`: the library's register windows, printed.

use mmiodrv::error::{Error, ErrorKind, Result};
use mmiodrv::mmio::Width;
use mmiodrv::regmap::RegisterMap;
use mmiodrv::window::{
    AccessReport, DumpedRegister, FieldValue, Layout, MapSource, Skipped, Window, DEFAULT_HEXDUMP_LEN,
};

use crate::args::{DumpArgs, Global, ReadArgs, WriteArgs};
use crate::context::map_and_device;
use crate::output::print_json;

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

pub fn dump(g: &Global, args: &DumpArgs) -> Result<()> {
    let (map, device) = map_and_device(g, &args.map)?;
    let layout = device.layout(args.map.bar, map)?;
    let raw = args.offset.is_some() || args.len.is_some() || layout.map.is_none();
    let span = raw.then(|| {
        let offset = args.offset.unwrap_or(0);
        (offset, args.len.unwrap_or_else(|| DEFAULT_HEXDUMP_LEN.min(layout.len.saturating_sub(offset))))
    });
    if let Some((offset, len)) = span {
        layout.check_hexdump(offset, len)?;
    }
    let w = device.open_window(layout, false, args.map.wc)?;
    match span {
        Some((offset, len)) => hexdump(g, &w, offset, len),
        None => dump_map(g, &w, args.all, args.diff_reset),
    }
}

fn dump_map(g: &Global, w: &Window, all: bool, diff_reset: bool) -> Result<()> {
    let Some(map) = w.map() else { return Ok(()) };
    let regs = w.dump(all)?;
    let layout = w.layout();
    let source = map_source(layout, map);
    print_dump(g.json, &layout.device.to_string(), layout.bar, &map.name, &source, &regs, diff_reset);
    Ok(())
}

/// A dump as `dump-regs` prints it (one-shot and batch alike); with
/// `diff_reset`, registers that differ from their reset value are marked.
pub fn print_dump(
    json: bool,
    device: &str,
    bar: u8,
    map: &str,
    source: &str,
    regs: &[DumpedRegister],
    diff_reset: bool,
) {
    if json {
        let mut registers = serde_json::to_value(regs).unwrap_or_default();
        if let (true, Some(list)) = (diff_reset, registers.as_array_mut()) {
            for (v, d) in list.iter_mut().zip(regs) {
                v["differs_from_reset"] = serde_json::json!(d.differs_from_reset());
            }
        }
        print_json(&serde_json::json!({
            "device": device,
            "bar": bar,
            "map": map,
            "map_source": source,
            "registers": registers,
        }));
        return;
    }
    outln!("{map} {device} BAR{bar} ({source})");
    let name_w = regs.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    let mut differ = 0;
    outln!("{:<8}{:<name_w$}  {:<18}  FIELDS", "OFFSET", "NAME", "VALUE");
    for d in regs {
        let width = Width::from_bits(d.width).unwrap_or(Width::W64);
        let value = match (d.value, d.skipped) {
            (Some(v), _) => hex(v, width),
            (None, Some(Skipped::WriteOnly)) => "(write-only)".into(),
            (None, Some(Skipped::ReadSideEffects)) => "(not read: read has side effects; --all reads it)".into(),
            (None, Some(Skipped::NotCaptured)) => "(not in the snapshot)".into(),
            (None, None) => "(not read)".into(),
        };
        let mut line = format!(
            "{:<8}{:<name_w$}  {:<18}  {}",
            format!("{:#06x}", d.offset),
            d.name,
            value,
            fields_text(&d.fields)
        );
        if let (true, Some(true), Some(reset)) = (diff_reset, d.differs_from_reset(), d.reset) {
            line = format!("{}  (reset {})", line.trim_end(), hex(reset, width));
            differ += 1;
        }
        outln!("{}", line.trim_end());
    }
    if diff_reset {
        outln!("{differ} register(s) differ from their reset value");
    }
}

fn hexdump(g: &Global, w: &Window, offset: u64, len: u64) -> Result<()> {
    let words: Vec<Option<u32>> = w.hexdump(offset, len)?.into_iter().map(Some).collect();
    let layout = w.layout();
    print_hexdump(g, &layout.device.to_string(), layout.bar, offset, &words);
    Ok(())
}

/// 32-bit words as `dump-regs` hexdumps them; words not read show as dashes
/// (null in JSON).
pub fn print_hexdump(g: &Global, device: &str, bar: u8, offset: u64, words: &[Option<u32>]) {
    if g.json {
        print_json(&serde_json::json!({ "device": device, "bar": bar, "offset": offset, "words": words }));
        return;
    }
    outln!("{device} BAR{bar} offset {offset:#x} length {:#x} (32-bit reads)", 4 * words.len());
    for (i, chunk) in words.chunks(4).enumerate() {
        let cells: Vec<String> =
            chunk.iter().map(|v| v.map_or_else(|| "--------".to_string(), |v| format!("{v:08x}"))).collect();
        outln!("{:08x}: {}", offset + 16 * i as u64, cells.join(" "));
    }
}

pub fn read(g: &Global, args: &ReadArgs) -> Result<()> {
    let (map, device) = map_and_device(g, &args.map)?;
    let layout = device.layout(args.map.bar, map)?;
    // Everything about the request is checked before the BAR is opened.
    let r = layout.resolve(&args.target, args.width)?;
    layout.check_read(&r)?;
    let (target, width) = (args.target.clone(), args.width);
    let w = device.open_window(layout, false, args.map.wc)?;
    let r = w.resolve(&target, width)?;
    let value = w.read(&r)?;
    print_access(g.json, args.quiet, &device.device().to_string(), &w.report(&r, value), "=");
    Ok(())
}

pub fn write(g: &Global, args: &WriteArgs) -> Result<()> {
    let (map, device) = map_and_device(g, &args.map)?;
    let layout = device.layout(args.map.bar, map)?;
    let r = layout.resolve(&args.target, args.width)?;
    layout.check_write(&r, args.value)?;
    if args.verify {
        layout.check_read(&r)?;
    }
    if let (Some(v), true) = (args.irq.vector, args.wait_irq) {
        // A vector the device does not have is found once armed; no vector above
        // 2047 exists anywhere (MSI-X tables end there).
        if v >= 2048 {
            return Err(Error::invalid(v.to_string(), "no device has a vector above 2047"));
        }
    }
    let w = device.open_window(layout, true, args.map.wc)?;
    let r = w.resolve(&args.target, args.width)?;
    // Armed before the write so an interrupt it causes cannot be missed.
    let mut armed = if args.wait_irq { Some(device.interrupts(args.irq.index)?) } else { None };
    if let (Some(irqs), Some(v)) = (armed.as_ref(), args.irq.vector) {
        if v >= irqs.vectors() {
            return Err(ErrorKind::NoSuchVector { kind: irqs.kind(), vectors: irqs.vectors(), vector: v }.into());
        }
    }
    w.write(&r, args.value)?;
    let mut report = w.report(&r, args.value);
    report.fields.clear();
    if args.verify {
        report.readback = Some(w.read(&r)?);
    }
    // With --wait-irq --quiet the only output is the vector that fired.
    if !(args.quiet && args.wait_irq) {
        print_access(g.json, args.quiet, &report.device.to_string(), &report, "<-");
    }
    if let Some(back) = report.readback.filter(|b| *b != args.value) {
        let width = r.width;
        let (wrote, back) = match &report.field {
            None => (hex(args.value, width), hex(back, width)),
            Some(_) => (format!("{:#x}", args.value), format!("{back:#x}")),
        };
        return Err(Error::on(report.device.clone(), ErrorKind::VerifyFailed { wrote, read: back }));
    }
    if let Some(irqs) = armed.as_mut() {
        crate::irq::wait_and_report(g, &report.device, irqs.as_mut(), &args.irq, 1, args.quiet)?;
    }
    Ok(())
}

/// A read or write as `read`/`write` print it (one-shot and batch alike).
pub fn print_access(json: bool, quiet: bool, device: &str, r: &AccessReport, arrow: &str) {
    if json {
        return print_json(r);
    }
    crate::output::line_with(|out| {
        if quiet {
            push_hex(out, r.readback.unwrap_or(r.value), shown_digits(r));
        } else {
            access_text(out, device, r, arrow);
        }
    });
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
pub fn access_text(out: &mut Vec<u8>, device: &str, r: &AccessReport, arrow: &str) {
    let digits = shown_digits(r);
    out.reserve(device.len() + 64 + 24 * r.fields.len());
    out.extend_from_slice(device.as_bytes());
    out.extend_from_slice(b" BAR");
    out.push(b'0' + r.bar % 10);
    out.push(b' ');
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
