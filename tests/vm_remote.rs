//! `--host` against the lab guest (LabConfig::ssh_port: dropbear in the
//! guest, its port 22 forwarded to a loopback port here by QEMU's user
//! network): this machine's static mmiodrv drives the real edu over ssh.
//! The tour (docs/tour.md) run remotely gives what it gives in the guest;
//! interrupts (VFIO, the factorial), DMA from a script, the shell through
//! ssh's terminal; the copy of this build to a guest without mmiodrv in
//! PATH; a connection dropped mid-script lets the device go. Keys and the
//! guest's host key are made here, for this run.

mod common;

use std::process::{Command, ExitCode, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::docs::blocks;
use common::vm::{check, ok, run_suite, sh, static_mmiodrv, TestFn};
use libtest_mimic::Failed;
use mmiodrv_lab::{Lab, LabConfig};

const EDU: &str = "0000:00:04.0";

/// Keys of this run, and the forwarded port.
struct Keys {
    dir: tempfile::TempDir,
    port: u16,
}

fn keys() -> &'static Keys {
    static K: OnceLock<Keys> = OnceLock::new();
    K.get_or_init(|| {
        let dir = tempfile::Builder::new().prefix("mmiodrv-vm-ssh-").tempdir().unwrap();
        let d = dir.path();
        let run = |c: &mut Command| {
            let o = c.output().unwrap_or_else(|e| panic!("{c:?}: {e}"));
            assert!(o.status.success(), "{c:?}: {}", String::from_utf8_lossy(&o.stderr));
            o.stdout
        };
        run(Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-f"]).arg(d.join("id")));
        run(Command::new("dropbearkey").args(["-t", "ed25519", "-f"]).arg(d.join("hostkey")));
        let public = run(Command::new("dropbearkey").args(["-y", "-f"]).arg(d.join("hostkey")));
        let key = String::from_utf8_lossy(&public).lines().find(|l| l.starts_with("ssh-")).unwrap().to_string();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        std::fs::write(d.join("known_hosts"), format!("[127.0.0.1]:{port} {key}\n")).unwrap();
        Keys { dir, port }
    })
}

fn host() -> String {
    format!("root@127.0.0.1:{}", keys().port)
}

fn ssh_env() -> String {
    let d = keys().dir.path();
    format!(
        "ssh -i {} -o UserKnownHostsFile={} -o IdentitiesOnly=yes -o ConnectTimeout=60",
        d.join("id").display(),
        d.join("known_hosts").display()
    )
}

fn configure(cfg: &mut LabConfig) {
    let k = keys();
    cfg.ssh_port = Some(k.port);
    cfg.extra_files.push(("/etc/lab/authorized_keys".into(), k.dir.path().join("id.pub")));
    cfg.extra_files.push(("/etc/dropbear/dropbear_ed25519_host_key".into(), k.dir.path().join("hostkey")));
}

/// What a command printed and its status.
#[derive(Debug, PartialEq)]
struct Ran {
    stdout: String,
    stderr: String,
    status: i32,
}

/// `cmd` (a shell command line naming `mmiodrv`) in the guest.
fn guest(lab: &mut Lab, cmd: &str) -> Result<Ran, Failed> {
    let o = sh(lab, &format!("{{ {cmd}\n}}"))?;
    Ok(Ran { stdout: o.stdout_str(), stderr: o.stderr_str(), status: o.status })
}

/// `cmd` here, every `mmiodrv` in it run with `--host` on the guest.
fn remote(cmd: &str, stdin: &[u8]) -> Result<Ran, Failed> {
    let cmd = cmd.replace("mmiodrv ", "\"$MMIODRV\" --host \"$HOST\" ");
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(&cmd)
        .env("MMIODRV", static_mmiodrv())
        .env("HOST", host())
        .env("MMIODRV_SSH", ssh_env())
        .env_remove("MMIODRV_DEVICE")
        .env_remove("MMIODRV_REMOTE_BINARY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{cmd}: {e}"))?;
    let mut input = child.stdin.take();
    let bytes = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        if let Some(i) = input.as_mut() {
            let _ = std::io::Write::write_all(i, &bytes);
        }
    });
    let o = child.wait_with_output().map_err(|e| format!("{cmd}: {e}"))?;
    let _ = feeder.join();
    Ok(Ran {
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        status: o.status.code().unwrap_or(-1),
    })
}

