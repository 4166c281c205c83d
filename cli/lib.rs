//! The `mmiodrv` command line as a library: [`run`] parses arguments with
//! the library's one grammar, runs the command, prints its results and
//! errors, with the drivers it is given. The `mmiodrv` binary is
//! `run(mmiodrv_drivers::BUILTIN)`; a driver crate's binary is
//! `run(&[&mydriver::DRIVER])`, and gets the whole command line (help,
//! completions, man pages, batch, shell, the pipe protocol, JSON, `list`'s
//! MMIODRV column) with its driver in it (docs/writing-a-driver.md).
//!
//! Layout: `cli/` the grammar of the command line (global options, the tree
//! of commands) and the help drawn from it; `commands/` the program's own
//! commands, one module per family; `oneshot.rs`, `script/` the front ends
//! that run operations through the library's executor (one operation from
//! the command line; a script, the pipe protocol, the shell); `output/` how
//! results and errors look; `context.rs` the device and session the global
//! options name.

#[macro_use]
mod output;
// The grammar of the command line (the module keeps its old name).
#[allow(clippy::module_inception)]
mod cli;
mod commands;
mod context;
#[cfg(test)]
mod fuzz_tests;
mod oneshot;
mod remote;
mod script;

use std::process::ExitCode;

use cli::Global;
use mmiodrv::drivers::DriverInfo;
use mmiodrv::error::Error;
use output::errors;

