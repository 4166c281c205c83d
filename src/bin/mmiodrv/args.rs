//! Command-line syntax. Built-in commands are clap derive structs; drivers'
//! commands come from their declarations in `drivers/` (see `drivers.rs`).
//!
//! The command tree is built lazily: a one-shot `mmiodrv -d X read ID` builds
//! only `read`, and the whole tree is built only for help, completions, an
//! unknown command or an error (so clap's suggestions stay complete).

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches};
use mmiodrv::backend::{BackendKind, IrqKind};
use mmiodrv::mmio::Width;

/// Options every command takes.
#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Device: DDDD:BB:DD.F, BB:DD.F, or VVVV:DDDD vendor:device IDs (must match one
    /// device); file:PATH, an ivshmem shared-memory file on the host; or sim:MAP,
    /// a device simulated from a register map (any format --regmap takes).
    #[arg(short, long, global = true, env = "MMIODRV_DEVICE", value_name = "DEV", help_heading = "Global options")]
    pub device: Option<String>,

    /// How to reach the device: auto (by the bound driver), vfio, uio or sysfs.
    #[arg(long, global = true, value_name = "KIND", default_value = "auto", value_parser = parse_backend, help_heading = "Global options")]
    pub backend: BackendKind,

    /// Touch BARs even when another kernel driver owns the device or decoding is off;
    /// skip the device's access-width rules for raw offsets; override in-use refusals.
    #[arg(long, global = true, help_heading = "Global options")]
    pub force: bool,

    /// Print JSON (one object per result; schema: docs/json.md).
    #[arg(long, global = true, help_heading = "Global options")]
    pub json: bool,

    /// A simulated device's state file (--device sim:MAP): read at start and
    /// rewritten after every change, so a sequence of commands sees its own writes.
    #[arg(long, global = true, value_name = "FILE", help_heading = "Global options")]
    pub state: Option<PathBuf>,

    /// More log output (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = ArgAction::Count, help_heading = "Global options")]
    pub verbose: u8,

    /// Record every register access the command makes in FILE (JSON lines;
    /// `mmiodrv trace show FILE` prints it, `mmiodrv replay FILE` replays it).
    #[arg(long, global = true, value_name = "FILE", help_heading = "Global options")]
    pub trace: Option<PathBuf>,

    /// How the command locks the device against other mmiodrv processes
    /// (set from the command, not an option; see mmiodrv::lock).
    #[arg(skip)]
    pub lock: Option<mmiodrv::lock::LockMode>,
}

fn parse_backend(s: &str) -> Result<BackendKind, String> {
    s.parse().map_err(|e: mmiodrv::Error| e.to_string())
}

pub fn parse_irq_kind(s: &str) -> Result<IrqKind, String> {
    s.parse().map_err(|e: mmiodrv::Error| e.to_string())
}

/// Access widths as a closed set, checked by the parser before any device is opened.
pub fn parse_width(s: &str) -> Result<Width, String> {
    let bits: u32 = s.parse().map_err(|_| format!("'{s}' is not an access width: expected 8, 16, 32 or 64"))?;
    Width::from_bits(bits).map_err(|e| e.to_string())
}

/// Numbers through the library's one value parser (0x.., 0b.., decimal).
pub fn parse_number(s: &str) -> Result<u64, String> {
    mmiodrv::value::parse_u64(s).map_err(|e| e.to_string())
}

pub fn parse_size(s: &str) -> Result<u64, String> {
    mmiodrv::value::parse_size(s).map_err(|e| e.to_string())
}

pub fn parse_bar(s: &str) -> Result<u8, String> {
    match s.parse::<u8>() {
        Ok(b) if b <= 5 => Ok(b),
        _ => Err(format!("'{s}' is not a BAR index: expected 0 to 5")),
    }
}

