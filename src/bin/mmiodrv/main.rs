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
mod info;
mod irq;
mod list;
mod regmap;
mod regs;
mod render;

use std::process::ExitCode;

use args::Cmd;

fn main() -> ExitCode {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // The common one-shot `read`/`write` shapes skip building clap's tree.
    let mut cli = match fast::parse(&argv).map(Ok).unwrap_or_else(|| args::parse(argv)) {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
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
    let g = &cli.global;
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
        Cmd::Shell(a) => batch::shell(g, a),
        Cmd::Batch(a) => match batch::run(g, a) {
            Ok(()) => Ok(()),
            Err(batch::Failure::Error(e)) => Err(e),
            // Already printed with its FILE:LINE.
            Err(batch::Failure::Reported(status)) => return ExitCode::from(status as u8),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", render::error_line(&e, g.device.as_deref()));
            ExitCode::from(render::exit_status(&e) as u8)
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
        let code = if e.use_stderr() { render::exit_code(mmiodrv::ErrorClass::Usage) } else { 0 };
        return ExitCode::from(code as u8);
    }
    let text = e.render().to_string();
    // The message is the first paragraph (clap puts e.g. the missing argument on
    // the next line); usage and tips follow after a blank line. Tips ("a similar
    // subcommand exists: 'list'") are kept.
    let paragraphs: Vec<Vec<&str>> = text
        .split("\n\n")
        .map(|p| p.lines().map(str::trim).filter(|l| !l.is_empty()).collect())
        .filter(|p: &Vec<&str>| !p.is_empty())
        .collect();
    let first = paragraphs.first().map(|p| p.join(" ")).unwrap_or_default();
    let first = first.trim_start_matches("error: ");
    let tips: Vec<String> =
        paragraphs.iter().skip(1).flatten().filter_map(|l| l.strip_prefix("tip: ")).map(str::to_string).collect();
    let tip = if tips.is_empty() { String::new() } else { format!("; {}", tips.join("; ")) };
    eprintln!("{}", render::one_line(&format!("mmiodrv: error: {first}{tip} (see mmiodrv --help)")));
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
