//! The pipe protocol on a far side, for programs (Python): `mmiodrv
//! --device DEV --json batch -` there, one line sent per operation, its
//! JSON objects back, typed errors. Lines can be sent before the replies to
//! earlier ones arrive ([`Pipe::send`], then [`Pipe::reply`] in order):
//! the far side runs them one after the other as they come.

use crate::error::RemoteError;
use std::time::Duration;

use super::{Event, Input, Running};
use crate::error::{Error, ErrorClass, Result};

/// A pipe protocol session on a far side.
pub struct Pipe {
    running: Running,
    input: Input,
    /// Lines sent.
    sent: u64,
    /// Lines whose replies were handed out.
    replied: u64,
    /// Output not yet split into lines.
    pending: Vec<u8>,
    /// Objects of lines done, not yet handed out: (line, objects).
    done: std::collections::VecDeque<(u64, Vec<serde_json::Value>)>,
    /// Objects of the line in progress.
    current: Vec<serde_json::Value>,
    /// The far side's exit status, once it ended.
    ended: Option<i32>,
}

/// Longest line sent (the far side's limit is 64 KiB).
const MAX_LINE: usize = 60 << 10;

impl Pipe {
    /// The pipe protocol on `running` (a far side started with `--json batch -`).
    pub fn new(running: Running) -> Pipe {
        let input = running.input();
        Pipe {
            running,
            input,
            sent: 0,
            replied: 0,
            pending: Vec::new(),
            done: Default::default(),
            current: Vec::new(),
            ended: None,
        }
    }

    /// The host.
    pub fn host(&self) -> &str {
        &self.running.host().label
    }

    /// Send one line (without its newline) to run after those sent before:
    /// its number, for [`Pipe::reply`].
    pub fn send(&mut self, line: &str) -> Result<u64> {
        if line.contains('\n') || line.len() > MAX_LINE {
            return Err(Error::invalid(crate::text::one_line(line), "one line of at most 60 KiB"));
        }
        if let Some(status) = self.ended {
            return Err(self.gone(status));
        }
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        self.input.write(&bytes)?;
        self.sent += 1;
        Ok(self.sent)
    }

    /// Send many lines at once (one write): their numbers, for [`Pipe::reply`].
    pub fn send_many(&mut self, lines: &[String]) -> Result<std::ops::RangeInclusive<u64>> {
        if let Some(status) = self.ended {
            return Err(self.gone(status));
        }
        let mut bytes = Vec::new();
        for line in lines {
            if line.contains('\n') || line.len() > MAX_LINE {
                return Err(Error::invalid(crate::text::one_line(line), "one line of at most 60 KiB"));
            }
            bytes.extend_from_slice(line.as_bytes());
            bytes.push(b'\n');
        }
        self.input.write(&bytes)?;
        let first = self.sent + 1;
        self.sent += lines.len() as u64;
        Ok(first..=self.sent)
    }

    /// The JSON objects line `n` made (the next line not yet replied to must
    /// be `n`): its results, or its error as [`RemoteError::Reported`].
    pub fn reply(&mut self, n: u64) -> Result<Vec<serde_json::Value>> {
        if n != self.replied + 1 || n > self.sent {
            return Err(Error::invalid(n.to_string(), "not the next line sent"));
        }
        loop {
            if let Some((line, objects)) = self.done.pop_front() {
                self.replied = line;
                if line == n {
                    return self.outcome(objects);
                }
                continue;
            }
            if let Some(status) = self.ended {
                return Err(self.gone(status));
            }
            match self.running.next(Duration::from_millis(100))? {
                None => {}
                Some(Event::Out(bytes)) => self.take(&bytes),
                Some(Event::Done(line)) => {
                    let objects = std::mem::take(&mut self.current);
                    self.done.push_back((line, objects));
                }
                Some(Event::Exit(status)) => self.ended = Some(status),
                Some(Event::Err(_)) | Some(Event::Log(_)) => {}
            }
        }
    }

    /// Send `line` and wait for its reply.
    pub fn run(&mut self, line: &str) -> Result<Vec<serde_json::Value>> {
        let n = self.send(line)?;
        self.reply(n)
    }

    /// Split output into lines, each one JSON object.
    fn take(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
        while let Some(i) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=i).collect();
            match serde_json::from_slice::<serde_json::Value>(&line) {
                Ok(v) => self.current.push(v),
                Err(_) => log::warn!("{}: not a JSON line: {}", self.host(), String::from_utf8_lossy(&line).trim_end()),
            }
        }
    }

    /// A line's objects: its results, or its error.
    fn outcome(&self, objects: Vec<serde_json::Value>) -> Result<Vec<serde_json::Value>> {
        let mut results = Vec::new();
        for o in objects {
            if o.get("op").and_then(|v| v.as_str()) == Some(crate::outcome::op::ERROR) {
                return Err(remote_error(self.host(), &o));
            }
            // A line of several results is one object holding them.
            match o.get("results").and_then(|r| r.as_array()) {
                Some(many) => results.extend(many.iter().cloned()),
                None => results.push(o),
            }
        }
        Ok(results)
    }

    fn gone(&self, status: i32) -> Error {
        Error::new(RemoteError::Disconnected {
            host: self.host().to_string(),
            after: format!("after line {} was done (mmiodrv ended there with status {status})", self.replied),
        })
    }

    /// End the session: the far side lets the device go.
    pub fn close(mut self) -> Result<i32> {
        let _ = self.input.end();
        if let Some(status) = self.ended {
            return Ok(status);
        }
        self.running.finish(&mut |_| {})
    }
}

/// A far side's error object as an [`Error`]: its message, class, exit
/// status, device and fix, the host it came from.
pub fn remote_error(host: &str, o: &serde_json::Value) -> Error {
    let text = |k: &str| o.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let class = text("class").and_then(|c| ErrorClass::from_name(&c)).unwrap_or(ErrorClass::Refused);
    let fix = text("fix");
    let mut message = text("error").unwrap_or_default();
    if let Some(f) = &fix {
        if let Some(m) = message.strip_suffix(&format!("; fix: {f}")) {
            message = m.to_string();
        }
    }
    let exit = o.get("exit").and_then(|v| v.as_i64()).map_or(crate::outcome::exit_code(class), |e| e as i32);
    Error::new(RemoteError::Reported { host: host.to_string(), message, class, exit, device: text("device"), fix })
}
