//! Host side of the line protocol spoken with `lab/guest/init` over ttyS1.
//!
//! Requests:  `RUN <id> <timeout s> <b64 cmd> <L>`, `PING <id>`, `POWEROFF`,
//!            `PUT <id> <path> <N>` + exactly N bytes of base64 (no newline after).
//! Replies:   `READY <kernel>`, `ACK <id>`, `RESULT <id> <status> <b64 stdout> <b64 stderr>`,
//!            `PONG <id>`, `ERR <msg>`.
//! L is the length of the RUN line before ` <L>`: the agent refuses a line
//! that lost bytes instead of running what is left of it (see lab.rs for the
//! resend rules this allows).
//! Base64 is unwrapped, so each message (but a PUT payload) is one `\n`-terminated line.

use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use crate::{CmdOutput, LabError};

/// What stopped a wait for a line.
pub enum WaitError {
    Deadline,
    Eof,
    Io(std::io::Error),
    /// The `alive` check failed (QEMU exited).
    Aborted(LabError),
}

/// Line-buffered channel over the ctl socket.
pub struct Channel {
    sock: UnixStream,
    buf: Vec<u8>,
}

impl Channel {
    pub fn new(sock: UnixStream) -> std::io::Result<Self> {
        // Short read timeout so callers can notice QEMU dying while they wait.
        sock.set_read_timeout(Some(Duration::from_millis(100)))?;
        Ok(Channel { sock, buf: Vec::new() })
    }

    /// Sends `msg` as is: a request line must end in `\n`; a PUT payload does not.
    pub fn send(&mut self, msg: &str) -> std::io::Result<()> {
        self.sock.write_all(msg.as_bytes())
    }

    /// Next line (without `\n`). `alive` is polled between reads; returning an
    /// error from it aborts the wait (used to notice that QEMU exited).
    pub fn read_line(
        &mut self,
        deadline: Instant,
        alive: &mut dyn FnMut() -> Result<(), LabError>,
    ) -> Result<String, WaitError> {
        let mut chunk = [0u8; 64 * 1024];
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=pos).collect();
                let line = String::from_utf8_lossy(&line[..pos]);
                // Tolerate a stray CR should the guest tty ever add one.
                return Ok(line.trim_end_matches('\r').to_string());
            }
            if Instant::now() >= deadline {
                return Err(WaitError::Deadline);
            }
            match self.sock.read(&mut chunk) {
                Ok(0) => return Err(WaitError::Eof),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    alive().map_err(WaitError::Aborted)?;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(WaitError::Io(e)),
            }
        }
    }
}

pub fn run_request(id: u64, timeout: Duration, cmd: &str) -> String {
    // Round up so the guest never kills a command before the caller's timeout.
    let secs = timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0);
    let line = format!("RUN {id} {secs} {}", B64.encode(cmd));
    format!("{line} {}\n", line.len())
}

/// `ACK <id>`: the agent got RUN `id` intact and is running it.
pub fn is_ack(line: &str, id: u64) -> bool {
    line.strip_prefix("ACK ").is_some_and(|rest| rest == id.to_string())
}

/// Header line plus payload in one message.
pub fn put_request(id: u64, path: &str, data: &[u8]) -> Result<String, LabError> {
    if path.is_empty() || !path.starts_with('/') || path.chars().any(char::is_whitespace) {
        return Err(LabError::Protocol(format!("guest path must be absolute and without whitespace: {path:?}")));
    }
    let payload = B64.encode(data);
    Ok(format!("PUT {id} {path} {}\n{payload}", payload.len()))
}

/// `PING <id>\n`
pub fn ping_request(id: u64) -> String {
    format!("PING {id}\n")
}

pub const POWEROFF_REQUEST: &str = "POWEROFF\n";

/// Parses `RESULT <id> <status> <b64> <b64>`; `Ok(None)` for other lines or other ids
/// (e.g. the late answer to a command whose host-side wait timed out).
pub fn parse_result(line: &str, want_id: u64) -> Result<Option<CmdOutput>, LabError> {
    let mut f = line.split(' ');
    if f.next() != Some("RESULT") || f.next() != Some(want_id.to_string().as_str()) {
        return Ok(None);
    }
    let bad = || LabError::Protocol(format!("malformed RESULT line: {:.200}", line));
    let status: i32 = f.next().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
    let stdout = B64.decode(f.next().ok_or_else(bad)?).map_err(|_| bad())?;
    let stderr = B64.decode(f.next().ok_or_else(bad)?).map_err(|_| bad())?;
    Ok(Some(CmdOutput { status, stdout, stderr }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_result() {
        let line = format!("RESULT 7 3 {} ", B64.encode("out\n"));
        let out = parse_result(&line, 7).unwrap().unwrap();
        assert_eq!(out.status, 3);
        assert_eq!(out.stdout, b"out\n");
        assert!(out.stderr.is_empty());
        assert!(parse_result(&line, 8).unwrap().is_none());
        assert!(parse_result("PONG 7", 7).unwrap().is_none());
        assert!(parse_result("RESULT 7 x", 7).is_err());
    }

    #[test]
    fn requests() {
        assert_eq!(run_request(1, Duration::from_millis(1500), "true"), "RUN 1 2 dHJ1ZQ== 16\n");
        assert_eq!(run_request(10, Duration::from_secs(60), ""), "RUN 10 60  10\n");
        assert!(is_ack("ACK 12", 12) && !is_ack("ACK 123", 12) && !is_ack("ACK 1", 12));
        assert!(put_request(1, "/a b", b"").is_err());
        assert!(put_request(1, "rel", b"").is_err());
        assert_eq!(put_request(2, "/x", b"hi").unwrap(), "PUT 2 /x 4\naGk=");
    }
}
