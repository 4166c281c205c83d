//! The `mmiodrv` binary: the command line with the built-in drivers
//! (drivers/), plugged in the way any driver crate plugs in its own.

fn main() -> std::process::ExitCode {
    mmiodrv_cli::run(mmiodrv_drivers::BUILTIN)
}
