//! The udev rules' helper (udev/mmiodrv-udev-allowed) and the library's reading
//! of the device list (`mmiodrv::grant::DeviceList`) agree: each list here is
//! accepted by both or refused by both, under `sh` and, when the host has it,
//! `busybox sh` (the lab guest's shell). The helper's answers for VFIO groups
//! and UIO nodes are checked on a fake tree (PCI domain ffff).
//!
//! The helper runs from a copy whose fixed paths (/etc/mmiodrv, /sys, /dev)
//! and trusted uid point into a temporary directory: it only reads there, and
//! nothing of the host's udev, devices or /etc is touched. (Revoking, which
//! needs a node owned by group mmiodrv, is shown in tests/vm_udev.rs.)

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use mmiodrv::grant::DeviceList;

struct Tree {
    dir: tempfile::TempDir,
    helper: PathBuf,
}

fn euid() -> u32 {
    nix::unistd::geteuid().as_raw()
}

impl Tree {
    fn new() -> Tree {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let etc = root.join("etc/mmiodrv");
        fs::create_dir_all(&etc).unwrap();
        fs::set_permissions(&etc, fs::Permissions::from_mode(0o755)).unwrap();
        fs::create_dir_all(root.join("dev/vfio")).unwrap();
        let src = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("udev/mmiodrv-udev-allowed")).unwrap();
        let mut replaced = 0;
        let text: Vec<String> = src
            .lines()
            .map(|l| {
                let to = match l {
                    "LIST_DIR=/etc/mmiodrv" => format!("LIST_DIR={}", etc.display()),
                    "SYS=/sys" => format!("SYS={}", root.join("sys").display()),
                    "DEV=/dev" => format!("DEV={}", root.join("dev").display()),
                    "TRUSTED_UID=0" => format!("TRUSTED_UID={}", euid()),
                    _ => return l.to_string(),
                };
                replaced += 1;
                to
            })
            .collect();
        assert_eq!(replaced, 4, "the helper's fixed paths moved: update this test");
        let helper = root.join("helper");
        fs::write(&helper, text.join("\n") + "\n").unwrap();
        Tree { dir, helper }
    }

    fn list(&self) -> PathBuf {
        self.dir.path().join("etc/mmiodrv/devices")
    }

    fn write_list(&self, text: &[u8]) {
        let _ = fs::remove_file(self.list());
        fs::write(self.list(), text).unwrap();
        fs::set_permissions(self.list(), fs::Permissions::from_mode(0o644)).unwrap();
    }

    /// The helper under `shell`: (exit status, stdout, stderr).
    fn run(&self, shell: &[&str], args: &[&str]) -> (i32, String, String) {
        let o = Command::new(shell[0]).args(&shell[1..]).arg(&self.helper).args(args).output().unwrap();
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    }

    fn device(&self, addr: &str, vendor: &str, device: &str, group: u32) {
        let sys = self.dir.path().join("sys");
        let d = sys.join("bus/pci/devices").join(addr);
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join("vendor"), format!("0x{vendor}\n")).unwrap();
        fs::write(d.join("device"), format!("0x{device}\n")).unwrap();
        let members = sys.join(format!("kernel/iommu_groups/{group}/devices"));
        fs::create_dir_all(&members).unwrap();
        symlink(format!("../../../../bus/pci/devices/{addr}"), members.join(addr)).unwrap();
    }

    fn uio(&self, addr: &str, name: &str) {
        let c = self.dir.path().join("sys/class/uio").join(name);
        fs::create_dir_all(&c).unwrap();
        fs::write(c.join("name"), "uio_pci_generic\n").unwrap();
        symlink(format!("../../../bus/pci/devices/{addr}"), c.join("device")).unwrap();
    }
}

/// `sh`, and `busybox sh` when there is a busybox.
fn shells() -> Vec<Vec<&'static str>> {
    let mut out = vec![vec!["sh"]];
    if Command::new("busybox").arg("true").output().is_ok_and(|o| o.status.success()) {
        out.push(vec!["busybox", "sh"]);
    }
    out
}

/// (list text, accepted, what a refusal says in the helper's words).
const LISTS: &[(&[u8], bool, &str)] = &[
    (b"", true, ""),
    (b"# nothing\n\n", true, ""),
    (b"ffff:00:04.0\n", true, ""),
    (b"  FFFF:00:04.0\t# edu\r\n1af4:1110\r\n", true, ""),
    (b"ffff:00:04.0#edu\nffff:01:1f.7", true, ""),
    (b"1af4:1110\nffff:00:04.0\n1234:11E8\n", true, ""),
    (b"# caf\xc3\xa9 \xe9\nffff:00:04.0\n", true, ""),
    (b"ffff:00:04.0 ffff:00:05.0\n", false, "line 1: more than one entry"),
    (b"ffff:00:04.0\nall\n", false, "line 2: 'all' is not a PCI address"),
    (b"00:04.0\n", false, "line 1: '00:04.0' is not"),
    (b"ffff:00:20.0\n", false, "is not a PCI address"),
    (b"ffff:00:04.8\n", false, "is not a PCI address"),
    (b"1234:11e\n", false, "is not a PCI address"),
    (b"ffff:00:04.0\n\x1b[2J\n", false, "holds control characters"),
    (b"ffff:00:04.0\x00\n", false, "holds control characters"),
    (b"ffff:00:04.\xe9\n", false, "is not a PCI address"),
    (b"*\n", false, "line 1: '*' is not"),
    (b"$(reboot)\n", false, "is not a PCI address"),
];

