//! The Python module (`import mmiodrv`) on the real devices, in a lab guest
//! with python (`LabConfig::python`): the wheel is built from this checkout
//! (python/build-wheel.sh --dev: a venv, pinned maturin, `maturin build --profile dev`),
//! unpacked into the guest (PYTHONPATH), and python/tests/test_guest.py drives
//! edu, ivshmem and e1000 through it, one check per trial. docs/labs/python.md
//! runs as written. A few trials run on the host, against the wheel installed
//! in the venv: the stubs match the drivers' declarations, and errors and
//! `list()` match the command line (sysfs reads only: no host device is opened).
//!
//! Outside CI a wheel that cannot be built (no network for pip, no python3)
//! skips the suite with one loud line; under CI=true it fails.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::OnceLock;

use common::docs::run_docs;
use common::vm::{check, driver_of, ok, run_suite, sh, skip_suite, static_mmiodrv, TestFn};
use libtest_mimic::Failed;
use mmiodrv_lab::{Lab, LabConfig};

const EDU: &str = "0000:00:04.0";
const NIC: &str = "0000:00:07.0";
/// Where the unpacked wheel goes in the guest (PYTHONPATH).
const GUEST_SITE: &str = "/usr/local/lib/mmiodrv-python";
const GUEST_TEST: &str = "/root/test_guest.py";
/// tests/frontends/ in the guest.
const GUEST_FRONTENDS: &str = "/root/frontends";

/// The unpacked wheel (target/python-guest), set before the lab boots.
static UNPACKED: OnceLock<PathBuf> = OnceLock::new();

fn root() -> PathBuf {
    mmiodrv_lab::repo_root()
}

fn venv_python() -> PathBuf {
    root().join("target/python-venv/bin/python")
}

fn build_wheel() -> Result<PathBuf, String> {
    let out = Command::new("bash")
        .arg(root().join("python/build-wheel.sh"))
        // The dev profile: it reuses `cargo test`'s debug build (half the time in CI).
        .arg("--dev")
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run python/build-wheel.sh: {e}"))?;
    if !out.status.success() {
        return Err(format!("python/build-wheel.sh failed ({})", out.status));
    }
    let wheel = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let unpacked = root().join("target/python-guest");
    if !wheel.is_file() || !unpacked.join("mmiodrv/__init__.py").is_file() {
        return Err(format!("python/build-wheel.sh did not leave {} and {}", wheel.display(), unpacked.display()));
    }
    Ok(unpacked)
}

/// Every file under `dir`, as (guest path under `guest`, host path).
fn files_under(dir: &Path, guest: &str, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let path = e.path();
        let name = e.file_name().to_string_lossy().to_string();
        if path.is_dir() {
            files_under(&path, &format!("{guest}/{name}"), out);
        } else {
            out.push((format!("{guest}/{name}"), path));
        }
    }
}

/// Shared libraries the extension needs besides the C library and the loader
/// (which the guest has): libgcc_s, for Rust's unwinder. Every host has it;
/// the lab's busybox guest does not. Guest path = the host's real path.
fn libraries_of(so: &Path) -> Vec<(String, PathBuf)> {
    let Ok(out) = Command::new("ldd").arg(so).output() else { return Vec::new() };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split("=>").nth(1)?.split_whitespace().next().map(PathBuf::from))
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
            !name.starts_with("libc.so") && !name.starts_with("ld-linux") && !name.starts_with("libm.so")
        })
        .filter_map(|p| std::fs::canonicalize(&p).ok())
        .map(|real| (real.to_string_lossy().to_string(), real))
        .collect()
}

fn configure(cfg: &mut LabConfig) {
    cfg.python = true;
    if let Some(unpacked) = UNPACKED.get() {
        files_under(unpacked, GUEST_SITE, &mut cfg.extra_files);
        cfg.extra_files.extend(libraries_of(&unpacked.join("mmiodrv/_native.abi3.so")));
    }
    cfg.extra_files.push((GUEST_TEST.into(), root().join("python/tests/test_guest.py")));
    for f in ["check.py", "table.txt"] {
        cfg.extra_files.push((format!("{GUEST_FRONTENDS}/{f}"), root().join("tests/frontends").join(f)));
    }
    for (module, py) in generated_modules() {
        for ext in ["py", "pyi"] {
            cfg.extra_files.push((format!("/root/{module}.{ext}"), py.with_extension(ext)));
        }
    }
    // Sourced by the guest's init before the agent starts: every command sees it.
    let rc = root().join("target/python-guest.rc");
    if std::fs::write(&rc, format!("export PYTHONPATH={GUEST_SITE}\n")).is_ok() {
        cfg.extra_files.push(("/etc/lab/rc.d/python-path".into(), rc));
    }
}

