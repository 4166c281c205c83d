//! A lab guest without an IOMMU (no intel-iommu device, no intel_iommu=on), as
//! on a machine whose IOMMU is absent or switched off in firmware. VFIO cannot
//! take a device there (Debian's kernel has no unsafe no-IOMMU mode: its vfio.ko
//! lacks the enable_unsafe_noiommu_mode parameter), so mmiodrv must say so up
//! front and point to UIO, and UIO must work.

mod common;

use std::process::ExitCode;

use common::vm::{check, driver_of, fails, finds, ok, run_suite, TestFn};
use libtest_mimic::Failed;
use mmiodrv_lab::Lab;

const EDU: &str = "mmiodrv --device 0000:00:04.0";

fn driver_override(lab: &mut Lab) -> Result<String, Failed> {
    ok(lab, "cat /sys/bus/pci/devices/0000:00:04.0/driver_override")
}

fn no_iommu_group_and_vfio_refused_up_front(lab: &mut Lab) -> Result<(), Failed> {
    check(ok(lab, "ls /sys/kernel/iommu_groups | wc -l")? == "0\n", "the guest has IOMMU groups")?;
    // As lspci: no IOMMU group line for a device in none.
    let info = ok(lab, &format!("{EDU} info"))?;
    check(!info.contains("IOMMU group") && info == ok(lab, "lspci -vvv -s 00:04.0")?, info.clone())?;
    let json = ok(lab, &format!("{EDU} info --json"))?;
    check(json.contains("\"iommu_group\":null"), json)?;
    let before = driver_override(lab)?;
    fails(lab, &format!("{EDU} bind vfio-pci"), 6, "the device is in no IOMMU group (the IOMMU is absent or off)")?;
    let err = fails(lab, &format!("{EDU} bind vfio-pci"), 6, "bind uio_pci_generic")?;
    check(err.contains("intel_iommu=on"), err)?;
    check(driver_override(lab)? == before, "a refused bind wrote driver_override")?;
    check(driver_of(lab, "0000:00:04.0")? == "none", "a refused bind left the device bound")?;
    fails(lab, &format!("{EDU} --backend vfio read ID"), 6, "needs the device bound to vfio-pci")?;
    // The sysfs backend needs no IOMMU.
    check(ok(lab, &format!("{EDU} read ID --quiet"))? == "0x010000ed\n", "read ID through sysfs")
}

fn uio_works_without_an_iommu(lab: &mut Lab) -> Result<(), Failed> {
    ok(lab, &format!("{EDU} bind uio_pci_generic"))?;
    let irq = ok(lab, &format!("{EDU} edu irq raise 0x1 --wait --timeout 3000"))?;
    check(irq.contains("INTx vector 0 arrived (IRQ_STATUS 0x1); acknowledged 0x1"), irq)?;
    check(ok(lab, &format!("{EDU} edu factorial 6"))?.starts_with("6! = 720"), "factorial")?;
    fails(lab, &format!("{EDU} edu dma from-device --len 16"), 6, "the uio backend has no DMA")?;
    ok(lab, &format!("{EDU} bind --restore"))?;
    check(driver_of(lab, "0000:00:04.0")? == "none", "bind --restore left the device bound")
}

/// `doctor` names each cause: no IOMMU, a device a kernel driver holds, and a
/// user who is not root and has no udev rules (the guest has none installed).
fn doctor_names_each_cause(lab: &mut Lab) -> Result<(), Failed> {
    // Problems found: exit status 10, the report on stdout.
    let sys = finds(lab, "mmiodrv doctor")?;
    check(
        sys.contains("FAIL  iommu: no IOMMU groups: the IOMMU is absent or off")
            && sys.contains("fix: boot with intel_iommu=on or amd_iommu=on"),
        sys.clone(),
    )?;
    check(sys.contains("ok    user: running as root"), sys.clone())?;
    let nic = finds(lab, "mmiodrv -s 00:07.0 doctor")?;
    check(
        nic.contains("WARN  driver: bound to kernel driver e1000")
            && nic.contains("fix: mmiodrv --device 0000:00:07.0 bind vfio-pci"),
        nic.clone(),
    )?;
    // The device's IOMMU line offers UIO for this very device.
    check(nic.contains("or use UIO: mmiodrv --device 0000:00:07.0 bind uio_pci_generic"), nic.clone())?;
    let user = finds(lab, "su lab -c 'mmiodrv -s 00:04.0 doctor'")?;
    for want in [
        "FAIL  user: uid 1000 is not root, and there is no group mmiodrv: the udev rules are not installed; fix: run as root, or bind the device to vfio-pci and have an administrator name it for the mmiodrv group (sudo udev/install.sh --allow ADDRESS",
        "WARN  config: only 64 bytes of config space readable: capabilities need root",
        "FAIL  bar files: /sys/bus/pci/devices/0000:00:04.0/resource0 is root's only",
    ] {
        check(user.contains(want), format!("{want:?} not in\n{user}"))?;
    }
    let v = common::schema::validator();
    let json = finds(lab, "su lab -c 'mmiodrv -s 00:04.0 doctor --json'")?;
    common::schema::check_lines(&v, "doctor --json", &json)?;
    let parsed: serde_json::Value = serde_json::from_str(&json).map_err(|e| e.to_string())?;
    check(parsed["problems"].as_u64().unwrap_or(0) >= 3, json.clone())
}

fn main() -> ExitCode {
    let tests: &[(&'static str, TestFn)] = &[
        ("noiommu::doctor_names_each_cause", doctor_names_each_cause),
        ("noiommu::no_iommu_group_and_vfio_refused_up_front", no_iommu_group_and_vfio_refused_up_front),
        ("noiommu::uio_works_without_an_iommu", uio_works_without_an_iommu),
    ];
    run_suite("vm_noiommu", tests, |cfg| cfg.iommu = false)
}
