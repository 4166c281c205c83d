//! The one grammar: every command and operation, declared as data, and the
//! one parser every front end runs them through.
//!
//! A [`Command`] declares its name, its [`Arg`]s (positionals, options,
//! flags, each with the kind of [`Value`] it takes), its subcommands and
//! examples. The library declares the register operations (`read`, `write`,
//! `poll`... in [`crate::session::COMMANDS`]), each driver declares its own
//! (`edu factorial`), and the command-line binary declares its program
//! commands (`list`, `info`...) the same way. Then:
//!
//! - [`parse`] turns words (a command line, a line of a script, a line of
//!   the pipe protocol, a line typed in the shell) into an [`Invocation`]:
//!   the command and its [`Args`], every value checked by the one set of
//!   value parsers ([`Value::parse`]);
//! - a front end without words (Python) fills [`Args`] itself through the
//!   same value parsers and [`Command::complete`];
//! - the command-line binary builds help, completions and man pages from
//!   the same declarations (it never parses with anything else).
//!
//! Nothing here depends on a command-line crate.

mod args;
mod call;
mod parse;

pub use args::{Args, Parsed};
pub use call::{Call, Collect, Frontend, NoProgress, Progress, Report, Subject};
pub use parse::{parse, suggest, Grammar, Invocation};

use crate::error::{Error, Result};
use crate::value::{parse_size, parse_u64};

/// What a command needs to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    /// The selected device, opened (and checked to be the driver's).
    Device,
    /// The selected device, or a host file (`file:PATH`) standing for its memory.
    DeviceOrFile,
    /// No device (or one the command opens itself).
    Nothing,
    /// Every device the selection names, as lspci and setpci take them:
    /// those `-s`/`-d` (or `--device`) select, all of them when none is
    /// given, or a dump's (`-F`). The command opens them itself.
    Selection,
}

/// How a command runs.
#[derive(Clone, Copy, Debug)]
pub enum Run {
    /// A group: one of its subcommands runs.
    Group,
    /// A register operation the executor runs on a session
    /// ([`crate::session::Op::from_args`] builds it).
    Op,
    /// A function run with the device (when it needs one) and a front end.
    Call(RunFn),
}

/// A command's implementation.
pub type RunFn = fn(&mut Call<'_>) -> Result<()>;

/// One command (or group of subcommands).
#[derive(Debug)]
pub struct Command {
    /// Its name.
    pub name: &'static str,
    /// Other names it answers to.
    pub aliases: &'static [&'static str],
    /// One line on what it does.
    pub about: &'static str,
    /// Arguments.
    pub args: &'static [Arg],
    /// Subcommands (for a group).
    pub subcommands: &'static [Command],
    /// Example command lines, each with what it does.
    pub examples: &'static [(&'static str, &'static str)],
    /// What it needs.
    pub needs: Needs,
    /// How it runs.
    pub run: Run,
    /// Left out of help (it serves tools, e.g. shell completion).
    pub hidden: bool,
}

impl Command {
    /// A command that runs `run`, with no arguments yet.
    pub const fn new(name: &'static str, about: &'static str, run: Run) -> Self {
        Command {
            name,
            aliases: &[],
            about,
            args: &[],
            subcommands: &[],
            examples: &[],
            needs: Needs::Device,
            run,
            hidden: false,
        }
    }

    /// A group of subcommands.
    pub const fn group(name: &'static str, about: &'static str, subcommands: &'static [Command]) -> Self {
        Command { subcommands, ..Command::new(name, about, Run::Group) }
    }

    /// With these arguments.
    pub const fn args(mut self, args: &'static [Arg]) -> Self {
        self.args = args;
        self
    }

    /// With these examples (command line, what it does).
    pub const fn examples(mut self, examples: &'static [(&'static str, &'static str)]) -> Self {
        self.examples = examples;
        self
    }

    /// Needing this.
    pub const fn needs(mut self, needs: Needs) -> Self {
        self.needs = needs;
        self
    }

