//! `mmiodrv e1000 tx`, `rx` and `stats`: frames through the rings of
//! [`super::nic`], counted and timed, and the device's statistics registers.
//!
//! Every argument is checked by the parser (frame size, count, ring size,
//! MAC), so bad input is refused before the device is opened; the rings are
//! allocated before the device is written (see [`Nic::open`]).

use std::str::FromStr;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::nic::{check_ring, Counters, Mode, NetConfig, Nic, BATCH, MAX_FRAME, MIN_FRAME};
use super::regs::*;
use super::{MacAddress, E1000};
use mmiodrv::command::{Arg, Call, Command, Needs, Report, Run, Value};
use mmiodrv::error::{DeviceRef, Error, ErrorKind, Result};
use mmiodrv::text::hexdump_lines;

/// The EtherType of the frames `e1000 tx` sends: IEEE 802's local
/// experimental EtherType 1, which no protocol stack claims.
pub const ETHERTYPE: u16 = 0x88b5;
/// Where a test frame carries its sequence number (4 bytes, big-endian).
pub const SEQ_OFFSET: usize = 14;

/// The test frame `e1000 tx` sends (and benches/baseline/af_packet.c
/// sends and checks): `dst`, `src`, EtherType [`ETHERTYPE`], the sequence
/// number `seq` at [`SEQ_OFFSET`], then byte `i` of the frame is `i % 256`.
pub fn test_frame(dst: MacAddress, src: MacAddress, len: usize, seq: u32) -> Vec<u8> {
    let mut f: Vec<u8> = (0..len).map(|i| i as u8).collect();
    f[0..6].copy_from_slice(&dst.0);
    f[6..12].copy_from_slice(&src.0);
    f[12..14].copy_from_slice(&ETHERTYPE.to_be_bytes());
    f[SEQ_OFFSET..SEQ_OFFSET + 4].copy_from_slice(&seq.to_be_bytes());
    f
}

impl FromStr for MacAddress {
    type Err = Error;
    /// Six hex bytes separated by `:` or `-`.
    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::invalid(s, "expected a MAC address: six hex bytes such as 52:54:00:12:34:56");
        let mut mac = [0u8; 6];
        let mut parts = s.split([':', '-']);
        for byte in mac.iter_mut() {
            let part = parts.next().filter(|p| (1..=2).contains(&p.len())).ok_or_else(bad)?;
            *byte = u8::from_str_radix(part, 16).map_err(|_| bad())?;
        }
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(MacAddress(mac))
    }
}

fn frame_size(text: &str) -> Result<usize> {
    let n = mmiodrv::value::parse_u64(text)?;
    if !(MIN_FRAME as u64..=MAX_FRAME as u64).contains(&n) {
        return Err(Error::invalid(
            text,
            format!("a frame is {MIN_FRAME} to {MAX_FRAME} bytes (without the 4-byte CRC the device adds)"),
        ));
    }
    Ok(n as usize)
}

fn frame_count(text: &str) -> Result<u32> {
    let n = mmiodrv::value::parse_u64(text)?;
    if n == 0 || n > u64::from(u32::MAX) {
        return Err(Error::invalid(text, "the count is 1 to 4294967295 frames"));
    }
    Ok(n as u32)
}

fn ring_size(text: &str) -> Result<u32> {
    let n = mmiodrv::value::parse_u64(text)?;
    let n = u32::try_from(n).map_err(|_| Error::invalid(text, "descriptors per ring: at most 4096"))?;
    check_ring(n)?;
    Ok(n)
}

const COUNT: Arg =
    Arg::option("count", Value::Checked(|t| frame_count(t).map(drop), "N"), "Number of frames (at least 1)").required();
const POLL: Arg =
    Arg::flag("poll", "Polling mode: read the descriptors' DD bits in a loop (the default)").conflicts(&["irq"]);
const IRQ: Arg =
    Arg::flag("irq", "Interrupt mode: sleep until the device's interrupt (INTx through VFIO), then read ICR")
        .conflicts(&["poll"]);
const RING: Arg = Arg::option(
    "ring",
    Value::Checked(|t| ring_size(t).map(drop), "N"),
    "Descriptors per ring: a power of two, 8 to 4096",
)
.default("256");
const TIMEOUT: Arg =
    Arg::option("timeout", Value::Millis, "Give up after this many milliseconds (exit status 8)").default("10000");

