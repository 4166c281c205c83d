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
