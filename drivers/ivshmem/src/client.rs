//! A host-side ivshmem peer: connects to an ivshmem server like QEMU's
//! `ivshmem-doorbell` does, then rings other peers' vectors (writes their
//! eventfds) and waits for its own.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use super::protocol::{self, Message, PROTOCOL_VERSION, SHM_MESSAGE};
use mmiodrv::backend::{Interrupts, IrqEvent, IrqKind};
use mmiodrv::error::{DeviceRef, Error, ErrorKind, Result};

/// After our own first vector arrives, how long to wait for the rest of the
/// initial burst (the server sends them back to back).
const SETTLE: Duration = Duration::from_millis(100);
/// How long [`Client::drain`] goes on reading messages that keep coming.
const DRAIN_BUDGET: Duration = Duration::from_millis(100);
/// Most vectors a peer may announce (a guest's MSI-X table ends at 2048).
const MAX_VECTORS: usize = 2048;

/// A host peer of an ivshmem server.
pub struct Client {
    stream: UnixStream,
    name: DeviceRef,
    id: u16,
    shm: File,
    own: Vec<File>,
    peers: BTreeMap<u16, Vec<File>>,
}

impl Client {
    /// Connect and receive the initial messages (within `timeout`).
    pub fn connect(socket: &Path, timeout: Duration) -> Result<Client> {
        let name = DeviceRef::Server(socket.to_path_buf());
        let stream = UnixStream::connect(socket).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => Error::on(name.clone(), ErrorKind::NoServer),
            _ => Error::io_on(name.clone(), "cannot connect to", socket, e),
        })?;
        let bad = |what: String| {
            Error::on(name.clone(), ErrorKind::Protocol { what: format!("not an ivshmem server ({what})") })
        };
        let deadline = Instant::now() + timeout;
        let first = |stream: &UnixStream| -> Result<Message> {
            let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
            stream
                .set_read_timeout(Some(left))
                .map_err(|e| Error::io_on(name.clone(), "cannot set a timeout on", socket, e))?;
            match protocol::recv(stream.as_fd()) {
                Ok(Some(m)) => Ok(m),
                Ok(None) => Err(bad("the server closed the connection during setup".into())),
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => Err(Error::on(
                    name.clone(),
                    ErrorKind::Timeout { what: "the server's greeting".into(), ms: timeout.as_millis() as u64 },
                )),
                Err(e) => Err(Error::io_on(name.clone(), "cannot read from", socket, e)),
            }
        };
        let version = first(&stream)?;
        if version.value != PROTOCOL_VERSION || version.fd.is_some() {
            return Err(bad(format!("protocol version {} (expected {PROTOCOL_VERSION})", version.value)));
        }
        let id = first(&stream)?;
        let id = match (u16::try_from(id.value), id.fd) {
            (Ok(v), None) => v,
            (_, _) => return Err(bad(format!("peer ID {} out of range", id.value))),
        };
        let shm = first(&stream)?;
        let shm = match (shm.value, shm.fd) {
            (SHM_MESSAGE, Some(fd)) => File::from(fd),
            (v, _) => return Err(bad(format!("expected -1 with the shared-memory fd, got {v}"))),
        };
        let name = name.clone();
        let mut client = Client { stream, name, id, shm, own: Vec::new(), peers: BTreeMap::new() };
        // Other peers' vectors, then our own; a server that never gets to
        // ours runs into the same deadline as a silent one.
        while client.own.is_empty() {
            if Instant::now() >= deadline {
                let what = "the server's greeting (its vectors for this peer)".into();
                return Err(Error::on(
                    client.name.clone(),
                    ErrorKind::Timeout { what, ms: timeout.as_millis() as u64 },
                ));
            }
            let m = first(&client.stream)?;
            client.process(m)?;
        }
        client
            .stream
            .set_read_timeout(None)
            .map_err(|e| Error::io_on(client.name.clone(), "cannot clear a timeout on", socket, e))?;
        client.drain(SETTLE)?;
        Ok(client)
    }

    fn process(&mut self, m: Message) -> Result<()> {
        let peer = u16::try_from(m.value).map_err(|_| {
            Error::on(self.name.clone(), ErrorKind::Protocol { what: format!("message {} is not a peer ID", m.value) })
        })?;
        let vectors = if peer == self.id { &mut self.own } else { self.peers.entry(peer).or_default() };
        if m.fd.is_some() && vectors.len() >= MAX_VECTORS {
            let what = format!("peer {peer} announced more than {MAX_VECTORS} vectors");
            return Err(Error::on(self.name.clone(), ErrorKind::Protocol { what }));
        }
        match m.fd {
            Some(fd) if peer == self.id => self.own.push(File::from(fd)),
            Some(fd) => self.peers.entry(peer).or_default().push(File::from(fd)),
            None => {
                self.peers.remove(&peer);
            }
        }
        Ok(())
    }

    /// Handle whatever the server sent, waiting up to `wait` for the first;
    /// what is pending is read for at most [`DRAIN_BUDGET`] more (a server
    /// that floods is not read forever).
    fn drain(&mut self, wait: Duration) -> Result<()> {
        let mut timeout = mmiodrv::unix::poll_timeout(wait);
        let deadline = Instant::now() + wait + DRAIN_BUDGET;
        loop {
            let readable = {
                let mut fds = [PollFd::new(self.stream.as_fd(), PollFlags::POLLIN)];
                match poll(&mut fds, timeout) {
                    Ok(n) => n > 0,
                    Err(Errno::EINTR) => continue,
                    Err(e) => {
                        return Err(Error::io_on(self.name.clone(), "cannot poll", "the server socket", e.into()))
                    }
                }
            };
            if !readable {
                return Ok(());
            }
            self.read_one()?;
            if Instant::now() > deadline {
                return Ok(());
            }
            timeout = PollTimeout::ZERO;
        }
    }

    fn read_one(&mut self) -> Result<()> {
        match protocol::recv(self.stream.as_fd()) {
            Ok(Some(m)) => self.process(m),
            Ok(None) => {
                Err(Error::on(self.name.clone(), ErrorKind::Gone { why: "the server closed the connection".into() }))
            }
            Err(e) => Err(Error::io_on(self.name.clone(), "cannot read from", "the server socket", e)),
        }
    }

    /// Take in joins and departures announced since the last call.
    pub fn refresh(&mut self) -> Result<()> {
        self.drain(Duration::ZERO)
    }

    /// Our peer ID.
    pub fn id(&self) -> u16 {
        self.id
    }

    /// Our own vector count.
    pub fn own_vectors(&self) -> usize {
        self.own.len()
    }

    /// Other peers and their vector counts, by ID.
    pub fn peers(&self) -> Vec<(u16, usize)> {
        self.peers.iter().map(|(id, v)| (*id, v.len())).collect()
    }

    /// The shared memory the server handed out.
    pub fn shm(&self) -> &File {
        &self.shm
    }

    /// Size of the shared memory.
    pub fn shm_size(&self) -> Result<u64> {
        self.shm
            .metadata()
            .map(|m| m.len())
            .map_err(|e| Error::io_on(self.name.clone(), "cannot stat", "the shared-memory fd", e))
    }

    /// Interrupt `vector` of `peer` (which may be ourselves).
    pub fn ring(&mut self, peer: u16, vector: u16) -> Result<()> {
        self.refresh()?;
        let fds = if peer == self.id { Some(&self.own) } else { self.peers.get(&peer) };
        let Some(fds) = fds else {
            let mut known: Vec<String> = self.peers.keys().map(u16::to_string).collect();
            known.push(format!("{} (this client)", self.id));
            return Err(Error::invalid(
                peer.to_string(),
                format!("no peer {peer} on the server (peers: {})", known.join(", ")),
            ));
        };
        let mut fd = fds.get(usize::from(vector)).ok_or_else(|| {
            Error::invalid(
                vector.to_string(),
                format!(
                    "peer {peer} has {} vector{} (0..{})",
                    fds.len(),
                    if fds.len() == 1 { "" } else { "s" },
                    fds.len().saturating_sub(1)
                ),
            )
        })?;
        fd.write_all(&1u64.to_ne_bytes())
            .map_err(|e| Error::io_on(self.name.clone(), "cannot signal", "a peer eventfd", e))
    }

    /// Wait for one of our vectors (only `vector` when given) to be rung.
    /// Returns the vector and how many times it was rung since the last wait.
    pub fn wait(&mut self, vector: Option<u16>, timeout: Duration) -> Result<(u16, u64)> {
        let e = self.wait_for(vector.map(u32::from), timeout)?;
        Ok((e.vector as u16, e.count))
    }
}

