//! Driver subcommands, described as data: a driver declares its commands
//! (`mmiodrv edu factorial 10`) in its own folder with these types, and front
//! ends do the rest. The command-line binary turns them into its parser (help,
//! completions, man pages), batch scripts run them by name, and the Python
//! module calls them as methods. Nothing here depends on a command-line crate.
//!
//! A command's `run` gets the parsed [`Args`], the device (when it needs one)
//! and a [`Frontend`] to report to: one [`Report`] per result, each carrying
//! both the JSON object and the lines a person reads.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::device::Device;
use crate::error::{Error, Result};
use crate::value::{parse_size, parse_u64};

/// What a command needs to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    /// The selected device, opened (and checked to be the driver's).
    Device,
    /// The selected device, or a host file (`file:PATH`) standing for its memory.
    DeviceOrFile,
    /// No device.
    Nothing,
}

/// One command (or group of subcommands).
#[derive(Debug)]
pub struct Command {
    /// Its name on the command line.
    pub name: &'static str,
    /// One line on what it does.
    pub about: &'static str,
    /// Arguments.
    pub args: &'static [Arg],
    /// Subcommands (for a group; then `run` is `None`).
    pub subcommands: &'static [Command],
    /// Example command lines, each with what it does.
    pub examples: &'static [(&'static str, &'static str)],
    /// What it needs.
    pub needs: Needs,
    /// The work.
    pub run: Option<RunFn>,
}

/// A command's implementation.
pub type RunFn = fn(&mut Call<'_>) -> Result<()>;

/// How an argument is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgKind {
    /// A positional argument.
    Positional {
        /// Must be given.
        required: bool,
    },
    /// `--name VALUE`.
    Option {
        /// Must be given.
        required: bool,
    },
    /// `--name`, a boolean.
    Flag,
}

/// What an argument's value is, and so how it is parsed and checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value {
    /// An unsigned number of at most this many bits (`0x..`, `0b..`, decimal).
    Bits(u32),
    /// A size or offset with optional K/M/G suffix.
    Size,
    /// Milliseconds.
    Millis,
    /// A file path.
    Path,
    /// Free text.
    Text,
    /// One of a fixed list.
    Choice(&'static [&'static str]),
    /// No value (flags).
    None,
}

/// One argument.
#[derive(Clone, Copy, Debug)]
pub struct Arg {
    /// Name: `--name` for options and flags, the placeholder for positionals.
    pub name: &'static str,
    /// What it is.
    pub help: &'static str,
    /// How it is given.
    pub kind: ArgKind,
    /// Its value.
    pub value: Value,
    /// Default when not given.
    pub default: Option<&'static str>,
}

impl Arg {
    /// A required positional.
    pub const fn positional(name: &'static str, value: Value, help: &'static str) -> Self {
        Arg { name, help, kind: ArgKind::Positional { required: true }, value, default: None }
    }
    /// An option `--name VALUE`.
    pub const fn option(name: &'static str, value: Value, help: &'static str) -> Self {
        Arg { name, help, kind: ArgKind::Option { required: false }, value, default: None }
    }
    /// A flag `--name`.
    pub const fn flag(name: &'static str, help: &'static str) -> Self {
        Arg { name, help, kind: ArgKind::Flag, value: Value::None, default: None }
    }
    /// With a default value.
    pub const fn default(mut self, value: &'static str) -> Self {
        self.default = Some(value);
        if let ArgKind::Positional { .. } = self.kind {
            self.kind = ArgKind::Positional { required: false };
        }
        self
    }
    /// Required (for options).
    pub const fn required(mut self) -> Self {
        self.kind = match self.kind {
            ArgKind::Option { .. } => ArgKind::Option { required: true },
            other => other,
        };
        self
    }
}

/// A parsed argument value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A number (bits, sizes, milliseconds).
    Int(u64),
    /// A path.
    Path(PathBuf),
    /// Text or a choice.
    Text(String),
    /// A flag.
    Flag(bool),
}

