//! `mmiodrv edu ...`: edu's subcommands, declared here and run by every front end.

use std::path::PathBuf;

use serde::Serialize;

use super::{Direction, DmaOptions, Edu, Liveness, DEFAULT_IOVA, DMA_BUFFER_ADDR, DMA_BUFFER_SIZE};
use mmiodrv::backend::{IrqEvent, IrqKind};
use mmiodrv::command::{Arg, Call, Command, Needs, Report, Run, Value};
use mmiodrv::error::{DeviceRef, ErrorKind, Result};
use mmiodrv::text::hexdump_lines;

const TIMEOUT: Arg =
    Arg::option("timeout", Value::Millis, "Give up after this many milliseconds (exit status 8)").default("5000");
const OFFSET: Arg = Arg::option(
    "offset",
    Value::Size,
    "Offset in edu's 4 KiB buffer at 0x40000; offset + length must not exceed 0xfff",
)
.default("0");
const IOVA: Arg = Arg::option(
    "iova",
    Value::Bits(64),
    "IOVA of the RAM buffer: page-aligned, the buffer below 2^28 (edu's DMA mask); default 0x100000",
);
const DMA_IRQ: Arg = Arg::flag("irq", "Wait for the completion interrupt (0x100) instead of polling DMA_CMD");

/// `edu id`.
const ID: Command = Command {
    name: "id",
    about: "Print the ID register: version and magic",
    args: &[],
    subcommands: &[],
    examples: &[("mmiodrv -s 00:04.0 edu id", "edu version 1.0 (ID 0x010000ed)")],
    needs: Needs::Device,
    run: Run::Call(id),
    aliases: &[],
    hidden: false,
};

/// `edu liveness`.
const LIVENESS: Command = Command {
    name: "liveness",
    about: "Write VALUE to LIVENESS and check the device returns its inverse",
    args: &[Arg::positional("VALUE", Value::Bits(32), "The value to write (32 bits)").default("0x12345678")],
    subcommands: &[],
    examples: &[("mmiodrv -s 00:04.0 edu liveness 0xdeadbeef", "reads back 0x21524110")],
    needs: Needs::Device,
    run: Run::Call(liveness),
    aliases: &[],
    hidden: false,
};

/// `edu factorial`.
const FACTORIAL: Command = Command {
    name: "factorial",
    about: "Compute N! on the device (32-bit, wrapping)",
    args: &[
        Arg::positional("N", Value::Bits(32), "The number whose factorial to compute"),
        Arg::flag("irq", "Wait for the completion interrupt instead of polling STATUS"),
        TIMEOUT,
    ],
    subcommands: &[],
    examples: &[
        ("mmiodrv -s 00:04.0 edu factorial 10", "10! by polling STATUS"),
        ("mmiodrv -s 00:04.0 edu factorial 12 --irq", "12! signalled by MSI (VFIO) or INTx (UIO)"),
    ],
    needs: Needs::Device,
    run: Run::Call(factorial),
    aliases: &[],
    hidden: false,
};

/// `edu irq raise`.
const RAISE: Command = Command {
    name: "raise",
    about: "Write VALUE to IRQ_RAISE; with --wait, arm first and wait for it in this process",
    args: &[
        Arg::positional("VALUE", Value::Bits(32), "The interrupt value to OR into IRQ_STATUS"),
        Arg::flag("wait", "Arm interrupts first, wait for the interrupt, then acknowledge VALUE"),
        Arg::option(
            "index",
            Value::Choice(&["intx", "msi", "msix"]),
            "Interrupt mechanism for --wait (default: the best the backend has)",
        ),
        TIMEOUT,
    ],
    subcommands: &[],
    examples: &[("mmiodrv -s 00:04.0 edu irq raise 0x40 --wait", "raise, wait, acknowledge")],
    needs: Needs::Device,
    run: Run::Call(raise),
    aliases: &[],
    hidden: false,
};

/// `edu irq ack`.
const ACK: Command = Command {
    name: "ack",
    about: "Write VALUE to IRQ_ACK (the line drops when IRQ_STATUS reaches 0)",
    args: &[Arg::positional("VALUE", Value::Bits(32), "The interrupt bits to clear from IRQ_STATUS")],
    subcommands: &[],
    examples: &[("mmiodrv -s 00:04.0 edu irq ack 0x40", "clear 0x40")],
    needs: Needs::Device,
    run: Run::Call(ack),
    aliases: &[],
    hidden: false,
};

