//! An ivshmem server for `ivshmem-doorbell` peers (QEMU guests and host
//! clients), speaking QEMU's protocol (see [`super::protocol`]). Debian ships no
//! `ivshmem-server`; this one does what QEMU's contrib server does: hands every
//! peer the shared-memory fd and an ID, gives it one eventfd per vector, tells
//! everybody about joins and departures, and forgets peers whose socket closes.
//!
//! Single-threaded: one poll(2) loop over the listening socket, the peers'
//! sockets and a caller's stop fd (a signalfd in the CLI).
//!
//! Who gets the memory: the socket is made with its mode set before anyone
//! can reach it (0660 unless told otherwise: bound in a private directory,
//! then renamed into place), every peer's credentials (`SO_PEERCRED`) are
//! checked against the allowed users and groups (this server's user and root
//! unless told otherwise), and at most [`ServerConfig::max_peers`] peers are
//! served. When accepting fails for lack of descriptors (EMFILE), accepting
//! pauses for [`ACCEPT_BACKOFF`] instead of spinning, and refusals are
//! reported at most once a second, with how many there were.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::eventfd::{EfdFlags, EventFd};
use nix::sys::socket::MsgFlags;
use serde::Serialize;

use super::protocol::{self, MAX_PEERS, PROTOCOL_VERSION, SHM_MESSAGE};
use mmiodrv::error::{DeviceRef, Error, ErrorKind, Remedy, Result};
use mmiodrv::text::size_string;
/// A peer that does not take a message within this time is dropped.
const SEND_TIMEOUT: Duration = Duration::from_secs(2);
/// QEMU's contrib server allows at most 64 vectors per peer.
pub const MAX_VECTORS: u16 = 64;
/// Peers served at once when not told otherwise.
pub const DEFAULT_MAX_PEERS: usize = 16;
/// The socket's mode when not told otherwise: the server's user and group.
pub const DEFAULT_SOCKET_MODE: u32 = 0o660;
/// How long accepting pauses after it failed for lack of resources (EMFILE,
/// ENFILE, ENOBUFS, ENOMEM): the pending connection stays queued meanwhile.
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// Refusals and accept failures are reported at most this often.
const REPORT_EVERY: Duration = Duration::from_secs(1);

/// What to serve.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// UNIX socket the peers connect to (`-chardev socket,path=...`).
    pub socket: PathBuf,
    /// Shared-memory file (e.g. under /dev/shm), created when missing.
    pub shm: PathBuf,
    /// Its size in bytes: a power of two, at least 4 KiB.
    pub size: u64,
    /// Eventfds (interrupt vectors) per peer.
    pub vectors: u16,
    /// The socket's permission bits ([`DEFAULT_SOCKET_MODE`]).
    pub socket_mode: u32,
    /// Users whose processes may be peers, besides this server's own and
    /// root (`SO_PEERCRED`).
    pub allow_uids: Vec<u32>,
    /// Groups whose members (primary or supplementary group) may be peers.
    pub allow_gids: Vec<u32>,
    /// Peers served at once ([`DEFAULT_MAX_PEERS`]).
    pub max_peers: usize,
}

impl ServerConfig {
    /// A configuration with the defaults for the socket mode, the allowed
    /// peers and their number.
    pub fn new(socket: PathBuf, shm: PathBuf, size: u64, vectors: u16) -> Self {
        ServerConfig {
            socket,
            shm,
            size,
            vectors,
            socket_mode: DEFAULT_SOCKET_MODE,
            allow_uids: Vec::new(),
            allow_gids: Vec::new(),
            max_peers: DEFAULT_MAX_PEERS,
        }
    }
}

/// Something that happened to the peer set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum ServerEvent {
    /// A peer connected and got its ID.
    Joined {
        /// Its ID.
        peer: u16,
    },
    /// A peer went away.
    Left {
        /// Its ID.
        peer: u16,
        /// Why.
        reason: String,
    },
    /// A connection was refused.
    Refused {
        /// Why.
        reason: String,
    },
}

