//! The one-shot fast path: `read` and `write` command lines of the common
//! shapes, recognised without building clap's command tree (about half of a
//! one-shot read's instructions). It accepts only the exact options `read`
//! and `write` declare in args.rs, with values parsed by the same functions
//! clap calls, and gives up (returns `None`) on anything else: an unknown or
//! repeated option, a value that does not parse, `--help`, a positional that
//! starts with `-`. clap then parses the same command line and reports any
//! error itself, so messages and meanings are clap's. A test checks on a
//! corpus of command lines that both parsers agree wherever this one accepts.

use std::ffi::OsString;
use std::path::PathBuf;

use mmiodrv::backend::BackendKind;

use crate::args::{parse_bar, parse_number, parse_width, Cli, Cmd, Global, IrqArgs, MapArgs, ReadArgs, WriteArgs};

/// What the fast path collects before it knows the command.
#[derive(Default)]
struct Seen {
    device: Option<String>,
    state: Option<PathBuf>,
    block: Option<String>,
    backend: Option<BackendKind>,
    force: bool,
    json: bool,
    verbose: u8,
    trace: Option<PathBuf>,
    command: Option<&'static str>,
    positionals: Vec<String>,
    regmap: Option<PathBuf>,
    bar: Option<u8>,
    wc: bool,
    width: Option<mmiodrv::mmio::Width>,
    quiet: bool,
    verify: bool,
    wait_irq: bool,
    index: Option<mmiodrv::backend::IrqKind>,
    vector: Option<u32>,
    timeout: Option<u64>,
}

/// Set an option once; a repeat is clap's to judge.
fn once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    match slot {
        Some(_) => None,
        None => {
            *slot = Some(value);
            Some(())
        }
    }
}

fn flag(slot: &mut bool) -> Option<()> {
    if *slot {
        return None;
    }
    *slot = true;
    Some(())
}

