//! Command-line syntax. Built-in commands are clap derive structs; drivers'
//! commands come from their declarations in `drivers/` (see `drivers.rs`).
//!
//! The command tree is built lazily: a one-shot `mmiodrv --device X read ID` builds
//! only `read`, and the whole tree is built only for help, completions, an
//! unknown command or an error (so clap's suggestions stay complete).

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches};
use mmiodrv::backend::{BackendKind, IrqKind};
use mmiodrv::mmio::Width;
use mmiodrv::pci::filter::{Filter, IdFilter, SlotFilter};

/// Options every command takes.
#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Device: DDDD:BB:DD.F, BB:DD.F, or VVVV:DDDD vendor:device IDs (must match one
    /// device); file:PATH, an ivshmem shared-memory file on the host; or sim:MAP,
    /// a device simulated from a register map (any format --regmap takes).
    #[arg(long, global = true, env = "MMIODRV_DEVICE", value_name = "DEV", help_heading = "Global options")]
    pub device: Option<String>,

    /// Select by slot as lspci -s does: [[DOMAIN:]BUS:][DEV][.[FUNC]], parts
    /// omitted or * (any). Filters `list`; other commands need one match.
    #[arg(short = 's', long = "slot", global = true, value_name = "SLOT", value_parser = parse_slot, help_heading = "Global options")]
    pub slot: Option<SlotFilter>,

    /// Select by IDs as lspci -d does: [VENDOR]:[DEVICE][:CLASS[:PROGIF]], parts
    /// omitted or * (any). Filters `list`; other commands need one match.
    #[arg(short = 'd', long = "ids", global = true, value_name = "IDS", value_parser = parse_ids, help_heading = "Global options")]
    pub ids: Option<IdFilter>,

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

fn parse_slot(s: &str) -> Result<SlotFilter, String> {
    SlotFilter::parse(s).map_err(|e| e.to_string())
}

fn parse_ids(s: &str) -> Result<IdFilter, String> {
    IdFilter::parse(s).map_err(|e| e.to_string())
}

impl Global {
    /// The `-s`/`-d` filter (empty when neither is given).
    pub fn filter(&self) -> Filter {
        Filter { slot: self.slot, ids: self.ids }
    }
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

/// `--width` as a closed set clap knows (listed in help and completions),
/// parsed by [`parse_width`].
pub fn width_parser() -> impl clap::builder::TypedValueParser<Value = Width> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(["8", "16", "32", "64"]).try_map(|s| parse_width(&s))
}

/// Numbers through the library's one value parser (0x.., 0b.., decimal).
pub fn parse_number(s: &str) -> Result<u64, String> {
    mmiodrv::value::parse_u64(s).map_err(|e| e.to_string())
}

/// `VALUE` or `VALUE:MASK` (setpci's form), each through the library's parser.
#[derive(Clone, Copy, Debug)]
pub struct ValueMask {
    pub value: u64,
    pub mask: Option<u64>,
}

pub fn parse_value_mask(s: &str) -> Result<ValueMask, String> {
    let (v, m) = match s.split_once(':') {
        Some((v, m)) => (v, Some(m)),
        None => (s, None),
    };
    Ok(ValueMask { value: parse_number(v)?, mask: m.map(parse_number).transpose()? })
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

    /// Access width in bits for a raw offset (default 32).
    #[arg(long, value_name = "BITS", allow_negative_numbers = true, value_parser = width_parser())]
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

    /// Access width in bits for a raw offset (default 32).
    #[arg(long, value_name = "BITS", allow_negative_numbers = true, value_parser = width_parser())]
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
pub struct ListArgs {
    /// Numbers instead of names (-n), or both (-nn), as lspci.
    #[arg(short = 'n', action = ArgAction::Count)]
    pub numeric: u8,

    /// Bridges with the devices behind them, indented.
    #[arg(short, long)]
    pub tree: bool,
}

#[derive(Args, Debug)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub action: Option<ConfigAction>,
}

