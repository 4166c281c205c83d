//! SystemRDL, compiled by the reference compiler (systemrdl-compiler, the
//! one `peakrdl` runs) through a small Python helper (`systemrdl.py` beside
//! this file, run as `PYTHON -c SCRIPT FILE`). PYTHON is `$MMIODRV_PYTHON`,
//! else `python3`; when it cannot import the compiler the error names the
//! pip command. The compiler's own errors come back as `FILE:LINE: message`.
//!
//! Why not a parser in Rust: SystemRDL is a full language (parameters,
//! dynamic property assignment, Perl and Verilog-style preprocessors,
//! `encode` enums, `+=` strides, default properties); the reference
//! compiler elaborates it exactly, and the tests compare against it.

use crate::error::MapError;
use std::path::Path;
use std::process::{Command, Stdio};

use serde::Deserialize;

use crate::error::{Error, Remedy, Result};
use crate::regmap::formats::{
    access_from_reading, derive_access, finish, invalid, width, Format, MapFile, RawBlock, RawRegister,
};
use crate::regmap::model::{Field, ReadAction, Register, WordOrder, WriteSemantics};

const HELPER: &str = include_str!("systemrdl.py");

/// The environment variable naming the Python that has systemrdl-compiler.
pub const PYTHON_ENV: &str = "MMIODRV_PYTHON";

#[derive(Deserialize)]
struct Out {
    #[serde(default)]
    name: String,
    blocks: Option<Vec<BlockJ>>,
    error: Option<ErrorJ>,
}

#[derive(Deserialize)]
struct ErrorJ {
    line: usize,
    message: String,
}

#[derive(Deserialize)]
struct BlockJ {
    name: String,
    base: u64,
    description: String,
    line: usize,
    registers: Vec<RegJ>,
}

#[derive(Deserialize)]
struct RegJ {
    name: String,
    offset: u64,
    width: u64,
    access_width: u64,
    word_order: String,
    description: String,
    line: usize,
    fields: Vec<FieldJ>,
}

#[derive(Deserialize)]
struct FieldJ {
    name: String,
    lsb: u32,
    msb: u32,
    access: String,
    reset: Option<u64>,
    read_action: String,
    write_semantics: String,
    enums: Vec<EnumJ>,
    description: String,
    line: usize,
}

#[derive(Deserialize)]
struct EnumJ {
    value: u64,
    name: String,
}

fn missing(python: &str, why: String) -> Error {
    Error::new(MapError::ToolMissing {
        what: "SystemRDL",
        tool: "systemrdl-compiler",
        why,
        remedy: Remedy::PipInstall { python: python.into(), package: "systemrdl-compiler" },
    })
}

/// Compile a SystemRDL file and read every block of it.
pub fn load(path: &Path, source: &str) -> Result<MapFile> {
    let python = std::env::var(PYTHON_ENV).unwrap_or_else(|_| "python3".into());
    let out = run_helper(&python, path)?;
    if out.status.code() == Some(3) {
        return Err(missing(&python, format!("{python} cannot import it")));
    }
    if out.stdout.len() as u64 > MAX_OUTPUT {
        return Err(invalid(source, 1, format!("the SystemRDL compiler's reading is larger than {MAX_OUTPUT} bytes")));
    }
    let parsed: Out = serde_json::from_slice(&out.stdout).map_err(|e| {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr.lines().last().unwrap_or("").to_string();
        invalid(source, 1, format!("the SystemRDL compiler failed ({e}): {last}"))
    })?;
    if let Some(e) = parsed.error {
        return Err(invalid(source, e.line, e.message));
    }
    let mut blocks = Vec::new();
    for b in parsed.blocks.unwrap_or_default() {
        let mut registers = Vec::new();
        for r in b.registers {
            registers.push(register(r).map_err(|(line, m)| invalid(source, line, m))?);
        }
        blocks.push(RawBlock {
            name: b.name,
            description: b.description,
            base: b.base,
            size: None,
            line: b.line,
            registers,
        });
    }
    finish(source, Format::SystemRdl, &parsed.name, blocks)
}

/// Most bytes of the helper's reading read (and of its error output).
const MAX_OUTPUT: u64 = 256 << 20;

/// Run the helper on `path` with the expansion limits; its output read up to
/// [`MAX_OUTPUT`] bytes (one more tells it was larger).
fn run_helper(python: &str, path: &Path) -> Result<std::process::Output> {
    use std::io::Read;
    let mut child = Command::new(python)
        .arg("-c")
        .arg(HELPER)
        .arg(path)
        .arg(super::MAX_FILE_REGISTERS.to_string())
        .arg(super::MAX_FILE_ELEMENTS.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| missing(python, format!("cannot run {python}: {e}")))?;
    let err_reader = child.stderr.take().map(|e| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = e.take(1 << 20).read_to_end(&mut buf);
            buf
        })
    });
    let mut stdout = Vec::new();
    if let Some(out) = child.stdout.take() {
        let _ = out.take(MAX_OUTPUT + 1).read_to_end(&mut stdout);
    }
    if stdout.len() as u64 > MAX_OUTPUT {
        let _ = child.kill();
    }
    let stderr = err_reader.map(|t| t.join().unwrap_or_default()).unwrap_or_default();
    let status = child.wait().map_err(|e| missing(python, format!("cannot wait for {python}: {e}")))?;
    Ok(std::process::Output { status, stdout, stderr })
}

fn register(r: RegJ) -> std::result::Result<RawRegister, (usize, String)> {
    let what = format!("register {}", r.name);
    let w = width(r.width, &what).map_err(|m| (r.line, m))?;
    let aw = width(r.access_width, &what).map_err(|m| (r.line, m))?;
    let mut fields = Vec::new();
    let mut lines = Vec::new();
    for f in r.fields {
        let bad = |m: String| (f.line, format!("field {}.{}: {m}", r.name, f.name));
        let access = access_from_reading(&f.access).ok_or_else(|| bad(format!("access {}", f.access)))?;
        let write =
            WriteSemantics::from_reading_name(&f.write_semantics).ok_or_else(|| bad(f.write_semantics.clone()))?;
        let read = ReadAction::from_reading_name(&f.read_action).ok_or_else(|| bad(f.read_action.clone()))?;
        let mut values: Vec<_> = f.enums.into_iter().map(|e| (e.value, e.name.into())).collect();
        values.sort();
        fields.push(Field {
            name: f.name.into(),
            msb: f.msb,
            lsb: f.lsb,
            description: f.description.into(),
            values: values.into(),
            access: Some(access),
            write,
            read_action: read,
            reset: f.reset,
        });
        lines.push(f.line);
    }
    let defined: Vec<&Field> = fields.iter().filter(|f| f.reset.is_some()).collect();
    let reset = (!defined.is_empty()).then(|| defined.iter().fold(0, |a, f| a | (f.reset.unwrap_or(0) << f.lsb)));
    let reg = Register {
        name: r.name.into(),
        offset: r.offset,
        width: w,
        access_width: aw,
        word_order: if r.word_order == "big" { WordOrder::Big } else { WordOrder::Little },
        access: derive_access(&fields),
        read_side_effects: false,
        description: r.description.into(),
        fields: fields.into(),
        reset,
    };
    Ok(RawRegister { reg, line: r.line, field_lines: lines })
}