/// `e1000 tx`.
pub const TX: Command = Command {
    name: "tx",
    about: "Send frames through the transmit ring (VFIO): count, bytes, drops and rate",
    args: &[
        COUNT,
        Arg::option(
            "size",
            Value::Checked(|t| frame_size(t).map(drop), "BYTES"),
            "Frame length in bytes, 60 to 1514 (the device adds the 4-byte CRC)",
        )
        .default("60"),
        Arg::option(
            "dst",
            Value::Checked(|t| MacAddress::from_str(t).map(drop), "MAC"),
            "Destination MAC address (default: broadcast)",
        )
        .default("ff:ff:ff:ff:ff:ff"),
        POLL,
        IRQ,
        RING,
        TIMEOUT,
    ],
    subcommands: &[],
    examples: &[
        ("mmiodrv -s 00:0e.0 e1000 tx --count 1000 --size 1514", "1000 full-size broadcast frames, polling"),
        ("mmiodrv -s 00:0e.0 e1000 tx --count 64 --dst 52:54:00:12:34:56 --irq", "freeing buffers on interrupts"),
    ],
    needs: Needs::Device,
    run: Run::Call(tx),
    aliases: &[],
    hidden: false,
};

/// `e1000 rx`.
pub const RX: Command = Command {
    name: "rx",
    about: "Receive frames through the receive ring (VFIO): count, bytes, drops and rate; --dump prints them",
    args: &[
        COUNT,
        TIMEOUT,
        POLL,
        IRQ,
        Arg::flag("dump", "Print every frame: addresses, EtherType and a hexdump (in JSON: hex)"),
        RING,
    ],
    subcommands: &[],
    examples: &[
        ("mmiodrv -s 00:0e.0 e1000 rx --count 100 --timeout 5000", "wait up to 5 s for 100 frames"),
        ("mmiodrv -s 00:0e.0 e1000 rx --count 4 --irq --dump", "sleep on the interrupt, print the frames"),
    ],
    needs: Needs::Device,
    run: Run::Call(rx),
    aliases: &[],
    hidden: false,
};

/// `e1000 stats`.
pub const STATS: Command = Command {
    name: "stats",
    about: "Print the statistics registers (frames and octets sent and received, missed, errors); reading clears them",
    args: &[],
    subcommands: &[],
    examples: &[("mmiodrv -s 00:0e.0 e1000 stats", "what the device counted since the last read")],
    needs: Needs::Device,
    run: Run::Call(stats),
    aliases: &[],
    hidden: false,
};

/// The JSON of these commands.
pub fn results(r: &mut mmiodrv::schema::Results) {
    let e1000 = &super::DRIVER.command;
    r.add::<TxReport>(&[e1000, &TX]).add::<RxReport>(&[e1000, &RX]).add::<StatsReport>(&[e1000, &STATS]);
}

/// `e1000 tx`: what was sent, how fast.
#[derive(Serialize, schemars::JsonSchema)]
struct TxReport {
    /// The device.
    device: DeviceRef,
    /// Polling or interrupts.
    mode: Mode,
    /// Source address (receive address 0, else the EEPROM's).
    src: MacAddress,
    /// Destination address.
    dst: MacAddress,
    /// Frame length in bytes, without the CRC.
    size: usize,
    /// Frames asked for.
    count: u32,
    /// Frames the device reported sent (DD written back).
    sent: u64,
    /// Their bytes.
    bytes: u64,
    /// Frames not sent (the device did not take them in time).
    dropped: u64,
    /// From the first frame handed over to the last reported sent, in ms.
    elapsed_ms: f64,
    /// Frames per second over that time.
    packets_per_second: f64,
    /// Bytes per second over that time (without CRC, preamble and gap).
    bytes_per_second: f64,
    /// Descriptors per ring.
    ring: u32,
    /// The data path's counters (interrupts, doorbells...).
    counters: Counters,
}

/// One frame received (`--dump`).
#[derive(Serialize, schemars::JsonSchema)]
struct FrameDump {
    /// Its place in the run, from 0.
    index: u64,
    /// Length in bytes, without the CRC.
    len: usize,
    /// Destination address.
    dst: MacAddress,
    /// Source address.
    src: MacAddress,
    /// EtherType (or 802.3 length).
    ethertype: u16,
    /// The whole frame in hex, two digits a byte.
    hex: String,
    /// The frame, for the text form.
    #[serde(skip)]
    data: Vec<u8>,
}

