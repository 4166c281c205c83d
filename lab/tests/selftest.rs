//! Self-tests of the QEMU lab. Each boots real guests (TCG, ~7-15 s a boot).
//! A libtest-mimic harness (`harness = false`): without QEMU or the
//! `lab/prepare.sh` cache the trials are reported as ignored, with one loud line
//! saying why, except under CI=true, where that is a failure.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use libtest_mimic::{Arguments, Failed, Trial};
use mmiodrv_lab::serde_json::{json, Value};
use mmiodrv_lab::{
    hotplug_edu_device, Lab, LabConfig, LabError, E1000_BDF, EDU_BDF, HOTPLUG_EDU_BDF, HOTPLUG_EDU_ID,
    HOTPLUG_PORT_BDF, IVSHMEM_BDF, NVME_BDF, NVME_PORT_BDF, VIRTIO_BLK_BDF, VIRTIO_GPU_BDF, VIRTIO_NET_BDF, XHCI_BDF,
};

type TestFn = fn(LabConfig);
/// What a test's guest needs on top of the default.
type Configure = fn(&mut LabConfig);

const TESTS: &[(&str, Configure, TestFn)] = &[
    ("guest_end_to_end", |_| {}, guest_end_to_end),
    ("drop_on_panic_kills_qemu_and_cleans_up", |_| {}, drop_on_panic_kills_qemu_and_cleans_up),
    ("boot_failures_are_reported_quickly", |_| {}, boot_failures_are_reported_quickly),
    // One boot with every opt-in device and python (each boot costs 10-20 s of CI).
    (
        "opt_in_devices_hotplug_and_python",
        |c| {
            c.more_devices = true;
            c.python = true;
        },
        opt_in_devices_hotplug_and_python,
    ),
    ("lab_run_put_exec_and_example", |_| {}, lab_run_put_exec_and_example),
];

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let ci = std::env::var("CI").as_deref() == Ok("true");
    let mut skipped = Vec::new();
    let trials = TESTS
        .iter()
        .map(|&(name, configure, test)| {
            let mut cfg = LabConfig::without_mmiodrv();
            configure(&mut cfg);
            match cfg.check_prepared() {
                Ok(()) => Trial::test(name, move || {
                    test(cfg);
                    Ok(())
                }),
                Err(why) if ci => Trial::test(name, move || {
                    Err(Failed::from(format!("CI=true but the QEMU lab is unavailable: {why}")))
                }),
                Err(why) => {
                    skipped.push((why, name));
                    Trial::test(name, || Ok(())).with_ignored_flag(true)
                }
            }
        })
        .collect();
    if !skipped.is_empty() && !args.list {
        // One line per reason: usually all of them, for the one missing cache.
        let mut reasons: Vec<&String> = skipped.iter().map(|(why, _)| why).collect();
        reasons.dedup();
        for why in reasons {
            let names: Vec<&str> = skipped.iter().filter(|(w, _)| w == why).map(|(_, n)| *n).collect();
            let which = if names.len() == TESTS.len() { "all".to_string() } else { names.join(", ") };
            let line =
                format!("!!!!! SKIPPING mmiodrv-lab VM self-tests ({which}; reported as ignored): {why} !!!!!\n");
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
    }
    libtest_mimic::run(&args, trials).exit_code()
}

fn write_file(dir: &Path, name: &str, body: &str, mode: u32) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, body).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
    p
}

fn sysfs(lab: &mut Lab, bdf: &str, attr: &str) -> String {
    lab.run_ok(&format!("cat /sys/bus/pci/devices/{bdf}/{attr}")).unwrap().trim().to_string()
}

/// Physical address of BAR2 of the ivshmem device, from sysfs `resource`.
fn ivshmem_bar2(lab: &mut Lab) -> String {
    let line = lab.run_ok(&format!("sed -n 3p /sys/bus/pci/devices/{IVSHMEM_BDF}/resource")).unwrap();
    line.split_whitespace().next().unwrap().to_string()
}

fn assert_cleaned_up(pid: u32, temp_dir: &Path, shm: &Path) {
    assert!(!Path::new(&format!("/proc/{pid}")).exists(), "QEMU pid {pid} still exists");
    assert!(!temp_dir.exists(), "{} left behind", temp_dir.display());
    assert!(!shm.exists(), "{} left behind", shm.display());
}

