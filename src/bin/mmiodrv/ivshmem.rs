//! `mmiodrv ivshmem ...` and `mmiodrv ivshmem-server`: QEMU's ivshmem shared
//! memory from the guest (`--device BDF`) or the host (`--device file:PATH`),
//! doorbells, a host-side client and a server for ivshmem-doorbell peers.

use std::fs::File;
use std::io::{IsTerminal, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::{ArgGroup, Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use mmiodrv::drivers::ivshmem::client::Client;
use mmiodrv::drivers::ivshmem::server::{Server, ServerConfig};
use mmiodrv::drivers::ivshmem::{bench, HostMemory, Ivshmem, SharedMemory, Variant};
use mmiodrv::error::{Error, Result};
use mmiodrv::value::{parse_size, parse_u64};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::SignalFd;

use crate::args::Cli;
use crate::context::open_device;
use crate::output::{hexdump_lines, print_json, size_string};

/// Bulk transfers move this much per step (and per progress update).
const CHUNK: usize = 1 << 20;
/// Transfers at least this long get a progress bar on a terminal.
const PROGRESS_FROM: u64 = 8 << 20;

#[derive(Args, Debug)]
pub struct IvshmemArgs {
    #[command(subcommand)]
    pub command: IvshmemCommand,
}

#[derive(Subcommand, Debug)]
pub enum IvshmemCommand {
    /// Variant, shared-memory size, peer ID (IVPosition) and MSI-X vectors.
    Info,
    /// Read LEN bytes at OFFSET of the shared memory: raw into FILE, else a hexdump.
    Read {
        /// Start offset (K/M/G suffixes allowed).
        #[arg(long, default_value = "0")]
        offset: String,
        /// Number of bytes (K/M/G suffixes allowed).
        #[arg(long)]
        len: String,
        /// Write the raw bytes to this file instead of printing a hexdump.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Write the contents of FILE, --hex bytes or --string text at OFFSET.
    #[command(group(ArgGroup::new("data").required(true).args(["file", "hex", "string"])))]
    Write {
        /// Start offset (K/M/G suffixes allowed).
        #[arg(long, default_value = "0")]
        offset: String,
        /// File whose bytes to write.
        file: Option<PathBuf>,
        /// Bytes in hex, first byte first: "deadbeef", "de ad be ef", "0xdeadbeef".
        #[arg(long)]
        hex: Option<String>,
        /// UTF-8 text (no terminating NUL is added).
        #[arg(long)]
        string: Option<String>,
    },
    /// Set LEN bytes at OFFSET (default: up to the end) to BYTE.
    Fill {
        /// Start offset (K/M/G suffixes allowed).
        #[arg(long, default_value = "0")]
        offset: String,
        /// Number of bytes (default: from OFFSET to the end).
        #[arg(long)]
        len: Option<String>,
        /// The byte value.
        #[arg(long, default_value = "0")]
        byte: String,
    },
    /// The whole shared memory: raw into FILE, else a hexdump with repeated lines folded into '*'.
    Dump {
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Time bulk copies into and out of the shared memory against memcpy between
    /// two RAM buffers (the memory's contents are saved and restored).
    Bench {
        /// Bytes per copy (default: the whole shared memory, at most 64M).
        #[arg(long)]
        size: Option<String>,
        /// Repetitions of each copy; the fastest counts.
        #[arg(long, default_value_t = 20)]
        rounds: u32,
    },
    /// Ring VECTOR of PEER through the DOORBELL register (ivshmem-doorbell).
    Doorbell { peer: String, vector: String },
    /// Wait for a doorbell on this device's MSI-X vectors (ivshmem-doorbell bound to vfio-pci).
    Wait {
        /// Only this vector counts (default: any).
        #[arg(long)]
        vector: Option<u16>,
        /// Give up after this many milliseconds (exit status 8).
        #[arg(long, default_value_t = 5000, value_name = "MS")]
        timeout: u64,
    },
    /// Be a peer of an ivshmem server from the host: list peers, ring one, wait for a doorbell.
    Client {
        /// The server's socket.
        #[arg(long)]
        socket: PathBuf,
        #[command(subcommand)]
        command: ClientCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum ClientCommand {
    /// Connect and list the peers the server announces.
    Peers,
    /// Ring VECTOR of PEER.
    Ring { peer: String, vector: String },
    /// Connect, print our peer ID, and wait for one of our vectors to be rung.
    Wait {
        /// Only this vector counts (default: any).
        #[arg(long)]
        vector: Option<u16>,
        /// Give up after this many milliseconds (exit status 8).
        #[arg(long, default_value_t = 5000, value_name = "MS")]
        timeout: u64,
    },
}

#[derive(Args, Debug)]
pub struct ServerArgs {
    /// UNIX socket for peers (QEMU: -chardev socket,id=ID,path=PATH).
    #[arg(long)]
    pub socket: PathBuf,
    /// Shared-memory file, created when missing (e.g. /dev/shm/ivshmem).
    #[arg(long)]
    pub shm: PathBuf,
    /// Shared-memory size: a power of two (K/M/G suffixes allowed).
    #[arg(long, default_value = "4M")]
    pub size: String,
    /// Interrupt vectors per peer (QEMU: -device ivshmem-doorbell,vectors=N).
    #[arg(long, default_value_t = 1)]
    pub vectors: u16,
}

fn u16_arg(text: &str, what: &str) -> Result<u16> {
    let v = parse_u64(text)?;
    u16::try_from(v).map_err(|_| Error::ValueTooLarge { value: v, what: what.into(), bits: 16, max: u16::MAX.into() })
}

fn usize_len(len: u64) -> Result<usize> {
    usize::try_from(len).map_err(|_| Error::InvalidValue { input: len.to_string(), reason: "too large".into() })
}

/// Bytes from `--hex`: pairs of hex digits, optional 0x, spaces/colons/underscores ignored.
fn parse_hex_bytes(input: &str) -> Result<Vec<u8>> {
    let bad = |reason: &str| Error::InvalidValue { input: input.to_string(), reason: reason.to_string() };
    let t = input.trim();
    let t = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")).unwrap_or(t);
    let digits: Vec<char> = t.chars().filter(|c| !c.is_whitespace() && !matches!(c, ':' | '_')).collect();
    if digits.is_empty() {
        return Err(bad("expected hex bytes such as 'deadbeef' or 'de ad be ef'"));
    }
    if digits.len() % 2 != 0 {
        return Err(bad("an odd number of hex digits: every byte takes two"));
    }
    digits
        .chunks(2)
        .map(|p| {
            let hi = p[0].to_digit(16);
            let lo = p[1].to_digit(16);
            match (hi, lo) {
                (Some(h), Some(l)) => Ok((h * 16 + l) as u8),
                _ => Err(bad("expected hex digits 0-9, a-f")),
            }
        })
        .collect()
}

/// A progress bar on stderr, only when both stdout and stderr are terminals and
/// the transfer is long.
struct Progress(Option<ProgressBar>);

impl Progress {
    fn new(len: u64, what: &str) -> Progress {
        if len < PROGRESS_FROM || !std::io::stdout().is_terminal() || !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let bar = ProgressBar::new(len);
        if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec}") {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(what.to_string());
        Progress(Some(bar))
    }

    fn inc(&self, n: usize) {
        if let Some(b) = &self.0 {
            b.inc(n as u64);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}

/// " (12.3 ms, 456.7 MiB/s)" for transfers of 1 MiB and more, else nothing.
fn rate(bytes: u64, elapsed: Duration) -> String {
    if bytes < 1 << 20 {
        return String::new();
    }
    let secs = elapsed.as_secs_f64().max(1e-9);
    format!(" ({:.1} ms, {:.1} MiB/s)", secs * 1e3, bytes as f64 / secs / (1 << 20) as f64)
}

/// `--device file:PATH`: the host's view of the shared memory.
fn host_path(cli: &Cli) -> Option<&Path> {
    cli.device.as_deref().and_then(|d| d.strip_prefix("file:")).map(Path::new)
}

pub fn run(cli: &Cli, args: &IvshmemArgs) -> Result<()> {
    if let IvshmemCommand::Client { socket, command } = &args.command {
        return run_client(cli, socket, command);
    }
    if let Some(path) = host_path(cli) {
        let name = format!("file:{}", path.display());
        if matches!(args.command, IvshmemCommand::Doorbell { .. } | IvshmemCommand::Wait { .. }) {
            return Err(Error::Unsupported {
                device: name,
                message: "a memory-backend file has no doorbell; on the host use `mmiodrv ivshmem client --socket PATH ring|wait` with an ivshmem server".into(),
            });
        }
        let writable = matches!(
            args.command,
            IvshmemCommand::Write { .. } | IvshmemCommand::Fill { .. } | IvshmemCommand::Bench { .. }
        );
        let host = HostMemory::open(path, writable)?;
        if let IvshmemCommand::Info = args.command {
            let size = host.memory().len();
            if cli.json {
                print_json(&serde_json::json!({ "device": name, "variant": "host-file", "size": size, "path": path }));
            } else {
                outln!("{name}: host side of an ivshmem shared memory, {} ({size:#x} bytes)", size_string(size));
            }
            return Ok(());
        }
        return data_command(cli, &args.command, host.memory(), &name);
    }
    let dev = open_device(cli)?;
    let ivshmem = Ivshmem::open(dev.backend.as_ref())?;
    let name = ivshmem.name().to_string();
    match &args.command {
        IvshmemCommand::Info => {
            let info = ivshmem.info()?;
            if cli.json {
                print_json(&info);
            } else {
                let size = format!("shared memory {} ({:#x} bytes, BAR2)", size_string(info.size), info.size);
                match info.variant {
                    Variant::Plain => outln!(
                        "{name}: {}, {size}, peer ID {} (no server), no interrupts, {} backend",
                        info.variant,
                        info.peer_id,
                        info.backend
                    ),
                    Variant::Doorbell => outln!(
                        "{name}: {}, {size}, peer ID {}, {} MSI-X vector(s), {} backend",
                        info.variant,
                        info.peer_id,
                        info.vectors,
                        info.backend
                    ),
                }
            }
        }
        IvshmemCommand::Doorbell { peer, vector } => {
            let (peer, vector) = (u16_arg(peer, "the peer ID")?, u16_arg(vector, "the vector")?);
            ivshmem.ring(peer, vector)?;
            if cli.json {
                print_json(
                    &serde_json::json!({ "device": name, "peer": peer, "vector": vector, "doorbell": (u32::from(peer) << 16) | u32::from(vector) }),
                );
            } else {
                outln!(
                    "{name}: rang peer {peer} vector {vector} (DOORBELL {:#010x})",
                    (u32::from(peer) << 16) | u32::from(vector)
                );
            }
        }
        IvshmemCommand::Wait { vector, timeout } => {
            let mut irqs = ivshmem.arm()?;
            log::info!("{name}: {} MSI-X vector(s) armed", irqs.vectors());
            let event = ivshmem.wait(irqs.as_mut(), *vector, Duration::from_millis(*timeout))?;
            if cli.json {
                print_json(&serde_json::json!({ "device": name, "interrupt": event }));
            } else {
                outln!("{name}: doorbell on {} vector {} ({} time(s))", event.kind, event.vector, event.count);
            }
        }
        command => data_command(cli, command, ivshmem.memory(), &name)?,
    }
    Ok(())
}

fn data_command(cli: &Cli, command: &IvshmemCommand, mem: &SharedMemory, name: &str) -> Result<()> {
    match command {
        IvshmemCommand::Read { offset, len, out } => {
            let offset = parse_size(offset)?;
            let len = parse_size(len)?;
            mem.check(offset, len)?;
            read_out(cli, mem, name, offset, len, out.as_deref(), false)
        }
        IvshmemCommand::Dump { out } => read_out(cli, mem, name, 0, mem.len(), out.as_deref(), true),
        IvshmemCommand::Write { offset, file, hex, string } => {
            let offset = parse_size(offset)?;
            let data = match (file, hex, string) {
                (Some(path), _, _) => {
                    let meta = std::fs::metadata(path).map_err(|e| Error::io(name, "cannot read", path, e))?;
                    // Checked before reading a possibly huge file.
                    mem.check(offset, meta.len())?;
                    std::fs::read(path).map_err(|e| Error::io(name, "cannot read", path, e))?
                }
                (_, Some(hex), _) => parse_hex_bytes(hex)?,
                (_, _, Some(text)) => text.as_bytes().to_vec(),
                _ => Vec::new(),
            };
            if data.is_empty() {
                return Err(Error::InvalidValue {
                    input: String::new(),
                    reason: "nothing to write (empty data)".into(),
                });
            }
            mem.check(offset, data.len() as u64)?;
            let progress = Progress::new(data.len() as u64, "write");
            let start = Instant::now();
            for (i, chunk) in data.chunks(CHUNK).enumerate() {
                mem.write(offset + (i * CHUNK) as u64, chunk)?;
                progress.inc(chunk.len());
            }
            let took = start.elapsed();
            drop(progress);
            if cli.json {
                print_json(
                    &serde_json::json!({ "device": name, "offset": offset, "bytes": data.len(), "seconds": took.as_secs_f64() }),
                );
            } else {
                outln!("{name}: wrote {} bytes at {offset:#x}{}", data.len(), rate(data.len() as u64, took));
            }
            Ok(())
        }
        IvshmemCommand::Fill { offset, len, byte } => {
            let offset = parse_size(offset)?;
            let len = match len {
                Some(l) => parse_size(l)?,
                None => mem.len().checked_sub(offset).ok_or(Error::OutOfRange { offset, width: 0, len: mem.len() })?,
            };
            let value = parse_u64(byte)?;
            let byte = u8::try_from(value).map_err(|_| Error::ValueTooLarge {
                value,
                what: "a byte".into(),
                bits: 8,
                max: 0xff,
            })?;
            mem.check(offset, len)?;
            let progress = Progress::new(len, "fill");
            let start = Instant::now();
            let mut done = 0u64;
            while done < len {
                let n = (len - done).min(CHUNK as u64);
                mem.fill(offset + done, n, byte)?;
                progress.inc(n as usize);
                done += n;
            }
            let took = start.elapsed();
            drop(progress);
            if cli.json {
                print_json(
                    &serde_json::json!({ "device": name, "offset": offset, "bytes": len, "byte": byte, "seconds": took.as_secs_f64() }),
                );
            } else {
                outln!("{name}: filled {len} bytes at {offset:#x} with {byte:#04x}{}", rate(len, took));
            }
            Ok(())
        }
        IvshmemCommand::Bench { size, rounds } => {
            let bytes = match size {
                Some(s) => parse_size(s)?,
                None => mem.len().min(64 << 20),
            };
            let r = bench::run(mem, bytes, *rounds)?;
            if cli.json {
                print_json(&serde_json::json!({ "device": name, "bench": r }));
            } else {
                let mib = |v: f64| v / f64::from(1u32 << 20);
                outln!("{name}: bulk copies of {} ({bytes} bytes), best of {rounds}", size_string(bytes));
                outln!("  with {}", r.accesses);
                outln!("  memcpy  RAM -> RAM     {:>10.1} MiB/s", mib(r.memcpy));
                outln!("  write   RAM -> shared  {:>10.1} MiB/s  ({:.2} x memcpy)", mib(r.write), r.write_ratio);
                outln!("  read    shared -> RAM  {:>10.1} MiB/s  ({:.2} x memcpy)", mib(r.read), r.read_ratio);
                outln!("  fill    shared         {:>10.1} MiB/s", mib(r.fill));
            }
            Ok(())
        }
        _ => Err(Error::Unsupported { device: name.to_string(), message: "not a shared-memory command".into() }),
    }
}

/// `read` and `dump`: into a file chunk by chunk, else a hexdump (or JSON hex).
fn read_out(
    cli: &Cli,
    mem: &SharedMemory,
    name: &str,
    offset: u64,
    len: u64,
    out: Option<&Path>,
    squeeze: bool,
) -> Result<()> {
    let progress = Progress::new(len, "read");
    let start = Instant::now();
    if let Some(path) = out {
        let mut file = File::create(path).map_err(|e| Error::io(name, "cannot create", path, e))?;
        let mut buf = vec![0u8; usize_len(len.min(CHUNK as u64))?];
        let mut done = 0u64;
        while done < len {
            let n = usize_len((len - done).min(CHUNK as u64))?;
            mem.read(offset + done, &mut buf[..n])?;
            file.write_all(&buf[..n]).map_err(|e| Error::io(name, "cannot write", path, e))?;
            progress.inc(n);
            done += n as u64;
        }
        let took = start.elapsed();
        drop(progress);
        if cli.json {
            print_json(
                &serde_json::json!({ "device": name, "offset": offset, "bytes": len, "out": path, "seconds": took.as_secs_f64() }),
            );
        } else {
            outln!("{name}: {len} bytes at {offset:#x} -> {}{}", path.display(), rate(len, took));
        }
        return Ok(());
    }
    let mut data = vec![0u8; usize_len(len)?];
    for (i, chunk) in data.chunks_mut(CHUNK).enumerate() {
        mem.read(offset + (i * CHUNK) as u64, chunk)?;
        progress.inc(chunk.len());
    }
    drop(progress);
    if cli.json {
        let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
        print_json(&serde_json::json!({ "device": name, "offset": offset, "bytes": len, "hex": hex }));
        return Ok(());
    }
    let lines = hexdump_lines(offset, &data);
    if !squeeze {
        for line in lines {
            outln!("{line}");
        }
        return Ok(());
    }
    // hexdump -C style: a line equal to the one before becomes one '*'.
    let mut starred = false;
    for (i, line) in lines.iter().enumerate() {
        let same = i > 0 && data.get(i * 16..(i + 1) * 16) == data.get((i - 1) * 16..i * 16);
        if same {
            if !starred {
                outln!("*");
                starred = true;
            }
        } else {
            starred = false;
            outln!("{line}");
        }
    }
    outln!("{:08x}", offset + len);
    Ok(())
}

fn run_client(cli: &Cli, socket: &Path, command: &ClientCommand) -> Result<()> {
    let mut client = Client::connect(socket, Duration::from_secs(5))?;
    let me = client.id();
    match command {
        ClientCommand::Peers => {
            let peers = client.peers();
            let size = client.shm_size()?;
            if cli.json {
                let list: Vec<_> =
                    peers.iter().map(|(id, n)| serde_json::json!({ "peer": id, "vectors": n })).collect();
                print_json(
                    &serde_json::json!({ "socket": socket, "self": me, "vectors": client.own_vectors(), "size": size, "peers": list }),
                );
            } else {
                outln!(
                    "peer {me} (this client): {} vector(s), shared memory {} ({size:#x} bytes)",
                    client.own_vectors(),
                    size_string(size)
                );
                for (id, n) in peers {
                    outln!("peer {id}: {n} vector(s)");
                }
            }
        }
        ClientCommand::Ring { peer, vector } => {
            let (peer, vector) = (u16_arg(peer, "the peer ID")?, u16_arg(vector, "the vector")?);
            client.ring(peer, vector)?;
            if cli.json {
                print_json(&serde_json::json!({ "self": me, "peer": peer, "vector": vector }));
            } else {
                outln!("peer {me}: rang peer {peer} vector {vector}");
            }
        }
        ClientCommand::Wait { vector, timeout } => {
            if !cli.json {
                let which = vector
                    .map(|v| format!("vector {v}"))
                    .unwrap_or_else(|| format!("any of {} vector(s)", client.own_vectors()));
                outln!("peer {me}: waiting for {which}");
            }
            let (v, count) = client.wait(*vector, Duration::from_millis(*timeout))?;
            if cli.json {
                print_json(&serde_json::json!({ "self": me, "vector": v, "count": count }));
            } else {
                outln!("peer {me}: vector {v} rung ({count} time(s))");
            }
        }
    }
    Ok(())
}

pub fn run_server(cli: &Cli, args: &ServerArgs) -> Result<()> {
    let size = parse_size(&args.size)?;
    // Block the stop signals before anything else so they arrive on the signalfd
    // and the server can remove its socket on the way out.
    let mut mask = SigSet::empty();
    for s in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        mask.add(s);
    }
    let sig_err = |e: nix::Error| Error::io("ivshmem-server", "cannot set up", "signal handling", e.into());
    mask.thread_block().map_err(sig_err)?;
    let signals = SignalFd::new(&mask).map_err(sig_err)?;
    let cfg = ServerConfig { socket: args.socket.clone(), shm: args.shm.clone(), size, vectors: args.vectors };
    let mut server = Server::bind(&cfg)?;
    let json = cli.json;
    if json {
        let line = serde_json::json!({ "event": "listening", "socket": server.socket(), "shm": server.shm_path(), "size": size, "vectors": args.vectors });
        outln!("{line}");
    } else {
        outln!(
            "ivshmem-server: listening on {}; shared memory {} ({}), {} vector(s) per peer",
            server.socket().display(),
            server.shm_path().display(),
            size_string(size),
            args.vectors
        );
    }
    server.run(Some(signals.as_fd()), &mut |event| {
        if json {
            outln!("{}", serde_json::to_string(event).unwrap_or_default());
        } else {
            outln!("ivshmem-server: {event}");
        }
    })?;
    let signal = signals.read_signal().ok().flatten().map(|s| s.ssi_signo).unwrap_or(0);
    let peers = server.peers().len();
    drop(server);
    if json {
        outln!("{}", serde_json::json!({ "event": "stopped", "signal": signal, "peers": peers }));
    } else {
        outln!("ivshmem-server: stopped by signal {signal}; {peers} peer(s) disconnected, socket removed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_bytes() {
        assert_eq!(parse_hex_bytes("deadbeef").unwrap(), [0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(parse_hex_bytes("0xDE AD:be_ef").unwrap(), [0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(parse_hex_bytes(" 01 ").unwrap(), [1]);
        for bad in ["", "0x", "abc", "zz", "0x1g"] {
            assert!(parse_hex_bytes(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rates_only_for_long_transfers() {
        assert_eq!(rate(100, Duration::from_millis(1)), "");
        assert!(rate(2 << 20, Duration::from_millis(1)).contains("MiB/s"));
    }
}
