//! `mmiodrv ivshmem ...` and `mmiodrv ivshmem-server`: the shared memory from
//! the guest (a device) or the host (`file:PATH`), doorbells, a host-side
//! client and a server for ivshmem-doorbell peers.

use mmiodrv::error::AccessError;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::bench::BenchResult;
use super::client::Client;
use super::server::{Server, ServerConfig};
use super::{bench, doorbell_value, HostMemory, Ivshmem, SharedMemory, Variant};
use mmiodrv::backend::IrqEvent;
use mmiodrv::command::{Arg, Call, Command, Needs, Report, Run, Subject, Value};
use mmiodrv::error::{DeviceRef, Error, ErrorKind, Result};
use mmiodrv::text::{hexdump_lines, size_string};

/// Bulk transfers move this much per step (and per progress update).
const CHUNK: usize = 1 << 20;
/// Longest file `write` reads into memory at once is the shared memory itself;
/// this caps what is read before the size check can apply.
const MAX_WRITE_FILE: u64 = 1 << 40;

const OFFSET: Arg = Arg::option("offset", Value::Size, "Start offset (K/M/G suffixes allowed)").default("0");
const TIMEOUT: Arg =
    Arg::option("timeout", Value::Millis, "Give up after this many milliseconds (exit status 8)").default("5000");
const VECTOR: Arg = Arg::option("vector", Value::Bits(16), "Only this vector counts (default: any)");

/// `ivshmem info`.
const INFO: Command = Command {
    name: "info",
    about: "Variant, shared-memory size, peer ID (IVPosition) and MSI-X vectors",
    args: &[],
    subcommands: &[],
    examples: &[("mmiodrv -s 00:05.0 ivshmem info", ""), ("mmiodrv --device file:/dev/shm/ivshmem ivshmem info", "")],
    needs: Needs::DeviceOrFile,
    run: Run::Call(info),
    aliases: &[],
    hidden: false,
};

/// `ivshmem read`.
const READ: Command = Command {
    name: "read",
    about: "Read --len bytes at --offset of the shared memory: raw into --out FILE, else a hexdump",
    args: &[
        OFFSET,
        Arg::option("len", Value::Size, "Number of bytes (K/M/G suffixes allowed)").required(),
        Arg::option("out", Value::Path, "Write the raw bytes to this file instead of printing a hexdump"),
    ],
    subcommands: &[],
    examples: &[("mmiodrv -s 00:05.0 ivshmem read --len 64", "hexdump of the first 64 bytes")],
    needs: Needs::DeviceOrFile,
    run: Run::Call(read),
    aliases: &[],
    hidden: false,
};

/// `ivshmem write`.
const WRITE: Command = Command {
    name: "write",
    about: "Write the contents of FILE, --hex bytes or --string text at --offset",
    args: &[
        OFFSET,
        Arg::positional("FILE", Value::Path, "File whose bytes to write").optional(),
        Arg::option(
            "hex",
            Value::Text,
            "Bytes in hex, first byte first: \"deadbeef\", \"de ad be ef\", \"0xdeadbeef\"",
        ),
        Arg::option("string", Value::Text, "UTF-8 text (no terminating NUL is added)"),
    ],
    subcommands: &[],
    examples: &[("mmiodrv -s 00:05.0 ivshmem write --string hello --offset 0x100", "")],
    needs: Needs::DeviceOrFile,
    run: Run::Call(write),
    aliases: &[],
    hidden: false,
};

/// `ivshmem fill`.
const FILL: Command = Command {
    name: "fill",
    about: "Set --len bytes at --offset (default: up to the end) to --byte",
    args: &[
        OFFSET,
        Arg::option("len", Value::Size, "Number of bytes (default: from the offset to the end)"),
        Arg::option("byte", Value::Bits(8), "The byte value").default("0"),
    ],
    subcommands: &[],
    examples: &[("mmiodrv -s 00:05.0 ivshmem fill --byte 0xff", "")],
    needs: Needs::DeviceOrFile,
    run: Run::Call(fill),
    aliases: &[],
    hidden: false,
};

/// `ivshmem dump`.
const DUMP: Command = Command {
    name: "dump",
    about: "The whole shared memory: raw into --out FILE, else a hexdump with repeated lines folded into '*'",
    args: &[Arg::option("out", Value::Path, "Write the raw bytes to this file instead of a hexdump")],
    subcommands: &[],
    examples: &[("mmiodrv -s 00:05.0 ivshmem dump --out shm.bin", "")],
    needs: Needs::DeviceOrFile,
    run: Run::Call(dump),
    aliases: &[],
    hidden: false,
};

