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

/// Start `cmd` in the guest in the background; its exit status goes to
/// /tmp/held.status and its stderr to /tmp/held.err.
fn hold(lab: &mut Lab, cmd: &str) -> Result<(), Failed> {
    common::vm::ok(lab, &format!("rm -f /tmp/held.status; (sh -c '{cmd}' >/tmp/held.out 2>/tmp/held.err; echo $? > /tmp/held.status) >/dev/null 2>&1 &"))?;
    common::vm::ok(lab, "sleep 1").map(drop)
}

/// The held command's exit status and stderr, once it has ended (5 s at most).
fn held_result(lab: &mut Lab) -> Result<(String, String), Failed> {
    common::vm::ok(
        lab,
        "for i in $(seq 50); do test -s /tmp/held.status && break; sleep 0.1; done; test -s /tmp/held.status",
    )?;
    Ok((common::vm::ok(lab, "cat /tmp/held.status")?.trim().to_string(), common::vm::ok(lab, "cat /tmp/held.err")?))
}

fn plug_edu_back(lab: &mut Lab) -> Result<(), Failed> {
    lab.device_add(mmiodrv_lab::hotplug_edu_device()).map_err(|e| e.to_string())?;
    let dir = format!("/sys/bus/pci/devices/{}", mmiodrv_lab::HOTPLUG_EDU_BDF);
    common::vm::ok(
        lab,
        &format!("for i in $(seq 50); do test -e {dir}/config && break; sleep 0.1; done; test -e {dir}/config"),
    )
    .map(drop)
}

/// QMP device_del of the edu behind the root port while mmiodrv holds it:
/// through VFIO, the kernel's request is honoured and the unplug completes
/// at once (exit 9); through a sysfs mapping, the next read finds the device
/// gone instead of printing all-ones (exit 9). No panic either way.
fn hot_unplug_of_a_held_device(lab: &mut Lab) -> Result<(), Failed> {
    let dev = mmiodrv_lab::HOTPLUG_EDU_BDF;
    common::vm::ok(lab, &format!("mmiodrv --device {dev} bind vfio-pci"))?;
    hold(lab, &format!("mmiodrv --device {dev} wait-irq --timeout 30000"))?;
    let start = std::time::Instant::now();
    lab.device_del(mmiodrv_lab::HOTPLUG_EDU_ID).map_err(|e| e.to_string())?;
    let took = start.elapsed();
    let (status, err) = held_result(lab)?;
    let want = format!("mmiodrv: error: {dev}: the kernel asked for the device back: it is being removed or unbound\n");
    check(status == "9" && err == want, format!("VFIO holder: exit {status}: {err}"))?;
    check(took.as_secs_f64() < 2.0, format!("device_del took {took:?}"))?;
    eprintln!("hot-unplug of a device held through VFIO: DEVICE_DELETED after {took:?}");

    plug_edu_back(lab)?;
    // A hot-plugged function has memory decoding off until a driver enables it.
    common::vm::ok(lab, &format!("setpci -s {dev} COMMAND=0x2:0x2"))?;
    common::vm::ok(lab, "printf 'read ID -q\\nsleep 2000\\nread ID -q\\n' > /tmp/unplug.txt")?;
    hold(lab, &format!("mmiodrv --device {dev} batch /tmp/unplug.txt"))?;
    lab.device_del(mmiodrv_lab::HOTPLUG_EDU_ID).map_err(|e| e.to_string())?;
    let (status, err) = held_result(lab)?;
    check(
        status == "9"
            && err.starts_with(&format!(
                "mmiodrv: error: /tmp/unplug.txt:2: {dev}: the device is gone (removed while the run waited"
            )),
        format!("sysfs holder: exit {status}: {err}{}", common::vm::ok(lab, "cat /tmp/held.out")?),
    )?;
    plug_edu_back(lab)
}

