//! Issue 15 on the lab's real devices: pciutils-style selection, `config
//! read|write` against setpci's reading of the same registers (sysfs and
//! VFIO), `info` against `lspci -vvv` line for line on every device, every
//! command's `--json` against docs/json-schema.json, and `doctor`.

use libtest_mimic::Failed;
use mmiodrv_lab::Lab;

use crate::common::schema::{check_lines, ops, validator};
use crate::common::vm::{check, driver_of, fails, ok};

/// `setpci -s DEV REG` as a number.
fn setpci(lab: &mut Lab, dev: &str, reg: &str) -> Result<u64, Failed> {
    let out = ok(lab, &format!("setpci -s {dev} {reg}"))?;
    u64::from_str_radix(out.trim(), 16).map_err(|e| format!("setpci {reg}: {out:?}: {e}").into())
}

/// `mmiodrv ... config read TARGET --quiet` as a number.
fn ours(lab: &mut Lab, sel: &str, target: &str) -> Result<u64, Failed> {
    let out = ok(lab, &format!("mmiodrv {sel} config read {target} --quiet"))?;
    u64::from_str_radix(out.trim().trim_start_matches("0x"), 16).map_err(|e| format!("{target}: {out:?}: {e}").into())
}

/// -s and -d select as lspci's do, and filter `list`.
pub fn selection_as_lspci(lab: &mut Lab) -> Result<(), Failed> {
    for (args, want) in [
        ("-s 00:04.0 read ID --quiet", "0x010000ed\n"),
        ("-s 04.0 read ID --quiet", "0x010000ed\n"),
        ("-d 1234:11e8 read ID --quiet", "0x010000ed\n"),
        ("-d 1234: -s 00: read ID.MAGIC --quiet", "0xed\n"),
    ] {
        let got = ok(lab, &format!("mmiodrv {args}"))?;
        check(got == want, format!("mmiodrv {args}: {got:?}"))?;
    }
    let list = ok(lab, "mmiodrv -d 1af4: list")?;
    let rows: Vec<&str> = list.lines().skip(1).filter_map(|l| l.split_whitespace().next()).collect();
    check(rows == ["0000:00:05.0", "0000:00:08.0"], format!("-d 1af4: list:\n{list}"))?;
    let lspci = ok(lab, "lspci -d 1af4: | cut -d' ' -f1")?;
    check(lspci == "00:05.0\n00:08.0\n", format!("lspci -d 1af4: {lspci}"))?;
    let nic = ok(lab, "mmiodrv -d ::0200 list -nn")?;
    check(nic.contains("Ethernet controller [0200]") && nic.contains("[8086:100e]"), nic.clone())?;
    fails(lab, "mmiodrv -d 8086: read 0x0", 2, "matches")?;
    fails(lab, "mmiodrv -s 1e.0 read 0x0", 3, "no PCI device matches")?;
    // info and config take every device selected, as lspci.
    let (a, b) = (ok(lab, "mmiodrv -d 8086: info")?, ok(lab, "lspci -vvv -d 8086: 2>/dev/null")?);
    check(a == b, format!("mmiodrv -d 8086: info:\n{a}\nlspci:\n{b}"))?;
    check(ok(lab, "mmiodrv -s 1e.0 info")?.is_empty(), "a selection of nothing prints nothing")?;
    Ok(())
}

