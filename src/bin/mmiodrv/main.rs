//! The `mmiodrv` command line.

mod args;
mod context;
mod info;
mod list;
mod output;
mod regs;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};
use mmiodrv::error::exit;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let result = match &cli.command {
        Command::List => list::run(&cli),
        Command::Info => info::run_info(&cli),
        Command::Config => info::run_config(&cli),
        Command::DumpRegs(a) => regs::dump(&cli, a),
        Command::Read(a) => regs::read(&cli, a),
        Command::Write(a) => regs::write(&cli, a),
    };
    match result {
        Ok(()) => ExitCode::from(exit::OK as u8),
        Err(e) => {
            match e.hint() {
                Some(hint) => eprintln!("mmiodrv: error: {e}; fix: {hint}"),
                None => eprintln!("mmiodrv: error: {e}"),
            }
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

/// `-v` info, `-vv` debug, `-vvv` trace; `RUST_LOG` wins when set.
fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(level)).format_timestamp(None).init();
}
