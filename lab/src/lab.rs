//! A running guest: boot, run commands through the agent, shut down, clean up.

use std::fs::File;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::agent::{self, Channel, WaitError};
use crate::qemu::{self, Mode, RunDir};
use crate::qmp::{self, Qmp};
use crate::{LabConfig, LabError};

/// Lines of guest console included in errors.
const ERROR_TAIL_LINES: usize = 40;
/// Extra host-side wait after a command's own timeout (the guest kills it at
/// the timeout; the reply still has to cross a slow emulated UART).
const REPLY_GRACE: Duration = Duration::from_secs(10);
const POWEROFF_WAIT: Duration = Duration::from_secs(15);
/// How long a RUN may go unacknowledged before it is sent again. The agent
/// acknowledges as soon as it has read the line; it is idle whenever the host
/// sends, so this only has to cover a slow moment of the TCG guest.
const ACK_WAIT: Duration = Duration::from_secs(5);
/// Sends of one RUN before giving up on the channel.
const SEND_ATTEMPTS: u32 = 3;
/// QMP commands are answered by QEMU itself, not the guest: quickly.
const QMP_REPLY_WAIT: Duration = Duration::from_secs(10);
/// [`Lab::device_del`]: the guest has to let the device go. With native PCIe
/// hotplug Linux waits 5 s after the attention button before it does.
pub const DEVICE_DEL_TIMEOUT: Duration = Duration::from_secs(30);