/// A remote run's output as a local one reads: its error lines and objects
/// without the host they name.
fn unlabelled(r: &Ran) -> Ran {
    let h = host();
    Ran {
        stdout: r
            .stdout
            .replace(&format!(",\"host\":\"{h}\""), "")
            .replace(&format!("\"error\":\"{h}: "), "\"error\":\""),
        stderr: r.stderr.replace(&format!("{h}: "), ""),
        status: r.status,
    }
}

fn same(lab: &mut Lab, cmd: &str) -> Result<(), Failed> {
    let local = guest(lab, cmd)?;
    let far = remote(cmd, b"")?;
    check(unlabelled(&far) == local, format!("`{cmd}`\n--- in the guest\n{local:#?}\n--- with --host\n{far:#?}"))?;
    if !local.stderr.is_empty() && !local.stderr.contains("(see mmiodrv --help)") {
        check(far.stderr.contains(&format!("{}: ", host())), format!("`{cmd}`: the error names the host: {far:#?}"))?;
    }
    Ok(())
}

/// `after N read(s)` as `after … read(s)`.
fn polls(text: &str) -> String {
    text.lines()
        .map(|l| match (l.find(" after "), l.strip_suffix(" read(s)")) {
            (Some(i), Some(_)) => format!("{} after … read(s)\n", &l[..i]),
            _ => format!("{l}\n"),
        })
        .collect()
}

/// Run `body`, then `cleanup` whatever happened; the first failure is reported
/// (with the guest's mmiodrv processes when it is the cleanup's).
fn then(lab: &mut Lab, body: Result<(), Failed>, cleanup: &str) -> Result<(), Failed> {
    let after = ok(lab, cleanup);
    body?;
    if after.is_err() {
        let ps = ok(lab, "ps -o pid,args | grep -v grep | grep mmiodrv || true").unwrap_or_default();
        return after.map(drop).map_err(|e| format!("{e:?}\nmmiodrv processes in the guest:\n{ps}").into());
    }
    Ok(())
}

/// The guest starts without mmiodrv in PATH: the first remote command copies
/// this build into root's cache there (and says so), the next uses the copy.
fn copy_self_to_a_guest_without_mmiodrv(lab: &mut Lab) -> Result<(), Failed> {
    ok(lab, "mv /usr/local/bin/mmiodrv /root/mmiodrv.hidden && ! command -v mmiodrv")?;
    let result = (|| {
        let first = remote(&format!("mmiodrv --device {EDU} read ID.MAGIC --quiet"), b"")?;
        check(first.status == 0 && first.stdout == "0xed\n", format!("{first:#?}"))?;
        check(
            first.stderr.contains(&format!("mmiodrv: {} has no mmiodrv ", host())) && first.stderr.contains("copying"),
            format!("the copy is announced: {first:#?}"),
        )?;
        let second = remote(&format!("mmiodrv --device {EDU} read ID.MAGIC --quiet"), b"")?;
        check(second == Ran { stdout: "0xed\n".into(), stderr: String::new(), status: 0 }, format!("{second:#?}"))?;
        let cached = ok(lab, "ls /root/.cache/mmiodrv/*/mmiodrv && stat -c %a /root/.cache/mmiodrv/*/mmiodrv")?;
        check(cached.lines().nth(1) == Some("700"), format!("a private copy: {cached}"))?;
        // --no-copy with nothing there: refused, naming the fix.
        ok(lab, "mv /root/.cache/mmiodrv /root/.cache/mmiodrv.moved")?;
        let refused = remote(&format!("mmiodrv --device {EDU} read ID --no-copy"), b"")?;
        check(refused.status == 12 && refused.stderr.contains("fix: drop --no-copy"), format!("{refused:#?}"))?;
        ok(lab, "mv /root/.cache/mmiodrv.moved /root/.cache/mmiodrv")?;
        Ok(())
    })();
    ok(lab, "mv /root/mmiodrv.hidden /usr/local/bin/mmiodrv")?;
    result
}