/// A host client's own vectors are what a guest's MSI-X vectors are to an
/// ivshmem-doorbell peer: waiting on them is waiting for interrupts, with the
/// server's announcements taken in meanwhile.
impl Interrupts for Client {
    fn kind(&self) -> IrqKind {
        IrqKind::Msix
    }

    fn vectors(&self) -> u32 {
        self.own.len() as u32
    }

    fn wait(&mut self, timeout: Duration) -> Result<IrqEvent> {
        let deadline = Instant::now() + timeout;
        loop {
            let (server, fired) = {
                let mut fds = vec![PollFd::new(self.stream.as_fd(), PollFlags::POLLIN)];
                fds.extend(self.own.iter().map(|f| PollFd::new(f.as_fd(), PollFlags::POLLIN)));
                match poll(&mut fds, mmiodrv::unix::poll_timeout(deadline.saturating_duration_since(Instant::now()))) {
                    Ok(_) | Err(Errno::EINTR) => {}
                    Err(e) => return Err(Error::io_on(self.name.clone(), "cannot poll", "eventfds", e.into())),
                }
                let ready = |p: &PollFd| p.revents().is_some_and(|r| !r.is_empty());
                (ready(&fds[0]), fds[1..].iter().position(ready))
            };
            if let Some(v) = fired {
                let mut buf = [0u8; 8];
                match (&self.own[v]).read(&mut buf) {
                    Ok(8) => {
                        return Ok(IrqEvent { kind: IrqKind::Msix, vector: v as u32, count: u64::from_ne_bytes(buf) })
                    }
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(Error::io_on(self.name.clone(), "cannot read", "an own eventfd", e)),
                }
            }
            if server {
                self.read_one()?;
            }
            if Instant::now() >= deadline {
                let what = format!("any of peer {}'s {} vector(s) to be rung", self.id, self.own.len());
                return Err(Error::on(self.name.clone(), ErrorKind::Timeout { what, ms: timeout.as_millis() as u64 }));
            }
        }
    }
}