/// `edu irq`.
const IRQ: Command = Command {
    name: "irq",
    about: "Raise or acknowledge interrupts",
    args: &[],
    subcommands: &[RAISE, ACK],
    examples: &[],
    needs: Needs::Device,
    run: Run::Group,
    aliases: &[],
    hidden: false,
};

/// `edu dma to-device`.
const TO_DEVICE: Command = Command {
    name: "to-device",
    about: "Copy FILE into the device buffer",
    args: &[Arg::positional("FILE", Value::Path, "The bytes to send (at most 4095)"), OFFSET, IOVA, DMA_IRQ, TIMEOUT],
    subcommands: &[],
    examples: &[("mmiodrv -s 00:04.0 edu dma to-device msg.txt --offset 0x100", "")],
    needs: Needs::Device,
    run: Run::Call(to_device),
    aliases: &[],
    hidden: false,
};

/// `edu dma from-device`.
const FROM_DEVICE: Command = Command {
    name: "from-device",
    about: "Copy --len bytes out of the device buffer: to --out FILE, or a hexdump",
    args: &[
        Arg::option("len", Value::Size, "Number of bytes to copy").required(),
        Arg::option("out", Value::Path, "Write the raw bytes to this file instead of a hexdump"),
        OFFSET,
        IOVA,
        DMA_IRQ,
        TIMEOUT,
    ],
    subcommands: &[],
    examples: &[("mmiodrv -s 00:04.0 edu dma from-device --len 29 --offset 0x100 --irq", "")],
    needs: Needs::Device,
    run: Run::Call(from_device),
    aliases: &[],
    hidden: false,
};

/// `edu dma`.
const DMA: Command = Command {
    name: "dma",
    about: "DMA between RAM and edu's 4 KiB buffer at 0x40000 (VFIO only)",
    args: &[],
    subcommands: &[TO_DEVICE, FROM_DEVICE],
    examples: &[],
    needs: Needs::Device,
    run: Run::Group,
    aliases: &[],
    hidden: false,
};

/// `edu status`.
const STATUS: Command = Command {
    name: "status",
    about: "Print STATUS and IRQ_STATUS",
    args: &[],
    subcommands: &[],
    examples: &[("mmiodrv -s 00:04.0 edu status", "idle or computing, pending interrupts")],
    needs: Needs::Device,
    run: Run::Call(status),
    aliases: &[],
    hidden: false,
};

/// edu's subcommands.
pub const COMMANDS: &[Command] = &[ID, LIVENESS, FACTORIAL, IRQ, DMA, STATUS];

/// The JSON each command reports, declared with the command.
pub fn results(r: &mut mmiodrv::schema::Results) {
    let edu = &super::DRIVER.command;
    r.add::<IdReport>(&[edu, &ID])
        .add::<LivenessReport>(&[edu, &LIVENESS])
        .add::<FactorialReport>(&[edu, &FACTORIAL])
        .add::<RaiseReport>(&[edu, &IRQ, &RAISE])
        .add::<AckReport>(&[edu, &IRQ, &ACK])
        .add::<DmaReport>(&[edu, &DMA, &TO_DEVICE])
        .add::<DmaReport>(&[edu, &DMA, &FROM_DEVICE])
        .add::<StatusReport>(&[edu, &STATUS]);
}

/// `edu id`: the ID register and its version.
#[derive(Serialize, schemars::JsonSchema)]
struct IdReport {
    /// The device.
    device: DeviceRef,
    /// The ID register.
    id: u32,
    /// Major version.
    major: u8,
    /// Minor version.
    minor: u8,
}

/// `edu liveness`: what was written and read back.
#[derive(Serialize, schemars::JsonSchema)]
struct LivenessReport {
    /// The device.
    device: DeviceRef,
    /// The check.
    #[serde(flatten)]
    liveness: Liveness,
}

/// `edu factorial`: N and N!.
#[derive(Serialize, schemars::JsonSchema)]
struct FactorialReport {
    /// The device.
    device: DeviceRef,
    /// N.
    n: u32,
    /// N! (32-bit, wrapping).
    factorial: u32,
    /// The interrupt that signalled it (`--irq`), else null.
    interrupt: Option<IrqEvent>,
}