#[derive(Args, Debug, Clone)]
pub struct IrqArgs {
    /// Interrupt mechanism: intx, msi or msix (default: MSI-X, else MSI, else INTx, as the device has).
    #[arg(long, value_name = "KIND", value_parser = parse_irq_kind)]
    pub index: Option<IrqKind>,

    /// Only this vector counts (others are reported and waited past).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub vector: Option<u32>,

    /// Give up after this many milliseconds (exit status 8).
    #[arg(long, default_value_t = 5000, value_name = "MS", allow_negative_numbers = true)]
    pub timeout: u64,
}

#[derive(Args, Debug)]
pub struct WaitIrqArgs {
    #[command(flatten)]
    pub irq: IrqArgs,

    /// Number of interrupts to wait for (on --vector, if given; interrupts that
    /// fired before a wait count one each).
    #[arg(long, default_value_t = 1, value_name = "N", allow_negative_numbers = true, value_parser = clap::value_parser!(u32).range(1..))]
    pub count: u32,
}

#[derive(Args, Debug)]
pub struct BindArgs {
    /// vfio-pci or uio_pci_generic.
    #[arg(required_unless_present = "restore", conflicts_with = "restore", value_parser = ["vfio-pci", "uio_pci_generic"])]
    pub driver: Option<String>,

    /// Go back to the driver the device had before mmiodrv bound it.
    #[arg(long)]
    pub restore: bool,
}

#[derive(Args, Debug, Clone)]
pub struct MapArgs {
    /// Register map file (format: docs/regmap-format.md). Default: the built-in
    /// map of a known device.
    #[arg(long, value_name = "FILE")]
    pub regmap: Option<PathBuf>,

    /// BAR to access (default: the map's BAR, else 0); a --regmap map applies to it.
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = parse_bar)]
    pub bar: Option<u8>,

    /// The block of a map file with several (IP-XACT address block, SVD
    /// peripheral, SystemRDL sub-addrmap, LiteX CSR region); it applies to --bar.
    #[arg(long, value_name = "NAME")]
    pub block: Option<String>,

    /// Use the write-combining mapping of a prefetchable BAR (resourceN_wc).
    #[arg(long)]
    pub wc: bool,
}

#[derive(Args, Debug)]
pub struct DumpArgs {
    #[command(flatten)]
    pub map: MapArgs,

    /// Also read write-only registers and registers whose read has side effects.
    #[arg(long)]
    pub all: bool,

    /// Mark the registers whose value differs from the map's reset value.
    #[arg(long)]
    pub diff_reset: bool,

    /// Hexdump start offset (implies a raw hexdump).
    #[arg(long, value_name = "OFFSET", allow_negative_numbers = true, value_parser = parse_size)]
    pub offset: Option<u64>,

    /// Hexdump length in bytes, K/M suffixes allowed (implies a raw hexdump).
    #[arg(long, value_name = "BYTES", allow_negative_numbers = true, value_parser = parse_size)]
    pub len: Option<u64>,
}

#[derive(Args, Debug)]
pub struct ReadArgs {
    /// REG, REG.FIELD or an offset (0x.., 0b.., decimal).
    pub target: String,

    #[command(flatten)]
    pub map: MapArgs,

    /// Access width in bits for a raw offset: 8, 16, 32 or 64 (default 32).
    #[arg(long, value_name = "BITS", allow_negative_numbers = true, value_parser = parse_width)]
    pub width: Option<Width>,

    /// Print only the value.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct WriteArgs {
    /// REG, REG.FIELD or an offset (0x.., 0b.., decimal).
    pub target: String,

    /// Value: 0x.., 0b.. or decimal; range-checked against the width or field.
    #[arg(allow_hyphen_values = true, value_parser = parse_number)]
    pub value: u64,

    #[command(flatten)]
    pub map: MapArgs,

    /// Access width in bits for a raw offset: 8, 16, 32 or 64 (default 32).
    #[arg(long, value_name = "BITS", allow_negative_numbers = true, value_parser = parse_width)]
    pub width: Option<Width>,

