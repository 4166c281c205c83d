//! `mmiodrv -F FILE ...` against `lspci -F FILE ...` and `setpci -F FILE
//! ...` on pciutils' own test dumps (tests/data/pciutils), through the
//! command line as a person runs it:
//!
//! - `info` (lspci -vvv): the figure required, at least 95% of lspci's
//!   capability blocks identical (every block that differs is listed), and
//!   every line counted;
//! - `info -v`, `-vv`, `-nn`, `-k`, `-x`, `-xxx`, `-xxxx`; `config` (lspci
//!   -xxxx); `list -t`, `list -tv`; with `-s`/`-d` filters: identical;
//! - every capability lspci decodes has registers by name in the config
//!   map, each in `info --json` with its fields, and `config read` by name
//!   gives the value `info --json` shows.
//!
//! Skipped, saying so, when lspci is not installed.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Output};

mod common;

const REQUIRED: f64 = 0.95;

fn mmiodrv(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mmiodrv"))
        .args(args)
        .env("MMIODRV_SYSFS_ROOT", "/nonexistent")
        .env("MMIODRV_FAKE_SYSFS_ONLY", "1")
        .env_remove("MMIODRV_DEVICE")
        .env_remove("MMIODRV_PCI_IDS")
        .output()
        .expect("run mmiodrv")
}

