//! The backends (issue 4) on the real devices: every command through sysfs, UIO
//! and VFIO; interrupts; DMA; binding; and the bad inputs that must leave nothing
//! bound wrong.

use libtest_mimic::Failed;
use mmiodrv_lab::Lab;

use crate::common::vm::{check, driver_of, fails, ok};
use crate::{EDU, IVSHMEM};

/// Start a test from a known state: edu unbound, nothing pending, idle.
pub fn reset_edu(lab: &mut Lab) -> Result<(), Failed> {
    bind(lab, "0000:00:04.0", "none")?;
    ok(lab, &format!("{EDU} write IRQ_ACK 0xffffffff && {EDU} write STATUS 0"))?;
    Ok(())
}

/// Bind (or with "none", unbind) and check the result.
pub fn bind(lab: &mut Lab, addr: &str, driver: &str) -> Result<(), Failed> {
    let cmd = if driver == "none" {
        format!("mmiodrv --device {addr} unbind")
    } else {
        format!("mmiodrv --device {addr} bind {driver}")
    };
    ok(lab, &cmd)?;
    let now = driver_of(lab, addr)?;
    check(now == driver, format!("after `{cmd}` the device is bound to {now}"))
}

pub fn every_command_on_every_backend(lab: &mut Lab) -> Result<(), Failed> {
    reset_edu(lab)?;
    for (driver, backend) in [("none", "sysfs"), ("uio_pci_generic", "uio"), ("vfio-pci", "vfio")] {
        bind(lab, "0000:00:04.0", driver)?;
        for b in ["auto", backend] {
            let e = format!("{EDU} --backend {b}");
            let dump = ok(lab, &format!("{e} dump-regs"))?;
            check(dump.contains("ID          0x010000ed"), format!("{backend}: {dump}"))?;
            check(ok(lab, &format!("{e} read ID --quiet"))? == "0x010000ed\n", format!("{backend}: read ID"))?;
            ok(lab, &format!("{e} write 0x4 0xf0f0f0f0"))?;
            check(ok(lab, &format!("{e} read LIVENESS --quiet"))? == "0x0f0f0f0f\n", format!("{backend}: liveness"))?;
            ok(lab, &format!("{e} write STATUS.IRQ_FACT 1 --verify"))?;
            ok(lab, &format!("{e} write STATUS 0"))?;
            let info = ok(lab, &format!("{e} info"))?;
            check(info.contains("Region 0: Memory at") && info.contains("[size=1M]"), format!("{backend}: {info}"))?;
            let json = ok(lab, &format!("{e} info --json"))?;
            check(json.contains("\"mmiodrv_driver\":\"edu\""), format!("{backend}: {json}"))?;
            check(info.contains("Capabilities: [40] MSI:"), format!("{backend}: capabilities via {backend}:\n{info}"))?;
            let cfg = ok(lab, &format!("{e} config"))?;
            check(
                cfg.lines().nth(1) == Some("00: 34 12 e8 11 03 01 10 00 10 00 ff 00 00 00 00 00")
                    || cfg.lines().nth(1).is_some_and(|l| l.starts_with("00: 34 12 e8 11")),
                format!("{backend}: {cfg}"),
            )?;
            check(ok(lab, &format!("{e} edu factorial 5"))?.starts_with("5! = 120"), format!("{backend}: factorial"))?;
        }
    }
    // A backend that does not match the bound driver is a clear error.
    fails(
        lab,
        &format!("{EDU} --backend uio read ID"),
        6,
        "the uio backend needs the device bound to uio_pci_generic, but it is bound to vfio-pci",
    )?;
    bind(lab, "0000:00:04.0", "none")?;
    fails(
        lab,
        &format!("{EDU} --backend vfio read ID"),
        6,
        "the vfio backend needs the device bound to vfio-pci, but it is bound to no driver",
    )?;
    Ok(())
}

