//! Every front end runs the same operations the same way (issue 22, point
//! 5): tests/frontends/check.py runs each line of tests/frontends/table.txt
//! (51 operations, 50 bad inputs) through a one-shot command line, a batch
//! file, the pipe protocol and the shell (driven through a pseudo-terminal)
//! on a simulated edu, and requires the same results, messages and error
//! classes from all of them, and the class the table gives. Python's
//! `Device.run` joins them in tests/vm_python.rs (on the host against the
//! wheel, and on the lab's real edu).

use std::path::PathBuf;
use std::process::Command;

#[test]
fn every_front_end_agrees_on_a_simulated_edu() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("python3")
        .arg(repo.join("tests/frontends/check.py"))
        .args(["--mmiodrv", env!("CARGO_BIN_EXE_mmiodrv"), "--device", "sim:tests/data/edu/edu.svd"])
        .current_dir(&repo)
        .env("MMIODRV_FAKE_SYSFS_ONLY", "1")
        .env("MMIODRV_SYSFS_ROOT", "/nonexistent")
        .output()
        .expect("python3 runs tests/frontends/check.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprint!("{stderr}");
    print!("{stdout}");
    assert!(out.status.success(), "the front ends disagree:\n{stdout}{stderr}");
    assert!(stdout.contains("all agree") && stdout.contains("through one-shot, batch file, pipe, shell"), "{stdout}");
}

/// `help CMD` (and `CMD --help`) inside the shell prints CMD's help, drawn
/// from the same declarations as `mmiodrv CMD --help`; the shell is driven
/// through a pseudo-terminal.
#[test]
fn help_in_the_shell_is_the_command_help() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let script = r#"
import os, pty, re, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execve(sys.argv[1], [sys.argv[1], "--device", "sim:tests/data/edu/edu.svd", "shell"],
              dict(os.environ, TERM="dumb", MMIODRV_HISTORY="/dev/null"))
def until_prompt():
    buf, end = b"", time.monotonic() + 20
    while not re.search(rb"mmiodrv [^\n>]*> $", buf) and time.monotonic() < end:
        if select.select([fd], [], [], 1)[0]:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            buf += chunk
    return buf.decode(errors="replace")
until_prompt()
for line in ["help read", "read --help", "help edu factorial", "help"]:
    os.write(fd, line.encode() + b"\n")
    print("=== " + line)
    print(until_prompt())
os.write(fd, b"quit\n")
os.waitpid(pid, 0)
"#;
    let out = Command::new("python3")
        .args(["-c", script, env!("CARGO_BIN_EXE_mmiodrv")])
        .current_dir(&repo)
        .env("MMIODRV_FAKE_SYSFS_ONLY", "1")
        .env("MMIODRV_SYSFS_ROOT", "/nonexistent")
        .output()
        .expect("python3 drives the shell");
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    let section =
        |name: &str| -> String { text.split("=== ").find(|s| s.starts_with(name)).unwrap_or_default().to_string() };
    for (line, want) in [
        ("help read\n", "Read a register, a field (REG.FIELD) or an offset"),
        ("read --help\n", "Read a register, a field (REG.FIELD) or an offset"),
        ("help edu factorial\n", "Compute N! on the device"),
    ] {
        let s = section(line);
        assert!(
            s.contains(want) && s.contains("Usage:") && s.contains("--quiet") == line.contains("read"),
            "{line}{s}"
        );
        assert!(!s.contains("error"), "{line}{s}");
    }
    let all = section("help\n");
    assert!(all.contains("read") && all.contains("write") && all.contains("edu"), "{all}");
}
