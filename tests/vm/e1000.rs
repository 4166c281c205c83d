//! The e1000 driver on the lab's NIC (QEMU e1000 at 00:07.0): the MAC it reads
//! from the device is the one the kernel's driver showed, and
//! docs/writing-a-driver.md's transcript runs as written.

use libtest_mimic::Failed;
use mmiodrv_lab::Lab;

use crate::common::vm::{check, driver_of, ok};

const NIC: &str = "0000:00:07.0";

pub fn mac_and_link_match_the_kernel(lab: &mut Lab) -> Result<(), Failed> {
    check(driver_of(lab, NIC)? == "e1000", "the NIC starts under e1000")?;
    let iface = ok(lab, &format!("ls /sys/bus/pci/devices/{NIC}/net"))?.trim().to_string();
    let kernel_mac = ok(lab, &format!("cat /sys/class/net/{iface}/address"))?.trim().to_string();
    let ip = ok(lab, &format!("ip link show {iface}"))?;
    check(ip.contains(&kernel_mac), format!("ip link shows {kernel_mac}: {ip}"))?;
    // Under the kernel driver the sysfs backend refuses; the README's fix works.
    let refused = crate::common::vm::sh(lab, &format!("mmiodrv --device {NIC} e1000 mac"))?;
    check(
        refused.status == 6 && refused.stderr_str().contains("bound to kernel driver 'e1000'"),
        refused.stderr_str(),
    )?;
    ok(lab, &format!("mmiodrv --device {NIC} unbind"))?;
    let result = (|| {
        let out = ok(lab, &format!("mmiodrv --device {NIC} e1000 mac"))?;
        check(out.contains(&format!("MAC {kernel_mac} (receive address 0; the EEPROM agrees)")), out)?;
        let json = ok(lab, &format!("mmiodrv --device {NIC} e1000 mac --json"))?;
        let schema = crate::common::schema::validator();
        crate::common::schema::check_lines(&schema, "e1000 mac --json", &json)?;
        let v: serde_json::Value = serde_json::from_str(&json).map_err(|e| e.to_string())?;
        check(v["mac"] == kernel_mac.as_str() && v["eeprom"] == kernel_mac.as_str(), v.to_string())?;
        let eeprom = ok(lab, &format!("mmiodrv --device {NIC} e1000 mac --eeprom"))?;
        check(eeprom.contains(&kernel_mac), eeprom)?;
        let json = ok(lab, &format!("mmiodrv --device {NIC} e1000 mac --eeprom --json"))?;
        crate::common::schema::check_lines(&schema, "e1000 mac --eeprom --json", &json)?;
        let link = ok(lab, &format!("mmiodrv --device {NIC} e1000 link --json"))?;
        crate::common::schema::check_lines(&schema, "e1000 link --json", &link)?;
        let v: serde_json::Value = serde_json::from_str(&link).map_err(|e| e.to_string())?;
        let up = ok(lab, &format!("mmiodrv --device {NIC} read STATUS.LU --quiet"))?;
        check((v["link"]["up"] == true) == (up.trim() == "0x1"), format!("{link} vs STATUS.LU {up}"))?;
        // ICR clears on read: dump-regs leaves it alone unless --all.
        let dump = ok(lab, &format!("mmiodrv --device {NIC} dump-regs"))?;
        let icr = dump.lines().find(|l| l.contains(" ICR ")).unwrap_or("");
        check(icr.ends_with("(not read: read has side effects; --all reads it)"), dump.clone())?;
        // The I/O-port BAR (IOADDR/IODATA) through the sysfs backend: pread/pwrite
        // of resource1, one inl/outl each. QEMU 7.2's e1000 implements that BAR as
        // a stub (e1000_io_read returns 0, e1000_io_write ignores), so what this
        // shows is the path: accesses of each width succeed and read 0.
        let info = ok(lab, &format!("mmiodrv --device {NIC} info"))?;
        check(info.contains("Region 1: I/O ports at"), info.clone())?;
        ok(lab, &format!("mmiodrv --device {NIC} write 0x0 0x8 --bar 1"))?;
        let reads: Vec<String> = ["32", "16", "8"]
            .iter()
            .map(|w| ok(lab, &format!("mmiodrv --device {NIC} read 0x4 --bar 1 --width {w} --quiet")))
            .collect::<Result<_, _>>()?;
        check(reads == ["0x00000000\n", "0x0000\n", "0x00\n"], format!("{reads:?}"))?;
        let wide = crate::common::vm::sh(lab, &format!("mmiodrv --device {NIC} read 0x0 --bar 1 --width 64"))?;
        check(wide.status == 6 && wide.stderr_str().contains("takes no 64-bit accesses"), wide.stderr_str())
    })();
    ok(lab, &format!("mmiodrv --device {NIC} bind --restore"))?;
    check(driver_of(lab, NIC)? == "e1000", "the kernel driver is back")?;
    result
}

pub fn writing_a_driver_runs_as_written(lab: &mut Lab) -> Result<(), Failed> {
    crate::labs::run_docs(lab, &[mmiodrv_lab::repo_root().join("docs/writing-a-driver.md")]).map(drop)
}
