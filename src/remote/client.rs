//! The near side of a remote run: a session of the shared ssh connection
//! asked of its master ([`super::mux`]), or `ssh` started, with the far
//! side's launcher; the frames it sends read on a thread of their own (so
//! input can be written without waiting for replies: pipelining), and what
//! they say handed out as [`Event`]s.

use crate::error::RemoteError;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::frame::Frame;
use super::{mux, ssh, Host, FRAMED_ENV, HOST_ENV, TTY_ENV, VERSION};
use crate::error::{Error, Result};

/// What to run on a far side.
#[derive(Clone, Debug)]
pub struct Call {
    /// The machine.
    pub host: Host,
    /// `mmiodrv`'s arguments there.
    pub args: Vec<String>,
    /// More of its environment (`MMIODRV_DEVICE`).
    pub env: Vec<(&'static str, String)>,
    /// Its output goes to a terminal here.
    pub tty: bool,
    /// The name of the script its input is (for a lost connection's
    /// message: "after line 12 of s.txt"), when it reads one.
    pub script: Option<String>,
    /// The cached copy's name ([`super::cache_key`]).
    pub key: String,
}

impl Call {
    /// The far side's command: the launcher of `mmiodrv ARGS` there.
    pub fn remote_command(&self, framed: bool) -> String {
        ssh::launcher(VERSION, &self.key, &self.far_env(framed), &self.args)
    }

    /// The far side's command, framed, that runs the cached copy straight
    /// from the login shell when it is there ([`ssh::direct`]).
    fn direct_command(&self) -> String {
        ssh::direct(VERSION, &self.key, &self.far_env(true), &self.args)
    }

    fn far_env(&self, framed: bool) -> Vec<(&'static str, String)> {
        let mut env = vec![(HOST_ENV, self.host.label.clone())];
        if framed {
            env.push((FRAMED_ENV, "1".into()));
        }
        if self.tty {
            env.push((TTY_ENV, "1".into()));
        }
        env.extend(self.env.iter().cloned());
        env
    }

    /// The `ssh` command that runs it with a terminal, its input and output
    /// the caller's own (the interactive shell): no frames.
    pub fn terminal_command(&self) -> Result<std::process::Command> {
        let mut c = ssh::command(&self.host, true, true)?;
        // Not "Connection to HOST closed." at the end of the shell.
        c.arg(self.remote_command(false));
        Ok(c)
    }
}

/// What a far side said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Bytes of its standard output.
    Out(Vec<u8>),
    /// Its error lines.
    Err(Vec<u8>),
    /// Other bytes on its standard error (logs) and ssh's messages.
    Log(Vec<u8>),
    /// Every line of its input up to this one is done.
    Done(u64),
    /// It ended with this exit status: the last event.
    Exit(i32),
}

enum Msg {
    Frame(Frame),
    Broken(std::io::Error),
    Eof,
    Stderr(Vec<u8>),
}

/// The input side of a run, for any thread: bytes for the far side's
/// standard input, its end, a stop.
#[derive(Clone)]
pub struct Input {
    host: String,
    stdin: Arc<Mutex<Option<File>>>,
}

impl Input {
    fn send(&self, frame: &Frame) -> Result<()> {
        let mut guard = self.stdin.lock().unwrap_or_else(|p| p.into_inner());
        let Some(stdin) = guard.as_mut() else { return Ok(()) };
        frame.write_compact(stdin).and_then(|()| stdin.flush()).map_err(|_| {
            Error::new(RemoteError::Disconnected { host: self.host.clone(), after: "while sending input".into() })
        })
    }

    /// Bytes of the far side's standard input.
    pub fn write(&self, bytes: &[u8]) -> Result<()> {
        self.send(&Frame::Input(bytes.to_vec()))
    }

    /// The end of the far side's standard input.
    pub fn end(&self) -> Result<()> {
        self.send(&Frame::EndOfInput)
    }

    /// Ask the far side to stop as `signal` (its number) would there.
    pub fn stop(&self, signal: i32) -> Result<()> {
        self.send(&Frame::Stop(signal))
    }
}

/// How a start went.
pub enum Start {
    /// The far side runs.
    Running(Running),
    /// It has no `mmiodrv` of this version; its machine is this `arch` (`uname -m`).
    Missing {
        /// `uname -m` there.
        arch: String,
    },
}