fn guest_end_to_end(mut cfg: LabConfig) {
    let host = tempfile::tempdir().unwrap();
    let fake = write_file(host.path(), "mmiodrv", "#!/bin/sh\necho \"fake mmiodrv $*\"\n", 0o644);
    let extra = write_file(host.path(), "hello.txt", "hello from the overlay\n", 0o600);
    cfg.mmiodrv_binary = Some(fake);
    cfg.extra_files.push(("/etc/lab/hello.txt".into(), extra));

    let t0 = Instant::now();
    let mut lab = Lab::boot(cfg).unwrap();
    eprintln!("[selftest] boot to READY: {:.1} s, kernel {}", t0.elapsed().as_secs_f64(), lab.kernel_release());

    // Fixed PCI topology: the default guest has exactly these functions (the
    // documentation prints its `list`; opt-in devices must not show up here).
    let functions = lab.run_ok("ls /sys/bus/pci/devices").unwrap();
    let functions: Vec<&str> = functions.split_whitespace().collect();
    assert_eq!(
        functions,
        [
            "0000:00:00.0",
            EDU_BDF,
            IVSHMEM_BDF,
            E1000_BDF,
            VIRTIO_BLK_BDF,
            "0000:00:1f.0",
            "0000:00:1f.2",
            "0000:00:1f.3"
        ]
    );
    assert_eq!(sysfs(&mut lab, EDU_BDF, "vendor"), "0x1234");
    assert_eq!(sysfs(&mut lab, EDU_BDF, "device"), "0x11e8");
    assert_eq!(sysfs(&mut lab, IVSHMEM_BDF, "vendor"), "0x1af4");
    assert_eq!(sysfs(&mut lab, IVSHMEM_BDF, "device"), "0x1110");
    let lspci = lab.run_ok("lspci -n -s 00:04.0").unwrap();
    assert!(lspci.contains("1234:11e8"), "{lspci}");
    let named = lab.run_ok("lspci -s 00:05.0").unwrap();
    assert!(named.contains("Inter-VM shared memory"), "pci.ids: {named}");

    // Drivers the project needs are loaded; VFIO sees the IOMMU.
    let mods = lab.run_ok("cat /proc/modules").unwrap();
    for m in ["uio_pci_generic", "vfio_pci", "vfio_iommu_type1"] {
        assert!(mods.contains(m), "{m} not loaded:\n{mods}");
    }
    lab.run_ok("test -c /dev/vfio/vfio && test -d /sys/kernel/iommu_groups/0").unwrap();

    // Status and both output streams come back, byte-exact.
    let out = lab.run("echo out; echo err >&2; exit 3").unwrap();
    assert_eq!((out.status, out.stdout_str().as_str(), out.stderr_str().as_str()), (3, "out\n", "err\n"));
    match lab.run_ok("false") {
        Err(LabError::CommandFailed { output, .. }) => assert_eq!(output.status, 1),
        other => panic!("expected CommandFailed, got {other:?}"),
    }

    // Overlay: the binary is first on PATH, extra files keep content.
    assert_eq!(lab.run_ok("command -v mmiodrv").unwrap().trim(), "/usr/local/bin/mmiodrv");
    assert_eq!(lab.run_ok("mmiodrv a 'b c'").unwrap(), "fake mmiodrv a b c\n");
    assert_eq!(lab.run_ok("cat /etc/lab/hello.txt").unwrap(), "hello from the overlay\n");

    // PUT and binary-safe output.
    let bytes: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    lab.put_file("/tmp/sub/dir/blob", &bytes).unwrap();
    assert_eq!(lab.run("cat /tmp/sub/dir/blob").unwrap().stdout, bytes);
    assert!(lab.put_file("/proc/nope/x", b"x").is_err());

    // ivshmem: guest writes BAR2, host sees the file; and the other way round.
    let bar2 = ivshmem_bar2(&mut lab);
    lab.run_ok(&format!("devmem {bar2} 32 0xdeadbeef")).unwrap();
    let shm = fs::read(lab.shm_path()).unwrap();
    assert_eq!(&shm[..4], &0xdeadbeef_u32.to_le_bytes());
    let mut shm = shm;
    shm[8..12].copy_from_slice(&0x1234_5678_u32.to_le_bytes());
    fs::write(lab.shm_path(), &shm).unwrap();
    let addr = u64::from_str_radix(bar2.trim_start_matches("0x"), 16).unwrap() + 8;
    let read = lab.run_ok(&format!("devmem {addr:#x} 32")).unwrap();
    assert_eq!(read.trim().to_lowercase(), "0x12345678");

    // Guest-side timeout kills the command; the agent stays usable.
    let t = Instant::now();
    match lab.run_with_timeout("echo started; sleep 30", Duration::from_secs(2)) {
        Err(LabError::CommandTimeout { output, .. }) => {
            assert_eq!(output.stdout_str(), "started\n")
        }
        other => panic!("expected CommandTimeout, got {other:?}"),
    }
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    assert_eq!(lab.run_ok("echo alive").unwrap(), "alive\n");

    // A lossy UART. A request that lost its end (a cut-short line, here with
    // the next request run into it) is refused, never run; the next request is
    // sent again and runs. A RUN that arrives twice runs once.
    let line = |id: u64, cmd: &str| {
        let head = format!("RUN {id} 60 {}", B64.encode(cmd));
        format!("{head} {}\n", head.len())
    };
    let cut = line(1_000_000, "touch /tmp/must-not-run");
    lab.send_raw_for_tests(&cut[..cut.len() - 5]).unwrap();
    assert_eq!(lab.run_ok("echo after the cut").unwrap(), "after the cut\n");
    let twice = line(1_000_001, "echo once >> /tmp/runs");
    lab.send_raw_for_tests(&format!("{twice}{twice}")).unwrap();
    assert_eq!(
        lab.run_ok("cat /tmp/runs; test ! -e /tmp/must-not-run && echo never ran").unwrap(),
        "once\nnever ran\n"
    );

    // QMP: a command's reply; an error is LabError::Qmp; the guest stays up.
    let status = lab.qmp("query-status", Value::Null).unwrap();
    assert_eq!(status["status"], "running", "{status}");
    let pci = lab.qmp("query-pci", Value::Null).unwrap();
    let slots: Vec<u64> = pci[0]["devices"].as_array().unwrap().iter().map(|d| d["slot"].as_u64().unwrap()).collect();
    assert!(slots.contains(&4) && slots.contains(&5), "{slots:?}");
    match lab.qmp("device_del", json!({"id": "no-such-device"})) {
        Err(LabError::Qmp { class, desc, .. }) => assert!(desc.contains("no-such-device"), "{class}: {desc}"),
        other => panic!("expected a QMP error, got {other:?}"),
    }
    assert_eq!(lab.run_ok("echo still here").unwrap(), "still here\n");

    // Latency.
    let n = 10;
    let t = Instant::now();
    for _ in 0..n {
        lab.ping().unwrap();
    }
    let ping = t.elapsed() / n;
    let t = Instant::now();
    for _ in 0..n {
        lab.run_ok("true").unwrap();
    }
    let run = t.elapsed() / n;
    eprintln!("[selftest] round trip: ping {ping:?}, run(\"true\") {run:?}");

    assert!(lab.console_tail(200).contains("[lab-init] modules:"));
    let (pid, dir, shm) = (lab.pid(), lab.temp_dir().to_path_buf(), lab.shm_path().to_path_buf());
    assert!(dir.join("console.log").exists() && shm.exists());
    let t = Instant::now();
    lab.shutdown().unwrap();
    eprintln!("[selftest] shutdown: {:.1} s", t.elapsed().as_secs_f64());
    assert_cleaned_up(pid, &dir, &shm);
}

