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
       mmiodrv-lab [OPTIONS] --argv PROG [ARGS...]   run PROG with ARGS (one word each) in the guest

options:
  --binary PATH    static binary installed as /usr/local/bin/mmiodrv
                   (default: $LAB_MMIODRV, else target/static/.../release/mmiodrv if built)
  --put FILE[:GUEST_PATH]
                   put a host file into the guest (default /root/<basename>, mode kept);
                   any number of times
  --timeout SECS   command timeout (default: $LAB_CMD_TIMEOUT or 60)
  --pcie-hotplug   pcie-root-port at 00:09.0 with a second edu at 01:00.0 (QEMU id hotplug-edu)
  --more-devices   also NVMe at 02:00.0 (behind a root port at 00:0a.0), qemu-xhci at 00:0b.0
                   and virtio-net at 00:0c.0 (implies --pcie-hotplug)
  --python         the host's python3 and its standard library in the guest
  --e1000-pair     a second e1000 at 00:0e.0, on one QEMU hub with the one at 00:07.0
  --qemu ARG       one more QEMU argument (LabConfig::extra_qemu_args); repeatable

Prepare the host first with `lab/prepare.sh` (or use `lab/run`).";

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
            "--put" => {
                let spec = args.next().ok_or("--put needs FILE[:GUEST_PATH]")?;
                cfg.extra_files.push(put_spec(&spec)?);
            }
            "--pcie-hotplug" => cfg.pcie_hotplug = true,
            "--more-devices" => cfg.more_devices = true,
            "--python" => cfg.python = true,
            "--e1000-pair" => cfg.e1000_pair = true,
            "--qemu" => cfg.extra_qemu_args.push(args.next().ok_or("--qemu needs an argument")?),
            "--exec" => action = Action::Run(args.next().ok_or("--exec needs a command")?),
            "--" => {
                let rest: Vec<String> = args.by_ref().collect();
                action = Action::Run(argv_command("mmiodrv", &rest));
            }
            "--argv" => {
                let prog = args.next().ok_or("--argv needs a program")?;
                let rest: Vec<String> = args.by_ref().collect();
                action = Action::Run(argv_command(&prog, &rest));
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

/// `PROG ARG...` as one guest shell command, every argument quoted.
fn argv_command(prog: &str, args: &[String]) -> String {
    let mut cmd = shell_quote(prog);
    for a in args {
        cmd.push(' ');
        cmd.push_str(&shell_quote(a));
    }
    cmd
}

/// `FILE[:GUEST_PATH]` -> (guest path, host path). The guest path is what follows
/// the last `:` when that starts with `/`; the default is `/root/<basename>`.
fn put_spec(spec: &str) -> Result<(String, PathBuf), String> {
    let (host, guest) = match spec.rsplit_once(':') {
        Some((h, g)) if g.starts_with('/') && !h.is_empty() => (h, Some(g.to_string())),
        _ => (spec, None),
    };
    let host = PathBuf::from(host);
    if !host.is_file() {
        return Err(format!("--put {spec}: {} is not a file", host.display()));
    }
    let guest = match guest {
        Some(g) => g,
        None => {
            let name = host.file_name().ok_or_else(|| format!("--put {spec}: no file name"))?;
            format!("/root/{}", name.to_string_lossy())
        }
    };
    Ok((guest, host))
}

/// Single-quotes `s` for the guest's `sh`.
fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./:=,+@%".contains(&b)) {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_specs() {
        let f = std::env::temp_dir().join(format!("lab-put-spec-{}", std::process::id()));
        std::fs::write(&f, "x").unwrap();
        let fs = f.to_str().unwrap();
        assert_eq!(put_spec(fs).unwrap().0, format!("/root/{}", f.file_name().unwrap().to_str().unwrap()));
        assert_eq!(put_spec(&format!("{fs}:/etc/x.toml")).unwrap(), ("/etc/x.toml".into(), f.clone()));
        assert!(put_spec(&format!("{fs}:rel")).is_err()); // not a file named "...:rel"
        assert!(put_spec("/no/such/file").is_err());
        std::fs::remove_file(&f).unwrap();
        assert_eq!(argv_command("ex", &["a".into(), "b c".into(), "it's".into()]), r"ex a 'b c' 'it'\''s'");
    }
}