    /// Also answering to these names.
    pub const fn aliases(mut self, aliases: &'static [&'static str]) -> Self {
        self.aliases = aliases;
        self
    }

    /// Left out of help.
    pub const fn hidden(mut self) -> Self {
        self.hidden = true;
        self
    }

    /// Whether `word` names it.
    pub fn answers_to(&self, word: &str) -> bool {
        self.name == word || self.aliases.contains(&word)
    }

    /// The subcommand at `path` (names), if any.
    pub fn find(&self, path: &[&str]) -> Option<&Command> {
        match path.split_first() {
            None => Some(self),
            Some((first, rest)) => self.subcommands.iter().find(|c| c.answers_to(first))?.find(rest),
        }
    }

    /// Fill in defaults and check required arguments and the rules between
    /// arguments: what every front end does once the arguments are given.
    pub fn complete(&self, args: &mut Args) -> Result<()> {
        for arg in self.args {
            if args.has(arg.name) {
                continue;
            }
            if let Some(var) = arg.env {
                if let Ok(text) = std::env::var(var) {
                    args.put(arg.name, arg.value.parse(&text, arg.name)?);
                    continue;
                }
            }
            match (arg.default, arg.kind) {
                (Some(d), _) => args.put(arg.name, arg.value.parse(d, arg.name)?),
                (None, ArgKind::Flag) => args.put(arg.name, Parsed::Flag(false)),
                (None, ArgKind::Count) => args.put(arg.name, Parsed::Count(0)),
                (None, ArgKind::Positional { required: true } | ArgKind::Option { required: true }) => {
                    if !arg.unless.iter().any(|other| args.given(other)) {
                        let what = if arg.is_positional() { arg.name.to_string() } else { arg.usage() };
                        return Err(Error::syntax(format!("{} needs {what}", self.name)));
                    }
                }
                (None, _) => {}
            }
        }
        for arg in self.args.iter().filter(|a| args.given(a.name)) {
            if let Some(other) = arg.requires.iter().find(|other| !args.given(other)) {
                let other = self.arg(other).map_or_else(|| other.to_string(), Arg::usage);
                return Err(Error::syntax(format!("{} only goes with {other}", arg.usage())));
            }
            if let Some(other) = arg.conflicts.iter().find(|other| args.given(other)) {
                let other = self.arg(other).map_or_else(|| other.to_string(), Arg::usage);
                return Err(Error::syntax(format!("{} and {other} cannot be used together", arg.usage())));
            }
        }
        Ok(())
    }

    /// The argument named `name`.
    pub fn arg(&self, name: &str) -> Option<&'static Arg> {
        self.args.iter().find(|a| a.name == name)
    }

    /// Parse `words` (after the command's own name) against this command
    /// alone: for a caller that already knows the command (tests, Python's
    /// `run`). The same parser as [`parse`].
    pub fn parse_args(&'static self, words: &[&str]) -> Result<Args> {
        let grammar = Grammar { commands: &[self], globals: &[], scope: Scope::Line };
        let mut all = Vec::with_capacity(words.len() + 1);
        all.push(self.name);
        all.extend_from_slice(words);
        Ok(parse(&grammar, &all)?.args)
    }
}

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
    /// `-v`, `-vv`: how many times it was given.
    Count,
}

/// Where an argument is accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// On any command line and any line of a session.
    Line,
    /// Only where a session starts (the one-shot command line, `batch`,
    /// `shell`, Python's `open`): it applies to the whole session, so a
    /// script's line cannot change it.
    Session,
}

/// What an argument's value is, and so how it is parsed and checked.
#[derive(Clone, Copy, Debug)]
pub enum Value {
    /// An unsigned number of at most this many bits (`0x..`, `0b..`, decimal).
    Bits(u32),
    /// A number of at most this many bits, or a name of a field's value
    /// (`fast`): [`crate::value::Operand`].
    BitsOrName(u32),
    /// A size or offset with optional K/M/G suffix.
    Size,
    /// Milliseconds.
    Millis,
    /// An access width in bits: 8, 16, 32 or 64.
    Width,
    /// A BAR index, 0 to 5, or `config`: config space, as a window of its own.
    Bar,
    /// A decimal number with a fraction (a rate).
    Float,
    /// A file path.
    Path,
    /// Free text.
    Text,
    /// One of a fixed list.
    Choice(&'static [&'static str]),
    /// Text a function checks (its placeholder for help).
    Checked(fn(&str) -> Result<()>, &'static str),
    /// No value (flags).
    None,
}

/// The access widths [`Value::Width`] takes.
pub const WIDTHS: &[&str] = &["8", "16", "32", "64"];