/// `config read|write` agree with setpci on the same registers, through
/// sysfs and through VFIO's config region; kernel-bound devices are refused.
pub fn config_against_setpci(lab: &mut Lab) -> Result<(), Failed> {
    let edu = "-s 00:04.0";
    for (target, setpci_reg) in [
        ("COMMAND", "COMMAND"),
        ("VENDOR_ID", "VENDOR_ID"),
        ("CAP_MSI+2.w", "CAP_MSI+2.w"),
        ("0x2c.l", "2c.l"),
        ("INTERRUPT_LINE", "INTERRUPT_LINE"),
    ] {
        let (a, b) = (ours(lab, edu, target)?, setpci(lab, "00:04.0", setpci_reg)?);
        check(a == b, format!("{target}: mmiodrv {a:#x}, setpci {b:#x}"))?;
    }
    // Written by mmiodrv (sysfs), read by setpci; and the other way round.
    let line0 = setpci(lab, "00:04.0", "INTERRUPT_LINE")?;
    ok(lab, &format!("mmiodrv {edu} config write INTERRUPT_LINE 0x5a"))?;
    check(setpci(lab, "00:04.0", "INTERRUPT_LINE")? == 0x5a, "INTERRUPT_LINE written by mmiodrv")?;
    ok(lab, "setpci -s 00:04.0 INTERRUPT_LINE=a5")?;
    check(ours(lab, edu, "INTERRUPT_LINE")? == 0xa5, "INTERRUPT_LINE written by setpci")?;
    ok(lab, &format!("setpci -s 00:04.0 INTERRUPT_LINE={line0:02x}"))?;
    let data = "CAP_MSI+c.w";
    ok(lab, &format!("mmiodrv {edu} config write {data} 0x1234"))?;
    check(setpci(lab, "00:04.0", data)? == 0x1234, "MSI data written by mmiodrv")?;
    ok(lab, &format!("mmiodrv {edu} config write {data} 0"))?;
    // A field: bus mastering, only its bit, as setpci's COMMAND=4:4 would.
    let cmd = setpci(lab, "00:04.0", "COMMAND")?;
    let dry = ok(lab, &format!("mmiodrv {edu} config write COMMAND.BUS_MASTER 1 --dry-run"))?;
    check(dry.contains("(dry run: nothing written)"), dry)?;
    check(setpci(lab, "00:04.0", "COMMAND")? == cmd, "a dry run wrote COMMAND")?;
    ok(lab, &format!("mmiodrv {edu} config write COMMAND 0x4:0x4"))?;
    check(setpci(lab, "00:04.0", "COMMAND")? == cmd | 4, "COMMAND 0x4:0x4")?;
    ok(lab, &format!("mmiodrv {edu} config write COMMAND.BUS_MASTER {}", (cmd >> 2) & 1))?;
    check(setpci(lab, "00:04.0", "COMMAND")? == cmd, "COMMAND restored")?;
    // Through VFIO's config region. vfio-pci restores config space when the
    // device is released (at the end of each command), so a write is seen
    // in the command's own report (old -> new), not by a later setpci.
    ok(lab, &format!("mmiodrv {edu} bind vfio-pci"))?;
    let r = (|| -> Result<(), Failed> {
        for target in ["VENDOR_ID", "DEVICE_ID", "INTERRUPT_PIN", "0x2c.l"] {
            let (a, b) = (
                ours(lab, &format!("{edu} --backend vfio"), target)?,
                setpci(lab, "00:04.0", target.trim_start_matches("0x"))?,
            );
            check(a == b, format!("{target} through VFIO: {a:#x}, setpci {b:#x}"))?;
        }
        let cmd = setpci(lab, "00:04.0", "COMMAND")?;
        let w = ok(lab, &format!("mmiodrv {edu} --json config write COMMAND.BUS_MASTER 1"))?;
        let v: serde_json::Value = serde_json::from_str(&w).map_err(|e| format!("{e}: {w}"))?;
        check(v["new"].as_u64() == v["old"].as_u64().map(|o| o | 4) && v["dry_run"] == false, w.clone())?;
        check(setpci(lab, "00:04.0", "COMMAND")? == cmd, "vfio-pci did not restore COMMAND on release")
    })();
    ok(lab, &format!("mmiodrv {edu} bind --restore"))?;
    r?;
    // The e1000 belongs to its kernel driver: refused, nothing written.
    check(driver_of(lab, "0000:00:07.0")? == "e1000", "e1000 is not bound to e1000")?;
    let before = setpci(lab, "00:07.0", "LATENCY_TIMER")?;
    fails(lab, "mmiodrv -s 00:07.0 config write LATENCY_TIMER 0x20", 6, "bound to kernel driver 'e1000'")?;
    ok(lab, "mmiodrv -s 00:07.0 config write LATENCY_TIMER 0x20 --dry-run")?;
    check(setpci(lab, "00:07.0", "LATENCY_TIMER")? == before, "a refused write changed LATENCY_TIMER")?;
    fails(lab, &format!("mmiodrv {edu} config write COMMAND 0x10000"), 2, "does not fit")?;
    Ok(())
}

/// `info` is `lspci -vvv` line for line (see tests/common/lspci.rs for the
/// lines each prints alone), on every device of the guest.
pub fn info_line_for_line_on_every_device(lab: &mut Lab) -> Result<(), Failed> {
    let devices = ok(lab, "ls /sys/bus/pci/devices")?;
    let mut n = 0;
    for dev in devices.split_whitespace() {
        let info = ok(lab, &format!("mmiodrv --device {dev} info"))?;
        let lspci = ok(lab, &format!("lspci -vvv -s {dev}"))?;
        let problems = crate::common::lspci::line_for_line(&info, &lspci);
        check(
            problems.is_empty(),
            format!("{dev}:\n{}\n--- mmiodrv\n{info}\n--- lspci\n{lspci}", problems.join("\n")),
        )?;
        n += 1;
    }
    check(n >= 8, format!("only {n} devices"))
}