/// `ivshmem bench`.
const BENCH: Command = Command {
    name: "bench",
    about: "Time bulk copies into and out of the shared memory against memcpy between two RAM buffers \
            (the memory's contents are saved and restored)",
    args: &[
        Arg::option("size", Value::Size, "Bytes per copy (default: the whole shared memory, at most 64M)"),
        Arg::option("rounds", Value::Bits(32), "Repetitions of each copy; the fastest counts").default("20"),
        Arg::flag(
            "live",
            "Run even when a peer is writing the memory (its writes during the run are lost \
             when the saved contents are put back)",
        ),
    ],
    subcommands: &[],
    examples: &[("mmiodrv -s 00:05.0 ivshmem bench --size 1M", "")],
    needs: Needs::DeviceOrFile,
    run: Run::Call(bench_cmd),
    aliases: &[],
    hidden: false,
};

/// `ivshmem doorbell`.
const DOORBELL: Command = Command {
    name: "doorbell",
    about: "Ring VECTOR of PEER through the DOORBELL register (ivshmem-doorbell)",
    args: &[
        Arg::positional("PEER", Value::Bits(16), "The peer ID to interrupt"),
        Arg::positional("VECTOR", Value::Bits(16), "Its vector"),
    ],
    subcommands: &[],
    examples: &[("mmiodrv -s 00:06.0 ivshmem doorbell 1 0", "ring peer 1, vector 0")],
    needs: Needs::DeviceOrFile,
    run: Run::Call(doorbell),
    aliases: &[],
    hidden: false,
};

/// `ivshmem wait`.
const WAIT: Command = Command {
    name: "wait",
    about: "Wait for a doorbell on this device's MSI-X vectors (ivshmem-doorbell bound to vfio-pci)",
    args: &[VECTOR, TIMEOUT],
    subcommands: &[],
    examples: &[("mmiodrv -s 00:06.0 ivshmem wait --vector 1", "")],
    needs: Needs::DeviceOrFile,
    run: Run::Call(wait),
    aliases: &[],
    hidden: false,
};

/// `ivshmem client peers`.
const PEERS: Command = Command {
    name: "peers",
    about: "Connect and list the peers the server announces",
    args: &[],
    subcommands: &[],
    examples: &[("mmiodrv ivshmem client --socket /tmp/ivshmem.sock peers", "")],
    needs: Needs::Nothing,
    run: Run::Call(client_peers),
    aliases: &[],
    hidden: false,
};

/// `ivshmem client ring`.
const RING: Command = Command {
    name: "ring",
    about: "Ring VECTOR of PEER",
    args: &[
        Arg::positional("PEER", Value::Bits(16), "The peer ID to interrupt"),
        Arg::positional("VECTOR", Value::Bits(16), "Its vector"),
    ],
    subcommands: &[],
    examples: &[("mmiodrv ivshmem client --socket /tmp/ivshmem.sock ring 0 1", "")],
    needs: Needs::Nothing,
    run: Run::Call(client_ring),
    aliases: &[],
    hidden: false,
};

/// `ivshmem client wait`.
const CLIENT_WAIT: Command = Command {
    name: "wait",
    about: "Connect, print our peer ID, and wait for one of our vectors to be rung",
    args: &[VECTOR, TIMEOUT],
    subcommands: &[],
    examples: &[("mmiodrv ivshmem client --socket /tmp/ivshmem.sock wait --vector 0", "")],
    needs: Needs::Nothing,
    run: Run::Call(client_wait),
    aliases: &[],
    hidden: false,
};

/// `ivshmem client`.
const CLIENT: Command = Command {
    name: "client",
    about: "Be a peer of an ivshmem server from the host: list peers, ring one, wait for a doorbell",
    args: &[Arg::option("socket", Value::Path, "The server's socket").required()],
    subcommands: &[PEERS, RING, CLIENT_WAIT],
    examples: &[],
    needs: Needs::Nothing,
    run: Run::Group,
    aliases: &[],
    hidden: false,
};

/// `mmiodrv ivshmem ...`.
pub const COMMANDS: &[Command] = &[INFO, READ, WRITE, FILL, DUMP, BENCH, DOORBELL, WAIT, CLIENT];