impl Value {
    /// Parse `text` as this kind of value, with the library's number rules
    /// (the same errors every front end shows); `what` names the argument.
    pub fn parse(&self, text: &str, what: &str) -> Result<Parsed> {
        Ok(match self {
            Value::Bits(bits) => Parsed::Int(crate::value::parse_bits(text, *bits, what)?),
            Value::BitsOrName(bits) => match crate::value::Operand::parse(text, *bits, what)? {
                crate::value::Operand::Number(n) => Parsed::Int(n),
                crate::value::Operand::Name(name) => Parsed::Text(name),
            },
            Value::Size => Parsed::Int(parse_size(text)?),
            Value::Millis => Parsed::Int(parse_u64(text)?),
            Value::Width => {
                if !WIDTHS.contains(&text) {
                    let why = format!("'{text}' is not an access width [possible values: 8, 16, 32, 64]");
                    return Err(Error::invalid(text, why));
                }
                Parsed::Int(text.parse().unwrap_or(32))
            }
            Value::Bar => match text.parse::<u8>() {
                Ok(b) if b <= 5 => Parsed::Int(u64::from(b)),
                _ if text.eq_ignore_ascii_case("config") => Parsed::Int(u64::from(crate::pci::config_map::CONFIG_BAR)),
                _ => return Err(Error::invalid(text, "not a BAR: expected 0 to 5, or config (config space)")),
            },
            Value::Float => match text.parse::<f64>() {
                Ok(f) if f.is_finite() => Parsed::Text(text.to_string()),
                _ => return Err(Error::invalid(text, "expected a number such as 1000 or 2.5")),
            },
            Value::Path => Parsed::Path(text.into()),
            Value::Text => Parsed::Text(text.to_string()),
            Value::Choice(choices) => {
                if !choices.contains(&text) {
                    let why =
                        format!("expected one of {} [possible values: {}]", choices.join(", "), choices.join(", "));
                    return Err(Error::invalid(text, why));
                }
                Parsed::Text(text.to_string())
            }
            Value::Checked(check, _) => {
                check(text)?;
                Parsed::Text(text.to_string())
            }
            Value::None => Parsed::Flag(true),
        })
    }

    /// A placeholder for help texts.
    pub fn placeholder(&self) -> &'static str {
        match self {
            Value::Bits(_) => "N",
            Value::BitsOrName(_) => "VALUE",
            Value::Size => "BYTES",
            Value::Millis => "MS",
            Value::Width => "BITS",
            Value::Bar => "N",
            Value::Float => "NUMBER",
            Value::Path => "FILE",
            Value::Text => "TEXT",
            Value::Choice(_) => "CHOICE",
            Value::Checked(_, placeholder) => placeholder,
            Value::None => "",
        }
    }

    /// The values it can take, when they are a closed set (for help and
    /// completion).
    pub fn choices(&self) -> Option<&'static [&'static str]> {
        match self {
            Value::Choice(c) => Some(c),
            Value::Width => Some(WIDTHS),
            _ => None,
        }
    }
}

/// One argument.
#[derive(Clone, Copy, Debug)]
pub struct Arg {
    /// Name: `--name` for options and flags, the placeholder for positionals.
    pub name: &'static str,
    /// A one-letter form (`-q`).
    pub short: Option<char>,
    /// What it is.
    pub help: &'static str,
    /// How it is given.
    pub kind: ArgKind,
    /// Its value.
    pub value: Value,
    /// Default when not given.
    pub default: Option<&'static str>,
    /// An environment variable read when it is not given.
    pub env: Option<&'static str>,
    /// A positional that takes every remaining word (at least one when
    /// required); an option that may be repeated.
    pub many: bool,
    /// A positional that takes the rest of the words verbatim, options too.
    pub trailing: bool,
    /// Where it is accepted.
    pub scope: Scope,
    /// Arguments it only goes with.
    pub requires: &'static [&'static str],
    /// Arguments it cannot go with.
    pub conflicts: &'static [&'static str],
    /// Arguments that make it not required.
    pub unless: &'static [&'static str],
    /// The placeholder in help, when not the value's.
    pub value_name: Option<&'static str>,
}