/// `edu irq raise`: the value raised and IRQ_STATUS after.
#[derive(Serialize, schemars::JsonSchema)]
struct RaiseReport {
    /// The device.
    device: DeviceRef,
    /// The value written to IRQ_RAISE.
    raised: u32,
    /// The interrupt that arrived (`--wait` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    interrupt: Option<IrqEvent>,
    /// IRQ_STATUS: after the raise, or (`--wait`) when the interrupt arrived.
    irq_status: u32,
    /// The value acknowledged after the interrupt (`--wait` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    acknowledged: Option<u32>,
}

/// `edu irq ack`: the bits cleared and IRQ_STATUS after.
#[derive(Serialize, schemars::JsonSchema)]
struct AckReport {
    /// The device.
    device: DeviceRef,
    /// The value written to IRQ_ACK.
    acknowledged: u32,
    /// IRQ_STATUS after.
    irq_status: u32,
}

/// `edu dma to-device` and `from-device`: a transfer done.
#[derive(Serialize, schemars::JsonSchema)]
struct DmaReport {
    /// The device.
    device: DeviceRef,
    /// Which way.
    direction: Direction,
    /// Offset in edu's buffer (at 0x40000).
    offset: u64,
    /// Bytes moved.
    len: u64,
    /// The IOVA of the RAM buffer.
    iova: u64,
    /// The file the bytes went to (`from-device --out`).
    #[serde(skip_serializing_if = "Option::is_none")]
    out: Option<PathBuf>,
    /// The bytes in hex, two digits each (`from-device` without `--out`).
    #[serde(skip_serializing_if = "Option::is_none")]
    hex: Option<String>,
}

/// `edu status`: STATUS and IRQ_STATUS decoded.
#[derive(Serialize, schemars::JsonSchema)]
struct StatusReport {
    /// The device.
    device: DeviceRef,
    /// The registers.
    #[serde(flatten)]
    status: super::Status,
}

fn open<'a>(call: &Call<'a>) -> Result<Edu<'a>> {
    Edu::open(call.device()?.backend())
}

fn id(call: &mut Call<'_>) -> Result<()> {
    let edu = open(call)?;
    let name = edu.device().clone();
    let id = edu.id()?;
    let line = format!("{name}: edu version {}.{} (ID {:#010x})", id.major, id.minor, id.raw);
    call.report(Report::line(IdReport { device: name, id: id.raw, major: id.major, minor: id.minor }, line));
    Ok(())
}

fn liveness(call: &mut Call<'_>) -> Result<()> {
    let edu = open(call)?;
    let name = edu.device().clone();
    let v = call.args.int("VALUE")? as u32;
    let l = edu.liveness(v)?;
    let verdict = if l.inverted { "inverted, the device is alive" } else { "NOT the inverse" };
    let line = format!("{name}: wrote {:#010x}, read {:#010x}: {verdict}", l.wrote, l.read);
    call.report(Report::line(LivenessReport { device: name.clone(), liveness: l }, line));
    if !l.inverted {
        let why = "not the bitwise inverse of the value written";
        return Err(mmiodrv::Error::on(
            name,
            ErrorKind::UnexpectedValue { register: "LIVENESS", value: l.read.into(), why },
        ));
    }
    Ok(())
}

fn factorial(call: &mut Call<'_>) -> Result<()> {
    let edu = open(call)?;
    let name = edu.device().clone();
    let n = call.args.int("N")? as u32;
    let timeout = call.args.millis("timeout")?;
    let (value, event) = if call.args.flag("irq") {
        let (v, e) = edu.factorial_irq(n, timeout)?;
        (v, Some(e))
    } else {
        (edu.factorial(n, timeout)?, None)
    };
    let line = match event {
        Some(e) => format!("{n}! = {value} ({value:#010x}), signalled by {} vector {}", e.kind, e.vector),
        None => format!("{n}! = {value} ({value:#010x})"),
    };
    call.report(Report::line(FactorialReport { device: name, n, factorial: value, interrupt: event }, line));
    Ok(())
}

fn raise(call: &mut Call<'_>) -> Result<()> {
    let edu = open(call)?;
    let name = edu.device().clone();
    let v = call.args.int("VALUE")? as u32;
    if call.args.flag("wait") {
        let index = call.args.opt_text("index").map(str::parse::<IrqKind>).transpose()?;
        let (event, pending) = edu.raise_and_wait(v, index, call.args.millis("timeout")?)?;
        let line = format!(
            "{name}: raised {v:#x}; {} vector {} arrived (IRQ_STATUS {pending:#x}); acknowledged {v:#x}",
            event.kind, event.vector
        );
        let json =
            RaiseReport { device: name, raised: v, interrupt: Some(event), irq_status: pending, acknowledged: Some(v) };
        call.report(Report::line(json, line));
    } else {
        edu.raise(v)?;
        let pending = edu.irq_status()?;
        let line = format!("{name}: raised {v:#x}; IRQ_STATUS is now {pending:#x}");
        let json = RaiseReport { device: name, raised: v, interrupt: None, irq_status: pending, acknowledged: None };
        call.report(Report::line(json, line));
    }
    Ok(())
}