/// `mmiodrv ivshmem-server`.
const SERVER: Command = Command {
    name: "ivshmem-server",
    about: "Run an ivshmem server for ivshmem-doorbell peers (QEMU's protocol)",
    args: &[
        Arg::option("socket", Value::Path, "UNIX socket for peers (QEMU: -chardev socket,id=ID,path=PATH)").required(),
        Arg::option("shm", Value::Path, "Shared-memory file, created when missing (e.g. /dev/shm/ivshmem)").required(),
        Arg::option("size", Value::Size, "Shared-memory size: a power of two (K/M/G suffixes allowed)").default("4M"),
        Arg::option("vectors", Value::Bits(16), "Interrupt vectors per peer (QEMU: -device ivshmem-doorbell,vectors=N)")
            .default("1"),
        Arg::option("socket-mode", Value::Text, "The socket's permission bits, in octal: who may connect at all")
            .default("0660")
            .value_name("MODE"),
        Arg::option(
            "allow-uid",
            Value::Text,
            "Users whose processes may be peers besides this server's and root (numeric, comma-separated: QEMU's, e.g. libvirt-qemu's)",
        )
        .value_name("UIDS"),
        Arg::option("allow-gid", Value::Text, "Groups whose members may be peers (numeric, comma-separated)")
            .value_name("GIDS"),
        Arg::option("max-peers", Value::Bits(16), "Peers served at once; more are refused").default("16"),
    ],
    subcommands: &[],
    examples: &[
        ("mmiodrv ivshmem-server --socket /tmp/ivshmem.sock --shm /dev/shm/ivshmem --size 4M --vectors 2", ""),
        (
            "mmiodrv ivshmem-server --socket /run/ivshmem.sock --shm /dev/shm/ivshmem --allow-uid 64055 --max-peers 2",
            "QEMU running as uid 64055 may connect; two peers at most",
        ),
    ],
    needs: Needs::Nothing,
    run: Run::Call(server),
    aliases: &[],
    hidden: false,
};

/// Its top-level command.
pub const TOP_LEVEL: &[Command] = &[SERVER];

/// The JSON each command reports, declared with the command.
pub fn results(r: &mut mmiodrv::schema::Results) {
    let ivshmem = &super::DRIVER.command;
    r.add::<super::IvshmemInfo>(&[ivshmem, &INFO])
        .add::<HostFileInfo>(&[ivshmem, &INFO])
        .add::<Copied>(&[ivshmem, &READ])
        .add::<Bytes>(&[ivshmem, &READ])
        .add::<Written>(&[ivshmem, &WRITE])
        .add::<Filled>(&[ivshmem, &FILL])
        .add::<Copied>(&[ivshmem, &DUMP])
        .add::<Bytes>(&[ivshmem, &DUMP])
        .add::<Bench>(&[ivshmem, &BENCH])
        .add::<Rang>(&[ivshmem, &DOORBELL])
        .add::<Doorbell>(&[ivshmem, &WAIT])
        .add::<Peers>(&[ivshmem, &CLIENT, &PEERS])
        .add::<ClientRang>(&[ivshmem, &CLIENT, &RING])
        .add::<ClientRung>(&[ivshmem, &CLIENT, &CLIENT_WAIT])
        .add::<ServerReport>(&[&SERVER])
        .add::<super::server::ServerEvent>(&[&SERVER]);
}

/// What `ivshmem info` names a host file.
#[derive(Serialize, schemars::JsonSchema)]
enum HostFile {
    /// The host side of the shared memory.
    #[serde(rename = "host-file")]
    HostFile,
}

/// `ivshmem info` on a host file (`file:PATH`).
#[derive(Serialize, schemars::JsonSchema)]
struct HostFileInfo {
    /// The file, as `file:PATH`.
    device: DeviceRef,
    /// `host-file`.
    variant: HostFile,
    /// Its size in bytes.
    len: u64,
    /// The file.
    path: PathBuf,
}

/// `read` or `dump` into a file.
#[derive(Serialize, schemars::JsonSchema)]
struct Copied {
    /// The device (or `file:PATH`).
    device: DeviceRef,
    /// First byte.
    offset: u64,
    /// Bytes copied.
    len: u64,
    /// The file written.
    out: PathBuf,
    /// How long the copy took, in microseconds.
    elapsed_us: u64,
}

