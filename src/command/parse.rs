//! The one parser: words against [`Command`] declarations.
//!
//! The rules are those of a conventional command line, so the same words
//! mean the same thing on the command line, in a script and at the shell:
//!
//! - the first words name a command, then a subcommand of a group
//!   (`edu factorial`); `help WORDS` asks for help on them, as `-h`/`--help`
//!   anywhere does;
//! - `--name VALUE`, `--name=VALUE`, `-x VALUE`, `-xVALUE`; flags `--name`,
//!   `-q`, clustered (`-qv`) and counted (`-vv`); an option's value may be
//!   a negative number (which its value parser then judges) or `-`;
//! - options of the command, of the groups above it and the grammar's
//!   global options are taken anywhere after the command's name (globals
//!   before it too); `--` ends options;
//! - positionals in their declared order; one may take every remaining
//!   word, and a trailing one takes the rest verbatim (`echo`);
//! - every value goes through [`super::Value::parse`] as it is read, then
//!   [`Command::complete`] fills in defaults and checks what is required.

use super::{Arg, ArgKind, Args, Command, Parsed, Scope};
use crate::error::{Error, Result};

/// What words are parsed against.
#[derive(Clone, Copy)]
pub struct Grammar<'a> {
    /// The top-level commands.
    pub commands: &'a [&'static Command],
    /// Options taken anywhere (the command line's `--device`, `--json`).
    pub globals: &'static [Arg],
    /// Where these words come from: [`Scope::Line`] refuses the options
    /// that apply to a whole session.
    pub scope: Scope,
}

/// Words parsed: the command (with the groups on the way) and its arguments.
#[derive(Clone, Debug)]
pub struct Invocation {
    /// From the top-level command down to the one that runs (or, with
    /// `help`, as far as the words went).
    pub path: Vec<&'static Command>,
    /// Its arguments, its groups' and the globals, defaults filled in.
    pub args: Args,
    /// Help was asked for (`-h`, `--help`, `help CMD`): nothing else was
    /// checked.
    pub help: bool,
}

impl Invocation {
    /// The command that runs.
    pub fn command(&self) -> Option<&'static Command> {
        self.path.last().copied()
    }

    /// Its path as words: `edu factorial`.
    pub fn path_text(&self) -> String {
        self.path.iter().map(|c| c.name).collect::<Vec<_>>().join(" ")
    }
}

/// Parse `words` against `grammar`.
pub fn parse(grammar: &Grammar<'_>, words: &[&str]) -> Result<Invocation> {
    let mut p = Parser { grammar, path: Vec::new(), args: Args::default(), next_positional: 0, help: false };
    let mut only_positionals = false;
    let mut i = 0;
    while i < words.len() {
        let word = words[i];
        i += 1;
        if !only_positionals {
            if let Some(rest) = p.trailing_rest(word) {
                let mut all = vec![rest.to_string()];
                all.extend(words[i..].iter().map(|w| w.to_string()));
                p.positional_words(all)?;
                break;
            }
            match word {
                "--" => {
                    only_positionals = true;
                    continue;
                }
                "-h" | "--help" => {
                    p.help = true;
                    continue;
                }
                "help" if p.path.is_empty() && !grammar.commands.iter().any(|c| c.answers_to("help")) => {
                    p.help = true;
                    continue;
                }
                _ => {}
            }
            if let Some(long) = word.strip_prefix("--") {
                i += p.long(long, words.get(i).copied())?;
                continue;
            }
            if word.len() > 1 && word.starts_with('-') && !(p.positional_pending() && is_negative_number(word)) {
                i += p.short(&word[1..], words.get(i).copied())?;
                continue;
            }
        }
        p.word(word)?;
    }
    p.finish()
}

struct Parser<'g, 'a> {
    grammar: &'g Grammar<'a>,
    path: Vec<&'static Command>,
    args: Args,
    /// Index among the leaf's positionals of the next one to fill.
    next_positional: usize,
    help: bool,
}