pub fn vfio_interrupts_in_one_process(lab: &mut Lab) -> Result<(), Failed> {
    reset_edu(lab)?;
    bind(lab, "0000:00:04.0", "vfio-pci")?;
    let out = ok(lab, &format!("{EDU} write IRQ_RAISE 0x5 --wait-irq --index msi --timeout 3000"))?;
    check(out.contains("0000:00:04.0: MSI vector 0 fired (1 event(s))"), out.clone())?;
    check(ok(lab, &format!("{EDU} read IRQ_STATUS --quiet"))? == "0x00000005\n", "IRQ_STATUS after raise")?;
    ok(lab, &format!("{EDU} write IRQ_ACK 0x5"))?;
    let out = ok(lab, &format!("{EDU} write IRQ_RAISE 0x1 --wait-irq --index intx --timeout 3000"))?;
    check(out.contains("INTx vector 0 fired"), out.clone())?;
    ok(lab, &format!("{EDU} write IRQ_ACK 0x1"))?;
    let json = ok(lab, &format!("{EDU} write IRQ_RAISE 0x2 --wait-irq --json"))?;
    let lines: Vec<serde_json::Value> =
        json.lines().map(serde_json::from_str).collect::<Result<_, _>>().map_err(|e| format!("{e}: {json}"))?;
    check(
        lines.len() == 2
            && lines[0]["register"] == "IRQ_RAISE"
            && lines[1]["interrupts"][0]["kind"] == "msi"
            && lines[1]["interrupts"][0]["vector"] == 0,
        json.clone(),
    )?;
    ok(lab, &format!("{EDU} write IRQ_ACK 0x2"))?;
    let quiet = ok(lab, &format!("{EDU} write IRQ_RAISE 0x2 --wait-irq --quiet"))?;
    check(quiet == "0\n", format!("--quiet prints the vector: {quiet:?}"))?;
    ok(lab, &format!("{EDU} write IRQ_ACK 0x2"))?;
    // Nothing pending: the wait times out with its own status.
    fails(lab, &format!("{EDU} wait-irq --timeout 200"), 8, "timed out after 200 ms waiting for MSI")?;
    fails(lab, &format!("{EDU} wait-irq --index msi --vector 3"), 2, "MSI has 1 vector(s); there is no vector 3")?;
    // Checked once armed, before the write: nothing is raised.
    fails(lab, &format!("{EDU} write IRQ_RAISE 0x4 --wait-irq --vector 9"), 2, "there is no vector 9")?;
    check(ok(lab, &format!("{EDU} read IRQ_STATUS --quiet"))? == "0x00000000\n", "nothing raised")?;
    bind(lab, "0000:00:04.0", "none")
}

pub fn uio_interrupt_from_another_process(lab: &mut Lab) -> Result<(), Failed> {
    reset_edu(lab)?;
    bind(lab, "0000:00:04.0", "uio_pci_generic")?;
    ok(lab, &format!("rm -f /tmp/w; ({EDU} wait-irq --timeout 5000 > /tmp/w 2>&1; echo \"exit $?\" >> /tmp/w) &"))?;
    ok(lab, &format!("sleep 1; {EDU} write IRQ_RAISE 0x8"))?;
    let mut got = String::new();
    for _ in 0..50 {
        got = ok(lab, "cat /tmp/w")?;
        if got.contains("exit ") {
            break;
        }
        ok(lab, "sleep 0.1")?;
    }
    check(got.contains("INTx vector 0 fired (1 event(s))") && got.contains("exit 0"), got.clone())?;
    ok(lab, &format!("{EDU} write IRQ_ACK 0x8"))?;
    // The same device under UIO has no MSI, and no DMA.
    fails(lab, &format!("{EDU} wait-irq --index msi"), 6, "the uio backend has no MSI (UIO delivers only INTx)")?;
    fails(lab, &format!("{EDU} edu dma from-device --len 16"), 6, "the uio backend has no DMA")?;
    bind(lab, "0000:00:04.0", "none")
}

/// `bind` loads a driver that is not loaded yet (modprobe, as a fresh system
/// would need for uio_pci_generic or vfio-pci); when the module cannot be
/// loaded it is one clear error that leaves the device where it was.
pub fn bind_loads_a_missing_driver_module(lab: &mut Lab) -> Result<(), Failed> {
    let module = "/lib/modules/$(uname -r)/kernel/drivers/uio/uio_pci_generic.ko";
    bind(lab, "0000:00:04.0", "none")?;
    ok(lab, "rmmod uio_pci_generic && test ! -d /sys/bus/pci/drivers/uio_pci_generic")?;
    ok(lab, &format!("mv {module} /tmp/"))?;
    let refused = fails(
        lab,
        &format!("{EDU} bind uio_pci_generic"),
        6,
        "kernel driver uio_pci_generic is not loaded and `modprobe uio_pci_generic` failed",
    );
    ok(lab, &format!("mv /tmp/uio_pci_generic.ko {module}"))?;
    refused?;
    check(driver_of(lab, "0000:00:04.0")? == "none", "a failed bind changed the device's driver")?;
    bind(lab, "0000:00:04.0", "uio_pci_generic")?;
    check(ok(lab, "grep -c '^uio_pci_generic ' /proc/modules")? == "1\n", "uio_pci_generic not loaded by bind")?;
    check(ok(lab, &format!("{EDU} --backend uio read ID --quiet"))? == "0x010000ed\n", "read ID through UIO")?;
    bind(lab, "0000:00:04.0", "none")
}

