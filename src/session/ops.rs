//! The register operations: their declarations in the one grammar
//! ([`COMMANDS`]) and the typed [`Op`] each becomes ([`Op::from_args`]).

use std::time::Duration;

use crate::backend::IrqKind;
use crate::command::{Arg, Args, Command, Run, Value};
use crate::error::{Error, Result};
use crate::mmio::Width;
use crate::value::Operand;

/// Where a register operation goes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct At {
    /// `REG`, `REG.FIELD` or an offset.
    pub target: String,
    /// Width for raw offsets.
    pub width: Option<Width>,
    /// BAR (default: the map's).
    pub bar: Option<u8>,
}

/// A wait for interrupts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IrqWait {
    /// The mechanism, when arming here (default: the best the device has).
    pub kind: Option<IrqKind>,
    /// Only this vector counts.
    pub vector: Option<u32>,
    /// Give up after this long.
    pub timeout: Duration,
    /// How many to wait for.
    pub count: u32,
}

/// One operation of a session.
#[derive(Clone, Debug)]
pub enum Op {
    /// Read a register, field or offset.
    Read(At),
    /// Write one; `verify` reads it back; `irq` arms before the write and
    /// waits after it.
    Write {
        /// Where.
        at: At,
        /// The value: a number, or a name of the field's values
        /// ([`crate::session::Session::prepare`] makes it a number).
        value: Operand,
        /// Read back and fail if it did not stick.
        verify: bool,
        /// Arm interrupts before the write and wait for them after it.
        irq: Option<IrqWait>,
    },
    /// Read until `(value & mask) == expected`, or time out.
    Poll {
        /// Where.
        at: At,
        /// The value waited for (a number or a name, as for `Write`).
        expected: Operand,
        /// Bits compared (default: all).
        mask: Option<u64>,
        /// Give up after this long.
        timeout: Duration,
    },
    /// Read once; fail unless `(value & mask) == expected`.
    Expect {
        /// Where.
        at: At,
        /// The value required (a number or a name, as for `Write`).
        expected: Operand,
        /// Bits compared (default: all).
        mask: Option<u64>,
    },
    /// Arm interrupts now (a session arms at its first wait otherwise).
    Arm {
        /// The mechanism (default: the best the device has).
        kind: Option<IrqKind>,
    },
    /// Wait for interrupts.
    WaitIrq(IrqWait),
    /// Do nothing for a while.
    Sleep(Duration),
    /// Every register of a BAR's map (or the named ones); a BAR without a
    /// map is hexdumped.
    Dump {
        /// BAR (default: the map's).
        bar: Option<u8>,
        /// Read write-only and side-effect registers too.
        all: bool,
        /// Only these registers (all when empty).
        registers: Vec<String>,
        /// Mark the registers whose value left the map's reset value.
        diff_reset: bool,
    },
    /// Raw 32-bit words of a BAR.
    Hexdump {
        /// BAR (default: the map's).
        bar: Option<u8>,
        /// First byte (default 0).
        offset: Option<u64>,
        /// Bytes (default: [`crate::window::DEFAULT_HEXDUMP_LEN`], to the BAR's end).
        len: Option<u64>,
    },
    /// Text, as given.
    Echo(String),
    /// Allocate a DMA buffer that lives until the session ends.
    DmaAlloc {
        /// Bytes.
        size: u64,
        /// IOVA (default: the lowest free one from [`super::FIRST_IOVA`]).
        iova: Option<u64>,
        /// The device's DMA mask (default 64 bits).
        mask_bits: Option<u32>,
    },
    /// Put bytes into a DMA buffer.
    DmaWrite {
        /// Buffer (the number `dma alloc` printed).
        buffer: usize,
        /// Offset in it.
        offset: u64,
        /// The bytes.
        data: Vec<u8>,
    },
    /// Read bytes of a DMA buffer.
    DmaRead {
        /// Buffer.
        buffer: usize,
        /// Offset in it.
        offset: u64,
        /// How many.
        len: u64,
    },
    /// The process's mappings of the BARs and DMA buffers this session
    /// opened so far, as `/proc/self/maps` shows them.
    Maps,
    /// A driver's command (`edu factorial 10`).
    Driver {
        /// The command declaration.
        command: &'static Command,
        /// Its path (`edu factorial`): the `op` of its results.
        path: String,
        /// Its parsed arguments.
        args: Args,
    },
}

