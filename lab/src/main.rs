//! `mmiodrv-lab`: run mmiodrv (or a shell) inside the QEMU lab guest.
#![forbid(unsafe_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use mmiodrv_lab::{run_shell, Lab, LabConfig};

const USAGE: &str = "\
usage: mmiodrv-lab [OPTIONS]                  interactive shell in the guest (exit powers off)
       mmiodrv-lab [OPTIONS] -- ARGS...       run `mmiodrv ARGS...` in the guest
       mmiodrv-lab [OPTIONS] --exec 'CMD'     run a shell command in the guest

options:
  --binary PATH    static binary installed as /usr/local/bin/mmiodrv
                   (default: $LAB_MMIODRV, else target/static/.../release/mmiodrv if built)
  --timeout SECS   command timeout (default: $LAB_CMD_TIMEOUT or 60)

Prepare the host first with `sudo lab/prepare.sh` (or use `lab/run`).";

enum Action {
    Shell,
    Run(String),
}

fn main() -> ExitCode {
    match real_main() {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("[lab] error: {msg}");
            ExitCode::from(125)
        }
    }
}

fn real_main() -> Result<ExitCode, String> {
    let mut cfg = LabConfig::default();
    let mut action = Action::Shell;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "-h" | "--help" => {
                // Ignore EPIPE (`mmiodrv-lab --help | head`).
                let _ = writeln!(std::io::stdout(), "{USAGE}");
                return Ok(ExitCode::SUCCESS);
            }
            "--binary" => cfg.mmiodrv_binary = Some(PathBuf::from(args.next().ok_or("--binary needs a path")?)),
            "--timeout" => {
                let v = args.next().ok_or("--timeout needs seconds")?;
                let secs: f64 = v.parse().map_err(|_| format!("bad --timeout {v:?}"))?;
                cfg.command_timeout = Duration::from_secs_f64(secs);
            }
            "--exec" => action = Action::Run(args.next().ok_or("--exec needs a command")?),
            "--" => {
                let rest: Vec<String> = args.by_ref().collect();
                let mut cmd = String::from("mmiodrv");
                for r in &rest {
                    cmd.push(' ');
                    cmd.push_str(&shell_quote(r));
                }
                action = Action::Run(cmd);
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    if let Action::Run(cmd) = &action {
        if cmd.starts_with("mmiodrv") && cfg.mmiodrv_binary.is_none() {
            return Err("no mmiodrv binary: build it with lab/run or pass --binary".into());
        }
    }
    match action {
        Action::Shell => {
            eprintln!("[lab] booting guest with an interactive shell (Ctrl-A x kills QEMU)...");
            let status = run_shell(&cfg).map_err(|e| e.to_string())?;
            eprintln!("[lab] guest exited ({status})");
            Ok(ExitCode::SUCCESS)
        }
        Action::Run(cmd) => run_one(cfg, &cmd),
    }
}

fn run_one(cfg: LabConfig, cmd: &str) -> Result<ExitCode, String> {
    let start = Instant::now();
    eprintln!("[lab] booting guest (TCG, usually 10-20 s)...");
    let mut lab = Lab::boot(cfg).map_err(|e| e.to_string())?;
    eprintln!("[lab] guest ready after {:.1} s (kernel {})", lab.boot_time().as_secs_f64(), lab.kernel_release());
    eprintln!("[lab] $ {cmd}");
    let out = lab.run(cmd).map_err(|e| e.to_string())?;
    let _ = std::io::stdout().write_all(&out.stdout);
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().write_all(&out.stderr);
    eprintln!("[lab] exit status {} ({:.1} s total)", out.status, start.elapsed().as_secs_f64());
    if let Err(e) = lab.shutdown() {
        eprintln!("[lab] warning: {e}");
    }
    Ok(ExitCode::from(u8::try_from(out.status).unwrap_or(255)))
}

/// Single-quotes `s` for the guest's `sh`.
fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./:=,+@%".contains(&b)) {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}
