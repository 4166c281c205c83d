//! A lab guest without an IOMMU (no intel-iommu device, no intel_iommu=on), as
//! on a machine whose IOMMU is absent or switched off in firmware. VFIO cannot
//! take a device there (Debian's kernel has no unsafe no-IOMMU mode: its vfio.ko
//! lacks the enable_unsafe_noiommu_mode parameter), so mmiodrv must say so up
//! front and point to UIO, and UIO must work.

mod common;

use std::process::ExitCode;

use common::vm::{check, driver_of, fails, ok, run_suite, TestFn};
use libtest_mimic::Failed;
use mmiodrv_lab::Lab;

const EDU: &str = "mmiodrv --device 0000:00:04.0";

fn driver_override(lab: &mut Lab) -> Result<String, Failed> {
    ok(lab, "cat /sys/bus/pci/devices/0000:00:04.0/driver_override")
}

fn no_iommu_group_and_vfio_refused_up_front(lab: &mut Lab) -> Result<(), Failed> {
    check(ok(lab, "ls /sys/kernel/iommu_groups | wc -l")? == "0\n", "the guest has IOMMU groups")?;
    let info = ok(lab, &format!("{EDU} info"))?;
    check(info.contains("\tIOMMU group: none"), info.clone())?;
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

fn main() -> ExitCode {
    let tests: &[(&'static str, TestFn)] = &[
        ("noiommu::no_iommu_group_and_vfio_refused_up_front", no_iommu_group_and_vfio_refused_up_front),
        ("noiommu::uio_works_without_an_iommu", uio_works_without_an_iommu),
    ];
    run_suite("vm_noiommu", tests, |cfg| cfg.iommu = false)
}
