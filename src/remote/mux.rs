//! ssh's connection sharing spoken directly: a session asked of the shared
//! connection's master on its control socket, as `ssh` itself asks for one
//! when a master is there (OpenSSH's PROTOCOL.mux, "passenger" mode: a
//! `MUX_C_NEW_SESSION` request, then the session's standard input, output
//! and error passed as descriptors).
//!
//! It spares a remote call the `ssh` process that would only relay the
//! request: starting one costs more than the rest of the call (its program,
//! its libraries, its configuration read). The master, its connection and
//! its authentication are the user's own `ssh`'s: the first call of a
//! connection starts `ssh` as before, and a master that is not there, not
//! OpenSSH's, or refuses, leaves the call to `ssh` (nothing was run).

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use nix::poll::PollFlags;
use nix::sys::socket::{MsgFlags, UnixAddr};

const MSG_HELLO: u32 = 0x0000_0001;
const C_NEW_SESSION: u32 = 0x1000_0002;
const S_PERMISSION_DENIED: u32 = 0x8000_0002;
const S_FAILURE: u32 = 0x8000_0003;
const S_EXIT_MESSAGE: u32 = 0x8000_0004;
const S_SESSION_OPENED: u32 = 0x8000_0006;
/// The protocol version spoken (OpenSSH's since 5.x).
const PROTOCOL: u32 = 4;
/// No escape character.
const NO_ESCAPE: u32 = 0xffff_ffff;
/// Longest packet taken from a master (its replies are a few bytes).
const MAX_PACKET: usize = 64 << 10;
/// The one request of a session's control connection.
const REQUEST_ID: u32 = 0;
/// How long a master has to say hello (it does when it accepts).
const HELLO_WAIT: Duration = Duration::from_secs(2);
/// How long a master has to say whether the session opened (the far
/// side's server confirms the channel first: one round trip). Past it the
/// command may still run: [`open`] says so rather than let it be tried again.
pub const OPEN_WAIT: Duration = Duration::from_secs(30);

/// The longest command asked of a master: it drops control packets over
/// 256 KiB (`CHANNEL_MUX_MAX_PACKET`); a longer one goes to an `ssh` of its
/// own.
pub const MAX_COMMAND: usize = 128 << 10;

/// At most this much of the environment goes with a request (the master
/// passes on only what the user's `SendEnv` names, as `ssh` does).
const MAX_ENV: usize = 64 << 10;

/// A session of a shared connection, asked of its master: its control
/// connection (closing it ends the session), and how it ended.
pub struct Session {
    sock: UnixStream,
    id: u32,
    /// Its exit status, once the master said it.
    status: Option<i32>,
    /// The master closed the control connection (after the session's
    /// channel went and its output was passed on), or this side did.
    closed: bool,
}

/// A session just opened, and this side's ends of its standard streams.
pub struct Opened {
    pub session: Session,
    pub stdin: File,
    pub stdout: File,
    pub stderr: File,
}

/// What asking a master came to.
pub enum Asked {
    /// The session opened.
    Opened(Opened),
    /// No master answers there (none, a stale socket, another protocol), or
    /// it refused the session: nothing ran; `ssh` may be run.
    NotThere,
    /// A socket is there but no master answered in time (a hung master,
    /// which `ssh` would wait for as well): nothing ran; an `ssh` with a
    /// connection of its own may be run.
    Unresponsive,
    /// The master went after the request, before its answer (its
    /// connection failed, or its ControlPersist time ran out as it was
    /// asked): as when `ssh` ends saying nothing.
    Gone,
}

