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

// ------------------------------------------------------------------ point 3: bounded inputs

/// A command with no fake tree (host files, sim: devices).
fn plain() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mmiodrv"));
    c.env("MMIODRV_SYSFS_ROOT", "/nonexistent")
        .env("MMIODRV_FAKE_SYSFS_ONLY", "1")
        .env_remove("RUST_LOG")
        .env_remove("MMIODRV_DEVICE")
        .stdin(Stdio::null());
    c
}

/// Run `c`, killing it after `limit`: its output, or None when it had to be killed.
fn within(mut c: Command, limit: Duration) -> Option<Output> {
    let child = c.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let pid = child.id() as i32;
    let waiter = std::thread::spawn(move || child.wait_with_output().unwrap());
    let start = Instant::now();
    while !waiter.is_finished() && start.elapsed() < limit {
        std::thread::sleep(Duration::from_millis(10));
    }
    if !waiter.is_finished() {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::SIGKILL);
        let _ = waiter.join();
        return None;
    }
    Some(waiter.join().unwrap())
}

fn with_args(mut c: Command, args: &[&str]) -> Command {
    c.args(args);
    c
}

fn sparse(path: &Path, len: u64) {
    fs::File::create(path).unwrap().set_len(len).unwrap();
}

/// Point 3: `dump-regs --len` is capped at 16 MiB, refused before the
/// device is read (before: a 20 MiB hexdump of 1.3 million lines, and
/// `--len 4G` on a BAR that large an abort).
#[test]
fn dump_regs_len_is_capped() {
    let dir = tempfile::tempdir().unwrap();
    let shm = dir.path().join("shm");
    sparse(&shm, 32 << 20);
    let dev = format!("file:{}", shm.display());
    let o = within(with_args(plain(), &["--device", &dev, "dump-regs", "--len", "20M"]), Duration::from_secs(20))
        .expect("ends");
    expect(&o, 2);
    assert!(stderr(&o).contains("a hexdump shows at most 0x1000000 bytes"), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    let o = plain().args(["--device", &dev, "dump-regs", "--len", "4G"]).output().unwrap();
    expect(&o, 2);
}

/// Point 3: a FIFO given as a trace or a snapshot is refused at once (before:
/// `trace show FIFO` blocked in open(2), and one SIGTERM did not end it).
#[test]
fn fifos_are_refused_not_waited_on() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let f = fifo.to_str().unwrap();
    for args in [vec!["trace", "show", f], vec!["decode", f], vec!["diff", f, f], vec!["replay", f, "--dry-run"]] {
        let o = within(with_args(plain(), &args), Duration::from_secs(3))
            .unwrap_or_else(|| panic!("{args:?} blocked on the FIFO"));
        expect(&o, 2);
        assert!(stderr(&o).contains("must be a regular file"), "{args:?}: {}", stderr(&o));
    }
}

/// Point 3: trace and snapshot files are read up to a limit (128 MiB and
/// 64 MiB), not whole whatever their size.
#[test]
fn trace_and_snapshot_sizes_are_capped() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big");
    sparse(&big, 200 << 20);
    let b = big.to_str().unwrap();
    let o = plain().args(["trace", "show", b]).output().unwrap();
    expect(&o, 2);
    assert!(stderr(&o).contains("larger than the 134217728-byte limit for a trace"), "{}", stderr(&o));
    let o = plain().args(["decode", b]).output().unwrap();
    expect(&o, 2);
    assert!(stderr(&o).contains("larger than the 67108864-byte limit for a snapshot"), "{}", stderr(&o));
}

/// A TOML map for `sim:` devices.
fn sim_map(dir: &Path) -> String {
    let p = dir.join("dev.toml");
    fs::write(
        &p,
        "[device]\nname = \"t\"\nsize = 4096\n\n[[register]]\nname = \"ID\"\noffset = 0\nwidth = 32\naccess = \"RW\"\n",
    )
    .unwrap();
    format!("sim:{}", p.display())
}

