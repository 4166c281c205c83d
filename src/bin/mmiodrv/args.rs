//! Command-line syntax (clap derive). Exit statuses are documented in the README.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use mmiodrv::backend::{BackendKind, IrqKind};

#[derive(Parser, Debug)]
#[command(
    name = "mmiodrv",
    version,
    about = "Userspace PCI/MMIO driver toolkit: inspect devices, dump and poke registers"
)]
pub struct Cli {
    /// Device: DDDD:BB:DD.F, BB:DD.F, or VVVV:DDDD vendor:device IDs (must match one
    /// device); or file:PATH, an ivshmem shared-memory file on the host.
    #[arg(short, long, global = true, env = "MMIODRV_DEVICE")]
    pub device: Option<String>,

    /// How to reach the device.
    #[arg(long, global = true, value_enum, default_value_t = BackendKind::Auto)]
    pub backend: BackendKind,

    /// Touch BARs even when another kernel driver owns the device or decoding is off;
    /// skip the device's access-width rules for raw offsets.
    #[arg(long, global = true)]
    pub force: bool,

    /// Print one JSON object (schema: docs/json.md).
    #[arg(long, global = true)]
    pub json: bool,

    /// More log output (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// List every PCI device with its driver, IOMMU group and matching mmiodrv driver.
    List,
    /// Decode the config header, BARs and capabilities of --device.
    Info,
    /// Print raw config space in the layout of `lspci -xxx`.
    Config,
    /// Dump registers by name (known device or --regmap), or hexdump a BAR.
    DumpRegs(DumpArgs),
    /// Read a register, a field (REG.FIELD) or an offset.
    Read(ReadArgs),
    /// Write a register, a field (read-modify-write) or an offset.
    Write(WriteArgs),
    /// Wait for an interrupt (VFIO: INTx, MSI, MSI-X; UIO: INTx).
    WaitIrq(WaitIrqArgs),
    /// Bind the device to vfio-pci or uio_pci_generic, or --restore its old driver.
    Bind(BindArgs),
    /// Detach the device from its kernel driver.
    Unbind,
    /// Drive QEMU's edu device: id, liveness, factorial, interrupts, DMA.
    Edu(crate::edu::EduArgs),
    /// ivshmem shared memory: info, read, write, fill, dump, doorbell, wait.
    Ivshmem(crate::ivshmem::IvshmemArgs),
    /// Run an ivshmem server for ivshmem-doorbell peers (QEMU's protocol).
    IvshmemServer(crate::ivshmem::ServerArgs),
}

#[derive(Args, Debug, Clone)]
pub struct IrqArgs {
    /// Interrupt mechanism (default: MSI-X, else MSI, else INTx, as the device has).
    #[arg(long, value_enum)]
    pub index: Option<IrqKind>,

    /// Only this vector counts (others are reported and waited past).
    #[arg(long)]
    pub vector: Option<u32>,

    /// Give up after this many milliseconds (exit status 8).
    #[arg(long, default_value_t = 5000, value_name = "MS")]
    pub timeout: u64,
}

#[derive(Args, Debug)]
pub struct WaitIrqArgs {
    #[command(flatten)]
    pub irq: IrqArgs,

    /// Number of interrupts to wait for.
    #[arg(long, default_value_t = 1)]
    pub count: u32,
}

#[derive(Args, Debug)]
pub struct BindArgs {
    /// vfio-pci or uio_pci_generic.
    #[arg(required_unless_present = "restore", conflicts_with = "restore")]
    pub driver: Option<String>,

    /// Go back to the driver the device had before mmiodrv bound it.
    #[arg(long)]
    pub restore: bool,
}

#[derive(Args, Debug)]
pub struct MapArgs {
    /// Register map file (TOML; format: docs/regmap-format.md). Default: the built-in
    /// map of a known device.
    #[arg(long, value_name = "FILE.toml")]
    pub regmap: Option<PathBuf>,

    /// BAR to access (default: the map's BAR, else 0).
    #[arg(long)]
    pub bar: Option<u8>,

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

    /// Hexdump start offset (implies a raw hexdump).
    #[arg(long)]
    pub offset: Option<String>,

    /// Hexdump length in bytes, K/M suffixes allowed (implies a raw hexdump).
    #[arg(long)]
    pub len: Option<String>,
}

#[derive(Args, Debug)]
pub struct ReadArgs {
    /// REG, REG.FIELD or an offset (0x.., 0b.., decimal).
    pub target: String,

    #[command(flatten)]
    pub map: MapArgs,

    /// Access width in bits for a raw offset (8, 16, 32, 64).
    #[arg(long, default_value_t = 32)]
    pub width: u32,

    /// Print only the value.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct WriteArgs {
    /// REG, REG.FIELD or an offset (0x.., 0b.., decimal).
    pub target: String,

    /// Value: 0x.., 0b.. or decimal; range-checked against the width or field.
    #[arg(allow_hyphen_values = true)]
    pub value: String,

    #[command(flatten)]
    pub map: MapArgs,

    /// Access width in bits for a raw offset (8, 16, 32, 64).
    #[arg(long, default_value_t = 32)]
    pub width: u32,

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