#[test]
fn helper_and_library_agree_on_every_list() {
    let t = Tree::new();
    for shell in shells() {
        for (text, accepted, says) in LISTS {
            t.write_list(text);
            let (status, out, err) = t.run(&shell, &["--check"]);
            let lib = DeviceList::load(&t.list(), euid());
            let show = String::from_utf8_lossy(text);
            assert_eq!(status == 0, *accepted, "{shell:?} --check of {show:?}: exit {status}, {err}");
            assert_eq!(lib.is_ok(), *accepted, "library on {show:?}: {lib:?}");
            if *accepted {
                let names: Vec<String> = lib.unwrap().entries.iter().map(|e| e.name.to_string()).collect();
                assert_eq!(out.lines().collect::<Vec<_>>(), names, "{shell:?} on {show:?}");
            } else {
                assert!(err.contains(says) && err.contains("nothing is granted"), "{shell:?} on {show:?}: {err}");
                assert_eq!(err.lines().count(), 1, "{err}");
            }
        }
        // Too large, by one byte.
        t.write_list(&vec![b'#'; mmiodrv::grant::MAX_DEVICE_LIST as usize + 1]);
        let (status, _, err) = t.run(&shell, &["--check"]);
        assert!(status == 1 && err.contains("is larger than 65536 bytes"), "{err}");
        assert!(DeviceList::load(&t.list(), euid()).is_err());
        t.write_list(&vec![b'#'; mmiodrv::grant::MAX_DEVICE_LIST as usize]);
        assert_eq!(t.run(&shell, &["--check"]).0, 0);
        assert!(DeviceList::load(&t.list(), euid()).is_ok());
    }
}

#[test]
fn helper_refuses_unsafe_lists() {
    let t = Tree::new();
    let list = t.list();
    for shell in shells() {
        // A symlink to a good list.
        let real = t.dir.path().join("real");
        fs::write(&real, "ffff:00:04.0\n").unwrap();
        let _ = fs::remove_file(&list);
        symlink(&real, &list).unwrap();
        let (status, _, err) = t.run(&shell, &["--check"]);
        assert!(status == 1 && err.contains("is a symbolic link"), "{err}");
        assert!(DeviceList::load(&list, euid()).is_err());
        // Writable by others, then by the group; the directory too.
        for mode in [0o666, 0o646, 0o664] {
            t.write_list(b"ffff:00:04.0\n");
            fs::set_permissions(&list, fs::Permissions::from_mode(mode)).unwrap();
            let (status, _, err) = t.run(&shell, &["--check"]);
            assert!(status == 1 && err.contains("is writable by group or others"), "{mode:o}: {err}");
            assert!(DeviceList::load(&list, euid()).is_err());
        }
        t.write_list(b"ffff:00:04.0\n");
        let dir = list.parent().unwrap();
        fs::set_permissions(dir, fs::Permissions::from_mode(0o757)).unwrap();
        let (status, _, err) = t.run(&shell, &["--check"]);
        assert!(status == 1 && err.contains("mmiodrv is writable by group or others"), "{err}");
        assert!(DeviceList::load(&list, euid()).is_err());
        fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).unwrap();
        // A directory where the list should be; a FIFO (read without waiting).
        fs::remove_file(&list).unwrap();
        fs::create_dir(&list).unwrap();
        let (status, _, err) = t.run(&shell, &["--check"]);
        assert!(status == 1 && err.contains("is not a regular file"), "{err}");
        fs::remove_dir(&list).unwrap();
        nix::unistd::mkfifo(&list, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
        let (status, _, err) = t.run(&shell, &["--check"]);
        assert!(status == 1 && err.contains("is not a regular file"), "{err}");
        assert!(DeviceList::load(&list, euid()).is_err());
        fs::remove_file(&list).unwrap();
        // No list: nothing named, not an error.
        let (status, out, _) = t.run(&shell, &["--check"]);
        assert!(status == 0 && out.is_empty());
    }
}

#[test]
fn helper_grants_a_group_only_when_every_member_is_named() {
    let t = Tree::new();
    t.device("ffff:00:04.0", "1234", "11e8", 3);
    t.device("ffff:00:1f.0", "8086", "2918", 6);
    t.device("ffff:00:1f.3", "8086", "2930", 6);
    t.device("ffff:00:05.0", "1af4", "1110", 4);
    t.uio("ffff:00:05.0", "uio0");
    for shell in shells() {
        let ask = |args: &[&str]| t.run(&shell, args).1.trim().to_string();
        t.write_list(b"ffff:00:04.0\nffff:00:1f.3\n");
        assert_eq!(ask(&["vfio", "3"]), "grant");
        assert_eq!(ask(&["vfio", "6"]), "none", "a group with 1f.0 not named");
        assert_eq!(ask(&["uio", "uio0"]), "none");
        // By IDs.
        t.write_list(b"ffff:00:04.0\nffff:00:1f.3\n8086:2918\n1af4:1110\n");
        assert_eq!(ask(&["vfio", "6"]), "grant");
        assert_eq!(ask(&["uio", "uio0"]), "grant");
        // Groups and nodes that are not there, or not of this helper.
        assert_eq!(ask(&["vfio", "9"]), "none", "an empty group");
        for bad in [&["vfio", "noiommu-3"][..], &["vfio", "../3"], &["uio", "uio0/../x"], &["uio", "tty0"]] {
            assert_eq!(ask(bad), "none", "{bad:?}");
        }
        // A refused list grants nothing, even what it names.
        t.write_list(b"ffff:00:04.0\nbad\n");
        assert_eq!(ask(&["vfio", "3"]), "none");
        let (status, _, err) = t.run(&shell, &[]);
        assert!(status == 2 && err.contains("usage:"), "{err}");
    }
}
