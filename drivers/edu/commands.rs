//! `mmiodrv edu ...`: edu's subcommands, declared here and run by every front end.

use serde_json::json;

use super::{DmaOptions, Edu, DEFAULT_IOVA, DMA_BUFFER_ADDR, DMA_BUFFER_SIZE};
use crate::backend::IrqKind;
use crate::command::{Arg, Call, Command, Needs, Report, Run, Value};
use crate::error::{ErrorKind, Result};
use crate::text::hexdump_lines;

const TIMEOUT: Arg = Arg::option("timeout", Value::Millis, "Give up after this many milliseconds (exit status 8)")
    .default("5000");
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

/// edu's subcommands.
pub const COMMANDS: &[Command] = &[
    Command {
        name: "id",
        about: "Print the ID register: version and magic",
        args: &[],
        subcommands: &[],
        examples: &[("mmiodrv -s 00:04.0 edu id", "edu version 1.0 (ID 0x010000ed)")],
        needs: Needs::Device,
        run: Run::Call(id),
        aliases: &[],
        hidden: false,
    },
    Command {
        name: "liveness",
        about: "Write VALUE to LIVENESS and check the device returns its inverse",
        args: &[Arg::positional("VALUE", Value::Bits(32), "The value to write (32 bits)").default("0x12345678")],
        subcommands: &[],
        examples: &[("mmiodrv -s 00:04.0 edu liveness 0xdeadbeef", "reads back 0x21524110")],
        needs: Needs::Device,
        run: Run::Call(liveness),
        aliases: &[],
        hidden: false,
    },
    Command {
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
    },
    Command {
        name: "irq",
        about: "Raise or acknowledge interrupts",
        args: &[],
        subcommands: &[
            Command {
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
            },
            Command {
                name: "ack",
                about: "Write VALUE to IRQ_ACK (the line drops when IRQ_STATUS reaches 0)",
                args: &[Arg::positional("VALUE", Value::Bits(32), "The interrupt bits to clear from IRQ_STATUS")],
                subcommands: &[],
                examples: &[("mmiodrv -s 00:04.0 edu irq ack 0x40", "clear 0x40")],
                needs: Needs::Device,
                run: Run::Call(ack),
                aliases: &[],
                hidden: false,
            },
        ],
        examples: &[],
        needs: Needs::Device,
        run: Run::Group,
        aliases: &[],
        hidden: false,
    },
    Command {
        name: "dma",
        about: "DMA between RAM and edu's 4 KiB buffer at 0x40000 (VFIO only)",
        args: &[],
        subcommands: &[
            Command {
                name: "to-device",
                about: "Copy FILE into the device buffer",
                args: &[
                    Arg::positional("FILE", Value::Path, "The bytes to send (at most 4095)"),
                    OFFSET,
                    IOVA,
                    DMA_IRQ,
                    TIMEOUT,
                ],
                subcommands: &[],
                examples: &[("mmiodrv -s 00:04.0 edu dma to-device msg.txt --offset 0x100", "")],
                needs: Needs::Device,
                run: Run::Call(to_device),
                aliases: &[],
                hidden: false,
            },
            Command {
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
            },
        ],
        examples: &[],
        needs: Needs::Device,
        run: Run::Group,
        aliases: &[],
        hidden: false,
    },
    Command {
        name: "status",
        about: "Print STATUS and IRQ_STATUS",
        args: &[],
        subcommands: &[],
        examples: &[("mmiodrv -s 00:04.0 edu status", "idle or computing, pending interrupts")],
        needs: Needs::Device,
        run: Run::Call(status),
        aliases: &[],
        hidden: false,
    },
];

fn open<'a>(call: &Call<'a>) -> Result<Edu<'a>> {
    Edu::open(call.device()?.backend())
}

fn id(call: &mut Call<'_>) -> Result<()> {
    let edu = open(call)?;
    let name = edu.device().clone();
    let id = edu.id()?;
    let line = format!("{name}: edu version {}.{} (ID {:#010x})", id.major, id.minor, id.raw);
    call.report(Report::line(json!({ "device": name, "id": id.raw, "major": id.major, "minor": id.minor }), line));
    Ok(())
}

fn liveness(call: &mut Call<'_>) -> Result<()> {
    let edu = open(call)?;
    let name = edu.device().clone();
    let v = call.args.int("VALUE")? as u32;
    let l = edu.liveness(v)?;
    let verdict = if l.inverted { "inverted, the device is alive" } else { "NOT the inverse" };
    let line = format!("{name}: wrote {:#010x}, read {:#010x}: {verdict}", l.wrote, l.read);
    call.report(Report::line(json!({ "device": name, "wrote": l.wrote, "read": l.read, "inverted": l.inverted }), line));
    if !l.inverted {
        let why = "not the bitwise inverse of the value written";
        return Err(crate::Error::on(name, ErrorKind::UnexpectedValue { register: "LIVENESS", value: l.read.into(), why }));
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
    call.report(Report::line(json!({ "device": name, "n": n, "factorial": value, "interrupt": event }), line));
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
        let json = json!({ "device": name, "raised": v, "interrupt": event, "irq_status": pending, "acknowledged": v });
        call.report(Report::line(json, line));
    } else {
        edu.raise(v)?;
        let pending = edu.irq_status()?;
        let line = format!("{name}: raised {v:#x}; IRQ_STATUS is now {pending:#x}");
        call.report(Report::line(json!({ "device": name, "raised": v, "irq_status": pending }), line));
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
    call.report(Report::line(json!({ "device": name, "acknowledged": v, "irq_status": pending }), line));
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
    let data = crate::value::read_regular_file(&file, "the data to send", DMA_BUFFER_SIZE)?;
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
    let json = json!({ "device": name, "direction": "to-device", "bytes": data.len(), "offset": offset, "iova": opts.iova });
    call.report(Report::line(json, line));
    Ok(())
}

fn from_device(call: &mut Call<'_>) -> Result<()> {
    let (offset, opts) = dma_options(call)?;
    let len = call.args.int("len")?;
    Edu::check_dma(offset, len)?;
    let out = call.args.opt_path("out").map(|p| p.to_path_buf());
    if let Some(path) = &out {
        crate::value::check_output_path(path, "the output file")?;
    }
    let edu = open(call)?;
    let name = edu.device().clone();
    let data = edu.dma_from_device(len as usize, offset, opts)?;
    let addr = DMA_BUFFER_ADDR + offset;
    let report = match out {
        Some(path) => {
            let mut file = crate::value::create_output_file(&path).map_err(|e| e.with_device(name.clone()))?;
            std::io::Write::write_all(&mut file, &data)
                .map_err(|e| crate::Error::io_on(name.clone(), "cannot write", &path, e))?;
            let line = format!("{name}: device buffer {addr:#x} -> {} bytes in {}", data.len(), path.display());
            let json = json!({ "device": name, "direction": "from-device", "bytes": data.len(), "offset": offset, "out": path });
            Report::line(json, line)
        }
        None => {
            let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
            let json = json!({ "device": name, "direction": "from-device", "offset": offset, "hex": hex });
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
    call.report(Report::line(
        json!({ "device": name, "status": s.status, "computing": s.computing, "irq_on_factorial": s.irq_on_factorial, "irq_status": s.irq_status }),
        line,
    ));
    Ok(())
}
