//! Trust on shared machines (issue 23), shown with the `mmiodrv` binary on
//! fake sysfs trees (domain `ffff:`), host files and sockets: what `udev`
//! reports, locks nobody else can hold, bounded inputs, files written as
//! root, `file:` refusals, escaped map text, the ivshmem server's limits.
//! Each test names the case of the issue it shows; every one fails on the
//! code before the fixes. (The same cases on QEMU's devices and as
//! other users: tests/vm/hostile.rs and tests/vm/faults.rs.)

mod common;

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::fake_sysfs::{FakeDevice, FakeSysfs};

fn cmd(tree: &FakeSysfs) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mmiodrv"));
    c.env("MMIODRV_SYSFS_ROOT", tree.root())
        .env("MMIODRV_FAKE_SYSFS_ONLY", "1")
        .env("MMIODRV_PCI_IDS", "/nonexistent")
        .env_remove("RUST_LOG")
        .env_remove("MMIODRV_DEVICE")
        .env_remove("MMIODRV_LOCK_DIR")
        .stdin(Stdio::null());
    c
}

fn run(tree: &FakeSysfs, args: &[&str]) -> Output {
    cmd(tree).args(args).output().expect("run mmiodrv")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn expect(o: &Output, code: i32) {
    assert_eq!(o.status.code(), Some(code), "stdout:\n{}\nstderr:\n{}", stdout(o), stderr(o));
}

fn chmod(p: &Path, mode: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

// ------------------------------------------------------------------ point 1: mmiodrv udev

/// A fake system for `mmiodrv udev`: edu (ffff:00:04.0) named and granted
/// through VFIO group 3, an ivshmem named by IDs and granted through UIO, a
/// device nobody named whose group node 8 is the group's anyway (a stray
/// grant), and an entry matching nothing.
fn udev_system() -> (FakeSysfs, tempfile::TempDir) {
    let tree = FakeSysfs::new();
    tree.add(&FakeDevice { driver: Some("vfio-pci"), ..FakeDevice::edu("ffff:00:04.0") });
    let iv = tree.add(&FakeDevice {
        vendor: 0x1af4,
        device: 0x1110,
        driver: Some("uio_pci_generic"),
        iommu_group: Some(4),
        ..FakeDevice::edu("ffff:00:05.0")
    });
    fs::create_dir_all(iv.join("uio/uio0")).unwrap();
    let class = tree.root().join("class/uio/uio0");
    fs::create_dir_all(&class).unwrap();
    fs::write(class.join("name"), "uio_pci_generic\n").unwrap();
    symlink(&iv, class.join("device")).unwrap();
    tree.add(&FakeDevice {
        device: 0x11e9,
        driver: Some("vfio-pci"),
        iommu_group: Some(8),
        ..FakeDevice::edu("ffff:00:0a.0")
    });

    let root = tempfile::tempdir().unwrap();
    let etc = root.path().join("etc/mmiodrv");
    fs::create_dir_all(&etc).unwrap();
    chmod(root.path().join("etc").as_path(), 0o755);
    chmod(&etc, 0o755);
    fs::write(etc.join("devices"), "# lab\nffff:00:04.0\n1af4:1110\nffff:00:1f.0\n").unwrap();
    chmod(&etc.join("devices"), 0o644);
    let gid = nix::unistd::getegid().as_raw();
    let uid = nix::unistd::geteuid().as_raw();
    fs::write(root.path().join("etc/group"), format!("mmiodrv:x:{gid}:lab\n")).unwrap();
    fs::write(root.path().join("etc/passwd"), format!("lab:x:{uid}:{gid}::/:/bin/sh\n")).unwrap();
    fs::create_dir_all(root.path().join("dev/vfio")).unwrap();
    for (node, mode) in [("dev/vfio/3", 0o660), ("dev/uio0", 0o660), ("dev/vfio/8", 0o660), ("dev/vfio/vfio", 0o666)] {
        let p = root.path().join(node);
        fs::write(&p, "").unwrap();
        chmod(&p, mode);
    }
    (tree, root)
}

/// Point 1 (left over): `mmiodrv udev` shows each named device's node,
/// owner:group mode and state, the entry that matches nothing and the
/// stray grant, and exits 10 for the stray grant; `--json` is the typed
/// object the schema describes.
#[test]
fn udev_shows_grants_states_and_stray_grants() {
    let (tree, root) = udev_system();
    let o = cmd(&tree).env("MMIODRV_UDEV_ROOT", root.path()).arg("udev").output().unwrap();
    expect(&o, 10);
    let out = stdout(&o);
    let dev = root.path().join("dev");
    assert!(
        out.contains(&format!(
            "ffff:00:04.0 [1234:11e8]  line 2 (ffff:00:04.0)  {}/vfio/3 lab:mmiodrv 0660  granted\n",
            dev.display()
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "ffff:00:05.0 [1af4:1110]  line 3 (1af4:1110)  {}/uio0 lab:mmiodrv 0660  granted-uio: UIO has no IOMMU",
            dev.display()
        )),
        "{out}"
    );
    assert!(out.contains("line 4 (ffff:00:1f.0): matches no present device\n"), "{out}");
    assert!(
        out.contains(&format!(
            "STRAY {}/vfio/8 lab:mmiodrv 0660: group mmiodrv has it, but the list does not name ffff:00:0a.0\n",
            dev.display()
        )),
        "{out}"
    );
    assert!(out.ends_with("1 problem found\n"), "{out}");
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));

    let o = cmd(&tree).env("MMIODRV_UDEV_ROOT", root.path()).args(["--json", "udev"]).output().unwrap();
    expect(&o, 10);
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    common::schema::check_lines(&common::schema::validator(), "udev --json", &stdout(&o)).unwrap();
    assert_eq!(v["op"], "udev");
    assert_eq!(v["problems"], 1);
    assert_eq!(v["devices"][0]["state"], "granted");
    assert_eq!(v["devices"][1]["state"], "granted-uio");
    assert_eq!(v["devices"][0]["owner"], "lab:mmiodrv 0660");
    assert_eq!(v["stray"][0]["unnamed"][0], "ffff:00:0a.0");
    assert_eq!(v["unmatched"][0]["line"], 4);

    // Revoked: no stray grant, exit 0.
    chmod(&dev.join("vfio/8"), 0o600);
    let o = cmd(&tree).env("MMIODRV_UDEV_ROOT", root.path()).arg("udev").output().unwrap();
    expect(&o, 0);
    assert!(stdout(&o).ends_with("no stray grants\n"), "{}", stdout(&o));
}