impl Parser<'_, '_> {
    /// The commands a word may name here: the top level, or the
    /// subcommands of the group named last.
    fn level(&self) -> Vec<&'static Command> {
        match self.path.last() {
            None => self.grammar.commands.to_vec(),
            Some(c) => c.subcommands.iter().collect(),
        }
    }

    fn at_leaf(&self) -> bool {
        self.path.last().is_some_and(|c| c.subcommands.is_empty())
    }

    fn positionals(&self) -> Vec<&'static Arg> {
        match self.path.last() {
            Some(c) if self.at_leaf() => c.args.iter().filter(|a| a.is_positional()).collect(),
            _ => Vec::new(),
        }
    }

    fn positional_pending(&self) -> bool {
        self.positionals().get(self.next_positional).is_some()
    }

    /// When the next positional takes the rest verbatim, `word` starts it
    /// (unless it is one of the command's own options: `setpci -v -D -s ...`
    /// takes `-v` and `-D` as its flags and the rest verbatim).
    fn trailing_rest<'w>(&self, word: &'w str) -> Option<&'w str> {
        let arg = self.positionals().get(self.next_positional).copied()?;
        (arg.trailing && self.args.get(arg.name).is_none() && !self.own_option(word)).then_some(word)
    }

    /// Whether `word` is an option of the command named last (not a global
    /// or a group's): `--name[=..]`, or `-abc` with every letter its own.
    fn own_option(&self, word: &str) -> bool {
        let Some(command) = self.path.last() else { return false };
        let own = || command.args.iter().filter(|a| !a.is_positional());
        // A command with options of its own takes help as one of them.
        if matches!(word, "-h" | "--help") {
            return own().next().is_some();
        }
        if let Some(long) = word.strip_prefix("--") {
            let name = long.split_once('=').map_or(long, |(n, _)| n);
            return !name.is_empty() && own().any(|a| a.name == name);
        }
        let Some(cluster) = word.strip_prefix('-').filter(|c| !c.is_empty()) else { return false };
        for (at, c) in cluster.char_indices() {
            match own().find(|a| a.short == Some(c)) {
                // An option with a value takes the rest of the word (or the next).
                Some(a) if a.takes_value() => return at < cluster.len(),
                Some(_) => {}
                None => return false,
            }
        }
        true
    }

    /// An option by its long name: the leaf's, its groups', the globals.
    fn find_long(&self, name: &str) -> Option<&'static Arg> {
        self.path
            .iter()
            .rev()
            .flat_map(|c| c.args.iter())
            .chain(self.grammar.globals.iter())
            .find(|a| !a.is_positional() && a.name == name)
    }

    fn find_short(&self, c: char) -> Option<&'static Arg> {
        self.path
            .iter()
            .rev()
            .flat_map(|c| c.args.iter())
            .chain(self.grammar.globals.iter())
            .find(|a| !a.is_positional() && a.short == Some(c))
    }

    /// Every option a word could have meant here (for suggestions).
    fn option_names(&self) -> Vec<&'static str> {
        self.path
            .iter()
            .flat_map(|c| c.args.iter())
            .chain(self.grammar.globals.iter())
            .filter(|a| !a.is_positional())
            .map(|a| a.name)
            .collect()
    }

    /// `--name[=value]`; returns how many of the following words it took.
    fn long(&mut self, long: &str, next: Option<&str>) -> Result<usize> {
        let (name, inline) = match long.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (long, None),
        };
        let Some(arg) = self.find_long(name) else {
            let mut message = format!("unexpected argument '--{name}' found");
            if let Some(s) = suggest(name, &self.option_names()) {
                message.push_str(&format!("; a similar argument exists: '--{s}'"));
            }
            return Err(Error::syntax(message));
        };
        self.option(arg, inline, next)
    }

    /// `-x`, `-xy`, `-xVALUE`, `-x VALUE`; returns how many following words it took.
    fn short(&mut self, cluster: &str, next: Option<&str>) -> Result<usize> {
        for (at, c) in cluster.char_indices() {
            let Some(arg) = self.find_short(c) else {
                return Err(Error::syntax(format!("unexpected argument '-{c}' found")));
            };
            if arg.takes_value() {
                let rest = &cluster[at + c.len_utf8()..];
                let inline = (!rest.is_empty()).then_some(rest.strip_prefix('=').unwrap_or(rest));
                return self.option(arg, inline, next);
            }
            self.option(arg, None, None)?;
        }
        Ok(0)
    }

    /// One option given, with its value inline or as the next word.
    fn option(&mut self, arg: &'static Arg, inline: Option<&str>, next: Option<&str>) -> Result<usize> {
        if arg.scope == Scope::Session && self.grammar.scope == Scope::Line {
            return Err(Error::syntax(format!(
                "{} applies to a whole session: give it where the session starts (batch, shell), not on a line",
                arg.usage()
            )));
        }
        match arg.kind {
            ArgKind::Flag => {
                if let Some(v) = inline {
                    return Err(Error::syntax(format!("unexpected value '{v}' for '--{}' found", arg.name)));
                }
                if self.args.given(arg.name) {
                    return Err(repeated(arg));
                }
                self.args.set(arg.name, Parsed::Flag(true));
                Ok(0)
            }
            ArgKind::Count => {
                let n = self.args.count(arg.name).saturating_add(1);
                self.args.set(arg.name, Parsed::Count(n));
                Ok(0)
            }
            ArgKind::Option { .. } => {
                let (text, used) = match inline {
                    Some(v) => (v, 0),
                    None => match next.filter(|v| is_value(v)) {
                        Some(v) => (v, 1),
                        None => {
                            return Err(Error::syntax(format!(
                                "a value is required for '{}' but none was supplied",
                                arg.usage()
                            )))
                        }
                    },
                };
                if arg.many {
                    let mut list = self.args.list(arg.name).to_vec();
                    arg.value.parse(text, arg.name)?;
                    list.push(text.to_string());
                    self.args.set(arg.name, Parsed::List(list));
                } else {
                    if self.args.given(arg.name) {
                        return Err(repeated(arg));
                    }
                    self.args.set(arg.name, arg.value.parse(text, arg.name)?);
                }
                Ok(used)
            }
            ArgKind::Positional { .. } => Ok(0),
        }
    }

    /// A word that is not an option: a command's name, or a positional.
    fn word(&mut self, word: &str) -> Result<()> {
        if !self.at_leaf() {
            let level = self.level();
            let Some(cmd) = level.iter().copied().find(|c| c.answers_to(word)) else {
                let mut message = format!("unrecognized subcommand '{word}'");
                let names: Vec<&str> = level.iter().filter(|c| !c.hidden).map(|c| c.name).collect();
                if let Some(s) = suggest(word, &names) {
                    message.push_str(&format!("; a similar subcommand exists: '{s}'"));
                }
                return Err(Error::syntax(message));
            };
            self.path.push(cmd);
            self.next_positional = 0;
            return Ok(());
        }
        self.positional_words(vec![word.to_string()])
    }

    /// Words for the next positional.
    fn positional_words(&mut self, words: Vec<String>) -> Result<()> {
        let positionals = self.positionals();
        let Some(arg) = positionals.get(self.next_positional).copied() else {
            let word = words.first().cloned().unwrap_or_default();
            return Err(Error::syntax(format!("unexpected argument '{word}' found")));
        };
        if arg.many {
            let mut list = self.args.list(arg.name).to_vec();
            for w in &words {
                if !arg.trailing {
                    arg.value.parse(w, arg.name)?;
                }
                list.push(w.clone());
            }
            self.args.set(arg.name, Parsed::List(list));
            if arg.trailing {
                self.next_positional += 1;
            }
            return Ok(());
        }
        let word = words.first().cloned().unwrap_or_default();
        self.args.set(arg.name, arg.value.parse(&word, arg.name)?);
        self.next_positional += 1;
        Ok(())
    }

    fn finish(mut self) -> Result<Invocation> {
        if self.help {
            return Ok(Invocation { path: self.path, args: self.args, help: true });
        }
        let Some(last) = self.path.last() else {
            return Err(Error::syntax("a command is required here; none was given"));
        };
        if let super::Run::Group = last.run {
            let names: Vec<&str> = last.subcommands.iter().filter(|c| !c.hidden).map(|c| c.name).collect();
            return Err(Error::syntax(format!("{} needs a subcommand: {}", last.name, names.join(", "))));
        }
        let globals = Command { args: self.grammar.globals, ..Command::new("mmiodrv", "", super::Run::Group) };
        globals.complete(&mut self.args)?;
        for c in &self.path {
            c.complete(&mut self.args)?;
        }
        Ok(Invocation { path: self.path, args: self.args, help: false })
    }
}

fn repeated(arg: &Arg) -> Error {
    Error::syntax(format!("the argument '{}' cannot be used multiple times", arg.usage()))
}

/// `-5`, `-0x10`: a negative number, which goes to a positional (and is
/// refused by its value parser in its own words) rather than read as options.
fn is_negative_number(word: &str) -> bool {
    word.strip_prefix('-').is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
}

/// Whether `word` can be an option's value: anything but another option
/// (a negative number and `-`, standard input, can).
fn is_value(word: &str) -> bool {
    !word.starts_with('-') || word == "-" || is_negative_number(word)
}

/// The name among `names` closest to `word`, when one is close (one edit
/// for short words, two for longer ones; a swap of neighbours is one edit).
pub fn suggest<'n>(word: &str, names: &[&'n str]) -> Option<&'n str> {
    let limit = if word.chars().count() < 4 { 1 } else { 2 };
    names.iter().map(|n| (distance(word, n), *n)).filter(|(d, _)| *d <= limit).min_by_key(|(d, _)| *d).map(|(_, n)| n)
}

/// Edits (insert, delete, substitute, swap two neighbours) from `a` to `b`.
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}