/// Every command of docs/tour.md, run in the guest and then with --host
/// from here: the same output, errors (the host named) and statuses. The
/// tour changes the device (LIVENESS, bindings): it runs through once in
/// the guest, edu is put back as it was, then once remotely.
fn the_tour_remotely_is_the_tour(lab: &mut Lab) -> Result<(), Failed> {
    let tour = std::fs::read_to_string(mmiodrv_lab::repo_root().join("docs/tour.md")).map_err(|e| e.to_string())?;
    let commands: Vec<String> = blocks(&tour).into_iter().flatten().map(|(cmd, _)| cmd).collect();
    check(commands.len() > 20, "the tour has its commands")?;
    // LIVENESS reads back inverted; 34! wraps to 0 in edu's 32 bits.
    let reset = format!(
        "mmiodrv --device {EDU} write LIVENESS 0xffffffff >/dev/null && \
         mmiodrv --device {EDU} write FACTORIAL 34 >/dev/null && \
         mmiodrv --device {EDU} poll STATUS.COMPUTING 0 --timeout 5000 >/dev/null"
    );
    ok(lab, &reset)?;
    let mut local = Vec::new();
    for cmd in &commands {
        local.push(guest(lab, cmd)?);
    }
    ok(lab, &reset)?;
    // The IRQ the kernel routes edu's pin to changes once VFIO used it (the
    // tour binds it): the device's history, not the front end's.
    let irq = |r: &Ran| Ran {
        stdout: r
            .stdout
            .lines()
            .map(|l| {
                if l.contains("routed to IRQ") {
                    "\tInterrupt: pin A routed to IRQ …\n".to_string()
                } else {
                    format!("{l}\n")
                }
            })
            .collect(),
        stderr: r.stderr.clone(),
        status: r.status,
    };
    for (cmd, local) in commands.iter().zip(&local) {
        let far = remote(cmd, b"")?;
        let local = &irq(local);
        check(
            &irq(&unlabelled(&far)) == local,
            format!("`{cmd}`\n--- in the guest\n{local:#?}\n--- with --host\n{far:#?}"),
        )?;
        if !local.stderr.is_empty() && !local.stderr.contains("(see mmiodrv --help)") {
            check(far.stderr.contains(&format!("{}: ", host())), format!("`{cmd}`: names the host: {far:#?}"))?;
        }
    }
    ok(lab, &reset)?;
    Ok(())
}

/// VFIO remotely: the factorial with its interrupt, wait-irq, and a script
/// that allocates a DMA buffer, has edu copy through it and reads it back,
/// as the guest runs it; JSON too.
fn interrupts_and_dma_remotely(lab: &mut Lab) -> Result<(), Failed> {
    ok(lab, &format!("mmiodrv --device {EDU} bind vfio-pci"))?;
    let result = (|| {
        same(lab, &format!("mmiodrv --device {EDU} edu factorial 10 --irq"))?;
        same(lab, &format!("mmiodrv --device {EDU} --json edu factorial 5 --irq"))?;
        same(lab, &format!("mmiodrv --device {EDU} write IRQ_RAISE 0x4 --wait-irq --timeout 2000"))?;
        same(lab, &format!("mmiodrv --device {EDU} edu irq ack 0x4"))?;
        let script = "dma alloc 4K --mask-bits 28\n\
                      dma write 0 --string 'hello, edu'\n\
                      write DMA_SRC 0x200000\nwrite DMA_DST 0x40000\nwrite DMA_COUNT 10\nwrite DMA_CMD 0x1\n\
                      poll DMA_CMD.START 0 --timeout 3000\n\
                      write DMA_SRC 0x40000\nwrite DMA_DST 0x200100\nwrite DMA_COUNT 10\nwrite DMA_CMD 0x3\n\
                      poll DMA_CMD.START 0 --timeout 3000\n\
                      dma read 0x100 10\n";
        lab.put_file("/root/dma.mmio", script.as_bytes()).map_err(|e| e.to_string())?;
        let here = keys().dir.path().join("dma.mmio");
        std::fs::write(&here, script).map_err(|e| e.to_string())?;
        let local = guest(lab, &format!("mmiodrv --device {EDU} batch /root/dma.mmio"))?;
        let far = remote(&format!("mmiodrv --device {EDU} batch {}", here.display()), b"")?;
        check(local.status == 0 && local.stdout.contains("hello, edu"), format!("in the guest: {local:#?}"))?;
        // How many reads a poll took is the device's timing, not the front end's.
        let reads = |r: Ran| Ran { stdout: polls(&r.stdout), ..r };
        let (local, far) = (reads(local), reads(unlabelled(&far)));
        check(far == local, format!("the DMA script\n--- guest\n{local:#?}\n--- --host\n{far:#?}"))?;
        // The pipe protocol, line by line, with interrupts.
        let lines = b"arm\nwrite IRQ_RAISE 0x8\nwait-irq --timeout 2000\nread IRQ_STATUS\nwrite IRQ_ACK 0x8\n";
        let far = remote(&format!("mmiodrv --device {EDU} --json batch -"), lines)?;
        check(far.status == 0 && far.stdout.lines().count() == 5, format!("{far:#?}"))?;
        check(far.stdout.contains("\"op\":\"wait-irq\""), format!("{far:#?}"))?;
        Ok(())
    })();
    then(lab, result, &format!("mmiodrv --device {EDU} bind --restore"))
}

