//! udev rules and use without root (issues 7 and 23), in a lab guest running
//! Debian's systemd-udevd (`lab.udev=1`). The rules are installed from udev/
//! with udev/install.sh inside the guest; the non-root user is the guest's
//! `lab` (uid 1000), reached with `su lab -c`. Nothing here touches the host's
//! udev.
//!
//! Least privilege (issue 23): the group `mmiodrv` gets the nodes of the
//! devices named in /etc/mmiodrv/devices and of no other. The suite names edu
//! (0000:00:04.0) by address and leaves ivshmem (0000:00:05.0) unnamed; each is
//! bound to vfio-pci or uio_pci_generic in turn, and every trial checks the
//! node's owner and mode with `stat` and what `lab` gets (exit status and
//! message).
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
/// The ICH9 functions QEMU puts in one IOMMU group (LPC, SATA, SMBus), none
/// of them bound to a driver in the guest: a group of several devices.
const ICH9: [&str; 3] = ["0000:00:1f.0", "0000:00:1f.2", "0000:00:1f.3"];
const UDEV_FILES: &[&str] =
    &["install.sh", "uninstall.sh", "70-mmiodrv.rules", "71-mmiodrv-autobind.rules", "mmiodrv-udev-allowed"];
/// Names edu, and only edu.
const INSTALL: &str = "sh /root/udev/install.sh --with-autobind --user lab --allow 0000:00:04.0";
const RULES: &str = "/etc/udev/rules.d";
const LIST: &str = "/etc/mmiodrv/devices";
const HELPER: &str = "/usr/local/libexec/mmiodrv-udev-allowed";
const RETRIGGER: &str =
    "udevadm trigger --action=change --subsystem-match=vfio --subsystem-match=uio && udevadm settle";
const GRANTED: &str = "crw-rw---- root mmiodrv";
const ROOT_ONLY: &str = "crw------- root root";