/// Run one check of test_guest.py in the guest.
fn guest_check(lab: &mut Lab, name: &str, env: &str) -> Result<(), Failed> {
    let out = ok(lab, &format!("cd /root && {env} python3 {GUEST_TEST} {name} 2>&1"))?;
    check(out.trim_end().ends_with(&format!("{name}: ok")), out)
}

/// Bind edu to vfio-pci around `f`, and restore it whatever happens.
fn with_vfio(lab: &mut Lab, f: impl FnOnce(&mut Lab) -> Result<(), Failed>) -> Result<(), Failed> {
    ok(lab, &format!("mmiodrv --device {EDU} bind vfio-pci"))?;
    let result = f(lab);
    ok(lab, &format!("mmiodrv --device {EDU} bind --restore"))?;
    check(driver_of(lab, EDU)? == "none", "edu is back to no driver")?;
    result
}

fn identify_and_liveness(lab: &mut Lab) -> Result<(), Failed> {
    let v = ok(lab, "python3 -c 'import mmiodrv, sys; print(mmiodrv.__version__, sys.version_info >= (3, 9))'")?;
    check(v.trim() == format!("{} True", env!("CARGO_PKG_VERSION")), v)?;
    guest_check(lab, "identify_and_liveness", "")
}

fn factorial_by_polling(lab: &mut Lab) -> Result<(), Failed> {
    guest_check(lab, "factorial_by_polling", "")
}

fn factorial_by_msi_under_vfio(lab: &mut Lab) -> Result<(), Failed> {
    with_vfio(lab, |lab| guest_check(lab, "factorial_by_msi_under_vfio", ""))
}

fn dma_round_trip_under_vfio(lab: &mut Lab) -> Result<(), Failed> {
    with_vfio(lab, |lab| guest_check(lab, "dma_round_trip_under_vfio", ""))
}

fn a_forked_child_leaves_the_device_alone(lab: &mut Lab) -> Result<(), Failed> {
    with_vfio(lab, |lab| guest_check(lab, "a_forked_child_leaves_the_device_alone", ""))
}

fn close_releases_vfio(lab: &mut Lab) -> Result<(), Failed> {
    with_vfio(lab, |lab| {
        guest_check(lab, "close_releases_vfio", "")?;
        // Nothing of the python process holds the group any more.
        let held = sh(lab, "fuser /dev/vfio/* 2>/dev/null")?;
        check(held.stdout_str().trim().is_empty(), format!("VFIO still held by {}", held.stdout_str()))
    })
}

fn dump_skips_read_side_effects(lab: &mut Lab) -> Result<(), Failed> {
    guest_check(lab, "dump_skips_read_side_effects", "")
}

fn bar_bulk_copies(lab: &mut Lab) -> Result<(), Failed> {
    guest_check(lab, "bar_bulk_copies", "")?;
    // What the guest wrote through BAR2 is in the host's shared-memory file.
    let shm = std::fs::read(lab.shm_path()).map_err(|e| e.to_string())?;
    let pattern: Vec<u8> = (0..4096u32).map(|i| ((i * 7 + 3) & 0xff) as u8).collect();
    check(shm.get(0x1003..0x1003 + 4096) == Some(pattern.as_slice()), "the host file does not hold the pattern")?;
    check(shm.get(0x3020..0x3024) == Some(&0xcafef00du32.to_le_bytes()[..]), "the 32-bit write is not in the file")
}

fn drivers_commands(lab: &mut Lab) -> Result<(), Failed> {
    let iface = ok(lab, &format!("ls /sys/bus/pci/devices/{NIC}/net"))?.trim().to_string();
    let mac = ok(lab, &format!("cat /sys/class/net/{iface}/address"))?.trim().to_string();
    ok(lab, &format!("mmiodrv --device {NIC} unbind"))?;
    let result = guest_check(lab, "drivers_commands", &format!("KERNEL_MAC={mac}"));
    ok(lab, &format!("mmiodrv --device {NIC} bind --restore"))?;
    check(driver_of(lab, NIC)? == "e1000", "the NIC is back under e1000")?;
    result
}