/// The shell through ssh's terminal: typed lines, their results, the
/// host's name on an error; the far side's shell ends with the session.
fn the_shell_remotely(lab: &mut Lab) -> Result<(), Failed> {
    // script(1) gives the near side a terminal; the lines are typed one at a
    // time, as a person would (a line editor drops what comes before its prompt).
    let cmd = format!("exec script -qefc '\"$MMIODRV\" --host \"$HOST\" --device {EDU} shell' /dev/null");
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(&cmd)
        .env("MMIODRV", static_mmiodrv())
        .env("HOST", host())
        .env("MMIODRV_SSH", ssh_env())
        .env_remove("MMIODRV_REMOTE_BINARY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let mut input = child.stdin.take().ok_or("no stdin")?;
    let typist = std::thread::spawn(move || {
        for line in ["read ID\n", "read NOPE\n", "exit\n"] {
            std::thread::sleep(Duration::from_secs(3));
            let _ = std::io::Write::write_all(&mut input, line.as_bytes());
        }
        std::thread::sleep(Duration::from_secs(3));
    });
    let o = child.wait_with_output().map_err(|e| e.to_string())?;
    let _ = typist.join();
    let out = String::from_utf8_lossy(&o.stdout).replace('\r', "");
    check(out.contains(&format!("{EDU} BAR0 0x0000 ID = 0x010000ed")), format!("{out:?}"))?;
    check(out.contains(&format!("{}: {EDU}: no register 'NOPE'", host())), format!("{out:?}"))?;
    check(!out.contains("closed."), format!("ssh's own goodbye is not shown: {out:?}"))?;
    let left = ok(lab, "sleep 1; ps -o pid,args | grep -v grep | grep mmiodrv || true")?;
    check(left.trim().is_empty(), format!("mmiodrv processes left in the guest:\n{left}"))?;
    Ok(())
}

/// Python from here: `mmiodrv.open(..., host=...)` on the guest's edu, the
/// same values and errors (the host named) as docs/python.md shows locally;
/// pipelined reads; interrupts and DMA under VFIO.
fn python_on_the_guest(lab: &mut Lab) -> Result<(), Failed> {
    let root = mmiodrv_lab::repo_root();
    let built = Command::new("bash")
        .arg(root.join("python/build-wheel.sh"))
        .arg("--dev")
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("python/build-wheel.sh: {e}"))?;
    check(built.status.success(), "python/build-wheel.sh --dev failed")?;
    let code = r#"
import os, mmiodrv
host, edu = os.environ["HOST"], "0000:00:04.0"
with mmiodrv.open(edu, host=host) as dev:
    assert (dev.read("ID"), dev.read("ID.MAJOR"), dev.read(0x0, width=32)) == (0x10000ED, 1, 0x10000ED)
    dev.write("LIVENESS", 0x1234)
    assert dev.read("LIVENESS") == 0xFFFFEDCB
    # A field's value by name, as locally (edu drops a DMA_CMD without START).
    dev.write("DMA_CMD.DIRECTION", "device to RAM")
    try:
        dev.write("DMA_CMD.DIRECTION", "sideways")
        raise SystemExit("a value that is no name of the field was not refused")
    except mmiodrv.UsageError as e:
        assert str(e).startswith(f"{host}: {edu}: ") and "names: RAM to device, device to RAM" in str(e), str(e)
    assert dev.edu.factorial(10) == {"device": edu, "factorial": 3628800, "interrupt": None, "n": 10}
    replies = dev.run_many(["read ID.MAGIC"] * 1000)
    assert len(replies) == 1000 and all(r[0]["value"] == 0xED for r in replies)
    try:
        dev.write("ID", 1)
        raise SystemExit("a write to ID was not refused")
    except mmiodrv.UsageError as e:
        assert str(e) == f"{host}: {edu}: register ID is read-only" and e.exit_code == 2, (str(e), e.exit_code)
    try:
        dev.read(0x0, width=16)
    except mmiodrv.UsageError as e:
        assert str(e).startswith(f"{host}: {edu}: edu: the device takes no 16-bit access"), str(e)
print("sysfs ok")
"#;
    let vfio = r#"
import os, mmiodrv
host, edu = os.environ["HOST"], "0000:00:04.0"
with mmiodrv.open(edu, host=host) as dev:
    assert dev.arm_irq() == ("msi", 1)
    dev.write("STATUS.IRQ_FACT", 1)
    dev.write("FACTORIAL", 10)
    irq = dev.wait_irq(timeout=2.0)
    assert (irq.kind, irq.vector, irq.count, dev.read("FACTORIAL")) == ("msi", 0, 1, 3628800)
    dev.write("IRQ_ACK", 1)
    dev.write("STATUS.IRQ_FACT", 0)
    buf = dev.dma_buffer(4096, mask_bits=28)
    buf.write_bytes(0, b"hello, edu")
    for src, dst, cmd in ((buf.iova, 0x40000, 1), (0x40000, buf.iova + 0x100, 3)):
        for reg, value in (("DMA_SRC", src), ("DMA_DST", dst), ("DMA_COUNT", 10), ("DMA_CMD", cmd)):
            dev.write(reg, value)
        while dev.read("DMA_CMD.START"):
            pass
    assert (buf.iova, buf.read_bytes(0x100, 10)) == (0x200000, b"hello, edu")
assert dev.closed
try:
    mmiodrv.open(edu, host="root@127.0.0.1:1")
except mmiodrv.UnreachableError as e:
    assert isinstance(e, ConnectionError) and e.exit_code == 12, e
print("vfio ok")
"#;
    let py = |code: &str| -> Result<String, Failed> {
        let o = Command::new(root.join("target/python-venv/bin/python"))
            .arg("-c")
            .arg(code)
            .env("HOST", host())
            .env("MMIODRV_SSH", ssh_env())
            .env_remove("MMIODRV_REMOTE_BINARY")
            .output()
            .map_err(|e| e.to_string())?;
        let (out, err) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
        check(o.status.success(), format!("python: {out}{err}"))?;
        Ok(out.into_owned())
    };
    check(py(code)? == "sysfs ok\n", "python on sysfs")?;
    ok(lab, &format!("mmiodrv --device {EDU} bind vfio-pci"))?;
    let result = py(vfio).and_then(|out| check(out == "vfio ok\n", "python under VFIO"));
    then(lab, result, &format!("mmiodrv --device {EDU} bind --restore"))
}

