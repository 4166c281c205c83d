//! `batch` and `shell`: many operations in one process, on one opened device.
//!
//! Three ways in:
//! - `batch FILE`: the whole script is parsed and checked before anything
//!   runs (a typo on line 40 never leaves the device half-programmed), then
//!   run in order; a failure names FILE:LINE and stops the run (unless
//!   `--keep-going`).
//! - `batch -` with stdin a pipe: the pipe protocol. Each line runs when it
//!   arrives and its reply is written and flushed before the next is read, so
//!   a program can drive the device line by line (with `--json`, exactly one
//!   JSON object per line, errors included).
//! - `shell` (or `batch` with a terminal on stdin): the same language
//!   interactively, with line editing, history and completion of commands
//!   and register names.
//!
//! The line language is in docs/batch.md. Lines are parsed by clap with the
//! same argument definitions and value parsers as the one-shot commands, and
//! run by the library's [`Session`].

use std::collections::HashMap;
use std::io::{BufRead, IsTerminal};
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, FromArgMatches, Subcommand};
use mmiodrv::backend::IrqKind;
use mmiodrv::command::Frontend;
use mmiodrv::error::{Error, ErrorKind, Result};

/// How a batch run ends badly: a library error not yet printed, or a failure
/// already reported with its FILE:LINE (its exit status).
pub enum Failure {
    /// Not printed yet.
    Error(Error),
    /// Printed; exit with this status.
    Reported(i32),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Error(e)
    }
}
use mmiodrv::mmio::Width;
use mmiodrv::session::{At, Op, Outcome, Session};
use mmiodrv::text::hexdump_lines;
use mmiodrv::window::AccessReport;

use crate::args::{parse_bar, parse_irq_kind, parse_number, parse_size, parse_width, Global};
use crate::context::map_and_device;
use crate::output::{print_json, Terminal};
use crate::regs::{access_text, print_access, print_dump};

/// Longest script file read.
const MAX_SCRIPT: u64 = 16 << 20;

/// `batch [FILE|-]`.
#[derive(Args, Debug)]
pub struct BatchArgs {
    /// Script file, or - for standard input (line by line: the pipe protocol).
    /// Without it, standard input: a shell on a terminal, the protocol on a pipe.
    pub file: Option<PathBuf>,

    /// Only parse and check the script; touch nothing.
    #[arg(long)]
    pub check: bool,

    /// Run every line even after one fails (the exit status is the first failure's).
    #[arg(long)]
    pub keep_going: bool,

    /// Register map file for the whole run (default: the device's built-in map).
    #[arg(long, value_name = "FILE")]
    pub regmap: Option<PathBuf>,

    /// The block of a map file with several (and of a simulated device's map).
    #[arg(long, value_name = "NAME")]
    pub block: Option<String>,
}

/// `shell`.
#[derive(Args, Debug)]
pub struct ShellArgs {
    /// Register map file for the session (default: the device's built-in map).
    #[arg(long, value_name = "FILE")]
    pub regmap: Option<PathBuf>,

    /// The block of a map file with several (and of a simulated device's map).
    #[arg(long, value_name = "NAME")]
    pub block: Option<String>,
}

fn map_args(regmap: &Option<PathBuf>, block: &Option<String>) -> crate::args::MapArgs {
    crate::args::MapArgs { regmap: regmap.clone(), bar: None, wc: false, block: block.clone() }
}

/// Where a register operation goes, as a line gives it.
#[derive(Args, Debug, Clone)]
struct AtArgs {
    /// REG, REG.FIELD or an offset (0x.., 0b.., decimal).
    target: String,
    /// Access width in bits for a raw offset: 8, 16, 32 or 64 (default 32).
    #[arg(long, value_name = "BITS", allow_negative_numbers = true, value_parser = parse_width)]
    width: Option<Width>,
    /// BAR (default: the map's BAR, else 0).
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = parse_bar)]
    bar: Option<u8>,
}

impl AtArgs {
    fn at(&self) -> At {
        At { target: self.target.clone(), width: self.width, bar: self.bar }
    }
}

