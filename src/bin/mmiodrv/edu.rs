//! `mmiodrv edu ...`: QEMU's edu device from the command line.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use mmiodrv::backend::IrqKind;
use mmiodrv::drivers::edu::{DmaOptions, Edu, DEFAULT_IOVA};
use mmiodrv::error::{Error, Result};
use mmiodrv::value::{parse_size, parse_u64};

use crate::args::Cli;
use crate::context::open_device;
use crate::output::{hexdump_lines, print_json};

#[derive(Args, Debug)]
pub struct EduArgs {
    #[command(subcommand)]
    pub command: EduCommand,

    /// Give up after this many milliseconds (factorial, interrupts, DMA).
    #[arg(long, global = true, default_value_t = 5000, value_name = "MS")]
    pub timeout: u64,
}

#[derive(Subcommand, Debug)]
pub enum EduCommand {
    /// Print the ID register: version and magic.
    Id,
    /// Write VALUE to the liveness register and check the device returns its inverse.
    Liveness {
        #[arg(default_value = "0x12345678", allow_hyphen_values = true)]
        value: String,
    },
    /// Compute N! on the device (32-bit, wrapping).
    Factorial {
        #[arg(allow_hyphen_values = true)]
        n: String,
        /// Wait for the completion interrupt instead of polling.
        #[arg(long)]
        irq: bool,
    },
    /// Raise or acknowledge interrupts.
    Irq {
        #[command(subcommand)]
        command: IrqCommand,
    },
    /// DMA between RAM and edu's 4 KiB buffer at 0x40000 (VFIO only).
    Dma {
        #[command(subcommand)]
        command: DmaCommand,
    },
    /// Print STATUS and IRQ_STATUS.
    Status,
}

#[derive(Subcommand, Debug)]
pub enum IrqCommand {
    /// Write VALUE to IRQ_RAISE; with --wait, arm first and wait for it here.
    Raise {
        #[arg(allow_hyphen_values = true)]
        value: String,
        #[arg(long)]
        wait: bool,
        /// Interrupt mechanism for --wait (default: MSI if enabled by the backend, else INTx).
        #[arg(long, value_enum)]
        index: Option<IrqKind>,
    },
    /// Write VALUE to IRQ_ACK.
    Ack {
        #[arg(allow_hyphen_values = true)]
        value: String,
    },
}

#[derive(Args, Debug)]
pub struct DmaCommon {
    /// Offset inside the device buffer (0..0x1000).
    #[arg(long, default_value = "0")]
    pub offset: String,
    /// IOVA for the RAM buffer (page-aligned, below 2^28).
    #[arg(long)]
    pub iova: Option<String>,
    /// Wait for the completion interrupt (0x100) instead of polling.
    #[arg(long)]
    pub irq: bool,
}

#[derive(Subcommand, Debug)]
pub enum DmaCommand {
    /// Copy FILE into the device buffer.
    ToDevice {
        file: PathBuf,
        #[command(flatten)]
        common: DmaCommon,
    },
    /// Copy LEN bytes out of the device buffer: to FILE, or a hexdump on stdout.
    FromDevice {
        #[arg(long)]
        len: String,
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        common: DmaCommon,
    },
}

fn u32_arg(text: &str, what: &str) -> Result<u32> {
    let v = parse_u64(text)?;
    u32::try_from(v).map_err(|_| Error::ValueTooLarge { value: v, what: what.into(), bits: 32, max: u32::MAX.into() })
}

fn dma_options(common: &DmaCommon, timeout: Duration) -> Result<(u64, DmaOptions)> {
    let offset = parse_size(&common.offset)?;
    let iova = common.iova.as_deref().map(parse_u64).transpose()?.unwrap_or(DEFAULT_IOVA);
    Ok((offset, DmaOptions { iova, irq: common.irq, timeout }))
}

