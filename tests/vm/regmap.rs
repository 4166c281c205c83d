//! edu's register map in every format of tests/data/edu on the real device:
//! `dump-regs --regmap FILE` reads the same values as the built-in map, and
//! the field writes (LIVENESS, DMA_CMD.DIRECTION) behave the same. The guest
//! has no SystemRDL compiler: edu.rdl is compiled on the host
//! (`regmap convert --to toml`, with tests/data/fetch.sh's venv) and its TOML
//! goes to the guest.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use libtest_mimic::Failed;
use mmiodrv_lab::{Lab, LabConfig};

use crate::backends::reset_edu;
use crate::common::vm::{check, ok};
use crate::EDU;

/// Where the maps are in the guest.
const DIR: &str = "/root/maps";
/// The edu maps, by file name (edu.rdl as the host compiled it).
const FILES: &[&str] = &[
    "edu.ipxact-2009.xml",
    "edu.ipxact-2014.xml",
    "edu.ipxact-2022.xml",
    "edu.svd",
    "edu.csr.csv",
    "edu.csr.json",
    "edu.rdl.toml",
];

/// Put tests/data/edu/* into the guest, and edu.rdl compiled to TOML.
pub fn configure(cfg: &mut LabConfig) {
    let root = mmiodrv_lab::repo_root();
    for f in FILES.iter().filter(|f| !f.ends_with(".toml")) {
        cfg.extra_files.push((format!("{DIR}/{f}"), root.join("tests/data/edu").join(f)));
    }
    if let Some(toml) = rdl_as_toml() {
        cfg.extra_files.push((format!("{DIR}/edu.rdl.toml"), toml));
    }
}

fn rdl_as_toml() -> Option<PathBuf> {
    let root = mmiodrv_lab::repo_root();
    let out = root.join("target/tmp/edu.rdl.toml");
    std::fs::create_dir_all(out.parent()?).ok()?;
    let status = Command::new(env!("CARGO_BIN_EXE_mmiodrv"))
        .args(["regmap", "convert", "--to", "toml", "-o"])
        .arg(&out)
        .arg(root.join("tests/data/edu/edu.rdl"))
        .env("MMIODRV_PYTHON", root.join("target/regmap-data/venv/bin/python"))
        .status()
        .ok()?;
    if status.success() {
        Some(out)
    } else {
        eprintln!("!!!!! edu.rdl could not be compiled on the host (run tests/data/fetch.sh) !!!!!");
        None
    }
}

/// NAME (upper case) -> VALUE column of a dump-regs table.
fn values(dump: &str) -> BTreeMap<String, String> {
    dump.lines()
        .skip(2)
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let (_, name, value) = (w.next()?, w.next()?, w.next()?);
            Some((name.to_ascii_uppercase(), value.to_string()))
        })
        .collect()
}

/// The values both maps read, in the shape a map gives them. LiteX has no
/// 64-bit registers (DMA_SRC is DMA_SRC_LO at 0x80 and DMA_SRC_HI at 0x84)
/// and no write-only ones: compared are the low halves; the high halves and
/// IRQ_RAISE/IRQ_ACK are offsets edu does not decode for a read (the
/// built-in map reads none of them), so their values say nothing.
fn comparable(
    file: &str,
    builtin: &BTreeMap<String, String>,
    got: &mut BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    if !file.starts_with("edu.csr") {
        return builtin.clone();
    }
    got.retain(|name, _| !name.ends_with("_HI") && name != "IRQ_RAISE" && name != "IRQ_ACK");
    let mut out = BTreeMap::new();
    for (name, value) in builtin {
        if let Some(hex) = value.strip_prefix("0x").filter(|h| h.len() == 16) {
            out.insert(format!("{name}_LO"), format!("0x{}", &hex[8..]));
        } else if value != "(write-only)" {
            out.insert(name.clone(), value.clone());
        }
    }
    out
}

