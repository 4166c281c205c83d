//! Capability blocks decoded by `mmiodrv::pci::lspci`, compared line for
//! line with the host's `lspci -F FILE -vvv` on pciutils' own test dumps
//! (tests/data/pciutils). Prints the figure (identical blocks / lspci's
//! blocks), every block that differs with its first differing line, and fails
//! below 95%. Skipped, saying so, when lspci is not installed.
//!
//! `MMIODRV_LSPCI_VERBOSITY=1|2|3` compares another level than `-vvv`;
//! `MMIODRV_PCIUTILS_TESTS=DIR` reads the dumps from another directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use mmiodrv::pci::config::{flag_string, status_string, COMMAND_FLAGS};
use mmiodrv::pci::ids::PciIds;
use mmiodrv::pci::lspci::{self, dump, Options};
use mmiodrv::pci::report::title;
use mmiodrv::pci::ConfigSpace;

mod lspci_split;
use lspci_split::{ids, split_lspci};

/// The share of identical blocks the test requires.
const REQUIRED: f64 = 0.95;

/// A label for a block in the report: `file 00:1c.0 [100]`.
fn label(file: &str, title: &str, block: &[String]) -> String {
    let slot = title.split(' ').next().unwrap_or("?");
    let at = block.first().and_then(|l| l.split('[').nth(1)).and_then(|l| l.split(']').next()).unwrap_or("?");
    format!("{file} {slot} [{at}]")
}

/// A block's kind for the per-kind figures: its first line after the offset,
/// up to the first value (`Express`, `Device Serial Number`, `Extended
/// Capability ID 0x2a`).
fn kind(block: &[String]) -> String {
    let first = block.first().map(String::as_str).unwrap_or("");
    let after = first.split("] ").nth(1).unwrap_or(first);
    let cut = after.find([':', ',', '(']).unwrap_or(after.len());
    let mut words: Vec<&str> = Vec::new();
    for word in after[..cut].split_whitespace() {
        let value = word.starts_with(|c: char| c.is_ascii_digit())
            || (word.starts_with('v') && word[1..].starts_with(|c: char| c.is_ascii_digit()))
            || word.matches('-').count() == 7;
        let named = matches!(words.last(), Some(&"ID" | &"Layer" | &"16.0"));
        if (value && !named) || word == "version" {
            break;
        }
        words.push(word);
    }
    words.join(" ")
}

struct Tally {
    identical: usize,
    total: usize,
    per_kind: BTreeMap<String, (usize, usize)>,
    differing: Vec<String>,
    titles_checked: usize,
    /// Header lines compared (title, Control, Status) and identical.
    header: (usize, usize),
    header_differing: Vec<String>,
}

