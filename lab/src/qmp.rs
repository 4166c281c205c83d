//! QEMU Machine Protocol client on the run dir's `qmp.sock`.
//!
//! QMP is one JSON object per line. After the greeting and `qmp_capabilities`
//! every command is answered by `{"return": ...}` or `{"error": ...}` carrying
//! the command's `id`; asynchronous `{"event": ...}` objects may arrive at any
//! time, also between a command and its reply. Those are kept in a queue, so a
//! later [`Qmp::wait_event`] still finds an event that came early (e.g. a
//! `DEVICE_DELETED` that overtook the reply to `device_del`).

use std::collections::VecDeque;
use std::os::unix::net::UnixStream;
use std::time::Instant;

use serde_json::{json, Value};

use crate::agent::{Channel, WaitError};
use crate::LabError;

pub struct Qmp {
    chan: Channel,
    events: VecDeque<Value>,
    next_id: u64,
}

/// What a wait for a QMP message ended with, besides a message.
pub type Alive<'a> = &'a mut dyn FnMut() -> Result<(), LabError>;

impl Qmp {
    /// Connects, reads the greeting and leaves capabilities negotiation mode.
    pub fn connect(sock: UnixStream, deadline: Instant, alive: Alive<'_>) -> Result<Qmp, LabError> {
        let chan = Channel::new(sock).map_err(|e| LabError::io("QMP socket", e))?;
        let mut qmp = Qmp { chan, events: VecDeque::new(), next_id: 1 };
        let greeting = qmp.read_message(deadline, alive, "the QMP greeting")?;
        if greeting.get("QMP").is_none() {
            return Err(LabError::Protocol(format!("QMP greeting expected, got {greeting}")));
        }
        qmp.execute("qmp_capabilities", Value::Null, deadline, alive)?;
        Ok(qmp)
    }

    /// Runs `command` (with `arguments` unless they are `null`) and returns the
    /// reply's `return` value; a QMP error becomes [`LabError::Qmp`]. Events read
    /// on the way are queued for [`Qmp::wait_event`].
    pub fn execute(
        &mut self,
        command: &str,
        arguments: Value,
        deadline: Instant,
        alive: Alive<'_>,
    ) -> Result<Value, LabError> {
        let id = self.next_id;
        self.next_id += 1;
        let mut req = json!({ "execute": command, "id": id });
        if !arguments.is_null() {
            req["arguments"] = arguments;
        }
        let mut line = req.to_string();
        line.push('\n');
        self.chan.send(&line).map_err(|e| LabError::io(format!("sending QMP {command}"), e))?;
        loop {
            let msg = self.read_message(deadline, alive, &format!("the reply to QMP {command}"))?;
            if msg.get("event").is_some() {
                self.events.push_back(msg);
                continue;
            }
            if msg.get("id") != Some(&json!(id)) {
                continue; // a reply to some earlier command whose wait gave up
            }
            if let Some(ret) = msg.get("return") {
                return Ok(ret.clone());
            }
            let err = msg.get("error").cloned().unwrap_or(Value::Null);
            let field = |k: &str| err.get(k).and_then(Value::as_str).unwrap_or("?").to_string();
            return Err(LabError::Qmp { command: command.to_string(), class: field("class"), desc: field("desc") });
        }
    }

    /// The first queued or arriving event for which `matches` is true (it is
    /// removed from the queue; other events stay queued in order).
    pub fn wait_event(
        &mut self,
        matches: &mut dyn FnMut(&Value) -> bool,
        deadline: Instant,
        alive: Alive<'_>,
        what: &str,
    ) -> Result<Value, LabError> {
        if let Some(pos) = self.events.iter().position(&mut *matches) {
            return Ok(self.events.remove(pos).expect("index from position"));
        }
        loop {
            let msg = self.read_message(deadline, alive, what)?;
            if msg.get("event").is_none() {
                continue; // a late reply
            }
            if matches(&msg) {
                return Ok(msg);
            }
            self.events.push_back(msg);
        }
    }

    /// Takes every queued event (oldest first) without waiting.
    pub fn take_events(&mut self) -> Vec<Value> {
        self.events.drain(..).collect()
    }

