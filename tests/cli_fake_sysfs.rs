//! The `mmiodrv` binary against fake sysfs trees: every command, output mode and
//! error path that can be shown without a device. (The same commands run on QEMU's
//! real devices in tests/vm.rs.)

mod common;

use std::fs;
use std::os::unix::fs::FileExt;
use std::process::{Command, Output};

use common::fake_sysfs::{FakeDevice, FakeSysfs, IO, MEM32, MEM64_PREF};

fn mmiodrv(tree: &FakeSysfs, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mmiodrv"))
        .args(args)
        .env("MMIODRV_SYSFS_ROOT", tree.root())
        .env("MMIODRV_FAKE_SYSFS_ONLY", "1")
        .env("MMIODRV_PCI_IDS", "/nonexistent")
        .env_remove("RUST_LOG")
        .env_remove("MMIODRV_DEVICE")
        .output()
        .expect("run mmiodrv")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Assert an exit status, showing the output when it is wrong.
fn expect(o: &Output, code: i32) {
    assert_eq!(o.status.code(), Some(code), "stdout:\n{}\nstderr:\n{}", stdout(o), stderr(o));
}

fn edu_tree() -> FakeSysfs {
    let t = FakeSysfs::new();
    t.add(&FakeDevice::edu("ffff:00:04.0"));
    t
}

fn bar_file(t: &FakeSysfs, addr: &str, bar: u8) -> fs::File {
    fs::OpenOptions::new().read(true).write(true).open(t.device_dir(addr).join(format!("resource{bar}"))).unwrap()
}

fn put32(t: &FakeSysfs, addr: &str, bar: u8, offset: u64, v: u32) {
    bar_file(t, addr, bar).write_all_at(&v.to_le_bytes(), offset).unwrap();
}

fn get32(t: &FakeSysfs, addr: &str, bar: u8, offset: u64) -> u32 {
    let mut b = [0u8; 4];
    bar_file(t, addr, bar).read_exact_at(&mut b, offset).unwrap();
    u32::from_le_bytes(b)
}

#[test]
fn list_shows_every_device_with_driver_group_and_match() {
    let t = edu_tree();
    t.add(&FakeDevice {
        address: "ffff:00:05.0",
        vendor: 0x1af4,
        device: 0x1110,
        class: 0x050000,
        driver: Some("vfio-pci"),
        iommu_group: Some(4),
        ..FakeDevice::edu("")
    });
    t.add(&FakeDevice {
        address: "ffff:00:03.0",
        vendor: 0x8086,
        device: 0x100e,
        class: 0x020000,
        driver: Some("e1000"),
        iommu_group: None,
        ..FakeDevice::edu("")
    });
    let o = mmiodrv(&t, &["list"]);
    expect(&o, 0);
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(lines[0].starts_with("ADDRESS       CLASS"), "{out}");
    assert!(lines[1].starts_with("ffff:00:03.0  Network controller"), "{out}");
    assert!(lines[1].contains("Device 8086:100e"), "{out}");
    assert!(lines[1].contains(" e1000 ") && lines[1].ends_with("e1000"), "kernel driver and mmiodrv driver: {out}");
    assert!(lines[2].contains("Device 1234:11e8") && lines[2].contains(" 3 ") && lines[2].ends_with("edu"), "{out}");
    assert!(lines[3].contains("vfio-pci") && lines[3].ends_with("ivshmem"), "{out}");

    let o = mmiodrv(&t, &["list", "--json"]);
    expect(&o, 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let devs = v["devices"].as_array().unwrap();
    assert_eq!(devs.len(), 3);
    assert_eq!(devs[1]["device"], "ffff:00:04.0");
    assert_eq!((devs[1]["vendor_id"].as_u64(), devs[1]["ids"].as_str()), (Some(0x1234), Some("1234:11e8")));
    assert_eq!(devs[1]["class"], 0x00ff00);
    assert_eq!(devs[1]["mmiodrv_driver"], "edu");
    assert_eq!(devs[1]["iommu_group"], 3);
    assert_eq!(devs[2]["kernel_driver"], "vfio-pci");
    assert_eq!(devs[0]["mmiodrv_driver"], "e1000");
}

#[test]
fn device_selectors() {
    let t = edu_tree();
    for sel in ["ffff:00:04.0", "FFFF:00:04.0", "1234:11e8"] {
        let o = mmiodrv(&t, &["--device", sel, "read", "0x0", "--quiet"]);
        expect(&o, 0);
    }
    let o = mmiodrv(&t, &["--device", "00:04", "info"]);
    expect(&o, 2);
    assert!(stderr(&o).contains("expected DDDD:BB:DD.F, BB:DD.F or VVVV:DDDD"), "{}", stderr(&o));
    assert_eq!(stderr(&o).lines().count(), 1);
    let o = mmiodrv(&t, &["--device", "ffff:00:09.0", "info"]);
    expect(&o, 3);
    assert!(stderr(&o).contains("no PCI device matches 'ffff:00:09.0'"));
    // The short form means domain 0, which no fake tree has.
    let o = mmiodrv(&t, &["--device", "00:1e.7", "info"]);
    expect(&o, 3);
    assert!(stderr(&o).contains("no PCI device matches '0000:00:1e.7'"), "{}", stderr(&o));
    t.add(&FakeDevice::edu("ffff:00:06.0"));
    let o = mmiodrv(&t, &["--device", "1234:11e8", "read", "0x0"]);
    expect(&o, 2);
    assert!(stderr(&o).contains("matches 2 devices: ffff:00:04.0, ffff:00:06.0"), "{}", stderr(&o));
    let o = mmiodrv(&t, &["read", "0x0"]);
    expect(&o, 2);
    assert!(stderr(&o).contains("this command needs --device DDDD:BB:DD.F"), "{}", stderr(&o));
    assert_eq!(stderr(&o).lines().count(), 1);
    // info and config, as lspci, print every device selected: all by default.
    let o = mmiodrv(&t, &["--device", "1234:11e8", "info"]);
    expect(&o, 0);
    let titles = |o: &Output| stdout(o).lines().filter(|l| l.starts_with("ffff:")).count();
    assert_eq!(titles(&o), 2);
    assert_eq!(titles(&mmiodrv(&t, &["info"])), 2);
    assert_eq!(titles(&mmiodrv(&t, &["config"])), 2);
}

#[test]
fn info_decodes_header_bars_capabilities_and_group() {
    let t = FakeSysfs::new();
    t.add(&FakeDevice {
        bars: vec![(0x100, MEM32), (0x1000, MEM32), (0x400000, MEM64_PREF), (0, 0), (0x20, IO)],
        ..FakeDevice::edu("ffff:00:04.0")
    });
    let o = mmiodrv(&t, &["--device", "ffff:00:04.0", "info"]);
    expect(&o, 0);
    let out = stdout(&o);
    for want in [
        "ffff:00:04.0 Class 00ff: Device 1234:11e8 (rev 10)",
        "\tSubsystem: Device 1af4:1100",
        "\tControl: I/O+ Mem+ BusMaster+ SpecCycle-",
        "\tStatus: Cap+ 66MHz- UDF- FastB2B- ParErr- DEVSEL=fast",
        "\tInterrupt: pin A routed to IRQ 10",
        "\tRegion 0: Memory at fe000000 (32-bit, non-prefetchable) [size=256]",
        "\tRegion 1: Memory at fe001000 (32-bit, non-prefetchable) [size=4K]",
        "\tRegion 2: Memory at fe002000 (64-bit, prefetchable) [size=4M]",
        "\tRegion 4: I/O ports at c000 [size=32]",
        "\tCapabilities: [40] MSI: Enable- Count=1/1 Maskable- 64bit+",
        "\tIOMMU group: 3\n",
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }
    let o = mmiodrv(&t, &["--device", "ffff:00:04.0", "info", "--json"]);
    expect(&o, 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["vendor_id"], 0x1234);
    assert_eq!(v["bars"][2]["len"], 0x400000);
    assert_eq!(v["bars"][2]["is_64bit"], true);
    assert_eq!(v["capabilities"][0]["id"], 5);
    assert_eq!(v["capabilities"][0]["fields"][1]["name"], "CountEnabled");
    assert_eq!(v["mmiodrv_driver"], "edu");
    let msi = v["registers"].as_array().unwrap().iter().find(|r| r["name"] == "MSI.CTRL").unwrap();
    assert_eq!(msi["fields"][1]["name"], "64BIT");
    assert_eq!(msi["fields"][1]["value"], 1);
}

#[test]
fn config_prints_lspci_xxx_layout() {
    let t = edu_tree();
    let o = mmiodrv(&t, &["--device", "ffff:00:04.0", "config"]);
    expect(&o, 0);
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1 + 16 + 1, "{out}");
    assert_eq!(lines[1], "00: 34 12 e8 11 07 00 10 00 10 00 ff 00 00 00 00 00");
    assert!(lines[16].starts_with("f0: "));
}

#[test]
fn dump_regs_reads_by_name_and_skips_write_only() {
    let t = edu_tree();
    put32(&t, "ffff:00:04.0", 0, 0x00, 0x0100_00ed);
    put32(&t, "ffff:00:04.0", 0, 0x20, 0x81);
    let o = mmiodrv(&t, &["--device", "ffff:00:04.0", "dump-regs"]);
    expect(&o, 0);
    let out = stdout(&o);
    assert!(out.starts_with("edu ffff:00:04.0 BAR0 (built-in edu map)"), "{out}");
    assert!(out.contains("0x0000  ID          0x010000ed          MAJOR=0x1 MINOR=0x0 MAGIC=0xed (edu)"), "{out}");
    assert!(out.contains("STATUS      0x00000081          IRQ_FACT=0x1 COMPUTING=0x1 (busy)"), "{out}");
    assert!(out.contains("IRQ_RAISE   (write-only)"), "{out}");
    assert!(out.contains("DMA_CMD     0x0000000000000000"), "{out}");

    let o = mmiodrv(&t, &["--device", "ffff:00:04.0", "dump-regs", "--json"]);
    expect(&o, 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["map"], "edu");
    assert_eq!(v["registers"][0]["value"], 0x0100_00ed);
    assert_eq!(v["registers"][5]["name"], "IRQ_RAISE");
    assert_eq!(v["registers"][5]["skipped"], "write-only");
    assert_eq!(v["registers"][5]["value"], serde_json::Value::Null);
}

#[test]
fn read_side_effect_registers_are_not_read_without_all() {
    let t = FakeSysfs::new();
    t.add(&FakeDevice {
        vendor: 0x1af4,
        device: 0x1110,
        class: 0x050000,
        bars: vec![(0x100, MEM32), (0x1000, MEM32), (0x100000, MEM64_PREF)],
        ..FakeDevice::edu("ffff:00:05.0")
    });
    put32(&t, "ffff:00:05.0", 0, 0x04, 1);
    let o = mmiodrv(&t, &["--device", "ffff:00:05.0", "dump-regs", "--json"]);
    expect(&o, 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["registers"][1]["name"], "INTR_STATUS");
    assert_eq!(v["registers"][1]["skipped"], "read-side-effects");
    let o = mmiodrv(&t, &["--device", "ffff:00:05.0", "dump-regs", "--all", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["registers"][1]["value"], 1);
}

#[test]
fn hexdump_without_a_map() {
    let t = FakeSysfs::new();
    t.add(&FakeDevice { vendor: 0x8086, device: 0x1234, ..FakeDevice::edu("ffff:00:07.0") });
    put32(&t, "ffff:00:07.0", 0, 0x14, 0xdead_beef);
    let o = mmiodrv(&t, &["--device", "ffff:00:07.0", "dump-regs", "--len", "32"]);
    expect(&o, 0);
    let out = stdout(&o);
    assert!(out.contains("00000010: 00000000 deadbeef 00000000 00000000"), "{out}");
    let o = mmiodrv(&t, &["--device", "ffff:00:07.0", "dump-regs", "--offset", "0x2", "--len", "4"]);
    expect(&o, 2);
    let o = mmiodrv(&t, &["--device", "ffff:00:07.0", "dump-regs", "--offset", "1M"]);
    expect(&o, 2);
    assert!(stderr(&o).contains("outside"), "{}", stderr(&o));
}

#[test]
fn read_and_write_by_offset_name_and_field() {
    let t = edu_tree();
    let dev = ["--device", "ffff:00:04.0"];
    let run = |args: &[&str]| mmiodrv(&t, &[&dev[..], args].concat());

    let o = run(&["write", "0x4", "0xf0f0f0f0"]);
    expect(&o, 0);
    assert_eq!(stdout(&o).trim(), "ffff:00:04.0 BAR0 0x0004 <- 0xf0f0f0f0");
    assert_eq!(get32(&t, "ffff:00:04.0", 0, 4), 0xf0f0_f0f0);

    let o = run(&["read", "LIVENESS", "--quiet"]);
    expect(&o, 0);
    assert_eq!(stdout(&o), "0xf0f0f0f0\n");

    put32(&t, "ffff:00:04.0", 0, 0, 0x0100_00ed);
    let o = run(&["read", "id.magic", "--json"]);
    expect(&o, 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (v["register"].as_str(), v["field"].as_str(), v["value"].as_u64()),
        (Some("ID"), Some("MAGIC"), Some(0xed))
    );

    // Field write is read-modify-write.
    put32(&t, "ffff:00:04.0", 0, 0x20, 0x1);
    let o = run(&["write", "STATUS.IRQ_FACT", "1", "--verify"]);
    expect(&o, 0);
    assert_eq!(get32(&t, "ffff:00:04.0", 0, 0x20), 0x81);

    // 64-bit register in one access.
    let o = run(&["write", "DMA_SRC", "0x1122334455667788"]);
    expect(&o, 0);
    assert_eq!(get32(&t, "ffff:00:04.0", 0, 0x84), 0x1122_3344);
    let o = run(&["read", "0x80", "--width", "64", "--quiet"]);
    assert_eq!(stdout(&o), "0x1122334455667788\n");

    // --verify: a register that does not hold the value fails with exit 6.
    // (On the fake tree memory holds it, so verify passes.)
    let o = run(&["write", "0x8", "5", "--verify", "--quiet"]);
    expect(&o, 0);
    assert_eq!(stdout(&o), "0x00000005\n");
}

#[test]
fn bad_register_accesses_are_refused_before_touching_the_device() {
    let t = edu_tree();
    put32(&t, "ffff:00:04.0", 0, 0, 0x0100_00ed);
    let dev = ["--device", "ffff:00:04.0"];
    let run = |args: &[&str]| mmiodrv(&t, &[&dev[..], args].concat());
    let cases: &[(&[&str], i32, &str)] = &[
        (&["write", "ID", "1"], 2, "register ID is read-only"),
        (&["read", "IRQ_RAISE"], 2, "write-only"),
        (&["write", "0x4", "0x1ffffffff"], 2, "does not fit in a 32-bit write"),
        (&["write", "STATUS.IRQ_FACT", "2"], 2, "does not fit in field IRQ_FACT (1 bits, max 0x1)"),
        (&["write", "0x4", "abc"], 2, "invalid value 'abc'"),
        (&["read", "0x4", "--width", "8"], 2, "takes no 8-bit access at offset 0x4"),
        (&["read", "0x2"], 2, "not aligned"),
        (&["read", "0x100000"], 2, "outside the 0x100000-byte region"),
        (&["read", "0x4", "--width", "12"], 2, "[possible values: 8, 16, 32, 64]"),
        (&["read", "ID", "--width", "16"], 2, "ID is a 32-bit register; a width applies to raw offsets only"),
        (&["read", "LIVENES"], 3, "did you mean LIVENESS"),
        (&["read", "ID.NOPE"], 2, "no field 'NOPE'"),
        (&["read", "0x0", "--bar", "1"], 3, "BAR1 is not implemented"),
        (&["read", "0x0", "--wc"], 6, "no write-combining mapping"),
    ];
    for (args, code, msg) in cases {
        let o = run(args);
        expect(&o, *code);
        assert!(stderr(&o).contains(msg), "{args:?}: {}", stderr(&o));
        assert_eq!(stderr(&o).lines().count(), 1, "{args:?}: one line only");
    }
    assert_eq!(get32(&t, "ffff:00:04.0", 0, 0), 0x0100_00ed);
    assert_eq!(get32(&t, "ffff:00:04.0", 0, 4), 0);
    // --force skips the width rule for raw offsets.
    let o = run(&["read", "0x4", "--width", "8", "--force", "--quiet"]);
    expect(&o, 0);
}

#[test]
fn refuses_devices_owned_by_other_drivers_or_not_decoding() {
    let t = FakeSysfs::new();
    t.add(&FakeDevice { driver: Some("e1000e"), ..FakeDevice::edu("ffff:00:04.0") });
    t.add(&FakeDevice { command: 0x0004, ..FakeDevice::edu("ffff:00:05.0") });
    t.add(&FakeDevice { driver: Some("vfio-pci"), ..FakeDevice::edu("ffff:00:06.0") });

    let o = mmiodrv(&t, &["--device", "ffff:00:04.0", "write", "0x4", "1"]);
    expect(&o, 6);
    assert!(stderr(&o).contains("bound to kernel driver 'e1000e'") && stderr(&o).contains("--force"), "{}", stderr(&o));
    assert_eq!(get32(&t, "ffff:00:04.0", 0, 4), 0);
    // Config reads stay allowed.
    expect(&mmiodrv(&t, &["--device", "ffff:00:04.0", "info"]), 0);
    expect(&mmiodrv(&t, &["--device", "ffff:00:04.0", "--force", "write", "0x4", "1"]), 0);

    let o = mmiodrv(&t, &["--device", "ffff:00:05.0", "dump-regs"]);
    expect(&o, 6);
    assert!(
        stderr(&o).contains("memory space decoding is disabled")
            && stderr(&o).contains("setpci -s ffff:00:05.0 COMMAND=0x2:0x2"),
        "{}",
        stderr(&o)
    );

    // Under vfio-pci the BARs belong to VFIO: the sysfs backend is refused
    // unless forced, and asking for a backend that does not match the bound
    // driver is a clear error.
    let o = mmiodrv(&t, &["--device", "ffff:00:06.0", "--backend", "sysfs", "read", "0x0"]);
    expect(&o, 6);
    assert!(stderr(&o).contains("its BARs belong to VFIO") && stderr(&o).contains("--backend vfio"), "{}", stderr(&o));
    expect(&mmiodrv(&t, &["--device", "ffff:00:06.0", "--backend", "sysfs", "--force", "read", "0x0"]), 0);
    let o = mmiodrv(&t, &["--device", "ffff:00:06.0", "--backend", "uio", "read", "0x0"]);
    expect(&o, 6);
    assert!(
        stderr(&o).contains("the uio backend needs the device bound to uio_pci_generic, but it is bound to vfio-pci"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("fix: mmiodrv --device ffff:00:06.0 bind uio_pci_generic"), "{}", stderr(&o));
}

#[test]
fn io_port_bars_go_through_pread_and_pwrite() {
    let t = FakeSysfs::new();
    t.add(&FakeDevice { vendor: 0x8086, device: 0x7000, bars: vec![(0x20, IO)], ..FakeDevice::edu("ffff:00:08.0") });
    let o = mmiodrv(&t, &["--device", "ffff:00:08.0", "write", "0x4", "0xab", "--width", "8"]);
    expect(&o, 0);
    let o = mmiodrv(&t, &["--device", "ffff:00:08.0", "read", "0x4", "--width", "16", "--quiet"]);
    assert_eq!(stdout(&o), "0x00ab\n");
    let o = mmiodrv(&t, &["--device", "ffff:00:08.0", "read", "0x0", "--width", "64"]);
    expect(&o, 6);
    assert!(stderr(&o).contains("takes no 64-bit accesses"), "{}", stderr(&o));
}

#[test]
fn regmap_files_load_through_the_same_loader() {
    let t = FakeSysfs::new();
    t.add(&FakeDevice { vendor: 0x8086, device: 0x1234, ..FakeDevice::edu("ffff:00:07.0") });
    let map = t.root().join("my.toml");
    fs::write(&map, "[device]\nname = \"mine\"\n[[register]]\nname = \"CTRL\"\noffset = 0x10\nwidth = 16\naccess = \"RW\"\nfield = [{ name = \"GO\", bits = 15 }]\n").unwrap();
    let m = map.to_str().unwrap();
    let o = mmiodrv(&t, &["--device", "ffff:00:07.0", "write", "CTRL.GO", "1", "--regmap", m]);
    expect(&o, 0);
    let o = mmiodrv(&t, &["--device", "ffff:00:07.0", "dump-regs", "--regmap", m]);
    expect(&o, 0);
    assert!(stdout(&o).contains("0x0010  CTRL  0x8000              GO=0x1"), "{}", stdout(&o));

    fs::write(&map, "[device]\nname = \"mine\"\n[[register]]\nname = \"A\"\noffset = 0\nwidth = 32\naccess = \"RW\"\n\n[[register]]\nname = \"B\"\noffset = 2\nwidth = 16\naccess = \"RW\"\n").unwrap();
    let o = mmiodrv(&t, &["--device", "ffff:00:07.0", "dump-regs", "--regmap", m]);
    expect(&o, 7);
    assert!(stderr(&o).contains("my.toml:11: register B [0x2..0x4) overlaps A"), "the offset of B: {}", stderr(&o));
}

#[test]
fn malformed_sysfs_contents_are_errors_not_panics() {
    let t = edu_tree();
    let dir = t.device_dir("ffff:00:04.0");
    fs::write(dir.join("resource"), "garbage\n").unwrap();
    let o = mmiodrv(&t, &["--device", "ffff:00:04.0", "read", "0x0"]);
    expect(&o, 5);
    assert!(stderr(&o).contains("unexpected contents in"), "{}", stderr(&o));
    fs::write(dir.join("config"), [0u8; 10]).unwrap();
    // As lspci: a function whose header cannot be read prints what sysfs has.
    let o = mmiodrv(&t, &["--device", "ffff:00:04.0", "info"]);
    expect(&o, 0);
    assert!(stdout(&o).starts_with("ffff:00:04.0 Class 00ff: Device 1234:11e8"), "{}", stdout(&o));
    let o = mmiodrv(&t, &["--device", "ffff:00:04.0", "config", "read", "LATENCY_TIMER"]);
    expect(&o, 6);
    assert!(stderr(&o).contains("only 10 bytes of config space are readable"), "{}", stderr(&o));
    fs::write(dir.join("vendor"), "nonsense").unwrap();
    expect(&mmiodrv(&t, &["list"]), 0);
}

/// The binary starts without Rust's start-up code (cli/main.rs); what that
/// code did must still hold. With standard output closed, the first file
/// the command opens and keeps (its lock here; a VFIO device's descriptor on
/// a real one) must not become descriptor 1, or the output is written into
/// it: the lock file stays empty. A reader that goes away is an error the
/// command reports, not a silent death by SIGPIPE.
#[test]
fn start_up_without_the_runtime_keeps_its_guarantees() {
    let t = edu_tree();
    let out = Command::new("sh")
        .arg("-c")
        .arg("exec \"$0\" --device ffff:00:04.0 read 0x0 >&-")
        .arg(env!("CARGO_BIN_EXE_mmiodrv"))
        .env("MMIODRV_SYSFS_ROOT", t.root())
        .env("MMIODRV_FAKE_SYSFS_ONLY", "1")
        .output()
        .unwrap();
    expect(&out, 0);
    let lock = t.root().join("mmiodrv-locks/mmiodrv-ffff:00:04.0.lock");
    assert_eq!(fs::read(&lock).unwrap(), b"", "the output went into {}", lock.display());

    // 16,384 lines, far more than a pipe holds, into a pipe whose reader goes.
    let mut child = Command::new(env!("CARGO_BIN_EXE_mmiodrv"))
        .args(["--device", "ffff:00:04.0", "dump-regs", "--len", "0x10000"])
        .env("MMIODRV_SYSFS_ROOT", t.root())
        .env("MMIODRV_FAKE_SYSFS_ONLY", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 1];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), None, "ended by a signal; stderr: {}", stderr(&out));
}