fn drop_on_panic_kills_qemu_and_cleans_up(cfg: LabConfig) {
    let mut seen = None;
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut lab = Lab::boot(cfg).unwrap();
        seen = Some((lab.pid(), lab.temp_dir().to_path_buf(), lab.shm_path().to_path_buf()));
        lab.run_ok("true").unwrap();
        panic!("deliberate panic with a running guest");
    }));
    assert!(result.is_err());
    let (pid, dir, shm) = seen.expect("lab booted");
    assert_cleaned_up(pid, &dir, &shm);
}

fn boot_failures_are_reported_quickly(base: LabConfig) {
    let scratch = tempfile::tempdir().unwrap();
    let garbage = write_file(scratch.path(), "garbage", "this is not a kernel\n", 0o644);

    // Missing kernel: clear message, no QEMU started.
    let mut cfg = base.clone();
    cfg.kernel = scratch.path().join("no-such-vmlinuz");
    let err = Lab::boot(cfg).err().expect("must fail").to_string();
    assert!(err.contains("no-such-vmlinuz") && err.contains("prepare.sh"), "{err}");

    // A file that is not a kernel: QEMU refuses it; its message is in the error.
    let mut cfg = base.clone();
    cfg.kernel = garbage.clone();
    let t = Instant::now();
    let err = Lab::boot(cfg).err().expect("must fail").to_string();
    assert!(t.elapsed() < Duration::from_secs(30), "{:?}", t.elapsed());
    assert!(err.contains("qemu says"), "{err}");

    // A broken initramfs: the kernel panics (panic=-1, -no-reboot), QEMU exits,
    // and the error shows the console.
    let mut cfg = base.clone();
    cfg.base_initramfs = garbage;
    let t = Instant::now();
    let err = Lab::boot(cfg).err().expect("must fail").to_string();
    eprintln!("[selftest] kernel panic detected after {:.1} s", t.elapsed().as_secs_f64());
    assert!(err.contains("Kernel panic"), "{err}");
    assert!(t.elapsed() < Duration::from_secs(60), "{:?}", t.elapsed());

    // Boot timeout: reported within the timeout, with the console so far.
    let mut cfg = base;
    cfg.boot_timeout = Duration::from_secs(2);
    let t = Instant::now();
    let err = Lab::boot(cfg).err().expect("must fail").to_string();
    assert!(err.contains("not READY within"), "{err}");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
}

