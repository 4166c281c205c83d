//! The one output model: every result of every operation is an [`Outcome`],
//! a typed value. Front ends render it (text for a person, one JSON object
//! per result for a program) in one place each; the JSON object is the
//! payload's own fields with `"op"` naming the command that made it.
//!
//! JSON spellings are the same for every command: bits of a field as `lsb`
//! and `msb`, durations as integers with their unit in the key
//! (`elapsed_us`, `duration_ms`), sizes and lengths as `len`.

use std::path::PathBuf;

use serde::Serialize;

use crate::backend::{IrqEvent, IrqKind};
use crate::command::Report;
use crate::error::{DeviceRef, Error, ErrorClass, ErrorKind, PciError, RemoteError};
use crate::procmaps::ProcMapping;
use crate::window::{AccessReport, DumpedRegister};

/// The version of the JSON output (docs/json.md, docs/json-schema.json):
/// every object printed starts with `"schema": SCHEMA_VERSION`. Raised when
/// a field changes meaning or goes away; new fields keep it.
pub const SCHEMA_VERSION: u32 = 2;

/// The `op` of each register operation's results: the path of its command
/// in [`crate::session::COMMANDS`] (and `error` for an error).
pub mod op {
    /// `read`.
    pub const READ: &str = "read";
    /// `write`.
    pub const WRITE: &str = "write";
    /// `poll`.
    pub const POLL: &str = "poll";
    /// `expect`.
    pub const EXPECT: &str = "expect";
    /// `arm`.
    pub const ARM: &str = "arm";
    /// `wait-irq`.
    pub const WAIT_IRQ: &str = "wait-irq";
    /// `sleep`.
    pub const SLEEP: &str = "sleep";
    /// `dump-regs` (and its alias `dump`).
    pub const DUMP_REGS: &str = "dump-regs";
    /// `echo`.
    pub const ECHO: &str = "echo";
    /// `dma alloc`.
    pub const DMA_ALLOC: &str = "dma alloc";
    /// `dma write`.
    pub const DMA_WRITE: &str = "dma write";
    /// `dma read`.
    pub const DMA_READ: &str = "dma read";
    /// `maps`.
    pub const MAPS: &str = "maps";
    /// An error ([`super::ErrorReport`]).
    pub const ERROR: &str = "error";
}

/// The exit status a front end reports for an error of `class`
/// (docs/commands.md, "Exit codes"): the command line exits with it, an
/// error object's `exit` says it, and so does Python's `Error.exit_code`.
pub const fn exit_code(class: ErrorClass) -> i32 {
    match class {
        ErrorClass::Usage => 2,
        ErrorClass::NotFound => 3,
        ErrorClass::Permission => 4,
        ErrorClass::Io => 5,
        ErrorClass::Refused => 6,
        ErrorClass::InvalidMap => 7,
        ErrorClass::Timeout => 8,
        ErrorClass::Released => 9,
        ErrorClass::Interrupted => 130,
        ErrorClass::Findings => 10,
        ErrorClass::Disconnected => 11,
        ErrorClass::Unreachable => 12,
    }
}

/// The exit status for `e`: its class's ([`exit_code`]), except that an
/// interruption is 128 + the signal's number, as shells report it (SIGINT
/// 130, SIGTERM 143, SIGHUP 129), setpci's own errors are 1 as setpci's are,
/// and a remote host's error keeps the status it had there.
pub fn exit_status(e: &Error) -> i32 {
    match e.kind() {
        ErrorKind::Pci(PciError::Setpci { .. }) => 1,
        ErrorKind::Interrupted { signal, .. } => {
            signal.parse::<nix::sys::signal::Signal>().map_or(exit_code(e.class()), |s| 128 + s as i32)
        }
        ErrorKind::Remote(RemoteError::Reported { exit, .. }) => *exit,
        _ => exit_code(e.class()),
    }
}

/// An error as one JSON object, `op` `error`: what a front end prints on
/// stdout with `--json` (after its one line on stderr), for a command that
/// failed or a script's line that did.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ErrorReport {
    /// The message, as the line on stderr says it (without `mmiodrv: error: `).
    pub error: String,
    /// Its class.
    pub class: ErrorClass,
    /// The exit status it gives.
    pub exit: i32,
    /// The device it concerns, if any.
    pub device: Option<String>,
    /// How to fix it, if the cause is known.
    pub fix: Option<String>,
    /// The remote host it happened on or concerns (`--host`), as given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The script it happened in (`-`: standard input), for a script's line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The script's line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// What the script's line made before it failed (a verified write that
    /// did not stick): a line of a script is one object.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub results: Vec<serde_json::Value>,
}

