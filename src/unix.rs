//! UNIX-socket helpers: receiving file descriptors passed with SCM_RIGHTS
//! (the ivshmem server protocol hands out shared memory and eventfds that
//! way). Taking ownership of a passed descriptor is the one unsafe step; it
//! lives here so drivers stay safe code.

use std::io::{self, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::errno::Errno;
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, UnixAddr};

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