/// `vendor:device` of a guest PCI function, from sysfs (`0x1234:0x11e8`).
fn pci_id(lab: &mut Lab, bdf: &str) -> String {
    format!("{}:{}", sysfs(lab, bdf, "vendor"), sysfs(lab, bdf, "device"))
}

/// Polls in the guest (one request) until `test EXPR` holds, at most `secs`.
fn wait_in_guest(lab: &mut Lab, expr: &str, secs: u32) -> bool {
    let cmd = format!("i=0; while ! test {expr}; do i=$((i+1)); [ $i -gt {} ] && exit 1; sleep 0.1; done", secs * 10);
    lab.run_with_timeout(&cmd, Duration::from_secs(u64::from(secs) + 10)).unwrap().success()
}

/// `more_devices` (which implies `pcie_hotplug`) and `python` in one guest.
fn opt_in_devices_hotplug_and_python(cfg: LabConfig) {
    let mut lab = Lab::boot(cfg).unwrap();
    eprintln!("[selftest] more_devices + python boot to READY: {:.1} s", lab.boot_time().as_secs_f64());
    more_devices_at_fixed_addresses(&mut lab);
    pcie_hotplug_via_qmp(&mut lab);
    python_in_guest(&mut lab);
    lab.shutdown().unwrap();
}