    /// Read back after the write and fail (exit 6) when the value did not stick.
    #[arg(long)]
    pub verify: bool,

    /// Print only the value (the read-back value with --verify).
    #[arg(short, long)]
    pub quiet: bool,

    /// Arm interrupts before the write and wait for one after it, in this
    /// process (a VFIO group can be open in only one process at a time).
    #[arg(long)]
    pub wait_irq: bool,

    #[command(flatten)]
    pub irq: IrqArgs,
}

// ---- observe: watch, top, snapshot, decode, diff, trace, replay

#[derive(Args, Debug)]
pub struct WatchArgs {
    /// What to watch: REG, REG.FIELD or offsets (default: every register dump-regs
    /// reads; registers whose read has side effects only when named).
    pub targets: Vec<String>,

    #[command(flatten)]
    pub map: MapArgs,

    /// Time between samples in milliseconds.
    #[arg(long, default_value_t = 100, value_name = "MS")]
    pub interval: u64,

    /// Stop after this many changes.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,

    /// Stop when TARGET reads VALUE (checked at every sample, the first too);
    /// TARGET is watched as well.
    #[arg(long, value_name = "TARGET=VALUE")]
    pub until: Option<String>,

    /// Stop after this many milliseconds: exit status 8 when --count or
    /// --until was not met by then.
    #[arg(long, value_name = "MS")]
    pub timeout: Option<u64>,
}

#[derive(Args, Debug)]
pub struct TopArgs {
    /// What to sample: REG.FIELD, REG (each of its fields) or offsets
    /// (default: every field of every register dump-regs reads).
    pub targets: Vec<String>,

    #[command(flatten)]
    pub map: MapArgs,

    /// Samples per second to aim for (the rate achieved is shown).
    #[arg(long, default_value_t = 1000.0, value_name = "HZ")]
    pub rate: f64,

    /// Stop after this many samples (default: until interrupted).
    #[arg(long, value_name = "SAMPLES", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,

    /// Show the shares every MS milliseconds (default: 500 on a terminal, 1000 otherwise).
    #[arg(long, value_name = "MS")]
    pub refresh: Option<u64>,
}

#[derive(Args, Debug)]
pub struct SnapshotArgs {
    /// The snapshot file to write (JSON).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,

    #[command(flatten)]
    pub map: MapArgs,

    /// Capture the BAR's raw bytes (32-bit reads) instead of its registers.
    #[arg(long)]
    pub raw: bool,

    /// With --raw: first byte (default 0).
    #[arg(long, value_name = "OFFSET", value_parser = parse_size, requires = "raw")]
    pub offset: Option<u64>,

    /// With --raw: length in bytes (default: to the end of the BAR).
    #[arg(long, value_name = "BYTES", value_parser = parse_size, requires = "raw")]
    pub len: Option<u64>,

    /// Also read write-only registers and registers whose read has side effects.
    #[arg(long)]
    pub all: bool,
}

#[derive(Args, Debug)]
pub struct DecodeArgs {
    /// A snapshot file.
    pub file: PathBuf,

    /// Read it with this register map instead of the one it was taken with
    /// (a raw snapshot is then shown as registers).
    #[arg(long, value_name = "MAP")]
    pub regmap: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct DiffArgs {
    /// The first snapshot.
    pub a: PathBuf,

    /// The second snapshot (default: the live --device, read as A was taken).
    pub b: Option<PathBuf>,

    /// Compare both as this map's registers.
    #[arg(long, value_name = "MAP")]
    pub regmap: Option<PathBuf>,
}

#[derive(clap::Subcommand, Debug)]
pub enum TraceCmd {
    /// Print a trace with register and field names from the map.
    Show {
        /// A trace file (written with --trace FILE).
        file: PathBuf,

        /// Name registers with this map (for its BAR, or --bar).
        #[arg(long, value_name = "MAP")]
        regmap: Option<PathBuf>,

        /// The BAR --regmap describes (default: the map's own).
        #[arg(long, value_name = "N", value_parser = parse_bar, requires = "regmap")]
        bar: Option<u8>,
    },
}

#[derive(Args, Debug)]
pub struct TraceArgs {
    #[command(subcommand)]
    pub command: TraceCmd,
}

#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// A trace file (written with --trace FILE).
    pub file: PathBuf,