/// The whole command line with `drivers`: their commands, their maps for
/// the devices they claim, their rows in `list`. Reads the process's
/// arguments and returns the exit status (docs/commands.md lists them).
///
/// ```no_run
/// # static DRIVER: mmiodrv::drivers::DriverInfo = mmiodrv::drivers::DriverInfo::new("blinky", "A made-up device");
/// fn main() -> std::process::ExitCode {
///     mmiodrv_cli::run(&[&DRIVER])
/// }
/// ```
pub fn run(drivers: &[&'static DriverInfo]) -> ExitCode {
    ExitCode::from(run_status(drivers))
}

fn run_status(drivers: &[&'static DriverInfo]) -> u8 {
    // A far side of a remote run sets its channel up before anything prints.
    remote::agent::start();
    let status = run_main(drivers);
    remote::agent::exit(i32::from(status));
    status
}

/// [`run`] for a binary that starts without Rust's start-up code
/// (`#![no_main]` and a C `main` that returns this status), as the
/// `mmiodrv` binary does: that start-up asks glibc for the main thread's
/// stack bounds, which a static glibc finds by reading `/proc/self/maps`
/// with `sscanf`, a quarter of a one-shot read's instructions
/// (docs/performance.md). What it does that matters here is done here:
/// closed standard descriptors are opened on `/dev/null` (a device's file
/// must never become standard output), SIGPIPE is ignored (a reader gone is
/// an error the output reports), a panic ends with status 101 after its
/// message, and standard output is flushed before the status is returned.
/// Two things differ: a panic's message names the thread `<unnamed>`, not
/// `main`, and a stack overflow is a plain SIGSEGV, without Rust's message.
pub fn run_without_runtime(drivers: &[&'static DriverInfo]) -> i32 {
    open_closed_standard_fds();
    mmiodrv::stop::ignore_broken_pipes();
    let status = std::panic::catch_unwind(|| run_status(drivers)).map_or(101, i32::from);
    let _ = std::io::Write::flush(&mut std::io::stdout());
    status
}

/// Each of descriptors 0, 1, 2 that is closed, opened on `/dev/null` (an
/// open returns the lowest free descriptor), inherited by children as a
/// standard descriptor is (no close-on-exec). Where `/dev/null` cannot be
/// opened, `/` stands in (a directory: reads and writes fail, nothing is
/// written anywhere); where neither can, the process aborts, as Rust's
/// start-up does, rather than run with a device's file as its output.
fn open_closed_standard_fds() {
    use std::os::fd::{AsRawFd, IntoRawFd};
    loop {
        let placeholder = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/null")
            .or_else(|_| std::fs::File::open("/"))
            .unwrap_or_else(|_| std::process::abort());
        if placeholder.as_raw_fd() > 2 {
            return; // closed again: 0, 1 and 2 are open
        }
        let flags = nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty());
        if nix::fcntl::fcntl(placeholder.as_raw_fd(), flags).is_err() {
            std::process::abort();
        }
        let _ = placeholder.into_raw_fd(); // it is 0, 1 or 2 from now on
    }
}

/// The whole run: its exit status.
fn run_main(drivers: &[&'static DriverInfo]) -> u8 {
    cli::set_program(std::env::args_os().next().as_deref());
    if let Err(e) = install(drivers) {
        output::err_line(&errors::error_line(&e, None));
        output::flush();
        return errors::exit_status(&e) as u8;
    }
    let argv: Vec<String> = match std::env::args_os().skip(1).map(|a| a.into_string()).collect() {
        Ok(argv) => argv,
        Err(_) => return usage_error(&Error::syntax("an argument that is not UTF-8 text"), false),
    };
    let words: Vec<&str> = argv.iter().map(String::as_str).collect();
    // --version (or -V) anywhere before `--`, as clap treats it.
    if words.iter().take_while(|w| **w != "--").any(|w| matches!(*w, "--version" | "-V")) {
        println!("mmiodrv {}", cli::VERSION);
        return 0;
    }
    let tree = cli::tree_with(&commands::PROGRAM);
    let parsed = match cli::parse(&words, tree) {
        Ok(parsed) => parsed,
        Err(e) => return usage_error(&e, json_asked(&words)),
    };
    if parsed.help || words.is_empty() {
        let path: Vec<&str> = parsed.path.iter().map(|c| c.name).collect();
        let text = cli::help::help_text(tree, &path);
        // A bare `mmiodrv` is not a request for help: show it, as an error.
        if words.is_empty() {
            eprint!("{text}");
            return 2;
        }
        print!("{text}");
        return 0;
    }
    let mut g = match Global::from_args(&parsed.args) {
        Ok(g) => g,
        Err(e) => return usage_error(&e, json_asked(&words)),
    };
    init_logging(g.log.as_deref());
    let hosts = match remote::near::hosts(&parsed.args) {
        Ok(hosts) => hosts,
        Err(e) => return usage_error(&e, g.json),
    };
    // The operation a command line names is built with the arguments: an
    // error there is the command line's, as a parse error is.
    let request = match oneshot::on_device(&parsed, &g) {
        true => match mmiodrv::session::Op::from_args(&parsed.path, &parsed.args) {
            Ok(request) => Some(request),
            Err(e) => return usage_error(&e, g.json),
        },
        false => None,
    };
    if !hosts.is_empty() {
        // The command runs on those hosts, with these words.
        return match remote::near::run(&words, &parsed, &g, hosts) {
            Ok(status) => status.clamp(0, 255) as u8,
            Err(e) => {
                output::err_line(&errors::error_line(&e, None));
                if g.json {
                    errors::print_error_json(&e, None, None, Vec::new());
                }
                output::flush();
                errors::exit_status(&e) as u8
            }
        };
    }
    let mut parsed = parsed;
    let result = run_parsed(&mut parsed, request, &mut g);
    // A trace that could not be written in full is an error, after the command's own.
    let result = result.and_then(|()| context::finish_trace());
    match result {
        Ok(()) => 0,
        Err(e) => {
            if !errors::reported() {
                output::err_line(&errors::error_line(&e, g.device.as_deref()));
                if g.json {
                    errors::print_error_json(&e, g.device.as_deref(), None, Vec::new());
                }
            }
            output::flush();
            errors::exit_status(&e) as u8
        }
    }
}

/// Install `drivers` for the process: refused when one's name is a
/// command of the program (its group would hide it).
fn install(drivers: &[&'static DriverInfo]) -> mmiodrv::error::Result<()> {
    let taken = commands::PROGRAM.iter().chain(mmiodrv::session::COMMANDS.iter());
    for c in taken {
        if let Some(d) = drivers.iter().find(|d| d.name() == c.name || d.top_level.iter().any(|t| t.name == c.name)) {
            let why =
                format!("the driver {} declares a command named {}, which is a command of mmiodrv", d.name(), c.name);
            return Err(Error::invalid(d.name(), why));
        }
    }
    mmiodrv::drivers::install(drivers)
}

fn run_parsed(
    parsed: &mut mmiodrv::command::Invocation,
    request: Option<mmiodrv::session::Request>,
    g: &mut Global,
) -> mmiodrv::error::Result<()> {
    // -s/-d select the device of every command but those that take every
    // device they select (list, info, config, setpci), as lspci and setpci.
    let selection = parsed.command().is_some_and(|c| c.needs == mmiodrv::command::Needs::Selection);
    if g.dump_file.is_some() && !selection {
        return Err(mmiodrv::Error::syntax(
            "--dump-file (-F) reads a dump for list, info, config, config read and setpci; this command needs a device",
        ));
    }
    if !selection && !g.filter().is_empty() {
        let dev = g.filter().resolve(&mmiodrv::pci::Sysfs::from_env())?;
        g.device = Some(dev.address.to_string());
        parsed.args.set("device", mmiodrv::command::Parsed::Text(dev.address.to_string()));
    }
    mmiodrv::stop::set_release_handler(release_not_honoured);
    if let Some(request) = request {
        return oneshot::run(parsed, request, g);
    }
    // A driver's command that runs by itself waits (a server, a client):
    // signals stop it cleanly. The program's own commands say so themselves.
    let top = parsed.path.first().copied();
    if !top.is_some_and(|t| commands::PROGRAM.iter().any(|p| std::ptr::eq(p, t))) {
        context::stoppable()?;
    }
    oneshot::run_direct(parsed, g)
}

/// Whether `--json` was given (for a command line that does not parse).
fn json_asked(words: &[&str]) -> bool {
    words.contains(&"--json")
}

/// A command line that does not parse: one line, and with `--json` an
/// error object too.
fn usage_error(e: &Error, json: bool) -> u8 {
    output::err_line(&format!("{} (see mmiodrv --help)", errors::error_line(e, None)));
    if json {
        errors::print_error_json(e, None, None, Vec::new());
        output::flush();
    }
    errors::exit_status(e) as u8
}

/// The kernel asked for a device this process holds and the command did
/// not let go within the grace time (it is busy in a step that does not wait):
/// say so and exit, which closes the device and lets the removal proceed.
fn release_not_honoured(device: &mmiodrv::error::DeviceRef) {
    let e = Error::on(device.clone(), mmiodrv::ErrorKind::ReleaseRequested);
    output::err_line(&errors::error_line(&e, None));
    output::flush();
    remote::agent::exit(errors::exit_status(&e));
    std::process::exit(errors::exit_status(&e));
}

/// `--log LEVEL` (default warn); `RUST_LOG` wins when set.
fn init_logging(level: Option<&str>) {
    let level = level.unwrap_or("warn");
    // vfio-ioctls warns about absent optional IRQ indexes (e.g. "index 3") on
    // every open; keep its noise out of normal output.
    let filter = format!("{level},vfio_ioctls=error");
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(filter)).format_timestamp(None).init();
}
