//! `dump-regs`, `read` and `write`: the library's register windows, printed.

use mmiodrv::error::{Error, ErrorKind, Result};
use mmiodrv::mmio::Width;
use mmiodrv::regmap::RegisterMap;
use mmiodrv::window::{
    AccessReport, DumpedRegister, FieldValue, Layout, MapSource, Skipped, Window, DEFAULT_HEXDUMP_LEN,
};

use crate::args::{DumpArgs, Global, ReadArgs, WriteArgs};
use crate::context::{load_map, open_device};
use crate::output::print_json;

pub fn hex(value: u64, width: Width) -> String {
    format!("{value:#0w$x}", w = width.hex_digits() + 2)
}

pub fn fields_text(fields: &[FieldValue]) -> String {
    fields
        .iter()
        .map(|f| match &f.meaning {
            Some(m) => format!("{}={:#x} ({m})", f.name, f.value),
            None => format!("{}={:#x}", f.name, f.value),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Where a map comes from, for headings.
pub fn map_source(layout: &Layout, map: &RegisterMap) -> String {
    match &layout.source {
        MapSource::File(p) => p.display().to_string(),
        MapSource::Builtin => format!("built-in {} map", map.name),
    }
}

pub fn dump(g: &Global, args: &DumpArgs) -> Result<()> {
    let map = load_map(&args.map)?;
    let device = open_device(g)?;
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
        None => dump_map(g, &w, args.all),
    }
}

fn dump_map(g: &Global, w: &Window, all: bool) -> Result<()> {
    let Some(map) = w.map() else { return Ok(()) };
    let regs = w.dump(all)?;
    let layout = w.layout();
    let device = layout.device.to_string();
    let source = map_source(layout, map);
    print_registers(
        g,
        &Listing { device: &device, bar: layout.bar, map: &map.name, source: &source, regs: &regs, time: None },
    );
    Ok(())
}

/// Registers as `dump-regs` lists them (also a decoded snapshot, with its time).
pub struct Listing<'a> {
    pub device: &'a str,
    pub bar: u8,
    pub map: &'a str,
    pub source: &'a str,
    pub regs: &'a [DumpedRegister],
    pub time: Option<&'a str>,
}

pub fn print_registers(g: &Global, l: &Listing<'_>) {
    if g.json {
        let mut v = serde_json::json!({
            "device": l.device,
            "bar": l.bar,
            "map": l.map,
            "map_source": l.source,
            "registers": l.regs,
        });
        if let Some(t) = l.time {
            v["time"] = t.into();
        }
        print_json(&v);
        return;
    }
    match l.time {
        Some(t) => outln!("{} {} BAR{} ({}), snapshot of {t}", l.map, l.device, l.bar, l.source),
        None => outln!("{} {} BAR{} ({})", l.map, l.device, l.bar, l.source),
    }
    let name_w = l.regs.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    outln!("{:<8}{:<name_w$}  {:<18}  FIELDS", "OFFSET", "NAME", "VALUE");
    for d in l.regs {
        let width = Width::from_bits(d.width).unwrap_or(Width::W64);
        let value = match (d.value, d.skipped) {
            (Some(v), _) => hex(v, width),
            (None, Some(Skipped::WriteOnly)) => "(write-only)".into(),
            (None, Some(Skipped::ReadSideEffects)) => "(not read: read has side effects; --all reads it)".into(),
            (None, Some(Skipped::NotCaptured)) => "(not in the snapshot)".into(),
            (None, None) => "(not read)".into(),
        };
        let line = format!(
            "{:<8}{:<name_w$}  {:<18}  {}",
            format!("{:#06x}", d.offset),
            d.name,
            value,
            fields_text(&d.fields)
        );
        outln!("{}", line.trim_end());
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
    let map = load_map(&args.map)?;
    let device = open_device(g)?;
    let layout = device.layout(args.map.bar, map)?;
    // Everything about the request is checked before the BAR is opened.
    let r = layout.resolve(&args.target, args.width)?;
    layout.check_read(&r)?;
    let (target, width) = (args.target.clone(), args.width);
    let w = device.open_window(layout, false, args.map.wc)?;
    let r = w.resolve(&target, width)?;
    let value = w.read(&r)?;
    print_access(g, args.quiet, &w.report(&r, value), "=");
    Ok(())
}

pub fn write(g: &Global, args: &WriteArgs) -> Result<()> {
    let map = load_map(&args.map)?;
    let device = open_device(g)?;
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
        print_access(g, args.quiet, &report, "<-");
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

fn print_access(g: &Global, quiet: bool, r: &AccessReport, arrow: &str) {
    let width = Width::from_bits(r.width).unwrap_or(Width::W64);
    let shown = r.readback.unwrap_or(r.value);
    if g.json {
        print_json(r);
    } else if quiet && r.field.is_some() {
        outln!("{shown:#x}");
    } else if quiet {
        outln!("{}", hex(shown, width));
    } else {
        let name = match (&r.register, &r.field) {
            (Some(reg), Some(f)) => format!(" {reg}.{f}"),
            (Some(reg), None) => format!(" {reg}"),
            _ => String::new(),
        };
        let value = if r.field.is_some() { format!("{:#x}", r.value) } else { hex(r.value, width) };
        let mut line = format!("{} BAR{} {:#06x}{name} {arrow} {value}", r.device, r.bar, r.offset);
        if !r.fields.is_empty() {
            line.push_str(&format!("  {}", fields_text(&r.fields)));
        }
        if let Some(back) = r.readback {
            let back = if r.field.is_some() { format!("{back:#x}") } else { hex(back, width) };
            line.push_str(&format!(" (read back {back})"));
        }
        outln!("{line}");
    }
}