fn main() -> ExitCode {
    let tests: &[(&'static str, TestFn)] = &[
        ("udev::udevd_runs_in_the_guest", udevd_runs),
        ("udev::install_without_names_grants_nothing", install_without_names),
        ("udev::install_is_idempotent", install_is_idempotent),
        ("udev::autobind_on_hotplug_and_node_owner", autobind_on_hotplug),
        ("udev::nonroot_dump_regs_through_vfio", nonroot_dump_regs),
        ("udev::unnamed_vfio_device_stays_root_only", unnamed_vfio_refused),
        ("udev::vfio_group_needs_every_member_named", vfio_group_every_member),
        ("udev::uio_named_and_unnamed", uio_named_and_unnamed),
        ("udev::removing_a_name_revokes", removing_a_name_revokes),
        ("udev::foreign_grant_shown_and_revoked", foreign_grant),
        ("udev::helper_refuses_symlinked_list", helper_refuses_symlink),
        ("udev::helper_refuses_unsafe_or_garbage_list", helper_refuses_garbage),
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

/// `doctor` (its command line `cmd`): its report; the exit status is 10 when
/// it reports a FAIL, 0 otherwise.
fn doctor(lab: &mut Lab, cmd: &str) -> Result<String, Failed> {
    let o = sh(lab, cmd)?;
    let out = o.stdout_str();
    let want = if out.lines().any(|l| l.starts_with("FAIL")) { 10 } else { 0 };
    check(o.status == want, format!("`{cmd}` exited {} (want {want}):\n{out}{}", o.status, o.stderr_str()))?;
    Ok(out)
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

/// Rules installed, group made, `lab` in it, the list naming edu alone, edu
/// and ivshmem bound to vfio-pci: the state the trials start from. Returns
/// edu's IOMMU group.
fn ready(lab: &mut Lab) -> Result<String, Failed> {
    // A list some other trial left with another content starts over.
    ok(lab, &format!("rm -f {LIST}"))?;
    ok(lab, INSTALL)?;
    for dev in [EDU, IVSHMEM] {
        bind(lab, dev, "vfio-pci")?;
    }
    iommu_group(lab, EDU)
}

/// Bind `dev` to `driver` unless it already is, and let udev finish.
fn bind(lab: &mut Lab, dev: &str, driver: &str) -> Result<(), Failed> {
    if driver_of(lab, dev)? != driver {
        ok(lab, &format!("mmiodrv --device {dev} bind {driver} && udevadm settle"))?;
    }
    let d = driver_of(lab, dev)?;
    check(d == driver, format!("{dev} bound to {d}, not {driver}"))
}

fn iommu_group(lab: &mut Lab, dev: &str) -> Result<String, Failed> {
    Ok(ok(lab, &format!("basename $(readlink /sys/bus/pci/devices/{dev}/iommu_group)"))?.trim().to_string())
}

/// `/dev/uioN` of a device bound to uio_pci_generic.
fn uio_node(lab: &mut Lab, dev: &str) -> Result<String, Failed> {
    Ok(format!("/dev/{}", ok(lab, &format!("ls /sys/bus/pci/devices/{dev}/uio"))?.trim()))
}

/// "mode owner group" of a path, as `stat` prints them.
fn owner(lab: &mut Lab, path: &str) -> Result<String, Failed> {
    Ok(ok(lab, &format!("stat -c '%A %U %G' {path}"))?.trim().to_string())
}

fn owner_is(lab: &mut Lab, path: &str, want: &str, what: &str) -> Result<(), Failed> {
    let o = owner(lab, path)?;
    check(o == want, format!("{what}: {path} is {o}, expected {want}"))
}

/// `lab` opens `node` read-write (and closes it): allowed.
fn lab_opens(lab: &mut Lab, node: &str) -> Result<(), Failed> {
    let o = sh(lab, &as_lab(&format!(": <>{node}"), None))?;
    check(
        o.status == 0 && o.stderr_str().is_empty(),
        format!("lab opening {node}: exit {}, {}", o.status, o.stderr_str()),
    )
}

/// `lab` opening `node` read-write is refused by the kernel.
fn lab_cannot_open(lab: &mut Lab, node: &str) -> Result<(), Failed> {
    let o = sh(lab, &as_lab(&format!(": <>{node}"), None))?;
    check(
        o.status != 0 && o.stderr_str().contains("Permission denied"),
        format!("lab opening {node}: expected Permission denied, got exit {}, {}", o.status, o.stderr_str()),
    )
}

/// The helper's own check of the list: its exit status and stderr.
fn helper_check(lab: &mut Lab) -> Result<(i32, String), Failed> {
    let o = sh(lab, &format!("{HELPER} --check"))?;
    Ok((o.status, o.stderr_str()))
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
    owner_is(lab, "/dev/vfio/vfio", "crw-rw-rw- root root", "the container")
}

/// With no name, installing grants nothing: both devices bound to vfio-pci,
/// both nodes root-only, `lab` refused.
fn install_without_names(lab: &mut Lab) -> Result<(), Failed> {
    ok(lab, "sh /root/udev/uninstall.sh --purge")?;
    let out = ok(lab, "sh /root/udev/install.sh --with-autobind --user lab")?;
    check(out.contains(&format!("no device named in {LIST}: the mmiodrv group gets no device")), out.clone())?;
    check(!out.contains("granted"), out.clone())?;
    // The list exists, explains itself, names nothing.
    let text = ok(lab, &format!("cat {LIST}"))?;
    check(text.lines().all(|l| l.starts_with('#')) && text.contains("DDDD:BB:DD.F"), text)?;
    let (status, err) = helper_check(lab)?;
    check(status == 0, format!("--check of the empty list: {status} {err}"))?;
    for dev in [EDU, IVSHMEM] {
        bind(lab, dev, "vfio-pci")?;
        let node = format!("/dev/vfio/{}", iommu_group(lab, dev)?);
        owner_is(lab, &node, ROOT_ONLY, dev)?;
        lab_cannot_open(lab, &node)?;
    }
    fails(lab, &as_lab(&format!("mmiodrv --device {EDU} dump-regs"), None), 4, "permission denied on /dev/vfio/")?;
    Ok(())
}

fn install_is_idempotent(lab: &mut Lab) -> Result<(), Failed> {
    ok(lab, &format!("rm -f {LIST}"))?;
    let first = ok(lab, INSTALL)?;
    for want in [
        "installed /etc/udev/rules.d/70-mmiodrv.rules",
        "installed /usr/local/libexec/mmiodrv-udev-allowed",
        "added 0000:00:04.0 to /etc/mmiodrv/devices",
        "rules applied to present devices",
        "granted /dev/vfio/",
    ] {
        check(first.contains(want), format!("{want:?} not in\n{first}"))?;
    }
    let second = ok(lab, INSTALL)?;
    for want in ["group mmiodrv exists", "lab is already in mmiodrv", "0000:00:04.0 is already in /etc/mmiodrv/devices"]
    {
        check(second.contains(want), format!("{want:?} not in\n{second}"))?;
    }
    // A name given again is not added twice; without --allow the list stays as it is.
    let third = ok(lab, "sh /root/udev/install.sh --allow 0000:00:04.0 --no-trigger")?;
    check(third.contains("is already in"), third)?;
    ok(lab, "sh /root/udev/install.sh --no-trigger")?;
    let named = ok(lab, &format!("grep -v '^#' {LIST}"))?;
    check(named == "0000:00:04.0\n", format!("{LIST} names: {named:?}"))?;
    let groups = ok(lab, "grep -c '^mmiodrv:' /etc/group; grep '^mmiodrv:' /etc/group")?;
    check(groups.starts_with("1\nmmiodrv:x:") && groups.trim_end().ends_with(":lab"), format!("/etc/group: {groups}"))?;
    let id = ok(lab, "id -nG lab")?;
    check(id.split_whitespace().any(|g| g == "mmiodrv"), format!("id -nG lab: {id}"))?;
    for f in ["70-mmiodrv.rules", "71-mmiodrv-autobind.rules"] {
        owner_is(lab, &format!("{RULES}/{f}"), "-rw-r--r-- root root", f)?;
        ok(lab, &format!("cmp /root/udev/{f} {RULES}/{f}"))?;
    }
    owner_is(lab, HELPER, "-rwxr-xr-x root root", "the helper")?;
    ok(lab, &format!("cmp /root/udev/mmiodrv-udev-allowed {HELPER}"))?;
    owner_is(lab, LIST, "-rw-r--r-- root root", "the list")?;
    owner_is(lab, "/etc/mmiodrv", "drwxr-xr-x root root", "the list's directory")?;
    // No temporary file left behind.
    let left = ok(lab, "ls -A /etc/mmiodrv")?;
    check(left.trim() == "devices", format!("/etc/mmiodrv holds {left}"))?;
    let (status, err) = helper_check(lab)?;
    check(status == 0, format!("--check: {status} {err}"))?;
    // Not root: refused before touching anything. Bad options and names: refused.
    fails(lab, &as_lab("sh /root/udev/install.sh --allow 0000:00:05.0", None), 1, "run as root")?;
    fails(lab, "sh /root/udev/install.sh --bogus", 1, "unknown option --bogus")?;
    fails(lab, "sh /root/udev/install.sh --allow 00:05.0", 1, "'00:05.0': not a PCI address (DDDD:BB:DD.F")?;
    fails(lab, "sh /root/udev/install.sh --allow 'all'", 1, "not a PCI address")?;
    fails(lab, "sh /root/udev/install.sh --allow", 1, "--allow needs a PCI address")?;
    let named = ok(lab, &format!("grep -v '^#' {LIST}"))?;
    check(named == "0000:00:04.0\n", format!("after refusals {LIST} names: {named:?}"))
}

fn autobind_on_hotplug(lab: &mut Lab) -> Result<(), Failed> {
    ready(lab)?;
    // A real hotplug: edu goes away and comes back; the rule binds it on "add".
    ok(lab, &format!("echo 1 > /sys/bus/pci/devices/{EDU}/remove && udevadm settle"))?;
    check(sh(lab, &format!("test -e /sys/bus/pci/devices/{EDU}"))?.status != 0, "edu still present after remove")?;
    ok(lab, "echo 1 > /sys/bus/pci/rescan && udevadm settle")?;
    let d = driver_of(lab, EDU)?;
    check(d == "vfio-pci", format!("edu after hotplug bound to {d}"))?;
    let o = ok(lab, &format!("cat /sys/bus/pci/devices/{EDU}/driver_override"))?;
    check(o.trim() == "vfio-pci", format!("driver_override {o}"))?;
    // The new node of the named edu is the group's; unnamed ivshmem's is not.
    let edu = format!("/dev/vfio/{}", iommu_group(lab, EDU)?);
    owner_is(lab, &edu, GRANTED, "named edu after hotplug")?;
    let iv = format!("/dev/vfio/{}", iommu_group(lab, IVSHMEM)?);
    owner_is(lab, &iv, ROOT_ONLY, "unnamed ivshmem")?;
    // A re-triggered "add" leaves a bound device alone (no unbind churn).
    ok(lab, &format!("udevadm trigger --action=add /sys/bus/pci/devices/{EDU} && udevadm settle"))?;
    let d = driver_of(lab, EDU)?;
    check(d == "vfio-pci", format!("edu after re-trigger: {d}"))?;
    owner_is(lab, &edu, GRANTED, "edu after a re-triggered add")
}

fn nonroot_dump_regs(lab: &mut Lab) -> Result<(), Failed> {
    let group = ready(lab)?;
    owner_is(lab, &format!("/dev/vfio/{group}"), GRANTED, "named edu")?;
    let id = ok(lab, &as_lab("id -u", None))?;
    check(id.trim() == "1000", format!("su lab: uid {id}"))?;
    let out = ok(lab, &as_lab(&format!("mmiodrv --device {EDU} --backend vfio dump-regs"), None))?;
    check(out.contains("0x0000  ID          0x010000ed"), format!("dump-regs as lab:\n{out}"))?;
    let v = ok(lab, &as_lab(&format!("mmiodrv --device {EDU} write LIVENESS 0x1234 >/dev/null && mmiodrv --device {EDU} read LIVENESS --quiet"), None))?;
    check(v.trim() == "0xffffedcb", format!("liveness as lab: {v}"))?;
    // doctor, as lab, says what is granted.
    let doc = doctor(lab, &as_lab("mmiodrv doctor", None))?;
    let want = format!("ok    grant: {EDU} (line 9: {EDU}): /dev/vfio/{group} root:mmiodrv 0660, granted to mmiodrv");
    check(
        doc.contains(&want) && doc.contains(&format!("info  grant: {LIST} names {EDU}\n")),
        format!("{want:?} not in\n{doc}"),
    )?;
    check(doc.contains("no problems found"), doc)
}

/// ivshmem, bound to vfio-pci and not named: root-only, and `lab` is refused
/// by the kernel and by mmiodrv (exit 4, naming the node).
fn unnamed_vfio_refused(lab: &mut Lab) -> Result<(), Failed> {
    ready(lab)?;
    let node = format!("/dev/vfio/{}", iommu_group(lab, IVSHMEM)?);
    owner_is(lab, &node, ROOT_ONLY, "unnamed ivshmem")?;
    lab_cannot_open(lab, &node)?;
    let err = fails(
        lab,
        &as_lab(&format!("mmiodrv --device {IVSHMEM} dump-regs"), None),
        4,
        &format!("permission denied on {node}"),
    )?;
    check(err.contains("udev/install.sh --allow"), err)?;
    // The same command on the named edu works.
    ok(lab, &as_lab(&format!("mmiodrv --device {EDU} read ID --quiet"), None))?;
    // doctor on ivshmem names the missing name, not the rules.
    let doc = doctor(lab, &as_lab("mmiodrv -s 00:05.0 doctor", None))?;
    let want = format!("FAIL  vfio node: {node} is root's only (mode 0600): the udev rules' device list {LIST} does not name every device of its IOMMU group; fix: as root, name it (udev/install.sh --allow {IVSHMEM}");
    check(doc.contains(&want), format!("{want:?} not in\n{doc}"))
}

/// A VFIO group node is granted only when every device of the IOMMU group is
/// named: the ICH9 group (LPC, SATA, SMBus), with the SMBus bound to vfio-pci.
fn vfio_group_every_member(lab: &mut Lab) -> Result<(), Failed> {
    ready(lab)?;
    let smbus = ICH9[2];
    let group = iommu_group(lab, smbus)?;
    let members = ok(lab, &format!("ls /sys/kernel/iommu_groups/{group}/devices"))?;
    check(members.split_whitespace().eq(ICH9), format!("IOMMU group {group} holds {members}"))?;
    // Only the SMBus named, then bound: the group is withheld.
    ok(lab, &format!("sh /root/udev/install.sh --allow {smbus}"))?;
    let r = (|| {
        bind(lab, smbus, "vfio-pci")?;
        let node = format!("/dev/vfio/{group}");
        owner_is(lab, &node, ROOT_ONLY, "a group with two devices not named")?;
        lab_cannot_open(lab, &node)?;
        let doc = doctor(lab, "mmiodrv doctor")?;
        let want = format!(
            "WARN  grant: {smbus} (line 10: {smbus}): {node} root:root 0600, withheld: IOMMU group {group} also holds {}, {}, which the list does not name",
            ICH9[0], ICH9[1]
        );
        check(doc.contains(&want), format!("{want:?} not in\n{doc}"))?;
        // Two of three named: still withheld.
        ok(lab, &format!("sh /root/udev/install.sh --allow {}", ICH9[0]))?;
        owner_is(lab, &node, ROOT_ONLY, "a group with one device not named")?;
        // Every member named: granted.
        let out = ok(lab, &format!("sh /root/udev/install.sh --allow {}", ICH9[1]))?;
        check(out.contains(&format!("granted {node} to mmiodrv")), out)?;
        owner_is(lab, &node, GRANTED, "a group with every device named")?;
        lab_opens(lab, &node)
    })();
    // Back as the other trials expect: the SMBus unbound, the names gone.
    ok(lab, &format!("mmiodrv --device {smbus} unbind && udevadm settle"))?;
    let d = ICH9.iter().map(|a| format!("--disallow {a}")).collect::<Vec<_>>().join(" ");
    ok(lab, &format!("sh /root/udev/install.sh {d}"))?;
    r
}

/// UIO: /dev/uioN maps the BAR; the named edu's node is the group's, the
/// unnamed ivshmem's is not; naming ivshmem by IDs grants it, removing the
/// name with --disallow revokes it.
fn uio_named_and_unnamed(lab: &mut Lab) -> Result<(), Failed> {
    ready(lab)?;
    let r = (|| {
        for dev in [EDU, IVSHMEM] {
            bind(lab, dev, "uio_pci_generic")?;
        }
        let (edu, iv) = (uio_node(lab, EDU)?, uio_node(lab, IVSHMEM)?);
        // What the docs say: the node maps the register BAR (its sysfs map is
        // BAR0's address), not ivshmem's 64-bit prefetchable BAR2.
        for (dev, node, size) in [(EDU, &edu, "0x0000000000100000"), (IVSHMEM, &iv, "0x0000000000001000")] {
            let uio = node.trim_start_matches("/dev/");
            let maps = ok(lab, &format!("ls /sys/class/uio/{uio}/maps"))?;
            let map = ok(lab, &format!("cat /sys/class/uio/{uio}/maps/map0/addr /sys/class/uio/{uio}/maps/map0/size"))?;
            let bar0 = ok(lab, &format!("head -n1 /sys/bus/pci/devices/{dev}/resource"))?;
            let start = bar0.split_whitespace().next().unwrap_or_default().to_string();
            check(
                maps.trim() == "map0" && map.lines().next() == Some(start.as_str()) && map.lines().nth(1) == Some(size),
                format!("{dev}: {uio} maps {maps:?}, map0 {map:?}, BAR0 {bar0:?}"),
            )?;
        }
        owner_is(lab, &edu, GRANTED, "named edu under UIO")?;
        lab_opens(lab, &edu)?;
        owner_is(lab, &iv, ROOT_ONLY, "unnamed ivshmem under UIO")?;
        lab_cannot_open(lab, &iv)?;
        // mmiodrv as lab: the BARs of a UIO device go through root-only sysfs files.
        fails(
            lab,
            &as_lab(&format!("mmiodrv --device {IVSHMEM} --backend uio read 0x0"), None),
            4,
            "permission denied",
        )?;
        // doctor warns about the grant through UIO.
        let doc = doctor(lab, "mmiodrv doctor")?;
        let want = format!("WARN  grant: {EDU} (line 9: {EDU}): {edu} root:mmiodrv 0660, granted to mmiodrv through UIO: its memory BARs are mappable and UIO has no IOMMU");
        check(doc.contains(&want) && doc.contains("root-equivalent"), format!("{want:?} not in\n{doc}"))?;
        // Named by its IDs: granted.
        let out = ok(lab, "sh /root/udev/install.sh --allow 1AF4:1110")?;
        check(out.contains("added 1af4:1110 to") && out.contains(&format!("granted {iv} to mmiodrv")), out)?;
        owner_is(lab, &iv, GRANTED, "ivshmem named by IDs")?;
        lab_opens(lab, &iv)?;
        // The name removed: revoked on the spot (install.sh re-applies the rules).
        let out = ok(lab, "sh /root/udev/install.sh --disallow 1af4:1110")?;
        check(out.contains("removed 1af4:1110 from") && !out.contains(&format!("granted {iv}")), out)?;
        owner_is(lab, &iv, ROOT_ONLY, "ivshmem after --disallow")?;
        lab_cannot_open(lab, &iv)?;
        owner_is(lab, &edu, GRANTED, "edu after ivshmem's name went")
    })();
    for dev in [EDU, IVSHMEM] {
        bind(lab, dev, "vfio-pci")?;
    }
    r
}

/// Removing edu's name by hand: until the rules run again the grant is stale
/// (doctor says so); a re-trigger revokes it and `lab` is refused.
fn removing_a_name_revokes(lab: &mut Lab) -> Result<(), Failed> {
    let node = format!("/dev/vfio/{}", ready(lab)?);
    owner_is(lab, &node, GRANTED, "named edu")?;
    ok(lab, &format!("sed -i '/^0000:00:04.0$/d' {LIST}"))?;
    let doc = doctor(lab, "mmiodrv doctor")?;
    let want = format!("FAIL  grant: {node} (root:mmiodrv 0660) gives group mmiodrv access, but {LIST} does not name {EDU}: a stale or foreign grant");
    check(doc.contains(&want) && doc.contains("1 problem found"), format!("{want:?} not in\n{doc}"))?;
    ok(lab, RETRIGGER)?;
    owner_is(lab, &node, ROOT_ONLY, "edu after its name was removed")?;
    lab_cannot_open(lab, &node)?;
    fails(lab, &as_lab(&format!("mmiodrv --device {EDU} read ID"), None), 4, &format!("permission denied on {node}"))?;
    check(doctor(lab, "mmiodrv doctor")?.contains("no problems found"), "doctor after the revoke")?;
    // Named again: granted again.
    ok(lab, INSTALL)?;
    owner_is(lab, &node, GRANTED, "edu named again")?;
    ok(lab, &as_lab(&format!("mmiodrv --device {EDU} read ID --quiet"), None)).map(drop)
}

/// A node handed to the group by something else (chgrp by hand) is a
/// foreign grant: doctor fails it, and the rules revoke it when they run.
fn foreign_grant(lab: &mut Lab) -> Result<(), Failed> {
    ready(lab)?;
    let node = format!("/dev/vfio/{}", iommu_group(lab, IVSHMEM)?);
    ok(lab, &format!("chgrp mmiodrv {node} && chmod 0660 {node}"))?;
    lab_opens(lab, &node)?;
    let doc = doctor(lab, &as_lab("mmiodrv doctor", None))?;
    let want = format!("FAIL  grant: {node} (root:mmiodrv 0660) gives group mmiodrv access, but {LIST} does not name {IVSHMEM}: a stale or foreign grant; fix: as root, re-apply the udev rules, which revoke it");
    check(doc.contains(&want), format!("{want:?} not in\n{doc}"))?;
    // `mmiodrv udev` (issue 23) shows the named device granted and the stray grant, exit 10.
    let edu_node = format!("/dev/vfio/{}", iommu_group(lab, EDU)?);
    let o = sh(lab, &as_lab("mmiodrv udev", None))?;
    let out = o.stdout_str();
    check(o.status == 10, format!("udev exited {}:\n{out}{}", o.status, o.stderr_str()))?;
    check(
        out.contains(&format!("{EDU} [1234:11e8]  line "))
            && out.contains(&format!("{edu_node} root:mmiodrv 0660  granted\n")),
        format!("edu's grant not in:\n{out}"),
    )?;
    check(
        out.contains(&format!(
            "STRAY {node} root:mmiodrv 0660: group mmiodrv has it, but the list does not name {IVSHMEM}"
        )),
        format!("the stray grant not in:\n{out}"),
    )?;
    ok(lab, RETRIGGER)?;
    owner_is(lab, &node, ROOT_ONLY, "the foreign grant after the rules ran")?;
    let o = sh(lab, "mmiodrv udev")?;
    check(
        o.status == 0 && o.stdout_str().ends_with("no stray grants\n"),
        format!("udev after the re-trigger: {}", o.stdout_str()),
    )?;
    lab_cannot_open(lab, &node)
}

/// The list replaced by a symlink to a well-formed, root-owned file naming
/// both devices: refused by the helper (nothing granted, edu's grant
/// revoked), by install.sh, and reported by doctor.
fn helper_refuses_symlink(lab: &mut Lab) -> Result<(), Failed> {
    let edu = format!("/dev/vfio/{}", ready(lab)?);
    let iv = format!("/dev/vfio/{}", iommu_group(lab, IVSHMEM)?);
    ok(
        lab,
        &format!("printf '{EDU}\\n{IVSHMEM}\\n' > /root/other-list && rm {LIST} && ln -s /root/other-list {LIST}"),
    )?;
    let r = (|| {
        let (status, err) = helper_check(lab)?;
        check(status == 1 && err.contains(&format!("{LIST} is a symbolic link")), format!("--check: {status} {err}"))?;
        ok(lab, RETRIGGER)?;
        owner_is(lab, &edu, ROOT_ONLY, "edu with a symlinked list")?;
        owner_is(lab, &iv, ROOT_ONLY, "ivshmem with a symlinked list")?;
        fails(lab, &as_lab(&format!("mmiodrv --device {EDU} read ID"), None), 4, "permission denied")?;
        let doc = doctor(lab, "mmiodrv doctor")?;
        let want = format!("FAIL  grant: device list {LIST}: {LIST} is a symbolic link; fix: as root, make {LIST} a regular file owned by root");
        check(doc.contains(&want), format!("{want:?} not in\n{doc}"))?;
        // install.sh neither follows it nor replaces it silently.
        fails(lab, INSTALL, 1, "is a symbolic link: refusing to read or write through it")?;
        check(ok(lab, &format!("test -L {LIST} && cat /root/other-list"))?.lines().count() == 2, "the link's target")?;
        // The directory as a symlink: refused too.
        ok(lab, "rm /etc/mmiodrv/devices && mv /etc/mmiodrv /etc/mmiodrv.real && ln -s /etc/mmiodrv.real /etc/mmiodrv && cp /root/other-list /etc/mmiodrv.real/devices")?;
        let (status, err) = helper_check(lab)?;
        check(status == 1 && err.contains("/etc/mmiodrv is a symbolic link"), format!("--check: {status} {err}"))?;
        ok(lab, RETRIGGER)?;
        owner_is(lab, &edu, ROOT_ONLY, "edu with a symlinked directory")
    })();
    ok(lab, "rm -f /etc/mmiodrv; if [ -d /etc/mmiodrv.real ]; then mv /etc/mmiodrv.real /etc/mmiodrv; fi; rm -f /etc/mmiodrv/devices /root/other-list")?;
    r?;
    ok(lab, INSTALL)?;
    owner_is(lab, &edu, GRANTED, "edu with the list back")
}

/// Lists the helper refuses, each failing closed (edu's grant revoked):
/// several entries on a line, an unknown word, control characters, writable
/// by others, owned by `lab`, larger than 64 KiB.
fn helper_refuses_garbage(lab: &mut Lab) -> Result<(), Failed> {
    let edu = format!("/dev/vfio/{}", ready(lab)?);
    let cases: &[(&str, &str, &str)] = &[
        (
            "printf '0000:00:04.0\\n0000:00:04.0 0000:00:05.0\\n' > L",
            "line 2: more than one entry",
            "line 2: more than one entry",
        ),
        (
            "printf '# ok\\n0000:00:04.0\\n*\\n' > L",
            "line 3: '*' is not a PCI address",
            "line 3: '*' is not a PCI address",
        ),
        ("printf '0000:00:04.0\\n\\033[2J\\n' > L", "holds control characters", "line 2: a control character"),
        (
            "printf '0000:00:04.0\\n' > L && chmod 0666 L",
            "is writable by group or others (mode 666)",
            "is writable by group or others (mode 0666)",
        ),
        (
            "printf '0000:00:04.0\\n' > L && chown lab L",
            "is owned by uid 1000, not root",
            "is owned by uid 1000, not root",
        ),
        (
            "(echo 0000:00:04.0; head -c 70000 /dev/zero | tr '\\0' '#') > L",
            "is larger than 65536 bytes",
            "larger than 65536 bytes",
        ),
    ];
    for (make, helper_says, doctor_says) in cases {
        ok(lab, &format!("rm -f {LIST} && {}", make.replace(" L", &format!(" {LIST}"))))?;
        let (status, err) = helper_check(lab)?;
        check(
            status == 1 && err.contains(helper_says) && err.contains("nothing is granted"),
            format!("{make}: --check exit {status}: {err}"),
        )?;
        ok(lab, RETRIGGER)?;
        owner_is(lab, &edu, ROOT_ONLY, make)?;
        lab_cannot_open(lab, &edu)?;
        let doc = doctor(lab, "mmiodrv doctor")?;
        check(
            doc.contains(&format!("FAIL  grant: device list {LIST}: ")) && doc.contains(doctor_says),
            format!("{make}: doctor:\n{doc}"),
        )?;
        // install.sh says the list is refused and why, and exits 1.
        let o = sh(lab, INSTALL)?;
        check(
            o.status == 1 && o.stderr_str().contains(helper_says),
            format!("{make}: install.sh: {}", o.stderr_str()),
        )?;
        // Back to a good list: granted again.
        ok(lab, &format!("rm -f {LIST} && {INSTALL}"))?;
        owner_is(lab, &edu, GRANTED, "edu with a good list again")?;
    }
    Ok(())
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
    ready(lab)?;
    // An unbound device: the sysfs backend needs the root-only resourceN files.
    ok(lab, &format!("mmiodrv --device {IVSHMEM} unbind"))?;
    let r = fails(
        lab,
        &as_lab(&format!("mmiodrv --device {IVSHMEM} --backend sysfs dump-regs"), None),
        4,
        "udev/install.sh --allow",
    );
    let r2 = fails(lab, &as_lab(&format!("mmiodrv --device {IVSHMEM} read 0x0"), None), 4, "permission denied");
    ok(lab, &format!("mmiodrv --device {IVSHMEM} bind vfio-pci && udevadm settle"))?;
    let err = r?;
    r2?;
    check(err.contains("resource") && err.contains("run as root"), err)
}

fn uninstall_resets_nodes(lab: &mut Lab) -> Result<(), Failed> {
    let group = ready(lab)?;
    let out = ok(lab, "sh /root/udev/uninstall.sh")?;
    for want in [
        "removed /etc/udev/rules.d/70-mmiodrv.rules",
        "removed /usr/local/libexec/mmiodrv-udev-allowed",
        "reset 1 device node(s) to root:root 0600",
    ] {
        check(out.contains(want), format!("{want:?} not in\n{out}"))?;
    }
    let again = ok(lab, "sh /root/udev/uninstall.sh")?;
    check(!again.contains("removed") && again.contains("reset 0 device"), format!("second uninstall: {again}"))?;
    let left = ok(lab, &format!("ls {RULES}; ls /usr/local/libexec"))?;
    check(!left.contains("mmiodrv"), format!("{RULES}, /usr/local/libexec: {left}"))?;
    owner_is(lab, &format!("/dev/vfio/{group}"), ROOT_ONLY, "edu after uninstall")?;
    // Without the rules the non-root user is refused, and told why.
    fails(lab, &as_lab(&format!("mmiodrv --device {EDU} dump-regs"), None), 4, "udev/install.sh --allow")?;
    // The administrator's list stays unless asked; --purge deletes it.
    ok(lab, &format!("grep -qx {EDU} {LIST}"))?;
    let out = ok(lab, "sh /root/udev/uninstall.sh --purge")?;
    check(out.contains(&format!("removed {LIST}")), out)?;
    check(sh(lab, "test -e /etc/mmiodrv")?.status != 0, "/etc/mmiodrv still there after --purge")?;
    // The group stays unless asked; --remove-group deletes it.
    ok(lab, "grep -q '^mmiodrv:' /etc/group")?;
    ok(lab, "sh /root/udev/uninstall.sh --remove-group")?;
    check(sh(lab, "grep -q '^mmiodrv:' /etc/group")?.status != 0, "group still there")?;
    Ok(())
}