enum Attempt {
    Started(Start),
    Silent,
    /// The direct line failed before mmiodrv started, not for ssh's own
    /// reasons (a login shell that is not of the sh family): the launcher
    /// line next.
    Fallback,
}

/// What carries a run.
enum Link {
    /// An `ssh` process: the first call of a shared connection (it starts
    /// the master), or a connection of its own.
    Ssh(Child),
    /// A session asked of the shared connection's master.
    Mux(mux::Session),
}

impl Link {
    /// Whether it has ended (without waiting).
    fn ended(&mut self) -> bool {
        match self {
            Link::Ssh(child) => matches!(child.try_wait(), Ok(Some(_))),
            Link::Mux(session) => session.ended(),
        }
    }

    /// Its exit status, waiting at most `limit` (then ending it).
    fn status_within(&mut self, limit: Duration) -> Option<i32> {
        match self {
            Link::Ssh(child) => wait_bounded(child, limit),
            Link::Mux(session) => {
                let status = session.end_before(Instant::now() + limit);
                session.close();
                status
            }
        }
    }

    /// End it now: the far side sees the connection go.
    fn kill(&mut self) {
        match self {
            Link::Ssh(child) => {
                let _ = child.kill();
            }
            Link::Mux(session) => session.close(),
        }
    }
}

/// A far side running `mmiodrv`.
pub struct Running {
    host: Host,
    script: Option<String>,
    link: Link,
    input: Input,
    rx: Receiver<Msg>,
    done: Option<u64>,
    exited: bool,
}

/// How long a host whose login shell refused the direct line gets the
/// launcher line first.
const REMEMBER_LAUNCHER: Duration = Duration::from_secs(3600);

/// How long a far side that ended is given to deliver what it sent.
const DRAIN: Duration = Duration::from_millis(500);

impl Running {
    /// Start `call` on its host and wait until the far side says it runs.
    ///
    /// A session is asked of the shared connection's master when one is
    /// there (OpenSSH's multiplexing protocol: no `ssh` process), else of
    /// `ssh`, which starts the master. ssh that ends and says nothing before
    /// the far side said a word, or a master that goes as it is asked,
    /// opened no session there (a shared connection refuses a burst of
    /// sessions that way, and one closing as it is asked for one): tried
    /// again, the last time on a connection of its own. Nothing ran: the far
    /// side says hello before it does anything, and ends if it cannot.
    pub fn start(call: &Call) -> Result<Start> {
        let mut pause = Duration::from_millis(20);
        // A host whose login shell refused the direct line in the last
        // hour gets the launcher line first.
        let marker = ssh::control_path(&call.host)?.with_extension("launcher");
        let fresh = |m: std::fs::Metadata| {
            m.modified().ok().and_then(|t| t.elapsed().ok()).is_some_and(|age| age < REMEMBER_LAUNCHER)
        };
        let mut direct = !std::fs::symlink_metadata(&marker).is_ok_and(fresh);
        let mut attempt = 0;
        while attempt < 4 {
            match Running::start_once(call, attempt < 3, direct)? {
                Attempt::Started(s) => return Ok(s),
                // The login shell refused the direct line: the launcher line
                // next, in the same attempt (it happens once), and first for
                // the next hour (remembered beside the shared connection's
                // socket: a new file of this user's, never through a link;
                // a refusal for another reason is forgotten as soon).
                Attempt::Fallback => {
                    direct = false;
                    let _ = std::fs::remove_file(&marker);
                    let mut file = std::fs::OpenOptions::new();
                    std::os::unix::fs::OpenOptionsExt::mode(file.write(true).create_new(true), 0o600);
                    let _ = file.open(&marker);
                }
                Attempt::Silent => {
                    std::thread::sleep(pause);
                    pause *= 3;
                    attempt += 1;
                }
            }
        }
        let why = "ssh ended before mmiodrv started there, and said nothing, four times".to_string();
        Err(Error::new(RemoteError::Unreachable { host: call.host.label.clone(), why }))
    }

