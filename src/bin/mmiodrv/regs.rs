//! `dump-regs`, `read` and `write`.

use serde::Serialize;

use mmiodrv::backend::BarOptions;
use mmiodrv::error::{Error, Result};
use mmiodrv::mmio::width::check_access;
use mmiodrv::mmio::{RegisterIo, Width};
use mmiodrv::regmap::{self, Access, Register, RegisterMap, Target};
use mmiodrv::value::{parse_size, parse_u64};

use crate::args::{Cli, DumpArgs, MapArgs, ReadArgs, WriteArgs};
use crate::context::{map_source, open_device, register_map, Device};
use crate::output::print_json;

/// Hexdumps default to the first 256 bytes so a 1 MiB BAR does not flood the terminal.
const DEFAULT_HEXDUMP_LEN: u64 = 0x100;

/// An opened BAR with the map that applies to it (if any).
pub struct Window {
    pub device: Device,
    bar: u8,
    io: Box<dyn RegisterIo>,
    map: Option<RegisterMap>,
}

fn open_window(cli: &Cli, args: &MapArgs, writable: bool) -> Result<Window> {
    let device = open_device(cli)?;
    let map = register_map(&device, args)?;
    let bar = args.bar.or(map.as_ref().map(|m| m.bar)).unwrap_or(0);
    // A map describes one BAR; on any other BAR it does not apply.
    let map = map.filter(|m| m.bar == bar);
    let io = device.backend.open_bar(bar, BarOptions { writable, write_combining: args.wc })?;
    if let Some(size) = map.as_ref().and_then(|m| m.size) {
        if io.len() < size {
            log::warn!("{}: BAR{bar} is {:#x} bytes, smaller than the map's {size:#x}", device.name(), io.len());
        }
    }
    Ok(Window { device, bar, io, map })
}

fn hex(value: u64, width: Width) -> String {
    format!("{value:#0w$x}", w = width.hex_digits() + 2)
}

#[derive(Serialize)]
struct FieldValue {
    name: String,
    bits: String,
    value: u64,
    meaning: Option<String>,
}

fn decode_fields(reg: &Register, value: u64) -> Vec<FieldValue> {
    reg.fields
        .iter()
        .map(|f| {
            let v = f.extract(value);
            FieldValue {
                name: f.name.clone(),
                bits: f.bit_range(),
                value: v,
                meaning: f.meaning(v).map(str::to_string),
            }
        })
        .collect()
}