    /// Print what would be done; touch nothing (with --device, still check its IDs).
    #[arg(long)]
    pub dry_run: bool,

    /// Also make the trace's reads again and check each returns what was recorded.
    #[arg(long)]
    pub verify: bool,

    /// With --verify: how long a read may take to reach its recorded value, in milliseconds.
    #[arg(long, default_value_t = 5000, value_name = "MS")]
    pub timeout: u64,
}

#[derive(Args, Debug)]
pub struct RegmapArgs {
    #[command(subcommand)]
    pub action: RegmapAction,
}

#[derive(clap::Subcommand, Debug)]
pub enum RegmapAction {
    /// Every register of a map file: absolute offset, width, access, reset, fields.
    Show {
        /// A map in any format: mmiodrv TOML, IP-XACT, CMSIS-SVD, SystemRDL, LiteX csr.csv/csr.json.
        file: PathBuf,
        /// Only this block.
        #[arg(long, value_name = "NAME")]
        block: Option<String>,
    },
    /// Check a map file: problems as FILE:LINE: problem, exit status 7.
    Check {
        /// The map file.
        file: PathBuf,
    },
    /// Convert one block of a map file to mmiodrv TOML (printed, or written to --output).
    Convert {
        /// The map file.
        file: PathBuf,
        /// Target format.
        #[arg(long, value_name = "FORMAT", value_parser = ["toml"])]
        to: String,
        /// The block to convert (needed when the file has several).
        #[arg(long, value_name = "NAME")]
        block: Option<String>,
        /// Write here instead of stdout.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

/// A parsed command line.
#[derive(Debug)]
pub struct Cli {
    pub global: Global,
    pub command: Cmd,
}

/// Which command, with its arguments.
#[derive(Debug)]
pub enum Cmd {
    List,
    Info,
    Config,
    DumpRegs(DumpArgs),
    Read(ReadArgs),
    Write(WriteArgs),
    WaitIrq(WaitIrqArgs),
    Bind(BindArgs),
    Unbind,
    Watch(WatchArgs),
    Top(TopArgs),
    Snapshot(SnapshotArgs),
    Decode(DecodeArgs),
    Diff(DiffArgs),
    Trace(TraceArgs),
    Replay(ReplayArgs),
    Batch(crate::batch::BatchArgs),
    Shell(crate::batch::ShellArgs),
    Regmap(RegmapArgs),
    /// A driver's command: the path of names and the matches of the last one
    /// (with the matches of each group on the way, for group options).
    Driver {
        path: Vec<String>,
        matches: Vec<ArgMatches>,
    },
}

/// A built-in command: name, about, how to build its arguments.
struct Builtin {
    name: &'static str,
    about: &'static str,
    build: fn(Command) -> Command,
}

fn none(c: Command) -> Command {
    c
}

const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "list",
        about: "List every PCI device with its driver, IOMMU group and matching mmiodrv driver",
        build: none,
    },
    Builtin { name: "info", about: "Decode the config header, BARs and capabilities of --device", build: none },
    Builtin { name: "config", about: "Print raw config space in the layout of `lspci -xxx`", build: none },
    Builtin {
        name: "dump-regs",
        about: "Dump registers by name (known device or --regmap), or hexdump a BAR",
        build: DumpArgs::augment_args,
    },
    Builtin { name: "read", about: "Read a register, a field (REG.FIELD) or an offset", build: ReadArgs::augment_args },
    Builtin {
        name: "write",
        about: "Write a register, a field (changing no other field) or an offset",
        build: WriteArgs::augment_args,
    },
    Builtin {
        name: "wait-irq",
        about: "Wait for an interrupt (VFIO: INTx, MSI, MSI-X; UIO: INTx)",
        build: WaitIrqArgs::augment_args,
    },
    Builtin {
        name: "bind",
        about: "Bind the device to vfio-pci or uio_pci_generic, or --restore its old driver",
        build: BindArgs::augment_args,
    },
    Builtin { name: "unbind", about: "Detach the device from its kernel driver", build: none },
    // ---- observe
    Builtin {
        name: "watch",
        about: "Print each change of registers or fields, with its time",
        build: WatchArgs::augment_args,
    },
    Builtin {
        name: "top",
        about: "Sample fields: how often each is set, each value's share, the rate achieved",
        build: TopArgs::augment_args,
    },
    Builtin {
        name: "snapshot",
        about: "Write every readable register (or a BAR's raw bytes) with device, map and time to a JSON file",
        build: SnapshotArgs::augment_args,
    },
    Builtin {
        name: "decode",
        about: "Print a snapshot as dump-regs would, without the device",
        build: DecodeArgs::augment_args,
    },
    Builtin {
        name: "diff",
        about: "Name each register and field that differs between two snapshots, or a snapshot and the device",
        build: DiffArgs::augment_args,
    },
    Builtin { name: "trace", about: "Read a trace recorded with --trace FILE", build: TraceArgs::augment_args },
    Builtin {
        name: "replay",
        about: "Issue a trace's writes again in order (--verify: check its reads); same device IDs only",
        build: ReplayArgs::augment_args,
    },
    Builtin {
        name: "batch",
        about: "Run many operations on the device in one process: a script FILE, - for the pipe protocol",
        build: crate::batch::BatchArgs::augment_args,
    },
    Builtin {
        name: "shell",
        about: "An interactive shell on the device (line editing, history, completion)",
        build: crate::batch::ShellArgs::augment_args,
    },
    Builtin {
        name: "regmap",
        about: "Show, check or convert a register map (TOML, IP-XACT, SVD, SystemRDL, LiteX)",
        build: RegmapArgs::augment_args,
    },
];

