//! mmiodrv in a guest with PCI Express devices (LabConfig::more_devices): root
//! ports with an edu and an NVMe behind them, xHCI, virtio-net. Config space of
//! 4096 bytes, capabilities of PCIe devices, hot-unplug.

#[path = "vm/backends.rs"]
#[allow(dead_code)]
mod backends;
mod common;
#[path = "vm/core.rs"]
#[allow(dead_code)]
mod core_tests;
#[path = "vm/ecosystem.rs"]
#[allow(dead_code)]
mod ecosystem;
#[path = "vm/labs.rs"]
#[allow(dead_code)]
mod labs;

use std::process::ExitCode;

use common::vm::{check, ok, run_suite, TestFn};
use libtest_mimic::Failed;
use mmiodrv_lab::Lab;

pub const EDU: &str = "mmiodrv --device 0000:00:04.0";
pub const IVSHMEM: &str = "mmiodrv --device 0000:00:05.0";

/// `config` against `lspci -xxxx` and `lspci -F` on every device, PCIe ones included.
fn config_of_pcie_devices_matches_lspci(lab: &mut Lab) -> Result<(), Failed> {
    let extended = core_tests::config_matches_lspci(lab)?;
    check(
        extended >= 3,
        format!("only {extended} devices with 4096 bytes of config space: the -xxxx layout went untested"),
    )
}

/// `list --tree` puts the NVMe and the second edu behind their root ports,
/// as `lspci -t` does.
fn list_tree_shows_devices_behind_bridges(lab: &mut Lab) -> Result<(), Failed> {
    let tree = ok(lab, "mmiodrv list --tree -n")?;
    let lines: Vec<&str> = tree.lines().collect();
    for (port, child) in [("0000:00:0a.0", "0000:02:00.0"), ("0000:00:09.0", "0000:01:00.0")] {
        let at = lines.iter().position(|l| l.starts_with(port)).ok_or(format!("no {port} in\n{tree}"))?;
        let next = lines.get(at + 1).copied().unwrap_or("");
        check(next.starts_with(&format!("`-- {child} ")), format!("{child} not under {port}:\n{tree}"))?;
    }
    let lspci = ok(lab, "lspci -t")?;
    check(lspci.contains("+-0a.0-[02]----00.0"), format!("lspci -t:\n{lspci}"))?;
    let json: serde_json::Value =
        serde_json::from_str(&ok(lab, "mmiodrv -s 02:00.0 list --json")?).map_err(|e| e.to_string())?;
    check(json["devices"][0]["parent"] == "0000:00:0a.0", json.to_string())
}

/// Extended capabilities by name, as setpci reads them, on the root port
/// (bound to pcieport: reading is fine, writing is refused).
fn extended_capability_targets_against_setpci(lab: &mut Lab) -> Result<(), Failed> {
    for target in ["ECAP_AER+4.l", "ECAP_AER+8.l", "CAP_EXP+2.w", "CAP_EXP+0x12.w", "CAP_MSIX+2.w"] {
        let ours = ok(lab, &format!("mmiodrv -s 00:0a.0 config read {target} --quiet"))?;
        let theirs = ok(lab, &format!("setpci -s 00:0a.0 {target}"))?;
        let (a, b) =
            (u64::from_str_radix(ours.trim().trim_start_matches("0x"), 16), u64::from_str_radix(theirs.trim(), 16));
        check(a.is_ok() && a == b, format!("{target}: mmiodrv {ours:?}, setpci {theirs:?}"))?;
    }
    common::vm::fails(lab, "mmiodrv -s 00:0a.0 config write ECAP_AER+8.l 0", 6, "bound to kernel driver 'pcieport'")?;
    Ok(())
}

fn main() -> ExitCode {
    let tests: &[(&'static str, TestFn)] = &[
        ("pcie::config_of_pcie_devices_matches_lspci", config_of_pcie_devices_matches_lspci),
        ("pcie::info_line_for_line_on_every_device", ecosystem::info_line_for_line_on_every_device),
        ("pcie::list_tree_shows_devices_behind_bridges", list_tree_shows_devices_behind_bridges),
        ("pcie::extended_capability_targets_against_setpci", extended_capability_targets_against_setpci),
    ];
    run_suite("vm_pcie", tests, |cfg| cfg.more_devices = true)
}