/// What a command line, a script's line or a Python call asks: an
/// operation, and how its result is shown.
#[derive(Clone, Debug)]
pub struct Request {
    /// The operation.
    pub op: Op,
    /// Show only the value (`--quiet`).
    pub quiet: bool,
}

impl Op {
    /// The operation the command at `path` (one of [`COMMANDS`], or a
    /// driver's command) asks for with `args`, checked as far as it can be
    /// without the device.
    pub fn from_args(path: &[&'static Command], args: &Args) -> Result<Request> {
        let Some(command) = path.last().copied() else { return Err(Error::syntax("empty line")) };
        let names: Vec<&str> = path.iter().map(|c| c.name).collect();
        if let Run::Call(_) = command.run {
            return Ok(Request { op: Op::Driver { command, path: names.join(" "), args: args.clone() }, quiet: false });
        }
        let at = || -> Result<At> {
            Ok(At {
                target: args.text("TARGET")?.to_string(),
                width: args.opt_width("width"),
                bar: args.opt_bar("bar"),
            })
        };
        // A name is a value of a field: a raw offset takes numbers only.
        let operand = || -> Result<Operand> {
            let value = args.operand("VALUE")?;
            let target = args.text("TARGET")?;
            if let (Operand::Name(name), true) = (&value, target.starts_with(|c: char| c.is_ascii_digit())) {
                let why = format!("{target} is a raw offset: give a number (names are values of a map's fields)");
                return Err(Error::invalid(name.as_str(), why));
            }
            Ok(value)
        };
        let wait = |timeout: &str| -> Result<IrqWait> {
            Ok(IrqWait {
                kind: irq_kind(args)?,
                vector: args.opt_u32("vector")?,
                timeout: args.opt_millis(timeout).unwrap_or(DEFAULT_TIMEOUT),
                count: args.opt_u32("count")?.unwrap_or(1),
            })
        };
        let op = match names.as_slice() {
            ["read"] => Op::Read(at()?),
            ["write"] => Op::Write {
                at: at()?,
                value: operand()?,
                verify: args.flag("verify"),
                irq: args.flag("wait-irq").then(|| wait("timeout")).transpose()?,
            },
            ["poll"] => Op::Poll {
                at: at()?,
                expected: operand()?,
                mask: args.opt_int("mask"),
                timeout: args.millis("timeout")?,
            },
            ["expect"] => Op::Expect { at: at()?, expected: operand()?, mask: args.opt_int("mask") },
            ["arm"] => Op::Arm { kind: irq_kind(args)? },
            ["wait-irq"] => Op::WaitIrq(wait("timeout")?),
            ["sleep"] => Op::Sleep(args.millis("MS")?),
            ["dump-regs"] if args.given("offset") || args.given("len") => {
                if !args.list("REGISTER").is_empty() {
                    return Err(Error::syntax("--offset and --len hexdump the BAR: name no registers with them"));
                }
                if let Some(len) = args.opt_int("len").filter(|l| *l > MAX_HEXDUMP_LEN) {
                    return Err(Error::invalid(
                        format!("{len:#x} bytes"),
                        format!("a hexdump shows at most {MAX_HEXDUMP_LEN:#x} bytes (16 MiB): dump a smaller span, or several"),
                    ));
                }
                Op::Hexdump { bar: args.opt_bar("bar"), offset: args.opt_int("offset"), len: args.opt_int("len") }
            }
            ["dump-regs"] => Op::Dump {
                bar: args.opt_bar("bar"),
                all: args.flag("all"),
                registers: args.list("REGISTER").to_vec(),
                diff_reset: args.flag("diff-reset"),
            },
            ["echo"] => Op::Echo(args.list("TEXT").join(" ")),
            ["dma", "alloc"] => Op::DmaAlloc {
                size: args.int("SIZE")?,
                iova: args.opt_int("iova"),
                mask_bits: args.opt_u32("mask-bits")?,
            },
            ["dma", "write"] => Op::DmaWrite {
                buffer: args.int("buffer")? as usize,
                offset: args.int("OFFSET")?,
                data: match (args.opt_text("hex"), args.opt_text("string")) {
                    (Some(h), None) => crate::value::parse_hex_bytes(h)?,
                    (None, Some(s)) => s.as_bytes().to_vec(),
                    _ => return Err(Error::syntax("dma write: give the bytes with --hex or --string")),
                },
            },
            ["dma", "read"] => {
                Op::DmaRead { buffer: args.int("buffer")? as usize, offset: args.int("OFFSET")?, len: args.int("LEN")? }
            }
            ["maps"] => Op::Maps,
            _ => return Err(Error::invalid(names.join(" "), "not an operation")),
        };
        Ok(Request { op, quiet: args.flag("quiet") })
    }

    /// Whether it may wait (a poll, a sleep, interrupts, a driver's command):
    /// a front end lets signals stop it cleanly rather than kill it.
    pub fn waits(&self) -> bool {
        matches!(
            self,
            Op::Poll { .. }
                | Op::WaitIrq(_)
                | Op::Sleep(_)
                | Op::Driver { .. }
                | Op::Write { irq: Some(_), .. }
                | Op::DmaAlloc { .. }
        )
    }

    /// Whether it changes the device (a single access shares the device
    /// with other processes' single accesses; a multi-step one does not).
    pub fn multi_step(&self) -> bool {
        matches!(self, Op::Driver { .. } | Op::DmaAlloc { .. } | Op::DmaWrite { .. } | Op::DmaRead { .. })
    }
}

fn irq_kind(args: &Args) -> Result<Option<IrqKind>> {
    args.opt_text("index").map(str::parse).transpose()
}

/// How long a wait lasts by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(5000);

/// Most bytes one hexdump (`dump-regs --len`) reads: its words are held
/// and printed whole.
pub const MAX_HEXDUMP_LEN: u64 = 16 << 20;

// ---- the grammar of the operations

const TARGET: Arg = Arg::positional("TARGET", Value::Text, "REG, REG.FIELD or an offset (0x.., 0b.., decimal)");
const WIDTH: Arg = Arg::option("width", Value::Width, "Access width in bits for a raw offset (default 32)");
const BAR: Arg = Arg::option(
    "bar",
    Value::Bar,
    "BAR to access, or config: config space by register and field name (EXP.LNKSTA.CLS) or offset (default: the map's BAR, else 0)",
);
const QUIET: Arg = Arg::flag("quiet", "Print only the value").short('q');
const VALUE: Arg = Arg::positional(
    "VALUE",
    Value::BitsOrName(64),
    "Value: 0x.., 0b.. or decimal, range-checked against the width or field; or the name of one of the field's values (fast)",
);
const MASK: Arg = Arg::option("mask", Value::Bits(64), "Compare only these bits");
const TIMEOUT: Arg =
    Arg::option("timeout", Value::Millis, "Give up after this many milliseconds (exit status 8)").default("5000");
const INDEX: Arg = Arg::option(
    "index",
    Value::Choice(&["intx", "msi", "msix"]),
    "Interrupt mechanism: intx, msi or msix (default: MSI-X, else MSI, else INTx, as the device has)",
)
.value_name("KIND");
const VECTOR: Arg =
    Arg::option("vector", Value::Bits(32), "Only this vector counts (others are reported and waited past)");
const COUNT: Arg = Arg::option(
    "count",
    Value::Bits(32),
    "Number of interrupts to wait for (on --vector, if given; interrupts that fired before a wait count one each)",
)
.default("1");

/// Options that choose the register map and the mapping: they apply to a
/// whole session (a one-shot command, a batch run, a shell, a Python device).
pub const MAP_ARGS: [Arg; 3] = [
    Arg::option(
        "regmap",
        Value::Path,
        "Register map file (format: docs/regmap-format.md). Default: the built-in map of a known device",
    )
    .session(),
    Arg::option(
        "block",
        Value::Text,
        "The block of a map file with several (IP-XACT address block, SVD peripheral, SystemRDL sub-addrmap, LiteX CSR region)",
    )
    .session(),
    Arg::flag("wc", "Use the write-combining mapping of a prefetchable BAR (resourceN_wc)").session(),
];

/// The register operations, in the one grammar: one-shot commands, script
/// and shell lines, the pipe protocol and Python all take them.
pub static COMMANDS: [Command; 11] = [
    Command::new("read", "Read a register, a field (REG.FIELD) or an offset", Run::Op)
        .args(&[TARGET, WIDTH, BAR, QUIET, MAP_ARGS[0], MAP_ARGS[1], MAP_ARGS[2]])
        .examples(&[
            ("mmiodrv -s 00:04.0 read ID", "by name, with its fields decoded"),
            ("mmiodrv -s 00:04.0 read ID.MAJOR --quiet", "one field, only the value"),
            ("mmiodrv -s 00:05.0 read 0x10 --bar 2 --width 64", "a raw 64-bit read"),
        ]),
    Command::new("write", "Write a register, a field (changing no other field) or an offset", Run::Op)
        .args(&[
            TARGET,
            VALUE,
            WIDTH,
            BAR,
            Arg::flag("verify", "Read back after the write and fail (exit 6) when the value did not stick"),
            Arg::flag("quiet", "Print only the value (the read-back value with --verify)").short('q'),
            Arg::flag(
                "wait-irq",
                "Arm interrupts before the write and wait for one after it, in this process (a VFIO group can be open in only one process at a time)",
            ),
            INDEX.requires(&["wait-irq"]),
            VECTOR.requires(&["wait-irq"]),
            Arg::option("timeout", Value::Millis, "Give up waiting after this many milliseconds (exit status 8)")
                .requires(&["wait-irq"]),
            MAP_ARGS[0],
            MAP_ARGS[1],
            MAP_ARGS[2],
        ])
        .examples(&[
            ("mmiodrv -s 00:04.0 write LIVENESS 0x12345678 --verify", "write, read back, fail if it did not stick"),
            ("mmiodrv -s 00:04.0 write STATUS.IRQ_FACT 1", "read-modify-write of one field"),
            ("mmiodrv -s 00:04.0 write DMA_CMD.DIRECTION 'device to RAM'", "a field's value by its name in the map"),
            ("mmiodrv -s 00:04.0 write IRQ_RAISE 1 --wait-irq --timeout 500", "write, then wait for the interrupt"),
        ]),
    Command::new("poll", "Read until TARGET reads VALUE (under --mask), or time out (exit status 8)", Run::Op)
        .args(&[TARGET, VALUE, MASK, TIMEOUT, WIDTH, BAR, QUIET, MAP_ARGS[0], MAP_ARGS[1], MAP_ARGS[2]])
        .examples(&[
            ("mmiodrv -s 00:04.0 poll STATUS.COMPUTING 0 --timeout 100", "wait for a field to clear"),
            ("mmiodrv -s 00:04.0 poll STATUS.COMPUTING idle --timeout 100", "the same, by the value's name"),
        ]),
    Command::new("expect", "Fail (exit status 6) unless TARGET reads VALUE (under --mask)", Run::Op)
        .args(&[TARGET, VALUE, MASK, WIDTH, BAR, QUIET, MAP_ARGS[0], MAP_ARGS[1], MAP_ARGS[2]])
        .examples(&[("mmiodrv -s 00:04.0 expect ID 0x010000ed", "exit 6 unless ID reads that")]),
    Command::new("dump-regs", "Dump registers by name (known device or --regmap), or hexdump a BAR", Run::Op)
        .aliases(&["dump"])
        .args(&[
            Arg::positional("REGISTER", Value::Text, "Only these registers, read even if a dump would skip them")
                .many()
                .optional(),
            Arg::flag("all", "Also read write-only registers and registers whose read has side effects"),
            Arg::flag("diff-reset", "Mark the registers whose value differs from the map's reset value"),
            Arg::option("offset", Value::Size, "Hexdump start offset (implies a raw hexdump)"),
            Arg::option("len", Value::Size, "Hexdump length in bytes, K/M suffixes allowed (implies a raw hexdump)"),
            BAR,
            MAP_ARGS[0],
            MAP_ARGS[1],
            MAP_ARGS[2],
        ])
        .examples(&[
            ("mmiodrv -s 00:04.0 dump-regs", "every readable register of the built-in map, decoded"),
            ("mmiodrv -s 00:05.0 dump-regs --bar 2 --len 64", "hexdump of BAR2 in 32-bit reads"),
            ("mmiodrv --device sim:edu.svd dump-regs --diff-reset", "a simulated device, values that left their reset"),
        ]),
    Command::new("wait-irq", "Wait for interrupts (VFIO: INTx, MSI, MSI-X; UIO: INTx)", Run::Op)
        .args(&[INDEX, VECTOR, TIMEOUT, COUNT])
        .examples(&[
            ("mmiodrv -s 00:04.0 wait-irq --timeout 1000", "one interrupt of the best kind the device has"),
            ("mmiodrv -s 00:05.0 wait-irq --index msix --vector 1 --count 3", "three on MSI-X vector 1"),
        ]),
    Command::new("arm", "Arm interrupts now (a script arms before its first line when it waits for any)", Run::Op)
        .args(&[INDEX])
        .examples(&[("arm --index msi", "in a script: arm MSI before the first line runs")]),
    Command::new("sleep", "Do nothing for MS milliseconds", Run::Op)
        .args(&[Arg::positional("MS", Value::Millis, "Milliseconds")])
        .examples(&[("sleep 10", "in a script: wait 10 ms")]),
    Command::new("echo", "Print the rest of the line", Run::Op)
        .args(&[Arg::positional("TEXT", Value::Text, "The text").trailing().optional()])
        .examples(&[("echo step 2 done", "in a script: a marker in the output")]),
    Command::group(
        "dma",
        "DMA buffers that live for the whole session (VFIO): allocate, fill, read",
        &[
            Command::new("alloc", "Allocate SIZE bytes mapped for the device; prints the buffer's number and IOVA", Run::Op)
                .args(&[
                    Arg::positional("SIZE", Value::Size, "Bytes (K/M suffixes allowed)"),
                    Arg::option("iova", Value::Bits(64), "IOVA: page-aligned (default: the lowest free one from 0x200000)"),
                    Arg::option("mask-bits", Value::Bits(7), "The device's DMA mask in bits (default 64; edu's is 28)")
                        .value_name("BITS"),
                ])
                .examples(&[("dma alloc 4K --mask-bits 28", "in a script: one page edu can reach")]),
            Command::new("write", "Put bytes into a buffer at OFFSET", Run::Op)
                .args(&[
                    Arg::positional("OFFSET", Value::Size, "Offset in the buffer"),
                    Arg::option("hex", Value::Text, "Bytes in hex, first byte first (\"deadbeef\", \"de ad be ef\")")
                        .conflicts(&["string"]),
                    Arg::option("string", Value::Text, "UTF-8 text"),
                    Arg::option("buffer", Value::Bits(32), "Which buffer (default 0)").default("0"),
                ])
                .examples(&[("dma write 0 --string hello", "in a script: text at the start of buffer 0")]),
            Command::new("read", "Hexdump LEN bytes of a buffer from OFFSET", Run::Op)
                .args(&[
                    Arg::positional("OFFSET", Value::Size, "Offset in the buffer"),
                    Arg::positional("LEN", Value::Size, "Number of bytes"),
                    Arg::option("buffer", Value::Bits(32), "Which buffer (default 0)").default("0"),
                ])
                .examples(&[("dma read 0 16", "in a script: the first 16 bytes of buffer 0")]),
        ],
    ),
    Command::new(
        "maps",
        "This process's mappings of the BARs and DMA buffers opened so far (/proc/self/maps, with VmFlags)",
        Run::Op,
    )
    .examples(&[("maps", "in a script: how each BAR and DMA buffer is mapped")]),
];