/// `read` or `dump` without `--out`: the bytes.
#[derive(Serialize, schemars::JsonSchema)]
struct Bytes {
    /// The device (or `file:PATH`).
    device: DeviceRef,
    /// First byte.
    offset: u64,
    /// Bytes read.
    len: u64,
    /// The bytes in hex, two digits each.
    hex: String,
}

/// `write`.
#[derive(Serialize, schemars::JsonSchema)]
struct Written {
    /// The device (or `file:PATH`).
    device: DeviceRef,
    /// First byte.
    offset: u64,
    /// Bytes written.
    len: u64,
    /// How long the copy took, in microseconds.
    elapsed_us: u64,
}

/// `fill`.
#[derive(Serialize, schemars::JsonSchema)]
struct Filled {
    /// The device (or `file:PATH`).
    device: DeviceRef,
    /// First byte.
    offset: u64,
    /// Bytes set.
    len: u64,
    /// Their value.
    byte: u8,
    /// How long it took, in microseconds.
    elapsed_us: u64,
}

/// `bench`.
#[derive(Serialize, schemars::JsonSchema)]
struct Bench {
    /// The device (or `file:PATH`).
    device: DeviceRef,
    /// The throughputs.
    bench: BenchResult,
}

/// `doorbell`.
#[derive(Serialize, schemars::JsonSchema)]
struct Rang {
    /// The device.
    device: DeviceRef,
    /// The peer interrupted.
    peer: u16,
    /// Its vector.
    vector: u16,
    /// The value written to DOORBELL.
    doorbell: u32,
}

/// `wait`: the doorbell that came.
#[derive(Serialize, schemars::JsonSchema)]
struct Doorbell {
    /// The device.
    device: DeviceRef,
    /// The vector rung, and how often.
    interrupt: IrqEvent,
}

/// A peer the server announced.
#[derive(Serialize, schemars::JsonSchema)]
struct Peer {
    /// Its ID.
    peer: u16,
    /// Its vectors.
    vectors: usize,
}

/// `client peers`.
#[derive(Serialize, schemars::JsonSchema)]
struct Peers {
    /// The server's socket.
    socket: PathBuf,
    /// This client's peer ID.
    #[serde(rename = "self")]
    me: u16,
    /// This client's vectors.
    vectors: usize,
    /// The shared memory's size in bytes.
    len: u64,
    /// The other peers.
    peers: Vec<Peer>,
}

/// `client ring`.
#[derive(Serialize, schemars::JsonSchema)]
struct ClientRang {
    /// This client's peer ID.
    #[serde(rename = "self")]
    me: u16,
    /// The peer rung.
    peer: u16,
    /// Its vector.
    vector: u16,
}

/// `client wait`: the vector rung.
#[derive(Serialize, schemars::JsonSchema)]
struct ClientRung {
    /// This client's peer ID.
    #[serde(rename = "self")]
    me: u16,
    /// The vector rung.
    vector: u16,
    /// How many times.
    count: u64,
}

/// `ivshmem-server`: its start and its end (between them, each
/// [`super::server::ServerEvent`]).
#[derive(Serialize, schemars::JsonSchema)]
#[serde(tag = "event", rename_all = "lowercase")]
enum ServerReport {
    /// Ready for peers.
    Listening {
        /// The socket peers connect to.
        socket: PathBuf,
        /// The shared-memory file.
        shm: PathBuf,
        /// Its size in bytes.
        len: u64,
        /// Vectors per peer.
        vectors: u16,
    },
    /// Stopped (a signal).
    Stopped {
        /// Peers disconnected.
        peers: usize,
    },
}

/// Whether a command writes the memory (the host file is then opened writable).
fn writes(name: &str) -> bool {
    matches!(name, "write" | "fill" | "bench")
}

/// Between the 1 MiB chunks of a long copy: a stop (a signal, the kernel's
/// request for the device) ends it there, saying how far it got.
fn between_chunks(done: u64, len: u64, offset: u64, what: &str) -> Result<()> {
    match mmiodrv::stop::requested() {
        None => Ok(()),
        Some(stop) => Err(stop.error(format!("{done} of {len} bytes at {offset:#x} were {what}, the rest was not"))),
    }
}