fn term(pid: u32) {
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::SIGTERM);
}

/// Point 3: one SIGTERM ends the pipe protocol while it waits for its next
/// line (before, the read was restarted and a second signal was needed).
#[test]
fn one_signal_ends_a_pipe_protocol_waiting_for_input() {
    let dir = tempfile::tempdir().unwrap();
    let dev = sim_map(dir.path());
    let mut child = plain()
        .args(["--device", &dev, "batch", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _input = child.stdin.take();
    std::thread::sleep(Duration::from_millis(300));
    term(child.id());
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(2) && child.try_wait().unwrap().is_none() {
        std::thread::sleep(Duration::from_millis(10));
    }
    let ended = child.try_wait().unwrap();
    if ended.is_none() {
        let _ = child.kill();
    }
    let o = child.wait_with_output().unwrap();
    assert!(ended.is_some(), "still running 2 s after one SIGTERM");
    expect(&o, 143);
    assert!(stderr(&o).contains("interrupted by SIGTERM"), "{}", stderr(&o));
}

/// Point 3: one SIGTERM ends a run whose reader stopped reading its output
/// (before, the blocked write was restarted and a second signal was needed).
#[test]
fn one_signal_ends_a_run_whose_output_is_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let dev = sim_map(dir.path());
    let mut child = plain()
        .args(["--device", &dev, "batch", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    // Far more replies than a pipe holds; nobody reads them.
    let feeder = std::thread::spawn(move || {
        let lines = "read ID\n".repeat(20_000);
        let _ = std::io::Write::write_all(&mut input, lines.as_bytes());
    });
    std::thread::sleep(Duration::from_millis(800));
    term(child.id());
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(2) && child.try_wait().unwrap().is_none() {
        std::thread::sleep(Duration::from_millis(10));
    }
    let ended = child.try_wait().unwrap();
    if ended.is_none() {
        let _ = child.kill();
    }
    let status = child.wait().unwrap();
    let _ = feeder.join();
    assert!(ended.is_some(), "still running 2 s after one SIGTERM");
    assert_eq!(status.code(), Some(143), "{status:?}");
}

// ------------------------------------------------------------------ point 5: files written as root

/// A directory anyone may write (sticky, as /tmp), a root-owned 0600 victim,
/// and a link to it there that user nobody owns.
fn planted_link(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let victim = dir.join("victim");
    fs::write(&victim, "secret").unwrap();
    chmod(&victim, 0o600);
    let shared = dir.join("shared");
    fs::create_dir(&shared).unwrap();
    chmod(&shared, 0o1777);
    let link = shared.join("out");
    symlink(&victim, &link).unwrap();
    nix::unistd::fchownat(
        None,
        &link,
        Some(nix::unistd::Uid::from_raw(65534)),
        Some(nix::unistd::Gid::from_raw(65534)),
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .unwrap();
    (victim, link)
}

/// Point 5: as root, `--trace`, `snapshot --out`, `--state`, `--out` and
/// `regmap convert -o` never write through a link another user planted in
/// a shared directory (before: the root-owned 0600 victim was overwritten).
#[test]
fn root_never_writes_through_another_users_link() {
    if !is_root() {
        eprintln!("!!!!! not root: root_never_writes_through_another_users_link not run !!!!!");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let dev = sim_map(dir.path());
    let shm = dir.path().join("shm");
    sparse(&shm, 4096);
    let file_dev = format!("file:{}", shm.display());
    let map = dev.trim_start_matches("sim:").to_string();
    let cases: Vec<Vec<String>> = vec![
        vec!["--device".into(), dev.clone(), "--trace".into(), "LINK".into(), "read".into(), "ID".into()],
        vec!["--device".into(), dev.clone(), "snapshot".into(), "--out".into(), "LINK".into()],
        vec!["--device".into(), dev.clone(), "--state".into(), "LINK".into(), "write".into(), "ID".into(), "1".into()],
        vec![
            "--device".into(),
            file_dev.clone(),
            "ivshmem".into(),
            "read".into(),
            "--len".into(),
            "16".into(),
            "--out".into(),
            "LINK".into(),
        ],
        vec!["regmap".into(), "convert".into(), map.clone(), "--to".into(), "toml".into(), "-o".into(), "LINK".into()],
    ];
    for case in cases {
        let (victim, link) = planted_link(&tempfile::tempdir_in(dir.path()).unwrap().keep());
        let args: Vec<String> =
            case.iter().map(|a| if a == "LINK" { link.display().to_string() } else { a.clone() }).collect();
        let o = plain().args(&args).output().unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "secret", "{args:?} wrote through the link: {}", stderr(&o));
        assert_ne!(o.status.code(), Some(0), "{args:?}: {}", stdout(&o));
        assert!(stderr(&o).contains("a symbolic link owned by another user"), "{args:?}: {}", stderr(&o));
    }
}

/// Point 5: `--state FILE` no longer writes `FILE.tmp` by a fixed name (a
/// link planted there was followed); an output that is a second hard link
/// of another file replaces that name only (before: written through).
#[test]
fn state_and_outputs_never_follow_planted_names() {
    let dir = tempfile::tempdir().unwrap();
    let dev = sim_map(dir.path());
    let victim = dir.path().join("victim");
    fs::write(&victim, "secret").unwrap();
    let state = dir.path().join("state.json");
    symlink(&victim, dir.path().join("state.tmp")).unwrap();
    let o = plain().args(["--device", &dev, "--state", state.to_str().unwrap(), "write", "ID", "5"]).output().unwrap();
    expect(&o, 0);
    assert_eq!(fs::read_to_string(&victim).unwrap(), "secret");
    assert!(fs::read_to_string(&state).unwrap().contains("0x0000000000000005"));
    let hard = dir.path().join("snap.json");
    fs::hard_link(&victim, &hard).unwrap();
    let o = plain().args(["--device", &dev, "snapshot", "--out", hard.to_str().unwrap()]).output().unwrap();
    expect(&o, 0);
    assert_eq!(fs::read_to_string(&victim).unwrap(), "secret");
    assert!(fs::read_to_string(&hard).unwrap().contains("\"snapshot\""));
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str().map(str::to_string))
        .filter(|n| n.contains("mmiodrv-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// Point 5: a map file a trace names is loaded only with --recorded-map, and
/// then never compiled: text that is not TOML/XML/LiteX is not handed to the
/// SystemRDL compiler (before: `trace show` ran $MMIODRV_PYTHON on it).
#[test]
fn a_traces_map_is_never_run() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let python = dir.path().join("python");
    fs::write(&python, format!("#!/bin/sh\ntouch '{}'\nexit 3\n", marker.display())).unwrap();
    chmod(&python, 0o755);
    let evil = dir.path().join("evil.map");
    fs::write(&evil, "addrmap evil { reg { field {} f; } r; };\n").unwrap();
    let trace = dir.path().join("t.jsonl");
    fs::write(
        &trace,
        format!(
            "{{\"trace\":1,\"device\":\"ffff:00:04.0\",\"ids\":null,\"backend\":\"sysfs\",\"time\":\"t\"}}\n\
             {{\"us\":1,\"op\":\"regmap\",\"bar\":0,\"name\":\"evil\",\"file\":\"{}\"}}\n\
             {{\"us\":2,\"op\":\"read\",\"bar\":0,\"offset\":0,\"width\":32,\"value\":1}}\n",
            evil.display()
        ),
    )
    .unwrap();
    let t = trace.to_str().unwrap();
    for args in [vec!["trace", "show", t], vec!["trace", "show", t, "--recorded-map"], vec!["replay", t, "--dry-run"]] {
        let o = plain().env("MMIODRV_PYTHON", &python).args(&args).output().unwrap();
        expect(&o, 0);
        assert!(!marker.exists(), "{args:?} ran {}", python.display());
    }
    // Named directly but not *.rdl: refused, not compiled.
    let o = plain().env("MMIODRV_PYTHON", &python).args(["regmap", "show", evil.to_str().unwrap()]).output().unwrap();
    expect(&o, 7);
    assert!(stderr(&o).contains("SystemRDL is compiled only from a file named *.rdl"), "{}", stderr(&o));
    assert!(!marker.exists());
}

// ------------------------------------------------------------------ point 8: the rest

/// Point 8: `file:` refuses a file of the kernel's own filesystems (a
/// PCI BAR's sysfs resourceN is one; before, it was mapped as shared memory,
/// past the driver check and the lock). Shown on a sysfs file that is no BAR.
#[test]
fn file_refuses_sysfs_files() {
    let o = plain().args(["--device", "file:/sys/kernel/vmcoreinfo", "ivshmem", "info"]).output().unwrap();
    expect(&o, 6);
    assert!(stderr(&o).contains("it is a sysfs file, not shared memory"), "{}", stderr(&o));
    let o = plain().args(["--device", "file:/dev/zero", "read", "0x0"]).output().unwrap();
    expect(&o, 2);
    assert!(stderr(&o).contains("must be a regular file"), "{}", stderr(&o));
}

/// Point 8: control characters in a map's text (a value name with an
/// escape sequence that clears the screen and sets the terminal's title, a
/// description with a bidirectional override) are escaped wherever they are
/// printed: `regmap show`, `read`, `dump-regs`, `watch`. No ESC byte reaches
/// the terminal.
#[test]
fn map_text_is_escaped_when_printed() {
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("evil.toml");
    fs::write(
        &map,
        "[device]\nname = \"evil\"\nsize = 4096\ndescription = \"\\u001b]0;owned\\u0007\\u001b[2J block\\u202e\"\n\n\
         [[register]]\nname = \"CTRL\"\noffset = 0\nwidth = 32\naccess = \"RW\"\ndescription = \"x\\u001b[31m\"\n\n\
         [[register.field]]\nname = \"MODE\"\nbits = \"1:0\"\nvalues = { 0 = \"off\\u001b[2J\", 1 = \"on\" }\n",
    )
    .unwrap();
    let dev = format!("sim:{}", map.display());
    let m = map.to_str().unwrap();
    for args in [
        vec!["regmap", "show", m],
        vec!["--device", dev.as_str(), "read", "CTRL"],
        vec!["--device", dev.as_str(), "dump-regs"],
        vec!["--device", dev.as_str(), "watch", "CTRL", "--count", "1", "--timeout", "50"],
        vec!["--device", dev.as_str(), "--json", "dump-regs"],
    ] {
        let o = plain().args(&args).output().unwrap();
        assert!(!o.stdout.contains(&0x1b) && !o.stderr.contains(&0x1b), "{args:?} printed an ESC: {}", stdout(&o));
        assert!(!stdout(&o).contains('\u{202e}'), "{args:?}");
    }
    let o = plain().args(["regmap", "show", m]).output().unwrap();
    assert!(stdout(&o).contains("(\\u{1b}]0;owned\\u{7}\\u{1b}[2J block\\u{202e})"), "{}", stdout(&o));
    assert!(stdout(&o).contains("0x0=off\\u{1b}[2J"), "{}", stdout(&o));
}

// ------------------------------------------------------------------ point 7: ivshmem-server

struct ServerProc {
    child: std::process::Child,
    socket: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        term(self.child.id());
        let _ = self.child.wait();
    }
}

/// `ivshmem-server` with `extra` options, started through `sh -c PREFIX;
/// exec mmiodrv ...` (a umask, a descriptor limit), its output to `log`.
fn server(prefix: &str, extra: &[&str], dir_mode: u32) -> (ServerProc, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    chmod(dir.path(), dir_mode);
    let socket = dir.path().join("s.sock");
    let log = dir.path().join("log");
    let mut line = format!(
        "{prefix}; exec '{}' ivshmem-server --socket '{}' --shm '{}' --size 64K",
        env!("CARGO_BIN_EXE_mmiodrv"),
        socket.display(),
        dir.path().join("shm").display()
    );
    for e in extra {
        line.push_str(&format!(" '{e}'"));
    }
    let out = fs::File::create(&log).unwrap();
    let child = Command::new("sh")
        .arg("-c")
        .arg(line)
        .env("MMIODRV_FAKE_SYSFS_ONLY", "1")
        .env("MMIODRV_SYSFS_ROOT", "/nonexistent")
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    for _ in 0..200 {
        if socket.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(socket.exists(), "the server did not start: {}", fs::read_to_string(&log).unwrap_or_default());
    (ServerProc { child, socket, _dir: dir }, log)
}

/// Point 7: the socket is 0660 whatever the umask (before: it followed the
/// umask, 0777 under umask 0: anyone could take the memory and eventfds).
#[test]
fn ivshmem_server_socket_is_0660() {
    let (s, _) = server("umask 0", &[], 0o755);
    assert_eq!(fs::symlink_metadata(&s.socket).unwrap().mode() & 0o777, 0o660);
    let names: Vec<_> = fs::read_dir(s.socket.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(!names.iter().any(|n| n.to_string_lossy().starts_with(".ivshmem-server-")), "{names:?}");
}

/// Point 7: a peer whose user is not allowed (user nobody, reaching a 0666
/// socket) gets nothing: its connection is closed before a byte is sent,
/// and the server says why.
#[test]
fn ivshmem_server_checks_peer_credentials() {
    if !is_root() {
        eprintln!("!!!!! not root: ivshmem_server_checks_peer_credentials not run !!!!!");
        return;
    }
    use std::os::unix::process::CommandExt;
    let (s, log) = server("true", &["--socket-mode", "0666"], 0o755);
    let o = plain()
        .args(["ivshmem", "client", "--socket", s.socket.to_str().unwrap(), "peers"])
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    assert_ne!(o.status.code(), Some(0), "nobody became a peer: {}", stdout(&o));
    std::thread::sleep(Duration::from_millis(100));
    let text = fs::read_to_string(&log).unwrap();
    assert!(text.contains("of uid 65534 is not allowed"), "{text}");
    // The server's own user is a peer as before.
    let o = plain().args(["ivshmem", "client", "--socket", s.socket.to_str().unwrap(), "peers"]).output().unwrap();
    expect(&o, 0);
}

/// Point 7: at most --max-peers peers; the next is refused.
#[test]
fn ivshmem_server_limits_its_peers() {
    let (s, log) = server("true", &["--max-peers", "1"], 0o755);
    let first = std::os::unix::net::UnixStream::connect(&s.socket).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let o = plain().args(["ivshmem", "client", "--socket", s.socket.to_str().unwrap(), "peers"]).output().unwrap();
    assert_ne!(o.status.code(), Some(0), "a second peer got in: {}", stdout(&o));
    std::thread::sleep(Duration::from_millis(100));
    let text = fs::read_to_string(&log).unwrap();
    assert!(text.contains("1 peers already (the limit)"), "{text}");
    drop(first);
}

/// CPU time (user + system, in clock ticks) a process has used.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

/// Point 7: out of descriptors, the server pauses accepting instead of
/// spinning: over a second with connections waiting it uses little CPU and
/// reports the refusal about once (before: 100% CPU and about 500,000
/// warnings a second).
#[test]
fn ivshmem_server_backs_off_when_out_of_descriptors() {
    let (s, log) = server("ulimit -n 12", &["--max-peers", "100"], 0o755);
    let mut held = Vec::new();
    for _ in 0..8 {
        held.push(std::os::unix::net::UnixStream::connect(&s.socket).unwrap());
    }
    std::thread::sleep(Duration::from_millis(300));
    let (lines0, cpu0) = (fs::read_to_string(&log).unwrap().lines().count(), cpu_ticks(s.child.id()));
    std::thread::sleep(Duration::from_secs(1));
    let text = fs::read_to_string(&log).unwrap();
    let (lines, cpu) = (text.lines().count() - lines0, cpu_ticks(s.child.id()) - cpu0);
    assert!(text.contains("Too many open files"), "never out of descriptors: {text}");
    assert!(lines <= 3, "{lines} lines in a second:\n{}", text.lines().rev().take(5).collect::<Vec<_>>().join("\n"));
    assert!(cpu <= 15, "{cpu} ticks of CPU in a second");
    drop(held);
}

// ------------------------------------------------------------------ point 4: every mapping fault seen

/// Point 4: a `file:` device truncated during `ivshmem dump` (its mapping
/// takes bus errors from then on) ends with the device-gone error, exit 9
/// (before: exit 0 and a file of zeros). The file is truncated once the
/// mapping is logged (--log debug), while the dump copies 2 GiB.
#[test]
fn a_bulk_copy_sees_a_bus_error() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let shm = dir.path().join("shm");
    sparse(&shm, 2 << 30);
    let mut child = plain()
        .args([
            "--log",
            "debug",
            "--device",
            &format!("file:{}", shm.display()),
            "ivshmem",
            "dump",
            "--out",
            "/dev/null",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while err.read_line(&mut line).unwrap() > 0 {
        if line.contains("mmap ") && line.contains(shm.to_str().unwrap()) {
            fs::OpenOptions::new().write(true).open(&shm).unwrap().set_len(0).unwrap();
            break;
        }
        line.clear();
    }
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(9), "{rest}");
    assert!(rest.contains("the device is gone (a bus error on its BAR mapping"), "{rest}");
}

/// A fake edu whose directory disappears from the fake sysfs `after` a
/// command started (as `remove` takes a device out of sysfs while a stale
/// mapping of its BAR still reads, QEMU's and the fake tree's alike): the
/// command's exit status and stderr, and how long it ran after the removal.
fn removed_under(args: &[&str], after: Duration) -> (Output, Duration) {
    let tree = edu_tree();
    let child = cmd(&tree).args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    std::thread::sleep(after);
    let dev = tree.device_dir("ffff:00:04.0");
    fs::rename(&dev, tree.root().join("removed")).unwrap();
    let start = Instant::now();
    let o = child.wait_with_output().unwrap();
    (o, start.elapsed())
}

/// Point 4: a device removed from sysfs under a running poll ends it within
/// 1 s with the device-gone error, exit 9 (before: it polled on until its
/// timeout, exit 8).
#[test]
fn removal_under_a_poll_is_seen_within_a_second() {
    let (o, took) = removed_under(
        &["--device", "ffff:00:04.0", "poll", "0x0", "0x1", "--timeout", "5000"],
        Duration::from_millis(400),
    );
    expect(&o, 9);
    assert!(stderr(&o).contains("the device is gone (removed: its config space is gone from sysfs)"), "{}", stderr(&o));
    assert!(took < Duration::from_secs(1), "ended {took:?} after the removal");
}

/// Point 4: the same under `watch` (before: it watched on until its timeout).
#[test]
fn removal_under_a_watch_is_seen_within_a_second() {
    let (o, took) =
        removed_under(&["--device", "ffff:00:04.0", "watch", "0x0", "--timeout", "5000"], Duration::from_millis(400));
    expect(&o, 9);
    assert!(stderr(&o).contains("the device is gone"), "{}", stderr(&o));
    assert!(took < Duration::from_secs(1), "ended {took:?} after the removal");
}
