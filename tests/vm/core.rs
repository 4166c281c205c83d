//! The core commands (issue 2) on the real devices: register maps, read/write,
//! width rules, selectors, list/info/config against lspci, ivshmem BAR2.

use libtest_mimic::Failed;
use mmiodrv_lab::Lab;

use crate::common;
use crate::common::vm::{check, fails, ok, sh};
use crate::{EDU, IVSHMEM};

pub fn edu_dump_regs_by_name(lab: &mut Lab) -> Result<(), Failed> {
    let out = ok(lab, &format!("{EDU} dump-regs"))?;
    check(out.starts_with("edu 0000:00:04.0 BAR0 (built-in edu map)"), format!("heading:\n{out}"))?;
    check(
        out.contains("0x0000  ID          0x010000ed          MAJOR=0x1 MINOR=0x0 MAGIC=0xed (edu)"),
        format!("ID line:\n{out}"),
    )?;
    check(out.contains("IRQ_RAISE   (write-only)"), format!("write-only not read:\n{out}"))?;
    // 64-bit registers print all 16 digits (one 64-bit access).
    let dma_cmd = out.lines().find(|l| l.starts_with("0x0098  DMA_CMD     0x")).unwrap_or("");
    check(dma_cmd.split_whitespace().nth(2).is_some_and(|v| v.len() == 18), format!("64-bit DMA_CMD:\n{out}"))?;
    Ok(())
}

pub fn edu_read_write_liveness(lab: &mut Lab) -> Result<(), Failed> {
    let id = ok(lab, &format!("{EDU} read 0x0 --quiet"))?;
    check(id == "0x010000ed\n", format!("ID: {id:?}"))?;
    ok(lab, &format!("{EDU} write 0x4 0xf0f0f0f0"))?;
    let back = ok(lab, &format!("{EDU} read 0x4 --quiet"))?;
    check(back == "0x0f0f0f0f\n", format!("liveness inverts: {back:?}"))?;
    // --verify on a register that does not hold the value: exit 6, both values named.
    fails(lab, &format!("{EDU} write LIVENESS 0x12345678 --verify"), 6, "wrote 0x12345678, read back 0xedcba987")?;
    let v = ok(lab, &format!("{EDU} read LIVENESS --quiet"))?;
    check(v == "0xedcba987\n", format!("{v:?}"))
}

pub fn edu_fields_and_json(lab: &mut Lab) -> Result<(), Failed> {
    let magic = ok(lab, &format!("{EDU} read ID.MAGIC --quiet"))?;
    check(magic.trim() == "0xed", format!("{magic:?}"))?;
    // Factorial through the register map: 5! = 120.
    ok(lab, &format!("{EDU} write FACTORIAL 5"))?;
    let mut fact = String::new();
    for _ in 0..50 {
        fact = ok(lab, &format!("{EDU} read FACTORIAL --quiet"))?;
        if ok(lab, &format!("{EDU} read STATUS.COMPUTING --quiet"))?.trim() == "0x0" {
            fact = ok(lab, &format!("{EDU} read FACTORIAL --quiet"))?;
            break;
        }
    }
    check(fact == "0x00000078\n", format!("5! = {fact:?}"))?;
    // Field read-modify-write on STATUS keeps the rest.
    ok(lab, &format!("{EDU} write STATUS.IRQ_FACT 1 --verify"))?;
    let s = ok(lab, &format!("{EDU} read STATUS --quiet"))?;
    check(s == "0x00000080\n", format!("{s:?}"))?;
    ok(lab, &format!("{EDU} write STATUS 0"))?;
    let json = ok(lab, &format!("{EDU} dump-regs --json"))?;
    let v: serde_json::Value = serde_json::from_str(&json).map_err(|e| format!("{e}: {json}"))?;
    check(v["registers"][0]["value"] == 0x0100_00ed, json.clone())?;
    check(v["registers"][5]["skipped"] == "write-only", json.clone())?;
    let r: serde_json::Value =
        serde_json::from_str(&ok(lab, &format!("{EDU} read ID --json"))?).map_err(|e| e.to_string())?;
    check(r["fields"][2]["name"] == "MAGIC" && r["fields"][2]["meaning"] == "edu", format!("{r}"))
}