pub fn run(cli: &Cli, args: &EduArgs) -> Result<()> {
    let dev = open_device(cli)?;
    let edu = Edu::open(dev.backend.as_ref())?;
    let timeout = Duration::from_millis(args.timeout);
    let name = dev.name();
    match &args.command {
        EduCommand::Id => {
            let id = edu.id()?;
            if cli.json {
                print_json(&serde_json::json!({ "device": name, "id": id.raw, "major": id.major, "minor": id.minor }));
            } else {
                outln!("{name}: edu version {}.{} (ID {:#010x})", id.major, id.minor, id.raw);
            }
        }
        EduCommand::Liveness { value } => {
            let v = u32_arg(value, "the liveness value")?;
            let back = edu.liveness(v)?;
            let alive = back == !v;
            if cli.json {
                print_json(&serde_json::json!({ "device": name, "wrote": v, "read": back, "inverted": alive }));
            } else {
                outln!(
                    "{name}: wrote {v:#010x}, read {back:#010x}: {}",
                    if alive { "inverted, the device is alive" } else { "NOT the inverse" }
                );
            }
            if !alive {
                return Err(Error::Unsupported {
                    device: name,
                    message: format!("liveness check failed: {back:#010x} is not !{v:#010x}"),
                });
            }
        }
        EduCommand::Factorial { n, irq } => {
            let n = u32_arg(n, "N")?;
            let (value, event) = if *irq {
                let (v, e) = edu.factorial_irq(n, timeout)?;
                (v, Some(e))
            } else {
                (edu.factorial(n, timeout)?, None)
            };
            if cli.json {
                print_json(&serde_json::json!({ "device": name, "n": n, "factorial": value, "interrupt": event }));
            } else {
                match event {
                    Some(e) => outln!("{n}! = {value} ({value:#010x}), signalled by {} vector {}", e.kind, e.vector),
                    None => outln!("{n}! = {value} ({value:#010x})"),
                }
            }
        }
        EduCommand::Irq { command: IrqCommand::Raise { value, wait, index } } => {
            let v = u32_arg(value, "the interrupt value")?;
            if *wait {
                let (event, pending) = edu.raise_and_wait(v, *index, timeout)?;
                if cli.json {
                    print_json(
                        &serde_json::json!({ "device": name, "raised": v, "interrupt": event, "irq_status": pending, "acknowledged": v }),
                    );
                } else {
                    outln!(
                        "{name}: raised {v:#x}; {} vector {} arrived (IRQ_STATUS {pending:#x}); acknowledged {v:#x}",
                        event.kind,
                        event.vector
                    );
                }
            } else {
                edu.raise(v)?;
                let pending = edu.irq_status()?;
                if cli.json {
                    print_json(&serde_json::json!({ "device": name, "raised": v, "irq_status": pending }));
                } else {
                    outln!("{name}: raised {v:#x}; IRQ_STATUS is now {pending:#x}");
                }
            }
        }
        EduCommand::Irq { command: IrqCommand::Ack { value } } => {
            let v = u32_arg(value, "the interrupt value")?;
            edu.ack(v)?;
            let pending = edu.irq_status()?;
            if cli.json {
                print_json(&serde_json::json!({ "device": name, "acknowledged": v, "irq_status": pending }));
            } else {
                outln!("{name}: acknowledged {v:#x}; IRQ_STATUS is now {pending:#x}");
            }
        }
        EduCommand::Dma { command: DmaCommand::ToDevice { file, common } } => {
            let (offset, opts) = dma_options(common, timeout)?;
            let data = std::fs::read(file).map_err(|e| Error::io(&name, "cannot read", file, e))?;
            edu.dma_to_device(&data, offset, opts)?;
            if cli.json {
                print_json(
                    &serde_json::json!({ "device": name, "direction": "to-device", "bytes": data.len(), "offset": offset, "iova": opts.iova }),
                );
            } else {
                outln!(
                    "{name}: {} bytes from {} -> device buffer {:#x} (IOVA {:#x})",
                    data.len(),
                    file.display(),
                    0x40000 + offset,
                    opts.iova
                );
            }
        }
        EduCommand::Dma { command: DmaCommand::FromDevice { len, out, common } } => {
            let (offset, opts) = dma_options(common, timeout)?;
            let len = parse_size(len)?;
            let len = usize::try_from(len)
                .map_err(|_| Error::InvalidValue { input: len.to_string(), reason: "too large".into() })?;
            let data = edu.dma_from_device(len, offset, opts)?;
            match out {
                Some(path) => {
                    std::fs::write(path, &data).map_err(|e| Error::io(&name, "cannot write", path, e))?;
                    if cli.json {
                        print_json(
                            &serde_json::json!({ "device": name, "direction": "from-device", "bytes": data.len(), "offset": offset, "out": path }),
                        );
                    } else {
                        outln!(
                            "{name}: device buffer {:#x} -> {} bytes in {}",
                            0x40000 + offset,
                            data.len(),
                            path.display()
                        );
                    }
                }
                None if cli.json => print_json(&serde_json::json!({
                    "device": name, "direction": "from-device", "offset": offset,
                    "hex": data.iter().map(|b| format!("{b:02x}")).collect::<String>(),
                })),
                None => {
                    for line in hexdump_lines(0x40000 + offset, &data) {
                        outln!("{line}");
                    }
                }
            }
        }
        EduCommand::Status => {
            let (status, pending) = (edu.status()?, edu.irq_status()?);
            if cli.json {
                print_json(
                    &serde_json::json!({ "device": name, "status": status, "computing": status & 1 != 0, "irq_on_factorial": status & 0x80 != 0, "irq_status": pending }),
                );
            } else {
                outln!(
                    "{name}: STATUS {status:#x} ({}{}), IRQ_STATUS {pending:#x}",
                    if status & 1 != 0 { "computing" } else { "idle" },
                    if status & 0x80 != 0 { ", interrupt on factorial" } else { "" }
                );
            }
        }
    }
    Ok(())
}
