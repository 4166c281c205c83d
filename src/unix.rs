//! UNIX helpers every layer uses: poll timeouts from durations and
//! deadlines, and sending and receiving file descriptors passed with
//! SCM_RIGHTS (the ivshmem server protocol hands out shared memory and
//! eventfds that way; ssh's connection sharing takes a session's standard
//! streams so).
//! Taking ownership of a passed descriptor is the one unsafe step; it lives
//! here so drivers stay safe code.

use std::io::{self, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags, UnixAddr};

/// Send `bytes` on `sock` in one message, with `fd` attached when given.
/// Interrupted calls are retried; a short send is an error; MSG_NOSIGNAL: a
/// vanished peer is an error value (EPIPE), never a SIGPIPE.
pub fn send_with_fd(sock: BorrowedFd<'_>, bytes: &[u8], fd: Option<BorrowedFd<'_>>) -> io::Result<()> {
    let iov = [io::IoSlice::new(bytes)];
    let fds = fd.map(|f| [f.as_raw_fd()]);
    let cmsgs: Vec<ControlMessage<'_>> = fds.as_ref().map(|f| ControlMessage::ScmRights(f)).into_iter().collect();
    let sent = loop {
        match sendmsg::<UnixAddr>(sock.as_raw_fd(), &iov, &cmsgs, MsgFlags::MSG_NOSIGNAL, None) {
            Err(Errno::EINTR) => continue,
            r => break r.map_err(io::Error::from)?,
        }
    };
    if sent != bytes.len() {
        return Err(io::Error::other(format!("short send: {sent} of {} bytes", bytes.len())));
    }
    Ok(())
}

/// Receive up to `buf.len()` bytes from `sock` together with any descriptors
/// sent along: the first is returned, further ones are closed. Interrupted
/// calls are retried; truncated control data is an error (descriptors lost).
pub fn recv_with_fd(sock: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<(usize, Option<OwnedFd>)> {
    let mut cmsg_space = nix::cmsg_space!([std::os::fd::RawFd; 4]);
    let mut iov = [IoSliceMut::new(buf)];
    let msg = loop {
        match recvmsg::<UnixAddr>(sock.as_raw_fd(), &mut iov, Some(&mut cmsg_space), MsgFlags::MSG_CMSG_CLOEXEC) {
            Err(Errno::EINTR) => continue,
            r => break r.map_err(io::Error::from)?,
        }
    };
    let mut fd = None;
    for cmsg in msg.cmsgs().map_err(io::Error::from)? {
        if let ControlMessageOwned::ScmRights(raw) = cmsg {
            for r in raw {
                // SAFETY: the kernel just installed `r` for this SCM_RIGHTS message and nothing
                // else refers to it, so the OwnedFd takes sole ownership and closes it once.
                let owned = unsafe { OwnedFd::from_raw_fd(r) };
                if fd.is_none() {
                    fd = Some(owned);
                }
            }
        }
    }
    if msg.flags.contains(MsgFlags::MSG_CTRUNC) {
        return Err(io::Error::other("file descriptors were truncated (control message too large)"));
    }
    Ok((msg.bytes, fd))
}

/// `left` as a poll(2) timeout, in whole milliseconds (rounded down; at
/// most `i32::MAX`).
pub fn poll_timeout(left: Duration) -> PollTimeout {
    PollTimeout::try_from(left.as_millis().min(i32::MAX as u128) as i32).unwrap_or(PollTimeout::MAX)
}

/// The poll(2) timeout that ends at `deadline` (zero once it has passed).
pub fn poll_timeout_until(deadline: Instant) -> PollTimeout {
    poll_timeout(deadline.saturating_duration_since(Instant::now()))
}

/// Whether `fd` has one of `events` (or has hung up or failed) before
/// `deadline`. Interrupted polls are retried with the time left; a failed
/// poll counts as ready (the read or write then says what is wrong).
pub fn ready_before(fd: BorrowedFd<'_>, events: PollFlags, deadline: Instant) -> bool {
    loop {
        let mut fds = [PollFd::new(fd, events)];
        match poll(&mut fds, poll_timeout_until(deadline)) {
            Ok(0) => return false,
            Ok(_) => return true,
            Err(Errno::EINTR) => {}
            Err(_) => return true,
        }
    }
}