#[derive(clap::Subcommand, Debug)]
pub enum ConfigAction {
    /// Read one config register or field by name, offset or capability.
    Read {
        /// NAME (COMMAND, LATENCY_TIMER), NAME.FIELD (COMMAND.BUS_MASTER),
        /// OFFSET[.b|.w|.l] (0x3c.b) or [E]CAP_NAME+OFFSET[.b|.w|.l] (CAP_MSI+2.w, ECAP_AER+4.l), as setpci.
        target: String,
        /// Print only the value.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Write one config register or field (a field or VALUE:MASK writes only those bits).
    Write {
        /// As for `config read`.
        target: String,
        /// VALUE or VALUE:MASK (0x.., 0b.., decimal); range-checked against the register or field.
        #[arg(value_parser = parse_value_mask, value_name = "VALUE[:MASK]")]
        value: ValueMask,
        /// Show what would be written (old and new value) and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print only the new value.
        #[arg(short, long)]
        quiet: bool,
    },
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_parser = ["bash", "zsh", "fish"])]
    pub shell: String,
}

#[derive(Args, Debug)]
pub struct ManArgs {
    /// Write the pages (mmiodrv.1, mmiodrv-list.1, ...) into this directory.
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
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
    List(ListArgs),
    Info,
    Config(ConfigArgs),
    Doctor,
    Completions(CompletionsArgs),
    Man(ManArgs),
    CompleteRegisters(MapArgs),
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

/// A built-in command: name, about, how to build its arguments, examples.
struct Builtin {
    name: &'static str,
    about: &'static str,
    build: fn(Command) -> Command,
    examples: &'static [(&'static str, &'static str)],
}

fn none(c: Command) -> Command {
    c
}

fn write_args(c: Command) -> Command {
    // The interrupt options mean something only with --wait-irq.
    WriteArgs::augment_args(c)
        .mut_arg("index", |a| a.requires("wait_irq"))
        .mut_arg("vector", |a| a.requires("wait_irq"))
        .mut_arg("timeout", |a| a.requires("wait_irq"))
}

fn config_args(c: Command) -> Command {
    ConfigArgs::augment_args(c).args_conflicts_with_subcommands(true)
}

const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "list",
        about: "List PCI devices (all, or those -s/-d select) with names, driver, IOMMU group and mmiodrv driver",
        build: ListArgs::augment_args,
        examples: &[
            ("mmiodrv list", "every device, with vendor and device names"),
            ("mmiodrv -d 1af4: list -nn", "Red Hat/virtio devices, names and [vendor:device] numbers"),
            ("mmiodrv list --tree", "bridges and the devices behind them"),
        ],
    },
    Builtin {
        name: "info",
        about: "Decode the config header, BARs and capabilities of the device",
        build: none,
        examples: &[
            ("mmiodrv -s 00:04.0 info", "as lspci -vvv, plus driver, IOMMU group and mmiodrv driver"),
            ("mmiodrv -d 1234:11e8 info --json", "the same as one JSON object"),
        ],
    },
    Builtin {
        name: "config",
        about: "Print raw config space as `lspci -xxx`, or read/write one register by name as setpci",
        build: config_args,
        examples: &[
            ("mmiodrv -s 00:04.0 config", "hex dump, 256 or 4096 bytes (lspci -F reads it)"),
            ("mmiodrv -s 00:04.0 config read COMMAND.BUS_MASTER", "one field of COMMAND"),
            ("mmiodrv -s 00:04.0 config write CAP_MSI+2.w 0x1:0x1 --dry-run", "what setpci -s 00:04.0 CAP_MSI+2.w=1:1 would write"),
        ],
    },
    Builtin {
        name: "dump-regs",
        about: "Dump registers by name (known device or --regmap), or hexdump a BAR",
        build: DumpArgs::augment_args,
        examples: &[
            ("mmiodrv -s 00:04.0 dump-regs", "every readable register of the built-in map, decoded"),
            ("mmiodrv -s 00:05.0 dump-regs --bar 2 --len 64", "hexdump of BAR2 in 32-bit reads"),
            ("mmiodrv --device sim:edu.svd dump-regs --diff-reset", "a simulated device, values that left their reset"),
        ],
    },
    Builtin {
        name: "read",
        about: "Read a register, a field (REG.FIELD) or an offset",
        build: ReadArgs::augment_args,
        examples: &[
            ("mmiodrv -s 00:04.0 read ID", "by name, with its fields decoded"),
            ("mmiodrv -s 00:04.0 read ID.MAJOR --quiet", "one field, only the value"),
            ("mmiodrv -s 00:05.0 read 0x10 --bar 2 --width 64", "a raw 64-bit read"),
        ],
    },
    Builtin {
        name: "write",
        about: "Write a register, a field (changing no other field) or an offset",
        build: write_args,
        examples: &[
            ("mmiodrv -s 00:04.0 write LIVENESS 0x12345678 --verify", "write, read back, fail if it did not stick"),
            ("mmiodrv -s 00:04.0 write STATUS.IRQ_FACT 1", "read-modify-write of one field"),
            ("mmiodrv -s 00:04.0 write IRQ_RAISE 1 --wait-irq --timeout 500", "write, then wait for the interrupt"),
        ],
    },
    Builtin {
        name: "wait-irq",
        about: "Wait for an interrupt (VFIO: INTx, MSI, MSI-X; UIO: INTx)",
        build: WaitIrqArgs::augment_args,
        examples: &[
            ("mmiodrv -s 00:04.0 wait-irq --timeout 1000", "one interrupt of the best kind the device has"),
            ("mmiodrv -s 00:05.0 wait-irq --index msix --vector 1 --count 3", "three on MSI-X vector 1"),
        ],
    },
    Builtin {
        name: "bind",
        about: "Bind the device to vfio-pci or uio_pci_generic, or --restore its old driver",
        build: BindArgs::augment_args,
        examples: &[
            ("mmiodrv -s 00:04.0 bind vfio-pci", "for interrupts and DMA"),
            ("mmiodrv -s 00:04.0 bind --restore", "back to the driver it had before"),
        ],
    },
    Builtin {
        name: "unbind",
        about: "Detach the device from its kernel driver",
        build: none,
        examples: &[("mmiodrv -s 00:07.0 unbind", "refused while the device is in use (mounted, swap, link up)")],
    },
    Builtin {
        name: "doctor",
        about: "Check what access to PCI devices needs (root or group, lockdown, IOMMU, VFIO nodes, memlock, modules) and name each fix",
        build: none,
        examples: &[
            ("mmiodrv doctor", "the system: user, lockdown, iomem, IOMMU, /dev/vfio, memlock, modules"),
            ("mmiodrv -s 00:04.0 doctor", "also the device: IOMMU group, decoding, bus mastering, driver"),
        ],
    },
    // ---- observe
    Builtin {
        name: "watch",
        about: "Print each change of registers or fields, with its time",
        build: WatchArgs::augment_args,
        examples: &[
            ("mmiodrv -s 00:04.0 watch", "each change of any register read without side effects"),
            ("mmiodrv -s 00:04.0 watch STATUS.COMPUTING --until STATUS.COMPUTING=0 --timeout 2000", "until a field clears"),
        ],
    },
    Builtin {
        name: "top",
        about: "Sample fields: how often each is set, each value's share, the rate achieved",
        build: TopArgs::augment_args,
        examples: &[("mmiodrv -s 00:04.0 top STATUS.COMPUTING --rate 2000", "how often the field is set, refreshed in place")],
    },
    Builtin {
        name: "snapshot",
        about: "Write every readable register (or a BAR's raw bytes) with device, map and time to a JSON file",
        build: SnapshotArgs::augment_args,
        examples: &[
            ("mmiodrv -s 00:04.0 snapshot --out before.json", "every readable register, with the device and the time"),
            ("mmiodrv -s 00:05.0 snapshot --raw --bar 2 --len 4096 --out shm.json", "raw bytes of a BAR"),
        ],
    },
    Builtin {
        name: "decode",
        about: "Print a snapshot as dump-regs would, without the device",
        build: DecodeArgs::augment_args,
        examples: &[("mmiodrv decode before.json", "as dump-regs printed it, with no device")],
    },
    Builtin {
        name: "diff",
        about: "Name each register and field that differs between two snapshots, or a snapshot and the device",
        build: DiffArgs::augment_args,
        examples: &[
            ("mmiodrv diff before.json after.json", "each register and field that changed, decoded"),
            ("mmiodrv -s 00:04.0 diff before.json", "against the live device"),
        ],
    },
    Builtin { name: "trace", about: "Read a trace recorded with --trace FILE", build: TraceArgs::augment_args, examples: &[
            ("mmiodrv -s 00:04.0 --trace run.jsonl edu factorial 10", "record every access of a command"),
            ("mmiodrv trace show run.jsonl", "the accesses with register and field names"),
        ] },
    Builtin {
        name: "replay",
        about: "Issue a trace's writes again in order (--verify: check its reads); same device IDs only",
        build: ReplayArgs::augment_args,
        examples: &[("mmiodrv -s 00:04.0 replay run.jsonl --verify", "its writes again, checking its reads")],
    },
    Builtin {
        name: "batch",
        about: "Run many operations on the device in one process: a script FILE, - for the pipe protocol",
        build: crate::batch::BatchArgs::augment_args,
        examples: &[
            ("mmiodrv -s 00:04.0 batch script.mmio", "run a script; nothing runs if a line is wrong"),
            ("mmiodrv -s 00:04.0 batch --check script.mmio", "only check it"),
            ("mmiodrv -s 00:04.0 --json batch -", "the pipe protocol: one JSON object per line"),
        ],
    },
    Builtin {
        name: "shell",
        about: "An interactive shell on the device (line editing, history, completion)",
        build: crate::batch::ShellArgs::augment_args,
        examples: &[("mmiodrv -s 00:04.0 shell", "read, write, poll, dump... with tab completion")],
    },
    Builtin {
        name: "regmap",
        about: "Show, check or convert a register map (TOML, IP-XACT, SVD, SystemRDL, LiteX)",
        build: RegmapArgs::augment_args,
        examples: &[
            ("mmiodrv regmap show edu.svd", "every register with address, width, access, reset, fields"),
            ("mmiodrv regmap check my.toml", "problems as FILE:LINE, exit status 7"),
            ("mmiodrv regmap convert soc.xml --block UART --to toml -o uart.toml", "one block as TOML"),
        ],
    },
    Builtin {
        name: "completions",
        about: "Print a shell completion script (bash also completes register names of the device)",
        build: CompletionsArgs::augment_args,
        examples: &[
            ("mmiodrv completions bash > /etc/bash_completion.d/mmiodrv", "install for bash"),
            ("mmiodrv completions zsh > ~/.zfunc/_mmiodrv", "zsh (with ~/.zfunc in fpath)"),
            ("mmiodrv completions fish > ~/.config/fish/completions/mmiodrv.fish", "fish"),
        ],
    },
    Builtin {
        name: "man",
        about: "Write man pages: mmiodrv.1 and one per command",
        build: ManArgs::augment_args,
        examples: &[("sudo mmiodrv man --dir /usr/local/share/man/man1", "install them (then: man mmiodrv-read)")],
    },
    Builtin {
        name: "complete-registers",
        about: "Register and field names of the device's map, one per line (for shell completion)",
        build: MapArgs::augment_args,
        examples: &[],
    },
];

