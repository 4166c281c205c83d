//! Running a command: what it runs against ([`Subject`]), its arguments, and
//! the front end its results go to ([`Frontend`]) as typed [`Outcome`]s.

use serde::Serialize;

use super::{Args, Command};
use crate::device::Device;
use crate::error::Result;
use crate::outcome::Outcome;

/// One result of a driver's command: the JSON object scripts read (its
/// fields; the front end adds `schema` and `op`) and the lines a person reads.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// The JSON object (the `--json` output), without `schema` and `op`.
    pub json: serde_json::Value,
    /// The text lines.
    pub lines: Vec<String>,
}

impl Report {
    /// A report from a serializable value and its text.
    pub fn new(json: impl Serialize, lines: Vec<String>) -> Self {
        Report { json: serde_json::to_value(json).unwrap_or(serde_json::Value::Null), lines }
    }

    /// A report with one line of text.
    pub fn line(json: impl Serialize, line: String) -> Self {
        Report::new(json, vec![line])
    }

    /// Text for a person only (progress, a prompt): nothing in JSON.
    pub fn text(line: String) -> Self {
        Report { json: serde_json::Value::Null, lines: vec![line] }
    }
}

/// Progress of a long transfer, shown by the front end as it likes.
pub trait Progress {
    /// `n` more units done.
    fn advance(&mut self, n: u64);
}

/// A progress that shows nothing.
pub struct NoProgress;

impl Progress for NoProgress {
    fn advance(&mut self, _n: u64) {}
}

/// Where results go: the terminal (text or JSON lines), a script's output,
/// a Python caller. Every result of every command arrives here as a typed
/// [`Outcome`], as soon as it is known.
pub trait Frontend {
    /// One result.
    fn emit(&mut self, outcome: Outcome);

    /// Progress for a transfer of `total` bytes described as `what`.
    fn progress(&mut self, total: u64, what: &str) -> Box<dyn Progress> {
        let _ = (total, what);
        Box::new(NoProgress)
    }

    /// A descriptor that becomes readable when the front end wants a
    /// long-running command (a server, a wait) to stop, e.g. on SIGINT.
    fn stop_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        None
    }
}

/// A front end that keeps every result (for tests and Python).
#[derive(Default)]
pub struct Collect(pub Vec<Outcome>);

impl Frontend for Collect {
    fn emit(&mut self, outcome: Outcome) {
        self.0.push(outcome);
    }
}

/// What a command runs against.
pub enum Subject<'a> {
    /// An opened device.
    Device(&'a Device),
    /// A host file standing for the device's memory (`file:PATH`).
    File(&'a std::path::Path),
    /// Nothing.
    Nothing,
}

/// One call of a command.
pub struct Call<'a> {
    /// The command called.
    pub command: &'static Command,
    /// Its path from the top (`["edu", "factorial"]`), for its results' `op`.
    pub path: &'a str,
    /// What it runs against.
    pub subject: Subject<'a>,
    /// Its arguments.
    pub args: &'a Args,
    /// Where results go.
    pub out: &'a mut dyn Frontend,
}

impl<'a> Call<'a> {
    /// The device (commands with [`super::Needs::Device`] always have one).
    pub fn device(&self) -> Result<&'a Device> {
        match self.subject {
            Subject::Device(d) => Ok(d),
            _ => Err(crate::error::ErrorKind::MissingDevice.into()),
        }
    }

    /// Report one result of this command.
    pub fn report(&mut self, report: Report) {
        self.out.emit(Outcome::Report { op: self.path.to_string(), report });
    }
}