    fn start_once(call: &Call, shared: bool, direct: bool) -> Result<Attempt> {
        let line = if direct { call.direct_command() } else { call.remote_command(true) };
        let unreachable = |why: String| Error::new(RemoteError::Unreachable { host: call.host.label.clone(), why });
        // The shared connection's master, asked directly when it is there
        // (a command too long for its packets goes to ssh of its own).
        let mut shared = shared && line.len() <= mux::MAX_COMMAND;
        let asked = match shared {
            true => match mux::open(&ssh::control_path(&call.host)?, &line) {
                Ok(mux::Asked::Opened(o)) => Some(o),
                Ok(mux::Asked::NotThere) => None,
                // A hung master, which ssh would wait for too.
                Ok(mux::Asked::Unresponsive) => {
                    log::debug!("{}: the shared connection does not answer; a connection of its own", call.host);
                    shared = false;
                    None
                }
                // The master went as it was asked: as when ssh ends saying
                // nothing, nothing ran (the far side had not said hello).
                Ok(mux::Asked::Gone) => return Ok(Attempt::Silent),
                Err(e) => return Err(unreachable(e.to_string())),
            },
            false => None,
        };
        let (link, stdin, stdout, stderr) = match asked {
            Some(o) => (Link::Mux(o.session), o.stdin, o.stdout, o.stderr),
            None => {
                let mut child = Running::spawn(call, shared, &line)?;
                let (Some(stdin), Some(stdout), Some(stderr)) =
                    (child.stdin.take(), child.stdout.take(), child.stderr.take())
                else {
                    let _ = child.kill();
                    return Err(unreachable("ssh's standard streams were not set up".into()));
                };
                let file = |fd: OwnedFd| File::from(fd);
                (Link::Ssh(child), file(stdin.into()), file(stdout.into()), file(stderr.into()))
            }
        };
        let (tx, rx) = mpsc::channel();
        let input = Input { host: call.host.label.clone(), stdin: Arc::new(Mutex::new(Some(stdin))) };
        let frames = tx.clone();
        std::thread::spawn(move || read_frames(stdout, frames));
        std::thread::spawn(move || read_stderr(stderr, tx));
        let mut running = Running {
            host: call.host.clone(),
            script: call.script.clone(),
            link,
            input,
            rx,
            done: None,
            exited: false,
        };
        let mut said: Vec<u8> = Vec::new();
        loop {
            match running.rx.recv_timeout(Duration::from_millis(50)) {
                Ok(Msg::Frame(Frame::Hello(version))) if version == format!("mmiodrv {VERSION}") => {
                    if !said.is_empty() {
                        // Said before it started (a login banner): not an error.
                        log::info!("{}: {}", running.host, String::from_utf8_lossy(&said).trim_end());
                    }
                    return Ok(Attempt::Started(Start::Running(running)));
                }
                Ok(Msg::Frame(Frame::Hello(version))) => {
                    let why = format!("it runs {version}, not mmiodrv {VERSION}");
                    return Err(Error::new(RemoteError::Unreachable { host: running.host.label.clone(), why }));
                }
                Ok(Msg::Stderr(bytes)) => {
                    if said.len() < 64 << 10 {
                        said.extend_from_slice(&bytes);
                    }
                }
                Ok(Msg::Frame(_)) | Ok(Msg::Broken(_)) | Ok(Msg::Eof) | Err(RecvTimeoutError::Disconnected) => {
                    return running.failed_start(said, direct)
                }
                Err(RecvTimeoutError::Timeout) => {
                    if running.link.ended() {
                        // What it wrote last may still be in the pipe.
                        while let Ok(Msg::Stderr(bytes)) = running.rx.recv_timeout(Duration::from_millis(100)) {
                            said.extend_from_slice(&bytes);
                        }
                        return running.failed_start(said, direct);
                    }
                }
            }
        }
    }

    /// `ssh` running `line` on the call's host, its standard streams piped.
    fn spawn(call: &Call, shared: bool, line: &str) -> Result<Child> {
        let mut c = ssh::command(&call.host, false, shared)?;
        c.arg(line);
        c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        // Its own process group: a Ctrl-C here is for this process to pass on
        // as a stop, not for ssh to die of.
        c.process_group(0);
        let child = c.spawn().map_err(|e| {
            let why = format!("cannot run ssh: {e}");
            Error::new(RemoteError::Unreachable { host: call.host.label.clone(), why })
        })?;
        // Room for a batch's output and script in the pipes: fewer, larger
        // writes by ssh and by this side, fewer wake-ups of each.
        if let Some(out) = &child.stdout {
            grow_pipe(out.as_fd());
        }
        if let Some(input) = &child.stdin {
            grow_pipe(input.as_fd());
        }
        Ok(child)
    }