fn list_matches_the_command_line(lab: &mut Lab) -> Result<(), Failed> {
    guest_check(lab, "list_matches_the_command_line", "")
}

fn locks_like_the_command_line(lab: &mut Lab) -> Result<(), Failed> {
    guest_check(lab, "locks_like_the_command_line", "")
}

fn one_lock_per_process(lab: &mut Lab) -> Result<(), Failed> {
    let out = ok(lab, &format!("cd /root && python3 {GUEST_TEST} one_lock_per_process 2>&1"))?;
    check(out.trim_end().ends_with("one_lock_per_process: ok"), out.clone())?;
    eprintln!("{}", out.lines().find(|l| l.contains("reads beside it")).unwrap_or("").trim());
    Ok(())
}

fn bad_input_raises_the_right_class(lab: &mut Lab) -> Result<(), Failed> {
    guest_check(lab, "bad_input_raises_the_right_class", "")
}

/// docs/labs/python.md: its ```python blocks that start with `# NAME.py` are
/// put in /root as NAME.py, then its ```console blocks run as written.
fn python_lab_runs_as_written(lab: &mut Lab) -> Result<(), Failed> {
    let doc = root().join("docs/labs/python.md");
    let text = std::fs::read_to_string(&doc).map_err(|e| format!("{}: {e}", doc.display()))?;
    let mut scripts = 0;
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.trim_end() != "```python" {
            continue;
        }
        let body: Vec<&str> = lines.by_ref().take_while(|l| l.trim_end() != "```").collect();
        let Some(name) = body.first().and_then(|l| l.strip_prefix("# ")).and_then(|l| l.split(':').next()) else {
            continue;
        };
        if name.ends_with(".py") && !name.contains('/') && !name.contains(' ') {
            lab.put_file(&format!("/root/{name}"), (body.join("\n") + "\n").as_bytes())
                .map_err(|e| format!("put {name}: {e}"))?;
            scripts += 1;
        }
    }
    check(scripts >= 1, format!("no ```python block starting with `# NAME.py` in {}", doc.display()))?;
    let commands = run_docs(lab, &[doc])?;
    check(commands >= 4, format!("only {commands} commands in docs/labs/python.md: the parser is broken"))?;
    check(driver_of(lab, EDU)? == "none", "docs/labs/python.md leaves edu bound")
}

/// docs/python.md's ```pycon blocks, each run with Python's doctest in the guest
/// (every line of output compared). A block after a line
/// `<!-- vm_python: bind ADDR DRIVER -->` runs with that device bound to
/// DRIVER, restored afterwards.
fn python_page_runs_as_written(lab: &mut Lab) -> Result<(), Failed> {
    let text = std::fs::read_to_string(root().join("docs/python.md")).map_err(|e| e.to_string())?;
    let mut blocks: Vec<(Option<(String, String)>, String)> = Vec::new();
    let mut marker = None;
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let line = line.trim_end();
        if let Some(rest) = line.strip_prefix("<!-- vm_python: bind ").and_then(|r| r.strip_suffix(" -->")) {
            marker = rest.split_once(' ').map(|(a, d)| (a.to_string(), d.to_string()));
        } else if line == "```pycon" {
            let body: Vec<&str> = lines.by_ref().take_while(|l| l.trim_end() != "```").collect();
            blocks.push((marker.take(), body.join("\n") + "\n"));
        } else if !line.is_empty() {
            marker = None;
        }
    }
    check(blocks.len() >= 2, format!("expected docs/python.md's two ```pycon blocks, found {}", blocks.len()))?;
    for (i, (bind, body)) in blocks.iter().enumerate() {
        let file = format!("/root/readme_{i}.txt");
        lab.put_file(&file, body.as_bytes()).map_err(|e| format!("put {file}: {e}"))?;
        if let Some((addr, driver)) = bind {
            ok(lab, &format!("mmiodrv --device {addr} bind {driver}"))?;
        }
        let out = sh(lab, &format!("cd /root && python3 -m doctest {file} 2>&1"));
        if let Some((addr, _)) = bind {
            ok(lab, &format!("mmiodrv --device {addr} bind --restore"))?;
        }
        let out = out?;
        check(out.status == 0, format!("docs/python.md, ```pycon block {}:\n{}", i + 1, out.stdout_str()))?;
    }
    check(driver_of(lab, EDU)? == "none", "docs/python.md's Python blocks leave edu bound")
}

