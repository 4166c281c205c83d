//! The `mmiodrv` command line.

#[macro_use]
mod output;
mod args;
mod bind;
mod context;
mod edu;
mod info;
mod irq;
mod ivshmem;
mod list;
mod regs;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};
use mmiodrv::error::exit;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    init_logging(cli.verbose);
    let result = match &cli.command {
        Command::List => list::run(&cli),
        Command::Info => info::run_info(&cli),
        Command::Config => info::run_config(&cli),
        Command::DumpRegs(a) => regs::dump(&cli, a),
        Command::Read(a) => regs::read(&cli, a),
        Command::Write(a) => regs::write(&cli, a),
        Command::WaitIrq(a) => irq::wait(&cli, a),
        Command::Bind(a) => bind::bind(&cli, a),
        Command::Unbind => bind::unbind(&cli),
        Command::Edu(a) => edu::run(&cli, a),
        Command::Ivshmem(a) => ivshmem::run(&cli, a),
        Command::IvshmemServer(a) => ivshmem::run_server(&cli, a),
    };
    match result {
        Ok(()) => ExitCode::from(exit::OK as u8),
        Err(e) => {
            // Say which device, when the error itself does not.
            let on = match (&cli.device, e.names_device()) {
                (Some(d), false) => format!("{d}: "),
                _ => String::new(),
            };
            match e.hint() {
                Some(hint) => eprintln!("mmiodrv: error: {on}{e}; fix: {hint}"),
                None => eprintln!("mmiodrv: error: {on}{e}"),
            }
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

/// clap's own errors, made one line like every other error (help and version
/// print as usual).
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return ExitCode::from(if e.use_stderr() { exit::USAGE } else { exit::OK } as u8);
    }
    let text = e.render().to_string();
    // The message is the first paragraph (clap puts e.g. the missing argument on
    // the next line); usage and tips follow after a blank line.
    let first: Vec<&str> = text.lines().take_while(|l| !l.trim().is_empty()).map(str::trim).collect();
    let first = first.join(" ");
    let first = first.trim_start_matches("error: ");
    eprintln!("mmiodrv: error: {first} (see mmiodrv --help)");
    ExitCode::from(exit::USAGE as u8)
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