impl Value {
    /// Parse `text` as this kind of value, with the library's number rules
    /// (the same errors every front end shows).
    pub fn parse(&self, text: &str, what: &str) -> Result<Parsed> {
        Ok(match self {
            Value::Bits(bits) => Parsed::Int(crate::value::parse_bits(text, *bits, what)?),
            Value::Size => Parsed::Int(parse_size(text)?),
            Value::Millis => Parsed::Int(parse_u64(text)?),
            Value::Path => Parsed::Path(PathBuf::from(text)),
            Value::Text => Parsed::Text(text.to_string()),
            Value::Choice(choices) => {
                if !choices.contains(&text) {
                    return Err(Error::invalid(text, format!("expected one of {}", choices.join(", "))));
                }
                Parsed::Text(text.to_string())
            }
            Value::None => Parsed::Flag(true),
        })
    }

    /// A placeholder for help texts.
    pub fn placeholder(&self) -> &'static str {
        match self {
            Value::Bits(_) => "N",
            Value::Size => "BYTES",
            Value::Millis => "MS",
            Value::Path => "FILE",
            Value::Text => "TEXT",
            Value::Choice(_) => "CHOICE",
            Value::None => "",
        }
    }
}

/// The parsed arguments of one call.
#[derive(Clone, Debug, Default)]
pub struct Args {
    values: Vec<(&'static str, Parsed)>,
}

impl Args {
    /// Record a value.
    pub fn set(&mut self, name: &'static str, value: Parsed) {
        self.values.retain(|(n, _)| *n != name);
        self.values.push((name, value));
    }

    fn get(&self, name: &str) -> Option<&Parsed> {
        self.values.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    fn missing(name: &str) -> Error {
        Error::invalid(name, "this argument was not given (and has no default)")
    }

    /// A number argument.
    pub fn int(&self, name: &str) -> Result<u64> {
        match self.get(name) {
            Some(Parsed::Int(v)) => Ok(*v),
            _ => Err(Self::missing(name)),
        }
    }

    /// A number argument that may be absent.
    pub fn opt_int(&self, name: &str) -> Option<u64> {
        match self.get(name) {
            Some(Parsed::Int(v)) => Some(*v),
            _ => None,
        }
    }

    /// A millisecond argument as a duration.
    pub fn millis(&self, name: &str) -> Result<Duration> {
        self.int(name).map(Duration::from_millis)
    }

    /// A path argument that may be absent.
    pub fn opt_path(&self, name: &str) -> Option<&std::path::Path> {
        match self.get(name) {
            Some(Parsed::Path(p)) => Some(p),
            _ => None,
        }
    }

    /// A path argument.
    pub fn path(&self, name: &str) -> Result<&std::path::Path> {
        self.opt_path(name).ok_or_else(|| Self::missing(name))
    }

    /// A text or choice argument that may be absent.
    pub fn opt_text(&self, name: &str) -> Option<&str> {
        match self.get(name) {
            Some(Parsed::Text(t)) => Some(t),
            _ => None,
        }
    }

    /// A flag.
    pub fn flag(&self, name: &str) -> bool {
        matches!(self.get(name), Some(Parsed::Flag(true)))
    }
}

/// One result of a command: the JSON object scripts read and the lines a
/// person reads.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// The JSON object (the `--json` output).
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

/// Where a command's results go: the terminal, JSON lines, a Python caller.
pub trait Frontend {
    /// One result.
    fn report(&mut self, report: Report);

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

/// A front end that keeps every report (for tests, batch and Python).
#[derive(Default)]
pub struct Collect(pub Vec<Report>);

impl Frontend for Collect {
    fn report(&mut self, report: Report) {
        self.0.push(report);
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
    /// What it runs against.
    pub subject: Subject<'a>,
    /// Its arguments.
    pub args: &'a Args,
    /// Where results go.
    pub out: &'a mut dyn Frontend,
}

impl<'a> Call<'a> {
    /// The device (commands with [`Needs::Device`] always have one).
    pub fn device(&self) -> Result<&'a Device> {
        match self.subject {
            Subject::Device(d) => Ok(d),
            _ => Err(crate::error::ErrorKind::MissingDevice.into()),
        }
    }