pub fn every_format_reads_and_writes_like_the_builtin_map(lab: &mut Lab) -> Result<(), Failed> {
    let ci = std::env::var("CI").as_deref() == Ok("true");
    for file in FILES {
        let path = format!("{DIR}/{file}");
        if ok(lab, &format!("test -f {path} && echo yes || echo no"))?.trim() == "no" {
            if ci {
                return Err(format!("{path} is not in the guest (CI=true: tests/data/fetch.sh must run first)").into());
            }
            eprintln!("!!!!! SKIPPING {file}: not in the guest (run tests/data/fetch.sh) !!!!!");
            continue;
        }
        reset_edu(lab)?;
        // A state the reset does not leave: LIVENESS and DMA registers written.
        ok(
            lab,
            &format!("{EDU} write LIVENESS 0x12345678 && {EDU} write DMA_SRC 0x40000 && {EDU} write DMA_COUNT 0x10"),
        )?;
        let builtin = values(&ok(lab, &format!("{EDU} dump-regs"))?);
        let dump = ok(lab, &format!("{EDU} dump-regs --regmap {path}"))?;
        check(dump.starts_with(&format!("edu 0000:00:04.0 BAR0 ({path})")), format!("{file} heading:\n{dump}"))?;
        let mut got = values(&dump);
        let want = comparable(file, &builtin, &mut got);
        check(got == want, format!("{file}: dump-regs values\n--- built-in\n{want:?}\n--- {file}\n{got:?}\n{dump}"))?;
        check(got["LIVENESS"] == "0xedcba987", format!("{file}: LIVENESS {:?}", got["LIVENESS"]))?;

        // LIVENESS by name through the map: the device inverts it.
        ok(lab, &format!("{EDU} write LIVENESS 0xf0f0f0f0 --regmap {path}"))?;
        let l = ok(lab, &format!("{EDU} read LIVENESS --quiet --regmap {path}"))?;
        check(l == "0x0f0f0f0f\n", format!("{file}: LIVENESS {l:?}"))?;

        // Field writes: STATUS.IRQ_FACT through the map, read through the
        // built-in map (read-modify-write keeps COMPUTING); DMA_CMD.DIRECTION
        // the same as through the built-in map (edu latches DMA_CMD only
        // with START, so both read back what the device keeps). LiteX has no fields.
        if !file.starts_with("edu.csr") {
            ok(lab, &format!("{EDU} write STATUS 0"))?;
            ok(lab, &format!("{EDU} write STATUS.IRQ_FACT 1 --regmap {path}"))?;
            let st = ok(lab, &format!("{EDU} read STATUS --quiet"))?;
            check(st == "0x00000080\n", format!("{file}: STATUS after IRQ_FACT=1: {st:?}"))?;
            let r = ok(lab, &format!("{EDU} read STATUS --regmap {path}"))?;
            check(r.contains("IRQ_FACT=0x1 COMPUTING=0x0 (idle)"), format!("{file}: {r}"))?;
            ok(lab, &format!("{EDU} write STATUS 0"))?;
            ok(lab, &format!("{EDU} write DMA_CMD.DIRECTION 1"))?;
            let builtin_cmd = ok(lab, &format!("{EDU} read DMA_CMD --quiet"))?;
            let w = ok(lab, &format!("{EDU} write DMA_CMD.DIRECTION 1 --regmap {path}"))?;
            check(w == "0000:00:04.0 BAR0 0x0098 DMA_CMD.DIRECTION <- 0x1\n", format!("{file}: {w:?}"))?;
            let cmd = ok(lab, &format!("{EDU} read DMA_CMD --quiet --regmap {path}"))?;
            check(cmd == builtin_cmd, format!("{file}: DMA_CMD {cmd:?}, built-in map {builtin_cmd:?}"))?;
            let f = ok(lab, &format!("{EDU} read DMA_CMD.DIRECTION --quiet --regmap {path}"))?;
            let fb = ok(lab, &format!("{EDU} read DMA_CMD.DIRECTION --quiet"))?;
            check(f == fb, format!("{file}: DIRECTION {f:?}, built-in {fb:?}"))?;
        }
    }
    reset_edu(lab)
}

/// examples/generated-edu's `edu-generated` (registers generated from edu's
/// map in TOML at build time, and from its SVD, IP-XACT and SystemRDL
/// files): through each, on the real edu, ID reads 0x010000ed, LIVENESS
/// reads back the inverse of what was written, and setting DMA_CMD.DIRECTION
/// (a read-modify-write of the 64-bit register) leaves DMA_CMD as it was
/// (edu latches DMA_CMD only with START: it keeps the last transfer's).
pub fn generated_rust_drives_edu(lab: &mut Lab) -> Result<(), Failed> {
    reset_edu(lab)?;
    let before = ok(lab, &format!("{EDU} read DMA_CMD --quiet"))?;
    let cmd = u64::from_str_radix(before.trim().trim_start_matches("0x"), 16).map_err(|e| format!("{before}: {e}"))?;
    let out = ok(lab, "edu-generated 0000:00:04.0")?;
    let lines: Vec<&str> = out.lines().collect();
    check(lines.len() == 4, format!("edu-generated: 4 lines, got:\n{out}"))?;
    for (line, format) in lines.iter().zip(["toml", "svd", "ipxact", "rdl"]) {
        let want = format!("{format}: ID 0x010000ed MAGIC 0xed LIVENESS 0xedcba987 DMA_CMD {cmd:#x}");
        check(*line == want, format!("edu-generated:\n{out}\nwanted: {want}"))?;
    }
    reset_edu(lab)
}