/// Commands left out of help (they serve the completion scripts).
const HIDDEN: &[&str] = &["complete-registers"];

/// `Examples:` as help's closing section.
pub fn examples_text(examples: &[(&str, &str)]) -> Option<String> {
    if examples.is_empty() {
        return None;
    }
    let lines: Vec<String> = examples
        .iter()
        .map(|(line, what)| if what.is_empty() { format!("  {line}") } else { format!("  {line}\n      {what}") })
        .collect();
    Some(format!("Examples:\n{}", lines.join("\n")))
}

/// The top level's closing section: examples, environment, exit statuses.
fn top_after_help() -> String {
    let examples = examples_text(&[
        ("mmiodrv list", "the PCI devices, with names, drivers and IOMMU groups"),
        ("mmiodrv -s 00:04.0 dump-regs", "the registers of the device in slot 00:04.0"),
        ("mmiodrv -d 1234:11e8 write LIVENESS 0x1 --verify", "a register of the one device with these IDs"),
    ])
    .unwrap_or_default();
    let codes: Vec<String> = std::iter::once((0, "success"))
        .chain(std::iter::once((1, "an error of no other class (a bug: please report it)")))
        .chain(mmiodrv::ErrorClass::ALL.iter().map(|c| (c.exit_code(), crate::render::class_meaning(*c))))
        .map(|(code, what)| format!("  {code:<4}{what}"))
        .collect();
    format!(
        "{examples}\n\nEnvironment:\n  MMIODRV_DEVICE      the device when --device, -s and -d are not given\n  \
         MMIODRV_SYSFS_ROOT  another sysfs tree (tests use fake ones)\n  \
         MMIODRV_PCI_IDS     another pci.ids file\n  \
         MMIODRV_STATE_DIR   where bind remembers previous drivers (default /run/mmiodrv)\n  \
         MMIODRV_PROC_ROOT   another /proc for the in-use checks (mounts, swaps)\n  \
         RUST_LOG            log filter (overrides -v)\n\nExit status:\n{}",
        codes.join("\n")
    )
}