/// Run `f` on the shared memory: the device's BAR2, or the host file.
fn with_memory(
    call: &mut Call<'_>,
    writable: bool,
    f: impl FnOnce(&mut Call<'_>, &SharedMemory, &DeviceRef) -> Result<()>,
) -> Result<()> {
    match call.subject {
        Subject::File(path) => {
            let host = HostMemory::open(path, writable)?;
            f(call, host.memory(), &DeviceRef::File(path.to_path_buf()))
        }
        _ => {
            let ivshmem = Ivshmem::open(call.device()?.backend())?;
            let name = ivshmem.name().clone();
            f(call, ivshmem.memory(), &name)
        }
    }
}

fn device_only<'a>(call: &Call<'a>, what: &'static str) -> Result<Ivshmem<'a>> {
    if let Subject::File(path) = call.subject {
        let why = "on the host use `ivshmem client --socket PATH ring|wait` with an ivshmem server".into();
        return Err(Error::on(DeviceRef::File(path.to_path_buf()), ErrorKind::NotSupported { what, why }));
    }
    Ivshmem::open(call.device()?.backend())
}

fn info(call: &mut Call<'_>) -> Result<()> {
    if let Subject::File(path) = call.subject {
        let host = HostMemory::open(path, false)?;
        let name = DeviceRef::File(path.to_path_buf());
        let size = host.memory().len();
        let line = format!("{name}: host side of an ivshmem shared memory, {} ({size:#x} bytes)", size_string(size));
        let json = HostFileInfo { device: name, variant: HostFile::HostFile, len: size, path: path.to_path_buf() };
        call.report(Report::line(json, line));
        return Ok(());
    }
    let ivshmem = Ivshmem::open(call.device()?.backend())?;
    let info = ivshmem.info()?;
    let name = &info.device;
    let size = format!("shared memory {} ({:#x} bytes, BAR2)", size_string(info.len), info.len);
    let line = match info.variant {
        Variant::Plain => format!(
            "{name}: {}, {size}, peer ID {} (no server), no interrupts, {} backend",
            info.variant, info.peer_id, info.backend
        ),
        Variant::Doorbell => format!(
            "{name}: {}, {size}, peer ID {}, {} MSI-X vector(s), {} backend",
            info.variant, info.peer_id, info.vectors, info.backend
        ),
    };
    call.report(Report::line(&info, line));
    Ok(())
}

/// A duration in whole microseconds.
fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// " (12.3 ms, 456.7 MiB/s)" for transfers of 1 MiB and more, else nothing.
fn rate(bytes: u64, elapsed: Duration) -> String {
    if bytes < 1 << 20 {
        return String::new();
    }
    let secs = elapsed.as_secs_f64().max(1e-9);
    format!(" ({:.1} ms, {:.1} MiB/s)", secs * 1e3, bytes as f64 / secs / (1 << 20) as f64)
}

fn usize_len(len: u64) -> Result<usize> {
    usize::try_from(len).map_err(|_| Error::invalid(len.to_string(), "too large"))
}

fn read(call: &mut Call<'_>) -> Result<()> {
    let offset = call.args.int("offset")?;
    let len = call.args.int("len")?;
    let out = call.args.opt_path("out").map(Path::to_path_buf);
    check_out(out.as_deref())?;
    with_memory(call, false, |call, mem, name| {
        mem.check(offset, len)?;
        read_out(call, mem, name, offset, len, out.as_deref(), false)
    })
}

fn dump(call: &mut Call<'_>) -> Result<()> {
    let out = call.args.opt_path("out").map(Path::to_path_buf);
    check_out(out.as_deref())?;
    with_memory(call, false, |call, mem, name| read_out(call, mem, name, 0, mem.len(), out.as_deref(), true))
}

/// An output file is checked before the memory is opened.
fn check_out(out: Option<&Path>) -> Result<()> {
    out.map_or(Ok(()), |p| mmiodrv::value::check_output_path(p, "the output file"))
}

fn write(call: &mut Call<'_>) -> Result<()> {
    let offset = call.args.int("offset")?;
    let given = [
        call.args.opt_path("FILE").is_some(),
        call.args.opt_text("hex").is_some(),
        call.args.opt_text("string").is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(Error::invalid("", "give exactly one of FILE, --hex or --string"));
    }
    // The file is checked before the memory is opened: a regular file, never
    // a FIFO or a device. Its size is checked against the memory before it is read.
    let file = call.args.opt_path("FILE").map(Path::to_path_buf);
    if let Some(path) = &file {
        mmiodrv::value::check_regular_file(path, "the data to write")?;
    }
    let hex = call.args.opt_text("hex").map(mmiodrv::value::parse_hex_bytes).transpose()?;
    let text = call.args.opt_text("string").map(|t| t.as_bytes().to_vec());
    with_memory(call, writes("write"), |call, mem, name| {
        let data = match (file, hex, text) {
            (Some(path), _, _) => {
                let meta = std::fs::metadata(&path).map_err(|e| Error::io_on(name.clone(), "cannot read", &path, e))?;
                mem.check(offset, meta.len())?;
                mmiodrv::value::read_regular_file(&path, "the data to write", mem.len().min(MAX_WRITE_FILE))?
            }
            (_, Some(bytes), _) => bytes,
            (_, _, Some(bytes)) => bytes,
            _ => Vec::new(),
        };
        if data.is_empty() {
            return Err(Error::invalid("", "nothing to write (empty data)"));
        }
        mem.check(offset, data.len() as u64)?;
        let mut progress = call.out.progress(data.len() as u64, "write");
        let start = Instant::now();
        for (i, chunk) in data.chunks(CHUNK).enumerate() {
            between_chunks((i * CHUNK) as u64, data.len() as u64, offset, "written")?;
            mem.write(offset + (i * CHUNK) as u64, chunk)?;
            progress.advance(chunk.len() as u64);
        }
        let took = start.elapsed();
        drop(progress);
        let line = format!("{name}: wrote {} bytes at {offset:#x}{}", data.len(), rate(data.len() as u64, took));
        let json = Written { device: name.clone(), offset, len: data.len() as u64, elapsed_us: micros(took) };
        call.report(Report::line(json, line));
        Ok(())
    })
}

fn fill(call: &mut Call<'_>) -> Result<()> {
    let offset = call.args.int("offset")?;
    let len = call.args.opt_int("len");
    let byte = call.args.int("byte")? as u8;
    with_memory(call, writes("fill"), |call, mem, name| {
        let len = match len {
            Some(l) => l,
            None => mem
                .len()
                .checked_sub(offset)
                .ok_or_else(|| Error::from(AccessError::OutOfRange { offset, width: 0, len: mem.len() }))?,
        };
        mem.check(offset, len)?;
        let mut progress = call.out.progress(len, "fill");
        let start = Instant::now();
        let mut done = 0u64;
        while done < len {
            between_chunks(done, len, offset, "filled")?;
            let n = (len - done).min(CHUNK as u64);
            mem.fill(offset + done, n, byte)?;
            progress.advance(n);
            done += n;
        }
        let took = start.elapsed();
        drop(progress);
        let line = format!("{name}: filled {len} bytes at {offset:#x} with {byte:#04x}{}", rate(len, took));
        let json = Filled { device: name.clone(), offset, len, byte, elapsed_us: micros(took) };
        call.report(Report::line(json, line));
        Ok(())
    })
}

fn bench_cmd(call: &mut Call<'_>) -> Result<()> {
    let size = call.args.opt_int("size");
    let rounds = call.args.int("rounds")? as u32;
    let live = call.args.flag("live");
    with_memory(call, writes("bench"), |call, mem, name| {
        let bytes = size.unwrap_or_else(|| mem.len().min(64 << 20));
        let r = bench::run(mem, bytes, rounds, live)?;
        let mib = |v: f64| v / f64::from(1u32 << 20);
        let lines = vec![
            format!("{name}: bulk copies of {} ({bytes} bytes), best of {rounds}", size_string(bytes)),
            format!("  with {}", r.accesses),
            format!("  memcpy  RAM -> RAM     {:>10.1} MiB/s", mib(r.memcpy)),
            format!("  write   RAM -> shared  {:>10.1} MiB/s  ({:.2} x memcpy)", mib(r.write), r.write_ratio),
            format!("  read    shared -> RAM  {:>10.1} MiB/s  ({:.2} x memcpy)", mib(r.read), r.read_ratio),
            format!("  fill    shared         {:>10.1} MiB/s", mib(r.fill)),
        ];
        call.report(Report::new(Bench { device: name.clone(), bench: r }, lines));
        Ok(())
    })
}

fn doorbell(call: &mut Call<'_>) -> Result<()> {
    let ivshmem = device_only(call, "a doorbell on a memory-backend file")?;
    let name = ivshmem.name().clone();
    let (peer, vector) = (call.args.int("PEER")? as u16, call.args.int("VECTOR")? as u16);
    ivshmem.ring(peer, vector)?;
    let value = doorbell_value(peer, vector)?;
    let line = format!("{name}: rang peer {peer} vector {vector} (DOORBELL {value:#010x})");
    call.report(Report::line(Rang { device: name, peer, vector, doorbell: value }, line));
    Ok(())
}

fn wait(call: &mut Call<'_>) -> Result<()> {
    let ivshmem = device_only(call, "waiting for a doorbell on a memory-backend file")?;
    let name = ivshmem.name().clone();
    let vector = call.args.opt_int("vector").map(|v| v as u16);
    let timeout = call.args.millis("timeout")?;
    let mut irqs = ivshmem.arm()?;
    log::info!("{name}: {} MSI-X vector(s) armed", irqs.vectors());
    let event = ivshmem.wait(irqs.as_mut(), vector, timeout)?;
    let line = format!("{name}: doorbell on {} vector {} ({} time(s))", event.kind, event.vector, event.count);
    call.report(Report::line(Doorbell { device: name, interrupt: event }, line));
    Ok(())
}

/// `read` and `dump`: into a file chunk by chunk, else a hexdump (or JSON hex).
fn read_out(
    call: &mut Call<'_>,
    mem: &SharedMemory,
    name: &DeviceRef,
    offset: u64,
    len: u64,
    out: Option<&Path>,
    squeeze: bool,
) -> Result<()> {
    let mut progress = call.out.progress(len, "read");
    let start = Instant::now();
    if let Some(path) = out {
        // A stop already pending leaves an existing file alone.
        between_chunks(0, len, offset, "read")?;
        let mut file = mmiodrv::value::create_output_file(path).map_err(|e| e.with_device(name.clone()))?;
        let mut buf = vec![0u8; usize_len(len.min(CHUNK as u64))?];
        let mut done = 0u64;
        while done < len {
            between_chunks(done, len, offset, "read")?;
            let n = usize_len((len - done).min(CHUNK as u64))?;
            mem.read(offset + done, &mut buf[..n])?;
            file.write_all(&buf[..n]).map_err(|e| Error::io_on(name.clone(), "cannot write", path, e))?;
            progress.advance(n as u64);
            done += n as u64;
        }
        file.commit().map_err(|e| e.with_device(name.clone()))?;
        let took = start.elapsed();
        drop(progress);
        let line = format!("{name}: {len} bytes at {offset:#x} -> {}{}", path.display(), rate(len, took));
        let json = Copied { device: name.clone(), offset, len, out: path.to_path_buf(), elapsed_us: micros(took) };
        call.report(Report::line(json, line));
        return Ok(());
    }
    let mut data = vec![0u8; usize_len(len)?];
    for (i, chunk) in data.chunks_mut(CHUNK).enumerate() {
        between_chunks((i * CHUNK) as u64, len, offset, "read")?;
        mem.read(offset + (i * CHUNK) as u64, chunk)?;
        progress.advance(chunk.len() as u64);
    }
    drop(progress);
    let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
    let json = Bytes { device: name.clone(), offset, len, hex };
    let lines = hexdump_lines(offset, &data);
    if !squeeze {
        call.report(Report::new(json, lines));
        return Ok(());
    }
    // hexdump -C style: a line equal to the one before becomes one '*'.
    let mut shown = Vec::new();
    let mut starred = false;
    for (i, line) in lines.into_iter().enumerate() {
        let same = i > 0 && data.get(i * 16..(i + 1) * 16) == data.get((i - 1) * 16..i * 16);
        if same {
            if !starred {
                shown.push("*".to_string());
                starred = true;
            }
        } else {
            starred = false;
            shown.push(line);
        }
    }
    shown.push(format!("{:08x}", offset + len));
    call.report(Report::new(json, shown));
    Ok(())
}

fn connect(call: &Call<'_>) -> Result<(Client, std::path::PathBuf)> {
    let socket = call.args.path("socket")?.to_path_buf();
    Ok((Client::connect(&socket, Duration::from_secs(5))?, socket))
}

fn client_peers(call: &mut Call<'_>) -> Result<()> {
    let (client, socket) = connect(call)?;
    let me = client.id();
    let peers = client.peers();
    let size = client.shm_size()?;
    let mut lines = vec![format!(
        "peer {me} (this client): {} vector(s), shared memory {} ({size:#x} bytes)",
        client.own_vectors(),
        size_string(size)
    )];
    lines.extend(peers.iter().map(|(id, n)| format!("peer {id}: {n} vector(s)")));
    let peers = peers.iter().map(|&(peer, vectors)| Peer { peer, vectors }).collect();
    let json = Peers { socket, me, vectors: client.own_vectors(), len: size, peers };
    call.report(Report::new(json, lines));
    Ok(())
}

fn client_ring(call: &mut Call<'_>) -> Result<()> {
    let (mut client, _) = connect(call)?;
    let me = client.id();
    let (peer, vector) = (call.args.int("PEER")? as u16, call.args.int("VECTOR")? as u16);
    client.ring(peer, vector)?;
    call.report(Report::line(ClientRang { me, peer, vector }, format!("peer {me}: rang peer {peer} vector {vector}")));
    Ok(())
}

fn client_wait(call: &mut Call<'_>) -> Result<()> {
    let (mut client, _) = connect(call)?;
    let me = client.id();
    let vector = call.args.opt_int("vector").map(|v| v as u16);
    let timeout = call.args.millis("timeout")?;
    let which =
        vector.map(|v| format!("vector {v}")).unwrap_or_else(|| format!("any of {} vector(s)", client.own_vectors()));
    // A line for people, before the wait; JSON output has only the result.
    call.report(Report::text(format!("peer {me}: waiting for {which}")));
    let (v, count) = client.wait(vector, timeout)?;
    call.report(Report::line(
        ClientRung { me, vector: v, count },
        format!("peer {me}: vector {v} rung ({count} time(s))"),
    ));
    Ok(())
}

/// A comma-separated list of numeric IDs (`1000,1001`).
fn ids(text: Option<&str>, what: &str) -> Result<Vec<u32>> {
    let Some(text) = text else { return Ok(Vec::new()) };
    text.split(',')
        .map(|t| {
            t.trim()
                .parse::<u32>()
                .map_err(|_| Error::invalid(t, format!("expected numeric {what} IDs, such as 1000,1001")))
        })
        .collect()
}

fn server(call: &mut Call<'_>) -> Result<()> {
    let mut cfg = ServerConfig::new(
        call.args.path("socket")?.to_path_buf(),
        call.args.path("shm")?.to_path_buf(),
        call.args.int("size")?,
        call.args.int("vectors")? as u16,
    );
    let mode = call.args.text("socket-mode")?;
    cfg.socket_mode = u32::from_str_radix(mode.trim_start_matches("0o"), 8)
        .ok()
        .filter(|m| *m <= 0o777)
        .ok_or_else(|| Error::invalid(mode, "expected permission bits in octal, such as 0660"))?;
    cfg.allow_uids = ids(call.args.opt_text("allow-uid"), "user")?;
    cfg.allow_gids = ids(call.args.opt_text("allow-gid"), "group")?;
    cfg.max_peers = usize::try_from(call.args.int("max-peers")?).unwrap_or(usize::MAX);
    let mut server = Server::bind(&cfg)?;
    let listening = format!(
        "ivshmem-server: listening on {}; shared memory {} ({}), {} vector(s) per peer",
        server.socket().display(),
        server.shm_path().display(),
        size_string(cfg.size),
        cfg.vectors
    );
    call.report(Report::line(
        ServerReport::Listening {
            socket: server.socket().to_path_buf(),
            shm: server.shm_path().to_path_buf(),
            len: cfg.size,
            vectors: cfg.vectors,
        },
        listening,
    ));
    let op = call.path.to_string();
    let out = &mut *call.out;
    let stop = out
        .stop_fd()
        .map(|fd| fd.try_clone_to_owned())
        .transpose()
        .map_err(|e| Error::io("cannot duplicate", "the stop descriptor", e))?;
    let mut report = |r: Report| out.emit(mmiodrv::outcome::Outcome::Report { op: op.clone(), report: r });
    server.run(stop.as_ref().map(std::os::fd::AsFd::as_fd), &mut |event| {
        report(Report::line(event, format!("ivshmem-server: {event}")));
    })?;
    let peers = server.peers().len();
    drop(server);
    report(Report::line(
        ServerReport::Stopped { peers },
        format!("ivshmem-server: stopped; {peers} peer(s) disconnected, socket removed"),
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_only_for_long_transfers() {
        assert_eq!(rate(100, Duration::from_millis(1)), "");
        assert!(rate(2 << 20, Duration::from_millis(1)).contains("MiB/s"));
    }
}