fn pcie_hotplug_via_qmp(lab: &mut Lab) {
    assert_eq!(pci_id(lab, HOTPLUG_PORT_BDF), "0x1b36:0x000c"); // pcie-root-port
    assert_eq!(pci_id(lab, HOTPLUG_EDU_BDF), "0x1234:0x11e8");
    let path = lab.run_ok(&format!("readlink -f /sys/bus/pci/devices/{HOTPLUG_EDU_BDF}")).unwrap();
    assert!(path.trim().ends_with(&format!("{HOTPLUG_PORT_BDF}/{HOTPLUG_EDU_BDF}")), "{path}");
    let lspci = lab.run_ok("lspci -n").unwrap();
    assert!(lspci.contains("01:00.0 00ff: 1234:11e8"), "{lspci}");
    let slot = lab.run_ok(&format!("lspci -vv -s {HOTPLUG_PORT_BDF}")).unwrap();
    assert!(slot.contains("HotPlug+"), "root port without hotplug:\n{slot}");
    let gone = format!("! -e /sys/bus/pci/devices/{HOTPLUG_EDU_BDF}");
    let back = format!("-e /sys/bus/pci/devices/{HOTPLUG_EDU_BDF}/vendor");

    for round in 1..=2 {
        let t = Instant::now();
        lab.device_del(HOTPLUG_EDU_ID).unwrap();
        let del = t.elapsed();
        assert!(wait_in_guest(lab, &gone, 5), "{HOTPLUG_EDU_BDF} still in the guest after DEVICE_DELETED");
        let lspci = lab.run_ok("lspci -n").unwrap();
        assert_eq!(lspci.matches("1234:11e8").count(), 1, "only the edu at 00:04.0 is left:\n{lspci}");
        let t = Instant::now();
        lab.device_add(hotplug_edu_device()).unwrap();
        assert!(wait_in_guest(lab, &back, 30), "{HOTPLUG_EDU_BDF} did not come back");
        eprintln!(
            "[selftest] hotplug round {round}: device_del {:.1} s, device_add to sysfs {:.1} s",
            del.as_secs_f64(),
            t.elapsed().as_secs_f64()
        );
        assert_eq!(pci_id(lab, HOTPLUG_EDU_BDF), "0x1234:0x11e8");
    }
    // The re-added edu works: its ID register through BAR0.
    let bar0 = lab.run_ok(&format!("sed -n 1p /sys/bus/pci/devices/{HOTPLUG_EDU_BDF}/resource")).unwrap();
    let bar0 = bar0.split_whitespace().next().unwrap().to_string();
    lab.run_ok(&format!("setpci -s {HOTPLUG_EDU_BDF} COMMAND=0x2:0x2")).unwrap(); // memory decoding on
    assert_eq!(lab.run_ok(&format!("devmem {bar0} 32")).unwrap().trim().to_lowercase(), "0x010000ed");

    // Its address is taken: device_add fails with a QMP error. (Without "addr"
    // QEMU would pick function 00.1 of the same slot.)
    let second = json!({"driver": "edu", "id": "second-edu", "bus": mmiodrv_lab::HOTPLUG_PORT_ID, "addr": "00.0"});
    match lab.device_add(second) {
        Err(LabError::Qmp { desc, .. }) => eprintln!("[selftest] device_add into the taken slot: {desc}"),
        other => panic!("expected a QMP error, got {other:?}"),
    }
    // An id QEMU does not know: a QMP error at once, no wait for an event.
    let t = Instant::now();
    assert!(matches!(lab.device_del("no-such-device"), Err(LabError::Qmp { .. })));
    assert!(t.elapsed() < Duration::from_secs(2));
}

fn more_devices_at_fixed_addresses(lab: &mut Lab) {
    for (bdf, id) in [
        (EDU_BDF, "0x1234:0x11e8"),
        (IVSHMEM_BDF, "0x1af4:0x1110"),
        (E1000_BDF, "0x8086:0x100e"),
        (VIRTIO_BLK_BDF, "0x1af4:0x1001"),
        (HOTPLUG_PORT_BDF, "0x1b36:0x000c"),
        (HOTPLUG_EDU_BDF, "0x1234:0x11e8"),
        (NVME_PORT_BDF, "0x1b36:0x000c"),
        (NVME_BDF, "0x1b36:0x0010"),
        (XHCI_BDF, "0x1b36:0x000d"),
        (VIRTIO_NET_BDF, "0x1af4:0x1000"),
        (VIRTIO_GPU_BDF, "0x1af4:0x1050"),
    ] {
        assert_eq!(pci_id(lab, bdf), id, "{bdf}");
    }
    let path = lab.run_ok(&format!("readlink -f /sys/bus/pci/devices/{NVME_BDF}")).unwrap();
    assert!(path.trim().ends_with(&format!("{NVME_PORT_BDF}/{NVME_BDF}")), "{path}");
    // lspci -vvv reads every device's config space (what `mmiodrv info` is compared with).
    let vvv = lab.run_ok("lspci -vvv").unwrap();
    for want in ["Non-Volatile memory controller", "USB controller", "Ethernet controller: Red Hat, Inc. Virtio"] {
        assert!(vvv.contains(want), "{want} not in lspci -vvv:\n{vvv}");
    }
    // The virtio NIC has no peer: nothing it sends can leave the guest.
    let pci = lab.qmp("query-pci", Value::Null).unwrap();
    assert!(pci.to_string().contains("\"qdev_id\":\"lab-vnet\""), "{pci}");
}