/// Whether the far side of the dropped connection's trial runs in the guest.
const HELD: &str = "ps -o args | grep -v grep | grep -q 'batch .*held.mmio' && echo yes || echo no";

/// A connection dropped mid-script: the near side says which line was the
/// last done (exit 11); the far side ends by itself and lets the device go
/// (its VFIO group and lock are free at once for the next user).
fn a_dropped_connection_lets_the_device_go(lab: &mut Lab) -> Result<(), Failed> {
    ok(lab, &format!("mmiodrv --device {EDU} bind vfio-pci"))?;
    let result = (|| {
        let here = keys().dir.path().join("held.mmio");
        std::fs::write(&here, "arm\nread ID\nsleep 120000\nread ID\n").map_err(|e| e.to_string())?;
        let child = Command::new(static_mmiodrv())
            .args(["--host", &host(), "--device", EDU, "batch"])
            .arg(&here)
            .env("MMIODRV_SSH", ssh_env())
            .env_remove("MMIODRV_REMOTE_BINARY")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        let until = Instant::now() + Duration::from_secs(60);
        while !ok(lab, HELD)?.starts_with("yes") {
            let ps = ok(lab, "ps -o pid,args | grep -v grep | grep -e mmiodrv -e dropbear || true")?;
            check(Instant::now() < until, format!("the far side never ran the script; in the guest:\n{ps}"))?;
            std::thread::sleep(Duration::from_millis(200));
        }
        std::thread::sleep(Duration::from_millis(500));
        // The connection goes: the guest's dropbear processes serving it die.
        let killed = ok(
            lab,
            "ps -o pid,ppid,args; for p in $(pidof dropbear); do \
             [ \"$(cut -d' ' -f4 /proc/$p/stat)\" = 1 ] || { echo killing $p; kill -9 $p; }; done; true",
        )?;
        let o = child.wait_with_output().map_err(|e| e.to_string())?;
        let err = String::from_utf8_lossy(&o.stderr);
        check(o.status.code() == Some(11), format!("exit {:?}: {err}\n{killed}", o.status.code()))?;
        check(
            err.contains(&format!("the connection to {} was lost after line 2 of {} was done", host(), here.display())),
            format!("{err}"),
        )?;
        // The far side is gone within its grace time, and the device is free.
        let until = Instant::now() + Duration::from_secs(15);
        while ok(lab, HELD)?.starts_with("yes") {
            check(Instant::now() < until, "the far side still runs after the connection went")?;
            std::thread::sleep(Duration::from_millis(200));
        }
        let left = ok(lab, "ps -o pid,args | grep -v grep | grep mmiodrv || true")?;
        check(left.trim().is_empty(), format!("mmiodrv processes left in the guest:\n{left}"))?;
        ok(lab, &format!("mmiodrv --device {EDU} write IRQ_RAISE 0x1 --wait-irq --timeout 2000 && mmiodrv --device {EDU} edu irq ack 0x1"))?;
        Ok(())
    })();
    then(lab, result, &format!("mmiodrv --device {EDU} bind --restore"))
}

fn main() -> ExitCode {
    let tests: &[(&'static str, TestFn)] = &[
        // First: the guest has no copy in its cache yet.
        ("remote::copy_self_to_a_guest_without_mmiodrv", copy_self_to_a_guest_without_mmiodrv),
        ("remote::the_tour_remotely_is_the_tour", the_tour_remotely_is_the_tour),
        ("remote::interrupts_and_dma_remotely", interrupts_and_dma_remotely),
        ("remote::the_shell_remotely", the_shell_remotely),
        ("remote::python_on_the_guest", python_on_the_guest),
        ("remote::a_dropped_connection_lets_the_device_go", a_dropped_connection_lets_the_device_go),
    ];
    if let Some(m) = common::sshd::missing() {
        if std::env::var("CI").as_deref() == Ok("true") {
            eprintln!("vm_remote: CI=true but {m} is missing: run lab/prepare.sh");
            return ExitCode::FAILURE;
        }
        return common::vm::skip_suite("vm_remote", tests, &format!("{m} missing (lab/prepare.sh installs it)"));
    }
    let code = run_suite("vm_remote", tests, configure);
    // The keys of this run (statics are not dropped).
    let _ = std::fs::remove_dir_all(keys().dir.path());
    code
}