/// One line of the language.
#[derive(Subcommand, Debug)]
enum Line {
    /// Read a register, a field (REG.FIELD) or an offset.
    Read {
        #[command(flatten)]
        at: AtArgs,
        /// Print only the value.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Write a register, a field (changing no other field) or an offset.
    Write {
        #[command(flatten)]
        at: AtArgs,
        /// Value: 0x.., 0b.. or decimal; range-checked against the width or field.
        #[arg(allow_negative_numbers = true, value_parser = parse_number)]
        value: u64,
        /// Read back and fail if the value did not stick.
        #[arg(long)]
        verify: bool,
        /// Print only the value.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Read until TARGET reads VALUE (under --mask), or time out (exit status 8).
    Poll {
        #[command(flatten)]
        at: AtArgs,
        /// The value waited for.
        #[arg(allow_negative_numbers = true, value_parser = parse_number)]
        value: u64,
        /// Compare only these bits.
        #[arg(long, allow_negative_numbers = true, value_parser = parse_number)]
        mask: Option<u64>,
        /// Give up after this many milliseconds.
        #[arg(long, default_value_t = 5000, value_name = "MS", allow_negative_numbers = true)]
        timeout: u64,
    },
    /// Fail (exit status 6) unless TARGET reads VALUE (under --mask).
    Expect {
        #[command(flatten)]
        at: AtArgs,
        /// The value required.
        #[arg(allow_negative_numbers = true, value_parser = parse_number)]
        value: u64,
        /// Compare only these bits.
        #[arg(long, allow_negative_numbers = true, value_parser = parse_number)]
        mask: Option<u64>,
    },
    /// Arm interrupts now (a script arms before its first line when it waits for any).
    Arm {
        /// Interrupt mechanism: intx, msi or msix (default: the best the device has).
        #[arg(long, value_name = "KIND", value_parser = parse_irq_kind)]
        index: Option<IrqKind>,
    },
    /// Wait for interrupts.
    WaitIrq {
        /// Interrupt mechanism, when this line arms them.
        #[arg(long, value_name = "KIND", value_parser = parse_irq_kind)]
        index: Option<IrqKind>,
        /// Only this vector counts.
        #[arg(long, value_name = "N", allow_negative_numbers = true)]
        vector: Option<u32>,
        /// Give up after this many milliseconds (exit status 8).
        #[arg(long, default_value_t = 5000, value_name = "MS", allow_negative_numbers = true)]
        timeout: u64,
        /// Number of interrupts to wait for (on --vector, if given; interrupts
        /// that fired before a wait count one each).
        #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        count: u32,
    },
    /// Do nothing for MS milliseconds.
    Sleep {
        /// Milliseconds.
        #[arg(allow_negative_numbers = true, value_parser = parse_number)]
        ms: u64,
    },
    /// Every register of the map (or only the ones named, read even if a dump would skip them).
    Dump {
        /// Registers to read (default: all readable ones without side effects).
        registers: Vec<String>,
        /// Also read write-only and side-effect registers.
        #[arg(long)]
        all: bool,
        /// BAR (default: the map's BAR).
        #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = parse_bar)]
        bar: Option<u8>,
    },
    /// Print the rest of the line.
    Echo {
        /// The text.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        text: Vec<String>,
    },
    /// DMA buffers that live for the whole run (VFIO): allocate, fill, read.
    #[command(subcommand)]
    Dma(DmaLine),
    /// This process's mappings of the BARs and DMA buffers opened so far (/proc/self/maps, with VmFlags).
    Maps,
}

#[derive(Subcommand, Debug)]
enum DmaLine {
    /// Allocate SIZE bytes mapped for the device; prints the buffer's number and IOVA.
    Alloc {
        /// Bytes (K/M suffixes allowed).
        #[arg(allow_negative_numbers = true, value_parser = parse_size)]
        size: u64,
        /// IOVA: page-aligned (default 0x100000, then after the previous buffer).
        #[arg(long, allow_negative_numbers = true, value_parser = parse_number)]
        iova: Option<u64>,
        /// The device's DMA mask in bits (default 64; edu's is 28).
        #[arg(long, value_name = "BITS", allow_negative_numbers = true)]
        mask_bits: Option<u32>,
    },
    /// Put bytes into a buffer at OFFSET.
    Write {
        /// Offset in the buffer.
        #[arg(allow_negative_numbers = true, value_parser = parse_size)]
        offset: u64,
        /// Bytes in hex, first byte first ("deadbeef", "de ad be ef").
        #[arg(long, group = "data")]
        hex: Option<String>,
        /// UTF-8 text.
        #[arg(long, group = "data")]
        string: Option<String>,
        /// Which buffer (default 0).
        #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
        buffer: usize,
    },
    /// Hexdump LEN bytes of a buffer from OFFSET.
    Read {
        /// Offset in the buffer.
        #[arg(allow_negative_numbers = true, value_parser = parse_size)]
        offset: u64,
        /// Number of bytes.
        #[arg(allow_negative_numbers = true, value_parser = parse_size)]
        len: u64,
        /// Which buffer (default 0).
        #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
        buffer: usize,
    },
}

/// A parsed line: the operation and how to print it.
#[derive(Debug)]
pub(crate) struct Parsed {
    op: Op,
    quiet: bool,
}

/// The line parser: the language's commands and every driver's.
pub(crate) fn line_command() -> clap::Command {
    let cmd = clap::Command::new("batch").no_binary_name(true).subcommand_required(true);
    Line::augment_subcommands(cmd).subcommands(crate::drivers::commands())
}

/// Parses lines: the common shapes directly (see [`fast_line`]), everything
/// else with clap, whose command is built once for the whole run.
#[derive(Default)]
pub(crate) struct Parser {
    clap: Option<clap::Command>,
}

impl Parser {
    pub(crate) fn parse(&mut self, words: &[String]) -> Result<Parsed> {
        if let Some(p) = fast_line(words) {
            return Ok(p);
        }
        parse_words(self.clap.get_or_insert_with(line_command), words)
    }
}

/// `read`, `write`, `expect`, `poll` and `sleep` lines of the usual shapes,
/// without clap (a script of 10,000 reads would otherwise spend nearly all
/// its time building and running the parser). It accepts only options those
/// lines declare, with the same value parsers, and leaves anything else
/// (including every error) to clap; a test checks both agree.
pub(crate) fn fast_line(words: &[String]) -> Option<Parsed> {
    let (name, rest) = words.split_first()?;
    let mut positionals: Vec<&str> = Vec::new();
    let (mut quiet, mut verify) = (false, false);
    let (mut width, mut bar, mut mask, mut timeout) = (None, None, None, None);
    let mut it = rest.iter();
    while let Some(w) = it.next() {
        let (opt, inline) = match w.split_once('=') {
            Some((o, v)) if o.starts_with("--") => (o, Some(v)),
            _ => (w.as_str(), None),
        };
        let mut value = || inline.or_else(|| it.next().map(String::as_str).filter(|v| !v.starts_with('-')));
        let takes = matches!(opt, "--width" | "--bar" | "--mask" | "--timeout");
        if inline.is_some() && !takes {
            return None;
        }
        match (name.as_str(), opt) {
            ("read" | "write", "-q" | "--quiet") if !quiet => quiet = true,
            ("write", "--verify") if !verify => verify = true,
            ("read" | "write" | "expect" | "poll", "--width") => set(&mut width, parse_width(value()?).ok()?)?,
            ("read" | "write" | "expect" | "poll", "--bar") => set(&mut bar, parse_bar(value()?).ok()?)?,
            ("expect" | "poll", "--mask") => set(&mut mask, parse_number(value()?).ok()?)?,
            ("poll", "--timeout") => set(&mut timeout, value()?.parse::<u64>().ok()?)?,
            (_, w) if !w.starts_with('-') && !w.is_empty() => positionals.push(w),
            _ => return None,
        }
    }
    let at = |target: &str| At { target: target.to_string(), width, bar };
    let op = match (name.as_str(), positionals.as_slice()) {
        ("read", [t]) => Op::Read(at(t)),
        ("write", [t, v]) => Op::Write { at: at(t), value: parse_number(v).ok()?, verify },
        ("expect", [t, v]) => Op::Expect { at: at(t), expected: parse_number(v).ok()?, mask },
        ("poll", [t, v]) => Op::Poll {
            at: at(t),
            expected: parse_number(v).ok()?,
            mask,
            timeout: Duration::from_millis(timeout.unwrap_or(5000)),
        },
        ("sleep", [ms]) if width.is_none() && bar.is_none() => Op::Sleep(Duration::from_millis(parse_number(ms).ok()?)),
        _ => return None,
    };
    Some(Parsed { op, quiet })
}

/// Fill an option's slot once; a repeated option goes to clap, which refuses it.
fn set<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    slot.replace(value).is_none().then_some(())
}

/// Split a line into words: whitespace separates, '...' and "..." quote, a
/// word starting with # ends the line.
pub fn words(line: &str) -> std::result::Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        match chars.peek() {
            None | Some('#') => return Ok(out),
            _ => {}
        }
        let mut word = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() {
                break;
            }
            chars.next();
            match c {
                '\'' | '"' => loop {
                    match chars.next() {
                        Some(q) if q == c => break,
                        Some('\\') if c == '"' => word.extend(chars.next()),
                        Some(other) => word.push(other),
                        None => return Err(format!("unclosed {c} quote")),
                    }
                },
                '\\' => word.extend(chars.next()),
                other => word.push(other),
            }
        }
        out.push(word);
    }
}