/// `e1000 rx`: what arrived, how fast.
#[derive(Serialize, schemars::JsonSchema)]
struct RxReport {
    /// The device.
    device: DeviceRef,
    /// Polling or interrupts.
    mode: Mode,
    /// The address the receive filter accepts (besides broadcast).
    mac: MacAddress,
    /// Frames asked for.
    count: u32,
    /// Frames received intact.
    received: u64,
    /// Their bytes, without the CRC.
    bytes: u64,
    /// Frames dropped: discarded with errors, plus those the device missed (MPC).
    dropped: u64,
    /// Of those, frames the device reported missed for lack of room (MPC).
    missed: u64,
    /// From the first frame to the last, in ms.
    elapsed_ms: f64,
    /// Frames per second between the first and the last frame (the frames
    /// after the first, over that time); 0 with fewer than two.
    packets_per_second: f64,
    /// Bytes per second likewise.
    bytes_per_second: f64,
    /// Descriptors per ring.
    ring: u32,
    /// The data path's counters.
    counters: Counters,
    /// Every frame (`--dump`).
    #[serde(skip_serializing_if = "Option::is_none")]
    frames: Option<Vec<FrameDump>>,
}

/// The statistics registers, each read once (which clears it).
#[derive(Clone, Copy, Debug, Default, Serialize, schemars::JsonSchema)]
pub struct Statistics {
    /// Good packets received (GPRC).
    pub good_received: u32,
    /// Good packets transmitted (GPTC).
    pub good_transmitted: u32,
    /// Good octets received (GORCL/GORCH).
    pub octets_received: u64,
    /// Good octets transmitted (GOTCL/GOTCH).
    pub octets_transmitted: u64,
    /// Broadcast packets received (BPRC).
    pub broadcast_received: u32,
    /// Multicast packets received (MPRC).
    pub multicast_received: u32,
    /// Broadcast packets transmitted (BPTC).
    pub broadcast_transmitted: u32,
    /// Multicast packets transmitted (MPTC).
    pub multicast_transmitted: u32,
    /// Total packets received (TPR).
    pub total_received: u32,
    /// Total packets transmitted (TPT).
    pub total_transmitted: u32,
    /// Missed packets (MPC).
    pub missed: u32,
    /// Receive no buffers (RNBC).
    pub no_buffers: u32,
    /// CRC errors (CRCERRS).
    pub crc_errors: u32,
    /// Undersized frames received (RUC).
    pub undersize: u32,
    /// Oversized frames received (ROC).
    pub oversize: u32,
}

impl E1000 {
    /// Read every statistics register once. On the 8254x each clears when
    /// read (64-bit counters when their high half is read, low half first);
    /// QEMU's model clears some of them only (MPC, RNBC and CRCERRS count on).
    pub fn statistics(&mut self) -> Result<Statistics> {
        let io = self.bar.as_mut();
        let octets_received = u64::from(GORCL.read(io)?.bits()) | u64::from(GORCH.read(io)?.bits()) << 32;
        let octets_transmitted = u64::from(GOTCL.read(io)?.bits()) | u64::from(GOTCH.read(io)?.bits()) << 32;
        Ok(Statistics {
            good_received: GPRC.read(io)?.bits(),
            good_transmitted: GPTC.read(io)?.bits(),
            octets_received,
            octets_transmitted,
            broadcast_received: BPRC.read(io)?.bits(),
            multicast_received: MPRC.read(io)?.bits(),
            broadcast_transmitted: BPTC.read(io)?.bits(),
            multicast_transmitted: MPTC.read(io)?.bits(),
            total_received: TPR.read(io)?.bits(),
            total_transmitted: TPT.read(io)?.bits(),
            missed: MPC.read(io)?.bits(),
            no_buffers: RNBC.read(io)?.bits(),
            crc_errors: CRCERRS.read(io)?.bits(),
            undersize: RUC.read(io)?.bits(),
            oversize: ROC.read(io)?.bits(),
        })
    }
}

/// `e1000 stats`: the counters since they were last read.
#[derive(Serialize, schemars::JsonSchema)]
struct StatsReport {
    /// The device.
    device: DeviceRef,
    /// The statistics registers.
    statistics: Statistics,
}