pub fn vfio_dma_round_trip(lab: &mut Lab) -> Result<(), Failed> {
    reset_edu(lab)?;
    bind(lab, "0000:00:04.0", "vfio-pci")?;
    ok(lab, "head -c 4095 /dev/urandom > /tmp/dma-in")?;
    ok(lab, &format!("{EDU} edu dma to-device /tmp/dma-in"))?;
    ok(lab, &format!("{EDU} edu dma from-device --len 4095 --out /tmp/dma-out"))?;
    ok(lab, "cmp /tmp/dma-in /tmp/dma-out")?;
    // The device really holds it: a second read at an offset sees the same bytes.
    ok(lab, &format!("{EDU} edu dma from-device --len 100 --offset 0x200 --out /tmp/part --irq"))?;
    ok(lab, "dd if=/tmp/dma-in of=/tmp/expect bs=1 skip=512 count=100 2>/dev/null && cmp /tmp/expect /tmp/part")?;
    bind(lab, "0000:00:04.0", "none")
}

pub fn ivshmem_bar2_through_vfio(lab: &mut Lab) -> Result<(), Failed> {
    use std::os::unix::fs::FileExt;
    bind(lab, "0000:00:05.0", "vfio-pci")?;
    let shm = std::fs::OpenOptions::new().read(true).write(true).open(lab.shm_path()).map_err(|e| e.to_string())?;
    ok(lab, &format!("{IVSHMEM} --backend vfio write 0x3000 0x0123456789abcdef --bar 2 --width 64"))?;
    let mut b = [0u8; 8];
    shm.read_exact_at(&mut b, 0x3000).map_err(|e| e.to_string())?;
    check(u64::from_le_bytes(b) == 0x0123_4567_89ab_cdef, format!("host file: {:#x}", u64::from_le_bytes(b)))?;
    shm.write_all_at(&0xfeed_beefu32.to_le_bytes(), 0x3010).map_err(|e| e.to_string())?;
    check(ok(lab, &format!("{IVSHMEM} read 0x3010 --bar 2 --quiet"))? == "0xfeedbeef\n", "guest sees host write")?;
    let regs = ok(lab, &format!("{IVSHMEM} dump-regs"))?;
    check(regs.contains("IV_POSITION") && regs.contains("INTR_STATUS  (not read"), regs)?;
    bind(lab, "0000:00:05.0", "none")
}

pub fn bad_input(lab: &mut Lab) -> Result<(), Failed> {
    reset_edu(lab)?;
    bind(lab, "0000:00:04.0", "vfio-pci")?;
    fails(lab, &format!("{EDU} wait-irq --index msix"), 6, "the device has no MSI-X interrupt (it has: INTx, MSI)")?;
    fails(lab, &format!("{EDU} edu dma from-device --len 0"), 2, "a DMA transfer needs at least one byte")?;
    fails(lab, &format!("{EDU} edu dma from-device --len 0x1000"), 2, "offset + length <= 0xfff")?;
    fails(
        lab,
        &format!("{EDU} edu dma from-device --len 16 --iova 0x10000000"),
        2,
        "exceeds the device's 28-bit DMA mask",
    )?;
    fails(lab, &format!("{EDU} bind nosuch-driver"), 2, "possible values: vfio-pci, uio_pci_generic")?;
    check(driver_of(lab, "0000:00:04.0")? == "vfio-pci", "still bound to vfio-pci after the bad inputs")?;
    // Still fully usable.
    ok(lab, "printf abc > /tmp/abc")?;
    ok(lab, &format!("{EDU} edu dma to-device /tmp/abc && {EDU} edu dma from-device --len 3 --out /tmp/abc2 && cmp /tmp/abc /tmp/abc2"))?;
    // No DMA mapping or group left open: another process can open the group at once.
    check(ok(lab, &format!("{EDU} read ID --quiet"))? == "0x010000ed\n", "group reopens")?;
    bind(lab, "0000:00:04.0", "none")
}

pub fn vfio_group_busy(lab: &mut Lab) -> Result<(), Failed> {
    reset_edu(lab)?;
    bind(lab, "0000:00:04.0", "vfio-pci")?;
    ok(lab, &format!("({EDU} wait-irq --timeout 3000 > /dev/null 2>&1 &) ; sleep 0.5"))?;
    fails(lab, &format!("{EDU} read ID"), 6, "VFIO group 1 is already open in another process")?;
    ok(lab, "sleep 3")?;
    check(ok(lab, &format!("{EDU} read ID --quiet"))? == "0x010000ed\n", "usable once the other process is gone")?;
    bind(lab, "0000:00:04.0", "none")
}