impl Arg {
    const fn base(name: &'static str, kind: ArgKind, value: Value, help: &'static str) -> Self {
        Arg {
            name,
            short: None,
            help,
            kind,
            value,
            default: None,
            env: None,
            many: false,
            trailing: false,
            scope: Scope::Line,
            requires: &[],
            conflicts: &[],
            unless: &[],
            value_name: None,
        }
    }

    /// A required positional.
    pub const fn positional(name: &'static str, value: Value, help: &'static str) -> Self {
        Arg::base(name, ArgKind::Positional { required: true }, value, help)
    }
    /// An option `--name VALUE`.
    pub const fn option(name: &'static str, value: Value, help: &'static str) -> Self {
        Arg::base(name, ArgKind::Option { required: false }, value, help)
    }
    /// A flag `--name`.
    pub const fn flag(name: &'static str, help: &'static str) -> Self {
        Arg::base(name, ArgKind::Flag, Value::None, help)
    }
    /// A counted flag (`-v`, `-vv`).
    pub const fn count(name: &'static str, help: &'static str) -> Self {
        Arg::base(name, ArgKind::Count, Value::None, help)
    }
    /// With a default value.
    pub const fn default(mut self, value: &'static str) -> Self {
        self.default = Some(value);
        if let ArgKind::Positional { .. } = self.kind {
            self.kind = ArgKind::Positional { required: false };
        }
        self
    }
    /// Required (for options); not required (for positionals: `optional`).
    pub const fn required(mut self) -> Self {
        self.kind = match self.kind {
            ArgKind::Option { .. } => ArgKind::Option { required: true },
            other => other,
        };
        self
    }
    /// A positional that may be left out.
    pub const fn optional(mut self) -> Self {
        if let ArgKind::Positional { .. } = self.kind {
            self.kind = ArgKind::Positional { required: false };
        }
        self
    }
    /// With a one-letter form.
    pub const fn short(mut self, c: char) -> Self {
        self.short = Some(c);
        self
    }
    /// Read from this environment variable when not given.
    pub const fn env(mut self, var: &'static str) -> Self {
        self.env = Some(var);
        self
    }
    /// Taking every remaining word (positionals), or repeatable (options).
    pub const fn many(mut self) -> Self {
        self.many = true;
        self
    }
    /// Taking the rest of the words verbatim.
    pub const fn trailing(mut self) -> Self {
        self.trailing = true;
        self.many = true;
        self
    }
    /// Accepted only where a session starts.
    pub const fn session(mut self) -> Self {
        self.scope = Scope::Session;
        self
    }
    /// Only with these arguments.
    pub const fn requires(mut self, names: &'static [&'static str]) -> Self {
        self.requires = names;
        self
    }
    /// Never with these arguments.
    pub const fn conflicts(mut self, names: &'static [&'static str]) -> Self {
        self.conflicts = names;
        self
    }
    /// Not required when one of these is given.
    pub const fn unless(mut self, names: &'static [&'static str]) -> Self {
        self.unless = names;
        self
    }
    /// With this placeholder in help.
    pub const fn value_name(mut self, name: &'static str) -> Self {
        self.value_name = Some(name);
        self
    }

    /// Whether it is a positional.
    pub fn is_positional(&self) -> bool {
        matches!(self.kind, ArgKind::Positional { .. })
    }

    /// Whether it takes a value after its name (`--name VALUE`).
    pub fn takes_value(&self) -> bool {
        matches!(self.kind, ArgKind::Option { .. })
    }

    /// Its placeholder: `value_name`, else the value kind's.
    pub fn placeholder(&self) -> &'static str {
        self.value_name.unwrap_or(if self.is_positional() { self.name } else { self.value.placeholder() })
    }

    /// How usage and errors write it: `--width <BITS>`, `<TARGET>`, `--quiet`.
    pub fn usage(&self) -> String {
        match self.kind {
            ArgKind::Positional { .. } => format!("<{}>", self.name),
            ArgKind::Option { .. } => format!("--{} <{}>", self.name, self.placeholder()),
            ArgKind::Flag | ArgKind::Count => format!("--{}", self.name),
        }
    }
}

impl Error {
    /// A command line or script line that does not parse (exit status 2).
    pub fn syntax(message: impl Into<String>) -> Error {
        crate::error::ErrorKind::Syntax { message: message.into() }.into()
    }
}

#[cfg(test)]
mod tests;