fn mode(call: &Call<'_>) -> Mode {
    if call.args.flag("irq") {
        Mode::Irq
    } else {
        Mode::Poll
    }
}

fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::Poll => "polling",
        Mode::Irq => "interrupts",
    }
}

fn per_second(n: u64, d: Duration) -> f64 {
    if d.is_zero() {
        0.0
    } else {
        n as f64 / d.as_secs_f64()
    }
}

fn rate_text(pps: f64, bps: f64) -> String {
    format!("{pps:.0} frames/s, {:.1} Mb/s", bps * 8.0 / 1e6)
}

/// What a stop (a signal, the kernel asking for the device) says was done.
const STOPPED: &str = "the device was stopped and reset before its rings were unmapped";

/// A run's outcome: finished, stopped by a signal or release (the partial
/// result is reported, then the stop's error), or failed.
fn settle<T>(run: Result<T>, device: &DeviceRef) -> Result<std::result::Result<T, Error>> {
    match run {
        Ok(v) => Ok(Ok(v)),
        Err(e) => match mmiodrv::stop::requested() {
            Some(stop) => Ok(Err(stop.error(STOPPED.into()).with_device(device.clone()))),
            None => Err(e),
        },
    }
}

/// Hand `count` test frames to the device in batches, freeing sent ones;
/// returns when the last was reported sent, or the deadline passed.
fn send(nic: &mut Nic<'_>, count: u32, size: usize, deadline: Instant) -> Result<Instant> {
    let start = Instant::now();
    let mut queued: u64 = 0;
    let mut last_sent = start;
    while nic.counters().sent < u64::from(count) {
        mmiodrv::stop::check()?;
        // Polling: free what the device finished at every turn. Interrupts:
        // only after the device said so (below).
        if nic.mode() == Mode::Poll && nic.reap()? > 0 {
            last_sent = Instant::now();
        }
        let want = (u64::from(count) - queued).min(BATCH as u64) as usize;
        let handed = match want {
            0 => 0,
            _ => nic.transmit_with(want, size, |j, buf| {
                buf.write(SEQ_OFFSET, &((queued + j as u64) as u32).to_be_bytes())
            })?,
        };
        queued += handed as u64;
        if handed == 0 {
            // The ring is full, or everything is handed over: wait for the device.
            if !nic.wait(deadline)? {
                break;
            }
            if nic.reap()? > 0 {
                last_sent = Instant::now();
            }
        }
    }
    Ok(last_sent)
}

fn tx(call: &mut Call<'_>) -> Result<()> {
    let count = frame_count(call.args.text("count")?)?;
    let size = frame_size(call.args.text("size")?)?;
    let dst = MacAddress::from_str(call.args.text("dst")?)?;
    let ring = ring_size(call.args.text("ring")?)?;
    let timeout = call.args.millis("timeout")?;
    let mode = mode(call);
    let dev = call.device()?;
    let mut nic = Nic::open(dev.backend(), NetConfig { ring, rx: false, tx: true, mode })?;
    let src = nic.mac();
    nic.fill_tx_buffers(&test_frame(dst, src, size, 0))?;
    let start = Instant::now();
    let run = send(&mut nic, count, size, start + timeout);
    let c = nic.counters();
    let device = nic.device().clone();
    drop(nic);
    let run = settle(run, &device)?;
    let elapsed = run.as_ref().map_or(start.elapsed(), |last| last.saturating_duration_since(start));
    let dropped = u64::from(count) - c.sent;
    let (pps, bps) = (per_second(c.sent, elapsed), per_second(c.sent_bytes, elapsed));
    let line = format!(
        "{device}: sent {} frames of {size} bytes ({} bytes) to {dst} in {:.1} ms: {}; {dropped} dropped ({})",
        c.sent,
        c.sent_bytes,
        elapsed.as_secs_f64() * 1e3,
        rate_text(pps, bps),
        mode_name(mode)
    );
    let report = TxReport {
        device: device.clone(),
        mode,
        src,
        dst,
        size,
        count,
        sent: c.sent,
        bytes: c.sent_bytes,
        dropped,
        elapsed_ms: elapsed.as_secs_f64() * 1e3,
        packets_per_second: pps,
        bytes_per_second: bps,
        ring,
        counters: c,
    };
    call.report(Report::line(report, line));
    run?;
    if dropped > 0 {
        let what = format!("{count} frames to be sent ({} were)", c.sent);
        return Err(Error::on(device, ErrorKind::Timeout { what, ms: timeout.as_millis() as u64 }));
    }
    Ok(())
}