fn tool(name: &str, args: &[&str]) -> Output {
    Command::new(name).args(args).env("LC_ALL", "C").output().expect("run pciutils")
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn files() -> Vec<PathBuf> {
    let dir = std::env::var_os("MMIODRV_PCIUTILS_TESTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pciutils"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/data/pciutils")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_none())
        .collect();
    files.sort();
    files
}

/// The capability blocks of lspci-style output, each with its device.
fn blocks(out: &str) -> Vec<(String, Vec<String>)> {
    let mut all = Vec::new();
    let mut device = String::new();
    let mut open = false;
    for l in out.lines() {
        if !l.is_empty() && !l.starts_with('\t') {
            device = l.split(' ').next().unwrap_or("").to_string();
            open = false;
        } else if l.starts_with("\tCapabilities: ") {
            all.push((device.clone(), vec![l.to_string()]));
            open = true;
        } else if open && l.starts_with("\t\t") {
            if let Some((_, b)) = all.last_mut() {
                b.push(l.to_string());
            }
        } else {
            open = false;
        }
    }
    all
}

/// `info` (as lspci -vvv) on every file: the figure.
fn info_vvv(files: &[PathBuf]) -> bool {
    let (mut same, mut total, mut lines_same, mut lines_total) = (0, 0, 0, 0);
    let mut differing = Vec::new();
    for path in files {
        let p = path.to_str().unwrap_or("");
        let file = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        let (ours, theirs) = (text(&mmiodrv(&["-F", p, "info"])), text(&tool("lspci", &["-F", p, "-vvv"])));
        let (l, lt, _, _) = common::lspci::figures(&ours, &theirs);
        lines_same += l;
        lines_total += lt;
        let (a, b) = (blocks(&ours), blocks(&theirs));
        for (i, (dev, block)) in b.iter().enumerate() {
            total += 1;
            match a.get(i) {
                Some((d, mine)) if d == dev && mine == block => same += 1,
                other => {
                    let mine = other.map(|(_, m)| m.clone()).unwrap_or_default();
                    let k = block.iter().zip(&mine).take_while(|(x, y)| x == y).count();
                    differing.push(format!(
                        "{file} {dev} {}: line {}\n      lspci:   {:?}\n      mmiodrv: {:?}",
                        block[0].trim(),
                        k + 1,
                        block.get(k).map_or("<end>", String::as_str),
                        mine.get(k).map_or("<end>", String::as_str)
                    ));
                }
            }
        }
    }
    let share = if total == 0 { 0.0 } else { same as f64 / total as f64 };
    println!(
        "lspci_cli: mmiodrv -F FILE info against lspci -F FILE -vvv on {} files: {same}/{total} capability blocks identical ({:.1}%, required {:.0}%), {lines_same}/{lines_total} lines identical",
        files.len(),
        share * 100.0,
        REQUIRED * 100.0
    );
    for d in &differing {
        println!("  DIFFERS {d}");
    }
    total > 0 && share >= REQUIRED
}

/// Every other option set: whole outputs identical.
fn other_options(files: &[PathBuf]) -> bool {
    let sets: &[(&[&str], &[&str])] = &[
        (&["info", "-v"], &["-v"]),
        (&["info", "-vv"], &["-vv"]),
        (&["info", "-vvv", "-nn"], &["-vvv", "-nn"]),
        (&["info", "-v", "-n"], &["-v", "-n"]),
        (&["info", "-v", "-k"], &["-v", "-k"]),
        (&["info", "-x"], &["-vvv", "-x"]),
        (&["info", "-vv", "-xxx"], &["-vv", "-xxx"]),
        (&["info", "-v", "-xxxx", "-D"], &["-v", "-xxxx", "-D"]),
        (&["config"], &["-xxxx"]),
        (&["list", "-t"], &["-t"]),
        (&["list", "-tv"], &["-tv"]),
        (&["list", "-tvnn"], &["-tvnn"]),
        (&["-s", "00:", "info"], &["-vvv", "-s", "00:"]),
        (&["-d", "8086:", "info", "-v"], &["-v", "-d", "8086:"]),
        (&["-s", "01:00", "list", "-t"], &["-t", "-s", "01:00"]),
        (&["-d", "::0604", "list", "-tv"], &["-tv", "-d", "::0604"]),
    ];
    let mut ok = true;
    for (ours, theirs) in sets {
        let (mut same, mut n) = (0, 0);
        for path in files {
            let p = path.to_str().unwrap_or("");
            let mut a = vec!["-F", p];
            a.extend_from_slice(ours);
            let mut b = vec!["-F", p];
            b.extend_from_slice(theirs);
            let problems = common::lspci::line_for_line(&text(&mmiodrv(&a)), &text(&tool("lspci", &b)));
            n += 1;
            if problems.is_empty() {
                same += 1;
            } else {
                println!("  DIFFERS mmiodrv -F {p} {}: {}", ours.join(" "), problems.join("; "));
            }
        }
        println!(
            "lspci_cli: mmiodrv -F FILE {} = lspci -F FILE {}: {same}/{n} files identical",
            ours.join(" "),
            theirs.join(" ")
        );
        ok &= same == n;
    }
    ok
}

/// Every capability lspci decodes has registers by name in the config map,
/// in `info --json` with their fields; `config read` by name agrees.
fn registers_by_name(files: &[PathBuf]) -> bool {
    let (mut caps, mut covered, mut fields, mut reads_ok, mut reads) = (0, 0, 0, 0, 0);
    let mut uncovered: std::collections::BTreeMap<String, usize> = Default::default();
    for path in files {
        let p = path.to_str().unwrap_or("");
        for line in text(&mmiodrv(&["-F", p, "info", "--json"])).lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("info --json");
            let regs = v["registers"].as_array().cloned().unwrap_or_default();
            let device = v["device"].as_str().unwrap_or("?").to_string();
            let mut sampled = 0;
            for block in v["capabilities"].as_array().cloned().unwrap_or_default() {
                if block["kind"] != "capability" {
                    continue;
                }
                let Some(offset) = block["offset"].as_u64() else { continue };
                caps += 1;
                // The capability's registers: those of the map between its
                // header and the next capability's.
                let prefix: Option<String> = regs
                    .iter()
                    .find(|r| r["offset"].as_u64() == Some(offset))
                    .and_then(|r| r["name"].as_str())
                    .and_then(|n| n.rsplit_once('.').map(|(p, _)| p.to_string()));
                let Some(prefix) = prefix else {
                    *uncovered.entry(format!("{} (no header register)", block["lines"][0])).or_default() += 1;
                    continue;
                };
                let own: Vec<&serde_json::Value> = regs
                    .iter()
                    .filter(|r| r["name"].as_str().is_some_and(|n| n.starts_with(&format!("{prefix}."))))
                    .collect();
                let beyond_header = own
                    .iter()
                    .filter(|r| {
                        !matches!(r["name"].as_str().map(|n| n.rsplit('.').next()), Some(Some("ID" | "NEXT" | "HDR")))
                    })
                    .count();
                let decoded = block["fields"].as_array().is_some_and(|f| !f.is_empty());
                if beyond_header > 0 || !decoded {
                    covered += 1;
                } else {
                    let title = block["lines"][0].as_str().unwrap_or("").split("] ").nth(1).unwrap_or("").to_string();
                    *uncovered.entry(title).or_default() += 1;
                }
                fields += own.iter().map(|r| r["fields"].as_array().map_or(0, Vec::len)).sum::<usize>();
                // Read a few of them back by name, through the command line.
                for r in own.iter().take(3) {
                    if sampled >= 6 {
                        break;
                    }
                    sampled += 1;
                    let name = r["name"].as_str().unwrap_or("");
                    let o = mmiodrv(&["-F", p, "--device", &device, "--json", "config", "read", name]);
                    reads += 1;
                    let got: Option<serde_json::Value> = serde_json::from_slice(&o.stdout).ok();
                    if got.as_ref().is_some_and(|g| g["value"] == r["value"]) {
                        reads_ok += 1;
                    } else {
                        println!(
                            "  DIFFERS config read {name} on {device} of {p}: {:?} vs info's {}",
                            text(&o),
                            r["value"]
                        );
                    }
                    if let Some(f) = r["fields"].as_array().and_then(|f| f.first()) {
                        let field = format!("{name}.{}", f["name"].as_str().unwrap_or(""));
                        let o = mmiodrv(&["-F", p, "--device", &device, "--json", "config", "read", &field]);
                        reads += 1;
                        let got: Option<serde_json::Value> = serde_json::from_slice(&o.stdout).ok();
                        if got.as_ref().is_some_and(|g| g["value"] == f["value"]) {
                            reads_ok += 1;
                        } else {
                            println!("  DIFFERS config read {field} on {device} of {p}: {:?}", text(&o));
                        }
                    }
                }
            }
        }
    }
    println!(
        "lspci_cli: {covered}/{caps} decoded capabilities have registers by name in the config map ({fields} fields in info --json); {reads_ok}/{reads} config reads by name agree with info --json"
    );
    for (what, n) in &uncovered {
        println!("  NO REGISTERS BEYOND THE HEADER ({n}x): {what}");
    }
    covered == caps && reads_ok == reads
}

fn main() -> ExitCode {
    if Command::new("lspci").arg("--version").output().is_err() {
        println!("lspci_cli: SKIPPED: lspci is not installed (Debian: apt-get install pciutils)");
        return ExitCode::SUCCESS;
    }
    let files = files();
    let results = [info_vvv(&files), other_options(&files), registers_by_name(&files)];
    if results.iter().all(|r| *r) {
        ExitCode::SUCCESS
    } else {
        println!("lspci_cli: FAILED");
        ExitCode::FAILURE
    }
}