impl std::fmt::Display for ServerEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServerEvent::Joined { peer } => write!(f, "peer {peer} joined"),
            ServerEvent::Left { peer, reason } => write!(f, "peer {peer} left ({reason})"),
            ServerEvent::Refused { reason } => write!(f, "connection refused: {reason}"),
        }
    }
}

struct Peer {
    id: u16,
    stream: UnixStream,
    vectors: Vec<EventFd>,
}

/// An ivshmem server: hands out the shared memory and every peer's eventfds.
pub struct Server {
    listener: UnixListener,
    socket: PathBuf,
    /// (device, inode) of the socket we bound, so Drop removes only our own.
    socket_id: (u64, u64),
    shm: File,
    shm_path: PathBuf,
    shm_created: bool,
    size: u64,
    vectors: u16,
    peers: Vec<Peer>,
    next_id: usize,
    allow_uids: Vec<u32>,
    allow_gids: Vec<u32>,
    max_peers: usize,
    /// Accepting is paused until then (after EMFILE and the like).
    paused_until: Option<Instant>,
    /// Refusals and accept failures not reported yet, and when the last report was.
    unreported: usize,
    last_report: Option<Instant>,
}

fn on(socket: &Path) -> DeviceRef {
    DeviceRef::Server(socket.to_path_buf())
}

/// Refuse a socket path another server answers on; remove a stale one.
fn claim_socket_path(path: &Path) -> Result<()> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io_on(on(path), "cannot inspect", path, e)),
    };
    if !meta.file_type().is_socket() {
        return Err(Error::on(
            on(path),
            ErrorKind::NotSupported {
                what: "this socket path",
                why: format!("{} exists and is not a socket; refusing to replace it", path.display()),
            },
        ));
    }
    match UnixStream::connect(path) {
        Ok(_) => Err(Error::on(
            on(path),
            ErrorKind::Busy {
                what: "the socket is in use",
                why: "another server is listening on it".into(),
                remedy: Remedy::Text("stop that server, or pick another socket path".into()),
            },
        )),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            log::info!("removing stale socket {}", path.display());
            std::fs::remove_file(path).map_err(|e| Error::io_on(on(path), "cannot remove stale socket", path, e))
        }
        Err(e) => Err(Error::io_on(on(path), "cannot probe socket", path, e)),
    }
}

