//! Drivers' commands on the command line: their declarations (in `drivers/`)
//! turned into clap subcommands, and run with the terminal as their front end.

use std::path::PathBuf;

use clap::{ArgMatches, Command};
use mmiodrv::command::{self as spec, ArgKind, Args, Call, Needs, Parsed, Subject, Value};
use mmiodrv::device::DeviceSpec;
use mmiodrv::drivers::{self, DriverInfo};
use mmiodrv::error::Result;

use crate::args::{spec_arg, Global};
use crate::context::open_device;
use crate::output::Terminal;

fn build(c: &spec::Command) -> Command {
    let mut cmd = Command::new(c.name).about(c.about);
    for a in c.args {
        cmd = cmd.arg(spec_arg(a));
    }
    if let Some(text) = crate::args::examples_text(c.examples) {
        cmd = cmd.after_help(text);
    }
    if !c.subcommands.is_empty() {
        cmd = cmd.subcommand_required(true);
        for s in c.subcommands {
            cmd = cmd.subcommand(build(s));
        }
    }
    cmd
}

fn driver_command(d: &DriverInfo) -> Command {
    let mut cmd = Command::new(d.name).about(d.about).subcommand_required(true);
    for c in d.commands {
        cmd = cmd.subcommand(build(c));
    }
    cmd
}

/// Every driver's command group and top-level commands.
pub fn commands() -> Vec<Command> {
    let mut out = Vec::new();
    for d in drivers::DRIVERS {
        if !d.commands.is_empty() {
            out.push(driver_command(d));
        }
        out.extend(d.top_level.iter().map(build));
    }
    out
}

/// Only the command named `name`, if a driver has it.
pub fn command(name: &str) -> Option<Command> {
    if let Some(d) = drivers::by_name(name).filter(|d| !d.commands.is_empty()) {
        return Some(driver_command(d));
    }
    drivers::DRIVERS.iter().flat_map(|d| d.top_level).find(|c| c.name == name).map(build)
}

/// The declarations along `path`, from the group down to the command.
fn chain(path: &[String]) -> Option<Vec<&'static spec::Command>> {
    let (first, rest) = path.split_first()?;
    let (mut level, mut out): (&'static [spec::Command], Vec<&'static spec::Command>) = match drivers::by_name(first) {
        Some(d) if !d.commands.is_empty() => (d.commands, Vec::new()),
        _ => {
            let top = drivers::DRIVERS.iter().flat_map(|d| d.top_level).find(|c| c.name == *first)?;
            (top.subcommands, vec![top])
        }
    };
    for name in rest {
        let c = level.iter().find(|c| c.name == name.as_str())?;
        out.push(c);
        level = c.subcommands;
    }
    Some(out)
}

/// clap's matches for one level turned into the library's arguments.
fn collect(c: &spec::Command, m: &ArgMatches, args: &mut Args) -> Result<()> {
    for a in c.args {
        let value = match (a.kind, a.value) {
            (ArgKind::Flag, _) => Some(Parsed::Flag(m.get_flag(a.name))),
            (_, Value::Path) => m.get_one::<PathBuf>(a.name).map(|p| Parsed::Path(p.clone())),
            _ => m.get_one::<String>(a.name).map(|t| a.value.parse(t, a.name)).transpose()?,
        };
        if let Some(v) = value {
            args.set(a.name, v);
        }
    }
    Ok(())
}

/// The command at `path` and its arguments, from clap's matches of each level.
fn command_args(path: &[String], matches: &[ArgMatches]) -> Result<(&'static spec::Command, Args)> {
    let no_such = || mmiodrv::Error::invalid(path.join(" "), "no such command");
    let chain = chain(path).ok_or_else(no_such)?;
    // The driver's group level has no matches of its own in `chain`.
    let offset = matches.len().checked_sub(chain.len()).ok_or_else(no_such)?;
    let mut args = Args::default();
    for (c, m) in chain.iter().zip(&matches[offset..]) {
        collect(c, m, &mut args)?;
    }
    let command = chain.last().copied().ok_or_else(no_such)?;
    command.complete(&mut args)?;
    Ok((command, args))
}

/// A batch line that names a driver's command (`edu factorial 10`), as a
/// session operation; `None` when `name` is no driver's.
pub fn session_op(name: &str, sub: &ArgMatches) -> Result<Option<mmiodrv::session::Op>> {
    if drivers::by_name(name).is_none() && !drivers::DRIVERS.iter().flat_map(|d| d.top_level).any(|c| c.name == name) {
        return Ok(None);
    }
    let mut path = vec![name.to_string()];
    let mut matches = vec![sub.clone()];
    let mut at = sub;
    while let Some((n, m)) = at.subcommand() {
        path.push(n.to_string());
        matches.push(m.clone());
        at = m;
    }
    let (command, args) = command_args(&path, &matches)?;
    Ok(Some(mmiodrv::session::Op::Driver { command, args }))
}

/// Run the driver command at `path`.
pub fn run(g: &Global, path: &[String], matches: &[ArgMatches]) -> Result<()> {
    let (command, args) = command_args(path, matches)?;
    let Some(run) = command.run else { return Ok(()) };
    let mut term = Terminal::new(g.json);
    let file = match (command.needs, g.device.as_deref().map(DeviceSpec::parse).transpose()?) {
        (Needs::DeviceOrFile, Some(DeviceSpec::File(path))) => Some(path),
        _ => None,
    };
    let device = match (command.needs, &file) {
        (Needs::Nothing, _) | (_, Some(_)) => None,
        _ => Some(open_device(g)?),
    };
    let subject = match (&device, &file) {
        (Some(d), _) => Subject::Device(d),
        (_, Some(p)) => Subject::File(p),
        _ => Subject::Nothing,
    };
    let mut call = Call { subject, args: &args, out: &mut term };
    run(&mut call)
}
