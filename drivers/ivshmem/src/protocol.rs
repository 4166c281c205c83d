//! The ivshmem server protocol (QEMU docs/specs/ivshmem-spec.rst, "Server
//! protocol"): every message is one signed 64-bit little-endian integer, sent
//! over a UNIX stream socket, optionally with one file descriptor attached as
//! SCM_RIGHTS.
//!
//! On connect the server sends: the protocol version (0, no fd); the new peer's
//! own ID (no fd); -1 with the shared-memory fd; then, for every other peer, its
//! ID once per vector with that vector's eventfd; finally the new peer's own ID
//! once per vector with its own eventfds. Later: a peer ID with an eventfd
//! announces a joining peer's vector, a peer ID without one its departure.

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};

use mmiodrv::unix::recv_with_fd;

/// The only protocol version there is.
pub const PROTOCOL_VERSION: i64 = 0;
/// The message value that carries the shared-memory fd.
pub const SHM_MESSAGE: i64 = -1;
/// Peer IDs are 16 bits: the doorbell register takes `peer << 16 | vector`.
pub const MAX_PEERS: usize = 1 << 16;

/// One message as received.
#[derive(Debug)]
pub struct Message {
    /// The 64-bit value.
    pub value: i64,
    /// The descriptor sent with it, if any.
    pub fd: Option<OwnedFd>,
}

/// Send `value`, with `fd` attached when given. MSG_NOSIGNAL: a vanished peer is
/// an error value (EPIPE), never a SIGPIPE.
pub fn send(sock: BorrowedFd<'_>, value: i64, fd: Option<BorrowedFd<'_>>) -> io::Result<()> {
    mmiodrv::unix::send_with_fd(sock, &value.to_le_bytes(), fd)
}

/// Receive one message; `Ok(None)` on an orderly end of stream before its first
/// byte. A message split across reads is reassembled; an fd may come with any
/// part of it. Extra fds beyond the first are closed.
pub fn recv(sock: BorrowedFd<'_>) -> io::Result<Option<Message>> {
    let mut bytes = [0u8; 8];
    let mut got = 0usize;
    let mut fd: Option<OwnedFd> = None;
    while got < bytes.len() {
        let (n, passed) = recv_with_fd(sock, &mut bytes[got..])?;
        if fd.is_none() {
            fd = passed;
        }
        if n == 0 {
            if got == 0 && fd.is_none() {
                return Ok(None);
            }
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("stream ended inside a message ({got} of 8 bytes)"),
            ));
        }
        got += n;
    }
    Ok(Some(Message { value: i64::from_le_bytes(bytes), fd }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Seek, Write};
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixStream;

    #[test]
    fn values_are_8_bytes_little_endian() {
        let (a, mut b) = UnixStream::pair().unwrap();
        send(a.as_fd(), 0x0102_0304_0506_0708, None).unwrap();
        send(a.as_fd(), -1, None).unwrap();
        let mut raw = [0u8; 16];
        b.read_exact(&mut raw).unwrap();
        assert_eq!(raw[..8], [8, 7, 6, 5, 4, 3, 2, 1]);
        assert_eq!(raw[8..], [0xff; 8]);
    }

    #[test]
    fn fds_travel_with_their_message() {
        let (a, b) = UnixStream::pair().unwrap();
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(b"shared").unwrap();
        send(a.as_fd(), PROTOCOL_VERSION, None).unwrap();
        send(a.as_fd(), 7, None).unwrap();
        send(a.as_fd(), SHM_MESSAGE, Some(file.as_fd())).unwrap();
        let m = recv(b.as_fd()).unwrap().unwrap();
        assert_eq!((m.value, m.fd.is_none()), (0, true));
        let m = recv(b.as_fd()).unwrap().unwrap();
        assert_eq!((m.value, m.fd.is_none()), (7, true));
        let m = recv(b.as_fd()).unwrap().unwrap();
        assert_eq!(m.value, -1);
        let mut got = std::fs::File::from(m.fd.unwrap());
        got.rewind().unwrap();
        let mut text = String::new();
        got.read_to_string(&mut text).unwrap();
        assert_eq!(text, "shared");
        drop(a);
        assert!(recv(b.as_fd()).unwrap().is_none(), "orderly EOF");
    }

    #[test]
    fn split_and_truncated_messages() {
        let (mut a, b) = UnixStream::pair().unwrap();
        a.write_all(&[1, 0, 0]).unwrap();
        let t = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            a.write_all(&[0, 0, 0, 0, 0, 9]).unwrap();
            a.write_all(&[1, 2]).unwrap();
        });
        assert_eq!(recv(b.as_fd()).unwrap().unwrap().value, 1);
        t.join().unwrap();
        let e = recv(b.as_fd()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
    }
}
