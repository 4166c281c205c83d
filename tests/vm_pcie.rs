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
#[path = "vm/labs.rs"]
#[allow(dead_code)]
mod labs;

use std::process::ExitCode;

use common::vm::{check, run_suite, TestFn};
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

fn main() -> ExitCode {
    let tests: &[(&'static str, TestFn)] =
        &[("pcie::config_of_pcie_devices_matches_lspci", config_of_pcie_devices_matches_lspci)];
    run_suite("vm_pcie", tests, |cfg| cfg.more_devices = true)
}