fn usage(e: clap::Error) -> Error {
    ErrorKind::Syntax { message: crate::render::clap_message(&e) }.into()
}

/// Parse one line's words into an operation with clap.
pub(crate) fn parse_words(cmd: &mut clap::Command, words: &[String]) -> Result<Parsed> {
    let matches = cmd.try_get_matches_from_mut(words).map_err(usage)?;
    let (name, sub) =
        matches.subcommand().ok_or_else(|| Error::from(ErrorKind::Syntax { message: "empty line".into() }))?;
    if let Some(op) = crate::drivers::session_op(name, sub)? {
        return Ok(Parsed { op, quiet: false });
    }
    let line = Line::from_arg_matches(&matches).map_err(usage)?;
    let (op, quiet) = match line {
        Line::Read { at, quiet } => (Op::Read(at.at()), quiet),
        Line::Write { at, value, verify, quiet } => (Op::Write { at: at.at(), value, verify }, quiet),
        Line::Poll { at, value, mask, timeout } => {
            (Op::Poll { at: at.at(), expected: value, mask, timeout: Duration::from_millis(timeout) }, false)
        }
        Line::Expect { at, value, mask } => (Op::Expect { at: at.at(), expected: value, mask }, false),
        Line::Arm { index } => (Op::Arm { kind: index }, false),
        Line::WaitIrq { index, vector, timeout, count } => {
            (Op::WaitIrq { kind: index, vector, timeout: Duration::from_millis(timeout), count }, false)
        }
        Line::Sleep { ms } => (Op::Sleep(Duration::from_millis(ms)), false),
        Line::Dump { registers, all, bar } => (Op::Dump { bar, all, registers }, false),
        Line::Echo { text } => (Op::Echo(text.join(" ")), false),
        Line::Dma(DmaLine::Alloc { size, iova, mask_bits }) => (Op::DmaAlloc { size, iova, mask_bits }, false),
        Line::Dma(DmaLine::Write { offset, hex, string, buffer }) => {
            let data = match (hex, string) {
                (Some(h), _) => mmiodrv::value::parse_hex_bytes(&h)?,
                (_, Some(s)) => s.into_bytes(),
                _ => {
                    return Err(ErrorKind::Syntax {
                        message: "dma write: give the bytes with --hex or --string".into(),
                    }
                    .into())
                }
            };
            (Op::DmaWrite { buffer, offset, data }, false)
        }
        Line::Dma(DmaLine::Read { offset, len, buffer }) => (Op::DmaRead { buffer, offset, len }, false),
        Line::Maps => (Op::Maps, false),
    };
    Ok(Parsed { op, quiet })
}