    fn read_message(&mut self, deadline: Instant, alive: Alive<'_>, what: &str) -> Result<Value, LabError> {
        let started = Instant::now();
        loop {
            let line = match self.chan.read_line(deadline, alive) {
                Ok(line) => line,
                Err(WaitError::Aborted(e)) => return Err(e),
                Err(WaitError::Deadline) => {
                    return Err(LabError::Timeout {
                        what: format!("waiting for {what}"),
                        after: started.elapsed(),
                        console_tail: String::new(),
                    })
                }
                Err(WaitError::Eof) => return Err(LabError::Protocol("QEMU closed the QMP socket".into())),
                Err(WaitError::Io(e)) => return Err(LabError::io("reading from QMP", e)),
            };
            if line.trim().is_empty() {
                continue;
            }
            return serde_json::from_str(&line)
                .map_err(|e| LabError::Protocol(format!("QMP sent invalid JSON ({e}): {line:.200}")));
        }
    }
}

/// `DEVICE_DELETED` of the device with QEMU id `id` (QEMU also sends one,
/// without a `device` field, for each of its internal child objects).
pub fn is_device_deleted(event: &Value, id: &str) -> bool {
    event["event"] == "DEVICE_DELETED" && event["data"]["device"] == id
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::time::Duration;

    /// A fake QEMU: greeting, then replies to each command, with events interleaved.
    #[test]
    fn events_before_replies_are_kept() {
        let (host, mut qemu) = UnixStream::pair().unwrap();
        let server = std::thread::spawn(move || {
            let mut reader = BufReader::new(qemu.try_clone().unwrap());
            writeln!(qemu, r#"{{"QMP": {{"version": {{}}, "capabilities": []}}}}"#).unwrap();
            let mut line = String::new();
            let mut ids = Vec::new();
            for reply in [
                r#"{"return": {}, "id": ID}"#.to_string(),
                // device_del: the event overtakes the reply, and an unrelated one comes too.
                concat!(
                    r#"{"event": "DEVICE_DELETED", "data": {"path": "/machine/peripheral/x/bus-master-container"}}"#,
                    "\r\n",
                    r#"{"event": "DEVICE_DELETED", "data": {"device": "x", "path": "/machine/peripheral/x"}}"#,
                    "\r\n",
                    r#"{"event": "RESET", "data": {}}"#,
                    "\r\n",
                    r#"{"return": {}, "id": ID}"#
                )
                .to_string(),
                r#"{"error": {"class": "GenericError", "desc": "Device 'y' not found"}, "id": ID}"#.to_string(),
            ] {
                line.clear();
                reader.read_line(&mut line).unwrap();
                let req: Value = serde_json::from_str(&line).unwrap();
                ids.push(req["execute"].as_str().unwrap().to_string());
                write!(qemu, "{}\r\n", reply.replace("ID", &req["id"].to_string())).unwrap();
            }
            ids
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut alive = || Ok(());
        let mut qmp = Qmp::connect(host, deadline, &mut alive).unwrap();
        qmp.execute("device_del", json!({"id": "x"}), deadline, &mut alive).unwrap();
        let err = qmp.execute("device_del", json!({"id": "y"}), deadline, &mut alive).unwrap_err();
        assert!(err.to_string().contains("Device 'y' not found"), "{err}");
        let ev = qmp.wait_event(&mut |e| is_device_deleted(e, "x"), deadline, &mut alive, "x").unwrap();
        assert_eq!(ev["data"]["path"], "/machine/peripheral/x");
        let rest: Vec<String> = qmp.take_events().iter().map(|e| e["event"].as_str().unwrap().to_string()).collect();
        assert_eq!(rest, ["DEVICE_DELETED", "RESET"]);
        assert_eq!(server.join().unwrap(), ["qmp_capabilities", "device_del", "device_del"]);
        let short = Instant::now() + Duration::from_millis(300);
        assert!(matches!(
            qmp.wait_event(&mut |_| true, short, &mut alive, "nothing"),
            Err(LabError::Timeout { .. }) | Err(LabError::Protocol(_))
        ));
    }
}
