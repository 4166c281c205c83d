//! `blinky`: the whole mmiodrv command line (help, completions, man pages,
//! batch scripts, the shell, the pipe protocol, JSON, `list`) with the
//! blinky driver in it: `blinky --device sim:blinky blinky status`.

fn main() -> std::process::ExitCode {
    mmiodrv_cli::run(&[&blinky::DRIVER])
}