/// A script checked and not run (`batch --check`): every line parsed and
/// checked against the device.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ScriptChecked {
    /// The script (`-`: standard input).
    pub file: String,
    /// Operations it would run (a repeated line counts each time).
    pub operations: usize,
    /// `true`.
    pub checked: bool,
}

/// One result.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// A register, field or offset read.
    Read(AccessReport),
    /// A register, field or offset written (and read back, when verified).
    Write(AccessReport),
    /// A poll that saw its value.
    Poll(Polled),
    /// A value as expected.
    Expect(AccessReport),
    /// Interrupts armed.
    Arm(Armed),
    /// Interrupts that fired.
    WaitIrq(Fired),
    /// A wait that ended.
    Sleep(Slept),
    /// A register map's registers read.
    DumpRegs(Dump),
    /// A BAR's raw words.
    Hexdump(Hexdump),
    /// Text, as given.
    Echo(Echo),
    /// A DMA buffer allocated.
    DmaAlloc(DmaAllocated),
    /// Bytes put into a DMA buffer.
    DmaWrite(DmaWritten),
    /// Bytes of a DMA buffer.
    DmaRead(DmaBytes),
    /// The mappings a session made.
    Maps(Maps),
    /// A result of a driver's command (`op`: its path, `edu factorial`).
    Report {
        /// The command's path.
        op: String,
        /// Its JSON and text.
        report: Report,
    },
}

impl Outcome {
    /// The `op` of its JSON object: the name of the command that made it.
    pub fn op(&self) -> &str {
        match self {
            Outcome::Read(_) => op::READ,
            Outcome::Write(_) => op::WRITE,
            Outcome::Poll(_) => op::POLL,
            Outcome::Expect(_) => op::EXPECT,
            Outcome::Arm(_) => op::ARM,
            Outcome::WaitIrq(_) => op::WAIT_IRQ,
            Outcome::Sleep(_) => op::SLEEP,
            Outcome::DumpRegs(_) | Outcome::Hexdump(_) => op::DUMP_REGS,
            Outcome::Echo(_) => op::ECHO,
            Outcome::DmaAlloc(_) => op::DMA_ALLOC,
            Outcome::DmaWrite(_) => op::DMA_WRITE,
            Outcome::DmaRead(_) => op::DMA_READ,
            Outcome::Maps(_) => op::MAPS,
            Outcome::Report { op, .. } => op,
        }
    }

    /// Its payload as JSON object text (`{...}`, without `schema` and
    /// `op`); `None` for a result with nothing for a program (a driver's
    /// text-only line).
    pub fn payload_json(&self) -> Option<String> {
        let text = match self {
            Outcome::Read(a) | Outcome::Write(a) | Outcome::Expect(a) => serde_json::to_string(a),
            Outcome::Poll(p) => serde_json::to_string(p),
            Outcome::Arm(a) => serde_json::to_string(a),
            Outcome::WaitIrq(f) => serde_json::to_string(f),
            Outcome::Sleep(s) => serde_json::to_string(s),
            Outcome::DumpRegs(d) => serde_json::to_string(d),
            Outcome::Hexdump(h) => serde_json::to_string(h),
            Outcome::Echo(e) => serde_json::to_string(e),
            Outcome::DmaAlloc(b) => serde_json::to_string(b),
            Outcome::DmaWrite(w) => serde_json::to_string(w),
            Outcome::DmaRead(b) => serde_json::to_string(b),
            Outcome::Maps(m) => serde_json::to_string(m),
            Outcome::Report { report, .. } => {
                if report.json.is_null() {
                    return None;
                }
                serde_json::to_string(&report.json)
            }
        };
        // Serializing plain structs (string keys, no maps of other keys) cannot fail.
        text.ok()
    }

    /// The whole JSON object: `{"schema":N,"op":"...",...payload}`.
    pub fn json(&self, schema: u32) -> Option<String> {
        let payload = self.payload_json()?;
        let op = serde_json::to_string(self.op()).ok()?;
        let rest = payload.strip_prefix('{')?;
        let sep = if rest.starts_with('}') { "" } else { "," };
        Some(format!("{{\"schema\":{schema},\"op\":{op}{sep}{rest}"))
    }