pub fn edu_width_rules(lab: &mut Lab) -> Result<(), Failed> {
    fails(
        lab,
        &format!("{EDU} read 0x0 --width 8"),
        2,
        "edu: the device takes no 8-bit access at offset 0x0 (allowed: 32-bit)",
    )?;
    fails(lab, &format!("{EDU} write ID 1"), 2, "register ID is read-only")?;
    fails(lab, &format!("{EDU} write 0x4 0x100000000"), 2, "does not fit")?;
    fails(lab, &format!("{EDU} read 0x100000"), 2, "outside the 0x100000-byte region")?;
    // What the rule protects against (docs/labs/01-identify.md): QEMU's
    // memory core refuses a byte read of edu (its ops take 4 to 8 bytes) and
    // answers 0, so the ID's low byte 0xed never shows; a 64-bit read below
    // 0x80 reaches edu_mmio_read, which answers all ones.
    let raw = ok(lab, &format!("{EDU} read 0x0 --width 8 --force --quiet"))?;
    check(raw == "0x00\n", format!("byte read of edu: {raw:?}"))?;
    let raw = ok(lab, &format!("{EDU} read 0x0 --width 64 --force --quiet"))?;
    check(raw == "0xffffffffffffffff\n", format!("64-bit read of edu's ID: {raw:?}"))?;
    // 64-bit accesses are allowed from 0x80 up.
    ok(lab, &format!("{EDU} write 0x80 0x1122334455667788 --width 64"))?;
    let v = ok(lab, &format!("{EDU} read DMA_SRC --quiet"))?;
    check(v == "0x1122334455667788\n", format!("{v:?}"))?;
    ok(lab, &format!("{EDU} write DMA_SRC 0"))?;
    Ok(())
}

pub fn selectors_and_list(lab: &mut Lab) -> Result<(), Failed> {
    for sel in ["0000:00:04.0", "00:04.0", "1234:11e8"] {
        let v = ok(lab, &format!("mmiodrv --device {sel} read ID --quiet"))?;
        check(v == "0x010000ed\n", format!("{sel}: {v:?}"))?;
    }
    fails(lab, "mmiodrv --device 00:04 read ID", 2, "expected DDDD:BB:DD.F, BB:DD.F or VVVV:DDDD")?;
    fails(lab, "mmiodrv --device 00:1c.0 read ID", 3, "no PCI device matches")?;
    let list = ok(lab, "mmiodrv list")?;
    let edu = list.lines().find(|l| l.starts_with("0000:00:04.0")).ok_or(format!("no edu in\n{list}"))?;
    check(edu.contains("1234:11e8") && edu.ends_with("edu"), edu.to_string())?;
    let iv = list.lines().find(|l| l.starts_with("0000:00:05.0")).ok_or(format!("no ivshmem in\n{list}"))?;
    check(
        iv.contains("Red Hat, Inc. Inter-VM shared memory") && iv.contains("RAM memory") && iv.ends_with("ivshmem"),
        iv.to_string(),
    )?;
    let json: serde_json::Value = serde_json::from_str(&ok(lab, "mmiodrv list --json")?).map_err(|e| e.to_string())?;
    let n = json["devices"].as_array().map(|a| a.len()).unwrap_or(0);
    let sysfs = ok(lab, "ls /sys/bus/pci/devices | wc -l")?;
    check(sysfs.trim() == n.to_string(), format!("list has {n} devices, sysfs {sysfs}"))
}

pub fn info_agrees_with_lspci(lab: &mut Lab) -> Result<(), Failed> {
    for dev in ["00:04.0", "00:05.0", "00:07.0", "00:08.0", "00:00.0", "00:1f.0", "00:1f.2"] {
        let info = ok(lab, &format!("mmiodrv --device {dev} info"))?;
        let lspci = ok(lab, &format!("lspci -vvv -s {dev}"))?;
        let problems = common::lspci::line_for_line(&info, &lspci);
        check(
            problems.is_empty(),
            format!("{dev}:\n{}\n--- mmiodrv\n{info}\n--- lspci\n{lspci}", problems.join("\n")),
        )?;
    }
    let info = ok(lab, &format!("{EDU} info"))?;
    check(info.contains("Region 0: Memory at") && info.contains("(32-bit, non-prefetchable) [size=1M]"), info.clone())?;
    check(info.contains("Capabilities: [40] MSI: Enable- Count=1/1 Maskable- 64bit+"), info.clone())?;
    let json: serde_json::Value =
        serde_json::from_str(&ok(lab, &format!("{EDU} info --json"))?).map_err(|e| e.to_string())?;
    check(json["mmiodrv_driver"] == "edu", json.to_string())?;
    let iv = ok(lab, &format!("{IVSHMEM} info"))?;
    check(iv.contains("Region 2: Memory at") && iv.contains("(64-bit, prefetchable) [size=1M]"), iv)
}

/// `config` is line for line what `lspci -xxx` (256 bytes) or `lspci -xxxx`
/// (4096 bytes) prints, so `diff` works, and `lspci -F` reads it back: on
/// every guest device, with as much config space as each has.
pub fn config_matches_lspci_xxx(lab: &mut Lab) -> Result<(), Failed> {
    config_matches_lspci(lab).map(drop)
}