/// The arrow a read or write prints.
fn arrow(op: &Op) -> &'static str {
    match op {
        Op::Write { .. } => "<-",
        _ => "=",
    }
}

/// Print one outcome as the one-shot commands print theirs.
fn print(json: bool, op: &Op, quiet: bool, device: &str, outcome: Outcome, term: &mut Terminal) {
    match outcome {
        Outcome::Access(r) => print_access(json, quiet, device, &r, arrow(op)),
        Outcome::Polled { access, reads, elapsed } => {
            if json {
                let mut v = serde_json::to_value(&access).unwrap_or_default();
                v["reads"] = reads.into();
                v["elapsed_ms"] = (elapsed.as_secs_f64() * 1e3).into();
                print_json(&v);
            } else {
                crate::output::line_with(|out| {
                    access_text(out, device, &AccessReport { fields: Vec::new(), ..access }, "==");
                    let _ = std::io::Write::write_fmt(out, format_args!(" after {reads} read(s)"));
                });
            }
        }
        Outcome::Expected(access) => {
            if json {
                let mut v = serde_json::to_value(&access).unwrap_or_default();
                v["expected"] = true.into();
                print_json(&v);
            } else {
                crate::output::line_with(|out| {
                    access_text(out, device, &AccessReport { fields: Vec::new(), ..access }, "==");
                    out.extend_from_slice(b" as expected");
                });
            }
        }
        Outcome::Armed { kind, vectors } => {
            if json {
                print_json(&serde_json::json!({ "device": device, "armed": { "kind": kind, "vectors": vectors } }));
            } else {
                outln!("{device}: {vectors} {kind} vector(s) armed");
            }
        }
        Outcome::Interrupts(events) => {
            if json {
                print_json(&serde_json::json!({ "device": device, "interrupts": events }));
            } else {
                for e in events {
                    outln!("{device}: {} vector {} fired ({} event(s))", e.kind, e.vector, e.count);
                }
            }
        }
        Outcome::Slept(d) => {
            if json {
                print_json(&serde_json::json!({ "sleep_ms": d.as_millis() as u64 }));
            }
        }
        Outcome::Dump { map, bar, source, registers } => {
            let source = source.map(|p| p.display().to_string()).unwrap_or_else(|| format!("built-in {map} map"));
            print_dump(json, device, bar, &map, &source, &registers, false);
        }
        Outcome::Echo(text) => {
            if json {
                print_json(&serde_json::json!({ "echo": text }));
            } else {
                outln!("{text}");
            }
        }
        Outcome::DmaBuffer(info) => {
            if json {
                print_json(&serde_json::json!({ "device": device, "dma_buffer": info }));
            } else {
                outln!("{device}: DMA buffer {}: IOVA {:#x}, {} bytes", info.buffer, info.iova, info.size);
            }
        }
        Outcome::DmaWritten { buffer, offset, len } => {
            if json {
                print_json(&serde_json::json!({ "device": device, "buffer": buffer, "offset": offset, "bytes": len }));
            } else {
                outln!("{device}: {len} bytes into DMA buffer {buffer} at {offset:#x}");
            }
        }
        Outcome::DmaBytes { buffer, iova, offset, data } => {
            if json {
                let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
                print_json(
                    &serde_json::json!({ "device": device, "buffer": buffer, "iova": iova, "offset": offset, "hex": hex }),
                );
            } else {
                for line in hexdump_lines(iova + offset, &data) {
                    outln!("{line}");
                }
            }
        }
        // One operation, one JSON object (the pipe protocol's framing),
        // however many reports a driver's command made.
        Outcome::Reports(mut reports) if json && !matches!(reports.as_slice(), [r] if !r.json.is_null()) => {
            let all: Vec<_> = reports.iter_mut().map(|r| std::mem::take(&mut r.json)).collect();
            print_json(&serde_json::json!({ "device": device, "reports": all }));
        }
        Outcome::Reports(reports) => {
            for r in reports {
                term.report(r);
            }
        }
        Outcome::Maps(entries) => print_maps(json, device, &entries),
    }
}