    /// The same as a JSON value (for Python and tests).
    pub fn json_value(&self, schema: u32) -> Option<serde_json::Value> {
        serde_json::from_str(&self.json(schema)?).ok()
    }
}

/// A poll's last read, how many reads it took and for how long.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Polled {
    /// The read that matched.
    #[serde(flatten)]
    pub access: AccessReport,
    /// Reads made.
    pub reads: u64,
    /// Time from the first read to the matching one, in microseconds.
    pub elapsed_us: u64,
}

/// Interrupts armed.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Armed {
    /// The device.
    pub device: DeviceRef,
    /// The mechanism.
    pub kind: IrqKind,
    /// How many vectors.
    pub vectors: u32,
}

/// Interrupts that fired during a wait.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Fired {
    /// The device.
    pub device: DeviceRef,
    /// Each vector that fired, with how many times.
    pub interrupts: Vec<IrqEvent>,
}

/// A sleep.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Slept {
    /// How long, in milliseconds.
    pub duration_ms: u64,
}

/// Registers of a map, read (or not, with why).
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Dump {
    /// The device.
    pub device: DeviceRef,
    /// The BAR (`"config"` for config space).
    #[serde(with = "crate::pci::config_map::bar_json")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::pci::config_map::bar_json::Bar"))]
    pub bar: u8,
    /// The map's name.
    pub map: String,
    /// Where the map came from: a file, or `built-in NAME map`.
    pub map_source: String,
    /// The registers, in the map's order.
    pub registers: Vec<DumpedRegister>,
    /// Whether registers whose value left their reset are marked.
    #[serde(skip)]
    pub diff_reset: bool,
}

/// 32-bit words of a BAR.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Hexdump {
    /// The device.
    pub device: DeviceRef,
    /// The BAR (`"config"` for config space).
    #[serde(with = "crate::pci::config_map::bar_json")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::pci::config_map::bar_json::Bar"))]
    pub bar: u8,
    /// Offset of the first word.
    pub offset: u64,
    /// The words (null where one was not read).
    pub words: Vec<Option<u32>>,
}

/// Text a script printed.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Echo {
    /// The text.
    pub text: String,
}

/// A DMA buffer of a session.
#[derive(Clone, Copy, Debug, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DmaInfo {
    /// Index in the session.
    pub buffer: usize,
    /// The IOVA the device uses.
    pub iova: u64,
    /// Bytes.
    pub len: u64,
}

/// A DMA buffer allocated.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DmaAllocated {
    /// The device.
    pub device: DeviceRef,
    /// The buffer.
    #[serde(flatten)]
    pub info: DmaInfo,
}

/// Bytes put into a DMA buffer.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DmaWritten {
    /// The device.
    pub device: DeviceRef,
    /// Which buffer.
    pub buffer: usize,
    /// Offset written.
    pub offset: u64,
    /// Bytes written.
    pub len: u64,
}

/// Bytes of a DMA buffer.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DmaBytes {
    /// The device.
    pub device: DeviceRef,
    /// Which buffer.
    pub buffer: usize,
    /// Its IOVA.
    pub iova: u64,
    /// Offset read.
    pub offset: u64,
    /// The bytes, in hex.
    pub hex: String,
    /// The bytes.
    #[serde(skip)]
    pub data: Vec<u8>,
}

/// One memory area a session mapped, with the kernel's view of it.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MapEntry {
    /// `BAR0`, `DMA buffer 0`.
    pub what: String,
    /// How it was mapped: the backend (`sysfs`, `vfio`, `uio`) for a BAR,
    /// `dma` for a DMA buffer.
    pub via: String,
    /// The IOVA of a DMA buffer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iova: Option<u64>,
    /// Where it starts in this process.
    pub address: Option<u64>,
    /// Bytes.
    pub len: u64,
    /// The mapping holding it (None for a BAR reached by pread/pwrite, or
    /// mapped in several areas).
    pub mapping: Option<ProcMapping>,
}

/// The mappings of a session.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Maps {
    /// The device.
    pub device: DeviceRef,
    /// Each BAR and DMA buffer mapped so far.
    pub maps: Vec<MapEntry>,
}

/// Where a map came from, as dumps name it: the file, or `built-in NAME map`.
pub fn map_source_text(source: Option<&PathBuf>, map: &str) -> String {
    source.map(|p| p.display().to_string()).unwrap_or_else(|| format!("built-in {map} map"))
}