/// Take frames until `count` arrived or the deadline passed; each is copied
/// out of its buffer (as a socket's recv does) and, with `dump`, kept.
/// Returns the times of the first and the last frame.
fn receive(
    nic: &mut Nic<'_>,
    count: u32,
    deadline: Instant,
    dump: Option<&mut Vec<FrameDump>>,
) -> Result<Option<(Instant, Instant)>> {
    let mut copy = vec![0u8; super::nic::BUFFER_SIZE as usize];
    let mut times: Option<(Instant, Instant)> = None;
    let mut dump = dump;
    while nic.counters().received < u64::from(count) {
        mmiodrv::stop::check()?;
        let want = (u64::from(count) - nic.counters().received).min(BATCH as u64) as usize;
        let mut index = nic.counters().received;
        let taken = nic.receive_with(want, |f| {
            let data = &mut copy[..f.len()];
            f.copy_to(data)?;
            if let Some(frames) = dump.as_deref_mut() {
                frames.push(FrameDump::new(index, data));
            }
            index += 1;
            Ok(())
        })?;
        if taken > 0 {
            let now = Instant::now();
            times = Some((times.map_or(now, |t| t.0), now));
            continue;
        }
        if !nic.wait(deadline)? {
            break;
        }
    }
    Ok(times)
}

impl FrameDump {
    fn new(index: u64, data: &[u8]) -> Self {
        let mac_at = |at: usize| {
            let mut m = [0u8; 6];
            m.copy_from_slice(&data[at..at + 6]);
            MacAddress(m)
        };
        FrameDump {
            index,
            len: data.len(),
            dst: mac_at(0),
            src: mac_at(6),
            ethertype: u16::from_be_bytes([data[12], data[13]]),
            hex: data.iter().map(|b| format!("{b:02x}")).collect(),
            data: data.to_vec(),
        }
    }

    /// Its header line and a hexdump.
    fn lines(&self) -> Vec<String> {
        let head = format!(
            "frame {}: {} bytes {} > {} type {:#06x}",
            self.index, self.len, self.src, self.dst, self.ethertype
        );
        let mut lines = vec![head];
        lines.extend(hexdump_lines(0, &self.data).into_iter().map(|l| format!("  {l}")));
        lines
    }
}

fn rx(call: &mut Call<'_>) -> Result<()> {
    let count = frame_count(call.args.text("count")?)?;
    let ring = ring_size(call.args.text("ring")?)?;
    let timeout = call.args.millis("timeout")?;
    let dump = call.args.flag("dump");
    let mode = mode(call);
    let dev = call.device()?;
    let mut nic = Nic::open(dev.backend(), NetConfig { ring, rx: true, tx: false, mode })?;
    let mac = nic.mac();
    let mut frames: Vec<FrameDump> = Vec::new();
    let run = receive(&mut nic, count, Instant::now() + timeout, dump.then_some(&mut frames));
    let missed = nic.missed();
    let c = nic.counters();
    let device = nic.device().clone();
    drop(nic);
    let run = settle(run, &device)?;
    let missed = missed?;
    let elapsed = match run {
        Ok(Some((first, last))) => last - first,
        _ => Duration::ZERO,
    };
    // Rates over the frames after the first, between the first and the last.
    let after_first = c.received.saturating_sub(1);
    let bytes_after_first = match c.received {
        0 => 0,
        n => c.received_bytes - c.received_bytes / n,
    };
    let (pps, bps) = (per_second(after_first, elapsed), per_second(bytes_after_first, elapsed));
    let dropped = c.rx_errors + missed;
    let mut lines = Vec::new();
    for f in &frames {
        lines.extend(f.lines());
    }
    lines.push(format!(
        "{device}: received {} frames ({} bytes) in {:.1} ms: {}; {dropped} dropped ({})",
        c.received,
        c.received_bytes,
        elapsed.as_secs_f64() * 1e3,
        rate_text(pps, bps),
        mode_name(mode)
    ));
    let report = RxReport {
        device: device.clone(),
        mode,
        mac,
        count,
        received: c.received,
        bytes: c.received_bytes,
        dropped,
        missed,
        elapsed_ms: elapsed.as_secs_f64() * 1e3,
        packets_per_second: pps,
        bytes_per_second: bps,
        ring,
        counters: c,
        frames: dump.then_some(frames),
    };
    call.report(Report::new(report, lines));
    run?;
    if c.received < u64::from(count) {
        let what = format!("{count} frames ({} came)", c.received);
        return Err(Error::on(device, ErrorKind::Timeout { what, ms: timeout.as_millis() as u64 }));
    }
    Ok(())
}

