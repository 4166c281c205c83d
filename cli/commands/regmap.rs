//! `mmiodrv regmap show|check|convert FILE`: a register map of any format,
//! as the library reads it.

use mmiodrv::error::{Error, Result};
use std::path::Path;

use mmiodrv::regmap::formats::reading::{self, Reading};
use mmiodrv::regmap::formats::{toml_out, Format};
use mmiodrv::regmap::{self, MapFile, RegisterMap};

use mmiodrv::command::Call;

use crate::cli::Global;
use crate::output::print_json;
use crate::output::render::hex;

/// `regmap show --json`: the normalized reading of the file
/// (tests/data/README.md) and the file.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct Shown<'a> {
    /// The file.
    pub file: &'a str,
    /// Its format and blocks.
    #[serde(flatten)]
    pub reading: Reading,
}

/// `regmap check --json` (a map that fails the checks is an error, exit status 7).
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct Checked<'a> {
    /// The file.
    pub file: &'a str,
    /// Its format.
    pub format: Format,
    /// `true`.
    pub ok: bool,
    /// Its blocks' names.
    pub blocks: Vec<String>,
    /// Registers in all blocks.
    pub registers: usize,
}

/// `regmap convert --json -o FILE`.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct ConvertedTo<'a> {
    /// The file converted.
    pub file: &'a str,
    /// The block converted.
    pub block: &'a str,
    /// The TOML file written.
    pub output: &'a Path,
}

/// `regmap convert --json` without `-o`.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct Converted<'a> {
    /// The file converted.
    pub file: &'a str,
    /// The block converted.
    pub block: &'a str,
    /// The block as mmiodrv TOML.
    pub toml: &'a str,
}

/// `regmap show FILE [--block NAME]`.
pub fn show(call: &mut Call<'_>) -> Result<()> {
    let g = Global::from_args(call.args)?;
    let map = regmap::load_file(call.args.path("FILE")?)?;
    let shown = match call.args.opt_text("block") {
        Some(b) => MapFile { blocks: vec![map.block(Some(b))?.clone()], ..map },
        None => map,
    };
    if g.json {
        print_json(call.path, &Shown { file: &shown.source, reading: reading::reading(&shown) });
        return Ok(());
    }
    show_map(&shown);
    Ok(())
}

/// `regmap check FILE`.
pub fn check(call: &mut Call<'_>) -> Result<()> {
    let g = Global::from_args(call.args)?;
    let map = regmap::load_file(call.args.path("FILE")?)?;
    let registers: usize = map.blocks.iter().map(|b| b.registers.len()).sum();
    if g.json {
        let blocks = map.blocks.iter().map(|b| b.name.to_string()).collect();
        print_json(call.path, &Checked { file: &map.source, format: map.format, ok: true, blocks, registers });
    } else {
        outln!("{}: ok ({}, {} block(s), {registers} register(s))", map.source, map.format.name(), map.blocks.len());
    }
    Ok(())
}

/// `regmap convert FILE --to toml [--block NAME] [-o FILE]`.
pub fn convert(call: &mut Call<'_>) -> Result<()> {
    let g = Global::from_args(call.args)?;
    let output = call.args.opt_path("output");
    if let Some(path) = output {
        mmiodrv::value::check_output_path(path, "the output file")?;
    }
    let map = regmap::load_file(call.args.path("FILE")?)?;
    let block = map.block(call.args.opt_text("block"))?;
    let text = toml_out::to_toml(block, &format!("{} ({}, block {})", map.source, map.format.name(), block.name));
    // What is written must read back: a converter bug is never handed on.
    regmap::formats::parse(&text, "converted map")?;
    match output {
        Some(path) => {
            let mut file = mmiodrv::value::create_output_file(path)?;
            std::io::Write::write_all(&mut file, text.as_bytes()).map_err(|e| Error::io("cannot write", path, e))?;
            file.commit()?;
            if g.json {
                print_json(call.path, &ConvertedTo { file: &map.source, block: &block.name, output: path });
            } else {
                outln!("{}: block {} written to {}", map.source, block.name, path.display());
            }
        }
        None if g.json => print_json(call.path, &Converted { file: &map.source, block: &block.name, toml: &text }),
        None => outln!("{}", text.trim_end()),
    }
    Ok(())
}

fn show_map(map: &MapFile) {
    outln!("{} ({})", map.source, map.format.name());
    for b in &map.blocks {
        show_block(b);
    }
}

fn show_block(b: &RegisterMap) {
    outln!(
        "block {} at {:#x}: {} register(s){}",
        b.name,
        b.base,
        b.registers.len(),
        if b.description.is_empty() { String::new() } else { format!(" ({})", b.description) }
    );
    let name_w = b.registers.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    let addr_w = format!("{:#x}", b.base + b.registers.last().map_or(0, |r| r.offset)).len().max(7);
    outln!("  {:<addr_w$}  {:<name_w$}  {:<5}  {:<6}  RESET", "ADDRESS", "NAME", "WIDTH", "ACCESS");
    for r in b.registers.iter() {
        let reset = reading::register_reset(r).map(|v| hex(v, r.width)).unwrap_or_else(|| "-".into());
        let mut notes = Vec::new();
        if r.access_width != r.width {
            notes.push(format!("{} accesses, {:?} word first", r.access_width, r.word_order).to_lowercase());
        }
        if r.read_side_effects {
            notes.push("read has side effects".into());
        }
        let line = format!(
            "  {:<addr_w$}  {:<name_w$}  {:<5}  {:<6}  {:<18}  {}",
            format!("{:#x}", b.base + r.offset),
            r.name,
            r.width.bits(),
            format!("{:?}", r.access),
            reset,
            notes.join("; ")
        );
        outln!("{}", line.trim_end());
        for f in r.fields.iter() {
            let mut parts =
                vec![format!("{:<7}", f.bit_range()), f.name.to_string(), format!("{:?}", r.field_access(f))];
            if let Some(v) = f.reset {
                parts.push(format!("reset {v:#x}"));
            }
            let w = r.field_write(f);
            if w != regmap::WriteSemantics::Normal {
                parts.push(w.reading_name().into());
            }
            if f.read_action != regmap::ReadAction::None {
                parts.push(format!("read: {}", f.read_action.reading_name()));
            }
            if !f.values.is_empty() {
                let vals: Vec<String> = f.values.iter().map(|(v, n)| format!("{v:#x}={n}")).collect();
                parts.push(vals.join(" "));
            }
            outln!("      {}", parts.join("  "));
        }
    }
}