/// A refused list (a line with two entries; a list others can write) grants
/// nothing: `udev` says why and how to fix it, lists the nodes the group
/// still holds, and exits 10.
#[test]
fn udev_refused_list_is_a_finding() {
    let (tree, root) = udev_system();
    let list = root.path().join("etc/mmiodrv/devices");
    fs::write(&list, "ffff:00:04.0 ffff:00:05.0\n").unwrap();
    let o = cmd(&tree).env("MMIODRV_UDEV_ROOT", root.path()).arg("udev").output().unwrap();
    expect(&o, 10);
    let out = stdout(&o);
    assert!(out.starts_with(&format!("REFUSED device list {}: line 1: more than one entry", list.display())), "{out}");
    assert!(out.contains("  fix: fix line 1 of"), "{out}");
    assert_eq!(out.matches("STRAY ").count(), 3, "every node the group holds is stray: {out}");
    assert!(out.ends_with("4 problems found\n"), "{out}");
    fs::write(&list, "ffff:00:04.0\n").unwrap();
    chmod(&list, 0o666);
    let o = cmd(&tree).env("MMIODRV_UDEV_ROOT", root.path()).args(["--json", "udev"]).output().unwrap();
    expect(&o, 10);
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert!(v["refused"].as_str().unwrap().contains("writable"), "{v}");
    assert!(v["fix"].as_str().unwrap().contains("owned by root, mode 0644"), "{v}");
}

// ------------------------------------------------------------------ point 2: locks

fn edu_tree() -> FakeSysfs {
    let t = FakeSysfs::new();
    t.add(&FakeDevice::edu("ffff:00:04.0"));
    t
}