/// Ask the master listening on `socket` for a session running `command`,
/// with this process's environment (the master passes on what the user's
/// `SendEnv` names and adds their `SetEnv`, as `ssh` does).
///
/// An error: the request was made and the master did not answer within
/// [`OPEN_WAIT`], or answered nonsense. The command may run there even so
/// (a master that waits for the far side's server sends the command when
/// the server answers, whether or not this side still listens): not to be
/// asked again.
pub fn open(socket: &Path, command: &str) -> io::Result<Asked> {
    let mut sock = match connect(socket) {
        Ok(Some(sock)) => sock,
        Ok(None) => return Ok(Asked::Unresponsive),
        Err(_) => return Ok(Asked::NotThere),
    };
    // The hello exchange: a master of another kind, or none, is left to ssh.
    match hello(&mut sock) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::TimedOut => return Ok(Asked::Unresponsive),
        Err(_) => return Ok(Asked::NotThere),
    }
    let (in_r, in_w) = pipe(true)?;
    let (out_r, out_w) = pipe(true)?;
    let (err_r, err_w) = pipe(false)?;
    let mut m = Vec::with_capacity(64 + command.len());
    put_u32(&mut m, C_NEW_SESSION);
    put_u32(&mut m, REQUEST_ID);
    put_bytes(&mut m, b""); // reserved
    for flag in [0, 0, 0, 0] {
        // tty, X11, agent forwarding, subsystem
        put_u32(&mut m, flag);
    }
    put_u32(&mut m, NO_ESCAPE);
    put_bytes(&mut m, b""); // terminal type
    put_bytes(&mut m, command.as_bytes());
    let mut env = 0;
    for (name, value) in std::env::vars_os() {
        use std::os::unix::ffi::OsStrExt;
        let entry = [name.as_bytes(), b"=", value.as_bytes()].concat();
        env += entry.len() + 4;
        if env > MAX_ENV {
            break;
        }
        put_bytes(&mut m, &entry);
    }
    // From here on the command may run.
    let asked = write_packet(&mut sock, &m).and_then(|()| {
        // One byte with each, as OpenSSH's `mm_send_fd` sends them.
        [in_r.as_fd(), out_w.as_fd(), err_w.as_fd()]
            .into_iter()
            .try_for_each(|fd| crate::unix::send_with_fd(sock.as_fd(), b"\0", Some(fd)))
    });
    if asked.is_err() {
        return Ok(Asked::Gone);
    }
    // The master holds its own copies now.
    drop((in_r, out_w, err_w));
    let reply = match read_packet_before(&mut sock, Instant::now() + OPEN_WAIT) {
        Ok(reply) => reply,
        Err(e) if e.kind() == io::ErrorKind::TimedOut => {
            return Err(io::Error::other(format!(
                "the shared connection's master did not say within {} s whether the session opened \
                 (the command may run there)",
                OPEN_WAIT.as_secs()
            )))
        }
        Err(_) => return Ok(Asked::Gone),
    };
    let mut r = &reply[..];
    let (kind, rid) = (get_u32(&mut r)?, get_u32(&mut r)?);
    if rid != REQUEST_ID {
        return Err(io::Error::other(format!("the shared connection's master answered request {rid}")));
    }
    match kind {
        S_SESSION_OPENED => {
            let id = get_u32(&mut r)?;
            let session = Session { sock, id, status: None, closed: false };
            Ok(Asked::Opened(Opened { session, stdin: in_w.into(), stdout: out_r.into(), stderr: err_r.into() }))
        }
        S_PERMISSION_DENIED | S_FAILURE => {
            let why = get_bytes(&mut r).map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
            log::debug!("the shared connection refused a session ({why}); ssh next");
            Ok(Asked::NotThere)
        }
        other => Err(io::Error::other(format!("the shared connection's master answered 0x{other:08x}"))),
    }
}

