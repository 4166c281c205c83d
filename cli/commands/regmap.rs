//! `mmiodrv regmap show|check|convert FILE`: a register map of any format,
//! as the library reads it.

use mmiodrv::error::MapError;
use mmiodrv::error::{Error, ErrorKind, Result};
use std::path::Path;

use mmiodrv::regmap::formats::reading::{self, Reading};
use mmiodrv::regmap::formats::write::{self, Target};
use mmiodrv::regmap::formats::Format;
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

/// `regmap check --json`: a map that fails the checks has `ok` false, every
/// problem listed, and exit status 7.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct Checked<'a> {
    /// The file.
    pub file: &'a str,
    /// Its format (null when it could not be read).
    pub format: Option<Format>,
    /// Whether it passed every check.
    pub ok: bool,
    /// Its blocks' names.
    pub blocks: Vec<String>,
    /// Registers in all blocks.
    pub registers: usize,
    /// Every problem found, by line.
    pub problems: Vec<Problem>,
}

/// One problem of a map file.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct Problem {
    /// 1-based line of the key at fault.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// `regmap convert --json -o FILE`.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct ConvertedTo<'a> {
    /// The file converted.
    pub file: &'a str,
    /// The block converted (null: every block).
    pub block: Option<&'a str>,
    /// The format written: `toml`, `svd`, `ipxact`, `systemrdl`, `json`.
    pub to: &'a str,
    /// The file written.
    pub output: &'a Path,
    /// What the format cannot express, one sentence each.
    pub lost: &'a [String],
}

/// `regmap convert --json` without `-o`.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct Converted<'a> {
    /// The file converted.
    pub file: &'a str,
    /// The block converted (null: every block).
    pub block: Option<&'a str>,
    /// The format written.
    pub to: &'a str,
    /// The converted map's text.
    pub text: &'a str,
    /// What the format cannot express, one sentence each.
    pub lost: &'a [String],
}

/// `regmap generate --json`.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct GeneratedCode<'a> {
    /// The map file, as given (`FILE` or `FILE@OFFSET`).
    pub file: &'a str,
    /// `rust`, `python` or `c`.
    pub lang: &'a str,
    /// The files written (with `-o`: the file, and a Python module's `.pyi` beside it).
    pub outputs: Vec<&'a Path>,
    /// The generated text of each file, without `-o`.
    pub texts: Vec<String>,
    /// What the language's declaration cannot express, one sentence each.
    pub lost: Vec<String>,
}

