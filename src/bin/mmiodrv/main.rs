//! The `mmiodrv` command line: parses arguments, calls the library, prints.

#[macro_use]
mod output;
mod args;
mod batch;
mod bind;
mod config;
mod context;
mod doctor;
mod drivers;
mod ecosystem;
mod fast;
#[cfg(test)]
mod fuzz_tests;
mod info;
mod irq;
mod list;
mod observe;
mod regmap;
mod regs;
mod render;

use std::process::ExitCode;

use args::Cmd;

fn main() -> ExitCode {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // The common one-shot `read`/`write` shapes skip building clap's tree.
    let bare = argv.len() <= 1;
    let mut cli = match fast::parse(&argv).map(Ok).unwrap_or_else(|| args::parse(argv)) {
        Ok(cli) => cli,
        Err(e) => return usage_error(e, bare),
    };
    init_logging(cli.global.verbose);
    // -s/-d select the device of every command but `list` (which they filter).
    if !matches!(cli.command, Cmd::List(_)) && !cli.global.filter().is_empty() {
        match cli.global.filter().resolve(&mmiodrv::pci::Sysfs::from_env()) {
            Ok(dev) => cli.global.device = Some(dev.address.to_string()),
            Err(e) => {
                eprintln!("{}", render::error_line(&e, None));
                return ExitCode::from(render::exit_status(&e) as u8);
            }
        }
    }
    // One owner at a time (mmiodrv::lock): multi-step commands (a driver's
    // command, a batch run, a replay; bind takes its own) have the device to
    // themselves, and single accesses share it, so neither runs inside the
    // other. Observers (watch, top, snapshot, wait-irq) and config-space
    // inspection take no lock: they may watch a multi-step command run.
    use mmiodrv::lock::LockMode::{Exclusive, Shared};
    cli.global.lock = match &cli.command {
        Cmd::Read(_) | Cmd::Write(_) | Cmd::DumpRegs(_) => Some(Shared),
        Cmd::Driver { .. } | Cmd::Batch(_) | Cmd::Shell(_) | Cmd::Replay(_) => Some(Exclusive),
        _ => None,
    };
    let g = &cli.global;
    // A command that waits or takes several steps stops cleanly on SIGINT,
    // SIGTERM or SIGHUP (a second one ends it at once); one access or a
    // listing is left to the default action.
    let quick = match &cli.command {
        Cmd::List(_)
        | Cmd::Info
        | Cmd::Config(_)
        | Cmd::Doctor
        | Cmd::Completions(_)
        | Cmd::Man(_)
        | Cmd::CompleteRegisters(_)
        | Cmd::DumpRegs(_)
        | Cmd::Read(_)
        | Cmd::Regmap(_) => true,
        Cmd::Write(a) => !a.wait_irq,
        _ => false,
    };
    if !quick {
        if let Err(e) = mmiodrv::stop::install_signal_handlers() {
            eprintln!("{}", render::error_line(&e, g.device.as_deref()));
            return ExitCode::from(render::exit_status(&e) as u8);
        }
    }
    mmiodrv::stop::set_release_handler(release_not_honoured);
    let result = match &cli.command {
        Cmd::List(a) => list::run(g, a),
        Cmd::Info => info::run_info(g),
        Cmd::Config(a) => config::run(g, a),
        Cmd::Doctor => doctor::run(g),
        Cmd::Completions(a) => ecosystem::completions(a),
        Cmd::Man(a) => ecosystem::man(g, a),
        Cmd::CompleteRegisters(a) => ecosystem::complete_registers(g, a),
        Cmd::DumpRegs(a) => regs::dump(g, a),
        Cmd::Read(a) => regs::read(g, a),
        Cmd::Write(a) => regs::write(g, a),
        Cmd::WaitIrq(a) => irq::wait(g, a),
        Cmd::Bind(a) => bind::bind(g, a),
        Cmd::Unbind => bind::unbind(g),
        Cmd::Regmap(a) => regmap::run(g, a),
        Cmd::Driver { path, matches } => drivers::run(g, path, matches),
        Cmd::Watch(a) => observe::watch(g, a),
        Cmd::Top(a) => observe::top(g, a),
        Cmd::Snapshot(a) => observe::snapshot(g, a),
        Cmd::Decode(a) => observe::decode(g, a),
        Cmd::Diff(a) => observe::diff(g, a),
        Cmd::Trace(a) => observe::trace(g, a),
        Cmd::Replay(a) => observe::replay(g, a),
        Cmd::Shell(a) => batch::shell(g, a),
        Cmd::Batch(a) => match batch::run(g, a) {
            Ok(()) => Ok(()),
            Err(batch::Failure::Error(e)) => Err(e),
            // Already printed with its FILE:LINE.
            Err(batch::Failure::Reported(status)) => return ExitCode::from(status as u8),
        },
    };
    // A trace that could not be written in full is an error, after the command's own.
    let result = result.and_then(|()| context::finish_trace());
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", render::error_line(&e, g.device.as_deref()));
            ExitCode::from(render::exit_status(&e) as u8)
        }
    }
}

/// The kernel asked for a device this process holds and the command did
/// not let go within the grace time (it is busy in a step that does not wait):
/// say so and exit, which closes the device and lets the removal proceed.
fn release_not_honoured(device: &mmiodrv::error::DeviceRef) {
    let e = mmiodrv::Error::on(device.clone(), mmiodrv::ErrorKind::ReleaseRequested);
    eprintln!("{}", render::error_line(&e, None));
    std::process::exit(render::exit_status(&e));
}

/// clap's own errors, made one line like every other error (help and version
/// print as usual; so does a bare `mmiodrv`, but a command line that only
/// lacks its command is an error of one line).
fn usage_error(e: clap::Error, bare: bool) -> ExitCode {
    use clap::error::ErrorKind;
    if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand && !bare {
        let what = "a command is required here; none was given";
        eprintln!("mmiodrv: error: {what} (see mmiodrv --help)");
        return ExitCode::from(render::exit_code(mmiodrv::ErrorClass::Usage) as u8);
    }
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        let code = if e.use_stderr() { render::exit_code(mmiodrv::ErrorClass::Usage) } else { 0 };
        return ExitCode::from(code as u8);
    }
    // clap's message and its tips ("a similar subcommand exists: 'list'"), one line.
    let message = render::clap_message(&e);
    eprintln!("{}", render::one_line(&format!("mmiodrv: error: {message} (see mmiodrv --help)")));
    ExitCode::from(render::exit_code(mmiodrv::ErrorClass::Usage) as u8)
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