/// Connect to `path` without waiting: `Ok(None)` when a listener is
/// there but takes no more connections (its backlog is full: a hung
/// master); an error when none is there.
fn connect(path: &Path) -> io::Result<Option<UnixStream>> {
    use nix::sys::socket::{socket, AddressFamily, SockFlag, SockType};
    let flags = SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK;
    let fd = socket(AddressFamily::Unix, SockType::Stream, flags, None)?;
    let addr = UnixAddr::new(path)?;
    match nix::sys::socket::connect(fd.as_raw_fd(), &addr) {
        Ok(()) => {}
        Err(nix::errno::Errno::EAGAIN) => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let sock = UnixStream::from(fd);
    sock.set_nonblocking(false)?;
    Ok(Some(sock))
}

impl Session {
    /// Its exit status if it ended before `deadline`; `None`: it still
    /// runs. It has ended when the master closes the control connection,
    /// which it does once the session's channel is gone and the last of its
    /// output was passed on (the exit status may come before that: the
    /// output is not all here yet). 255: closed without a status (the
    /// connection failed, or the command was killed by a signal), as `ssh`
    /// exits then.
    pub fn end_before(&mut self, deadline: Instant) -> Option<i32> {
        while !self.closed {
            if !crate::unix::ready_before(self.sock.as_fd(), PollFlags::POLLIN, deadline) {
                return None;
            }
            let packet = match read_packet_before(&mut self.sock, Instant::now() + HELLO_WAIT) {
                Ok(p) => p,
                Err(_) => {
                    self.closed = true;
                    break;
                }
            };
            let mut r = &packet[..];
            if let (Ok(S_EXIT_MESSAGE), Ok(id), Ok(status)) = (get_u32(&mut r), get_u32(&mut r), get_u32(&mut r)) {
                if id == self.id {
                    // sshd sends the command's exit status (0 to 255).
                    self.status = Some((status & 0xff) as i32);
                }
            }
            // Anything else (a terminal that could not be had) is not an end.
        }
        Some(self.status.unwrap_or(255))
    }

    /// Whether it ended (without waiting).
    pub fn ended(&mut self) -> bool {
        self.end_before(Instant::now()).is_some()
    }

    /// End it: the master closes the session's channel (the far side sees
    /// its input end and its output closed, as when `ssh` is killed).
    pub fn close(&mut self) {
        let _ = self.sock.shutdown(std::net::Shutdown::Both);
        self.closed = true;
    }
}

fn hello(sock: &mut UnixStream) -> io::Result<()> {
    let mut m = Vec::with_capacity(8);
    put_u32(&mut m, MSG_HELLO);
    put_u32(&mut m, PROTOCOL);
    write_packet(sock, &m)?;
    let reply = read_packet_before(sock, Instant::now() + HELLO_WAIT)?;
    let mut r = &reply[..];
    match (get_u32(&mut r)?, get_u32(&mut r)?) {
        (MSG_HELLO, PROTOCOL) => Ok(()),
        (kind, version) => Err(io::Error::other(format!("not a master of protocol 4 ({kind:#x}, {version})"))),
    }
}

/// A pipe (close-on-exec), `grown` for a batch's script or output as
/// `ssh`'s are ([`super::grow_pipe`]).
fn pipe(grown: bool) -> io::Result<(OwnedFd, OwnedFd)> {
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
    if grown {
        super::grow_pipe(r.as_fd());
    }
    Ok((r, w))
}

fn put_u32(m: &mut Vec<u8>, v: u32) {
    m.extend_from_slice(&v.to_be_bytes());
}

fn put_bytes(m: &mut Vec<u8>, b: &[u8]) {
    put_u32(m, b.len() as u32);
    m.extend_from_slice(b);
}

fn short() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "a short packet from the shared connection's master")
}

fn get_u32(r: &mut &[u8]) -> io::Result<u32> {
    let (head, rest) = r.split_first_chunk::<4>().ok_or_else(short)?;
    *r = rest;
    Ok(u32::from_be_bytes(*head))
}

fn get_bytes<'a>(r: &mut &'a [u8]) -> io::Result<&'a [u8]> {
    let n = get_u32(r)? as usize;
    let b = r.get(..n).ok_or_else(short)?;
    *r = &r[n..];
    Ok(b)
}