/// tests/frontends/check.py with Python's `Device.run` as the fifth front
/// end, on a simulated edu (the host's mmiodrv and the venv's module).
fn host_front_ends_agree(_: &mut Lab) -> Result<(), Failed> {
    let out = Command::new(venv_python())
        .arg(root().join("tests/frontends/check.py"))
        .args(["--mmiodrv", env!("CARGO_BIN_EXE_mmiodrv"), "--device", "sim:tests/data/edu/edu.svd", "--python"])
        .current_dir(root())
        .env("MMIODRV_FAKE_SYSFS_ONLY", "1")
        .env("MMIODRV_SYSFS_ROOT", "/nonexistent")
        .output()
        .map_err(|e| e.to_string())?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    check(out.status.success() && text.contains("through one-shot, batch file, pipe, shell, python: all agree"), text)
}

/// The same table on the lab's real edu (through sysfs), all five front
/// ends in the guest.
fn front_ends_agree_on_edu(lab: &mut Lab) -> Result<(), Failed> {
    let out = sh(
        lab,
        &format!(
            "cd /root && python3 {GUEST_FRONTENDS}/check.py --mmiodrv $(command -v mmiodrv) --device {EDU} --target edu --python 2>&1"
        ),
    )?;
    let text = out.stdout_str();
    check(out.status == 0 && text.contains("through one-shot, batch file, pipe, shell, python: all agree"), text)?;
    check(driver_of(lab, EDU)? == "none", "the table leaves edu unbound")
}

/// edu's map in every format of examples/maps, as Python modules
/// (`regmap generate --lang python`, on the host: SystemRDL needs the
/// compiler): (module name, its .py).
fn generated_modules() -> Vec<(String, PathBuf)> {
    static MODULES: OnceLock<Vec<(String, PathBuf)>> = OnceLock::new();
    MODULES
        .get_or_init(|| {
            let dir = root().join("target/tmp/generated-python");
            let _ = std::fs::create_dir_all(&dir);
            let mut out = Vec::new();
            for map in ["edu.toml", "edu.svd", "edu.ipxact.xml", "edu.rdl"] {
                let module = format!("edu_{}", map.replace('.', "_"));
                let py = dir.join(format!("{module}.py"));
                let status = Command::new(env!("CARGO_BIN_EXE_mmiodrv"))
                    .args(["regmap", "generate", "--lang", "python", "-o"])
                    .arg(&py)
                    .arg(root().join("examples/maps").join(map))
                    .env("MMIODRV_PYTHON", root().join("target/regmap-data/venv/bin/python"))
                    .stdout(std::process::Stdio::null())
                    .status();
                match status {
                    Ok(s) if s.success() => out.push((module, py)),
                    _ => eprintln!(
                        "!!!!! generated Python: {map} could not be generated (tests/data/fetch.sh's venv?) !!!!!"
                    ),
                }
            }
            out
        })
        .clone()
}

/// What a generated module must do on edu (`live`: LIVENESS reads back the
/// inverse and a DMA_CMD write without START changes nothing) or on a
/// simulated one.
fn generated_script(module: &str, device: &str, live: bool) -> String {
    // edu keeps DMA_CMD as its last transfer left it (it latches it only with START).
    let (liveness, cmd) = if live { ("0xffffedcb", "before") } else { ("0x1234", "2") };
    [
        format!("import {module} as m"),
        format!("with m.open('{device}') as dev:"),
        "    assert dev.regs.ID.MAGIC == 0xed and dev.regs.ID.MAJOR == 1, dev.regs.ID.value".into(),
        "    dev.regs.LIVENESS.value = 0x1234".into(),
        format!("    assert dev.regs.LIVENESS.value == {liveness}, hex(dev.regs.LIVENESS.value)"),
        "    before = dev.regs.DMA_CMD.value".into(),
        "    dev.regs.DMA_CMD.DIRECTION = 1".into(),
        format!("    assert dev.regs.DMA_CMD.value == {cmd}, dev.regs.DMA_CMD.value"),
        "    assert dev.regs.STATUS.OFFSET == 0x20 and dev.regs.STATUS.COMPUTING == 0".into(),
        "    try:".into(),
        "        dev.regs.DMA_CMD.DIRECTON = 1".into(),
        "        raise SystemExit('a misspelt field was accepted')".into(),
        "    except AttributeError:".into(),
        "        pass".into(),
        "    dev.regs.DMA_CMD.value = 0".into(),
        format!("print('{module}: ok')"),
    ]
    .join("\n")
        + "\n"
}