/// `list -t` draws the tree exactly as `lspci -t` does (the NVMe and the
/// second edu behind their root ports), with names as `-tv`, numbers as
/// `-tvnn`, filtered as `-t -s`/`-d`.
fn list_tree_shows_devices_behind_bridges(lab: &mut Lab) -> Result<(), Failed> {
    for (ours, theirs) in [
        ("list -t", "-t"),
        ("list -tv", "-tv"),
        ("list -tvnn", "-tvnn"),
        ("-s 02: list -t", "-t -s 02:"),
        ("-d 1234: list -tv", "-tv -d 1234:"),
    ] {
        let (a, b) = (ok(lab, &format!("mmiodrv {ours}"))?, ok(lab, &format!("lspci {theirs}"))?);
        check(a == b, format!("mmiodrv {ours}:\n{a}\nlspci {theirs}:\n{b}"))?;
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

/// Every register the setpci table writes, per device: reset before each
/// run to what it read at the start.
const WRITTEN: &[(&str, &[&str])] = &[
    ("00:04.0", &["0d.b", "0c.b", "04.w", "CAP_MSI+4.l", "CAP_MSI+c.w", "3c.b"]),
    ("01:00.0", &["0d.b", "3c.b"]),
    ("02:00.0", &["CAP_MSIX+2.w", "0d.b", "0c.b"]),
    ("00:0b.0", &["0d.b"]),
];

/// setpci's table (tests/setpci/table.txt): each line run by setpci and by
/// `mmiodrv setpci` from the same state; the same stdout, stderr and exit
/// status. The guest runs the table as one script and sends back only the
/// lines that differ. mmiodrv runs with `--force`: the NVMe is bound to
/// nvme, and mmiodrv (unlike setpci) refuses to write config space of a
/// kernel-bound device without it.
fn setpci_table_against_setpci(lab: &mut Lab) -> Result<(), Failed> {
    let table = include_str!("setpci/table.txt");
    let rows: Vec<&str> = table.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    check(rows.len() >= 50, format!("only {} operations in the table", rows.len()))?;
    let mut reset = String::new();
    for (dev, regs) in WRITTEN {
        let values = ok(lab, &format!("setpci -s {dev} {}", regs.join(" ")))?;
        let writes: Vec<String> = regs.iter().zip(values.lines()).map(|(r, v)| format!("{r}={}", v.trim())).collect();
        check(writes.len() == regs.len(), format!("{dev}: {values}"))?;
        reset.push_str(&format!("setpci -s {dev} {}; ", writes.join(" ")));
    }
    let mut script = format!(
        "reset() {{ {reset}}}\nn=0; bad=0\n\
         row() {{\n\
           reset; setpci \"$@\" >/tmp/a.out 2>/tmp/a.err; echo $? >/tmp/a.rc\n\
           reset; mmiodrv --force setpci \"$@\" >/tmp/b.out 2>/tmp/b.err; echo $? >/tmp/b.rc\n\
           n=$((n+1))\n\
           if ! cmp -s /tmp/a.out /tmp/b.out || ! cmp -s /tmp/a.err /tmp/b.err || ! cmp -s /tmp/a.rc /tmp/b.rc; then\n\
             bad=$((bad+1)); echo \"DIFFERS: setpci $*\"\n\
             for f in out err rc; do echo \"  setpci $f:\"; sed 's/^/    /' /tmp/a.$f; echo \"  mmiodrv $f:\"; sed 's/^/    /' /tmp/b.$f; done\n\
           fi\n\
         }}\n"
    );
    for row in &rows {
        script.push_str(&format!("row {row}\n"));
    }
    script.push_str("reset\necho \"RAN $n DIFFER $bad\"\n");
    lab.put_file("/tmp/setpci-table.sh", script.as_bytes()).map_err(|e| e.to_string())?;
    let run = lab
        .run_with_timeout("sh /tmp/setpci-table.sh", std::time::Duration::from_secs(900))
        .map_err(|e| e.to_string())?;
    let out = run.stdout_str();
    check(run.status == 0, format!("the table's script exited {}: {}", run.status, run.stderr_str()))?;
    eprintln!("setpci table: {}", out.lines().last().unwrap_or(""));
    let summary = out.lines().last().unwrap_or("").to_string();
    check(summary == format!("RAN {} DIFFER 0", rows.len()), out)
}

/// The whole machine as lspci prints it: `info` (all devices), with -v/-vv,
/// -k, -nn, -x; `config` as `lspci -xxxx`; the figures of identical
/// capability blocks and lines.
fn whole_machine_as_lspci(lab: &mut Lab) -> Result<(), Failed> {
    for (ours, theirs) in [
        ("info", "-vvv"),
        ("info -v", "-v"),
        ("info -vv", "-vv"),
        ("info -v -k -nn", "-vknn"),
        ("info -x", "-vvvx"),
        ("info -vv -xxx", "-vvxxx"),
        ("config", "-xxxx"),
        ("-d 1af4: info -v", "-v -d 1af4:"),
        ("-s 0a.0 info -D", "-vvv -D -s 0a.0"),
    ] {
        let (a, b) = (ok(lab, &format!("mmiodrv {ours}"))?, ok(lab, &format!("lspci {theirs} 2>/dev/null"))?);
        let (lines, of, blocks, all) = common::lspci::figures(&a, &b);
        eprintln!("mmiodrv {ours} = lspci {theirs}: {lines}/{of} lines, {blocks}/{all} capability blocks identical");
        let problems = common::lspci::line_for_line(&a, &b);
        check(problems.is_empty(), format!("mmiodrv {ours} / lspci {theirs}:\n{}", problems.join("\n")))?;
    }
    Ok(())
}

/// The in-use refusals of real setups (issue 23) on QEMU's devices: the
/// NVMe namespace sits behind native multipath (under the nvme-subsystem
/// device, not the PCI function): swap on it, and the disk opened raw by a
/// process, refuse unbinding the controller; the virtio GPU carries the
/// framebuffer console, and a process holding its DRM node open refuses it
/// too. Each refusal names the reason (exit 6); nothing is unbound; once the
/// use ends, the unbind goes through (and the driver is put back).
fn in_use_refusals_of_real_setups(lab: &mut Lab) -> Result<(), Failed> {
    let nvme = mmiodrv_lab::NVME_BDF;
    let layout = ok(lab, "ls /sys/class/nvme-subsystem/*/ && ls /sys/bus/pci/devices/0000:02:00.0/nvme/nvme0/")?;
    check(layout.contains("nvme0n1") && layout.contains("nvme0c0n1"), format!("no multipath layout:\n{layout}"))?;
    ok(lab, "mkswap /dev/nvme0n1 >/dev/null && swapon /dev/nvme0n1")?;
    let refused =
        common::vm::fails(lab, &format!("mmiodrv -s {nvme} unbind"), 6, "block device nvme0n1 is in use as swap");
    ok(lab, "swapoff /dev/nvme0n1")?;
    refused?;
    check(common::vm::driver_of(lab, nvme)? == "nvme", "the NVMe is still bound to nvme")?;
    ok(lab, "sleep 30 < /dev/nvme0n1 >/dev/null 2>&1 & echo $! > /tmp/holder.pid")?;
    let refused = common::vm::fails(lab, &format!("mmiodrv -s {nvme} unbind"), 6, "/dev/nvme0n1 is open in process");
    ok(lab, "kill $(cat /tmp/holder.pid); true")?;
    refused?;

    let gpu = mmiodrv_lab::VIRTIO_GPU_BDF;
    let fb = ok(lab, "cat /sys/class/graphics/fb0/name; grep -l 1 /sys/class/vtconsole/*/bind | xargs -n1 dirname | xargs -I{} cat {}/name")?;
    check(fb.contains("frame buffer"), format!("no framebuffer console on the GPU:\n{fb}"))?;
    common::vm::fails(lab, &format!("mmiodrv -s {gpu} unbind"), 6, "the framebuffer console on fb0 is on it")?;
    ok(lab, "for v in /sys/class/vtconsole/*; do grep -q 'frame buffer' $v/name && echo 0 > $v/bind; done; true")?;
    ok(lab, "sleep 30 < /dev/dri/card0 >/dev/null 2>&1 & echo $! > /tmp/holder.pid")?;
    let refused = common::vm::fails(lab, &format!("mmiodrv -s {gpu} unbind"), 6, "/dev/dri/card0 is open in process");
    ok(lab, "kill $(cat /tmp/holder.pid); true")?;
    refused?;
    check(common::vm::driver_of(lab, gpu)? == "virtio-pci", "the GPU is still bound")?;
    // Nothing in use any more: the unbind goes through, and bind --restore puts it back.
    ok(lab, &format!("mmiodrv -s {nvme} unbind && mmiodrv -s {nvme} bind --restore"))?;
    check(common::vm::driver_of(lab, nvme)? == "nvme", "the NVMe is back with nvme")
}

fn main() -> ExitCode {
    let tests: &[(&'static str, TestFn)] = &[
        ("pcie::config_of_pcie_devices_matches_lspci", config_of_pcie_devices_matches_lspci),
        ("pcie::hot_unplug_of_a_held_device", hot_unplug_of_a_held_device),
        ("pcie::info_line_for_line_on_every_device", ecosystem::info_line_for_line_on_every_device),
        ("pcie::list_tree_shows_devices_behind_bridges", list_tree_shows_devices_behind_bridges),
        ("pcie::extended_capability_targets_against_setpci", extended_capability_targets_against_setpci),
        ("pcie::whole_machine_as_lspci", whole_machine_as_lspci),
        ("pcie::setpci_table_against_setpci", setpci_table_against_setpci),
        ("pcie::in_use_refusals_of_real_setups", in_use_refusals_of_real_setups),
    ];
    run_suite("vm_pcie", tests, |cfg| cfg.more_devices = true)
}