fn root() -> Command {
    let cmd = Command::new("mmiodrv")
        .version(env!("CARGO_PKG_VERSION"))
        .about("Userspace PCI/MMIO driver toolkit: inspect devices, dump and poke registers")
        .subcommand_required(true)
        .arg_required_else_help(true);
    Global::augment_args(cmd)
}

fn builtin_command(b: &Builtin) -> Command {
    (b.build)(Command::new(b.name).about(b.about))
}

/// The whole command tree (help, completions, error messages).
pub fn full_command() -> Command {
    let mut cmd = root();
    for b in BUILTINS {
        cmd = cmd.subcommand(builtin_command(b));
    }
    for c in crate::drivers::commands() {
        cmd = cmd.subcommand(c);
    }
    cmd
}

/// The first word that is not a global option (or its value): the command name.
fn command_name(argv: &[OsString]) -> Option<&str> {
    let mut words = argv.iter().skip(1).map(|w| w.to_str());
    while let Some(word) = words.next() {
        let word = word?;
        match word {
            "-d" | "--device" | "--backend" | "--state" | "--trace" => {
                words.next();
            }
            w if w.starts_with('-') => {}
            w => return Some(w),
        }
    }
    None
}

/// Only the named command (or the whole tree when the name is not one).
fn command_for(name: Option<&str>) -> Command {
    if let Some(b) = name.and_then(|n| BUILTINS.iter().find(|b| b.name == n)) {
        return root().subcommand(builtin_command(b));
    }
    if let Some(c) = name.and_then(crate::drivers::command) {
        return root().subcommand(c);
    }
    full_command()
}