/// `regmap generate --lang python` of edu's map in every format: each module
/// drives a simulated edu through the wheel, and mypy --strict accepts code
/// using its stubs.
fn host_generated_python_on_sim(_: &mut Lab) -> Result<(), Failed> {
    let modules = generated_modules();
    check(modules.len() == 4, format!("generated {} of 4 modules", modules.len()))?;
    let sim = root().join("examples/maps/edu.toml");
    for (module, py) in &modules {
        let dir = py.parent().ok_or("no directory")?;
        let out = Command::new(venv_python())
            .args(["-c", &generated_script(module, &format!("sim:{}", sim.display()), false)])
            .current_dir(dir)
            .output()
            .map_err(|e| e.to_string())?;
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        check(out.status.success() && text.contains(&format!("{module}: ok")), text)?;
        let user = dir.join(format!("use_{module}.py"));
        let code = format!(
            "import {module} as m\n\n\ndef f(dev: m.Device) -> int:\n    dev.regs.DMA_CMD.DIRECTION = 1\n    \
             return int(dev.regs.ID.MAGIC) + dev.regs.LIVENESS.value\n"
        );
        std::fs::write(&user, code).map_err(|e| e.to_string())?;
        let mypy = Command::new(venv_python())
            .args(["-m", "mypy", "--strict", "--no-incremental", "--cache-dir=/dev/null"])
            .arg(&user)
            .current_dir(dir)
            .output()
            .map_err(|e| e.to_string())?;
        check(
            mypy.status.success(),
            format!(
                "mypy --strict {}:
{}",
                user.display(),
                String::from_utf8_lossy(&mypy.stdout)
            ),
        )?;
    }
    Ok(())
}

/// The same modules on the lab's edu (through sysfs).
fn generated_python_on_edu(lab: &mut Lab) -> Result<(), Failed> {
    let modules = generated_modules();
    check(modules.len() == 4, format!("generated {} of 4 modules", modules.len()))?;
    for (module, _) in &modules {
        let script = format!("/root/run_{module}.py");
        lab.put_file(&script, generated_script(module, EDU, true).as_bytes()).map_err(|e| e.to_string())?;
        let out = ok(lab, &format!("cd /root && python3 {script} 2>&1"))?;
        check(out.trim_end().ends_with(&format!("{module}: ok")), out)?;
    }
    Ok(())
}

/// Run the venv's python on the host with `code`; (status, stdout, stderr).
fn host_python(code: &str) -> Result<(i32, String, String), Failed> {
    let out = Command::new(venv_python())
        .args(["-c", code])
        .current_dir(std::env::temp_dir())
        .env("MMIODRV_FAKE_SYSFS_ONLY", "1")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", venv_python().display()))?;
    let text = |b: &[u8]| String::from_utf8_lossy(b).to_string();
    Ok((out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr)))
}

fn host_stubs_match_the_declarations(_: &mut Lab) -> Result<(), Failed> {
    let out = Command::new(venv_python())
        .arg(root().join("python/tools/gen_stubs.py"))
        .arg("--check")
        .current_dir(std::env::temp_dir())
        .output()
        .map_err(|e| e.to_string())?;
    check(out.status.success(), String::from_utf8_lossy(&out.stderr).to_string())
}