    /// The far side ended or was never reached before it said it runs.
    fn failed_start(mut self, mut said: Vec<u8>, direct: bool) -> Result<Attempt> {
        let status = self.link.status_within(Duration::from_secs(5));
        self.exited = true;
        // ssh's last words may come after the end of its output.
        while let Ok(msg) = self.rx.recv_timeout(Duration::from_millis(200)) {
            if let Msg::Stderr(bytes) = msg {
                said.extend_from_slice(&bytes);
            }
        }
        let text = String::from_utf8_lossy(&said);
        if status == Some(ssh::MISSING_STATUS) {
            if let Some(arch) = text.lines().find_map(|l| l.strip_prefix(ssh::MISSING_MARK)) {
                return Ok(Attempt::Started(Start::Missing { arch: arch.trim().to_string() }));
            }
        }
        // Nothing said, nothing run (the far side says hello before anything
        // else, and ends if it cannot): a session that did not open.
        if said.iter().all(u8::is_ascii_whitespace) {
            return Ok(Attempt::Silent);
        }
        // ssh's own failures end with 255; any other end of the direct line
        // before mmiodrv said hello is the login shell's: the launcher line
        // says what is wrong, if anything still is.
        if direct && status != Some(255) {
            log::debug!("{}: the direct line failed ({}); the launcher next", self.host, text.trim_end());
            return Ok(Attempt::Fallback);
        }
        let last = text.lines().rev().map(str::trim).find(|l| !l.is_empty());
        let why = match (last, status) {
            (Some(line), _) => crate::text::one_line(line),
            (None, Some(s)) => format!("ssh ended with status {s} before mmiodrv started there"),
            (None, None) => "ssh ended before mmiodrv started there".into(),
        };
        Err(Error::new(RemoteError::Unreachable { host: self.host.label.clone(), why }))
    }

    /// The host.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// The input side, for any thread.
    pub fn input(&self) -> Input {
        self.input.clone()
    }

    /// The last line of input the far side said it has done.
    pub fn done(&self) -> Option<u64> {
        self.done
    }

    /// The next event, waiting at most `timeout` (`None`: nothing yet). A
    /// connection that ends before the far side's exit status arrived is
    /// [`RemoteError::Disconnected`], naming the last line done.
    pub fn next(&mut self, timeout: Duration) -> Result<Option<Event>> {
        if self.exited {
            return Err(Error::invalid("next", "the far side has ended"));
        }
        let msg = match self.rx.recv_timeout(timeout) {
            Ok(msg) => msg,
            Err(RecvTimeoutError::Timeout) => {
                // ssh ended (the connection went, or the far side was killed)
                // without an exit status: whatever it sent first, then the loss.
                if self.link.ended() {
                    return match self.rx.recv_timeout(DRAIN) {
                        Ok(msg) => self.event(msg),
                        Err(_) => Err(self.lost()),
                    };
                }
                return Ok(None);
            }
            Err(RecvTimeoutError::Disconnected) => return Err(self.lost()),
        };
        self.event(msg)
    }

    fn event(&mut self, msg: Msg) -> Result<Option<Event>> {
        Ok(Some(match msg {
            Msg::Frame(Frame::Out(b)) => Event::Out(b),
            Msg::Frame(Frame::Err(b)) => Event::Err(b),
            Msg::Frame(Frame::Done(n)) => {
                self.done = Some(n);
                Event::Done(n)
            }
            Msg::Frame(Frame::Exit(status)) => {
                self.exited = true;
                self.input.stdin.lock().unwrap_or_else(|p| p.into_inner()).take();
                let _ = self.link.status_within(Duration::from_secs(2));
                Event::Exit(status)
            }
            Msg::Stderr(b) => Event::Log(b),
            Msg::Frame(_) => return Ok(None),
            Msg::Broken(e) => {
                log::debug!("{}: the remote channel broke: {e}", self.host);
                return Err(self.lost());
            }
            Msg::Eof => {
                // The frames ended; ssh's own last words may follow on stderr.
                return Err(self.lost());
            }
        }))
    }