pub fn bind_restore(lab: &mut Lab) -> Result<(), Failed> {
    reset_edu(lab)?;
    bind(lab, "0000:00:04.0", "vfio-pci")?;
    check(ok(lab, "ls /dev/vfio")?.contains('1'), "group node exists")?;
    bind(lab, "0000:00:04.0", "uio_pci_generic")?;
    check(ok(lab, "ls /dev")?.contains("uio0"), "uio node exists")?;
    let out = ok(lab, &format!("{EDU} bind --restore"))?;
    check(out.trim() == "0000:00:04.0: uio_pci_generic -> no driver", out)?;
    check(driver_of(lab, "0000:00:04.0")? == "none", "restored to no driver")?;
    check(ok(lab, "cat /sys/bus/pci/devices/0000:00:04.0/driver_override")?.trim() == "(null)", "override cleared")?;
    // Binding twice is a no-op, not an error.
    bind(lab, "0000:00:04.0", "vfio-pci")?;
    bind(lab, "0000:00:04.0", "vfio-pci")?;
    let json = ok(lab, &format!("{EDU} bind --restore --json"))?;
    let v: serde_json::Value = serde_json::from_str(&json).map_err(|e| format!("{e}: {json}"))?;
    check(v["previous"] == "vfio-pci" && v["current"].is_null() && v["device"] == "0000:00:04.0", json)?;
    Ok(())
}

/// The lab's e1000 NIC (00:07.0) and virtio disk (00:08.0): a swap disk and an up
/// interface are refused (unless --force); once idle, the NIC goes to vfio-pci
/// and `bind --restore` gives it back to e1000.
pub fn devices_in_use_are_not_unbound(lab: &mut Lab) -> Result<(), Failed> {
    const DISK: &str = "0000:00:08.0";
    const NIC: &str = "0000:00:07.0";
    check(driver_of(lab, DISK)? == "virtio-pci" && driver_of(lab, NIC)? == "e1000", "lab devices under their drivers")?;
    ok(lab, "mkswap /dev/vda >/dev/null && swapon /dev/vda")?;
    let refused = fails(
        lab,
        &format!("mmiodrv --device {DISK} bind vfio-pci"),
        6,
        "refusing to unbind a device in use: block device vda is in use as swap",
    );
    ok(lab, "swapoff /dev/vda")?;
    refused?;
    check(driver_of(lab, DISK)? == "virtio-pci", "the disk keeps its driver")?;

    let iface = ok(lab, &format!("ls /sys/bus/pci/devices/{NIC}/net"))?.trim().to_string();
    ok(lab, &format!("ip link set {iface} up"))?;
    fails(lab, &format!("mmiodrv --device {NIC} unbind"), 6, &format!("network interface {iface} is up"))?;
    fails(
        lab,
        &format!("mmiodrv --device {NIC} bind uio_pci_generic"),
        6,
        &format!("network interface {iface} is up"),
    )?;
    check(driver_of(lab, NIC)? == "e1000", "the NIC keeps its driver")?;
    ok(lab, &format!("ip link set {iface} down"))?;

    bind(lab, NIC, "vfio-pci")?;
    let dump = ok(lab, &format!("mmiodrv --device {NIC} dump-regs --len 16"))?;
    check(dump.starts_with("0000:00:07.0 BAR0 offset 0x0 length 0x10 (32-bit reads)"), dump)?;
    let out = ok(lab, &format!("mmiodrv --device {NIC} bind --restore"))?;
    check(out.trim() == "0000:00:07.0: vfio-pci -> e1000", out)?;
    check(driver_of(lab, NIC)? == "e1000", "e1000 is back")?;
    check(ok(lab, &format!("ls /sys/bus/pci/devices/{NIC}/net"))?.trim() == iface, "its interface is back")?;

    // --force overrides the refusal, and restore still knows the old driver.
    ok(lab, &format!("ip link set {iface} up"))?;
    ok(lab, &format!("mmiodrv --device {NIC} --force unbind"))?;
    check(driver_of(lab, NIC)? == "none", "forced unbind")?;
    ok(lab, &format!("mmiodrv --device {NIC} bind --restore"))?;
    check(driver_of(lab, NIC)? == "e1000", "restored after a forced unbind")
}