fn fields_text(fields: &[FieldValue]) -> String {
    fields
        .iter()
        .map(|f| match &f.meaning {
            Some(m) => format!("{}={:#x} ({m})", f.name, f.value),
            None => format!("{}={:#x}", f.name, f.value),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Serialize)]
struct DumpedRegister {
    name: String,
    offset: u64,
    width: u32,
    access: Access,
    read_side_effects: bool,
    /// Null when the register was not read.
    value: Option<u64>,
    /// Why it was not read: "write-only" or "read-side-effects".
    skipped: Option<&'static str>,
    fields: Vec<FieldValue>,
    description: String,
}

pub fn dump(cli: &Cli, args: &DumpArgs) -> Result<()> {
    let w = open_window(cli, &args.map, false)?;
    let raw = args.offset.is_some() || args.len.is_some();
    match (&w.map, raw) {
        (Some(map), false) => dump_map(cli, &w, map, args),
        _ => hexdump(cli, &w, args),
    }
}

fn dump_map(cli: &Cli, w: &Window, map: &RegisterMap, args: &DumpArgs) -> Result<()> {
    let mut out = Vec::new();
    for reg in &map.registers {
        let skipped = match (reg.access, reg.read_side_effects) {
            _ if args.all => None,
            (Access::WO, _) => Some("write-only"),
            (_, true) => Some("read-side-effects"),
            _ => None,
        };
        let value = match skipped {
            Some(_) => None,
            // --all reads write-only registers too: one raw access of their width.
            None if reg.access == Access::WO => Some(w.io.read(reg.offset, reg.width)?),
            None => Some(regmap::read_register(w.io.as_ref(), reg)?),
        };
        out.push(DumpedRegister {
            name: reg.name.clone(),
            offset: reg.offset,
            width: reg.width.bits(),
            access: reg.access,
            read_side_effects: reg.read_side_effects,
            value,
            skipped,
            fields: value.map(|v| decode_fields(reg, v)).unwrap_or_default(),
            description: reg.description.clone(),
        });
    }
    if cli.json {
        print_json(&serde_json::json!({
            "device": w.device.sysfs.address,
            "bar": w.bar,
            "map": map.name,
            "map_source": map_source(&args.map, map),
            "registers": out,
        }));
        return Ok(());
    }
    outln!("{} {} BAR{} ({})", map.name, w.device.sysfs.address, w.bar, map_source(&args.map, map));
    let name_w = map.registers.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    outln!("{:<8}{:<name_w$}  {:<18}  FIELDS", "OFFSET", "NAME", "VALUE");
    for (reg, d) in map.registers.iter().zip(&out) {
        let value = match (d.value, d.skipped) {
            (Some(v), _) => hex(v, reg.width),
            (None, Some("write-only")) => "(write-only)".into(),
            (None, _) => "(not read: read has side effects; --all reads it)".into(),
        };
        let line = format!(
            "{:<8}{:<name_w$}  {:<18}  {}",
            format!("{:#06x}", reg.offset),
            reg.name,
            value,
            fields_text(&d.fields)
        );
        outln!("{}", line.trim_end());
    }
    Ok(())
}

fn hexdump(cli: &Cli, w: &Window, args: &DumpArgs) -> Result<()> {
    let offset = args.offset.as_deref().map(parse_size).transpose()?.unwrap_or(0);
    let len = match args.len.as_deref() {
        Some(l) => parse_size(l)?,
        None => DEFAULT_HEXDUMP_LEN.min(w.io.len().saturating_sub(offset)),
    };
    if offset % 4 != 0 || len % 4 != 0 {
        return Err(Error::InvalidValue {
            input: format!("--offset {offset:#x} --len {len:#x}"),
            reason: "a hexdump reads 32-bit words: offset and length must be multiples of 4".into(),
        });
    }
    let end = offset.checked_add(len).filter(|e| *e <= w.io.len() && len > 0).ok_or(Error::OutOfRange {
        offset,
        width: len,
        len: w.io.len(),
    })?;
    let words: Vec<u32> =
        (offset..end).step_by(4).map(|o| w.io.read(o, Width::W32).map(|v| v as u32)).collect::<Result<_>>()?;
    if cli.json {
        print_json(&serde_json::json!({
            "device": w.device.sysfs.address,
            "bar": w.bar,
            "offset": offset,
            "words": words,
        }));
        return Ok(());
    }
    outln!("{} BAR{} offset {offset:#x} length {len:#x} (32-bit reads)", w.device.sysfs.address, w.bar);
    for (i, chunk) in words.chunks(4).enumerate() {
        let cells: Vec<String> = chunk.iter().map(|v| format!("{v:08x}")).collect();
        outln!("{:08x}: {}", offset + 16 * i as u64, cells.join(" "));
    }
    Ok(())
}

/// What one read/write touched, for output.
#[derive(Serialize)]
struct AccessReport {
    device: String,
    bar: u8,
    offset: u64,
    width: u32,
    register: Option<String>,
    field: Option<String>,
    value: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    readback: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fields: Vec<FieldValue>,
}

fn raw_width(w: &Window, cli: &Cli, offset: u64, bits: u32) -> Result<Width> {
    let width = Width::from_bits(bits)?;
    check_access(offset, width, w.io.len())?;
    if let (Some(map), false) = (&w.map, cli.force) {
        map.check_raw_access(offset, width)?;
    }
    Ok(width)
}

impl AccessReport {
    /// The report for `value` at `target` (`width` applies to raw offsets).
    fn new(w: &Window, target: Target<'_>, width: Width, value: u64) -> Self {
        let (offset, width, register, field) = match target {
            Target::Offset(offset) => (offset, width, None, None),
            Target::Register(reg) => (reg.offset, reg.width, Some(reg.name.clone()), None),
            Target::Field(reg, f) => (reg.offset, reg.width, Some(reg.name.clone()), Some(f.name.clone())),
        };
        AccessReport {
            device: w.device.name(),
            bar: w.bar,
            offset,
            width: width.bits(),
            register,
            field,
            value,
            readback: None,
            fields: vec![],
        }
    }
}

/// Read what `target` names: a raw access, a whole register, or one field.
fn read_target(w: &Window, target: Target<'_>, width: Width) -> Result<u64> {
    match target {
        Target::Offset(offset) => w.io.read(offset, width),
        Target::Register(reg) => regmap::read_register(w.io.as_ref(), reg),
        Target::Field(reg, field) => Ok(field.extract(regmap::read_register(w.io.as_ref(), reg)?)),
    }
}

/// The width of a raw access; registers and fields carry their own.
fn target_width(w: &Window, cli: &Cli, target: Target<'_>, bits: u32) -> Result<Width> {
    match target {
        Target::Offset(offset) => raw_width(w, cli, offset, bits),
        Target::Register(reg) | Target::Field(reg, _) => Ok(reg.width),
    }
}

pub fn read(cli: &Cli, args: &ReadArgs) -> Result<()> {
    let w = open_window(cli, &args.map, false)?;
    let target = regmap::resolve(w.map.as_ref(), &args.target)?;
    let width = target_width(&w, cli, target, args.width)?;
    let value = read_target(&w, target, width)?;
    let mut report = AccessReport::new(&w, target, width, value);
    if let Target::Register(reg) = target {
        report.fields = decode_fields(reg, value);
    }
    print_access(cli, args.quiet, &report, "=");
    Ok(())
}

pub fn write(cli: &Cli, args: &WriteArgs) -> Result<()> {
    let value = parse_u64(&args.value)?;
    let w = open_window(cli, &args.map, true)?;
    let target = regmap::resolve(w.map.as_ref(), &args.target)?;
    let width = target_width(&w, cli, target, args.width)?;
    if let Target::Register(reg) | Target::Field(reg, _) = target {
        if args.verify && !reg.access.readable() {
            return Err(Error::WriteOnly { register: reg.name.clone() });
        }
    }
    // Armed before the write so an interrupt it causes cannot be missed.
    let mut armed = if args.wait_irq { Some(w.device.backend.interrupts(args.irq.index)?) } else { None };
    match target {
        Target::Offset(offset) => {
            width.check_value(value, "write")?;
            w.io.write(offset, width, value)?;
        }
        Target::Register(reg) => regmap::write_register(w.io.as_ref(), reg, value)?,
        Target::Field(reg, field) => {
            regmap::write_field(w.io.as_ref(), reg, field, value)?;
        }
    }
    let mut report = AccessReport::new(&w, target, width, value);
    if args.verify {
        report.readback = Some(read_target(&w, target, width)?);
    }
    // With --wait-irq --quiet the only output is the vector that fired.
    if !(args.quiet && args.wait_irq) {
        print_access(cli, args.quiet, &report, "<-");
    }
    if let Some(back) = report.readback.filter(|b| *b != value) {
        let (wrote, back) = match &report.field {
            None => (hex(value, width), hex(back, width)),
            Some(_) => (format!("{value:#x}"), format!("{back:#x}")),
        };
        return Err(Error::Unsupported {
            device: report.device.clone(),
            message: format!(
                "verify failed: wrote {wrote}, read back {back} (the register does not hold what was written)"
            ),
        });
    }
    if let Some(irqs) = armed.as_mut() {
        crate::irq::wait_and_report(cli, &w.device.name(), irqs.as_mut(), &args.irq, 1, args.quiet)?;
    }
    Ok(())
}

fn print_access(cli: &Cli, quiet: bool, r: &AccessReport, arrow: &str) {
    let width = Width::from_bits(r.width).unwrap_or(Width::W64);
    let shown = r.readback.unwrap_or(r.value);
    if cli.json {
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