/// `maps`: each BAR or DMA buffer, then the kernel's line for its mapping and its flags.
fn print_maps(json: bool, device: &str, entries: &[mmiodrv::session::MapEntry]) {
    if json {
        print_json(&serde_json::json!({ "device": device, "maps": entries }));
        return;
    }
    if entries.is_empty() {
        outln!("{device}: nothing mapped yet (a BAR is mapped at its first read or write)");
    }
    for e in entries {
        let what = match e.iova {
            Some(iova) => format!("{} at IOVA {iova:#x}, {:#x} bytes", e.what, e.len),
            None => format!("{} through {}, {:#x} bytes", e.what, e.via, e.len),
        };
        match &e.mapping {
            Some(m) => {
                outln!("{device}: {what}:");
                outln!("  {}", m.line);
                outln!("  VmFlags: {}", m.vm_flags.join(" "));
            }
            None => outln!("{device}: {what}: not one memory mapping (several areas, pread/pwrite, or simulated)"),
        }
    }
}

/// An error, named by FILE:LINE, as one line on stderr (and, with --json, as
/// one JSON object on stdout, so a program reading replies sees it).
fn report_error(json: bool, e: &Error, device: Option<&str>, file: &str, line: usize) {
    crate::output::flush();
    let text = crate::render::error_line(e, device);
    let text = text.strip_prefix("mmiodrv: error: ").unwrap_or(&text);
    eprintln!("mmiodrv: error: {file}:{line}: {text}");
    if json {
        print_json(&serde_json::json!({
            "file": file, "line": line, "error": text, "exit": crate::render::exit_status(e),
        }));
    }
}

/// `batch`.
pub fn run(g: &Global, args: &BatchArgs) -> std::result::Result<(), Failure> {
    match args.file.as_deref() {
        Some(p) if p.as_os_str() != "-" => run_file(g, args, p),
        _ if std::io::stdin().is_terminal() && args.file.is_none() => {
            shell(g, &ShellArgs { regmap: args.regmap.clone(), block: args.block.clone() }).map_err(Failure::from)
        }
        _ => run_stream(g, args),
    }
}