fn python_in_guest(lab: &mut Lab) {
    let t = Instant::now();
    let out = lab.run_ok("python3 -c 'import json, struct, mmap, os, select, pty; print(42)'").unwrap();
    assert_eq!(out, "42\n");
    eprintln!("[selftest] python3 -c 'import ...' in the guest: {:.2} s", t.elapsed().as_secs_f64());
    // The standard library is there without its test suites; site-packages are not there.
    let out = lab
        .run_ok("python3 -c 'import sys, sysconfig; print(sys.version); print(sysconfig.get_path(\"stdlib\"))'")
        .unwrap();
    let stdlib = out.lines().nth(1).unwrap().to_string();
    lab.run_ok(&format!("test -f {stdlib}/os.py && test ! -e {stdlib}/test && test ! -e {stdlib}/idlelib")).unwrap();
    let code = "import mmap, os; f = os.open('/sys/bus/pci/devices/0000:00:05.0/resource2', os.O_RDWR); \
                m = mmap.mmap(f, 4096); m[:4] = b'py42'; print(m[:4].decode())";
    assert_eq!(lab.run_ok(&format!("python3 -c \"{code}\"")).unwrap(), "py42\n");
    assert_eq!(&fs::read(lab.shm_path()).unwrap()[..4], b"py42");
}

/// `lab/run` with the lab's own binary (`LAB_BIN`) and no mmiodrv (`LAB_MMIODRV=`),
/// so it needs nothing from the main crate: `--put` with `--exec`, and `--example`
/// of a throw-away package given by path.
fn lab_run_put_exec_and_example(_cfg: LabConfig) {
    let root = mmiodrv_lab::repo_root();
    let host = tempfile::tempdir().unwrap();
    let a = write_file(host.path(), "a.txt", "file a\n", 0o640);
    let b = write_file(host.path(), "b.sh", "#!/bin/sh\necho b says $1\n", 0o755);
    let lab_run = |args: &[&str]| {
        let out = Command::new(root.join("lab/run"))
            .args(args)
            .env("LAB_BIN", env!("CARGO_BIN_EXE_mmiodrv-lab"))
            .env("LAB_MMIODRV", "")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
    };
    let (code, stdout, stderr) = lab_run(&[
        "--put",
        a.to_str().unwrap(),
        "--put",
        &format!("{}:/opt/tools/b", b.display()),
        "--exec",
        "cat /root/a.txt; stat -c %a /root/a.txt /opt/tools/b; /opt/tools/b hi; exit 7",
    ]);
    assert_eq!(code, Some(7), "{stderr}");
    assert_eq!(stdout, "file a\n640\n755\nb says hi\n", "{stderr}");

    // A package outside the workspace, given by path: built static and run with its arguments.
    let pkg = host.path().join("labex");
    fs::create_dir_all(pkg.join("examples")).unwrap();
    fs::write(
        pkg.join("Cargo.toml"),
        "[package]\nname = \"labex\"\nversion = \"0.0.0\"\nedition = \"2021\"\n[workspace]\n",
    )
    .unwrap();
    fs::write(
        pkg.join("examples/hello.rs"),
        "fn main() { let a: Vec<String> = std::env::args().skip(1).collect(); \
         println!(\"hello {:?} from {}\", a, std::fs::read_to_string(\"/proc/sys/kernel/hostname\").unwrap().trim()); }",
    )
    .unwrap();
    fs::create_dir_all(pkg.join("src")).unwrap();
    fs::write(pkg.join("src/lib.rs"), "").unwrap();
    let (code, stdout, stderr) =
        lab_run(&["--put", a.to_str().unwrap(), "--package", pkg.to_str().unwrap(), "--example", "hello", "x", "y z"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout, "hello [\"x\", \"y z\"] from lab\n", "{stderr}");
}