/// Listen on `path` with the socket's mode `mode` from the start: bound in
/// a new private directory beside it, given its mode there (where nobody
/// else can reach it, so no link can be planted in between), then renamed
/// into place.
fn listen_with_mode(path: &Path, mode: u32) -> io::Result<UnixListener> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut made = None;
    for n in 0..100u32 {
        let dir = parent.join(format!(".ivshmem-server-{}-{n}", std::process::id()));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {
                made = Some(dir);
                break;
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    let dir = made.ok_or_else(|| io::Error::from(io::ErrorKind::AlreadyExists))?;
    let inner = dir.join("sock");
    let result = UnixListener::bind(&inner).and_then(|listener| {
        std::fs::set_permissions(&inner, std::fs::Permissions::from_mode(mode))?;
        std::fs::rename(&inner, path)?;
        Ok(listener)
    });
    let _ = std::fs::remove_file(&inner);
    let _ = std::fs::remove_dir(&dir);
    result
}

/// The effective uid, gid and supplementary groups of the process at the
/// other end of `stream`.
fn peer_ids(stream: &UnixStream) -> io::Result<(u32, Vec<u32>, i32)> {
    let cred = nix::sys::socket::getsockopt(stream, nix::sys::socket::sockopt::PeerCredentials)?;
    let mut gids = vec![cred.gid()];
    // Supplementary groups: the peer's /proc entry (SO_PEERCRED has only the primary one).
    if let Ok(status) = std::fs::read_to_string(format!("/proc/{}/status", cred.pid())) {
        if let Some(line) = status.lines().find_map(|l| l.strip_prefix("Groups:")) {
            gids.extend(line.split_whitespace().filter_map(|g| g.parse::<u32>().ok()));
        }
    }
    Ok((cred.uid(), gids, cred.pid()))
}

/// Open (or create) the shared-memory file and check its size. Returns the file
/// and whether it was created here.
fn open_shm(path: &Path, size: u64) -> Result<(File, bool)> {
    use std::os::unix::fs::OpenOptionsExt;
    // Non-blocking open: a FIFO given as the file is refused below, not waited on.
    match OpenOptions::new().read(true).write(true).custom_flags(nix::libc::O_NONBLOCK).open(path) {
        Ok(file) => {
            let meta = file.metadata().map_err(|e| Error::io("cannot stat", path, e))?;
            if !meta.file_type().is_file() {
                let what = "the shared memory (use a file under /dev/shm)";
                return Err(ErrorKind::NotARegularFile { what, path: path.to_path_buf() }.into());
            }
            if meta.len() == 0 {
                file.set_len(size).map_err(|e| Error::io("cannot size", path, e))?;
            } else if meta.len() != size {
                return Err(Error::invalid(
                    size.to_string(),
                    format!(
                        "size mismatch: the shared-memory file {} is {} bytes ({}), not {size} ({}); serve it with size {} or use another file",
                        path.display(),
                        meta.len(),
                        size_string(meta.len()),
                        size_string(size),
                        size_string(meta.len())
                    ),
                ));
            }
            Ok((file, false))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| Error::io("cannot create", path, e))?;
            if let Err(e) = file.set_len(size) {
                let _ = std::fs::remove_file(path);
                return Err(Error::io("cannot size", path, e));
            }
            Ok((file, true))
        }
        Err(e) => Err(Error::io("cannot open", path, e)),
    }
}

impl Server {
    /// Check the configuration, claim the socket path and open the shared memory.
    /// Nothing is created when a check fails.
    pub fn bind(cfg: &ServerConfig) -> Result<Server> {
        if !cfg.size.is_power_of_two() || cfg.size < 4096 {
            return Err(Error::invalid(
                cfg.size.to_string(),
                "the shared-memory size must be a power of two of at least 4K (it becomes a PCI BAR)",
            ));
        }
        if cfg.vectors == 0 || cfg.vectors > MAX_VECTORS {
            return Err(Error::invalid(cfg.vectors.to_string(), format!("the vector count must be 1..={MAX_VECTORS}")));
        }
        claim_socket_path(&cfg.socket)?;
        let (shm, shm_created) = open_shm(&cfg.shm, cfg.size)?;
        let cleanup_shm = || {
            if shm_created {
                let _ = std::fs::remove_file(&cfg.shm);
            }
        };
        if cfg.socket_mode & !0o777 != 0 {
            cleanup_shm();
            return Err(Error::invalid(
                format!("{:o}", cfg.socket_mode),
                "a socket mode is permission bits (0..=0777)",
            ));
        }
        if cfg.max_peers == 0 {
            cleanup_shm();
            return Err(Error::invalid("0", "at least one peer must be allowed"));
        }
        let listener = match listen_with_mode(&cfg.socket, cfg.socket_mode) {
            Ok(l) => l,
            Err(e) => {
                cleanup_shm();
                return Err(Error::io("cannot listen on", &cfg.socket, e));
            }
        };
        let socket_id = match std::fs::metadata(&cfg.socket) {
            Ok(m) => (m.dev(), m.ino()),
            Err(e) => {
                cleanup_shm();
                return Err(Error::io("cannot stat", &cfg.socket, e));
            }
        };
        Ok(Server {
            listener,
            socket: cfg.socket.clone(),
            socket_id,
            shm,
            shm_path: cfg.shm.clone(),
            shm_created,
            size: cfg.size,
            vectors: cfg.vectors,
            peers: Vec::new(),
            next_id: 0,
            allow_uids: cfg.allow_uids.clone(),
            allow_gids: cfg.allow_gids.clone(),
            max_peers: cfg.max_peers.min(MAX_PEERS),
            paused_until: None,
            unreported: 0,
            last_report: None,
        })
    }