/// `mmiodrv --version`: the crate version and the git commit it was built from.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("MMIODRV_GIT_COMMIT"), ")");

fn root() -> Command {
    // The about after augment_args, which would set Global's doc comment.
    Global::augment_args(Command::new("mmiodrv"))
        .version(VERSION)
        .about("Userspace PCI/MMIO driver toolkit: inspect devices, dump and poke registers")
        .subcommand_required(true)
        .arg_required_else_help(true)
        .after_help(top_after_help())
}

fn builtin_command(b: &Builtin) -> Command {
    // The about after build, which would set the args struct's doc comment.
    let mut cmd = (b.build)(Command::new(b.name)).about(b.about).hide(HIDDEN.contains(&b.name));
    if let Some(text) = examples_text(b.examples) {
        cmd = cmd.after_help(text);
    }
    cmd
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
            "-d" | "-s" | "--device" | "--slot" | "--ids" | "--backend" | "--state" | "--trace" => {
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
    let mut global = Global::from_arg_matches(&matches)?;
    // -s/-d and --device name the device two ways: not both on one command
    // line; but they do override $MMIODRV_DEVICE.
    if !global.filter().is_empty() && global.device.is_some() {
        if matches.value_source("device") == Some(clap::parser::ValueSource::CommandLine) {
            return Err(full_command().error(
                clap::error::ErrorKind::ArgumentConflict,
                "--device and -s/-d cannot be used together: name the device one way",
            ));
        }
        global.device = None;
    }
    let (name, sub) = matches.subcommand().expect("subcommand_required");
    let command = match name {
        "list" => Cmd::List(ListArgs::from_arg_matches(sub)?),
        "info" => Cmd::Info,
        "config" => Cmd::Config(ConfigArgs::from_arg_matches(sub)?),
        "doctor" => Cmd::Doctor,
        "completions" => Cmd::Completions(CompletionsArgs::from_arg_matches(sub)?),
        "man" => Cmd::Man(ManArgs::from_arg_matches(sub)?),
        "complete-registers" => Cmd::CompleteRegisters(MapArgs::from_arg_matches(sub)?),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Help you can work from: every command and argument says what it is,
    /// every command shows examples, global options stand under their own
    /// heading, and the top level lists every exit status.
    #[test]
    fn help_is_complete() {
        fn walk(path: &str, c: &Command, problems: &mut Vec<String>) {
            let here = format!("{path} {}", c.get_name()).trim().to_string();
            if c.get_about().is_none_or(|a| a.to_string().trim().is_empty()) {
                problems.push(format!("{here}: no about"));
            }
            for a in c.get_arguments() {
                let id = a.get_id().as_str();
                if id == "help" || id == "version" {
                    continue;
                }
                if a.get_help().is_none_or(|h| h.to_string().trim().is_empty()) {
                    problems.push(format!("{here} {id}: no help"));
                }
                if a.is_global_set() && a.get_help_heading() != Some("Global options") {
                    problems.push(format!("{here} {id}: a global option outside 'Global options'"));
                }
            }
            for s in c.get_subcommands() {
                walk(&here, s, problems);
            }
        }
        let mut cmd = full_command();
        cmd.build();
        let mut problems = Vec::new();
        walk("", &cmd, &mut problems);
        // Examples on every command at the top level and every driver command that runs.
        for c in cmd.get_subcommands().filter(|c| c.get_name() != "help" && !c.is_hide_set()) {
            let leaves: Vec<&Command> = if BUILTINS.iter().any(|b| b.name == c.get_name()) {
                vec![c]
            } else {
                fn leaves<'a>(c: &'a Command, out: &mut Vec<&'a Command>) {
                    if c.has_subcommands() {
                        c.get_subcommands().filter(|s| s.get_name() != "help").for_each(|s| leaves(s, out));
                    } else {
                        out.push(c);
                    }
                }
                let mut out = Vec::new();
                leaves(c, &mut out);
                out
            };
            for l in leaves {
                if !l.get_after_help().is_some_and(|h| h.to_string().contains("Examples:")) {
                    problems.push(format!("{} {}: no examples", c.get_name(), l.get_name()));
                }
            }
        }
        let top = cmd.get_after_help().map(|h| h.to_string()).unwrap_or_default();
        for class in mmiodrv::ErrorClass::ALL {
            if !top.contains(&format!("\n  {:<4}", class.exit_code())) {
                problems.push(format!("top-level help lacks exit status {}", class.exit_code()));
            }
        }
        for var in ["MMIODRV_PROC_ROOT", "MMIODRV_STATE_DIR", "MMIODRV_SYSFS_ROOT", "MMIODRV_DEVICE"] {
            if !top.contains(var) {
                problems.push(format!("top-level help does not explain {var}"));
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    /// clap's checks run before anything is opened: a bad width is a usage
    /// error with the values allowed, and suggestions survive.
    #[test]
    fn values_are_checked_by_the_parser() {
        let argv = |line: &str| -> Vec<OsString> {
            std::iter::once("mmiodrv").chain(line.split_whitespace()).map(OsString::from).collect()
        };
        let e = parse(argv("--device 00:04.0 read 0x0 --width 12")).unwrap_err();
        assert!(e.to_string().contains("possible values: 8, 16, 32, 64"), "{e}");
        let e = parse(argv("--device 00:04.0 write 0x4 1 --timeout 10")).unwrap_err();
        assert!(e.to_string().contains("--wait-irq"), "{e}");
        let e = parse(argv("lst")).unwrap_err();
        assert!(e.render().to_string().contains("similar subcommand exists: 'list'"), "{e}");
        let e = parse(argv("-s 00:04.0 --device 00:04.0 info")).unwrap_err();
        assert!(e.to_string().contains("cannot be used together"), "{e}");
        assert!(parse(argv("-d 1af4 list")).is_err());
        let ok = parse(argv("-s 04.0 -d 1234: list -nn --tree")).unwrap();
        assert!(matches!(ok.command, Cmd::List(ListArgs { numeric: 2, tree: true })));
    }
}