/// Point 2: a lock directory anyone can write (as /tmp, mode 1777) is
/// refused, before the device is touched; before issue 23 it was used.
#[test]
fn locks_refuse_a_world_writable_directory() {
    let tree = edu_tree();
    let dir = tempfile::tempdir().unwrap();
    chmod(dir.path(), 0o1777);
    let o = cmd(&tree)
        .env("MMIODRV_LOCK_DIR", dir.path())
        .args(["--device", "ffff:00:04.0", "write", "0x4", "7"])
        .output()
        .unwrap();
    expect(&o, 6);
    assert!(stderr(&o).contains("unsafe lock"), "{}", stderr(&o));
    assert!(stderr(&o).contains("anyone can write it (mode 1777)"), "{}", stderr(&o));
    assert!(fs::read_dir(dir.path()).unwrap().next().is_none(), "no lock file made");
}

/// Point 2: lock files are made 0660, never 0666 (and one left 0666 is
/// put back to 0660).
#[test]
fn lock_files_are_0660() {
    let tree = edu_tree();
    let o = run(&tree, &["--device", "ffff:00:04.0", "read", "0x0"]);
    expect(&o, 0);
    let lock = tree.root().join("mmiodrv-locks/mmiodrv-ffff:00:04.0.lock");
    assert_eq!(fs::metadata(&lock).unwrap().mode() & 0o7777, 0o660);
    chmod(&lock, 0o666);
    expect(&run(&tree, &["--device", "ffff:00:04.0", "read", "0x0"]), 0);
    assert_eq!(fs::metadata(&lock).unwrap().mode() & 0o7777, 0o660);
}

/// Point 2: the holder is named truthfully. A shell takes the lock with
/// flock(1) (the pid /proc/locks keeps, which exits at once) and leaves it to
/// a background sleep; the refusal names the sleep.
#[test]
fn the_lock_holder_is_named_truthfully() {
    if Command::new("flock").arg("--version").output().is_err() {
        eprintln!("!!!!! no flock(1): the_lock_holder_is_named_truthfully not run !!!!!");
        return;
    }
    let tree = edu_tree();
    expect(&run(&tree, &["--device", "ffff:00:04.0", "read", "0x0"]), 0);
    let lock = tree.root().join("mmiodrv-locks/mmiodrv-ffff:00:04.0.lock");
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("exec 9<'{}'; flock -x 9; sleep 5 <&- >/dev/null 2>&1 & echo $!", lock.display()))
        .output()
        .unwrap();
    let sleeper: i32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    let o = run(&tree, &["--device", "ffff:00:04.0", "read", "0x0"]);
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(sleeper), nix::sys::signal::SIGKILL);
    expect(&o, 6);
    assert!(stderr(&o).contains(&format!("mmiodrv process {sleeper} is using it")), "holder {sleeper}: {}", stderr(&o));
}

/// Point 2: a lock held by a process of a user who cannot write the device
/// (user nobody; the device's resource0 is root's 0600) is refused at once,
/// naming the squatter, instead of waiting 2 s and calling it a user.
#[test]
fn a_squatted_lock_is_refused_at_once() {
    if !is_root() || Command::new("flock").arg("--version").output().is_err() {
        eprintln!("!!!!! not root or no flock(1): a_squatted_lock_is_refused_at_once not run !!!!!");
        return;
    }
    use std::os::unix::process::CommandExt;
    let tree = edu_tree();
    chmod(tree.root(), 0o755);
    chmod(&tree.device_dir("ffff:00:04.0").join("resource0"), 0o600);
    let locks = tempfile::tempdir().unwrap();
    chmod(locks.path(), 0o3770);
    let lock = locks.path().join("mmiodrv-ffff:00:04.0.lock");
    // nobody, in group root (a group the lock directory trusts).
    let mut squatter =
        Command::new("flock").args(["-x", lock.to_str().unwrap(), "sleep", "10"]).uid(65534).gid(0).spawn().unwrap();
    for _ in 0..100 {
        if lock.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(100));
    let start = Instant::now();
    let o = cmd(&tree)
        .env("MMIODRV_LOCK_DIR", locks.path())
        .args(["--device", "ffff:00:04.0", "edu", "id"])
        .output()
        .unwrap();
    let took = start.elapsed();
    let _ = squatter.kill();
    let _ = squatter.wait();
    expect(&o, 6);
    let err = stderr(&o);
    assert!(err.contains(&format!("its lock is held by process {} of user", squatter.id())), "{err}");
    assert!(err.contains("who cannot use the device"), "{err}");
    assert!(err.contains("fix: stop process"), "{err}");
    assert!(took < Duration::from_millis(1500), "refused at once, not after the 2 s wait: {took:?}");
}