/// `regmap generate FILE[@OFFSET] --lang rust|python|c [--block NAME] [-o FILE]`.
pub fn generate(call: &mut Call<'_>) -> Result<()> {
    use mmiodrv::regmap::generate::{self as gen, Lang};
    let g = Global::from_args(call.args)?;
    let output = call.args.opt_path("output");
    let lang_name = call.args.text("lang")?;
    let lang =
        Lang::from_name(lang_name).ok_or_else(|| Error::invalid(lang_name, "not a language mmiodrv generates"))?;
    let spec_text = call.args.path("FILE")?.to_string_lossy().into_owned();
    let spec = regmap::MapSpec::parse(&spec_text)?;
    let file = regmap::load_file(&spec.path)?;
    let map = file.place(call.args.opt_text("block"), spec.at)?;
    let (files, lost) = match lang {
        Lang::Rust => {
            let mut options = gen::rust::Options::default();
            if let Some(m) = call.args.opt_text("module") {
                options.module = m.to_string();
            }
            if let Some(p) = call.args.opt_text("crate-path") {
                options.crate_path = p.to_string();
            }
            let (text, lost) = gen::rust::declaration_with(&map, &spec_text, &options);
            (vec![gen::File { extension: "rs", text }], lost)
        }
        _ => (gen::generate(&map, lang, &spec_text)?, Vec::new()),
    };
    let mut outputs = Vec::new();
    let mut paths = Vec::new();
    if let Some(path) = output {
        for f in &files {
            let p = if f.extension == lang.extension() { path.to_path_buf() } else { path.with_extension(f.extension) };
            mmiodrv::value::check_output_path(&p, "the output file")?;
            paths.push(p);
        }
        for (f, p) in files.iter().zip(&paths) {
            let mut out = mmiodrv::value::create_output_file(p)?;
            std::io::Write::write_all(&mut out, f.text.as_bytes()).map_err(|e| Error::io("cannot write", p, e))?;
            out.commit()?;
        }
        outputs = paths.iter().map(|p| p.as_path()).collect();
    }
    if g.json {
        let texts = if output.is_some() { vec![] } else { files.iter().map(|f| f.text.clone()).collect() };
        print_json(call.path, &GeneratedCode { file: &spec_text, lang: lang_name, outputs, texts, lost: lost.clone() });
    } else if output.is_some() {
        let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        outln!("{}: {} written to {}", spec_text, lang_name, names.join(" and "));
    } else if let Some(main) = files.first() {
        outln!("{}", main.text.trim_end());
    }
    if !g.json {
        crate::output::flush();
        for l in &lost {
            eprintln!("mmiodrv: note: {}", crate::output::errors::one_line(l));
        }
    }
    Ok(())
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

/// `regmap check FILE`: every problem as `mmiodrv: error: FILE:LINE: problem`, one a line.
pub fn check(call: &mut Call<'_>) -> Result<()> {
    let g = Global::from_args(call.args)?;
    let path = call.args.path("FILE")?;
    let map = match regmap::load_file(path).and_then(|m| m.place(None, None).map(|_| m)) {
        Ok(map) => map,
        Err(e) => {
            let (file, problems) = match e.kind() {
                ErrorKind::Map(MapError::Invalid { file, line, message }) => {
                    (file.clone(), vec![(*line, message.clone())])
                }
                ErrorKind::Map(MapError::Problems { file, problems }) => (file.clone(), problems.clone()),
                _ => return Err(e),
            };
            if g.json {
                let problems = problems.iter().map(|(line, m)| Problem { line: *line, message: m.clone() }).collect();
                let checked = Checked { file: &file, format: None, ok: false, blocks: vec![], registers: 0, problems };
                print_json(call.path, &checked);
            } else {
                // One error line per problem (as batch --keep-going has one per failing line).
                crate::output::flush();
                for (line, message) in &problems {
                    eprintln!(
                        "{}",
                        crate::output::errors::one_line(&format!("mmiodrv: error: {file}:{line}: {message}"))
                    );
                }
            }
            crate::output::errors::mark_reported();
            return Err(e);
        }
    };
    let registers: usize = map.blocks.iter().map(|b| b.registers.len()).sum();
    if g.json {
        let blocks = map.blocks.iter().map(|b| b.name.to_string()).collect();
        let checked =
            Checked { file: &map.source, format: Some(map.format), ok: true, blocks, registers, problems: vec![] };
        print_json(call.path, &checked);
    } else {
        outln!("{}: ok ({}, {} block(s), {registers} register(s))", map.source, map.format.name(), map.blocks.len());
    }
    Ok(())
}

/// `regmap convert FILE --to FORMAT [--block NAME] [-o FILE]`: what the
/// format cannot express is said (on stderr, or in `lost`), not dropped.
pub fn convert(call: &mut Call<'_>) -> Result<()> {
    let g = Global::from_args(call.args)?;
    let output = call.args.opt_path("output");
    if let Some(path) = output {
        mmiodrv::value::check_output_path(path, "the output file")?;
    }
    let to_name = call.args.text("to")?;
    let to = Target::from_name(to_name).ok_or_else(|| Error::invalid(to_name, "not a format mmiodrv writes"))?;
    let map = regmap::load_file(call.args.path("FILE")?)?;
    let block = call.args.opt_text("block");
    let written = write::convert(&map, block, to)?;
    // What is written must read back: a converter bug is never handed on.
    match to {
        Target::Toml | Target::Svd | Target::IpXact => drop(regmap::formats::parse(&written.text, "converted map")?),
        Target::SystemRdl | Target::Json => {}
    }
    let block = block.map(|b| map.block(Some(b)).map(|m| m.name.as_ref())).transpose()?;
    let lost = &written.lost;
    match output {
        Some(path) => {
            let mut file = mmiodrv::value::create_output_file(path)?;
            std::io::Write::write_all(&mut file, written.text.as_bytes())
                .map_err(|e| Error::io("cannot write", path, e))?;
            file.commit()?;
            if g.json {
                print_json(call.path, &ConvertedTo { file: &map.source, block, to: to.name(), output: path, lost });
            } else {
                let what = block.map_or_else(|| format!("{} block(s)", map.blocks.len()), |b| format!("block {b}"));
                outln!("{}: {what} written to {} ({})", map.source, path.display(), to.name());
            }
        }
        None if g.json => {
            print_json(call.path, &Converted { file: &map.source, block, to: to.name(), text: &written.text, lost })
        }
        None => outln!("{}", written.text.trim_end()),
    }
    if !g.json {
        crate::output::flush();
        for l in lost {
            eprintln!("mmiodrv: note: {}", crate::output::errors::one_line(l));
        }
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
