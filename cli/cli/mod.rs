//! The command line's grammar: its global options, and the tree of every
//! command it takes (the program's own, the library's register operations,
//! the drivers'), all declared in the library's one grammar
//! ([`mmiodrv::command`]) and parsed by its one parser. clap only draws
//! help, completions and man pages from the same declarations (`help.rs`).

pub mod help;

use std::path::PathBuf;

use mmiodrv::backend::BackendKind;
use mmiodrv::command::{self, Arg, Args, Command, Grammar, Invocation, Scope, Value};
use mmiodrv::error::Result;
use mmiodrv::pci::filter::{Filter, IdFilter, SlotFilter};

/// The heading global options stand under in help.
pub const GLOBAL_HEADING: &str = "Global options";

fn check_slot(s: &str) -> Result<()> {
    SlotFilter::parse(s).map(drop)
}

fn check_ids(s: &str) -> Result<()> {
    IdFilter::parse(s).map(drop)
}

fn check_host(s: &str) -> Result<()> {
    mmiodrv::remote::Host::parse(s).map(drop)
}

/// Options every command takes, anywhere on the command line.
pub const GLOBALS: &[Arg] = &[
    Arg::option(
        "device",
        Value::Text,
        "Device: DDDD:BB:DD.F, BB:DD.F, or VVVV:DDDD vendor:device IDs (must match one device); file:PATH, an \
         ivshmem shared-memory file on the host; or sim:MAP, a device simulated from a register map (any format \
         --regmap takes)",
    )
    .env("MMIODRV_DEVICE")
    .value_name("DEV"),
    Arg::option(
        "slot",
        Value::Checked(check_slot, "SLOT"),
        "Select by slot as lspci -s does: [[DOMAIN:]BUS:][DEV][.[FUNC]], parts omitted or * (any). Filters \
         `list`; other commands need one match",
    )
    .short('s')
    .conflicts(&["device"]),
    Arg::option(
        "ids",
        Value::Checked(check_ids, "IDS"),
        "Select by IDs as lspci -d does: [VENDOR]:[DEVICE][:CLASS[:PROGIF]], parts omitted or * (any). Filters \
         `list`; other commands need one match",
    )
    .short('d')
    .conflicts(&["device"]),
    Arg::option(
        "backend",
        Value::Choice(&["auto", "vfio", "uio", "sysfs"]),
        "How to reach the device: auto (by the bound driver), vfio, uio or sysfs",
    )
    .default("auto")
    .value_name("KIND"),
    Arg::flag(
        "force",
        "Touch BARs even when another kernel driver owns the device or decoding is off; skip the device's \
         access-width rules for raw offsets; override in-use refusals",
    ),
    Arg::flag("json", "Print JSON: one object per result, each with its \"op\" (schema: docs/json.md)"),
    Arg::option(
        "state",
        Value::Path,
        "A simulated device's state file (--device sim:MAP): read at start and rewritten after every change, so \
         a sequence of commands sees its own writes",
    ),
    Arg::count(
        "verbose",
        "lspci's verbosity: info prints as lspci -v, -vv or -vvv (default: as -vvv); list --tree names devices with -v",
    )
    .short('v'),
    Arg::option(
        "log",
        Value::Choice(&["error", "warn", "info", "debug", "trace"]),
        "Log messages on stderr from this level on (default warn); RUST_LOG overrides",
    )
    .value_name("LEVEL"),
    Arg::option(
        "dump-file",
        Value::Path,
        "Read the devices from an lspci -x/-xxx/-xxxx dump (or mmiodrv config's output) instead of this machine, as \
         lspci -F does: for list, info, config, config read and setpci",
    )
    .short('F')
    .value_name("FILE"),
    Arg::option(
        "trace",
        Value::Path,
        "Record every register access the command makes in FILE (JSON lines; `mmiodrv trace show FILE` prints \
         it, `mmiodrv replay FILE` replays it)",
    ),
    Arg::flag("version", "Print the version").short('V'),
    Arg::option(
        "host",
        Value::Checked(check_host, "HOST"),
        "Run the command on this machine over ssh ([USER@]HOST[:PORT]: a name of your ssh config, a host name or \
         an address), with the same output; repeated, on each in parallel, every result labelled with its host \
         (docs/remote.md)",
    )
    .many()
    .env("MMIODRV_HOST")
    .value_name("HOST"),
    Arg::option("hosts", Value::Path, "Run the command on every host of FILE (one [USER@]HOST[:PORT] a line), in parallel")
        .value_name("FILE"),
    Arg::flag("no-copy", "With --host: fail on a host that has no mmiodrv of this version, rather than copy this one there"),
    Arg::flag(
        "write-to-all-hosts",
        "With several hosts: let a command or script that writes (registers, bindings, drivers' commands) run on every one",
    ),
];

/// The global options, typed.
#[derive(Debug, Clone, Default)]
pub struct Global {
    /// `--device` (or MMIODRV_DEVICE, or what -s/-d selected).
    pub device: Option<String>,
    /// `-s`.
    pub slot: Option<SlotFilter>,
    /// `-d`.
    pub ids: Option<IdFilter>,
    /// `--backend`.
    pub backend: BackendKind,
    /// `--force`.
    pub force: bool,
    /// `--json`.
    pub json: bool,
    /// `--state`.
    pub state: Option<PathBuf>,
    /// `-v` count: lspci's verbosity.
    pub verbose: u8,
    /// `--log`.
    pub log: Option<String>,
    /// `-F`.
    pub dump_file: Option<PathBuf>,
    /// `--trace`.
    pub trace: Option<PathBuf>,
}

