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

pub use file::MAX_SCRIPT;

use std::io::IsTerminal;

use mmiodrv::command::{Call, Command, Frontend};
use mmiodrv::error::{Error, Result};
use mmiodrv::lock::LockMode;
use mmiodrv::outcome::Outcome;
use mmiodrv::session::{Op, Session};

use crate::cli::Global;
use crate::context::{session_device, MapChoice};
use crate::output::{errors, render, Style};

use mmiodrv::session::{parse_line, Line};
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
    mmiodrv::session::line_commands()
}

/// How a line's results are shown.
fn style(g: &Global, op: &Op, quiet: bool) -> Style {
    Style { json: g.json, quiet, wait_irq: matches!(op, Op::Write { irq: Some(_), .. }) }
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
    fn new(style: Style, op: &Op) -> Self {
        let op = match op {
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
                crate::output::print_json(&op, &Several { results });
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

thread_local! {
    /// The JSON results of a line that then failed, for its error object.
    static PARTIAL: std::cell::RefCell<Vec<serde_json::Value>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A line's several results, as one object (docs/json-schema.json: `results`).
#[derive(serde::Serialize)]
struct Several {
    results: Vec<serde_json::Value>,
}

/// Run one prepared line and print its results. With --json, a line that
/// fails after some results (a verified write that did not stick) prints one
/// object still: its error, holding those results.
fn run_line(session: &Session<'_>, g: &Global, prepared: &mmiodrv::session::Prepared, quiet: bool) -> Result<()> {
    let mut out = Framed::new(style(g, prepared.op(), quiet), prepared.op());
    let result = session.run(prepared, &mut out);
    match &result {
        Ok(()) => out.finish(),
        Err(_) => {
            let held: Vec<serde_json::Value> =
                out.held.iter().filter_map(|o| o.json_value(crate::output::SCHEMA_VERSION)).collect();
            PARTIAL.with(|p| *p.borrow_mut() = held);
        }
    }
    result
}

/// An error, named by FILE:LINE, as one line on stderr (and, with --json, as
/// one JSON object on stdout, so a program reading replies sees it). An
/// error of the session names its device itself; a line that does not parse
/// concerns no device.
fn report_error(g: &Global, e: &Error, file: &str, line: usize) {
    crate::output::flush();
    let text = errors::error_line(e, None);
    let text = text.strip_prefix("mmiodrv: error: ").unwrap_or(&text);
    crate::output::err_line(&format!("mmiodrv: error: {file}:{line}: {text}"));
    let partial = PARTIAL.with(|p| std::mem::take(&mut *p.borrow_mut()));
    if g.json {
        errors::print_error_json(e, None, Some((file, line)), partial);
    }
    errors::mark_reported();
}

/// All of standard input, up to `limit` bytes (a remote run's script).
fn read_stdin(limit: u64) -> Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::io::stdin()
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io("cannot read", "standard input", e))?;
    if bytes.len() as u64 > limit {
        return Err(mmiodrv::ErrorKind::FileTooLarge { what: "a batch script", path: "-".into(), limit }.into());
    }
    Ok(bytes)
}

/// Help on a line's command, as the shell and the pipe protocol print it.
fn help(path: &[String]) {
    let names: Vec<&str> = path.iter().map(String::as_str).collect();
    let text = crate::cli::help::line_help_text(&line_tree(), &names);
    outln!("{}", text.trim_end());
}