fn stats(call: &mut Call<'_>) -> Result<()> {
    let dev = call.device()?;
    let mut e = E1000::open(dev.backend())?;
    let s = e.statistics()?;
    let name = dev.device();
    let rows: [(&str, &str, u64); 15] = [
        ("GPRC", "good packets received", s.good_received.into()),
        ("GPTC", "good packets transmitted", s.good_transmitted.into()),
        ("GORC", "good octets received", s.octets_received),
        ("GOTC", "good octets transmitted", s.octets_transmitted),
        ("BPRC", "broadcast packets received", s.broadcast_received.into()),
        ("MPRC", "multicast packets received", s.multicast_received.into()),
        ("BPTC", "broadcast packets transmitted", s.broadcast_transmitted.into()),
        ("MPTC", "multicast packets transmitted", s.multicast_transmitted.into()),
        ("TPR", "total packets received", s.total_received.into()),
        ("TPT", "total packets transmitted", s.total_transmitted.into()),
        ("MPC", "missed packets", s.missed.into()),
        ("RNBC", "receive no buffers", s.no_buffers.into()),
        ("CRCERRS", "CRC errors", s.crc_errors.into()),
        ("RUC", "receive undersize", s.undersize.into()),
        ("ROC", "receive oversize", s.oversize.into()),
    ];
    let mut lines = vec![format!("{name}: statistics since they were last read (reading clears them)")];
    lines.extend(rows.iter().map(|(reg, what, v)| format!("  {reg:<8} {what:<30} {v}")));
    call.report(Report::new(StatsReport { device: name, statistics: s }, lines));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_checked_before_anything_runs() {
        assert_eq!(frame_size("60").unwrap(), 60);
        assert_eq!(frame_size("1514").unwrap(), 1514);
        for bad in ["59", "1515", "0", "x"] {
            assert!(frame_size(bad).is_err(), "{bad}");
        }
        assert!(frame_count("0").is_err() && frame_count("4294967296").is_err() && frame_count("1").is_ok());
        assert!(ring_size("256").is_ok() && ring_size("100").is_err() && ring_size("8192").is_err());
        assert!(ring_size("4").is_err() && ring_size("99999999999").is_err());
        let mac: MacAddress = "52:54:00:12:34:5F".parse().unwrap();
        assert_eq!(mac.to_string(), "52:54:00:12:34:5f");
        assert_eq!("ff-ff-ff-ff-ff-ff".parse::<MacAddress>().unwrap(), MacAddress([0xff; 6]));
        for bad in ["52:54:00:12:34", "52:54:00:12:34:56:78", "52:54:00:12:34:5g", "525400123456", ""] {
            assert!(bad.parse::<MacAddress>().is_err(), "{bad}");
        }
        // The parser refuses them too, with the same checks.
        let tx = &TX;
        assert!(tx.parse_args(&["--count", "0"]).is_err());
        assert!(tx.parse_args(&["--count", "1", "--size", "59"]).is_err());
        assert!(tx.parse_args(&["--count", "1", "--poll", "--irq"]).is_err());
        assert!(tx.parse_args(&["--count", "1", "--size", "1514", "--irq"]).is_ok());
        // The default ring is the driver's.
        assert_eq!(RING.default, Some(super::super::nic::DEFAULT_RING.to_string().as_str()));
    }

    #[test]
    fn test_frames_carry_their_sequence_number() {
        let f = test_frame(MacAddress([0xff; 6]), MacAddress([2, 0, 0, 0, 0, 1]), 64, 0x0102_0304);
        assert_eq!(f.len(), 64);
        assert_eq!(&f[..14], &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x88, 0xb5]);
        assert_eq!(&f[14..18], &[1, 2, 3, 4]);
        assert_eq!((f[18], f[63]), (18, 63));
    }
}