fn compare_file(path: &Path, verbosity: u8, ids: &PciIds, ids_path: Option<&Path>, tally: &mut Tally) {
    let file = path.file_name().and_then(|n| n.to_str()).unwrap_or("?").to_string();
    let mut cmd = Command::new("lspci");
    cmd.arg("-F").arg(path).arg(format!("-{}", "v".repeat(usize::from(verbosity))));
    if let Some(p) = ids_path {
        cmd.arg("-i").arg(p);
    }
    let out = cmd.env("LC_ALL", "C").output().expect("run lspci");
    let theirs = split_lspci(&String::from_utf8_lossy(&out.stdout));

    let text = String::from_utf8_lossy(&std::fs::read(path).expect("read dump")).into_owned();
    let mut ours = dump::parse(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
    ours.sort_by_key(|d| d.sort_key());
    if ours.len() != theirs.len() {
        tally.differing.push(format!(
            "{file}: lspci shows {} devices, the dump parser found {}",
            theirs.len(),
            ours.len()
        ));
    }
    for (i, dev) in theirs.iter().enumerate() {
        let mine: Vec<Vec<String>> = match ours.get(i) {
            Some(d) => {
                let with_domain = !dev.title.starts_with(&d.slot_name(false));
                assert!(
                    dev.title.starts_with(&format!("{} ", d.slot_name(with_domain))),
                    "{file}: device {i} is {} for lspci, {} for the dump parser",
                    dev.title,
                    d.slot_name(true)
                );
                tally.titles_checked += 1;
                compare_header(&file, dev, d, ids, tally);
                let opts = Options::default().with_verbosity(verbosity).with_ids(ids).at(d.device, d.function);
                lspci::decode(&d.config, &opts).into_iter().map(|b| b.lines).collect()
            }
            None => Vec::new(),
        };
        for (j, block) in dev.blocks.iter().enumerate() {
            tally.total += 1;
            let entry = tally.per_kind.entry(kind(block)).or_default();
            entry.1 += 1;
            let other = mine.get(j).map(Vec::as_slice).unwrap_or(&[]);
            if other == block.as_slice() {
                tally.identical += 1;
                entry.0 += 1;
                continue;
            }
            let k = block.iter().zip(other).take_while(|(a, b)| a == b).count();
            let want = block.get(k).map_or("<end of block>".to_string(), |l| format!("{l:?}"));
            let got = other.get(k).map_or("<end of block>".to_string(), |l| format!("{l:?}"));
            tally.differing.push(format!(
                "{}: line {}\n      lspci:   {want}\n      mmiodrv: {got}",
                label(&file, &dev.title, block),
                k + 1
            ));
        }
        if mine.len() > dev.blocks.len() {
            tally.differing.push(format!(
                "{}: mmiodrv prints {} more block(s)",
                label(&file, &dev.title, &mine[dev.blocks.len()]),
                mine.len() - dev.blocks.len()
            ));
        }
    }
}

/// The header lines mmiodrv's library already words as lspci: the title
/// (without lspci's `(prog-if ...)`), `Control:` and `Status:`.
fn compare_header(file: &str, dev: &lspci_split::Device, d: &dump::DumpDevice, ids: &PciIds, tally: &mut Tally) {
    let config = ConfigSpace::new(d.config.clone());
    let theirs_title = dev.title.split(" (prog-if ").next().unwrap_or(&dev.title);
    let slot = dev.title.split(' ').next().unwrap_or("");
    let mut pairs = vec![(theirs_title.to_string(), format!("{slot} {}", title(ids, &config)))];
    for (prefix, ours) in [
        ("\tControl: ", config.command().map(|c| flag_string(c, COMMAND_FLAGS))),
        ("\tStatus: ", config.status().map(status_string)),
    ] {
        if let (Some(line), Some(ours)) = (dev.header.iter().find(|l| l.starts_with(prefix)), ours) {
            pairs.push((line.clone(), format!("{prefix}{ours}")));
        }
    }
    for (theirs, ours) in pairs {
        tally.header.1 += 1;
        if theirs == ours {
            tally.header.0 += 1;
        } else {
            tally.header_differing.push(format!("{file}: lspci {theirs:?}\n      mmiodrv {ours:?}"));
        }
    }
}

fn main() -> ExitCode {
    if Command::new("lspci").arg("--version").output().is_err() {
        println!("lspci_caps: SKIPPED: lspci is not installed (Debian: apt-get install pciutils)");
        return ExitCode::SUCCESS;
    }
    let version = Command::new("lspci").arg("--version").output().map(|o| o.stdout).unwrap_or_default();
    let verbosity: u8 = std::env::var("MMIODRV_LSPCI_VERBOSITY").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
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
    let mut tally = Tally {
        identical: 0,
        total: 0,
        per_kind: BTreeMap::new(),
        differing: Vec::new(),
        titles_checked: 0,
        header: (0, 0),
        header_differing: Vec::new(),
    };
    for file in &files {
        compare_file(file, verbosity, &ids, ids_path.as_deref(), &mut tally);
    }

    println!(
        "lspci_caps: {} (-{}), {} files, {} devices",
        String::from_utf8_lossy(&version).trim(),
        "v".repeat(usize::from(verbosity)),
        files.len(),
        tally.titles_checked
    );
    println!("lspci_caps: per kind (identical/total):");
    for (kind, (same, all)) in &tally.per_kind {
        let mark = if same == all { "" } else { "   <-- differs" };
        println!("    {same:4}/{all:<4} {kind}{mark}");
    }
    for line in &tally.differing {
        println!("  DIFFERS {line}");
    }
    for line in tally.header_differing.iter().take(20) {
        println!("  HEADER DIFFERS {line}");
    }
    println!(
        "lspci_caps: header lines (title without prog-if, Control, Status): {}/{} identical (not required)",
        tally.header.0, tally.header.1
    );
    let share = if tally.total == 0 { 0.0 } else { tally.identical as f64 / tally.total as f64 };
    println!(
        "lspci_caps: {}/{} capability blocks identical ({:.1}%), {} differ; required {:.0}%",
        tally.identical,
        tally.total,
        share * 100.0,
        tally.total - tally.identical,
        REQUIRED * 100.0
    );
    if tally.total == 0 || share < REQUIRED {
        println!("lspci_caps: FAILED");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
