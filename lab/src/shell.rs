//! Interactive mode: the guest's shell on this process's terminal.

use std::io::IsTerminal;
use std::process::{Command, ExitStatus, Stdio};

use crate::qemu::{self, Mode, RunDir};
use crate::{LabConfig, LabError};

/// Boots the guest with its console on our stdio and an interactive shell;
/// returns when the user leaves the shell (the guest powers off) or presses
/// Ctrl-A x. The terminal settings are restored even if QEMU dies abruptly.
pub fn run_shell(cfg: &LabConfig) -> Result<ExitStatus, LabError> {
    cfg.check().map_err(LabError::Config)?;
    cfg.check_prepared().map_err(LabError::NotPrepared)?;
    let run = RunDir::create(cfg)?;
    run.write_initrd(cfg)?;
    let saved = saved_tty();
    let status = qemu::command(cfg, &run, Mode::Shell)
        .stdin(Stdio::inherit())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .status()
        .map_err(|e| LabError::io(format!("starting {}", cfg.qemu.display()), e));
    if let Some(s) = saved {
        // QEMU puts the tty in raw mode; a killed QEMU would leave it that way.
        let _ = Command::new("stty").arg(s).stdin(Stdio::inherit()).status();
    }
    status
}

fn saved_tty() -> Option<String> {
    if !std::io::stdin().is_terminal() {
        return None;
    }
    let out = Command::new("stty").arg("-g").stdin(Stdio::inherit()).output().ok()?;
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !s.is_empty()).then_some(s)
}