/// Every line parsed and checked, then run.
fn run_file(g: &Global, args: &BatchArgs, path: &std::path::Path) -> std::result::Result<(), Failure> {
    let bytes = mmiodrv::value::read_regular_file(path, "a batch script", MAX_SCRIPT)?;
    let text = String::from_utf8(bytes).map_err(|_| Error::invalid(path.display().to_string(), "not UTF-8 text"))?;
    let file = path.display().to_string();
    let device_text = g.device.as_deref();
    // 1. Parse every line. A line repeated (a script unrolled by a
    // generator: 10,000 reads of one register) is parsed and prepared once.
    let mut parser = Parser::default();
    let mut unique: Vec<(usize, Parsed)> = Vec::new();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    // The script as runs: (first line, operation, how many lines in a row).
    let mut program: Vec<(usize, usize, usize)> = Vec::new();
    let mut last: Option<(&str, usize)> = None;
    // The line before when it was an operation, newline included: a line
    // that repeats it byte for byte is known without looking for its end.
    let mut repeat: &str = "";
    let mut rest = text.as_str();
    let mut number = 0;
    while !rest.is_empty() {
        number += 1;
        if let (false, Some(after), Some(run)) = (repeat.is_empty(), rest.strip_prefix(repeat), program.last_mut()) {
            // The line before was this operation: one more line of its run.
            rest = after;
            run.2 += 1;
            continue;
        }
        // As str::lines: a line ends at "\n" or "\r\n", the last one maybe at neither.
        let end = rest.find('\n').map_or(rest.len(), |n| n + 1);
        let (raw, after) = rest.split_at(end);
        rest = after;
        let line = raw.strip_suffix('\n').map_or(raw, |l| l.strip_suffix('\r').unwrap_or(l));
        let key = line.trim();
        let known = match last {
            Some((text, u)) if text == key => Some(u),
            _ => seen.get(key).copied(),
        };
        let u = match known {
            Some(u) => u,
            None => match parse_line(&mut parser, line) {
                Ok(Some(p)) => {
                    seen.insert(key, unique.len());
                    unique.push((number, p));
                    unique.len() - 1
                }
                Ok(None) => {
                    repeat = "";
                    continue;
                }
                Err(e) => {
                    report_error(g.json, &e, device_text, &file, number);
                    return Err(Failure::Reported(crate::render::exit_status(&e)));
                }
            },
        };
        last = Some((key, u));
        repeat = if raw.ends_with('\n') { raw } else { "" };
        match program.last_mut() {
            Some(run) if run.1 == u && run.0 + run.2 == number => run.2 += 1,
            _ => program.push((number, u, 1)),
        }
    }
    // 2. Open the device and check every operation against it, touching
    // nothing; each is resolved for running on the way.
    let (map, device) = map_and_device(g, &map_args(&args.regmap, &args.block))?;
    let mut session = Session::new(&device, map);
    let mut prepared = Vec::with_capacity(unique.len());
    let mut lines = Vec::with_capacity(unique.len());
    for (line, p) in unique {
        match session.prepare(p.op) {
            Ok(op) => {
                prepared.push((op, p.quiet));
                lines.push(line);
            }
            Err(e) => {
                report_error(g.json, &e, device_text, &file, line);
                return Err(Failure::Reported(crate::render::exit_status(&e)));
            }
        }
    }
    if args.check {
        let operations: usize = program.iter().map(|run| run.2).sum();
        if !g.json {
            outln!("{file}: {operations} operation(s) checked, nothing run");
        } else {
            print_json(&serde_json::json!({ "file": file, "operations": operations, "checked": true }));
        }
        return Ok(());
    }
    // 3. Run. A script that waits for interrupts arms them first, so none is missed.
    let mut term = Terminal::new(g.json);
    let name = device.device().to_string();
    // With the mechanism the first `arm` or `wait-irq` naming one asks for; then
    // every line that depends on what is armed is checked, before line 1 runs.
    if prepared.iter().any(|(p, _)| matches!(p.op(), Op::WaitIrq { .. })) {
        let kind = prepared.iter().find_map(|(p, _)| match p.op() {
            Op::Arm { kind } | Op::WaitIrq { kind, .. } => *kind,
            _ => None,
        });
        session.run(&Op::Arm { kind })?;
        for ((p, _), line) in prepared.iter().zip(&lines) {
            if let Err(e) = session.check_armed(p.op()) {
                report_error(g.json, &e, device_text, &file, *line);
                return Err(Failure::Reported(crate::render::exit_status(&e)));
            }
        }
    }
    crate::output::hold();
    let mut first_failure: Option<i32> = None;
    // Lines `start..start + n` of one operation, one by one.
    let mut run_lines = |session: &mut Session<'_>,
                         p: &mmiodrv::session::Prepared,
                         quiet: bool,
                         (start, n): (usize, usize),
                         first_failure: &mut Option<i32>| {
        for line in start..start + n {
            // A signal or the kernel's request for the device stops the run
            // between lines (and waits within one), naming the line not run.
            if let Err(e) = mmiodrv::stop::check() {
                report_error(g.json, &e, device_text, &file, line);
                *first_failure = Some(crate::render::exit_status(&e));
                return ControlFlow::Break(());
            }
            // Output waits in a buffer, but not across a wait: what happened
            // before it shows before it starts.
            if matches!(p.op(), Op::Sleep(_) | Op::WaitIrq { .. } | Op::Poll { .. }) {
                crate::output::flush();
            }
            // `read ... --quiet` prints the value alone: no report built for it.
            let result = match (quiet && !g.json).then(|| session.read_value(p)).flatten() {
                Some(read) => read.map(|(value, width)| {
                    let digits = crate::regs::digits_of(width);
                    crate::output::line_with(|out| crate::regs::push_hex(out, value, digits))
                }),
                None => session.run_prepared(p).map(|outcome| print(g.json, p.op(), quiet, &name, outcome, &mut term)),
            };
            if let Err(e) = result {
                report_error(g.json, &e, device_text, &file, line);
                first_failure.get_or_insert(crate::render::exit_status(&e));
                if !args.keep_going {
                    return ControlFlow::Break(());
                }
            }
        }
        ControlFlow::Continue(())
    };
    'runs: for &(first, u, count) in &program {
        let (p, quiet) = &prepared[u];
        // A quiet read repeated: its window and target found once, its values
        // pushed straight into the output buffer, one read per line still.
        if *quiet && !g.json && count > 1 && mmiodrv::stop::requested().is_none() {
            if let Some(reader) = session.reader(p) {
                let mut done = 0;
                let failed = reader.and_then(|reader| {
                    let digits = crate::regs::digits_of(reader.width());
                    while done < count {
                        crate::output::with_held(|out| {
                            while done < count && out.len() < crate::output::HELD_LIMIT {
                                mmiodrv::stop::check()?;
                                crate::regs::push_hex_line(out, reader.read()?, digits);
                                done += 1;
                            }
                            Ok::<_, mmiodrv::Error>(())
                        })?;
                        if done < count {
                            crate::output::flush(); // full
                        }
                    }
                    Ok(())
                });
                match failed {
                    Ok(()) => continue,
                    Err(e) => {
                        // The line that failed ends the run, as line by line:
                        // a stop always, an error unless --keep-going (then
                        // the rest of the run goes line by line below).
                        report_error(g.json, &e, device_text, &file, first + done);
                        let status = crate::render::exit_status(&e);
                        if matches!(e.kind(), ErrorKind::Interrupted { .. } | ErrorKind::ReleaseRequested) {
                            first_failure = Some(status);
                            break 'runs;
                        }
                        first_failure.get_or_insert(status);
                        if !args.keep_going {
                            break 'runs;
                        }
                        if run_lines(&mut session, p, *quiet, (first + done + 1, count - done - 1), &mut first_failure)
                            .is_break()
                        {
                            break 'runs;
                        }
                        continue;
                    }
                }
            }
        }
        if run_lines(&mut session, p, *quiet, (first, count), &mut first_failure).is_break() {
            break;
        }
    }
    crate::output::flush();
    match first_failure {
        Some(status) => Err(Failure::Reported(status)),
        None => Ok(()),
    }
}

/// One line: its words (empty: a blank or comment line), then an operation.
fn parse_line(parser: &mut Parser, line: &str) -> Result<Option<Parsed>> {
    let words = words(line).map_err(|why| Error::from(ErrorKind::Syntax { message: why }))?;
    if words.is_empty() {
        return Ok(None);
    }
    parser.parse(&words).map(Some)
}