/// Exit status and output of one guest command.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CmdOutput {
    pub status: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl CmdOutput {
    pub fn success(&self) -> bool {
        self.status == 0
    }
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// One QEMU guest. Dropping it kills QEMU (if still running), waits for it and
/// removes the temp dir and the shm file, also when a test panics.
pub struct Lab {
    child: Child,
    watchdog: Option<Child>,
    chan: Option<Channel>,
    qmp: Option<Qmp>,
    run: RunDir,
    temp_dir: PathBuf,
    shm_path: PathBuf,
    next_id: u64,
    command_timeout: Duration,
    boot_time: Duration,
    kernel_release: String,
}

impl Lab {
    /// Boots a guest and waits (at most `cfg.boot_timeout`) until its agent is READY.
    pub fn boot(cfg: LabConfig) -> Result<Lab, LabError> {
        cfg.check().map_err(LabError::Config)?;
        cfg.check_prepared().map_err(LabError::NotPrepared)?;
        let start = Instant::now();
        let deadline = start + cfg.boot_timeout;
        let run = RunDir::create(&cfg)?;
        run.write_initrd(&cfg)?;
        let log = File::create(run.qemu_log()).map_err(|e| LabError::io("creating qemu.log", e))?;
        let log2 = log.try_clone().map_err(|e| LabError::io("qemu.log", e))?;
        let child = qemu::command(&cfg, &run, Mode::Agent)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(|e| LabError::io(format!("starting {}", cfg.qemu.display()), e))?;
        let watchdog = spawn_watchdog(child.id(), &run);
        let mut lab = Lab {
            child,
            watchdog,
            chan: None,
            qmp: None,
            temp_dir: run.path().to_path_buf(),
            shm_path: run.shm_path().to_path_buf(),
            run,
            next_id: 1,
            command_timeout: cfg.command_timeout,
            boot_time: Duration::ZERO,
            kernel_release: String::new(),
        };
        // From here on every error path drops `lab`, which kills QEMU and cleans up.
        lab.connect(deadline)?;
        lab.wait_ready(deadline, cfg.boot_timeout)?;
        lab.boot_time = start.elapsed();
        Ok(lab)
    }

    /// Runs `sh -c`-style `cmd` in the guest with the default command timeout.
    pub fn run(&mut self, cmd: &str) -> Result<CmdOutput, LabError> {
        self.run_with_timeout(cmd, self.command_timeout)
    }

    /// Like [`Lab::run`] but fails with [`LabError::CommandFailed`] on a non-zero
    /// status; returns stdout as a string.
    pub fn run_ok(&mut self, cmd: &str) -> Result<String, LabError> {
        let out = self.run(cmd)?;
        if out.success() {
            Ok(out.stdout_str())
        } else {
            Err(LabError::CommandFailed { cmd: cmd.to_string(), output: out })
        }
    }

    /// Runs `cmd` (stdin is /dev/null, cwd /root). The guest SIGKILLs it after
    /// `timeout`, which is reported as [`LabError::CommandTimeout`]; the lab
    /// stays usable afterwards.
    pub fn run_with_timeout(&mut self, cmd: &str, timeout: Duration) -> Result<CmdOutput, LabError> {
        let timeout = timeout.max(Duration::from_secs(1));
        let started = Instant::now();
        let out = self.run_once(cmd, timeout, started)?;
        // busybox `timeout -s KILL` leaves status 128+9.
        if out.status == 137 && started.elapsed() >= timeout {
            return Err(LabError::CommandTimeout { cmd: cmd.to_string(), timeout, output: out });
        }
        Ok(out)
    }

    /// Writes `data` to `guest_path` (parents created). Meant for small files:
    /// the data crosses an emulated UART; big files belong in `LabConfig::extra_files`.
    pub fn put_file(&mut self, guest_path: &str, data: &[u8]) -> Result<(), LabError> {
        let id = self.take_id();
        let req = agent::put_request(id, guest_path, data)?;
        let started = Instant::now();
        self.send(&req)?;
        let what = format!("PUT {guest_path}");
        let out = self.wait_result(id, started + self.command_timeout, &what)?;
        if !out.success() {
            return Err(LabError::CommandFailed { cmd: what, output: out });
        }
        Ok(())
    }

    /// Writes `bytes` to the agent's channel as they are: for tests that play a
    /// lossy UART (a request cut short, a request arriving twice).
    #[doc(hidden)]
    pub fn send_raw_for_tests(&mut self, bytes: &str) -> Result<(), LabError> {
        self.send(bytes)
    }

    /// Round trip of an empty request (measures agent latency).
    pub fn ping(&mut self) -> Result<Duration, LabError> {
        let id = self.take_id();
        let started = Instant::now();
        self.send(&agent::ping_request(id))?;
        let want = format!("PONG {id}");
        loop {
            let line = self.read_line(started + self.command_timeout, "PING")?;
            if line == want {
                return Ok(started.elapsed());
            }
        }
    }

    /// Sends the QMP command `command` to QEMU (with `arguments` unless they are
    /// `Value::Null`) and returns the reply's `return` value, e.g.
    /// `lab.qmp("query-status", Value::Null)?["status"] == "running"`. A QMP
    /// error is [`LabError::Qmp`]. The first call connects to `qmp.sock`.
    /// Events that arrive meanwhile are kept for [`Lab::wait_qmp_event`] and
    /// [`Lab::qmp_events`].
    pub fn qmp(&mut self, command: &str, arguments: Value) -> Result<Value, LabError> {
        let deadline = Instant::now() + QMP_REPLY_WAIT;
        self.connect_qmp(deadline)?;
        let Lab { child, qmp, run, .. } = self;
        let mut alive = || exited_error(child, run);
        qmp.as_mut().expect("connected").execute(command, arguments, deadline, &mut alive)
    }

    /// Waits at most `timeout` for a QMP event named `name` for which `matches`
    /// is true, looking first at the events kept from earlier waits. The event
    /// is returned and forgotten; other events stay kept.
    pub fn wait_qmp_event(
        &mut self,
        name: &str,
        matches: impl Fn(&Value) -> bool,
        timeout: Duration,
    ) -> Result<Value, LabError> {
        let deadline = Instant::now() + timeout;
        self.connect_qmp(deadline)?;
        let Lab { child, qmp, run, .. } = self;
        let mut alive = || exited_error(child, run);
        let mut pred = |e: &Value| e["event"] == name && matches(e);
        let res =
            qmp.as_mut().expect("connected").wait_event(&mut pred, deadline, &mut alive, &format!("QMP event {name}"));
        self.with_console(res)
    }

    /// Takes the QMP events received so far and not yet waited for (oldest first).
    pub fn qmp_events(&mut self) -> Vec<Value> {
        self.qmp.as_mut().map(Qmp::take_events).unwrap_or_default()
    }

    /// QMP `device_add` with `args` (an object: `driver`, `id`, `bus`, `addr`, ...),
    /// e.g. [`crate::hotplug_edu_device`]. Returns once QEMU has added the device;
    /// the guest notices it shortly after (poll sysfs for it).
    pub fn device_add(&mut self, args: Value) -> Result<(), LabError> {
        self.qmp("device_add", args).map(drop)
    }

    /// QMP `device_del` of the device with QEMU id `id`, then waits (at most
    /// [`DEVICE_DEL_TIMEOUT`]) for its `DEVICE_DELETED` event, i.e. until the
    /// guest has released it and QEMU has removed it.
    pub fn device_del(&mut self, id: &str) -> Result<(), LabError> {
        self.qmp("device_del", serde_json::json!({ "id": id }))?;
        self.wait_qmp_event("DEVICE_DELETED", |e| qmp::is_device_deleted(e, id), DEVICE_DEL_TIMEOUT).map(drop)
    }

    /// Powers the guest off, waiting a bounded time before killing QEMU.
    /// Cleanup happens in `Drop` either way. `Err` if QEMU had to be killed.
    pub fn shutdown(mut self) -> Result<(), LabError> {
        let _ = self.send(agent::POWEROFF_REQUEST);
        let deadline = Instant::now() + POWEROFF_WAIT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(LabError::Timeout {
            what: "guest did not power off; QEMU killed".into(),
            after: POWEROFF_WAIT,
            console_tail: self.console_tail(ERROR_TAIL_LINES),
        })
    }

    /// Host path of the ivshmem-plain (00:05.0) backing file; BAR2 maps it.
    pub fn shm_path(&self) -> &Path {
        &self.shm_path
    }
    /// Last `n` lines of the guest console (ttyS0).
    pub fn console_tail(&self, n: usize) -> String {
        qemu::tail(&self.temp_dir.join("console.log"), n)
    }
    /// QEMU's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
    /// Per-lab temp dir (console.log, qemu.log, ctl.sock, qmp.sock, initrd.img,
    /// disk.img, nvme.img); removed on drop.
    pub fn temp_dir(&self) -> &Path {
        &self.temp_dir
    }
    /// Wall time from `boot()` to READY.
    pub fn boot_time(&self) -> Duration {
        self.boot_time
    }
    /// `uname -r` of the guest.
    pub fn kernel_release(&self) -> &str {
        &self.kernel_release
    }

    fn connect_qmp(&mut self, deadline: Instant) -> Result<(), LabError> {
        if self.qmp.is_some() {
            return Ok(());
        }
        let sock = self.run.qmp_sock();
        let stream = UnixStream::connect(&sock).map_err(|e| match self.check_alive() {
            Err(exited) => exited,
            Ok(()) => LabError::io(format!("connecting to QMP at {}", sock.display()), e),
        })?;
        let Lab { child, run, .. } = self;
        let mut alive = || exited_error(child, run);
        self.qmp = Some(Qmp::connect(stream, deadline, &mut alive)?);
        Ok(())
    }

    /// Adds the console tail to a timeout (what the guest said is the clue).
    fn with_console<T>(&self, res: Result<T, LabError>) -> Result<T, LabError> {
        res.map_err(|e| match e {
            LabError::Timeout { what, after, .. } => {
                LabError::Timeout { what, after, console_tail: self.console_tail(ERROR_TAIL_LINES) }
            }
            other => other,
        })
    }

    fn take_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id - 1
    }

    fn connect(&mut self, deadline: Instant) -> Result<(), LabError> {
        let sock = self.run.ctl_sock();
        loop {
            self.check_alive()?;
            if let Ok(s) = UnixStream::connect(&sock) {
                let chan = Channel::new(s).map_err(|e| LabError::io("ctl socket", e))?;
                self.chan = Some(chan);
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(LabError::Boot {
                    message: format!("QEMU never opened {}", sock.display()),
                    console_tail: self.qemu_and_console_tail(),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn wait_ready(&mut self, deadline: Instant, timeout: Duration) -> Result<(), LabError> {
        loop {
            match self.read_line(deadline, "READY") {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix("READY") {
                        self.kernel_release = rest.trim().to_string();
                        return Ok(());
                    }
                }
                Err(LabError::Timeout { .. }) => {
                    return Err(LabError::Boot {
                        message: format!(
                            "guest agent not READY within {:.0} s (set LAB_BOOT_TIMEOUT to wait longer)",
                            timeout.as_secs_f64()
                        ),
                        console_tail: self.console_tail(ERROR_TAIL_LINES),
                    })
                }
                Err(LabError::QemuExited { status, console_tail }) => {
                    return Err(LabError::Boot { message: format!("QEMU exited during boot ({status})"), console_tail })
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// One RUN, made safe against the emulated UART losing bytes (rarely seen:
    /// a request arriving without its start, or not at all; cause not found).
    /// The agent refuses a RUN that lost bytes (its length field no longer
    /// matches), acknowledges an intact one before running it, and answers a
    /// repeat of the last id with the result it has instead of running it
    /// again. So the host may send the same RUN again whenever it saw no ACK,
    /// and ask once more when the RESULT is overdue, without a command ever
    /// running twice.
    fn run_once(&mut self, cmd: &str, timeout: Duration, started: Instant) -> Result<CmdOutput, LabError> {
        let id = self.take_id();
        let request = agent::run_request(id, timeout, cmd);
        if let Some(out) = self.send_until_acknowledged(id, &request, cmd)? {
            return Ok(out);
        }
        match self.wait_result(id, started + timeout + REPLY_GRACE, cmd) {
            Err(LabError::Timeout { .. }) => {
                // The guest kills the command at `timeout`, so a RESULT this late
                // was lost on the way back: the repeat brings it again.
                eprintln!("[lab] no RESULT for request {id} ({cmd:.60}); asking for it again");
                self.send(&format!("\n{request}"))?;
                self.wait_result(id, Instant::now() + REPLY_GRACE, cmd)
            }
            other => other,
        }
    }

    /// Sends `request` until the agent acknowledges it (or already answers it).
    fn send_until_acknowledged(&mut self, id: u64, request: &str, what: &str) -> Result<Option<CmdOutput>, LabError> {
        for attempt in 1..=SEND_ATTEMPTS {
            // A leading newline ends whatever partial line the agent may hold,
            // which it then refuses as garbled.
            self.send(&if attempt == 1 { request.to_string() } else { format!("\n{request}") })?;
            let deadline = Instant::now() + ACK_WAIT;
            loop {
                let line = match self.read_line(deadline, what) {
                    Ok(line) => line,
                    Err(LabError::Timeout { .. }) => break,
                    Err(e) => return Err(e),
                };
                if agent::is_ack(&line, id) {
                    return Ok(None);
                }
                if let Some(out) = agent::parse_result(&line, id)? {
                    return Ok(Some(out));
                }
                if let Some(msg) = line.strip_prefix("ERR ") {
                    eprintln!("[lab] the guest agent refused a request line: {msg}");
                }
                // Anything else is a late reply to an earlier, timed-out request.
            }
            eprintln!("[lab] request {id} not acknowledged (send {attempt} of {SEND_ATTEMPTS})");
        }
        Err(LabError::Protocol(format!(
            "the guest agent acknowledged none of {SEND_ATTEMPTS} sends of request {id} ({what:.60})"
        )))
    }

    fn wait_result(&mut self, id: u64, deadline: Instant, what: &str) -> Result<crate::CmdOutput, LabError> {
        loop {
            let line = self.read_line(deadline, what)?;
            if let Some(out) = agent::parse_result(&line, id)? {
                return Ok(out);
            }
            if let Some(msg) = line.strip_prefix("ERR ") {
                return Err(LabError::Protocol(format!("guest agent: {msg}")));
            }
            // Anything else is a late reply to an earlier, timed-out request.
        }
    }

    fn send(&mut self, msg: &str) -> Result<(), LabError> {
        let res = match self.chan.as_mut() {
            Some(c) => c.send(msg),
            None => return Err(LabError::Protocol("not connected".into())),
        };
        res.map_err(|e| match self.check_alive() {
            Err(exited) => exited,
            Ok(()) => LabError::io("writing to guest agent", e),
        })
    }

    fn read_line(&mut self, deadline: Instant, what: &str) -> Result<String, LabError> {
        let started = Instant::now();
        let Lab { child, chan, run, .. } = self;
        let chan = chan.as_mut().ok_or_else(|| LabError::Protocol("not connected".into()))?;
        let mut alive = || exited_error(child, run);
        match chan.read_line(deadline, &mut alive) {
            Ok(line) => Ok(line),
            Err(WaitError::Aborted(e)) => Err(e),
            Err(WaitError::Deadline) => Err(LabError::Timeout {
                what: format!("waiting for guest reply to {what}"),
                after: started.elapsed(),
                console_tail: self.console_tail(ERROR_TAIL_LINES),
            }),
            Err(WaitError::Eof) => {
                // QEMU closes the socket when it exits; give it a moment to be reapable.
                for _ in 0..50 {
                    self.check_alive()?;
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(LabError::Protocol("guest agent closed the channel".into()))
            }
            Err(WaitError::Io(e)) => Err(LabError::io("reading from guest agent", e)),
        }
    }

    fn check_alive(&mut self) -> Result<(), LabError> {
        exited_error(&mut self.child, &self.run)
    }

    fn qemu_and_console_tail(&self) -> String {
        format!("{}\n[qemu.log]\n{}", self.console_tail(ERROR_TAIL_LINES), qemu::tail(&self.run.qemu_log(), 20))
    }
}

/// `Err(QemuExited)` (with console and qemu.log tails) once QEMU has exited.
fn exited_error(child: &mut Child, run: &RunDir) -> Result<(), LabError> {
    match child.try_wait() {
        Ok(None) => Ok(()),
        Ok(Some(status)) => {
            // Drop QEMU's "info: QEMU waiting for connection" notice about ctl.sock.
            let qemu_log: Vec<String> = qemu::tail(&run.qemu_log(), 20)
                .lines()
                .filter(|l| !l.contains(": info: "))
                .map(str::to_string)
                .collect();
            let qemu_log = qemu_log.join("\n");
            let status = if qemu_log.trim().is_empty() {
                status.to_string()
            } else {
                format!("{status}; qemu says: {}", qemu_log.trim())
            };
            Err(LabError::QemuExited { status, console_tail: qemu::tail(&run.console_log(), ERROR_TAIL_LINES) })
        }
        Err(e) => Err(LabError::io("waiting for QEMU", e)),
    }
}

/// A shell that kills QEMU and removes the scratch files if this process dies
/// without running `Drop` (SIGKILL, abort, Ctrl-C). Best effort: `None` if it
/// cannot be started. It runs in its own process group so `Drop` can kill it
/// together with its `sleep`.
fn spawn_watchdog(qemu_pid: u32, run: &RunDir) -> Option<Child> {
    const SCRIPT: &str = r#"parent=$1 qemu=$2; shift 2
while kill -0 "$parent" 2>/dev/null; do sleep 1; done
kill -KILL "$qemu" 2>/dev/null
rm -rf -- "$@""#;
    Command::new("sh")
        .args(["-c", SCRIPT, "mmiodrv-lab-watchdog"])
        .arg(std::process::id().to_string())
        .arg(qemu_pid.to_string())
        .arg(run.path())
        .arg(run.shm_path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .ok()
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(mut w) = self.watchdog.take() {
            // Kill the watchdog's whole group (sh and its sleep), then reap sh.
            let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", w.id())]).stderr(Stdio::null()).status();
            let _ = w.kill();
            let _ = w.wait();
        }
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        self.chan = None;
        self.qmp = None;
        self.run.shm = None;
        if let Some(dir) = self.run.dir.take() {
            let _ = dir.close();
        }
    }
}