/// `read`/`write` command lines of the usual shapes, or `None`.
pub fn parse(argv: &[OsString]) -> Option<Cli> {
    let mut s = Seen::default();
    let mut words = argv.iter().skip(1).map(|w| w.to_str());
    while let Some(word) = words.next() {
        let word = word?;
        let (name, inline) = match word.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v)),
            _ => (word, None),
        };
        let mut value = || -> Option<&str> {
            match inline {
                Some(v) => Some(v),
                None => words.next()?.filter(|v| !v.starts_with('-')),
            }
        };
        let takes_inline = matches!(
            name,
            "--device"
                | "--state"
                | "--block"
                | "--backend"
                | "--trace"
                | "--regmap"
                | "--bar"
                | "--width"
                | "--index"
                | "--vector"
                | "--timeout"
        );
        if inline.is_some() && !takes_inline {
            return None;
        }
        let writing = s.command == Some("write");
        let command_set = s.command.is_some();
        match name {
            // -s and -d (lspci's filters) are resolved after parsing; clap takes them.
            "--device" => once(&mut s.device, value()?.to_string())?,
            "--state" => once(&mut s.state, PathBuf::from(value()?))?,
            "--block" if command_set => once(&mut s.block, value()?.to_string())?,
            "--backend" => once(&mut s.backend, value()?.parse().ok()?)?,
            "--force" => flag(&mut s.force)?,
            "--json" => flag(&mut s.json)?,
            "-v" | "--verbose" => s.verbose += 1,
            "-vv" => s.verbose += 2,
            "--trace" => once(&mut s.trace, PathBuf::from(value()?))?,
            "--regmap" if command_set => once(&mut s.regmap, PathBuf::from(value()?))?,
            "--bar" if command_set => once(&mut s.bar, parse_bar(value()?).ok()?)?,
            "--wc" if command_set => flag(&mut s.wc)?,
            "--width" if command_set => once(&mut s.width, parse_width(value()?).ok()?)?,
            "-q" | "--quiet" if command_set => flag(&mut s.quiet)?,
            "--verify" if writing => flag(&mut s.verify)?,
            "--wait-irq" if writing => flag(&mut s.wait_irq)?,
            "--index" if writing => once(&mut s.index, value()?.parse().ok()?)?,
            "--vector" if writing => once(&mut s.vector, value()?.parse().ok()?)?,
            "--timeout" if writing => once(&mut s.timeout, value()?.parse().ok()?)?,
            "read" if !command_set => s.command = Some("read"),
            "write" if !command_set => s.command = Some("write"),
            w if command_set && !w.starts_with('-') && !w.is_empty() => s.positionals.push(w.to_string()),
            _ => return None,
        }
    }
    let device = match s.device {
        Some(d) => Some(d),
        // clap reads MMIODRV_DEVICE when --device is absent; so does this,
        // and leaves anything unusual (not UTF-8) to clap.
        None => match std::env::var("MMIODRV_DEVICE") {
            Ok(d) => Some(d),
            Err(std::env::VarError::NotPresent) => None,
            Err(_) => return None,
        },
    };
    let global = Global {
        device,
        slot: None,
        ids: None,
        state: s.state,
        backend: s.backend.unwrap_or(BackendKind::Auto),
        force: s.force,
        json: s.json,
        verbose: s.verbose,
        trace: s.trace,
        lock: None,
    };
    let map = MapArgs { regmap: s.regmap, bar: s.bar, wc: s.wc, block: s.block };
    let command = match (s.command?, s.positionals.as_slice()) {
        ("read", [target]) => {
            if s.verify || s.wait_irq || s.index.is_some() || s.vector.is_some() || s.timeout.is_some() {
                return None;
            }
            Cmd::Read(ReadArgs { target: target.clone(), map, width: s.width, quiet: s.quiet })
        }
        // --index, --vector and --timeout mean something only with --wait-irq.
        ("write", _) if !s.wait_irq && (s.index.is_some() || s.vector.is_some() || s.timeout.is_some()) => return None,
        ("write", [target, value]) => Cmd::Write(WriteArgs {
            target: target.clone(),
            value: parse_number(value).ok()?,
            map,
            width: s.width,
            verify: s.verify,
            quiet: s.quiet,
            wait_irq: s.wait_irq,
            irq: IrqArgs { index: s.index, vector: s.vector, timeout: s.timeout.unwrap_or(5000) },
        }),
        _ => return None,
    };
    Some(Cli { global, command })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(line: &str) -> Vec<OsString> {
        std::iter::once("mmiodrv").chain(line.split_whitespace()).map(OsString::from).collect()
    }

    /// Wherever the fast path accepts a command line, clap parses it to the
    /// same thing; and the common one-shot shapes are accepted.
    #[test]
    fn agrees_with_clap() {
        let accepted = [
            "--device 0000:00:04.0 read 0x0 --quiet",
            "--device 0000:00:04.0 read ID",
            "--device=0000:00:04.0 read ID.MAJOR -q",
            "read 0x80 --width 64 --device 00:04.0 --json",
            "--device 1234:11e8 --backend sysfs --force read 0x4 --width=8",
            "-v --device 00:04.0 read STATUS --bar 0 --regmap m.toml --wc",
            "--device sim:m.toml --state s.json read CTRL --block A",
            "--device 00:04.0 write 0x4 0xf0f0f0f0",
            "--device 00:04.0 write LIVENESS 0x12 --verify --quiet",
            "--device 00:04.0 write IRQ_RAISE 1 --wait-irq --index msi --vector 0 --timeout 300",
            "--device 00:04.0 write STATUS.IRQ_FACT 1 -vv --json",
            "--device 00:04.0 write 0x80 0x1122334455667788 --width 64 --bar 0",
            "--device 00:04.0 --trace t.jsonl read ID",
            "--trace=t.jsonl --device 00:04.0 write FACTORIAL 10",
        ];
        let refused = [
            "--device 00:04.0 read",
            "--device 00:04.0 read 0x0 0x4",
            "--device 00:04.0 read 0x0 --width 12",
            "--device 00:04.0 read 0x0 --verify",
            "--device 00:04.0 read 0x0 --quiet --quiet",
            "--device 00:04.0 --trace a --trace b read 0x0",
            "--device 00:04.0 read 0x0 --help",
            "--device 00:04.0 read 0x0 --bar 9",
            "--device 00:04.0 write 0x4 -5",
            "--device 00:04.0 write 0x4 abc",
            "--device 00:04.0 write 0x4",
            "--device 00:04.0 write 0x4 1 --index bogus",
            "--device 00:04.0 write 0x4 1 --timeout",
            "--backend nosuch -d 00:04.0 read 0x0",
            "--device 00:04.0 dump-regs",
            "--device 00:04.0 read --width 8",
            "--device 00:04.0 read 0x0 --",
            "--device 00:04.0 --quiet read 0x0",
            "-d",
            "-s 00:04.0 read 0x0",
            "-d 1234:11e8 read ID --quiet",
            "--slot 04.0 write 0x4 1",
            "--device 00:04.0 write 0x4 1 --timeout 10",
            "",
            "list",
        ];
        for line in accepted {
            let fast = parse(&argv(line)).unwrap_or_else(|| panic!("fast path refused {line:?}"));
            let clap = crate::args::parse(argv(line)).unwrap_or_else(|e| panic!("clap refused {line:?}: {e}"));
            assert_eq!(format!("{:?}", fast), format!("{:?}", clap), "{line}");
        }
        for line in refused {
            assert!(parse(&argv(line)).is_none(), "fast path accepted {line:?}");
        }
    }
}
