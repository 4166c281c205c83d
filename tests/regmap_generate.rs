//! `regmap generate --lang c`: the header against `peakrdl c-header`'s. (The
//! Rust generator is checked by examples/generated-edu and the edu driver's
//! own registers, drivers/edu/src/regs.rs; the Python one by tests/vm_python.rs,
//! on a simulated edu with the built wheel and on the lab's edu.)
//!
//! C: for every SystemRDL file of ours (tests/data/*/, examples/maps/), both
//! headers are compiled together with one `_Static_assert` per register
//! (our `_OFFSET` equals `offsetof` of peakrdl's struct member) and per
//! field (our `_MASK` and `_SHIFT` equal its `_bm` and `_bp`). Needs
//! tests/data/fetch.sh's venv (the compiler and peakrdl) and a C compiler:
//! missing under CI=true is a failure, elsewhere a loud skip.

use std::fmt::Write;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn regmap_python() -> PathBuf {
    repo().join("target/regmap-data/venv/bin/python")
}

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let ci = std::env::var("CI").as_deref() == Ok("true");
    let have_c = regmap_python().exists() && Command::new("cc").arg("--version").output().is_ok();
    if !have_c && !ci && !args.list {
        eprintln!(
            "!!!!! SKIPPING the generated C headers: no tests/data/fetch.sh venv or cc (reported as ignored) !!!!!"
        );
    }
    let trials = vec![Trial::test("c_header_agrees_with_peakrdl_c_header", c_header_agrees_with_peakrdl_c_header)
        .with_ignored_flag(!have_c && !ci)];
    libtest_mimic::run(&args, trials).exit_code()
}

fn run(cmd: &mut Command) -> Result<String, Failed> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} exited {}:\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn mmiodrv() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mmiodrv"));
    c.env("MMIODRV_PYTHON", regmap_python());
    c
}

/// Our SystemRDL files.
fn rdl_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["tests/data/edu", "tests/data/ivshmem", "tests/data/w1c", "tests/data/nested", "examples/maps"] {
        for e in std::fs::read_dir(repo().join(dir)).expect("a map directory").flatten() {
            if e.path().extension().is_some_and(|x| x == "rdl") {
                files.push(e.path());
            }
        }
    }
    files.sort();
    files
}

/// Our header's macro prefix of a register: what `regmap generate --lang c`
/// names it (MAP_[BLOCK_]REGISTER in capitals, made identifiers).
fn our_prefix(map: &str, name: &str) -> String {
    let id = |s: &str| mmiodrv::regmap::generate::identifier(s).to_ascii_uppercase();
    match name.split_once('.') {
        Some((b, r)) => format!("{}_{}_{}", id(map), id(b), id(r)),
        None => format!("{}_{}", id(map), id(name)),
    }
}

fn c_header_agrees_with_peakrdl_c_header() -> Result<(), Failed> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut checked = 0;
    for file in rdl_files() {
        let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("map").to_string();
        let ours = dir.path().join(format!("{stem}_ours.h"));
        let theirs = dir.path().join(format!("{stem}_ref.h"));
        run(mmiodrv().args(["regmap", "generate", "--lang", "c", "-o"]).arg(&ours).arg(&file))?;
        let peakrdl = regmap_python().with_file_name("peakrdl");
        run(Command::new(&peakrdl).args(["c-header", "--type-style", "hier", "-o"]).arg(&theirs).arg(&file))?;
        let paths: Value = serde_json::from_str(&run(Command::new(regmap_python())
            .arg(repo().join("tests/data/cheader_paths.py"))
            .arg(&file))?)
        .map_err(|e| e.to_string())?;
        let reading: Value = serde_json::from_str(&run(mmiodrv().args(["--json", "regmap", "show"]).arg(&file))?)
            .map_err(|e| e.to_string())?;
        // The map's name, as the header's prefix: the only block's, or the file's top map.
        let map_name = match reading["blocks"].as_array().map(Vec::len) {
            Some(1) => reading["blocks"][0]["name"].as_str().unwrap_or("").to_string(),
            _ => {
                let s = paths["struct"].as_str().unwrap_or("");
                s.strip_suffix("_t").unwrap_or(s).to_string()
            }
        };
        let mut c = String::new();
        let _ = writeln!(c, "#include <stddef.h>\n#include \"{}\"\n#include \"{}\"", theirs.display(), ours.display());
        let st = paths["struct"].as_str().unwrap_or("");
        let regs = paths["registers"].as_array().ok_or("no registers")?;
        if regs.is_empty() {
            return Err(format!("{}: no registers", file.display()).into());
        }
        for r in regs {
            let name = r["name"].as_str().unwrap_or("");
            let p = our_prefix(&map_name, name);
            let member = r["member"].as_str().unwrap_or("");
            let _ = writeln!(c, "_Static_assert(offsetof({st}, {member}) == {p}_OFFSET, \"{name}: offset\");");
            let rp = r["prefix"].as_str().unwrap_or("");
            for f in r["fields"].as_array().into_iter().flatten().filter_map(Value::as_str) {
                let fu = f.to_ascii_uppercase();
                let ours = format!("{p}_{}", mmiodrv::regmap::generate::identifier(f).to_ascii_uppercase());
                let _ = writeln!(c, "_Static_assert({rp}__{fu}_bm == {ours}_MASK, \"{name}.{f}: mask\");");
                let _ = writeln!(c, "_Static_assert({rp}__{fu}_bp == {ours}_SHIFT, \"{name}.{f}: shift\");");
                let _ = writeln!(c, "_Static_assert({rp}__{fu}_bw == {ours}_WIDTH, \"{name}.{f}: width\");");
                checked += 1;
            }
        }
        let src = dir.path().join(format!("{stem}_check.c"));
        std::fs::write(&src, c).map_err(|e| e.to_string())?;
        run(Command::new("cc")
            .args(["-std=gnu11", "-Wall", "-Werror", "-c", "-o"])
            .arg(dir.path().join("x.o"))
            .arg(&src))
        .map_err(|e| {
            format!(
                "{}: our header and peakrdl c-header's disagree: {}",
                file.display(),
                e.message().unwrap_or_default()
            )
        })?;
    }
    if checked < 20 {
        return Err(format!("only {checked} fields checked").into());
    }
    eprintln!("C headers: {checked} fields of {} SystemRDL files agree with peakrdl c-header", rdl_files().len());
    Ok(())
}