/// The stubs type-check with `mypy --strict`: the package itself, a script
/// that uses every part of the API, and a script whose mistakes (one per line
/// marked `# error: CODE`) mypy must report, each with that code.
fn host_stubs_type_check(_: &mut Lab) -> Result<(), Failed> {
    let mypy = |args: &[&str]| -> Result<(bool, String), Failed> {
        let out = Command::new(venv_python())
            .args(["-m", "mypy", "--strict", "--no-incremental", "--cache-dir=/dev/null"])
            .args(args)
            .current_dir(root().join("python/tests"))
            .output()
            .map_err(|e| e.to_string())?;
        Ok((out.status.success(), String::from_utf8_lossy(&out.stdout).to_string()))
    };
    let (ok_pkg, out) = mypy(&["-p", "mmiodrv"])?;
    check(ok_pkg, format!("mypy -p mmiodrv:\n{out}"))?;
    let (ok_good, out) = mypy(&["typecheck_good.py"])?;
    check(ok_good, format!("mypy typecheck_good.py:\n{out}"))?;
    let (ok_bad, out) = mypy(&["typecheck_bad.py"])?;
    check(!ok_bad, "mypy found nothing wrong in typecheck_bad.py")?;
    let bad = std::fs::read_to_string(root().join("python/tests/typecheck_bad.py")).map_err(|e| e.to_string())?;
    let mut expected = Vec::new();
    for (i, line) in bad.lines().enumerate() {
        if let Some(code) = line.split("# error: ").nth(1) {
            expected.push(format!("typecheck_bad.py:{}: error: [{code}]", i + 1));
        }
    }
    let mut found: Vec<String> = out
        .lines()
        .filter_map(|l| {
            let (place, rest) = l.split_once(": error: ")?;
            let code = rest.rsplit_once("  [")?.1.trim_end_matches(']');
            Some(format!("{place}: error: [{code}]"))
        })
        .collect();
    found.dedup();
    check(found == expected, format!("mypy on typecheck_bad.py: expected {expected:?}\ngot:\n{out}"))
}

/// The same bad input gives the command line's message (before its remedy,
/// which each words in its own terms) and exit status. Nothing here opens a
/// host device: malformed addresses, and a domain the host does not have.
fn host_errors_match_the_command_line(_: &mut Lab) -> Result<(), Failed> {
    let cli = static_mmiodrv();
    for (spec, backend) in
        [("00:04", "auto"), ("ffff:00:04.0", "auto"), ("1234:zzzz", "auto"), ("ffff:00:04.0", "dpdk")]
    {
        let c = Command::new(&cli)
            .args(["--device", spec, "--backend", backend, "read", "ID"])
            .env("MMIODRV_FAKE_SYSFS_ONLY", "1")
            .output()
            .map_err(|e| e.to_string())?;
        let (status, stdout, stderr) = host_python(&format!(
            "import mmiodrv\ntry:\n    mmiodrv.open({spec:?}, backend={backend:?})\nexcept mmiodrv.Error as e:\n    \
             print(e.exit_code)\n    print(e)\n"
        ))?;
        check(status == 0, format!("python: {stderr}"))?;
        let mut lines = stdout.lines();
        let (code, message) = (lines.next().unwrap_or(""), lines.next().unwrap_or(""));
        let cli_err = String::from_utf8_lossy(&c.stderr);
        // clap rejects a bad --backend itself: compare the exit status only then.
        let cli_msg = cli_err.trim().trim_start_matches("mmiodrv: error: ");
        let head = |m: &str| m.split("; fix: ").next().unwrap_or("").to_string();
        check(code == c.status.code().unwrap_or(-1).to_string(), format!("{spec}: exit {code} vs {:?}", c.status))?;
        if backend == "auto" {
            check(head(message) == head(cli_msg), format!("{spec}: python {message:?} vs CLI {cli_msg:?}"))?;
        }
    }
    Ok(())
}

/// `mmiodrv.list()` is `mmiodrv list --json` on this host (sysfs reads only).
fn host_list_matches_the_command_line(_: &mut Lab) -> Result<(), Failed> {
    let cli = static_mmiodrv();
    let c = Command::new(&cli).args(["list", "--json"]).output().map_err(|e| e.to_string())?;
    check(c.status.success(), String::from_utf8_lossy(&c.stderr).to_string())?;
    let (status, stdout, stderr) = host_python(&format!(
        "import json, mmiodrv\nprint(mmiodrv.list() == json.loads({:?})['devices'])",
        String::from_utf8_lossy(&c.stdout)
    ))?;
    check(status == 0 && stdout.trim() == "True", format!("{stdout}{stderr}"))
}