impl Global {
    /// The globals of parsed arguments (every value was checked by the parser).
    pub fn from_args(args: &Args) -> Result<Global> {
        let given_device = args.given("device");
        let slot = args.opt_text("slot").map(SlotFilter::parse).transpose()?;
        let ids = args.opt_text("ids").map(IdFilter::parse).transpose()?;
        // -s/-d override $MMIODRV_DEVICE (the parser refused them with --device).
        let device = match (slot.is_some() || ids.is_some(), given_device) {
            (true, false) => None,
            _ => args.opt_text("device").map(str::to_string),
        };
        Ok(Global {
            device,
            slot,
            ids,
            backend: args.opt_text("backend").unwrap_or("auto").parse()?,
            force: args.flag("force"),
            json: args.flag("json"),
            state: args.opt_path("state").map(PathBuf::from),
            verbose: args.count("verbose"),
            log: args.opt_text("log").map(str::to_string),
            dump_file: args.opt_path("dump-file").map(PathBuf::from),
            trace: args.opt_path("trace").map(PathBuf::from),
        })
    }

    /// The `-s`/`-d` filter (empty when neither is given).
    pub fn filter(&self) -> Filter {
        Filter { slot: self.slot, ids: self.ids }
    }
}

static PROGRAM: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// The program's name as it was run (`mmiodrv`, or a driver crate's own
/// binary: `blinky`): the name help, completions and man pages give it.
pub fn program() -> &'static str {
    PROGRAM.get().map_or("mmiodrv", String::as_str)
}

/// Name the program after `argv0`'s file name (`mmiodrv` when it has none
/// that is a plain word).
pub fn set_program(argv0: Option<&std::ffi::OsStr>) {
    let name = argv0
        .and_then(|a| std::path::Path::new(a).file_name())
        .and_then(|n| n.to_str())
        .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .unwrap_or("mmiodrv");
    let _ = PROGRAM.set(name.to_string());
}

static TREE: std::sync::OnceLock<Vec<&'static Command>> = std::sync::OnceLock::new();

/// Every top-level command of the command line: the program's own
/// (`program`, given once by `main`), the library's register operations,
/// each driver's group and top-level commands.
pub fn tree_with(program: &'static [Command]) -> &'static [&'static Command] {
    TREE.get_or_init(|| {
        let mut all: Vec<&'static Command> = program.iter().collect();
        all.extend(mmiodrv::session::COMMANDS.iter());
        for d in mmiodrv::drivers::installed() {
            all.push(&d.command);
            all.extend(d.top_level.iter());
        }
        all
    })
}

/// The tree [`tree_with`] made (empty before).
pub fn tree() -> &'static [&'static Command] {
    TREE.get().map_or(&[], Vec::as_slice)
}

/// Parse a command line (without the program's name).
pub fn parse(words: &[&str], tree: &[&'static Command]) -> Result<Invocation> {
    command::parse(&Grammar { commands: tree, globals: GLOBALS, scope: Scope::Session }, words)
}

/// `mmiodrv --version`: the crate version and the git commit it was built from.
pub const VERSION: &str = mmiodrv::remote::VERSION;

/// Environment variables the program reads, for help and man pages.
pub const ENVIRONMENT: &[(&str, &str)] = &[
    ("MMIODRV_DEVICE", "the device when --device, -s and -d are not given"),
    ("MMIODRV_HOST", "the host when --host is not given (docs/remote.md)"),
    ("MMIODRV_SSH", "the ssh command for --host (default ssh; e.g. `ssh -F FILE`)"),
    ("MMIODRV_REMOTE_BINARY", "the static build --host copies to a host with no mmiodrv of this version"),
    ("MMIODRV_REMOTE_HOST", "set by --host for the far side: the host its errors name (not for users)"),
    ("MMIODRV_REMOTE_FRAMED", "set by --host for the far side: output as frames on the channel (not for users)"),
    ("MMIODRV_REMOTE_TTY", "set by --host for the far side: the near side's output is a terminal (not for users)"),
    ("MMIODRV_REMOTE_SCRIPT", "set by --host for the far side: batch FILE's script comes on stdin (not for users)"),
    ("MMIODRV_SYSFS_ROOT", "another sysfs tree (tests use fake ones)"),
    ("MMIODRV_PCI_IDS", "another pci.ids file"),
    ("MMIODRV_STATE_DIR", "where bind remembers previous drivers (default /run/mmiodrv)"),
    ("MMIODRV_PROC_ROOT", "another /proc for the in-use checks (mounts, swaps)"),
    (
        "MMIODRV_LOCK_DIR",
        "where device locks are taken (default /run/lock/mmiodrv; only root and group mmiodrv may write it)",
    ),
    ("MMIODRV_BIND_TIMEOUT_MS", "how long bind and unbind wait for the kernel (default 5000)"),
    ("MMIODRV_UDEV_ROOT", "tests: a directory standing for / in `udev` (its dev/, etc/mmiodrv/devices, etc/group)"),
    ("MMIODRV_FAKE_SYSFS_ONLY", "tests: abort rather than touch a real device (set with a fake MMIODRV_SYSFS_ROOT)"),
    ("MMIODRV_HISTORY", "the shell's history file (default $XDG_STATE_HOME/mmiodrv/history)"),
    ("MMIODRV_PYTHON", "the Python that runs the SystemRDL compiler for .rdl maps"),
    ("MMIODRV_MODULES_DIR", "the kernel modules directory info -k looks aliases up in (default /lib/modules/RELEASE)"),
    ("RUST_LOG", "log filter (overrides --log)"),
];