    /// The connection was lost: the error, with the last line done.
    fn lost(&mut self) -> Error {
        self.exited = true;
        self.link.kill();
        let _ = self.link.status_within(Duration::from_secs(2));
        let after = match (self.done, &self.script) {
            (Some(n), Some(s)) => format!("after line {n} of {s} was done (later lines may have run)"),
            (None, Some(s)) => format!("before line 1 of {s} was done (it may have run)"),
            (Some(n), None) => format!("after line {n} was done"),
            (None, None) => "before the command ended (it may have run)".into(),
        };
        Error::new(RemoteError::Disconnected { host: self.host.label.clone(), after })
    }

    /// Wait for the far side's exit status, relaying every event to `each`.
    pub fn finish(&mut self, each: &mut dyn FnMut(&Event)) -> Result<i32> {
        loop {
            if let Some(event) = self.next(Duration::from_millis(100))? {
                each(&event);
                if let Event::Exit(status) = event {
                    return Ok(status);
                }
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.exited {
            // Ending ssh ends the channel: the far side lets the device go.
            self.link.kill();
            let _ = self.link.status_within(Duration::from_secs(2));
        }
    }
}

/// The child's exit status, waiting at most `limit` (then killing it).
///
/// Woken the moment it ends (poll(2) on a pidfd), not at the next tick of
/// a sleep: after the far side's exit status, ssh's own end is the last
/// thing a one-shot command waits for, and a tick of a few milliseconds
/// was a good part of what a remote call cost beyond ssh's round trip.
/// Where there are no pidfds (Linux before 5.3), short sleeps that grow.
fn wait_bounded(child: &mut Child, limit: Duration) -> Option<i32> {
    let until = Instant::now() + limit;
    let pidfd = pidfd_open(child.id());
    let mut pause = Duration::from_micros(200);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status.code(),
            Ok(None) => {
                let left = until.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                match &pidfd {
                    Some(fd) => {
                        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
                        let ms = PollTimeout::try_from(left.as_millis().max(1)).unwrap_or(PollTimeout::MAX);
                        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
                        let _ = poll(&mut fds, ms);
                    }
                    None => {
                        std::thread::sleep(pause.min(left));
                        pause = (pause * 2).min(Duration::from_millis(5));
                    }
                }
            }
            Err(_) => break,
        }
    }
    let _ = child.kill();
    child.wait().ok().and_then(|s| s.code())
}

/// The largest pipe buffer an unprivileged process may set (Linux's
/// default `/proc/sys/fs/pipe-max-size`).
pub const PIPE_SIZE: i32 = 1 << 20;

/// Make the pipe `fd` hold `PIPE_SIZE` bytes where the kernel allows
/// (not a pipe, or over the user's limit: left as it is). Only the first
/// `GROWN_PIPES` pipes of a process grow: the kernel counts pipe pages per
/// user (`pipe-user-pages-soft`, 16,384 pages by default), and a run on
/// many hosts at once would spend it all, leaving every later pipe of the
/// user (its other programs' too) two pages.
pub fn grow_pipe(fd: std::os::fd::BorrowedFd<'_>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static GROWN: AtomicUsize = AtomicUsize::new(0);
    if GROWN.fetch_add(1, Ordering::Relaxed) < GROWN_PIPES {
        let _ = nix::fcntl::fcntl(fd.as_raw_fd(), nix::fcntl::FcntlArg::F_SETPIPE_SZ(PIPE_SIZE));
    }
}

/// How many pipes of a process `grow_pipe` grows: 16 MiB, a tenth of the
/// default per-user budget (a one-host run uses two here, three on the far side).
pub const GROWN_PIPES: usize = 16;

/// A pidfd of the child `pid` (not yet waited for, so the pid is still
/// its): readable once it ended. `None` where the kernel has none.
fn pidfd_open(pid: u32) -> Option<OwnedFd> {
    let pid = nix::libc::pid_t::try_from(pid).ok()?;
    // SAFETY: pidfd_open(2) takes a pid and flags and returns a new file
    // descriptor or -1; it touches no memory of this process.
    let fd = unsafe { nix::libc::syscall(nix::libc::SYS_pidfd_open, pid, 0) };
    let fd = std::os::fd::RawFd::try_from(fd).ok().filter(|fd| *fd >= 0)?;
    // SAFETY: the descriptor was just made for this process, and nothing else owns it.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn read_frames(out: impl Read, tx: Sender<Msg>) {
    let mut out = std::io::BufReader::with_capacity(256 << 10, out);
    loop {
        let msg = match Frame::read_from(&mut out) {
            Ok(Some(f)) => Msg::Frame(f),
            Ok(None) => Msg::Eof,
            Err(e) => Msg::Broken(e),
        };
        let end = !matches!(msg, Msg::Frame(_));
        let exit = matches!(msg, Msg::Frame(Frame::Exit(_)));
        if tx.send(msg).is_err() || end || exit {
            return;
        }
    }
}

