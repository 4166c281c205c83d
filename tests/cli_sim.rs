//! The command line against a simulated device (`--device sim:MAP`), as a CI
//! job without hardware would use it: a sequence of commands sharing a
//! `--state` file, `dump-regs --diff-reset`, field writes, blocks, `regmap
//! check|convert`, and the errors (`FILE:LINE`, exit 7; a missing SystemRDL
//! compiler names the pip command).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn data(p: &str) -> String {
    repo().join("tests/data").join(p).display().to_string()
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mmiodrv"))
        .args(args)
        .env_remove("MMIODRV_DEVICE")
        .env("MMIODRV_FAKE_SYSFS_ONLY", "1")
        .env("MMIODRV_SYSFS_ROOT", "/nonexistent")
        .output()
        .expect("run mmiodrv")
}

fn ok(args: &[&str]) -> String {
    let o = run(args);
    assert!(
        o.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn fails(args: &[&str], code: i32, msg: &str) -> String {
    let o = run(args);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(code), "{args:?}: {err}");
    assert!(err.contains(msg) && err.trim_end().lines().count() == 1, "{args:?}: {err:?} lacks {msg:?}");
    err
}

#[test]
fn a_sequence_of_commands_sees_its_own_writes() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("edu.json");
    let dev = format!("sim:{}", data("edu/edu.svd"));
    let st = state.to_str().unwrap();
    let g = |rest: &[&str]| -> Vec<String> {
        let mut v = vec!["--device".to_string(), dev.clone(), "--state".into(), st.into()];
        v.extend(rest.iter().map(|s| s.to_string()));
        v
    };
    let call = |rest: &[&str]| ok(&g(rest).iter().map(String::as_str).collect::<Vec<_>>());
    let dump = call(&["dump-regs"]);
    assert!(dump.starts_with(&format!("edu {dev} BAR0 ({})", data("edu/edu.svd"))), "{dump}");
    assert!(dump.contains("0x0000  ID          0x010000ed          MAJOR=0x1 MINOR=0x0 MAGIC=0xed (edu)"), "{dump}");
    assert!(dump.contains("IRQ_RAISE   (write-only)"), "{dump}");
    call(&["write", "LIVENESS", "0xdeadbeef"]);
    call(&["write", "DMA_CMD.DIRECTION", "1"]);
    assert_eq!(call(&["read", "LIVENESS", "--quiet"]), "0xdeadbeef\n");
    assert_eq!(call(&["read", "DMA_CMD", "--quiet"]), "0x0000000000000002\n");
    let diff = call(&["dump-regs", "--diff-reset"]);
    assert!(diff.contains("0x0004  LIVENESS    0xdeadbeef  (reset 0x00000000)\n"), "{diff}");
    assert!(diff.ends_with("2 register(s) differ from their reset value\n"), "{diff}");
    let e =
        fails(&g(&["write", "ID", "1"]).iter().map(String::as_str).collect::<Vec<_>>(), 2, "register ID is read-only");
    assert!(e.contains(&dev), "{e}");
    // Without --state every command starts from reset.
    assert_eq!(ok(&["--device", &dev, "read", "LIVENESS", "--quiet"]), "0x00000000\n");
    let json = call(&["dump-regs", "--json", "--diff-reset"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["device"], dev.as_str());
    assert_eq!(v["registers"][1]["differs_from_reset"], true, "{json}");
}

#[test]
fn blocks_write_one_to_clear_and_read_side_effects() {
    let nested = data("nested/nested.svd");
    let dev = format!("sim:{nested}");
    // Every block at its address, sim: and --regmap alike (issue 25).
    for args in [vec!["--device", &dev, "dump-regs"], vec!["--device", &dev, "dump-regs", "--regmap", &nested]] {
        let out = ok(&args);
        assert!(out.contains("\n0x0040  DMA0.CH[3]_SRC ") && out.contains("\n0x1040  DMA1.CH[3]_SRC "), "{out}");
    }
    fails(&["--device", &dev, "dump-regs", "--regmap", &nested, "--block", "DMA7"], 3, "no block 'DMA7'");
    fails(
        &["--device", &dev, "read", "CH[3]_SRC"],
        2,
        "is in several blocks of the nested map (DMA0.CH[3]_SRC, DMA1.CH[3]_SRC)",
    );
    let out = ok(&["--device", &dev, "read", "DMA1.CH[3]_SRC"]);
    assert!(out.starts_with(&format!("{dev} BAR0 0x1040 DMA1.CH[3]_SRC = 0x00000000  ADDR=0x0")), "{out}");
    // --block keeps the block's base: CH[1]_SRC of DMA1 is 0x1020, not DMA0's 0x0020.
    let out = ok(&["--device", &dev, "read", "CH[1]_SRC", "--block", "DMA1"]);
    assert!(out.starts_with(&format!("{dev} BAR0 0x1020 CH[1]_SRC = ")), "{out}");
    let out = ok(&["--device", &dev, "dump-regs", "--block", "DMA1"]);
    assert!(out.starts_with(&format!("DMA1 {dev} BAR0")) && out.contains("\n0x1000  TIMESTAMP"), "{out}");
    let out = ok(&["--device", &dev, "dump-regs", "DMA1"]);
    assert!(out.contains("\n0x1000  DMA1.TIMESTAMP") && !out.contains("DMA0."), "{out}");
    // Placed: the file's address 0 at BAR offset 0x4000.
    let out = ok(&["--device", &format!("{dev}@0x4000"), "read", "DMA1.CH[1]_SRC.ADDR"]);
    assert!(out.contains(" BAR0 0x5020 DMA1.CH[1]_SRC.ADDR = 0x0"), "{out}");
    // ivshmem: INTR_STATUS clears on read, so dump-regs leaves it alone.
    let iv = format!("sim:{}", data("ivshmem/ivshmem.svd"));
    let out = ok(&["--device", &iv, "dump-regs"]);
    assert!(out.contains("INTR_STATUS  (not read: read has side effects; --all reads it)"), "{out}");
}

#[test]
fn check_convert_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok(&["regmap", "check", &data("w1c/w1c.ipxact-2022.xml")]);
    assert!(out.ends_with("ok (ipxact-2022, 1 block(s), 4 register(s))\n"), "{out}");
    let bad = dir.path().join("bad.svd");
    let text = std::fs::read_to_string(data("edu/edu.svd"))
        .unwrap()
        .replace("<addressOffset>0x04</addressOffset>", "<addressOffset>0x02</addressOffset>");
    std::fs::write(&bad, text).unwrap();
    // Every problem, one error line each.
    let o = run(&["regmap", "check", bad.to_str().unwrap()]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(7), "{e}");
    assert_eq!(
        e.lines().collect::<Vec<_>>(),
        [format!(
            "mmiodrv: error: {}:66: block edu: register LIVENESS at 0x2 is not aligned to its width (32-bit)",
            bad.display()
        )],
        "{e}"
    );
    // SVD to TOML: no overlaps flag where the source has none (edu).
    let toml = ok(&["regmap", "convert", &data("edu/edu.svd"), "--to", "toml"]);
    assert!(!toml.contains("overlaps"), "{toml}");
    // Convert to TOML, then use the TOML: the same registers and fields.
    let toml = dir.path().join("w1c.toml");
    ok(&["regmap", "convert", &data("w1c/w1c.svd"), "--to", "toml", "-o", toml.to_str().unwrap()]);
    let a = ok(&["regmap", "show", &data("w1c/w1c.svd")]);
    let b = ok(&["regmap", "show", toml.to_str().unwrap()]);
    assert_eq!(a.lines().skip(1).collect::<Vec<_>>(), b.lines().skip(1).collect::<Vec<_>>());
    // SystemRDL without its compiler: the error names the pip command.
    let o = Command::new(env!("CARGO_BIN_EXE_mmiodrv"))
        .args(["regmap", "show", &data("edu/edu.rdl")])
        .env("MMIODRV_PYTHON", Path::new("/nonexistent/python3"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(6), "{err}");
    assert!(
        err.contains("reading SystemRDL needs systemrdl-compiler") && err.contains("-m pip install systemrdl-compiler"),
        "{err}"
    );
}

/// The README's sim transcript, run from the repository root as written.
#[test]
fn readme_sim_transcript_runs_as_written() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let block = readme.split("<!-- sim transcript -->\n```text\n").nth(1).expect("the README's sim transcript");
    let block = block.split("\n```").next().unwrap();
    let mut steps: Vec<(String, Vec<String>)> = Vec::new();
    for line in block.lines() {
        match line.strip_prefix("$ mmiodrv ") {
            Some(cmd) => steps.push((cmd.to_string(), Vec::new())),
            None => steps.last_mut().expect("a command first").1.push(line.to_string()),
        }
    }
    let _ = std::fs::remove_file("/tmp/mmiodrv-readme-sim.json");
    assert!(steps.len() >= 4);
    for (cmd, expected) in steps {
        let o = Command::new(env!("CARGO_BIN_EXE_mmiodrv"))
            .args(cmd.split_whitespace())
            .current_dir(repo())
            .output()
            .unwrap();
        let got: Vec<String> = String::from_utf8_lossy(&o.stdout)
            .lines()
            .chain(String::from_utf8_lossy(&o.stderr).lines())
            .map(|l| l.trim_end().to_string())
            .collect();
        assert_eq!(got, expected, "mmiodrv {cmd}");
    }
    let _ = std::fs::remove_file("/tmp/mmiodrv-readme-sim.json");
}