/// Every command's --json on the real devices matches docs/json-schema.json.
pub fn json_matches_the_schema(lab: &mut Lab) -> Result<(), Failed> {
    let v = validator();
    let edu = "mmiodrv -s 00:04.0 --json";
    let mut commands = vec![
        "mmiodrv list --json".to_string(),
        "mmiodrv -s 00:07.0 info --json".into(),
        format!("{edu} info"),
        format!("{edu} config"),
        format!("{edu} config read CAP_MSI+2.w"),
        format!("{edu} config write LATENCY_TIMER 0 --dry-run"),
        format!("{edu} doctor"),
        format!("{edu} read ID"),
        format!("{edu} write LIVENESS 0x1"),
        format!("{edu} dump-regs"),
        format!("{edu} edu id"),
        format!("{edu} edu liveness"),
        format!("{edu} edu factorial 5"),
        format!("{edu} edu status"),
        "mmiodrv -s 00:05.0 --json ivshmem info".into(),
        "mmiodrv -s 00:05.0 --json dump-regs --bar 2 --len 16".into(),
        format!("{edu} bind vfio-pci"),
        format!("{edu} edu irq raise 0x1 --wait --timeout 3000"),
        format!("{edu} write IRQ_RAISE 0x2 --wait-irq --timeout 3000"),
        format!("{edu} edu irq ack 0x2"),
        format!("{edu} edu factorial 6 --irq"),
        format!("printf 'hello' > /tmp/json-dma.txt && {edu} edu dma to-device /tmp/json-dma.txt --offset 0x10"),
        format!("{edu} edu dma from-device --len 5 --offset 0x10"),
        format!("{edu} edu dma from-device --len 5 --offset 0x10 --out /tmp/json-dma.out"),
        // A line of several results (a write that waits for its interrupt),
        // interrupts armed and waited for, DMA buffers and the mappings.
        format!(
            "printf '{}' | {edu} batch -",
            [
                "arm --index msi",
                "write IRQ_RAISE 0x8 --wait-irq --timeout 3000",
                "write IRQ_ACK 0x8",
                "write IRQ_RAISE 0x10",
                "wait-irq --timeout 3000",
                "write IRQ_ACK 0x10",
                "dma alloc 4K --mask-bits 28",
                "dma write 0 --hex 0102",
                "dma read 0 2",
                "maps",
                "",
            ]
            .join("\\n")
        ),
        format!("{edu} bind --restore"),
    ];
    commands.push(format!("printf 'read ID\\nwrite LIVENESS 1\\nread NOPE\\n' | {edu} batch - ; true"));
    let mut n = 0;
    let mut seen = Vec::new();
    for cmd in &commands {
        let out = ok(lab, cmd)?;
        n += check_lines(&v, cmd, &out)?;
        seen.extend(ops(&out));
    }
    check(n >= commands.len(), format!("{n} objects from {} commands", commands.len()))?;
    let want = ["bind", "arm", "wait-irq", "results", "dma alloc", "dma write", "dma read", "maps"];
    let want = want.iter().chain(&["edu dma to-device", "edu dma from-device", "edu irq raise", "error"]);
    let missing: Vec<&&str> = want.filter(|op| !seen.iter().any(|s| s == *op)).collect();
    check(missing.is_empty(), format!("no object of {missing:?} among {seen:?}"))
}

/// `doctor` in the default guest: root, an IOMMU, vfio-pci loaded; the
/// e1000 bound to its kernel driver is named with the bind that frees it.
pub fn doctor_in_a_healthy_guest(lab: &mut Lab) -> Result<(), Failed> {
    let sys = ok(lab, "mmiodrv doctor")?;
    for want in [
        "ok    user: running as root",
        "ok    iommu: ",
        "ok    modules: vfio-pci is loaded",
        "ok    vfio: /dev/vfio/vfio",
    ] {
        check(sys.contains(want), format!("{want:?} not in\n{sys}"))?;
    }
    let nic = ok(lab, "mmiodrv -s 00:07.0 doctor")?;
    check(
        nic.contains("WARN  driver: bound to kernel driver e1000")
            && nic.contains("fix: mmiodrv --device 0000:00:07.0 bind vfio-pci"),
        nic.clone(),
    )?;
    let edu = ok(lab, "mmiodrv -s 00:04.0 doctor")?;
    check(edu.contains("ok    decoding: memory decoding is on") && edu.contains("no problems found"), edu)
}