/// The pipe protocol: a line in, its reply out (flushed), until end of input.
fn run_stream(g: &Global, args: &BatchArgs) -> std::result::Result<(), Failure> {
    let (map, device) = map_and_device(g, &map_args(&args.regmap, &args.block))?;
    let mut session = Session::new(&device, map);
    let mut term = Terminal::new(g.json);
    let name = device.device().to_string();
    let device_text = g.device.as_deref();
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut parser = Parser::default();
    let mut first_failure: Option<i32> = None;
    for i in 0.. {
        let line = match next_line(&mut input) {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(e) => {
                // Not a line that can be skipped: the input is not the protocol.
                report_error(g.json, &e, device_text, "-", i + 1);
                first_failure.get_or_insert(crate::render::exit_status(&e));
                break;
            }
        };
        if let Err(e) = mmiodrv::stop::check() {
            report_error(g.json, &e, device_text, "-", i + 1);
            first_failure = Some(crate::render::exit_status(&e));
            break;
        }
        let line = String::from_utf8(line)
            .map_err(|_| Error::from(ErrorKind::Syntax { message: "a line that is not UTF-8 text".into() }));
        let result = line.and_then(|line| parse_line(&mut parser, &line)).and_then(|p| match p {
            Some(p) if !args.check => session.run(&p.op).map(|o| Some((o, p))),
            Some(p) => session.check(&p.op).map(|_| None),
            None => Ok(None),
        });
        match result {
            Ok(Some((outcome, p))) => print(g.json, &p.op, p.quiet, &name, outcome, &mut term),
            Ok(None) => {}
            Err(e) => {
                report_error(g.json, &e, device_text, "-", i + 1);
                first_failure.get_or_insert(crate::render::exit_status(&e));
                if !args.keep_going {
                    break;
                }
            }
        }
    }
    match first_failure {
        Some(status) => Err(Failure::Reported(status)),
        None => Ok(()),
    }
}

/// Longest line of the pipe protocol.
const MAX_LINE: u64 = 64 << 10;

/// The next line of the pipe protocol, without its end of line; `None` at
/// the end of input. Nothing is read past [`MAX_LINE`] bytes of one line.
fn next_line(input: &mut impl BufRead) -> Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    let n = std::io::Read::take(&mut *input, MAX_LINE + 1)
        .read_until(b'\n', &mut buf)
        .map_err(|e| Error::io("cannot read", "standard input", e))?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
    } else if buf.len() as u64 > MAX_LINE {
        return Err(ErrorKind::Syntax { message: format!("a line longer than {MAX_LINE} bytes") }.into());
    }
    Ok(Some(buf))
}

/// The interactive shell.
pub fn shell(g: &Global, args: &ShellArgs) -> Result<()> {
    use rustyline::error::ReadlineError;
    let (map, device) = map_and_device(g, &map_args(&args.regmap, &args.block))?;
    let mut session = Session::new(&device, map);
    let names = completion_words(&mut session);
    let mut term = Terminal::new(g.json);
    let name = device.device().to_string();
    // Completion as in bash: TAB completes the common prefix, a second TAB lists the candidates.
    let config = rustyline::Config::builder().completion_type(rustyline::CompletionType::List).build();
    let mut editor = rustyline::Editor::<Completer, rustyline::history::DefaultHistory>::with_config(config)
        .map_err(|e| Error::invalid("terminal", e.to_string()))?;
    editor.set_helper(Some(Completer { names }));
    let history = history_file();
    if let Some(h) = &history {
        let _ = editor.load_history(h);
    }
    let prompt = format!("mmiodrv {}> ", device.device());
    let device_text = g.device.as_deref();
    let mut parser = Parser::default();
    let mut n = 0;
    loop {
        let line = match editor.readline(&prompt) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(Error::invalid("terminal", e.to_string())),
        };
        n += 1;
        let _ = editor.add_history_entry(line.as_str());
        match line.trim() {
            "quit" | "exit" => break,
            "help" => {
                outln!("{}", line_command().render_long_help());
                continue;
            }
            _ => {}
        }
        let result =
            parse_line(&mut parser, &line).and_then(|p| p.map(|p| session.run(&p.op).map(|o| (o, p))).transpose());
        match result {
            Ok(Some((outcome, p))) => print(g.json, &p.op, p.quiet, &name, outcome, &mut term),
            Ok(None) => {}
            Err(e) => report_error(false, &e, device_text, "shell", n),
        }
    }
    if let Some(h) = &history {
        if let Some(dir) = h.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = editor.save_history(h);
    }
    Ok(())
}

/// `$MMIODRV_HISTORY`, else `$XDG_STATE_HOME/mmiodrv/history`, else
/// `~/.local/state/mmiodrv/history`.
fn history_file() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MMIODRV_HISTORY") {
        return Some(PathBuf::from(p));
    }
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    Some(state.join("mmiodrv/history"))
}