    /// Report one result.
    pub fn report(&mut self, report: Report) {
        self.out.report(report);
    }
}

impl Command {
    /// The subcommand at `path` (names), if any.
    pub fn find(&self, path: &[&str]) -> Option<&Command> {
        match path.split_first() {
            None => Some(self),
            Some((first, rest)) => self.subcommands.iter().find(|c| c.name == *first)?.find(rest),
        }
    }

    /// Parse `words` (after the command's own name) into [`Args`] against
    /// this command's arguments: `--name VALUE`, `--name=VALUE`, `--flag`,
    /// positionals in order. For front ends without a parser of their own
    /// (scripts, Python); the command line uses its own parser.
    pub fn parse_args(&self, words: &[&str]) -> Result<Args> {
        let mut args = Args::default();
        let mut positionals = self.args.iter().filter(|a| matches!(a.kind, ArgKind::Positional { .. }));
        let mut i = 0;
        while i < words.len() {
            let word = words[i];
            if let Some(long) = word.strip_prefix("--") {
                let (name, inline) = match long.split_once('=') {
                    Some((n, v)) => (n, Some(v)),
                    None => (long, None),
                };
                let arg = self
                    .args
                    .iter()
                    .find(|a| a.name == name && !matches!(a.kind, ArgKind::Positional { .. }))
                    .ok_or_else(|| Error::invalid(word, format!("{} takes no such option", self.name)))?;
                if arg.kind == ArgKind::Flag {
                    args.set(arg.name, Parsed::Flag(true));
                } else {
                    let text = match inline {
                        Some(v) => v,
                        None => {
                            i += 1;
                            *words.get(i).ok_or_else(|| Error::invalid(word, "needs a value"))?
                        }
                    };
                    args.set(arg.name, arg.value.parse(text, arg.name)?);
                }
            } else {
                let arg = positionals
                    .next()
                    .ok_or_else(|| Error::invalid(word, format!("{} takes no more arguments", self.name)))?;
                args.set(arg.name, arg.value.parse(word, arg.name)?);
            }
            i += 1;
        }
        self.complete(&mut args)?;
        Ok(args)
    }

    /// Fill in defaults and check required arguments.
    pub fn complete(&self, args: &mut Args) -> Result<()> {
        for arg in self.args {
            if args.get(arg.name).is_some() {
                continue;
            }
            match (arg.default, arg.kind) {
                (Some(d), _) => args.set(arg.name, arg.value.parse(d, arg.name)?),
                (None, ArgKind::Flag) => args.set(arg.name, Parsed::Flag(false)),
                (None, ArgKind::Positional { required: true } | ArgKind::Option { required: true }) => {
                    return Err(Error::invalid(arg.name, format!("{} needs {}", self.name, arg.name)));
                }
                (None, _) => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CMD: Command = Command {
        name: "factorial",
        about: "compute N!",
        args: &[
            Arg::positional("N", Value::Bits(32), "the number"),
            Arg::flag("irq", "wait for the interrupt"),
            Arg::option("timeout", Value::Millis, "give up after MS").default("5000"),
        ],
        subcommands: &[],
        examples: &[],
        needs: Needs::Device,
        run: None,
    };

    #[test]
    fn parses_like_the_command_line() {
        let a = CMD.parse_args(&["10", "--irq", "--timeout=100"]).unwrap();
        assert_eq!(a.int("N").unwrap(), 10);
        assert!(a.flag("irq"));
        assert_eq!(a.millis("timeout").unwrap(), Duration::from_millis(100));
        let a = CMD.parse_args(&["0x10"]).unwrap();
        assert_eq!((a.int("N").unwrap(), a.flag("irq"), a.int("timeout").unwrap()), (16, false, 5000));
        assert!(CMD.parse_args(&[]).is_err());
        assert!(CMD.parse_args(&["0x100000000"]).unwrap_err().to_string().contains("does not fit"));
        assert!(CMD.parse_args(&["1", "2"]).is_err());
        assert!(CMD.parse_args(&["1", "--nope"]).is_err());
    }
}
