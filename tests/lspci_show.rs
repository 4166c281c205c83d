//! Whole devices printed by `mmiodrv::pci::lspci::show`, compared line for
//! line with the host's `lspci -F FILE` on pciutils' own test dumps
//! (tests/data/pciutils), for each set of options lspci users reach for:
//! `-v`, `-vv`, `-vvv`, `-vvv -nn`, `-n -v`, `-x`, `-xxx -v`, `-xxxx`,
//! `-k`. Every line counts (titles, header lines, bridge windows, BARs,
//! capabilities, hex dumps). Prints the figures and what differs; fails
//! unless every device is identical. Skipped, saying so, without lspci.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use mmiodrv::pci::ids::Numeric;
use mmiodrv::pci::lspci::dump;
use mmiodrv::pci::lspci::show::{show, Facts, Function, ShowOptions};

mod lspci_split;
use lspci_split::ids;

/// The options compared: lspci's flags, and ours.
const OPTIONS: &[(&str, u8, u8, bool, u8)] = &[
    // (lspci flags, verbosity, -n count, -k, -x count)
    ("-v", 1, 0, false, 0),
    ("-vv", 2, 0, false, 0),
    ("-vvv", 3, 0, false, 0),
    ("-vvvnn", 3, 2, false, 0),
    ("-nv", 1, 1, false, 0),
    ("-x", 0, 0, false, 1),
    ("-vxxx", 1, 0, false, 3),
    ("-xxxx", 0, 0, false, 4),
    ("-k", 0, 0, true, 0),
    ("-nn", 0, 2, false, 0),
];

/// A device's first line: not indented, not blank, not a hex-dump line
/// (`00: 86 80 ...`, `100: ...`).
fn is_title(line: &str) -> bool {
    let hex_line = line
        .split_once(": ")
        .is_some_and(|(at, _)| (2..=3).contains(&at.len()) && at.chars().all(|c| c.is_ascii_hexdigit()));
    !line.is_empty() && !line.starts_with('\t') && !hex_line
}

fn main() -> ExitCode {
    if Command::new("lspci").arg("--version").output().is_err() {
        println!("lspci_show: SKIPPED: lspci is not installed (Debian: apt-get install pciutils)");
        return ExitCode::SUCCESS;
    }
    let dir = std::env::var_os("MMIODRV_PCIUTILS_TESTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pciutils"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/data/pciutils")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_none())
        .collect();
    files.sort();
    let (ids, ids_path) = ids();
    let facts = Facts::default();
    let mut failed = false;
    for (flags, verbosity, numeric, kernel, hex) in OPTIONS {
        let (mut same, mut total, mut lines_same, mut lines_total) = (0, 0, 0, 0);
        let mut differing = Vec::new();
        for path in &files {
            let file = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
            let mut cmd = Command::new("lspci");
            cmd.arg("-F").arg(path).arg(flags);
            if let Some(p) = &ids_path {
                cmd.arg("-i").arg(p);
            }
            let out = cmd.env("LC_ALL", "C").output().expect("run lspci");
            let theirs = String::from_utf8_lossy(&out.stdout).into_owned();
            let text = String::from_utf8_lossy(&std::fs::read(path).expect("read dump")).into_owned();
            let mut devs = dump::parse(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
            devs.sort_by_key(|d| d.sort_key());
            let domain = devs.iter().any(|d| d.domain != 0);
            let opt = ShowOptions {
                verbosity: *verbosity,
                numeric: Numeric::from_count(*numeric),
                kernel: *kernel,
                hex: *hex,
                domain,
                ids: &ids,
                vpd: None,
            };
            let mut ours = String::new();
            for d in &devs {
                let f = Function {
                    domain: d.domain,
                    bus: d.bus,
                    device: d.device,
                    function: d.function,
                    config: &d.config,
                    facts: &facts,
                };
                for line in show(&f, &opt).lines {
                    ours.push_str(&line);
                    ours.push('\n');
                }
            }
            let a: Vec<&str> = theirs.lines().collect();
            let b: Vec<&str> = ours.lines().collect();
            lines_total += a.len();
            lines_same += a.iter().zip(&b).filter(|(x, y)| x == y).count();
            // Per device: titles start at column 0 and are not hex-dump lines.
            let split = |lines: &[&str]| -> Vec<Vec<String>> {
                let mut out: Vec<Vec<String>> = Vec::new();
                for l in lines {
                    if is_title(l) || out.is_empty() {
                        out.push(Vec::new());
                    }
                    if let Some(last) = out.last_mut() {
                        last.push(l.to_string());
                    }
                }
                out
            };
            let (da, db) = (split(&a), split(&b));
            for (i, dev) in da.iter().enumerate() {
                total += 1;
                let other = db.get(i).cloned().unwrap_or_default();
                if *dev == other {
                    same += 1;
                    continue;
                }
                let k = dev.iter().zip(&other).take_while(|(x, y)| x == y).count();
                differing.push(format!(
                    "{file} {}: line {}\n      lspci:   {:?}\n      mmiodrv: {:?}",
                    dev.first().map(String::as_str).unwrap_or("?").split(' ').next().unwrap_or("?"),
                    k + 1,
                    dev.get(k).map(String::as_str).unwrap_or("<end>"),
                    other.get(k).map(String::as_str).unwrap_or("<end>")
                ));
            }
        }
        println!(
            "lspci_show: lspci -F FILE {flags}: {same}/{total} devices identical, {lines_same}/{lines_total} lines"
        );
        for d in differing.iter().take(30) {
            println!("  DIFFERS {d}");
        }
        failed |= same != total;
    }
    if failed {
        println!("lspci_show: FAILED");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
