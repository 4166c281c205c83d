//! `batch` and `shell`: many operations in one process, on one opened device.
//!
//! Three ways in, one language (docs/batch.md), one parser and one executor:
//! a line's words go through the library's grammar ([`crate::cli::parse_line`]:
//! the register operations and the drivers' commands, as on the command
//! line) to an operation the library's [`Session`] runs.
//! - `batch FILE` (`file.rs`): the whole script is parsed and checked before
//!   anything runs (a typo on line 40 never leaves the device
//!   half-programmed), then run in order; a failure names FILE:LINE and
//!   stops the run (unless `--keep-going`).
//! - `batch -` with stdin a pipe (`pipe.rs`): the pipe protocol. Each line
//!   runs when it arrives and its reply is written and flushed before the
//!   next is read (with `--json`, exactly one JSON object per line, errors
//!   included).
//! - `shell` (or `batch` with a terminal on stdin, `shell.rs`): the same
//!   language interactively, with line editing, history and completion.

mod file;
mod pipe;
mod shell;

use std::io::IsTerminal;

use mmiodrv::command::{Call, Command, Frontend};
use mmiodrv::error::{Error, Result};
use mmiodrv::lock::LockMode;
use mmiodrv::outcome::Outcome;
use mmiodrv::session::{Op, Request, Session};

use crate::cli::Global;
use crate::context::{session_device, MapChoice};
use crate::output::{errors, render, Style};

pub use shell::shell;

/// `batch [FILE|-]`.
pub fn batch(call: &mut Call<'_>) -> Result<()> {
    let g = Global::from_args(call.args)?;
    crate::context::stoppable()?;
    let choice = MapChoice::from_args(call.args);
    let (check, keep_going) = (call.args.flag("check"), call.args.flag("keep-going"));
    match call.args.opt_path("FILE") {
        Some(p) if p.as_os_str() != "-" => file::run(&g, &choice, p, check, keep_going),
        None if std::io::stdin().is_terminal() => shell::run(&g, &choice),
        _ => pipe::run(&g, &choice, check, keep_going),
    }
}

/// The device and a session on it, for a whole run (the device to itself).
fn open(g: &Global, choice: &MapChoice) -> Result<(mmiodrv::session::SessionOptions, mmiodrv::device::Device)> {
    session_device(g, choice, Some(LockMode::Exclusive))
}

/// The commands a line takes.
fn line_tree() -> Vec<&'static Command> {
    crate::cli::line_tree()
}

/// What a line asks.
enum Line {
    /// Nothing: blank, or a comment.
    Nothing,
    /// Help on the words given.
    Help(Vec<String>),
    /// An operation.
    Request(Request),
}