/// Send `body` as one packet (never SIGPIPE: a master that went is an error).
fn write_packet(sock: &mut UnixStream, body: &[u8]) -> io::Result<()> {
    let mut m = Vec::with_capacity(4 + body.len());
    put_bytes(&mut m, body);
    let mut rest = &m[..];
    while !rest.is_empty() {
        match nix::sys::socket::send(sock.as_raw_fd(), rest, MsgFlags::MSG_NOSIGNAL) {
            Ok(n) => rest = &rest[n..],
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// One packet, all of it before `deadline` (a master that stops halfway is an error).
fn read_packet_before(sock: &mut UnixStream, deadline: Instant) -> io::Result<Vec<u8>> {
    let mut read = |buf: &mut [u8]| -> io::Result<()> {
        let mut at = 0;
        while at < buf.len() {
            if !crate::unix::ready_before(sock.as_fd(), PollFlags::POLLIN, deadline) {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "the shared connection's master did not answer"));
            }
            match sock.read(&mut buf[at..]) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => at += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    };
    let mut len = [0u8; 4];
    read(&mut len)?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_PACKET {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "an oversized packet from the shared connection"));
    }
    let mut body = vec![0u8; len];
    read(&mut body)?;
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn packets_are_read_whole_and_bounded() {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        let mut m = Vec::new();
        put_u32(&mut m, S_EXIT_MESSAGE);
        put_u32(&mut m, 7);
        put_u32(&mut m, 3);
        write_packet(&mut a, &m).unwrap();
        let p = read_packet_before(&mut b, Instant::now() + Duration::from_secs(1)).unwrap();
        assert_eq!(p, m);
        // An oversized length is refused before anything is allocated.
        a.write_all(&u32::MAX.to_be_bytes()).unwrap();
        let e = read_packet_before(&mut b, Instant::now() + Duration::from_secs(1)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        // Half a packet, then nothing: an error at the deadline, not a wait forever.
        a.write_all(&[0, 0, 0, 8, 1]).unwrap();
        let e = read_packet_before(&mut b, Instant::now() + Duration::from_millis(50)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
    }

    #[test]
    fn a_session_ends_when_the_master_closes_with_its_exit_status() {
        let (mut master, sock) = UnixStream::pair().unwrap();
        let mut s = Session { sock, id: 5, status: None, closed: false };
        assert_eq!(s.end_before(Instant::now() + Duration::from_millis(20)), None);
        for (id, status) in [(4, 1), (5, 97)] {
            // Another session's end is not this one's.
            let mut m = Vec::new();
            for v in [S_EXIT_MESSAGE, id, status] {
                put_u32(&mut m, v);
            }
            write_packet(&mut master, &m).unwrap();
        }
        // The status alone is not the end: output may still be on its way.
        assert_eq!(s.end_before(Instant::now() + Duration::from_millis(50)), None);
        assert!(!s.ended());
        drop(master);
        assert_eq!(s.end_before(Instant::now() + Duration::from_secs(1)), Some(97));
        assert!(s.ended());
        // Closed without a status: as ssh's 255.
        let (master, sock) = UnixStream::pair().unwrap();
        let mut s = Session { sock, id: 5, status: None, closed: false };
        drop(master);
        assert_eq!(s.end_before(Instant::now() + Duration::from_secs(1)), Some(255));
    }

    #[test]
    fn no_master_is_left_to_ssh_and_a_hung_one_to_a_connection_of_its_own() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(open(&dir.path().join("none"), "true"), Ok(Asked::NotThere)));
        // A socket whose listener says something else.
        let path = dir.path().join("other");
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let t = std::thread::spawn(move || {
            let (mut c, _) = listener.accept().unwrap();
            c.write_all(b"\0\0\0\x08SSH-2.0-").unwrap();
            let mut sink = Vec::new();
            let _ = c.read_to_end(&mut sink);
        });
        assert!(matches!(open(&path, "true"), Ok(Asked::NotThere)));
        t.join().unwrap();
        // One that accepts and says nothing.
        let path = dir.path().join("hung");
        let _listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let started = Instant::now();
        assert!(matches!(open(&path, "true"), Ok(Asked::Unresponsive)));
        assert!(started.elapsed() < HELLO_WAIT + Duration::from_secs(1));
    }
}