    /// The socket it listens on.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The shared-memory file.
    pub fn shm_path(&self) -> &Path {
        &self.shm_path
    }

    /// The shared memory's size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Vectors per peer.
    pub fn vectors(&self) -> u16 {
        self.vectors
    }

    /// IDs of the connected peers.
    pub fn peers(&self) -> Vec<u16> {
        self.peers.iter().map(|p| p.id).collect()
    }

    /// Serve until `stop` becomes readable (then return Ok). `on_event` hears
    /// about every join and departure.
    pub fn run(&mut self, stop: Option<BorrowedFd<'_>>, on_event: &mut dyn FnMut(&ServerEvent)) -> Result<()> {
        loop {
            if self.poll_once(stop, PollTimeout::NONE, on_event)? {
                return Ok(());
            }
        }
    }

    /// One round of the loop; true when `stop` fired.
    fn poll_once(
        &mut self,
        stop: Option<BorrowedFd<'_>>,
        timeout: PollTimeout,
        on_event: &mut dyn FnMut(&ServerEvent),
    ) -> Result<bool> {
        // While accepting is paused, the listener is left out of the poll
        // and the poll ends when the pause does.
        let now = Instant::now();
        let paused = self.paused_until.filter(|t| *t > now);
        self.paused_until = paused;
        let timeout = match paused {
            Some(until) => {
                let left = until.saturating_duration_since(now).as_millis().max(1) as i32;
                match timeout {
                    PollTimeout::NONE => PollTimeout::try_from(left).unwrap_or(PollTimeout::MAX),
                    t => PollTimeout::try_from(i32::from(t).min(left)).unwrap_or(t),
                }
            }
            None => timeout,
        };
        let (stop_ready, listener_ready, ready_peers) = {
            let listening = paused.is_none();
            let mut fds = Vec::new();
            if listening {
                fds.push(PollFd::new(self.listener.as_fd(), PollFlags::POLLIN));
            }
            let stop_at = fds.len();
            if let Some(s) = stop {
                fds.push(PollFd::new(s, PollFlags::POLLIN));
            }
            let first_peer = fds.len();
            fds.extend(self.peers.iter().map(|p| PollFd::new(p.stream.as_fd(), PollFlags::POLLIN)));
            match poll(&mut fds, timeout) {
                Ok(_) => {}
                Err(Errno::EINTR) => return Ok(false),
                Err(e) => return Err(Error::io("cannot poll", &self.socket, e.into())),
            }
            let ready = |p: &PollFd| p.revents().is_some_and(|r| !r.is_empty());
            let stop_ready = stop.is_some() && ready(&fds[stop_at]);
            let peers: Vec<u16> =
                fds[first_peer..].iter().zip(&self.peers).filter(|(f, _)| ready(f)).map(|(_, p)| p.id).collect();
            (stop_ready, listening && ready(&fds[0]), peers)
        };
        if stop_ready {
            return Ok(true);
        }
        for id in ready_peers {
            self.check_peer(id, on_event);
        }
        if listener_ready {
            match self.listener.accept() {
                Ok((stream, _)) => self.admit(stream, on_event),
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(nix::libc::EMFILE | nix::libc::ENFILE | nix::libc::ENOBUFS | nix::libc::ENOMEM)
                    ) =>
                {
                    // The connection stays queued; trying again at once would
                    // spin (and log) as fast as the CPU goes.
                    self.paused_until = Some(Instant::now() + ACCEPT_BACKOFF);
                    self.refuse(
                        format!(
                            "cannot accept a connection ({e}); accepting again in {} ms",
                            ACCEPT_BACKOFF.as_millis()
                        ),
                        on_event,
                    );
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock | io::ErrorKind::ConnectionAborted
                    ) => {}
                Err(e) => {
                    self.paused_until = Some(Instant::now() + ACCEPT_BACKOFF);
                    self.refuse(format!("cannot accept a connection ({e})"), on_event);
                }
            }
        }
        Ok(false)
    }

    /// Report a refusal, at most once per [`REPORT_EVERY`]: the others are
    /// counted into the next report.
    fn refuse(&mut self, reason: String, on_event: &mut dyn FnMut(&ServerEvent)) {
        let now = Instant::now();
        if self.last_report.is_some_and(|t| now.duration_since(t) < REPORT_EVERY) {
            self.unreported += 1;
            return;
        }
        let reason = match std::mem::take(&mut self.unreported) {
            0 => reason,
            n => format!("{reason} ({n} more refusal(s) since the last report)"),
        };
        self.last_report = Some(now);
        on_event(&ServerEvent::Refused { reason });
    }

    /// A new connection: a peer when its user may be one and there is room.
    fn admit(&mut self, stream: UnixStream, on_event: &mut dyn FnMut(&ServerEvent)) {
        let (uid, gids, pid) = match peer_ids(&stream) {
            Ok(ids) => ids,
            Err(e) => return self.refuse(format!("cannot read the peer's credentials: {e}"), on_event),
        };
        let me = nix::unistd::geteuid().as_raw();
        let allowed =
            uid == 0 || uid == me || self.allow_uids.contains(&uid) || gids.iter().any(|g| self.allow_gids.contains(g));
        if !allowed {
            return self.refuse(
                format!("process {pid} of uid {uid} is not allowed (allowed: uid {me}, root{})", self.allowed_text()),
                on_event,
            );
        }
        if self.peers.len() >= self.max_peers {
            return self.refuse(format!("process {pid}: {} peers already (the limit)", self.max_peers), on_event);
        }
        self.add_peer(stream, on_event);
    }

    fn allowed_text(&self) -> String {
        let mut out = String::new();
        for u in &self.allow_uids {
            out.push_str(&format!(", uid {u}"));
        }
        for g in &self.allow_gids {
            out.push_str(&format!(", gid {g}"));
        }
        out
    }

    /// A peer's socket is readable: data (peers send none; discarded) or its end.
    fn check_peer(&mut self, id: u16, on_event: &mut dyn FnMut(&ServerEvent)) {
        let Some(peer) = self.peers.iter().find(|p| p.id == id) else { return };
        let mut buf = [0u8; 256];
        let gone = match nix::sys::socket::recv(
            std::os::fd::AsRawFd::as_raw_fd(&peer.stream),
            &mut buf,
            MsgFlags::MSG_DONTWAIT,
        ) {
            Ok(0) => Some("connection closed".to_string()),
            Ok(n) => {
                log::debug!("peer {id} sent {n} unexpected bytes; ignored");
                None
            }
            Err(Errno::EAGAIN | Errno::EINTR) => None,
            Err(e) => Some(format!("socket error: {e}")),
        };
        if let Some(reason) = gone {
            self.remove_peer(id, reason, on_event);
        }
    }

    fn free_id(&mut self) -> Option<u16> {
        (0..MAX_PEERS)
            .map(|i| (self.next_id + i) % MAX_PEERS)
            .find(|&id| self.peers.iter().all(|p| usize::from(p.id) != id))
            .map(|id| {
                self.next_id = (id + 1) % MAX_PEERS;
                id as u16
            })
    }

    fn add_peer(&mut self, stream: UnixStream, on_event: &mut dyn FnMut(&ServerEvent)) {
        let Some(id) = self.free_id() else {
            on_event(&ServerEvent::Refused { reason: format!("all {MAX_PEERS} peer IDs are in use") });
            return;
        };
        let vectors: io::Result<Vec<EventFd>> = (0..self.vectors)
            .map(|_| EventFd::from_flags(EfdFlags::EFD_NONBLOCK | EfdFlags::EFD_CLOEXEC).map_err(io::Error::from))
            .collect();
        let peer = vectors.and_then(|vectors| {
            stream.set_write_timeout(Some(SEND_TIMEOUT))?;
            Ok(Peer { id, stream, vectors })
        });
        let peer = match peer.and_then(|p| self.welcome(&p).map(|()| p)) {
            Ok(p) => p,
            Err(e) => {
                on_event(&ServerEvent::Refused { reason: format!("peer {id}: {e}") });
                return;
            }
        };
        // Announce the newcomer's vectors to everybody else.
        let mut dead = Vec::new();
        for other in &self.peers {
            let sent: io::Result<()> = peer
                .vectors
                .iter()
                .try_for_each(|v| protocol::send(other.stream.as_fd(), i64::from(id), Some(v.as_fd())));
            if let Err(e) = sent {
                dead.push((other.id, format!("cannot send to it: {e}")));
            }
        }
        self.peers.push(peer);
        on_event(&ServerEvent::Joined { peer: id });
        for (other, reason) in dead {
            self.remove_peer(other, reason, on_event);
        }
    }

    /// Initial messages to a new peer: version, its ID, the shm fd, the other
    /// peers' eventfds, then its own.
    fn welcome(&self, peer: &Peer) -> io::Result<()> {
        let sock = peer.stream.as_fd();
        protocol::send(sock, PROTOCOL_VERSION, None)?;
        protocol::send(sock, i64::from(peer.id), None)?;
        protocol::send(sock, SHM_MESSAGE, Some(self.shm.as_fd()))?;
        for other in &self.peers {
            for v in &other.vectors {
                protocol::send(sock, i64::from(other.id), Some(v.as_fd()))?;
            }
        }
        for v in &peer.vectors {
            protocol::send(sock, i64::from(peer.id), Some(v.as_fd()))?;
        }
        Ok(())
    }

    /// Forget a peer and tell the others; a peer that cannot be told goes too.
    fn remove_peer(&mut self, id: u16, reason: String, on_event: &mut dyn FnMut(&ServerEvent)) {
        let mut work = vec![(id, reason)];
        while let Some((id, reason)) = work.pop() {
            let Some(pos) = self.peers.iter().position(|p| p.id == id) else { continue };
            self.peers.remove(pos);
            on_event(&ServerEvent::Left { peer: id, reason });
            for other in &self.peers {
                if let Err(e) = protocol::send(other.stream.as_fd(), i64::from(id), None) {
                    if !work.iter().any(|(w, _)| *w == other.id) {
                        work.push((other.id, format!("cannot send to it: {e}")));
                    }
                }
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let ours = std::fs::symlink_metadata(&self.socket).is_ok_and(|m| (m.dev(), m.ino()) == self.socket_id);
        if ours {
            let _ = std::fs::remove_file(&self.socket);
        }
        if self.shm_created {
            let _ = std::fs::remove_file(&self.shm_path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Client;
    use std::sync::mpsc;

    struct Running {
        stop: EventFd,
        thread: Option<std::thread::JoinHandle<Vec<ServerEvent>>>,
        _dir: tempfile::TempDir,
        socket: PathBuf,
        shm: PathBuf,
    }

    impl Running {
        fn start(vectors: u16) -> Running {
            let dir = tempfile::tempdir().unwrap();
            let cfg = ServerConfig::new(dir.path().join("ivshmem.sock"), dir.path().join("shm"), 64 << 10, vectors);
            let mut server = Server::bind(&cfg).unwrap();
            let stop = EventFd::from_flags(EfdFlags::EFD_NONBLOCK).unwrap();
            let (tx, rx) = mpsc::channel();
            let stop_fd = stop.as_fd().try_clone_to_owned().unwrap();
            let thread = std::thread::spawn(move || {
                let mut events = Vec::new();
                tx.send(()).unwrap();
                server.run(Some(stop_fd.as_fd()), &mut |e| events.push(e.clone())).unwrap();
                events
            });
            rx.recv().unwrap();
            Running { stop, thread: Some(thread), socket: cfg.socket, shm: cfg.shm, _dir: dir }
        }

        fn stop(mut self) -> Vec<ServerEvent> {
            self.stop.write(1).unwrap();
            self.thread.take().unwrap().join().unwrap()
        }
    }

    const T: Duration = Duration::from_secs(5);

    #[test]
    fn peers_get_ids_memory_and_each_others_vectors() {
        let srv = Running::start(2);
        let mut a = Client::connect(&srv.socket, T).unwrap();
        let mut b = Client::connect(&srv.socket, T).unwrap();
        assert_eq!((a.id(), b.id()), (0, 1));
        assert_eq!(a.own_vectors(), 2);
        assert_eq!(b.peers(), vec![(0, 2)]);
        // The server tells a about b after b's own greeting: poll until it has.
        let deadline = std::time::Instant::now() + T;
        while a.peers().is_empty() && std::time::Instant::now() < deadline {
            a.refresh().unwrap();
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(a.peers(), vec![(1, 2)], "a heard about b joining");
        // Both see the same memory.
        assert_eq!(a.shm_size().unwrap(), 64 << 10);
        // Doorbells both ways.
        a.ring(1, 1).unwrap();
        assert_eq!(b.wait(None, T).unwrap(), (1, 1));
        b.ring(0, 0).unwrap();
        assert_eq!(a.wait(Some(0), T).unwrap(), (0, 1));
        let shm = srv.shm.clone();
        drop((a, b));
        let events = srv.stop();
        assert!(events.contains(&ServerEvent::Joined { peer: 1 }));
        assert!(!shm.exists(), "the server removes a shm file it created");
    }

    #[test]
    fn server_survives_a_vanished_peer_and_announces_it() {
        let srv = Running::start(1);
        let a = Client::connect(&srv.socket, T).unwrap();
        let mut b = Client::connect(&srv.socket, T).unwrap();
        drop(a);
        // b hears the departure, and a new peer still gets served.
        let deadline = std::time::Instant::now() + T;
        while !b.peers().is_empty() && std::time::Instant::now() < deadline {
            b.refresh().unwrap();
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(b.peers().is_empty(), "{:?}", b.peers());
        let c = Client::connect(&srv.socket, T).unwrap();
        assert_eq!(c.id(), 2, "IDs are not reused at once");
        assert_eq!(c.peers(), vec![(1, 1)]);
        let e = b.ring(0, 0).unwrap_err();
        assert!(e.to_string().contains("no peer 0"), "{e}");
        let e = b.ring(2, 1).unwrap_err();
        assert!(e.to_string().contains("has 1 vector"), "{e}");
        drop((b, c));
        let events = srv.stop();
        assert!(events.iter().any(|e| matches!(e, ServerEvent::Left { peer: 0, .. })), "{events:?}");
    }

    #[test]
    fn bad_configurations_are_refused_before_anything_is_created() {
        let srv = Running::start(1);
        let dir = tempfile::tempdir().unwrap();
        let cfg = |socket: &Path, size| ServerConfig::new(socket.into(), dir.path().join("new"), size, 1);
        let e = Server::bind(&cfg(&srv.socket, 4096)).err().unwrap();
        assert!(e.to_string().contains("is in use"), "{e}");
        assert!(!dir.path().join("new").exists());
        let e = Server::bind(&cfg(&dir.path().join("s"), 5000)).err().unwrap();
        assert!(e.to_string().contains("power of two"), "{e}");
        std::fs::write(dir.path().join("new"), [0u8; 8192]).unwrap();
        let e = Server::bind(&cfg(&dir.path().join("s"), 4096)).err().unwrap();
        assert!(e.to_string().contains("size mismatch"), "{e}");
        assert_eq!(std::fs::metadata(dir.path().join("new")).unwrap().len(), 8192, "nothing truncated");
        // A stale socket (no listener) is replaced.
        drop(std::os::unix::net::UnixListener::bind(dir.path().join("stale")).unwrap());
        let s = Server::bind(&cfg(&dir.path().join("stale"), 8192)).unwrap();
        drop(s);
        assert!(!dir.path().join("stale").exists(), "socket removed on drop");
        srv.stop();
    }
}