/// An outside driver's Python: examples/blinky/python builds mmiodrv's
/// module with blinky's driver (`mmiodrv_python::init`), as blinky's binary
/// is the command line with it; on a simulated blinky its commands are
/// methods, names are values, and errors are mmiodrv's classes.
fn host_an_outside_driver_joins_python(_: &mut Lab) -> Result<(), Failed> {
    let out = Command::new("bash")
        .arg(root().join("python/build-wheel.sh"))
        .args(["--dev", "--crate", "examples/blinky/python"])
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run python/build-wheel.sh: {e}"))?;
    check(
        out.status.success(),
        format!("python/build-wheel.sh --crate examples/blinky/python failed ({})", out.status),
    )?;
    let code = r#"
import mmiodrv
with mmiodrv.open("sim:blinky") as dev:
    assert "blinky" in dir(dev), dir(dev)
    assert dev.blinky.mode("fast") == {"device": "sim:blinky", "mode": "Fast"}
    dev.write("CTRL.MODE", "slow")
    assert dev.read("CTRL.MODE") == 1
    dev.regs.CTRL.MODE = "Medium"
    assert dev.blinky.status()["mode"] == "Medium"
    assert [r["op"] for r in dev.run("blinky ack")] == ["blinky ack"]
    try:
        dev.write("CTRL.MODE", "ludicrous")
        raise SystemExit("a name the field does not have was taken")
    except mmiodrv.UsageError as e:
        assert "names: Off, Slow, Medium, Fast" in str(e), e
print("ok")
"#;
    let run = Command::new(venv_python())
        .args(["-c", code])
        .current_dir(std::env::temp_dir())
        .env("PYTHONPATH", root().join("target/python-blinky"))
        .env("MMIODRV_FAKE_SYSFS_ONLY", "1")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", venv_python().display()))?;
    let (stdout, stderr) = (String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    check(run.status.success() && stdout.trim() == "ok", format!("{stdout}{stderr}"))
}

fn main() -> ExitCode {
    let tests: &[(&'static str, TestFn)] = &[
        ("host::an_outside_driver_joins_python", host_an_outside_driver_joins_python),
        ("host::stubs_match_the_declarations", host_stubs_match_the_declarations),
        ("host::stubs_type_check", host_stubs_type_check),
        ("host::errors_match_the_command_line", host_errors_match_the_command_line),
        ("host::list_matches_the_command_line", host_list_matches_the_command_line),
        ("host::five_front_ends_agree_on_a_simulated_edu", host_front_ends_agree),
        ("host::generated_python_drives_a_simulated_edu", host_generated_python_on_sim),
        ("python::identify_and_liveness", identify_and_liveness),
        ("python::factorial_by_polling", factorial_by_polling),
        ("python::factorial_by_msi_under_vfio", factorial_by_msi_under_vfio),
        ("python::dma_round_trip_under_vfio", dma_round_trip_under_vfio),
        ("python::close_releases_vfio", close_releases_vfio),
        ("python::a_forked_child_leaves_the_device_alone", a_forked_child_leaves_the_device_alone),
        ("python::dump_skips_read_side_effects", dump_skips_read_side_effects),
        ("python::bar_bulk_copies", bar_bulk_copies),
        ("python::drivers_commands", drivers_commands),
        ("python::list_matches_the_command_line", list_matches_the_command_line),
        ("python::bad_input_raises_the_right_class", bad_input_raises_the_right_class),
        ("python::locks_like_the_command_line", locks_like_the_command_line),
        ("python::one_lock_per_process", one_lock_per_process),
        ("python::five_front_ends_agree_on_edu", front_ends_agree_on_edu),
        ("python::generated_python_drives_edu", generated_python_on_edu),
        ("docs::python_lab_runs_as_written", python_lab_runs_as_written),
        ("docs::python_page_runs_as_written", python_page_runs_as_written),
    ];
    let listing = std::env::args().any(|a| a == "--list");
    let mut cfg = LabConfig::default();
    configure(&mut cfg);
    // A lab that is not prepared: run_suite skips (or fails under CI) without
    // building anything.
    if !listing && cfg.check_prepared().is_ok() {
        match build_wheel() {
            Ok(dir) => {
                let _ = UNPACKED.set(dir);
            }
            Err(why) if std::env::var("CI").as_deref() == Ok("true") => {
                eprintln!("vm_python: CI=true but the Python wheel could not be built: {why}");
                return ExitCode::FAILURE;
            }
            Err(why) => return skip_suite("vm_python", tests, &format!("the Python wheel could not be built: {why}")),
        }
    }
    run_suite("vm_python", tests, configure)
}
