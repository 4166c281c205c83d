//! The far side of a remote run: this program started by a near one over
//! ssh (docs/remote.md). It runs exactly as it would locally; only where its
//! output goes changes. With `MMIODRV_REMOTE_FRAMED` set, standard output,
//! error lines, the lines of a script done and the exit status go out as
//! frames on the channel (the original standard output); standard output
//! itself points at standard error, so nothing else can corrupt the
//! channel. Standard input becomes a pipe fed from the channel's input
//! frames; a stop frame raises its signal here; the channel's end (the
//! connection went, whatever the cause) raises SIGHUP, and ends the process
//! if it has not ended by itself within [`GONE_GRACE`]: every lock, VFIO
//! file and DMA mapping goes with it.

use std::fs::File;
use std::io::{BufReader, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use mmiodrv::remote::frame::Frame;
use mmiodrv::remote::{FRAMED_ENV, HOST_ENV, TTY_ENV};
use nix::sys::signal::Signal;

/// How long the far side has, once the connection is gone, to stop by itself.
pub const GONE_GRACE: Duration = Duration::from_secs(3);

/// Set by the near side when the script of `batch FILE` comes on standard input.
pub const SCRIPT_ENV: &str = "MMIODRV_REMOTE_SCRIPT";

struct Agent {
    frames: Mutex<Channel>,
    /// Lines done (the pipe protocol's or a script's), as last recorded.
    done: AtomicU64,
    /// What the last Done frame said.
    sent: AtomicU64,
}

static AGENT: OnceLock<Agent> = OnceLock::new();
static LABEL: OnceLock<Option<String>> = OnceLock::new();
static TTY: AtomicBool = AtomicBool::new(false);
static SCRIPT: AtomicBool = AtomicBool::new(false);

/// Take the remote settings from the environment (and out of it: programs
/// this one runs do not inherit them), and with frames asked for, set the
/// channel up and say hello. Called first thing in `main`.
pub fn start() {
    let label = std::env::var(HOST_ENV).ok().filter(|l| !l.is_empty());
    let framed = std::env::var_os(FRAMED_ENV).is_some();
    TTY.store(std::env::var_os(TTY_ENV).is_some(), Ordering::Relaxed);
    SCRIPT.store(std::env::var_os(SCRIPT_ENV).is_some(), Ordering::Relaxed);
    for var in [HOST_ENV, FRAMED_ENV, TTY_ENV, SCRIPT_ENV] {
        std::env::remove_var(var);
    }
    let remote = label.is_some();
    let _ = LABEL.set(label);
    if remote && !framed {
        // Through ssh's terminal (the shell): the terminal's hang-up is the
        // connection's end.
        std::thread::spawn(watch_terminal);
    }
    if framed {
        if let Err(e) = frames() {
            eprintln!("mmiodrv: error: cannot set up the remote channel: {e}");
            std::process::exit(mmiodrv::outcome::exit_code(mmiodrv::ErrorClass::Io));
        }
    }
}

fn frames() -> std::io::Result<()> {
    let channel = File::from(std::io::stdout().as_fd().try_clone_to_owned()?);
    let input = File::from(std::io::stdin().as_fd().try_clone_to_owned()?);
    nix::unistd::dup2(2, 1)?;
    // Room for a batch's output and script in the pipes to and from ssh's
    // server: it reads and writes in larger pieces, this side waits less.
    mmiodrv::remote::grow_pipe(channel.as_fd());
    mmiodrv::remote::grow_pipe(input.as_fd());
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
    mmiodrv::remote::grow_pipe(w.as_fd());
    nix::unistd::dup2(r.as_raw_fd(), 0)?;
    drop(r);
    let channel = Channel { file: channel, held: Vec::with_capacity(HOLD) };
    let agent = Agent { frames: Mutex::new(channel), done: AtomicU64::new(0), sent: AtomicU64::new(0) };
    let _ = AGENT.set(agent);
    // A stop frame is a signal, taken as every stop is: the operation ends
    // cleanly at its next check.
    mmiodrv::stop::install_signal_handlers().map_err(|e| std::io::Error::other(e.to_string()))?;
    std::thread::spawn(move || demux(input, w));
    send(&Frame::Hello(format!("mmiodrv {}", mmiodrv::remote::VERSION)), true);
    Ok(())
}

/// Read the channel's frames: input bytes to the pipe that is standard
/// input (through a queue, so a stop never waits behind input), stops
/// raised, the channel's end taken as the connection gone.
fn demux(input: File, pipe: OwnedFd) {
    // The writer starts with the first input: a one-shot command has none,
    // and a thread less is a call's start quicker.
    let mut pipe = Some(pipe);
    let mut tx: Option<SyncSender<Option<Vec<u8>>>> = None;
    let mut feed = |chunk: Option<Vec<u8>>| {
        if tx.is_none() {
            match (chunk.is_some(), pipe.take()) {
                (true, Some(p)) => tx = Some(writer(p)),
                // The end of input before any: standard input ends here.
                (false, p) => drop(p),
                (true, None) => {}
            }
        }
        if let Some(tx) = &tx {
            let _ = tx.send(chunk);
        }
    };
    let mut input = BufReader::with_capacity(256 << 10, input);
    loop {
        match Frame::read_from(&mut input) {
            Ok(Some(Frame::Input(bytes))) => feed(Some(bytes)),
            Ok(Some(Frame::EndOfInput)) => feed(None),
            Ok(Some(Frame::Stop(n))) => {
                let signal = Signal::try_from(n).unwrap_or(Signal::SIGINT);
                let _ = nix::sys::signal::raise(signal);
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
    // The connection is gone: stop as a hang-up does, then for certain.
    feed(None);
    let _ = nix::sys::signal::raise(Signal::SIGHUP);
    std::thread::sleep(GONE_GRACE);
    std::process::exit(128 + Signal::SIGHUP as i32);
}

/// The thread that writes input into the pipe that is standard input
/// (through a queue, so a stop frame never waits behind input): `None`
/// closes it.
fn writer(pipe: OwnedFd) -> SyncSender<Option<Vec<u8>>> {
    let (tx, rx) = sync_channel::<Option<Vec<u8>>>(256);
    std::thread::spawn(move || {
        let mut pipe = Some(File::from(pipe));
        while let Ok(chunk) = rx.recv() {
            match (chunk, pipe.as_mut()) {
                (Some(bytes), Some(p)) => {
                    if p.write_all(&bytes).is_err() {
                        // Nobody reads standard input any more: later input is dropped.
                        pipe = None;
                    }
                }
                (None, _) => pipe = None,
                (Some(_), None) => {}
            }
        }
    });
    tx
}

/// Wait for standard input (ssh's terminal) to hang up, then stop as the
/// channel's end does.
fn watch_terminal() {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let stdin = std::io::stdin();
    loop {
        // No events asked for: poll still reports a hang-up or an error.
        let mut fds = [PollFd::new(stdin.as_fd(), PollFlags::empty())];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_)
                if fds[0]
                    .revents()
                    .is_some_and(|r| r.intersects(PollFlags::POLLHUP | PollFlags::POLLERR | PollFlags::POLLNVAL)) =>
            {
                break
            }
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(_) => return,
        }
    }
    let _ = nix::sys::signal::raise(Signal::SIGHUP);
    std::thread::sleep(GONE_GRACE);
    std::process::exit(128 + Signal::SIGHUP as i32);
}

/// The channel, and frames held for one write.
struct Channel {
    file: File,
    held: Vec<u8>,
}

/// Frames held back at most (then written at once).
const HOLD: usize = 64 << 10;

/// Whether the next input is already here: standard input has bytes (the
/// pipe protocol's next line, sent before this one's reply arrived).
fn input_waiting() -> bool {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let stdin = std::io::stdin();
    let mut fds = [PollFd::new(stdin.as_fd(), PollFlags::POLLIN)];
    matches!(poll(&mut fds, PollTimeout::ZERO), Ok(n) if n > 0)
        && fds[0].revents().is_some_and(|r| r.contains(PollFlags::POLLIN))
}

/// Send `frame`: written at once when `now`, or when no input waits (nobody
/// can be waiting for it then); else held with the next (lines sent ahead
/// of their replies: many replies go out in one write, one ssh packet).
fn send(frame: &Frame, now: bool) {
    let Some(agent) = AGENT.get() else { return };
    let mut channel = agent.frames.lock().unwrap_or_else(|p| p.into_inner());
    let channel = &mut *channel;
    // Writing into a Vec cannot fail.
    let _ = frame.write_compact(&mut channel.held);
    if !now && channel.held.len() < HOLD && input_waiting() {
        return;
    }
    let written = channel.file.write_all(&channel.held).and_then(|()| channel.file.flush());
    channel.held.clear();
    if written.is_err() {
        // The connection is gone and nobody reads what this side says: end
        // now (between operations: output is written after a step), which
        // lets the device go.
        std::process::exit(128 + Signal::SIGHUP as i32);
    }
}

/// Whether output goes out as frames.
pub fn framed() -> bool {
    AGENT.get().is_some()
}

/// Standard output's bytes, as a frame (then the lines done with them).
pub fn out(bytes: &[u8]) {
    send(&Frame::Out(bytes.to_vec()), false);
    send_done();
}

/// An error line (with its end of line), as a frame.
pub fn err(bytes: &[u8]) {
    send(&Frame::Err(bytes.to_vec()), false);
}

/// Every line of the input up to `line` is done (its output printed or held).
pub fn done(line: u64, held: bool) {
    let Some(agent) = AGENT.get() else { return };
    agent.done.store(line, Ordering::Relaxed);
    if !held {
        send_done();
    }
}

fn send_done() {
    let Some(agent) = AGENT.get() else { return };
    let done = agent.done.load(Ordering::Relaxed);
    if done > agent.sent.swap(done, Ordering::Relaxed) {
        send(&Frame::Done(done), false);
    }
}

/// The end: the lines done, then the exit status, as frames.
pub fn exit(status: i32) {
    if framed() {
        send_done();
        send(&Frame::Exit(status), true);
    }
}

/// The host this far side is, as the near side named it: error lines and
/// objects say it.
pub fn label() -> Option<&'static str> {
    LABEL.get().and_then(|l| l.as_deref())
}

/// Whether output goes to a terminal, here or (remotely) on the near side.
pub fn stdout_is_terminal() -> bool {
    use std::io::IsTerminal;
    match framed() {
        true => TTY.load(Ordering::Relaxed),
        false => std::io::stdout().is_terminal(),
    }
}

/// Whether the script of `batch FILE` comes on standard input.
pub fn script_on_stdin() -> bool {
    SCRIPT.load(Ordering::Relaxed)
}
