//! udev rules and use without root (issue 7), in a lab guest running Debian's
//! systemd-udevd (`lab.udev=1`). The rules are installed from udev/ with
//! udev/install.sh inside the guest; the non-root user is the guest's `lab`
//! (uid 1000), reached with `su lab -c`. Nothing here touches the host's udev.
//!
//! The trials run in order in one guest; each sets up what it needs (install.sh is
//! idempotent), so one can also run alone (`cargo test --test vm_udev -- NAME`).

mod common;

use std::process::ExitCode;

use common::vm::{check, driver_of, fails, ok, run_suite, sh, TestFn};
use libtest_mimic::Failed;
use mmiodrv_lab::{Lab, LabConfig};

const EDU: &str = "0000:00:04.0";
const IVSHMEM: &str = "0000:00:05.0";
const UDEV_FILES: &[&str] = &["install.sh", "uninstall.sh", "70-mmiodrv.rules", "71-mmiodrv-autobind.rules"];
const INSTALL: &str = "sh /root/udev/install.sh --with-autobind --user lab";
const RULES: &str = "/etc/udev/rules.d";

fn main() -> ExitCode {
    let tests: &[(&'static str, TestFn)] = &[
        ("udev::udevd_runs_in_the_guest", udevd_runs),
        ("udev::install_is_idempotent", install_is_idempotent),
        ("udev::autobind_on_hotplug_and_node_owner", autobind_on_hotplug),
        ("udev::uio_node_owner", uio_node_owner),
        ("udev::nonroot_dump_regs_through_vfio", nonroot_dump_regs),
        ("udev::nonroot_edu_dma_round_trip", nonroot_dma_round_trip),
        ("udev::nonroot_dma_with_tiny_memlock_explains", nonroot_dma_tiny_memlock),
        ("udev::nonroot_sysfs_backend_points_to_rules", nonroot_sysfs_backend),
        ("udev::uninstall_resets_nodes", uninstall_resets_nodes),
    ];
    run_suite("vm_udev", tests, configure)
}

fn configure(cfg: &mut LabConfig) {
    cfg.extra_cmdline.push("lab.udev=1".into());
    let dir = mmiodrv_lab::repo_root().join("udev");
    for f in UDEV_FILES {
        cfg.extra_files.push((format!("/root/udev/{f}"), dir.join(f)));
    }
}

/// `CMD` run as the non-root user `lab`; with `memlock_kib`, root first sets
/// RLIMIT_MEMLOCK (soft and hard) to that many KiB, which `su` passes on.
fn as_lab(cmd: &str, memlock_kib: Option<u64>) -> String {
    let quoted = format!("'{}'", cmd.replace('\'', r"'\''"));
    match memlock_kib {
        Some(k) => format!("ulimit -l {k} && su lab -c {quoted}"),
        None => format!("su lab -c {quoted}"),
    }
}

/// Rules installed, group made, `lab` in it, edu bound to vfio-pci: the state the
/// non-root trials need. Returns edu's IOMMU group.
fn ready(lab: &mut Lab) -> Result<String, Failed> {
    ok(lab, INSTALL)?;
    let driver = format!("/sys/bus/pci/devices/{EDU}/driver");
    if ok(lab, &format!("basename $(readlink {driver}) 2>/dev/null || true"))?.trim() != "vfio-pci" {
        // What the autobind rule reacts to: the device appearing.
        ok(lab, &format!("udevadm trigger --action=add /sys/bus/pci/devices/{EDU} && udevadm settle"))?;
    }
    let bound = ok(lab, &format!("basename $(readlink {driver})"))?;
    check(bound.trim() == "vfio-pci", format!("edu bound to {bound}"))?;
    iommu_group(lab, EDU)
}

fn iommu_group(lab: &mut Lab, dev: &str) -> Result<String, Failed> {
    Ok(ok(lab, &format!("basename $(readlink /sys/bus/pci/devices/{dev}/iommu_group)"))?.trim().to_string())
}

/// "mode owner group" of a path, as `stat` prints them.
fn owner(lab: &mut Lab, path: &str) -> Result<String, Failed> {
    Ok(ok(lab, &format!("stat -c '%A %U %G' {path}"))?.trim().to_string())
}

fn udevd_runs(lab: &mut Lab) -> Result<(), Failed> {
    let have = sh(lab, "command -v udevadm")?;
    check(have.status == 0, "no udevadm in the guest: the lab cache predates udev, run `sudo lab/prepare.sh`")?;
    ok(lab, "udevadm control --ping")?;
    let pid = ok(lab, "pidof systemd-udevd")?;
    check(!pid.trim().is_empty(), "no systemd-udevd process")?;
    let version = ok(lab, "udevadm --version")?;
    check(version.trim().parse::<u32>().is_ok_and(|v| v >= 240), format!("udevadm --version: {version}"))?;
    // The container node is world-accessible by design (kernel and 50-udev-default.rules).
    check(owner(lab, "/dev/vfio/vfio")? == "crw-rw-rw- root root", "/dev/vfio/vfio")
}

fn install_is_idempotent(lab: &mut Lab) -> Result<(), Failed> {
    let first = ok(lab, INSTALL)?;
    check(first.contains("installed /etc/udev/rules.d/70-mmiodrv.rules"), first.clone())?;
    check(first.contains("rules applied to present devices"), first.clone())?;
    let second = ok(lab, INSTALL)?;
    check(second.contains("group mmiodrv exists") && second.contains("lab is already in mmiodrv"), second.clone())?;
    let groups = ok(lab, "grep -c '^mmiodrv:' /etc/group; grep '^mmiodrv:' /etc/group")?;
    check(groups.starts_with("1\nmmiodrv:x:") && groups.trim_end().ends_with(":lab"), format!("/etc/group: {groups}"))?;
    let id = ok(lab, "id -nG lab")?;
    check(id.split_whitespace().any(|g| g == "mmiodrv"), format!("id -nG lab: {id}"))?;
    for f in ["70-mmiodrv.rules", "71-mmiodrv-autobind.rules"] {
        let o = owner(lab, &format!("{RULES}/{f}"))?;
        check(o == "-rw-r--r-- root root", format!("{f}: {o}"))?;
        ok(lab, &format!("cmp /root/udev/{f} {RULES}/{f}"))?;
    }
    // Not root: refused before touching anything.
    fails(lab, &as_lab("sh /root/udev/install.sh", None), 1, "run as root")?;
    fails(lab, "sh /root/udev/install.sh --bogus", 1, "unknown option --bogus")?;
    Ok(())
}

fn autobind_on_hotplug(lab: &mut Lab) -> Result<(), Failed> {
    ok(lab, INSTALL)?;
    // install.sh --with-autobind applied the rule to the devices already present.
    for dev in [EDU, IVSHMEM] {
        let d = driver_of(lab, dev)?;
        check(d == "vfio-pci", format!("{dev} after install: {d}"))?;
    }
    // A real hotplug: edu goes away and comes back; the rule binds it on "add".
    ok(lab, &format!("echo 1 > /sys/bus/pci/devices/{EDU}/remove && udevadm settle"))?;
    check(sh(lab, &format!("test -e /sys/bus/pci/devices/{EDU}"))?.status != 0, "edu still present after remove")?;
    ok(lab, "echo 1 > /sys/bus/pci/rescan && udevadm settle")?;
    let d = driver_of(lab, EDU)?;
    check(d == "vfio-pci", format!("edu after hotplug bound to {d}"))?;
    let o = ok(lab, &format!("cat /sys/bus/pci/devices/{EDU}/driver_override"))?;
    check(o.trim() == "vfio-pci", format!("driver_override {o}"))?;
    // Its group node is owned as 70-mmiodrv.rules says.
    for dev in [EDU, IVSHMEM] {
        let group = iommu_group(lab, dev)?;
        let o = owner(lab, &format!("/dev/vfio/{group}"))?;
        check(o == "crw-rw---- root mmiodrv", format!("{dev}: /dev/vfio/{group} is {o}"))?;
    }
    // A re-triggered "add" leaves a bound device alone (no unbind churn).
    ok(lab, &format!("udevadm trigger --action=add /sys/bus/pci/devices/{EDU} && udevadm settle"))?;
    let d = driver_of(lab, EDU)?;
    check(d == "vfio-pci", format!("edu after re-trigger: {d}"))
}

fn uio_node_owner(lab: &mut Lab) -> Result<(), Failed> {
    ok(lab, INSTALL)?;
    ok(lab, &format!("mmiodrv --device {IVSHMEM} bind uio_pci_generic && udevadm settle"))?;
    let node = ok(lab, &format!("ls /sys/bus/pci/devices/{IVSHMEM}/uio"))?;
    let o = owner(lab, &format!("/dev/{}", node.trim()));
    // Back to vfio-pci for the other trials, whatever happened.
    ok(lab, &format!("mmiodrv --device {IVSHMEM} bind vfio-pci && udevadm settle"))?;
    let o = o?;
    check(o == "crw-rw---- root mmiodrv", format!("/dev/{}: {o}", node.trim()))
}

fn nonroot_dump_regs(lab: &mut Lab) -> Result<(), Failed> {
    ready(lab)?;
    let id = ok(lab, &as_lab("id -u", None))?;
    check(id.trim() == "1000", format!("su lab: uid {id}"))?;
    let out = ok(lab, &as_lab(&format!("mmiodrv --device {EDU} --backend vfio dump-regs"), None))?;
    check(out.contains("0x0000  ID          0x010000ed"), format!("dump-regs as lab:\n{out}"))?;
    let v = ok(lab, &as_lab(&format!("mmiodrv --device {EDU} write LIVENESS 0x1234 >/dev/null && mmiodrv --device {EDU} read LIVENESS --quiet"), None))?;
    check(v.trim() == "0xffffedcb", format!("liveness as lab: {v}"))
}

fn nonroot_dma_round_trip(lab: &mut Lab) -> Result<(), Failed> {
    ready(lab)?;
    ok(lab, "rm -f /tmp/dma.in /tmp/dma.out && head -c 4000 /dev/urandom > /tmp/dma.in && chmod 644 /tmp/dma.in")?;
    let cmd = format!(
        "mmiodrv --device {EDU} edu dma to-device /tmp/dma.in && \
         mmiodrv --device {EDU} edu dma from-device --len 4000 --out /tmp/dma.out"
    );
    // 64 KiB of locked memory is plenty for a one-page buffer (edu takes < 4 KiB).
    let out = ok(lab, &as_lab(&cmd, Some(64)))?;
    check(out.contains("4000 bytes from /tmp/dma.in -> device buffer 0x40000"), out.clone())?;
    ok(lab, "cmp /tmp/dma.in /tmp/dma.out")?;
    let o = owner(lab, "/tmp/dma.out")?;
    check(o.ends_with("lab lab"), format!("/tmp/dma.out written by {o}"))?;
    // At an offset too, reading back part of it.
    let cmd = format!(
        "mmiodrv --device {EDU} edu dma to-device /tmp/dma.in --offset 0 && \
         mmiodrv --device {EDU} edu dma from-device --len 256 --offset 0x100 --out /tmp/dma.part"
    );
    ok(lab, &as_lab(&cmd, Some(64)))?;
    ok(lab, "tail -c +257 /tmp/dma.in | head -c 256 | cmp - /tmp/dma.part")?;
    ok(lab, "rm -f /tmp/dma.in /tmp/dma.out /tmp/dma.part")?;
    Ok(())
}

fn nonroot_dma_tiny_memlock(lab: &mut Lab) -> Result<(), Failed> {
    ready(lab)?;
    ok(lab, "head -c 4000 /dev/urandom > /tmp/dma.in && chmod 644 /tmp/dma.in")?;
    let cmd = format!("mmiodrv --device {EDU} edu dma to-device /tmp/dma.in");
    let err = fails(lab, &as_lab(&cmd, Some(0)), 6, "RLIMIT_MEMLOCK");
    ok(lab, "rm -f /tmp/dma.in")?;
    let err = err?;
    check(
        err.contains("cannot pin 4096 bytes for DMA") && err.contains("is 0 ") && err.contains("ulimit -l"),
        err.clone(),
    )?;
    // Root is not bound by the limit (CAP_IPC_LOCK): the same DMA works.
    ok(lab, "head -c 4000 /dev/urandom > /tmp/dma.in")?;
    let r = ok(lab, &format!("ulimit -l 0 && {cmd}"));
    ok(lab, "rm -f /tmp/dma.in")?;
    r.map(drop)
}

fn nonroot_sysfs_backend(lab: &mut Lab) -> Result<(), Failed> {
    ok(lab, INSTALL)?;
    // An unbound device: the sysfs backend needs the root-only resourceN files.
    ok(lab, &format!("mmiodrv --device {IVSHMEM} unbind"))?;
    let r =
        fails(lab, &as_lab(&format!("mmiodrv --device {IVSHMEM} --backend sysfs dump-regs"), None), 4, "udev rules");
    let r2 = fails(lab, &as_lab(&format!("mmiodrv --device {IVSHMEM} read 0x0"), None), 4, "permission denied");
    ok(lab, &format!("mmiodrv --device {IVSHMEM} bind vfio-pci && udevadm settle"))?;
    let err = r?;
    r2?;
    check(err.contains("resource") && err.contains("run as root"), err)
}

fn uninstall_resets_nodes(lab: &mut Lab) -> Result<(), Failed> {
    let group = ready(lab)?;
    let out = ok(lab, "sh /root/udev/uninstall.sh")?;
    check(
        out.contains("removed /etc/udev/rules.d/70-mmiodrv.rules") && out.contains(" device node(s) to root:root 0600"),
        out.clone(),
    )?;
    let again = ok(lab, "sh /root/udev/uninstall.sh")?;
    check(!again.contains("removed") && again.contains("reset 0 device"), format!("second uninstall: {again}"))?;
    let left = ok(lab, &format!("ls {RULES}"))?;
    check(!left.contains("mmiodrv"), format!("{RULES}: {left}"))?;
    let o = owner(lab, &format!("/dev/vfio/{group}"))?;
    check(o == "crw------- root root", format!("/dev/vfio/{group} after uninstall: {o}"))?;
    // Without the rules the non-root user is refused, and told why.
    fails(lab, &as_lab(&format!("mmiodrv --device {EDU} dump-regs"), None), 4, "udev rules")?;
    // The group stays unless asked; --remove-group deletes it.
    ok(lab, "grep -q '^mmiodrv:' /etc/group")?;
    ok(lab, "sh /root/udev/uninstall.sh --remove-group")?;
    check(sh(lab, "grep -q '^mmiodrv:' /etc/group")?.status != 0, "group still there")?;
    Ok(())
}
