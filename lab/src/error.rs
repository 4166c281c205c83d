//! Error type of the lab. Boot and timeout errors carry the guest console tail,
//! because "it timed out" is useless without knowing where the guest got stuck.

use std::fmt;
use std::time::Duration;

use crate::CmdOutput;

#[derive(Debug)]
pub enum LabError {
    /// Kernel/initramfs/QEMU missing: run `lab/prepare.sh`.
    NotPrepared(String),
    /// The configuration asks for options that cannot be on together.
    Config(String),
    /// A host-side I/O operation failed.
    Io { context: String, source: std::io::Error },
    /// QEMU exited or the agent never said READY.
    Boot { message: String, console_tail: String },
    /// No answer from the guest within the deadline (guest hung or QEMU died).
    Timeout { what: String, after: Duration, console_tail: String },
    /// The guest killed a command that ran past its timeout.
    CommandTimeout { cmd: String, timeout: Duration, output: CmdOutput },
    /// `run_ok`/`put_file`: the command ran but exited non-zero.
    CommandFailed { cmd: String, output: CmdOutput },
    /// QEMU went away while we were talking to it.
    QemuExited { status: String, console_tail: String },
    /// The guest answered something we cannot parse, or the caller asked for
    /// something the line protocol cannot carry.
    Protocol(String),
    /// QEMU answered a QMP command with an error (`class`, `desc` as QMP gives them).
    Qmp { command: String, class: String, desc: String },
}

impl LabError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        LabError::Io { context: context.into(), source }
    }
}

fn tail_block(f: &mut fmt::Formatter<'_>, tail: &str) -> fmt::Result {
    if tail.trim().is_empty() {
        write!(f, "\n--- guest console: (empty) ---")
    } else {
        write!(f, "\n--- guest console (last lines) ---\n{}\n---", tail.trim_end())
    }
}

impl fmt::Display for LabError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LabError::NotPrepared(m) => write!(f, "lab not prepared: {m}"),
            LabError::Config(m) => write!(f, "lab configuration: {m}"),
            LabError::Io { context, source } => write!(f, "{context}: {source}"),
            LabError::Boot { message, console_tail } => {
                write!(f, "guest boot failed: {message}")?;
                tail_block(f, console_tail)
            }
            LabError::Timeout { what, after, console_tail } => {
                write!(f, "timed out after {:.1} s: {what}", after.as_secs_f64())?;
                tail_block(f, console_tail)
            }
            LabError::CommandTimeout { cmd, timeout, output } => write!(
                f,
                "command killed after {:.1} s timeout: {cmd}\nstdout: {}\nstderr: {}",
                timeout.as_secs_f64(),
                output.stdout_str(),
                output.stderr_str()
            ),
            LabError::CommandFailed { cmd, output } => write!(
                f,
                "command exited with status {}: {cmd}\nstdout: {}\nstderr: {}",
                output.status,
                output.stdout_str(),
                output.stderr_str()
            ),
            LabError::QemuExited { status, console_tail } => {
                write!(f, "QEMU exited unexpectedly ({status})")?;
                tail_block(f, console_tail)
            }
            LabError::Protocol(m) => write!(f, "lab protocol error: {m}"),
            LabError::Qmp { command, class, desc } => write!(f, "QMP {command} failed: {desc} ({class})"),
        }
    }
}

impl std::error::Error for LabError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LabError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
