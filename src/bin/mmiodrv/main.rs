//! The `mmiodrv` command line: parses arguments with the library's one
//! grammar, runs the command, prints its results and errors.
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
use mmiodrv::error::Error;
use output::errors;

fn main() -> ExitCode {
    // A far side of a remote run sets its channel up before anything prints.
    remote::agent::start();
    let status = run_main();
    remote::agent::exit(i32::from(status));
    ExitCode::from(status)
}

/// The whole run: its exit status.
fn run_main() -> u8 {
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
    init_logging(g.verbose);
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
    let result = run(&mut parsed, request, &mut g);
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

fn run(
    parsed: &mut mmiodrv::command::Invocation,
    request: Option<mmiodrv::session::Request>,
    g: &mut Global,
) -> mmiodrv::error::Result<()> {
    // -s/-d select the device of every command but `list` (which they filter).
    let listing = parsed.command().is_some_and(|c| c.name == "list");
    if !listing && !g.filter().is_empty() {
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

/// `-v` info, `-vv` debug, `-vvv` trace; `RUST_LOG` wins when set.
fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    // vfio-ioctls warns about absent optional IRQ indexes (e.g. "index 3") on
    // every open; keep its noise out of normal output.
    let filter = format!("{level},vfio_ioctls=error");
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(filter)).format_timestamp(None).init();
}