/// Parse the command line.
pub fn parse(argv: Vec<OsString>) -> Result<Cli, clap::Error> {
    let matches = command_for(command_name(&argv)).try_get_matches_from(&argv).or_else(|e| {
        // Parse again against the whole tree so the error names every choice.
        if e.kind() == clap::error::ErrorKind::DisplayHelp || e.kind() == clap::error::ErrorKind::DisplayVersion {
            return Err(e);
        }
        full_command().try_get_matches_from(&argv)
    })?;
    let global = Global::from_arg_matches(&matches)?;
    let (name, sub) = matches.subcommand().expect("subcommand_required");
    let command = match name {
        "list" => Cmd::List,
        "info" => Cmd::Info,
        "config" => Cmd::Config,
        "dump-regs" => Cmd::DumpRegs(DumpArgs::from_arg_matches(sub)?),
        "read" => Cmd::Read(ReadArgs::from_arg_matches(sub)?),
        "write" => Cmd::Write(WriteArgs::from_arg_matches(sub)?),
        "wait-irq" => Cmd::WaitIrq(WaitIrqArgs::from_arg_matches(sub)?),
        "bind" => Cmd::Bind(BindArgs::from_arg_matches(sub)?),
        "unbind" => Cmd::Unbind,
        "watch" => Cmd::Watch(WatchArgs::from_arg_matches(sub)?),
        "top" => Cmd::Top(TopArgs::from_arg_matches(sub)?),
        "snapshot" => Cmd::Snapshot(SnapshotArgs::from_arg_matches(sub)?),
        "decode" => Cmd::Decode(DecodeArgs::from_arg_matches(sub)?),
        "diff" => Cmd::Diff(DiffArgs::from_arg_matches(sub)?),
        "trace" => Cmd::Trace(TraceArgs::from_arg_matches(sub)?),
        "replay" => Cmd::Replay(ReplayArgs::from_arg_matches(sub)?),
        "batch" => Cmd::Batch(crate::batch::BatchArgs::from_arg_matches(sub)?),
        "shell" => Cmd::Shell(crate::batch::ShellArgs::from_arg_matches(sub)?),
        "regmap" => Cmd::Regmap(RegmapArgs::from_arg_matches(sub)?),
        _ => {
            let mut path = vec![name.to_string()];
            let mut chain = vec![sub.clone()];
            let mut at = sub;
            while let Some((n, m)) = at.subcommand() {
                path.push(n.to_string());
                chain.push(m.clone());
                at = m;
            }
            Cmd::Driver { path, matches: chain }
        }
    };
    Ok(Cli { global, command })
}

/// An argument of a driver command as clap sees it.
pub fn spec_arg(a: &mmiodrv::command::Arg) -> Arg {
    use mmiodrv::command::{ArgKind, Value};
    let value = a.value;
    let name = a.name;
    let mut arg = Arg::new(a.name).help(a.help);
    arg = match a.kind {
        ArgKind::Positional { required } => arg.required(required).allow_hyphen_values(true),
        // A negative number is a value its parser refuses in its own words, not an unknown option.
        ArgKind::Option { required } => arg.long(a.name).required(required).allow_negative_numbers(true),
        ArgKind::Flag => arg.long(a.name).action(ArgAction::SetTrue),
    };
    if a.kind != ArgKind::Flag {
        arg = arg.value_name(match a.kind {
            ArgKind::Positional { .. } => a.name,
            _ => value.placeholder(),
        });
        arg = match value {
            Value::Choice(choices) => arg.value_parser(choices.to_vec()),
            Value::Path => arg.value_parser(clap::value_parser!(PathBuf)),
            // Checked by the library's own parser, so errors read the same everywhere.
            _ => {
                arg.value_parser(move |s: &str| value.parse(s, name).map(|_| s.to_string()).map_err(|e| e.to_string()))
            }
        };
        if let Some(d) = a.default {
            arg = arg.default_value(d);
        }
    }
    arg
}