/// One line: its words, then what it asks.
fn parse_line(line: &str, tree: &[&'static Command]) -> Result<Line> {
    let words = words(line).map_err(Error::syntax)?;
    if words.is_empty() {
        return Ok(Line::Nothing);
    }
    let refs: Vec<&str> = words.iter().map(String::as_str).collect();
    let parsed = crate::cli::parse_line(&refs, tree)?;
    if parsed.help {
        return Ok(Line::Help(parsed.path.iter().map(|c| c.name.to_string()).collect()));
    }
    Op::from_args(&parsed.path, &parsed.args).map(Line::Request)
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

/// How a line's results are shown.
fn style(g: &Global, request: &Request) -> Style {
    Style { json: g.json, quiet: request.quiet, wait_irq: matches!(request.op, Op::Write { irq: Some(_), .. }) }
}

/// The results of one line. Text goes out as it comes; JSON is one object
/// per line (the pipe protocol's framing): the line's one result, or its
/// results together when a command made several.
struct Framed {
    style: Style,
    op: String,
    held: Vec<Outcome>,
}

impl Framed {
    fn new(style: Style, request: &Request) -> Self {
        let op = match &request.op {
            Op::Driver { path, .. } => path.clone(),
            _ => String::new(),
        };
        Framed { style, op, held: Vec::new() }
    }

    /// Print what is held (JSON: one object).
    fn finish(&mut self) {
        let held = std::mem::take(&mut self.held);
        let with_json: Vec<&Outcome> = held.iter().filter(|o| o.payload_json().is_some()).collect();
        match with_json.as_slice() {
            [] => {}
            [one] => render::outcome(one, self.style),
            many => {
                let op = if self.op.is_empty() { many[0].op().to_string() } else { self.op.clone() };
                let results: Vec<serde_json::Value> =
                    many.iter().filter_map(|o| o.json_value(crate::output::SCHEMA_VERSION)).collect();
                crate::output::print_json(&op, &serde_json::json!({ "results": results }));
            }
        }
    }
}

impl Frontend for Framed {
    fn emit(&mut self, outcome: Outcome) {
        if self.style.json {
            self.held.push(outcome);
        } else {
            render::outcome(&outcome, self.style);
        }
    }

    fn stop_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        mmiodrv::stop::install_signal_handlers().ok()?;
        mmiodrv::stop::fd()
    }
}

/// Run one prepared line and print its results.
fn run_line(session: &Session<'_>, g: &Global, prepared: &mmiodrv::session::Prepared, quiet: bool) -> Result<()> {
    let request = Request { op: prepared.op().clone(), quiet };
    let mut out = Framed::new(style(g, &request), &request);
    let result = session.run(prepared, &mut out);
    out.finish();
    result
}

/// An error, named by FILE:LINE, as one line on stderr (and, with --json, as
/// one JSON object on stdout, so a program reading replies sees it).
fn report_error(g: &Global, e: &Error, file: &str, line: usize) {
    crate::output::flush();
    let text = errors::error_line(e, g.device.as_deref());
    let text = text.strip_prefix("mmiodrv: error: ").unwrap_or(&text);
    eprintln!("mmiodrv: error: {file}:{line}: {text}");
    if g.json {
        errors::print_error_json(e, g.device.as_deref(), Some((file, line)));
    }
    errors::mark_reported();
}

/// Help on a line's command, as the shell and the pipe protocol print it.
fn help(path: &[String]) {
    let names: Vec<&str> = path.iter().map(String::as_str).collect();
    let text = crate::cli::help::line_help_text(&line_tree(), &names);
    outln!("{}", text.trim_end());
}

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

    fn op(line: &str) -> Result<Op> {
        match parse_line(line, &line_tree())? {
            Line::Request(r) => Ok(r.op),
            _ => Err(Error::syntax("no request")),
        }
    }

    #[test]
    fn lines_parse_with_the_one_grammar() {
        use mmiodrv::mmio::Width;
        use mmiodrv::session::At;
        assert!(matches!(op("read 0x0 --width 64").unwrap(), Op::Read(At { width: Some(Width::W64), .. })));
        assert!(matches!(op("write LIVENESS 0x12 --verify").unwrap(), Op::Write { value: 0x12, verify: true, .. }));
        assert!(matches!(op("poll STATUS 0 --mask 0x1 --timeout 100").unwrap(), Op::Poll { mask: Some(1), .. }));
        assert!(matches!(op("expect ID 0x010000ed").unwrap(), Op::Expect { expected: 0x0100_00ed, .. }));
        assert!(matches!(op("wait-irq --vector 0").unwrap(), Op::WaitIrq(w) if w.vector == Some(0) && w.count == 1));
        assert!(
            matches!(op("wait-irq --count 3 --timeout 9").unwrap(), Op::WaitIrq(w) if w.count == 3 && w.timeout.as_millis() == 9)
        );
        assert!(
            matches!(op("write 0x60 1 --wait-irq --vector 1").unwrap(), Op::Write { irq: Some(w), .. } if w.vector == Some(1))
        );
        assert!(matches!(op("sleep 10").unwrap(), Op::Sleep(_)));
        assert!(matches!(op("echo a b").unwrap(), Op::Echo(ref t) if t == "a b"));
        assert!(matches!(op("dma alloc 4K --mask-bits 28").unwrap(), Op::DmaAlloc { size: 4096, .. }));
        assert!(matches!(op("dma write 0 --hex 0102").unwrap(), Op::DmaWrite { ref data, .. } if data == &[1, 2]));
        assert!(matches!(op("dma read 0 16").unwrap(), Op::DmaRead { len: 16, .. }));
        assert!(matches!(op("dump").unwrap(), Op::Dump { .. }));
        assert!(matches!(op("dump-regs --len 16").unwrap(), Op::Hexdump { len: Some(16), .. }));
        assert!(matches!(op("edu factorial 10").unwrap(), Op::Driver { .. }));
        for bad in [
            "read",
            "write 0x4",
            "write 0x4 abc",
            "read 0x0 --width 12",
            "frobnicate",
            "edu factorial 0x100000000",
            "read ID --regmap m.toml",
        ] {
            let e = op(bad).err().unwrap_or_else(|| panic!("{bad} parsed"));
            assert_eq!(errors::exit_status(&e), 2, "{bad}: {e}");
        }
        assert!(matches!(parse_line("help read", &line_tree()).unwrap(), Line::Help(p) if p == ["read"]));
    }
}