fn read_stderr(mut err: impl Read, tx: Sender<Msg>) {
    let mut buf = vec![0u8; 16 << 10];
    loop {
        match err.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if tx.send(Msg::Stderr(buf[..n].to_vec())).is_err() {
                    return;
                }
            }
        }
    }
}

/// Put `binary` on `host` as the cached copy `key` (see [`super::ssh::copier`]):
/// the bytes stored.
pub fn copy_to(host: &Host, binary: &Path, key: &str) -> Result<u64> {
    let file = std::fs::File::open(binary).map_err(|e| Error::io("cannot open", binary, e))?;
    let len = file.metadata().map_err(|e| Error::io("cannot inspect", binary, e))?.len();
    let mut c = ssh::command(host, false, true)?;
    c.arg(ssh::copier(key));
    c.stdin(Stdio::from(file)).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    let unreachable = |why: String| Error::new(RemoteError::Unreachable { host: host.label.clone(), why });
    let out = c.output().map_err(|e| unreachable(format!("cannot run ssh: {e}")))?;
    let stored = String::from_utf8_lossy(&out.stdout).trim().parse::<u64>().ok();
    if !out.status.success() || stored != Some(len) {
        let said = String::from_utf8_lossy(&out.stderr);
        let last = said.lines().rev().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
        return Err(unreachable(format!(
            "copying {} there failed ({} of {len} bytes stored){}{}",
            binary.display(),
            stored.unwrap_or(0),
            if last.is_empty() { "" } else { ": " },
            crate::text::one_line(last)
        )));
    }
    Ok(len)
}

/// Start `call`, first copying `binary` (a build of this version) to its
/// host when the host has none: unless `copy` is false, and only a build
/// the far side can run (its architecture; statically linked, unless the
/// caller chose it with [`super::BINARY_ENV`]). `announce` is told before a
/// copy is made (the host, where the copy goes), so the front end can say so.
pub fn connect(
    call: &Call,
    copy: bool,
    binary: Option<&Path>,
    announce: &mut dyn FnMut(&Host, &str),
) -> Result<Running> {
    let arch = match Running::start(call)? {
        Start::Running(r) => return Ok(r),
        Start::Missing { arch } => arch,
    };
    let host = call.host.label.clone();
    let missing = |why: String, remedy: crate::error::Remedy| {
        Error::new(RemoteError::NoRemoteMmiodrv { host: host.clone(), version: VERSION, why, remedy })
    };
    let install = |what: &str| crate::error::Remedy::Text(format!("install mmiodrv {VERSION}{what} there"));
    if !copy {
        return Err(missing(
            "copying this one there was refused".into(),
            crate::error::Remedy::AllowCopy { host: host.clone(), version: super::VERSION },
        ));
    }
    let Some(binary) = binary else {
        return Err(missing(
            "and there is no static build of it here to copy".into(),
            crate::error::Remedy::Text(format!(
                "set {} to a static build of this version (docs/remote.md), or install mmiodrv {VERSION} there",
                super::BINARY_ENV
            )),
        ));
    };
    if arch != std::env::consts::ARCH {
        return Err(missing(
            format!("it is {arch}, this build is {}", std::env::consts::ARCH),
            install(&format!(" for {arch}")),
        ));
    }
    let chosen = std::env::var_os(super::BINARY_ENV).is_some_and(|v| !v.is_empty());
    if !chosen && !super::is_static(binary)? {
        return Err(missing(
            format!("and {} is linked dynamically: another machine may not run it", binary.display()),
            crate::error::Remedy::Text(format!(
                "set {} to a static build of this version (docs/remote.md), or install mmiodrv {VERSION} there",
                super::BINARY_ENV
            )),
        ));
    }
    announce(&call.host, &format!("~/.cache/mmiodrv/{}/mmiodrv", call.key));
    copy_to(&call.host, binary, &call.key)?;
    match Running::start(call)? {
        Start::Running(r) => Ok(r),
        Start::Missing { .. } => Err(missing("the copy made there does not run".into(), install(""))),
    }
}
