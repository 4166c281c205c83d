//! Comparing `mmiodrv info` with `lspci -vvv` for the same device: the config
//! header flags, BARs, capability list, kernel driver and IOMMU group must agree.
//! Used on the host's own devices (read-only) and on the lab guest's edu/ivshmem.

/// Lines of `lspci -vvv -s ADDR` at one tab of indentation, tab stripped.
fn top_level(lspci: &str) -> Vec<&str> {
    lspci.lines().filter_map(|l| l.strip_prefix('\t')).filter(|l| !l.starts_with('\t')).collect()
}

/// Every disagreement between the two outputs; empty when they agree.
pub fn disagreements(info: &str, lspci: &str) -> Vec<String> {
    let ours = top_level(info);
    let theirs = top_level(lspci);
    let mut problems = Vec::new();
    let find = |lines: &[&str], prefix: &str| -> Vec<String> {
        lines.iter().filter(|l| l.starts_with(prefix)).map(|l| l.to_string()).collect()
    };

    for key in ["Control:", "Status:", "Kernel driver in use:"] {
        let (a, b) = (find(&ours, key), find(&theirs, key));
        if key == "Kernel driver in use:" && b.is_empty() {
            if a != ["Kernel driver in use: none"] {
                problems.push(format!("lspci shows no driver, mmiodrv shows {a:?}"));
            }
            continue;
        }
        if a != b {
            problems.push(format!("{key} mmiodrv {a:?} vs lspci {b:?}"));
        }
    }
    // Regions: lspci may append " [disabled]" or " [virtual]"; ours must be a prefix.
    let (a, b) = (find(&ours, "Region "), find(&theirs, "Region "));
    if a.len() != b.len() || a.iter().zip(&b).any(|(x, y)| !y.starts_with(x.as_str())) {
        problems.push(format!("regions: mmiodrv {a:?} vs lspci {b:?}"));
    }
    if let Some(group) = find(&theirs, "IOMMU group:").first() {
        if !find(&ours, "IOMMU group:").iter().any(|l| l.starts_with(&format!("{group} "))) {
            problems.push(format!("{group} not in mmiodrv's output"));
        }
    }
    // Capabilities: same offsets in the same order; lspci's text starts with our
    // name, and for MSI/MSI-X the decoded flags match up to lspci's line end.
    let caps = |lines: &[&str]| -> Vec<(String, String)> {
        lines
            .iter()
            .filter_map(|l| l.strip_prefix("Capabilities: ["))
            .filter_map(|l| {
                l.split_once("] ").map(|(o, t)| (o.split(' ').next().unwrap_or("").to_string(), t.to_string()))
            })
            .collect()
    };
    let (a, b) = (caps(&ours), caps(&theirs));
    let a_offsets: Vec<&String> = a.iter().map(|c| &c.0).collect();
    let b_offsets: Vec<&String> = b.iter().map(|c| &c.0).collect();
    if a_offsets != b_offsets {
        problems.push(format!("capability offsets: mmiodrv {a_offsets:?} vs lspci {b_offsets:?}"));
    } else {
        for ((off, ours), (_, theirs)) in a.iter().zip(&b) {
            let (name, detail) = ours.split_once(": ").unwrap_or((ours.as_str(), ""));
            let name_ok = theirs.starts_with(name);
            let detail_ok = match name {
                "MSI" | "MSI-X" => theirs == &format!("{name}: {}", detail.split(';').next().unwrap_or("")),
                _ => true,
            };
            if !name_ok || !detail_ok {
                problems.push(format!("capability [{off}]: mmiodrv {ours:?} vs lspci {theirs:?}"));
            }
        }
    }
    problems
}

/// Lines only mmiodrv prints (not lspci's).
const OURS_ONLY: &[&str] = &["IDs: ", "Header type: ", "IOMMU group: ", "mmiodrv driver: ", "(only "];

/// lspci lines mmiodrv does not decode (bridge windows, kernel modules...).
const THEIRS_ONLY: &[&str] = &[
    "Kernel modules: ",
    "Expansion ROM at ",
    "NUMA node: ",
    "Physical Slot: ",
    "IOMMU group: ",
    "Bus: primary=",
    "I/O behind bridge: ",
    "Memory behind bridge: ",
    "Prefetchable memory behind bridge: ",
    "Secondary status: ",
    "BridgeCtl: ",
    "BIST ",
];

/// Capabilities whose whole line mmiodrv prints as lspci does; of the others
/// only the name is compared.
const DECODED_IN_FULL: &[&str] =
    &["MSI:", "MSI-X:", "Vendor Specific Information:", "Power Management version", "Express (", "Subsystem:"];

/// Capabilities whose lines under the first mmiodrv prints too.
const WITH_SUBLINES: &[&str] = &["MSI-X:", "Vendor Specific Information:"];

/// `mmiodrv info` against `lspci -vvv`, line for line: every line lspci
/// prints at the first level must be mmiodrv's, in the same order, except
/// the kinds listed above; capabilities decoded in full must match whole,
/// with their sub-lines; regions may carry lspci's `[disabled]`/`[virtual]`.
pub fn line_for_line(info: &str, lspci: &str) -> Vec<String> {
    let ours: Vec<&str> = info
        .lines()
        .skip(1)
        .filter_map(|l| l.strip_prefix('\t'))
        .filter(|l| !OURS_ONLY.iter().any(|p| l.starts_with(p)) && *l != "Kernel driver in use: none")
        .collect();
    let mut theirs: Vec<&str> = Vec::new();
    let mut keep_sub = false;
    for line in lspci.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        if let Some(sub) = line.strip_prefix("\t\t") {
            if keep_sub {
                theirs.push(line.strip_prefix('\t').unwrap_or(sub));
            }
            continue;
        }
        let Some(top) = line.strip_prefix('\t') else { continue };
        keep_sub = top
            .strip_prefix("Capabilities: [")
            .and_then(|c| c.split_once("] "))
            .is_some_and(|(_, name)| WITH_SUBLINES.iter().any(|d| name.starts_with(d)));
        if !THEIRS_ONLY.iter().any(|p| top.starts_with(p)) {
            theirs.push(top);
        }
    }
    let mut problems = Vec::new();
    if ours.len() != theirs.len() {
        problems.push(format!("{} lines against lspci's {}", ours.len(), theirs.len()));
    }
    for (a, b) in ours.iter().zip(&theirs) {
        let same = a == b
            || (a.starts_with("Region ") && b.starts_with(a))
            || (a.starts_with("Capabilities: [")
                && !DECODED_IN_FULL.iter().any(|d| a.split_once("] ").is_some_and(|(_, n)| n.starts_with(d)))
                && b.starts_with(a));
        if !same {
            problems.push(format!("mmiodrv {a:?}\n   lspci {b:?}"));
            break;
        }
    }
    problems
}