fn ack(call: &mut Call<'_>) -> Result<()> {
    let edu = open(call)?;
    let name = edu.device().clone();
    let v = call.args.int("VALUE")? as u32;
    edu.ack(v)?;
    let pending = edu.irq_status()?;
    let line = format!("{name}: acknowledged {v:#x}; IRQ_STATUS is now {pending:#x}");
    call.report(Report::line(AckReport { device: name, acknowledged: v, irq_status: pending }, line));
    Ok(())
}

fn dma_options(call: &Call<'_>) -> Result<(u64, DmaOptions)> {
    let opts = DmaOptions {
        iova: call.args.opt_int("iova").unwrap_or(DEFAULT_IOVA),
        irq: call.args.flag("irq"),
        timeout: call.args.millis("timeout")?,
    };
    Ok((call.args.int("offset")?, opts))
}

fn to_device(call: &mut Call<'_>) -> Result<()> {
    let (offset, opts) = dma_options(call)?;
    let file = call.args.path("FILE")?.to_path_buf();
    // Checked before the device is opened: a regular file that fits the buffer.
    let data = mmiodrv::value::read_regular_file(&file, "the data to send", DMA_BUFFER_SIZE)?;
    Edu::check_dma(offset, data.len() as u64)?;
    let edu = open(call)?;
    let name = edu.device().clone();
    edu.dma_to_device(&data, offset, opts)?;
    let line = format!(
        "{name}: {} bytes from {} -> device buffer {:#x} (IOVA {:#x})",
        data.len(),
        file.display(),
        DMA_BUFFER_ADDR + offset,
        opts.iova
    );
    let json = DmaReport {
        device: name,
        direction: Direction::ToDevice,
        offset,
        len: data.len() as u64,
        iova: opts.iova,
        out: None,
        hex: None,
    };
    call.report(Report::line(json, line));
    Ok(())
}

fn from_device(call: &mut Call<'_>) -> Result<()> {
    let (offset, opts) = dma_options(call)?;
    let len = call.args.int("len")?;
    Edu::check_dma(offset, len)?;
    let out = call.args.opt_path("out").map(|p| p.to_path_buf());
    if let Some(path) = &out {
        mmiodrv::value::check_output_path(path, "the output file")?;
    }
    let edu = open(call)?;
    let name = edu.device().clone();
    let data = edu.dma_from_device(len as usize, offset, opts)?;
    let addr = DMA_BUFFER_ADDR + offset;
    let report = match out {
        Some(path) => {
            let mut file = mmiodrv::value::create_output_file(&path).map_err(|e| e.with_device(name.clone()))?;
            std::io::Write::write_all(&mut file, &data)
                .map_err(|e| mmiodrv::Error::io_on(name.clone(), "cannot write", &path, e))?;
            file.commit().map_err(|e| e.with_device(name.clone()))?;
            let line = format!("{name}: device buffer {addr:#x} -> {} bytes in {}", data.len(), path.display());
            let json = DmaReport {
                device: name,
                direction: Direction::FromDevice,
                offset,
                len: data.len() as u64,
                iova: opts.iova,
                out: Some(path),
                hex: None,
            };
            Report::line(json, line)
        }
        None => {
            let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
            let json = DmaReport {
                device: name,
                direction: Direction::FromDevice,
                offset,
                len: data.len() as u64,
                iova: opts.iova,
                out: None,
                hex: Some(hex),
            };
            Report::new(json, hexdump_lines(addr, &data))
        }
    };
    call.report(report);
    Ok(())
}

fn status(call: &mut Call<'_>) -> Result<()> {
    let edu = open(call)?;
    let name = edu.device().clone();
    let s = edu.status()?;
    let line = format!(
        "{name}: STATUS {:#x} ({}{}), IRQ_STATUS {:#x}",
        s.status,
        if s.computing { "computing" } else { "idle" },
        if s.irq_on_factorial { ", interrupt on factorial" } else { "" },
        s.irq_status
    );
    call.report(Report::line(StatusReport { device: name, status: s }, line));
    Ok(())
}