/// Commands, then register and REG.FIELD names of the session's map.
fn completion_words(session: &mut Session<'_>) -> Vec<String> {
    let mut words: Vec<String> = line_command().get_subcommands().map(|c| c.get_name().to_string()).collect();
    words.extend(["help", "quit"].map(String::from));
    if let Some(map) = session.map() {
        for reg in map.registers.iter() {
            words.push(reg.name.to_string());
            words.extend(reg.fields.iter().map(|f| format!("{}.{}", reg.name, f.name)));
        }
    }
    words
}

/// Tab completion for the shell.
struct Completer {
    names: Vec<String>,
}

impl rustyline::completion::Completer for Completer {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        let start = line[..pos].rfind(char::is_whitespace).map(|i| i + 1).unwrap_or(0);
        let prefix = &line[start..pos];
        let upper = prefix.to_ascii_uppercase();
        let mut hits: Vec<String> =
            self.names.iter().filter(|n| n.starts_with(prefix) || n.starts_with(&upper)).cloned().collect();
        hits.sort();
        hits.dedup();
        Ok((start, hits))
    }
}

impl rustyline::hint::Hinter for Completer {
    type Hint = String;
}
impl rustyline::highlight::Highlighter for Completer {}
impl rustyline::validate::Validator for Completer {}
impl rustyline::Helper for Completer {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_like_a_shell() {
        assert_eq!(words("read  ID   # the id").unwrap(), ["read", "ID"]);
        assert_eq!(
            words("echo 'hello world' \"a \\\"b\\\"\" c\\ d").unwrap(),
            ["echo", "hello world", "a \"b\"", "c d"]
        );
        assert_eq!(words("   # only a comment").unwrap(), Vec::<String>::new());
        assert!(words("echo 'open").is_err());
    }

    #[test]
    fn lines_parse_with_the_one_shot_value_parsers() {
        let mut parser = Parser::default();
        let mut p = |l: &str| parser.parse(&words(l).unwrap());
        assert!(matches!(p("read 0x0 --width 64").unwrap().op, Op::Read(At { width: Some(Width::W64), .. })));
        assert!(matches!(p("write LIVENESS 0x12 --verify").unwrap().op, Op::Write { value: 0x12, verify: true, .. }));
        assert!(matches!(p("poll STATUS 0 --mask 0x1 --timeout 100").unwrap().op, Op::Poll { mask: Some(1), .. }));
        assert!(matches!(p("expect ID 0x010000ed").unwrap().op, Op::Expect { expected: 0x0100_00ed, .. }));
        assert!(matches!(p("wait-irq --vector 0").unwrap().op, Op::WaitIrq { vector: Some(0), count: 1, .. }));
        assert!(matches!(p("sleep 10").unwrap().op, Op::Sleep(_)));
        assert!(matches!(p("echo a b").unwrap().op, Op::Echo(ref t) if t == "a b"));
        assert!(matches!(p("dma alloc 4K --mask-bits 28").unwrap().op, Op::DmaAlloc { size: 4096, .. }));
        assert!(matches!(p("edu factorial 10").unwrap().op, Op::Driver { .. }));
        for bad in
            ["read", "write 0x4", "write 0x4 abc", "read 0x0 --width 12", "frobnicate", "edu factorial 0x100000000"]
        {
            let e = p(bad).err().unwrap_or_else(|| panic!("{bad} parsed"));
            assert_eq!(crate::render::exit_status(&e), 2, "{bad}: {e}");
        }
    }
}

#[cfg(test)]
mod fast_tests {
    use super::*;

    /// Wherever the fast line parser accepts a line, clap parses it to the same
    /// operation; and the common shapes are accepted.
    #[test]
    fn fast_lines_agree_with_clap() {
        let mut clap = line_command();
        let accepted = [
            "read ID",
            "read 0x0 --quiet",
            "read 0x80 --width 64 --bar 0 -q",
            "read STATUS.COMPUTING --width=32",
            "write LIVENESS 0x12345678",
            "write 0x4 5 --verify --quiet",
            "write DMA_CMD.DIRECTION 1 --bar=0",
            "expect ID 0x010000ed",
            "expect STATUS 0 --mask 0x1",
            "poll STATUS.COMPUTING 0 --timeout 100",
            "poll STATUS 0x80 --mask 0x80 --width 32",
            "sleep 10",
        ];
        let refused = [
            "read",
            "read ID ID",
            "read ID --verify",
            "read ID --mask 1",
            "read ID --quiet --quiet",
            "write 0x4",
            "write 0x4 -1",
            "write 0x4 abc",
            "expect ID",
            "poll STATUS 0 --timeout",
            "poll STATUS 0 --timeout x",
            "sleep",
            "sleep 1 --width 8",
            "read 0x0 --width 12",
            "dump",
            "edu id",
            "read ID --help",
        ];
        for line in accepted {
            let w = words(line).unwrap();
            let fast = fast_line(&w).unwrap_or_else(|| panic!("fast parser refused {line:?}"));
            let slow = parse_words(&mut clap, &w).unwrap_or_else(|e| panic!("clap refused {line:?}: {e}"));
            assert_eq!(format!("{fast:?}"), format!("{slow:?}"), "{line}");
        }
        for line in refused {
            assert!(fast_line(&words(line).unwrap()).is_none(), "fast parser accepted {line:?}");
        }
    }
}