/// The check behind [`config_matches_lspci_xxx`]; returns how many devices had
/// 4096 bytes of config space (the PCIe suite requires some).
pub fn config_matches_lspci(lab: &mut Lab) -> Result<usize, Failed> {
    let devices = ok(lab, "ls /sys/bus/pci/devices")?;
    let mut extended = 0;
    for dev in devices.split_whitespace() {
        let size: u64 = ok(lab, &format!("stat -c %s /sys/bus/pci/devices/{dev}/config"))?.trim().parse().unwrap_or(0);
        let flag = if size >= 4096 { "-xxxx" } else { "-xxx" };
        extended += usize::from(size >= 4096);
        let ours = ok(lab, &format!("mmiodrv --device {dev} config | tee /tmp/config.dump"))?;
        let theirs = ok(lab, &format!("lspci {flag} -s {dev}"))?;
        // Line for line, the title included, so `diff` against lspci shows nothing.
        check(ours == theirs, format!("{dev}:\n{ours}\nvs lspci {flag}:\n{theirs}"))?;
        // lspci -F reads our output exactly as it reads its own dump.
        ok(lab, &format!("lspci {flag} -s {dev} > /tmp/lspci.dump"))?;
        let from_ours = ok(lab, "lspci -F /tmp/config.dump -vvv 2>/dev/null")?;
        let from_theirs = ok(lab, "lspci -F /tmp/lspci.dump -vvv 2>/dev/null")?;
        check(from_ours.lines().count() > 3, format!("{dev}: lspci -F decoded nothing:\n{from_ours}"))?;
        check(
            from_ours == from_theirs,
            format!("{dev}: lspci -F of our dump:\n{from_ours}\nof its own:\n{from_theirs}"),
        )?;
    }
    Ok(extended)
}

pub fn ivshmem_registers_and_bar2(lab: &mut Lab) -> Result<(), Failed> {
    let out = ok(lab, &format!("{IVSHMEM} dump-regs"))?;
    check(out.contains("INTR_STATUS  (not read: read has side effects; --all reads it)"), out.clone())?;
    check(out.contains("DOORBELL     (write-only)"), out.clone())?;
    let json: serde_json::Value =
        serde_json::from_str(&ok(lab, &format!("{IVSHMEM} dump-regs --json"))?).map_err(|e| e.to_string())?;
    check(json["registers"][1]["value"].is_null(), json.to_string())?;
    // BAR2 (no map): raw 32- and 64-bit accesses, hexdump.
    ok(lab, &format!("{IVSHMEM} write 0x10 0xcafef00d --bar 2"))?;
    ok(lab, &format!("{IVSHMEM} write 0x18 0x0123456789abcdef --bar 2 --width 64"))?;
    let dump = ok(lab, &format!("{IVSHMEM} dump-regs --bar 2 --len 32"))?;
    check(dump.contains("00000010: cafef00d 00000000 89abcdef 01234567"), dump)?;
    Ok(())
}

pub fn ivshmem_host_sees_guest(lab: &mut Lab) -> Result<(), Failed> {
    use std::os::unix::fs::FileExt;
    let shm = std::fs::OpenOptions::new().read(true).write(true).open(lab.shm_path()).map_err(|e| e.to_string())?;
    ok(lab, &format!("{IVSHMEM} write 0x1000 0x5a5aa5a5 --bar 2"))?;
    let mut b = [0u8; 4];
    shm.read_exact_at(&mut b, 0x1000).map_err(|e| e.to_string())?;
    check(u32::from_le_bytes(b) == 0x5a5a_a5a5, format!("host file has {:#x}", u32::from_le_bytes(b)))?;
    shm.write_all_at(&0x600d_f00du32.to_le_bytes(), 0x2000).map_err(|e| e.to_string())?;
    let v = ok(lab, &format!("{IVSHMEM} read 0x2000 --bar 2 --quiet"))?;
    check(v == "0x600df00d\n", format!("guest reads {v:?}"))
}

pub fn decoding_disabled_is_reported(lab: &mut Lab) -> Result<(), Failed> {
    ok(lab, "setpci -s 00:04.0 COMMAND=0x0:0x2")?;
    let r = fails(lab, &format!("{EDU} read ID"), 6, "memory space decoding is disabled");
    let forced = sh(lab, &format!("{EDU} read ID --force --quiet"));
    ok(lab, "setpci -s 00:04.0 COMMAND=0x2:0x2")?;
    r?;
    let forced = forced?;
    check(
        forced.status == 0 && forced.stdout_str() != "0x010000ed\n",
        format!("with decoding off the read cannot reach edu: {:?}", forced.stdout_str()),
    )?;
    let v = ok(lab, &format!("{EDU} read ID --quiet"))?;
    check(v == "0x010000ed\n", v)
}
